//! The namespace actor: one per namespace, owning its sockets, its room
//! index and the fan-out.
//!
//! Every join, leave, broadcast and selection of one namespace is a message
//! to this one actor, so they are applied in a single order: per-room order
//! and per-sender order hold while sockets join and leave during a burst,
//! and a multi-room broadcast reaches each socket once. Fan-out pushes
//! `Arc<Event>` clones into each recipient's bounded queue with `try_send`
//! (never one actor message per recipient, never `do_send`) and applies the
//! full-queue policy. This module must not run user handlers (socket actors
//! do) nor know wire formats; at-least-once bookkeeping is in
//! `at_least_once.rs`.
//!
//! The hot path (a namespace without at-least-once delivery) does not push
//! into in-process clients' queues here: it sends each fan-out shard (one
//! per worker, see `shard.rs`) one `Deliver` with the event and that
//! shard's recipients, and pushes only remote (gateway) connections itself,
//! so that a broadcast the namespace has applied is already queued for the
//! gateway. A broadcast to one room without acks costs the namespace O(1)
//! per shard: the room's members are cached split by shard
//! (`RoomState::snapshot`, rebuilt by the first broadcast after a join
//! or leave) and the snapshot is shared with the shards; other broadcasts
//! (several rooms, `except`, acks) are selected and deduplicated here and
//! handed out as explicit lists. Emit reports are merged from every part
//! (`ReportSink`). At-least-once namespaces push every event from here,
//! waking the dispatchers once per chunk of pushes (`WAKE_CHUNK`). Why
//! room actors do not take this work is explained in `room.rs`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Context, Handler};

use crate::ack::{PendingAck, Waiter};
use crate::config::{DeliveryGuarantee, FullQueuePolicy, NamespaceConfig};
use crate::connection::{Connection, SocketShared};
use crate::dispatch;
use crate::error::{AckError, ConnectError};
use crate::id::SocketId;
use crate::messages::{
    AckToClient, Broadcast, Connect, FanoutReport, Join, Leave, RoomJoined, RoomLeft, RoomLookup,
    Select, SelectOp, Shutdown, SocketClosed, Target,
};
use crate::metrics::{Counters, DropReason};
use crate::middleware;
use crate::namespace::Namespace;
use crate::payload::Event;
use crate::queue::{Outbound, OutboundQueue};
use crate::reason::DisconnectReason;
use crate::reliable::{ClientLogs, Seq};
use crate::room::RoomActor;
use crate::shard::{self, Deliver, Recipients, Relay, ReportSink};
use crate::socket::{Socket, SocketActor};

/// A room's members: a dense list for the fan-out loop (no hashing, no
/// lookup per recipient) plus an index for O(1) join and leave.
#[derive(Default)]
pub(crate) struct Members {
    list: Vec<Arc<SocketShared>>,
    index: HashMap<SocketId, usize>,
}

impl Members {
    fn insert(&mut self, shared: Arc<SocketShared>) {
        if let std::collections::hash_map::Entry::Vacant(v) = self.index.entry(shared.id.clone()) {
            v.insert(self.list.len());
            self.list.push(shared);
        }
    }

