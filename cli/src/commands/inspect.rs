//! `kms-seal inspect`: describes a stored value offline, as JSON. Needs no configuration,
//! credentials or network, and prints no secret material (only lengths and key ids).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_core::envelope::{BlobInfo, DecodedValue, StoredValue};

use super::read_stored_file;
use crate::Failure;
use crate::host::Files;
use crate::json_out::Json;
use crate::storage::Stored;
use crate::tree;

/// The JSON description of a stored value, pretty-printed (members in alphabetical order):
///
/// ```json
/// {"blobs": [{"ciphertext_len": 27, "has_client_data": false, "has_key_info": true,
///             "hmac_len": 0, "iv_len": 12, "key_id": "arn:...", "mechanism": 1,
///             "mechanism_name": "awskms-envelope-aes-gcm", "wrapped_key_len": 184}],
///  "canary": false, "format": "blobinfo" | "multiwrapvalue:1", "generation": null | N,
///  "storage": "raw" | "vault-file-entry"}
/// ```
pub(crate) fn describe(stored: &Stored) -> String {
    let blob_members = blob_members(stored);
    let blobs: Vec<Json<'_>> = blob_members.iter().map(|m| Json::Object(m)).collect();
    Json::Object(&value_members(stored, &blobs)).pretty()
}

/// `inspect PATH`: one file as [`describe`], or for a directory (a storage tree) every
/// seal-wrapped entry in it:
///
/// ```json
/// {"entries": [{"path": "DIR/core/hsm/_barrier-unseal-keys", "value": {...}} |
///              {"error": "...", "path": "..."}],
///  "leftover_temporary_files": 0, "other_files": 12}
/// ```
///
/// # Errors
/// A one-line [`Failure`] when the file cannot be read or decoded, or the tree cannot be read.
pub(crate) fn describe_path(
    files: &dyn Files,
    path: &str,
    base64: bool,
) -> Result<String, Failure> {
    if !files.is_dir(path).unwrap_or(false) {
        return Ok(describe(&read_stored_file(files, path, base64)?));
    }
    let tree = tree::walk(files, path)?;
    // Each entry printed on its own and indented into the list: one loop, no nested values
    // kept alive together (the WASI command's size budget).
    let mut out = String::from("{\n  \"entries\": [");
    for (i, entry) in tree.entries.iter().enumerate() {
        let text = match read_stored_file(files, entry, base64) {
            Ok(stored) => {
                let blob_members = blob_members(&stored);
                let blobs: Vec<Json<'_>> = blob_members.iter().map(|m| Json::Object(m)).collect();
                let value = value_members(&stored, &blobs);
                Json::Object(&[("path", Json::Str(entry)), ("value", Json::Object(&value))])
                    .pretty_at(2)
            }
            Err(e) => {
                let e = e.to_string();
                Json::Object(&[("error", Json::Str(&e)), ("path", Json::Str(entry))]).pretty_at(2)
            }
        };
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&text);
    }
    out.push_str(if tree.entries.is_empty() {
        "]"
    } else {
        "\n  ]"
    });
    out.push_str(&format!(
        ",\n  \"leftover_temporary_files\": {},\n  \"other_files\": {}\n}}",
        tree.leftovers, tree.other_files
    ));
    Ok(out)
}

fn blob_members(stored: &Stored) -> Vec<[(&'static str, Json<'_>); 9]> {
    blobs_of(&stored.value).iter().map(describe_blob).collect()
}

fn blobs_of(decoded: &DecodedValue) -> &[BlobInfo] {
    match &decoded.value {
        StoredValue::Bare(blob) => core::slice::from_ref(blob),
        StoredValue::Multi(multi) => &multi.slots,
    }
}

fn value_members<'a>(stored: &'a Stored, blobs: &'a [Json<'a>]) -> [(&'static str, Json<'a>); 5] {
    let (format, generation) = match &stored.value.value {
        StoredValue::Bare(_) => ("blobinfo", None),
        StoredValue::Multi(multi) => ("multiwrapvalue:1", Some(multi.generation)),
    };
    [
        ("blobs", Json::Array(blobs)),
        ("canary", Json::Bool(stored.value.canary)),
        ("format", Json::Str(format)),
        ("generation", generation.map_or(Json::Null, Json::Uint)),
        ("storage", Json::Str(stored.form_name())),
    ]
}

