//! The per-socket outbound queue: a bounded, lazily allocated FIFO of
//! [`Outbound`] items with a coalesced waker.
//!
//! Owns push/drain/wake mechanics; it must not decide policy (the namespace
//! does) nor know about transports.
//!
//! # Why a guarded `VecDeque` rather than a channel
//!
//! `crossbeam_channel::bounded(capacity)` allocates all `capacity` slots up
//! front (about 72 KB per socket with the default 1024 slots), and its list
//! flavour, used before, allocates a channel header and 2.3 KB blocks of 31
//! slots and costs two or three atomic read-modify-writes per push and per
//! pop. This queue is a `VecDeque` behind a `Mutex`: nothing is allocated
//! until the first item, an emptied queue gives back all but
//! `KEEP` (16) slots, a push is one uncontended lock round trip, and a drain
//! takes a whole batch under one lock. Both sides hold the lock only to
//! move items (never while a waker or handler runs), so no thread waits on
//! it for longer than a batch copy, and the bound is exact: a push never
//! finds more than `capacity` items and the
//! [`FullQueuePolicy`](crate::FullQueuePolicy) applies as with a bounded
//! channel (`try_send` semantics: a full queue hands the item back).
//!
//! The waker is coalesced with a `scheduled` flag kept under the same lock:
//! only the push that finds the consumer idle calls it, and a drain that
//! leaves items behind calls it again. In-process clients usually bypass
//! the queue altogether: their fan-out shard hands an event straight to the
//! client when nothing is queued before it (`shard.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::payload::{Event, Payload};
use crate::reason::DisconnectReason;
use crate::reliable::Gap;

/// Called once per batch when a socket's outbound queue becomes non-empty.
///
/// It must not block: typically it schedules a task or sends one message that
/// makes the consumer call [`Connection::drain`](crate::Connection::drain).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// At-least-once delivery metadata of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryInfo {
    /// The client's log epoch: sequence numbers restart when it changes
    /// (the log was forgotten after the client stayed away too long).
    pub epoch: u64,
    /// The event's sequence number for this client (stable across redeliveries).
    pub seq: u64,
    /// True when this is a redelivery (the client may already have it).
    pub redelivered: bool,
}

/// One item in a socket's outbound queue, consumed by the client side.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// An event for the client. `ack_id` is set when the server wants an
    /// answer (emit_with_ack) or an at-least-once acknowledgement: the client
    /// answers with [`Connection::ack_from_client`](crate::Connection::ack_from_client).
    Event {
        /// The shared event (same `Arc` for every recipient of a broadcast).
        event: Arc<Event>,
        /// The ack id to send with the event, if an answer is expected.
        ack_id: Option<u64>,
        /// At-least-once metadata.
        delivery: Option<DeliveryInfo>,
    },
    /// The server side's answer to an event the client emitted with an ack id.
    Ack {
        /// The client's ack id.
        ack_id: u64,
        /// The answer.
        payload: Payload,
    },
    /// The server side disconnected this socket; nothing follows.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// At-least-once: retention dropped events the client never
    /// acknowledged; sent before the events that follow, so the client
    /// never believes it has everything.
    Gap {
        /// Which sequence numbers were lost.
        gap: Gap,
        /// The log epoch the numbers belong to.
        epoch: u64,
    },
}

/// `len` first: a fan-out shard reads it next to the socket's other hot
/// fields (see `SocketShared`).
#[repr(C)]
pub(crate) struct OutboundQueue {
    /// `state.items.len()`, readable without the lock (written under it).
    len: AtomicUsize,
    state: Mutex<QueueState>,
    capacity: usize,
    waker: Waker,
}

struct QueueState {
    items: VecDeque<Outbound>,
    /// The waker was called and the consumer has not drained since.
    scheduled: bool,
}

/// Capacity an emptied queue keeps; a burst's larger buffer is given back.
const KEEP: usize = 16;

impl std::fmt::Debug for OutboundQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl OutboundQueue {
    pub(crate) fn new(capacity: usize, waker: Waker) -> Self {
        OutboundQueue {
            // No buffer until the first item (see the module docs).
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                scheduled: false,
            }),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            waker,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// True when nothing is queued. Only the consumer can make a non-empty
    /// queue empty, so the consumer may rely on a `true` answer: whatever
    /// is pushed after it comes after whatever the consumer does next.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues `item` unless the queue holds `capacity` items; on success
    /// wakes the consumer if it was idle. Returns the depth after the push,
    /// or the item back when the queue is full.
    pub(crate) fn push(&self, item: Outbound) -> Result<usize, Outbound> {
        self.push_waking(item, true)
    }

    /// As [`push`](Self::push); `wake: false` leaves the waker alone for a
    /// caller that drains the queue right after (a shard running its own
    /// client): the drain re-arms the flag and wakes if items remain.
    pub(crate) fn push_waking(&self, item: Outbound, wake: bool) -> Result<usize, Outbound> {
        let mut st = self.lock();
        if st.items.len() >= self.capacity {
            return Err(item);
        }
        st.items.push_back(item);
        let depth = st.items.len();
        self.len.store(depth, Ordering::Release);
        let call = wake && !std::mem::replace(&mut st.scheduled, true);
        drop(st);
        if call {
            (self.waker)();
        }
        Ok(depth)
    }

    /// Evicts the oldest item if the queue is full, then pushes (one step
    /// under the lock, so it cannot fail). Returns the evicted item.
    pub(crate) fn push_evicting(
        &self,
        item: Outbound,
    ) -> (Result<usize, Outbound>, Option<Outbound>) {
        let mut st = self.lock();
        let evicted = if st.items.len() >= self.capacity {
            st.items.pop_front()
        } else {
            None
        };
        st.items.push_back(item);
        let depth = st.items.len();
        self.len.store(depth, Ordering::Release);
        let call = !std::mem::replace(&mut st.scheduled, true);
        drop(st);
        if call {
            (self.waker)();
        }
        (Ok(depth), evicted)
    }

    /// Moves up to `max` items into `out`, then re-arms the waker; if items
    /// remain the waker is called again (from inside this call).
    pub(crate) fn drain(&self, out: &mut Vec<Outbound>, max: usize) -> usize {
        let mut st = self.lock();
        let n = st.items.len().min(max);
        out.extend(st.items.drain(..n));
        self.len.store(st.items.len(), Ordering::Release);
        let more = !st.items.is_empty();
        st.scheduled = more;
        if !more && st.items.capacity() > KEEP {
            st.items.shrink_to(KEEP);
        }
        drop(st);
        if more {
            (self.waker)();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Outbound {
        Outbound::Event {
            event: Arc::new(Event::new("e", Payload::empty())),
            ack_id: None,
            delivery: None,
        }
    }

    #[test]
    fn the_consumer_is_woken_once_per_batch_and_again_after_draining() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let q = OutboundQueue::new(
            8,
            Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
        );
        for _ in 0..5 {
            q.push(ev()).unwrap();
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let mut out = Vec::new();
        assert_eq!(q.drain(&mut out, 3), 3);
        // two remain: the drain re-arms and wakes again
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
        assert_eq!(q.drain(&mut out, 10), 2);
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
        q.push(ev()).unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_full_queue_hands_the_item_back_and_eviction_makes_room() {
        let q = OutboundQueue::new(2, Arc::new(|| {}));
        q.push(ev()).unwrap();
        q.push(ev()).unwrap();
        assert!(q.push(ev()).is_err());
        let (res, evicted) = q.push_evicting(ev());
        assert!(res.is_ok());
        assert!(evicted.is_some());
        assert_eq!(q.len(), 2);
    }
}
