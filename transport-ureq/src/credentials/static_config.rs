//! Static credentials from the seal configuration (`access_key`, `secret_key`,
//! `session_token`), already resolved from any `env://` or `file://` reference.

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{CredentialSource, ProviderError};

/// The first source in the chain: keys written in the configuration.
pub struct StaticProvider {
    access_key: Option<String>,
    secret_key: Option<Zeroizing<String>>,
    session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for StaticProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticProvider")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl StaticProvider {
    /// A provider over these values; blank values count as unset.
    pub fn new(
        access_key: Option<String>,
        secret_key: Option<Zeroizing<String>>,
        session_token: Option<Zeroizing<String>>,
    ) -> Self {
        StaticProvider {
            access_key: access_key.filter(|v| !v.trim().is_empty()),
            secret_key: secret_key.filter(|v| !v.trim().is_empty()),
            session_token: session_token.filter(|v| !v.trim().is_empty()),
        }
    }
}

impl CredentialSource for StaticProvider {
    fn name(&self) -> &'static str {
        "static config"
    }

    fn load(&self, _now: Timestamp) -> Result<Credentials, ProviderError> {
        match (&self.access_key, &self.secret_key) {
            (Some(access_key), Some(secret_key)) => Ok(Credentials::new(
                access_key.trim(),
                secret_key.trim(),
                self.session_token.as_ref().map(|t| t.trim().to_owned()),
                None,
            )),
            (None, None) if self.session_token.is_some() => Err(ProviderError::Misconfigured(
                "session_token is set without access_key and secret_key; set all three".into(),
            )),
            (None, None) => Err(ProviderError::NotConfigured(
                "access_key and secret_key are not set".into(),
            )),
            (Some(_), None) => Err(ProviderError::Misconfigured(
                "access_key is set but secret_key is not; set both or neither".into(),
            )),
            (None, Some(_)) => Err(ProviderError::Misconfigured(
                "secret_key is set but access_key is not; set both or neither".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> Option<Zeroizing<String>> {
        Some(Zeroizing::new(s.to_owned()))
    }

    #[test]
    fn both_keys_give_credentials() {
        let p = StaticProvider::new(Some("AKID".into()), z("secret"), z("tok"));
        let c = p.load(Timestamp(0)).unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.secret_access_key(), "secret");
        assert_eq!(c.session_token(), Some("tok"));
        assert_eq!(c.expires_at(), None);
    }

    #[test]
    fn half_a_key_pair_is_a_failure_not_a_fallthrough() {
        let e = StaticProvider::new(Some("AKID".into()), None, None)
            .load(Timestamp(0))
            .unwrap_err();
        assert!(matches!(e, ProviderError::Misconfigured(ref r) if r.contains("secret_key")));
        let e = StaticProvider::new(None, z("s"), None)
            .load(Timestamp(0))
            .unwrap_err();
        assert!(
            matches!(e, ProviderError::Misconfigured(ref r) if r.contains("access_key is not"))
        );
    }

    #[test]
    fn nothing_set_is_not_configured() {
        let e = StaticProvider::new(Some(" ".into()), z(""), None)
            .load(Timestamp(0))
            .unwrap_err();
        assert!(matches!(e, ProviderError::NotConfigured(_)));
    }
}
