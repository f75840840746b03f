//! The tar layer of a raft snapshot, streamed: the headers Go's `archive/tar` writes (ustar,
//! with PAX `x` records or GNU `L` long names when a field does not fit), read one block at a
//! time; and a ustar writer for `snapshot rewrap`.
//!
//! Only regular files are accepted: a snapshot holds nothing else.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{ByteSink, ByteSource, SnapshotError};

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// Largest PAX or GNU long-name record read (they hold a path and a few numbers).
const MAX_EXTENDED: u64 = 64 << 10;

/// One regular file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The file name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
}

/// Reads the files of a tar stream in order, one block at a time.
pub struct TarReader<S> {
    source: S,
    /// Bytes of the current file not yet read.
    remaining: u64,
    /// Padding after the current file.
    padding: u64,
    /// The end-of-archive marker was seen.
    ended: bool,
}

impl<S: ByteSource> TarReader<S> {
    /// A reader at the start of `source`.
    pub fn new(source: S) -> Self {
        TarReader {
            source,
            remaining: 0,
            padding: 0,
            ended: false,
        }
    }

    /// The next file's header, or `None` at the end of the archive (after which the rest of
    /// the stream has been read and found to be zeros, so that the host's gzip checksum and
    /// length are checked).
    ///
    /// # Errors
    /// [`SnapshotError`]: a truncated stream, a bad checksum or number, an entry that is not a
    /// regular file, or the source's own error.
    pub fn next_file(&mut self) -> Result<Option<Header>, SnapshotError> {
        if self.ended {
            return Ok(None);
        }
        self.skip(self.remaining + self.padding)?;
        self.remaining = 0;
        self.padding = 0;
        let mut long_name: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        let mut block = [0u8; BLOCK];
        loop {
            if !self.fill_block(&mut block)? {
                return Err(SnapshotError::Tar(
                    "the archive ends without its end marker",
                ));
            }
            if block.iter().all(|&b| b == 0) {
                self.ended = true;
                self.drain_zeros()?;
                return Ok(None);
            }
            check_checksum(&block)?;
            let size = number(&block[124..136])?;
            let typeflag = block[156];
            match typeflag {
                b'0' | 0 | b'7' => {
                    let name = match long_name.take() {
                        Some(name) => name,
                        None => header_name(&block)?,
                    };
                    let size = pax_size.unwrap_or(size);
                    let mode = u32::try_from(number(&block[100..108])?)
                        .map_err(|_| SnapshotError::Tar("a file mode is out of range"))?;
                    let mtime = number(&block[136..148])?;
                    self.remaining = size;
                    self.padding = padding(size);
                    return Ok(Some(Header {
                        name,
                        size,
                        mode,
                        mtime,
                    }));
                }
                b'x' | b'L' => {
                    if size > MAX_EXTENDED {
                        return Err(SnapshotError::Tar("an extended header is too large"));
                    }
                    let mut body = vec![0u8; usize::try_from(size).unwrap_or(0)];
                    self.read_exact(&mut body)?;
                    self.skip(padding(size))?;
                    if typeflag == b'L' {
                        let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                        body.truncate(end);
                        long_name = Some(
                            String::from_utf8(body)
                                .map_err(|_| SnapshotError::Tar("a file name is not UTF-8"))?,
                        );
                    } else {
                        for (key, value) in pax_records(&body)? {
                            match key {
                                "path" => long_name = Some(value.into()),
                                "size" => {
                                    pax_size = Some(value.parse().map_err(|_| {
                                        SnapshotError::Tar("a PAX size is not a number")
                                    })?);
                                }
                                _ => {}
                            }
                        }
                    }
                }
                b'g' => {
                    self.skip(size + padding(size))?;
                }
                _ => return Err(SnapshotError::Tar("an archive entry is not a regular file")),
            }
        }
    }

