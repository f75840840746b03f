//! Instance metadata (IMDSv2 with the IMDSv1 fallback) against scripted loopback servers,
//! including the time budgets: a black-holed address gives up within 1 s, an unanswered token
//! call with IMDSv1 answering gives credentials within 1.2 s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kms_seal_core::time::Timestamp;
use kms_seal_tests::moto::{RecordedRequest, Reply, StubServer};
use kms_seal_ureq::credentials::imds::{ImdsClient, ImdsConfig, ImdsError};
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};

const ROLE_JSON: &str = r#"{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-token","Expiration":"2099-01-01T00:00:00Z"}"#;

/// How the scripted metadata service treats the token call.
#[derive(Clone, Copy)]
enum TokenCall {
    Works,
    Hangs,
    Status(u16),
}

/// A metadata service: the token call behaves as told; the GETs require the token when the
/// token call works and serve one role.
fn metadata_service(token: TokenCall, credentials: &'static str) -> StubServer {
    StubServer::start(move |r: &RecordedRequest| {
        if r.path == "/latest/api/token" {
            return match token {
                TokenCall::Works if r.method == "PUT" => {
                    match r.header("x-aws-ec2-metadata-token-ttl-seconds") {
                        Some("21600") => Reply::status(200, "TOKEN-1"),
                        _ => Reply::status(400, "missing ttl"),
                    }
                }
                TokenCall::Works => Reply::status(405, ""),
                TokenCall::Hangs => Reply::Hang,
                TokenCall::Status(s) => Reply::status(s, ""),
            };
        }
        if matches!(token, TokenCall::Works)
            && r.header("x-aws-ec2-metadata-token") != Some("TOKEN-1")
        {
            return Reply::status(401, "");
        }
        match r.path.as_str() {
            "/latest/meta-data/iam/security-credentials/" => Reply::status(200, "my-role\n"),
            "/latest/meta-data/iam/security-credentials/my-role" => Reply::status(200, credentials),
            "/latest/meta-data/placement/region" => Reply::status(200, "eu-central-1"),
            _ => Reply::status(404, ""),
        }
    })
}

fn env_for(server: &StubServer, extra: &[(&str, &str)]) -> EnvLookup {
    // HOME points at an empty place so no real shared files are read; the container
    // variables are unset; only instance metadata can answer, on loopback.
    let mut pairs = vec![
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(), server.url()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    EnvLookup::from_pairs(pairs)
}

fn chain(env: EnvLookup) -> CredentialChain {
    CredentialChain::new(ChainConfig::default(), env)
}

#[test]
fn imdsv2_flow_sends_the_token() {
    let server = metadata_service(TokenCall::Works, ROLE_JSON);
    let (c, from) = chain(env_for(&server, &[]))
        .resolve(Timestamp(1_700_000_000), false)
        .unwrap();
    assert_eq!(from, "instance metadata");
    assert_eq!(c.access_key_id(), "ASIAIMDS");
    assert_eq!(c.secret_access_key(), "imds-secret");
    assert_eq!(c.session_token(), Some("imds-token"));
    assert_eq!(c.expires_at(), Some(Timestamp(4_070_908_800)));
    let seen = server.requests();
    assert_eq!(seen[0].method, "PUT");
    assert!(
        seen[1..]
            .iter()
            .all(|r| r.method == "GET" && r.header("x-aws-ec2-metadata-token") == Some("TOKEN-1"))
    );
    assert_eq!(seen.len(), 3);
}

#[test]
fn black_holed_metadata_gives_up_within_one_second() {
    let server = StubServer::black_hole();
    let chain = chain(env_for(&server, &[]));
    let started = Instant::now();
    let e = chain.resolve(Timestamp(1_700_000_000), false).unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    let text = e.to_string();
    assert!(text.contains("instance metadata"), "{text}");
    assert!(text.contains("AWS_EC2_METADATA_DISABLED"), "{text}");
    assert_eq!(e.attempts.len(), 6, "{text}");
    eprintln!("black-holed metadata: chain gave up after {elapsed:?}");
}

#[test]
fn unanswered_token_call_falls_back_to_imdsv1_within_1_2_seconds() {
    let server = metadata_service(TokenCall::Hangs, ROLE_JSON);
    let chain = chain(env_for(&server, &[]));
    let started = Instant::now();
    let (c, from) = chain.resolve(Timestamp(1_700_000_000), false).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1200), "took {elapsed:?}");
    assert_eq!(from, "instance metadata");
    assert_eq!(c.access_key_id(), "ASIAIMDS");
    let gets: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(
        gets.iter()
            .all(|r| r.header("x-aws-ec2-metadata-token").is_none())
    );
    eprintln!("token call unanswered, IMDSv1 answered: credentials after {elapsed:?}");
}

#[test]
fn v1_fallback_can_be_disabled() {
    let server = metadata_service(TokenCall::Hangs, ROLE_JSON);
    let chain = chain(env_for(
        &server,
        &[("AWS_EC2_METADATA_V1_DISABLED", "true")],
    ));
    let started = Instant::now();
    let e = chain.resolve(Timestamp(1_700_000_000), false).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let text = e.to_string();
    assert!(text.contains("AWS_EC2_METADATA_V1_DISABLED"), "{text}");
    assert!(server.requests().iter().all(|r| r.method == "PUT"));
}

