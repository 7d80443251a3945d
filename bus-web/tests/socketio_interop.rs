//! Interop with the official `socket.io-client` from npm (pinned in
//! `tests/js/package.json`): each test starts a gateway in-process on a free
//! port the way a user mounts it, runs one node script from
//! `tests/js/interop/` against it, and checks the script's exit code and its
//! JSON report, plus what the server side saw.
//!
//! Needs node and npm; `tests/js/setup.sh --no-browser` installs the npm
//! packages when they are missing (once per test process). Run with
//! `cargo test -p bus-web --test socketio_interop`.

mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bus_core::ConnectOptions;
use common::interop::{InteropServer, WAIT};
use serde_json::{json, Value};

fn socket_id(report: &Value, key: &str) -> String {
    report[key]
        .as_str()
        .unwrap_or_else(|| panic!("the report has no {key}: {report}"))
        .to_owned()
}

#[test]
fn a_client_connects_to_the_root_and_a_custom_namespace_and_the_server_sees_its_auth() {
    let server = InteropServer::start();
    let report = server.run_ok("namespaces", None);

    assert_eq!(
        report["rootAuth"],
        json!({}),
        "a CONNECT without auth reaches middleware and handlers as {{}}"
    );
    let custom_auth =
        json!({"token": "abc", "n": 1, "nested": {"list": [1, "two", null], "flag": true}});
    assert_eq!(report["customAuth"], custom_auth);
    assert_eq!(report["sharedEngine"], json!(true));

    let root_id = socket_id(&report, "rootId");
    let custom_id = socket_id(&report, "customId");
    let seen = server.journal.wait_for("a connect on /custom", |s| {
        s.ns == "/custom" && s.what == "connect"
    });
    assert_eq!(
        seen.socket, custom_id,
        "the client's socket.id is the server-side socket id"
    );
    assert_eq!(
        seen.value, custom_auth,
        "the server-side handshake carries the client's auth"
    );
    let seen = server
        .journal
        .wait_for("a connect on /", |s| s.ns == "/" && s.what == "connect");
    assert_eq!(seen.socket, root_id);

    let left = server.journal.wait_for("/custom disconnecting", |s| {
        s.ns == "/custom" && s.what == "disconnect"
    });
    assert_eq!(left.value, json!("client namespace disconnect"));
    // The socket on / answered after /custom had left (the script checked
    // the answer) and nothing closed it before that. (How / ends when the
    // node process exits is not this test's business.)
    let entries = server.journal.entries();
    let position = |what: &str, pred: &dyn Fn(&common::interop::Seen) -> bool| {
        entries
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("the server never saw {what}: {entries:#?}"))
    };
    let root_answered = position("the ack on / after /custom left", &|s| {
        s.socket == root_id && s.value == json!(["still", "here"])
    });
    let root_closed_early = entries[..root_answered]
        .iter()
        .any(|s| s.socket == root_id && s.what == "disconnect");
    assert!(
        !root_closed_early,
        "/ must keep working after /custom leaves: {entries:#?}"
    );
}

#[test]
fn events_flow_both_ways_over_long_polling_only() {
    let server = InteropServer::start();
    let report = server.run_ok("basic", Some("polling"));
    assert_eq!(report["transportAtConnect"], "polling");
    assert_eq!(report["transportAtEnd"], "polling");
    let seen = server.journal.wait_for("the client's message", |s| {
        s.what == "message" && s.value[0] == "hello"
    });
    assert_eq!(seen.value, json!(["hello", 1, {"a": [true, null, 2.5]}]));
    assert_burst_arrived_in_order(&server);
}

#[test]
fn events_flow_both_ways_over_websocket_only() {
    let server = InteropServer::start();
    let report = server.run_ok("basic", Some("websocket"));
    assert_eq!(report["transportAtConnect"], "websocket");
    assert_eq!(report["transportAtEnd"], "websocket");
    let seen = server.journal.wait_for("the client's message", |s| {
        s.what == "message" && s.value[0] == "hello"
    });
    assert_eq!(seen.value, json!(["hello", 1, {"a": [true, null, 2.5]}]));
    assert_burst_arrived_in_order(&server);
}

