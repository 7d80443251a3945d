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
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::channel::oneshot;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ack::{decode_ack, AckMap, AckResponder, Direction, PendingAck, Waiter};
use crate::connection::{Connection, Handshake};
use crate::dispatch::{Dispatcher, Ready, Slot};
use crate::error::{AckError, ConnectError, EmitError, InboundError};
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

type EventHandler = Arc<dyn Fn(&Payload, Option<AckResponder>) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Incoming) + Send + Sync>;
type GapHandler = Arc<dyn Fn(Gap) + Send + Sync>;
type ReasonHandler = Arc<dyn Fn(DisconnectReason) + Send + Sync>;

/// FNV-1a, for the handler table: it is looked up once per delivered event
/// and SipHash was a sixth of a delivery's instructions. Keys are only the
/// names this client registered, so there is no flooding to defend against.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type NameMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<NameHasher>>;

#[derive(Default)]
#[repr(C)]
struct Handlers {
    /// Shared, so a delivery takes it with one reference count.
    any: Arc<[AnyHandler]>,
    events: NameMap<EventHandler>,
    gap: Vec<GapHandler>,
    disconnect: Vec<ReasonHandler>,
}

/// What a delivery reads (`done`, the handler table's lock and its shared
/// parts) comes first, next to the reference counts a shard's upgrade
/// touches.
#[repr(C)]
struct Inner {
    done: AtomicBool,
    handlers: RwLock<Handlers>,
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
        self.dispatcher.unregister(self.slot);
    }
}

impl Inner {
    fn finish(&self, reason: DisconnectReason) {
        if self.done.swap(true, Ordering::AcqRel) {
            return;
        }
        self.acks.fail_all();
        // Take the handlers out: they may capture client handles (cycles).
        let hs = std::mem::take(&mut *self.handlers.write().unwrap_or_else(|e| e.into_inner()))
            .disconnect;
        for h in hs {
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
                handlers: RwLock::new(Handlers::default()),
                acks: AckMap::default(),
                manual_ack: options.manual_ack,
                done: AtomicBool::new(false),
                dispatcher: dispatcher.clone(),
                slot,
            });
            let client = Client { inner };
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
        !self.inner.done.load(Ordering::Acquire) && self.inner.conn.is_connected()
    }

    fn handlers_mut(&self) -> std::sync::RwLockWriteGuard<'_, Handlers> {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
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
        self.handlers_mut().events.insert(name, wrapped);
    }

    /// Sees every event (before the specific handler), with its delivery metadata.
    pub fn on_any<F>(&self, handler: F)
    where
        F: Fn(&Incoming) + Send + Sync + 'static,
    {
        let mut h = self.handlers_mut();
        let mut any = h.any.to_vec();
        any.push(Arc::new(handler));
        h.any = any.into();
    }

    /// At-least-once: retention dropped events this client never acknowledged.
    pub fn on_gap<F>(&self, handler: F)
    where
        F: Fn(Gap) + Send + Sync + 'static,
    {
        self.handlers_mut().gap.push(Arc::new(handler));
    }

    /// Runs once when the client is disconnected (by either side).
    pub fn on_disconnect<F>(&self, handler: F)
    where
        F: Fn(DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers_mut().disconnect.push(Arc::new(handler));
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

fn dispatch(
    inner: &Inner,
    event: &Arc<Event>,
    ack_id: Option<u64>,
    delivery: Option<DeliveryInfo>,
) {
    let (specific, any) = {
        let h = inner.handlers.read().unwrap_or_else(|e| e.into_inner());
        let any = (!h.any.is_empty()).then(|| h.any.clone());
        (h.events.get(event.name.as_str()).cloned(), any)
    };
    let mut panicked = false;
    let handled = specific.is_some() || any.is_some();
    if let Some(any) = any {
        let incoming = Incoming {
            event: event.clone(),
            delivery,
        };
        for h in any.iter() {
            panicked |= catch_unwind(AssertUnwindSafe(|| h(&incoming))).is_err();
        }
    }
    // Allocated only when the event carries an ack id.
    let used = ack_id.map(|_| Arc::new(AtomicBool::new(false)));
    if let Some(h) = specific {
        let ack = ack_id
            .zip(used.as_ref())
            .map(|(ack_id, used)| AckResponder {
                socket: inner.conn.shared.clone(),
                ack_id,
                direction: Direction::ToServer,
                used: used.clone(),
            });
        panicked |= catch_unwind(AssertUnwindSafe(|| h(&event.payload, ack))).is_err();
    }
    if panicked {
        tracing::error!(
            socket = %inner.conn.id(),
            event = %event.name,
            "client handler panicked; event not acknowledged"
        );
        return;
    }
    if let (Some(id), Some(_)) = (ack_id, delivery) {
        let answered = used.is_some_and(|u| u.load(Ordering::Acquire));
        if handled && !inner.manual_ack && !answered {
            inner.conn.ack_from_client(id, Payload::empty());
        }
    }
}

impl Ready for Inner {
    fn deliver(&self, event: &Arc<Event>, ack_id: Option<u64>) -> bool {
        if self.done.load(Ordering::Acquire) {
            return false;
        }
        dispatch(self, event, ack_id, None);
        true
    }

    /// One batch on the client's dispatcher: drain, then run the handlers.
    /// The drained items stay in `batch` (the dispatcher drops a whole round
    /// of them at once, so the shared events' reference counts are touched
    /// in bursts rather than once per recipient between other threads).
    fn run(&self, batch: &mut Vec<Outbound>) {
        if self.done.load(Ordering::Acquire) {
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
                    let hs = self
                        .handlers
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .gap
                        .clone();
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
