//! The native host's raft snapshot files: gunzip while reading, and gzip into a temporary
//! file beside the output that is synced and moved into place (without replacing anything)
//! only when the whole snapshot has been written.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use kms_seal_cli::{ByteSink, ByteSource, FileError, SnapshotSink};

use super::file_error;

/// Buffer between the file and gzip (read and write).
const BUFFER: usize = 256 << 10;

/// Opens the gzip'd snapshot at `path` as its tar stream.
///
/// # Errors
/// A [`FileError`] when it cannot be opened or is a directory.
pub fn open(path: &str) -> Result<Box<dyn ByteSource>, FileError> {
    let file = File::open(path).map_err(|e| file_error(&e))?;
    if file.metadata().map_err(|e| file_error(&e))?.is_dir() {
        return Err(FileError::IsDirectory);
    }
    Ok(Box::new(GunzipSource(GzDecoder::new(
        BufReader::with_capacity(BUFFER, file),
    ))))
}

struct GunzipSource(GzDecoder<BufReader<File>>);

impl ByteSource for GunzipSource {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        loop {
            match self.0.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(gzip_error(&e)),
            }
        }
    }
}

fn gzip_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the gzip stream is truncated".into(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("not a valid gzip stream ({e})")
        }
        _ => e.to_string(),
    }
}

/// Starts writing a snapshot to `path`, which must not exist.
///
/// # Errors
/// [`FileError::AlreadyExists`] when it exists, or the error creating the temporary file.
pub fn create(path: &str) -> Result<Box<dyn SnapshotSink>, FileError> {
    let target = PathBuf::from(path);
    if fs::symlink_metadata(&target).is_ok() {
        return Err(FileError::AlreadyExists);
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| FileError::Other("not a file path".into()))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".kms-seal-{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| file_error(&e))?;
    Ok(Box::new(GzipSink {
        encoder: Some(GzEncoder::new(
            BufWriter::with_capacity(BUFFER, file),
            Compression::fast(),
        )),
        tmp,
        target,
        dir,
    }))
}

struct GzipSink {
    encoder: Option<GzEncoder<BufWriter<File>>>,
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
}

impl ByteSink for GzipSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.encoder
            .as_mut()
            .ok_or_else(|| "the snapshot is already closed".to_owned())?
            .write_all(bytes)
            .map_err(|e| e.to_string())
    }
}

impl SnapshotSink for GzipSink {
    fn commit(mut self: Box<Self>) -> Result<(), String> {
        let encoder = self
            .encoder
            .take()
            .ok_or_else(|| "the snapshot is already closed".to_owned())?;
        let result = (|| -> io::Result<()> {
            let file = encoder.finish()?.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            drop(file);
            // A hard link puts the file in place only if nothing is there (rename would
            // replace a file created meanwhile); then the temporary name goes.
            fs::hard_link(&self.tmp, &self.target)?;
            fs::remove_file(&self.tmp)?;
            File::open(&self.dir)?.sync_all()
        })();
        result.map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                format!(
                    "{} appeared while it was written; nothing was replaced",
                    self.target.display()
                )
            }
            _ => e.to_string(),
        })
    }
}

impl Drop for GzipSink {
    fn drop(&mut self) {
        // Whatever happened, the temporary name never stays.
        drop(self.encoder.take());
        let _ = fs::remove_file(&self.tmp);
    }
}
