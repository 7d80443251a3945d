//! Raw Socket.IO v5 protocol tests: exact frames over WebSocket
//! (tokio-tungstenite) and HTTP long-polling (reqwest) against a gateway
//! started in-test on 127.0.0.1:0, served as `bus-server` serves it
//! (`bus_web::engineio::serve`: WebSockets on the lean transport; the
//! Engine.IO tests cover the plain actix-web route).
//!
//! The server mirrors the protocol document's reference server (namespaces
//! `/` and `/custom`, `auth`, `message-back`, `message-with-ack`) plus a few
//! extras (a middleware-protected `/private`, server-side acks, rooms, kick).
//! Heartbeats are long (60 s) so a ping timeout can never hide a missing
//! close; every wait is bounded.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::App;
use bus_core::{AtLeastOnce, Bus, ConnectError, NamespaceConfig, Socket};
use bus_web::SocketIo;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::Message;

/// The bound of every single wait.
const WAIT: Duration = Duration::from_secs(5);

/// Disconnects the server saw: (namespace, socket id, reason).
type Log = Arc<Mutex<Vec<(String, String, String)>>>;

struct Server {
    port: u16,
    log: Log,
}

fn record_disconnects(socket: &Socket, ns: &'static str, log: &Log) {
    let log = log.clone();
    socket.on_disconnect(move |socket, reason| {
        if let Ok(mut log) = log.lock() {
            log.push((
                ns.to_owned(),
                socket.id().to_string(),
                reason.as_str().to_owned(),
            ));
        }
    });
}

fn emit_auth(socket: &Socket) {
    let _ = socket.emit("auth", &socket.handshake().auth);
}

fn setup(bus: &Bus, log: &Log) {
    let l = log.clone();
    bus.of("/").on_connection(move |socket| {
        record_disconnects(&socket, "/", &l);
        emit_auth(&socket);
        socket.on_any(|socket, event, ack| match event.name.as_str() {
            "message" => {
                let _ = socket.emit_payload("message-back", event.payload.clone());
            }
            "message-with-ack" => {
                if let Some(ack) = ack {
                    let _ = ack.send_payload(event.payload.clone());
                }
            }
            "join" => {
                if let Ok(room) = event.payload.decode::<String>() {
                    let _ = socket.join(room);
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&"joined");
                }
            }
            "shout" => {
                if let Ok((room, text)) = event.payload.decode::<(String, String)>() {
                    let _ = socket.namespace().to(room).emit("shouted", &text);
                }
            }
            "ask" => {
                let socket = socket.clone();
                let answer = socket.emit_with_ack::<_, serde_json::Value>("question", &"q", WAIT);
                actix_rt::spawn(async move {
                    match answer.await {
                        Ok(value) => {
                            let _ = socket.emit("answer", &value);
                        }
                        Err(error) => {
                            let _ = socket.emit("answer-error", &error.to_string());
                        }
                    }
                });
            }
            "kick" => socket.disconnect(),
            "drop-transport" => {
                let _ = socket.emit("bye", &"now");
                socket.close_transport();
            }
            _ => {}
        });
    });
    let l = log.clone();
    bus.of("/custom").on_connection(move |socket| {
        record_disconnects(&socket, "/custom", &l);
        emit_auth(&socket);
    });
    let private = bus.of("/private");
    private.use_middleware(|handshake| {
        if handshake.auth["token"] == "secret" {
            Ok(())
        } else {
            Err(ConnectError::new("not authorized").with_data(serde_json::json!({"code": 401})))
        }
    });
    private.on_connection(|socket| emit_auth(&socket));
    bus.of("/handshake").on_connection(|socket| {
        let handshake = socket.handshake();
        let seen = serde_json::json!({
            "hello": handshake.query.get("hello"),
            "header": handshake.headers.get("x-test"),
            "loopback": handshake.address.is_some_and(|a| a.ip().is_loopback()),
            "clientId": handshake.client_id,
        });
        let _ = socket.emit("handshake", &seen);
    });
    // Handlers slower than the client, behind the smallest inbound queue.
    let slow = NamespaceConfig {
        inbound_capacity: 16,
        ..NamespaceConfig::default()
    };
    let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    bus.of_with("/slow", slow).on_connection(move |socket| {
        let ticks = ticks.clone();
        socket.on_any(move |socket, event, _ack| match event.name.as_str() {
            "tick" => {
                std::thread::sleep(Duration::from_millis(1));
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            "count" => {
                let _ = socket.emit("count", &ticks.load(std::sync::atomic::Ordering::Relaxed));
            }
            _ => {}
        });
    });
    let reliable = NamespaceConfig::default()
        .at_least_once(AtLeastOnce::new().with_ack_deadline(Duration::from_secs(60)));
    let l = log.clone();
    bus.of_with("/reliable", reliable)
        .on_connection(move |socket| {
            record_disconnects(&socket, "/reliable", &l);
            socket.on("send", |socket, n: u64, _ack| {
                let _ = socket.emit("n", &n);
            });
        });
}

