//! KMS error responses: parsing every shape a KMS endpoint (or something in front of it) may
//! answer with, and classifying the result for the retry policy.
//!
//! Shapes handled:
//! - KMS JSON: `{"__type": "...", "message": "..."}`, where `__type` may carry a namespace
//!   prefix ending in `#` and a suffix after `:`, and `message` may be `Message` or missing;
//! - the `x-amzn-errortype` header when the body has no `__type`;
//! - AWS query-style XML (`<ErrorResponse><Errors><Error><Code>..<Message>..`), as moto and
//!   some proxies send for signature failures;
//! - anything else (HTML error pages, empty bodies): named by the HTTP status, with at most a
//!   short, sanitised excerpt (a page `<title>` or the first line).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

use super::Operation;
use super::json_reader::{ReadError, Reader};
use crate::http::Response;

/// Longest quoted text (message, excerpt) kept from a response, in bytes.
pub const MAX_QUOTED_LEN: usize = 200;

/// Longest error code kept from a response, in bytes (real codes are under 50).
const MAX_CODE_LEN: usize = 100;

/// What the retry policy should do about a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A transient failure (5xx, throttling, KMS internal errors): back off and retry.
    Retryable,
    /// The session token expired: get fresh credentials and retry once.
    RefreshCredentialsAndRetry,
    /// The request's time was too far from the service's: correct the clock offset from the
    /// response's `Date` header and retry once.
    ClockSkew,
    /// Retrying cannot help (access denied, unknown key, bad ciphertext, validation).
    Permanent,
}

/// An error response from KMS (or from whatever answered in its place).
///
/// `Display` names the operation, the error code, the HTTP status, the service's message
/// (capped at [`MAX_QUOTED_LEN`] bytes) and what to check next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    operation: Operation,
    status: u16,
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    body_kind: BodyKind,
}

/// What kind of body the error came in, for the message when there is no error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Json,
    Xml,
    Html,
    Empty,
    Text,
    Binary,
}

/// The members of a KMS JSON error body; `None` for absent or `null`.
struct JsonError<'a> {
    kind: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
    message_upper: Option<Cow<'a, str>>,
}

impl<'a> JsonError<'a> {
    /// Reads `{"__type": .., "message" | "Message": ..}`; any other member is skipped.
    fn read(body: &'a [u8]) -> Result<Self, ReadError> {
        let (mut kind, mut message, mut message_upper) = (None, None, None);
        let mut r = Reader::new(body);
        r.object(|r, name| match &*name {
            "__type" => r.once(&mut kind, Reader::opt_string),
            "message" => r.once(&mut message, Reader::opt_string),
            "Message" => r.once(&mut message_upper, Reader::opt_string),
            _ => r.skip(),
        })?;
        r.finish()?;
        Ok(JsonError {
            kind: kind.flatten(),
            message: message.flatten(),
            message_upper: message_upper.flatten(),
        })
    }
}

