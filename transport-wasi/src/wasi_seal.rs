//! [`WasiSeal`]: the core's [`Seal`] over `wasi:http`, the WASI clock and random source, and
//! static credentials, built from Vault's `seal "awskms"` configuration.
//!
//! Used by both components: the plugin builds one in `configure`, the command for each run.
//!
//! - Endpoint: `endpoint` (a VPC endpoint or a loopback emulator) when set, otherwise the
//!   standard KMS endpoint of `region`, FIPS or dual-stack when `AWS_USE_FIPS_ENDPOINT` /
//!   `AWS_USE_DUALSTACK_ENDPOINT` is true, as in the native CLI.
//! - Retries: the core's standard policy; `AWS_MAX_ATTEMPTS` (1 to 10) changes the attempts.
//! - Credentials: `access_key` / `secret_key` / `session_token`, literal, `env://NAME`, or
//!   `file://PATH` where the caller can read files (the command component, in pre-opened
//!   directories). The configuration already merges `AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` over the stanza. Shared credential files,
//!   roles and web identity need a filesystem or STS and are refused with a clear error.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::config::{AwsKmsSealConfig, Parameter, SecretSource};
use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::DecodedValue;
use kms_seal_core::kms::{Endpoint, EndpointError, EndpointOptions};
use kms_seal_core::seal::{Seal, SealError, SealSettings};
use zeroize::Zeroizing;

use crate::environment::Environment;
use crate::runtime::WasiRuntime;
use crate::transport::WasiHttpTransport;

/// Reads the files of `file://` credential references, for hosts that have a filesystem.
///
/// Implemented for closures `Fn(&str) -> Result<Zeroizing<String>, String>`.
pub trait SecretFiles {
    /// The contents of the file at `path`.
    ///
    /// # Errors
    /// A short reason that names the path, never the contents.
    fn read(&self, path: &str) -> Result<Zeroizing<String>, String>;
}

impl<F: Fn(&str) -> Result<Zeroizing<String>, String>> SecretFiles for F {
    fn read(&self, path: &str) -> Result<Zeroizing<String>, String> {
        self(path)
    }
}

/// A seal for WASM hosts.
pub struct WasiSeal {
    seal: Seal<WasiHttpTransport, Credentials, WasiRuntime>,
}

impl WasiSeal {
    /// Builds the seal for `config`. Sends nothing: call [`init`](Self::init) for Vault's
    /// start-up `DescribeKey`.
    ///
    /// `read_file` resolves `file://` credential references (the path in, the trimmed
    /// contents out, or a short reason that never quotes the contents); `None` refuses them.
    ///
    /// # Errors
    /// [`SetupError`] naming the parameter or variable to fix.
    pub fn from_config(
        config: &AwsKmsSealConfig,
        env: &Environment,
        read_file: Option<&dyn SecretFiles>,
    ) -> Result<Self, SetupError> {
        if config.disabled {
            return Err(SetupError::Disabled);
        }
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

        let endpoint = match config
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(url) => Endpoint::custom(url, &config.region),
            None => Endpoint::resolve(
                &config.region,
                EndpointOptions {
                    use_fips: is_true(env, "AWS_USE_FIPS_ENDPOINT"),
                    use_dual_stack: is_true(env, "AWS_USE_DUALSTACK_ENDPOINT"),
                },
            ),
        }
        .map_err(SetupError::Endpoint)?;

        let mut settings = SealSettings::new(config.kms_key_id.clone(), endpoint);
        settings.key_not_required = config.key_not_required;
        if let Some(raw) = env.lookup("AWS_MAX_ATTEMPTS") {
            match raw.trim().parse::<u32>() {
                Ok(n @ 1..=10) => settings.retry.max_attempts = n,
                _ => return Err(SetupError::MaxAttempts(raw)),
            }
        }

