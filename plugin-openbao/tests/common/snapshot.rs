//! The storage entries of an OpenBao raft snapshot (`bao operator raft snapshot save FILE`).
//!
//! A snapshot is a gzip'd tar holding `meta.json`, `state.bin`, `SHA256SUMS` and
//! `SHA256SUMS.sealed`. Python's `tarfile` (moto's interpreter is there anyway) takes
//! `state.bin` out; `state.bin` is a concatenation of records `uvarint(len) || StorageEntry`
//! with `StorageEntry { 1 key string, 2 value bytes, 3 seal_wrap bool }` (openbao
//! internal/physical/raft), read here.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

const EXTRACT: &str = r#"
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    names = t.getnames()
    for want in ("meta.json", "state.bin", "SHA256SUMS", "SHA256SUMS.sealed"):
        if want not in names:
            sys.exit("snapshot has no %s: %r" % (want, names))
    sys.stdout.buffer.write(t.extractfile("state.bin").read())
"#;

/// Every storage entry of the snapshot, by key.
///
/// # Errors
/// When Python cannot read the archive, or `state.bin` is not a sequence of length-prefixed
/// `StorageEntry` messages.
pub fn storage_entries(snapshot: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .arg("-c")
        .arg(EXTRACT)
        .arg(snapshot)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python} to read the snapshot: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot read the raft snapshot {}: {}",
            snapshot.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_state(&out.stdout)
}

/// Parses `state.bin`.
///
/// # Errors
/// On a truncated record, a malformed message, a key that is not UTF-8, or an entry without
/// a key.
pub fn parse_state(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut entries = BTreeMap::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = usize::try_from(read_uvarint(bytes, &mut pos)?)
            .map_err(|_| "record length does not fit in memory".to_owned())?;
        let end = pos
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| format!("record at byte {pos} is truncated ({len} bytes announced)"))?;
        let (key, value) = storage_entry(&bytes[pos..end])?;
        entries.insert(key, value);
        pos = end;
    }
    Ok(entries)
}

fn storage_entry(msg: &[u8]) -> Result<(String, Vec<u8>), String> {
    let mut key = None;
    let mut value = Vec::new();
    let mut pos = 0;
    while pos < msg.len() {
        let tag = read_uvarint(msg, &mut pos)?;
        match (tag >> 3, tag & 7) {
            (field, 2) => {
                let len = usize::try_from(read_uvarint(msg, &mut pos)?)
                    .map_err(|_| "field length does not fit in memory".to_owned())?;
                let end = pos
                    .checked_add(len)
                    .filter(|&end| end <= msg.len())
                    .ok_or_else(|| format!("field {field} is truncated"))?;
                let data = &msg[pos..end];
                pos = end;
                match field {
                    1 => {
                        key = Some(
                            String::from_utf8(data.to_vec())
                                .map_err(|_| "a storage key is not UTF-8".to_owned())?,
                        );
                    }
                    2 => value = data.to_vec(),
                    _ => {}
                }
            }
            (_, 0) => {
                read_uvarint(msg, &mut pos)?;
            }
            (_, 1) => pos += 8,
            (_, 5) => pos += 4,
            (field, wire) => {
                return Err(format!("StorageEntry field {field} has wire type {wire}"));
            }
        }
    }
    if pos > msg.len() {
        return Err("a fixed-size field is truncated".to_owned());
    }
    let key = key.ok_or_else(|| "a StorageEntry has no key".to_owned())?;
    Ok((key, value))
}

fn read_uvarint(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| format!("varint truncated at byte {pos}"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("varint longer than 10 bytes before byte {pos}"))
}
