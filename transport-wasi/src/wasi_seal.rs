//! [`WasiSeal`]: the core's [`Seal`] over `wasi:http`, the WASI clock and random source, and
//! static credentials, built from a configuration loaded by the one loader
//! ([`kms_seal_cli::config`]).
//!
//! Used by both components: the plugin builds one in `configure`, the command for each run.
//!
//! - Endpoint and retries: [`kms_seal_cli::settings::seal_settings`], the same rules as the
//!   native CLI (`endpoint`, else the region's standard, FIPS or dual-stack endpoint;
//!   `AWS_MAX_ATTEMPTS`).
//! - Credentials: `access_key` / `secret_key` / `session_token`, with their `env://` and
//!   `file://` references already resolved by the loader, which also merges
//!   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` over the stanza.
//!   Shared credential files, roles and web identity need a filesystem or STS and are refused
//!   with a clear error. The plugin wraps these in
//!   `handed_credentials::HandedCredentials`, which prefers what
//!   the host hands in.

use alloc::borrow::ToOwned;
use core::fmt;

use kms_seal_cli::settings::{SettingsError, seal_settings};
use kms_seal_core::config::{AwsKmsSealConfig, Parameter, SecretSource};
use kms_seal_core::credentials::{Credentials, ProvideCredentials};
use kms_seal_core::envelope::DecodedValue;
use kms_seal_core::seal::{Seal, SealError, SealSettings};
use zeroize::Zeroizing;

use crate::environment::Environment;
use crate::runtime::WasiRuntime;
use crate::transport::WasiHttpTransport;

/// The core seal of the WASI components, with credentials from `C`.
pub type WasiCoreSeal<C = Credentials> = Seal<WasiHttpTransport, C, WasiRuntime>;

/// A seal for WASM hosts. The command uses the static credentials of its configuration; the
/// plugin supplies its own provider (credentials the host can replace at any time).
pub struct WasiSeal<C: ProvideCredentials = Credentials> {
    seal: WasiCoreSeal<C>,
}

impl WasiSeal {
    /// Builds the seal for `config` (loaded by [`kms_seal_cli::config`], references resolved)
    /// with its static credentials. Sends nothing: call [`init`](Self::init) for Vault's
    /// start-up `DescribeKey`.
    ///
    /// # Errors
    /// [`SetupError`] naming the parameter or variable to fix.
    pub fn from_config(config: &AwsKmsSealConfig, env: &Environment) -> Result<Self, SetupError> {
        let settings = Self::settings(config, env)?;
        Ok(WasiSeal::new(settings, static_credentials(config)?))
    }

    /// The endpoint and retry settings for `config`, refusing the parameters that need a
    /// filesystem or STS. Checked before the credentials, so that those errors come first.
    ///
    /// # Errors
    /// [`SetupError::Unsupported`] or [`SetupError::Settings`].
    pub fn settings(
        config: &AwsKmsSealConfig,
        env: &Environment,
    ) -> Result<SealSettings, SetupError> {
        for (parameter, value) in [
            (
                Parameter::SharedCredsFilename,
                &config.shared_creds_filename,
            ),
            (Parameter::SharedCredsProfile, &config.shared_creds_profile),
            (Parameter::RoleArn, &config.role_arn),
            (
                Parameter::WebIdentityTokenFile,
                &config.web_identity_token_file,
            ),
        ] {
            if value.is_some() {
                return Err(SetupError::Unsupported(parameter));
            }
        }
        let lookup = |name: &str| env.lookup(name);
        seal_settings(config, &config.region, &lookup).map_err(SetupError::Settings)
    }
}

impl<C: ProvideCredentials> WasiSeal<C> {
    /// A seal with `settings` (from [`WasiSeal::settings`]) and credentials from `credentials`.
    /// Sends nothing.
    pub fn new(settings: SealSettings, credentials: C) -> Self {
        WasiSeal {
            seal: Seal::new(settings, WasiHttpTransport::new(), credentials, WasiRuntime),
        }
    }