    fn remove(&mut self, id: &SocketId) {
        let Some(i) = self.index.remove(id) else {
            return;
        };
        self.list.swap_remove(i);
        if let Some(moved) = self.list.get(i) {
            self.index.insert(moved.id.clone(), i);
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Arc<SocketShared>> {
        self.list.iter()
    }
}

/// One room in the fan-out index, and its actor. Members are held with
/// their shared state so a fan-out reaches each queue without a lookup.
pub(crate) struct RoomState {
    pub(crate) members: Members,
    /// Started by the first [`Namespace::room`](crate::Namespace::room)
    /// query, seeded with the members then, and told every change after:
    /// most rooms (every socket's own room) are never queried and cost no
    /// actor.
    pub(crate) actor: Option<Addr<RoomActor>>,
    /// Broadcasts that targeted the room (read by the room actor).
    pub(crate) broadcasts: Arc<AtomicU64>,
    /// The members split by fan-out shard, built by the first broadcast
    /// after a membership change and shared with the shards (so a
    /// broadcast to an unchanged room builds no list).
    snapshot: Option<RoomSnapshot>,
}

/// A room's members as the fan-out hands them out.
#[derive(Clone)]
struct RoomSnapshot {
    /// In-process members, by shard number.
    shards: Vec<Arc<[Arc<SocketShared>]>>,
    /// Remote members (pushed by the namespace itself).
    remote: Arc<[Arc<SocketShared>]>,
}

impl RoomState {
    /// The members split by shard (`shards` shards), rebuilt if a join or
    /// leave cleared it since the last broadcast.
    fn snapshot(&mut self, shards: usize) -> &RoomSnapshot {
        let members = &self.members;
        self.snapshot.get_or_insert_with(|| {
            let mut by_shard: Vec<Vec<Arc<SocketShared>>> = vec![Vec::new(); shards];
            let mut remote = Vec::new();
            for s in members.iter() {
                match s.shard.and_then(|i| by_shard.get_mut(i)) {
                    Some(list) => list.push(s.clone()),
                    None => remote.push(s.clone()),
                }
            }
            RoomSnapshot {
                shards: by_shard.into_iter().map(Arc::from).collect(),
                remote: Arc::from(remote),
            }
        })
    }
}

/// Recipients pushed between two wakes of the in-process dispatchers
/// during one fan-out (the dispatchers start on the other core while the
/// fan-out goes on, without chasing it client by client).
const WAKE_CHUNK: usize = 1024;

/// Room actors' mailbox: membership changes only (one per join/leave).
const ROOM_MAILBOX: usize = 65_536;

pub(crate) struct Entry {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) rooms: HashSet<String>,
    pub(crate) client: Option<String>,
}

/// An at-least-once client: its current socket and, while away, its rooms.
#[derive(Default)]
pub(crate) struct ClientState {
    pub(crate) socket: Option<SocketId>,
    pub(crate) rooms: BTreeSet<String>,
    /// The ack ids of every attempt of each sent seq on the current socket,
    /// removed together when the seq is acknowledged (so none leak).
    pub(crate) ack_ids: HashMap<Seq, Vec<u64>>,
}

/// The actor owning one namespace's sockets, rooms and fan-out.
pub(crate) struct NamespaceActor {
    pub(crate) name: String,
    /// This actor's own handle (set right after start, before any message).
    pub(crate) handle: Arc<OnceLock<Namespace>>,
    pub(crate) config: NamespaceConfig,
    pub(crate) counters: Arc<Counters>,
    pub(crate) sockets: HashMap<SocketId, Entry>,
    pub(crate) rooms: HashMap<String, RoomState>,
    pub(crate) logs: Option<ClientLogs<Arc<Event>>>,
    pub(crate) clients: HashMap<String, ClientState>,
    pub(crate) away_rooms: HashMap<String, HashSet<String>>,
}

impl fmt::Debug for NamespaceActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceActor")
            .field("name", &self.name)
            .field("sockets", &self.sockets.len())
            .finish()
    }
}

impl Actor for NamespaceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let DeliveryGuarantee::AtLeastOnce(s) = self.config.delivery {
            let tick =
                (s.ack_deadline() / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
            ctx.run_interval(tick, |act, _| act.tick());
        }
        tracing::debug!(ns = %self.name, "namespace started");
    }
}

impl NamespaceActor {
    pub(crate) fn new(
        name: String,
        handle: Arc<OnceLock<Namespace>>,
        config: NamespaceConfig,
        counters: Arc<Counters>,
    ) -> Self {
        let logs = match config.delivery {
            DeliveryGuarantee::AtLeastOnce(s) => Some(ClientLogs::new(s)),
            DeliveryGuarantee::AtMostOnce => None,
        };
        NamespaceActor {
            name,
            handle,
            config,
            counters,
            sockets: HashMap::new(),
            rooms: HashMap::new(),
            logs,
            clients: HashMap::new(),
            away_rooms: HashMap::new(),
        }
    }

    pub(crate) fn join_room(&mut self, id: &SocketId, room: &str) {
        self.join_room_as(id, room, Mirror::Update);
    }

