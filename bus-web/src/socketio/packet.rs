//! Socket.IO v5 packets and their text encoding: a pure codec.
//!
//! This module owns the mapping between one Engine.IO message's text and a
//! [`Packet`]. It knows nothing of sockets, actors or transports, and it does
//! not collect binary attachments: a `BINARY_EVENT`/`BINARY_ACK` header
//! decodes here with its attachment count, and
//! [`Reassembler`](super::Reassembler) waits for the attachments.
//!
//! Format (one Engine.IO message):
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//! ```
//!
//! The namespace is written only when it is not `/`; when decoding, it runs
//! from a leading `/` to the first `,` (or the end), so `40/custom` and
//! `40/custom,` both name `/custom`.

use std::fmt::Write as _;

use super::json::{self, Kind};

/// The most attachments a binary packet may announce; a header announcing
/// more is rejected with [`DecodeError::TooManyAttachments`].
pub const MAX_ATTACHMENTS: usize = 1024;

/// Event names a client may not emit, because Socket.IO gives them a special
/// meaning on the receiving side.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// One Socket.IO packet: the namespace it belongs to and what it carries.
///
/// JSON payloads are kept as their raw text (validated when decoded), so
/// arguments are forwarded byte-for-byte.
///
/// # Examples
///
/// ```
/// use bus_web::socketio::{Packet, PacketData};
///
/// let packet = Packet::decode(r#"2/admin,12["bar",1]"#)?;
/// assert_eq!(packet.ns, "/admin");
/// assert_eq!(
///     packet.data,
///     PacketData::Event { event: "bar".into(), args: "[1]".into(), id: Some(12) }
/// );
/// assert_eq!(packet.encode(), r#"2/admin,12["bar",1]"#);
/// # Ok::<(), bus_web::socketio::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The namespace, starting with `/`; the main namespace is `/`.
    pub ns: String,
    /// What the packet carries.
    pub data: PacketData,
}

/// The packet types of the Socket.IO v5 protocol and their payloads.
///
/// | id | type            | payload                                  |
/// |----|-----------------|------------------------------------------|
/// | 0  | `CONNECT`       | client: auth object (optional); server: `{"sid": ...}` |
/// | 1  | `DISCONNECT`    | none                                     |
/// | 2  | `EVENT`         | `[name, ...args]`, optional ack id       |
/// | 3  | `ACK`           | `[...args]`, ack id                      |
/// | 4  | `CONNECT_ERROR` | `{"message": ..., "data": ...}` or a string |
/// | 5  | `BINARY_EVENT`  | as `EVENT`, with attachment placeholders |
/// | 6  | `BINARY_ACK`    | as `ACK`, with attachment placeholders   |
///
/// `args` fields hold the raw JSON array text of the arguments (without the
/// event name); binary arguments appear in them as
/// `{"_placeholder":true,"num":i}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketData {
    /// `0`: join a namespace (client, with its raw JSON auth object if any)
    /// or accept the join (server, with `{"sid": ...}`).
    Connect(Option<String>),
    /// `1`: leave a namespace (client) or be removed from it (server).
    Disconnect,
    /// `2`: an event with its arguments; `id` asks for an acknowledgement.
    Event {
        /// The event name (the array's first element).
        event: String,
        /// Raw JSON array text of the arguments after the name.
        args: String,
        /// The acknowledgement id, when the sender waits for an `ACK`.
        id: Option<u64>,
    },
    /// `3`: the answer to an event that carried ack id `id`.
    Ack {
        /// Raw JSON array text of the answer's arguments.
        args: String,
        /// The acknowledgement id being answered.
        id: u64,
    },
    /// `4`: the server refused the join; raw JSON object (or string) text.
    ConnectError(String),
    /// `5`: an `EVENT` followed by `attachments` binary messages.
    BinaryEvent {
        /// The event name.
        event: String,
        /// Raw JSON array text of the arguments, with placeholders.
        args: String,
        /// The acknowledgement id, when the sender waits for an `ACK`.
        id: Option<u64>,
        /// How many binary attachments follow this header.
        attachments: usize,
    },
    /// `6`: an `ACK` followed by `attachments` binary messages.
    BinaryAck {
        /// Raw JSON array text of the answer's arguments, with placeholders.
        args: String,
        /// The acknowledgement id being answered.
        id: u64,
        /// How many binary attachments follow this header.
        attachments: usize,
    },
}