impl ServiceError {
    /// Parses the error response `response` to `operation`. Never fails: a body that cannot be
    /// understood still gives an error named by its HTTP status.
    pub fn from_response(operation: Operation, response: &Response) -> Self {
        let header_code = response
            .header("x-amzn-errortype")
            .and_then(normalize_code)
            .map(|c| cap_text(c, MAX_CODE_LEN));
        let request_id = response
            .header("x-amzn-requestid")
            .or_else(|| response.header("x-amz-request-id"))
            .map(|id| cap_text(id, 64))
            .filter(|id| !id.is_empty());
        let mut error = ServiceError {
            operation,
            status: response.status,
            code: None,
            message: None,
            request_id,
            body_kind: BodyKind::Empty,
        };
        let body = trim_ascii(&response.body);
        if body.is_empty() {
            error.code = header_code;
            return error;
        }
        if body.first() == Some(&b'{')
            && let Ok(json) = JsonError::read(body)
        {
            error.body_kind = BodyKind::Json;
            error.code = json
                .kind
                .as_deref()
                .and_then(normalize_code)
                .map(|c| cap_text(c, MAX_CODE_LEN))
                .or(header_code);
            error.message = json
                .message
                .or(json.message_upper)
                .map(|m| cap_text(&m, MAX_QUOTED_LEN))
                .filter(|m| !m.is_empty());
            return error;
        }
        let Ok(text) = core::str::from_utf8(body) else {
            error.body_kind = BodyKind::Binary;
            error.code = header_code;
            return error;
        };
        if let Some(code) = xml_element(text, "Code").and_then(normalize_code) {
            error.body_kind = BodyKind::Xml;
            error.code = Some(cap_text(code, MAX_CODE_LEN));
            error.message = xml_element(text, "Message")
                .map(|m| match m.trim().strip_prefix("<![CDATA[") {
                    Some(inner) => {
                        cap_text(inner.strip_suffix("]]>").unwrap_or(inner), MAX_QUOTED_LEN)
                    }
                    None => cap_text(&xml_unescape(m), MAX_QUOTED_LEN),
                })
                .filter(|m| !m.is_empty());
            return error;
        }
        error.code = header_code;
        if looks_like_html(text) {
            error.body_kind = BodyKind::Html;
            error.message = element_ignore_case(text, "title")
                .map(|t| cap_text(&xml_unescape(t), MAX_QUOTED_LEN))
                .filter(|t| !t.is_empty());
        } else {
            error.body_kind = BodyKind::Text;
            let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            error.message = Some(cap_text(first_line, MAX_QUOTED_LEN)).filter(|m| !m.is_empty());
        }
        error
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The error code without namespace prefix or suffix (`NotFoundException`), if the response
    /// had one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The service's message, capped at [`MAX_QUOTED_LEN`] bytes, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The request id the service returned, for AWS support.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether and how to retry.
    pub fn class(&self) -> ErrorClass {
        let code = self.code.as_deref().unwrap_or("");
        let message = self.message.as_deref().unwrap_or("");
        if matches!(code, "ExpiredTokenException" | "ExpiredToken") {
            return ErrorClass::RefreshCredentialsAndRetry;
        }
        if is_clock_skew(code, message) {
            return ErrorClass::ClockSkew;
        }
        if is_throttling(code) || is_transient(code) {
            return ErrorClass::Retryable;
        }
        if matches!(self.status, 429 | 500 | 502 | 503 | 504) {
            return ErrorClass::Retryable;
        }
        ErrorClass::Permanent
    }

    /// Whether the code is one of the throttling family (`ThrottlingException`, ...).
    pub fn is_throttling(&self) -> bool {
        self.code.as_deref().is_some_and(is_throttling) || self.status == 429
    }

    fn hint(&self) -> &'static str {
        match self.code.as_deref().unwrap_or("") {
            "AccessDeniedException" | "AccessDenied" => {
                "check that the key policy and the IAM policy of these credentials allow kms:Encrypt, kms:Decrypt and kms:DescribeKey on the key"
            }
            "NotFoundException" | "InvalidArnException" => {
                "check kms_key_id and that the key or alias exists in this region and account"
            }
            "DisabledException" => "enable the key in KMS, or configure another kms_key_id",
            "KMSInvalidStateException" => {
                "the key is pending deletion, pending import or unavailable: check its state in KMS"
            }
            "InvalidCiphertextException" => {
                "the ciphertext was altered, or was made with another encryption context or in another account or region"
            }
            "IncorrectKeyException" => "the ciphertext was made with another key",
            "InvalidKeyUsageException" => "use a symmetric key with key usage ENCRYPT_DECRYPT",
            "InvalidGrantTokenException" => "check the configured grant tokens",
            "SignatureDoesNotMatch"
            | "InvalidSignatureException"
            | "IncompleteSignatureException" => {
                if self.class() == ErrorClass::ClockSkew {
                    "check the system clock (it must be within 5 minutes of the service's)"
                } else {
                    "check the secret access key (and the region the request is signed for)"
                }
            }
            "UnrecognizedClientException" | "InvalidClientTokenId" => {
                "check the access key id and the session token"
            }
            "ExpiredTokenException" | "ExpiredToken" => {
                "the session token expired even after a refresh: check the credential source"
            }
            "RequestTimeTooSkewed" | "RequestExpired" | "RequestInTheFuture" => {
                "check the system clock (it must be within 5 minutes of the service's)"
            }
            "ValidationException" | "SerializationException" => {
                "the request was not valid for KMS: check kms_key_id, the encryption context and the grant tokens"
            }
            _ => match self.class() {
                ErrorClass::Retryable => {
                    "the service is busy or unavailable: retries were exhausted, try again later or raise the retry settings"
                }
                _ if self.code.is_none() => {
                    "the endpoint did not answer like KMS: check the endpoint URL and any proxy in between"
                }
                _ => "see the message for details",
            },
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kms {} failed: ", self.operation.name())?;
        match &self.code {
            Some(code) => write!(f, "{code} (http {})", self.status)?,
            None => {
                let what = match self.body_kind {
                    BodyKind::Json | BodyKind::Xml | BodyKind::Text => {
                        "a body without an error code"
                    }
                    BodyKind::Html => "an html page",
                    BodyKind::Empty => "an empty body",
                    BodyKind::Binary => "a binary body",
                };
                write!(f, "http {} with {what}", self.status)?;
            }
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        write!(f, "; {}", self.hint())
    }
}

impl core::error::Error for ServiceError {}

/// Strips a namespace prefix (up to the last `#`) and a suffix (from the first `:`), the way
/// the AWS SDKs read `__type`. `None` when nothing is left.
pub fn normalize_code(raw: &str) -> Option<&str> {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    let code = after_hash.split(':').next().unwrap_or(after_hash).trim();
    if code.is_empty() { None } else { Some(code) }
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "EC2ThrottledException"
    )
}

fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "RequestTimeout"
            | "RequestTimeoutException"
            | "PriorRequestNotComplete"
            | "KMSInternalException"
            | "DependencyTimeoutException"
            | "KeyUnavailableException"
            | "InternalFailure"
            | "InternalError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
    )
}

