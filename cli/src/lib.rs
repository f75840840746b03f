//! The one command line of kms-seal and the one Vault seal-configuration loader, written once
//! for every host.
//!
//! - [`config`]: turns Vault configuration text (HCL or JSON), the environment, flags and a
//!   host's settings map into the seal's [`AwsKmsSealConfig`](kms_seal_core::config::AwsKmsSealConfig),
//!   with every rule and error message of Vault's `seal "awskms"` stanza. The native CLI, the
//!   WASI command, the WASI plugin's `configure` and the OpenBao plugin's `SetConfig` call it.
//! - [`run`]: the `kms-seal` tool (`encrypt`, `decrypt`, `inspect`, `check`, `rewrap`):
//!   argument parsing, commands, output formats, one-line errors and exit classes, over a
//!   small [`Host`] trait (standard streams, files and atomic replace, environment, clock, the
//!   seal's transport). The native binary and the WASI command are thin mains over it.
//!
//! The crate is `no_std` with `alloc`, so that the WASI components stay small; it does no I/O
//! of its own.
//!
//! Exit status: 0 on success, 1 when the operation failed (KMS, credentials, integrity,
//! transport), 2 for usage or configuration errors. Errors are one line on stderr that says
//! what to do next; stdout stays empty on failure (output is kept until the command has
//! succeeded); no secret, data key or plaintext appears in an error or log line.
#![no_std]

extern crate alloc;

pub mod args;
mod commands;
pub mod config;
pub mod host;
mod json_out;
pub mod settings;
#[cfg(feature = "snapshot")]
pub mod snapshot;
mod storage;
mod tree;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::seal::{ErrorKind, SealError};

#[cfg(feature = "snapshot")]
pub use args::SnapshotCommand;
pub use args::{Args, Command, USAGE, UsageError};
#[cfg(feature = "snapshot")]
pub use host::{ByteSink, ByteSource, SnapshotSink};
pub use host::{
    DirEntry, EntryKind, FileError, Files, Host, HostSeal, JobResult, NoFiles, StdinError,
    is_temporary_name,
};

/// Largest input read from stdin or from a file given to `rewrap` (64 MiB).
pub const MAX_INPUT: u64 = 64 << 20;

/// Exit status for success.
pub const EXIT_OK: i32 = 0;
/// Exit status when the operation failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit status for usage and configuration errors.
pub const EXIT_USAGE: i32 = 2;

/// Runs the tool with these arguments (without the program name) on `host`, and returns the
/// exit status.
pub fn run<'a, H: Host>(host: &mut H, args: impl IntoIterator<Item = &'a str>) -> i32 {
    let args = match Args::parse(args) {
        Ok(a) => a,
        Err(e) => return report(host, &Failure::Usage(e.to_string())),
    };
    if args.help {
        return finish(host, format!("{USAGE}\n").as_bytes());
    }
    if args.version {
        let note = host.version_note();
        let sep = if note.is_empty() { "" } else { " " };
        let line = format!("kms-seal {}{sep}{note}\n", env!("CARGO_PKG_VERSION"));
        return finish(host, line.as_bytes());
    }
    host.set_verbosity(args.verbose);
    let mut out = Vec::new();
    match commands::execute(host, &args, &mut out) {
        Ok(()) => finish(host, &out),
        Err(f) => report(host, &f),
    }
}

/// Writes the command's output; a failing stdout is an operation failure.
fn finish<H: Host>(host: &mut H, out: &[u8]) -> i32 {
    match host.write_stdout(out) {
        Ok(()) => EXIT_OK,
        Err(e) => report(
            host,
            &Failure::Operation(format!("cannot write stdout: {e}")),
        ),
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

/// Writes the one error line and returns the exit status of the failure's class.
fn report<H: Host>(host: &mut H, failure: &Failure) -> i32 {
    host.write_stderr(&format!(
        "kms-seal: error: {}\n",
        one_line(&failure.to_string())
    ));
    match failure {
        Failure::Usage(_) | Failure::Config(_) => EXIT_USAGE,
        Failure::Operation(_) => EXIT_FAILED,
    }
}

/// `text` with control characters replaced by spaces, so a message stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
