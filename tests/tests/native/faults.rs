//! Fault injection against the native stack: the core [`Seal`] over
//! [`UreqTransport`] (real HTTP on loopback) talking to a [`FaultServer`] that plays a scenario
//! and then passes requests on to the in-memory [`MockKms`] (which checks every SigV4
//! signature).
//!
//! For every scenario: the outcome, the number of requests the server saw (and the seal's own
//! count), a bound on the elapsed time, and that no secret (secret key, session token, data
//! key, plaintext) appears in the error's `Display` or `Debug`. Backoff is configured small
//! (20 ms base) so the retry paths run in milliseconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::BlobInfo;
use kms_seal_core::http::{Response, TransportErrorKind};
use kms_seal_core::kms::Endpoint;
use kms_seal_core::retry::RetryConfig;
use kms_seal_core::seal::{ErrorKind, IntegrityError, Runtime as _, Seal, SealError, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::fault_server::{Action, FaultServer, Upstream, refused_addr};
use kms_seal_tests::mock_kms::{MockKey, MockKms, RotatingCredentials};
use kms_seal_ureq::runtime::StdRuntime;
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};

const REGION: &str = "us-east-1";
const ACCESS_KEY_ID: &str = "AKIDFAULTNATIVE00001";
const SECRET_KEY: &str = "faultNativeSecret/KEY/doNotPrint+0123456789";
const SESSION_TOKEN: &str = "FaultNativeSessionToken-doNotPrint-4242";
const PLAINTEXT: &[u8] = b"PLAINTEXT-SENTINEL: the barrier keys, never in an error";

/// Small backoff so that three attempts take milliseconds, not seconds.
const FAST_RETRY: RetryConfig = RetryConfig {
    max_attempts: 3,
    initial_backoff_ms: 20,
    max_backoff_ms: 100,
    budget: 500,
};

struct Rig {
    kms: Arc<MockKms>,
    key: MockKey,
    server: FaultServer,
}

fn rig() -> Rig {
    let kms = Arc::new(MockKms::new(REGION));
    kms.add_credentials(ACCESS_KEY_ID, SECRET_KEY);
    let key = kms.create_key();
    let server = FaultServer::start(Upstream::Transport(kms.clone()));
    Rig { kms, key, server }
}

fn transport(call_timeout: Duration) -> UreqTransport {
    let mut config = TransportConfig::default();
    config.connect_timeout = Duration::from_millis(500);
    config.call_timeout = call_timeout;
    config.proxy = ProxyMode::Disabled;
    UreqTransport::with_config(config).expect("a transport without a proxy builds")
}

fn settings(url: &str, key_id: &str) -> SealSettings {
    let endpoint = Endpoint::custom(url, REGION).expect("a loopback endpoint is valid");
    let mut settings = SealSettings::new(key_id, endpoint);
    settings.retry = FAST_RETRY;
    settings
}

fn static_credentials() -> Credentials {
    Credentials::new(
        ACCESS_KEY_ID,
        SECRET_KEY,
        Some(SESSION_TOKEN.to_owned()),
        None,
    )
}

type NativeSeal<C> = Seal<UreqTransport, C, StdRuntime>;

fn seal_for(rig: &Rig) -> NativeSeal<Credentials> {
    seal_with(rig, Duration::from_secs(5))
}

fn seal_with(rig: &Rig, call_timeout: Duration) -> NativeSeal<Credentials> {
    Seal::new(
        settings(&rig.server.url(), &rig.key.arn),
        transport(call_timeout),
        static_credentials(),
        StdRuntime::new(),
    )
}

