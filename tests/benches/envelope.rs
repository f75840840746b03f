//! Envelope benchmarks: AES-256-GCM seal+open at 32 B, 4 KiB and 1 MiB, and `BlobInfo`
//! decode/encode of a typical mechanism-1 blob.
//!
//! Run with `cargo bench -p kms-seal-tests --bench envelope`. No `RUSTFLAGS` are needed: the
//! `aes` and `polyval` crates pick AES-NI/CLMUL (or ARMv8 AES/PMULL) at run time.

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use kms_seal_core::envelope::{self, BlobInfo, BlobInfoRef, KeyInfo, Mechanism, aead};

fn main() {
    divan::main();
}

const SIZES: [usize; 3] = [32, 4096, 1 << 20];

fn key_iv() -> (aead::DataKey, aead::Iv) {
    (
        aead::DataKey::from_bytes([0x42; aead::KEY_LEN]),
        aead::Iv::from_bytes([0x24; aead::IV_LEN]),
    )
}

/// `seal` then `open` with the allocating API, as the seal uses it.
#[divan::bench(args = SIZES)]
fn seal_open(bencher: Bencher, len: usize) {
    let (key, iv) = key_iv();
    let plaintext = vec![0x5a; len];
    bencher.counter(BytesCount::new(len)).bench_local(|| {
        let sealed = aead::seal(&key, &iv, black_box(&plaintext), None);
        let opened = aead::open(&key, &iv, &sealed, None).expect("genuine seal opens");
        black_box(opened);
    });
}

/// `seal_in_place` then `open_in_place` on one buffer: no allocation at all.
#[divan::bench(args = SIZES)]
fn seal_open_in_place(bencher: Bencher, len: usize) {
    let (key, iv) = key_iv();
    let mut buffer = vec![0x5a; len + aead::TAG_LEN];
    bencher.counter(BytesCount::new(len)).bench_local(|| {
        let n = aead::seal_in_place(&key, &iv, &mut buffer, len, None).expect("room for tag");
        let opened =
            aead::open_in_place(&key, &iv, &mut buffer[..n], None).expect("genuine seal opens");
        black_box(opened.len());
    });
}

/// A mechanism-1 blob as the AWS KMS seal writes it: 64-byte plaintext, 12-byte IV, key ARN
/// and a 184-byte KMS ciphertext of the data key.
fn typical_blob() -> BlobInfo {
    let (key, iv) = key_iv();
    BlobInfo {
        ciphertext: aead::seal(&key, &iv, &[7; 64], None),
        iv: iv.as_bytes().to_vec(),
        key_info: Some(KeyInfo {
            mechanism: Mechanism::EnvelopeAesGcm.as_u64(),
            key_id: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .into(),
            wrapped_key: vec![0xa5; 184],
            ..KeyInfo::default()
        }),
        ..BlobInfo::default()
    }
}

#[divan::bench]
fn blob_info_decode(bencher: Bencher) {
    let bytes = typical_blob().encode();
    bencher
        .counter(BytesCount::new(bytes.len()))
        .bench_local(|| BlobInfo::decode(black_box(&bytes)).expect("valid blob"));
}

#[divan::bench]
fn blob_info_decode_borrowed(bencher: Bencher) {
    let bytes = typical_blob().encode();
    bencher
        .counter(BytesCount::new(bytes.len()))
        .bench_local(|| BlobInfoRef::decode(black_box(&bytes)).expect("valid blob"));
}

#[divan::bench]
fn blob_info_encode(bencher: Bencher) {
    let blob = typical_blob();
    bencher
        .counter(BytesCount::new(blob.encoded_len()))
        .bench_local(|| black_box(&blob).encode());
}

#[divan::bench]
fn stored_value_decode_with_canary(bencher: Bencher) {
    let bytes = envelope::StoredValue::Bare(typical_blob()).encode_with_canary();
    bencher
        .counter(BytesCount::new(bytes.len()))
        .bench_local(|| envelope::decode_stored_value(black_box(&bytes)).expect("valid value"));
}
