//! `kms-seal rewrap PATH...`: rewrites each file's stored value, or each seal-wrapped entry of
//! a storage tree, under the current key.
//!
//! - Files are read and checked first (a file with several hard links is reported, not split;
//!   up-to-date values are left alone; temporary files of an interrupted run are removed).
//! - The KMS calls then run through [`Host::run_jobs`] with at most `--jobs` in flight; an
//!   item that KMS still throttles after the seal's own retries goes back in the queue with
//!   fewer jobs in flight, a few times at most.
//! - Each result is written on the calling thread through the host's atomic replace, in the
//!   form it was read in (raw bytes, a Vault file-storage entry, base64 text): a kill at any
//!   moment leaves every file with its old or its new value, both decryptable.
//! - A progress bar on a terminal, one line per failure, a JSON summary on stdout.
//!   `--dry-run` lists what would be rewrapped and writes nothing.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::seal::SealError;

use super::read_stored_file;
use crate::args::{Args, DEFAULT_JOBS};
use crate::host::{Host, HostSeal, JobResult};
use crate::json_out::Json;
use crate::storage::Stored;
use crate::{Failure, one_line, tree};

/// How often one value may come back throttled before it counts as failed.
const MAX_THROTTLED: u32 = 4;

/// A value waiting for its KMS calls.
struct Pending {
    path: String,
    stored: Stored,
    throttled: u32,
}

/// Counts for the summary.
#[derive(Default)]
struct Counts {
    rewrapped: usize,
    up_to_date: usize,
    failed: usize,
    hard_linked: usize,
    other_files: usize,
    leftovers_removed: usize,
}

