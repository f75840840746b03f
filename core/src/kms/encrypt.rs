//! `Encrypt`: encrypts up to 4 KiB under a KMS key. The seal uses it to wrap data keys.
//!
//! In: `KeyId`*, `Plaintext`* (1..4096 bytes), `EncryptionContext`, `GrantTokens`,
//! `EncryptionAlgorithm`. Out: `CiphertextBlob`, `KeyId` (always the key ARN, even when called
//! with an alias), `EncryptionAlgorithm` (moto leaves it out).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zeroize::Zeroizing;

use super::json::{self, ObjectWriter, Sink, WriteMembers};
use super::json_reader::Reader;
use super::{MAX_PLAINTEXT_LEN, MalformedResponse, Operation, RequestError};

/// An `Encrypt` request. `Debug` shows the plaintext's length only.
#[derive(Clone, Copy)]
pub struct EncryptRequest<'a> {
    /// Key id, key ARN, alias name (`alias/x`) or alias ARN.
    pub key_id: &'a str,
    /// What to encrypt, 1..=4096 bytes.
    pub plaintext: &'a [u8],
    /// Encryption context (additional authenticated data KMS binds to the ciphertext); empty
    /// for none.
    pub encryption_context: &'a [(String, String)],
    /// Grant tokens; empty for none.
    pub grant_tokens: &'a [String],
    /// `EncryptionAlgorithm`; `None` sends none (KMS uses `SYMMETRIC_DEFAULT`).
    pub encryption_algorithm: Option<&'a str>,
}

impl<'a> EncryptRequest<'a> {
    /// A request with no encryption context, grant tokens or algorithm.
    pub fn new(key_id: &'a str, plaintext: &'a [u8]) -> Self {
        EncryptRequest {
            key_id,
            plaintext,
            encryption_context: &[],
            grant_tokens: &[],
            encryption_algorithm: None,
        }
    }

    /// The JSON body, in a buffer zeroized on drop (it holds the plaintext's base64).
    ///
    /// # Errors
    /// [`RequestError`] when a value is outside what KMS accepts (empty key id, plaintext
    /// empty or over 4096 bytes, bad context or grant tokens).
    pub fn to_body(&self) -> Result<Zeroizing<Vec<u8>>, RequestError> {
        json::check_key_id(self.key_id)?;
        if self.plaintext.is_empty() || self.plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(RequestError::PlaintextLength(self.plaintext.len()));
        }
        json::check_context_and_tokens(self.encryption_context, self.grant_tokens)?;
        Ok(json::object(self))
    }
}

impl WriteMembers for EncryptRequest<'_> {
    fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
        o.string("KeyId", self.key_id);
        o.blob("Plaintext", self.plaintext);
        o.string_map("EncryptionContext", self.encryption_context);
        o.string_array("GrantTokens", self.grant_tokens);
        o.opt_string("EncryptionAlgorithm", self.encryption_algorithm);
    }
}

impl fmt::Debug for EncryptRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("key_id", &self.key_id)
            .field("plaintext_len", &self.plaintext.len())
            .field("encryption_context", &self.encryption_context)
            .field("grant_tokens", &self.grant_tokens.len())
            .field("encryption_algorithm", &self.encryption_algorithm)
            .finish()
    }
}

/// A parsed `Encrypt` response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptResponse {
    /// The ciphertext (KMS's own format; opaque).
    pub ciphertext_blob: Vec<u8>,
    /// ARN of the key that encrypted (required: the seal stores it to track rotation).
    pub key_id: String,
    /// The algorithm, when the service names it.
    pub encryption_algorithm: Option<String>,
}

