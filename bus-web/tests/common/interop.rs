//! Interop tests with the official `socket.io-client`: a gateway started
//! in-process the way a user mounts it (a `bus_core::Bus`, namespaces with
//! handlers, [`bus_web::SocketIo`] in an actix-web `App` on a free port),
//! the server-side behaviour every script in `tests/js/interop/` relies on,
//! and a runner for those scripts.
//!
//! The server runs on its own thread in its own actix system, so a test can
//! block on a node process while the server keeps serving.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::App;
use bus_core::{
    AckResponder, AtLeastOnce, Bus, ConnectError, Event, NamespaceConfig, Payload, Socket,
};
use bus_web::{SocketIo, SocketIoBuilder};
use bytes::Bytes;
use serde_json::{json, Value};

use super::js;

/// The longest any single wait on the Rust side may take.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The longest a node script may run before it is killed (each script has
/// its own, shorter, watchdog).
pub(crate) const SCRIPT_LIMIT: Duration = Duration::from_secs(45);

/// The auth a client must present to get into `/private`.
pub(crate) const PRIVATE_TOKEN: &str = "let-me-in";

/// Installs the npm packages (`tests/js/setup.sh --no-browser`) once per
/// test process.
pub(crate) fn setup_node() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| js::setup(false));
}

/// One thing the server side saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    /// Namespace name.
    pub(crate) ns: String,
    /// Socket id.
    pub(crate) socket: String,
    /// `connect`, `disconnect`, or the name of a client event.
    pub(crate) what: String,
    /// The auth (connect), the reason (disconnect) or the arguments (event).
    pub(crate) value: Value,
    /// Binary attachments of an event.
    pub(crate) attachments: Vec<Vec<u8>>,
}

/// Everything the server side saw, shared by every handler.
#[derive(Debug, Default, Clone)]
pub(crate) struct Journal {
    entries: Arc<Mutex<Vec<Seen>>>,
}

impl Journal {
    fn push(&self, seen: Seen) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }

    /// A copy of every entry so far.
    pub(crate) fn entries(&self) -> Vec<Seen> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most [`WAIT`]) for an entry matching `pred` and returns it.
    ///
    /// # Panics
    /// When none shows up in time, listing what was seen.
    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = self.entries().into_iter().find(|seen| pred(seen)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "the server never saw {what} within {WAIT:?}; it saw:\n{:#?}",
                self.entries()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A gateway on `127.0.0.1:<free port>` serving the interop namespaces:
///
/// - `/` and `/custom`: emit `auth` with the handshake's auth on connect,
///   join the rooms listed in `auth.rooms`, and answer the events of
///   [`dispatch`];
/// - `/feed`: the same, at-least-once (clients with `auth.clientId` get
///   what they missed when they come back);
/// - `/private`: the same behind a middleware that rejects any `token` but
///   [`PRIVATE_TOKEN`] with "not authorized" and data
///   `{"code":401,"reason":"bad token"}`.
///
/// Stopped on drop.
pub(crate) struct InteropServer {
    /// `http://127.0.0.1:PORT`
    pub(crate) url: String,
    /// The bus the gateway serves.
    pub(crate) bus: Bus,
    /// What the server side saw.
    pub(crate) journal: Journal,
    gateway: SocketIo,
    handle: ServerHandle,
    stopped: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for InteropServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteropServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl InteropServer {
    /// Starts the server and waits (at most [`WAIT`]) until it listens.
    ///
    /// # Panics
    /// When it cannot bind or start in time.
    pub(crate) fn start() -> Self {
        Self::start_with(|builder| builder)
    }

    /// Like [`start`](Self::start), with gateway settings changed by
    /// `configure` (for example a short heartbeat).
    pub(crate) fn start_with(
        configure: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder + Send + 'static,
    ) -> Self {
        // Handlers on the gateway's workers, as bus-server runs them.
        let bus = Bus::builder().remote_sockets_on_caller(true).start();
        let journal = Journal::default();
        let gateway_slot: Arc<OnceLock<SocketIo>> = Arc::new(OnceLock::new());
        bus.of_with(
            "/feed",
            NamespaceConfig::default().at_least_once(AtLeastOnce::new()),
        );
        for name in ["/", "/custom", "/private", "/feed"] {
            let ns = bus.of(name);
            if name == "/private" {
                ns.use_middleware(|handshake| {
                    if handshake.auth.get("token").and_then(Value::as_str) == Some(PRIVATE_TOKEN) {
                        Ok(())
                    } else {
                        Err(ConnectError::new("not authorized")
                            .with_data(json!({"code": 401, "reason": "bad token"})))
                    }
                });
            }
            let journal = journal.clone();
            let gateway_slot = gateway_slot.clone();
            ns.on_connection(move |socket| on_connection(&socket, &journal, &gateway_slot));
        }

        let (ready_tx, ready_rx) = mpsc::channel();
        let (stopped_tx, stopped) = mpsc::channel();
        let server_bus = bus.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let gateway = configure(SocketIo::builder(server_bus)).build();
                let app_gateway = gateway.clone();
                // Served as bus-server serves: WebSockets on the lean transport.
                let upgrade = gateway.engine().websocket_upgrade();
                let builder = actix_server::Server::build()
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(1);
                let bound = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|listener| {
                    let addr = listener.local_addr()?;
                    let server = bus_web::engineio::serve(builder, listener, upgrade, move || {
                        App::new().configure(app_gateway.configure())
                    })?;
                    Ok((vec![addr], server))
                });
                let (addrs, server) = match bound {
                    Ok(bound) => bound,
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("cannot bind 127.0.0.1:0: {error}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((addrs, gateway, server.handle())));
                let _ = server.await;
            });
            let _ = stopped_tx.send(());
        });
        let (addrs, gateway, handle) = match ready_rx.recv_timeout(WAIT) {
            Ok(Ok(ready)) => ready,
            Ok(Err(error)) => panic!("the interop server did not start: {error}"),
            Err(_) => panic!("the interop server did not start within {WAIT:?}"),
        };
        let addr = addrs[0];
        let _ = gateway_slot.set(gateway.clone());
        InteropServer {
            url: format!("http://{addr}"),
            bus,
            journal,
            gateway,
            handle,
            stopped,
            thread: Some(thread),
        }
    }

    /// Runs `tests/js/interop/<script>.mjs <url> [mode]` and returns its
    /// report; panics with its output unless it exited 0 with `"ok": true`.
    pub(crate) fn run_ok(&self, script: &str, mode: Option<&str>) -> Value {
        let report = self.run(script, mode);
        assert!(
            report.passed(),
            "interop script {script} {mode:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}\n--- server saw\n{:#?}",
            report.status,
            report.stdout,
            report.stderr,
            self.journal.entries()
        );
        report.json
    }

    /// Runs a script without judging it.
    pub(crate) fn run(&self, script: &str, mode: Option<&str>) -> ScriptReport {
        setup_node();
        let path = format!("interop/{script}.mjs");
        let mut args = vec![self.url.as_str()];
        if let Some(mode) = mode {
            args.push(mode);
        }
        let output = js::node(&path, &args, SCRIPT_LIMIT);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let json = stdout
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or(Value::Null);
        ScriptReport {
            status: output.status,
            stdout,
            stderr,
            json,
        }
    }
}

