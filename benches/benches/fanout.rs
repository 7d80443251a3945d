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
//! the bus itself costs per delivery. Handlers count into per-thread slots,
//! each compared with that thread's own goal (its share of a broadcast,
//! measured once after setup), and the measuring thread parks (after 50 µs
//! of yielding) until each thread's last handler wakes it, so neither a
//! shared counter, nor handlers reading each other's counters, nor a
//! spinning waiter steals from the bus's threads.
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

/// Counts handler runs without making the bus's worker threads share a
/// cache line (a shared counter, or reading the other threads' counters on
/// every run, would cost every delivery cross-core transfers that the
/// single-threaded baselines never pay), and wakes the measuring thread
/// when every thread has done its share instead of having it spin.
///
/// Each handler thread counts into its own slot and compares with its own
/// goal only; the per-thread shares of one broadcast are measured once
/// after setup (a client always runs on the same bus worker thread).
struct Delivered {
    slots: [Slot; 8],
    goals: [Slot; 8],
    waiter: Thread,
}

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % 8;
}

impl Delivered {
    fn new() -> Self {
        let d = Delivered {
            slots: Default::default(),
            goals: Default::default(),
            waiter: std::thread::current(),
        };
        for g in &d.goals {
            g.0.store(u64::MAX, Ordering::Relaxed);
        }
        d
    }

    fn counts(&self) -> [u64; 8] {
        std::array::from_fn(|i| self.slots[i].0.load(Ordering::Acquire))
    }

    fn total(&self) -> u64 {
        self.counts().iter().sum()
    }

    /// Called by each handler run: touches only its own thread's lines.
    fn add(&self) {
        SLOT.with(|&i| {
            let n = self.slots[i].0.fetch_add(1, Ordering::AcqRel) + 1;
            if n == self.goals[i].0.load(Ordering::Acquire) {
                self.waiter.unpark();
            }
        });
    }

    /// Sets each thread's goal to its count plus its `share` of a broadcast.
    fn expect(&self, share: &[u64; 8]) -> [u64; 8] {
        let now = self.counts();
        let goal: [u64; 8] = std::array::from_fn(|i| now[i] + share[i]);
        for (g, v) in self.goals.iter().zip(goal) {
            g.0.store(v, Ordering::Release);
        }
        goal
    }

    /// Waits until every thread reached its goal: yielding for the first
    /// 50 µs (a small room finishes sooner than a park/unpark round trip),
    /// then parked until a thread's last handler wakes it.
    fn wait_for(&self, goal: &[u64; 8]) {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        while self.counts().iter().zip(goal).any(|(c, g)| c < g) {
            let now = Instant::now();
            assert!(now < deadline, "deliveries stalled");
            if now - start < Duration::from_micros(50) {
                std::thread::yield_now();
            } else {
                std::thread::park_timeout(Duration::from_millis(1));
            }
        }
    }

    /// Each thread's share of one broadcast to `n` clients, from one
    /// broadcast sent by `emit`.
    fn measure_share(&self, n: usize, emit: impl FnOnce()) -> [u64; 8] {
        let before = self.counts();
        let target = self.total() + n as u64;
        emit();
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.total() < target {
            assert!(Instant::now() < deadline, "deliveries stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
        let after = self.counts();
        std::array::from_fn(|i| after[i] - before[i])
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
            let share = delivered.measure_share(n, || {
                ns.to("r").emit("tick", &0u64).expect("emit");
            });
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for i in 0..iters {
                        let goal = delivered.expect(&share);
                        ns.to("r").emit("tick", &i).expect("emit");
                        delivered.wait_for(&goal);
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
