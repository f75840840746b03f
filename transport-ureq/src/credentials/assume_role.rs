//! Assumed roles: STS `AssumeRole` with credentials from another source.
//!
//! Two ways in:
//!
//! - **A profile with `role_arn`** ([`RoleContext::load_profile`], called by the profile
//!   source). Its source credentials come from exactly one of:
//!   - `source_profile = NAME`: that profile's static keys, or, if it has none, its own
//!     `role_arn` (chains of several hops, each hop signed with the previous hop's
//!     credentials) or its other settings (read by the profile source). A profile that names
//!     itself as its source must hold static keys. A loop is a configuration error naming
//!     it: `profile cycle: a -> b -> a`.
//!   - `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`: the
//!     environment, instance metadata or container providers of the chain.
//!   - `web_identity_token_file`: the role is assumed with `AssumeRoleWithWebIdentity`.
//!
//!   `external_id`, `role_session_name` (default `kms-seal-<unix time>`) and
//!   `duration_seconds` are sent with each hop; `mfa_serial` is refused (kms-seal never
//!   prompts).
//! - **Vault's `role_arn` without a web identity token file** ([`VaultRoleProvider`]): the
//!   role is assumed with credentials from the rest of the chain (static configuration,
//!   environment, shared files, container, instance metadata), as Vault's AWS helper does.
//!
//! Each load re-reads the source and redoes every hop, so no hop is ever signed with expired
//! credentials; the chain caches the result and refreshes it 5 minutes before it expires.
//! The inner chain of [`VaultRoleProvider`] has its own cache with the same rule.

use std::sync::Arc;

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;

use super::container::ContainerProvider;
use super::environment::EnvironmentProvider;
use super::imds::{ImdsClient, ImdsProvider};
use super::profile::{Profile, ProfileProvider, SharedFiles};
use super::sts::{self, AssumeRoleRequest, StsClient, StsEndpoint};
use super::web_identity::WebIdentityProvider;
use super::{ChainConfig, CredentialChain, CredentialSource, EnvLookup, ProviderError};

/// Shortest and longest `duration_seconds` STS accepts.
const DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=43_200;

/// What a profile role chain needs from the chain: its settings, the environment and the
/// instance-metadata client (for `credential_source`).
pub struct RoleContext {
    config: ChainConfig,
    env: EnvLookup,
    imds: Arc<ImdsClient>,
    client: StsClient,
}

impl std::fmt::Debug for RoleContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Where a role chain's first credentials come from.
enum Origin<'a> {
    /// A profile's static keys.
    StaticKeys(&'a str, &'a Profile),
    /// A profile without `role_arn` or static keys, read by the profile source.
    OtherProfile(&'a str),
    /// `credential_source`.
    CredentialSource(&'a str, &'a str),
    /// `role_arn` + `web_identity_token_file`: the last hop is the web identity call.
    WebIdentity(&'a str, &'a Profile),
}

impl RoleContext {
    /// A context over the chain's settings.
    pub fn new(config: ChainConfig, env: EnvLookup, imds: Arc<ImdsClient>) -> Self {
        let client = StsClient::new(&config);
        RoleContext {
            config,
            env,
            imds,
            client,
        }
    }

