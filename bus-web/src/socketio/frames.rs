//! Turns bus-core outbound items into Engine.IO messages for one namespace
//! connection: events (with the shared `Event::wire` cache), acks, server
//! disconnects and at-least-once gaps.
//!
//! Owns the outbound encoding only; it must not touch session state or
//! transports (the connection module decides what to drain and when).

use bus_core::{Event, Payload};
use bytes::Bytes;
use bytestring::ByteString;

use super::packet::{encode_header, push_event_array, Packet, PacketData};
use crate::engineio::{EncodedText, EngineMessage};

/// The event a client receives when at-least-once retention dropped events
/// it never acknowledged:
/// `["bus:gap", {"epoch": e, "firstLost": a, "lastLost": b, "count": n}]`.
pub const GAP_EVENT: &str = "bus:gap";

/// Appends the messages of one event for namespace `ns` to `out`: the text
/// frame, then its binary attachments.
///
/// Without an ack id the frame is the same for every recipient, so it is
/// encoded once per broadcast into `Event::wire`, as the whole Engine.IO
/// packet (`42[...]`), and those bytes are written to every connection; with
/// an ack id (which differs per connection) it is encoded here.
pub(crate) fn push_event(
    out: &mut Vec<EngineMessage>,
    ns: &str,
    event: &Event,
    ack_id: Option<u64>,
) {
    let message = match ack_id {
        None => {
            let wire = event
                .wire
                .get_or_init(|| Bytes::from(event_packet(ns, event)));
            match wire_packet(wire, ns) {
                Some(encoded) => EngineMessage::Encoded(encoded),
                // Cached by a connection of another namespace: encode ours.
                None => EngineMessage::Encoded(EncodedText::new(&event_text(ns, event, None))),
            }
        }
        Some(_) => EngineMessage::text(event_text(ns, event, ack_id)),
    };
    out.push(message);
    push_attachments(out, &event.payload);
}

/// Appends an `ACK` (or `BINARY_ACK`) answering the client's `ack_id`.
pub(crate) fn push_ack(out: &mut Vec<EngineMessage>, ns: &str, ack_id: u64, payload: &Payload) {
    let attachments = payload.attachments.len();
    let data = if attachments == 0 {
        PacketData::Ack {
            args: payload.args.clone(),
            id: ack_id,
        }
    } else {
        PacketData::BinaryAck {
            args: payload.args.clone(),
            id: ack_id,
            attachments,
        }
    };
    out.push(EngineMessage::text(Packet::new(ns, data).encode()));
    push_attachments(out, payload);
}

/// Appends the `DISCONNECT` packet telling the client the server removed it
/// from `ns`.
pub(crate) fn push_disconnect(out: &mut Vec<EngineMessage>, ns: &str) {
    out.push(EngineMessage::text(
        Packet::new(ns, PacketData::Disconnect).encode(),
    ));
}

/// What a [`GAP_EVENT`] tells the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GapNotice {
    pub(crate) epoch: u64,
    pub(crate) first_lost: u64,
    pub(crate) last_lost: u64,
    pub(crate) count: u64,
}

/// Appends the [`GAP_EVENT`] for an at-least-once gap.
pub(crate) fn push_gap(out: &mut Vec<EngineMessage>, ns: &str, gap: GapNotice) {
    let args = format!(
        r#"[{{"epoch":{},"firstLost":{},"lastLost":{},"count":{}}}]"#,
        gap.epoch, gap.first_lost, gap.last_lost, gap.count
    );
    let data = PacketData::Event {
        event: GAP_EVENT.to_owned(),
        args,
        id: None,
    };
    out.push(EngineMessage::text(Packet::new(ns, data).encode()));
}

/// The `CONNECT` answer: `0[/ns,]{"sid":"..."}`.
pub(crate) fn connect_ok(ns: &str, sid: &str) -> EngineMessage {
    let body = serde_json::json!({ "sid": sid }).to_string();
    EngineMessage::text(Packet::new(ns, PacketData::Connect(Some(body))).encode())
}