    /// Vault's start-up: `DescribeKey` (unless `key_not_required`), keeping the key ARN.
    ///
    /// # Errors
    /// As [`Seal::init`].
    pub fn init(&mut self) -> Result<(), SealError> {
        self.seal.init()
    }

    /// The core seal, for `encrypt`, `describe_key`, `key_id` and the rest.
    pub fn seal(&self) -> &WasiCoreSeal<C> {
        &self.seal
    }

    /// The core seal, by value.
    pub fn into_seal(self) -> WasiCoreSeal<C> {
        self.seal
    }

    /// The plaintext of a stored value ([`Seal::decrypt_value`]): a bare value directly, in a
    /// `multiwrapvalue:1` value the AWS KMS slots, the current key's first.
    ///
    /// # Errors
    /// As [`Seal::decrypt_value`].
    pub fn decrypt_value(
        &self,
        value: &DecodedValue,
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<alloc::vec::Vec<u8>>, SealError> {
        self.seal.decrypt_value(&value.value, aad)
    }

    /// Whether a stored value needs no rewrap ([`Seal::is_value_up_to_date`]).
    pub fn is_value_up_to_date(&self, value: &DecodedValue) -> bool {
        self.seal.is_value_up_to_date(&value.value)
    }
}

impl<C: ProvideCredentials> fmt::Debug for WasiSeal<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiSeal")
            .field("seal", &self.seal)
            .finish()
    }
}

/// Why a seal could not be built from a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// A parameter that needs a filesystem or STS, which WASM hosts do not offer.
    Unsupported(Parameter),
    /// The endpoint, `AWS_MAX_ATTEMPTS` or `disabled`: the shared rules.
    Settings(SettingsError),
    /// Neither static credentials nor the AWS_* variables are set.
    NoCredentials {
        /// The environment was ignored (`disallow_env_vars`).
        disallow_env_vars: bool,
    },
    /// A credential still holds an `env://` or `file://` reference (the configuration did not
    /// come through the loader).
    UnresolvedSecret(Parameter),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Unsupported(parameter) => write!(
                f,
                "seal parameter `{parameter}` is not supported in a wasm host (no shared files or sts): use access_key and secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
            SetupError::Settings(error) => fmt::Display::fmt(error, f),
            SetupError::NoCredentials { disallow_env_vars } => {
                f.write_str(
                    "no aws credentials: set access_key and secret_key in the seal settings",
                )?;
                if !disallow_env_vars {
                    f.write_str(
                        " or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment",
                    )?;
                }
                f.write_str(" (a wasm host has no instance profile or credential files)")
            }
            SetupError::UnresolvedSecret(parameter) => write!(
                f,
                "{parameter} holds an unresolved env:// or file:// reference; load the \
                 configuration with kms_seal_cli::config, which resolves them"
            ),
        }
    }
}

impl core::error::Error for SetupError {}