    /// Reads from the current file; 0 at its end.
    ///
    /// # Errors
    /// A truncated stream or the source's error.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, SnapshotError> {
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .source
            .read(&mut buf[..want])
            .map_err(SnapshotError::Source)?;
        if n == 0 {
            return Err(SnapshotError::Truncated);
        }
        self.remaining -= n as u64;
        Ok(n)
    }

    /// The rest of the current file, which must be at most `limit` bytes.
    ///
    /// # Errors
    /// [`SnapshotError::TooLarge`] past the limit, or a read error.
    pub fn read_small(&mut self, name: &str, limit: u64) -> Result<Vec<u8>, SnapshotError> {
        if self.remaining > limit {
            return Err(SnapshotError::TooLarge(String::from(name), limit));
        }
        let mut out = vec![0u8; usize::try_from(self.remaining).unwrap_or(0)];
        self.read_exact(&mut out)?;
        self.remaining = 0;
        Ok(out)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self
                .source
                .read(&mut buf[filled..])
                .map_err(SnapshotError::Source)?;
            if n == 0 {
                return Err(SnapshotError::Truncated);
            }
            filled += n;
        }
        Ok(())
    }

    /// Fills a whole block; `false` on a clean end of stream before it.
    fn fill_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool, SnapshotError> {
        let mut filled = 0;
        while filled < BLOCK {
            let n = self
                .source
                .read(&mut block[filled..])
                .map_err(SnapshotError::Source)?;
            if n == 0 {
                return if filled == 0 {
                    Ok(false)
                } else {
                    Err(SnapshotError::Truncated)
                };
            }
            filled += n;
        }
        Ok(true)
    }

    fn skip(&mut self, mut n: u64) -> Result<(), SnapshotError> {
        let mut scratch = [0u8; 4096];
        while n > 0 {
            let chunk = usize::try_from(n).unwrap_or(usize::MAX).min(scratch.len());
            self.read_exact(&mut scratch[..chunk])?;
            n -= chunk as u64;
        }
        Ok(())
    }

    /// Reads to the end of the stream, which may only hold zeros (the second end block and
    /// padding).
    fn drain_zeros(&mut self) -> Result<(), SnapshotError> {
        let mut scratch = [0u8; 4096];
        loop {
            let n = self
                .source
                .read(&mut scratch)
                .map_err(SnapshotError::Source)?;
            if n == 0 {
                return Ok(());
            }
            if scratch[..n].iter().any(|&b| b != 0) {
                return Err(SnapshotError::Tar("data follows the end of the archive"));
            }
        }
    }
}

/// Writes a ustar archive as Go's `archive/tar` does for short names (mode, size, mtime; no
/// owner names).
pub struct TarWriter<W> {
    sink: W,
    /// Bytes the current file still needs.
    remaining: u64,
    padding: u64,
}

impl<W: ByteSink> TarWriter<W> {
    /// A writer at the start of `sink`.
    pub fn new(sink: W) -> Self {
        TarWriter {
            sink,
            remaining: 0,
            padding: 0,
        }
    }

    /// Starts a file; exactly `header.size` bytes must follow through [`write`](Self::write).
    ///
    /// # Errors
    /// The previous file is incomplete, the name does not fit ustar, or the sink failed.
    pub fn start_file(&mut self, header: &Header) -> Result<(), SnapshotError> {
        self.close_file()?;
        let block = encode_header(header)?;
        self.sink.write(&block).map_err(SnapshotError::Sink)?;
        self.remaining = header.size;
        self.padding = padding(header.size);
        Ok(())
    }

    /// Writes bytes of the current file.
    ///
    /// # Errors
    /// More bytes than the header announced, or the sink failed.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        if bytes.len() as u64 > self.remaining {
            return Err(SnapshotError::Tar(
                "more bytes than the file's header announced",
            ));
        }
        self.sink.write(bytes).map_err(SnapshotError::Sink)?;
        self.remaining -= bytes.len() as u64;
        Ok(())
    }

    /// Ends the archive (two zero blocks) and returns the sink.
    ///
    /// # Errors
    /// The last file is incomplete, or the sink failed.
    pub fn finish(mut self) -> Result<W, SnapshotError> {
        self.close_file()?;
        self.sink
            .write(&[0u8; 2 * BLOCK])
            .map_err(SnapshotError::Sink)?;
        Ok(self.sink)
    }

    fn close_file(&mut self) -> Result<(), SnapshotError> {
        if self.remaining != 0 {
            return Err(SnapshotError::Tar(
                "a file is shorter than its header announced",
            ));
        }
        let pad = [0u8; BLOCK];
        let n = usize::try_from(self.padding).unwrap_or(0);
        self.sink.write(&pad[..n]).map_err(SnapshotError::Sink)?;
        self.padding = 0;
        Ok(())
    }
}

