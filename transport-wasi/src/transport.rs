//! [`WasiHttpTransport`]: the core's [`Transport`] over `wasi:http/outgoing-handler`.
//!
//! The host does the networking (TCP, TLS with its own trust roots, DNS); this module turns the
//! core's [`Request`] into a `wasi:http` outgoing request and the host's answer into a
//! [`Response`]. It follows the same rules as the native transport:
//!
//! - the request body is written and finished **before** `handle` is called (writing it
//!   afterwards raced with the host sending the request in early experiments);
//! - connect, first-byte and between-bytes timeouts go to the host through `request-options`
//!   (a host that does not support one keeps its own default);
//! - response bodies are capped ([`DEFAULT_MAX_RESPONSE_BYTES`]);
//! - plain `http://` is refused unless the host is loopback (`127.0.0.0/8`, `::1`,
//!   `localhost`): credentials must not cross a network in clear text;
//! - every `wasi:http` error code becomes a [`TransportErrorKind`], so the seal's retry policy
//!   classifies it; a host that denies outgoing HTTP gives [`TransportErrorKind::Refused`],
//!   never a trap;
//! - no retries here: the seal retries, the same way over every transport.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_core::http::{
    Request, Response, Scheme, Transport, TransportError, TransportErrorKind,
};
use kms_seal_core::kms;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme as WasiScheme,
};
use wasip2::io::streams::StreamError;

/// Default time allowed to open the connection (and finish the TLS handshake), in milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// Default time allowed between sending the request and the first byte of the answer, in
/// milliseconds.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 10_000;
/// Default time allowed between two chunks of the response body, in milliseconds.
pub const DEFAULT_BETWEEN_BYTES_TIMEOUT_MS: u64 = 10_000;
/// Default cap on a response body (KMS answers are a few kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// `wasi:io` output streams accept at most this many bytes per blocking write.
const WRITE_CHUNK: usize = 4096;
/// Bytes asked for per blocking read of the response body.
const READ_CHUNK: u64 = 16 * 1024;

/// Timeouts and limits of a [`WasiHttpTransport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Time allowed to connect, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed until the first byte of the response, in milliseconds.
    pub first_byte_timeout_ms: u64,
    /// Time allowed between two chunks of the response body, in milliseconds.
    pub between_bytes_timeout_ms: u64,
    /// Larger response bodies fail with [`TransportErrorKind::BodyTooLarge`].
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

/// Sends the seal's requests through the host's `wasi:http/outgoing-handler`.
///
/// Holds no host resources between calls: each [`send`](Transport::send) creates and drops its
/// own request, so the transport can live in a static.
#[derive(Clone, Debug, Default)]
pub struct WasiHttpTransport {
    config: TransportConfig,
}

impl WasiHttpTransport {
    /// A transport with the default timeouts and body cap.
    pub fn new() -> Self {
        WasiHttpTransport::default()
    }

    /// A transport with these timeouts and body cap.
    pub fn with_config(config: TransportConfig) -> Self {
        WasiHttpTransport { config }
    }

    /// The timeouts and body cap in use.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }
}

impl Transport for WasiHttpTransport {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        check_scheme(request)?;
        let outgoing = build_request(request)?;

        // Write and finish the body before handing the request to the host.
        let body = outgoing.body().map_err(|()| {
            TransportError::new(TransportErrorKind::Other, "the host gave no request body")
        })?;
        write_body(&body, &request.body)?;
        OutgoingBody::finish(body, None).map_err(|code| map_error_code(&code))?;

        let options = request_options(&self.config);
        let future = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|code| map_error_code(&code))?;
        future.subscribe().block();
        let incoming = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(map_error_code(&code)),
            Some(Err(())) => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the host returned the response twice",
                ));
            }
            None => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the host reported the response ready but had none",
                ));
            }
        };

        let status = incoming.status();
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let body_resource = incoming.consume().map_err(|()| {
            TransportError::new(TransportErrorKind::Other, "the host gave no response body")
        })?;
        let body = read_body(&body_resource, self.config.max_response_bytes)?;
        // Trailers are not used; dropping the future discards them.
        drop(IncomingBody::finish(body_resource));
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The host part of an authority: `host` of `host:port`, `[v6]` of `[v6]:port`.
fn authority_host(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => authority,
    }
}

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

