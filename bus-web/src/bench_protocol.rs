//! The `/bench` namespace that the `fanout-load` generator (in `benches/`)
//! drives through `bus-server`.
//!
//! The protocol:
//!
//! - A socket whose handshake auth is not `{"emitter": true}` is a
//!   *receiver*: on connect it joins the room [`BENCH_ROOM`].
//! - Any socket may emit `publish` with one argument; the namespace emits
//!   `deliver` with that same argument to every receiver. The payload is
//!   passed through as received (never decoded), binary attachments included.
//! - When `publish` asks for an acknowledgement, it is answered with no
//!   arguments once the broadcast is queued.
//!
//! Owns the bench protocol only; it must not know about transports.

use bus_core::{Bus, Namespace, Payload, Socket};

/// The namespace the load generator connects to.
pub const BENCH_NAMESPACE: &str = "/bench";

/// The room every receiver joins.
pub const BENCH_ROOM: &str = "bench";

/// The event a publisher emits.
pub const PUBLISH_EVENT: &str = "publish";

/// The event receivers get.
pub const DELIVER_EVENT: &str = "deliver";

/// Whether a handshake's auth marks the socket as an emitter
/// (`{"emitter": true}`), which does not receive `deliver`.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// use bus_web::bench_protocol::is_emitter;
///
/// assert!(is_emitter(&json!({"emitter": true})));
/// assert!(!is_emitter(&json!({"emitter": "yes"})));
/// assert!(!is_emitter(&json!(null)));
/// ```
pub fn is_emitter(auth: &serde_json::Value) -> bool {
    auth.get("emitter").and_then(serde_json::Value::as_bool) == Some(true)
}

/// Creates the [`BENCH_NAMESPACE`] on `bus` and registers its handlers.
///
/// # Examples
///
/// ```
/// let bus = bus_core::Bus::start();
/// let ns = bus_web::bench_protocol::register(&bus);
/// assert_eq!(ns.name(), "/bench");
/// ```
pub fn register(bus: &Bus) -> Namespace {
    let ns = bus.of(BENCH_NAMESPACE);
    ns.on_connection(|socket| on_connection(&socket));
    ns
}

fn on_connection(socket: &Socket) {
    if !is_emitter(&socket.handshake().auth) {
        if let Err(error) = socket.join(BENCH_ROOM) {
            tracing::warn!(socket = %socket.id(), %error, "bench receiver could not join its room; disconnecting it");
            socket.disconnect();
            return;
        }
    }
    socket.on_any(|socket, event, ack| {
        if event.name != PUBLISH_EVENT {
            return;
        }
        let sent = socket
            .namespace()
            .to(BENCH_ROOM)
            .emit_payload(DELIVER_EVENT, event.payload.clone());
        if let Err(error) = &sent {
            tracing::debug!(socket = %socket.id(), %error, "bench delivery incomplete");
        }
        if let Some(ack) = ack {
            if let Err(error) = ack.send_payload(Payload::empty()) {
                tracing::debug!(socket = %socket.id(), %error, "bench publish ack not sent");
            }
        }
    });
}
