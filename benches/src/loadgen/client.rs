//! A minimal Socket.IO v5 client over tokio-tungstenite, WebSocket transport only.
//!
//! [`connect`] performs the Engine.IO open and the `/bench` namespace CONNECT;
//! [`run_member`] then reads `deliver` events until told to stop, and
//! [`run_emitter`] publishes events on a schedule ([`EmitPlan`]). Both answer
//! the server's pings. Nothing the server sends is trusted: every frame is
//! decoded into a typed [`ServerFrame`] or turned into a [`ClientError`].

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{FutureExt as _, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::protocol::{self, FrameError, OpenPacket, ServerFrame, Stamp, PONG};
use super::stats::MemberTally;
use super::target::Target;

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {addr}: {source}; is the server running and the port right?")]
    Tcp {
        /// The target address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The WebSocket upgrade or a later WebSocket read/write failed.
    #[error("websocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent a frame that is not valid for the bench protocol.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The server refused the `/bench` namespace CONNECT.
    #[error(
        "the server refused the /bench namespace ({0}); does it implement the bench protocol?"
    )]
    Refused(String),
    /// The server closed the connection or the namespace.
    #[error("the server closed the connection")]
    Closed,
    /// The handshake did not complete in time.
    #[error("the handshake did not complete within {0:?}; is the server overloaded?")]
    Timeout(Duration),
    /// The first frame was not an Engine.IO open packet.
    #[error(
        "the server did not open an engine.io v4 session; is the target a socket.io v5 server?"
    )]
    NoOpen,
}

/// One handshaken connection to the `/bench` namespace.
#[derive(Debug)]
pub struct Connection {
    ws: WebSocketStream<TcpStream>,
    /// The server's Engine.IO open packet.
    pub open: OpenPacket,
}

/// Opens a WebSocket to `target` and joins `/bench` with `auth` (JSON text, or none).
///
/// Not bounded in time by itself: callers wrap it in a timeout.
///
/// # Errors
///
/// [`ClientError`] when TCP, the WebSocket upgrade, the Engine.IO open or the
/// namespace CONNECT fails.
pub async fn connect(target: &Target, auth: Option<&str>) -> Result<Connection, ClientError> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .map_err(|source| ClientError::Tcp {
            addr: target.addr,
            source,
        })?;
    tcp.set_nodelay(true).map_err(|source| ClientError::Tcp {
        addr: target.addr,
        source,
    })?;
    let config = WebSocketConfig {
        // Small frames only: keep per-connection buffers small so thousands fit.
        write_buffer_size: 0,
        max_message_size: Some(1 << 20),
        max_frame_size: Some(1 << 20),
        ..WebSocketConfig::default()
    };
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(target.ws_url.as_str(), tcp, Some(config))
            .await?;
    let open = loop {
        match next_text(&mut ws).await? {
            Some(text) => match protocol::decode(&text)? {
                ServerFrame::Open(open) => break open,
                ServerFrame::Ping => ws.send(Message::text(PONG)).await?,
                _ => return Err(ClientError::NoOpen),
            },
            None => return Err(ClientError::Closed),
        }
    };
    ws.send(Message::text(protocol::connect_frame(auth)))
        .await?;
    loop {
        match next_text(&mut ws).await? {
            Some(text) => match protocol::decode(&text)? {
                ServerFrame::Connected => break,
                ServerFrame::ConnectError(data) => return Err(ClientError::Refused(data.into())),
                ServerFrame::Ping => ws.send(Message::text(PONG)).await?,
                ServerFrame::Close | ServerFrame::Disconnected => return Err(ClientError::Closed),
                _ => {}
            },
            None => return Err(ClientError::Closed),
        }
    }
    Ok(Connection { ws, open })
}

/// The next text frame, skipping WebSocket control frames; `None` when the stream ends.
async fn next_text(ws: &mut WebSocketStream<TcpStream>) -> Result<Option<String>, ClientError> {
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Text(text))) => return Ok(Some(text)),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Size of the completion table (a power of two, far above any in-flight window).
const SLOTS: usize = 1 << 16;

/// State shared by every connection of one run: the clock, the measured
/// window, progress counters, and in-flight completion tracking.
#[derive(Debug)]
pub struct RunState {
    epoch: Instant,
    measure_from: AtomicU64,
    measure_until: AtomicU64,
    room_size: u32,
    next_id: AtomicU64,
    received: AtomicU64,
    pending: AtomicI64,
    /// Members that have received at least one event.
    primed: AtomicU32,
    /// Deliveries still missing per event (indexed by id modulo [`SLOTS`]); in-flight mode only.
    slots: Option<Vec<AtomicU32>>,
    /// One semaphore per emitter: a permit comes back when an event of that emitter completes.
    permits: Vec<Semaphore>,
}