    /// Joins `id` to `room`. `mirror` says whether the socket's own view of
    /// its rooms (`Socket::rooms`) must be updated here: not when the socket
    /// asked itself, since it already did, and a later `leave` of its own may
    /// already have undone it.
    fn join_room_as(&mut self, id: &SocketId, room: &str, mirror: Mirror) {
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.insert(room.to_owned()) {
            return;
        }
        if mirror == Mirror::Update {
            entry.shared.rooms_lock().insert(room.to_owned());
        }
        let shared = entry.shared.clone();
        let state = match self.rooms.entry(room.to_owned()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                Counters::add(&self.counters.rooms, 1);
                v.insert(RoomState {
                    members: Members::default(),
                    actor: None,
                    broadcasts: Arc::new(AtomicU64::new(0)),
                    snapshot: None,
                })
            }
        };
        state.members.insert(shared);
        state.snapshot = None;
        if let Some(actor) = &state.actor {
            if actor.try_send(RoomJoined { socket: id.clone() }).is_err() {
                tracing::warn!(room, "room actor lagging: its membership view may be stale");
            }
        }
    }

    /// The actor of `room`, started (with the room's members now) by the
    /// first query; `None` if the room does not exist.
    fn room_actor(&mut self, room: &str) -> Option<Addr<RoomActor>> {
        let worker = self.handle.get().map(|ns| ns.runtime().worker())?;
        let state = self.rooms.get_mut(room)?;
        if let Some(actor) = &state.actor {
            return Some(actor.clone());
        }
        let name = room.to_owned();
        let members = state.members.iter().map(|s| s.id.clone()).collect();
        let count = state.broadcasts.clone();
        let actor = RoomActor::start_in_arbiter(&worker, move |ctx: &mut Context<RoomActor>| {
            ctx.set_mailbox_capacity(ROOM_MAILBOX);
            RoomActor::new(name, members, count)
        });
        state.actor = Some(actor.clone());
        Some(actor)
    }

    pub(crate) fn leave_room(&mut self, id: &SocketId, room: &str) {
        self.leave_room_as(id, room, Mirror::Update);
    }

    /// Removes `id` from `room`; `mirror` as in [`join_room_as`](Self::join_room_as).
    fn leave_room_as(&mut self, id: &SocketId, room: &str, mirror: Mirror) {
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.remove(room) {
            return;
        }
        if mirror == Mirror::Update {
            entry.shared.rooms_lock().remove(room);
        }
        if let Some(state) = self.rooms.get_mut(room) {
            state.members.remove(id);
            state.snapshot = None;
            let last = state.members.is_empty();
            if let Some(actor) = &state.actor {
                let left = RoomLeft {
                    socket: id.clone(),
                    last,
                };
                if actor.try_send(left).is_err() {
                    tracing::warn!(room, "room actor lagging: its membership view may be stale");
                }
            }
            if last {
                self.rooms.remove(room);
                self.counters.rooms.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Calls `f` once for each socket `target` selects, in no particular
    /// order, without collecting them (the fan-out's hot loop).
    pub(crate) fn for_each_target(&self, target: &Target, mut f: impl FnMut(&Arc<SocketShared>)) {
        let excluded: HashSet<&SocketId> = target
            .except
            .iter()
            .filter_map(|r| self.rooms.get(r))
            .flat_map(|m| m.members.iter().map(|s| &s.id))
            .collect();
        let skip = target.skip.as_ref();
        let mut visit = |s: &Arc<SocketShared>| {
            if skip == Some(&s.id) || (!excluded.is_empty() && excluded.contains(&s.id)) {
                return;
            }
            f(s);
        };
        match target.rooms.as_slice() {
            [] => self.sockets.values().for_each(|e| visit(&e.shared)),
            [one] => {
                if let Some(room) = self.rooms.get(one) {
                    room.members.iter().for_each(&mut visit);
                }
            }
            many => {
                // A socket in several target rooms gets the event once.
                let mut seen: HashSet<*const SocketShared> = HashSet::new();
                for room in many.iter().filter_map(|r| self.rooms.get(r)) {
                    for s in room.members.iter() {
                        if seen.insert(Arc::as_ptr(s)) {
                            visit(s);
                        }
                    }
                }
            }
        }
    }

    /// The sockets `target` selects (each once).
    pub(crate) fn select(&self, target: &Target) -> Vec<SocketId> {
        let mut out = Vec::new();
        self.for_each_target(target, |s| out.push(s.id.clone()));
        out
    }

    fn fanout(&self) -> Fanout<'_> {
        Fanout::new(self.config.full_queue, &self.counters)
    }
}

/// One fan-out's pushes under the namespace policy; the shared counters are
/// updated once at the end, not once per recipient.
pub(crate) struct Fanout<'a> {
    policy: FullQueuePolicy,
    counters: &'a Counters,
    delivered: u64,
    max_depth: usize,
}

