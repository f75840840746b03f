//! The EC2 instance profile over the instance metadata service (IMDSv2, IMDSv1 fallback).
//!
//! Protocol: `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds: 21600` gives
//! a session token; then `GET /latest/meta-data/iam/security-credentials/` names the role and
//! `GET .../<role>` returns its credentials as JSON, each with `x-aws-ec2-metadata-token`.
//!
//! Time limits are designed so a host that is not on EC2 costs little:
//!
//! * every operation ([`ImdsClient::session`]) has a whole budget (850 ms by default);
//! * the token call has its own short deadline (400 ms) because it is the call a Docker
//!   container with hop limit 1 never gets an answer to; when it times out the client falls
//!   back to IMDSv1 (plain GETs) unless `AWS_EC2_METADATA_V1_DISABLED=true`;
//! * every other call has a 1 s connect and read deadline, capped by what is left of the
//!   budget; a call is retried at most once, only after a 5xx or a broken connection.
//!
//! So with the metadata address black-holed (it accepts and never answers) the whole
//! operation gives up after 850 ms, and when only the token call goes unanswered and IMDSv1
//! answers, credentials arrive after about 400 ms.
//!
//! The token call answering 403 means IMDS is disabled for this instance (fail); 404 or 405
//! means an IMDSv1-only service (fall back). `AWS_EC2_METADATA_DISABLED=true` skips the
//! service entirely; `AWS_EC2_METADATA_SERVICE_ENDPOINT` (or
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`) changes the address. A proxy is never used.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::{Request, TransportError, TransportErrorKind};
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{CredentialSource, EnvLookup, ProviderError, credentials_from_json, short};
use crate::transport::{HttpUrl, TransportConfig, UreqTransport};

/// The IPv4 instance metadata address.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The IPv6 instance metadata address (`AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`).
pub const DEFAULT_ENDPOINT_IPV6: &str = "http://[fd00:ec2::254]";

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const REGION_PATH: &str = "/latest/meta-data/placement/region";

/// Settings of an [`ImdsClient`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImdsConfig {
    /// Base URL of the service.
    pub endpoint: String,
    /// Skip the service (`AWS_EC2_METADATA_DISABLED=true`).
    pub disabled: bool,
    /// Fall back to IMDSv1 when the token call times out or is not found (off with
    /// `AWS_EC2_METADATA_V1_DISABLED=true`).
    pub v1_fallback: bool,
    /// Deadline of the token call.
    pub token_timeout: Duration,
    /// Connect deadline of every call.
    pub connect_timeout: Duration,
    /// Deadline of every other call.
    pub call_timeout: Duration,
    /// Budget of one whole operation (token plus the calls that use it).
    pub budget: Duration,
    /// Lifetime requested for session tokens, in seconds.
    pub token_ttl_secs: u32,
}

impl Default for ImdsConfig {
    fn default() -> Self {
        ImdsConfig {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            disabled: false,
            v1_fallback: true,
            token_timeout: Duration::from_millis(400),
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(1),
            budget: Duration::from_millis(850),
            token_ttl_secs: 21_600,
        }
    }
}

impl ImdsConfig {
    /// The defaults, adjusted by `AWS_EC2_METADATA_DISABLED`, `AWS_EC2_METADATA_V1_DISABLED`,
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` and `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`.
    pub fn from_env(env: &EnvLookup) -> Self {
        let endpoint = env
            .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .map(|e| e.trim().to_owned())
            .unwrap_or_else(|| {
                let ipv6 = env
                    .get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("ipv6"));
                if ipv6 {
                    DEFAULT_ENDPOINT_IPV6
                } else {
                    DEFAULT_ENDPOINT
                }
                .to_owned()
            });
        ImdsConfig {
            endpoint,
            disabled: env.is_true("AWS_EC2_METADATA_DISABLED"),
            v1_fallback: !env.is_true("AWS_EC2_METADATA_V1_DISABLED"),
            ..ImdsConfig::default()
        }
    }
}

