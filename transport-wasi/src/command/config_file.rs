//! `--config`: the `seal "awskms"` stanza of a Vault configuration file (HCL or JSON) or of a
//! directory of them, read through the host's pre-opened directories.
//!
//! Only the seal stanzas are interpreted; every other block and attribute (`storage`,
//! `listener`, `ui`, ...) is skipped. The HCL reader covers what Vault configurations contain:
//! blocks with labels, attributes with strings, heredocs, numbers, booleans, lists and objects,
//! and `#`, `//` and `/* */` comments.
//!
//! Stanza selection follows Vault and the native tool: stanzas with `disabled = true` are
//! skipped (the old seal of a migration), and exactly one enabled `seal "awskms"` stanza must
//! remain. With `VAULT_SEAL_TYPE=awskms`, any one enabled seal stanza is used, and none at all
//! means the environment alone configures the seal.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::config::parse_go_bool;
use zeroize::Zeroizing;

use crate::wasi_io;

/// Largest configuration file read.
const MAX_CONFIG_FILE: u64 = 4 << 20;

/// One `seal "<type>" { ... }` stanza, values stringified as Vault does. `Debug` shows the
/// parameter names only: any value may be a credential.
pub struct Stanza {
    seal_type: String,
    disabled: bool,
    params: Vec<(String, Zeroizing<String>)>,
}

impl Stanza {
    /// The parameters in file order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Stanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stanza")
            .field("seal_type", &self.seal_type)
            .field("disabled", &self.disabled)
            .field(
                "params",
                &self.params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why the configuration file gave no usable stanza.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file or directory could not be read.
    Read {
        /// What went wrong, naming the path.
        reason: String,
    },
    /// The file is not valid HCL or JSON.
    Syntax {
        /// The file.
        path: String,
        /// Line (1-based) where reading stopped.
        line: usize,
        /// What was wrong.
        detail: String,
    },
    /// No enabled `seal "awskms"` stanza.
    NoAwsKmsSeal {
        /// The file or directory.
        path: String,
        /// Disabled awskms stanzas seen.
        disabled: usize,
        /// Types of the enabled stanzas seen.
        other_types: Vec<String>,
    },
    /// More than one enabled `seal "awskms"` stanza.
    SeveralAwsKmsSeals {
        /// The file or directory.
        path: String,
        /// How many.
        count: usize,
    },
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { reason } => f.write_str(reason),
            ConfigFileError::Syntax { path, line, detail } => {
                write!(
                    f,
                    "{path}:{line}: {detail}; fix the Vault configuration file"
                )
            }
            ConfigFileError::NoAwsKmsSeal {
                path,
                disabled,
                other_types,
            } => {
                write!(f, "{path} has no enabled seal \"awskms\" stanza")?;
                if *disabled > 0 {
                    write!(f, " ({disabled} disabled)")?;
                }
                if !other_types.is_empty() {
                    write!(f, " (enabled seals: {})", other_types.join(", "))?;
                }
                f.write_str(
                    ": add one, or set VAULT_SEAL_TYPE=awskms to configure it from the environment",
                )
            }
            ConfigFileError::SeveralAwsKmsSeals { path, count } => write!(
                f,
                "{path} has {count} enabled seal \"awskms\" stanzas: mark all but one disabled = true"
            ),
        }
    }
}

impl core::error::Error for ConfigFileError {}

