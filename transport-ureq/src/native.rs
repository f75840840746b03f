//! Putting the pieces together: a ready-to-use [`NativeSeal`] from a Vault seal configuration.
//!
//! This is what the `kms-seal` CLI does, exposed for programs that embed the seal:
//!
//! 1. region: the configuration's (flag, environment or file), else `AWS_REGION`,
//!    `AWS_DEFAULT_REGION`, the shared-files profile, instance metadata, then `us-east-1`;
//! 2. endpoint: the configured `endpoint` (Vault's `endpoint`, `AWS_KMS_ENDPOINT` or
//!    `--endpoint`: VPC endpoint, local emulator) keeping the signing region, else the
//!    AWS-wide settings of [`crate::endpoints`] (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`,
//!    the profile's `services` section or `endpoint_url`), else the partition's KMS endpoint
//!    (FIPS with `AWS_USE_FIPS_ENDPOINT=true`, dual-stack with
//!    `AWS_USE_DUALSTACK_ENDPOINT=true`). `disallow_env_vars` only stops Vault's own
//!    environment merging (as in Vault); `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns the
//!    AWS-wide settings off;
//! 3. credentials: the [`CredentialChain`] in Vault's order, seeded with the configuration's
//!    static keys, shared-files and web-identity settings;
//! 4. retries: AWS standard mode; `AWS_MAX_ATTEMPTS` overrides the number of attempts;
//! 5. https: the roots of `AWS_CA_BUNDLE`, else of the profile's `ca_bundle`, else the
//!    built-in ones; proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`
//!    (see [`ProxyRules`]). Both apply to KMS and to STS.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use kms_seal_cli::settings::{SettingsError, seal_settings};
use kms_seal_core::config::{AwsKmsSealConfig, SecretSource, ValueSource};
use kms_seal_core::seal::Seal;
use zeroize::Zeroizing;

use crate::credentials::imds::ImdsClient;
use crate::credentials::profile::ProfileSelection;
use crate::credentials::{ChainConfig, CredentialChain, EnvLookup};
use crate::endpoints::{Service, configured_endpoint};
use crate::region::{self, RegionError, ResolvedRegion};
use crate::runtime::StdRuntime;
use crate::transport::{
    CaBundle, CaBundleError, ProxyMode, ProxyRules, TlsTrust, TransportConfig, UreqTransport,
};

/// The seal over ureq, the credential chain and the operating system's clock and randomness.
pub type NativeSeal = Seal<UreqTransport, CredentialChain, StdRuntime>;

