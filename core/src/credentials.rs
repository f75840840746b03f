//! AWS credentials as owned values, and the trait through which the seal asks for them.
//!
//! Where credentials come from (static config, environment, shared files, STS, containers,
//! instance metadata) is the transport crates' business; the core only needs the current set.

use alloc::string::String;
use core::fmt;
use zeroize::Zeroizing;

use crate::time::Timestamp;

/// An access key pair with an optional session token and expiry.
///
/// `Debug` shows only the access key id; the secret and the token are zeroized on drop and
/// never printed.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    expires_at: Option<Timestamp>,
}

impl Credentials {
    /// Long-term or temporary credentials.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: session_token.map(Zeroizing::new),
            expires_at,
        }
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key. Do not log it.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token of temporary credentials. Do not log it.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref().map(String::as_str)
    }

    /// When temporary credentials stop working, if known.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// Whether they expire within `margin_secs` of `now` (so should be refreshed).
    pub fn expires_within(&self, now: Timestamp, margin_secs: u64) -> bool {
        self.expires_at
            .is_some_and(|exp| exp.as_secs() <= now.as_secs().saturating_add(margin_secs))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why no credentials could be had. The message names each provider tried and why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialsError {
    /// One line per provider, or a single reason; never contains secrets.
    pub message: String,
}

impl CredentialsError {
    /// A new error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CredentialsError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for CredentialsError {}

/// A source of credentials for the seal. Takes `&self` so a seal can be shared between
/// threads; providers cache behind their own lock.
pub trait ProvideCredentials {
    /// The current credentials. With `force_refresh` the provider must not return what it has
    /// cached (the service said the token expired). Providers cache and refresh by themselves
    /// 5 minutes before expiry.
    ///
    /// # Errors
    /// [`CredentialsError`] when no provider could supply credentials.
    fn credentials(
        &self,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<Credentials, CredentialsError>;
}

impl ProvideCredentials for Credentials {
    fn credentials(
        &self,
        _now: Timestamp,
        _force_refresh: bool,
    ) -> Result<Credentials, CredentialsError> {
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::new(
            "AKIDEXAMPLE",
            "very-secret-key",
            Some("token-value".into()),
            None,
        );
        let s = format!("{c:?}");
        assert!(s.contains("AKIDEXAMPLE"));
        assert!(!s.contains("very-secret-key"));
        assert!(!s.contains("token-value"));
    }

    #[test]
    fn expiry_margin() {
        let c = Credentials::new("a", "b", None, Some(Timestamp(1000)));
        assert!(c.expires_within(Timestamp(800), 300));
        assert!(!c.expires_within(Timestamp(600), 300));
        assert!(!Credentials::new("a", "b", None, None).expires_within(Timestamp(u64::MAX), 300));
    }
}
