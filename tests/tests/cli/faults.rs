//! Fault injection against the `kms-seal` binary: the [`FaultServer`] plays a scenario on
//! loopback in front of the in-memory [`MockKms`] (or moto, proxied, for the real-peer round
//! trip) and a fake instance-metadata service.
//!
//! For every scenario: the exit status, the number of requests the server saw, a bound on the
//! elapsed time, an empty stdout on failure, exactly one error line on stderr, and that no
//! secret (secret key, session token, plaintext, data key) appears on stderr.
//!
//! The CLI has no knob for the retry backoff (AWS's 1 s base applies; `AWS_MAX_ATTEMPTS`
//! bounds the attempts) nor for the 10 s per-call deadline, so the time bounds here allow for
//! them and most failure scenarios run with `AWS_MAX_ATTEMPTS=1` or `2`.
//!
//! The binary must be built first (`cargo build -p kms-seal-ureq --bin kms-seal`; the test
//! script does it), see [`kms_seal_tests::cli::kms_seal_bin`].

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::http::{Request, Response};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::cli;
use kms_seal_tests::fault_server::{Action, FaultServer, Upstream, refused_addr};
use kms_seal_tests::mock_kms::{MockKey, MockKms};
use kms_seal_tests::moto::Moto;

const REGION: &str = "us-east-1";
const ACCESS_KEY_ID: &str = "AKIDFAULTCLI00000001";
const SECRET_KEY: &str = "faultCliSecret/KEY/doNotPrint+9876543210";
const SESSION_TOKEN: &str = "FaultCliSessionToken-doNotPrint-7777";
const IMDS_ACCESS_KEY_ID: &str = "ASIAFAULTIMDS0000001";
const IMDS_SECRET_KEY: &str = "imdsSecret/KEY/doNotPrint+1122334455";
const IMDS_TOKEN_PREFIX: &str = "FaultImdsSessionToken-doNotPrint";
const PLAINTEXT: &[u8] = b"PLAINTEXT-SENTINEL: barrier keys must never reach stderr";

struct Rig {
    kms: Arc<MockKms>,
    key: MockKey,
    server: FaultServer,
}

fn rig() -> Rig {
    let kms = Arc::new(MockKms::new(REGION));
    kms.add_credentials(ACCESS_KEY_ID, SECRET_KEY);
    kms.add_credentials(IMDS_ACCESS_KEY_ID, IMDS_SECRET_KEY);
    let key = kms.create_key();
    let server = FaultServer::start(Upstream::Transport(kms.clone()));
    Rig { kms, key, server }
}

/// Static credentials from the environment, at most `attempts` attempts per call.
fn env(attempts: u32) -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
        ("AWS_SESSION_TOKEN".into(), SESSION_TOKEN.into()),
        ("AWS_MAX_ATTEMPTS".into(), attempts.to_string()),
    ]
}

