//! AWS credentials as owned values, and the trait through which the seal asks for them.
//!
//! Where credentials come from (static config, environment, shared files, STS, containers,
//! instance metadata) is the transport crates' business; the core only needs the current set.

use alloc::string::String;
use alloc::vec::Vec;
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

/// Why no credentials could be had. `Display` is one lower-case line that names the source(s)
/// and what to do; it never holds a secret (sources report names, paths and status codes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsError {
    /// No source is set up here: each source tried, in order, and why it was not used.
    NotFound {
        /// Every source tried.
        tried: Vec<SourceAttempt>,
    },
    /// A source is set up but its settings are wrong or incomplete (half of a key pair, a
    /// missing profile, an unreadable token file, an endpoint that is not allowed).
    Misconfigured(SourceFailure),
    /// A source could not be reached or did not answer in time.
    Unreachable(SourceFailure),
    /// A source answered with an error (an HTTP error status, no role attached).
    Rejected(SourceFailure),
    /// A source answered with a document that holds no usable credentials.
    MalformedResponse(SourceFailure),
}

/// A source that was tried and gave no credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceAttempt {
    /// The source's name (`environment`, `shared files`, `instance metadata`, ...).
    pub source: &'static str,
    /// Why it gave nothing; never a secret.
    pub reason: String,
}

/// The source that failed, stopping the search, and the sources tried before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFailure {
    /// The source's name.
    pub source: &'static str,
    /// What went wrong and what to check; never a secret.
    pub reason: String,
    /// The sources tried before it, which were not set up.
    pub tried_before: Vec<SourceAttempt>,
}

impl CredentialsError {
    /// The failing source, for every variant but [`CredentialsError::NotFound`].
    pub fn failure(&self) -> Option<&SourceFailure> {
        match self {
            CredentialsError::NotFound { .. } => None,
            CredentialsError::Misconfigured(f)
            | CredentialsError::Unreachable(f)
            | CredentialsError::Rejected(f)
            | CredentialsError::MalformedResponse(f) => Some(f),
        }
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failure = match self {
            CredentialsError::NotFound { tried } => {
                f.write_str("no aws credentials found; tried")?;
                write_attempts(f, tried)?;
                return f.write_str(
                    "; set access_key/secret_key, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a \
                     shared credentials profile, or run with an instance or task role",
                );
            }
            CredentialsError::Misconfigured(failure)
            | CredentialsError::Unreachable(failure)
            | CredentialsError::Rejected(failure)
            | CredentialsError::MalformedResponse(failure) => failure,
        };
        // The reason says what to check: the sources' texts end with their own advice.
        write!(
            f,
            "aws credentials from {} failed: {}",
            failure.source, failure.reason
        )?;
        if !failure.tried_before.is_empty() {
            f.write_str(" (tried before it:")?;
            write_attempts(f, &failure.tried_before)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// ` a: why; b: why`.
fn write_attempts(f: &mut fmt::Formatter<'_>, attempts: &[SourceAttempt]) -> fmt::Result {
    for (i, a) in attempts.iter().enumerate() {
        let sep = if i == 0 { " " } else { "; " };
        write!(f, "{sep}{}: {}", a.source, a.reason)?;
    }
    Ok(())
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
    use alloc::string::ToString;

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

    #[test]
    fn errors_are_one_line_naming_the_sources() {
        let attempt = |source, reason: &str| SourceAttempt {
            source,
            reason: reason.into(),
        };
        let none = CredentialsError::NotFound {
            tried: alloc::vec![
                attempt("environment", "not set"),
                attempt("profile", "no file")
            ],
        };
        assert_eq!(
            none.to_string(),
            "no aws credentials found; tried environment: not set; profile: no file; set \
             access_key/secret_key, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a shared \
             credentials profile, or run with an instance or task role"
        );
        assert_eq!(none.failure(), None);

        let failure = SourceFailure {
            source: "container",
            reason: "endpoint not reachable: connection refused".into(),
            tried_before: alloc::vec![attempt("environment", "not set")],
        };
        let e = CredentialsError::Unreachable(failure.clone());
        assert_eq!(
            e.to_string(),
            "aws credentials from container failed: endpoint not reachable: connection refused \
             (tried before it: environment: not set)"
        );
        assert_eq!(e.failure(), Some(&failure));
        let alone = CredentialsError::Misconfigured(SourceFailure {
            tried_before: Vec::new(),
            ..failure
        });
        assert!(!alone.to_string().contains("tried before"));
        assert!(!alone.to_string().contains('\n'));
    }
}
