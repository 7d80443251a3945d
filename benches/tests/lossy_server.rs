//! Lost events are counted exactly through the whole client path, against
//! fake bench servers: a lossy one that skips known deliveries, and one
//! that holds deliveries back and sends them in long bursts.

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

/// How a fake server delivers.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Never deliver event `id` to member number `m` when this says so.
    skip: fn(m: usize, id: u64) -> bool,
    /// Hold each member's deliveries and send them together this often.
    hold: Option<Duration>,
}

/// A bench server that delivers as `behaviour` says.
async fn fake_server(behaviour: Behaviour) -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let members: Members = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, members.clone(), behaviour));
        }
    });
    Target::parse(&format!("ws://{addr}")).expect("target")
}

/// A bench server that never delivers events whose id is a multiple of 4 to its first member.
async fn lossy_server() -> Target {
    fake_server(Behaviour {
        skip: |m, id| m == 0 && id % 4 == 0,
        hold: None,
    })
    .await
}

async fn connection(stream: tokio::net::TcpStream, members: Members, behaviour: Behaviour) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let open = r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut tx = Some(tx);
    let mut held = Vec::new();
    let mut release = tokio::time::interval(behaviour.hold.unwrap_or(Duration::from_secs(3600)));
    loop {
        tokio::select! {
            Some(frame) = rx.recv() => {
                if behaviour.hold.is_some() {
                    held.push(frame);
                } else if ws.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
            _ = release.tick() => {
                // One burst: every held frame, then one flush.
                for frame in held.drain(..) {
                    if ws.feed(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
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
                        if (behaviour.skip)(m, stamp.id) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_longer_than_a_members_read_burst_loses_nothing() {
    // Deliveries held for 400 ms, then sent together: about 400 frames at
    // once, more than a member reads before it looks at its stop flag.
    let target = fake_server(Behaviour {
        skip: |_, _| false,
        hold: Some(Duration::from_millis(400)),
    })
    .await;
    let mut config = LoadConfig::new(target);
    config.clients = 1;
    config.warmup = Duration::ZERO;
    config.duration = Duration::from_millis(900);
    config.drain = Duration::from_secs(2);
    config.mode = Mode::Rate(1000.0); // 1 000 events/s to the one member
    let report = run_load(&config).await.expect("the run succeeds");
    assert!(
        report.events_sent > 300,
        "events sent: {}",
        report.events_sent
    );
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.deliveries, report.events_sent);
    assert_eq!(report.duplicates, 0);
}
