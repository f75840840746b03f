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

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use zeroize::{Zeroize, Zeroizing};

use crate::credentials::{CredentialsError, ProvideCredentials};
use crate::envelope::aead::{self, DataKey, Iv};
use crate::envelope::{BlobInfo, KeyInfo, Mechanism, StoredValue};
use crate::http::{Response, Transport, TransportError};
use crate::kms::{
    self, DecryptRequest, DescribeKeyRequest, EncryptRequest, EncryptResponse, Endpoint,
    EndpointError, KeyMetadata, MalformedResponse, Operation, RequestError, ServiceError,
};
use crate::retry::{Decision, Failure, GiveUpReason, RetryConfig, RetryPolicy};
use crate::sigv4::{
    self, SignableRequest, SigningError, SigningKey, SigningParams, SigningSettings,
};
use crate::time::Timestamp;

use key_id_slot::KeyIdSlot;

/// Length of the data keys the seal makes (AES-256).
pub const DATA_KEY_LEN: usize = aead::KEY_LEN;
/// Length of the AES-GCM IVs the seal makes.
pub const IV_LEN: usize = aead::IV_LEN;

/// What the seal needs from its environment besides the network: a clock, randomness and a
/// way to wait.
pub trait Runtime {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Fills `buf` with cryptographically secure random bytes.
    ///
    /// # Errors
    /// [`RandomError`] when the random source is unavailable.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// Waits `millis` milliseconds (between retries).
    fn sleep_ms(&self, millis: u64);
}

impl<R: Runtime + ?Sized> Runtime for &R {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill_random(buf)
    }

    fn sleep_ms(&self, millis: u64) {
        (**self).sleep_ms(millis);
    }
}

/// The random source failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomError {
    detail: String,
}

impl RandomError {
    /// An error with `detail` (which source, what it said).
    pub fn new(detail: impl Into<String>) -> Self {
        RandomError {
            detail: detail.into(),
        }
    }

    /// The detail given.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the random source failed ({}): check the platform's entropy source",
            self.detail
        )
    }
}

impl core::error::Error for RandomError {}

/// What the seal is configured with (Vault's `seal "awskms"` stanza, resolved).
#[derive(Clone, PartialEq, Eq)]
pub struct SealSettings {
    /// `kms_key_id`: key id, key ARN, alias name (`alias/vault`) or alias ARN. May be empty
    /// with `key_not_required` (decrypt only).
    pub key_id: String,
    /// Where requests go and the region they are signed for.
    pub endpoint: Endpoint,
    /// Encryption context sent with `Encrypt` and `Decrypt`; empty for none (Vault's default).
    pub encryption_context: Vec<(String, String)>,
    /// Grant tokens sent with every call; empty for none.
    pub grant_tokens: Vec<String>,
    /// Skip `DescribeKey` in [`Seal::init`] (Vault's `key_not_required`).
    pub key_not_required: bool,
    /// Retry settings.
    pub retry: RetryConfig,
}

impl SealSettings {
    /// Settings for `key_id` at `endpoint`, with no context or grant tokens and default
    /// retries.
    pub fn new(key_id: impl Into<String>, endpoint: Endpoint) -> Self {
        SealSettings {
            key_id: key_id.into(),
            endpoint,
            encryption_context: Vec::new(),
            grant_tokens: Vec::new(),
            key_not_required: false,
            retry: RetryConfig::default(),
        }
    }

    /// Settings for `key_id` at the standard KMS endpoint of `region`.
    ///
    /// # Errors
    /// [`EndpointError::InvalidRegion`] when `region` is not a region name.
    pub fn for_region(key_id: impl Into<String>, region: &str) -> Result<Self, EndpointError> {
        Ok(SealSettings::new(key_id, Endpoint::for_region(region)?))
    }
}

impl fmt::Debug for SealSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealSettings")
            .field("key_id", &self.key_id)
            .field("endpoint", &self.endpoint)
            .field("encryption_context", &self.encryption_context)
            .field("grant_tokens", &self.grant_tokens.len())
            .field("key_not_required", &self.key_not_required)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Counters since the seal was made. Snapshot of 32-bit atomics (they wrap after 2^32).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealStats {
    /// KMS calls (operations) started.
    pub calls: u32,
    /// Requests sent (attempts), including retries.
    pub attempts: u32,
    /// Attempts after the first of a call, for any reason.
    pub retries: u32,
    /// Retries that fetched fresh credentials after an expired token.
    pub credential_refreshes: u32,
    /// Retries after correcting the signing clock.
    pub clock_corrections: u32,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU32,
    attempts: AtomicU32,
    retries: AtomicU32,
    credential_refreshes: AtomicU32,
    clock_corrections: AtomicU32,
}

