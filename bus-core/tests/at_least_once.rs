//! At-least-once delivery: reattach, ack deadline, retention gaps.
mod common;
use common::*;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus_core::{
    AtLeastOnce, Bus, Client, ConnectOptions, DeliveryInfo, Gap, Handshake, Namespace,
    NamespaceConfig, Outbound, Payload, Retention,
};
use futures::executor::block_on;

type Log = Arc<Mutex<Vec<(u64, DeliveryInfo)>>>;

fn reliable_ns(bus: &Bus, name: &str, settings: AtLeastOnce) -> Namespace {
    bus.of_with(name, NamespaceConfig::default().at_least_once(settings))
}

/// Connects with `client_id`, recording (value, delivery) of every "n" event.
fn attach(
    ns: &Namespace,
    client_id: &str,
    manual: bool,
    acks: Option<Arc<Mutex<Vec<bus_core::AckResponder>>>>,
) -> (Client, Log, Arc<Mutex<Vec<Gap>>>) {
    let log: Log = Arc::default();
    let gaps: Arc<Mutex<Vec<Gap>>> = Arc::default();
    let (l, g) = (log.clone(), gaps.clone());
    let opts = ConnectOptions {
        client_id: Some(client_id.into()),
        manual_ack: manual,
        ..Default::default()
    };
    let client = block_on(ns.connect_with(opts, move |c| {
        let l2 = l.clone();
        c.on_any(move |inc| {
            if inc.event.name == "n" {
                let v: u64 = inc.event.payload.decode().unwrap();
                l2.lock().unwrap().push((
                    v,
                    inc.delivery.expect("reliable events carry delivery info"),
                ));
            }
        });
        c.on("n", move |_: u64, ack| {
            if let (Some(store), Some(ack)) = (&acks, ack) {
                store.lock().unwrap().push(ack);
            }
        });
        c.on_gap(move |gap| g.lock().unwrap().push(gap));
    }))
    .unwrap();
    (client, log, gaps)
}

#[test]
fn a_client_disconnected_mid_stream_reconnects_and_receives_every_event_in_order() {
    const N: u64 = 200;
    let bus = Bus::start();
    let ns = reliable_ns(
        &bus,
        "/feed",
        AtLeastOnce::new().with_ack_deadline(Duration::from_secs(30)),
    );
    let (c1, log1, _) = attach(&ns, "driver-7", false, None);
    join(&ns, &c1, "pickups");
    let emitter = {
        let ns = ns.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                ns.to("pickups").emit("n", &i).unwrap();
                if i % 20 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })
    };
    wait_until("first session got some events", || {
        log1.lock().unwrap().len() >= 30
    });
    c1.disconnect();
    emitter.join().unwrap();
    settle(&ns);
    let (_c2, log2, gaps) = attach(&ns, "driver-7", false, None);
    wait_until("second session caught up", || {
        log2.lock()
            .unwrap()
            .last()
            .is_some_and(|(v, _)| *v == N - 1)
    });
    let first = log1.lock().unwrap().clone();
    let second = log2.lock().unwrap().clone();
    assert!(gaps.lock().unwrap().is_empty(), "nothing was dropped");
    // in order, no duplicates within a session, seq follows the value
    for session in [&first, &second] {
        assert!(
            session.windows(2).all(|w| w[0].0 < w[1].0),
            "strictly increasing"
        );
        assert!(
            session.iter().all(|(v, d)| d.seq == v + 1),
            "stable sequence numbers"
        );
    }
    // together they cover everything
    let mut all: Vec<u64> = first.iter().chain(second.iter()).map(|(v, _)| *v).collect();
    all.sort();
    all.dedup();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
    // duplicates are only redeliveries of events the first session may not have acknowledged
    let seen_before: std::collections::HashSet<u64> = first.iter().map(|(v, _)| *v).collect();
    for (v, d) in &second {
        if seen_before.contains(v) {
            assert!(
                d.redelivered,
                "a duplicate of {v} must be marked redelivered"
            );
        }
    }
    let dups = second
        .iter()
        .filter(|(v, _)| seen_before.contains(v))
        .count();
    assert!(
        dups <= 64,
        "only the unacknowledged tail is redelivered, got {dups} duplicates"
    );
}

