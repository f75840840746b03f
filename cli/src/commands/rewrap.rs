//! `kms-seal rewrap FILE...`: rewrites each file's stored value under the current key, through
//! the host's atomic replace (a crash leaves the old or the new value, never a mix), with a
//! progress bar on a terminal and a JSON summary.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{decode_base64, parse_value};
use crate::args::Args;
use crate::host::{FileError, Host, HostSeal};
use crate::json_out::Json;
use crate::{Failure, MAX_INPUT, one_line};

/// What happened to one file.
enum Outcome {
    Rewrapped,
    UpToDate,
}

/// Rewraps `files` and appends the JSON summary to `out`.
pub(crate) fn run<H: Host>(
    host: &mut H,
    seal: &HostSeal<H>,
    files: &[String],
    args: &Args,
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    let aad = args.aad.as_deref().map(str::as_bytes);
    let key = seal.key_id();
    let mut progress = Progress::new(files.len(), host.stderr_is_terminal());
    let (mut rewrapped, mut up_to_date, mut failed) = (0usize, 0usize, 0usize);
    let mut first_error = None;
    for path in files {
        match rewrap_file(host, seal, path, args.base64, aad) {
            Ok(Outcome::Rewrapped) => {
                rewrapped += 1;
                if args.verbose > 0 {
                    host.write_stderr(&format!(
                        "kms-seal: info: {}: rewrapped under {key}\n",
                        one_line(path)
                    ));
                }
            }
            Ok(Outcome::UpToDate) => {
                up_to_date += 1;
                if args.verbose > 0 {
                    host.write_stderr(&format!(
                        "kms-seal: info: {}: already up to date\n",
                        one_line(path)
                    ));
                }
            }
            Err(e) => {
                failed += 1;
                progress.clear(host);
                host.write_stderr(&format!(
                    "kms-seal: {}: {}\n",
                    one_line(path),
                    one_line(&e.to_string())
                ));
                first_error.get_or_insert(e);
            }
        }
        progress.advance(host);
    }
    progress.clear(host);
    let summary = format!(
        "{rewrapped} rewrapped, {up_to_date} already up to date, {failed} failed (key {key})"
    );
    match first_error {
        None => {
            host.write_stderr(&format!("kms-seal: rewrap: {summary}\n"));
            let count = |n: usize| Json::Uint(n as u64);
            let text = Json::Object(&[
                ("failed", count(failed)),
                ("key_arn", Json::Str(&key)),
                ("rewrapped", count(rewrapped)),
                ("up_to_date", count(up_to_date)),
            ])
            .compact();
            out.extend_from_slice(text.as_bytes());
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

fn rewrap_file<H: Host>(
    host: &mut H,
    seal: &HostSeal<H>,
    path: &str,
    base64: bool,
    aad: Option<&[u8]>,
) -> Result<Outcome, Failure> {
    let raw = host
        .files()
        .read_file(path, MAX_INPUT)
        .map_err(|e| match e {
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
    let mut value = parse_value(&bytes, path)?;

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
    host.replace_file(path, &contents).map_err(|e| {
        Failure::Operation(format!("cannot replace {path}: {e}; the file is unchanged"))
    })?;
    Ok(Outcome::Rewrapped)
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    const WIDTH: usize = 30;

    fn new(total: usize, enabled: bool) -> Self {
        Progress {
            total,
            done: 0,
            enabled,
        }
    }

    fn advance<H: Host>(&mut self, host: &mut H) {
        self.done = (self.done + 1).min(self.total);
        if !self.enabled {
            return;
        }
        let filled = (self.done * Self::WIDTH)
            .checked_div(self.total)
            .unwrap_or(Self::WIDTH);
        host.write_stderr(&format!(
            "\r[{}{}] {}/{}",
            "#".repeat(filled),
            " ".repeat(Self::WIDTH - filled),
            self.done,
            self.total
        ));
    }

    /// Clears the bar so that the next line starts clean.
    fn clear<H: Host>(&self, host: &mut H) {
        if self.enabled {
            host.write_stderr(&format!("\r{}\r", " ".repeat(50)));
        }
    }
}
