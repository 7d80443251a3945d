//! The load generator's Socket.IO handling against the socketioxide bench server, in process.

mod common;

use std::time::Duration;

use benches::loadgen::target::Target;
use benches::loadgen::{run_idle, run_load, IdleConfig, LoadConfig, Mode};
use common::{assert_every_event_reached_every_member, run_bounded};

/// Starts the socketioxide bench server on a free loopback port.
async fn socketioxide_server() -> Target {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(benches::sioxide::serve(listener));
    Target::parse(&format!("ws://{addr}")).expect("a loopback target")
}

/// Five members, as the tests here use.
fn small_load(target: Target, mode: Mode) -> LoadConfig {
    common::small_load(target, "socketioxide", 5, mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_receives_every_event_with_a_fixed_number_in_flight() {
    let target = socketioxide_server().await;
    let config = small_load(target, Mode::InFlight(4));
    let report = run_bounded(&config).await;
    assert_every_event_reached_every_member(&report, 5);
    assert!(report.p99_us <= report.max_us);
    assert!(report.deliveries_per_s > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_rate_is_offered_and_delivered_without_loss() {
    let target = socketioxide_server().await;
    // 1 000 deliveries/s to 5 members: 200 events/s, about 140 in a 0.7 s window
    // (wide bounds: a starved emitter sends late, then catches up).
    let config = small_load(target, Mode::Rate(1000.0));
    let report = run_load(&config).await.expect("the run succeeds");
    assert!(
        (20..=280).contains(&report.events_sent),
        "events sent: {}",
        report.events_sent
    );
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.deliveries, report.events_sent * 5);
    assert!(report.p99_us > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_handshaken_and_measured() {
    let target = socketioxide_server().await;
    // The server runs in this process: measure this process.
    let mut config = IdleConfig::new(target, 50, std::process::id());
    config.settle = Duration::from_millis(100);
    let report = run_idle(&config).await.expect("the idle run succeeds");
    assert_eq!(report.connections, 50);
    assert!(report.rss_after_bytes > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_reported_as_a_connection_error() {
    let port = benches::launch::free_port().expect("a free port");
    let target = Target::parse(&format!("ws://127.0.0.1:{port}")).expect("a loopback target");
    let config = small_load(target, Mode::InFlight(1));
    let error = run_load(&config).await.expect_err("nothing listens there");
    assert!(
        error.to_string().contains("cannot connect"),
        "unexpected error: {error}"
    );
}