/// The header block of a regular file.
///
/// # Errors
/// A name longer than 100 bytes.
pub fn encode_header(header: &Header) -> Result<[u8; BLOCK], SnapshotError> {
    let mut block = [0u8; BLOCK];
    let name = header.name.as_bytes();
    if name.len() > 100 || name.contains(&0) {
        return Err(SnapshotError::Tar(
            "a file name does not fit a ustar header",
        ));
    }
    block[..name.len()].copy_from_slice(name);
    octal(&mut block[100..108], u64::from(header.mode & 0o7_777_777));
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    if header.size < 1 << 33 {
        octal(&mut block[124..136], header.size);
    } else {
        // GNU base-256, as Go writes sizes of 8 GiB and more.
        block[124] = 0x80;
        block[128..136].copy_from_slice(&header.size.to_be_bytes());
    }
    octal(&mut block[136..148], header.mtime.min(0o77_777_777_777));
    block[156] = b'0';
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    octal(&mut block[148..155], sum);
    block[155] = b' ';
    Ok(block)
}

/// Zero-padded octal digits and a NUL in `field`.
fn octal(field: &mut [u8], mut value: u64) {
    let Some((last, digits)) = field.split_last_mut() else {
        return;
    };
    *last = 0;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (value & 7) as u8;
        value >>= 3;
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn check_checksum(block: &[u8; BLOCK]) -> Result<(), SnapshotError> {
    let stored = number(&block[148..156])?;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    // Some old writers summed signed bytes.
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(SnapshotError::Tar(
            "a header checksum does not match (not a tar archive, or corrupt)",
        ))
    }
}

/// A numeric field: octal digits (space or NUL terminated), or GNU base-256.
fn number(field: &[u8]) -> Result<u64, SnapshotError> {
    if let Some((&first, rest)) = field.split_first()
        && first & 0x80 != 0
    {
        if first != 0x80 || rest.len() > 8 && rest[..rest.len() - 8].iter().any(|&b| b != 0) {
            return Err(SnapshotError::Tar("a base-256 number is out of range"));
        }
        let tail = &rest[rest.len().saturating_sub(8)..];
        return Ok(tail.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)));
    }
    let text = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut value: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return Err(SnapshotError::Tar("a header number is not octal"));
        }
        value = value
            .checked_mul(8)
            .map(|v| v + u64::from(b - b'0'))
            .ok_or(SnapshotError::Tar("a header number is out of range"))?;
    }
    Ok(value)
}

/// The name of a ustar header: `prefix/name` when the ustar prefix is set.
fn header_name(block: &[u8; BLOCK]) -> Result<String, SnapshotError> {
    fn field(bytes: &[u8]) -> Result<&str, SnapshotError> {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..end])
            .map_err(|_| SnapshotError::Tar("a file name is not UTF-8"))
    }
    let name = field(&block[..100])?;
    // The prefix is a ustar field: magic `ustar\0` and version `00`, as Go and the `tar`
    // crate require (GNU headers, `ustar  \0`, use those bytes for times).
    let prefix = if &block[257..265] == b"ustar\x0000" {
        field(&block[345..500])?
    } else {
        ""
    };
    let mut out = String::new();
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push('/');
    }
    out.push_str(name);
    Ok(out)
}

