//! The plugin component (`kms_seal_plugin.wasm`) in an embedded wasmtime host: its imports,
//! every export against moto (SigV4 checked), and hosts that deny outgoing HTTP.

use kms_seal_wasm_host::{
    HttpPolicy, Moto, PluginInstance, SealError, component, engine, plugin_path,
};

fn moto_settings(moto: &Moto) -> Vec<(&str, &str)> {
    vec![
        ("kms_key_id", moto.alias.as_str()),
        ("region", "us-east-1"),
        ("endpoint", moto.endpoint.as_str()),
        ("access_key", moto.access_key_id.as_str()),
        ("secret_key", moto.secret_access_key.as_str()),
    ]
}

#[test]
fn plugin_imports_only_http_clocks_random_and_environment() {
    let component = component(&plugin_path().unwrap()).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine())
        .map(|(name, _)| name.to_string())
        .collect();
    assert!(!imports.is_empty());
    for name in &imports {
        let allowed = [
            "wasi:http/",
            "wasi:clocks/",
            "wasi:random/",
            "wasi:cli/environment@",
            "wasi:io/",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        assert!(allowed, "unexpected import {name} (all: {imports:?})");
    }
    for needed in [
        "wasi:http/outgoing-handler@",
        "wasi:clocks/wall-clock@",
        "wasi:random/random@",
        "wasi:cli/environment@",
    ] {
        assert!(
            imports.iter().any(|i| i.starts_with(needed)),
            "missing {needed} in {imports:?}"
        );
    }
    let exports: Vec<String> = ty
        .exports(engine())
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(exports, vec!["kms-seal:seal/seal@0.2.0".to_string()]);
}

