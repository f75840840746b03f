//! When and how long to wait before retrying a KMS call, without doing any waiting.
//!
//! This is the AWS SDKs' *standard* retry mode, as values:
//!
//! - at most [`RetryConfig::max_attempts`] attempts (3) for transient failures: HTTP
//!   500/502/503/504/429, the throttling family, KMS internal errors
//!   ([`ErrorClass::Retryable`]) and transport errors whose kind
//!   [`is_retryable`](TransportErrorKind::is_retryable);
//! - full-jitter exponential backoff: before retry *n* wait a uniformly random time in
//!   `[0, min(max_backoff, initial_backoff * 2^(n-1)))`, from a random number the caller
//!   supplies;
//! - a retry budget shared by all calls of one seal ([`RetryBudget`], a token bucket of 500): a
//!   retry costs 5 tokens (10 after a timeout), a success after retries gives back what the
//!   last retry took, a success without retries adds 1. An empty bucket stops retries, so a
//!   failing service is not hammered by every caller at once;
//! - two one-shot repairs that do not count against the attempts or the budget: after
//!   `ExpiredTokenException` fetch fresh credentials and retry once
//!   ([`Decision::RefreshCredentialsAndRetry`]); after a clock-skew error correct the signing
//!   clock by the difference to the response's `Date` header and retry once
//!   ([`Decision::RetryWithCorrectedClock`]). The correction is kept for later calls.
//!
//! So one call sends at most `max_attempts + 2` requests.
//!
//! Everything is `&self` on atomics (32-bit only, so it builds for targets without 64-bit
//! atomics such as `thumbv7em-none-eabihf`); one [`RetryPolicy`] serves all threads, each call
//! keeps its own small [`CallState`].

use core::fmt;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::http::{Response, TransportErrorKind};
use crate::kms::{ErrorClass, ServiceError};
use crate::time::Timestamp;

/// Tokens a retry takes from the budget.
pub const RETRY_COST: u32 = 5;
/// Tokens a retry after a timeout takes from the budget.
pub const TIMEOUT_RETRY_COST: u32 = 10;
/// Tokens a success without retries adds to the budget.
pub const NO_RETRY_INCREMENT: u32 = 1;

/// Retry settings. The defaults are the AWS SDKs' standard mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per call for transient failures, including the first (1 = no retries).
    pub max_attempts: u32,
    /// Backoff cap before the first retry, in milliseconds.
    pub initial_backoff_ms: u64,
    /// Largest backoff, in milliseconds.
    pub max_backoff_ms: u64,
    /// Size of the retry budget, in tokens.
    pub budget: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            initial_backoff_ms: 1000,
            max_backoff_ms: 20_000,
            budget: 500,
        }
    }
}

impl RetryConfig {
    /// No retries of transient failures (the one-shot credential and clock repairs remain).
    pub const fn no_retries() -> Self {
        RetryConfig {
            max_attempts: 1,
            initial_backoff_ms: 0,
            max_backoff_ms: 0,
            budget: 0,
        }
    }

    /// The backoff cap before retry number `retry` (1 for the first retry):
    /// `min(max_backoff_ms, initial_backoff_ms * 2^(retry-1))`.
    pub fn backoff_cap_ms(&self, retry: u32) -> u64 {
        let doublings = retry.saturating_sub(1).min(63);
        let cap = self.initial_backoff_ms.saturating_mul(1u64 << doublings);
        cap.min(self.max_backoff_ms)
    }

    /// Full-jitter backoff before retry number `retry`: `random / 2^32` of
    /// [`backoff_cap_ms`](Self::backoff_cap_ms), so uniformly in `[0, cap)`.
    pub fn backoff_ms(&self, retry: u32, random: u32) -> u64 {
        let cap = u128::from(self.backoff_cap_ms(retry));
        // cap < 2^64 and random < 2^32, so the product fits in u128 and the result below cap.
        ((cap * u128::from(random)) >> 32) as u64
    }
}

/// A token bucket that limits retries across all calls sharing it.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    available: AtomicU32,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub const fn new(capacity: u32) -> Self {
        RetryBudget {
            capacity,
            available: AtomicU32::new(capacity),
        }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.available.load(Ordering::Relaxed)
    }

    /// The bucket's size.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Takes `cost` tokens if that many are left.
    pub fn try_acquire(&self, cost: u32) -> bool {
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| n.checked_sub(cost))
            .is_ok()
    }

    /// Puts `amount` tokens back, up to the capacity.
    pub fn release(&self, amount: u32) {
        let capacity = self.capacity;
        // The closure always returns Some, so fetch_update cannot fail.
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                Some(n.saturating_add(amount).min(capacity))
            });
    }
}

