//! `ReEncrypt`: decrypts a ciphertext and encrypts the plaintext under another key inside KMS,
//! without the plaintext leaving it. Useful to rewrap mechanism-0 blobs after a key change.
//!
//! In: `CiphertextBlob`*, `SourceEncryptionContext`, `SourceKeyId`, `DestinationKeyId`*,
//! `DestinationEncryptionContext`, `GrantTokens`. Out: `CiphertextBlob`, `SourceKeyId`, `KeyId`,
//! `SourceEncryptionAlgorithm`, `DestinationEncryptionAlgorithm`.

use alloc::string::String;
use alloc::vec::Vec;

use super::json::{self, ObjectWriter, Sink, WriteMembers};
use super::json_reader::Reader;
use super::{MAX_CIPHERTEXT_LEN, MalformedResponse, Operation, RequestError};

/// A `ReEncrypt` request.
#[derive(Clone, Copy, Debug)]
pub struct ReEncryptRequest<'a> {
    /// The ciphertext to move to another key.
    pub ciphertext_blob: &'a [u8],
    /// The key to encrypt under: key id, key ARN, alias name or alias ARN.
    pub destination_key_id: &'a str,
    /// Insist that the ciphertext was made by this key; `None` lets KMS find it.
    pub source_key_id: Option<&'a str>,
    /// The encryption context the ciphertext was made with; empty for none.
    pub source_encryption_context: &'a [(String, String)],
    /// The encryption context for the new ciphertext; empty for none.
    pub destination_encryption_context: &'a [(String, String)],
    /// Grant tokens; empty for none.
    pub grant_tokens: &'a [String],
}

impl<'a> ReEncryptRequest<'a> {
    /// A request without encryption contexts, source key or grant tokens.
    pub fn new(ciphertext_blob: &'a [u8], destination_key_id: &'a str) -> Self {
        ReEncryptRequest {
            ciphertext_blob,
            destination_key_id,
            source_key_id: None,
            source_encryption_context: &[],
            destination_encryption_context: &[],
            grant_tokens: &[],
        }
    }

    /// The JSON body.
    ///
    /// # Errors
    /// [`RequestError`] when the ciphertext, key ids, contexts or grant tokens are outside
    /// what KMS accepts.
    pub fn to_body(&self) -> Result<Vec<u8>, RequestError> {
        let n = self.ciphertext_blob.len();
        if n == 0 || n > MAX_CIPHERTEXT_LEN {
            return Err(RequestError::CiphertextLength(n));
        }
        json::check_key_id(self.destination_key_id)?;
        if let Some(source) = self.source_key_id {
            json::check_key_id(source)?;
        }
        json::check_context_and_tokens(self.source_encryption_context, self.grant_tokens)?;
        json::check_context_and_tokens(self.destination_encryption_context, &[])?;
        Ok(core::mem::take(&mut *json::object(self)))
    }
}

impl WriteMembers for ReEncryptRequest<'_> {
    fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
        o.blob("CiphertextBlob", self.ciphertext_blob);
        o.string_map("SourceEncryptionContext", self.source_encryption_context);
        o.opt_string("SourceKeyId", self.source_key_id);
        o.string("DestinationKeyId", self.destination_key_id);
        o.string_map(
            "DestinationEncryptionContext",
            self.destination_encryption_context,
        );
        o.string_array("GrantTokens", self.grant_tokens);
    }
}

/// A parsed `ReEncrypt` response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReEncryptResponse {
    /// The new ciphertext.
    pub ciphertext_blob: Vec<u8>,
    /// ARN of the key that made the old ciphertext.
    pub source_key_id: Option<String>,
    /// ARN of the key that made the new ciphertext.
    pub key_id: String,
    /// Algorithm of the old ciphertext, when named.
    pub source_encryption_algorithm: Option<String>,
    /// Algorithm of the new ciphertext, when named.
    pub destination_encryption_algorithm: Option<String>,
}

impl ReEncryptResponse {
    /// Parses a 2xx response body.
    ///
    /// # Errors
    /// [`MalformedResponse`] when the body is not JSON or `CiphertextBlob` or `KeyId` is
    /// missing, or the blob is not base64.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedResponse> {
        const OP: Operation = Operation::ReEncrypt;
        let mut blob = None;
        let (mut source_key_id, mut key_id) = (None, None);
        let (mut source_algorithm, mut destination_algorithm) = (None, None);
        super::parse_object(OP, body, |r, name| match &*name {
            "CiphertextBlob" => r.once(&mut blob, Reader::opt_string),
            "SourceKeyId" => r.once(&mut source_key_id, Reader::opt_owned_string),
            "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
            "SourceEncryptionAlgorithm" => r.once(&mut source_algorithm, Reader::opt_owned_string),
            "DestinationEncryptionAlgorithm" => {
                r.once(&mut destination_algorithm, Reader::opt_owned_string)
            }
            _ => r.skip(),
        })?;
        let blob = super::required(OP, "CiphertextBlob", blob.flatten())?;
        Ok(ReEncryptResponse {
            ciphertext_blob: super::decode_blob(OP, "CiphertextBlob", &blob)?,
            source_key_id: source_key_id.flatten().filter(|k| !k.is_empty()),
            key_id: super::required(OP, "KeyId", key_id.flatten().filter(|k| !k.is_empty()))?,
            source_encryption_algorithm: source_algorithm.flatten(),
            destination_encryption_algorithm: destination_algorithm.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::Problem;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn writes_source_and_destination() {
        let src = vec![("v".to_string(), "1".to_string())];
        let dst = vec![("v".to_string(), "2".to_string())];
        let req = ReEncryptRequest {
            source_encryption_context: &src,
            destination_encryption_context: &dst,
            source_key_id: Some("arn:a"),
            ..ReEncryptRequest::new(&[9], "alias/b")
        };
        assert_eq!(
            req.to_body().unwrap(),
            br#"{"CiphertextBlob":"CQ==","SourceEncryptionContext":{"v":"1"},"SourceKeyId":"arn:a","DestinationKeyId":"alias/b","DestinationEncryptionContext":{"v":"2"}}"#
        );
        assert_eq!(
            ReEncryptRequest::new(&[9], "").to_body().unwrap_err(),
            RequestError::EmptyKeyId
        );
        assert_eq!(
            ReEncryptRequest::new(&[], "k").to_body().unwrap_err(),
            RequestError::CiphertextLength(0)
        );
    }

    #[test]
    fn parses_the_response() {
        let r = ReEncryptResponse::parse(
            br#"{"CiphertextBlob":"CQ==","SourceKeyId":"arn:a","KeyId":"arn:b","SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#,
        )
        .unwrap();
        assert_eq!(r.ciphertext_blob, [9]);
        assert_eq!(r.source_key_id.as_deref(), Some("arn:a"));
        assert_eq!(r.key_id, "arn:b");
        assert_eq!(r.destination_encryption_algorithm, None);
        assert_eq!(
            ReEncryptResponse::parse(br#"{"CiphertextBlob":"CQ=="}"#)
                .unwrap_err()
                .problem(),
            Problem::MissingField("KeyId")
        );
    }
}
