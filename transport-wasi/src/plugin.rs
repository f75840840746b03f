//! The plugin component: the `kms-seal:seal/seal` interface of `wit/seal.wit`, exported from
//! `kms_seal_plugin.wasm`.
//!
//! One seal per component instance, kept in a lock-protected static (a component instance is
//! single-threaded; the lock only satisfies `Sync`). `configure` replaces it; a failed
//! `configure` leaves the instance unconfigured, so no call ever runs with half-applied
//! settings.
//!
//! Credentials handed in with `set-credentials` live in a second static that the seal's
//! provider ([`HandedCredentials`]) reads at every request, so the host can replace them at
//! any time, and they outlive a later `configure`. Expired credentials (by their expiration,
//! or KMS's `ExpiredTokenException`) are the `expired-credentials` error.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_cli::config::{self, LoadError};
use kms_seal_core::credentials::{Credentials, CredentialsError};
use kms_seal_core::envelope::{StoredValue, decode_stored_value};
use kms_seal_core::seal::{ErrorKind, Runtime, SealError};
use kms_seal_core::time::Timestamp;

use crate::environment::Environment;
use crate::handed_credentials::{self, HandedCredentials, HandedSlot};
use crate::runtime::WasiRuntime;
use crate::wasi_seal::{SetupError, WasiSeal, static_credentials};

#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
    });
}

use bindings::exports::kms_seal::seal::seal::{AwsCredentials, Guest, SealError as WitSealError};

/// The configured seal of this instance.
static SEAL: spin::Mutex<Option<WasiSeal<HandedCredentials>>> = spin::Mutex::new(None);

/// The credentials the host handed in with `set-credentials`, if any.
static HANDED: HandedSlot = spin::Mutex::new(None);

/// The exported interface.
pub struct Plugin;

impl Guest for Plugin {
    fn configure(settings: Vec<(String, String)>) -> Result<(), WitSealError> {
        let mut slot = SEAL.lock();
        *slot = None;
        *slot = Some(configure(&settings, &Environment::from_host(), &HANDED)?);
        Ok(())
    }

    fn set_credentials(credentials: AwsCredentials) -> Result<(), WitSealError> {
        let credentials = handed(credentials, WasiRuntime.now())?;
        *HANDED.lock() = Some(credentials);
        Ok(())
    }

    fn encrypt(plaintext: Vec<u8>, aad: Option<Vec<u8>>) -> Result<Vec<u8>, WitSealError> {
        let plaintext = zeroize::Zeroizing::new(plaintext);
        let slot = SEAL.lock();
        let seal = configured(&slot)?;
        let blob = seal
            .seal()
            .encrypt(&plaintext, aad.as_deref())
            .map_err(|e| seal_error(&e))?;
        Ok(StoredValue::Bare(blob).encode())
    }

    fn decrypt(value: Vec<u8>, aad: Option<Vec<u8>>) -> Result<Vec<u8>, WitSealError> {
        let slot = SEAL.lock();
        let seal = configured(&slot)?;
        let decoded = decode_value(&value)?;
        let plaintext = seal
            .decrypt_value(&decoded, aad.as_deref())
            .map_err(|e| seal_error(&e))?;
        // The host takes ownership of the returned list; the zeroizing copy is wiped here.
        Ok(plaintext.to_vec())
    }

    fn key_id() -> String {
        SEAL.lock()
            .as_ref()
            .map(|s| s.seal().key_id())
            .unwrap_or_default()
    }

    fn is_up_to_date(value: Vec<u8>) -> bool {
        let slot = SEAL.lock();
        match (slot.as_ref(), decode_stored_value(&value)) {
            (Some(seal), Ok(decoded)) => seal.is_value_up_to_date(&decoded),
            _ => false,
        }
    }
}

/// Parses the settings, builds the seal (credentials from `slot`, else the configuration) and
/// runs Vault's start-up `DescribeKey`.
fn configure(
    settings: &[(String, String)],
    env: &Environment,
    slot: &'static HandedSlot,
) -> Result<WasiSeal<HandedCredentials>, WitSealError> {
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let lookup = |name: &str| env.lookup(name);
    let config = config::from_settings(&settings, &lookup, None).map_err(|e| load_error(&e))?;
    let seal_settings = WasiSeal::settings(&config, env).map_err(|e| setup_error(&e))?;
    let configured = match static_credentials(&config) {
        Ok(credentials) => Some(credentials),
        Err(SetupError::NoCredentials { .. }) if slot.lock().is_some() => None,
        Err(e) => return Err(setup_error(&e)),
    };
    let mut seal = WasiSeal::new(seal_settings, HandedCredentials::new(slot, configured));
    seal.init().map_err(|e| seal_error(&e))?;
    Ok(seal)
}

