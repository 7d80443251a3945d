//! Idle connections: the server's resident memory per handshaken WebSocket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::client::{self, MemberOutcome, RunState};
use super::proc::ProcSample;
use super::report::IdleReport;
use super::run::{bar, check_fd_limit, open_connections, LoadConfig, LoadError};
use super::target::Target;

/// Everything an idle run needs.
#[derive(Debug, Clone)]
pub struct IdleConfig {
    /// The loopback server.
    pub target: Target,
    /// A label for reports.
    pub label: String,
    /// Idle connections to open (each joins the `bench` room).
    pub connections: u32,
    /// The server's pid: required, memory is what is measured.
    pub server_pid: u32,
    /// How long to hold the connections open before reading memory.
    pub settle: Duration,
    /// Longest wait for one connection's handshake.
    pub connect_timeout: Duration,
    /// Handshakes in progress at once.
    pub connect_concurrency: usize,
    /// Show progress bars on stderr.
    pub progress: bool,
}

impl IdleConfig {
    /// Defaults of `fanout-load --idle`.
    pub fn new(target: Target, connections: u32, server_pid: u32) -> Self {
        Self {
            target,
            label: "server".into(),
            connections,
            server_pid,
            settle: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            connect_concurrency: 128,
            progress: false,
        }
    }

    /// The hard deadline of the whole idle run.
    pub fn hard_deadline(&self) -> Duration {
        self.connect_timeout
            + Duration::from_millis(5 * u64::from(self.connections))
            + self.settle
            + Duration::from_secs(10)
    }
}

/// Opens idle connections, holds them, and reports the server's resident memory per connection.
///
/// # Errors
///
/// [`LoadError`] when connections cannot be opened, the server cannot be
/// sampled, or the run overruns its hard deadline.
pub async fn run_idle(config: &IdleConfig) -> Result<IdleReport, LoadError> {
    if config.connections == 0 {
        return Err(LoadError::Invalid("--idle must be at least 1"));
    }
    check_fd_limit(u64::from(config.connections))?;
    let deadline = config.hard_deadline();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut members: JoinSet<Option<MemberOutcome>> = JoinSet::new();
    let result = tokio::time::timeout(deadline, async {
        let before = ProcSample::read(config.server_pid)?;
        let run = Arc::new(RunState::new(config.connections, None));
        let load = LoadConfig {
            connect_timeout: config.connect_timeout,
            connect_concurrency: config.connect_concurrency,
            ..LoadConfig::new(Target::clone(&config.target))
        };
        let progress = bar(
            config.progress,
            u64::from(config.connections),
            format!("{} idle", config.label),
            "{prefix:>24} [{bar:30}] {pos}/{len} {elapsed}",
        );
        let started = Instant::now();
        open_connections(
            &mut members,
            &load,
            config.connections,
            None,
            &progress,
            move |_, conn| client::run_member(conn, run.clone(), stop_rx.clone()),
        )
        .await?;
        let connect_s = started.elapsed().as_secs_f64();
        progress.finish_and_clear();
        tokio::time::sleep(config.settle).await;
        let after = ProcSample::read(config.server_pid)?;
        let grown = after.rss_bytes.saturating_sub(before.rss_bytes);
        Ok(IdleReport {
            server: config.label.clone(),
            connections: config.connections,
            connect_s,
            rss_before_bytes: before.rss_bytes,
            rss_after_bytes: after.rss_bytes,
            rss_per_connection_bytes: grown as f64 / f64::from(config.connections),
        })
    })
    .await;
    let _ = stop_tx.send(true);
    members.abort_all();
    // Give the aborted tasks a moment to drop their sockets.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(2), members.join_next()).await
    {
    }
    match result {
        Ok(report) => report,
        Err(_) => Err(LoadError::Deadline(deadline)),
    }
}
