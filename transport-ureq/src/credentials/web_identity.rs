//! Web identity: STS `AssumeRoleWithWebIdentity` with a token file (EKS IRSA, GitHub OIDC).
//!
//! Settings, each from the configuration or else the environment: `role_arn` /
//! `AWS_ROLE_ARN`, `web_identity_token_file` / `AWS_WEB_IDENTITY_TOKEN_FILE`,
//! `role_session_name` / `AWS_ROLE_SESSION_NAME` (default `kms-seal-<unix time>`). A profile
//! with `role_arn` and `web_identity_token_file` uses the same call
//! ([`WebIdentityProvider::for_profile`]).
//!
//! The call is an unsigned form POST (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&
//! RoleArn=...&RoleSessionName=...&WebIdentityToken=...`) to the STS endpoint that
//! [`super::sts::resolve_endpoint`] chooses (`sts_endpoint`, `AWS_ENDPOINT_URL_STS`,
//! `AWS_ENDPOINT_URL`, the profile's settings, else the regional endpoint). The token file is
//! re-read on every call because the cluster rotates it. The chain's cache refreshes the
//! credentials 5 minutes before `Expiration`.

use std::path::PathBuf;

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::sts::{self, StsClient, StsEndpoint};
use super::{ChainConfig, CredentialSource, EnvLookup, ProviderError, read_small_file, short};

/// Web identity tokens larger than this are refused.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The fourth source in the chain.
pub struct WebIdentityProvider {
    role_arn: Option<String>,
    token_file: Option<PathBuf>,
    session_name: Option<String>,
    config: ChainConfig,
    env: EnvLookup,
    /// The profile whose endpoint settings apply (`None`: the chain's selected profile).
    profile: Option<String>,
    client: StsClient,
}

impl std::fmt::Debug for WebIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentityProvider")
            .field("role_arn", &self.role_arn)
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

impl WebIdentityProvider {
    /// A provider for the chain's configuration, reading the rest from `env`.
    pub fn new(config: &ChainConfig, env: EnvLookup) -> Self {
        let role_arn = config
            .role_arn
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ROLE_ARN"))
            .map(|v| v.trim().to_owned());
        let token_file = web_identity_token_file(config, &env);
        let session_name = config
            .role_session_name
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ROLE_SESSION_NAME"))
            .map(|v| v.trim().to_owned());
        WebIdentityProvider {
            role_arn,
            token_file,
            session_name,
            config: config.clone(),
            env,
            profile: None,
            client: StsClient::new(config),
        }
    }

    /// A provider for a profile's `role_arn` + `web_identity_token_file`
    /// (+ `role_session_name`); the endpoint settings of `profile` apply.
    pub fn for_profile(
        profile: &str,
        role_arn: &str,
        token_file: &str,
        session_name: Option<&str>,
        config: &ChainConfig,
        env: EnvLookup,
    ) -> Self {
        WebIdentityProvider {
            role_arn: Some(role_arn.trim().to_owned()),
            token_file: Some(env.expand_home(token_file.trim())),
            session_name: session_name.map(|s| s.trim().to_owned()),
            config: config.clone(),
            env,
            profile: Some(profile.to_owned()),
            client: StsClient::new(config),
        }
    }

    /// The STS endpoint for the next call.
    fn endpoint(&self) -> StsEndpoint {
        let selection = self.config.profile_selection(&self.env);
        let files = selection.load_files().ok();
        let profile = self.profile.as_deref().unwrap_or(&selection.name);
        sts::resolve_endpoint(&self.config, &self.env, files.as_ref(), profile)
    }
}