/// The `CONNECT_ERROR` answer: `4[/ns,]{"message":...[,"data":...]}`.
pub(crate) fn connect_error(
    ns: &str,
    message: &str,
    data: Option<&serde_json::Value>,
) -> EngineMessage {
    // Written by hand so `message` comes first, as Socket.IO sends it.
    let message = serde_json::Value::from(message);
    let body = match data {
        Some(data) => format!(r#"{{"message":{message},"data":{data}}}"#),
        None => format!(r#"{{"message":{message}}}"#),
    };
    EngineMessage::text(Packet::new(ns, PacketData::ConnectError(body)).encode())
}

fn push_attachments(out: &mut Vec<EngineMessage>, payload: &Payload) {
    out.extend(
        payload
            .attachments
            .iter()
            .cloned()
            .map(EngineMessage::Binary),
    );
}

/// The text frame of an event: `2[/ns,][id]["name",...]` or the
/// `5<n>-...` header of a binary event.
fn event_text(ns: &str, event: &Event, ack_id: Option<u64>) -> String {
    let attachments = event.payload.attachments.len();
    let type_id = if attachments == 0 { 2 } else { 5 };
    let mut out =
        String::with_capacity(event.name.len() + event.payload.args.len() + ns.len() + 16);
    encode_header(&mut out, type_id, attachments, ns, ack_id);
    push_event_array(&mut out, &event.name, &event.payload.args);
    out
}

/// The Engine.IO message packet of a broadcast event, `4` included:
/// `42[/ns,][...]` or `45<n>-[/ns,][...]`.
fn event_packet(ns: &str, event: &Event) -> String {
    let attachments = event.payload.attachments.len();
    let type_id = if attachments == 0 { 2 } else { 5 };
    let mut out =
        String::with_capacity(event.name.len() + event.payload.args.len() + ns.len() + 17);
    out.push('4');
    encode_header(&mut out, type_id, attachments, ns, None);
    push_event_array(&mut out, &event.name, &event.payload.args);
    out
}

/// The cached packet, shared, if it was encoded for namespace `ns`.
fn wire_packet(wire: &Bytes, ns: &str) -> Option<EncodedText> {
    if wire.len() > CACHED_FRAME_MAX {
        return check_wire(wire, ns);
    }
    // A broadcast reaches many connections of one worker, and with several
    // broadcasts in flight their frames alternate. Each worker keeps its
    // own checked copy of the recent frames: the bytes are checked (UTF-8,
    // namespace) once per worker rather than once per recipient, and the
    // reference counts that every recipient's frame takes and drops stay
    // on this core instead of bouncing between the workers. An entry holds
    // the broadcast's bytes, so their address cannot be reused meanwhile.
    // Fibonacci hashing of the address: frames allocated a fixed stride
    // apart still spread over the slots.
    let slot =
        ((wire.as_ptr() as usize).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) % FRAME_CACHE_SLOTS;
    FRAME_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.is_empty() {
            cache.resize_with(FRAME_CACHE_SLOTS, || None);
        }
        let entry = cache.get_mut(slot)?;
        if let Some(cached) = entry.as_ref() {
            if cached.source.as_ptr() == wire.as_ptr()
                && cached.source.len() == wire.len()
                && cached.ns == ns
            {
                return cached.packet.clone();
            }
        }
        let own = Bytes::copy_from_slice(wire);
        let packet = check_wire(&own, ns);
        *entry = Some(CachedFrame {
            source: wire.clone(),
            ns: ns.to_owned(),
            packet: packet.clone(),
        });
        packet
    })
}

/// Broadcast frames larger than this are not copied per worker.
const CACHED_FRAME_MAX: usize = 4096;

/// Recent broadcast frames kept per worker thread (direct-mapped by address).
const FRAME_CACHE_SLOTS: usize = 64;

/// One worker's checked copy of a broadcast frame.
struct CachedFrame {
    /// The broadcast's own bytes (identity, and kept alive while cached).
    source: Bytes,
    /// The namespace the frame was checked for.
    ns: String,
    /// This worker's copy, checked; `None` if it is not ours.
    packet: Option<EncodedText>,
}