impl Counters {
    fn bump(counter: &AtomicU32) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SealStats {
        SealStats {
            calls: self.calls.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            credential_refreshes: self.credential_refreshes.load(Ordering::Relaxed),
            clock_corrections: self.clock_corrections.load(Ordering::Relaxed),
        }
    }
}

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
        let current_key = KeyIdSlot::new();
        current_key.store(&settings.key_id);
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
        self.current_key.load()
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

    /// One KMS call with retries; returns the 2xx response.
    fn call(&self, operation: Operation, body: Vec<u8>) -> Result<Response, SealError> {
        Counters::bump(&self.counters.calls);
        let mut request = kms::build_request(&self.settings.endpoint, operation, body);
        let unsigned_headers = request.headers.len();
        let mut state = self.retry.start();
        let result = loop {
            state.begin_attempt();
            Counters::bump(&self.counters.attempts);
            request.headers.truncate(unsigned_headers);
            let now = self.runtime.now();
            if let Err(e) = self.sign(&mut request, now, state.force_refresh()) {
                break Err(e);
            }
            let (failure, last_error) = match self.transport.send(&request) {
                Ok(response) if (200..300).contains(&response.status) => {
                    state.on_success();
                    break Ok(response);
                }
                Ok(response) => {
                    let error = ServiceError::from_response(operation, &response);
                    let failure = Failure::from_service_error(&error, &response);
                    (failure, LastError::Service(error))
                }
                Err(error) => (Failure::Transport(error.kind), LastError::Transport(error)),
            };
            let local_now = self.runtime.now();
            match state.on_failure(failure, local_now, self.random_u32()) {
                Decision::Retry { delay_ms } => {
                    Counters::bump(&self.counters.retries);
                    self.runtime.sleep_ms(delay_ms);
                }
                Decision::RefreshCredentialsAndRetry => {
                    Counters::bump(&self.counters.retries);
                    Counters::bump(&self.counters.credential_refreshes);
                }
                Decision::RetryWithCorrectedClock { .. } => {
                    Counters::bump(&self.counters.retries);
                    Counters::bump(&self.counters.clock_corrections);
                }
                Decision::GiveUp(reason) => {
                    let attempts = state.attempts();
                    break Err(match last_error {
                        LastError::Service(error) => SealError::Kms {
                            error,
                            attempts,
                            reason,
                        },
                        LastError::Transport(error) => SealError::Transport {
                            error,
                            attempts,
                            reason,
                        },
                    });
                }
            }
        };
        request.body.zeroize();
        result
    }

    /// Adds the SigV4 headers for an attempt at local time `now`.
    fn sign(
        &self,
        request: &mut crate::http::Request,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<(), SealError> {
        let credentials = self
            .credentials
            .credentials(now, force_refresh)
            .map_err(SealError::Credentials)?;
        let time = self.retry.signing_time(now);
        let region = self.settings.endpoint.signing_region();
        let key =
            self.signing_keys
                .get(credentials.secret_access_key(), &time.date_stamp(), region)?;
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let output = sigv4::sign(
            &SignableRequest {
                method: request.method,
                path: &request.path_and_query,
                query: "",
                headers: &headers,
                body: &request.body,
            },
            &SigningParams {
                access_key_id: credentials.access_key_id(),
                session_token: credentials.session_token(),
                region,
                service: kms::SERVICE,
                time,
                settings: SigningSettings::default(),
            },
            &key,
        )?;
        drop(headers);
        request.headers.extend(
            output
                .headers()
                .map(|(k, v)| (String::from(k), String::from(v))),
        );
        Ok(())
    }

    fn random_u32(&self) -> u32 {
        let mut b = [0u8; 4];
        match self.runtime.fill_random(&mut b) {
            Ok(()) => u32::from_le_bytes(b),
            // Jitter is not security-relevant: without randomness wait half the cap.
            Err(_) => 1 << 31,
        }
    }
}

