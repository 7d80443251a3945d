//! The server side of a socket: the [`Socket`] handle namespace code uses,
//! its handlers, and the socket actor that runs them one event at a time.
//!
//! Owns handler registration and dispatch (with panics caught) and the
//! close sequence (`disconnecting` → leave rooms → fail acks → `disconnect`).
//! It must not fan out: emits go through the namespace actor.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, Context, Handler};
use futures::channel::oneshot;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{AckResponder, AckResponses, Direction};
use crate::connection::{Handshake, SocketShared};
use crate::error::{AckError, EmitError};
use crate::id::SocketId;
use crate::messages::{ClientEvent, Close, Join, Leave, SocketClosed};
use crate::namespace::Namespace;
use crate::operators::BroadcastOperator;
use crate::payload::{Event, Payload};
use crate::queue::Outbound;
use crate::reason::DisconnectReason;

type EventHandler = Arc<dyn Fn(&Socket, &Payload, Option<AckResponder>) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Socket, &Event, Option<AckResponder>) + Send + Sync>;
type ReasonHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;

#[derive(Default)]
pub(crate) struct ServerHandlers {
    events: HashMap<String, EventHandler>,
    any: Vec<AnyHandler>,
    disconnecting: Vec<ReasonHandler>,
    disconnect: Vec<ReasonHandler>,
}

/// The server side of one connected socket (what `ns.on_connection` gets).
///
/// Cheap to clone. Handlers run on the socket's actor, one event at a time;
/// a handler that panics disconnects **its own socket** with
/// [`DisconnectReason::HandlerPanicked`] and the namespace carries on.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let bus = bus_core::Bus::start();
/// let ns = bus.of("/chat");
/// ns.on_connection(|socket| {
///     socket.join("lobby").unwrap();
///     socket.on("say", |socket, text: String, _ack| {
///         // to everyone in the lobby except the sender
///         let _ = socket.to("lobby").emit("said", &text);
///     });
/// });
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<SocketShared>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.shared.id)
            .field("ns", &self.shared.ns.name())
            .finish()
    }
}

impl Socket {
    /// The socket id (also the name of its own room).
    pub fn id(&self) -> &SocketId {
        &self.shared.id
    }

    /// The namespace this socket belongs to.
    pub fn namespace(&self) -> &Namespace {
        &self.shared.ns
    }

    /// What the client presented when connecting.
    pub fn handshake(&self) -> &Handshake {
        &self.shared.handshake
    }

    /// The persistent client id, if the client gave one.
    pub fn client_id(&self) -> Option<&str> {
        self.shared.handshake.client_id.as_deref()
    }

    /// True until the socket is closed.
    pub fn connected(&self) -> bool {
        self.shared.open.load(Ordering::Acquire) && !self.shared.closing.load(Ordering::Acquire)
    }

    /// Acknowledgements this socket still waits for from its client (for
    /// leak checks: entries leave on answer, timeout or close).
    pub fn pending_acks(&self) -> usize {
        self.shared.acks.len()
    }

    /// Handles `event` from the client, decoding the payload into `T` (one
    /// argument directly, several as a tuple). `ack` is `Some` when the
    /// client asked for an answer. A payload that does not decode is logged
    /// and skipped. Replaces an earlier handler for the same event.
    pub fn on<T, F>(&self, event: impl Into<String>, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(&Socket, T, Option<AckResponder>) + Send + Sync + 'static,
    {
        let name: String = event.into();
        let ev_name = name.clone();
        let wrapped: EventHandler = Arc::new(move |socket, payload, ack| {
            match payload.decode::<T>() {
                Ok(value) => handler(socket, value, ack),
                Err(e) => {
                    tracing::warn!(socket = %socket.id(), event = %ev_name, error = %e, "event payload did not decode; skipped")
                }
            }
        });
        self.handlers_mut().events.insert(name, wrapped);
    }

    /// Handles every event from the client (called before the specific
    /// handler). Gets the ack responder only when no specific handler exists.
    pub fn on_any<F>(&self, handler: F)
    where
        F: Fn(&Socket, &Event, Option<AckResponder>) + Send + Sync + 'static,
    {
        self.handlers_mut().any.push(Arc::new(handler));
    }

    /// Runs when the socket starts closing, while [`rooms`](Self::rooms) is still known.
    pub fn on_disconnecting<F>(&self, handler: F)
    where
        F: Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers_mut().disconnecting.push(Arc::new(handler));
    }

