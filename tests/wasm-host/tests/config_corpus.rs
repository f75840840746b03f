//! The native `kms-seal` and the WASI command read every Vault configuration in
//! `tests/vectors/config/corpus/` the same way.
//!
//! For each file both run `kms-seal --config FILE encrypt` against moto with the same stdin and
//! environment, and must agree on the exit class (success, or failure: the native tool's usage
//! exit 2 is reported as 1 by the component, whose WASI 0.2 `exit` carries only ok/err), on
//! stderr byte for byte, and for successes on the `inspect` description of the blob (described
//! by the native `inspect` for both). Every differing file is listed in one failure.
//!
//! Both see the config at the same absolute path: the corpus is copied into a scratch directory
//! that the component gets pre-opened at its host path. The copy replaces `@MOTO_ENDPOINT@` and
//! `@CORPUS_DIR@` (see the corpus README). Needs moto and the native CLI; without the CLI the
//! test says so and passes, except under CI (`CI` set), where it fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kms_seal_wasm_host::{
    CommandOutput, CommandRun, Moto, native_cli, repo_root, run_command, run_native,
};

/// The corpus must keep at least this many configurations.
const MIN_CORPUS_FILES: usize = 45;

/// Bytes sealed in every run.
const PLAINTEXT: &[u8] = b"corpus plaintext";

