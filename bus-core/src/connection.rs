//! The client side of one socket as a transport sees it: [`Connection`]
//! (drain the outbound queue, hand in client events and acks, close), the
//! [`Handshake`], and the state both sides of a socket share.
//!
//! Owns the socket's shared state; it must not know any wire format. The
//! bus-web gateway drives a `Connection` for each browser socket; the
//! in-process [`Client`](crate::Client) is built on the same type.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use actix::Addr;

use crate::ack::AckMap;
use crate::dispatch::Ready;
use crate::error::{EmitError, InboundError};
use crate::handlers::HandlerTable;
use crate::id::SocketId;
use crate::messages::{AckToClient, ClientEvent, Close, ReliableAck};
use crate::metrics::Counters;
use crate::namespace::Namespace;
use crate::payload::{Event, Payload};
use crate::queue::{Outbound, OutboundQueue};
use crate::reason::DisconnectReason;
use crate::socket::{ServerHandlers, SocketActor};

/// What a client presented when connecting; middleware inspects it.
///
/// # Examples
///
/// ```
/// let hs = bus_core::Handshake { auth: serde_json::json!({"token": "t"}), ..Default::default() };
/// assert_eq!(hs.auth["token"], "t");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    /// The client's auth object (Socket.IO CONNECT payload); `Null` if none.
    pub auth: serde_json::Value,
    /// Query parameters of the transport request. Shared, not copied, by
    /// every socket of one transport connection.
    pub query: Arc<HashMap<String, String>>,
    /// Headers of the transport request (lowercase names). Shared, not
    /// copied, by every socket of one transport connection.
    pub headers: Arc<HashMap<String, String>>,
    /// Remote address, if known.
    pub address: Option<SocketAddr>,
    /// Persistent client id for at-least-once delivery (distinct from the socket id).
    pub client_id: Option<String>,
}

/// The rooms of one socket as the server side sees them: a sorted `Vec`,
/// since a socket is in few rooms (a `BTreeSet`'s first node alone takes
/// about 300 bytes, for every connection).
#[derive(Debug, Default)]
pub(crate) struct RoomSet(Vec<String>);

impl RoomSet {
    /// Adds `room`; false if it was there.
    pub(crate) fn insert(&mut self, room: String) -> bool {
        match self.0.binary_search(&room) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, room);
                true
            }
        }
    }

    /// Removes `room`; false if it was not there.
    pub(crate) fn remove(&mut self, room: &str) -> bool {
        match self.0.binary_search_by(|r| r.as_str().cmp(room)) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The rooms, sorted.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

/// State shared by the server side ([`Socket`](crate::Socket)), the client
/// side ([`Connection`]) and the namespace actor.
///
/// Laid out for the fan-out: what a shard reads per recipient (the
/// consumer, `ns_closing`, the queue's length) comes first, on its own
/// cache line after the reference counts.
#[repr(C, align(64))]
pub(crate) struct SocketShared {
    /// The in-process client that consumes the queue, once attached: its
    /// shard runs it right after pushing to it.
    pub(crate) consumer: OnceLock<Weak<dyn Ready>>,
    /// The namespace stopped queueing to this socket (it is being closed
    /// or replaced). Written and read by the namespace actor and by the
    /// socket's fan-out shard.
    pub(crate) ns_closing: AtomicBool,
    pub(crate) outbound: OutboundQueue,
    /// An in-process client's handlers (empty for a remote connection):
    /// its shard runs them from here without reaching the client itself.
    pub(crate) client_table: HandlerTable,
    pub(crate) id: SocketId,
    pub(crate) ns: Namespace,
    pub(crate) handshake: Handshake,
    /// Acks the server side waits for (server emit_with_ack, at-least-once).
    pub(crate) acks: AckMap,
    pub(crate) rooms: Mutex<RoomSet>,
    pub(crate) open: AtomicBool,
    pub(crate) closing: AtomicBool,
    /// The fan-out shard that pushes this socket's events (an in-process
    /// client's dispatcher); `None`: the namespace pushes them (remote).
    pub(crate) shard: Option<usize>,
    pub(crate) actor: OnceLock<Addr<SocketActor>>,
    pub(crate) handlers: RwLock<ServerHandlers>,
}

impl fmt::Debug for SocketShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("ns", &self.ns.name())
            .finish()
    }
}

impl SocketShared {
    pub(crate) fn new(
        id: SocketId,
        ns: Namespace,
        handshake: Handshake,
        outbound: OutboundQueue,
    ) -> Self {
        let rooms = RoomSet(vec![id.as_str().to_owned()]);
        SocketShared {
            id,
            ns,
            handshake,
            outbound,
            acks: AckMap::default(),
            rooms: Mutex::new(rooms),
            open: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            ns_closing: AtomicBool::new(false),
            shard: None,
            consumer: OnceLock::new(),
            client_table: HandlerTable::default(),
            actor: OnceLock::new(),
            handlers: RwLock::new(ServerHandlers::default()),
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        self.ns.counters()
    }

    pub(crate) fn rooms_lock(&self) -> std::sync::MutexGuard<'_, RoomSet> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the server side's answer to a client's ack request.
    ///
    /// The answer goes through the namespace actor, like this socket's own
    /// emits, so the client sees everything the handler emitted before
    /// answering first (Socket.IO's order), and nothing after a server-side
    /// `Disconnect`. A full queue is handled by the namespace's
    /// [`FullQueuePolicy`](crate::FullQueuePolicy), as for an emit.
    pub(crate) fn push_ack(
        self: &Arc<Self>,
        ack_id: u64,
        payload: Payload,
    ) -> Result<(), EmitError> {
        if !self.open.load(Ordering::Acquire) {
            return Err(EmitError::closed());
        }
        self.ns.send_command(AckToClient {
            socket: self.clone(),
            ack_id,
            payload,
        })
    }

    /// The client answered `ack_id`.
    pub(crate) fn ack_from_client(&self, ack_id: u64, payload: Payload) {
        let Some(pending) = self.acks.take(ack_id) else {
            tracing::debug!(socket = %self.id, ack_id, "ack for unknown or expired id ignored");
            return;
        };
        if let Some((client, seq)) = pending.reliable {
            self.ns.send_control(ReliableAck { client, seq });
        }
        // Counted after the namespace got the ack, so a reader of the
        // counter can rely on the ack being queued.
        Counters::add(&self.counters().acked, 1);
        if let Some(w) = pending.waiter {
            w.resolve(Ok(payload));
        }
    }

    /// Asks the socket actor to close (once); the actor runs the cleanup.
    pub(crate) fn request_close(&self, reason: DisconnectReason) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(actor) = self.actor.get() {
            // A single control message per socket, guarded by `closing`:
            // not fan-out, and it must not be lost to a full mailbox.
            actor.do_send(Close { reason });
        }
    }
}

