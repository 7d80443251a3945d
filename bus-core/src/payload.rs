//! Event payloads: the raw JSON array of arguments plus binary attachments,
//! and the shared [`Event`] a broadcast is serialised into once.
//!
//! Owns encoding/decoding of arguments; it must not know about transports
//! (the `wire` cache is opaque bytes a transport fills).

use std::sync::OnceLock;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{DecodeError, EncodeError};

/// The arguments of one event: raw JSON array text plus binary attachments.
///
/// Binary arguments appear in `args` as `{"_placeholder":true,"num":i}`,
/// where `i` indexes `attachments` (the Socket.IO convention), so a gateway
/// can pass binary through without re-encoding.
///
/// A payload with one argument decodes directly into the handler's type; a
/// payload with several arguments decodes as a tuple.
///
/// # Examples
///
/// ```
/// use bus_core::Payload;
/// let one = Payload::json(&"hi").unwrap();
/// assert_eq!(one.args, r#"["hi"]"#);
/// assert_eq!(one.decode::<String>().unwrap(), "hi");
///
/// let two = Payload::args(&("a", 2)).unwrap();
/// assert_eq!(two.decode::<(String, u32)>().unwrap(), ("a".to_string(), 2));
///
/// let bin = Payload::binary(vec![1u8, 2, 3]);
/// assert_eq!(bin.args, r#"[{"_placeholder":true,"num":0}]"#);
/// assert_eq!(&bin.attachments[0][..], &[1, 2, 3]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Raw JSON array text of the arguments, e.g. `["hello",1]`.
    pub args: String,
    /// Binary attachments referenced by placeholders in `args`.
    pub attachments: Vec<Bytes>,
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

impl Payload {
    /// A payload with no arguments (`[]`).
    pub fn empty() -> Self {
        Payload {
            args: "[]".to_owned(),
            attachments: Vec::new(),
        }
    }

    /// Builds a payload from raw parts, as a gateway received them.
    ///
    /// `args` is not parsed here; [`Payload::decode`] reports malformed text.
    pub fn from_raw(args: impl Into<String>, attachments: Vec<Bytes>) -> Self {
        Payload {
            args: args.into(),
            attachments,
        }
    }

    /// A payload with exactly one argument, `value`.
    ///
    /// # Errors
    /// [`EncodeError`] when `value` cannot be serialised to JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, EncodeError> {
        let one = serde_json::to_string(value).map_err(EncodeError::from)?;
        let mut args = String::with_capacity(one.len() + 2);
        args.push('[');
        args.push_str(&one);
        args.push(']');
        Ok(Payload {
            args,
            attachments: Vec::new(),
        })
    }

    /// A payload with several arguments, given as a tuple or array.
    ///
    /// # Errors
    /// [`EncodeError::NotAnArray`] when `values` does not serialise to a JSON
    /// array; [`EncodeError::Json`] when it cannot be serialised.
    pub fn args<T: Serialize + ?Sized>(values: &T) -> Result<Self, EncodeError> {
        let text = serde_json::to_string(values).map_err(EncodeError::from)?;
        if !text.starts_with('[') {
            return Err(EncodeError::NotAnArray);
        }
        Ok(Payload {
            args: text,
            attachments: Vec::new(),
        })
    }

    /// A payload whose single argument is binary.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Payload {
            args: r#"[{"_placeholder":true,"num":0}]"#.to_owned(),
            attachments: vec![data.into()],
        }
    }

    /// Decodes the arguments: one argument directly into `T`, several as a
    /// tuple, none as `()`/an empty sequence.
    ///
    /// # Errors
    /// [`DecodeError`] when the text is not a JSON array or does not match `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        // Fast path for the common case, one argument: the text between
        // the brackets parses straight into `T` (no `Value` tree) exactly
        // when it is one JSON value, i.e. when `args` has one element;
        // anything else (several arguments, none, malformed) takes the
        // general path below.
        if let Some(inner) = self
            .args
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            if let Ok(one) = serde_json::from_str::<T>(inner) {
                return Ok(one);
            }
        }
        let value: Value = serde_json::from_str(&self.args).map_err(DecodeError::from)?;
        let Value::Array(mut items) = value else {
            return Err(DecodeError::NotAnArray);
        };
        match items.len() {
            1 => serde_json::from_value(items.pop().unwrap_or(Value::Null))
                .map_err(DecodeError::from),
            // No argument: `()` / `Option` decode from null, sequences from `[]`.
            0 => serde_json::from_value(Value::Null)
                .or_else(|_| serde_json::from_value(Value::Array(items)))
                .map_err(DecodeError::from),
            _ => serde_json::from_value(Value::Array(items)).map_err(DecodeError::from),
        }
    }

    /// The attachment referenced by placeholder `num`, if present.
    pub fn attachment(&self, num: usize) -> Option<&Bytes> {
        self.attachments.get(num)
    }
}

/// One event: a name and a payload, shared as `Arc<Event>` by every
/// recipient of a broadcast (serialised once, never cloned per socket).
///
/// `wire` is a cache a transport may fill once with its encoded frame so every
/// connection reuses the same bytes; bus-core never reads it.
///
/// # Examples
///
/// ```
/// use bus_core::{Event, Payload};
/// let ev = Event::new("chat", Payload::json(&"hi").unwrap());
/// assert_eq!(ev.name, "chat");
/// let frame = ev.wire.get_or_init(|| bytes::Bytes::from_static(b"42[\"chat\",\"hi\"]"));
/// assert_eq!(&frame[..2], b"42");
/// ```
#[derive(Debug)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments.
    pub payload: Payload,
    /// A transport's encoded frame for this event, cached once per broadcast.
    pub wire: OnceLock<Bytes>,
}

impl Event {
    /// A new event with an empty wire cache.
    pub fn new(name: impl Into<String>, payload: Payload) -> Self {
        Event {
            name: name.into(),
            payload,
            wire: OnceLock::new(),
        }
    }
}

impl Clone for Event {
    /// Clones name and payload; the wire cache is not copied.
    fn clone(&self) -> Self {
        Event::new(self.name.clone(), self.payload.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_arguments_decode_as_unit_and_several_as_tuple() {
        assert!(
            Payload::empty().decode::<()>().is_ok() || Payload::empty().decode::<Vec<u8>>().is_ok()
        );
        let p = Payload::from_raw("[1,2,3]", vec![]);
        assert_eq!(p.decode::<(u8, u8, u8)>().unwrap(), (1, 2, 3));
    }

    #[test]
    fn malformed_arguments_are_a_decode_error_not_a_panic() {
        assert!(Payload::from_raw("{not json", vec![])
            .decode::<u8>()
            .is_err());
        assert!(Payload::from_raw("{}", vec![]).decode::<u8>().is_err());
        assert!(Payload::args(&5).is_err());
    }
}