    /// Credentials of the profile `start`, which has a `role_arn`: resolves the chain of
    /// source profiles and assumes each role in turn.
    ///
    /// # Errors
    /// [`ProviderError::Misconfigured`] for a cycle, `mfa_serial`, a missing or ambiguous
    /// source; the errors of STS and of the source otherwise.
    pub fn load_profile(
        &self,
        files: &SharedFiles,
        start: &str,
        now: Timestamp,
    ) -> Result<Credentials, ProviderError> {
        let mut hops: Vec<(&str, AssumeRoleRequest)> = Vec::new();
        let mut visited: Vec<&str> = Vec::new();
        let mut name = start;
        let origin = loop {
            let profile = files.profile(name).ok_or_else(|| {
                ProviderError::Misconfigured(format!(
                    "profile '{name}' (the source_profile of '{}') does not exist; fix \
                     source_profile",
                    visited.last().copied().unwrap_or(start)
                ))
            })?;
            visited.push(name);
            // A source profile's static keys win over its own role_arn (as in the AWS CLI).
            if visited.len() > 1 && has_static_keys(profile) {
                break Origin::StaticKeys(name, profile);
            }
            let Some(role_arn) = profile.get("role_arn") else {
                break Origin::OtherProfile(name);
            };
            if profile.get("mfa_serial").is_some() {
                return Err(ProviderError::Misconfigured(format!(
                    "profile '{name}' sets mfa_serial, but kms-seal cannot prompt for an mfa \
                     code; use a role without an mfa condition, or run `aws sts \
                     get-session-token` and give the session credentials"
                )));
            }
            let source_profile = profile.get("source_profile").map(str::trim);
            let credential_source = profile.get("credential_source").map(str::trim);
            let token_file = profile.get("web_identity_token_file");
            match (source_profile, credential_source, token_file) {
                (None, None, Some(_)) => break Origin::WebIdentity(name, profile),
                (Some(_), Some(_), _) => {
                    return Err(ProviderError::Misconfigured(format!(
                        "profile '{name}' sets both source_profile and credential_source; keep \
                         one"
                    )));
                }
                (None, None, None) => {
                    return Err(ProviderError::Misconfigured(format!(
                        "profile '{name}' has role_arn but no source_profile, credential_source \
                         or web_identity_token_file; add one"
                    )));
                }
                _ => {}
            }
            hops.push((name, role_request(name, role_arn, profile, now)?));
            match (source_profile, credential_source) {
                (Some(source), _) if source == name => {
                    if has_static_keys(profile) {
                        break Origin::StaticKeys(name, profile);
                    }
                    return Err(ProviderError::Misconfigured(format!(
                        "profile cycle: {name} -> {name}; a profile may name itself as \
                         source_profile only if it has aws_access_key_id and \
                         aws_secret_access_key"
                    )));
                }
                (Some(source), _) => {
                    if visited.contains(&source) {
                        let mut cycle: Vec<&str> = visited.clone();
                        cycle.push(source);
                        return Err(ProviderError::Misconfigured(format!(
                            "profile cycle: {}; fix source_profile",
                            cycle.join(" -> ")
                        )));
                    }
                    name = source;
                }
                (None, Some(source)) => break Origin::CredentialSource(name, source),
                (None, None) => {
                    return Err(ProviderError::Misconfigured(format!(
                        "profile '{name}' has role_arn but no source_profile or \
                         credential_source; add one"
                    )));
                }
            }
        };
        let (mut credentials, mut from) = self.origin_credentials(&origin, now)?;
        let endpoint = self.endpoint(Some(files), start);
        for (profile, request) in hops.iter().rev() {
            credentials = self
                .client
                .assume_role(&endpoint, &credentials, &from, request, now)?;
            from = format!("role {} (profile '{profile}')", request.role_arn);
        }
        log::info!(
            "assumed role {} through profiles {}",
            hops.first().map_or("-", |(_, r)| r.role_arn.as_str()),
            visited.join(" -> ")
        );
        Ok(credentials)
    }

    fn origin_credentials(
        &self,
        origin: &Origin<'_>,
        now: Timestamp,
    ) -> Result<(Credentials, String), ProviderError> {
        match origin {
            Origin::StaticKeys(name, profile) => {
                let (Some(id), Some(secret)) = (
                    profile.get("aws_access_key_id"),
                    profile.get("aws_secret_access_key"),
                ) else {
                    return Err(ProviderError::Misconfigured(format!(
                        "profile '{name}' needs both aws_access_key_id and aws_secret_access_key"
                    )));
                };
                let token = profile
                    .get("aws_session_token")
                    .or_else(|| profile.get("aws_security_token"))
                    .map(str::to_owned);
                Ok((
                    Credentials::new(id, secret, token, None),
                    format!("profile '{name}'"),
                ))
            }
            Origin::OtherProfile(name) => {
                let mut selection = self.config.profile_selection(&self.env);
                selection.name = (*name).to_owned();
                selection.explicit = true;
                // The source profile's own credentials: static keys, a credential_process or IAM
                // Identity Center, read with the chain's environment and HTTPS settings.
                let credentials = ProfileProvider::new(selection)
                    .with_environment(self.env.clone(), self.config.https.clone())
                    .load(now)?;
                Ok((credentials, format!("profile '{name}'")))
            }
            Origin::CredentialSource(name, source) => {
                let provider: Box<dyn CredentialSource> = match *source {
                    "Environment" => Box::new(EnvironmentProvider::new(self.env.clone())),
                    "Ec2InstanceMetadata" => Box::new(ImdsProvider::new(self.imds.clone())),
                    "EcsContainer" => Box::new(ContainerProvider::new(
                        self.env.clone(),
                        self.config.container_relative_base.clone(),
                    )),
                    other => {
                        return Err(ProviderError::Misconfigured(format!(
                            "profile '{name}' has credential_source = {other}; use \
                             Environment, Ec2InstanceMetadata or EcsContainer"
                        )));
                    }
                };
                let credentials = provider.load(now).map_err(|e| match e {
                    ProviderError::NotConfigured(reason) => ProviderError::Misconfigured(format!(
                        "profile '{name}' has credential_source = {source}, but {} gave no \
                         credentials: {reason}",
                        provider.name()
                    )),
                    other => other,
                })?;
                Ok((
                    credentials,
                    format!("{} (credential_source)", provider.name()),
                ))
            }
            Origin::WebIdentity(name, profile) => {
                let role_arn = profile.get("role_arn").unwrap_or_default();
                let token_file = profile.get("web_identity_token_file").unwrap_or_default();
                let provider = WebIdentityProvider::for_profile(
                    name,
                    role_arn,
                    token_file,
                    profile.get("role_session_name"),
                    &self.config,
                    self.env.clone(),
                );
                Ok((
                    provider.load(now)?,
                    format!("role {role_arn} (profile '{name}', web identity)"),
                ))
            }
        }
    }

