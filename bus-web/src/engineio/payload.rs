//! The Engine.IO v4 long-polling payload codec (pure, no I/O).
//!
//! This module owns the payload format: packets joined by the record
//! separator `\x1e`, binary messages as `b` + base64. It must not touch HTTP;
//! `polling.rs` adapts it.

use base64::Engine as _;
use bytes::Bytes;

use super::packet::{decode_text, encode_text_into, DecodeError, EngineMessage, Packet};

/// The separator between two packets of a payload.
pub const SEPARATOR: char = '\x1e';

/// Decode a long-polling payload (the body of a POST or of a GET response).
///
/// # Errors
///
/// The first [`DecodeError`] of any packet; an empty payload or an empty
/// packet between two separators is [`DecodeError::Empty`].
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{decode_payload, EngineMessage, Packet};
/// let packets = decode_payload("4hello\x1ebAQIDBA==").unwrap();
/// assert_eq!(packets, vec![
///     Packet::Message(EngineMessage::text("hello")),
///     Packet::Message(EngineMessage::binary(vec![1u8, 2, 3, 4])),
/// ]);
/// ```
pub fn decode_payload(payload: &str) -> Result<Vec<Packet>, DecodeError> {
    payload.split(SEPARATOR).map(decode_one).collect()
}

/// Decode a payload from raw bytes, rejecting bodies that are not UTF-8.
///
/// # Errors
///
/// [`DecodeError::NotUtf8`], or any error of [`decode_payload`].
pub fn decode_payload_bytes(payload: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotUtf8)?;
    decode_payload(text)
}

fn decode_one(packet: &str) -> Result<Packet, DecodeError> {
    match packet.strip_prefix('b') {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|data| Packet::Message(EngineMessage::Binary(Bytes::from(data))))
            .map_err(|_| DecodeError::InvalidBase64),
        None => decode_text(packet),
    }
}

/// Encode packets as one long-polling payload.
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{encode_payload, EngineMessage, Packet};
/// let payload = encode_payload(&[
///     Packet::Message(EngineMessage::text("hello")),
///     Packet::Message(EngineMessage::binary(vec![1u8, 2, 3, 4])),
/// ]);
/// assert_eq!(payload, "4hello\x1ebAQIDBA==");
/// ```
pub fn encode_payload(packets: &[Packet]) -> String {
    let mut out = String::new();
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        encode_text_into(packet, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_round_trip() {
        for payload in [
            "4hello",
            "4test1\x1e4test2\x1e4test3",
            "4hello\x1ebAQIDBA==",
            "2\x1e3probe\x1e6",
            "4€€\x1e4й",
        ] {
            let packets = decode_payload(payload);
            let Ok(packets) = packets else {
                panic!("{payload:?} did not decode: {packets:?}");
            };
            assert_eq!(encode_payload(&packets), payload);
        }
    }

    #[test]
    fn a_payload_of_three_messages_decodes_in_order() {
        let packets = decode_payload("4test1\x1e4test2\x1e4test3");
        assert_eq!(
            packets,
            Ok(vec![
                Packet::Message(EngineMessage::text("test1")),
                Packet::Message(EngineMessage::text("test2")),
                Packet::Message(EngineMessage::text("test3")),
            ])
        );
    }

    #[test]
    fn malformed_payloads_are_typed_errors() {
        assert_eq!(decode_payload(""), Err(DecodeError::Empty));
        assert_eq!(decode_payload("4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode_payload("abc"), Err(DecodeError::UnknownType('a')));
        assert_eq!(decode_payload("b!!!"), Err(DecodeError::InvalidBase64));
        assert_eq!(
            decode_payload_bytes(&[0x34, 0xff, 0xfe]),
            Err(DecodeError::NotUtf8)
        );
    }
}
