//! The command line of `kms-seal`, parsed with getargs (no_std, no allocation of its own).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use getargs::{Arg, Options};

/// The usage text, with the `snapshot` lines where the build has them.
macro_rules! usage {
    ($snapshot:literal) => {
        concat!(
            "\
usage: kms-seal [OPTIONS] COMMAND

Seal and unseal HashiCorp Vault / OpenBao values with AWS KMS (the awskms seal).

commands:
  encrypt          plaintext on stdin -> a bare BlobInfo (Vault's bytes) on stdout
  decrypt [FILE]   a stored value (stdin or FILE) -> plaintext on stdout
  inspect [PATH]   a stored value (stdin or FILE) or a storage tree DIR -> JSON (offline)
  check            DescribeKey plus an encrypt/decrypt round trip; JSON report on stdout
  rewrap PATH...   rewrite each FILE, or the seal-wrapped entries of each DIR, under the
                   current key, atomically; JSON summary on stdout
",
            $snapshot,
            "
options:
  --config FILE    Vault configuration file (HCL or JSON) with a seal \"awskms\" stanza, or a
                   directory of them; without it the seal is configured from the environment
                   (VAULT_SEAL_TYPE=awskms, VAULT_AWSKMS_SEAL_KEY_ID, AWS_REGION, ...)
  --key-id ID      KMS key id, key ARN, alias/NAME or alias ARN (overrides kms_key_id)
  --region R       AWS region (overrides region)
  --endpoint URL   KMS endpoint, for VPC endpoints and local emulators (overrides endpoint)
  --aad TEXT       additional authenticated data for encrypt, decrypt and rewrap
  --base64         read and write base64 text instead of raw bytes
  --jobs N         rewrap: KMS calls in flight (default 8)
  --dry-run        rewrap: list what would change, write nothing
  -v, --verbose    log the credential provider and endpoint used to stderr (-vv: debug)
  -h, --help       print this help
  -V, --version    print the version

exit status: 0 success, 1 the operation failed, 2 usage or configuration error"
        )
    };
}

/// Usage text printed by `--help`.
#[cfg(feature = "snapshot")]
pub const USAGE: &str = usage!(
    "  snapshot inspect FILE     a raft snapshot -> JSON description (offline)
  snapshot verify FILE      prove a raft snapshot opens with the configured KMS key
  snapshot rewrap IN OUT    copy a raft snapshot with its sealed items under the current key
"
);

/// Usage text printed by `--help` (this build has no `snapshot` commands).
#[cfg(not(feature = "snapshot"))]
pub const USAGE: &str = usage!("");

/// KMS calls `rewrap` keeps in flight without `--jobs`: KMS's shared request quota for
/// cryptographic operations is thousands per second, and 8 calls at 5-30 ms latency finish a
/// thousand values in a few seconds without coming near it.
pub const DEFAULT_JOBS: usize = 8;

/// Most `--jobs` accepted.
pub const MAX_JOBS: usize = 256;

/// The operation to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Seal stdin.
    Encrypt,
    /// Unseal stdin, or the file.
    Decrypt(Option<String>),
    /// Describe stdin, the file or the storage tree offline.
    Inspect(Option<String>),
    /// Check the key and the round trip.
    Check,
    /// Rewrap the files.
    Rewrap(Vec<String>),
    /// A raft snapshot command.
    #[cfg(feature = "snapshot")]
    Snapshot(SnapshotCommand),
}

