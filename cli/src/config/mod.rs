//! The one loader of the `seal "awskms"` configuration, for every host: from a Vault config
//! file (HCL or JSON) or a directory of them, from the environment alone
//! (`VAULT_SEAL_TYPE=awskms`), from command-line flags, or from a host's settings map (the
//! plugin components); then resolving `env://` and `file://` credential references.
//!
//! A host supplies only file reading ([`Files`]) and environment lookup; every rule and every
//! error message is here, so the native CLI, the WASI command and the plugins behave alike.
//!
//! # Precedence
//!
//! For every parameter: **flags** (the `overrides` of [`load`]) over **environment** (the
//! variables of [`Parameter::environment_variables`], unless `disallow_env_vars` is true) over
//! the **file** (the one enabled `seal "awskms"` stanza) over the default. Within the
//! environment, the first variable named wins (`AWS_REGION` before `AWS_DEFAULT_REGION`).
//!
//! # Which stanza
//!
//! Stanzas with `disabled = "true"` (or `true`) are skipped: they describe the old seal of a
//! seal migration. Exactly one enabled `seal "awskms"` stanza must remain. When
//! `VAULT_SEAL_TYPE` is set, Vault treats every enabled seal stanza as that type; so with
//! `VAULT_SEAL_TYPE=awskms` any one enabled stanza is used, and with none (or no file at all)
//! the parameters come from the environment alone. Any other `VAULT_SEAL_TYPE` is an error.
//!
//! # Values
//!
//! Strings, numbers and booleans are taken as Vault stringifies them. `null`, unquoted names,
//! lists, objects and expressions are errors naming the file, the line and the parameter, as
//! is a parameter given twice in one stanza.

mod error;
mod hcl;
mod json;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::config::{
    AwsKmsSealConfig, ConfigError, Parameter, SecretSource, parse_go_bool,
};
use zeroize::Zeroizing;

pub use error::LoadError;

use crate::host::{FileError, Files};

/// The seal type this project implements, as written in `seal "awskms"` and `VAULT_SEAL_TYPE`.
pub const SEAL_TYPE: &str = "awskms";

/// Largest configuration file read (4 MiB).
pub const MAX_CONFIG_FILE: u64 = 4 << 20;

/// Largest `file://` credential file read (64 KiB).
pub const MAX_SECRET_FILE: u64 = 64 << 10;

/// The syntax of a Vault config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFormat {
    /// HashiCorp Configuration Language.
    Hcl,
    /// JSON, in the shape Vault's HCL parser accepts.
    Json,
}

impl ConfigFormat {
    /// JSON when the file name ends in `.json` (any case) or the first non-space character is
    /// `{`; HCL otherwise.
    pub fn detect(path: &str, text: &str) -> ConfigFormat {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if has_extension(path, "json") || text.trim_start().starts_with('{') {
            ConfigFormat::Json
        } else {
            ConfigFormat::Hcl
        }
    }
}

/// One `seal "<type>" { ... }` stanza, values stringified as Vault does.
///
/// `Debug` lists the parameter names only: any value may be a credential.
#[derive(Clone)]
pub struct SealStanza {
    /// The label: `awskms`, `transit`, `shamir`, ...
    pub seal_type: String,
    /// `disabled` was true: an old seal kept for migration.
    pub disabled: bool,
    /// The file it came from.
    pub source: String,
    /// 1-based line of the stanza.
    pub line: usize,
    params: Vec<(String, Zeroizing<String>)>,
}

impl SealStanza {
    /// The parameters in file order. Values may be credentials: do not log them.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of a parameter. It may be a credential: do not log it.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

impl fmt::Debug for SealStanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("SealStanza")
            .field("seal_type", &self.seal_type)
            .field("disabled", &self.disabled)
            .field("source", &self.source)
            .field("line", &self.line)
            .field("params", &names)
            .finish()
    }
}