#[test]
fn native_and_component_read_every_corpus_file_alike() {
    let Some(bin) = native() else { return };
    let moto = Moto::shared();
    assert_eq!(
        moto.alias, "alias/vault-unseal",
        "the corpus files name this alias; keep moto_bootstrap.py's default"
    );
    let scratch = Scratch::new();
    let dir = scratch.0.as_path();
    let names = corpus_files();
    assert!(
        names.len() >= MIN_CORPUS_FILES,
        "the corpus has {} files, expected at least {MIN_CORPUS_FILES}",
        names.len()
    );

    // Credential files for the file:// cases, next to the copied configs.
    std::fs::write(
        dir.join("access-key.txt"),
        format!("{}\n", moto.access_key_id),
    )
    .unwrap();
    std::fs::write(
        dir.join("secret-key.txt"),
        format!("{}\n", moto.secret_access_key),
    )
    .unwrap();
    let dir_text = dir.to_str().expect("the scratch directory path is UTF-8");
    for name in &names {
        let original = std::fs::read(corpus_dir().join(name)).unwrap();
        let copy = replace(
            &replace(&original, b"@MOTO_ENDPOINT@", moto.endpoint.as_bytes()),
            b"@CORPUS_DIR@",
            dir_text.as_bytes(),
        );
        std::fs::write(dir.join(name), copy).unwrap();
    }

    // The same for both: moto's endpoint and credentials, the variables the env:// cases
    // name, and no region or key id (those come from the files).
    let env = vec![
        ("AWS_KMS_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
        ("KMS_SEAL_CORPUS_ACCESS_KEY", moto.access_key_id.as_str()),
        (
            "KMS_SEAL_CORPUS_SECRET_KEY",
            moto.secret_access_key.as_str(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    let mut differences = Vec::new();
    let mut successes = 0;
    for name in &names {
        let path = dir.join(name);
        let path = path.to_str().expect("the config path is UTF-8");
        let args = ["--config", path, "encrypt"];
        let native = run_native(&bin, &args, &env, PLAINTEXT).map(|out| Outcome::of(&bin, out));
        let component = run_command(&CommandRun {
            args: args.to_vec(),
            env: env.clone(),
            stdin: PLAINTEXT.to_vec(),
            preopen: Some(dir.to_path_buf()),
            ..CommandRun::default()
        })
        .map(|out| Outcome::of(&bin, out));
        match (native, component) {
            (Ok(native), Ok(component)) => {
                if native.agrees_with(&component) {
                    successes += usize::from(native.class == 0);
                } else {
                    differences.push(describe(name, &native, &component));
                }
            }
            (native, component) => differences.push(format!(
                "{name}: a run did not complete\n  native:    {:?}\n  component: {:?}",
                native.map(|o| o.class),
                component.map(|o| o.class)
            )),
        }
    }

    assert!(
        differences.is_empty(),
        "{} of {} corpus files are read differently by the native CLI ({}) and the WASI \
         command (agreeing successes: {successes}):\n\n{}",
        differences.len(),
        names.len(),
        bin.display(),
        differences.join("\n\n")
    );
    // A corpus where nothing seals would prove little about the success path.
    assert!(successes > 0, "no corpus file sealed with either program");
}

#[test]
fn every_corpus_file_says_what_it_tests() {
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).unwrap();
    let mut undescribed = Vec::new();
    for name in corpus_files() {
        let bytes = std::fs::read(corpus_dir().join(&name)).unwrap();
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let commented = name.ends_with(".hcl")
            && (first_line.starts_with(b"#") || first_line.starts_with(b"//"));
        if !commented && !readme.contains(&format!("| `{name}` |")) {
            undescribed.push(name);
        }
    }
    assert!(
        undescribed.is_empty(),
        "corpus files without a first-line comment or a row in corpus/README.md: {undescribed:?}"
    );
}

#[test]
fn only_request_ids_and_placeholders_are_rewritten() {
    assert_eq!(
        without_request_ids("failed (http 400): gone. (request id AbC123); check (request id x)\n"),
        "failed (http 400): gone. (request id <id>); check (request id <id>)\n"
    );
    assert_eq!(
        without_request_ids("(request id unclosed"),
        "(request id unclosed"
    );
    assert_eq!(
        replace(b"a@X@b\xe9@X@", b"@X@", b"/tmp/d"),
        b"a/tmp/db\xe9/tmp/d".to_vec()
    );
}

/// What one program did with one file, in the terms the two must agree on.
#[derive(Debug)]
struct Outcome {
    /// The exit status as the program reported it.
    status: i32,
    /// 0 for success, 1 for failure (the native usage status 2 counts as 1); anything else,
    /// such as a native panic's 101, stays as it is.
    class: i32,
    /// stderr, byte for byte (lossily decoded) but for KMS request ids, which are fresh on
    /// every request.
    stderr: String,
    /// For a success: the native `inspect` JSON of stdout without its random fields, or why
    /// stdout could not be described.
    blob: Option<Result<serde_json::Value, String>>,
}

impl Outcome {
    fn of(bin: &Path, out: CommandOutput) -> Outcome {
        let class = match out.status {
            2 => 1,
            status => status,
        };
        let blob = (class == 0).then(|| inspect(bin, &out.stdout));
        Outcome {
            status: out.status,
            class,
            stderr: without_request_ids(&out.stderr),
            blob,
        }
    }

    /// Whether the two runs agree: exit class, stderr and blob description.
    fn agrees_with(&self, other: &Outcome) -> bool {
        self.class == other.class && self.stderr == other.stderr && self.blob == other.blob
    }
}

/// `text` with the id in every `(request id ID)` replaced by `<id>`.
fn without_request_ids(text: &str) -> String {
    const MARK: &str = "(request id ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let Some(close) = after.find(')') else { break };
        out.push_str(&rest[..at + MARK.len()]);
        out.push_str("<id>");
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// The native `inspect` of a sealed blob, with the fields that differ on every run removed.
fn inspect(bin: &Path, sealed: &[u8]) -> Result<serde_json::Value, String> {
    let out = run_native(bin, &["inspect"], &[], sealed).map_err(|e| format!("{e:#}"))?;
    if out.status != 0 {
        return Err(format!(
            "inspect failed ({}): {} (stdout was {} bytes)",
            out.status,
            out.stderr.trim_end(),
            sealed.len()
        ));
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("inspect printed no JSON: {e}"))?;
    remove_random_fields(&mut value);
    Ok(value)
}

/// Drops the values that are fresh on every encryption (lengths stay).
fn remove_random_fields(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for random in ["iv", "ciphertext", "wrapped_key", "hmac"] {
                map.remove(random);
            }
            map.values_mut().for_each(remove_random_fields);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(remove_random_fields),
        _ => {}
    }
}

/// One entry of the failure message: both exit classes and stderrs, and the blobs if they
/// differ.
fn describe(name: &str, native: &Outcome, component: &Outcome) -> String {
    let mut text = format!(
        "{name}: native exit {} (class {}) vs component exit {}",
        native.status, native.class, component.status
    );
    if native.stderr != component.stderr {
        let _ = write!(
            text,
            "\n  native stderr:    {:?}\n  component stderr: {:?}",
            truncate(&native.stderr),
            truncate(&component.stderr)
        );
    } else {
        let _ = write!(text, "\n  same stderr: {:?}", truncate(&native.stderr));
    }
    if native.blob != component.blob {
        let _ = write!(
            text,
            "\n  native blob:    {:?}\n  component blob: {:?}",
            native.blob, component.blob
        );
    }
    text
}

/// Long stderr (a 4 KiB key id echoed back) shortened for the report.
fn truncate(text: &str) -> String {
    const MAX: usize = 600;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}... ({} bytes)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

fn native() -> Option<PathBuf> {
    match native_cli() {
        Some(bin) => Some(bin),
        None if std::env::var_os("CI").is_some() => panic!(
            "the native kms-seal binary is missing: build it with `cargo build --bin kms-seal` \
             (or set KMS_SEAL_NATIVE_BIN) before the wasm host tests"
        ),
        None => {
            eprintln!(
                "SKIPPING config corpus: no native kms-seal in target/debug or target/release \
                 (build it with `cargo build --bin kms-seal`); CI fails here instead"
            );
            None
        }
    }
}

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/vectors/config/corpus")
}

/// The configuration files of the corpus (`.hcl` and `.json`), sorted by name.
fn corpus_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".hcl") || name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// `haystack` with every `needle` replaced by `with`, on bytes (some files are not UTF-8).
fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A scratch directory unique to this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("kms-seal-config-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir.canonicalize().unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
