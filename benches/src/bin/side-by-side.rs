//! Side-by-side fan-out run: bus-server, socketioxide and Node socket.io, same loads, one table.
//!
//! Builds nothing itself; build the release binaries first:
//!
//! ```text
//! cargo build --release -p bus-web -p benches
//! cargo run --release -p benches --bin side-by-side            # full run, a few minutes
//! cargo run --release -p benches --bin side-by-side -- --quick # smoke run, about a minute
//! ```
//!
//! It starts bus-server, socketioxide-server and, when `node` is installed,
//! `node benches/node/server.js` (`npm ci` runs first if `node_modules` is
//! missing), each on a free loopback port, and runs the same loads against
//! each, interleaved server after server so that the machine's background
//! load hits all alike: 100 and 1 000 clients with a 100-byte payload,
//! saturating (32 events in flight) and at a fixed 20 000 deliveries/s.
//! `--rounds N` repeats the sequence and keeps each load's median round.
//! Then it starts each server afresh and opens 10 000 idle connections to
//! read its resident memory per connection. A server that cannot be started
//! is skipped with a message. It prints one table with ratios against bus and
//! writes `results.json` and `fanout.svg` to `benches/results/`
//! (`--replot results.json` redraws both from an earlier run).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use benches::chart::{self, Series};
use benches::launch::{free_port, ServerProcess};
use benches::loadgen::report::{table, thousands, IdleReport, LoadReport};
use benches::loadgen::target::Target;
use benches::loadgen::{run_idle, run_load, IdleConfig, LoadConfig, Mode};
use clap::Parser;
use serde::{Deserialize, Serialize};

/// Command line of `side-by-side`.
#[derive(Debug, Parser)]
#[command(about = "Fan-out side by side: bus-server, socketioxide, Node socket.io")]
struct Args {
    /// Short smoke run: 1 s warm-up, 3 s windows, 2 000 idle connections.
    #[arg(long)]
    quick: bool,
    /// Measured window per load, seconds (default 10, quick 3).
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up per load, seconds (default 2, quick 1).
    #[arg(long)]
    warmup: Option<f64>,
    /// Idle connections per server (default 10 000, quick 2 000).
    #[arg(long)]
    idle: Option<u32>,
    /// Room sizes.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    clients: Vec<u32>,
    /// Events in flight for the saturating load.
    #[arg(long, default_value_t = 32)]
    in_flight: u32,
    /// Offered deliveries/s for the latency load.
    #[arg(long, default_value_t = 20_000.0)]
    rate: f64,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 100)]
    payload_bytes: usize,
    /// bus-server binary (default: target/release/bus-server, else next to this binary).
    #[arg(long)]
    bus_server: Option<PathBuf>,
    /// socketioxide-server binary (default: next to this binary).
    #[arg(long)]
    socketioxide_server: Option<PathBuf>,
    /// The node executable.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// Servers to leave out (bus, socketioxide, node).
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Where results.json and fanout.svg go.
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    no_progress: bool,
    /// Repeat the whole load sequence this many times; the table shows each load's median round.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Run nothing: redraw the table and chart from an earlier results.json.
    #[arg(long)]
    replot: Option<PathBuf>,
}

/// How to start one server under test.
#[derive(Debug)]
struct ServerSpec {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<PathBuf>,
}

/// Everything a run writes to `results.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Results {
    quick: bool,
    cores: usize,
    payload_bytes: usize,
    warmup_s: f64,
    duration_s: f64,
    /// Rounds of the load sequence.
    #[serde(default)]
    rounds: u32,
    /// Per server and load, the median round (by deliveries/s, or by p99 at the fixed rate).
    loads: Vec<LoadReport>,
    /// Every round.
    #[serde(default)]
    all_loads: Vec<LoadReport>,
    idle: Vec<IdleReport>,
    skipped: Vec<String>,
}

#[allow(clippy::print_stdout, reason = "the tables are this binary's output")]
fn say(text: &str) {
    println!("{text}");
}

fn benches_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(name);
    path.exists().then_some(path)
}

