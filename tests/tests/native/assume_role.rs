//! Assumed roles and the AWS-wide endpoint settings, against moto with its IAM authorisation
//! on: the user `assumer` may only call `sts:AssumeRole`, the role `hop` may only call
//! `sts:AssumeRole`, and only the role `kms-user` may call KMS. A KMS call that succeeds
//! therefore proves the role was assumed; the user's own keys are denied.
//!
//! Each scenario is first run with boto3 (python3) on the same shared files and environment,
//! so a failure of ours is ours. The CLI scenarios run the `kms-seal` binary with a cleared
//! environment; STS parameters that moto does not check (`ExternalId`, `DurationSeconds`,
//! `RoleSessionName`) are checked on a loopback stub that records the form bodies.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use kms_seal_core::credentials::Credentials;
use kms_seal_core::time::Timestamp;
use kms_seal_tests::cli;
use kms_seal_tests::moto::{
    Moto, MotoOptions, RecordedRequest, Reply, RestrictedRoles, StubServer,
};
use kms_seal_ureq::credentials::assume_role::{RoleContext, VaultRoleProvider};
use kms_seal_ureq::credentials::imds::ImdsClient;
use kms_seal_ureq::credentials::profile::{ProfileProvider, ProfileSelection};
use kms_seal_ureq::credentials::{
    ChainConfig, CredentialChain, CredentialSource, EnvLookup, ProviderError,
};

const PLAINTEXT: &[u8] = b"vault root key for an assumed role";

/// Runs boto3 on the same files and environment: `op` is `encrypt` (prints `ok`),
/// `endpoint` (prints the KMS client's endpoint) or `credentials` (prints the access key id).
const BOTO3: &str = r#"
import sys, boto3
op, profile, key = sys.argv[1], sys.argv[2] or None, sys.argv[3]
try:
    s = boto3.Session(profile_name=profile)
    if op == "encrypt":
        s.client("kms").encrypt(KeyId=key, Plaintext=b"boto3")
        print("ok")
    elif op == "endpoint":
        print(s.client("kms").meta.endpoint_url)
    elif op == "credentials":
        print(s.get_credentials().get_frozen_credentials().access_key)
except Exception as e:
    print(type(e).__name__ + ": " + str(e).replace("\n", " "))
    sys.exit(3)
"#;

fn moto() -> (Moto, RestrictedRoles) {
    let mut options = MotoOptions::default();
    options.restricted_roles = true;
    let moto = Moto::start_with(options).unwrap_or_else(|e| panic!("{e}"));
    let roles = moto
        .restricted
        .clone()
        .expect("restricted roles were asked for");
    (moto, roles)
}

/// A config and a credentials file in a private directory, removed on drop.
struct SharedFiles {
    dir: PathBuf,
}

impl SharedFiles {
    fn new(tag: &str, config: &str, credentials: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kms-seal-roles-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("credentials"), credentials).unwrap();
        SharedFiles { dir }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "AWS_CONFIG_FILE".to_owned(),
                self.dir.join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                self.dir.join("credentials").display().to_string(),
            ),
        ]
    }
}

