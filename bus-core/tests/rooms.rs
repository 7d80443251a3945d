//! Rooms: membership, multi-room broadcasts, ordering.
mod common;
use common::*;

use futures::executor::block_on;

#[test]
fn a_socket_in_two_rooms_receives_a_two_room_broadcast_once() {
    let bus = bus();
    let ns = bus.of("/");
    let (a, seen_a) = connect(&ns);
    let (b, seen_b) = connect(&ns);
    join(&ns, &a, "r1");
    join(&ns, &a, "r2");
    join(&ns, &b, "r2");
    ns.to("r1").to("r2").emit("news", &1).unwrap();
    ns.emit("done", &0).unwrap();
    seen_a.wait_for("done", 1);
    seen_b.wait_for("done", 1);
    assert_eq!(seen_a.named("news"), vec!["[1]"]);
    assert_eq!(seen_b.named("news"), vec!["[1]"]);
}

#[test]
fn a_socket_joins_the_room_named_by_its_own_id() {
    let bus = bus();
    let ns = bus.of("/");
    let (a, seen_a) = connect(&ns);
    let (_b, seen_b) = connect(&ns);
    ns.to(a.id().as_str()).emit("direct", &"x").unwrap();
    ns.emit("done", &0).unwrap();
    seen_a.wait_for("done", 1);
    seen_b.wait_for("done", 1);
    assert_eq!(seen_a.named("direct").len(), 1);
    assert!(seen_b.named("direct").is_empty());
    let sockets = block_on(ns.to(a.id().as_str()).fetch_sockets()).unwrap();
    assert_eq!(sockets.len(), 1);
    assert!(sockets[0].rooms().contains(&a.id().to_string()));
}

#[test]
fn rooms_are_created_on_first_join_and_removed_when_empty() {
    let bus = bus();
    let ns = bus.of("/rooms");
    let (a, _) = connect(&ns);
    let (b, _) = connect(&ns);
    settle(&ns);
    let base = ns.metrics().rooms; // each socket's own room
    assert_eq!(base, 2);
    join(&ns, &a, "x");
    join(&ns, &b, "x");
    assert_eq!(ns.metrics().rooms, 3);
    ns.to("x").sockets_leave("x").unwrap();
    settle(&ns);
    assert_eq!(ns.metrics().rooms, 2);
    a.disconnect();
    wait_until("socket removed", || {
        ns.metrics().rooms == 1 && ns.metrics().sockets == 1
    });
}

#[test]
fn server_side_join_and_leave_are_visible_in_rooms() {
    let bus = bus();
    let ns = bus.of("/");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |socket| {
        socket.join("a").unwrap();
        socket.join("b").unwrap();
        socket.leave("a").unwrap();
        let _ = tx.send(socket.rooms());
    });
    let (a, _) = connect(&ns);
    let rooms = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(
        rooms,
        vec![a.id().to_string(), "b".to_string()]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[test]
fn per_sender_order_holds_while_sockets_join_and_leave_during_a_burst() {
    let bus = bus();
    let ns = bus.of("/burst");
    let (stable, seen_stable) = connect(&ns);
    join(&ns, &stable, "room");
    let mut churn = Vec::new();
    for _ in 0..20 {
        churn.push(connect(&ns));
    }
    const N: usize = 500;
    let sender = {
        let ns = ns.clone();
        let ids: Vec<String> = churn.iter().map(|(c, _)| c.id().to_string()).collect();
        std::thread::spawn(move || {
            for i in 0..N {
                if i % 10 == 0 {
                    let who = &ids[(i / 10) % ids.len()];
                    ns.to(who.as_str()).sockets_join("room").unwrap();
                }
                if i % 10 == 5 {
                    let who = &ids[(i / 10) % ids.len()];
                    ns.to(who.as_str()).sockets_leave("room").unwrap();
                }
                ns.to("room").emit("n", &i).unwrap();
            }
            ns.to("room").emit("end", &0).unwrap();
        })
    };
    sender.join().unwrap();
    seen_stable.wait_for("end", 1);
    let got: Vec<usize> = seen_stable
        .named("n")
        .iter()
        .map(|a| serde_json::from_str::<Vec<usize>>(a).unwrap()[0])
        .collect();
    assert_eq!(
        got,
        (0..N).collect::<Vec<_>>(),
        "the stable member sees every event in send order"
    );
    for (c, seen) in &churn {
        let _ = c;
        let got: Vec<usize> = seen
            .named("n")
            .iter()
            .map(|a| serde_json::from_str::<Vec<usize>>(a).unwrap()[0])
            .collect();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "churning members see a strictly increasing subsequence"
        );
    }
}

