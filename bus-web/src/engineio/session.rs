//! The session actor: one per Engine.IO session, whatever its transport.
//!
//! This module owns the session state machine: the outbound buffer and its
//! bound, the pending long-polling GET, the attached WebSocket connection,
//! the upgrade from polling to WebSocket, the server-driven heartbeat, and
//! the single cleanup path that unregisters the session and calls
//! [`EngineHandler::on_close`] once. It must not touch HTTP or WebSocket
//! types: transports reach it through the messages defined here, and it
//! reaches a WebSocket connection only through [`WsLink`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures::channel::oneshot;
use futures::future::Either;

use super::config::EngineConfig;
use super::handler::{
    CloseReason, EngineHandler, EngineSession, HandshakeRequest, SessionShared, TRANSPORT_POLLING,
    TRANSPORT_WEBSOCKET,
};
use super::packet::{encoded_len, EngineMessage, OpenPacket, Packet};
use super::payload::encode_payload;
use super::registry::{Registry, SessionEntry};
use super::write_gate::{encode_batch, WriteGate, WriteNow};

/// Capacity of a session's mailbox (messages from transports and from
/// [`EngineSession::send`]).
const MAILBOX_CAPACITY: usize = 256;

/// First and largest delay between two tries to hand held client messages
/// on (see `EngineHandler::inbound_ready`); the delay doubles in between.
const INBOUND_RETRY_MIN: Duration = Duration::from_millis(1);
const INBOUND_RETRY_MAX: Duration = Duration::from_millis(16);

/// What every session of one mount shares.
pub(crate) struct EngineShared {
    pub(crate) config: Arc<EngineConfig>,
    pub(crate) handler: Arc<dyn EngineHandler>,
    pub(crate) registry: Registry,
}

impl std::fmt::Debug for EngineShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineShared")
            .field("config", &self.config)
            .field("sessions", &self.registry.len())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// The upper layer has outbound messages ready (see `EngineSession::notify`).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Notify;

/// Queue one message (see `EngineSession::send`).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Push {
    pub(crate) message: EngineMessage,
}

/// Close the session.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CloseSession {
    pub(crate) reason: CloseReason,
}

/// Close the session once everything queued so far has been written.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CloseAfterFlush {
    pub(crate) reason: CloseReason,
}

/// Why a transport request for an existing session is refused (HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RequestRefused {
    #[error("the session is closed; start a new session")]
    Closed,
    #[error("the session uses another transport; use the transport it was upgraded to")]
    WrongTransport,
    #[error("overlapping polling requests; wait for the previous request to finish")]
    Overlap,
    #[error("the session is already upgrading or upgraded; keep using that connection")]
    AlreadyUpgraded,
    #[error("upgrades are disabled on this server; keep polling")]
    UpgradesDisabled,
}

/// A long-polling GET arrived.
#[derive(Message)]
#[rtype(result = "Result<PollOutcome, RequestRefused>")]
pub(crate) struct PollGet;

/// How a GET is answered.
#[derive(Debug)]
pub(crate) enum PollOutcome {
    /// Answer now with this payload.
    Ready(String),
    /// Wait for the payload; tell the session if the client goes away.
    Wait {
        poll_id: u64,
        reply: oneshot::Receiver<String>,
    },
}

/// The client went away while its GET was pending.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PollAborted {
    pub(crate) poll_id: u64,
}

/// A long-polling POST carried these packets. When the upper layer could
/// not take them all yet, the answer is a receiver that resolves once it
/// has (or the session is gone): answer the POST only then.
#[derive(Message)]
#[rtype(result = "Result<Option<InboundWait>, RequestRefused>")]
pub(crate) struct PollPost {
    pub(crate) packets: Vec<Packet>,
}

/// Write these packets to a WebSocket connection, as one batch.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct WriteFrames {
    pub(crate) packets: Vec<Packet>,
}

/// Write what the session left pending in the connection's write gate.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct FlushPending;

/// A connection the session can write to directly (the lean transport).
#[derive(Clone)]
pub(crate) struct DirectLink {
    pub(crate) gate: Arc<WriteGate>,
    pub(crate) flush: Recipient<FlushPending>,
}

