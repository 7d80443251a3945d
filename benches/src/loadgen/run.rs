//! One load run: connect, warm up, measure, drain, account.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use super::client::{self, ClientError, EmitPlan, EmitterOutcome, MemberOutcome, RunState};
use super::proc::{ProcError, ProcSample};
use super::protocol::EMITTER_AUTH;
use super::report::LoadReport;
use super::stats::LossAccount;
use super::target::Target;

/// How emitters pace their events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// A fixed number of events in flight across all emitters: an emitter
    /// sends a new event when one of its events has reached every member.
    InFlight(u32),
    /// A fixed offered rate of deliveries per second (events/s × room size).
    Rate(f64),
}

/// Everything one load run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The loopback server.
    pub target: Target,
    /// A label for reports.
    pub label: String,
    /// Room members.
    pub clients: u32,
    /// Emitter connections (not in the room).
    pub emitters: u32,
    /// Payload size in bytes of JSON.
    pub payload_bytes: usize,
    /// Pacing.
    pub mode: Mode,
    /// Time to run before measuring.
    pub warmup: Duration,
    /// Length of the measured window.
    pub duration: Duration,
    /// Longest wait, after the window, for deliveries still on their way.
    pub drain: Duration,
    /// Longest wait for one connection's handshake.
    pub connect_timeout: Duration,
    /// Handshakes in progress at once.
    pub connect_concurrency: usize,
    /// In-flight mode: how long an emitter waits for a completion before sending anyway.
    pub stall_timeout: Duration,
    /// The server's pid, for CPU and memory readings.
    pub server_pid: Option<u32>,
    /// Show progress bars on stderr.
    pub progress: bool,
}

