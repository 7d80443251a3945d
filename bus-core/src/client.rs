//! The in-process client: the client side of a socket for code running in
//! the same process, built on [`Connection`] exactly like a remote client.
//!
//! Owns client-side handler dispatch (on the worker's dispatcher actor:
//! run by its fan-out shard right after a broadcast's push, or woken once
//! per batch, see `dispatch.rs` and `shard.rs`), client→server acks and the
//! at-least-once auto-ack. It must not reach into the namespace except
//! through the `Connection`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::channel::oneshot;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{decode_ack, AckMap, AckResponder, Direction, PendingAck, Waiter};
use crate::connection::{Connection, Handshake, SocketShared};
use crate::dispatch::{Dispatcher, Ready, Slot};
use crate::error::{AckError, ConnectError, EmitError, InboundError};
use crate::handlers::{AnyHandler, EventHandler, GapHandler, Handlers, ReasonHandler, TableGuard};
use crate::id::SocketId;
use crate::namespace::Namespace;
use crate::payload::{Event, Payload};
use crate::queue::{DeliveryInfo, Outbound, Waker};
use crate::reason::DisconnectReason;
use crate::reliable::Gap;

/// How an in-process client connects.
///
/// # Examples
///
/// ```
/// let opts = bus_core::ConnectOptions {
///     auth: serde_json::json!({"token": "t"}),
///     client_id: Some("worker-1".into()),
///     ..Default::default()
/// };
/// assert!(!opts.manual_ack);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The auth object middleware sees.
    pub auth: serde_json::Value,
    /// Query parameters middleware sees.
    pub query: HashMap<String, String>,
    /// Persistent client id (at-least-once namespaces retain events for it).
    pub client_id: Option<String>,
    /// At-least-once: when false (default) an event is acknowledged when its
    /// handler returns without panicking; when true the handler must answer
    /// its [`AckResponder`] itself (possibly later, from another thread).
    pub manual_ack: bool,
}

/// An event as the client received it, for [`Client::on_any`].
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The shared event.
    pub event: Arc<Event>,
    /// At-least-once metadata (sequence number, redelivered flag).
    pub delivery: Option<DeliveryInfo>,
}

struct Inner {
    conn: Connection,
    ns: Namespace,
    acks: AckMap,
    manual_ack: bool,
    dispatcher: Arc<Dispatcher>,
    slot: Slot,
}

struct SlotGuard(Option<(Arc<Dispatcher>, Slot)>);

impl SlotGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if let Some((dispatcher, slot)) = self.0.take() {
            dispatcher.unregister(slot);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The table lives in the socket's shared state, which may outlive
        // the client (room snapshots): its handlers go with the client.
        self.conn.shared.client_table.close();
        self.dispatcher.unregister(self.slot);
    }
}

impl Inner {
    /// Whether the client finished (its handler table is taken out).
    fn finished(&self) -> bool {
        !self.conn.shared.client_table.is_open()
    }

    /// Runs once: takes the handlers out (they may capture client handles:
    /// cycles), fails pending acks and runs the disconnect handlers.
    fn finish(&self, reason: DisconnectReason) {
        let Some(table) = self.conn.shared.client_table.close() else {
            return;
        };
        self.acks.fail_all();
        for h in &table.disconnect {
            if catch_unwind(AssertUnwindSafe(|| h(reason))).is_err() {
                tracing::error!(socket = %self.conn.id(), "client disconnect handler panicked");
            }
        }
    }
}

/// An in-process client connected to a namespace (cheap to clone).
///
/// Its handlers run on a dispatcher actor shared by the in-process clients
/// of one bus worker thread, one batch at a time. A panicking
/// client handler is logged; the client stays connected and (at-least-once)
/// the event is not acknowledged, so it is redelivered.
///
/// Dropping every handle of a client disconnects it (`transport close`), as
/// dropping a subscription would; keep a handle for as long as you listen.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures::executor::block_on;
/// let bus = bus_core::Bus::start();
/// let ns = bus.of("/");
/// ns.on_connection(|s| s.on("ping", |_s, _: (), ack| { if let Some(a) = ack { let _ = a.send("pong"); } }));
/// let client = block_on(ns.connect(Default::default())).unwrap();
/// let answer: String = block_on(client.emit_with_ack("ping", &(), Duration::from_secs(5))).unwrap();
/// assert_eq!(answer, "pong");
/// client.disconnect();
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", self.inner.conn.id())
            .field("ns", &self.inner.ns.name())
            .finish()
    }
}

