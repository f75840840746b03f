//! Why a seal operation failed, and what kind of failure it is.

use alloc::string::String;
use core::fmt;

use crate::credentials::CredentialsError;
use crate::http::TransportError;
use crate::kms::{self, EndpointError, MalformedResponse, RequestError, ServiceError};
use crate::retry::GiveUpReason;
use crate::sigv4::SigningError;

use super::RandomError;

/// The broad kind of a [`SealError`], for callers that map errors to exit codes or metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The settings or the environment are wrong (key id, endpoint, region, context, grant
    /// tokens, key state, a system clock KMS rejects).
    Configuration,
    /// No credentials, or KMS rejected them (bad secret, unknown access key, expired token).
    Credentials,
    /// KMS answered with an error or a malformed response.
    Kms,
    /// The stored value is damaged, or the AAD or encryption context does not match.
    Integrity,
    /// No response could be had (connection, DNS, TLS, timeouts).
    Transport,
    /// The runtime failed (no randomness).
    Runtime,
}

/// Why a seal operation failed. `Display` is lower case and says what to do next; nothing
/// here holds a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum SealError {
    /// The endpoint or region is invalid.
    Endpoint(EndpointError),
    /// A request value is outside what KMS accepts (key id, context, grant tokens).
    Request(RequestError),
    /// `DescribeKey` shows a key that cannot be used for the seal.
    KeyUnusable {
        /// The key's ARN (or id).
        key_id: String,
        /// Why not.
        reason: &'static str,
    },
    /// The request could not be signed (credentials or region with unusable characters).
    Signing(SigningError),
    /// No credentials could be had.
    Credentials(CredentialsError),
    /// KMS answered with an error, and retrying did not or could not help.
    Kms {
        /// The last error response.
        error: ServiceError,
        /// Requests sent for this call.
        attempts: u32,
        /// Why the seal stopped retrying.
        reason: GiveUpReason,
    },
    /// KMS answered 2xx with a body that is not what the operation returns.
    MalformedResponse(MalformedResponse),
    /// No response could be had, and retrying did not or could not help.
    Transport {
        /// The last transport error.
        error: TransportError,
        /// Requests sent for this call.
        attempts: u32,
        /// Why the seal stopped retrying.
        reason: GiveUpReason,
    },
    /// The blob could not be opened: malformed, altered, or wrong AAD.
    Integrity(IntegrityError),
    /// The runtime's random source failed.
    Random(RandomError),
}

impl SealError {
    /// The broad kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SealError::Endpoint(_)
            | SealError::Request(_)
            | SealError::KeyUnusable { .. }
            | SealError::Signing(_) => ErrorKind::Configuration,
            SealError::Credentials(_) => ErrorKind::Credentials,
            SealError::Kms { error, .. } if error.class() == kms::ErrorClass::ClockSkew => {
                ErrorKind::Configuration
            }
            SealError::Kms { error, .. } => match error.code() {
                Some(
                    "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "SignatureDoesNotMatch"
                    | "InvalidSignatureException"
                    | "IncompleteSignatureException"
                    | "ExpiredTokenException"
                    | "ExpiredToken",
                ) => ErrorKind::Credentials,
                Some("InvalidCiphertextException" | "IncorrectKeyException") => {
                    ErrorKind::Integrity
                }
                _ => ErrorKind::Kms,
            },
            SealError::MalformedResponse(_) => ErrorKind::Kms,
            SealError::Transport { .. } => ErrorKind::Transport,
            SealError::Integrity(_) => ErrorKind::Integrity,
            SealError::Random(_) => ErrorKind::Runtime,
        }
    }

    /// The KMS error response, if that is what failed.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            SealError::Kms { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Requests sent before giving up, for KMS and transport errors.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            SealError::Kms { attempts, .. } | SealError::Transport { attempts, .. } => {
                Some(*attempts)
            }
            _ => None,
        }
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::Endpoint(e) => fmt::Display::fmt(e, f),
            SealError::Request(e) => fmt::Display::fmt(e, f),
            SealError::KeyUnusable { key_id, reason } => write!(
                f,
                "kms key {key_id} cannot seal: {reason}; use an enabled symmetric ENCRYPT_DECRYPT key or set key_not_required"
            ),
            SealError::Signing(e) => write!(f, "cannot sign the kms request: {e}"),
            SealError::Credentials(e) => write!(f, "no aws credentials for kms: {e}"),
            SealError::Kms {
                error,
                attempts,
                reason,
            } => {
                fmt::Display::fmt(error, f)?;
                write_give_up(f, *attempts, *reason)
            }
            SealError::MalformedResponse(e) => fmt::Display::fmt(e, f),
            SealError::Transport {
                error,
                attempts,
                reason,
            } => {
                write!(f, "cannot reach kms: {error}")?;
                write_give_up(f, *attempts, *reason)?;
                f.write_str("; check the endpoint, network, proxy and tls settings")
            }
            SealError::Integrity(e) => fmt::Display::fmt(e, f),
            SealError::Random(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// ` (after 3 attempts: all attempts failed)`; nothing for a single, non-retryable attempt.
fn write_give_up(f: &mut fmt::Formatter<'_>, attempts: u32, reason: GiveUpReason) -> fmt::Result {
    match (attempts, reason) {
        (0 | 1, GiveUpReason::NotRetryable) => Ok(()),
        (1, reason) => write!(f, " (after 1 attempt: {reason})"),
        (n, reason) => write!(f, " (after {n} attempts: {reason})"),
    }
}

impl core::error::Error for SealError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SealError::Endpoint(e) => Some(e),
            SealError::Request(e) => Some(e),
            SealError::Signing(e) => Some(e),
            SealError::Credentials(e) => Some(e),
            SealError::Kms { error, .. } => Some(error),
            SealError::MalformedResponse(e) => Some(e),
            SealError::Transport { error, .. } => Some(error),
            SealError::Integrity(e) => Some(e),
            SealError::Random(e) => Some(e),
            SealError::KeyUnusable { .. } => None,
        }
    }
}

