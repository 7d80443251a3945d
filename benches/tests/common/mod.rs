//! Helpers shared by the load generator's integration tests: a short load
//! and the checks every complete run must pass.

use std::time::Duration;

use benches::loadgen::report::LoadReport;
use benches::loadgen::target::Target;
use benches::loadgen::{run_load, LoadConfig, Mode};

/// A load short enough for a test: 0.3 s warm-up, a 0.7 s window.
pub(crate) fn small_load(target: Target, label: &str, clients: u32, mode: Mode) -> LoadConfig {
    let mut config = LoadConfig::new(target);
    config.label = label.into();
    config.clients = clients;
    config.mode = mode;
    config.warmup = Duration::from_millis(300);
    config.duration = Duration::from_millis(700);
    config.drain = Duration::from_secs(3);
    config.connect_timeout = Duration::from_secs(5);
    config
}

/// Runs `config`, which must stop by itself and succeed.
pub(crate) async fn run_bounded(config: &LoadConfig) -> LoadReport {
    tokio::time::timeout(config.hard_deadline(), run_load(config))
        .await
        .expect("the run stops by itself")
        .expect("the run succeeds")
}

/// A run with events in flight reached every one of its `members` with
/// every event, once, and measured their latency.
pub(crate) fn assert_every_event_reached_every_member(report: &LoadReport, members: u64) {
    assert!(
        report.events_sent > 10,
        "events sent: {}",
        report.events_sent
    );
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.connection_errors, 0, "{report:?}");
    assert_eq!(report.deliveries, report.events_sent * members);
    assert!(report.p50_us > 0 && report.p50_us <= report.p99_us);
}
