//! Request/response acknowledgements in both directions.
mod common;
use common::*;

use std::time::Duration;

use bus_core::{AckError, Bus, DisconnectReason, Handshake, Outbound, Payload};
use futures::executor::block_on;

#[test]
fn a_client_emit_with_ack_gets_the_server_sides_answer() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        s.on("add", |_s, (a, b): (i64, i64), ack| {
            if let Some(ack) = ack {
                ack.send(&(a + b)).unwrap();
            }
        })
    });
    let (client, _) = connect(&ns);
    let sum: i64 = block_on(client.emit_with_ack("add", &(2, 3), Duration::from_secs(10))).unwrap();
    assert_eq!(sum, 5);
    assert_eq!(client.pending_acks(), 0);
}

#[test]
fn a_server_emit_with_ack_gets_the_clients_answer() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        let tx = tx.clone();
        let fut = s.emit_with_ack::<_, String>("hello", &"server", Duration::from_secs(10));
        std::thread::spawn(move || {
            let _ = tx.send(block_on(fut));
        });
    });
    let _client = block_on(ns.connect_with(Default::default(), |c| {
        c.on("hello", |who: String, ack| {
            ack.unwrap().send(&format!("hi {who}")).unwrap();
        })
    }))
    .unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Ok("hi server".to_string()));
}

#[test]
fn an_ack_that_times_out_fails_with_timeout_and_leaves_nothing_pending() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (conn, _) = remote(&ns, Handshake::default());
    let sockets = block_on(ns.fetch_sockets()).unwrap();
    let socket = sockets[0].clone();
    let r: Result<u32, AckError> =
        block_on(socket.emit_with_ack("q", &1, Duration::from_millis(100)));
    assert_eq!(r, Err(AckError::Timeout));
    assert_eq!(socket.pending_acks(), 0, "the timed-out entry was removed");
    // the client answers late: ignored, nothing leaked
    let items = drain_all(&conn);
    let Some(Outbound::Event {
        ack_id: Some(id), ..
    }) = items.first()
    else {
        panic!("no event with ack id: {items:?}")
    };
    conn.ack_from_client(*id, Payload::json(&1).unwrap());
    assert_eq!(
        ns.metrics().acked,
        0,
        "a late answer for an expired id is not counted"
    );

    // client -> server direction: the server never answers
    ns.on_connection(|_s| {});
    let (client, _) = connect(&ns);
    let r: Result<u32, AckError> =
        block_on(client.emit_with_ack("nobody-listens", &1, Duration::from_millis(100)));
    assert_eq!(r, Err(AckError::Timeout));
    assert_eq!(client.pending_acks(), 0);
}

#[test]
fn pending_acks_fail_with_closed_when_the_socket_closes() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (conn, _) = remote(&ns, Handshake::default());
    let socket = block_on(ns.fetch_sockets()).unwrap().remove(0);
    let waits: Vec<_> = (0..3)
        .map(|i| socket.emit_with_ack::<_, u32>("q", &i, Duration::from_secs(30)))
        .collect();
    wait_until("3 events queued", || conn.queued() == 3);
    conn.close(DisconnectReason::TransportClose);
    let started = std::time::Instant::now();
    for w in waits {
        assert_eq!(block_on(w), Err(AckError::Closed));
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "failed on close, not by timeout"
    );

    // in-process client: its own pending acks fail on disconnect
    ns.on_connection(|s| s.on("slow", |_s, _: (), _ack| {}));
    let (client, _) = connect(&ns);
    let w = client.emit_with_ack::<_, u32>("slow", &(), Duration::from_secs(30));
    client.disconnect();
    assert_eq!(block_on(w), Err(AckError::Closed));
    assert_eq!(client.pending_acks(), 0);
}

#[test]
fn a_broadcast_emit_with_ack_collects_one_answer_per_recipient_and_names_the_silent_ones() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (a, _) = {
        let c = block_on(ns.connect_with(Default::default(), |c| {
            c.on("vote", |_: (), ack| {
                ack.unwrap().send(&"yes").unwrap();
            })
        }))
        .unwrap();
        (c, ())
    };
    let b = block_on(ns.connect_with(Default::default(), |c| {
        c.on("vote", |_: (), ack| {
            ack.unwrap().send(&"no").unwrap();
        })
    }))
    .unwrap();
    let (silent, _) = remote(&ns, Handshake::default());
    let res = block_on(
        ns.timeout(Duration::from_millis(300))
            .emit_with_ack::<String, _>("vote", &()),
    )
    .unwrap();
    let mut answers: Vec<String> = res.answered.iter().map(|(_, r)| r.clone()).collect();
    answers.sort();
    assert_eq!(answers, vec!["no", "yes"]);
    assert_eq!(res.timed_out(), vec![silent.id()]);
    assert!(
        res.answered.iter().any(|(id, _)| id == a.id())
            && res.answered.iter().any(|(id, _)| id == b.id())
    );
}

