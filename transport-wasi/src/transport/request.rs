//! The core's request as a `wasi:http` outgoing request: destination policy, headers, body.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_core::http::{Request, Scheme, TransportError, TransportErrorKind};
use kms_seal_core::kms;
use wasip2::http::types::{
    Fields, HeaderError, Method, OutgoingBody, OutgoingRequest, Scheme as WasiScheme,
};

use super::error::stream_error;

/// `wasi:io` output streams accept at most this many bytes per blocking write.
const WRITE_CHUNK: usize = 4096;

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

pub(super) fn check_scheme(request: &Request) -> Result<(), TransportError> {
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

pub(super) fn build_request(request: &Request) -> Result<OutgoingRequest, TransportError> {
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

pub(super) fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
