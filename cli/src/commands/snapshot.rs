//! `kms-seal snapshot inspect|verify|rewrap`: raft snapshots, streamed through
//! [`crate::snapshot`] over the host's gzip streams.
//!
//! What the seal wraps in a snapshot (openbao internal/vault seal.go, seal_autoseal.go,
//! physical/raft/raft.go): `core/hsm/barrier-unseal-keys` (a JSON array of base64 root keys),
//! `core/recovery-key` (raw bytes), both bare `BlobInfo`s, and `SHA256SUMS.sealed`. Every other
//! entry is barrier-encrypted with the keyring, or plaintext: an entry's `seal_wrap` flag is
//! carried through the barrier and changes nothing in its bytes, so such entries are copied
//! as they are.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::envelope::aead::{self, DataKey, Iv};
use kms_seal_core::envelope::{DecodedValue, StoredValue, decode_stored_value};
use kms_seal_core::kms::json_reader::Reader;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::open_seal;
use crate::args::{Args, SnapshotCommand};
use crate::host::{ByteSource, FileError, Host, HostSeal, SnapshotSink};
use crate::json_out::Json;
use crate::snapshot::{
    self, Header, META, Meta, SEALED_SUMS, STATE, SUMS, SnapshotError, StorageEntryRef, Summary,
    Sums, TarWriter, Visitor, state,
};
use crate::{Failure, one_line};

/// The root keys, sealed.
const UNSEAL_KEYS: &str = "core/hsm/barrier-unseal-keys";
/// The recovery key, sealed.
const RECOVERY_KEY: &str = "core/recovery-key";
/// The seal's configuration, plaintext JSON.
const SEAL_CONFIG: &str = "core/seal-config";
/// The barrier keyring, encrypted with the root key.
const KEYRING: &str = "core/keyring";
/// The entries the seal wraps.
const SEALED_ENTRIES: [&str; 2] = [UNSEAL_KEYS, RECOVERY_KEY];

