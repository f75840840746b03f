//! Round trips of every KMS JSON message the core writes or reads, with adversarial strings
//! (quotes, backslashes, control characters, non-ASCII, `</script>`-like text) and binary
//! blobs.
//!
//! - Requests: each `to_body()` is read back by an independent JSON parser (serde_json into
//!   `Value`) and must carry exactly the fields given; values outside KMS's limits must be
//!   refused with the matching `RequestError`, never written.
//! - Responses: bodies written by serde_json from generated values must parse back to those
//!   values, including with unknown fields and members in any order.
//!
//! (The envelope's protobuf messages have their round trips in `envelope/properties.rs`.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::kms::{
    DataKeySpec, DecryptRequest, DecryptResponse, DescribeKeyRequest, EncryptRequest,
    EncryptResponse, GenerateDataKeyRequest, GenerateDataKeyResponse, KeyMetadata,
    MAX_CIPHERTEXT_LEN, MAX_GRANT_TOKENS, MAX_KEY_ID_LEN, MAX_PLAINTEXT_LEN, ReEncryptRequest,
    ReEncryptResponse, RequestError,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Strings that stress a hand-written JSON writer.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9:/_-]{1,40}",
        2 => ".{1,20}",
        1 => prop::collection::vec(
            prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("\u{0}".to_owned()),
                Just("\n\r\t".to_owned()),
                Just("\u{1f}\u{7f}".to_owned()),
                Just("\u{2028}\u{2029}".to_owned()),
                Just("é€😀".to_owned()),
                Just("</script>".to_owned()),
                Just("\\u0000".to_owned()),
                "[a-z]{1,4}",
            ],
            1..8,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn blob(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=max)
}

fn context() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(text(), text(), 0..4)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
}

fn grant_tokens() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..=MAX_GRANT_TOKENS)
}

fn parse(body: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(body).expect("request bodies are valid JSON");
    assert!(value.is_object());
    value
}

fn decoded(v: &Value, name: &str) -> Vec<u8> {
    STANDARD
        .decode(v[name].as_str().expect("a blob is a string"))
        .expect("blobs are standard base64")
}

fn context_of(v: &Value, name: &str) -> Vec<(String, String)> {
    match v.get(name) {
        None => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().expect("context values are strings").to_owned(),
                )
            })
            .collect(),
        Some(other) => panic!("{name} is not an object: {other}"),
    }
}

fn tokens_of(v: &Value) -> Vec<String> {
    match v.get("GrantTokens") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().expect("grant tokens are strings").to_owned())
            .collect(),
        Some(other) => panic!("GrantTokens is not an array: {other}"),
    }
}

fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encrypt_request(key_id in text(), plaintext in blob(MAX_PLAINTEXT_LEN),
                       ctx in context(), tokens in grant_tokens(),
                       algorithm in prop::option::of(text())) {
        let request = EncryptRequest {
            key_id: &key_id,
            plaintext: &plaintext,
            encryption_context: &ctx,
            grant_tokens: &tokens,
            encryption_algorithm: algorithm.as_deref(),
        };
        let body = request.to_body().expect("values within the limits are accepted");
        let v = parse(&body);
        prop_assert_eq!(v["KeyId"].as_str(), Some(key_id.as_str()));
        prop_assert_eq!(decoded(&v, "Plaintext"), plaintext);
        prop_assert_eq!(sorted(context_of(&v, "EncryptionContext")), sorted(ctx.clone()));
        prop_assert_eq!(tokens_of(&v), tokens);
        prop_assert_eq!(v.get("EncryptionAlgorithm").and_then(Value::as_str), algorithm.as_deref());
    }

    #[test]
    fn decrypt_request(ciphertext in blob(MAX_CIPHERTEXT_LEN), ctx in context(),
                       tokens in grant_tokens(), key_id in prop::option::of(text())) {
        let request = DecryptRequest {
            ciphertext_blob: &ciphertext,
            encryption_context: &ctx,
            grant_tokens: &tokens,
            key_id: key_id.as_deref(),
            encryption_algorithm: None,
        };
        let v = parse(&request.to_body().expect("values within the limits are accepted"));
        prop_assert_eq!(decoded(&v, "CiphertextBlob"), ciphertext);
        prop_assert_eq!(sorted(context_of(&v, "EncryptionContext")), sorted(ctx.clone()));
        prop_assert_eq!(tokens_of(&v), tokens);
        prop_assert_eq!(v.get("KeyId").and_then(Value::as_str), key_id.as_deref());
        prop_assert!(v.get("Plaintext").is_none());
    }

    #[test]
    fn generate_data_key_request(key_id in text(), ctx in context(), tokens in grant_tokens(),
                                 which in 0u8..3, n in 1u32..=1024) {
        let spec = match which {
            0 => DataKeySpec::Aes256,
            1 => DataKeySpec::Aes128,
            _ => DataKeySpec::Bytes(n),
        };
        let request = GenerateDataKeyRequest {
            key_id: &key_id,
            spec,
            encryption_context: &ctx,
            grant_tokens: &tokens,
        };
        let v = parse(&request.to_body().expect("values within the limits are accepted"));
        prop_assert_eq!(v["KeyId"].as_str(), Some(key_id.as_str()));
        match spec {
            DataKeySpec::Aes256 => prop_assert_eq!(v["KeySpec"].as_str(), Some("AES_256")),
            DataKeySpec::Aes128 => prop_assert_eq!(v["KeySpec"].as_str(), Some("AES_128")),
            DataKeySpec::Bytes(n) => prop_assert_eq!(v["NumberOfBytes"].as_u64(), Some(u64::from(n))),
            other => panic!("a spec this test does not make: {other:?}"),
        }
        prop_assert_eq!(sorted(context_of(&v, "EncryptionContext")), sorted(ctx.clone()));
        prop_assert_eq!(tokens_of(&v), tokens);
    }

    #[test]
    fn describe_key_and_re_encrypt_requests(key_id in text(), dest in text(),
                                            source in prop::option::of(text()),
                                            ciphertext in blob(512), source_ctx in context(),
                                            dest_ctx in context(), tokens in grant_tokens()) {
        let v = parse(&DescribeKeyRequest { key_id: &key_id, grant_tokens: &tokens }
            .to_body()
            .expect("values within the limits are accepted"));
        prop_assert_eq!(v["KeyId"].as_str(), Some(key_id.as_str()));
        prop_assert_eq!(tokens_of(&v), tokens.clone());

        let request = ReEncryptRequest {
            ciphertext_blob: &ciphertext,
            destination_key_id: &dest,
            source_key_id: source.as_deref(),
            source_encryption_context: &source_ctx,
            destination_encryption_context: &dest_ctx,
            grant_tokens: &tokens,
        };
        let v = parse(&request.to_body().expect("values within the limits are accepted"));
        prop_assert_eq!(decoded(&v, "CiphertextBlob"), ciphertext);
        prop_assert_eq!(v["DestinationKeyId"].as_str(), Some(dest.as_str()));
        prop_assert_eq!(v.get("SourceKeyId").and_then(Value::as_str), source.as_deref());
        prop_assert_eq!(sorted(context_of(&v, "SourceEncryptionContext")), sorted(source_ctx.clone()));
        prop_assert_eq!(sorted(context_of(&v, "DestinationEncryptionContext")), sorted(dest_ctx.clone()));
        prop_assert_eq!(tokens_of(&v), tokens);
    }

    #[test]
    fn out_of_limit_values_are_refused(extra in 1usize..64, which in 0u8..6) {
        let long_key = "k".repeat(MAX_KEY_ID_LEN + extra);
        let big = vec![1u8; MAX_PLAINTEXT_LEN + extra];
        let huge = vec![1u8; MAX_CIPHERTEXT_LEN + extra];
        let many: Vec<String> = (0..MAX_GRANT_TOKENS + extra).map(|i| format!("t{i}")).collect();
        let dup = vec![("a".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())];
        let empty_key = vec![(String::new(), "v".to_owned())];
        let result = match which {
            0 => EncryptRequest::new(&long_key, b"x").to_body().map(|_| ()),
            1 => EncryptRequest::new("k", &big).to_body().map(|_| ()),
            2 => DecryptRequest::new(&huge).to_body().map(|_| ()),
            3 => EncryptRequest { grant_tokens: &many, ..EncryptRequest::new("k", b"x") }.to_body().map(|_| ()),
            4 => EncryptRequest { encryption_context: &dup, ..EncryptRequest::new("k", b"x") }.to_body().map(|_| ()),
            _ => DecryptRequest { encryption_context: &empty_key, ..DecryptRequest::new(b"c") }.to_body().map(|_| ()),
        };
        let expected = match which {
            0 => RequestError::KeyIdTooLong(MAX_KEY_ID_LEN + extra),
            1 => RequestError::PlaintextLength(MAX_PLAINTEXT_LEN + extra),
            2 => RequestError::CiphertextLength(MAX_CIPHERTEXT_LEN + extra),
            3 => RequestError::TooManyGrantTokens(MAX_GRANT_TOKENS + extra),
            4 => RequestError::DuplicateContextKey,
            _ => RequestError::EmptyContextKey,
        };
        prop_assert_eq!(result, Err(expected));
    }

    #[test]
    fn responses_parse_back(ciphertext in blob(300), plaintext in blob(64), key_id in text(),
                            other in text(), unknown in text(), reversed in any::<bool>()) {
        let b64 = |b: &[u8]| Value::String(STANDARD.encode(b));
        let object = |pairs: Vec<(&str, Value)>| {
            let mut pairs = pairs;
            pairs.push(("UnknownMember", json!({ "x": [unknown.clone(), 1, null] })));
            if reversed {
                pairs.reverse();
            }
            let map: Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            serde_json::to_vec(&Value::Object(map)).expect("a Value serializes")
        };

        let r = EncryptResponse::parse(&object(vec![
            ("CiphertextBlob", b64(&ciphertext)),
            ("KeyId", json!(key_id)),
            ("EncryptionAlgorithm", json!("SYMMETRIC_DEFAULT")),
        ])).expect("an Encrypt response parses");
        prop_assert_eq!(&r.ciphertext_blob, &ciphertext);
        prop_assert_eq!(&r.key_id, &key_id);

        let r = DecryptResponse::parse(&object(vec![
            ("Plaintext", b64(&plaintext)),
            ("KeyId", json!(key_id)),
        ])).expect("a Decrypt response parses");
        prop_assert_eq!(r.plaintext.as_slice(), plaintext.as_slice());
        prop_assert_eq!(r.key_id.as_deref(), Some(key_id.as_str()));

        let r = GenerateDataKeyResponse::parse(&object(vec![
            ("CiphertextBlob", b64(&ciphertext)),
            ("Plaintext", b64(&plaintext)),
            ("KeyId", json!(key_id)),
        ])).expect("a GenerateDataKey response parses");
        prop_assert_eq!(&r.ciphertext_blob, &ciphertext);
        prop_assert_eq!(r.plaintext.as_slice(), plaintext.as_slice());

        let r = ReEncryptResponse::parse(&object(vec![
            ("CiphertextBlob", b64(&ciphertext)),
            ("SourceKeyId", json!(other)),
            ("KeyId", json!(key_id)),
        ])).expect("a ReEncrypt response parses");
        prop_assert_eq!(&r.ciphertext_blob, &ciphertext);
        prop_assert_eq!(r.source_key_id.as_deref(), Some(other.as_str()));
        prop_assert_eq!(&r.key_id, &key_id);

        let metadata = object(vec![(
            "KeyMetadata",
            json!({
                "KeyId": key_id,
                "Arn": other,
                "Enabled": true,
                "KeyState": "Enabled",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "CreationDate": 1_795_976_393.657_768,
                "Description": unknown,
            }),
        )]);
        let r = KeyMetadata::parse(&metadata).expect("a DescribeKey response parses");
        prop_assert_eq!(r.arn_or_key_id(), if other.is_empty() { key_id.as_str() } else { other.as_str() });
        prop_assert!(r.unusable_reason().is_none());
    }
}
