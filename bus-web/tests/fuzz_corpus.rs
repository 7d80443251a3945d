//! Runs every seed-corpus file of every fuzz target through its decoder, as
//! an ordinary test on stable Rust: no input may panic, break a round-trip
//! property, or take longer than a bound (a spin or a runaway).
//!
//! The checks are the fuzz targets' own (`fuzz/src/checks.rs`, included
//! below); the corpora live in `fuzz/corpus/<target>/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

#[allow(
    dead_code,
    unreachable_pub,
    reason = "shared with the fuzz crate, which uses every item"
)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

/// The longest one input may take, generous for a loaded 2-core debug build.
const PER_INPUT: Duration = Duration::from_secs(10);

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of the target's corpus in a worker thread and
/// fails on the first panic or on any input that exceeds [`PER_INPUT`].
fn run_corpus(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "corpus {} is missing ({e}): run fuzz/gen_corpus.py",
                dir.display()
            )
        })
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "corpus {} has only {} inputs",
        dir.display(),
        files.len()
    );

    let (tx, rx) = mpsc::channel::<(PathBuf, Result<(), String>)>();
    let worker_files = files.clone();
    std::thread::spawn(move || {
        for path in worker_files {
            let outcome = match std::fs::read(&path) {
                Ok(data) => catch_unwind(AssertUnwindSafe(|| check(&data))).map_err(|panic| {
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                }),
                Err(e) => Err(format!("unreadable: {e}")),
            };
            if tx.send((path, outcome)).is_err() {
                return;
            }
        }
    });

    for expected in &files {
        match rx.recv_timeout(PER_INPUT) {
            Ok((path, Ok(()))) => assert_eq!(&path, expected),
            Ok((path, Err(message))) => {
                panic!("{target}: input {} panicked: {message}", path.display())
            }
            Err(_) => panic!(
                "{target}: input {} ran longer than {PER_INPUT:?}",
                expected.display()
            ),
        }
    }
}

#[test]
fn no_socketio_packet_input_panics_or_breaks_the_round_trip() {
    run_corpus("socketio_decode", checks::socketio_decode);
}

#[test]
fn no_socketio_message_sequence_panics_the_reassembler() {
    run_corpus("socketio_reassemble", checks::socketio_reassemble);
}

#[test]
fn no_engineio_text_packet_input_panics() {
    run_corpus("engineio_decode_text", checks::engineio_decode_text);
}

#[test]
fn every_engineio_binary_frame_decodes_to_its_bytes() {
    run_corpus("engineio_decode_binary", checks::engineio_decode_binary);
}

#[test]
fn no_engineio_payload_input_panics_or_breaks_the_round_trip() {
    run_corpus("engineio_decode_payload", checks::engineio_decode_payload);
}

#[test]
fn a_check_that_panics_is_reported() {
    let failed = catch_unwind(|| {
        run_corpus("socketio_decode", |data| {
            assert!(!data.starts_with(b"2[\"foo\"]"), "found it")
        });
    });
    assert!(failed.is_err(), "the harness must fail when a check panics");
}
