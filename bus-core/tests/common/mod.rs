//! Shared helpers for bus-core's integration tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bus_core::{Bus, Client, ConnectOptions, Connection, Handshake, Namespace, Outbound, Waker};
use futures::executor::block_on;

/// Generous bound for every wait (loaded 2-core CI machines).
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `cond` every few ms until it holds or `WAIT` passes.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Returns once the namespace actor has applied every command sent before.
pub fn settle(ns: &Namespace) {
    block_on(ns.fetch_sockets()).expect("namespace alive");
}

/// Every event a client saw: (name, args JSON text).
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<(String, String)>>>);

impl Seen {
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn named(&self, name: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| a.clone())
            .collect()
    }
    pub fn wait_for(&self, name: &str, n: usize) -> Vec<String> {
        wait_until(&format!("{n} x {name}"), || self.named(name).len() >= n);
        self.named(name)
    }
}

pub fn connect_opts(ns: &Namespace, opts: ConnectOptions) -> (Client, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let client = block_on(ns.connect_with(opts, move |c| {
        c.on_any(move |inc| {
            s.0.lock()
                .unwrap()
                .push((inc.event.name.clone(), inc.event.payload.args.clone()));
        });
    }))
    .expect("connect");
    (client, seen)
}

pub fn connect(ns: &Namespace) -> (Client, Seen) {
    connect_opts(ns, ConnectOptions::default())
}

/// Makes the client's socket join `room` (server side) and waits until applied.
pub fn join(ns: &Namespace, client: &Client, room: &str) {
    ns.to(client.id().as_str()).sockets_join(room).unwrap();
    settle(ns);
}

/// A remote-style connection whose waker counts calls.
pub fn remote(ns: &Namespace, handshake: Handshake) -> (Connection, Arc<AtomicUsize>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let waker: Waker = Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    });
    (
        block_on(ns.connect_remote(handshake, waker)).expect("connect_remote"),
        wakes,
    )
}

/// Drains everything currently queued on `conn`.
pub fn drain_all(conn: &Connection) -> Vec<Outbound> {
    let mut out = Vec::new();
    while conn.drain(&mut out, 1024) > 0 {}
    out
}

/// Event names + args drained from `conn`.
pub fn events(items: &[Outbound]) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|o| match o {
            Outbound::Event { event, .. } => Some((event.name.clone(), event.payload.args.clone())),
            _ => None,
        })
        .collect()
}

pub fn bus() -> Bus {
    Bus::start()
}
