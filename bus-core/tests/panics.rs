//! A handler that panics disconnects its own socket; the namespace lives on.
mod common;
use common::*;

use bus_core::{Bus, DisconnectReason};

#[test]
fn a_handler_that_panics_disconnects_its_socket_and_the_namespace_lives_on() {
    let bus = Bus::start();
    let ns = bus.of("/fragile");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        s.join("all").unwrap();
        s.on("boom", |_s, _: (), _| panic!("handler bug"));
        let tx = tx.clone();
        s.on_disconnect(move |s, reason| {
            let _ = tx.send((s.id().clone(), reason));
        });
    });
    let (bad, bad_seen) = connect(&ns);
    let (good, good_seen) = connect(&ns);
    wait_until("joined", || {
        futures::executor::block_on(ns.to("all").fetch_sockets())
            .unwrap()
            .len()
            == 2
    });
    let (bad_tx, bad_rx) = std::sync::mpsc::channel();
    bad.on_disconnect(move |r| {
        let _ = bad_tx.send(r);
    });
    bad.emit("boom", &()).unwrap();
    let (id, reason) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(&id, bad.id());
    assert_eq!(reason, DisconnectReason::HandlerPanicked);
    assert_eq!(
        bad_rx.recv_timeout(WAIT).unwrap(),
        DisconnectReason::HandlerPanicked,
        "the client is told"
    );
    // the namespace and the other socket carry on
    ns.to("all").emit("still-here", &1).unwrap();
    good_seen.wait_for("still-here", 1);
    assert!(good.connected());
    assert!(bad_seen.named("still-here").is_empty());
    let (_late, late_seen) = connect(&ns);
    ns.emit("hello", &1).unwrap();
    late_seen.wait_for("hello", 1);
}

#[test]
fn disconnecting_handlers_still_see_the_rooms() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        s.join("chat").unwrap();
        let (t1, t2) = (tx.clone(), tx.clone());
        s.on_disconnecting(move |s, r| {
            let _ = t1.send(("disconnecting", s.rooms().contains(&"chat".to_string()), r));
        });
        s.on_disconnect(move |_s, r| {
            let _ = t2.send(("disconnect", false, r));
        });
    });
    let (c, _) = connect(&ns);
    wait_until("joined", || {
        futures::executor::block_on(ns.to("chat").fetch_sockets())
            .unwrap()
            .len()
            == 1
    });
    c.disconnect();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        (
            "disconnecting",
            true,
            DisconnectReason::ClientNamespaceDisconnect
        )
    );
    assert_eq!(rx.recv_timeout(WAIT).unwrap().0, "disconnect");
    wait_until("room removed", || {
        futures::executor::block_on(ns.to("chat").fetch_sockets())
            .unwrap()
            .is_empty()
    });
}

#[test]
fn a_panicking_client_handler_is_contained_and_the_client_stays_connected() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (tx, rx) = std::sync::mpsc::channel();
    let client = futures::executor::block_on(ns.connect_with(Default::default(), move |c| {
        c.on("bad", |_: (), _| panic!("client bug"));
        c.on("good", move |v: u32, _| {
            let _ = tx.send(v);
        });
    }))
    .unwrap();
    ns.emit("bad", &()).unwrap();
    ns.emit("good", &7).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), 7);
    assert!(client.connected());
}
