//! Lost events are counted exactly through the whole client path, against a
//! deliberately lossy bench server that skips known deliveries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use benches::loadgen::protocol::{decode, ServerFrame};
use benches::loadgen::target::Target;
use benches::loadgen::{run_load, LoadConfig, Mode};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Members = Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>>;

/// A bench server that never delivers events whose id is a multiple of 4 to its first member.
async fn lossy_server() -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let members: Members = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, members.clone()));
        }
    });
    Target::parse(&format!("ws://{addr}")).expect("target")
}

async fn connection(stream: tokio::net::TcpStream, members: Members) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let open = r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut tx = Some(tx);
    loop {
        tokio::select! {
            Some(frame) = rx.recv() => {
                if ws.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else { return };
                if let Some(auth) = text.strip_prefix("40/bench,") {
                    if ws.send(Message::text(r#"40/bench,{"sid":"x"}"#)).await.is_err() {
                        return;
                    }
                    if !auth.contains("emitter") {
                        if let Some(tx) = tx.take() {
                            members.lock().expect("members").push(tx);
                        }
                    }
                } else if text.starts_with(r#"42/bench,["publish","#) {
                    let deliver = text.replacen("publish", "deliver", 1);
                    let Ok(ServerFrame::Deliver(stamp)) = decode(&deliver) else { return };
                    for (m, member) in members.lock().expect("members").iter().enumerate() {
                        if m == 0 && stamp.id % 4 == 0 {
                            continue;
                        }
                        let _ = member.send(deliver.clone());
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_a_server_skips_are_counted_as_lost_exactly() {
    let target = lossy_server().await;
    let mut config = LoadConfig::new(target);
    config.clients = 3;
    config.warmup = Duration::ZERO;
    config.duration = Duration::from_millis(500);
    config.drain = Duration::from_millis(500);
    config.mode = Mode::Rate(600.0); // 200 events/s, about 100 events
    let report = run_load(&config).await.expect("the run succeeds");
    let sent = report.events_sent;
    assert!(sent > 20, "events sent: {sent}");
    // One emitter: the measured ids are contiguous.
    let (first, last) = (
        report.first_event_id.expect("measured events"),
        report.last_event_id.expect("measured events"),
    );
    assert_eq!(last - first + 1, sent);
    let skipped = (first..=last).filter(|id| id % 4 == 0).count() as u64;
    assert_eq!(report.lost, skipped, "{report:?}");
    assert_eq!(report.deliveries, sent * 3 - skipped);
    assert_eq!(report.members_short, 1);
    assert_eq!(report.duplicates, 0);
}
