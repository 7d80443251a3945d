//! The bench protocol on the wire: Engine.IO v4 and Socket.IO v5 text frames.
//!
//! Only the handful of frames the load generator needs: the Engine.IO open
//! packet, ping/pong, the namespace CONNECT and its answer, the `publish`
//! event an emitter sends and the `deliver` event a room member receives.
//! Everything here is pure: no sockets, no clocks.
//!
//! The payload of `publish`/`deliver` is one JSON object whose keys are in
//! sorted order (so a server that re-serialises through a sorted map sends
//! the same text back): `{"e":EMITTER,"i":EVENT_ID,"p":"xx…","t":SENT_NANOS}`.
//! `p` pads the object to the requested payload size.

use serde::Deserialize;

/// The namespace every bench server serves.
pub const NAMESPACE: &str = "/bench";

/// The Engine.IO ping a server sends (`2`).
pub const PING: &str = "2";

/// The Engine.IO pong a client answers with (`3`).
pub const PONG: &str = "3";

/// What the first frame of an Engine.IO session says about the session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The Engine.IO session id.
    pub sid: String,
    /// How often the server pings, in milliseconds.
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds.
    pub ping_timeout: u64,
}

/// One text frame from the server, as far as the load generator cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame<'a> {
    /// Engine.IO OPEN (`0{...}`).
    Open(OpenPacket),
    /// Engine.IO PING (`2`): answer with [`PONG`].
    Ping,
    /// Engine.IO CLOSE (`1`).
    Close,
    /// Socket.IO CONNECT answer for the bench namespace (`40/bench,{"sid":..}`).
    Connected,
    /// Socket.IO CONNECT_ERROR for the bench namespace, with the server's data.
    ConnectError(&'a str),
    /// Socket.IO DISCONNECT for the bench namespace.
    Disconnected,
    /// A `deliver` event for the bench namespace, with its payload stamp.
    Deliver(Stamp),
    /// Anything else (other events, other namespaces, noop).
    Other,
}

/// The bookkeeping the load generator embeds in every payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Stamp {
    /// Index of the emitter that sent the event.
    #[serde(rename = "e")]
    pub emitter: u32,
    /// Event id, unique within one run.
    #[serde(rename = "i")]
    pub id: u64,
    /// Send time in nanoseconds since the run's epoch.
    #[serde(rename = "t")]
    pub sent_nanos: u64,
}

/// Why a frame from the server could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The Engine.IO open packet was not valid JSON with `sid`, `pingInterval`, `pingTimeout`.
    #[error("the engine.io open packet is malformed ({0}); is the target a socket.io v5 server?")]
    BadOpen(String),
    /// A `deliver` event did not carry a payload made by this load generator.
    #[error("a deliver event carries a payload this load generator did not make; is another client publishing to the bench room?")]
    BadDeliver,
}

/// The path and query a WebSocket-only Engine.IO v4 client connects to.
pub const ENGINE_IO_QUERY: &str = "?EIO=4&transport=websocket";

/// The Socket.IO CONNECT frame for the bench namespace, with optional auth JSON.
///
/// # Examples
///
/// ```
/// use benches::loadgen::protocol::connect_frame;
/// assert_eq!(connect_frame(None), "40/bench,");
/// assert_eq!(connect_frame(Some(r#"{"emitter":true}"#)), r#"40/bench,{"emitter":true}"#);
/// ```
pub fn connect_frame(auth: Option<&str>) -> String {
    format!("40{NAMESPACE},{}", auth.unwrap_or(""))
}

/// The auth an emitter connects with: it keeps the emitter out of the room.
pub const EMITTER_AUTH: &str = r#"{"emitter":true}"#;