    fn endpoint(&self, files: Option<&SharedFiles>, profile: &str) -> StsEndpoint {
        let endpoint = sts::resolve_endpoint(&self.config, &self.env, files, profile);
        log::info!(
            "sts endpoint {} (from {}) for AssumeRole",
            endpoint.url,
            endpoint.source
        );
        endpoint
    }
}

fn has_static_keys(profile: &Profile) -> bool {
    profile.get("aws_access_key_id").is_some() && profile.get("aws_secret_access_key").is_some()
}

/// The `AssumeRole` parameters of profile `name`.
fn role_request(
    name: &str,
    role_arn: &str,
    profile: &Profile,
    now: Timestamp,
) -> Result<AssumeRoleRequest, ProviderError> {
    let duration_seconds = match profile.get("duration_seconds") {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<u32>()
                .ok()
                .filter(|d| DURATION_RANGE.contains(d))
                .ok_or_else(|| {
                    ProviderError::Misconfigured(format!(
                        "profile '{name}' has duration_seconds = {}; use a number of seconds \
                         from 900 to 43200",
                        text.trim()
                    ))
                })?,
        ),
    };
    Ok(AssumeRoleRequest {
        role_arn: role_arn.trim().to_owned(),
        session_name: profile
            .get("role_session_name")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| default_session_name(now)),
        external_id: profile.get("external_id").map(|s| s.trim().to_owned()),
        duration_seconds,
    })
}

/// `kms-seal-<unix time>`, as for web identity.
fn default_session_name(now: Timestamp) -> String {
    format!("kms-seal-{}", now.as_secs())
}

/// Vault's `role_arn` without a web identity token file: assumes the role with credentials
/// from the rest of the chain.
pub struct VaultRoleProvider {
    inner: CredentialChain,
    role_arn: String,
    session_name: Option<String>,
    config: ChainConfig,
    env: EnvLookup,
    client: StsClient,
}

impl std::fmt::Debug for VaultRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultRoleProvider")
            .field("role_arn", &self.role_arn)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl VaultRoleProvider {
    /// Assumes `config.role_arn` with credentials from `inner`. The session name is
    /// `role_session_name`, else `AWS_ROLE_SESSION_NAME`, else `kms-seal-<unix time>`.
    pub fn new(
        inner: CredentialChain,
        role_arn: &str,
        config: &ChainConfig,
        env: EnvLookup,
    ) -> Self {
        let session_name = config
            .role_session_name
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ROLE_SESSION_NAME"))
            .map(|v| v.trim().to_owned());
        VaultRoleProvider {
            inner,
            role_arn: role_arn.trim().to_owned(),
            session_name,
            config: config.clone(),
            env,
            client: StsClient::new(config),
        }
    }
}

