//! The Socket.IO v5 layer: the pure packet codec ([`Packet`], [`Reassembler`])
//! and the gateway ([`SocketIo`]) that makes every Socket.IO namespace
//! connection of an Engine.IO session a bus-core socket.
//!
//! This module owns Socket.IO framing and the namespace connections of a
//! session; it must not touch Engine.IO framing, transports or heartbeats
//! (those belong to `engineio`), nor bus-core internals (it uses only the
//! public `Namespace::connect_remote`/`Connection` contract).

mod binary;
mod config;
mod connection;
mod frames;
mod gateway;
mod json;
mod packet;

pub use binary::{Arg, Decoded, Placeholders, Reassembler};
pub use config::{SocketIoBuilder, SocketIoConfig};
pub use connection::CLIENT_ID_KEY;
pub use frames::GAP_EVENT;
pub use gateway::{SocketIo, CONNECT_TIMEOUT_REASON};
pub use packet::{DecodeError, Packet, PacketData, MAX_ATTACHMENTS, RESERVED_EVENTS};
