//! Credentials from environment variables: `AWS_ACCESS_KEY_ID` (or `AWS_ACCESS_KEY`),
//! `AWS_SECRET_ACCESS_KEY` (or `AWS_SECRET_KEY`) and the optional `AWS_SESSION_TOKEN`, the
//! names the AWS SDK for Go (which Vault uses) reads.

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;

use super::{CredentialSource, EnvLookup, ProviderError};

/// The second source in the chain.
#[derive(Debug)]
pub struct EnvironmentProvider {
    env: EnvLookup,
}

impl EnvironmentProvider {
    /// A provider reading through `env`.
    pub fn new(env: EnvLookup) -> Self {
        EnvironmentProvider { env }
    }
}

impl CredentialSource for EnvironmentProvider {
    fn name(&self) -> &'static str {
        "environment"
    }

    fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
        let access_key = self
            .env
            .get("AWS_ACCESS_KEY_ID")
            .or_else(|| self.env.get("AWS_ACCESS_KEY"));
        let secret_key = self
            .env
            .get("AWS_SECRET_ACCESS_KEY")
            .or_else(|| self.env.get("AWS_SECRET_KEY"))
            .map(zeroize::Zeroizing::new);
        match (access_key, secret_key) {
            (Some(access_key), Some(secret_key)) => Ok(Credentials::new(
                access_key.trim(),
                secret_key.trim(),
                self.env
                    .get("AWS_SESSION_TOKEN")
                    .map(|t| t.trim().to_owned()),
                None,
            )),
            (None, None) => Err(ProviderError::NotConfigured(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".into(),
            )),
            (Some(_), None) => Err(ProviderError::Misconfigured(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both or unset \
                 both"
                    .into(),
            )),
            (None, Some(_)) => Err(ProviderError::Misconfigured(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both or unset \
                 both"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_standard_names() {
        let env = EnvLookup::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "tok"),
        ]);
        let c = EnvironmentProvider::new(env).load(Timestamp(0)).unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.secret_access_key(), "secret");
        assert_eq!(c.session_token(), Some("tok"));
    }

    #[test]
    fn reads_the_legacy_names() {
        let env = EnvLookup::from_pairs([("AWS_ACCESS_KEY", "AKID"), ("AWS_SECRET_KEY", "s")]);
        let c = EnvironmentProvider::new(env).load(Timestamp(0)).unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.session_token(), None);
    }

    #[test]
    fn partial_and_missing() {
        let env = EnvLookup::from_pairs([("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(matches!(
            EnvironmentProvider::new(env).load(Timestamp(0)),
            Err(ProviderError::Misconfigured(_))
        ));
        let env = EnvLookup::from_pairs([("AWS_ACCESS_KEY_ID", "")]);
        assert!(matches!(
            EnvironmentProvider::new(env).load(Timestamp(0)),
            Err(ProviderError::NotConfigured(_))
        ));
    }
}
