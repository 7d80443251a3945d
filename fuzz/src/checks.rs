//! What each fuzz target feeds to a decoder and which properties it checks.
//!
//! One function per target, shared by the libFuzzer binaries in
//! `fuzz_targets/` and by `bus-web/tests/fuzz_corpus.rs` (which includes this
//! file), so the corpus test checks exactly what the fuzzer checks. A
//! property violation panics; a decode error is an expected outcome.
//! This file owns no decoder: it only drives the public codecs of bus-web.

use bus_web::engineio::{
    decode_binary, decode_payload, decode_payload_bytes, decode_text, encode_payload,
    Packet as EnginePacket,
};
use bus_web::socketio::{Packet, Reassembler};
use bytes::Bytes;

/// Separates frames in a `socketio_reassemble` input (never valid UTF-8).
pub const FRAME_SEPARATOR: u8 = 0xff;

/// Socket.IO: decode one text message; whatever decodes must re-encode to
/// text that decodes to the same packet.
pub fn socketio_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(packet) = Packet::decode(text) {
        let encoded = packet.encode();
        let again = Packet::decode(&encoded);
        assert_eq!(again.as_ref(), Ok(&packet), "re-encoded as {encoded:?}");
    }
}

/// Socket.IO: feed a sequence of messages to one [`Reassembler`], as one
/// connection would, stopping at the first error (the connection would be
/// closed). Frames are separated by [`FRAME_SEPARATOR`]; a frame starting
/// with `b` is a binary message (the bytes after the `b`), any other frame is
/// a text message. A completed packet carries exactly the attachments it
/// announced.
pub fn socketio_reassemble(data: &[u8]) {
    let mut reassembler = Reassembler::default();
    for frame in data.split(|&b| b == FRAME_SEPARATOR) {
        let result = match frame.split_first() {
            Some((b'b', rest)) => reassembler.feed_binary(Bytes::copy_from_slice(rest)),
            _ => match std::str::from_utf8(frame) {
                Ok(text) => reassembler.feed_text(text),
                Err(_) => return,
            },
        };
        match result {
            Ok(Some(decoded)) => {
                assert_eq!(decoded.attachments.len(), decoded.packet.data.attachments());
                assert!(!reassembler.is_waiting());
            }
            Ok(None) => assert!(reassembler.is_waiting()),
            Err(_) => return,
        }
    }
}

/// Engine.IO: decode one text packet (a WebSocket text frame).
pub fn engineio_decode_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_text(text);
}

/// Engine.IO: decode one binary WebSocket frame; it is always a binary
/// message carrying exactly the input bytes.
pub fn engineio_decode_binary(data: &[u8]) {
    let packet = decode_binary(Bytes::copy_from_slice(data));
    assert!(matches!(packet, EnginePacket::Message(ref m) if m.len() == data.len()));
}

/// Engine.IO: decode a long-polling payload (a POST body); whatever decodes
/// must re-encode to a payload that decodes to the same packets.
pub fn engineio_decode_payload(data: &[u8]) {
    if let Ok(packets) = decode_payload_bytes(data) {
        let encoded = encode_payload(&packets);
        assert_eq!(
            decode_payload(&encoded).as_ref(),
            Ok(&packets),
            "re-encoded as {encoded:?}"
        );
    }
}