/// Every secret the scenario could leak: the credentials, the plaintext, and each data key the
/// seal sent to KMS (base64 as sent, and hex).
fn secrets(server: &FaultServer) -> Vec<String> {
    let mut secrets = vec![
        SECRET_KEY.to_owned(),
        SESSION_TOKEN.to_owned(),
        String::from_utf8_lossy(PLAINTEXT).into_owned(),
        STANDARD.encode(PLAINTEXT),
    ];
    for seen in server.seen() {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&seen.request.body) else {
            continue;
        };
        if let Some(key) = body["Plaintext"].as_str() {
            secrets.push(key.to_owned());
            if let Ok(raw) = STANDARD.decode(key) {
                secrets.push(raw.iter().map(|b| format!("{b:02x}")).collect());
            }
        }
    }
    secrets
}

fn assert_no_secret(server: &FaultServer, error: &SealError) {
    let shown = format!("{error} / {error:?}");
    for secret in secrets(server) {
        assert!(
            !shown.contains(&secret),
            "error text leaks a secret: {shown}"
        );
    }
}

fn sealed(rig: &Rig) -> BlobInfo {
    let blob = seal_for(rig)
        .encrypt(PLAINTEXT, Some(b"core/keyring"))
        .expect("encrypt with no faults");
    rig.kms.clear_log();
    blob
}

#[test]
fn transient_statuses_are_retried_until_success() {
    let faults = [
        (
            "503",
            Action::kms_error(503, "ServiceUnavailableException", "busy"),
        ),
        (
            "500",
            Action::kms_error(500, "KMSInternalException", "internal"),
        ),
        (
            "throttling",
            Action::kms_error(400, "ThrottlingException", "Rate exceeded"),
        ),
    ];
    for (name, fault) in faults {
        let rig = rig();
        let seal = seal_for(&rig);
        rig.server.push_n(2, fault);
        let started = Instant::now();
        let blob = seal
            .encrypt(PLAINTEXT, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let elapsed = started.elapsed();
        assert_eq!(rig.server.count("Encrypt"), 3, "{name}");
        assert_eq!(seal.stats().attempts, 3, "{name}");
        assert_eq!(seal.stats().retries, 2, "{name}");
        assert!(elapsed < Duration::from_secs(2), "{name}: {elapsed:?}");
        assert_eq!(seal.decrypt(&blob, None).unwrap().as_slice(), PLAINTEXT);
    }
}

#[test]
fn more_failures_than_attempts_fail_naming_the_cause_in_bounded_time() {
    let rig = rig();
    let seal = seal_for(&rig);
    rig.server.push_n(
        5,
        Action::kms_error(503, "ServiceUnavailableException", "Service Unavailable"),
    );
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(rig.server.attempts(), 3);
    assert_eq!(rig.server.pending(), 2);
    assert_eq!(err.attempts(), Some(3));
    assert_eq!(err.kind(), ErrorKind::Kms);
    let shown = err.to_string();
    assert!(shown.contains("ServiceUnavailableException"), "{shown}");
    assert!(shown.contains("503"), "{shown}");
    assert!(shown.contains("3 attempts"), "{shown}");
    assert_no_secret(&rig.server, &err);
}

#[test]
fn connection_reset_is_retried() {
    let rig = rig();
    let seal = seal_for(&rig);
    rig.server.push(Action::Reset);
    seal.encrypt(PLAINTEXT, None).expect("a reset is retried");
    assert_eq!(rig.server.attempts(), 2);
    assert_eq!(seal.stats().attempts, 2);

    rig.server.push_n(3, Action::Reset);
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(rig.server.attempts(), 5);
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.attempts(), Some(3));
    let SealError::Transport { error, .. } = &err else {
        panic!("not a transport error: {err}");
    };
    assert!(
        error.kind.is_retryable(),
        "a reset is a retryable kind: {error:?}"
    );
    assert!(err.to_string().contains("cannot reach kms"), "{err}");
    assert_no_secret(&rig.server, &err);
}

