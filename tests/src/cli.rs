//! Running the `kms-seal` binary from tests: locating it, and running it with a clean,
//! explicit environment so nothing from the developer's shell (or a real AWS profile) leaks in.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The `kms-seal` binary of this build: `KMS_SEAL_BIN` if set, else `kms-seal` next to the
/// test executable's `deps/` folder (`target/<profile>/kms-seal`). `scripts/test.sh` builds it
/// before the tests run.
///
/// # Panics
/// When the binary does not exist, with the command that builds it.
pub fn kms_seal_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KMS_SEAL_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executables live in target/<profile>/deps");
    let bin = profile_dir.join("kms-seal");
    assert!(
        bin.exists(),
        "{} does not exist: run `cargo build -p kms-seal-ureq --bin kms-seal` first \
         (scripts/test.sh does), or set KMS_SEAL_BIN",
        bin.display()
    );
    bin
}

/// Environment every CLI run starts from: no metadata service, no profile files, no proxy.
pub fn base_env() -> Vec<(String, String)> {
    let home = std::env::temp_dir().join("kms-seal-test-home-does-not-exist");
    [
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("HOME", home.display().to_string()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_owned(),
        ),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Runs `kms-seal ARGS` with exactly `base_env()` plus `env`, feeding `stdin`.
pub fn run(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(kms_seal_bin());
    cmd.args(args)
        .env_clear()
        .envs(base_env())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("kms-seal starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // Write from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("kms-seal runs");
    let _ = writer.join();
    out
}
