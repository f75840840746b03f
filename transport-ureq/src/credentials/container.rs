//! Container credentials: the ECS task role and EKS Pod Identity endpoints.
//!
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on `http://169.254.170.2` (ECS);
//! otherwise `AWS_CONTAINER_CREDENTIALS_FULL_URI` is a whole URL (EKS Pod Identity uses
//! `http://169.254.170.23/v1/credentials`). A full URI may use plain HTTP only towards
//! loopback or the ECS/EKS link-local addresses, as the AWS SDKs require. The request carries
//! `Authorization: <token>` read from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read on
//! every refresh, because EKS rotates it) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The answer is
//! the JSON document `{AccessKeyId, SecretAccessKey, Token, Expiration}`. A proxy is never
//! used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::{Request, Response, Scheme, TransportError};
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{
    CredentialSource, EnvLookup, ProviderError, credentials_from_json, read_small_file, short,
};
use crate::transport::{
    HttpUrl, TransportConfig, UreqTransport, authority_host, is_loopback_authority, parse_host_ip,
};

/// The ECS credential endpoint that relative URIs are resolved against.
pub const ECS_BASE: &str = "http://169.254.170.2";

/// The link-local hosts a plain-HTTP full URI may name besides loopback.
const ALLOWED_LINK_LOCAL: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// The fifth source in the chain.
pub struct ContainerProvider {
    env: EnvLookup,
    relative_base: String,
    transport: UreqTransport,
}

impl std::fmt::Debug for ContainerProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerProvider")
            .field("relative_base", &self.relative_base)
            .finish_non_exhaustive()
    }
}

impl ContainerProvider {
    /// A provider reading its variables through `env`; `relative_base` replaces
    /// [`ECS_BASE`] (tests point it at loopback).
    pub fn new(env: EnvLookup, relative_base: Option<String>) -> Self {
        let mut config = TransportConfig::instance_metadata();
        config.call_timeout = Duration::from_secs(2);
        let transport = UreqTransport::with_config(config)
            .expect("a transport without a proxy url always builds");
        ContainerProvider {
            env,
            relative_base: relative_base.unwrap_or_else(|| ECS_BASE.to_owned()),
            transport,
        }
    }

    fn endpoint(&self) -> Result<HttpUrl, ProviderError> {
        if let Some(relative) = self.env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let relative = relative.trim();
            if !relative.starts_with('/') {
                return Err(ProviderError::Misconfigured(
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'".into(),
                ));
            }
            let base = self.relative_base.trim_end_matches('/');
            return HttpUrl::parse(&format!("{base}{relative}")).map_err(|e| {
                ProviderError::Misconfigured(format!(
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not make a valid url ({e})"
                ))
            });
        }
        let Some(full) = self.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
            return Err(ProviderError::NotConfigured(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI \
                 are not set"
                    .into(),
            ));
        };
        let url = HttpUrl::parse(&full).map_err(|e| {
            ProviderError::Misconfigured(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid url ({e})"
            ))
        })?;
        if url.scheme == Scheme::Http && !plain_http_allowed(&url.authority) {
            return Err(ProviderError::Misconfigured(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain http to {}; use https, or a \
                 loopback or ECS/EKS link-local address",
                url.authority
            )));
        }
        Ok(url)
    }

    fn authorization(&self) -> Result<Option<Zeroizing<String>>, ProviderError> {
        let token = if let Some(file) = self.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            let path = PathBuf::from(file.trim());
            let text = read_small_file(&path, 16 * 1024)
                .map_err(|e| {
                    ProviderError::Misconfigured(format!("authorization token file: {e}"))
                })?
                .ok_or_else(|| {
                    ProviderError::Misconfigured(format!(
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {} does not exist",
                        path.display()
                    ))
                })?;
            Some(Zeroizing::new(text.trim().to_owned()))
        } else {
            self.env
                .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(|t| Zeroizing::new(t.trim().to_owned()))
        };
        match token {
            Some(t) if t.is_empty() => Err(ProviderError::Misconfigured(
                "the container authorization token is empty".into(),
            )),
            Some(t) if t.bytes().any(|b| b.is_ascii_control()) => {
                Err(ProviderError::Misconfigured(
                    "the container authorization token contains control characters (a line \
                 break?); fix the token or its file"
                        .into(),
                ))
            }
            other => Ok(other),
        }
    }

    fn fetch(&self, request: &Request) -> Result<Response, TransportError> {
        match self
            .transport
            .send_with_timeout(request, Duration::from_secs(2))
        {
            Ok(r) if r.status >= 500 => {
                log::debug!("container credentials: http {}, retrying once", r.status);
                self.transport
                    .send_with_timeout(request, Duration::from_secs(2))
            }
            Err(e) if e.kind.is_retryable() => {
                log::debug!("container credentials: {e}, retrying once");
                self.transport
                    .send_with_timeout(request, Duration::from_secs(2))
            }
            other => other,
        }
    }
}

