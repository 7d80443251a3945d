//! `bus-server`: a bus behind a Socket.IO v5 gateway, with a demo chat.
//!
//! `cargo run --release` starts it on <http://127.0.0.1:3000/>. It serves
//!
//! - the Socket.IO gateway at `/socket.io/` (WebSocket and long-polling),
//!   for any `socket.io-client`;
//! - the demo chat page at `/` and its `/chat` namespace;
//! - the `/bench` namespace that the `fanout-load` generator drives;
//! - bus-core's default namespace `/`, with no handlers.
//!
//! WebSockets use the gateway's lean transport (`bus_web::engineio::serve`),
//! and every connection has `TCP_NODELAY`.
//!
//! Every setting is a flag and an environment variable (`bus-server --help`).
//! Ctrl-C or SIGTERM closes every session, then stops the HTTP server.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use actix_web::App;
use bus_core::Bus;
use bus_web::engineio::{self, CorsOrigins};
use bus_web::{bench_protocol, demo, SocketIo};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// How long in-flight HTTP requests get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Settings, from flags or environment variables.
#[derive(Debug, Parser)]
#[command(
    name = "bus-server",
    version,
    about = "An actor-based event bus behind a Socket.IO v5 gateway, with a demo chat at /"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BUS_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Port to listen on (0 picks a free one; the log says which).
    #[arg(short, long, env = "BUS_PORT", default_value_t = 3000)]
    port: u16,

    /// Browser origins allowed to use long-polling across origins, comma
    /// separated (such as `http://localhost:8080`), or `*` for any. Pages
    /// served by this server need none.
    #[arg(long = "cors-origins", env = "BUS_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,

    /// Time between two server pings, in milliseconds.
    #[arg(long = "ping-interval", env = "BUS_PING_INTERVAL_MS", default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(1..))]
    ping_interval_ms: u64,

    /// Time to wait for a pong before closing a session, in milliseconds.
    #[arg(long = "ping-timeout", env = "BUS_PING_TIMEOUT_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    ping_timeout_ms: u64,

    /// Log filter, in `tracing-subscriber` EnvFilter syntax (such as `info`
    /// or `bus_web=debug,info`).
    #[arg(long = "log", env = "BUS_LOG", default_value = "info")]
    log: String,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "BUS_WORKERS")]
    workers: Option<usize>,

    /// bus-core worker threads, which run in-process clients' handlers
    /// (default 2), and browser sockets' handlers with `--handlers bus`.
    #[arg(long = "bus-workers", env = "BUS_CORE_WORKERS")]
    bus_workers: Option<usize>,

    /// Where a browser socket's server-side handlers run: `gateway`, on the
    /// HTTP worker that holds its connection (no thread hop per event), or
    /// `bus`, on a bus-core worker (a blocking handler then holds up only
    /// that worker's sockets).
    #[arg(long, env = "BUS_HANDLERS", value_enum, default_value_t = HandlerThreads::Gateway)]
    handlers: HandlerThreads,
}

/// Where remote sockets' handlers run (see `--handlers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HandlerThreads {
    /// The HTTP worker of the socket's connection.
    Gateway,
    /// A bus-core worker.
    Bus,
}