/// `kms-seal snapshot ...`.
#[cfg(feature = "snapshot")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotCommand {
    /// `snapshot inspect FILE`.
    Inspect(String),
    /// `snapshot verify FILE`.
    Verify(String),
    /// `snapshot rewrap IN OUT`.
    Rewrap {
        /// The snapshot read.
        input: String,
        /// The snapshot written (must not exist).
        output: String,
    },
}

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// `--jobs N` (at least 1); `None`: [`DEFAULT_JOBS`].
    pub jobs: Option<usize>,
    /// `--dry-run`.
    pub dry_run: bool,
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
    /// Parses the arguments after the program name. Options may come before or after the
    /// command; `--` ends the options.
    ///
    /// # Errors
    /// [`UsageError`] naming the unknown option, the missing value or the missing command.
    pub fn parse<'a, I: IntoIterator<Item = &'a str>>(args: I) -> Result<Args, UsageError> {
        let mut out = Args::default();
        let mut positionals: Vec<&str> = Vec::new();
        let mut opts = Options::new(args.into_iter());
        loop {
            let arg = match opts.next_arg() {
                Ok(Some(arg)) => arg,
                Ok(None) => break,
                Err(e) => return Err(usage_error(&e)),
            };
            let mut value = |name: &str| -> Result<String, UsageError> {
                opts.value()
                    .map(ToString::to_string)
                    .map_err(|_| UsageError(format!("option {name} needs a value")))
            };
            match arg {
                Arg::Long("config") => out.config = Some(value("--config")?),
                Arg::Long("key-id") => out.key_id = Some(value("--key-id")?),
                Arg::Long("region") => out.region = Some(value("--region")?),
                Arg::Long("endpoint") => out.endpoint = Some(value("--endpoint")?),
                Arg::Long("aad") => out.aad = Some(value("--aad")?),
                Arg::Long("base64") => out.base64 = true,
                Arg::Long("dry-run") => out.dry_run = true,
                Arg::Long("jobs") => {
                    let text = value("--jobs")?;
                    out.jobs = Some(
                        text.parse::<usize>()
                            .ok()
                            .filter(|n| (1..=MAX_JOBS).contains(n))
                            .ok_or_else(|| {
                                UsageError(format!(
                                    "--jobs needs a number from 1 to {MAX_JOBS}, not '{text}'"
                                ))
                            })?,
                    );
                }
                Arg::Short('v') | Arg::Long("verbose") => {
                    out.verbose = out.verbose.saturating_add(1);
                }
                Arg::Short('h') | Arg::Long("help") => out.help = true,
                Arg::Short('V') | Arg::Long("version") => out.version = true,
                Arg::Short(c) => return Err(UsageError(format!("unknown option -{c}"))),
                Arg::Long(name) => return Err(UsageError(format!("unknown option --{name}"))),
                Arg::Positional(p) => positionals.push(p),
            }
        }
        if out.help || out.version {
            return Ok(out);
        }
        let (command, files) = positionals.split_first().ok_or_else(|| {
            UsageError("missing command: encrypt, decrypt, inspect, check or rewrap".into())
        })?;
        out.command = Some(match *command {
            "encrypt" | "check" if !files.is_empty() => {
                return Err(UsageError(format!(
                    "{command} reads stdin and takes no file arguments"
                )));
            }
            "decrypt" | "inspect" if files.len() > 1 => {
                return Err(UsageError(format!(
                    "{command} takes one FILE at most (or reads stdin)"
                )));
            }
            "encrypt" => Command::Encrypt,
            "decrypt" => Command::Decrypt(files.first().map(ToString::to_string)),
            "inspect" => Command::Inspect(files.first().map(ToString::to_string)),
            "check" => Command::Check,
            "rewrap" if files.is_empty() => {
                return Err(UsageError(
                    "rewrap needs at least one FILE or storage tree DIR".into(),
                ));
            }
            "rewrap" => Command::Rewrap(files.iter().map(ToString::to_string).collect()),
            #[cfg(feature = "snapshot")]
            "snapshot" => Command::Snapshot(match files {
                ["inspect", file] => SnapshotCommand::Inspect((*file).into()),
                ["verify", file] => SnapshotCommand::Verify((*file).into()),
                ["rewrap", input, output] => SnapshotCommand::Rewrap {
                    input: (*input).into(),
                    output: (*output).into(),
                },
                _ => {
                    return Err(UsageError(
                        "snapshot needs: inspect FILE, verify FILE or rewrap IN OUT".into(),
                    ));
                }
            }),
            #[cfg(not(feature = "snapshot"))]
            "snapshot" => {
                return Err(UsageError(
                    "snapshot is not in this build; run the native kms-seal binary".into(),
                ));
            }
            other => return Err(UsageError(format!("unknown command '{other}'"))),
        });
        Ok(out)
    }
}