/// Why instance metadata gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImdsError {
    /// `AWS_EC2_METADATA_DISABLED=true`.
    Disabled,
    /// The configured endpoint is not a URL.
    InvalidEndpoint(String),
    /// The token call answered 403: IMDS is turned off for this instance.
    TokenForbidden,
    /// The token call did not succeed and IMDSv1 is disabled.
    V1Disabled(String),
    /// The service could not be reached.
    Transport(TransportError),
    /// The operation's time budget ran out.
    Timeout(Duration),
    /// The path does not exist (404).
    NotFound(String),
    /// Another unexpected status.
    Status {
        /// The path requested.
        path: String,
        /// The status received.
        status: u16,
    },
    /// The answer was not UTF-8 text.
    NotText(String),
}

impl ImdsError {
    /// Whether this means "no metadata service here" rather than "the service misbehaved".
    pub fn is_unreachable(&self) -> bool {
        match self {
            ImdsError::Disabled | ImdsError::Timeout(_) => true,
            ImdsError::Transport(e) => matches!(
                e.kind,
                TransportErrorKind::Timeout
                    | TransportErrorKind::ConnectionRefused
                    | TransportErrorKind::Dns
                    | TransportErrorKind::ConnectionReset
            ),
            _ => false,
        }
    }
}

impl fmt::Display for ImdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImdsError::Disabled => f.write_str("disabled by AWS_EC2_METADATA_DISABLED=true"),
            ImdsError::InvalidEndpoint(e) => write!(
                f,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a valid url ({e}); fix or unset it"
            ),
            ImdsError::TokenForbidden => f.write_str(
                "the metadata service refused a session token (403): it is disabled for this \
                 instance; enable it or use another credential source",
            ),
            ImdsError::V1Disabled(why) => write!(
                f,
                "{why} and AWS_EC2_METADATA_V1_DISABLED=true forbids the IMDSv1 fallback; raise \
                 the instance's metadata hop limit or allow IMDSv1"
            ),
            ImdsError::Transport(e) => write!(
                f,
                "metadata service not reachable ({e}); not on EC2? set \
                 AWS_EC2_METADATA_DISABLED=true to skip it"
            ),
            ImdsError::Timeout(budget) => write!(
                f,
                "metadata service gave no answer within {} ms; not on EC2? set \
                 AWS_EC2_METADATA_DISABLED=true to skip it",
                budget.as_millis()
            ),
            ImdsError::NotFound(path) => write!(f, "metadata path {path} not found (404)"),
            ImdsError::Status { path, status } => {
                write!(f, "metadata path {path} answered http {status}")
            }
            ImdsError::NotText(path) => write!(f, "metadata path {path} answered non-text data"),
        }
    }
}

impl std::error::Error for ImdsError {}

struct CachedToken {
    value: Zeroizing<String>,
    valid_until: Instant,
}

/// A client for the instance metadata service. Caches its session token; share one between
/// the credential chain and region resolution.
pub struct ImdsClient {
    config: ImdsConfig,
    base: Result<HttpUrl, String>,
    transport: UreqTransport,
    token: Mutex<Option<CachedToken>>,
}

impl fmt::Debug for ImdsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ImdsClient {
    /// A client with these settings.
    pub fn new(config: ImdsConfig) -> Self {
        let mut transport_config = TransportConfig::instance_metadata();
        transport_config.connect_timeout = config.connect_timeout;
        transport_config.call_timeout = config.call_timeout.max(config.token_timeout);
        let transport = UreqTransport::with_config(transport_config)
            .expect("a transport without a proxy url always builds");
        let base = HttpUrl::parse(&config.endpoint)
            .map_err(|e| e.to_string())
            .map(|mut url| {
                // Keep a base path but drop a trailing slash and any query.
                let path = url.path_and_query.split('?').next().unwrap_or("");
                url.path_and_query = path.trim_end_matches('/').to_owned();
                url
            });
        ImdsClient {
            config,
            base,
            transport,
            token: Mutex::new(None),
        }
    }