/// Checks credentials handed in at `now`: a key pair, not yet expired. An empty session token
/// means none (as an empty AWS_SESSION_TOKEN does).
fn handed(credentials: AwsCredentials, now: Timestamp) -> Result<Credentials, WitSealError> {
    // Into `Credentials` first, which zeroizes the secret and the token when dropped.
    let credentials = Credentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        credentials.session_token.filter(|t| !t.is_empty()),
        credentials.expiration.map(Timestamp),
    );
    if credentials.access_key_id().is_empty() || credentials.secret_access_key().is_empty() {
        return Err(WitSealError::Credentials(
            "set-credentials needs a non-empty access-key-id and secret-access-key".into(),
        ));
    }
    match handed_credentials::expired(&credentials, now, false) {
        Some(reason) => Err(WitSealError::ExpiredCredentials(reason)),
        None => Ok(credentials),
    }
}

fn configured(
    slot: &Option<WasiSeal<HandedCredentials>>,
) -> Result<&WasiSeal<HandedCredentials>, WitSealError> {
    slot.as_ref().ok_or_else(|| {
        WitSealError::Configuration(
            "the seal is not configured: call configure with the seal \"awskms\" settings first"
                .into(),
        )
    })
}

fn decode_value(value: &[u8]) -> Result<kms_seal_core::envelope::DecodedValue, WitSealError> {
    if value.is_empty() {
        return Err(WitSealError::Integrity(
            "the value is empty; pass a stored value (a BlobInfo or a multiwrapvalue:1 entry)"
                .into(),
        ));
    }
    decode_stored_value(value).map_err(|e| {
        WitSealError::Integrity(alloc::format!(
            "the value is not a Vault seal-wrapped value ({e}); pass the raw stored bytes"
        ))
    })
}

/// The WIT error for a core error: the same kind, the same one-line message; expired
/// credentials (the provider's only failure once it holds some, or KMS's own answer when it
/// came without a refresh) are `expired-credentials`.
fn seal_error(error: &SealError) -> WitSealError {
    match error {
        SealError::Credentials(CredentialsError::Rejected(failure))
            if failure.source == handed_credentials::SOURCE =>
        {
            return WitSealError::ExpiredCredentials(failure.reason.clone());
        }
        SealError::Kms { error, .. }
            if matches!(error.code(), Some("ExpiredTokenException" | "ExpiredToken")) =>
        {
            return WitSealError::ExpiredCredentials(
                error.to_string() + handed_credentials::ADVICE,
            );
        }
        _ => {}
    }
    let message = error.to_string();
    match error.kind() {
        ErrorKind::Credentials => WitSealError::Credentials(message),
        ErrorKind::Kms => WitSealError::Kms(message),
        ErrorKind::Integrity => WitSealError::Integrity(message),
        ErrorKind::Transport => WitSealError::Transport(message),
        // Settings, key state and the host's random source: all fixed by configuration.
        _ => WitSealError::Configuration(message),
    }
}

fn setup_error(error: &SetupError) -> WitSealError {
    let message = error.to_string();
    match error {
        SetupError::NoCredentials { .. } => {
            WitSealError::Credentials(message + ", or call set-credentials")
        }
        SetupError::UnresolvedSecret(_) => WitSealError::Credentials(message),
        _ => WitSealError::Configuration(message),
    }
}