impl<'a> Fanout<'a> {
    pub(crate) fn new(policy: FullQueuePolicy, counters: &'a Counters) -> Self {
        Fanout {
            policy,
            counters,
            delivered: 0,
            max_depth: 0,
        }
    }

    /// Counts an event handed to its consumer without queueing (depth 1).
    pub(crate) fn handed(&mut self, report: &mut FanoutReport) {
        self.queued(1, report);
    }

    fn queued(&mut self, depth: usize, report: &mut FanoutReport) {
        self.max_depth = self.max_depth.max(depth);
        self.delivered += 1;
        report.queued += 1;
    }

    /// Pushes one event into one socket's queue under the namespace policy.
    pub(crate) fn push(
        &mut self,
        shared: &SocketShared,
        item: Outbound,
        volatile: bool,
        report: &mut FanoutReport,
    ) -> bool {
        self.push_waking(shared, item, volatile, true, report)
    }

    /// As [`push`](Self::push); `wake: false` when the caller drains the
    /// queue right after (see [`OutboundQueue::push_waking`]).
    pub(crate) fn push_waking(
        &mut self,
        shared: &SocketShared,
        item: Outbound,
        volatile: bool,
        wake: bool,
        report: &mut FanoutReport,
    ) -> bool {
        if shared.ns_closing.load(Ordering::Relaxed) {
            report.not_queued.push(shared.id.clone());
            return false;
        }
        match shared.outbound.push_waking(item, wake) {
            Ok(depth) => {
                self.queued(depth, report);
                true
            }
            Err(item) => self.full(shared, item, volatile, true, report),
        }
    }

    /// Applies the policy to an item `shared`'s queue has no room for;
    /// `evict` allows `DropOldest` to make room (otherwise the item itself
    /// is the one dropped).
    pub(crate) fn full(
        &mut self,
        shared: &SocketShared,
        item: Outbound,
        volatile: bool,
        evict: bool,
        report: &mut FanoutReport,
    ) -> bool {
        let q = &shared.outbound;
        let id = &shared.id;
        let ack_of = |item: &Outbound| match item {
            Outbound::Event {
                ack_id: Some(a), ..
            } => Some(*a),
            _ => None,
        };
        if volatile {
            self.counters.dropped(DropReason::Volatile);
            if let Some(a) = ack_of(&item) {
                shared.acks.take(a);
            }
            report.not_queued.push(id.clone());
            return false;
        }
        match self.policy {
            FullQueuePolicy::DropOldest if !evict => {
                self.counters.dropped(DropReason::Oldest);
                if let Some(a) = ack_of(&item) {
                    shared.acks.take(a);
                }
                report.not_queued.push(id.clone());
                false
            }
            FullQueuePolicy::DropOldest => {
                let (res, evicted) = q.push_evicting(item);
                if let Some(old) = evicted {
                    self.counters.dropped(DropReason::Oldest);
                    if let Some(a) = ack_of(&old) {
                        if let Some(p) = shared.acks.take(a) {
                            if let Some(w) = p.waiter {
                                w.resolve(Err(AckError::NotDelivered));
                            }
                        }
                    }
                }
                match res {
                    Ok(depth) => {
                        self.queued(depth, report);
                        true
                    }
                    Err(_) => {
                        report.not_queued.push(id.clone());
                        false
                    }
                }
            }
            FullQueuePolicy::Reject => {
                self.counters.dropped(DropReason::Rejected);
                if let Some(a) = ack_of(&item) {
                    shared.acks.take(a);
                }
                report.rejected.push(id.clone());
                report.not_queued.push(id.clone());
                false
            }
            FullQueuePolicy::Disconnect => {
                self.counters.dropped(DropReason::SlowConsumer);
                if let Some(a) = ack_of(&item) {
                    shared.acks.take(a);
                }
                shared.ns_closing.store(true, Ordering::Relaxed);
                tracing::warn!(ns = %shared.ns.name(), socket = %id, "outbound queue full: disconnecting slow socket");
                shared.request_close(DisconnectReason::SlowConsumer);
                report.not_queued.push(id.clone());
                false
            }
        }
    }