/// Close a WebSocket connection (the session is done with it).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CloseConnection;

/// How the session reaches one WebSocket connection, without knowing the
/// WebSocket library.
#[derive(Clone)]
pub(crate) struct WsLink {
    pub(crate) id: u64,
    pub(crate) write: Recipient<WriteFrames>,
    pub(crate) close: Recipient<CloseConnection>,
    /// Set for the lean transport: batches are written straight to the
    /// socket when it takes them at once.
    pub(crate) direct: Option<DirectLink>,
}

impl std::fmt::Debug for WsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsLink").field("id", &self.id).finish()
    }
}

/// A WebSocket connection (by sid) wants to upgrade this polling session.
#[derive(Message)]
#[rtype(result = "Result<(), RequestRefused>")]
pub(crate) struct AttachWebSocket {
    pub(crate) link: WsLink,
}

/// Resolves when the upper layer has taken every message the client sent
/// so far (or the session is gone): the transport reads nothing more until
/// then.
pub(crate) type InboundWait = oneshot::Receiver<()>;

/// A WebSocket connection decoded a packet. The answer is `Some` when the
/// upper layer could not take it yet: read nothing more until it resolves.
#[derive(Message)]
#[rtype(result = "Option<InboundWait>")]
pub(crate) struct WsInbound {
    pub(crate) conn_id: u64,
    pub(crate) packet: Packet,
}

/// A WebSocket connection ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct WsGone {
    pub(crate) conn_id: u64,
    pub(crate) reason: CloseReason,
}

// ---------------------------------------------------------------------------
// The actor
// ---------------------------------------------------------------------------

enum Transport {
    Polling,
    WebSocket(WsLink),
}

struct Upgrade {
    link: WsLink,
    probed: bool,
}

struct PendingGet {
    poll_id: u64,
    reply: oneshot::Sender<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Polling,
    WebSocket(u64),
}

/// The session actor.
pub(crate) struct Session {
    handle: EngineSession,
    engine: Arc<EngineShared>,
    transport: Transport,
    upgrade: Option<Upgrade>,
    buffer: VecDeque<Packet>,
    buffer_bytes: usize,
    pending_get: Option<PendingGet>,
    next_poll_id: u64,
    ws_in_flight: bool,
    batch_seq: u64,
    stall_watch: bool,
    ping_deadline: Option<SpawnHandle>,
    close_reason: Option<CloseReason>,
    /// A close asked for once the buffer is written (`close_after_flush`).
    close_when_flushed: Option<CloseReason>,
    /// Set while the handler is not ready for client messages (a retry is
    /// scheduled); see `EngineHandler::inbound_ready`.
    inbound_blocked: bool,
    /// Client messages that arrived while blocked, in order.
    held: VecDeque<(Via, Packet)>,
    /// Transports waiting until every held message is taken.
    inbound_waiters: Vec<oneshot::Sender<()>>,
    retry_delay: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.handle.sid())
            .field("buffer_bytes", &self.buffer_bytes)
            .finish_non_exhaustive()
    }
}

/// A session whose address exists but whose actor has not started yet, so
/// a WebSocket connection can be given the address before the session is
/// given the connection.
pub(crate) struct SessionStarter {
    ctx: Context<Session>,
    handle: EngineSession,
    engine: Arc<EngineShared>,
}

impl SessionStarter {
    /// A new session with a fresh sid, registered in the mount's registry
    /// right away so that the client's next request finds it even before
    /// the actor has run `started()`.
    pub(crate) fn new(engine: &Arc<EngineShared>, request: HandshakeRequest) -> Self {
        let mut ctx = Context::new();
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        let addr = ctx.address();
        let sid: Arc<str> = Arc::from(new_sid());
        let shared = Arc::new(SessionShared {
            sid: sid.clone(),
            request,
            addr: addr.clone(),
            scheduled: AtomicBool::new(false),
            transport: AtomicU8::new(TRANSPORT_POLLING),
            closed: AtomicBool::new(false),
        });
        engine.registry.insert(
            sid,
            SessionEntry {
                addr,
                post_busy: Arc::new(AtomicBool::new(false)),
            },
        );
        Self {
            ctx,
            handle: EngineSession { shared },
            engine: engine.clone(),
        }
    }