#[test]
fn connection_refused_fails_fast_after_the_retries() {
    let addr = refused_addr();
    let seal = Seal::new(
        settings(&format!("http://{addr}"), "alias/vault"),
        transport(Duration::from_secs(5)),
        static_credentials(),
        StdRuntime::new(),
    );
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let SealError::Transport {
        error, attempts, ..
    } = &err
    else {
        panic!("not a transport error: {err}");
    };
    assert_eq!(error.kind, TransportErrorKind::ConnectionRefused);
    assert_eq!(*attempts, 3);
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert!(
        err.to_string().contains(&addr.to_string()),
        "names the address: {err}"
    );
}

#[test]
fn headers_never_sent_hit_the_deadline() {
    let rig = rig();
    let seal = seal_with(&rig, Duration::from_millis(300));
    rig.server.push_n(3, Action::Hang);
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(rig.server.attempts(), 3);
    let SealError::Transport { error, .. } = &err else {
        panic!("not a transport error: {err}");
    };
    assert_eq!(error.kind, TransportErrorKind::Timeout);
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_no_secret(&rig.server, &err);

    // One hang, then the upstream: the retry succeeds.
    rig.server.push(Action::Hang);
    seal.encrypt(PLAINTEXT, None)
        .expect("the retry after a timeout works");
    assert_eq!(rig.server.attempts(), 5);
}

#[test]
fn a_body_that_stalls_mid_way_hits_the_deadline() {
    let rig = rig();
    let seal = seal_with(&rig, Duration::from_millis(300));
    rig.server.push_n(
        3,
        Action::StallBody {
            status: 200,
            declared_len: 200,
            sent: br#"{"CiphertextBlob":"AQID"#.to_vec(),
        },
    );
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(rig.server.attempts(), 3);
    let SealError::Transport { error, .. } = &err else {
        panic!("not a transport error: {err}");
    };
    assert_eq!(error.kind, TransportErrorKind::Timeout);
}

#[test]
fn a_truncated_body_is_retried_and_then_reported() {
    let rig = rig();
    let seal = seal_for(&rig);
    let truncated = Action::Truncate {
        status: 200,
        declared_len: 300,
        sent: br#"{"CiphertextBlob":"AQIDBAUG","KeyId":"arn:aws:kms:us-ea"#.to_vec(),
    };
    rig.server.push(truncated.clone());
    seal.encrypt(PLAINTEXT, None)
        .expect("a truncated answer is retried");
    assert_eq!(rig.server.attempts(), 2);

    rig.server.push_n(3, truncated);
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(rig.server.attempts(), 5);
    let SealError::Transport { error, .. } = &err else {
        panic!("not a transport error: {err}");
    };
    assert!(
        matches!(
            error.kind,
            TransportErrorKind::Protocol | TransportErrorKind::ConnectionReset
        ),
        "{error:?}"
    );
    assert_no_secret(&rig.server, &err);
}

