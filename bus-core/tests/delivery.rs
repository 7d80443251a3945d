//! The delivery path: fan-out to many, shared events, batching, full queues.
mod common;
use common::*;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bus_core::{
    Bus, ConnectOptions, DisconnectReason, EmitError, FullQueuePolicy, Handshake, NamespaceConfig,
    Outbound,
};
use futures::executor::block_on;

#[test]
fn ten_thousand_sockets_each_receive_every_event_exactly_once() {
    const SOCKETS: usize = 10_000;
    const EVENTS: u64 = 5;
    let bus = Bus::start();
    let ns = bus.of("/big");
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..SOCKETS).map(|_| AtomicU64::new(0)).collect());
    let futures: Vec<_> = (0..SOCKETS)
        .map(|i| {
            let counts = counts.clone();
            ns.connect_with(ConnectOptions::default(), move |c| {
                c.on("tick", move |n: u64, _| {
                    // each event once, in order: the count before must equal n
                    let before = counts[i].fetch_add(1, Ordering::SeqCst);
                    assert_eq!(before, n, "client {i} got event {n} out of order or twice");
                });
            })
        })
        .collect();
    let clients: Vec<_> = block_on(futures::future::join_all(futures))
        .into_iter()
        .map(|c| c.unwrap())
        .collect();
    ns.sockets_join("all").unwrap();
    settle(&ns);
    for n in 0..EVENTS {
        ns.to("all").emit("tick", &n).unwrap();
    }
    wait_until("every socket got every event", || {
        counts.iter().all(|c| c.load(Ordering::SeqCst) >= EVENTS)
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        counts.iter().all(|c| c.load(Ordering::SeqCst) == EVENTS),
        "no duplicates"
    );
    let m = ns.metrics();
    assert_eq!(m.delivered, SOCKETS as u64 * EVENTS);
    assert_eq!(m.dropped.total(), 0);
    assert_eq!(clients.len(), SOCKETS);
}

