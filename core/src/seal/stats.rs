//! Counters of calls, attempts and retries.

use core::sync::atomic::{AtomicU32, Ordering};

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

/// The live counters behind [`SealStats`].
#[derive(Default)]
pub(super) struct Counters {
    pub(super) calls: AtomicU32,
    pub(super) attempts: AtomicU32,
    pub(super) retries: AtomicU32,
    pub(super) credential_refreshes: AtomicU32,
    pub(super) clock_corrections: AtomicU32,
}

impl Counters {
    pub(super) fn bump(counter: &AtomicU32) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> SealStats {
        SealStats {
            calls: self.calls.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            credential_refreshes: self.credential_refreshes.load(Ordering::Relaxed),
            clock_corrections: self.clock_corrections.load(Ordering::Relaxed),
        }
    }
}
