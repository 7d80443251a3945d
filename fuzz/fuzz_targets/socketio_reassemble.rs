//! Fuzz target `socketio_reassemble`: see `bus_fuzz::socketio_reassemble` for what it feeds and checks.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run socketio_reassemble corpus/socketio_reassemble`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bus_fuzz::socketio_reassemble(data));
