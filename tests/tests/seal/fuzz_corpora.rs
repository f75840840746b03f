//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same entry points
//! the cargo-fuzz targets call, as an ordinary test: every seed and every regression input
//! found by a campaign runs on every `cargo test`, without libFuzzer or a nightly compiler.
//! (`scripts/fuzz-ci.sh` replays them again under libFuzzer.)

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a readable corpus entry").path();
            let data = std::fs::read(&path).expect("a readable corpus file");
            (path, data)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has no inputs", dir.display());
    inputs
}

fn replay(target: &str, entry: impl Fn(&[u8])) {
    for (path, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry(&data)));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn envelope_decode() {
    replay(
        "envelope_decode",
        kms_seal_core::fuzzing::envelope::envelope_decode,
    );
}

#[test]
fn envelope_open() {
    // The cargo-fuzz target builds this layout from `arbitrary` input; the corpus files are
    // that input: key, IV, AAD and message, then the AAD length in the last byte (for inputs
    // of up to 256 bytes after the key and IV, as the seeds are).
    replay("envelope_open", |data| {
        let Some((head, rest)) = data.split_at_checked(44) else {
            return;
        };
        let (body, aad_len) = match rest.split_last() {
            Some((&len, body)) if !body.is_empty() => (body, usize::from(len) % (body.len() + 1)),
            _ => (rest, 0),
        };
        let (aad, message) = body.split_at(aad_len.min(body.len()));
        let mut input = head.to_vec();
        input.push(u8::try_from(aad.len()).unwrap_or(u8::MAX));
        input.extend_from_slice(aad);
        input.extend_from_slice(message);
        kms_seal_core::fuzzing::envelope::envelope_open(&input);
    });
}

#[test]
fn kms_response() {
    replay("kms_response", kms_seal_core::fuzzing::kms::kms_response);
}

#[test]
fn kms_request() {
    replay("kms_request", kms_seal_core::fuzzing::kms::kms_request);
}

#[test]
fn config_params() {
    replay(
        "config_params",
        kms_seal_core::fuzzing::config::vault_config_params,
    );
}

#[test]
fn vault_config() {
    replay("vault_config", kms_seal_tests::vault_config::vault_config);
}

#[test]
fn sigv4_differential() {
    replay(
        "sigv4_differential",
        kms_seal_tests::fuzzing::sigv4_differential,
    );
}

#[test]
fn snapshot_tar() {
    replay(
        "snapshot_tar",
        kms_seal_tests::fuzzing::snapshot_tar_differential,
    );
}
