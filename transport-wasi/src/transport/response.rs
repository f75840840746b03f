//! The host's answer as the core's response, its body capped.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use kms_seal_core::http::{Response, TransportError, TransportErrorKind};
use wasip2::http::types::{IncomingBody, IncomingResponse};
use wasip2::io::streams::StreamError;

use super::error::stream_error;

/// Bytes asked for per blocking read of the response body.
const READ_CHUNK: u64 = 16 * 1024;

/// The status, headers and body (at most `limit` bytes) of `incoming`.
///
/// # Errors
/// [`TransportErrorKind::BodyTooLarge`] past `limit`; the mapped stream error when reading
/// fails; [`TransportErrorKind::Other`] when the host gives no body.
pub(super) fn read(incoming: IncomingResponse, limit: usize) -> Result<Response, TransportError> {
    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body_resource = incoming.consume().map_err(|()| {
        TransportError::new(TransportErrorKind::Other, "the host gave no response body")
    })?;
    let body = read_body(&body_resource, limit)?;
    // Trailers are not used; dropping the future discards them.
    drop(IncomingBody::finish(body_resource));
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_body(body: &IncomingBody, limit: usize) -> Result<Vec<u8>, TransportError> {
    let stream = body.stream().map_err(|()| {
        TransportError::new(
            TransportErrorKind::Other,
            "the host gave no response body stream",
        )
    })?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if out.len().saturating_add(chunk.len()) > limit {
                    return Err(TransportError::new(
                        TransportErrorKind::BodyTooLarge,
                        format!("more than {limit} bytes"),
                    ));
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(error) => return Err(stream_error(error, "reading the response body")),
        }
    }
    Ok(out)
}
