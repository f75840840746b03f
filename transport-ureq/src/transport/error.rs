//! ureq and I/O errors mapped to the core's transport error kinds.

use std::io;

use kms_seal_core::http::{Request, Scheme, TransportError, TransportErrorKind};

use super::request::origin;

/// A ureq error mapped to a kind, before the destination is added to the detail.
pub(super) struct MappedError {
    pub(super) kind: TransportErrorKind,
    pub(super) detail: String,
}

impl MappedError {
    pub(super) fn with_origin(self, request: &Request) -> TransportError {
        TransportError::new(self.kind, format!("{} ({})", origin(request), self.detail))
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
            E::ConnectionFailed | E::ConnectProxyFailed(_) => TransportErrorKind::ConnectionRefused,
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
        let detail = match &e {
            E::BodyExceedsLimit(limit) => format!("response body exceeds {limit} bytes"),
            E::Timeout(t) => format!("timeout: {t}"),
            other => other.to_string(),
        };
        MappedError { kind, detail }
    }
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