impl Drop for SharedFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn boto3(op: &str, profile: &str, key: &str, env: &[(String, String)]) -> Output {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    Command::new(&python)
        .args(["-c", BOTO3, op, profile, key])
        .env_clear()
        .envs(cli::base_env())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} for the boto3 oracle: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn boto3_ok(op: &str, profile: &str, key: &str, env: &[(String, String)]) -> String {
    let out = boto3(op, profile, key, env);
    assert!(
        out.status.success(),
        "boto3 {op} failed, so the scenario itself is wrong: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_owned()
}

#[track_caller]
fn boto3_fails(op: &str, profile: &str, key: &str, env: &[(String, String)]) -> String {
    let out = boto3(op, profile, key, env);
    assert!(
        !out.status.success(),
        "boto3 {op} was expected to fail: {}",
        text(&out.stdout)
    );
    text(&out.stdout)
}

/// Runs `kms-seal -v ARGS` with the seal configured from the environment (key, region).
fn kms_seal(args: &[&str], stdin: &[u8], moto: &Moto, env: &[(String, String)]) -> Output {
    let mut all = vec![
        ("VAULT_SEAL_TYPE".to_owned(), "awskms".to_owned()),
        ("VAULT_AWSKMS_SEAL_KEY_ID".to_owned(), moto.key_id.clone()),
        ("AWS_REGION".to_owned(), moto.region.clone()),
    ];
    all.extend(env.iter().cloned());
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut full = vec!["-v"];
    full.extend_from_slice(args);
    cli::run(&full, stdin, &pairs)
}

/// Encrypts and decrypts through the CLI; returns the stderr of the encrypt run.
#[track_caller]
fn round_trip(moto: &Moto, env: &[(String, String)]) -> String {
    let enc = kms_seal(&["encrypt"], PLAINTEXT, moto, env);
    assert!(
        enc.status.success(),
        "kms-seal encrypt failed: {}\nmoto log:\n{}",
        text(&enc.stderr),
        moto.log_tail()
    );
    let dec = kms_seal(&["decrypt"], &enc.stdout, moto, env);
    assert!(
        dec.status.success(),
        "kms-seal decrypt failed: {}",
        text(&dec.stderr)
    );
    assert_eq!(dec.stdout, PLAINTEXT);
    text(&enc.stderr)
}

#[track_caller]
fn fails(out: &Output, secrets: &[&str]) -> String {
    assert!(!out.status.success(), "kms-seal was expected to fail");
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let err = text(&out.stderr);
    assert_eq!(
        err.lines().filter(|l| l.contains("error:")).count(),
        1,
        "one error line: {err}"
    );
    for s in secrets {
        assert!(!err.contains(s), "stderr leaks a secret: {err}");
    }
    err
}

#[test]
fn source_profile_chain_of_two_hops_through_the_services_section() {
    let (moto, roles) = moto();
    let files = SharedFiles::new(
        "chain",
        &format!(
            "[profile kms]\nrole_arn = {}\nsource_profile = hop\nservices = local\n\
             [profile hop]\nrole_arn = {}\nsource_profile = base\n\
             [services local]\nkms =\n  endpoint_url = {m}\nsts =\n  endpoint_url = {m}\n",
            roles.kms_role_arn,
            roles.hop_role_arn,
            m = moto.endpoint
        ),
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            roles.access_key_id, roles.secret_access_key
        ),
    );
    let mut env = files.env();
    env.extend(owned(&[("AWS_PROFILE", "kms")]));
    assert_eq!(boto3_ok("encrypt", "kms", &moto.key_id, &env), "ok");

    let log = round_trip(&moto, &env);
    assert!(
        log.contains("assumed role arn:aws:iam::123456789012:role/kms-user through profiles kms -> hop -> base"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "kms endpoint {}/ (from profile 'kms' services 'local' kms.endpoint_url)",
            moto.endpoint
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "sts endpoint {} (from profile 'kms' services 'local' sts.endpoint_url)",
            moto.endpoint
        )),
        "{log}"
    );
    assert!(!log.contains(&roles.secret_access_key), "{log}");
}

#[test]
fn the_users_own_keys_are_denied_for_kms() {
    let (moto, roles) = moto();
    let files = SharedFiles::new(
        "denied",
        "",
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            roles.access_key_id, roles.secret_access_key
        ),
    );
    let mut env = files.env();
    env.extend(owned(&[
        ("AWS_PROFILE", "base"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
    ]));
    let boto = boto3_fails("encrypt", "base", &moto.key_id, &env);
    assert!(boto.contains("AccessDenied"), "{boto}");
    let out = kms_seal(&["encrypt"], PLAINTEXT, &moto, &env);
    let err = fails(&out, &[&roles.secret_access_key]);
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(
        err.contains(&format!(
            "kms endpoint {}/ (from AWS_ENDPOINT_URL)",
            moto.endpoint
        )),
        "{err}"
    );
}