impl CredentialSource for ContainerProvider {
    fn name(&self) -> &'static str {
        "container"
    }

    fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
        let url = self.endpoint()?;
        let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
        if let Some(token) = self.authorization()? {
            headers.push(("authorization".to_owned(), token.as_str().to_owned()));
        }
        let request = Request {
            method: "GET",
            scheme: url.scheme,
            authority: url.authority.clone(),
            path_and_query: url.path_and_query.clone(),
            headers,
            body: Vec::new(),
        };
        let origin = format!("{}://{}", url.scheme.as_str(), url.authority);
        let response = self.fetch(&request).map_err(|e| {
            ProviderError::Unreachable(format!("credential endpoint not reachable: {e}"))
        })?;
        if response.status != 200 {
            let detail = error_detail(&response.body);
            return Err(ProviderError::Rejected(format!(
                "credential endpoint {origin} answered http {}{detail}; check the task role or \
                 pod identity association",
                response.status
            )));
        }
        credentials_from_json(
            &response.body,
            &format!("the answer of credential endpoint {origin}"),
        )
        .map_err(ProviderError::Malformed)
    }
}

/// Whether plain HTTP may go to this authority: loopback or the ECS/EKS link-local hosts.
fn plain_http_allowed(authority: &str) -> bool {
    is_loopback_authority(authority)
        || parse_host_ip(authority_host(authority))
            .is_some_and(|ip| ALLOWED_LINK_LOCAL.contains(&ip))
}

/// `": <code>: <message>"` from an error body like `{"code": "...", "message": "..."}`.
fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(alias = "Code")]
        code: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code, message }) => {
            let parts: Vec<String> = [code, message]
                .into_iter()
                .flatten()
                .map(|s| short(&s))
                .collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!(": {}", parts.join(": "))
            }
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(pairs: &[(&str, &str)]) -> ContainerProvider {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ContainerProvider::new(EnvLookup::from_pairs(pairs), None)
    }

    #[test]
    fn not_configured_without_variables() {
        let e = provider(&[]).load(Timestamp(0)).unwrap_err();
        assert!(matches!(e, ProviderError::NotConfigured(_)));
    }

    #[test]
    fn relative_uri_goes_to_the_ecs_address() {
        let p = provider(&[(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        )]);
        let url = p.endpoint().unwrap();
        assert_eq!(url.as_string(), "http://169.254.170.2/v2/credentials/abc");
        let p = provider(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2")]);
        assert!(matches!(p.endpoint(), Err(ProviderError::Misconfigured(_))));
    }

    #[test]
    fn full_uri_plain_http_only_to_allowed_hosts() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://localhost/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://169.254.170.2/x",
            "https://creds.example.com/x",
        ] {
            let p = provider(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok)]);
            assert!(p.endpoint().is_ok(), "{ok}");
        }
        for bad in [
            "http://169.254.169.254/latest",
            "http://10.0.0.1/creds",
            "http://creds.example.com/x",
            "ftp://127.0.0.1/",
        ] {
            let p = provider(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad)]);
            assert!(
                matches!(p.endpoint(), Err(ProviderError::Misconfigured(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_with_line_break_is_refused() {
        let p = provider(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Evil: 1"),
        ]);
        let e = p.load(Timestamp(0)).unwrap_err();
        assert!(
            matches!(e, ProviderError::Misconfigured(ref r) if r.contains("control characters"))
        );
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_detail(br#"{"code":"AccessDenied","message":"nope"}"#),
            ": AccessDenied: nope"
        );
        assert_eq!(error_detail(b"<html>"), "");
    }
}