#[test]
fn malformed_success_bodies_are_not_retried_and_never_quoted() {
    let arn = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000";
    let cases: [(&str, String); 6] = [
        (
            "invalid json",
            "{\"CiphertextBlob\": \"AQID\", BODY-MARKER".to_owned(),
        ),
        (
            "xml",
            "<EncryptResponse>BODY-MARKER</EncryptResponse>".to_owned(),
        ),
        (
            "missing field",
            format!("{{\"KeyId\":\"{arn}\",\"BODY-MARKER\":1}}"),
        ),
        (
            "wrong type",
            format!("{{\"CiphertextBlob\":12345,\"KeyId\":\"{arn}\",\"x\":\"BODY-MARKER\"}}"),
        ),
        (
            "bad base64",
            format!("{{\"CiphertextBlob\":\"BODY-MARKER!!\",\"KeyId\":\"{arn}\"}}"),
        ),
        ("empty", String::new()),
    ];
    for (name, body) in cases {
        let rig = rig();
        let seal = seal_for(&rig);
        rig.server
            .push(Action::respond(200, "application/x-amz-json-1.1", body));
        let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
        assert_eq!(rig.server.attempts(), 1, "{name}: not retried");
        assert!(
            matches!(err, SealError::MalformedResponse(_)),
            "{name}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Kms, "{name}");
        assert!(!err.to_string().contains("BODY-MARKER"), "{name}: {err}");
        assert_no_secret(&rig.server, &err);
    }
}

#[test]
fn a_10_mb_body_is_capped() {
    let rig = rig();
    let seal = seal_for(&rig);
    let mut body = b"{\"CiphertextBlob\":\"".to_vec();
    body.resize(10 * 1024 * 1024, b'A');
    rig.server
        .push(Action::respond(200, "application/x-amz-json-1.1", body));
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let SealError::Transport { error, .. } = &err else {
        panic!("not a transport error: {err}");
    };
    assert_eq!(error.kind, TransportErrorKind::BodyTooLarge);
    assert_eq!(rig.server.attempts(), 1, "a too-large body is not retried");
    assert!(err.to_string().len() < 400, "{err}");
}

#[test]
fn xml_and_html_error_pages_become_typed_errors() {
    let rig = rig();
    let seal = seal_for(&rig);
    let xml = "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The \
               request signature we calculated does not match the signature you provided.\
               </Message></Error></Errors><RequestId>7a62c49f-347e</RequestId></ErrorResponse>";
    rig.server.push(Action::respond(403, "text/html", xml));
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert_eq!(rig.server.attempts(), 1, "an auth failure is not retried");
    assert_eq!(err.kind(), ErrorKind::Credentials);
    assert_eq!(
        err.service_error().and_then(|e| e.code()),
        Some("SignatureDoesNotMatch")
    );
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
    assert_no_secret(&rig.server, &err);

    let html = format!(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "upstream connect error ".repeat(400)
    );
    rig.server
        .push_n(3, Action::respond(502, "text/html", html.clone()));
    let started = Instant::now();
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(rig.server.attempts(), 4, "502 is retried");
    assert_eq!(err.attempts(), Some(3));
    let shown = err.to_string();
    assert!(shown.contains("502"), "{shown}");
    assert!(shown.contains("html"), "{shown}");
    assert!(
        !shown.contains("upstream connect error upstream"),
        "page quoted: {shown}"
    );
    assert!(shown.len() < 600, "{shown}");
}

#[test]
fn a_wrong_data_key_from_kms_never_yields_plaintext() {
    let rig = rig();
    let blob = sealed(&rig);
    let seal = seal_for(&rig);
    // A KMS (or something in between) answering Decrypt with another 32-byte key.
    rig.server
        .push(Action::Rewrite(Arc::new(|mut response: Response| {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&response.body) {
                v["Plaintext"] = serde_json::Value::String(STANDARD.encode([7u8; 32]));
                response.body = v.to_string().into_bytes();
            }
            response
        })));
    let before = rig.server.attempts();
    let err = seal.decrypt(&blob, Some(b"core/keyring")).unwrap_err();
    assert!(
        matches!(err, SealError::Integrity(IntegrityError::Authentication)),
        "{err:?}"
    );
    assert_eq!(rig.server.attempts(), before + 1);
    assert_no_secret(&rig.server, &err);

    // A 16-byte "data key" is refused before AES-GCM.
    rig.server
        .push(Action::Rewrite(Arc::new(|mut response: Response| {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&response.body) {
                v["Plaintext"] = serde_json::Value::String(STANDARD.encode([7u8; 16]));
                response.body = v.to_string().into_bytes();
            }
            response
        })));
    let err = seal.decrypt(&blob, Some(b"core/keyring")).unwrap_err();
    assert!(
        matches!(err, SealError::Integrity(IntegrityError::DataKeyLength(16))),
        "{err:?}"
    );
}

