//! The stored forms a seal-wrapped value is found in, told apart without flags:
//!
//! - the raw stored bytes (a bare `BlobInfo` or a `multiwrapvalue:1` entry, maybe with the
//!   canary byte), as raft and the other storage backends keep them;
//! - a Vault file-storage entry: the JSON object `{"Value":"<base64>"}` (plus a newline) that
//!   Vault's `file` backend writes for each entry, in a file whose name is the entry's last
//!   path element with a `_` prefix (`core/hsm/_barrier-unseal-keys`).
//!
//! A `BlobInfo` cannot start with `{` (that byte would be field 15 with the deprecated group
//! wire type), and a framed value starts with `m`, so an input that starts with `{` is a
//! file-storage entry; one that starts with blanks and then `{` is tried as one, then as raw
//! bytes (a `BlobInfo` can start with `\n{`: field 1, length 123). Re-encoding a file-storage entry replaces only the characters
//! of the `Value` string: every other member, its order and the whitespace stay as they were.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::envelope::{DecodedValue, decode_stored_value};

/// A stored value and the form it was found in.
pub(crate) struct Stored {
    /// The decoded value.
    pub(crate) value: DecodedValue,
    /// Where it came from.
    pub(crate) form: Form,
}

/// The form of a stored value.
pub(crate) enum Form {
    /// The raw stored bytes.
    Raw,
    /// A Vault file-storage entry: the whole JSON text, and where in it the characters of the
    /// `Value` string (between its quotes) are.
    FileEntry {
        /// The JSON text as read.
        text: Vec<u8>,
        /// The `Value` string's characters, without the quotes.
        value: Range<usize>,
    },
}

impl Stored {
    /// Decodes `bytes` in whichever form they are.
    ///
    /// # Errors
    /// A phrase saying why this is not a stored value (to follow "SOURCE is not ...").
    pub(crate) fn parse(bytes: &[u8]) -> Result<Stored, String> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') {
            match Self::parse_entry(bytes) {
                Ok(stored) => return Ok(stored),
                // A BlobInfo may start with bytes that look like blanks and a brace (field 1,
                // then a length of 123 is "\n{"): only a leading `{` is surely JSON.
                Err(e) if bytes.first() == Some(&b'{') => return Err(e),
                Err(_) => {}
            }
        }
        let value = decode_stored_value(bytes).map_err(|e| format!("{e}"))?;
        Ok(Stored {
            value,
            form: Form::Raw,
        })
    }

    /// Decodes a Vault file-storage entry.
    fn parse_entry(bytes: &[u8]) -> Result<Stored, String> {
        let span = value_span(bytes)?;
        let inner = bytes.get(span.clone()).ok_or("a bad JSON string")?;
        let text = unescape_ascii(inner)?;
        let raw = STANDARD
            .decode(&text)
            .map_err(|_| String::from("a file-storage entry whose Value is not base64"))?;
        let value = decode_stored_value(&raw)
            .map_err(|e| format!("a file-storage entry whose Value is not seal-wrapped: {e}"))?;
        Ok(Stored {
            value,
            form: Form::FileEntry {
                text: bytes.to_vec(),
                value: span,
            },
        })
    }

    /// The short name of the form, for `inspect` and logs.
    pub(crate) fn form_name(&self) -> &'static str {
        match self.form {
            Form::Raw => "raw",
            Form::FileEntry { .. } => "vault-file-entry",
        }
    }

    /// The bytes to store for the (possibly rewrapped) value, in the form it was read in.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let raw = if self.value.canary {
            self.value.value.encode_with_canary()
        } else {
            self.value.value.encode()
        };
        match &self.form {
            Form::Raw => raw,
            Form::FileEntry { text, value } => {
                let encoded = STANDARD.encode(&raw);
                let mut out = Vec::with_capacity(text.len() + encoded.len());
                out.extend_from_slice(&text[..value.start]);
                out.extend_from_slice(encoded.as_bytes());
                out.extend_from_slice(&text[value.end..]);
                out
            }
        }
    }
}

/// The span of the characters of the top-level `Value` member's string (matched without
/// regard to case, as Go's `encoding/json` matches field names; the last one wins, as there).
///
/// One pass over the text, counting the depth of objects and arrays outside strings: a string
/// at depth 1 followed by `:` is a member name, and the string after the name `Value` is the
/// span. Nothing is copied and nothing recurses.
fn value_span(text: &[u8]) -> Result<Range<usize>, &'static str> {
    let mut depth = 0usize;
    let mut i = 0;
    let mut name: Option<Range<usize>> = None;
    let mut value_next = false;
    let mut found = None;
    while let Some(&b) = text.get(i) {
        i += 1;
        if depth == 0 && !b.is_ascii_whitespace() {
            if b != b'{' || found.is_some() {
                return Err("JSON followed by other bytes");
            }
            depth = 1;
            continue;
        }
        match b {
            b'"' => {
                let start = i;
                loop {
                    match text.get(i) {
                        Some(b'"') => break,
                        Some(b'\\') => i += 2,
                        Some(c) if *c < 0x20 => return Err("a control character in a JSON string"),
                        Some(_) => i += 1,
                        None => return Err("an unterminated JSON string"),
                    }
                }
                let span = start..i;
                i += 1;
                if depth == 1 {
                    if value_next {
                        found = Some(span);
                        value_next = false;
                    } else {
                        name = Some(span);
                    }
                }
            }
            b':' if depth == 1 => {
                value_next = name
                    .take()
                    .and_then(|k| text.get(k))
                    .and_then(|k| unescape_ascii(k).ok())
                    .is_some_and(|k| k.eq_ignore_ascii_case(b"value"));
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ if value_next => {
                return Err(if b == b'n' {
                    "a file-storage entry with a null Value"
                } else {
                    "a file-storage entry whose Value is not a string"
                });
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 && found.is_none() {
                    return Err(
                        "a JSON object without a Value member (not a Vault file-storage entry)",
                    );
                }
            }
            _ => {}
        }
    }
    match found {
        Some(span) if depth == 0 => Ok(span),
        _ => Err("a broken JSON object (no closing })"),
    }
}

