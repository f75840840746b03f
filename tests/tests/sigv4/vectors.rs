//! The AWS SigV4 signing test suite (`tests/vectors/sigv4/v4`, Apache-2.0, see its README).
//!
//! Every case is run; for each we compare the canonical request, the string to sign, the
//! signature and the signed request's headers with the suite's files.
//!
//! How the suite is read (details in `tests/vectors/sigv4/README.md`):
//! - suite paths are request-line paths whose expected canonical form is encoded once, so the
//!   suite runs with `double_encode_path: false`; cases without `%` in the path are run again with
//!   the default (double-encoding) settings and must give the same canonical request;
//! - obsolete header line folding is unfolded to one space before signing (RFC 9112 §5.2);
//! - `double-url-encode` and `double-encode-path` have no `context.json` and are run by their own
//!   tests below; their `X-Amz-Date` request header is dropped because the signer adds it.
//!
//! Cases not applicable: none. Parts not checkable as-is: `double-url-encode` has no
//! `header-signature.txt` (its signature is checked through the signed request's
//! `Authorization`); `double-encode-path` has no string to sign or signature file, and its
//! canonical request and signed request are for different dates and credentials, so each is
//! checked at its own; `get-space-normalized`'s signed file spells the request path decoded, so
//! request lines are compared percent-decoded.

use std::fs;
use std::path::{Path, PathBuf};

use kms_seal_core::sigv4::{
    SignableRequest, SigningKey, SigningParams, SigningSettings, canonical_request, sign,
    string_to_sign,
};
use kms_seal_core::time::Timestamp;

/// Every case directory of the suite; a new or missing directory fails the test.
const CASES: [&str; 40] = [
    "double-encode-path",
    "double-url-encode",
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-relative-relative-unnormalized",
    "get-relative-unnormalized",
    "get-slash-dot-slash-normalized",
    "get-slash-dot-slash-unnormalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slash-pointless-dot-unnormalized",
    "get-slash-unnormalized",
    "get-slashes-normalized",
    "get-slashes-unnormalized",
    "get-space-normalized",
    "get-space-unnormalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
];

/// Cases without `context.json`, run by their own tests.
const SPECIAL: [&str; 2] = ["double-encode-path", "double-url-encode"];

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/sigv4/v4")
}

fn read(case: &str, file: &str) -> String {
    let path = suite_dir().join(case).join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An HTTP/1.1 request as the suite writes it.
#[derive(Debug)]
struct SuiteRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl SuiteRequest {
    fn parse(text: &str) -> SuiteRequest {
        let (head, body) = match text.split_once("\n\n") {
            Some((head, body)) => (head, body),
            None => (text.trim_end_matches('\n'), ""),
        };
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let (method, rest) = request_line.split_once(' ').expect("method");
        // The target may contain spaces (get-space-unnormalized); the version is last.
        let target = match rest.rsplit_once(' ') {
            Some((target, version)) if version.starts_with("HTTP/") => target,
            _ => rest,
        };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // obs-fold: a continuation line joins the previous value with one space.
                let last = headers.last_mut().expect("continuation after a header");
                last.1.push(' ');
                last.1.push_str(line.trim_start_matches([' ', '\t']));
            } else {
                let (name, value) = line.split_once(':').expect("header line");
                headers.push((name.to_string(), value.to_string()));
            }
        }
        SuiteRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// Headers as a sorted multiset of (lower-case name, value without surrounding spaces).
    fn normalized_headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        out.sort();
        out
    }
}

/// The suite's `context.json`.
struct Context {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    region: String,
    service: String,
    time: Timestamp,
    settings: SigningSettings,
}

impl Context {
    fn read(case: &str) -> Context {
        let json: serde_json::Value = serde_json::from_str(&read(case, "context.json")).unwrap();
        let creds = &json["credentials"];
        let text = |v: &serde_json::Value| v.as_str().expect("string").to_string();
        let flag = |name: &str| json[name].as_bool().unwrap_or(false);
        Context {
            access_key_id: text(&creds["access_key_id"]),
            secret_access_key: text(&creds["secret_access_key"]),
            token: creds["token"].as_str().map(str::to_string),
            region: text(&json["region"]),
            service: text(&json["service"]),
            time: Timestamp::parse_rfc3339(json["timestamp"].as_str().unwrap()).unwrap(),
            settings: SigningSettings {
                normalize_path: flag("normalize"),
                double_encode_path: false,
                content_sha256_header: flag("sign_body"),
                omit_session_token: flag("omit_session_token"),
            },
        }
    }

