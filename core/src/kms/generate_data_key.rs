//! `GenerateDataKey`: a fresh data key from KMS, in plaintext and encrypted under a KMS key.
//!
//! In: `KeyId`*, `EncryptionContext`, `NumberOfBytes` (1..=1024) or `KeySpec`
//! (`AES_256` | `AES_128`), `GrantTokens`. Out: `CiphertextBlob`, `Plaintext`, `KeyId`.
//!
//! Vault's seal makes its data keys locally and wraps them with `Encrypt`; this operation is
//! here for callers that prefer KMS's random source.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::json::{self, ObjectWriter, Sink, WriteMembers};
use super::json_reader::Reader;
use super::{MalformedResponse, Operation, RequestError};
use zeroize::Zeroizing;

/// How big a data key to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataKeySpec {
    /// `KeySpec: AES_256` (32 bytes), what the seal's envelope uses.
    Aes256,
    /// `KeySpec: AES_128` (16 bytes).
    Aes128,
    /// `NumberOfBytes: n`, 1..=1024.
    Bytes(u32),
}

/// A `GenerateDataKey` request.
#[derive(Clone, Copy, Debug)]
pub struct GenerateDataKeyRequest<'a> {
    /// Key id, key ARN, alias name or alias ARN.
    pub key_id: &'a str,
    /// The size of the data key.
    pub spec: DataKeySpec,
    /// Encryption context; empty for none.
    pub encryption_context: &'a [(String, String)],
    /// Grant tokens; empty for none.
    pub grant_tokens: &'a [String],
}

impl<'a> GenerateDataKeyRequest<'a> {
    /// A request for a 256-bit AES key.
    pub fn new(key_id: &'a str) -> Self {
        GenerateDataKeyRequest {
            key_id,
            spec: DataKeySpec::Aes256,
            encryption_context: &[],
            grant_tokens: &[],
        }
    }

    /// The JSON body.
    ///
    /// # Errors
    /// [`RequestError`] when the key id, size, context or grant tokens are outside what KMS
    /// accepts.
    pub fn to_body(&self) -> Result<Vec<u8>, RequestError> {
        json::check_key_id(self.key_id)?;
        if let DataKeySpec::Bytes(n) = self.spec
            && !(1..=1024).contains(&n)
        {
            return Err(RequestError::NumberOfBytes(n));
        }
        json::check_context_and_tokens(self.encryption_context, self.grant_tokens)?;
        Ok(core::mem::take(&mut *json::object(self)))
    }
}

impl WriteMembers for GenerateDataKeyRequest<'_> {
    fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
        o.string("KeyId", self.key_id);
        o.string_map("EncryptionContext", self.encryption_context);
        match self.spec {
            DataKeySpec::Aes256 => o.string("KeySpec", "AES_256"),
            DataKeySpec::Aes128 => o.string("KeySpec", "AES_128"),
            DataKeySpec::Bytes(n) => o.number("NumberOfBytes", n),
        }
        o.string_array("GrantTokens", self.grant_tokens);
    }
}

/// A parsed `GenerateDataKey` response. `Debug` shows the plaintext's length only.
#[derive(Clone)]
pub struct GenerateDataKeyResponse {
    /// The data key encrypted under the KMS key.
    pub ciphertext_blob: Vec<u8>,
    /// The data key, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// ARN of the KMS key.
    pub key_id: Option<String>,
}

impl GenerateDataKeyResponse {
    /// Parses a 2xx response body. Zeroize `body` afterwards: it holds the key's base64.
    ///
    /// # Errors
    /// [`MalformedResponse`] when the body is not JSON or a blob is missing or not base64.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedResponse> {
        const OP: Operation = Operation::GenerateDataKey;
        let (mut blob, mut plaintext, mut key_id) = (None, None, None);
        super::parse_object(OP, body, |r, name| match &*name {
            "CiphertextBlob" => r.once(&mut blob, Reader::opt_string),
            "Plaintext" => r.once(&mut plaintext, Reader::opt_string),
            "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
            _ => r.skip(),
        })?;
        let plaintext = super::required(OP, "Plaintext", plaintext.flatten())?;
        let plaintext = super::decode_secret(OP, "Plaintext", plaintext)?;
        let blob = super::required(OP, "CiphertextBlob", blob.flatten())?;
        Ok(GenerateDataKeyResponse {
            ciphertext_blob: super::decode_blob(OP, "CiphertextBlob", &blob)?,
            plaintext,
            key_id: key_id.flatten().filter(|k| !k.is_empty()),
        })
    }
}

impl fmt::Debug for GenerateDataKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateDataKeyResponse")
            .field("ciphertext_blob_len", &self.ciphertext_blob.len())
            .field("plaintext_len", &self.plaintext.len())
            .field("key_id", &self.key_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::Problem;
    use alloc::format;

    #[test]
    fn writes_key_spec_or_size() {
        let body = GenerateDataKeyRequest::new("alias/a").to_body().unwrap();
        assert_eq!(body, br#"{"KeyId":"alias/a","KeySpec":"AES_256"}"#);
        let req = GenerateDataKeyRequest {
            spec: DataKeySpec::Bytes(64),
            ..GenerateDataKeyRequest::new("k")
        };
        assert_eq!(
            req.to_body().unwrap(),
            br#"{"KeyId":"k","NumberOfBytes":64}"#
        );
        let req = GenerateDataKeyRequest {
            spec: DataKeySpec::Aes128,
            ..GenerateDataKeyRequest::new("k")
        };
        assert_eq!(
            req.to_body().unwrap(),
            br#"{"KeyId":"k","KeySpec":"AES_128"}"#
        );
        for bad in [0, 1025] {
            let req = GenerateDataKeyRequest {
                spec: DataKeySpec::Bytes(bad),
                ..GenerateDataKeyRequest::new("k")
            };
            assert_eq!(req.to_body().unwrap_err(), RequestError::NumberOfBytes(bad));
        }
    }

    #[test]
    fn parses_and_hides_the_key() {
        let r = GenerateDataKeyResponse::parse(
            br#"{"CiphertextBlob":"AQID","Plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","KeyId":"arn:k"}"#,
        )
        .unwrap();
        assert_eq!(r.plaintext.len(), 32);
        assert_eq!(r.ciphertext_blob, [1, 2, 3]);
        assert_eq!(r.key_id.as_deref(), Some("arn:k"));
        assert!(format!("{r:?}").contains("plaintext_len: 32"));
        let e = GenerateDataKeyResponse::parse(br#"{"Plaintext":"AAAA"}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::MissingField("CiphertextBlob"));
    }
}
