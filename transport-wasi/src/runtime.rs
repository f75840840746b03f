//! [`WasiRuntime`]: the clock, randomness and sleep the seal needs, from WASI.
//!
//! - time: `wasi:clocks/wall-clock` (SigV4 signing time);
//! - randomness: `wasi:random/random`, the host's cryptographically secure source (data keys
//!   and AES-GCM nonces);
//! - sleep: a `wasi:clocks/monotonic-clock` pollable (back-off between retries).

use alloc::format;
use zeroize::Zeroize;

use kms_seal_core::seal::{RandomError, Runtime};
use kms_seal_core::time::Timestamp;
use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::random::random;

/// Clock, randomness and sleep from the WASI host. Holds no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct WasiRuntime;

impl Runtime for WasiRuntime {
    /// The host's wall-clock time, in whole seconds since the Unix epoch.
    fn now(&self) -> Timestamp {
        Timestamp(wall_clock::now().seconds)
    }

    /// Fills `buf` from the host's cryptographically secure random source.
    ///
    /// # Errors
    /// [`RandomError`] when the host returns fewer bytes than asked for.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        let mut bytes = random::get_random_bytes(buf.len() as u64);
        if bytes.len() != buf.len() {
            let got = bytes.len();
            bytes.zeroize();
            return Err(RandomError::new(format!(
                "wasi:random returned {got} of {} bytes",
                buf.len()
            )));
        }
        buf.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(())
    }

    /// Blocks for `millis` milliseconds on the host's monotonic clock.
    fn sleep_ms(&self, millis: u64) {
        if millis > 0 {
            monotonic_clock::subscribe_duration(millis.saturating_mul(1_000_000)).block();
        }
    }
}
