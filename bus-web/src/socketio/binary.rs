//! Binary attachments: reassembly of incoming binary packets and placeholder
//! extraction for outgoing ones. Pure: no sockets, no transports.
//!
//! A `BINARY_EVENT`/`BINARY_ACK` travels as one text message (the header,
//! whose JSON holds `{"_placeholder":true,"num":i}` where each binary value
//! was) followed by its attachments as binary messages, in `num` order.
//! [`Reassembler`] turns that sequence back into one [`Decoded`] packet when
//! the last attachment arrives; [`Placeholders`] builds the arguments of an
//! outgoing packet, replacing binary values by placeholders in order.

use bytes::Bytes;
use serde_json::Value;

use super::packet::{DecodeError, Packet};

/// A complete packet with its binary attachments (empty for text packets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The packet (for binary types, its header).
    pub packet: Packet,
    /// The attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
}

/// Per-connection decoder state: feeds Engine.IO messages in, yields whole
/// Socket.IO packets out once their attachments have arrived.
///
/// # Examples
///
/// ```
/// use bus_web::socketio::{PacketData, Reassembler};
/// use bytes::Bytes;
///
/// let mut r = Reassembler::default();
/// let header = r#"51-["baz",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(r.feed_text(header)?, None);
/// let done = r.feed_binary(Bytes::from_static(&[1, 2, 3, 4]))?.expect("last attachment");
/// assert!(matches!(done.packet.data, PacketData::BinaryEvent { .. }));
/// assert_eq!(done.attachments, vec![Bytes::from_static(&[1, 2, 3, 4])]);
/// # Ok::<(), bus_web::socketio::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct Reassembler {
    /// Boxed: most sessions never send a binary packet, and this sits in
    /// every session's state.
    pending: Option<Box<Pending>>,
    max_bytes: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::with_limit(Self::DEFAULT_MAX_BYTES)
    }
}

#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
    buffers: Vec<Bytes>,
    bytes: usize,
}

impl Reassembler {
    /// The default bound on the attachments of one packet, in bytes (10 MB).
    pub const DEFAULT_MAX_BYTES: usize = 10_000_000;

    /// A reassembler that refuses a packet whose attachments add up to more
    /// than `max_bytes` ([`DecodeError::AttachmentsTooLarge`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::{DecodeError, Reassembler};
    /// use bytes::Bytes;
    ///
    /// let mut r = Reassembler::with_limit(4);
    /// r.feed_text(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)?;
    /// r.feed_binary(Bytes::from_static(b"abc"))?;
    /// let err = r.feed_binary(Bytes::from_static(b"de"));
    /// assert_eq!(err, Err(DecodeError::AttachmentsTooLarge { max: 4 }));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn with_limit(max_bytes: usize) -> Self {
        Reassembler {
            pending: None,
            max_bytes,
        }
    }

    /// Feeds one text message. Returns the packet when it is complete (text
    /// packets and binary packets announcing no attachment), `None` when
    /// attachments are now expected.
    ///
    /// # Errors
    ///
    /// The [`DecodeError`] of [`Packet::decode`],
    /// [`DecodeError::UnexpectedText`] while attachments are awaited, and
    /// [`DecodeError::InvalidPlaceholder`] for a packet announcing no
    /// attachment yet holding placeholders.
    pub fn feed_text(&mut self, text: &str) -> Result<Option<Decoded>, DecodeError> {
        if let Some(p) = &self.pending {
            return Err(DecodeError::UnexpectedText {
                missing: p.expected - p.buffers.len(),
            });
        }
        let packet = Packet::decode(text)?;
        let expected = packet.data.attachments();
        if expected == 0 {
            check_placeholders(&packet, 0)?;
            return Ok(Some(Decoded {
                packet,
                attachments: Vec::new(),
            }));
        }
        self.pending = Some(Box::new(Pending {
            packet,
            expected,
            buffers: Vec::with_capacity(expected),
            bytes: 0,
        }));
        Ok(None)
    }

    /// Feeds one binary message (an attachment). Returns the packet when this
    /// was its last attachment.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedBinary`] when no binary packet is waiting,
    /// [`DecodeError::InvalidPlaceholder`] when the completed packet's
    /// placeholders do not match its attachments,
    /// [`DecodeError::AttachmentsTooLarge`] past the byte limit.
    pub fn feed_binary(&mut self, data: Bytes) -> Result<Option<Decoded>, DecodeError> {
        let Some(pending) = self.pending.as_mut() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        pending.bytes = pending.bytes.saturating_add(data.len());
        if pending.bytes > self.max_bytes {
            self.pending = None;
            return Err(DecodeError::AttachmentsTooLarge {
                max: self.max_bytes,
            });
        }
        pending.buffers.push(data);
        if pending.buffers.len() < pending.expected {
            return Ok(None);
        }
        let Some(pending) = self.pending.take() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        let Pending {
            packet, buffers, ..
        } = *pending;
        check_placeholders(&packet, buffers.len())?;
        Ok(Some(Decoded {
            packet,
            attachments: buffers,
        }))
    }

    /// Whether a binary packet is waiting for attachments.
    ///
    /// # Examples
    ///
    /// ```
    /// use bus_web::socketio::Reassembler;
    /// let mut r = Reassembler::default();
    /// r.feed_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)?;
    /// assert!(r.is_waiting());
    /// # Ok::<(), bus_web::socketio::DecodeError>(())
    /// ```
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }
}

