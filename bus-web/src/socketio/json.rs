//! Raw JSON helpers for the Socket.IO codec: validate a payload once with
//! `serde_json` and split a JSON array into its top-level elements as slices
//! of the original text, so arguments travel byte-for-byte (key order, number
//! spelling) without being rebuilt. Owns no protocol rules; must not touch
//! packets or sockets.

use serde::de::IgnoredAny;

/// What kind of JSON value a validated text holds (by its first character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Other,
}

/// Checks that `text` is exactly one valid JSON value and says what kind it is.
pub(crate) fn validate(text: &str) -> Result<Kind, String> {
    serde_json::from_str::<IgnoredAny>(text).map_err(|e| e.to_string())?;
    Ok(match text.trim_start().as_bytes().first() {
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'"') => Kind::String,
        _ => Kind::Other,
    })
}

/// Splits a *validated* JSON array text into the byte ranges of its top-level
/// elements (each trimmed of surrounding whitespace).
///
/// The text must have passed [`validate`] as an array; on anything else the
/// result is meaningless but the function still terminates without panicking.
pub(crate) fn split_array(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let Some(open) = bytes.iter().position(|&b| b == b'[') else {
        return out;
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut end = open + 1;
    for (i, &b) in bytes.iter().enumerate().skip(open + 1) {
        if in_string {
            end = i + 1;
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b',' if depth == 0 => {
                if let Some(s) = start.take() {
                    out.push((s, end));
                }
                continue;
            }
            b']' | b'}' if depth == 0 => {
                if let Some(s) = start.take() {
                    out.push((s, end));
                }
                return out;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' => in_string = true,
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
        end = i + 1;
    }
    out
}

/// The raw text of a JSON array made of the given elements of `text`.
pub(crate) fn join(text: &str, elements: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('[');
    for (n, &(s, e)) in elements.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(text.get(s..e).unwrap_or_default());
    }
    out.push(']');
    out
}

/// The inner text of a JSON array text (between its brackets, trimmed); a
/// text that is not bracketed is returned trimmed, as a single element.
pub(crate) fn array_inner(args: &str) -> &str {
    let t = args.trim();
    match t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(inner) => inner.trim(),
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Vec<&str> {
        assert_eq!(validate(text), Ok(Kind::Array));
        split_array(text)
            .iter()
            .map(|&(s, e)| &text[s..e])
            .collect()
    }

    #[test]
    fn splits_top_level_elements_keeping_their_spelling() {
        assert_eq!(
            elements(r#"["message",1,"2",{"3":[true]}]"#),
            vec![r#""message""#, "1", r#""2""#, r#"{"3":[true]}"#]
        );
        assert_eq!(
            elements(r#" [ "a,]" , {"b":"}\"]"} , [1,[2]] , 1.50 ] "#),
            vec![r#""a,]""#, r#"{"b":"}\"]"}"#, "[1,[2]]", "1.50"]
        );
        assert!(elements("[]").is_empty());
        assert!(elements(" [ ] ").is_empty());
    }

    #[test]
    fn rejects_anything_but_one_json_value() {
        assert!(validate("[1] [2]").is_err());
        assert!(validate("").is_err());
        assert!(validate("[1,").is_err());
        assert_eq!(validate(r#"{"a":1}"#), Ok(Kind::Object));
        assert_eq!(validate(r#""s""#), Ok(Kind::String));
        assert_eq!(validate("12"), Ok(Kind::Other));
    }

    #[test]
    fn joins_and_unwraps_arrays() {
        let text = r#"["x", 1 ,{"a":2}]"#;
        let parts = split_array(text);
        assert_eq!(join(text, &parts[1..]), r#"[1,{"a":2}]"#);
        assert_eq!(array_inner(" [ 1, 2 ] "), "1, 2");
        assert_eq!(array_inner("[]"), "");
    }
}