    fn params(&self, settings: SigningSettings) -> SigningParams<'_> {
        SigningParams {
            access_key_id: &self.access_key_id,
            session_token: self.token.as_deref(),
            region: &self.region,
            service: &self.service,
            time: self.time,
            settings,
        }
    }

    fn key(&self) -> SigningKey {
        SigningKey::derive(
            &self.secret_access_key,
            &self.time.date_stamp(),
            &self.region,
            &self.service,
        )
        .unwrap()
    }
}

/// Runs one case; returns the list of mismatches.
fn run_case(case: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let ctx = Context::read(case);
    let req = SuiteRequest::parse(&read(case, "request.txt"));
    let headers = req.header_pairs();
    let signable = SignableRequest {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &headers,
        body: &req.body,
    };
    let params = ctx.params(ctx.settings);

    let creq = canonical_request(&signable, &params).unwrap();
    if creq != read(case, "header-canonical-request.txt") {
        failures.push(format!("{case}: canonical request differs:\n{creq}"));
    }
    let sts = string_to_sign(&signable, &params).unwrap();
    if sts != read(case, "header-string-to-sign.txt") {
        failures.push(format!("{case}: string to sign differs:\n{sts}"));
    }
    let out = sign(&signable, &params, &ctx.key()).unwrap();
    let expected_signature = read(case, "header-signature.txt");
    if out.signature() != expected_signature.trim() {
        failures.push(format!("{case}: signature {} differs", out.signature()));
    }

    // The signed request: same request line and body, the request's headers plus ours. The
    // signer never touches the request line; get-space-normalized's signed file spells its
    // path `/example space/` for the request's `/example%20space/`, so paths are compared
    // percent-decoded.
    let signed = SuiteRequest::parse(&read(case, "header-signed-request.txt"));
    if (
        &signed.method,
        decoded(&signed.path),
        &signed.query,
        &signed.body,
    ) != (&req.method, decoded(&req.path), &req.query, &req.body)
    {
        failures.push(format!("{case}: signed request line or body differs"));
    }
    let mut ours = headers.clone();
    // Pushed one by one: `headers()` names are `&'static str`, ours borrow the request.
    for (name, value) in out.headers() {
        ours.push((name, value));
    }
    if SuiteRequest::normalized_headers(&ours)
        != SuiteRequest::normalized_headers(&signed.header_pairs())
    {
        failures.push(format!("{case}: signed headers differ: {ours:?}"));
    }

    // The default settings encode the path twice; where the path has no `%` that changes
    // nothing, so the results must be identical.
    if !req.path.contains('%') {
        let double = SigningSettings {
            double_encode_path: true,
            ..ctx.settings
        };
        let again = canonical_request(&signable, &ctx.params(double)).unwrap();
        if again != creq {
            failures.push(format!(
                "{case}: double encoding changed the canonical request"
            ));
        }
    }
    failures
}

/// Percent-decodes a path (for comparing two spellings of the same request line).
fn decoded(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn suite_has_exactly_the_known_cases() {
    let mut found: Vec<String> = fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, CASES);
}

#[test]
fn every_suite_case_matches() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in CASES.iter().filter(|c| !SPECIAL.contains(c)) {
        failures.extend(run_case(case));
        ran += 1;
    }
    assert_eq!(ran, 38);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The suite's credentials, used by `double-url-encode` (its `Authorization` names
/// `AKIDEXAMPLE`).
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Drops the `X-Amz-Date` header the two smithy-rs cases carry: the signer adds it, and
/// refuses it from the caller.
fn without_amz_date(req: &SuiteRequest) -> Vec<(&str, &str)> {
    let all = req.header_pairs();
    let params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        session_token: None,
        region: "us-east-1",
        service: "service",
        time: Timestamp(0),
        settings: SigningSettings::default(),
    };
    let signable = SignableRequest {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &all,
        body: &req.body,
    };
    assert_eq!(
        canonical_request(&signable, &params).unwrap_err(),
        kms_seal_core::sigv4::SigningError::ReservedHeader { name: "x-amz-date" }
    );
    all.into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"))
        .collect()
}

