//! The credential chain's order, each non-metadata source (static, environment, shared files,
//! container), the error that lists every source, the cache, and the region chain. Every
//! chain here reads its environment through an injected lookup with
//! `AWS_EC2_METADATA_DISABLED=true` (or a loopback metadata address) and a private `HOME`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kms_seal_core::credentials::ProvideCredentials;
use kms_seal_core::time::Timestamp;
use kms_seal_tests::moto::{Reply, StubServer};
use kms_seal_ureq::credentials::imds::{ImdsClient, ImdsConfig};
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};
use kms_seal_ureq::region::{self, RegionSource};
use zeroize::Zeroizing;

const NOW: Timestamp = Timestamp(1_800_000_000);

/// A private directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("kms-seal-cred-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An environment with a private HOME, metadata disabled, plus `extra`.
fn env(home: &TempDir, extra: &[(&str, &str)]) -> EnvLookup {
    let mut pairs = vec![
        ("HOME".to_owned(), home.path().display().to_string()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    EnvLookup::from_pairs(pairs)
}

fn resolve(config: ChainConfig, env: EnvLookup) -> Result<(String, &'static str), String> {
    CredentialChain::new(config, env)
        .resolve(NOW, false)
        .map(|(c, from)| (c.access_key_id().to_owned(), from))
        .map_err(|e| e.to_string())
}

fn static_config(access: &str, secret: &str) -> ChainConfig {
    let mut config = ChainConfig::default();
    config.access_key = Some(access.to_owned());
    config.secret_key = Some(Zeroizing::new(secret.to_owned()));
    config
}

#[test]
fn every_source_is_listed_when_none_has_credentials() {
    let home = TempDir::new("none");
    let e = CredentialChain::new(ChainConfig::default(), env(&home, &[]))
        .resolve(NOW, false)
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("no aws credentials found; tried "),
        "{text}"
    );
    for name in [
        "static config",
        "environment",
        "shared files",
        "web identity",
        "container",
        "instance metadata",
    ] {
        assert!(
            text.contains(&format!("{name}: ")),
            "{name} missing from: {text}"
        );
    }
    assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
    assert!(text.contains("AWS_EC2_METADATA_DISABLED"), "{text}");
    assert!(!text.contains('\n'));
    // Through the core's trait the same text arrives.
    let core = CredentialChain::new(ChainConfig::default(), env(&home, &[]))
        .credentials(NOW, false)
        .unwrap_err();
    assert_eq!(core.to_string(), text);
}

#[test]
fn static_config_comes_first() {
    let home = TempDir::new("static");
    let e = env(
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
        ],
    );
    assert_eq!(
        resolve(static_config("AKIDSTATIC", "s"), e.clone()).unwrap(),
        ("AKIDSTATIC".to_owned(), "static config")
    );
    assert_eq!(
        resolve(ChainConfig::default(), e).unwrap(),
        ("AKIDENV".to_owned(), "environment")
    );
}

#[test]
fn environment_credentials_with_session_token() {
    let home = TempDir::new("env");
    let (c, from) = CredentialChain::new(
        ChainConfig::default(),
        env(
            &home,
            &[
                ("AWS_ACCESS_KEY_ID", "ASIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_SESSION_TOKEN", "envtoken"),
            ],
        ),
    )
    .resolve(NOW, false)
    .unwrap();
    assert_eq!(from, "environment");
    assert_eq!(c.secret_access_key(), "envsecret");
    assert_eq!(c.session_token(), Some("envtoken"));
}

#[test]
fn a_half_configured_source_stops_the_chain() {
    let home = TempDir::new("half");
    home.write(
        ".aws/credentials",
        "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=s\n",
    );
    let e = resolve(
        ChainConfig::default(),
        env(&home, &[("AWS_ACCESS_KEY_ID", "AKIDENV")]),
    )
    .unwrap_err();
    assert!(
        e.starts_with("aws credentials from environment failed: AWS_ACCESS_KEY_ID is set"),
        "{e}"
    );
    assert!(e.contains("static config:"), "{e}");
}