    pub(crate) fn addr(&self) -> Addr<Session> {
        self.handle.shared.addr.clone()
    }

    pub(crate) fn sid(&self) -> &str {
        self.handle.sid()
    }

    /// The handshake packet for this session.
    pub(crate) fn open_packet(&self, websocket: bool) -> OpenPacket {
        let config = &self.engine.config;
        let upgrades = if websocket || !config.allow_upgrades {
            Vec::new()
        } else {
            vec!["websocket".to_owned()]
        };
        OpenPacket {
            sid: self.sid().to_owned(),
            upgrades,
            ping_interval: millis(config.ping_interval),
            ping_timeout: millis(config.ping_timeout),
            max_payload: u64::try_from(config.max_payload).unwrap_or(u64::MAX),
        }
    }

    /// Start a long-polling session (the caller returns the open packet).
    pub(crate) fn start_polling(self) {
        let session = Session::new(self.handle, self.engine, Transport::Polling);
        self.ctx.run(session);
    }

    /// Start a WebSocket session; the open packet is its first frame.
    pub(crate) fn start_websocket(self, link: WsLink) {
        let open = self.open_packet(true);
        self.handle
            .shared
            .transport
            .store(TRANSPORT_WEBSOCKET, Ordering::Release);
        let mut session = Session::new(self.handle, self.engine, Transport::WebSocket(link));
        session.enqueue(Packet::Open(open));
        self.ctx.run(session);
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// 20 URL-safe characters from 15 random bytes.
fn new_sid() -> String {
    use base64::Engine as _;
    let bytes: [u8; 15] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Session {
    fn new(handle: EngineSession, engine: Arc<EngineShared>, transport: Transport) -> Self {
        Self {
            handle,
            engine,
            transport,
            upgrade: None,
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            pending_get: None,
            next_poll_id: 0,
            ws_in_flight: false,
            batch_seq: 0,
            stall_watch: false,
            ping_deadline: None,
            close_reason: None,
            close_when_flushed: None,
            inbound_blocked: false,
            held: VecDeque::new(),
            inbound_waiters: Vec::new(),
            retry_delay: INBOUND_RETRY_MIN,
        }
    }

    /// Hands one packet from the client on, or holds it (in order) while the
    /// handler is not ready for messages.
    fn receive(&mut self, via: Via, packet: Packet, ctx: &mut Context<Self>) {
        let message = matches!(packet, Packet::Message(_));
        if message && self.inbound_blocked {
            self.held.push_back((via, packet));
            return;
        }
        self.on_packet(via, packet, ctx);
        if message && !self.closing() && !self.engine.handler.inbound_ready(&self.handle) {
            tracing::debug!(
                sid = self.handle.sid(),
                "upper layer full: reading nothing more from the client until it catches up"
            );
            self.inbound_blocked = true;
            self.retry_delay = INBOUND_RETRY_MIN;
            self.retry_inbound(ctx);
        }
    }

    /// A receiver for the transport to wait on, if messages are held back.
    fn inbound_wait(&mut self) -> Option<InboundWait> {
        if !self.inbound_blocked || self.closing() {
            return None;
        }
        let (ready, wait) = oneshot::channel();
        self.inbound_waiters.push(ready);
        Some(wait)
    }

    /// Asks the handler again after a delay (doubling up to
    /// `INBOUND_RETRY_MAX`); once it is ready, hands the held messages on
    /// and lets the transports read again.
    fn retry_inbound(&mut self, ctx: &mut Context<Self>) {
        let delay = self.retry_delay;
        self.retry_delay = (delay * 2).min(INBOUND_RETRY_MAX);
        ctx.run_later(delay, |act, ctx| {
            if act.closing() {
                return;
            }
            if !act.engine.handler.inbound_ready(&act.handle) {
                act.retry_inbound(ctx);
                return;
            }
            act.inbound_blocked = false;
            while let Some((via, packet)) = act.held.pop_front() {
                act.receive(via, packet, ctx);
                if act.inbound_blocked || act.closing() {
                    break;
                }
            }
            if !act.inbound_blocked {
                for waiter in act.inbound_waiters.drain(..) {
                    let _ = waiter.send(());
                }
            }
            act.after(ctx);
        });
    }

    fn closing(&self) -> bool {
        self.close_reason.is_some()
    }

    fn enqueue(&mut self, packet: Packet) {
        self.buffer_bytes += encoded_len(&packet);
        self.buffer.push_back(packet);
    }

    /// The single exit path: every close (client, heartbeat, transport,
    /// parse error, shutdown, upper layer) comes here. `stopped()` then
    /// unregisters and calls `on_close` once.
    fn close(&mut self, reason: CloseReason, ctx: &mut Context<Self>) {
        if self.closing() {
            return;
        }
        tracing::debug!(sid = self.handle.sid(), %reason, "closing engine.io session");
        self.handle.shared.closed.store(true, Ordering::Release);
        self.engine.registry.remove(self.handle.sid());
        if let Some(pending) = self.pending_get.take() {
            // The reference server ends a pending poll with a noop when the
            // client closed, and with a close packet otherwise.
            let packet = if reason == CloseReason::ClientClose {
                Packet::Noop
            } else {
                Packet::Close
            };
            let _ = pending.reply.send(encode_payload(&[packet]));
        }
        if let Transport::WebSocket(link) = &self.transport {
            link.close.do_send(CloseConnection);
        }
        if let Some(upgrade) = self.upgrade.take() {
            upgrade.link.close.do_send(CloseConnection);
        }
        self.close_reason = Some(reason);
        // Transports waiting to read again see the wait end.
        self.inbound_waiters.clear();
        ctx.stop();
    }

    /// Run after every message: pull what the upper layer has ready (only
    /// while the buffer is under its bound, so a slow client pushes back on
    /// the upper layer's own bounded queue), then write what the transport
    /// can take.
    fn after(&mut self, ctx: &mut Context<Self>) {
        if self.closing() {
            return;
        }
        let bound = self.engine.config.max_buffer_bytes;
        if self.buffer_bytes < bound && self.handle.shared.scheduled.swap(false, Ordering::AcqRel) {
            let mut out = Vec::new();
            self.engine.handler.drain_outbound(&self.handle, &mut out);
            self.buffer.reserve(out.len());
            for message in out {
                self.enqueue(Packet::Message(message));
            }
        }
        if self.buffer_bytes > bound.saturating_mul(2) {
            // Only direct pushes (`EngineSession::send`, pings) get here.
            self.close_slow(ctx);
            return;
        }
        self.flush(ctx);
        self.finish_close_if_flushed(ctx);
    }

    /// Performs a close that waited for the buffer (`close_after_flush`)
    /// once nothing is buffered or being written.
    fn finish_close_if_flushed(&mut self, ctx: &mut Context<Self>) {
        if self.close_when_flushed.is_none() || !self.buffer.is_empty() || self.ws_in_flight {
            return;
        }
        if let Some(reason) = self.close_when_flushed.take() {
            self.close(reason, ctx);
        }
    }

    fn close_slow(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!(
            sid = self.handle.sid(),
            buffered = self.buffer_bytes,
            "client too slow, closing"
        );
        self.close(CloseReason::BufferFull, ctx);
    }

    /// Watch the WebSocket batch `batch` in flight: if it is still
    /// unfinished after `write_timeout` while more is waiting (buffered, or
    /// notified but not pulled), the client has stopped reading; close it.
    fn watch_write(&mut self, batch: u64, ctx: &mut Context<Self>) {
        self.stall_watch = true;
        ctx.run_later(self.engine.config.write_timeout, move |act, ctx| {
            act.stall_watch = false;
            if !act.ws_in_flight || act.closing() {
                return;
            }
            if act.batch_seq != batch {
                act.watch_write(act.batch_seq, ctx);
                return;
            }
            let waiting =
                !act.buffer.is_empty() || act.handle.shared.scheduled.load(Ordering::Acquire);
            if waiting {
                act.close_slow(ctx);
            } else {
                act.watch_write(batch, ctx);
            }
        });
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.closing() || self.buffer.is_empty() {
            return;
        }
        match &self.transport {
            Transport::Polling => {
                if self.upgrade.as_ref().is_some_and(|upgrade| upgrade.probed) {
                    // Held until the upgrade completes on the WebSocket.
                    return;
                }
                let Some(pending) = self.pending_get.take() else {
                    return;
                };
                let body = self.take_payload();
                if pending.reply.send(body).is_err() {
                    tracing::debug!(sid = self.handle.sid(), "poll went away mid-reply");
                    self.close(CloseReason::TransportError, ctx);
                }
            }
            Transport::WebSocket(link) => {
                if self.ws_in_flight {
                    return;
                }
                // Hand the buffer over whole: an idle session keeps no
                // buffer capacity, and the batch needs no copy.
                let packets = Vec::from(std::mem::take(&mut self.buffer));
                self.buffer_bytes = 0;
                let written = match &link.direct {
                    Some(direct) => match direct.gate.write_now(encode_batch(packets)) {
                        // The common case: one system call, nothing in flight.
                        WriteNow::Written => {
                            // The upper layer may have more that `after`
                            // left because the buffer was full: pull it
                            // (as a finished in-flight batch would).
                            if self.handle.shared.scheduled.load(Ordering::Acquire) {
                                ctx.notify(Notify);
                            }
                            return;
                        }
                        WriteNow::Closed => {
                            self.close(CloseReason::TransportError, ctx);
                            return;
                        }
                        WriteNow::Pending => Either::Left(direct.flush.send(FlushPending)),
                    },
                    None => Either::Right(link.write.send(WriteFrames { packets })),
                };
                self.ws_in_flight = true;
                self.batch_seq += 1;
                if !self.stall_watch {
                    self.watch_write(self.batch_seq, ctx);
                }
                ctx.spawn(written.into_actor(self).map(|result, act, ctx| {
                    act.ws_in_flight = false;
                    if result.is_ok() {
                        act.after(ctx);
                    }
                    // Err: the connection is gone; its `WsGone` closes us.
                }));
            }
        }
    }

    /// Take buffered packets up to `max_payload` bytes (at least one).
    fn take_payload(&mut self) -> String {
        let limit = self.engine.config.max_payload;
        let mut taken = Vec::new();
        let mut size = 0;
        while let Some(packet) = self.buffer.front() {
            let len = encoded_len(packet) + 1;
            if !taken.is_empty() && size + len > limit {
                break;
            }
            size += len;
            self.buffer_bytes = self.buffer_bytes.saturating_sub(len - 1);
            if let Some(packet) = self.buffer.pop_front() {
                taken.push(packet);
            }
        }
        encode_payload(&taken)
    }

    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        let interval = self.engine.config.ping_interval;
        let timeout = self.engine.config.ping_timeout;
        ctx.run_later(interval, move |act, ctx| {
            if act.closing() {
                return;
            }
            act.enqueue(Packet::Ping(None));
            act.flush(ctx);
            act.ping_deadline = Some(ctx.run_later(timeout, |act, ctx| {
                act.close(CloseReason::PingTimeout, ctx);
            }));
        });
    }

    fn on_packet(&mut self, via: Via, packet: Packet, ctx: &mut Context<Self>) {
        if self.closing() {
            return;
        }
        let active = match (&self.transport, via) {
            (Transport::Polling, Via::Polling) => true,
            (Transport::WebSocket(link), Via::WebSocket(id)) => link.id == id,
            _ => false,
        };
        if !active {
            if let Via::WebSocket(id) = via {
                self.on_upgrade_packet(id, packet, ctx);
            }
            return;
        }
        match packet {
            Packet::Message(message) => self.engine.handler.on_message(&self.handle, message),
            Packet::Pong(_) => {
                if let Some(deadline) = self.ping_deadline.take() {
                    ctx.cancel_future(deadline);
                    self.schedule_ping(ctx);
                }
            }
            Packet::Ping(data) => self.enqueue(Packet::Pong(data)),
            Packet::Close => self.close(CloseReason::ClientClose, ctx),
            Packet::Upgrade | Packet::Noop => {}
            Packet::Open(_) => self.close(CloseReason::ParseError, ctx),
        }
    }

    fn on_upgrade_packet(&mut self, conn_id: u64, packet: Packet, ctx: &mut Context<Self>) {
        let Some(upgrade) = self.upgrade.as_mut().filter(|u| u.link.id == conn_id) else {
            return;
        };
        match packet {
            Packet::Ping(Some(data)) if data == "probe" => {
                upgrade.link.write.do_send(WriteFrames {
                    packets: vec![Packet::Pong(Some(data))],
                });
                upgrade.probed = true;
                // Make the client's pending poll return so it can pause polling.
                if let Some(pending) = self.pending_get.take() {
                    let _ = pending.reply.send(encode_payload(&[Packet::Noop]));
                }
            }
            Packet::Upgrade => {
                let Some(upgrade) = self.upgrade.take() else {
                    return;
                };
                if let Some(pending) = self.pending_get.take() {
                    let _ = pending.reply.send(encode_payload(&[Packet::Noop]));
                }
                tracing::debug!(sid = self.handle.sid(), "upgraded to websocket");
                self.transport = Transport::WebSocket(upgrade.link);
                self.handle
                    .shared
                    .transport
                    .store(TRANSPORT_WEBSOCKET, Ordering::Release);
                self.flush(ctx);
            }
            _ => {
                tracing::debug!(sid = self.handle.sid(), "unexpected packet while upgrading");
                if let Some(upgrade) = self.upgrade.take() {
                    upgrade.link.close.do_send(CloseConnection);
                }
            }
        }
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::debug!(sid = self.handle.sid(), "engine.io session open");
        self.engine.handler.on_open(&self.handle);
        self.schedule_ping(ctx);
        self.after(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.engine.registry.remove(self.handle.sid());
        self.handle.shared.closed.store(true, Ordering::Release);
        let reason = self
            .close_reason
            .take()
            .unwrap_or(CloseReason::TransportError);
        self.engine.handler.on_close(&self.handle, reason);
    }
}

impl Handler<Notify> for Session {
    type Result = ();
    fn handle(&mut self, _msg: Notify, ctx: &mut Self::Context) {
        self.after(ctx);
    }
}

impl Handler<Push> for Session {
    type Result = ();
    fn handle(&mut self, msg: Push, ctx: &mut Self::Context) {
        if !self.closing() {
            self.enqueue(Packet::Message(msg.message));
        }
        self.after(ctx);
    }
}

impl Handler<CloseSession> for Session {
    type Result = ();
    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        self.close(msg.reason, ctx);
    }
}

impl Handler<CloseAfterFlush> for Session {
    type Result = ();
    fn handle(&mut self, msg: CloseAfterFlush, ctx: &mut Self::Context) {
        if self.closing() {
            return;
        }
        self.close_when_flushed = Some(msg.reason);
        self.after(ctx);
        self.finish_close_if_flushed(ctx);
    }
}

impl Handler<PollGet> for Session {
    type Result = Result<PollOutcome, RequestRefused>;
    fn handle(&mut self, _msg: PollGet, ctx: &mut Self::Context) -> Self::Result {
        if self.closing() {
            return Err(RequestRefused::Closed);
        }
        if matches!(self.transport, Transport::WebSocket(_)) {
            return Err(RequestRefused::WrongTransport);
        }
        if self.pending_get.is_some() {
            // The reference server treats a second GET as a transport error:
            // the pending one gets a close packet and the session ends.
            self.close(CloseReason::TransportError, ctx);
            return Err(RequestRefused::Overlap);
        }
        self.after(ctx);
        if self.closing() {
            return Err(RequestRefused::Closed);
        }
        if self.upgrade.as_ref().is_some_and(|upgrade| upgrade.probed) {
            return Ok(PollOutcome::Ready(encode_payload(&[Packet::Noop])));
        }
        if !self.buffer.is_empty() {
            let payload = self.take_payload();
            self.finish_close_if_flushed(ctx);
            return Ok(PollOutcome::Ready(payload));
        }
        let (reply, receiver) = oneshot::channel();
        self.next_poll_id += 1;
        let poll_id = self.next_poll_id;
        self.pending_get = Some(PendingGet { poll_id, reply });
        Ok(PollOutcome::Wait {
            poll_id,
            reply: receiver,
        })
    }
}

impl Handler<PollAborted> for Session {
    type Result = ();
    fn handle(&mut self, msg: PollAborted, ctx: &mut Self::Context) {
        if self
            .pending_get
            .as_ref()
            .is_some_and(|pending| pending.poll_id == msg.poll_id)
        {
            tracing::debug!(sid = self.handle.sid(), "client aborted its poll");
            self.pending_get = None;
            self.close(CloseReason::TransportError, ctx);
        }
    }
}

impl Handler<PollPost> for Session {
    type Result = Result<Option<InboundWait>, RequestRefused>;
    fn handle(&mut self, msg: PollPost, ctx: &mut Self::Context) -> Self::Result {
        if self.closing() {
            return Err(RequestRefused::Closed);
        }
        if matches!(self.transport, Transport::WebSocket(_)) {
            return Err(RequestRefused::WrongTransport);
        }
        for packet in msg.packets {
            self.receive(Via::Polling, packet, ctx);
        }
        self.after(ctx);
        Ok(self.inbound_wait())
    }
}

impl Handler<AttachWebSocket> for Session {
    type Result = Result<(), RequestRefused>;
    fn handle(&mut self, msg: AttachWebSocket, ctx: &mut Self::Context) -> Self::Result {
        if self.closing() {
            return Err(RequestRefused::Closed);
        }
        if !self.engine.config.allow_upgrades {
            return Err(RequestRefused::UpgradesDisabled);
        }
        if matches!(self.transport, Transport::WebSocket(_)) || self.upgrade.is_some() {
            return Err(RequestRefused::AlreadyUpgraded);
        }
        let conn_id = msg.link.id;
        self.upgrade = Some(Upgrade {
            link: msg.link,
            probed: false,
        });
        ctx.run_later(self.engine.config.upgrade_timeout, move |act, _ctx| {
            if act
                .upgrade
                .as_ref()
                .is_some_and(|upgrade| upgrade.link.id == conn_id)
            {
                tracing::debug!(sid = act.handle.sid(), "upgrade timed out");
                if let Some(upgrade) = act.upgrade.take() {
                    upgrade.link.close.do_send(CloseConnection);
                }
            }
        });
        Ok(())
    }
}

impl Handler<WsInbound> for Session {
    type Result = Option<InboundWait>;
    fn handle(&mut self, msg: WsInbound, ctx: &mut Self::Context) -> Self::Result {
        self.receive(Via::WebSocket(msg.conn_id), msg.packet, ctx);
        self.after(ctx);
        self.inbound_wait()
    }
}

impl Handler<WsGone> for Session {
    type Result = ();
    fn handle(&mut self, msg: WsGone, ctx: &mut Self::Context) {
        match &self.transport {
            Transport::WebSocket(link) if link.id == msg.conn_id => {
                self.close(msg.reason, ctx);
            }
            _ => {
                if self
                    .upgrade
                    .as_ref()
                    .is_some_and(|upgrade| upgrade.link.id == msg.conn_id)
                {
                    tracing::debug!(sid = self.handle.sid(), "upgrade abandoned");
                    self.upgrade = None;
                    self.after(ctx);
                }
            }
        }
    }
}

/// Close every session of a mount (graceful shutdown).
pub(crate) fn close_all(registry: &Registry, reason: &CloseReason) {
    for addr in registry.addresses() {
        addr.do_send(CloseSession {
            reason: reason.clone(),
        });
    }
}
