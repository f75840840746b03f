//! Loading the `seal "awskms"` configuration the way Vault does: from a Vault config file (HCL
//! or JSON) or a directory of them, from the environment alone (`VAULT_SEAL_TYPE=awskms`), and
//! from command-line flags; then resolving `env://` and `file://` credential references.
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
//! Without a config file the parameters come from the environment (and flags) alone, whether
//! or not `VAULT_SEAL_TYPE` is set: this crate only implements `awskms`.
//!
//! ```no_run
//! use std::path::Path;
//! use kms_seal_ureq::vault_config::{load, process_env};
//!
//! let config = load(Some(Path::new("/etc/vault.d/vault.hcl")), &[("region", "eu-west-1")], &process_env)?;
//! println!("key {} in {}", config.kms_key_id, config.region);
//! # Ok::<(), kms_seal_ureq::vault_config::VaultConfigError>(())
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use kms_seal_core::config::{
    AwsKmsSealConfig, ConfigError, Parameter, SecretSource, parse_go_bool,
};
use zeroize::Zeroizing;

/// The seal type this crate implements, as written in `seal "awskms"` and `VAULT_SEAL_TYPE`.
pub const SEAL_TYPE: &str = "awskms";

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
    pub fn detect(path: Option<&Path>, text: &str) -> ConfigFormat {
        let json_name = path
            .and_then(Path::extension)
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if json_name || text.trim_start().starts_with('{') {
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
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    params: Vec<(String, Zeroizing<String>)>,
}

impl SealStanza {
    /// The parameters in file order. Values may be credentials: do not log them.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of a parameter. It may be a credential: do not log it.
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
            .field("params", &names)
            .finish()
    }
}

/// Why the seal configuration could not be loaded. One line, names the file, parameter or
/// variable and says what to do; never contains a credential.
#[derive(Debug)]
#[non_exhaustive]
pub enum VaultConfigError {
    /// The config file or directory could not be read.
    ReadConfig {
        /// The path given.
        path: PathBuf,
        /// What went wrong.
        kind: io::ErrorKind,
    },
    /// The config file is not UTF-8 text.
    ConfigNotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// HCL syntax error.
    Hcl {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected (never the offending text).
        message: String,
    },
    /// JSON syntax error.
    Json {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A `seal` stanza of a shape Vault does not accept (names keys and types, never values).
    InvalidStanza {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// What is wrong and where.
        detail: String,
    },
    /// No config file, and neither the environment nor a flag names a KMS key.
    NoConfig,
    /// The config has no enabled `seal "awskms"` stanza.
    NoAwsKmsSeal {
        /// The file or directory.
        path: PathBuf,
        /// How many `awskms` stanzas were skipped as disabled.
        disabled: usize,
        /// The types of the other enabled seal stanzas.
        other_types: Vec<String>,
    },
    /// More than one enabled `seal "awskms"` stanza.
    SeveralAwsKmsSeals {
        /// The file or directory.
        path: PathBuf,
        /// How many.
        count: usize,
    },
    /// `VAULT_SEAL_TYPE` names another seal type.
    SealTypeNotAwsKms {
        /// Its value.
        value: String,
    },
    /// The parameters do not make a valid configuration.
    Config(ConfigError),
    /// An `env://NAME` reference to a variable that is not set (or empty).
    SecretEnvUnset {
        /// The parameter holding the reference.
        parameter: Parameter,
        /// The variable it names.
        variable: String,
    },
    /// A `file://` reference that could not be read.
    SecretFileRead {
        /// The parameter holding the reference.
        parameter: Parameter,
        /// The file it names.
        path: PathBuf,
        /// What went wrong.
        kind: io::ErrorKind,
    },
    /// A `file://` reference to a file that is empty or not UTF-8 text.
    SecretFileInvalid {
        /// The parameter holding the reference.
        parameter: Parameter,
        /// The file it names.
        path: PathBuf,
        /// `"is empty"` or `"is not UTF-8 text"`.
        problem: &'static str,
    },
}

impl fmt::Display for VaultConfigError {
    /// One line whatever the input held: control characters from the config (a seal type, a
    /// key or a value with a line break) are shown escaped (`\n`), so a message can neither
    /// break a log line nor forge one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::write(&mut OneLine(f), format_args!("{}", Unescaped(self)))
    }
}

