//! The interface between the Engine.IO layer and the layer above it.
//!
//! This module owns [`EngineHandler`] (what the upper layer implements),
//! [`EngineSession`] (the handle the upper layer gets for one session) and
//! [`CloseReason`]. It must not touch transports or the wire format: the
//! session actor in `session.rs` drives a handler through this trait only.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use actix::Addr;

use super::packet::EngineMessage;
use super::session::{CloseAfterFlush, CloseSession, Notify, Push, Session};

/// What the layer above Engine.IO (Socket.IO, or the bare echo server)
/// implements to receive messages and to feed outbound ones.
///
/// Every method is called from the session's actor, one call at a time per
/// session, so an implementation never sees two calls for the same session
/// at once. Calls must not block: use `try_send`-style operations only.
///
/// Outbound traffic is *pull-based*: when the upper layer has something for a
/// session it calls [`EngineSession::notify`] (cheap, coalesced); the session
/// then calls [`EngineHandler::drain_outbound`] once and writes everything
/// pushed there in one batch (one WebSocket handler call writing many frames,
/// or one long-polling response carrying the whole payload).
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{CloseReason, EngineHandler, EngineMessage, EngineSession};
///
/// /// Answers every text message with its length.
/// #[derive(Debug)]
/// struct Lengths;
///
/// impl EngineHandler for Lengths {
///     fn on_open(&self, session: &EngineSession) {
///         tracing::debug!(sid = session.sid(), "open");
///     }
///     fn on_message(&self, session: &EngineSession, message: EngineMessage) {
///         if let EngineMessage::Text(text) = message {
///             let _ = session.send(EngineMessage::text(text.len().to_string()));
///         }
///     }
///     fn drain_outbound(&self, _session: &EngineSession, _out: &mut Vec<EngineMessage>) {}
///     fn on_close(&self, session: &EngineSession, reason: CloseReason) {
///         tracing::debug!(sid = session.sid(), %reason, "closed");
///     }
/// }
/// ```
pub trait EngineHandler: Send + Sync + 'static {
    /// The handshake is done: the open packet has been sent (WebSocket) or is
    /// being returned (long-polling). Called exactly once, before any other
    /// method for this session.
    fn on_open(&self, session: &EngineSession);

    /// The client sent a message packet (Engine.IO type `4`, or a binary
    /// WebSocket frame / `b`-prefixed polling packet).
    fn on_message(&self, session: &EngineSession, message: EngineMessage);

    /// Whether the handler can take the client's next message.
    ///
    /// Called after every [`EngineHandler::on_message`]. A handler that
    /// could not hand a message on (its consumer's bounded queue is full)
    /// keeps it and returns `false`: the session then reads nothing more
    /// from this client (a WebSocket connection stops reading, so TCP pushes
    /// back on the client; a long-polling POST is answered only once all it
    /// carried was taken) and calls this again, with backoff, until it
    /// returns `true`. Each call should retry handing the kept message on.
    /// Nothing the client sent is dropped. The default takes everything.
    fn inbound_ready(&self, session: &EngineSession) -> bool {
        let _ = session;
        true
    }

    /// Push every message that is ready for this session into `out`.
    ///
    /// Called by the session after [`EngineSession::notify`] (at most once per
    /// notification batch). Everything pushed is written in one batch. While
    /// the session's buffer is at [`EngineConfig::max_buffer_bytes`] it does
    /// not call this (the notification stays pending until the client has
    /// read), so what is not pushed stays in the upper layer's own bounded
    /// queue; a WebSocket client that stops reading is closed with
    /// [`CloseReason::BufferFull`] after [`EngineConfig::write_timeout`].
    ///
    /// [`EngineConfig::max_buffer_bytes`]: super::EngineConfig::max_buffer_bytes
    /// [`EngineConfig::write_timeout`]: super::EngineConfig::write_timeout
    fn drain_outbound(&self, session: &EngineSession, out: &mut Vec<EngineMessage>);

    /// The session is gone. Called exactly once per session, whatever the
    /// exit path (client close, ping timeout, transport error, parse error,
    /// server shutdown, [`EngineSession::close`]). No method is called for
    /// this session afterwards.
    fn on_close(&self, session: &EngineSession, reason: CloseReason);
}

/// Why a session ended. Passed once to [`EngineHandler::on_close`].
///
/// [`CloseReason::as_socketio_reason`] maps it to the disconnect reason
/// names that Socket.IO uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent a close packet (`1`) or closed its WebSocket.
    ClientClose,
    /// The transport failed: a WebSocket protocol error or oversized frame,
    /// an aborted long-polling request, or overlapping polling requests.
    TransportError,
    /// The client sent something that is not a valid packet.
    ParseError,
    /// No pong arrived within `pingTimeout` after a ping.
    PingTimeout,
    /// The client stopped reading: its buffer stayed at `max_buffer_bytes`
    /// for `write_timeout`, or direct sends overflowed it.
    BufferFull,
    /// The server is shutting down ([`EngineIo::shutdown`](super::EngineIo::shutdown)).
    ServerShutdown,
    /// The upper layer closed the session with [`EngineSession::close`];
    /// the string is its own reason (for example `"forced close"`).
    Server(String),
}