fn bus_server_path(args: &Args) -> PathBuf {
    if let Some(path) = &args.bus_server {
        return path.clone();
    }
    let in_workspace = benches_dir().join("../target/release/bus-server");
    if in_workspace.exists() {
        return in_workspace;
    }
    sibling("bus-server").unwrap_or(in_workspace)
}

/// Makes sure `benches/node/node_modules` exists (runs `npm ci` once); `Err` says why node is skipped.
fn node_ready(node: &Path) -> Result<(), String> {
    let version = Command::new(node)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(version, Ok(s) if s.success()) {
        return Err(format!("`{}` is not installed", node.display()));
    }
    let dir = benches_dir().join("node");
    if dir.join("node_modules/socket.io").exists() {
        return Ok(());
    }
    eprintln!("side-by-side: installing the Node server's dependencies (npm ci)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run npm ci: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm ci failed in {} ({status})", dir.display()))
    }
}

fn start(spec: &ServerSpec) -> Result<(ServerProcess, Target), String> {
    let port = free_port().map_err(|e| e.to_string())?;
    // Server logs (bus-server warns under overload) go to a file, not over the progress bars.
    let log = std::env::temp_dir().join(format!("side-by-side-{}.log", spec.name));
    eprintln!(
        "side-by-side: starting {} (its stderr: {})",
        spec.name,
        log.display()
    );
    let mut args = spec.args.clone();
    args.push(port.to_string());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start(
        &spec.program,
        &args,
        spec.cwd.as_deref(),
        addr,
        Duration::from_secs(15),
        Some(&log),
    )
    .map_err(|e| e.to_string())?;
    let target = Target::parse(&format!("ws://{addr}")).map_err(|e| e.to_string())?;
    Ok((server, target))
}

