//! Per-namespace counters (atomics) and their snapshot.
//!
//! Owns counting only; it must not decide anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why an event did not reach a socket's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A volatile event met a full queue.
    Volatile,
    /// Policy `DropOldest` evicted the oldest queued item.
    Oldest,
    /// Policy `Reject` refused the event (the emitter got `QueueFull`).
    Rejected,
    /// Policy `Disconnect`: the event was dropped and the slow socket disconnected.
    SlowConsumer,
    /// At-least-once retention dropped an unacknowledged event (count or age).
    Retention,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sockets: AtomicU64,
    pub(crate) rooms: AtomicU64,
    pub(crate) emitted: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped_volatile: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) dropped_rejected: AtomicU64,
    pub(crate) dropped_slow: AtomicU64,
    pub(crate) dropped_retention: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) redelivered: AtomicU64,
    pub(crate) max_queue_depth: AtomicU64,
    pub(crate) retained: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        let c = match reason {
            DropReason::Volatile => &self.dropped_volatile,
            DropReason::Oldest => &self.dropped_oldest,
            DropReason::Rejected => &self.dropped_rejected,
            DropReason::SlowConsumer => &self.dropped_slow,
            DropReason::Retention => &self.dropped_retention,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn depth(&self, depth: usize) {
        self.max_queue_depth
            .fetch_max(depth as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, namespace: &str) -> NamespaceMetrics {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NamespaceMetrics {
            namespace: namespace.to_owned(),
            sockets: l(&self.sockets),
            rooms: l(&self.rooms),
            emitted: l(&self.emitted),
            delivered: l(&self.delivered),
            dropped: DroppedCounts {
                volatile: l(&self.dropped_volatile),
                oldest: l(&self.dropped_oldest),
                rejected: l(&self.dropped_rejected),
                slow_consumer: l(&self.dropped_slow),
                retention: l(&self.dropped_retention),
            },
            acked: l(&self.acked),
            redelivered: l(&self.redelivered),
            max_queue_depth: l(&self.max_queue_depth),
            retained: l(&self.retained),
        }
    }
}

/// Drops counted by [`DropReason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DroppedCounts {
    /// [`DropReason::Volatile`].
    pub volatile: u64,
    /// [`DropReason::Oldest`].
    pub oldest: u64,
    /// [`DropReason::Rejected`].
    pub rejected: u64,
    /// [`DropReason::SlowConsumer`].
    pub slow_consumer: u64,
    /// [`DropReason::Retention`].
    pub retention: u64,
}

impl DroppedCounts {
    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.volatile + self.oldest + self.rejected + self.slow_consumer + self.retention
    }
}

/// A snapshot of one namespace's counters, from [`Bus::metrics`](crate::Bus::metrics).
///
/// `delivered` counts events placed in a socket's outbound queue;
/// `emitted` counts emits (one per broadcast, however many recipients).
/// `dropped.retention` and `retained` (at-least-once) are refreshed by the
/// namespace's redelivery tick, so they may lag by up to a second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceMetrics {
    /// Namespace name.
    pub namespace: String,
    /// Connected sockets now.
    pub sockets: u64,
    /// Rooms now (including each socket's own room).
    pub rooms: u64,
    /// Emits (broadcasts) accepted.
    pub emitted: u64,
    /// Events placed in recipients' queues.
    pub delivered: u64,
    /// Drops by reason.
    pub dropped: DroppedCounts,
    /// Acknowledgements received from clients.
    pub acked: u64,
    /// At-least-once redeliveries.
    pub redelivered: u64,
    /// Largest outbound queue depth seen.
    pub max_queue_depth: u64,
    /// At-least-once: events retained now, waiting for their ack.
    pub retained: u64,
}
