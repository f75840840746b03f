//! The core's hand-written JSON reader (the one every KMS response parser uses) against
//! serde_json as an independent oracle.
//!
//! - Generated values, written compactly, pretty-printed and with every non-ASCII character
//!   as a `\uXXXX` escape (surrogate pairs above the BMP), read back to the same value.
//! - Mutated documents (a byte deleted, inserted or replaced, the text cut short) and raw bytes:
//!   the reader accepts exactly what serde_json accepts, and reads the same value. The one
//!   known difference: numbers beyond f64's range, which serde_json refuses and the reader
//!   keeps as text.
//! - KMS responses with unknown members of any type, escaped, parse to the same fields.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::fuzzing::kms::{JsonValue, json_value};
use kms_seal_core::kms::{DecryptResponse, EncryptResponse, MAX_JSON_DEPTH};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;
use std::str::FromStr as _;

/// Strings with the characters that need escapes, non-ASCII and astral characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9_]{0,8}",
        2 => any::<String>(),
        2 => prop::collection::vec(
            prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("/".to_owned()),
                Just("\u{0}\u{8}\u{c}\n\r\t\u{1f}".to_owned()),
                Just("é€😀\u{10ffff}\u{fffd}".to_owned()),
                "[a-z]{1,3}",
            ],
            1..6,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<u64>().prop_map(Number::from),
        any::<i64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        (0u64..2_000_000_000, 0u32..1_000_000).prop_filter_map("finite", |(s, us)| {
            Number::from_f64(s as f64 + f64::from(us) / 1e6)
        }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Writes `s` as a JSON string with every non-ASCII character (and every control character)
/// as `\uXXXX`, astral characters as surrogate pairs.
fn ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04X}").unwrap();
                }
            }
        }
    }
    out.push('"');
}