impl Client {
    pub(crate) fn connect<F>(
        ns: Namespace,
        options: ConnectOptions,
        setup: F,
    ) -> impl Future<Output = Result<Client, ConnectError>> + Send + 'static
    where
        F: FnOnce(&Client) + Send + 'static,
    {
        // The client's handlers run on a dispatcher shared with the other
        // in-process clients of one worker thread (see `dispatch.rs`).
        let dispatcher = ns.runtime().dispatcher();
        let slot = dispatcher.register();
        let wake_dispatcher = dispatcher.clone();
        // Called once per batch (the queue's flag): one ready-list entry.
        let waker: Waker = Arc::new(move || wake_dispatcher.schedule(slot));
        let handshake = Handshake {
            auth: options.auth.clone(),
            query: Arc::new(options.query.clone()),
            client_id: options.client_id.clone(),
            ..Default::default()
        };
        let fut = ns.connect_when_ready(handshake, waker, dispatcher.index());
        // Frees the slot if connecting fails or the future is dropped.
        let guard = SlotGuard(Some((dispatcher.clone(), slot)));
        async move {
            let conn = fut.await?;
            guard.disarm(); // `Inner` frees it from now on
            let inner = Arc::new(Inner {
                conn,
                ns: ns.clone(),
                acks: AckMap::default(),
                manual_ack: options.manual_ack,
                dispatcher: dispatcher.clone(),
                slot,
            });
            let client = Client { inner };
            client.inner.conn.shared.client_table.open();
            setup(&client);
            let weak: Weak<dyn Ready> = Arc::downgrade(&client.inner) as Weak<Inner>;
            let _ = client.inner.conn.shared.consumer.set(weak.clone());
            dispatcher.attach(slot, weak);
            // Items may have arrived before the client was attached (their
            // wake found no client): drain once.
            dispatcher.schedule(slot);
            Ok(client)
        }
    }

    /// The socket id (the server side sees the same id).
    pub fn id(&self) -> &SocketId {
        self.inner.conn.id()
    }

    /// False once disconnected (either side).
    pub fn connected(&self) -> bool {
        !self.inner.finished() && self.inner.conn.is_connected()
    }

    fn update_handlers(&self, change: impl Fn(&mut Handlers)) {
        self.inner.conn.shared.client_table.update(change);
    }

    /// Handles `event` from the server side, decoding into `T`. `ack` is
    /// `Some` when the server asked for an answer or (at-least-once) when the
    /// event must be acknowledged.
    pub fn on<T, F>(&self, event: impl Into<String>, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(T, Option<AckResponder>) + Send + Sync + 'static,
    {
        let name: String = event.into();
        let ev = name.clone();
        let wrapped: EventHandler = Arc::new(move |payload, ack| match payload.decode::<T>() {
            Ok(v) => handler(v, ack),
            Err(e) => {
                tracing::warn!(event = %ev, error = %e, "client event payload did not decode; skipped")
            }
        });
        self.update_handlers(|h| h.set_event(&name, wrapped.clone()));
    }

    /// Sees every event (before the specific handler), with its delivery metadata.
    pub fn on_any<F>(&self, handler: F)
    where
        F: Fn(&Incoming) + Send + Sync + 'static,
    {
        let handler: AnyHandler = Arc::new(handler);
        self.update_handlers(|h| h.any.push(handler.clone()));
    }

    /// At-least-once: retention dropped events this client never acknowledged.
    pub fn on_gap<F>(&self, handler: F)
    where
        F: Fn(Gap) + Send + Sync + 'static,
    {
        let handler: GapHandler = Arc::new(handler);
        self.update_handlers(|h| h.gap.push(handler.clone()));
    }

    /// Runs once when the client is disconnected (by either side).
    pub fn on_disconnect<F>(&self, handler: F)
    where
        F: Fn(DisconnectReason) + Send + Sync + 'static,
    {
        let handler: ReasonHandler = Arc::new(handler);
        self.update_handlers(|h| h.disconnect.push(handler.clone()));
    }

    /// Emits `event` to the server side's handlers.
    ///
    /// # Errors
    /// [`EmitError::Encode`], [`EmitError::Busy`] (server handlers lag), [`EmitError::Closed`].
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<String>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_payload(event, Payload::json(data)?)
    }