/// Why a failed call is not retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The failure is permanent.
    NotRetryable,
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The retry budget is empty (the service has been failing for many calls).
    BudgetExhausted,
    /// The token expired again right after fresh credentials were fetched.
    AlreadyRefreshed,
    /// The clock was already corrected once in this call.
    AlreadyCorrected,
    /// A clock-skew error came without a usable `Date` header to correct from.
    NoServerDate,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUpReason::NotRetryable => "not retryable",
            GiveUpReason::AttemptsExhausted => "all attempts failed",
            GiveUpReason::BudgetExhausted => "retry budget exhausted by earlier failures",
            GiveUpReason::AlreadyRefreshed => "failed again with fresh credentials",
            GiveUpReason::AlreadyCorrected => "failed again after correcting the clock",
            GiveUpReason::NoServerDate => "no server date to correct the clock from",
        })
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Wait `delay_ms`, then send again.
    Retry {
        /// Milliseconds to wait.
        delay_ms: u64,
    },
    /// Fetch credentials with `force_refresh`, then send again at once.
    RefreshCredentialsAndRetry,
    /// The signing clock was corrected (now `skew_secs` ahead of the local clock); sign again
    /// with [`RetryPolicy::signing_time`] and send at once.
    RetryWithCorrectedClock {
        /// The new offset, server minus local, in seconds.
        skew_secs: i32,
    },
    /// Stop and report the failure.
    GiveUp(GiveUpReason),
}

/// A failed attempt, as the retry policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The service answered with an error.
    Service {
        /// How the error is classified.
        class: ErrorClass,
        /// The response's `Date` header, when present and valid.
        server_date: Option<Timestamp>,
    },
    /// No response at all.
    Transport(TransportErrorKind),
}

impl Failure {
    /// The failure for an error `response` that parsed to `error`.
    pub fn from_service_error(error: &ServiceError, response: &Response) -> Self {
        Failure::Service {
            class: error.class(),
            server_date: response
                .header("date")
                .and_then(|d| Timestamp::parse_http_date(d).ok()),
        }
    }
}

/// The retry policy of one seal: settings, shared budget and clock correction.
#[derive(Debug)]
pub struct RetryPolicy {
    config: RetryConfig,
    budget: RetryBudget,
    skew_secs: AtomicI32,
}

