//! An in-memory AWS KMS that implements the core [`Transport`] trait, plus a deterministic
//! [`FakeRuntime`] and a [`RotatingCredentials`] provider, for testing the seal without a
//! network.
//!
//! [`MockKms`] speaks the KMS JSON protocol for `Encrypt`, `Decrypt`, `GenerateDataKey`,
//! `DescribeKey` and `ReEncrypt` and behaves like the service where the seal can tell:
//!
//! - keys with ARNs, aliases (`alias/x`, alias ARNs) that can be moved, disabled keys;
//! - ciphertexts bound to their key and encryption context (a wrong context or an altered
//!   ciphertext is `InvalidCiphertextException`); `Decrypt` finds the key by itself;
//! - SigV4 checked on every request: the access key must be registered, the credential scope
//!   must name the mock's region and `kms`, and the signature must match the one the core
//!   signer makes with the registered secret (a mismatch is moto's HTTP 403 XML
//!   `SignatureDoesNotMatch`);
//! - session tokens can be expired (`ExpiredTokenException`);
//! - an optional server clock: requests dated more than 5 minutes away get
//!   `InvalidSignatureException` "Signature expired", and every response has a `Date` header;
//! - scripted [`Fault`]s consumed one per request (status errors, HTML pages, transport
//!   errors), and an optional moto-quirks mode (`text/html` successes, no
//!   `EncryptionAlgorithm`, `KeyUsage: null`).
//!
//! Every request is recorded ([`MockKms::requests`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_seal_core::credentials::{
    Credentials, CredentialsError, ProvideCredentials, SourceAttempt,
};
use kms_seal_core::http::{Request, Response, Transport, TransportError, TransportErrorKind};
use kms_seal_core::seal::{RandomError, Runtime};
use kms_seal_core::sigv4::{self, SignableRequest, SigningKey, SigningParams, SigningSettings};
use kms_seal_core::time::{DateTime, Timestamp};
use serde_json::{Value, json};

/// The account id in the mock's ARNs.
pub const ACCOUNT: &str = "111122223333";

/// A fault the mock answers with instead of serving the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// A KMS JSON error: `{"__type": code, "message": message}` with this status.
    Error {
        /// HTTP status.
        status: u16,
        /// `__type`.
        code: String,
        /// `message`.
        message: String,
    },
    /// Exactly this response.
    Raw(Response),
    /// No response: the transport fails with this kind.
    Transport(TransportErrorKind),
}

impl Fault {
    /// HTTP 400 `ThrottlingException`.
    pub fn throttling() -> Self {
        Fault::Error {
            status: 400,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        }
    }

    /// HTTP 503 with a `ServiceUnavailableException` body.
    pub fn unavailable() -> Self {
        Fault::Error {
            status: 503,
            code: "ServiceUnavailableException".into(),
            message: "Service Unavailable".into(),
        }
    }

    /// A KMS JSON error.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Fault::Error {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// An HTML page from a proxy, with this status.
    pub fn html(status: u16) -> Self {
        Fault::Raw(Response {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: format!(
                "<!DOCTYPE html><html><head><title>{status} Proxy Error</title></head><body>{}</body></html>",
                "lorem ipsum ".repeat(500)
            )
            .into_bytes(),
        })
    }
}

/// A key in the mock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockKey {
    /// The key id (UUID-like).
    pub id: String,
    /// The key ARN.
    pub arn: String,
}

/// A request the mock received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The `x-amz-target` operation name (`Encrypt`), or the raw header.
    pub operation: String,
    /// The request body parsed as JSON (`Null` if it was not JSON).
    pub body: Value,
    /// The whole request as sent.
    pub request: Request,
    /// The status the mock answered with (0 for a transport fault).
    pub status: u16,
}

#[derive(Clone)]
struct KeyState {
    key: MockKey,
    enabled: bool,
    usage: &'static str,
    spec: &'static str,
}