impl Drop for InteropServer {
    fn drop(&mut self) {
        self.gateway.shutdown();
        let stop = self.handle.stop(false);
        let bus_stopped = self.bus.shutdown();
        std::thread::spawn(move || futures::executor::block_on(bus_stopped));
        // The stop future only waits for the server's answer; do not wait
        // for it longer than the server's own shutdown timeout allows.
        std::thread::spawn(move || futures::executor::block_on(stop));
        if self.stopped.recv_timeout(WAIT).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// What a node script did.
#[derive(Debug)]
pub(crate) struct ScriptReport {
    /// Its exit status.
    pub(crate) status: std::process::ExitStatus,
    /// Everything it printed on stdout.
    pub(crate) stdout: String,
    /// Everything it printed on stderr.
    pub(crate) stderr: String,
    /// Its last stdout line as JSON (`Null` when it is not JSON).
    pub(crate) json: Value,
}

impl ScriptReport {
    /// Exit code 0 and `"ok": true`.
    pub(crate) fn passed(&self) -> bool {
        self.status.success() && self.json["ok"] == Value::Bool(true)
    }
}

fn on_connection(socket: &Socket, journal: &Journal, gateway: &Arc<OnceLock<SocketIo>>) {
    let ns = socket.namespace().name().to_owned();
    let auth = socket.handshake().auth.clone();
    journal.push(Seen {
        ns: ns.clone(),
        socket: socket.id().to_string(),
        what: "connect".into(),
        value: auth.clone(),
        attachments: Vec::new(),
    });
    if let Some(rooms) = auth.get("rooms").and_then(Value::as_array) {
        for room in rooms.iter().filter_map(Value::as_str) {
            let _ = socket.join(room);
        }
    }
    let _ = socket.emit("auth", &auth);

    let events_journal = journal.clone();
    let gateway = gateway.clone();
    socket.on_any(move |socket, event, ack| {
        events_journal.push(Seen {
            ns: socket.namespace().name().to_owned(),
            socket: socket.id().to_string(),
            what: event.name.clone(),
            value: serde_json::from_str(&event.payload.args).unwrap_or(Value::Null),
            attachments: event
                .payload
                .attachments
                .iter()
                .map(|a| a.to_vec())
                .collect(),
        });
        dispatch(socket, event, ack, &gateway);
    });

    let disconnect_journal = journal.clone();
    socket.on_disconnect(move |socket, reason| {
        disconnect_journal.push(Seen {
            ns: socket.namespace().name().to_owned(),
            socket: socket.id().to_string(),
            what: "disconnect".into(),
            value: Value::String(reason.as_str().to_owned()),
            attachments: Vec::new(),
        });
    });
}

/// The events every interop namespace answers:
///
/// | event | the server |
/// |---|---|
/// | `message` | emits `message-back` with the same arguments (binary included) |
/// | `message-with-ack` | acknowledges with the same arguments |
/// | `no-ack` | never acknowledges |
/// | `please-emit` | emits `pushed` with `("from-server", 42, {"nested":[true]})` |
/// | `ask` (n) | `emit_with_ack("question", {"n": n}, 3 s)`, then `answer-seen` (answer) or `ack-failed` (error) |
/// | `ask-binary` | as `ask`, with `question-binary` |
/// | `ask-unanswered` | `emit_with_ack("question-unanswered", 300 ms)`, then `answer-seen` or `ack-failed` |
/// | `join` (room) | joins `room`, acknowledges `true` |
/// | `broadcast` ({room, text}) | `ns.to(room).emit("news", text)`, acknowledges `true` |
/// | `ping-server` | acknowledges `true` |
/// | `publish` ({room, from, to}) | `ns.to(room).emit("item", n)` for n in from..=to, acknowledges `true` |
/// | `send-binary` | emits `binary` with (bytes 0..=255, "between", {"inner": [0,1,2,255]}) |
/// | `kick-me` | `socket.disconnect()` (a server namespace disconnect) |
/// | `drop-transport` | closes every Engine.IO session of the gateway (the transport drops) |
fn dispatch(
    socket: &Socket,
    event: &Event,
    ack: Option<AckResponder>,
    gateway: &Arc<OnceLock<SocketIo>>,
) {
    match event.name.as_str() {
        "message" => {
            let _ = socket.emit_payload("message-back", event.payload.clone());
        }
        "message-with-ack" => {
            if let Some(ack) = ack {
                let _ = ack.send_payload(event.payload.clone());
            }
        }
        "please-emit" => {
            if let Ok(payload) = Payload::args(&("from-server", 42, json!({"nested": [true]}))) {
                let _ = socket.emit_payload("pushed", payload);
            }
        }
        "ask" => {
            let n = event.payload.decode::<i64>().unwrap_or(-1);
            ask_client(
                socket,
                "question",
                json!({ "n": n }),
                Duration::from_secs(3),
            );
        }
        "ask-binary" => ask_client(
            socket,
            "question-binary",
            json!("send bytes"),
            Duration::from_secs(3),
        ),
        "ask-unanswered" => ask_client(
            socket,
            "question-unanswered",
            json!("are you there?"),
            Duration::from_millis(300),
        ),
        "join" => {
            if let Ok(room) = event.payload.decode::<String>() {
                let joined = socket.join(room).is_ok();
                if let Some(ack) = ack {
                    let _ = ack.send(&joined);
                }
            }
        }
        "broadcast" => {
            let target = event.payload.decode::<Value>().unwrap_or(Value::Null);
            let room = target["room"].as_str().unwrap_or_default().to_owned();
            let text = target["text"].clone();
            let sent = socket.namespace().to(room).emit("news", &text).is_ok();
            if let Some(ack) = ack {
                let _ = ack.send(&sent);
            }
        }
        "ping-server" => {
            if let Some(ack) = ack {
                let _ = ack.send(&true);
            }
        }
        "publish" => {
            let target = event.payload.decode::<Value>().unwrap_or(Value::Null);
            let room = target["room"].as_str().unwrap_or_default().to_owned();
            let from = target["from"].as_u64().unwrap_or(1);
            let to = target["to"].as_u64().unwrap_or(0);
            let ns = socket.namespace();
            let sent = (from..=to).all(|n| ns.to(room.clone()).emit("item", &n).is_ok());
            if let Some(ack) = ack {
                let _ = ack.send(&sent);
            }
        }
        "send-binary" => {
            let all: Vec<u8> = (0..=255).collect();
            let payload = Payload::from_raw(
                r#"[{"_placeholder":true,"num":0},"between",{"inner":{"_placeholder":true,"num":1}}]"#,
                vec![Bytes::from(all), Bytes::from_static(&[0, 1, 2, 255])],
            );
            let _ = socket.emit_payload("binary", payload);
        }
        "kick-me" => socket.disconnect(),
        "drop-transport" => {
            if let Some(gateway) = gateway.get() {
                gateway.shutdown();
            }
        }
        _ => {}
    }
}

/// Asks the client with `emit_with_ack` on a helper thread (handlers must
/// not block) and reports the outcome to it as `answer-seen` or `ack-failed`.
fn ask_client(socket: &Socket, event: &'static str, data: Value, timeout: Duration) {
    let answer = socket.emit_with_ack::<Value, Value>(event, &data, timeout);
    let socket = socket.clone();
    std::thread::spawn(move || match futures::executor::block_on(answer) {
        Ok(value) => {
            let _ = socket.emit("answer-seen", &value);
        }
        Err(error) => {
            let _ = socket.emit("ack-failed", &error.to_string());
        }
    });
}