impl RetryPolicy {
    /// A policy with a full budget and no clock correction.
    pub const fn new(config: RetryConfig) -> Self {
        RetryPolicy {
            budget: RetryBudget::new(config.budget),
            config,
            skew_secs: AtomicI32::new(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// The shared budget.
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// The current clock correction, server minus local, in seconds.
    pub fn clock_skew_secs(&self) -> i32 {
        self.skew_secs.load(Ordering::Relaxed)
    }

    /// The time to sign with: the local `now` plus the clock correction.
    pub fn signing_time(&self, now: Timestamp) -> Timestamp {
        let skew = i64::from(self.clock_skew_secs());
        let secs = if skew >= 0 {
            now.as_secs().saturating_add(skew.unsigned_abs())
        } else {
            now.as_secs().saturating_sub(skew.unsigned_abs())
        };
        Timestamp(secs)
    }

    /// Sets the clock correction from a server time seen at local time `local_now`, and
    /// returns it.
    pub fn correct_clock(&self, local_now: Timestamp, server_date: Timestamp) -> i32 {
        let diff = i128::from(server_date.as_secs()) - i128::from(local_now.as_secs());
        let skew = diff.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
        self.skew_secs.store(skew, Ordering::Relaxed);
        skew
    }

    /// Starts one call.
    pub fn start(&self) -> CallState<'_> {
        CallState {
            policy: self,
            attempts: 0,
            transient_retries: 0,
            held: 0,
            refreshed: false,
            corrected: false,
        }
    }
}

/// The retry state of one call. Call [`begin_attempt`](Self::begin_attempt) before each
/// send, then [`on_success`](Self::on_success) or [`on_failure`](Self::on_failure).
#[derive(Debug)]
pub struct CallState<'p> {
    policy: &'p RetryPolicy,
    attempts: u32,
    transient_retries: u32,
    held: u32,
    refreshed: bool,
    corrected: bool,
}

impl CallState<'_> {
    /// Counts an attempt about to be sent.
    pub fn begin_attempt(&mut self) {
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Attempts begun so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the next attempt must use freshly fetched credentials.
    pub fn force_refresh(&self) -> bool {
        self.refreshed
    }

    /// The call succeeded: return the last retry's tokens, or add
    /// [`NO_RETRY_INCREMENT`] when there was no retry.
    pub fn on_success(&mut self) {
        let refund = if self.transient_retries == 0 {
            NO_RETRY_INCREMENT
        } else {
            self.held
        };
        self.held = 0;
        self.policy.budget.release(refund);
    }

    /// Decides what to do after a failed attempt. `local_now` is the local clock when the
    /// response arrived; `random` is a uniformly random number for the jitter.
    pub fn on_failure(&mut self, failure: Failure, local_now: Timestamp, random: u32) -> Decision {
        let cost = match failure {
            Failure::Service {
                class: ErrorClass::RefreshCredentialsAndRetry,
                ..
            } => {
                if self.refreshed {
                    return Decision::GiveUp(GiveUpReason::AlreadyRefreshed);
                }
                self.refreshed = true;
                return Decision::RefreshCredentialsAndRetry;
            }
            Failure::Service {
                class: ErrorClass::ClockSkew,
                server_date,
            } => {
                if self.corrected {
                    return Decision::GiveUp(GiveUpReason::AlreadyCorrected);
                }
                let Some(server) = server_date else {
                    return Decision::GiveUp(GiveUpReason::NoServerDate);
                };
                self.corrected = true;
                let skew_secs = self.policy.correct_clock(local_now, server);
                return Decision::RetryWithCorrectedClock { skew_secs };
            }
            Failure::Service {
                class: ErrorClass::Retryable,
                ..
            } => RETRY_COST,
            Failure::Transport(kind) if kind.is_retryable() => {
                if kind == TransportErrorKind::Timeout {
                    TIMEOUT_RETRY_COST
                } else {
                    RETRY_COST
                }
            }
            Failure::Service { .. } | Failure::Transport(_) => {
                return Decision::GiveUp(GiveUpReason::NotRetryable);
            }
        };
        if self.transient_retries.saturating_add(1) >= self.policy.config.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        if !self.policy.budget.try_acquire(cost) {
            return Decision::GiveUp(GiveUpReason::BudgetExhausted);
        }
        self.held = cost;
        self.transient_retries += 1;
        Decision::Retry {
            delay_ms: self
                .policy
                .config
                .backoff_ms(self.transient_retries, random),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn service(class: ErrorClass) -> Failure {
        Failure::Service {
            class,
            server_date: None,
        }
    }

    #[test]
    fn defaults_are_standard_mode() {
        let c = RetryConfig::default();
        assert_eq!(
            (
                c.max_attempts,
                c.initial_backoff_ms,
                c.max_backoff_ms,
                c.budget
            ),
            (3, 1000, 20_000, 500)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let c = RetryConfig::default();
        let caps: alloc::vec::Vec<u64> = (1..=7).map(|n| c.backoff_cap_ms(n)).collect();
        assert_eq!(caps, [1000, 2000, 4000, 8000, 16_000, 20_000, 20_000]);
        assert_eq!(c.backoff_cap_ms(1000), 20_000);
        assert_eq!(c.backoff_ms(1, 0), 0);
        assert_eq!(c.backoff_ms(1, u32::MAX), 999);
        assert_eq!(c.backoff_ms(2, 1 << 31), 1000);
        assert_eq!(c.backoff_ms(10, 1 << 30), 5000);
        let huge = RetryConfig {
            initial_backoff_ms: u64::MAX,
            max_backoff_ms: u64::MAX,
            ..c
        };
        assert_eq!(huge.backoff_cap_ms(64), u64::MAX);
        assert!(huge.backoff_ms(64, u32::MAX) < u64::MAX);
    }

    #[test]
    fn budget_takes_and_refunds_within_capacity() {
        let b = RetryBudget::new(12);
        assert!(b.try_acquire(5));
        assert!(b.try_acquire(5));
        assert!(!b.try_acquire(5));
        assert_eq!(b.available(), 2);
        b.release(100);
        assert_eq!(b.available(), 12);
        assert_eq!(b.capacity(), 12);
    }

    #[test]
    fn retries_transient_failures_up_to_max_attempts() {
        let p = RetryPolicy::new(RetryConfig::default());
        let mut call = p.start();
        call.begin_attempt();
        assert_eq!(
            call.on_failure(service(ErrorClass::Retryable), Timestamp(0), 1 << 31),
            Decision::Retry { delay_ms: 500 }
        );
        call.begin_attempt();
        assert_eq!(
            call.on_failure(
                Failure::Transport(TransportErrorKind::Timeout),
                Timestamp(0),
                1 << 31
            ),
            Decision::Retry { delay_ms: 1000 }
        );
        assert_eq!(
            p.budget().available(),
            500 - RETRY_COST - TIMEOUT_RETRY_COST
        );
        call.begin_attempt();
        assert_eq!(
            call.on_failure(service(ErrorClass::Retryable), Timestamp(0), 0),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        assert_eq!(call.attempts(), 3);
    }

    #[test]
    fn success_refunds_the_last_retry_or_adds_one() {
        let p = RetryPolicy::new(RetryConfig {
            budget: 20,
            ..RetryConfig::default()
        });
        let mut call = p.start();
        call.begin_attempt();
        assert!(p.budget().try_acquire(1));
        call.on_success();
        assert_eq!(p.budget().available(), 20);

        let mut call = p.start();
        call.begin_attempt();
        call.on_failure(
            Failure::Transport(TransportErrorKind::ConnectionReset),
            Timestamp(0),
            0,
        );
        assert_eq!(p.budget().available(), 15);
        call.begin_attempt();
        call.on_success();
        assert_eq!(p.budget().available(), 20);
    }

    #[test]
    fn empty_budget_stops_retries() {
        let p = RetryPolicy::new(RetryConfig {
            budget: 9,
            max_attempts: 10,
            ..RetryConfig::default()
        });
        let mut call = p.start();
        call.begin_attempt();
        assert!(matches!(
            call.on_failure(service(ErrorClass::Retryable), Timestamp(0), 0),
            Decision::Retry { .. }
        ));
        call.begin_attempt();
        assert_eq!(
            call.on_failure(service(ErrorClass::Retryable), Timestamp(0), 0),
            Decision::GiveUp(GiveUpReason::BudgetExhausted)
        );
    }

    #[test]
    fn permanent_and_non_retryable_transport_errors_give_up() {
        let p = RetryPolicy::new(RetryConfig::default());
        for failure in [
            service(ErrorClass::Permanent),
            Failure::Transport(TransportErrorKind::Tls),
            Failure::Transport(TransportErrorKind::Refused),
            Failure::Transport(TransportErrorKind::BodyTooLarge),
        ] {
            let mut call = p.start();
            call.begin_attempt();
            assert_eq!(
                call.on_failure(failure, Timestamp(0), 0),
                Decision::GiveUp(GiveUpReason::NotRetryable)
            );
        }
        assert_eq!(p.budget().available(), 500);
    }

    #[test]
    fn refreshes_credentials_once_without_budget() {
        let p = RetryPolicy::new(RetryConfig::no_retries());
        let mut call = p.start();
        call.begin_attempt();
        assert!(!call.force_refresh());
        let f = service(ErrorClass::RefreshCredentialsAndRetry);
        assert_eq!(
            call.on_failure(f, Timestamp(0), 0),
            Decision::RefreshCredentialsAndRetry
        );
        assert!(call.force_refresh());
        call.begin_attempt();
        assert_eq!(
            call.on_failure(f, Timestamp(0), 0),
            Decision::GiveUp(GiveUpReason::AlreadyRefreshed)
        );
    }

    #[test]
    fn corrects_the_clock_once_and_keeps_it() {
        let p = RetryPolicy::new(RetryConfig::default());
        let mut call = p.start();
        call.begin_attempt();
        let skewed = Failure::Service {
            class: ErrorClass::ClockSkew,
            server_date: Some(Timestamp(10_000)),
        };
        assert_eq!(
            call.on_failure(skewed, Timestamp(13_600), 0),
            Decision::RetryWithCorrectedClock { skew_secs: -3600 }
        );
        assert_eq!(p.signing_time(Timestamp(13_601)), Timestamp(10_001));
        call.begin_attempt();
        assert_eq!(
            call.on_failure(skewed, Timestamp(13_601), 0),
            Decision::GiveUp(GiveUpReason::AlreadyCorrected)
        );
        let mut next = p.start();
        next.begin_attempt();
        assert_eq!(
            next.on_failure(service(ErrorClass::ClockSkew), Timestamp(0), 0),
            Decision::GiveUp(GiveUpReason::NoServerDate)
        );
        assert_eq!(p.clock_skew_secs(), -3600);
        assert_eq!(p.signing_time(Timestamp(5)), Timestamp(0));
        assert_eq!(p.correct_clock(Timestamp(0), Timestamp(u64::MAX)), i32::MAX);
    }

    #[test]
    fn reads_the_date_header() {
        let r = Response {
            status: 400,
            headers: vec![(
                "Date".to_string(),
                "Sun, 30 Aug 2015 12:36:00 GMT".to_string(),
            )],
            body: br#"{"__type":"RequestTimeTooSkewed"}"#.to_vec(),
        };
        let e = ServiceError::from_response(crate::kms::Operation::Encrypt, &r);
        assert_eq!(
            Failure::from_service_error(&e, &r),
            Failure::Service {
                class: ErrorClass::ClockSkew,
                server_date: Some(Timestamp(1_440_938_160)),
            }
        );
        assert_eq!(
            GiveUpReason::BudgetExhausted.to_string(),
            "retry budget exhausted by earlier failures"
        );
    }
}
