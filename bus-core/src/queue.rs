//! The per-socket outbound queue: a bounded, lazily allocated FIFO of
//! [`Outbound`] items with a coalesced waker.
//!
//! Owns push/drain/wake mechanics; it must not decide policy (the namespace
//! does) nor know about transports.
//!
//! # Why a crossbeam list channel with a counted bound
//!
//! `crossbeam_channel::bounded(capacity)` allocates all `capacity` slots up
//! front: with the default 1024 slots of `Outbound` that is about 72 KB per
//! socket before the first event, most of the resident memory of an idle
//! connection, and it spreads a broadcast to 10 000 sockets over 700 MB of
//! slot arrays. The queue therefore uses the list flavour
//! (`crossbeam_channel::unbounded`), which allocates blocks of 31 slots only
//! as items arrive and frees each block once it is read, and enforces the
//! bound itself: every push first reserves a place in the atomic `len`
//! counter and hands the item back when `len` has reached `capacity`, so the
//! queue never holds more than `capacity` items and the
//! [`FullQueuePolicy`](crate::FullQueuePolicy) applies exactly as with a
//! bounded channel (`try_send` semantics). The channel itself (its header
//! is about 0.5 KB) is made by the first push, so a socket that has never
//! been sent anything costs no allocation here; a socket that has received
//! something keeps the header, and one block until it is drained past it.
//!
//! The waker is coalesced with an atomic `scheduled` flag: only the push
//! that finds the consumer idle calls it, and a drain that leaves items
//! behind calls it again. In-process clients usually bypass the queue
//! altogether: their fan-out shard hands an event straight to the client
//! when nothing is queued before it (`shard.rs`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender, TrySendError};

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
    /// Items queued or reserved by a push in progress; never above `capacity`.
    len: AtomicUsize,
    /// Made by the first push (see the module docs).
    channel: OnceLock<(Sender<Outbound>, Receiver<Outbound>)>,
    capacity: usize,
    /// The waker was called and the consumer has not drained since.
    scheduled: AtomicBool,
    waker: Waker,
}

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
        // The list flavour, made by the first push: nothing is allocated
        // until an item arrives; the bound is `len` (see the module docs).
        OutboundQueue {
            channel: OnceLock::new(),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            scheduled: AtomicBool::new(false),
            waker,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire).min(self.capacity)
    }

    /// True when nothing is queued or reserved. Only the consumer can make a
    /// non-empty queue empty, so the consumer may rely on a `true` answer:
    /// whatever is pushed after it comes after whatever the consumer does
    /// next.
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// Reserves a place and `try_send`s; on success wakes the consumer if it
    /// was idle. Returns the depth after the push, or the item back when the
    /// queue holds `capacity` items.
    pub(crate) fn push(&self, item: Outbound) -> Result<usize, Outbound> {
        self.push_waking(item, true)
    }

    /// As [`push`](Self::push); `wake: false` leaves the waker alone for a
    /// caller that drains the queue right after (a shard running its own
    /// client): the drain re-arms the flag and wakes if items remain.
    pub(crate) fn push_waking(&self, item: Outbound, wake: bool) -> Result<usize, Outbound> {
        let before = self.len.fetch_add(1, Ordering::SeqCst);
        if before >= self.capacity {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(item);
        }
        let (tx, _) = self.channel.get_or_init(crossbeam_channel::unbounded);
        match tx.try_send(item) {
            Ok(()) => {
                if wake {
                    self.wake();
                }
                Ok(before + 1)
            }
            // The receiver lives in `self`, so neither can happen; hand the
            // item back rather than lose it.
            Err(TrySendError::Full(item)) | Err(TrySendError::Disconnected(item)) => {
                self.len.fetch_sub(1, Ordering::AcqRel);
                Err(item)
            }
        }
    }

    fn pop(&self) -> Option<Outbound> {
        let (_, rx) = self.channel.get()?;
        let item = rx.try_recv().ok()?;
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some(item)
    }

    /// Evicts the oldest item to make room, then pushes. Returns the evicted item.
    pub(crate) fn push_evicting(
        &self,
        mut item: Outbound,
    ) -> (Result<usize, Outbound>, Option<Outbound>) {
        let mut evicted = None;
        for _ in 0..4 {
            match self.push(item) {
                Ok(d) => return (Ok(d), evicted),
                Err(back) => {
                    item = back;
                    if evicted.is_none() {
                        evicted = self.pop();
                    } else if let Some(more) = self.pop() {
                        // Should not happen with one producer; keep the first evicted for accounting.
                        drop(more);
                    }
                }
            }
        }
        (Err(item), evicted)
    }

    fn wake(&self) {
        if !self.scheduled.swap(true, Ordering::SeqCst) {
            (self.waker)();
        }
    }

    /// Moves up to `max` items into `out`, then re-arms the waker; if items
    /// remain (or arrived meanwhile) the waker is called again.
    pub(crate) fn drain(&self, out: &mut Vec<Outbound>, max: usize) -> usize {
        // `len` says how many items to take, so the drain needs no final
        // failing `try_recv` nor an `is_empty` check: both read the
        // channel's tail, which the producer is writing from another core.
        let want = self.len.load(Ordering::Acquire).min(max);
        let mut n = 0;
        // No channel yet: nothing was pushed, or the first push is still
        // making it (its reservation in `len` wakes the consumer again).
        let rx = self.channel.get().map(|(_, rx)| rx);
        while n < want {
            let Some(rx) = rx else { break };
            match rx.try_recv() {
                Ok(item) => {
                    out.push(item);
                    n += 1;
                }
                // Reserved by a push that has not sent yet: the check below
                // sees it in `len` and wakes the consumer again.
                Err(_) => break,
            }
        }
        self.scheduled.store(false, Ordering::SeqCst);
        // Read after clearing `scheduled`: either a concurrent push sees the
        // flag clear and wakes, or this sees its reservation and wakes.
        let before = if n > 0 {
            self.len.fetch_sub(n, Ordering::SeqCst)
        } else {
            self.len.load(Ordering::SeqCst)
        };
        if before > n {
            self.wake();
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