/// The message of a [`VaultConfigError`] before control characters are escaped.
struct Unescaped<'e>(&'e VaultConfigError);

/// Writes through to a formatter, escaping control characters.
struct OneLine<'f, 'a>(&'f mut fmt::Formatter<'a>);

impl fmt::Write for OneLine<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c.is_control() {
                for e in c.escape_default() {
                    fmt::Write::write_char(self.0, e)?;
                }
            } else {
                fmt::Write::write_char(self.0, c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Unescaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            VaultConfigError::ReadConfig { path, kind } => write!(
                f,
                "cannot read Vault config {}: {kind}; check the path and its permissions",
                path.display()
            ),
            VaultConfigError::ConfigNotUtf8 { path } => write!(
                f,
                "Vault config {} is not UTF-8 text; pass the HCL or JSON config file",
                path.display()
            ),
            VaultConfigError::Hcl {
                path,
                line,
                column,
                message,
            } => {
                write_location(f, path.as_deref(), *line, *column)?;
                write!(f, "invalid HCL: {message}; fix the syntax there")
            }
            VaultConfigError::Json { path, line, column } => {
                write_location(f, path.as_deref(), *line, *column)?;
                f.write_str(
                    "invalid JSON; fix the syntax there (or name the file .hcl if it is HCL)",
                )
            }
            VaultConfigError::InvalidStanza { path, detail } => {
                if let Some(path) = path {
                    write!(f, "{}: ", path.display())?;
                }
                f.write_str(detail)
            }
            VaultConfigError::NoConfig => f.write_str(
                "no seal configuration: pass a Vault config file with a seal \"awskms\" stanza, \
                 or set VAULT_AWSKMS_SEAL_KEY_ID (with VAULT_SEAL_TYPE=awskms, as for Vault)",
            ),
            VaultConfigError::NoAwsKmsSeal {
                path,
                disabled,
                other_types,
            } => {
                write!(f, "no enabled seal \"awskms\" stanza in {}", path.display())?;
                let mut found: Vec<String> = Vec::new();
                if *disabled > 0 {
                    found.push(format!("{disabled} disabled awskms"));
                }
                found.extend(other_types.iter().map(|t| format!("\"{t}\"")));
                if !found.is_empty() {
                    write!(f, " (found {})", found.join(", "))?;
                }
                f.write_str(
                    "; add one, remove disabled = \"true\" from the one to use, \
                     or set VAULT_SEAL_TYPE=awskms",
                )
            }
            VaultConfigError::SeveralAwsKmsSeals { path, count } => write!(
                f,
                "{} has {count} enabled seal \"awskms\" stanzas; add disabled = \"true\" to all but the one to use",
                path.display()
            ),
            VaultConfigError::SealTypeNotAwsKms { value } => write!(
                f,
                "VAULT_SEAL_TYPE is \"{value}\", not \"awskms\"; unset it or set it to awskms"
            ),
            VaultConfigError::Config(err) => fmt::Display::fmt(err, f),
            VaultConfigError::SecretEnvUnset {
                parameter,
                variable,
            } => write!(
                f,
                "{parameter} is env://{variable} but {variable} is not set or empty; export {variable} or change {parameter}"
            ),
            VaultConfigError::SecretFileRead {
                parameter,
                path,
                kind,
            } => write!(
                f,
                "cannot read {parameter} from {}: {kind}; check the file:// path and its permissions",
                path.display()
            ),
            VaultConfigError::SecretFileInvalid {
                parameter,
                path,
                problem,
            } => write!(
                f,
                "{parameter} file {} {problem}; put the bare value in it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for VaultConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VaultConfigError::Config(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ConfigError> for VaultConfigError {
    fn from(err: ConfigError) -> Self {
        VaultConfigError::Config(err)
    }
}

/// Reads the process environment; pass it as the `env` argument of [`load`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads the AWS KMS seal configuration and resolves its `env://` / `file://` references.
///
/// `config_file` is a Vault config file (HCL or JSON) or a directory whose `*.hcl` and `*.json`
/// files are read in name order, like `vault server -config=DIR`. `overrides` are
/// `(parameter, value)` pairs from command-line flags; they win over the environment and the
/// file (see the [module documentation](self)). Without `config_file` the parameters come from
/// the environment and `overrides` alone. `env` looks up environment variables
/// (use [`process_env`] in a binary).
///
/// # Errors
/// Any [`VaultConfigError`]: the file cannot be read or parsed, there is no enabled
/// `seal "awskms"` stanza or more than one, `VAULT_SEAL_TYPE` names another seal, there is no
/// file and no key id ([`VaultConfigError::NoConfig`]), the parameters are invalid
/// ([`VaultConfigError::Config`]) or a reference cannot be resolved.
pub fn load(
    config_file: Option<&Path>,
    overrides: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsKmsSealConfig, VaultConfigError> {
    let mut config = load_unresolved(config_file, overrides, env)?;
    resolve_secrets(&mut config, env)?;
    Ok(config)
}

/// Like [`load`] but leaves `env://` and `file://` references unresolved, for tools that
/// explain a configuration without reading credentials.
///
/// # Errors
/// As [`load`], except for the reference errors.
pub fn load_unresolved(
    config_file: Option<&Path>,
    overrides: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsKmsSealConfig, VaultConfigError> {
    let env_seal_type = env("VAULT_SEAL_TYPE").filter(|t| !t.is_empty());
    if let Some(value) = &env_seal_type
        && value != SEAL_TYPE
    {
        return Err(VaultConfigError::SealTypeNotAwsKms {
            value: value.clone(),
        });
    }
    let env_activated = env_seal_type.is_some();

    let stanzas = match config_file {
        Some(path) => read_seal_stanzas(path)?,
        None => Vec::new(),
    };
    let chosen = match config_file {
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
        Err(ConfigError::MissingKeyId { .. }) if config_file.is_none() => {
            Err(VaultConfigError::NoConfig)
        }
        result => Ok(result?),
    }
}

/// Replaces every `env://` and `file://` credential reference in `config` by its value.
///
/// # Errors
/// [`VaultConfigError::SecretEnvUnset`], [`VaultConfigError::SecretFileRead`] or
/// [`VaultConfigError::SecretFileInvalid`], naming the parameter and the variable or file.
pub fn resolve_secrets(
    config: &mut AwsKmsSealConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), VaultConfigError> {
    for (parameter, slot) in [
        (Parameter::AccessKey, &mut config.access_key),
        (Parameter::SecretKey, &mut config.secret_key),
        (Parameter::SessionToken, &mut config.session_token),
    ] {
        if let Some(source) = slot {
            let value = resolve_secret(parameter, source, env)?;
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
/// [`VaultConfigError::SecretEnvUnset`] for an unset or empty variable;
/// [`VaultConfigError::SecretFileRead`] when the file cannot be read;
/// [`VaultConfigError::SecretFileInvalid`] when it is empty or not UTF-8.
pub fn resolve_secret(
    parameter: Parameter,
    source: &SecretSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Zeroizing<String>, VaultConfigError> {
    match source {
        SecretSource::Literal(value) => Ok(value.clone()),
        SecretSource::Env(variable) => {
            let raw = Zeroizing::new(env(variable).unwrap_or_default());
            let value = raw.trim();
            if value.is_empty() {
                return Err(VaultConfigError::SecretEnvUnset {
                    parameter,
                    variable: variable.clone(),
                });
            }
            Ok(Zeroizing::new(value.to_owned()))
        }
        SecretSource::File(path) => {
            let path = PathBuf::from(path);
            let bytes = Zeroizing::new(std::fs::read(&path).map_err(|err| {
                VaultConfigError::SecretFileRead {
                    parameter,
                    path: path.clone(),
                    kind: err.kind(),
                }
            })?);
            let invalid = |problem| VaultConfigError::SecretFileInvalid {
                parameter,
                path: path.clone(),
                problem,
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| invalid("is not UTF-8 text"))?;
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
/// [`VaultConfigError::ReadConfig`], [`VaultConfigError::ConfigNotUtf8`], or a parse error of
/// [`parse_seal_stanzas`] with the file name filled in.
pub fn read_seal_stanzas(path: &Path) -> Result<Vec<SealStanza>, VaultConfigError> {
    let read_error = |err: io::Error| VaultConfigError::ReadConfig {
        path: path.to_owned(),
        kind: err.kind(),
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_dir() {
        return read_one_file(path);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_error)? {
        let file = entry.map_err(read_error)?.path();
        let wanted = file
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("hcl") || ext.eq_ignore_ascii_case("json"));
        if wanted && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    let mut stanzas = Vec::new();
    for file in files {
        stanzas.extend(read_one_file(&file)?);
    }
    Ok(stanzas)
}

/// Every `seal` stanza in the text of a Vault config, in order.
///
/// HCL: `seal "<type>" { key = value ... }` blocks at the top level. JSON:
/// `{"seal": {"<type>": {...}}}` or `{"seal": [{"<type>": {...}}, ...]}` (a type may also map
/// to an array of bodies). Values may be strings, numbers or booleans and are stringified;
/// null values are dropped. `disabled` is parsed like Go's `strconv.ParseBool`.
///
/// # Errors
/// [`VaultConfigError::Hcl`] / [`VaultConfigError::Json`] for syntax errors;
/// [`VaultConfigError::InvalidStanza`] for a `seal` of another shape or a value that is a list,
/// an object or an expression; [`VaultConfigError::Config`] for an invalid `disabled`.
pub fn parse_seal_stanzas(
    text: &str,
    format: ConfigFormat,
) -> Result<Vec<SealStanza>, VaultConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = match format {
        ConfigFormat::Hcl => hcl_stanzas(text)?,
        ConfigFormat::Json => json_stanzas(text)?,
    };
    raw.into_iter()
        .map(|(seal_type, params)| {
            let disabled = match params.iter().find(|(k, _)| k == "disabled") {
                None => false,
                Some((_, value)) => {
                    parse_go_bool(value).ok_or_else(|| ConfigError::InvalidBool {
                        parameter: Parameter::Disabled,
                        value: value.as_str().to_owned(),
                    })?
                }
            };
            Ok(SealStanza {
                seal_type,
                disabled,
                source: None,
                params,
            })
        })
        .collect()
}

type RawStanza = (String, Vec<(String, Zeroizing<String>)>);

fn read_one_file(path: &Path) -> Result<Vec<SealStanza>, VaultConfigError> {
    let bytes = std::fs::read(path).map_err(|err| VaultConfigError::ReadConfig {
        path: path.to_owned(),
        kind: err.kind(),
    })?;
    let text = Zeroizing::new(String::from_utf8(bytes).map_err(|err| {
        // The text may hold credentials: wipe it before dropping.
        drop(Zeroizing::new(err.into_bytes()));
        VaultConfigError::ConfigNotUtf8 {
            path: path.to_owned(),
        }
    })?);
    let with_path = |err: VaultConfigError| match err {
        VaultConfigError::Hcl {
            line,
            column,
            message,
            ..
        } => VaultConfigError::Hcl {
            path: Some(path.to_owned()),
            line,
            column,
            message,
        },
        VaultConfigError::Json { line, column, .. } => VaultConfigError::Json {
            path: Some(path.to_owned()),
            line,
            column,
        },
        VaultConfigError::InvalidStanza { detail, .. } => VaultConfigError::InvalidStanza {
            path: Some(path.to_owned()),
            detail,
        },
        other => other,
    };
    let format = ConfigFormat::detect(Some(path), &text);
    let mut stanzas = parse_seal_stanzas(&text, format).map_err(with_path)?;
    for stanza in &mut stanzas {
        stanza.source = Some(path.to_owned());
    }
    Ok(stanzas)
}

/// Picks the stanza whose parameters configure the seal; `None` means "environment only".
fn select_stanza<'s>(
    stanzas: &'s [SealStanza],
    env_activated: bool,
    config_path: &Path,
) -> Result<Option<&'s SealStanza>, VaultConfigError> {
    let enabled: Vec<&SealStanza> = stanzas
        .iter()
        .filter(|s| !s.disabled && (env_activated || s.seal_type == SEAL_TYPE))
        .collect();
    let path = || config_path.to_owned();
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
            Err(VaultConfigError::NoAwsKmsSeal {
                path: path(),
                disabled,
                other_types,
            })
        }
        [one] => Ok(Some(one)),
        several => Err(VaultConfigError::SeveralAwsKmsSeals {
            path: path(),
            count: several.len(),
        }),
    }
}

fn write_location(
    f: &mut fmt::Formatter<'_>,
    path: Option<&Path>,
    line: usize,
    column: usize,
) -> fmt::Result {
    match path {
        Some(path) => write!(f, "{}:{line}:{column}: ", path.display()),
        None => write!(f, "line {line}, column {column}: "),
    }
}

fn invalid_stanza(detail: String) -> VaultConfigError {
    VaultConfigError::InvalidStanza { path: None, detail }
}

fn hcl_stanzas(text: &str) -> Result<Vec<RawStanza>, VaultConfigError> {
    let body = hcl::parse(text).map_err(|err| match err {
        hcl::Error::Parse(parse) => VaultConfigError::Hcl {
            path: None,
            line: parse.location().line(),
            column: parse.location().column(),
            message: parse.message().to_owned(),
        },
        // Other errors do not come out of the parser; never echo input text.
        _ => VaultConfigError::Hcl {
            path: None,
            line: 1,
            column: 1,
            message: "unreadable input".to_owned(),
        },
    })?;
    let mut stanzas = Vec::new();
    for structure in body {
        let hcl::Structure::Block(block) = structure else {
            continue;
        };
        if block.identifier.as_str() != "seal" {
            continue;
        }
        let seal_type = match block.labels.as_slice() {
            [label] => label.as_str().to_owned(),
            _ => {
                return Err(invalid_stanza(format!(
                    "a seal block has {} labels; write it as seal \"awskms\" {{ ... }}",
                    block.labels.len()
                )));
            }
        };
        let mut params = Vec::new();
        for item in block.body {
            match item {
                hcl::Structure::Attribute(attribute) => {
                    let key = attribute.key.into_inner();
                    if let Some(value) = hcl_scalar(&seal_type, &key, attribute.expr)? {
                        params.push((key, value));
                    }
                }
                hcl::Structure::Block(inner) => {
                    return Err(invalid_stanza(format!(
                        "seal \"{seal_type}\" contains a block `{}`; only key = value lines are allowed",
                        inner.identifier.as_str()
                    )));
                }
            }
        }
        stanzas.push((seal_type, params));
    }
    Ok(stanzas)
}

fn hcl_scalar(
    seal_type: &str,
    key: &str,
    expr: hcl::Expression,
) -> Result<Option<Zeroizing<String>>, VaultConfigError> {
    use hcl::Expression as E;
    let value = match expr {
        E::Null => return Ok(None),
        E::String(s) => s,
        E::Bool(b) => b.to_string(),
        E::Number(n) => n.to_string(),
        E::TemplateExpr(template) => match *template {
            hcl::TemplateExpr::QuotedString(s) => s,
            hcl::TemplateExpr::Heredoc(heredoc) => heredoc.template,
        },
        E::Parenthesis(inner) => return hcl_scalar(seal_type, key, *inner),
        other => {
            let what = match other {
                E::Array(_) => "a list",
                E::Object(_) => "an object",
                E::Variable(_) => "an unquoted name",
                _ => "an expression",
            };
            return Err(invalid_stanza(format!(
                "seal \"{seal_type}\" parameter `{key}` is {what}; quote the value"
            )));
        }
    };
    Ok(Some(Zeroizing::new(value)))
}

fn json_stanzas(text: &str) -> Result<Vec<RawStanza>, VaultConfigError> {
    use serde_json::Value;
    let root: Value = serde_json::from_str(text).map_err(|err| VaultConfigError::Json {
        path: None,
        line: err.line(),
        column: err.column(),
    })?;
    let Value::Object(mut root) = root else {
        return Err(invalid_stanza(
            "the JSON config is not an object; write {\"seal\": {\"awskms\": {...}}}".to_owned(),
        ));
    };
    let Some(seal) = root.remove("seal") else {
        return Ok(Vec::new());
    };
    let shape_error = || {
        invalid_stanza("\"seal\" must be {\"awskms\": {...}} or [{\"awskms\": {...}}]".to_owned())
    };
    let by_type: Vec<serde_json::Map<String, Value>> = match seal {
        Value::Object(map) => vec![map],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(shape_error()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(shape_error()),
    };
    let mut stanzas = Vec::new();
    for map in by_type {
        for (seal_type, bodies) in map {
            let bodies = match bodies {
                Value::Array(items) => items,
                single => vec![single],
            };
            for body in bodies {
                let Value::Object(body) = body else {
                    return Err(invalid_stanza(format!(
                        "\"seal\": {{\"{seal_type}\": ...}} must be an object of parameters"
                    )));
                };
                let mut params = Vec::new();
                for (key, value) in body {
                    let value = match value {
                        Value::Null => continue,
                        Value::String(s) => s,
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(invalid_stanza(format!(
                                "seal \"{seal_type}\" parameter `{key}` is a list or an object; \
                                 give a string, number or boolean"
                            )));
                        }
                    };
                    params.push((key, Zeroizing::new(value)));
                }
                stanzas.push((seal_type.clone(), params));
            }
        }
    }
    Ok(stanzas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_seal_core::config::ValueSource;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn stanza_pairs(s: &SealStanza) -> Vec<(String, String)> {
        s.params()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            ConfigFormat::detect(Some(Path::new("v.JSON")), "seal {}"),
            ConfigFormat::Json
        );
        assert_eq!(
            ConfigFormat::detect(Some(Path::new("v.hcl")), " \n\t{\"seal\":{}}"),
            ConfigFormat::Json
        );
        assert_eq!(ConfigFormat::detect(None, "\u{feff}{}"), ConfigFormat::Json);
        assert_eq!(
            ConfigFormat::detect(Some(Path::new("vault.conf")), "seal \"awskms\" {}"),
            ConfigFormat::Hcl
        );
    }

    #[test]
    fn hcl_values_are_stringified() {
        let text = r#"
            ui = true
            storage "raft" { path = "/vault" }
            seal "awskms" {
              region = "eu-west-1"
              kms_key_id = "alias/${not-interpolated}"
              key_not_required = false
              priority = 1
              ratio = 1.5
              endpoint = null
              disabled = "false"
            }
        "#;
        let stanzas = parse_seal_stanzas(text, ConfigFormat::Hcl).unwrap();
        assert_eq!(stanzas.len(), 1);
        assert_eq!(stanzas[0].seal_type, "awskms");
        assert!(!stanzas[0].disabled);
        assert_eq!(
            stanza_pairs(&stanzas[0]),
            [
                ("region", "eu-west-1"),
                ("kms_key_id", "alias/${not-interpolated}"),
                ("key_not_required", "false"),
                ("priority", "1"),
                ("ratio", "1.5"),
                ("disabled", "false"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn hcl_shapes_that_are_rejected() {
        let cases = [
            ("seal { type = \"awskms\" }", "0 labels"),
            (
                "seal \"awskms\" {\n inner {\n a = \"b\"\n }\n}",
                "contains a block `inner`",
            ),
            ("seal \"awskms\" { region = [\"a\"] }", "`region` is a list"),
            (
                "seal \"awskms\" { region = \"a\" == \"b\" }",
                "`region` is an expression",
            ),
            (
                "seal \"awskms\" { region = us-east-1 }",
                "`region` is an unquoted name",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_seal_stanzas(text, ConfigFormat::Hcl).unwrap_err();
            assert!(
                matches!(err, VaultConfigError::InvalidStanza { .. }),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn hcl_syntax_error_has_location_but_not_the_text() {
        let text = "seal \"awskms\" {\n  secret_key = \"hunter2-very-secret\n}\n";
        let err = parse_seal_stanzas(text, ConfigFormat::Hcl).unwrap_err();
        let VaultConfigError::Hcl { line, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(*line >= 2);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }

    #[test]
    fn json_forms() {
        let object =
            r#"{"seal": {"awskms": {"kms_key_id": "k1", "disabled": true, "priority": 2}}}"#;
        let stanzas = parse_seal_stanzas(object, ConfigFormat::Json).unwrap();
        assert_eq!(stanzas.len(), 1);
        assert!(stanzas[0].disabled);
        assert_eq!(stanzas[0].param("priority"), Some("2"));

        let list = r#"{"seal": [{"awskms": {"kms_key_id": "k1"}}, {"transit": {"address": "x"}},
                                {"awskms": [{"kms_key_id": "k2", "endpoint": null}]}]}"#;
        let stanzas = parse_seal_stanzas(list, ConfigFormat::Json).unwrap();
        let types: Vec<&str> = stanzas.iter().map(|s| s.seal_type.as_str()).collect();
        assert_eq!(types, ["awskms", "transit", "awskms"]);
        assert_eq!(stanzas[2].param("kms_key_id"), Some("k2"));
        assert_eq!(stanzas[2].param("endpoint"), None);

        assert!(
            parse_seal_stanzas(r#"{"ui": true}"#, ConfigFormat::Json)
                .unwrap()
                .is_empty()
        );
        for bad in [
            r#"{"seal": "awskms"}"#,
            r#"{"seal": [1]}"#,
            r#"{"seal": {"awskms": "x"}}"#,
            r#"{"seal": {"awskms": {"region": {"a": 1}}}}"#,
            r#"[]"#,
        ] {
            let err = parse_seal_stanzas(bad, ConfigFormat::Json).unwrap_err();
            assert!(
                matches!(err, VaultConfigError::InvalidStanza { .. }),
                "{bad}"
            );
        }
        let err = parse_seal_stanzas(
            "{\"seal\": {\n\"awskms\": {\"secret_key\": \"s3cr3t\"",
            ConfigFormat::Json,
        )
        .unwrap_err();
        assert!(
            matches!(err, VaultConfigError::Json { line: 2, .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains("s3cr3t"));
    }

    #[test]
    fn invalid_disabled_value() {
        let err = parse_seal_stanzas("seal \"awskms\" { disabled = \"yes\" }", ConfigFormat::Hcl)
            .unwrap_err();
        assert!(matches!(
            err,
            VaultConfigError::Config(ConfigError::InvalidBool {
                parameter: Parameter::Disabled,
                ..
            })
        ));
    }

    #[test]
    fn stanza_debug_hides_values() {
        let stanzas = parse_seal_stanzas(
            "seal \"awskms\" { secret_key = \"abc-secret\" }",
            ConfigFormat::Hcl,
        )
        .unwrap();
        let debug = format!("{:?}", stanzas[0]);
        assert!(debug.contains("secret_key"));
        assert!(!debug.contains("abc-secret"));
    }

    #[test]
    fn env_only_activation() {
        let env = env_of(&[
            ("VAULT_SEAL_TYPE", "awskms"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", "alias/from-env"),
            ("AWS_DEFAULT_REGION", "sa-east-1"),
        ]);
        let c = load(None, &[], &env).unwrap();
        assert_eq!(c.kms_key_id, "alias/from-env");
        assert_eq!(c.region, "sa-east-1");
        assert_eq!(
            c.region_source,
            ValueSource::Environment("AWS_DEFAULT_REGION")
        );

        let err = load(None, &[], &env_of(&[])).unwrap_err();
        assert!(matches!(err, VaultConfigError::NoConfig));
        let err = load(None, &[], &env_of(&[("VAULT_SEAL_TYPE", "transit")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VAULT_SEAL_TYPE is \"transit\", not \"awskms\"; unset it or set it to awskms"
        );
        let err = load(None, &[], &env_of(&[("VAULT_SEAL_TYPE", "awskms")])).unwrap_err();
        assert!(matches!(err, VaultConfigError::NoConfig));
        // Without a file, VAULT_SEAL_TYPE is not needed: this crate only does awskms.
        let c = load(None, &[], &env_of(&[("AWSKMS_WRAPPER_KEY_ID", "k")])).unwrap();
        assert_eq!(c.kms_key_id, "k");
        let c = load(None, &[("kms_key_id", "flag")], &env_of(&[])).unwrap();
        assert_eq!(c.kms_key_id, "flag");
        // With a file, a missing key id is the stanza's problem.
        let dir = std::env::temp_dir().join(format!("kms-seal-vc-nokey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("v.hcl");
        std::fs::write(&file, "seal \"awskms\" {\n  region = \"us-east-2\"\n}\n").unwrap();
        let err = load(Some(&file), &[], &env_of(&[])).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            err,
            VaultConfigError::Config(ConfigError::MissingKeyId { .. })
        ));
    }

    #[test]
    fn flags_over_environment_over_stanza() {
        let env = env_of(&[
            ("VAULT_SEAL_TYPE", "awskms"),
            ("AWS_REGION", "eu-central-1"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", "env-key"),
        ]);
        let c = load(None, &[("region", "ca-central-1")], &env).unwrap();
        assert_eq!(c.region, "ca-central-1");
        assert_eq!(c.region_source, ValueSource::Parameter);
        assert_eq!(c.kms_key_id, "env-key");
        let c = load(None, &[("kms_key_id", "flag-key")], &env).unwrap();
        assert_eq!(c.kms_key_id, "flag-key");
        assert_eq!(c.region, "eu-central-1");
    }

    #[test]
    fn secret_resolution() {
        let dir = std::env::temp_dir().join(format!("kms-seal-vc-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sk");
        std::fs::write(&file, "file-secret\n").unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let env = env_of(&[("MY_AK", " AKIDFROMENV ")]);

        let v = resolve_secret(
            Parameter::AccessKey,
            &SecretSource::Env("MY_AK".into()),
            &env,
        )
        .unwrap();
        assert_eq!(v.as_str(), "AKIDFROMENV");
        let v = resolve_secret(
            Parameter::SecretKey,
            &SecretSource::File(file.display().to_string()),
            &env,
        )
        .unwrap();
        assert_eq!(v.as_str(), "file-secret");

        let err = resolve_secret(
            Parameter::SecretKey,
            &SecretSource::Env("NOPE".into()),
            &env,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret_key is env://NOPE but NOPE is not set or empty; export NOPE or change secret_key"
        );
        let missing = dir.join("missing");
        let err = resolve_secret(
            Parameter::SessionToken,
            &SecretSource::File(missing.display().to_string()),
            &env,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            VaultConfigError::SecretFileRead {
                kind: io::ErrorKind::NotFound,
                ..
            }
        ));
        assert!(err.to_string().contains("session_token"));
        assert!(err.to_string().contains("missing"));
        let err = resolve_secret(
            Parameter::SecretKey,
            &SecretSource::File(empty.display().to_string()),
            &env,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is empty; put the bare value in it")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