struct StoredCiphertext {
    key: usize,
    context: BTreeMap<String, String>,
    plaintext: Vec<u8>,
}

#[derive(Default)]
struct State {
    keys: Vec<KeyState>,
    aliases: HashMap<String, usize>,
    ciphertexts: HashMap<Vec<u8>, StoredCiphertext>,
    secrets: HashMap<String, String>,
    expired_tokens: HashSet<String>,
    faults: VecDeque<Fault>,
    clock: Option<Timestamp>,
    moto_quirks: bool,
    log: Vec<Recorded>,
    counter: u64,
}

/// The in-memory KMS. Thread-safe: `send` takes `&self`.
pub struct MockKms {
    region: String,
    state: Mutex<State>,
}

type Reply = Result<(u16, Value), (u16, String, String)>;

impl MockKms {
    /// An empty KMS for `region`.
    pub fn new(region: &str) -> Self {
        MockKms {
            region: region.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    /// The mock's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("mock state lock is not poisoned")
    }

    /// Accepts requests signed with this access key and secret.
    pub fn add_credentials(&self, access_key_id: &str, secret_access_key: &str) {
        self.state()
            .secrets
            .insert(access_key_id.into(), secret_access_key.into());
    }

    /// Requests carrying this session token get `ExpiredTokenException` from now on.
    pub fn expire_session_token(&self, token: &str) {
        self.state().expired_tokens.insert(token.into());
    }

    /// Sets the server clock (`None`: no clock check, `Date` echoes the request's time).
    pub fn set_clock(&self, now: Option<Timestamp>) {
        self.state().clock = now;
    }

    /// Answers successes the way moto does: `text/html`, no `EncryptionAlgorithm`,
    /// `KeyUsage: null`.
    pub fn set_moto_quirks(&self, on: bool) {
        self.state().moto_quirks = on;
    }

    /// Creates an enabled symmetric `ENCRYPT_DECRYPT` key.
    pub fn create_key(&self) -> MockKey {
        self.create_key_with("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")
    }

    /// Creates a key with this usage and spec.
    pub fn create_key_with(&self, usage: &'static str, spec: &'static str) -> MockKey {
        let mut st = self.state();
        let n = st.keys.len() as u32 + 1;
        let id = format!("{n:08x}-1111-4222-8333-{n:012x}");
        let key = MockKey {
            arn: format!("arn:aws:kms:{}:{ACCOUNT}:key/{id}", self.region),
            id,
        };
        st.keys.push(KeyState {
            key: key.clone(),
            enabled: true,
            usage,
            spec,
        });
        key
    }

    /// Creates an enabled symmetric multi-Region key (key id `mrk-` and 32 hex digits).
    pub fn create_multi_region_key(&self) -> MockKey {
        let mut st = self.state();
        let n = st.keys.len() as u32 + 1;
        let key = Self::multi_region_key(&self.region, &format!("mrk-{n:08x}{:024x}", 0xabc));
        st.keys.push(KeyState {
            key: key.clone(),
            enabled: true,
            usage: "ENCRYPT_DECRYPT",
            spec: "SYMMETRIC_DEFAULT",
        });
        key
    }

    fn multi_region_key(region: &str, id: &str) -> MockKey {
        MockKey {
            arn: format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}"),
            id: id.to_owned(),
        }
    }

    /// Makes this mock hold a replica of the multi-Region key `key` of `primary` (same key id,
    /// this mock's region in the ARN) that opens every ciphertext `primary` made under `key`
    /// so far, as KMS replicas share their key material. Returns the replica.
    pub fn replicate(&self, primary: &MockKms, key: &MockKey) -> MockKey {
        assert!(
            key.id.starts_with("mrk-"),
            "only multi-Region keys replicate"
        );
        let from = primary.state();
        let index = from
            .keys
            .iter()
            .position(|k| k.key == *key)
            .expect("the key was created by the primary mock");
        let replica = Self::multi_region_key(&self.region, &key.id);
        let mut st = self.state();
        let at = st.keys.len();
        st.keys.push(KeyState {
            key: replica.clone(),
            enabled: true,
            usage: from.keys[index].usage,
            spec: from.keys[index].spec,
        });
        for (ciphertext, stored) in from.ciphertexts.iter().filter(|(_, c)| c.key == index) {
            st.ciphertexts.insert(
                ciphertext.clone(),
                StoredCiphertext {
                    key: at,
                    context: stored.context.clone(),
                    plaintext: stored.plaintext.clone(),
                },
            );
        }
        replica
    }

