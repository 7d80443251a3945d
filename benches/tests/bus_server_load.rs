//! The load generator against bus itself: the bus-web gateway with the
//! `/bench` namespace, started in process on a free loopback port.

mod common;

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use actix_web::{App, HttpServer};
use benches::loadgen::target::Target;
use benches::loadgen::{run_load, Mode};
use bus_web::{bench_protocol, SocketIo};
use common::{assert_every_event_reached_every_member, run_bounded, small_load};

/// A running gateway; dropping it stops the HTTP server and its thread.
struct BusServer {
    target: Target,
    stop: Option<actix_web::dev::ServerHandle>,
    thread: Option<thread::JoinHandle<()>>,
}

impl BusServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (handle_tx, handle_rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let bus = bus_core::Bus::start();
                bench_protocol::register(&bus);
                let gateway = SocketIo::builder(bus).build();
                let server = HttpServer::new(move || App::new().configure(gateway.configure()))
                    .workers(1)
                    .disable_signals()
                    .listen(listener)
                    .expect("listen on the bound port")
                    .run();
                let _ = handle_tx.send(server.handle());
                let _ = server.await;
            });
        });
        let stop = handle_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the server starts");
        Self {
            target: Target::parse(&format!("ws://{addr}")).expect("a loopback target"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for BusServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            futures::executor::block_on(stop.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bus_member_receives_every_event_with_a_fixed_number_in_flight() {
    let server = BusServer::start();
    let config = small_load(server.target.clone(), "bus", 20, Mode::InFlight(8));
    let report = run_bounded(&config).await;
    assert_every_event_reached_every_member(&report, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_rate_against_bus_is_delivered_without_loss() {
    let server = BusServer::start();
    // 1 000 deliveries/s to 10 members: 100 events/s, about 70 in the window.
    let config = small_load(server.target.clone(), "bus", 10, Mode::Rate(1000.0));
    let report = run_load(&config).await.expect("the run succeeds");
    assert!(
        (10..=200).contains(&report.events_sent),
        "events sent: {}",
        report.events_sent
    );
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.deliveries, report.events_sent * 10);
}
