//! Replacing a file's contents atomically: write a temporary file beside it, fsync it, rename it
//! over the original, fsync the directory. A crash leaves either the old or the new value,
//! never a mix, and never a missing file.
//!
//! - A symbolic link stays a link: the file it points to is replaced, in its own directory.
//! - The mode, owner and group are kept (a file whose owner cannot be kept is left unchanged
//!   with an error: run as its owner or as root).
//! - The temporary file is `.{NAME}.kms-seal-{PID}.tmp`; [`remove_leftovers`] removes the ones
//!   a killed run left (those of processes that no longer run).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Replaces the file at `path` (after symbolic links) with `contents`, keeping its
/// permissions, owner and group.
///
/// # Errors
/// Any I/O error; the original file is untouched unless the rename succeeded.
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let (dir, name) = split(&target)?;
    let metadata = fs::metadata(&target)?;
    let tmp = dir.join(temporary_name(name, std::process::id()));

    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mine = f.metadata()?;
        if mine.uid() != metadata.uid() || mine.gid() != metadata.gid() {
            std::os::unix::fs::fchown(&f, Some(metadata.uid()), Some(metadata.gid())).map_err(
                |e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot keep its owner {}:{} ({e}); run as that user or as root",
                            metadata.uid(),
                            metadata.gid()
                        ),
                    )
                },
            )?;
        }
        // After chown, which may clear set-id bits.
        f.set_permissions(metadata.permissions())?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)?;
        // Make the rename itself durable.
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes the temporary files that interrupted replacements of `path` (after symbolic
/// links) left beside it, except those of processes still running; returns how many.
///
/// # Errors
/// Any I/O error but a missing file.
pub fn remove_leftovers(path: &Path) -> io::Result<usize> {
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let (dir, name) = split(&target)?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".kms-seal-");
    let prefix = prefix.to_string_lossy().into_owned();
    let mut removed = 0;
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix.as_str()))
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let alive = rest
            .parse::<u32>()
            .is_ok_and(|pid| pid != std::process::id() && process_runs(pid));
        if !alive && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// `.{name}.kms-seal-{pid}.tmp`.
fn temporary_name(name: &std::ffi::OsStr, pid: u32) -> std::ffi::OsString {
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".kms-seal-{pid}.tmp"));
    tmp
}

/// Whether process `pid` runs (Linux: `/proc/PID` exists; elsewhere assume it does not, so
/// leftovers are removed).
fn process_runs(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new(&format!("/proc/{pid}")).exists()
}

/// The directory and the name of a file path.
fn split(path: &Path) -> io::Result<(PathBuf, &std::ffi::OsStr)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("kms-seal-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("value");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        replace_file(&p, b"new contents").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new contents");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temporary file left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_replaced() {
        let dir = std::env::temp_dir().join(format!("kms-seal-atomic-link-{}", std::process::id()));
        fs::create_dir_all(dir.join("real")).unwrap();
        let target = dir.join("real/value");
        fs::write(&target, b"old").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink("real/value", &link).unwrap();
        replace_file(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        assert_eq!(fs::read_dir(dir.join("real")).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed_others_kept() {
        let dir = std::env::temp_dir().join(format!("kms-seal-atomic-left-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("value");
        fs::write(&p, b"v").unwrap();
        // PID 1 runs; a PID above the kernel's limit does not; our own replacement is ours.
        for pid in [1, 4_194_305, std::process::id()] {
            fs::write(dir.join(temporary_name(p.file_name().unwrap(), pid)), b"x").unwrap();
        }
        fs::write(dir.join(".other.kms-seal-4194305.tmp"), b"x").unwrap();
        assert_eq!(remove_leftovers(&p).unwrap(), 2);
        let mut left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".other.kms-seal-4194305.tmp",
                ".value.kms-seal-1.tmp",
                "value"
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_an_error_and_creates_nothing() {
        let dir =
            std::env::temp_dir().join(format!("kms-seal-atomic-missing-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert!(replace_file(&dir.join("nope"), b"x").is_err());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
