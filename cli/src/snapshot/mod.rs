//! Raft snapshots (`bao operator raft snapshot save`), streamed: the tar archive (after the
//! host's gunzip) of `meta.json`, `state.bin`, `SHA256SUMS` and `SHA256SUMS.sealed`, read one
//! block and one storage entry at a time, with every file hashed as it passes.
//!
//! Facts from openbao internal/physical/raft (snapshot/archive.go, fsm.go, varint.go, raft.go):
//! the files are written in that order; the sums are `<hex>  <name>` lines in any order;
//! `SHA256SUMS.sealed` is the same lines sealed by the seal (`Access.Encrypt` without AAD,
//! stored as a bare `BlobInfo`); `state.bin` is the FSM's `data` bucket in key order. The
//! reader accepts the files in any order, as OpenBao does, and refuses any other file.

pub mod meta;
pub mod state;
pub mod sums;
pub mod tar;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha256};

pub use crate::host::{ByteSink, ByteSource, SnapshotSink};
pub use meta::Meta;
pub use state::{RecordReader, StorageEntryRef};
pub use sums::Sums;
pub use tar::{Header, TarReader, TarWriter};

/// The four files of a snapshot.
pub const META: &str = "meta.json";
/// The storage entries.
pub const STATE: &str = "state.bin";
/// The SHA-256 sums of `meta.json` and `state.bin`.
pub const SUMS: &str = "SHA256SUMS";
/// The sums sealed by the seal.
pub const SEALED_SUMS: &str = "SHA256SUMS.sealed";

/// Largest `meta.json`, `SHA256SUMS` or `SHA256SUMS.sealed` (OpenBao reads at most 8 KiB).
pub const MAX_SMALL_FILE: u64 = 8192;

