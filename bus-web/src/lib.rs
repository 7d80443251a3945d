//! # bus-web
//!
//! A Socket.IO v5 / Engine.IO v4 gateway on actix-web that puts browsers,
//! Node services and mobile apps (any official `socket.io-client`) on a
//! [`bus_core::Bus`]. A remote socket is a full bus-core socket: a broadcast
//! from a service reaches in-process clients and browser sockets in the same
//! room alike.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use bus_web::SocketIo;
//!
//! # #[actix_web::main]
//! # async fn main() -> std::io::Result<()> {
//! let bus = bus_core::Bus::start();
//! bus.of("/").on_connection(|socket| {
//!     socket.on("chat", |socket, text: String, _ack| {
//!         let _ = socket.broadcast().emit("chat", &text);
//!     });
//! });
//! let gateway = SocketIo::builder(bus).build();
//! HttpServer::new(move || App::new().configure(gateway.configure()))
//!     .h1_allow_half_closed(false) // an aborted long-poll closes its session
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await
//! # }
//! ```
//!
//! ## Layout
//!
//! - [`engineio`]: the Engine.IO v4 codec (pure functions) and its
//!   transports (long-polling and WebSocket) with the session actor;
//! - [`socketio`]: the Socket.IO v5 codec (pure functions) and the gateway
//!   ([`SocketIo`]) that maps Socket.IO namespaces onto bus-core namespaces;
//! - [`demo`]: the chat served by the `bus-server` binary;
//! - [`bench_protocol`]: the `/bench` namespace the load generator drives.

pub mod engineio;

pub mod socketio;
pub use socketio::{SocketIo, SocketIoBuilder, SocketIoConfig};

pub mod demo;

pub mod bench_protocol;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
