//! The bench protocol on socketioxide 0.18: the reference point bus is compared with.
//!
//! ```text
//! cargo run --release -p benches --bin socketioxide-server -- --port 3001
//! ```
//!
//! Namespace `/bench`; members join room `bench`; `publish` is broadcast as
//! `deliver`. Listens on 127.0.0.1 unless `--bind` says otherwise (loopback only).

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

/// Command line of `socketioxide-server`.
#[derive(Debug, Parser)]
#[command(about = "socketioxide 0.18 server speaking the bus bench protocol")]
struct Args {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 3001)]
    port: u16,
    /// Address to bind (a loopback address).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !args.bind.is_loopback() {
        eprintln!(
            "socketioxide-server: --bind {} is not a loopback address; use 127.0.0.1 or ::1",
            args.bind
        );
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("socketioxide-server: cannot start the tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let addr = SocketAddr::new(args.bind, args.port);
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                eprintln!("socketioxide-server listening on {addr}");
                benches::sioxide::serve(listener).await;
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("socketioxide-server: cannot listen on {addr}: {e}; is the port taken?");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
