//! `Decrypt`: decrypts a ciphertext made by `Encrypt`, `GenerateDataKey` or `ReEncrypt`.
//!
//! In: `CiphertextBlob`*, `EncryptionContext`, `GrantTokens`, `KeyId`, `EncryptionAlgorithm`.
//! Out: `KeyId`, `Plaintext`, `EncryptionAlgorithm`.
//!
//! Vault sends only the ciphertext (plus any configured context and grant tokens): KMS finds
//! the key from the ciphertext itself, which is what keeps data readable after an alias moves.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zeroize::Zeroizing;

use super::json::{self, ObjectWriter, Sink, WriteMembers};
use super::json_reader::Reader;
use super::{MAX_CIPHERTEXT_LEN, MalformedResponse, Operation, RequestError};

/// A `Decrypt` request.
#[derive(Clone, Copy, Debug)]
pub struct DecryptRequest<'a> {
    /// The ciphertext, 1..=6144 bytes.
    pub ciphertext_blob: &'a [u8],
    /// The encryption context used at encryption; empty for none.
    pub encryption_context: &'a [(String, String)],
    /// Grant tokens; empty for none.
    pub grant_tokens: &'a [String],
    /// Insist on this key (`KeyId`); `None` lets KMS pick it from the ciphertext.
    pub key_id: Option<&'a str>,
    /// `EncryptionAlgorithm`; `None` sends none.
    pub encryption_algorithm: Option<&'a str>,
}

impl<'a> DecryptRequest<'a> {
    /// A request with only the ciphertext.
    pub fn new(ciphertext_blob: &'a [u8]) -> Self {
        DecryptRequest {
            ciphertext_blob,
            encryption_context: &[],
            grant_tokens: &[],
            key_id: None,
            encryption_algorithm: None,
        }
    }

    /// The JSON body.
    ///
    /// # Errors
    /// [`RequestError`] when the ciphertext is empty or too long, or the key id, context or
    /// grant tokens are outside what KMS accepts.
    pub fn to_body(&self) -> Result<Vec<u8>, RequestError> {
        let n = self.ciphertext_blob.len();
        if n == 0 || n > MAX_CIPHERTEXT_LEN {
            return Err(RequestError::CiphertextLength(n));
        }
        if let Some(key_id) = self.key_id {
            json::check_key_id(key_id)?;
        }
        json::check_context_and_tokens(self.encryption_context, self.grant_tokens)?;
        Ok(core::mem::take(&mut *json::object(self)))
    }
}

impl WriteMembers for DecryptRequest<'_> {
    fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
        o.blob("CiphertextBlob", self.ciphertext_blob);
        o.string_map("EncryptionContext", self.encryption_context);
        o.string_array("GrantTokens", self.grant_tokens);
        o.opt_string("KeyId", self.key_id);
        o.opt_string("EncryptionAlgorithm", self.encryption_algorithm);
    }
}

/// A parsed `Decrypt` response. `Debug` shows the plaintext's length only.
#[derive(Clone)]
pub struct DecryptResponse {
    /// ARN of the key that decrypted, when the service names it.
    pub key_id: Option<String>,
    /// The plaintext, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The algorithm, when the service names it.
    pub encryption_algorithm: Option<String>,
}

impl DecryptResponse {
    /// Parses a 2xx response body. Zeroize `body` afterwards: it holds the plaintext's base64.
    ///
    /// # Errors
    /// [`MalformedResponse`] when the body is not JSON or `Plaintext` is missing or not base64.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedResponse> {
        const OP: Operation = Operation::Decrypt;
        let (mut key_id, mut plaintext, mut encryption_algorithm) = (None, None, None);
        super::parse_object(OP, body, |r, name| match &*name {
            "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
            "Plaintext" => r.once(&mut plaintext, Reader::opt_string),
            "EncryptionAlgorithm" => r.once(&mut encryption_algorithm, Reader::opt_owned_string),
            _ => r.skip(),
        })?;
        let plaintext = super::required(OP, "Plaintext", plaintext.flatten())?;
        Ok(DecryptResponse {
            plaintext: super::decode_secret(OP, "Plaintext", plaintext)?,
            key_id: key_id.flatten().filter(|k| !k.is_empty()),
            encryption_algorithm: encryption_algorithm.flatten(),
        })
    }
}

impl fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptResponse")
            .field("key_id", &self.key_id)
            .field("plaintext_len", &self.plaintext.len())
            .field("encryption_algorithm", &self.encryption_algorithm)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::Problem;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn writes_only_what_is_set() {
        let body = DecryptRequest::new(&[1, 2, 3]).to_body().unwrap();
        assert_eq!(body, br#"{"CiphertextBlob":"AQID"}"#);
        let ctx = vec![("a".to_string(), "b".to_string())];
        let req = DecryptRequest {
            encryption_context: &ctx,
            key_id: Some("arn:k"),
            ..DecryptRequest::new(&[1, 2, 3])
        };
        assert_eq!(
            req.to_body().unwrap(),
            br#"{"CiphertextBlob":"AQID","EncryptionContext":{"a":"b"},"KeyId":"arn:k"}"#
        );
        assert_eq!(
            DecryptRequest::new(&[]).to_body().unwrap_err(),
            RequestError::CiphertextLength(0)
        );
        assert_eq!(
            DecryptRequest::new(&[0; 6145]).to_body().unwrap_err(),
            RequestError::CiphertextLength(6145)
        );
    }

    #[test]
    fn parses_plaintext_and_hides_it() {
        let r = DecryptResponse::parse(
            br#"{"KeyId":"arn:aws:kms:us-east-1:1:key/a","Plaintext":"c2VjcmV0LWRhdGEta2V5","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#,
        )
        .unwrap();
        assert_eq!(r.plaintext.as_slice(), b"secret-data-key");
        assert_eq!(r.key_id.as_deref(), Some("arn:aws:kms:us-east-1:1:key/a"));
        let shown = format!("{r:?}");
        assert!(!shown.contains("secret"));
        assert!(shown.contains("plaintext_len: 15"));
    }

    #[test]
    fn escaped_base64_still_decodes() {
        let r = DecryptResponse::parse(br#"{"Plaintext":"aGk\/"}"#).unwrap();
        assert_eq!(r.plaintext.as_slice(), [0x68, 0x69, 0x3f]);
        assert_eq!(r.key_id, None);
    }

    #[test]
    fn rejects_missing_or_bad_plaintext() {
        let e = DecryptResponse::parse(br#"{"KeyId":"k"}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::MissingField("Plaintext"));
        let e = DecryptResponse::parse(br#"{"Plaintext":"***"}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::BadBase64("Plaintext"));
        let e = DecryptResponse::parse(br#"{"Plaintext":"c2VjcmV0LWRhdGEta2V5" "#).unwrap_err();
        assert!(!e.to_string().contains("c2Vj"));
    }
}
