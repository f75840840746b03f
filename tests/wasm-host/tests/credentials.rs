//! The plugin in a long-running host whose temporary credentials expire: the host hands them
//! in with `set-credentials`, an expired session token (KMS's `ExpiredTokenException`) or a
//! passed expiration is the `expired-credentials` error, and the next call after fresh
//! credentials succeeds without reconfiguring.
//!
//! The credentials are moto STS AssumeRole sessions (moto checks the signature and the session
//! token on every request). moto 5.2.1 never expires them, so the requests go through an
//! [`ExpiryFront`] that answers `ExpiredTokenException` for the keys a test expires.

use kms_seal_wasm_host::expiry::{ExpiryFront, ShiftedClock};
use kms_seal_wasm_host::{AwsCredentials, HttpPolicy, Moto, PluginInstance, SealError};

/// The seal settings for `endpoint` without any credentials.
fn settings<'a>(moto: &'a Moto, endpoint: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kms_key_id", moto.alias.as_str()),
        ("region", "us-east-1"),
        ("endpoint", endpoint),
    ]
}

fn assert_no_secret(message: &str, credentials: &AwsCredentials) {
    assert!(
        !message.contains(&credentials.secret_access_key),
        "secret in {message}"
    );
    if let Some(token) = &credentials.session_token {
        assert!(!message.contains(token.as_str()), "token in {message}");
    }
}

#[test]
fn an_expired_session_token_is_an_expired_credentials_error_until_the_host_hands_fresh_ones() {
    let moto = Moto::shared();
    let front = ExpiryFront::start(&moto.endpoint).unwrap();
    let endpoint = front.url();
    let first = moto.assume_role("first").unwrap();
    let second = moto.assume_role("second").unwrap();
    assert!(first.access_key_id != second.access_key_id);

    let mut plugin = PluginInstance::new(&[], HttpPolicy::LoopbackOnly).unwrap();
    // Before configure, and without an expiration (the host does not know it): configure
    // needs no credentials in the settings then.
    let unknown_expiry = AwsCredentials {
        expiration: None,
        ..first.clone()
    };
    plugin.set_credentials(&unknown_expiry).unwrap().unwrap();
    plugin
        .configure(&settings(moto, &endpoint))
        .unwrap()
        .unwrap();
    assert_eq!(plugin.key_id().unwrap(), moto.key_arn);
    let blob = plugin
        .encrypt(b"sealed by a long-running host", Some(b"core/keyring"))
        .unwrap()
        .unwrap();
    assert_eq!(front.count(&first.access_key_id), 2); // DescribeKey, Encrypt

    // The session expires: KMS says so, once per call, and the plugin does not resend the
    // same token.
    front.expire(&first.access_key_id);
    match plugin.encrypt(b"x", None).unwrap() {
        Err(SealError::ExpiredCredentials(m)) => {
            assert!(m.contains("ExpiredTokenException"), "{m}");
            assert!(m.contains(&first.access_key_id), "{m}");
            assert!(m.contains("set-credentials"), "{m}");
            assert_no_secret(&m, &first);
        }
        other => panic!("expected expired-credentials, got {other:?}"),
    }
    match plugin.decrypt(&blob, Some(b"core/keyring")).unwrap() {
        Err(SealError::ExpiredCredentials(_)) => {}
        other => panic!("expected expired-credentials, got {other:?}"),
    }
    let rejected = front.seen().iter().filter(|s| s.rejected).count();
    assert_eq!(rejected, 2, "{:?}", front.seen());
    assert_eq!(front.count(&first.access_key_id), 4);

    // The host acts on it: fresh credentials, the same calls again, no reconfiguring.
    plugin.set_credentials(&second).unwrap().unwrap();
    assert_eq!(
        plugin
            .decrypt(&blob, Some(b"core/keyring"))
            .unwrap()
            .unwrap(),
        b"sealed by a long-running host"
    );
    let fresh = plugin.encrypt(b"after the refresh", None).unwrap().unwrap();
    assert_eq!(
        plugin.decrypt(&fresh, None).unwrap().unwrap(),
        b"after the refresh"
    );
    assert!(plugin.is_up_to_date(&fresh).unwrap());
    assert_eq!(plugin.key_id().unwrap(), moto.key_arn);
    assert_eq!(front.count(&second.access_key_id), 3);
    assert_eq!(front.count(&first.access_key_id), 4);
    assert_eq!(front.seen().iter().filter(|s| s.rejected).count(), 2);
}