/// Runs a snapshot command, appending its JSON to `out`.
pub(crate) fn run<H: Host>(
    host: &mut H,
    args: &Args,
    command: &SnapshotCommand,
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    match command {
        SnapshotCommand::Inspect(path) => {
            let (summary, found) = collect(host, path)?;
            out.extend_from_slice(describe(&summary, &found).as_bytes());
        }
        SnapshotCommand::Verify(path) => {
            let (summary, found) = collect(host, path)?;
            let seal = open_seal(host, args)?;
            out.extend_from_slice(verify::<H>(&seal, path, &summary, &found)?.as_bytes());
        }
        SnapshotCommand::Rewrap { input, output } => {
            let sink = host
                .create_snapshot(output)
                .map_err(|e| file_failure(output, &e))?;
            let mut seal = open_seal(host, args)?;
            seal.init()?;
            let text = rewrap(host, &seal, input, output, sink)?;
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.push(b'\n');
    Ok(())
}

/// The entries a command needs, kept as the pass streams by.
#[derive(Default)]
struct Found {
    seal_config: Option<Vec<u8>>,
    keyring: Option<Vec<u8>>,
    /// `(key, whole record, prefix length)` of each seal-wrapped entry.
    sealed: Vec<(&'static str, Vec<u8>, usize)>,
}

impl Found {
    fn sealed_value(&self, key: &str) -> Option<&[u8]> {
        self.sealed
            .iter()
            .find(|(k, ..)| *k == key)
            .and_then(|(_, record, prefix)| {
                StorageEntryRef::parse(&record[*prefix..])
                    .ok()
                    .map(|e| e.value)
            })
    }
}

impl Visitor for Found {
    fn record(
        &mut self,
        record: &[u8],
        prefix: usize,
        entry: &StorageEntryRef<'_>,
    ) -> Result<(), SnapshotError> {
        match entry.key {
            SEAL_CONFIG => self.seal_config = Some(entry.value.to_vec()),
            KEYRING => self.keyring = Some(entry.value.to_vec()),
            key => {
                if let Some(name) = SEALED_ENTRIES.iter().find(|k| **k == key) {
                    self.sealed.push((name, record.to_vec(), prefix));
                }
            }
        }
        Ok(())
    }
}

fn open<H: Host>(host: &mut H, path: &str) -> Result<Box<dyn ByteSource>, Failure> {
    host.open_snapshot(path).map_err(|e| file_failure(path, &e))
}

fn file_failure(path: &str, e: &FileError) -> Failure {
    match e {
        FileError::Unsupported(_) => Failure::Usage(format!(
            "{e}: run the native kms-seal binary for snapshot commands"
        )),
        FileError::AlreadyExists => Failure::Usage(format!("{path}: {e}")),
        _ => Failure::Operation(format!("cannot open {path}: {e}")),
    }
}

fn snapshot_failure(path: &str, e: &SnapshotError) -> Failure {
    Failure::Operation(format!("{path}: {e}"))
}

/// One pass collecting what inspect and verify need.
fn collect<H: Host>(host: &mut H, path: &str) -> Result<(Summary, Found), Failure> {
    let source = open(host, path)?;
    let mut found = Found::default();
    let summary =
        snapshot::read_archive(source, &mut found).map_err(|e| snapshot_failure(path, &e))?;
    Ok((summary, found))
}

/// The seal type named in `core/seal-config` (`{"type": "awskms", ...}`).
fn seal_type(config: &[u8]) -> Option<String> {
    let mut reader = Reader::new(config);
    let mut out = None;
    reader
        .object(|r, key| {
            if key == "type" {
                out = r.opt_owned_string()?;
                Ok(())
            } else {
                r.skip()
            }
        })
        .ok()?;
    out
}

/// A sealed item's form, key and mechanism.
struct SealedInfo {
    format: &'static str,
    key_id: Option<String>,
    mechanism: u64,
    mechanism_name: &'static str,
}

fn sealed_info(bytes: &[u8]) -> Result<SealedInfo, String> {
    let decoded = decode_stored_value(bytes).map_err(|e| e.to_string())?;
    let (format, blob) = match &decoded.value {
        StoredValue::Bare(blob) => ("blobinfo", Some(blob)),
        StoredValue::Multi(multi) => (
            "multiwrapvalue:1",
            multi
                .slots
                .iter()
                .find(|b| b.is_aws_kms())
                .or(multi.slots.first()),
        ),
    };
    let blob = blob.ok_or_else(|| "a multiwrapvalue:1 entry without slots".to_owned())?;
    Ok(SealedInfo {
        format,
        key_id: blob.key_id().map(ToOwned::to_owned),
        mechanism: blob.mechanism().as_u64(),
        mechanism_name: blob.mechanism().name(),
    })
}

/// `snapshot inspect`'s JSON (members in alphabetical order).
fn describe(summary: &Summary, found: &Found) -> String {
    let seal_type = found.seal_config.as_deref().and_then(seal_type);
    let items: [(&str, Option<&[u8]>); 3] = [
        (SEALED_SUMS, summary.sealed_sums.as_deref()),
        (UNSEAL_KEYS, found.sealed_value(UNSEAL_KEYS)),
        (RECOVERY_KEY, found.sealed_value(RECOVERY_KEY)),
    ];
    let infos: Vec<Option<Result<SealedInfo, String>>> = items
        .iter()
        .map(|(_, bytes)| bytes.map(sealed_info))
        .collect();
    let members: Vec<Vec<(&str, Json<'_>)>> = infos
        .iter()
        .map(|info| match info {
            None => Vec::new(),
            Some(Err(e)) => alloc::vec![("error", Json::Str(e))],
            Some(Ok(i)) => alloc::vec![
                ("format", Json::Str(i.format)),
                ("key_id", i.key_id.as_deref().map_or(Json::Null, Json::Str)),
                ("mechanism", Json::Uint(i.mechanism)),
                ("mechanism_name", Json::Str(i.mechanism_name)),
            ],
        })
        .collect();
    let sealed: Vec<(&str, Json<'_>)> = items
        .iter()
        .zip(&infos)
        .zip(&members)
        .map(|(((name, _), info), m)| {
            (
                *name,
                if info.is_some() {
                    Json::Object(m)
                } else {
                    Json::Null
                },
            )
        })
        .collect();
    Json::Object(&[
        ("entries", Json::Uint(summary.entries)),
        ("id", Json::Str(&summary.meta.id)),
        ("index", Json::Uint(summary.meta.index)),
        (
            "seal_type",
            seal_type.as_deref().map_or(Json::Null, Json::Str),
        ),
        ("seal_wrap_flagged", Json::Uint(summary.seal_wrap_flagged)),
        ("sealed", Json::Object(&sealed)),
        (
            "size_matches",
            Json::Bool(summary.meta.size == summary.state_bytes),
        ),
        ("state_bytes", Json::Uint(summary.state_bytes)),
        ("sums_match", Json::Bool(summary.sums_match())),
        ("term", Json::Uint(summary.meta.term)),
    ])
    .pretty()
}

/// Checks the sums and the sizes; shared by verify and rewrap.
fn check_integrity(path: &str, summary: &Summary) -> Result<(), Failure> {
    if !summary.sums_match() {
        return Err(Failure::Operation(format!(
            "{path}: SHA256SUMS does not match meta.json and state.bin (the snapshot is corrupt \
             or was altered; take a new one)"
        )));
    }
    if summary.meta.size != summary.state_bytes {
        return Err(Failure::Operation(format!(
            "{path}: meta.json says state.bin has {} bytes, it has {} (the snapshot is corrupt)",
            summary.meta.size, summary.state_bytes
        )));
    }
    Ok(())
}

/// Opens `SHA256SUMS.sealed` and checks that it agrees with `SHA256SUMS`.
fn check_sealed_sums<H: Host>(
    seal: &HostSeal<H>,
    path: &str,
    summary: &Summary,
) -> Result<DecodedValue, Failure> {
    let bytes = summary.sealed_sums.as_deref().ok_or_else(|| {
        Failure::Operation(format!(
            "{path}: the snapshot has no SHA256SUMS.sealed (it was saved without a seal)"
        ))
    })?;
    let value = decode_stored_value(bytes).map_err(|e| {
        Failure::Operation(format!(
            "{path}: SHA256SUMS.sealed is not a sealed value ({e})"
        ))
    })?;
    let plain = seal
        .decrypt_value(&value.value, None)
        .map_err(|e| Failure::Operation(format!("{path}: cannot open SHA256SUMS.sealed: {e}")))?;
    let opened = Sums::parse(&plain).map_err(|e| {
        Failure::Operation(format!("{path}: SHA256SUMS.sealed holds no sums ({e})"))
    })?;
    if !opened.same_as(&summary.sums) {
        return Err(Failure::Operation(format!(
            "{path}: SHA256SUMS.sealed does not agree with SHA256SUMS (the sums were altered)"
        )));
    }
    Ok(value)
}

/// Opens one seal-wrapped entry.
fn open_entry<H: Host>(
    seal: &HostSeal<H>,
    path: &str,
    key: &str,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let value = decode_stored_value(bytes)
        .map_err(|e| Failure::Operation(format!("{path}: {key} is not a sealed value ({e})")))?;
    seal.decrypt_value(&value.value, None)
        .map_err(|e| Failure::Operation(format!("{path}: cannot open {key}: {e}")))
}

/// The base64 strings of a JSON array (the stored root keys), decoded.
fn root_keys(plain: &[u8]) -> Option<Vec<Zeroizing<Vec<u8>>>> {
    let mut reader = Reader::new(plain);
    let mut keys = Vec::new();
    let mut bad = false;
    reader
        .array(|r| {
            let text = Zeroizing::new(r.string()?.into_owned());
            match STANDARD.decode(text.as_bytes()) {
                Ok(k) => keys.push(Zeroizing::new(k)),
                Err(_) => bad = true,
            }
            Ok(())
        })
        .ok()?;
    reader.finish().ok()?;
    (!bad && !keys.is_empty()).then_some(keys)
}

/// Opens the barrier-encrypted `core/keyring` with `key` (be32 term, version byte, 12-byte
/// nonce, AES-256-GCM ciphertext and tag; version 2 binds the path as AAD).
fn open_keyring(key: &[u8], value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let key = DataKey::from_slice(key).ok()?;
    let (_, rest) = value.split_first_chunk::<4>()?;
    let (&version, rest) = rest.split_first()?;
    let (nonce, sealed) = rest.split_first_chunk::<12>()?;
    let aad: Option<&[u8]> = match version {
        1 => None,
        2 => Some(KEYRING.as_bytes()),
        _ => return None,
    };
    aead::open(&key, &Iv::from_bytes(*nonce), sealed, aad).ok()
}

/// The keyring's `MasterKey` (decoded) and number of `Keys`.
fn keyring_contents(plain: &[u8]) -> Option<(Zeroizing<Vec<u8>>, u64)> {
    let mut reader = Reader::new(plain);
    let mut root = None;
    let mut terms = 0u64;
    reader
        .object(|r, key| match &*key {
            "MasterKey" => {
                let text = Zeroizing::new(r.string()?.into_owned());
                root = STANDARD.decode(text.as_bytes()).ok().map(Zeroizing::new);
                Ok(())
            }
            "Keys" => r.array(|r| {
                terms += 1;
                r.skip()
            }),
            _ => r.skip(),
        })
        .ok()?;
    Some((root?, terms))
}

/// `snapshot verify`: the JSON summary, or the failure naming what does not hold.
fn verify<H: Host>(
    seal: &HostSeal<H>,
    path: &str,
    summary: &Summary,
    found: &Found,
) -> Result<String, Failure> {
    check_integrity(path, summary)?;
    let sealed_sums = check_sealed_sums::<H>(seal, path, summary)?;
    let unseal = found.sealed_value(UNSEAL_KEYS).ok_or_else(|| {
        Failure::Operation(format!(
            "{path}: the snapshot has no {UNSEAL_KEYS} (not an auto-unseal snapshot)"
        ))
    })?;
    let plain = open_entry::<H>(seal, path, UNSEAL_KEYS, unseal)?;
    let keys = root_keys(&plain).ok_or_else(|| {
        Failure::Operation(format!(
            "{path}: {UNSEAL_KEYS} opens but does not hold a JSON array of base64 keys"
        ))
    })?;
    let keyring = found
        .keyring
        .as_deref()
        .ok_or_else(|| Failure::Operation(format!("{path}: the snapshot has no {KEYRING}")))?;
    let opened = keys
        .iter()
        .find_map(|k| open_keyring(k, keyring).map(|ring| (k, ring)));
    let Some((root, ring)) = opened else {
        return Err(Failure::Operation(format!(
            "{path}: the stored root key does not open {KEYRING} (the snapshot cannot be \
             unsealed)"
        )));
    };
    let (master, terms) = keyring_contents(&ring).ok_or_else(|| {
        Failure::Operation(format!(
            "{path}: {KEYRING} opens but is not a barrier keyring"
        ))
    })?;
    if master.as_slice() != root.as_slice() {
        return Err(Failure::Operation(format!(
            "{path}: {KEYRING} opens but names another root key than {UNSEAL_KEYS}"
        )));
    }
    let recovery = match found.sealed_value(RECOVERY_KEY) {
        Some(bytes) => {
            open_entry::<H>(seal, path, RECOVERY_KEY, bytes)?;
            "opens"
        }
        None => "absent",
    };
    let key_of = |bytes: Option<&[u8]>| -> Option<String> {
        sealed_info(bytes?).ok().and_then(|i| i.key_id)
    };
    let sums_key = match &sealed_sums.value {
        StoredValue::Bare(b) => b.key_id().map(ToOwned::to_owned),
        StoredValue::Multi(_) => key_of(summary.sealed_sums.as_deref()),
    };
    let keys_key = key_of(Some(unseal));
    let recovery_key = key_of(found.sealed_value(RECOVERY_KEY));
    fn arn(k: &Option<String>) -> Json<'_> {
        k.as_deref().map_or(Json::Null, Json::Str)
    }
    Ok(Json::Object(&[
        ("entries", Json::Uint(summary.entries)),
        ("index", Json::Uint(summary.meta.index)),
        (
            "key_ids",
            Json::Object(&[
                (SEALED_SUMS, arn(&sums_key)),
                (UNSEAL_KEYS, arn(&keys_key)),
                (RECOVERY_KEY, arn(&recovery_key)),
            ]),
        ),
        ("keyring_terms", Json::Uint(terms)),
        ("recovery_key", Json::Str(recovery)),
        ("root_key", Json::Str("opens core/keyring")),
        ("sealed_sums", Json::Str("match")),
        ("sums", Json::Str("match")),
        ("term", Json::Uint(summary.meta.term)),
        ("verified", Json::Bool(true)),
    ])
    .pretty())
}

/// One seal-wrapped entry's new record, when it changes.
struct Replacement {
    key: &'static str,
    record: Vec<u8>,
}

/// `snapshot rewrap IN OUT`: two streaming passes over IN (find and rewrap the sealed items,
/// then copy with them replaced), OUT written through the host's temporary file and moved
/// into place at the end.
fn rewrap<H: Host>(
    host: &mut H,
    seal: &HostSeal<H>,
    input: &str,
    output: &str,
    sink: Box<dyn SnapshotSink>,
) -> Result<String, Failure> {
    let (summary, found) = collect(host, input)?;
    check_integrity(input, &summary)?;
    let sealed_sums = check_sealed_sums::<H>(seal, input, &summary)?;

    let (mut rewrapped, mut up_to_date) = (0u64, 0u64);
    let mut replacements = Vec::new();
    let mut new_size = summary.state_bytes;
    for (key, record, prefix) in &found.sealed {
        let msg = &record[*prefix..];
        let entry = StorageEntryRef::parse(msg).map_err(|e| snapshot_failure(input, &e))?;
        let mut value = decode_stored_value(entry.value).map_err(|e| {
            Failure::Operation(format!("{input}: {key} is not a sealed value ({e})"))
        })?;
        let changed = seal
            .rewrap_value(&mut value.value, None)
            .map_err(|e| Failure::Operation(format!("{input}: cannot rewrap {key}: {e}")))?;
        if !changed {
            up_to_date += 1;
            continue;
        }
        rewrapped += 1;
        let bytes = if value.canary {
            value.value.encode_with_canary()
        } else {
            value.value.encode()
        };
        let new_record = state::frame(&state::replace_value(msg, &entry, &bytes));
        new_size = new_size - record.len() as u64 + new_record.len() as u64;
        replacements.push(Replacement {
            key,
            record: new_record,
        });
    }
    let new_meta = summary.meta.with_size(&summary.meta_text, new_size);

    // Second pass: copy, replacing the rewrapped records.
    let source = open(host, input)?;
    let mut copy = Copy {
        tar: TarWriter::new(sink),
        replacements: &replacements,
        new_meta: &new_meta,
        new_size,
        wrote_meta: false,
        state_hash: Sha256::new(),
    };
    let again = snapshot::read_archive(source, &mut copy).map_err(|e| match e {
        SnapshotError::Sink(_) => snapshot_failure(output, &e),
        _ => snapshot_failure(input, &e),
    })?;
    if again.state_sha != summary.state_sha || again.meta_sha != summary.meta_sha {
        return Err(Failure::Operation(format!(
            "{input} changed while it was being rewrapped; {output} was not written"
        )));
    }
    let Copy {
        mut tar,
        state_hash,
        ..
    } = copy;
    let mut sums = summary.sums.clone();
    sums.set(META, Sha256::digest(&new_meta).into());
    sums.set(STATE, state_hash.finalize().into());
    let sums_text = sums.encode();
    let sums_current = match &sealed_sums.value {
        StoredValue::Bare(b) => seal.is_up_to_date(b),
        StoredValue::Multi(_) => false,
    };
    let sealed_bytes = if sums_text == summary.sums.encode() && sums_current {
        up_to_date += 1;
        summary.sealed_sums.clone().unwrap_or_default()
    } else {
        rewrapped += 1;
        StoredValue::Bare(seal.encrypt(&sums_text, None)?).encode()
    };
    let write_small = |tar: &mut TarWriter<Box<dyn SnapshotSink>>, name: &str, bytes: &[u8]| {
        let header = like(&summary, name, bytes.len() as u64);
        tar.start_file(&header)?;
        tar.write(bytes)
    };
    let written = write_small(&mut tar, SUMS, &sums_text)
        .and_then(|()| write_small(&mut tar, SEALED_SUMS, &sealed_bytes))
        .and_then(|()| tar.finish());
    let sink = written.map_err(|e| snapshot_failure(output, &e))?;
    sink.commit()
        .map_err(|e| Failure::Operation(format!("cannot write {output}: {e}")))?;

    let key = seal.key_id();
    host.write_stderr(&format!(
        "kms-seal: snapshot rewrap: {rewrapped} rewrapped, {up_to_date} already up to date \
         (key {}); wrote {}\n",
        one_line(&key),
        one_line(output)
    ));
    Ok(Json::Object(&[
        ("entries", Json::Uint(summary.entries)),
        ("key_arn", Json::Str(&key)),
        ("rewrapped", Json::Uint(rewrapped)),
        ("state_bytes", Json::Uint(new_size)),
        ("up_to_date", Json::Uint(up_to_date)),
    ])
    .compact())
}

/// A header for `name` in OUT: the mode and time IN had, the new size.
fn like(summary: &Summary, name: &str, size: u64) -> Header {
    let (mode, mtime) = summary
        .header(name)
        .or_else(|| summary.header(META))
        .map_or((0o600, 0), |h| (h.mode, h.mtime));
    Header {
        name: name.into(),
        size,
        mode,
        mtime,
    }
}

/// The second pass of rewrap: writes `meta.json` and `state.bin` to OUT as they stream by.
struct Copy<'a> {
    tar: TarWriter<Box<dyn SnapshotSink>>,
    replacements: &'a [Replacement],
    new_meta: &'a [u8],
    new_size: u64,
    wrote_meta: bool,
    state_hash: Sha256,
}

impl Visitor for Copy<'_> {
    fn meta(&mut self, header: &Header, _text: &[u8], _meta: &Meta) -> Result<(), SnapshotError> {
        self.tar.start_file(&Header {
            size: self.new_meta.len() as u64,
            ..header.clone()
        })?;
        self.tar.write(self.new_meta)?;
        self.wrote_meta = true;
        Ok(())
    }

    fn state_start(&mut self, header: &Header) -> Result<(), SnapshotError> {
        if !self.wrote_meta {
            return Err(SnapshotError::Tar(
                "state.bin comes before meta.json, which OpenBao never writes",
            ));
        }
        self.tar.start_file(&Header {
            size: self.new_size,
            ..header.clone()
        })
    }

    fn record(
        &mut self,
        record: &[u8],
        _prefix: usize,
        entry: &StorageEntryRef<'_>,
    ) -> Result<(), SnapshotError> {
        let bytes = self
            .replacements
            .iter()
            .find(|r| r.key == entry.key)
            .map_or(record, |r| r.record.as_slice());
        self.state_hash.update(bytes);
        self.tar.write(bytes)
    }
}
