//! The plugin component: the `kms-seal:seal/seal` interface of `wit/seal.wit`, exported from
//! `kms_seal_plugin.wasm`.
//!
//! One seal per component instance, kept in a lock-protected static (a component instance is
//! single-threaded; the lock only satisfies `Sync`). `configure` replaces it; a failed
//! `configure` leaves the instance unconfigured, so no call ever runs with half-applied
//! settings.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kms_seal_cli::config::{self, LoadError};
use kms_seal_core::envelope::{StoredValue, decode_stored_value};
use kms_seal_core::seal::{ErrorKind, SealError};

use crate::environment::Environment;
use crate::wasi_seal::{SetupError, WasiSeal};

#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
    });
}

use bindings::exports::kms_seal::seal::seal::{Guest, SealError as WitSealError};

/// The configured seal of this instance.
static SEAL: spin::Mutex<Option<WasiSeal>> = spin::Mutex::new(None);

/// The exported interface.
pub struct Plugin;

impl Guest for Plugin {
    fn configure(settings: Vec<(String, String)>) -> Result<(), WitSealError> {
        let mut slot = SEAL.lock();
        *slot = None;
        *slot = Some(configure(&settings, &Environment::from_host())?);
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

/// Parses the settings, builds the seal and runs Vault's start-up `DescribeKey`.
fn configure(settings: &[(String, String)], env: &Environment) -> Result<WasiSeal, WitSealError> {
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let lookup = |name: &str| env.lookup(name);
    let config = config::from_settings(&settings, &lookup, None).map_err(|e| load_error(&e))?;
    let mut seal = WasiSeal::from_config(&config, env).map_err(|e| setup_error(&e))?;
    seal.init().map_err(|e| seal_error(&e))?;
    Ok(seal)
}

fn configured(slot: &Option<WasiSeal>) -> Result<&WasiSeal, WitSealError> {
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

/// The WIT error for a core error: the same kind, the same one-line message.
fn seal_error(error: &SealError) -> WitSealError {
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
        SetupError::NoCredentials { .. } | SetupError::UnresolvedSecret(_) => {
            WitSealError::Credentials(message)
        }
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

    #[test]
    fn configure_errors_keep_their_kind() {
        let env = Environment::default();
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
            Err(WitSealError::Credentials(m)) => assert!(m.contains("AWS_ACCESS_KEY_ID"), "{m}"),
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
}
