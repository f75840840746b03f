//! `wasi:http` error codes and stream errors as the core's transport error kinds.

use alloc::format;
use alloc::string::String;

use kms_seal_core::http::{TransportError, TransportErrorKind};
use wasip2::http::types::ErrorCode;
use wasip2::io::streams::StreamError;

/// The [`TransportErrorKind`] for a `wasi:http` error code, so that the retry policy can tell
/// a refused connection (retry) from a TLS failure or a host policy (do not).
pub fn error_kind(code: &ErrorCode) -> TransportErrorKind {
    match code {
        ErrorCode::DnsTimeout | ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound => {
            TransportErrorKind::Dns
        }
        ErrorCode::ConnectionRefused
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable => TransportErrorKind::ConnectionRefused,
        ErrorCode::ConnectionTerminated => TransportErrorKind::ConnectionReset,
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => TransportErrorKind::Timeout,
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => TransportErrorKind::Tls,
        ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited => {
            TransportErrorKind::Refused
        }
        ErrorCode::HttpResponseBodySize(_) => TransportErrorKind::BodyTooLarge,
        ErrorCode::HttpResponseIncomplete
        | ErrorCode::HttpResponseHeaderSectionSize(_)
        | ErrorCode::HttpResponseHeaderSize(_)
        | ErrorCode::HttpResponseTrailerSectionSize(_)
        | ErrorCode::HttpResponseTrailerSize(_)
        | ErrorCode::HttpResponseTransferCoding(_)
        | ErrorCode::HttpResponseContentCoding(_)
        | ErrorCode::HttpProtocolError
        | ErrorCode::HttpUpgradeFailed => TransportErrorKind::Protocol,
        ErrorCode::ConnectionLimitReached
        | ErrorCode::HttpRequestLengthRequired
        | ErrorCode::HttpRequestBodySize(_)
        | ErrorCode::HttpRequestMethodInvalid
        | ErrorCode::HttpRequestUriInvalid
        | ErrorCode::HttpRequestUriTooLong
        | ErrorCode::HttpRequestHeaderSectionSize(_)
        | ErrorCode::HttpRequestHeaderSize(_)
        | ErrorCode::HttpRequestTrailerSectionSize(_)
        | ErrorCode::HttpRequestTrailerSize(_)
        | ErrorCode::LoopDetected
        | ErrorCode::ConfigurationError
        | ErrorCode::InternalError(_) => TransportErrorKind::Other,
    }
}

/// A [`TransportError`] for a `wasi:http` error code, with a detail that says what the host
/// reported and, where it helps, what to do.
pub fn map_error_code(code: &ErrorCode) -> TransportError {
    let detail: String = match code {
        ErrorCode::DnsTimeout => "dns lookup timed out".into(),
        ErrorCode::DnsError(payload) => match (&payload.rcode, payload.info_code) {
            (Some(rcode), _) => format!("dns error {rcode}: check the endpoint host name"),
            (None, Some(info)) => {
                format!("dns error (info code {info}): check the endpoint host name")
            }
            (None, None) => "dns error: check the endpoint host name".into(),
        },
        ErrorCode::DestinationNotFound => "the endpoint host name did not resolve".into(),
        ErrorCode::DestinationUnavailable => "the endpoint is unavailable".into(),
        ErrorCode::DestinationIpProhibited => {
            "the host does not allow connections to this address".into()
        }
        ErrorCode::DestinationIpUnroutable => "no route to the endpoint address".into(),
        ErrorCode::ConnectionRefused => {
            "nothing listens at the endpoint: check the endpoint and that KMS is reachable".into()
        }
        ErrorCode::ConnectionTerminated => "the connection was closed mid-request".into(),
        ErrorCode::ConnectionTimeout => "connecting to the endpoint timed out".into(),
        ErrorCode::ConnectionReadTimeout => "reading the response timed out".into(),
        ErrorCode::ConnectionWriteTimeout => "sending the request timed out".into(),
        ErrorCode::HttpResponseTimeout => "no response arrived in time".into(),
        ErrorCode::ConnectionLimitReached => "the host's connection limit is reached".into(),
        ErrorCode::TlsProtocolError => "tls protocol error".into(),
        ErrorCode::TlsCertificateError => {
            "the endpoint's tls certificate is not trusted by the host".into()
        }
        ErrorCode::TlsAlertReceived(payload) => match &payload.alert_message {
            Some(message) => format!("tls alert from the endpoint: {message}"),
            None => "tls alert from the endpoint".into(),
        },
        ErrorCode::HttpRequestDenied => {
            "the wasm host denied outgoing http: allow it (wasmtime run -S http)".into()
        }
        ErrorCode::HttpResponseBodySize(_) => "the response body is too large".into(),
        ErrorCode::InternalError(Some(message)) => format!("host error: {message}"),
        ErrorCode::InternalError(None) => "host error".into(),
        other => error_code_name(other).into(),
    };
    TransportError::new(error_kind(code), detail)
}

