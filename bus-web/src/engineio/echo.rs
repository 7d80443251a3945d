//! The echo handler: the bare Engine.IO server of the protocol test suite.
//!
//! This module owns [`EchoHandler`], which sends every message back, text
//! or binary. It must not touch anything but its own sessions.

use super::handler::{CloseReason, EngineHandler, EngineSession};
use super::packet::EngineMessage;

/// Sends every message back to the session it came from, text or binary,
/// as the Engine.IO test-suite server does.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use actix_web::{App, HttpServer};
/// use bus_web::engineio::{EchoHandler, EngineConfig, EngineIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let config = EngineConfig { path: "/engine.io/".into(), ..EngineConfig::default() };
/// let engine = EngineIo::new(config, Arc::new(EchoHandler));
/// HttpServer::new(move || App::new().configure(engine.configure()))
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoHandler;

impl EngineHandler for EchoHandler {
    fn on_open(&self, session: &EngineSession) {
        tracing::debug!(sid = session.sid(), "echo session open");
    }

    fn on_message(&self, session: &EngineSession, message: EngineMessage) {
        if let Err(error) = session.send(message) {
            tracing::debug!(sid = session.sid(), %error, "echo dropped");
        }
    }

    fn drain_outbound(&self, _session: &EngineSession, _out: &mut Vec<EngineMessage>) {}

    fn on_close(&self, session: &EngineSession, reason: CloseReason) {
        tracing::debug!(sid = session.sid(), %reason, "echo session closed");
    }
}