fn run(url: &str, key_id: &str, command: &str, stdin: &[u8], env: &[(String, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    cli::run(
        &[
            "--endpoint",
            url,
            "--region",
            REGION,
            "--key-id",
            key_id,
            command,
        ],
        stdin,
        &env,
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Everything that must never be printed: credentials, the plaintext, and every data key the
/// CLI sent to KMS (as sent in base64, and in hex).
fn secrets(server: &FaultServer) -> Vec<String> {
    let mut secrets = vec![
        SECRET_KEY.to_owned(),
        SESSION_TOKEN.to_owned(),
        IMDS_SECRET_KEY.to_owned(),
        IMDS_TOKEN_PREFIX.to_owned(),
        String::from_utf8_lossy(PLAINTEXT).into_owned(),
        STANDARD.encode(PLAINTEXT),
    ];
    for seen in server.seen() {
        if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&seen.request.body)
            && let Some(key) = body["Plaintext"].as_str()
        {
            secrets.push(key.to_owned());
            if let Ok(raw) = STANDARD.decode(key) {
                secrets.push(raw.iter().map(|b| format!("{b:02x}")).collect());
            }
        }
    }
    secrets
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(out.status.success(), "kms-seal failed: {}", stderr(out));
    assert!(!out.stdout.is_empty());
}

/// Exit status 1, empty stdout, one error line that contains `expect`, no secret.
#[track_caller]
fn assert_failed(out: &Output, server: &FaultServer, expect: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty on failure, got {} bytes",
        out.stdout.len()
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("error:")).count(),
        1,
        "one error line: {err}"
    );
    assert!(err.contains(expect), "stderr lacks {expect:?}: {err}");
    for secret in secrets(server) {
        assert!(!err.contains(&secret), "stderr leaks a secret: {err}");
    }
}

#[test]
fn transient_failures_are_retried_until_success() {
    let rig = rig();
    rig.server.push_n(
        2,
        Action::kms_error(503, "ServiceUnavailableException", "busy"),
    );
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(3),
    );
    let elapsed = started.elapsed();
    assert_ok(&out);
    assert_eq!(rig.server.count("Encrypt"), 3);
    // Full jitter under caps of 1 s and 2 s, plus the process start.
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    rig.server.push(Action::kms_error(
        400,
        "ThrottlingException",
        "Rate exceeded",
    ));
    let dec = run(
        &rig.server.url(),
        &rig.key.arn,
        "decrypt",
        &out.stdout,
        &env(3),
    );
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);
    assert_eq!(rig.server.count("Decrypt"), 2);
}

