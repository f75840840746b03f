//! Local peers for the integration tests: a moto server (KMS, IAM, STS and instance metadata
//! on one loopback port, with SigV4 checking on) and [`StubServer`], a tiny scripted HTTP
//! server for what moto does not emulate (container credential endpoints, a black-holed
//! metadata address, odd status codes).
//!
//! [`Moto::start`] runs `python3 -m moto.server -H 127.0.0.1 -p <free port>` with
//! `INITIAL_NO_AUTH_ACTION_COUNT` set, waits until it answers, and spends the free calls on:
//! IAM `CreateUser`, `CreateAccessKey`, `PutUserPolicy` (allow `*` on `*`), `CreateRole` and
//! `PutRolePolicy` (allow-all, for web identity), KMS `CreateKey` and `CreateAlias`; with
//! [`MotoOptions::restricted_roles`] also the identities of the assume-role tests (see
//! [`RestrictedRoles`]). Every
//! later call must be signed with the returned access key (plus
//! [`MotoOptions::extra_free_calls`] more free ones, for unsigned calls such as STS
//! `AssumeRoleWithWebIdentity`, which moto also checks). The free calls carry an
//! `Authorization` header only so moto can tell which service they are for; moto does not
//! check signatures while calls are free. The process is killed by its PID on drop.
//!
//! The interpreter is `$PYTHON` or `python3`, resolved to the real executable (a pyenv shim
//! would otherwise be the PID we kill).

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kms_seal_core::http::{Request, Response, Scheme, Transport};
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};

/// Free calls the bootstrap spends.
const BOOTSTRAP_CALLS: u32 = 7;

/// Options for [`Moto::start_with`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MotoOptions {
    /// Unsigned calls left free after the bootstrap (moto checks every call after those).
    pub extra_free_calls: u32,
    /// Alias created for the key.
    pub alias: String,
    /// How long to wait for moto to answer.
    pub startup_timeout: Duration,
    /// Also create [`RestrictedRoles`]: a user that may only call `sts:AssumeRole`, a role
    /// that may only call `sts:AssumeRole` and a role that may call KMS.
    pub restricted_roles: bool,
}

/// Free calls the restricted-roles bootstrap spends.
const RESTRICTED_ROLES_CALLS: u32 = 7;

/// Identities whose policies prove which one a call was made as (moto checks each call's
/// identity policies after the free calls). Every role trusts any principal of the account.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestrictedRoles {
    /// Access key id of the user `assumer`, allowed only `sts:AssumeRole`.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: String,
    /// ARN of the role `kms-user`, allowed only `kms:*`.
    pub kms_role_arn: String,
    /// ARN of the role `hop`, allowed only `sts:AssumeRole` (the middle of a chain).
    pub hop_role_arn: String,
}

impl Default for MotoOptions {
    fn default() -> Self {
        MotoOptions {
            extra_free_calls: 0,
            alias: "alias/vault-unseal".to_owned(),
            startup_timeout: Duration::from_secs(30),
            restricted_roles: false,
        }
    }
}

/// Why moto could not be started or bootstrapped.
#[derive(Debug)]
pub struct MotoError(String);

impl fmt::Display for MotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MotoError {}

/// A running, bootstrapped moto server. Killed on drop.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:<port>`: KMS, IAM, STS and instance metadata endpoint.
    pub endpoint: String,
    /// The port.
    pub port: u16,
    /// The region the key lives in.
    pub region: String,
    /// Access key id of the allow-all IAM user.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: String,
    /// The KMS key id (UUID).
    pub key_id: String,
    /// The KMS key ARN.
    pub key_arn: String,
    /// The key's alias (`alias/...`).
    pub alias: String,
    /// ARN of an IAM role with an allow-all policy (for web identity).
    pub role_arn: String,
    /// The restricted identities, when [`MotoOptions::restricted_roles`] was set.
    pub restricted: Option<RestrictedRoles>,
    child: Child,
    log: PathBuf,
}

