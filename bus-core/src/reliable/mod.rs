//! At-least-once delivery: the pure state machine behind it.
//!
//! This module owns, per persistent client id, the log of sequenced events
//! that have not been acknowledged yet: sequence numbers, acknowledgements,
//! redelivery deadlines, retention (by count and by age) and the gap notices
//! that tell a client what retention dropped. It must not touch actors,
//! channels, wire formats or clocks: callers pass every `Instant` in, so the
//! whole behaviour is deterministic and tested without waiting.
//!
//! The namespace actor keeps one [`ClientLogs`] per namespace that opted in,
//! appends each event addressed to a client, drains what is sendable into
//! the socket's outbound queue, and forwards the client's acks.

mod config;
#[allow(
    dead_code,
    reason = "inspection helpers (attachment tokens, cumulative acks, sizes) are exercised by the unit tests; the namespace actor uses a subset"
)]
mod log;
#[allow(
    dead_code,
    reason = "registry inspection helpers are exercised by the unit tests; the namespace actor uses a subset"
)]
mod registry;

#[cfg(test)]
mod tests;

pub use config::{AtLeastOnce, Retention};
pub use log::Gap;
pub(crate) use log::{AckOutcome, ClientLog, Delivery, LogStats, Seq};
pub(crate) use registry::ClientLogs;
