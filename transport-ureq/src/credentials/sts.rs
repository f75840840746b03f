//! AWS STS over its Query API, shared by [`super::web_identity`] and [`super::assume_role`].
//!
//! Every call is a form-encoded `POST /` (`Action=...&Version=2011-06-15&...`) answered with
//! XML. `AssumeRoleWithWebIdentity` is unsigned; `AssumeRole` is SigV4-signed with the
//! service name `sts` by the core's signer.
//!
//! The endpoint, first match wins ([`resolve_endpoint`]):
//!
//! 1. `sts_endpoint` from [`ChainConfig`] (the library setting);
//! 2. the AWS-wide settings of [`crate::endpoints`]: `AWS_ENDPOINT_URL_STS`,
//!    `AWS_ENDPOINT_URL`, the profile's `services` section or `endpoint_url`;
//! 3. the regional endpoint `https://sts.<region>.amazonaws.com` (`.amazonaws.com.cn` in
//!    China). With `AWS_STS_REGIONAL_ENDPOINTS=legacy` (or the profile's
//!    `sts_regional_endpoints = legacy`) the regions that used the global endpoint before
//!    regional ones became the default use `https://sts.amazonaws.com`, signed for
//!    `us-east-1`, as the SDKs do.
//!
//! The XML answer is read without an XML library: the text of the `AccessKeyId`,
//! `SecretAccessKey`, `SessionToken` and `Expiration` elements inside `Credentials`, with
//! entities decoded. A 5xx answer, a retryable network fault or `IDPCommunicationError` is
//! retried once.

use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::{Request, Response, Transport, TransportError};
use kms_seal_core::sigv4::{self, SignableRequest, SigningKey, SigningParams, SigningSettings};
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::profile::SharedFiles;
use super::{ChainConfig, EnvLookup, ProviderError, short};
use crate::endpoints::{Service, configured_endpoint};
use crate::transport::{HttpUrl, UreqTransport};

/// The STS API version every call names.
pub const API_VERSION: &str = "2011-06-15";

/// The regions whose STS calls go to the global endpoint when `AWS_STS_REGIONAL_ENDPOINTS`
/// is `legacy` (botocore's and the AWS SDKs' list).
pub const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The STS endpoint chosen for a call, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsEndpoint {
    /// The URL as chosen.
    pub url: String,
    /// Which setting chose it (`sts_endpoint`, `AWS_ENDPOINT_URL_STS`, `regional default`...).
    pub source: String,
    /// The region requests are signed for.
    pub signing_region: String,
}

/// Chooses the STS endpoint for `region` (see the module documentation). `files` and
/// `profile` are the shared files and the selected profile, for the AWS-wide settings.
pub fn resolve_endpoint(
    config: &ChainConfig,
    env: &EnvLookup,
    files: Option<&SharedFiles>,
    profile: &str,
) -> StsEndpoint {
    let region = config
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_owned();
    if let Some(url) = config
        .sts_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        return StsEndpoint {
            url: url.to_owned(),
            source: "sts_endpoint".to_owned(),
            signing_region: region,
        };
    }
    if let Some(e) = configured_endpoint(Service::Sts, env, files, profile) {
        return StsEndpoint {
            url: e.url,
            source: e.source,
            signing_region: region,
        };
    }
    let legacy_setting = env
        .get("AWS_STS_REGIONAL_ENDPOINTS")
        .map(|v| (v, "AWS_STS_REGIONAL_ENDPOINTS"))
        .or_else(|| {
            files
                .and_then(|f| f.profile(profile))
                .and_then(|p| p.get("sts_regional_endpoints"))
                .map(|v| (v.to_owned(), "sts_regional_endpoints"))
        });
    if let Some((value, name)) = legacy_setting
        && value.trim().eq_ignore_ascii_case("legacy")
        && LEGACY_GLOBAL_REGIONS.contains(&region.as_str())
    {
        return StsEndpoint {
            url: "https://sts.amazonaws.com".to_owned(),
            source: format!("global endpoint ({name}=legacy)"),
            signing_region: "us-east-1".to_owned(),
        };
    }
    StsEndpoint {
        url: regional_endpoint(&region),
        source: format!("regional endpoint of {region}"),
        signing_region: region,
    }
}

/// `https://sts.<region>.amazonaws.com`, or `.amazonaws.com.cn` for China regions.
pub fn regional_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://sts.{region}.{suffix}")
}

