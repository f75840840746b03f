//! Configuration errors stay one line whatever the config holds.
//!
//! Regression for a `vault_config` fuzz find: a seal type with a line break
//! (`seal "sh\n  kms_" {}`) was echoed verbatim by `VaultConfigError`'s `Display`, so one error
//! became two lines (and a config could forge a log line). Control characters are now shown
//! escaped. Each case here puts a line break in another echoed field.

use std::path::PathBuf;

use kms_seal_cli::config::{self, LoadError};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_ureq::cli::StdFiles;

fn load_unresolved(
    path: Option<&std::path::Path>,
    flags: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsKmsSealConfig, LoadError> {
    config::load_unresolved(path.map(|p| p.to_str().unwrap()), flags, env, &StdFiles)
}

fn config_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kms-seal-config-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[track_caller]
fn assert_one_line(shown: &str, escaped: &str) {
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown:?}");
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.contains(escaped), "{escaped} not in {shown:?}");
}

#[test]
fn a_seal_type_with_a_line_break_is_escaped() {
    let path = config_file("seal-type.hcl", "seal \"sh\\n  kms_\" {\n  x = \"y\"\n}\n");
    let err = load_unresolved(Some(&path), &[], &|_: &str| None).unwrap_err();
    assert_one_line(&err.to_string(), "sh\\n  kms_");

    // The fuzzer's own input (raw bytes in the label), from fuzz/corpus/vault_config.
    let path = config_file(
        "seal-type-raw.json",
        "{\"seal\": {\"sh\\u0007\\r\\n\": {}}}",
    );
    let err = load_unresolved(Some(&path), &[], &|_: &str| None).unwrap_err();
    assert_one_line(&err.to_string(), "sh\\u{7}\\r\\n");
}

#[test]
fn keys_values_and_variables_with_line_breaks_are_escaped() {
    let err = config::parse_seal_stanzas(
        "{\"seal\": {\"awskms\": {\"bad\\nkey\": [1]}}}",
        "vault.json",
    )
    .unwrap_err();
    assert_one_line(&err.to_string(), "bad\\nkey");

    let err = config::parse_seal_stanzas(
        "{\"seal\": {\"awskms\": {\"disabled\": \"tr\\nue\"}}}",
        "vault.json",
    )
    .unwrap_err();
    assert_one_line(&err.to_string(), "tr\\nue");

    let path = config_file(
        "region.json",
        "{\"seal\": {\"awskms\": {\"kms_key_id\": \"k\", \"region\": \"eu\\nwest\"}}}",
    );
    let err = load_unresolved(Some(&path), &[], &|_: &str| None).unwrap_err();
    assert_one_line(&err.to_string(), "eu\\nwest");

    let env = |name: &str| (name == "VAULT_SEAL_TYPE").then(|| "transit\nFAKE LOG LINE".to_owned());
    let err = load_unresolved(None, &[], &env).unwrap_err();
    assert_one_line(&err.to_string(), "transit\\nFAKE LOG LINE");
}
