//! `state.bin`: the raft FSM's storage entries, each `uvarint(len) || StorageEntry`, with
//! `StorageEntry { 1 key string, 2 value bytes, 3 seal_wrap bool }` (openbao
//! internal/physical/raft: fsm.go writes them in key order through varint.go's delimited
//! writer).

use alloc::vec::Vec;
use core::ops::Range;

use sha2::{Digest, Sha256};

use super::tar::TarReader;
use super::{ByteSource, SnapshotError};

/// Largest record accepted (a raft entry is at most a few MiB).
pub const MAX_RECORD: usize = 64 << 20;

/// One storage entry, borrowed from its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageEntryRef<'a> {
    /// The storage path.
    pub key: &'a str,
    /// The stored bytes.
    pub value: &'a [u8],
    /// The entry's `seal_wrap` flag.
    pub seal_wrap: bool,
    /// Where the value field (tag, length and bytes) sits in the message.
    pub value_field: Option<Range<usize>>,
}

impl<'a> StorageEntryRef<'a> {
    /// Parses one `StorageEntry` message (proto3: unknown fields skipped, last value wins).
    ///
    /// # Errors
    /// [`SnapshotError::Record`] on a truncated or malformed message or a key that is not
    /// UTF-8.
    pub fn parse(msg: &'a [u8]) -> Result<Self, SnapshotError> {
        let mut entry = StorageEntryRef {
            key: "",
            value: &[],
            seal_wrap: false,
            value_field: None,
        };
        let mut pos = 0;
        while pos < msg.len() {
            let start = pos;
            let tag = uvarint(msg, &mut pos)?;
            let (field, wire) = (tag >> 3, tag & 7);
            match wire {
                0 => {
                    let v = uvarint(msg, &mut pos)?;
                    if field == 3 {
                        entry.seal_wrap = v != 0;
                    }
                }
                1 | 5 => {
                    pos = pos
                        .checked_add(if wire == 1 { 8 } else { 4 })
                        .filter(|&end| end <= msg.len())
                        .ok_or(SnapshotError::Record("a fixed-size field is truncated"))?;
                }
                2 => {
                    let len = usize::try_from(uvarint(msg, &mut pos)?)
                        .map_err(|_| SnapshotError::Record("a field length is out of range"))?;
                    let end = pos
                        .checked_add(len)
                        .filter(|&end| end <= msg.len())
                        .ok_or(SnapshotError::Record("a field is truncated"))?;
                    let bytes = &msg[pos..end];
                    match field {
                        1 => {
                            entry.key = core::str::from_utf8(bytes)
                                .map_err(|_| SnapshotError::Record("a key is not UTF-8"))?;
                        }
                        2 => {
                            entry.value = bytes;
                            entry.value_field = Some(start..end);
                        }
                        _ => {}
                    }
                    pos = end;
                }
                _ => return Err(SnapshotError::Record("a field has an unknown wire type")),
            }
            if field == 0 {
                return Err(SnapshotError::Record("a field number is 0"));
            }
        }
        Ok(entry)
    }
}

/// The message `msg` with its value replaced by `value`, every other field byte for byte
/// (the value field goes where it was, or after the key when there was none).
pub fn replace_value(msg: &[u8], entry: &StorageEntryRef<'_>, value: &[u8]) -> Vec<u8> {
    let mut field = Vec::with_capacity(value.len() + 12);
    push_uvarint(&mut field, (2 << 3) | 2);
    push_uvarint(&mut field, value.len() as u64);
    field.extend_from_slice(value);
    let range = entry.value_field.clone().unwrap_or(msg.len()..msg.len());
    let mut out = Vec::with_capacity(msg.len() - range.len() + field.len());
    out.extend_from_slice(&msg[..range.start]);
    out.extend_from_slice(&field);
    out.extend_from_slice(&msg[range.end..]);
    out
}

/// Encodes a whole record: `uvarint(len) || StorageEntry` (the form Go's proto marshaller
/// writes: key, value, then seal_wrap only when set).
pub fn encode_record(key: &str, value: &[u8], seal_wrap: bool) -> Vec<u8> {
    let mut msg = Vec::with_capacity(key.len() + value.len() + 16);
    if !key.is_empty() {
        push_uvarint(&mut msg, (1 << 3) | 2);
        push_uvarint(&mut msg, key.len() as u64);
        msg.extend_from_slice(key.as_bytes());
    }
    if !value.is_empty() {
        push_uvarint(&mut msg, (2 << 3) | 2);
        push_uvarint(&mut msg, value.len() as u64);
        msg.extend_from_slice(value);
    }
    if seal_wrap {
        msg.extend_from_slice(&[3 << 3, 1]);
    }
    frame(&msg)
}

/// `uvarint(len(msg)) || msg`.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 10);
    push_uvarint(&mut out, msg.len() as u64);
    out.extend_from_slice(msg);
    out
}

