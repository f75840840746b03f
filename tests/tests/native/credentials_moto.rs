//! Credential sources against moto on loopback: web identity through moto's STS
//! `AssumeRoleWithWebIdentity`, and the instance profile and region through moto's instance
//! metadata. moto checks every call after its free ones, so the unsigned STS call only works
//! while a free call is left; once they are spent the failure must be reported clearly.

use std::path::PathBuf;

use kms_seal_core::time::Timestamp;
use kms_seal_tests::moto::{Moto, MotoOptions};
use kms_seal_ureq::credentials::imds::ImdsClient;
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};
use kms_seal_ureq::region::{self, RegionSource};

const NOW: Timestamp = Timestamp(1_800_000_000);

fn token_file(tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "kms-seal-web-identity-{tag}-{}",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln\n",
    )
    .unwrap();
    path
}

#[test]
fn moto_harness_bootstraps_a_key_and_a_user() {
    let moto = Moto::start();
    assert!(moto.endpoint.starts_with("http://127.0.0.1:"));
    assert!(moto.access_key_id.starts_with("AKIA"), "{moto:?}");
    assert_eq!(moto.secret_access_key.len(), 40);
    assert!(
        moto.key_arn.starts_with("arn:aws:kms:us-east-1:"),
        "{}",
        moto.key_arn
    );
    assert!(moto.key_arn.ends_with(&moto.key_id));
    assert!(
        moto.role_arn.contains(":role/kms-seal-role"),
        "{}",
        moto.role_arn
    );
    assert_eq!(moto.alias, "alias/vault-unseal");
}

#[test]
fn web_identity_against_moto_sts() {
    let moto = Moto::start_with({
        let mut o = MotoOptions::default();
        o.extra_free_calls = 2;
        o
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let token = token_file("sts");
    let base_env = || {
        EnvLookup::from_pairs([
            ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ])
    };

    // From the seal configuration.
    let mut config = ChainConfig::default();
    config.role_arn = Some(moto.role_arn.clone());
    config.web_identity_token_file = Some(token.clone());
    config.role_session_name = Some("vault-seal".into());
    config.sts_endpoint = Some(moto.endpoint.clone());
    let (c, from) = CredentialChain::new(config.clone(), base_env())
        .resolve(NOW, false)
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(from, "web identity");
    assert!(c.access_key_id().starts_with("ASIA"), "{c:?}");
    assert!(!c.secret_access_key().is_empty());
    assert!(c.session_token().is_some_and(|t| t.len() > 20));
    assert!(c.expires_at().is_some());

    // From the environment (EKS IRSA style).
    let env = EnvLookup::from_pairs([
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ("AWS_ROLE_ARN".to_owned(), moto.role_arn.clone()),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(),
            token.display().to_string(),
        ),
        ("AWS_ROLE_SESSION_NAME".to_owned(), "irsa".to_owned()),
        ("AWS_ENDPOINT_URL_STS".to_owned(), moto.endpoint.clone()),
    ]);
    let (c2, from) = CredentialChain::new(ChainConfig::default(), env)
        .resolve(NOW, false)
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(from, "web identity");
    assert_ne!(c2.access_key_id(), c.access_key_id());

    // The free calls are spent: moto now rejects the unsigned call, and the chain says so.
    let e = CredentialChain::new(config, base_env())
        .resolve(NOW, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("aws credentials from web identity failed: sts AssumeRoleWithWebIdentity"),
        "{e}"
    );
    assert!(e.contains("answered http"), "{e}");
    let _ = std::fs::remove_file(token);
}

#[test]
fn instance_profile_and_region_from_moto_metadata() {
    let moto = Moto::start();
    let env = EnvLookup::from_pairs([
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(),
            moto.endpoint.clone(),
        ),
    ]);
    let (c, from) = CredentialChain::new(ChainConfig::default(), env.clone())
        .resolve(NOW, false)
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(from, "instance metadata");
    assert_eq!(c.access_key_id(), "test-key");
    assert_eq!(c.session_token(), Some("test-session-token"));
    assert!(c.expires_at().is_some());

    let imds = ImdsClient::from_env(&env);
    let selection = ChainConfig::default().profile_selection(&env);
    let r = region::resolve(None, &selection, Some(&imds), &env).unwrap();
    assert_eq!(r.source, RegionSource::InstanceMetadata);
    assert_eq!(r.name, "us-east-1");
}
