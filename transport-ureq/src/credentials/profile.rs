//! Credentials (and the region) from the shared files `~/.aws/credentials` and
//! `~/.aws/config`.
//!
//! File locations: `shared_creds_filename` from the configuration, else
//! `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; `AWS_CONFIG_FILE`, else
//! `~/.aws/config`. Profile: `shared_creds_profile`, else `AWS_PROFILE` (or
//! `AWS_DEFAULT_PROFILE`), else `default`.
//!
//! The files are INI: `[name]` sections in the credentials file, `[profile name]` (or
//! `[default]`), `[sso-session name]` and `[services name]` in the config file; `key = value`
//! lines; `#` and `;` comment lines. Indented `key = value` lines under a property whose value
//! is empty are its sub-properties (`kms =` then `  endpoint_url = ...`), read with
//! [`Profile::get_nested`]. A profile's properties are merged from both files, the credentials
//! file winning. [`SharedFiles`] holds every section of both files, read once.
//!
//! [`ProfileProvider`] supplies the credentials of the selected profile: for a profile with
//! `role_arn`, those of the role it assumes ([`super::assume_role`]); else through IAM Identity
//! Center when it has `sso_session` or `sso_start_url` ([`super::sso`]), else from its
//! `credential_process` ([`super::process`]), else its static keys (`aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token`).

use std::fmt;
use std::path::{Path, PathBuf};

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::assume_role::RoleContext;
use super::{CredentialSource, EnvLookup, ProviderError, process, read_small_file, sso};
use crate::transport::TransportConfig;

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

    /// The value of the sub-property `key` under `parent` (both case-insensitive), if set and
    /// not blank: `get_nested("kms", "endpoint_url")` for
    ///
    /// ```ini
    /// kms =
    ///   endpoint_url = https://kms.example
    /// ```
    pub fn get_nested(&self, parent: &str, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| {
                k.split_once(NESTED_SEPARATOR).is_some_and(|(p, c)| {
                    p.eq_ignore_ascii_case(parent) && c.eq_ignore_ascii_case(key)
                })
            })
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn set(&mut self, key: String, value: Zeroizing<String>) {
        self.properties.retain(|(k, _)| *k != key);
        self.properties.push((key, value));
    }
}

/// Joins a parent property and a sub-property in [`Profile`]'s keys. A space cannot occur in
/// a key read from the files (keys are trimmed and split at `=`, and a space inside one would
/// make it another key), so a nested key cannot be mistaken for a top-level one.
const NESTED_SEPARATOR: char = ' ';

/// What a section of a shared file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SectionKind {
    /// A profile: `[name]` in the credentials file, `[profile name]` or `[default]` in config.
    Profile,
    /// `[sso-session name]` in the config file.
    SsoSession,
    /// `[services name]` in the config file.
    Services,
}

/// Every section of both shared files, read once: profiles (merged across the two files, the
/// credentials file winning), `[sso-session]` and `[services]` sections. Values are zeroized
/// on drop; `Debug` shows only section and property names.
#[derive(Clone, Debug, Default)]
pub struct SharedFiles {
    sections: Vec<(SectionKind, String, Profile)>,
}

impl SharedFiles {
    /// Parses the two files' texts (either may be absent).
    pub fn parse(config: Option<&str>, credentials: Option<&str>) -> Self {
        let mut files = SharedFiles::default();
        for (text, kind) in [
            (config, FileKind::Config),
            (credentials, FileKind::Credentials),
        ] {
            if let Some(text) = text {
                files.merge(text, kind);
            }
        }
        files
    }

