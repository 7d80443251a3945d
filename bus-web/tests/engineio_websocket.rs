//! Engine.IO v4 over WebSocket (and the upgrade from polling), asserted
//! frame by frame with tokio-tungstenite against an in-process server,
//! once per WebSocket transport (the actix-web route and the lean one).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus_web::engineio::{CloseReason, EngineConfig, EngineHandler, EngineMessage, EngineSession};
use common::engineio::*;
use futures::SinkExt as _;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const PATH: &str = "/socket.io/";

fn ws_url(server: &TestServer, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => server.ws(&format!("{PATH}?EIO=4&transport=websocket&sid={sid}")),
        None => server.ws(&format!("{PATH}?EIO=4&transport=websocket")),
    }
}

fn poll_url(server: &TestServer, sid: &str) -> String {
    server.http(&format!("{PATH}?EIO=4&transport=polling&sid={sid}"))
}

async fn a_websocket_handshake_has_exactly_the_five_fields_and_no_upgrades(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    let open = parse_open(&ws_text(&mut ws).await);
    let mut keys: Vec<&str> = open
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["maxPayload"], 1_000_000);
}

async fn text_and_binary_messages_are_echoed_as_sent(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    ws_text(&mut ws).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    ws.send(WsMessage::Binary(vec![1, 2, 3, 4]))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(ws_next(&mut ws).await, WsMessage::Binary(vec![1, 2, 3, 4]));
}

async fn a_polling_session_upgrades_and_polling_is_refused_afterwards(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let sid = polling_session(&server, PATH).await;
    let pending_url = poll_url(&server, &sid);
    let pending = actix_rt::spawn(async move { get(&http_client(), &pending_url).await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut ws = ws_connect(&ws_url(&server, Some(&sid))).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    let pending = tokio::time::timeout(WAIT, pending).await;
    assert!(
        matches!(&pending, Ok(Ok((200, body))) if body == "6"),
        "{pending:?}"
    );
    // A poll during the upgrade is answered with a noop at once.
    assert_eq!(
        get(&http_client(), &poll_url(&server, &sid)).await,
        (200, "6".into())
    );

    ws_send(&mut ws, "5").await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
    assert_eq!(get(&http_client(), &poll_url(&server, &sid)).await.0, 400);
    assert_eq!(
        post(&http_client(), &poll_url(&server, &sid), "4x").await.0,
        400
    );

    // A second WebSocket for the same sid is refused; the first keeps working.
    let second = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async(ws_url(&server, Some(&sid))),
    )
    .await;
    match second {
        Ok(Err(_)) => {}
        Ok(Ok((mut second, _))) => ws_expect_closed(&mut second).await,
        Err(_) => panic!("second websocket neither refused nor closed"),
    }
    ws_send(&mut ws, "4again").await;
    assert_eq!(ws_text(&mut ws).await, "4again");
    assert!(recorder.closes_of(&sid).is_empty());
}

async fn probe_then_upgrade_sent_back_to_back_completes_the_upgrade(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    let sid = polling_session(&server, PATH).await;
    let mut ws = ws_connect(&ws_url(&server, Some(&sid))).await;
    ws_send(&mut ws, "2probe").await;
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(get(&http_client(), &poll_url(&server, &sid)).await.0, 400);
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
}

async fn messages_queued_during_an_upgrade_arrive_on_the_websocket(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    let sid = polling_session(&server, PATH).await;
    let mut ws = ws_connect(&ws_url(&server, Some(&sid))).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // Echoed while the upgrade is under way: held back, then sent over the WebSocket.
    assert_eq!(
        post(&http_client(), &poll_url(&server, &sid), "4held")
            .await
            .0,
        200
    );
    assert_eq!(
        get(&http_client(), &poll_url(&server, &sid)).await,
        (200, "6".into())
    );
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_text(&mut ws).await, "4held");
}

