//! Benchmarks and load tools for bus.
//!
//! - [`loadgen`]: a Socket.IO v5 fan-out load generator (the `fanout-load`
//!   binary), usable against any server that implements the bench protocol;
//! - [`sioxide`]: the bench protocol on socketioxide (the
//!   `socketioxide-server` binary), a reference point for bus;
//! - [`launch`]: starting a bench server as a child process;
//! - [`chart`]: the SVG chart of a side-by-side run.
//!
//! # The bench protocol
//!
//! Socket.IO v5 at `/socket.io/`, namespace `/bench`. A socket whose handshake
//! auth is not `{"emitter":true}` joins room `bench`. On event `publish` with
//! one argument, the server emits `deliver` with that same argument to room
//! `bench` (a plain broadcast, no ack).

pub mod chart;
pub mod launch;
pub mod loadgen;
pub mod sioxide;
