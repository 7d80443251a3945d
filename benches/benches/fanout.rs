//! The `fanout` benchmark: one event to a room of N in-process sockets that
//! each receive it (throughput in deliveries), next to two baselines in the
//! same group: `tokio::sync::broadcast` with N receivers, and N plain
//! `crossbeam_channel::bounded` queues fed in a loop then drained (the floor
//! cost of bus-core's design).
//!
//! Each bus iteration is end to end: emit, then wait until every client's
//! handler has run. `bus_room` clients use a typed handler (`on("tick",
//! |n: u64, _| ..)`, so each delivery also decodes the JSON payload);
//! `bus_room_any` clients use `on_any` (no decoding), which isolates what
//! the bus itself costs per delivery. Handlers count into per-thread slots
//! and the measuring thread parks (after 50 µs of yielding) until the last
//! one wakes it, so neither a shared counter nor a spinning waiter steals
//! from the bus's threads.
//!
//! Run it with:
//!
//! ```sh
//! cargo bench -p benches --bench fanout -- --quick
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};

use bus_core::{Bus, Client, ConnectOptions};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 4] = [1, 100, 1_000, 10_000];

/// One counter slot per cache line.
#[repr(align(128))]
#[derive(Default)]
struct Slot(AtomicU64);

/// Counts handler runs without making the bus's worker threads fight over
/// one cache line (a shared counter would cost every delivery a cross-core
/// transfer that the single-threaded baselines never pay), and wakes the
/// measuring thread when a goal is reached instead of having it spin.
struct Delivered {
    slots: [Slot; 8],
    goal: AtomicU64,
    waiter: Thread,
}

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % 8;
}

impl Delivered {
    fn new() -> Self {
        Delivered {
            slots: Default::default(),
            goal: AtomicU64::new(u64::MAX),
            waiter: std::thread::current(),
        }
    }

    fn total(&self) -> u64 {
        self.slots.iter().map(|s| s.0.load(Ordering::Acquire)).sum()
    }

    /// Called by each handler run.
    fn add(&self) {
        SLOT.with(|&i| self.slots[i].0.fetch_add(1, Ordering::AcqRel));
        if self.total() >= self.goal.load(Ordering::Acquire) {
            self.waiter.unpark();
        }
    }

    /// Waits until `target` handler runs in total: yielding for the first
    /// 50 µs (a small room finishes sooner than a park/unpark round trip),
    /// then parked until the last handler wakes it.
    fn wait_for(&self, target: u64) {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        while self.total() < target {
            let now = Instant::now();
            assert!(now < deadline, "deliveries stalled");
            if now - start < Duration::from_micros(50) {
                std::thread::yield_now();
            } else {
                std::thread::park_timeout(Duration::from_millis(1));
            }
        }
    }
}

/// A bus with `n` in-process clients in room "r", each counting deliveries
/// with a typed handler (`typed`) or with `on_any`.
fn bus_room(n: usize, typed: bool) -> (Bus, Vec<Client>, Arc<Delivered>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bus = Bus::start();
    let ns = bus.of("/bench");
    let delivered = Arc::new(Delivered::new());
    let clients = rt.block_on(async {
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            let d = delivered.clone();
            let c = ns
                .connect_with(ConnectOptions::default(), move |c| {
                    if typed {
                        c.on("tick", move |_: u64, _| d.add());
                    } else {
                        c.on_any(move |_| d.add());
                    }
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

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for &n in &SIZES {
        group.throughput(Throughput::Elements(n as u64));

        for (name, typed) in [("bus_room", true), ("bus_room_any", false)] {
            let (bus, clients, delivered) = bus_room(n, typed);
            let ns = bus.of("/bench");
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for i in 0..iters {
                        let target = delivered.total() + n as u64;
                        delivered.goal.store(target, Ordering::Release);
                        ns.to("r").emit("tick", &i).expect("emit");
                        delivered.wait_for(target);
                    }
                    start.elapsed()
                });
            });
            drop(clients);
            drop(bus);
        }

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
