//! Property tests for the envelope: encode/decode round trips of every message, decoding of
//! arbitrary and mutated bytes, and AES-GCM authentication of every bit.

use kms_seal_core::envelope::{
    self, BlobInfo, BlobInfoRef, DecodedValue, KeyInfo, KeyInfoRef, MultiWrapValue,
    MultiWrapValueRef, StoredValue, aead,
};
use kms_seal_core::fuzzing::envelope::{envelope_decode, envelope_open};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

/// Mostly small numbers (defaults and real enum values), sometimes anything.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 0..4u64, any::<u64>()]
}

fn key_info() -> impl Strategy<Value = KeyInfo> {
    (
        (number(), number(), ".{0,12}", ".{0,6}", bytes(40), number()),
        (
            number(),
            prop::collection::vec(number(), 0..5),
            bytes(8),
            number(),
            number(),
        ),
    )
        .prop_map(
            |(
                (mechanism, hmac_mechanism, key_id, hmac_key_id, wrapped_key, flags),
                (key_type, key_purposes, key, key_encoding, wrapped_key_encoding),
            )| KeyInfo {
                mechanism,
                hmac_mechanism,
                key_id,
                hmac_key_id,
                wrapped_key,
                flags,
                key_type,
                key_purposes,
                key,
                key_encoding,
                wrapped_key_encoding,
            },
        )
}

fn blob_info() -> impl Strategy<Value = BlobInfo> {
    (
        bytes(60),
        bytes(12),
        bytes(4),
        any::<bool>(),
        prop::option::of(key_info()),
        ".{0,10}",
        bytes(4),
        bytes(10),
    )
        .prop_map(
            |(ciphertext, iv, hmac, wrapped, key_info, value_path, plaintext, client_data)| {
                BlobInfo {
                    ciphertext,
                    iv,
                    hmac,
                    wrapped,
                    key_info,
                    value_path,
                    plaintext,
                    client_data,
                }
            },
        )
}

fn multi_wrap_value() -> impl Strategy<Value = MultiWrapValue> {
    (number(), prop::collection::vec(blob_info(), 0..4))
        .prop_map(|(generation, slots)| MultiWrapValue { generation, slots })
}

fn decoded_value() -> impl Strategy<Value = DecodedValue> {
    (
        prop_oneof![
            blob_info().prop_map(StoredValue::Bare),
            multi_wrap_value().prop_map(StoredValue::Multi),
        ],
        any::<bool>(),
    )
        .prop_map(|(value, canary)| DecodedValue { value, canary })
}

proptest! {
    #[test]
    fn key_info_round_trips(info in key_info()) {
        let bytes = info.encode();
        prop_assert_eq!(bytes.len(), info.encoded_len());
        prop_assert_eq!(&KeyInfo::decode(&bytes).unwrap(), &info);
        let r = KeyInfoRef::decode(&bytes).unwrap();
        prop_assert_eq!(KeyInfo::from(r), info);
    }

    #[test]
    fn blob_info_round_trips(blob in blob_info()) {
        let bytes = blob.encode();
        prop_assert_eq!(bytes.len(), blob.encoded_len());
        prop_assert_eq!(&BlobInfo::decode(&bytes).unwrap(), &blob);
        let r = BlobInfoRef::decode(&bytes).unwrap();
        prop_assert_eq!(r.mechanism(), blob.mechanism());
        prop_assert_eq!(r.key_id(), blob.key_id());
        prop_assert_eq!(BlobInfo::from(r), blob);
    }

    #[test]
    fn multi_wrap_value_round_trips(value in multi_wrap_value()) {
        let bytes = value.encode();
        prop_assert_eq!(bytes.len(), value.encoded_len());
        prop_assert_eq!(&MultiWrapValue::decode(&bytes).unwrap(), &value);
        let r = MultiWrapValueRef::decode(&bytes).unwrap();
        prop_assert_eq!(r.slots().len(), value.slots.len());
        prop_assert_eq!(MultiWrapValue::from(r), value);
    }

    #[test]
    fn stored_value_round_trips_with_and_without_canary(value in decoded_value()) {
        let bytes = value.encode();
        prop_assert_eq!(bytes.len(), value.value.encoded_len(value.canary));
        prop_assert!(!value.canary || bytes.last() == Some(&envelope::CANARY));
        let decoded = envelope::decode_stored_value(&bytes).unwrap();
        prop_assert_eq!(&decoded, &value);
        let r = envelope::decode_stored_value_ref(&bytes).unwrap();
        prop_assert_eq!(r.canary, value.canary);
        prop_assert_eq!(r.value.generation(), value.value.generation());
        prop_assert_eq!(r.value.slots().len(), value.value.slots().len());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(300)) {
        envelope_decode(&data);
    }

    #[test]
    fn mutated_encodings_never_panic(
        value in decoded_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = value.encode();
        if !bytes.is_empty() {
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            envelope_decode(&bytes);
            envelope_decode(&bytes[..cut.index(bytes.len())]);
        }
    }

    #[test]
    fn seal_open_round_trips(
        key in any::<[u8; 32]>(),
        iv in any::<[u8; 12]>(),
        plaintext in bytes(2048),
        aad in prop::option::of(bytes(64)),
    ) {
        let key = aead::DataKey::from_bytes(key);
        let iv = aead::Iv::from_bytes(iv);
        let sealed = aead::seal(&key, &iv, &plaintext, aad.as_deref());
        prop_assert_eq!(sealed.len(), plaintext.len() + aead::TAG_LEN);
        let opened = aead::open(&key, &iv, &sealed, aad.as_deref()).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn fuzz_open_entry_point_holds(input in bytes(200)) {
        envelope_open(&input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Flipping any single bit of a small sealed value, of its IV or of its AAD makes open
    /// fail; every bit is tried.
    #[test]
    fn every_single_bit_flip_fails_to_open(
        key in any::<[u8; 32]>(),
        iv in any::<[u8; 12]>(),
        plaintext in bytes(24),
        aad in bytes(8),
    ) {
        let key = aead::DataKey::from_bytes(key);
        let iv_value = aead::Iv::from_bytes(iv);
        let sealed = aead::seal(&key, &iv_value, &plaintext, Some(&aad));
        prop_assert!(aead::open(&key, &iv_value, &sealed, Some(&aad)).is_ok());
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(
                aead::open(&key, &iv_value, &bad, Some(&aad)),
                Err(aead::OpenError),
                "bit {} of the sealed value", bit
            );
        }
        for bit in 0..iv.len() * 8 {
            let mut bad = iv;
            bad[bit / 8] ^= 1 << (bit % 8);
            let bad = aead::Iv::from_bytes(bad);
            prop_assert!(aead::open(&key, &bad, &sealed, Some(&aad)).is_err(), "iv bit {}", bit);
        }
        for bit in 0..aad.len() * 8 {
            let mut bad = aad.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(aead::open(&key, &iv_value, &sealed, Some(&bad)).is_err(), "aad bit {}", bit);
        }
        // Dropping or adding a byte fails too.
        prop_assert!(aead::open(&key, &iv_value, &sealed[..sealed.len() - 1], Some(&aad)).is_err());
        let mut longer = sealed.clone();
        longer.push(0);
        prop_assert!(aead::open(&key, &iv_value, &longer, Some(&aad)).is_err());
    }
}