    /// Emits a raw payload.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
    ) -> Result<(), EmitError> {
        self.inner
            .conn
            .send_event(Event::new(event, payload), None)
            .map_err(|(e, event)| {
                let err = match e {
                    InboundError::Full => EmitError::busy(),
                    InboundError::Closed => EmitError::closed(),
                };
                err.with_event(Some(Arc::new(event)))
            })
    }

    /// Emits and waits up to `timeout` for the server side's answer.
    ///
    /// # Errors
    /// [`AckError::Timeout`], [`AckError::Closed`], [`AckError::Decode`], [`AckError::Send`].
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
        let payload = Payload::json(data).map_err(|e| AckError::Send(e.to_string()));
        self.ack_round(event, payload, timeout, decode_ack::<R>)
    }

    /// As [`emit_with_ack`](Self::emit_with_ack) with a raw payload, and
    /// the answer handed over raw (binary attachments included).
    ///
    /// # Errors
    /// [`AckError::Timeout`], [`AckError::Closed`], [`AckError::Send`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::executor::block_on;
    /// use bus_core::Payload;
    /// let bus = bus_core::Bus::start();
    /// let ns = bus.of("/");
    /// ns.on_connection(|s| s.on("blob", |_s, _: (), ack| {
    ///     let _ = ack.unwrap().send_payload(Payload::binary(vec![1u8, 2, 3]));
    /// }));
    /// let client = block_on(ns.connect(Default::default())).unwrap();
    /// let answer = block_on(client.emit_with_ack_payload("blob", Payload::empty(), Duration::from_secs(5))).unwrap();
    /// assert_eq!(&answer.attachments[0][..], &[1, 2, 3]);
    /// ```
    pub fn emit_with_ack_payload(
        &self,
        event: impl Into<String>,
        payload: Payload,
        timeout: Duration,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        self.ack_round(event, Ok(payload), timeout, |answer| answer)
    }

    fn ack_round<R: Send + 'static>(
        &self,
        event: impl Into<String>,
        payload: Result<Payload, AckError>,
        timeout: Duration,
        decode: fn(Result<Payload, AckError>) -> Result<R, AckError>,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let inner = self.inner.clone();
        let (tx, rx) = oneshot::channel();
        let sent = (|| {
            let payload = payload?;
            let id = inner
                .acks
                .register(PendingAck {
                    waiter: Some(Waiter::Reply(tx)),
                    reliable: None,
                })
                .map_err(|_| AckError::Closed)?;
            match inner.conn.event_from_client(event, payload, Some(id)) {
                Ok(()) => Ok(id),
                Err(e) => {
                    inner.acks.take(id);
                    Err(match e {
                        InboundError::Full => AckError::Send(e.to_string()),
                        InboundError::Closed => AckError::Closed,
                    })
                }
            }
        })();
        let timer = inner.ns.timer().clone();
        async move {
            let id = sent?;
            match timer.timeout(timeout, rx).await {
                Some(Ok(result)) => decode(result),
                Some(Err(_)) => Err(AckError::Closed),
                None => {
                    inner.acks.take(id);
                    Err(AckError::Timeout)
                }
            }
        }
    }

    /// Disconnects (`client namespace disconnect`); runs `on_disconnect`
    /// and fails pending acks. Idempotent.
    pub fn disconnect(&self) {
        self.inner
            .conn
            .close(DisconnectReason::ClientNamespaceDisconnect);
        self.inner
            .finish(DisconnectReason::ClientNamespaceDisconnect);
    }

    /// Acks this client still waits for (for leak checks).
    pub fn pending_acks(&self) -> usize {
        self.inner.acks.len()
    }
}

/// What running a client's handlers for one event came to.
struct Dispatched {
    /// Some handler (specific or `on_any`) saw the event.
    handled: bool,
    panicked: bool,
    /// The specific handler answered its ack responder before returning.
    answered: bool,
}

