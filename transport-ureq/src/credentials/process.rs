//! `credential_process`: a profile names a helper program that prints credentials as JSON.
//!
//! ```ini
//! [profile vault]
//! credential_process = /usr/local/bin/get-creds --role "seal admin"
//! ```
//!
//! As in the AWS CLI (botocore's `ProcessProvider`), the command line is split into words the
//! way Python's `shlex.split` splits it on POSIX ([`split_command_line`]) and run **without a
//! shell**, with the caller's environment, stdin closed. The program must exit 0 and print
//! the Version 1 document on stdout:
//!
//! ```json
//! {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
//!  "SessionToken": "...", "Expiration": "2026-12-06T18:00:00Z"}
//! ```
//!
//! `SessionToken` and `Expiration` (RFC 3339) are optional; with `Expiration` the chain's
//! cache runs the program again 5 minutes before it. A non-zero exit is reported with the
//! first line of the program's stderr (never its stdout, which may hold secrets). A program
//! that has not finished after [`DEFAULT_TIMEOUT`] (or `KMS_SEAL_CREDENTIAL_PROCESS_TIMEOUT`
//! seconds) is killed and reaped. Output beyond [`MAX_STDOUT_BYTES`] is refused.

use std::fmt;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{EnvLookup, ProviderError, short};

/// How long the program may run when `KMS_SEAL_CREDENTIAL_PROCESS_TIMEOUT` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable that overrides [`DEFAULT_TIMEOUT`], in seconds (fractions allowed).
pub const TIMEOUT_VARIABLE: &str = "KMS_SEAL_CREDENTIAL_PROCESS_TIMEOUT";

/// A program printing more than this on stdout is refused (a credentials document is small).
pub const MAX_STDOUT_BYTES: usize = 64 * 1024;

/// How much of stderr is kept for the error message; the rest is read and dropped.
const MAX_STDERR_BYTES: usize = 4 * 1024;

/// A `credential_process` command line, split into the program and its arguments.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialProcess {
    argv: Vec<String>,
    timeout: Duration,
}

impl fmt::Debug for CredentialProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Arguments may hold secrets (a password for a vault helper): show only the program.
        f.debug_struct("CredentialProcess")
            .field("program", &self.program())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a command line could not be split (the messages of Python's `shlex`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitError {
    /// A `'` or `"` is not closed.
    NoClosingQuotation,
    /// The line ends with a lone `\`.
    NoEscapedCharacter,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitError::NoClosingQuotation => "a quotation mark is not closed",
            SplitError::NoEscapedCharacter => "it ends with a lone backslash",
        })
    }
}

impl std::error::Error for SplitError {}

/// Splits a command line into words as Python's `shlex.split(s)` does in POSIX mode (what
/// botocore uses on every platform but Windows): words are separated by spaces, tabs and line
/// breaks; `'...'` keeps everything literally; `"..."` keeps everything but `\"` and `\\`;
/// outside quotes `\` makes the next character literal; quotes may join parts of one word
/// (`a"b c"` is `ab c`), and `''` is an empty word. `#` is an ordinary character.
///
/// # Errors
/// [`SplitError`] for an unclosed quote or a trailing backslash.
pub fn split_command_line(line: &str) -> Result<Vec<String>, SplitError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    word.push(chars.next().ok_or(SplitError::NoEscapedCharacter)?);
                    state = State::Word;
                }
                other => {
                    word.push(other);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                other => word.push(other),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let next = chars.next().ok_or(SplitError::NoEscapedCharacter)?;
                    if !matches!(next, '\\' | '"') {
                        word.push('\\');
                    }
                    word.push(next);
                }
                other => word.push(other),
            },
        }
    }
    match state {
        State::Single | State::Double => Err(SplitError::NoClosingQuotation),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Between => Ok(words),
    }
}