/// Loads the AWS KMS seal configuration and resolves its `env://` / `file://` references.
///
/// `config_path` is a Vault config file (HCL or JSON) or a directory whose `*.hcl` and
/// `*.json` files are read in name order, like `vault server -config=DIR`. `overrides` are
/// `(parameter, value)` pairs from command-line flags; they win over the environment and the
/// file (see the [module documentation](self)). Without `config_path` the parameters come from
/// the environment and `overrides` alone.
///
/// # Errors
/// Any [`LoadError`]: the file cannot be read or parsed, there is no enabled `seal "awskms"`
/// stanza or more than one, `VAULT_SEAL_TYPE` names another seal, there is no file and no key
/// id ([`LoadError::NoConfig`]), the parameters are invalid ([`LoadError::Config`]) or a
/// reference cannot be resolved.
pub fn load(
    config_path: Option<&str>,
    overrides: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
    files: &dyn Files,
) -> Result<AwsKmsSealConfig, LoadError> {
    let mut config = load_unresolved(config_path, overrides, env, files)?;
    resolve_secrets(&mut config, env, Some(files))?;
    Ok(config)
}

/// A `disabled = "true"` `seal "awskms"` stanza of a seal migration (the old seal), loaded.
///
/// `Debug` shows where it came from and the configuration's own redacted `Debug`.
#[derive(Debug)]
pub struct DisabledSeal {
    /// The file the stanza came from.
    pub source: String,
    /// 1-based line of the stanza.
    pub line: usize,
    /// Its configuration, references resolved.
    pub config: AwsKmsSealConfig,
}

/// The disabled `seal "awskms"` stanzas of the Vault config at `config_path` (Vault's seal
/// migration form: the old seal is kept with `disabled = "true"`), each loaded and resolved
/// on its own, in file order; empty without a config file.
///
/// Command-line flags never apply to them (they configure the enabled seal). The environment
/// does, as in Vault, which configures the old seal's wrapper with the same `SetConfig` as the
/// new one (`AWS_REGION`, `VAULT_AWSKMS_SEAL_KEY_ID`, `AWS_KMS_ENDPOINT`, ...): set
/// `disallow_env_vars = "true"` in a stanza to keep the environment out of it.
///
/// # Errors
/// As [`load`]; a parameter error of a disabled stanza is [`LoadError::Config`] (the caller
/// names the stanza).
pub fn load_disabled(
    config_path: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    files: &dyn Files,
) -> Result<Vec<DisabledSeal>, LoadError> {
    let Some(path) = config_path else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for stanza in read_seal_stanzas(path, files)? {
        if !stanza.disabled || stanza.seal_type != SEAL_TYPE {
            continue;
        }
        // `disabled` picked the stanza; the seal built from it is used, not refused.
        let params = stanza.params().filter(|(name, _)| *name != "disabled");
        let mut config = AwsKmsSealConfig::from_params(params, env)?;
        resolve_secrets(&mut config, env, Some(files))?;
        out.push(DisabledSeal {
            source: stanza.source.clone(),
            line: stanza.line,
            config,
        });
    }
    Ok(out)
}

