//! The lean WebSocket transport: Engine.IO WebSocket connections served on
//! the raw TCP stream that actix-http hands over on `Connection: Upgrade`.
//!
//! Through an actix-web route, a WebSocket keeps actix-http's HTTP/1
//! dispatcher alive for its whole life, with its fixed 8 KB read and 8 KB
//! write buffers: 16 KB per idle connection. Here the dispatcher hands the
//! socket over (`HttpServiceBuilder::upgrade`) and is gone; this module reads
//! into a buffer allocated only while bytes are being decoded and encodes
//! each batch into a buffer freed once written, so an idle connection holds
//! no I/O buffer at all.
//!
//! This module owns the upgrade request checks (the same as the actix-web
//! route's), the WebSocket handshake, frame reading and batched writes. Like
//! `websocket.rs` it must not touch session state: it forwards packets to
//! the session actor and writes the batches the session sends it.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use actix::prelude::*;
use actix_codec::{Decoder as _, Framed};
use actix_http::body::BodySize;
use actix_http::h1;
use actix_http::ws::{self, CloseCode, CloseReason as WsCloseReason, Frame as WsFrame, Item};
use actix_http::{Method, Request, Response, StatusCode};
use actix_rt::net::TcpStream;
use actix_web::web::Query;
use bytes::{Bytes, BytesMut};
use futures::channel::oneshot;
use futures::future::Either;
use futures::SinkExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::tcp::OwnedReadHalf;

use super::error::RequestError;
use super::handler::{CloseReason, HandshakeRequest};
use super::mount::headers_map;
use super::packet::{decode_binary, decode_text, Packet};
use super::session::{
    AttachWebSocket, CloseConnection, DirectLink, EngineShared, FlushPending, Session,
    SessionStarter, WriteFrames, WsGone, WsInbound, WsLink,
};
use super::websocket::next_connection_id;
use super::write_gate::{encode_batch, encode_message, write_all, WriteGate};

/// What a connection reads at most per system call.
const READ_CHUNK: usize = 4096;

/// The `Connection: Upgrade` handler of one Engine.IO endpoint, for a server
/// built with actix-http's `HttpServiceBuilder::upgrade` (see
/// [`EngineIo::websocket_upgrade`](super::EngineIo::websocket_upgrade)).
/// Cheap to clone.
#[derive(Clone)]
pub struct WebSocketUpgrade {
    mounts: Vec<Arc<EngineShared>>,
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<&str> = self
            .mounts
            .iter()
            .map(|shared| shared.config.path.as_str())
            .collect();
        f.debug_struct("WebSocketUpgrade")
            .field("paths", &paths)
            .finish()
    }
}

impl WebSocketUpgrade {
    pub(crate) fn new(shared: Arc<EngineShared>) -> Self {
        Self {
            mounts: vec![shared],
        }
    }

    /// Serves the upgrades of `other`'s endpoints too (several endpoints
    /// mounted on one server).
    pub fn and(mut self, other: WebSocketUpgrade) -> Self {
        self.mounts.extend(other.mounts);
        self
    }