/// Appends `value` as a protobuf / Go `binary.PutUvarint` varint.
pub fn push_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn uvarint(bytes: &[u8], pos: &mut usize) -> Result<u64, SnapshotError> {
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let &b = bytes
            .get(*pos)
            .ok_or(SnapshotError::Record("a varint is truncated"))?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(SnapshotError::Record("a varint overflows 64 bits"));
        }
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(SnapshotError::Record("a varint overflows 64 bits"))
}

/// Reads the records of `state.bin` from the tar stream, hashing every byte (SHA-256) as it
/// passes, with one buffer and one record in memory at a time.
pub struct RecordReader<'r, S> {
    tar: &'r mut TarReader<S>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    hash: Sha256,
    bytes: u64,
}

impl<'r, S: ByteSource> RecordReader<'r, S> {
    /// A reader of the current tar file.
    pub fn new(tar: &'r mut TarReader<S>) -> Self {
        RecordReader {
            tar,
            buf: alloc::vec![0u8; 256 << 10],
            start: 0,
            end: 0,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads the next whole record (length prefix included) into `record` and returns the
    /// length of its prefix, or `None` at the end of `state.bin`.
    ///
    /// # Errors
    /// A record cut by the end of `state.bin`, one larger than [`MAX_RECORD`], or a read
    /// error.
    pub fn next_record(&mut self, record: &mut Vec<u8>) -> Result<Option<usize>, SnapshotError> {
        record.clear();
        // The length prefix, one byte at a time.
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(b) = self.byte()? else {
                if record.is_empty() {
                    return Ok(None);
                }
                return Err(SnapshotError::Record(
                    "state.bin ends inside a record length",
                ));
            };
            record.push(b);
            if shift >= 63 && b > 1 {
                return Err(SnapshotError::Record("a record length overflows 64 bits"));
            }
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        let prefix = record.len();
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_RECORD)
            .ok_or(SnapshotError::Record("a record is larger than 64 MiB"))?;
        record.reserve(len);
        let mut need = len;
        while need > 0 {
            if self.start == self.end && !self.refill()? {
                return Err(SnapshotError::Record("state.bin ends inside a record"));
            }
            let take = need.min(self.end - self.start);
            record.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.start += take;
            need -= take;
        }
        Ok(Some(prefix))
    }

    /// The SHA-256 of all bytes read and their count (call at the end).
    pub fn finish(self) -> ([u8; 32], u64) {
        (self.hash.finalize().into(), self.bytes)
    }

    fn byte(&mut self) -> Result<Option<u8>, SnapshotError> {
        if self.start == self.end && !self.refill()? {
            return Ok(None);
        }
        let b = self.buf[self.start];
        self.start += 1;
        Ok(Some(b))
    }

    fn refill(&mut self) -> Result<bool, SnapshotError> {
        let n = self.tar.read(&mut self.buf)?;
        self.hash.update(&self.buf[..n]);
        self.bytes += n as u64;
        self.start = 0;
        self.end = n;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_replace_keep_other_bytes() {
        let record = encode_record("core/recovery-key", b"old value", true);
        let msg = &record[1..];
        let e = StorageEntryRef::parse(msg).unwrap();
        assert_eq!(
            (e.key, e.value, e.seal_wrap),
            ("core/recovery-key", &b"old value"[..], true)
        );
        let new = replace_value(msg, &e, b"a longer new value");
        let e2 = StorageEntryRef::parse(&new).unwrap();
        assert_eq!(e2.value, b"a longer new value");
        assert_eq!((e2.key, e2.seal_wrap), ("core/recovery-key", true));
        assert_eq!(
            frame(&new),
            encode_record("core/recovery-key", b"a longer new value", true)
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(StorageEntryRef::parse(&[0x0a, 5, b'a']).is_err());
        assert!(StorageEntryRef::parse(&[0x0a, 1, 0xff]).is_err());
        assert!(StorageEntryRef::parse(&[0x00]).is_err());
        assert!(StorageEntryRef::parse(&[0x0b]).is_err());
        assert!(StorageEntryRef::parse(&[0x80; 11]).is_err());
        // Unknown fields are skipped.
        let e = StorageEntryRef::parse(&[0x20, 1, 0x0a, 1, b'k', 0x2d, 0, 0, 0, 0]).unwrap();
        assert_eq!(e.key, "k");
    }

    #[test]
    fn uvarints_match_go() {
        let mut out = Vec::new();
        push_uvarint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        let mut pos = 0;
        assert_eq!(uvarint(&out, &mut pos).unwrap(), 300);
        let mut max = Vec::new();
        push_uvarint(&mut max, u64::MAX);
        let mut pos = 0;
        assert_eq!(uvarint(&max, &mut pos).unwrap(), u64::MAX);
    }
}
