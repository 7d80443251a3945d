//! At-least-once bookkeeping of the namespace actor: attaching a returning
//! client, flushing its log into its queue (gap notice first, then events in
//! sequence order, each with an ack id), acks, the redelivery/retention tick,
//! and the rooms remembered for absent clients.
//!
//! Owns the glue between the namespace actor and the pure `reliable` log;
//! it must not fan out to ordinary sockets.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use actix::{Context, Handler};

use crate::ack::{PendingAck, Waiter};
use crate::id::SocketId;
use crate::messages::{ReliableAck, Target};
use crate::metrics::Counters;
use crate::namespace_actor::NamespaceActor;
use crate::payload::Event;
use crate::queue::{DeliveryInfo, Outbound};
use crate::reason::DisconnectReason;
use crate::reliable::{AckOutcome, Delivery};

impl NamespaceActor {
    /// Absent at-least-once clients `target` selects (by remembered rooms).
    pub(crate) fn select_away(&self, target: &Target) -> Vec<String> {
        let excluded = |cid: &String| {
            self.clients
                .get(cid)
                .is_some_and(|c| target.except.iter().any(|r| c.rooms.contains(r)))
        };
        let mut out: Vec<String> = if target.rooms.is_empty() {
            self.clients
                .iter()
                .filter(|(_, c)| c.socket.is_none())
                .map(|(id, _)| id.clone())
                .collect()
        } else {
            let set: HashSet<&String> = target
                .rooms
                .iter()
                .filter_map(|r| self.away_rooms.get(r))
                .flat_map(|s| s.iter())
                .collect();
            set.into_iter().cloned().collect()
        };
        out.retain(|c| !excluded(c));
        out
    }

    /// At-least-once: sends the client's gap notice and whatever its log
    /// has sendable, as far as its queue has room.
    /// Returns the ack id given to `waiter`'s event when it was queued now.
    pub(crate) fn flush(&mut self, client: &str, mut waiter: Option<(u64, Waiter)>) -> Option<u64> {
        let mut waiter_ack = None;
        let sid = self.clients.get(client).and_then(|c| c.socket.clone())?;
        let shared = self
            .sockets
            .get(&sid)
            .filter(|e| !e.shared.ns_closing.load(Ordering::Relaxed))
            .map(|e| e.shared.clone())?;
        let log = self.logs.as_mut()?.get_mut(client)?;
        let epoch = log.epoch();
        if let Some(gap) = log.take_gap() {
            let _ = shared.outbound.push_evicting(Outbound::Gap { gap, epoch });
        }
        let room = self
            .config
            .queue_capacity
            .saturating_sub(shared.outbound.len());
        let mut out: Vec<Delivery<Arc<Event>>> = Vec::new();
        log.take_sendable(Instant::now(), room, &mut out);
        let mut redelivered = 0;
        for d in out {
            let w = match &waiter {
                Some((seq, _)) if *seq == d.seq => waiter.take().map(|(_, w)| w),
                _ => None,
            };
            let for_waiter = w.is_some();
            let pending = PendingAck {
                waiter: w,
                reliable: Some((client.to_owned(), d.seq)),
            };
            let Ok(ack_id) = shared.acks.register(pending) else {
                return waiter_ack;
            };
            // Every attempt's ack id stays valid (a late ack still counts)
            // until the seq is acknowledged; then they are all removed.
            if let Some(state) = self.clients.get_mut(client) {
                state.ack_ids.entry(d.seq).or_default().push(ack_id);
            }
            if d.redelivered {
                redelivered += 1;
            }
            let item = Outbound::Event {
                event: d.item,
                ack_id: Some(ack_id),
                delivery: Some(DeliveryInfo {
                    epoch,
                    seq: d.seq,
                    redelivered: d.redelivered,
                }),
            };
            match shared.outbound.push(item) {
                Ok(depth) => {
                    if for_waiter {
                        waiter_ack = Some(ack_id);
                    }
                    self.counters.depth(depth);
                    Counters::add(&self.counters.delivered, 1);
                }
                Err(_) => {
                    // Stays in the log: redelivered after the ack deadline.
                    shared.acks.take(ack_id);
                    if let Some(ids) = self
                        .clients
                        .get_mut(client)
                        .and_then(|s| s.ack_ids.get_mut(&d.seq))
                    {
                        ids.retain(|id| *id != ack_id);
                    }
                }
            }
        }
        Counters::add(&self.counters.redelivered, redelivered);
        waiter_ack
    }

