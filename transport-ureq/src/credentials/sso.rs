//! AWS IAM Identity Center (SSO): role credentials for a profile, with the token that
//! `aws sso login` left in the cache. kms-seal never logs in itself.
//!
//! Two profile forms, as in the AWS CLI v2:
//!
//! ```ini
//! [profile seal]                      # sso-session form
//! sso_session = corp
//! sso_account_id = 111122223333
//! sso_role_name = VaultSeal
//! [sso-session corp]
//! sso_start_url = https://corp.awsapps.com/start
//! sso_region = eu-west-1
//!
//! [profile legacy]                    # legacy form: everything in the profile
//! sso_start_url = https://corp.awsapps.com/start
//! sso_region = eu-west-1
//! sso_account_id = 111122223333
//! sso_role_name = VaultSeal
//! ```
//!
//! The token is `~/.aws/sso/cache/<sha1>.json`, where `<sha1>` is the lower-case hex SHA-1 of
//! the session name (sso-session form) or of the start URL (legacy form), as botocore's
//! `SSOTokenLoader` names it; its `accessToken` is used while `expiresAt` is in the future.
//! The credentials come from the portal's `GetRoleCredentials`:
//! `GET /federation/credentials?role_name=..&account_id=..` with the token in the
//! `x-amz-sso_bearer_token` header, at `https://portal.sso.<sso_region>.amazonaws.com` or the
//! endpoint the AWS-wide settings give the `sso` service ([`crate::endpoints`]). The answer's
//! `roleCredentials.expiration` (milliseconds) drives the chain's refresh. A missing or
//! expired token, or a portal answer of `UnauthorizedException`, says to run `aws sso login`.

use std::path::PathBuf;

use kms_seal_core::credentials::Credentials;
use kms_seal_core::http::{Request, Response, Transport};
use kms_seal_core::time::Timestamp;
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::profile::{Profile, SharedFiles};
use super::{EnvLookup, ProviderError, read_small_file, short};
use crate::endpoints::{Service, configured_endpoint};
use crate::transport::{HttpUrl, TransportConfig, UreqTransport};

/// Cached token files larger than this are refused.
const MAX_TOKEN_FILE_BYTES: u64 = 256 * 1024;