impl From<EndpointError> for SealError {
    fn from(e: EndpointError) -> Self {
        SealError::Endpoint(e)
    }
}

impl From<SigningError> for SealError {
    fn from(e: SigningError) -> Self {
        SealError::Signing(e)
    }
}

impl From<MalformedResponse> for SealError {
    fn from(e: MalformedResponse) -> Self {
        SealError::MalformedResponse(e)
    }
}

impl From<IntegrityError> for SealError {
    fn from(e: IntegrityError) -> Self {
        SealError::Integrity(e)
    }
}

impl From<RandomError> for SealError {
    fn from(e: RandomError) -> Self {
        SealError::Random(e)
    }
}

/// A blob that cannot be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityError {
    /// AES-GCM authentication failed: the AAD differs from sealing time, or the ciphertext,
    /// IV or wrapped key was altered. Deliberately does not say which.
    Authentication,
    /// KMS decrypted the wrapped key to this many bytes instead of 32.
    DataKeyLength(usize),
    /// The IV has this many bytes instead of 12.
    IvLength(usize),
    /// A mechanism 1 blob without `key_info.wrapped_key`.
    MissingWrappedKey,
    /// A mechanism 0 blob without ciphertext.
    MissingCiphertext,
    /// A KMS ciphertext of this many bytes (KMS takes 1 to 6144).
    CiphertextLength(usize),
    /// `key_info.mechanism` is neither 0 nor 1.
    UnsupportedMechanism(u64),
    /// A `multiwrapvalue:1` entry none of whose slots was made by an AWS KMS seal.
    NoAwsKmsSlot,
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntegrityError::NoAwsKmsSlot => f.write_str(
                "the value has no slot sealed by aws kms: unseal it with the seal that made it",
            ),
            IntegrityError::Authentication => f.write_str(
                "the sealed value failed authentication: check that the aad (for example the storage path) is the one it was sealed with; otherwise the value was altered",
            ),
            IntegrityError::DataKeyLength(n) => write!(
                f,
                "kms decrypted the wrapped key to {n} bytes, not 32: the blob's wrapped key is not a data key made by this seal"
            ),
            IntegrityError::IvLength(n) => write!(
                f,
                "the blob's iv is {n} bytes, not 12: the stored value is damaged or not an awskms envelope"
            ),
            IntegrityError::MissingWrappedKey => f.write_str(
                "the blob has no wrapped key: the stored value is damaged or was not made by the awskms seal",
            ),
            IntegrityError::MissingCiphertext => {
                f.write_str("the blob has no ciphertext: the stored value is damaged")
            }
            IntegrityError::CiphertextLength(n) => write!(
                f,
                "the blob's kms ciphertext is {n} bytes, outside 1..=6144: the stored value is damaged"
            ),
            IntegrityError::UnsupportedMechanism(m) => write!(
                f,
                "the blob uses mechanism {m}, which the awskms seal does not know (0 and 1 are supported): was it made by another seal type?"
            ),
        }
    }
}

impl core::error::Error for IntegrityError {}