    /// Points `alias` (`alias/name`) at `key`, creating or moving it.
    pub fn set_alias(&self, alias: &str, key: &MockKey) {
        let mut st = self.state();
        let index = st
            .keys
            .iter()
            .position(|k| k.key == *key)
            .expect("the key was created by this mock");
        st.aliases.insert(alias.into(), index);
    }

    /// Enables or disables `key`.
    pub fn set_enabled(&self, key: &MockKey, enabled: bool) {
        let mut st = self.state();
        for k in st.keys.iter_mut().filter(|k| k.key == *key) {
            k.enabled = enabled;
        }
    }

    /// Queues a fault for the next request (after those already queued).
    pub fn push_fault(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    /// Queues `n` copies of `fault`.
    pub fn push_faults(&self, n: usize, fault: Fault) {
        let mut st = self.state();
        for _ in 0..n {
            st.faults.push_back(fault.clone());
        }
    }

    /// Faults not yet used.
    pub fn pending_faults(&self) -> usize {
        self.state().faults.len()
    }

    /// A KMS ciphertext of `plaintext` under `key` made directly (as old Vault data of
    /// mechanism 0 would hold), without a request.
    pub fn encrypt_direct(&self, key: &MockKey, plaintext: &[u8]) -> Vec<u8> {
        let mut st = self.state();
        let index = st
            .keys
            .iter()
            .position(|k| k.key == *key)
            .expect("the key was created by this mock");
        store_ciphertext(&mut st, index, BTreeMap::new(), plaintext.to_vec())
    }

    /// The plaintext behind a ciphertext this mock made (to check what the seal wrapped).
    pub fn plaintext_of(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        self.state()
            .ciphertexts
            .get(ciphertext)
            .map(|c| c.plaintext.clone())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().log.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.state().log.len()
    }

    /// How many requests for `operation` (`Encrypt`) were received.
    pub fn count(&self, operation: &str) -> usize {
        self.state()
            .log
            .iter()
            .filter(|r| r.operation == operation)
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    fn handle(&self, st: &mut State, request: &Request) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let amz_date = request.header("x-amz-date").and_then(parse_amz_date);
        let server_now = st.clock.or(amz_date).unwrap_or(Timestamp(0));
        let mut headers = vec![
            ("date".to_string(), http_date(server_now)),
            (
                "x-amzn-requestid".to_string(),
                format!("req-{}", st.log.len() + 1),
            ),
        ];
        if let Err((status, body)) = self.check_auth(st, request, amz_date) {
            headers.push(("content-type".into(), "text/html; charset=utf-8".into()));
            return (status, headers, body.into_bytes());
        }
        let reply = self.dispatch(st, request);
        let quirks = st.moto_quirks;
        match reply {
            Ok((status, mut body)) => {
                if quirks {
                    if let Some(obj) = body.as_object_mut() {
                        obj.remove("EncryptionAlgorithm");
                    }
                    if let Some(meta) = body.get_mut("KeyMetadata").and_then(Value::as_object_mut) {
                        meta.insert("KeyUsage".into(), Value::Null);
                    }
                }
                let ct = if quirks {
                    "text/html; charset=utf-8"
                } else {
                    "application/x-amz-json-1.1"
                };
                headers.push(("content-type".into(), ct.into()));
                (status, headers, body.to_string().into_bytes())
            }
            Err((status, code, message)) => {
                headers.push(("content-type".into(), "application/x-amz-json-1.1".into()));
                let body = if message.is_empty() {
                    json!({ "__type": code })
                } else {
                    json!({ "__type": code, "message": message })
                };
                (status, headers, body.to_string().into_bytes())
            }
        }
    }

    /// SigV4, credentials, token and clock checks. `Err((status, body))` on failure.
    fn check_auth(
        &self,
        st: &State,
        request: &Request,
        amz_date: Option<Timestamp>,
    ) -> Result<(), (u16, String)> {
        let json_err = |code: &str, message: &str| {
            (
                400,
                json!({ "__type": code, "message": message }).to_string(),
            )
        };
        let Some(auth) = request.header("authorization") else {
            return Err(json_err(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        };
        let Some(time) = amz_date else {
            return Err(json_err(
                "IncompleteSignatureException",
                "missing or bad X-Amz-Date",
            ));
        };
        let Some(parsed) = parse_authorization(auth) else {
            return Err(json_err(
                "IncompleteSignatureException",
                "malformed Authorization",
            ));
        };
        let scope: Vec<&str> = parsed.credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = scope[..] else {
            return Err(json_err(
                "IncompleteSignatureException",
                "malformed credential scope",
            ));
        };
        if terminator != "aws4_request" || service != "kms" {
            return Err(json_err(
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'kms'.",
            ));
        }
        if region != self.region {
            return Err(json_err(
                "InvalidSignatureException",
                &format!("Credential should be scoped to a valid region, not '{region}'."),
            ));
        }
        if date.as_bytes() != time.date_stamp() {
            return Err(json_err(
                "InvalidSignatureException",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
            ));
        }
        let Some(secret) = st.secrets.get(access_key_id) else {
            return Err(json_err(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        };
        let token = request.header("x-amz-security-token");
        let signed: Vec<(&str, &str)> = parsed
            .signed_headers
            .split(';')
            .filter(|h| !matches!(*h, "x-amz-date" | "x-amz-security-token"))
            .map(|h| (h, request.header(h).unwrap_or("")))
            .collect();
        let key = SigningKey::derive(secret, &time.date_stamp(), region, "kms")
            .map_err(|_| json_err("InvalidSignatureException", "bad scope"))?;
        let expected = sigv4::sign(
            &SignableRequest {
                method: request.method,
                path: &request.path_and_query,
                query: "",
                headers: &signed,
                body: &request.body,
            },
            &SigningParams {
                access_key_id,
                session_token: token,
                region,
                service: "kms",
                time,
                settings: SigningSettings::default(),
            },
            &key,
        )
        .map_err(|_| json_err("IncompleteSignatureException", "unsignable request"))?;
        let expected_auth = expected
            .headers()
            .find(|(k, _)| *k == "authorization")
            .map(|(_, v)| v.to_string());
        if expected_auth.as_deref() != Some(auth) {
            return Err((
                403,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse>\n  <Errors>\n    <Error>\n      <Code>SignatureDoesNotMatch</Code>\n      <Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.</Message>\n    </Error>\n  </Errors>\n  <RequestId>mock</RequestId>\n</ErrorResponse>".to_string(),
            ));
        }
        if let Some(token) = token
            && st.expired_tokens.contains(token)
        {
            return Err(json_err(
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ));
        }
        if let Some(now) = st.clock {
            let amz = String::from_utf8_lossy(&time.amz_date()).into_owned();
            if time.as_secs() + 300 < now.as_secs() {
                let limit = String::from_utf8_lossy(&Timestamp(now.as_secs() - 300).amz_date())
                    .into_owned();
                let server = String::from_utf8_lossy(&now.amz_date()).into_owned();
                return Err(json_err(
                    "InvalidSignatureException",
                    &format!(
                        "Signature expired: {amz} is now earlier than {limit} ({server} - 5 min.)"
                    ),
                ));
            }
            if time.as_secs() > now.as_secs() + 300 {
                let limit = String::from_utf8_lossy(&Timestamp(now.as_secs() + 300).amz_date())
                    .into_owned();
                let server = String::from_utf8_lossy(&now.amz_date()).into_owned();
                return Err(json_err(
                    "InvalidSignatureException",
                    &format!(
                        "Signature not yet current: {amz} is still later than {limit} ({server} + 5 min.)"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn dispatch(&self, st: &mut State, request: &Request) -> Reply {
        if request.method != "POST" {
            return Err((405, "MethodNotAllowed".into(), String::new()));
        }
        if request.header("content-type") != Some("application/x-amz-json-1.1") {
            return Err((
                400,
                "SerializationException".into(),
                "wrong content type".into(),
            ));
        }
        if request.header("host") != Some(request.authority.as_str()) {
            return Err((
                400,
                "IncompleteSignatureException".into(),
                "host header does not match".into(),
            ));
        }
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| {
            (
                400,
                "SerializationException".to_string(),
                "body is not JSON".to_string(),
            )
        })?;
        let target = request.header("x-amz-target").unwrap_or("");
        match target.strip_prefix("TrentService.") {
            Some("DescribeKey") => self.describe_key(st, &body),
            Some("Encrypt") => self.encrypt(st, &body),
            Some("Decrypt") => self.decrypt(st, &body),
            Some("GenerateDataKey") => self.generate_data_key(st, &body),
            Some("ReEncrypt") => self.re_encrypt(st, &body),
            _ => Err((400, "UnknownOperationException".into(), String::new())),
        }
    }

    fn find_key(&self, st: &State, key_id: &str) -> Result<usize, (u16, String, String)> {
        let alias_arn_prefix = format!("arn:aws:kms:{}:{ACCOUNT}:", self.region);
        let name = key_id.strip_prefix(&alias_arn_prefix).unwrap_or(key_id);
        let found = if name.starts_with("alias/") {
            st.aliases.get(name).copied()
        } else {
            st.keys
                .iter()
                .position(|k| k.key.id == key_id || k.key.arn == key_id)
        };
        found.ok_or_else(|| {
            let what = if name.starts_with("alias/") {
                format!("Alias {alias_arn_prefix}{name} is not found.")
            } else {
                format!("Key '{key_id}' does not exist")
            };
            (400, "NotFoundException".into(), what)
        })
    }

    fn usable(st: &State, index: usize) -> Result<&KeyState, (u16, String, String)> {
        let key = &st.keys[index];
        if !key.enabled {
            return Err((
                400,
                "DisabledException".into(),
                format!("{} is disabled.", key.key.arn),
            ));
        }
        Ok(key)
    }

    fn describe_key(&self, st: &mut State, body: &Value) -> Reply {
        let index = self.find_key(st, str_field(body, "KeyId")?)?;
        let k = &st.keys[index];
        Ok((
            200,
            json!({ "KeyMetadata": {
                "AWSAccountId": ACCOUNT,
                "KeyId": k.key.id,
                "Arn": k.key.arn,
                "CreationDate": 1_700_000_000.25,
                "Enabled": k.enabled,
                "Description": "",
                "KeyUsage": k.usage,
                "KeyState": if k.enabled { "Enabled" } else { "Disabled" },
                "Origin": "AWS_KMS",
                "KeyManager": "CUSTOMER",
                "CustomerMasterKeySpec": k.spec,
                "KeySpec": k.spec,
                "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
                "MultiRegion": false,
            }}),
        ))
    }

    fn encrypt(&self, st: &mut State, body: &Value) -> Reply {
        let index = self.find_key(st, str_field(body, "KeyId")?)?;
        Self::usable(st, index)?;
        let plaintext = blob_field(body, "Plaintext")?;
        if plaintext.is_empty() || plaintext.len() > 4096 {
            return Err((400, "ValidationException".into(), "Plaintext length".into()));
        }
        let context = context_field(body, "EncryptionContext")?;
        let arn = st.keys[index].key.arn.clone();
        let ciphertext = store_ciphertext(st, index, context, plaintext);
        Ok((
            200,
            json!({
                "CiphertextBlob": STANDARD.encode(ciphertext),
                "KeyId": arn,
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }),
        ))
    }

    fn open(
        &self,
        st: &State,
        body: &Value,
        context_name: &str,
        key_name: &str,
    ) -> Result<(usize, Vec<u8>), (u16, String, String)> {
        let ciphertext = blob_field(body, "CiphertextBlob")?;
        let context = context_field(body, context_name)?;
        let invalid = || (400, "InvalidCiphertextException".to_string(), String::new());
        let stored = st.ciphertexts.get(&ciphertext).ok_or_else(invalid)?;
        if stored.context != context {
            return Err(invalid());
        }
        if let Some(key_id) = body.get(key_name).and_then(Value::as_str)
            && self.find_key(st, key_id)? != stored.key
        {
            return Err((
                400,
                "IncorrectKeyException".into(),
                "The key ID in the request does not identify a CMK that can perform this operation."
                    .into(),
            ));
        }
        Self::usable(st, stored.key)?;
        Ok((stored.key, stored.plaintext.clone()))
    }

    fn decrypt(&self, st: &mut State, body: &Value) -> Reply {
        let (index, plaintext) = self.open(st, body, "EncryptionContext", "KeyId")?;
        Ok((
            200,
            json!({
                "KeyId": st.keys[index].key.arn,
                "Plaintext": STANDARD.encode(plaintext),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }),
        ))
    }

    fn generate_data_key(&self, st: &mut State, body: &Value) -> Reply {
        let index = self.find_key(st, str_field(body, "KeyId")?)?;
        Self::usable(st, index)?;
        let n = match (
            body.get("KeySpec").and_then(Value::as_str),
            body.get("NumberOfBytes"),
        ) {
            (Some("AES_256"), None) => 32,
            (Some("AES_128"), None) => 16,
            (None, Some(n)) => n.as_u64().filter(|n| (1..=1024).contains(n)).ok_or((
                400,
                "ValidationException".to_string(),
                "NumberOfBytes".to_string(),
            ))? as usize,
            _ => {
                return Err((
                    400,
                    "ValidationException".into(),
                    "KeySpec or NumberOfBytes".into(),
                ));
            }
        };
        st.counter += 1;
        let plaintext: Vec<u8> = (0..n)
            .map(|i| (st.counter as u8).wrapping_mul(31) ^ i as u8)
            .collect();
        let context = context_field(body, "EncryptionContext")?;
        let arn = st.keys[index].key.arn.clone();
        let ciphertext = store_ciphertext(st, index, context, plaintext.clone());
        Ok((
            200,
            json!({
                "CiphertextBlob": STANDARD.encode(ciphertext),
                "Plaintext": STANDARD.encode(plaintext),
                "KeyId": arn,
            }),
        ))
    }

    fn re_encrypt(&self, st: &mut State, body: &Value) -> Reply {
        let (source, plaintext) = self.open(st, body, "SourceEncryptionContext", "SourceKeyId")?;
        let dest = self.find_key(st, str_field(body, "DestinationKeyId")?)?;
        Self::usable(st, dest)?;
        let context = context_field(body, "DestinationEncryptionContext")?;
        let source_arn = st.keys[source].key.arn.clone();
        let dest_arn = st.keys[dest].key.arn.clone();
        let ciphertext = store_ciphertext(st, dest, context, plaintext);
        Ok((
            200,
            json!({
                "CiphertextBlob": STANDARD.encode(ciphertext),
                "SourceKeyId": source_arn,
                "KeyId": dest_arn,
                "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }),
        ))
    }
}

impl Transport for MockKms {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let mut st = self.state();
        let operation = request
            .header("x-amz-target")
            .map(|t| t.strip_prefix("TrentService.").unwrap_or(t).to_string())
            .unwrap_or_default();
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut record = Recorded {
            operation,
            body,
            request: request.clone(),
            status: 0,
        };
        let result = match st.faults.pop_front() {
            Some(Fault::Transport(kind)) => Err(TransportError::new(kind, "scripted fault")),
            Some(Fault::Raw(response)) => Ok(response),
            Some(Fault::Error {
                status,
                code,
                message,
            }) => Ok(Response {
                status,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: json!({ "__type": code, "message": message })
                    .to_string()
                    .into_bytes(),
            }),
            None => {
                let (status, headers, body) = self.handle(&mut st, request);
                Ok(Response {
                    status,
                    headers,
                    body,
                })
            }
        };
        record.status = result.as_ref().map_or(0, |r| r.status);
        st.log.push(record);
        result
    }
}

fn store_ciphertext(
    st: &mut State,
    key: usize,
    context: BTreeMap<String, String>,
    plaintext: Vec<u8>,
) -> Vec<u8> {
    st.counter += 1;
    let mut ciphertext = b"mock-kms-v1:".to_vec();
    ciphertext.extend_from_slice(&(key as u32).to_be_bytes());
    ciphertext.extend_from_slice(&st.counter.to_be_bytes());
    // Some bulk, like a real KMS ciphertext (which is ~150 bytes plus the plaintext).
    ciphertext.extend(std::iter::repeat_n(0xC1u8, 64));
    st.ciphertexts.insert(
        ciphertext.clone(),
        StoredCiphertext {
            key,
            context,
            plaintext,
        },
    );
    ciphertext
}

fn str_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, (u16, String, String)> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            (
                400,
                "ValidationException".into(),
                format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
            )
        })
}

fn blob_field(body: &Value, name: &str) -> Result<Vec<u8>, (u16, String, String)> {
    let text = str_field(body, name)?;
    STANDARD.decode(text).map_err(|_| {
        (
            400,
            "SerializationException".into(),
            format!("{name} is not valid base64"),
        )
    })
}

fn context_field(
    body: &Value,
    name: &str,
) -> Result<BTreeMap<String, String>, (u16, String, String)> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str().map(|v| (k.clone(), v.to_string())).ok_or((
                    400,
                    "SerializationException".into(),
                    format!("{name} values must be strings"),
                ))
            })
            .collect(),
        Some(_) => Err((
            400,
            "SerializationException".into(),
            format!("{name} must be a map"),
        )),
    }
}

struct Authorization<'a> {
    credential: &'a str,
    signed_headers: &'a str,
}

fn parse_authorization(auth: &str) -> Option<Authorization<'_>> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            _ => {}
        }
    }
    Some(Authorization {
        credential: credential?,
        signed_headers: signed_headers?,
    })
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    Timestamp::from_datetime(DateTime {
        year: num(0..4)?,
        month: num(4..6)?,
        day: num(6..8)?,
        hour: num(9..11)?,
        minute: num(11..13)?,
        second: num(13..15)?,
    })
}