/// Rewraps `targets` (files or storage trees) and appends the JSON summary to `out`.
pub(crate) fn run<H: Host>(
    host: &mut H,
    seal: &HostSeal<H>,
    targets: &[String],
    args: &Args,
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    let aad = args.aad.as_deref().map(str::as_bytes);
    let key = seal.key_id();
    let mut counts = Counts::default();
    let mut first_error: Option<Failure> = None;

    let mut paths = Vec::new();
    for target in targets {
        if host.files().is_dir(target).unwrap_or(false) {
            let found = tree::walk(host.files(), target)?;
            counts.other_files += found.other_files;
            paths.extend(found.entries);
        } else {
            paths.push(target.clone());
        }
    }

    let mut progress = Progress::new(paths.len(), host.stderr_is_terminal() && !args.dry_run);
    let mut pending = Vec::new();
    for path in paths {
        if !args.dry_run {
            match host.remove_leftovers(&path) {
                Ok(n) => counts.leftovers_removed += n,
                Err(e) => host.write_stderr(&format!(
                    "kms-seal: warning: {}: cannot remove a temporary file of an earlier run: {}\n",
                    one_line(&path),
                    one_line(&e)
                )),
            }
        }
        match examine(host, seal, &path, args.base64) {
            Ok(Some(stored)) => pending.push(Pending {
                path,
                stored,
                throttled: 0,
            }),
            Ok(None) => {
                counts.up_to_date += 1;
                if args.verbose > 0 {
                    host.write_stderr(&format!(
                        "kms-seal: info: {}: already up to date\n",
                        one_line(&path)
                    ));
                }
                progress.advance(host);
            }
            Err(Refusal::HardLinks(n)) => {
                counts.hard_linked += 1;
                let e = Failure::Operation(format!(
                    "{path} has {n} hard links, not rewrapped (that would split them): rewrap \
                     one name, then link the others to it again"
                ));
                fail(host, &mut progress, &path, e, &mut first_error, &mut counts);
            }
            Err(Refusal::Failed(e)) => {
                fail(host, &mut progress, &path, e, &mut first_error, &mut counts);
            }
        }
    }

    let mut would_rewrap = Vec::new();
    if args.dry_run {
        for p in pending {
            host.write_stderr(&format!(
                "kms-seal: would rewrap {} under {key}\n",
                one_line(&p.path)
            ));
            would_rewrap.push(p.path);
        }
    } else {
        let jobs = args.jobs.unwrap_or(DEFAULT_JOBS);
        let work = |seal: &HostSeal<H>, mut item: Pending| match seal
            .rewrap_value(&mut item.stored.value.value, aad)
        {
            Ok(_) => JobResult::Done((item.path, Ok(item.stored))),
            Err(e) if is_throttling(&e) && item.throttled < MAX_THROTTLED => {
                item.throttled += 1;
                JobResult::Throttled(item)
            }
            Err(e) => JobResult::Done((item.path, Err(Failure::from(e)))),
        };
        let mut done = |(path, result): (String, Result<Stored, Failure>)| {
            let written = result.and_then(|stored| {
                let contents = encode(&stored, args.base64);
                host.replace_file(&path, &contents).map_err(|e| {
                    Failure::Operation(format!("cannot replace {path}: {e}; the file is unchanged"))
                })
            });
            match written {
                Ok(()) => {
                    counts.rewrapped += 1;
                    if args.verbose > 0 {
                        host.write_stderr(&format!(
                            "kms-seal: info: {}: rewrapped under {key}\n",
                            one_line(&path)
                        ));
                    }
                    progress.advance(host);
                }
                Err(e) => fail(host, &mut progress, &path, e, &mut first_error, &mut counts),
            }
        };
        H::run_jobs(seal, jobs, pending, &work, &mut done);
    }
    progress.clear(host);

    let verb = if args.dry_run {
        "to rewrap"
    } else {
        "rewrapped"
    };
    let rewrapped = if args.dry_run {
        would_rewrap.len()
    } else {
        counts.rewrapped
    };
    let summary = format!(
        "{rewrapped} {verb}, {} already up to date, {} failed, {} other files untouched (key \
         {key})",
        counts.up_to_date, counts.failed, counts.other_files
    );
    match first_error {
        None => {
            host.write_stderr(&format!("kms-seal: rewrap: {summary}\n"));
            let count = |n: usize| Json::Uint(n as u64);
            let listed: Vec<Json<'_>> = would_rewrap.iter().map(|p| Json::Str(p)).collect();
            let mut members = Vec::from([
                ("dry_run", Json::Bool(args.dry_run)),
                ("failed", count(counts.failed)),
                ("hard_linked", count(counts.hard_linked)),
                ("key_arn", Json::Str(&key)),
                ("leftovers_removed", count(counts.leftovers_removed)),
                ("other_files", count(counts.other_files)),
                ("rewrapped", count(counts.rewrapped)),
                ("up_to_date", count(counts.up_to_date)),
            ]);
            if args.dry_run {
                members.push(("would_rewrap", Json::Array(&listed)));
            }
            let text = Json::Object(&members).compact();
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

/// Why a file is not rewrapped.
enum Refusal {
    /// It has this many hard links.
    HardLinks(u64),
    /// It cannot be read or decoded.
    Failed(Failure),
}

/// Reads and checks one file: `None` when its value is already under the current key.
fn examine<H: Host>(
    host: &H,
    seal: &HostSeal<H>,
    path: &str,
    base64: bool,
) -> Result<Option<Stored>, Refusal> {
    let stored = read_stored_file(host.files(), path, base64).map_err(Refusal::Failed)?;
    if seal.is_value_up_to_date(&stored.value.value) {
        return Ok(None);
    }
    match host.files().hard_links(path) {
        Ok(n) if n > 1 => Err(Refusal::HardLinks(n)),
        Ok(_) => Ok(Some(stored)),
        Err(e) => Err(Refusal::Failed(Failure::Operation(format!(
            "cannot check the links of {path}: {e}"
        )))),
    }
}

/// The bytes to write for a rewrapped value, in the form it was read in.
fn encode(stored: &Stored, base64: bool) -> Vec<u8> {
    let bytes = stored.encode();
    if base64 {
        let mut text = STANDARD.encode(&bytes).into_bytes();
        text.push(b'\n');
        text
    } else {
        bytes
    }
}

/// Whether KMS throttled the call (after the seal's own retries).
fn is_throttling(e: &SealError) -> bool {
    e.service_error().is_some_and(|s| s.is_throttling())
}

/// Prints the error line of one file and counts it.
fn fail<H: Host>(
    host: &mut H,
    progress: &mut Progress,
    path: &str,
    e: Failure,
    first_error: &mut Option<Failure>,
    counts: &mut Counts,
) {
    counts.failed += 1;
    progress.clear(host);
    host.write_stderr(&format!(
        "kms-seal: {}: {}\n",
        one_line(path),
        one_line(&e.to_string())
    ));
    first_error.get_or_insert(e);
    progress.advance(host);
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