    /// Copies the logs' totals into the metrics. O(clients): called from
    /// the periodic tick only, never per event.
    pub(crate) fn sync_retention_counters(&self) {
        if let Some(logs) = &self.logs {
            let s = logs.stats();
            self.counters.dropped_retention.store(
                s.dropped_by_retention() + s.dropped_by_eviction,
                Ordering::Relaxed,
            );
            self.counters.retained.store(s.retained, Ordering::Relaxed);
        }
    }

    pub(crate) fn tick(&mut self) {
        let now = Instant::now();
        let Some(logs) = self.logs.as_mut() else {
            return;
        };
        // Expiry may leave a gap notice for attached clients: flush them all then.
        let expired = logs.expire_all(now) > 0;
        for gone in logs.evict_absent(now) {
            if let Some(state) = self.clients.remove(&gone) {
                for r in state.rooms {
                    if let Some(s) = self.away_rooms.get_mut(&r) {
                        s.remove(&gone);
                        if s.is_empty() {
                            self.away_rooms.remove(&r);
                        }
                    }
                }
            }
        }
        let logs = &self.logs;
        let due = |id: &str| {
            expired
                || logs.as_ref().and_then(|l| l.get(id)).is_some_and(|log| {
                    log.has_unsent() || log.next_redelivery_at().is_some_and(|t| t <= now)
                })
        };
        let attached: Vec<String> = self
            .clients
            .iter()
            .filter(|(id, c)| c.socket.is_some() && due(id))
            .map(|(id, _)| id.clone())
            .collect();
        for c in attached {
            self.flush(&c, None);
        }
        self.sync_retention_counters();
    }

    pub(crate) fn attach_client(&mut self, client: &str, sid: &SocketId) {
        let now = Instant::now();
        let old = self.clients.get(client).and_then(|c| c.socket.clone());
        if let Some(old) = old {
            // A new connection replaces the old one.
            if let Some(e) = self.sockets.get_mut(&old) {
                e.client = None;
                e.shared.ns_closing.store(true, Ordering::Relaxed);
                e.shared
                    .request_close(DisconnectReason::ServerNamespaceDisconnect);
            }
        }
        let state = self.clients.entry(client.to_owned()).or_default();
        state.socket = Some(sid.clone());
        state.ack_ids.clear();
        let rooms = std::mem::take(&mut state.rooms);
        for r in &rooms {
            if let Some(s) = self.away_rooms.get_mut(r) {
                s.remove(client);
                if s.is_empty() {
                    self.away_rooms.remove(r);
                }
            }
            self.join_room(sid, r);
        }
        if let Some(logs) = self.logs.as_mut() {
            let log = logs.get_or_create(client, now);
            let epoch = log.epoch();
            if let Some(gap) = log.attach() {
                if let Some(e) = self.sockets.get(sid) {
                    let _ = e
                        .shared
                        .outbound
                        .push_evicting(Outbound::Gap { gap, epoch });
                }
            }
        }
        self.flush(client, None);
    }
}

impl Handler<ReliableAck> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: ReliableAck, _ctx: &mut Context<Self>) {
        if let Some(state) = self.clients.get_mut(&msg.client) {
            let ids = state.ack_ids.remove(&msg.seq).unwrap_or_default();
            let shared = state.socket.as_ref().and_then(|sid| self.sockets.get(sid));
            if let Some(entry) = shared {
                for id in ids {
                    entry.shared.acks.take(id);
                }
            }
        }
        if let Some(log) = self.logs.as_mut().and_then(|l| l.get_mut(&msg.client)) {
            match log.ack(msg.seq) {
                AckOutcome::Acked => {}
                AckOutcome::NotPending => {
                    tracing::trace!(client = %msg.client, seq = msg.seq, "duplicate ack ignored")
                }
                AckOutcome::Unissued => tracing::warn!(
                    client = %msg.client,
                    seq = msg.seq,
                    "ack for a sequence number never issued (stale epoch?) ignored"
                ),
            }
        }
        self.flush(&msg.client, None);
    }
}