    /// Publishes the fan-out's counts.
    pub(crate) fn finish(self) {
        if self.delivered > 0 {
            Counters::add(&self.counters.delivered, self.delivered);
            self.counters.depth(self.max_depth);
        }
    }
}

impl Handler<Connect> for NamespaceActor {
    type Result = Result<Connection, ConnectError>;

    fn handle(&mut self, msg: Connect, _ctx: &mut Context<Self>) -> Self::Result {
        let ns = msg_namespace(self)?;
        let chain = ns.middleware_chain();
        middleware::run(&chain, &msg.handshake)?;
        let id = SocketId::random();
        let client = match self.config.delivery {
            DeliveryGuarantee::AtLeastOnce(_) => msg.handshake.client_id.clone(),
            DeliveryGuarantee::AtMostOnce => None,
        };
        let queue = OutboundQueue::new(self.config.queue_capacity, msg.waker);
        let mut shared = SocketShared::new(id.clone(), ns.clone(), msg.handshake, queue);
        shared.shard = msg.shard;
        let shared = Arc::new(shared);
        let worker = msg.arbiter.unwrap_or_else(|| ns.runtime().worker());
        let cap = self.config.inbound_capacity.max(16);
        let actor_shared = shared.clone();
        let ready = msg.ready;
        let addr = SocketActor::start_in_arbiter(&worker, move |ctx: &mut Context<SocketActor>| {
            ctx.set_mailbox_capacity(cap);
            SocketActor::new(actor_shared, ready)
        });
        let _ = shared.actor.set(addr);
        self.sockets.insert(
            id.clone(),
            Entry {
                shared: shared.clone(),
                rooms: HashSet::new(),
                client: client.clone(),
            },
        );
        Counters::add(&self.counters.sockets, 1);
        self.join_room(&id, id.as_str());
        if let Some(c) = &client {
            self.attach_client(c, &id);
        }
        tracing::debug!(ns = %self.name, socket = %id, "socket connected");
        Ok(Connection { shared })
    }
}

/// The namespace handle of this actor.
fn msg_namespace(act: &NamespaceActor) -> Result<Namespace, ConnectError> {
    act.handle
        .get()
        .cloned()
        .ok_or_else(|| ConnectError::new("namespace is starting: retry"))
}

impl Handler<RoomLookup> for NamespaceActor {
    type Result = Option<Addr<RoomActor>>;
    fn handle(&mut self, msg: RoomLookup, _ctx: &mut Context<Self>) -> Self::Result {
        self.room_actor(&msg.room)
    }
}

impl Handler<Join> for NamespaceActor {
    type Result = ();
    fn handle(&mut self, msg: Join, _ctx: &mut Context<Self>) {
        for r in &msg.rooms {
            self.join_room_as(&msg.socket, r, Mirror::AlreadyDone);
        }
    }
}

impl Handler<Leave> for NamespaceActor {
    type Result = ();
    fn handle(&mut self, msg: Leave, _ctx: &mut Context<Self>) {
        self.leave_room_as(&msg.socket, &msg.room, Mirror::AlreadyDone);
    }
}

/// Whether a join or leave must also update the socket's own room view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mirror {
    /// The change comes from the server side (operators, reattach): update it.
    Update,
    /// The socket made the change to its own view before asking.
    AlreadyDone,
}

/// Registers a pending ack for `shared` when the broadcast wants answers;
/// `Err` when the socket no longer takes ack requests (it is closing).
fn register_ack(
    msg: &Broadcast,
    shared: &Arc<SocketShared>,
    report: &mut FanoutReport,
) -> Result<Option<u64>, ()> {
    let Some(tx) = &msg.ack else {
        return Ok(None);
    };
    let pending = PendingAck {
        waiter: Some(Waiter::Broadcast {
            socket: shared.id.clone(),
            tx: tx.clone(),
        }),
        reliable: None,
    };
    match shared.acks.register(pending) {
        Ok(a) => {
            report.pending.push((shared.clone(), a));
            Ok(Some(a))
        }
        Err(_) => {
            report.not_queued.push(shared.id.clone());
            Err(())
        }
    }
}

