//! The sans-IO seal against the in-memory mock KMS: what Vault's awskms wrapper does
//! (describe, envelope encrypt, decrypt of mechanisms 0 and 1, rotation), the retry policy
//! (attempt counts, backoff, budget, one-shot credential refresh and clock correction) and
//! secret hygiene.

use kms_seal_core::credentials::Credentials;
use kms_seal_core::envelope::{BlobInfo, KeyInfo, Mechanism};
use kms_seal_core::http::TransportErrorKind;
use kms_seal_core::kms::{Endpoint, ErrorClass};
use kms_seal_core::retry::{GiveUpReason, RetryConfig};
use kms_seal_core::seal::{ErrorKind, IntegrityError, Seal, SealError, SealSettings};
use kms_seal_core::time::Timestamp;
use kms_seal_tests::mock_kms::{
    FakeRuntime, Fault, MockKey, MockKms, NoCredentials, RotatingCredentials,
};

const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIDMOCKACCESSKEY";
const SECRET: &str = "mock-secret-key-do-not-print";
const NOW: Timestamp = Timestamp(1_767_225_600); // 2026-01-01T00:00:00Z

type TestSeal<'a> = Seal<&'a MockKms, Credentials, &'a FakeRuntime>;

struct Fixture {
    kms: MockKms,
    runtime: FakeRuntime,
    key: MockKey,
}

impl Fixture {
    fn new() -> Self {
        let kms = MockKms::new(REGION);
        kms.add_credentials(ACCESS_KEY, SECRET);
        let key = kms.create_key();
        kms.set_alias("alias/vault", &key);
        Fixture {
            kms,
            runtime: FakeRuntime::new(NOW),
            key,
        }
    }

    fn settings(&self, key_id: &str) -> SealSettings {
        SealSettings::for_region(key_id, REGION).unwrap()
    }

    fn seal(&self, settings: SealSettings) -> TestSeal<'_> {
        Seal::new(
            settings,
            &self.kms,
            Credentials::new(ACCESS_KEY, SECRET, None, None),
            &self.runtime,
        )
    }

    fn alias_seal(&self) -> TestSeal<'_> {
        let mut seal = self.seal(self.settings("alias/vault"));
        seal.init().unwrap();
        seal
    }
}

#[test]
fn init_describes_the_key_and_keeps_its_arn() {
    let f = Fixture::new();
    let mut seal = f.seal(f.settings("alias/vault"));
    assert_eq!(seal.key_id(), "alias/vault", "configured id before init");
    seal.init().unwrap();
    assert_eq!(seal.key_id(), f.key.arn);
    assert_eq!(f.kms.count("DescribeKey"), 1);
    let recorded = &f.kms.requests()[0];
    assert_eq!(recorded.body, serde_json::json!({"KeyId": "alias/vault"}));
    assert_eq!(
        recorded.request.url(),
        "https://kms.us-east-1.amazonaws.com/"
    );
    assert_eq!(
        recorded.request.header("x-amz-target"),
        Some("TrentService.DescribeKey")
    );

    let meta = seal.describe_key().unwrap();
    assert_eq!(meta.key_id, f.key.id);
    assert_eq!(meta.arn.as_deref(), Some(f.key.arn.as_str()));
    assert_eq!(meta.enabled, Some(true));
}

#[test]
fn key_not_required_skips_describe_key() {
    let f = Fixture::new();
    let mut settings = f.settings("");
    settings.key_not_required = true;
    let mut seal = f.seal(settings);
    seal.init().unwrap();
    assert_eq!(f.kms.request_count(), 0);
    assert_eq!(seal.key_id(), "");

    // Decrypt-only: KMS finds the key from the ciphertext.
    let sealer = f.alias_seal();
    let blob = sealer.encrypt(b"unseal key", None).unwrap();
    assert_eq!(seal.decrypt(&blob, None).unwrap().as_slice(), b"unseal key");
    // Encrypt needs a key id.
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains("set kms_key_id"), "{err}");
}

