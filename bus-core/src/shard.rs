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
use smallvec::SmallVec;

use crate::config::FullQueuePolicy;
use crate::connection::SocketShared;
use crate::dispatch::SCRATCH;
use crate::handlers::TableGuard;
use crate::id::SocketId;
use crate::messages::FanoutReport;
use crate::metrics::Counters;
use crate::namespace_actor::Fanout;
use crate::payload::Event;
use crate::queue::Outbound;

/// Recipients prepared together (see [`prepare`]); at most the handler
/// table guards `arc-swap` keeps on its fast path per thread.
const CHUNK: usize = 8;

/// Whether the event can go straight to `shared`'s handlers: an attached
/// in-process client with nothing queued before it.
fn takes_direct(shared: &SocketShared) -> bool {
    shared.consumer.get().is_some()
        && shared.outbound.is_empty()
        && !shared.ns_closing.load(Ordering::Relaxed)
}

/// Loads the handler tables of a chunk of a room's recipients, touching
/// on the way everything that running `event` on them will read.
///
/// A delivery is a chain of dependent reads (socket state, handler table,
/// handler), each one a cache miss when the room is large. Done recipient
/// by recipient, the misses are taken one after the other; done level by
/// level over a chunk, the reads of one level are independent and their
/// misses overlap. The reads whose result is not needed yet are summed
/// into a black box so they are not optimised away.
fn prepare(chunk: &[Arc<SocketShared>], event: &str) -> SmallVec<[Option<TableGuard>; CHUNK]> {
    let mut touched = 0usize;
    for s in chunk {
        touched = touched.wrapping_add(usize::from(takes_direct(s)));
    }
    let tables: SmallVec<[Option<TableGuard>; CHUNK]> = chunk
        .iter()
        .map(|s| takes_direct(s).then(|| s.client_table.load()))
        .collect();
    for table in tables.iter().flatten() {
        if let Some(handlers) = table.as_ref() {
            touched = touched.wrapping_add(handlers.touch(event));
        }
    }
    std::hint::black_box(touched);
    tables
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
    /// Calls `f` with each recipient, its ack id and, with `load_tables`
    /// for a room's members, the handler table loaded ahead (see
    /// [`prepare`]).
    fn for_each(
        &self,
        load_tables: bool,
        mut f: impl FnMut(&Arc<SocketShared>, Option<u64>, Option<&TableGuard>),
    ) {
        match &self.recipients {
            Recipients::Room(members) => {
                for chunk in members.chunks(CHUNK) {
                    let tables = if load_tables {
                        prepare(chunk, &self.event.name)
                    } else {
                        SmallVec::new()
                    };
                    for (i, s) in chunk.iter().enumerate() {
                        if self.skip.as_ref().is_some_and(|k| Arc::ptr_eq(k, s)) {
                            continue;
                        }
                        f(s, None, tables.get(i).and_then(Option::as_ref));
                    }
                }
            }
            Recipients::Listed(list) => {
                for (s, ack_id) in list {
                    f(s, *ack_id, None);
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
    msg.for_each(true, |shared, ack_id, table| {
        // Nothing queued before it, and the client is attached: run its
        // handlers straight from the socket's table (pushing and draining
        // would be the same, at the cost of a lock round trip and of
        // reaching the client). The queue is empty, so no bound is exceeded.
        if takes_direct(shared) {
            // Handlers' panics are caught inside; this guards the shard's
            // other clients against anything else, as `run` is guarded.
            match catch_unwind(AssertUnwindSafe(|| {
                crate::client::deliver_direct(shared, &msg.event, ack_id, table)
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
    msg.for_each(false, |shared, ack_id, _| {
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
