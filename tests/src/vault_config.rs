//! The `vault_config` fuzz entry and the hcl-rs oracle of the one configuration loader
//! (`kms_seal_cli::config`). Not a stable API.
//!
//! The fuzz target is one line calling [`vault_config`]; `tests/tests/config/hcl_oracle.rs`
//! runs the same oracle over the corpus of `tests/vectors/config/corpus`.

use kms_seal_cli::config::{
    ConfigFormat, SealStanza, StanzaView, load_unresolved, parse_seal_stanzas, raw_seal_stanzas,
    resolve_secret,
};
use kms_seal_cli::{FileError, Files};
use kms_seal_core::config::{AwsKmsSealConfig, Parameter, SecretSource};
use zeroize::Zeroizing;

/// Longest config text tried (longer inputs are cut; Vault configs are small).
const MAX_TEXT: usize = 64 * 1024;

/// The parameters whose values are credentials.
const SECRET_PARAMETERS: [&str; 2] = ["secret_key", "session_token"];

/// The environment variables whose values are credentials.
const SECRET_VARIABLES: [&str; 2] = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];

/// One file in memory, as the loader's [`Files`].
struct OneFile<'a> {
    path: &'a str,
    text: &'a str,
}

impl Files for OneFile<'_> {
    fn read_file(&self, path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
        if path != self.path {
            return Err(FileError::NotFound);
        }
        if self.text.len() as u64 > limit {
            return Err(FileError::TooLarge(limit));
        }
        Ok(Zeroizing::new(self.text.as_bytes().to_vec()))
    }

    fn is_dir(&self, path: &str) -> Result<bool, FileError> {
        if path == self.path {
            Ok(false)
        } else {
            Err(FileError::NotFound)
        }
    }

    fn list_files(&self, _path: &str) -> Result<Vec<String>, FileError> {
        Err(FileError::NotDirectory)
    }
}

/// Loads a Vault config from `data` the way `kms-seal` does, checks that nothing panics and
/// that no credential leaks, and compares the HCL reader with hcl-rs.
///
/// Layout: everything before the first NUL byte is the config text (lossy UTF-8), everything
/// after it the environment, one `NAME=value` per line. The text is parsed as HCL and as JSON,
/// then loaded (from memory, as `vault.hcl` or `vault.json` as detected) with
/// [`load_unresolved`] and the environment; `env://` references are then resolved from it
/// (`file://` references are not followed).
///
/// Asserts:
/// - parsing is deterministic;
/// - every error `Display` is one non-empty line;
/// - no secret value (of `secret_key`, `session_token`, `AWS_SECRET_ACCESS_KEY`,
///   `AWS_SESSION_TOKEN` or a variable they reference) that looks like a credential appears in
///   any error `Display`, in a stanza's `Debug` or in the loaded configuration's `Debug`;
/// - [`hcl_oracle_agrees`]: when both our reader and hcl-rs accept the text, they find the
///   same seal stanzas with the same values.
///
/// # Panics
/// When one of those properties does not hold (that is the point).
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
        // A variable may itself hold an env:// or file:// reference (Vault merges it over the
        // parameter, then resolves it): then the reference is public and what it names secret.
        match lookup(var) {
            Some(value)
                if value.trim().starts_with("env://") || value.trim().starts_with("file://") =>
            {
                let value = value.trim();
                secrets.add_public(value);
                if let Some(name) = value.strip_prefix("env://") {
                    secrets.add_secret(lookup(name));
                }
            }
            value => secrets.add_secret(value),
        }
    }
    for (name, value) in &env {
        if !SECRET_VARIABLES.contains(name) {
            secrets.add_public(name);
            secrets.add_public(value);
        }
    }

    for path in ["vault.hcl", "vault.json"] {
        let first = parse_seal_stanzas(&text, path);
        let second = parse_seal_stanzas(&text, path);
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
            _ => panic!("parsing {path} twice gave different results"),
        }
    }
    for path in ["vault.hcl", "vault.json"] {
        match parse_seal_stanzas(&text, path) {
            Ok(stanzas) => {
                for stanza in &stanzas {
                    secrets.check("stanza Debug", &format!("{stanza:?}"));
                }
            }
            Err(err) => secrets.check_error("parse error", &err.to_string()),
        }
    }
    hcl_oracle_agrees(&text);

    let path = match ConfigFormat::detect("vault", &text) {
        ConfigFormat::Hcl => "vault.hcl",
        ConfigFormat::Json => "vault.json",
    };
    let files = OneFile { path, text: &text };
    match load_unresolved(Some(path), &[], &lookup, &files) {
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
                if let Err(err) = resolve_secret(parameter, source, &lookup, None) {
                    secrets.check_error("resolve error", &err.to_string());
                }
            }
        }
        Err(err) => secrets.check_error("load error", &err.to_string()),
    }
}

/// The seal stanzas of HCL `text` according to hcl-rs, in the terms of our reader; `None`
/// when hcl-rs rejects the text or it holds a seal shape Vault rejects (a seal block without
/// exactly one label, a block inside a seal block, `seal` as an attribute).
pub fn hcl_rs_seal_stanzas(text: &str) -> Option<Vec<StanzaView>> {
    let body = hcl::parse(text).ok()?;
    let mut out = Vec::new();
    for structure in body {
        match structure {
            hcl::Structure::Attribute(a) if a.key.as_str() == "seal" => return None,
            hcl::Structure::Block(block) if block.identifier.as_str() == "seal" => {
                let [label] = block.labels.as_slice() else {
                    return None;
                };
                let mut params = Vec::new();
                for item in block.body {
                    let hcl::Structure::Attribute(attribute) = item else {
                        return None;
                    };
                    let key = attribute.key.into_inner();
                    params.push((key, oracle_value(attribute.expr)));
                }
                out.push(StanzaView {
                    seal_type: label.as_str().to_owned(),
                    params,
                });
            }
            _ => {}
        }
    }
    Some(out)
}

