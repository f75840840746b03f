//! The AWS KMS seal, sans-IO: what Vault's `awskms` wrapper (go-kms-wrapping v2) does, with
//! the network, the clock, randomness and sleeping supplied by the caller.
//!
//! - [`Seal::init`] calls `DescribeKey` (unless `key_not_required`) and keeps the key ARN.
//! - [`Seal::encrypt`] makes a fresh 32-byte data key and 12-byte IV, seals the plaintext with
//!   AES-256-GCM (mechanism 1, `AwsKmsEnvelopeAesGcmEncrypt`), wraps the data key with KMS
//!   `Encrypt` under the configured key id, and records the key ARN KMS answered with.
//! - [`Seal::decrypt`] opens mechanism 1 blobs (KMS `Decrypt` of the wrapped key, then
//!   AES-GCM) and mechanism 0 blobs (KMS `Decrypt` of the ciphertext itself). `Decrypt` sends
//!   only the ciphertext (and any configured encryption context and grant tokens), so KMS
//!   finds the key: data sealed under an alias's old key stays readable after the alias moves.
//! - [`Seal::key_id`] is the current key ARN; [`Seal::is_up_to_date`] says whether a blob was
//!   made with it (otherwise rewrap it, see [`Seal::rewrap`]). Like Vault, the current ARN
//!   follows what `Encrypt` returns, so it moves on when the configured alias moves.
//!
//! Every KMS call builds its body once, then for each attempt gets credentials (forcing a
//! refresh after `ExpiredTokenException`), signs with SigV4 at `now + clock correction`, sends
//! through the [`Transport`], and lets the [`RetryPolicy`] decide: back off with
//! [`Runtime::sleep_ms`], refresh credentials, correct the clock, or give up.
//!
//! All methods of an initialised seal take `&self`: one seal can serve many threads
//! (`Seal` is `Sync` when the transport, credentials and runtime are). Data keys, request
//! bodies holding them and decrypted plaintexts are zeroized; `Debug` never shows them.
//!
//! The files: `runtime` (what the caller supplies besides the network), `settings`, `stats`,
//! `key_id` (the current key ARN, shared between threads), `kms_call` (one KMS call: sign,
//! send, retry), `signing_key_cache` and `error`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zeroize::{Zeroize, Zeroizing};

use crate::credentials::ProvideCredentials;
use crate::envelope::aead::{self, DataKey, Iv};
use crate::envelope::{BlobInfo, KeyInfo, Mechanism, StoredValue};
use crate::http::Transport;
use crate::kms::{
    self, DecryptRequest, DescribeKeyRequest, EncryptRequest, EncryptResponse, KeyMetadata,
    Operation, RequestError,
};
use crate::retry::RetryPolicy;

mod error;
mod key_id;
mod kms_call;
mod runtime;
mod settings;
mod signing_key_cache;
mod stats;

pub use error::{ErrorKind, IntegrityError, SealError};
pub use runtime::{RandomError, Runtime};
pub use settings::SealSettings;
pub use stats::SealStats;

use key_id::KeyIdSlot;
use signing_key_cache::SigningKeyCache;
use stats::Counters;

/// Length of the data keys the seal makes (AES-256).
pub const DATA_KEY_LEN: usize = aead::KEY_LEN;
/// Length of the AES-GCM IVs the seal makes.
pub const IV_LEN: usize = aead::IV_LEN;

/// The AWS KMS seal over a transport, a credentials provider and a runtime.
pub struct Seal<T: Transport, C: ProvideCredentials, R: Runtime> {
    settings: SealSettings,
    transport: T,
    credentials: C,
    runtime: R,
    retry: RetryPolicy,
    current_key: KeyIdSlot,
    counters: Counters,
    signing_keys: SigningKeyCache,
}

impl<T: Transport, C: ProvideCredentials, R: Runtime> Seal<T, C, R> {
    /// A seal; nothing is sent until [`init`](Self::init) or the first operation.
    pub fn new(settings: SealSettings, transport: T, credentials: C, runtime: R) -> Self {
        let current_key = KeyIdSlot::new(&settings.key_id);
        Seal {
            retry: RetryPolicy::new(settings.retry),
            settings,
            transport,
            credentials,
            runtime,
            current_key,
            counters: Counters::default(),
            signing_keys: SigningKeyCache::default(),
        }
    }

    /// Start-up, as Vault does it: `DescribeKey` on the configured key id (skipped with
    /// `key_not_required`) and remember the key ARN as the current key.
    ///
    /// # Errors
    /// Whatever [`describe_key`](Self::describe_key) returns, and
    /// [`SealError::KeyUnusable`] when the key is disabled, not for encryption or not
    /// symmetric.
    pub fn init(&mut self) -> Result<(), SealError> {
        if self.settings.key_not_required {
            return Ok(());
        }
        let metadata = self.describe_key()?;
        if let Some(reason) = metadata.unusable_reason() {
            return Err(SealError::KeyUnusable {
                key_id: String::from(metadata.arn_or_key_id()),
                reason,
            });
        }
        self.current_key.store(metadata.arn_or_key_id());
        Ok(())
    }

