//! bus-web: a Socket.IO gateway for bus-core (work in progress).
pub mod engineio;

pub mod socketio;
pub use socketio::{SocketIo, SocketIoBuilder, SocketIoConfig};

pub mod demo;

pub mod bench_protocol;
