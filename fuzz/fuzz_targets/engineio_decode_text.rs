//! Fuzz target `engineio_decode_text`: see `bus_fuzz::engineio_decode_text` for what it feeds and checks.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run engineio_decode_text corpus/engineio_decode_text`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bus_fuzz::engineio_decode_text(data));