impl Moto {
    /// Starts and bootstraps moto with default options.
    ///
    /// # Panics
    /// With a message saying what to install or check, when moto cannot be started.
    pub fn start() -> Moto {
        Moto::start_with(MotoOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts and bootstraps moto.
    ///
    /// # Errors
    /// [`MotoError`] saying why (moto missing, did not answer, bootstrap call failed).
    pub fn start_with(options: MotoOptions) -> Result<Moto, MotoError> {
        let python = python_executable()?;
        let port = free_port()?;
        let log =
            std::env::temp_dir().join(format!("kms-seal-moto-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)
            .map_err(|e| MotoError(format!("cannot create {}: {e}", log.display())))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| MotoError(format!("cannot create {}: {e}", log.display())))?;
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env(
                "INITIAL_NO_AUTH_ACTION_COUNT",
                (BOOTSTRAP_CALLS
                    + options.extra_free_calls
                    + if options.restricted_roles {
                        RESTRICTED_ROLES_CALLS
                    } else {
                        0
                    })
                .to_string(),
            )
            // moto itself must never reach a real metadata address.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| {
                MotoError(format!(
                    "cannot run {} -m moto.server ({e}); install moto with \
                     `python3 -m pip install 'moto[server]'` or set PYTHON",
                    python.display()
                ))
            })?;
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            region: "us-east-1".to_owned(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            key_id: String::new(),
            key_arn: String::new(),
            alias: options.alias.clone(),
            role_arn: String::new(),
            restricted: None,
            child,
            log,
        };
        moto.wait_until_ready(options.startup_timeout)?;
        moto.bootstrap()?;
        if options.restricted_roles {
            moto.restricted = Some(moto.bootstrap_restricted_roles()?);
        }
        Ok(moto)
    }

    /// `endpoint` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    /// The `host:port` part of the endpoint.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The environment that points `kms-seal` at this moto's key: Vault's seal variables,
    /// the region, the endpoint and the bootstrap user's keys.
    pub fn seal_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VAULT_SEAL_TYPE", "awskms".to_owned()),
            ("VAULT_AWSKMS_SEAL_KEY_ID", self.alias.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_KMS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
        ]
    }

