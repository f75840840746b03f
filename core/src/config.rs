//! The Vault / OpenBao `seal "awskms"` configuration as a typed value.
//!
//! Vault hands the seal a flat map of string parameters (the body of the `seal "awskms" { ... }`
//! stanza, every value stringified) and lets a few environment variables override them.
//! [`AwsKmsSealConfig::from_params`] turns that map plus an environment lookup into one typed
//! value. It reads no file and no process environment itself: the caller passes the stanza's
//! pairs and a lookup function, so the same rules run in a native binary, a WASM component and
//! a test.
//!
//! # Precedence
//!
//! For each parameter the first of these that is set and not empty wins:
//!
//! 1. the environment variables of [`Parameter::environment_variables`], in the order listed
//!    (`AWS_REGION` before `AWS_DEFAULT_REGION`, `VAULT_AWSKMS_SEAL_KEY_ID` before
//!    `AWSKMS_WRAPPER_KEY_ID`), unless `disallow_env_vars` is true in the map;
//! 2. the value in the map;
//! 3. the default: `us-east-1` for `region`, false for the booleans, unset for the rest.
//!
//! Vault merges the environment over the file the same way; where Vault picks between the two
//! variables of a pair at random, this module picks the first named.
//!
//! `access_key`, `secret_key` and `session_token` may be `env://NAME` or `file:///path`
//! references. They stay references here ([`SecretSource`]); resolving them is I/O and belongs to
//! the transport crates.
//!
//! ```
//! use kms_seal_core::config::{AwsKmsSealConfig, ValueSource};
//!
//! let stanza = [("kms_key_id", "alias/vault"), ("region", "eu-west-1")];
//! let env = |name: &str| (name == "AWS_REGION").then(|| "eu-central-1".to_string());
//! let config = AwsKmsSealConfig::from_params(stanza, env)?;
//! assert_eq!(config.region, "eu-central-1");
//! assert_eq!(config.region_source, ValueSource::Environment("AWS_REGION"));
//! assert_eq!(config.kms_key_id, "alias/vault");
//! # Ok::<(), kms_seal_core::config::ConfigError>(())
//! ```

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zeroize::Zeroizing;

/// The region used when neither the stanza nor the environment names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Parameters Vault accepts on every seal stanza; they carry no meaning for the AWS KMS seal
/// and are ignored without a warning.
pub const GENERIC_PARAMETERS: &[&str] = &["name", "priority"];

/// A parameter of the `seal "awskms"` stanza.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Parameter {
    /// `region`: the AWS region of the key.
    Region,
    /// `access_key`: the access key id.
    AccessKey,
    /// `secret_key`: the secret access key.
    SecretKey,
    /// `session_token`: the session token of temporary credentials.
    SessionToken,
    /// `kms_key_id`: key id, key ARN, `alias/...` name or alias ARN.
    KmsKeyId,
    /// `endpoint`: a custom KMS endpoint URL (VPC endpoint, emulator).
    Endpoint,
    /// `shared_creds_filename`: the shared credentials file.
    SharedCredsFilename,
    /// `shared_creds_profile`: the profile in the shared credentials file.
    SharedCredsProfile,
    /// `role_arn`: a role to assume.
    RoleArn,
    /// `role_session_name`: the session name when assuming `role_arn`.
    RoleSessionName,
    /// `web_identity_token_file`: a web identity token for `role_arn`.
    WebIdentityTokenFile,
    /// `disallow_env_vars`: ignore the environment overrides.
    DisallowEnvVars,
    /// `key_not_required`: accept a configuration without `kms_key_id`.
    KeyNotRequired,
    /// `disabled`: the stanza describes an old seal (seal migration).
    Disabled,
}