fn describe_blob(blob: &BlobInfo) -> [(&'static str, Json<'_>); 9] {
    let mechanism = blob.mechanism();
    let key_info = blob.key_info.as_ref();
    let len = |n: usize| Json::Uint(n as u64);
    [
        ("ciphertext_len", len(blob.ciphertext.len())),
        ("has_client_data", Json::Bool(!blob.client_data.is_empty())),
        ("has_key_info", Json::Bool(key_info.is_some())),
        ("hmac_len", len(blob.hmac.len())),
        ("iv_len", len(blob.iv.len())),
        ("key_id", blob.key_id().map_or(Json::Null, Json::Str)),
        ("mechanism", Json::Uint(mechanism.as_u64())),
        ("mechanism_name", Json::Str(mechanism.name())),
        (
            "wrapped_key_len",
            len(key_info.map_or(0, |k| k.wrapped_key.len())),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use kms_seal_core::envelope::{KeyInfo, MultiWrapValue};
    use serde_json::Value;

    fn blob(mechanism: u64, key_id: &str) -> BlobInfo {
        BlobInfo {
            ciphertext: vec![7; 27],
            iv: vec![1; 12],
            key_info: Some(KeyInfo {
                mechanism,
                key_id: key_id.into(),
                wrapped_key: vec![9; 100],
                ..KeyInfo::default()
            }),
            ..BlobInfo::default()
        }
    }

    #[test]
    fn describes_a_bare_blob() {
        let bytes = StoredValue::Bare(blob(1, "arn:aws:kms:us-east-1:1:key/a")).encode();
        let v: Value = serde_json::from_str(&describe(&Stored::parse(&bytes).unwrap())).unwrap();
        assert_eq!(v["format"], "blobinfo");
        assert_eq!(v["canary"], false);
        assert_eq!(v["generation"], Value::Null);
        assert_eq!(v["storage"], "raw");
        assert_eq!(v["blobs"][0]["mechanism"], 1);
        assert_eq!(v["blobs"][0]["key_id"], "arn:aws:kms:us-east-1:1:key/a");
        assert_eq!(v["blobs"][0]["iv_len"], 12);
        assert_eq!(v["blobs"][0]["ciphertext_len"], 27);
        assert_eq!(v["blobs"][0]["wrapped_key_len"], 100);
    }

    #[test]
    fn a_tree_is_described_as_valid_json() {
        use crate::host::{DirEntry, EntryKind, FileError};
        use alloc::string::ToString;
        use zeroize::Zeroizing;
        struct One(Vec<u8>);
        impl Files for One {
            fn read_file(&self, path: &str, _: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
                match path {
                    "t/core/_recovery-key" => Ok(Zeroizing::new(self.0.clone())),
                    _ => Ok(Zeroizing::new(b"junk".to_vec())),
                }
            }
            fn is_dir(&self, path: &str) -> Result<bool, FileError> {
                Ok(path == "t" || path == "t/core" || path == "e")
            }
            fn list_files(&self, _: &str) -> Result<Vec<String>, FileError> {
                Ok(Vec::new())
            }
            fn entries(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
                let e = |name: &str, kind| DirEntry {
                    name: name.to_string(),
                    kind,
                };
                Ok(match path {
                    "t" => vec![e("core", EntryKind::Dir), e("x", EntryKind::File)],
                    "t/core" => vec![
                        e("_recovery-key", EntryKind::File),
                        e("recovery-key", EntryKind::File),
                    ],
                    _ => vec![],
                })
            }
        }
        let files = One(StoredValue::Bare(blob(1, "k")).encode());
        let text = describe_path(&files, "t", false).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        // Laid out exactly as serde_json's pretty printer would.
        assert_eq!(text, serde_json::to_string_pretty(&v).unwrap());
        assert_eq!(v["other_files"], 1);
        assert_eq!(v["leftover_temporary_files"], 0);
        assert_eq!(v["entries"][0]["path"], "t/core/_recovery-key");
        assert_eq!(v["entries"][0]["value"]["blobs"][0]["key_id"], "k");
        assert_eq!(v["entries"][0]["value"]["storage"], "raw");
        assert_eq!(v["entries"][1]["path"], "t/core/recovery-key");
        assert!(
            v["entries"][1]["error"]
                .as_str()
                .unwrap()
                .contains("not a Vault")
        );
        let empty = describe_path(&files, "e", false).unwrap();
        let v: Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(v["entries"], serde_json::json!([]));
        assert_eq!(empty, serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn describes_a_framed_value_with_canary() {
        let multi = StoredValue::Multi(MultiWrapValue {
            generation: 3,
            slots: vec![blob(1, "k1"), blob(0, "k0")],
        });
        let v: Value = serde_json::from_str(&describe(
            &Stored::parse(&multi.encode_with_canary()).unwrap(),
        ))
        .unwrap();
        assert_eq!(v["format"], "multiwrapvalue:1");
        assert_eq!(v["canary"], true);
        assert_eq!(v["generation"], 3);
        assert_eq!(v["blobs"].as_array().unwrap().len(), 2);
        assert_eq!(v["blobs"][1]["mechanism"], 0);
    }
}
