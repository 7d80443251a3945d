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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Context, Handler};

use crate::ack::{PendingAck, Waiter};
use crate::config::{DeliveryGuarantee, FullQueuePolicy, NamespaceConfig};
use crate::connection::{Connection, SocketShared};
use crate::error::{AckError, ConnectError};
use crate::id::SocketId;
use crate::messages::{
    Broadcast, Connect, FanoutReport, Join, Leave, RoomBroadcast, RoomJoined, RoomLeft, RoomLookup,
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
use crate::socket::{Socket, SocketActor};

/// One room in the fan-out index, and its actor.
pub(crate) struct RoomState {
    pub(crate) members: HashSet<SocketId>,
    pub(crate) actor: Addr<RoomActor>,
}

/// Room actors' mailbox: membership changes only (one per join/leave).
const ROOM_MAILBOX: usize = 65_536;

pub(crate) struct Entry {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) rooms: HashSet<String>,
    pub(crate) closing: bool,
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
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.insert(room.to_owned()) {
            return;
        }
        entry.shared.rooms_lock().insert(room.to_owned());
        let worker = self.handle.get().map(|ns| ns.runtime().worker());
        let state = match self.rooms.entry(room.to_owned()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let Some(worker) = worker else { return };
                Counters::add(&self.counters.rooms, 1);
                let name = room.to_owned();
                let actor =
                    RoomActor::start_in_arbiter(&worker, move |ctx: &mut Context<RoomActor>| {
                        ctx.set_mailbox_capacity(ROOM_MAILBOX);
                        RoomActor::new(name)
                    });
                v.insert(RoomState {
                    members: HashSet::new(),
                    actor,
                })
            }
        };
        state.members.insert(id.clone());
        if state
            .actor
            .try_send(RoomJoined { socket: id.clone() })
            .is_err()
        {
            tracing::warn!(room, "room actor lagging: its membership view may be stale");
        }
    }

    pub(crate) fn leave_room(&mut self, id: &SocketId, room: &str) {
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.remove(room) {
            return;
        }
        entry.shared.rooms_lock().remove(room);
        if let Some(state) = self.rooms.get_mut(room) {
            state.members.remove(id);
            let last = state.members.is_empty();
            if state
                .actor
                .try_send(RoomLeft {
                    socket: id.clone(),
                    last,
                })
                .is_err()
            {
                tracing::warn!(room, "room actor lagging: its membership view may be stale");
            }
            if last {
                self.rooms.remove(room);
                self.counters.rooms.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// The sockets `target` selects (each once).
    pub(crate) fn select(&self, target: &Target) -> Vec<SocketId> {
        let excluded: HashSet<&SocketId> = target
            .except
            .iter()
            .filter_map(|r| self.rooms.get(r))
            .flat_map(|m| m.members.iter())
            .chain(target.skip.iter())
            .collect();
        let keep = |id: &&SocketId| !excluded.contains(id);
        match target.rooms.as_slice() {
            [] => self.sockets.keys().filter(keep).cloned().collect(),
            [one] => self
                .rooms
                .get(one)
                .map(|m| m.members.iter().filter(keep).cloned().collect())
                .unwrap_or_default(),
            many => {
                let mut seen = HashSet::new();
                many.iter()
                    .filter_map(|r| self.rooms.get(r))
                    .flat_map(|m| m.members.iter())
                    .filter(keep)
                    .filter(|id| seen.insert(*id))
                    .cloned()
                    .collect()
            }
        }
    }

    /// Pushes one event into one socket's queue under the namespace policy.
    pub(crate) fn push(
        &mut self,
        id: &SocketId,
        item: Outbound,
        volatile: bool,
        report: &mut FanoutReport,
    ) -> bool {
        let policy = self.config.full_queue;
        let Some(entry) = self.sockets.get_mut(id) else {
            return false;
        };
        if entry.closing {
            report.not_queued.push(id.clone());
            return false;
        }
        let q = &entry.shared.outbound;
        let item = match q.push(item) {
            Ok(depth) => {
                self.counters.depth(depth);
                Counters::add(&self.counters.delivered, 1);
                report.queued += 1;
                return true;
            }
            Err(item) => item,
        };
        let ack_of = |item: &Outbound| match item {
            Outbound::Event {
                ack_id: Some(a), ..
            } => Some(*a),
            _ => None,
        };
        if volatile {
            self.counters.dropped(DropReason::Volatile);
            if let Some(a) = ack_of(&item) {
                entry.shared.acks.take(a);
            }
            report.not_queued.push(id.clone());
            return false;
        }
        match policy {
            FullQueuePolicy::DropOldest => {
                let (res, evicted) = q.push_evicting(item);
                if let Some(old) = evicted {
                    self.counters.dropped(DropReason::Oldest);
                    if let Some(a) = ack_of(&old) {
                        if let Some(p) = entry.shared.acks.take(a) {
                            if let Some(w) = p.waiter {
                                w.resolve(Err(AckError::NotDelivered));
                            }
                        }
                    }
                }
                match res {
                    Ok(depth) => {
                        self.counters.depth(depth);
                        Counters::add(&self.counters.delivered, 1);
                        report.queued += 1;
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
                    entry.shared.acks.take(a);
                }
                report.rejected.push(id.clone());
                report.not_queued.push(id.clone());
                false
            }
            FullQueuePolicy::Disconnect => {
                self.counters.dropped(DropReason::SlowConsumer);
                if let Some(a) = ack_of(&item) {
                    entry.shared.acks.take(a);
                }
                entry.closing = true;
                tracing::warn!(ns = %self.name, socket = %id, "outbound queue full: disconnecting slow socket");
                entry.shared.request_close(DisconnectReason::SlowConsumer);
                report.not_queued.push(id.clone());
                false
            }
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
        let shared = Arc::new(SocketShared::new(
            id.clone(),
            ns.clone(),
            msg.handshake,
            queue,
        ));
        let worker = ns.runtime().worker();
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
                closing: false,
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
        self.rooms.get(&msg.room).map(|r| r.actor.clone())
    }
}

impl Handler<Join> for NamespaceActor {
    type Result = ();
    fn handle(&mut self, msg: Join, _ctx: &mut Context<Self>) {
        for r in &msg.rooms {
            self.join_room(&msg.socket, r);
        }
    }
}

impl Handler<Leave> for NamespaceActor {
    type Result = ();
    fn handle(&mut self, msg: Leave, _ctx: &mut Context<Self>) {
        self.leave_room(&msg.socket, &msg.room);
    }
}

impl Handler<Broadcast> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _ctx: &mut Context<Self>) {
        Counters::add(&self.counters.emitted, 1);
        for r in &msg.target.rooms {
            if let Some(state) = self.rooms.get(r) {
                let _ = state.actor.try_send(RoomBroadcast);
            }
        }
        let targets = self.select(&msg.target);
        let reliable = self.logs.is_some() && !msg.volatile;
        let mut report = FanoutReport::default();
        let now = Instant::now();
        for id in &targets {
            let Some(entry) = self.sockets.get(id) else {
                continue;
            };
            if reliable {
                if let Some(client) = entry.client.clone() {
                    // Retained even while the socket is closing: the client
                    // gets it on its next attach.
                    let shared = entry.shared.clone();
                    let Some(logs) = self.logs.as_mut() else {
                        continue;
                    };
                    let seq = logs
                        .get_or_create(&client, now)
                        .append(msg.event.clone(), now);
                    let waiter = msg.ack.as_ref().map(|tx| {
                        let socket = id.clone();
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
                        None if msg.ack.is_some() => report.not_queued.push(id.clone()),
                        None => {}
                    }
                    continue;
                }
            }
            let mut ack_id = None;
            if let Some(tx) = &msg.ack {
                let pending = PendingAck {
                    waiter: Some(Waiter::Broadcast {
                        socket: id.clone(),
                        tx: tx.clone(),
                    }),
                    reliable: None,
                };
                match entry.shared.acks.register(pending) {
                    Ok(a) => {
                        ack_id = Some(a);
                        report.pending.push((entry.shared.clone(), a));
                    }
                    Err(_) => {
                        report.not_queued.push(id.clone());
                        continue;
                    }
                }
            }
            let item = Outbound::Event {
                event: msg.event.clone(),
                ack_id,
                delivery: None,
            };
            self.push(id, item, msg.volatile, &mut report);
        }
        if reliable {
            for client in self.select_away(&msg.target) {
                if let Some(logs) = self.logs.as_mut() {
                    logs.get_or_create(&client, now)
                        .append(msg.event.clone(), now);
                }
            }
        }
        // Recipients whose event never got queued are not waited for.
        if !report.not_queued.is_empty() {
            let nq: HashSet<&SocketId> = report.not_queued.iter().collect();
            report.pending.retain(|(s, _)| !nq.contains(&s.id));
        }
        if let Some(tx) = msg.report {
            let _ = tx.send(report);
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
                    .filter(|e| !e.closing)
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
                        e.closing = true;
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
            e.closing = true;
            e.shared.request_close(DisconnectReason::ServerShuttingDown);
        }
        let _ = ctx;
    }
}