impl NamespaceActor {
    /// The at-least-once fan-out: clients with a persistent id get the event
    /// through their log; the others as usual.
    fn broadcast_reliable(&mut self, msg: &Broadcast, report: &mut FanoutReport) {
        let mut targets: Vec<Arc<SocketShared>> = Vec::new();
        self.for_each_target(&msg.target, |s| targets.push(s.clone()));
        let now = Instant::now();
        let mut plain: Vec<(Arc<SocketShared>, Outbound)> = Vec::new();
        for shared in targets {
            let client = self.sockets.get(&shared.id).and_then(|e| e.client.clone());
            if let Some(client) = client {
                // Retained even while the socket is closing: the client
                // gets it on its next attach.
                let Some(logs) = self.logs.as_mut() else {
                    continue;
                };
                let seq = logs
                    .get_or_create(&client, now)
                    .append(msg.event.clone(), now);
                let waiter = msg.ack.as_ref().map(|tx| {
                    let socket = shared.id.clone();
                    (
                        seq,
                        Waiter::Broadcast {
                            socket,
                            tx: tx.clone(),
                        },
                    )
                });
                match self.flush(&client, waiter) {
                    Some(ack_id) => {
                        report.queued += 1;
                        report.pending.push((shared, ack_id));
                    }
                    None if msg.ack.is_some() => report.not_queued.push(shared.id.clone()),
                    None => {}
                }
                continue;
            }
            let Ok(ack_id) = register_ack(msg, &shared, report) else {
                continue;
            };
            let item = Outbound::Event {
                event: msg.event.clone(),
                ack_id,
                delivery: None,
            };
            plain.push((shared, item));
        }
        let mut fanout = self.fanout();
        for (shared, item) in plain {
            fanout.push(&shared, item, msg.volatile, report);
        }
        fanout.finish();
        for client in self.select_away(&msg.target) {
            if let Some(logs) = self.logs.as_mut() {
                logs.get_or_create(&client, now)
                    .append(msg.event.clone(), now);
            }
        }
    }
}

impl Handler<Broadcast> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _ctx: &mut Context<Self>) {
        Counters::add(&self.counters.emitted, 1);
        for r in &msg.target.rooms {
            if let Some(state) = self.rooms.get(r) {
                state.broadcasts.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut report = FanoutReport::default();
        let shards = match self.handle.get() {
            Some(ns) if self.logs.is_none() => ns.runtime().shards().to_vec(),
            // At-least-once namespaces push every event themselves (the
            // log's order and the plain events' order stay one order).
            _ => Vec::new(),
        };
        if shards.is_empty() {
            self.broadcast_direct(&msg, &mut report);
            shard::finalize(&mut report);
            if let Some(tx) = msg.report {
                let _ = tx.send(report);
            }
            return;
        }
        self.broadcast_sharded(msg, &shards, report);
    }
}

impl NamespaceActor {
    /// Every recipient pushed from this thread (at-least-once namespaces).
    fn broadcast_direct(&mut self, msg: &Broadcast, report: &mut FanoutReport) {
        if self.logs.is_some() && !msg.volatile {
            self.broadcast_reliable(msg, report);
            return;
        }
        dispatch::deferring_wakes(|| {
            let mut fanout = self.fanout();
            let mut n = 0usize;
            self.for_each_target(&msg.target, |shared| {
                let Ok(ack_id) = register_ack(msg, shared, report) else {
                    return;
                };
                let item = Outbound::Event {
                    event: msg.event.clone(),
                    ack_id,
                    delivery: None,
                };
                fanout.push(shared, item, msg.volatile, report);
                n += 1;
                if n % WAKE_CHUNK == 0 {
                    dispatch::flush_wakes();
                }
            });
            fanout.finish();
        });
    }

