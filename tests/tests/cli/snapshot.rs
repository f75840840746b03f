//! `kms-seal snapshot inspect|verify|rewrap` against moto on loopback with SigV4 checking on,
//! on raft snapshots written here the way OpenBao writes them (kms_seal_tests::snapshot, with
//! the `tar` and `flate2` crates, sealed items from `kms-seal encrypt`), and on broken ones:
//! tampered sums, tampered sealed sums, a keyring under another root key, truncated gzip,
//! garbage, an unexpected file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use kms_seal_core::envelope::BlobInfo;
use kms_seal_tests::cli;
use kms_seal_tests::moto::Moto;
use kms_seal_tests::snapshot::{
    self as snap, Entry, KEYRING, Parts, RECOVERY_KEY, SEAL_CONFIG, UNSEAL_KEYS,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

const ROOT: [u8; 32] = [0x5a; 32];
const TERM_KEY: [u8; 32] = [0x33; 32];

fn run(args: &[&str], env: &[(&'static str, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cli::run(args, b"", &pairs)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "kms-seal failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// One error line naming `what`, the exit status `code`, nothing on stdout, no key material.
#[track_caller]
fn assert_fails(out: &Output, code: i32, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(what), "expected {what:?} in: {err}");
    for secret in [snap::hex(&ROOT), base64_of(&ROOT)] {
        assert!(!err.contains(&secret), "key material in: {err}");
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Seals `plaintext` with the configured key through `kms-seal encrypt` (a bare BlobInfo).
fn seal(env: &[(&'static str, String)], plaintext: &[u8]) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = cli::run(&["encrypt"], plaintext, &pairs);
    assert!(out.status.success(), "encrypt: {}", stderr(&out));
    out.stdout
}

/// The entries of an OpenBao data set: sealed root keys and recovery key, the seal config,
/// the keyring (barrier-encrypted with `root`), barrier-encrypted data, one flagged entry.
fn entries(env: &[(&'static str, String)], root: &[u8; 32]) -> Vec<Entry> {
    let mut out = vec![
        Entry::new(UNSEAL_KEYS, seal(env, &snap::unseal_keys_json(&ROOT))),
        Entry::new(RECOVERY_KEY, seal(env, &[0x77; 32])),
        Entry::new(
            SEAL_CONFIG,
            br#"{"type":"awskms","secret_shares":1,"secret_threshold":1,"stored_shares":1}"#
                .to_vec(),
        ),
        Entry::new(
            "core/seal-config-recovery",
            br#"{"type":"shamir","secret_shares":1,"secret_threshold":1}"#.to_vec(),
        ),
        Entry::new(
            KEYRING,
            snap::barrier_encrypt(root, KEYRING, &snap::keyring_json(root, &TERM_KEY), [9; 12]),
        ),
    ];
    for i in 0..50u8 {
        let path = format!("logical/{i:02}/secret");
        let value = snap::barrier_encrypt(&TERM_KEY, &path, &[i; 100], [i; 12]);
        out.push(Entry::new(&path, value));
    }
    let mut flagged = Entry::new(
        "sys/token/id/h1",
        snap::barrier_encrypt(&TERM_KEY, "x", b"t", [1; 12]),
    );
    flagged.seal_wrap = true;
    out.push(flagged);
    out
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("kms-seal-snap-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(path: &str, entries: &mut [Entry], env: &[(&'static str, String)]) {
    snap::write_snapshot(Path::new(path), entries, &mut |sums| seal(env, sums)).expect("snapshot");
}

fn key_id(value: &[u8]) -> String {
    BlobInfo::decode(value)
        .expect("a bare BlobInfo")
        .key_id()
        .expect("a key id")
        .to_owned()
}

#[test]
fn inspect_verify_and_rewrap_a_snapshot() {
    let moto = Moto::start();
    let env = moto.seal_env();
    let dir = Dir::new("ok");
    let input = dir.path("in.snap");
    let mut ents = entries(&env, &ROOT);
    write(&input, &mut ents, &env);
    let in_bytes = fs::read(&input).unwrap();

    // inspect: offline, no configuration.
    let v = json_ok(&run(&["snapshot", "inspect", &input], &[]));
    assert_eq!(v["entries"], 56);
    assert_eq!(v["index"], 42);
    assert_eq!(v["term"], 3);
    assert_eq!(v["seal_type"], "awskms");
    assert_eq!(v["sums_match"], true);
    assert_eq!(v["size_matches"], true);
    assert_eq!(v["seal_wrap_flagged"], 1);
    for item in ["SHA256SUMS.sealed", UNSEAL_KEYS, RECOVERY_KEY] {
        assert_eq!(
            v["sealed"][item]["key_id"],
            moto.key_arn.as_str(),
            "{item}: {v}"
        );
        assert_eq!(v["sealed"][item]["mechanism"], 1);
        assert_eq!(v["sealed"][item]["format"], "blobinfo");
    }

    // verify: KMS opens the sealed sums and the root keys; the root key opens the keyring.
    let out = run(&["snapshot", "verify", &input], &env);
    let v = json_ok(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["keyring_terms"], 1);
    assert_eq!(v["recovery_key"], "opens");
    assert_eq!(v["key_ids"][UNSEAL_KEYS], moto.key_arn.as_str());
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(
        !text.contains(&base64_of(&ROOT)),
        "verify printed the root key"
    );

    // rewrap under a new key: OUT verifies and names the new key; IN is untouched.
    let new_arn = crate::moto::rotate_alias(&moto, &moto.alias);
    let output = dir.path("out.snap");
    let v = json_ok(&run(&["snapshot", "rewrap", &input, &output], &env));
    assert_eq!(v["rewrapped"], 3, "{v}");
    assert_eq!(v["up_to_date"], 0);
    assert_eq!(v["key_arn"], new_arn.as_str());
    assert_eq!(fs::read(&input).unwrap(), in_bytes, "IN must be untouched");
    let leftovers: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // OUT read back with the tar crate: same files in order, same records except the
    // sealed ones, meta Size and sums updated.
    let old = snap::read_files(Path::new(&input)).unwrap();
    let new = snap::read_files(Path::new(&output)).unwrap();
    let names: Vec<&str> = new.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["meta.json", "state.bin", "SHA256SUMS", "SHA256SUMS.sealed"]
    );
    let (old_state, new_state) = (snap::parse_state(&old[1].1), snap::parse_state(&new[1].1));
    assert_eq!(old_state.len(), new_state.len());
    for (a, b) in old_state.iter().zip(&new_state) {
        assert_eq!(a.key, b.key, "order kept");
        assert_eq!(a.seal_wrap, b.seal_wrap);
        if a.key == UNSEAL_KEYS || a.key == RECOVERY_KEY {
            assert_eq!(key_id(&a.value), moto.key_arn);
            assert_eq!(key_id(&b.value), new_arn, "{} rewrapped", b.key);
        } else {
            assert_eq!(a.record(), b.record(), "{} byte for byte", a.key);
        }
    }
    let meta: Value = serde_json::from_slice(&new[0].1).unwrap();
    assert_eq!(meta["Size"], new[1].1.len() as u64);
    let old_meta: Value = serde_json::from_slice(&old[0].1).unwrap();
    assert_eq!(meta["Configuration"], old_meta["Configuration"]);
    let sums = String::from_utf8(new[2].1.clone()).unwrap();
    assert!(sums.contains(&format!(
        "{}  state.bin\n",
        snap::hex(&Sha256::digest(&new[1].1))
    )));
    assert!(sums.contains(&format!(
        "{}  meta.json\n",
        snap::hex(&Sha256::digest(&new[0].1))
    )));
    assert_eq!(key_id(&new[3].1), new_arn);

    let v = json_ok(&run(&["snapshot", "verify", &output], &env));
    assert_eq!(v["key_ids"]["SHA256SUMS.sealed"], new_arn.as_str());
    assert_eq!(v["key_ids"][RECOVERY_KEY], new_arn.as_str());

    // Nothing left to do on a second rewrap; an existing OUT is refused (usage, exit 2).
    let again = dir.path("again.snap");
    let v = json_ok(&run(&["snapshot", "rewrap", &output, &again], &env));
    assert_eq!(
        (v["rewrapped"].as_u64(), v["up_to_date"].as_u64()),
        (Some(0), Some(3))
    );
    let out_bytes = fs::read(&output).unwrap();
    assert_fails(
        &run(&["snapshot", "rewrap", &input, &output], &env),
        2,
        "exists",
    );
    assert_eq!(
        fs::read(&output).unwrap(),
        out_bytes,
        "an existing OUT is never touched"
    );
}

/// Rewrites one file of the archive at `path` (read back with the tar crate) into `out`.
fn rebuild(path: &str, out: &str, change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) {
    let mut files = snap::read_files(Path::new(path)).unwrap();
    change(&mut files);
    let get = |n: &str| files.iter().find(|(f, _)| f == n).map(|(_, b)| b.clone());
    let meta = get("meta.json").unwrap_or_default();
    let state = get("state.bin").unwrap_or_default();
    let sums = get("SHA256SUMS").unwrap_or_default();
    let sealed = get("SHA256SUMS.sealed");
    snap::write_archive(
        Path::new(out),
        Parts {
            meta: &meta,
            state: &mut &state[..],
            state_len: state.len() as u64,
            sums: &sums,
            sealed_sums: sealed.as_deref(),
        },
    )
    .unwrap();
}

#[test]
fn broken_snapshots_fail_with_one_line() {
    let moto = Moto::start();
    let env = moto.seal_env();
    let dir = Dir::new("bad");
    let good = dir.path("good.snap");
    write(&good, &mut entries(&env, &ROOT), &env);
    let verify = |p: &str| run(&["snapshot", "verify", p], &env);
    json_ok(&verify(&good));

    // SHA256SUMS altered.
    let p = dir.path("sums.snap");
    rebuild(&good, &p, |f| {
        f[2].1[0] = if f[2].1[0] == b'0' { b'1' } else { b'0' }
    });
    assert_fails(&verify(&p), 1, "SHA256SUMS does not match");
    let v = json_ok(&run(&["snapshot", "inspect", &p], &[]));
    assert_eq!(v["sums_match"], false);
    assert_fails(
        &run(&["snapshot", "rewrap", &p, &dir.path("o1")], &env),
        1,
        "does not match",
    );

    // A state.bin byte flipped: the sums no longer match.
    let p = dir.path("state.snap");
    rebuild(&good, &p, |f| {
        let last = f[1].1.len() - 1;
        f[1].1[last] ^= 1;
    });
    assert_fails(&verify(&p), 1, "SHA256SUMS does not match");

    // Sealed sums of other text: they open, but do not agree.
    let p = dir.path("sealed.snap");
    let other = seal(
        &env,
        format!(
            "{}  meta.json\n{}  state.bin\n",
            "0".repeat(64),
            "1".repeat(64)
        )
        .as_bytes(),
    );
    rebuild(&good, &p, |f| f[3].1 = other);
    assert_fails(&verify(&p), 1, "does not agree");

    // Sealed sums altered: KMS or AES-GCM refuses them.
    let p = dir.path("sealed2.snap");
    rebuild(&good, &p, |f| {
        let n = f[3].1.len();
        f[3].1[n - 40] ^= 0x55;
    });
    assert_fails(&verify(&p), 1, "SHA256SUMS.sealed");

    // Sealed sums missing.
    let p = dir.path("nosealed.snap");
    rebuild(&good, &p, |f| {
        f.truncate(3);
    });
    assert_fails(&verify(&p), 1, "no SHA256SUMS.sealed");

    // The keyring under another root key than the sealed one: not restorable.
    let p = dir.path("wrongkey.snap");
    write(&p, &mut entries(&env, &[0x11; 32]), &env);
    assert_fails(&verify(&p), 1, "does not open core/keyring");

    // Truncated gzip, garbage, an empty file, a plain tar, a missing file.
    let bytes = fs::read(&good).unwrap();
    let p = dir.path("cut.snap");
    fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(&verify(&p), 1, "truncated");
    assert_fails(&run(&["snapshot", "inspect", &p], &[]), 1, "truncated");
    let p = dir.path("cut-tail.snap");
    fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
    assert_fails(&run(&["snapshot", "inspect", &p], &[]), 1, &p);
    let p = dir.path("garbage.snap");
    fs::write(&p, b"this is not a snapshot at all, just some text\n").unwrap();
    assert_fails(
        &run(&["snapshot", "inspect", &p], &[]),
        1,
        "not a valid gzip stream",
    );
    let p = dir.path("empty.snap");
    fs::write(&p, b"").unwrap();
    assert_fails(&run(&["snapshot", "inspect", &p], &[]), 1, &p);
    assert_fails(
        &run(&["snapshot", "inspect", &dir.path("none")], &[]),
        1,
        "no such file",
    );

    // An extra file, as OpenBao refuses it.
    let p = dir.path("extra.snap");
    {
        let file = fs::File::create(&p).unwrap();
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o600);
        tar.append_data(&mut h, "evil.txt", &b"abc"[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    assert_fails(
        &run(&["snapshot", "inspect", &p], &[]),
        1,
        "unexpected file \"evil.txt\"",
    );

    // Usage errors: exit 2.
    assert_fails(
        &run(&["snapshot", "rewrap", &good], &[]),
        2,
        "rewrap IN OUT",
    );
    assert_fails(&run(&["snapshot", "verify", &good], &[]), 2, "");
}
