//! ureq and I/O errors mapped to the core's transport error kinds.

use std::io;

use kms_seal_core::http::{Request, Scheme, TransportError, TransportErrorKind};
use rustls::CertificateError;

use super::destination::authority_host;
use super::proxy::ProxySetting;
use super::request::origin;
use super::trust::TlsTrust;

/// A ureq error mapped to a kind, before the destination is added to the detail.
pub(super) struct MappedError {
    pub(super) kind: TransportErrorKind,
    pub(super) detail: String,
    /// Set when the server's certificate was rejected.
    pub(super) certificate: Option<CertificateCheck>,
}

impl MappedError {
    /// The error as the caller sees it. A rejected server certificate becomes one sentence
    /// naming the check that failed, the host and what to do
    /// (`certificate for kms.example is not trusted (unknown issuer); ...`).
    /// A request that went through a proxy says which (never with the proxy's credentials).
    pub(super) fn with_origin(
        self,
        request: &Request,
        trust: &TlsTrust,
        proxy: Option<&ProxySetting>,
    ) -> TransportError {
        if let Some(check) = self.certificate_check() {
            let host = authority_host(&request.authority);
            return TransportError::new(self.kind, check.sentence(host, trust));
        }
        let via = proxy.map(|p| format!(" via proxy {p}")).unwrap_or_default();
        TransportError::new(
            self.kind,
            format!("{}{via} ({})", origin(request), self.detail),
        )
    }

    fn certificate_check(&self) -> Option<CertificateCheck> {
        if self.kind != TransportErrorKind::Tls {
            return None;
        }
        self.certificate.clone()
    }
}

/// Which verification of the server's certificate failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CertificateCheck {
    /// No trusted root issued it (or a signature in the chain is wrong).
    Untrusted(&'static str),
    /// It does not name the host that was called.
    WrongName,
    /// Outside its validity period.
    Expired,
    NotYetValid,
    Revoked,
    /// Any other rejection, in rustls' words.
    Other(String),
}

impl CertificateCheck {
    fn from_rustls(e: &rustls::Error) -> Option<Self> {
        let rustls::Error::InvalidCertificate(e) = e else {
            return None;
        };
        Some(match e {
            CertificateError::UnknownIssuer => CertificateCheck::Untrusted("unknown issuer"),
            CertificateError::BadSignature => CertificateCheck::Untrusted("bad signature"),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertificateCheck::WrongName
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertificateCheck::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertificateCheck::NotYetValid
            }
            CertificateError::Revoked => CertificateCheck::Revoked,
            other => CertificateCheck::Other(format!("{other:?}")),
        })
    }

    fn sentence(&self, host: &str, trust: &TlsTrust) -> String {
        match self {
            CertificateCheck::Untrusted(why) => format!(
                "certificate for {host} is not trusted ({why}); {}",
                trust.advice()
            ),
            CertificateCheck::WrongName => format!(
                "certificate presented by {host} is for another name (hostname mismatch); \
                 call the endpoint by a name the certificate lists"
            ),
            CertificateCheck::Expired => format!(
                "certificate for {host} has expired; renew the server's certificate or check \
                 this machine's clock"
            ),
            CertificateCheck::NotYetValid => {
                format!("certificate for {host} is not valid yet; check this machine's clock")
            }
            CertificateCheck::Revoked => {
                format!("certificate for {host} is revoked; the server needs a new certificate")
            }
            CertificateCheck::Other(e) => format!(
                "certificate for {host} was rejected ({e}); {}",
                trust.advice()
            ),
        }
    }
}

impl MappedError {
    /// Maps a ureq error. Over https, rustls reports handshake and certificate failures as
    /// `InvalidData` I/O errors (HTTP-level garbage is a ureq protocol error instead).
    pub(super) fn from_ureq(e: ureq::Error, scheme: Scheme) -> Self {
        use ureq::Error as E;
        let kind = match &e {
            E::Timeout(_) => TransportErrorKind::Timeout,
            E::HostNotFound => TransportErrorKind::Dns,
            E::Io(io) if io.kind() == io::ErrorKind::InvalidData && scheme == Scheme::Https => {
                TransportErrorKind::Tls
            }
            E::Io(io) => io_kind(io),
            E::ConnectProxyFailed(reason) => match proxy_status(reason) {
                // The proxy said no (authentication required, forbidden, bad request): asking
                // again gets the same answer.
                Some(400..=499) => TransportErrorKind::Refused,
                // 502/503/504: the proxy could not reach the endpoint, or did not answer.
                _ => TransportErrorKind::ConnectionRefused,
            },
            E::ConnectionFailed => TransportErrorKind::ConnectionRefused,
            E::Protocol(_) | E::LargeResponseHeader(..) | E::BodyStalled => {
                TransportErrorKind::Protocol
            }
            E::TooManyRedirects | E::RedirectFailed => TransportErrorKind::Protocol,
            E::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
            E::Tls(_) | E::Pem(_) | E::Rustls(_) | E::TlsRequired => TransportErrorKind::Tls,
            E::BadUri(_) | E::Http(_) | E::RequireHttpsOnly(_) | E::InvalidProxyUrl => {
                TransportErrorKind::Refused
            }
            _ => TransportErrorKind::Other,
        };
        let certificate = match &e {
            E::Io(io) => io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .and_then(CertificateCheck::from_rustls),
            E::Rustls(r) => CertificateCheck::from_rustls(r),
            _ => None,
        };
        let detail = match &e {
            E::BodyExceedsLimit(limit) => format!("response body exceeds {limit} bytes"),
            E::Timeout(t) => format!("timeout: {t}"),
            E::ConnectProxyFailed(reason) => match proxy_status(reason) {
                Some(407) => "the proxy requires authentication (http 407 to CONNECT); put \
                              the user and password in the proxy url \
                              (http://user:password@host:port)"
                    .to_owned(),
                Some(403) => "the proxy refused to open a tunnel to the endpoint (http 403 to \
                              CONNECT); ask for the endpoint to be allowed, or list it in \
                              NO_PROXY"
                    .to_owned(),
                Some(status) => format!("the proxy answered http {status} to CONNECT"),
                None => format!("CONNECT through the proxy failed: {reason}"),
            },
            other => other.to_string(),
        };
        MappedError {
            kind,
            detail,
            certificate,
        }
    }
}

