//! Fuzz entry points for the KMS protocol: response parsers, the error parser and the request
//! writers.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::http::Response;
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
    let v: serde_json::Value =
        serde_json::from_slice(&body).expect("request bodies are valid JSON");
    assert_eq!(v["KeyId"].as_str(), Some(key_id.as_str()));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v["Plaintext"].as_str().expect("Plaintext is a string"))
        .expect("Plaintext is base64");
    assert_eq!(decoded, plaintext);
    for (k, val) in &context {
        assert_eq!(
            v["EncryptionContext"][k.as_str()].as_str(),
            Some(val.as_str())
        );
    }
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
}
