//! Running `rewrap`'s KMS calls on threads with a bounded number in flight that adapts to
//! throttling, for [`Host::run_jobs`](kms_seal_cli::Host::run_jobs).
//!
//! Up to `jobs` threads take items from one queue. A window (at most `jobs`) limits how many
//! run at once, additive-increase / multiplicative-decrease as in TCP congestion control:
//!
//! - a throttled item ([`JobResult::Throttled`]) halves the window, goes back to the end of
//!   the queue, and pauses new starts for a backoff that doubles with each throttle in a row
//!   (100 ms up to 6.4 s);
//! - a finished item after which the seal's retry counter grew (the seal backed off and
//!   retried inside the call: throttling or a transient fault) halves the window too, at most
//!   once per window's worth of finished items;
//! - a window's worth of finished items without retries widens it by one.
//!
//! Results go to `done` on the calling thread, so the caller writes files from one thread.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kms_seal_cli::JobResult;

/// The first backoff after a throttled item.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Throttles in a row past which the backoff stops doubling.
const MAX_DOUBLINGS: u32 = 6;

struct State<T> {
    queue: VecDeque<T>,
    /// Items not yet finished (queued or running).
    remaining: usize,
    active: usize,
    window: usize,
    /// Finished items since the window last changed.
    since_change: usize,
    throttles_in_a_row: u32,
    paused_until: Option<Instant>,
    /// The seal's retry counter when last looked at.
    retries_seen: u32,
    smallest_window: usize,
}

/// Runs `work` on every item of `items` with at most `jobs` in flight (see the module
/// documentation); `retries` reads the seal's retry counter. Returns the smallest window
/// used (1..=jobs), for tests and logs.
#[allow(clippy::type_complexity)] // the work function, spelled out, is the contract
pub fn run<S: Sync, T: Send, R: Send>(
    seal: &S,
    retries: &(dyn Fn(&S) -> u32 + Sync),
    jobs: usize,
    items: Vec<T>,
    work: &(dyn Fn(&S, T) -> JobResult<T, R> + Sync),
    done: &mut dyn FnMut(R),
) -> usize {
    let threads = jobs.clamp(1, items.len().max(1));
    let state = Mutex::new(State {
        remaining: items.len(),
        queue: items.into(),
        active: 0,
        window: threads,
        since_change: 0,
        throttles_in_a_row: 0,
        paused_until: None,
        retries_seen: retries(seal),
        smallest_window: threads,
    });
    let wake = Condvar::new();
    let (tx, rx) = mpsc::channel::<R>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (state, wake) = (&state, &wake);
            scope.spawn(move || {
                while let Some(item) = next_item(state, wake) {
                    let result = work(seal, item);
                    let mut st = lock(state);
                    st.active -= 1;
                    match result {
                        JobResult::Done(r) => {
                            st.remaining -= 1;
                            st.throttles_in_a_row = 0;
                            let now_retries = retries(seal);
                            let retried = now_retries != st.retries_seen;
                            st.retries_seen = now_retries;
                            st.since_change += 1;
                            if retried {
                                if st.since_change >= st.window {
                                    narrow(&mut st);
                                }
                            } else if st.since_change >= st.window && st.window < threads {
                                st.window += 1;
                                st.since_change = 0;
                            }
                            let _ = tx.send(r);
                        }
                        JobResult::Throttled(item) => {
                            st.queue.push_back(item);
                            narrow(&mut st);
                            log::info!(
                                "KMS is throttling: {} call(s) in flight from now on",
                                st.window
                            );
                            let doublings = st.throttles_in_a_row.min(MAX_DOUBLINGS);
                            st.throttles_in_a_row += 1;
                            st.paused_until =
                                Some(Instant::now() + FIRST_BACKOFF * (1 << doublings));
                        }
                    }
                    drop(st);
                    wake.notify_all();
                }
            });
        }
        drop(tx);
        for r in rx {
            done(r);
        }
    });
    lock(&state).smallest_window
}

/// Halves the window (at least 1).
fn narrow<T>(st: &mut State<T>) {
    st.window = (st.window / 2).max(1);
    st.smallest_window = st.smallest_window.min(st.window);
    st.since_change = 0;
}

/// The next item to run, waiting for room in the window and for the end of a pause; `None`
/// when every item has finished.
fn next_item<T>(state: &Mutex<State<T>>, wake: &Condvar) -> Option<T> {
    let mut st = lock(state);
    loop {
        if st.remaining == 0 {
            return None;
        }
        let now = Instant::now();
        let paused = st.paused_until.filter(|&until| until > now);
        if paused.is_none()
            && st.active < st.window
            && let Some(item) = st.queue.pop_front()
        {
            st.active += 1;
            return Some(item);
        }
        let timeout = paused.map_or(Duration::from_millis(50), |until| until - now);
        st = wake
            .wait_timeout(st, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

    /// A stand-in seal: counts calls in flight and retries.
    #[derive(Default)]
    struct Fake {
        in_flight: AtomicUsize,
        most: AtomicUsize,
        retries: AtomicU32,
        throttle_first: AtomicUsize,
    }

    fn call(fake: &Fake) -> bool {
        let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        fake.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        fake.in_flight.fetch_sub(1, Ordering::SeqCst);
        // The first few calls are throttled.
        fake.throttle_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    #[test]
    fn bounded_in_flight_and_every_item_done_once() {
        let fake = Fake::default();
        let mut seen = Vec::new();
        let smallest = run(
            &fake,
            &|f: &Fake| f.retries.load(Ordering::SeqCst),
            4,
            (0..40).collect(),
            &|f, i: usize| {
                call(f);
                JobResult::Done(i)
            },
            &mut |i| seen.push(i),
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..40).collect::<Vec<_>>());
        assert_eq!(fake.most.load(Ordering::SeqCst), 4);
        assert_eq!(smallest, 4);
    }

    #[test]
    fn throttling_narrows_the_window_and_requeues() {
        let fake = Fake {
            throttle_first: AtomicUsize::new(3),
            ..Fake::default()
        };
        let mut seen = Vec::new();
        let started = Instant::now();
        let smallest = run(
            &fake,
            &|f: &Fake| f.retries.load(Ordering::SeqCst),
            8,
            (0..20).collect(),
            &|f, i: usize| {
                if call(f) {
                    JobResult::Throttled(i)
                } else {
                    JobResult::Done(i)
                }
            },
            &mut |i| seen.push(i),
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert!(smallest <= 2, "window narrowed to {smallest}");
        // Backoffs of 100 + 200 + 400 ms at least for three throttles in a row... or fewer
        // when the throttles overlapped; at least the first pause happened.
        assert!(started.elapsed() >= FIRST_BACKOFF);
    }

    #[test]
    fn retries_inside_calls_narrow_the_window() {
        let fake = Fake::default();
        let mut n = 0;
        let smallest = run(
            &fake,
            &|f: &Fake| f.retries.load(Ordering::SeqCst),
            8,
            (0..64).collect(),
            &|f, i: usize| {
                call(f);
                if i.is_multiple_of(2) {
                    f.retries.fetch_add(1, Ordering::SeqCst);
                }
                JobResult::Done(i)
            },
            &mut |_| n += 1,
        );
        assert_eq!(n, 64);
        assert!(smallest < 8, "window stayed at {smallest}");
    }

    #[test]
    fn no_items_no_threads_needed() {
        let fake = Fake::default();
        let mut n = 0;
        run(
            &fake,
            &|_: &Fake| 0,
            8,
            Vec::<u8>::new(),
            &|_, i| JobResult::Done(i),
            &mut |_| n += 1,
        );
        assert_eq!(n, 0);
    }
}