#[test]
fn every_export_against_moto_with_settings() {
    let moto = Moto::shared();
    let mut plugin = PluginInstance::new(&[], HttpPolicy::LoopbackOnly).unwrap();

    // Before configure: configuration errors, no key, nothing up to date.
    match plugin.encrypt(b"x", None).unwrap() {
        Err(SealError::Configuration(m)) => assert!(m.contains("configure"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(plugin.key_id().unwrap(), "");

    plugin.configure(&moto_settings(moto)).unwrap().unwrap();
    // configure ran DescribeKey: the alias became the key ARN.
    assert_eq!(plugin.key_id().unwrap(), moto.key_arn);

    let aad = b"core/hsm/barrier-unseal-keys";
    let plaintext = b"the root of all secrets";
    let blob = plugin.encrypt(plaintext, Some(aad)).unwrap().unwrap();
    assert!(
        !blob.windows(plaintext.len()).any(|w| w == plaintext),
        "plaintext leaked into the blob"
    );
    assert!(plugin.is_up_to_date(&blob).unwrap());
    assert_eq!(
        plugin.decrypt(&blob, Some(aad)).unwrap().unwrap(),
        plaintext
    );

    // Wrong AAD, altered bytes, garbage: integrity errors, never a trap.
    match plugin.decrypt(&blob, Some(b"other/path")).unwrap() {
        Err(SealError::Integrity(m)) => assert!(m.contains("aad"), "{m}"),
        other => panic!("{other:?}"),
    }
    match plugin.decrypt(&blob, None).unwrap() {
        Err(SealError::Integrity(_)) => {}
        other => panic!("{other:?}"),
    }
    match plugin.decrypt(b"\xff\xfe not a blob", None).unwrap() {
        Err(SealError::Integrity(m)) => assert!(m.contains("not a Vault"), "{m}"),
        other => panic!("{other:?}"),
    }
    match plugin.decrypt(b"", None).unwrap() {
        Err(SealError::Integrity(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(!plugin.is_up_to_date(b"\xff\xfe").unwrap());

    // A blob made without AAD, and the canary byte Vault appends to seal-wrapped entries.
    let plain_blob = plugin.encrypt(b"recovery key", None).unwrap().unwrap();
    let mut with_canary = plain_blob.clone();
    with_canary.push(b's');
    assert_eq!(
        plugin.decrypt(&with_canary, None).unwrap().unwrap(),
        b"recovery key"
    );
}

#[test]
fn configure_from_the_environment_alone() {
    let moto = Moto::shared();
    let mut plugin = PluginInstance::new(&moto.env(), HttpPolicy::LoopbackOnly).unwrap();
    plugin.configure(&[]).unwrap().unwrap();
    assert_eq!(plugin.key_id().unwrap(), moto.key_arn);
    let blob = plugin.encrypt(b"from env", None).unwrap().unwrap();
    assert_eq!(plugin.decrypt(&blob, None).unwrap().unwrap(), b"from env");

    // The environment wins over the settings, as in Vault...
    plugin
        .configure(&[("kms_key_id", "alias/does-not-exist")])
        .unwrap()
        .unwrap();
    // ...unless disallow_env_vars is set.
    let mut settings = moto_settings(moto);
    settings[0] = ("kms_key_id", "alias/does-not-exist");
    settings.push(("disallow_env_vars", "true"));
    match plugin.configure(&settings).unwrap() {
        Err(SealError::Kms(m)) => assert!(m.contains("NotFound") || m.contains("not found"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A failed configure leaves the instance unconfigured.
    assert_eq!(plugin.key_id().unwrap(), "");
    assert!(matches!(
        plugin.encrypt(b"x", None).unwrap(),
        Err(SealError::Configuration(_))
    ));
}

#[test]
fn wrong_secret_is_a_credentials_error() {
    let moto = Moto::shared();
    let mut plugin = PluginInstance::new(&[], HttpPolicy::LoopbackOnly).unwrap();
    let mut settings = moto_settings(moto);
    settings[4] = ("secret_key", "not-the-secret");
    match plugin.configure(&settings).unwrap() {
        Err(SealError::Credentials(m)) => assert!(!m.contains("not-the-secret"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut settings = moto_settings(moto);
    settings.truncate(3);
    match plugin.configure(&settings).unwrap() {
        Err(SealError::Credentials(m)) => assert!(m.contains("AWS_ACCESS_KEY_ID"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_settings_are_configuration_errors() {
    let mut plugin = PluginInstance::new(&[], HttpPolicy::LoopbackOnly).unwrap();
    for (settings, expect) in [
        (vec![("region", "us-east-1")], "kms_key_id"),
        (
            vec![("kms_key_id", "k"), ("region", "not a region")],
            "region",
        ),
        (
            // Plain http to anything but loopback is refused before any request.
            vec![
                ("kms_key_id", "k"),
                ("endpoint", "http://192.0.2.1:80"),
                ("access_key", "A"),
                ("secret_key", "S"),
            ],
            "loopback",
        ),
        (
            vec![
                ("kms_key_id", "k"),
                ("role_arn", "arn:aws:iam::1:role/r"),
                ("access_key", "A"),
                ("secret_key", "S"),
            ],
            "role_arn",
        ),
    ] {
        match plugin.configure(&settings).unwrap() {
            Err(SealError::Configuration(m)) => assert!(m.contains(expect), "{expect}: {m}"),
            other => panic!("{settings:?}: {other:?}"),
        }
    }
}

fn assert_transport_error(policy: HttpPolicy, endpoint: &str, expect: &str) {
    let mut plugin = PluginInstance::new(&[("AWS_MAX_ATTEMPTS", "1")], policy).unwrap();
    let settings = [
        ("kms_key_id", "alias/vault-unseal"),
        ("endpoint", endpoint),
        ("access_key", "AKIDEXAMPLE"),
        ("secret_key", "secret"),
    ];
    match plugin.configure(&settings).unwrap() {
        Err(SealError::Transport(m)) => assert!(m.contains(expect), "{policy:?}: {m}"),
        other => panic!("{policy:?}: expected a transport error, got {other:?}"),
    }
    // The instance is still usable after the failure: no trap poisoned it.
    assert_eq!(plugin.key_id().unwrap(), "");
}

#[test]
fn a_host_that_denies_outgoing_http_gets_a_transport_error_not_a_trap() {
    // Nothing listens there and nothing is sent: the host refuses first.
    assert_transport_error(HttpPolicy::DenyInHandle, "http://127.0.0.1:9", "denied");
    assert_transport_error(HttpPolicy::DenyOnSend, "http://127.0.0.1:9", "denied");
}

#[test]
fn connection_refused_is_a_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_transport_error(
        HttpPolicy::LoopbackOnly,
        &format!("http://127.0.0.1:{port}"),
        "connection refused",
    );
}
