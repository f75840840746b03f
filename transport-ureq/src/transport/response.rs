//! Reading a response: status, headers, and the body up to the configured cap.

use std::io;

use kms_seal_core::http::Response;
use ureq::http;

/// The core's form of `response`, its body read to the end but no further than `max_bytes`.
///
/// # Errors
/// [`ureq::Error::BodyExceedsLimit`] when the body is longer than `max_bytes`; the I/O error
/// when reading it fails.
pub(super) fn read(
    mut response: http::Response<ureq::Body>,
    max_bytes: u64,
) -> Result<Response, ureq::Error> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    // Sized from Content-Length (within the cap) so the body is read without regrowing.
    let expected = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map_or(0, |n| n.min(max_bytes));
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    let mut reader = response.body_mut().with_config().limit(max_bytes).reader();
    io::Read::read_to_end(&mut reader, &mut body)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}