impl EncryptResponse {
    /// Parses a 2xx response body.
    ///
    /// # Errors
    /// [`MalformedResponse`] when the body is not JSON, `CiphertextBlob` or `KeyId` is missing,
    /// or the blob is not base64.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedResponse> {
        const OP: Operation = Operation::Encrypt;
        let (mut blob, mut key_id, mut encryption_algorithm) = (None, None, None);
        super::parse_object(OP, body, |r, name| match &*name {
            "CiphertextBlob" => r.once(&mut blob, Reader::opt_string),
            "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
            "EncryptionAlgorithm" => r.once(&mut encryption_algorithm, Reader::opt_owned_string),
            _ => r.skip(),
        })?;
        let blob = super::required(OP, "CiphertextBlob", blob.flatten())?;
        Ok(EncryptResponse {
            ciphertext_blob: super::decode_blob(OP, "CiphertextBlob", &blob)?,
            key_id: super::required(OP, "KeyId", key_id.flatten().filter(|k| !k.is_empty()))?,
            encryption_algorithm: encryption_algorithm.flatten(),
        })
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
    fn writes_the_body() {
        let ctx = vec![("purpose".to_string(), "seal".to_string())];
        let tokens = vec!["gt".to_string()];
        let req = EncryptRequest {
            encryption_context: &ctx,
            grant_tokens: &tokens,
            ..EncryptRequest::new("alias/vault", b"hi")
        };
        let body = req.to_body().unwrap();
        assert_eq!(
            core::str::from_utf8(&body).unwrap(),
            r#"{"KeyId":"alias/vault","Plaintext":"aGk=","EncryptionContext":{"purpose":"seal"},"GrantTokens":["gt"]}"#
        );
        let minimal = EncryptRequest {
            encryption_algorithm: Some("SYMMETRIC_DEFAULT"),
            ..EncryptRequest::new("k", b"x")
        };
        assert_eq!(
            core::str::from_utf8(&minimal.to_body().unwrap()).unwrap(),
            r#"{"KeyId":"k","Plaintext":"eA==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#
        );
    }

    #[test]
    fn refuses_what_kms_would_refuse() {
        assert_eq!(
            EncryptRequest::new("k", b"").to_body().unwrap_err(),
            RequestError::PlaintextLength(0)
        );
        assert_eq!(
            EncryptRequest::new("k", &[0; 4097]).to_body().unwrap_err(),
            RequestError::PlaintextLength(4097)
        );
        assert!(EncryptRequest::new("k", &[0; 4096]).to_body().is_ok());
        assert_eq!(
            EncryptRequest::new("", b"x").to_body().unwrap_err(),
            RequestError::EmptyKeyId
        );
    }

    #[test]
    fn debug_hides_the_plaintext() {
        let s = format!("{:?}", EncryptRequest::new("k", b"top-secret"));
        assert!(!s.contains("top-secret"));
        assert!(s.contains("plaintext_len: 10"));
    }

    #[test]
    fn parses_aws_and_moto_responses() {
        let aws = br#"{"CiphertextBlob":"AQID","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}"#;
        let r = EncryptResponse::parse(aws).unwrap();
        assert_eq!(r.ciphertext_blob, [1, 2, 3]);
        assert!(
            r.key_id
                .ends_with(":key/1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(r.encryption_algorithm.as_deref(), Some("SYMMETRIC_DEFAULT"));

        let moto = br#"{"CiphertextBlob": "AQID", "KeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "Extra": {"x": [1, null]}}"#;
        let r = EncryptResponse::parse(moto).unwrap();
        assert_eq!(r.encryption_algorithm, None);
    }

    #[test]
    fn rejects_incomplete_responses() {
        let e = EncryptResponse::parse(br#"{"KeyId":"arn"}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::MissingField("CiphertextBlob"));
        let e = EncryptResponse::parse(br#"{"CiphertextBlob":"AQID","KeyId":null}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::MissingField("KeyId"));
        let e = EncryptResponse::parse(br#"{"CiphertextBlob":"A","KeyId":"k"}"#).unwrap_err();
        assert_eq!(e.problem(), Problem::BadBase64("CiphertextBlob"));
        let e = EncryptResponse::parse(br#"{"CiphertextBlob":1,"KeyId":"k"}"#).unwrap_err();
        assert!(matches!(e.problem(), Problem::WrongType { .. }));
        assert!(EncryptResponse::parse(b"").is_err());
    }
}