fn start(connect_timeout: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let log: Log = Arc::default();
    let server_log = log.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            // Handlers on the gateway's workers, as bus-server runs them.
            let bus = Bus::builder().remote_sockets_on_caller(true).start();
            setup(&bus, &server_log);
            let gateway = SocketIo::builder(bus)
                .ping_interval(Duration::from_secs(60))
                .ping_timeout(Duration::from_secs(60))
                .connect_timeout(connect_timeout)
                .build();
            // Served as bus-server serves: WebSockets on the lean transport.
            let upgrade = gateway.engine().websocket_upgrade();
            let builder = actix_server::Server::build().workers(1).disable_signals();
            let server = bus_web::engineio::serve(builder, listener, upgrade, move || {
                App::new().configure(gateway.configure())
            })?;
            let _ = ready_tx.send(());
            server.await
        })
    });
    ready_rx
        .recv_timeout(WAIT * 2)
        .expect("server thread started");
    Server { port, log }
}

/// The server most tests share (connectTimeout 10 s, so it never interferes).
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start(Duration::from_secs(10)))
}

impl Server {
    /// Waits (bounded) until the server logged the disconnect of `sid` and
    /// returns its (namespace, reason).
    async fn disconnect_of(&self, sid: &str) -> (String, String) {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self.log.lock().ok().and_then(|log| {
                log.iter()
                    .find(|(_, id, _)| id == sid)
                    .map(|(ns, _, r)| (ns.clone(), r.clone()))
            });
            if let Some(found) = found {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no disconnect logged for socket {sid}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn disconnected(&self, sid: &str) -> bool {
        self.log
            .lock()
            .map(|log| log.iter().any(|(_, id, _)| id == sid))
            .unwrap_or(false)
    }
}

#[derive(Debug, PartialEq)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Closed,
}

struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    /// Opens a WebSocket session and checks the Engine.IO handshake.
    async fn open(port: u16) -> Ws {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        Ws::open_request(url.into_client_request().expect("request")).await
    }

    /// Opens a WebSocket session with a custom request (query, headers).
    async fn open_request(request: Request) -> Ws {
        let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("websocket connect timed out")
            .expect("websocket connect");
        let mut ws = Ws { stream };
        match ws.recv().await {
            Frame::Text(open) => assert!(open.starts_with("0{\"sid\":"), "handshake: {open}"),
            other => panic!("expected the open packet, got {other:?}"),
        }
        ws
    }

    /// Opens a session and joins `/`, returning the socket id.
    async fn joined() -> (Ws, String) {
        let mut ws = Ws::open(server().port).await;
        let sid = ws.connect("/", None).await;
        (ws, sid)
    }

    async fn send(&mut self, text: &str) {
        tokio::time::timeout(WAIT, self.stream.send(Message::Text(text.to_owned())))
            .await
            .expect("send timed out")
            .expect("send");
    }

    async fn send_binary(&mut self, data: &[u8]) {
        tokio::time::timeout(WAIT, self.stream.send(Message::Binary(data.to_vec())))
            .await
            .expect("send timed out")
            .expect("send");
    }

    /// The next Engine.IO frame (WebSocket pings are skipped), bounded.
    async fn recv(&mut self) -> Frame {
        loop {
            let next = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("no frame within the bound");
            return match next {
                Some(Ok(Message::Text(text))) => Frame::Text(text),
                Some(Ok(Message::Binary(data))) => Frame::Binary(data),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Frame::Closed,
            };
        }
    }

