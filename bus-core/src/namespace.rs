//! Namespaces: the [`Namespace`] handle and the namespace actor, which owns
//! the namespace's sockets, its room index and the fan-out.
//!
//! Every join, leave, broadcast and selection of one namespace is a message
//! to this one actor, so they are applied in a single order: per-room order
//! and per-sender order hold while sockets join and leave during a burst,
//! and a multi-room broadcast reaches each socket once. Fan-out pushes
//! `Arc<Event>` clones into each recipient's bounded queue with `try_send`
//! (never one actor message per recipient, never `do_send`). This module
//! must not run user handlers (socket actors do) nor know wire formats.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix::dev::ToEnvelope;
use actix::{Actor, AsyncContext, Context, Handler, Message};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{AckResponses, PendingAck, Waiter};
use crate::bus::Runtime;
use crate::client::{Client, ConnectOptions};
use crate::config::{DeliveryGuarantee, FullQueuePolicy, NamespaceConfig};
use crate::connection::{Connection, Handshake, SocketShared};
use crate::error::{ConnectError, EmitError};
use crate::id::SocketId;
use crate::messages::{
    Broadcast, Connect, FanoutReport, Join, Leave, ReliableAck, Select, SelectOp, Shutdown,
    SocketClosed, Target,
};
use crate::metrics::{Counters, DropReason, NamespaceMetrics};
use crate::middleware::{self, Middleware};
use crate::operators::BroadcastOperator;
use crate::payload::Event;
use crate::queue::{DeliveryInfo, Outbound, OutboundQueue, Waker};
use crate::reason::DisconnectReason;
use crate::reliable::{ClientLogs, Delivery};
use crate::socket::{Socket, SocketActor};
use crate::timer::Timer;

pub(crate) type ConnectionHook = Arc<dyn Fn(Socket) + Send + Sync>;

/// Middleware and connection handlers, shared by a dynamic parent and its children.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) middleware: RwLock<Vec<Middleware>>,
    pub(crate) on_connection: RwLock<Vec<ConnectionHook>>,
}

impl Hooks {
    pub(crate) fn add_middleware(&self, m: Middleware) {
        self.middleware
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(m);
    }
    pub(crate) fn add_connection(&self, h: ConnectionHook) {
        self.on_connection
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }
}

pub(crate) struct NsShared {
    name: String,
    config: NamespaceConfig,
    addr: actix::Addr<NamespaceActor>,
    counters: Arc<Counters>,
    hooks: Arc<Hooks>,
    rt: Arc<Runtime>,
}