impl CredentialProcess {
    /// Parses the `credential_process` value and reads the timeout from `env`.
    ///
    /// # Errors
    /// A one-line message when the command line cannot be split, is empty, or the timeout
    /// variable is not a positive number of seconds.
    pub fn parse(command_line: &str, env: &EnvLookup) -> Result<Self, String> {
        let argv = split_command_line(command_line)
            .map_err(|e| format!("credential_process cannot be split into words: {e}"))?;
        if argv.first().is_none_or(String::is_empty) {
            return Err("credential_process names no program".to_owned());
        }
        let timeout = match env.get(TIMEOUT_VARIABLE) {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_seconds(&text).ok_or_else(|| {
                format!("{TIMEOUT_VARIABLE} must be a number of seconds between 0 and 86400")
            })?,
        };
        Ok(CredentialProcess { argv, timeout })
    }

    /// The program (the first word).
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or_default()
    }

    /// How long the program may run before it is killed.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the program and reads its credentials. `profile` names the profile for messages.
    ///
    /// # Errors
    /// [`ProviderError::Misconfigured`] when the program cannot be started,
    /// [`ProviderError::Rejected`] when it exits non-zero, [`ProviderError::Unreachable`] when
    /// it does not finish in time, [`ProviderError::Malformed`] when its output is not a
    /// Version 1 credentials document.
    pub fn run(&self, profile: &str) -> Result<Credentials, ProviderError> {
        let what = format!("credential_process of profile '{profile}'");
        log::debug!("{what}: running {}", short(self.program()));
        let child = Command::new(self.program())
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ProviderError::Misconfigured(format!(
                    "{what} cannot start {} ({}); check the program's path and permissions",
                    short(self.program()),
                    short(&e.to_string())
                ))
            })?;
        let finished = wait_bounded(child, self.timeout).map_err(|e| match e {
            RunFailure::TimedOut => ProviderError::Unreachable(format!(
                "{what} did not finish within {} s and was killed; check that it does not wait \
                 for input, or raise {TIMEOUT_VARIABLE}",
                format_secs(self.timeout)
            )),
            RunFailure::OutputHeldOpen => ProviderError::Unreachable(format!(
                "{what} exited, but a program it started kept its output open for {} s; it \
                 must not leave background programs attached to stdout or stderr",
                format_secs(self.timeout)
            )),
            RunFailure::StdoutTooLarge => ProviderError::Malformed(format!(
                "{what} printed more than {MAX_STDOUT_BYTES} bytes and was stopped; it must \
                 print one credentials document"
            )),
            RunFailure::Wait(e) => ProviderError::Unreachable(format!(
                "{what} could not be run to the end ({})",
                short(&e)
            )),
        })?;
        if !finished.status.success() {
            let first_line = finished
                .stderr
                .split(|b| *b == b'\n')
                .map(|l| String::from_utf8_lossy(l).trim().to_owned())
                .find(|l| !l.is_empty());
            let detail = match first_line {
                Some(line) => format!(": {}", short(&line)),
                None => " and printed nothing on stderr".to_owned(),
            };
            return Err(ProviderError::Rejected(format!(
                "{what} {}{detail}; run it by hand to see why",
                describe_status(finished.status)
            )));
        }
        parse_output(&finished.stdout).map_err(|e| ProviderError::Malformed(format!("{what} {e}")))
    }
}

/// What a finished program left.
struct Finished {
    status: ExitStatus,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Vec<u8>,
}

enum RunFailure {
    TimedOut,
    /// The program exited, but something it started still holds its stdout or stderr open.
    OutputHeldOpen,
    StdoutTooLarge,
    Wait(String),
}

