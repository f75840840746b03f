//! Differential testing of our SigV4 signer against `aws-sigv4` (the AWS SDK for Rust's).
//!
//! proptest generates requests (methods, paths with dot segments and escapes, query strings with
//! `+`, stray `%` and invalid UTF-8 escapes, headers with odd case and spacing, repeated and
//! unsigned headers, bodies), credentials with and without session tokens, dates, regions,
//! services and every combination of the four settings. Our signature, `Authorization` header and
//! list of added headers must equal aws-sigv4's. Both signers are called through
//! `kms_seal_tests::fuzzing::SigningCase`, the oracle the `sigv4_differential` fuzz target uses.

use kms_seal_core::sigv4::{SigningError, SigningSettings};
use kms_seal_tests::fuzzing::SigningCase as Case;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Generators

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("POST".to_string()),
        1 => Just("GET".to_string()),
        1 => Just("PUT".to_string()),
        1 => Just("DELETE".to_string()),
        1 => "[A-Z]{1,8}",
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("kms.us-east-1.amazonaws.com".to_string()),
        Just("kms-fips.us-gov-west-1.amazonaws.com".to_string()),
        Just("kms.cn-north-1.amazonaws.com.cn".to_string()),
        Just("127.0.0.1:4566".to_string()),
        Just("localhost:8080".to_string()),
        "[a-z0-9]{1,10}\\.example\\.com",
    ]
}

/// A percent escape: valid UTF-8 pieces, lone continuation bytes, overlongs, surrogates, `%7E`.
fn escape() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("%20".to_string()),
        Just("%2F".to_string()),
        Just("%2B".to_string()),
        Just("%7e".to_string()),
        Just("%E1%88%B4".to_string()),
        Just("%C3%A9".to_string()),
        Just("%FF".to_string()),
        Just("%C3".to_string()),
        Just("%E1%88".to_string()),
        Just("%C0%80".to_string()),
        Just("%ED%A0%80".to_string()),
        Just("%F4%90%80%80".to_string()),
        Just("%F0%9F%98%80".to_string()),
        "%[0-9A-Fa-f]{2}",
    ]
}

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        2 => Just(".".to_string()),
        2 => Just("..".to_string()),
        4 => "[A-Za-z0-9._~-]{1,8}",
        2 => "[A-Za-z0-9!$&'()*+,;=:@._~-]{1,8}",
        2 => (escape(), "[a-z.]{0,3}").prop_map(|(e, s)| format!("{e}{s}")),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("/".to_string()),
        5 => proptest::collection::vec(path_segment(), 1..7)
            .prop_map(|segments| format!("/{}", segments.join("/"))),
    ]
}

fn query_part() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "[A-Za-z0-9._~-]{1,6}",
            1 => Just("+".to_string()),
            1 => Just("%".to_string()),
            1 => Just("%zz".to_string()),
            1 => "[!$'()*,;:@/?]{1,3}",
            2 => escape(),
        ],
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        5 => proptest::collection::vec(
            prop_oneof![
                4 => (query_part(), query_part()).prop_map(|(k, v)| format!("{k}={v}")),
                1 => query_part(),
                1 => (query_part(), query_part(), query_part())
                    .prop_map(|(k, v, w)| format!("{k}={v}={w}")),
                1 => Just(String::new()),
            ],
            1..6,
        )
        .prop_map(|pairs| pairs.join("&")),
    ]
}

