//! The `kms-seal` binary with credentials from a `credential_process` helper and from IAM
//! Identity Center (a loopback portal stub), against moto with SigV4 checking on. Each
//! scenario runs first with boto3 on the same files and environment.

use std::process::Output;

use kms_seal_tests::aws_profiles::{
    Boto3, SSO_CONFIG, SSO_LEGACY_CACHE, SSO_TOKEN, TempHome, assert_boto3_failed,
    boto3_access_key, sso_cached_token, sso_portal,
};
use kms_seal_tests::cli;
use kms_seal_tests::moto::Moto;

const PLAINTEXT: &[u8] = b"vault recovery key 0123456789";

/// The seal from the environment, credentials from `profile` in `home`, plus `extra`.
fn env(
    moto: &Moto,
    home: &TempHome,
    profile: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = home.env();
    for (k, v) in [
        ("VAULT_SEAL_TYPE", "awskms"),
        ("VAULT_AWSKMS_SEAL_KEY_ID", moto.alias.as_str()),
        ("AWS_REGION", moto.region.as_str()),
        ("AWS_KMS_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_PROFILE", profile),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        env.push((k.to_owned(), v.to_owned()));
    }
    env
}

fn run(args: &[&str], stdin: &[u8], env: &[(String, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    cli::run(args, stdin, &pairs)
}

#[track_caller]
fn assert_round_trip(env: &[(String, String)], moto: &Moto) {
    let enc = run(&["encrypt"], PLAINTEXT, env);
    assert!(
        enc.status.success(),
        "encrypt: {}\nmoto log:\n{}",
        String::from_utf8_lossy(&enc.stderr),
        moto.log_tail()
    );
    let dec = run(&["decrypt"], &enc.stdout, env);
    assert!(
        dec.status.success(),
        "decrypt: {}",
        String::from_utf8_lossy(&dec.stderr)
    );
    assert_eq!(dec.stdout, PLAINTEXT);
}

#[test]
fn encrypt_with_a_credential_process_profile() {
    let moto = Moto::start();
    let home = TempHome::new("cli-process");
    let helper = home.write_script(
        "helper dir/creds",
        &format!(
            "[ \"$1\" = 'seal admin' ] || exit 7\ncat <<'JSON'\n{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}\nJSON\n",
            moto.access_key_id, moto.secret_access_key
        ),
    );
    let failing = home.write_script("fails", "echo 'helper: not logged in' >&2\nexit 1\n");
    home.write_config(&format!(
        "[profile helper]\ncredential_process = '{}' \"seal admin\"\n\
         [profile failing]\ncredential_process = {}\n",
        helper.display(),
        failing.display()
    ));
    let boto3 = Boto3::new();
    let out = boto3.describe_key(&home.env(), "helper", &moto.endpoint, &moto.alias);
    assert_eq!(boto3_access_key(&out), moto.access_key_id);
    assert_round_trip(&env(&moto, &home, "helper", &[]), &moto);

    let out = boto3.describe_key(&home.env(), "failing", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "helper: not logged in");
    let out = run(&["encrypt"], PLAINTEXT, &env(&moto, &home, "failing", &[]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(
            "credential_process of profile 'failing' exited with status 1: helper: not logged in"
        ),
        "{stderr}"
    );
}

#[test]
fn encrypt_with_an_sso_profile() {
    let moto = Moto::start();
    let (portal, role) = sso_portal(&moto);
    let home = TempHome::new("cli-sso");
    home.write_config(SSO_CONFIG);
    home.write(
        SSO_LEGACY_CACHE,
        &sso_cached_token(SSO_TOKEN, "2099-01-01T00:00:00Z"),
    );
    let endpoint = portal.url();
    let mut boto3_env = home.env();
    boto3_env.push(("AWS_ENDPOINT_URL_SSO".to_owned(), endpoint.clone()));
    let out = Boto3::new().describe_key(&boto3_env, "legacy", &moto.endpoint, &moto.alias);
    assert_eq!(boto3_access_key(&out), role[0]);

    let env = env(
        &moto,
        &home,
        "legacy",
        &[("AWS_ENDPOINT_URL_SSO", &endpoint)],
    );
    assert_round_trip(&env, &moto);
    let requests = portal.requests();
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(requests.iter().all(|r| r.path == requests[0].path));

    // Without a cached token: the advice to log in, exit 1, nothing on stdout.
    std::fs::remove_file(home.path().join(SSO_LEGACY_CACHE)).unwrap();
    let out = run(&["encrypt"], PLAINTEXT, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("run `aws sso login --profile legacy`"),
        "{stderr}"
    );
    assert!(!stderr.contains(SSO_TOKEN), "{stderr}");
}