/// Reference errors are the credentials' problem; the rest is configuration.
fn load_error(error: &LoadError) -> WitSealError {
    let message = error.to_string();
    match error {
        LoadError::SecretEnvUnset { .. }
        | LoadError::SecretFileRead { .. }
        | LoadError::SecretFileInvalid { .. }
        | LoadError::SecretFileUnsupported { .. } => WitSealError::Credentials(message),
        _ => WitSealError::Configuration(message),
    }
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod export {
    use super::{Plugin, bindings};

    bindings::export!(Plugin with_types_in bindings);
}

#[cfg(test)]
mod tests {
    use super::*;

    static NOTHING_HANDED: HandedSlot = spin::Mutex::new(None);

    #[test]
    fn configure_errors_keep_their_kind() {
        let env = Environment::default();
        let configure = |settings: &[(String, String)], env: &Environment| {
            configure(settings, env, &NOTHING_HANDED)
        };
        let settings = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        match configure(&settings(&[("region", "eu-west-1")]), &env) {
            Err(WitSealError::Configuration(m)) => assert!(m.contains("kms_key_id"), "{m}"),
            other => panic!("{other:?}"),
        }
        match configure(&settings(&[("kms_key_id", "alias/k")]), &env) {
            Err(WitSealError::Credentials(m)) => {
                assert!(m.contains("AWS_ACCESS_KEY_ID"), "{m}");
                assert!(m.contains("set-credentials"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        match configure(
            &settings(&[("kms_key_id", "alias/k"), ("disallow_env_vars", "maybe")]),
            &env,
        ) {
            Err(WitSealError::Configuration(m)) => assert!(m.contains("disallow_env_vars"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unconfigured_and_undecodable_values() {
        assert!(matches!(
            configured(&None),
            Err(WitSealError::Configuration(m)) if m.contains("configure")
        ));
        assert!(matches!(decode_value(b""), Err(WitSealError::Integrity(_))));
        assert!(matches!(
            decode_value(b"\xff\xff\xff"),
            Err(WitSealError::Integrity(m)) if m.contains("not a Vault")
        ));
    }

    fn aws_credentials(
        id: &str,
        secret: &str,
        token: Option<&str>,
        expiration: Option<u64>,
    ) -> AwsCredentials {
        AwsCredentials {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: token.map(Into::into),
            expiration,
        }
    }

    #[test]
    fn handed_credentials_need_a_key_pair_and_a_future_expiration() {
        let now = Timestamp(1_700_000_000);
        let c = handed(
            aws_credentials("ASIAX", "SECRETVALUE", Some("TOKENVALUE"), Some(now.0 + 1)),
            now,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "ASIAX");
        assert_eq!(c.secret_access_key(), "SECRETVALUE");
        assert_eq!(c.session_token(), Some("TOKENVALUE"));
        assert_eq!(c.expires_at(), Some(Timestamp(now.0 + 1)));
        let c = handed(aws_credentials("AKIAX", "S", Some(""), None), now).unwrap();
        assert_eq!(c.session_token(), None);

        for (id, secret) in [("", "S"), ("AKIAX", "")] {
            match handed(aws_credentials(id, secret, None, None), now) {
                Err(WitSealError::Credentials(m)) => assert!(m.contains("non-empty"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        match handed(
            aws_credentials("ASIAOLD", "SECRETVALUE", Some("TOKENVALUE"), Some(now.0)),
            now,
        ) {
            Err(WitSealError::ExpiredCredentials(m)) => {
                assert!(m.contains("ASIAOLD expired at 1700000000"), "{m}");
                assert!(!m.contains("VALUE"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expired_tokens_are_their_own_error_and_request_expired_is_not() {
        use kms_seal_core::http::Response;
        use kms_seal_core::kms::{Operation, ServiceError};
        use kms_seal_core::retry::GiveUpReason;

        let kms = |code: &str| SealError::Kms {
            error: ServiceError::from_response(
                Operation::Encrypt,
                &Response {
                    status: 400,
                    headers: Vec::new(),
                    body: alloc::format!(r#"{{"__type":"{code}","message":"m"}}"#).into_bytes(),
                },
            ),
            attempts: 1,
            reason: GiveUpReason::NotRetryable,
        };
        for code in ["ExpiredTokenException", "ExpiredToken"] {
            match seal_error(&kms(code)) {
                WitSealError::ExpiredCredentials(m) => {
                    assert!(m.contains(code) && m.contains("set-credentials"), "{m}")
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(
            seal_error(&kms("UnrecognizedClientException")),
            WitSealError::Credentials(_)
        ));
        assert!(matches!(
            seal_error(&kms("RequestExpired")),
            WitSealError::Configuration(_)
        ));

        let provider = HandedCredentials::new(&NOTHING_HANDED, None);
        let none = kms_seal_core::credentials::ProvideCredentials::credentials(
            &provider,
            Timestamp(0),
            false,
        )
        .unwrap_err();
        assert!(matches!(
            seal_error(&SealError::Credentials(none)),
            WitSealError::Credentials(_)
        ));
        let configured = Credentials::new("ASIAX", "S", None, Some(Timestamp(5)));
        let provider = HandedCredentials::new(&NOTHING_HANDED, Some(configured));
        let expired = kms_seal_core::credentials::ProvideCredentials::credentials(
            &provider,
            Timestamp(5),
            false,
        )
        .unwrap_err();
        match seal_error(&SealError::Credentials(expired)) {
            WitSealError::ExpiredCredentials(m) => assert!(
                m.starts_with("the credentials of access key ASIAX expired"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