/// The signing key of the latest call, reused while the secret, the date and the region stay
/// the same: deriving it costs four HMACs, as much as signing a request.
///
/// Only ever `try_lock`ed: a thread that finds it busy derives the key itself, so callers
/// never wait on each other. The copy of the secret it compares with is zeroized on drop, like
/// the key.
#[derive(Default)]
struct SigningKeyCache {
    slot: spin::Mutex<Option<CachedSigningKey>>,
}

struct CachedSigningKey {
    secret: Zeroizing<String>,
    key: SigningKey,
}

impl SigningKeyCache {
    fn get(&self, secret: &str, date: &[u8; 8], region: &str) -> Result<SigningKey, SigningError> {
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

/// The error of the last failed attempt of a call.
enum LastError {
    Service(ServiceError),
    Transport(TransportError),
}

impl<T: Transport, C: ProvideCredentials, R: Runtime> fmt::Debug for Seal<T, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seal")
            .field("settings", &self.settings)
            .field("key_id", &self.current_key.load())
            .field("stats", &self.stats())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The broad kind of a [`SealError`], for callers that map errors to exit codes or metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The settings or the environment are wrong (key id, endpoint, region, context, grant
    /// tokens, key state, a system clock KMS rejects).
    Configuration,
    /// No credentials, or KMS rejected them (bad secret, unknown access key, expired token).
    Credentials,
    /// KMS answered with an error or a malformed response.
    Kms,
    /// The stored value is damaged, or the AAD or encryption context does not match.
    Integrity,
    /// No response could be had (connection, DNS, TLS, timeouts).
    Transport,
    /// The runtime failed (no randomness).
    Runtime,
}

/// Why a seal operation failed. `Display` is lower case and says what to do next; nothing
/// here holds a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum SealError {
    /// The endpoint or region is invalid.
    Endpoint(EndpointError),
    /// A request value is outside what KMS accepts (key id, context, grant tokens).
    Request(RequestError),
    /// `DescribeKey` shows a key that cannot be used for the seal.
    KeyUnusable {
        /// The key's ARN (or id).
        key_id: String,
        /// Why not.
        reason: &'static str,
    },
    /// The request could not be signed (credentials or region with unusable characters).
    Signing(SigningError),
    /// No credentials could be had.
    Credentials(CredentialsError),
    /// KMS answered with an error, and retrying did not or could not help.
    Kms {
        /// The last error response.
        error: ServiceError,
        /// Requests sent for this call.
        attempts: u32,
        /// Why the seal stopped retrying.
        reason: GiveUpReason,
    },
    /// KMS answered 2xx with a body that is not what the operation returns.
    MalformedResponse(MalformedResponse),
    /// No response could be had, and retrying did not or could not help.
    Transport {
        /// The last transport error.
        error: TransportError,
        /// Requests sent for this call.
        attempts: u32,
        /// Why the seal stopped retrying.
        reason: GiveUpReason,
    },
    /// The blob could not be opened: malformed, altered, or wrong AAD.
    Integrity(IntegrityError),
    /// The runtime's random source failed.
    Random(RandomError),
}

impl SealError {
    /// The broad kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SealError::Endpoint(_)
            | SealError::Request(_)
            | SealError::KeyUnusable { .. }
            | SealError::Signing(_) => ErrorKind::Configuration,
            SealError::Credentials(_) => ErrorKind::Credentials,
            SealError::Kms { error, .. } if error.class() == kms::ErrorClass::ClockSkew => {
                ErrorKind::Configuration
            }
            SealError::Kms { error, .. } => match error.code() {
                Some(
                    "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "SignatureDoesNotMatch"
                    | "InvalidSignatureException"
                    | "IncompleteSignatureException"
                    | "ExpiredTokenException"
                    | "ExpiredToken",
                ) => ErrorKind::Credentials,
                Some("InvalidCiphertextException" | "IncorrectKeyException") => {
                    ErrorKind::Integrity
                }
                _ => ErrorKind::Kms,
            },
            SealError::MalformedResponse(_) => ErrorKind::Kms,
            SealError::Transport { .. } => ErrorKind::Transport,
            SealError::Integrity(_) => ErrorKind::Integrity,
            SealError::Random(_) => ErrorKind::Runtime,
        }
    }

    /// The KMS error response, if that is what failed.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            SealError::Kms { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Requests sent before giving up, for KMS and transport errors.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            SealError::Kms { attempts, .. } | SealError::Transport { attempts, .. } => {
                Some(*attempts)
            }
            _ => None,
        }
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::Endpoint(e) => fmt::Display::fmt(e, f),
            SealError::Request(e) => fmt::Display::fmt(e, f),
            SealError::KeyUnusable { key_id, reason } => write!(
                f,
                "kms key {key_id} cannot seal: {reason}; use an enabled symmetric ENCRYPT_DECRYPT key or set key_not_required"
            ),
            SealError::Signing(e) => write!(f, "cannot sign the kms request: {e}"),
            SealError::Credentials(e) => write!(f, "no aws credentials for kms: {e}"),
            SealError::Kms {
                error,
                attempts,
                reason,
            } => {
                fmt::Display::fmt(error, f)?;
                write_give_up(f, *attempts, *reason)
            }
            SealError::MalformedResponse(e) => fmt::Display::fmt(e, f),
            SealError::Transport {
                error,
                attempts,
                reason,
            } => {
                write!(f, "cannot reach kms: {error}")?;
                write_give_up(f, *attempts, *reason)?;
                f.write_str("; check the endpoint, network, proxy and tls settings")
            }
            SealError::Integrity(e) => fmt::Display::fmt(e, f),
            SealError::Random(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// ` (after 3 attempts: all attempts failed)`; nothing for a single, non-retryable attempt.
fn write_give_up(f: &mut fmt::Formatter<'_>, attempts: u32, reason: GiveUpReason) -> fmt::Result {
    match (attempts, reason) {
        (0 | 1, GiveUpReason::NotRetryable) => Ok(()),
        (1, reason) => write!(f, " (after 1 attempt: {reason})"),
        (n, reason) => write!(f, " (after {n} attempts: {reason})"),
    }
}

impl core::error::Error for SealError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SealError::Endpoint(e) => Some(e),
            SealError::Request(e) => Some(e),
            SealError::Signing(e) => Some(e),
            SealError::Credentials(e) => Some(e),
            SealError::Kms { error, .. } => Some(error),
            SealError::MalformedResponse(e) => Some(e),
            SealError::Transport { error, .. } => Some(error),
            SealError::Integrity(e) => Some(e),
            SealError::Random(e) => Some(e),
            SealError::KeyUnusable { .. } => None,
        }
    }
}

