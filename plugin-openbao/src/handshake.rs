//! go-plugin's start-up contract: the magic cookie, the protocol version, the unix socket and
//! the one handshake line on stdout.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// The magic cookie's variable, as OpenBao sets it for KMS plugins.
pub const MAGIC_COOKIE_KEY: &str = "OPENBAO_KMS_PLUGIN";
/// The magic cookie's value.
pub const MAGIC_COOKIE_VALUE: &str = "39704a18-7da7-4bda-9a2d-f7c488d70328";
/// go-plugin's core protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The KMS plugin API version this plugin speaks.
pub const APP_PROTOCOL_VERSION: u32 = 1;

/// Why the plugin cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartError {
    /// The magic cookie is missing or wrong: not started by OpenBao.
    NotStartedByOpenBao,
    /// `PLUGIN_PROTOCOL_VERSIONS` does not offer version 1.
    ProtocolVersion(String),
    /// `PLUGIN_CLIENT_CERT` is unset: AutoMTLS is off.
    NoClientCert,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotStartedByOpenBao => write!(
                f,
                "this is an OpenBao KMS plugin, started by the OpenBao server (`plugin \"kms\" \"awskms\"` and `seal \"awskms\"` in its configuration), not by hand; for the command line use `kms-seal`"
            ),
            StartError::ProtocolVersion(offered) => write!(
                f,
                "incompatible plugin API version: the host offers {offered:?}, this plugin speaks {APP_PROTOCOL_VERSION}; use an OpenBao 2.7 server"
            ),
            StartError::NoClientCert => write!(
                f,
                "PLUGIN_CLIENT_CERT is not set: this plugin only serves over AutoMTLS, as OpenBao starts it"
            ),
        }
    }
}

impl std::error::Error for StartError {}

/// What the host told the plugin through its environment.
#[derive(Clone, PartialEq, Eq)]
pub struct HostContract {
    /// The host's client certificate (PEM), the only one the plugin accepts.
    pub client_cert_pem: String,
    /// Where to create the socket.
    pub socket_dir: PathBuf,
}

impl fmt::Debug for HostContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostContract")
            .field("socket_dir", &self.socket_dir)
            .finish_non_exhaustive()
    }
}

impl HostContract {
    /// Reads and checks the host's variables through `env`.
    ///
    /// # Errors
    /// [`StartError`] saying what is wrong.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<HostContract, StartError> {
        if env(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(StartError::NotStartedByOpenBao);
        }
        // Unset means the host's default, which go-plugin takes as this server's version.
        if let Some(offered) = env("PLUGIN_PROTOCOL_VERSIONS") {
            let ours = APP_PROTOCOL_VERSION.to_string();
            if !offered.split(',').any(|v| v.trim() == ours) {
                return Err(StartError::ProtocolVersion(offered));
            }
        }
        let client_cert_pem = env("PLUGIN_CLIENT_CERT")
            .filter(|c| !c.trim().is_empty())
            .ok_or(StartError::NoClientCert)?;
        let socket_dir = env("PLUGIN_UNIX_SOCKET_DIR")
            .or_else(|| env("TMPDIR"))
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        Ok(HostContract {
            client_cert_pem,
            socket_dir,
        })
    }
}

/// A fresh socket path `<dir>/plugin<random>`, as go-plugin's `CreateTemp("", "plugin*")`.
///
/// # Errors
/// When the operating system gives no randomness.
pub fn socket_path(dir: &Path) -> Result<PathBuf, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    Ok(dir.join(format!("plugin{}", u64::from_le_bytes(bytes))))
}

/// `1|1|unix|<path>|grpc|<DER in standard base64 without padding>` (no newline).
pub fn handshake_line(socket: &Path, server_cert_der: &[u8]) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{}|grpc|{}",
        socket.display(),
        STANDARD_NO_PAD.encode(server_cert_der)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const COOKIE: (&str, &str) = (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);

    #[test]
    fn requires_the_cookie() {
        assert_eq!(
            HostContract::from_env(&env(&[("PLUGIN_CLIENT_CERT", "x")])),
            Err(StartError::NotStartedByOpenBao)
        );
        assert_eq!(
            HostContract::from_env(&env(&[
                (MAGIC_COOKIE_KEY, "wrong"),
                ("PLUGIN_CLIENT_CERT", "x")
            ])),
            Err(StartError::NotStartedByOpenBao)
        );
    }

    #[test]
    fn requires_version_one_when_versions_are_given() {
        let e = HostContract::from_env(&env(&[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "2,3"),
            ("PLUGIN_CLIENT_CERT", "x"),
        ]));
        assert_eq!(e, Err(StartError::ProtocolVersion("2,3".into())));
        let ok = HostContract::from_env(&env(&[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "2,1"),
            ("PLUGIN_CLIENT_CERT", "x"),
            ("TMPDIR", "/var/tmp"),
        ]))
        .expect("version 1 offered");
        assert_eq!(ok.socket_dir, PathBuf::from("/var/tmp"));
    }

    #[test]
    fn requires_automtls() {
        assert_eq!(
            HostContract::from_env(&env(&[COOKIE, ("PLUGIN_PROTOCOL_VERSIONS", "1")])),
            Err(StartError::NoClientCert)
        );
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_base64() {
        let line = handshake_line(Path::new("/tmp/plugin1"), &[1, 2, 3, 4]);
        assert_eq!(line, "1|1|unix|/tmp/plugin1|grpc|AQIDBA");
    }
}
