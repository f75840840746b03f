//! TLS trust over loopback HTTPS: a TLS front with a certificate from a private CA made by the
//! test, in front of moto. `AWS_CA_BUNDLE` and a profile's `ca_bundle` replace the built-in
//! roots; a certificate from another CA, for another name or expired fails once, fast, with
//! one line; an unusable bundle is a configuration error. Each scenario runs with boto3 first,
//! with the same environment.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::time::Timestamp;
use kms_seal_tests::moto::{Moto, MotoOptions};
use kms_seal_tests::tls_front::ConnectProxy;
use kms_seal_tests::tls_front::{TestCa, TlsFront};
use kms_seal_tests::{boto3, cli};
use kms_seal_ureq::credentials::profile::ProfileSelection;
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};
use kms_seal_ureq::native::{build_seal, https_config};

const PLAINTEXT: &[u8] = b"vault root key over https";

/// A private directory for one test's files, removed on drop.
pub(crate) struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("kms-seal-tls-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// The CLI's (and boto3's) environment: moto's key and credentials, the KMS endpoint, plus
/// `extra`. Both run with a cleared environment, so the `AWS_CA_BUNDLE` these machines preset
/// does not reach them unless `extra` sets it.
pub(crate) fn env_for(
    moto: &Moto,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    [
        ("VAULT_SEAL_TYPE", "awskms"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", &moto.alias),
        ("AWS_REGION", &moto.region),
        ("AWS_DEFAULT_REGION", &moto.region),
        ("AWS_KMS_ENDPOINT", endpoint),
        ("AWS_ACCESS_KEY_ID", &moto.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

pub(crate) fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// boto3's round trip against `endpoint` with `env`.
pub(crate) fn boto3_run(moto: &Moto, endpoint: &str, env: &[(String, String)]) -> Output {
    boto3::round_trip(endpoint, &moto.alias, &pairs(env))
}

/// `kms-seal encrypt` then `kms-seal decrypt` with `env`; panics unless both work.
pub(crate) fn cli_round_trip(env: &[(String, String)]) {
    let enc = cli::run(&["encrypt"], PLAINTEXT, &pairs(env));
    assert!(
        enc.status.success(),
        "kms-seal encrypt failed: {}",
        String::from_utf8_lossy(&enc.stderr)
    );
    let dec = cli::run(&["decrypt"], &enc.stdout, &pairs(env));
    assert!(
        dec.status.success(),
        "kms-seal decrypt failed: {}",
        String::from_utf8_lossy(&dec.stderr)
    );
    assert_eq!(dec.stdout, PLAINTEXT);
}

/// Runs `kms-seal encrypt` expecting exit `code` and exactly one error line, which it returns.
#[track_caller]
pub(crate) fn cli_fails(env: &[(String, String)], code: i32) -> (String, Duration) {
    let started = Instant::now();
    let out = cli::run(&["encrypt"], PLAINTEXT, &pairs(env));
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    (lines[0].to_owned(), took)
}

fn front_for(moto: &Moto, ca: &TestCa, names: &[&str]) -> TlsFront {
    TlsFront::start(
        format!("127.0.0.1:{}", moto.port).parse().unwrap(),
        ca.issue(names),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_private_ca_in_aws_ca_bundle_replaces_the_built_in_roots() {
    let moto = Moto::start();
    let dir = scratch("env-bundle");
    let ca = TestCa::new("kms-seal test CA");
    let bundle = dir.join("ca.pem");
    ca.write_pem(&bundle);
    let front = front_for(&moto, &ca, &["localhost", "127.0.0.1"]);

    let env = env_for(&moto, &front.url(), &[("AWS_CA_BUNDLE", path_str(&bundle))]);
    boto3::assert_works(&boto3_run(&moto, &front.url(), &env));
    let before = front.handshakes();
    cli_round_trip(&env);
    assert!(
        front.handshakes() > before,
        "kms-seal went through the TLS front"
    );

    // By IP address too (the certificate lists 127.0.0.1).
    let by_ip = format!("https://127.0.0.1:{}", front.port());
    cli_round_trip(&env_for(
        &moto,
        &by_ip,
        &[("AWS_CA_BUNDLE", path_str(&bundle))],
    ));

    // Without the bundle the built-in roots do not know the private CA.
    let env = env_for(&moto, &front.url(), &[]);
    boto3::assert_fails_with(
        &boto3_run(&moto, &front.url(), &env),
        "CERTIFICATE_VERIFY_FAILED",
    );
    let (line, _) = cli_fails(&env, 1);
    assert!(
        line.contains("certificate for localhost is not trusted (unknown issuer)"),
        "{line}"
    );
    assert!(line.contains("AWS_CA_BUNDLE"), "{line}");
}

#[test]
fn a_profile_ca_bundle_is_trusted_and_aws_ca_bundle_wins_over_it() {
    let moto = Moto::start();
    let dir = scratch("profile-bundle");
    let ca = TestCa::new("kms-seal profile CA");
    let other = TestCa::new("some other CA");
    let bundle = dir.join("ca.pem");
    let other_bundle = dir.join("other.pem");
    // A bundle of several certificates: another CA first, then the right one.
    std::fs::write(&bundle, format!("{}{}", other.pem(), ca.pem())).unwrap();
    other.write_pem(&other_bundle);
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = us-west-2\n\n[profile ops]\nca_bundle = {}\n",
            bundle.display()
        ),
    )
    .unwrap();
    let front = front_for(&moto, &ca, &["localhost"]);

    let profile_env = [
        ("AWS_CONFIG_FILE", path_str(&config)),
        ("AWS_PROFILE", "ops"),
    ];
    let env = env_for(&moto, &front.url(), &profile_env);
    boto3::assert_works(&boto3_run(&moto, &front.url(), &env));
    cli_round_trip(&env);

    // AWS_CA_BUNDLE wins over the profile's ca_bundle, for boto3 and for kms-seal.
    let mut wins = profile_env.to_vec();
    wins.push(("AWS_CA_BUNDLE", path_str(&other_bundle)));
    let env = env_for(&moto, &front.url(), &wins);
    boto3::assert_fails_with(
        &boto3_run(&moto, &front.url(), &env),
        "CERTIFICATE_VERIFY_FAILED",
    );
    let (line, _) = cli_fails(&env, 1);
    assert!(line.contains("not trusted (unknown issuer)"), "{line}");
    assert!(line.contains("other.pem (from AWS_CA_BUNDLE)"), "{line}");
}

#[test]
fn a_certificate_from_another_ca_fails_at_once_with_one_line() {
    let moto = Moto::start();
    let dir = scratch("wrong-ca");
    let trusted = TestCa::new("the CA the operator trusts");
    let bundle = dir.join("trusted.pem");
    trusted.write_pem(&bundle);
    let front = front_for(&moto, &TestCa::new("an unknown CA"), &["localhost"]);
    let extra = [
        ("AWS_CA_BUNDLE", path_str(&bundle)),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];

    let env = env_for(&moto, &front.url(), &extra);
    boto3::assert_fails_with(
        &boto3_run(&moto, &front.url(), &env),
        "CERTIFICATE_VERIFY_FAILED",
    );

    // The default retry budget (3 attempts) applies: a certificate failure is not retried.
    let env = env_for(&moto, &front.url(), &extra[..1]);
    let before = front.connections();
    let (line, took) = cli_fails(&env, 1);
    assert!(
        line.contains("tls failure: certificate for localhost is not trusted (unknown issuer)"),
        "{line}"
    );
    assert!(line.contains("trusted.pem (from AWS_CA_BUNDLE)"), "{line}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(
        front.connections() - before,
        1,
        "exactly one TLS connection, no retry"
    );
}

#[test]
fn a_certificate_for_another_name_fails_at_once_with_one_line() {
    let moto = Moto::start();
    let dir = scratch("wrong-name");
    let ca = TestCa::new("kms-seal test CA");
    let bundle = dir.join("ca.pem");
    ca.write_pem(&bundle);
    let front = front_for(&moto, &ca, &["kms.other.test"]);
    let env = env_for(
        &moto,
        &front.url(),
        &[
            ("AWS_CA_BUNDLE", path_str(&bundle)),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    boto3::assert_fails_with(
        &boto3_run(&moto, &front.url(), &env),
        "hostname 'localhost' doesn't match",
    );

    let env = env_for(&moto, &front.url(), &[("AWS_CA_BUNDLE", path_str(&bundle))]);
    let before = front.connections();
    let (line, took) = cli_fails(&env, 1);
    assert!(
        line.contains("certificate presented by localhost is for another name (hostname mismatch)"),
        "{line}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(
        front.connections() - before,
        1,
        "exactly one TLS connection, no retry"
    );
}

#[test]
fn an_expired_certificate_says_so() {
    let moto = Moto::start();
    let dir = scratch("expired");
    let ca = TestCa::new("kms-seal test CA");
    let bundle = dir.join("ca.pem");
    ca.write_pem(&bundle);
    let front = TlsFront::start(
        format!("127.0.0.1:{}", moto.port).parse().unwrap(),
        ca.issue_expired(&["localhost"]),
    );
    let env = env_for(
        &moto,
        &front.url(),
        &[
            ("AWS_CA_BUNDLE", path_str(&bundle)),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    boto3::assert_fails_with(
        &boto3_run(&moto, &front.url(), &env),
        "certificate has expired",
    );
    let (line, _) = cli_fails(&env, 1);
    assert!(
        line.contains("certificate for localhost has expired"),
        "{line}"
    );
    assert_eq!(front.connections(), 2, "one for boto3, one for kms-seal");
}

#[test]
fn an_unusable_bundle_is_a_configuration_error_naming_the_file() {
    let moto = Moto::start();
    let dir = scratch("garbage");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let ca = TestCa::new("kms-seal test CA");
    let front = front_for(&moto, &ca, &["localhost"]);

    let env = env_for(
        &moto,
        &front.url(),
        &[
            ("AWS_CA_BUNDLE", path_str(&garbage)),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    let py = boto3_run(&moto, &front.url(), &env);
    assert!(!py.status.success(), "boto3 refuses the garbage bundle too");
    let before = front.connections();
    let (line, _) = cli_fails(&env, 2);
    assert!(
        line.contains("garbage.pem holds no PEM certificate"),
        "{line}"
    );
    assert!(line.contains("AWS_CA_BUNDLE"), "{line}");

    let missing = dir.join("missing.pem");
    let env = env_for(
        &moto,
        &front.url(),
        &[("AWS_CA_BUNDLE", path_str(&missing))],
    );
    let (line, _) = cli_fails(&env, 2);
    assert!(line.contains("missing.pem (no such file)"), "{line}");
    assert_eq!(
        front.connections(),
        before,
        "kms-seal stopped before connecting"
    );
}

#[test]
fn build_seal_uses_the_bundle_of_its_environment() {
    let moto = Moto::start();
    let dir = scratch("build-seal");
    let ca = TestCa::new("kms-seal library CA");
    let bundle = dir.join("ca.pem");
    ca.write_pem(&bundle);
    let front = front_for(&moto, &ca, &["localhost"]);
    let url = front.url();
    let params = [
        ("kms_key_id", moto.alias.as_str()),
        ("endpoint", url.as_str()),
        ("region", moto.region.as_str()),
        ("access_key", moto.access_key_id.as_str()),
        ("secret_key", moto.secret_access_key.as_str()),
    ];
    let config = AwsKmsSealConfig::from_params(params, |_| None).unwrap();
    let env = |bundle: Option<&Path>| {
        let mut pairs = vec![
            ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ];
        if let Some(b) = bundle {
            pairs.push(("AWS_CA_BUNDLE".to_owned(), b.display().to_string()));
        }
        EnvLookup::from_pairs(pairs)
    };

    let mut seal = build_seal(&config, env(Some(&bundle))).unwrap().seal;
    seal.init().unwrap_or_else(|e| panic!("init: {e}"));
    let blob = seal.encrypt(PLAINTEXT, None).unwrap();
    assert_eq!(&seal.decrypt(&blob, None).unwrap()[..], PLAINTEXT);

    let mut untrusting = build_seal(&config, env(None)).unwrap().seal;
    let e = untrusting.init().unwrap_err().to_string();
    assert!(e.contains("not trusted (unknown issuer)"), "{e}");
}

#[test]
fn sts_calls_use_the_same_bundle_and_proxy_as_kms() {
    let moto = Moto::start_with({
        let mut o = MotoOptions::default();
        o.extra_free_calls = 2; // boto3's and kms-seal's unsigned AssumeRoleWithWebIdentity
        o
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = scratch("sts");
    let ca = TestCa::new("kms-seal STS CA");
    let bundle = dir.join("ca.pem");
    ca.write_pem(&bundle);
    let token = dir.join("token");
    std::fs::write(&token, "header.payload.signature").unwrap();
    let front = front_for(&moto, &ca, &["localhost"]);
    let proxy = ConnectProxy::start();
    let proxy_url = proxy.url();
    let env = [
        ("AWS_CA_BUNDLE", path_str(&bundle)),
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("AWS_REGION", moto.region.as_str()),
        ("AWS_DEFAULT_REGION", moto.region.as_str()),
    ];

    let script = "import sys, boto3\n\
        sts = boto3.client('sts', endpoint_url=sys.argv[1])\n\
        sts.assume_role_with_web_identity(RoleArn=sys.argv[2], RoleSessionName='boto3',\n\
                                          WebIdentityToken='header.payload.signature')\n\
        print('ok')\n";
    boto3::assert_works(&boto3::run_script(
        script,
        &[&front.url(), &moto.role_arn],
        &env,
    ));
    let tunnels = proxy.requests().len();
    assert!(tunnels > 0, "boto3 used the proxy");

    let lookup = EnvLookup::from_pairs(
        env.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned())]),
    );
    let mut config = ChainConfig::default();
    config.role_arn = Some(moto.role_arn.clone());
    config.web_identity_token_file = Some(token);
    config.sts_endpoint = Some(front.url());
    config.https = https_config(&ProfileSelection::resolve(None, None, &lookup), &lookup).unwrap();
    let chain = CredentialChain::new(config, lookup);
    let (_, from) = chain
        .resolve(Timestamp(0), false)
        .unwrap_or_else(|e| panic!("web identity through the front: {e}"));
    assert_eq!(from, "web identity");
    let seen = proxy.requests();
    assert!(
        seen.len() > tunnels,
        "kms-seal's STS call used the proxy: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|r| r.target == format!("localhost:{}", front.port()))
    );
}