    /// Serves one upgrade request: an Engine.IO WebSocket connection at the
    /// endpoint's path gets the `101` answer and a connection actor; any
    /// other request gets the same error answer as through actix-web (a
    /// `{"code":..,"message":..}` 400, or 404 off the path) and is closed.
    ///
    /// # Errors
    ///
    /// The I/O error of writing the answer.
    pub async fn handle(
        &self,
        req: Request,
        mut framed: Framed<TcpStream, h1::Codec>,
    ) -> io::Result<()> {
        let Some(shared) = self.mount(&req) else {
            return refuse(&mut framed, Refusal::NotFound).await;
        };
        let (sid, request) = match check(&req) {
            Ok(checked) => checked,
            Err(status) => return refuse(&mut framed, status).await,
        };
        let max_payload = shared.config.max_payload;
        let write_timeout = shared.config.write_timeout;
        let id = next_connection_id();
        match sid {
            None => {
                let starter = SessionStarter::new(shared, request);
                let connection = LeanWs::new(id, starter.addr(), max_payload, write_timeout);
                let gate = connection.gate.clone();
                let Some((reader, addr)) = accept(&req, framed, connection).await else {
                    shared.registry.remove(starter.sid());
                    return Ok(());
                };
                starter.start_websocket(link(id, &addr, gate));
                // The HTTP dispatcher's task ends here; the reader has its own.
                actix_rt::spawn(reader.run());
            }
            Some(sid) => {
                let Some(entry) = shared.registry.get(&sid) else {
                    return refuse(&mut framed, Refusal::Engine(RequestError::UnknownSid)).await;
                };
                let connection = LeanWs::new(id, entry.addr.clone(), max_payload, write_timeout);
                let gate = connection.gate.clone();
                let (addr, ctx, connection) = start_later(connection);
                let attached = entry.addr.send(AttachWebSocket {
                    link: link(id, &addr, gate),
                });
                match attached.await {
                    Ok(Ok(())) => {}
                    Ok(Err(refused)) => {
                        tracing::debug!(%sid, %refused, "websocket upgrade refused");
                        return refuse(&mut framed, Refusal::Engine(RequestError::BadRequest))
                            .await;
                    }
                    Err(_) => {
                        return refuse(&mut framed, Refusal::Engine(RequestError::UnknownSid)).await
                    }
                }
                if let Some(reader) = accept_started(&req, framed, (ctx, connection), addr).await {
                    actix_rt::spawn(reader.run());
                }
            }
        }
        Ok(())
    }

    /// The endpoint mounted at the request's path (with or without its
    /// trailing slash, as the actix-web route).
    fn mount(&self, req: &Request) -> Option<&Arc<EngineShared>> {
        self.mounts.iter().find(|shared| {
            let path = shared.config.path.as_str();
            let trimmed = path.trim_end_matches('/');
            req.path() == path || (!trimmed.is_empty() && req.path() == trimmed)
        })
    }
}

/// The sid (for an upgrade from polling) and handshake of a valid Engine.IO
/// WebSocket request.
fn check(req: &Request) -> Result<(Option<String>, HandshakeRequest), Refusal> {
    let query = req.uri().query().unwrap_or("");
    let Ok(query) = Query::<HashMap<String, String>>::from_query(query) else {
        return Err(Refusal::Engine(RequestError::BadRequest));
    };
    let query = query.into_inner();
    if query.get("transport").map(String::as_str) != Some("websocket") {
        return Err(Refusal::Engine(RequestError::UnknownTransport));
    }
    if query.get("EIO").map(String::as_str) != Some("4") {
        return Err(Refusal::Engine(RequestError::UnsupportedProtocolVersion));
    }
    if req.method() != Method::GET || ws::verify_handshake(req.head()).is_err() {
        return Err(Refusal::Engine(RequestError::BadRequest));
    }
    let sid = query.get("sid").cloned();
    let request = HandshakeRequest {
        headers: Arc::new(headers_map(&req.head().headers)),
        address: req.peer_addr(),
        query: Arc::new(query),
    };
    Ok((sid, request))
}