/// Reads `path` (a file, or a directory whose `*.hcl` and `*.json` files are read in name
/// order) and picks the stanza, as described in the module documentation.
///
/// # Errors
/// [`ConfigFileError`] naming the file and what to change.
pub fn load_stanza(path: &str, env_activated: bool) -> Result<Option<Stanza>, ConfigFileError> {
    let read_error = |reason| ConfigFileError::Read { reason };
    let mut files: Vec<String> = Vec::new();
    if wasi_io::is_dir(path).map_err(read_error)? {
        let mut names: Vec<String> = wasi_io::list_files(path)
            .map_err(read_error)?
            .into_iter()
            .filter(|name| has_extension(name, "hcl") || has_extension(name, "json"))
            .collect();
        names.sort_unstable();
        let dir = path.trim_end_matches('/');
        files.extend(names.into_iter().map(|name| format!("{dir}/{name}")));
    } else {
        files.push(path.to_owned());
    }
    let mut stanzas = Vec::new();
    for file in &files {
        let bytes = wasi_io::read_file(file, MAX_CONFIG_FILE).map_err(read_error)?;
        let text = core::str::from_utf8(&bytes).map_err(|_| ConfigFileError::Syntax {
            path: file.clone(),
            line: 0,
            detail: "the file is not UTF-8 text".into(),
        })?;
        stanzas.extend(parse_stanzas(text, file)?);
    }
    select(stanzas, env_activated, path)
}

fn has_extension(name: &str, extension: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && ext.eq_ignore_ascii_case(extension))
}

fn select(
    stanzas: Vec<Stanza>,
    env_activated: bool,
    path: &str,
) -> Result<Option<Stanza>, ConfigFileError> {
    let disabled = stanzas
        .iter()
        .filter(|s| s.disabled && s.seal_type == "awskms")
        .count();
    let mut other_types: Vec<String> = Vec::new();
    for s in stanzas.iter().filter(|s| !s.disabled) {
        if !other_types.contains(&s.seal_type) {
            other_types.push(s.seal_type.clone());
        }
    }
    let mut enabled: Vec<Stanza> = stanzas
        .into_iter()
        .filter(|s| !s.disabled && (env_activated || s.seal_type == "awskms"))
        .collect();
    match enabled.len() {
        0 if env_activated => Ok(None),
        0 => Err(ConfigFileError::NoAwsKmsSeal {
            path: path.to_owned(),
            disabled,
            other_types,
        }),
        1 => Ok(enabled.pop()),
        count => Err(ConfigFileError::SeveralAwsKmsSeals {
            path: path.to_owned(),
            count,
        }),
    }
}

/// The seal stanzas of one file: JSON when the name ends in `.json` or the text starts with
/// `{`, HCL otherwise.
fn parse_stanzas(text: &str, path: &str) -> Result<Vec<Stanza>, ConfigFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = has_extension(path, "json") || text.trim_start().starts_with('{');
    let raw = if json {
        json_stanzas(text)
    } else {
        Hcl::new(text).stanzas()
    }
    .map_err(|SyntaxError { line, detail }| ConfigFileError::Syntax {
        path: path.to_owned(),
        line,
        detail,
    })?;
    raw.into_iter()
        .map(|(seal_type, params)| {
            let disabled = match params.iter().find(|(k, _)| k == "disabled") {
                None => Ok(false),
                Some((_, value)) => parse_go_bool(value).ok_or_else(|| {
                    SyntaxError::at_start(format!(
                        "seal \"{seal_type}\" has disabled = `{}`, not a boolean",
                        value.as_str()
                    ))
                }),
            }
            .map_err(|SyntaxError { line, detail }| ConfigFileError::Syntax {
                path: path.to_owned(),
                line,
                detail,
            })?;
            Ok(Stanza {
                seal_type,
                disabled,
                params,
            })
        })
        .collect()
}

/// A seal stanza as read: its type and its parameters.
type RawStanza = (String, Vec<(String, Zeroizing<String>)>);

/// Where and why reading a file stopped.
struct SyntaxError {
    line: usize,
    detail: String,
}