/// `value` in JSON with only ASCII in it, and a space after every comma and colon.
fn ascii_json(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => ascii_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                ascii_json(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                ascii_string(k, out);
                out.push_str(": ");
                ascii_json(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The reader's value as serde_json would hold it (duplicate members: the last one wins, as
/// in serde_json); `None` when a number is beyond f64's range.
fn to_serde(v: &JsonValue) -> Option<Value> {
    Some(match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Number(text) => Value::Number(Number::from_str(text).ok()?),
        JsonValue::String(s) => Value::String(s.clone()),
        JsonValue::Array(items) => Value::Array(items.iter().map(to_serde).collect::<Option<_>>()?),
        JsonValue::Object(members) => {
            let mut map = Map::new();
            for (k, v) in members {
                map.insert(k.clone(), to_serde(v)?);
            }
            Value::Object(map)
        }
    })
}

/// Asserts the reader and serde_json agree on `bytes`: both refuse, or both read the same.
fn assert_agree(bytes: &[u8]) {
    let ours = json_value(bytes);
    let oracle = serde_json::from_slice::<Value>(bytes);
    match (&ours, &oracle) {
        (Some(v), Ok(expected)) => assert_eq!(to_serde(v).as_ref(), Some(expected)),
        (None, Err(_)) => {}
        (Some(v), Err(e)) => assert!(
            to_serde(v).is_none() && e.to_string().contains("number out of range"),
            "reader accepted what serde_json refuses ({e}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
        (None, Ok(_)) => panic!(
            "reader refused what serde_json accepts: {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

fn mutate(text: &str, position: usize, byte: u8, how: u8) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let at = position % (bytes.len() + 1);
    match how % 4 {
        0 if at < bytes.len() => {
            bytes.remove(at);
        }
        1 => bytes.insert(at, byte),
        2 if at < bytes.len() => bytes[at] = byte,
        _ => bytes.truncate(at),
    }
    bytes
}

/// Bytes that matter to a JSON reader, and some that never should appear.
fn json_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"{}[],:\"\\/-+.eEtrufalsn0123456789 \n\t\r\x00\x1f\x7f".to_vec()),
        Just(b'u'),
        any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_values_read_back(v in value()) {
        let mut ascii = String::new();
        ascii_json(&v, &mut ascii);
        for text in [
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap(),
            ascii,
        ] {
            // serde_json's reading, not `v`: without its `float_roundtrip` feature it may read
            // a float back one ulp off, and the reader hands numbers to it as text.
            let expected = serde_json::from_str::<Value>(&text).unwrap();
            let ours = json_value(text.as_bytes());
            prop_assert!(ours.is_some(), "refused: {}", text);
            let read = ours.as_ref().and_then(to_serde);
            prop_assert_eq!(read.as_ref(), Some(&expected));
        }
    }

    #[test]
    fn mutated_documents_are_judged_alike(
        v in value(),
        position in any::<usize>(),
        byte in json_byte(),
        how in any::<u8>(),
        ascii in any::<bool>(),
    ) {
        let text = if ascii {
            let mut out = String::new();
            ascii_json(&v, &mut out);
            out
        } else {
            serde_json::to_string(&v).unwrap()
        };
        assert_agree(&mutate(&text, position, byte, how));
    }

    #[test]
    fn raw_bytes_are_judged_alike(bytes in prop::collection::vec(json_byte(), 0..40)) {
        assert_agree(&bytes);
    }

    #[test]
    fn responses_with_unknown_members_parse_alike(
        plaintext in prop::collection::vec(any::<u8>(), 1..64),
        key_id in text(),
        extra in prop::collection::vec((text(), value()), 0..4),
        ascii in any::<bool>(),
    ) {
        let mut members = Map::new();
        for (k, v) in extra {
            if !k.contains("Algorithm") {
                members.insert(k, v);
            }
        }
        members.insert("Plaintext".into(), Value::String(STANDARD.encode(&plaintext)));
        members.insert("CiphertextBlob".into(), Value::String(STANDARD.encode(&plaintext)));
        members.insert("KeyId".into(), Value::String(key_id.clone()));
        let doc = Value::Object(members);
        let body = if ascii {
            let mut out = String::new();
            ascii_json(&doc, &mut out);
            out
        } else {
            serde_json::to_string(&doc).unwrap()
        };
        let d = DecryptResponse::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(d.plaintext.as_slice(), &plaintext[..]);
        prop_assert_eq!(d.key_id, Some(key_id.clone()).filter(|k| !k.is_empty()));
        let e = EncryptResponse::parse(body.as_bytes());
        if key_id.is_empty() {
            prop_assert!(e.is_err());
        } else {
            let e = e.unwrap();
            prop_assert_eq!(&e.ciphertext_blob, &plaintext);
            prop_assert_eq!(e.key_id, key_id);
        }
    }
}

#[test]
fn nesting_limit_is_the_documented_one() {
    let ok = format!(
        "{}{}",
        "[".repeat(MAX_JSON_DEPTH),
        "]".repeat(MAX_JSON_DEPTH)
    );
    assert!(json_value(ok.as_bytes()).is_some());
    let deep = format!(
        "{}{}",
        "[".repeat(MAX_JSON_DEPTH + 1),
        "]".repeat(MAX_JSON_DEPTH + 1)
    );
    assert_eq!(json_value(deep.as_bytes()), None);
    // serde_json's own limit is higher: below it, the two agree on everything else.
    assert!(serde_json::from_str::<Value>(&deep).is_ok());
}

#[test]
fn escapes_and_surrogates_match_the_oracle() {
    for text in [
        r#""\ud83d\ude00""#,
        r#""\uD800\uDC00""#,
        r#""\ud800""#,
        r#""\udc00\ud800""#,
        r#""\ud800\u0041""#,
        r#""\u0000\u001F\u007f""#,
        r#""\/\b\f\n\r\t\"\\""#,
        r#""\x""#,
        "\"\u{7f}\"",
        "\"\t\"",
    ] {
        assert_agree(text.as_bytes());
    }
}