/// Formats an HTTP `Date` (IMF-fixdate): `Sun, 30 Aug 2015 12:36:00 GMT`.
pub fn http_date(t: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = t.to_datetime();
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[((t.as_secs() / 86_400) % 7) as usize],
        d.day,
        MONTHS[(d.month - 1) as usize],
        d.year,
        d.hour,
        d.minute,
        d.second
    )
}

/// A deterministic [`Runtime`]: a settable clock, counter-based "random" bytes, and sleeps
/// that are recorded instead of slept.
#[derive(Debug)]
pub struct FakeRuntime {
    now: AtomicU64,
    counter: AtomicU64,
    random_fails: std::sync::atomic::AtomicBool,
    sleeps: Mutex<Vec<u64>>,
}

impl FakeRuntime {
    /// A runtime whose clock reads `now`.
    pub fn new(now: Timestamp) -> Self {
        FakeRuntime {
            now: AtomicU64::new(now.as_secs()),
            counter: AtomicU64::new(0),
            random_fails: std::sync::atomic::AtomicBool::new(false),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Sets the clock.
    pub fn set_now(&self, now: Timestamp) {
        self.now.store(now.as_secs(), Ordering::SeqCst);
    }

    /// Makes `fill_random` fail (or work again).
    pub fn set_random_fails(&self, fails: bool) {
        self.random_fails.store(fails, Ordering::SeqCst);
    }

    /// The sleeps requested so far, in milliseconds.
    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.lock().expect("sleep log lock").clone()
    }
}

impl Runtime for FakeRuntime {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        if self.random_fails.load(Ordering::SeqCst) {
            return Err(RandomError::new("fake runtime told to fail"));
        }
        for chunk in buf.chunks_mut(8) {
            // splitmix64 of a counter: deterministic, but every draw differs.
            let mut z = self
                .counter
                .fetch_add(1, Ordering::SeqCst)
                .wrapping_add(1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }

    fn sleep_ms(&self, millis: u64) {
        self.sleeps.lock().expect("sleep log lock").push(millis);
    }
}

/// Temporary credentials whose session token changes on every forced refresh:
/// `<prefix>-1`, then `<prefix>-2`, ... `Debug` shows the access key id only.
pub struct RotatingCredentials {
    access_key_id: String,
    secret_access_key: String,
    token_prefix: String,
    generation: AtomicU32,
    forced: AtomicU32,
}

impl RotatingCredentials {
    /// Credentials with this key pair and token prefix, at generation 1.
    pub fn new(access_key_id: &str, secret_access_key: &str, token_prefix: &str) -> Self {
        RotatingCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            token_prefix: token_prefix.into(),
            generation: AtomicU32::new(1),
            forced: AtomicU32::new(0),
        }
    }

