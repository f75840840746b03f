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
use kms_seal_tests::mock_kms::MockKms;
use kms_seal_tests::moto::Moto;
use kms_seal_tests::stub_kms::StubKms;

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

    // inspect, offline, cannot resolve the old stanza's alias and says so.
    let inspected = run(&["inspect", "--config", &config], &old_blob, &[]);
    assert_ok(&inspected);
    let v: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let opened_by = v["blobs"][0]["opened_by"].as_str().unwrap();
    assert!(
        opened_by.contains("disabled stanza at") && opened_by.contains(&a.alias),
        "{v}"
    );
    assert_eq!(v["blobs"][0]["replica"], serde_json::Value::Null);

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

/// One `seal "awskms"` stanza.
fn stanza(
    disabled: bool,
    region: &str,
    endpoint: &str,
    key: &str,
    access: &str,
    secret: &str,
) -> String {
    format!(
        "seal \"awskms\" {{\n  disabled = \"{disabled}\"\n  region = \"{region}\"\n  \
         endpoint = \"{endpoint}\"\n  kms_key_id = \"{key}\"\n  access_key = \"{access}\"\n  \
         secret_key = \"{secret}\"\n}}\n"
    )
}

/// moto 5.2.1 cannot open its own multi-Region ciphertexts (it cuts the 40-character `mrk-`
/// key id to 36 in the ciphertext), so this test runs on the project's mock KMS over HTTP
/// (SigV4 checked, the credential scope must name the mock's region): the key's own region
/// A (us-east-1) and the replica region B (eu-west-1), each with its own credentials.
#[test]
fn a_multi_region_blob_opens_through_the_replica_when_its_own_region_is_down() {
    let home = MockKms::new("us-east-1");
    home.add_credentials("AKIDHOMEREGION", "home-secret");
    let primary = home.create_multi_region_key();
    let home = StubKms::start(home).expect("the home region's mock KMS starts");
    let home_url = home.url();

    // Sealed in the key's own region.
    let env: Vec<(&'static str, String)> = vec![
        ("VAULT_SEAL_TYPE", "awskms".to_owned()),
        ("VAULT_AWSKMS_SEAL_KEY_ID", primary.arn.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_KMS_ENDPOINT", home_url.clone()),
        ("AWS_ACCESS_KEY_ID", "AKIDHOMEREGION".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "home-secret".to_owned()),
    ];
    let out = run(&["encrypt"], PLAINTEXT, &env);
    assert_ok(&out);
    let blob = out.stdout;
    assert_eq!(key_of(&blob), primary.arn);

    let replica_kms = MockKms::new("eu-west-1");
    replica_kms.add_credentials("AKIDREPLICA", "replica-secret");
    let replica = replica_kms.replicate(home.kms(), &primary);
    assert_eq!(
        replica.arn,
        primary.arn.replace(":us-east-1:", ":eu-west-1:")
    );
    let replica_kms = StubKms::start(replica_kms).expect("the replica region's mock KMS starts");
    // The home region goes down: nothing listens on its port any more.
    drop(home);

    let dir = tempdir("migration-mrk");
    let config = dir.join("vault.hcl");
    let enabled = stanza(
        false,
        "eu-west-1",
        &replica_kms.url(),
        &replica.arn,
        "AKIDREPLICA",
        "replica-secret",
    );
    std::fs::write(
        &config,
        stanza(
            true,
            "us-east-1",
            &home_url,
            &primary.arn,
            "AKIDHOMEREGION",
            "home-secret",
        ) + &enabled,
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let served = replica_kms.served();
    let out = run(&["decrypt", "--config", config], &blob, &[]);
    assert_ok(&out);
    assert_eq!(out.stdout, PLAINTEXT);
    assert!(
        stderr(&out).contains("cannot be reached"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("home-secret"));
    // The replica region answered (DescribeKey of the enabled key, then the Decrypt): the mock
    // answers only requests signed for eu-west-1 with the replica stanza's access key.
    assert_eq!(replica_kms.served() - served, 2);

    // inspect names the stanza and the replica it would use.
    let inspected = run(&["inspect", "--config", config], &blob, &[]);
    assert_ok(&inspected);
    let v: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(v["blobs"][0]["key_id"], primary.arn.as_str());
    assert_eq!(v["blobs"][0]["replica"], replica.arn.as_str(), "{v}");
    assert!(
        v["blobs"][0]["opened_by"]
            .as_str()
            .unwrap()
            .starts_with("disabled stanza at "),
        "{v}"
    );

    // rewrap moves the value under the replica, the enabled key.
    let file = dir.join("root-key");
    std::fs::write(&file, &blob).unwrap();
    let out = run(
        &["rewrap", "--config", config, file.to_str().unwrap()],
        b"",
        &[],
    );
    assert_ok(&out);
    assert_eq!(key_of(&std::fs::read(&file).unwrap()), replica.arn);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["from_disabled_stanza"], 1, "{v}");

    // A region that answers with an access error is not down: the command stops there and
    // sends nothing to the replica. (The old stanza signs for us-east-1; the live mock wants
    // eu-west-1.)
    let wrong = dir.join("wrong.hcl");
    std::fs::write(
        &wrong,
        stanza(
            true,
            "us-east-1",
            &replica_kms.url(),
            &primary.arn,
            "AKIDHOMEREGION",
            "home-secret",
        ) + &enabled,
    )
    .unwrap();
    let before = replica_kms.served();
    let out = run(
        &["decrypt", "--config", wrong.to_str().unwrap()],
        &blob,
        &[],
    );
    assert_failed(&out, 1, &["home-secret", "replica-secret"]);
    assert!(
        stderr(&out).contains("disabled seal stanza"),
        "{}",
        stderr(&out)
    );
    // Only the old stanza's refused DescribeKey (one request) reached the live mock.
    assert_eq!(replica_kms.served() - before, 1, "{}", stderr(&out));
}