/// Encodes a `publish` event whose payload is padded to `payload_bytes` bytes of JSON.
///
/// The payload is never shorter than its bookkeeping fields
/// (about 40 bytes); past that it is exactly `payload_bytes` long.
///
/// # Examples
///
/// ```
/// use benches::loadgen::protocol::{decode, publish_frame, ServerFrame, Stamp};
/// let frame = publish_frame(Stamp { emitter: 1, id: 7, sent_nanos: 42 }, 100);
/// assert!(frame.starts_with(r#"42/bench,["publish",{"e":1,"i":7,"p":""#));
/// // What the server sends back is the same payload under the `deliver` name.
/// let back = frame.replacen("publish", "deliver", 1);
/// assert_eq!(
///     decode(&back).unwrap(),
///     ServerFrame::Deliver(Stamp { emitter: 1, id: 7, sent_nanos: 42 })
/// );
/// ```
pub fn publish_frame(stamp: Stamp, payload_bytes: usize) -> String {
    let head = format!(r#"{{"e":{},"i":{},"p":""#, stamp.emitter, stamp.id);
    let tail = format!(r#"","t":{}}}"#, stamp.sent_nanos);
    let pad = payload_bytes.saturating_sub(head.len() + tail.len());
    let mut frame = String::with_capacity(32 + head.len() + pad + tail.len());
    frame.push_str("42");
    frame.push_str(NAMESPACE);
    frame.push_str(r#",["publish","#);
    frame.push_str(&head);
    frame.extend(std::iter::repeat_n('x', pad));
    frame.push_str(&tail);
    frame.push(']');
    frame
}

/// The JSON payload length that [`publish_frame`] produces for `payload_bytes`.
pub fn payload_len(stamp: Stamp, payload_bytes: usize) -> usize {
    let frame = publish_frame(stamp, payload_bytes);
    frame.len() - format!(r#"42{NAMESPACE},["publish","#).len() - 1
}

/// Decodes one text frame from the server.
///
/// # Errors
///
/// [`FrameError::BadOpen`] for an open packet that is not Engine.IO v4, and
/// [`FrameError::BadDeliver`] for a `deliver` event without a stamp.
pub fn decode(text: &str) -> Result<ServerFrame<'_>, FrameError> {
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => serde_json::from_str(&text[1..])
            .map(ServerFrame::Open)
            .map_err(|e| FrameError::BadOpen(e.to_string())),
        Some('1') => Ok(ServerFrame::Close),
        Some('2') => Ok(ServerFrame::Ping),
        Some('4') => decode_socketio(&text[1..]),
        _ => Ok(ServerFrame::Other),
    }
}

fn decode_socketio(text: &str) -> Result<ServerFrame<'_>, FrameError> {
    let Some(kind) = text.chars().next() else {
        return Ok(ServerFrame::Other);
    };
    let rest = &text[1..];
    // Our namespace only; `/bench` followed by `,` (or the end for a bare DISCONNECT).
    let Some(after_ns) = rest.strip_prefix(NAMESPACE) else {
        return Ok(ServerFrame::Other);
    };
    let data = match after_ns.strip_prefix(',') {
        Some(data) => data,
        None if after_ns.is_empty() => "",
        None => return Ok(ServerFrame::Other),
    };
    match kind {
        '0' => Ok(ServerFrame::Connected),
        '1' => Ok(ServerFrame::Disconnected),
        '4' => Ok(ServerFrame::ConnectError(data)),
        '2' => decode_event(data),
        _ => Ok(ServerFrame::Other),
    }
}

fn decode_event(data: &str) -> Result<ServerFrame<'_>, FrameError> {
    // An optional ack id would come before the array; deliver has none.
    let Some(args) = data.strip_prefix(r#"["deliver","#) else {
        return Ok(ServerFrame::Other);
    };
    let payload = args.strip_suffix(']').ok_or(FrameError::BadDeliver)?;
    if let Some(stamp) = fast_stamp(payload) {
        return Ok(ServerFrame::Deliver(stamp));
    }
    // A server may re-serialise with other spacing: fall back to a real parser.
    serde_json::from_str::<Stamp>(payload)
        .map(ServerFrame::Deliver)
        .map_err(|_| FrameError::BadDeliver)
}

