//! Entry points for the cargo-fuzz targets in `fuzz/`. Not a stable API.
//!
//! Each target is one line that calls a function here; the function asserts the properties
//! (no panics, deterministic results, no credential in any error or `Debug` text).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use kms_seal_core::config::{AwsKmsSealConfig, Parameter, SecretSource};

use crate::vault_config::{
    ConfigFormat, SealStanza, load_unresolved, parse_seal_stanzas, resolve_secret,
};

/// Longest config text tried (longer inputs are cut; Vault configs are small).
const MAX_TEXT: usize = 64 * 1024;

/// The parameters whose values are credentials.
const SECRET_PARAMETERS: [&str; 2] = ["secret_key", "session_token"];

/// The environment variables whose values are credentials.
const SECRET_VARIABLES: [&str; 2] = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];

/// Loads a Vault config from `data` the way `kms-seal` does, and checks that nothing panics and
/// that no credential leaks.
///
/// Layout: everything before the first NUL byte is the config text (lossy UTF-8), everything
/// after it the environment, one `NAME=value` per line. The text is parsed as HCL and as JSON
/// (whatever [`ConfigFormat::detect`] says), then written to a per-process temporary file
/// (`.hcl` or `.json` as detected) and loaded with [`load_unresolved`] and the environment;
/// `env://` references are then resolved from it (`file://` references are not followed: the
/// input must not make the fuzzer read arbitrary files).
///
/// Asserts:
/// - parsing is deterministic and every stanza's parameters can be read back;
/// - every error `Display` is one non-empty line;
/// - no secret value (of `secret_key`, `session_token`, `AWS_SECRET_ACCESS_KEY`,
///   `AWS_SESSION_TOKEN` or a variable they reference) that looks like a credential appears in
///   any error `Display`, in a stanza's `Debug` or in the loaded configuration's `Debug`.
///
/// # Panics
/// When one of those properties does not hold (that is the point), or when the temporary
/// file cannot be written.
pub fn vault_config(data: &[u8]) {
    let (text, env_bytes) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(&text[..text.len().min(MAX_TEXT)]).into_owned();
    let env_text = String::from_utf8_lossy(env_bytes);
    let env: Vec<(&str, &str)> = env_text
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let lookup = |name: &str| {
        env.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    };

    let mut secrets = Secrets::default();
    for var in SECRET_VARIABLES {
        secrets.add_secret(lookup(var));
    }
    for (name, value) in &env {
        if !SECRET_VARIABLES.contains(name) {
            secrets.add_public(name);
            secrets.add_public(value);
        }
    }

    let detected = ConfigFormat::detect(None, &text);
    for format in [ConfigFormat::Hcl, ConfigFormat::Json] {
        let first = parse_seal_stanzas(&text, format);
        let second = parse_seal_stanzas(&text, format);
        match (&first, &second) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len(), "parsing is deterministic");
                for (x, y) in a.iter().zip(b) {
                    assert_eq!(stanza_view(x), stanza_view(y), "parsing is deterministic");
                }
                for stanza in a {
                    secrets.add_stanza(stanza, &lookup);
                }
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("parsing {format:?} twice gave different results"),
        }
    }
    for format in [ConfigFormat::Hcl, ConfigFormat::Json] {
        match parse_seal_stanzas(&text, format) {
            Ok(stanzas) => {
                for stanza in &stanzas {
                    secrets.check("stanza Debug", &format!("{stanza:?}"));
                }
            }
            Err(err) => secrets.check_error("parse error", &err.to_string()),
        }
    }

    let path = scratch_file(detected);
    std::fs::write(&path, text.as_bytes()).expect("the fuzzer's temporary file is writable");
    match load_unresolved(Some(&path), &[], &lookup) {
        Ok(config) => {
            check_config(&config);
            secrets.check("config Debug", &format!("{config:?}"));
            for (parameter, slot) in [
                (Parameter::AccessKey, &config.access_key),
                (Parameter::SecretKey, &config.secret_key),
                (Parameter::SessionToken, &config.session_token),
            ] {
                let Some(source @ (SecretSource::Env(_) | SecretSource::Literal(_))) = slot else {
                    continue;
                };
                if let Err(err) = resolve_secret(parameter, source, &lookup) {
                    secrets.check_error("resolve error", &err.to_string());
                }
            }
        }
        Err(err) => secrets.check_error("load error", &err.to_string()),
    }
}