impl CloseReason {
    /// The Socket.IO disconnect reason for this close.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::engineio::CloseReason;
    /// assert_eq!(CloseReason::PingTimeout.as_socketio_reason(), "ping timeout");
    /// assert_eq!(CloseReason::ClientClose.as_socketio_reason(), "transport close");
    /// ```
    pub fn as_socketio_reason(&self) -> &str {
        match self {
            Self::ClientClose => "transport close",
            Self::TransportError | Self::BufferFull => "transport error",
            Self::ParseError => "parse error",
            Self::PingTimeout => "ping timeout",
            Self::ServerShutdown => "server shutting down",
            Self::Server(reason) => reason,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferFull => f.write_str("outbound buffer full"),
            other => f.write_str(other.as_socketio_reason()),
        }
    }
}

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling (possibly while a WebSocket upgrade is being probed).
    Polling,
    /// WebSocket, either from the start or after an upgrade.
    WebSocket,
}

/// Why [`EngineSession::send`] could not queue a message; the message is
/// handed back.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The session's mailbox is full; retry later or use
    /// [`EngineSession::notify`] with [`EngineHandler::drain_outbound`],
    /// which never queues per message.
    #[error("session mailbox is full; retry later or use notify() and drain_outbound()")]
    Full(EngineMessage),
    /// The session is closed; drop the message.
    #[error("session is closed; drop the message")]
    Closed(EngineMessage),
}

impl SendError {
    /// The message that could not be queued.
    pub fn into_inner(self) -> EngineMessage {
        match self {
            Self::Full(message) | Self::Closed(message) => message,
        }
    }
}

/// The HTTP request that opened a session (the polling handshake GET or the
/// direct WebSocket connect), for the upper layer's own handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// Query parameters (`EIO`, `transport`, `t` and the client's own);
    /// shared with the handshake of every Socket.IO socket of the session.
    pub query: Arc<HashMap<String, String>>,
    /// Headers, with lowercase names; repeated headers joined with `, `.
    /// Shared like `query`.
    pub headers: Arc<HashMap<String, String>>,
    /// The peer's address, if known.
    pub address: Option<SocketAddr>,
}

pub(crate) const TRANSPORT_POLLING: u8 = 0;
pub(crate) const TRANSPORT_WEBSOCKET: u8 = 1;

pub(crate) struct SessionShared {
    pub(crate) sid: Arc<str>,
    pub(crate) request: HandshakeRequest,
    pub(crate) addr: Addr<Session>,
    /// Set by the notify that schedules a drain; cleared by the session
    /// right before it calls `drain_outbound`.
    pub(crate) scheduled: AtomicBool,
    pub(crate) transport: AtomicU8,
    pub(crate) closed: AtomicBool,
}

/// A cheap, cloneable handle to one Engine.IO session, usable from any
/// thread.
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{EngineMessage, EngineSession};
///
/// fn greet(session: &EngineSession) {
///     if let Err(error) = session.send(EngineMessage::text("hello")) {
///         tracing::debug!(%error, "greeting dropped");
///     }
/// }
/// ```
#[derive(Clone)]
pub struct EngineSession {
    pub(crate) shared: Arc<SessionShared>,
}

impl EngineSession {
    /// The session id (the `sid` of the handshake).
    pub fn sid(&self) -> &str {
        &self.shared.sid
    }

    /// The request that opened the session (query, headers, peer address).
    pub fn request(&self) -> &HandshakeRequest {
        &self.shared.request
    }

    /// The transport the session currently writes to.
    pub fn transport(&self) -> TransportKind {
        match self.shared.transport.load(Ordering::Acquire) {
            TRANSPORT_WEBSOCKET => TransportKind::WebSocket,
            _ => TransportKind::Polling,
        }
    }

    /// Whether the session has been closed (or is closing).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Tell the session that outbound messages are ready; it will call
    /// [`EngineHandler::drain_outbound`] once.
    ///
    /// Coalesced: only the call that finds the "scheduled" flag clear posts
    /// to the session's mailbox (with `try_send`, never blocking), so calling
    /// it once per queued event costs one atomic swap for all but the first.
    pub fn notify(&self) {
        if self.shared.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        // A full mailbox means the session has messages to process, and it
        // checks the flag after each of them, so the flag stays set.
        if let Err(actix::dev::SendError::Closed(_)) = self.shared.addr.try_send(Notify) {
            self.shared.scheduled.store(false, Ordering::Release);
        }
    }

    /// Queue one message for the client, for simple cases (echo, replies).
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when the session's mailbox is full,
    /// [`SendError::Closed`] when the session is gone; both hand the message
    /// back.
    pub fn send(&self, message: EngineMessage) -> Result<(), SendError> {
        match self.shared.addr.try_send(Push { message }) {
            Ok(()) => Ok(()),
            Err(actix::dev::SendError::Full(push)) => Err(SendError::Full(push.message)),
            Err(actix::dev::SendError::Closed(push)) => Err(SendError::Closed(push.message)),
        }
    }

    /// Close the session: the transport is closed and
    /// [`EngineHandler::on_close`] is called with `reason` (unless the
    /// session already ended for another reason).
    pub fn close(&self, reason: CloseReason) {
        // Closing is a control message, not fan-out: it must not be lost to
        // a full mailbox.
        self.shared.addr.do_send(CloseSession { reason });
    }

    /// Close the session once everything already queued for the client has
    /// been written (Engine.IO's graceful close: Socket.IO's
    /// `socket.conn.close()` waits for the write buffer the same way). A
    /// client that stops reading is still closed by the usual write timeout.
    pub fn close_after_flush(&self, reason: CloseReason) {
        self.shared.addr.do_send(CloseAfterFlush { reason });
    }
}

impl fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.sid())
            .field("transport", &self.transport())
            .field("closed", &self.is_closed())
            .finish()
    }
}
