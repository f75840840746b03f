//! The commands of `kms-seal`, written once against [`Host`].

mod check;
mod inspect;
mod migrate;
mod rewrap;
#[cfg(feature = "snapshot")]
mod snapshot;

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use kms_seal_core::envelope::StoredValue;
use zeroize::Zeroizing;

use crate::args::{Args, Command};
use crate::host::{FileError, Files, Host, HostSeal, StdinError};
use crate::storage::Stored;
use crate::{Failure, MAX_INPUT, config};

/// Runs the command of `args`, appending its standard output to `out`.
pub(crate) fn execute<H: Host>(
    host: &mut H,
    args: &Args,
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    let command = args
        .command
        .as_ref()
        .ok_or_else(|| Failure::Usage("missing command".into()))?;
    let aad = args.aad.as_deref().map(str::as_bytes);
    match command {
        Command::Inspect(path) => {
            let routes = inspect_routes(host, args)?;
            let routes = routes.as_ref();
            let text = match path {
                None => inspect::describe(&read_value(host, args.base64)?, routes),
                Some(path) => inspect::describe_path(host.files(), path, args.base64, routes)?,
            };
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        Command::Encrypt => {
            let plaintext = read_input(host, args.base64, "plaintext")?;
            let seal = open_seal(host, args)?;
            let blob = seal.encrypt(&plaintext, aad)?;
            write_output(out, &StoredValue::Bare(blob).encode(), args.base64);
        }
        Command::Decrypt(path) => {
            let value = match path {
                None => read_value(host, args.base64)?,
                Some(path) => {
                    if host.files().is_dir(path).unwrap_or(false) {
                        return Err(Failure::Usage(format!(
                            "{path} is a directory: decrypt takes one stored value; name its \
                             file, or use inspect or rewrap for a storage tree"
                        )));
                    }
                    read_stored_file(host.files(), path, args.base64)?
                }
            };
            let mut seal = open_seal(host, args)?;
            let old = migrate::open_old_seals(host, args)?;
            let plaintext = if old.is_empty() {
                seal.decrypt_value(&value.value.value, aad)?
            } else {
                // The enabled key's ARN tells its blobs from the old key's.
                seal.init()?;
                migrate::decrypt_value(&old, &seal, &value.value.value, aad)?
            };
            write_output(out, &plaintext, args.base64);
        }
        Command::Check => {
            let seal = open_seal(host, args)?;
            check::run(host, &seal, out)?;
        }
        Command::Rewrap(files) => {
            let mut seal = open_seal(host, args)?;
            seal.init()?;
            let old = migrate::open_old_seals(host, args)?;
            rewrap::run(host, &seal, &old, files, args, out)?;
        }
        #[cfg(feature = "snapshot")]
        Command::Snapshot(command) => snapshot::run(host, args, command, out)?,
    }
    Ok(())
}

/// Loads the configuration (flags over environment over file) and builds the seal. The seal
/// is not initialised: `encrypt` and `decrypt` need one KMS call each, as `Decrypt` finds the
/// key by itself and `Encrypt` returns the key ARN.
fn open_seal<H: Host>(host: &mut H, args: &Args) -> Result<HostSeal<H>, Failure> {
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
    let config = {
        let env = |name: &str| host.env(name);
        config::load(args.config.as_deref(), &overrides, &env, host.files())
            .map_err(|e| Failure::Config(e.to_string()))?
    };
    for unknown in &config.unknown_parameters {
        host.write_stderr(&format!(
            "kms-seal: warning: ignoring unknown seal parameter `{}`\n",
            crate::one_line(unknown)
        ));
    }
    let seal = host.build_seal(&config).map_err(Failure::Config)?;
    if args.verbose > 0 {
        let settings = seal.settings();
        host.write_stderr(&format!(
            "kms-seal: info: kms endpoint {} (signing region {})\n",
            settings.endpoint.url(),
            settings.endpoint.signing_region()
        ));
    }
    Ok(seal)
}

/// With `--config`, what `inspect` needs to say which stanza opens each blob (read offline,
/// references left unresolved); `None` without it, or without the `migration` feature.
fn inspect_routes<H: Host>(host: &H, args: &Args) -> Result<Option<inspect::Routes>, Failure> {
    let Some(path) = args
        .config
        .as_deref()
        .filter(|_| cfg!(feature = "migration"))
    else {
        return Ok(None);
    };
    let env = |name: &str| host.env(name);
    let overrides: Vec<(&str, &str)> = [
        ("kms_key_id", &args.key_id),
        ("region", &args.region),
        ("endpoint", &args.endpoint),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    .collect();
    let enabled = config::load_unresolved(Some(path), &overrides, &env, host.files())
        .map_err(|e| Failure::Config(e.to_string()))?;
    let old = config::read_seal_stanzas(path, host.files())
        .map_err(|e| Failure::Config(e.to_string()))?
        .into_iter()
        .filter(|s| s.disabled && s.seal_type == config::SEAL_TYPE)
        .filter_map(|s| {
            let key = s.param("kms_key_id")?.to_string();
            Some((format!("disabled stanza at {}:{}", s.source, s.line), key))
        })
        .collect();
    Ok(Some(inspect::Routes {
        enabled_key: enabled.kms_key_id,
        region: enabled.region,
        old,
    }))
}

fn read_input<H: Host>(
    host: &mut H,
    base64: bool,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let raw = host.read_stdin(MAX_INPUT).map_err(|e| match e {
        StdinError::TooLarge => Failure::Usage(format!(
            "the {what} on stdin is larger than {} MiB",
            MAX_INPUT >> 20
        )),
        StdinError::Failed(reason) => Failure::Operation(format!("cannot read stdin: {reason}")),
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

fn read_value<H: Host>(host: &mut H, base64: bool) -> Result<Stored, Failure> {
    let bytes = read_input(host, base64, "stored value")?;
    parse_value(&bytes, "stdin")
}

/// Reads and decodes the stored value in the file at `path`.
fn read_stored_file(files: &dyn Files, path: &str, base64: bool) -> Result<Stored, Failure> {
    let raw = files.read_file(path, MAX_INPUT).map_err(|e| match e {
        FileError::TooLarge(limit) => {
            Failure::Operation(format!("{path} is larger than {} MiB", limit >> 20))
        }
        other => Failure::Operation(format!("cannot read {path}: {other}")),
    })?;
    let bytes = if base64 {
        decode_base64(&raw, path)?
    } else {
        raw
    };
    parse_value(&bytes, path)
}

fn parse_value(bytes: &[u8], source: &str) -> Result<Stored, Failure> {
    if bytes.is_empty() {
        return Err(Failure::Operation(format!(
            "{source} is empty; pass a stored value (a BlobInfo, a multiwrapvalue:1 entry or a \
             Vault file-storage entry)"
        )));
    }
    Stored::parse(bytes).map_err(|e| {
        Failure::Operation(format!(
            "{source} is not a Vault seal-wrapped value ({e}); pass the raw stored bytes or the \
             file-storage entry, or use --base64 for base64 text"
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