    /// Runs once the socket has left its rooms and its pending acks failed.
    pub fn on_disconnect<F>(&self, handler: F)
    where
        F: Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers_mut().disconnect.push(Arc::new(handler));
    }

    fn handlers_mut(&self) -> std::sync::RwLockWriteGuard<'_, ServerHandlers> {
        self.shared
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `event` with one argument to this socket's client.
    ///
    /// # Errors
    /// [`EmitError::Encode`], [`EmitError::Busy`] (namespace mailbox full) or
    /// [`EmitError::Closed`].
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.own().emit(event, data)
    }

    /// Sends `event` with a raw payload (several arguments, or binary).
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
    ) -> Result<(), EmitError> {
        self.own().emit_payload(event, payload)
    }

    /// Sends `event` and waits up to `timeout` for the client's answer.
    ///
    /// # Errors
    /// [`AckError::Timeout`], [`AckError::Closed`] (socket closed while
    /// waiting, or could not send), [`AckError::Decode`].
    pub fn emit_with_ack<T, R>(
        &self,
        event: impl Into<String>,
        data: &T,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let fut = self
            .own()
            .timeout(timeout)
            .emit_with_ack::<R, T>(event, data);
        async move { the_answer(fut.await) }
    }

    /// As [`emit_with_ack`](Self::emit_with_ack) with a raw payload, and
    /// the client's answer handed over raw: a remote client may answer with
    /// binary data (attachments), which [`emit_with_ack`](Self::emit_with_ack)
    /// cannot decode.
    ///
    /// # Errors
    /// [`AckError::Timeout`], [`AckError::Closed`] (socket closed while
    /// waiting, or could not send), [`AckError::NotDelivered`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::executor::block_on;
    /// use bus_core::Payload;
    /// let bus = bus_core::Bus::start();
    /// let ns = bus.of("/");
    /// let _client = block_on(ns.connect_with(Default::default(), |c| {
    ///     c.on("photo", |_: (), ack| {
    ///         let _ = ack.unwrap().send_payload(Payload::binary(vec![0x89, 0x50]));
    ///     });
    /// })).unwrap();
    /// let socket = block_on(ns.fetch_sockets()).unwrap().remove(0);
    /// let answer = block_on(socket.emit_with_ack_payload("photo", Payload::empty(), Duration::from_secs(5))).unwrap();
    /// assert_eq!(&answer.attachments[0][..], &[0x89, 0x50]);
    /// ```
    pub fn emit_with_ack_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        let fut = self
            .own()
            .timeout(timeout)
            .emit_with_ack_payload(event, payload);
        async move { the_answer(fut.await) }
    }

    fn own(&self) -> BroadcastOperator {
        self.shared.ns.to(self.shared.id.as_str())
    }

    /// Joins `room` (created on first join). Applied by the namespace in
    /// order with every other join, leave and broadcast.
    ///
    /// # Errors
    /// [`EmitError::Busy`] when the namespace mailbox is full, [`EmitError::Closed`].
    pub fn join(&self, room: impl Into<String>) -> Result<(), EmitError> {
        let room = room.into();
        self.shared.rooms_lock().insert(room.clone());
        self.shared.ns.send_command(Join {
            socket: self.shared.id.clone(),
            rooms: vec![room],
        })
    }

    /// Leaves `room` (removed when empty).
    ///
    /// # Errors
    /// As [`join`](Self::join).
    pub fn leave(&self, room: impl Into<String>) -> Result<(), EmitError> {
        let room = room.into();
        self.shared.rooms_lock().remove(&room);
        self.shared.ns.send_command(Leave {
            socket: self.shared.id.clone(),
            room,
        })
    }

    /// The rooms this socket is in (including its own id).
    pub fn rooms(&self) -> Vec<String> {
        self.shared.rooms_lock().iter().cloned().collect()
    }

    /// Broadcast to `room`, excluding this socket.
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Broadcast to everyone except members of `room` and this socket.
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Broadcast to the whole namespace except this socket.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.shared.ns.operator().skipping(self.shared.id.clone())
    }

    /// Disconnects this socket (`server namespace disconnect`).
    pub fn disconnect(&self) {
        self.shared
            .request_close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Closes this socket's underlying connection, like Socket.IO's
    /// `socket.conn.close()`: the socket closes with
    /// [`DisconnectReason::ForcedClose`], and its client side receives
    /// `Outbound::Disconnect { reason: ForcedClose }` after everything
    /// queued before. A gateway closes the transport for it (see
    /// [`DisconnectReason::closes_transport`]), so a remote client sees
    /// `transport close` and reconnects; an in-process client is simply
    /// disconnected with that reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use bus_core::DisconnectReason;
    /// let bus = bus_core::Bus::start();
    /// let ns = bus.of("/");
    /// ns.on_connection(|s| s.on("kick", |s, _: (), _| s.close_transport()));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let client = futures::executor::block_on(ns.connect_with(Default::default(), move |c| {
    ///     c.on_disconnect(move |reason| { let _ = tx.send(reason); });
    /// })).unwrap();
    /// client.emit("kick", &()).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), DisconnectReason::ForcedClose);
    /// ```
    pub fn close_transport(&self) {
        self.shared.request_close(DisconnectReason::ForcedClose);
    }
}

