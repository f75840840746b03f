//! Where KMS requests go, and the region they are signed for.
//!
//! Standard endpoints follow the AWS partitions table: `https://kms.{region}.{dnsSuffix}`,
//! FIPS `https://kms-fips.{region}.{dnsSuffix}`, dual-stack `https://kms.{region}.{dualStackDnsSuffix}`.
//!
//! | partition | regions | dnsSuffix | dualStackDnsSuffix |
//! |---|---|---|---|
//! | aws | everything else (`us-east-1`, `eu-west-1`, ...) | `amazonaws.com` | `api.aws` |
//! | aws-cn | `cn-*` | `amazonaws.com.cn` | `api.amazonwebservices.com.cn` |
//! | aws-us-gov | `us-gov-*` | `amazonaws.com` | `api.aws` |
//! | aws-eusc | `eusc-*` | `amazonaws.eu` | `api.amazonwebservices.eu` |
//! | aws-iso | `us-iso-*` | `c2s.ic.gov` | `api.aws.ic.gov` |
//! | aws-iso-b | `us-isob-*` | `sc2s.sgov.gov` | `api.aws.scloud` |
//! | aws-iso-e | `eu-isoe-*` | `cloud.adc-e.uk` | `api.cloud-aws.adc-e.uk` |
//! | aws-iso-f | `us-isof-*` | `csp.hci.ic.gov` | `api.aws.hci.ic.gov` |
//!
//! The deprecated pseudo-regions `<region>-fips` and `fips-<region>` mean FIPS in `<region>`,
//! and are signed for `<region>`.
//!
//! [`Endpoint::custom`] takes a URL (a VPC endpoint, a proxy, a loopback emulator) and keeps
//! the signing region separate: changing the URL never changes the credential scope. Plain
//! `http://` is accepted only for loopback hosts (`localhost`, `127.0.0.0/8`, `::1`).

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::SERVICE;
use crate::http::Scheme;

/// Endpoint variants for standard (non-custom) resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Use the FIPS 140 endpoint (`kms-fips.`).
    pub use_fips: bool,
    /// Use the dual-stack (IPv4 and IPv6) endpoint.
    pub use_dual_stack: bool,
}

/// A resolved KMS endpoint: URL parts plus the region requests are signed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
    authority: String,
    path: String,
    signing_region: String,
}

/// Why an endpoint could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// The region is not a region name (shown sanitised and capped).
    InvalidRegion(String),
    /// The custom endpoint URL could not be used; the text says why.
    InvalidUrl(&'static str),
    /// `http://` to a host that is not loopback.
    InsecureScheme(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::InvalidRegion(r) => write!(
                f,
                "invalid aws region {r:?}: use lower-case letters, digits and '-', for example us-east-1"
            ),
            EndpointError::InvalidUrl(why) => write!(
                f,
                "invalid kms endpoint url: {why}; use https://host[:port][/path]"
            ),
            EndpointError::InsecureScheme(host) => write!(
                f,
                "plain http to {host:?} is refused because it is not a loopback address: use https"
            ),
        }
    }
}

impl core::error::Error for EndpointError {}

struct Partition {
    dns_suffix: &'static str,
    dual_stack_dns_suffix: &'static str,
}

impl Endpoint {
    /// The standard endpoint of `region` (legacy `-fips` pseudo-regions resolve to FIPS).
    ///
    /// # Errors
    /// [`EndpointError::InvalidRegion`] when `region` is not a region name.
    pub fn for_region(region: &str) -> Result<Self, EndpointError> {
        Endpoint::resolve(region, EndpointOptions::default())
    }

