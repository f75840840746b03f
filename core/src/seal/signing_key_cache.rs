//! The signing key of the latest call, kept for the next.

use alloc::string::String;
use zeroize::Zeroizing;

use crate::kms;
use crate::sigv4::{SigningError, SigningKey};

/// The signing key of the latest call, reused while the secret, the date and the region stay
/// the same: deriving it costs four HMACs, as much as signing a request.
///
/// Only ever `try_lock`ed: a thread that finds it busy derives the key itself, so callers
/// never wait on each other. The copy of the secret it compares with is zeroized on drop, like
/// the key.
#[derive(Default)]
pub(super) struct SigningKeyCache {
    slot: spin::Mutex<Option<CachedSigningKey>>,
}

struct CachedSigningKey {
    secret: Zeroizing<String>,
    key: SigningKey,
}

impl SigningKeyCache {
    pub(super) fn get(
        &self,
        secret: &str,
        date: &[u8; 8],
        region: &str,
    ) -> Result<SigningKey, SigningError> {
        if let Some(slot) = self.slot.try_lock()
            && let Some(cached) = slot.as_ref()
            && cached.key.is_for(date, region, kms::SERVICE)
            && cached.secret.as_str() == secret
        {
            return Ok(cached.key.clone());
        }
        let key = SigningKey::derive(secret, date, region, kms::SERVICE)?;
        if let Some(mut slot) = self.slot.try_lock() {
            *slot = Some(CachedSigningKey {
                secret: Zeroizing::new(String::from(secret)),
                key: key.clone(),
            });
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: [u8; 8] = *b"20261129";

    fn cached_secret(cache: &SigningKeyCache) -> Option<String> {
        let slot = cache.slot.try_lock().expect("not held between calls");
        slot.as_ref().map(|c| c.secret.as_str().into())
    }

    #[test]
    fn signing_key_cache_returns_the_key_derive_gives_and_follows_the_secret() {
        let cache = SigningKeyCache::default();
        let derived = |secret, date: &[u8; 8], region| {
            *SigningKey::derive(secret, date, region, kms::SERVICE)
                .unwrap()
                .as_bytes()
        };
        for _ in 0..2 {
            let key = cache.get("secret-a", &DATE, "us-east-1").unwrap();
            assert_eq!(*key.as_bytes(), derived("secret-a", &DATE, "us-east-1"));
        }
        assert_eq!(cached_secret(&cache).as_deref(), Some("secret-a"));

        // Refreshed credentials, the next day, another region: each is a new key.
        let key = cache.get("secret-b", &DATE, "us-east-1").unwrap();
        assert_eq!(*key.as_bytes(), derived("secret-b", &DATE, "us-east-1"));
        assert_eq!(cached_secret(&cache).as_deref(), Some("secret-b"));
        let key = cache.get("secret-b", b"20261130", "us-east-1").unwrap();
        assert!(key.is_for(b"20261130", "us-east-1", kms::SERVICE));
        let key = cache.get("secret-b", b"20261130", "eu-west-1").unwrap();
        assert_eq!(
            *key.as_bytes(),
            derived("secret-b", b"20261130", "eu-west-1")
        );
    }

    #[test]
    fn signing_key_cache_derives_without_waiting_when_busy() {
        let cache = SigningKeyCache::default();
        let held = cache.slot.try_lock().unwrap();
        let key = cache.get("secret-a", &DATE, "us-east-1").unwrap();
        assert!(key.is_for(&DATE, "us-east-1", kms::SERVICE));
        drop(held);
        assert_eq!(
            cached_secret(&cache),
            None,
            "a busy cache is left as it was"
        );
    }

    #[test]
    fn signing_key_cache_rejects_what_derive_rejects() {
        let cache = SigningKeyCache::default();
        assert!(cache.get("", &DATE, "us-east-1").is_err());
        assert!(cache.get("secret", &DATE, "no/slash").is_err());
        assert_eq!(cached_secret(&cache), None);
    }
}
