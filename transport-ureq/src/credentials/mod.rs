//! The AWS credential chain, in the order Vault documents, with a cache.
//!
//! [`CredentialChain`] asks each source in turn and keeps the first credentials it gets:
//!
//! 1. [`static_config`]: `access_key` / `secret_key` [/ `session_token`] from the seal stanza;
//! 2. [`environment`]: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 3. [`profile`]: the shared files `~/.aws/credentials` and `~/.aws/config`: static keys,
//!    profiles that assume a role ([`assume_role`]: `role_arn` with `source_profile`,
//!    `credential_source` or `web_identity_token_file`), a [`process`] (`credential_process`)
//!    or IAM Identity Center ([`sso`]);
//! 4. [`web_identity`]: STS `AssumeRoleWithWebIdentity` with a token file (EKS IRSA);
//! 5. [`container`]: the ECS / EKS Pod Identity credential endpoint;
//! 6. [`imds`]: the EC2 instance profile over IMDSv2 (IMDSv1 when the token call times out).
//!
//! When the configuration sets `role_arn` without a web identity token file (configuration
//! or `AWS_WEB_IDENTITY_TOKEN_FILE`), the sources above except web identity form an inner
//! chain whose credentials assume that role with STS `AssumeRole`
//! ([`assume_role::VaultRoleProvider`]), as Vault does.
//!
//! A source that is not set up answers [`ProviderError::NotConfigured`] and the chain moves
//! on; a source that is set up but broken answers another [`ProviderError`] (misconfigured,
//! unreachable, rejected, malformed) and the chain stops there, so a typo in a profile never silently falls through to another identity. When no
//! source supplies credentials, [`ChainError`] names every source and why it gave nothing.
//!
//! Credentials are cached and refreshed 5 minutes before they expire; `force_refresh`
//! bypasses the cache. Every environment variable is read through an injectable
//! [`EnvLookup`], so tests never touch the process environment.

pub mod assume_role;
pub mod container;
pub mod environment;
pub mod imds;
pub mod process;
pub mod profile;
pub mod sso;
pub mod static_config;
pub mod sts;
pub mod web_identity;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kms_seal_core::credentials::{
    Credentials, CredentialsError, ProvideCredentials, SourceAttempt, SourceFailure,
};
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use self::imds::ImdsClient;
use crate::transport::TransportConfig;

/// Credentials are refreshed this many seconds before they expire.
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// How the chain and region resolution read environment variables: a function from a name to
/// its value. Empty values count as unset, as in the AWS SDKs.
#[derive(Clone)]
pub struct EnvLookup(Arc<dyn Lookup>);

/// A function from a variable name to its value.
trait Lookup: Fn(&str) -> Option<String> + Send + Sync {}

impl<F: Fn(&str) -> Option<String> + Send + Sync> Lookup for F {}

impl EnvLookup {
    /// Reads the process environment (`std::env::var`).
    pub fn process() -> Self {
        EnvLookup(Arc::new(|name| std::env::var(name).ok()))
    }

    /// Reads through `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        EnvLookup(Arc::new(lookup))
    }

    /// A fixed set of variables (for tests and embedding); everything else is unset.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        EnvLookup::from_fn(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    /// The value of `name`, `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// Whether `name` is set to `true` (any case).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The home directory (`HOME`, or `USERPROFILE` on Windows).
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.get("HOME")
            .or_else(|| self.get("USERPROFILE"))
            .map(PathBuf::from)
    }

    /// Expands a leading `~/` with [`EnvLookup::home_dir`].
    pub fn expand_home(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), self.home_dir()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(path),
        }
    }
}

impl Default for EnvLookup {
    fn default() -> Self {
        EnvLookup::process()
    }
}

impl fmt::Debug for EnvLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvLookup(..)")
    }
}

/// Why one source gave no credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderError {
    /// The source is not set up here; the chain tries the next one.
    NotConfigured(String),
    /// The source is set up but its settings are wrong or incomplete; the chain stops and
    /// reports this (and each of the variants below).
    Misconfigured(String),
    /// The source's service could not be reached or did not answer in time.
    Unreachable(String),
    /// The source's service answered with an error.
    Rejected(String),
    /// The source's service answered with something that holds no usable credentials.
    Malformed(String),
}

impl ProviderError {
    /// The reason, without the variant.
    pub fn reason(&self) -> &str {
        match self {
            ProviderError::NotConfigured(r)
            | ProviderError::Misconfigured(r)
            | ProviderError::Unreachable(r)
            | ProviderError::Rejected(r)
            | ProviderError::Malformed(r) => r,
        }
    }