    /// `DescribeKey` on the configured key id.
    ///
    /// # Errors
    /// [`SealError`] of kind configuration (bad key id or grant tokens), credentials, kms
    /// (service error after retries, malformed response) or transport.
    pub fn describe_key(&self) -> Result<KeyMetadata, SealError> {
        let body = DescribeKeyRequest {
            key_id: &self.settings.key_id,
            grant_tokens: &self.settings.grant_tokens,
        }
        .to_body()
        .map_err(SealError::Request)?;
        let response = self.call(Operation::DescribeKey, body)?;
        Ok(KeyMetadata::parse(&response.body)?)
    }

    /// Seals `plaintext` as mechanism 1: AES-256-GCM under a fresh data key (with `aad` as
    /// additional data), the data key wrapped by KMS `Encrypt`. The returned blob's
    /// `key_info.key_id` is the key ARN KMS used, which also becomes [`key_id`](Self::key_id).
    ///
    /// # Errors
    /// [`SealError::Random`] when no randomness could be had; otherwise as for
    /// [`describe_key`](Self::describe_key).
    pub fn encrypt(&self, plaintext: &[u8], aad: Option<&[u8]>) -> Result<BlobInfo, SealError> {
        // Data key and IV from one draw: each call to the random source may be a system call.
        let mut random = Zeroizing::new([0u8; DATA_KEY_LEN + IV_LEN]);
        self.runtime.fill_random(&mut random[..])?;
        let mut key_bytes = Zeroizing::new([0u8; DATA_KEY_LEN]);
        key_bytes.copy_from_slice(&random[..DATA_KEY_LEN]);
        let data_key = DataKey::from_bytes(*key_bytes);
        key_bytes.zeroize();
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&random[DATA_KEY_LEN..]);
        drop(random);
        let ciphertext = aead::seal(&data_key, &Iv::from_bytes(iv), plaintext, aad);