impl RunState {
    /// A run with `room_size` members and, for in-flight mode, one window per emitter.
    ///
    /// Nothing is measured until [`RunState::set_window`] is called.
    pub fn new(room_size: u32, windows: Option<Vec<u32>>) -> Self {
        let (slots, permits) = match windows {
            Some(windows) => (
                Some((0..SLOTS).map(|_| AtomicU32::new(0)).collect()),
                windows
                    .into_iter()
                    .map(|w| Semaphore::new(w as usize))
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        Self {
            epoch: Instant::now(),
            measure_from: AtomicU64::new(u64::MAX),
            measure_until: AtomicU64::new(u64::MAX),
            room_size,
            next_id: AtomicU64::new(0),
            received: AtomicU64::new(0),
            pending: AtomicI64::new(0),
            primed: AtomicU32::new(0),
            slots,
            permits,
        }
    }

    /// Nanoseconds since the run's epoch.
    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Measures events sent from `warmup` after now, for `duration`; returns the window's end.
    pub fn set_window(&self, warmup: Duration, duration: Duration) -> Instant {
        let start = Instant::now() + warmup;
        let from = u64::try_from(start.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        let until = from.saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
        self.measure_until.store(until, Ordering::Relaxed);
        self.measure_from.store(from, Ordering::Relaxed);
        start + duration
    }

    fn measured(&self, sent_nanos: u64) -> bool {
        sent_nanos >= self.measure_from.load(Ordering::Relaxed)
            && sent_nanos < self.measure_until.load(Ordering::Relaxed)
    }

    /// Every delivery received so far, measured or not (for progress display).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Deliveries sent but not yet received (never below zero once the drain is over).
    pub fn pending(&self) -> i64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Members that have received at least one event so far.
    ///
    /// A server may confirm a CONNECT before its connect handler has put the
    /// socket in the room (socketioxide runs async connect handlers after
    /// sending the answer), so a run is only measured once every member is
    /// known to receive.
    pub fn primed(&self) -> u32 {
        self.primed.load(Ordering::Relaxed)
    }

    fn on_deliver(&self, stamp: Stamp, tally: &mut MemberTally) {
        let first = tally.distinct + tally.unmeasured == 0;
        let fresh = if self.measured(stamp.sent_nanos) {
            let latency_micros = self.now_nanos().saturating_sub(stamp.sent_nanos) / 1000;
            tally.record(stamp.id, latency_micros)
        } else {
            tally.record_unmeasured(stamp.id)
        };
        if !fresh {
            return;
        }
        if first {
            self.primed.fetch_add(1, Ordering::Relaxed);
        }
        // Counted locally; `flush` adds a burst to the shared counters.
        tally.unflushed += 1;
        if let Some(slots) = &self.slots {
            let slot = &slots[(stamp.id as usize) & (SLOTS - 1)];
            let before =
                slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1));
            if before == Ok(1) {
                if let Some(permits) = self.permits.get(stamp.emitter as usize) {
                    permits.add_permits(1);
                }
            }
        }
    }

    /// Adds the deliveries `tally` counted since the last flush to the shared
    /// counters (once per burst of reads, not once per delivery: every
    /// member updating two shared counters per delivery made the load
    /// generator's threads fight over one cache line).
    fn flush(&self, tally: &mut MemberTally) {
        let n = std::mem::take(&mut tally.unflushed);
        if n > 0 {
            self.received.fetch_add(n, Ordering::Relaxed);
            self.pending
                .fetch_sub(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
    }

    /// Stamps and encodes the next event of `emitter`; `None` once the measured window is over.
    fn next_event(&self, emitter: u32, payload_bytes: usize) -> Option<(String, u64, bool)> {
        let sent_nanos = self.now_nanos();
        if sent_nanos >= self.measure_until.load(Ordering::Relaxed) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(slots) = &self.slots {
            slots[(id as usize) & (SLOTS - 1)].store(self.room_size, Ordering::Release);
        }
        self.pending
            .fetch_add(i64::from(self.room_size), Ordering::Relaxed);
        let stamp = Stamp {
            emitter,
            id,
            sent_nanos,
        };
        Some((
            protocol::publish_frame(stamp, payload_bytes),
            id,
            self.measured(sent_nanos),
        ))
    }
}

/// What a room member's connection ends with: its tally, and the error that ended it early, if any.
#[derive(Debug)]
pub struct MemberOutcome {
    /// What the member received.
    pub tally: MemberTally,
    /// Set when the connection failed before the stop signal.
    pub error: Option<ClientError>,
}

/// Reads `deliver` events into a tally and answers pings until `stop` turns true.
///
/// Reads whatever is already readable without waiting, and adds to the
/// shared counters once per such burst; waits (for a frame or for `stop`)
/// only when nothing is ready.
pub async fn run_member(
    mut conn: Connection,
    run: std::sync::Arc<RunState>,
    stop: watch::Receiver<bool>,
) -> MemberOutcome {
    let mut tally = MemberTally::default();
    let stopped = async move {
        let mut stop = stop;
        // An error means the sender is gone: stop as well.
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    tokio::pin!(stopped);
    let mut burst = 0u32;
    let error = loop {
        // A long burst still looks at the stop flag now and then.
        let ready = if burst < 256 {
            conn.ws.next().now_or_never()
        } else {
            None
        };
        let message = match ready {
            Some(message) => {
                burst += 1;
                message
            }
            None => {
                burst = 0;
                run.flush(&mut tally);
                tokio::select! {
                    biased;
                    () = &mut stopped => break None,
                    message = conn.ws.next() => message,
                }
            }
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => break Some(ClientError::Closed),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Some(e.into()),
        };
        match protocol::decode(&text) {
            Ok(ServerFrame::Deliver(stamp)) => run.on_deliver(stamp, &mut tally),
            Ok(ServerFrame::Ping) => {
                if let Err(e) = conn.ws.send(Message::text(PONG)).await {
                    break Some(e.into());
                }
            }
            Ok(ServerFrame::Close | ServerFrame::Disconnected) => break Some(ClientError::Closed),
            Ok(_) => {}
            Err(e) => break Some(e.into()),
        }
    };
    run.flush(&mut tally);
    MemberOutcome { tally, error }
}

/// How an emitter paces its events.
#[derive(Debug, Clone, Copy)]
pub enum EmitPlan {
    /// Keep `window` events in flight: send one more each time one reaches every member.
    /// An event still incomplete after `stall_timeout` is given up on (counted as a stall).
    InFlight {
        /// Events in flight for this emitter.
        window: u32,
        /// How long to wait for a completion before sending anyway.
        stall_timeout: Duration,
    },
    /// Send one event every `interval`.
    Rate {
        /// Time between two events of this emitter.
        interval: Duration,
    },
}

/// What an emitter's connection ends with.
#[derive(Debug, Default)]
pub struct EmitterOutcome {
    /// Events sent inside the measured window.
    pub sent_measured: u64,
    /// Lowest and highest id among the measured events sent.
    pub measured_ids: Option<(u64, u64)>,
    /// Events sent in all.
    pub sent_total: u64,
    /// In-flight mode: times no event completed within the stall timeout.
    pub stalls: u64,
    /// Rate mode: the largest lag behind the schedule.
    pub max_lag: Duration,
    /// Set when the connection failed before the stop signal.
    pub error: Option<ClientError>,
}

/// Publishes events as `plan` says until the measured window ends, then only
/// answers pings until `stop` turns true.
pub async fn run_emitter(
    mut conn: Connection,
    run: std::sync::Arc<RunState>,
    index: u32,
    payload_bytes: usize,
    plan: EmitPlan,
    mut stop: watch::Receiver<bool>,
) -> EmitterOutcome {
    let mut out = EmitterOutcome::default();
    let mut sending = true;
    let mut next_at = tokio::time::Instant::now();
    let permits = run.permits.get(index as usize);
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let ready = async {
            match plan {
                EmitPlan::InFlight { stall_timeout, .. } => match permits {
                    Some(permits) => {
                        match tokio::time::timeout(stall_timeout, permits.acquire()).await {
                            Ok(Ok(permit)) => {
                                permit.forget();
                                false
                            }
                            Ok(Err(_)) | Err(_) => true,
                        }
                    }
                    None => std::future::pending().await,
                },
                EmitPlan::Rate { .. } => {
                    tokio::time::sleep_until(next_at).await;
                    false
                }
            }
        };
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            message = conn.ws.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => {
                        out.error = Some(ClientError::Closed);
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        out.error = Some(e.into());
                        break;
                    }
                };
                match protocol::decode(&text) {
                    Ok(ServerFrame::Ping) => {
                        if let Err(e) = conn.ws.send(Message::text(PONG)).await {
                            out.error = Some(e.into());
                            break;
                        }
                    }
                    Ok(ServerFrame::Close | ServerFrame::Disconnected) => {
                        out.error = Some(ClientError::Closed);
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        out.error = Some(e.into());
                        break;
                    }
                }
            }
            stalled = ready, if sending => {
                if stalled {
                    out.stalls += 1;
                }
                if let EmitPlan::Rate { interval } = plan {
                    let lag = tokio::time::Instant::now().saturating_duration_since(next_at);
                    out.max_lag = out.max_lag.max(lag);
                    next_at += interval;
                }
                match run.next_event(index, payload_bytes) {
                    Some((frame, id, measured)) => {
                        if let Err(e) = conn.ws.send(Message::text(frame)).await {
                            out.error = Some(e.into());
                            break;
                        }
                        out.sent_total += 1;
                        if measured {
                            out.sent_measured += 1;
                            out.measured_ids = Some(match out.measured_ids {
                                Some((first, last)) => (first.min(id), last.max(id)),
                                None => (id, id),
                            });
                        }
                    }
                    None => sending = false,
                }
            }
        }
    }
    out
}