/// The one answer of an `emit_with_ack` to a single socket.
fn the_answer<R>(responses: Result<AckResponses<R>, EmitError>) -> Result<R, AckError> {
    let mut responses = responses.map_err(|_| AckError::Closed)?;
    if let Some((_, r)) = responses.answered.pop() {
        return Ok(r);
    }
    match responses.failed.pop() {
        Some((_, e)) => Err(e),
        None => Err(AckError::Closed),
    }
}

/// Runs `f`; returns false when it panicked.
fn guarded(what: &str, socket: &SocketId, f: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(_) => {
            tracing::error!(socket = %socket, handler = what, "socket handler panicked; disconnecting the socket");
            false
        }
    }
}

/// The actor behind one server-side socket.
pub(crate) struct SocketActor {
    socket: Socket,
    closed: bool,
    /// Tells an in-process client that `on_connection` has run.
    ready: Option<oneshot::Sender<()>>,
}

impl SocketActor {
    pub(crate) fn new(shared: Arc<SocketShared>, ready: Option<oneshot::Sender<()>>) -> Self {
        SocketActor {
            socket: Socket { shared },
            closed: false,
            ready,
        }
    }

    fn close(&mut self, reason: DisconnectReason, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        self.closed = true;
        let shared = &self.socket.shared;
        shared.closing.store(true, Ordering::Release);
        tracing::debug!(socket = %shared.id, ns = shared.ns.name(), %reason, "socket closing");
        let (disconnecting, disconnect) = {
            let h = shared.handlers.read().unwrap_or_else(|e| e.into_inner());
            (h.disconnecting.clone(), h.disconnect.clone())
        };
        for h in disconnecting {
            guarded("disconnecting", &shared.id, || h(&self.socket, reason));
        }
        shared.open.store(false, Ordering::Release);
        // The namespace queues the `Disconnect` item after everything this
        // socket's handlers emitted or answered (same mailbox); if it is
        // gone, queue it here.
        let notify = reason.is_server_initiated().then_some(reason);
        if notify.is_some() && !shared.ns.running() {
            let (_, _) = shared
                .outbound
                .push_evicting(Outbound::Disconnect { reason });
        }
        shared.ns.send_control(SocketClosed {
            socket: shared.id.clone(),
            disconnect: notify,
        });
        shared.acks.fail_all();
        for h in disconnect {
            guarded("disconnect", &shared.id, || h(&self.socket, reason));
        }
        // Handlers may capture socket handles: drop them to break cycles.
        *shared.handlers.write().unwrap_or_else(|e| e.into_inner()) = ServerHandlers::default();
        ctx.stop();
    }
}

impl Actor for SocketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let hooks = self.socket.shared.ns.connection_hooks();
        for hook in hooks {
            let socket = self.socket.clone();
            if !guarded("on_connection", &self.socket.shared.id, || hook(socket)) {
                self.close(DisconnectReason::HandlerPanicked, ctx);
                break;
            }
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(());
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        // Every exit path (bus stopping included) goes through the same cleanup.
        if !self.closed {
            let shared = &self.socket.shared;
            shared.open.store(false, Ordering::Release);
            shared.ns.send_control(SocketClosed {
                socket: shared.id.clone(),
                disconnect: None,
            });
            shared.acks.fail_all();
        }
    }
}

impl Handler<ClientEvent> for SocketActor {
    type Result = ();

    fn handle(&mut self, msg: ClientEvent, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        let (specific, any) = {
            let h = self
                .socket
                .shared
                .handlers
                .read()
                .unwrap_or_else(|e| e.into_inner());
            (h.events.get(&msg.event.name).cloned(), h.any.clone())
        };
        let used = Arc::new(AtomicBool::new(false));
        let responder = |used: &Arc<AtomicBool>| {
            msg.ack_id.map(|ack_id| AckResponder {
                socket: self.socket.shared.clone(),
                ack_id,
                direction: Direction::ToClient,
                used: used.clone(),
            })
        };
        let mut ok = true;
        for (i, h) in any.iter().enumerate() {
            let ack = if specific.is_none() && i == 0 {
                responder(&used)
            } else {
                None
            };
            ok &= guarded("on_any", &self.socket.shared.id, || {
                h(&self.socket, &msg.event, ack)
            });
        }
        if let Some(h) = specific {
            let ack = responder(&used);
            ok &= guarded(&msg.event.name, &self.socket.shared.id, || {
                h(&self.socket, &msg.event.payload, ack)
            });
        } else if any.is_empty() {
            tracing::debug!(socket = %self.socket.shared.id, event = %msg.event.name, "no handler for event");
        }
        if !ok {
            self.close(DisconnectReason::HandlerPanicked, ctx);
        }
    }
}

impl Handler<Close> for SocketActor {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        self.close(msg.reason, ctx);
    }
}
