//! The Socket.IO side of one Engine.IO session: its namespace connections
//! (one bus-core [`Connection`] per joined namespace), the binary
//! reassembler, and the control answers (CONNECT / CONNECT_ERROR) waiting to
//! be written.
//!
//! Owns the handling of decoded client packets and the batching of every
//! namespace's outbound queue into one write. It must not touch Engine.IO
//! framing or transports (it only asks its [`EngineSession`] to flush or
//! close), nor bus-core internals.
//!
//! Locking: one `Mutex` per session. The Engine.IO session calls in one at a
//! time, so the lock is only ever contended by a CONNECT completing
//! (middleware is async). It is never held across an `.await`, and nothing
//! called under it re-enters this module: bus-core's `event_from_client` and
//! `close` only post to actors, and its waker only calls
//! [`EngineSession::notify`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bus_core::{
    Bus, ConnectError, Connection, DisconnectReason, Handshake, InboundError, Outbound, Payload,
    Waker,
};

use super::binary::{Decoded, Reassembler};
use super::frames;
use super::packet::{DecodeError, PacketData};
use crate::engineio::{CloseReason, EngineMessage, EngineSession};

/// The key of the CONNECT auth payload (or, failing that, the query
/// parameter) that carries the persistent client id of at-least-once
/// namespaces (`Handshake::client_id`), e.g.
/// `io("/feed", { auth: { clientId: "device-42" } })`.
pub const CLIENT_ID_KEY: &str = "clientId";

/// The Socket.IO state of one Engine.IO session.
#[derive(Debug)]
pub(crate) struct SessionState {
    engine: EngineSession,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reassembler: Reassembler,
    /// Joined namespaces.
    sockets: HashMap<String, Connection>,
    /// Namespaces whose CONNECT is waiting for middleware.
    pending: HashSet<String>,
    /// CONNECT / CONNECT_ERROR answers, written before any event.
    control: Vec<EngineMessage>,
    /// Set when the session closed or failed: nothing more is accepted.
    closed: bool,
    /// The `connectTimeout` timer, cancelled by the first namespace joined
    /// so that an idle session holds no timer task.
    connect_timer: Option<actix_rt::task::JoinHandle<()>>,
    /// A client event its socket could not take yet (its inbound queue was
    /// full), retried by [`SessionState::inbound_ready`]. While it is held
    /// the Engine.IO session reads nothing more from the client.
    held: Option<Box<HeldEvent>>,
}

/// A client event waiting for room in its socket's inbound queue.
#[derive(Debug)]
struct HeldEvent {
    ns: String,
    event: String,
    payload: Payload,
    id: Option<u64>,
}

impl SessionState {
    pub(crate) fn new(engine: EngineSession, max_attachment_bytes: usize) -> Self {
        let inner = Inner {
            reassembler: Reassembler::with_limit(max_attachment_bytes),
            ..Inner::default()
        };
        SessionState {
            engine,
            inner: Mutex::new(inner),
        }
    }

    /// Keeps the `connectTimeout` timer, to cancel it once a namespace is
    /// joined.
    pub(crate) fn set_connect_timer(&self, timer: actix_rt::task::JoinHandle<()>) {
        self.lock().connect_timer = Some(timer);
    }