/// Serves `app` on `listener` like actix-web's `HttpServer`, except that
/// `Connection: Upgrade` requests go to `upgrade`: Engine.IO WebSocket
/// connections then use the lean transport (no HTTP/1 dispatcher and no
/// I/O buffer while idle). Sets `TCP_NODELAY` on every connection (small
/// frames are not held back by Nagle's algorithm) and notices at once a
/// long-polling client that aborts its request (`h1_allow_half_closed
/// (false)`). `builder` carries the server's own settings (workers,
/// signals, shutdown timeout).
///
/// # Errors
///
/// The I/O error of registering `listener`.
///
/// # Examples
///
/// ```no_run
/// use actix_web::App;
///
/// # async fn run() -> std::io::Result<()> {
/// let gateway = bus_web::SocketIo::builder(bus_core::Bus::start()).build();
/// let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
/// let upgrade = gateway.engine().websocket_upgrade();
/// let for_app = gateway.clone();
/// let builder = actix_server::Server::build().workers(2);
/// bus_web::engineio::serve(builder, listener, upgrade, move || {
///     App::new().configure(for_app.configure())
/// })?
/// .await
/// # }
/// ```
pub fn serve<F, I, S, B>(
    builder: actix_server::ServerBuilder,
    listener: std::net::TcpListener,
    upgrade: WebSocketUpgrade,
    app: F,
) -> io::Result<actix_server::Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, Request>,
    S: actix_service::ServiceFactory<Request, Config = actix_web::dev::AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as actix_service::Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_http::body::MessageBody + 'static,
{
    use actix_service::ServiceFactoryExt as _;
    let local = listener.local_addr()?;
    let server = builder.listen("bus-web", listener, move || {
        let app = app()
            .into_factory()
            .map_err(|error| error.into().error_response());
        let upgrade = upgrade.clone();
        let upgrade = actix_service::fn_service(
            move |(req, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                let upgrade = upgrade.clone();
                async move {
                    upgrade
                        .handle(req, framed)
                        .await
                        .map_err(actix_web::Error::from)
                }
            },
        );
        actix_http::HttpService::build()
            .h1_allow_half_closed(false)
            .tcp_nodelay(true)
            .local_addr(local)
            .upgrade(upgrade)
            .finish(actix_service::map_config(app, move |()| {
                actix_web::dev::AppConfig::default()
            }))
            .tcp()
    })?;
    Ok(server.run())
}

/// Why an upgrade request is answered with an error.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    NotFound,
    Engine(RequestError),
}

/// Answers with an error and closes the connection.
async fn refuse(framed: &mut Framed<TcpStream, h1::Codec>, refusal: Refusal) -> io::Result<()> {
    let (status, body) = match refusal {
        Refusal::NotFound => (StatusCode::NOT_FOUND, Bytes::new()),
        Refusal::Engine(error) => (StatusCode::BAD_REQUEST, Bytes::from(error.body())),
    };
    let mut response = Response::with_body(status, ());
    if !body.is_empty() {
        response.headers_mut().insert(
            actix_http::header::CONTENT_TYPE,
            actix_http::header::HeaderValue::from_static("application/json"),
        );
    }
    response
        .head_mut()
        .set_connection_type(actix_http::ConnectionType::Close);
    let size = BodySize::Sized(body.len() as u64);
    framed
        .send(h1::Message::Item((response, size)))
        .await
        .map_err(io::Error::other)?;
    if !body.is_empty() {
        framed
            .send(h1::Message::Chunk(Some(body)))
            .await
            .map_err(io::Error::other)?;
    }
    framed
        .send(h1::Message::Chunk(None))
        .await
        .map_err(io::Error::other)?;
    framed.io_mut().shutdown().await
}

/// A connection actor made but not started, so its address can be handed to
/// the session before the socket is accepted.
fn start_later(connection: LeanWs) -> (Addr<LeanWs>, Context<LeanWs>, LeanWs) {
    let ctx = Context::new();
    (ctx.address(), ctx, connection)
}

/// Writes the `101` answer and starts `connection` on the socket; `None`
/// when the answer cannot be written.
async fn accept(
    req: &Request,
    framed: Framed<TcpStream, h1::Codec>,
    connection: LeanWs,
) -> Option<(Reader, Addr<LeanWs>)> {
    let (addr, ctx, connection) = start_later(connection);
    let reader = accept_started(req, framed, (ctx, connection), addr.clone()).await?;
    Some((reader, addr))
}