/// Runs `table`'s handlers for `event` (the `on_any` ones first), each
/// guarded against panics. `socket` is the client's socket (its ack
/// responder answers through it).
fn run_handlers(
    table: &Handlers,
    socket: &Arc<SocketShared>,
    event: &Arc<Event>,
    ack_id: Option<u64>,
    delivery: Option<DeliveryInfo>,
) -> Dispatched {
    let specific = table.event(&event.name);
    let mut panicked = false;
    let handled = specific.is_some() || !table.any.is_empty();
    if !table.any.is_empty() {
        let incoming = Incoming {
            event: event.clone(),
            delivery,
        };
        for h in &table.any {
            panicked |= catch_unwind(AssertUnwindSafe(|| h(&incoming))).is_err();
        }
    }
    // Allocated only when the event carries an ack id.
    let used = ack_id.map(|_| Arc::new(AtomicBool::new(false)));
    if let Some(h) = specific {
        let ack = ack_id
            .zip(used.as_ref())
            .map(|(ack_id, used)| AckResponder {
                socket: socket.clone(),
                ack_id,
                direction: Direction::ToServer,
                used: used.clone(),
            });
        panicked |= catch_unwind(AssertUnwindSafe(|| h(&event.payload, ack))).is_err();
    }
    if panicked {
        tracing::error!(
            socket = %socket.id,
            event = %event.name,
            "client handler panicked; event not acknowledged"
        );
    }
    Dispatched {
        handled,
        panicked,
        answered: used.is_some_and(|u| u.load(Ordering::Acquire)),
    }
}

/// The fan-out shard's fast path: runs the handlers of the in-process
/// client behind `socket` for one event that was never queued (its queue
/// was empty and the caller is the client's shard), straight from the
/// socket's handler table (`loaded` ahead by the shard, or loaded here).
/// Returns false, doing nothing, when the client is not running (not built
/// yet, or finished).
pub(crate) fn deliver_direct(
    socket: &Arc<SocketShared>,
    event: &Arc<Event>,
    ack_id: Option<u64>,
    loaded: Option<&TableGuard>,
) -> bool {
    let here;
    let table = match loaded {
        Some(table) => table,
        None => {
            here = socket.client_table.load();
            &here
        }
    };
    let Some(table) = table.as_ref() else {
        return false;
    };
    run_handlers(table, socket, event, ack_id, None);
    true
}

/// Runs the handlers for one drained event and, at-least-once, sends the
/// automatic acknowledgement.
fn dispatch(
    inner: &Inner,
    event: &Arc<Event>,
    ack_id: Option<u64>,
    delivery: Option<DeliveryInfo>,
) {
    let table = inner.conn.shared.client_table.load();
    let Some(table) = table.as_ref() else {
        return;
    };
    let out = run_handlers(table, &inner.conn.shared, event, ack_id, delivery);
    if out.panicked {
        return;
    }
    if let (Some(id), Some(_)) = (ack_id, delivery) {
        if out.handled && !inner.manual_ack && !out.answered {
            inner.conn.ack_from_client(id, Payload::empty());
        }
    }
}

impl Ready for Inner {
    /// One batch on the client's dispatcher: drain, then run the handlers.
    /// The drained items stay in `batch` (the dispatcher drops a whole round
    /// of them at once, so the shared events' reference counts are touched
    /// in bursts rather than once per recipient between other threads).
    fn run(&self, batch: &mut Vec<Outbound>) {
        if self.finished() {
            return;
        }
        let start = batch.len();
        self.conn.drain(batch, 256);
        for item in &batch[start..] {
            match item {
                Outbound::Event {
                    event,
                    ack_id,
                    delivery,
                } => dispatch(self, event, *ack_id, *delivery),
                Outbound::Ack { ack_id, payload } => {
                    if let Some(w) = self.acks.take(*ack_id).and_then(|p| p.waiter) {
                        w.resolve(Ok(payload.clone()));
                    }
                }
                Outbound::Gap { gap, .. } => {
                    let table = self.conn.shared.client_table.load();
                    let hs = table.as_ref().map(|t| t.gap.as_slice()).unwrap_or_default();
                    for h in hs {
                        let _ = catch_unwind(AssertUnwindSafe(|| h(*gap)));
                    }
                }
                Outbound::Disconnect { reason } => {
                    self.finish(*reason);
                    return;
                }
            }
        }
    }
}
