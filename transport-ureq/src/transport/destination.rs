//! Where a request may go: URL parsing, loopback hosts, and the plain-HTTP policy.

use std::net::{IpAddr, Ipv6Addr};

use kms_seal_core::http::{Request, Scheme, TransportError, TransportErrorKind};

use super::PlainHttp;

/// Whether the host of `authority` (`host`, `host:port`, `[v6]:port`) is a loopback address
/// or `localhost`.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = authority_host(authority);
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    parse_host_ip(host).is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    })
}

/// The host part of an authority: `[::1]:80` -> `::1`, `example.com:443` -> `example.com`.
pub fn authority_host(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Parses a host (without brackets or port) as an IP address.
pub fn parse_host_ip(host: &str) -> Option<IpAddr> {
    host.parse::<IpAddr>()
        .ok()
        .or_else(|| host.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
}

/// An absolute `http://` or `https://` URL split the way [`Request`] wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// Host and optional port, without user info.
    pub authority: String,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

/// A URL that [`HttpUrl::parse`] rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `http` or `https`.
    Scheme,
    /// The host is empty, or the authority holds user info or characters a host cannot have.
    Authority,
    /// The URL holds a fragment, whitespace or control characters.
    Characters,
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "url must start with https:// (or http:// for loopback)",
            UrlError::Authority => "url must name a host, without user info",
            UrlError::Characters => {
                "url must not contain spaces, control characters or a #fragment"
            }
        })
    }
}

impl std::error::Error for UrlError {}

impl HttpUrl {
    /// Parses `scheme://authority[/path][?query]`.
    ///
    /// # Errors
    /// [`UrlError`] saying which part is wrong.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        if url.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
            return Err(UrlError::Characters);
        }
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (Scheme::Http, rest)
        } else {
            return Err(UrlError::Scheme);
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let host = authority_host(authority);
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
            && (host.contains(':') == authority.starts_with('['));
        if !host_ok || authority.contains('@') {
            return Err(UrlError::Authority);
        }
        let path_and_query = if path.is_empty() {
            "/".to_owned()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(HttpUrl {
            scheme,
            authority: authority.to_ascii_lowercase(),
            path_and_query,
        })
    }

    /// `scheme://authority/path`.
    pub fn as_string(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path_and_query
        )
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

pub(super) fn check_destination(
    request: &Request,
    policy: PlainHttp,
) -> Result<(), TransportError> {
    if request.authority.contains(['@', '/', '\\', ' ']) || request.authority.is_empty() {
        return Err(TransportError::new(
            TransportErrorKind::Refused,
            "the endpoint's host is malformed; give it as host or host:port",
        ));
    }
    if request.scheme == Scheme::Http
        && policy == PlainHttp::LoopbackOnly
        && !is_loopback_authority(&request.authority)
    {
        return Err(TransportError::new(
            TransportErrorKind::Refused,
            format!(
                "plain http to {} is refused; use an https:// endpoint (http is allowed only for \
                 127.0.0.1, ::1 and localhost)",
                request.authority
            ),
        ));
    }
    Ok(())
}