/// A short lower-case name for the codes without a hand-written message above.
fn error_code_name(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::HttpRequestLengthRequired => "the host requires a content length",
        ErrorCode::HttpRequestBodySize(_) => "the request body size does not match",
        ErrorCode::HttpRequestMethodInvalid => "invalid request method",
        ErrorCode::HttpRequestUriInvalid => "invalid request uri: check the endpoint",
        ErrorCode::HttpRequestUriTooLong => "request uri too long",
        ErrorCode::HttpRequestHeaderSectionSize(_) | ErrorCode::HttpRequestHeaderSize(_) => {
            "request headers too large"
        }
        ErrorCode::HttpRequestTrailerSectionSize(_) | ErrorCode::HttpRequestTrailerSize(_) => {
            "request trailers too large"
        }
        ErrorCode::HttpResponseIncomplete => "the response was cut short",
        ErrorCode::HttpResponseHeaderSectionSize(_) | ErrorCode::HttpResponseHeaderSize(_) => {
            "response headers too large"
        }
        ErrorCode::HttpResponseTrailerSectionSize(_) | ErrorCode::HttpResponseTrailerSize(_) => {
            "response trailers too large"
        }
        ErrorCode::HttpResponseTransferCoding(_) => "unsupported response transfer coding",
        ErrorCode::HttpResponseContentCoding(_) => "unsupported response content coding",
        ErrorCode::HttpUpgradeFailed => "http upgrade failed",
        ErrorCode::HttpProtocolError => "http protocol error: check that the endpoint speaks http",
        ErrorCode::LoopDetected => "the host detected a request loop",
        ErrorCode::ConfigurationError => "the host's http configuration is invalid",
        _ => "http error",
    }
}

pub(super) fn stream_error(error: StreamError, doing: &str) -> TransportError {
    match error {
        StreamError::Closed => TransportError::new(
            TransportErrorKind::ConnectionReset,
            format!("the stream closed while {doing}"),
        ),
        StreamError::LastOperationFailed(io_error) => {
            match wasip2::http::types::http_error_code(&io_error) {
                Some(code) => {
                    let mapped = map_error_code(&code);
                    TransportError::new(mapped.kind, format!("{doing}: {}", mapped.detail))
                }
                None => TransportError::new(
                    TransportErrorKind::Protocol,
                    format!("{doing}: {}", io_error.to_debug_string()),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use wasip2::http::types::{DnsErrorPayload, TlsAlertReceivedPayload};

    #[test]
    fn error_codes_map_to_retryable_kinds() {
        let cases = [
            (
                ErrorCode::ConnectionRefused,
                TransportErrorKind::ConnectionRefused,
                true,
            ),
            (
                ErrorCode::ConnectionTimeout,
                TransportErrorKind::Timeout,
                true,
            ),
            (
                ErrorCode::HttpResponseTimeout,
                TransportErrorKind::Timeout,
                true,
            ),
            (
                ErrorCode::ConnectionTerminated,
                TransportErrorKind::ConnectionReset,
                true,
            ),
            (
                ErrorCode::DnsError(DnsErrorPayload {
                    rcode: Some("NXDOMAIN".into()),
                    info_code: None,
                }),
                TransportErrorKind::Dns,
                true,
            ),
            (
                ErrorCode::HttpProtocolError,
                TransportErrorKind::Protocol,
                true,
            ),
            (
                ErrorCode::TlsCertificateError,
                TransportErrorKind::Tls,
                false,
            ),
            (
                ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                    alert_id: Some(42),
                    alert_message: Some("bad certificate".into()),
                }),
                TransportErrorKind::Tls,
                false,
            ),
            (
                ErrorCode::HttpRequestDenied,
                TransportErrorKind::Refused,
                false,
            ),
            (
                ErrorCode::HttpResponseBodySize(Some(9)),
                TransportErrorKind::BodyTooLarge,
                false,
            ),
            (
                ErrorCode::InternalError(None),
                TransportErrorKind::Other,
                false,
            ),
        ];
        for (code, kind, retryable) in cases {
            let err = map_error_code(&code);
            assert_eq!(err.kind, kind, "{code:?}");
            assert_eq!(err.kind.is_retryable(), retryable, "{code:?}");
            assert!(!err.detail.is_empty());
        }
        let denied = map_error_code(&ErrorCode::HttpRequestDenied).to_string();
        assert!(denied.contains("-S http"), "{denied}");
        let dns = map_error_code(&ErrorCode::DnsError(DnsErrorPayload {
            rcode: Some("NXDOMAIN".into()),
            info_code: None,
        }));
        assert!(dns.detail.contains("NXDOMAIN"));
    }
}
