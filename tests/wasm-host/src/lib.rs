//! Host side of the kms-seal WASI tests: a wasmtime embedding that loads the plugin and the
//! command component, a moto (KMS emulator with SigV4 checking) started on loopback, and the
//! paths of the artifacts under test.
//!
//! Nothing here contacts anything but `127.0.0.1`: moto listens there, and the hosts built by
//! [`HttpPolicy::LoopbackOnly`] refuse any outgoing request to another address.
//!
//! Missing pieces fail loudly rather than skip: the components (build them with
//! `scripts/wasm.sh`), moto (`scripts/setup.sh`) and, when `CI` is set, the native CLI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::StoreContextMut;
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::{
    RequestOptions, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// Bindings for the plugin's `kms-seal:seal` world, generated from the crate's WIT file.
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../transport-wasi/wit",
        world: "plugin",
    });
}

pub use bindings::exports::kms_seal::seal::seal::{AwsCredentials, SealError};

pub mod expiry;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the host test crate lives in tests/wasm-host of the repository")
}

/// Where `scripts/wasm.sh` leaves the components: `$KMS_SEAL_WASM_DIR`, or
/// `$CARGO_TARGET_DIR/wasm32-wasip2/release-small`, or the repository's `target/`.
pub fn wasm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KMS_SEAL_WASM_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("KMS_SEAL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("wasm32-wasip2").join("release-small")
}

/// The path of a component, failing loudly when it has not been built.
pub fn component_path(file: &str) -> Result<PathBuf> {
    let path = wasm_dir().join(file);
    if !path.is_file() {
        bail!(
            "{} is missing: build the components first with scripts/wasm.sh \
             (cargo build --profile release-small --target wasm32-wasip2 -p kms-seal-wasi)",
            path.display()
        );
    }
    Ok(path)
}

/// The plugin component, `kms_seal_plugin.wasm`.
pub fn plugin_path() -> Result<PathBuf> {
    component_path("kms_seal_plugin.wasm")
}

/// The command component, `kms-seal.wasm`.
pub fn command_path() -> Result<PathBuf> {
    component_path("kms-seal.wasm")
}

/// The native `kms-seal` CLI: `$KMS_SEAL_NATIVE_BIN`, else `target/debug/kms-seal` or
/// `target/release/kms-seal` of the root workspace (the newer of the two). `None` when none
/// exists; callers fail when `CI` is set.
pub fn native_cli() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KMS_SEAL_NATIVE_BIN") {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var_os("KMS_SEAL_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("kms-seal"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

/// One wasmtime engine for every test in the process (compiling a component is the slow part,
/// so components are compiled once too).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// The compiled component at `path`, cached per process.
pub fn component(path: &Path) -> Result<Component> {
    static CACHE: OnceLock<Mutex<Vec<(PathBuf, Component)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache
        .lock()
        .map_err(|_| anyhow!("component cache poisoned"))?;
    if let Some((_, c)) = cache.iter().find(|(p, _)| p == path) {
        return Ok(c.clone());
    }
    let compiled = Component::from_file(engine(), path)
        .map_err(|e| anyhow::Error::from(e).context(format!("compiling {}", path.display())))?;
    cache.push((path.to_path_buf(), compiled.clone()));
    Ok(compiled)
}

/// What the host does with the component's outgoing HTTP requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpPolicy {
    /// Send requests to `127.0.0.1` / `localhost` / `::1` only; any other address is denied
    /// by the host (so a test can never reach a real AWS or instance-metadata address).
    LoopbackOnly,
    /// Accept the request, then deny it: the response future resolves to
    /// `error-code::http-request-denied` (wasmtime's `send_request` hook).
    DenyOnSend,
    /// `wasi:http/outgoing-handler.handle` itself returns `error-code::http-request-denied`.
    DenyInHandle,
}

