//! Per-namespace settings: queue bounds, full-queue policy, delivery guarantee.
//!
//! Owns configuration values only.

use std::time::Duration;

use crate::reliable::AtLeastOnce;

/// What happens to a non-volatile event when a recipient's outbound queue is full.
///
/// Volatile events are always dropped (counted as `DropReason::Volatile`).
/// Whatever the policy, other sockets are never slowed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullQueuePolicy {
    /// Evict the oldest queued item to make room (counted as `Oldest`). The
    /// socket stays connected and receives the newest events.
    #[default]
    DropOldest,
    /// Refuse the event for that socket (counted as `Rejected`); the emitter
    /// sees [`EmitError::QueueFull`](crate::EmitError::QueueFull) when it
    /// asked for a report (`emit_reported`) or an ack.
    Reject,
    /// Drop the event and disconnect the slow socket with
    /// [`DisconnectReason::SlowConsumer`](crate::DisconnectReason::SlowConsumer)
    /// (counted as `SlowConsumer`).
    Disconnect,
}

/// The delivery guarantee of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryGuarantee {
    /// Events go to the sockets connected now; nothing is retained.
    #[default]
    AtMostOnce,
    /// Clients that connect with a persistent client id get every event
    /// until they acknowledge it (see [`AtLeastOnce`]). Clients without a
    /// client id are served at most once.
    AtLeastOnce(AtLeastOnce),
}

/// Settings of one namespace, fixed when it is created.
///
/// # Examples
///
/// ```
/// use bus_core::{NamespaceConfig, FullQueuePolicy};
/// let cfg = NamespaceConfig::default().queue_capacity(64).full_queue(FullQueuePolicy::Reject);
/// assert_eq!(cfg.queue_capacity, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// Capacity of each socket's outbound queue (default 1024). The queue
    /// allocates as items arrive, so an idle socket does not pay for its
    /// capacity. In-process clients are also fed through their worker's
    /// fan-out shard, which takes at most 4096 broadcasts in flight (all
    /// namespaces together); past that its recipients are treated as if
    /// their queues were full (the new event is the one dropped).
    pub queue_capacity: usize,
    /// What to do when a socket's queue is full (default `DropOldest`).
    pub full_queue: FullQueuePolicy,
    /// At-most-once (default) or at-least-once.
    pub delivery: DeliveryGuarantee,
    /// Capacity of each socket's inbound mailbox for client events (default 1024).
    pub inbound_capacity: usize,
    /// Capacity of the namespace actor's mailbox (joins, leaves, emits; default 65 536).
    pub command_capacity: usize,
    /// Default wait for acknowledgements when no `timeout(d)` is given (default 5 s).
    pub ack_timeout: Duration,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            queue_capacity: 1024,
            full_queue: FullQueuePolicy::DropOldest,
            delivery: DeliveryGuarantee::AtMostOnce,
            inbound_capacity: 1024,
            command_capacity: 65_536,
            ack_timeout: Duration::from_secs(5),
        }
    }
}

impl NamespaceConfig {
    /// Sets [`queue_capacity`](Self::queue_capacity).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets [`full_queue`](Self::full_queue).
    pub fn full_queue(mut self, policy: FullQueuePolicy) -> Self {
        self.full_queue = policy;
        self
    }

    /// Opts into at-least-once delivery.
    pub fn at_least_once(mut self, settings: AtLeastOnce) -> Self {
        self.delivery = DeliveryGuarantee::AtLeastOnce(settings);
        self
    }

    /// Sets [`ack_timeout`](Self::ack_timeout).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }
}