fn check_scheme(request: &Request) -> Result<(), TransportError> {
    if !kms::scheme_allowed(request.scheme, authority_host(&request.authority)) {
        return Err(TransportError::new(
            TransportErrorKind::Refused,
            format!(
                "plain http to {} would send credentials in clear text: use https (plain http is allowed only to loopback)",
                request.authority
            ),
        ));
    }
    Ok(())
}

fn build_request(request: &Request) -> Result<OutgoingRequest, TransportError> {
    // The host sets `host` from the authority (it is a forbidden header in wasi:http), and it
    // is the value the signature covers.
    let fields: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&fields).map_err(|error| {
        let what = match error {
            HeaderError::InvalidSyntax => "has invalid syntax",
            HeaderError::Forbidden => "is forbidden by the host",
            HeaderError::Immutable => "cannot be set",
        };
        TransportError::new(
            TransportErrorKind::Other,
            format!("a request header {what}"),
        )
    })?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "HEAD" => Method::Head,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_string()),
    };
    let scheme = match request.scheme {
        Scheme::Https => WasiScheme::Https,
        Scheme::Http => WasiScheme::Http,
    };
    let invalid = |what: &str| {
        TransportError::new(
            TransportErrorKind::Other,
            format!("the host rejected the request {what}: check the endpoint"),
        )
    };
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(&request.authority))
        .map_err(|()| invalid("authority"))?;
    outgoing
        .set_path_with_query(Some(&request.path_and_query))
        .map_err(|()| invalid("path"))?;
    Ok(outgoing)
}

fn request_options(config: &TransportConfig) -> RequestOptions {
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

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
    let stream = body.write().map_err(|()| {
        TransportError::new(
            TransportErrorKind::Other,
            "the host gave no request body stream",
        )
    })?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|error| stream_error(error, "writing the request body"))?;
    }
    // The stream must be dropped before the body is finished.
    drop(stream);
    Ok(())
}

fn read_body(body: &IncomingBody, limit: usize) -> Result<Vec<u8>, TransportError> {
    let stream = body.stream().map_err(|()| {
        TransportError::new(
            TransportErrorKind::Other,
            "the host gave no response body stream",
        )
    })?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if out.len().saturating_add(chunk.len()) > limit {
                    return Err(TransportError::new(
                        TransportErrorKind::BodyTooLarge,
                        format!("more than {limit} bytes"),
                    ));
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(error) => return Err(stream_error(error, "reading the response body")),
        }
    }
    Ok(out)
}

fn stream_error(error: StreamError, doing: &str) -> TransportError {
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
    use wasip2::http::types::{DnsErrorPayload, TlsAlertReceivedPayload};

    fn plain(authority: &str) -> Request {
        Request {
            method: "POST",
            scheme: Scheme::Http,
            authority: authority.into(),
            path_and_query: "/".into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn plain_http_authorities() {
        for yes in [
            "127.0.0.1",
            "127.0.0.1:4566",
            "127.8.9.10:80",
            "localhost",
            "LOCALHOST:8080",
            "[::1]:4566",
            "[::1]",
        ] {
            assert!(check_scheme(&plain(yes)).is_ok(), "{yes}");
        }
        for no in [
            "169.254.169.254",
            "169.254.170.2:80",
            "10.0.0.1:4566",
            "kms.us-east-1.amazonaws.com",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "[::2]:80",
            "[::1",
            "",
        ] {
            assert!(check_scheme(&plain(no)).is_err(), "{no}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let mut request = plain("kms.us-east-1.amazonaws.com");
        let err = check_scheme(&request).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Refused);
        assert!(err.to_string().contains("use https"));
        request.authority = "127.0.0.1:4566".into();
        assert!(check_scheme(&request).is_ok());
        request.scheme = Scheme::Https;
        request.authority = "kms.us-east-1.amazonaws.com".into();
        assert!(check_scheme(&request).is_ok());
    }

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

    #[test]
    fn timeouts_are_nanoseconds() {
        assert_eq!(millis_to_nanos(2_000), 2_000_000_000);
        assert_eq!(millis_to_nanos(u64::MAX), u64::MAX);
        let c = TransportConfig::default();
        assert_eq!(c.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
        assert_eq!(c.max_response_bytes, 1024 * 1024);
    }
}