/// A handle to one namespace (cheap to clone).
///
/// Get one with [`Bus::of`](crate::Bus::of) (create-or-get) or
/// [`Bus::namespace`](crate::Bus::namespace) (lookup, including dynamic
/// children). Emits from a `Namespace` reach every selected socket.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures::executor::block_on;
/// let bus = bus_core::Bus::start();
/// let orders = bus.of("/orders");
/// let client = block_on(orders.connect_with(Default::default(), |c| {
///     c.on("created", |id: u64, _ack| assert_eq!(id, 7));
/// })).unwrap();
/// orders.emit("created", &7u64).unwrap();
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<NsShared>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl Namespace {
    pub(crate) fn start(
        name: String,
        config: NamespaceConfig,
        hooks: Arc<Hooks>,
        rt: Arc<Runtime>,
    ) -> Namespace {
        let counters = Arc::new(Counters::default());
        let cap = config.command_capacity.max(16);
        let logs = match config.delivery {
            DeliveryGuarantee::AtLeastOnce(s) => Some(ClientLogs::new(s)),
            DeliveryGuarantee::AtMostOnce => None,
        };
        let actor_name = name.clone();
        let actor_counters = counters.clone();
        let slot: Arc<std::sync::OnceLock<Namespace>> = Arc::new(std::sync::OnceLock::new());
        let actor_slot = slot.clone();
        let addr =
            NamespaceActor::start_in_arbiter(&rt.main, move |ctx: &mut Context<NamespaceActor>| {
                ctx.set_mailbox_capacity(cap);
                NamespaceActor {
                    name: actor_name,
                    handle: actor_slot,
                    config,
                    counters: actor_counters,
                    sockets: HashMap::new(),
                    rooms: HashMap::new(),
                    logs,
                    clients: HashMap::new(),
                    away_rooms: HashMap::new(),
                }
            });
        let ns = Namespace {
            inner: Arc::new(NsShared {
                name,
                config,
                addr,
                counters,
                hooks,
                rt,
            }),
        };
        let _ = slot.set(ns.clone());
        ns
    }

    /// The namespace name (e.g. `/orders`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The settings this namespace was created with.
    pub fn config(&self) -> &NamespaceConfig {
        &self.inner.config
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub(crate) fn timer(&self) -> &Timer {
        &self.inner.rt.timer
    }

    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.rt
    }

    pub(crate) fn connection_hooks(&self) -> Vec<ConnectionHook> {
        self.inner
            .hooks
            .on_connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers a handler run for every new socket (on the socket's actor,
    /// before it handles any client event). A panic in it disconnects that
    /// socket with `handler panicked`.
    pub fn on_connection<F>(&self, handler: F)
    where
        F: Fn(Socket) + Send + Sync + 'static,
    {
        self.inner.hooks.add_connection(Arc::new(handler));
    }

    /// Adds a connect middleware (run in order; the first `Err` rejects).
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_core::{Bus, ConnectError, ConnectOptions};
    /// let bus = Bus::start();
    /// let ns = bus.of("/admin");
    /// ns.use_middleware(|hs| {
    ///     if hs.auth["token"] == "secret" { Ok(()) } else { Err(ConnectError::new("not authorized")) }
    /// });
    /// let err = futures::executor::block_on(ns.connect(ConnectOptions::default())).unwrap_err();
    /// assert_eq!(err.message, "not authorized");
    /// ```
    pub fn use_middleware<F>(&self, middleware: F)
    where
        F: Fn(&Handshake) -> Result<(), ConnectError> + Send + Sync + 'static,
    {
        self.inner.hooks.add_middleware(Arc::new(middleware));
    }

    /// Connects a remote client (the gateway's entry point): runs the
    /// middleware, creates the server-side socket and returns the client
    /// side. `waker` is called once per batch when the outbound queue
    /// becomes non-empty.
    ///
    /// # Errors
    /// The middleware's [`ConnectError`], or "bus is not running".
    pub fn connect_remote(
        &self,
        handshake: Handshake,
        waker: Waker,
    ) -> impl Future<Output = Result<Connection, ConnectError>> + Send + 'static {
        let req = self.inner.addr.send(Connect { handshake, waker });
        async move {
            match req.await {
                Ok(r) => r,
                Err(_) => Err(ConnectError::new(
                    "bus is not running: start the bus before connecting",
                )),
            }
        }
    }

    /// Connects an in-process [`Client`].
    ///
    /// # Errors
    /// As [`connect_remote`](Self::connect_remote).
    pub fn connect(
        &self,
        options: ConnectOptions,
    ) -> impl Future<Output = Result<Client, ConnectError>> + Send + 'static {
        self.connect_with(options, |_| {})
    }

    /// Connects an in-process [`Client`], running `setup` (register handlers
    /// there) before the client handles anything, so at-least-once
    /// redeliveries on attach are not missed.
    ///
    /// # Errors
    /// As [`connect_remote`](Self::connect_remote).
    pub fn connect_with<F>(
        &self,
        options: ConnectOptions,
        setup: F,
    ) -> impl Future<Output = Result<Client, ConnectError>> + Send + 'static
    where
        F: FnOnce(&Client) + Send + 'static,
    {
        Client::connect(self.clone(), options, setup)
    }

    pub(crate) fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// Targets `room` (repeatable via the returned operator).
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.operator().to(room)
    }

    /// Targets everyone except the members of `room`.
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.operator().except(room)
    }

    /// Marks the next emit volatile.
    pub fn volatile(&self) -> BroadcastOperator {
        self.operator().volatile()
    }

    /// Sets the ack timeout of the next `emit_with_ack`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// Emits to every socket of the namespace.
    ///
    /// # Errors
    /// See [`BroadcastOperator::emit`].
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.operator().emit(event, data)
    }

    /// Emits to every socket and collects their answers.
    ///
    /// # Errors
    /// See [`BroadcastOperator::emit_with_ack`].
    pub fn emit_with_ack<R, T>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> impl Future<Output = Result<AckResponses<R>, EmitError>> + Send + 'static
    where
        R: DeserializeOwned + Send + 'static,
        T: Serialize + ?Sized,
    {
        self.operator().emit_with_ack(event, data)
    }

    /// Every socket of the namespace.
    ///
    /// # Errors
    /// See [`BroadcastOperator::fetch_sockets`].
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Vec<Socket>, EmitError>> + Send + 'static {
        self.operator().fetch_sockets()
    }

    /// Makes every socket join `room`.
    ///
    /// # Errors
    /// See [`BroadcastOperator::sockets_join`].
    pub fn sockets_join(&self, room: impl Into<String>) -> Result<(), EmitError> {
        self.operator().sockets_join(room)
    }

    /// Makes every socket leave `room`.
    ///
    /// # Errors
    /// See [`BroadcastOperator::sockets_leave`].
    pub fn sockets_leave(&self, room: impl Into<String>) -> Result<(), EmitError> {
        self.operator().sockets_leave(room)
    }

    /// Disconnects every socket of the namespace.
    ///
    /// # Errors
    /// See [`BroadcastOperator::disconnect_sockets`].
    pub fn disconnect_sockets(&self) -> Result<(), EmitError> {
        self.operator().disconnect_sockets()
    }

    /// This namespace's counters now.
    pub fn metrics(&self) -> NamespaceMetrics {
        self.inner.counters.snapshot(&self.inner.name)
    }

    pub(crate) fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let req = self.inner.addr.send(Shutdown);
        async move {
            let _ = req.await;
        }
    }

    /// Sends a command without waiting; `Busy` when the mailbox is full.
    pub(crate) fn send_command<M>(&self, msg: M) -> Result<(), EmitError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        NamespaceActor: Handler<M>,
        <NamespaceActor as Actor>::Context: ToEnvelope<NamespaceActor, M>,
    {
        self.inner.addr.try_send(msg).map_err(|e| match e {
            actix::prelude::SendError::Full(_) => EmitError::Busy,
            actix::prelude::SendError::Closed(_) => EmitError::Closed,
        })
    }

    /// Sends a control message that must not be lost (socket closed, acks):
    /// `try_send`, falling back to `do_send` only when the mailbox is full.
    /// Control messages are one per socket event, never per fan-out recipient.
    pub(crate) fn send_control<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        NamespaceActor: Handler<M>,
        <NamespaceActor as Actor>::Context: ToEnvelope<NamespaceActor, M>,
    {
        if let Err(actix::prelude::SendError::Full(msg)) = self.inner.addr.try_send(msg) {
            self.inner.addr.do_send(msg);
        }
    }
}

