//! Web identity: STS `AssumeRoleWithWebIdentity` with a token file (EKS IRSA, GitHub OIDC).
//!
//! Settings, each from the configuration or else the environment: `role_arn` /
//! `AWS_ROLE_ARN`, `web_identity_token_file` / `AWS_WEB_IDENTITY_TOKEN_FILE`,
//! `role_session_name` / `AWS_ROLE_SESSION_NAME` (default `kms-seal-<unix time>`).
//!
//! The call is an unsigned form POST (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&
//! RoleArn=...&RoleSessionName=...&WebIdentityToken=...`) to the regional endpoint
//! `https://sts.<region>.amazonaws.com` (`.amazonaws.com.cn` in China), or to
//! `sts_endpoint` / `AWS_ENDPOINT_URL_STS`. The token file is re-read on every call because
//! the cluster rotates it. The XML answer is read without an XML library: the text of the
//! `AccessKeyId`, `SecretAccessKey`, `SessionToken` and `Expiration` elements inside
//! `Credentials`, with entities decoded. The chain's cache refreshes the credentials 5
//! minutes before `Expiration`. A proxy from the environment is honoured.

use std::path::PathBuf;

use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::{Request, Response, Transport, TransportError};
use kms_seal_core::time::Timestamp;
use zeroize::Zeroizing;

use super::{ChainConfig, CredentialSource, EnvLookup, ProviderError, read_small_file, short};
use crate::transport::{HttpUrl, UreqTransport};

/// Web identity tokens larger than this are refused.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The fourth source in the chain.
pub struct WebIdentityProvider {
    role_arn: Option<String>,
    token_file: Option<PathBuf>,
    session_name: Option<String>,
    endpoint: Result<HttpUrl, String>,
    transport: Result<UreqTransport, TransportError>,
}

impl std::fmt::Debug for WebIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentityProvider")
            .field("role_arn", &self.role_arn)
            .field("token_file", &self.token_file)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl WebIdentityProvider {
    /// A provider for the chain's configuration, reading the rest from `env`.
    pub fn new(config: &ChainConfig, env: EnvLookup) -> Self {
        let role_arn = config
            .role_arn
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ROLE_ARN"))
            .map(|v| v.trim().to_owned());
        let token_file = config
            .web_identity_token_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| env.get("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from))
            .map(|p| env.expand_home(p.to_string_lossy().trim()));
        let session_name = config
            .role_session_name
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ROLE_SESSION_NAME"))
            .map(|v| v.trim().to_owned());
        let endpoint_text = config
            .sts_endpoint
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get("AWS_ENDPOINT_URL_STS"))
            .unwrap_or_else(|| regional_endpoint(config.region.as_deref().unwrap_or("us-east-1")));
        let endpoint = HttpUrl::parse(&endpoint_text).map_err(|e| e.to_string());
        WebIdentityProvider {
            role_arn,
            token_file,
            session_name,
            endpoint,
            transport: UreqTransport::with_config(config.https.clone()),
        }
    }

    fn call(
        &self,
        transport: &UreqTransport,
        request: &Request,
    ) -> Result<Response, ProviderError> {
        let first = transport.send(request);
        let retry = match &first {
            Ok(r) => {
                r.status >= 500 || body_code(&r.body).as_deref() == Some("IDPCommunicationError")
            }
            Err(e) => e.kind.is_retryable(),
        };
        let result = if retry {
            log::debug!("sts AssumeRoleWithWebIdentity: retrying once");
            transport.send(request)
        } else {
            first
        };
        result.map_err(|e| ProviderError::Unreachable(format!("sts not reachable: {e}")))
    }
}

