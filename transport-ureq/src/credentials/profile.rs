//! Credentials (and the region) from the shared files `~/.aws/credentials` and
//! `~/.aws/config`.
//!
//! File locations: `shared_creds_filename` from the configuration, else
//! `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; `AWS_CONFIG_FILE`, else
//! `~/.aws/config`. Profile: `shared_creds_profile`, else `AWS_PROFILE` (or
//! `AWS_DEFAULT_PROFILE`), else `default`.
//!
//! The files are INI: `[name]` sections in the credentials file, `[profile name]` (or
//! `[default]`) in the config file; `key = value` lines; `#` and `;` comment lines. A profile's
//! properties are merged from both files, the credentials file winning. Only static keys are
//! supported (`aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`); profiles that
//! assume roles, run processes or use SSO are reported as unsupported.

use std::fmt;
use std::path::{Path, PathBuf};

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{CredentialSource, EnvLookup, ProviderError, read_small_file};

/// Shared files larger than this are refused.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Which files and which profile to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSelection {
    /// The credentials file, if a path could be determined.
    pub credentials_file: Option<PathBuf>,
    /// Whether the credentials file was named in the configuration (then it must exist).
    pub credentials_file_explicit: bool,
    /// The config file, if a path could be determined.
    pub config_file: Option<PathBuf>,
    /// The profile name.
    pub name: String,
    /// Whether the profile was chosen explicitly (then it must exist and hold keys).
    pub explicit: bool,
}

/// One profile's properties, merged from both files. Values are zeroized on drop; `Debug`
/// shows only the property names.
#[derive(Clone, Default)]
pub struct Profile {
    properties: Vec<(String, Zeroizing<String>)>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.properties.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Profile {
    /// The value of `key` (case-insensitive), if set and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn set(&mut self, key: String, value: Zeroizing<String>) {
        self.properties.retain(|(k, _)| *k != key);
        self.properties.push((key, value));
    }
}

/// A shared file that exists but could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file is unreadable, too large or not UTF-8.
    Unreadable(String),
    /// The configuration names a credentials file that does not exist.
    Missing(PathBuf),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Unreadable(reason) => {
                write!(f, "{reason}; fix the file's permissions or contents")
            }
            ProfileError::Missing(path) => write!(
                f,
                "shared credentials file {} does not exist; check shared_creds_filename",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ProfileError {}

impl ProfileSelection {
    /// Applies the precedence rules: configuration, then environment, then defaults.
    pub fn resolve(
        shared_credentials_file: Option<&Path>,
        profile: Option<&str>,
        env: &EnvLookup,
    ) -> Self {
        let home_file = |name: &str| env.home_dir().map(|h| h.join(".aws").join(name));
        let (credentials_file, credentials_file_explicit) = match shared_credentials_file {
            Some(path) if !path.as_os_str().is_empty() => {
                (Some(env.expand_home(&path.to_string_lossy())), true)
            }
            _ => (
                env.get("AWS_SHARED_CREDENTIALS_FILE")
                    .map(|p| env.expand_home(&p))
                    .or_else(|| home_file("credentials")),
                false,
            ),
        };
        let config_file = env
            .get("AWS_CONFIG_FILE")
            .map(|p| env.expand_home(&p))
            .or_else(|| home_file("config"));
        let chosen = profile
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .or_else(|| env.get("AWS_PROFILE"))
            .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
            .map(|p| p.trim().to_owned());
        ProfileSelection {
            credentials_file,
            credentials_file_explicit,
            config_file,
            explicit: chosen.is_some(),
            name: chosen.unwrap_or_else(|| "default".to_owned()),
        }
    }

    /// Reads both files and returns the selected profile, `None` when neither file has it.
    ///
    /// # Errors
    /// [`ProfileError`] when a file exists but cannot be read, or an explicitly configured
    /// credentials file does not exist.
    pub fn load(&self) -> Result<Option<Profile>, ProfileError> {
        let mut profile = Profile::default();
        let mut found = false;
        for (path, kind) in [
            (&self.config_file, FileKind::Config),
            (&self.credentials_file, FileKind::Credentials),
        ] {
            let Some(path) = path else { continue };
            let text = read_small_file(path, MAX_FILE_BYTES).map_err(ProfileError::Unreadable)?;
            let Some(text) = text else {
                if kind == FileKind::Credentials && self.credentials_file_explicit {
                    return Err(ProfileError::Missing(path.clone()));
                }
                continue;
            };
            for (key, value) in profile_properties(&text, kind, &self.name) {
                found = true;
                profile.set(key, value);
            }
            if has_section(&text, kind, &self.name) {
                found = true;
            }
        }
        Ok(found.then_some(profile))
    }

    fn files_description(&self) -> String {
        let names: Vec<String> = [&self.credentials_file, &self.config_file]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect();
        if names.is_empty() {
            "no shared files (HOME is not set)".to_owned()
        } else {
            names.join(" or ")
        }
    }
}

/// The third source in the chain.
#[derive(Debug)]
pub struct ProfileProvider {
    selection: ProfileSelection,
}

impl ProfileProvider {
    /// A provider for this selection.
    pub fn new(selection: ProfileSelection) -> Self {
        ProfileProvider { selection }
    }
}

impl CredentialSource for ProfileProvider {
    fn name(&self) -> &'static str {
        "shared files"
    }

    fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
        let sel = &self.selection;
        let profile = sel
            .load()
            .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
        let Some(profile) = profile else {
            let reason = format!(
                "profile '{}' not found in {}",
                sel.name,
                sel.files_description()
            );
            return Err(if sel.explicit {
                ProviderError::Misconfigured(format!(
                    "{reason}; check shared_creds_profile / AWS_PROFILE"
                ))
            } else {
                ProviderError::NotConfigured(reason)
            });
        };
        let access_key = profile.get("aws_access_key_id");
        let secret_key = profile.get("aws_secret_access_key");
        match (access_key, secret_key) {
            (Some(access_key), Some(secret_key)) => Ok(Credentials::new(
                access_key,
                secret_key,
                profile
                    .get("aws_session_token")
                    .or_else(|| profile.get("aws_security_token"))
                    .map(str::to_owned),
                None,
            )),
            (Some(_), None) | (None, Some(_)) => Err(ProviderError::Misconfigured(format!(
                "profile '{}' has only one of aws_access_key_id and aws_secret_access_key; set \
                 both",
                sel.name
            ))),
            (None, None) => {
                let unsupported = [
                    "role_arn",
                    "credential_process",
                    "sso_session",
                    "sso_start_url",
                ]
                .into_iter()
                .find(|k| profile.get(k).is_some());
                let reason = match unsupported {
                    Some(key) => format!(
                        "profile '{}' uses {key}, which kms-seal does not support; give it \
                         aws_access_key_id and aws_secret_access_key",
                        sel.name
                    ),
                    None => format!(
                        "profile '{}' has no aws_access_key_id / aws_secret_access_key",
                        sel.name
                    ),
                };
                Err(if sel.explicit {
                    ProviderError::Misconfigured(reason)
                } else {
                    ProviderError::NotConfigured(reason)
                })
            }
        }
    }
}