/// Why a seal could not be built from a configuration. All of these are configuration
/// problems (the CLI exits with status 2).
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The region is not a region name.
    Region(RegionError),
    /// The endpoint, `AWS_MAX_ATTEMPTS` or `disabled` (the shared rules of
    /// [`kms_seal_cli::settings`]).
    Settings(SettingsError),
    /// A credential parameter still holds an unresolved `env://` or `file://` reference.
    UnresolvedSecret(&'static str),
    /// The HTTPS transport could not be set up (for example a malformed proxy URL).
    Transport(kms_seal_core::http::TransportError),
    /// `AWS_CA_BUNDLE` or the profile's `ca_bundle` names a file that is not a usable bundle.
    CaBundle(CaBundleError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Region(e) => write!(f, "{e}"),
            BuildError::Settings(e) => write!(f, "{e}"),
            BuildError::UnresolvedSecret(p) => write!(
                f,
                "{p} holds an unresolved env:// or file:// reference; load the configuration \
                 with kms_seal_cli::config::load, which resolves them"
            ),
            BuildError::Transport(e) => write!(f, "cannot set up https: {e}; check HTTPS_PROXY"),
            BuildError::CaBundle(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// A built seal and what was decided on the way, for `-v` output.
pub struct BuiltSeal {
    /// The seal, not yet initialised (call [`Seal::init`]).
    pub seal: NativeSeal,
    /// The region and where it came from.
    pub region: ResolvedRegion,
}

/// Builds the seal for `config` (with `env://`/`file://` references already resolved, as
/// [`kms_seal_cli::config::load`] returns it), reading the environment through `env`.
///
/// # Errors
/// [`BuildError`] naming the setting that is wrong.
pub fn build_seal(config: &AwsKmsSealConfig, env: EnvLookup) -> Result<BuiltSeal, BuildError> {
    let imds = Arc::new(ImdsClient::from_env(&env));
    let mut chain_config = chain_config(config)?;

    let profile = chain_config.profile_selection(&env);
    let region = if config.region_source == ValueSource::Default && !config.disallow_env_vars {
        // Nothing named a region: look further (profile, instance metadata), as the SDKs do.
        region::resolve(None, &profile, Some(&imds), &env)
    } else {
        region::resolve(Some(&config.region), &profile, None, &env)
    }
    .map_err(BuildError::Region)?;
    chain_config.region = Some(region.name.clone());

    let lookup = |name: &str| env.get(name);
    let (config, endpoint_source) = kms_endpoint(config, &env, &profile);
    let settings = seal_settings(&config, &region.name, &lookup).map_err(BuildError::Settings)?;
    log::info!(
        "kms endpoint {} (from {endpoint_source})",
        settings.endpoint.url()
    );

    // One set of HTTPS settings (trust, proxies) for KMS and for the credential sources that
    // call AWS.
    let https = https_config(&profile, &env)?;
    let transport = UreqTransport::with_config(https.clone()).map_err(BuildError::Transport)?;
    chain_config.https = https;
    let chain = CredentialChain::with_imds(chain_config, env, imds);
    Ok(BuiltSeal {
        seal: Seal::new(settings, transport, chain, StdRuntime::new()),
        region,
    })
}

/// The settings of every transport that calls AWS over https (KMS, STS): the trusted roots
/// and the proxy rules, read from `env` and the selected profile.
///
/// # Errors
/// [`BuildError::CaBundle`] when the bundle named cannot be read or holds no certificate.
pub fn https_config(
    profile: &ProfileSelection,
    env: &EnvLookup,
) -> Result<TransportConfig, BuildError> {
    let bundle = match env.get("AWS_CA_BUNDLE").filter(|p| !p.trim().is_empty()) {
        Some(path) => Some((path, "AWS_CA_BUNDLE".to_owned())),
        // A profile that cannot be read is reported by the credential chain, which reads it
        // for keys.
        None => profile.load().ok().flatten().and_then(|p| {
            p.get("ca_bundle").map(|path| {
                (
                    path.to_owned(),
                    format!("ca_bundle in profile {}", profile.name),
                )
            })
        }),
    };
    let tls = match bundle {
        Some((path, origin)) => TlsTrust::Bundle(
            CaBundle::load(&env.expand_home(path.trim()), &origin).map_err(BuildError::CaBundle)?,
        ),
        None => TlsTrust::BuiltIn,
    };
    Ok(TransportConfig {
        tls,
        proxy: ProxyMode::Rules(ProxyRules::from_lookup(|name| env.get(name))),
        ..TransportConfig::default()
    })
}

/// `config` with the endpoint the AWS-wide settings choose when the seal names none, and
/// where the endpoint comes from.
fn kms_endpoint<'c>(
    config: &'c AwsKmsSealConfig,
    env: &EnvLookup,
    profile: &ProfileSelection,
) -> (Cow<'c, AwsKmsSealConfig>, String) {
    if config
        .endpoint
        .as_deref()
        .is_some_and(|e| !e.trim().is_empty())
    {
        return (
            Cow::Borrowed(config),
            "the seal's endpoint (endpoint / AWS_KMS_ENDPOINT / --endpoint)".to_owned(),
        );
    }
    // An unreadable file is reported by the credential chain; here it only hides endpoints.
    let files = profile.load_files().ok();
    match configured_endpoint(Service::Kms, env, files.as_ref(), &profile.name) {
        Some(found) => {
            let mut config = config.clone();
            config.endpoint = Some(found.url);
            (Cow::Owned(config), found.source)
        }
        None => (Cow::Borrowed(config), "the region's default".to_owned()),
    }
}

fn chain_config(config: &AwsKmsSealConfig) -> Result<ChainConfig, BuildError> {
    fn literal(
        source: &Option<SecretSource>,
        name: &'static str,
    ) -> Result<Option<Zeroizing<String>>, BuildError> {
        match source {
            None => Ok(None),
            Some(s) => s
                .literal()
                .map(|v| Some(Zeroizing::new(v.to_owned())))
                .ok_or(BuildError::UnresolvedSecret(name)),
        }
    }
    Ok(ChainConfig {
        access_key: literal(&config.access_key, "access_key")?.map(|k| k.to_string()),
        secret_key: literal(&config.secret_key, "secret_key")?,
        session_token: literal(&config.session_token, "session_token")?,
        shared_credentials_file: config.shared_creds_filename.as_ref().map(Into::into),
        profile: config.shared_creds_profile.clone(),
        role_arn: config.role_arn.clone(),
        role_session_name: config.role_session_name.clone(),
        web_identity_token_file: config.web_identity_token_file.as_ref().map(Into::into),
        ..ChainConfig::default()
    })
}
