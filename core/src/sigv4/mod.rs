//! AWS Signature Version 4 (SigV4) header signing, as KMS's `POST /` JSON calls need it.
//!
//! The module follows the four steps of the SigV4 specification, one file each:
//!
//! 1. `canonical_request`: method, canonical path, canonical query, canonical headers, signed
//!    header names and the payload hash, streamed straight into SHA-256;
//! 2. `string_to_sign`: algorithm, `x-amz-date`, credential scope and the canonical request's hash;
//! 3. `signing_key`: [`SigningKey`], the HMAC chain over date, region, service and `aws4_request`;
//! 4. `signature`: the HMAC of the string to sign and the `Authorization` header.
//!
//! (`sha256` holds HMAC-SHA256 from the `hmac` and `sha2` crates, with the key's two pad
//! states computed once per [`SigningKey`].)
//!
//! Nothing here allocates: the canonical request and the string to sign are never built in
//! memory but fed to the hash through the small [`Sink`] trait, the header order is sorted in a
//! fixed-size index, and [`SigningOutput`] holds its strings inline (it borrows the session
//! token rather than copying it). With a cached [`SigningKey`], [`sign`] makes zero heap
//! allocations and starts its HMAC from states precomputed with the key. The intermediate texts
//! can be streamed anywhere with [`write_canonical_request`] and [`write_string_to_sign`]; under
//! the `alloc` feature, `canonical_request()` and `string_to_sign()` return them as `String`s.
//!
//! Canonicalisation follows the AWS SDKs (`aws-sigv4`) for non-S3 services:
//!
//! - header names are lower-cased and sorted; values are trimmed of spaces and inner runs of
//!   spaces become one; repeated names are joined with `,` in request order. `user-agent`,
//!   `x-amzn-trace-id` and `transfer-encoding` are sent but not signed (proxies change them).
//! - `host` and `x-amz-date` are always signed, `x-amz-security-token` too unless
//!   [`SigningSettings::omit_session_token`] is set, `x-amz-content-sha256` when
//!   [`SigningSettings::content_sha256_header`] is set.
//! - the path is normalised (RFC 3986 dot segments removed, empty segments dropped) when
//!   [`SigningSettings::normalize_path`] is set, then URI-encoded once more when
//!   [`SigningSettings::double_encode_path`] is set (so `%` becomes `%25`).
//! - the query is form-decoded (`+` is a space), re-encoded with only `A-Z a-z 0-9 - _ . ~` left
//!   bare, and sorted by encoded key, then encoded value.
//!
//! Out of scope: presigned URLs (query signing), SigV4a, S3's single-encoding rules beyond the
//! [`SigningSettings::double_encode_path`] switch, unsigned or streaming payloads.
//!
//! ```
//! use kms_seal_core::sigv4::{sign, SignableRequest, SigningKey, SigningParams, SigningSettings};
//! use kms_seal_core::time::Timestamp;
//!
//! let time = Timestamp(1_440_938_160); // 2015-08-30T12:36:00Z
//! let key = SigningKey::derive(
//!     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
//!     &time.date_stamp(),
//!     "us-east-1",
//!     "service",
//! )?;
//! let params = SigningParams {
//!     access_key_id: "AKIDEXAMPLE",
//!     session_token: None,
//!     region: "us-east-1",
//!     service: "service",
//!     time,
//!     settings: SigningSettings::default(),
//! };
//! let request = SignableRequest {
//!     method: "GET",
//!     path: "/",
//!     query: "",
//!     headers: &[("Host", "example.amazonaws.com")],
//!     body: b"",
//! };
//! let out = sign(&request, &params, &key)?;
//! assert_eq!(
//!     out.signature(),
//!     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
//! );
//! for (name, value) in out.headers() {
//!     // add `name: value` to the request that is sent
//!     # let _ = (name, value);
//! }
//! # Ok::<(), kms_seal_core::sigv4::SigningError>(())
//! ```

mod canonical_request;
mod sha256;
mod signature;
mod signing_key;
mod string_to_sign;

pub use signing_key::SigningKey;

use core::fmt;