    /// The hot path: remote recipients are pushed here, in-process ones by
    /// their shard (one `Deliver` per shard with recipients, see `shard.rs`).
    fn broadcast_sharded(
        &mut self,
        msg: Broadcast,
        shards: &[Arc<dispatch::Dispatcher>],
        mut report: FanoutReport,
    ) {
        let n = shards.len();
        let mut parts: Vec<Option<Recipients>> = (0..n).map(|_| None).collect();
        let mut skip = None;
        let simple =
            msg.target.rooms.len() == 1 && msg.target.except.is_empty() && msg.ack.is_none();
        let mut fanout = Fanout::new(self.config.full_queue, &self.counters);
        if simple {
            // One room, no acks: the room's cached per-shard lists.
            skip = msg
                .target
                .skip
                .as_ref()
                .and_then(|id| self.sockets.get(id))
                .map(|e| e.shared.clone());
            if let Some(room) = self.rooms.get_mut(&msg.target.rooms[0]) {
                let snap = room.snapshot(n);
                for s in snap.remote.iter() {
                    if skip.as_ref().is_some_and(|k| Arc::ptr_eq(k, s)) {
                        continue;
                    }
                    let item = Outbound::Event {
                        event: msg.event.clone(),
                        ack_id: None,
                        delivery: None,
                    };
                    fanout.push(s, item, msg.volatile, &mut report);
                }
                for (part, members) in parts.iter_mut().zip(snap.shards.iter()) {
                    if !members.is_empty() {
                        *part = Some(Recipients::Room(members.clone()));
                    }
                }
            }
        } else {
            let mut lists: Vec<Vec<(Arc<SocketShared>, Option<u64>)>> = vec![Vec::new(); n];
            self.for_each_target(&msg.target, |shared| {
                let Ok(ack_id) = register_ack(&msg, shared, &mut report) else {
                    return;
                };
                match shared.shard.and_then(|i| lists.get_mut(i)) {
                    Some(list) => list.push((shared.clone(), ack_id)),
                    None => {
                        let item = Outbound::Event {
                            event: msg.event.clone(),
                            ack_id,
                            delivery: None,
                        };
                        fanout.push(shared, item, msg.volatile, &mut report);
                    }
                }
            });
            for (part, list) in parts.iter_mut().zip(lists) {
                if !list.is_empty() {
                    *part = Some(Recipients::Listed(list));
                }
            }
        }
        fanout.finish();
        let sending = parts.iter().filter(|p| p.is_some()).count();
        let sink = msg
            .report
            .map(|tx| Arc::new(ReportSink::new(tx, sending + 1)));
        let mut first = true;
        for (dispatcher, part) in shards.iter().zip(parts) {
            let Some(recipients) = part else { continue };
            // Each shard's recipients share their own copy of the event, so
            // the shards do not move one reference count between cores
            // per delivery (remote recipients all share the original).
            let event = if std::mem::take(&mut first) {
                msg.event.clone()
            } else {
                Arc::new(Event::clone(&msg.event))
            };
            let deliver = Deliver {
                event,
                recipients,
                skip: skip.clone(),
                volatile: msg.volatile,
                policy: self.config.full_queue,
                counters: self.counters.clone(),
                report: sink.clone(),
            };
            if let Err(back) = dispatcher.deliver(deliver) {
                shard::refuse(back);
            }
        }
        match sink {
            Some(sink) => sink.add(report),
            None => drop(report),
        }
    }
}

impl Handler<Select> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: Select, _ctx: &mut Context<Self>) {
        let ids = self.select(&msg.target);
        match msg.op {
            SelectOp::Fetch(tx) => {
                let sockets = ids
                    .iter()
                    .filter_map(|id| self.sockets.get(id))
                    .filter(|e| !e.shared.ns_closing.load(Ordering::Relaxed))
                    .map(|e| Socket {
                        shared: e.shared.clone(),
                    })
                    .collect();
                let _ = tx.send(sockets);
            }
            SelectOp::Join(rooms) => {
                for id in &ids {
                    for r in &rooms {
                        self.join_room(id, r);
                    }
                }
            }
            SelectOp::Leave(room) => {
                for id in &ids {
                    self.leave_room(id, &room);
                }
            }
            SelectOp::Disconnect => {
                for id in &ids {
                    if let Some(e) = self.sockets.get_mut(id) {
                        e.shared.ns_closing.store(true, Ordering::Relaxed);
                        e.shared
                            .request_close(DisconnectReason::ServerNamespaceDisconnect);
                    }
                }
            }
        }
    }
}