#[test]
fn a_polling_client_upgrades_to_websocket_and_events_keep_flowing() {
    let server = InteropServer::start();
    let report = server.run_ok("basic", Some("upgrade"));
    assert_eq!(report["transportAtConnect"], "polling");
    assert_eq!(report["transportAtEnd"], "websocket");
    assert_eq!(
        report["earlyInOrder"], true,
        "events sent during the upgrade"
    );
    assert_burst_arrived_in_order(&server);
}

/// The server side got the client's 100 `early` and 200 `burst` events
/// once each and in order.
fn assert_burst_arrived_in_order(server: &InteropServer) {
    let entries = server.journal.entries();
    for (kind, count) in [("early", 100), ("burst", 200)] {
        let got: Vec<Value> = entries
            .iter()
            .filter(|s| s.what == "message" && s.value[0] == kind)
            .map(|s| s.value[1].clone())
            .collect();
        let want: Vec<Value> = (0..count).map(|i| json!(i)).collect();
        assert_eq!(got, want, "the server side's {kind} events");
    }
}

#[test]
fn a_client_answers_server_pings_and_stays_connected_over_websocket() {
    heartbeat("websocket");
}

#[test]
fn a_client_answers_server_pings_and_stays_connected_over_long_polling() {
    heartbeat("polling");
}

fn heartbeat(mode: &str) {
    let server = InteropServer::start_with(|builder| {
        builder
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(1000))
    });
    let report = server.run_ok("heartbeat", Some(mode));
    assert_eq!(report["transport"], mode);
    let entries = server.journal.entries();
    assert!(
        !entries
            .iter()
            .any(|s| s.what == "disconnect" && s.value == "ping timeout"),
        "no socket timed out: {entries:#?}"
    );
}

#[test]
fn acks_work_both_ways_and_time_out_on_both_sides() {
    let server = InteropServer::start();
    let report = server.run_ok("acks", None);
    assert_eq!(report["clientTimeout"], "operation has timed out");
    assert_eq!(report["answerSeen"], json!([{"answer": 42}]));
    // The server did receive the event the client gave up waiting for.
    let seen = server
        .journal
        .wait_for("the unacknowledged event", |s| s.what == "no-ack");
    assert_eq!(seen.value, json!(["ignored"]));
}

#[test]
fn binary_payloads_round_trip_both_ways_over_long_polling() {
    binary_round_trip("polling");
}

#[test]
fn binary_payloads_round_trip_both_ways_over_websocket() {
    binary_round_trip("websocket");
}

fn binary_round_trip(mode: &str) {
    let server = InteropServer::start();
    let report = server.run_ok("binary", Some(mode));
    assert_eq!(report["transport"], mode);
    let seen = server
        .journal
        .wait_for("the client's binary message", |s| s.what == "message");
    assert_eq!(
        seen.attachments,
        vec![vec![1, 2, 3], vec![4, 5]],
        "attachments as the server side sees them"
    );
    assert_eq!(
        seen.value,
        json!([{"_placeholder": true, "num": 0}, {"label": "x", "nested": {"_placeholder": true, "num": 1}}, "text"])
    );
    let acked = server
        .journal
        .wait_for("the binary ack request", |s| s.what == "message-with-ack");
    assert_eq!(acked.attachments, vec![vec![9, 8, 7, 0, 255]]);
    let big = server.journal.wait_for("the 200 kB binary message", |s| {
        s.what == "message" && s.attachments.first().is_some_and(|a| a.len() > 1000)
    });
    let want: Vec<u8> = (0..200_000usize).map(|i| (i * 7) as u8).collect();
    assert!(
        big.attachments == vec![want],
        "the 200 kB attachment arrives intact"
    );
}