    /// The endpoint of `region` with `options` (FIPS, dual-stack).
    ///
    /// # Errors
    /// [`EndpointError::InvalidRegion`] when `region` is not a region name.
    pub fn resolve(region: &str, options: EndpointOptions) -> Result<Self, EndpointError> {
        let (region, legacy_fips) = strip_fips(region);
        validate_region(region)?;
        let partition = partition_of(region);
        let fips = options.use_fips || legacy_fips;
        let prefix = if fips { "kms-fips" } else { SERVICE };
        let suffix = if options.use_dual_stack {
            partition.dual_stack_dns_suffix
        } else {
            partition.dns_suffix
        };
        let host = format!("{prefix}.{region}.{suffix}");
        Ok(Endpoint {
            scheme: Scheme::Https,
            authority: host.clone(),
            host,
            port: None,
            path: String::from("/"),
            signing_region: String::from(region),
        })
    }

    /// A custom endpoint at `url` (`https://vpce-1a2b.kms.us-east-1.vpce.amazonaws.com`,
    /// `http://127.0.0.1:4566`), with requests signed for `signing_region`.
    ///
    /// A URL without a scheme is taken as `https://`. The path, if any, is kept and requests
    /// go to it. User info, queries and fragments are refused.
    ///
    /// # Errors
    /// [`EndpointError::InvalidUrl`] when the URL cannot be used,
    /// [`EndpointError::InsecureScheme`] for `http://` to a non-loopback host, and
    /// [`EndpointError::InvalidRegion`] when `signing_region` is not a region name.
    pub fn custom(url: &str, signing_region: &str) -> Result<Self, EndpointError> {
        validate_region(signing_region)?;
        let url = url.trim();
        let (scheme, rest) = match url.find("://") {
            Some(i) => {
                let scheme = &url[..i];
                let scheme = if scheme.eq_ignore_ascii_case("https") {
                    Scheme::Https
                } else if scheme.eq_ignore_ascii_case("http") {
                    Scheme::Http
                } else {
                    return Err(EndpointError::InvalidUrl(
                        "the scheme must be https or http",
                    ));
                };
                (scheme, &url[i + 3..])
            }
            None => (Scheme::Https, url),
        };
        if rest.contains(['?', '#']) {
            return Err(EndpointError::InvalidUrl(
                "a query or fragment is not allowed",
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(EndpointError::InvalidUrl(
                "user info (user@host) is not allowed",
            ));
        }
        if !path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"')
        {
            return Err(EndpointError::InvalidUrl(
                "the path has spaces, control or non-ascii characters",
            ));
        }
        let (host, port) = split_host_port(authority)?;
        if scheme == Scheme::Http && !is_loopback_host(&host) {
            return Err(EndpointError::InsecureScheme(host));
        }
        let default_port = match scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        };
        let port = port.filter(|p| *p != default_port);
        let authority = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        Ok(Endpoint {
            scheme,
            host,
            port,
            authority,
            path: path.to_string(),
            signing_region: signing_region.to_string(),
        })
    }

    /// `https` (or `http` for loopback custom endpoints).
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or address, lower case; IPv6 addresses in brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Host and non-default port, as in the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path requests are posted to (`/` unless a custom URL had one).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The region in the SigV4 credential scope.
    pub fn signing_region(&self) -> &str {
        &self.signing_region
    }

    /// The full URL, `scheme://authority/path`.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.authority, self.path)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{} (signing region {})",
            self.scheme.as_str(),
            self.authority,
            self.path,
            self.signing_region
        )
    }
}

/// Checks that `region` can be a region name: 1 to 63 characters of `a-z`, `0-9` and `-`,
/// not starting or ending with `-`. (It goes into a host name and a credential scope.)
///
/// # Errors
/// [`EndpointError::InvalidRegion`] with the region sanitised and capped.
pub fn validate_region(region: &str) -> Result<(), EndpointError> {
    let ok = !region.is_empty()
        && region.len() <= 63
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(EndpointError::InvalidRegion(super::error::cap_text(
            region, 64,
        )))
    }
}

/// Whether `host` is a loopback name or address: `localhost`, `127.0.0.0/8`, `::1` (with or
/// without brackets) or an IPv4-mapped loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(v4) = inner.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    if let Ok(v6) = inner.parse::<Ipv6Addr>() {
        return v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
    }
    false
}

