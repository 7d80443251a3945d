//! The Engine.IO v4 packet codec (pure, no I/O).
//!
//! This module owns [`Packet`], [`EngineMessage`], [`OpenPacket`], [`Frame`]
//! and the per-packet encode/decode functions. It must not touch actors,
//! sockets or HTTP; the long-polling payload format lives in `payload.rs`.
//!
//! | id | packet    | direction        | data                          |
//! |----|-----------|------------------|-------------------------------|
//! | 0  | `open`    | server → client  | handshake JSON                |
//! | 1  | `close`   | both             | none                          |
//! | 2  | `ping`    | both             | optional (`probe` on upgrade) |
//! | 3  | `pong`    | both             | optional (`probe` on upgrade) |
//! | 4  | `message` | both             | text, or binary               |
//! | 5  | `upgrade` | client → server  | none                          |
//! | 6  | `noop`    | server → client  | none                          |
//!
//! Over WebSocket a text frame carries one packet as `<id><data>`; a binary
//! frame carries the bytes of one binary message, with no type prefix.

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};

/// The payload of a message packet: text or binary.
///
/// Both variants are cheap to clone (`ByteString` and `Bytes` share their
/// buffer), so one encoded broadcast can be handed to many sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineMessage {
    /// A text message (`4<text>`).
    Text(ByteString),
    /// A binary message (a binary WebSocket frame, or `b<base64>` in a
    /// long-polling payload).
    Binary(Bytes),
    /// A text message already encoded as a whole packet (`4<text>`), written
    /// as is: one broadcast is encoded once and the same bytes go to every
    /// session, with no per-session copy to add the prefix.
    Encoded(EncodedText),
}

/// The text of a message packet with its `4` prefix: `4<text>`.
///
/// The prefix is checked when it is made, so the bytes are always a valid
/// Engine.IO message packet.
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{encode_frame, EncodedText, EngineMessage, Frame, Packet};
///
/// let encoded = EncodedText::new("hi");
/// assert_eq!(encoded.packet(), "4hi");
/// assert_eq!(encoded.text(), "hi");
/// // Written as is: the frame shares the encoded bytes.
/// let frame = encode_frame(&Packet::Message(EngineMessage::Encoded(encoded.clone())));
/// assert_eq!(frame, Frame::Text("4hi".into()));
/// assert_eq!(EncodedText::from_packet("4hi".into()), Some(encoded));
/// assert_eq!(EncodedText::from_packet("2".into()), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedText(ByteString);

impl EncodedText {
    /// Encodes `text` as a message packet (one copy, to add the prefix).
    pub fn new(text: &str) -> Self {
        let mut packet = String::with_capacity(text.len() + 1);
        packet.push('4');
        packet.push_str(text);
        Self(ByteString::from(packet))
    }

    /// Wraps an already encoded message packet without copying it, or
    /// `None` if `packet` does not start with the message type `4`.
    pub fn from_packet(packet: ByteString) -> Option<Self> {
        packet.starts_with('4').then_some(Self(packet))
    }

    /// The whole packet, `4` included.
    pub fn packet(&self) -> &ByteString {
        &self.0
    }

    /// The message text, without the `4`.
    pub fn text(&self) -> &str {
        &self.0[1..]
    }
}

impl EngineMessage {
    /// A text message.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::engineio::EngineMessage;
    /// assert_eq!(EngineMessage::text("hi").len(), 2);
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(ByteString::from(text.into()))
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::Binary(data.into())
    }

    /// The length of the text or binary data, in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => data.len(),
            Self::Encoded(encoded) => encoded.text().len(),
        }
    }

    /// Whether the message carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The handshake data of an open packet (`0{...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// The transports the client may upgrade to (`["websocket"]` over
    /// polling, `[]` over WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between two server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong after a ping.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts.
    pub max_payload: u64,
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake.
    Open(OpenPacket),
    /// `1`: close the session.
    Close,
    /// `2`: heartbeat ping (server to client), or `2probe` during an upgrade.
    Ping(Option<String>),
    /// `3`: heartbeat pong, or `3probe` during an upgrade.
    Pong(Option<String>),
    /// `4`: a message.
    Message(EngineMessage),
    /// `5`: complete an upgrade.
    Upgrade,
    /// `6`: nothing; ends a pending poll during an upgrade.
    Noop,
}

/// One WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame holding one encoded packet.
    Text(ByteString),
    /// A binary frame holding a binary message's bytes.
    Binary(Bytes),
}