#[test]
fn credentials_known_to_be_expired_are_refused_without_calling_kms() {
    let moto = Moto::shared();
    let front = ExpiryFront::start(&moto.endpoint).unwrap();
    let endpoint = front.url();
    let clock = ShiftedClock::default();
    let mut plugin =
        PluginInstance::with_clock(&[], HttpPolicy::LoopbackOnly, Some(clock.clone())).unwrap();

    // The settings hold the long-term key; the handed-in session wins over it.
    let mut with_static = settings(moto, &endpoint);
    with_static.push(("access_key", moto.access_key_id.as_str()));
    with_static.push(("secret_key", moto.secret_access_key.as_str()));
    let session = AwsCredentials {
        expiration: Some(clock.now_secs() + 600),
        ..moto.assume_role("clocked").unwrap()
    };
    plugin.set_credentials(&session).unwrap().unwrap();
    plugin.configure(&with_static).unwrap().unwrap();
    let blob = plugin.encrypt(b"before expiry", None).unwrap().unwrap();
    assert_eq!(front.count(&session.access_key_id), 2);
    assert_eq!(front.count(&moto.access_key_id), 0);

    // Ten minutes later the plugin knows they have expired: it does not ask KMS.
    clock.advance(600);
    let sent = front.seen().len();
    for result in [
        plugin.encrypt(b"x", None).unwrap().map(drop),
        plugin.decrypt(&blob, None).unwrap().map(drop),
    ] {
        match result {
            Err(SealError::ExpiredCredentials(m)) => {
                let expected = format!(
                    "{} expired at {}",
                    session.access_key_id,
                    session.expiration.unwrap()
                );
                assert!(m.contains(&expected), "{m}");
                assert!(m.contains("set-credentials"), "{m}");
                assert_no_secret(&m, &session);
            }
            other => panic!("expected expired-credentials, got {other:?}"),
        }
    }
    // A failed configure also says so, and leaves the instance unconfigured.
    match plugin.configure(&with_static).unwrap() {
        Err(SealError::ExpiredCredentials(_)) => {}
        other => panic!("expected expired-credentials, got {other:?}"),
    }
    assert_eq!(plugin.key_id().unwrap(), "");
    assert_eq!(
        front.seen().len(),
        sent,
        "a request was sent: {:?}",
        front.seen()
    );

    // Handing in credentials that have already expired, or half a key pair, is refused and
    // changes nothing.
    let stale = AwsCredentials {
        expiration: Some(clock.now_secs() - 1),
        ..moto.assume_role("stale").unwrap()
    };
    match plugin.set_credentials(&stale).unwrap() {
        Err(SealError::ExpiredCredentials(m)) => {
            assert!(m.contains(&stale.access_key_id), "{m}");
            assert_no_secret(&m, &stale);
        }
        other => panic!("expected expired-credentials, got {other:?}"),
    }
    let half = AwsCredentials {
        secret_access_key: String::new(),
        ..session.clone()
    };
    match plugin.set_credentials(&half).unwrap() {
        Err(SealError::Credentials(m)) => assert!(m.contains("secret-access-key"), "{m}"),
        other => panic!("expected credentials, got {other:?}"),
    }
    match plugin.configure(&with_static).unwrap() {
        Err(SealError::ExpiredCredentials(m)) => {
            assert!(m.contains(&session.access_key_id), "{m}")
        }
        other => panic!("expected expired-credentials, got {other:?}"),
    }
    assert_eq!(front.seen().len(), sent);

    // Fresh credentials: everything works again, still over the settings' key.
    let fresh = AwsCredentials {
        expiration: Some(clock.now_secs() + 600),
        ..moto.assume_role("clocked-fresh").unwrap()
    };
    plugin.set_credentials(&fresh).unwrap().unwrap();
    plugin.configure(&with_static).unwrap().unwrap();
    assert_eq!(
        plugin.decrypt(&blob, None).unwrap().unwrap(),
        b"before expiry"
    );
    assert_eq!(front.count(&fresh.access_key_id), 2);
    assert_eq!(front.count(&moto.access_key_id), 0);
    assert!(front.seen().iter().all(|s| !s.rejected));
}

#[test]
fn a_wrong_session_token_is_a_credentials_error_not_an_expired_one() {
    let moto = Moto::shared();
    let mut plugin = PluginInstance::new(&[], HttpPolicy::LoopbackOnly).unwrap();
    let session = moto.assume_role("wrong-token").unwrap();
    let wrong = AwsCredentials {
        session_token: Some("not-the-session-token".into()),
        ..session.clone()
    };
    plugin.set_credentials(&wrong).unwrap().unwrap();
    match plugin.configure(&settings(moto, &moto.endpoint)).unwrap() {
        Err(SealError::Credentials(m)) => assert_no_secret(&m, &session),
        other => panic!("expected credentials, got {other:?}"),
    }
    // Without the handed-in credentials configure would have none at all: the right session
    // token makes the same settings work.
    plugin.set_credentials(&session).unwrap().unwrap();
    plugin
        .configure(&settings(moto, &moto.endpoint))
        .unwrap()
        .unwrap();
    assert_eq!(plugin.key_id().unwrap(), moto.key_arn);
}