/// The static credentials of `config`: `access_key` / `secret_key` / `session_token`, with
/// the AWS_* variables already merged over them by the loader.
///
/// # Errors
/// [`SetupError::NoCredentials`] when there is no key pair, [`SetupError::UnresolvedSecret`]
/// when a reference was not resolved.
pub fn static_credentials(config: &AwsKmsSealConfig) -> Result<Credentials, SetupError> {
    let (Some(access_key), Some(secret_key)) = (&config.access_key, &config.secret_key) else {
        return Err(SetupError::NoCredentials {
            disallow_env_vars: config.disallow_env_vars,
        });
    };
    let literal = |parameter, source: &SecretSource| {
        source
            .literal()
            .map(ToOwned::to_owned)
            .map(Zeroizing::new)
            .ok_or(SetupError::UnresolvedSecret(parameter))
    };
    let access_key = literal(Parameter::AccessKey, access_key)?;
    let secret_key = literal(Parameter::SecretKey, secret_key)?;
    let session_token = match &config.session_token {
        Some(source) => Some(literal(Parameter::SessionToken, source)?),
        None => None,
    };
    Ok(Credentials::new(
        access_key.as_str(),
        secret_key.as_str(),
        session_token.map(|t| t.as_str().to_owned()),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::string::ToString;

    fn config(params: &[(&str, &str)], env: &Environment) -> AwsKmsSealConfig {
        let lookup = |n: &str| env.lookup(n);
        kms_seal_cli::config::from_settings(params, &lookup, None).unwrap()
    }

    #[test]
    fn credentials_from_settings_env_and_references() {
        let env = Environment::from_pairs([("MY_SECRET", " s3cret \n")]);
        let c = config(
            &[
                ("kms_key_id", "alias/k"),
                ("access_key", "AKID"),
                ("secret_key", "env://MY_SECRET"),
            ],
            &env,
        );
        let creds = static_credentials(&c).unwrap();
        assert_eq!(creds.access_key_id(), "AKID");
        assert_eq!(creds.secret_access_key(), "s3cret");
        assert_eq!(creds.session_token(), None);

        let env = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "tok"),
        ]);
        let c = config(&[("kms_key_id", "alias/k")], &env);
        let creds = static_credentials(&c).unwrap();
        assert_eq!(creds.access_key_id(), "AKIDENV");
        assert_eq!(creds.session_token(), Some("tok"));
    }

    #[test]
    fn missing_and_unresolved_credentials_say_what_to_set() {
        let env = Environment::default();
        let c = config(&[("kms_key_id", "alias/k")], &env);
        let err = static_credentials(&c).unwrap_err();
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");

        let lookup = |n: &str| env.lookup(n);
        let c = AwsKmsSealConfig::from_params(
            [
                ("kms_key_id", "alias/k"),
                ("access_key", "AKID"),
                ("secret_key", "file:///run/secret"),
            ],
            lookup,
        )
        .unwrap();
        let err = static_credentials(&c).unwrap_err();
        assert_eq!(err, SetupError::UnresolvedSecret(Parameter::SecretKey));
        let err: String = kms_seal_cli::config::from_settings(
            &[
                ("kms_key_id", "alias/k"),
                ("access_key", "AKID"),
                ("secret_key", "env://NOT_SET"),
            ],
            &lookup,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("NOT_SET"), "{err}");
    }

    #[test]
    fn unsupported_parameters_and_bad_settings_are_refused() {
        let env =
            Environment::from_pairs([("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "S")]);
        let c = config(
            &[("kms_key_id", "k"), ("role_arn", "arn:aws:iam::1:role/r")],
            &env,
        );
        let err = WasiSeal::from_config(&c, &env).unwrap_err();
        assert_eq!(err, SetupError::Unsupported(Parameter::RoleArn));
        assert!(err.to_string().contains("role_arn"));

        let c = config(&[("kms_key_id", "k"), ("disabled", "true")], &env);
        assert_eq!(
            WasiSeal::from_config(&c, &env).unwrap_err(),
            SetupError::Settings(SettingsError::Disabled)
        );

        let env2 = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_MAX_ATTEMPTS", "99"),
        ]);
        let c = config(&[("kms_key_id", "k")], &env2);
        let err = WasiSeal::from_config(&c, &env2).unwrap_err();
        assert!(err.to_string().contains("AWS_MAX_ATTEMPTS"));
    }

    #[test]
    fn endpoint_follows_region_endpoint_and_fips() {
        let env = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
        ]);
        let c = config(&[("kms_key_id", "k"), ("region", "eu-west-1")], &env);
        let seal = WasiSeal::from_config(&c, &env).unwrap();
        assert_eq!(
            seal.seal().settings().endpoint.url(),
            "https://kms-fips.eu-west-1.amazonaws.com/"
        );
        let c = config(
            &[
                ("kms_key_id", "k"),
                ("region", "eu-west-1"),
                ("endpoint", "http://127.0.0.1:4566"),
            ],
            &env,
        );
        let seal = WasiSeal::from_config(&c, &env).unwrap();
        assert_eq!(
            seal.seal().settings().endpoint.authority(),
            "127.0.0.1:4566"
        );
        assert_eq!(
            seal.seal().settings().endpoint.signing_region(),
            "eu-west-1"
        );
    }
}
