//! What the seal needs from its environment besides the network.

use alloc::string::String;
use core::fmt;

use crate::time::Timestamp;

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