const CREDENTIALS_FILE: &str = "\
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

[work]
aws_access_key_id = AKIDWORK
aws_secret_access_key = work-secret
aws_session_token = work-token
";

const CONFIG_FILE: &str = "\
[default]
region = eu-west-1

[profile work]
region = us-west-2

[profile configonly]
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = config-secret
region = ap-northeast-1

[profile assumer]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
";

#[test]
fn shared_files_default_and_named_profiles() {
    let home = TempDir::new("files");
    home.write(".aws/credentials", CREDENTIALS_FILE);
    home.write(".aws/config", CONFIG_FILE);
    assert_eq!(
        resolve(ChainConfig::default(), env(&home, &[])).unwrap(),
        ("AKIDDEFAULT".to_owned(), "shared files")
    );
    let (c, _) = CredentialChain::new(
        ChainConfig::default(),
        env(&home, &[("AWS_PROFILE", "work")]),
    )
    .resolve(NOW, false)
    .unwrap();
    assert_eq!(c.access_key_id(), "AKIDWORK");
    assert_eq!(c.session_token(), Some("work-token"));
    // A profile that only the config file has, selected by the configuration.
    let mut config = ChainConfig::default();
    config.profile = Some("configonly".into());
    assert_eq!(
        resolve(config, env(&home, &[("AWS_PROFILE", "work")]))
            .unwrap()
            .0,
        "AKIDCONFIG"
    );
}

