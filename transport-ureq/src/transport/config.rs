//! What a transport is configured with: timeouts, the response cap, proxy and plain-HTTP policy.

use std::time::Duration;

/// Default time allowed to open a TCP connection and finish the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default deadline for one whole call: connect, send, and read the whole response.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body (KMS answers are a few kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// How a transport chooses an HTTP(S) proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyMode {
    /// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (either case), honouring `NO_PROXY`, read from
    /// the process environment when the transport is built. The default for KMS and STS.
    FromEnvironment,
    /// Always connect directly. Used for instance metadata and container credentials.
    Disabled,
    /// This proxy URL (`http://host:port`, `socks5://host:port` is not supported).
    Url(String),
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
    /// Plain-HTTP policy.
    pub plain_http: PlainHttp,
}

impl Default for TransportConfig {
    /// 2 s connect, 10 s per call, 1 MiB bodies, proxy from the environment, plain HTTP only
    /// to loopback.
    fn default() -> Self {
        TransportConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxy: ProxyMode::FromEnvironment,
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
            plain_http: PlainHttp::Allowed,
        }
    }
}
