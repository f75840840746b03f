//! Golden vectors for the envelope, made by an independent implementation (Python protobuf and
//! cryptography's AESGCM; see tests/vectors/envelope/README.md).

use kms_seal_core::envelope::{
    self, BlobInfo, DecodedValue, KeyInfo, Mechanism, MultiWrapValue, StoredValue, StoredValueRef,
    aead,
};
use serde_json::Value;

const VECTORS: &str = include_str!("../../vectors/envelope/vectors.json");

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
    let list = doc["vectors"].as_array().expect("a vectors array").clone();
    assert!(
        list.len() >= 16,
        "expected at least 16 vectors, found {}",
        list.len()
    );
    list
}

fn hex(value: &Value) -> Vec<u8> {
    let s = value.as_str().expect("a hex string");
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

fn u64_of(value: &Value) -> u64 {
    value.as_u64().expect("an unsigned integer")
}

/// The `BlobInfo` a vector's slot describes, built from its fields alone (not by decoding).
fn expected_blob(slot: &Value) -> BlobInfo {
    let key_info = match &slot["key_info"] {
        Value::Null => None,
        k => Some(KeyInfo {
            mechanism: u64_of(&k["mechanism"]),
            hmac_mechanism: u64_of(&k["hmac_mechanism"]),
            key_id: k["key_id"].as_str().expect("key_id").into(),
            hmac_key_id: k["hmac_key_id"].as_str().expect("hmac_key_id").into(),
            wrapped_key: hex(&k["wrapped_key"]),
            flags: u64_of(&k["flags"]),
            key_type: u64_of(&k["key_type"]),
            key_purposes: k["key_purposes"]
                .as_array()
                .expect("key_purposes")
                .iter()
                .map(u64_of)
                .collect(),
            key: hex(&k["key"]),
            key_encoding: u64_of(&k["key_encoding"]),
            wrapped_key_encoding: u64_of(&k["wrapped_key_encoding"]),
        }),
    };
    BlobInfo {
        ciphertext: hex(&slot["ciphertext"]),
        iv: hex(&slot["iv"]),
        hmac: hex(&slot["hmac"]),
        wrapped: slot["wrapped"].as_bool().expect("wrapped"),
        key_info,
        value_path: slot["value_path"].as_str().expect("value_path").into(),
        plaintext: hex(&slot["plaintext"]),
        client_data: hex(&slot["client_data"]),
    }
}

fn expected_value(v: &Value) -> DecodedValue {
    let slots: Vec<BlobInfo> = v["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(expected_blob)
        .collect();
    let value = match v["form"].as_str().expect("form") {
        "bare" => {
            assert_eq!(slots.len(), 1);
            StoredValue::Bare(slots.into_iter().next().expect("one slot"))
        }
        "multi" => StoredValue::Multi(MultiWrapValue {
            generation: u64_of(&v["generation"]),
            slots,
        }),
        other => panic!("unknown form {other}"),
    };
    DecodedValue {
        value,
        canary: v["canary"].as_bool().expect("canary"),
    }
}

#[test]
fn owned_decoder_reads_every_vector() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let decoded = envelope::decode_stored_value(&hex(&v["stored"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, expected_value(&v), "{name}");
        assert_eq!(
            decoded.value.generation(),
            u64_of(&v["generation"]),
            "{name}"
        );
    }
}

#[test]
fn borrowed_decoder_reads_every_vector() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let stored = hex(&v["stored"]);
        let decoded =
            envelope::decode_stored_value_ref(&stored).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = expected_value(&v);
        assert_eq!(decoded.canary, expected.canary, "{name}");
        assert_eq!(
            decoded.value.generation(),
            expected.value.generation(),
            "{name}"
        );
        match (&decoded.value, &expected.value) {
            (StoredValueRef::Bare(_), StoredValue::Bare(_))
            | (StoredValueRef::Multi(_), StoredValue::Multi(_)) => {}
            (got, want) => panic!("{name}: form {got} vs {want:?}"),
        }
        assert_eq!(decoded.value.slots().len(), expected.value.slots().len());
        for (got, want) in decoded.value.slots().zip(expected.value.slots()) {
            assert_eq!(got.ciphertext(), want.ciphertext, "{name}");
            assert_eq!(got.iv(), want.iv, "{name}");
            assert_eq!(got.hmac(), want.hmac, "{name}");
            assert_eq!(got.wrapped(), want.wrapped, "{name}");
            assert_eq!(got.value_path(), want.value_path, "{name}");
            assert_eq!(got.plaintext(), want.plaintext, "{name}");
            assert_eq!(got.client_data(), want.client_data, "{name}");
            assert_eq!(got.mechanism(), want.mechanism(), "{name}");
            assert_eq!(got.key_id(), want.key_id(), "{name}");
            match (got.key_info(), &want.key_info) {
                (None, None) => {}
                (Some(k), Some(w)) => {
                    assert_eq!(k.mechanism_value(), w.mechanism, "{name}");
                    assert_eq!(k.hmac_mechanism(), w.hmac_mechanism, "{name}");
                    assert_eq!(k.key_id(), w.key_id, "{name}");
                    assert_eq!(k.hmac_key_id(), w.hmac_key_id, "{name}");
                    assert_eq!(k.wrapped_key(), w.wrapped_key, "{name}");
                    assert_eq!(k.flags(), w.flags, "{name}");
                    assert_eq!(k.key_type(), w.key_type, "{name}");
                    assert_eq!(k.key_purposes().collect::<Vec<_>>(), w.key_purposes);
                    assert_eq!(k.key(), w.key, "{name}");
                    assert_eq!(k.key_encoding(), w.key_encoding, "{name}");
                    assert_eq!(k.wrapped_key_encoding(), w.wrapped_key_encoding);
                }
                (got, want) => panic!("{name}: key_info {got:?} vs {want:?}"),
            }
        }
    }
}