#[test]
fn shared_files_at_explicit_paths() {
    let home = TempDir::new("paths");
    let creds = home.write("elsewhere/creds.ini", CREDENTIALS_FILE);
    let env_only = env(
        &home,
        &[("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap())],
    );
    assert_eq!(
        resolve(ChainConfig::default(), env_only).unwrap().0,
        "AKIDDEFAULT"
    );

    let mut config = ChainConfig::default();
    config.shared_credentials_file = Some(creds.clone());
    config.profile = Some("work".into());
    assert_eq!(resolve(config, env(&home, &[])).unwrap().0, "AKIDWORK");

    // A configured file that does not exist is an error, not a silent fall-through.
    let mut config = ChainConfig::default();
    config.shared_credentials_file = Some(home.path().join("missing"));
    let e = resolve(config, env(&home, &[])).unwrap_err();
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn explicit_profile_problems_are_failures() {
    let home = TempDir::new("badprof");
    home.write(".aws/credentials", CREDENTIALS_FILE);
    home.write(".aws/config", CONFIG_FILE);
    let e = resolve(
        ChainConfig::default(),
        env(&home, &[("AWS_PROFILE", "nosuch")]),
    )
    .unwrap_err();
    assert!(
        e.starts_with("aws credentials from shared files failed: profile 'nosuch' not found"),
        "{e}"
    );
    // A role profile is assumed with its source profile's keys; STS's refusal names the
    // role and where the source credentials came from.
    let sts = StubServer::start(|_| {
        Reply::status(
            403,
            "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
        )
    });
    let e = resolve(
        ChainConfig::default(),
        env(
            &home,
            &[
                ("AWS_PROFILE", "assumer"),
                ("AWS_ENDPOINT_URL_STS", sts.url().as_str()),
            ],
        ),
    )
    .unwrap_err();
    assert!(
        e.contains(
            "sts AssumeRole of arn:aws:iam::123456789012:role/x with credentials from profile \
             'default' (AKIDDEFAULT) answered http 403 AccessDenied: no"
        ),
        "{e}"
    );
    assert_eq!(sts.requests().len(), 1);
}

#[test]
fn container_credentials_from_the_relative_uri() {
    let home = TempDir::new("ecs");
    let server = StubServer::start(|r| {
        if r.path == "/v2/credentials/task-1" {
            Reply::status(
                200,
                r#"{"RoleArn":"arn:aws:iam::1:role/task","AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret","Token":"ecs-token","Expiration":"2099-01-01T00:00:00Z"}"#,
            )
        } else {
            Reply::status(404, "")
        }
    });
    let mut config = ChainConfig::default();
    config.container_relative_base = Some(server.url());
    let (c, from) = CredentialChain::new(
        config,
        env(
            &home,
            &[(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/task-1",
            )],
        ),
    )
    .resolve(NOW, false)
    .unwrap();
    assert_eq!(from, "container");
    assert_eq!(c.access_key_id(), "ASIAECS");
    assert_eq!(c.session_token(), Some("ecs-token"));
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[test]
fn container_credentials_from_the_full_uri_with_a_token_file() {
    let home = TempDir::new("eks");
    let token = home.write("eks-token", "pod-identity-token\n");
    let server = StubServer::start(|r| match r.header("authorization") {
        Some("pod-identity-token") => Reply::status(
            200,
            r#"{"AccessKeyId":"ASIAEKS","SecretAccessKey":"eks-secret","Token":"eks-token","Expiration":"2099-01-01T00:00:00Z"}"#,
        ),
        _ => Reply::status(
            401,
            r#"{"code":"AccessDeniedException","message":"bad token"}"#,
        ),
    });
    let full = format!("{}/v1/credentials", server.url());
    let ok = env(
        &home,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token.to_str().unwrap(),
            ),
            // The file wins over the variable.
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale"),
        ],
    );
    assert_eq!(
        resolve(ChainConfig::default(), ok).unwrap(),
        ("ASIAEKS".to_owned(), "container")
    );
    let wrong = env(
        &home,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"),
        ],
    );
    let e = resolve(ChainConfig::default(), wrong).unwrap_err();
    assert!(
        e.starts_with("aws credentials from container failed"),
        "{e}"
    );
    assert!(
        e.contains("401") && e.contains("AccessDeniedException"),
        "{e}"
    );
}

#[test]
fn container_full_uri_must_not_be_plain_http_to_other_hosts() {
    let home = TempDir::new("ecsbad");
    let e = resolve(
        ChainConfig::default(),
        env(
            &home,
            &[(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://192.0.2.10/creds",
            )],
        ),
    )
    .unwrap_err();
    assert!(e.contains("plain http"), "{e}");
}

#[test]
fn malformed_container_answers_are_failures() {
    let home = TempDir::new("ecsjunk");
    for body in [
        "not json",
        r#"{"AccessKeyId":"A"}"#,
        r#"{"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"tomorrow"}"#,
    ] {
        let owned = body.to_owned();
        let server = StubServer::start(move |_| Reply::status(200, owned.clone()));
        let full = format!("{}/creds", server.url());
        let e = resolve(
            ChainConfig::default(),
            env(
                &home,
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str())],
            ),
        )
        .unwrap_err();
        assert!(
            e.starts_with("aws credentials from container failed"),
            "{e}"
        );
    }
}

