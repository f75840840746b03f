//! Tampering with stored values: for a value sealed by [`Seal::encrypt`] and stored the way
//! Vault stores it, flip one bit of the stored bytes, decode, and decrypt through the seal
//! (with the in-memory [`MockKms`], which rejects any altered KMS ciphertext).
//!
//! The property: decryption never returns a wrong plaintext. Every flip makes decoding or
//! decryption fail with a format, integrity or KMS error — except flips that only change
//! metadata decryption does not read (the recorded key id, as in Vault: `Decrypt` sends only
//! the ciphertext blob), which must give back exactly the original plaintext. The test checks
//! that those flips left the ciphertext, IV, wrapped key and mechanism untouched.
//!
//! Every bit position is tried for small values (bare, canary, multiwrapvalue framing and
//! mechanism 0); proptest samples positions of a large value.

use kms_seal_core::envelope::{
    BlobInfo, DecodedValue, Mechanism, MultiWrapValue, StoredValue, decode_stored_value,
};
use kms_seal_core::kms::Endpoint;
use kms_seal_core::seal::{ErrorKind, Seal, SealError, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::mock_kms::{FakeRuntime, MockKey, MockKms};
use proptest::prelude::*;

const REGION: &str = "us-east-1";
const ACCESS_KEY_ID: &str = "AKIDBITFLIP000000001";
const SECRET_KEY: &str = "bitflip/secret/key/not-a-real-secret000";
const AAD: &[u8] = b"core/hsm/barrier-unseal-keys";

type MockSeal<'k> = Seal<&'k MockKms, kms_seal_core::credentials::Credentials, FakeRuntime>;

fn kms() -> (MockKms, MockKey) {
    let kms = MockKms::new(REGION);
    kms.add_credentials(ACCESS_KEY_ID, SECRET_KEY);
    let key = kms.create_key();
    (kms, key)
}

fn seal<'k>(kms: &'k MockKms, key: &MockKey) -> MockSeal<'k> {
    let endpoint = Endpoint::for_region(REGION).expect("a valid region");
    Seal::new(
        SealSettings::new(key.arn.clone(), endpoint),
        kms,
        kms_seal_core::credentials::Credentials::new(ACCESS_KEY_ID, SECRET_KEY, None, None),
        FakeRuntime::new(Timestamp(1_795_976_393)),
    )
}

/// What decryption depends on: mechanism, ciphertext, IV and wrapped key.
fn decryption_inputs(blob: &BlobInfo) -> (Mechanism, Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
    (
        blob.mechanism(),
        blob.ciphertext.clone(),
        blob.iv.clone(),
        blob.key_info.as_ref().map(|k| k.wrapped_key.clone()),
    )
}

/// How the tampered values fared: flips the decoder refused, tampered slots whose decryption
/// failed, and flips that changed only metadata (a slot's key id, or the generation).
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    format_errors: usize,
    decrypt_errors: usize,
    metadata_only: usize,
}

/// Flips bit `bit` of `stored`, decodes and decrypts every slot; panics if any slot yields a
/// plaintext other than `original`, or yields it although its decryption inputs changed.
fn flip_and_decrypt(
    seal: &MockSeal<'_>,
    stored: &[u8],
    reference: &DecodedValue,
    original: &[u8],
    bit: usize,
    tally: &mut Tally,
) {
    let mut tampered = stored.to_vec();
    tampered[bit / 8] ^= 1 << (bit % 8);
    let decoded = match decode_stored_value(&tampered) {
        Ok(decoded) => decoded,
        Err(_) => {
            tally.format_errors += 1;
            return;
        }
    };
    let reference_slots = reference.value.slots();
    let mut tampered_slots = 0;
    for (i, slot) in decoded.value.slots().iter().enumerate() {
        let untouched = reference_slots.contains(slot);
        match seal.decrypt(slot, Some(AAD)) {
            Ok(plaintext) => {
                assert_eq!(
                    plaintext.as_slice(),
                    original,
                    "bit {bit}: a tampered value decrypted to a different plaintext"
                );
                let same_inputs = reference_slots
                    .iter()
                    .any(|r| decryption_inputs(r) == decryption_inputs(slot));
                assert!(
                    same_inputs,
                    "bit {bit}, slot {i}: changed decryption inputs still gave the plaintext"
                );
                if !untouched {
                    tally.metadata_only += 1;
                    tampered_slots += 1;
                }
            }
            Err(err) => {
                check_error(bit, &err);
                tally.decrypt_errors += 1;
                tampered_slots += 1;
            }
        }
    }
    if tampered_slots == 0 {
        // Every slot is intact: the flip hit framing metadata (the generation).
        tally.metadata_only += 1;
    }
}

fn check_error(bit: usize, err: &SealError) {
    // Integrity (AES-GCM, lengths, mechanism, KMS InvalidCiphertext) or a KMS error; never a
    // transport, credentials or configuration problem, which would mislead the operator.
    assert!(
        matches!(err.kind(), ErrorKind::Integrity | ErrorKind::Kms),
        "bit {bit}: unexpected error kind {:?}: {err}",
        err.kind()
    );
    assert_eq!(err.attempts().unwrap_or(1), 1, "bit {bit}: retried: {err}");
}

