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
//! Like the plugin, the command is `no_std` on wasm32 (without the standard library it is about
//! 50 KB smaller): its I/O goes straight to WASI 0.2 (`wasi_io`), and it compiles the library's
//! transport, runtime, environment, seal and allocator source files itself rather than linking
//! the library, which carries the plugin's exports.

#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg_attr(target_arch = "wasm32", no_main)]
// Natively the binary only says that it is a wasm32-wasip2 component; the rest is compiled
// (and unit-tested) there but runs only on wasm32.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code, unused_imports))]

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
#[path = "../transport/mod.rs"]
mod transport;
mod wasi_io;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../wasi_seal.rs"]
mod wasi_seal;
#[cfg(target_arch = "wasm32")]
#[path = "../wasm_rt.rs"]
mod wasm_rt;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::envelope::{DecodedValue, StoredValue, decode_stored_value};
use kms_seal_core::seal::{ErrorKind, Runtime, SealError};
use serde_json::json;
use zeroize::Zeroizing;

use args::{Args, Command, USAGE};
use environment::Environment;
use wasi_seal::{SetupError, WasiSeal};

/// Largest input read from stdin (64 MiB), as in the native tool.
const MAX_INPUT: u64 = 64 << 20;
/// Largest `file://` credential file read.
const MAX_SECRET_FILE: u64 = 64 << 10;

/// Exit status for success.
const EXIT_OK: i32 = 0;
/// Exit status when the operation failed.
const EXIT_FAILED: i32 = 1;
/// Exit status for usage and configuration errors (WASI 0.2 hosts report it as 1).
const EXIT_USAGE: i32 = 2;

/// The entry point wasi-libc's start-up code (`wasi:cli/run`) calls; the result is the exit
/// status it passes to `wasi:cli/exit`.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "the C entry point needs an unmangled symbol")]
mod entry {
    #[unsafe(no_mangle)]
    extern "C" fn __main_void() -> i32 {
        super::run(
            super::wasi_io::arguments(),
            &super::Environment::from_host(),
        )
    }
}

/// Natively there is nothing to run: the tool is a wasm32-wasip2 component.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "kms-seal (kms-seal-wasi) is a wasm32-wasip2 component: build it with \
         cargo build --profile release-small --target wasm32-wasip2 -p kms-seal-wasi"
    );
    std::process::exit(EXIT_USAGE);
}

/// Runs the tool with these arguments (without the program name) and environment, on the
/// host's standard streams, and returns the exit status.
fn run(args: Vec<String>, env: &Environment) -> i32 {
    let args = match Args::parse(args) {
        Ok(a) => a,
        Err(e) => return report(&Failure::Usage(e.to_string())),
    };
    if args.help {
        let _ = wasi_io::write_stdout(format!("{USAGE}\n").as_bytes());
        return EXIT_OK;
    }
    if args.version {
        let version = format!("kms-seal {} (wasm32-wasip2)\n", env!("CARGO_PKG_VERSION"));
        let _ = wasi_io::write_stdout(version.as_bytes());
        return EXIT_OK;
    }
    let mut out = Vec::new();
    match execute(&args, &mut out, env) {
        Ok(()) => match wasi_io::write_stdout(&out) {
            Ok(()) => EXIT_OK,
            Err(e) => report(&Failure::Operation(format!("cannot write stdout: {e}"))),
        },
        Err(f) => report(&f),
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

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        Failure::Config(e.to_string())
    }
}

fn report(failure: &Failure) -> i32 {
    // One line, whatever the underlying messages contain.
    let line: String = failure
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    wasi_io::write_stderr(&format!("kms-seal: error: {line}\n"));
    match failure {
        Failure::Usage(_) | Failure::Config(_) => EXIT_USAGE,
        Failure::Operation(_) => EXIT_FAILED,
    }
}

fn execute(args: &Args, out: &mut Vec<u8>, env: &Environment) -> Result<(), Failure> {
    let command = args
        .command
        .ok_or_else(|| Failure::Usage("missing command".into()))?;
    let aad = args.aad.as_deref().map(str::as_bytes);
    match command {
        Command::Inspect => {
            let value = read_value(args.base64)?;
            let text = serde_json::to_string_pretty(&inspect::describe(&value))
                .map_err(|e| Failure::Operation(format!("cannot format JSON: {e}")))?;
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        Command::Encrypt => {
            let plaintext = read_input(args.base64, "plaintext")?;
            let seal = open_seal(args, env)?;
            let blob = seal.seal().encrypt(&plaintext, aad)?;
            write_output(out, &StoredValue::Bare(blob).encode(), args.base64);
        }
        Command::Decrypt => {
            let value = read_value(args.base64)?;
            let seal = open_seal(args, env)?;
            let plaintext = seal.decrypt_value(&value, aad)?;
            write_output(out, &plaintext, args.base64);
        }
        Command::Check => {
            let seal = open_seal(args, env)?;
            check(&seal, out)?;
        }
    }
    Ok(())
}

/// Loads the configuration (flags over environment over file) and builds the seal. The seal
/// is not initialised: `encrypt` and `decrypt` need one KMS call each, as in the native tool.
fn open_seal(args: &Args, env: &Environment) -> Result<WasiSeal, Failure> {
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
        wasi_io::write_stderr(&format!(
            "kms-seal: warning: ignoring unknown seal parameter `{unknown}`\n"
        ));
    }
    let read_file = |path: &str| -> Result<Zeroizing<String>, String> {
        let bytes = wasi_io::read_file(path, MAX_SECRET_FILE)?;
        core::str::from_utf8(&bytes)
            .map(|text| Zeroizing::new(text.to_owned()))
            .map_err(|_| format!("{path} is not UTF-8 text"))
    };
    let seal = WasiSeal::from_config(&config, env, Some(&read_file))?;
    if args.verbose > 0 {
        let settings = seal.seal().settings();
        wasi_io::write_stderr(&format!(
            "kms-seal: info: kms endpoint {} (signing region {})\n",
            settings.endpoint.url(),
            settings.endpoint.signing_region()
        ));
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

fn read_input(base64: bool, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let raw = wasi_io::read_stdin(MAX_INPUT).map_err(|e| match e {
        None => Failure::Usage(format!(
            "the {what} on stdin is larger than {} MiB",
            MAX_INPUT >> 20
        )),
        Some(reason) => Failure::Operation(format!("cannot read stdin: {reason}")),
    })?;
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

fn read_value(base64: bool) -> Result<DecodedValue, Failure> {
    let bytes = read_input(base64, "stored value")?;
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

/// Milliseconds since `start_nanos`, to the microsecond.
fn millis(start_nanos: u64) -> f64 {
    let micros = (wasi_io::monotonic_nanos().saturating_sub(start_nanos) + 500) / 1000;
    micros as f64 / 1e3
}

/// DescribeKey, then an encrypt/decrypt round trip of 32 random bytes.
fn check(seal: &WasiSeal, out: &mut Vec<u8>) -> Result<(), Failure> {
    let seal = seal.seal();
    let t = wasi_io::monotonic_nanos();
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
    let t = wasi_io::monotonic_nanos();
    let blob = seal.encrypt(&probe[..], None)?;
    let encrypt_ms = millis(t);
    let t = wasi_io::monotonic_nanos();
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