#[test]
fn a_broadcast_is_one_shared_event_for_every_recipient() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (c1, _) = remote(&ns, Handshake::default());
    let (c2, _) = remote(&ns, Handshake::default());
    ns.emit("e", &"payload").unwrap();
    settle(&ns);
    let (a, b) = (drain_all(&c1), drain_all(&c2));
    match (&a[0], &b[0]) {
        (Outbound::Event { event: e1, .. }, Outbound::Event { event: e2, .. }) => {
            assert!(Arc::ptr_eq(e1, e2))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_consumer_is_woken_once_per_batch_not_once_per_event() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (conn, wakes) = remote(&ns, Handshake::default());
    for i in 0..50 {
        ns.emit("e", &i).unwrap();
    }
    settle(&ns);
    assert_eq!(
        wakes.load(Ordering::SeqCst),
        1,
        "one wake for the whole batch"
    );
    assert_eq!(events(&drain_all(&conn)).len(), 50);
    ns.emit("e", &1).unwrap();
    settle(&ns);
    assert_eq!(wakes.load(Ordering::SeqCst), 2, "re-armed after draining");
}

fn small(policy: FullQueuePolicy) -> NamespaceConfig {
    NamespaceConfig::default()
        .queue_capacity(4)
        .full_queue(policy)
}

#[test]
fn volatile_events_are_dropped_when_the_queue_is_full() {
    let bus = Bus::start();
    let ns = bus.of_with("/v", small(FullQueuePolicy::Reject));
    let (slow, _) = remote(&ns, Handshake::default());
    let (fast, fast_seen) = connect(&ns);
    for i in 0..10 {
        ns.volatile().emit("v", &i).unwrap();
        fast_seen.wait_for("v", i + 1); // pace: the fast consumer keeps up
    }
    settle(&ns);
    fast_seen.wait_for("v", 10);
    assert_eq!(events(&drain_all(&slow)).len(), 4);
    let m = ns.metrics();
    assert_eq!(m.dropped.volatile, 6);
    assert_eq!(m.dropped.rejected, 0);
    drop(fast);
}

#[test]
fn drop_oldest_keeps_the_newest_events_and_counts_the_drops() {
    let bus = Bus::start();
    let ns = bus.of_with("/o", small(FullQueuePolicy::DropOldest));
    let (slow, _) = remote(&ns, Handshake::default());
    let (_fast, fast_seen) = connect(&ns);
    for i in 0..10 {
        ns.emit("e", &i).unwrap();
        fast_seen.wait_for("e", i + 1); // pace: the fast consumer keeps up
    }
    settle(&ns);
    assert_eq!(
        fast_seen.wait_for("e", 10).len(),
        10,
        "the other socket is unaffected"
    );
    let got: Vec<String> = events(&drain_all(&slow))
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(got, vec!["[6]", "[7]", "[8]", "[9]"]);
    assert_eq!(ns.metrics().dropped.oldest, 6);
    assert!(slow.is_connected());
}

#[test]
fn reject_reports_queue_full_to_the_emitter_and_others_are_unaffected() {
    let bus = Bus::start();
    let ns = bus.of_with("/r", small(FullQueuePolicy::Reject));
    let (slow, _) = remote(&ns, Handshake::default());
    let (_fast, fast_seen) = connect(&ns);
    for i in 0..4 {
        block_on(ns.except("none-such").emit_reported("e", &i)).unwrap();
        fast_seen.wait_for("e", i + 1);
    }
    let err = block_on(ns.except("none-such").emit_reported("e", &4)).unwrap_err();
    match &err {
        EmitError::QueueFull { sockets, .. } => assert_eq!(sockets, &vec![slow.id().clone()]),
        other => panic!("expected QueueFull, got {other}"),
    }
    assert_eq!(fast_seen.wait_for("e", 5).len(), 5);
    assert_eq!(events(&drain_all(&slow)).len(), 4);
    assert_eq!(ns.metrics().dropped.rejected, 1);
}

#[test]
fn disconnect_policy_disconnects_only_the_slow_socket() {
    let bus = Bus::start();
    let ns = bus.of_with("/d", small(FullQueuePolicy::Disconnect));
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        let tx = tx.clone();
        s.on_disconnect(move |s, reason| {
            let _ = tx.send((s.id().clone(), reason));
        });
    });
    let (slow, _) = remote(&ns, Handshake::default());
    let (fast, fast_seen) = connect(&ns);
    for i in 0..6 {
        ns.emit("e", &i).unwrap();
        fast_seen.wait_for("e", i + 1);
    }
    let (id, reason) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(id, *slow.id());
    assert_eq!(reason, DisconnectReason::SlowConsumer);
    assert_eq!(fast_seen.wait_for("e", 6).len(), 6);
    assert!(fast.connected());
    let items = drain_all(&slow);
    assert!(matches!(
        items.last(),
        Some(Outbound::Disconnect {
            reason: DisconnectReason::SlowConsumer
        })
    ));
    assert_eq!(ns.metrics().dropped.slow_consumer, 1);
    wait_until("slow socket removed", || ns.metrics().sockets == 1);
}

#[test]
fn a_rejected_emit_hands_the_event_back_and_names_the_setting_to_raise() {
    let bus = Bus::start();
    let ns = bus.of_with("/r2", small(FullQueuePolicy::Reject));
    let (_slow, _) = remote(&ns, Handshake::default());
    for i in 0..4 {
        block_on(ns.except("none-such").emit_reported("e", &i)).unwrap();
    }
    let err = block_on(ns.except("none-such").emit_reported("e", &4)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("NamespaceConfig::queue_capacity"), "{text}");
    assert_eq!(
        text,
        text.to_lowercase()
            .replace("namespaceconfig", "NamespaceConfig")
    );
    assert_eq!(err.event().map(|e| e.name.as_str()), Some("e"));
    let event = err.into_inner().expect("the event is handed back");
    assert_eq!(
        (event.name.as_str(), event.payload.args.as_str()),
        ("e", "[4]")
    );
}

#[test]
fn an_emit_on_a_stopped_bus_hands_the_event_back() {
    let bus = Bus::start();
    let ns = bus.of("/gone");
    block_on(bus.shutdown());
    let mut err = None;
    wait_until("the namespace refuses emits", || {
        err = ns.emit("late", &"news").err();
        err.is_some()
    });
    let err = err.unwrap();
    assert!(matches!(err, EmitError::Closed { .. }), "{err}");
    let event = err.into_inner().expect("the event is handed back");
    assert_eq!(event.name, "late");
    assert_eq!(event.payload.decode::<String>().unwrap(), "news");
}

