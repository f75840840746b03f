//! Raft snapshots built the way OpenBao writes them (openbao internal/physical/raft:
//! snapshot/archive.go, fsm.go, varint.go), for the `snapshot` tests and the benchmark:
//! a gzip'd tar (the `tar` and `flate2` crates, independent of kms-seal's own tar code) of
//! `meta.json`, `state.bin` (records `uvarint(len) || StorageEntry`, in key order),
//! `SHA256SUMS` and `SHA256SUMS.sealed`.
//!
//! The barrier layout of `core/keyring` and other entries: be32 term, `0x02`, 12-byte nonce,
//! AES-256-GCM ciphertext and tag, AAD = the storage path (openbao internal/vault/barrier).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use kms_seal_core::envelope::aead::{self, DataKey, Iv};
use sha2::{Digest, Sha256};

/// The storage paths the seal wraps, and the others verify reads.
pub const UNSEAL_KEYS: &str = "core/hsm/barrier-unseal-keys";
/// The sealed recovery key.
pub const RECOVERY_KEY: &str = "core/recovery-key";
/// The barrier keyring.
pub const KEYRING: &str = "core/keyring";
/// The seal configuration (plaintext JSON).
pub const SEAL_CONFIG: &str = "core/seal-config";

/// One storage entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Storage path.
    pub key: String,
    /// Stored bytes.
    pub value: Vec<u8>,
    /// The `seal_wrap` flag.
    pub seal_wrap: bool,
}

impl Entry {
    /// An entry without the flag.
    pub fn new(key: &str, value: Vec<u8>) -> Self {
        Entry {
            key: key.to_owned(),
            value,
            seal_wrap: false,
        }
    }

    /// `uvarint(len) || StorageEntry`, as Go's proto marshaller and `PutUvarint` write it.
    pub fn record(&self) -> Vec<u8> {
        let mut msg = Vec::new();
        if !self.key.is_empty() {
            msg.push(0x0a);
            uvarint(&mut msg, self.key.len() as u64);
            msg.extend_from_slice(self.key.as_bytes());
        }
        if !self.value.is_empty() {
            msg.push(0x12);
            uvarint(&mut msg, self.value.len() as u64);
            msg.extend_from_slice(&self.value);
        }
        if self.seal_wrap {
            msg.extend_from_slice(&[0x18, 1]);
        }
        let mut out = Vec::with_capacity(msg.len() + 5);
        uvarint(&mut out, msg.len() as u64);
        out.extend_from_slice(&msg);
        out
    }
}

fn uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Barrier-encrypts `plain` stored at `path` under `key` (term 1, version 2).
pub fn barrier_encrypt(key: &[u8; 32], path: &str, plain: &[u8], nonce: [u8; 12]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 2];
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&aead::seal(
        &DataKey::from_bytes(*key),
        &Iv::from_bytes(nonce),
        plain,
        Some(path.as_bytes()),
    ));
    out
}

/// The keyring OpenBao stores: `MasterKey` = the root key, one term-1 key.
pub fn keyring_json(root: &[u8; 32], term_key: &[u8; 32]) -> Vec<u8> {
    format!(
        r#"{{"MasterKey":"{}","Keys":[{{"Term":1,"Version":1,"Value":"{}","InstallTime":"2026-12-06T16:00:00Z","Encryptions":0}}],"RotationConfig":{{"Disabled":false,"MaxOperations":3865470566,"Interval":0}}}}"#,
        STANDARD.encode(root),
        STANDARD.encode(term_key)
    )
    .into_bytes()
}

