//! Load: one shared [`Seal`] driven from 8 threads.
//!
//! - 20,000 encrypt+decrypt pairs against a local stateless stub KMS (in process, so the run
//!   measures the seal and not a server): no error, no lost or mismatched value, and steady
//!   memory (resident set size at the end within a small margin of the size after the first
//!   quarter).
//! - 2,000 pairs through the native transport over loopback HTTP (the [`FaultServer`] with
//!   the same stub behind it): the same checks on the real network path, with a bound on the
//!   connections opened.
//!
//! The stub is stateless like KMS itself: a `CiphertextBlob` is the data key sealed with
//! AES-256-GCM under a stub master key, so the stub's memory does not grow with the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::{BlobInfo, aead};
use kms_seal_core::http::{Request, Response, Transport, TransportError};
use kms_seal_core::kms::Endpoint;
use kms_seal_core::retry::RetryConfig;
use kms_seal_core::seal::{Seal, SealSettings};
use kms_seal_tests::fault_server::{FaultServer, Upstream};
use kms_seal_ureq::runtime::StdRuntime;
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCESS_KEY_ID: &str = "AKIDLOADTEST00000001";
const SECRET_KEY: &str = "load/test/secret/key/not-a-real-secret00";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/10ad10ad-0000-4000-8000-000000000001";
const THREADS: usize = 8;

/// The two tests run one after the other: the memory check reads the whole process's RSS.
static SERIAL: Mutex<()> = Mutex::new(());

/// A stateless KMS for `Encrypt` and `Decrypt`.
struct StatelessKms {
    master: aead::DataKey,
    counter: AtomicU64,
}

impl StatelessKms {
    fn new() -> Self {
        StatelessKms {
            master: aead::DataKey::from_bytes([0x4b; 32]),
            counter: AtomicU64::new(0),
        }
    }

    fn answer(&self, request: &Request) -> Response {
        let authorized = request.header("authorization").is_some_and(|a| {
            a.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/"))
        });
        if !authorized || request.header("x-amz-date").is_none() {
            return error(403, "UnrecognizedClientException");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return error(400, "SerializationException");
        };
        let blob = |name: &str| body[name].as_str().and_then(|s| STANDARD.decode(s).ok());
        match request.header("x-amz-target") {
            Some("TrentService.Encrypt") => {
                let Some(plaintext) = blob("Plaintext") else {
                    return error(400, "ValidationException");
                };
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                let mut iv = [0u8; 12];
                iv[..8].copy_from_slice(&n.to_le_bytes());
                let mut ciphertext = iv.to_vec();
                ciphertext.extend(aead::seal(
                    &self.master,
                    &aead::Iv::from_bytes(iv),
                    &plaintext,
                    Some(KEY_ARN.as_bytes()),
                ));
                ok(json!({
                    "CiphertextBlob": STANDARD.encode(ciphertext),
                    "KeyId": KEY_ARN,
                    "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                }))
            }
            Some("TrentService.Decrypt") => {
                let opened = blob("CiphertextBlob").and_then(|c| {
                    let (iv, sealed) = c.split_at_checked(12)?;
                    let iv = aead::Iv::from_slice(iv).ok()?;
                    aead::open(&self.master, &iv, sealed, Some(KEY_ARN.as_bytes())).ok()
                });
                match opened {
                    Some(plaintext) => ok(json!({
                        "Plaintext": STANDARD.encode(plaintext.as_slice()),
                        "KeyId": KEY_ARN,
                        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                    })),
                    None => error(400, "InvalidCiphertextException"),
                }
            }
            _ => error(400, "UnknownOperationException"),
        }
    }
}

impl Transport for StatelessKms {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        Ok(self.answer(request))
    }
}

fn ok(body: Value) -> Response {
    Response {
        status: 200,
        headers: vec![(
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        )],
        body: body.to_string().into_bytes(),
    }
}

fn error(status: u16, code: &str) -> Response {
    Response {
        status,
        headers: vec![(
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        )],
        body: json!({ "__type": code }).to_string().into_bytes(),
    }
}

fn settings(url: &str) -> SealSettings {
    let mut settings = SealSettings::new(
        KEY_ARN,
        Endpoint::custom(url, REGION).expect("a loopback endpoint is valid"),
    );
    // Any retry would show up in the stats; none is expected.
    settings.retry = RetryConfig {
        initial_backoff_ms: 10,
        max_backoff_ms: 50,
        ..RetryConfig::default()
    };
    settings
}

fn credentials() -> Credentials {
    Credentials::new(ACCESS_KEY_ID, SECRET_KEY, None, None)
}

/// The resident set size of this process in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS is a number of kB")
}

/// A plaintext unique to (thread, i), of varying length (1 to 600 bytes).
fn plaintext(thread: usize, i: usize) -> Vec<u8> {
    let tag = format!("t{thread}-i{i}:");
    let len = 1 + (thread * 7919 + i * 104_729) % 600;
    tag.bytes().cycle().take(len.max(tag.len())).collect()
}

/// Runs `pairs_per_thread` encrypt+decrypt pairs on each of 8 threads sharing `seal`, checks
/// every value, keeps every 97th blob for a cross-thread check, and calls `checkpoint` once
/// every thread has passed the first quarter.
fn drive<T, C>(
    seal: &Seal<T, C, StdRuntime>,
    pairs_per_thread: usize,
    mut checkpoint: impl FnMut() + Send,
) -> Vec<(Vec<u8>, BlobInfo)>
where
    T: Transport + Sync,
    C: kms_seal_core::credentials::ProvideCredentials + Sync,
{
    let quarter = std::sync::Barrier::new(THREADS + 1);
    let kept = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let quarter = &quarter;
            let kept = &kept;
            scope.spawn(move || {
                let aad = format!("core/thread-{thread}");
                for i in 0..pairs_per_thread {
                    if i == pairs_per_thread / 4 {
                        quarter.wait();
                    }
                    let value = plaintext(thread, i);
                    let blob = seal
                        .encrypt(&value, Some(aad.as_bytes()))
                        .unwrap_or_else(|e| panic!("encrypt t{thread} i{i}: {e}"));
                    let opened = seal
                        .decrypt(&blob, Some(aad.as_bytes()))
                        .unwrap_or_else(|e| panic!("decrypt t{thread} i{i}: {e}"));
                    assert_eq!(opened.as_slice(), value, "t{thread} i{i} mismatched");
                    if i % 97 == 0 {
                        kept.lock().unwrap().push((value, blob));
                    }
                }
            });
        }
        quarter.wait();
        checkpoint();
    });
    kept.into_inner().unwrap()
}