#[test]
fn a_client_emit_refused_by_a_full_mailbox_hands_the_event_back() {
    let bus = Bus::start();
    let ns = bus.of("/busy");
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    ns.on_connection(move |s| {
        let rx = release_rx.clone();
        // The first event blocks the socket's actor until the test releases it.
        s.on("work", move |_s, _: u32, _| {
            let _ = rx.lock().unwrap().recv_timeout(WAIT);
        });
    });
    let (client, _) = connect(&ns);
    let refused = (0..5_000u32).find_map(|i| client.emit("work", &i).err());
    let err = refused.expect("the inbound mailbox (inbound_capacity) fills up");
    assert!(matches!(err, EmitError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("inbound_capacity"), "{err}");
    let event = err.into_inner().expect("the event is handed back");
    assert_eq!(event.name, "work");
    drop(release_tx);
}

#[test]
fn an_emit_report_counts_in_process_and_remote_recipients_on_every_worker() {
    let bus = Bus::builder().workers(2).try_start().unwrap();
    let ns = bus.of("/");
    let clients: Vec<_> = (0..10).map(|_| connect(&ns)).collect();
    let (conn, _) = remote(&ns, Handshake::default());
    ns.sockets_join("r").unwrap();
    settle(&ns);
    let report = block_on(ns.to("r").emit_reported("e", &1)).unwrap();
    assert_eq!(report.queued, 11);
    for (_, seen) in &clients {
        assert_eq!(seen.wait_for("e", 1).len(), 1);
    }
    assert_eq!(drain_all(&conn).len(), 1);
}

#[test]
fn a_handler_can_register_another_handler_while_it_runs() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (client, seen) = connect(&ns);
    join(&ns, &client, "r");
    let later = seen.clone();
    let registering = client.clone();
    client.on("first", move |_: (), _| {
        let later = later.clone();
        registering.on("second", move |n: u64, _| {
            later
                .0
                .lock()
                .unwrap()
                .push(("second-typed".into(), n.to_string()));
        });
    });
    ns.to("r").emit("first", &()).unwrap();
    seen.wait_for("first", 1);
    ns.to("r").emit("second", &7u64).unwrap();
    assert_eq!(seen.wait_for("second-typed", 1), vec!["7".to_string()]);
}

#[test]
fn registering_an_event_again_replaces_its_handler() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (client, seen) = connect(&ns);
    join(&ns, &client, "r");
    let old = seen.clone();
    client.on("tick", move |n: u64, _| {
        old.0.lock().unwrap().push(("old".into(), n.to_string()));
    });
    let new = seen.clone();
    client.on("tick", move |n: u64, _| {
        new.0.lock().unwrap().push(("new".into(), n.to_string()));
    });
    ns.to("r").emit("tick", &1u64).unwrap();
    seen.wait_for("new", 1);
    seen.wait_for("tick", 1);
    assert!(seen.named("old").is_empty());
}

#[test]
fn dropping_every_client_handle_releases_its_handlers() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let captured = Arc::new(());
    let held = captured.clone();
    let client = block_on(ns.connect_with(ConnectOptions::default(), move |c| {
        c.on("tick", move |_: u64, _| {
            let _ = &held;
        });
    }))
    .unwrap();
    join(&ns, &client, "r");
    assert_eq!(Arc::strong_count(&captured), 2);
    drop(client);
    // The room still lists the socket until the namespace applies the
    // disconnect, but its handlers (and what they captured) are gone.
    wait_until("the handler's captures are dropped", || {
        Arc::strong_count(&captured) == 1
    });
    ns.to("r").emit("tick", &1u64).unwrap();
    settle(&ns);
}

#[test]
fn no_handler_runs_after_a_client_disconnects() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (client, seen) = connect(&ns);
    join(&ns, &client, "r");
    let ran = Arc::new(AtomicU64::new(0));
    let r = ran.clone();
    client.on("tick", move |_: u64, _| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    ns.to("r").emit("tick", &1u64).unwrap();
    seen.wait_for("tick", 1);
    client.disconnect();
    ns.to("r").emit("tick", &2u64).unwrap();
    settle(&ns);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(seen.named("tick").len(), 1);
}