impl PacketData {
    /// The protocol id of this packet type (see the table on [`PacketData`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::PacketData;
    /// assert_eq!(PacketData::Disconnect.type_id(), 1);
    /// ```
    pub fn type_id(&self) -> u8 {
        match self {
            PacketData::Connect(_) => 0,
            PacketData::Disconnect => 1,
            PacketData::Event { .. } => 2,
            PacketData::Ack { .. } => 3,
            PacketData::ConnectError(_) => 4,
            PacketData::BinaryEvent { .. } => 5,
            PacketData::BinaryAck { .. } => 6,
        }
    }

    /// How many binary attachments follow this packet (0 for non-binary types).
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::PacketData;
    /// let data = PacketData::BinaryAck { args: "[]".into(), id: 1, attachments: 2 };
    /// assert_eq!(data.attachments(), 2);
    /// ```
    pub fn attachments(&self) -> usize {
        match self {
            PacketData::BinaryEvent { attachments, .. }
            | PacketData::BinaryAck { attachments, .. } => *attachments,
            _ => 0,
        }
    }
}

/// Why a Socket.IO packet could not be decoded. Any of these closes the
/// connection with the reason `parse error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message was empty.
    #[error("empty packet: send at least a packet type digit")]
    Empty,
    /// The first character is not a packet type `0`..=`6`.
    #[error("unknown packet type {0:?}: use a digit from 0 to 6")]
    UnknownType(char),
    /// A binary packet's attachment count is missing or not a number.
    #[error("illegal attachments: binary packets start with `<count>-`")]
    IllegalAttachments,
    /// A binary packet announces more attachments than [`MAX_ATTACHMENTS`].
    #[error("{count} attachments announced, at most {max} are accepted: split the payload")]
    TooManyAttachments {
        /// How many the header announced.
        count: u64,
        /// The limit, [`MAX_ATTACHMENTS`].
        max: usize,
    },
    /// The ack id does not fit in 64 bits.
    #[error("ack id out of range: use an id below 2^64")]
    AckIdOutOfRange,
    /// An `ACK`/`BINARY_ACK` without an ack id.
    #[error("ack packet without an ack id: write the id before the payload")]
    MissingAckId,
    /// The payload is not valid JSON (or is followed by trailing text).
    #[error("invalid JSON payload ({0}): send one JSON value after the header")]
    InvalidJson(String),
    /// The payload's JSON shape is not allowed for this packet type.
    #[error("invalid payload for packet type {packet_type}: expected {expected}")]
    InvalidPayload {
        /// The packet type id.
        packet_type: u8,
        /// What the protocol expects there.
        expected: &'static str,
    },
    /// An event used one of [`RESERVED_EVENTS`] as its name.
    #[error("event name {0:?} is reserved: pick another name")]
    ReservedEvent(String),
    /// A placeholder's `num` does not name one of the packet's attachments.
    #[error(
        "illegal attachments: placeholder {num} does not match any of the {count} attachments"
    )]
    InvalidPlaceholder {
        /// The placeholder number found (-1 when not a non-negative integer).
        num: i64,
        /// How many attachments the packet announced.
        count: usize,
    },
    /// A text packet arrived while the attachments of a binary packet were
    /// still expected.
    #[error("got a text packet while waiting for {missing} binary attachments: send the attachments first")]
    UnexpectedText {
        /// How many attachments were still missing.
        missing: usize,
    },
    /// A binary message arrived when no binary packet announced one.
    #[error("got a binary attachment that no binary packet announced: send its header first")]
    UnexpectedBinary,
    /// The attachments of one binary packet add up to more than the
    /// reassembler's limit (`SocketIoConfig::max_attachment_bytes`).
    #[error("binary attachments exceed {max} bytes in one packet: send less binary data per event or raise max_attachment_bytes")]
    AttachmentsTooLarge {
        /// The limit, in bytes.
        max: usize,
    },
}

impl Packet {
    /// A packet for namespace `ns`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::{Packet, PacketData};
    /// assert_eq!(Packet::new("/", PacketData::Connect(None)).encode(), "0");
    /// ```
    pub fn new(ns: impl Into<String>, data: PacketData) -> Self {
        Packet {
            ns: ns.into(),
            data,
        }
    }