impl Parameter {
    /// Every parameter, in the order of the Vault documentation.
    pub const ALL: [Parameter; 14] = [
        Parameter::Region,
        Parameter::AccessKey,
        Parameter::SecretKey,
        Parameter::SessionToken,
        Parameter::KmsKeyId,
        Parameter::Endpoint,
        Parameter::SharedCredsFilename,
        Parameter::SharedCredsProfile,
        Parameter::RoleArn,
        Parameter::RoleSessionName,
        Parameter::WebIdentityTokenFile,
        Parameter::DisallowEnvVars,
        Parameter::KeyNotRequired,
        Parameter::Disabled,
    ];

    /// The name used in the stanza, such as `kms_key_id`.
    pub const fn name(self) -> &'static str {
        match self {
            Parameter::Region => "region",
            Parameter::AccessKey => "access_key",
            Parameter::SecretKey => "secret_key",
            Parameter::SessionToken => "session_token",
            Parameter::KmsKeyId => "kms_key_id",
            Parameter::Endpoint => "endpoint",
            Parameter::SharedCredsFilename => "shared_creds_filename",
            Parameter::SharedCredsProfile => "shared_creds_profile",
            Parameter::RoleArn => "role_arn",
            Parameter::RoleSessionName => "role_session_name",
            Parameter::WebIdentityTokenFile => "web_identity_token_file",
            Parameter::DisallowEnvVars => "disallow_env_vars",
            Parameter::KeyNotRequired => "key_not_required",
            Parameter::Disabled => "disabled",
        }
    }

    /// The parameter with this stanza name (exact, case-sensitive, as in Vault).
    pub fn from_name(name: &str) -> Option<Parameter> {
        Parameter::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The environment variables that override this parameter, first named first.
    pub const fn environment_variables(self) -> &'static [&'static str] {
        match self {
            Parameter::Region => &["AWS_REGION", "AWS_DEFAULT_REGION"],
            Parameter::AccessKey => &["AWS_ACCESS_KEY_ID"],
            Parameter::SecretKey => &["AWS_SECRET_ACCESS_KEY"],
            Parameter::SessionToken => &["AWS_SESSION_TOKEN"],
            Parameter::KmsKeyId => &["VAULT_AWSKMS_SEAL_KEY_ID", "AWSKMS_WRAPPER_KEY_ID"],
            Parameter::Endpoint => &["AWS_KMS_ENDPOINT"],
            _ => &[],
        }
    }

    /// Whether the value is a credential that may be an `env://` or `file://` reference and
    /// must never be printed.
    pub const fn is_secret(self) -> bool {
        matches!(
            self,
            Parameter::AccessKey | Parameter::SecretKey | Parameter::SessionToken
        )
    }

    /// Whether the value is a boolean (parsed like Go's `strconv.ParseBool`).
    pub const fn is_bool(self) -> bool {
        matches!(
            self,
            Parameter::DisallowEnvVars | Parameter::KeyNotRequired | Parameter::Disabled
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a credential comes from: the value itself, or a reference Vault resolves at start-up.
///
/// `Debug` shows the variable name or the path of a reference, never a literal value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The value itself, zeroized on drop.
    Literal(Zeroizing<String>),
    /// `env://NAME`: the value of environment variable `NAME`.
    Env(String),
    /// `file:///path` (or `file://relative/path`): the contents of that file, surrounding
    /// whitespace trimmed.
    File(String),
}

impl SecretSource {
    /// Reads a parameter value: `env://NAME`, `file://PATH` or a literal. Surrounding whitespace
    /// is trimmed first, as Vault does.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSecretReference`] when `env://` or `file://` is not followed by a
    /// name or a path.
    pub fn parse(parameter: Parameter, value: &str) -> Result<SecretSource, ConfigError> {
        let value = value.trim();
        let invalid = || ConfigError::InvalidSecretReference { parameter };
        if let Some(name) = value.strip_prefix("env://") {
            if name.is_empty() {
                return Err(invalid());
            }
            Ok(SecretSource::Env(name.to_owned()))
        } else if let Some(path) = value.strip_prefix("file://") {
            if path.is_empty() {
                return Err(invalid());
            }
            Ok(SecretSource::File(path.to_owned()))
        } else {
            Ok(SecretSource::Literal(Zeroizing::new(value.to_owned())))
        }
    }

    /// The value, when it is a literal rather than a reference. Do not log it.
    pub fn literal(&self) -> Option<&str> {
        match self {
            SecretSource::Literal(value) => Some(value.as_str()),
            SecretSource::Env(_) | SecretSource::File(_) => None,
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Literal(_) => f.write_str("Literal(<redacted>)"),
            SecretSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Where a configuration value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueSource {
    /// Nowhere: the built-in default. For the region, a transport may still look in the
    /// shared config file or the instance metadata.
    Default,
    /// The parameter map (the seal stanza, or a command-line flag merged into it).
    Parameter,
    /// This environment variable.
    Environment(&'static str),
}

/// The settings of an AWS KMS seal, as Vault would use them.
///
/// Build it with [`AwsKmsSealConfig::from_params`]. `Debug` hides every literal credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKmsSealConfig {
    /// The AWS region (signing region and default endpoint).
    pub region: String,
    /// Where [`region`](Self::region) came from.
    pub region_source: ValueSource,
    /// Key id, key ARN, `alias/...` or alias ARN. Empty only when
    /// [`key_not_required`](Self::key_not_required) is true.
    pub kms_key_id: String,
    /// Static access key id.
    pub access_key: Option<SecretSource>,
    /// Static secret access key.
    pub secret_key: Option<SecretSource>,
    /// Session token for temporary static credentials.
    pub session_token: Option<SecretSource>,
    /// Custom KMS endpoint URL; changes the URL, not the signing region.
    pub endpoint: Option<String>,
    /// Shared credentials file to read instead of the default one.
    pub shared_creds_filename: Option<String>,
    /// Profile in the shared credentials file.
    pub shared_creds_profile: Option<String>,
    /// Role to assume with STS.
    pub role_arn: Option<String>,
    /// Session name when assuming [`role_arn`](Self::role_arn).
    pub role_session_name: Option<String>,
    /// Web identity token file for [`role_arn`](Self::role_arn).
    pub web_identity_token_file: Option<String>,
    /// The environment overrides were ignored.
    pub disallow_env_vars: bool,
    /// A missing `kms_key_id` is accepted (and no DescribeKey is made at start-up).
    pub key_not_required: bool,
    /// The stanza is marked disabled (an old seal during seal migration).
    pub disabled: bool,
    /// Parameter names that mean nothing to this seal, in order of first appearance. Vault
    /// ignores them; callers should warn (a typo such as `kms_keyid` lands here).
    pub unknown_parameters: Vec<String>,
}

impl AwsKmsSealConfig {
    /// Builds the configuration from the stanza's parameters and an environment lookup.
    ///
    /// See the [module documentation](self) for the precedence. Empty values count as unset
    /// (as Go's `os.Getenv(...) != ""` does). Names in [`GENERIC_PARAMETERS`] are ignored;
    /// any other unknown name is collected in
    /// [`unknown_parameters`](Self::unknown_parameters) rather than rejected, as Vault does.
    ///
    /// # Errors
    /// - [`ConfigError::DuplicateParameter`] when a parameter appears twice in `params`;
    /// - [`ConfigError::InvalidBool`] for a boolean that Go's `strconv.ParseBool` rejects;
    /// - [`ConfigError::InvalidSecretReference`] for `env://` or `file://` with nothing after;
    /// - [`ConfigError::InvalidRegion`] for a region that is not letters, digits and `-`;
    /// - [`ConfigError::AccessKeyWithoutSecret`] / [`ConfigError::SecretWithoutAccessKey`] when
    ///   only one half of the static key pair is set;
    /// - [`ConfigError::MissingKeyId`] when no key id is set and `key_not_required` is false.
    pub fn from_params<'a, I>(
        params: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut values: [Option<&'a str>; Parameter::ALL.len()] = [None; Parameter::ALL.len()];
        let mut unknown_parameters: Vec<String> = Vec::new();
        for (name, value) in params {
            match Parameter::from_name(name) {
                Some(parameter) => {
                    let slot = &mut values[parameter.index()];
                    if slot.is_some() {
                        return Err(ConfigError::DuplicateParameter(parameter));
                    }
                    *slot = Some(value);
                }
                None if GENERIC_PARAMETERS.contains(&name) => {}
                None => {
                    if !unknown_parameters.iter().any(|known| known == name) {
                        unknown_parameters.push(name.to_owned());
                    }
                }
            }
        }
        let param = |p: Parameter| values[p.index()];

        let disallow_env_vars = parse_bool_param(Parameter::DisallowEnvVars, param)?;
        let key_not_required = parse_bool_param(Parameter::KeyNotRequired, param)?;
        let disabled = parse_bool_param(Parameter::Disabled, param)?;

        // Environment first (unless disallowed), then the map; empty means unset.
        let lookup = |p: Parameter| -> Option<(String, ValueSource)> {
            if !disallow_env_vars {
                for var in p.environment_variables() {
                    if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                        return Some((value, ValueSource::Environment(var)));
                    }
                }
            }
            param(p)
                .filter(|v| !v.is_empty())
                .map(|v| (v.to_owned(), ValueSource::Parameter))
        };
        let plain = |p: Parameter| lookup(p).map(|(value, _)| value);
        let secret = |p: Parameter| -> Result<Option<SecretSource>, ConfigError> {
            match lookup(p) {
                None => Ok(None),
                Some((value, _)) => {
                    let value = Zeroizing::new(value);
                    if value.trim().is_empty() {
                        return Ok(None);
                    }
                    SecretSource::parse(p, &value).map(Some)
                }
            }
        };

        let (region, region_source) = match lookup(Parameter::Region) {
            Some((region, source)) => {
                if !is_region_name(&region) {
                    return Err(ConfigError::InvalidRegion {
                        value: region,
                        source,
                    });
                }
                (region, source)
            }
            None => (DEFAULT_REGION.to_owned(), ValueSource::Default),
        };

        let access_key = secret(Parameter::AccessKey)?;
        let secret_key = secret(Parameter::SecretKey)?;
        let session_token = secret(Parameter::SessionToken)?;
        match (&access_key, &secret_key) {
            (Some(_), None) => return Err(ConfigError::AccessKeyWithoutSecret),
            (None, Some(_)) => return Err(ConfigError::SecretWithoutAccessKey),
            _ => {}
        }

        let kms_key_id = plain(Parameter::KmsKeyId).unwrap_or_default();
        if kms_key_id.is_empty() && !key_not_required {
            return Err(ConfigError::MissingKeyId { disallow_env_vars });
        }

        Ok(AwsKmsSealConfig {
            region,
            region_source,
            kms_key_id,
            access_key,
            secret_key,
            session_token,
            endpoint: plain(Parameter::Endpoint),
            shared_creds_filename: plain(Parameter::SharedCredsFilename),
            shared_creds_profile: plain(Parameter::SharedCredsProfile),
            role_arn: plain(Parameter::RoleArn),
            role_session_name: plain(Parameter::RoleSessionName),
            web_identity_token_file: plain(Parameter::WebIdentityTokenFile),
            disallow_env_vars,
            key_not_required,
            disabled,
            unknown_parameters,
        })
    }

    /// For callers that want a strict mode: fails on the first unknown parameter.
    ///
    /// # Errors
    /// [`ConfigError::UnknownParameter`] naming the first entry of
    /// [`unknown_parameters`](Self::unknown_parameters).
    pub fn deny_unknown_parameters(&self) -> Result<(), ConfigError> {
        match self.unknown_parameters.first() {
            Some(name) => Err(ConfigError::UnknownParameter(name.clone())),
            None => Ok(()),
        }
    }
}

/// Parses a boolean the way Go's `strconv.ParseBool` does: `1`, `t`, `T`, `TRUE`, `true`,
/// `True` are true; `0`, `f`, `F`, `FALSE`, `false`, `False` are false; nothing else is.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Why a seal configuration was rejected. Every message names the parameter and says what to
/// change; none contains a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A parameter this seal does not know (only from
    /// [`AwsKmsSealConfig::deny_unknown_parameters`]).
    UnknownParameter(String),
    /// The same parameter was given twice.
    DuplicateParameter(Parameter),
    /// A boolean parameter with a value Go's `strconv.ParseBool` rejects.
    InvalidBool {
        /// The parameter.
        parameter: Parameter,
        /// The value given (booleans are not secret).
        value: String,
    },
    /// `env://` or `file://` with no variable name or path after it.
    InvalidSecretReference {
        /// The parameter.
        parameter: Parameter,
    },
    /// A region that is not made of ASCII letters, digits and `-`.
    InvalidRegion {
        /// The value given (not secret).
        value: String,
        /// Where it came from.
        source: ValueSource,
    },
    /// `access_key` is set but `secret_key` is not.
    AccessKeyWithoutSecret,
    /// `secret_key` is set but `access_key` is not.
    SecretWithoutAccessKey,
    /// No key id anywhere and `key_not_required` is false.
    MissingKeyId {
        /// Whether the environment was ignored (so setting a variable would not help).
        disallow_env_vars: bool,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownParameter(name) => write!(
                f,
                "unknown seal \"awskms\" parameter `{name}`: remove it or fix its spelling"
            ),
            ConfigError::DuplicateParameter(parameter) => write!(
                f,
                "seal \"awskms\" parameter `{parameter}` is given twice: keep only one"
            ),
            ConfigError::InvalidBool { parameter, value } => write!(
                f,
                "seal \"awskms\" parameter `{parameter}` is `{value}`, not a boolean: use true or false"
            ),
            ConfigError::InvalidSecretReference { parameter } => write!(
                f,
                "seal \"awskms\" parameter `{parameter}` is an empty reference: write env://VARIABLE or file:///path/to/file"
            ),
            ConfigError::InvalidRegion { value, source } => {
                write!(f, "region `{value}`")?;
                if let ValueSource::Environment(var) = source {
                    write!(f, " (from {var})")?;
                }
                f.write_str(" is not an AWS region name: use one such as us-east-1")
            }
            ConfigError::AccessKeyWithoutSecret => f.write_str(
                "access_key is set but secret_key is not: set both access_key and secret_key, or neither",
            ),
            ConfigError::SecretWithoutAccessKey => f.write_str(
                "secret_key is set but access_key is not: set both access_key and secret_key, or neither",
            ),
            ConfigError::MissingKeyId { disallow_env_vars } => {
                f.write_str("no KMS key configured: set kms_key_id in the seal \"awskms\" stanza")?;
                if !disallow_env_vars {
                    f.write_str(" or VAULT_AWSKMS_SEAL_KEY_ID")?;
                }
                Ok(())
            }
        }
    }
}

impl core::error::Error for ConfigError {}

fn parse_bool_param<'a>(
    parameter: Parameter,
    param: impl Fn(Parameter) -> Option<&'a str>,
) -> Result<bool, ConfigError> {
    match param(parameter) {
        None => Ok(false),
        Some(value) => parse_go_bool(value).ok_or_else(|| ConfigError::InvalidBool {
            parameter,
            value: value.to_owned(),
        }),
    }
}