/// Tries every bit of `stored`; returns the tally.
fn every_bit(seal: &MockSeal<'_>, stored: &[u8], original: &[u8]) -> Tally {
    let reference = decode_stored_value(stored).expect("the untampered value decodes");
    for slot in reference.value.slots() {
        assert_eq!(seal.decrypt(slot, Some(AAD)).unwrap().as_slice(), original);
    }
    let mut tally = Tally::default();
    for bit in 0..stored.len() * 8 {
        flip_and_decrypt(seal, stored, &reference, original, bit, &mut tally);
    }
    tally
}

/// The bits of the key id's bytes, the only field decryption does not read.
fn key_id_bits(stored: &[u8], key_id: &str) -> usize {
    let needle = key_id.as_bytes();
    stored
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
        * needle.len()
        * 8
}

#[test]
fn every_bit_of_a_bare_blob() {
    let (kms, key) = kms();
    let seal = seal(&kms, &key);
    let original = b"[\"dGhlIGJhcnJpZXIga2V5\"]";
    let blob = seal.encrypt(original, Some(AAD)).unwrap();
    let stored = StoredValue::Bare(blob).encode();
    let tally = every_bit(&seal, &stored, original);
    eprintln!("bare blob, {} bits: {tally:?}", stored.len() * 8);
    // Only flips inside the key id's text (plus possibly its tag byte) leave decryption intact.
    assert!(
        tally.metadata_only <= key_id_bits(&stored, &key.arn) + 8,
        "{tally:?}"
    );
    assert!(
        tally.metadata_only >= key_id_bits(&stored, &key.arn) / 2,
        "{tally:?}"
    );
    assert!(
        tally.format_errors > 0 && tally.decrypt_errors > 0,
        "{tally:?}"
    );
}

#[test]
fn every_bit_of_a_canary_entry_and_a_multiwrapvalue() {
    let (kms, key) = kms();
    let seal = seal(&kms, &key);
    let original = b"recovery key bytes \x00\x01\x02";
    let first = seal.encrypt(original, Some(AAD)).unwrap();
    let second = seal.encrypt(original, Some(AAD)).unwrap();

    let canary = StoredValue::Bare(first.clone()).encode_with_canary();
    let tally = every_bit(&seal, &canary, original);
    eprintln!("canary entry, {} bits: {tally:?}", canary.len() * 8);
    assert!(
        tally.metadata_only <= key_id_bits(&canary, &key.arn) + 8,
        "{tally:?}"
    );

    let multi = StoredValue::Multi(MultiWrapValue {
        generation: 3,
        slots: vec![first, second],
    })
    .encode();
    let tally = every_bit(&seal, &multi, original);
    eprintln!("multiwrapvalue, {} bits: {tally:?}", multi.len() * 8);
    // Key ids of both slots, plus the generation varint.
    assert!(
        tally.metadata_only <= key_id_bits(&multi, &key.arn) + 24,
        "{tally:?}"
    );
    assert!(tally.decrypt_errors > 0, "{tally:?}");
}

#[test]
fn every_bit_of_a_mechanism_0_blob() {
    let (kms, key) = kms();
    let seal = seal(&kms, &key);
    let original = b"old vault data sealed with kms encrypt";
    // Old Vault data: the KMS ciphertext of the value itself, no key_info.
    let blob = BlobInfo {
        ciphertext: kms.encrypt_direct(&key, original),
        ..BlobInfo::default()
    };
    let stored = StoredValue::Bare(blob).encode();
    let tally = every_bit(&seal, &stored, original);
    eprintln!("mechanism 0 blob, {} bits: {tally:?}", stored.len() * 8);
    assert_eq!(tally.metadata_only, 0, "mechanism 0 has no unread metadata");
}

/// A 64 KiB value sealed once for the sampled test.
struct Large {
    kms: MockKms,
    key: MockKey,
    original: Vec<u8>,
    stored: Vec<u8>,
}

fn large() -> &'static Large {
    static LARGE: std::sync::OnceLock<Large> = std::sync::OnceLock::new();
    LARGE.get_or_init(|| {
        let (kms, key) = kms();
        let original: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 31 % 251) as u8).collect();
        let blob = seal(&kms, &key).encrypt(&original, Some(AAD)).unwrap();
        let stored = StoredValue::Bare(blob).encode();
        Large {
            kms,
            key,
            original,
            stored,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A 64 KiB value: 32 x 16 sampled bit positions.
    #[test]
    fn sampled_bits_of_a_large_value(bits in prop::collection::vec(any::<usize>(), 16)) {
        let large = large();
        let seal = seal(&large.kms, &large.key);
        let reference = decode_stored_value(&large.stored).unwrap();
        let mut tally = Tally::default();
        for bit in bits {
            let bit = bit % (large.stored.len() * 8);
            flip_and_decrypt(&seal, &large.stored, &reference, &large.original, bit, &mut tally);
        }
        prop_assert!(tally.metadata_only <= 16);
    }
}
