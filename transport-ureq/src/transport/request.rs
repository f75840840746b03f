//! The request as ureq takes it.

use kms_seal_core::http::{Request, TransportErrorKind};
use ureq::http;

use super::error::MappedError;

pub(super) fn method_has_body(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS" | "TRACE")
}

pub(super) fn origin(request: &Request) -> String {
    format!("{}://{}", request.scheme.as_str(), request.authority)
}

/// The `http` crate's form of `request`. Filled in place rather than through
/// `http::request::Builder`, which moves the whole request once per header.
pub(super) fn to_http_request<B>(
    request: &Request,
    body: B,
) -> Result<http::Request<B>, MappedError> {
    // The http crate's messages name the offending part, never a header value.
    let refused = |e: &dyn std::fmt::Display| MappedError {
        kind: TransportErrorKind::Refused,
        detail: format!("request cannot be sent ({e})"),
        certificate: None,
    };
    let mut http_request = http::Request::new(body);
    *http_request.method_mut() =
        http::Method::from_bytes(request.method.as_bytes()).map_err(|e| refused(&e))?;
    *http_request.uri_mut() = http::Uri::try_from(request.url()).map_err(|e| refused(&e))?;
    let headers = http_request.headers_mut();
    headers.reserve(request.headers.len());
    for (name, value) in &request.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| refused(&e))?;
        let value = http::HeaderValue::from_str(value).map_err(|e| refused(&e))?;
        headers.append(name, value);
    }
    Ok(http_request)
}
