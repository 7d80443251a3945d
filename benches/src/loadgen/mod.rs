//! A Socket.IO v5 fan-out load generator.
//!
//! Point it at any server that implements the bench protocol (namespace
//! `/bench`, members join room `bench`, `publish` is broadcast back as
//! `deliver`) on a loopback address:
//!
//! - [`run_load`] opens room members and emitters, publishes with a fixed
//!   number of events in flight or at a fixed offered rate, and reports
//!   deliveries per second, latency percentiles and lost events;
//! - [`run_idle`] opens idle connections and reports the server's resident
//!   memory per connection.
//!
//! Both stop by themselves: every phase is bounded in time.

pub mod client;
mod idle;
pub mod proc;
pub mod protocol;
pub mod report;
mod run;
pub mod stats;
pub mod target;

pub use idle::{run_idle, IdleConfig};
pub use run::{run_load, LoadConfig, LoadError, Mode};