/// Waits for `child` to exit and both its pipes to close, at most `timeout`; a child still
/// running then (or printing too much) is killed and reaped. The pipes are read by two
/// threads, polled every 10 ms (no channel: this keeps the static binary small).
fn wait_bounded(mut child: Child, timeout: Duration) -> Result<Finished, RunFailure> {
    let deadline = Instant::now() + timeout;
    let mut stdout_reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut bytes = Zeroizing::new(Vec::new());
            match (&mut out)
                .take(MAX_STDOUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
            {
                Ok(_) if bytes.len() <= MAX_STDOUT_BYTES => Ok(bytes),
                Ok(_) => Err(RunFailure::StdoutTooLarge),
                Err(e) => Err(RunFailure::Wait(format!("reading its output: {e}"))),
            }
        })
    });
    let mut stderr_reader = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut err)
                .take(MAX_STDERR_BYTES as u64)
                .read_to_end(&mut kept);
            // Drain the rest so the program never blocks on a full pipe.
            let _ = std::io::copy(&mut err, &mut std::io::sink());
            kept
        })
    });
    let mut stdout = None;
    let mut stderr = None;
    let mut status = None;
    let kill = |child: &mut Child, why: RunFailure| {
        let _ = child.kill();
        let _ = child.wait();
        Err(why)
    };
    loop {
        if status.is_none() {
            match child.try_wait() {
                Ok(s) => status = s,
                Err(e) => return kill(&mut child, RunFailure::Wait(e.to_string())),
            }
        }
        if stdout_reader.as_ref().is_none_or(|h| h.is_finished()) && stdout.is_none() {
            match stdout_reader.take().map(|h| h.join()) {
                None => stdout = Some(Zeroizing::default()),
                Some(Ok(Ok(bytes))) => stdout = Some(bytes),
                Some(Ok(Err(why))) => return kill(&mut child, why),
                Some(Err(_)) => {
                    return kill(
                        &mut child,
                        RunFailure::Wait("its output reader failed".into()),
                    );
                }
            }
        }
        if stderr_reader.as_ref().is_none_or(|h| h.is_finished()) && stderr.is_none() {
            stderr = Some(
                stderr_reader
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default(),
            );
        }
        if let (Some(status), Some(out), Some(err)) = (status, &mut stdout, &mut stderr) {
            return Ok(Finished {
                status,
                stdout: std::mem::take(out),
                stderr: std::mem::take(err),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            let why = if status.is_some() {
                RunFailure::OutputHeldOpen
            } else {
                RunFailure::TimedOut
            };
            return kill(&mut child, why);
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    "failed".to_owned()
}

/// Parses `30`, `0.5` or `2.25` seconds (at most millisecond precision is kept) without
/// floating point; `None` unless 0 < value <= 86400.
fn parse_seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let millis = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    let total = Duration::from_secs(secs).checked_add(Duration::from_millis(millis))?;
    (!total.is_zero() && total <= Duration::from_secs(86_400)).then_some(total)
}

/// `1`, `0.3` or `2.25`: seconds as written in [`TIMEOUT_VARIABLE`].
fn format_secs(d: Duration) -> String {
    let millis = d.subsec_millis();
    if millis == 0 {
        return d.as_secs().to_string();
    }
    let fraction = format!("{millis:03}");
    format!("{}.{}", d.as_secs(), fraction.trim_end_matches('0'))
}

/// The Version 1 document, as printed by the program.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessDocument {
    #[serde(default, deserialize_with = "version")]
    version: Option<Version>,
    access_key_id: Option<String>,
    #[serde(default, deserialize_with = "super::secret_string")]
    secret_access_key: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "super::secret_string")]
    session_token: Option<Zeroizing<String>>,
    expiration: Option<String>,
}

/// The `Version` field: the number 1, or anything else as written.
enum Version {
    One,
    Other(String),
}

/// Reads `Version` of any JSON type (a small visitor rather than `serde_json::Value`, which
/// would add its whole parser to the static binary).
fn version<'de, D>(deserializer: D) -> Result<Option<Version>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<Version>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a version number")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(if v == 1 {
                Version::One
            } else {
                Version::Other(v.to_string())
            }))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Version::Other(v.to_string())))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Some(Version::Other("(a fraction)".to_owned())))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Version::Other(format!("\"{v}\""))))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(Version::Other(v.to_string())))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    deserializer.deserialize_option(Visitor)
}