    /// The profile `name`, if a section for it exists in either file.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.section(SectionKind::Profile, name)
    }

    /// The `[sso-session name]` section of the config file.
    pub fn sso_session(&self, name: &str) -> Option<&Profile> {
        self.section(SectionKind::SsoSession, name)
    }

    /// The `[services name]` section of the config file.
    pub fn services(&self, name: &str) -> Option<&Profile> {
        self.section(SectionKind::Services, name)
    }

    fn section(&self, kind: SectionKind, name: &str) -> Option<&Profile> {
        self.sections
            .iter()
            .find(|(k, n, _)| *k == kind && n == name)
            .map(|(_, _, p)| p)
    }

    fn section_mut(&mut self, kind: SectionKind, name: &str) -> &mut Profile {
        let index = match self
            .sections
            .iter()
            .position(|(k, n, _)| *k == kind && n == name)
        {
            Some(i) => i,
            None => {
                self.sections
                    .push((kind, name.to_owned(), Profile::default()));
                self.sections.len() - 1
            }
        };
        &mut self.sections[index].2
    }

    fn merge(&mut self, text: &str, file: FileKind) {
        let mut current: Option<(SectionKind, String)> = None;
        // The top-level property that sub-properties attach to: one whose value was empty.
        let mut parent: Option<String> = None;
        for raw in text.lines() {
            match parse_line(raw, file) {
                Line::Section(section) => {
                    current = section.map(|(kind, name)| (kind, name.to_owned()));
                    parent = None;
                    if let Some((kind, name)) = &current {
                        self.section_mut(*kind, name);
                    }
                }
                Line::Property(key, value) => {
                    let Some((kind, name)) = &current else {
                        continue;
                    };
                    let key = key.to_ascii_lowercase();
                    parent = value.is_empty().then(|| key.clone());
                    self.section_mut(*kind, name)
                        .set(key, Zeroizing::new(value.to_owned()));
                }
                Line::Nested(key, value) => {
                    let (Some((kind, name)), Some(parent)) = (&current, &parent) else {
                        continue;
                    };
                    let key = format!("{parent}{NESTED_SEPARATOR}{}", key.to_ascii_lowercase());
                    self.section_mut(*kind, name)
                        .set(key, Zeroizing::new(value.to_owned()));
                }
                Line::Other => {}
            }
        }
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
        Ok(self.load_files()?.profile(&self.name).cloned())
    }

    /// Reads both files once, every section of them.
    ///
    /// # Errors
    /// [`ProfileError`] when a file exists but cannot be read, or an explicitly configured
    /// credentials file does not exist.
    pub fn load_files(&self) -> Result<SharedFiles, ProfileError> {
        let mut texts: [Option<Zeroizing<String>>; 2] = [None, None];
        for (slot, path, kind) in [
            (0, &self.config_file, FileKind::Config),
            (1, &self.credentials_file, FileKind::Credentials),
        ] {
            let Some(path) = path else { continue };
            let text = read_small_file(path, MAX_FILE_BYTES).map_err(ProfileError::Unreadable)?;
            if text.is_none() && kind == FileKind::Credentials && self.credentials_file_explicit {
                return Err(ProfileError::Missing(path.clone()));
            }
            texts[slot] = text;
        }
        Ok(SharedFiles::parse(
            texts[0].as_deref().map(String::as_str),
            texts[1].as_deref().map(String::as_str),
        ))
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
    roles: Option<RoleContext>,
    env: EnvLookup,
    https: TransportConfig,
}

impl ProfileProvider {
    /// A provider for this selection (profiles with `role_arn` are refused).
    /// `credential_process` and IAM Identity Center profiles read the process environment and
    /// use the default HTTPS settings unless [`ProfileProvider::with_environment`] says
    /// otherwise.
    pub fn new(selection: ProfileSelection) -> Self {
        ProfileProvider {
            selection,
            roles: None,
            env: EnvLookup::process(),
            https: TransportConfig::default(),
        }
    }

    /// A provider that also assumes the roles of profiles with `role_arn`.
    pub fn with_roles(selection: ProfileSelection, roles: RoleContext) -> Self {
        ProfileProvider {
            roles: Some(roles),
            ..ProfileProvider::new(selection)
        }
    }

    /// Reads `HOME` (the sso token cache), the sso portal endpoint and the
    /// `credential_process` timeout through `env`, and calls the sso portal with `https`.
    #[must_use]
    pub fn with_environment(mut self, env: EnvLookup, https: TransportConfig) -> Self {
        self.env = env;
        self.https = https;
        self
    }
}