/// What `AssumeRole` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRoleRequest {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `ExternalId`, if the role's trust policy asks for one.
    pub external_id: Option<String>,
    /// `DurationSeconds` (900 to 43200); STS's default (one hour) when `None`.
    pub duration_seconds: Option<u32>,
}

/// An STS client: the HTTPS transport (the chain's settings) and the form-encoded calls.
pub(super) struct StsClient {
    transport: Result<UreqTransport, TransportError>,
}

impl StsClient {
    /// A client over the chain's HTTPS settings.
    pub(super) fn new(config: &ChainConfig) -> Self {
        StsClient {
            transport: UreqTransport::with_config(config.https.clone()),
        }
    }

    /// `AssumeRole` with `source`'s credentials. `source_name` says where those came from,
    /// for messages (`profile 'base'`, `environment`).
    ///
    /// # Errors
    /// [`ProviderError`]: the endpoint or transport is unusable, STS is unreachable, denies
    /// the call, or answers without credentials.
    pub(super) fn assume_role(
        &self,
        endpoint: &StsEndpoint,
        source: &Credentials,
        source_name: &str,
        request: &AssumeRoleRequest,
        now: Timestamp,
    ) -> Result<Credentials, ProviderError> {
        let mut body = Zeroizing::new(format!("Action=AssumeRole&Version={API_VERSION}&RoleArn="));
        form_encode(&mut body, &request.role_arn);
        body.push_str("&RoleSessionName=");
        form_encode(&mut body, &request.session_name);
        if let Some(id) = &request.external_id {
            body.push_str("&ExternalId=");
            form_encode(&mut body, id);
        }
        if let Some(d) = request.duration_seconds {
            body.push_str(&format!("&DurationSeconds={d}"));
        }
        log::debug!(
            "sts AssumeRole {} at {} (from {}) with credentials from {source_name} ({})",
            request.role_arn,
            endpoint.url,
            endpoint.source,
            source.access_key_id()
        );
        let response = self.post(endpoint, body.as_bytes(), Some(source), now, "AssumeRole")?;
        if response.status != 200 {
            let code = body_code(&response.body).unwrap_or_else(|| "no error code".into());
            let message = xml_text(&response.body, "Message")
                .map(|m| format!(": {}", short(&m)))
                .unwrap_or_default();
            let hint = if code.contains("AccessDenied") {
                format!(
                    "allow sts:AssumeRole on {} for that identity and check the role's trust \
                     policy",
                    request.role_arn
                )
            } else {
                "check the role arn, the source credentials and the sts endpoint".to_owned()
            };
            return Err(ProviderError::Rejected(format!(
                "sts AssumeRole of {} with credentials from {source_name} ({}) answered http {} \
                 {}{message}; {hint}",
                request.role_arn,
                source.access_key_id(),
                response.status,
                short(&code)
            )));
        }
        parse_credentials(&response.body)
            .map_err(|e| ProviderError::Malformed(format!("sts AssumeRole answer {e}")))
    }

    /// POSTs a form body to `endpoint`, signed with `signer` when given; retries once on a
    /// 5xx answer, `IDPCommunicationError` or a retryable network fault.
    pub(super) fn post(
        &self,
        endpoint: &StsEndpoint,
        body: &[u8],
        signer: Option<&Credentials>,
        now: Timestamp,
        action: &str,
    ) -> Result<Response, ProviderError> {
        let url = HttpUrl::parse(&endpoint.url).map_err(|e| {
            ProviderError::Misconfigured(format!(
                "the sts endpoint {} (from {}) is not a valid url ({e})",
                endpoint.url, endpoint.source
            ))
        })?;
        let transport = self
            .transport
            .as_ref()
            .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
        let mut request = Request {
            method: "POST",
            scheme: url.scheme,
            authority: url.authority.clone(),
            path_and_query: url.path_and_query.clone(),
            headers: vec![
                ("host".to_owned(), url.authority.clone()),
                (
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                ),
            ],
            body: body.to_vec(),
        };
        if let Some(credentials) = signer {
            sign(
                &mut request,
                &url,
                credentials,
                &endpoint.signing_region,
                now,
            )?;
        }
        request
            .headers
            .push(("accept".to_owned(), "text/xml".to_owned()));
        let first = transport.send(&request);
        let retry = match &first {
            Ok(r) => {
                r.status >= 500 || body_code(&r.body).as_deref() == Some("IDPCommunicationError")
            }
            Err(e) => e.kind.is_retryable(),
        };
        let result = if retry {
            log::debug!("sts {action}: retrying once");
            transport.send(&request)
        } else {
            first
        };
        // The body may hold a token; wipe our copy.
        zeroize::Zeroize::zeroize(&mut request.body);
        result.map_err(|e| {
            ProviderError::Unreachable(format!(
                "sts at {} (from {}) not reachable: {e}",
                endpoint.url, endpoint.source
            ))
        })
    }
}

