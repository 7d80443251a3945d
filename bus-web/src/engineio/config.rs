//! Settings of one Engine.IO mount.
//!
//! This module owns [`EngineConfig`] and [`CorsOrigins`]. It must not touch
//! sessions or HTTP handling; it only holds values and answers "is this
//! origin allowed".

use std::time::Duration;

/// Which browser origins may use the long-polling transport with
/// credentials (CORS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers are sent (same-origin pages and non-browser clients
    /// still work).
    #[default]
    None,
    /// Every origin (`*`): the request's `Origin` is echoed back with
    /// `Access-Control-Allow-Credentials: true`.
    Any,
    /// Exactly these origins, such as `http://localhost:8080`.
    List(Vec<String>),
}

impl CorsOrigins {
    /// Whether a request from `origin` gets CORS headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::engineio::CorsOrigins;
    /// let cors = CorsOrigins::List(vec!["http://a.test".into()]);
    /// assert!(cors.allows("http://a.test"));
    /// assert!(!cors.allows("http://b.test"));
    /// assert!(CorsOrigins::Any.allows("http://b.test"));
    /// ```
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::List(origins) => origins.iter().any(|allowed| allowed == origin),
        }
    }
}

/// Settings of one Engine.IO mount.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use bus_web::engineio::{CorsOrigins, EngineConfig};
///
/// let config = EngineConfig {
///     path: "/engine.io/".into(),
///     ping_interval: Duration::from_millis(300),
///     ping_timeout: Duration::from_millis(200),
///     cors: CorsOrigins::Any,
///     ..EngineConfig::default()
/// };
/// assert_eq!(config.max_payload, 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The request path, with its trailing slash (default `/socket.io/`).
    /// The same path without the trailing slash is served too.
    pub path: String,
    /// Time between two server pings (default 25 s).
    pub ping_interval: Duration,
    /// Time the server waits for a pong before closing (default 20 s).
    pub ping_timeout: Duration,
    /// The largest POST body or WebSocket message accepted, in bytes
    /// (default 1 000 000); a larger POST gets 413, a larger WebSocket
    /// message closes that connection.
    pub max_payload: usize,
    /// How much a session buffers for its client, in encoded bytes (default
    /// 4 000 000). At this mark the session stops pulling from
    /// [`EngineHandler::drain_outbound`](super::EngineHandler::drain_outbound),
    /// so a slow client pushes back on the upper layer's own bounded queue;
    /// direct [`EngineSession::send`](super::EngineSession::send)s past twice
    /// this mark close the session with
    /// [`CloseReason::BufferFull`](super::CloseReason::BufferFull).
    pub max_buffer_bytes: usize,
    /// How long a WebSocket write may stay unfinished while the buffer is
    /// full (default 10 s); past it the client is taken to have stopped
    /// reading and the session is closed with
    /// [`CloseReason::BufferFull`](super::CloseReason::BufferFull).
    pub write_timeout: Duration,
    /// Time a started WebSocket upgrade may take before the new connection
    /// is dropped (default 10 s).
    pub upgrade_timeout: Duration,
    /// Whether clients may upgrade from polling to WebSocket (default true).
    pub allow_upgrades: bool,
    /// CORS origins for the long-polling transport.
    pub cors: CorsOrigins,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            path: "/socket.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            max_buffer_bytes: 4_000_000,
            write_timeout: Duration::from_millis(10_000),
            upgrade_timeout: Duration::from_millis(10_000),
            allow_upgrades: true,
            cors: CorsOrigins::None,
        }
    }
}