    /// A client configured from the environment ([`ImdsConfig::from_env`]).
    pub fn from_env(env: &EnvLookup) -> Self {
        ImdsClient::new(ImdsConfig::from_env(env))
    }

    /// The settings.
    pub fn config(&self) -> &ImdsConfig {
        &self.config
    }

    /// Starts an operation with a fresh time budget.
    pub fn session(&self) -> ImdsSession<'_> {
        ImdsSession {
            client: self,
            started: Instant::now(),
            mode: Mode::Unknown,
        }
    }

    /// The region of this instance (`/latest/meta-data/placement/region`).
    ///
    /// # Errors
    /// [`ImdsError`] when the service is disabled, unreachable or answers badly.
    pub fn region(&self) -> Result<String, ImdsError> {
        self.session().get(REGION_PATH).map(|r| r.trim().to_owned())
    }

    fn cached_token(&self) -> Option<Zeroizing<String>> {
        let guard = self.token.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|t| t.valid_until > Instant::now())
            .map(|t| t.value.clone())
    }

    fn store_token(&self, token: Option<CachedToken>) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }
}

#[derive(Clone)]
enum Mode {
    Unknown,
    Token(Zeroizing<String>),
    V1,
}

/// One operation against the metadata service, within one time budget.
pub struct ImdsSession<'a> {
    client: &'a ImdsClient,
    started: Instant,
    mode: Mode,
}

impl fmt::Debug for ImdsSession<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsSession")
            .field("elapsed", &self.started.elapsed())
            .finish_non_exhaustive()
    }
}

