//! `meta.json`: hashicorp/raft's `SnapshotMeta` as Go's JSON encoder writes it (`Version`,
//! `ID`, `Index`, `Term`, `Peers`, `Configuration`, `ConfigurationIndex`, `Size`), read with
//! the core's strict JSON reader. `snapshot rewrap` changes `Size` and nothing else.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ops::Range;

use kms_seal_core::kms::json_reader::{ReadError, ReadErrorKind, Reader};

use super::SnapshotError;

/// The fields of `meta.json` kms-seal reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// The snapshot's ID.
    pub id: String,
    /// The raft index.
    pub index: u64,
    /// The raft term.
    pub term: u64,
    /// Size of `state.bin` in bytes.
    pub size: u64,
    /// Where the `Size` number sits in the text.
    size_span: Range<usize>,
}

impl Meta {
    /// Parses `meta.json`.
    ///
    /// # Errors
    /// [`SnapshotError::Meta`] when it is not a JSON object with numeric `Index`, `Term` and
    /// `Size`.
    pub fn parse(text: &[u8]) -> Result<Self, SnapshotError> {
        let mut meta = Meta::default();
        let mut seen = (false, false, false);
        let mut bad_number = false;
        let mut reader = Reader::new(text);
        let result = reader.object(|r, key| {
            let field = match &*key {
                "ID" => {
                    meta.id = r.string()?.into_owned();
                    return Ok(());
                }
                "Index" => 0,
                "Term" => 1,
                "Size" => 2,
                _ => return r.skip(),
            };
            let digits = r.number()?;
            let end = r.offset();
            let Ok(value) = digits.parse::<u64>() else {
                bad_number = true;
                return Err(ReadError {
                    kind: ReadErrorKind::WrongType,
                    at: end,
                });
            };
            match field {
                0 => (meta.index, seen.0) = (value, true),
                1 => (meta.term, seen.1) = (value, true),
                _ => {
                    (meta.size, seen.2) = (value, true);
                    meta.size_span = end - digits.len()..end;
                }
            }
            Ok(())
        });
        result.and_then(|()| reader.finish()).map_err(|e| {
            SnapshotError::Meta(if bad_number {
                format!("Index, Term and Size must be whole numbers (byte {})", e.at)
            } else {
                format!("not the JSON raft writes ({:?} at byte {})", e.kind, e.at)
            })
        })?;
        if seen != (true, true, true) {
            return Err(SnapshotError::Meta("Index, Term or Size is missing".into()));
        }
        Ok(meta)
    }

    /// `text` (the file this was parsed from) with `Size` set to `size`, every other byte kept.
    pub fn with_size(&self, text: &[u8], size: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + 8);
        out.extend_from_slice(&text[..self.size_span.start]);
        out.extend_from_slice(size.to_string().as_bytes());
        out.extend_from_slice(&text[self.size_span.end..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO: &[u8] = br#"{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMjcuMC4wLjE6ODIwMQ==","Configuration":{"Servers":[{"Suffrage":0,"ID":"n1","Address":"127.0.0.1:8201"}]},"ConfigurationIndex":1,"Size":4321}
"#;

    #[test]
    fn reads_go_meta_and_changes_only_size() {
        let meta = Meta::parse(GO).unwrap();
        assert_eq!((meta.index, meta.term, meta.size), (10, 2, 4321));
        assert_eq!(meta.id, "2-10-1700000000000");
        let changed = meta.with_size(GO, 98765);
        let text = core::str::from_utf8(GO).unwrap().replace("4321", "98765");
        assert_eq!(changed, text.as_bytes());
        assert_eq!(Meta::parse(&changed).unwrap().size, 98765);
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(Meta::parse(b"[]").is_err());
        assert!(Meta::parse(br#"{"Index":1,"Term":1}"#).is_err());
        assert!(Meta::parse(br#"{"Index":-1,"Term":1,"Size":2}"#).is_err());
        assert!(Meta::parse(br#"{"Index":1,"Term":1,"Size":2} x"#).is_err());
    }
}