/// One profile's IAM Identity Center settings, in either form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoProfile {
    /// The profile's name.
    pub profile: String,
    /// The `[sso-session NAME]` it uses; `None` in the legacy form.
    pub session: Option<String>,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`: the portal's region.
    pub region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
}

impl SsoProfile {
    /// Reads the settings of `profile` (named `name`), following `sso_session` into `files`.
    ///
    /// # Errors
    /// [`ProviderError::Misconfigured`] naming the missing or contradicting setting.
    pub fn from_profile(
        files: &SharedFiles,
        name: &str,
        profile: &Profile,
    ) -> Result<Self, ProviderError> {
        let missing = |what: &str, place: &str| {
            ProviderError::Misconfigured(format!(
                "{place} has no {what}; add it (see `aws configure sso`)"
            ))
        };
        let profile_place = format!("profile '{name}'");
        let account_id = profile
            .get("sso_account_id")
            .ok_or_else(|| missing("sso_account_id", &profile_place))?;
        let role_name = profile
            .get("sso_role_name")
            .ok_or_else(|| missing("sso_role_name", &profile_place))?;
        let (session, start_url, region) = match profile.get("sso_session") {
            Some(session) => {
                let session = session.trim();
                let section = files.sso_session(session).ok_or_else(|| {
                    ProviderError::Misconfigured(format!(
                        "profile '{name}' uses sso_session '{session}' but the config file has \
                         no [sso-session {session}] section"
                    ))
                })?;
                let place = format!("[sso-session {session}]");
                let start_url = section
                    .get("sso_start_url")
                    .ok_or_else(|| missing("sso_start_url", &place))?;
                let region = section
                    .get("sso_region")
                    .ok_or_else(|| missing("sso_region", &place))?;
                for (key, value) in [("sso_start_url", start_url), ("sso_region", region)] {
                    if let Some(own) = profile.get(key)
                        && own.trim() != value.trim()
                    {
                        return Err(ProviderError::Misconfigured(format!(
                            "profile '{name}' sets {key} differently from [sso-session \
                             {session}]; remove it from the profile"
                        )));
                    }
                }
                (Some(session.to_owned()), start_url, region)
            }
            None => {
                let start_url = profile
                    .get("sso_start_url")
                    .ok_or_else(|| missing("sso_start_url or sso_session", &profile_place))?;
                let region = profile
                    .get("sso_region")
                    .ok_or_else(|| missing("sso_region", &profile_place))?;
                (None, start_url, region)
            }
        };
        Ok(SsoProfile {
            profile: name.to_owned(),
            session,
            start_url: start_url.trim().to_owned(),
            region: region.trim().to_owned(),
            account_id: account_id.trim().to_owned(),
            role_name: role_name.trim().to_owned(),
        })
    }

    /// The name of the cached token file: the hex SHA-1 of the session name, or of the start
    /// URL in the legacy form, plus `.json`.
    pub fn cache_file_name(&self) -> String {
        let key = self.session.as_deref().unwrap_or(&self.start_url);
        let digest = Sha1::digest(key.as_bytes());
        let mut name = String::with_capacity(45);
        for byte in digest {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        name.push_str(".json");
        name
    }

    /// What to run to get a fresh token.
    pub fn login_advice(&self) -> String {
        match &self.session {
            Some(session) => format!(
                "run `aws sso login --profile {}` (or `aws sso login --sso-session {session}`)",
                self.profile
            ),
            None => format!("run `aws sso login --profile {}`", self.profile),
        }
    }

    /// The portal's default URL for the region.
    pub fn default_portal(&self) -> String {
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://portal.sso.{}.{suffix}", self.region)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Loads role credentials for `sso`: the cached token, then the portal's GetRoleCredentials.
///
/// # Errors
/// [`ProviderError::Misconfigured`] (no token, bad endpoint), [`ProviderError::Rejected`]
/// (expired or refused token, role not allowed), [`ProviderError::Unreachable`],
/// [`ProviderError::Malformed`].
pub fn load(
    sso: &SsoProfile,
    files: &SharedFiles,
    env: &EnvLookup,
    https: &TransportConfig,
    now: Timestamp,
) -> Result<Credentials, ProviderError> {
    let token = cached_token(sso, env, now)?;
    let base = match configured_endpoint(Service::Sso, env, Some(files), &sso.profile) {
        Some(e) => HttpUrl::parse(&e.url).map_err(|err| {
            ProviderError::Misconfigured(format!(
                "the sso portal endpoint from {} is not a valid url ({err})",
                e.source
            ))
        })?,
        None => HttpUrl::parse(&sso.default_portal()).map_err(|err| {
            ProviderError::Misconfigured(format!(
                "sso_region '{}' of profile '{}' does not make a valid portal url ({err})",
                short(&sso.region),
                sso.profile
            ))
        })?,
    };
    log::debug!(
        "profile '{}': sso GetRoleCredentials for role {} in account {} at {}",
        sso.profile,
        sso.role_name,
        sso.account_id,
        base.authority
    );
    let transport = UreqTransport::with_config(https.clone())
        .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
    let mut path = base.path_and_query.trim_end_matches('/').to_owned();
    path.push_str("/federation/credentials?role_name=");
    query_encode(&mut path, &sso.role_name);
    path.push_str("&account_id=");
    query_encode(&mut path, &sso.account_id);
    let mut request = Request {
        method: "GET",
        scheme: base.scheme,
        authority: base.authority.clone(),
        path_and_query: path,
        headers: vec![
            ("x-amz-sso_bearer_token".to_owned(), token.to_string()),
            ("accept".to_owned(), "application/json".to_owned()),
        ],
        body: Vec::new(),
    };
    let response = call(&transport, &request);
    // The header holds the bearer token; wipe our copy.
    for (_, value) in &mut request.headers {
        zeroize::Zeroize::zeroize(value);
    }
    let response = response?;
    if response.status != 200 {
        return Err(portal_error(sso, &response));
    }
    parse_role_credentials(&response.body).map_err(|e| {
        ProviderError::Malformed(format!(
            "the sso portal's GetRoleCredentials answer for profile '{}' {e}",
            sso.profile
        ))
    })
}

fn call(transport: &UreqTransport, request: &Request) -> Result<Response, ProviderError> {
    let first = transport.send(request);
    let retry = match &first {
        Ok(r) => r.status >= 500 || r.status == 429,
        Err(e) => e.kind.is_retryable(),
    };
    let result = if retry {
        log::debug!("sso GetRoleCredentials: retrying once");
        transport.send(request)
    } else {
        first
    };
    result.map_err(|e| ProviderError::Unreachable(format!("the sso portal is not reachable: {e}")))
}

/// The cached token's fields that matter.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedToken {
    #[serde(default, deserialize_with = "super::secret_string")]
    access_token: Option<Zeroizing<String>>,
    expires_at: Option<String>,
}

/// Reads the token `aws sso login` cached for `sso`, if it has not expired.
fn cached_token(
    sso: &SsoProfile,
    env: &EnvLookup,
    now: Timestamp,
) -> Result<Zeroizing<String>, ProviderError> {
    let advice = sso.login_advice();
    let home = env.home_dir().ok_or_else(|| {
        ProviderError::Misconfigured(format!(
            "profile '{}' uses IAM Identity Center but HOME is not set, so the sso token cache \
             cannot be found; set HOME",
            sso.profile
        ))
    })?;
    let path: PathBuf = [
        home.as_path(),
        ".aws".as_ref(),
        "sso".as_ref(),
        "cache".as_ref(),
        sso.cache_file_name().as_ref(),
    ]
    .iter()
    .collect();
    let text = read_small_file(&path, MAX_TOKEN_FILE_BYTES)
        .map_err(|e| ProviderError::Misconfigured(format!("sso token cache: {e}")))?
        .ok_or_else(|| {
            ProviderError::Misconfigured(format!(
                "no sso token for profile '{}' ({} does not exist); {advice}",
                sso.profile,
                path.display()
            ))
        })?;
    let token: CachedToken = serde_json::from_str(&text).map_err(|_| {
        ProviderError::Misconfigured(format!(
            "the sso token cache {} is not valid json; {advice}",
            path.display()
        ))
    })?;
    let access_token = token
        .access_token
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            ProviderError::Misconfigured(format!(
                "the sso token cache {} has no accessToken; {advice}",
                path.display()
            ))
        })?;
    let expires_at = token
        .expires_at
        .as_deref()
        .and_then(parse_expires_at)
        .ok_or_else(|| {
            ProviderError::Misconfigured(format!(
                "the sso token cache {} has no valid expiresAt; {advice}",
                path.display()
            ))
        })?;
    if expires_at.as_secs() <= now.as_secs() {
        let when = expires_at.to_datetime();
        return Err(ProviderError::Rejected(format!(
            "the sso token for profile '{}' expired at {:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z; \
             {advice}",
            sso.profile, when.year, when.month, when.day, when.hour, when.minute, when.second
        )));
    }
    Ok(Zeroizing::new(access_token.trim().to_owned()))
}

/// `expiresAt` as the AWS CLI writes it: RFC 3339 (`2026-12-06T18:00:00Z`), or with a `UTC`
/// suffix instead of `Z` (older CLI versions).
fn parse_expires_at(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    match text.strip_suffix("UTC") {
        Some(head) => Timestamp::parse_rfc3339(&format!("{}Z", head.trim_end())).ok(),
        None => Timestamp::parse_rfc3339(text).ok(),
    }
}

/// Turns a non-200 portal answer into a one-line error with the next step.
fn portal_error(sso: &SsoProfile, response: &Response) -> ProviderError {
    let header_type = response
        .header("x-amzn-errortype")
        .map(|t| t.split(':').next().unwrap_or_default().trim().to_owned());
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = header_type
        .filter(|t| !t.is_empty())
        .or(body.kind)
        .map(|t| {
            let t = t.rsplit('#').next().unwrap_or_default();
            t.split(':').next().unwrap_or_default().trim().to_owned()
        })
        .unwrap_or_default();
    let message = body
        .message
        .or(body.message_capitalised)
        .map(|m| format!(" ({})", short(&m)))
        .unwrap_or_default();
    let described = if code.is_empty() {
        format!("http {}", response.status)
    } else {
        format!("http {} {}", response.status, short(&code))
    };
    let next = if code == "UnauthorizedException" || response.status == 401 {
        format!("the token is no longer valid; {}", sso.login_advice())
    } else if code == "ForbiddenException" || code == "ResourceNotFoundException" {
        format!(
            "check sso_account_id {} and sso_role_name {} of profile '{}'",
            sso.account_id, sso.role_name, sso.profile
        )
    } else {
        "try again later".to_owned()
    };
    ProviderError::Rejected(format!(
        "the sso portal's GetRoleCredentials for role {} in account {} answered {described}{message}; \
         {next}",
        sso.role_name, sso.account_id
    ))
}

/// An error answer's body: `{"__type": ..., "message": ...}` (`Message` in some services).
#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(rename = "__type")]
    kind: Option<String>,
    message: Option<String>,
    #[serde(rename = "Message")]
    message_capitalised: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentialsAnswer {
    role_credentials: Option<RoleCredentials>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentials {
    access_key_id: Option<String>,
    #[serde(default, deserialize_with = "super::secret_string")]
    secret_access_key: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "super::secret_string")]
    session_token: Option<Zeroizing<String>>,
    expiration: Option<u64>,
}

/// Reads `{"roleCredentials": {...}}`; the error text follows "... answer ".
fn parse_role_credentials(body: &[u8]) -> Result<Credentials, String> {
    let answer: RoleCredentialsAnswer = serde_json::from_slice(body).map_err(|e| {
        format!(
            "is not valid json (error at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let creds = answer.role_credentials.ok_or("has no roleCredentials")?;
    let access_key_id = creds
        .access_key_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("has no accessKeyId")?;
    let secret = creds
        .secret_access_key
        .as_deref()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or("has no secretAccessKey")?;
    let token = creds
        .session_token
        .as_deref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or("has no sessionToken")?;
    let expiration = creds.expiration.ok_or("has no expiration")?;
    Ok(Credentials::new(
        access_key_id,
        secret,
        Some(token),
        Some(Timestamp(expiration / 1000)),
    ))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn query_encode(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0xf)]));
        }
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[profile modern]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = VaultSeal
[profile legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = VaultSeal
[profile lost]
sso_session = nowhere
sso_account_id = 1
sso_role_name = r
[profile clash]
sso_session = corp
sso_start_url = https://other.awsapps.com/start
sso_account_id = 1
sso_role_name = r
[profile norole]
sso_session = corp
sso_account_id = 1
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = cn-north-1
";

    fn sso(name: &str) -> Result<SsoProfile, ProviderError> {
        let files = SharedFiles::parse(Some(CONFIG), None);
        SsoProfile::from_profile(&files, name, files.profile(name).unwrap())
    }

    #[test]
    fn reads_both_forms() {
        let modern = sso("modern").unwrap();
        assert_eq!(modern.session.as_deref(), Some("corp"));
        assert_eq!(modern.region, "cn-north-1");
        assert_eq!(
            modern.default_portal(),
            "https://portal.sso.cn-north-1.amazonaws.com.cn"
        );
        assert!(modern.login_advice().contains("--sso-session corp"));
        let legacy = sso("legacy").unwrap();
        assert_eq!(legacy.session, None);
        assert_eq!(legacy.start_url, "https://corp.awsapps.com/start");
        assert_eq!(
            legacy.default_portal(),
            "https://portal.sso.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            legacy.login_advice(),
            "run `aws sso login --profile legacy`"
        );
        for (name, expect) in [
            ("lost", "no [sso-session nowhere] section"),
            ("clash", "sets sso_start_url differently"),
            ("norole", "has no sso_role_name"),
        ] {
            let e = sso(name).unwrap_err();
            assert!(matches!(e, ProviderError::Misconfigured(_)), "{e:?}");
            assert!(e.reason().contains(expect), "{e}");
        }
    }

    #[test]
    fn cache_file_is_the_sha1_of_the_session_or_the_start_url() {
        // Python: hashlib.sha1(b"corp").hexdigest(), hashlib.sha1(b"https://corp...").
        assert_eq!(
            sso("modern").unwrap().cache_file_name(),
            "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
        );
        assert_eq!(
            sso("legacy").unwrap().cache_file_name(),
            "a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json"
        );
    }

    #[test]
    fn reads_expiry_in_both_spellings() {
        assert_eq!(
            parse_expires_at("2030-01-01T00:00:00Z"),
            Some(Timestamp(1_893_456_000))
        );
        assert_eq!(
            parse_expires_at("2030-01-01T00:00:00UTC"),
            Some(Timestamp(1_893_456_000))
        );
        assert_eq!(parse_expires_at("tomorrow"), None);
    }

    #[test]
    fn reads_role_credentials() {
        let c = parse_role_credentials(
            br#"{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","expiration":1893456000123}}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "ASIA1");
        assert_eq!(c.session_token(), Some("t"));
        assert_eq!(c.expires_at(), Some(Timestamp(1_893_456_000)));
        for (body, expect) in [
            (&b"{}"[..], "no roleCredentials"),
            (br#"{"roleCredentials":{"secretAccessKey":"s"}}"#, "no accessKeyId"),
            (
                br#"{"roleCredentials":{"accessKeyId":"A","secretAccessKey":"s","sessionToken":"t"}}"#,
                "no expiration",
            ),
            (b"<html>", "not valid json"),
        ] {
            let e = parse_role_credentials(body).unwrap_err();
            assert!(e.contains(expect), "{e}");
        }
    }

    #[test]
    fn portal_errors_say_what_to_do() {
        let legacy = sso("legacy").unwrap();
        let e = portal_error(
            &legacy,
            &Response {
                status: 401,
                headers: vec![(
                    "X-Amzn-ErrorType".into(),
                    "UnauthorizedException:http://internal.amazon.com/".into(),
                )],
                body: br#"{"message":"Session token not found or invalid"}"#.to_vec(),
            },
        );
        let msg = e.reason();
        assert!(msg.contains("http 401 UnauthorizedException"), "{msg}");
        assert!(msg.contains("aws sso login --profile legacy"), "{msg}");
        let e = portal_error(
            &legacy,
            &Response {
                status: 403,
                headers: vec![],
                body: br#"{"__type":"com.amazon#ForbiddenException","message":"No access"}"#
                    .to_vec(),
            },
        );
        assert!(e.reason().contains("ForbiddenException (No access)"), "{e}");
        assert!(e.reason().contains("check sso_account_id"), "{e}");
    }

    #[test]
    fn encodes_query_values() {
        let mut s = String::new();
        query_encode(&mut s, "Vault Seal+/é");
        assert_eq!(s, "Vault%20Seal%2B%2F%C3%A9");
    }
}
