//! [`HandedCredentials`]: the plugin component's credentials provider. The host hands in
//! credentials at any time (`set-credentials` of `wit/seal.wit`); they win over the static
//! credentials of the configuration.
//!
//! A WASM guest cannot fetch new credentials by itself (no STS, no instance metadata), so
//! this provider never refreshes: when the credentials it holds have passed their expiration,
//! or KMS said their session token expired (the seal asks again with `force_refresh`), it
//! fails with [`CredentialsError::Rejected`] and a reason that tells the host to hand in
//! fresh ones. That is its only failure once it holds credentials.

use alloc::format;
use alloc::string::String;

use kms_seal_core::credentials::{
    Credentials, CredentialsError, ProvideCredentials, SourceFailure,
};
use kms_seal_core::time::Timestamp;

/// The source name in this provider's errors.
pub const SOURCE: &str = "set-credentials";

/// The credentials the host handed in, shared by every seal of the instance.
pub type HandedSlot = spin::Mutex<Option<Credentials>>;

/// Credentials handed in by the host (in `slot`), else the configuration's.
pub struct HandedCredentials {
    slot: &'static HandedSlot,
    configured: Option<Credentials>,
}

impl HandedCredentials {
    /// A provider that reads `slot` at every request and falls back on `configured`.
    pub fn new(slot: &'static HandedSlot, configured: Option<Credentials>) -> Self {
        HandedCredentials { slot, configured }
    }

    /// Whether it has credentials at all (handed in, or from the configuration).
    pub fn is_set(&self) -> bool {
        self.configured.is_some() || self.slot.lock().is_some()
    }
}

impl ProvideCredentials for HandedCredentials {
    /// The handed-in credentials, else the configured ones, unless they have expired.
    ///
    /// # Errors
    /// [`CredentialsError::Rejected`] when they expired (their expiration is not after `now`,
    /// or `force_refresh`: KMS said so); [`CredentialsError::NotFound`] when there are none.
    fn credentials(
        &self,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<Credentials, CredentialsError> {
        let handed = self.slot.lock();
        // Unreachable after a successful `configure`, which needs one or the other.
        let Some(current) = handed.as_ref().or(self.configured.as_ref()) else {
            return Err(CredentialsError::NotFound {
                tried: alloc::vec::Vec::new(),
            });
        };
        match expired(current, now, force_refresh) {
            Some(reason) => Err(CredentialsError::Rejected(SourceFailure {
                source: SOURCE,
                reason,
                tried_before: alloc::vec::Vec::new(),
            })),
            None => Ok(current.clone()),
        }
    }
}

impl core::fmt::Debug for HandedCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandedCredentials")
            .field("configured", &self.configured)
            .finish_non_exhaustive()
    }
}

/// Why `credentials` cannot be used at `now`, if they cannot: their expiration is not after
/// `now`, or `kms_said_expired` (KMS answered `ExpiredTokenException`). One line that names
/// the access key (never the secret or the token) and tells the host what to do.
pub fn expired(
    credentials: &Credentials,
    now: Timestamp,
    kms_said_expired: bool,
) -> Option<String> {
    let id = credentials.access_key_id();
    let what = if kms_said_expired {
        format!(
            "kms rejected the session token of access key {id} as expired (ExpiredTokenException)"
        )
    } else {
        let at = credentials.expires_at()?.as_secs();
        if at > now.as_secs() {
            return None;
        }
        format!(
            "the credentials of access key {id} expired at {at} (unix seconds; it is now {})",
            now.as_secs()
        )
    };
    Some(what + ADVICE)
}

/// What the host does about expired credentials (the end of every such error).
pub const ADVICE: &str = ": hand fresh credentials to set-credentials and call again";

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    static SLOT: HandedSlot = spin::Mutex::new(None);

    fn creds(id: &str, expires_at: Option<u64>) -> Credentials {
        Credentials::new(
            id,
            "SECRETVALUE",
            Some("TOKENVALUE".into()),
            expires_at.map(Timestamp),
        )
    }

    #[test]
    fn handed_credentials_win_and_expire() {
        let provider = HandedCredentials::new(&SLOT, Some(creds("AKIDCONFIG", None)));
        assert!(provider.is_set());
        let now = Timestamp(1_000);
        assert_eq!(
            provider.credentials(now, false).unwrap().access_key_id(),
            "AKIDCONFIG"
        );

        *SLOT.lock() = Some(creds("ASIAHANDED", Some(1_001)));
        assert_eq!(
            provider.credentials(now, false).unwrap().access_key_id(),
            "ASIAHANDED"
        );
        // From the second of expiry on: rejected, naming the key, never the secret or token.
        let err = provider.credentials(Timestamp(1_001), false).unwrap_err();
        let CredentialsError::Rejected(failure) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(failure.source, SOURCE);
        let text = err.to_string();
        assert!(text.contains("ASIAHANDED expired at 1001"), "{text}");
        assert!(text.contains("set-credentials"), "{text}");
        assert!(!text.contains("VALUE"), "{text}");

        // KMS said the token expired: the same credentials are not sent again.
        let err = provider.credentials(now, true).unwrap_err();
        assert!(err.to_string().contains("ExpiredTokenException"), "{err}");
        *SLOT.lock() = None;

        let none = HandedCredentials::new(&SLOT, None);
        assert!(!none.is_set());
        assert!(matches!(
            none.credentials(now, false),
            Err(CredentialsError::NotFound { .. })
        ));
    }
}