async fn accept_started(
    req: &Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    (ctx, mut connection): (Context<LeanWs>, LeanWs),
    addr: Addr<LeanWs>,
) -> Option<Reader> {
    let response = ws::handshake_response(req.head()).finish().drop_body();
    let sent = framed
        .send(h1::Message::Item((response, BodySize::None)))
        .await;
    if let Err(error) = sent {
        tracing::debug!(%error, "websocket handshake answer not written");
        // Dropping the context without running it: the session sees the
        // connection gone when its link fails.
        return None;
    }
    let parts = framed.into_parts();
    let (read, write) = parts.io.into_split();
    connection.gate.open(write);
    let (stop_reader, stop) = oneshot::channel();
    connection._stop_reader = Some(stop_reader);
    let reader = Reader {
        id: connection.id,
        read,
        // Bytes the client sent right after its request (its first frames).
        buf: parts.read_buf,
        codec: ws::Codec::new().max_size(connection.max_payload),
        max_payload: connection.max_payload,
        session: connection.session.clone(),
        connection: addr,
        fragments: None,
        stop,
    };
    ctx.run(connection);
    Some(reader)
}

fn link(id: u64, addr: &Addr<LeanWs>, gate: Arc<WriteGate>) -> WsLink {
    WsLink {
        id,
        write: addr.clone().recipient(),
        close: addr.clone().recipient(),
        direct: Some(DirectLink {
            gate,
            flush: addr.clone().recipient(),
        }),
    }
}

// ---------------------------------------------------------------------------
// The writing side: an actor the session writes batches to
// ---------------------------------------------------------------------------

/// The writing half of one lean WebSocket connection.
struct LeanWs {
    id: u64,
    session: Addr<Session>,
    max_payload: usize,
    /// The socket's write side, shared with the session (which writes
    /// batches straight to it when it can).
    gate: Arc<WriteGate>,
    /// The longest one batch may take to write: a client that stops reading
    /// is dropped then (the session's `write_timeout`).
    write_timeout: std::time::Duration,
    /// The reason reported to the session when this connection ends.
    exit: CloseReason,
    /// A close frame was written: nothing more is.
    closed: bool,
    /// Dropped with the actor: the reader stops waiting for bytes.
    _stop_reader: Option<oneshot::Sender<()>>,
}

impl LeanWs {
    fn new(
        id: u64,
        session: Addr<Session>,
        max_payload: usize,
        write_timeout: std::time::Duration,
    ) -> Self {
        Self {
            id,
            session,
            max_payload,
            gate: Arc::new(WriteGate::default()),
            write_timeout,
            exit: CloseReason::ClientClose,
            closed: false,
            _stop_reader: None,
        }
    }

    /// Writes `bytes` (several frames, after whatever the session left
    /// pending in the gate), then runs `then`; the actor handles nothing
    /// else meanwhile, so writes keep their order.
    fn write(
        &mut self,
        bytes: BytesMut,
        then: fn(&mut Self, &mut Context<Self>),
    ) -> ResponseActFuture<Self, ()> {
        let gate = self.gate.clone();
        let limit = self.write_timeout;
        Box::pin(
            async move {
                let Some((writer, all)) = gate.begin(bytes) else {
                    return Err(CloseReason::TransportError);
                };
                let result = match actix_rt::time::timeout(limit, write_all(&writer, all)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "websocket write failed");
                        Err(CloseReason::TransportError)
                    }
                    Err(_) => {
                        tracing::debug!("websocket client stopped reading");
                        Err(CloseReason::BufferFull)
                    }
                };
                gate.end(result.is_ok());
                result
            }
            .into_actor(self)
            .map(move |result, act, ctx| match result {
                Ok(()) => then(act, ctx),
                Err(reason) => {
                    act.exit = reason;
                    ctx.stop();
                }
            }),
        )
    }

    /// Writes a close frame with `code` and stops.
    fn close(&mut self, code: Option<CloseCode>, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        self.closed = true;
        let mut bytes = BytesMut::new();
        let reason = code.map(WsCloseReason::from);
        if encode_message(ws::Message::Close(reason), &mut bytes) {
            ctx.wait(self.write(bytes, |_, ctx| ctx.stop()));
        } else {
            ctx.stop();
        }
    }
}

impl Actor for LeanWs {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.gate.close();
        // A control message on the exit path, not fan-out.
        self.session.do_send(WsGone {
            conn_id: self.id,
            reason: self.exit.clone(),
        });
    }
}