#[test]
fn more_failures_than_attempts_fail_in_bounded_time() {
    let rig = rig();
    rig.server.push_n(
        5,
        Action::kms_error(400, "ThrottlingException", "Rate exceeded"),
    );
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(2),
    );
    let elapsed = started.elapsed();
    assert_failed(&out, &rig.server, "ThrottlingException");
    assert!(stderr(&out).contains("2 attempts"), "{}", stderr(&out));
    assert_eq!(rig.server.attempts(), 2);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn connection_refused_and_reset() {
    let addr = refused_addr();
    let started = Instant::now();
    let out = run(
        &format!("http://{addr}"),
        "alias/vault",
        "encrypt",
        PLAINTEXT,
        &env(2),
    );
    let nobody = FaultServer::start(Upstream::None);
    assert_failed(&out, &nobody, "connection refused");
    assert!(started.elapsed() < Duration::from_secs(3));

    let rig = rig();
    rig.server.push(Action::Reset);
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(2),
    );
    assert_ok(&out);
    assert_eq!(rig.server.attempts(), 2, "one reset, one success");

    rig.server.push_n(2, Action::Reset);
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(2),
    );
    assert_failed(&out, &rig.server, "cannot reach kms");
    assert_eq!(rig.server.attempts(), 4);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn headers_never_sent_hit_the_call_deadline() {
    let rig = rig();
    rig.server.push(Action::Hang);
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(1),
    );
    let elapsed = started.elapsed();
    assert_failed(&out, &rig.server, "timed out");
    assert_eq!(rig.server.attempts(), 1);
    // The CLI's per-call deadline is 10 s.
    assert!(elapsed >= Duration::from_secs(9), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn broken_answers_fail_cleanly() {
    let arn = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000";
    let mut huge = b"{\"CiphertextBlob\":\"".to_vec();
    huge.resize(10 * 1024 * 1024, b'A');
    let xml = "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The \
               request signature we calculated does not match</Message></Error></Errors>\
               </ErrorResponse>";
    let html = format!(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "proxy error ".repeat(300)
    );
    let cases: Vec<(&str, Action, &str)> = vec![
        (
            "invalid json",
            Action::respond(
                200,
                "application/x-amz-json-1.1",
                "not json {\"CiphertextBlob\"",
            ),
            "malformed response",
        ),
        (
            "missing field",
            Action::respond(
                200,
                "application/x-amz-json-1.1",
                format!("{{\"KeyId\":\"{arn}\"}}"),
            ),
            "CiphertextBlob",
        ),
        (
            "wrong type",
            Action::respond(
                200,
                "application/x-amz-json-1.1",
                format!("{{\"CiphertextBlob\":7,\"KeyId\":\"{arn}\"}}"),
            ),
            "kms",
        ),
        (
            "bad base64",
            Action::respond(
                200,
                "application/x-amz-json-1.1",
                format!("{{\"CiphertextBlob\":\"%%%not-base64%%%\",\"KeyId\":\"{arn}\"}}"),
            ),
            "base64",
        ),
        (
            "10 MB body",
            Action::respond(200, "application/x-amz-json-1.1", huge),
            "too large",
        ),
        (
            "xml 403",
            Action::respond(403, "text/html", xml),
            "SignatureDoesNotMatch",
        ),
        ("html 502", Action::respond(502, "text/html", html), "html"),
        (
            "truncated",
            Action::Truncate {
                status: 200,
                declared_len: 400,
                sent: br#"{"CiphertextBlob":"AQID"#.to_vec(),
            },
            "cannot reach kms",
        ),
    ];
    for (name, action, expect) in cases {
        let rig = rig();
        rig.server.push(action);
        let started = Instant::now();
        let out = run(
            &rig.server.url(),
            &rig.key.arn,
            "encrypt",
            PLAINTEXT,
            &env(1),
        );
        let elapsed = started.elapsed();
        assert_failed(&out, &rig.server, expect);
        assert_eq!(rig.server.attempts(), 1, "{name}");
        assert!(elapsed < Duration::from_secs(5), "{name}: {elapsed:?}");
        assert!(
            !stderr(&out).contains("proxy error proxy error"),
            "{name}: page quoted"
        );
        assert!(stderr(&out).len() < 800, "{name}: {}", stderr(&out));
    }
}

#[test]
fn a_wrong_data_key_never_reaches_stdout() {
    let rig = rig();
    let enc = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(1),
    );
    assert_ok(&enc);
    rig.server
        .push(Action::Rewrite(Arc::new(|mut response: Response| {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&response.body) {
                v["Plaintext"] = serde_json::Value::String(STANDARD.encode([7u8; 32]));
                response.body = v.to_string().into_bytes();
            }
            response
        })));
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "decrypt",
        &enc.stdout,
        &env(1),
    );
    assert_failed(&out, &rig.server, "authentication");
    assert_eq!(rig.server.count("Decrypt"), 1);

    // A ciphertext blob for another key of the same account: KMS decrypts it to another
    // data key; the value still does not open.
    let other = rig.kms.create_key();
    let mut blob = kms_seal_core::envelope::BlobInfo::decode(&enc.stdout).unwrap();
    blob.key_info.as_mut().unwrap().wrapped_key = rig.kms.encrypt_direct(&other, &[1u8; 32]);
    let stored = kms_seal_core::envelope::StoredValue::Bare(blob).encode();
    let out = run(&rig.server.url(), &rig.key.arn, "decrypt", &stored, &env(1));
    assert_failed(&out, &rig.server, "authentication");
}

