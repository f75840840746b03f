//! The AWS-wide endpoint settings that the SDKs and the AWS CLI share ("service-specific
//! endpoints"), for the services kms-seal calls: KMS, STS and the IAM Identity Center portal.
//!
//! For a service, the first of these that is set wins:
//!
//! 1. `AWS_ENDPOINT_URL_<SERVICE>` (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL_STS`,
//!    `AWS_ENDPOINT_URL_SSO`);
//! 2. `AWS_ENDPOINT_URL`;
//! 3. the profile's `services = NAME` section, `[services NAME]`, with the service's
//!    `endpoint_url` sub-property (`kms =` then `  endpoint_url = ...`);
//! 4. the profile's own `endpoint_url`.
//!
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`, or the profile's
//! `ignore_configured_endpoint_urls = true`, turns all four off. Vault's own settings
//! (`endpoint`, `AWS_KMS_ENDPOINT`, `--endpoint`, `sts_endpoint`) are applied by the callers,
//! above everything here.

use crate::credentials::EnvLookup;
use crate::credentials::profile::{Profile, SharedFiles};

/// A service whose endpoint the AWS-wide settings can configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// AWS KMS.
    Kms,
    /// AWS STS (AssumeRole, AssumeRoleWithWebIdentity).
    Sts,
    /// The IAM Identity Center (SSO) portal (GetRoleCredentials).
    Sso,
}

impl Service {
    /// The suffix of its `AWS_ENDPOINT_URL_<SERVICE>` variable.
    pub fn env_suffix(self) -> &'static str {
        match self {
            Service::Kms => "KMS",
            Service::Sts => "STS",
            Service::Sso => "SSO",
        }
    }

    /// Its key in a `[services NAME]` section.
    pub fn services_key(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::Sts => "sts",
            Service::Sso => "sso",
        }
    }
}

/// An endpoint chosen by the AWS-wide settings, and which setting chose it (for `-v` output
/// and error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredEndpoint {
    /// The URL as written (trimmed).
    pub url: String,
    /// Where it came from, such as `AWS_ENDPOINT_URL_KMS` or
    /// `profile 'dev' services 'local' kms.endpoint_url`.
    pub source: String,
}

/// The endpoint that the AWS-wide settings configure for `service`, if any. `files` and
/// `profile` are the shared files and the selected profile's name (`None` when the files
/// could not be read or are not used).
pub fn configured_endpoint(
    service: Service,
    env: &EnvLookup,
    files: Option<&SharedFiles>,
    profile: &str,
) -> Option<ConfiguredEndpoint> {
    let selected: Option<&Profile> = files.and_then(|f| f.profile(profile));
    let ignored = env.is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        || selected
            .and_then(|p| p.get("ignore_configured_endpoint_urls"))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if ignored {
        return None;
    }
    let found = |url: &str, source: String| {
        let url = url.trim();
        (!url.is_empty()).then(|| ConfiguredEndpoint {
            url: url.to_owned(),
            source,
        })
    };
    let specific = format!("AWS_ENDPOINT_URL_{}", service.env_suffix());
    if let Some(e) = env.get(&specific).and_then(|v| found(&v, specific)) {
        return Some(e);
    }
    if let Some(e) = env
        .get("AWS_ENDPOINT_URL")
        .and_then(|v| found(&v, "AWS_ENDPOINT_URL".to_owned()))
    {
        return Some(e);
    }
    let selected = selected?;
    let from_services = selected.get("services").and_then(|name| {
        let section = files?.services(name.trim())?;
        let url = section.get_nested(service.services_key(), "endpoint_url")?;
        found(
            url,
            format!(
                "profile '{profile}' services '{}' {}.endpoint_url",
                name.trim(),
                service.services_key()
            ),
        )
    });
    from_services.or_else(|| {
        selected
            .get("endpoint_url")
            .and_then(|url| found(url, format!("profile '{profile}' endpoint_url")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[profile dev]
services = local
endpoint_url = https://all.example
[profile plain]
endpoint_url = https://plain.example
[profile quiet]
ignore_configured_endpoint_urls = true
endpoint_url = https://quiet.example
[services local]
kms =
  endpoint_url = https://kms.local.example
";

    fn endpoint(service: Service, env: &[(&str, &str)], profile: &str) -> Option<String> {
        let files = SharedFiles::parse(Some(CONFIG), None);
        let env = EnvLookup::from_pairs(env.iter().copied());
        configured_endpoint(service, &env, Some(&files), profile).map(|e| e.url)
    }

    #[test]
    fn precedence() {
        let all = [
            ("AWS_ENDPOINT_URL_KMS", "https://env-kms.example"),
            ("AWS_ENDPOINT_URL", "https://env-all.example"),
        ];
        assert_eq!(
            endpoint(Service::Kms, &all, "dev").as_deref(),
            Some("https://env-kms.example")
        );
        assert_eq!(
            endpoint(Service::Sts, &all, "dev").as_deref(),
            Some("https://env-all.example")
        );
        assert_eq!(
            endpoint(Service::Kms, &[], "dev").as_deref(),
            Some("https://kms.local.example")
        );
        // The services section has no sts entry: the profile's endpoint_url.
        assert_eq!(
            endpoint(Service::Sts, &[], "dev").as_deref(),
            Some("https://all.example")
        );
        assert_eq!(
            endpoint(Service::Sso, &[], "plain").as_deref(),
            Some("https://plain.example")
        );
        assert_eq!(endpoint(Service::Kms, &[], "missing"), None);
    }

    #[test]
    fn ignore_switches() {
        let env = [
            ("AWS_ENDPOINT_URL_KMS", "https://env-kms.example"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ];
        assert_eq!(endpoint(Service::Kms, &env, "dev"), None);
        assert_eq!(
            endpoint(
                Service::Kms,
                &[("AWS_ENDPOINT_URL", "https://env-all.example")],
                "quiet"
            ),
            None
        );
    }

    #[test]
    fn names_the_source() {
        let files = SharedFiles::parse(Some(CONFIG), None);
        let e = configured_endpoint(
            Service::Kms,
            &EnvLookup::from_fn(|_| None),
            Some(&files),
            "dev",
        )
        .unwrap();
        assert_eq!(e.source, "profile 'dev' services 'local' kms.endpoint_url");
        let env = EnvLookup::from_pairs([("AWS_ENDPOINT_URL_STS", " https://s.example ")]);
        let e = configured_endpoint(Service::Sts, &env, None, "dev").unwrap();
        assert_eq!(e.url, "https://s.example");
        assert_eq!(e.source, "AWS_ENDPOINT_URL_STS");
    }
}