#[test]
fn token_403_means_disabled_and_is_a_clear_failure() {
    let server = metadata_service(TokenCall::Status(403), ROLE_JSON);
    let e = chain(env_for(&server, &[]))
        .resolve(Timestamp(1_700_000_000), false)
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("aws credentials from instance metadata failed"),
        "{text}"
    );
    assert!(text.contains("403"), "{text}");
    assert!(server.requests().iter().all(|r| r.method == "PUT"));
}

#[test]
fn token_404_and_405_fall_back_to_imdsv1() {
    for status in [404, 405] {
        let server = metadata_service(TokenCall::Status(status), ROLE_JSON);
        let (c, _) = chain(env_for(&server, &[]))
            .resolve(Timestamp(1_700_000_000), false)
            .unwrap();
        assert_eq!(c.access_key_id(), "ASIAIMDS", "status {status}");
        // With IMDSv1 disabled the same answer is an error.
        let e = chain(env_for(
            &server,
            &[("AWS_EC2_METADATA_V1_DISABLED", "true")],
        ))
        .resolve(Timestamp(1_700_000_000), false)
        .unwrap_err();
        assert!(e.to_string().contains(&status.to_string()), "{e}");
    }
}

#[test]
fn malformed_credentials_json_is_a_failure() {
    for body in [
        "{\"AccessKeyId\": \"A\"",
        "<html>oops</html>",
        r#"{"Code":"Success","AccessKeyId":"A"}"#,
        r#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"denied"}"#,
    ] {
        let leaked: &'static str = Box::leak(body.to_owned().into_boxed_str());
        let server = metadata_service(TokenCall::Works, leaked);
        let e = chain(env_for(&server, &[]))
            .resolve(Timestamp(1_700_000_000), false)
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("aws credentials from instance metadata failed"),
            "{text}"
        );
        assert!(text.contains("my-role"), "{text}");
    }
}

#[test]
fn no_role_attached_is_explained() {
    let server = StubServer::start(|r| {
        if r.path == "/latest/api/token" {
            Reply::status(200, "T")
        } else {
            Reply::status(404, "")
        }
    });
    let e = chain(env_for(&server, &[]))
        .resolve(Timestamp(1_700_000_000), false)
        .unwrap_err();
    assert!(e.to_string().contains("instance profile"), "{e}");
}

#[test]
fn disabled_metadata_sends_nothing() {
    let server = metadata_service(TokenCall::Works, ROLE_JSON);
    let e = chain(env_for(&server, &[("AWS_EC2_METADATA_DISABLED", "true")]))
        .resolve(Timestamp(1_700_000_000), false)
        .unwrap_err();
    assert!(e.to_string().contains("AWS_EC2_METADATA_DISABLED"), "{e}");
    assert!(server.requests().is_empty());
}

#[test]
fn the_session_token_is_reused_and_renewed_after_401() {
    let puts = Arc::new(AtomicU32::new(0));
    let server = {
        let puts = puts.clone();
        StubServer::start(move |r| {
            if r.path == "/latest/api/token" {
                let n = puts.fetch_add(1, Ordering::SeqCst) + 1;
                return Reply::status(200, format!("T{n}"));
            }
            // Only the second token is accepted, as if the first had been revoked.
            match r.header("x-aws-ec2-metadata-token") {
                Some("T2") => Reply::status(200, "ap-south-2"),
                _ => Reply::status(401, ""),
            }
        })
    };
    let mut config = ImdsConfig::default();
    config.endpoint = server.url();
    let client = ImdsClient::new(config);
    assert_eq!(client.region().unwrap(), "ap-south-2");
    assert_eq!(client.region().unwrap(), "ap-south-2");
    assert_eq!(
        puts.load(Ordering::SeqCst),
        2,
        "token fetched twice, then reused"
    );
}

#[test]
fn a_5xx_is_retried_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let flaky = {
        let calls = calls.clone();
        StubServer::start(move |r| {
            if r.path == "/latest/api/token" {
                return Reply::status(200, "T");
            }
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(503, "")
            } else {
                Reply::status(200, "us-west-1")
            }
        })
    };
    let mut config = ImdsConfig::default();
    config.endpoint = flaky.url();
    assert_eq!(ImdsClient::new(config).region().unwrap(), "us-west-1");

    let broken = StubServer::start(|r| {
        if r.path == "/latest/api/token" {
            Reply::status(200, "T")
        } else {
            Reply::status(500, "")
        }
    });
    let mut config = ImdsConfig::default();
    config.endpoint = broken.url();
    let e = ImdsClient::new(config).region().unwrap_err();
    assert!(matches!(e, ImdsError::Status { status: 500, .. }), "{e:?}");
    assert_eq!(broken.requests().len(), 3, "token + two tries");
}

#[test]
fn nothing_listening_fails_fast() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = EnvLookup::from_pairs([
        ("HOME", "/nonexistent-kms-seal-home".to_owned()),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
    ]);
    let started = Instant::now();
    let e = chain(env).resolve(Timestamp(0), false).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(300));
    assert!(e.to_string().starts_with("no aws credentials found"), "{e}");
}
