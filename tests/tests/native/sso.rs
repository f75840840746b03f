//! IAM Identity Center (SSO) profiles: a loopback stub of the portal's GetRoleCredentials
//! (found through `AWS_ENDPOINT_URL_SSO`) that checks the bearer token and the query and hands
//! out moto's access key, and moto with SigV4 checking on for the KMS calls signed with it.
//! Every scenario runs first with boto3 on the same files and environment, and the request
//! kms-seal sends must be the one boto3 sent.

use kms_seal_core::time::Timestamp;
use kms_seal_tests::aws_profiles::{
    Boto3, SSO_CONFIG as CONFIG, SSO_LEGACY_CACHE as LEGACY_CACHE,
    SSO_ROLE_EXPIRATION_MS as ROLE_EXPIRATION_MS, SSO_SESSION_CACHE as SESSION_CACHE,
    SSO_TOKEN as TOKEN, TempHome, assert_boto3_failed, boto3_access_key,
    sso_cached_token as cached_token, sso_portal as portal,
};
use kms_seal_tests::moto::{Moto, StubServer};
use kms_seal_ureq::credentials::{ChainConfig, CredentialChain, EnvLookup};

/// The files and the environment (`AWS_ENDPOINT_URL_SSO` = the stub) shared by boto3 and us.
fn setup(portal: &StubServer, tag: &str) -> (TempHome, Vec<(String, String)>) {
    let home = TempHome::new(tag);
    home.write_config(CONFIG);
    let mut env = home.env();
    env.push(("AWS_ENDPOINT_URL_SSO".to_owned(), portal.url()));
    (home, env)
}

fn chain(env: &[(String, String)], profile: &str) -> CredentialChain {
    let mut pairs = env.to_vec();
    pairs.push(("AWS_PROFILE".to_owned(), profile.to_owned()));
    CredentialChain::new(ChainConfig::default(), EnvLookup::from_pairs(pairs))
}

fn round_trip(moto: &Moto, chain: CredentialChain) -> Result<(), String> {
    crate::moto_round_trip(moto, chain, b"recovery key")
}

/// boto3 and kms-seal both get moto's key through the portal and sign KMS calls with it;
/// kms-seal's portal request is the one boto3 sent.
fn works_like_boto3(profile: &str, cache_file: &str) {
    let moto = Moto::start();
    let (portal, role) = portal(&moto);
    let (home, env) = setup(&portal, profile);
    home.write(cache_file, &cached_token(TOKEN, "2099-01-01T00:00:00Z"));

    let out = Boto3::new().describe_key(&env, profile, &moto.endpoint, &moto.alias);
    assert_eq!(boto3_access_key(&out), role[0]);
    let boto3_requests = portal.requests();
    assert_eq!(boto3_requests.len(), 1, "{boto3_requests:?}");

    let chain = chain(&env, profile);
    let (c, from) = chain.resolve(Timestamp(1_800_000_000), false).unwrap();
    assert_eq!(from, "shared files");
    assert_eq!(c.access_key_id(), role[0]);
    assert!(role[0].starts_with("ASIA"), "{role:?}");
    assert_eq!(c.session_token(), Some(role[2].as_str()));
    assert_eq!(c.expires_at(), Some(Timestamp(ROLE_EXPIRATION_MS / 1000)));
    round_trip(&moto, chain).unwrap_or_else(|e| panic!("{e}\nmoto log:\n{}", moto.log_tail()));

    let ours = portal.requests();
    assert!(ours.len() >= 2, "{ours:?}");
    for request in &ours[1..] {
        assert_eq!(request.method, boto3_requests[0].method);
        assert_eq!(request.path, boto3_requests[0].path);
        assert_eq!(request.header("x-amz-sso_bearer_token"), Some(TOKEN));
    }
}

#[test]
fn sso_session_profile_gets_role_credentials_from_the_portal() {
    works_like_boto3("modern", SESSION_CACHE);
}

#[test]
fn legacy_sso_profile_gets_role_credentials_from_the_portal() {
    works_like_boto3("legacy", LEGACY_CACHE);
}

#[test]
fn expired_token_says_to_log_in_and_calls_nothing() {
    let moto = Moto::start();
    let (portal, _role) = portal(&moto);
    let (home, env) = setup(&portal, "sso-expired");
    home.write(LEGACY_CACHE, &cached_token(TOKEN, "2020-01-01T00:00:00Z"));
    home.write(
        SESSION_CACHE,
        &cached_token(TOKEN, "2020-01-01T00:00:00UTC"),
    );
    let boto3 = Boto3::new();
    let out = boto3.describe_key(&env, "legacy", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "UnauthorizedSSOTokenError");
    let out = boto3.describe_key(&env, "modern", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "TokenRetrievalError");
    assert!(portal.requests().is_empty());

    let now = Timestamp(1_800_000_000);
    let e = chain(&env, "legacy")
        .resolve(now, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the sso token for profile 'legacy' expired at 2020-01-01T00:00:00Z; run `aws sso login --profile legacy`"),
        "{e}"
    );
    let e = chain(&env, "modern")
        .resolve(now, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(or `aws sso login --sso-session corp`)"), "{e}");
    assert!(!e.contains(TOKEN), "{e}");
    assert!(portal.requests().is_empty());
}

#[test]
fn missing_token_cache_says_to_log_in() {
    let moto = Moto::start();
    let (portal, _role) = portal(&moto);
    let (home, env) = setup(&portal, "sso-missing");
    let boto3 = Boto3::new();
    let out = boto3.describe_key(&env, "legacy", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "SSOTokenLoadError");
    let out = boto3.describe_key(&env, "modern", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "SSOTokenLoadError");

    let now = Timestamp(1_800_000_000);
    for (profile, file) in [("legacy", LEGACY_CACHE), ("modern", SESSION_CACHE)] {
        let e = chain(&env, profile)
            .resolve(now, false)
            .unwrap_err()
            .to_string();
        let path = home.path().join(file);
        assert!(
            e.contains(&format!(
                "no sso token for profile '{profile}' ({} does not exist); run `aws sso login --profile {profile}`",
                path.display()
            )),
            "{e}"
        );
    }
    assert!(portal.requests().is_empty());
}

#[test]
fn token_the_portal_refuses_says_to_log_in() {
    let moto = Moto::start();
    let (portal, _role) = portal(&moto);
    let (home, env) = setup(&portal, "sso-revoked");
    home.write(
        LEGACY_CACHE,
        &cached_token("revoked-token", "2099-01-01T00:00:00Z"),
    );
    let out = Boto3::new().describe_key(&env, "legacy", &moto.endpoint, &moto.alias);
    assert_boto3_failed(&out, "UnauthorizedSSOTokenError");

    let e = chain(&env, "legacy")
        .resolve(Timestamp(1_800_000_000), false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("answered http 401 UnauthorizedException (Session token not found or invalid); the token is no longer valid; run `aws sso login --profile legacy`"),
        "{e}"
    );
    assert!(!e.contains("revoked-token"), "{e}");
    assert_eq!(
        portal.requests().len(),
        2,
        "boto3's call and ours, no retry"
    );
}