/// What a stanza holds, for comparing two parses (`SealStanza` has no `PartialEq`).
fn stanza_view(stanza: &SealStanza) -> (String, bool, Vec<(String, String)>) {
    (
        stanza.seal_type.clone(),
        stanza.disabled,
        stanza
            .params()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

fn check_config(config: &AwsKmsSealConfig) {
    assert!(!config.region.is_empty(), "a loaded config has a region");
    if !config.key_not_required {
        assert!(
            !config.kms_key_id.is_empty(),
            "a loaded config has a key id"
        );
    }
    assert_eq!(
        config.access_key.is_some(),
        config.secret_key.is_some(),
        "access_key and secret_key come as a pair"
    );
}

/// A temporary file for this process and format (the fuzzer runs one input at a time per
/// thread; the thread id keeps parallel test threads apart).
fn scratch_file(format: ConfigFormat) -> PathBuf {
    thread_local! {
        static DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
    }
    let dir = DIR.with(|dir| {
        dir.borrow_mut()
            .get_or_insert_with(|| {
                let dir = std::env::temp_dir().join(format!(
                    "kms-seal-fuzz-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
                dir
            })
            .clone()
    });
    let name = match format {
        ConfigFormat::Hcl => "vault.hcl",
        ConfigFormat::Json => "vault.json",
    };
    Path::new(&dir).join(name)
}

/// Secret values seen in the input, and public strings an error may legitimately echo.
#[derive(Default)]
struct Secrets {
    secret: Vec<String>,
    public: Vec<String>,
}

impl Secrets {
    fn add_secret(&mut self, value: Option<String>) {
        if let Some(value) = value {
            let value = value.trim().to_owned();
            if looks_like_credential(&value) && !self.secret.contains(&value) {
                self.secret.push(value);
            }
        }
    }

    fn add_public(&mut self, value: &str) {
        if !value.is_empty() {
            self.public.push(value.to_owned());
        }
    }

    fn add_stanza(&mut self, stanza: &SealStanza, lookup: &dyn Fn(&str) -> Option<String>) {
        self.add_public(&stanza.seal_type);
        for (name, value) in stanza.params() {
            self.add_public(name);
            if SECRET_PARAMETERS.contains(&name) {
                match value.strip_prefix("env://") {
                    Some(var) => {
                        self.add_public(var);
                        self.add_secret(lookup(var));
                    }
                    None => self.add_secret(Some(value.to_owned())),
                }
            } else {
                self.add_public(value);
            }
        }
    }

    /// Panics if `shown` contains a secret that is not also a public string of the input.
    fn check(&self, what: &str, shown: &str) {
        for secret in &self.secret {
            if shown.contains(secret.as_str())
                && !self.public.iter().any(|p| p.contains(secret.as_str()))
            {
                panic!("{what} shows a credential from the input: {shown:?}");
            }
        }
    }

    fn check_error(&self, what: &str, shown: &str) {
        assert!(!shown.is_empty(), "{what} is empty");
        assert!(!shown.contains('\n'), "{what} is not one line: {shown:?}");
        self.check(what, shown);
    }
}

/// Whether `value` is distinctive enough that finding it in a message cannot be chance: at
/// least 8 characters with an upper-case letter, a lower-case letter and a digit (no message
/// template has all three in one word).
fn looks_like_credential(value: &str) -> bool {
    value.len() >= 8
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value.chars().any(|c| c.is_ascii_lowercase())
        && value.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_do_not_panic() {
        let seeds: [&[u8]; 8] = [
            b"",
            b"seal \"awskms\" {\n  region = \"eu-west-1\"\n  kms_key_id = \"alias/vault\"\n}\n",
            b"seal \"awskms\" {\n  kms_key_id = \"k\"\n  access_key = \"AKIA1\"\n  secret_key = \"Secret1234abcd\"\n}\n\0AWS_REGION=us-east-2",
            b"{\"seal\": {\"awskms\": {\"kms_key_id\": \"k\", \"secret_key\": \"env://S\", \"access_key\": \"a\"}}}\0S=Value9876xyzQ",
            b"{\"seal\": [{\"awskms\": [{\"disabled\": \"true\"}, {\"kms_key_id\": 1}]}]}",
            b"seal \"awskms\" { secret_key = [\"Secret1234abcd\"] }",
            b"seal \"x\" \"y\" {}\nseal {",
            b"\0VAULT_SEAL_TYPE=awskms\nVAULT_AWSKMS_SEAL_KEY_ID=k\nAWS_SECRET_ACCESS_KEY=Zz9yyyyyyyy",
        ];
        for seed in seeds {
            vault_config(seed);
        }
    }

    #[test]
    fn a_leaked_secret_is_caught() {
        let mut secrets = Secrets::default();
        secrets.add_secret(Some("Secret1234abcd".to_owned()));
        secrets.add_public("awskms");
        secrets.check("clean", "seal \"awskms\" parameter `secret_key` is a list");
        let leaked = std::panic::catch_unwind(|| {
            secrets.check("leaky", "parameter `secret_key` is `Secret1234abcd`");
        });
        assert!(leaked.is_err(), "a secret in a message must be reported");
    }

    #[test]
    fn only_distinctive_values_count_as_credentials() {
        assert!(looks_like_credential("wJalrXUtnFEMI/K7MDENG"));
        assert!(!looks_like_credential("awskms"));
        assert!(!looks_like_credential("us-east-1"));
        assert!(!looks_like_credential("VAULT_AWSKMS_SEAL_KEY_ID"));
    }
}
