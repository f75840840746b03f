//! Vault file-storage entries and storage trees through the `kms-seal` binary, against moto
//! with SigV4 checking: detection without flags, inspect/decrypt/rewrap of entries and of
//! trees (other files byte-identical with their mtime), symbolic links, modes and owners,
//! hard links, `--dry-run`, and SIGKILL at random points of a concurrent rewrap behind a
//! latency proxy, after which every value decrypts and a rerun completes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::envelope::decode_stored_value;
use kms_seal_tests::cli;
use kms_seal_tests::fault_server::{Action, FaultServer, Upstream};
use kms_seal_tests::moto::Moto;
use kms_seal_ureq::credentials::EnvLookup;
use kms_seal_ureq::native::{NativeSeal, build_seal};

use super::moto::{assert_failed, assert_ok, env_for, rotate_alias, run, stderr, tempdir};

/// Vault's barrier keys plaintext: a JSON array of base64 root keys.
const BARRIER_KEYS: &[u8] = b"[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"]";
/// A recovery key: raw bytes.
const RECOVERY_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// `{"Value":"<base64>"}` and a newline, as Vault's file backend writes an entry.
fn file_entry(stored: &[u8]) -> Vec<u8> {
    format!("{{\"Value\":\"{}\"}}\n", STANDARD.encode(stored)).into_bytes()
}

