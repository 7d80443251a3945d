//! Actor messages, one named-field struct per intent.
//!
//! Owns message shapes only; handlers live with their actors
//! (`namespace.rs`, `socket.rs`, `client.rs`).

use std::sync::Arc;

use actix::Message;
use futures::channel::oneshot;

use crate::ack::BroadcastTx;
use crate::connection::{Connection, Handshake, SocketShared};
use crate::error::ConnectError;
use crate::id::SocketId;
use crate::payload::Event;
use crate::queue::Waker;
use crate::reason::DisconnectReason;
use crate::socket::Socket;

/// Which sockets an operation addresses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// Union of these rooms; empty means every socket of the namespace.
    pub(crate) rooms: Vec<String>,
    /// Minus the members of these rooms.
    pub(crate) except: Vec<String>,
    /// Minus this socket (the sender, for `broadcast()`/`socket.to()`).
    pub(crate) skip: Option<SocketId>,
}

/// Namespace: a client wants to connect (middleware runs here).
#[derive(Message)]
#[rtype(result = "Result<Connection, ConnectError>")]
pub(crate) struct Connect {
    pub(crate) handshake: Handshake,
    pub(crate) waker: Waker,
    /// Fired once the socket's `on_connection` handlers have run.
    pub(crate) ready: Option<oneshot::Sender<()>>,
    /// The fan-out shard of an in-process client (its dispatcher's number);
    /// `None` for a remote connection (pushed by the namespace).
    pub(crate) shard: Option<usize>,
    /// Where the socket actor runs: the caller's arbiter (a gateway worker,
    /// see `BusBuilder::remote_sockets_on_caller`), else a bus worker.
    pub(crate) arbiter: Option<actix::prelude::ArbiterHandle>,
}

/// Namespace: `socket` joins `rooms`.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Join {
    pub(crate) socket: SocketId,
    pub(crate) rooms: Vec<String>,
}

/// Namespace: `socket` leaves `room`.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Leave {
    pub(crate) socket: SocketId,
    pub(crate) room: String,
}

/// What a fan-out did, for `emit_reported` and `emit_with_ack`.
#[derive(Debug, Default)]
pub(crate) struct FanoutReport {
    pub(crate) queued: usize,
    pub(crate) rejected: Vec<SocketId>,
    /// Ack ids registered per recipient (to clean up after a timeout).
    pub(crate) pending: Vec<(Arc<SocketShared>, u64)>,
    /// Recipients whose event was not queued (volatile drop, full, closing).
    pub(crate) not_queued: Vec<SocketId>,
}

/// Namespace: fan `event` out to `target`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Broadcast {
    pub(crate) event: Arc<Event>,
    pub(crate) target: Target,
    pub(crate) volatile: bool,
    pub(crate) ack: Option<BroadcastTx>,
    pub(crate) report: Option<oneshot::Sender<FanoutReport>>,
}

/// What a [`Select`] does with the selected sockets.
pub(crate) enum SelectOp {
    Fetch(oneshot::Sender<Vec<Socket>>),
    Join(Vec<String>),
    Leave(String),
    Disconnect,
}

/// Namespace: apply `op` to the sockets `target` selects.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Select {
    pub(crate) target: Target,
    pub(crate) op: SelectOp,
}

/// Namespace: the socket actor finished its `disconnecting` handlers.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct SocketClosed {
    pub(crate) socket: SocketId,
    /// Set when the server side closed the socket: the namespace queues
    /// `Outbound::Disconnect` after everything this socket's handlers
    /// emitted or answered before closing.
    pub(crate) disconnect: Option<DisconnectReason>,
}

/// Namespace: queue the server side's answer to a client's ack request,
/// in order with the socket's emits (they share this mailbox).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct AckToClient {
    pub(crate) socket: Arc<SocketShared>,
    pub(crate) ack_id: u64,
    pub(crate) payload: crate::payload::Payload,
}

/// Namespace: an at-least-once event was acknowledged.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct ReliableAck {
    pub(crate) client: String,
    pub(crate) seq: u64,
}

/// Namespace: disconnect everyone (`server shutting down`).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// Socket: the client emitted an event.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct ClientEvent {
    pub(crate) event: Event,
    pub(crate) ack_id: Option<u64>,
}

/// Socket: close with `reason` (runs the disconnect handlers).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Close {
    pub(crate) reason: DisconnectReason,
}

/// Room: `socket` joined (already applied by the namespace).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct RoomJoined {
    pub(crate) socket: SocketId,
}

/// Room: `socket` left; `last` when the room is now empty (the actor stops).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct RoomLeft {
    pub(crate) socket: SocketId,
    pub(crate) last: bool,
}

/// Room: describe yourself.
#[derive(Message, Debug)]
#[rtype(result = "crate::room::RoomInfo")]
pub(crate) struct RoomInfoRequest;

/// Namespace: the address of a room's actor, if the room exists.
#[derive(Message, Debug)]
#[rtype(result = "Option<actix::Addr<crate::room::RoomActor>>")]
pub(crate) struct RoomLookup {
    pub(crate) room: String,
}