impl Handler<SocketClosed> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: SocketClosed, _ctx: &mut Context<Self>) {
        let Some(entry) = self.sockets.get(&msg.socket) else {
            return;
        };
        if let Some(reason) = msg.disconnect {
            // After every emit and ack answer the socket's handlers made
            // before closing (they came through this mailbox first).
            let shared = entry.shared.clone();
            self.queue_in_order(&shared, Outbound::Disconnect { reason }, true);
        }
        let Some(entry) = self.sockets.get(&msg.socket) else {
            return;
        };
        let rooms: Vec<String> = entry.rooms.iter().cloned().collect();
        let client = entry.client.clone();
        for r in &rooms {
            self.leave_room(&msg.socket, r);
        }
        self.sockets.remove(&msg.socket);
        self.counters.sockets.fetch_sub(1, Ordering::Relaxed);
        if let Some(c) = client {
            let own = msg.socket.as_str();
            if let Some(state) = self.clients.get_mut(&c) {
                if state.socket.as_ref() == Some(&msg.socket) {
                    state.socket = None;
                    state.ack_ids.clear();
                    state.rooms = rooms.into_iter().filter(|r| r != own).collect();
                    for r in &state.rooms {
                        self.away_rooms
                            .entry(r.clone())
                            .or_default()
                            .insert(c.clone());
                    }
                    if let Some(log) = self.logs.as_mut().and_then(|l| l.get_mut(&c)) {
                        log.detach(Instant::now());
                    }
                }
            }
        }
        tracing::debug!(ns = %self.name, socket = %msg.socket, "socket removed");
    }
}

impl Handler<Shutdown> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, ctx: &mut Context<Self>) {
        for e in self.sockets.values_mut() {
            e.shared.ns_closing.store(true, Ordering::Relaxed);
            e.shared.request_close(DisconnectReason::ServerShuttingDown);
        }
        let _ = ctx;
    }
}

impl Handler<AckToClient> for NamespaceActor {
    type Result = ();

    /// Queues an ack answer behind everything the socket's handlers emitted
    /// before answering, under the namespace's full-queue policy. Not
    /// counted as a delivered event.
    fn handle(&mut self, msg: AckToClient, _ctx: &mut Context<Self>) {
        // Once `SocketClosed` is handled the socket is gone from the table
        // and may hold its `Disconnect`: nothing follows it.
        let current = self
            .sockets
            .get(&msg.socket.id)
            .is_some_and(|e| Arc::ptr_eq(&e.shared, &msg.socket));
        if !current {
            return;
        }
        let item = Outbound::Ack {
            ack_id: msg.ack_id,
            payload: msg.payload,
        };
        self.queue_in_order(&msg.socket, item, false);
    }
}

impl NamespaceActor {
    /// Queues `item` for one socket behind everything already on its way
    /// to it: an in-process client's broadcasts travel through its shard,
    /// so the item does too; a remote socket's queue is pushed here.
    /// `evict` makes room by dropping the oldest item (for a `Disconnect`).
    fn queue_in_order(&mut self, shared: &Arc<SocketShared>, mut item: Outbound, evict: bool) {
        let dispatcher = match (shared.shard, self.handle.get()) {
            // At-least-once namespaces push every event themselves.
            (Some(i), Some(ns)) if self.logs.is_none() => ns.runtime().shards().get(i).cloned(),
            _ => None,
        };
        if let Some(dispatcher) = dispatcher {
            let relay = Relay {
                shared: shared.clone(),
                item,
                evict,
                policy: self.config.full_queue,
                counters: self.counters.clone(),
            };
            match dispatcher.relay(relay) {
                Ok(()) => return,
                Err(back) => {
                    tracing::warn!(socket = %shared.id, "fan-out shard lagging: queueing directly");
                    item = back.item;
                }
            }
        }
        if evict {
            let _ = shared.outbound.push_evicting(item);
            return;
        }
        let mut report = FanoutReport::default();
        if self.fanout().push(shared, item, false, &mut report) {
            self.counters.depth(shared.outbound.len());
        }
    }
}
