//! [`StdRuntime`]: the seal's clock, random source and sleep on a normal operating system.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kms_seal_core::seal::{RandomError, Runtime};
use kms_seal_core::time::Timestamp;

/// The core's [`Runtime`] on `std`: [`SystemTime`] for the clock, the operating system's
/// random source (getrandom) and [`std::thread::sleep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct StdRuntime;

impl StdRuntime {
    /// The runtime (it has no state).
    pub const fn new() -> Self {
        StdRuntime
    }
}

impl Runtime for StdRuntime {
    fn now(&self) -> Timestamp {
        // A clock set before 1970 is reported as the epoch; signatures then fail with a clear
        // clock-skew error from the service instead of a panic here.
        Timestamp(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        )
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| {
            RandomError::new(format!(
                "the operating system's random source failed ({e}); check /dev/urandom and the \
                 getrandom system call"
            ))
        })
    }

    fn sleep_ms(&self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn clock_is_recent() {
        // 2024-01-01T00:00:00Z; any machine running this is later.
        assert!(StdRuntime.now().as_secs() > 1_704_067_200);
    }

    #[test]
    fn random_bytes_differ() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        StdRuntime.fill_random(&mut a).unwrap();
        StdRuntime.fill_random(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn sleeps_at_least_as_asked() {
        let t = Instant::now();
        StdRuntime.sleep_ms(20);
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
