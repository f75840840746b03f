//! Proves that signing with a cached key makes zero heap allocations.
//!
//! A counting global allocator wraps the system allocator; it counts only on threads that
//! switched counting on, so the test harness's own threads do not disturb the figure.

// `GlobalAlloc` is an unsafe trait: implementing it is the only way to observe allocations.
// The crate denies unsafe code; this file alone allows it, for this wrapper only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kms_seal_core::sigv4::{SignableRequest, SigningKey, SigningParams, SigningSettings, sign};
use kms_seal_core::time::Timestamp;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is a thread-local counter that never allocates (const-initialised `Cell`s).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    let result = std::hint::black_box(f());
    COUNTING.with(|c| c.set(false));
    (COUNT.with(Cell::get), result)
}

const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLEsessiontokenEXAMPLEsessiontokenEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleexampleexampleexampleexampleexampleexampleexample==";
const BODY: &[u8] = br#"{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"dGhpcyBpcyB0aGUgMzItYnl0ZSBkYXRhIGtleSEhIQ==","EncryptionContext":{"purpose":"vault-seal"}}"#;

fn params(time: Timestamp) -> SigningParams<'static> {
    SigningParams {
        access_key_id: "ASIAEXAMPLEEXAMPLE12",
        session_token: Some(TOKEN),
        region: "us-east-1",
        service: "kms",
        time,
        settings: SigningSettings::default(),
    }
}

const HEADERS: &[(&str, &str)] = &[
    ("host", "kms.us-east-1.amazonaws.com"),
    ("content-type", "application/x-amz-json-1.1"),
    ("x-amz-target", "TrentService.Encrypt"),
];

fn request() -> SignableRequest<'static> {
    SignableRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: HEADERS,
        body: BODY,
    }
}

#[test]
fn signing_with_a_cached_key_does_not_allocate() {
    let time = Timestamp(1_795_976_393);
    let key = SigningKey::derive(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        &time.date_stamp(),
        "us-east-1",
        "kms",
    )
    .unwrap();
    let request = request();
    let first = sign(&request, &params(time), &key).unwrap();

    let (count, signatures) = allocations(|| {
        let mut last = None;
        for i in 0..100 {
            // A different second each time: fresh headers and signatures, same key.
            let out = sign(&request, &params(Timestamp(time.0 + i)), &key).unwrap();
            let headers = out.headers().count();
            last = Some((out.signature().as_bytes()[0], headers));
        }
        last
    });
    assert_eq!(count, 0, "sign allocated {count} times in 100 calls");
    assert_eq!(signatures.map(|(_, h)| h), Some(3));
    assert_eq!(first.signature().len(), 64);
}

#[test]
fn deriving_a_key_does_not_allocate_either() {
    let time = Timestamp(1_795_976_393);
    let (count, out) = allocations(|| {
        let key = SigningKey::derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            &time.date_stamp(),
            "us-east-1",
            "kms",
        )
        .unwrap();
        sign(&request(), &params(time), &key).unwrap()
    });
    assert_eq!(count, 0, "derive + sign allocated {count} times");
    assert_eq!(out.amz_date(), "20261129T181953Z");
}

#[test]
fn the_counter_sees_allocations() {
    let (count, v) = allocations(|| {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.push(1);
        v
    });
    assert_eq!(count, 1);
    assert_eq!(v, [1]);
}