/// The plaintext of `core/hsm/barrier-unseal-keys`: a JSON array of base64 keys (Go's
/// `json.Marshal([][]byte)`).
pub fn unseal_keys_json(root: &[u8; 32]) -> Vec<u8> {
    format!(r#"["{}"]"#, STANDARD.encode(root)).into_bytes()
}

/// `meta.json` as Go's JSON encoder writes raft's `SnapshotMeta` (with its newline).
pub fn meta_json(index: u64, term: u64, size: u64) -> Vec<u8> {
    format!(
        "{{\"Version\":1,\"ID\":\"{term}-{index}-1765036800000\",\"Index\":{index},\"Term\":{term},\"Peers\":\"ka8xMjcuMC4wLjE6ODIwMQ==\",\"Configuration\":{{\"Servers\":[{{\"Suffrage\":0,\"ID\":\"n1\",\"Address\":\"127.0.0.1:8201\"}}]}},\"ConfigurationIndex\":1,\"Size\":{size}}}\n"
    )
    .into_bytes()
}

/// `SHA256SUMS` text for these digests (`%x  %s\n`).
pub fn sums_text(meta: &[u8; 32], state: &[u8; 32]) -> Vec<u8> {
    format!("{}  meta.json\n{}  state.bin\n", hex(meta), hex(state)).into_bytes()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What goes into a snapshot archive.
pub struct Parts<'a> {
    /// `meta.json` bytes.
    pub meta: &'a [u8],
    /// `state.bin`, read once, exactly `state_len` bytes.
    pub state: &'a mut dyn Read,
    /// Its length.
    pub state_len: u64,
    /// `SHA256SUMS` bytes.
    pub sums: &'a [u8],
    /// `SHA256SUMS.sealed` bytes, if any.
    pub sealed_sums: Option<&'a [u8]>,
}

/// Writes the gzip'd tar in OpenBao's order, with Go's headers (mode 0600, a time).
///
/// # Errors
/// I/O errors.
pub fn write_archive(out: &Path, parts: Parts<'_>) -> io::Result<()> {
    let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mut add = |name: &str, len: u64, data: &mut dyn Read| {
        let mut h = tar::Header::new_ustar();
        h.set_size(len);
        h.set_mode(0o600);
        h.set_mtime(1_765_036_800);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, data)
    };
    add("meta.json", parts.meta.len() as u64, &mut &parts.meta[..])?;
    add("state.bin", parts.state_len, parts.state)?;
    add("SHA256SUMS", parts.sums.len() as u64, &mut &parts.sums[..])?;
    if let Some(sealed) = parts.sealed_sums {
        add("SHA256SUMS.sealed", sealed.len() as u64, &mut &sealed[..])?;
    }
    let gz = tar.into_inner()?;
    gz.finish()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
}

/// A whole small snapshot from entries (sorted here by key), sealing the sums with `seal`.
///
/// # Errors
/// I/O errors.
pub fn write_snapshot(
    out: &Path,
    entries: &mut [Entry],
    seal: &mut dyn FnMut(&[u8]) -> Vec<u8>,
) -> io::Result<()> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let state: Vec<u8> = entries.iter().flat_map(Entry::record).collect();
    let meta = meta_json(42, 3, state.len() as u64);
    let sums = sums_text(
        &Sha256::digest(&meta).into(),
        &Sha256::digest(&state).into(),
    );
    let sealed = seal(&sums);
    write_archive(
        out,
        Parts {
            meta: &meta,
            state: &mut &state[..],
            state_len: state.len() as u64,
            sums: &sums,
            sealed_sums: Some(&sealed),
        },
    )
}

/// Reads a gzip'd snapshot back with the `tar` crate: every file's name and bytes, in order.
///
/// # Errors
/// I/O and format errors.
pub fn read_files(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(File::open(path)?));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        out.push((name, bytes));
    }
    Ok(out)
}

/// The entries of `state.bin`, in order.
///
/// # Panics
/// On malformed records (test data).
pub fn parse_state(mut bytes: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, n) = read_uvarint(bytes);
        let msg = &bytes[n..n + len as usize];
        bytes = &bytes[n + len as usize..];
        let mut e = Entry::new("", Vec::new());
        let mut m = msg;
        while !m.is_empty() {
            let (tag, n) = read_uvarint(m);
            m = &m[n..];
            match tag {
                0x18 => {
                    let (v, n) = read_uvarint(m);
                    e.seal_wrap = v != 0;
                    m = &m[n..];
                }
                0x0a | 0x12 => {
                    let (l, n) = read_uvarint(m);
                    let field = &m[n..n + l as usize];
                    if tag == 0x0a {
                        e.key = String::from_utf8(field.to_vec()).expect("UTF-8 key");
                    } else {
                        e.value = field.to_vec();
                    }
                    m = &m[n + l as usize..];
                }
                other => panic!("unexpected tag {other}"),
            }
        }
        out.push(e);
    }
    out
}

fn read_uvarint(bytes: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return (v, i + 1);
        }
    }
    panic!("truncated varint")
}

/// A deterministic fast byte stream (xorshift64*), standing in for barrier ciphertexts,
/// which look random.
pub struct Noise(pub u64);

impl Noise {
    /// Fills `buf`.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Writes to nowhere, counting and hashing (to size and sum a generated `state.bin`).
#[derive(Default)]
pub struct HashingCounter {
    /// SHA-256 so far.
    pub hash: Sha256,
    /// Bytes so far.
    pub len: u64,
}

impl Write for HashingCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hash.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