/// Reads the three numbers of a stamp without a JSON parser (the hot path),
/// for the layout [`publish_frame`] writes: `{"e":E,"i":I,"p":"…","t":T}`.
/// `e` and `i` are read from the front and `t` from the back, so the
/// padding in between is never scanned for a key; any other layout
/// returns `None` (and the caller parses JSON).
fn fast_stamp(payload: &str) -> Option<Stamp> {
    let rest = payload.strip_prefix(r#"{"e":"#)?;
    let (emitter, rest) = leading_number(rest)?;
    let rest = rest.strip_prefix(r#","i":"#)?;
    let (id, rest) = leading_number(rest)?;
    rest.strip_prefix(r#","p":""#)?;
    // The padding holds no ':', so the last one is the one of "t".
    let colon = payload.rfind(':')?;
    if !payload[..colon].ends_with(r#","t""#) {
        return None;
    }
    let (sent_nanos, end) = leading_number(&payload[colon + 1..])?;
    if end != "}" {
        return None;
    }
    Some(Stamp {
        emitter: u32::try_from(emitter).ok()?,
        id,
        sent_nanos,
    })
}

/// The decimal number `text` starts with, and what follows it.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number = text.get(..digits)?.parse().ok()?;
    Some((number, &text[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_exactly_the_requested_size() {
        let stamp = Stamp {
            emitter: 3,
            id: 123_456,
            sent_nanos: 9_876_543_210,
        };
        assert_eq!(payload_len(stamp, 100), 100);
        assert_eq!(payload_len(stamp, 1000), 1000);
    }

    #[test]
    fn an_open_packet_is_read() {
        let frame = decode(
            r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        );
        assert_eq!(
            frame,
            Ok(ServerFrame::Open(OpenPacket {
                sid: "abc".into(),
                ping_interval: 25000,
                ping_timeout: 20000
            }))
        );
    }

    #[test]
    fn connect_answers_and_errors_are_told_apart() {
        assert_eq!(
            decode(r#"40/bench,{"sid":"x"}"#),
            Ok(ServerFrame::Connected)
        );
        assert_eq!(
            decode(r#"44/bench,{"message":"no"}"#),
            Ok(ServerFrame::ConnectError(r#"{"message":"no"}"#))
        );
        assert_eq!(decode(r#"40{"sid":"x"}"#), Ok(ServerFrame::Other));
        assert_eq!(decode("41/bench,"), Ok(ServerFrame::Disconnected));
        assert_eq!(decode("2"), Ok(ServerFrame::Ping));
    }

    #[test]
    fn a_published_stamp_comes_back_through_the_fast_path() {
        let stamp = Stamp {
            emitter: 7,
            id: 123_456_789,
            sent_nanos: 98_765_432_101,
        };
        let publish = publish_frame(stamp, 100);
        // The server relays the payload unchanged as a `deliver` event.
        let payload = publish
            .strip_prefix(&format!(r#"42{NAMESPACE},["publish","#))
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap();
        assert_eq!(fast_stamp(payload), Some(stamp));
        let deliver = format!(r#"42{NAMESPACE},["deliver",{payload}]"#);
        assert_eq!(decode(&deliver), Ok(ServerFrame::Deliver(stamp)));
    }

    #[test]
    fn the_fast_path_declines_other_layouts() {
        assert_eq!(fast_stamp(r#"{"e":1,"i":2,"t":3,"p":"x"}"#), None);
        assert_eq!(fast_stamp(r#"{"e":1,"i":2,"p":"x","t":3,"z":1}"#), None);
        assert_eq!(fast_stamp(r#"{"e":1,"i":2,"p":"x","t":}"#), None);
        assert_eq!(
            fast_stamp(r#"{"e":1,"i":2,"p":"x","t":3}"#),
            Some(Stamp {
                emitter: 1,
                id: 2,
                sent_nanos: 3
            })
        );
    }

    #[test]
    fn a_reserialised_deliver_is_still_understood() {
        let text = r#"42/bench,["deliver",{ "t": 5, "p": "xx", "i": 2, "e": 0 }]"#;
        assert_eq!(
            decode(text),
            Ok(ServerFrame::Deliver(Stamp {
                emitter: 0,
                id: 2,
                sent_nanos: 5
            }))
        );
    }

    #[test]
    fn a_foreign_deliver_is_an_error() {
        assert_eq!(
            decode(r#"42/bench,["deliver","hello"]"#),
            Err(FrameError::BadDeliver)
        );
    }
}