struct Entry {
    shared: Arc<SocketShared>,
    rooms: HashSet<String>,
    closing: bool,
    client: Option<String>,
}

/// An at-least-once client: its current socket and, while away, its rooms.
#[derive(Default)]
struct ClientState {
    socket: Option<SocketId>,
    rooms: BTreeSet<String>,
}

/// The actor owning one namespace's sockets, rooms and fan-out.
pub(crate) struct NamespaceActor {
    name: String,
    /// This actor's own handle (set right after start, before any message).
    handle: Arc<std::sync::OnceLock<Namespace>>,
    config: NamespaceConfig,
    counters: Arc<Counters>,
    sockets: HashMap<SocketId, Entry>,
    rooms: HashMap<String, HashSet<SocketId>>,
    logs: Option<ClientLogs<Arc<Event>>>,
    clients: HashMap<String, ClientState>,
    away_rooms: HashMap<String, HashSet<String>>,
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
    fn join_room(&mut self, id: &SocketId, room: &str) {
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.insert(room.to_owned()) {
            return;
        }
        entry.shared.rooms_lock().insert(room.to_owned());
        let members = self.rooms.entry(room.to_owned()).or_insert_with(|| {
            Counters::add(&self.counters.rooms, 1);
            HashSet::new()
        });
        members.insert(id.clone());
    }