#[test]
fn init_refuses_unusable_keys() {
    let f = Fixture::new();
    f.kms.set_enabled(&f.key, false);
    let mut seal = f.seal(f.settings("alias/vault"));
    let err = seal.init().unwrap_err();
    assert!(matches!(err, SealError::KeyUnusable { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.to_string().contains(&f.key.arn));

    let signing = f.kms.create_key_with("SIGN_VERIFY", "ECC_NIST_P256");
    let mut seal = f.seal(f.settings(&signing.arn));
    let err = seal.init().unwrap_err();
    assert!(err.to_string().contains("ENCRYPT_DECRYPT"), "{err}");

    let mut seal = f.seal(f.settings("alias/missing"));
    let err = seal.init().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert_eq!(
        err.service_error().unwrap().code(),
        Some("NotFoundException")
    );
    assert!(err.to_string().contains("check kms_key_id"), "{err}");
    assert_eq!(err.attempts(), Some(1));
}

#[test]
fn encrypt_makes_a_mechanism_1_envelope_vault_can_read() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let plaintext = b"vault root key material";
    let blob = seal
        .encrypt(plaintext, Some(b"core/hsm/barrier-unseal-keys"))
        .unwrap();

    assert_eq!(blob.mechanism(), Mechanism::EnvelopeAesGcm);
    assert_eq!(blob.key_id(), Some(f.key.arn.as_str()));
    assert_eq!(blob.iv.len(), 12);
    assert_eq!(blob.ciphertext.len(), plaintext.len() + 16);
    assert!(blob.hmac.is_empty() && blob.plaintext.is_empty());
    let info = blob.key_info.as_ref().unwrap();
    let data_key = f
        .kms
        .plaintext_of(&info.wrapped_key)
        .expect("wrapped by the mock");
    assert_eq!(data_key.len(), 32);

    // The Encrypt request wrapped the data key under the configured id.
    let req = f
        .kms
        .requests()
        .into_iter()
        .find(|r| r.operation == "Encrypt")
        .unwrap();
    assert_eq!(req.body["KeyId"], "alias/vault");
    assert_eq!(req.body.as_object().unwrap().len(), 2, "{}", req.body);

    // Through the wire format and back.
    let decoded = BlobInfo::decode(&blob.encode()).unwrap();
    let opened = seal
        .decrypt(&decoded, Some(b"core/hsm/barrier-unseal-keys"))
        .unwrap();
    assert_eq!(opened.as_slice(), plaintext);

    // Fresh data key and IV each time.
    let again = seal.encrypt(plaintext, None).unwrap();
    assert_ne!(again.iv, blob.iv);
    assert_ne!(
        f.kms
            .plaintext_of(&again.key_info.unwrap().wrapped_key)
            .unwrap(),
        data_key
    );
}

#[test]
fn decrypt_sends_only_the_ciphertext() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let blob = seal.encrypt(b"v", None).unwrap();
    f.kms.clear_log();
    seal.decrypt(&blob, None).unwrap();
    let req = &f.kms.requests()[0];
    assert_eq!(req.operation, "Decrypt");
    let keys: Vec<&String> = req.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["CiphertextBlob"]);
}

#[test]
fn decrypts_mechanism_0_blobs() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let ciphertext = f.kms.encrypt_direct(&f.key, b"old recovery key");
    let bare = BlobInfo {
        ciphertext: ciphertext.clone(),
        ..BlobInfo::default()
    };
    assert_eq!(bare.mechanism(), Mechanism::AwsKmsEncrypt);
    assert_eq!(
        seal.decrypt(&bare, None).unwrap().as_slice(),
        b"old recovery key"
    );
    let with_info = BlobInfo {
        ciphertext,
        key_info: Some(KeyInfo {
            mechanism: 0,
            key_id: f.key.arn.clone(),
            ..KeyInfo::default()
        }),
        ..BlobInfo::default()
    };
    assert_eq!(
        seal.decrypt(&with_info, Some(b"ignored, as in vault"))
            .unwrap()
            .as_slice(),
        b"old recovery key"
    );
    assert!(!seal.is_up_to_date(&bare));
    assert!(seal.is_up_to_date(&with_info));
}

