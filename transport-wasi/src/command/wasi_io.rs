//! The command's I/O straight on WASI 0.2, without the standard library: arguments,
//! stdin/stdout/stderr streams, the monotonic clock, and reading files in the directories the
//! host pre-opened (`wasmtime run --dir DIR`), and replacing files there atomically.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_cli::{DirEntry, EntryKind, FileError};
use wasip2::cli::{environment, stderr, stdin, stdout};
use wasip2::clocks::monotonic_clock;
use wasip2::filesystem::preopens;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use zeroize::Zeroizing;

/// `wasi:io` output streams accept at most this many bytes per blocking write.
const WRITE_CHUNK: usize = 4096;
/// Bytes asked for per blocking read.
const READ_CHUNK: u64 = 64 * 1024;

/// The arguments after the program name.
pub fn arguments() -> Vec<String> {
    environment::get_arguments().into_iter().skip(1).collect()
}

/// Nanoseconds on the host's monotonic clock.
pub fn monotonic_nanos() -> u64 {
    monotonic_clock::now()
}

/// Reads all of stdin, failing once more than `limit` bytes arrived (the bytes read so far
/// are wiped).
///
/// # Errors
/// `Err(None)` when the input is larger than `limit`, `Err(Some(reason))` when reading failed.
pub fn read_stdin(limit: u64) -> Result<Zeroizing<Vec<u8>>, Option<String>> {
    read_stream(&stdin::get_stdin(), limit)
}

/// Writes `bytes` to stdout.
///
/// # Errors
/// A reason when the host closed or failed the stream.
pub fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    write_stream(&stdout::get_stdout(), bytes)
}

/// Writes `text` to stderr; errors are ignored (there is nowhere left to report them).
pub fn write_stderr(text: &str) {
    let _ = write_stream(&stderr::get_stderr(), text.as_bytes());
}

/// The contents of the file at `path`, at most `limit` bytes.
///
/// # Errors
/// A [`FileError`]: not in a pre-opened directory, not found, too large, ...
pub fn read_file(path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let (dir, relative) = resolve(path)?;
    let file = dir
        .open_at(
            PathFlags::SYMLINK_FOLLOW,
            &relative,
            OpenFlags::empty(),
            DescriptorFlags::READ,
        )
        .map_err(|e| fs_error(&e))?;
    if file.get_type().map_err(|e| fs_error(&e))? == DescriptorType::Directory {
        return Err(FileError::IsDirectory);
    }
    let stream = file.read_via_stream(0).map_err(|e| fs_error(&e))?;
    let contents = read_stream(&stream, limit).map_err(|e| match e {
        None => FileError::TooLarge(limit),
        Some(reason) => FileError::Other(reason),
    });
    drop(stream);
    contents
}

/// Whether `path` is a directory.
///
/// # Errors
/// As [`read_file`].
pub fn is_dir(path: &str) -> Result<bool, FileError> {
    let (dir, relative) = resolve(path)?;
    let stat = dir
        .stat_at(PathFlags::SYMLINK_FOLLOW, &relative)
        .map_err(|e| fs_error(&e))?;
    Ok(stat.type_ == DescriptorType::Directory)
}

/// The names of the regular files in the directory `path`.
///
/// # Errors
/// As [`read_file`].
pub fn list_files(path: &str) -> Result<Vec<String>, FileError> {
    let (dir, relative) = resolve(path)?;
    let listed = dir
        .open_at(
            PathFlags::SYMLINK_FOLLOW,
            &relative,
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ,
        )
        .map_err(|e| fs_error(&e))?;
    let entries = listed.read_directory().map_err(|e| fs_error(&e))?;
    let mut names = Vec::new();
    while let Some(entry) = entries.read_directory_entry().map_err(|e| fs_error(&e))? {
        if entry.type_ == DescriptorType::RegularFile {
            names.push(entry.name);
        }
    }
    Ok(names)
}

/// Everything in the directory `path`: directories, regular files (a symbolic link counts as
/// what it points to when that is a regular file) and the rest, for walking a storage tree.
///
/// # Errors
/// A [`FileError`].
pub fn entries(path: &str) -> Result<Vec<DirEntry>, FileError> {
    let (dir, relative) = resolve(path)?;
    let listed = dir
        .open_at(
            PathFlags::SYMLINK_FOLLOW,
            &relative,
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ,
        )
        .map_err(|e| fs_error(&e))?;
    let entries = listed.read_directory().map_err(|e| fs_error(&e))?;
    let mut out = Vec::new();
    while let Some(entry) = entries.read_directory_entry().map_err(|e| fs_error(&e))? {
        let kind = match entry.type_ {
            DescriptorType::Directory => EntryKind::Dir,
            DescriptorType::RegularFile => EntryKind::File,
            DescriptorType::SymbolicLink => {
                match listed.stat_at(PathFlags::SYMLINK_FOLLOW, &entry.name) {
                    Ok(stat) if stat.type_ == DescriptorType::RegularFile => EntryKind::File,
                    _ => EntryKind::Other,
                }
            }
            _ => EntryKind::Other,
        };
        out.push(DirEntry {
            name: entry.name,
            kind,
        });
    }
    Ok(out)
}