thread_local! {
    static FRAME_CACHE: std::cell::RefCell<Vec<Option<CachedFrame>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `wire` as the message packet of an event in `ns`, or `None` if it is not
/// valid text or belongs to another namespace.
fn check_wire(wire: &Bytes, ns: &str) -> Option<EncodedText> {
    let packet = ByteString::try_from(wire.clone()).ok()?;
    let text = packet.strip_prefix('4')?;
    // Skip the type digit and, for binary events, the `<n>-` count.
    let rest = match text.as_bytes().first()? {
        b'2' => &text[1..],
        b'5' => &text[text.find('-')? + 1..],
        _ => return None,
    };
    let ours = if ns == "/" {
        rest.starts_with('[')
    } else {
        rest.strip_prefix(ns).is_some_and(|r| r.starts_with(','))
    };
    if !ours {
        return None;
    }
    EncodedText::from_packet(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(out: &[EngineMessage]) -> Vec<String> {
        out.iter()
            .map(|m| match m {
                EngineMessage::Text(t) => t.to_string(),
                EngineMessage::Binary(b) => format!("<{} bytes>", b.len()),
                EngineMessage::Encoded(e) => e.text().to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_broadcast_frame_is_encoded_once_and_shared_by_a_workers_recipients() {
        let event = Event::new("chat", Payload::from_raw(r#"["hi",1]"#, vec![]));
        let mut a = Vec::new();
        let mut b = Vec::new();
        push_event(&mut a, "/", &event, None);
        let cached = event.wire.get().cloned();
        push_event(&mut b, "/", &event, None);
        assert_eq!(texts(&a), vec![r#"2["chat","hi",1]"#.to_owned()]);
        assert_eq!(a, b);
        assert_eq!(event.wire.get(), cached.as_ref());
        let ptr = |out: &[EngineMessage]| match &out[0] {
            EngineMessage::Encoded(e) => e.packet().as_bytes().as_ptr() as usize,
            other => panic!("unexpected {other:?}"),
        };
        // The whole Engine.IO packet; one buffer for this thread's recipients.
        match &a[0] {
            EngineMessage::Encoded(e) => assert_eq!(e.packet(), r#"42["chat","hi",1]"#),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(ptr(&a), ptr(&b));
        // Another worker thread gets its own copy of the same bytes.
        let event = std::sync::Arc::new(event);
        let other = event.clone();
        let (text, elsewhere) = std::thread::spawn(move || {
            let mut c = Vec::new();
            push_event(&mut c, "/", &other, None);
            (texts(&c), ptr(&c))
        })
        .join()
        .unwrap();
        assert_eq!(text, texts(&a));
        assert_ne!(elsewhere, ptr(&a));
    }

    #[test]
    fn a_frame_cached_for_another_namespace_is_not_reused() {
        let event = Event::new("e", Payload::empty());
        let mut out = Vec::new();
        push_event(&mut out, "/admin", &event, None);
        push_event(&mut out, "/", &event, None);
        push_event(&mut out, "/adm", &event, None);
        assert_eq!(
            texts(&out),
            vec![r#"2/admin,["e"]"#, r#"2["e"]"#, r#"2/adm,["e"]"#]
        );
    }

    #[test]
    fn events_with_an_ack_id_and_binary_attachments() {
        let event = Event::new("m", Payload::binary(vec![1u8, 2, 3]));
        let mut out = Vec::new();
        push_event(&mut out, "/x", &event, Some(7));
        push_event(&mut out, "/", &event, None);
        assert_eq!(
            texts(&out),
            vec![
                r#"51-/x,7["m",{"_placeholder":true,"num":0}]"#,
                "<3 bytes>",
                r#"51-["m",{"_placeholder":true,"num":0}]"#,
                "<3 bytes>"
            ]
        );
    }

    #[test]
    fn acks_disconnects_gaps_and_connect_answers() {
        let mut out = Vec::new();
        push_ack(
            &mut out,
            "/",
            456,
            &Payload::from_raw(r#"[1,"2",{"3":[false]}]"#, vec![]),
        );
        push_ack(&mut out, "/c", 789, &Payload::binary(vec![9u8]));
        push_disconnect(&mut out, "/c");
        push_gap(
            &mut out,
            "/",
            GapNotice {
                epoch: 1,
                first_lost: 3,
                last_lost: 5,
                count: 2,
            },
        );
        out.push(connect_ok("/custom", "abc"));
        out.push(connect_error("/random", "Invalid namespace", None));
        out.push(connect_error(
            "/",
            "no",
            Some(&serde_json::json!({"code": 4})),
        ));
        assert_eq!(
            texts(&out),
            vec![
                r#"3456[1,"2",{"3":[false]}]"#,
                r#"61-/c,789[{"_placeholder":true,"num":0}]"#,
                "<1 bytes>",
                "1/c,",
                r#"2["bus:gap",{"epoch":1,"firstLost":3,"lastLost":5,"count":2}]"#,
                r#"0/custom,{"sid":"abc"}"#,
                r#"4/random,{"message":"Invalid namespace"}"#,
                r#"4{"message":"no","data":{"code":4}}"#,
            ]
        );
    }
}
