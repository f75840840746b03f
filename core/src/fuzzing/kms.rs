//! Fuzz entry points for the KMS protocol: response parsers, the error parser and the request
//! writers.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::http::Response;
use crate::kms::json_reader::{Kind, ReadError, Reader};
use crate::kms::{
    DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyResponse, KeyMetadata,
    Operation, ReEncryptResponse, ServiceError,
};
use crate::retry::Failure;

/// Longest `Display` of a [`ServiceError`], whatever the response: the code, message and
/// request id are capped, the rest is fixed text.
const MAX_ERROR_DISPLAY: usize = 1024;

/// Feeds `data` to every response parser and to the error parser. The first two bytes are
/// the HTTP status (big-endian), the rest the body; the body's first line (lossy UTF-8) is also
/// offered as `x-amzn-errortype`, `x-amzn-requestid` and `date` headers.
///
/// Asserts: nothing panics, error messages stay short whatever the body, and parse errors
/// never quote the body.
pub fn kms_response(data: &[u8]) {
    let (status, body) = match data {
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => (200, data),
    };

    let _ = EncryptResponse::parse(body).map_err(|e| check_malformed(&e.to_string()));
    let _ = DecryptResponse::parse(body).map_err(|e| check_malformed(&e.to_string()));
    let _ = GenerateDataKeyResponse::parse(body).map_err(|e| check_malformed(&e.to_string()));
    let _ = ReEncryptResponse::parse(body).map_err(|e| check_malformed(&e.to_string()));
    let _ = KeyMetadata::parse(body).map_err(|e| check_malformed(&e.to_string()));

    let first_line: String = String::from_utf8_lossy(body)
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(256)
        .collect();
    let bare = Response {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
    };
    let with_headers = Response {
        headers: vec![
            ("x-amzn-errortype".to_string(), first_line.clone()),
            ("x-amzn-requestid".to_string(), first_line.clone()),
            ("date".to_string(), first_line),
        ],
        ..bare.clone()
    };
    for response in [&bare, &with_headers] {
        for op in Operation::ALL {
            let error = ServiceError::from_response(op, response);
            let shown = error.to_string();
            assert!(
                shown.len() <= MAX_ERROR_DISPLAY,
                "error display is {} bytes",
                shown.len()
            );
            assert!(shown.starts_with("kms "));
            let _ = Failure::from_service_error(&error, response);
            let _ = error.is_throttling();
        }
    }
}

/// Builds an `Encrypt` body from `data` (split into key id, plaintext and one context entry)
/// and asserts that a JSON parser reads back exactly those values.
pub fn kms_request(data: &[u8]) {
    use base64::Engine as _;

    let mut parts = data.splitn(4, |&b| b == 0);
    let key_id = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let plaintext = parts.next().unwrap_or_default();
    let ctx_key = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let ctx_value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let context = if ctx_key.is_empty() {
        Vec::new()
    } else {
        vec![(ctx_key, ctx_value)]
    };
    let request = EncryptRequest {
        encryption_context: &context,
        ..EncryptRequest::new(&key_id, plaintext)
    };
    let Ok(body) = request.to_body() else {
        return;
    };
    let Some(JsonValue::Object(members)) = json_value(&body) else {
        panic!("request bodies are one JSON object");
    };
    let member = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    assert_eq!(member("KeyId"), Some(&JsonValue::String(key_id)));
    let Some(JsonValue::String(b64)) = member("Plaintext") else {
        panic!("Plaintext is a string");
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("Plaintext is base64");
    assert_eq!(decoded, plaintext);
    let expected_context: Vec<(String, JsonValue)> = context
        .into_iter()
        .map(|(k, v)| (k, JsonValue::String(v)))
        .collect();
    match member("EncryptionContext") {
        Some(JsonValue::Object(pairs)) => assert_eq!(*pairs, expected_context),
        None => assert!(expected_context.is_empty()),
        Some(other) => panic!("EncryptionContext is {other:?}"),
    }
}

/// A JSON value as the KMS response reader sees it, for comparing that reader with others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its text in the document.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object's members, in document order (duplicates kept).
    Object(Vec<(String, JsonValue)>),
}