fn is_clock_skew(code: &str, message: &str) -> bool {
    match code {
        "RequestTimeTooSkewed" | "RequestExpired" | "RequestInTheFuture" => true,
        "InvalidSignatureException" | "SignatureDoesNotMatch" => {
            contains_ignore_case(message, "signature expired")
                || contains_ignore_case(message, "signature not yet current")
        }
        _ => false,
    }
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn looks_like_html(text: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(512)];
    contains_ignore_case_bytes(head, b"<html")
        || contains_ignore_case_bytes(head, b"<!doctype html")
}

fn contains_ignore_case_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The text of the first `<name>...</name>` element (exact case), if any.
fn xml_element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open_at = find_tag(text.as_bytes(), name, false)?;
    let rest = &text[open_at..];
    let close_at = find_tag(rest.as_bytes(), name, true)?;
    let open_len = name.len() + 2;
    rest.get(open_len..close_at)
}

/// Where `<name>` (or `</name>` when `closing`) starts, exact case.
fn find_tag(hay: &[u8], name: &str, closing: bool) -> Option<usize> {
    let prefix: &[u8] = if closing { b"</" } else { b"<" };
    let len = prefix.len() + name.len() + 1;
    hay.windows(len).position(|w| {
        w.starts_with(prefix) && &w[prefix.len()..len - 1] == name.as_bytes() && w[len - 1] == b'>'
    })
}

/// The text of the first `<name ...>...</name>` element, ignoring case and attributes.
fn element_ignore_case<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut open = [0u8; 16];
    let open = open.get_mut(..name.len() + 1)?;
    open[0] = b'<';
    open[1..].copy_from_slice(name.as_bytes());
    let at = bytes
        .windows(open.len())
        .position(|w| w.eq_ignore_ascii_case(open))?;
    let content_start = at + bytes[at..].iter().position(|&c| c == b'>')? + 1;
    let mut close = [0u8; 17];
    let close = close.get_mut(..name.len() + 2)?;
    close[..2].copy_from_slice(b"</");
    close[2..].copy_from_slice(name.as_bytes());
    let len = bytes[content_start..]
        .windows(close.len())
        .position(|w| w.eq_ignore_ascii_case(close))?;
    text.get(content_start..content_start + len)
}