#[test]
fn a_queried_room_has_an_actor_that_tracks_members_and_broadcasts_and_stops_when_empty() {
    let bus = bus();
    let ns = bus.of("/room-actors");
    let (a, _) = connect(&ns);
    let (b, _) = connect(&ns);
    join(&ns, &a, "ops");
    join(&ns, &b, "ops");
    ns.to("ops").emit("x", &1).unwrap();
    ns.to("ops").to("elsewhere").emit("x", &2).unwrap();
    let info = block_on(ns.room("ops")).expect("room exists");
    let mut expected = vec![a.id().clone(), b.id().clone()];
    expected.sort();
    assert_eq!(info.members, expected);
    assert_eq!(info.broadcasts, 2);
    ns.to("ops").sockets_leave("ops").unwrap();
    assert!(
        block_on(ns.room("ops")).is_none(),
        "an empty room is removed"
    );
}

#[test]
fn a_room_actor_started_by_a_query_sees_earlier_and_later_membership_changes() {
    let bus = bus();
    let ns = bus.of("/room-actor-later");
    let (a, _) = connect(&ns);
    let (b, _) = connect(&ns);
    let (c, _) = connect(&ns);
    join(&ns, &a, "ops");
    join(&ns, &b, "ops");
    ns.to("ops").emit("x", &1).unwrap();
    // The first query starts the actor with the members joined so far.
    let info = block_on(ns.room("ops")).expect("room exists");
    let mut expected = vec![a.id().clone(), b.id().clone()];
    expected.sort();
    assert_eq!(info.members, expected);
    assert_eq!(info.broadcasts, 1);
    // Later joins, leaves and broadcasts reach the running actor.
    join(&ns, &c, "ops");
    ns.to(a.id().as_str()).sockets_leave("ops").unwrap();
    ns.to("ops").emit("x", &2).unwrap();
    settle(&ns);
    let info = block_on(ns.room("ops")).expect("room exists");
    let mut expected = vec![b.id().clone(), c.id().clone()];
    expected.sort();
    assert_eq!(info.members, expected);
    assert_eq!(info.broadcasts, 2);
    // A socket's own room is queryable too.
    let own = block_on(ns.room(a.id().as_str())).expect("own room exists");
    assert_eq!(own.members, vec![a.id().clone()]);
}

#[test]
fn dropping_every_client_handle_disconnects_it() {
    let bus = bus();
    let ns = bus.of("/drop");
    let (tx, rx) = std::sync::mpsc::channel();
    ns.on_connection(move |s| {
        let tx = tx.clone();
        s.on_disconnect(move |_s, r| {
            let _ = tx.send(r);
        });
    });
    let (c, _) = connect(&ns);
    settle(&ns);
    drop(c);
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        bus_core::DisconnectReason::TransportClose
    );
    wait_until("socket removed", || ns.metrics().sockets == 0);
}

#[test]
fn connect_resolves_after_on_connection_so_its_joins_are_already_applied() {
    let bus = bus();
    let ns = bus.of("/ready");
    ns.on_connection(|s| {
        s.join("lobby").unwrap();
        s.emit("welcome", &"hi").unwrap();
    });
    for _ in 0..20 {
        let (_c, seen) = connect(&ns);
        // no waiting: the join from on_connection precedes this emit
        ns.to("lobby").emit("news", &1).unwrap();
        seen.wait_for("news", 1);
        assert_eq!(
            seen.named("welcome").len(),
            1,
            "events from on_connection are not missed"
        );
    }
}