    /// The handshake of a CONNECT: query, headers and address of the
    /// session's first request (kept once, by the Engine.IO session), plus
    /// the CONNECT's own auth.
    fn handshake(&self, auth: serde_json::Value) -> Handshake {
        let request = self.engine.request();
        let client_id = client_id(&auth).or_else(|| request.query.get(CLIENT_ID_KEY).cloned());
        Handshake {
            auth,
            query: Arc::clone(&request.query),
            headers: Arc::clone(&request.headers),
            address: request.address,
            client_id,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under this lock cannot leave the maps half-updated in a
        // way that matters more than losing the session; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Handles one Engine.IO message from the client.
    ///
    /// # Errors
    ///
    /// The [`DecodeError`] of an invalid packet: the caller closes the
    /// session with `parse error`. Nothing more is accepted afterwards.
    pub(crate) fn on_message(
        self: &Arc<Self>,
        bus: &Bus,
        message: EngineMessage,
    ) -> Result<(), DecodeError> {
        let mut inner = self.lock();
        if inner.closed {
            return Ok(());
        }
        let fed = match message {
            EngineMessage::Text(text) => inner.reassembler.feed_text(&text),
            EngineMessage::Binary(data) => inner.reassembler.feed_binary(data),
            EngineMessage::Encoded(encoded) => inner.reassembler.feed_text(encoded.text()),
        };
        let decoded = match fed {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return Ok(()),
            Err(error) => {
                inner.closed = true;
                return Err(error);
            }
        };
        self.dispatch(bus, inner, decoded);
        Ok(())
    }

    /// Acts on one complete packet. Takes the guard so it can release it
    /// before spawning or closing.
    fn dispatch(self: &Arc<Self>, bus: &Bus, mut inner: MutexGuard<'_, Inner>, decoded: Decoded) {
        let Decoded {
            packet,
            attachments,
        } = decoded;
        let ns = packet.ns;
        match packet.data {
            PacketData::Connect(auth) => {
                if inner.sockets.contains_key(&ns) || inner.pending.contains(&ns) {
                    tracing::debug!(
                        sid = self.engine.sid(),
                        ns,
                        "CONNECT to a namespace already joined ignored"
                    );
                    return;
                }
                let Some(namespace) = bus.namespace(&ns) else {
                    inner
                        .control
                        .push(frames::connect_error(&ns, "Invalid namespace", None));
                    drop(inner);
                    self.engine.notify();
                    return;
                };
                inner.pending.insert(ns.clone());
                drop(inner);
                let auth = auth
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or_else(|| serde_json::json!({}));
                let handshake = self.handshake(auth);
                let engine = self.engine.clone();
                let waker: Waker = Arc::new(move || engine.notify());
                let state = Arc::clone(self);
                actix_rt::spawn(async move {
                    let result = namespace.connect_remote(handshake, waker).await;
                    state.connected(ns, result);
                });
            }
            PacketData::Disconnect => {
                let socket = inner.sockets.remove(&ns);
                drop(inner);
                match socket {
                    Some(socket) => socket.close(DisconnectReason::ClientNamespaceDisconnect),
                    None => tracing::debug!(
                        sid = self.engine.sid(),
                        ns,
                        "DISCONNECT from a namespace not joined ignored"
                    ),
                }
            }
            PacketData::Event { event, args, id }
            | PacketData::BinaryEvent {
                event, args, id, ..
            } => {
                let Some(socket) = inner.sockets.get(&ns) else {
                    tracing::debug!(
                        sid = self.engine.sid(),
                        ns,
                        event,
                        "event for a namespace not joined ignored"
                    );
                    return;
                };
                let payload = Payload::from_raw(args, attachments);
                // A full inbound queue does not hand the event back: keep a
                // copy to retry with.
                match socket.event_from_client(event.clone(), payload.clone(), id) {
                    Ok(()) | Err(InboundError::Closed) => {}
                    Err(InboundError::Full) => {
                        tracing::debug!(
                            sid = self.engine.sid(),
                            ns,
                            "the socket's handlers lag behind: holding the client's event"
                        );
                        inner.held = Some(Box::new(HeldEvent {
                            ns,
                            event,
                            payload,
                            id,
                        }));
                    }
                }
            }
            PacketData::Ack { args, id } | PacketData::BinaryAck { args, id, .. } => match inner
                .sockets
                .get(&ns)
            {
                Some(socket) => socket.ack_from_client(id, Payload::from_raw(args, attachments)),
                None => tracing::debug!(
                    sid = self.engine.sid(),
                    ns,
                    id,
                    "ack for a namespace not joined ignored"
                ),
            },
            PacketData::ConnectError(_) => {
                tracing::debug!(
                    sid = self.engine.sid(),
                    ns,
                    "CONNECT_ERROR from a client ignored"
                );
            }
        }
    }

    /// Retries the held client event, if any; whether nothing is held any
    /// more (the Engine.IO session reads from the client again only then).
    pub(crate) fn inbound_ready(&self) -> bool {
        let mut inner = self.lock();
        let Some(held) = inner.held.take() else {
            return true;
        };
        let full = match inner.sockets.get(&held.ns) {
            Some(socket) => matches!(
                socket.event_from_client(held.event.clone(), held.payload.clone(), held.id),
                Err(InboundError::Full)
            ),
            // The namespace was left meanwhile: nobody to deliver it to.
            None => false,
        };
        if full {
            inner.held = Some(held);
        }
        !full
    }

    /// A CONNECT's middleware finished: answer and start draining the socket.
    fn connected(&self, ns: String, result: Result<Connection, ConnectError>) {
        let mut inner = self.lock();
        inner.pending.remove(&ns);
        match result {
            Ok(socket) if inner.closed => {
                drop(inner);
                socket.close(DisconnectReason::TransportClose);
                return;
            }
            Ok(socket) => {
                tracing::debug!(sid = self.engine.sid(), ns, socket = %socket.id(), "namespace joined");
                inner
                    .control
                    .push(frames::connect_ok(&ns, socket.id().as_str()));
                inner.sockets.insert(ns, socket);
                if let Some(timer) = inner.connect_timer.take() {
                    timer.abort();
                }
            }
            Err(error) if inner.closed => {
                tracing::debug!(sid = self.engine.sid(), ns, %error, "connection refused after the session closed");
                return;
            }
            Err(error) => {
                tracing::debug!(sid = self.engine.sid(), ns, %error, "connection refused by middleware");
                inner.control.push(frames::connect_error(
                    &ns,
                    &error.message,
                    error.data.as_ref(),
                ));
            }
        }
        drop(inner);
        self.engine.notify();
    }

    /// Moves every ready frame into `out`: control answers first, then up to
    /// `max_batch` items from each joined namespace.
    pub(crate) fn drain(&self, out: &mut Vec<EngineMessage>, max_batch: usize) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        out.append(&mut inner.control);
        // The worker's reusable buffer: a drain allocates nothing, and an
        // idle session keeps no buffer.
        let mut items = DRAIN_BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let mut gone = Vec::new();
        let mut close_transport = None;
        for (ns, socket) in &inner.sockets {
            items.clear();
            socket.drain(&mut items, max_batch);
            out.reserve(items.len());
            for item in items.drain(..) {
                match item {
                    Outbound::Event { event, ack_id, .. } => {
                        frames::push_event(out, ns, &event, ack_id)
                    }
                    Outbound::Ack { ack_id, payload } => {
                        frames::push_ack(out, ns, ack_id, &payload)
                    }
                    Outbound::Gap { gap, epoch } => {
                        let notice = frames::GapNotice {
                            epoch,
                            first_lost: gap.first_lost,
                            last_lost: gap.last_lost,
                            count: gap.count,
                        };
                        frames::push_gap(out, ns, notice);
                    }
                    Outbound::Disconnect { reason } if reason.closes_transport() => {
                        // `socket.conn.close()`: no DISCONNECT packet; the
                        // whole session closes after what is already queued,
                        // so the client sees "transport close" and reconnects.
                        tracing::debug!(sid = self.engine.sid(), ns, %reason, "server closes the transport");
                        close_transport = Some(reason);
                        gone.push(ns.clone());
                        break;
                    }
                    Outbound::Disconnect { reason } => {
                        tracing::debug!(sid = self.engine.sid(), ns, %reason, "server removed the socket");
                        frames::push_disconnect(out, ns);
                        gone.push(ns.clone());
                        break;
                    }
                }
            }
        }
        items.clear();
        if items.capacity() <= DRAIN_BUFFER_KEPT {
            DRAIN_BUFFER.with(|b| *b.borrow_mut() = items);
        }
        for ns in gone {
            inner.sockets.remove(&ns);
        }
        if let Some(reason) = close_transport {
            self.engine
                .close_after_flush(CloseReason::Server(reason.as_str().to_owned()));
        }
    }

    /// Whether no namespace is joined or being joined (for `connectTimeout`).
    pub(crate) fn is_idle(&self) -> bool {
        let inner = self.lock();
        inner.sockets.is_empty() && inner.pending.is_empty()
    }

    /// The session is gone: close every namespace socket with `reason`.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let sockets = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.control.clear();
            inner.held = None;
            if let Some(timer) = inner.connect_timer.take() {
                timer.abort();
            }
            std::mem::take(&mut inner.sockets)
        };
        for (_, socket) in sockets {
            socket.close(reason);
        }
    }

    /// The Engine.IO session this state belongs to.
    pub(crate) fn engine(&self) -> &EngineSession {
        &self.engine
    }
}

/// The largest drain buffer a worker thread keeps between drains.
const DRAIN_BUFFER_KEPT: usize = 4096;

thread_local! {
    /// Items drained from a socket, on their way to frames (see `drain`).
    static DRAIN_BUFFER: std::cell::RefCell<Vec<Outbound>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The persistent client id for at-least-once delivery: the CONNECT auth
/// payload's `clientId` string, if any.
fn client_id(auth: &serde_json::Value) -> Option<String> {
    auth.get(CLIENT_ID_KEY)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_id_comes_from_the_auth_payload() {
        let id = |auth| client_id(&auth);
        assert_eq!(
            id(serde_json::json!({"clientId": "c-1"})),
            Some("c-1".to_owned())
        );
        assert_eq!(id(serde_json::json!({"clientId": 7})), None);
        assert_eq!(id(serde_json::json!({})), None);
    }
}