/// Replaces the file at `path` with `contents`: a temporary file beside it (created
/// exclusively, written, synced), then renamed over it, so a crash leaves the old or the new
/// contents. The temporary file is removed when anything fails. A symbolic link is refused
/// (renaming over it would replace the link, and leave its target with the old value).
///
/// # Errors
/// A reason naming what failed; the file is then unchanged.
pub fn replace_file(path: &str, contents: &[u8]) -> Result<(), String> {
    let (dir, relative) = resolve(path).map_err(|e| e.to_string())?;
    let own = dir
        .stat_at(PathFlags::empty(), &relative)
        .map_err(|e| fs_error(&e).to_string())?;
    if own.type_ == DescriptorType::SymbolicLink {
        return Err(
            "a symbolic link, which the WASI command does not rewrite through: name its target"
                .into(),
        );
    }
    // Like the native tool: only an existing regular file is replaced.
    let stat = dir
        .stat_at(PathFlags::SYMLINK_FOLLOW, &relative)
        .map_err(|e| fs_error(&e).to_string())?;
    if stat.type_ != DescriptorType::RegularFile {
        return Err(FileError::IsDirectory.to_string());
    }
    let (parent, name) = match relative.rsplit_once('/') {
        Some((parent, name)) => (format!("{parent}/"), name),
        None => (String::new(), relative.as_str()),
    };
    let tmp = format!(
        "{parent}.{name}.kms-seal-{:016x}.tmp",
        wasip2::random::random::get_random_u64()
    );
    let written = (|| -> Result<(), FileError> {
        let file = dir
            .open_at(
                PathFlags::empty(),
                &tmp,
                OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                DescriptorFlags::WRITE,
            )
            .map_err(|e| fs_error(&e))?;
        {
            let stream = file.write_via_stream(0).map_err(|e| fs_error(&e))?;
            write_stream(&stream, contents).map_err(FileError::Other)?;
        }
        // Durability where the host offers it; some hosts do not implement sync.
        let _ = file.sync_data();
        drop(file);
        dir.rename_at(&tmp, &dir, &relative)
            .map_err(|e| fs_error(&e))
    })();
    if let Err(e) = written {
        let _ = dir.unlink_file_at(&tmp);
        return Err(e.to_string());
    }
    Ok(())
}

/// The pre-opened directory that holds `path`, and the path relative to it. An absolute path
/// needs a pre-opened ancestor (the longest wins); a relative one is looked up in `.`.
fn resolve(path: &str) -> Result<(Descriptor, String), FileError> {
    let mut best: Option<(Descriptor, String)> = None;
    let mut best_len = 0;
    for (dir, guest) in preopens::get_directories() {
        let guest_trimmed = guest.trim_end_matches('/');
        let relative = if guest == "." || guest.is_empty() {
            if path.starts_with('/') {
                continue;
            }
            Some(path)
        } else if guest_trimmed.is_empty() {
            // The root itself was pre-opened.
            path.strip_prefix('/')
        } else {
            match path.strip_prefix(guest_trimmed) {
                Some("") => Some("."),
                Some(rest) if rest.starts_with('/') => Some(rest.trim_start_matches('/')),
                _ => None,
            }
        };
        if let Some(relative) = relative {
            let len = if guest == "." {
                1
            } else {
                guest_trimmed.len() + 1
            };
            if best.is_none() || len > best_len {
                let relative = if relative.is_empty() { "." } else { relative };
                best_len = len;
                best = Some((dir, relative.to_string()));
            }
        }
    }
    best.ok_or(FileError::NotPreopened)
}

fn fs_error(code: &ErrorCode) -> FileError {
    match code {
        ErrorCode::NoEntry => FileError::NotFound,
        ErrorCode::Access | ErrorCode::NotPermitted => FileError::PermissionDenied,
        ErrorCode::NotDirectory => FileError::NotDirectory,
        ErrorCode::IsDirectory => FileError::IsDirectory,
        ErrorCode::Loop => FileError::Other("too many symbolic links".into()),
        ErrorCode::NameTooLong => FileError::Other("name too long".into()),
        ErrorCode::Exist => FileError::Other("file exists".into()),
        _ => FileError::Other("the host's filesystem reported an error".into()),
    }
}

fn read_stream(stream: &InputStream, limit: u64) -> Result<Zeroizing<Vec<u8>>, Option<String>> {
    let mut out = Zeroizing::new(Vec::new());
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(mut chunk) => {
                if out.len() as u64 + chunk.len() as u64 > limit {
                    zeroize::Zeroize::zeroize(&mut chunk);
                    return Err(None);
                }
                out.extend_from_slice(&chunk);
                zeroize::Zeroize::zeroize(&mut chunk);
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(StreamError::LastOperationFailed(e)) => return Err(Some(e.to_debug_string())),
        }
    }
}

fn write_stream(stream: &OutputStream, bytes: &[u8]) -> Result<(), String> {
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| match e {
                StreamError::Closed => "the stream is closed".to_string(),
                StreamError::LastOperationFailed(e) => e.to_debug_string(),
            })?;
    }
    Ok(())
}
