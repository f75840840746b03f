//! Fuzz entry point for the `seal "awskms"` configuration model.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::config::{
    AwsKmsSealConfig, ConfigError, DEFAULT_REGION, SecretSource, ValueSource, parse_go_bool,
};

/// Splits `data` into lines; `NAME=value` lines become stanza parameters, `$NAME=value` lines
/// become environment variables. Builds the configuration and checks that it never panics, is
/// deterministic, honours the documented precedence, and never shows a literal credential in
/// `Debug`.
pub fn vault_config_params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut params: Vec<(&str, &str)> = Vec::new();
    let mut env: Vec<(&str, &str)> = Vec::new();
    for line in text.split('\n') {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        match name.strip_prefix('$') {
            Some(var) => env.push((var, value)),
            None => params.push((name, value)),
        }
    }
    let lookup = |name: &str| {
        env.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    };

    let first = AwsKmsSealConfig::from_params(params.iter().copied(), lookup);
    let second = AwsKmsSealConfig::from_params(params.iter().copied(), lookup);
    assert_eq!(first, second, "from_params is deterministic");

    let config = match first {
        Ok(config) => config,
        Err(err) => {
            // Displays without panicking and names something to do.
            assert!(!format!("{err}").is_empty());
            if let ConfigError::MissingKeyId { .. } = err {
                let flag = params_value(&params, "key_not_required");
                assert_ne!(parse_go_bool(flag), Some(true), "key_not_required was set");
            }
            return;
        }
    };

    assert!(!config.region.is_empty());
    if config.region_source == ValueSource::Default {
        assert_eq!(config.region, DEFAULT_REGION);
    }
    if !config.key_not_required {
        assert!(!config.kms_key_id.is_empty());
    }
    assert_eq!(config.access_key.is_some(), config.secret_key.is_some());
    if config.disallow_env_vars {
        assert!(!matches!(config.region_source, ValueSource::Environment(_)));
    }

    // Debug must not depend on literal credential values.
    let mut blanked = config.clone();
    for secret in [
        &mut blanked.access_key,
        &mut blanked.secret_key,
        &mut blanked.session_token,
    ] {
        if let Some(SecretSource::Literal(value)) = secret {
            *value = Zeroizing::new(String::from("x"));
        }
    }
    assert_eq!(format!("{config:?}"), format!("{blanked:?}"));
}

fn params_value<'a>(params: &[(&'a str, &'a str)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_do_not_panic() {
        let seeds: [&[u8]; 8] = [
            b"",
            b"kms_key_id=alias/x",
            b"kms_key_id=k\naccess_key=A\nsecret_key=S\nsession_token=T",
            b"$AWS_REGION=eu-west-1\n$VAULT_AWSKMS_SEAL_KEY_ID=k\nregion=us-east-2",
            b"disallow_env_vars=true\n$AWSKMS_WRAPPER_KEY_ID=k",
            b"key_not_required=1\naccess_key=env://\nsecret_key=x",
            b"kms_key_id=k\nkms_key_id=k\n\xff\xfe=\x00",
            b"region=\xc3\xa9\nkms_key_id=k\nunknown=1\nname=n\npriority=2",
        ];
        for seed in seeds {
            vault_config_params(seed);
        }
    }
}