    /// moto's log so far (for assertion messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn wait_until_ready(&mut self, timeout: Duration) -> Result<(), MotoError> {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(MotoError(format!(
                    "moto exited at start-up ({status}); is moto installed (`python3 -m pip \
                     install 'moto[server]'`)? its log:\n{}",
                    self.log_tail()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && self.free_get("/latest/api/token").is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(MotoError(format!(
                    "moto did not answer on {} within {} s; its log:\n{}",
                    self.endpoint,
                    timeout.as_secs(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn bootstrap(&mut self) -> Result<(), MotoError> {
        let allow_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        self.iam(&[("Action", "CreateUser"), ("UserName", "kms-seal")])?;
        let key = self.iam(&[("Action", "CreateAccessKey"), ("UserName", "kms-seal")])?;
        self.access_key_id = xml_field(&key, "AccessKeyId")?;
        self.secret_access_key = xml_field(&key, "SecretAccessKey")?;
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "kms-seal"),
            ("PolicyName", "allow-all"),
            ("PolicyDocument", allow_all),
        ])?;
        let role = self.iam(&[
            ("Action", "CreateRole"),
            ("RoleName", "kms-seal-role"),
            ("AssumeRolePolicyDocument", trust),
        ])?;
        self.role_arn = xml_field(&role, "Arn")?;
        self.iam(&[
            ("Action", "PutRolePolicy"),
            ("RoleName", "kms-seal-role"),
            ("PolicyName", "allow-all"),
            ("PolicyDocument", allow_all),
        ])?;
        let created = self.kms("CreateKey", r#"{"Description":"kms-seal test key"}"#)?;
        let meta = created.get("KeyMetadata").ok_or_else(|| {
            MotoError(format!(
                "moto CreateKey answered without KeyMetadata: {created}"
            ))
        })?;
        self.key_id = json_str(meta, "KeyId")?;
        self.key_arn = json_str(meta, "Arn")?;
        let alias = serde_json::json!({ "AliasName": self.alias, "TargetKeyId": self.key_id });
        self.kms("CreateAlias", &alias.to_string())?;
        Ok(())
    }

    fn bootstrap_restricted_roles(&self) -> Result<RestrictedRoles, MotoError> {
        let allow = |action: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
            )
        };
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
        self.iam(&[("Action", "CreateUser"), ("UserName", "assumer")])?;
        let key = self.iam(&[("Action", "CreateAccessKey"), ("UserName", "assumer")])?;
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "assumer"),
            ("PolicyName", "assume-only"),
            ("PolicyDocument", &allow("sts:AssumeRole")),
        ])?;
        let mut arns = Vec::new();
        for (role, action) in [("kms-user", "kms:*"), ("hop", "sts:AssumeRole")] {
            let created = self.iam(&[
                ("Action", "CreateRole"),
                ("RoleName", role),
                ("AssumeRolePolicyDocument", trust),
            ])?;
            arns.push(xml_field(&created, "Arn")?);
            self.iam(&[
                ("Action", "PutRolePolicy"),
                ("RoleName", role),
                ("PolicyName", "only"),
                ("PolicyDocument", &allow(action)),
            ])?;
        }
        Ok(RestrictedRoles {
            access_key_id: xml_field(&key, "AccessKeyId")?,
            secret_access_key: xml_field(&key, "SecretAccessKey")?,
            kms_role_arn: arns[0].clone(),
            hop_role_arn: arns[1].clone(),
        })
    }

    fn iam(&self, params: &[(&str, &str)]) -> Result<String, MotoError> {
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push('&');
            body.push_str(k);
            body.push('=');
            body.push_str(&percent_encode(v));
        }
        let response = self.free_call(
            "iam",
            vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            )],
            body.into_bytes(),
        )?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        if response.status != 200 {
            return Err(MotoError(format!(
                "moto bootstrap {} answered {}: {text}",
                params[0].1, response.status
            )));
        }
        Ok(text)
    }

    fn kms(&self, operation: &str, json: &str) -> Result<serde_json::Value, MotoError> {
        let response = self.free_call(
            "kms",
            vec![
                (
                    "content-type".to_owned(),
                    "application/x-amz-json-1.1".to_owned(),
                ),
                (
                    "x-amz-target".to_owned(),
                    format!("TrentService.{operation}"),
                ),
            ],
            json.as_bytes().to_vec(),
        )?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        if response.status != 200 {
            return Err(MotoError(format!(
                "moto bootstrap {operation} answered {}: {text}",
                response.status
            )));
        }
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| MotoError(format!("moto {operation} answered non-json ({e}): {text}")))
    }

    /// A free (unchecked) call: the Authorization header only names the service and region.
    fn free_call(
        &self,
        service: &str,
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Response, MotoError> {
        headers.push((
            "authorization".to_owned(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDBOOTSTRAP/20240101/{}/{service}/aws4_request, \
                 SignedHeaders=host, Signature=00",
                self.region
            ),
        ));
        self.send("POST", "/", headers, body)
    }

    fn free_get(&self, path: &str) -> Result<Response, MotoError> {
        self.send("PUT", path, Vec::new(), Vec::new())
    }

    fn send(
        &self,
        method: &'static str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Response, MotoError> {
        let request = Request {
            method,
            scheme: Scheme::Http,
            authority: self.authority(),
            path_and_query: path.to_owned(),
            headers,
            body,
        };
        let mut config = TransportConfig::default();
        config.proxy = ProxyMode::Disabled;
        UreqTransport::with_config(config)
            .and_then(|t| t.send(&request))
            .map_err(|e| MotoError(format!("moto at {} did not answer: {e}", self.endpoint)))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The Python interpreter with moto (and boto3): `$PYTHON` or `python3`, resolved to the
/// real executable, so it runs without a pyenv shim's `HOME` and can be killed by its PID.
///
/// # Errors
/// [`MotoError`] saying what to install.
pub fn python_executable() -> Result<PathBuf, MotoError> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = Command::new(&python)
        .args(["-c", "import sys, moto.server; print(sys.executable)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            MotoError(format!(
                "cannot run {python} ({e}); install python3 and `python3 -m pip install \
                 'moto[server]'`, or set PYTHON"
            ))
        })?;
    if !output.status.success() {
        return Err(MotoError(format!(
            "{python} cannot import moto.server; install it with `{python} -m pip install \
             'moto[server]'` (or run scripts/setup.sh): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if path.is_empty() {
        return Err(MotoError(format!("{python} did not report sys.executable")));
    }
    Ok(PathBuf::from(path))
}

fn free_port() -> Result<u16, MotoError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| MotoError(format!("cannot bind a loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| MotoError(format!("cannot read the bound port: {e}")))
}

fn xml_field(xml: &str, tag: &str) -> Result<String, MotoError> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .ok_or_else(|| MotoError(format!("moto answer has no <{tag}>: {xml}")))?;
    let end = xml[start..]
        .find(&close)
        .ok_or_else(|| MotoError(format!("moto answer has no </{tag}>: {xml}")))?;
    Ok(xml[start..start + end].to_owned())
}

fn json_str(value: &serde_json::Value, field: &str) -> Result<String, MotoError> {
    value
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MotoError(format!("moto answer has no {field}: {value}")))
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A request as [`StubServer`] received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Method, for example `GET`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What [`StubServer`] does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with this status, extra headers and body (`Content-Length` and
    /// `Connection: close` are added).
    Respond {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Keep the connection open and never answer (until the server is dropped).
    Hang,
    /// Close the connection without answering.
    Close,
}

impl Reply {
    /// A response with a body and no extra headers.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&RecordedRequest) -> Reply + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers each request as its handler says and
/// records what it received. One request per connection; stopped on drop.
pub struct StubServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for StubServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StubServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl StubServer {
    /// Starts a server whose `handler` decides every reply.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(handler: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound socket has an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let handler = handler.clone();
                    let requests = requests.clone();
                    let stop = stop.clone();
                    std::thread::spawn(move || serve(stream, &*handler, &requests, &stop));
                }
            })
        };
        StubServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// A server that accepts connections and never answers (a black-holed address).
    pub fn black_hole() -> Self {
        StubServer::start(|_| Reply::Hang)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    handler: &Handler,
    requests: &Mutex<Vec<RecordedRequest>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    if let Ok(mut r) = requests.lock() {
        r.push(request.clone());
    }
    match handler(&request) {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Stub\r\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            // Drain whatever the client still sends so the close is orderly.
            let mut sink = [0u8; 512];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Close => {}
    }
}

fn read_request(stream: &TcpStream) -> Option<RecordedRequest> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
    })
}
