//! Fuzz target `engineio_decode_binary`: see `bus_fuzz::engineio_decode_binary` for what it feeds and checks.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run engineio_decode_binary corpus/engineio_decode_binary`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bus_fuzz::engineio_decode_binary(data));