#[test]
fn integrity_failures() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let blob = seal.encrypt(b"secret value", Some(b"path/a")).unwrap();

    let err = seal.decrypt(&blob, Some(b"path/b")).unwrap_err();
    assert!(matches!(
        err,
        SealError::Integrity(IntegrityError::Authentication)
    ));
    assert_eq!(err.kind(), ErrorKind::Integrity);
    let err = seal.decrypt(&blob, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);

    let mut tampered = blob.clone();
    tampered.ciphertext[0] ^= 1;
    assert_eq!(
        seal.decrypt(&tampered, Some(b"path/a")).unwrap_err().kind(),
        ErrorKind::Integrity
    );

    let mut bad_iv = blob.clone();
    bad_iv.iv.pop();
    assert!(matches!(
        seal.decrypt(&bad_iv, Some(b"path/a")).unwrap_err(),
        SealError::Integrity(IntegrityError::IvLength(11))
    ));

    let mut bad_wrap = blob.clone();
    bad_wrap.key_info.as_mut().unwrap().wrapped_key[0] ^= 1;
    let err = seal.decrypt(&bad_wrap, Some(b"path/a")).unwrap_err();
    assert_eq!(
        err.service_error().unwrap().code(),
        Some("InvalidCiphertextException")
    );
    assert_eq!(err.kind(), ErrorKind::Integrity);
    assert_eq!(err.attempts(), Some(1), "not retried");

    let mut no_wrap = blob.clone();
    no_wrap.key_info.as_mut().unwrap().wrapped_key.clear();
    assert!(matches!(
        seal.decrypt(&no_wrap, None).unwrap_err(),
        SealError::Integrity(IntegrityError::MissingWrappedKey)
    ));

    let mut other = blob.clone();
    other.key_info.as_mut().unwrap().mechanism = 7;
    assert!(matches!(
        seal.decrypt(&other, None).unwrap_err(),
        SealError::Integrity(IntegrityError::UnsupportedMechanism(7))
    ));

    // A wrapped key that KMS decrypts to something other than 32 bytes.
    let mut short_key = blob.clone();
    short_key.key_info.as_mut().unwrap().wrapped_key = f.kms.encrypt_direct(&f.key, &[7; 16]);
    assert!(matches!(
        seal.decrypt(&short_key, None).unwrap_err(),
        SealError::Integrity(IntegrityError::DataKeyLength(16))
    ));

    assert!(matches!(
        seal.decrypt(&BlobInfo::default(), None).unwrap_err(),
        SealError::Integrity(IntegrityError::MissingCiphertext)
    ));
}

#[test]
fn rotation_old_blobs_decrypt_and_are_not_up_to_date() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let blob_a = seal.encrypt(b"sealed under A", None).unwrap();
    assert!(seal.is_up_to_date(&blob_a));

    let key_b = f.kms.create_key();
    f.kms.set_alias("alias/vault", &key_b);

    // Old data stays readable: Decrypt lets KMS find key A.
    assert_eq!(
        seal.decrypt(&blob_a, None).unwrap().as_slice(),
        b"sealed under A"
    );

    // New data uses B, and from then on the seal's current key is B.
    let blob_b = seal.encrypt(b"sealed under B", None).unwrap();
    assert_eq!(blob_b.key_id(), Some(key_b.arn.as_str()));
    assert_eq!(seal.key_id(), key_b.arn);
    assert!(!seal.is_up_to_date(&blob_a));
    assert!(seal.is_up_to_date(&blob_b));

    // Rewrap moves A's blob to B.
    let rewrapped = seal.rewrap(&blob_a, None).unwrap();
    assert_eq!(rewrapped.key_id(), Some(key_b.arn.as_str()));
    assert_eq!(
        seal.decrypt(&rewrapped, None).unwrap().as_slice(),
        b"sealed under A"
    );

    // A seal started after the move knows B from DescribeKey.
    let fresh = f.alias_seal();
    assert_eq!(fresh.key_id(), key_b.arn);
    assert!(!fresh.is_up_to_date(&blob_a));
}

#[test]
fn encryption_context_and_grant_tokens_are_sent_and_enforced() {
    let f = Fixture::new();
    let mut settings = f.settings("alias/vault");
    settings.encryption_context = vec![("vault".into(), "cluster-1".into())];
    settings.grant_tokens = vec!["grant-token-1".into()];
    let mut seal = f.seal(settings.clone());
    seal.init().unwrap();
    let blob = seal.encrypt(b"ctx", None).unwrap();
    assert_eq!(seal.decrypt(&blob, None).unwrap().as_slice(), b"ctx");
    for r in f.kms.requests() {
        assert_eq!(r.body["GrantTokens"][0], "grant-token-1", "{}", r.operation);
        if r.operation != "DescribeKey" {
            assert_eq!(r.body["EncryptionContext"]["vault"], "cluster-1");
        }
    }

    // A seal with another context cannot unwrap the data key.
    settings.encryption_context = vec![("vault".into(), "cluster-2".into())];
    let other = f.seal(settings);
    let err = other.decrypt(&blob, None).unwrap_err();
    assert_eq!(
        err.service_error().unwrap().code(),
        Some("InvalidCiphertextException")
    );
}

