use super::*;
use alloc::string::ToString;
use alloc::vec;
use kms_seal_core::config::ValueSource;

/// Files in memory: `(path, contents)`; a path that is a prefix + `/` of others is a directory.
struct MemFiles(Vec<(&'static str, &'static str)>);

impl Files for MemFiles {
    fn read_file(&self, path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
        let (_, text) = self
            .0
            .iter()
            .find(|(p, _)| *p == path)
            .ok_or(FileError::NotFound)?;
        if text.len() as u64 > limit {
            return Err(FileError::TooLarge(limit));
        }
        Ok(Zeroizing::new(text.as_bytes().to_vec()))
    }

    fn is_dir(&self, path: &str) -> Result<bool, FileError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        if self.0.iter().any(|(p, _)| p.starts_with(&prefix)) {
            Ok(true)
        } else if self.0.iter().any(|(p, _)| *p == path) {
            Ok(false)
        } else {
            Err(FileError::NotFound)
        }
    }

    fn list_files(&self, path: &str) -> Result<Vec<String>, FileError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Ok(self
            .0
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(ToString::to_string)
            .collect())
    }
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    }
}

fn no_files() -> MemFiles {
    MemFiles(Vec::new())
}

#[test]
fn format_detection() {
    assert_eq!(
        ConfigFormat::detect("v.JSON", "seal {}"),
        ConfigFormat::Json
    );
    assert_eq!(
        ConfigFormat::detect("v.hcl", " \n\t{\"seal\":{}}"),
        ConfigFormat::Json
    );
    assert_eq!(ConfigFormat::detect("-", "\u{feff}{}"), ConfigFormat::Json);
    assert_eq!(
        ConfigFormat::detect("vault.conf", "seal \"awskms\" {}"),
        ConfigFormat::Hcl
    );
    assert_eq!(
        ConfigFormat::detect("dir.json/v", "x = 1"),
        ConfigFormat::Hcl
    );
}

#[test]
fn values_vault_would_not_take_name_file_line_and_parameter() {
    let cases = [
        (
            "v.hcl",
            "seal \"awskms\" {\n  kms_key_id = null\n}\n",
            "v.hcl:2: seal \"awskms\" parameter `kms_key_id` is null, not a string",
        ),
        (
            "v.json",
            "{\"seal\": {\"awskms\": {\n  \"kms_key_id\": null}}}",
            "v.json:2: seal \"awskms\" parameter `kms_key_id` is null, not a string",
        ),
        (
            "v.hcl",
            "seal \"awskms\" {\n\n  kms_key_id = foo\n}\n",
            "v.hcl:3: seal \"awskms\" parameter `kms_key_id` is an unquoted name",
        ),
        (
            "v.hcl",
            "seal \"awskms\" { region = [\"a\"] }",
            "v.hcl:1: seal \"awskms\" parameter `region` is a list",
        ),
        (
            "v.hcl",
            "seal \"awskms\" {\n kms_key_id = \"a\"\n kms_key_id = \"b\"\n}",
            "v.hcl:3: seal \"awskms\" sets `kms_key_id` again (first on line 2); keep only one",
        ),
        (
            "v.hcl",
            "seal \"awskms\" {\n disabled = \"yes\"\n}",
            "v.hcl:2: seal \"awskms\" has disabled = `yes`, not a boolean",
        ),
        (
            "v.hcl",
            "ui = true\nseal \"awskms\" {\n  secret_key = \"hunter2-very-secret\n}\n",
            "v.hcl:3: invalid HCL: a string is not closed on its line; fix the syntax there",
        ),
    ];
    for (path, text, expected) in cases {
        let err = parse_seal_stanzas(text, path).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{text}:\n{err}\n{expected}");
        assert!(!err.contains("hunter2") && !err.contains('\n'), "{err}");
    }
}

#[test]
fn stanza_debug_hides_values() {
    let stanzas =
        parse_seal_stanzas("seal \"awskms\" { secret_key = \"abc-secret\" }", "v").unwrap();
    let debug = format!("{:?}", stanzas[0]);
    assert!(debug.contains("secret_key"));
    assert!(!debug.contains("abc-secret"));
}