impl ImdsSession<'_> {
    /// GETs `path` (for example `/latest/meta-data/placement/region`) as text, getting a
    /// session token first if this session has none.
    ///
    /// # Errors
    /// [`ImdsError`]; [`ImdsError::Timeout`] once the session's budget is spent.
    pub fn get(&mut self, path: &str) -> Result<String, ImdsError> {
        let config = &self.client.config;
        if config.disabled {
            return Err(ImdsError::Disabled);
        }
        if let Mode::Unknown = self.mode {
            self.acquire_token()?;
        }
        let mut retried = false;
        let mut refreshed_token = false;
        loop {
            let timeout = config.call_timeout.min(self.remaining()?);
            let mut headers = Vec::new();
            if let Mode::Token(token) = &self.mode {
                headers.push((
                    "x-aws-ec2-metadata-token".to_owned(),
                    token.as_str().to_owned(),
                ));
            }
            let request = self.request("GET", path, headers)?;
            match self.client.transport.send_with_timeout(&request, timeout) {
                Ok(r) if r.status == 200 => {
                    return String::from_utf8(r.body).map_err(|_| ImdsError::NotText(path.into()));
                }
                Ok(r) if r.status == 401 && matches!(self.mode, Mode::Token(_)) => {
                    // The token expired or was revoked: get a new one, once.
                    if refreshed_token {
                        return Err(ImdsError::Status {
                            path: path.into(),
                            status: 401,
                        });
                    }
                    refreshed_token = true;
                    self.client.store_token(None);
                    self.acquire_token()?;
                }
                Ok(r) if r.status == 404 => return Err(ImdsError::NotFound(path.into())),
                Ok(r) if r.status >= 500 && !retried => retried = true,
                Ok(r) => {
                    return Err(ImdsError::Status {
                        path: path.into(),
                        status: r.status,
                    });
                }
                Err(e) if retryable(&e) && !retried => retried = true,
                Err(e) => return Err(self.transport_error(e)),
            }
        }
    }

    fn acquire_token(&mut self) -> Result<(), ImdsError> {
        if let Some(token) = self.client.cached_token() {
            self.mode = Mode::Token(token);
            return Ok(());
        }
        let config = &self.client.config;
        let mut retried = false;
        loop {
            let timeout = config.token_timeout.min(self.remaining()?);
            let headers = vec![(
                "x-aws-ec2-metadata-token-ttl-seconds".to_owned(),
                config.token_ttl_secs.to_string(),
            )];
            let request = self.request("PUT", TOKEN_PATH, headers)?;
            match self.client.transport.send_with_timeout(&request, timeout) {
                Ok(r) if r.status == 200 => {
                    let token = String::from_utf8(r.body)
                        .map(|t| Zeroizing::new(t.trim().to_owned()))
                        .map_err(|_| ImdsError::NotText(TOKEN_PATH.into()))?;
                    if token.is_empty() || token.contains(['\r', '\n']) {
                        return Err(ImdsError::NotText(TOKEN_PATH.into()));
                    }
                    let lifetime = u64::from(config.token_ttl_secs).saturating_sub(60);
                    self.client.store_token(Some(CachedToken {
                        value: token.clone(),
                        valid_until: Instant::now() + Duration::from_secs(lifetime),
                    }));
                    self.mode = Mode::Token(token);
                    return Ok(());
                }
                Ok(r) if r.status == 403 => return Err(ImdsError::TokenForbidden),
                Ok(r) if r.status == 404 || r.status == 405 => {
                    return self
                        .fall_back_to_v1(format!("the token call answered http {}", r.status));
                }
                Ok(r) if r.status >= 500 && !retried => retried = true,
                Ok(r) => {
                    return Err(ImdsError::Status {
                        path: TOKEN_PATH.into(),
                        status: r.status,
                    });
                }
                Err(e) if e.kind == TransportErrorKind::Timeout => {
                    return self.fall_back_to_v1(format!(
                        "the token call got no answer within {} ms",
                        timeout.as_millis()
                    ));
                }
                Err(e) if retryable(&e) && !retried => retried = true,
                Err(e) => return Err(self.transport_error(e)),
            }
        }
    }

    fn fall_back_to_v1(&mut self, why: String) -> Result<(), ImdsError> {
        if !self.client.config.v1_fallback {
            return Err(ImdsError::V1Disabled(why));
        }
        log::debug!("instance metadata: {why}; falling back to IMDSv1");
        self.mode = Mode::V1;
        Ok(())
    }

    fn remaining(&self) -> Result<Duration, ImdsError> {
        let budget = self.client.config.budget;
        let left = budget.saturating_sub(self.started.elapsed());
        if left.is_zero() {
            Err(ImdsError::Timeout(budget))
        } else {
            Ok(left)
        }
    }

    fn transport_error(&self, e: TransportError) -> ImdsError {
        if e.kind == TransportErrorKind::Timeout && self.remaining().is_err() {
            ImdsError::Timeout(self.client.config.budget)
        } else {
            ImdsError::Transport(e)
        }
    }

    fn request(
        &self,
        method: &'static str,
        path: &str,
        headers: Vec<(String, String)>,
    ) -> Result<Request, ImdsError> {
        let base = self
            .client
            .base
            .as_ref()
            .map_err(|e| ImdsError::InvalidEndpoint(e.clone()))?;
        Ok(Request {
            method,
            scheme: base.scheme,
            authority: base.authority.clone(),
            path_and_query: format!("{}{path}", base.path_and_query),
            headers,
            body: Vec::new(),
        })
    }
}

fn retryable(e: &TransportError) -> bool {
    e.kind != TransportErrorKind::Timeout && e.kind.is_retryable()
}

/// The last source in the chain: the instance profile's role credentials.
#[derive(Debug)]
pub struct ImdsProvider {
    client: Arc<ImdsClient>,
}

impl ImdsProvider {
    /// A provider over `client`.
    pub fn new(client: Arc<ImdsClient>) -> Self {
        ImdsProvider { client }
    }
}