        let credentials = static_credentials(config, env, read_file)?;
        Ok(WasiSeal {
            seal: Seal::new(settings, WasiHttpTransport::new(), credentials, WasiRuntime),
        })
    }

    /// Vault's start-up: `DescribeKey` (unless `key_not_required`), keeping the key ARN.
    ///
    /// # Errors
    /// As [`Seal::init`].
    pub fn init(&mut self) -> Result<(), SealError> {
        self.seal.init()
    }

    /// The core seal, for `encrypt`, `describe_key`, `key_id` and the rest.
    pub fn seal(&self) -> &Seal<WasiHttpTransport, Credentials, WasiRuntime> {
        &self.seal
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
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.seal.decrypt_value(&value.value, aad)
    }

    /// Whether a stored value needs no rewrap ([`Seal::is_value_up_to_date`]).
    pub fn is_value_up_to_date(&self, value: &DecodedValue) -> bool {
        self.seal.is_value_up_to_date(&value.value)
    }
}

impl fmt::Debug for WasiSeal {
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
    /// The stanza has `disabled = true`.
    Disabled,
    /// A parameter that needs a filesystem or STS, which WASM hosts do not offer.
    Unsupported(Parameter),
    /// The endpoint or region is invalid.
    Endpoint(EndpointError),
    /// `AWS_MAX_ATTEMPTS` is not a number from 1 to 10.
    MaxAttempts(String),
    /// Neither static credentials nor the AWS_* variables are set.
    NoCredentials {
        /// The environment was ignored (`disallow_env_vars`).
        disallow_env_vars: bool,
    },
    /// A credential reference could not be resolved.
    SecretReference {
        /// Which credential.
        parameter: Parameter,
        /// Why (names the variable or file, never the value).
        reason: String,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Disabled => f.write_str(
                "the seal \"awskms\" stanza is disabled (disabled = true): configure the enabled seal",
            ),
            SetupError::Unsupported(parameter) => write!(
                f,
                "seal parameter `{parameter}` is not supported in a wasm host (no shared files or sts): use access_key and secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
            SetupError::Endpoint(error) => fmt::Display::fmt(error, f),
            SetupError::MaxAttempts(raw) => write!(
                f,
                "AWS_MAX_ATTEMPTS is `{raw}`: use a number from 1 to 10"
            ),
            SetupError::NoCredentials { disallow_env_vars } => {
                f.write_str("no aws credentials: set access_key and secret_key in the seal settings")?;
                if !disallow_env_vars {
                    f.write_str(" or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")?;
                }
                f.write_str(" (a wasm host has no instance profile or credential files)")
            }
            SetupError::SecretReference { parameter, reason } => {
                write!(f, "cannot resolve seal parameter `{parameter}`: {reason}")
            }
        }
    }
}

impl core::error::Error for SetupError {}

