//! Typed errors, one enum per operation.
//!
//! Owns error types only; it must not hold logic.

use std::sync::Arc;

use crate::id::SocketId;
use crate::payload::Event;

/// A payload could not be serialised.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// serde_json failed.
    #[error("payload could not be serialised to json: {0}")]
    Json(#[from] serde_json::Error),
    /// [`Payload::args`](crate::Payload::args) was given something that is not a sequence.
    #[error("several arguments must serialise to a json array: pass a tuple or use Payload::json for one argument")]
    NotAnArray,
}

/// A payload could not be decoded into the handler's type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// serde_json failed (malformed text or a type mismatch).
    #[error("payload does not match the expected type: {0}")]
    Json(#[from] serde_json::Error),
    /// The argument text is not a JSON array.
    #[error("payload arguments must be a json array")]
    NotAnArray,
}

/// Why an emit failed.
///
/// Like crossbeam's `SendError`, a failed emit hands the event back:
/// [`into_inner`](Self::into_inner) returns it so the caller can retry,
/// reroute or log it. Errors of operations that carry no event (joins,
/// leaves, selections, ack answers) and [`Encode`](Self::Encode) (the event
/// was never built) have none.
///
/// # Examples
///
/// ```
/// use bus_core::{Bus, EmitError};
/// let bus = Bus::start();
/// let ns = bus.of("/");
/// futures::executor::block_on(bus.shutdown());
/// # for _ in 0..500 { if ns.emit("warm", &0).is_err() { break } std::thread::sleep(std::time::Duration::from_millis(10)); }
/// let err = ns.emit("order", &42).unwrap_err();
/// assert!(matches!(err, EmitError::Closed { .. }));
/// let event = err.into_inner().expect("a failed emit hands the event back");
/// assert_eq!((event.name.as_str(), event.payload.args.as_str()), ("order", "[42]"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The payload could not be serialised.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Recipients' outbound queues were full and the namespace policy is
    /// [`FullQueuePolicy::Reject`](crate::FullQueuePolicy::Reject)
    /// (reported by [`emit_reported`](crate::BroadcastOperator::emit_reported)).
    /// Raise [`NamespaceConfig::queue_capacity`](crate::NamespaceConfig::queue_capacity)
    /// (the bound of each socket's queue), drain faster, or emit more slowly.
    ///
    /// What a full queue means for the recipient, by
    /// [`FullQueuePolicy`](crate::FullQueuePolicy) (as tokio documents
    /// `RecvError::Lagged`):
    ///
    /// | policy | what was dropped | still subscribed? | what it receives next |
    /// |---|---|---|---|
    /// | `Reject` (this error) | this event, for the sockets named in `sockets` only; nothing already queued | yes: connected and in its rooms | what was queued before, then the next event that finds room; no marker of the miss |
    /// | `DropOldest` (never this error) | the oldest item in that socket's queue (an ack it carried fails with [`AckError::NotDelivered`]) | yes | the rest of its queue, then this event |
    /// | `Disconnect` (never this error) | this event | no: disconnected with [`DisconnectReason::SlowConsumer`](crate::DisconnectReason::SlowConsumer) | what was queued before, then [`Outbound::Disconnect`](crate::Outbound::Disconnect), then nothing |
    ///
    /// Volatile events are dropped whatever the policy and are never reported.
    /// Every drop is counted in [`Bus::metrics`](crate::Bus::metrics) by reason.
    /// The event was delivered to every other recipient.
    #[error("outbound queue full for {} socket(s): raise NamespaceConfig::queue_capacity or emit more slowly", sockets.len())]
    QueueFull {
        /// Sockets that did not get the event.
        sockets: Vec<SocketId>,
        /// The event, handed back (see [`into_inner`](EmitError::into_inner)).
        event: Option<Box<Event>>,
    },
    /// A mailbox is full: the namespace's (server-side emits, joins) or the
    /// socket's (an in-process client's emits). Retry later, or raise
    /// [`NamespaceConfig::command_capacity`](crate::NamespaceConfig::command_capacity)
    /// or [`NamespaceConfig::inbound_capacity`](crate::NamespaceConfig::inbound_capacity).
    #[error("mailbox full: retry later, or raise NamespaceConfig::command_capacity (server emits) or inbound_capacity (client emits)")]
    Busy {
        /// The event, handed back (see [`into_inner`](EmitError::into_inner)).
        event: Option<Box<Event>>,
    },
    /// The socket or the bus is closed.
    #[error("socket or bus is closed: reconnect (or start the bus) before emitting")]
    Closed {
        /// The event, handed back (see [`into_inner`](EmitError::into_inner)).
        event: Option<Box<Event>>,
    },
}