/// Seals `plaintext` through the binary (a bare BlobInfo).
fn seal_value(plaintext: &[u8], env: &[(&'static str, String)]) -> Vec<u8> {
    let out = run(&["encrypt"], plaintext, env);
    assert_ok(&out);
    out.stdout
}

/// The native seal of the library, configured like the binary.
fn library_seal(env: &[(&'static str, String)]) -> NativeSeal {
    let env = EnvLookup::from_pairs(
        env.iter()
            .cloned()
            .chain([("AWS_EC2_METADATA_DISABLED", "true".to_owned())]),
    );
    let lookup = |k: &str| env.get(k);
    let config = kms_seal_cli::config::load(None, &[], &lookup, &kms_seal_cli::NoFiles).unwrap();
    build_seal(&config, env.clone()).unwrap().seal
}

/// The stored bytes of a file in either form.
fn stored_bytes(contents: &[u8]) -> Vec<u8> {
    if contents.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(contents).unwrap();
        STANDARD.decode(v["Value"].as_str().unwrap()).unwrap()
    } else {
        contents.to_vec()
    }
}

/// The plaintext and the key ARN of the value in the file at `path`.
fn open(seal: &NativeSeal, path: &Path) -> (Vec<u8>, String) {
    let raw = stored_bytes(&std::fs::read(path).unwrap());
    let value = decode_stored_value(&raw).unwrap().value;
    let key = match &value {
        kms_seal_core::envelope::StoredValue::Bare(b) => b.key_id().unwrap_or("").to_owned(),
        kms_seal_core::envelope::StoredValue::Multi(_) => String::new(),
    };
    let plaintext = seal
        .decrypt_value(&value, None)
        .unwrap_or_else(|e| panic!("{} does not decrypt: {e}", path.display()));
    (plaintext.to_vec(), key)
}

fn write(path: &Path, contents: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn set_mtime(path: &Path, secs: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Every file under `dir` (not following directory links), sorted.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn file_storage_entries_are_detected_everywhere_and_keep_their_other_members() {
    let moto = Moto::start();
    let env = env_for(&moto);
    let dir = tempdir("file-entry");
    let blob = seal_value(RECOVERY_KEY, &env);
    let entry = file_entry(&blob);

    // decrypt: on stdin and as a FILE argument, without flags.
    let dec = run(&["decrypt"], &entry, &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, RECOVERY_KEY);
    let path = dir.join("_recovery-key");
    write(&path, &entry, 0o600);
    let dec = run(&["decrypt", path.to_str().unwrap()], b"", &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, RECOVERY_KEY);

    // inspect: offline, names the form.
    let out = cli::run(&["inspect", path.to_str().unwrap()], b"", &[]);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["storage"], "vault-file-entry");
    assert_eq!(v["blobs"][0]["key_id"], moto.key_arn.as_str());
    let out = cli::run(&["inspect"], &blob, &[]);
    assert_eq!(json(&out)["storage"], "raw");

    // A broken entry is refused with a reason, naming the file.
    let broken = dir.join("_broken");
    write(&broken, b"{\"Value\":\"not base64!\"}\n", 0o600);
    let out = run(&["decrypt", broken.to_str().unwrap()], b"", &env);
    assert_failed(&out, 1, &[]);
    assert!(stderr(&out).contains("_broken") && stderr(&out).contains("not base64"));

    // An entry with other members (in another order, other spacing): rewrap replaces the
    // Value only.
    let extra = dir.join("_barrier-unseal-keys");
    let b64 = STANDARD.encode(seal_value(BARRIER_KEYS, &env));
    let text = format!("{{ \"Extra\": {{\"a\": [1, 2]}},\n  \"Value\": \"{b64}\", \"n\": 3 }}\n");
    write(&extra, text.as_bytes(), 0o640);

    let new_arn = rotate_alias(&moto, &moto.alias);
    let out = run(
        &["rewrap", path.to_str().unwrap(), extra.to_str().unwrap()],
        b"",
        &env,
    );
    assert_ok(&out);
    assert_eq!(json(&out)["rewrapped"], 2, "{}", stderr(&out));

    let after = String::from_utf8(std::fs::read(&extra).unwrap()).unwrap();
    assert!(
        after.starts_with("{ \"Extra\": {\"a\": [1, 2]},\n  \"Value\": \""),
        "{after}"
    );
    assert!(after.ends_with("\", \"n\": 3 }\n"), "{after}");
    assert!(!after.contains(&b64));
    let plain = std::fs::read(&path).unwrap();
    assert!(plain.starts_with(b"{\"Value\":\"") && plain.ends_with(b"\"}\n"));
    assert_eq!(
        std::fs::metadata(&extra).unwrap().permissions().mode() & 0o777,
        0o640
    );

    let seal = library_seal(&env);
    assert_eq!(open(&seal, &path), (RECOVERY_KEY.to_vec(), new_arn.clone()));
    assert_eq!(open(&seal, &extra), (BARRIER_KEYS.to_vec(), new_arn));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_storage_tree_is_rewrapped_and_everything_else_is_left_alone() {
    let moto = Moto::start();
    let env = env_for(&moto);
    let root = tempdir("tree");
    let vault = root.join("vault");
    let elsewhere = root.join("elsewhere");

    // The barrier keys as a file entry, the recovery key as a symbolic link to a raw value
    // kept outside the tree, plus other entries: plaintext config, barrier-encrypted junk.
    let keys = vault.join("core/hsm/_barrier-unseal-keys");
    write(&keys, &file_entry(&seal_value(BARRIER_KEYS, &env)), 0o600);
    let recovery_target = elsewhere.join("recovery-key");
    write(&recovery_target, &seal_value(RECOVERY_KEY, &env), 0o640);
    let recovery = vault.join("core/_recovery-key");
    std::os::unix::fs::symlink(&recovery_target, &recovery).unwrap();
    // A raw-form entry in a second tree below the same directory.
    let raw_keys = root.join("extracted/core/hsm/barrier-unseal-keys");
    write(&raw_keys, &seal_value(BARRIER_KEYS, &env), 0o600);
    let others = [
        (
            vault.join("core/_seal-config"),
            br#"{"Value":"eyJ0eXBlIjoiYXdza21zIn0="}"#.to_vec(),
        ),
        (vault.join("logical/abc/_secret"), vec![0, 1, 2, 0xff, b'{']),
        (
            vault.join("sys/token/_accessor"),
            b"{\"Value\":\"AQID\"}\n".to_vec(),
        ),
        (
            vault.join("logical/_recovery-key"),
            b"not under core/".to_vec(),
        ),
    ];
    for (i, (p, contents)) in others.iter().enumerate() {
        write(p, contents, 0o600);
        set_mtime(p, 1_600_000_000 + i as u64);
    }
    let as_root = runs_as_root();
    if as_root {
        std::os::unix::fs::chown(&keys, Some(4321), Some(4322)).unwrap();
    }

    // Offline inspect of the tree.
    let out = cli::run(&["inspect", root.to_str().unwrap()], b"", &[]);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["entries"].as_array().unwrap().len(), 3, "{v}");
    // The four others, and the link's target in elsewhere/ (reached by its own path).
    assert_eq!(v["other_files"], 5);
    assert_eq!(v["entries"][2]["value"]["storage"], "vault-file-entry");

    // decrypt of a directory is refused.
    let out = run(&["decrypt", vault.to_str().unwrap()], b"", &env);
    assert_failed(&out, 2, &[]);
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));

    let new_arn = rotate_alias(&moto, &moto.alias);
    let before: Vec<(PathBuf, Vec<u8>)> = all_files(&root)
        .into_iter()
        .map(|p| {
            let c = std::fs::read(&p).unwrap();
            (p, c)
        })
        .collect();

    // --dry-run lists and changes nothing.
    let out = run(&["rewrap", "--dry-run", root.to_str().unwrap()], b"", &env);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["rewrapped"], 0);
    assert_eq!(v["would_rewrap"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["other_files"], 5);
    for (p, c) in &before {
        assert_eq!(&std::fs::read(p).unwrap(), c, "{} changed", p.display());
    }

    let out = run(
        &["rewrap", "--jobs", "2", root.to_str().unwrap()],
        b"",
        &env,
    );
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["rewrapped"], 3, "{v} {}", stderr(&out));
    assert_eq!(v["other_files"], 5);
    assert_eq!(v["failed"], 0);

    // Other files: byte for byte, mtime kept.
    for (i, (p, contents)) in others.iter().enumerate() {
        assert_eq!(&std::fs::read(p).unwrap(), contents, "{}", p.display());
        assert_eq!(
            std::fs::metadata(p).unwrap().mtime(),
            1_600_000_000 + i as i64
        );
    }
    // The link is still a link, to the same target, whose value changed in its directory.
    assert!(
        std::fs::symlink_metadata(&recovery)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_link(&recovery).unwrap(), recovery_target);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
    let meta = std::fs::metadata(&recovery_target).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let meta = std::fs::metadata(&keys).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    if as_root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    }
    let seal = library_seal(&env);
    assert_eq!(open(&seal, &keys), (BARRIER_KEYS.to_vec(), new_arn.clone()));
    assert_eq!(
        open(&seal, &recovery),
        (RECOVERY_KEY.to_vec(), new_arn.clone())
    );
    assert_eq!(
        open(&seal, &raw_keys),
        (BARRIER_KEYS.to_vec(), new_arn.clone())
    );
    assert!(
        !all_files(&root)
            .iter()
            .any(|p| p.to_string_lossy().contains(".kms-seal-")),
        "no temporary file left"
    );

    // The up-to-date check: a dry run finds nothing to do.
    let out = run(&["rewrap", "--dry-run", root.to_str().unwrap()], b"", &env);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["up_to_date"], 3);
    assert_eq!(v["would_rewrap"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&root);
}