impl From<EndpointError> for SealError {
    fn from(e: EndpointError) -> Self {
        SealError::Endpoint(e)
    }
}

impl From<SigningError> for SealError {
    fn from(e: SigningError) -> Self {
        SealError::Signing(e)
    }
}

impl From<MalformedResponse> for SealError {
    fn from(e: MalformedResponse) -> Self {
        SealError::MalformedResponse(e)
    }
}

impl From<IntegrityError> for SealError {
    fn from(e: IntegrityError) -> Self {
        SealError::Integrity(e)
    }
}

impl From<RandomError> for SealError {
    fn from(e: RandomError) -> Self {
        SealError::Random(e)
    }
}

/// A blob that cannot be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityError {
    /// AES-GCM authentication failed: the AAD differs from sealing time, or the ciphertext,
    /// IV or wrapped key was altered. Deliberately does not say which.
    Authentication,
    /// KMS decrypted the wrapped key to this many bytes instead of 32.
    DataKeyLength(usize),
    /// The IV has this many bytes instead of 12.
    IvLength(usize),
    /// A mechanism 1 blob without `key_info.wrapped_key`.
    MissingWrappedKey,
    /// A mechanism 0 blob without ciphertext.
    MissingCiphertext,
    /// A KMS ciphertext of this many bytes (KMS takes 1 to 6144).
    CiphertextLength(usize),
    /// `key_info.mechanism` is neither 0 nor 1.
    UnsupportedMechanism(u64),
    /// A `multiwrapvalue:1` entry none of whose slots was made by an AWS KMS seal.
    NoAwsKmsSlot,
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntegrityError::NoAwsKmsSlot => f.write_str(
                "the value has no slot sealed by aws kms: unseal it with the seal that made it",
            ),
            IntegrityError::Authentication => f.write_str(
                "the sealed value failed authentication: check that the aad (for example the storage path) is the one it was sealed with; otherwise the value was altered",
            ),
            IntegrityError::DataKeyLength(n) => write!(
                f,
                "kms decrypted the wrapped key to {n} bytes, not 32: the blob's wrapped key is not a data key made by this seal"
            ),
            IntegrityError::IvLength(n) => write!(
                f,
                "the blob's iv is {n} bytes, not 12: the stored value is damaged or not an awskms envelope"
            ),
            IntegrityError::MissingWrappedKey => f.write_str(
                "the blob has no wrapped key: the stored value is damaged or was not made by the awskms seal",
            ),
            IntegrityError::MissingCiphertext => {
                f.write_str("the blob has no ciphertext: the stored value is damaged")
            }
            IntegrityError::CiphertextLength(n) => write!(
                f,
                "the blob's kms ciphertext is {n} bytes, outside 1..=6144: the stored value is damaged"
            ),
            IntegrityError::UnsupportedMechanism(m) => write!(
                f,
                "the blob uses mechanism {m}, which the awskms seal does not know (0 and 1 are supported): was it made by another seal type?"
            ),
        }
    }
}