        let mut body = EncryptRequest {
            key_id: &self.settings.key_id,
            plaintext: data_key.as_bytes(),
            encryption_context: &self.settings.encryption_context,
            grant_tokens: &self.settings.grant_tokens,
            encryption_algorithm: None,
        }
        .to_body()
        .map_err(SealError::Request)?;
        drop(data_key);
        let response = self.call(Operation::Encrypt, core::mem::take(&mut *body))?;
        let wrapped = EncryptResponse::parse(&response.body)?;
        self.current_key.store(&wrapped.key_id);
        Ok(BlobInfo {
            ciphertext,
            iv: iv.to_vec(),
            key_info: Some(KeyInfo {
                mechanism: Mechanism::EnvelopeAesGcm.as_u64(),
                key_id: wrapped.key_id,
                wrapped_key: wrapped.ciphertext_blob,
                ..KeyInfo::default()
            }),
            ..BlobInfo::default()
        })
    }

    /// Opens a blob made by this seal or by Vault's AWS KMS seal: mechanism 1 (envelope,
    /// `aad` must match what it was sealed with) or mechanism 0 (KMS ciphertext of the value
    /// itself; `aad` is not used, as in Vault).
    ///
    /// # Errors
    /// [`SealError::Integrity`] when the blob is malformed, its data key is not 32 bytes, or
    /// AES-GCM authentication fails (wrong `aad`, altered data); otherwise as for
    /// [`describe_key`](Self::describe_key).
    pub fn decrypt(
        &self,
        blob: &BlobInfo,
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        match blob.mechanism() {
            Mechanism::AwsKmsEncrypt => {
                if blob.ciphertext.is_empty() {
                    return Err(IntegrityError::MissingCiphertext.into());
                }
                self.kms_decrypt(&blob.ciphertext)
            }
            Mechanism::EnvelopeAesGcm => {
                let wrapped_key = blob
                    .key_info
                    .as_ref()
                    .map(|k| k.wrapped_key.as_slice())
                    .filter(|k| !k.is_empty())
                    .ok_or(IntegrityError::MissingWrappedKey)?;
                let iv = Iv::from_slice(&blob.iv)
                    .map_err(|_| IntegrityError::IvLength(blob.iv.len()))?;
                let key_bytes = self.kms_decrypt(wrapped_key)?;
                let data_key = DataKey::from_slice(&key_bytes)
                    .map_err(|_| IntegrityError::DataKeyLength(key_bytes.len()))?;
                drop(key_bytes);
                aead::open(&data_key, &iv, &blob.ciphertext, aad)
                    .map_err(|_| IntegrityError::Authentication.into())
            }
            Mechanism::Other(m) => Err(IntegrityError::UnsupportedMechanism(m).into()),
        }
    }

    /// Opens a whole stored value: a bare blob as [`decrypt`](Self::decrypt) does; in a
    /// `multiwrapvalue:1` entry the AWS KMS slots ([`BlobInfo::is_aws_kms`]), the current
    /// key's first, until one opens. Other seals' slots are never sent to KMS.
    ///
    /// # Errors
    /// [`IntegrityError::NoAwsKmsSlot`] when a framed value has no AWS KMS slot; otherwise the
    /// error of the last slot tried, as for [`decrypt`](Self::decrypt).
    pub fn decrypt_value(
        &self,
        value: &StoredValue,
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        match value {
            StoredValue::Bare(blob) => self.decrypt(blob, aad),
            StoredValue::Multi(multi) => {
                let kms_slots = || multi.slots.iter().filter(|b| b.is_aws_kms());
                let current = kms_slots().filter(|b| self.is_up_to_date(b));
                let older = kms_slots().filter(|b| !self.is_up_to_date(b));
                let mut last = SealError::Integrity(IntegrityError::NoAwsKmsSlot);
                for blob in current.chain(older) {
                    match self.decrypt(blob, aad) {
                        Ok(plaintext) => return Ok(plaintext),
                        Err(error) => last = error,
                    }
                }
                Err(last)
            }
        }
    }

    /// Whether a stored value needs no rewrap: the bare blob, or every AWS KMS slot of a
    /// `multiwrapvalue:1` entry, is sealed under the current key. A framed value without AWS
    /// KMS slots is not this seal's to rewrap and counts as up to date.
    pub fn is_value_up_to_date(&self, value: &StoredValue) -> bool {
        match value {
            StoredValue::Bare(blob) => self.is_up_to_date(blob),
            StoredValue::Multi(multi) => multi
                .slots
                .iter()
                .filter(|b| b.is_aws_kms())
                .all(|b| self.is_up_to_date(b)),
        }
    }

    /// Seals every blob of `value` that is not under the current key again under it, keeping
    /// the value's form (framing, generation, other seals' slots). Returns whether anything
    /// changed.
    ///
    /// # Errors
    /// As [`rewrap`](Self::rewrap); `value` is unchanged on error.
    pub fn rewrap_value(
        &self,
        value: &mut StoredValue,
        aad: Option<&[u8]>,
    ) -> Result<bool, SealError> {
        let mut slots: Vec<&mut BlobInfo> = match value {
            StoredValue::Bare(blob) => alloc::vec![blob],
            StoredValue::Multi(multi) => {
                multi.slots.iter_mut().filter(|b| b.is_aws_kms()).collect()
            }
        };
        let mut fresh = Vec::new();
        for (i, blob) in slots.iter().enumerate() {
            if !self.is_up_to_date(blob) {
                fresh.push((i, self.rewrap(blob, aad)?));
            }
        }
        let changed = !fresh.is_empty();
        for (i, blob) in fresh {
            *slots[i] = blob;
        }
        Ok(changed)
    }

    /// Decrypts `blob` and seals the plaintext again under the current key (same `aad`).
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt) and [`encrypt`](Self::encrypt).
    pub fn rewrap(&self, blob: &BlobInfo, aad: Option<&[u8]>) -> Result<BlobInfo, SealError> {
        let plaintext = self.decrypt(blob, aad)?;
        self.encrypt(&plaintext, aad)
    }

    /// The current key ARN: from `DescribeKey` at [`init`](Self::init), then from each
    /// `Encrypt` response. The configured key id before that (or with `key_not_required`).
    pub fn key_id(&self) -> String {
        self.current_key.to_owned_string()
    }

    /// Whether `blob` was sealed with the current key (its `key_info.key_id` equals
    /// [`key_id`](Self::key_id)). Blobs without a key id (old mechanism 0 data) are not.
    pub fn is_up_to_date(&self, blob: &BlobInfo) -> bool {
        blob.key_id().is_some_and(|id| self.current_key.equals(id))
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The credentials provider.
    pub fn credentials(&self) -> &C {
        &self.credentials
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// The settings.
    pub fn settings(&self) -> &SealSettings {
        &self.settings
    }

    /// The retry policy (budget left, clock correction).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Counters of calls, attempts and retries.
    pub fn stats(&self) -> SealStats {
        self.counters.snapshot()
    }

    fn kms_decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let body = DecryptRequest {
            ciphertext_blob: ciphertext,
            encryption_context: &self.settings.encryption_context,
            grant_tokens: &self.settings.grant_tokens,
            key_id: None,
            encryption_algorithm: None,
        }
        .to_body()
        .map_err(|e| match e {
            RequestError::CiphertextLength(n) => IntegrityError::CiphertextLength(n).into(),
            other => SealError::Request(other),
        })?;
        let mut response = self.call(Operation::Decrypt, body)?;
        let parsed = kms::DecryptResponse::parse(&response.body);
        response.body.zeroize();
        Ok(parsed?.plaintext)
    }
}

impl<T: Transport, C: ProvideCredentials, R: Runtime> fmt::Debug for Seal<T, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seal")
            .field("settings", &self.settings)
            .field("key_id", &self.current_key.to_owned_string())
            .field("stats", &self.stats())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
