//! The reference test server of the Socket.IO v5 and Engine.IO v4 protocol
//! documents, built on bus: run the official protocol test suites against it.
//!
//! - `/socket.io/`: Socket.IO with pingInterval 300 ms, pingTimeout 200 ms,
//!   maxPayload 1000000, connectTimeout 1000 ms and CORS `*`. Namespaces `/`
//!   and `/custom` each emit `auth` with the handshake's auth on connect;
//!   `/` echoes `message` as `message-back` (binary included) and
//!   acknowledges `message-with-ack` with its own arguments.
//! - `/engine.io/`: a bare Engine.IO endpoint with the same heartbeat
//!   settings that echoes every message, text or binary.
//!
//! Run it (port 3000 unless `--port N` or `PORT` says otherwise; `0` picks a
//! free port, logged at startup):
//!
//! ```text
//! cargo run -p examples --example conformance
//! cargo run -p examples --example conformance -- --port 3001
//! ```

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use bus_core::{Bus, Socket};
use bus_web::engineio::{CorsOrigins, EchoHandler, EngineConfig, EngineIo};
use bus_web::SocketIo;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);
const MAX_PAYLOAD: usize = 1_000_000;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// The port from `--port N`, then `PORT`, then 3000.
fn port() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--port=") {
            Some(v) => Some(v.to_owned()),
            None if arg == "--port" => args.next(),
            None => None,
        };
        if let Some(port) = value.and_then(|v| v.parse().ok()) {
            return port;
        }
    }
    std::env::var("PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// Emits `auth` with the handshake's auth, as both namespaces do on connect.
fn emit_auth(socket: &Socket) {
    if let Err(error) = socket.emit("auth", &socket.handshake().auth) {
        tracing::warn!(%error, "could not emit auth");
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let bus = Bus::start();
    bus.of("/").on_connection(|socket| {
        emit_auth(&socket);
        socket.on_any(|socket, event, ack| match event.name.as_str() {
            "message" => {
                if let Err(error) = socket.emit_payload("message-back", event.payload.clone()) {
                    tracing::warn!(%error, "could not echo message");
                }
            }
            "message-with-ack" => {
                if let Some(ack) = ack {
                    if let Err(error) = ack.send_payload(event.payload.clone()) {
                        tracing::warn!(%error, "could not acknowledge message-with-ack");
                    }
                }
            }
            _ => {}
        });
    });
    bus.of("/custom").on_connection(|socket| emit_auth(&socket));

    let socketio = SocketIo::builder(bus)
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        .connect_timeout(CONNECT_TIMEOUT)
        .cors(CorsOrigins::Any)
        .build();
    let engineio = EngineIo::new(
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: PING_INTERVAL,
            ping_timeout: PING_TIMEOUT,
            max_payload: MAX_PAYLOAD,
            cors: CorsOrigins::Any,
            ..EngineConfig::default()
        },
        Arc::new(EchoHandler),
    );

    let server = HttpServer::new(move || {
        App::new()
            .configure(socketio.configure())
            .configure(engineio.configure())
    })
    // Notice a long-polling client that aborts its pending GET at once.
    .h1_allow_half_closed(false)
    .bind(("127.0.0.1", port()))?;
    for addr in server.addrs() {
        tracing::info!(
            "conformance server listening on http://{addr} (/socket.io/ and /engine.io/)"
        );
    }
    server.run().await
}