#[test]
fn double_url_encode_case_matches() {
    let case = "double-url-encode";
    let req = SuiteRequest::parse(&read(case, "request.txt"));
    let headers = without_amz_date(&req);
    let signable = SignableRequest {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &headers,
        body: &req.body,
    };
    let time = Timestamp::parse_rfc3339("2021-05-11T15:40:45Z").unwrap();
    let params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        session_token: None,
        region: "us-east-2",
        service: "lambda",
        time,
        settings: SigningSettings::default(),
    };
    assert_eq!(
        canonical_request(&signable, &params).unwrap(),
        read(case, "header-canonical-request.txt")
    );
    // This file (unlike the CRT ones) ends with a newline that is not part of the string.
    assert_eq!(
        string_to_sign(&signable, &params).unwrap(),
        read(case, "header-string-to-sign.txt").trim_end_matches('\n')
    );
    let key = SigningKey::derive(SUITE_SECRET, &time.date_stamp(), "us-east-2", "lambda").unwrap();
    let out = sign(&signable, &params, &key).unwrap();

    let signed = SuiteRequest::parse(&read(case, "header-signed-request.txt"));
    let mut ours = req.header_pairs();
    ours.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
    // Pushed one by one: `headers()` names are `&'static str`, ours borrow the request.
    for (name, value) in out.headers() {
        ours.push((name, value));
    }
    assert_eq!(
        SuiteRequest::normalized_headers(&ours),
        SuiteRequest::normalized_headers(&signed.header_pairs())
    );
}

#[test]
fn double_encode_path_case_matches() {
    let case = "double-encode-path";
    let req = SuiteRequest::parse(&read(case, "request.txt"));
    let headers = without_amz_date(&req);
    let signable = SignableRequest {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &headers,
        body: &req.body,
    };
    // The canonical request file is dated 2021-05-11.
    let creq_params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        session_token: None,
        region: "us-east-1",
        service: "service",
        time: Timestamp::parse_rfc3339("2021-05-11T15:40:45Z").unwrap(),
        settings: SigningSettings::default(),
    };
    assert_eq!(
        canonical_request(&signable, &creq_params).unwrap(),
        read(case, "header-canonical-request.txt")
    );

    // The signed request is dated 2015-08-30 and signed with aws-credential-types'
    // `Credentials::for_tests()` (ANOTREAL / notrealrnrELgWzOk3IfjzDKtFBhDby).
    let time = Timestamp::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
    let params = SigningParams {
        access_key_id: "ANOTREAL",
        time,
        ..creq_params
    };
    let key = SigningKey::derive(
        "notrealrnrELgWzOk3IfjzDKtFBhDby",
        &time.date_stamp(),
        "us-east-1",
        "service",
    )
    .unwrap();
    let out = sign(&signable, &params, &key).unwrap();
    assert_eq!(
        out.signature(),
        "57d157672191bac40bae387e48bbe14b15303c001fdbb01f4abf295dccb09705"
    );
    let signed = SuiteRequest::parse(&read(case, "header-signed-request.txt"));
    let mut ours = headers.clone();
    // Pushed one by one: `headers()` names are `&'static str`, ours borrow the request.
    for (name, value) in out.headers() {
        ours.push((name, value));
    }
    assert_eq!(
        SuiteRequest::normalized_headers(&ours),
        SuiteRequest::normalized_headers(&signed.header_pairs())
    );
}

#[test]
fn request_parser_reads_folding_targets_and_bodies() {
    let req = SuiteRequest::parse(&read("get-header-value-multiline", "request.txt"));
    assert_eq!(
        req.headers[1],
        ("My-Header1".into(), "value1 value2 value3".into())
    );
    let req = SuiteRequest::parse(&read("get-space-unnormalized", "request.txt"));
    assert_eq!(req.path, "/example space/");
    let req = SuiteRequest::parse(&read("post-x-www-form-urlencoded", "request.txt"));
    assert_eq!(req.body, b"Param1=value1");
    let req = SuiteRequest::parse(&read("get-vanilla-query-order-key-case", "request.txt"));
    assert_eq!(
        (req.path.as_str(), req.query.as_str()),
        ("/", "Param2=value2&Param1=value1")
    );
}