/// The web identity token file from the configuration, else `AWS_WEB_IDENTITY_TOKEN_FILE`.
pub(super) fn web_identity_token_file(config: &ChainConfig, env: &EnvLookup) -> Option<PathBuf> {
    config
        .web_identity_token_file
        .clone()
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| env.get("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from))
        .map(|p| env.expand_home(p.to_string_lossy().trim()))
}

impl CredentialSource for WebIdentityProvider {
    fn name(&self) -> &'static str {
        "web identity"
    }

    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError> {
        let (role_arn, token_file) = match (&self.role_arn, &self.token_file) {
            (Some(r), Some(t)) => (r, t),
            (None, None) => {
                return Err(ProviderError::NotConfigured(
                    "role_arn / AWS_ROLE_ARN and web_identity_token_file / \
                     AWS_WEB_IDENTITY_TOKEN_FILE are not set"
                        .into(),
                ));
            }
            (Some(_), None) => {
                return Err(ProviderError::Misconfigured(
                    "a role arn is set but no web identity token file; set \
                     web_identity_token_file or AWS_WEB_IDENTITY_TOKEN_FILE"
                        .into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ProviderError::Misconfigured(
                    "a web identity token file is set but no role arn; set role_arn or \
                     AWS_ROLE_ARN"
                        .into(),
                ));
            }
        };
        let token = read_small_file(token_file, MAX_TOKEN_BYTES)
            .map_err(|e| ProviderError::Misconfigured(format!("web identity token: {e}")))?
            .ok_or_else(|| {
                ProviderError::Misconfigured(format!(
                    "web identity token file {} does not exist",
                    token_file.display()
                ))
            })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(ProviderError::Misconfigured(format!(
                "web identity token file {} is empty",
                token_file.display()
            )));
        }
        let session_name = self
            .session_name
            .clone()
            .unwrap_or_else(|| format!("kms-seal-{}", now.as_secs()));
        let mut body = Zeroizing::new(String::with_capacity(token.len() + 256));
        body.push_str("Action=AssumeRoleWithWebIdentity&Version=");
        body.push_str(sts::API_VERSION);
        body.push_str("&RoleArn=");
        sts::form_encode(&mut body, role_arn);
        body.push_str("&RoleSessionName=");
        sts::form_encode(&mut body, &session_name);
        body.push_str("&WebIdentityToken=");
        sts::form_encode(&mut body, token);
        let endpoint = self.endpoint();
        log::info!(
            "sts endpoint {} (from {}) for AssumeRoleWithWebIdentity",
            endpoint.url,
            endpoint.source
        );
        let response = self.client.post(
            &endpoint,
            body.as_bytes(),
            None,
            now,
            "AssumeRoleWithWebIdentity",
        )?;
        if response.status != 200 {
            let code = sts::body_code(&response.body).unwrap_or_else(|| "no error code".into());
            let message = sts::xml_text(&response.body, "Message")
                .map(|m| format!(": {}", short(&m)))
                .unwrap_or_default();
            return Err(ProviderError::Rejected(format!(
                "sts AssumeRoleWithWebIdentity for {role_arn} answered http {} {}{message}; check \
                 the role's trust policy and the token",
                response.status,
                short(&code)
            )));
        }
        sts::parse_credentials(&response.body).map_err(|e| {
            ProviderError::Malformed(format!("sts AssumeRoleWithWebIdentity answer {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_beats_environment() {
        let config = ChainConfig {
            role_arn: Some("arn:config".into()),
            region: Some("eu-west-1".into()),
            ..ChainConfig::default()
        };
        let env = EnvLookup::from_pairs([
            ("AWS_ROLE_ARN", "arn:env"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/t"),
            ("AWS_ROLE_SESSION_NAME", "envsession"),
        ]);
        let p = WebIdentityProvider::new(&config, env);
        assert_eq!(p.role_arn.as_deref(), Some("arn:config"));
        assert_eq!(p.token_file, Some(PathBuf::from("/tmp/t")));
        assert_eq!(p.session_name.as_deref(), Some("envsession"));
        assert_eq!(p.endpoint().url, "https://sts.eu-west-1.amazonaws.com");
    }

    #[test]
    fn half_configured_is_a_failure() {
        let env = EnvLookup::from_pairs([("AWS_ROLE_ARN", "arn:env")]);
        let p = WebIdentityProvider::new(&ChainConfig::default(), env);
        assert!(matches!(
            p.load(Timestamp(0)),
            Err(ProviderError::Misconfigured(_))
        ));
        let p =
            WebIdentityProvider::new(&ChainConfig::default(), EnvLookup::from_pairs([("X", "1")]));
        assert!(matches!(
            p.load(Timestamp(0)),
            Err(ProviderError::NotConfigured(_))
        ));
    }
}
