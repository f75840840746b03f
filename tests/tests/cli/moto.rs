//! The `kms-seal` binary and the native library against moto on loopback, with SigV4 checking
//! on: round trips, a wrong secret, aliases, rotation and rewrap, env-only activation, HCL and
//! JSON configuration files, exit statuses and what may appear on stdout and stderr.
//!
//! moto is started by each test on 127.0.0.1 (kms_seal_tests::moto) and killed on drop; the
//! CLI runs with a cleared environment that disables instance metadata.

use std::process::{Command, Output};

use kms_seal_core::envelope::{
    BlobInfo, KeyInfo, MultiWrapValue, StoredValue, decode_stored_value,
};
use kms_seal_core::seal::ErrorKind;
use kms_seal_tests::cli;
use kms_seal_tests::moto::Moto;

pub(crate) const PLAINTEXT: &[u8] = b"vault root key: 0123456789abcdef";

pub(crate) fn env_for(moto: &Moto) -> Vec<(&'static str, String)> {
    moto.seal_env()
}

pub(crate) fn run(args: &[&str], stdin: &[u8], env: &[(&'static str, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cli::run(args, stdin, &pairs)
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
pub(crate) fn assert_ok(out: &Output) {
    assert!(out.status.success(), "kms-seal failed: {}", stderr(out));
}

#[track_caller]
pub(crate) fn assert_failed(out: &Output, code: i32, secrets: &[&str]) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(out));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let err = stderr(out);
    assert_eq!(
        err.lines().filter(|l| l.contains("error:")).count(),
        1,
        "one error line: {err}"
    );
    for s in secrets {
        assert!(!err.contains(s), "stderr leaks a secret: {err}");
    }
}

fn inspect(blob: &[u8]) -> serde_json::Value {
    // Offline: no configuration, no credentials at all.
    let out = cli::run(&["inspect"], blob, &[]);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).expect("inspect prints JSON")
}