impl CredentialSource for VaultRoleProvider {
    fn name(&self) -> &'static str {
        "assume role"
    }

    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError> {
        let (source, from) = self.inner.resolve(now, false).map_err(|e| {
            ProviderError::Misconfigured(format!(
                "role_arn {} is set without a web identity token file, so it is assumed with \
                 credentials from the rest of the chain, and there are none: {e}",
                self.role_arn
            ))
        })?;
        let selection = self.config.profile_selection(&self.env);
        let files = selection.load_files().ok();
        let endpoint =
            sts::resolve_endpoint(&self.config, &self.env, files.as_ref(), &selection.name);
        log::info!(
            "sts endpoint {} (from {}) for AssumeRole",
            endpoint.url,
            endpoint.source
        );
        let request = AssumeRoleRequest {
            role_arn: self.role_arn.clone(),
            session_name: self
                .session_name
                .clone()
                .unwrap_or_else(|| default_session_name(now)),
            external_id: None,
            duration_seconds: None,
        };
        let credentials = self
            .client
            .assume_role(&endpoint, &source, from, &request, now)?;
        log::info!(
            "assumed role {} with credentials from {from}",
            self.role_arn
        );
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RoleContext {
        let env = EnvLookup::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]);
        let imds = Arc::new(ImdsClient::from_env(&env));
        RoleContext::new(ChainConfig::default(), env, imds)
    }

    fn load(config: &str, start: &str) -> Result<Credentials, ProviderError> {
        let files = SharedFiles::parse(Some(config), None);
        context().load_profile(&files, start, Timestamp(1_800_000_000))
    }

    fn misconfigured(config: &str, start: &str) -> String {
        match load(config, start) {
            Err(ProviderError::Misconfigured(reason)) => reason,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn cycles_are_named() {
        let config = "\
[profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
[profile c]
role_arn = arn:aws:iam::1:role/c
source_profile = a
";
        assert_eq!(
            misconfigured(config, "a"),
            "profile cycle: a -> b -> c -> a; fix source_profile"
        );
        let own = "[profile s]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = s\n";
        assert!(
            misconfigured(own, "s").starts_with("profile cycle: s -> s;"),
            "{}",
            misconfigured(own, "s")
        );
    }

    #[test]
    fn mfa_serial_is_refused() {
        let config = "\
[profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
mfa_serial = arn:aws:iam::1:mfa/me
credential_source = Environment
";
        let e = misconfigured(config, "a");
        assert!(e.contains("profile 'b' sets mfa_serial"), "{e}");
    }

    #[test]
    fn missing_and_ambiguous_sources() {
        let e = misconfigured("[profile a]\nrole_arn = arn:r\n", "a");
        assert!(e.contains("no source_profile, credential_source"), "{e}");
        let e = misconfigured(
            "[profile a]\nrole_arn = arn:r\nsource_profile = x\ncredential_source = Environment\n",
            "a",
        );
        assert!(
            e.contains("both source_profile and credential_source"),
            "{e}"
        );
        let e = misconfigured(
            "[profile a]\nrole_arn = arn:r\nsource_profile = gone\n",
            "a",
        );
        assert!(
            e.contains("profile 'gone' (the source_profile of 'a')"),
            "{e}"
        );
        let e = misconfigured(
            "[profile a]\nrole_arn = arn:r\ncredential_source = Ec2\n",
            "a",
        );
        assert!(e.contains("credential_source = Ec2"), "{e}");
        // The environment has no keys: named, not silently skipped.
        let e = misconfigured(
            "[profile a]\nrole_arn = arn:r\ncredential_source = Environment\n",
            "a",
        );
        assert!(
            e.contains("credential_source = Environment, but environment"),
            "{e}"
        );
    }

    #[test]
    fn duration_and_session_name() {
        let files = SharedFiles::parse(
            Some(
                "[profile a]\nrole_arn = arn:r\nduration_seconds = 1800\nexternal_id = ext\n\
                 [profile b]\nrole_arn = arn:r\nduration_seconds = 60\nrole_session_name = me\n",
            ),
            None,
        );
        let a = files.profile("a").unwrap();
        let r = role_request("a", "arn:r", a, Timestamp(7)).unwrap();
        assert_eq!(r.duration_seconds, Some(1800));
        assert_eq!(r.external_id.as_deref(), Some("ext"));
        assert_eq!(r.session_name, "kms-seal-7");
        let b = files.profile("b").unwrap();
        let e = role_request("b", "arn:r", b, Timestamp(7)).unwrap_err();
        assert!(e.reason().contains("from 900 to 43200"), "{e}");
    }
}