fn xml_unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entities = [
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&amp;", '&'),
            ("&quot;", '"'),
            ("&apos;", '\''),
        ];
        match entities.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &rest[e.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Makes outside text safe to show: control characters become spaces, runs of whitespace
/// collapse to one, and the result is cut at a character boundary at most `max` bytes long
/// (with `...` appended when cut).
pub(crate) fn cap_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        let extra = usize::from(pending_space) + c.len_utf8();
        if out.len() + extra > max {
            out.push_str("...");
            return out;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(status: u16, body: &str) -> ServiceError {
        ServiceError::from_response(Operation::Decrypt, &response(status, &[], body))
    }

    #[test]
    fn parses_kms_json_errors() {
        let e = parse(
            400,
            r#"{"__type":"NotFoundException","message":"Alias arn:aws:kms:us-east-1:123:alias/x is not found."}"#,
        );
        assert_eq!(e.code(), Some("NotFoundException"));
        assert_eq!(
            e.message(),
            Some("Alias arn:aws:kms:us-east-1:123:alias/x is not found.")
        );
        assert_eq!(e.class(), ErrorClass::Permanent);
        let shown = e.to_string();
        assert!(shown.starts_with("kms Decrypt failed: NotFoundException (http 400): Alias"));
        assert!(shown.contains("check kms_key_id"));
    }

    #[test]
    fn strips_prefix_and_suffix_and_reads_capital_message() {
        let e = parse(
            400,
            r#"{"__type":"com.amazonaws.kms#ThrottlingException:http://internal.amazon.com/","Message":"Rate exceeded"}"#,
        );
        assert_eq!(e.code(), Some("ThrottlingException"));
        assert_eq!(e.message(), Some("Rate exceeded"));
        assert_eq!(e.class(), ErrorClass::Retryable);
        assert!(e.is_throttling());
    }

    #[test]
    fn missing_message_and_header_code() {
        let e = parse(400, r#"{"__type":"InvalidCiphertextException"}"#);
        assert_eq!(e.code(), Some("InvalidCiphertextException"));
        assert_eq!(e.message(), None);
        assert_eq!(e.class(), ErrorClass::Permanent);

        let r = response(
            400,
            &[
                ("X-Amzn-ErrorType", "aws.kms#KMSInternalException:"),
                ("x-amzn-RequestId", "abc-123"),
            ],
            "{}",
        );
        let e = ServiceError::from_response(Operation::Encrypt, &r);
        assert_eq!(e.code(), Some("KMSInternalException"));
        assert_eq!(e.request_id(), Some("abc-123"));
        assert_eq!(e.class(), ErrorClass::Retryable);
        assert!(e.to_string().contains("(request id abc-123)"));
    }

    #[test]
    fn moto_signature_xml() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse>\n  <Errors>\n    <Error>\n      <Code>SignatureDoesNotMatch</Code>\n      <Message><![CDATA[The request signature we calculated does not match the signature you provided.]]></Message>\n    </Error>\n  </Errors>\n  <RequestId>7a62c49f</RequestId>\n</ErrorResponse>";
        let r = response(403, &[("content-type", "text/html; charset=utf-8")], body);
        let e = ServiceError::from_response(Operation::DescribeKey, &r);
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
        assert!(e.message().unwrap().contains("signature we calculated"));
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(e.to_string().contains("check the secret access key"));

        let plain = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid &amp; stale.</Message></Error></Errors></ErrorResponse>";
        let e = parse(403, plain);
        assert_eq!(e.code(), Some("InvalidClientTokenId"));
        assert_eq!(
            e.message(),
            Some("The security token included in the request is invalid & stale.")
        );
    }

    #[test]
    fn clock_skew_forms() {
        for (code, msg) in [
            ("RequestTimeTooSkewed", ""),
            ("RequestExpired", ""),
            ("RequestInTheFuture", ""),
            (
                "InvalidSignatureException",
                "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T125100Z - 5 min.)",
            ),
            (
                "SignatureDoesNotMatch",
                "Signature not yet current: 20300830T123600Z is still later than 20150830T124600Z",
            ),
        ] {
            let e = parse(400, &format!(r#"{{"__type":"{code}","message":"{msg}"}}"#));
            assert_eq!(e.class(), ErrorClass::ClockSkew, "{code}");
        }
        let e = parse(
            400,
            r#"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}"#,
        );
        assert_eq!(e.class(), ErrorClass::Permanent);
    }

    #[test]
    fn expired_token_is_refresh() {
        for code in ["ExpiredTokenException", "ExpiredToken"] {
            let e = parse(400, &format!(r#"{{"__type":"{code}"}}"#));
            assert_eq!(e.class(), ErrorClass::RefreshCredentialsAndRetry);
        }
    }

    #[test]
    fn statuses_decide_without_a_code() {
        for (status, class) in [
            (500, ErrorClass::Retryable),
            (502, ErrorClass::Retryable),
            (503, ErrorClass::Retryable),
            (504, ErrorClass::Retryable),
            (429, ErrorClass::Retryable),
            (400, ErrorClass::Permanent),
            (403, ErrorClass::Permanent),
            (404, ErrorClass::Permanent),
            (501, ErrorClass::Permanent),
        ] {
            assert_eq!(parse(status, "").class(), class, "{status}");
        }
        let e = parse(503, "");
        assert_eq!(e.code(), None);
        assert!(e.to_string().contains("http 503 with an empty body"));
    }

    #[test]
    fn html_pages_become_their_title() {
        let mut body = String::from(
            "<!DOCTYPE html>\n<HTML><head><TITLE>502 Bad Gateway</TITLE></head><body>",
        );
        body.push_str(&"x".repeat(100_000));
        let e = parse(502, &body);
        assert_eq!(e.code(), None);
        assert_eq!(e.message(), Some("502 Bad Gateway"));
        let shown = e.to_string();
        assert!(shown.contains("http 502 with an html page: 502 Bad Gateway"));
        assert!(shown.len() < 600, "{}", shown.len());
        assert_eq!(e.class(), ErrorClass::Retryable);
    }

    #[test]
    fn long_and_binary_bodies_are_capped() {
        let long = "Service temporarily down ".repeat(1000);
        let e = parse(503, &long);
        let m = e.message().unwrap();
        assert!(m.len() <= MAX_QUOTED_LEN + 3);
        assert!(m.ends_with("..."));

        let json_long = format!(
            r#"{{"__type":"ValidationException","message":"{}"}}"#,
            "é".repeat(500)
        );
        let e = parse(400, &json_long);
        assert!(e.message().unwrap().len() <= MAX_QUOTED_LEN + 3);

        let r = Response {
            status: 500,
            headers: Vec::new(),
            body: vec![0xff, 0xfe, 0x00, 0x80],
        };
        let e = ServiceError::from_response(Operation::Encrypt, &r);
        assert!(e.to_string().contains("http 500 with a binary body"));
    }

    #[test]
    fn malformed_json_falls_back() {
        let e = parse(400, r#"{"__type": 5, "message": ["x"]}"#);
        assert_eq!(e.code(), None);
        assert!(e.message().is_some());
        let e = parse(400, &format!(r#"{{"__type":"{}"}}"#, "A".repeat(5000)));
        assert!(e.code().unwrap().len() <= 103);
        let e = parse(400, r##"{"__type":"#"}"##);
        assert_eq!(e.code(), None);
        assert!(
            e.to_string()
                .contains("http 400 with a body without an error code")
        );
    }

    #[test]
    fn cap_text_sanitises() {
        assert_eq!(cap_text("  a\n\n b\tc\u{7}  ", 100), "a b c");
        assert_eq!(cap_text("abc", 3), "abc");
        assert_eq!(cap_text("abcdef", 3), "abc...");
        assert_eq!(cap_text("ééé", 3), "é...");
    }

    #[test]
    fn normalizes_codes() {
        assert_eq!(normalize_code("a.b#C:d"), Some("C"));
        assert_eq!(normalize_code("C"), Some("C"));
        assert_eq!(normalize_code(":x"), None);
        assert_eq!(normalize_code("x#"), None);
    }
}