/// Checks every placeholder in a binary packet's arguments names one of its
/// `count` attachments (as the reference parser does when reconstructing).
fn check_placeholders(packet: &Packet, count: usize) -> Result<(), DecodeError> {
    use super::packet::PacketData;
    let args = match &packet.data {
        PacketData::BinaryEvent { args, .. } | PacketData::BinaryAck { args, .. } => args,
        _ => return Ok(()),
    };
    // Cheap pre-check: most payloads have no placeholder at all.
    if !args.contains("_placeholder") {
        return Ok(());
    }
    let value: Value =
        serde_json::from_str(args).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => {
                if map.get("_placeholder") == Some(&Value::Bool(true)) {
                    let num = map.get("num").and_then(Value::as_i64).unwrap_or(-1);
                    if num < 0 || num as u64 >= count as u64 {
                        return Err(DecodeError::InvalidPlaceholder { num, count });
                    }
                } else {
                    stack.extend(map.values());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One argument of an outgoing event: JSON or binary.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A JSON value.
    Json(Value),
    /// Binary data, sent as an attachment.
    Binary(Bytes),
}

/// Builds the raw argument array of an outgoing packet, extracting binary
/// arguments in order: each becomes `{"_placeholder":true,"num":i}` and
/// attachment `i`.
///
/// # Examples
///
/// ```
/// use bus_web::socketio::{Arg, Placeholders};
/// use bytes::Bytes;
///
/// let (args, attachments) = Placeholders::extract(vec![
///     Arg::Json(serde_json::json!("x")),
///     Arg::Binary(Bytes::from_static(b"\x01\x02")),
/// ]);
/// assert_eq!(args, r#"["x",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(attachments, vec![Bytes::from_static(b"\x01\x02")]);
/// ```
#[derive(Debug)]
pub struct Placeholders;

impl Placeholders {
    /// Returns the raw JSON array text and the attachments, in order.
    pub fn extract(args: Vec<Arg>) -> (String, Vec<Bytes>) {
        let mut attachments = Vec::new();
        let values: Vec<Value> = args
            .into_iter()
            .map(|arg| match arg {
                Arg::Json(v) => v,
                Arg::Binary(b) => {
                    let num = attachments.len();
                    attachments.push(b);
                    serde_json::json!({ "_placeholder": true, "num": num })
                }
            })
            .collect();
        let text = serde_json::to_string(&values).unwrap_or_else(|_| "[]".to_owned());
        (text, attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::PacketData;
    use super::*;

    fn b1() -> Bytes {
        Bytes::from_static(&[1, 2, 3])
    }

    fn b2() -> Bytes {
        Bytes::from_static(&[4, 5, 6])
    }

    #[test]
    fn a_binary_event_completes_when_its_last_attachment_arrives() {
        let mut r = Reassembler::default();
        let header =
            r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(r.feed_text(header), Ok(None));
        assert_eq!(r.feed_binary(b1()), Ok(None));
        let done = r.feed_binary(b2()).ok().flatten();
        let done = done.as_ref().map(|d| (&d.packet.data, &d.attachments));
        assert_eq!(
            done,
            Some((
                &PacketData::BinaryEvent {
                    event: "message".into(),
                    args: r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.into(),
                    id: None,
                    attachments: 2
                },
                &vec![b1(), b2()]
            ))
        );
        assert!(!r.is_waiting());
    }

    #[test]
    fn a_binary_ack_with_an_id_reassembles() {
        let mut r = Reassembler::default();
        let header = r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(r.feed_text(header), Ok(None));
        assert_eq!(r.feed_binary(b1()), Ok(None));
        let done = r.feed_binary(b2());
        assert!(matches!(
            done,
            Ok(Some(Decoded {
                packet: Packet {
                    data: PacketData::BinaryAck { id: 789, .. },
                    ..
                },
                ..
            }))
        ));
    }

    #[test]
    fn text_packets_pass_straight_through() {
        let mut r = Reassembler::default();
        let done = r.feed_text(r#"2["a"]"#);
        assert!(
            matches!(done, Ok(Some(Decoded { ref attachments, .. })) if attachments.is_empty())
        );
    }

    #[test]
    fn a_text_packet_while_attachments_are_awaited_is_an_error() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.feed_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        assert_eq!(
            r.feed_text(r#"2["a"]"#),
            Err(DecodeError::UnexpectedText { missing: 1 })
        );
    }

    #[test]
    fn an_unannounced_attachment_is_an_error() {
        let mut r = Reassembler::default();
        assert_eq!(r.feed_binary(b1()), Err(DecodeError::UnexpectedBinary));
    }

    #[test]
    fn placeholders_must_name_an_attachment() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.feed_text(r#"51-["a",{"_placeholder":true,"num":1}]"#),
            Ok(None)
        );
        assert_eq!(
            r.feed_binary(b1()),
            Err(DecodeError::InvalidPlaceholder { num: 1, count: 1 })
        );
        let mut r = Reassembler::default();
        assert_eq!(
            r.feed_text(r#"51-["a",{"x":[{"_placeholder":true,"num":"0"}]}]"#),
            Ok(None)
        );
        assert_eq!(
            r.feed_binary(b1()),
            Err(DecodeError::InvalidPlaceholder { num: -1, count: 1 })
        );
        let mut r = Reassembler::default();
        assert_eq!(
            r.feed_text(r#"50-["a",{"_placeholder":true,"num":0}]"#),
            Err(DecodeError::InvalidPlaceholder { num: 0, count: 0 })
        );
    }

    #[test]
    fn extraction_numbers_binary_arguments_in_order() {
        let (args, attachments) = Placeholders::extract(vec![
            Arg::Binary(b1()),
            Arg::Json(serde_json::json!({"k": [1]})),
            Arg::Binary(b2()),
        ]);
        assert_eq!(
            args,
            r#"[{"_placeholder":true,"num":0},{"k":[1]},{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(attachments, vec![b1(), b2()]);
    }
}