/// The client side of one socket, driven by a transport (the bus-web
/// gateway) or by the in-process [`Client`](crate::Client).
///
/// The transport calls [`drain`](Self::drain) when its waker fires, hands
/// client events in with [`event_from_client`](Self::event_from_client) and
/// answers with [`ack_from_client`](Self::ack_from_client), and calls
/// [`close`](Self::close) when the transport goes away. Dropping a
/// `Connection` closes it with `transport close`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use bus_core::{Bus, Handshake, Outbound, Payload, DisconnectReason};
/// let bus = Bus::start();
/// let ns = bus.namespace("/").unwrap();
/// let waker: bus_core::Waker = Arc::new(|| {}); // a gateway schedules a flush here
/// let conn = futures::executor::block_on(ns.connect_remote(Handshake::default(), waker)).unwrap();
/// ns.to(conn.id().as_str()).emit("hello", &"world").unwrap();
/// let mut batch = Vec::new();
/// for _ in 0..500 {
///     if conn.drain(&mut batch, 64) > 0 { break; }
///     std::thread::sleep(std::time::Duration::from_millis(10));
/// }
/// assert!(matches!(&batch[0], Outbound::Event { event, .. } if event.name == "hello"));
/// conn.close(DisconnectReason::TransportClose);
/// ```
pub struct Connection {
    pub(crate) shared: Arc<SocketShared>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("ns", &self.shared.ns.name())
            .finish()
    }
}

impl Connection {
    /// The socket id (send it to the client in the CONNECT answer).
    pub fn id(&self) -> &SocketId {
        &self.shared.id
    }

    /// The namespace name.
    pub fn namespace(&self) -> &str {
        self.shared.ns.name()
    }

    /// Moves up to `max` queued items into `out` (appending) and returns how
    /// many. Re-arms the waker: if items remain or arrive later, the waker
    /// is called again, once (possibly from inside this call, so the waker
    /// must not take a lock the caller holds).
    pub fn drain(&self, out: &mut Vec<Outbound>, max: usize) -> usize {
        self.shared.outbound.drain(out, max)
    }

    /// Items waiting in the outbound queue now.
    pub fn queued(&self) -> usize {
        self.shared.outbound.len()
    }

    /// The client emitted `name` with `payload`, asking for an answer when
    /// `ack_id` is set (the answer comes back as [`Outbound::Ack`]).
    ///
    /// # Errors
    /// [`InboundError::Full`] when the socket's handlers lag behind (the
    /// transport may retry or close); [`InboundError::Closed`] after close.
    pub fn event_from_client(
        &self,
        name: impl Into<String>,
        payload: Payload,
        ack_id: Option<u64>,
    ) -> Result<(), InboundError> {
        self.send_event(Event::new(name, payload), ack_id)
            .map_err(|(e, _)| e)
    }

    /// As [`event_from_client`](Self::event_from_client), handing the event
    /// back with the error.
    pub(crate) fn send_event(
        &self,
        event: Event,
        ack_id: Option<u64>,
    ) -> Result<(), (InboundError, Event)> {
        if !self.shared.open.load(Ordering::Acquire) {
            return Err((InboundError::Closed, event));
        }
        let Some(actor) = self.shared.actor.get() else {
            return Err((InboundError::Closed, event));
        };
        actor
            .try_send(ClientEvent { event, ack_id })
            .map_err(|e| match e {
                actix::prelude::SendError::Full(m) => (InboundError::Full, m.event),
                actix::prelude::SendError::Closed(m) => (InboundError::Closed, m.event),
            })
    }

    /// The client answered the server's `emit_with_ack` (or acknowledged an
    /// at-least-once event) with id `ack_id`. Unknown ids are ignored.
    pub fn ack_from_client(&self, ack_id: u64, payload: Payload) {
        self.shared.ack_from_client(ack_id, payload);
    }

    /// The transport is gone or the client disconnected: runs the server
    /// side's `disconnecting`/`disconnect` handlers, leaves every room and
    /// fails pending acks. Idempotent.
    pub fn close(&self, reason: DisconnectReason) {
        self.shared.request_close(reason);
    }

    /// False once the socket is closed (either side).
    pub fn is_connected(&self) -> bool {
        self.shared.open.load(Ordering::Acquire) && !self.shared.closing.load(Ordering::Acquire)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.request_close(DisconnectReason::TransportClose);
    }
}
