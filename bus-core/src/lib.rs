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
//! applies joins, leaves and broadcasts in one order. A queried room has an
//! actor too (started by the first [`Namespace::room`] query, stopped when
//! the room empties) that keeps the room's membership view and statistics. Each server-side
//! socket is an actor that runs that socket's handlers; in-process clients
//! are run by one dispatcher actor per worker thread, which is also that
//! worker's fan-out shard: the namespace hands each shard one message per
//! broadcast, and the shard pushes the shared `Arc<Event>` into each of its
//! clients' bounded, lazily allocated queues (or hands it over directly
//! when nothing is queued before it) and runs the clients in the same
//! pass. Remote connections' queues are filled by the namespace and their
//! consumer is woken once per batch. A full queue drops volatile events and
//! otherwise follows the namespace's [`FullQueuePolicy`]; every drop is
//! counted ([`Bus::metrics`]).
//!
//! Remote clients use the same path through [`Connection`]
//! ([`Namespace::connect_remote`]); see `docs/architecture.md`.
//!
//! ## At-least-once delivery
//!
//! Opt in per namespace. A client that connects with a persistent
//! `client_id` gets a sequence number on every event; an event stays in
//! that client's log until the client acknowledges it (an in-process client
//! acknowledges when its handler returns, unless it sets `manual_ack`; a
//! remote client answers the event's ack id). Unacknowledged events are
//! redelivered in order when the client comes back and after the ack
//! deadline, marked `redelivered` with the same `seq`. While the client is
//! away its rooms are remembered, so events to those rooms are retained for
//! it. Retention is bounded by count and age ([`Retention`]); what it drops
//! is announced by a [`Gap`] on the next attach.
//!
//! ```
//! use std::time::Duration;
//! use futures::executor::block_on;
//! use bus_core::{AtLeastOnce, Bus, ConnectOptions, NamespaceConfig};
//!
//! let bus = Bus::start();
//! let jobs = bus.of_with("/jobs", NamespaceConfig::default().at_least_once(AtLeastOnce::new()));
//! let opts = ConnectOptions { client_id: Some("worker-1".into()), ..Default::default() };
//! let worker = block_on(jobs.connect(opts.clone())).unwrap();
//! jobs.to(worker.id().as_str()).sockets_join("queue").unwrap();
//! worker.disconnect();
//!
//! jobs.to("queue").emit("job", &7).unwrap(); // the worker is away: retained for it
//!
//! let (tx, rx) = std::sync::mpsc::channel();
//! let _back = block_on(jobs.connect_with(opts, move |c| {
//!     c.on("job", move |n: u32, _ack| { let _ = tx.send(n); });
//! })).unwrap();
//! assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
//! ```
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
mod at_least_once;
mod bus;
mod client;
mod config;
mod connection;
mod dispatch;
mod error;
mod handlers;
mod id;
mod messages;
mod metrics;
mod middleware;
mod namespace;
mod namespace_actor;
mod operators;
mod payload;
mod queue;
mod reason;
mod reliable;
mod room;
mod shard;
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
pub use room::RoomInfo;
pub use socket::Socket;