/// Why a snapshot could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The host could not read the stream (I/O, corrupt or truncated gzip).
    Source(String),
    /// The host could not write the stream.
    Sink(String),
    /// The stream ends inside a tar block or file.
    Truncated,
    /// The tar layer is malformed.
    Tar(&'static str),
    /// A `state.bin` record is malformed.
    Record(&'static str),
    /// `SHA256SUMS` is malformed.
    Sums(&'static str),
    /// `meta.json` is malformed.
    Meta(String),
    /// A small file is larger than its limit in bytes.
    TooLarge(String, u64),
    /// A file the snapshot must have is missing.
    Missing(&'static str),
    /// A file that does not belong in a snapshot.
    Unexpected(String),
    /// A file appears twice.
    Duplicate(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Source(m) => write!(f, "cannot read the snapshot: {m}"),
            SnapshotError::Sink(m) => write!(f, "cannot write the snapshot: {m}"),
            SnapshotError::Truncated => f.write_str("the snapshot is truncated"),
            SnapshotError::Tar(m) => write!(f, "not a raft snapshot archive: {m}"),
            SnapshotError::Record(m) => write!(f, "state.bin is malformed: {m}"),
            SnapshotError::Sums(m) => write!(f, "SHA256SUMS is malformed: {m}"),
            SnapshotError::Meta(m) => write!(f, "meta.json is malformed: {m}"),
            SnapshotError::TooLarge(name, limit) => {
                write!(f, "{name} is larger than {limit} bytes")
            }
            SnapshotError::Missing(name) => write!(f, "the snapshot has no {name}"),
            SnapshotError::Unexpected(name) => {
                write!(
                    f,
                    "unexpected file {name:?} in the snapshot (OpenBao refuses it too)"
                )
            }
            SnapshotError::Duplicate(name) => write!(f, "{name} appears twice in the snapshot"),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// What a pass over a snapshot calls as it streams.
pub trait Visitor {
    /// `meta.json`, when it has been read.
    ///
    /// # Errors
    /// Stops the pass.
    fn meta(&mut self, _header: &Header, _text: &[u8], _meta: &Meta) -> Result<(), SnapshotError> {
        Ok(())
    }

    /// The start of `state.bin`.
    ///
    /// # Errors
    /// Stops the pass.
    fn state_start(&mut self, _header: &Header) -> Result<(), SnapshotError> {
        Ok(())
    }

    /// One record of `state.bin`: its bytes (length prefix included; the message starts at
    /// `prefix`) and its parsed entry.
    ///
    /// # Errors
    /// Stops the pass.
    fn record(
        &mut self,
        _record: &[u8],
        _prefix: usize,
        _entry: &StorageEntryRef<'_>,
    ) -> Result<(), SnapshotError> {
        Ok(())
    }
}

/// What one pass found.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `meta.json`'s fields.
    pub meta: Meta,
    /// `meta.json`'s text.
    pub meta_text: Vec<u8>,
    /// The archive header of each file, in archive order.
    pub headers: Vec<Header>,
    /// SHA-256 of `meta.json`.
    pub meta_sha: [u8; 32],
    /// SHA-256 of `state.bin`.
    pub state_sha: [u8; 32],
    /// Length of `state.bin`.
    pub state_bytes: u64,
    /// Number of storage entries.
    pub entries: u64,
    /// Entries with `seal_wrap` set.
    pub seal_wrap_flagged: u64,
    /// `SHA256SUMS`, parsed.
    pub sums: Sums,
    /// `SHA256SUMS.sealed`, when present.
    pub sealed_sums: Option<Vec<u8>>,
}

impl Summary {
    /// Whether `SHA256SUMS` lists exactly `meta.json` and `state.bin` with their digests.
    pub fn sums_match(&self) -> bool {
        self.sums.matches(&self.meta_sha, &self.state_sha)
    }

    /// The header of the file `name`.
    pub fn header(&self, name: &str) -> Option<&Header> {
        self.headers.iter().find(|h| h.name == name)
    }
}

/// Streams the tar archive from `source` once, calling `visitor`.
///
/// # Errors
/// [`SnapshotError`]: a malformed or truncated archive, a missing, repeated or unexpected
/// file, or the visitor's error.
pub fn read_archive<S: ByteSource, V: Visitor>(
    source: S,
    visitor: &mut V,
) -> Result<Summary, SnapshotError> {
    let mut tar = TarReader::new(source);
    let mut meta: Option<(Meta, Vec<u8>, [u8; 32])> = None;
    let mut state: Option<([u8; 32], u64, u64, u64)> = None;
    let mut sums: Option<Sums> = None;
    let mut sealed_sums: Option<Vec<u8>> = None;
    let mut headers: Vec<Header> = Vec::new();
    while let Some(header) = tar.next_file()? {
        if headers.iter().any(|h| h.name == header.name) {
            return Err(SnapshotError::Duplicate(header.name));
        }
        match header.name.as_str() {
            META => {
                let text = tar.read_small(META, MAX_SMALL_FILE)?;
                let parsed = Meta::parse(&text)?;
                visitor.meta(&header, &text, &parsed)?;
                let sha = Sha256::digest(&text).into();
                meta = Some((parsed, text, sha));
            }
            STATE => {
                visitor.state_start(&header)?;
                let mut records = RecordReader::new(&mut tar);
                let mut record = Vec::new();
                let (mut entries, mut flagged) = (0u64, 0u64);
                while let Some(prefix) = records.next_record(&mut record)? {
                    let entry = StorageEntryRef::parse(&record[prefix..])?;
                    entries += 1;
                    flagged += u64::from(entry.seal_wrap);
                    visitor.record(&record, prefix, &entry)?;
                }
                let (sha, bytes) = records.finish();
                state = Some((sha, bytes, entries, flagged));
            }
            SUMS => {
                sums = Some(Sums::parse(&tar.read_small(SUMS, MAX_SMALL_FILE)?)?);
            }
            SEALED_SUMS => {
                sealed_sums = Some(tar.read_small(SEALED_SUMS, MAX_SMALL_FILE)?);
            }
            _ => return Err(SnapshotError::Unexpected(header.name)),
        }
        headers.push(header);
    }
    let (meta, meta_text, meta_sha) = meta.ok_or(SnapshotError::Missing(META))?;
    let (state_sha, state_bytes, entries, seal_wrap_flagged) =
        state.ok_or(SnapshotError::Missing(STATE))?;
    let sums = sums.ok_or(SnapshotError::Missing(SUMS))?;
    Ok(Summary {
        meta,
        meta_text,
        headers,
        meta_sha,
        state_sha,
        state_bytes,
        entries,
        seal_wrap_flagged,
        sums,
        sealed_sums,
    })
}