#[test]
fn expired_static_token_fails_after_one_refresh() {
    let rig = rig();
    rig.kms.expire_session_token(SESSION_TOKEN);
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(3),
    );
    assert_failed(&out, &rig.server, "ExpiredToken");
    // The first attempt, then one retry with "refreshed" (the same) credentials.
    assert_eq!(rig.server.attempts(), 2);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn clock_skew_is_corrected() {
    let rig = rig();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rig.kms.set_clock(Some(Timestamp(now + 1200)));
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &env(1),
    );
    assert_ok(&out);
    assert_eq!(
        rig.server.attempts(),
        2,
        "rejected once, then signed at the server's time"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// How the fake instance-metadata service answers the token call.
#[derive(Clone, Copy, Debug)]
enum TokenCall {
    Works,
    Status(u16),
    Hangs,
}

/// A metadata service on loopback whose credentials come with a new session token on each
/// fetch (`<prefix>-1`, `-2`, ...), or with `credentials_body` when given.
struct Imds {
    server: FaultServer,
    fetches: Arc<AtomicU32>,
}

fn imds(token: TokenCall, credentials_body: Option<&'static str>) -> Imds {
    let fetches = Arc::new(AtomicU32::new(0));
    let counter = fetches.clone();
    let handler = move |r: &Request| -> Response {
        let reply = |status: u16, body: String| Response {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.into_bytes(),
        };
        match r.path_and_query.as_str() {
            "/latest/api/token" => match token {
                TokenCall::Works => reply(200, "IMDS-TOKEN".into()),
                TokenCall::Status(s) => reply(s, String::new()),
                // Only the first token call hangs (scripted); a second one gets a token.
                TokenCall::Hangs => reply(200, "IMDS-TOKEN".into()),
            },
            "/latest/meta-data/iam/security-credentials/" => reply(200, "fault-role".into()),
            "/latest/meta-data/iam/security-credentials/fault-role" => {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let body = credentials_body.map(str::to_owned).unwrap_or_else(|| {
                    serde_json::json!({
                        "Code": "Success",
                        "LastUpdated": "2026-01-01T00:00:00Z",
                        "Type": "AWS-HMAC",
                        "AccessKeyId": IMDS_ACCESS_KEY_ID,
                        "SecretAccessKey": IMDS_SECRET_KEY,
                        "Token": format!("{IMDS_TOKEN_PREFIX}-{n}"),
                        "Expiration": "2099-01-01T00:00:00Z",
                    })
                    .to_string()
                });
                reply(200, body)
            }
            _ => reply(404, String::new()),
        }
    };
    let server = FaultServer::start(Upstream::Handler(Arc::new(handler)));
    if let TokenCall::Hangs = token {
        server.push(Action::Hang);
    }
    Imds { server, fetches }
}

fn imds_env(imds: &Imds) -> Vec<(String, String)> {
    vec![
        ("AWS_EC2_METADATA_DISABLED".into(), "false".into()),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT".into(),
            imds.server.url(),
        ),
        ("AWS_MAX_ATTEMPTS".into(), "1".into()),
    ]
}

#[test]
fn instance_metadata_credentials_and_an_expired_token_refresh() {
    let rig = rig();
    let imds = imds(TokenCall::Works, None);
    rig.kms
        .expire_session_token(&format!("{IMDS_TOKEN_PREFIX}-1"));
    let started = Instant::now();
    let out = run(
        &rig.server.url(),
        &rig.key.arn,
        "encrypt",
        PLAINTEXT,
        &imds_env(&imds),
    );
    assert_ok(&out);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(rig.server.attempts(), 2, "expired once, then refreshed");
    assert_eq!(
        imds.fetches.load(Ordering::SeqCst),
        2,
        "credentials fetched again"
    );
    let tokens: Vec<String> = rig
        .server
        .seen()
        .iter()
        .filter_map(|s| s.request.header("x-amz-security-token").map(str::to_owned))
        .collect();
    assert_eq!(
        tokens,
        [
            format!("{IMDS_TOKEN_PREFIX}-1"),
            format!("{IMDS_TOKEN_PREFIX}-2")
        ]
    );
}