    /// Decodes the text of one Engine.IO message into a packet.
    ///
    /// Binary packets decode to their header (with the attachment count);
    /// hand them to a [`Reassembler`](super::Reassembler) to collect the
    /// attachments. Never panics, whatever the input.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::{Packet, PacketData};
    /// let p = Packet::decode(r#"0/custom,{"token":"abc"}"#)?;
    /// assert_eq!(p, Packet::new("/custom", PacketData::Connect(Some(r#"{"token":"abc"}"#.into()))));
    /// # Ok::<(), bus_web::socketio::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the first thing wrong with the text.
    pub fn decode(text: &str) -> Result<Packet, DecodeError> {
        decode(text)
    }

    /// Encodes the packet as the text of one Engine.IO message (for binary
    /// types, the header; the attachments follow as binary messages).
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::{Packet, PacketData};
    /// let p = Packet::new("/", PacketData::Ack { args: r#"["bar"]"#.into(), id: 12 });
    /// assert_eq!(p.encode(), r#"312["bar"]"#);
    /// ```
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of [`Packet::encode`] to `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::{Packet, PacketData};
    /// let mut out = String::from("4");
    /// Packet::new("/", PacketData::Disconnect).encode_into(&mut out);
    /// assert_eq!(out, "41");
    /// ```
    pub fn encode_into(&self, out: &mut String) {
        encode_header(
            out,
            self.data.type_id(),
            self.data.attachments(),
            &self.ns,
            ack_id(&self.data),
        );
        match &self.data {
            PacketData::Connect(Some(p)) | PacketData::ConnectError(p) => out.push_str(p),
            PacketData::Connect(None) | PacketData::Disconnect => {}
            PacketData::Event { event, args, .. } | PacketData::BinaryEvent { event, args, .. } => {
                push_event_array(out, event, args)
            }
            PacketData::Ack { args, .. } | PacketData::BinaryAck { args, .. } => {
                out.push('[');
                out.push_str(json::array_inner(args));
                out.push(']');
            }
        }
    }
}

/// Appends `<type>[<n>-][<ns>,][<id>]` to `out`.
pub(crate) fn encode_header(
    out: &mut String,
    type_id: u8,
    attachments: usize,
    ns: &str,
    id: Option<u64>,
) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{type_id}");
    if type_id == 5 || type_id == 6 {
        let _ = write!(out, "{attachments}-");
    }
    if ns != "/" && !ns.is_empty() {
        out.push_str(ns);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// Appends `["<event>",<args...>]` to `out`.
pub(crate) fn push_event_array(out: &mut String, event: &str, args: &str) {
    out.push('[');
    match serde_json::to_string(event) {
        Ok(name) => out.push_str(&name),
        Err(_) => out.push_str("\"\""),
    }
    let inner = json::array_inner(args);
    if !inner.is_empty() {
        out.push(',');
        out.push_str(inner);
    }
    out.push(']');
}

fn ack_id(data: &PacketData) -> Option<u64> {
    match data {
        PacketData::Event { id, .. } | PacketData::BinaryEvent { id, .. } => *id,
        PacketData::Ack { id, .. } | PacketData::BinaryAck { id, .. } => Some(*id),
        _ => None,
    }
}

fn decode(text: &str) -> Result<Packet, DecodeError> {
    let mut chars = text.char_indices();
    let (_, first) = chars.next().ok_or(DecodeError::Empty)?;
    let type_id = match first {
        '0'..='6' => first as u8 - b'0',
        other => return Err(DecodeError::UnknownType(other)),
    };
    let mut rest = &text[1..];

    let mut attachments = 0usize;
    if type_id == 5 || type_id == 6 {
        let dash = rest.find('-').ok_or(DecodeError::IllegalAttachments)?;
        let digits = &rest[..dash];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::IllegalAttachments);
        }
        let count: u64 = digits.parse().unwrap_or(u64::MAX);
        if count > MAX_ATTACHMENTS as u64 {
            return Err(DecodeError::TooManyAttachments {
                count,
                max: MAX_ATTACHMENTS,
            });
        }
        attachments = count as usize;
        rest = &rest[dash + 1..];
    }

    let mut ns = "/";
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(comma) => {
                ns = &rest[..comma];
                rest = &rest[comma + 1..];
            }
            None => {
                ns = rest;
                rest = "";
            }
        }
    }

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        let id = rest[..digits]
            .parse::<u64>()
            .map_err(|_| DecodeError::AckIdOutOfRange)?;
        rest = &rest[digits..];
        Some(id)
    } else {
        None
    };

    let payload = if rest.is_empty() {
        None
    } else {
        let kind = json::validate(rest).map_err(DecodeError::InvalidJson)?;
        Some((rest, kind))
    };
    let invalid = |expected| DecodeError::InvalidPayload {
        packet_type: type_id,
        expected,
    };

    let data = match type_id {
        0 => match payload {
            None => PacketData::Connect(None),
            Some((p, Kind::Object)) => PacketData::Connect(Some(p.to_owned())),
            Some(_) => return Err(invalid("an object or nothing")),
        },
        1 => match payload {
            None => PacketData::Disconnect,
            Some(_) => return Err(invalid("no payload")),
        },
        4 => match payload {
            Some((p, Kind::Object | Kind::String)) => PacketData::ConnectError(p.to_owned()),
            _ => return Err(invalid("an object or a string")),
        },
        2 | 5 => {
            let Some((p, Kind::Array)) = payload else {
                return Err(invalid("an array starting with the event name"));
            };
            let (event, args) =
                split_event(p).ok_or_else(|| invalid("an array starting with the event name"))?;
            if RESERVED_EVENTS.contains(&event.as_str()) {
                return Err(DecodeError::ReservedEvent(event));
            }
            if type_id == 2 {
                PacketData::Event { event, args, id }
            } else {
                PacketData::BinaryEvent {
                    event,
                    args,
                    id,
                    attachments,
                }
            }
        }
        _ => {
            let Some((p, Kind::Array)) = payload else {
                return Err(invalid("an array"));
            };
            let id = id.ok_or(DecodeError::MissingAckId)?;
            let args = json::join(p, &json::split_array(p));
            if type_id == 3 {
                PacketData::Ack { args, id }
            } else {
                PacketData::BinaryAck {
                    args,
                    id,
                    attachments,
                }
            }
        }
    };
    Ok(Packet {
        ns: ns.to_owned(),
        data,
    })
}