#[test]
fn only_unacknowledged_events_are_redelivered_on_reattach() {
    let bus = Bus::start();
    let ns = reliable_ns(
        &bus,
        "/manual",
        AtLeastOnce::new().with_ack_deadline(Duration::from_secs(30)),
    );
    let held: Arc<Mutex<Vec<bus_core::AckResponder>>> = Arc::default();
    let (c1, log1, _) = attach(&ns, "m1", true, Some(held.clone()));
    join(&ns, &c1, "r");
    for i in 0..10u64 {
        ns.to("r").emit("n", &i).unwrap();
    }
    wait_until("10 received", || log1.lock().unwrap().len() == 10);
    // acknowledge the first 6 only
    let before = ns.metrics().acked;
    for ack in held.lock().unwrap().drain(..).take(6) {
        ack.send_payload(Payload::empty()).unwrap();
    }
    wait_until("6 acks counted", || ns.metrics().acked == before + 6);
    settle(&ns);
    c1.disconnect();
    wait_until("detached", || ns.metrics().sockets == 0);
    let (_c2, log2, _) = attach(&ns, "m1", true, None);
    wait_until("4 redelivered", || log2.lock().unwrap().len() == 4);
    let second = log2.lock().unwrap().clone();
    assert_eq!(
        second.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        vec![6, 7, 8, 9]
    );
    assert!(second.iter().all(|(_, d)| d.redelivered));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        log2.lock().unwrap().len(),
        4,
        "no more than the unacknowledged ones"
    );
}

#[test]
fn an_unacknowledged_event_is_redelivered_after_the_ack_deadline_with_the_same_seq() {
    let bus = Bus::start();
    let ns = reliable_ns(
        &bus,
        "/deadline",
        AtLeastOnce::new().with_ack_deadline(Duration::from_millis(100)),
    );
    let (conn, _) = remote(
        &ns,
        Handshake {
            client_id: Some("r1".into()),
            ..Default::default()
        },
    );
    ns.emit("n", &1).unwrap();
    settle(&ns);
    let first = drain_all(&conn);
    let Some(Outbound::Event {
        delivery: Some(d1),
        ack_id: Some(_),
        ..
    }) = first.first().cloned()
    else {
        panic!("expected a reliable event, got {first:?}")
    };
    assert!(!d1.redelivered);
    let mut again = Vec::new();
    wait_until("redelivery", || {
        conn.drain(&mut again, 16);
        !again.is_empty()
    });
    let Some(Outbound::Event {
        delivery: Some(d2),
        ack_id: Some(ack),
        event,
    }) = again.first().cloned()
    else {
        panic!("expected a redelivery, got {again:?}")
    };
    assert_eq!(d2.seq, d1.seq);
    assert!(d2.redelivered);
    // wait for a further redelivery (so two attempts are pending)
    wait_until("second redelivery", || {
        conn.drain(&mut again, 16);
        again.len() >= 2
    });
    let socket = block_on(ns.fetch_sockets()).unwrap().remove(0);
    assert_eq!(event.name, "n");
    // a late ack for an earlier attempt still counts, and clears every attempt
    conn.ack_from_client(ack, Payload::empty());
    settle(&ns);
    assert_eq!(
        socket.pending_acks(),
        0,
        "no pending entry left for an acknowledged event"
    );
    let _ = drain_all(&conn);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        events(&drain_all(&conn)).is_empty(),
        "acknowledged: never sent again"
    );
    let m = ns.metrics();
    assert!(m.redelivered >= 1);
    assert_eq!(m.acked, 1);
}

#[test]
fn retention_overflow_is_reported_as_a_gap_on_the_next_attach() {
    let bus = Bus::start();
    let settings = AtLeastOnce::new().with_retention(Retention::new().with_max_events(5));
    let ns = reliable_ns(&bus, "/small", settings);
    let (c1, _, _) = attach(&ns, "g1", false, None);
    join(&ns, &c1, "r");
    c1.disconnect();
    wait_until("detached", || ns.metrics().sockets == 0);
    for i in 0..8u64 {
        ns.to("r").emit("n", &i).unwrap();
    }
    settle(&ns);
    let (_c2, log2, gaps) = attach(&ns, "g1", false, None);
    wait_until("retained events arrive", || log2.lock().unwrap().len() == 5);
    let gaps = gaps.lock().unwrap().clone();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].first_lost, gaps[0].last_lost, gaps[0].count),
        (1, 3, 3)
    );
    let values: Vec<u64> = log2.lock().unwrap().iter().map(|(v, _)| *v).collect();
    assert_eq!(values, vec![3, 4, 5, 6, 7]);
    wait_until("retention drops counted", || {
        ns.metrics().dropped.retention == 3
    });
    wait_until("all acknowledged", || ns.metrics().retained == 0);
}

#[test]
fn emit_with_ack_on_an_at_least_once_namespace_doubles_as_the_delivery_ack() {
    let bus = Bus::start();
    let ns = reliable_ns(&bus, "/ask", AtLeastOnce::new());
    let opts = ConnectOptions {
        client_id: Some("asker".into()),
        ..Default::default()
    };
    let _client = block_on(ns.connect_with(opts, |c| {
        c.on("q", |n: u32, ack| {
            ack.unwrap().send(&(n + 1)).unwrap();
        })
    }))
    .unwrap();
    let res = block_on(
        ns.timeout(Duration::from_secs(10))
            .emit_with_ack::<u32, _>("q", &41),
    )
    .unwrap();
    assert_eq!(res.answered.len(), 1);
    assert_eq!(res.answered[0].1, 42);
    assert!(res.failed.is_empty());
    wait_until("acked", || ns.metrics().acked == 1);
}
