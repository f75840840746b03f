//! The core's own small HTTP values and the [`Transport`] trait.
//!
//! The `http` crate needs `std`, so the core keeps its own request and response types; each
//! transport (ureq, wasi:http, a test mock) converts them to and from whatever it speaks.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// An HTTP request the seal wants sent. Always HTTPS unless the endpoint is a loopback URL the
/// caller configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method, for example `POST`.
    pub method: &'static str,
    /// `https` or `http`.
    pub scheme: Scheme,
    /// Host and optional port, as in the `Host` header (`kms.us-east-1.amazonaws.com`,
    /// `127.0.0.1:4566`).
    pub authority: String,
    /// Path and query, for example `/`.
    pub path_and_query: String,
    /// Headers in send order, names in lower case. Includes `host`, `x-amz-date`,
    /// `authorization` and, when present, `x-amz-security-token`.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

/// URL scheme of a [`Request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `https://`
    Https,
    /// `http://` (only for loopback emulators; transports refuse it elsewhere).
    Http,
}

impl Scheme {
    /// `"https"` or `"http"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

impl Request {
    /// The full URL, `scheme://authority/path`.
    pub fn url(&self) -> String {
        let mut s = String::with_capacity(self.authority.len() + self.path_and_query.len() + 8);
        s.push_str(self.scheme.as_str());
        s.push_str("://");
        s.push_str(&self.authority);
        s.push_str(&self.path_and_query);
        s
    }

    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response as the transport received it (body already capped by the transport).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers (any case).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sends one request and returns the response, whatever its status.
///
/// Methods take `&self` so one seal can be shared between threads; implementations keep any
/// mutable state (connection pools) behind their own synchronisation.
///
/// A transport does no retries and no signing: the seal does both, so that they behave the same
/// over every transport. Non-2xx statuses are `Ok(Response)`; only failures to get a response at
/// all are `Err`.
pub trait Transport {
    /// Sends `request` and waits for the whole response.
    ///
    /// # Errors
    /// A [`TransportError`] whose [`TransportErrorKind`] says what went wrong, so that the retry
    /// policy can classify it.
    fn send(&self, request: &Request) -> Result<Response, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        (**self).send(request)
    }
}

/// What kind of transport failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// Nothing listened on the address.
    ConnectionRefused,
    /// The peer reset or closed the connection mid-request.
    ConnectionReset,
    /// Connecting or waiting for a response took longer than allowed.
    Timeout,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The response body was larger than the transport accepts.
    BodyTooLarge,
    /// The response was not valid HTTP, or was cut short.
    Protocol,
    /// The request was refused before sending (for example plain `http://` to a non-loopback
    /// host, or the host denied outgoing HTTP).
    Refused,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// Whether a retry has a chance of succeeding.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportErrorKind::Dns
                | TransportErrorKind::ConnectionRefused
                | TransportErrorKind::ConnectionReset
                | TransportErrorKind::Timeout
                | TransportErrorKind::Protocol
        )
    }

    /// Lower-case name, for messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Dns => "dns lookup failed",
            TransportErrorKind::ConnectionRefused => "connection refused",
            TransportErrorKind::ConnectionReset => "connection reset",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Tls => "tls failure",
            TransportErrorKind::BodyTooLarge => "response body too large",
            TransportErrorKind::Protocol => "invalid or truncated http response",
            TransportErrorKind::Refused => "request refused",
            TransportErrorKind::Other => "transport failure",
        }
    }
}

/// A failure to get any response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// The kind, used for retry decisions.
    pub kind: TransportErrorKind,
    /// Detail for the user (never contains credentials or bodies).
    pub detail: String,
}

impl TransportError {
    /// A new error of `kind` with `detail`.
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        TransportError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{}: {}", self.kind.as_str(), self.detail)
        }
    }
}

impl core::error::Error for TransportError {}
