//! Raw Engine.IO test helpers: an in-process actix-web server with Engine.IO
//! mounts on a free port, a recording handler, and bounded-wait clients
//! (reqwest for polling, tokio-tungstenite for WebSocket).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpServer};
use bus_web::engineio::{
    CloseReason, EchoHandler, EngineConfig, EngineHandler, EngineIo, EngineMessage, EngineSession,
    HandshakeRequest,
};
use futures::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The longest any single wait in these tests may take.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A config at `path` whose heartbeat cannot interfere with a test
/// (a missing close cannot hide behind a ping timeout).
pub(crate) fn quiet_config(path: &str) -> EngineConfig {
    EngineConfig {
        path: path.to_owned(),
        ping_interval: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(60),
        ..EngineConfig::default()
    }
}

/// What a [`Recorder`] saw.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) opened: Vec<String>,
    pub(crate) requests: Vec<HandshakeRequest>,
    pub(crate) messages: Vec<(String, EngineMessage)>,
    pub(crate) closed: Vec<(String, CloseReason)>,
}

/// Echoes like [`EchoHandler`] and records every call.
#[derive(Debug, Default, Clone)]
pub(crate) struct Recorder {
    pub(crate) record: Arc<Mutex<Record>>,
}

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        let mut guard = self
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// The close reasons recorded for `sid`.
    pub(crate) fn closes_of(&self, sid: &str) -> Vec<CloseReason> {
        self.with(|record| {
            record
                .closed
                .iter()
                .filter(|(closed, _)| closed == sid)
                .map(|(_, reason)| reason.clone())
                .collect()
        })
    }

    /// Wait (bounded) until `sid` has been closed; its close reasons.
    pub(crate) async fn wait_closed(&self, sid: &str) -> Vec<CloseReason> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let closes = self.closes_of(sid);
            if !closes.is_empty() || tokio::time::Instant::now() > deadline {
                // Give a duplicate on_close a chance to show up.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return self.closes_of(sid);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl EngineHandler for Recorder {
    fn on_open(&self, session: &EngineSession) {
        self.with(|record| {
            record.opened.push(session.sid().to_owned());
            record.requests.push(session.request().clone());
        });
    }
    fn on_message(&self, session: &EngineSession, message: EngineMessage) {
        self.with(|record| {
            record
                .messages
                .push((session.sid().to_owned(), message.clone()))
        });
        EchoHandler.on_message(session, message);
    }
    fn drain_outbound(&self, _session: &EngineSession, _out: &mut Vec<EngineMessage>) {}
    fn on_close(&self, session: &EngineSession, reason: CloseReason) {
        self.with(|record| record.closed.push((session.sid().to_owned(), reason)));
    }
}

/// A running server; stopped when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) engines: Vec<EngineIo>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for engine in &self.engines {
            engine.shutdown();
        }
        drop(self.handle.stop(false));
    }
}

/// How a test server serves WebSockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "each test binary uses the transports it tests")]
pub(crate) enum Transport {
    /// Through the actix-web route that `EngineIo::configure` registers.
    Route,
    /// Through the lean transport (`bus_web::engineio::serve`), as
    /// bus-server serves them.
    Lean,
}

impl TestServer {
    /// Serve every mount on `127.0.0.1:0` with one worker.
    pub(crate) fn start(mounts: Vec<(EngineConfig, Arc<dyn EngineHandler>)>) -> Self {
        Self::start_on(Transport::Route, mounts)
    }

    /// Serve every mount on `127.0.0.1:0` with one worker, WebSockets
    /// through `transport`.
    pub(crate) fn start_on(
        transport: Transport,
        mounts: Vec<(EngineConfig, Arc<dyn EngineHandler>)>,
    ) -> Self {
        let engines: Vec<EngineIo> = mounts
            .into_iter()
            .map(|(config, handler)| EngineIo::new(config, handler))
            .collect();
        if transport == Transport::Lean {
            return Self::start_lean(engines);
        }
        let for_app = engines.clone();
        let server = HttpServer::new(move || {
            let mut app = App::new();
            for engine in &for_app {
                app = app.configure(engine.configure());
            }
            app
        })
        .workers(1)
        // Lets a pending poll notice at once when its client goes away.
        .h1_allow_half_closed(false)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .unwrap_or_else(|error| panic!("cannot bind: {error}"));
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Self {
            addr,
            engines,
            handle,
        }
    }