    /// Whether the chain stops at this error (the source is set up but failed).
    pub fn stops_the_chain(&self) -> bool {
        !matches!(self, ProviderError::NotConfigured(_))
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::NotConfigured(r) => write!(f, "not configured ({r})"),
            other => write!(f, "failed: {}", other.reason()),
        }
    }
}

impl std::error::Error for ProviderError {}

/// One source of credentials in the chain.
pub trait CredentialSource: Send + Sync {
    /// Short lower-case name for messages and logs (`environment`, `instance metadata`).
    fn name(&self) -> &'static str;

    /// Loads credentials now, without caching (the chain caches).
    ///
    /// # Errors
    /// [`ProviderError::NotConfigured`] when the source is not set up, another
    /// [`ProviderError`] when it is but gave nothing usable.
    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError>;
}

/// The settings the chain takes from the seal configuration; everything else comes from the
/// environment. Values are already resolved (no `env://` or `file://` references).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ChainConfig {
    /// `access_key`.
    pub access_key: Option<String>,
    /// `secret_key`.
    pub secret_key: Option<Zeroizing<String>>,
    /// `session_token`.
    pub session_token: Option<Zeroizing<String>>,
    /// `shared_creds_filename`: overrides `AWS_SHARED_CREDENTIALS_FILE`.
    pub shared_credentials_file: Option<PathBuf>,
    /// `shared_creds_profile`: overrides `AWS_PROFILE`.
    pub profile: Option<String>,
    /// `role_arn`: with a web identity token file, the role web identity assumes
    /// (overrides `AWS_ROLE_ARN`); without one, the role assumed with STS `AssumeRole` using
    /// credentials from the rest of the chain.
    pub role_arn: Option<String>,
    /// `role_session_name`: overrides `AWS_ROLE_SESSION_NAME`.
    pub role_session_name: Option<String>,
    /// `web_identity_token_file`: overrides `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub web_identity_token_file: Option<PathBuf>,
    /// Region whose STS endpoint web identity calls (`us-east-1` when unset).
    pub region: Option<String>,
    /// STS endpoint URL: overrides `AWS_ENDPOINT_URL_STS` and the regional default.
    pub sts_endpoint: Option<String>,
    /// Base URL for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (default
    /// `http://169.254.170.2`); tests point it at loopback.
    pub container_relative_base: Option<String>,
    /// How sources that call AWS over HTTPS (STS, the SSO portal) build their transport:
    /// the same trust, proxy and timeout settings as the seal's KMS calls.
    pub https: TransportConfig,
}

impl fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainConfig")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<set>"),
            )
            .field("shared_credentials_file", &self.shared_credentials_file)
            .field("profile", &self.profile)
            .field("role_arn", &self.role_arn)
            .field("web_identity_token_file", &self.web_identity_token_file)
            .field("region", &self.region)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
}

impl ChainConfig {
    /// Which shared-files profile this configuration selects (also used for the region).
    pub fn profile_selection(&self, env: &EnvLookup) -> profile::ProfileSelection {
        profile::ProfileSelection::resolve(
            self.shared_credentials_file.as_deref(),
            self.profile.as_deref(),
            env,
        )
    }
}

/// What one source answered, as recorded in a [`ChainError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAttempt {
    /// The source's name.
    pub provider: &'static str,
    /// Why it gave nothing.
    pub error: ProviderError,
}

/// No source supplied credentials. Lists every source tried and why it gave nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainError {
    /// Each source tried, in order; the last one is the failure when the chain stopped early.
    pub attempts: Vec<ProviderAttempt>,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One text for the native CLI and the seal's errors: the core's.
        fmt::Display::fmt(&CredentialsError::from(self.clone()), f)
    }
}

impl std::error::Error for ChainError {}

impl From<ChainError> for CredentialsError {
    fn from(e: ChainError) -> Self {
        let mut attempts = e.attempts;
        let attempt = |a: ProviderAttempt| SourceAttempt {
            source: a.provider,
            reason: a.error.reason().to_owned(),
        };
        let Some(last) = attempts.pop_if(|a| a.error.stops_the_chain()) else {
            return CredentialsError::NotFound {
                tried: attempts.into_iter().map(attempt).collect(),
            };
        };
        let tried_before = attempts.into_iter().map(attempt).collect();
        let failure = SourceFailure {
            source: last.provider,
            reason: last.error.reason().to_owned(),
            tried_before,
        };
        match last.error {
            ProviderError::Unreachable(_) => CredentialsError::Unreachable(failure),
            ProviderError::Rejected(_) => CredentialsError::Rejected(failure),
            ProviderError::Malformed(_) => CredentialsError::MalformedResponse(failure),
            ProviderError::NotConfigured(_) | ProviderError::Misconfigured(_) => {
                CredentialsError::Misconfigured(failure)
            }
        }
    }
}

