//! Differential check of the seal's whole request path (KMS request builder, header order,
//! signing time, session token, custom endpoints) against the official `aws-sigv4` crate: every
//! request the seal sends to the mock is signed again by `aws-sigv4` from its unsigned headers,
//! body and `x-amz-date`, and the signatures must be identical.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::Request;
use kms_seal_core::kms::Endpoint;
use kms_seal_core::seal::{Seal, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::mock_kms::{FakeRuntime, MockKms, parse_amz_date};

const ACCESS_KEY: &str = "AKIDORACLEEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Signs `request`'s unsigned part with aws-sigv4 and returns its headers.
fn oracle_headers(request: &Request, region: &str, token: Option<&str>) -> Vec<(String, String)> {
    let time = parse_amz_date(request.header("x-amz-date").expect("signed")).expect("valid date");
    let identity: Identity =
        AwsCredentials::new(ACCESS_KEY, SECRET, token.map(String::from), None, "oracle").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kms")
        .time(UNIX_EPOCH + Duration::from_secs(time.as_secs()))
        .settings(SigningSettings::default())
        .build()
        .expect("complete params")
        .into();
    let unsigned: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "x-amz-date" | "authorization" | "x-amz-security-token"
            )
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        unsigned.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["host", "content-type", "x-amz-target"]
    );
    let url = request.url();
    let signable = SignableRequest::new(
        "POST",
        &url,
        unsigned.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

fn check_all(kms: &MockKms, region: &str, token: Option<&str>) -> usize {
    let requests = kms.requests();
    for r in &requests {
        assert_eq!(r.status, 200, "{} was accepted by the mock", r.operation);
        for (name, value) in oracle_headers(&r.request, region, token) {
            assert_eq!(
                r.request.header(&name),
                Some(value.as_str()),
                "{name} of {} differs from aws-sigv4",
                r.operation
            );
        }
    }
    requests.len()
}

fn run_seal(endpoint: Endpoint, region: &str, token: Option<&str>) -> usize {
    let kms = MockKms::new(region);
    kms.add_credentials(ACCESS_KEY, SECRET);
    let key = kms.create_key();
    kms.set_alias("alias/oracle", &key);
    let runtime = FakeRuntime::new(Timestamp(1_767_225_600));
    let mut settings = SealSettings::new("alias/oracle", endpoint);
    settings.encryption_context = vec![
        ("b-key".into(), "v with spaces".into()),
        ("a\"quote".into(), "é".into()),
    ];
    settings.grant_tokens = vec!["gt-1".into()];
    let mut seal = Seal::new(
        settings,
        &kms,
        Credentials::new(ACCESS_KEY, SECRET, token.map(String::from), None),
        &runtime,
    );
    seal.init().unwrap();
    let blob = seal.encrypt(&[0u8; 3000], Some(b"aad")).unwrap();
    seal.decrypt(&blob, Some(b"aad")).unwrap();
    runtime.set_now(Timestamp(1_767_225_600 + 86_399));
    seal.decrypt(&blob, Some(b"aad")).unwrap();
    check_all(&kms, region, token)
}

#[test]
fn standard_endpoint_requests_match_aws_sigv4() {
    let n = run_seal(
        Endpoint::for_region("eu-west-1").unwrap(),
        "eu-west-1",
        None,
    );
    assert_eq!(n, 4);
}

#[test]
fn session_token_requests_match_aws_sigv4() {
    let n = run_seal(
        Endpoint::for_region("ap-southeast-2").unwrap(),
        "ap-southeast-2",
        Some("FwoGZXIvYXdzEJr//////////wEaDOracleSessionToken+/="),
    );
    assert_eq!(n, 4);
}

#[test]
fn custom_endpoint_with_port_and_path_matches_aws_sigv4() {
    let endpoint = Endpoint::custom("http://127.0.0.1:4566/kms/proxy", "us-west-2").unwrap();
    let n = run_seal(endpoint, "us-west-2", None);
    assert_eq!(n, 4);
}

#[test]
fn fips_and_china_endpoints_match_aws_sigv4() {
    let n = run_seal(
        Endpoint::for_region("us-gov-west-1-fips").unwrap(),
        "us-gov-west-1",
        None,
    );
    assert_eq!(n, 4);
    let n = run_seal(
        Endpoint::for_region("cn-north-1").unwrap(),
        "cn-north-1",
        None,
    );
    assert_eq!(n, 4);
}
