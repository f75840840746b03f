//! Proxies: KMS over HTTPS through a loopback HTTP CONNECT proxy that records its targets,
//! `NO_PROXY` bypass, lower-case variables, proxy credentials that are sent but never printed,
//! and container and instance-metadata credentials that never go through a proxy. Each
//! scenario runs with boto3 first, with the same environment.

use std::time::Duration;

use kms_seal_tests::boto3;
use kms_seal_tests::moto::{Moto, Reply, StubServer};
use kms_seal_tests::tls_front::{ConnectProxy, ProxyRequest, TestCa, TlsFront};

use crate::tls_trust::{Scratch, boto3_run, cli_fails, cli_round_trip, env_for, scratch};

/// moto behind a TLS front with a private CA, and the bundle that trusts it.
struct Rig {
    moto: Moto,
    front: TlsFront,
    bundle: String,
    _dir: Scratch,
}

impl Rig {
    fn start(test: &str) -> Rig {
        let moto = Moto::start();
        let ca = TestCa::new("kms-seal proxy test CA");
        let dir = scratch(test);
        let bundle = dir.join("ca.pem");
        ca.write_pem(&bundle);
        let front = TlsFront::start(
            format!("127.0.0.1:{}", moto.port).parse().unwrap(),
            ca.issue(&["localhost"]),
        );
        Rig {
            moto,
            front,
            bundle: bundle.display().to_string(),
            _dir: dir,
        }
    }

    fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![("AWS_CA_BUNDLE", self.bundle.as_str())];
        all.extend_from_slice(extra);
        env_for(&self.moto, &self.front.url(), &all)
    }

    /// `CONNECT localhost:<front port>`.
    fn connect_to_front(&self) -> ProxyRequest {
        ProxyRequest {
            method: "CONNECT".to_owned(),
            target: format!("localhost:{}", self.front.port()),
            authorization: None,
        }
    }
}

/// Every request `proxy` saw was a CONNECT to the front, and there was at least one.
#[track_caller]
fn only_tunnels_to_the_front(proxy: &ConnectProxy, rig: &Rig, who: &str) {
    let seen = proxy.requests();
    assert!(!seen.is_empty(), "{who} did not use the proxy");
    for r in &seen {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("CONNECT", rig.connect_to_front().target.as_str()),
            "{who}: {seen:?}"
        );
    }
    proxy.clear();
}

#[test]
fn kms_over_https_goes_through_the_connect_proxy() {
    let rig = Rig::start("proxy-upper");
    let proxy = ConnectProxy::start();
    let env = rig.env(&[("HTTPS_PROXY", &proxy.url())]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    only_tunnels_to_the_front(&proxy, &rig, "boto3");
    cli_round_trip(&env);
    only_tunnels_to_the_front(&proxy, &rig, "kms-seal");

    // HTTP_PROXY is for http:// only: an https call goes direct.
    let env = rig.env(&[("HTTP_PROXY", &proxy.url())]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    cli_round_trip(&env);
    assert_eq!(proxy.requests(), vec![], "HTTP_PROXY is not for https");
}

#[test]
fn lower_case_variables_are_read_and_win() {
    let rig = Rig::start("proxy-lower");
    let proxy = ConnectProxy::start();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let env = rig.env(&[("https_proxy", &proxy.url()), ("HTTPS_PROXY", &dead)]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    only_tunnels_to_the_front(&proxy, &rig, "boto3");
    cli_round_trip(&env);
    only_tunnels_to_the_front(&proxy, &rig, "kms-seal");

    // ALL_PROXY is curl's (and ureq's) fallback for every scheme. botocore ignores it and
    // connects directly: the front works either way.
    let env = rig.env(&[("all_proxy", &proxy.url())]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    assert_eq!(proxy.requests(), vec![], "botocore does not read all_proxy");
    cli_round_trip(&env);
    only_tunnels_to_the_front(&proxy, &rig, "kms-seal (all_proxy)");
}

#[test]
fn no_proxy_sends_matching_hosts_directly() {
    let rig = Rig::start("no-proxy");
    let proxy = ConnectProxy::start();
    for no_proxy in [
        ("NO_PROXY", "localhost"),
        ("no_proxy", "example.com, .localhost"),
    ] {
        let env = rig.env(&[("HTTPS_PROXY", &proxy.url()), no_proxy]);
        boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
        cli_round_trip(&env);
        assert_eq!(proxy.requests(), vec![], "{no_proxy:?} bypasses the proxy");
    }
    // A list that does not name the host leaves the proxy in use.
    let env = rig.env(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "other.test,10.0.0.0/8"),
    ]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    only_tunnels_to_the_front(&proxy, &rig, "boto3");
    cli_round_trip(&env);
    only_tunnels_to_the_front(&proxy, &rig, "kms-seal");
}

#[test]
fn proxy_credentials_are_sent_and_never_printed() {
    let rig = Rig::start("proxy-auth");
    let proxy = ConnectProxy::start();
    let url = proxy.url().replace("http://", "http://ops:s3cret-pw@");
    let env = rig.env(&[("HTTPS_PROXY", &url)]);
    let expected = Some("Basic b3BzOnMzY3JldC1wdw==".to_owned());
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &env));
    assert!(proxy.requests().iter().all(|r| r.authorization == expected));
    proxy.clear();

    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = kms_seal_tests::cli::run(&["-vv", "encrypt"], b"x", &pairs);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let seen = proxy.requests();
    assert!(
        !seen.is_empty() && seen.iter().all(|r| r.authorization == expected),
        "{seen:?}"
    );
    assert!(
        err.contains(&format!("proxy {} (HTTPS_PROXY)", proxy.url())),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the password leaked: {err}");

    // A proxy that is gone: one line naming the proxy, without the password.
    let proxy_url = proxy.url();
    drop(proxy);
    let env = rig.env(&[("HTTPS_PROXY", &url), ("AWS_MAX_ATTEMPTS", "1")]);
    let (line, _) = cli_fails(&env, 1);
    assert!(
        line.contains(&format!("via proxy {proxy_url} (HTTPS_PROXY)")),
        "{line}"
    );
    assert!(!line.contains("s3cret"), "{line}");
}

#[test]
fn a_proxy_that_wants_credentials_is_one_clear_error_and_not_retried() {
    let rig = Rig::start("proxy-407");
    let proxy = ConnectProxy::start_requiring("Basic b3BzOnMzY3JldC1wdw==");
    let without = rig.env(&[("HTTPS_PROXY", &proxy.url())]);
    boto3::assert_fails_with(&boto3_run(&rig.moto, &rig.front.url(), &without), "407");
    proxy.clear();

    // The default retry settings: a 407 is not a network fault, so one CONNECT only.
    let (line, took) = cli_fails(&without, 1);
    assert!(
        line.contains("the proxy requires authentication (http 407 to CONNECT)"),
        "{line}"
    );
    assert!(
        line.contains(&format!("via proxy {} (HTTPS_PROXY)", proxy.url())),
        "{line}"
    );
    assert_eq!(proxy.requests().len(), 1, "{:?}", proxy.requests());
    assert!(took < Duration::from_secs(5), "{took:?}");
    proxy.clear();

    // With the user and password in the proxy url, both work through it.
    let url = proxy.url().replace("http://", "http://ops:s3cret-pw@");
    let with = rig.env(&[("HTTPS_PROXY", &url)]);
    boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &with));
    only_tunnels_to_the_front(&proxy, &rig, "boto3");
    cli_round_trip(&with);
    only_tunnels_to_the_front(&proxy, &rig, "kms-seal");
}

