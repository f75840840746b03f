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
/// regard to case, as Go's `encoding/json` matches field names).
fn value_span(text: &[u8]) -> Result<Range<usize>, String> {
    let mut r = Reader { text, pos: 0 };
    r.skip_ws();
    r.expect(b'{')?;
    let mut found = None;
    r.skip_ws();
    if r.peek() == Some(b'}') {
        r.pos += 1;
    } else {
        loop {
            r.skip_ws();
            let key = r.string()?;
            r.skip_ws();
            r.expect(b':')?;
            r.skip_ws();
            let is_value = text
                .get(key)
                .and_then(|k| unescape_ascii(k).ok())
                .is_some_and(|k| k.eq_ignore_ascii_case(b"value"));
            if is_value {
                if r.peek() == Some(b'n') {
                    return Err("a file-storage entry with a null Value".into());
                }
                found = Some(r.string()?);
            } else {
                r.skip_value(0)?;
            }
            r.skip_ws();
            match r.next() {
                Some(b',') => {}
                Some(b'}') => break,
                _ => return Err("a broken JSON object (expected , or })".into()),
            }
        }
    }
    r.skip_ws();
    if r.pos != text.len() {
        return Err("JSON followed by other bytes".into());
    }
    found.ok_or_else(|| {
        "a JSON object without a Value member (not a Vault file-storage entry)".into()
    })
}

/// The bytes of a JSON string, with escapes undone; only ASCII is expected (a base64 value
/// or a member name), so `\u` escapes are refused and other bytes kept as they are.
fn unescape_ascii(inner: &[u8]) -> Result<Vec<u8>, String> {
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
                _ => return Err("a bad escape in a JSON string".into()),
            },
            b => b,
        };
        out.push(c);
    }
    Ok(out)
}

/// A cursor over JSON text that finds where values start and end.
struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// Deepest nesting skipped (the entries Vault writes are flat).
    const MAX_DEPTH: usize = 64;

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        match self.next() {
            Some(b) if b == want => Ok(()),
            _ => Err(format!(
                "broken JSON (expected {} at byte {})",
                char::from(want),
                self.pos.saturating_sub(1)
            )),
        }
    }

    /// A string; returns the span of its characters (without the quotes).
    fn string(&mut self) -> Result<Range<usize>, String> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.next() {
                Some(b'"') => return Ok(start..self.pos - 1),
                Some(b'\\') => {
                    self.next().ok_or("an unterminated JSON string")?;
                }
                Some(b) if b < 0x20 => return Err("a control character in a JSON string".into()),
                Some(_) => {}
                None => return Err("an unterminated JSON string".into()),
            }
        }
    }

    /// Any value: a string, an object, an array, or a literal or number.
    fn skip_value(&mut self, depth: usize) -> Result<(), String> {
        if depth > Self::MAX_DEPTH {
            return Err("JSON nested too deeply".into());
        }
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(open @ (b'{' | b'[')) => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if open == b'{' {
                        self.string()?;
                        self.skip_ws();
                        self.expect(b':')?;
                        self.skip_ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.next() {
                        Some(b',') => {}
                        Some(b) if b == close => return Ok(()),
                        _ => return Err("broken JSON (a list without , or its end)".into()),
                    }
                }
            }
            Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                while self.peek().is_some_and(|b| {
                    b == b'-' || b == b'+' || b == b'.' || b.is_ascii_alphanumeric()
                }) {
                    self.pos += 1;
                }
                Ok(())
            }
            _ => Err(format!("broken JSON (no value at byte {})", self.pos)),
        }
    }
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
    fn broken_entries_are_refused_with_a_reason() {
        for (text, needle) in [
            ("{\"Value\":null}", "null Value"),
            ("{\"Key\":\"abc\"}", "without a Value"),
            ("{\"Value\":\"!!!\"}", "not base64"),
            ("{\"Value\":\"AAAA\"", "expected , or }"),
            ("{\"Value\":\"AAAA\"} x", "followed by"),
            ("{\"Value\":\"QUJD", "unterminated"),
            ("{\"Value\":\"\\u0041AAA\"}", "bad escape"),
        ] {
            let e = Stored::parse(text.as_bytes()).err().unwrap();
            assert!(e.contains(needle), "{text}: {e}");
        }
        let deep = "[".repeat(100);
        let e = Stored::parse(format!("{{\"x\":{deep}").as_bytes())
            .err()
            .unwrap();
        assert!(e.contains("deeply"), "{e}");
    }
}
