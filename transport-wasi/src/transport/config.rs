//! Timeouts and limits, and the `request-options` the host gets them through.

use wasip2::http::types::RequestOptions;

/// Default time allowed to open the connection (and finish the TLS handshake), in milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// Default time allowed between sending the request and the first byte of the answer, in
/// milliseconds.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 10_000;
/// Default time allowed between two chunks of the response body, in milliseconds.
pub const DEFAULT_BETWEEN_BYTES_TIMEOUT_MS: u64 = 10_000;
/// Default cap on a response body (KMS answers are a few kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Timeouts and limits of a [`WasiHttpTransport`](super::WasiHttpTransport).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Time allowed to connect, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed until the first byte of the response, in milliseconds.
    pub first_byte_timeout_ms: u64,
    /// Time allowed between two chunks of the response body, in milliseconds.
    pub between_bytes_timeout_ms: u64,
    /// Larger response bodies fail with [`TransportErrorKind::BodyTooLarge`](kms_seal_core::http::TransportErrorKind::BodyTooLarge).
    pub max_response_bytes: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            first_byte_timeout_ms: DEFAULT_FIRST_BYTE_TIMEOUT_MS,
            between_bytes_timeout_ms: DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

pub(super) fn request_options(config: &TransportConfig) -> RequestOptions {
    let options = RequestOptions::new();
    // A host that does not support a timeout answers Err and keeps its own: not an error.
    let _ = options.set_connect_timeout(Some(millis_to_nanos(config.connect_timeout_ms)));
    let _ = options.set_first_byte_timeout(Some(millis_to_nanos(config.first_byte_timeout_ms)));
    let _ =
        options.set_between_bytes_timeout(Some(millis_to_nanos(config.between_bytes_timeout_ms)));
    options
}

fn millis_to_nanos(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_nanoseconds() {
        assert_eq!(millis_to_nanos(2_000), 2_000_000_000);
        assert_eq!(millis_to_nanos(u64::MAX), u64::MAX);
        let c = TransportConfig::default();
        assert_eq!(c.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
        assert_eq!(c.max_response_bytes, 1024 * 1024);
    }
}
