//! Fan-out load generator for any Socket.IO v5 server that speaks the bench protocol.
//!
//! ```text
//! cargo run --release -p benches --bin fanout-load -- \
//!     --url ws://127.0.0.1:3001 --clients 1000 --in-flight 32 --duration 10 --server-pid PID
//! cargo run --release -p benches --bin fanout-load -- \
//!     --url ws://127.0.0.1:3001 --clients 100 --rate 20000
//! cargo run --release -p benches --bin fanout-load -- \
//!     --url ws://127.0.0.1:3001 --idle 10000 --server-pid PID
//! ```
//!
//! Room members connect to namespace `/bench`; emitters connect with auth
//! `{"emitter":true}` and publish stamped payloads; the server broadcasts
//! them to the room as `deliver`. Only loopback targets are accepted, and
//! the run stops by itself (warm-up + duration + drain, under a hard deadline).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use benches::loadgen::report::{table, IdleReport, LoadReport};
use benches::loadgen::target::Target;
use benches::loadgen::{run_idle, run_load, IdleConfig, LoadConfig, Mode};
use clap::Parser;

/// Command line of `fanout-load`.
#[derive(Debug, Parser)]
#[command(about = "Socket.IO v5 fan-out load generator (loopback targets only)")]
struct Args {
    /// Target server, e.g. ws://127.0.0.1:3001 (path defaults to /socket.io/).
    #[arg(long)]
    url: String,
    /// Room members.
    #[arg(long, default_value_t = 100)]
    clients: u32,
    /// Emitter connections (not in the room).
    #[arg(long, default_value_t = 1)]
    emitters: u32,
    /// Payload size in bytes of JSON.
    #[arg(long, default_value_t = 100)]
    payload_bytes: usize,
    /// Keep this many events in flight (the default mode, 32).
    #[arg(long, conflicts_with = "rate")]
    in_flight: Option<u32>,
    /// Offer this many deliveries per second (events/s × clients).
    #[arg(long)]
    rate: Option<f64>,
    /// Measured window, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Warm-up before measuring, seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Longest wait for deliveries after the window, seconds.
    #[arg(long, default_value_t = 2.0)]
    drain: f64,
    /// Longest wait for one handshake, seconds.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
    /// The server's pid, for its CPU and resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Idle mode: open this many idle connections and report memory per connection (needs --server-pid).
    #[arg(long, conflicts_with_all = ["in_flight", "rate"])]
    idle: Option<u32>,
    /// Idle mode: seconds to hold the connections before reading memory.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Label for the table and JSON.
    #[arg(long, default_value = "server")]
    label: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn seconds(value: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{name} must be a non-negative number of seconds"))
}

#[allow(clippy::print_stdout, reason = "the table is this binary's output")]
fn print_table(text: &str) {
    print!("{text}");
}

fn run(args: Args) -> Result<(), String> {
    let target = Target::parse(&args.url).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let json = if let Some(connections) = args.idle {
        let pid = args
            .server_pid
            .ok_or("--idle measures the server's memory: give its --server-pid")?;
        let mut config = IdleConfig::new(target, connections, pid);
        config.label = args.label.clone();
        config.settle = seconds(args.settle, "settle")?;
        config.connect_timeout = seconds(args.connect_timeout, "connect-timeout")?;
        config.progress = !args.no_progress;
        let report = runtime
            .block_on(run_idle(&config))
            .map_err(|e| e.to_string())?;
        print_table(&table(&IdleReport::HEADER, &[report.row()]));
        serde_json::to_string_pretty(&report)
    } else {
        let mut config = LoadConfig::new(target);
        config.label = args.label.clone();
        config.clients = args.clients;
        config.emitters = args.emitters;
        config.payload_bytes = args.payload_bytes;
        config.mode = match (args.in_flight, args.rate) {
            (_, Some(rate)) => Mode::Rate(rate),
            (Some(k), None) => Mode::InFlight(k),
            (None, None) => Mode::InFlight(32),
        };
        config.duration = seconds(args.duration, "duration")?;
        config.warmup = seconds(args.warmup, "warmup")?;
        config.drain = seconds(args.drain, "drain")?;
        config.connect_timeout = seconds(args.connect_timeout, "connect-timeout")?;
        config.server_pid = args.server_pid;
        config.progress = !args.no_progress;
        let report = runtime
            .block_on(run_load(&config))
            .map_err(|e| e.to_string())?;
        print_table(&table(&LoadReport::HEADER, &[report.row()]));
        if report.connection_errors > 0 || report.stalls > 0 {
            eprintln!(
                "fanout-load: {} connection errors, {} stalled waits for completion",
                report.connection_errors, report.stalls
            );
        }
        serde_json::to_string_pretty(&report)
    }
    .map_err(|e| format!("cannot encode the result: {e}"))?;
    if let Some(path) = args.json {
        std::fs::write(&path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // Connection tasks may still be closing: don't wait for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout-load: {e}");
            ExitCode::FAILURE
        }
    }
}