/// The bytes of a JSON string, with escapes undone; only ASCII is expected (a base64 value
/// or a member name), so `\u` escapes are refused and other bytes kept as they are.
fn unescape_ascii(inner: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter().copied();
    while let Some(b) = bytes.next() {
        let c = match b {
            b'\\' => match bytes.next() {
                Some(e @ (b'"' | b'\\' | b'/')) => e,
                Some(b'b') => 8,
                Some(b'f') => 12,
                Some(b'n') => b'\n',
                Some(b'r') => b'\r',
                Some(b't') => b'\t',
                _ => return Err("a bad escape in a JSON string"),
            },
            b => b,
        };
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use kms_seal_core::envelope::{BlobInfo, StoredValue};

    fn sample() -> Vec<u8> {
        StoredValue::Bare(BlobInfo {
            ciphertext: vec![1, 2, 3],
            iv: vec![4; 12],
            ..BlobInfo::default()
        })
        .encode()
    }

    #[test]
    fn raw_values_stay_raw() {
        let bytes = sample();
        let s = Stored::parse(&bytes).unwrap();
        assert_eq!(s.form_name(), "raw");
        assert_eq!(s.encode(), bytes);
    }

    #[test]
    fn a_blob_that_starts_like_blanks_and_a_brace_is_raw() {
        // Field 1 with 123 bytes: the value starts with "\n{".
        let bytes = StoredValue::Bare(BlobInfo {
            ciphertext: vec![b'"'; 123],
            iv: vec![4; 12],
            ..BlobInfo::default()
        })
        .encode();
        assert_eq!(&bytes[..2], b"\n{");
        let s = Stored::parse(&bytes).unwrap();
        assert_eq!(s.form_name(), "raw");
        assert_eq!(s.encode(), bytes);
    }

    #[test]
    fn a_file_entry_as_vault_writes_it_round_trips() {
        let text = format!("{{\"Value\":\"{}\"}}\n", STANDARD.encode(sample()));
        let s = Stored::parse(text.as_bytes()).unwrap();
        assert_eq!(s.form_name(), "vault-file-entry");
        assert_eq!(s.value.value.encode(), sample());
        assert_eq!(s.encode(), text.as_bytes());
    }

    #[test]
    fn other_members_order_and_spacing_are_kept() {
        let b64 = STANDARD.encode(sample());
        let text = format!(
            "{{ \"Other\": {{\"a\": [1, \"x\\\"}}\", null]}},\n  \"value\" : \"{}\", \"n\": -1.5e3 }}",
            b64.replace('/', "\\/")
        );
        let mut s = Stored::parse(text.as_bytes()).unwrap();
        s.value.canary = true;
        let out = String::from_utf8(s.encode()).unwrap();
        let mut with_canary = sample();
        with_canary.push(b's');
        let expected = format!(
            "{{ \"Other\": {{\"a\": [1, \"x\\\"}}\", null]}},\n  \"value\" : \"{}\", \"n\": -1.5e3 }}",
            STANDARD.encode(with_canary)
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn every_cut_and_every_changed_byte_of_an_entry_is_handled_without_panic() {
        let b64 = STANDARD.encode(sample());
        let text = format!("{{ \"A\": [{{\"b\": \"x\\\"\"}}], \"Value\": \"{b64}\" }}\n");
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let _ = Stored::parse(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            for b in [
                0u8, b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', b'n', 0xff,
            ] {
                let mut changed = bytes.to_vec();
                changed[i] = b;
                // Whatever parses must encode to bytes that parse to the same value.
                if let Ok(stored) = Stored::parse(&changed) {
                    let again = Stored::parse(&stored.encode()).unwrap();
                    assert_eq!(again.value.value.encode(), stored.value.value.encode());
                }
            }
        }
    }

    #[test]
    fn broken_entries_are_refused_with_a_reason() {
        for (text, needle) in [
            ("{\"Value\":null}", "null Value"),
            ("{\"Key\":\"abc\"}", "without a Value"),
            ("{\"Value\":\"!!!\"}", "not base64"),
            ("{\"Value\":\"AAAA\"", "no closing }"),
            ("{\"Value\":{\"a\":1}}", "not a string"),
            ("{\"Value\":\"QUJD\"}}", "other bytes"),
            ("{\"a\":[\"Value\",\"QUJD\"]}", "without a Value"),
            ("{\"Value\":\"AAAA\"} x", "followed by"),
            ("{\"Value\":\"QUJD", "unterminated"),
            ("{\"Value\":\"\\u0041AAA\"}", "bad escape"),
        ] {
            let e = Stored::parse(text.as_bytes()).err().unwrap();
            assert!(e.contains(needle), "{text}: {e}");
        }
        // Deep nesting elsewhere is skipped, not recursed into.
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let b64 = STANDARD.encode(sample());
        let text = format!("{{\"x\":{deep},\"Value\":\"{b64}\"}}");
        assert_eq!(
            Stored::parse(text.as_bytes()).unwrap().value.value.encode(),
            sample()
        );
    }
}