async fn an_upgrade_that_never_completes_is_dropped_and_polling_goes_on(transport: Transport) {
    let recorder = Recorder::default();
    let config = EngineConfig {
        upgrade_timeout: Duration::from_millis(300),
        ..quiet_config(PATH)
    };
    let server = TestServer::start_on(transport, vec![(config, Arc::new(recorder.clone()))]);
    let sid = polling_session(&server, PATH).await;
    let mut ws = ws_connect(&ws_url(&server, Some(&sid))).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // No `5`: the upgrade times out and the probe connection is closed.
    ws_expect_closed(&mut ws).await;
    let client = http_client();
    assert_eq!(
        post(&client, &poll_url(&server, &sid), "4still polling")
            .await
            .0,
        200
    );
    assert_eq!(
        get(&client, &poll_url(&server, &sid)).await,
        (200, "4still polling".into())
    );
    assert!(recorder.closes_of(&sid).is_empty());
}

async fn the_server_pings_over_websocket_and_closes_on_a_missing_pong(transport: Transport) {
    let recorder = Recorder::default();
    let config = EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(600),
        ..EngineConfig::default()
    };
    let server = TestServer::start_on(transport, vec![(config, Arc::new(recorder.clone()))]);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    let sid = parse_open(&ws_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for _ in 0..3 {
        assert_eq!(ws_text(&mut ws).await, "2");
        ws_send(&mut ws, "3").await;
    }
    assert_eq!(ws_text(&mut ws).await, "2");
    ws_expect_closed(&mut ws).await;
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::PingTimeout]
    );
}

async fn a_close_packet_closes_the_websocket_session(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    let sid = parse_open(&ws_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ws_send(&mut ws, "1").await;
    ws_expect_closed(&mut ws).await;
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::ClientClose]
    );
    assert_eq!(server.engines[0].session_count(), 0);
}

async fn shutdown_closes_websocket_sessions(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    let sid = parse_open(&ws_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    server.engines[0].shutdown();
    ws_expect_closed(&mut ws).await;
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::ServerShutdown]
    );
}

/// On `N`, queues N numbered messages and notifies once: they come out of
/// `drain_outbound` in one batch. On `flood:N`, pushes N messages of 64 KiB,
/// one per drain, notifying itself again after each.
#[derive(Debug, Default, Clone)]
struct Batcher {
    queues: Arc<Mutex<HashMap<String, Vec<EngineMessage>>>>,
    floods: Arc<Mutex<HashMap<String, usize>>>,
    batches: Arc<Mutex<Vec<usize>>>,
    closes: Arc<Mutex<Vec<CloseReason>>>,
}

impl EngineHandler for Batcher {
    fn on_open(&self, _session: &EngineSession) {}
    fn on_message(&self, session: &EngineSession, message: EngineMessage) {
        let EngineMessage::Text(text) = message else {
            return;
        };
        if let Some(count) = text.strip_prefix("flood:") {
            if let (Ok(mut floods), Ok(count)) = (self.floods.lock(), count.parse()) {
                floods.insert(session.sid().to_owned(), count);
            }
        } else if let Ok(count) = text.parse::<usize>() {
            if let Ok(mut queues) = self.queues.lock() {
                let queue = queues.entry(session.sid().to_owned()).or_default();
                queue.extend((0..count).map(|i| EngineMessage::text(i.to_string())));
            }
        }
        session.notify();
        session.notify();
    }
    fn drain_outbound(&self, session: &EngineSession, out: &mut Vec<EngineMessage>) {
        if let Ok(mut queues) = self.queues.lock() {
            if let Some(queue) = queues.get_mut(session.sid()) {
                if !queue.is_empty() {
                    if let Ok(mut batches) = self.batches.lock() {
                        batches.push(queue.len());
                    }
                    out.append(queue);
                }
            }
        }
        let more = self.floods.lock().ok().and_then(|mut floods| {
            let left = floods.get_mut(session.sid())?;
            *left = left.checked_sub(1)?;
            Some(())
        });
        if more.is_some() {
            out.push(EngineMessage::text("x".repeat(64 * 1024)));
            session.notify();
        }
    }
    fn on_close(&self, _session: &EngineSession, reason: CloseReason) {
        if let Ok(mut closes) = self.closes.lock() {
            closes.push(reason);
        }
    }
}

