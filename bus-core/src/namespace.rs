//! The [`Namespace`] handle: configuration hooks (middleware, connection
//! handlers), connecting clients, operators and metrics.
//!
//! Owns the public face of a namespace; the state and the fan-out live in
//! the namespace actor (`namespace_actor.rs`). It must not touch sockets or
//! rooms directly: everything goes to the actor as a message.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use actix::dev::ToEnvelope;
use actix::{Actor, Context, Handler, Message};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::AckResponses;
use crate::bus::Runtime;
use crate::client::{Client, ConnectOptions};
use crate::config::NamespaceConfig;
use crate::connection::{Connection, Handshake};
use crate::error::{ConnectError, EmitError};
use crate::messages::{Connect, RoomInfoRequest, RoomLookup, Shutdown};
use crate::metrics::{Counters, NamespaceMetrics};
use crate::middleware::Middleware;
use crate::namespace_actor::NamespaceActor;
use crate::operators::BroadcastOperator;
use crate::payload::Payload;
use crate::queue::Waker;
use crate::room::RoomInfo;
use crate::socket::Socket;
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
        let actor_name = name.clone();
        let actor_counters = counters.clone();
        let slot: Arc<OnceLock<Namespace>> = Arc::new(OnceLock::new());
        let actor_slot = slot.clone();
        let addr =
            NamespaceActor::start_in_arbiter(&rt.main, move |ctx: &mut Context<NamespaceActor>| {
                ctx.set_mailbox_capacity(cap);
                NamespaceActor::new(actor_name, actor_slot, config, actor_counters)
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

    pub(crate) fn middleware_chain(&self) -> Vec<Middleware> {
        self.inner
            .hooks
            .middleware
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        let req = self.inner.addr.send(Connect {
            handshake,
            waker,
            ready: None,
            shard: None,
            arbiter: if self.runtime().remote_sockets_on_caller {
                actix::Arbiter::try_current()
            } else {
                None
            },
        });
        async move {
            match req.await {
                Ok(r) => r,
                Err(_) => Err(ConnectError::new(
                    "bus is not running: start the bus before connecting",
                )),
            }
        }
    }

    /// As `connect_remote`, and resolves only once the socket's
    /// `on_connection` handlers have run (for in-process clients: joins made
    /// there are applied before anything the caller does next).
    pub(crate) fn connect_when_ready(
        &self,
        handshake: Handshake,
        waker: Waker,
        shard: usize,
    ) -> impl Future<Output = Result<Connection, ConnectError>> + Send + 'static {
        let (tx, rx) = futures::channel::oneshot::channel();
        let req = self.inner.addr.send(Connect {
            handshake,
            waker,
            ready: Some(tx),
            shard: Some(shard),
            arbiter: None,
        });
        async move {
            let conn = match req.await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(ConnectError::new(
                        "bus is not running: start the bus before connecting",
                    ))
                }
            };
            // Cancelled only if the socket actor died first; go on either way.
            let _ = rx.await;
            Ok(conn)
        }
    }

    /// Connects an in-process [`Client`]. Resolves once the namespace's
    /// `on_connection` handlers have run for the new socket, so rooms they
    /// join are joined before anything the caller does next.
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
    /// there) before the client handles anything, so neither events emitted
    /// by `on_connection` nor at-least-once redeliveries on attach are
    /// missed. Resolves once the `on_connection` handlers have run.
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

    /// Emits a raw payload to every socket and collects their raw answers
    /// (binary attachments included).
    ///
    /// # Errors
    /// See [`BroadcastOperator::emit_with_ack_payload`].
    pub fn emit_with_ack_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
    ) -> impl Future<Output = Result<AckResponses<Payload>, EmitError>> + Send + 'static {
        self.operator().emit_with_ack_payload(event, payload)
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

    /// A snapshot of `room` from its room actor, started by the first query
    /// (`None` if the room does not exist).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let bus = bus_core::Bus::start();
    /// let ns = bus.of("/");
    /// let client = block_on(ns.connect(Default::default())).unwrap();
    /// ns.to(client.id().as_str()).sockets_join("news").unwrap();
    /// let info = block_on(ns.room("news")).unwrap();
    /// assert_eq!(info.members, vec![client.id().clone()]);
    /// assert!(block_on(ns.room("nobody-here")).is_none());
    /// ```
    pub fn room(
        &self,
        room: impl Into<String>,
    ) -> impl Future<Output = Option<RoomInfo>> + Send + 'static {
        let lookup = self.inner.addr.send(RoomLookup { room: room.into() });
        async move {
            let actor = lookup.await.ok()??;
            actor.send(RoomInfoRequest).await.ok()
        }
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

    /// Whether the namespace actor is still running.
    pub(crate) fn running(&self) -> bool {
        self.inner.addr.connected()
    }

    /// Sends a command without waiting; `Busy` when the mailbox is full.
    pub(crate) fn send_command<M>(&self, msg: M) -> Result<(), EmitError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        NamespaceActor: Handler<M>,
        <NamespaceActor as Actor>::Context: ToEnvelope<NamespaceActor, M>,
    {
        self.try_command(msg).map_err(|(e, _)| e)
    }

    /// As [`send_command`](Self::send_command), handing the message back
    /// with the error (so an emit can hand its event back).
    pub(crate) fn try_command<M>(&self, msg: M) -> Result<(), (EmitError, M)>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        NamespaceActor: Handler<M>,
        <NamespaceActor as Actor>::Context: ToEnvelope<NamespaceActor, M>,
    {
        self.inner.addr.try_send(msg).map_err(|e| match e {
            actix::prelude::SendError::Full(m) => (EmitError::busy(), m),
            actix::prelude::SendError::Closed(m) => (EmitError::closed(), m),
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
