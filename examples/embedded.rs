//! Embedded use of bus-core (work in progress).
fn main() {}