struct Cached {
    credentials: Credentials,
    provider: &'static str,
}

/// The credential chain with its cache. Implements the core's [`ProvideCredentials`].
pub struct CredentialChain {
    sources: Vec<Box<dyn CredentialSource>>,
    cache: Mutex<Option<Cached>>,
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name()).collect();
        f.debug_struct("CredentialChain")
            .field("sources", &names)
            .finish_non_exhaustive()
    }
}

impl CredentialChain {
    /// The standard chain with its own instance-metadata client (configured from `env`).
    pub fn new(config: ChainConfig, env: EnvLookup) -> Self {
        let imds = Arc::new(ImdsClient::from_env(&env));
        CredentialChain::with_imds(config, env, imds)
    }

    /// The standard chain sharing an instance-metadata client (and its token) with region
    /// resolution.
    pub fn with_imds(config: ChainConfig, env: EnvLookup, imds: Arc<ImdsClient>) -> Self {
        let vault_role = config
            .role_arn
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .filter(|_| web_identity::web_identity_token_file(&config, &env).is_none())
            .map(str::to_owned);
        let mut sources: Vec<Box<dyn CredentialSource>> = vec![
            Box::new(static_config::StaticProvider::new(
                config.access_key.clone(),
                config.secret_key.clone(),
                config.session_token.clone(),
            )),
            Box::new(environment::EnvironmentProvider::new(env.clone())),
            Box::new(
                profile::ProfileProvider::with_roles(
                    config.profile_selection(&env),
                    assume_role::RoleContext::new(config.clone(), env.clone(), imds.clone()),
                )
                .with_environment(env.clone(), config.https.clone()),
            ),
        ];
        if vault_role.is_none() {
            sources.push(Box::new(web_identity::WebIdentityProvider::new(
                &config,
                env.clone(),
            )));
        }
        sources.push(Box::new(container::ContainerProvider::new(
            env.clone(),
            config.container_relative_base.clone(),
        )));
        sources.push(Box::new(imds::ImdsProvider::new(imds)));
        match vault_role {
            None => CredentialChain::from_sources(sources),
            Some(role_arn) => {
                let inner = CredentialChain::from_sources(sources);
                CredentialChain::from_sources(vec![Box::new(assume_role::VaultRoleProvider::new(
                    inner, &role_arn, &config, env,
                ))])
            }
        }
    }

    /// A chain over these sources, in this order.
    pub fn from_sources(sources: Vec<Box<dyn CredentialSource>>) -> Self {
        CredentialChain {
            sources,
            cache: Mutex::new(None),
        }
    }

    /// The current credentials and the name of the source that supplied them. Cached
    /// credentials are returned until 5 minutes before they expire; `force_refresh` asks the
    /// sources again. If a refresh fails while the cached credentials have not yet expired
    /// (and no refresh was forced), the cached ones are returned and a warning logged.
    ///
    /// # Errors
    /// [`ChainError`] listing each source and why it gave nothing.
    pub fn resolve(
        &self,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<(Credentials, &'static str), ChainError> {
        // A poisoned lock only means another thread panicked mid-refresh; the cache is
        // replaced wholesale, so its content is still consistent.
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.as_ref()
            && !force_refresh
            && !cached.credentials.expires_within(now, REFRESH_MARGIN_SECS)
        {
            return Ok((cached.credentials.clone(), cached.provider));
        }
        match self.load(now) {
            Ok((credentials, provider)) => {
                log::info!("aws credentials from {provider}");
                log::debug!(
                    "access key id {} from {provider}, expires {}",
                    credentials.access_key_id(),
                    credentials
                        .expires_at()
                        .map_or_else(|| "never".to_owned(), |t| t.as_secs().to_string())
                );
                *cache = Some(Cached {
                    credentials: credentials.clone(),
                    provider,
                });
                Ok((credentials, provider))
            }
            Err(e) => {
                if let Some(cached) = cache.as_ref()
                    && !force_refresh
                    && cached
                        .credentials
                        .expires_at()
                        .is_some_and(|exp| exp.as_secs() > now.as_secs())
                {
                    log::warn!("refreshing aws credentials failed, using cached ones: {e}");
                    return Ok((cached.credentials.clone(), cached.provider));
                }
                Err(e)
            }
        }
    }

    fn load(&self, now: Timestamp) -> Result<(Credentials, &'static str), ChainError> {
        let mut attempts = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            match source.load(now) {
                Ok(credentials) => return Ok((credentials, source.name())),
                Err(error) => {
                    log::debug!("credential source {}: {error}", source.name());
                    let stop = error.stops_the_chain();
                    attempts.push(ProviderAttempt {
                        provider: source.name(),
                        error,
                    });
                    if stop {
                        break;
                    }
                }
            }
        }
        Err(ChainError { attempts })
    }
}

