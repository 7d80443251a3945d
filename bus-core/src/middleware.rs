//! Connect middleware: functions that accept or reject a handshake.
//!
//! Owns the middleware type and how it is run (in order, panics caught);
//! it must not touch sockets or rooms.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::connection::Handshake;
use crate::error::ConnectError;

/// A connect middleware: `Ok(())` lets the socket in, `Err` rejects it with
/// a message and optional data (sent to a remote client as CONNECT_ERROR).
pub type Middleware = Arc<dyn Fn(&Handshake) -> Result<(), ConnectError> + Send + Sync>;

/// Runs `chain` in order; the first rejection wins. A panicking middleware
/// rejects the connection with "middleware failed".
pub(crate) fn run(chain: &[Middleware], handshake: &Handshake) -> Result<(), ConnectError> {
    for m in chain {
        match catch_unwind(AssertUnwindSafe(|| m(handshake))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                tracing::error!("connect middleware panicked; rejecting the connection");
                return Err(ConnectError::new("middleware failed"));
            }
        }
    }
    Ok(())
}
