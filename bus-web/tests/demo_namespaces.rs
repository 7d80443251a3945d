//! The `/chat` and `/bench` namespaces of `bus-server`, driven by in-process
//! bus-core clients: the same events the demo page and the load generator
//! send, without a browser or a network.

use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use bus_core::{Bus, Client, ConnectOptions, Namespace};
use serde_json::{json, Value};

/// The longest any step waits for an event or an answer.
const WAIT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure an event does *not* arrive.
const QUIET: Duration = Duration::from_millis(300);

/// An in-process client whose received events are recorded in order.
struct Recorder {
    client: Client,
    events: Receiver<(String, Value)>,
}

impl Recorder {
    async fn connect(ns: &Namespace, auth: Value, events: &[&str]) -> Recorder {
        let (tx, rx) = mpsc::channel();
        let names: Vec<String> = events.iter().map(|name| (*name).to_owned()).collect();
        let options = ConnectOptions {
            auth,
            ..ConnectOptions::default()
        };
        let client = ns
            .connect_with(options, move |client| {
                for name in names {
                    let tx = tx.clone();
                    let event = name.clone();
                    client.on(name, move |value: Value, _ack| {
                        let _ = tx.send((event.clone(), value));
                    });
                }
            })
            .await
            .expect("an in-process client connects");
        Recorder { client, events: rx }
    }

    /// Waits for the next `event` (skipping others) and returns its argument.
    fn next(&self, event: &str) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok((name, value)) if name == event => return value,
                Ok(_) => continue,
                Err(_) => panic!("no {event:?} within {WAIT:?}"),
            }
        }
    }

    /// Waits for the next `event` whose argument satisfies `want`.
    fn next_matching(&self, event: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no matching {event:?} within {WAIT:?}"
            );
            let value = self.next(event);
            if want(&value) {
                return value;
            }
        }
    }

    /// Asserts that no `event` arrives for a short while.
    fn nothing(&self, event: &str) {
        let deadline = std::time::Instant::now() + QUIET;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok((name, value)) => assert_ne!(name, event, "unexpected {event}: {value}"),
                Err(_) => return,
            }
        }
    }

    async fn ask(&self, event: &str, arg: Value) -> Value {
        self.client
            .emit_with_ack::<Value, Value>(event, &arg, WAIT)
            .await
            .expect("the server answers")
    }
}

/// A bus with the chat registered; keep the bus alive while the test runs.
fn chat() -> (Bus, Namespace) {
    let bus = Bus::start();
    bus_web::demo::register(&bus);
    let ns = bus.of(bus_web::demo::CHAT_NAMESPACE);
    (bus, ns)
}

const CHAT_EVENTS: [&str; 4] = ["rooms", "presence", "message", "typing"];

#[tokio::test]
async fn chat_users_pick_unique_nicknames_and_talk_in_a_room() {
    let (_bus, ns) = chat();
    let ada = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    let bob = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    let rooms = ada.next("rooms");
    assert_eq!(
        rooms,
        json!([{"name": "general", "members": 0}, {"name": "random", "members": 0}])
    );

    assert_eq!(
        ada.ask("join", json!("lobby")).await["error"],
        "pick a nickname first"
    );
    assert_eq!(
        ada.ask("nickname", json!(" ada ")).await,
        json!({"ok": true, "nickname": "ada"})
    );
    let taken = bob.ask("nickname", json!("ADA")).await;
    assert_eq!(
        taken,
        json!({"ok": false, "error": "nickname is taken: pick another"})
    );
    assert_eq!(bob.ask("nickname", json!("bob")).await["ok"], true);

    let joined = ada.ask("join", json!("Lobby")).await;
    assert_eq!(
        joined,
        json!({"ok": true, "room": "lobby", "members": ["ada"]})
    );
    let joined = bob.ask("join", json!("lobby")).await;
    assert_eq!(joined["members"], json!(["ada", "bob"]));
    let presence = ada.next_matching("presence", |p| p["joined"] == "bob");
    assert_eq!(presence["members"], json!(["ada", "bob"]));
    ada.next_matching("rooms", |rooms| {
        rooms
            .as_array()
            .is_some_and(|r| r.contains(&json!({"name": "lobby", "members": 2})))
    });

    // Typing reaches the others only; a message reaches everyone, sender included.
    bob.client
        .emit("typing", &json!({"room": "lobby", "typing": true}))
        .expect("typing is sent");
    assert_eq!(
        ada.next("typing"),
        json!({"room": "lobby", "nickname": "bob", "typing": true})
    );
    assert_eq!(
        bob.ask("message", json!({"room": "lobby", "text": " hi ada "}))
            .await,
        json!({"ok": true})
    );
    for who in [&ada, &bob] {
        let message = who.next("message");
        assert_eq!(
            (
                message["room"].clone(),
                message["from"].clone(),
                message["text"].clone()
            ),
            (json!("lobby"), json!("bob"), json!("hi ada"))
        );
        assert!(message["at"].as_u64().is_some_and(|at| at > 0));
    }
    bob.nothing("typing");

    // Requests that break the rules are refused with a reason.
    assert_eq!(
        bob.ask("message", json!({"room": "general", "text": "hi"}))
            .await["error"],
        "join the room first"
    );
    assert_eq!(
        bob.ask("message", json!("just text")).await["error"],
        "malformed request: send {room, text}"
    );
    assert_eq!(bob.ask("join", json!("no/slashes")).await["ok"], false);
}