/// Like [`load`] but leaves `env://` and `file://` references unresolved.
///
/// # Errors
/// As [`load`], except for the reference errors.
pub fn load_unresolved(
    config_path: Option<&str>,
    overrides: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
    files: &dyn Files,
) -> Result<AwsKmsSealConfig, LoadError> {
    let env_seal_type = env("VAULT_SEAL_TYPE").filter(|t| !t.is_empty());
    if let Some(value) = &env_seal_type
        && value != SEAL_TYPE
    {
        return Err(LoadError::SealTypeNotAwsKms {
            value: value.clone(),
        });
    }
    let env_activated = env_seal_type.is_some();

    let stanzas = match config_path {
        Some(path) => read_seal_stanzas(path, files)?,
        None => Vec::new(),
    };
    let chosen = match config_path {
        Some(path) => select_stanza(&stanzas, env_activated, path)?,
        None => None,
    };

    let mut params: Vec<(&str, &str)> = chosen
        .map(|stanza| {
            stanza
                .params()
                .filter(|(name, _)| !overrides.iter().any(|(o, _)| o == name))
                .collect()
        })
        .unwrap_or_default();
    params.extend(overrides.iter().copied());

    // A flag hides the environment variables of its parameter.
    let masked: Vec<&str> = overrides
        .iter()
        .filter_map(|(name, _)| Parameter::from_name(name))
        .flat_map(|p| p.environment_variables().iter().copied())
        .collect();
    let env_below_flags = |name: &str| {
        if masked.contains(&name) {
            None
        } else {
            env(name)
        }
    };
    match AwsKmsSealConfig::from_params(params, env_below_flags) {
        Err(ConfigError::MissingKeyId { .. }) if config_path.is_none() => Err(LoadError::NoConfig),
        result => Ok(result?),
    }
}

/// The configuration from a host's settings map (the `seal "awskms"` stanza's parameters as
/// strings, as the plugin components receive them) and the environment, with `env://`
/// references resolved; `files` resolves `file://` references, `None` refuses them.
///
/// # Errors
/// [`LoadError::Config`] for invalid parameters, or a reference error.
pub fn from_settings(
    settings: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
    files: Option<&dyn Files>,
) -> Result<AwsKmsSealConfig, LoadError> {
    let mut config = AwsKmsSealConfig::from_params(settings.iter().copied(), env)?;
    resolve_secrets(&mut config, env, files)?;
    Ok(config)
}

/// Replaces every `env://` and `file://` credential reference in `config` by its value.
///
/// # Errors
/// [`LoadError::SecretEnvUnset`], [`LoadError::SecretFileRead`],
/// [`LoadError::SecretFileInvalid`] or [`LoadError::SecretFileUnsupported`], naming the
/// parameter and the variable or file.
pub fn resolve_secrets(
    config: &mut AwsKmsSealConfig,
    env: &dyn Fn(&str) -> Option<String>,
    files: Option<&dyn Files>,
) -> Result<(), LoadError> {
    for (parameter, slot) in [
        (Parameter::AccessKey, &mut config.access_key),
        (Parameter::SecretKey, &mut config.secret_key),
        (Parameter::SessionToken, &mut config.session_token),
    ] {
        if let Some(source) = slot {
            let value = resolve_secret(parameter, source, env, files)?;
            *source = SecretSource::Literal(value);
        }
    }
    Ok(())
}

/// The value of one credential: a literal as is, `env://NAME` from `env`, `file://PATH` from
/// the file. Values from variables and files are trimmed of surrounding whitespace (a trailing
/// newline in a secrets file is expected), as Vault does.
///
/// # Errors
/// As [`resolve_secrets`].
pub fn resolve_secret(
    parameter: Parameter,
    source: &SecretSource,
    env: &dyn Fn(&str) -> Option<String>,
    files: Option<&dyn Files>,
) -> Result<Zeroizing<String>, LoadError> {
    match source {
        SecretSource::Literal(value) => Ok(value.clone()),
        SecretSource::Env(variable) => {
            let raw = Zeroizing::new(env(variable).unwrap_or_default());
            let value = raw.trim();
            if value.is_empty() {
                return Err(LoadError::SecretEnvUnset {
                    parameter,
                    variable: variable.clone(),
                });
            }
            Ok(Zeroizing::new(value.to_owned()))
        }
        SecretSource::File(path) => {
            let files = files.ok_or(LoadError::SecretFileUnsupported { parameter })?;
            let bytes = files.read_file(path, MAX_SECRET_FILE).map_err(|error| {
                LoadError::SecretFileRead {
                    parameter,
                    path: path.clone(),
                    error,
                }
            })?;
            let invalid = |problem| LoadError::SecretFileInvalid {
                parameter,
                path: path.clone(),
                problem,
            };
            let text = core::str::from_utf8(&bytes).map_err(|_| invalid("is not UTF-8 text"))?;
            let value = text.trim();
            if value.is_empty() {
                return Err(invalid("is empty"));
            }
            Ok(Zeroizing::new(value.to_owned()))
        }
    }
}