#[test]
fn a_room_broadcast_reaches_browser_and_in_process_members_only() {
    let server = InteropServer::start();
    let ns = server.bus.of("/");
    let news = |rooms: Value| {
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = got.clone();
        let options = ConnectOptions {
            auth: json!({ "rooms": rooms }),
            ..Default::default()
        };
        let client = futures::executor::block_on(ns.connect_with(options, move |client| {
            client.on("news", move |text: Value, _ack| {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(text)
            });
        }))
        .unwrap_or_else(|error| panic!("in-process client cannot connect: {error}"));
        (client, got)
    };
    let (member, member_news) = news(json!(["room-a"]));
    let (outsider, outsider_news) = news(json!(["room-b"]));
    // Both in-process sockets have joined once the server saw them connect
    // (on_connection joins before it returns, in order with later broadcasts).
    for client in [&member, &outsider] {
        let id = client.id().to_string();
        server
            .journal
            .wait_for("the in-process client connecting", |s| {
                s.socket == id && s.what == "connect"
            });
    }

    let report = server.run_ok("room_broadcast", None);
    assert_eq!(report["received"]["c"], json!([]));

    let deadline = Instant::now() + WAIT;
    while member_news
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Leave time for a duplicate or a stray delivery to show up.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        *member_news.lock().unwrap_or_else(PoisonError::into_inner),
        vec![json!("hello room-a")],
        "the in-process member gets the broadcast exactly once"
    );
    assert!(
        outsider_news
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty(),
        "an in-process socket outside the room gets nothing"
    );
    member.disconnect();
    outsider.disconnect();
}

#[test]
fn a_middleware_rejection_reaches_the_client_as_connect_error_with_message_and_data() {
    let server = InteropServer::start();
    let report = server.run_ok("middleware", None);
    assert_eq!(
        report["rejection"],
        json!({"message": "not authorized", "data": {"code": 401, "reason": "bad token"}})
    );
    assert_eq!(report["unknownNamespace"], "Invalid namespace");
    let entries = server.journal.entries();
    assert!(
        !entries
            .iter()
            .any(|s| s.ns == "/private" && s.what == "connect" && s.value["token"] != "let-me-in"),
        "a rejected client never becomes a socket: {entries:#?}"
    );
}

#[test]
fn a_client_reconnects_by_itself_after_the_server_drops_its_websocket() {
    reconnects("websocket");
}

#[test]
fn a_client_reconnects_by_itself_after_the_server_drops_its_polling_transport() {
    reconnects("polling");
}

fn reconnects(mode: &str) {
    let server = InteropServer::start();
    let report = server.run_ok("reconnect", Some(mode));
    assert_eq!(report["firstTransport"], mode);
    let first = socket_id(&report, "firstId");
    let second = socket_id(&report, "secondId");
    let gone = server
        .journal
        .wait_for("the first socket disconnecting", |s| {
            s.socket == first && s.what == "disconnect"
        });
    assert_ne!(
        gone.value,
        json!("client namespace disconnect"),
        "the server, not the client, ended the first socket"
    );
    let after = server
        .journal
        .wait_for("the reconnected socket's ack", |s| {
            s.socket == second && s.what == "message-with-ack" && s.value == json!(["after"])
        });
    assert_eq!(after.ns, "/");
}

#[test]
fn a_server_side_disconnect_reaches_the_client_as_io_server_disconnect_and_is_not_retried() {
    let server = InteropServer::start();
    let report = server.run_ok("server_disconnect", None);
    assert_eq!(report["reason"], "io server disconnect");
    assert_eq!(report["reconnected"], 0);
    let kicked = server.journal.wait_for("/custom being disconnected", |s| {
        s.ns == "/custom" && s.what == "disconnect"
    });
    assert_eq!(kicked.value, json!("server namespace disconnect"));
}

#[test]
fn a_client_that_comes_back_with_its_client_id_receives_what_it_missed() {
    let server = InteropServer::start();
    let report = server.run_ok("at_least_once", None);
    assert_eq!(report["beforeDisconnect"], json!([1, 2, 3]));
    assert_eq!(report["afterReconnect"], json!([4, 5, 6]));
    let subscribers: Vec<_> = server
        .journal
        .entries()
        .into_iter()
        .filter(|s| s.ns == "/feed" && s.what == "connect" && s.value["clientId"] == "device-42")
        .collect();
    assert_eq!(
        subscribers.len(),
        2,
        "one socket before and one after the disconnect: {subscribers:#?}"
    );
    assert_ne!(subscribers[0].socket, subscribers[1].socket);
}