#[test]
fn cache_serves_until_refresh_is_due_or_forced() {
    let home = TempDir::new("cache");
    let hits = Arc::new(AtomicU32::new(0));
    let server = {
        let hits = hits.clone();
        StubServer::start(move |_| {
            let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::status(
                200,
                format!(
                    r#"{{"AccessKeyId":"ASIA{n}","SecretAccessKey":"s","Token":"t","Expiration":"2027-01-15T08:00:00Z"}}"#
                ),
            )
        })
    };
    let full = format!("{}/creds", server.url());
    let chain = CredentialChain::new(
        ChainConfig::default(),
        env(
            &home,
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str())],
        ),
    );
    let expiry = 1_800_000_000; // 2027-01-15T08:00:00Z
    let early = Timestamp(expiry - 3600);
    assert_eq!(
        chain.resolve(early, false).unwrap().0.access_key_id(),
        "ASIA1"
    );
    assert_eq!(
        chain.resolve(early, false).unwrap().0.access_key_id(),
        "ASIA1"
    );
    assert_eq!(
        chain.resolve(early, true).unwrap().0.access_key_id(),
        "ASIA2"
    );
    let within_margin = Timestamp(expiry - 299);
    assert_eq!(
        chain
            .resolve(within_margin, false)
            .unwrap()
            .0
            .access_key_id(),
        "ASIA3"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let home = TempDir::new("secrets");
    home.write(
        ".aws/credentials",
        "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=file-secret-value\n",
    );
    let mut config = static_config("", "static-secret-value");
    config.session_token = Some(Zeroizing::new("static-token-value".into()));
    let debug = format!("{config:?}");
    assert!(!debug.contains("static-secret-value") && !debug.contains("static-token-value"));
    let e = resolve(config, env(&home, &[])).unwrap_err();
    assert!(!e.contains("static-secret-value"), "{e}");
    let chain = CredentialChain::new(ChainConfig::default(), env(&home, &[]));
    let (c, _) = chain.resolve(NOW, false).unwrap();
    assert!(!format!("{c:?}").contains("file-secret-value"));
    assert!(!format!("{chain:?}").contains("file-secret-value"));
}

#[test]
fn region_order_config_env_profile_metadata_default() {
    let home = TempDir::new("region");
    home.write(".aws/config", CONFIG_FILE);
    let metadata = StubServer::start(|r| match r.path.as_str() {
        "/latest/api/token" => Reply::status(200, "T"),
        "/latest/meta-data/placement/region" => Reply::status(200, "sa-east-1"),
        _ => Reply::status(404, ""),
    });
    let metadata_env = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("HOME".to_owned(), home.path().display().to_string()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(),
                metadata.url(),
            ),
        ];
        pairs.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        EnvLookup::from_pairs(pairs)
    };
    let check = |configured: Option<&str>, env: EnvLookup, name: &str, source: RegionSource| {
        let selection = ChainConfig::default().profile_selection(&env);
        let imds = ImdsClient::from_env(&env);
        let r = region::resolve(configured, &selection, Some(&imds), &env).unwrap();
        assert_eq!((r.name.as_str(), r.source), (name, source));
    };
    check(
        Some("ca-central-1"),
        metadata_env(&[("AWS_REGION", "eu-north-1")]),
        "ca-central-1",
        RegionSource::Config,
    );
    check(
        None,
        metadata_env(&[("AWS_REGION", "eu-north-1"), ("AWS_DEFAULT_REGION", "x")]),
        "eu-north-1",
        RegionSource::AwsRegion,
    );
    check(
        None,
        metadata_env(&[("AWS_DEFAULT_REGION", "eu-south-1")]),
        "eu-south-1",
        RegionSource::AwsDefaultRegion,
    );
    check(
        None,
        metadata_env(&[]),
        "eu-west-1",
        RegionSource::Profile("default".into()),
    );
    check(
        None,
        metadata_env(&[("AWS_PROFILE", "work")]),
        "us-west-2",
        RegionSource::Profile("work".into()),
    );
    check(
        None,
        metadata_env(&[("AWS_PROFILE", "assumer")]),
        "sa-east-1",
        RegionSource::InstanceMetadata,
    );
    check(
        None,
        metadata_env(&[
            ("AWS_PROFILE", "assumer"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]),
        "us-east-1",
        RegionSource::Default,
    );
}

#[test]
fn region_lookup_on_a_black_holed_metadata_address_is_bounded() {
    let hole = StubServer::black_hole();
    let mut config = ImdsConfig::default();
    config.endpoint = hole.url();
    let imds = ImdsClient::new(config);
    let env = EnvLookup::from_pairs([("HOME", "/nonexistent-kms-seal-home")]);
    let selection = ChainConfig::default().profile_selection(&env);
    let started = std::time::Instant::now();
    let r = region::resolve(None, &selection, Some(&imds), &env).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(r.source, RegionSource::Default);
}