/// Creates a new key and points `alias` at it, through boto3 with the bootstrap access key.
/// Returns the new key's ARN.
pub(crate) fn rotate_alias(moto: &Moto, alias: &str) -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import sys, boto3\n\
        kms = boto3.client('kms', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                           aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n\
        key = kms.create_key(Description='rotated')['KeyMetadata']\n\
        kms.update_alias(AliasName=sys.argv[4], TargetKeyId=key['KeyId'])\n\
        print(key['Arn'])\n";
    let out = Command::new(python)
        .args([
            "-c",
            script,
            &moto.endpoint,
            &moto.access_key_id,
            &moto.secret_access_key,
            alias,
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "rotation failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn round_trip_through_the_binary_with_env_only_activation() {
    let moto = Moto::start();
    let env = env_for(&moto);

    let enc = run(&["encrypt"], PLAINTEXT, &env);
    assert_ok(&enc);
    let blob = enc.stdout;
    let described = inspect(&blob);
    assert_eq!(described["format"], "blobinfo");
    assert_eq!(described["blobs"][0]["mechanism"], 1);
    assert_eq!(described["blobs"][0]["key_id"], moto.key_arn.as_str());
    assert_eq!(described["blobs"][0]["iv_len"], 12);
    assert_eq!(
        described["blobs"][0]["ciphertext_len"],
        PLAINTEXT.len() + 16
    );

    let dec = run(&["decrypt"], &blob, &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);

    // --base64 both ways.
    let b64_in = base64_encode(PLAINTEXT);
    let enc64 = run(&["--base64", "encrypt"], b64_in.as_bytes(), &env);
    assert_ok(&enc64);
    let dec64 = run(&["decrypt", "--base64"], &enc64.stdout, &env);
    assert_ok(&dec64);
    assert_eq!(String::from_utf8(dec64.stdout).unwrap().trim(), b64_in);

    // check: DescribeKey plus a round trip, as JSON.
    let check = run(&["check"], b"", &env);
    assert_ok(&check);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["key_arn"], moto.key_arn.as_str());
    assert_eq!(report["key_state"], "Enabled");
    for call in ["describe_key", "encrypt", "decrypt"] {
        assert!(
            report["latency_ms"][call].as_f64().unwrap() > 0.0,
            "{report}"
        );
    }
}

#[test]
fn wrong_secret_and_garbage_fail_cleanly() {
    let moto = Moto::start();
    let mut env = env_for(&moto);
    let enc = run(&["encrypt"], PLAINTEXT, &env);
    assert_ok(&enc);

    // moto re-checks every signature with botocore: a wrong secret is a 403.
    let wrong = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY";
    env.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    env.push(("AWS_SECRET_ACCESS_KEY", wrong.to_owned()));
    let out = run(&["decrypt"], &enc.stdout, &env);
    assert_failed(&out, 1, &[wrong, &moto.secret_access_key, "vault root key"]);
    assert!(
        stderr(&out).contains("SignatureDoesNotMatch"),
        "{}",
        stderr(&out)
    );
    let out = run(&["encrypt"], PLAINTEXT, &env);
    assert_failed(&out, 1, &[wrong, "vault root key"]);

    // Garbage on stdin is an error, never a panic.
    let env = env_for(&moto);
    for garbage in [
        &b"garbage"[..],
        b"",
        b"\x0a\xff\xff\xff\xff\x0f",
        b"multiwrapvalue:1\x00\x00\x00\x09",
    ] {
        let out = run(&["decrypt"], garbage, &env);
        assert_failed(&out, 1, &[&moto.secret_access_key]);
        assert!(!stderr(&out).contains("panicked"));
    }
    let out = run(&["decrypt", "--base64"], b"not base64!!", &env);
    assert_failed(&out, 2, &[]);
    // A blob altered in its ciphertext (field 1 comes first: tag, length, then the bytes)
    // fails integrity, never returns plaintext. (The key id inside key_info is only a label:
    // altering it does not matter to Decrypt, as in Vault.)
    let mut altered = enc.stdout.clone();
    altered[5] ^= 0x01;
    let out = run(&["decrypt"], &altered, &env);
    assert_failed(&out, 1, &["vault root key"]);
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    for (args, env) in [
        (vec![], vec![]),
        (vec!["frobnicate"], vec![]),
        (vec!["--bogus", "encrypt"], vec![]),
        (vec!["rewrap"], vec![]),
        // No configuration at all: says how to configure.
        (vec!["encrypt"], vec![]),
        // Half a key pair.
        (
            vec!["encrypt"],
            vec![
                ("VAULT_SEAL_TYPE", "awskms"),
                ("VAULT_AWSKMS_SEAL_KEY_ID", "alias/x"),
                ("AWS_ACCESS_KEY_ID", "AKIDONLY"),
            ],
        ),
        (
            vec!["--config", "/nonexistent/vault.hcl", "encrypt"],
            vec![],
        ),
        (
            vec![
                "--endpoint",
                "ftp://example.invalid",
                "--key-id",
                "alias/x",
                "encrypt",
            ],
            vec![],
        ),
    ] {
        let out = cli::run(&args, b"x", &env);
        assert_failed(&out, 2, &[]);
    }
    let help = cli::run(&["--help"], b"", &[]);
    assert_ok(&help);
    let help = String::from_utf8_lossy(&help.stdout);
    for usage in [
        "rewrap PATH...",
        "decrypt [FILE]",
        "inspect [PATH]",
        "--jobs N",
        "--dry-run",
    ] {
        assert!(help.contains(usage), "{usage}: {help}");
    }
}

#[test]
fn rotation_keeps_old_values_readable_and_rewrap_moves_them() {
    let moto = Moto::start();
    let env = env_for(&moto);
    let dir = tempdir("rotation");

    // A bare value, a base64 value, and a two-seal value with a canary whose other slot
    // belongs to another seal (it must be left alone).
    let bare = run(&["encrypt"], PLAINTEXT, &env);
    assert_ok(&bare);
    let bare_path = dir.join("bare.bin");
    std::fs::write(&bare_path, &bare.stdout).unwrap();

    let b64 = run(
        &["--base64", "encrypt"],
        base64_encode(b"second").as_bytes(),
        &env,
    );
    assert_ok(&b64);
    let b64_path = dir.join("value.b64");
    std::fs::write(&b64_path, &b64.stdout).unwrap();

    let ours = decode_stored_value(&bare.stdout).unwrap();
    let StoredValue::Bare(our_slot) = ours.value else {
        panic!("bare expected")
    };
    let other_slot = BlobInfo {
        ciphertext: b"vault:v1:transit-ciphertext".to_vec(),
        key_info: Some(KeyInfo {
            key_id: "transit-key".into(),
            ..KeyInfo::default()
        }),
        ..BlobInfo::default()
    };
    let multi = StoredValue::Multi(MultiWrapValue {
        generation: 7,
        slots: vec![other_slot.clone(), our_slot],
    });
    let multi_path = dir.join("multi.bin");
    std::fs::write(&multi_path, multi.encode_with_canary()).unwrap();

    let new_arn = rotate_alias(&moto, &moto.alias);
    assert_ne!(new_arn, moto.key_arn);

    // Old values still decrypt: Decrypt sends only the ciphertext.
    let dec = run(&["decrypt"], &bare.stdout, &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);

    let paths = [&bare_path, &b64_path];
    let out = run(
        &[
            "rewrap",
            bare_path.to_str().unwrap(),
            multi_path.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    assert_ok(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rewrapped"], 2, "{summary}");
    assert_eq!(summary["key_arn"], new_arn.as_str());
    let out = run(
        &["--base64", "rewrap", b64_path.to_str().unwrap()],
        b"",
        &env,
    );
    assert_ok(&out);

    for path in paths {
        let stored = std::fs::read(path).unwrap();
        let args: &[&str] = if path == &b64_path {
            &["--base64", "inspect"]
        } else {
            &["inspect"]
        };
        let described = cli::run(args, &stored, &[]);
        assert_ok(&described);
        let described: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
        assert_eq!(
            described["blobs"][0]["key_id"],
            new_arn.as_str(),
            "{}",
            path.display()
        );
    }
    let dec = run(&["decrypt"], &std::fs::read(&bare_path).unwrap(), &env);
    assert_eq!(dec.stdout, PLAINTEXT);

    // The framed value keeps its framing, generation, canary and the other seal's slot.
    let rewrapped = std::fs::read(&multi_path).unwrap();
    assert_eq!(rewrapped.last(), Some(&b's'));
    let decoded = decode_stored_value(&rewrapped).unwrap();
    assert!(decoded.canary);
    let StoredValue::Multi(m) = &decoded.value else {
        panic!("framing kept")
    };
    assert_eq!(m.generation, 7);
    assert_eq!(m.slots[0], other_slot);
    assert_eq!(m.slots[1].key_id(), Some(new_arn.as_str()));
    let dec = run(&["decrypt"], &rewrapped, &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);

    // A second rewrap finds everything up to date and leaves the files untouched.
    let before = std::fs::read(&bare_path).unwrap();
    let out = run(&["rewrap", bare_path.to_str().unwrap()], b"", &env);
    assert_ok(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["up_to_date"], 1);
    assert_eq!(std::fs::read(&bare_path).unwrap(), before);

    // A file that is not a value fails, is named, and is left as it was.
    let junk = dir.join("junk");
    std::fs::write(&junk, b"junk").unwrap();
    let out = run(&["rewrap", junk.to_str().unwrap()], b"", &env);
    assert_failed(&out, 1, &[]);
    assert!(stderr(&out).contains("junk"));
    assert_eq!(std::fs::read(&junk).unwrap(), b"junk");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hcl_and_json_configuration_files() {
    let moto = Moto::start();
    let dir = tempdir("configs");
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, format!("{}\n", moto.secret_access_key)).unwrap();

    let hcl = format!(
        r#"
storage "raft" {{ path = "/vault/data" }}
seal "awskms" {{
  disabled   = "true"
  kms_key_id = "alias/old-and-disabled"
}}
seal "awskms" {{
  region     = "{region}"
  kms_key_id = "{alias}"
  endpoint   = "{endpoint}"
  access_key = "{ak}"
  secret_key = "file://{secret}"
}}
"#,
        region = moto.region,
        alias = moto.alias,
        endpoint = moto.endpoint,
        ak = moto.access_key_id,
        secret = secret_file.display(),
    );
    let hcl_path = dir.join("vault.hcl");
    std::fs::write(&hcl_path, hcl).unwrap();
    let json = serde_json::json!({
        "seal": {"awskms": {
            "region": moto.region, "kms_key_id": moto.key_id, "endpoint": moto.endpoint,
            "access_key": moto.access_key_id, "secret_key": "env://MY_SECRET",
        }}
    });
    let json_path = dir.join("vault.json");
    std::fs::write(&json_path, json.to_string()).unwrap();
    let my_secret = [("MY_SECRET", moto.secret_access_key.clone())];

    let hcl_arg = hcl_path.to_str().unwrap();
    let json_arg = json_path.to_str().unwrap();
    let enc = run(&["--config", hcl_arg, "encrypt"], PLAINTEXT, &[]);
    assert_ok(&enc);
    let dec = run(&["--config", json_arg, "decrypt"], &enc.stdout, &my_secret);
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);

    // Flags win over the file: a key id that does not exist fails with NotFound.
    let out = run(
        &[
            "--config",
            hcl_arg,
            "--key-id",
            "alias/does-not-exist",
            "encrypt",
        ],
        PLAINTEXT,
        &[],
    );
    assert_failed(&out, 1, &[&moto.secret_access_key]);
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
    // An unset env:// reference is a configuration error naming the variable.
    let out = run(&["--config", json_arg, "decrypt"], &enc.stdout, &[]);
    assert_failed(&out, 2, &[]);
    assert!(stderr(&out).contains("MY_SECRET"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_round_trip_and_error_kinds() {
    use kms_seal_ureq::credentials::EnvLookup;
    use kms_seal_ureq::native::build_seal;

    let moto = Moto::start();
    let env = EnvLookup::from_pairs(
        env_for(&moto)
            .into_iter()
            .chain([("AWS_EC2_METADATA_DISABLED", "true".to_owned())]),
    );
    let lookup = |k: &str| env.get(k);
    let config = kms_seal_cli::config::load(None, &[], &lookup, &kms_seal_cli::NoFiles).unwrap();
    let mut seal = build_seal(&config, env.clone()).unwrap().seal;
    seal.init().unwrap();
    assert_eq!(seal.key_id(), moto.key_arn);
    let blob = seal.encrypt(PLAINTEXT, Some(b"aad")).unwrap();
    assert!(seal.is_up_to_date(&blob));
    assert_eq!(
        seal.decrypt(&blob, Some(b"aad")).unwrap().as_slice(),
        PLAINTEXT
    );
    let err = seal.decrypt(&blob, Some(b"other aad")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);

    let bad = EnvLookup::from_pairs(
        env_for(&moto)
            .into_iter()
            .filter(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY")
            .chain([
                ("AWS_SECRET_ACCESS_KEY", "wrong-secret".to_owned()),
                ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ]),
    );
    let lookup = |k: &str| bad.get(k);
    let config = kms_seal_cli::config::load(None, &[], &lookup, &kms_seal_cli::NoFiles).unwrap();
    let seal = build_seal(&config, bad.clone()).unwrap().seal;
    let err = seal.decrypt(&blob, Some(b"aad")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials, "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-secret"));
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kms-seal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