    async fn expect_text(&mut self, expected: &str) {
        assert_eq!(self.recv().await, Frame::Text(expected.to_owned()));
    }

    /// Sends a Socket.IO CONNECT and checks the `{"sid"}` answer and the
    /// `auth` event that follows; returns the socket id.
    async fn connect(&mut self, ns: &str, auth: Option<&str>) -> String {
        let sid = self.connect_only(ns, auth).await;
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        self.expect_text(&format!("42{prefix}[\"auth\",{}]", auth.unwrap_or("{}")))
            .await;
        sid
    }

    /// Sends a Socket.IO CONNECT and checks the `{"sid"}` answer.
    async fn connect_only(&mut self, ns: &str, auth: Option<&str>) -> String {
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")))
            .await;
        let Frame::Text(answer) = self.recv().await else {
            panic!("no CONNECT answer for {ns}");
        };
        let body = answer
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("unexpected CONNECT answer {answer}"));
        let value: serde_json::Value = serde_json::from_str(body).expect("CONNECT answer is JSON");
        let object = value.as_object().expect("CONNECT answer is an object");
        assert_eq!(object.len(), 1, "only sid in {body}");
        object["sid"].as_str().expect("sid is a string").to_owned()
    }

    /// Receives an event frame `42<prefix><id><body>` and returns its ack id.
    async fn expect_event_with_ack_id(&mut self, prefix: &str, body: &str) -> String {
        let Frame::Text(frame) = self.recv().await else {
            panic!("expected an event with {body}");
        };
        let id = frame
            .strip_prefix(&format!("42{prefix}"))
            .and_then(|rest| rest.strip_suffix(body))
            .unwrap_or_else(|| panic!("unexpected frame {frame}, expected {body}"));
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "ack id in {frame}"
        );
        id.to_owned()
    }

    /// Whether the server closed this connection within the bound.
    async fn closed(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match tokio::time::timeout(WAIT, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// Asserts nothing arrives for `quiet`.
    async fn silent_for(&mut self, quiet: Duration) {
        if let Ok(frame) = tokio::time::timeout(quiet, self.stream.next()).await {
            panic!("expected silence, got {frame:?}");
        }
    }
}

fn placeholder(n: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{n}}}"#)
}

#[tokio::test]
async fn connecting_to_the_main_namespace_answers_with_a_sid_then_auth() {
    let mut ws = Ws::open(server().port).await;
    let sid = ws.connect("/", None).await;
    assert_eq!(sid.len(), 20);
}