impl EmitError {
    /// The event that was not sent, handed back (`None` for
    /// [`Encode`](Self::Encode) and for operations without an event).
    pub fn into_inner(self) -> Option<Event> {
        match self {
            EmitError::Encode(_) => None,
            EmitError::QueueFull { event, .. }
            | EmitError::Busy { event }
            | EmitError::Closed { event } => event.map(|e| *e),
        }
    }

    /// The event that was not sent, by reference.
    pub fn event(&self) -> Option<&Event> {
        match self {
            EmitError::Encode(_) => None,
            EmitError::QueueFull { event, .. }
            | EmitError::Busy { event }
            | EmitError::Closed { event } => event.as_deref(),
        }
    }

    pub(crate) fn busy() -> Self {
        EmitError::Busy { event: None }
    }

    pub(crate) fn closed() -> Self {
        EmitError::Closed { event: None }
    }

    /// Attaches `event` (taken out of its `Arc` when this was the last
    /// reference, cloned otherwise: the error path only).
    pub(crate) fn with_event(mut self, event: Option<Arc<Event>>) -> Self {
        let Some(event) = event else {
            return self;
        };
        let boxed = Some(Box::new(
            Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone()),
        ));
        match &mut self {
            EmitError::Encode(_) => {}
            EmitError::QueueFull { event, .. }
            | EmitError::Busy { event }
            | EmitError::Closed { event } => *event = boxed,
        }
        self
    }
}

/// Why waiting for an acknowledgement failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AckError {
    /// No answer arrived within the timeout; raise it with `timeout(d)`.
    #[error(
        "no acknowledgement before the timeout: raise the timeout or check the receiver's handler"
    )]
    Timeout,
    /// The socket closed before answering; every pending ack fails this way.
    #[error("socket closed before acknowledging")]
    Closed,
    /// The event never reached this recipient (volatile drop or full queue).
    ///
    /// [`EmitError::QueueFull`] describes what each full-queue policy drops.
    #[error("event was not queued for this socket: its queue was full")]
    NotDelivered,
    /// The event could not be sent (encoding failed or the receiver's mailbox is full).
    #[error("event could not be sent: {0}")]
    Send(String),
    /// The answer did not match the expected type.
    #[error("acknowledgement payload does not match the expected type: {0}")]
    Decode(String),
}

/// A connection was refused (by middleware or because the bus is gone).
///
/// The gateway sends `message` and `data` to the client as a Socket.IO
/// CONNECT_ERROR packet.
///
/// # Examples
///
/// ```
/// let err = bus_core::ConnectError::new("not authorized").with_data(serde_json::json!({"code": 401}));
/// assert_eq!(err.to_string(), "not authorized");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// Human-readable reason.
    pub message: String,
    /// Optional structured detail for the client.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A rejection with a message and no data.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds structured data for the client.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A client event or ack could not be handed to the server side.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// The socket's inbound mailbox is full: the client sends faster than its
    /// handlers run. Raise
    /// [`NamespaceConfig::inbound_capacity`](crate::NamespaceConfig::inbound_capacity)
    /// or close the connection.
    #[error("socket inbound mailbox full: slow the client down or raise NamespaceConfig::inbound_capacity")]
    Full,
    /// The socket is closed.
    #[error("socket is closed: reconnect")]
    Closed,
}