/// Adds the SigV4 headers (service `sts`) to `request`.
fn sign(
    request: &mut Request,
    url: &HttpUrl,
    credentials: &Credentials,
    region: &str,
    now: Timestamp,
) -> Result<(), ProviderError> {
    let failed = |e: sigv4::SigningError| {
        ProviderError::Misconfigured(format!("cannot sign the sts request: {e}"))
    };
    let key = SigningKey::derive(
        credentials.secret_access_key(),
        &now.date_stamp(),
        region,
        "sts",
    )
    .map_err(failed)?;
    let (path, query) = url
        .path_and_query
        .split_once('?')
        .unwrap_or((url.path_and_query.as_str(), ""));
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let output = sigv4::sign(
        &SignableRequest {
            method: request.method,
            path,
            query,
            headers: &headers,
            body: &request.body,
        },
        &SigningParams {
            access_key_id: credentials.access_key_id(),
            session_token: credentials.session_token(),
            region,
            service: "sts",
            time: now,
            settings: SigningSettings::default(),
        },
        &key,
    )
    .map_err(failed)?;
    let added: Vec<(String, String)> = output
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    drop(headers);
    request.headers.extend(added);
    Ok(())
}

/// Reads the credentials out of an `AssumeRoleResponse` or
/// `AssumeRoleWithWebIdentityResponse` document.
pub(super) fn parse_credentials(xml: &[u8]) -> Result<Credentials, String> {
    let section = element_inner(xml, "Credentials").ok_or("has no Credentials element")?;
    let field = |name: &str| -> Result<Zeroizing<String>, String> {
        element_inner(section, name)
            .map(decode_text)
            .transpose()?
            .map(|v| Zeroizing::new(v.trim().to_owned()))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("has no {name}"))
    };
    let access_key_id = field("AccessKeyId")?;
    let secret = field("SecretAccessKey")?;
    let session_token = field("SessionToken")?;
    let expiration = field("Expiration")?;
    let expires_at = Timestamp::parse_rfc3339(&expiration)
        .map_err(|_| "has an invalid Expiration timestamp".to_owned())?;
    Ok(Credentials::new(
        access_key_id.as_str(),
        secret.as_str(),
        Some(session_token.as_str().to_owned()),
        Some(expires_at),
    ))
}

/// The `Code` of an STS error document, if any.
pub(super) fn body_code(xml: &[u8]) -> Option<String> {
    xml_text(xml, "Code")
}

/// The decoded, trimmed text of the first element named `name`.
pub(super) fn xml_text(xml: &[u8], name: &str) -> Option<String> {
    element_inner(xml, name)
        .and_then(|inner| decode_text(inner).ok())
        .map(|s| s.trim().to_owned())
}

/// The bytes between `<name ...>` and the matching `</name>`, for the first element with
/// this local name (any namespace prefix). Self-closing elements have empty content.
fn element_inner<'a>(xml: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut pos = 0;
    while let Some(offset) = find(&xml[pos..], b"<") {
        let start = pos + offset + 1;
        let rest = &xml[start..];
        let tag_end = find(rest, b">")?;
        let tag = &rest[..tag_end];
        pos = start;
        if tag.first().is_some_and(|c| matches!(c, b'/' | b'?' | b'!')) {
            continue;
        }
        let tag_name_len = tag
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == b'/')
            .unwrap_or(tag.len());
        let tag_name = &tag[..tag_name_len];
        if local_name(tag_name) != name.as_bytes() {
            continue;
        }
        if tag.ends_with(b"/") {
            return Some(&[]);
        }
        let content_start = start + tag_end + 1;
        let mut close = Vec::with_capacity(tag_name.len() + 3);
        close.extend_from_slice(b"</");
        close.extend_from_slice(tag_name);
        let content = &xml[content_start..];
        let mut search = 0;
        while let Some(off) = find(&content[search..], &close) {
            let at = search + off;
            let after = content.get(at + close.len()..)?;
            let closing = after.iter().position(|c| !c.is_ascii_whitespace())?;
            if after[closing] == b'>' {
                return Some(&content[..at]);
            }
            search = at + close.len();
        }
        return None;
    }
    None
}

