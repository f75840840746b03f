//! Wall time of `kms-seal rewrap` over a storage tree of 1,000 values when every KMS call
//! takes 25 ms, against the serial time (2 calls x 25 ms x 1,000 = 50 s).
//!
//! The KMS is the in-process mock (SigV4 checked on every call) behind the fault server as a
//! latency proxy on 127.0.0.1: every request waits 25 ms, then gets the mock's answer. The
//! tree has 500 Vault file-storage nodes (`nodeNNN/core/hsm/_barrier-unseal-keys` and
//! `nodeNNN/core/_recovery-key`), sealed under one key; before each run the alias moves to a
//! new key, so every value is rewrapped (one Decrypt and one Encrypt each).
//!
//! ```text
//! cargo build --profile release-small --target x86_64-unknown-linux-musl -p kms-seal-ureq --bin kms-seal
//! KMS_SEAL_BIN=target/x86_64-unknown-linux-musl/release-small/kms-seal \
//!   cargo bench -p kms-seal-tests --bench rewrap_latency
//! ```
//!
//! Environment: `KMS_SEAL_BIN` (the binary; default: `kms-seal` beside this benchmark's
//! profile directory), `REWRAP_BENCH_VALUES` (default 1000), `REWRAP_BENCH_JOBS`
//! (comma-separated `--jobs` values, default `8,16`), `REWRAP_BENCH_SERIAL` (values for a
//! measured `--jobs 1` run, default 100; 0 skips it), `REWRAP_BENCH_LATENCY_MS` (default 25).
//! Result lines start with `rewrap_latency:`. Only 127.0.0.1 is ever contacted.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::StoredValue;
use kms_seal_core::seal::{Seal, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::cli::{base_env, kms_seal_bin};
use kms_seal_tests::fault_server::{Action, FaultServer, Upstream};
use kms_seal_tests::mock_kms::{FakeRuntime, MockKms};

const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIDREWRAPBENCH00001";
const SECRET: &str = "rewrap/bench/secret/0000000000000000000";
const ALIAS: &str = "alias/rewrap-bench";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs this without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let values = env_number("REWRAP_BENCH_VALUES", 1000) as usize;
    let serial_values = env_number("REWRAP_BENCH_SERIAL", 100) as usize;
    let latency = Duration::from_millis(env_number("REWRAP_BENCH_LATENCY_MS", 25));
    let jobs: Vec<usize> = std::env::var("REWRAP_BENCH_JOBS")
        .unwrap_or_else(|_| "8,16".into())
        .split(',')
        .filter_map(|j| j.trim().parse().ok())
        .collect();

    let kms = Arc::new(MockKms::new(REGION));
    kms.add_credentials(ACCESS_KEY, SECRET);
    kms.set_alias(ALIAS, &kms.create_key());

    let root = std::env::temp_dir().join(format!("kms-seal-rewrap-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let big = root.join("tree");
    let small = root.join("serial");
    write_tree(&kms, &big, values);
    write_tree(&kms, &small, serial_values);

    let proxy = FaultServer::start(Upstream::Transport(kms.clone()));
    proxy
        .keep_log(false)
        .set_default(Action::Delay(latency, Box::new(Action::Upstream)));
    let env = [
        ("VAULT_SEAL_TYPE", "awskms".to_owned()),
        ("VAULT_AWSKMS_SEAL_KEY_ID", ALIAS.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_KMS_ENDPOINT", proxy.url()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
    ];
    let bin = kms_seal_bin();
    let serial_model = 2.0 * latency.as_secs_f64() * values as f64;
    println!(
        "rewrap_latency: binary {}, {values} values, {} ms per KMS call, serial model {serial_model:.1} s",
        bin.display(),
        latency.as_millis()
    );

    let mut measured_serial = None;
    if serial_values > 0 {
        kms.set_alias(ALIAS, &kms.create_key());
        let secs = rewrap(&bin, &env, &small, 1, serial_values);
        let per_value = secs / serial_values as f64;
        measured_serial = Some(per_value * values as f64);
        println!(
            "rewrap_latency: --jobs 1, {serial_values} values: {secs:.2} s ({:.1} ms per value; \
             {:.1} s for {values})",
            per_value * 1000.0,
            per_value * values as f64
        );
    }
    for j in jobs {
        kms.set_alias(ALIAS, &kms.create_key());
        let secs = rewrap(&bin, &env, &big, j, values);
        let vs_measured = measured_serial.map_or(String::new(), |s| {
            format!(", {:.3}x the measured serial time", secs / s)
        });
        println!(
            "rewrap_latency: --jobs {j}, {values} values: {secs:.2} s = {:.3}x the serial model{vs_measured}",
            secs / serial_model
        );
    }
    drop(proxy);
    let _ = std::fs::remove_dir_all(&root);
}

/// Runs `kms-seal rewrap --jobs J DIR` and returns its wall time in seconds, after checking
/// that it rewrapped `expected` values.
fn rewrap(bin: &Path, env: &[(&str, String)], dir: &Path, jobs: usize, expected: usize) -> f64 {
    let start = Instant::now();
    let out = Command::new(bin)
        .args([
            "rewrap",
            "--jobs",
            &jobs.to_string(),
            dir.to_str().expect("utf-8 path"),
        ])
        .env_clear()
        .envs(base_env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("kms-seal runs");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "rewrap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["rewrapped"], expected, "{summary}");
    secs
}

/// A tree of `values` Vault file-storage entries (two per node), sealed in process.
fn write_tree(kms: &MockKms, dir: &Path, values: usize) {
    let mut seal = Seal::new(
        SealSettings::for_region(ALIAS, REGION).expect("valid region"),
        kms,
        Credentials::new(ACCESS_KEY, SECRET, None, None),
        FakeRuntime::new(Timestamp(1_767_225_600)),
    );
    seal.init().expect("the mock describes the key");
    for i in 0..values {
        let name = if i % 2 == 0 {
            "core/hsm/_barrier-unseal-keys"
        } else {
            "core/_recovery-key"
        };
        let path = dir.join(format!("node{:03}", i / 2)).join(name);
        let blob = seal.encrypt(&[i as u8; 32], None).expect("the mock seals");
        let stored = StoredValue::Bare(blob).encode();
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        let entry = format!("{{\"Value\":\"{}\"}}\n", STANDARD.encode(stored));
        std::fs::write(&path, entry).expect("write a value");
    }
}
