//! `DescribeKey`: a key's metadata. Vault calls it once at start-up to learn the key ARN
//! behind the configured id or alias.
//!
//! In: `KeyId`* (key id, key ARN, alias name or alias ARN), `GrantTokens`.
//! Out: `KeyMetadata` {`KeyId`*, `Arn`, `AWSAccountId`, `CreationDate`, `Enabled`,
//! `Description`, `KeyUsage`, `KeyState`, `Origin`, `KeySpec`, `KeyManager`, `MultiRegion`,
//! `EncryptionAlgorithms`, ...}. moto sends `KeyUsage: null`.

use alloc::string::String;
use alloc::vec::Vec;

use super::json::{self, ObjectWriter, Sink, WriteMembers};
use super::json_reader::{ReadError, Reader};
use super::{MalformedResponse, Operation, RequestError};
use crate::time::Timestamp;

/// A `DescribeKey` request.
#[derive(Clone, Copy, Debug)]
pub struct DescribeKeyRequest<'a> {
    /// Key id, key ARN, alias name (`alias/x`) or alias ARN.
    pub key_id: &'a str,
    /// Grant tokens; empty for none.
    pub grant_tokens: &'a [String],
}

impl<'a> DescribeKeyRequest<'a> {
    /// A request without grant tokens.
    pub fn new(key_id: &'a str) -> Self {
        DescribeKeyRequest {
            key_id,
            grant_tokens: &[],
        }
    }

    /// The JSON body.
    ///
    /// # Errors
    /// [`RequestError`] when the key id or grant tokens are outside what KMS accepts.
    pub fn to_body(&self) -> Result<Vec<u8>, RequestError> {
        json::check_key_id(self.key_id)?;
        json::check_context_and_tokens(&[], self.grant_tokens)?;
        Ok(core::mem::take(&mut *json::object(self)))
    }
}

impl WriteMembers for DescribeKeyRequest<'_> {
    fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
        o.string("KeyId", self.key_id);
        o.string_array("GrantTokens", self.grant_tokens);
    }
}

