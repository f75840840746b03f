//! The native host of the one `kms-seal` command line ([`kms_seal_cli`]): the process's
//! arguments, standard streams and environment, the file system with atomic replace, the
//! monotonic clock, and the seal over ureq with the full credential and region chain.
//!
//! Everything else (parsing, configuration, commands, output, errors, exit classes) is
//! [`kms_seal_cli::run`], shared with the WASI command.

pub mod atomic;
pub mod jobs;
pub mod logger;
pub mod snapshot;

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Instant;

use kms_seal_cli::{
    ByteSource, DirEntry, EntryKind, FileError, Files, Host, HostSeal, JobResult, SnapshotSink,
    StdinError,
};
use kms_seal_core::config::AwsKmsSealConfig;
use zeroize::Zeroizing;

use crate::credentials::{CredentialChain, EnvLookup};
use crate::native::{BuiltSeal, build_seal};
use crate::runtime::StdRuntime;
use crate::transport::UreqTransport;

pub use kms_seal_cli::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, MAX_INPUT};

/// Runs the tool with the process's arguments, standard streams and environment, and returns
/// the exit status.
pub fn main() -> i32 {
    let mut host = NativeHost::new(EnvLookup::process());
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(_) => {
                host.write_stderr(
                    "kms-seal: error: an argument is not valid UTF-8 (run 'kms-seal --help' for usage)\n",
                );
                return EXIT_USAGE;
            }
        }
    }
    kms_seal_cli::run(&mut host, args.iter().map(String::as_str))
}

/// The process as a [`Host`].
pub struct NativeHost {
    env: EnvLookup,
    start: Instant,
}

impl NativeHost {
    /// A host reading the environment through `env`.
    pub fn new(env: EnvLookup) -> Self {
        NativeHost {
            env,
            start: Instant::now(),
        }
    }
}

/// The operating system's file system as the loader's [`Files`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFiles;

impl Files for StdFiles {
    fn read_file(&self, path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
        let file = std::fs::File::open(path).map_err(|e| file_error(&e))?;
        let mut contents = Zeroizing::new(Vec::new());
        file.take(limit.saturating_add(1))
            .read_to_end(&mut contents)
            .map_err(|e| file_error(&e))?;
        if contents.len() as u64 > limit {
            return Err(FileError::TooLarge(limit));
        }
        Ok(contents)
    }

    fn is_dir(&self, path: &str) -> Result<bool, FileError> {
        std::fs::metadata(path)
            .map(|m| m.is_dir())
            .map_err(|e| file_error(&e))
    }

    fn list_files(&self, path: &str) -> Result<Vec<String>, FileError> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| file_error(&e))? {
            let entry = entry.map_err(|e| file_error(&e))?;
            // Regular files, following symbolic links as Vault does.
            if entry.path().is_file()
                && let Ok(name) = entry.file_name().into_string()
            {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn entries(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| file_error(&e))? {
            let entry = entry.map_err(|e| file_error(&e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let own = entry.file_type().map_err(|e| file_error(&e))?;
            let kind = if own.is_dir() {
                EntryKind::Dir
            } else if own.is_file() {
                EntryKind::File
            } else if own.is_symlink() && entry.path().is_file() {
                // A link to a regular file; a link to a directory is not followed.
                EntryKind::File
            } else {
                EntryKind::Other
            };
            entries.push(DirEntry { name, kind });
        }
        Ok(entries)
    }

    fn hard_links(&self, path: &str) -> Result<u64, FileError> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .map(|m| m.nlink())
            .map_err(|e| file_error(&e))
    }
}

impl Host for NativeHost {
    type Transport = UreqTransport;
    type Credentials = CredentialChain;
    type Runtime = StdRuntime;

    fn build_seal(&mut self, config: &AwsKmsSealConfig) -> Result<HostSeal<Self>, String> {
        let BuiltSeal { seal, region } =
            build_seal(config, self.env.clone()).map_err(|e| e.to_string())?;
        log::info!("region {} (from {})", region.name, region.source);
        Ok(seal)
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name)
    }

    fn files(&self) -> &dyn Files {
        &StdFiles
    }

    fn read_stdin(&mut self, limit: u64) -> Result<Zeroizing<Vec<u8>>, StdinError> {
        let mut raw = Zeroizing::new(Vec::new());
        std::io::stdin()
            .lock()
            .take(limit.saturating_add(1))
            .read_to_end(&mut raw)
            .map_err(|e| StdinError::Failed(e.to_string()))?;
        if raw.len() as u64 > limit {
            return Err(StdinError::TooLarge);
        }
        Ok(raw)
    }

    fn write_stdout(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| e.to_string())
    }

    fn write_stderr(&mut self, text: &str) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn stderr_is_terminal(&self) -> bool {
        std::io::stderr().is_terminal()
    }

    fn replace_file(&mut self, path: &str, contents: &[u8]) -> Result<(), String> {
        atomic::replace_file(Path::new(path), contents).map_err(|e| e.to_string())
    }

    fn remove_leftovers(&mut self, path: &str) -> Result<usize, String> {
        atomic::remove_leftovers(Path::new(path)).map_err(|e| e.to_string())
    }

    #[allow(clippy::type_complexity)] // the work function, spelled out, is the contract
    fn run_jobs<T: Send, R: Send>(
        seal: &HostSeal<Self>,
        jobs: usize,
        items: Vec<T>,
        work: &(dyn Fn(&HostSeal<Self>, T) -> JobResult<T, R> + Sync),
        done: &mut dyn FnMut(R),
    ) {
        jobs::run(seal, &|s| s.stats().retries, jobs, items, work, done);
    }

    fn monotonic_nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn open_snapshot(&mut self, path: &str) -> Result<Box<dyn ByteSource>, FileError> {
        snapshot::open(path)
    }

    fn create_snapshot(&mut self, path: &str) -> Result<Box<dyn SnapshotSink>, FileError> {
        snapshot::create(path)
    }

    fn set_verbosity(&mut self, verbosity: u8) {
        logger::init(verbosity);
    }
}

/// The shared words for an I/O error.
fn file_error(e: &std::io::Error) -> FileError {
    match e.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        std::io::ErrorKind::PermissionDenied => FileError::PermissionDenied,
        std::io::ErrorKind::IsADirectory => FileError::IsDirectory,
        std::io::ErrorKind::NotADirectory => FileError::NotDirectory,
        kind => FileError::Other(kind.to_string()),
    }
}
