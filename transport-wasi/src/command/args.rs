//! Command-line parsing for `kms-seal.wasm`: the native `kms-seal` interface, without `rewrap`
//! (which replaces files in place; run it with the native binary).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use core::fmt;

/// Usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: kms-seal.wasm [OPTIONS] COMMAND

Seal and unseal HashiCorp Vault / OpenBao values with AWS KMS (the awskms seal), inside a
WebAssembly host (wasmtime run -S http ...).

commands:
  encrypt          plaintext on stdin -> a bare BlobInfo (Vault's bytes) on stdout
  decrypt          a stored value on stdin -> plaintext on stdout
  inspect          a stored value on stdin -> JSON description on stdout (offline)
  check            DescribeKey plus an encrypt/decrypt round trip; JSON report on stdout

options:
  --config FILE    Vault configuration file (HCL or JSON) with a seal \"awskms\" stanza, in a
                   directory the host pre-opened (wasmtime run --dir DIR ...); without it the
                   seal is configured from the environment (VAULT_SEAL_TYPE=awskms,
                   VAULT_AWSKMS_SEAL_KEY_ID, AWS_REGION, AWS_ACCESS_KEY_ID, ...)
  --key-id ID      KMS key id, key ARN, alias/NAME or alias ARN (overrides kms_key_id)
  --region R       AWS region (overrides region)
  --endpoint URL   KMS endpoint, for VPC endpoints and local emulators (overrides endpoint)
  --aad TEXT       additional authenticated data for encrypt and decrypt
  --base64         read and write base64 text instead of raw bytes
  -v, --verbose    log the endpoint used to stderr
  -h, --help       print this help
  -V, --version    print the version

credentials: access_key/secret_key in the config file, or AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (the host passes them with --env).

exit status: 0 success, 1 the operation failed, 2 usage or configuration error (WASI 0.2 hosts
report every non-zero status as 1)";

/// The operation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Seal stdin.
    Encrypt,
    /// Unseal stdin.
    Decrypt,
    /// Describe stdin offline.
    Inspect,
    /// Check the key and the round trip.
    Check,
}

/// The parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `--config FILE`.
    pub config: Option<String>,
    /// `--key-id ID`.
    pub key_id: Option<String>,
    /// `--region R`.
    pub region: Option<String>,
    /// `--endpoint URL`.
    pub endpoint: Option<String>,
    /// `--aad TEXT`.
    pub aad: Option<String>,
    /// `--base64`.
    pub base64: bool,
    /// Number of `-v`.
    pub verbose: u8,
    /// The command; `None` with `help` or `version` set.
    pub command: Option<Command>,
    /// `--help` was given.
    pub help: bool,
    /// `--version` was given.
    pub version: bool,
}

/// A command line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (run 'kms-seal --help' for usage)", self.0)
    }
}

impl core::error::Error for UsageError {}

impl Args {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    /// [`UsageError`] naming the unknown option, the missing value or the missing command.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Args, UsageError> {
        let mut out = Args::default();
        let mut command: Option<String> = None;
        let mut extra: Option<String> = None;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |opt: &str| -> Result<String, UsageError> {
                match inline.clone() {
                    Some(v) => Ok(v),
                    None => it
                        .next()
                        .ok_or_else(|| UsageError(format!("option {opt} needs a value"))),
                }
            };
            match name.as_str() {
                "--config" => out.config = Some(value("--config")?),
                "--key-id" => out.key_id = Some(value("--key-id")?),
                "--region" => out.region = Some(value("--region")?),
                "--endpoint" => out.endpoint = Some(value("--endpoint")?),
                "--aad" => out.aad = Some(value("--aad")?),
                "--base64" => out.base64 = true,
                "-v" | "--verbose" => out.verbose = out.verbose.saturating_add(1),
                "-vv" => out.verbose = out.verbose.saturating_add(2),
                "-h" | "--help" => out.help = true,
                "-V" | "--version" => out.version = true,
                s if s.starts_with('-') && s.len() > 1 => {
                    return Err(UsageError(format!("unknown option {s}")));
                }
                _ if command.is_none() => command = Some(arg),
                _ => {
                    extra.get_or_insert(arg);
                }
            }
        }
        if out.help || out.version {
            return Ok(out);
        }
        let command = command.ok_or_else(|| {
            UsageError("missing command: encrypt, decrypt, inspect or check".into())
        })?;
        out.command = Some(match command.as_str() {
            "encrypt" | "decrypt" | "inspect" | "check" if extra.is_some() => {
                return Err(UsageError(format!(
                    "{command} reads stdin and takes no file arguments"
                )));
            }
            "encrypt" => Command::Encrypt,
            "decrypt" => Command::Decrypt,
            "inspect" => Command::Inspect,
            "check" => Command::Check,
            "rewrap" => {
                return Err(UsageError(
                    "rewrap replaces files in place and is not available in the wasm component: use the native kms-seal".into(),
                ));
            }
            other => return Err(UsageError(format!("unknown command '{other}'"))),
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, UsageError> {
        Args::parse(args.iter().map(|s| String::from(*s)))
    }

    #[test]
    fn options_before_and_after_the_command() {
        let a = parse(&["--region", "eu-west-1", "encrypt", "--base64", "--aad=ctx"]).unwrap();
        assert_eq!(a.command, Some(Command::Encrypt));
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(a.aad.as_deref(), Some("ctx"));
        assert!(a.base64);
    }

    #[test]
    fn usage_errors_name_the_problem() {
        assert!(parse(&[]).unwrap_err().0.contains("missing command"));
        assert!(parse(&["frob"]).unwrap_err().0.contains("unknown command"));
        assert!(parse(&["rewrap", "f"]).unwrap_err().0.contains("native"));
        assert!(
            parse(&["--nope", "encrypt"])
                .unwrap_err()
                .0
                .contains("--nope")
        );
        assert!(
            parse(&["encrypt", "--key-id"])
                .unwrap_err()
                .0
                .contains("needs a value")
        );
        assert!(parse(&["decrypt", "file"]).is_err());
    }

    #[test]
    fn help_and_version_need_no_command() {
        assert!(parse(&["--help"]).unwrap().help);
        assert!(parse(&["-V"]).unwrap().version);
    }
}
