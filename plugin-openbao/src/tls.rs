//! go-plugin's AutoMTLS, server side: a P-256 certificate made at start-up (SAN `localhost`,
//! EKU serverAuth) that the handshake line hands to the host, and a client-certificate check
//! that accepts exactly the certificate the host put in `PLUGIN_CLIENT_CERT`.
//!
//! The host's certificate is a self-signed P-521 / ECDSA-SHA512 certificate marked CA:TRUE.
//! rustls' WebPki verifier refuses it as an end entity (`CaUsedAsEndEntity`), so
//! [`PinnedClientCert`] compares the presented certificate byte for byte with the pinned one
//! (what go-plugin's `ClientCAs` = that one certificate amounts to) and checks the handshake
//! signature with the aws-lc-rs provider, whose verification algorithms include
//! `ecdsa_secp521r1_sha512`: the CertificateRequest lists it, so Go sends its certificate.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Why the TLS set-up failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` holds no PEM certificate.
    ClientCert(String),
    /// The server certificate could not be made.
    ServerCert(String),
    /// rustls refused the configuration.
    Config(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::ClientCert(e) => write!(
                f,
                "PLUGIN_CLIENT_CERT holds no PEM certificate ({e}); the plugin must be started by OpenBao with AutoMTLS"
            ),
            TlsError::ServerCert(e) => write!(f, "cannot make the plugin's tls certificate: {e}"),
            TlsError::Config(e) => write!(f, "cannot set up tls: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The plugin's own certificate and key.
pub struct ServerIdentity {
    /// The certificate (DER), sent in the handshake line.
    pub cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("cert_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// A fresh self-signed P-256 certificate for `localhost` (EKU serverAuth), as go-plugin's
    /// host requires from the plugin.
    ///
    /// # Errors
    /// [`TlsError::ServerCert`] when key generation or signing fails.
    pub fn generate() -> Result<ServerIdentity, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| TlsError::ServerCert(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|e| TlsError::ServerCert(e.to_string()))?;
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "localhost");
        params.distinguished_name = name;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .self_signed(&key)
            .map_err(|e| TlsError::ServerCert(e.to_string()))?;
        Ok(ServerIdentity {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// The server configuration: TLS 1.2 and 1.3 with aws-lc-rs, ALPN `h2`, the host's
/// certificate required and pinned.
///
/// # Errors
/// [`TlsError::ClientCert`] when `client_cert_pem` holds no certificate,
/// [`TlsError::Config`] when rustls refuses the key.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert_pem: &str,
) -> Result<rustls::ServerConfig, TlsError> {
    let pinned = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TlsError::ClientCert(e.to_string()))?;
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedClientCert {
        cert: pinned,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one client certificate (byte for byte) and checks the handshake signature
/// made with its key.
#[derive(Debug)]
pub struct PinnedClientCert {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_request_lists_p521_sha512() {
        let provider = aws_lc_rs::default_provider();
        let verifier = PinnedClientCert {
            cert: CertificateDer::from(vec![1, 2, 3]),
            algorithms: provider.signature_verification_algorithms,
        };
        let schemes = verifier.supported_verify_schemes();
        assert!(
            schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512),
            "{schemes:?}"
        );
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let provider = aws_lc_rs::default_provider();
        let verifier = PinnedClientCert {
            cert: CertificateDer::from(vec![1, 2, 3]),
            algorithms: provider.signature_verification_algorithms,
        };
        let now = UnixTime::now();
        assert!(
            verifier
                .verify_client_cert(&CertificateDer::from(vec![1, 2, 3]), &[], now)
                .is_ok()
        );
        assert!(
            verifier
                .verify_client_cert(&CertificateDer::from(vec![1, 2, 4]), &[], now)
                .is_err()
        );
        assert!(verifier.client_auth_mandatory());
    }

    #[test]
    fn server_certificate_is_for_localhost() {
        let identity = ServerIdentity::generate().expect("certificate");
        // The DER holds the SAN dNSName "localhost" (tag 0x82, length 9).
        let der = identity.cert.as_ref();
        assert!(der.windows(11).any(|w| w == b"\x82\x09localhost"));
    }
}