/// `"seal": {"awskms": {...}}`, `"seal": {"awskms": [{...}]}` or `"seal": [{"awskms": {...}}]`.
fn json_stanzas(text: &str) -> Result<Vec<RawStanza>, SyntaxError> {
    use serde_json::Value;
    let root: Value = serde_json::from_str(text).map_err(|e| SyntaxError {
        line: e.line(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    let Some(seal) = root.get("seal") else {
        return Ok(out);
    };
    let mut add = |seal_type: &str, body: &Value| -> Result<(), SyntaxError> {
        let bodies: Vec<&Value> = match body {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for body in bodies {
            let Value::Object(map) = body else {
                return Err(SyntaxError::at_start(format!(
                    "seal \"{seal_type}\" must be an object"
                )));
            };
            let mut params = Vec::new();
            for (name, value) in map {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(SyntaxError::at_start(format!(
                            "seal \"{seal_type}\" parameter `{name}` must be a string, number or boolean"
                        )));
                    }
                };
                params.push((name.clone(), Zeroizing::new(text)));
            }
            out.push((seal_type.to_owned(), params));
        }
        Ok(())
    };
    match seal {
        Value::Object(types) => {
            for (seal_type, body) in types {
                add(seal_type, body)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                let Value::Object(types) = item else {
                    return Err(SyntaxError::at_start("\"seal\" entries must be objects"));
                };
                for (seal_type, body) in types {
                    add(seal_type, body)?;
                }
            }
        }
        _ => return Err(SyntaxError::at_start("\"seal\" must be an object")),
    }
    Ok(out)
}

impl SyntaxError {
    /// An error not tied to a line (JSON structure, stanza values).
    fn at_start(detail: impl Into<String>) -> Self {
        SyntaxError {
            line: 0,
            detail: detail.into(),
        }
    }
}

/// A reader for the HCL that Vault configurations use.
struct Hcl<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

/// A value: scalars keep their text; lists and objects are only skipped.
enum HclValue {
    Scalar(String),
    Composite,
}

impl<'a> Hcl<'a> {
    fn new(text: &'a str) -> Self {
        Hcl {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn error<T>(&self, detail: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            line: self.line,
            detail: detail.into(),
        })
    }

    /// Every `seal` block of the top-level body.
    fn stanzas(mut self) -> Result<Vec<RawStanza>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_space();
            if self.pos >= self.text.len() {
                return Ok(out);
            }
            let name = self.key()?;
            let mut labels = Vec::new();
            loop {
                self.skip_space();
                match self.peek() {
                    Some(b'"') => labels.push(self.string()?),
                    Some(b'=') | Some(b':') => {
                        self.pos += 1;
                        self.skip_space();
                        if name == "seal" && self.peek() == Some(b'{') {
                            return self
                                .error("write the seal as a block: seal \"awskms\" { ... }");
                        }
                        self.value()?;
                        break;
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        if name == "seal" {
                            let [seal_type] = labels.as_slice() else {
                                return self.error(
                                    "a seal block needs one label: seal \"awskms\" { ... }",
                                );
                            };
                            let params = self.seal_body(seal_type)?;
                            out.push((seal_type.clone(), params));
                        } else {
                            self.skip_body()?;
                        }
                        break;
                    }
                    Some(c) if is_ident(c) => labels.push(self.ident()),
                    _ => return self.error(format!("unexpected text after `{name}`")),
                }
            }
        }
    }

    /// The attributes of a seal block, up to its closing brace.
    fn seal_body(
        &mut self,
        seal_type: &str,
    ) -> Result<Vec<(String, Zeroizing<String>)>, SyntaxError> {
        let mut params = Vec::new();
        loop {
            self.skip_space_and_commas();
            match self.peek() {
                None => return self.error(format!("seal \"{seal_type}\" is not closed")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(params);
                }
                _ => {}
            }
            let name = self.key()?;
            self.skip_space();
            if !matches!(self.peek(), Some(b'=') | Some(b':')) {
                return self.error(format!("seal \"{seal_type}\": expected `=` after `{name}`"));
            }
            self.pos += 1;
            self.skip_space();
            match self.value()? {
                HclValue::Scalar(text) => params.push((name, Zeroizing::new(text))),
                HclValue::Composite => {
                    return self.error(format!(
                        "seal \"{seal_type}\" parameter `{name}` must be a string, number or boolean"
                    ));
                }
            }
        }
    }

    fn skip_body(&mut self) -> Result<(), SyntaxError> {
        loop {
            self.skip_space_and_commas();
            match self.peek() {
                None => return self.error("a block is not closed"),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {}
            }
            self.key()?;
            loop {
                self.skip_space();
                match self.peek() {
                    Some(b'"') => {
                        self.string()?;
                    }
                    Some(b'=') | Some(b':') => {
                        self.pos += 1;
                        self.skip_space();
                        self.value()?;
                        break;
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        self.skip_body()?;
                        break;
                    }
                    Some(c) if is_ident(c) => {
                        self.ident();
                    }
                    _ => return self.error("unexpected text in a block"),
                }
            }
        }
    }

    fn value(&mut self) -> Result<HclValue, SyntaxError> {
        match self.peek() {
            Some(b'"') => Ok(HclValue::Scalar(self.string()?)),
            Some(b'<') => Ok(HclValue::Scalar(self.heredoc()?)),
            Some(b'[') => {
                self.pos += 1;
                loop {
                    self.skip_space_and_commas();
                    match self.peek() {
                        None => return self.error("a list is not closed"),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(HclValue::Composite);
                        }
                        _ => {
                            self.value()?;
                        }
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                self.skip_body()?;
                Ok(HclValue::Composite)
            }
            Some(c) if is_ident(c) || c == b'-' || c == b'+' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| is_ident(c) || c == b'+') {
                    self.pos += 1;
                }
                Ok(HclValue::Scalar(
                    String::from_utf8_lossy(&self.text[start..self.pos]).into_owned(),
                ))
            }
            _ => self.error("expected a value"),
        }
    }

    fn key(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(c) if is_ident(c) => Ok(self.ident()),
            _ => self.error("expected a name"),
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error("a string is not closed");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\n' => return self.error("a string is not closed on its line"),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.error("a string is not closed");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'u' => {
                            let hex = self
                                .text
                                .get(self.pos..self.pos + 4)
                                .and_then(|h| core::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32);
                            let Some(ch) = hex else {
                                return self.error("invalid \\u escape in a string");
                            };
                            self.pos += 4;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.error("invalid escape in a string"),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).or_else(|_| self.error("a string is not valid UTF-8"))
    }

    /// `<<EOF` ... `EOF` (or `<<-EOF` with an indented end marker).
    fn heredoc(&mut self) -> Result<String, SyntaxError> {
        let rest = &self.text[self.pos..];
        let Some(after) = rest.strip_prefix(b"<<") else {
            return self.error("expected a value");
        };
        let indented = after.first() == Some(&b'-');
        let marker_start = self.pos + 2 + usize::from(indented);
        self.pos = marker_start;
        let marker = self.ident();
        if marker.is_empty() || self.peek() != Some(b'\n') {
            return self.error("a heredoc needs a marker and a new line: <<EOF");
        }
        self.pos += 1;
        self.line += 1;
        let mut body = String::new();
        loop {
            let end = self.text[self.pos..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.text.len(), |n| self.pos + n);
            let line = String::from_utf8_lossy(&self.text[self.pos..end]).into_owned();
            if end >= self.text.len() && line.trim() != marker {
                return self.error(format!("heredoc {marker} is not closed"));
            }
            self.pos = (end + 1).min(self.text.len());
            if line.trim() == marker && (indented || line == marker) {
                return Ok(body);
            }
            self.line += 1;
            body.push_str(&line);
            body.push('\n');
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space_and_commas(&mut self) {
        loop {
            self.skip_space();
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b';' => self.pos += 1,
                b'#' => self.skip_line(),
                b'/' if self.text.get(self.pos + 1) == Some(&b'/') => self.skip_line(),
                b'/' if self.text.get(self.pos + 1) == Some(&b'*') => {
                    self.pos += 2;
                    while self.pos < self.text.len() && !self.text[self.pos..].starts_with(b"*/") {
                        if self.text[self.pos] == b'\n' {
                            self.line += 1;
                        }
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 2).min(self.text.len());
                }
                _ => return,
            }
        }
    }

    fn skip_line(&mut self) {
        while self.peek().is_some_and(|c| c != b'\n') {
            self.pos += 1;
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hcl(text: &str) -> Result<Vec<Stanza>, ConfigFileError> {
        parse_stanzas(text, "vault.hcl")
    }

    fn params(s: &Stanza) -> Vec<(String, String)> {
        s.params()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const VAULT_HCL: &str = r#"
# A typical server configuration.
ui = true
storage "raft" {
  path    = "/vault/data"
  node_id = "node1"
  retry_join { leader_api_addr = "https://a:8200" }
}
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = 1   // comment
  cors = { allowed_origins = ["*", "x"] }
}
/* the old seal, kept for migration */
seal "awskms" {
  disabled   = "true"
  kms_key_id = "old"
}
seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "alias/vault-unseal"
  endpoint   = "http://127.0.0.1:4566"
  secret_key = <<EOF
multi-line
EOF
}
telemetry { disable_hostname = true }
"#;

    #[test]
    fn reads_the_seal_stanzas_of_a_vault_hcl_file() {
        let stanzas = hcl(VAULT_HCL).unwrap();
        assert_eq!(stanzas.len(), 2);
        assert!(stanzas[0].disabled);
        assert!(!stanzas[1].disabled);
        assert_eq!(
            params(&stanzas[1]),
            vec![
                ("region".into(), "eu-west-1".into()),
                ("kms_key_id".into(), "alias/vault-unseal".into()),
                ("endpoint".into(), "http://127.0.0.1:4566".into()),
                ("secret_key".into(), "multi-line\n".into()),
            ]
        );
        let chosen = select(stanzas, false, "vault.hcl").unwrap().unwrap();
        assert_eq!(chosen.params().next(), Some(("region", "eu-west-1")));
    }

    #[test]
    fn reads_json_forms() {
        for text in [
            r#"{"seal": {"awskms": {"kms_key_id": "k", "disabled": false, "n": 3}}}"#,
            r#"{"seal": {"awskms": [{"kms_key_id": "k", "disabled": false, "n": 3}]}}"#,
            r#"{"seal": [{"awskms": {"kms_key_id": "k", "disabled": false, "n": 3}}]}"#,
        ] {
            let stanzas = parse_stanzas(text, "vault.json").unwrap();
            assert_eq!(stanzas.len(), 1, "{text}");
            let p = params(&stanzas[0]);
            assert!(p.contains(&("kms_key_id".into(), "k".into())), "{text}");
            assert!(p.contains(&("n".into(), "3".into())), "{text}");
            assert!(!stanzas[0].disabled);
        }
        assert!(parse_stanzas("{\"seal\": 3}", "v.json").is_err());
    }

    #[test]
    fn selection_follows_vault() {
        let two =
            hcl("seal \"awskms\" { kms_key_id = \"a\" }\nseal \"awskms\" { kms_key_id = \"b\" }")
                .unwrap();
        assert!(matches!(
            select(two, false, "f"),
            Err(ConfigFileError::SeveralAwsKmsSeals { count: 2, .. })
        ));
        let other = hcl("seal \"transit\" { key_name = \"k\" }").unwrap();
        let err = select(other, false, "f").unwrap_err();
        assert!(err.to_string().contains("transit"), "{err}");
        let other = hcl("seal \"transit\" { key_name = \"k\" }").unwrap();
        assert_eq!(
            select(other, true, "f").unwrap().map(|s| s.seal_type),
            Some("transit".to_string())
        );
        assert!(select(Vec::new(), true, "f").unwrap().is_none());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err =
            hcl("ui = true\nseal \"awskms\" {\n  kms_key_id = \"unterminated\n}\n").unwrap_err();
        match err {
            ConfigFileError::Syntax { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        assert!(hcl("seal \"awskms\" { kms_key_id = [\"a\"] }").is_err());
        assert!(hcl("seal \"awskms\" { disabled = \"maybe\" }").is_err());
        assert!(hcl("seal { kms_key_id = \"a\" }").is_err());
    }

    #[test]
    fn debug_shows_names_only() {
        let stanzas = hcl("seal \"awskms\" { secret_key = \"very-secret\" }").unwrap();
        let debug = format!("{:?}", stanzas[0]);
        assert!(debug.contains("secret_key") && !debug.contains("very-secret"));
    }
}