#[test]
fn a_ciphertext_blob_for_another_key_never_yields_plaintext() {
    let rig = rig();
    let original = sealed(&rig);
    let seal = seal_for(&rig);

    // The wrapped key of another key in the same account: KMS decrypts it (it finds the key
    // by itself), but to another data key, so AES-GCM authentication fails.
    let mut blob = original.clone();
    let other_key = rig.kms.create_key();
    blob.key_info
        .as_mut()
        .expect("a mechanism 1 blob has key_info")
        .wrapped_key = rig.kms.encrypt_direct(&other_key, &[9u8; 32]);
    let before = rig.server.attempts();
    let err = seal.decrypt(&blob, Some(b"core/keyring")).unwrap_err();
    assert!(
        matches!(err, SealError::Integrity(IntegrityError::Authentication)),
        "{err:?}"
    );
    assert_eq!(rig.server.attempts(), before + 1);
    assert_no_secret(&rig.server, &err);

    // A ciphertext this KMS never made (another account's): InvalidCiphertextException.
    let other = MockKms::new(REGION);
    let foreign_key = other.create_key();
    let foreign = (0..10)
        .map(|_| other.encrypt_direct(&foreign_key, &[9u8; 32]))
        .last()
        .expect("ten ciphertexts were made");
    let mut blob = original;
    blob.key_info
        .as_mut()
        .expect("a mechanism 1 blob has key_info")
        .wrapped_key = foreign;
    let before = rig.server.attempts();
    let err = seal.decrypt(&blob, Some(b"core/keyring")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert_eq!(
        err.service_error().and_then(|e| e.code()),
        Some("InvalidCiphertextException")
    );
    assert_eq!(rig.server.attempts(), before + 1, "not retried");
    assert_no_secret(&rig.server, &err);
}

#[test]
fn an_expired_token_is_refreshed_once() {
    let rig = rig();
    let credentials = RotatingCredentials::new(ACCESS_KEY_ID, SECRET_KEY, "FaultRotatingToken");
    rig.kms.expire_session_token(&credentials.token(1));
    let seal = Seal::new(
        settings(&rig.server.url(), &rig.key.arn),
        transport(Duration::from_secs(5)),
        &credentials,
        StdRuntime::new(),
    );
    let started = Instant::now();
    seal.encrypt(PLAINTEXT, None)
        .expect("fresh credentials are fetched after ExpiredTokenException");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(rig.server.attempts(), 2);
    assert_eq!(seal.stats().credential_refreshes, 1);
    assert_eq!(credentials.forced_refreshes(), 1);
    let tokens: Vec<String> = rig
        .server
        .seen()
        .iter()
        .filter_map(|s| s.request.header("x-amz-security-token").map(str::to_owned))
        .collect();
    assert_eq!(tokens, [credentials.token(1), credentials.token(2)]);

    // Credentials that stay expired: one refresh, then a clear credentials error.
    rig.kms.expire_session_token(&credentials.token(2));
    rig.kms.expire_session_token(&credentials.token(3));
    let err = seal.encrypt(PLAINTEXT, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials, "{err}");
    assert_eq!(rig.server.attempts(), 4);
    assert!(err.to_string().contains("ExpiredToken"), "{err}");
    assert!(
        !err.to_string().contains("FaultRotatingToken"),
        "token in error: {err}"
    );
}

#[test]
fn clock_skew_is_corrected_and_kept() {
    let rig = rig();
    let now = StdRuntime::new().now().as_secs();
    // The server's clock is 20 minutes ahead of ours.
    rig.kms.set_clock(Some(Timestamp(now + 1200)));
    let seal = seal_for(&rig);
    let started = Instant::now();
    seal.encrypt(PLAINTEXT, None)
        .expect("the seal corrects its signing clock from the Date header");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(rig.server.attempts(), 2);
    assert_eq!(seal.stats().clock_corrections, 1);
    let skew = seal.retry_policy().clock_skew_secs();
    assert!((1190..=1210).contains(&skew), "skew {skew}");
    // The correction is kept: the next call needs one attempt.
    seal.encrypt(PLAINTEXT, None)
        .expect("signed with the corrected clock");
    assert_eq!(rig.server.attempts(), 3);
}