impl CredentialSource for WebIdentityProvider {
    fn name(&self) -> &'static str {
        "web identity"
    }

    fn load(&self, now: Timestamp) -> Result<Credentials, ProviderError> {
        let (role_arn, token_file) = match (&self.role_arn, &self.token_file) {
            (Some(r), Some(t)) => (r, t),
            (None, None) => {
                return Err(ProviderError::NotConfigured(
                    "role_arn / AWS_ROLE_ARN and web_identity_token_file / \
                     AWS_WEB_IDENTITY_TOKEN_FILE are not set"
                        .into(),
                ));
            }
            (Some(_), None) => {
                return Err(ProviderError::Misconfigured(
                    "a role arn is set but no web identity token file; set \
                     web_identity_token_file or AWS_WEB_IDENTITY_TOKEN_FILE"
                        .into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ProviderError::Misconfigured(
                    "a web identity token file is set but no role arn; set role_arn or \
                     AWS_ROLE_ARN"
                        .into(),
                ));
            }
        };
        let endpoint = self.endpoint.as_ref().map_err(|e| {
            ProviderError::Misconfigured(format!("the sts endpoint is not a valid url ({e})"))
        })?;
        let transport = self
            .transport
            .as_ref()
            .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
        let token = read_small_file(token_file, MAX_TOKEN_BYTES)
            .map_err(|e| ProviderError::Misconfigured(format!("web identity token: {e}")))?
            .ok_or_else(|| {
                ProviderError::Misconfigured(format!(
                    "web identity token file {} does not exist",
                    token_file.display()
                ))
            })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(ProviderError::Misconfigured(format!(
                "web identity token file {} is empty",
                token_file.display()
            )));
        }
        let session_name = self
            .session_name
            .clone()
            .unwrap_or_else(|| format!("kms-seal-{}", now.as_secs()));
        let mut body = Zeroizing::new(String::with_capacity(token.len() + 256));
        body.push_str("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
        form_encode(&mut body, role_arn);
        body.push_str("&RoleSessionName=");
        form_encode(&mut body, &session_name);
        body.push_str("&WebIdentityToken=");
        form_encode(&mut body, token);
        let request = Request {
            method: "POST",
            scheme: endpoint.scheme,
            authority: endpoint.authority.clone(),
            path_and_query: endpoint.path_and_query.clone(),
            headers: vec![
                (
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                ),
                ("accept".to_owned(), "text/xml".to_owned()),
            ],
            body: body.as_bytes().to_vec(),
        };
        let response = self.call(transport, &request);
        // The request body holds the token; wipe our copy.
        let mut request = request;
        zeroize::Zeroize::zeroize(&mut request.body);
        let response = response?;
        if response.status != 200 {
            let code = body_code(&response.body).unwrap_or_else(|| "no error code".into());
            let message = xml_text(&response.body, "Message")
                .map(|m| format!(": {}", short(&m)))
                .unwrap_or_default();
            return Err(ProviderError::Rejected(format!(
                "sts AssumeRoleWithWebIdentity for {role_arn} answered http {} {}{message}; check \
                 the role's trust policy and the token",
                response.status,
                short(&code)
            )));
        }
        parse_credentials(&response.body).map_err(|e| {
            ProviderError::Malformed(format!("sts AssumeRoleWithWebIdentity answer {e}"))
        })
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

/// Reads the credentials out of an `AssumeRoleWithWebIdentityResponse` document.
fn parse_credentials(xml: &[u8]) -> Result<Credentials, String> {
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
fn body_code(xml: &[u8]) -> Option<String> {
    xml_text(xml, "Code")
}

fn xml_text(xml: &[u8], name: &str) -> Option<String> {
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
fn form_encode(out: &mut String, value: &str) {
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

    #[test]
    fn configuration_beats_environment() {
        let config = ChainConfig {
            role_arn: Some("arn:config".into()),
            region: Some("eu-west-1".into()),
            ..ChainConfig::default()
        };
        let env = EnvLookup::from_pairs([
            ("AWS_ROLE_ARN", "arn:env"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/t"),
            ("AWS_ROLE_SESSION_NAME", "envsession"),
        ]);
        let p = WebIdentityProvider::new(&config, env);
        assert_eq!(p.role_arn.as_deref(), Some("arn:config"));
        assert_eq!(p.token_file, Some(PathBuf::from("/tmp/t")));
        assert_eq!(p.session_name.as_deref(), Some("envsession"));
        assert_eq!(
            p.endpoint.as_ref().unwrap().authority,
            "sts.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn half_configured_is_a_failure() {
        let env = EnvLookup::from_pairs([("AWS_ROLE_ARN", "arn:env")]);
        let p = WebIdentityProvider::new(&ChainConfig::default(), env);
        assert!(matches!(
            p.load(Timestamp(0)),
            Err(ProviderError::Misconfigured(_))
        ));
        let p =
            WebIdentityProvider::new(&ChainConfig::default(), EnvLookup::from_pairs([("X", "1")]));
        assert!(matches!(
            p.load(Timestamp(0)),
            Err(ProviderError::NotConfigured(_))
        ));
    }
}
