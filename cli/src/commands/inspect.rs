//! `kms-seal inspect`: describes a stored value offline, as JSON. Needs no configuration,
//! credentials or network, and prints no secret material (only lengths and key ids).

use alloc::string::String;
use alloc::vec::Vec;

use kms_seal_core::envelope::{BlobInfo, DecodedValue, StoredValue};

use crate::json_out::Json;

/// The JSON description of a decoded stored value, pretty-printed (members in alphabetical
/// order):
///
/// ```json
/// {"blobs": [{"ciphertext_len": 27, "has_client_data": false, "has_key_info": true,
///             "hmac_len": 0, "iv_len": 12, "key_id": "arn:...", "mechanism": 1,
///             "mechanism_name": "awskms-envelope-aes-gcm", "wrapped_key_len": 184}],
///  "canary": false, "format": "blobinfo" | "multiwrapvalue:1", "generation": null | N}
/// ```
pub(crate) fn describe(decoded: &DecodedValue) -> String {
    let (format, generation, blobs): (&str, Option<u64>, &[BlobInfo]) = match &decoded.value {
        StoredValue::Bare(blob) => ("blobinfo", None, core::slice::from_ref(blob)),
        StoredValue::Multi(multi) => ("multiwrapvalue:1", Some(multi.generation), &multi.slots),
    };
    let members: Vec<[(&str, Json<'_>); 9]> = blobs.iter().map(describe_blob).collect();
    let blobs: Vec<Json<'_>> = members.iter().map(|m| Json::Object(m)).collect();
    Json::Object(&[
        ("blobs", Json::Array(&blobs)),
        ("canary", Json::Bool(decoded.canary)),
        ("format", Json::Str(format)),
        ("generation", generation.map_or(Json::Null, Json::Uint)),
    ])
    .pretty()
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
    use kms_seal_core::envelope::{KeyInfo, MultiWrapValue, decode_stored_value};
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
        let v: Value =
            serde_json::from_str(&describe(&decode_stored_value(&bytes).unwrap())).unwrap();
        assert_eq!(v["format"], "blobinfo");
        assert_eq!(v["canary"], false);
        assert_eq!(v["generation"], Value::Null);
        assert_eq!(v["blobs"][0]["mechanism"], 1);
        assert_eq!(v["blobs"][0]["key_id"], "arn:aws:kms:us-east-1:1:key/a");
        assert_eq!(v["blobs"][0]["iv_len"], 12);
        assert_eq!(v["blobs"][0]["ciphertext_len"], 27);
        assert_eq!(v["blobs"][0]["wrapped_key_len"], 100);
    }

    #[test]
    fn describes_a_framed_value_with_canary() {
        let multi = StoredValue::Multi(MultiWrapValue {
            generation: 3,
            slots: vec![blob(1, "k1"), blob(0, "k0")],
        });
        let v: Value = serde_json::from_str(&describe(
            &decode_stored_value(&multi.encode_with_canary()).unwrap(),
        ))
        .unwrap();
        assert_eq!(v["format"], "multiwrapvalue:1");
        assert_eq!(v["canary"], true);
        assert_eq!(v["generation"], 3);
        assert_eq!(v["blobs"].as_array().unwrap().len(), 2);
        assert_eq!(v["blobs"][1]["mechanism"], 0);
    }
}
