//! The AWS KMS JSON protocol (awsJson1.1, target prefix `TrentService`), as values.
//!
//! One file per operation ([`encrypt`], [`decrypt`], [`generate_data_key`], [`describe_key`],
//! [`re_encrypt`]), each with a request that writes its JSON body and a response that parses
//! one. [`error`] turns error responses of any shape into a typed [`ServiceError`] and
//! classifies it for the retry policy; [`endpoint`] resolves the URL and signing region.
//!
//! Every call is `POST /` with `content-type: application/x-amz-json-1.1` and
//! `x-amz-target: TrentService.<Operation>`, signed with SigV4 for service `kms`;
//! [`build_request`] makes the unsigned request. Blobs travel as standard base64.
//!
//! Parsers are tolerant of what emulators such as moto send: unknown fields are skipped,
//! optional fields may be missing or `null`, and the content type of a success is not checked.
//!
//! Request bodies that carry secrets (plaintexts, data keys) are [`Zeroizing`] and allocated
//! once at their exact size; parsed plaintexts are [`Zeroizing`] too.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use zeroize::Zeroizing;

use crate::http::{Request, Scheme};
use json_reader::{ReadError, ReadErrorKind, Reader};

pub mod decrypt;
pub mod describe_key;
pub mod encrypt;
pub mod endpoint;
pub mod error;
pub mod generate_data_key;
pub mod re_encrypt;

mod json;
pub mod json_reader;

pub use decrypt::{DecryptRequest, DecryptResponse};
pub use describe_key::{DescribeKeyRequest, KeyMetadata};
pub use encrypt::{EncryptRequest, EncryptResponse};
pub use endpoint::{Endpoint, EndpointError, EndpointOptions};
pub use error::{ErrorClass, ServiceError};
pub use generate_data_key::{DataKeySpec, GenerateDataKeyRequest, GenerateDataKeyResponse};
pub use re_encrypt::{ReEncryptRequest, ReEncryptResponse};

/// `Content-Type` of every KMS request.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// SigV4 service name (and endpoint prefix) of KMS.
pub const SERVICE: &str = "kms";
/// Largest plaintext KMS `Encrypt` accepts, in bytes.
pub const MAX_PLAINTEXT_LEN: usize = 4096;
/// Largest `CiphertextBlob` KMS accepts, in bytes.
pub const MAX_CIPHERTEXT_LEN: usize = 6144;
/// Longest `KeyId` KMS accepts, in bytes.
pub const MAX_KEY_ID_LEN: usize = 2048;
/// Most grant tokens one request may carry.
pub const MAX_GRANT_TOKENS: usize = 10;
/// Deepest nesting of objects and arrays a response may have (KMS's own are 3 deep).
pub const MAX_JSON_DEPTH: usize = 32;

/// A KMS operation this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `Encrypt`: a plaintext of up to 4 KiB under a key.
    Encrypt,
    /// `Decrypt`: a ciphertext made by `Encrypt`/`GenerateDataKey`/`ReEncrypt`.
    Decrypt,
    /// `GenerateDataKey`: a fresh data key, in plaintext and encrypted.
    GenerateDataKey,
    /// `DescribeKey`: a key's metadata (ARN, state, usage).
    DescribeKey,
    /// `ReEncrypt`: decrypt and encrypt under another key without exposing the plaintext.
    ReEncrypt,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 5] = [
        Operation::Encrypt,
        Operation::Decrypt,
        Operation::GenerateDataKey,
        Operation::DescribeKey,
        Operation::ReEncrypt,
    ];

    /// The operation's name, as in the API reference (`GenerateDataKey`).
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Encrypt => "Encrypt",
            Operation::Decrypt => "Decrypt",
            Operation::GenerateDataKey => "GenerateDataKey",
            Operation::DescribeKey => "DescribeKey",
            Operation::ReEncrypt => "ReEncrypt",
        }
    }

    /// The `X-Amz-Target` header value (`TrentService.Encrypt`).
    pub const fn target(self) -> &'static str {
        match self {
            Operation::Encrypt => "TrentService.Encrypt",
            Operation::Decrypt => "TrentService.Decrypt",
            Operation::GenerateDataKey => "TrentService.GenerateDataKey",
            Operation::DescribeKey => "TrentService.DescribeKey",
            Operation::ReEncrypt => "TrentService.ReEncrypt",
        }
    }

    /// The operation named by an `X-Amz-Target` value, if it is one of ours.
    pub fn from_target(target: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.target() == target)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The unsigned HTTP request for one KMS call: `POST` to the endpoint's path with the `host`,