fn local_name(tag_name: &[u8]) -> &[u8] {
    match tag_name.iter().rposition(|c| *c == b':') {
        Some(i) => &tag_name[i + 1..],
        None => tag_name,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes element text: the five named entities, numeric character references and CDATA
/// sections. Nested elements are an error (these fields are plain text).
fn decode_text(raw: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "is not utf-8".to_owned())?;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after
                .find("]]>")
                .ok_or("has an unterminated CDATA section")?;
            out.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if rest.starts_with('<') {
            return Err("has markup where text was expected".to_owned());
        } else {
            let end = rest.find(';').ok_or("has an unterminated entity")?;
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = entity
                        .strip_prefix("#x")
                        .or_else(|| entity.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()
                    } else {
                        entity.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    code.and_then(char::from_u32)
                        .ok_or("has an unknown entity")?
                }
            };
            out.push(c);
            rest = &rest[end + 1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Appends `value` percent-encoded for an `application/x-www-form-urlencoded` body (every
/// byte but the RFC 3986 unreserved ones).
pub(super) fn form_encode(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &[u8] =
        br#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>tok&amp;en+/=</SessionToken>
      <SecretAccessKey><![CDATA[sec<ret]]></SecretAccessKey>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;

    #[test]
    fn parses_the_sts_answer() {
        let c = parse_credentials(RESPONSE).unwrap();
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key(), "sec<ret");
        assert_eq!(c.session_token(), Some("tok&en+/="));
        assert_eq!(c.expires_at(), Some(Timestamp(1_893_456_000)));
    }

    #[test]
    fn accepts_prefixes_attributes_and_spacing() {
        let xml = br#"<?xml version="1.0"?><s:Credentials a="1"><s:AccessKeyId >A&#65;&#x42;</s:AccessKeyId ><s:SecretAccessKey>s</s:SecretAccessKey><s:SessionToken>t</s:SessionToken><s:Expiration>2030-01-01T00:00:00.000Z</s:Expiration></s:Credentials>"#;
        let c = parse_credentials(xml).unwrap();
        assert_eq!(c.access_key_id(), "AAB");
    }

    #[test]
    fn rejects_incomplete_answers() {
        let e = parse_credentials(b"<Credentials><AccessKeyId>A</AccessKeyId></Credentials>")
            .unwrap_err();
        assert!(e.contains("SecretAccessKey"), "{e}");
        assert!(parse_credentials(b"<html>nope</html>").is_err());
        assert!(parse_credentials(b"<Credentials><AccessKeyId>A").is_err());
        assert!(parse_credentials(b"").is_err());
        let e = parse_credentials(
            b"<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>later</Expiration></Credentials>",
        )
        .unwrap_err();
        assert!(e.contains("Expiration"), "{e}");
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let closed = find(RESPONSE, b"</Credentials>").unwrap() + b"</Credentials>".len();
        for end in 0..RESPONSE.len() {
            let parsed = parse_credentials(&RESPONSE[..end]);
            // Until Credentials is closed, a prefix is incomplete; after it, it is complete.
            assert_eq!(parsed.is_ok(), end >= closed, "prefix of {end} bytes");
        }
        for i in 0..RESPONSE.len() {
            for b in [b'<', b'>', b'&', b'/', 0xff] {
                let mut doc = RESPONSE.to_vec();
                doc[i] = b;
                let _ = parse_credentials(&doc);
            }
        }
    }

    #[test]
    fn reads_error_codes() {
        let xml = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized &lt;x&gt;</Message></Error></ErrorResponse>";
        assert_eq!(body_code(xml).as_deref(), Some("AccessDenied"));
        assert_eq!(
            xml_text(xml, "Message").as_deref(),
            Some("Not authorized <x>")
        );
        assert_eq!(body_code(b"{}"), None);
    }

    #[test]
    fn similar_tag_names_do_not_match() {
        let xml = b"<AccessKeyIdX>no</AccessKeyIdX><AccessKeyId>yes</AccessKeyId>";
        assert_eq!(xml_text(xml, "AccessKeyId").as_deref(), Some("yes"));
    }

    #[test]
    fn form_encoding() {
        let mut s = String::new();
        form_encode(&mut s, "arn:aws:iam::1:role/r a+b~");
        assert_eq!(s, "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr%20a%2Bb~");
    }

    #[test]
    fn regional_endpoints() {
        assert_eq!(
            regional_endpoint("eu-west-1"),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint("cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
    }

    fn endpoint_for(
        sts_endpoint: Option<&str>,
        region: &str,
        env: &[(&str, &str)],
        config_file: &str,
    ) -> StsEndpoint {
        let config = ChainConfig {
            sts_endpoint: sts_endpoint.map(str::to_owned),
            region: Some(region.to_owned()),
            ..ChainConfig::default()
        };
        let files = SharedFiles::parse(Some(config_file), None);
        let env = EnvLookup::from_pairs(env.iter().copied());
        resolve_endpoint(&config, &env, Some(&files), "p")
    }

    #[test]
    fn endpoint_precedence() {
        let file = "[profile p]\nendpoint_url = http://profile.example\n";
        let env = [
            ("AWS_ENDPOINT_URL_STS", "http://sts-env.example"),
            ("AWS_ENDPOINT_URL", "http://all-env.example"),
        ];
        let e = endpoint_for(Some("http://config.example"), "eu-west-1", &env, file);
        assert_eq!(
            (e.url.as_str(), e.source.as_str()),
            ("http://config.example", "sts_endpoint")
        );
        assert_eq!(e.signing_region, "eu-west-1");
        let e = endpoint_for(None, "eu-west-1", &env, file);
        assert_eq!(e.url, "http://sts-env.example");
        assert_eq!(e.source, "AWS_ENDPOINT_URL_STS");
        let e = endpoint_for(None, "eu-west-1", &env[1..], file);
        assert_eq!(e.url, "http://all-env.example");
        let e = endpoint_for(None, "eu-west-1", &[], file);
        assert_eq!(e.url, "http://profile.example");
        let e = endpoint_for(
            None,
            "eu-west-1",
            &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")],
            file,
        );
        assert_eq!(e.url, "https://sts.eu-west-1.amazonaws.com");
        assert_eq!(e.source, "regional endpoint of eu-west-1");
    }

    #[test]
    fn legacy_global_endpoint_only_for_legacy_regions() {
        let legacy = [("AWS_STS_REGIONAL_ENDPOINTS", "legacy")];
        let e = endpoint_for(None, "eu-west-1", &legacy, "");
        assert_eq!(e.url, "https://sts.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
        let e = endpoint_for(None, "af-south-1", &legacy, "");
        assert_eq!(e.url, "https://sts.af-south-1.amazonaws.com");
        let e = endpoint_for(
            None,
            "us-west-2",
            &[],
            "[profile p]\nsts_regional_endpoints = legacy\n",
        );
        assert_eq!(e.url, "https://sts.amazonaws.com");
        let e = endpoint_for(
            None,
            "us-west-2",
            &[("AWS_STS_REGIONAL_ENDPOINTS", "regional")],
            "",
        );
        assert_eq!(e.url, "https://sts.us-west-2.amazonaws.com");
    }

    #[test]
    fn signed_requests_carry_a_sts_scope_and_the_token() {
        let url = HttpUrl::parse("http://127.0.0.1:9/").unwrap();
        let mut request = Request {
            method: "POST",
            scheme: url.scheme,
            authority: url.authority.clone(),
            path_and_query: url.path_and_query.clone(),
            headers: vec![("host".to_owned(), url.authority.clone())],
            body: b"Action=AssumeRole".to_vec(),
        };
        let c = Credentials::new("AKIDEXAMPLE", "secret", Some("tok".to_owned()), None);
        sign(
            &mut request,
            &url,
            &c,
            "eu-west-1",
            Timestamp(1_440_938_160),
        )
        .unwrap();
        let header = |n: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        let auth = header("authorization").unwrap();
        assert!(
            auth.contains("Credential=AKIDEXAMPLE/20150830/eu-west-1/sts/aws4_request"),
            "{auth}"
        );
        assert_eq!(header("x-amz-security-token").as_deref(), Some("tok"));
    }
}