/// AWS region names (`us-east-1`, `cn-north-1`, `us-gov-west-1`, emulators' `local`) are ASCII
/// letters, digits and hyphens; anything else would end up inside a host name and a credential
/// scope.
fn is_region_name(region: &str) -> bool {
    (1..=64).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env_of(pairs: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<&'static str, &'static str> = pairs.iter().copied().collect();
        move |name: &str| map.get(name).map(|v| v.to_string())
    }

    #[test]
    fn minimal_stanza_takes_defaults() {
        let c = AwsKmsSealConfig::from_params([("kms_key_id", "alias/vault")], no_env).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.region_source, ValueSource::Default);
        assert_eq!(c.kms_key_id, "alias/vault");
        assert!(c.access_key.is_none() && c.secret_key.is_none() && c.session_token.is_none());
        assert!(c.endpoint.is_none());
        assert!(!c.disallow_env_vars && !c.key_not_required && !c.disabled);
        assert!(c.unknown_parameters.is_empty());
    }

    #[test]
    fn every_parameter_is_read() {
        let params = [
            ("region", "eu-west-3"),
            ("access_key", "AKIDEXAMPLE"),
            ("secret_key", "secret-value"),
            ("session_token", "token-value"),
            ("kms_key_id", "arn:aws:kms:eu-west-3:111122223333:key/abc"),
            ("endpoint", "https://vpce.example"),
            ("shared_creds_filename", "/etc/aws/credentials"),
            ("shared_creds_profile", "vault"),
            ("role_arn", "arn:aws:iam::111122223333:role/vault"),
            ("role_session_name", "vault-seal"),
            ("web_identity_token_file", "/var/run/token"),
            ("disallow_env_vars", "true"),
            ("key_not_required", "T"),
            ("disabled", "0"),
        ];
        let c = AwsKmsSealConfig::from_params(params, no_env).unwrap();
        assert_eq!(c.region, "eu-west-3");
        assert_eq!(c.region_source, ValueSource::Parameter);
        assert_eq!(
            c.access_key.as_ref().unwrap().literal(),
            Some("AKIDEXAMPLE")
        );
        assert_eq!(
            c.secret_key.as_ref().unwrap().literal(),
            Some("secret-value")
        );
        assert_eq!(
            c.session_token.as_ref().unwrap().literal(),
            Some("token-value")
        );
        assert_eq!(c.kms_key_id, "arn:aws:kms:eu-west-3:111122223333:key/abc");
        assert_eq!(c.endpoint.as_deref(), Some("https://vpce.example"));
        assert_eq!(
            c.shared_creds_filename.as_deref(),
            Some("/etc/aws/credentials")
        );
        assert_eq!(c.shared_creds_profile.as_deref(), Some("vault"));
        assert_eq!(
            c.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/vault")
        );
        assert_eq!(c.role_session_name.as_deref(), Some("vault-seal"));
        assert_eq!(c.web_identity_token_file.as_deref(), Some("/var/run/token"));
        assert!(c.disallow_env_vars && c.key_not_required && !c.disabled);
    }

    #[test]
    fn environment_overrides_the_map() {
        let env = env_of(&[
            ("AWS_REGION", "ap-south-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-token"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", "env-key"),
            ("AWS_KMS_ENDPOINT", "http://127.0.0.1:4566"),
        ]);
        let params = [
            ("region", "eu-west-1"),
            ("access_key", "AKIDFILE"),
            ("secret_key", "file-secret"),
            ("kms_key_id", "file-key"),
            ("endpoint", "https://file.example"),
        ];
        let c = AwsKmsSealConfig::from_params(params, env).unwrap();
        assert_eq!(c.region, "ap-south-1");
        assert_eq!(c.region_source, ValueSource::Environment("AWS_REGION"));
        assert_eq!(c.access_key.unwrap().literal(), Some("AKIDENV"));
        assert_eq!(c.secret_key.unwrap().literal(), Some("env-secret"));
        assert_eq!(c.session_token.unwrap().literal(), Some("env-token"));
        assert_eq!(c.kms_key_id, "env-key");
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
    }

    #[test]
    fn first_named_variable_of_a_pair_wins() {
        let env = env_of(&[
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "us-west-1"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", "vault-key"),
            ("AWSKMS_WRAPPER_KEY_ID", "wrapper-key"),
        ]);
        let c = AwsKmsSealConfig::from_params([], env).unwrap();
        assert_eq!(c.region, "us-west-2");
        assert_eq!(c.kms_key_id, "vault-key");

        let env = env_of(&[
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "us-west-1"),
            ("AWSKMS_WRAPPER_KEY_ID", "wrapper-key"),
        ]);
        let c = AwsKmsSealConfig::from_params([], env).unwrap();
        assert_eq!(c.region, "us-west-1");
        assert_eq!(
            c.region_source,
            ValueSource::Environment("AWS_DEFAULT_REGION")
        );
        assert_eq!(c.kms_key_id, "wrapper-key");
    }

    #[test]
    fn disallow_env_vars_ignores_the_environment() {
        let env = env_of(&[
            ("AWS_REGION", "ap-south-1"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", "env-key"),
            ("AWS_KMS_ENDPOINT", "http://127.0.0.1:1"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
        ]);
        let params = [("disallow_env_vars", "1"), ("kms_key_id", "file-key")];
        let c = AwsKmsSealConfig::from_params(params, &env).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.kms_key_id, "file-key");
        assert!(c.endpoint.is_none() && c.access_key.is_none());

        let err = AwsKmsSealConfig::from_params([("disallow_env_vars", "true")], &env).unwrap_err();
        assert_eq!(
            err,
            ConfigError::MissingKeyId {
                disallow_env_vars: true
            }
        );
        assert!(!err.to_string().contains("VAULT_AWSKMS_SEAL_KEY_ID"));
    }

    #[test]
    fn go_booleans() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false), "{f}");
        }
        for bad in ["", "yes", "tRUE", " true", "2", "on"] {
            assert_eq!(parse_go_bool(bad), None, "{bad:?}");
        }
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("disabled", "yes")], no_env)
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidBool {
                parameter: Parameter::Disabled,
                value: "yes".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "seal \"awskms\" parameter `disabled` is `yes`, not a boolean: use true or false"
        );
    }

    #[test]
    fn key_pair_must_be_complete() {
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("access_key", "A")], no_env)
            .unwrap_err();
        assert_eq!(err, ConfigError::AccessKeyWithoutSecret);
        assert!(
            err.to_string()
                .contains("set both access_key and secret_key, or neither")
        );
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("secret_key", "S")], no_env)
            .unwrap_err();
        assert_eq!(err, ConfigError::SecretWithoutAccessKey);
        // Half from the file, half from the environment is a complete pair.
        let env = env_of(&[("AWS_SECRET_ACCESS_KEY", "S")]);
        let c =
            AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("access_key", "A")], env).unwrap();
        assert_eq!(c.secret_key.unwrap().literal(), Some("S"));
    }

    #[test]
    fn key_id_required_unless_key_not_required() {
        let err = AwsKmsSealConfig::from_params([("region", "us-east-2")], no_env).unwrap_err();
        assert_eq!(
            err,
            ConfigError::MissingKeyId {
                disallow_env_vars: false
            }
        );
        assert!(err.to_string().contains("set kms_key_id"));
        assert!(err.to_string().contains("VAULT_AWSKMS_SEAL_KEY_ID"));
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "")], no_env).unwrap_err();
        assert!(matches!(err, ConfigError::MissingKeyId { .. }));
        let c = AwsKmsSealConfig::from_params([("key_not_required", "true")], no_env).unwrap();
        assert!(c.kms_key_id.is_empty() && c.key_not_required);
    }

    #[test]
    fn secret_references_stay_references() {
        let params = [
            ("kms_key_id", "k"),
            ("access_key", "env://MY_AK"),
            ("secret_key", " file:///run/secrets/sk\n"),
            ("session_token", "file://relative/token"),
        ];
        let c = AwsKmsSealConfig::from_params(params, no_env).unwrap();
        assert_eq!(c.access_key, Some(SecretSource::Env("MY_AK".into())));
        assert_eq!(
            c.secret_key,
            Some(SecretSource::File("/run/secrets/sk".into()))
        );
        assert_eq!(
            c.session_token,
            Some(SecretSource::File("relative/token".into()))
        );
        for (param, value) in [("access_key", "env://"), ("secret_key", "file://")] {
            let other = if param == "access_key" {
                ("secret_key", "x")
            } else {
                ("access_key", "x")
            };
            let err =
                AwsKmsSealConfig::from_params([("kms_key_id", "k"), (param, value), other], no_env)
                    .unwrap_err();
            assert_eq!(
                err,
                ConfigError::InvalidSecretReference {
                    parameter: Parameter::from_name(param).unwrap()
                }
            );
            assert!(err.to_string().contains(param));
        }
        // Whitespace-only counts as unset.
        let c =
            AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("session_token", "  ")], no_env)
                .unwrap();
        assert!(c.session_token.is_none());
    }

    #[test]
    fn debug_hides_literal_secrets() {
        let params = [
            ("kms_key_id", "k"),
            ("access_key", "AKID-VISIBLE-NOT"),
            ("secret_key", "very-secret-key-material"),
            ("session_token", "very-secret-session-token"),
        ];
        let c = AwsKmsSealConfig::from_params(params, no_env).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret-key-material"));
        assert!(!debug.contains("very-secret-session-token"));
        assert!(!debug.contains("AKID-VISIBLE-NOT"));
        assert!(debug.contains("<redacted>"));
        let r = SecretSource::Env("NAME".into());
        assert_eq!(format!("{r:?}"), "Env(\"NAME\")");
    }

    #[test]
    fn unknown_and_generic_parameters() {
        let params = [
            ("kms_key_id", "k"),
            ("name", "primary"),
            ("priority", "1"),
            ("kms_keyid", "typo"),
            ("kms_keyid", "typo again"),
            ("Region", "eu-west-1"),
        ];
        let c = AwsKmsSealConfig::from_params(params, no_env).unwrap();
        assert_eq!(c.unknown_parameters, vec!["kms_keyid", "Region"]);
        assert_eq!(c.region, "us-east-1");
        let err = c.deny_unknown_parameters().unwrap_err();
        assert_eq!(err, ConfigError::UnknownParameter("kms_keyid".into()));
        assert!(err.to_string().contains("`kms_keyid`"));
        let clean = AwsKmsSealConfig::from_params([("kms_key_id", "k")], no_env).unwrap();
        assert_eq!(clean.deny_unknown_parameters(), Ok(()));
    }

    #[test]
    fn duplicates_are_rejected() {
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "a"), ("kms_key_id", "b")], no_env)
            .unwrap_err();
        assert_eq!(err, ConfigError::DuplicateParameter(Parameter::KmsKeyId));
        assert!(err.to_string().contains("`kms_key_id` is given twice"));
    }

    #[test]
    fn region_names_are_checked() {
        for good in [
            "us-east-1",
            "cn-north-1",
            "us-gov-west-1",
            "local",
            "eu-isoe-west-1",
        ] {
            let c = AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("region", good)], no_env)
                .unwrap();
            assert_eq!(c.region, good);
        }
        for bad in ["evil.com/", "us east 1", "-x", "x-", "a#b", "é"] {
            let err = AwsKmsSealConfig::from_params([("kms_key_id", "k"), ("region", bad)], no_env)
                .unwrap_err();
            assert!(matches!(err, ConfigError::InvalidRegion { .. }), "{bad}");
        }
        let env = env_of(&[("AWS_REGION", "bad/region")]);
        let err = AwsKmsSealConfig::from_params([("kms_key_id", "k")], env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "region `bad/region` (from AWS_REGION) is not an AWS region name: use one such as us-east-1"
        );
    }

    #[test]
    fn parameter_names_round_trip() {
        for p in Parameter::ALL {
            assert_eq!(Parameter::from_name(p.name()), Some(p));
            assert_eq!(Parameter::ALL[p.index()], p);
        }
        assert_eq!(Parameter::from_name("KMS_KEY_ID"), None);
        assert!(Parameter::SecretKey.is_secret() && !Parameter::Region.is_secret());
        assert!(Parameter::Disabled.is_bool() && !Parameter::Endpoint.is_bool());
    }

    #[test]
    fn errors_never_show_secrets() {
        let err = AwsKmsSealConfig::from_params(
            [("kms_key_id", "k"), ("secret_key", "super-secret-value")],
            no_env,
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("super-secret-value"));
    }
}
