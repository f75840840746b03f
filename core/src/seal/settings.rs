//! The seal's settings: Vault's `seal "awskms"` stanza, resolved.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::kms::{Endpoint, EndpointError};
use crate::retry::RetryConfig;

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
    /// Skip `DescribeKey` in [`Seal::init`](super::Seal::init) (Vault's `key_not_required`).
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
