//! Builds a raft snapshot of about `SNAPSHOT_MIB` MiB of storage entries (default 1024), the
//! way OpenBao writes one, against a moto started on 127.0.0.1, then runs `kms-seal snapshot
//! inspect`, `verify` and `rewrap` on it under `/usr/bin/time -v`, next to `gzip -dc` and
//! `gzip -dc | sha256sum` as the floor, and prints a markdown table: wall time, throughput
//! (MiB of state.bin per second) and peak RSS.
//!
//! `KMS_SEAL_BIN` names the binary to measure (scripts/bench-snapshot.sh builds the static
//! release-small one); `SNAPSHOT_DIR` where the files go (they are removed at the end).
//! Run it in a network namespace with only loopback, as the tests are.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use kms_seal_tests::cli;
use kms_seal_tests::moto::Moto;
use kms_seal_tests::snapshot::{self as snap, Entry, HashingCounter, Noise, Parts};
use sha2::{Digest, Sha256};

/// Size of each generated value (a barrier ciphertext of a few KiB).
const VALUE_LEN: usize = 4000;

fn main() {
    if let Err(e) = run() {
        eprintln!("snapshot-bench: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mib: u64 = std::env::var("SNAPSHOT_MIB")
        .ok()
        .map(|v| {
            v.parse()
                .map_err(|_| "SNAPSHOT_MIB is not a number".to_owned())
        })
        .transpose()?
        .unwrap_or(1024);
    let dir = PathBuf::from(
        std::env::var("SNAPSHOT_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string()),
    )
    .join(format!("kms-seal-snapshot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = bench(&dir, mib);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &Path, mib: u64) -> Result<(), String> {
    let moto = Moto::start_with(Default::default()).map_err(|e| e.to_string())?;
    let env = moto.seal_env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let seal = |plain: &[u8]| -> Result<Vec<u8>, String> {
        let out = cli::run(&["encrypt"], plain, &pairs);
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "kms-seal encrypt: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };

    // The OpenBao core entries, then generated barrier-like entries up to the size.
    let root = [0x5a; 32];
    let term_key = [0x33; 32];
    let mut head = [
        Entry::new(
            snap::KEYRING,
            snap::barrier_encrypt(
                &root,
                snap::KEYRING,
                &snap::keyring_json(&root, &term_key),
                [9; 12],
            ),
        ),
        Entry::new(snap::UNSEAL_KEYS, seal(&snap::unseal_keys_json(&root))?),
        Entry::new(snap::RECOVERY_KEY, seal(&[0x77; 32])?),
        Entry::new(
            snap::SEAL_CONFIG,
            br#"{"type":"awskms","secret_shares":1,"secret_threshold":1,"stored_shares":1}"#
                .to_vec(),
        ),
    ];
    head.sort_by(|a, b| a.key.cmp(&b.key));
    let head: Vec<u8> = head.iter().flat_map(Entry::record).collect();
    let target = mib << 20;
    let count = target.saturating_sub(head.len() as u64) / (VALUE_LEN as u64 + 40);

    let started = Instant::now();
    let mut counter = HashingCounter::default();
    io::copy(&mut State::new(&head, count), &mut counter).map_err(|e| e.to_string())?;
    let state_len = counter.len;
    let meta = snap::meta_json(1000, 2, state_len);
    let sums = snap::sums_text(
        &Sha256::digest(&meta).into(),
        &counter.hash.finalize().into(),
    );
    let sealed = seal(&sums)?;
    let file = dir.join("bench.snap");
    snap::write_archive(
        &file,
        Parts {
            meta: &meta,
            state: &mut State::new(&head, count),
            state_len,
            sums: &sums,
            sealed_sums: Some(&sealed),
        },
    )
    .map_err(|e| format!("cannot write the snapshot: {e}"))?;
    let gz_len = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
    eprintln!(
        "built {} ({} entries, state.bin {state_len} bytes, {gz_len} bytes gzip'd) in {:.1} s",
        file.display(),
        count + 4,
        started.elapsed().as_secs_f64()
    );

    let bin = cli::kms_seal_bin();
    let path = file.display().to_string();
    let out = dir.join("rewrapped.snap").display().to_string();
    let mut rows = Vec::new();
    let shell = |script: &str| -> Vec<String> { vec!["sh".into(), "-c".into(), script.into()] };
    rows.push((
        "`gzip -dc` (floor)",
        measure(&shell(&format!("gzip -dc '{path}' >/dev/null")), &[])?,
    ));
    rows.push((
        "`gzip -dc | sha256sum` (floor)",
        measure(
            &shell(&format!("gzip -dc '{path}' | sha256sum >/dev/null")),
            &[],
        )?,
    ));
    let b = bin.display().to_string();
    rows.push((
        "`snapshot inspect`",
        measure(
            &[b.clone(), "snapshot".into(), "inspect".into(), path.clone()],
            &[],
        )?,
    ));
    rows.push((
        "`snapshot verify`",
        measure(
            &[b.clone(), "snapshot".into(), "verify".into(), path.clone()],
            &pairs,
        )?,
    ));
    rows.push((
        "`snapshot rewrap` (2 reads + gzip write)",
        measure(
            &[
                b.clone(),
                "snapshot".into(),
                "rewrap".into(),
                path.clone(),
                out.clone(),
            ],
            &pairs,
        )?,
    ));
    let state_mib = state_len as f64 / f64::from(1 << 20);
    println!(
        "\n{} MiB state.bin ({} entries), {} MiB gzip'd, binary {}\n",
        state_mib.round(),
        count + 4,
        (gz_len as f64 / f64::from(1 << 20)).round(),
        bin.display()
    );
    println!("| operation | wall time | state.bin MiB/s | peak RSS |");
    println!("|---|---|---|---|");
    for (name, (secs, rss_kib)) in rows {
        println!(
            "| {name} | {secs:.2} s | {:.0} | {} |",
            state_mib / secs,
            if rss_kib > 0 {
                format!("{:.1} MiB", rss_kib as f64 / 1024.0)
            } else {
                "-".into()
            }
        );
    }
    Ok(())
}

/// Runs `argv` under `/usr/bin/time -v` with the test environment plus `env`; returns the
/// wall time and peak RSS in KiB.
fn measure(argv: &[String], env: &[(&str, &str)]) -> Result<(f64, u64), String> {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .args(argv)
        .env_clear()
        .envs(cli::base_env())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run /usr/bin/time: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{argv:?} failed: {err}"));
    }
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((secs, rss))
}

/// `state.bin`, generated: the head records, then `count` records of noise, in key order.
struct State<'a> {
    head: &'a [u8],
    count: u64,
    next: u64,
    noise: Noise,
    record: Vec<u8>,
    pos: usize,
}

impl<'a> State<'a> {
    fn new(head: &'a [u8], count: u64) -> Self {
        State {
            head,
            count,
            next: 0,
            noise: Noise(0x9e37_79b9_7f4a_7c15),
            record: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for State<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.head.is_empty() {
            let n = buf.len().min(self.head.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            return Ok(n);
        }
        if self.pos == self.record.len() {
            if self.next == self.count {
                return Ok(0);
            }
            let mut value = vec![0u8; VALUE_LEN];
            self.noise.fill(&mut value);
            let key = format!("logical/0f3a9c/{:012}", self.next);
            self.record = Entry::new(&key, value).record();
            self.pos = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.record.len() - self.pos);
        buf[..n].copy_from_slice(&self.record[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
