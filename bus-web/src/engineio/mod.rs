//! The Engine.IO v4 layer: codecs, transports and sessions.
//!
//! This module owns everything below Socket.IO: the pure packet and
//! long-polling payload codecs, the session actor with its heartbeat and
//! upgrade, the long-polling and WebSocket transports on actix-web, and the
//! [`EngineHandler`] trait through which the layer above (Socket.IO, or the
//! bare [`EchoHandler`]) sees sessions. It must not touch Socket.IO framing
//! or bus-core.
//!
//! WebSockets have two transports. Mounted with [`EngineIo::configure`] in
//! any actix-web `App`, they go through an actix-web route (actix-web-actors).
//! Served with [`serve`] (as `bus-server` does), they leave actix-http's
//! HTTP/1 dispatcher at the upgrade for the lean transport: no I/O buffer
//! while idle (16 KB less per connection) and one copy less per frame.
//!
//! # Examples
//!
//! Mount a Socket.IO-style endpoint and a bare echo endpoint side by side:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use actix_web::{App, HttpServer};
//! use bus_web::engineio::{CorsOrigins, EchoHandler, EngineConfig, EngineIo};
//!
//! # async fn run() -> std::io::Result<()> {
//! let echo = EngineIo::new(
//!     EngineConfig {
//!         path: "/engine.io/".into(),
//!         ping_interval: Duration::from_millis(300),
//!         ping_timeout: Duration::from_millis(200),
//!         cors: CorsOrigins::Any,
//!         ..EngineConfig::default()
//!     },
//!     Arc::new(EchoHandler),
//! );
//! HttpServer::new(move || App::new().configure(echo.configure()))
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await
//! # }
//! ```

mod config;
mod cors;
mod echo;
mod error;
mod handler;
mod mount;
mod packet;
mod payload;
mod polling;
mod registry;
mod session;
mod upgrade;
mod websocket;
mod write_gate;

pub use config::{CorsOrigins, EngineConfig};
pub use echo::EchoHandler;
pub use error::RequestError;
pub use handler::{
    CloseReason, EngineHandler, EngineSession, HandshakeRequest, SendError, TransportKind,
};
pub use mount::EngineIo;
pub use packet::{
    decode_binary, decode_text, encode_frame, encode_text, encode_text_into, DecodeError,
    EncodedText, EngineMessage, Frame, OpenPacket, Packet,
};
pub use payload::{decode_payload, decode_payload_bytes, encode_payload, SEPARATOR};
pub use upgrade::{serve, WebSocketUpgrade};
