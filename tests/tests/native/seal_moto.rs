//! The whole native stack against moto with SigV4 checking on: the core's `Seal` over
//! `UreqTransport`, the credential chain and `StdRuntime`, with credentials from each source
//! that can hold moto's access key (static, environment, shared files, container, and web
//! identity through moto's STS). A wrong secret must be rejected by moto's signature check.

use std::path::PathBuf;

use kms_seal_core::kms::endpoint::Endpoint;
use kms_seal_core::seal::{ErrorKind, Seal, SealSettings};
use kms_seal_tests::moto::{Moto, MotoOptions, Reply, StubServer};
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};
use kms_seal_ureq::runtime::StdRuntime;
use kms_seal_ureq::transport::UreqTransport;
use zeroize::Zeroizing;

type NativeSeal = Seal<UreqTransport, CredentialChain, StdRuntime>;

/// An environment with nothing but a private HOME and metadata disabled, plus `extra`.
fn env(extra: &[(&str, &str)]) -> EnvLookup {
    let mut pairs = vec![
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    EnvLookup::from_pairs(pairs)
}

fn seal(moto: &Moto, key_id: &str, chain: CredentialChain) -> NativeSeal {
    let endpoint = Endpoint::custom(&moto.endpoint, &moto.region).unwrap();
    Seal::new(
        SealSettings::new(key_id, endpoint),
        UreqTransport::new(),
        chain,
        StdRuntime,
    )
}

/// `init`, then an encrypt/decrypt round trip; returns where the credentials came from.
fn round_trip(moto: &Moto, chain: CredentialChain) -> &'static str {
    let mut s = seal(moto, &moto.alias, chain);
    s.init()
        .unwrap_or_else(|e| panic!("init: {e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(s.key_id(), moto.key_arn);
    let blob = s
        .encrypt(b"barrier keyring", Some(b"aad"))
        .unwrap_or_else(|e| panic!("encrypt: {e}\nmoto log:\n{}", moto.log_tail()));
    assert!(s.is_up_to_date(&blob));
    let plain = s.decrypt(&blob, Some(b"aad")).unwrap();
    assert_eq!(&plain[..], b"barrier keyring");
    let (_, from) = s
        .credentials()
        .resolve(kms_seal_core::time::Timestamp(0), false)
        .unwrap();
    from
}

fn static_chain(access: &str, secret: &str) -> CredentialChain {
    let mut config = ChainConfig::default();
    config.access_key = Some(access.to_owned());
    config.secret_key = Some(Zeroizing::new(secret.to_owned()));
    CredentialChain::new(config, env(&[]))
}

#[test]
fn static_environment_and_shared_file_credentials() {
    let moto = Moto::start();
    assert_eq!(
        round_trip(
            &moto,
            static_chain(&moto.access_key_id, &moto.secret_access_key)
        ),
        "static config"
    );
    let e = env(&[
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
    ]);
    assert_eq!(
        round_trip(&moto, CredentialChain::new(ChainConfig::default(), e)),
        "environment"
    );
    let file = std::env::temp_dir().join(format!("kms-seal-seal-moto-{}", std::process::id()));
    std::fs::write(
        &file,
        format!(
            "[vault]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.access_key_id, moto.secret_access_key
        ),
    )
    .unwrap();
    let mut config = ChainConfig::default();
    config.shared_credentials_file = Some(PathBuf::from(&file));
    config.profile = Some("vault".into());
    assert_eq!(
        round_trip(&moto, CredentialChain::new(config, env(&[]))),
        "shared files"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_wrong_secret_is_rejected_by_the_signature_check() {
    let moto = Moto::start();
    let mut wrong = moto.secret_access_key.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    let mut s = seal(
        &moto,
        &moto.key_arn,
        static_chain(&moto.access_key_id, &wrong),
    );
    let e = s.init().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    assert!(!e.to_string().contains(&wrong), "{e}");
}

#[test]
fn container_credentials_reach_kms() {
    let moto = Moto::start();
    let body = format!(
        r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Expiration":"2099-01-01T00:00:00Z"}}"#,
        moto.access_key_id, moto.secret_access_key
    );
    let endpoint = StubServer::start(move |r| match r.header("authorization") {
        Some("task-token") => Reply::status(200, body.clone()),
        _ => Reply::status(403, ""),
    });
    let full = format!("{}/creds", endpoint.url());
    let e = env(&[
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-token"),
    ]);
    assert_eq!(
        round_trip(&moto, CredentialChain::new(ChainConfig::default(), e)),
        "container"
    );
}

#[test]
fn web_identity_credentials_reach_kms() {
    let moto = Moto::start_with({
        let mut o = MotoOptions::default();
        o.extra_free_calls = 1;
        o
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let token = std::env::temp_dir().join(format!("kms-seal-seal-wit-{}", std::process::id()));
    std::fs::write(&token, "header.payload.signature").unwrap();
    let mut config = ChainConfig::default();
    config.role_arn = Some(moto.role_arn.clone());
    config.web_identity_token_file = Some(token.clone());
    config.sts_endpoint = Some(moto.endpoint.clone());
    assert_eq!(
        round_trip(&moto, CredentialChain::new(config, env(&[]))),
        "web identity"
    );
    let _ = std::fs::remove_file(token);
}