fn is_true(env: &Environment, name: &str) -> bool {
    env.lookup(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn static_credentials(
    config: &AwsKmsSealConfig,
    env: &Environment,
    read_file: Option<&dyn SecretFiles>,
) -> Result<Credentials, SetupError> {
    let (Some(access_key), Some(secret_key)) = (&config.access_key, &config.secret_key) else {
        return Err(SetupError::NoCredentials {
            disallow_env_vars: config.disallow_env_vars,
        });
    };
    let access_key = resolve(Parameter::AccessKey, access_key, env, read_file)?;
    let secret_key = resolve(Parameter::SecretKey, secret_key, env, read_file)?;
    let session_token = match &config.session_token {
        Some(source) => Some(resolve(Parameter::SessionToken, source, env, read_file)?),
        None => None,
    };
    Ok(Credentials::new(
        access_key.as_str(),
        secret_key.as_str(),
        session_token.map(|t| t.as_str().to_owned()),
        None,
    ))
}

fn resolve(
    parameter: Parameter,
    source: &SecretSource,
    env: &Environment,
    read_file: Option<&dyn SecretFiles>,
) -> Result<Zeroizing<String>, SetupError> {
    let value = match source {
        SecretSource::Literal(value) => value.clone(),
        SecretSource::Env(name) => {
            Zeroizing::new(
                env.lookup(name)
                    .ok_or_else(|| SetupError::SecretReference {
                        parameter,
                        reason: alloc::format!("environment variable {name} is not set"),
                    })?,
            )
        }
        SecretSource::File(path) => match read_file {
            Some(files) => files
                .read(path)
                .map_err(|reason| SetupError::SecretReference { parameter, reason })?,
            None => {
                return Err(SetupError::SecretReference {
                    parameter,
                    reason: alloc::format!(
                        "file://{path} cannot be read in this host (no filesystem): pass the value or env://NAME"
                    ),
                });
            }
        },
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(SetupError::SecretReference {
            parameter,
            reason: "the referenced value is empty".into(),
        });
    }
    Ok(Zeroizing::new(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn config(params: &[(&str, &str)], env: &Environment) -> AwsKmsSealConfig {
        AwsKmsSealConfig::from_params(params.iter().copied(), |n| env.lookup(n)).unwrap()
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
        let creds = static_credentials(&c, &env, None).unwrap();
        assert_eq!(creds.access_key_id(), "AKID");
        assert_eq!(creds.secret_access_key(), "s3cret");
        assert_eq!(creds.session_token(), None);

        let env = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "tok"),
        ]);
        let c = config(&[("kms_key_id", "alias/k")], &env);
        let creds = static_credentials(&c, &env, None).unwrap();
        assert_eq!(creds.access_key_id(), "AKIDENV");
        assert_eq!(creds.session_token(), Some("tok"));
    }

    #[test]
    fn missing_and_unresolvable_credentials_say_what_to_set() {
        let env = Environment::default();
        let c = config(&[("kms_key_id", "alias/k")], &env);
        let err = static_credentials(&c, &env, None).unwrap_err();
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");

        let c = config(
            &[
                ("kms_key_id", "alias/k"),
                ("access_key", "AKID"),
                ("secret_key", "file:///run/secret"),
            ],
            &env,
        );
        let err = static_credentials(&c, &env, None).unwrap_err();
        assert!(err.to_string().contains("file:///run/secret"), "{err}");
        let read = |path: &str| -> Result<Zeroizing<String>, String> {
            assert_eq!(path, "/run/secret");
            Ok(Zeroizing::new("from-file\n".into()))
        };
        let creds = static_credentials(&c, &env, Some(&read)).unwrap();
        assert_eq!(creds.secret_access_key(), "from-file");

        let c = config(
            &[
                ("kms_key_id", "alias/k"),
                ("access_key", "AKID"),
                ("secret_key", "env://NOT_SET"),
            ],
            &env,
        );
        let err = static_credentials(&c, &env, None).unwrap_err();
        assert!(err.to_string().contains("NOT_SET"), "{err}");
    }

    #[test]
    fn unsupported_parameters_and_bad_settings_are_refused() {
        let env =
            Environment::from_pairs([("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "S")]);
        let c = config(
            &[("kms_key_id", "k"), ("role_arn", "arn:aws:iam::1:role/r")],
            &env,
        );
        let err = WasiSeal::from_config(&c, &env, None).unwrap_err();
        assert_eq!(err, SetupError::Unsupported(Parameter::RoleArn));
        assert!(err.to_string().contains("role_arn"));

        let c = config(&[("kms_key_id", "k"), ("disabled", "true")], &env);
        assert_eq!(
            WasiSeal::from_config(&c, &env, None).unwrap_err(),
            SetupError::Disabled
        );

        let env2 = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_MAX_ATTEMPTS", "99"),
        ]);
        let c = config(&[("kms_key_id", "k")], &env2);
        let err = WasiSeal::from_config(&c, &env2, None).unwrap_err();
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
        let seal = WasiSeal::from_config(&c, &env, None).unwrap();
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
        let seal = WasiSeal::from_config(&c, &env, None).unwrap();
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