/// Every `seal` stanza of a Vault config file, or of the `*.hcl` and `*.json` files of a
/// directory (in name order).
///
/// # Errors
/// [`LoadError::Read`], [`LoadError::NotUtf8`], or an error of [`parse_seal_stanzas`].
pub fn read_seal_stanzas(path: &str, files: &dyn Files) -> Result<Vec<SealStanza>, LoadError> {
    let read_error = |error: FileError| LoadError::Read {
        path: path.to_owned(),
        error,
    };
    if !files.is_dir(path).map_err(read_error)? {
        return read_one_file(path, files);
    }
    let mut names: Vec<String> = files
        .list_files(path)
        .map_err(read_error)?
        .into_iter()
        .filter(|name| has_extension(name, "hcl") || has_extension(name, "json"))
        .collect();
    names.sort_unstable();
    let dir = path.trim_end_matches('/');
    let mut stanzas = Vec::new();
    for name in names {
        stanzas.extend(read_one_file(&format!("{dir}/{name}"), files)?);
    }
    Ok(stanzas)
}

/// Every `seal` stanza in the text of the Vault config file `path`, in order.
///
/// # Errors
/// [`LoadError::Syntax`], [`LoadError::Stanza`], [`LoadError::NotAString`],
/// [`LoadError::Duplicate`] or [`LoadError::InvalidDisabled`], naming `path` and the line.
pub fn parse_seal_stanzas(text: &str, path: &str) -> Result<Vec<SealStanza>, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = ConfigFormat::detect(path, text);
    let syntax = match format {
        ConfigFormat::Hcl => "HCL",
        ConfigFormat::Json => "JSON",
    };
    let raw = match format {
        ConfigFormat::Hcl => hcl::seal_stanzas(text),
        ConfigFormat::Json => json::seal_stanzas(text),
    }
    .map_err(|err| match err {
        ReadError::Syntax { line, detail } => LoadError::Syntax {
            path: path.to_owned(),
            line,
            syntax,
            detail,
        },
        ReadError::Stanza { line, detail } => LoadError::Stanza {
            path: path.to_owned(),
            line,
            detail,
        },
    })?;
    raw.into_iter()
        .map(|stanza| stanza.into_seal_stanza(path))
        .collect()
}

fn read_one_file(path: &str, files: &dyn Files) -> Result<Vec<SealStanza>, LoadError> {
    let bytes = files
        .read_file(path, MAX_CONFIG_FILE)
        .map_err(|error| LoadError::Read {
            path: path.to_owned(),
            error,
        })?;
    let text = core::str::from_utf8(&bytes).map_err(|_| LoadError::NotUtf8 {
        path: path.to_owned(),
    })?;
    parse_seal_stanzas(text, path)
}

/// Picks the stanza whose parameters configure the seal; `None` means "environment only".
fn select_stanza<'s>(
    stanzas: &'s [SealStanza],
    env_activated: bool,
    config_path: &str,
) -> Result<Option<&'s SealStanza>, LoadError> {
    let enabled: Vec<&SealStanza> = stanzas
        .iter()
        .filter(|s| !s.disabled && (env_activated || s.seal_type == SEAL_TYPE))
        .collect();
    match enabled.as_slice() {
        [] if env_activated => Ok(None),
        [] => {
            let disabled = stanzas
                .iter()
                .filter(|s| s.disabled && s.seal_type == SEAL_TYPE)
                .count();
            let mut other_types: Vec<String> = Vec::new();
            for s in stanzas.iter().filter(|s| !s.disabled) {
                if !other_types.contains(&s.seal_type) {
                    other_types.push(s.seal_type.clone());
                }
            }
            Err(LoadError::NoAwsKmsSeal {
                path: config_path.to_owned(),
                disabled,
                other_types,
            })
        }
        [one] => Ok(Some(one)),
        several => Err(LoadError::SeveralAwsKmsSeals {
            path: config_path.to_owned(),
            count: several.len(),
        }),
    }
}

