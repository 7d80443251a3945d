//! Fan-out shards: the part of a broadcast that one worker thread performs.
//!
//! Each bus worker runs one dispatcher actor (`dispatch.rs`), and each
//! in-process client belongs to one of them: its *shard*. The namespace
//! actor stays the single ordering point (joins, leaves and broadcasts are
//! applied in its mailbox order) but does not push into in-process
//! clients' queues itself: for each broadcast it sends every shard that has
//! recipients one [`Deliver`] message (the shared event plus that shard's
//! recipients), and the shard, on its own thread, pushes into each
//! recipient's bounded queue under the namespace's full-queue policy and
//! then drains and runs the clients in the same pass. A queue is therefore
//! written and read on one core, and the two sides of the fan-out run on
//! all workers at once instead of on the namespace thread plus one other.
//!
//! Order: a socket belongs to one shard for its whole life and every
//! broadcast reaches that shard through its one mailbox in the namespace's
//! order, so per-room and per-sender order hold. Remote (gateway)
//! connections are pushed by the namespace directly, as before: their
//! queues are drained by the transport, and pushing them synchronously
//! keeps "applied by the namespace" meaning "queued".
//!
//! Owns the shard-side pushes and the merging of emit reports from several
//! shards; it must not decide who is targeted (the namespace does) nor run
//! handlers (the dispatcher does).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use actix::Message;
use futures::channel::oneshot;

use crate::config::FullQueuePolicy;
use crate::connection::SocketShared;
use crate::dispatch::SCRATCH;
use crate::id::SocketId;
use crate::messages::FanoutReport;
use crate::metrics::Counters;
use crate::namespace_actor::Fanout;
use crate::payload::Event;
use crate::queue::Outbound;

const WARM_CHUNK: usize = 8;

/// Brings the next recipients' lines into cache with plain loads, all
/// independent, so their misses overlap instead of being taken one by one.
fn warm(chunk: &[Arc<SocketShared>]) {
    let mut acc = 0usize;
    for s in chunk {
        acc = acc.wrapping_add(usize::from(s.ns_closing.load(Ordering::Relaxed)));
        acc = acc.wrapping_add(usize::from(s.outbound.is_empty()));
        acc = acc.wrapping_add(usize::from(s.consumer.get().is_some()));
    }
    std::hint::black_box(acc);
}

/// The recipients of one broadcast on one shard.
pub(crate) enum Recipients {
    /// A room's in-process members on this shard: the namespace's cached
    /// snapshot, shared (no list is built per broadcast); no acks.
    Room(Arc<[Arc<SocketShared>]>),
    /// Recipients selected one by one, with the ack id each one answers.
    Listed(Vec<(Arc<SocketShared>, Option<u64>)>),
}

/// One shard's part of one broadcast.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Deliver {
    pub(crate) event: Arc<Event>,
    pub(crate) recipients: Recipients,
    /// The sender, skipped (`socket.broadcast()`).
    pub(crate) skip: Option<Arc<SocketShared>>,
    pub(crate) volatile: bool,
    pub(crate) policy: FullQueuePolicy,
    pub(crate) counters: Arc<Counters>,
    pub(crate) report: Option<Arc<ReportSink>>,
}

impl Deliver {
    /// Calls `f` with each recipient and its ack id.
    fn for_each(&self, mut f: impl FnMut(&Arc<SocketShared>, Option<u64>)) {
        match &self.recipients {
            Recipients::Room(members) => {
                for chunk in members.chunks(WARM_CHUNK) {
                    warm(chunk);
                    for s in chunk {
                        if self.skip.as_ref().is_some_and(|k| Arc::ptr_eq(k, s)) {
                            continue;
                        }
                        f(s, None);
                    }
                }
            }
            Recipients::Listed(list) => {
                for (s, ack_id) in list {
                    f(s, *ack_id);
                }
            }
        }
    }
}

