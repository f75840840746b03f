//! A Vault storage tree given as a directory: finding the seal-wrapped entries in it.
//!
//! The seal-wrapped entries are `core/hsm/barrier-unseal-keys` (the stored root key) and
//! `core/recovery-key`; Vault's file storage keeps them as `core/hsm/_barrier-unseal-keys` and
//! `core/_recovery-key` (a `_` before the last path element), and an extracted tree may hold
//! them under their storage keys. A file whose path ends with one of these four (at a `/`) is
//! an entry; every other file is counted and left alone. Directory links are not followed.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::Failure;
use crate::host::{EntryKind, Files, is_temporary_name};

/// The paths of seal-wrapped entries, as the end of a file's path.
const SEAL_WRAPPED: [&str; 4] = [
    "core/hsm/_barrier-unseal-keys",
    "core/hsm/barrier-unseal-keys",
    "core/_recovery-key",
    "core/recovery-key",
];

/// Deepest directory level walked (Vault's paths are far shallower).
const MAX_DEPTH: usize = 64;

/// What a storage tree holds.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// The seal-wrapped entries' paths, sorted.
    pub(crate) entries: Vec<String>,
    /// How many other files (left untouched).
    pub(crate) other_files: usize,
    /// Temporary files an interrupted rewrap left (removed by the rewrap of their entry).
    pub(crate) leftovers: usize,
}

/// Walks the directory `root`.
///
/// # Errors
/// A [`Failure::Operation`] naming the directory that cannot be read.
pub(crate) fn walk(files: &dyn Files, root: &str) -> Result<Tree, Failure> {
    let mut tree = Tree::default();
    // (directory path, its depth below the root)
    let mut stack: Vec<(String, usize)> = vec![(String::from(root), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = files.entries(&dir).map_err(|e| {
            Failure::Operation(format!(
                "cannot read the directory {dir}: {e}; check its permissions"
            ))
        })?;
        for entry in entries {
            let path = join(&dir, &entry.name);
            match entry.kind {
                EntryKind::Dir if depth < MAX_DEPTH => stack.push((path, depth + 1)),
                EntryKind::File if is_temporary_name(&entry.name) => tree.leftovers += 1,
                EntryKind::File if is_seal_wrapped(&path) => {
                    // Kept sorted without a sort routine (the WASI command's size budget).
                    let at = tree.entries.partition_point(|p| *p < path);
                    tree.entries.insert(at, path);
                }
                _ => tree.other_files += 1,
            }
        }
    }
    Ok(tree)
}

/// `dir/name`, without doubling a trailing `/`.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether `path` ends with a seal-wrapped entry's path, at a `/`.
fn is_seal_wrapped(path: &str) -> bool {
    SEAL_WRAPPED.iter().any(|entry| {
        path.strip_suffix(entry)
            .is_some_and(|head| head.is_empty() || head.ends_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DirEntry, FileError};
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;
    use zeroize::Zeroizing;

    /// An in-memory tree: directory path -> entries.
    struct Mem(BTreeMap<String, Vec<DirEntry>>);

    impl Files for Mem {
        fn read_file(&self, _: &str, _: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
            Err(FileError::NotFound)
        }
        fn is_dir(&self, path: &str) -> Result<bool, FileError> {
            Ok(self.0.contains_key(path))
        }
        fn list_files(&self, _: &str) -> Result<Vec<String>, FileError> {
            Err(FileError::NotFound)
        }
        fn entries(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
            self.0.get(path).cloned().ok_or(FileError::NotFound)
        }
    }

    fn e(name: &str, kind: EntryKind) -> DirEntry {
        DirEntry {
            name: name.to_string(),
            kind,
        }
    }

    #[test]
    fn finds_the_entries_and_counts_the_rest() {
        let mut m = BTreeMap::new();
        m.insert(
            "/v".to_string(),
            vec![e("core", EntryKind::Dir), e("logical", EntryKind::Dir)],
        );
        m.insert(
            "/v/core".to_string(),
            vec![
                e("hsm", EntryKind::Dir),
                e("_recovery-key", EntryKind::File),
                e("_seal-config", EntryKind::File),
                e("._recovery-key.kms-seal-12.tmp", EntryKind::File),
                e("loop", EntryKind::Other),
            ],
        );
        m.insert(
            "/v/core/hsm".to_string(),
            vec![e("_barrier-unseal-keys", EntryKind::File)],
        );
        m.insert(
            "/v/logical".to_string(),
            vec![e("_recovery-key", EntryKind::File)],
        );
        let t = walk(&Mem(m), "/v").unwrap();
        assert_eq!(
            t.entries,
            ["/v/core/_recovery-key", "/v/core/hsm/_barrier-unseal-keys"]
        );
        // _seal-config, the directory link, and logical/_recovery-key (not under core/).
        assert_eq!(t.other_files, 3);
        assert_eq!(t.leftovers, 1);
    }

    #[test]
    fn entries_match_at_a_path_element() {
        assert!(is_seal_wrapped("x/core/recovery-key"));
        assert!(is_seal_wrapped("core/hsm/_barrier-unseal-keys"));
        assert!(!is_seal_wrapped("x/hardcore/recovery-key"));
        assert!(!is_seal_wrapped("x/core/hsm/barrier-unseal-keys.bak"));
    }
}
