//! From a loaded configuration to the core's [`SealSettings`], the same in every host: the
//! endpoint (the configured one, else the region's standard, FIPS or dual-stack KMS endpoint),
//! `key_not_required`, and `AWS_MAX_ATTEMPTS`.

use alloc::string::String;
use core::fmt;

use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::kms::{Endpoint, EndpointError, EndpointOptions};
use kms_seal_core::seal::SealSettings;

/// Why settings could not be made from a configuration (a configuration error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// The chosen stanza has `disabled = true` (only possible through a settings map).
    Disabled,
    /// The endpoint URL or the region is unusable for KMS.
    Endpoint(EndpointError),
    /// `AWS_MAX_ATTEMPTS` is not a number from 1 to 10.
    MaxAttempts(String),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Disabled => f.write_str(
                "the seal \"awskms\" stanza is disabled (disabled = true): configure the enabled seal",
            ),
            SettingsError::Endpoint(e) => write!(f, "{e}; check the endpoint and region settings"),
            SettingsError::MaxAttempts(v) => write!(
                f,
                "AWS_MAX_ATTEMPTS={v:?} is not a number from 1 to 10; fix or unset it"
            ),
        }
    }
}

impl core::error::Error for SettingsError {}

/// The seal's settings for `config` in `region` (the host may have resolved the region
/// further than the configuration, natively from a profile or instance metadata).
///
/// `AWS_USE_FIPS_ENDPOINT=true` / `AWS_USE_DUALSTACK_ENDPOINT=true` pick those endpoints when
/// no `endpoint` is configured; `AWS_MAX_ATTEMPTS` (1 to 10) sets the attempts per call.
///
/// # Errors
/// A [`SettingsError`] naming what to fix.
pub fn seal_settings(
    config: &AwsKmsSealConfig,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SealSettings, SettingsError> {
    if config.disabled {
        return Err(SettingsError::Disabled);
    }
    let is_true = |name: &str| env(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let endpoint = match config
        .endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(url) => Endpoint::custom(url, region),
        None => Endpoint::resolve(
            region,
            EndpointOptions {
                use_fips: is_true("AWS_USE_FIPS_ENDPOINT"),
                use_dual_stack: is_true("AWS_USE_DUALSTACK_ENDPOINT"),
            },
        ),
    }
    .map_err(SettingsError::Endpoint)?;

    let mut settings = SealSettings::new(config.kms_key_id.clone(), endpoint);
    settings.key_not_required = config.key_not_required;
    if let Some(raw) = env("AWS_MAX_ATTEMPTS") {
        match raw.trim().parse::<u32>() {
            Ok(n @ 1..=10) => settings.retry.max_attempts = n,
            _ => return Err(SettingsError::MaxAttempts(raw)),
        }
    }
    Ok(settings)
}