impl ProvideCredentials for CredentialChain {
    fn credentials(
        &self,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<Credentials, CredentialsError> {
        self.resolve(now, force_refresh)
            .map(|(credentials, _)| credentials)
            .map_err(CredentialsError::from)
    }
}

/// Fields of the JSON credential documents served by instance metadata and the container
/// endpoint (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`, optional `Code`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsDocument {
    code: Option<String>,
    message: Option<String>,
    access_key_id: Option<String>,
    #[serde(default, deserialize_with = "secret_string")]
    secret_access_key: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "secret_string")]
    token: Option<Zeroizing<String>>,
    expiration: Option<String>,
}

/// Deserializes a string straight into a zeroize-on-drop box (moving, not copying, it).
fn secret_string<'de, D>(deserializer: D) -> Result<Option<Zeroizing<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.map(Zeroizing::new))
}

/// Parses a JSON credential document; `what` names its origin for messages.
fn credentials_from_json(body: &[u8], what: &str) -> Result<Credentials, String> {
    let doc: CredentialsDocument = serde_json::from_slice(body).map_err(|e| {
        format!(
            "{what} is not a valid credentials document (json error at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    if let Some(code) = doc.code.as_deref()
        && !code.eq_ignore_ascii_case("success")
    {
        let message = doc.message.as_deref().map(short).unwrap_or_default();
        return Err(format!("{what} reports code {}: {message}", short(code)));
    }
    let access_key_id = doc
        .access_key_id
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| format!("{what} has no AccessKeyId"))?;
    let secret = doc
        .secret_access_key
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| format!("{what} has no SecretAccessKey"))?;
    let expires_at = match doc.expiration.as_deref() {
        Some(text) => Some(
            Timestamp::parse_rfc3339(text)
                .map_err(|_| format!("{what} has an invalid Expiration timestamp"))?,
        ),
        None => None,
    };
    let token = doc
        .token
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_owned());
    Ok(Credentials::new(
        access_key_id.trim(),
        secret.trim(),
        token,
        expires_at,
    ))
}

/// Reads at most `cap` bytes of a small text file; `Ok(None)` when it does not exist.
fn read_small_file(path: &Path, cap: u64) -> Result<Option<Zeroizing<String>>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{} is larger than {cap} bytes; is it the right file?",
            path.display()
        ));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("{} is not utf-8 text", path.display()))?;
    Ok(Some(Zeroizing::new(text.to_owned())))
}