/// The `key=value` records of a PAX header: `"<len> <key>=<value>\n"`.
fn pax_records(body: &[u8]) -> Result<Vec<(&str, &str)>, SnapshotError> {
    const BAD: SnapshotError = SnapshotError::Tar("a PAX header is malformed");
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ').ok_or(BAD)?;
        let len: usize = core::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BAD)?;
        if len <= space + 1 || len > rest.len() {
            return Err(BAD);
        }
        let record = rest[space + 1..len].strip_suffix(b"\n").ok_or(BAD)?;
        let text = core::str::from_utf8(record).map_err(|_| BAD)?;
        let (key, value) = text.split_once('=').ok_or(BAD)?;
        out.push((key, value));
        rest = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bytes<'a>(&'a [u8]);
    impl ByteSource for Bytes<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
            // Short reads on purpose: at most 7 bytes at a time.
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    impl ByteSink for Vec<u8> {
        fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = TarWriter::new(Vec::new());
        for (name, data) in files {
            w.start_file(&Header {
                name: (*name).into(),
                size: data.len() as u64,
                mode: 0o600,
                mtime: 1_700_000_000,
            })
            .unwrap();
            w.write(data).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn round_trip_with_short_reads() {
        let big = vec![7u8; 1000];
        let bytes = archive(&[("meta.json", b"{}\n"), ("state.bin", &big), ("e", b"")]);
        assert_eq!(bytes.len() % BLOCK, 0);
        let mut r = TarReader::new(Bytes(&bytes));
        let h = r.next_file().unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.size, h.mode), ("meta.json", 3, 0o600));
        assert_eq!(r.read_small("meta.json", 10).unwrap(), b"{}\n");
        let h = r.next_file().unwrap().unwrap();
        assert_eq!(h.size, 1000);
        // Unread bytes are skipped.
        let h = r.next_file().unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.size, h.mtime), ("e", 0, 1_700_000_000));
        assert!(r.next_file().unwrap().is_none());
        assert!(r.next_file().unwrap().is_none());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let bytes = archive(&[("meta.json", b"{}\n")]);
        let mut flipped = bytes.clone();
        flipped[3] ^= 1;
        assert!(TarReader::new(Bytes(&flipped)).next_file().is_err());
        let truncated = &bytes[..BLOCK + 10];
        let mut r = TarReader::new(Bytes(truncated));
        r.next_file().unwrap();
        assert!(r.next_file().is_err());
        let mut r = TarReader::new(Bytes(&bytes[..BLOCK]));
        r.next_file().unwrap();
        assert!(r.read_small("meta.json", 10).is_err());
        let mut trailing = bytes.clone();
        trailing.push(1);
        let mut r = TarReader::new(Bytes(&trailing));
        r.next_file().unwrap();
        assert!(r.next_file().is_err());
        assert!(TarReader::new(Bytes(b"")).next_file().is_err());
    }

    #[test]
    fn pax_path_and_size_apply_to_the_next_file() {
        let mut bytes = Vec::new();
        let record = b"19 path=state.bin2\n";
        let mut pax = encode_header(&Header {
            name: "PaxHeaders/x".into(),
            size: record.len() as u64,
            mode: 0o600,
            mtime: 0,
        })
        .unwrap();
        pax[156] = b'x';
        pax[148..156].fill(b' ');
        let sum: u64 = pax.iter().map(|&b| u64::from(b)).sum();
        octal(&mut pax[148..155], sum);
        bytes.extend_from_slice(&pax);
        let mut body = record.to_vec();
        body.resize(BLOCK, 0);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&archive(&[("short", b"abc")]));
        let mut r = TarReader::new(Bytes(&bytes));
        let h = r.next_file().unwrap().unwrap();
        assert_eq!(h.name, "state.bin2");
        assert_eq!(r.read_small("x", 3).unwrap(), b"abc");
    }

    #[test]
    fn base256_sizes() {
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[4..].copy_from_slice(&(9u64 << 30).to_be_bytes());
        assert_eq!(number(&field).unwrap(), 9 << 30);
        assert_eq!(number(b"00000001750\0").unwrap(), 0o1750);
        assert!(number(b"0000000175x\0").is_err());
    }
}