fn strip_fips(region: &str) -> (&str, bool) {
    if let Some(r) = region.strip_suffix("-fips") {
        (r, true)
    } else if let Some(r) = region.strip_prefix("fips-") {
        (r, true)
    } else {
        (region, false)
    }
}

fn partition_of(region: &str) -> Partition {
    let (dns_suffix, dual_stack_dns_suffix) = if region.starts_with("cn-") {
        ("amazonaws.com.cn", "api.amazonwebservices.com.cn")
    } else if region.starts_with("us-gov-") {
        ("amazonaws.com", "api.aws")
    } else if region.starts_with("eusc-") {
        ("amazonaws.eu", "api.amazonwebservices.eu")
    } else if region.starts_with("us-isob-") {
        ("sc2s.sgov.gov", "api.aws.scloud")
    } else if region.starts_with("us-isof-") {
        ("csp.hci.ic.gov", "api.aws.hci.ic.gov")
    } else if region.starts_with("us-iso-") {
        ("c2s.ic.gov", "api.aws.ic.gov")
    } else if region.starts_with("eu-isoe-") {
        ("cloud.adc-e.uk", "api.cloud-aws.adc-e.uk")
    } else {
        ("amazonaws.com", "api.aws")
    };
    Partition {
        dns_suffix,
        dual_stack_dns_suffix,
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), EndpointError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or(EndpointError::InvalidUrl(
            "an IPv6 address is missing its ']'",
        ))?;
        let addr = &rest[..end];
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(EndpointError::InvalidUrl("the IPv6 address is not valid"));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(EndpointError::InvalidUrl(
                "unexpected text after the IPv6 address",
            ))?),
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(EndpointError::InvalidUrl("the host is empty"));
        }
        if host.len() > 253
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(EndpointError::InvalidUrl(
                "the host has characters a host name cannot have",
            ));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(EndpointError::InvalidUrl("the port is not a number"));
            }
            match p.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err(EndpointError::InvalidUrl("the port is not in 1..=65535"));
                }
                Ok(n) => Some(n),
            }
        }
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(region: &str, fips: bool, dual: bool) -> String {
        Endpoint::resolve(
            region,
            EndpointOptions {
                use_fips: fips,
                use_dual_stack: dual,
            },
        )
        .unwrap()
        .url()
    }

    #[test]
    fn standard_partitions() {
        assert_eq!(
            url("us-east-1", false, false),
            "https://kms.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            url("il-central-1", false, false),
            "https://kms.il-central-1.amazonaws.com/"
        );
        assert_eq!(
            url("cn-north-1", false, false),
            "https://kms.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            url("cn-northwest-1", false, true),
            "https://kms.cn-northwest-1.api.amazonwebservices.com.cn/"
        );
        assert_eq!(
            url("us-gov-west-1", false, false),
            "https://kms.us-gov-west-1.amazonaws.com/"
        );
        assert_eq!(
            url("us-gov-west-1", true, false),
            "https://kms-fips.us-gov-west-1.amazonaws.com/"
        );
        assert_eq!(
            url("eu-west-1", false, true),
            "https://kms.eu-west-1.api.aws/"
        );
        assert_eq!(
            url("eu-west-1", true, true),
            "https://kms-fips.eu-west-1.api.aws/"
        );
        assert_eq!(
            url("eusc-de-east-1", false, false),
            "https://kms.eusc-de-east-1.amazonaws.eu/"
        );
        assert_eq!(
            url("us-iso-east-1", false, false),
            "https://kms.us-iso-east-1.c2s.ic.gov/"
        );
        assert_eq!(
            url("us-isob-east-1", false, false),
            "https://kms.us-isob-east-1.sc2s.sgov.gov/"
        );
        assert_eq!(
            url("eu-isoe-west-1", false, false),
            "https://kms.eu-isoe-west-1.cloud.adc-e.uk/"
        );
        assert_eq!(
            url("us-isof-south-1", false, false),
            "https://kms.us-isof-south-1.csp.hci.ic.gov/"
        );
        let e = Endpoint::for_region("ap-southeast-2").unwrap();
        assert_eq!(e.signing_region(), "ap-southeast-2");
        assert_eq!(e.authority(), "kms.ap-southeast-2.amazonaws.com");
        assert_eq!(e.port(), None);
        assert_eq!(e.path(), "/");
    }

    #[test]
    fn legacy_fips_pseudo_regions() {
        for r in ["us-east-1-fips", "fips-us-east-1"] {
            let e = Endpoint::for_region(r).unwrap();
            assert_eq!(e.url(), "https://kms-fips.us-east-1.amazonaws.com/");
            assert_eq!(e.signing_region(), "us-east-1");
        }
        let e = Endpoint::for_region("us-gov-west-1-fips").unwrap();
        assert_eq!(e.host(), "kms-fips.us-gov-west-1.amazonaws.com");
        assert_eq!(e.signing_region(), "us-gov-west-1");
    }

    #[test]
    fn rejects_bad_regions() {
        for r in [
            "",
            "us-east-1/",
            "us east 1",
            "US-EAST-1",
            "-us",
            "us-",
            "a.b",
            "fips-",
            "-fips",
        ] {
            assert!(
                matches!(
                    Endpoint::for_region(r),
                    Err(EndpointError::InvalidRegion(_))
                ),
                "{r:?}"
            );
        }
        let long = "a".repeat(300);
        let e = Endpoint::for_region(&long).unwrap_err();
        assert!(alloc::string::ToString::to_string(&e).len() < 200);
    }

    #[test]
    fn custom_endpoints_keep_the_signing_region() {
        let e = Endpoint::custom(
            "https://vpce-0a1b2c3d-abcd1234.kms.us-east-1.vpce.amazonaws.com",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(e.signing_region(), "us-east-1");
        assert_eq!(
            e.host(),
            "vpce-0a1b2c3d-abcd1234.kms.us-east-1.vpce.amazonaws.com"
        );
        assert_eq!(e.path(), "/");

        let e = Endpoint::custom("http://127.0.0.1:4566", "eu-central-1").unwrap();
        assert_eq!(e.scheme(), Scheme::Http);
        assert_eq!(e.authority(), "127.0.0.1:4566");
        assert_eq!(e.port(), Some(4566));
        assert_eq!(e.signing_region(), "eu-central-1");

        let e = Endpoint::custom("HTTP://LocalHost:8080/kms/", "us-west-2").unwrap();
        assert_eq!(e.url(), "http://localhost:8080/kms/");

        let e = Endpoint::custom("http://[::1]:9000", "us-east-1").unwrap();
        assert_eq!(e.authority(), "[::1]:9000");

        let e = Endpoint::custom("kms.example.com:443", "us-east-1").unwrap();
        assert_eq!(e.url(), "https://kms.example.com/");
        assert_eq!(e.port(), None);

        let e = Endpoint::custom("https://kms.example.com:8443/", "us-east-1").unwrap();
        assert_eq!(e.authority(), "kms.example.com:8443");
    }

    #[test]
    fn custom_endpoint_refusals() {
        assert!(matches!(
            Endpoint::custom("http://kms.example.com", "us-east-1"),
            Err(EndpointError::InsecureScheme(_))
        ));
        assert!(matches!(
            Endpoint::custom("http://169.254.169.254", "us-east-1"),
            Err(EndpointError::InsecureScheme(_))
        ));
        for bad in [
            "ftp://x",
            "https://user:pw@host",
            "https://host/?a=b",
            "https://host#frag",
            "https://",
            "https://host:0",
            "https://host:65536",
            "https://host:abc",
            "https://ho st",
            "https://[::1",
            "https://[zz]:1",
            "https://host/a b",
        ] {
            assert!(
                matches!(
                    Endpoint::custom(bad, "us-east-1"),
                    Err(EndpointError::InvalidUrl(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Endpoint::custom("https://h", "bad/region"),
            Err(EndpointError::InvalidRegion(_))
        ));
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "169.254.169.254",
            "example.com",
            "[::2]",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
