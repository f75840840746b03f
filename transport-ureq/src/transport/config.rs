//! What a transport is configured with: timeouts, the response cap, trusted roots, proxy and
//! plain-HTTP policy.

use std::fmt;
use std::time::Duration;

use super::proxy::{ProxyRules, without_credentials};
use super::trust::TlsTrust;

/// Default time allowed to open a TCP connection and finish the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default deadline for one whole call: connect, send, and read the whole response.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body (KMS answers are a few kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// How a transport chooses an HTTP(S) proxy. `Debug` never shows a proxy's credentials.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyMode {
    /// [`ProxyRules`] read from the process environment when the transport is built
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, either case). The default for
    /// KMS and STS.
    FromEnvironment,
    /// These rules (read by the caller from its own environment lookup).
    Rules(ProxyRules),
    /// Always connect directly. Used for instance metadata and container credentials.
    Disabled,
    /// This proxy URL (`http://host:port`) for every request, no exceptions.
    Url(String),
}

impl fmt::Debug for ProxyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyMode::FromEnvironment => f.write_str("FromEnvironment"),
            ProxyMode::Rules(rules) => f.debug_tuple("Rules").field(rules).finish(),
            ProxyMode::Disabled => f.write_str("Disabled"),
            ProxyMode::Url(url) => f
                .debug_tuple("Url")
                .field(&without_credentials(url))
                .finish(),
        }
    }
}

/// Whether plain `http://` requests may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainHttp {
    /// Only to loopback hosts (`127.0.0.0/8`, `::1`, `localhost`). The default.
    LoopbackOnly,
    /// To any host. Only for clients that checked the address themselves (instance metadata,
    /// container credentials).
    Allowed,
}

/// Settings of a [`UreqTransport`](super::UreqTransport).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Time allowed to connect (TCP and TLS).
    pub connect_timeout: Duration,
    /// Deadline for a whole call, response body included.
    pub call_timeout: Duration,
    /// Largest response body accepted; a larger one fails with
    /// [`TransportErrorKind::BodyTooLarge`](kms_seal_core::http::TransportErrorKind::BodyTooLarge).
    pub max_response_bytes: u64,
    /// Proxy selection.
    pub proxy: ProxyMode,
    /// The certificate authorities trusted for `https://`.
    pub tls: TlsTrust,
    /// Plain-HTTP policy.
    pub plain_http: PlainHttp,
}

impl Default for TransportConfig {
    /// 2 s connect, 10 s per call, 1 MiB bodies, proxy from the environment, the built-in
    /// roots, plain HTTP only to loopback.
    fn default() -> Self {
        TransportConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxy: ProxyMode::FromEnvironment,
            tls: TlsTrust::BuiltIn,
            plain_http: PlainHttp::LoopbackOnly,
        }
    }
}

impl TransportConfig {
    /// Settings for link-local credential endpoints (instance metadata, containers): 1 s
    /// connect and call deadlines, 64 KiB bodies, never a proxy, plain HTTP allowed (the
    /// caller checks the address).
    pub fn instance_metadata() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(1),
            max_response_bytes: 64 * 1024,
            proxy: ProxyMode::Disabled,
            tls: TlsTrust::BuiltIn,
            plain_http: PlainHttp::Allowed,
        }
    }
}