/// Performs `msg` on the current (shard) thread: each recipient's event
/// is pushed and, for an attached in-process client, the client is run at
/// once (its queue, handlers and state are still in this core's cache).
/// `scratch` receives the handled items (see `Ready::run` in `dispatch.rs`).
pub(crate) fn deliver(msg: Deliver, scratch: &mut Vec<Outbound>) {
    let mut report = FanoutReport::default();
    let mut fanout = Fanout::new(msg.policy, &msg.counters);
    msg.for_each(|shared, ack_id| {
        // Nothing queued before it, and the client is attached: run its
        // handlers straight from the socket's table (pushing and draining
        // would be the same, at the cost of a lock round trip and of
        // reaching the client). The queue is empty, so no bound is exceeded.
        if shared.consumer.get().is_some()
            && shared.outbound.is_empty()
            && !shared.ns_closing.load(Ordering::Relaxed)
        {
            // Handlers' panics are caught inside; this guards the shard's
            // other clients against anything else, as `run` is guarded.
            match catch_unwind(AssertUnwindSafe(|| {
                crate::client::deliver_direct(shared, &msg.event, ack_id)
            })) {
                Ok(true) => {
                    fanout.handed(&mut report);
                    return;
                }
                Ok(false) => {}
                Err(_) => {
                    tracing::error!("in-process client delivery panicked; the event is lost");
                    fanout.handed(&mut report);
                    return;
                }
            }
        }
        let item = Outbound::Event {
            event: msg.event.clone(),
            ack_id,
            delivery: None,
        };
        let Some(client) = shared.consumer.get().and_then(Weak::upgrade) else {
            // Not attached yet (or gone): the wake schedules it.
            fanout.push(shared, item, msg.volatile, &mut report);
            return;
        };
        if fanout.push_waking(shared, item, msg.volatile, false, &mut report) {
            // Handlers' panics are caught inside `run`.
            if catch_unwind(AssertUnwindSafe(|| client.run(scratch))).is_err() {
                tracing::error!("in-process client batch panicked; the client's batch is lost");
                scratch.clear();
            }
            if scratch.len() >= SCRATCH {
                scratch.clear();
            }
        }
    });
    fanout.finish();
    if let Some(sink) = &msg.report {
        sink.add(report);
    }
}

/// One item for one in-process socket (an ack answer, or the server side's
/// `Disconnect`), relayed through the socket's shard so that it keeps its
/// place behind the broadcasts the shard has not performed yet.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Relay {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) item: Outbound,
    /// Make room by evicting the oldest item: a `Disconnect` is never lost.
    pub(crate) evict: bool,
    pub(crate) policy: FullQueuePolicy,
    pub(crate) counters: Arc<Counters>,
}

/// Performs `msg` on the current (shard) thread: queues the item under the
/// namespace's policy (or evicting, for a `Disconnect`) and wakes the client.
pub(crate) fn relay(msg: Relay) {
    if msg.evict {
        let _ = msg.shared.outbound.push_evicting(msg.item);
        return;
    }
    let mut report = FanoutReport::default();
    let mut fanout = Fanout::new(msg.policy, &msg.counters);
    fanout.push(&msg.shared, msg.item, false, &mut report);
    fanout.finish();
}

/// The shard's mailbox was full (its thread lags behind): every recipient
/// is treated as if its queue were full, without eviction (the new event
/// is the one lost), and counted.
pub(crate) fn refuse(msg: Deliver) {
    tracing::warn!("fan-out shard lagging: treating its recipients' queues as full");
    let mut report = FanoutReport::default();
    let mut fanout = Fanout::new(msg.policy, &msg.counters);
    msg.for_each(|shared, ack_id| {
        let item = Outbound::Event {
            event: msg.event.clone(),
            ack_id,
            delivery: None,
        };
        fanout.full(shared, item, msg.volatile, false, &mut report);
    });
    fanout.finish();
    if let Some(sink) = &msg.report {
        sink.add(report);
    }
}

/// Collects the report parts of one broadcast (the namespace's and each
/// shard's) and sends the merged report when the last part arrives.
pub(crate) struct ReportSink {
    state: Mutex<SinkState>,
}

struct SinkState {
    report: FanoutReport,
    parts: usize,
    tx: Option<oneshot::Sender<FanoutReport>>,
}

impl ReportSink {
    /// A sink expecting `parts` parts.
    pub(crate) fn new(tx: oneshot::Sender<FanoutReport>, parts: usize) -> Self {
        ReportSink {
            state: Mutex::new(SinkState {
                report: FanoutReport::default(),
                parts,
                tx: Some(tx),
            }),
        }
    }

    /// Adds one part; the last one sends the report.
    pub(crate) fn add(&self, part: FanoutReport) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.report.queued += part.queued;
        st.report.rejected.extend(part.rejected);
        st.report.pending.extend(part.pending);
        st.report.not_queued.extend(part.not_queued);
        st.parts = st.parts.saturating_sub(1);
        if st.parts == 0 {
            let mut report = std::mem::take(&mut st.report);
            let tx = st.tx.take();
            drop(st);
            finalize(&mut report);
            if let Some(tx) = tx {
                let _ = tx.send(report);
            }
        }
    }
}

/// Recipients whose event never got queued are not waited for.
pub(crate) fn finalize(report: &mut FanoutReport) {
    if !report.not_queued.is_empty() {
        let nq: std::collections::HashSet<&SocketId> = report.not_queued.iter().collect();
        report.pending.retain(|(s, _)| !nq.contains(&s.id));
    }
}