/// The status a proxy answered a CONNECT with, from ureq's wording of
/// `ConnectProxyFailed` (`proxy server responded 407/407`); `None`
/// when the proxy gave no status (it closed the connection or did not answer).
fn proxy_status(reason: &str) -> Option<u16> {
    let rest = reason.split_once("responded ")?.1;
    let digits = rest.get(..3)?;
    let status: u16 = digits.parse().ok()?;
    (100..=599).contains(&status).then_some(status)
}

pub(super) fn io_kind(e: &io::Error) -> TransportErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TransportErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => TransportErrorKind::ConnectionReset,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
        io::ErrorKind::InvalidData => TransportErrorKind::Protocol,
        io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::AddrNotAvailable => TransportErrorKind::ConnectionRefused,
        _ => TransportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(e: CertificateError) -> Option<CertificateCheck> {
        CertificateCheck::from_rustls(&rustls::Error::InvalidCertificate(e))
    }

    #[test]
    fn a_proxy_that_says_no_is_not_retried() {
        let mapped = |reason: &str| {
            let e = MappedError::from_ureq(
                ureq::Error::ConnectProxyFailed(reason.to_owned()),
                Scheme::Https,
            );
            (e.kind, e.detail)
        };
        // ureq 3's wording; a change there shows up here first.
        let (kind, detail) = mapped("proxy server responded 407/407");
        assert_eq!(kind, TransportErrorKind::Refused);
        assert!(
            detail.contains("requires authentication (http 407"),
            "{detail}"
        );
        let (kind, detail) = mapped("proxy server responded 403/403");
        assert_eq!(kind, TransportErrorKind::Refused);
        assert!(detail.contains("NO_PROXY"), "{detail}");
        assert_eq!(
            mapped("proxy server responded 400/400").0,
            TransportErrorKind::Refused
        );
        let (kind, detail) = mapped("proxy server responded 502/502");
        assert_eq!(kind, TransportErrorKind::ConnectionRefused);
        assert_eq!(detail, "the proxy answered http 502 to CONNECT");
        let (kind, detail) = mapped("proxy server did not respond");
        assert_eq!(kind, TransportErrorKind::ConnectionRefused);
        assert!(detail.contains("did not respond"), "{detail}");
        assert!(kind.is_retryable() && !TransportErrorKind::Refused.is_retryable());
    }

    #[test]
    fn each_certificate_failure_names_its_check() {
        let trust = TlsTrust::BuiltIn;
        let sentence = |e| check(e).unwrap().sentence("kms.example", &trust);
        assert_eq!(
            sentence(CertificateError::UnknownIssuer),
            "certificate for kms.example is not trusted (unknown issuer); set AWS_CA_BUNDLE to \
             a PEM file with the CA that issued it"
        );
        assert!(sentence(CertificateError::NotValidForName).contains("hostname mismatch"));
        assert!(sentence(CertificateError::Expired).contains("has expired"));
        assert!(sentence(CertificateError::NotValidYet).contains("not valid yet"));
        assert!(sentence(CertificateError::Revoked).contains("is revoked"));
        assert!(sentence(CertificateError::BadSignature).contains("(bad signature)"));
        assert!(sentence(CertificateError::BadEncoding).contains("was rejected (BadEncoding)"));
        assert_eq!(
            CertificateCheck::from_rustls(&rustls::Error::DecryptError),
            None,
            "not a certificate failure"
        );
    }

    #[test]
    fn a_rustls_error_inside_an_io_error_is_found() {
        let io = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let mapped = MappedError::from_ureq(ureq::Error::Io(io), Scheme::Https);
        assert_eq!(mapped.kind, TransportErrorKind::Tls);
        assert_eq!(
            mapped.certificate,
            Some(CertificateCheck::Untrusted("unknown issuer"))
        );
        assert!(!mapped.kind.is_retryable());
    }
}