    fn start_lean(engines: Vec<EngineIo>) -> Self {
        let upgrade = engines
            .iter()
            .map(EngineIo::websocket_upgrade)
            .reduce(|all, one| all.and(one))
            .unwrap_or_else(|| panic!("no mount to serve"));
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|error| panic!("cannot bind: {error}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("{error}"));
        let for_app = engines.clone();
        let builder = actix_server::Server::build()
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1);
        let server = bus_web::engineio::serve(builder, listener, upgrade, move || {
            let mut app = App::new();
            for engine in &for_app {
                app = app.configure(engine.configure());
            }
            app
        })
        .unwrap_or_else(|error| panic!("cannot serve: {error}"));
        let handle = server.handle();
        actix_rt::spawn(server);
        Self {
            addr,
            engines,
            handle,
        }
    }

    /// One quiet mount at `path` recorded by the returned [`Recorder`].
    pub(crate) fn recorded(path: &str) -> (Self, Recorder) {
        Self::recorded_on(Transport::Route, path)
    }

    /// One quiet mount at `path`, WebSockets through `transport`, recorded
    /// by the returned [`Recorder`].
    pub(crate) fn recorded_on(transport: Transport, path: &str) -> (Self, Recorder) {
        let recorder = Recorder::default();
        let server = Self::start_on(
            transport,
            vec![(quiet_config(path), Arc::new(recorder.clone()))],
        );
        (server, recorder)
    }

    /// `http://127.0.0.1:PORT{path_and_query}`.
    pub(crate) fn http(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// `ws://127.0.0.1:PORT{path_and_query}`.
    pub(crate) fn ws(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }
}

/// An HTTP client whose every request is bounded by [`WAIT`].
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|error| panic!("cannot build client: {error}"))
}

/// `(status, body)` of a GET.
pub(crate) async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// `(status, body)` of a POST.
pub(crate) async fn post(client: &reqwest::Client, url: &str, body: &str) -> (u16, String) {
    let response = client
        .post(url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|error| panic!("POST {url}: {error}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Parse an open packet `0{...}`.
pub(crate) fn parse_open(packet: &str) -> serde_json::Value {
    let json = packet
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {packet:?}"));
    serde_json::from_str(json).unwrap_or_else(|error| panic!("bad handshake {json:?}: {error}"))
}

/// Open a polling session at `path`; its sid.
pub(crate) async fn polling_session(server: &TestServer, path: &str) -> String {
    let (status, body) = get(
        &http_client(),
        &server.http(&format!("{path}?EIO=4&transport=polling")),
    )
    .await;
    assert_eq!(status, 200, "handshake failed: {body}");
    parse_open(&body)["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {body}"))
        .to_owned()
}

/// A WebSocket client stream.
pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect a WebSocket (bounded).
pub(crate) async fn ws_connect(url: &str) -> Ws {
    let connect = tokio_tungstenite::connect_async(url);
    match tokio::time::timeout(WAIT, connect).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(error)) => panic!("websocket connect {url}: {error}"),
        Err(_) => panic!("websocket connect {url} timed out"),
    }
}

/// The next data frame (bounded); panics on close or timeout.
pub(crate) async fn ws_next(ws: &mut Ws) -> WsMessage {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
            Ok(Some(Ok(message))) => return message,
            Ok(other) => panic!("websocket ended: {other:?}"),
            Err(_) => panic!("no websocket frame within {WAIT:?}"),
        }
    }
}

/// The next frame, which must be text (bounded).
pub(crate) async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        WsMessage::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Send a text frame.
pub(crate) async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::Text(text.to_owned()))
        .await
        .unwrap_or_else(|error| panic!("websocket send: {error}"));
}

/// Wait (bounded) until the server closes the connection: a close frame,
/// the end of the stream, or a reset. Panics if a data frame comes first
/// or nothing happens in time.
pub(crate) async fn ws_expect_closed(ws: &mut Ws) {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
            Ok(Some(Ok(WsMessage::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return,
            Ok(Some(Ok(message))) => panic!("expected a close, got {message:?}"),
            Err(_) => panic!("websocket not closed within {WAIT:?}"),
        }
    }
}