impl LoadConfig {
    /// A configuration with the defaults of `fanout-load`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            label: "server".into(),
            clients: 100,
            emitters: 1,
            payload_bytes: 100,
            mode: Mode::InFlight(32),
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            drain: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            connect_concurrency: 128,
            stall_timeout: Duration::from_secs(1),
            server_pid: None,
            progress: false,
        }
    }

    /// The hard deadline of the whole run: it never takes longer than this.
    pub fn hard_deadline(&self) -> Duration {
        let connections = u64::from(self.clients + self.emitters);
        // Handshakes: the per-connection timeout, plus 5 ms per connection beyond concurrency.
        // Members, emitters, and the wait for every member's first event.
        let connect = 3 * self.connect_timeout + Duration::from_millis(5 * connections);
        connect + self.warmup + self.duration + self.drain + Duration::from_secs(10)
    }
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A connection could not be established.
    #[error("connection {index} of {total} failed: {source}")]
    Connect {
        /// Which connection (0-based).
        index: u32,
        /// How many were being opened.
        total: u32,
        /// Why.
        source: Box<ClientError>,
    },
    /// A connection did not complete its handshake in time.
    #[error("{missing} of {total} connections did not complete the handshake within {timeout:?}; lower --clients or raise --connect-timeout")]
    ConnectTimeout {
        /// How many were still pending.
        missing: u32,
        /// How many were being opened.
        total: u32,
        /// The limit.
        timeout: Duration,
    },
    /// Some members never received an event.
    #[error("{silent} of {total} members received no event within {waited:?}; does the server put sockets without emitter auth in room `bench` and broadcast `publish` as `deliver`?")]
    NotInRoom {
        /// Members that received nothing.
        silent: u32,
        /// Members.
        total: u32,
        /// How long the run waited.
        waited: Duration,
    },
    /// The process may not open enough files for the requested connections.
    #[error("{need} connections need {need} file descriptors but RLIMIT_NOFILE is {have}; raise it with `ulimit -n {need_plus}` or lower --clients")]
    TooFewFiles {
        /// Connections requested.
        need: u64,
        /// The soft limit.
        have: u64,
        /// A limit that would be enough.
        need_plus: u64,
    },
    /// The configuration is not usable.
    #[error("invalid load: {0}")]
    Invalid(&'static str),
    /// The server process could not be sampled.
    #[error(transparent)]
    Proc(#[from] ProcError),
    /// The run exceeded its hard deadline and was stopped.
    #[error("the run exceeded its hard deadline of {0:?} and was stopped")]
    Deadline(Duration),
}

/// Checks that the process may hold `connections` sockets (plus some room).
///
/// # Errors
///
/// [`LoadError::TooFewFiles`] when `RLIMIT_NOFILE` is too low.
pub(crate) fn check_fd_limit(connections: u64) -> Result<(), LoadError> {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return Ok(());
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(have) if have < connections + 64 => Err(LoadError::TooFewFiles {
            need: connections,
            have,
            need_plus: connections + 1024,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn bar(progress: bool, len: u64, prefix: String, template: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_prefix(prefix);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Opens `count` connections with `auth`, spawning `then` for each once it is handshaken.
///
/// Returns when all are handshaken, or with the first failure.
pub(crate) async fn open_connections<T, F, Fut>(
    tasks: &mut JoinSet<Option<T>>,
    config: &LoadConfig,
    count: u32,
    auth: Option<&'static str>,
    progress: &ProgressBar,
    then: F,
) -> Result<(), LoadError>
where
    T: Send + 'static,
    F: Fn(u32, client::Connection) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(config.connect_concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::channel::<(u32, Result<(), ClientError>)>(1024);
    let timeout = config.connect_timeout;
    let spawned = Arc::new(std::sync::atomic::AtomicU32::new(0));
    for index in 0..count {
        let gate = gate.clone();
        let target = config.target.clone();
        let ready_tx = ready_tx.clone();
        let then = then.clone();
        let spawned = spawned.clone();
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let result = tokio::time::timeout(timeout, client::connect(&target, auth)).await;
            drop(permit);
            let conn = match result {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => {
                    let _ = ready_tx.send((index, Err(e))).await;
                    return None;
                }
                Err(_) => {
                    let _ = ready_tx
                        .send((index, Err(ClientError::Timeout(timeout))))
                        .await;
                    return None;
                }
            };
            let _ = ready_tx.send((index, Ok(()))).await;
            drop(ready_tx);
            Some(then(index, conn).await)
        });
    }
    drop(ready_tx);
    let deadline =
        tokio::time::Instant::now() + timeout + Duration::from_millis(5 * u64::from(count));
    let mut done = 0u32;
    while done < count {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some((_, Ok(())))) => {
                done += 1;
                progress.inc(1);
            }
            Ok(Some((index, Err(source)))) => {
                return Err(LoadError::Connect {
                    index,
                    total: count,
                    source: Box::new(source),
                })
            }
            // Every sender is gone: the remaining handshakes timed out.
            Ok(None) | Err(_) => {
                return Err(LoadError::ConnectTimeout {
                    missing: count - done,
                    total: count,
                    timeout,
                })
            }
        }
    }
    Ok(())
}

/// Runs one load against `config.target` and reports it.
///
/// The run stops by itself within [`LoadConfig::hard_deadline`].
///
/// # Errors
///
/// [`LoadError`] when connections cannot be opened, the server cannot be
/// sampled, or the run overruns its hard deadline.
pub async fn run_load(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    if config.clients == 0 || config.emitters == 0 {
        return Err(LoadError::Invalid(
            "--clients and --emitters must be at least 1",
        ));
    }
    match config.mode {
        Mode::InFlight(0) => return Err(LoadError::Invalid("--in-flight must be at least 1")),
        Mode::Rate(r) if r.is_nan() || r <= 0.0 => {
            return Err(LoadError::Invalid("--rate must be positive"))
        }
        _ => {}
    }
    check_fd_limit(u64::from(config.clients + config.emitters))?;
    let deadline = config.hard_deadline();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut members: JoinSet<Option<MemberOutcome>> = JoinSet::new();
    let mut emitters: JoinSet<Option<EmitterOutcome>> = JoinSet::new();
    let result = tokio::time::timeout(
        deadline,
        run_phases(config, &stop_tx, stop_rx, &mut members, &mut emitters),
    )
    .await;
    // Whatever happened, every connection task ends here.
    let _ = stop_tx.send(true);
    members.abort_all();
    emitters.abort_all();
    match result {
        Ok(report) => report,
        Err(_) => Err(LoadError::Deadline(deadline)),
    }
}

async fn run_phases(
    config: &LoadConfig,
    stop_tx: &watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
    members: &mut JoinSet<Option<MemberOutcome>>,
    emitters: &mut JoinSet<Option<EmitterOutcome>>,
) -> Result<LoadReport, LoadError> {
    let windows = match config.mode {
        Mode::InFlight(k) => Some(
            (0..config.emitters)
                .map(|e| k / config.emitters + u32::from(e < k % config.emitters))
                .collect::<Vec<_>>(),
        ),
        Mode::Rate(_) => None,
    };
    let run = Arc::new(RunState::new(config.clients, windows.clone()));

    let connecting = bar(
        config.progress,
        u64::from(config.clients + config.emitters),
        format!("{} connect", config.label),
        "{prefix:>24} [{bar:30}] {pos}/{len} {elapsed}",
    );
    {
        let run = run.clone();
        let stop = stop_rx.clone();
        open_connections(
            members,
            config,
            config.clients,
            None,
            &connecting,
            move |_, conn| client::run_member(conn, run.clone(), stop.clone()),
        )
        .await?;
    }
    // Emitters connect now, but publish only once all of them are ready.
    let (go_tx, go_rx) = watch::channel(false);
    {
        let run = run.clone();
        let stop = stop_rx.clone();
        let payload = config.payload_bytes;
        let mode = config.mode;
        let stall_timeout = config.stall_timeout;
        let n_emitters = config.emitters;
        let clients = config.clients;
        open_connections(
            emitters,
            config,
            config.emitters,
            Some(EMITTER_AUTH),
            &connecting,
            move |index, conn| {
                let run = run.clone();
                let stop = stop.clone();
                let mut go = go_rx.clone();
                let plan = match mode {
                    Mode::InFlight(_) => EmitPlan::InFlight {
                        window: windows
                            .as_ref()
                            .and_then(|w| w.get(index as usize).copied())
                            .unwrap_or(0),
                        stall_timeout,
                    },
                    Mode::Rate(rate) => {
                        let events_per_s = rate / f64::from(clients) / f64::from(n_emitters);
                        EmitPlan::Rate {
                            interval: Duration::from_secs_f64(1.0 / events_per_s.max(1e-3)),
                        }
                    }
                };
                async move {
                    let _ = go.wait_for(|go| *go).await;
                    client::run_emitter(conn, run, index, payload, plan, stop).await
                }
            },
        )
        .await?;
    }
    connecting.finish_and_clear();

    // Emitters start publishing (unmeasured) and the window opens only once
    // every member has received an event: a server may answer CONNECT before
    // its handler has joined the socket to the room.
    let _ = go_tx.send(true);
    let priming = bar(
        config.progress,
        u64::from(config.clients),
        format!("{} first event", config.label),
        "{prefix:>24} [{bar:30}] {pos}/{len} {elapsed}",
    );
    let primed_by = Instant::now() + config.connect_timeout;
    while run.primed() < config.clients {
        if Instant::now() >= primed_by {
            return Err(LoadError::NotInRoom {
                silent: config.clients - run.primed(),
                total: config.clients,
                waited: config.connect_timeout,
            });
        }
        priming.set_position(u64::from(run.primed()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    priming.finish_and_clear();
    let window_end = run.set_window(config.warmup, config.duration);
    let window_start = window_end - config.duration;

    let running = bar(
        config.progress,
        (config.warmup + config.duration).as_millis() as u64,
        format!("{} {}", config.label, mode_label(config.mode)),
        "{prefix:>24} [{bar:30}] {msg}",
    );
    let total = config.warmup + config.duration;
    let began = Instant::now();
    let mut server_start = None;
    let mut self_start = None;
    let mut last = (Instant::now(), run.received());
    while Instant::now() < window_end {
        if server_start.is_none() && Instant::now() >= window_start {
            server_start = config.server_pid.map(ProcSample::read).transpose()?;
            self_start = ProcSample::read(std::process::id()).ok();
        }
        tokio::time::sleep(Duration::from_millis(100).min(window_end - Instant::now())).await;
        let now = (Instant::now(), run.received());
        let rate = (now.1 - last.1) as f64 / now.0.duration_since(last.0).as_secs_f64().max(1e-6);
        last = now;
        let phase = if now.0 < window_start {
            "warm-up"
        } else {
            "measuring"
        };
        running.set_position(began.elapsed().min(total).as_millis() as u64);
        running.set_message(format!(
            "{phase}: {} deliveries/s",
            super::report::thousands(rate)
        ));
    }
    let server_end = config.server_pid.map(ProcSample::read).transpose()?;
    let self_end = ProcSample::read(std::process::id()).ok();
    running.set_message("draining".to_owned());

    // Drain: wait for deliveries still on their way, bounded.
    let drain_until = Instant::now() + config.drain;
    while run.pending() > 0 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.finish_and_clear();

    let _ = stop_tx.send(true);
    let mut emitter_outcomes = Vec::new();
    let mut member_outcomes = Vec::new();
    let collect_until = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(joined)) = tokio::time::timeout_at(collect_until, emitters.join_next()).await
    {
        if let Ok(Some(outcome)) = joined {
            emitter_outcomes.push(outcome);
        }
    }
    while let Ok(Some(joined)) = tokio::time::timeout_at(collect_until, members.join_next()).await {
        if let Ok(Some(outcome)) = joined {
            member_outcomes.push(outcome);
        }
    }

    let sent: u64 = emitter_outcomes.iter().map(|o| o.sent_measured).sum();
    let mut account = LossAccount::new(sent, u64::from(config.clients));
    let mut connection_errors = 0u64;
    for outcome in &member_outcomes {
        account.add(&outcome.tally);
        connection_errors += u64::from(outcome.error.is_some());
    }
    for _ in member_outcomes.len()..config.clients as usize {
        account.add_missing_member();
        connection_errors += 1;
    }
    connection_errors += emitter_outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .count() as u64
        + (config.emitters as usize).saturating_sub(emitter_outcomes.len()) as u64;
    let latency = account.latency();
    let window_s = config.duration.as_secs_f64();
    let (mode, load) = match config.mode {
        Mode::InFlight(k) => ("in-flight", f64::from(k)),
        Mode::Rate(r) => ("rate", r),
    };
    Ok(LoadReport {
        server: config.label.clone(),
        mode: mode.into(),
        load,
        clients: config.clients,
        emitters: config.emitters,
        payload_bytes: config.payload_bytes,
        window_s,
        events_sent: account.sent(),
        first_event_id: emitter_outcomes
            .iter()
            .filter_map(|o| o.measured_ids.map(|ids| ids.0))
            .min(),
        last_event_id: emitter_outcomes
            .iter()
            .filter_map(|o| o.measured_ids.map(|ids| ids.1))
            .max(),
        deliveries: account.delivered(),
        deliveries_per_s: account.delivered() as f64 / window_s,
        p50_us: latency.p50_us,
        p99_us: latency.p99_us,
        p999_us: latency.p999_us,
        max_us: latency.max_us,
        lost: account.lost(),
        duplicates: account.duplicates(),
        members_short: account.members_short(),
        stalls: emitter_outcomes.iter().map(|o| o.stalls).sum(),
        max_lag_ms: emitter_outcomes
            .iter()
            .map(|o| o.max_lag.as_secs_f64() * 1000.0)
            .fold(0.0, f64::max),
        connection_errors,
        server_cpu_percent: match (server_start, server_end) {
            (Some(a), Some(b)) => Some(b.cpu_percent_since(&a)),
            _ => None,
        },
        server_rss_bytes: server_end.map(|s| s.rss_bytes),
        loadgen_cpu_percent: match (self_start, self_end) {
            (Some(a), Some(b)) => Some(b.cpu_percent_since(&a)),
            _ => None,
        },
    })
}

fn mode_label(mode: Mode) -> String {
    match mode {
        Mode::InFlight(k) => format!("{k} in flight"),
        Mode::Rate(r) => format!("{}/s", super::report::thousands(r)),
    }
}