fn oracle_value(expr: hcl::Expression) -> Result<String, &'static str> {
    use hcl::Expression as E;
    match expr {
        E::Null => Err("null"),
        E::String(s) => Ok(s),
        E::Bool(b) => Ok(b.to_string()),
        E::Number(n) => Ok(n.to_string()),
        E::TemplateExpr(t) => match *t {
            hcl::TemplateExpr::QuotedString(s) => Ok(s),
            // Not compared: see `values_agree`.
            hcl::TemplateExpr::Heredoc(_) => Err("a heredoc"),
        },
        E::Array(_) => Err("a list"),
        E::Object(_) => Err("an object"),
        E::Variable(_) => Err("an unquoted name"),
        _ => Err("an expression"),
    }
}

/// Two values agree: the same text, or the same number written two ways (`1.50` / `1.5`),
/// or the same kind of non-string.
///
/// One known difference between the languages is allowed: HCL 2 (hcl-rs) reads `$${` and
/// `%%{` as the template escapes for `${` and `%{` (in quoted strings, and in heredocs
/// depending on what follows: both sides are compared with the escapes read); Vault's HCL 1 has no
/// such escapes and keeps the text as written, and so does our reader (found by the
/// `vault_config` fuzz target, input in `fuzz/corpus/vault_config/regression-template-escape`).
/// And one choice of ours: a heredoc line ending in CR LF (a file edited on Windows) loses the
/// CR, so a secret in it does not end in `\r`; hcl-rs keeps it
/// (`regression-heredoc-crlf`).
fn values_agree(
    ours: &Result<String, &'static str>,
    theirs: &Result<String, &'static str>,
) -> bool {
    match (ours, theirs) {
        (Ok(a), Ok(b)) => {
            let b_lf = b.replace("\r\n", "\n");
            *a == b_lf
                || hcl2_text(a) == b_lf
                || hcl2_text(a) == hcl2_text(&b_lf)
                || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
        }
        // Both refuse a value that is not a literal; which word names it is ours to choose.
        (Err(a), Err(b)) => {
            a == b
                || [*a, *b]
                    .iter()
                    .all(|k| ["an unquoted name", "an expression"].contains(k))
        }
        // Heredoc bodies are HCL 1's and HCL 2's least alike (template escapes read or not
        // depending on what follows, CR before LF, indentation): both readers must accept
        // them, and their text is checked by the reader's unit tests instead.
        (Ok(_), Err("a heredoc")) => true,
        // A negative number is a unary-minus expression to hcl-rs.
        (Ok(a), Err("an expression")) => a.parse::<f64>().is_ok(),
        _ => false,
    }
}

/// `text` as HCL 2 reads the same quoted characters: `$${` and `%%{` are its template escapes
/// for `${` and `%{`; Vault's HCL 1 (and our reader) keep them as written.
fn hcl2_text(text: &str) -> String {
    // A run of `$` (or `%`) right before `{` loses one: `$${` is `${`, `$$${` is `$${`.
    let mut out = String::with_capacity(text.len());
    let mut run: Option<(char, usize)> = None;
    for c in text.chars() {
        match (c, run) {
            ('$' | '%', Some((r, n))) if r == c => run = Some((r, n + 1)),
            ('$' | '%', _) => {
                if let Some((r, n)) = run.take() {
                    out.extend(std::iter::repeat_n(r, n));
                }
                run = Some((c, 1));
            }
            (_, Some((r, n))) => {
                let keep = if c == '{' && n >= 2 { n - 1 } else { n };
                out.extend(std::iter::repeat_n(r, keep));
                out.push(c);
                run = None;
            }
            (_, None) => out.push(c),
        }
    }
    if let Some((r, n)) = run {
        out.extend(std::iter::repeat_n(r, n));
    }
    out
}

/// When our HCL reader and hcl-rs both accept `text`, they find the same seal stanzas.
///
/// # Panics
/// When they disagree, with both views.
pub fn hcl_oracle_agrees(text: &str) {
    let Ok(ours) = raw_seal_stanzas(text, ConfigFormat::Hcl) else {
        return;
    };
    let Some(theirs) = hcl_rs_seal_stanzas(text) else {
        return;
    };
    // A seal stanza with a heredoc is not compared: besides the body differences of
    // `values_agree`, hcl-rs 0.20 reads an empty heredoc (`<<EOF` then `EOF`) as running on to
    // the next end marker (`regression-empty-heredoc`).
    if theirs
        .iter()
        .any(|s| s.params.iter().any(|(_, v)| *v == Err("a heredoc")))
    {
        return;
    }
    let agree = ours.len() == theirs.len()
        && ours.iter().zip(&theirs).all(|(a, b)| {
            (a.seal_type == b.seal_type || hcl2_text(&a.seal_type) == b.seal_type)
                && a.params.len() == b.params.len()
                && a.params.iter().zip(&b.params).all(|((na, va), (nb, vb))| {
                    (na == nb || hcl2_text(na) == *nb) && values_agree(va, vb)
                })
        });
    assert!(
        agree,
        "the HCL reader and hcl-rs disagree on {text:?}:\nours:    {ours:?}\nhcl-rs:  {theirs:?}"
    );
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
    fn hcl2_template_escapes() {
        assert_eq!(hcl2_text("a$${b}%%{c}"), "a${b}%{c}");
        assert_eq!(hcl2_text("%%%%{ $$$${ $$ %{ $"), "%%%{ $$${ $$ %{ $");
    }

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