#[test]
fn throttling_is_retried_with_jittered_backoff() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    let before = seal.stats();
    f.kms.push_fault(Fault::throttling());
    f.kms.push_fault(Fault::unavailable());
    let blob = seal.encrypt(b"retry me", None).unwrap();
    assert_eq!(seal.decrypt(&blob, None).unwrap().as_slice(), b"retry me");

    let stats = seal.stats();
    assert_eq!(stats.calls - before.calls, 2);
    assert_eq!(stats.attempts - before.attempts, 4);
    assert_eq!(stats.retries - before.retries, 2);
    let sleeps = f.runtime.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] < 1000, "{sleeps:?}");
    assert!(sleeps[1] < 2000, "{sleeps:?}");
    assert_eq!(f.kms.pending_faults(), 0);
    // The encrypt's success refunded its last retry's tokens (the first retry's stay spent);
    // the decrypt's success without retries added one.
    assert_eq!(seal.retry_policy().budget().available(), 500 - 5 + 1);
}

#[test]
fn gives_up_after_max_attempts() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    f.kms.push_faults(5, Fault::html(502));
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert_eq!(err.attempts(), Some(3));
    assert!(matches!(
        err,
        SealError::Kms {
            reason: GiveUpReason::AttemptsExhausted,
            ..
        }
    ));
    let shown = err.to_string();
    assert!(
        shown.contains("http 502 with an html page: 502 Proxy Error"),
        "{shown}"
    );
    assert!(shown.contains("after 3 attempts"), "{shown}");
    assert!(shown.len() < 700, "{}", shown.len());
    assert_eq!(err.service_error().unwrap().class(), ErrorClass::Retryable);
    assert_eq!(f.runtime.sleeps().len(), 2);
    assert_eq!(f.kms.pending_faults(), 2);
}

#[test]
fn transport_errors_retry_only_when_retryable() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    f.kms
        .push_fault(Fault::Transport(TransportErrorKind::ConnectionReset));
    f.kms
        .push_fault(Fault::Transport(TransportErrorKind::Timeout));
    seal.encrypt(b"x", None).unwrap();
    assert_eq!(seal.retry_policy().budget().available(), 500 - 5);

    f.kms.clear_log();
    f.kms.push_fault(Fault::Transport(TransportErrorKind::Tls));
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(f.kms.request_count(), 1);
    assert!(
        err.to_string().starts_with("cannot reach kms: tls failure"),
        "{err}"
    );
}

#[test]
fn budget_exhaustion_stops_retries_across_calls() {
    let f = Fixture::new();
    let mut settings = f.settings("alias/vault");
    settings.retry = RetryConfig {
        budget: 12,
        ..RetryConfig::default()
    };
    let mut seal = f.seal(settings);
    seal.init().unwrap(); // success without retries: +1, capped at 12

    f.kms.push_faults(3, Fault::unavailable());
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.attempts(), Some(3));
    assert_eq!(seal.retry_policy().budget().available(), 2);

    f.kms.push_faults(3, Fault::unavailable());
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert!(matches!(
        err,
        SealError::Kms {
            reason: GiveUpReason::BudgetExhausted,
            attempts: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("retry budget exhausted"), "{err}");
}

#[test]
fn permanent_errors_are_not_retried() {
    let f = Fixture::new();
    let seal = f.alias_seal();
    for (fault, kind) in [
        (
            Fault::error(
                400,
                "AccessDeniedException",
                "User is not authorized to perform kms:Encrypt",
            ),
            ErrorKind::Kms,
        ),
        (
            Fault::error(400, "ValidationException", "bad"),
            ErrorKind::Kms,
        ),
        (
            Fault::error(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            ErrorKind::Credentials,
        ),
    ] {
        f.kms.clear_log();
        f.kms.push_fault(fault);
        let err = seal.encrypt(b"x", None).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.attempts(), Some(1));
        assert_eq!(f.kms.request_count(), 1);
    }
    assert!(f.runtime.sleeps().is_empty());

    f.kms.set_enabled(&f.key, false);
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(
        err.service_error().unwrap().code(),
        Some("DisabledException")
    );
    assert!(err.to_string().contains("enable the key"), "{err}");
}

#[test]
fn wrong_secret_is_a_credentials_error_from_xml() {
    let f = Fixture::new();
    let seal = Seal::new(
        f.settings("alias/vault"),
        &f.kms,
        Credentials::new(ACCESS_KEY, "not-the-secret", None, None),
        &f.runtime,
    );
    let err = seal.describe_key().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials);
    let service = err.service_error().unwrap();
    assert_eq!(service.status(), 403);
    assert_eq!(service.code(), Some("SignatureDoesNotMatch"));
    assert!(
        err.to_string().contains("check the secret access key"),
        "{err}"
    );
    assert_eq!(err.attempts(), Some(1));
}