impl Args {
    fn cors(&self) -> CorsOrigins {
        let origins: Vec<String> = self
            .cors_origins
            .iter()
            .map(|origin| origin.trim().to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        if origins.iter().any(|origin| origin == "*") {
            CorsOrigins::Any
        } else if origins.is_empty() {
            CorsOrigins::None
        } else {
            CorsOrigins::List(origins)
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = match EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("bus-server: --log {:?} is not a valid filter ({error}); try `info` or `bus_web=debug,info`", args.log);
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match actix_web::rt::System::new().block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("bus-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let mut bus = Bus::builder().remote_sockets_on_caller(args.handlers == HandlerThreads::Gateway);
    if let Some(workers) = args.bus_workers {
        bus = bus.workers(workers);
    }
    let bus = bus.try_start()?;
    demo::register(&bus);
    bench_protocol::register(&bus);

    let gateway = SocketIo::builder(bus.clone())
        .ping_interval(Duration::from_millis(args.ping_interval_ms))
        .ping_timeout(Duration::from_millis(args.ping_timeout_ms))
        .cors(args.cors())
        .build();

    let address = SocketAddr::new(args.bind, args.port);
    let listener = std::net::TcpListener::bind(address).map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {address}: {error}; pick another --port or --bind"),
        )
    })?;
    let local = listener.local_addr()?;
    let mut builder = actix_server::Server::build()
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
    if let Some(workers) = args.workers {
        builder = builder.workers(workers.max(1));
    }
    // WebSocket connections leave actix-http's HTTP/1 dispatcher (16 KB of
    // buffers each) for the gateway's lean WebSocket transport; the server
    // sets TCP_NODELAY (no Nagle delay on small frames).
    let for_app = gateway.clone();
    let upgrade = gateway.engine().websocket_upgrade();
    let server = engineio::serve(builder, listener, upgrade, move || {
        App::new()
            .configure(for_app.configure())
            .configure(demo::configure_assets)
    })?;
    tracing::info!(address = %local, "bus-server listening on http://{local}/");
    let handle = server.handle();

    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!(
            sessions = gateway.session_count(),
            "shutting down: closing every session"
        );
        gateway.shutdown();
        bus.shutdown().await;
        handle.stop(true).await;
    });

    server.await?;
    tracing::info!("bus-server stopped");
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio_select(actix_web::rt::signal::ctrl_c(), terminate.recv()).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server")
            }
        }
    }
    if let Err(error) = actix_web::rt::signal::ctrl_c().await {
        tracing::error!(%error, "cannot listen for Ctrl-C; stop the server with SIGKILL");
        std::future::pending::<()>().await;
    }
}

/// Waits for whichever of two futures finishes first.
#[cfg(unix)]
async fn tokio_select<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
    futures::pin_mut!(a, b);
    futures::future::select(a, b).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Args {
        let mut argv = vec!["bus-server"];
        argv.extend_from_slice(flags);
        match Args::try_parse_from(argv) {
            Ok(args) => args,
            Err(error) => panic!("{flags:?} should parse: {error}"),
        }
    }

    #[test]
    fn flags_set_every_setting() {
        let args = parse(&[
            "--bind",
            "0.0.0.0",
            "--port",
            "8080",
            "--ping-interval",
            "300",
            "--ping-timeout",
            "200",
            "--log",
            "debug",
            "--workers",
            "3",
            "--bus-workers",
            "1",
            "--handlers",
            "bus",
        ]);
        assert_eq!(args.bind, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(
            (args.port, args.ping_interval_ms, args.ping_timeout_ms),
            (8080, 300, 200)
        );
        assert_eq!((args.log.as_str(), args.workers), ("debug", Some(3)));
        assert_eq!(args.bus_workers, Some(1));
        assert_eq!(args.handlers, HandlerThreads::Bus);
        assert_eq!(parse(&[]).handlers, HandlerThreads::Gateway);
    }

    #[test]
    fn cors_origins_are_a_comma_separated_list_or_a_star() {
        let list = parse(&["--cors-origins", "http://a.test, http://b.test"]).cors();
        assert_eq!(
            list,
            CorsOrigins::List(vec!["http://a.test".into(), "http://b.test".into()])
        );
        assert_eq!(parse(&["--cors-origins", "*"]).cors(), CorsOrigins::Any);
    }

    #[test]
    fn a_zero_ping_interval_is_refused() {
        assert!(Args::try_parse_from(["bus-server", "--ping-interval", "0"]).is_err());
        assert!(Args::try_parse_from(["bus-server", "--port", "70000"]).is_err());
    }
}
