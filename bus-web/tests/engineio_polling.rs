//! Engine.IO v4 over HTTP long-polling, asserted frame by frame with a raw
//! HTTP client against an in-process server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bus_web::engineio::{CloseReason, CorsOrigins, EchoHandler, EngineConfig};
use common::engineio::*;

const PATH: &str = "/socket.io/";

fn url(server: &TestServer, sid: &str) -> String {
    server.http(&format!("{PATH}?EIO=4&transport=polling&sid={sid}"))
}

#[actix_rt::test]
async fn a_polling_handshake_has_exactly_the_five_fields() {
    let (server, recorder) = TestServer::recorded(PATH);
    let response = http_client()
        .get(server.http("/socket.io/?EIO=4&transport=polling&t=abc"))
        .send()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let open = parse_open(&response.text().await.unwrap_or_default());
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
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 60_000);
    assert_eq!(open["pingTimeout"], 60_000);
    assert_eq!(open["maxPayload"], 1_000_000);
    let sid = open["sid"].as_str().unwrap_or_default().to_owned();
    assert!(!sid.is_empty());
    assert_eq!(server.engines[0].session_count(), 1);
    let deadline = tokio::time::Instant::now() + WAIT;
    while recorder.record.lock().map(|r| r.opened.len()).unwrap_or(0) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "on_open not called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn the_handshake_request_is_handed_to_the_upper_layer() {
    let (server, recorder) = TestServer::recorded(PATH);
    let response = http_client()
        .get(server.http("/socket.io/?EIO=4&transport=polling&room=lobby"))
        .header("x-custom", "yes")
        .send()
        .await
        .map(|response| response.status().as_u16());
    assert_eq!(response.ok(), Some(200));
    let deadline = tokio::time::Instant::now() + WAIT;
    let request = loop {
        let first = recorder
            .record
            .lock()
            .ok()
            .and_then(|record| record.requests.first().cloned());
        if let Some(request) = first {
            break request;
        }
        assert!(tokio::time::Instant::now() < deadline, "on_open not called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(request.query.get("room").map(String::as_str), Some("lobby"));
    assert_eq!(request.query.get("EIO").map(String::as_str), Some("4"));
    assert_eq!(
        request.headers.get("x-custom").map(String::as_str),
        Some("yes")
    );
    assert!(request
        .address
        .is_some_and(|address| address.ip().is_loopback()));
}

#[actix_rt::test]
async fn several_posted_packets_come_back_in_one_payload() {
    let (server, _recorder) = TestServer::recorded(PATH);
    let client = http_client();
    let sid = polling_session(&server, PATH).await;
    let body = "4test1\x1e4test2\x1e4test3";
    assert_eq!(
        post(&client, &url(&server, &sid), body).await,
        (200, "ok".into())
    );
    assert_eq!(get(&client, &url(&server, &sid)).await, (200, body.into()));
}

#[actix_rt::test]
async fn binary_in_a_polling_payload_is_b_plus_base64() {
    let (server, recorder) = TestServer::recorded(PATH);
    let client = http_client();
    let sid = polling_session(&server, PATH).await;
    let body = "4hello\x1ebAQIDBA==";
    assert_eq!(
        post(&client, &url(&server, &sid), body).await,
        (200, "ok".into())
    );
    assert_eq!(get(&client, &url(&server, &sid)).await, (200, body.into()));
    let messages = recorder
        .record
        .lock()
        .map(|record| record.messages.clone())
        .unwrap_or_default();
    assert_eq!(
        messages.into_iter().map(|(_, m)| m).collect::<Vec<_>>(),
        vec![
            bus_web::engineio::EngineMessage::text("hello"),
            bus_web::engineio::EngineMessage::binary(vec![1u8, 2, 3, 4]),
        ]
    );
}

#[actix_rt::test]
async fn a_poll_overlapping_another_poll_gets_400_and_closes_the_session() {
    let (server, recorder) = TestServer::recorded(PATH);
    let sid = polling_session(&server, PATH).await;
    let first_url = url(&server, &sid);
    let first = actix_rt::spawn(async move { get(&http_client(), &first_url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = get(&http_client(), &url(&server, &sid)).await;
    assert_eq!(status, 400);
    let first = tokio::time::timeout(WAIT, first).await;
    assert!(
        matches!(&first, Ok(Ok((200, body))) if body == "1"),
        "pending poll should end with a close packet: {first:?}"
    );
    assert_eq!(get(&http_client(), &url(&server, &sid)).await.0, 400);
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::TransportError]
    );
}

#[actix_rt::test]
async fn a_post_overlapping_another_post_gets_400_and_closes_the_session() {
    use tokio::io::AsyncWriteExt as _;
    let (server, recorder) = TestServer::recorded(PATH);
    let sid = polling_session(&server, PATH).await;
    // A POST whose body is still arriving.
    let mut slow = tokio::net::TcpStream::connect(server.addr)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let head = format!(
        "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: text/plain\r\nContent-Length: 10\r\n\r\n4ab",
        server.addr
    );
    slow.write_all(head.as_bytes())
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(post(&http_client(), &url(&server, &sid), "4x").await.0, 400);
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::TransportError]
    );
    assert_eq!(get(&http_client(), &url(&server, &sid)).await.0, 400);
}

