//! boto3 as the reference client: each HTTPS, trust and proxy scenario is first run with boto3
//! against the same peers and with the same environment as kms-seal, so that a failure of
//! kms-seal's run is kms-seal's.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::cli::base_env;

/// An encrypt/decrypt round trip with the key in `argv[2]`, against `argv[1]` (or, when it
/// is empty, whatever endpoint the environment names). Prints `ok` on success, else the
/// exception's class and message on stderr.
const ROUND_TRIP: &str = "import sys, boto3\n\
kms = boto3.client('kms', endpoint_url=sys.argv[1] or None)\n\
blob = kms.encrypt(KeyId=sys.argv[2], Plaintext=b'boto3 reference run')['CiphertextBlob']\n\
assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == b'boto3 reference run'\n\
print('ok')\n";

/// The Python interpreter that has boto3 (`PYTHON`, else `python3`), as an absolute path so
/// that it runs with a cleared environment.
///
/// # Panics
/// When no such interpreter is found, with what to install.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
            let out = Command::new(&python)
                .args(["-c", "import sys, boto3; print(sys.executable)"])
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {python}: {e}; install python3"));
            assert!(
                out.status.success(),
                "{python} has no boto3: run scripts/setup.sh (pip install moto[server])"
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        })
        .clone()
}

/// Runs the boto3 round trip with exactly [`base_env`] plus `env` (as the CLI runs).
pub fn round_trip(endpoint: &str, key_id: &str, env: &[(&str, &str)]) -> Output {
    run_script(ROUND_TRIP, &[endpoint, key_id], env)
}

/// Runs a Python `script` with `args` and exactly [`base_env`] plus `env`. The script
/// prints `ok` when it succeeds (see [`assert_works`]).
pub fn run_script(script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        .envs(base_env())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("python runs")
}

/// Asserts that the boto3 round trip worked.
#[track_caller]
pub fn assert_works(out: &Output) {
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "the boto3 reference run failed, so the scenario itself is broken: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that the boto3 round trip failed with stderr containing `needle`.
#[track_caller]
pub fn assert_fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(needle),
        "the boto3 reference run should fail with {needle:?}: {err}"
    );
}