/// Decrypts the kept blobs on one other thread, in reverse order.
fn recheck<T, C>(seal: &Seal<T, C, StdRuntime>, kept: &[(Vec<u8>, BlobInfo)])
where
    T: Transport + Sync,
    C: kms_seal_core::credentials::ProvideCredentials + Sync,
{
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for (value, blob) in kept.iter().rev() {
                let aad = match value.split(|&b| b == b'-').next() {
                    Some(t) => format!("core/thread-{}", String::from_utf8_lossy(&t[1..])),
                    None => unreachable!("every value starts with its thread tag"),
                };
                let opened = seal.decrypt(blob, Some(aad.as_bytes())).unwrap();
                assert_eq!(opened.as_slice(), value.as_slice());
            }
        });
    });
}

#[test]
fn twenty_thousand_pairs_from_eight_threads_with_steady_memory() {
    const PAIRS: usize = 20_000;
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seal = Seal::new(
        settings("https://kms.us-east-1.amazonaws.com"),
        StatelessKms::new(),
        credentials(),
        StdRuntime::new(),
    );
    let mut at_quarter = 0;
    let started = Instant::now();
    let kept = drive(&seal, PAIRS / THREADS, || at_quarter = rss_kib());
    let elapsed = started.elapsed();
    let at_end = rss_kib();

    let stats = seal.stats();
    assert_eq!(stats.calls as usize, 2 * PAIRS);
    assert_eq!(stats.attempts, stats.calls, "no retries: {stats:?}");
    assert_eq!(stats.retries, 0);
    assert_eq!(seal.key_id(), KEY_ARN);
    recheck(&seal, &kept);
    assert!(kept.len() >= PAIRS / 97);

    // Steady memory: what the first quarter allocated is reused, not grown.
    let margin = at_quarter / 10 + 2048;
    eprintln!(
        "load: {PAIRS} pairs on {THREADS} threads in {elapsed:?} ({:.0} pairs/s); \
         rss {at_quarter} KiB at the first quarter, {at_end} KiB at the end",
        PAIRS as f64 / elapsed.as_secs_f64()
    );
    assert!(
        at_end <= at_quarter + margin,
        "rss grew from {at_quarter} KiB to {at_end} KiB"
    );
}

#[test]
fn two_thousand_pairs_over_loopback_http_from_eight_threads() {
    const PAIRS: usize = 2_000;
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stub = Arc::new(StatelessKms::new());
    let upstream = stub.clone();
    let server = FaultServer::start(Upstream::Handler(Arc::new(move |r: &Request| {
        upstream.answer(r)
    })));
    server.keep_log(false);
    let mut config = TransportConfig::default();
    config.proxy = ProxyMode::Disabled;
    config.call_timeout = Duration::from_secs(10);
    let transport = UreqTransport::with_config(config).expect("a transport without proxy");
    let seal = Seal::new(
        settings(&server.url()),
        transport,
        credentials(),
        StdRuntime::new(),
    );

    let started = Instant::now();
    let kept = drive(&seal, PAIRS / THREADS, || {});
    let elapsed = started.elapsed();
    recheck(&seal, &kept);

    let stats = seal.stats();
    assert_eq!(stats.retries, 0, "{stats:?}");
    let requests = 2 * PAIRS + kept.len();
    assert_eq!(server.attempts(), requests);
    eprintln!(
        "load over http: {PAIRS} pairs on {THREADS} threads in {elapsed:?} ({:.0} pairs/s), \
         {} connections for {requests} requests",
        PAIRS as f64 / elapsed.as_secs_f64(),
        server.connections()
    );
    // Kept-alive connections are reused: far fewer connections than requests.
    assert!(
        server.connections() <= requests / 2,
        "{} connections for {requests} requests",
        server.connections()
    );
}
