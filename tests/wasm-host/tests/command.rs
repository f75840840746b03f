//! The command component (`kms-seal.wasm`) in an embedded wasmtime host: `encrypt`, `decrypt`,
//! `inspect`, `check` and `rewrap` against moto, configured from the environment, flags and a Vault
//! config file in a pre-opened directory.

use kms_seal_wasm_host::{CommandRun, HttpPolicy, Moto, run_command, run_command_with};

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

#[test]
fn encrypt_decrypt_inspect_from_the_environment() {
    let moto = Moto::shared();
    let env = moto.env();
    let sealed = run_command(&CommandRun {
        args: vec!["encrypt", "--aad", "sys/token"],
        env: env.clone(),
        stdin: b"unseal key material".to_vec(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(sealed.status, 0, "{}", sealed.stderr);
    assert!(!sealed.stdout.is_empty());

    let opened = run_command(&CommandRun {
        args: vec!["decrypt", "--aad", "sys/token"],
        env: env.clone(),
        stdin: sealed.stdout.clone(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(opened.status, 0, "{}", opened.stderr);
    assert_eq!(opened.stdout, b"unseal key material");

    // Wrong AAD: a failure, one line on stderr, nothing on stdout.
    let wrong = run_command(&CommandRun {
        args: vec!["decrypt", "--aad", "sys/other"],
        env: env.clone(),
        stdin: sealed.stdout.clone(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(wrong.status, 1);
    assert!(wrong.stdout.is_empty());
    assert!(
        wrong.stderr.starts_with("kms-seal: error: "),
        "{}",
        wrong.stderr
    );
    assert_eq!(wrong.stderr.lines().count(), 1, "{}", wrong.stderr);

    // inspect needs no configuration at all.
    let inspected = run_command(&CommandRun {
        args: vec!["inspect"],
        stdin: sealed.stdout.clone(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(inspected.status, 0, "{}", inspected.stderr);
    let v = json(&inspected.stdout);
    assert_eq!(v["format"], "blobinfo");
    assert_eq!(v["canary"], false);
    assert_eq!(v["blobs"][0]["mechanism"], 1);
    assert_eq!(v["blobs"][0]["key_id"], moto.key_arn.as_str());
    assert_eq!(v["blobs"][0]["iv_len"], 12);
    assert_eq!(v["blobs"][0]["ciphertext_len"], 19 + 16);
}

#[test]
fn base64_and_flags_override_the_environment() {
    let moto = Moto::shared();
    let mut env = moto.env();
    // The flags must win over these.
    env.retain(|(k, _)| *k != "VAULT_AWSKMS_SEAL_KEY_ID" && *k != "AWS_KMS_ENDPOINT");
    env.push(("VAULT_AWSKMS_SEAL_KEY_ID", "alias/does-not-exist"));
    env.push(("AWS_KMS_ENDPOINT", "http://127.0.0.1:9"));
    let flags = vec![
        "--key-id",
        moto.key_id.as_str(),
        "--endpoint",
        moto.endpoint.as_str(),
        "--base64",
    ];

    let mut args = flags.clone();
    args.insert(0, "encrypt");
    let sealed = run_command(&CommandRun {
        args,
        env: env.clone(),
        stdin: b"aGVsbG8gd29ybGQ=\n".to_vec(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(sealed.status, 0, "{}", sealed.stderr);
    let text = String::from_utf8(sealed.stdout.clone()).unwrap();
    assert!(text.ends_with('\n') && !text.trim().contains(char::is_whitespace));

    let mut args = flags.clone();
    args.push("decrypt");
    let opened = run_command(&CommandRun {
        args,
        env,
        stdin: sealed.stdout,
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(opened.status, 0, "{}", opened.stderr);
    assert_eq!(opened.stdout, b"aGVsbG8gd29ybGQ=\n");
}

#[test]
fn check_reports_the_key_and_latencies() {
    let moto = Moto::shared();
    let out = run_command(&CommandRun {
        args: vec!["check"],
        env: moto.env(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let v = json(&out.stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["key_arn"], moto.key_arn.as_str());
    assert_eq!(v["encrypted_with"], moto.key_arn.as_str());
    assert_eq!(v["region"], "us-east-1");
    assert!(v["endpoint"].as_str().unwrap().starts_with(&moto.endpoint));
    for op in ["describe_key", "encrypt", "decrypt"] {
        assert!(v["latency_ms"][op].as_f64().unwrap() >= 0.0, "{op}");
    }
}

#[test]
fn config_file_in_a_preopened_directory() {
    let moto = Moto::shared();
    let dir = std::env::temp_dir().join(format!("kms-seal-wasm-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), format!("{}\n", moto.secret_access_key)).unwrap();
    let hcl = format!(
        r#"storage "raft" {{ path = "/vault/data" }}
seal "awskms" {{
  disabled   = "true"
  kms_key_id = "alias/old"
}}
seal "awskms" {{
  region     = "us-east-1"
  kms_key_id = "{alias}"
  endpoint   = "{endpoint}"
  access_key = "{access}"
  secret_key = "file://{secret}"
}}
"#,
        alias = moto.alias,
        endpoint = moto.endpoint,
        access = moto.access_key_id,
        secret = dir.join("secret").display(),
    );
    let config = dir.join("vault.hcl");
    std::fs::write(&config, hcl).unwrap();
    let config_arg = config.to_str().unwrap().to_string();

    let out = run_command(&CommandRun {
        args: vec!["--config", &config_arg, "check"],
        preopen: Some(dir.clone()),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(json(&out.stdout)["key_arn"], moto.key_arn.as_str());

    // Without the pre-opened directory the file cannot be read: a configuration error.
    let out = run_command(&CommandRun {
        args: vec!["--config", &config_arg, "check"],
        ..CommandRun::default()
    })
    .unwrap();
    assert_ne!(out.status, 0);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_and_configuration_errors() {
    for (args, expect) in [
        (vec![], "missing command"),
        (vec!["frobnicate"], "unknown command"),
        (vec!["rewrap", "file"], "no seal configuration"),
        (vec!["encrypt"], "VAULT_AWSKMS_SEAL_KEY_ID"),
        // Raft snapshots are left out of the command (size budget, no gzip).
        (
            vec!["snapshot", "inspect", "backup.snap"],
            "snapshot is not in this build; run the native kms-seal binary",
        ),
    ] {
        let out = run_command(&CommandRun {
            args: args.clone(),
            stdin: b"x".to_vec(),
            ..CommandRun::default()
        })
        .unwrap();
        // Exit status 2 in the native tool; WASI 0.2's exit(result) can only say "failed".
        assert_eq!(out.status, 1, "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
    }
    let help = run_command(&CommandRun {
        args: vec!["--help"],
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(help.status, 0);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("usage: kms-seal"));
    assert!(!help.contains("snapshot"), "{help}");
}

#[test]
fn a_host_that_denies_http_makes_the_command_fail_cleanly() {
    let moto = Moto::shared();
    for policy in [HttpPolicy::DenyInHandle, HttpPolicy::DenyOnSend] {
        let out = run_command_with(
            &CommandRun {
                args: vec!["encrypt"],
                env: moto.env(),
                stdin: b"x".to_vec(),
                ..CommandRun::default()
            },
            policy,
        )
        .unwrap();
        assert_eq!(out.status, 1, "{policy:?}");
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains("denied"), "{policy:?}: {}", out.stderr);
    }
}

/// A fresh directory under the system temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kms-seal-wasm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn rewrap_in_a_preopened_directory_moves_values_to_the_current_key() {
    let moto = Moto::shared();
    let env = moto.env();
    let dir = TempDir::new("rewrap");
    let sealed = run_command(&CommandRun {
        args: vec!["encrypt"],
        env: env.clone(),
        stdin: b"root key".to_vec(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(sealed.status, 0, "{}", sealed.stderr);
    let value = dir.0.join("barrier-unseal-keys");
    std::fs::write(&value, &sealed.stdout).unwrap();
    let path = value.to_str().unwrap();

    // Under the same key: nothing to do, the file is left as it is.
    let same = run_command(&CommandRun {
        args: vec!["rewrap", path],
        env: env.clone(),
        preopen: Some(dir.0.clone()),
        writable: true,
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(same.status, 0, "{}", same.stderr);
    assert_eq!(json(&same.stdout)["up_to_date"], 1);
    assert_eq!(std::fs::read(&value).unwrap(), sealed.stdout);

    // Under a second key: the file is replaced and decrypts to the same bytes.
    let second = moto.create_key().unwrap();
    let moved = run_command(&CommandRun {
        args: vec!["--key-id", &second, "rewrap", path],
        env: env.clone(),
        preopen: Some(dir.0.clone()),
        writable: true,
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(moved.status, 0, "{}", moved.stderr);
    let summary = json(&moved.stdout);
    assert_eq!(summary["rewrapped"], 1, "{summary}");
    assert_eq!(summary["key_arn"], second.as_str());
    let rewritten = std::fs::read(&value).unwrap();
    assert_ne!(rewritten, sealed.stdout);
    let inspected = run_command(&CommandRun {
        args: vec!["inspect"],
        stdin: rewritten.clone(),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(json(&inspected.stdout)["blobs"][0]["key_id"], second.as_str());
    let opened = run_command(&CommandRun {
        args: vec!["decrypt"],
        env: env.clone(),
        stdin: rewritten,
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(opened.stdout, b"root key", "{}", opened.stderr);
    // No temporary file is left beside the value.
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["barrier-unseal-keys"]);

    // A read-only pre-open: the value stays as it is and the error says why.
    let before = std::fs::read(&value).unwrap();
    let refused = run_command(&CommandRun {
        args: vec!["rewrap", path],
        env: env.clone(),
        preopen: Some(dir.0.clone()),
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert!(refused.stdout.is_empty());
    assert!(refused.stderr.contains("cannot replace"), "{}", refused.stderr);
    assert_eq!(std::fs::read(&value).unwrap(), before);

    // A file outside every pre-opened directory.
    let outside = run_command(&CommandRun {
        args: vec!["rewrap", "/elsewhere/value"],
        env,
        preopen: Some(dir.0.clone()),
        writable: true,
        ..CommandRun::default()
    })
    .unwrap();
    assert_eq!(outside.status, 1);
    assert!(
        outside.stderr.contains("not in a directory the host pre-opened"),
        "{}",
        outside.stderr
    );
}
