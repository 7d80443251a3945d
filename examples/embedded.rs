//! Embedded use of bus-core: a service using the bus with no web server.
//!
//! Shows namespaces, rooms, an acknowledged request, and at-least-once
//! delivery: a subscriber (a delivery driver) goes away, events keep coming,
//! and when it returns it receives every one of them, in order.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p examples --example embedded
//! ```
// An example narrates what it does on stdout.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use bus_core::{AtLeastOnce, Bus, ConnectOptions, NamespaceConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::timeout;

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: u64,
    item: String,
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let bus = Bus::start();

    // --- 1. A namespace with rooms and an acknowledged request -----------
    let orders = bus.of("/orders");
    orders.on_connection(|socket| {
        socket.on("subscribe", |socket, region: String, ack| {
            let _ = socket.join(format!("region:{region}"));
            if let Some(ack) = ack {
                let _ = ack.send(&format!("subscribed to {region}"));
            }
        });
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let eu = orders
        .connect_with(ConnectOptions::default(), move |c| {
            c.on("order", move |order: Order, _ack| {
                let _ = tx.send(order);
            });
        })
        .await?;
    let reply: String = eu.emit_with_ack("subscribe", &"eu", WAIT).await?;
    println!("eu subscriber: {reply}");
    orders.to("region:us").emit(
        "order",
        &Order {
            id: 1,
            item: "bagel".into(),
        },
    )?;
    orders.to("region:eu").emit(
        "order",
        &Order {
            id: 2,
            item: "croissant".into(),
        },
    )?;
    let order = timeout(WAIT, rx.recv()).await?.ok_or("channel closed")?;
    println!(
        "eu subscriber got order #{} ({}) and nothing for the us room",
        order.id, order.item
    );

    // --- 2. At-least-once: a driver goes offline and comes back ----------
    let settings = AtLeastOnce::new().with_ack_deadline(Duration::from_secs(2));
    let deliveries = bus.of_with(
        "/deliveries",
        NamespaceConfig::default().at_least_once(settings),
    );
    let driver_opts = ConnectOptions {
        client_id: Some("driver-42".into()),
        ..Default::default()
    };

    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = deliveries
        .connect_with(driver_opts.clone(), move |c| {
            c.on_any(move |incoming| {
                let _ = tx.send((
                    incoming.event.payload.decode::<u64>().ok(),
                    incoming.delivery,
                ));
            });
        })
        .await?;
    // The server side puts the driver in the "pickups" room.
    deliveries
        .to(driver.id().as_str())
        .sockets_join("pickups")?;
    for pickup in 1..=3u64 {
        deliveries.to("pickups").emit("pickup", &pickup)?;
    }
    for _ in 0..3 {
        let (pickup, info) = timeout(WAIT, rx.recv()).await?.ok_or("channel closed")?;
        println!(
            "driver online: pickup {pickup:?} (seq {:?})",
            info.map(|d| d.seq)
        );
    }

    driver.disconnect();
    println!("driver went offline");
    for pickup in 4..=6u64 {
        deliveries.to("pickups").emit("pickup", &pickup)?;
    }
    println!("3 pickups posted while the driver was away");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let _driver = deliveries
        .connect_with(driver_opts, move |c| {
            c.on_any(move |incoming| {
                let _ = tx.send((
                    incoming.event.payload.decode::<u64>().ok(),
                    incoming.delivery,
                ));
            });
        })
        .await?;
    // Redeliveries carry the same seq, so a client drops duplicates by seq.
    let mut last_seq = 3;
    let mut got = Vec::new();
    while !got.contains(&6) {
        let (pickup, info) = timeout(WAIT, rx.recv()).await?.ok_or("channel closed")?;
        let (seq, redelivered) = info.map_or((0, false), |d| (d.seq, d.redelivered));
        if seq <= last_seq {
            println!("driver back: duplicate of seq {seq} dropped (redelivered: {redelivered})");
            continue;
        }
        last_seq = seq;
        println!("driver back: pickup {pickup:?} (seq {seq}, redelivered: {redelivered})");
        got.extend(pickup);
    }
    assert_eq!(got, vec![4, 5, 6], "nothing lost while away");

    for m in bus.metrics() {
        println!(
            "{}: sockets={} rooms={} emitted={} delivered={} dropped={} acked={} redelivered={}",
            m.namespace,
            m.sockets,
            m.rooms,
            m.emitted,
            m.delivered,
            m.dropped.total(),
            m.acked,
            m.redelivered
        );
    }
    bus.shutdown().await;
    Ok(())
}