/// Reads the program's stdout; the error text follows "credential_process of profile 'p' ".
fn parse_output(stdout: &[u8]) -> Result<Credentials, String> {
    let doc: ProcessDocument = serde_json::from_slice(stdout).map_err(|e| {
        format!(
            "printed something that is not a JSON credentials document (error at line {} \
             column {}); it must print {{\"Version\": 1, \"AccessKeyId\": ..., \
             \"SecretAccessKey\": ...}}",
            e.line(),
            e.column()
        )
    })?;
    match &doc.version {
        Some(Version::One) => {}
        Some(Version::Other(v)) => {
            return Err(format!(
                "printed Version {}; kms-seal reads Version 1 documents",
                short(v)
            ));
        }
        None => return Err("printed a document without Version; it must be 1".to_owned()),
    }
    let access_key_id = doc
        .access_key_id
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or("printed a document without AccessKeyId")?;
    let secret = doc
        .secret_access_key
        .as_deref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or("printed a document without SecretAccessKey")?;
    let expires_at = match doc.expiration.as_deref() {
        None => None,
        Some(text) => Some(Timestamp::parse_rfc3339(text).map_err(|_| {
            "printed an Expiration that is not an RFC 3339 timestamp (like \
             2026-12-06T18:00:00Z)"
                .to_owned()
        })?),
    };
    let token = doc
        .session_token
        .as_deref()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    Ok(Credentials::new(access_key_id, secret, token, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_command_line(s).unwrap()
    }

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(split("a b\tc\n d "), ["a", "b", "c", "d"]);
        assert_eq!(split(r#"a "b c" 'd e'"#), ["a", "b c", "d e"]);
        assert_eq!(split(r#"a 'b \" c'"#), ["a", r#"b \" c"#]);
        assert_eq!(split(r"a\ b"), ["a b"]);
        assert_eq!(split(r#""a\$b""#), [r"a\$b"]);
        assert_eq!(split(r#""a\\b\"c""#), [r#"a\b"c"#]);
        assert_eq!(split("''"), [""]);
        assert_eq!(split(r#"x"y z"'w'"#), ["xy zw"]);
        assert_eq!(split("x#y #z"), ["x#y", "#z"]);
        assert_eq!(split("a\\\nb"), ["a\nb"]);
        assert!(split("   ").is_empty());
        assert_eq!(
            split_command_line("'open"),
            Err(SplitError::NoClosingQuotation)
        );
        assert_eq!(
            split_command_line(r#""open\"#),
            Err(SplitError::NoEscapedCharacter)
        );
        assert_eq!(
            split_command_line("end\\"),
            Err(SplitError::NoEscapedCharacter)
        );
    }

    #[test]
    fn parses_the_command_and_the_timeout() {
        let env = EnvLookup::from_pairs([(TIMEOUT_VARIABLE, "0.5")]);
        let p = CredentialProcess::parse("/bin/helper --name 'a b'", &env).unwrap();
        assert_eq!(p.program(), "/bin/helper");
        assert_eq!(p.args(), ["--name", "a b"]);
        assert_eq!(p.timeout(), Duration::from_millis(500));
        let none = EnvLookup::from_fn(|_| None);
        assert_eq!(
            CredentialProcess::parse("x", &none).unwrap().timeout(),
            DEFAULT_TIMEOUT
        );
        assert!(CredentialProcess::parse("''", &none).is_err());
        assert!(CredentialProcess::parse("'x", &none).is_err());
        assert_eq!(parse_seconds("2.25"), Some(Duration::from_millis(2_250)));
        assert_eq!(parse_seconds(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("86400"), Some(Duration::from_secs(86_400)));
        assert_eq!(format_secs(Duration::from_millis(2_250)), "2.25");
        assert_eq!(format_secs(Duration::from_secs(30)), "30");
        for bad in [
            "0",
            "0.0001",
            "-1",
            "soon",
            "NaN",
            "1e9",
            ".",
            "1.2.3",
            "86401",
            "99999999999999999999",
        ] {
            let env = EnvLookup::from_pairs([(TIMEOUT_VARIABLE, bad)]);
            let e = CredentialProcess::parse("x", &env).unwrap_err();
            assert!(e.contains(TIMEOUT_VARIABLE), "{e}");
        }
        let p = CredentialProcess::parse("helper --password hunter2", &none).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn reads_version_1_documents() {
        let c = parse_output(
            br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.session_token(), Some("t"));
        assert_eq!(c.expires_at(), Some(Timestamp(1_893_456_000)));
        let c =
            parse_output(br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s"}"#).unwrap();
        assert_eq!(c.expires_at(), None);
        assert_eq!(c.session_token(), None);
        for (doc, expect) in [
            (
                &br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#[..],
                "Version 2",
            ),
            (
                br#"{"Version":"1","AccessKeyId":"A","SecretAccessKey":"s"}"#,
                "Version \"1\"",
            ),
            (
                br#"{"AccessKeyId":"A","SecretAccessKey":"s"}"#,
                "without Version",
            ),
            (
                br#"{"Version":1,"SecretAccessKey":"s"}"#,
                "without AccessKeyId",
            ),
            (
                br#"{"Version":1,"AccessKeyId":"A"}"#,
                "without SecretAccessKey",
            ),
            (
                br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"later"}"#,
                "Expiration",
            ),
            (b"AKID s3cr3t", "not a JSON"),
            (b"", "not a JSON"),
        ] {
            let e = parse_output(doc).unwrap_err();
            assert!(e.contains(expect), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn runs_without_a_shell_and_reports_failures() {
        let none = EnvLookup::from_fn(|_| None);
        // `printf` gets its argument as one word: no shell ever sees the `;`.
        let p = CredentialProcess::parse(
            r#"printf '{"Version": 1, "AccessKeyId": "AK; id", "SecretAccessKey": "s"}'"#,
            &none,
        )
        .unwrap();
        assert_eq!(p.run("p").unwrap().access_key_id(), "AK; id");

        let p = CredentialProcess::parse(
            "sh -c 'echo \"  \" >&2; echo bad token: do login >&2; echo more >&2; exit 3'",
            &none,
        )
        .unwrap();
        let e = p.run("p").unwrap_err();
        assert!(matches!(e, ProviderError::Rejected(_)), "{e:?}");
        assert!(
            e.reason()
                .contains("exited with status 3: bad token: do login;"),
            "{e}"
        );
        assert!(!e.reason().contains("more"), "{e}");

        let p = CredentialProcess::parse("/nonexistent/helper", &none).unwrap();
        let e = p.run("p").unwrap_err();
        assert!(matches!(e, ProviderError::Misconfigured(_)), "{e:?}");
        assert!(
            e.reason().contains("cannot start /nonexistent/helper"),
            "{e}"
        );

        let p = CredentialProcess::parse("head -c 100000 /dev/zero", &none).unwrap();
        let e = p.run("p").unwrap_err();
        assert!(e.reason().contains("more than 65536 bytes"), "{e}");

        let env = EnvLookup::from_pairs([(TIMEOUT_VARIABLE, "0.3")]);
        let p = CredentialProcess::parse("sh -c 'sleep 3 & echo {}'", &env).unwrap();
        let e = p.run("p").unwrap_err();
        assert!(e.reason().contains("kept its output open for 0.3 s"), "{e}");

        let p = CredentialProcess::parse("sleep 30", &env).unwrap();
        let started = Instant::now();
        let e = p.run("p").unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(e, ProviderError::Unreachable(_)), "{e:?}");
        assert!(e.reason().contains("within 0.3 s and was killed"), "{e}");
    }
}
