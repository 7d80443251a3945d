//! Typed errors, one enum per operation.
//!
//! Owns error types only; it must not hold logic.

use crate::id::SocketId;

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
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The payload could not be serialised.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Recipients' outbound queues were full and the namespace policy is
    /// [`FullQueuePolicy::Reject`](crate::FullQueuePolicy::Reject). Raise
    /// [`NamespaceConfig::queue_capacity`](crate::NamespaceConfig::queue_capacity)
    /// or slow the emitter down. The event was delivered to every other recipient.
    #[error("outbound queue full for {} socket(s): raise NamespaceConfig::queue_capacity or emit more slowly", sockets.len())]
    QueueFull {
        /// Sockets that did not get the event.
        sockets: Vec<SocketId>,
    },
    /// The namespace's command mailbox is full; retry later or raise
    /// [`NamespaceConfig::command_capacity`](crate::NamespaceConfig::command_capacity).
    #[error("namespace is overloaded: retry later or raise NamespaceConfig::command_capacity")]
    Busy,
    /// The socket or the bus is closed.
    #[error("socket or bus is closed: reconnect before emitting")]
    Closed,
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
