//! Loading `seal "awskms"` from the sample Vault configs in `vectors/config/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kms_seal_cli::FileError;
use kms_seal_cli::config::{self, ConfigFormat, LoadError, SealStanza};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::config::{ConfigError, Parameter, SecretSource, ValueSource};
use kms_seal_ureq::cli::StdFiles;

fn load(
    path: Option<&Path>,
    flags: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsKmsSealConfig, LoadError> {
    config::load(path.map(|p| p.to_str().unwrap()), flags, env, &StdFiles)
}

fn load_unresolved(
    path: Option<&Path>,
    flags: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsKmsSealConfig, LoadError> {
    config::load_unresolved(path.map(|p| p.to_str().unwrap()), flags, env, &StdFiles)
}

fn read_seal_stanzas(path: &Path) -> Result<Vec<SealStanza>, LoadError> {
    config::read_seal_stanzas(path.to_str().unwrap(), &StdFiles)
}

fn parse_seal_stanzas(text: &str, format: ConfigFormat) -> Result<Vec<SealStanza>, LoadError> {
    let path = match format {
        ConfigFormat::Hcl => "vault.hcl",
        ConfigFormat::Json => "vault.json",
    };
    config::parse_seal_stanzas(text, path)
}

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/config")
        .join(name)
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

/// A scratch directory unique to this test process and test name, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("kms-seal-config-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn migration_config_picks_the_enabled_awskms_stanza() {
    let stanzas = read_seal_stanzas(&vector("migration.hcl")).unwrap();
    let summary: Vec<(&str, bool)> = stanzas
        .iter()
        .map(|s| (s.seal_type.as_str(), s.disabled))
        .collect();
    assert_eq!(
        summary,
        [("awskms", true), ("transit", true), ("awskms", false)]
    );
    assert_eq!(
        Path::new(&stanzas[0].source),
        vector("migration.hcl").as_path()
    );

    let config = load(Some(&vector("migration.hcl")), &[], &env_of(&[])).unwrap();
    assert_eq!(config.kms_key_id, "alias/vault-unseal");
    assert_eq!(config.region, "eu-west-1");
    assert_eq!(config.region_source, ValueSource::Parameter);
    assert_eq!(
        config.endpoint.as_deref(),
        Some("https://vpce-0123.kms.eu-west-1.vpce.amazonaws.com")
    );
    assert_eq!(config.shared_creds_profile.as_deref(), Some("vault"));
    assert_eq!(config.role_session_name.as_deref(), Some("vault-seal"));
    assert!(!config.key_not_required && !config.disabled && !config.disallow_env_vars);
    assert!(config.access_key.is_none());
    // `name` and `priority` are Vault-generic: no warning.
    assert!(config.unknown_parameters.is_empty());
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let env = env_of(&[
        ("AWS_REGION", "us-east-2"),
        ("AWS_DEFAULT_REGION", "us-west-1"),
        ("AWSKMS_WRAPPER_KEY_ID", "alias/from-wrapper-env"),
    ]);
    let path = vector("migration.hcl");
    let config = load(Some(&path), &[], &env).unwrap();
    assert_eq!(config.region, "us-east-2");
    assert_eq!(config.region_source, ValueSource::Environment("AWS_REGION"));
    assert_eq!(config.kms_key_id, "alias/from-wrapper-env");

    let flags = [
        ("region", "ca-central-1"),
        ("kms_key_id", "alias/from-flag"),
    ];
    let config = load(Some(&path), &flags, &env).unwrap();
    assert_eq!(config.region, "ca-central-1");
    assert_eq!(config.region_source, ValueSource::Parameter);
    assert_eq!(config.kms_key_id, "alias/from-flag");
    // Parameters without a flag still come from the file.
    assert_eq!(config.shared_creds_profile.as_deref(), Some("vault"));
}

#[test]
fn several_enabled_stanzas_are_an_error() {
    let path = vector("several-enabled.hcl");
    let err = load(Some(&path), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(
        err,
        LoadError::SeveralAwsKmsSeals { count: 2, .. }
    ));
    let message = err.to_string();
    assert!(message.contains("several-enabled.hcl has 2 enabled seal \"awskms\" stanzas"));
    assert!(message.contains("disabled = \"true\""));
}

#[test]
fn no_enabled_stanza_is_an_error_that_lists_what_was_found() {
    let err = load(Some(&vector("none-enabled.hcl")), &[], &env_of(&[])).unwrap_err();
    let LoadError::NoAwsKmsSeal {
        disabled,
        other_types,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*disabled, 1);
    assert_eq!(other_types, &["transit"]);
    assert!(
        err.to_string()
            .contains("(found 1 disabled awskms, \"transit\")"),
        "{err}"
    );

    let err = load(Some(&vector("no-seal.hcl")), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(err, LoadError::NoAwsKmsSeal { disabled: 0, .. }));
    assert!(!err.to_string().contains("found"));
}

#[test]
fn vault_seal_type_activates_from_the_environment() {
    let env = env_of(&[
        ("VAULT_SEAL_TYPE", "awskms"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", "alias/env-only"),
        ("AWS_REGION", "me-south-1"),
    ]);
    // No file at all.
    let config = load(None, &[], &env).unwrap();
    assert_eq!(config.kms_key_id, "alias/env-only");
    assert_eq!(config.region, "me-south-1");
    // A file without any seal stanza.
    let config = load(Some(&vector("no-seal.hcl")), &[], &env).unwrap();
    assert_eq!(config.kms_key_id, "alias/env-only");
    // As in Vault, VAULT_SEAL_TYPE turns the one enabled stanza (here "transit") into awskms:
    // its parameters are unknown to this seal and reported.
    let config = load(Some(&vector("none-enabled.hcl")), &[], &env).unwrap();
    assert_eq!(config.kms_key_id, "alias/env-only");
    assert_eq!(config.unknown_parameters, ["address", "key_name"]);

    let err = load(
        Some(&vector("migration.hcl")),
        &[],
        &env_of(&[("VAULT_SEAL_TYPE", "gcpckms")]),
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::SealTypeNotAwsKms { .. }));
}

#[test]
fn json_object_and_list_forms() {
    let env = env_of(&[("VAULT_AWSKMS_SEAL_KEY_ID", "alias/ignored-env")]);
    let config = load(Some(&vector("object-form.json")), &[], &env).unwrap();
    assert_eq!(config.kms_key_id, "alias/json-object");
    assert_eq!(config.region, "us-east-2");
    assert!(config.disallow_env_vars);

    let config = load(Some(&vector("list-form.json")), &[], &env_of(&[])).unwrap();
    assert_eq!(config.kms_key_id, "alias/json-list");
    assert_eq!(config.region, "eu-north-1");

    let stanzas = read_seal_stanzas(&vector("list-form.json")).unwrap();
    let disabled: Vec<bool> = stanzas.iter().map(|s| s.disabled).collect();
    assert_eq!(disabled, [true, true, false]);
}

#[test]
fn json_is_detected_by_content_as_well_as_by_name() {
    let scratch = Scratch::new("detect");
    let path = scratch.0.join("vault.conf");
    std::fs::copy(vector("object-form.json"), &path).unwrap();
    let config = load(Some(&path), &[], &env_of(&[])).unwrap();
    assert_eq!(config.kms_key_id, "alias/json-object");
    let text = std::fs::read_to_string(vector("migration.hcl")).unwrap();
    assert_eq!(
        ConfigFormat::detect(path.to_str().unwrap(), &text),
        ConfigFormat::Hcl
    );
}

#[test]
fn a_directory_is_read_like_vault_server_config_dir() {
    let config = load(Some(&vector("dir")), &[], &env_of(&[])).unwrap();
    assert_eq!(config.kms_key_id, "alias/from-directory");
    assert_eq!(config.region, "eu-south-1");
    let stanzas = read_seal_stanzas(&vector("dir")).unwrap();
    assert_eq!(stanzas.len(), 1);
    assert!(stanzas[0].source.ends_with("10-seal.json"));
}

#[test]
fn static_keys_and_references() {
    let path = vector("static-keys.hcl");
    let unresolved = load_unresolved(Some(&path), &[], &env_of(&[])).unwrap();
    assert_eq!(
        unresolved.session_token,
        Some(SecretSource::Env("KMS_SEAL_TEST_SESSION_TOKEN".into()))
    );
    assert_eq!(unresolved.unknown_parameters, ["typo_param"]);
    let debug = format!("{unresolved:?}");
    assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");

    let err = load(Some(&path), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(
        err,
        LoadError::SecretEnvUnset {
            parameter: Parameter::SessionToken,
            ..
        }
    ));
    assert!(err.to_string().contains("KMS_SEAL_TEST_SESSION_TOKEN"));

    let env = env_of(&[("KMS_SEAL_TEST_SESSION_TOKEN", "session-token-value\n")]);
    let config = load(Some(&path), &[], &env).unwrap();
    assert_eq!(
        config.access_key.as_ref().unwrap().literal(),
        Some("AKIDEXAMPLEFROMFILE")
    );
    assert_eq!(
        config.secret_key.as_ref().unwrap().literal(),
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    );
    assert_eq!(
        config.session_token.as_ref().unwrap().literal(),
        Some("session-token-value")
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("session-token-value") && !debug.contains("wJalrXUtnFEMI"));
}

#[test]
fn file_references_are_read_and_errors_name_the_file() {
    let scratch = Scratch::new("file-refs");
    let secret_file = scratch.0.join("secret_key");
    std::fs::write(&secret_file, "secret-from-file\n").unwrap();
    let config_file = scratch.0.join("vault.hcl");
    std::fs::write(
        &config_file,
        format!(
            "seal \"awskms\" {{\n  kms_key_id = \"k\"\n  access_key = \"env://TEST_AK\"\n  secret_key = \"file://{}\"\n}}\n",
            secret_file.display()
        ),
    )
    .unwrap();
    let env = env_of(&[("TEST_AK", "AKIDFROMREF")]);
    let config = load(Some(&config_file), &[], &env).unwrap();
    assert_eq!(config.access_key.unwrap().literal(), Some("AKIDFROMREF"));
    assert_eq!(
        config.secret_key.unwrap().literal(),
        Some("secret-from-file")
    );

    std::fs::remove_file(&secret_file).unwrap();
    let err = load(Some(&config_file), &[], &env).unwrap_err();
    assert!(matches!(
        err,
        LoadError::SecretFileRead {
            parameter: Parameter::SecretKey,
            error: FileError::NotFound,
            ..
        }
    ));
    let message = err.to_string();
    assert!(message.contains("secret_key") && message.contains(&secret_file.display().to_string()));
    assert!(!message.contains('\n'));
}

#[test]
fn syntax_errors_point_at_the_line_and_never_echo_values() {
    for (name, line) in [("syntax-error.hcl", 3), ("syntax-error.json", 3)] {
        let err = load(Some(&vector(name)), &[], &env_of(&[])).unwrap_err();
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains("do-not-echo-this-secret"), "{shown}");
        assert!(!err.to_string().contains('\n'), "{err}");
        match &err {
            LoadError::Syntax { path, line: l, .. } => {
                assert_eq!(Path::new(path), vector(name).as_path());
                assert!(*l >= line, "{name}: line {l}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&vector(name).display().to_string())
        );
    }
}

#[test]
fn invalid_parameters_surface_as_config_errors() {
    let err = load(Some(&vector("bad-disabled.hcl")), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(err, LoadError::InvalidDisabled { line: 3, .. }));

    let scratch = Scratch::new("half-pair");
    let path = scratch.0.join("vault.hcl");
    std::fs::write(
        &path,
        "seal \"awskms\" {\n  kms_key_id = \"k\"\n  access_key = \"AKID\"\n}\n",
    )
    .unwrap();
    let err = load(Some(&path), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(
        err,
        LoadError::Config(ConfigError::AccessKeyWithoutSecret)
    ));
    assert!(
        err.to_string()
            .contains("set both access_key and secret_key, or neither")
    );
}

#[test]
fn missing_file_and_missing_config() {
    let missing = vector("does-not-exist.hcl");
    let err = load(Some(&missing), &[], &env_of(&[])).unwrap_err();
    assert!(matches!(
        err,
        LoadError::Read {
            error: FileError::NotFound,
            ..
        }
    ));
    assert!(err.to_string().contains("does-not-exist.hcl"));

    let err = load(None, &[], &env_of(&[])).unwrap_err();
    assert!(matches!(err, LoadError::NoConfig));
    assert!(err.to_string().contains("VAULT_SEAL_TYPE=awskms"));
}

#[test]
fn hcl_and_json_spellings_of_one_stanza_agree() {
    let hcl = r#"
        seal "awskms" {
          region = "eu-west-3"
          kms_key_id = "alias/same"
          key_not_required = true
          priority = 2
        }
    "#;
    let json = r#"{"seal": {"awskms": {"region": "eu-west-3", "kms_key_id": "alias/same",
                   "key_not_required": true, "priority": 2}}}"#;
    let mut from_hcl: Vec<(String, String)> = parse_seal_stanzas(hcl, ConfigFormat::Hcl).unwrap()
        [0]
    .params()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut from_json: Vec<(String, String)> = parse_seal_stanzas(json, ConfigFormat::Json)
        .unwrap()[0]
        .params()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    from_hcl.sort();
    from_json.sort();
    assert_eq!(from_hcl, from_json);
}