/// Header names in random case, including ones signers treat specially.
fn header_name() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        Just("x-amz-target".to_string()),
        Just("content-type".to_string()),
        Just("my-header".to_string()),
        Just("content-length".to_string()),
        Just("user-agent".to_string()),
        Just("x-amzn-trace-id".to_string()),
        Just("transfer-encoding".to_string()),
        Just("host".to_string()),
        "[a-z0-9!#$%&'*+.^_`|~-]{1,12}",
    ];
    (base, proptest::collection::vec(any::<bool>(), 12)).prop_map(|(name, upper)| {
        name.chars()
            .zip(upper.iter().cycle())
            .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// Header values with leading, trailing and inner runs of spaces, tabs and non-ASCII text.
fn header_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "[A-Za-z0-9\"(),/:;<=>?@\\[\\]{}.=_-]{1,8}",
            3 => " {1,4}",
            1 => Just("\t".to_string()),
            1 => Just("é€".to_string()),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn settings() -> impl Strategy<Value = SigningSettings> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(n, d, c, o)| {
        SigningSettings {
            normalize_path: n,
            double_encode_path: d,
            content_sha256_header: c,
            omit_session_token: o,
        }
    })
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("us-east-1".to_string()),
        Just("eu-west-3".to_string()),
        Just("cn-north-1".to_string()),
        Just("us-gov-west-1".to_string()),
        "[a-z]{2}-[a-z]{3,9}-[0-9]",
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (method(), host(), path(), query()),
        (
            proptest::collection::vec((header_name(), header_value()), 0..6),
            proptest::collection::vec(any::<u8>(), 0..300),
        ),
        (
            "(AKIA|ASIA)[A-Z0-9]{16}",
            "[A-Za-z0-9/+]{1,90}",
            proptest::option::of("[A-Za-z0-9+/=]{1,400}"),
        ),
        (
            region(),
            prop_oneof![Just("kms".to_string()), "[a-z][a-z0-9-]{0,14}"],
            0u64..4_102_444_800,
            settings(),
        ),
    )
        .prop_map(
            |(
                (method, host, path, query),
                (headers, body),
                (access_key_id, secret, token),
                (region, service, time, settings),
            )| Case {
                method,
                host,
                path,
                query,
                headers,
                body,
                access_key_id,
                secret,
                token,
                region,
                service,
                time,
                settings,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn signature_equals_aws_sigv4(case in case()) {
        prop_assume!(case.reserved_header().is_none());
        let theirs = case.theirs();
        // Every generated URI is one http::Uri accepts; make sure the filter does not hide
        // a whole class of inputs.
        prop_assert!(theirs.is_some(), "aws-sigv4 refused {case:?}");
        prop_assert_eq!(case.ours().ok(), theirs, "case: {:?}", case);
    }

    #[test]
    fn headers_the_signer_adds_are_refused(case in case(), which in 0usize..4, upper in any::<bool>()) {
        let name = ["x-amz-date", "authorization", "x-amz-security-token", "x-amz-content-sha256"][which];
        let mut case = case;
        if which == 2 && case.token.is_none() {
            case.token = Some("TOKEN".to_string());
        }
        if which == 3 {
            case.settings.content_sha256_header = true;
        }
        let spelled = if upper { name.to_ascii_uppercase() } else { name.to_string() };
        let probe = case.clone();
        case.headers.retain(|(n, _)| probe.reserved_name(n).is_none());
        case.headers.push((spelled, "x".to_string()));
        let canonical = match which {
            0 => "x-amz-date",
            1 => "authorization",
            2 => "x-amz-security-token",
            _ => "x-amz-content-sha256",
        };
        prop_assert_eq!(case.ours().err(), Some(SigningError::ReservedHeader { name: canonical }));
    }
}

/// A realistic KMS Encrypt request, as the seal sends it, checked outside proptest too.
#[test]
fn kms_encrypt_request_equals_aws_sigv4() {
    let case = Case {
        method: "POST".into(),
        host: "kms.eu-central-1.amazonaws.com".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ("X-Amz-Target".into(), "TrentService.Encrypt".into()),
            ("User-Agent".into(), "kms-seal/0.1".into()),
        ],
        body: br#"{"KeyId":"alias/vault","Plaintext":"c2VjcmV0"}"#.to_vec(),
        access_key_id: "ASIAEXAMPLEEXAMPLE12".into(),
        secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        token: Some("IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==".into()),
        region: "eu-central-1".into(),
        service: "kms".into(),
        time: 1_795_976_393,
        settings: SigningSettings::default(),
    };
    let theirs = case.theirs().unwrap();
    assert_eq!(case.ours().unwrap(), theirs);
    assert!(
        theirs.1.contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        )
    );
}
