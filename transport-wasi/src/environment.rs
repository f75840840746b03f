//! The component's environment variables, from `wasi:cli/environment`.
//!
//! The host decides what the component sees (`wasmtime run --env NAME=VALUE`, `-S inherit-env`,
//! or an embedder's `WasiCtxBuilder::env`). The seal reads Vault's and AWS's variables through
//! [`Environment::lookup`], the same lookup function the core's configuration takes, so the
//! precedence rules are those of the native CLI.

use alloc::string::String;
use alloc::vec::Vec;

/// A snapshot of the environment variables the host gave the component.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: Vec<(String, String)>,
}

impl Environment {
    /// Reads the variables from the host (`wasi:cli/environment.get-environment`).
    pub fn from_host() -> Self {
        Environment {
            vars: wasip2::cli::environment::get_environment(),
        }
    }

    /// An environment with exactly these variables (for tests and for hosts that pass
    /// settings explicitly).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of variable `name`, if set. When the host passes a name twice, the first
    /// value wins.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

// Values may be secrets (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): show names only.
impl core::fmt::Debug for Environment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set()
            .entries(self.vars.iter().map(|(k, _)| k))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn first_value_wins_and_debug_hides_values() {
        let env = Environment::from_pairs([
            ("AWS_SECRET_ACCESS_KEY", "very-secret"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_REGION", "us-east-2"),
        ]);
        assert_eq!(env.lookup("AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(env.lookup("aws_region"), None);
        assert_eq!(env.lookup("HOME"), None);
        let debug = format!("{env:?}");
        assert!(debug.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!debug.contains("very-secret"));
    }
}
