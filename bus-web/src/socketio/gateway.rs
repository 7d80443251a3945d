//! The Socket.IO gateway: [`SocketIo`], the mountable endpoint, and the
//! [`EngineHandler`] that gives every Engine.IO session its Socket.IO state.
//!
//! Owns the lock-free registry of live sessions (sid → Socket.IO state) and
//! the session lifecycle (open, `connectTimeout`, close). It must not touch
//! Engine.IO framing or transports, nor decode packets itself (see
//! `connection.rs` and `packet.rs`).

use std::sync::Arc;

use actix_web::web;
use bus_core::{Bus, DisconnectReason};
use dashmap::DashMap;

use super::config::{SocketIoBuilder, SocketIoConfig};
use super::connection::SessionState;
use crate::engineio::{CloseReason, EngineHandler, EngineIo, EngineMessage, EngineSession};

/// The reason given to the Engine.IO session closed by `connectTimeout`.
pub const CONNECT_TIMEOUT_REASON: &str = "connect timeout";

/// A Socket.IO v5 endpoint that makes every browser socket a bus socket.
///
/// Each Socket.IO namespace connection becomes a bus-core socket through
/// `Namespace::connect_remote`: the CONNECT's auth payload goes through the
/// namespace's middleware, events and acks flow both ways, and a broadcast
/// reaches browser sockets and in-process sockets alike. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use actix_web::{App, HttpServer};
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let bus = bus_core::Bus::start();
///     bus.of("/").on_connection(|socket| {
///         socket.on("hello", |socket, name: String, _ack| {
///             let _ = socket.emit("greeting", &format!("hello, {name}"));
///         });
///     });
///     let gateway = bus_web::SocketIo::builder(bus.clone())
///         .ping_interval(Duration::from_secs(25))
///         .build();
///     // Serves Socket.IO at /socket.io/ next to the app's own routes.
///     HttpServer::new(move || App::new().configure(gateway.configure()))
///         .bind(("127.0.0.1", 3000))?
///         .run()
///         .await
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SocketIo {
    engine: EngineIo,
    gateway: Arc<Gateway>,
}

impl SocketIo {
    /// Starts building a gateway for `bus`.
    ///
    /// # Examples
    ///
    /// ```
    /// # actix_rt::System::new().block_on(async {
    /// let gateway = bus_web::SocketIo::builder(bus_core::Bus::start()).build();
    /// assert_eq!(gateway.config().engine.path, "/socket.io/");
    /// # });
    /// ```
    pub fn builder(bus: Bus) -> SocketIoBuilder {
        SocketIoBuilder::new(bus)
    }

    pub(crate) fn new(bus: Bus, config: SocketIoConfig) -> Self {
        let gateway = Arc::new(Gateway {
            bus,
            config: config.clone(),
            sessions: DashMap::new(),
        });
        let engine = EngineIo::new(config.engine, gateway.clone());
        SocketIo { engine, gateway }
    }

    /// A function for `App::configure` that mounts the endpoint at its path
    /// (default `/socket.io/`) in an existing actix-web `App`.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::{test, web, App};
    ///
    /// # actix_rt::System::new().block_on(async {
    /// let bus = bus_core::Bus::start();
    /// let gateway = bus_web::SocketIo::builder(bus).build();
    /// let app = test::init_service(
    ///     App::new()
    ///         .route("/health", web::get().to(|| async { "ok" }))
    ///         .configure(gateway.configure()),
    /// )
    /// .await;
    /// // An Engine.IO long-polling handshake answers with the open packet.
    /// let request = test::TestRequest::get()
    ///     .uri("/socket.io/?EIO=4&transport=polling")
    ///     .to_request();
    /// let body = test::call_and_read_body(&app, request).await;
    /// assert!(body.starts_with(b"0{\"sid\":"));
    /// gateway.shutdown();
    /// # });
    /// ```
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
        self.engine.configure()
    }

    /// The gateway's settings.
    pub fn config(&self) -> &SocketIoConfig {
        &self.gateway.config
    }

    /// How many Engine.IO sessions are live.
    pub fn session_count(&self) -> usize {
        self.gateway.sessions.len()
    }

    /// The underlying Engine.IO endpoint.
    pub fn engine(&self) -> &EngineIo {
        &self.engine
    }

    /// Closes every session: each namespace socket disconnects with
    /// `server shutting down`. Returns at once.
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }
}