#[test]
fn selection_follows_vault() {
    let files = MemFiles(vec![
        (
            "two.hcl",
            "seal \"awskms\" { kms_key_id = \"a\" }\nseal \"awskms\" { kms_key_id = \"b\" }",
        ),
        ("transit.hcl", "seal \"transit\" { key_name = \"k\" }"),
        (
            "migrate.hcl",
            "seal \"awskms\" {\n disabled = \"true\"\n kms_key_id = \"old\"\n}\nseal \"awskms\" { kms_key_id = \"new\" }",
        ),
        ("dir/b.hcl", "seal \"awskms\" { kms_key_id = \"from-dir\" }"),
        ("dir/a.json", "{\"ui\": true}"),
        (
            "dir/notes.txt",
            "seal \"awskms\" { kms_key_id = \"ignored\" }",
        ),
        ("empty.hcl", ""),
    ]);
    let env = env_of(&[]);
    let err = load(Some("two.hcl"), &[], &env, &files).unwrap_err();
    assert_eq!(
        err.to_string(),
        "two.hcl has 2 enabled seal \"awskms\" stanzas; add disabled = \"true\" to all but the one to use"
    );
    let err = load(Some("transit.hcl"), &[], &env, &files).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no enabled seal \"awskms\" stanza in transit.hcl (found \"transit\")"),
        "{err}"
    );
    let err = load(Some("empty.hcl"), &[], &env, &files).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no enabled seal \"awskms\" stanza in empty.hcl;"),
        "{err}"
    );
    let c = load(Some("migrate.hcl"), &[], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "new");
    let c = load(Some("dir"), &[], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "from-dir");
    let err = load(Some("missing.hcl"), &[], &env, &files).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read Vault config missing.hcl: no such file or directory; check the path and its permissions"
    );
    // With VAULT_SEAL_TYPE=awskms any enabled stanza is the seal, and none means env only.
    let env = env_of(&[
        ("VAULT_SEAL_TYPE", "awskms"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", "env-key"),
    ]);
    let c = load(Some("transit.hcl"), &[], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "env-key");
    assert_eq!(c.unknown_parameters, vec!["key_name".to_string()]);
    let c = load(Some("empty.hcl"), &[], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "env-key");
}

#[test]
fn env_only_activation() {
    let files = no_files();
    let env = env_of(&[
        ("VAULT_SEAL_TYPE", "awskms"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", "alias/from-env"),
        ("AWS_DEFAULT_REGION", "sa-east-1"),
    ]);
    let c = load(None, &[], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "alias/from-env");
    assert_eq!(c.region, "sa-east-1");
    assert_eq!(
        c.region_source,
        ValueSource::Environment("AWS_DEFAULT_REGION")
    );

    let err = load(None, &[], &env_of(&[]), &files).unwrap_err();
    assert!(matches!(err, LoadError::NoConfig));
    let err = load(
        None,
        &[],
        &env_of(&[("VAULT_SEAL_TYPE", "transit")]),
        &files,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "VAULT_SEAL_TYPE is \"transit\", not \"awskms\"; unset it or set it to awskms"
    );
    let c = load(
        None,
        &[],
        &env_of(&[("AWSKMS_WRAPPER_KEY_ID", "k")]),
        &files,
    )
    .unwrap();
    assert_eq!(c.kms_key_id, "k");
    let c = load(None, &[("kms_key_id", "flag")], &env_of(&[]), &files).unwrap();
    assert_eq!(c.kms_key_id, "flag");
    // With a file, a missing key id is the stanza's problem.
    let files = MemFiles(vec![(
        "v.hcl",
        "seal \"awskms\" {\n  region = \"us-east-2\"\n}\n",
    )]);
    let err = load(Some("v.hcl"), &[], &env_of(&[]), &files).unwrap_err();
    assert!(matches!(
        err,
        LoadError::Config(ConfigError::MissingKeyId { .. })
    ));
}

#[test]
fn flags_over_environment_over_stanza() {
    let files = MemFiles(vec![(
        "v.hcl",
        "seal \"awskms\" {\n kms_key_id = \"file-key\"\n region = \"us-west-2\"\n endpoint = \"http://127.0.0.1:1\"\n}",
    )]);
    let env = env_of(&[
        ("AWS_REGION", "eu-central-1"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", "env-key"),
    ]);
    let c = load(Some("v.hcl"), &[("region", "ca-central-1")], &env, &files).unwrap();
    assert_eq!(c.region, "ca-central-1");
    assert_eq!(c.region_source, ValueSource::Parameter);
    assert_eq!(c.kms_key_id, "env-key");
    assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:1"));
    let c = load(Some("v.hcl"), &[("kms_key_id", "flag-key")], &env, &files).unwrap();
    assert_eq!(c.kms_key_id, "flag-key");
    assert_eq!(c.region, "eu-central-1");
}

#[test]
fn secret_resolution() {
    let files = MemFiles(vec![("/s/sk", "file-secret\n"), ("/s/empty", "\n")]);
    let env = env_of(&[("MY_AK", " AKIDFROMENV ")]);
    let resolve = |p, s: SecretSource| resolve_secret(p, &s, &env, Some(&files));

    let v = resolve(Parameter::AccessKey, SecretSource::Env("MY_AK".into())).unwrap();
    assert_eq!(v.as_str(), "AKIDFROMENV");
    let v = resolve(Parameter::SecretKey, SecretSource::File("/s/sk".into())).unwrap();
    assert_eq!(v.as_str(), "file-secret");
    let err = resolve(Parameter::SecretKey, SecretSource::Env("NOPE".into())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret_key is env://NOPE but NOPE is not set or empty; export NOPE or change secret_key"
    );
    let err = resolve(
        Parameter::SessionToken,
        SecretSource::File("/s/missing".into()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read session_token from /s/missing: no such file or directory; check the file:// path and its permissions"
    );
    let err = resolve(Parameter::SecretKey, SecretSource::File("/s/empty".into())).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("is empty; put the bare value in it")
    );
    let err = resolve_secret(
        Parameter::SecretKey,
        &SecretSource::File("/s/sk".into()),
        &env,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::SecretFileUnsupported { .. }));
}

#[test]
fn control_characters_are_escaped() {
    let err =
        parse_seal_stanzas("seal \"aws\\nkms\" {\n disabled = \"x\"\n}", "v.hcl").unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("aws\\nkms"), "{text}");
}