#[test]
fn encoder_writes_the_canonical_bytes() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let canonical = hex(&v["canonical"]);
        // Re-encoding what we decoded...
        let decoded = envelope::decode_stored_value(&hex(&v["stored"])).unwrap();
        assert_eq!(decoded.encode(), canonical, "{name}: re-encoded");
        // ...and encoding a value built from the expected fields alone.
        let built = expected_value(&v);
        assert_eq!(built.encode(), canonical, "{name}: built");
        assert_eq!(
            built.value.encoded_len(built.canary),
            canonical.len(),
            "{name}"
        );
        // The canonical bytes decode to the same value.
        assert_eq!(envelope::decode_stored_value(&canonical).unwrap(), built);
    }
}

#[test]
fn each_slot_round_trips_alone() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        for slot in v["slots"].as_array().unwrap() {
            let bytes = hex(&slot["blob"]);
            let expected = expected_blob(slot);
            assert_eq!(BlobInfo::decode(&bytes).unwrap(), expected, "{name}");
            assert_eq!(expected.encode(), bytes, "{name}");
            if let Some(info) = &expected.key_info {
                let info_bytes = info.encode();
                assert_eq!(KeyInfo::decode(&info_bytes).unwrap(), *info, "{name}");
            }
        }
    }
}

#[test]
fn aead_matches_python_cryptography() {
    let mut checked = 0;
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        for slot in v["slots"].as_array().unwrap() {
            let Some(a) = slot.get("aead").filter(|a| !a.is_null()) else {
                continue;
            };
            let blob = expected_blob(slot);
            assert_eq!(blob.mechanism(), Mechanism::EnvelopeAesGcm, "{name}");
            let key = aead::DataKey::from_slice(&hex(&a["key"])).unwrap();
            let iv = aead::Iv::from_slice(&hex(&a["iv"])).unwrap();
            assert_eq!(iv.as_bytes().as_slice(), blob.iv, "{name}");
            let aad = (!a["aad"].is_null()).then(|| hex(&a["aad"]));
            let plaintext = hex(&a["plaintext"]);

            let opened = aead::open(&key, &iv, &blob.ciphertext, aad.as_deref())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(opened.as_slice(), plaintext, "{name}");
            let sealed = aead::seal(&key, &iv, &plaintext, aad.as_deref());
            assert_eq!(sealed, blob.ciphertext, "{name}");

            // The same through the in-place, allocation-free functions.
            let mut buf = blob.ciphertext.clone();
            let opened = aead::open_in_place(&key, &iv, &mut buf, aad.as_deref()).unwrap();
            assert_eq!(opened, plaintext.as_slice(), "{name}");
            let mut buf = plaintext.clone();
            buf.resize(plaintext.len() + aead::TAG_LEN, 0);
            let n =
                aead::seal_in_place(&key, &iv, &mut buf, plaintext.len(), aad.as_deref()).unwrap();
            assert_eq!(&buf[..n], blob.ciphertext, "{name}");

            // AAD: None and empty are the same; any other AAD fails.
            let other = match aad.as_deref() {
                None | Some([]) => {
                    let alt = if aad.is_none() { Some(&b""[..]) } else { None };
                    assert!(
                        aead::open(&key, &iv, &blob.ciphertext, alt).is_ok(),
                        "{name}"
                    );
                    b"x".to_vec()
                }
                Some(bytes) => bytes[1..].to_vec(),
            };
            assert_eq!(
                aead::open(&key, &iv, &blob.ciphertext, Some(&other)),
                Err(aead::OpenError),
                "{name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} aead slots checked");
}

#[test]
fn canary_vectors_are_told_apart() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let stored = hex(&v["stored"]);
        let canary = v["canary"].as_bool().unwrap();
        let decoded = envelope::decode_stored_value(&stored).unwrap();
        assert_eq!(decoded.canary, canary, "{name}");
        if canary {
            // Without the canary it is the same value, no canary.
            let bare = envelope::decode_stored_value(&stored[..stored.len() - 1]).unwrap();
            assert!(!bare.canary, "{name}");
            assert_eq!(bare.value, decoded.value, "{name}");
        } else {
            // With a canary appended, it is detected and the value is unchanged.
            let mut with = stored.clone();
            with.push(envelope::CANARY);
            let again = envelope::decode_stored_value(&with).unwrap();
            assert!(again.canary, "{name}");
            assert_eq!(again.value, decoded.value, "{name}");
        }
    }
}

#[test]
fn fuzz_entry_points_accept_vectors_and_their_prefixes() {
    for v in vectors() {
        let stored = hex(&v["stored"]);
        kms_seal_core::fuzzing::envelope::envelope_decode(&stored);
        for cut in 0..stored.len().min(200) {
            kms_seal_core::fuzzing::envelope::envelope_decode(&stored[..cut]);
        }
        for slot in v["slots"].as_array().unwrap() {
            if let Some(a) = slot.get("aead").filter(|a| !a.is_null()) {
                let mut input = hex(&a["key"]);
                input.extend(hex(&a["iv"]));
                let aad = if a["aad"].is_null() {
                    Vec::new()
                } else {
                    hex(&a["aad"])
                };
                input.push(u8::try_from(aad.len()).unwrap());
                input.extend(&aad);
                input.extend(hex(&slot["ciphertext"]));
                kms_seal_core::fuzzing::envelope::envelope_open(&input);
            }
        }
    }
}