/// Shortens text from a server for a one-line message.
fn short(text: &str) -> String {
    const MAX: usize = 200;
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    match trimmed.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Result<Credentials, ProviderError>);

    impl CredentialSource for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
            self.1.clone()
        }
    }

    struct Counting {
        calls: Arc<Mutex<u32>>,
        expires: Option<u64>,
    }

    impl CredentialSource for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
            let mut n = self.calls.lock().unwrap();
            *n += 1;
            if *n > 1 && self.expires == Some(0) {
                return Err(ProviderError::Misconfigured("down".into()));
            }
            Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                self.expires
                    .map(|e| Timestamp(if e == 0 { 2000 } else { e })),
            ))
        }
    }

    #[test]
    fn env_lookup_treats_empty_as_unset() {
        let env = EnvLookup::from_pairs([("A", ""), ("B", "x"), ("C", "TRUE")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B").as_deref(), Some("x"));
        assert!(env.is_true("C"));
        assert!(!env.is_true("B"));
        let env = EnvLookup::from_pairs([("HOME", "/home/u")]);
        assert_eq!(env.expand_home("~/x"), PathBuf::from("/home/u/x"));
        assert_eq!(env.expand_home("/abs"), PathBuf::from("/abs"));
    }

    #[test]
    fn first_source_with_credentials_wins() {
        let chain = CredentialChain::from_sources(vec![
            Box::new(Fixed(
                "a",
                Err(ProviderError::NotConfigured("unset".into())),
            )),
            Box::new(Fixed("b", Ok(Credentials::new("AKIDB", "s", None, None)))),
            Box::new(Fixed("c", Ok(Credentials::new("AKIDC", "s", None, None)))),
        ]);
        let (c, from) = chain.resolve(Timestamp(1), false).unwrap();
        assert_eq!(c.access_key_id(), "AKIDB");
        assert_eq!(from, "b");
    }

    #[test]
    fn failure_stops_the_chain_and_names_everyone() {
        let chain = CredentialChain::from_sources(vec![
            Box::new(Fixed(
                "a",
                Err(ProviderError::NotConfigured("A unset".into())),
            )),
            Box::new(Fixed(
                "b",
                Err(ProviderError::Misconfigured("B broke".into())),
            )),
            Box::new(Fixed("c", Ok(Credentials::new("AKIDC", "s", None, None)))),
        ]);
        let e = chain.resolve(Timestamp(1), false).unwrap_err();
        assert_eq!(e.attempts.len(), 2);
        let msg = e.to_string();
        assert!(msg.contains("from b failed: B broke"), "{msg}");
        assert!(msg.contains("a: A unset"), "{msg}");
    }

    #[test]
    fn all_unconfigured_lists_all() {
        let chain = CredentialChain::from_sources(vec![
            Box::new(Fixed(
                "a",
                Err(ProviderError::NotConfigured("A unset".into())),
            )),
            Box::new(Fixed(
                "b",
                Err(ProviderError::NotConfigured("B unset".into())),
            )),
        ]);
        let msg = chain.resolve(Timestamp(1), false).unwrap_err().to_string();
        assert!(
            msg.starts_with("no aws credentials found; tried a: A unset; b: B unset;"),
            "{msg}"
        );
    }

    #[test]
    fn caches_until_five_minutes_before_expiry() {
        let calls = Arc::new(Mutex::new(0));
        let chain = CredentialChain::from_sources(vec![Box::new(Counting {
            calls: calls.clone(),
            expires: Some(10_000),
        })]);
        assert_eq!(
            chain
                .resolve(Timestamp(0), false)
                .unwrap()
                .0
                .access_key_id(),
            "AKID1"
        );
        assert_eq!(
            chain
                .resolve(Timestamp(9_600), false)
                .unwrap()
                .0
                .access_key_id(),
            "AKID1"
        );
        assert_eq!(
            chain
                .resolve(Timestamp(9_700), false)
                .unwrap()
                .0
                .access_key_id(),
            "AKID2"
        );
        assert_eq!(
            chain
                .resolve(Timestamp(9_701), true)
                .unwrap()
                .0
                .access_key_id(),
            "AKID3"
        );
        assert_eq!(*calls.lock().unwrap(), 3);
    }

    #[test]
    fn keeps_unexpired_credentials_when_refresh_fails_unless_forced() {
        let calls = Arc::new(Mutex::new(0));
        let chain = CredentialChain::from_sources(vec![Box::new(Counting {
            calls,
            expires: Some(0),
        })]);
        assert!(chain.resolve(Timestamp(0), false).is_ok());
        // Inside the refresh margin: refresh fails, cached ones are still valid.
        assert_eq!(
            chain
                .resolve(Timestamp(1_800), false)
                .unwrap()
                .0
                .access_key_id(),
            "AKID1"
        );
        assert!(chain.resolve(Timestamp(1_800), true).is_err());
        assert!(chain.resolve(Timestamp(2_000), false).is_err());
    }

    #[test]
    fn parses_credential_documents() {
        let c = credentials_from_json(
            br#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z","Type":"AWS-HMAC"}"#,
            "doc",
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "ASIA1");
        assert_eq!(c.session_token(), Some("t"));
        assert_eq!(c.expires_at(), Some(Timestamp(1_893_456_000)));
        let e = credentials_from_json(br#"{"AccessKeyId":"A"}"#, "doc").unwrap_err();
        assert!(e.contains("SecretAccessKey"), "{e}");
        let e = credentials_from_json(b"{not json", "doc").unwrap_err();
        assert!(e.contains("not a valid credentials document"), "{e}");
        let e = credentials_from_json(
            br#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"no"}"#,
            "doc",
        )
        .unwrap_err();
        assert!(e.contains("AssumeRoleUnauthorizedAccess"), "{e}");
        let e = credentials_from_json(
            br#"{"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"soon"}"#,
            "doc",
        )
        .unwrap_err();
        assert!(e.contains("Expiration"), "{e}");
    }

    #[test]
    fn shortens_server_text() {
        assert_eq!(short(" a\nb "), "a b");
        assert_eq!(short(&"x".repeat(300)).len(), 203);
    }
}