#[test]
fn disabled_stanzas_are_loaded_on_their_own_with_references_resolved() {
    let files = MemFiles(vec![
        (
            "vault.hcl",
            "seal \"awskms\" {\n  disabled = \"true\"\n  region = \"us-east-1\"\n  \
             kms_key_id = \"alias/old\"\n  access_key = \"AKIDOLD\"\n  \
             secret_key = \"file://old-secret\"\n}\n\
             seal \"awskms\" {\n  disabled = \"true\"\n  region = \"eu-central-1\"\n  \
             kms_key_id = \"alias/older\"\n  disallow_env_vars = \"true\"\n}\n\
             seal \"transit\" {\n  disabled = \"true\"\n}\n\
             seal \"awskms\" {\n  region = \"eu-west-1\"\n  kms_key_id = \"alias/new\"\n}\n",
        ),
        ("old-secret", "old secret\n"),
    ]);
    let env = env_of(&[("AWS_KMS_ENDPOINT", "http://127.0.0.1:1")]);
    let old = load_disabled(Some("vault.hcl"), &env, &files).unwrap();
    assert_eq!(
        old.len(),
        2,
        "transit and the enabled stanza are not old awskms seals"
    );
    assert_eq!((old[0].source.as_str(), old[0].line), ("vault.hcl", 1));
    assert_eq!(old[0].config.kms_key_id, "alias/old");
    assert_eq!(old[0].config.region, "us-east-1");
    assert!(
        !old[0].config.disabled,
        "the seal built from it must not be refused"
    );
    assert_eq!(
        old[0].config.secret_key,
        Some(SecretSource::Literal(Zeroizing::new("old secret".into())))
    );
    // The environment applies as in Vault's SetConfig, unless the stanza disallows it.
    assert_eq!(
        old[0].config.endpoint.as_deref(),
        Some("http://127.0.0.1:1")
    );
    assert_eq!(old[1].config.endpoint, None);
    assert_eq!(old[1].config.kms_key_id, "alias/older");
    // The enabled stanza is still the one `load` picks.
    let enabled = load(Some("vault.hcl"), &[], &env, &files).unwrap();
    assert_eq!(enabled.kms_key_id, "alias/new");
    assert!(load_disabled(None, &env, &files).unwrap().is_empty());
}