fn has_extension(name: &str, extension: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && ext.eq_ignore_ascii_case(extension))
}

/// A seal stanza as a reader found it, before its values are checked.
pub(crate) struct RawStanza {
    pub(crate) seal_type: String,
    pub(crate) line: usize,
    pub(crate) params: Vec<RawParam>,
}

/// One `key = value` of a seal stanza.
pub(crate) struct RawParam {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) value: RawValue,
}

/// A parameter's value: text for strings, numbers and booleans, else what it is.
pub(crate) enum RawValue {
    Text(Zeroizing<String>),
    Other(&'static str),
}

/// Why a reader stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Not HCL / JSON.
    Syntax { line: usize, detail: String },
    /// A `seal` of a shape Vault does not accept.
    Stanza { line: usize, detail: String },
}

impl RawStanza {
    fn into_seal_stanza(self, path: &str) -> Result<SealStanza, LoadError> {
        let mut params: Vec<(String, Zeroizing<String>)> = Vec::with_capacity(self.params.len());
        let mut lines: Vec<usize> = Vec::with_capacity(self.params.len());
        for param in self.params {
            if let Some(at) = params.iter().position(|(name, _)| *name == param.name) {
                return Err(LoadError::Duplicate {
                    path: path.to_owned(),
                    line: param.line,
                    seal_type: self.seal_type,
                    parameter: param.name,
                    first_line: lines[at],
                });
            }
            match param.value {
                RawValue::Text(text) => {
                    lines.push(param.line);
                    params.push((param.name, text));
                }
                RawValue::Other(found) => {
                    return Err(LoadError::NotAString {
                        path: path.to_owned(),
                        line: param.line,
                        seal_type: self.seal_type,
                        parameter: param.name,
                        found,
                    });
                }
            }
        }
        let disabled = match params.iter().position(|(k, _)| k == "disabled") {
            None => false,
            Some(at) => parse_go_bool(&params[at].1).ok_or_else(|| LoadError::InvalidDisabled {
                path: path.to_owned(),
                line: lines[at],
                seal_type: self.seal_type.clone(),
                value: params[at].1.as_str().to_owned(),
            })?,
        };
        Ok(SealStanza {
            seal_type: self.seal_type,
            disabled,
            source: path.to_owned(),
            line: self.line,
            params,
        })
    }
}

/// A seal stanza as a reader sees it, for the differential test against hcl-rs and the fuzz
/// target: its type and, per parameter, the value or what it is instead (`Err("a list")`).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaView {
    /// The seal type.
    pub seal_type: String,
    /// The parameters in order.
    pub params: Vec<(String, Result<String, &'static str>)>,
}

/// The seal stanzas of a config text as the reader sees them; a reader error is `Err(line)`.
#[doc(hidden)]
pub fn raw_seal_stanzas(text: &str, format: ConfigFormat) -> Result<Vec<StanzaView>, usize> {
    let raw = match format {
        ConfigFormat::Hcl => hcl::seal_stanzas(text),
        ConfigFormat::Json => json::seal_stanzas(text),
    }
    .map_err(|err| match err {
        ReadError::Syntax { line, .. } | ReadError::Stanza { line, .. } => line,
    })?;
    Ok(raw
        .into_iter()
        .map(|s| {
            let params = s
                .params
                .into_iter()
                .map(|p| {
                    let value = match p.value {
                        RawValue::Text(t) => Ok(t.as_str().to_owned()),
                        RawValue::Other(kind) => Err(kind),
                    };
                    (p.name, value)
                })
                .collect();
            StanzaView {
                seal_type: s.seal_type,
                params,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests;
