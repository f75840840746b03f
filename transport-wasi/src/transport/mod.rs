//! [`WasiHttpTransport`]: the core's [`Transport`] over `wasi:http/outgoing-handler`.
//!
//! The host does the networking (TCP, TLS with its own trust roots, DNS); this module turns the
//! core's [`Request`] into a `wasi:http` outgoing request and the host's answer into a
//! [`Response`]. It follows the same rules as the native transport:
//!
//! - the request body is written and finished **before** `handle` is called (writing it
//!   afterwards raced with the host sending the request in early experiments);
//! - connect, first-byte and between-bytes timeouts go to the host through `request-options`
//!   (a host that does not support one keeps its own default);
//! - response bodies are capped ([`DEFAULT_MAX_RESPONSE_BYTES`]);
//! - plain `http://` is refused unless the host is loopback (`127.0.0.0/8`, `::1`,
//!   `localhost`): credentials must not cross a network in clear text;
//! - every `wasi:http` error code becomes a [`TransportErrorKind`], so the seal's retry policy
//!   classifies it; a host that denies outgoing HTTP gives [`TransportErrorKind::Refused`],
//!   never a trap;
//! - no retries here: the seal retries, the same way over every transport.

mod config;
mod error;
mod request;
mod response;

use kms_seal_core::http::{Request, Response, Transport, TransportError, TransportErrorKind};
use wasip2::http::outgoing_handler;
use wasip2::http::types::OutgoingBody;

// The WASI command includes this module by path and uses only part of its public items.
#[allow(
    unused_imports,
    reason = "not every re-export is used by the WASI command"
)]
pub use config::{
    DEFAULT_BETWEEN_BYTES_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FIRST_BYTE_TIMEOUT_MS,
    DEFAULT_MAX_RESPONSE_BYTES, TransportConfig,
};
#[allow(
    unused_imports,
    reason = "not every re-export is used by the WASI command"
)]
pub use error::{error_kind, map_error_code};

use config::request_options;
use request::{build_request, check_scheme, write_body};

/// Sends the seal's requests through the host's `wasi:http/outgoing-handler`.
///
/// Holds no host resources between calls: each [`send`](Transport::send) creates and drops its
/// own request, so the transport can live in a static.
#[derive(Clone, Debug, Default)]
pub struct WasiHttpTransport {
    config: TransportConfig,
}

impl WasiHttpTransport {
    /// A transport with the default timeouts and body cap.
    pub fn new() -> Self {
        WasiHttpTransport::default()
    }

    /// A transport with these timeouts and body cap.
    pub fn with_config(config: TransportConfig) -> Self {
        WasiHttpTransport { config }
    }

    /// The timeouts and body cap in use.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }
}

impl Transport for WasiHttpTransport {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        check_scheme(request)?;
        let outgoing = build_request(request)?;

        // Write and finish the body before handing the request to the host.
        let body = outgoing.body().map_err(|()| {
            TransportError::new(TransportErrorKind::Other, "the host gave no request body")
        })?;
        write_body(&body, &request.body)?;
        OutgoingBody::finish(body, None).map_err(|code| map_error_code(&code))?;

        let options = request_options(&self.config);
        let future = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|code| map_error_code(&code))?;
        future.subscribe().block();
        let incoming = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(map_error_code(&code)),
            Some(Err(())) => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the host returned the response twice",
                ));
            }
            None => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the host reported the response ready but had none",
                ));
            }
        };
        response::read(incoming, self.config.max_response_bytes)
    }
}
