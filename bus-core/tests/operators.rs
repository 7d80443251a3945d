//! Operators: except, broadcast(), socket.to(), server-side utilities.
mod common;
use common::*;

use std::collections::BTreeSet;

use bus_core::{Bus, DisconnectReason};
use futures::executor::block_on;

#[test]
fn except_skips_the_members_of_the_excepted_room() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let (a, seen_a) = connect(&ns);
    let (b, seen_b) = connect(&ns);
    let (_c, seen_c) = connect(&ns);
    join(&ns, &a, "news");
    join(&ns, &b, "news");
    join(&ns, &b, "muted");
    ns.to("news").except("muted").emit("n", &1).unwrap();
    ns.except("muted").emit("all-but-muted", &1).unwrap();
    ns.emit("done", &0).unwrap();
    for s in [&seen_a, &seen_b, &seen_c] {
        s.wait_for("done", 1);
    }
    assert_eq!(seen_a.named("n").len(), 1);
    assert!(seen_b.named("n").is_empty());
    assert!(seen_c.named("n").is_empty());
    assert_eq!(seen_a.named("all-but-muted").len(), 1);
    assert!(seen_b.named("all-but-muted").is_empty());
    assert_eq!(seen_c.named("all-but-muted").len(), 1);
}

#[test]
fn broadcast_skips_the_sender_and_socket_to_skips_it_too() {
    let bus = Bus::start();
    let ns = bus.of("/");
    ns.on_connection(|s| {
        s.join("room").unwrap();
        s.on("shout", |s, text: String, _| {
            s.broadcast().emit("heard", &text).unwrap()
        });
        s.on("say", |s, text: String, _| {
            s.to("room").emit("said", &text).unwrap()
        });
    });
    let (a, seen_a) = connect(&ns);
    let (_b, seen_b) = connect(&ns);
    wait_until("both joined", || {
        block_on(ns.to("room").fetch_sockets()).unwrap().len() == 2
    });
    a.emit("shout", &"hey").unwrap();
    a.emit("say", &"psst").unwrap();
    seen_b.wait_for("said", 1);
    assert_eq!(seen_b.named("heard"), vec![r#"["hey"]"#]);
    ns.emit("done", &0).unwrap();
    seen_a.wait_for("done", 1);
    assert!(seen_a.named("heard").is_empty() && seen_a.named("said").is_empty());
}

#[test]
fn server_side_utilities_use_the_same_selectors() {
    let bus = Bus::start();
    let ns = bus.of("/util");
    let (a, _) = connect(&ns);
    let (b, _) = connect(&ns);
    let (c, _) = connect(&ns);
    join(&ns, &a, "x");
    join(&ns, &b, "x");
    join(&ns, &b, "y");
    let ids = |v: Vec<bus_core::Socket>| {
        v.iter()
            .map(|s| s.id().to_string())
            .collect::<BTreeSet<_>>()
    };
    let in_x = ids(block_on(ns.to("x").fetch_sockets()).unwrap());
    assert_eq!(in_x, [a.id().to_string(), b.id().to_string()].into());
    let x_not_y = ids(block_on(ns.to("x").except("y").fetch_sockets()).unwrap());
    assert_eq!(x_not_y, [a.id().to_string()].into());

    ns.to("x").except("y").sockets_join("z").unwrap();
    settle(&ns);
    assert_eq!(
        ids(block_on(ns.to("z").fetch_sockets()).unwrap()),
        [a.id().to_string()].into()
    );
    ns.to("x").sockets_leave("x").unwrap();
    settle(&ns);
    assert!(block_on(ns.to("x").fetch_sockets()).unwrap().is_empty());

    let (tx, rx) = std::sync::mpsc::channel();
    c.on_disconnect(move |r| {
        let _ = tx.send(r);
    });
    ns.to(c.id().as_str()).disconnect_sockets().unwrap();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        DisconnectReason::ServerNamespaceDisconnect
    );
    wait_until("c gone", || {
        block_on(ns.fetch_sockets()).unwrap().len() == 2
    });
    assert!(!c.connected());
}

#[test]
fn on_any_sees_every_client_event_and_binary_attachments_pass_through() {
    let bus = Bus::start();
    let ns = bus.of("/bin");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        let tx = tx.clone();
        s.on_any(move |s, event, _ack| {
            let _ = tx.send((event.name.clone(), event.payload.clone()));
            // echo it back untouched
            let _ = s.emit_payload("echo", event.payload.clone());
        });
    });
    let (client, seen) = connect(&ns);
    let payload = bus_core::Payload::binary(vec![0u8, 1, 2, 255]);
    client.emit_payload("upload", payload.clone()).unwrap();
    let (name, got) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(name, "upload");
    assert_eq!(got, payload);
    assert_eq!(seen.wait_for("echo", 1), vec![payload.args.clone()]);
}