/// Draws `fanout.svg`: deliveries/s in flight and p99 at the fixed rate, per server and room size.
fn draw_chart(results: &Results, svg_path: &Path, in_flight: u32, rate: f64) -> Result<(), String> {
    let mut servers: Vec<&str> = Vec::new();
    for r in &results.loads {
        if !servers.contains(&r.server.as_str()) {
            servers.push(&r.server);
        }
    }
    let series = |rate_mode: bool, value: &dyn Fn(&LoadReport) -> f64| -> Vec<Series> {
        servers
            .iter()
            .map(|name| Series {
                name: (*name).to_owned(),
                points: results
                    .loads
                    .iter()
                    .filter(|r| r.server == *name && (r.mode == "rate") == rate_mode)
                    .map(|r| (r.clients, value(r)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let throughput = series(false, &|r| r.deliveries_per_s);
    let p99 = series(true, &|r| r.p99_us as f64 / 1000.0);
    let left = format!("deliveries/s, {in_flight} events in flight");
    let right = format!("p99 latency (ms) at {} deliveries/s", thousands(rate));
    chart::render(svg_path, (&left, &throughput), (&right, &p99)).map_err(|e| e.to_string())
}

/// Redraws the tables and the chart from an earlier `results.json`.
fn replot(path: &Path, args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let results: Results = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a results.json: {e}", path.display()))?;
    say(&render_tables(&results.loads, &results.idle));
    let svg_path = path.with_file_name("fanout.svg");
    draw_chart(&results, &svg_path, args.in_flight, args.rate)?;
    eprintln!("side-by-side: wrote {}", svg_path.display());
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    if let Some(path) = &args.replot {
        return replot(path, &args);
    }
    let duration = args.duration.unwrap_or(if args.quick { 3.0 } else { 10.0 });
    let warmup = args.warmup.unwrap_or(if args.quick { 1.0 } else { 2.0 });
    let idle = args.idle.unwrap_or(if args.quick { 2_000 } else { 10_000 });
    let duration =
        Duration::try_from_secs_f64(duration).map_err(|_| "--duration must be positive seconds")?;
    let warmup =
        Duration::try_from_secs_f64(warmup).map_err(|_| "--warmup must be positive seconds")?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| benches_dir().join("results"));

    let mut skipped = Vec::new();
    let mut specs = Vec::new();
    let wanted = |name: &str| !args.skip.iter().any(|s| s == name);
    if wanted("bus") {
        let program = bus_server_path(&args);
        if program.exists() {
            specs.push(ServerSpec {
                name: "bus",
                program,
                args: vec!["--port".into()],
                cwd: None,
            });
        } else {
            skipped.push(format!(
                "bus: {} not found; build it with `cargo build --release -p bus-web`",
                program.display()
            ));
        }
    }
    if wanted("socketioxide") {
        match args.socketioxide_server.clone().or_else(|| sibling("socketioxide-server")) {
            Some(program) => specs.push(ServerSpec { name: "socketioxide", program, args: vec!["--port".into()], cwd: None }),
            None => skipped.push("socketioxide: socketioxide-server not found next to side-by-side; build it with `cargo build --release -p benches`".into()),
        }
    }
    if wanted("node") {
        match node_ready(&args.node) {
            Ok(()) => specs.push(ServerSpec {
                name: "node",
                program: args.node.clone(),
                args: vec!["server.js".into()],
                cwd: Some(benches_dir().join("node")),
            }),
            Err(why) => skipped.push(format!("node: {why}")),
        }
    }
    for why in &skipped {
        eprintln!("side-by-side: skipping {why}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    // Loads: every server runs at once (idle ones cost nothing) and the loads
    // are interleaved, server after server, so that a change in the machine's
    // background load hits every server alike.
    let mut running = Vec::new();
    for spec in &specs {
        match start(spec) {
            Ok((server, target)) => running.push((spec, server, target)),
            Err(e) => {
                eprintln!("side-by-side: skipping {}: {e}", spec.name);
                skipped.push(format!("{}: {e}", spec.name));
            }
        }
    }
    let mut all_loads = Vec::new();
    for round in 0..args.rounds.max(1) {
        for &clients in &args.clients {
            for mode in [Mode::InFlight(args.in_flight), Mode::Rate(args.rate)] {
                for (spec, server, target) in &running {
                    let mut config = LoadConfig::new(target.clone());
                    config.label = spec.name.into();
                    config.clients = clients;
                    config.payload_bytes = args.payload_bytes;
                    config.mode = mode;
                    config.warmup = warmup;
                    config.duration = duration;
                    config.drain = Duration::from_secs(3);
                    config.server_pid = Some(server.pid());
                    config.progress = !args.no_progress;
                    match runtime.block_on(run_load(&config)) {
                        Ok(report) => all_loads.push(report),
                        Err(e) => {
                            let what =
                                format!("{} {clients} clients {mode:?} (round {round})", spec.name);
                            eprintln!("side-by-side: {what} failed: {e}");
                            skipped.push(format!("{what}: {e}"));
                        }
                    }
                }
            }
        }
    }
    let names: Vec<&str> = running.iter().map(|(spec, _, _)| spec.name).collect();
    for (_, server, _) in running {
        server.stop();
    }
    let loads = medians(&all_loads, &names);
    // Idle memory: a fresh process per server, so the loads do not inflate its baseline.
    let mut idles = Vec::new();
    for spec in &specs {
        if !names.contains(&spec.name) {
            continue;
        }
        match start(spec) {
            Ok((server, target)) => {
                let mut config = IdleConfig::new(target, idle, server.pid());
                config.label = spec.name.into();
                config.progress = !args.no_progress;
                // Let the fresh server settle before the baseline reading.
                std::thread::sleep(Duration::from_millis(500));
                match runtime.block_on(run_idle(&config)) {
                    Ok(report) => idles.push(report),
                    Err(e) => {
                        eprintln!("side-by-side: {} idle run failed: {e}", spec.name);
                        skipped.push(format!("{} idle: {e}", spec.name));
                    }
                }
                server.stop();
            }
            Err(e) => skipped.push(format!("{} idle: {e}", spec.name)),
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));

    say(&render_tables(&loads, &idles));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let results = Results {
        quick: args.quick,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        payload_bytes: args.payload_bytes,
        warmup_s: warmup.as_secs_f64(),
        duration_s: duration.as_secs_f64(),
        rounds: args.rounds.max(1),
        loads,
        all_loads,
        idle: idles,
        skipped,
    };
    let json = serde_json::to_string_pretty(&results)
        .map_err(|e| format!("cannot encode results: {e}"))?;
    let json_path = out.join("results.json");
    std::fs::write(&json_path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    let svg_path = out.join("fanout.svg");
    draw_chart(&results, &svg_path, args.in_flight, args.rate)?;
    eprintln!(
        "side-by-side: wrote {} and {}",
        json_path.display(),
        svg_path.display()
    );
    Ok(())
}

/// Per server, room size and mode, the median round: by deliveries/s when
/// saturating, by p99 at the fixed rate.
fn medians(all: &[LoadReport], servers: &[&str]) -> Vec<LoadReport> {
    let mut out = Vec::new();
    let mut keys: Vec<(u32, String)> = Vec::new();
    for r in all {
        if !keys.contains(&(r.clients, r.mode.clone())) {
            keys.push((r.clients, r.mode.clone()));
        }
    }
    for name in servers {
        for (clients, mode) in &keys {
            let mut runs: Vec<&LoadReport> = all
                .iter()
                .filter(|r| r.server == *name && r.clients == *clients && r.mode == *mode)
                .collect();
            if runs.is_empty() {
                continue;
            }
            if mode == "rate" {
                runs.sort_by_key(|r| r.p99_us);
            } else {
                runs.sort_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s));
            }
            out.push(runs[runs.len() / 2].clone());
        }
    }
    out
}

/// The load table with ratios against bus (or the first server when bus did not run), and the idle table.
fn render_tables(loads: &[LoadReport], idles: &[IdleReport]) -> String {
    let baseline = if loads.iter().any(|r| r.server == "bus") {
        "bus".to_owned()
    } else {
        loads.first().map(|r| r.server.clone()).unwrap_or_default()
    };
    let base_of = |r: &LoadReport| {
        loads.iter().find(|b| {
            b.server == baseline && b.clients == r.clients && b.mode == r.mode && b.load == r.load
        })
    };
    let mut header: Vec<&str> = LoadReport::HEADER.to_vec();
    let ratio_dps = format!("dps / {baseline}");
    let ratio_p99 = format!("p99 / {baseline}");
    header.push(&ratio_dps);
    header.push(&ratio_p99);
    let rows: Vec<Vec<String>> = loads
        .iter()
        .map(|r| {
            let mut row = r.row();
            match base_of(r) {
                Some(b) if b.deliveries_per_s > 0.0 && b.p99_us > 0 => {
                    row.push(format!("{:.2}", r.deliveries_per_s / b.deliveries_per_s));
                    row.push(format!("{:.2}", r.p99_us as f64 / b.p99_us as f64));
                }
                _ => {
                    row.push("-".into());
                    row.push("-".into());
                }
            }
            row
        })
        .collect();
    let mut text = table(&header, &rows);
    for r in loads
        .iter()
        .filter(|r| r.stalls > 0 || r.connection_errors > 0)
    {
        text.push_str(&format!(
            "note: {} {} clients {}: {} stalled waits for completion, {} connection errors\n",
            r.server, r.clients, r.mode, r.stalls, r.connection_errors
        ));
    }
    text.push('\n');
    let mut idle_header: Vec<&str> = IdleReport::HEADER.to_vec();
    let ratio_mem = format!("mem / {baseline}");
    idle_header.push(&ratio_mem);
    let base_idle = idles.iter().find(|i| i.server == baseline);
    let idle_rows: Vec<Vec<String>> = idles
        .iter()
        .map(|i| {
            let mut row = i.row();
            row.push(match base_idle {
                Some(b) if b.rss_per_connection_bytes > 0.0 => {
                    format!(
                        "{:.2}",
                        i.rss_per_connection_bytes / b.rss_per_connection_bytes
                    )
                }
                _ => "-".into(),
            });
            row
        })
        .collect();
    text.push_str(&table(&idle_header, &idle_rows));
    text
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("side-by-side: {e}");
            ExitCode::FAILURE
        }
    }
}