#[tokio::test]
async fn chat_members_see_who_leaves_or_disconnects() {
    let (_bus, ns) = chat();
    let ada = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    let bob = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    let eve = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    for (who, name) in [(&ada, "ada"), (&bob, "bob"), (&eve, "eve")] {
        assert_eq!(who.ask("nickname", json!(name)).await["ok"], true);
        assert_eq!(who.ask("join", json!("general")).await["ok"], true);
    }
    ada.next_matching("presence", |p| p["members"] == json!(["ada", "bob", "eve"]));

    assert_eq!(
        eve.ask("leave", json!("general")).await,
        json!({"ok": true, "room": "general"})
    );
    let left = ada.next_matching("presence", |p| p.get("left").is_some());
    assert_eq!(
        left,
        json!({"room": "general", "members": ["ada", "bob"], "left": "eve"})
    );
    // Eve is out: she no longer gets the room's messages.
    assert_eq!(
        ada.ask("message", json!({"room": "general", "text": "eve?"}))
            .await["ok"],
        true
    );
    bob.next("message");
    eve.nothing("message");

    bob.client.disconnect();
    let gone = ada.next_matching("presence", |p| p.get("left").is_some());
    assert_eq!(
        gone,
        json!({"room": "general", "members": ["ada"], "left": "bob"})
    );
    // Bob's nickname is free again.
    let again = Recorder::connect(&ns, Value::Null, &CHAT_EVENTS).await;
    assert_eq!(again.ask("nickname", json!("bob")).await["ok"], true);
}

#[tokio::test]
async fn bench_publish_is_delivered_to_receivers_and_not_to_emitters() {
    let bus = Bus::start();
    let ns = bus_web::bench_protocol::register(&bus);
    let receivers = [
        Recorder::connect(&ns, Value::Null, &["deliver"]).await,
        Recorder::connect(&ns, json!({"emitter": false}), &["deliver"]).await,
    ];
    let emitter = Recorder::connect(&ns, json!({"emitter": true}), &["deliver"]).await;

    let sample = json!({"seq": 7, "sent_at": 123_456, "pad": "x"});
    emitter
        .client
        .emit("publish", &sample)
        .expect("publish is sent");
    for receiver in &receivers {
        assert_eq!(receiver.next("deliver"), sample);
    }
    emitter.nothing("deliver");

    // With an ack, publish is answered once the broadcast is queued.
    let answer = emitter
        .client
        .emit_with_ack::<Value, Value>("publish", &json!(8), WAIT)
        .await;
    assert!(
        answer.is_ok(),
        "publish with an ack is answered: {answer:?}"
    );
    for receiver in &receivers {
        assert_eq!(receiver.next("deliver"), json!(8));
    }
    // Other events are ignored.
    emitter
        .client
        .emit("something-else", &json!(1))
        .expect("sent");
    receivers[0].nothing("deliver");
}