/// Why a packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The packet was empty; a packet starts with its type id `0`-`6`.
    #[error("empty packet; a packet starts with its type id 0-6")]
    Empty,
    /// The first character is not a packet type id.
    #[error("unknown packet type {0:?}; a packet starts with its type id 0-6")]
    UnknownType(char),
    /// An open packet whose data is not the handshake JSON.
    #[error("invalid open packet; send the handshake JSON after `0`")]
    InvalidOpen,
    /// A `b` packet in a long-polling payload whose data is not base64.
    #[error("invalid base64 in binary packet; encode binary data as standard base64 after `b`")]
    InvalidBase64,
    /// A long-polling request body that is not UTF-8 text.
    #[error("payload is not UTF-8; send packets as text and binary as `b` + base64")]
    NotUtf8,
}

/// Decode one packet from text (a WebSocket text frame, or one packet of a
/// long-polling payload without the `b` binary form).
///
/// # Errors
///
/// [`DecodeError::Empty`], [`DecodeError::UnknownType`] or
/// [`DecodeError::InvalidOpen`].
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{decode_text, EngineMessage, Packet};
/// assert_eq!(decode_text("2probe"), Ok(Packet::Ping(Some("probe".into()))));
/// assert_eq!(decode_text("4hello"), Ok(Packet::Message(EngineMessage::text("hello"))));
/// assert!(decode_text("abc").is_err());
/// ```
pub fn decode_text(text: &str) -> Result<Packet, DecodeError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(DecodeError::Empty)?;
    let data = chars.as_str();
    let optional = || (!data.is_empty()).then(|| data.to_owned());
    match kind {
        '0' => serde_json::from_str(data)
            .map(Packet::Open)
            .map_err(|_| DecodeError::InvalidOpen),
        // Like the reference parser, data after close/upgrade/noop is ignored.
        '1' => Ok(Packet::Close),
        '2' => Ok(Packet::Ping(optional())),
        '3' => Ok(Packet::Pong(optional())),
        '4' => Ok(Packet::Message(EngineMessage::Text(ByteString::from(data)))),
        '5' => Ok(Packet::Upgrade),
        '6' => Ok(Packet::Noop),
        other => Err(DecodeError::UnknownType(other)),
    }
}

/// Decode a binary WebSocket frame: always a binary message, since binary
/// frames carry no type prefix.
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{decode_binary, EngineMessage, Packet};
/// let packet = decode_binary(bytes::Bytes::from_static(&[1, 2, 3, 4]));
/// assert_eq!(packet, Packet::Message(EngineMessage::binary(vec![1u8, 2, 3, 4])));
/// ```
pub fn decode_binary(data: Bytes) -> Packet {
    Packet::Message(EngineMessage::Binary(data))
}

/// Append the text form of `packet` to `out`; a binary message is written
/// as `b` + base64 (the long-polling form).
pub fn encode_text_into(packet: &Packet, out: &mut String) {
    use base64::Engine as _;
    let (kind, data): (char, &str) = match packet {
        Packet::Open(open) => {
            out.push('0');
            // Serialising a struct of strings and integers cannot fail.
            if let Ok(json) = serde_json::to_string(open) {
                out.push_str(&json);
            }
            return;
        }
        Packet::Close => ('1', ""),
        Packet::Ping(data) => ('2', data.as_deref().unwrap_or("")),
        Packet::Pong(data) => ('3', data.as_deref().unwrap_or("")),
        Packet::Message(EngineMessage::Text(text)) => ('4', text),
        Packet::Message(EngineMessage::Encoded(encoded)) => {
            out.push_str(encoded.packet());
            return;
        }
        Packet::Message(EngineMessage::Binary(data)) => {
            out.push('b');
            base64::engine::general_purpose::STANDARD.encode_string(data, out);
            return;
        }
        Packet::Upgrade => ('5', ""),
        Packet::Noop => ('6', ""),
    };
    out.push(kind);
    out.push_str(data);
}

/// Encode `packet` as text (binary messages as `b` + base64).
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{encode_text, EngineMessage, Packet};
/// assert_eq!(encode_text(&Packet::Pong(Some("probe".into()))), "3probe");
/// assert_eq!(encode_text(&Packet::Message(EngineMessage::binary(vec![1u8, 2, 3, 4]))), "bAQIDBA==");
/// ```
pub fn encode_text(packet: &Packet) -> String {
    let mut out = String::new();
    encode_text_into(packet, &mut out);
    out
}

/// Encode `packet` as one WebSocket frame: binary messages as a binary
/// frame without prefix, everything else as a text frame.
///
/// # Examples
///
/// ```
/// use bus_web::engineio::{encode_frame, EngineMessage, Frame, Packet};
/// let frame = encode_frame(&Packet::Message(EngineMessage::text("hi")));
/// assert_eq!(frame, Frame::Text("4hi".into()));
/// ```
pub fn encode_frame(packet: &Packet) -> Frame {
    match packet {
        Packet::Message(EngineMessage::Binary(data)) => Frame::Binary(data.clone()),
        Packet::Message(EngineMessage::Encoded(encoded)) => Frame::Text(encoded.packet().clone()),
        other => Frame::Text(ByteString::from(encode_text(other))),
    }
}