/// The [`EngineHandler`] of a [`SocketIo`] endpoint.
pub(crate) struct Gateway {
    bus: Bus,
    config: SocketIoConfig,
    /// Live sessions. Entries are cloned out (`Arc`) and the guard dropped
    /// before anything else happens, so no guard is held across an
    /// `.await` or another access to the map.
    sessions: DashMap<Arc<str>, Arc<SessionState>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    fn state(&self, sid: &str) -> Option<Arc<SessionState>> {
        self.sessions
            .get(sid)
            .map(|entry| Arc::clone(entry.value()))
    }
}

impl EngineHandler for Gateway {
    fn on_open(&self, session: &EngineSession) {
        let state = Arc::new(SessionState::new(
            session.clone(),
            self.config.max_attachment_bytes,
        ));
        self.sessions
            .insert(Arc::from(session.sid()), Arc::clone(&state));
        let weak = Arc::downgrade(&state);
        let timeout = self.config.connect_timeout;
        let timer = actix_rt::spawn(async move {
            actix_rt::time::sleep(timeout).await;
            if let Some(state) = weak.upgrade() {
                if state.is_idle() {
                    tracing::debug!(
                        sid = state.engine().sid(),
                        "no namespace joined in time: closing"
                    );
                    state
                        .engine()
                        .close(CloseReason::Server(CONNECT_TIMEOUT_REASON.to_owned()));
                }
            }
        });
        state.set_connect_timer(timer);
    }

    fn on_message(&self, session: &EngineSession, message: EngineMessage) {
        let Some(state) = self.state(session.sid()) else {
            return;
        };
        if let Err(error) = state.on_message(&self.bus, message) {
            tracing::debug!(sid = session.sid(), %error, "invalid packet: closing the connection");
            session.close(CloseReason::ParseError);
        }
    }

    fn inbound_ready(&self, session: &EngineSession) -> bool {
        match self.state(session.sid()) {
            Some(state) => state.inbound_ready(),
            None => true,
        }
    }

    fn drain_outbound(&self, session: &EngineSession, out: &mut Vec<EngineMessage>) {
        if let Some(state) = self.state(session.sid()) {
            state.drain(out, self.config.max_batch);
        }
    }

    fn on_close(&self, session: &EngineSession, reason: CloseReason) {
        let Some((_, state)) = self.sessions.remove(session.sid()) else {
            return;
        };
        state.close(disconnect_reason(&reason));
    }
}

/// The Socket.IO disconnect reason of an Engine.IO close.
fn disconnect_reason(reason: &CloseReason) -> DisconnectReason {
    match reason {
        CloseReason::ClientClose => DisconnectReason::TransportClose,
        CloseReason::TransportError | CloseReason::BufferFull => DisconnectReason::TransportError,
        CloseReason::ParseError => DisconnectReason::ParseError,
        CloseReason::PingTimeout => DisconnectReason::PingTimeout,
        CloseReason::ServerShutdown => DisconnectReason::ServerShuttingDown,
        // A socket's `close_transport()` took the whole connection down.
        CloseReason::Server(reason) if reason == DisconnectReason::ForcedClose.as_str() => {
            DisconnectReason::ForcedClose
        }
        _ => DisconnectReason::ServerNamespaceDisconnect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_closes_map_to_socketio_reasons() {
        let cases = [
            (CloseReason::ClientClose, "transport close"),
            (CloseReason::TransportError, "transport error"),
            (CloseReason::BufferFull, "transport error"),
            (CloseReason::ParseError, "parse error"),
            (CloseReason::PingTimeout, "ping timeout"),
            (CloseReason::ServerShutdown, "server shutting down"),
            (
                CloseReason::Server(CONNECT_TIMEOUT_REASON.into()),
                "server namespace disconnect",
            ),
        ];
        for (close, name) in cases {
            assert_eq!(disconnect_reason(&close).as_str(), name, "{close:?}");
        }
    }
}