/// What `DescribeKey` says about a key. Fields other than `key_id` are optional because
/// emulators leave some out or send `null`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KeyMetadata {
    /// The key id (a UUID, or `mrk-...` for multi-Region keys).
    pub key_id: String,
    /// The key ARN.
    pub arn: Option<String>,
    /// The owning account.
    pub aws_account_id: Option<String>,
    /// When the key was created (whole seconds).
    pub creation_date: Option<Timestamp>,
    /// Whether the key is enabled.
    pub enabled: Option<bool>,
    /// The key's description.
    pub description: Option<String>,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`, `KEY_AGREEMENT`.
    pub key_usage: Option<String>,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, `Unavailable`, ...
    pub key_state: Option<String>,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: Option<String>,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ... (older responses name it `CustomerMasterKeySpec`).
    pub key_spec: Option<String>,
    /// `AWS` or `CUSTOMER`.
    pub key_manager: Option<String>,
    /// Whether it is a multi-Region key.
    pub multi_region: Option<bool>,
    /// The encryption algorithms the key supports.
    pub encryption_algorithms: Vec<String>,
}

impl KeyMetadata {
    /// The ARN, or the key id when the response had no ARN.
    pub fn arn_or_key_id(&self) -> &str {
        self.arn.as_deref().unwrap_or(&self.key_id)
    }

    /// Why this key cannot wrap the seal's data keys, when that is clear from the metadata
    /// (disabled, not for encryption, not symmetric); `None` when it looks usable or the
    /// metadata does not say.
    pub fn unusable_reason(&self) -> Option<&'static str> {
        if self.enabled == Some(false) {
            return Some("the key is disabled or pending deletion");
        }
        if let Some(state) = self.key_state.as_deref()
            && state != "Enabled"
            && state != "Updating"
        {
            return Some("the key is not in the Enabled state");
        }
        if self
            .key_usage
            .as_deref()
            .is_some_and(|u| u != "ENCRYPT_DECRYPT")
        {
            return Some("the key's usage is not ENCRYPT_DECRYPT");
        }
        if self
            .key_spec
            .as_deref()
            .is_some_and(|s| s != "SYMMETRIC_DEFAULT")
        {
            return Some("the key is not a symmetric (SYMMETRIC_DEFAULT) key");
        }
        None
    }

    /// Parses a 2xx `DescribeKey` response body.
    ///
    /// # Errors
    /// [`MalformedResponse`] when the body is not JSON, a field has the wrong type, or
    /// `KeyMetadata` or its `KeyId` is missing.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedResponse> {
        const OP: Operation = Operation::DescribeKey;
        let mut metadata = None;
        super::parse_object(OP, body, |r, name| match &*name {
            "KeyMetadata" => r.once(&mut metadata, read_metadata),
            _ => r.skip(),
        })?;
        let m = super::required(OP, "KeyMetadata", metadata.flatten())?;
        let key_id = m.key_id.flatten().filter(|k| !k.is_empty());
        Ok(KeyMetadata {
            key_id: super::required(OP, "KeyMetadata.KeyId", key_id)?,
            arn: m.arn.flatten().filter(|a| !a.is_empty()),
            aws_account_id: m.aws_account_id.flatten(),
            creation_date: m.creation_date.flatten().map(Timestamp),
            enabled: m.enabled.flatten(),
            description: m.description.flatten(),
            key_usage: m.key_usage.flatten(),
            key_state: m.key_state.flatten(),
            origin: m.origin.flatten(),
            key_spec: m
                .key_spec
                .flatten()
                .or(m.customer_master_key_spec.flatten()),
            key_manager: m.key_manager.flatten(),
            multi_region: m.multi_region.flatten(),
            encryption_algorithms: m.encryption_algorithms.flatten().unwrap_or_default(),
        })
    }
}

/// `KeyMetadata` as read: `None` for a member not seen, `Some(None)` for one that was `null`.
#[derive(Default)]
struct RawMetadata {
    key_id: Option<Option<String>>,
    arn: Option<Option<String>>,
    aws_account_id: Option<Option<String>>,
    creation_date: Option<Option<u64>>,
    enabled: Option<Option<bool>>,
    description: Option<Option<String>>,
    key_usage: Option<Option<String>>,
    key_state: Option<Option<String>>,
    origin: Option<Option<String>>,
    key_spec: Option<Option<String>>,
    customer_master_key_spec: Option<Option<String>>,
    key_manager: Option<Option<String>>,
    multi_region: Option<Option<bool>>,
    encryption_algorithms: Option<Option<Vec<String>>>,
}

/// Reads the `KeyMetadata` object, or `null`. `CreationDate` keeps whole seconds when it is a
/// plausible epoch time (non-negative, below 10^15) and is dropped otherwise.
fn read_metadata(r: &mut Reader<'_>) -> Result<Option<RawMetadata>, ReadError> {
    if r.null()? {
        return Ok(None);
    }
    let mut m = RawMetadata::default();
    r.object(|r, name| match &*name {
        "KeyId" => r.once(&mut m.key_id, Reader::opt_owned_string),
        "Arn" => r.once(&mut m.arn, Reader::opt_owned_string),
        "AWSAccountId" => r.once(&mut m.aws_account_id, Reader::opt_owned_string),
        "CreationDate" => r.once(&mut m.creation_date, Reader::opt_seconds),
        "Enabled" => r.once(&mut m.enabled, Reader::opt_bool),
        "Description" => r.once(&mut m.description, Reader::opt_owned_string),
        "KeyUsage" => r.once(&mut m.key_usage, Reader::opt_owned_string),
        "KeyState" => r.once(&mut m.key_state, Reader::opt_owned_string),
        "Origin" => r.once(&mut m.origin, Reader::opt_owned_string),
        "KeySpec" => r.once(&mut m.key_spec, Reader::opt_owned_string),
        "CustomerMasterKeySpec" => {
            r.once(&mut m.customer_master_key_spec, Reader::opt_owned_string)
        }
        "KeyManager" => r.once(&mut m.key_manager, Reader::opt_owned_string),
        "MultiRegion" => r.once(&mut m.multi_region, Reader::opt_bool),
        "EncryptionAlgorithms" => r.once(&mut m.encryption_algorithms, Reader::opt_string_array),
        _ => r.skip(),
    })?;
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::Problem;
    use alloc::string::ToString;

    const MOTO: &[u8] = br#"{"KeyMetadata": {"AWSAccountId": "123456789012", "Arn": "arn:aws:kms:us-east-1:123456789012:key/8f2d4b1e-0c3a-4e6f-9b7d-2a1c5e8f3d90", "CreationDate": 1795976393.657768, "CurrentKeyMaterialId": "abc", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "Description": "", "Enabled": true, "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "KeyId": "8f2d4b1e-0c3a-4e6f-9b7d-2a1c5e8f3d90", "KeyManager": "CUSTOMER", "KeyState": "Enabled", "KeyUsage": null, "MultiRegion": false, "Origin": "AWS_KMS", "KeySpec": "SYMMETRIC_DEFAULT", "SigningAlgorithms": null}}"#;

    #[test]
    fn writes_the_body() {
        let tokens = ["g".to_string()];
        let req = DescribeKeyRequest {
            grant_tokens: &tokens,
            ..DescribeKeyRequest::new("alias/vault")
        };
        assert_eq!(
            req.to_body().unwrap(),
            br#"{"KeyId":"alias/vault","GrantTokens":["g"]}"#
        );
        assert_eq!(
            DescribeKeyRequest::new("").to_body().unwrap_err(),
            RequestError::EmptyKeyId
        );
    }

    #[test]
    fn parses_moto_metadata() {
        let m = KeyMetadata::parse(MOTO).unwrap();
        assert_eq!(m.key_id, "8f2d4b1e-0c3a-4e6f-9b7d-2a1c5e8f3d90");
        assert_eq!(
            m.arn_or_key_id(),
            "arn:aws:kms:us-east-1:123456789012:key/8f2d4b1e-0c3a-4e6f-9b7d-2a1c5e8f3d90"
        );
        assert_eq!(m.creation_date, Some(Timestamp(1_795_976_393)));
        assert_eq!(m.key_usage, None);
        assert_eq!(m.enabled, Some(true));
        assert_eq!(m.multi_region, Some(false));
        assert_eq!(m.encryption_algorithms, ["SYMMETRIC_DEFAULT"]);
        assert_eq!(m.unusable_reason(), None);
    }

    #[test]
    fn minimal_and_unusable_keys() {
        let m = KeyMetadata::parse(
            br#"{"KeyMetadata":{"KeyId":"k","CustomerMasterKeySpec":"RSA_2048"}}"#,
        )
        .unwrap();
        assert_eq!(m.arn_or_key_id(), "k");
        assert_eq!(m.key_spec.as_deref(), Some("RSA_2048"));
        assert!(m.unusable_reason().unwrap().contains("symmetric"));
        let disabled = KeyMetadata {
            enabled: Some(false),
            ..KeyMetadata::default()
        };
        assert!(disabled.unusable_reason().unwrap().contains("disabled"));
        let signing = KeyMetadata {
            key_usage: Some("SIGN_VERIFY".into()),
            ..KeyMetadata::default()
        };
        assert!(
            signing
                .unusable_reason()
                .unwrap()
                .contains("ENCRYPT_DECRYPT")
        );
        let pending = KeyMetadata {
            key_state: Some("PendingDeletion".into()),
            ..KeyMetadata::default()
        };
        assert!(pending.unusable_reason().is_some());
    }

    #[test]
    fn rejects_missing_metadata() {
        assert_eq!(
            KeyMetadata::parse(b"{}").unwrap_err().problem(),
            Problem::MissingField("KeyMetadata")
        );
        assert_eq!(
            KeyMetadata::parse(br#"{"KeyMetadata":{"Arn":"a"}}"#)
                .unwrap_err()
                .problem(),
            Problem::MissingField("KeyMetadata.KeyId")
        );
        assert!(matches!(
            KeyMetadata::parse(br#"{"KeyMetadata":{"KeyId":"k","Enabled":"yes"}}"#)
                .unwrap_err()
                .problem(),
            Problem::WrongType { .. }
        ));
        let m = KeyMetadata::parse(br#"{"KeyMetadata":{"KeyId":"k","CreationDate":-5}}"#).unwrap();
        assert_eq!(m.creation_date, None);
    }
}