/// Which of the two shared files a text came from (their section syntax differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    /// `~/.aws/credentials`: `[name]`.
    Credentials,
    /// `~/.aws/config`: `[profile name]` or `[default]`.
    Config,
}

/// One parsed line of an INI file.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// `[...]`: the profile it opens, or `None` for sections that are not profiles here.
    Section(Option<&'a str>),
    /// `key = value`.
    Property(&'a str, &'a str),
    /// Blank, comment, continuation or unparseable line.
    Other,
}

fn parse_line(line: &str, kind: FileKind) -> Line<'_> {
    if line.starts_with([' ', '\t']) {
        // Continuation (sub-property) lines belong to nested settings like `s3 =`.
        return Line::Other;
    }
    let line = line.trim();
    if line.is_empty() || line.starts_with(['#', ';']) {
        return Line::Other;
    }
    if let Some(rest) = line.strip_prefix('[') {
        let Some((inner, _)) = rest.split_once(']') else {
            return Line::Section(None);
        };
        let inner = inner.trim();
        let prefixed = inner
            .strip_prefix("profile")
            .filter(|r| r.starts_with([' ', '\t']))
            .map(str::trim);
        let name = match (kind, prefixed) {
            (FileKind::Config, Some(name)) => Some(name),
            (FileKind::Config, None) if inner == "default" => Some(inner),
            (FileKind::Config, None) => None,
            (FileKind::Credentials, Some(_)) => None,
            (FileKind::Credentials, None) => Some(inner),
        };
        return Line::Section(name.filter(|n| !n.is_empty()));
    }
    match line.split_once('=') {
        Some((key, value)) => {
            let key = key.trim();
            if key.is_empty() {
                return Line::Other;
            }
            Line::Property(key, strip_inline_comment(value).trim())
        }
        None => Line::Other,
    }
}

/// Removes a ` # comment` or ` ; comment` that follows whitespace.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if matches!(bytes[i], b'#' | b';') && matches!(bytes[i - 1], b' ' | b'\t') {
            return &value[..i];
        }
    }
    value
}