impl CredentialSource for ProfileProvider {
    fn name(&self) -> &'static str {
        "shared files"
    }

    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError> {
        let sel = &self.selection;
        let files = sel
            .load_files()
            .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
        let Some(profile) = files.profile(&sel.name) else {
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
        if let (Some(roles), Some(_)) = (&self.roles, profile.get("role_arn")) {
            return roles.load_profile(&files, &sel.name, now);
        }
        if profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some() {
            let settings = sso::SsoProfile::from_profile(&files, &sel.name, profile)?;
            return sso::load(&settings, &files, &self.env, &self.https, now);
        }
        if let Some(command_line) = profile.get("credential_process") {
            return process::CredentialProcess::parse(command_line, &self.env)
                .map_err(|e| ProviderError::Misconfigured(format!("profile '{}': {e}", sel.name)))?
                .run(&sel.name);
        }
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
                let unsupported = ["role_arn"].into_iter().find(|k| profile.get(k).is_some());
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
    /// `[...]`: the section it opens, or `None` for sections that mean nothing here.
    Section(Option<(SectionKind, &'a str)>),
    /// `key = value`.
    Property(&'a str, &'a str),
    /// An indented `key = value`: a sub-property of the last property with an empty value.
    Nested(&'a str, &'a str),
    /// Blank, comment or unparseable line.
    Other,
}

fn parse_line(line: &str, kind: FileKind) -> Line<'_> {
    let indented = line.starts_with([' ', '\t']);
    let line = line.trim();
    if line.is_empty() || line.starts_with(['#', ';']) {
        return Line::Other;
    }
    if !indented && let Some(rest) = line.strip_prefix('[') {
        let Some((inner, _)) = rest.split_once(']') else {
            return Line::Section(None);
        };
        return Line::Section(section_name(inner.trim(), kind));
    }
    match line.split_once('=') {
        Some((key, value)) => {
            let key = key.trim();
            if key.is_empty() || key.contains(NESTED_SEPARATOR) {
                return Line::Other;
            }
            let value = strip_inline_comment(value).trim();
            if indented {
                Line::Nested(key, value)
            } else {
                Line::Property(key, value)
            }
        }
        None => Line::Other,
    }
}

/// What `[inner]` names in a file of this kind.
fn section_name(inner: &str, kind: FileKind) -> Option<(SectionKind, &str)> {
    let prefixed = |prefix: &str| {
        inner
            .strip_prefix(prefix)
            .filter(|r| r.starts_with([' ', '\t']))
            .map(str::trim)
    };
    let section = match kind {
        FileKind::Config => {
            if let Some(name) = prefixed("profile") {
                Some((SectionKind::Profile, name))
            } else if let Some(name) = prefixed("sso-session") {
                Some((SectionKind::SsoSession, name))
            } else if let Some(name) = prefixed("services") {
                Some((SectionKind::Services, name))
            } else if inner == "default" {
                Some((SectionKind::Profile, inner))
            } else {
                None
            }
        }
        FileKind::Credentials => {
            (prefixed("profile").is_none()).then_some((SectionKind::Profile, inner))
        }
    };
    section.filter(|(_, name)| !name.is_empty())
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

    fn profile(name: &str) -> Line<'_> {
        Line::Section(Some((SectionKind::Profile, name)))
    }

    #[test]
    fn parses_sections_per_file_kind() {
        assert_eq!(
            parse_line("[profile work]", FileKind::Config),
            profile("work")
        );
        assert_eq!(parse_line("[work]", FileKind::Config), Line::Section(None));
        assert_eq!(
            parse_line("[default]", FileKind::Config),
            profile("default")
        );
        assert_eq!(
            parse_line("[ work ]", FileKind::Credentials),
            profile("work")
        );
        assert_eq!(
            parse_line("[profile work]", FileKind::Credentials),
            Line::Section(None)
        );
        assert_eq!(
            parse_line("[sso-session my-sso]", FileKind::Config),
            Line::Section(Some((SectionKind::SsoSession, "my-sso")))
        );
        assert_eq!(
            parse_line("[services  local ]", FileKind::Config),
            Line::Section(Some((SectionKind::Services, "local")))
        );
        assert_eq!(
            parse_line("[profile ]", FileKind::Config),
            Line::Section(None)
        );
        assert_eq!(
            parse_line("[profileX]", FileKind::Config),
            Line::Section(None)
        );
        assert_eq!(
            parse_line("[broken", FileKind::Credentials),
            Line::Section(None)
        );
        assert_eq!(
            parse_line("  nested = 1", FileKind::Config),
            Line::Nested("nested", "1")
        );
        assert_eq!(parse_line("  [x]", FileKind::Config), Line::Other);
        assert_eq!(parse_line("; c", FileKind::Config), Line::Other);
        assert_eq!(parse_line("= v", FileKind::Config), Line::Other);
        assert_eq!(parse_line("a b = v", FileKind::Config), Line::Other);
        assert_eq!(
            parse_line("k = a#b # c", FileKind::Config),
            Line::Property("k", "a#b")
        );
    }

    #[test]
    fn merges_profiles_across_files() {
        let files = SharedFiles::parse(Some(CONFIG), Some(CREDENTIALS));
        let work = files.profile("work").unwrap();
        assert_eq!(work.get("aws_session_token"), Some("tokwork"));
        assert_eq!(work.get("REGION"), Some("us-west-2"));
        assert_eq!(work.get_nested("s3", "max_concurrent_requests"), Some("20"));
        assert_eq!(work.get("max_concurrent_requests"), None);
        assert_eq!(
            files.profile("default").unwrap().get("aws_access_key_id"),
            Some("AKIDDEFAULT")
        );
        assert_eq!(
            files.profile("roley").unwrap().get("source_profile"),
            Some("default")
        );
        assert!(files.profile("other").is_none());
        assert!(files.profile("ignored").is_none());
        assert_eq!(
            files.sso_session("x").unwrap().get("sso_region"),
            Some("us-east-1")
        );
        assert!(files.profile("x").is_none());
    }

    #[test]
    fn credentials_file_wins_and_empty_sections_exist() {
        let files = SharedFiles::parse(
            Some("[profile p]\nregion = a\naws_access_key_id = FROMCONFIG\n[profile empty]\n"),
            Some("[p]\naws_access_key_id = FROMCREDS\n"),
        );
        let p = files.profile("p").unwrap();
        assert_eq!(p.get("aws_access_key_id"), Some("FROMCREDS"));
        assert_eq!(p.get("region"), Some("a"));
        assert!(files.profile("empty").is_some());
    }

    #[test]
    fn reads_services_sections() {
        let config = "\
[profile dev]
services = local
endpoint_url = https://all.example
[services local]
kms =
  endpoint_url = https://kms.example
  # comment
sts =
    endpoint_url = https://sts.example ; inline
region = x
  stray = ignored
";
        let files = SharedFiles::parse(Some(config), None);
        let dev = files.profile("dev").unwrap();
        assert_eq!(dev.get("services"), Some("local"));
        let local = files.services("local").unwrap();
        assert_eq!(
            local.get_nested("KMS", "endpoint_url"),
            Some("https://kms.example")
        );
        assert_eq!(
            local.get_nested("sts", "endpoint_url"),
            Some("https://sts.example")
        );
        assert_eq!(local.get_nested("region", "stray"), None);
        assert_eq!(local.get("region"), Some("x"));
    }

    #[test]
    fn any_prefix_of_a_file_parses_without_panicking() {
        for text in [CREDENTIALS, CONFIG] {
            for (end, _) in text.char_indices() {
                let cut = &text[..end];
                let files = SharedFiles::parse(Some(cut), Some(cut));
                for name in ["work", "default", "roley"] {
                    if let Some(p) = files.profile(name) {
                        assert!(p.properties.iter().all(|(k, _)| !k.is_empty()));
                    }
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