    fn leave_room(&mut self, id: &SocketId, room: &str) {
        let Some(entry) = self.sockets.get_mut(id) else {
            return;
        };
        if !entry.rooms.remove(room) {
            return;
        }
        entry.shared.rooms_lock().remove(room);
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(id);
            if members.is_empty() {
                self.rooms.remove(room);
                self.counters.rooms.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// The sockets `target` selects (each once).
    fn select(&self, target: &Target) -> Vec<SocketId> {
        let excluded: HashSet<&SocketId> = target
            .except
            .iter()
            .filter_map(|r| self.rooms.get(r))
            .flat_map(|m| m.iter())
            .chain(target.skip.iter())
            .collect();
        let keep = |id: &&SocketId| !excluded.contains(id);
        match target.rooms.as_slice() {
            [] => self.sockets.keys().filter(keep).cloned().collect(),
            [one] => self
                .rooms
                .get(one)
                .map(|m| m.iter().filter(keep).cloned().collect())
                .unwrap_or_default(),
            many => {
                let mut seen = HashSet::new();
                many.iter()
                    .filter_map(|r| self.rooms.get(r))
                    .flat_map(|m| m.iter())
                    .filter(keep)
                    .filter(|id| seen.insert(*id))
                    .cloned()
                    .collect()
            }
        }
    }

    /// Absent at-least-once clients `target` selects (by remembered rooms).
    fn select_away(&self, target: &Target) -> Vec<String> {
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

    /// Pushes one event into one socket's queue under the namespace policy.
    fn push(
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
                                w.resolve(Err(crate::error::AckError::NotDelivered));
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

    /// At-least-once: sends the client's gap notice and whatever its log
    /// has sendable, as far as its queue has room.
    fn flush(&mut self, client: &str, mut waiter: Option<(u64, Waiter)>) {
        let Some(sid) = self.clients.get(client).and_then(|c| c.socket.clone()) else {
            return;
        };
        let Some(shared) = self
            .sockets
            .get(&sid)
            .filter(|e| !e.closing)
            .map(|e| e.shared.clone())
        else {
            return;
        };
        let Some(logs) = self.logs.as_mut() else {
            return;
        };
        let Some(log) = logs.get_mut(client) else {
            return;
        };
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
            let pending = PendingAck {
                waiter: w,
                reliable: Some((client.to_owned(), d.seq)),
            };
            let Ok(ack_id) = shared.acks.register(pending) else {
                return;
            };
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
                    self.counters.depth(depth);
                    Counters::add(&self.counters.delivered, 1);
                }
                Err(_) => {
                    // Stays in the log: redelivered after the ack deadline.
                    shared.acks.take(ack_id);
                }
            }
        }
        Counters::add(&self.counters.redelivered, redelivered);
        self.sync_retention_counters();
    }

    fn sync_retention_counters(&self) {
        if let Some(logs) = &self.logs {
            let s = logs.stats();
            self.counters.dropped_retention.store(
                s.dropped_by_retention() + s.dropped_by_eviction,
                Ordering::Relaxed,
            );
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        let Some(logs) = self.logs.as_mut() else {
            return;
        };
        logs.expire_all(now);
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
        let attached: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.socket.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for c in attached {
            self.flush(&c, None);
        }
        self.sync_retention_counters();
    }

    fn attach_client(&mut self, client: &str, sid: &SocketId) {
        let now = Instant::now();
        let old = self.clients.get(client).and_then(|c| c.socket.clone());
        if let Some(old) = old {
            // A new connection replaces the old one.
            if let Some(e) = self.sockets.get_mut(&old) {
                e.client = None;
                e.closing = true;
                e.shared
                    .request_close(DisconnectReason::ServerNamespaceDisconnect);
            }
        }
        let state = self.clients.entry(client.to_owned()).or_default();
        state.socket = Some(sid.clone());
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

impl Handler<Connect> for NamespaceActor {
    type Result = Result<Connection, ConnectError>;

    fn handle(&mut self, msg: Connect, _ctx: &mut Context<Self>) -> Self::Result {
        let ns = msg_namespace(self)?;
        let chain = ns
            .inner
            .hooks
            .middleware
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
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
        let worker = ns.inner.rt.worker();
        let cap = self.config.inbound_capacity.max(16);
        let actor_shared = shared.clone();
        let addr = SocketActor::start_in_arbiter(&worker, move |ctx: &mut Context<SocketActor>| {
            ctx.set_mailbox_capacity(cap);
            SocketActor::new(actor_shared)
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
                    if entry.closing {
                        continue;
                    }
                    let shared = entry.shared.clone();
                    let Some(logs) = self.logs.as_mut() else {
                        continue;
                    };
                    let seq = logs
                        .get_or_create(&client, now)
                        .append(msg.event.clone(), now);
                    let waiter = msg.ack.as_ref().map(|tx| {
                        (
                            seq,
                            Waiter::Broadcast {
                                socket: id.clone(),
                                tx: tx.clone(),
                            },
                        )
                    });
                    self.flush(&client, waiter);
                    report.queued += 1;
                    let _ = shared;
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
            self.sync_retention_counters();
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

impl Handler<ReliableAck> for NamespaceActor {
    type Result = ();

    fn handle(&mut self, msg: ReliableAck, _ctx: &mut Context<Self>) {
        if let Some(log) = self.logs.as_mut().and_then(|l| l.get_mut(&msg.client)) {
            log.ack(msg.seq);
        }
        self.flush(&msg.client, None);
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