async fn queued_messages_are_pulled_and_written_in_one_batch(transport: Transport) {
    let batcher = Batcher::default();
    let server = TestServer::start_on(
        transport,
        vec![(quiet_config(PATH), Arc::new(batcher.clone()))],
    );
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    ws_text(&mut ws).await;
    ws_send(&mut ws, "450").await;
    for i in 0..50 {
        assert_eq!(ws_text(&mut ws).await, format!("4{i}"));
    }
    assert_eq!(
        batcher
            .batches
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default(),
        vec![50]
    );
}

async fn a_websocket_client_that_does_not_read_is_closed_without_hurting_others(
    transport: Transport,
) {
    let batcher = Batcher::default();
    let config = EngineConfig {
        max_buffer_bytes: 1_000_000,
        write_timeout: Duration::from_millis(500),
        ..quiet_config(PATH)
    };
    let server = TestServer::start_on(transport, vec![(config, Arc::new(batcher.clone()))]);
    let mut slow = ws_connect(&ws_url(&server, None)).await;
    ws_text(&mut slow).await;
    let mut other = ws_connect(&ws_url(&server, None)).await;
    ws_text(&mut other).await;
    ws_send(&mut slow, "4flood:2000").await;
    // The slow client reads nothing while the server floods it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if batcher.closes.lock().map(|c| c.clone()).unwrap_or_default()
            == vec![CloseReason::BufferFull]
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow client not closed: {:?} floods left, closes {:?}",
            batcher.floods.lock().map(|f| f.clone()).ok(),
            batcher.closes.lock().map(|c| c.clone()).ok()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ws_send(&mut other, "43").await;
    for i in 0..3 {
        assert_eq!(ws_text(&mut other).await, format!("4{i}"));
    }
    assert_eq!(server.engines[0].session_count(), 1);
}

