//! The `kms-seal` command-line tool, as a library function so it can be tested in-process.
//!
//! ```text
//! kms-seal [--config FILE] [--key-id ID] [--region R] [--endpoint URL] [--aad TEXT] [--base64] [-v] COMMAND
//! ```
//!
//! Exit status 0 on success, 1 when the operation failed (KMS, credentials, integrity,
//! transport), 2 for usage or configuration errors. Errors are one line on stderr that says
//! what to do next; stdout stays empty on failure (output is buffered until the command has
//! succeeded); no secret, data key or plaintext appears in an error or log line.

pub mod args;
pub mod atomic;
pub mod inspect;
pub mod logger;
pub mod progress;

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use kms_seal_core::envelope::{DecodedValue, StoredValue, decode_stored_value};
use kms_seal_core::seal::{ErrorKind, SealError};
use serde_json::json;
use zeroize::Zeroizing;

use crate::credentials::EnvLookup;
use crate::native::{BuiltSeal, NativeSeal, build_seal};
use crate::vault_config;
use args::{Args, Command, USAGE};

/// Largest input read from stdin or from a file given to `rewrap` (64 MiB).
pub const MAX_INPUT: u64 = 64 << 20;

/// Exit status for success.
pub const EXIT_OK: i32 = 0;
/// Exit status when the operation failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit status for usage and configuration errors.
pub const EXIT_USAGE: i32 = 2;

/// Runs the tool with the process's arguments, standard streams and environment, and returns
/// the exit status.
pub fn main() -> i32 {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run(
        std::env::args_os().skip(1),
        &mut stdin.lock(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        EnvLookup::process(),
    )
}

/// Runs the tool with these arguments (without the program name), streams and environment.
pub fn run(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    env: EnvLookup,
) -> i32 {
    let args = match Args::parse(args) {
        Ok(a) => a,
        Err(e) => return report(stderr, &Failure::Usage(e.to_string())),
    };
    if args.help {
        let _ = writeln!(stdout, "{USAGE}");
        return EXIT_OK;
    }
    if args.version {
        let _ = writeln!(stdout, "kms-seal {}", env!("CARGO_PKG_VERSION"));
        return EXIT_OK;
    }
    logger::init(args.verbose);
    let mut out = Vec::new();
    let result = execute(&args, stdin, &mut out, stderr, &env);
    match result {
        Ok(()) => match stdout.write_all(&out).and_then(|()| stdout.flush()) {
            Ok(()) => EXIT_OK,
            Err(e) => report(
                stderr,
                &Failure::Operation(format!("cannot write stdout: {e}")),
            ),
        },
        Err(f) => report(stderr, &f),
    }
}

/// Why a command failed, and so which exit status it gets.
#[derive(Debug)]
enum Failure {
    Usage(String),
    Config(String),
    Operation(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Config(m) | Failure::Operation(m) => f.write_str(m),
        }
    }
}

impl From<SealError> for Failure {
    fn from(e: SealError) -> Self {
        let message = e.to_string();
        match e.kind() {
            ErrorKind::Configuration => Failure::Config(message),
            _ => Failure::Operation(message),
        }
    }
}

fn report(stderr: &mut dyn Write, failure: &Failure) -> i32 {
    // One line, whatever the underlying messages contain.
    let line: String = failure
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let _ = writeln!(stderr, "kms-seal: error: {line}");
    match failure {
        Failure::Usage(_) | Failure::Config(_) => EXIT_USAGE,
        Failure::Operation(_) => EXIT_FAILED,
    }
}

