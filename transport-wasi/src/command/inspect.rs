//! `inspect`: describes a stored value offline, as JSON, in the same shape as the native
//! `kms-seal inspect`. Needs no configuration, credentials or network, and prints no secret
//! material (only lengths and key ids).

use alloc::vec::Vec;

use kms_seal_core::envelope::{BlobInfo, DecodedValue, StoredValue};
use serde_json::{Value, json};

/// The JSON description of a decoded stored value:
///
/// ```json
/// {"format": "blobinfo" | "multiwrapvalue:1", "canary": false, "generation": null | N,
///  "blobs": [{"mechanism": 1, "mechanism_name": "...", "key_id": "arn:...", "iv_len": 12,
///             "ciphertext_len": 27, "wrapped_key_len": 184, "hmac_len": 0,
///             "has_key_info": true, "has_client_data": false}]}
/// ```
pub fn describe(decoded: &DecodedValue) -> Value {
    let (format, generation, blobs): (&str, Option<u64>, &[BlobInfo]) = match &decoded.value {
        StoredValue::Bare(blob) => ("blobinfo", None, core::slice::from_ref(blob)),
        StoredValue::Multi(multi) => ("multiwrapvalue:1", Some(multi.generation), &multi.slots),
    };
    json!({
        "format": format,
        "canary": decoded.canary,
        "generation": generation,
        "blobs": blobs.iter().map(describe_blob).collect::<Vec<_>>(),
    })
}

fn describe_blob(blob: &BlobInfo) -> Value {
    let mechanism = blob.mechanism();
    let key_info = blob.key_info.as_ref();
    json!({
        "mechanism": mechanism.as_u64(),
        "mechanism_name": mechanism.name(),
        "key_id": blob.key_id(),
        "iv_len": blob.iv.len(),
        "ciphertext_len": blob.ciphertext.len(),
        "wrapped_key_len": key_info.map_or(0, |k| k.wrapped_key.len()),
        "hmac_len": blob.hmac.len(),
        "has_key_info": key_info.is_some(),
        "has_client_data": !blob.client_data.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use kms_seal_core::envelope::{KeyInfo, MultiWrapValue, decode_stored_value};

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
    fn describes_bare_and_framed_values() {
        let bytes = StoredValue::Bare(blob(1, "arn:aws:kms:us-east-1:1:key/a")).encode();
        let v = describe(&decode_stored_value(&bytes).unwrap());
        assert_eq!(v["format"], "blobinfo");
        assert_eq!(v["generation"], Value::Null);
        assert_eq!(v["blobs"][0]["key_id"], "arn:aws:kms:us-east-1:1:key/a");
        assert_eq!(v["blobs"][0]["wrapped_key_len"], 100);

        let multi = StoredValue::Multi(MultiWrapValue {
            generation: 3,
            slots: vec![blob(1, "k1"), blob(0, "k0")],
        });
        let v = describe(&decode_stored_value(&multi.encode_with_canary()).unwrap());
        assert_eq!(v["format"], "multiwrapvalue:1");
        assert_eq!(v["canary"], true);
        assert_eq!(v["generation"], 3);
        assert_eq!(v["blobs"][1]["mechanism"], 0);
    }
}
