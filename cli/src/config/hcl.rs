//! A reader for the HCL that Vault configurations use: blocks with labels, attributes with
//! strings, heredocs, numbers, booleans, lists and objects, and `#`, `//` and `/* */` comments.
//!
//! Only `seal` blocks are kept; every other block and attribute (`storage`, `listener`, `ui`,
//! ...) is read and skipped. The reader is tested against hcl-rs (`tests/tests/config/hcl_oracle.rs` and
//! the `vault_config` fuzz target): on the files hcl-rs accepts it finds the same seal stanzas
//! with the same values.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::{RawParam, RawStanza, RawValue, ReadError};

/// Every `seal` block of the top-level body of `text`, in order.
///
/// # Errors
/// A [`ReadError`] with the line where reading stopped.
pub(crate) fn seal_stanzas(text: &str) -> Result<Vec<RawStanza>, ReadError> {
    Hcl {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    }
    .stanzas()
}

/// The reader's position in the text.
struct Hcl<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

/// A value outside a seal block: only skipped.
enum Skipped {
    Scalar,
    Composite,
}

impl Hcl<'_> {
    fn syntax<T>(&self, detail: impl Into<String>) -> Result<T, ReadError> {
        Err(ReadError::Syntax {
            line: self.line,
            detail: detail.into(),
        })
    }

    fn stanzas(mut self) -> Result<Vec<RawStanza>, ReadError> {
        let mut out = Vec::new();
        loop {
            self.skip_space();
            if self.pos >= self.text.len() {
                return Ok(out);
            }
            let line = self.line;
            let name = self.key()?;
            let mut labels: Vec<String> = Vec::new();
            loop {
                self.skip_space();
                match self.peek() {
                    Some(b'"') => labels.push(self.string()?),
                    Some(b'=') | Some(b':') => {
                        self.pos += 1;
                        self.skip_space();
                        if name == "seal" {
                            return Err(ReadError::Stanza {
                                line,
                                detail: "`seal` is an attribute; write it as a block: \
                                         seal \"awskms\" { ... }"
                                    .into(),
                            });
                        }
                        self.skip_value()?;
                        break;
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        if name == "seal" {
                            let [seal_type] = labels.as_slice() else {
                                return Err(ReadError::Stanza {
                                    line,
                                    detail: format!(
                                        "a seal block has {} labels; write it as \
                                         seal \"awskms\" {{ ... }}",
                                        labels.len()
                                    ),
                                });
                            };
                            let params = self.seal_body(seal_type)?;
                            out.push(RawStanza {
                                seal_type: seal_type.clone(),
                                line,
                                params,
                            });
                        } else {
                            self.skip_body()?;
                        }
                        break;
                    }
                    Some(c) if is_ident(c) => labels.push(self.ident()),
                    None => return self.syntax(format!("`{name}` has no value or body")),
                    _ => return self.syntax(format!("unexpected text after `{name}`")),
                }
            }
        }
    }

    /// The attributes of a seal block, up to its closing brace.
    fn seal_body(&mut self, seal_type: &str) -> Result<Vec<RawParam>, ReadError> {
        let mut params = Vec::new();
        loop {
            self.skip_space_and_commas();
            match self.peek() {
                None => return self.syntax(format!("seal \"{seal_type}\" is not closed")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(params);
                }
                _ => {}
            }
            let line = self.line;
            let name = self.key()?;
            self.skip_space();
            match self.peek() {
                Some(b'=') | Some(b':') => self.pos += 1,
                Some(b'{') => {
                    return Err(ReadError::Stanza {
                        line,
                        detail: format!(
                            "seal \"{seal_type}\" contains a block `{name}`; only key = value \
                             lines are allowed"
                        ),
                    });
                }
                _ => {
                    return self
                        .syntax(format!("seal \"{seal_type}\": expected `=` after `{name}`"));
                }
            }
            self.skip_space();
            let mut value = self.seal_value()?;
            if !self.at_value_end() {
                // `a = "x" == "y"`, `a = "x" + 1`: HCL 2 expressions, which Vault does not take.
                self.skip_line();
                value = RawValue::Other("an expression");
            }
            params.push(RawParam { name, line, value });
        }
    }

    /// A value in a seal block: its text for strings, numbers and booleans, else what it is.
    fn seal_value(&mut self) -> Result<RawValue, ReadError> {
        match self.peek() {
            Some(b'"') => Ok(RawValue::Text(Zeroizing::new(self.string()?))),
            Some(b'<') => Ok(RawValue::Text(Zeroizing::new(self.heredoc()?))),
            Some(b'[') | Some(b'{') => {
                let kind = if self.peek() == Some(b'[') {
                    "a list"
                } else {
                    "an object"
                };
                self.skip_value()?;
                Ok(RawValue::Other(kind))
            }
            Some(b'(') => {
                self.skip_line();
                Ok(RawValue::Other("an expression"))
            }
            Some(c) if is_ident(c) || c == b'-' || c == b'+' => {
                let word = self.bare_word();
                Ok(classify_bare_word(&word))
            }
            _ => self.syntax("expected a value"),
        }
    }

    /// After a value: only space, a comment, a comma, a semicolon or the end of the line or
    /// block may follow on the same line.
    fn at_value_end(&mut self) -> bool {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.pos += 1;
        }
        match self.peek() {
            None | Some(b'\n' | b',' | b';' | b'}' | b'#') => true,
            Some(b'/') => matches!(self.text.get(self.pos + 1), Some(b'/' | b'*')),
            _ => false,
        }
    }

    fn skip_body(&mut self) -> Result<(), ReadError> {
        loop {
            self.skip_space_and_commas();
            match self.peek() {
                None => return self.syntax("a block is not closed"),
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
                        self.skip_value()?;
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
                    _ => return self.syntax("unexpected text in a block"),
                }
            }
        }
    }

    fn skip_value(&mut self) -> Result<Skipped, ReadError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| Skipped::Scalar),
            Some(b'<') => self.heredoc().map(|_| Skipped::Scalar),
            Some(b'[') => {
                self.pos += 1;
                loop {
                    self.skip_space_and_commas();
                    match self.peek() {
                        None => return self.syntax("a list is not closed"),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Skipped::Composite);
                        }
                        _ => {
                            self.skip_value()?;
                        }
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                self.skip_body()?;
                Ok(Skipped::Composite)
            }
            Some(c) if is_ident(c) || c == b'-' || c == b'+' => {
                self.bare_word();
                Ok(Skipped::Scalar)
            }
            _ => self.syntax("expected a value"),
        }
    }

    /// A number, `true`, `false`, `null` or a name.
    fn bare_word(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            let exponent_sign = (c == b'+' || c == b'-')
                && matches!(self.text.get(self.pos - 1), Some(b'e' | b'E'))
                && self.text[start].is_ascii_digit();
            if is_ident(c) || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn key(&mut self) -> Result<String, ReadError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(c) if is_ident(c) => Ok(self.ident()),
            _ => self.syntax("expected a name"),
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn string(&mut self) -> Result<String, ReadError> {
        self.pos += 1; // opening quote
        let mut out: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
        loop {
            let Some(c) = self.peek() else {
                return self.syntax("a string is not closed");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\n' => return self.syntax("a string is not closed on its line"),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.syntax("a string is not closed");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'"' | b'\\' => out.push(e),
                        b'u' | b'U' => {
                            let digits = if e == b'u' { 4 } else { 8 };
                            let hex = self
                                .text
                                .get(self.pos..self.pos + digits)
                                .and_then(|h| core::str::from_utf8(h).ok())
                                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32);
                            let Some(ch) = hex else {
                                return self.syntax("invalid unicode escape in a string");
                            };
                            self.pos += digits;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.syntax("invalid escape in a string"),
                    }
                }
                other => out.push(other),
            }
        }
        match core::str::from_utf8(&out) {
            Ok(text) => Ok(String::from(text)),
            Err(_) => self.syntax("a string is not valid UTF-8"),
        }
    }

    /// `<<EOF` ... `EOF` (or `<<-EOF`, whose end marker may be indented and whose lines lose
    /// their common indentation).
    fn heredoc(&mut self) -> Result<String, ReadError> {
        let rest = &self.text[self.pos..];
        let Some(after) = rest.strip_prefix(b"<<") else {
            return self.syntax("expected a value");
        };
        let indented = after.first() == Some(&b'-');
        self.pos += 2 + usize::from(indented);
        let marker = self.ident();
        if self.peek() == Some(b'\r') {
            self.pos += 1;
        }
        if marker.is_empty() || self.peek() != Some(b'\n') {
            return self.syntax("a heredoc needs a marker and a new line: <<EOF");
        }
        let start_line = self.line;
        self.pos += 1;
        self.line += 1;
        let mut lines: Vec<&[u8]> = Vec::new();
        loop {
            if self.pos >= self.text.len() {
                self.line = start_line;
                return self.syntax(format!("heredoc {marker} is not closed"));
            }
            let end = self.text[self.pos..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.text.len(), |n| self.pos + n);
            let mut line = &self.text[self.pos..end];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            self.pos = end;
            let trimmed = line.trim_ascii();
            let is_end = if indented {
                trimmed == marker.as_bytes()
            } else {
                line == marker.as_bytes()
            };
            if is_end {
                break;
            }
            lines.push(line);
            // Step over the new line; the end marker's own is left for the caller.
            self.pos = (end + 1).min(self.text.len());
            self.line += 1;
        }
        let indent = if indented {
            lines
                .iter()
                .filter(|l| !l.trim_ascii().is_empty())
                .map(|l| l.iter().take_while(|c| **c == b' ' || **c == b'\t').count())
                .min()
                .unwrap_or(0)
        } else {
            0
        };
        let mut body: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
        for line in lines {
            body.extend_from_slice(line.get(indent..).unwrap_or_default());
            body.push(b'\n');
        }
        match core::str::from_utf8(&body) {
            Ok(text) => Ok(String::from(text)),
            Err(_) => self.syntax("a heredoc is not valid UTF-8"),
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

/// What an unquoted value is: numbers and booleans keep their text, as Vault stringifies
/// them; `null`, names and attribute accesses (`a.b`) are not strings.
fn classify_bare_word(word: &str) -> RawValue {
    match word {
        "true" | "false" => RawValue::Text(Zeroizing::new(String::from(word))),
        "null" => RawValue::Other("null"),
        _ if is_number(word) => RawValue::Text(Zeroizing::new(String::from(word))),
        // `a.b` is an attribute access and `-a` a negation in HCL, not names.
        _ if word.contains('.') || word.starts_with(['-', '+']) => RawValue::Other("an expression"),
        _ => RawValue::Other("an unquoted name"),
    }
}

/// An HCL number literal: digits, an optional fraction and an optional exponent (a sign in
/// front is HCL's unary minus, which Vault's HCL also takes).
fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => (&digits[..at], Some(&digits[at + 1..])),
        None => (digits, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int)
        && frac.is_none_or(all_digits)
        && exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn text(v: &RawValue) -> Result<&str, &'static str> {
        match v {
            RawValue::Text(t) => Ok(t.as_str()),
            RawValue::Other(kind) => Err(kind),
        }
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
  n = -1.5e3
}
telemetry { disable_hostname = true }
"#;

    #[test]
    fn reads_the_seal_stanzas_of_a_vault_hcl_file() {
        let stanzas = seal_stanzas(VAULT_HCL).unwrap();
        assert_eq!(stanzas.len(), 2);
        assert_eq!(stanzas[1].line, 19);
        let params: Vec<(&str, usize, Result<&str, &str>)> = stanzas[1]
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.line, text(&p.value)))
            .collect();
        assert_eq!(
            params,
            vec![
                ("region", 20, Ok("eu-west-1")),
                ("kms_key_id", 21, Ok("alias/vault-unseal")),
                ("endpoint", 22, Ok("http://127.0.0.1:4566")),
                ("secret_key", 23, Ok("multi-line\n")),
                ("n", 26, Ok("-1.5e3")),
            ]
        );
    }

    #[test]
    fn values_that_are_not_strings() {
        let stanzas = seal_stanzas(
            "seal \"awskms\" {\n a = null\n b = foo\n c = [\"x\"]\n d = { e = 1 }\n \
             f = \"x\" == \"y\"\n g = true\n}\n",
        )
        .unwrap();
        let kinds: Vec<Result<&str, &str>> =
            stanzas[0].params.iter().map(|p| text(&p.value)).collect();
        assert_eq!(
            kinds,
            vec![
                Err("null"),
                Err("an unquoted name"),
                Err("a list"),
                Err("an object"),
                Err("an expression"),
                Ok("true"),
            ]
        );
    }

    #[test]
    fn indented_heredoc_loses_common_indentation() {
        let stanzas =
            seal_stanzas("seal \"awskms\" {\n  k = <<-EOT\n    a\n      b\n    EOT\n}\n").unwrap();
        assert_eq!(text(&stanzas[0].params[0].value), Ok("a\n  b\n"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let Err(err) =
            seal_stanzas("ui = true\nseal \"awskms\" {\n  kms_key_id = \"unterminated\n}\n")
        else {
            panic!("accepted an unterminated string");
        };
        assert_eq!(
            err,
            ReadError::Syntax {
                line: 3,
                detail: "a string is not closed on its line".into()
            }
        );
        assert!(matches!(
            seal_stanzas("seal { kms_key_id = \"a\" }"),
            Err(ReadError::Stanza { line: 1, .. })
        ));
        assert!(seal_stanzas("seal \"awskms\" {").is_err());
        assert!(seal_stanzas("x = <<EOF\nnever closed\n").is_err());
    }
}