#[test]
fn vault_role_arn_is_assumed_with_environment_credentials() {
    let (moto, roles) = moto();
    let dir = std::env::temp_dir().join(format!("kms-seal-roles-vault-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("vault.hcl");
    std::fs::write(
        &config,
        format!(
            "seal \"awskms\" {{\n  region = \"us-east-1\"\n  kms_key_id = \"{}\"\n  \
             role_arn = \"{}\"\n  role_session_name = \"vault-seal\"\n}}\n",
            moto.key_id, roles.kms_role_arn
        ),
    )
    .unwrap();
    let env = owned(&[
        ("AWS_ACCESS_KEY_ID", roles.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", roles.secret_access_key.as_str()),
        ("AWS_ENDPOINT_URL_STS", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_KMS", moto.endpoint.as_str()),
        // Below AWS_ENDPOINT_URL_KMS / _STS: never used.
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]);
    // boto3: the same role through a profile sourcing the environment, the same endpoints.
    let files = SharedFiles::new(
        "vault-boto3",
        &format!(
            "[profile r]\nrole_arn = {}\ncredential_source = Environment\n",
            roles.kms_role_arn
        ),
        "",
    );
    let mut boto_env = env.clone();
    boto_env.extend(files.env());
    assert_eq!(boto3_ok("encrypt", "r", &moto.key_id, &boto_env), "ok");

    let config_arg = config.display().to_string();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut full = vec!["-v", "--config", config_arg.as_str()];
        full.extend_from_slice(args);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        cli::run(&full, stdin, &pairs)
    };
    let enc = run(&["encrypt"], PLAINTEXT);
    let log = text(&enc.stderr);
    assert!(
        enc.status.success(),
        "{log}\nmoto log:\n{}",
        moto.log_tail()
    );
    assert!(
        log.contains(&format!(
            "assumed role {} with credentials from",
            roles.kms_role_arn
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "sts endpoint {} (from AWS_ENDPOINT_URL_STS)",
            moto.endpoint
        )),
        "{log}"
    );
    let dec = run(&["decrypt"], &enc.stdout);
    assert!(dec.status.success(), "{}", text(&dec.stderr));
    assert_eq!(dec.stdout, PLAINTEXT);

    // A role the user may assume but that may not call KMS: KMS denies, proving the role
    // (not the user, not the allow-all identity) signs the KMS calls.
    std::fs::write(
        &config,
        format!(
            "seal \"awskms\" {{\n  region = \"us-east-1\"\n  kms_key_id = \"{}\"\n  \
             role_arn = \"{}\"\n}}\n",
            moto.key_id, roles.hop_role_arn
        ),
    )
    .unwrap();
    let err = fails(&run(&["encrypt"], PLAINTEXT), &[&roles.secret_access_key]);
    assert!(err.contains("AccessDenied"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sts_access_denied_names_the_role_and_the_source_hop() {
    let (moto, roles) = moto();
    // kms-user may not call sts:AssumeRole, so the second hop is denied.
    let files = SharedFiles::new(
        "sts-denied",
        &format!(
            "[profile top]\nrole_arn = {}\nsource_profile = middle\n\
             [profile middle]\nrole_arn = {}\nsource_profile = base\n",
            roles.hop_role_arn, roles.kms_role_arn
        ),
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            roles.access_key_id, roles.secret_access_key
        ),
    );
    let mut env = files.env();
    env.extend(owned(&[
        ("AWS_PROFILE", "top"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
    ]));
    let boto = boto3_fails("credentials", "top", "", &env);
    assert!(boto.contains("AccessDenied"), "{boto}");
    let err = fails(
        &kms_seal(&["encrypt"], PLAINTEXT, &moto, &env),
        &[&roles.secret_access_key],
    );
    assert!(
        err.contains(&format!(
            "sts AssumeRole of {} with credentials from role {} (profile 'middle')",
            roles.hop_role_arn, roles.kms_role_arn
        )),
        "{err}"
    );
    assert!(err.contains("AccessDenied"), "{err}");
}

#[test]
fn credential_source_environment_in_the_profile_source() {
    let (moto, roles) = moto();
    let files = SharedFiles::new(
        "env-source",
        &format!(
            "[profile r]\nrole_arn = {}\ncredential_source = Environment\n",
            roles.kms_role_arn
        ),
        "",
    );
    let mut env = files.env();
    env.extend(owned(&[
        ("AWS_ACCESS_KEY_ID", roles.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", roles.secret_access_key.as_str()),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
    ]));
    let boto_key = boto3_ok("credentials", "r", "", &env);
    assert!(boto_key.starts_with("ASIA"), "{boto_key}");
    assert_eq!(boto3_ok("encrypt", "r", &moto.key_id, &env), "ok");

    // The profile source alone (in the full chain, environment keys come first, as in Vault).
    let lookup = EnvLookup::from_pairs(env.iter().cloned().chain([
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ]));
    let mut config = ChainConfig::default();
    config.profile = Some("r".to_owned());
    config.region = Some("us-east-1".to_owned());
    let selection = ProfileSelection::resolve(None, Some("r"), &lookup);
    let imds = std::sync::Arc::new(ImdsClient::from_env(&lookup));
    let chain = CredentialChain::from_sources(vec![Box::new(ProfileProvider::with_roles(
        selection,
        RoleContext::new(config, lookup.clone(), imds),
    ))]);
    let now = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let (c, from) = chain
        .resolve(now, false)
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(from, "shared files");
    assert!(c.access_key_id().starts_with("ASIA"), "{c:?}");
    assert_ne!(c.access_key_id(), roles.access_key_id);
    assert!(c.expires_at().is_some_and(|e| e.as_secs() > now.as_secs()));
}

/// An STS stub that answers every AssumeRole with fixed credentials and records the bodies.
fn sts_stub() -> StubServer {
    StubServer::start(|_| {
        Reply::status(
            200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
             <AccessKeyId>ASIASTUB</AccessKeyId><SecretAccessKey>stubsecret</SecretAccessKey>\
             <SessionToken>stubtoken</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
             </Credentials></AssumeRoleResult></AssumeRoleResponse>",
        )
    })
}

fn form(request: &RecordedRequest) -> Vec<(String, String)> {
    text(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let mut out = Vec::new();
            let bytes = v.replace('+', " ").into_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            (k.to_owned(), String::from_utf8(out).unwrap())
        })
        .collect()
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn external_id_session_name_and_duration_are_sent_like_boto3() {
    let stub = sts_stub();
    let files = SharedFiles::new(
        "params",
        "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/with-ext\nsource_profile = base\n\
         external_id = ext-42/x\nrole_session_name = ops-session\nduration_seconds = 1800\n",
        "[base]\naws_access_key_id = AKIABASEEXAMPLE\naws_secret_access_key = basesecret\n",
    );
    let mut env = files.env();
    env.extend(owned(&[("AWS_ENDPOINT_URL_STS", stub.url().as_str())]));
    assert_eq!(boto3_ok("credentials", "r", "", &env), "ASIASTUB");
    let boto = stub.requests();
    assert_eq!(boto.len(), 1);

    let lookup = EnvLookup::from_pairs(env.iter().cloned().chain([
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ("AWS_PROFILE".to_owned(), "r".to_owned()),
    ]));
    let mut config = ChainConfig::default();
    config.region = Some("us-east-1".to_owned());
    let (c, from) = CredentialChain::new(config, lookup)
        .resolve(Timestamp(1_800_000_000), false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from, "shared files");
    assert_eq!(c.access_key_id(), "ASIASTUB");
    assert_eq!(c.session_token(), Some("stubtoken"));
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    let (theirs, ours) = (form(&boto[0]), form(&requests[1]));
    for name in [
        "Action",
        "Version",
        "RoleArn",
        "RoleSessionName",
        "ExternalId",
        "DurationSeconds",
    ] {
        assert_eq!(param(&ours, name), param(&theirs, name), "{name}");
    }
    assert_eq!(param(&ours, "ExternalId"), Some("ext-42/x"));
    assert_eq!(param(&ours, "DurationSeconds"), Some("1800"));
    let auth = requests[1].header("authorization").unwrap_or_default();
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIABASEEXAMPLE/20270115/us-east-1/sts/aws4_request"
        ),
        "{auth}"
    );
}

#[test]
fn cycles_and_mfa_serial_are_configuration_errors() {
    let (moto, _roles) = moto();
    let files = SharedFiles::new(
        "cycle",
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n\
         [profile m]\nrole_arn = arn:aws:iam::123456789012:role/m\nsource_profile = base\n\
         mfa_serial = arn:aws:iam::123456789012:mfa/me\n",
        "[base]\naws_access_key_id = AKIABASEEXAMPLE\naws_secret_access_key = basesecret\n",
    );
    let mut env = files.env();
    env.extend(owned(&[("AWS_ENDPOINT_URL", moto.endpoint.as_str())]));
    let boto = boto3_fails("credentials", "a", "", &env);
    assert!(boto.contains("InfiniteLoopConfigError"), "{boto}");

    let mut cycle = env.clone();
    cycle.extend(owned(&[("AWS_PROFILE", "a")]));
    let out = kms_seal(&["encrypt"], PLAINTEXT, &moto, &cycle);
    let err = fails(&out, &["basesecret"]);
    assert!(err.contains("profile cycle: a -> b -> a"), "{err}");
    // Credential errors are the operation's failure (exit 1), like every credentials error.
    assert_eq!(out.status.code(), Some(1), "{err}");

    let mut mfa = env.clone();
    mfa.extend(owned(&[("AWS_PROFILE", "m")]));
    let out = kms_seal(&["encrypt"], PLAINTEXT, &moto, &mfa);
    let err = fails(&out, &["basesecret"]);
    assert!(err.contains("profile 'm' sets mfa_serial"), "{err}");
    // Credential errors are the operation's failure (exit 1), like every credentials error.
    assert_eq!(out.status.code(), Some(1), "{err}");
}

#[test]
fn kms_endpoint_precedence_through_the_cli() {
    let (moto, _roles) = moto();
    let dead = StubServer::start(|_| Reply::status(500, "never the right endpoint"));
    let keys = owned(&[
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
    ]);
    let files = SharedFiles::new(
        "endpoints",
        &format!(
            "[default]\nservices = local\n[services local]\nkms =\n  endpoint_url = {}\n",
            dead.url()
        ),
        "",
    );
    let with = |extra: &[(&str, &str)]| {
        let mut env = keys.clone();
        env.extend(files.env());
        env.extend(owned(extra));
        env
    };

    // AWS_ENDPOINT_URL_KMS beats AWS_ENDPOINT_URL and the profile.
    let env = with(&[
        ("AWS_ENDPOINT_URL_KMS", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL", dead.url().as_str()),
    ]);
    assert_eq!(boto3_ok("endpoint", "", "", &env), moto.endpoint);
    assert_eq!(boto3_ok("encrypt", "", &moto.key_id, &env), "ok");
    let log = round_trip(&moto, &env);
    assert!(
        log.contains(&format!(
            "kms endpoint {}/ (from AWS_ENDPOINT_URL_KMS)",
            moto.endpoint
        )),
        "{log}"
    );

    // Vault's AWS_KMS_ENDPOINT beats every AWS-wide setting.
    let env = with(&[
        ("AWS_KMS_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_KMS", dead.url().as_str()),
    ]);
    let log = round_trip(&moto, &env);
    assert!(log.contains("(from the seal's endpoint"), "{log}");

    // The profile's services section (here pointed at moto).
    let files_to_moto = SharedFiles::new(
        "endpoints-profile",
        &format!(
            "[default]\nservices = local\n[services local]\nkms =\n  endpoint_url = {}\n",
            moto.endpoint
        ),
        "",
    );
    let mut env = keys.clone();
    env.extend(files_to_moto.env());
    assert_eq!(boto3_ok("endpoint", "", "", &env), moto.endpoint);
    let log = round_trip(&moto, &env);
    assert!(
        log.contains("(from profile 'default' services 'local' kms.endpoint_url)"),
        "{log}"
    );
    assert!(dead.requests().is_empty(), "the dead endpoint was called");

    // The ignore switch: back to the region's default. No credentials, so nothing is sent.
    let mut env = files_to_moto.env();
    env.extend(owned(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]));
    assert_eq!(
        boto3_ok("endpoint", "", "", &env),
        "https://kms.us-east-1.amazonaws.com"
    );
    let out = kms_seal(&["encrypt"], PLAINTEXT, &moto, &env);
    let err = fails(&out, &[]);
    assert!(
        err.contains(
            "kms endpoint https://kms.us-east-1.amazonaws.com/ (from the region's default)"
        ),
        "{err}"
    );
    assert!(err.contains("no aws credentials"), "{err}");
}

#[test]
fn a_profile_with_a_web_identity_token_file() {
    let mut options = MotoOptions::default();
    // Two unsigned AssumeRoleWithWebIdentity calls: boto3's and ours.
    options.extra_free_calls = 2;
    let moto = Moto::start_with(options).unwrap_or_else(|e| panic!("{e}"));
    let files = SharedFiles::new("web-identity", "", "");
    let token = files.dir.join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2ln\n").unwrap();
    std::fs::write(
        files.dir.join("config"),
        format!(
            "[profile wi]\nrole_arn = {}\nweb_identity_token_file = {}\nrole_session_name = wi\n",
            moto.role_arn,
            token.display()
        ),
    )
    .unwrap();
    let mut env = files.env();
    env.extend(owned(&[("AWS_ENDPOINT_URL_STS", moto.endpoint.as_str())]));
    assert!(boto3_ok("credentials", "wi", "", &env).starts_with("ASIA"));

    let lookup = EnvLookup::from_pairs(env.iter().cloned().chain([
        ("HOME".to_owned(), "/nonexistent-kms-seal-home".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ("AWS_PROFILE".to_owned(), "wi".to_owned()),
    ]));
    let (c, from) = CredentialChain::new(ChainConfig::default(), lookup)
        .resolve(Timestamp(1_800_000_000), false)
        .unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));
    assert_eq!(from, "shared files");
    assert!(c.access_key_id().starts_with("ASIA"), "{c:?}");
    assert!(c.session_token().is_some());
}

/// A source whose credentials expire 1000 s after each load, numbered by load.
struct Expiring {
    loads: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl CredentialSource for Expiring {
    fn name(&self) -> &'static str {
        "expiring"
    }

    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError> {
        let n = self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(Credentials::new(
            format!("AKIDINNER{n}"),
            "inner-secret",
            None,
            Some(Timestamp(now.as_secs() + 1000)),
        ))
    }
}

#[test]
fn vault_role_refreshes_its_source_and_itself_before_they_expire() {
    const T0: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z
    // Assumed credentials that expire one hour after T0.
    let stub = StubServer::start(|_| {
        Reply::status(
            200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
             <AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey>\
             <SessionToken>roletoken</SessionToken><Expiration>2027-01-15T09:00:00Z</Expiration>\
             </Credentials></AssumeRoleResult></AssumeRoleResponse>",
        )
    });
    let loads = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let inner = CredentialChain::from_sources(vec![Box::new(Expiring {
        loads: loads.clone(),
    })]);
    let mut config = ChainConfig::default();
    config.sts_endpoint = Some(stub.url());
    config.role_session_name = Some("vault".to_owned());
    let env = EnvLookup::from_pairs([("HOME", "/nonexistent-kms-seal-home")]);
    let chain = CredentialChain::from_sources(vec![Box::new(VaultRoleProvider::new(
        inner,
        "arn:aws:iam::123456789012:role/kms",
        &config,
        env,
    ))]);
    let signer = |i: usize| {
        let requests = stub.requests();
        let auth = requests[i]
            .header("authorization")
            .unwrap_or_default()
            .to_owned();
        auth.split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_owned()
    };
    let (c, from) = chain.resolve(Timestamp(T0), false).unwrap();
    assert_eq!((c.access_key_id(), from), ("ASIAROLE", "assume role"));
    assert_eq!(signer(0), "AKIDINNER1");
    // Cached until 5 minutes before the role's expiry.
    chain.resolve(Timestamp(T0 + 3600 - 301), false).unwrap();
    assert_eq!(stub.requests().len(), 1);
    // Inside the margin: assumed again; the source's credentials (expired at T0 + 1000) are
    // loaded anew for the call.
    chain.resolve(Timestamp(T0 + 3600 - 299), false).unwrap();
    assert_eq!(stub.requests().len(), 2);
    assert_eq!(signer(1), "AKIDINNER2");
    // A forced refresh soon after reuses the source's still-fresh credentials.
    chain.resolve(Timestamp(T0 + 3600), true).unwrap();
    assert_eq!(signer(2), "AKIDINNER2");
    assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 2);
    let form = form(&stub.requests()[2]);
    assert_eq!(param(&form, "RoleSessionName"), Some("vault"));
    assert_eq!(param(&form, "Action"), Some("AssumeRole"));
}

/// A stub of the container endpoint and instance metadata: both serve the same credentials.
fn metadata_stub() -> StubServer {
    StubServer::start(|r| {
        let creds = r#"{"Code":"Success","AccessKeyId":"ASIAMETA","SecretAccessKey":"metasecret","Token":"metatoken","Expiration":"2099-01-01T00:00:00Z"}"#;
        match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/latest/api/token") => Reply::status(200, "imds-token"),
            ("GET", "/latest/meta-data/iam/security-credentials/") => Reply::status(200, "r"),
            ("GET", "/latest/meta-data/iam/security-credentials/r" | "/creds") => {
                Reply::status(200, creds)
            }
            _ => Reply::status(404, ""),
        }
    })
}

#[test]
fn credential_source_container_and_instance_metadata() {
    let meta = metadata_stub();
    for (source, extra) in [
        (
            "EcsContainer",
            vec![(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI".to_owned(),
                format!("{}/creds", meta.url()),
            )],
        ),
        (
            "Ec2InstanceMetadata",
            vec![
                ("AWS_EC2_METADATA_DISABLED".to_owned(), "false".to_owned()),
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(), meta.url()),
            ],
        ),
    ] {
        let sts = sts_stub();
        let files = SharedFiles::new(
            source,
            &format!(
                "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\n\
                 credential_source = {source}\n"
            ),
            "",
        );
        let mut env = files.env();
        env.extend(extra);
        env.extend(owned(&[("AWS_ENDPOINT_URL_STS", sts.url().as_str())]));
        assert_eq!(
            boto3_ok("credentials", "r", "", &env),
            "ASIASTUB",
            "{source}"
        );
        assert_eq!(sts.requests().len(), 1, "{source}");

        let mut pairs = env.clone();
        pairs.extend(owned(&[
            ("HOME", "/nonexistent-kms-seal-home"),
            ("AWS_PROFILE", "r"),
        ]));
        if source == "EcsContainer" {
            pairs.extend(owned(&[("AWS_EC2_METADATA_DISABLED", "true")]));
        }
        let (c, from) = CredentialChain::new(ChainConfig::default(), EnvLookup::from_pairs(pairs))
            .resolve(Timestamp(1_800_000_000), false)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!((c.access_key_id(), from), ("ASIASTUB", "shared files"));
        let ours = &sts.requests()[1];
        let auth = ours.header("authorization").unwrap_or_default();
        assert!(
            auth.contains("Credential=ASIAMETA/20270115/us-east-1/sts/aws4_request"),
            "{source}: {auth}"
        );
        assert_eq!(ours.header("x-amz-security-token"), Some("metatoken"));
    }
}

#[test]
fn vault_role_arn_without_any_source_credentials_says_so() {
    let files = SharedFiles::new("vault-none", "", "");
    let config = files.dir.join("vault.hcl");
    std::fs::write(
        &config,
        "seal \"awskms\" {\n  kms_key_id = \"alias/k\"\n  role_arn = \"arn:aws:iam::1:role/r\"\n}\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let out = cli::run(&["--config", config.as_str(), "encrypt"], PLAINTEXT, &[]);
    let err = fails(&out, &[]);
    assert!(
        err.contains(
            "role_arn arn:aws:iam::1:role/r is set without a web identity token file, so it is \
             assumed with credentials from the rest of the chain, and there are none"
        ),
        "{err}"
    );
}