/// `content-type` and `x-amz-target` headers (names in lower case, in that order).
///
/// The signer adds `x-amz-date`, `authorization` and `x-amz-security-token`; the transport adds
/// `content-length`. If `body` holds a secret, zeroize `request.body` after sending.
pub fn build_request(endpoint: &Endpoint, operation: Operation, body: Vec<u8>) -> Request {
    let authority = String::from(endpoint.authority());
    Request {
        method: "POST",
        scheme: endpoint.scheme(),
        path_and_query: String::from(endpoint.path()),
        headers: vec![
            (String::from("host"), authority.clone()),
            (String::from("content-type"), String::from(CONTENT_TYPE)),
            (
                String::from("x-amz-target"),
                String::from(operation.target()),
            ),
        ],
        authority,
        body,
    }
}

/// Whether `scheme` is allowed to reach `endpoint` (plain HTTP only on loopback). Endpoints
/// built by this module already satisfy it; transports may call it as a last check.
pub fn scheme_allowed(scheme: Scheme, host: &str) -> bool {
    scheme == Scheme::Https || endpoint::is_loopback_host(host)
}

/// A request that KMS would reject, caught before sending. The caller passed bad values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// `KeyId` (or `DestinationKeyId`) is empty.
    EmptyKeyId,
    /// `KeyId` is longer than [`MAX_KEY_ID_LEN`] bytes.
    KeyIdTooLong(usize),
    /// The `Encrypt` plaintext is empty or longer than [`MAX_PLAINTEXT_LEN`] bytes.
    PlaintextLength(usize),
    /// The `CiphertextBlob` is empty or longer than [`MAX_CIPHERTEXT_LEN`] bytes.
    CiphertextLength(usize),
    /// An encryption context key is empty.
    EmptyContextKey,
    /// The same encryption context key appears twice.
    DuplicateContextKey,
    /// More than [`MAX_GRANT_TOKENS`] grant tokens.
    TooManyGrantTokens(usize),
    /// A grant token is empty.
    EmptyGrantToken,
    /// `NumberOfBytes` outside 1..=1024.
    NumberOfBytes(u32),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::EmptyKeyId => {
                f.write_str("the kms key id is empty: set kms_key_id to a key id, key arn or alias")
            }
            RequestError::KeyIdTooLong(n) => write!(
                f,
                "the kms key id is {n} bytes long, more than kms allows ({MAX_KEY_ID_LEN}): check kms_key_id"
            ),
            RequestError::PlaintextLength(n) => write!(
                f,
                "kms encrypt takes 1 to {MAX_PLAINTEXT_LEN} bytes of plaintext, not {n}: use envelope encryption for larger values"
            ),
            RequestError::CiphertextLength(n) => write!(
                f,
                "a kms ciphertext is 1 to {MAX_CIPHERTEXT_LEN} bytes, not {n}: the stored value is damaged or not a kms ciphertext"
            ),
            RequestError::EmptyContextKey => {
                f.write_str("an encryption context key is empty: give every context entry a name")
            }
            RequestError::DuplicateContextKey => {
                f.write_str("an encryption context key appears twice: remove the duplicate")
            }
            RequestError::TooManyGrantTokens(n) => write!(
                f,
                "{n} grant tokens given, kms accepts at most {MAX_GRANT_TOKENS}: remove some"
            ),
            RequestError::EmptyGrantToken => f.write_str("a grant token is empty: remove it"),
            RequestError::NumberOfBytes(n) => write!(
                f,
                "a data key is 1 to 1024 bytes, not {n}: use DataKeySpec::Aes256 for the seal"
            ),
        }
    }
}

