//! Bad input over Engine.IO: each bad connection is closed, and only that
//! one; other connections keep working. Every test runs once per WebSocket
//! transport (the actix-web route and the lean one).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bus_web::engineio::{CloseReason, EngineConfig};
use common::engineio::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const PATH: &str = "/socket.io/";

async fn ws_session(server: &TestServer) -> (Ws, String) {
    let mut ws = ws_connect(&server.ws(&format!("{PATH}?EIO=4&transport=websocket"))).await;
    let sid = parse_open(&ws_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (ws, sid)
}

async fn still_echoes(ws: &mut Ws) {
    ws_send(ws, "4still here").await;
    assert_eq!(ws_text(ws).await, "4still here");
}

async fn a_malformed_packet_closes_only_its_websocket(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let (mut bystander, bystander_sid) = ws_session(&server).await;
    for garbage in ["abc", "", "7", "0{not json", "0{}"] {
        let (mut bad, sid) = ws_session(&server).await;
        ws_send(&mut bad, garbage).await;
        ws_expect_closed(&mut bad).await;
        assert_eq!(
            recorder.wait_closed(&sid).await,
            vec![CloseReason::ParseError],
            "{garbage:?}"
        );
        still_echoes(&mut bystander).await;
    }
    assert!(recorder.closes_of(&bystander_sid).is_empty());
}

async fn an_oversized_websocket_frame_closes_only_its_connection(transport: Transport) {
    let recorder = Recorder::default();
    let config = EngineConfig {
        max_payload: 1000,
        ..quiet_config(PATH)
    };
    let server = TestServer::start_on(transport, vec![(config, Arc::new(recorder.clone()))]);
    let (mut bystander, _) = ws_session(&server).await;
    let (mut big, sid) = ws_session(&server).await;
    ws_send(&mut big, &format!("4{}", "x".repeat(2000))).await;
    ws_expect_closed(&mut big).await;
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::TransportError]
    );
    still_echoes(&mut bystander).await;
}

async fn garbage_bytes_after_the_websocket_handshake_close_only_that_connection(
    transport: Transport,
) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let (mut bystander, _) = ws_session(&server).await;
    let mut raw = tokio::net::TcpStream::connect(server.addr)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let request = format!(
        "GET {PATH}?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    raw.write_all(request.as_bytes())
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let mut head = vec![0u8; 4096];
    let read = tokio::time::timeout(WAIT, raw.read(&mut head))
        .await
        .unwrap_or_else(|_| panic!("no handshake response"))
        .unwrap_or_else(|error| panic!("{error}"));
    let head = String::from_utf8_lossy(&head[..read]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Not a WebSocket frame: reserved bits set, unknown opcode, no mask.
    raw.write_all(&[0xff; 64])
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let closed = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection not closed after garbage");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let closes = recorder
            .record
            .lock()
            .map(|record| record.closed.clone())
            .unwrap_or_default();
        if !closes.is_empty() {
            assert_eq!(closes.len(), 1);
            assert_eq!(closes[0].1, CloseReason::TransportError);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "session not closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    still_echoes(&mut bystander).await;
}

async fn an_unexpected_packet_on_a_probing_websocket_drops_only_the_probe(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let sid = polling_session(&server, PATH).await;
    let mut probe =
        ws_connect(&server.ws(&format!("{PATH}?EIO=4&transport=websocket&sid={sid}"))).await;
    ws_send(&mut probe, "4too early").await;
    ws_expect_closed(&mut probe).await;
    let url = server.http(&format!("{PATH}?EIO=4&transport=polling&sid={sid}"));
    let client = http_client();
    assert_eq!(post(&client, &url, "4polling works").await.0, 200);
    assert_eq!(get(&client, &url).await, (200, "4polling works".into()));
    assert!(recorder.closes_of(&sid).is_empty());
}

async fn a_websocket_with_an_unknown_sid_is_refused(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    let url = server.ws(&format!("{PATH}?EIO=4&transport=websocket&sid=unknown"));
    let result = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await;
    assert!(matches!(result, Ok(Err(_))), "{result:?}");
}

async fn a_websocket_with_a_bad_eio_is_refused(transport: Transport) {
    let (server, _recorder) = TestServer::recorded_on(transport, PATH);
    for query in [
        "EIO=3&transport=websocket",
        "transport=websocket",
        "EIO=4&transport=abc",
    ] {
        let url = server.ws(&format!("{PATH}?{query}"));
        let result = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await;
        assert!(matches!(result, Ok(Err(_))), "{query}: {result:?}");
    }
    assert_eq!(server.engines[0].session_count(), 0);
}

async fn a_malformed_polling_payload_closes_only_its_session(transport: Transport) {
    let (server, recorder) = TestServer::recorded_on(transport, PATH);
    let client = http_client();
    let good = polling_session(&server, PATH).await;
    let bad = polling_session(&server, PATH).await;
    let url = |sid: &str| server.http(&format!("{PATH}?EIO=4&transport=polling&sid={sid}"));
    for garbage in ["4ok\x1e", "b!!!", "\u{1e}"] {
        let sid = polling_session(&server, PATH).await;
        assert_eq!(
            post(&client, &url(&sid), garbage).await.0,
            400,
            "{garbage:?}"
        );
        assert_eq!(
            recorder.wait_closed(&sid).await,
            vec![CloseReason::ParseError]
        );
    }
    let not_utf8 = client
        .post(url(&bad))
        .body(vec![0x34, 0xff, 0xfe])
        .send()
        .await
        .map(|response| response.status().as_u16());
    assert_eq!(not_utf8.ok(), Some(400));
    assert_eq!(
        recorder.wait_closed(&bad).await,
        vec![CloseReason::ParseError]
    );
    assert_eq!(post(&client, &url(&good), "4fine").await.0, 200);
    assert_eq!(get(&client, &url(&good)).await, (200, "4fine".into()));
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
    a_malformed_packet_closes_only_its_websocket,
    an_oversized_websocket_frame_closes_only_its_connection,
    garbage_bytes_after_the_websocket_handshake_close_only_that_connection,
    an_unexpected_packet_on_a_probing_websocket_drops_only_the_probe,
    a_websocket_with_an_unknown_sid_is_refused,
    a_websocket_with_a_bad_eio_is_refused,
    a_malformed_polling_payload_closes_only_its_session,
);
