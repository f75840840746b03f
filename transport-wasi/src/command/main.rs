//! `kms-seal.wasm`: the native `kms-seal` commands (`encrypt`, `decrypt`, `inspect`, `check`)
//! as a WASI 0.2 command component.
//!
//! ```text
//! wasmtime run -S http --env VAULT_SEAL_TYPE=awskms --env VAULT_AWSKMS_SEAL_KEY_ID=alias/vault \
//!     --env AWS_REGION=eu-west-1 --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY \
//!     kms-seal.wasm encrypt < plaintext > blob
//! ```
//!
//! Same arguments, output and one-line errors as the native tool; stdout stays empty on
//! failure. The configuration comes from the environment the host passes, the flags, and a
//! Vault config file (`--config`) in a directory the host pre-opened. KMS is reached through
//! the host's `wasi:http` (`-S http`); credentials are static only.
//!
//! The transport, runtime, environment and seal modules are the library's own source files,
//! compiled into this binary as well (the library is `no_std` on wasm32 and brings its own
//! allocator and panic handler, which a `std` program must not link).

use std::fmt;
use std::io::{Read, Write};
use std::time::Instant;

extern crate alloc;

mod args;
mod config_file;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../environment.rs"]
mod environment;
mod inspect;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../runtime.rs"]
mod runtime;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../transport.rs"]
mod transport;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../wasi_seal.rs"]
mod wasi_seal;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::envelope::{DecodedValue, StoredValue, decode_stored_value};
use kms_seal_core::seal::{ErrorKind, Runtime, SealError};
use serde_json::json;
use zeroize::Zeroizing;

use args::{Args, Command, USAGE};
use environment::Environment;
use wasi_seal::{SetupError, ValueError, WasiSeal};

/// Largest input read from stdin (64 MiB), as in the native tool.
const MAX_INPUT: u64 = 64 << 20;

/// Exit status for success.
const EXIT_OK: i32 = 0;
/// Exit status when the operation failed.
const EXIT_FAILED: i32 = 1;
/// Exit status for usage and configuration errors (WASI 0.2 hosts report it as 1).
const EXIT_USAGE: i32 = 2;

fn main() {
    let env = Environment::from_host();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let status = run(
        std::env::args().skip(1),
        &mut stdin.lock(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        &env,
    );
    std::process::exit(status);
}

/// Runs the tool with these arguments (without the program name), streams and environment,
/// and returns the exit status.
fn run(
    args: impl IntoIterator<Item = String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    env: &Environment,
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
        let _ = writeln!(
            stdout,
            "kms-seal {} (wasm32-wasip2)",
            env!("CARGO_PKG_VERSION")
        );
        return EXIT_OK;
    }
    let mut out = Vec::new();
    match execute(&args, stdin, &mut out, stderr, env) {
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

impl From<ValueError> for Failure {
    fn from(e: ValueError) -> Self {
        match e {
            ValueError::Seal(e) => e.into(),
            other => Failure::Operation(other.to_string()),
        }
    }
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        Failure::Config(e.to_string())
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
    env: &Environment,
) -> Result<(), Failure> {
    let command = args
        .command
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
            let seal = open_seal(args, env, stderr)?;
            let blob = seal.seal().encrypt(&plaintext, aad)?;
            write_output(out, &StoredValue::Bare(blob).encode(), args.base64);
        }
        Command::Decrypt => {
            let value = read_value(stdin, args.base64)?;
            let seal = open_seal(args, env, stderr)?;
            let plaintext = seal.decrypt_value(&value, aad)?;
            write_output(out, &plaintext, args.base64);
        }
        Command::Check => {
            let seal = open_seal(args, env, stderr)?;
            check(&seal, out)?;
        }
    }
    Ok(())
}

/// Loads the configuration (flags over environment over file) and builds the seal. The seal
/// is not initialised: `encrypt` and `decrypt` need one KMS call each, as in the native tool.
fn open_seal(args: &Args, env: &Environment, stderr: &mut dyn Write) -> Result<WasiSeal, Failure> {
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
    let config = load_config(args.config.as_deref(), &overrides, env)?;
    for unknown in &config.unknown_parameters {
        let _ = writeln!(
            stderr,
            "kms-seal: warning: ignoring unknown seal parameter {unknown:?}"
        );
    }
    let read_file = |path: &str| -> Result<Zeroizing<String>, String> {
        std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| format!("cannot read {path}: {e} (is its directory pre-opened?)"))
    };
    let seal = WasiSeal::from_config(&config, env, Some(&read_file))?;
    if args.verbose > 0 {
        let settings = seal.seal().settings();
        let _ = writeln!(
            stderr,
            "kms-seal: info: kms endpoint {} (signing region {})",
            settings.endpoint.url(),
            settings.endpoint.signing_region()
        );
    }
    Ok(seal)
}

/// Flags over environment over the file's one enabled `seal "awskms"` stanza, as the native
/// tool does. Without `--config` the environment alone configures the seal.
fn load_config(
    config_file: Option<&str>,
    overrides: &[(&str, &str)],
    env: &Environment,
) -> Result<AwsKmsSealConfig, Failure> {
    let env_seal_type = env.lookup("VAULT_SEAL_TYPE").filter(|t| !t.is_empty());
    if let Some(value) = &env_seal_type
        && value != "awskms"
    {
        return Err(Failure::Config(format!(
            "VAULT_SEAL_TYPE is `{value}`: this tool implements only awskms; unset it or set it to awskms"
        )));
    }
    let stanza = match config_file {
        Some(path) => config_file::load_stanza(path, env_seal_type.is_some())
            .map_err(|e| Failure::Config(e.to_string()))?,
        None => None,
    };
    let mut params: Vec<(&str, &str)> = overrides.to_vec();
    if let Some(stanza) = &stanza {
        params.extend(
            stanza
                .params()
                .filter(|(name, _)| !overrides.iter().any(|(o, _)| o == name)),
        );
    }
    // Flags win over the environment: remove the variables of the overridden parameters.
    let overridden: Vec<&'static str> = overrides
        .iter()
        .filter_map(|(name, _)| kms_seal_core::config::Parameter::from_name(name))
        .flat_map(|p| p.environment_variables().iter().copied())
        .collect();
    let lookup = |name: &str| {
        if overridden.contains(&name) {
            None
        } else {
            env.lookup(name)
        }
    };
    AwsKmsSealConfig::from_params(params, lookup).map_err(|e| Failure::Config(e.to_string()))
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
    if bytes.is_empty() {
        return Err(Failure::Operation(
            "stdin is empty; pass a stored value (a BlobInfo or a multiwrapvalue:1 entry)".into(),
        ));
    }
    decode_stored_value(&bytes).map_err(|e| {
        Failure::Operation(format!(
            "stdin is not a Vault seal-wrapped value ({e}); pass the raw stored bytes, or use \
             --base64 for base64 text"
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
fn check(seal: &WasiSeal, out: &mut Vec<u8>) -> Result<(), Failure> {
    let seal = seal.seal();
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
    seal.runtime()
        .fill_random(&mut probe[..])
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