    /// The token handed out at `generation`.
    pub fn token(&self, generation: u32) -> String {
        format!("{}-{generation}", self.token_prefix)
    }

    /// How many times a refresh was forced.
    pub fn forced_refreshes(&self) -> u32 {
        self.forced.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for RotatingCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for RotatingCredentials {
    fn credentials(
        &self,
        _now: Timestamp,
        force_refresh: bool,
    ) -> Result<Credentials, CredentialsError> {
        let generation = if force_refresh {
            self.forced.fetch_add(1, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.generation.load(Ordering::SeqCst)
        };
        Ok(Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            Some(self.token(generation)),
            None,
        ))
    }
}

impl ProvideCredentials for &RotatingCredentials {
    fn credentials(
        &self,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<Credentials, CredentialsError> {
        (**self).credentials(now, force_refresh)
    }
}

/// A credentials provider that always fails with `message`.
#[derive(Debug)]
pub struct NoCredentials(pub &'static str);

impl ProvideCredentials for NoCredentials {
    fn credentials(&self, _: Timestamp, _: bool) -> Result<Credentials, CredentialsError> {
        Err(CredentialsError::NotFound {
            tried: vec![SourceAttempt {
                source: "mock",
                reason: self.0.into(),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let t = Timestamp(1_440_938_160);
        assert_eq!(http_date(t), "Sun, 30 Aug 2015 12:36:00 GMT");
        assert_eq!(Timestamp::parse_http_date(&http_date(t)), Ok(t));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(t));
        assert_eq!(parse_amz_date("20150830T123600"), None);
        for secs in [0u64, 86_399, 951_782_400, 1_709_164_800, 4_102_444_800] {
            let t = Timestamp(secs);
            assert_eq!(Timestamp::parse_http_date(&http_date(t)), Ok(t), "{secs}");
        }
    }

    #[test]
    fn fake_random_differs_per_draw() {
        let rt = FakeRuntime::new(Timestamp(0));
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rt.fill_random(&mut a).unwrap();
        rt.fill_random(&mut b).unwrap();
        assert_ne!(a, b);
        rt.set_random_fails(true);
        assert!(rt.fill_random(&mut a).is_err());
    }
}