impl core::error::Error for RequestError {}

/// A success response (HTTP 2xx) whose body is not what the operation returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedResponse {
    operation: Operation,
    problem: Problem,
}

/// What is wrong with a [`MalformedResponse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The body is not JSON (or is cut short) at this line and column.
    NotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A field has the wrong JSON type, near this line and column.
    WrongType {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Objects and arrays are nested deeper than [`MAX_JSON_DEPTH`], at this line and column.
    TooDeep {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A field appears twice in one object, the second time at this line and column.
    DuplicateField {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A required field is missing or `null`.
    MissingField(&'static str),
    /// A blob field is not standard base64.
    BadBase64(&'static str),
}

impl MalformedResponse {
    /// A malformed response to `operation`.
    pub fn new(operation: Operation, problem: Problem) -> Self {
        MalformedResponse { operation, problem }
    }

    /// The operation whose response it was.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// What is wrong.
    pub fn problem(&self) -> Problem {
        self.problem
    }
}

impl fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kms {} returned a malformed response: ", self.operation)?;
        match self.problem {
            Problem::NotJson { line, column } => {
                write!(f, "not json (line {line}, column {column})")?
            }
            Problem::WrongType { line, column } => write!(
                f,
                "a field has the wrong type (line {line}, column {column})"
            )?,
            Problem::TooDeep { line, column } => write!(
                f,
                "nested deeper than {MAX_JSON_DEPTH} levels (line {line}, column {column})"
            )?,
            Problem::DuplicateField { line, column } => {
                write!(f, "a field appears twice (line {line}, column {column})")?
            }
            Problem::MissingField(name) => write!(f, "{name} is missing")?,
            Problem::BadBase64(name) => write!(f, "{name} is not valid base64")?,
        }
        f.write_str("; check that the endpoint is an aws kms endpoint or a compatible emulator")
    }
}

impl core::error::Error for MalformedResponse {}

/// Reads a response body that must be one JSON object, calling `member` with each member's
/// name (see [`json_reader::Reader::object`]), and turns read errors into [`Problem`]s (which
/// never quote the body).
fn parse_object<'a>(
    operation: Operation,
    body: &'a [u8],
    member: impl FnMut(&mut Reader<'a>, Cow<'a, str>) -> Result<(), ReadError>,
) -> Result<(), MalformedResponse> {
    let mut reader = Reader::new(body);
    reader
        .object(member)
        .and_then(|()| reader.finish())
        .map_err(|e| {
            let (line, column) = Reader::line_column(body, e.at);
            let problem = match e.kind {
                ReadErrorKind::WrongType => Problem::WrongType { line, column },
                ReadErrorKind::TooDeep => Problem::TooDeep { line, column },
                ReadErrorKind::DuplicateMember => Problem::DuplicateField { line, column },
                _ => Problem::NotJson { line, column },
            };
            MalformedResponse::new(operation, problem)
        })
}

/// A required field, or [`Problem::MissingField`].
fn required<T>(
    operation: Operation,
    name: &'static str,
    value: Option<T>,
) -> Result<T, MalformedResponse> {
    value.ok_or(MalformedResponse::new(
        operation,
        Problem::MissingField(name),
    ))
}

/// Decodes a base64 blob field that is not secret.
fn decode_blob(
    operation: Operation,
    name: &'static str,
    b64: &str,
) -> Result<Vec<u8>, MalformedResponse> {
    let mut out = vec![0u8; base64::decoded_len_estimate(b64.len())];
    let n = STANDARD
        .decode_slice(b64.as_bytes(), &mut out)
        .map_err(|_| MalformedResponse::new(operation, Problem::BadBase64(name)))?;
    out.truncate(n);
    Ok(out)
}

/// Decodes a base64 blob field that is secret, into one zeroized buffer, and wipes the
/// base64 text if it had to be copied out of the response body.
fn decode_secret(
    operation: Operation,
    name: &'static str,
    b64: Cow<'_, str>,
) -> Result<Zeroizing<Vec<u8>>, MalformedResponse> {
    let mut out = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(b64.len())]);
    let decoded = STANDARD.decode_slice(b64.as_bytes(), &mut out[..]);
    if let Cow::Owned(copy) = b64 {
        drop(Zeroizing::new(copy));
    }
    let n = decoded.map_err(|_| MalformedResponse::new(operation, Problem::BadBase64(name)))?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_names() {
        assert_eq!(Operation::Encrypt.target(), "TrentService.Encrypt");
        assert_eq!(
            Operation::GenerateDataKey.target(),
            "TrentService.GenerateDataKey"
        );
        for op in Operation::ALL {
            assert_eq!(Operation::from_target(op.target()), Some(op));
            assert_eq!(op.target().strip_prefix("TrentService."), Some(op.name()));
        }
        assert_eq!(Operation::from_target("TrentService.CreateKey"), None);
    }

    #[test]
    fn builds_the_unsigned_request() {
        let ep = Endpoint::for_region("eu-west-1").unwrap();
        let r = build_request(&ep, Operation::DescribeKey, b"{}".to_vec());
        assert_eq!(r.method, "POST");
        assert_eq!(r.url(), "https://kms.eu-west-1.amazonaws.com/");
        assert_eq!(r.header("host"), Some("kms.eu-west-1.amazonaws.com"));
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(r.header("x-amz-target"), Some("TrentService.DescribeKey"));
        assert_eq!(r.body, b"{}");

        let local = Endpoint::custom("http://127.0.0.1:4566/kms", "us-east-1").unwrap();
        let r = build_request(&local, Operation::Encrypt, Vec::new());
        assert_eq!(r.url(), "http://127.0.0.1:4566/kms");
        assert_eq!(r.header("host"), Some("127.0.0.1:4566"));
    }

    #[test]
    fn malformed_response_messages() {
        let e = parse_object(Operation::Decrypt, b"<html>", |r, _| r.skip()).unwrap_err();
        assert_eq!(e.problem(), Problem::NotJson { line: 1, column: 1 });
        assert!(
            alloc::string::ToString::to_string(&e)
                .starts_with("kms Decrypt returned a malformed response: not json (line 1")
        );
        let e = parse_object(Operation::Decrypt, b"[]", |r, _| r.skip()).unwrap_err();
        assert_eq!(e.problem(), Problem::WrongType { line: 1, column: 1 });
        let e = parse_object(Operation::Decrypt, b"{}\n {}", |r, _| r.skip()).unwrap_err();
        assert_eq!(e.problem(), Problem::NotJson { line: 2, column: 2 });
        let deep = [&b"{\"a\":"[..], &b"[".repeat(40)].concat();
        let e = parse_object(Operation::Decrypt, &deep, |r, _| r.skip()).unwrap_err();
        assert_eq!(
            e.problem(),
            Problem::TooDeep {
                line: 1,
                column: 5 + MAX_JSON_DEPTH
            }
        );
        assert!(alloc::string::ToString::to_string(&e).contains("nested deeper than 32 levels"));
        let e = decode_blob(Operation::Encrypt, "CiphertextBlob", "!!").unwrap_err();
        assert_eq!(e.problem(), Problem::BadBase64("CiphertextBlob"));
        assert_eq!(
            decode_secret(Operation::Decrypt, "Plaintext", Cow::Borrowed("aGk="))
                .unwrap()
                .as_slice(),
            b"hi"
        );
        assert!(scheme_allowed(Scheme::Http, "127.0.0.1"));
        assert!(!scheme_allowed(Scheme::Http, "example.com"));
        assert!(scheme_allowed(Scheme::Https, "example.com"));
    }
}
