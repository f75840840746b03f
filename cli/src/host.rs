//! What a host supplies to the one CLI: standard streams, files, environment, clock,
//! randomness and the seal's transport. Everything else (parsing, configuration, commands,
//! output formats, error lines, exit classes) is written once in this crate.

#[cfg(feature = "snapshot")]
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::credentials::ProvideCredentials;
use kms_seal_core::http::Transport;
use kms_seal_core::seal::{Runtime, Seal};
use zeroize::Zeroizing;

/// Why a file could not be read or written, in words every host shares.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileError {
    /// No such file or directory.
    NotFound,
    /// The operating system or host refused access.
    PermissionDenied,
    /// A directory was given where a file was expected.
    IsDirectory,
    /// A path component is not a directory.
    NotDirectory,
    /// The file is larger than the limit (in bytes) the caller set.
    TooLarge(u64),
    /// The path is outside every directory the host pre-opened (WASI).
    NotPreopened,
    /// The file exists and may not be replaced.
    #[cfg(feature = "snapshot")]
    AlreadyExists,
    /// This host does not offer the operation (what it is, in words).
    #[cfg(feature = "snapshot")]
    Unsupported(&'static str),
    /// Anything else, as the host words it (never file contents).
    Other(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotFound => f.write_str("no such file or directory"),
            FileError::PermissionDenied => f.write_str("permission denied"),
            FileError::IsDirectory => f.write_str("is a directory"),
            FileError::NotDirectory => f.write_str("not a directory"),
            FileError::TooLarge(limit) => write!(f, "larger than {} MiB", limit >> 20),
            FileError::NotPreopened => f.write_str(
                "not in a directory the host pre-opened (give the host access to it, e.g. \
                 wasmtime run --dir DIR)",
            ),
            #[cfg(feature = "snapshot")]
            FileError::AlreadyExists => f.write_str("the file exists; choose another name"),
            #[cfg(feature = "snapshot")]
            FileError::Unsupported(what) => write!(f, "{what} is not supported by this host"),
            FileError::Other(reason) => f.write_str(reason),
        }
    }
}

/// Reading files, for the configuration loader (`--config` and `file://` references).
pub trait Files {
    /// The contents of the file at `path`, failing with [`FileError::TooLarge`] past `limit`
    /// bytes.
    ///
    /// # Errors
    /// A [`FileError`].
    fn read_file(&self, path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError>;

    /// Whether `path` is a directory (following symbolic links).
    ///
    /// # Errors
    /// A [`FileError`].
    fn is_dir(&self, path: &str) -> Result<bool, FileError>;

    /// The names (not paths) of the regular files directly in the directory `path`, in any
    /// order.
    ///
    /// # Errors
    /// A [`FileError`].
    fn list_files(&self, path: &str) -> Result<Vec<String>, FileError>;

    /// Everything directly in the directory `path`, in any order: a symbolic link to a regular
    /// file is a [`EntryKind::File`], a link to a directory is [`EntryKind::Other`] (a storage
    /// tree is walked without following directory links, so it cannot loop). The default
    /// lists only [`list_files`](Self::list_files), for hosts that cannot tell more.
    ///
    /// # Errors
    /// A [`FileError`].
    fn entries(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        Ok(self
            .list_files(path)?
            .into_iter()
            .map(|name| DirEntry {
                name,
                kind: EntryKind::File,
            })
            .collect())
    }

    /// How many hard links the file at `path` (after symbolic links) has; 1 where the host
    /// cannot tell.
    ///
    /// # Errors
    /// A [`FileError`].
    fn hard_links(&self, _path: &str) -> Result<u64, FileError> {
        Ok(1)
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (or a symbolic link to one).
    File,
    /// A directory (not a link to one).
    Dir,
    /// Anything else: a link to a directory, a dangling link, a socket, a device.
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name (not the path).
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
}

/// Whether `name` is a temporary file of an interrupted atomic replace. Hosts name the
/// temporary file of [`Host::replace_file`] `.{NAME}.kms-seal-{ID}.tmp` beside the file it
/// replaces (`ID`: the process id, or anything without a `/`), so that a later run finds and
/// removes what a killed run left ([`Host::remove_leftovers`]).
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.contains(".kms-seal-")
}

/// What one concurrent job of [`Host::run_jobs`] came to.
#[derive(Debug)]
pub enum JobResult<T, R> {
    /// Finished (successfully or not): hand `R` to the caller.
    Done(R),
    /// KMS throttled the job even after the seal's own retries: run the item again later,
    /// with fewer jobs in flight.
    Throttled(T),
}

/// A host without files (the plugin component): every read fails with
/// [`FileError::NotPreopened`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl Files for NoFiles {
    fn read_file(&self, _path: &str, _limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
        Err(FileError::NotPreopened)
    }

    fn is_dir(&self, _path: &str) -> Result<bool, FileError> {
        Err(FileError::NotPreopened)
    }

    fn list_files(&self, _path: &str) -> Result<Vec<String>, FileError> {
        Err(FileError::NotPreopened)
    }
}

/// Why standard input could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinError {
    /// More than the limit arrived.
    TooLarge,
    /// The stream failed, as the host words it.
    Failed(String),
}

#[cfg(feature = "snapshot")]
/// A readable byte stream: the snapshot's tar bytes, after the host's gunzip.
pub trait ByteSource {
    /// Reads into `buf`; 0 at the end of the stream.
    ///
    /// # Errors
    /// The host's reason (a read error, a corrupt or truncated gzip stream).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String>;
}

#[cfg(feature = "snapshot")]
/// A writable byte stream.
pub trait ByteSink {
    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// The host's reason.
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;
}

