//! `SHA256SUMS`: one line `<64 hex digits>  <file name>\n` per file (Go's `%x  %s\n`, in map
//! order, so any order).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use super::SnapshotError;

/// The lines of a sums file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sums(pub Vec<(String, [u8; 32])>);

impl Sums {
    /// Parses a sums file.
    ///
    /// # Errors
    /// [`SnapshotError::Sums`] on a malformed line or a name listed twice.
    pub fn parse(text: &[u8]) -> Result<Self, SnapshotError> {
        const BAD: SnapshotError = SnapshotError::Sums("a line is not `<sha-256 hex>  <name>`");
        let text = core::str::from_utf8(text).map_err(|_| BAD)?;
        let mut out: Vec<(String, [u8; 32])> = Vec::new();
        for line in text.lines() {
            let (hex, name) = line.split_once("  ").ok_or(BAD)?;
            if name.is_empty() || name.contains(char::is_whitespace) || hex.len() != 64 {
                return Err(BAD);
            }
            let mut digest = [0u8; 32];
            for (i, d) in digest.iter_mut().enumerate() {
                *d = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(BAD)?, 16)
                    .map_err(|_| BAD)?;
            }
            if out.iter().any(|(n, _)| n == name) {
                return Err(SnapshotError::Sums("a file is listed twice"));
            }
            out.push((name.into(), digest));
        }
        Ok(Sums(out))
    }

    /// The digest listed for `name`.
    pub fn get(&self, name: &str) -> Option<&[u8; 32]> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    /// Whether both list the same files with the same digests (in any order).
    pub fn same_as(&self, other: &Sums) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|(name, digest)| other.get(name) == Some(digest))
    }

    /// Whether the sums list exactly `meta.json` and `state.bin` with these digests.
    pub fn matches(&self, meta: &[u8; 32], state: &[u8; 32]) -> bool {
        self.0.len() == 2
            && self.get("meta.json") == Some(meta)
            && self.get("state.bin") == Some(state)
    }

    /// The same lines with `name`'s digest set to `digest`.
    pub fn set(&mut self, name: &str, digest: [u8; 32]) {
        for (n, d) in &mut self.0 {
            if n == name {
                *d = digest;
            }
        }
    }

    /// The file's text.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        for (name, digest) in &self.0 {
            for b in digest {
                let _ = write!(out, "{b:02x}");
            }
            out.push_str("  ");
            out.push_str(name);
            out.push('\n');
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn round_trip_and_errors() {
        let text = format!(
            "{}  state.bin\n{}  meta.json\n",
            "ab".repeat(32),
            "0c".repeat(32)
        );
        let sums = Sums::parse(text.as_bytes()).unwrap();
        assert_eq!(sums.get("state.bin"), Some(&[0xab; 32]));
        assert!(sums.matches(&[0x0c; 32], &[0xab; 32]));
        assert_eq!(sums.encode(), text.as_bytes());
        assert!(Sums::parse(b"zz  state.bin\n").is_err());
        assert!(Sums::parse(format!("{} state.bin\n", "ab".repeat(32)).as_bytes()).is_err());
        let twice = format!("{0}  a\n{0}  a\n", "ab".repeat(32));
        assert!(Sums::parse(twice.as_bytes()).is_err());
    }
}