/// Reads `data` as one JSON document with the reader the KMS response parsers use; `None`
/// when that reader refuses it (bad syntax, bad UTF-8, trailing bytes, nesting deeper than
/// [`MAX_JSON_DEPTH`](crate::kms::MAX_JSON_DEPTH)).
pub fn json_value(data: &[u8]) -> Option<JsonValue> {
    let mut reader = Reader::new(data);
    let value = read_value(&mut reader).ok()?;
    reader.finish().ok()?;
    Some(value)
}

/// One value; recursion is bounded by the reader's depth limit.
fn read_value(r: &mut Reader<'_>) -> Result<JsonValue, ReadError> {
    Ok(match r.peek()? {
        Kind::Object => {
            let mut members = Vec::new();
            r.object(|r, name| {
                members.push((name.into_owned(), read_value(r)?));
                Ok(())
            })?;
            JsonValue::Object(members)
        }
        Kind::Array => {
            let mut items = Vec::new();
            r.array(|r| {
                items.push(read_value(r)?);
                Ok(())
            })?;
            JsonValue::Array(items)
        }
        Kind::String => JsonValue::String(r.string()?.into_owned()),
        Kind::Number => JsonValue::Number(r.number()?.to_string()),
        Kind::Bool => JsonValue::Bool(r.bool()?),
        Kind::Null => {
            r.null()?;
            JsonValue::Null
        }
    })
}

fn check_malformed(shown: &str) {
    assert!(
        shown.len() < 300,
        "malformed-response message is {} bytes",
        shown.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_do_not_panic() {
        let seeds: [&[u8]; 10] = [
            b"",
            b"\x00",
            b"\x00\xc8{\"CiphertextBlob\":\"AQID\",\"KeyId\":\"arn\",\"Plaintext\":\"AAAA\"}",
            b"\x00\xc8{\"KeyMetadata\":{\"KeyId\":\"k\",\"CreationDate\":1e400}}",
            b"\x01\x90{\"__type\":\"a#b:c\",\"message\":\"m\"}",
            b"\x01\x93<ErrorResponse><Error><Code>X</Code><Message>&amp;&lt",
            b"\x01\xf6<html><title>",
            b"\x01\xf6<html><title></title>",
            b"\xff\xff\xff\xfe\xfd",
            b"\x01\x90{\"__type\":\"\\ud800\"}",
        ];
        for seed in seeds {
            kms_response(seed);
            kms_request(seed);
        }
        let mut big = vec![0x01, 0x90];
        big.extend_from_slice(b"{\"__type\":\"");
        big.extend(core::iter::repeat_n(b'x', 100_000));
        big.extend_from_slice(b"\",\"message\":\"");
        big.extend(core::iter::repeat_n(b'y', 100_000));
        big.extend_from_slice(b"\"}");
        kms_response(&big);
        kms_request(b"alias/k\0secret\0purpose\0\"quoted\"\n");
    }

    #[test]
    fn json_value_reads_every_type() {
        let v = json_value(br#" {"a": [1, -2.5e3, "\u00e9", true, null, {}], "a": false} "#);
        let want = JsonValue::Object(vec![
            (
                "a".to_string(),
                JsonValue::Array(vec![
                    JsonValue::Number("1".to_string()),
                    JsonValue::Number("-2.5e3".to_string()),
                    JsonValue::String("é".to_string()),
                    JsonValue::Bool(true),
                    JsonValue::Null,
                    JsonValue::Object(Vec::new()),
                ]),
            ),
            ("a".to_string(), JsonValue::Bool(false)),
        ]);
        assert_eq!(v, Some(want));
        assert_eq!(json_value(b"[1] x"), None);
        assert_eq!(json_value(&b"[".repeat(100_000)), None);
    }
}