impl core::error::Error for IntegrityError {}

/// The current key ARN, readable and replaceable through `&self` without a lock and without
/// `unsafe`: a sequence lock over 32-bit atomic words. Readers copy the words and retry if a
/// writer was active meanwhile; writers (rare: only when KMS reports a different key) take
/// turns through the sequence number.
mod key_id_slot {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicU32, Ordering, fence};

    use crate::kms::MAX_KEY_ID_LEN;

    const WORDS: usize = MAX_KEY_ID_LEN / 4;

    pub(super) struct KeyIdSlot {
        /// Even: stable; odd: a writer is copying.
        seq: AtomicU32,
        len: AtomicU32,
        words: alloc::boxed::Box<[AtomicU32; WORDS]>,
    }

    impl KeyIdSlot {
        pub(super) fn new() -> Self {
            KeyIdSlot {
                seq: AtomicU32::new(0),
                len: AtomicU32::new(0),
                words: alloc::boxed::Box::new([const { AtomicU32::new(0) }; WORDS]),
            }
        }

        /// Replaces the value; ids longer than KMS allows are ignored (KMS never returns them).
        pub(super) fn store(&self, id: &str) {
            if id.len() > MAX_KEY_ID_LEN || self.equals(id) {
                return;
            }
            let mut seq = self.seq.load(Ordering::Relaxed);
            loop {
                if seq.is_multiple_of(2) {
                    match self.seq.compare_exchange_weak(
                        seq,
                        seq.wrapping_add(1),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break,
                        Err(now) => seq = now,
                    }
                } else {
                    core::hint::spin_loop();
                    seq = self.seq.load(Ordering::Relaxed);
                }
            }
            fence(Ordering::Release);
            for (word, chunk) in self.words.iter().zip(id.as_bytes().chunks(4)) {
                let mut b = [0u8; 4];
                b[..chunk.len()].copy_from_slice(chunk);
                word.store(u32::from_le_bytes(b), Ordering::Relaxed);
            }
            self.len.store(id.len() as u32, Ordering::Relaxed);
            self.seq.store(seq.wrapping_add(2), Ordering::Release);
        }

        /// A consistent copy of the value.
        pub(super) fn load(&self) -> String {
            loop {
                if let Some(bytes) = self.try_read() {
                    // A consistent copy is what `store` wrote from a `&str`: valid UTF-8.
                    if let Ok(s) = String::from_utf8(bytes) {
                        return s;
                    }
                }
                core::hint::spin_loop();
            }
        }

        /// Whether the value equals `id`.
        pub(super) fn equals(&self, id: &str) -> bool {
            loop {
                if let Some(bytes) = self.try_read() {
                    return bytes == id.as_bytes();
                }
                core::hint::spin_loop();
            }
        }

        fn try_read(&self) -> Option<Vec<u8>> {
            let before = self.seq.load(Ordering::Acquire);
            if !before.is_multiple_of(2) {
                return None;
            }
            let len = (self.len.load(Ordering::Relaxed) as usize).min(MAX_KEY_ID_LEN);
            let mut bytes = Vec::with_capacity(len.next_multiple_of(4));
            for word in &self.words[..len.div_ceil(4)] {
                bytes.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
            }
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != before {
                return None;
            }
            bytes.truncate(len);
            Some(bytes)
        }
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
