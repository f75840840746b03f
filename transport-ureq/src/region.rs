//! Which AWS region to use, and where that answer came from.
//!
//! Order: the configuration's `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the selected
//! shared-files profile's `region`, the instance metadata
//! (`/latest/meta-data/placement/region`, same client and time limits as the credential
//! chain), then `us-east-1` (Vault's default).

use std::fmt;

use crate::credentials::EnvLookup;
use crate::credentials::imds::ImdsClient;
use crate::credentials::profile::ProfileSelection;

/// The region used when nothing names one (Vault's default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where a region came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionSource {
    /// The seal configuration (`region`) or a command-line flag.
    Config,
    /// The `AWS_REGION` variable.
    AwsRegion,
    /// The `AWS_DEFAULT_REGION` variable.
    AwsDefaultRegion,
    /// The `region` of this shared-files profile.
    Profile(String),
    /// The instance metadata service.
    InstanceMetadata,
    /// Nothing named a region: [`DEFAULT_REGION`].
    Default,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSource::Config => f.write_str("configuration"),
            RegionSource::AwsRegion => f.write_str("AWS_REGION"),
            RegionSource::AwsDefaultRegion => f.write_str("AWS_DEFAULT_REGION"),
            RegionSource::Profile(name) => write!(f, "shared files profile '{name}'"),
            RegionSource::InstanceMetadata => f.write_str("instance metadata"),
            RegionSource::Default => f.write_str("default"),
        }
    }
}

/// A region and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRegion {
    /// The region name, for example `eu-west-1`.
    pub name: String,
    /// Where it came from.
    pub source: RegionSource,
}

/// A region name that cannot be one (it would end up in a host name).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionError {
    /// Where the bad value came from.
    pub source: RegionSource,
    /// The value, shortened.
    pub value: String,
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid region '{}' from {}; use a name like us-east-1",
            self.value, self.source
        )
    }
}

impl std::error::Error for RegionError {}

/// Resolves the region. `configured` is the configuration's (or a flag's) value; `imds` is
/// `None` to skip instance metadata (and is skipped anyway when disabled).
///
/// # Errors
/// [`RegionError`] when the first source that names a region names something that is not a
/// region (letters, digits and dashes).
pub fn resolve(
    configured: Option<&str>,
    profile: &ProfileSelection,
    imds: Option<&ImdsClient>,
    env: &EnvLookup,
) -> Result<ResolvedRegion, RegionError> {
    let found = configured
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| (r.to_owned(), RegionSource::Config))
        .or_else(|| env.get("AWS_REGION").map(|r| (r, RegionSource::AwsRegion)))
        .or_else(|| {
            env.get("AWS_DEFAULT_REGION")
                .map(|r| (r, RegionSource::AwsDefaultRegion))
        })
        .or_else(|| from_profile(profile))
        .or_else(|| imds.and_then(from_imds));
    let Some((name, source)) = found else {
        return Ok(ResolvedRegion {
            name: DEFAULT_REGION.to_owned(),
            source: RegionSource::Default,
        });
    };
    let name = name.trim().to_owned();
    if !is_valid_region(&name) {
        let value: String = name.chars().take(64).collect();
        return Err(RegionError { source, value });
    }
    log::debug!("region {name} from {source}");
    Ok(ResolvedRegion { name, source })
}

/// Whether `name` looks like a region: 1 to 64 lower-case letters, digits and dashes.
pub fn is_valid_region(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn from_profile(selection: &ProfileSelection) -> Option<(String, RegionSource)> {
    match selection.load() {
        Ok(Some(profile)) => profile
            .get("region")
            .map(|r| (r.to_owned(), RegionSource::Profile(selection.name.clone()))),
        Ok(None) => None,
        Err(e) => {
            log::debug!("region: shared files skipped: {e}");
            None
        }
    }
}

fn from_imds(client: &ImdsClient) -> Option<(String, RegionSource)> {
    if client.config().disabled {
        return None;
    }
    match client.region() {
        Ok(region) if !region.is_empty() => Some((region, RegionSource::InstanceMetadata)),
        Ok(_) => None,
        Err(e) => {
            log::debug!("region: instance metadata skipped: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files() -> ProfileSelection {
        ProfileSelection::resolve(None, None, &EnvLookup::from_pairs([("X", "1")]))
    }

    #[test]
    fn order_of_sources() {
        let env = EnvLookup::from_pairs([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-2"),
        ]);
        let r = resolve(Some("ap-south-1"), &no_files(), None, &env).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("ap-south-1", RegionSource::Config)
        );
        let r = resolve(Some(" "), &no_files(), None, &env).unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("eu-west-1", RegionSource::AwsRegion)
        );
        let env = EnvLookup::from_pairs([("AWS_DEFAULT_REGION", "eu-west-2")]);
        let r = resolve(None, &no_files(), None, &env).unwrap();
        assert_eq!(r.source, RegionSource::AwsDefaultRegion);
        let r = resolve(
            None,
            &no_files(),
            None,
            &EnvLookup::from_pairs([("X", "1")]),
        )
        .unwrap();
        assert_eq!(
            (r.name.as_str(), r.source),
            ("us-east-1", RegionSource::Default)
        );
    }

    #[test]
    fn rejects_host_injection() {
        let env = EnvLookup::from_pairs([("AWS_REGION", "evil.com/x")]);
        let e = resolve(None, &no_files(), None, &env).unwrap_err();
        assert_eq!(e.source, RegionSource::AwsRegion);
        assert!(e.to_string().contains("AWS_REGION"));
        assert!(is_valid_region("us-gov-west-1"));
        assert!(!is_valid_region("US-EAST-1"));
        assert!(!is_valid_region(""));
        assert!(!is_valid_region("-x"));
    }
}
