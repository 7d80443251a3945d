//! Namespaces: the default one, on-demand creation, dynamic families.
mod common;
use common::*;

use bus_core::{Bus, DisconnectReason, NamespaceMatcher};

#[test]
fn the_root_namespace_exists_and_of_creates_others_on_demand() {
    let bus = Bus::start();
    assert!(bus.namespace("/").is_some());
    assert!(bus.namespace("/orders").is_none());
    let orders = bus.of("/orders");
    assert_eq!(bus.namespace("/orders").unwrap().name(), "/orders");
    assert_eq!(bus.of("orders").name(), orders.name());
    let names: Vec<String> = bus.metrics().into_iter().map(|m| m.namespace).collect();
    assert_eq!(names, vec!["/", "/orders"]);
}

#[test]
fn namespaces_are_isolated() {
    let bus = Bus::start();
    let (a, b) = (bus.of("/a"), bus.of("/b"));
    let (_ca, seen_a) = connect(&a);
    let (_cb, seen_b) = connect(&b);
    a.emit("hello", &1).unwrap();
    b.emit("done", &1).unwrap();
    seen_a.wait_for("hello", 1);
    seen_b.wait_for("done", 1);
    assert!(seen_b.named("hello").is_empty());
}

#[test]
fn dynamic_namespaces_match_by_regex_or_predicate_and_each_child_has_its_own_rooms() {
    let bus = Bus::start();
    let tenants = bus.dynamic(NamespaceMatcher::regex(r"^/tenant-\d+$").unwrap());
    tenants.on_connection(|s| s.join("everyone").unwrap());
    let _games = bus.dynamic(NamespaceMatcher::predicate(|n| n.starts_with("/game/")));
    assert!(bus.namespace("/tenant-x").is_none());
    let t1 = bus.namespace("/tenant-1").unwrap();
    let t2 = bus.namespace("/tenant-2").unwrap();
    assert!(bus.namespace("/game/chess").is_some());
    let (c1, seen1) = connect(&t1);
    let (_c2, seen2) = connect(&t2);
    wait_until("joined", || {
        futures::executor::block_on(t1.to("everyone").fetch_sockets())
            .unwrap()
            .len()
            == 1
    });
    wait_until("joined", || {
        futures::executor::block_on(t2.to("everyone").fetch_sockets())
            .unwrap()
            .len()
            == 1
    });
    t1.to("everyone").emit("only-t1", &1).unwrap();
    t2.emit("done", &1).unwrap();
    seen1.wait_for("only-t1", 1);
    seen2.wait_for("done", 1);
    assert!(
        seen2.named("only-t1").is_empty(),
        "rooms are per child namespace"
    );
    // the same child is returned on the next lookup
    assert_eq!(
        futures::executor::block_on(bus.namespace("/tenant-1").unwrap().fetch_sockets()).unwrap()
            [0]
        .id(),
        c1.id()
    );
}

#[test]
fn metrics_count_sockets_rooms_emits_and_deliveries_per_namespace() {
    let bus = Bus::start();
    let ns = bus.of("/counted");
    let (a, seen_a) = connect(&ns);
    let (_b, seen_b) = connect(&ns);
    join(&ns, &a, "r");
    ns.emit("all", &1).unwrap();
    ns.to("r").emit("some", &1).unwrap();
    seen_a.wait_for("some", 1);
    seen_b.wait_for("all", 1);
    let m = bus
        .metrics()
        .into_iter()
        .find(|m| m.namespace == "/counted")
        .unwrap();
    assert_eq!((m.sockets, m.rooms, m.emitted, m.delivered), (2, 3, 2, 3));
    assert_eq!(m.dropped.total(), 0);
    assert!(m.max_queue_depth >= 1);
    let root = bus
        .metrics()
        .into_iter()
        .find(|m| m.namespace == "/")
        .unwrap();
    assert_eq!(root.emitted, 0, "other namespaces are not affected");
}

#[test]
fn shutdown_disconnects_everyone_with_server_shutting_down() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (c, _) = connect(&ns);
    let (tx, rx) = std::sync::mpsc::channel();
    c.on_disconnect(move |r| {
        let _ = tx.send(r);
    });
    futures::executor::block_on(bus.shutdown());
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        bus_core::DisconnectReason::ServerShuttingDown
    );
}

#[test]
fn close_transport_tells_the_gateway_to_close_the_connection_after_what_was_queued() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        let tx = tx.clone();
        s.on_disconnect(move |_s, reason| {
            let _ = tx.send(reason);
        });
        s.on("kick", |s, _: (), _| {
            s.emit("last words", &1).unwrap();
            s.close_transport();
        });
    });
    let (conn, _) = remote(&ns, bus_core::Handshake::default());
    conn.event_from_client("kick", bus_core::Payload::empty(), None)
        .unwrap();
    let mut items = Vec::new();
    wait_until("the disconnect item", || {
        conn.drain(&mut items, 16);
        items
            .iter()
            .any(|o| matches!(o, bus_core::Outbound::Disconnect { .. }))
    });
    assert!(
        matches!(&items[0], bus_core::Outbound::Event { event, .. } if event.name == "last words")
    );
    match &items[1] {
        bus_core::Outbound::Disconnect { reason } => {
            assert_eq!(*reason, DisconnectReason::ForcedClose);
            assert!(
                reason.closes_transport(),
                "the gateway closes the engine session"
            );
        }
        other => panic!("expected the disconnect, got {other:?}"),
    }
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        DisconnectReason::ForcedClose
    );
    assert!(!conn.is_connected());
}