async fn a_websocket_client_that_reads_gets_a_flood_larger_than_the_buffer_bound(
    transport: Transport,
) {
    let batcher = Batcher::default();
    let config = EngineConfig {
        max_buffer_bytes: 1_000_000,
        write_timeout: Duration::from_secs(2),
        ..quiet_config(PATH)
    };
    let server = TestServer::start_on(transport, vec![(config, Arc::new(batcher.clone()))]);
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    let sid = parse_open(&ws_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ws_send(&mut ws, "4flood:100").await;
    for _ in 0..100 {
        assert_eq!(ws_text(&mut ws).await.len(), 1 + 64 * 1024);
    }
    assert!(batcher.closes.lock().map(|c| c.is_empty()).unwrap_or(false));
    let session = server.engines[0].session_count();
    assert_eq!(session, 1, "{sid}");
}

/// Takes every message, then says it is not ready three times in a row
/// after each (as a handler whose consumer is full would), and records when
/// each message arrived.
#[derive(Debug, Default, Clone)]
struct Gate {
    arrivals: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    refusals: Arc<std::sync::atomic::AtomicU32>,
}

impl EngineHandler for Gate {
    fn on_open(&self, _session: &EngineSession) {}
    fn on_message(&self, _session: &EngineSession, message: EngineMessage) {
        if let (EngineMessage::Text(text), Ok(mut arrivals)) = (message, self.arrivals.lock()) {
            arrivals.push((text.to_string(), std::time::Instant::now()));
        }
        self.refusals.store(3, std::sync::atomic::Ordering::SeqCst);
    }
    fn inbound_ready(&self, _session: &EngineSession) -> bool {
        use std::sync::atomic::Ordering;
        self.refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_err()
    }
    fn drain_outbound(&self, _session: &EngineSession, _out: &mut Vec<EngineMessage>) {}
    fn on_close(&self, _session: &EngineSession, _reason: CloseReason) {}
}

impl Gate {
    /// Waits (bounded) for `count` messages, then checks they are `0..count`
    /// in order and that each waited for the handler (at least the 1 + 2 + 4
    /// ms of the session's retries) before the next was read.
    async fn expect_held_back(&self, count: usize) {
        let deadline = std::time::Instant::now() + WAIT;
        let arrivals = loop {
            let arrivals = self.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
            if arrivals.len() >= count || std::time::Instant::now() > deadline {
                break arrivals;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let texts: Vec<String> = arrivals.iter().map(|(text, _)| text.clone()).collect();
        let expected: Vec<String> = (0..count).map(|i| i.to_string()).collect();
        assert_eq!(texts, expected);
        for pair in arrivals.windows(2) {
            let gap = pair[1].1.duration_since(pair[0].1);
            assert!(gap >= Duration::from_millis(7), "read too early: {gap:?}");
        }
    }
}

async fn a_client_is_not_read_from_while_the_handler_is_not_ready(transport: Transport) {
    let gate = Gate::default();
    let server = TestServer::start_on(
        transport,
        vec![(quiet_config(PATH), Arc::new(gate.clone()))],
    );
    let mut ws = ws_connect(&ws_url(&server, None)).await;
    ws_text(&mut ws).await;
    for i in 0..20 {
        ws_send(&mut ws, &format!("4{i}")).await;
    }
    gate.expect_held_back(20).await;
}

async fn a_polling_post_is_answered_once_the_handler_took_everything(transport: Transport) {
    let gate = Gate::default();
    let server = TestServer::start_on(
        transport,
        vec![(quiet_config(PATH), Arc::new(gate.clone()))],
    );
    let sid = polling_session(&server, PATH).await;
    let body: Vec<String> = (0..10).map(|i| format!("4{i}")).collect();
    let started = std::time::Instant::now();
    let answer = post(
        &http_client(),
        &poll_url(&server, &sid),
        &body.join("\u{1e}"),
    )
    .await;
    assert_eq!(answer, (200, "ok".to_owned()));
    // Answered only after the last message was taken.
    assert!(started.elapsed() >= Duration::from_millis(9 * 7));
    gate.expect_held_back(10).await;
}

/// Runs every test of this file against both WebSocket transports: the
/// actix-web route (`route::...`) and the lean transport (`lean::...`).
macro_rules! on_both_transports {
    ($($name:ident),* $(,)?) => {
        mod route {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name(super::Transport::Route).await
                }
            )*
        }
        mod lean {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name(super::Transport::Lean).await
                }
            )*
        }
    };
}

on_both_transports!(
    a_websocket_handshake_has_exactly_the_five_fields_and_no_upgrades,
    text_and_binary_messages_are_echoed_as_sent,
    a_polling_session_upgrades_and_polling_is_refused_afterwards,
    probe_then_upgrade_sent_back_to_back_completes_the_upgrade,
    messages_queued_during_an_upgrade_arrive_on_the_websocket,
    an_upgrade_that_never_completes_is_dropped_and_polling_goes_on,
    the_server_pings_over_websocket_and_closes_on_a_missing_pong,
    a_close_packet_closes_the_websocket_session,
    shutdown_closes_websocket_sessions,
    queued_messages_are_pulled_and_written_in_one_batch,
    a_websocket_client_that_does_not_read_is_closed_without_hurting_others,
    a_websocket_client_that_reads_gets_a_flood_larger_than_the_buffer_bound,
    a_client_is_not_read_from_while_the_handler_is_not_ready,
    a_polling_post_is_answered_once_the_handler_took_everything,
);
