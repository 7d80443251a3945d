//! The bench protocol on socketioxide 0.18, served by hyper.
//!
//! This is the reference implementation bus is compared with: what a
//! socketioxide user would write for the same broadcast.

use std::net::SocketAddr;

use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::extract::{Data, SocketRef, TryData};
use socketioxide::SocketIo;
use tokio::net::TcpListener;

/// Registers the `/bench` namespace on `io`.
fn bench_namespace(io: &SocketIo) {
    io.ns(
        "/bench",
        async |socket: SocketRef, TryData(auth): TryData<Value>| {
            let emitter =
                matches!(&auth, Ok(auth) if auth.get("emitter") == Some(&Value::Bool(true)));
            if !emitter {
                socket.join("bench");
            }
            socket.on(
                "publish",
                async |socket: SocketRef, Data(payload): Data<Value>| {
                    // A plain broadcast: a full or closed member queue is the server's loss, not ours to handle.
                    let _ = socket.to("bench").emit("deliver", &payload).await;
                },
            );
        },
    );
}

/// Serves the bench protocol on `listener` until the task is dropped.
///
/// Accept errors (for example running out of file descriptors) are reported
/// on stderr and retried after a short pause rather than ending the server.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// tokio::spawn(benches::sioxide::serve(listener));
/// // connect to ws://{addr}/socket.io/?EIO=4&transport=websocket
/// # let _ = addr; Ok(()) }
/// ```
pub async fn serve(listener: TcpListener) {
    let (svc, io) = SocketIo::new_svc();
    bench_namespace(&io);
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("socketioxide-server: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