#[test]
fn instance_metadata_token_call_faults() {
    // 403: IMDS is disabled for this instance; no credentials, no KMS call.
    let kms = rig();
    let imds403 = imds(TokenCall::Status(403), None);
    let started = Instant::now();
    let out = run(
        &kms.server.url(),
        &kms.key.arn,
        "encrypt",
        PLAINTEXT,
        &imds_env(&imds403),
    );
    assert_failed(&out, &kms.server, "credentials");
    assert_eq!(kms.server.attempts(), 0, "no KMS call without credentials");
    assert!(started.elapsed() < Duration::from_secs(5));
    for secret in secrets(&imds403.server) {
        assert!(!stderr(&out).contains(&secret));
    }

    // 404 and 405: no IMDSv2 here; IMDSv1 answers.
    for status in [404, 405] {
        let kms = rig();
        let imds = imds(TokenCall::Status(status), None);
        let started = Instant::now();
        let out = run(
            &kms.server.url(),
            &kms.key.arn,
            "encrypt",
            PLAINTEXT,
            &imds_env(&imds),
        );
        assert_ok(&out);
        assert_eq!(kms.server.attempts(), 1, "{status}");
        assert_eq!(imds.fetches.load(Ordering::SeqCst), 1, "{status}");
        assert!(started.elapsed() < Duration::from_secs(5), "{status}");
    }

    // The token call hangs: IMDSv1 after the token call's deadline (at most 1 s).
    let kms = rig();
    let imds = imds(TokenCall::Hangs, None);
    let started = Instant::now();
    let out = run(
        &kms.server.url(),
        &kms.key.arn,
        "encrypt",
        PLAINTEXT,
        &imds_env(&imds),
    );
    let elapsed = started.elapsed();
    assert_ok(&out);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(kms.server.attempts(), 1);
    let calls: Vec<(String, &str)> = imds
        .server
        .seen()
        .iter()
        .map(|s| (s.request.path_and_query.clone(), s.action))
        .collect();
    assert_eq!(
        calls[0],
        ("/latest/api/token".to_owned(), "hang"),
        "{calls:?}"
    );
    assert_eq!(imds.fetches.load(Ordering::SeqCst), 1);
}

#[test]
fn malformed_instance_metadata_credentials_fail_without_echoing_them() {
    let rig = rig();
    let bodies: [&'static str; 3] = [
        "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAFAULTIMDS0000001\",\"SecretAccessKey\":\"imdsSecret/KEY/doNotPrint+1122334455\"",
        "{\"Code\":\"Success\",\"AccessKeyId\":7,\"SecretAccessKey\":\"imdsSecret/KEY/doNotPrint+1122334455\",\"Token\":\"FaultImdsSessionToken-doNotPrint-x\",\"Expiration\":\"2099-01-01T00:00:00Z\"}",
        "<html>not json</html>",
    ];
    for body in bodies {
        let imds = imds(TokenCall::Works, Some(body));
        let started = Instant::now();
        let out = run(
            &rig.server.url(),
            &rig.key.arn,
            "encrypt",
            PLAINTEXT,
            &imds_env(&imds),
        );
        assert_failed(&out, &rig.server, "credentials");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(rig.server.attempts(), 0, "no KMS call without credentials");
    }
}

#[test]
fn faults_in_front_of_moto_then_a_real_round_trip() {
    let moto = Moto::start();
    let upstream = moto
        .authority()
        .parse()
        .expect("moto listens on a loopback socket address");
    let server = FaultServer::start(Upstream::Proxy(upstream));
    server.push(Action::kms_error(
        503,
        "ServiceUnavailableException",
        "busy",
    ));
    server.push(Action::Reset);
    let env = vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), moto.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            moto.secret_access_key.clone(),
        ),
        ("AWS_MAX_ATTEMPTS".to_owned(), "3".to_owned()),
    ];
    let started = Instant::now();
    let enc = run(&server.url(), &moto.key_arn, "encrypt", PLAINTEXT, &env);
    assert_ok(&enc);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(server.count("Encrypt"), 3);

    server.push(Action::kms_error(500, "KMSInternalException", "internal"));
    let dec = run(&server.url(), &moto.key_arn, "decrypt", &enc.stdout, &env);
    assert_ok(&dec);
    assert_eq!(dec.stdout, PLAINTEXT);
    assert_eq!(server.count("Decrypt"), 2);

    // moto's own rejection (a wrong secret) comes back through the proxy as its XML page.
    let mut wrong = env.clone();
    wrong[1].1 = "wrong/secret/doNotPrint+000000000000000".to_owned();
    let out = run(&server.url(), &moto.key_arn, "encrypt", PLAINTEXT, &wrong);
    assert_failed(&out, &server, "SignatureDoesNotMatch");
    assert!(!stderr(&out).contains(&wrong[1].1));
    assert!(!stderr(&out).contains(&moto.secret_access_key));
}