fn execute(
    args: &Args,
    stdin: &mut dyn Read,
    out: &mut Vec<u8>,
    stderr: &mut dyn Write,
    env: &EnvLookup,
) -> Result<(), Failure> {
    let command = args
        .command
        .as_ref()
        .ok_or_else(|| Failure::Usage("missing command".into()))?;
    let aad = args.aad.as_deref().map(str::as_bytes);
    match command {
        Command::Inspect => {
            let value = read_value(stdin, args.base64)?;
            let text = serde_json::to_string_pretty(&inspect::describe(&value))
                .map_err(|e| Failure::Operation(format!("cannot format JSON: {e}")))?;
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        Command::Encrypt => {
            let plaintext = read_input(stdin, args.base64, "plaintext")?;
            let seal = open_seal(args, env)?;
            let blob = seal.encrypt(&plaintext, aad)?;
            write_output(out, &StoredValue::Bare(blob).encode(), args.base64);
        }
        Command::Decrypt => {
            let value = read_value(stdin, args.base64)?;
            let seal = open_seal(args, env)?;
            let plaintext = seal.decrypt_value(&value.value, aad)?;
            write_output(out, &plaintext, args.base64);
        }
        Command::Check => {
            let seal = open_seal(args, env)?;
            check(&seal, out)?;
        }
        Command::Rewrap(files) => {
            let mut seal = open_seal(args, env)?;
            seal.init()?;
            rewrap(&seal, files, args.base64, aad, out, stderr)?;
        }
    }
    Ok(())
}

/// Loads the configuration (flags over environment over file) and builds the seal. The seal
/// is not initialised: `encrypt` and `decrypt` need one KMS call each, as `Decrypt` finds the
/// key by itself and `Encrypt` returns the key ARN.
fn open_seal(args: &Args, env: &EnvLookup) -> Result<NativeSeal, Failure> {
    let mut overrides: Vec<(&str, &str)> = Vec::new();
    if let Some(k) = &args.key_id {
        overrides.push(("kms_key_id", k));
    }
    if let Some(r) = &args.region {
        overrides.push(("region", r));
    }
    if let Some(e) = &args.endpoint {
        overrides.push(("endpoint", e));
    }
    let lookup = |name: &str| env.get(name);
    let config = vault_config::load(args.config.as_deref(), &overrides, &lookup)
        .map_err(|e| Failure::Config(e.to_string()))?;
    for unknown in &config.unknown_parameters {
        log::warn!("ignoring unknown seal parameter {unknown:?}");
    }
    let BuiltSeal { seal, region } =
        build_seal(&config, env.clone()).map_err(|e| Failure::Config(e.to_string()))?;
    log::info!(
        "kms endpoint {} (signing region {}, region from {})",
        seal.settings().endpoint.url(),
        region.name,
        region.source
    );
    Ok(seal)
}

fn read_input(
    stdin: &mut dyn Read,
    base64: bool,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut raw = Zeroizing::new(Vec::new());
    stdin
        .take(MAX_INPUT + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Failure::Operation(format!("cannot read stdin: {e}")))?;
    if raw.len() as u64 > MAX_INPUT {
        return Err(Failure::Usage(format!(
            "the {what} on stdin is larger than {} MiB",
            MAX_INPUT >> 20
        )));
    }
    if base64 {
        decode_base64(&raw, what)
    } else {
        Ok(raw)
    }
}

fn decode_base64(text: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    STANDARD
        .decode(&*compact)
        .or_else(|_| STANDARD_NO_PAD.decode(&*compact))
        .map(Zeroizing::new)
        .map_err(|_| {
            Failure::Usage(format!(
                "the {what} is not valid base64; drop --base64 to pass raw bytes"
            ))
        })
}

fn read_value(stdin: &mut dyn Read, base64: bool) -> Result<DecodedValue, Failure> {
    let bytes = read_input(stdin, base64, "stored value")?;
    parse_value(&bytes, "stdin")
}

fn parse_value(bytes: &[u8], source: &str) -> Result<DecodedValue, Failure> {
    if bytes.is_empty() {
        return Err(Failure::Operation(format!(
            "{source} is empty; pass a stored value (a BlobInfo or a multiwrapvalue:1 entry)"
        )));
    }
    decode_stored_value(bytes).map_err(|e| {
        Failure::Operation(format!(
            "{source} is not a Vault seal-wrapped value ({e}); pass the raw stored bytes, or \
             use --base64 for base64 text"
        ))
    })
}

fn write_output(out: &mut Vec<u8>, bytes: &[u8], base64: bool) {
    if base64 {
        out.extend_from_slice(STANDARD.encode(bytes).as_bytes());
        out.push(b'\n');
    } else {
        out.extend_from_slice(bytes);
    }
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// DescribeKey, then an encrypt/decrypt round trip of 32 random bytes.
fn check(seal: &NativeSeal, out: &mut Vec<u8>) -> Result<(), Failure> {
    let t = Instant::now();
    let metadata = seal.describe_key()?;
    let describe_ms = millis(t);
    if let Some(reason) = metadata.unusable_reason() {
        return Err(Failure::Operation(format!(
            "key {} cannot seal: {reason}; enable it or configure another kms_key_id",
            metadata.arn_or_key_id()
        )));
    }
    let mut probe = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut probe[..])
        .map_err(|e| Failure::Operation(format!("no randomness for the probe: {e}")))?;
    let t = Instant::now();
    let blob = seal.encrypt(&probe[..], None)?;
    let encrypt_ms = millis(t);
    let t = Instant::now();
    let back = seal.decrypt(&blob, None)?;
    let decrypt_ms = millis(t);
    if back.as_slice() != &probe[..] {
        return Err(Failure::Operation(
            "the round trip returned different bytes; do not use this key until KMS is checked"
                .into(),
        ));
    }
    let report = json!({
        "ok": true,
        "key_arn": metadata.arn_or_key_id(),
        "key_state": metadata.key_state,
        "enabled": metadata.enabled,
        "endpoint": seal.settings().endpoint.url(),
        "region": seal.settings().endpoint.signing_region(),
        "encrypted_with": blob.key_id(),
        "latency_ms": {
            "describe_key": describe_ms,
            "encrypt": encrypt_ms,
            "decrypt": decrypt_ms,
        },
    });
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| Failure::Operation(format!("cannot format JSON: {e}")))?;
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    Ok(())
}