#[test]
fn container_and_instance_metadata_credentials_never_use_a_proxy() {
    let rig = Rig::start("metadata");
    let proxy = ConnectProxy::start();
    // moto rejects a session token it did not issue; an empty one is sent by neither client.
    let keys = format!(
        r#""AccessKeyId":"{}","SecretAccessKey":"{}","Token":"","Expiration":"2099-01-01T00:00:00Z""#,
        rig.moto.access_key_id, rig.moto.secret_access_key
    );
    let body = format!("{{{keys}}}");
    let container = StubServer::start(move |_| Reply::status(200, body.clone()));
    let body = format!(r#"{{"Code":"Success",{keys}}}"#);
    let imds = StubServer::start(move |r| match r.path.as_str() {
        "/latest/api/token" => Reply::status(200, "imds-token"),
        "/latest/meta-data/iam/security-credentials/" => Reply::status(200, "the-role"),
        "/latest/meta-data/iam/security-credentials/the-role" => Reply::status(200, body.clone()),
        _ => Reply::status(404, ""),
    });
    let proxies = [
        ("HTTP_PROXY", proxy.url()),
        ("HTTPS_PROXY", proxy.url()),
        ("ALL_PROXY", proxy.url()),
        ("http_proxy", proxy.url()),
    ];
    let container_uri = format!("{}/creds", container.url());
    let imds_url = imds.url();
    let sources: [Vec<(&str, &str)>; 2] = [
        vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", container_uri.as_str())],
        vec![
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds_url.as_str()),
        ],
    ];
    for (source, stub) in sources.iter().zip([&container, &imds]) {
        let mut extra: Vec<(&str, &str)> = proxies.iter().map(|(k, v)| (*k, v.as_str())).collect();
        extra.extend_from_slice(source);
        let env: Vec<(String, String)> = rig
            .env(&extra)
            .into_iter()
            .filter(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY")
            .collect();
        // botocore sends instance-metadata calls through HTTP_PROXY unless NO_PROXY names the
        // address (its container calls never go through a proxy); kms-seal never proxies
        // either, so only boto3 is told.
        let mut boto3_env = env.clone();
        boto3_env.push(("NO_PROXY".to_owned(), "127.0.0.1".to_owned()));
        let before = stub.requests().len();
        boto3::assert_works(&boto3_run(&rig.moto, &rig.front.url(), &boto3_env));
        assert!(
            stub.requests().len() > before,
            "boto3 asked {source:?} directly"
        );
        only_tunnels_to_the_front(&proxy, &rig, "boto3");
        let before = stub.requests().len();
        cli_round_trip(&env);
        assert!(
            stub.requests().len() > before,
            "kms-seal asked {source:?} directly"
        );
        only_tunnels_to_the_front(&proxy, &rig, "kms-seal");
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
