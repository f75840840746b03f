//! `kms-seal check`: DescribeKey, then an encrypt/decrypt round trip of 32 random bytes, with a
//! JSON report of the key and the latencies.

use alloc::format;
use alloc::vec::Vec;

use kms_seal_core::seal::Runtime as _;
use zeroize::Zeroizing;

use crate::Failure;
use crate::host::{Host, HostSeal};
use crate::json_out::Json;

/// Runs the check and appends the JSON report to `out`.
pub(crate) fn run<H: Host>(host: &H, seal: &HostSeal<H>, out: &mut Vec<u8>) -> Result<(), Failure> {
    let micros = |start: u64| (host.monotonic_nanos().saturating_sub(start) + 500) / 1000;
    let t = host.monotonic_nanos();
    let metadata = seal.describe_key()?;
    let describe_us = micros(t);
    if let Some(reason) = metadata.unusable_reason() {
        return Err(Failure::Operation(format!(
            "key {} cannot seal: {reason}; enable it or configure another kms_key_id",
            metadata.arn_or_key_id()
        )));
    }
    let mut probe = Zeroizing::new([0u8; 32]);
    seal.runtime()
        .fill_random(&mut probe[..])
        .map_err(|e| Failure::Operation(format!("no randomness for the probe: {e}")))?;
    let t = host.monotonic_nanos();
    let blob = seal.encrypt(&probe[..], None)?;
    let encrypt_us = micros(t);
    let t = host.monotonic_nanos();
    let back = seal.decrypt(&blob, None)?;
    let decrypt_us = micros(t);
    if back.as_slice() != &probe[..] {
        return Err(Failure::Operation(
            "the round trip returned different bytes; do not use this key until KMS is checked"
                .into(),
        ));
    }
    let settings = seal.settings();
    let endpoint = settings.endpoint.url();
    let text = Json::Object(&[
        ("enabled", metadata.enabled.map_or(Json::Null, Json::Bool)),
        (
            "encrypted_with",
            blob.key_id().map_or(Json::Null, Json::Str),
        ),
        ("endpoint", Json::Str(&endpoint)),
        ("key_arn", Json::Str(metadata.arn_or_key_id())),
        (
            "key_state",
            metadata.key_state.as_deref().map_or(Json::Null, Json::Str),
        ),
        (
            "latency_ms",
            Json::Object(&[
                ("decrypt", Json::Millis(decrypt_us)),
                ("describe_key", Json::Millis(describe_us)),
                ("encrypt", Json::Millis(encrypt_us)),
            ]),
        ),
        ("ok", Json::Bool(true)),
        ("region", Json::Str(settings.endpoint.signing_region())),
    ])
    .pretty();
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    Ok(())
}