use sha2::{Digest, Sha256};

use crate::time::Timestamp;
use canonical_request::CanonicalHeaders;

/// Most request headers [`sign`] accepts (the signer's own headers not counted).
pub const MAX_HEADERS: usize = 32;

/// Most query parameters [`sign`] accepts.
pub const MAX_QUERY_PARAMETERS: usize = 64;

/// Longest `Authorization` header [`sign`] can produce, in bytes.
pub const MAX_AUTHORIZATION_LEN: usize = 1024;

/// Longest access key id [`sign`] accepts, in bytes (IAM's own limit).
pub const MAX_ACCESS_KEY_ID_LEN: usize = 128;

/// Longest region or service name [`SigningKey::derive`] accepts, in bytes.
pub const MAX_SCOPE_NAME_LEN: usize = 64;

/// How a request is canonicalised. `Default` is what KMS and every non-S3 service expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// Remove `.`/`..` segments and empty segments from the path before signing.
    pub normalize_path: bool,
    /// URI-encode the (already encoded) path once more, so `%` is signed as `%25`.
    pub double_encode_path: bool,
    /// Add and sign an `x-amz-content-sha256` header holding the payload hash.
    pub content_sha256_header: bool,
    /// Send the session token but leave it out of the signature (some STS-style services).
    pub omit_session_token: bool,
}

impl Default for SigningSettings {
    fn default() -> Self {
        SigningSettings {
            normalize_path: true,
            double_encode_path: true,
            content_sha256_header: false,
            omit_session_token: false,
        }
    }
}

/// Who signs, for which region and service, and when.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// The access key id (`AKIA...`, `ASIA...`).
    pub access_key_id: &'a str,
    /// The session token of temporary credentials. Secret: never printed.
    pub session_token: Option<&'a str>,
    /// The signing region, for example `us-east-1` (not changed by a custom endpoint).
    pub region: &'a str,
    /// The signing service name, `kms` for KMS.
    pub service: &'a str,
    /// The time of signing; also fixes the credential-scope date.
    pub time: Timestamp,
    /// Canonicalisation switches.
    pub settings: SigningSettings,
}

impl fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningParams")
            .field("access_key_id", &self.access_key_id)
            .field("has_session_token", &self.session_token.is_some())
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .field("settings", &self.settings)
            .finish()
    }
}

/// The parts of an HTTP request that SigV4 signs.
#[derive(Clone, Copy)]
pub struct SignableRequest<'a> {
    /// The method, for example `POST`.
    pub method: &'a str,
    /// The path as sent on the request line, percent-encoded, without the query (`/` for KMS).
    pub path: &'a str,
    /// The query string as sent, without the leading `?` (empty for KMS).
    pub query: &'a str,
    /// The headers that will be sent, in send order; names in any case. Must include `host`;
    /// must not include the headers [`sign`] adds (`x-amz-date`, `authorization`, and, when in
    /// use, `x-amz-security-token` and `x-amz-content-sha256`).
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact body bytes that will be sent.
    pub body: &'a [u8],
}

impl fmt::Debug for SignableRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and the body may carry plaintext (KMS Encrypt): names and sizes only.
        struct Names<'h>(&'h [(&'h str, &'h str)]);
        impl fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(n, _)| n))
                    .finish()
            }
        }
        f.debug_struct("SignableRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &Names(self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The headers a signed request must carry in addition to its own.
///
/// Holds its strings inline (no heap) and borrows the session token from the
/// [`SigningParams`] it was signed with instead of copying the secret.
pub struct SigningOutput<'a> {
    amz_date: [u8; 16],
    authorization: signature::Authorization,
    signature: [u8; 64],
    content_sha256: Option<[u8; 64]>,
    session_token: Option<&'a str>,
}

impl<'a> SigningOutput<'a> {
    /// The signature: 64 lower-case hex digits.
    pub fn signature(&self) -> &str {
        signature::ascii_str(&self.signature)
    }

    /// The `Authorization` header value:
    /// `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
    /// SignedHeaders=<names>, Signature=<hex>`.
    pub fn authorization(&self) -> &str {
        self.authorization.as_str()
    }