#[tokio::test]
async fn the_connect_payload_reaches_the_handshake_auth() {
    let mut ws = Ws::open(server().port).await;
    ws.connect("/", Some(r#"{"token":"123"}"#)).await;
}

#[tokio::test]
async fn a_custom_namespace_with_and_without_trailing_comma_and_auth() {
    let mut ws = Ws::open(server().port).await;
    ws.connect("/custom", Some(r#"{"token":"abc"}"#)).await;
    let mut ws = Ws::open(server().port).await;
    ws.send("40/custom").await;
    let Frame::Text(answer) = ws.recv().await else {
        panic!("no answer")
    };
    assert!(answer.starts_with("40/custom,{\"sid\":"), "{answer}");
    ws.expect_text(r#"42/custom,["auth",{}]"#).await;
}

#[tokio::test]
async fn an_unknown_namespace_is_refused_and_the_connection_stays_open() {
    let mut ws = Ws::open(server().port).await;
    ws.send("40/random").await;
    ws.expect_text(r#"44/random,{"message":"Invalid namespace"}"#)
        .await;
    ws.connect("/", None).await;
    ws.send(r#"42["message","still here"]"#).await;
    ws.expect_text(r#"42["message-back","still here"]"#).await;
}

#[tokio::test]
async fn middleware_rejection_is_a_connect_error_with_message_and_data() {
    let mut ws = Ws::open(server().port).await;
    ws.send(r#"40/private,{"token":"wrong"}"#).await;
    ws.expect_text(r#"44/private,{"message":"not authorized","data":{"code":401}}"#)
        .await;
    ws.send("40/private,").await;
    ws.expect_text(r#"44/private,{"message":"not authorized","data":{"code":401}}"#)
        .await;
    ws.connect("/private", Some(r#"{"token":"secret"}"#)).await;
}

#[tokio::test]
async fn a_client_event_reaches_the_server_and_its_emit_comes_back() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(r#"42["message",1,"2",{"3":[true]}]"#).await;
    ws.expect_text(r#"42["message-back",1,"2",{"3":[true]}]"#)
        .await;
}

#[tokio::test]
async fn a_client_flooding_slow_handlers_is_slowed_down_and_nothing_is_dropped() {
    // The only client of `/slow`, whose handlers take 1 ms an event behind
    // an inbound queue of 16: the server must stop reading rather than drop.
    let mut ws = Ws::open(server().port).await;
    ws.connect_only("/slow", None).await;
    let flood = 300;
    let started = Instant::now();
    for _ in 0..flood {
        ws.send(r#"42/slow,["tick"]"#).await;
    }
    ws.send(r#"42/slow,["count"]"#).await;
    ws.expect_text(&format!(r#"42/slow,["count",{flood}]"#))
        .await;
    // Really slowed down: the handlers cannot go faster than 1 ms an event.
    assert!(started.elapsed() >= Duration::from_millis(flood));
}

#[tokio::test]
async fn a_client_ack_request_is_answered_with_its_id() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    ws.expect_text(r#"43456[1,"2",{"3":[false]}]"#).await;
}

#[tokio::test]
async fn a_server_ack_request_is_answered_by_the_client() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(r#"42["ask"]"#).await;
    let Frame::Text(question) = ws.recv().await else {
        panic!("no question")
    };
    let id = question
        .strip_prefix("42")
        .and_then(|rest| rest.strip_suffix(r#"["question","q"]"#))
        .unwrap_or_else(|| panic!("unexpected question frame {question}"));
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "ack id in {question}"
    );
    ws.send(&format!(r#"43{id}["yes"]"#)).await;
    ws.expect_text(r#"42["answer","yes"]"#).await;
}

#[tokio::test]
async fn a_binary_ack_from_the_client_reaches_the_server() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(r#"42["ask"]"#).await;
    let Frame::Text(question) = ws.recv().await else {
        panic!("no question")
    };
    let id = question
        .strip_prefix("42")
        .and_then(|rest| rest.strip_suffix(r#"["question","q"]"#))
        .unwrap_or_else(|| panic!("unexpected question frame {question}"));
    ws.send(&format!("461-{id}[{}]", placeholder(0))).await;
    ws.send_binary(&[7, 7]).await;
    // The server decodes the answer as JSON, so it sees the placeholder.
    ws.expect_text(&format!(r#"42["answer",{}]"#, placeholder(0)))
        .await;
}

#[tokio::test]
async fn a_binary_event_is_reassembled_and_echoed_with_its_attachments() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(&format!(
        r#"452-["message",{},{}]"#,
        placeholder(0),
        placeholder(1)
    ))
    .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    ws.expect_text(&format!(
        r#"452-["message-back",{},{}]"#,
        placeholder(0),
        placeholder(1)
    ))
    .await;
    assert_eq!(ws.recv().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv().await, Frame::Binary(vec![4, 5, 6]));
}

#[tokio::test]
async fn a_binary_ack_carries_its_attachments_back() {
    let (mut ws, _) = Ws::joined().await;
    ws.send(&format!(
        r#"452-789["message-with-ack",{},{}]"#,
        placeholder(0),
        placeholder(1)
    ))
    .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    ws.expect_text(&format!(
        r#"462-789[{},{}]"#,
        placeholder(0),
        placeholder(1)
    ))
    .await;
    assert_eq!(ws.recv().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv().await, Frame::Binary(vec![4, 5, 6]));
}

#[tokio::test]
async fn disconnecting_one_namespace_leaves_the_others_working() {
    let server = server();
    let (mut ws, main_sid) = Ws::joined().await;
    let custom_sid = ws.connect("/custom", None).await;
    ws.send("41/custom,").await;
    assert_eq!(
        server.disconnect_of(&custom_sid).await,
        (
            "/custom".to_owned(),
            "client namespace disconnect".to_owned()
        )
    );
    ws.send(r#"42["message","to main"]"#).await;
    ws.expect_text(r#"42["message-back","to main"]"#).await;
    assert!(!server.disconnected(&main_sid));
    // Joining again works on the same connection.
    ws.connect("/custom", None).await;
}

#[tokio::test]
async fn a_server_side_disconnect_sends_disconnect_and_keeps_the_connection() {
    let server = server();
    let (mut ws, sid) = Ws::joined().await;
    let custom_sid = ws.connect("/custom", None).await;
    ws.send(r#"42["kick"]"#).await;
    ws.expect_text("41").await;
    assert_eq!(
        server.disconnect_of(&sid).await,
        ("/".to_owned(), "server namespace disconnect".to_owned())
    );
    ws.send(r#"42["message","ignored"]"#).await;
    ws.silent_for(Duration::from_millis(300)).await;
    assert!(!server.disconnected(&custom_sid));
}

#[tokio::test]
async fn close_transport_closes_the_whole_connection_after_what_was_queued() {
    let server = server();
    let (mut ws, sid) = Ws::joined().await;
    let custom_sid = ws.connect("/custom", None).await;
    ws.send(r#"42["drop-transport"]"#).await;
    // What the handler emitted first still arrives; then the connection
    // closes with no DISCONNECT packet, as Socket.IO's `socket.conn.close()`.
    ws.expect_text(r#"42["bye","now"]"#).await;
    assert!(ws.closed().await, "the transport stayed open");
    assert_eq!(server.disconnect_of(&sid).await.1, "forced close");
    // Every namespace on that connection goes with it.
    assert_eq!(
        server.disconnect_of(&custom_sid).await,
        ("/custom".to_owned(), "forced close".to_owned())
    );
}

#[tokio::test]
async fn a_broadcast_to_a_room_reaches_every_member_with_the_same_frame() {
    let (mut a, _) = Ws::joined().await;
    let (mut b, _) = Ws::joined().await;
    let (mut outsider, _) = Ws::joined().await;
    for ws in [&mut a, &mut b] {
        ws.send(r#"421["join","room-broadcast"]"#).await;
        ws.expect_text(r#"431["joined"]"#).await;
    }
    a.send(r#"42["shout","room-broadcast","hey"]"#).await;
    a.expect_text(r#"42["shouted","hey"]"#).await;
    b.expect_text(r#"42["shouted","hey"]"#).await;
    outsider.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn an_invalid_packet_closes_only_its_own_connection_with_parse_error() {
    let server = server();
    let (mut bystander, bystander_sid) = Ws::joined().await;
    let invalid: [&[&str]; 5] = [
        &["4abc"],
        &["42{}"],
        &[r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#],
        &[r#"42["disconnect"]"#],
        &[
            r#"451-["message",{"_placeholder":true,"num":0}]"#,
            r#"42["text before the attachment"]"#,
        ],
    ];
    for frames in invalid {
        let (mut ws, sid) = Ws::joined().await;
        for frame in frames {
            ws.send(frame).await;
        }
        assert!(ws.closed().await, "{frames:?} did not close the connection");
        assert_eq!(
            server.disconnect_of(&sid).await,
            ("/".to_owned(), "parse error".to_owned()),
            "{frames:?}"
        );
    }
    // A binary frame nobody announced.
    let (mut ws, sid) = Ws::joined().await;
    ws.send_binary(&[1, 2, 3]).await;
    assert!(
        ws.closed().await,
        "an unannounced attachment did not close the connection"
    );
    assert_eq!(server.disconnect_of(&sid).await.1, "parse error");

    assert!(!server.disconnected(&bystander_sid));
    bystander.send(r#"42["message","unaffected"]"#).await;
    bystander
        .expect_text(r#"42["message-back","unaffected"]"#)
        .await;
}

#[tokio::test]
async fn a_session_that_joins_no_namespace_is_closed_after_connect_timeout() {
    let server = start(Duration::from_millis(1000));
    let started = Instant::now();
    let mut idle = Ws::open(server.port).await;
    let mut active = Ws::open(server.port).await;
    active.connect("/", None).await;
    assert!(idle.closed().await, "the idle session was not closed");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed too early: {elapsed:?}"
    );
    active.send(r#"42["message","alive"]"#).await;
    active.expect_text(r#"42["message-back","alive"]"#).await;
}

/// A minimal long-polling client.
struct Polling {
    http: reqwest::Client,
    url: String,
}

impl Polling {
    async fn open(port: u16) -> Polling {
        let http = reqwest::Client::builder()
            .timeout(WAIT)
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling");
        let open = http
            .get(&base)
            .send()
            .await
            .expect("handshake")
            .text()
            .await
            .expect("handshake body");
        let json: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("open packet"))
                .expect("handshake JSON");
        let sid = json["sid"].as_str().expect("sid").to_owned();
        Polling {
            http,
            url: format!("{base}&sid={sid}"),
        }
    }

    async fn post(&self, body: &str) {
        let response = self
            .http
            .post(&self.url)
            .body(body.to_owned())
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.expect("POST body"), "ok");
    }

    /// Polls until `count` packets arrived (bounded), returning them.
    async fn packets(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut packets = Vec::new();
        while packets.len() < count {
            assert!(Instant::now() < deadline, "only {packets:?} arrived");
            let response = self.http.get(&self.url).send().await.expect("GET");
            assert_eq!(response.status(), 200);
            let body = response.text().await.expect("GET body");
            packets.extend(body.split('\x1e').map(str::to_owned));
        }
        packets
    }
}

#[tokio::test]
async fn the_whole_exchange_works_over_long_polling() {
    let polling = Polling::open(server().port).await;
    polling.post("40").await;
    let packets = polling.packets(2).await;
    assert!(packets[0].starts_with("40{\"sid\":"), "{packets:?}");
    assert_eq!(packets[1], r#"42["auth",{}]"#);

    polling
        .post("42[\"message\",\"hi\"]\x1e42456[\"message-with-ack\",1]")
        .await;
    // bus-core queues an emit (through the namespace) and an ack (direct)
    // on different paths, so their relative order is not fixed.
    let mut packets = polling.packets(2).await;
    packets.sort();
    assert_eq!(packets, vec![r#"42["message-back","hi"]"#, r#"43456[1]"#]);

    // Binary: the attachment travels as `b` + base64 in the same payload.
    polling
        .post(&format!("451-[\"message\",{}]\x1ebAQID", placeholder(0)))
        .await;
    assert_eq!(
        polling.packets(2).await,
        vec![
            format!(r#"451-["message-back",{}]"#, placeholder(0)),
            "bAQID".to_owned()
        ]
    );
}

#[tokio::test]
async fn at_least_once_events_carry_ack_ids_and_only_unacked_ones_come_back() {
    let server = server();
    let auth = r#"{"clientId":"protocol-test-client"}"#;
    let mut first = Ws::open(server.port).await;
    let first_sid = first.connect_only("/reliable", Some(auth)).await;
    first.send(r#"42/reliable,["send",1]"#).await;
    let acked = first
        .expect_event_with_ack_id("/reliable,", r#"["n",1]"#)
        .await;
    first.send(&format!("43/reliable,{acked}[]")).await;
    first.send(r#"42/reliable,["send",2]"#).await;
    first
        .expect_event_with_ack_id("/reliable,", r#"["n",2]"#)
        .await;
    // Leave without acknowledging 2.
    let _ = first.stream.close(None).await;
    assert_eq!(
        server.disconnect_of(&first_sid).await,
        ("/reliable".to_owned(), "transport close".to_owned())
    );

    let mut second = Ws::open(server.port).await;
    second.connect_only("/reliable", Some(auth)).await;
    let id = second
        .expect_event_with_ack_id("/reliable,", r#"["n",2]"#)
        .await;
    second.send(&format!("43/reliable,{id}[]")).await;
    second.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn middleware_and_handlers_see_the_request_query_headers_and_address() {
    let port = server().port;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&hello=world");
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("x-test", "header-value".parse().expect("header"));
    let mut ws = Ws::open_request(request).await;
    ws.connect_only("/handshake", Some(r#"{"clientId":"from-auth"}"#))
        .await;
    ws.expect_text(
        r#"42/handshake,["handshake",{"clientId":"from-auth","header":"header-value","hello":"world","loopback":true}]"#,
    )
    .await;
}