fn usage_error(e: &getargs::Error<&str>) -> UsageError {
    match e {
        getargs::Error::RequiresValue(opt) => UsageError(format!("option {opt} needs a value")),
        getargs::Error::DoesNotRequireValue(opt) => {
            UsageError(format!("option {opt} takes no value"))
        }
        _ => UsageError(format!("cannot parse the arguments: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(args: &[&str]) -> Result<Args, UsageError> {
        Args::parse(args.iter().copied())
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
    fn rewrap_takes_files() {
        let a = parse(&["-vv", "rewrap", "a", "b", "--", "-c"]).unwrap();
        assert_eq!(
            a.command,
            Some(Command::Rewrap(vec!["a".into(), "b".into(), "-c".into()]))
        );
        assert_eq!(a.verbose, 2);
        assert!(parse(&["rewrap"]).is_err());
    }

    #[test]
    #[cfg(feature = "snapshot")]
    fn snapshot_subcommands() {
        assert_eq!(
            parse(&["snapshot", "rewrap", "a", "b"]).unwrap().command,
            Some(Command::Snapshot(SnapshotCommand::Rewrap {
                input: "a".into(),
                output: "b".into()
            }))
        );
        assert_eq!(
            parse(&["snapshot", "verify", "a"]).unwrap().command,
            Some(Command::Snapshot(SnapshotCommand::Verify("a".into())))
        );
        assert!(parse(&["snapshot", "inspect"]).is_err());
        assert!(parse(&["snapshot", "rewrap", "a"]).is_err());
        assert!(parse(&["snapshot", "frob", "a"]).is_err());
    }

    #[test]
    fn usage_errors_name_the_problem() {
        assert!(parse(&[]).unwrap_err().0.contains("missing command"));
        assert!(parse(&["frob"]).unwrap_err().0.contains("unknown command"));
        assert_eq!(
            parse(&["--nope", "encrypt"]).unwrap_err().0,
            "unknown option --nope"
        );
        assert_eq!(
            parse(&["encrypt", "--key-id"]).unwrap_err().0,
            "option --key-id needs a value"
        );
        assert_eq!(
            parse(&["encrypt", "--base64=yes"]).unwrap_err().0,
            "option --base64 takes no value"
        );
        assert!(parse(&["decrypt", "a", "b"]).is_err());
        assert!(parse(&["encrypt", "file"]).is_err());
        assert!(
            parse(&["rewrap", "--jobs", "0", "d"])
                .unwrap_err()
                .0
                .contains("1 to 256")
        );
        assert!(parse(&["rewrap", "--jobs=x", "d"]).is_err());
        assert_eq!(
            parse(&["-x", "encrypt"]).unwrap_err().to_string(),
            "unknown option -x (run 'kms-seal --help' for usage)"
        );
    }

    #[test]
    fn decrypt_and_inspect_take_one_path_rewrap_takes_jobs_and_dry_run() {
        let a = parse(&["decrypt", "f"]).unwrap();
        assert_eq!(a.command, Some(Command::Decrypt(Some("f".into()))));
        assert_eq!(
            parse(&["inspect"]).unwrap().command,
            Some(Command::Inspect(None))
        );
        let a = parse(&["rewrap", "--jobs", "3", "--dry-run", "d"]).unwrap();
        assert_eq!(a.jobs, Some(3));
        assert!(a.dry_run);
    }

    #[test]
    fn help_and_version_need_no_command() {
        assert!(parse(&["--help"]).unwrap().help);
        assert!(parse(&["-V"]).unwrap().version);
    }
}
