//! Settings of one Socket.IO mount and the builder that makes it.
//!
//! Owns [`SocketIoConfig`] and [`SocketIoBuilder`]; it must not touch
//! sessions, sockets or HTTP handling (the gateway reads these values).

use std::time::Duration;

use crate::engineio::{CorsOrigins, EngineConfig};

use super::gateway::SocketIo;

/// Settings of one Socket.IO mount: the Engine.IO settings plus the
/// Socket.IO layer's own.
///
/// # Examples
///
/// ```
/// use bus_web::SocketIoConfig;
/// let config = SocketIoConfig::default();
/// assert_eq!(config.engine.path, "/socket.io/");
/// assert_eq!(config.connect_timeout.as_secs(), 45);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// The Engine.IO settings (path, heartbeat, `maxPayload`, CORS, ...).
    pub engine: EngineConfig,
    /// How long a new session may stay without joining any namespace before
    /// it is closed (Socket.IO's `connectTimeout`, default 45 s).
    pub connect_timeout: Duration,
    /// The most queued items taken from one namespace connection per flush
    /// (default 512); the rest follow in the next batch, so one busy socket
    /// cannot make a single write unbounded.
    pub max_batch: usize,
    /// The most bytes the binary attachments of one packet may add up to
    /// (default 10 000 000); a client sending more is closed with
    /// `parse error`. Each attachment is also bounded by `maxPayload`.
    pub max_attachment_bytes: usize,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            max_batch: 512,
            max_attachment_bytes: 10_000_000,
        }
    }
}

/// Builds a [`SocketIo`] gateway for a bus.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use bus_web::SocketIo;
///
/// # actix_rt::System::new().block_on(async {
/// let bus = bus_core::Bus::start();
/// let gateway = SocketIo::builder(bus)
///     .path("/realtime/")
///     .ping_interval(Duration::from_secs(10))
///     .ping_timeout(Duration::from_secs(5))
///     .connect_timeout(Duration::from_secs(5))
///     .build();
/// assert_eq!(gateway.config().engine.path, "/realtime/");
/// # });
/// ```
#[derive(Debug)]
pub struct SocketIoBuilder {
    pub(crate) bus: bus_core::Bus,
    pub(crate) config: SocketIoConfig,
}

impl SocketIoBuilder {
    pub(crate) fn new(bus: bus_core::Bus) -> Self {
        SocketIoBuilder {
            bus,
            config: SocketIoConfig::default(),
        }
    }

    /// The mount path (default `/socket.io/`); a trailing slash is added
    /// when missing.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.config.engine.path = path;
        self
    }

    /// Time between two server pings (default 25 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.engine.ping_interval = interval;
        self
    }

    /// Time the server waits for a pong before closing (default 20 s).
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.engine.ping_timeout = timeout;
        self
    }

    /// The largest message or POST body accepted, in bytes (default 1 000 000).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.engine.max_payload = bytes;
        self
    }

    /// How long a session may stay without joining a namespace (default 45 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The most bytes the attachments of one binary packet may add up to
    /// (default 10 000 000).
    pub fn max_attachment_bytes(mut self, bytes: usize) -> Self {
        self.config.max_attachment_bytes = bytes;
        self
    }

    /// Which browser origins get CORS headers on long-polling requests.
    pub fn cors(mut self, origins: CorsOrigins) -> Self {
        self.config.engine.cors = origins;
        self
    }

    /// Replaces every setting at once.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the gateway. Mount it with [`SocketIo::configure`].
    ///
    /// Call it inside an actix system (for example in `#[actix_web::main]`):
    /// sessions are actors.
    pub fn build(self) -> SocketIo {
        SocketIo::new(self.bus, self.config)
    }
}