fn profile_properties(
    text: &str,
    kind: FileKind,
    profile: &str,
) -> Vec<(String, Zeroizing<String>)> {
    let mut out = Vec::new();
    let mut inside = false;
    for raw in text.lines() {
        match parse_line(raw, kind) {
            Line::Section(name) => inside = name == Some(profile),
            Line::Property(key, value) if inside => {
                out.push((key.to_ascii_lowercase(), Zeroizing::new(value.to_owned())));
            }
            _ => {}
        }
    }
    out
}

fn has_section(text: &str, kind: FileKind, profile: &str) -> bool {
    text.lines()
        .any(|raw| parse_line(raw, kind) == Line::Section(Some(profile)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "\
# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secretdefault

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key=secretwork
aws_session_token = tokwork ; inline comment
[profile ignored]
aws_access_key_id = NO
";

    const CONFIG: &str = "\
[default]
region = eu-west-1
[profile work]
region = us-west-2  # comment
s3 =
  max_concurrent_requests = 20
[other]
region = nope
[sso-session x]
sso_region = us-east-1
[profile roley]
role_arn = arn:aws:iam::1:role/r
source_profile = default
";

    #[test]
    fn parses_sections_per_file_kind() {
        assert_eq!(
            parse_line("[profile work]", FileKind::Config),
            Line::Section(Some("work"))
        );
        assert_eq!(parse_line("[work]", FileKind::Config), Line::Section(None));
        assert_eq!(
            parse_line("[default]", FileKind::Config),
            Line::Section(Some("default"))
        );
        assert_eq!(
            parse_line("[ work ]", FileKind::Credentials),
            Line::Section(Some("work"))
        );
        assert_eq!(
            parse_line("[profile work]", FileKind::Credentials),
            Line::Section(None)
        );
        assert_eq!(
            parse_line("[broken", FileKind::Credentials),
            Line::Section(None)
        );
        assert_eq!(parse_line("  nested = 1", FileKind::Config), Line::Other);
        assert_eq!(parse_line("; c", FileKind::Config), Line::Other);
        assert_eq!(parse_line("= v", FileKind::Config), Line::Other);
        assert_eq!(
            parse_line("k = a#b # c", FileKind::Config),
            Line::Property("k", "a#b")
        );
    }

    #[test]
    fn merges_profile_properties() {
        let creds = profile_properties(CREDENTIALS, FileKind::Credentials, "work");
        assert_eq!(creds.len(), 3);
        assert_eq!(creds[2].1.as_str(), "tokwork");
        let config = profile_properties(CONFIG, FileKind::Config, "work");
        assert_eq!(config[0].0, "region");
        assert_eq!(config[0].1.as_str(), "us-west-2");
        assert!(profile_properties(CONFIG, FileKind::Config, "other").is_empty());
        assert!(profile_properties(CREDENTIALS, FileKind::Credentials, "ignored").is_empty());
    }

    #[test]
    fn any_prefix_of_a_file_parses_without_panicking() {
        for text in [CREDENTIALS, CONFIG] {
            for (end, _) in text.char_indices() {
                let cut = &text[..end];
                for kind in [FileKind::Config, FileKind::Credentials] {
                    let props = profile_properties(cut, kind, "work");
                    assert!(props.iter().all(|(k, _)| !k.is_empty()));
                }
            }
        }
    }

    #[test]
    fn debug_shows_only_keys() {
        let mut p = Profile::default();
        p.set(
            "aws_secret_access_key".into(),
            Zeroizing::new("hunter2".into()),
        );
        let s = format!("{p:?}");
        assert!(s.contains("aws_secret_access_key"));
        assert!(!s.contains("hunter2"));
    }

    #[test]
    fn selection_precedence() {
        let env = EnvLookup::from_pairs([
            ("HOME", "/h"),
            ("AWS_PROFILE", "envprof"),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/creds"),
        ]);
        let s = ProfileSelection::resolve(None, None, &env);
        assert_eq!(s.name, "envprof");
        assert!(s.explicit);
        assert_eq!(s.credentials_file, Some(PathBuf::from("/h/creds")));
        assert_eq!(s.config_file, Some(PathBuf::from("/h/.aws/config")));
        let s = ProfileSelection::resolve(Some(Path::new("/x/c")), Some("cfg"), &env);
        assert_eq!(s.name, "cfg");
        assert!(s.credentials_file_explicit);
        assert_eq!(s.credentials_file, Some(PathBuf::from("/x/c")));
        let s = ProfileSelection::resolve(None, None, &EnvLookup::from_pairs([("HOME", "/h")]));
        assert_eq!(s.name, "default");
        assert!(!s.explicit);
        assert_eq!(
            s.credentials_file,
            Some(PathBuf::from("/h/.aws/credentials"))
        );
    }
}