/// What happened to one file in `rewrap`.
enum Outcome {
    Rewrapped,
    UpToDate,
}

fn rewrap(
    seal: &NativeSeal,
    files: &[std::path::PathBuf],
    base64: bool,
    aad: Option<&[u8]>,
    out: &mut Vec<u8>,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut progress = progress::Progress::new(files.len());
    let (mut rewrapped, mut up_to_date, mut failed) = (0usize, 0usize, 0usize);
    let mut first_error = None;
    for path in files {
        match rewrap_file(seal, path, base64, aad) {
            Ok(Outcome::Rewrapped) => {
                rewrapped += 1;
                log::info!("{}: rewrapped under {}", path.display(), seal.key_id());
            }
            Ok(Outcome::UpToDate) => {
                up_to_date += 1;
                log::info!("{}: already up to date", path.display());
            }
            Err(e) => {
                failed += 1;
                progress.finish();
                let _ = writeln!(stderr, "kms-seal: {}: {e}", path.display());
                first_error.get_or_insert(e);
            }
        }
        progress.advance();
    }
    progress.finish();
    let summary = format!(
        "{rewrapped} rewrapped, {up_to_date} already up to date, {failed} failed (key {})",
        seal.key_id()
    );
    match first_error {
        None => {
            let _ = writeln!(stderr, "kms-seal: rewrap: {summary}");
            let text = json!({
                "rewrapped": rewrapped,
                "up_to_date": up_to_date,
                "failed": failed,
                "key_arn": seal.key_id(),
            });
            out.extend_from_slice(text.to_string().as_bytes());
            out.push(b'\n');
            Ok(())
        }
        Some(e) => Err(match e {
            Failure::Config(m) => Failure::Config(format!("rewrap: {summary}; first error: {m}")),
            Failure::Usage(m) | Failure::Operation(m) => {
                Failure::Operation(format!("rewrap: {summary}; first error: {m}"))
            }
        }),
    }
}

fn rewrap_file(
    seal: &NativeSeal,
    path: &Path,
    base64: bool,
    aad: Option<&[u8]>,
) -> Result<Outcome, Failure> {
    let name = path.display().to_string();
    let read_error = |e: std::io::Error| Failure::Operation(format!("cannot read {name}: {e}"));
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut raw = Zeroizing::new(Vec::new());
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut raw)
        .map_err(read_error)?;
    if raw.len() as u64 > MAX_INPUT {
        return Err(Failure::Operation(format!(
            "{name} is larger than {} MiB",
            MAX_INPUT >> 20
        )));
    }
    let bytes = if base64 {
        decode_base64(&raw, &name)?
    } else {
        raw
    };
    let mut value = parse_value(&bytes, &name)?;

    let changed = seal.rewrap_value(&mut value.value, aad)?;
    if !changed {
        return Ok(Outcome::UpToDate);
    }
    let encoded = if value.canary {
        value.value.encode_with_canary()
    } else {
        value.value.encode()
    };
    let contents = if base64 {
        let mut text = STANDARD.encode(&encoded).into_bytes();
        text.push(b'\n');
        text
    } else {
        encoded
    };
    atomic::replace_file(path, &contents).map_err(|e| {
        Failure::Operation(format!("cannot replace {name}: {e}; the file is unchanged"))
    })?;
    Ok(Outcome::Rewrapped)
}
