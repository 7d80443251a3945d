//! The `fanout` benchmark: one event to a room of N in-process sockets that
//! each receive it (throughput in deliveries), next to two baselines in the
//! same group: `tokio::sync::broadcast` with N receivers, and N plain
//! `crossbeam_channel::bounded` queues fed in a loop then drained (the floor
//! cost of bus-core's design).
//!
//! Run it with:
//!
//! ```sh
//! cargo bench -p benches --bench fanout -- --quick
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bus_core::{Bus, Client, ConnectOptions};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 4] = [1, 100, 1_000, 10_000];

/// A bus with `n` in-process clients in room "r", each counting deliveries.
fn bus_room(n: usize) -> (Bus, Vec<Client>, Arc<AtomicU64>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bus = Bus::start();
    let ns = bus.of("/bench");
    let delivered = Arc::new(AtomicU64::new(0));
    let clients = rt.block_on(async {
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            let d = delivered.clone();
            let c = ns
                .connect_with(ConnectOptions::default(), move |c| {
                    c.on("tick", move |_: u64, _| {
                        d.fetch_add(1, Ordering::Relaxed);
                    });
                })
                .await
                .expect("connect");
            clients.push(c);
        }
        ns.sockets_join("r").expect("join");
        // fetch_sockets is answered after the join above has been applied
        let joined = ns.to("r").fetch_sockets().await.expect("fetch").len();
        assert_eq!(joined, n);
        clients
    });
    (bus, clients, delivered)
}

fn wait_for(counter: &AtomicU64, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.load(Ordering::Relaxed) < target {
        assert!(Instant::now() < deadline, "deliveries stalled");
        std::thread::yield_now();
    }
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for &n in &SIZES {
        group.throughput(Throughput::Elements(n as u64));

        let (bus, clients, delivered) = bus_room(n);
        let ns = bus.of("/bench");
        group.bench_with_input(BenchmarkId::new("bus_room", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    let target = delivered.load(Ordering::Relaxed) + n as u64;
                    ns.to("r").emit("tick", &i).expect("emit");
                    wait_for(&delivered, target);
                }
                start.elapsed()
            });
        });
        drop(clients);
        drop(bus);

        group.bench_with_input(BenchmarkId::new("tokio_broadcast", n), &n, |b, &n| {
            let (tx, _) = tokio::sync::broadcast::channel::<Arc<u64>>(16);
            let mut rxs: Vec<_> = (0..n).map(|_| tx.subscribe()).collect();
            b.iter(|| {
                tx.send(Arc::new(1)).expect("send");
                for rx in rxs.iter_mut() {
                    let v = rx.try_recv().expect("recv");
                    criterion::black_box(v);
                }
            });
        });

        group.bench_with_input(BenchmarkId::new("crossbeam_queues", n), &n, |b, &n| {
            let queues: Vec<_> = (0..n)
                .map(|_| crossbeam_channel::bounded::<Arc<u64>>(16))
                .collect();
            b.iter(|| {
                let ev = Arc::new(1u64);
                for (tx, _) in &queues {
                    tx.try_send(ev.clone()).expect("send");
                }
                for (_, rx) in &queues {
                    criterion::black_box(rx.try_recv().expect("recv"));
                }
            });
        });
    }
    group.finish();
}

mod group {
    // criterion_group! expands to an undocumented `pub fn`.
    #![allow(missing_docs, unreachable_pub)]
    criterion::criterion_group!(benches, super::fanout);
}
criterion_main!(group::benches);
