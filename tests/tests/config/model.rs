//! Properties of the core configuration model: the documented precedence holds for every
//! combination of stanza values and environment variables, credentials never print, and
//! arbitrary input never panics.

use std::collections::HashMap;

use kms_seal_core::config::{
    AwsKmsSealConfig, DEFAULT_REGION, Parameter, SecretSource, ValueSource,
};
use proptest::prelude::*;

fn value_pool() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "",
        "us-east-1",
        "eu-west-1",
        "ap-south-1",
        "cn-north-1",
    ]))
}

/// What the module documentation promises for one parameter.
fn expected(
    parameter: Parameter,
    stanza: Option<&str>,
    env: &HashMap<&'static str, &'static str>,
    disallow: bool,
) -> Option<(String, ValueSource)> {
    // Written out here, not taken from the crate, so a change of order fails this test.
    let variables: &[&'static str] = match parameter {
        Parameter::Region => &["AWS_REGION", "AWS_DEFAULT_REGION"],
        Parameter::KmsKeyId => &["VAULT_AWSKMS_SEAL_KEY_ID", "AWSKMS_WRAPPER_KEY_ID"],
        Parameter::Endpoint => &["AWS_KMS_ENDPOINT"],
        _ => &[],
    };
    if !disallow {
        for var in variables {
            if let Some(value) = env.get(var).filter(|v| !v.is_empty()) {
                return Some(((*value).to_owned(), ValueSource::Environment(var)));
            }
        }
    }
    stanza
        .filter(|v| !v.is_empty())
        .map(|v| (v.to_owned(), ValueSource::Parameter))
}

proptest! {
    #[test]
    fn precedence_matches_the_documentation(
        region in value_pool(),
        key in value_pool(),
        endpoint in value_pool(),
        env_values in prop::collection::vec(value_pool(), 5),
        disallow in any::<bool>(),
    ) {
        let vars = [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "VAULT_AWSKMS_SEAL_KEY_ID",
            "AWSKMS_WRAPPER_KEY_ID",
            "AWS_KMS_ENDPOINT",
        ];
        let env: HashMap<&'static str, &'static str> = vars
            .iter()
            .zip(&env_values)
            .filter_map(|(var, value)| value.map(|v| (*var, v)))
            .collect();
        let mut params = vec![
            ("key_not_required", "true"),
            ("disallow_env_vars", if disallow { "true" } else { "false" }),
        ];
        for (name, value) in [("region", region), ("kms_key_id", key), ("endpoint", endpoint)] {
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let config = AwsKmsSealConfig::from_params(params.iter().copied(), lookup).unwrap();

        let want_region = expected(Parameter::Region, region, &env, disallow)
            .unwrap_or((DEFAULT_REGION.to_owned(), ValueSource::Default));
        prop_assert_eq!((config.region.clone(), config.region_source), want_region);
        let want_key = expected(Parameter::KmsKeyId, key, &env, disallow).map(|(v, _)| v);
        prop_assert_eq!(config.kms_key_id.clone(), want_key.unwrap_or_default());
        let want_endpoint = expected(Parameter::Endpoint, endpoint, &env, disallow).map(|(v, _)| v);
        prop_assert_eq!(config.endpoint.clone(), want_endpoint);
        prop_assert_eq!(config.disallow_env_vars, disallow);
    }

    #[test]
    fn literal_credentials_never_print(
        access in "[A-Z0-9]{20}",
        secret in "[A-Za-z0-9/+]{40}",
        token in "[A-Za-z0-9/+=]{24,64}",
        from_env in any::<bool>(),
    ) {
        let marker = |s: &str| format!("SECRET{s}");
        let (access, secret, token) = (marker(&access), marker(&secret), marker(&token));
        let mut params = vec![("kms_key_id", "alias/k")];
        let mut env = HashMap::new();
        if from_env {
            env.insert("AWS_ACCESS_KEY_ID", access.clone());
            env.insert("AWS_SECRET_ACCESS_KEY", secret.clone());
            env.insert("AWS_SESSION_TOKEN", token.clone());
        } else {
            params.push(("access_key", &access));
            params.push(("secret_key", &secret));
            params.push(("session_token", &token));
        }
        let lookup = |name: &str| env.get(name).cloned();
        let config = AwsKmsSealConfig::from_params(params.iter().copied(), lookup).unwrap();
        prop_assert_eq!(config.secret_key.as_ref().and_then(SecretSource::literal), Some(secret.as_str()));
        let debug = format!("{config:?}");
        prop_assert!(!debug.contains("SECRET"), "{}", debug);
    }

    #[test]
    fn arbitrary_input_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
        kms_seal_core::fuzzing::config::vault_config_params(&data);
    }

    #[test]
    fn structured_input_never_panics(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "region", "access_key", "secret_key", "session_token", "kms_key_id",
                    "endpoint", "disallow_env_vars", "key_not_required", "disabled", "name",
                    "$AWS_REGION", "$AWS_ACCESS_KEY_ID", "$AWS_SECRET_ACCESS_KEY",
                    "$VAULT_AWSKMS_SEAL_KEY_ID", "$AWSKMS_WRAPPER_KEY_ID", "unknown",
                ]),
                prop::sample::select(vec![
                    "", "true", "0", "T", "env://", "env://X", "file://", "file:///p", "us-east-1",
                    "bad region", "alias/k",
                ]),
            ),
            0..12,
        )
    ) {
        let text: Vec<String> = lines.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kms_seal_core::fuzzing::config::vault_config_params(text.join("\n").as_bytes());
    }
}
