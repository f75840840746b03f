//! Seal migration through the `kms-seal` binary, against TWO moto servers with SigV4 and IAM
//! checking (each knows only its own access key, so a call signed with the other one's key
//! fails): a Vault config with the old seal as a `disabled = "true"` stanza (server A, its
//! own credentials, its key by alias) and the new one enabled (server B). Old values are
//! opened through A with A's credentials and rewrapped under B's key, in single files and in
//! storage trees; values already under B's key are left alone.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::envelope::{StoredValue, decode_stored_value};
use kms_seal_tests::moto::Moto;

use super::moto::{PLAINTEXT, assert_failed, assert_ok, env_for, run, stderr, tempdir};

const RECOVERY_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// The Vault config of a migration from A's key to B's; the old secret comes through an
/// `env://` reference (OLD_SECRET), the old access key is `old_access_key`.
fn migration_config(dir: &Path, a: &Moto, b: &Moto, old_access_key: &str) -> String {
    let path = dir.join("vault.hcl");
    let text = format!(
        r#"storage "file" {{ path = "/vault/data" }}

seal "awskms" {{
  disabled   = "true"
  region     = "{}"
  endpoint   = "{}"
  kms_key_id = "{}"
  access_key = "{}"
  secret_key = "env://OLD_SECRET"
}}

seal "awskms" {{
  region     = "{}"
  endpoint   = "{}"
  kms_key_id = "{}"
  access_key = "{}"
  secret_key = "{}"
}}
"#,
        a.region,
        a.endpoint,
        a.alias,
        old_access_key,
        b.region,
        b.endpoint,
        b.alias,
        b.access_key_id,
        b.secret_access_key
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The key ARN of the bare blob stored in `contents` (raw or a file-storage entry).
fn key_of(contents: &[u8]) -> String {
    let raw = if contents.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(contents).unwrap();
        STANDARD.decode(v["Value"].as_str().unwrap()).unwrap()
    } else {
        contents.to_vec()
    };
    match decode_stored_value(&raw).unwrap().value {
        StoredValue::Bare(b) => b.key_id().unwrap().to_owned(),
        StoredValue::Multi(_) => panic!("a bare blob was written"),
    }
}

fn seal_under(moto: &Moto, plaintext: &[u8]) -> Vec<u8> {
    let out = run(&["encrypt"], plaintext, &env_for(moto));
    assert_ok(&out);
    out.stdout
}

fn config_env(a: &Moto) -> Vec<(&'static str, String)> {
    vec![("OLD_SECRET", format!("{}\n", a.secret_access_key))]
}

#[test]
fn values_of_the_disabled_stanza_are_opened_with_its_credentials_and_rewrapped_under_the_enabled_key()
 {
    let a = Moto::start();
    let b = Moto::start();
    assert_ne!(a.access_key_id, b.access_key_id);
    assert_ne!(a.key_arn, b.key_arn);
    let dir = tempdir("migration");
    let config = migration_config(&dir, &a, &b, &a.access_key_id);
    let env = config_env(&a);

    let old_blob = seal_under(&a, PLAINTEXT);
    let new_blob = seal_under(&b, PLAINTEXT);
    assert_eq!(key_of(&old_blob), a.key_arn);

    // decrypt: both the old and the new value open with the migration config.
    for blob in [&old_blob, &new_blob] {
        let out = run(&["decrypt", "--config", &config], blob, &env);
        assert_ok(&out);
        assert_eq!(out.stdout, PLAINTEXT);
    }
    // Without the disabled stanza's credentials (A's access key replaced by B's) the old value
    // does not open: the old stanza's credentials are the ones used for it.
    let wrong = migration_config(&dir, &a, &b, &b.access_key_id);
    let out = run(&["decrypt", "--config", &wrong], &old_blob, &env);
    assert_failed(&out, 1, &[&a.secret_access_key, &b.secret_access_key]);
    assert!(
        stderr(&out).contains("disabled seal stanza"),
        "{}",
        stderr(&out)
    );
    let config = migration_config(&dir, &a, &b, &a.access_key_id);

    // rewrap of one file, then of a storage tree with a value of each key and another file.
    let file = dir.join("root-key");
    std::fs::write(&file, &old_blob).unwrap();
    let tree = dir.join("tree");
    let barrier = tree.join("core/hsm/_barrier-unseal-keys");
    let recovery = tree.join("core/_recovery-key");
    let other = tree.join("sys/token/id/abc");
    for (path, contents) in [
        (
            &barrier,
            format!(
                "{{\"Value\":\"{}\"}}\n",
                STANDARD.encode(seal_under(&a, PLAINTEXT))
            )
            .into_bytes(),
        ),
        (&recovery, seal_under(&b, RECOVERY_KEY)),
        (&other, b"not a seal value".to_vec()),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let recovery_before = std::fs::read(&recovery).unwrap();

    let dry = run(
        &[
            "rewrap",
            "--dry-run",
            "--config",
            &config,
            tree.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    assert_ok(&dry);
    assert!(
        stderr(&dry).contains("opened by the disabled stanza at"),
        "{}",
        stderr(&dry)
    );

    let out = run(
        &[
            "rewrap",
            "--config",
            &config,
            file.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    assert_ok(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rewrapped"], 2, "{summary}");
    assert_eq!(summary["from_disabled_stanza"], 2, "{summary}");
    assert_eq!(summary["up_to_date"], 1, "{summary}");
    assert_eq!(summary["other_files"], 1, "{summary}");
    assert_eq!(summary["key_arn"], b.key_arn.as_str());

    // Every value is now under B's key and opens with B alone (no migration config at all).
    for path in [&file, &barrier, &recovery] {
        let contents = std::fs::read(path).unwrap();
        assert_eq!(key_of(&contents), b.key_arn, "{}", path.display());
        let out = run(&["decrypt", path.to_str().unwrap()], b"", &env_for(&b));
        assert_ok(&out);
        let expected = if path == &recovery {
            RECOVERY_KEY
        } else {
            PLAINTEXT
        };
        assert_eq!(out.stdout, expected, "{}", path.display());
    }
    assert!(
        std::fs::read(&barrier)
            .unwrap()
            .starts_with(b"{\"Value\":\"")
    );
    assert_eq!(std::fs::read(&recovery).unwrap(), recovery_before);
    assert_eq!(std::fs::read(&other).unwrap(), b"not a seal value");

    // A rerun finds nothing to do.
    let again = run(
        &[
            "rewrap",
            "--config",
            &config,
            file.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    assert_ok(&again);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["rewrapped"], 0, "{summary}");
    assert_eq!(summary["up_to_date"], 3, "{summary}");
}

#[test]
fn without_a_disabled_stanza_old_values_still_go_to_the_enabled_seal() {
    let a = Moto::start();
    let b = Moto::start();
    let dir = tempdir("migration-none");
    let old_blob = seal_under(&a, PLAINTEXT);
    let path = dir.join("vault.hcl");
    std::fs::write(
        &path,
        format!(
            "seal \"awskms\" {{\n  region = \"{}\"\n  endpoint = \"{}\"\n  kms_key_id = \"{}\"\n  \
             access_key = \"{}\"\n  secret_key = \"{}\"\n}}\n",
            b.region, b.endpoint, b.alias, b.access_key_id, b.secret_access_key
        ),
    )
    .unwrap();
    // B does not know A's key: the enabled seal is asked, as before, and says so.
    let out = run(
        &["decrypt", "--config", path.to_str().unwrap()],
        &old_blob,
        &[],
    );
    assert_failed(&out, 1, &[&b.secret_access_key]);
    let new_blob = seal_under(&b, PLAINTEXT);
    let out = run(
        &["decrypt", "--config", path.to_str().unwrap()],
        &new_blob,
        &[],
    );
    assert_ok(&out);
    assert_eq!(out.stdout, PLAINTEXT);
}
