//! [`LoadError`]: why the seal configuration could not be loaded, in one line that names the
//! file, line, parameter or variable and says what to change.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use kms_seal_core::config::{ConfigError, Parameter};

use crate::host::FileError;

/// Why the seal configuration could not be loaded. Every host shows the same text.
///
/// The message is one line whatever the input held (control characters from the file are
/// shown escaped) and never contains a parameter's value, except for `disabled`, region and
/// the seal type, which are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The config file or directory could not be read.
    Read {
        /// The path given.
        path: String,
        /// What went wrong.
        error: FileError,
    },
    /// The config file is not UTF-8 text.
    NotUtf8 {
        /// The file.
        path: String,
    },
    /// The file is not valid HCL or JSON.
    Syntax {
        /// The file.
        path: String,
        /// 1-based line where reading stopped.
        line: usize,
        /// `"HCL"` or `"JSON"`.
        syntax: &'static str,
        /// What was expected (never the offending text).
        detail: String,
    },
    /// A `seal` stanza of a shape Vault does not accept (names labels and keys, never values).
    Stanza {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A seal parameter whose value is not a string, number or boolean.
    NotAString {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The seal type of the stanza.
        seal_type: String,
        /// The parameter.
        parameter: String,
        /// `"null"`, `"an unquoted name"`, `"a list"`, `"an object"`, `"an expression"`.
        found: &'static str,
    },
    /// A stanza's `disabled` is not a boolean.
    InvalidDisabled {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The seal type of the stanza.
        seal_type: String,
        /// The value (not secret).
        value: String,
    },
    /// The same parameter twice in one stanza.
    Duplicate {
        /// The file.
        path: String,
        /// 1-based line of the second one.
        line: usize,
        /// The seal type of the stanza.
        seal_type: String,
        /// The parameter.
        parameter: String,
        /// 1-based line of the first one.
        first_line: usize,
    },
    /// No config file, and neither the environment nor a flag names a KMS key.
    NoConfig,
    /// The config has no enabled `seal "awskms"` stanza.
    NoAwsKmsSeal {
        /// The file or directory.
        path: String,
        /// How many `awskms` stanzas were skipped as disabled.
        disabled: usize,
        /// The types of the other enabled seal stanzas.
        other_types: Vec<String>,
    },
    /// More than one enabled `seal "awskms"` stanza.
    SeveralAwsKmsSeals {
        /// The file or directory.
        path: String,
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
        path: String,
        /// What went wrong.
        error: FileError,
    },
    /// A `file://` reference to a file that is empty or not UTF-8 text.
    SecretFileInvalid {
        /// The parameter holding the reference.
        parameter: Parameter,
        /// The file it names.
        path: String,
        /// `"is empty"` or `"is not UTF-8 text"`.
        problem: &'static str,
    },
    /// A `file://` reference where the host has no files to read (the plugin component).
    SecretFileUnsupported {
        /// The parameter holding the reference.
        parameter: Parameter,
    },
}

impl fmt::Display for LoadError {
    /// One line whatever the input held: control characters (from a seal type or key with a
    /// line break) are shown escaped, so a message can neither break a log line nor forge one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::write(&mut OneLine(f), format_args!("{}", Unescaped(self)))
    }
}

impl core::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            LoadError::Config(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ConfigError> for LoadError {
    fn from(err: ConfigError) -> Self {
        LoadError::Config(err)
    }
}

/// The message of a [`LoadError`] before control characters are escaped.
struct Unescaped<'e>(&'e LoadError);

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
            LoadError::Read { path, error } => write!(
                f,
                "cannot read Vault config {path}: {error}; check the path and its permissions"
            ),
            LoadError::NotUtf8 { path } => write!(
                f,
                "Vault config {path} is not UTF-8 text; pass the HCL or JSON config file"
            ),
            LoadError::Syntax {
                path,
                line,
                syntax,
                detail,
            } => write!(
                f,
                "{path}:{line}: invalid {syntax}: {detail}; fix the syntax there"
            ),
            LoadError::Stanza { path, line, detail } => write!(f, "{path}:{line}: {detail}"),
            LoadError::NotAString {
                path,
                line,
                seal_type,
                parameter,
                found,
            } => write!(
                f,
                "{path}:{line}: seal \"{seal_type}\" parameter `{parameter}` is {found}, not a \
                 string; write it as {parameter} = \"...\" or remove it"
            ),
            LoadError::InvalidDisabled {
                path,
                line,
                seal_type,
                value,
            } => write!(
                f,
                "{path}:{line}: seal \"{seal_type}\" has disabled = `{value}`, not a boolean; \
                 use \"true\" or \"false\""
            ),
            LoadError::Duplicate {
                path,
                line,
                seal_type,
                parameter,
                first_line,
            } => write!(
                f,
                "{path}:{line}: seal \"{seal_type}\" sets `{parameter}` again (first on line \
                 {first_line}); keep only one"
            ),
            LoadError::NoConfig => f.write_str(
                "no seal configuration: pass a Vault config file with a seal \"awskms\" stanza, \
                 or set VAULT_AWSKMS_SEAL_KEY_ID (with VAULT_SEAL_TYPE=awskms, as for Vault)",
            ),
            LoadError::NoAwsKmsSeal {
                path,
                disabled,
                other_types,
            } => {
                write!(f, "no enabled seal \"awskms\" stanza in {path}")?;
                let mut sep = " (found ";
                if *disabled > 0 {
                    write!(f, "{sep}{disabled} disabled awskms")?;
                    sep = ", ";
                }
                for t in other_types {
                    write!(f, "{sep}\"{t}\"")?;
                    sep = ", ";
                }
                if sep == ", " {
                    f.write_str(")")?;
                }
                f.write_str(
                    "; add one, remove disabled = \"true\" from the one to use, \
                     or set VAULT_SEAL_TYPE=awskms",
                )
            }
            LoadError::SeveralAwsKmsSeals { path, count } => write!(
                f,
                "{path} has {count} enabled seal \"awskms\" stanzas; add disabled = \"true\" to \
                 all but the one to use"
            ),
            LoadError::SealTypeNotAwsKms { value } => write!(
                f,
                "VAULT_SEAL_TYPE is \"{value}\", not \"awskms\"; unset it or set it to awskms"
            ),
            LoadError::Config(err) => fmt::Display::fmt(err, f),
            LoadError::SecretEnvUnset {
                parameter,
                variable,
            } => write!(
                f,
                "{parameter} is env://{variable} but {variable} is not set or empty; export \
                 {variable} or change {parameter}"
            ),
            LoadError::SecretFileRead {
                parameter,
                path,
                error,
            } => write!(
                f,
                "cannot read {parameter} from {path}: {error}; check the file:// path and its \
                 permissions"
            ),
            LoadError::SecretFileInvalid {
                parameter,
                path,
                problem,
            } => write!(
                f,
                "{parameter} file {path} {problem}; put the bare value in it"
            ),
            LoadError::SecretFileUnsupported { parameter } => write!(
                f,
                "{parameter} is a file:// reference, but this host has no files to read; pass \
                 the value itself or an env:// reference"
            ),
        }
    }
}