/// Encode `packet` as one WebSocket frame, as [`encode_frame`] does, but
/// moving shared message bytes into the frame instead of cloning them (one
/// reference count update less per frame on a broadcast's shared buffer).
pub(crate) fn into_frame(packet: Packet) -> Frame {
    match packet {
        Packet::Message(EngineMessage::Binary(data)) => Frame::Binary(data),
        Packet::Message(EngineMessage::Encoded(encoded)) => Frame::Text(encoded.0),
        other => encode_frame(&other),
    }
}

/// An estimate of the encoded size of `packet`, used to bound buffers.
pub(crate) fn encoded_len(packet: &Packet) -> usize {
    match packet {
        Packet::Message(EngineMessage::Binary(data)) => 1 + data.len().div_ceil(3) * 4,
        Packet::Message(EngineMessage::Text(text)) => 1 + text.len(),
        Packet::Message(EngineMessage::Encoded(encoded)) => encoded.packet().len(),
        Packet::Ping(Some(data)) | Packet::Pong(Some(data)) => 1 + data.len(),
        Packet::Open(_) => 160,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_type_of_the_spec_decodes() {
        assert_eq!(decode_text("1"), Ok(Packet::Close));
        assert_eq!(decode_text("2"), Ok(Packet::Ping(None)));
        assert_eq!(decode_text("3"), Ok(Packet::Pong(None)));
        assert_eq!(
            decode_text("3probe"),
            Ok(Packet::Pong(Some("probe".into())))
        );
        assert_eq!(
            decode_text("4HelloWorld"),
            Ok(Packet::Message(EngineMessage::text("HelloWorld")))
        );
        assert_eq!(
            decode_text("4"),
            Ok(Packet::Message(EngineMessage::text("")))
        );
        assert_eq!(decode_text("5"), Ok(Packet::Upgrade));
        assert_eq!(decode_text("6"), Ok(Packet::Noop));
    }

    #[test]
    fn the_spec_handshake_round_trips() {
        let text = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;
        let packet = decode_text(text);
        let Ok(Packet::Open(open)) = &packet else {
            panic!("not an open packet: {packet:?}");
        };
        assert_eq!(open.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(open.upgrades, vec!["websocket".to_owned()]);
        assert_eq!(open.ping_interval, 25000);
        assert_eq!(open.ping_timeout, 5000);
        assert_eq!(open.max_payload, 1_000_000);
        assert_eq!(encode_text(&Packet::Open(open.clone())), text);
    }

    #[test]
    fn malformed_packets_are_typed_errors() {
        assert_eq!(decode_text(""), Err(DecodeError::Empty));
        assert_eq!(decode_text("abc"), Err(DecodeError::UnknownType('a')));
        assert_eq!(decode_text("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(decode_text("é4"), Err(DecodeError::UnknownType('é')));
        assert_eq!(decode_text("0{not json"), Err(DecodeError::InvalidOpen));
    }

    #[test]
    fn multibyte_text_survives_a_round_trip() {
        let packet = Packet::Message(EngineMessage::text("€€й"));
        assert_eq!(decode_text(&encode_text(&packet)), Ok(packet));
    }

    #[test]
    fn a_pre_encoded_message_is_written_without_a_copy() {
        let encoded = EncodedText::new(r#"2["e",1]"#);
        let packet = Packet::Message(EngineMessage::Encoded(encoded.clone()));
        let Frame::Text(frame) = encode_frame(&packet) else {
            panic!("a text message is a text frame");
        };
        assert_eq!(frame, r#"42["e",1]"#);
        assert_eq!(frame.as_ptr(), encoded.packet().as_ptr());
        // Same packet as the plain text message, in both encodings.
        let plain = Packet::Message(EngineMessage::text(r#"2["e",1]"#));
        assert_eq!(encode_text(&packet), encode_text(&plain));
        assert_eq!(encode_frame(&packet), encode_frame(&plain));
        assert_eq!(into_frame(packet.clone()), encode_frame(&plain));
        assert_eq!(encoded_len(&packet), encoded_len(&plain));
        assert_eq!(EngineMessage::Encoded(encoded).len(), 8);
    }

    #[test]
    fn binary_messages_become_unprefixed_binary_frames() {
        let packet = decode_binary(Bytes::from_static(&[0, 1, 2, 3, 4, 5]));
        assert_eq!(
            encode_frame(&packet),
            Frame::Binary(Bytes::from_static(&[0, 1, 2, 3, 4, 5]))
        );
        assert_eq!(encode_frame(&Packet::Ping(None)), Frame::Text("2".into()));
    }
}