#[actix_rt::test]
async fn an_unknown_sid_gets_400_with_code_1() {
    let (server, _recorder) = TestServer::recorded(PATH);
    let (status, body) = get(&http_client(), &url(&server, "nope")).await;
    assert_eq!(status, 400);
    assert_eq!(body, r#"{"code":1,"message":"Session ID unknown"}"#);
}

#[actix_rt::test]
async fn bad_query_parameters_get_400_with_the_reference_codes() {
    let (server, _recorder) = TestServer::recorded(PATH);
    let client = http_client();
    for (query, code) in [
        ("EIO=3&transport=polling", 5),
        ("transport=polling", 5),
        ("EIO=abc&transport=polling", 5),
        ("EIO=4", 0),
        ("EIO=4&transport=abc", 0),
    ] {
        let (status, body) = get(&client, &server.http(&format!("{PATH}?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(json["code"], code, "{query}: {body}");
    }
    let (_, body) = get(
        &client,
        &server.http(&format!("{PATH}?EIO=3&transport=polling")),
    )
    .await;
    assert_eq!(
        body,
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    let (status, body) = post(
        &client,
        &server.http(&format!("{PATH}?EIO=4&transport=polling")),
        "4x",
    )
    .await;
    assert_eq!(
        (status, body.contains(r#""code":2"#)),
        (400, true),
        "{body}"
    );
    let put = client
        .put(server.http(&format!("{PATH}?EIO=4&transport=polling")))
        .send()
        .await
        .map(|response| response.status().as_u16());
    assert_eq!(put.ok(), Some(400));
}

#[actix_rt::test]
async fn a_post_over_max_payload_gets_413() {
    let recorder = Recorder::default();
    let config = EngineConfig {
        max_payload: 100,
        ..quiet_config(PATH)
    };
    let server = TestServer::start(vec![(config, Arc::new(recorder.clone()))]);
    let client = http_client();
    let sid = polling_session(&server, PATH).await;
    let big = format!("4{}", "x".repeat(200));
    assert_eq!(post(&client, &url(&server, &sid), &big).await.0, 413);
    assert_eq!(post(&client, &url(&server, &sid), "4small").await.0, 200);
    assert_eq!(
        get(&client, &url(&server, &sid)).await,
        (200, "4small".into())
    );
}

#[actix_rt::test]
async fn an_invalid_post_gets_400_and_closes_the_session() {
    let (server, recorder) = TestServer::recorded(PATH);
    let client = http_client();
    let sid = polling_session(&server, PATH).await;
    assert_eq!(post(&client, &url(&server, &sid), "abc").await.0, 400);
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::ParseError]
    );
    assert_eq!(get(&client, &url(&server, &sid)).await.0, 400);
}

#[actix_rt::test]
async fn a_close_packet_ends_the_pending_poll_with_a_noop() {
    let (server, recorder) = TestServer::recorded(PATH);
    let sid = polling_session(&server, PATH).await;
    let poll_url = url(&server, &sid);
    let pending = actix_rt::spawn(async move { get(&http_client(), &poll_url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(post(&http_client(), &url(&server, &sid), "1").await.0, 200);
    let pending = tokio::time::timeout(WAIT, pending).await;
    assert!(
        matches!(&pending, Ok(Ok((200, body))) if body == "6"),
        "{pending:?}"
    );
    assert_eq!(get(&http_client(), &url(&server, &sid)).await.0, 400);
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::ClientClose]
    );
}

#[actix_rt::test]
async fn a_client_aborting_a_pending_poll_closes_the_session() {
    let (server, recorder) = TestServer::recorded(PATH);
    let sid = polling_session(&server, PATH).await;
    let poll_url = url(&server, &sid);
    let pending = actix_rt::spawn(async move { get(&http_client(), &poll_url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    pending.abort();
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::TransportError]
    );
    assert_eq!(server.engines[0].session_count(), 0);
}

#[actix_rt::test]
async fn the_server_pings_and_closes_a_session_that_stops_answering() {
    let recorder = Recorder::default();
    let config = EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(600),
        ..EngineConfig::default()
    };
    let server = TestServer::start(vec![(config, Arc::new(recorder.clone()))]);
    let client = http_client();
    let sid = polling_session(&server, PATH).await;
    for _ in 0..3 {
        assert_eq!(get(&client, &url(&server, &sid)).await, (200, "2".into()));
        assert_eq!(
            post(&client, &url(&server, &sid), "3").await,
            (200, "ok".into())
        );
    }
    assert_eq!(
        recorder.wait_closed(&sid).await,
        vec![CloseReason::PingTimeout]
    );
    assert_eq!(get(&client, &url(&server, &sid)).await.0, 400);
}

#[actix_rt::test]
async fn allowed_origins_get_cors_headers_with_credentials() {
    let config = EngineConfig {
        cors: CorsOrigins::List(vec!["http://allowed.test".into()]),
        ..quiet_config(PATH)
    };
    let server = TestServer::start(vec![(config, Arc::new(EchoHandler))]);
    let client = http_client();
    let handshake = server.http("/socket.io/?EIO=4&transport=polling");
    let preflight = client
        .request(reqwest::Method::OPTIONS, &handshake)
        .header("origin", "http://allowed.test")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(preflight.status().as_u16(), 204);
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("http://allowed.test")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert!(header(&preflight, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    let allowed = client
        .get(&handshake)
        .header("origin", "http://allowed.test")
        .send()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("http://allowed.test")
    );
    let denied = client
        .get(&handshake)
        .header("origin", "http://evil.test")
        .send()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(header(&denied, "access-control-allow-origin"), None);
}

#[actix_rt::test]
async fn two_mounts_serve_separate_sessions_side_by_side() {
    let recorder = Recorder::default();
    let server = TestServer::start(vec![
        (quiet_config("/socket.io/"), Arc::new(recorder.clone())),
        (quiet_config("/engine.io/"), Arc::new(EchoHandler)),
    ]);
    let client = http_client();
    let echo_sid = polling_session(&server, "/engine.io/").await;
    let echo_url = server.http(&format!(
        "/engine.io/?EIO=4&transport=polling&sid={echo_sid}"
    ));
    assert_eq!(post(&client, &echo_url, "4ping").await.0, 200);
    assert_eq!(get(&client, &echo_url).await, (200, "4ping".into()));
    // The sid belongs to the other mount.
    assert_eq!(get(&client, &url(&server, &echo_sid)).await.0, 400);
    assert_eq!(server.engines[0].session_count(), 0);
    assert_eq!(server.engines[1].session_count(), 1);
}

#[actix_rt::test]
async fn shutdown_closes_every_session_once() {
    let (server, recorder) = TestServer::recorded(PATH);
    let first = polling_session(&server, PATH).await;
    let second = polling_session(&server, PATH).await;
    let poll_url = url(&server, &first);
    let pending = actix_rt::spawn(async move { get(&http_client(), &poll_url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.engines[0].shutdown();
    let pending = tokio::time::timeout(WAIT, pending).await;
    assert!(
        matches!(&pending, Ok(Ok((200, body))) if body == "1"),
        "{pending:?}"
    );
    assert_eq!(
        recorder.wait_closed(&first).await,
        vec![CloseReason::ServerShutdown]
    );
    assert_eq!(
        recorder.wait_closed(&second).await,
        vec![CloseReason::ServerShutdown]
    );
    assert_eq!(server.engines[0].session_count(), 0);
}