    /// The `x-amz-date` header value, `YYYYMMDDTHHMMSSZ`.
    pub fn amz_date(&self) -> &str {
        signature::ascii_str(&self.amz_date)
    }

    /// The `x-amz-content-sha256` header value, when
    /// [`SigningSettings::content_sha256_header`] was set.
    pub fn content_sha256(&self) -> Option<&str> {
        self.content_sha256
            .as_ref()
            .map(|h| signature::ascii_str(h))
    }

    /// Every header the caller must add to the request, names in lower case: `x-amz-date`,
    /// `x-amz-security-token` (when a session token was given, even if it was not signed),
    /// `x-amz-content-sha256` (when enabled), then `authorization`.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            Some(("x-amz-date", self.amz_date())),
            self.session_token.map(|t| ("x-amz-security-token", t)),
            self.content_sha256().map(|h| ("x-amz-content-sha256", h)),
            Some(("authorization", self.authorization())),
        ]
        .into_iter()
        .flatten()
    }
}

impl fmt::Debug for SigningOutput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningOutput")
            .field("amz_date", &self.amz_date())
            .field("authorization", &self.authorization())
            .field("content_sha256", &self.content_sha256())
            .field("has_session_token", &self.session_token.is_some())
            .finish()
    }
}

/// Why a request could not be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningError {
    /// The [`SigningKey`] was derived for another date, region or service (caller misuse).
    KeyScopeMismatch,
    /// The request has no `host` header.
    MissingHost,
    /// The request already carries a header the signer adds itself.
    ReservedHeader {
        /// The header's name, in lower case.
        name: &'static str,
    },
    /// The request has more headers than [`MAX_HEADERS`].
    TooManyHeaders {
        /// The limit.
        max: usize,
    },
    /// A header name is empty or not an HTTP token (visible ASCII without separators).
    InvalidHeaderName {
        /// Position of the header in [`SignableRequest::headers`].
        index: usize,
    },
    /// A header value contains a control character (line break, NUL, DEL...).
    InvalidHeaderValue {
        /// Position of the header in [`SignableRequest::headers`].
        index: usize,
    },
    /// The query string has more parameters than [`MAX_QUERY_PARAMETERS`].
    TooManyQueryParameters {
        /// The limit.
        max: usize,
    },
    /// A signing parameter is empty or has characters that cannot be signed.
    InvalidParameter {
        /// Which parameter: `method`, `access key id`, `session token`, `region`, `service`,
        /// `date` or `secret access key`.
        name: &'static str,
    },
    /// A signing parameter is longer than the signer can hold.
    ParameterTooLong {
        /// Which parameter: `access key id`, `region` or `service`.
        name: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// The `Authorization` header would exceed [`MAX_AUTHORIZATION_LEN`].
    AuthorizationTooLong {
        /// The limit in bytes.
        max: usize,
    },
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningError::KeyScopeMismatch => f.write_str(
                "the signing key was derived for another date, region or service: derive a new \
                 key for this request's date, region and service",
            ),
            SigningError::MissingHost => f.write_str(
                "the request has no host header: add the endpoint's host (and port) as `host`",
            ),
            SigningError::ReservedHeader { name } => write!(
                f,
                "the request already has a `{name}` header, which the signer adds: remove it"
            ),
            SigningError::TooManyHeaders { max } => {
                write!(
                    f,
                    "the request has more than {max} headers: send fewer headers"
                )
            }
            SigningError::InvalidHeaderName { index } => write!(
                f,
                "header #{index} has an empty or invalid name: use letters, digits and \
                 !#$%&'*+-.^_`|~ only"
            ),
            SigningError::InvalidHeaderValue { index } => write!(
                f,
                "header #{index} has a control character in its value: remove line breaks and \
                 other control characters"
            ),
            SigningError::TooManyQueryParameters { max } => write!(
                f,
                "the query string has more than {max} parameters: send fewer parameters"
            ),
            SigningError::InvalidParameter { name } => write!(
                f,
                "the {name} is empty or has characters that cannot be signed: check the \
                 configured {name}"
            ),
            SigningError::ParameterTooLong { name, max } => write!(
                f,
                "the {name} is longer than {max} bytes: check the configured {name}"
            ),
            SigningError::AuthorizationTooLong { max } => write!(
                f,
                "the authorization header would be longer than {max} bytes: sign fewer or \
                 shorter headers"
            ),
        }
    }
}

