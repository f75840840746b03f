//! SigV4 signing of a KMS Encrypt request: kms-seal's signer with a cached key and with a cold
//! key (derive + sign), next to aws-sigv4 signing the same request in the same run. Two request
//! shapes: the three headers kms-seal sends, and the header set aws-sdk-kms sends (with it
//! aws-sigv4 makes 75 allocations per signature, close to the 77 the issue quotes).
//!
//! Run with `cargo bench -p kms-seal-tests --bench sigv4`; divan's `AllocProfiler` reports the
//! heap allocations per operation next to the time.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest as AwsRequest, SigningSettings as AwsSettings, sign as aws_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use divan::{AllocProfiler, Bencher, black_box};
use kms_seal_core::sigv4::{SignableRequest, SigningKey, SigningParams, SigningSettings, sign};
use kms_seal_core::time::Timestamp;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    // Timing means nothing if the signers disagree: check once before measuring.
    assert_signers_agree(HEADERS);
    assert_signers_agree(SDK_HEADERS);
    divan::main();
}

const ACCESS_KEY_ID: &str = "ASIAEXAMPLEEXAMPLE12";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// A session token of typical STS length.
const TOKEN: &str = concat!(
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleSessionTokenForBen",
    "chmarksOnlyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAA==",
);
const REGION: &str = "us-east-1";
const HOST: &str = "kms.us-east-1.amazonaws.com";
const TIME: u64 = 1_795_976_393;
/// An Encrypt body of about 200 bytes: key ARN, a 32-byte data key, an encryption context.
const BODY: &[u8] = br#"{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"dGhpcyBpcyB0aGUgMzItYnl0ZSBkYXRhIGtleSEhIQ==","EncryptionContext":{"purpose":"vault"}}"#;
const HEADERS: &[(&str, &str)] = &[
    ("host", HOST),
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

fn params() -> SigningParams<'static> {
    SigningParams {
        access_key_id: ACCESS_KEY_ID,
        session_token: Some(TOKEN),
        region: REGION,
        service: "kms",
        time: Timestamp(TIME),
        settings: SigningSettings::default(),
    }
}

/// kms-seal, key derived once (the seal caches it per day, region and service).
#[divan::bench(sample_count = 1000)]
fn kms_seal_cached_key(bencher: Bencher) {
    bench_kms_seal_cached_key(bencher, HEADERS);
}

fn bench_kms_seal_cached_key(bencher: Bencher, headers: &'static [(&'static str, &'static str)]) {
    let key =
        SigningKey::derive(SECRET, &Timestamp(TIME).date_stamp(), REGION, "kms").expect("key");
    let request = SignableRequest {
        headers,
        ..request()
    };
    let params = params();
    bencher.bench_local(|| sign(black_box(&request), black_box(&params), &key).expect("signs"));
}

/// kms-seal, key derived for every request.
#[divan::bench(sample_count = 1000)]
fn kms_seal_cold_key(bencher: Bencher) {
    let request = request();
    let params = params();
    bencher.bench_local(|| {
        let key = SigningKey::derive(
            black_box(SECRET),
            &params.time.date_stamp(),
            black_box(REGION),
            "kms",
        )
        .expect("key");
        sign(black_box(&request), black_box(&params), &key).expect("signs")
    });
}

/// aws-sigv4 1.6.4 signing the same request (it derives the key on every call; building its
/// `SignableRequest` parses the URI and is part of its signing API).
#[divan::bench(sample_count = 1000)]
fn aws_sigv4(bencher: Bencher) {
    bench_aws_sigv4(bencher, HEADERS);
}

fn bench_aws_sigv4(bencher: Bencher, headers: &'static [(&'static str, &'static str)]) {
    let identity = aws_identity();
    let params = aws_params(&identity);
    let uri = format!("https://{HOST}/");
    bencher.bench_local(|| {
        let request = AwsRequest::new(
            "POST",
            uri.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(black_box(BODY)),
        )
        .expect("request");
        aws_sign(request, black_box(&params)).expect("signs")
    });
}

/// aws-sigv4 as a client uses it per request: its parameters carry the signing time, so they
/// are built for every request too (kms-seal's `SigningParams` is a plain struct literal).
#[divan::bench(sample_count = 1000)]
fn aws_sigv4_with_params(bencher: Bencher) {
    let identity = aws_identity();
    let uri = format!("https://{HOST}/");
    bencher.bench_local(|| {
        let params = aws_params(black_box(&identity));
        let request = AwsRequest::new(
            "POST",
            uri.as_str(),
            HEADERS.iter().copied(),
            SignableBody::Bytes(black_box(BODY)),
        )
        .expect("request");
        aws_sign(request, &params).expect("signs")
    });
}

/// kms-seal and aws-sigv4 give the same signature for the benchmarked request.
fn assert_signers_agree(headers: &'static [(&'static str, &'static str)]) {
    let key =
        SigningKey::derive(SECRET, &Timestamp(TIME).date_stamp(), REGION, "kms").expect("key");
    let ours = sign(
        &SignableRequest {
            headers,
            ..request()
        },
        &params(),
        &key,
    )
    .expect("signs");
    let identity = aws_identity();
    let request = AwsRequest::new(
        "POST",
        format!("https://{HOST}/"),
        headers.iter().copied(),
        SignableBody::Bytes(BODY),
    )
    .expect("request");
    let (_, signature) = aws_sign(request, &aws_params(&identity))
        .expect("signs")
        .into_parts();
    assert_eq!(ours.signature(), signature, "signers disagree");
}

fn aws_identity() -> Identity {
    Credentials::new(
        ACCESS_KEY_ID,
        SECRET,
        Some(TOKEN.to_string()),
        None,
        "bench",
    )
    .into()
}

fn aws_params(identity: &Identity) -> aws_sigv4::http_request::SigningParams<'_> {
    v4::SigningParams::builder()
        .identity(identity)
        .region(REGION)
        .name("kms")
        .time(UNIX_EPOCH + Duration::from_secs(TIME))
        .settings(AwsSettings::default())
        .build()
        .expect("params")
        .into()
}

/// The headers aws-sdk-kms 1.129 puts on an Encrypt request before signing (values of the same
/// shape; `user-agent` is sent but neither signer signs it).
const SDK_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/x-amz-json-1.1"),
    ("x-amz-target", "TrentService.Encrypt"),
    ("content-length", "196"),
    (
        "amz-sdk-invocation-id",
        "b6a8e3c4-1f2d-4e5a-9b7c-0d1e2f3a4b5c",
    ),
    ("amz-sdk-request", "attempt=1; max=3"),
    (
        "x-amz-user-agent",
        "aws-sdk-rust/1.3.10 ua/2.1 api/kms/1.129.0 os/linux lang/rust/1.95.0 m/E",
    ),
    (
        "user-agent",
        "aws-sdk-rust/1.3.10 os/linux lang/rust/1.95.0",
    ),
    ("host", HOST),
];

/// kms-seal, cached key, the request with the SDK's header set.
#[divan::bench(sample_count = 1000)]
fn sdk_headers_kms_seal_cached_key(bencher: Bencher) {
    bench_kms_seal_cached_key(bencher, SDK_HEADERS);
}

/// aws-sigv4, the request with the SDK's header set.
#[divan::bench(sample_count = 1000)]
fn sdk_headers_aws_sigv4(bencher: Bencher) {
    bench_aws_sigv4(bencher, SDK_HEADERS);
}