#[cfg(feature = "snapshot")]
/// A new snapshot file being written (the host gzips it into a temporary file); nothing is
/// visible at its path until [`commit`](Self::commit), and dropping it removes the temporary
/// file.
pub trait SnapshotSink: ByteSink {
    /// Finishes the gzip stream, syncs the file and moves it to its path, which must still
    /// not exist.
    ///
    /// # Errors
    /// The host's reason; nothing is then left at the path.
    fn commit(self: Box<Self>) -> Result<(), String>;
}

#[cfg(feature = "snapshot")]
impl<T: ByteSource + ?Sized> ByteSource for Box<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        (**self).read(buf)
    }
}

#[cfg(feature = "snapshot")]
impl<T: ByteSink + ?Sized> ByteSink for Box<T> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        (**self).write(bytes)
    }
}

/// The seal type a host builds.
pub type HostSeal<H> = Seal<<H as Host>::Transport, <H as Host>::Credentials, <H as Host>::Runtime>;

/// A host of the `kms-seal` command line: the native binary, the WASI command component.
pub trait Host {
    /// The HTTP transport of the seal.
    type Transport: Transport;
    /// The credential provider of the seal.
    type Credentials: ProvideCredentials;
    /// The clock and random source of the seal.
    type Runtime: Runtime;

    /// Builds the seal for a loaded configuration (references already resolved). Sends
    /// nothing.
    ///
    /// # Errors
    /// A one-line message naming the setting to fix (a configuration error, exit class 2).
    fn build_seal(&mut self, config: &AwsKmsSealConfig) -> Result<HostSeal<Self>, String>;

    /// The value of an environment variable.
    fn env(&self, name: &str) -> Option<String>;

    /// The files `--config`, `file://` references and `rewrap` read.
    fn files(&self) -> &dyn Files;

    /// All of standard input, at most `limit` bytes.
    ///
    /// # Errors
    /// A [`StdinError`].
    fn read_stdin(&mut self, limit: u64) -> Result<Zeroizing<Vec<u8>>, StdinError>;

    /// Writes to standard output.
    ///
    /// # Errors
    /// The host's reason.
    fn write_stdout(&mut self, bytes: &[u8]) -> Result<(), String>;

    /// Writes to standard error; failures are ignored (there is nowhere to report them).
    fn write_stderr(&mut self, text: &str);

    /// Whether standard error is a terminal (the `rewrap` progress bar is drawn only then).
    fn stderr_is_terminal(&self) -> bool {
        false
    }

    /// Replaces the file at `path` with `contents` atomically (temporary file beside it, named
    /// as [`is_temporary_name`] says, then rename), keeping its permissions (and, where the
    /// host can, its owner and group, and a symbolic link as a link: the file it points to is
    /// replaced in its own directory): a crash leaves the old or the new contents.
    ///
    /// # Errors
    /// The host's reason; the file is then unchanged.
    fn replace_file(&mut self, path: &str, contents: &[u8]) -> Result<(), String>;

    /// Removes the temporary files an interrupted [`replace_file`](Self::replace_file) of
    /// `path` left beside it (or beside the file its symbolic link points to), see
    /// [`is_temporary_name`]; returns how many. The default removes nothing.
    ///
    /// # Errors
    /// The host's reason.
    fn remove_leftovers(&mut self, _path: &str) -> Result<usize, String> {
        Ok(0)
    }

    /// Runs `work` on every item with at most `jobs` in flight, calling `done` with each
    /// result on the calling thread as they finish (in any order). A
    /// [`JobResult::Throttled`] item is run again later with fewer jobs in flight. The default
    /// runs the items one at a time, in order.
    #[allow(clippy::type_complexity)] // the work function, spelled out, is the contract
    fn run_jobs<T: Send, R: Send>(
        seal: &HostSeal<Self>,
        jobs: usize,
        items: Vec<T>,
        work: &(dyn Fn(&HostSeal<Self>, T) -> JobResult<T, R> + Sync),
        done: &mut dyn FnMut(R),
    ) where
        Self: Sized,
    {
        let _ = jobs;
        let mut items = items;
        while !items.is_empty() {
            let mut again = Vec::new();
            for item in items {
                match work(seal, item) {
                    JobResult::Done(r) => done(r),
                    JobResult::Throttled(item) => again.push(item),
                }
            }
            items = again;
        }
    }

    /// Nanoseconds on a monotonic clock (for the latencies `check` reports).
    fn monotonic_nanos(&self) -> u64;

    /// A short note after the version (`"(wasm32-wasip2)"`), or nothing.
    fn version_note(&self) -> &'static str {
        ""
    }

    #[cfg(feature = "snapshot")]
    /// The tar stream of the gzip'd raft snapshot at `path` (the host gunzips; gzip errors,
    /// truncation included, come out of [`ByteSource::read`]).
    ///
    /// # Errors
    /// A [`FileError`]; [`FileError::Unsupported`] on hosts without snapshot support.
    fn open_snapshot(&mut self, _path: &str) -> Result<Box<dyn ByteSource>, FileError> {
        Err(FileError::Unsupported("reading raft snapshots"))
    }

    #[cfg(feature = "snapshot")]
    /// A new gzip'd snapshot file at `path`, written to a temporary file beside it and moved
    /// there by [`SnapshotSink::commit`].
    ///
    /// # Errors
    /// [`FileError::AlreadyExists`] when `path` exists; [`FileError::Unsupported`] on hosts
    /// without snapshot support; another [`FileError`].
    fn create_snapshot(&mut self, _path: &str) -> Result<Box<dyn SnapshotSink>, FileError> {
        Err(FileError::Unsupported("writing raft snapshots"))
    }

    /// Sets up the host's own logging for `-v` (`1`: info, `2`: debug); warnings always.
    fn set_verbosity(&mut self, _verbosity: u8) {}
}