/// Splits a validated JSON array into its event name and the raw array of
/// the remaining arguments. The name must be a string (or, as the reference
/// parser allows, a number, kept as its decimal text).
fn split_event(array: &str) -> Option<(String, String)> {
    let elements = json::split_array(array);
    let &(s, e) = elements.first()?;
    let first = array.get(s..e)?;
    let event = match first.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(first).ok()?,
        b'-' | b'0'..=b'9' => first.to_owned(),
        _ => return None,
    };
    Some((event, json::join(array, &elements[1..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ns: &str, event: &str, args: &str, id: Option<u64>) -> Packet {
        Packet::new(
            ns,
            PacketData::Event {
                event: event.into(),
                args: args.into(),
                id,
            },
        )
    }

    /// Every example of the protocol document's "Packet encoding" section,
    /// both ways.
    #[test]
    fn spec_examples_round_trip() {
        let cases = [
            ("0", Packet::new("/", PacketData::Connect(None))),
            (
                r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
                Packet::new(
                    "/admin",
                    PacketData::Connect(Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#.into())),
                ),
            ),
            (
                r#"4{"message":"Not authorized"}"#,
                Packet::new(
                    "/",
                    PacketData::ConnectError(r#"{"message":"Not authorized"}"#.into()),
                ),
            ),
            (r#"2["foo"]"#, event("/", "foo", "[]", None)),
            (r#"2/admin,["bar"]"#, event("/admin", "bar", "[]", None)),
            (
                r#"51-["baz",{"_placeholder":true,"num":0}]"#,
                Packet::new(
                    "/",
                    PacketData::BinaryEvent {
                        event: "baz".into(),
                        args: r#"[{"_placeholder":true,"num":0}]"#.into(),
                        id: None,
                        attachments: 1,
                    },
                ),
            ),
            (
                r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
                Packet::new(
                    "/admin",
                    PacketData::BinaryEvent {
                        event: "baz".into(),
                        args: r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
                            .into(),
                        id: None,
                        attachments: 2,
                    },
                ),
            ),
            (r#"212["foo"]"#, event("/", "foo", "[]", Some(12))),
            (
                r#"3/admin,13["bar"]"#,
                Packet::new(
                    "/admin",
                    PacketData::Ack {
                        args: r#"["bar"]"#.into(),
                        id: 13,
                    },
                ),
            ),
            (
                r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
                Packet::new(
                    "/",
                    PacketData::BinaryAck {
                        args: r#"["bar",{"_placeholder":true,"num":0}]"#.into(),
                        id: 15,
                        attachments: 1,
                    },
                ),
            ),
            ("1/admin,", Packet::new("/admin", PacketData::Disconnect)),
            ("1", Packet::new("/", PacketData::Disconnect)),
        ];
        for (text, packet) in cases {
            assert_eq!(decode(text).as_ref(), Ok(&packet), "decoding {text}");
            assert_eq!(packet.encode(), text, "encoding {packet:?}");
        }
    }

    #[test]
    fn a_namespace_without_trailing_comma_is_accepted() {
        assert_eq!(
            decode("0/custom"),
            Ok(Packet::new("/custom", PacketData::Connect(None)))
        );
        assert_eq!(
            decode("1/custom"),
            Ok(Packet::new("/custom", PacketData::Disconnect))
        );
        assert_eq!(decode("0/random").map(|p| p.ns), Ok("/random".to_owned()));
    }

    #[test]
    fn test_suite_frames_decode() {
        assert_eq!(
            decode(r#"2["message",1,"2",{"3":[true]}]"#),
            Ok(event("/", "message", r#"[1,"2",{"3":[true]}]"#, None))
        );
        assert_eq!(
            decode(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#),
            Ok(event(
                "/",
                "message-with-ack",
                r#"[1,"2",{"3":[false]}]"#,
                Some(456)
            ))
        );
        assert_eq!(
            decode(r#"0{"token":"123"}"#),
            Ok(Packet::new(
                "/",
                PacketData::Connect(Some(r#"{"token":"123"}"#.into()))
            ))
        );
    }

    #[test]
    fn the_test_suites_invalid_frames_are_rejected() {
        assert_eq!(decode("abc"), Err(DecodeError::UnknownType('a')));
        assert!(matches!(
            decode("2{}"),
            Err(DecodeError::InvalidPayload { packet_type: 2, .. })
        ));
        assert!(matches!(
            decode(r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    #[test]
    fn malformed_packets_get_typed_errors() {
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert_eq!(decode("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(decode("é"), Err(DecodeError::UnknownType('é')));
        assert_eq!(decode(r#"5["a"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(decode(r#"5x-["a"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(decode(r#"5-["a"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(
            decode(r#"599999999999999999999999-["a"]"#),
            Err(DecodeError::TooManyAttachments {
                count: u64::MAX,
                max: MAX_ATTACHMENTS
            })
        );
        assert_eq!(
            decode(r#"299999999999999999999999["a"]"#),
            Err(DecodeError::AckIdOutOfRange)
        );
        assert_eq!(decode(r#"3["a"]"#), Err(DecodeError::MissingAckId));
        assert!(matches!(
            decode("2[\"a\""),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            decode(r#"2["a"] x"#),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            decode("2"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("2[]"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("2[null]"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("0[1]"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("1{}"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("4"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert!(matches!(
            decode("31"),
            Err(DecodeError::InvalidPayload { .. })
        ));
        assert_eq!(
            decode(r#"2["disconnect"]"#),
            Err(DecodeError::ReservedEvent("disconnect".into()))
        );
    }

    #[test]
    fn event_names_are_unescaped_and_reescaped() {
        let p = decode(r#"2["a\"b\u00e9",1]"#);
        assert_eq!(p, Ok(event("/", "a\"bé", "[1]", None)));
        assert_eq!(event("/", "a\"b", "[1]", None).encode(), r#"2["a\"b",1]"#);
    }

    #[test]
    fn numeric_event_names_are_accepted_like_the_reference_parser() {
        assert_eq!(decode("2[1,2]"), Ok(event("/", "1", "[2]", None)));
    }

    #[test]
    fn arguments_keep_their_spelling() {
        let p = decode(r#"2["m",{"b":1,"a":2.50}]"#);
        assert_eq!(p, Ok(event("/", "m", r#"[{"b":1,"a":2.50}]"#, None)));
    }

    #[test]
    fn encoding_an_error_with_data_and_a_custom_namespace() {
        let p = Packet::new(
            "/random",
            PacketData::ConnectError(r#"{"message":"Invalid namespace"}"#.into()),
        );
        assert_eq!(p.encode(), r#"4/random,{"message":"Invalid namespace"}"#);
    }
}