/// The store's data: WASI context, `wasi:http` context and the resource table.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: PolicyHooks,
    table: ResourceTable,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http` hooks that apply an [`HttpPolicy`].
pub struct PolicyHooks {
    policy: HttpPolicy,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let loopback = request.uri().host().is_some_and(is_loopback_host);
        if self.policy != HttpPolicy::LoopbackOnly || !loopback {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A linker with WASI and `wasi:http` under `policy`.
pub fn linker(policy: HttpPolicy) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    if policy == HttpPolicy::DenyInHandle {
        let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
        wasmtime_wasi_http::p2::bindings::sync::http::types::add_to_linker::<
            _,
            wasmtime_wasi_http::WasiHttp,
        >(&mut linker, &options.into(), HostState::http)?;
        // `handle` itself answers http-request-denied, before anything is sent.
        linker
            .instance("wasi:http/outgoing-handler@0.2.12")?
            .func_wrap(
                "handle",
                |mut store: StoreContextMut<'_, HostState>,
                 (request, options): (
                    Resource<HostOutgoingRequest>,
                    Option<Resource<RequestOptions>>,
                )|
                 -> wasmtime::Result<(
                    Result<Resource<HostFutureIncomingResponse>, ErrorCode>,
                )> {
                    let table = &mut store.data_mut().table;
                    table.delete(request)?;
                    if let Some(options) = options {
                        table.delete(options)?;
                    }
                    Ok((Err(ErrorCode::HttpRequestDenied),))
                },
            )?;
    } else {
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    }
    Ok(linker)
}

/// A store whose WASI context is `wasi`, under `policy`.
pub fn store(wasi: WasiCtx, policy: HttpPolicy) -> Store<HostState> {
    Store::new(
        engine(),
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: PolicyHooks { policy },
            table: ResourceTable::new(),
        },
    )
}

/// An instance of the plugin component with its store.
pub struct PluginInstance {
    store: Store<HostState>,
    plugin: bindings::Plugin,
}

impl PluginInstance {
    /// Instantiates the plugin with these environment variables under `policy`.
    ///
    /// # Errors
    /// Missing component, or instantiation failure (an import the host does not provide).
    pub fn new(env: &[(&str, &str)], policy: HttpPolicy) -> Result<Self> {
        Self::with_clock(env, policy, None)
    }

    /// Instantiates the plugin with these environment variables under `policy`, and `clock`
    /// as its `wasi:clocks/wall-clock` (the system clock when `None`).
    ///
    /// # Errors
    /// Missing component, or instantiation failure (an import the host does not provide).
    pub fn with_clock(
        env: &[(&str, &str)],
        policy: HttpPolicy,
        clock: Option<expiry::ShiftedClock>,
    ) -> Result<Self> {
        let component = component(&plugin_path()?)?;
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(env);
        if let Some(clock) = clock {
            wasi.wall_clock(clock);
        }
        let mut store = store(wasi.build(), policy);
        let plugin = bindings::Plugin::instantiate(&mut store, &component, &linker(policy)?)?;
        Ok(PluginInstance { store, plugin })
    }

    /// `configure(settings)`.
    ///
    /// # Errors
    /// A trap (the outer error).
    pub fn configure(&mut self, settings: &[(&str, &str)]) -> Result<Result<(), SealError>> {
        let owned: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_configure(&mut self.store, &owned)?)
    }

    /// `set-credentials(credentials)`.
    ///
    /// # Errors
    /// A trap (the outer error).
    pub fn set_credentials(
        &mut self,
        credentials: &AwsCredentials,
    ) -> Result<Result<(), SealError>> {
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_set_credentials(&mut self.store, credentials)?)
    }

    /// `encrypt(plaintext, aad)`.
    ///
    /// # Errors
    /// A trap (the outer error).
    pub fn encrypt(
        &mut self,
        plaintext: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Result<Vec<u8>, SealError>> {
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_encrypt(&mut self.store, plaintext, aad)?)
    }

    /// `decrypt(value, aad)`.
    ///
    /// # Errors
    /// A trap (the outer error).
    pub fn decrypt(
        &mut self,
        value: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Result<Vec<u8>, SealError>> {
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_decrypt(&mut self.store, value, aad)?)
    }

    /// `key-id()`.
    ///
    /// # Errors
    /// A trap.
    pub fn key_id(&mut self) -> Result<String> {
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_key_id(&mut self.store)?)
    }

    /// `is-up-to-date(value)`.
    ///
    /// # Errors
    /// A trap.
    pub fn is_up_to_date(&mut self, value: &[u8]) -> Result<bool> {
        let seal = self.plugin.kms_seal_seal_seal();
        Ok(seal.call_is_up_to_date(&mut self.store, value)?)
    }
}

/// What a run of the command component produced.
#[derive(Debug)]
pub struct CommandOutput {
    /// Exit status: 0 when `run` returned ok, the code given to `exit`, or 1 for `run`'s error.
    pub status: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
}

/// Options for one run of the command component.
#[derive(Default)]
pub struct CommandRun<'a> {
    /// Arguments after the program name.
    pub args: Vec<&'a str>,
    /// Environment variables.
    pub env: Vec<(&'a str, &'a str)>,
    /// Bytes on stdin.
    pub stdin: Vec<u8>,
    /// A host directory pre-opened read-only at the same path in the guest.
    pub preopen: Option<PathBuf>,
    /// Pre-open it read-write instead (for `rewrap`).
    pub writable: bool,
}

/// Runs the command component (`wasi:cli/run`) with loopback-only HTTP.
///
/// # Errors
/// Missing component, instantiation failure, or a trap other than `exit`.
pub fn run_command(run: &CommandRun<'_>) -> Result<CommandOutput> {
    run_command_with(run, HttpPolicy::LoopbackOnly)
}

/// Runs the command component under `policy`.
///
/// # Errors
/// Missing component, instantiation failure, or a trap other than `exit`.
pub fn run_command_with(run: &CommandRun<'_>, policy: HttpPolicy) -> Result<CommandOutput> {
    let component = component(&command_path()?)?;
    let stdout = MemoryOutputPipe::new(16 * 1024 * 1024);
    let stderr = MemoryOutputPipe::new(1024 * 1024);
    let mut wasi = WasiCtxBuilder::new();
    let mut args = vec!["kms-seal"];
    args.extend(run.args.iter().copied());
    wasi.args(&args)
        .envs(&run.env)
        .stdin(MemoryInputPipe::new(run.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    if let Some(dir) = &run.preopen {
        let guest = dir
            .to_str()
            .context("preopened directory path is not UTF-8")?;
        let perms = if run.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        wasi.preopened_dir(dir, guest, perms)?;
    }
    let mut store = store(wasi.build(), policy);
    let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(
        &mut store,
        &component,
        &linker(policy)?,
    )?;
    let status = match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => 0,
        Ok(Err(())) => 1,
        Err(trap) => match trap.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => *code,
            None => {
                return Err(anyhow::Error::from(trap).context("the command component trapped"));
            }
        },
    };
    drop(store);
    Ok(CommandOutput {
        status,
        stdout: stdout.contents().to_vec(),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    })
}

/// A moto server on `127.0.0.1` with signature checking on, bootstrapped by
/// `scripts/moto_bootstrap.py`: an IAM user with an access key and an allow-all policy, and a
/// KMS key with an alias. One per test process; it stops when the process exits (its wrapper
/// kills it by PID when the wrapper's stdin closes).
#[derive(Debug, Clone)]
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Access key id of the bootstrapped user.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: String,
    /// The key's id (a UUID).
    pub key_id: String,
    /// The key's ARN.
    pub key_arn: String,
    /// The alias pointing at the key (`alias/vault-unseal`).
    pub alias: String,
}

impl Moto {
    /// The shared server, started on first use.
    ///
    /// # Panics
    /// When moto cannot be started or bootstrapped: the tests need it and must not skip.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| match Moto::start() {
            Ok(moto) => moto,
            Err(error) => panic!(
                "cannot start moto on loopback: {error:#}\n\
                 install it with scripts/setup.sh (pip install 'moto[server]==5.2.1')"
            ),
        })
    }

    /// The environment that configures the seal for this server from variables alone.
    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("VAULT_SEAL_TYPE", "awskms"),
            ("VAULT_AWSKMS_SEAL_KEY_ID", self.alias.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.as_str()),
            ("AWS_KMS_ENDPOINT", self.endpoint.as_str()),
        ]
    }

    /// Creates another symmetric key with boto3 (signed with the bootstrapped user's key) and
    /// returns its ARN.
    ///
    /// # Errors
    /// When python, boto3 or moto fail.
    pub fn create_key(&self) -> Result<String> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let script = r#"import sys, boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
print(kms.create_key(Description="kms-seal second key")["KeyMetadata"]["Arn"])"#;
        let out = Command::new(&python)
            .args(["-c", script])
            .args([&self.endpoint, &self.access_key_id, &self.secret_access_key])
            .output()
            .with_context(|| format!("running {python}"))?;
        if !out.status.success() {
            bail!(
                "creating a key failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    }

    /// Temporary credentials from moto's STS: AssumeRole (as the bootstrapped user) of the role
    /// `kms-seal-temporary`, created on first use with a policy that allows every KMS action.
    /// moto checks their session token on every request.
    ///
    /// # Errors
    /// When python, boto3 or moto fail.
    pub fn assume_role(&self, session_name: &str) -> Result<AwsCredentials> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let script = r#"import json, sys, boto3
args = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
            aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
iam, sts = boto3.client("iam", **args), boto3.client("sts", **args)
user = iam.get_user(UserName="kms-seal")["User"]["Arn"]
try:
    role = iam.create_role(RoleName="kms-seal-temporary", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName="kms-seal-temporary", PolicyName="kms", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))
except iam.exceptions.EntityAlreadyExistsException:
    role = iam.get_role(RoleName="kms-seal-temporary")["Role"]["Arn"]
c = sts.assume_role(RoleArn=role, RoleSessionName=sys.argv[4])["Credentials"]
print(json.dumps({"id": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"],
                  "expiration": int(c["Expiration"].timestamp())}))"#;
        let out = Command::new(&python)
            .args(["-c", script])
            .args([
                &self.endpoint,
                &self.access_key_id,
                &self.secret_access_key,
                session_name,
            ])
            .output()
            .with_context(|| format!("running {python}"))?;
        if !out.status.success() {
            bail!(
                "assuming a role in moto failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("assume_role printed no JSON")?;
        let field = |name: &str| -> Result<String> {
            v.get(name)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .with_context(|| format!("assume_role JSON lacks {name}"))
        };
        Ok(AwsCredentials {
            access_key_id: field("id")?,
            secret_access_key: field("secret")?,
            session_token: Some(field("token")?),
            expiration: v.get("expiration").and_then(serde_json::Value::as_u64),
        })
    }

    fn start() -> Result<Moto> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        // Resolve the real interpreter (a pyenv shim would otherwise be the process we kill).
        let out = Command::new(&python)
            .args([
                "-c",
                "import sys, moto.server, boto3; print(sys.executable)",
            ])
            .output()
            .with_context(|| format!("running {python}"))?;
        if !out.status.success() {
            bail!(
                "{python} cannot import moto.server and boto3: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let interpreter = String::from_utf8(out.stdout)?.trim().to_string();

        let port = free_port()?;
        let log = std::env::temp_dir().join(format!("kms-seal-wasm-host-moto-{port}.log"));
        // The wrapper starts moto, then waits for its own stdin to close (this process
        // exiting, even by a panic or a signal) and kills moto by PID.
        let script = r#"INITIAL_NO_AUTH_ACTION_COUNT=4 "$0" -m moto.server -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
pid=$!
echo "$pid"
cat >/dev/null
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0"#;
        let mut wrapper = Command::new("sh")
            .args(["-c", script, &interpreter, &port.to_string()])
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning the moto wrapper")?;
        let mut pid_line = String::new();
        BufReader::new(wrapper.stdout.take().context("wrapper stdout")?)
            .read_line(&mut pid_line)?;
        let stdin = wrapper.stdin.take().context("wrapper stdin")?;
        // Keep the wrapper's stdin open for the life of the process.
        static KEEP: OnceLock<Mutex<Vec<(Child, ChildStdin)>>> = OnceLock::new();
        KEEP.get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .map_err(|_| anyhow!("moto registry poisoned"))?
            .push((wrapper, stdin));

        // Wait for the TCP port only: every HTTP request would use up a free action.
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                let mut text = String::new();
                let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
                bail!(
                    "moto (pid {}) did not listen on {addr} within 60 s; its log:\n{text}",
                    pid_line.trim()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }

        let endpoint = format!("http://127.0.0.1:{port}");
        let out = Command::new(&interpreter)
            .arg(repo_root().join("scripts/moto_bootstrap.py"))
            .arg(&endpoint)
            .output()
            .context("running scripts/moto_bootstrap.py")?;
        if !out.status.success() {
            bail!(
                "moto bootstrap failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("moto bootstrap printed no JSON")?;
        let field = |name: &str| -> Result<String> {
            v.get(name)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .with_context(|| format!("moto bootstrap JSON lacks {name}"))
        };
        Ok(Moto {
            endpoint,
            access_key_id: field("access_key_id")?,
            secret_access_key: field("secret_access_key")?,
            key_id: field("key_id")?,
            key_arn: field("key_arn")?,
            alias: field("alias")?,
        })
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Runs the native CLI with `args`, `env` (and nothing inherited but `PATH`), and `stdin`.
///
/// # Errors
/// The binary cannot be started.
pub fn run_native(
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &[u8],
) -> Result<CommandOutput> {
    let mut child = Command::new(bin)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    child
        .stdin
        .take()
        .context("native stdin")?
        .write_all(stdin)?;
    let out = child.wait_with_output()?;
    Ok(CommandOutput {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
