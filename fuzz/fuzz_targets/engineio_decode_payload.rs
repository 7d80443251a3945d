//! Fuzz target `engineio_decode_payload`: see `bus_fuzz::engineio_decode_payload` for what it feeds and checks.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run engineio_decode_payload corpus/engineio_decode_payload`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bus_fuzz::engineio_decode_payload(data));