/// Whether the tests run as root (then a foreign owner can be set and must be kept).
fn runs_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn a_hard_linked_entry_is_reported_not_split() {
    let moto = Moto::start();
    let env = env_for(&moto);
    let root = tempdir("hardlink");
    let entry = root.join("core/_recovery-key");
    write(&entry, &file_entry(&seal_value(RECOVERY_KEY, &env)), 0o600);
    let backup = root.join("backup-recovery-key");
    std::fs::hard_link(&entry, &backup).unwrap();
    let ok_entry = root.join("core/hsm/_barrier-unseal-keys");
    write(
        &ok_entry,
        &file_entry(&seal_value(BARRIER_KEYS, &env)),
        0o600,
    );
    let contents = std::fs::read(&entry).unwrap();
    let new_arn = rotate_alias(&moto, &moto.alias);

    let out = run(&["rewrap", root.to_str().unwrap()], b"", &env);
    assert_failed(&out, 1, &[]);
    let err = stderr(&out);
    assert!(err.contains("has 2 hard links"), "{err}");
    assert!(
        err.contains("1 rewrapped") && err.contains("1 failed"),
        "{err}"
    );
    // Both names still share one inode with the old value; the other entry moved on.
    assert_eq!(std::fs::read(&entry).unwrap(), contents);
    assert_eq!(std::fs::metadata(&entry).unwrap().nlink(), 2);
    let seal = library_seal(&env);
    assert_eq!(open(&seal, &ok_entry).1, new_arn);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn sigkill_at_random_points_leaves_every_value_decryptable_and_a_rerun_finishes() {
    let moto = Moto::start();
    let env = env_for(&moto);
    // A latency proxy in front of moto, so that kills land in the middle of the run.
    let proxy = FaultServer::start(Upstream::Proxy(
        format!("127.0.0.1:{}", moto.port).parse().unwrap(),
    ));
    proxy.keep_log(false).set_default(Action::Delay(
        Duration::from_millis(15),
        Box::new(Action::Upstream),
    ));
    let proxied: Vec<(&'static str, String)> = env
        .iter()
        .map(|(k, v)| {
            if *k == "AWS_KMS_ENDPOINT" {
                (*k, proxy.url())
            } else {
                (*k, v.clone())
            }
        })
        .collect();

    let root = tempdir("sigkill");
    let seal = library_seal(&env);
    let mut entries = Vec::new();
    for i in 0..20 {
        let keys = root.join(format!("node{i:02}/core/hsm/_barrier-unseal-keys"));
        let blob = seal.encrypt(BARRIER_KEYS, None).unwrap();
        let stored = kms_seal_core::envelope::StoredValue::Bare(blob).encode();
        write(&keys, &file_entry(&stored), 0o600);
        let recovery = root.join(format!("node{i:02}/core/recovery-key"));
        let blob = seal.encrypt(RECOVERY_KEY, None).unwrap();
        write(
            &recovery,
            &kms_seal_core::envelope::StoredValue::Bare(blob).encode(),
            0o600,
        );
        entries.push((keys, BARRIER_KEYS));
        entries.push((recovery, RECOVERY_KEY));
    }

    let mut killed_mid_run = 0;
    for round in 0..4 {
        let arn = rotate_alias(&moto, &moto.alias);
        let mut child = Command::new(cli::kms_seal_bin())
            .args(["rewrap", "--jobs", "4", root.to_str().unwrap()])
            .env_clear()
            .envs(cli::base_env())
            .envs(proxied.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut r = [0u8; 2];
        getrandom::fill(&mut r).unwrap();
        let delay = 20 + u64::from(u16::from_le_bytes(r)) % 600;
        std::thread::sleep(Duration::from_millis(delay));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        if !finished {
            killed_mid_run += 1;
        }

        // Every value decrypts, under the old key or the new one.
        for (path, plaintext) in &entries {
            assert_eq!(&open(&seal, path).0, plaintext, "round {round}");
        }
        // A leftover of a dead process, as a kill between create and rename leaves.
        let planted = root.join("node03/core/.recovery-key.kms-seal-4194305.tmp");
        std::fs::write(&planted, b"partial").unwrap();

        let out = run(
            &["rewrap", "--jobs", "4", root.to_str().unwrap()],
            b"",
            &proxied,
        );
        assert_ok(&out);
        let v = json(&out);
        assert_eq!(v["failed"], 0);
        assert!(v["leftovers_removed"].as_u64().unwrap() >= 1, "{v}");
        assert_eq!(
            v["rewrapped"].as_u64().unwrap() + v["up_to_date"].as_u64().unwrap(),
            40
        );
        for (path, plaintext) in &entries {
            assert_eq!(open(&seal, path), (plaintext.to_vec(), arn.clone()));
        }
        let left: Vec<_> = all_files(&root)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".kms-seal-"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
    assert!(killed_mid_run > 0, "no kill landed before the run finished");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn throttling_narrows_the_jobs_and_the_rewrap_still_completes() {
    let moto = Moto::start();
    let env = env_for(&moto);
    let proxy = FaultServer::start(Upstream::Proxy(
        format!("127.0.0.1:{}", moto.port).parse().unwrap(),
    ));
    let proxied: Vec<(&'static str, String)> = env
        .iter()
        .map(|(k, v)| {
            if *k == "AWS_KMS_ENDPOINT" {
                (*k, proxy.url())
            } else {
                (*k, v.clone())
            }
        })
        .collect();
    let root = tempdir("throttle");
    let seal = library_seal(&env);
    let mut entries = Vec::new();
    for i in 0..6 {
        for (name, plaintext) in [
            ("core/hsm/_barrier-unseal-keys", BARRIER_KEYS),
            ("core/_recovery-key", RECOVERY_KEY),
        ] {
            let path = root.join(format!("n{i}")).join(name);
            let blob = seal.encrypt(plaintext, None).unwrap();
            let stored = kms_seal_core::envelope::StoredValue::Bare(blob).encode();
            write(&path, &file_entry(&stored), 0o600);
            entries.push((path, plaintext));
        }
    }
    let arn = rotate_alias(&moto, &moto.alias);
    // DescribeKey passes; then KMS throttles the next 14 requests, more than the seal's three
    // attempts per call can absorb.
    proxy.push(Action::Upstream).push_n(
        14,
        Action::kms_error(400, "ThrottlingException", "Rate exceeded"),
    );
    let out = run(
        &["rewrap", "-v", "--jobs", "4", root.to_str().unwrap()],
        b"",
        &proxied,
    );
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["rewrapped"], 12, "{v}");
    assert_eq!(v["failed"], 0);
    assert_eq!(proxy.pending(), 0);
    let err = stderr(&out);
    assert!(err.contains("KMS is throttling"), "{err}");
    for (path, plaintext) in &entries {
        assert_eq!(open(&seal, path), (plaintext.to_vec(), arn.clone()));
    }
    let _ = std::fs::remove_dir_all(&root);
}