impl CredentialSource for ImdsProvider {
    fn name(&self) -> &'static str {
        "instance metadata"
    }

    fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
        let classify = |e: ImdsError| match e {
            e if e.is_unreachable() => ProviderError::NotConfigured(e.to_string()),
            ImdsError::InvalidEndpoint(_) | ImdsError::V1Disabled(_) => {
                ProviderError::Misconfigured(e.to_string())
            }
            ImdsError::Transport(_) | ImdsError::Timeout(_) | ImdsError::Disabled => {
                ProviderError::Unreachable(e.to_string())
            }
            ImdsError::NotText(_) => ProviderError::Malformed(e.to_string()),
            ImdsError::TokenForbidden | ImdsError::NotFound(_) | ImdsError::Status { .. } => {
                ProviderError::Rejected(e.to_string())
            }
        };
        let mut session = self.client.session();
        let listing = session.get(CREDENTIALS_PATH).map_err(|e| match e {
            ImdsError::NotFound(_) => ProviderError::Rejected(
                "no iam role is attached to this instance; attach an instance profile".into(),
            ),
            other => classify(other),
        })?;
        let role = listing.lines().map(str::trim).find(|l| !l.is_empty());
        let Some(role) = role else {
            return Err(ProviderError::Rejected(
                "no iam role is attached to this instance; attach an instance profile".into(),
            ));
        };
        let valid = role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if !valid || role.len() > 128 {
            return Err(ProviderError::Malformed(format!(
                "the metadata service named an invalid role '{}'",
                short(role)
            )));
        }
        let document = session
            .get(&format!("{CREDENTIALS_PATH}{role}"))
            .map_err(classify)?;
        credentials_from_json(
            document.as_bytes(),
            &format!("instance metadata credentials for role {role}"),
        )
        .map_err(ProviderError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_env() {
        let c = ImdsConfig::from_env(&EnvLookup::from_pairs([("X", "y")]));
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert!(!c.disabled);
        assert!(c.v1_fallback);
        let c = ImdsConfig::from_env(&EnvLookup::from_pairs([
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_EC2_METADATA_V1_DISABLED", "TRUE"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"),
        ]));
        assert!(c.disabled);
        assert!(!c.v1_fallback);
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT_IPV6);
        let c = ImdsConfig::from_env(&EnvLookup::from_pairs([(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://127.0.0.1:1234/",
        )]));
        assert_eq!(c.endpoint, "http://127.0.0.1:1234/");
    }

    #[test]
    fn disabled_client_never_sends() {
        let config = ImdsConfig {
            disabled: true,
            ..ImdsConfig::default()
        };
        let client = ImdsClient::new(config);
        assert_eq!(client.region(), Err(ImdsError::Disabled));
        let e = ImdsProvider::new(Arc::new(client))
            .load(Timestamp(0))
            .unwrap_err();
        assert!(
            matches!(e, ProviderError::NotConfigured(ref r) if r.contains("AWS_EC2_METADATA_DISABLED"))
        );
    }

    #[test]
    fn invalid_endpoint_is_reported() {
        let config = ImdsConfig {
            endpoint: "ftp://x".into(),
            ..ImdsConfig::default()
        };
        let e = ImdsClient::new(config).region().unwrap_err();
        assert!(matches!(e, ImdsError::InvalidEndpoint(_)));
        assert!(e.to_string().contains("AWS_EC2_METADATA_SERVICE_ENDPOINT"));
    }

    #[test]
    fn base_path_is_kept_without_trailing_slash() {
        let config = ImdsConfig {
            endpoint: "http://127.0.0.1:9/prefix/".into(),
            ..ImdsConfig::default()
        };
        let client = ImdsClient::new(config);
        let session = client.session();
        let r = session.request("GET", REGION_PATH, Vec::new()).unwrap();
        assert_eq!(
            r.path_and_query,
            "/prefix/latest/meta-data/placement/region"
        );
        assert_eq!(r.authority, "127.0.0.1:9");
    }
}