#[test]
fn expired_token_refreshes_credentials_once() {
    let f = Fixture::new();
    let creds = RotatingCredentials::new(ACCESS_KEY, SECRET, "session");
    f.kms.expire_session_token(&creds.token(1));
    let mut seal = Seal::new(f.settings("alias/vault"), &f.kms, &creds, &f.runtime);
    seal.init().unwrap();
    assert_eq!(creds.forced_refreshes(), 1);
    let stats = seal.stats();
    assert_eq!(
        (stats.attempts, stats.retries, stats.credential_refreshes),
        (2, 1, 1)
    );
    let tokens: Vec<String> = f
        .kms
        .requests()
        .iter()
        .map(|r| {
            r.request
                .header("x-amz-security-token")
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(tokens, [creds.token(1), creds.token(2)]);
    assert!(f.runtime.sleeps().is_empty(), "refresh retries at once");
    assert_eq!(seal.retry_policy().budget().available(), 500);

    // Expired again right after a refresh: give up, as a credentials error.
    f.kms.expire_session_token(&creds.token(2));
    f.kms.expire_session_token(&creds.token(3));
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials);
    assert!(matches!(
        err,
        SealError::Kms {
            reason: GiveUpReason::AlreadyRefreshed,
            attempts: 2,
            ..
        }
    ));
}

#[test]
fn clock_skew_is_corrected_once_and_remembered() {
    let f = Fixture::new();
    // The local clock is an hour fast; the service's is right.
    f.kms.set_clock(Some(NOW));
    f.runtime.set_now(Timestamp(NOW.as_secs() + 3600));
    let mut seal = f.seal(f.settings("alias/vault"));
    seal.init().unwrap();
    let stats = seal.stats();
    assert_eq!((stats.attempts, stats.clock_corrections), (2, 1));
    assert_eq!(seal.retry_policy().clock_skew_secs(), -3600);
    let statuses: Vec<u16> = f.kms.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 200]);

    // Later calls sign with the corrected clock straight away.
    f.kms.clear_log();
    let blob = seal.encrypt(b"on time", None).unwrap();
    seal.decrypt(&blob, None).unwrap();
    assert_eq!(f.kms.request_count(), 2);
    assert_eq!(seal.stats().clock_corrections, 1);
    for r in f.kms.requests() {
        assert_eq!(r.request.header("x-amz-date"), Some("20260101T000000Z"));
    }

    // The server clock jumps: each call may correct once more.
    f.kms.set_clock(Some(Timestamp(NOW.as_secs() + 100_000)));
    seal.encrypt(b"x", None).unwrap();
    assert_eq!(seal.stats().clock_corrections, 2);
    assert_eq!(seal.retry_policy().clock_skew_secs(), 100_000 - 3600);

    // A skew error without a Date header cannot be corrected.
    f.kms.push_fault(Fault::Raw(kms_seal_core::http::Response {
        status: 400,
        headers: vec![],
        body: br#"{"__type":"RequestTimeTooSkewed"}"#.to_vec(),
    }));
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert!(matches!(
        err,
        SealError::Kms {
            reason: GiveUpReason::NoServerDate,
            attempts: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("check the system clock"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn signs_for_the_endpoints_signing_region() {
    let kms = MockKms::new("eu-central-1");
    kms.add_credentials(ACCESS_KEY, SECRET);
    let key = kms.create_key();
    let runtime = FakeRuntime::new(NOW);
    let endpoint = Endpoint::custom("http://127.0.0.1:4566/", "eu-central-1").unwrap();
    let mut seal = Seal::new(
        SealSettings::new(key.arn.clone(), endpoint),
        &kms,
        Credentials::new(ACCESS_KEY, SECRET, None, None),
        &runtime,
    );
    seal.init().unwrap();
    let r = &kms.requests()[0];
    assert_eq!(r.request.url(), "http://127.0.0.1:4566/");
    assert!(
        r.request
            .header("authorization")
            .unwrap()
            .contains("/eu-central-1/kms/aws4_request")
    );

    // Signed for the wrong region: the service says so, and it is not retried.
    let wrong = Endpoint::custom("http://127.0.0.1:4566/", "us-west-2").unwrap();
    let seal = Seal::new(
        SealSettings::new(key.arn, wrong),
        &kms,
        Credentials::new(ACCESS_KEY, SECRET, None, None),
        &runtime,
    );
    let err = seal.describe_key().unwrap_err();
    assert_eq!(
        err.service_error().unwrap().code(),
        Some("InvalidSignatureException")
    );
    assert_eq!(err.attempts(), Some(1));
}

#[test]
fn moto_quirks_are_tolerated() {
    let f = Fixture::new();
    f.kms.set_moto_quirks(true);
    let seal = f.alias_seal();
    let meta = seal.describe_key().unwrap();
    assert_eq!(meta.key_usage, None);
    let blob = seal.encrypt(b"quirky", None).unwrap();
    assert_eq!(seal.decrypt(&blob, None).unwrap().as_slice(), b"quirky");
}

#[test]
fn credential_and_random_failures() {
    let f = Fixture::new();
    let seal = Seal::new(
        f.settings("alias/vault"),
        &f.kms,
        NoCredentials("no provider had credentials: env: AWS_ACCESS_KEY_ID not set"),
        &f.runtime,
    );
    let err = seal.describe_key().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials);
    assert!(
        err.to_string().contains("AWS_ACCESS_KEY_ID not set"),
        "{err}"
    );
    assert_eq!(f.kms.request_count(), 0);

    let seal = f.alias_seal();
    f.runtime.set_random_fails(true);
    let err = seal.encrypt(b"x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Runtime);
    assert!(matches!(err, SealError::Random(_)));
}

#[test]
fn debug_and_display_never_show_secrets() {
    let f = Fixture::new();
    let creds = RotatingCredentials::new(ACCESS_KEY, SECRET, "token-secret");
    let mut seal = Seal::new(
        f.settings("alias/vault"),
        &f.kms,
        Credentials::new(ACCESS_KEY, SECRET, Some("token-secret-1".into()), None),
        &f.runtime,
    );
    seal.init().unwrap();
    let plaintext = b"PLAINTEXT-MARKER-0123456789";
    let blob = seal.encrypt(plaintext, None).unwrap();
    let data_key = f
        .kms
        .plaintext_of(&blob.key_info.as_ref().unwrap().wrapped_key)
        .unwrap();
    let opened = seal.decrypt(&blob, None).unwrap();

    f.kms
        .push_fault(Fault::error(400, "AccessDeniedException", "denied"));
    let kms_err = seal.encrypt(plaintext, None).unwrap_err();
    let integrity_err = seal.decrypt(&blob, Some(b"wrong")).unwrap_err();
    let mut settings = f.settings("alias/vault");
    settings.grant_tokens = vec!["GRANT-TOKEN-MARKER".into()];

    let shown = [
        format!("{seal:?}"),
        format!("{:?}", seal.settings()),
        format!("{settings:?}"),
        format!("{kms_err:?} {kms_err}"),
        format!("{integrity_err:?} {integrity_err}"),
        format!("{blob:?}"),
        format!("{creds:?}"),
    ]
    .join("\n");
    let text_markers = [
        SECRET,
        "token-secret-1",
        "PLAINTEXT-MARKER",
        "GRANT-TOKEN-MARKER",
    ];
    for marker in text_markers {
        assert!(!shown.contains(marker), "{marker} leaked in:\n{shown}");
    }
    for bytes in [&data_key[..], &opened[..]] {
        let as_debug = format!("{bytes:?}");
        let inner = &as_debug[1..as_debug.len() - 1];
        assert!(!shown.contains(inner), "bytes leaked in:\n{shown}");
    }
    assert!(shown.contains(ACCESS_KEY) || shown.contains("alias/vault"));
}

#[test]
fn one_seal_serves_many_threads() {
    fn assert_sync<T: Sync + Send>(_: &T) {}
    let f = Fixture::new();
    let seal = f.alias_seal();
    assert_sync(&seal);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let seal = &seal;
            s.spawn(move || {
                for i in 0..25u8 {
                    let value = [t, i, 42];
                    let aad = [i];
                    let blob = seal.encrypt(&value, Some(&aad)).unwrap();
                    assert_eq!(seal.decrypt(&blob, Some(&aad)).unwrap().as_slice(), value);
                    assert!(seal.is_up_to_date(&blob));
                }
            });
        }
    });
    let stats = seal.stats();
    assert_eq!(stats.calls, 1 + 200);
    assert_eq!(stats.attempts, stats.calls);
    assert_eq!(seal.key_id(), f.key.arn);
}