#[test]
fn a_remote_client_event_with_an_ack_id_gets_an_ack_item_back() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        // two arguments on the wire decode as a tuple
        s.on("add", |_s, (a, b): (i64, i64), ack| {
            ack.unwrap().send(&(a + b)).unwrap();
        });
        s.on("bye", |s, _: (), _| s.disconnect());
    });
    let (conn, _) = remote(&ns, Handshake::default());
    conn.event_from_client("add", Payload::from_raw("[2,3]", vec![]), Some(7))
        .unwrap();
    let mut items = Vec::new();
    wait_until("ack item", || {
        conn.drain(&mut items, 16);
        !items.is_empty()
    });
    match &items[0] {
        Outbound::Ack { ack_id, payload } => {
            assert_eq!(*ack_id, 7);
            assert_eq!(payload.args, "[5]");
        }
        other => panic!("expected an ack, got {other:?}"),
    }
    conn.event_from_client("bye", Payload::empty(), None)
        .unwrap();
    items.clear();
    wait_until("disconnect item", || {
        conn.drain(&mut items, 16);
        !items.is_empty()
    });
    assert!(matches!(
        items[0],
        Outbound::Disconnect {
            reason: DisconnectReason::ServerNamespaceDisconnect
        }
    ));
    wait_until("closed", || !conn.is_connected());
    assert_eq!(
        conn.event_from_client("late", Payload::empty(), None),
        Err(bus_core::InboundError::Closed)
    );
}

#[test]
fn a_server_emit_with_ack_payload_gets_a_remote_clients_binary_answer() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (conn, _) = remote(&ns, Handshake::default());
    let socket = block_on(ns.fetch_sockets()).unwrap().remove(0);
    let fut = socket.emit_with_ack_payload("photo", Payload::json(&"small").unwrap(), WAIT);
    let waiter = std::thread::spawn(move || block_on(fut));
    let mut items = Vec::new();
    wait_until("the event", || {
        conn.drain(&mut items, 16);
        !items.is_empty()
    });
    let Outbound::Event {
        event,
        ack_id: Some(ack_id),
        ..
    } = &items[0]
    else {
        panic!("expected an event asking for an ack, got {:?}", items[0]);
    };
    assert_eq!(event.name, "photo");
    // What a gateway hands in for a BINARY_ACK: a placeholder plus the attachment.
    let answer = Payload::from_raw(
        r#"["caption",{"_placeholder":true,"num":0}]"#,
        vec![vec![0x89u8, b'P', b'N', b'G'].into()],
    );
    conn.ack_from_client(*ack_id, answer.clone());
    let got = waiter.join().unwrap().expect("answered");
    assert_eq!(got, answer);
    assert_eq!(&got.attachment(0).unwrap()[..], b"\x89PNG");
    assert_eq!(socket.pending_acks(), 0);
}

#[test]
fn a_broadcast_emit_with_ack_payload_collects_raw_answers() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (a, _) = connect(&ns);
    let _b = block_on(ns.connect_with(Default::default(), |c| {
        c.on("blob", |_: (), ack| {
            ack.unwrap()
                .send_payload(Payload::binary(vec![7u8]))
                .unwrap();
        })
    }))
    .unwrap();
    let res = block_on(
        ns.timeout(std::time::Duration::from_millis(300))
            .emit_with_ack_payload("blob", Payload::empty()),
    )
    .unwrap();
    assert_eq!(res.answered.len(), 1);
    assert_eq!(&res.answered[0].1.attachments[0][..], &[7]);
    assert_eq!(res.timed_out(), vec![a.id()]);
}

#[test]
fn a_client_emit_with_ack_payload_gets_the_server_sides_raw_answer() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        s.on("blob", |_s, _: (), ack| {
            ack.unwrap()
                .send_payload(Payload::binary(vec![1u8, 2]))
                .unwrap();
        })
    });
    let (client, _) = connect(&ns);
    let got = block_on(client.emit_with_ack_payload("blob", Payload::empty(), WAIT)).unwrap();
    assert_eq!(&got.attachments[0][..], &[1, 2]);
}

#[test]
fn an_ack_reaches_the_client_after_what_the_handler_emitted_before_answering() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        s.on("q", |s, n: u64, ack| {
            s.emit("a", &n).unwrap();
            ack.unwrap().send(&n).unwrap();
        });
    });
    let (conn, _) = remote(&ns, Handshake::default());
    let mut items = Vec::new();
    for n in 0..200u64 {
        conn.event_from_client("q", Payload::json(&n).unwrap(), Some(n))
            .unwrap();
        let start = items.len();
        wait_until("the ack", || {
            conn.drain(&mut items, 16);
            items[start..]
                .iter()
                .any(|o| matches!(o, Outbound::Ack { ack_id, .. } if *ack_id == n))
        });
        let order: Vec<&str> = items[start..]
            .iter()
            .map(|o| match o {
                Outbound::Event { event, .. } => event.name.as_str(),
                Outbound::Ack { .. } => "ack",
                _ => "other",
            })
            .collect();
        assert_eq!(order, vec!["a", "ack"], "round {n}");
    }
}

#[test]
fn what_a_handler_emits_and_answers_before_disconnecting_arrives_before_the_disconnect() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        s.on("bye", |s, _: (), ack| {
            s.emit("farewell", &1).unwrap();
            ack.unwrap().send(&"ok").unwrap();
            s.disconnect();
        });
    });
    for _ in 0..50 {
        let (conn, _) = remote(&ns, Handshake::default());
        conn.event_from_client("bye", Payload::empty(), Some(1))
            .unwrap();
        let mut items = Vec::new();
        wait_until("the disconnect", || {
            conn.drain(&mut items, 16);
            items
                .iter()
                .any(|o| matches!(o, Outbound::Disconnect { .. }))
        });
        let order: Vec<&str> = items
            .iter()
            .map(|o| match o {
                Outbound::Event { .. } => "event",
                Outbound::Ack { .. } => "ack",
                Outbound::Disconnect { .. } => "disconnect",
                Outbound::Gap { .. } => "gap",
            })
            .collect();
        assert_eq!(order, vec!["event", "ack", "disconnect"]);
    }
}
