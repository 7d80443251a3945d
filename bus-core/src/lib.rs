//! # bus-core
//!
//! An actor-based, in-process event bus that speaks Socket.IO's vocabulary:
//! **namespaces**, **rooms**, **sockets**, **events** and
//! **acknowledgements**, plus opt-in **at-least-once delivery** for clients
//! that go away and come back. Services link it directly; the `bus-web`
//! gateway puts browsers (socket.io-client) on the same bus.
//!
//! ```
//! use std::time::Duration;
//! use futures::executor::block_on;
//! use bus_core::{Bus, ConnectOptions};
//!
//! let bus = Bus::start();
//! let chat = bus.of("/chat");
//! chat.on_connection(|socket| {
//!     socket.join("lobby").unwrap();
//!     socket.on("say", |socket, text: String, ack| {
//!         let _ = socket.to("lobby").emit("said", &text); // everyone else in the lobby
//!         if let Some(ack) = ack { let _ = ack.send(&"ok"); }
//!     });
//! });
//!
//! let (tx, rx) = std::sync::mpsc::channel();
//! let alice = block_on(chat.connect_with(ConnectOptions::default(), move |c| {
//!     c.on("said", move |text: String, _ack| { let _ = tx.send(text); });
//! })).unwrap();
//! let bob = block_on(chat.connect(ConnectOptions::default())).unwrap();
//! # std::thread::sleep(Duration::from_millis(100)); // let both join the lobby
//! let answer: String = block_on(bob.emit_with_ack("say", &"hi", Duration::from_secs(5))).unwrap();
//! assert_eq!(answer, "ok");
//! assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "hi");
//! # let _ = alice;
//! ```
//!
//! ## Starting the bus
//!
//! [`Bus::start`] runs the actors on a dedicated thread with its own actix
//! `System`, and every future the bus returns is runtime-agnostic (it waits
//! on oneshot channels and on timers that run on the bus thread). So:
//!
//! - **synchronous code**: call [`Bus::start`] and drive futures with
//!   `futures::executor::block_on` (as above);
//! - **a tokio runtime**:
//!   ```
//!   # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//!   rt.block_on(async {
//!       let bus = bus_core::Bus::start();
//!       let client = bus.of("/").connect(Default::default()).await.unwrap();
//!       assert!(client.connected());
//!   });
//!   ```
//! - **an actix System** (e.g. inside actix-web):
//!   ```
//!   actix::System::new().block_on(async {
//!       let bus = bus_core::Bus::start();
//!       let client = bus.of("/").connect(Default::default()).await.unwrap();
//!       assert_eq!(client.id().as_str().len(), 20);
//!   });
//!   ```
//!
//! ## Architecture
//!
//! Each namespace is an actor that owns its sockets and its room index and
//! applies joins, leaves and broadcasts in one order. Each server-side
//! socket is an actor that runs that socket's handlers; each in-process
//! client is an actor that runs the client's handlers. A broadcast is one
//! `Arc<Event>` pushed with `try_send` into each recipient's bounded
//! `crossbeam_channel` queue; a consumer is woken once per batch. A full
//! queue drops volatile events and otherwise follows the namespace's
//! [`FullQueuePolicy`]; every drop is counted ([`Bus::metrics`]).
//!
//! Remote clients use the same path through [`Connection`]
//! ([`Namespace::connect_remote`]); see `docs/architecture.md`.
//!
//! ## Panicking handlers
//!
//! A server-side handler that panics is caught; **its socket is
//! disconnected** with [`DisconnectReason::HandlerPanicked`] (its pending
//! acks fail with `Closed`), and the namespace and all other sockets carry
//! on. A panicking in-process *client* handler is logged and the event is
//! not acknowledged (at-least-once redelivers it). A panicking middleware
//! rejects the connection.

mod ack;
mod bus;
mod client;
mod config;
mod connection;
mod error;
mod id;
mod messages;
mod metrics;
mod middleware;
mod namespace;
mod operators;
mod payload;
mod queue;
mod reason;
mod reliable;
mod socket;
mod timer;

pub use ack::{AckResponder, AckResponses};
pub use bus::{Bus, BusBuilder, DynamicNamespace, NamespaceMatcher};
pub use client::{Client, ConnectOptions, Incoming};
pub use config::{DeliveryGuarantee, FullQueuePolicy, NamespaceConfig};
pub use connection::{Connection, Handshake};
pub use error::{AckError, ConnectError, DecodeError, EmitError, EncodeError, InboundError};
pub use id::SocketId;
pub use metrics::{DropReason, DroppedCounts, NamespaceMetrics};
pub use middleware::Middleware;
pub use namespace::Namespace;
pub use operators::{BroadcastOperator, EmitReport};
pub use payload::{Event, Payload};
pub use queue::{DeliveryInfo, Outbound, Waker};
pub use reason::DisconnectReason;
pub use reliable::{AtLeastOnce, Gap, Retention};
pub use socket::Socket;
