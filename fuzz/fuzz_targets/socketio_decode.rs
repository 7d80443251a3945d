//! Fuzz target `socketio_decode`: see `bus_fuzz::socketio_decode` for what it feeds and checks.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run socketio_decode corpus/socketio_decode`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bus_fuzz::socketio_decode(data));
