//! Why a socket disconnected, with Socket.IO's reason names.
//!
//! Owns the reason vocabulary only.

use std::fmt;

/// Why a socket disconnected. [`as_str`](Self::as_str) gives Socket.IO's
/// reason names; `SlowConsumer` and `HandlerPanicked` are bus extensions (a
/// gateway reports them to a remote client as a server-side disconnect).
///
/// # Examples
///
/// ```
/// use bus_core::DisconnectReason;
/// assert_eq!(DisconnectReason::ClientNamespaceDisconnect.as_str(), "client namespace disconnect");
/// assert!(DisconnectReason::ServerShuttingDown.is_server_initiated());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server side called `disconnect` (or `disconnect_sockets`).
    ServerNamespaceDisconnect,
    /// The client called `disconnect`.
    ClientNamespaceDisconnect,
    /// The transport closed.
    TransportClose,
    /// The transport failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent something undecodable.
    ParseError,
    /// The bus is shutting down.
    ServerShuttingDown,
    /// The socket's outbound queue was full under `FullQueuePolicy::Disconnect`.
    SlowConsumer,
    /// A server-side handler of this socket panicked (the namespace lives on).
    HandlerPanicked,
    /// The server side closed the socket's underlying connection
    /// ([`Socket::close_transport`](crate::Socket::close_transport), Socket.IO's
    /// `socket.conn.close()`): see [`closes_transport`](Self::closes_transport).
    ForcedClose,
}

impl DisconnectReason {
    /// The reason's name (Socket.IO's where one exists).
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::SlowConsumer => "slow consumer",
            DisconnectReason::HandlerPanicked => "handler panicked",
            DisconnectReason::ForcedClose => "forced close",
        }
    }

    /// True when the server decided the disconnect, so the client must be told
    /// (an [`Outbound::Disconnect`](crate::Outbound::Disconnect) is queued).
    pub fn is_server_initiated(&self) -> bool {
        matches!(
            self,
            DisconnectReason::ServerNamespaceDisconnect
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::SlowConsumer
                | DisconnectReason::HandlerPanicked
                | DisconnectReason::ForcedClose
        )
    }

    /// True when a gateway must close the whole underlying connection (the
    /// Engine.IO session, and with it every namespace socket on it) instead
    /// of sending the namespace a DISCONNECT packet, as Socket.IO does for
    /// `socket.conn.close()`: the client then sees `transport close` and
    /// reconnects on its own, where after a DISCONNECT it would not.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_core::DisconnectReason;
    /// assert!(DisconnectReason::ForcedClose.closes_transport());
    /// assert!(DisconnectReason::ForcedClose.is_server_initiated());
    /// assert!(!DisconnectReason::ServerNamespaceDisconnect.closes_transport());
    /// ```
    pub fn closes_transport(&self) -> bool {
        matches!(self, DisconnectReason::ForcedClose)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