impl core::error::Error for SigningError {}

/// Where the signer streams canonical text: a hash, or (under `alloc`) a buffer.
///
/// Every chunk handed to [`Sink::write`] is a whole sequence of UTF-8 characters.
pub trait Sink {
    /// Appends `bytes`.
    fn write(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn write(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    fn write(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::string::String {
    fn write(&mut self, bytes: &[u8]) {
        // Chunks are whole UTF-8 sequences, so this never substitutes anything.
        self.push_str(&alloc::string::String::from_utf8_lossy(bytes));
    }
}

/// Signs `request` and returns the headers to add to it.
///
/// With a cached `key` this makes no heap allocation.
///
/// # Errors
/// [`SigningError::KeyScopeMismatch`] when `key` is for another date, region or service than
/// `params`; the other [`SigningError`] variants when the request or the parameters cannot be
/// signed (missing `host`, a header the signer adds, control characters, limits).
pub fn sign<'p>(
    request: &SignableRequest<'_>,
    params: &SigningParams<'p>,
    key: &SigningKey,
) -> Result<SigningOutput<'p>, SigningError> {
    let prepared = Prepared::new(request, params)?;
    if !key.is_for(prepared.date(), params.region, params.service) {
        return Err(SigningError::KeyScopeMismatch);
    }
    let mut mac = key.mac();
    prepared.write_string_to_sign(request, params, &mut mac)?;

    let mut output = SigningOutput {
        amz_date: prepared.amz_date,
        authorization: signature::Authorization::new(),
        signature: signature::hex(&mac.finalize()),
        content_sha256: params
            .settings
            .content_sha256_header
            .then_some(prepared.payload_hash),
        session_token: params.session_token,
    };
    signature::write_authorization(
        &mut output.authorization,
        params,
        prepared.date(),
        &prepared.headers,
        &output.signature,
    )?;
    Ok(output)
}

/// Writes the canonical request (SigV4 step 1) of `request` to `sink`.
///
/// # Errors
/// As [`sign`], except that no key is involved.
pub fn write_canonical_request<S: Sink + ?Sized>(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
    sink: &mut S,
) -> Result<(), SigningError> {
    Prepared::new(request, params)?.write_canonical_request(request, params, sink)
}

/// Writes the string to sign (SigV4 step 2) of `request` to `sink`.
///
/// # Errors
/// As [`sign`], except that no key is involved.
pub fn write_string_to_sign<S: Sink + ?Sized>(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
    sink: &mut S,
) -> Result<(), SigningError> {
    Prepared::new(request, params)?.write_string_to_sign(request, params, sink)
}

/// The canonical request (SigV4 step 1) as text, for tests and debugging.
///
/// Contains the session token when one is signed: do not log it.
///
/// # Errors
/// As [`sign`], except that no key is involved.
#[cfg(feature = "alloc")]
pub fn canonical_request(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<alloc::string::String, SigningError> {
    let mut text = alloc::string::String::new();
    write_canonical_request(request, params, &mut text)?;
    Ok(text)
}

/// The string to sign (SigV4 step 2) as text, for tests and debugging.
///
/// # Errors
/// As [`sign`], except that no key is involved.
#[cfg(feature = "alloc")]
pub fn string_to_sign(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<alloc::string::String, SigningError> {
    let mut text = alloc::string::String::new();
    write_string_to_sign(request, params, &mut text)?;
    Ok(text)
}

/// Everything derived from the request and parameters before hashing: checked, sorted, hashed.
struct Prepared<'r> {
    amz_date: [u8; 16],
    payload_hash: [u8; 64],
    headers: CanonicalHeaders<'r>,
}

impl<'r> Prepared<'r> {
    fn new(
        request: &SignableRequest<'r>,
        params: &SigningParams<'_>,
    ) -> Result<Self, SigningError> {
        check_params(request, params)?;
        Ok(Prepared {
            amz_date: params.time.amz_date(),
            payload_hash: signature::hex(&Sha256::digest(request.body).into()),
            headers: CanonicalHeaders::new(request.headers, params)?,
        })
    }

    /// The credential-scope date, `YYYYMMDD`.
    fn date(&self) -> &[u8; 8] {
        self.amz_date
            .first_chunk()
            .expect("an amz date starts with its eight-digit date")
    }

    fn write_canonical_request<S: Sink + ?Sized>(
        &self,
        request: &SignableRequest<'_>,
        params: &SigningParams<'_>,
        sink: &mut S,
    ) -> Result<(), SigningError> {
        canonical_request::write(
            sink,
            &canonical_request::Parts {
                method: request.method,
                path: request.path,
                query: request.query,
                headers: &self.headers,
                amz_date: &self.amz_date,
                session_token: params.session_token,
                payload_hash: &self.payload_hash,
                settings: params.settings,
            },
        )
    }

    fn write_string_to_sign<S: Sink + ?Sized>(
        &self,
        request: &SignableRequest<'_>,
        params: &SigningParams<'_>,
        sink: &mut S,
    ) -> Result<(), SigningError> {
        let mut hash = Sha256::new();
        self.write_canonical_request(request, params, &mut hash)?;
        let hash = signature::hex(&hash.finalize().into());
        string_to_sign::write(
            sink,
            &self.amz_date,
            self.date(),
            params.region,
            params.service,
            &hash,
        );
        Ok(())
    }
}

/// Checks the parameters that end up in headers or the credential scope.
fn check_params(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<(), SigningError> {
    if !canonical_request::is_token(request.method) {
        return Err(SigningError::InvalidParameter { name: "method" });
    }
    check_scope_name("access key id", params.access_key_id, MAX_ACCESS_KEY_ID_LEN)?;
    check_scope_name("region", params.region, MAX_SCOPE_NAME_LEN)?;
    check_scope_name("service", params.service, MAX_SCOPE_NAME_LEN)?;
    if let Some(token) = params.session_token {
        // Visible ASCII only (a line break would inject headers). Folded without an early exit
        // so it vectorises: tokens are hundreds of bytes.
        let visible = token
            .bytes()
            .fold(true, |ok, b| ok & (b.wrapping_sub(0x21) < 0x5e));
        if token.is_empty() || !visible {
            return Err(SigningError::InvalidParameter {
                name: "session token",
            });
        }
    }
    Ok(())
}

/// Access key ids, regions and services: non-empty, bounded, `A-Z a-z 0-9 - _ .` only, so they
/// cannot break the `/`-separated credential scope or the `Authorization` header.
fn check_scope_name(name: &'static str, value: &str, max: usize) -> Result<(), SigningError> {
    if value.len() > max {
        return Err(SigningError::ParameterTooLong { name, max });
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() | matches!(b, b'-' | b'_' | b'.');
    if value.is_empty() || !value.bytes().fold(true, |ok, b| ok & allowed(b)) {
        return Err(SigningError::InvalidParameter { name });
    }
    Ok(())
}

/// Copies the signer's output into a small buffer and forwards it to a [`Sink`] in chunks, so
/// that many small pieces do not each cost a hash update. Secrets bypass the buffer
/// ([`Buffered::secret`]), so it never needs wiping.
pub(crate) struct Buffered<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    buf: [u8; 256],
    len: usize,
}

impl<'s, S: Sink + ?Sized> Buffered<'s, S> {
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Buffered {
            sink,
            buf: [0; 256],
            len: 0,
        }
    }

    /// Appends one ASCII byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        debug_assert!(b.is_ascii(), "only ASCII bytes are written one at a time");
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// Appends a whole string.
    #[inline]
    pub(crate) fn text(&mut self, s: &str) {
        self.whole(s.as_bytes());
    }

    /// Appends ASCII bytes the signer made itself (dates, hex digests).
    #[inline]
    pub(crate) fn ascii(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.is_ascii(), "signer-made text is ASCII");
        self.whole(bytes);
    }

    /// Appends bytes that are whole UTF-8 sequences, in one piece.
    #[inline]
    fn whole(&mut self, bytes: &[u8]) {
        if bytes.len() <= self.buf.len() - self.len {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            self.flush();
            self.sink.write(bytes);
        }
    }

    /// Appends an ASCII header name in lower case.
    pub(crate) fn lowercase(&mut self, name: &str) {
        let bytes = name.as_bytes();
        if bytes.len() > self.buf.len() - self.len {
            self.flush();
        }
        if bytes.len() > self.buf.len() {
            bytes.iter().for_each(|b| self.byte(b.to_ascii_lowercase()));
            return;
        }
        let room = &mut self.buf[self.len..self.len + bytes.len()];
        for (slot, b) in room.iter_mut().zip(bytes) {
            *slot = b.to_ascii_lowercase();
        }
        self.len += bytes.len();
    }

    /// Appends a secret (the session token) straight to the sink, never to the buffer.
    pub(crate) fn secret(&mut self, s: &str) {
        self.flush();
        self.sink.write(s.as_bytes());
    }

    /// Hands everything buffered to the sink.
    pub(crate) fn flush(&mut self) {
        if self.len > 0 {
            self.sink.write(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl<S: Sink + ?Sized> Drop for Buffered<'_, S> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TIME: Timestamp = Timestamp(1_440_938_160);

    fn params(token: Option<&str>) -> SigningParams<'_> {
        SigningParams {
            access_key_id: "AKIDEXAMPLE",
            session_token: token,
            region: "us-east-1",
            service: "service",
            time: TIME,
            settings: SigningSettings::default(),
        }
    }

    fn key() -> SigningKey {
        SigningKey::derive(SECRET, &TIME.date_stamp(), "us-east-1", "service").unwrap()
    }

    const VANILLA: SignableRequest<'static> = SignableRequest {
        method: "GET",
        path: "/",
        query: "",
        headers: &[("Host", "example.amazonaws.com")],
        body: b"",
    };

    #[test]
    fn signs_the_suite_vanilla_request() {
        let out = sign(&VANILLA, &params(None), &key()).unwrap();
        assert_eq!(
            out.signature(),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            out.authorization(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(out.amz_date(), "20150830T123600Z");
        let headers: heapless::Vec<_, 4> = out.headers().collect();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0], ("x-amz-date", "20150830T123600Z"));
        assert_eq!(headers[1].0, "authorization");
    }

    #[test]
    fn output_lists_token_and_content_hash_headers() {
        let mut p = params(Some("TOKEN"));
        p.settings.content_sha256_header = true;
        let out = sign(&VANILLA, &p, &key()).unwrap();
        let names: heapless::Vec<_, 4> = out.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names.as_slice(),
            [
                "x-amz-date",
                "x-amz-security-token",
                "x-amz-content-sha256",
                "authorization"
            ]
        );
        assert!(
            out.headers()
                .any(|h| h == ("x-amz-security-token", "TOKEN"))
        );
        assert_eq!(
            out.content_sha256(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert!(
            out.authorization().contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            )
        );
    }

    #[test]
    fn omitted_token_is_sent_but_not_signed() {
        let mut p = params(Some("TOKEN"));
        p.settings.omit_session_token = true;
        let out = sign(&VANILLA, &p, &key()).unwrap();
        assert!(
            out.headers()
                .any(|h| h == ("x-amz-security-token", "TOKEN"))
        );
        assert!(
            out.authorization()
                .contains("SignedHeaders=host;x-amz-date,")
        );
        // Same signature as without a token at all.
        let plain = sign(&VANILLA, &params(None), &key()).unwrap();
        assert_eq!(out.signature(), plain.signature());
    }

    #[test]
    fn refuses_a_key_for_another_scope() {
        let other = SigningKey::derive(SECRET, b"20150831", "us-east-1", "service").unwrap();
        assert_eq!(
            sign(&VANILLA, &params(None), &other).unwrap_err(),
            SigningError::KeyScopeMismatch
        );
        let other = SigningKey::derive(SECRET, &TIME.date_stamp(), "eu-west-1", "service").unwrap();
        assert_eq!(
            sign(&VANILLA, &params(None), &other).unwrap_err(),
            SigningError::KeyScopeMismatch
        );
    }

    #[test]
    fn rejects_bad_parameters() {
        let key = key();
        let mut p = params(Some("bad\ntoken"));
        assert_eq!(
            sign(&VANILLA, &p, &key).unwrap_err(),
            SigningError::InvalidParameter {
                name: "session token"
            }
        );
        p.session_token = None;
        p.access_key_id = "AKID/EVIL";
        assert_eq!(
            sign(&VANILLA, &p, &key).unwrap_err(),
            SigningError::InvalidParameter {
                name: "access key id"
            }
        );
        let bad_method = SignableRequest {
            method: "GE T",
            ..VANILLA
        };
        assert_eq!(
            sign(&bad_method, &params(None), &key).unwrap_err(),
            SigningError::InvalidParameter { name: "method" }
        );
    }

    #[test]
    fn long_session_tokens_are_borrowed_not_copied() {
        let long = [b'A'; 10_000];
        let long = core::str::from_utf8(&long).unwrap();
        let out = sign(&VANILLA, &params(Some(long)), &key()).unwrap();
        let (_, token) = out
            .headers()
            .find(|(n, _)| *n == "x-amz-security-token")
            .unwrap();
        assert!(core::ptr::eq(token, long));
    }

    #[test]
    fn debug_output_hides_secrets() {
        use core::fmt::Write;
        let mut text = heapless::String::<2048>::new();
        let p = params(Some("SECRETTOKEN"));
        let out = sign(&VANILLA, &p, &key()).unwrap();
        write!(text, "{p:?} {out:?} {:?}", key()).unwrap();
        assert!(!text.contains("SECRETTOKEN"));
        let body_request = SignableRequest {
            body: b"PLAINTEXT",
            headers: &[("host", "h"), ("x-secret", "HEADERVALUE")],
            ..VANILLA
        };
        text.clear();
        write!(text, "{body_request:?}").unwrap();
        assert!(!text.contains("PLAINTEXT") && !text.contains("HEADERVALUE"));
        assert!(text.contains("x-secret"));
    }

    #[test]
    fn errors_say_what_to_do() {
        use core::fmt::Write;
        let errors = [
            SigningError::KeyScopeMismatch,
            SigningError::MissingHost,
            SigningError::ReservedHeader { name: "x-amz-date" },
            SigningError::TooManyHeaders { max: 1 },
            SigningError::InvalidHeaderName { index: 1 },
            SigningError::InvalidHeaderValue { index: 1 },
            SigningError::TooManyQueryParameters { max: 1 },
            SigningError::InvalidParameter { name: "region" },
            SigningError::ParameterTooLong {
                name: "region",
                max: 1,
            },
            SigningError::AuthorizationTooLong { max: 1 },
        ];
        for e in errors {
            let mut text = heapless::String::<256>::new();
            write!(text, "{e}").unwrap();
            assert!(text.contains(": "), "{text}");
            assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        }
    }

    #[test]
    fn buffered_writer_forwards_long_and_short_text_in_order() {
        struct Collect(heapless::Vec<u8, 1024>);
        impl Sink for Collect {
            fn write(&mut self, bytes: &[u8]) {
                self.0.extend_from_slice(bytes).unwrap();
            }
        }
        let mut sink = Collect(heapless::Vec::new());
        {
            let mut out = Buffered::new(&mut sink);
            out.text("ab");
            out.byte(b'c');
            let long = [b'x'; 300];
            out.text(core::str::from_utf8(&long).unwrap());
            out.byte(b'd');
        }
        assert_eq!(sink.0.len(), 2 + 1 + 300 + 1);
        assert_eq!(&sink.0[..3], b"abc");
        assert_eq!(sink.0[303], b'd');
    }
}
