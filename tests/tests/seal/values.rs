//! Whole stored values through the seal: a `multiwrapvalue:1` entry's AWS KMS slots are found
//! by their key ARN, opened current key first, rewrapped in place with the framing, generation
//! and other seals' slots kept; a value without AWS KMS slots is refused without a KMS call.

use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::{BlobInfo, KeyInfo, MultiWrapValue, StoredValue};
use kms_seal_core::seal::{IntegrityError, Seal, SealError, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::mock_kms::{FakeRuntime, MockKms};

const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIDMOCKACCESSKEY";
const SECRET: &str = "mock-secret-key";

fn foreign_slot() -> BlobInfo {
    BlobInfo {
        ciphertext: b"vault:v1:transit ciphertext".to_vec(),
        key_info: Some(KeyInfo {
            key_id: "transit/unseal".into(),
            ..KeyInfo::default()
        }),
        ..BlobInfo::default()
    }
}

#[test]
fn is_aws_kms_reads_the_key_arn() {
    let with = |id: &str| BlobInfo {
        key_info: Some(KeyInfo {
            key_id: id.into(),
            ..KeyInfo::default()
        }),
        ..BlobInfo::default()
    };
    assert!(with("arn:aws:kms:us-east-1:111122223333:key/abc").is_aws_kms());
    assert!(with("arn:aws-cn:kms:cn-north-1:111122223333:alias/x").is_aws_kms());
    assert!(!with("arn:aws:iam::111122223333:role/kms").is_aws_kms());
    assert!(!with("transit/unseal").is_aws_kms());
    assert!(!BlobInfo::default().is_aws_kms());
}

#[test]
fn multi_values_decrypt_and_rewrap_in_place() {
    let kms = MockKms::new(REGION);
    kms.add_credentials(ACCESS_KEY, SECRET);
    let key_a = kms.create_key();
    kms.set_alias("alias/vault", &key_a);
    let runtime = FakeRuntime::new(Timestamp(1_767_225_600));
    let settings = SealSettings::for_region("alias/vault", REGION).unwrap();
    let mut seal = Seal::new(
        settings,
        &kms,
        Credentials::new(ACCESS_KEY, SECRET, None, None),
        &runtime,
    );
    seal.init().unwrap();

    let ours = seal.encrypt(b"root key", Some(b"core/keyring")).unwrap();
    let mut value = StoredValue::Multi(MultiWrapValue {
        generation: 3,
        slots: vec![foreign_slot(), ours.clone()],
    });
    assert!(seal.is_value_up_to_date(&value));
    assert_eq!(
        seal.decrypt_value(&value, Some(b"core/keyring"))
            .unwrap()
            .as_slice(),
        b"root key"
    );
    // The foreign slot was never sent to KMS: one Decrypt for our slot only.
    assert_eq!(kms.count("Decrypt"), 1);

    // Rotate: the alias moves to key B, the value is no longer up to date.
    let key_b = kms.create_key();
    kms.set_alias("alias/vault", &key_b);
    seal.init().unwrap();
    assert!(!seal.is_value_up_to_date(&value));
    assert!(
        seal.rewrap_value(&mut value, Some(b"core/keyring"))
            .unwrap()
    );
    assert!(seal.is_value_up_to_date(&value));
    let StoredValue::Multi(multi) = &value else {
        panic!("framing kept")
    };
    assert_eq!(multi.generation, 3);
    assert_eq!(multi.slots[0], foreign_slot());
    assert_ne!(multi.slots[1].key_id(), ours.key_id());
    assert_eq!(
        seal.decrypt_value(&value, Some(b"core/keyring"))
            .unwrap()
            .as_slice(),
        b"root key"
    );
    // Nothing left to do the second time.
    assert!(
        !seal
            .rewrap_value(&mut value, Some(b"core/keyring"))
            .unwrap()
    );

    // A wrong AAD fails the rewrap and leaves the value as it was.
    let mut bare = StoredValue::Bare(ours);
    let before = bare.clone();
    assert!(seal.rewrap_value(&mut bare, Some(b"other")).is_err());
    assert_eq!(bare, before);

    // No AWS KMS slot at all: refused, no KMS call.
    let calls = kms.request_count();
    let foreign = StoredValue::Multi(MultiWrapValue {
        generation: 1,
        slots: vec![foreign_slot()],
    });
    match seal.decrypt_value(&foreign, None) {
        Err(SealError::Integrity(IntegrityError::NoAwsKmsSlot)) => {}
        other => panic!("expected NoAwsKmsSlot, got {other:?}"),
    }
    assert_eq!(kms.request_count(), calls);
    assert!(seal.is_value_up_to_date(&foreign));
}