impl Handler<WriteFrames> for LeanWs {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: WriteFrames, _ctx: &mut Self::Context) -> Self::Result {
        let bytes = if self.closed {
            BytesMut::new()
        } else {
            encode_batch(msg.packets)
        };
        AtomicResponse::new(self.write(bytes, |_, _| {}))
    }
}

impl Handler<FlushPending> for LeanWs {
    type Result = AtomicResponse<Self, ()>;
    /// Writes what the session left pending in the gate.
    fn handle(&mut self, _msg: FlushPending, _ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(self.write(BytesMut::new(), |_, _| {}))
    }
}

impl Handler<CloseConnection> for LeanWs {
    type Result = ();
    fn handle(&mut self, _msg: CloseConnection, ctx: &mut Self::Context) {
        self.close(Some(CloseCode::Normal), ctx);
    }
}

/// What the reading side asks the writing side to do.
#[derive(Message)]
#[rtype(result = "()")]
enum Control {
    /// Answer a ping.
    Pong(Bytes),
    /// End the connection for `reason`, with a close frame carrying `code`
    /// (`None`: a close frame without a code; no frame at all when
    /// `frame` is false).
    End {
        reason: CloseReason,
        frame: bool,
        code: Option<CloseCode>,
    },
}

impl Handler<Control> for LeanWs {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Self::Context) {
        match msg {
            Control::Pong(data) => {
                let mut bytes = BytesMut::new();
                if !self.closed && encode_message(ws::Message::Pong(data), &mut bytes) {
                    ctx.wait(self.write(bytes, |_, _| {}));
                }
            }
            Control::End {
                reason,
                frame,
                code,
            } => {
                tracing::debug!(conn = self.id, %reason, "closing websocket connection");
                self.exit = reason;
                if frame {
                    self.close(code, ctx);
                } else {
                    ctx.stop();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The reading side: a task that decodes frames and forwards packets
// ---------------------------------------------------------------------------

/// A fragmented message being reassembled.
struct Fragments {
    binary: bool,
    data: BytesMut,
}

/// The reading half of one lean WebSocket connection.
struct Reader {
    id: u64,
    read: OwnedReadHalf,
    /// Bytes read but not decoded yet; released whenever it is empty, so an
    /// idle connection holds no read buffer.
    buf: BytesMut,
    codec: ws::Codec,
    max_payload: usize,
    session: Addr<Session>,
    connection: Addr<LeanWs>,
    fragments: Option<Fragments>,
    /// Resolves (cancelled) when the connection actor is gone.
    stop: oneshot::Receiver<()>,
}

/// How reading ended.
struct End {
    reason: CloseReason,
    frame: bool,
    code: Option<CloseCode>,
}

impl End {
    fn fail(reason: CloseReason) -> Self {
        let code = match reason {
            CloseReason::ParseError => CloseCode::Invalid,
            _ => CloseCode::Protocol,
        };
        End {
            reason,
            frame: true,
            code: Some(code),
        }
    }

    fn transport_error() -> Self {
        End {
            reason: CloseReason::TransportError,
            frame: false,
            code: None,
        }
    }
}

impl Reader {
    /// Reads until the client or the connection actor ends the connection.
    async fn run(mut self) {
        let end = self.read_all().await;
        tracing::trace!(conn = self.id, "websocket reader done");
        self.connection.do_send(Control::End {
            reason: end.reason,
            frame: end.frame,
            code: end.code,
        });
    }

    async fn read_all(&mut self) -> End {
        loop {
            loop {
                let frame = match self.codec.decode(&mut self.buf) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::debug!(conn = self.id, %error, "websocket protocol error");
                        return End::transport_error();
                    }
                };
                // Boxed: the frame handling (with its wait on the session)
                // then takes no room in this future, which every idle
                // connection keeps while it waits for bytes.
                if let Some(end) = Box::pin(self.on_frame(frame)).await {
                    return end;
                }
            }
            if self.buf.is_empty() {
                // Nothing pending: hold no buffer while idle.
                self.buf = BytesMut::new();
            }
            let readable = self.read.readable();
            futures::pin_mut!(readable);
            match futures::future::select(readable, &mut self.stop).await {
                Either::Left((Ok(()), _)) => {}
                Either::Left((Err(error), _)) => {
                    tracing::debug!(conn = self.id, %error, "websocket read failed");
                    return End::transport_error();
                }
                // The connection actor is gone.
                Either::Right(_) => return End::transport_error(),
            }
            self.buf.reserve(READ_CHUNK);
            match self.read.try_read_buf(&mut self.buf) {
                // The client went away without a close frame.
                Ok(0) => {
                    return End {
                        reason: CloseReason::ClientClose,
                        frame: false,
                        code: None,
                    }
                }
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    tracing::debug!(conn = self.id, %error, "websocket read failed");
                    return End::transport_error();
                }
            }
        }
    }

    /// Acts on one frame; `Some` ends the connection.
    async fn on_frame(&mut self, frame: WsFrame) -> Option<End> {
        match frame {
            WsFrame::Text(data) => self.on_text(data).await,
            WsFrame::Binary(data) => self.forward(decode_binary(data)).await,
            WsFrame::Continuation(item) => self.on_fragment(item).await,
            WsFrame::Ping(data) => {
                self.connection.do_send(Control::Pong(data));
                None
            }
            WsFrame::Pong(_) => None,
            WsFrame::Close(_) => Some(End {
                reason: CloseReason::ClientClose,
                frame: true,
                code: None,
            }),
        }
    }

    async fn on_text(&mut self, data: Bytes) -> Option<End> {
        let Ok(text) = std::str::from_utf8(&data) else {
            return Some(End::transport_error());
        };
        match decode_text(text) {
            Ok(packet) => self.forward(packet).await,
            Err(error) => {
                tracing::debug!(conn = self.id, %error, "invalid packet");
                Some(End::fail(CloseReason::ParseError))
            }
        }
    }

    async fn on_fragment(&mut self, item: Item) -> Option<End> {
        let (first, data, last) = match item {
            Item::FirstText(data) => (Some(false), data, false),
            Item::FirstBinary(data) => (Some(true), data, false),
            Item::Continue(data) => (None, data, false),
            Item::Last(data) => (None, data, true),
        };
        if let Some(binary) = first {
            if self.fragments.is_some() {
                return Some(End::fail(CloseReason::TransportError));
            }
            self.fragments = Some(Fragments {
                binary,
                data: BytesMut::new(),
            });
        }
        let Some(fragments) = self.fragments.as_mut() else {
            return Some(End::fail(CloseReason::TransportError));
        };
        if fragments.data.len() + data.len() > self.max_payload {
            return Some(End::fail(CloseReason::TransportError));
        }
        fragments.data.extend_from_slice(&data);
        if !last {
            return None;
        }
        let Fragments { binary, data } = self.fragments.take()?;
        if binary {
            self.forward(decode_binary(data.freeze())).await
        } else {
            match std::str::from_utf8(&data) {
                Ok(text) => match decode_text(text) {
                    Ok(packet) => self.forward(packet).await,
                    Err(_) => Some(End::fail(CloseReason::ParseError)),
                },
                Err(_) => Some(End::fail(CloseReason::ParseError)),
            }
        }
    }

    /// Hands a packet to the session and reads nothing more until it is
    /// handled, and, when the layer above is full, until it has taken it:
    /// a client that floods is slowed down (TCP pushes back), never
    /// buffered without bound nor dropped.
    async fn forward(&mut self, packet: Packet) -> Option<End> {
        let inbound = WsInbound {
            conn_id: self.id,
            packet,
        };
        match self.session.send(inbound).await {
            Ok(None) => None,
            Ok(Some(wait)) => {
                // An error means the session closed; it closes this
                // connection.
                let _ = wait.await;
                None
            }
            Err(_) => Some(End::transport_error()),
        }
    }
}
