//! Where server-side handlers run: on a bus worker, or (with
//! `remote_sockets_on_caller`) on the arbiter of the thread that connected
//! the remote socket, as a gateway's HTTP worker does.
mod common;
use common::*;

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use bus_core::{Bus, Handshake, Payload};

/// Connects a remote socket from inside an actix System (as a gateway
/// worker would), sends one event and returns the thread that connected it
/// and the thread its handler ran on.
fn handler_thread(bus: &Bus) -> (ThreadId, ThreadId) {
    let ns = bus.of("/");
    let ran_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    let record = ran_on.clone();
    ns.on_connection(move |socket| {
        let record = record.clone();
        socket.on_any(move |_, _, _| {
            *record.lock().unwrap() = Some(std::thread::current().id());
        });
    });
    let connected_on = std::thread::current().id();
    let conn = actix_rt::System::new().block_on(async {
        let conn = ns
            .connect_remote(Handshake::default(), Arc::new(|| {}))
            .await
            .expect("connect");
        conn.event_from_client("hello", Payload::empty(), None)
            .expect("event");
        // Keep this System (and its arbiter) running until the handler ran.
        while ran_on.lock().unwrap().is_none() {
            actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        conn
    });
    drop(conn);
    let ran = ran_on.lock().unwrap().expect("handler ran");
    (connected_on, ran)
}

#[test]
fn a_remote_sockets_handlers_run_on_a_bus_worker_by_default() {
    let bus = Bus::start();
    let (connected_on, ran_on) = handler_thread(&bus);
    assert_ne!(connected_on, ran_on);
    settle(&bus.of("/"));
}

#[test]
fn remote_sockets_on_caller_runs_handlers_on_the_connecting_arbiter() {
    let bus = Bus::builder().remote_sockets_on_caller(true).start();
    let (connected_on, ran_on) = handler_thread(&bus);
    assert_eq!(connected_on, ran_on);
}

#[test]
fn remote_sockets_on_caller_falls_back_to_a_bus_worker_outside_actix() {
    let bus = Bus::builder().remote_sockets_on_caller(true).start();
    let ns = bus.of("/");
    let ran_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    let record = ran_on.clone();
    ns.on_connection(move |socket| {
        let record = record.clone();
        socket.on_any(move |_, _, _| {
            *record.lock().unwrap() = Some(std::thread::current().id());
        });
    });
    let (conn, _) = remote(&ns, Handshake::default());
    conn.event_from_client("hello", Payload::empty(), None)
        .expect("event");
    wait_until("the handler ran", || ran_on.lock().unwrap().is_some());
    assert_ne!(*ran_on.lock().unwrap(), Some(std::thread::current().id()));
}
