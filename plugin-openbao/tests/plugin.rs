//! The plugin binary alone, driven the way OpenBao drives it: started with go-plugin's
//! environment, its handshake line read, then gRPC over TLS on its unix socket with a
//! go-plugin-style client certificate (self-signed P-521, ECDSA-SHA512, CA:TRUE).
//!
//! The KMS tests run against moto with SigV4 checking (they fail, not skip, when moto cannot
//! start) and check that the plugin's blobs and the native CLI's and core's blobs are the same
//! format. The `kms-seal` binary must be built first (`cargo build -p kms-seal-ureq --bin
//! kms-seal`; scripts/test.sh does).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::envelope::aead::{self, DataKey, Iv};
use kms_seal_core::envelope::{BlobInfo, Mechanism};
use kms_seal_openbao::proto::{
    DecryptRequest, DecryptResponse, Empty, EncryptRequest, EncryptResponse, HealthCheckRequest,
    HealthCheckResponse, KeyIdRequest, KeyIdResponse, LifecycleRequest, RpcOptions,
    SetConfigRequest, SetConfigResponse, TypeRequest, TypeResponse,
};
use kms_seal_tests::cli;
use kms_seal_tests::moto::Moto;
use kms_seal_ureq::credentials::EnvLookup;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::Code;

/// The plugin under test: `KMS_SEAL_OPENBAO_BIN` (for example the static musl build, whose
/// ureq has no ring provider of its own) or this build's binary.
fn plugin_bin() -> PathBuf {
    std::env::var_os("KMS_SEAL_OPENBAO_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_openbao-plugin-kms-awskms")),
        PathBuf::from,
    )
}
const COOKIE: (&str, &str) = ("OPENBAO_KMS_PLUGIN", "39704a18-7da7-4bda-9a2d-f7c488d70328");

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate and key as go-plugin's host makes them.
struct Identity {
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    pem: String,
}

fn go_plugin_client_identity() -> Identity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, "localhost");
    name.push(rcgen::DnType::OrganizationName, "HashiCorp");
    params.distinguished_name = name;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).expect("self-signed");
    Identity {
        der: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        pem: cert.pem(),
    }
}

// ---------------------------------------------------------------------------------------------
// The plugin process

struct Plugin {
    child: Child,
    handshake: String,
    socket: PathBuf,
    server_cert: CertificateDer<'static>,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).expect("random");
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("kms-seal-plugin-{tag}-{name}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment go-plugin gives a plugin, without anything from the test's shell.
fn plugin_env(dir: &Path, client_pem: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = cli::base_env();
    for (k, v) in [
        COOKIE,
        ("PLUGIN_PROTOCOL_VERSIONS", "1"),
        ("PLUGIN_MIN_PORT", "10000"),
        ("PLUGIN_MAX_PORT", "25000"),
        ("PLUGIN_CLIENT_CERT", client_pem),
        ("TMPDIR", &dir.display().to_string()),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    env
}

impl Plugin {
    fn start(client: &Identity) -> Plugin {
        let dir = TempDir::new("run");
        let env = plugin_env(&dir.0, &client.pem);
        let mut child = Command::new(plugin_bin())
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the plugin starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Anything more on stdout is a protocol violation: report it.
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(Some(Ok(line)));
            }
        });
        let handshake = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "no handshake line: {other:?}; stderr: {}",
                stderr.lock().expect("stderr")
            ),
        };
        let fields: Vec<&str> = handshake.split('|').collect();
        assert_eq!(fields.len(), 6, "{handshake}");
        let socket = PathBuf::from(fields[3]);
        let server_cert =
            CertificateDer::from(STANDARD_NO_PAD.decode(fields[5]).unwrap_or_else(|e| {
                panic!("cert field is not unpadded base64 ({e}): {handshake}")
            }));
        std::thread::spawn(move || {
            if let Ok(Some(Ok(extra))) = rx.recv() {
                panic!("the plugin wrote more than the handshake line on stdout: {extra}");
            }
        });
        Plugin {
            child,
            handshake,
            socket,
            server_cert,
            stderr,
            _dir: dir,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    async fn connect(&self, client: Option<&Identity>) -> Result<Client, String> {
        connect(&self.socket, &self.server_cert, client).await
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The gRPC client

struct Client {
    sender: hyper::client::conn::http2::SendRequest<tonic::body::Body>,
}

async fn connect(
    socket: &Path,
    server_cert: &CertificateDer<'static>,
    client: Option<&Identity>,
) -> Result<Client, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server_cert.clone())
        .map_err(|e| format!("server cert: {e}"))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match client {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.der.clone()],
                PrivateKeyDer::Pkcs8(identity.key.clone_key()),
            )
            .map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(|e| format!("http2: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Client { sender })
}

impl Client {
    async fn call<Req, Resp>(&self, path: &'static str, request: Req) -> Result<Resp, tonic::Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let sender = self.sender.clone();
        let service = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
            let mut sender = sender.clone();
            async move { sender.send_request(request).await }
        });
        let mut grpc =
            tonic::client::Grpc::with_origin(service, "https://localhost".parse().expect("uri"));
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("not ready: {e}")))?;
        grpc.unary(
            tonic::Request::new(request),
            http::uri::PathAndQuery::from_static(path),
            tonic_prost::ProstCodec::<Req, Resp>::default(),
        )
        .await
        .map(tonic::Response::into_inner)
    }

    async fn health(&self) -> Result<HealthCheckResponse, tonic::Status> {
        self.call(
            "/grpc.health.v1.Health/Check",
            HealthCheckRequest {
                service: "plugin".into(),
            },
        )
        .await
    }

    async fn set_config(&self, pairs: &[(&str, &str)]) -> Result<SetConfigResponse, tonic::Status> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.call(
            "/pb.Wrapper/SetConfig",
            SetConfigRequest {
                options: Some(RpcOptions::with_config_map(map)),
            },
        )
        .await
    }

    async fn encrypt(
        &self,
        id: &str,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, tonic::Status> {
        let response: EncryptResponse = self
            .call(
                "/pb.Wrapper/Encrypt",
                EncryptRequest {
                    wrapper_id: id.into(),
                    plaintext: plaintext.to_vec(),
                    options: Some(options(aad)),
                },
            )
            .await?;
        Ok(response.ciphertext)
    }

    async fn decrypt(&self, id: &str, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, tonic::Status> {
        let mut response: DecryptResponse = self
            .call(
                "/pb.Wrapper/Decrypt",
                DecryptRequest {
                    wrapper_id: id.into(),
                    ciphertext: blob.to_vec(),
                    options: Some(options(aad)),
                },
            )
            .await?;
        Ok(std::mem::take(&mut response.plaintext))
    }

    async fn key_id(&self, id: &str) -> Result<String, tonic::Status> {
        let response: KeyIdResponse = self
            .call(
                "/pb.Wrapper/KeyId",
                KeyIdRequest {
                    wrapper_id: id.into(),
                },
            )
            .await?;
        Ok(response.key_id)
    }

    async fn wrapper_type(&self, id: &str) -> Result<String, tonic::Status> {
        let response: TypeResponse = self
            .call(
                "/pb.Wrapper/Type",
                TypeRequest {
                    wrapper_id: id.into(),
                },
            )
            .await?;
        Ok(response.r#type)
    }
}

fn options(aad: &[u8]) -> RpcOptions {
    let mut options = RpcOptions::default();
    options.with_aad = aad.to_vec();
    options
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn handshake_line_names_a_socket_and_the_server_certificate() {
    let client = go_plugin_client_identity();
    let mut plugin = Plugin::start(&client);
    let fields: Vec<&str> = plugin.handshake.split('|').collect();
    assert_eq!(&fields[..3], ["1", "1", "unix"], "{}", plugin.handshake);
    assert_eq!(fields[4], "grpc");
    assert!(!fields[5].contains('='), "base64 must be unpadded");
    assert!(fields[5].len() > 50);
    assert_eq!(plugin.server_cert.first(), Some(&0x30), "DER SEQUENCE");
    assert!(
        plugin.socket.starts_with(&plugin._dir.0),
        "socket in TMPDIR"
    );
    let name = plugin
        .socket
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name");
    assert!(name.starts_with("plugin"), "{name}");
    let kind = std::fs::metadata(&plugin.socket)
        .expect("socket exists")
        .file_type();
    assert!(kind.is_socket());

    // SIGINT (the host's process group) is ignored; the plugin keeps serving.
    plugin.signal("INT");
    assert!(
        plugin.wait_exit(Duration::from_millis(300)).is_none(),
        "SIGINT must be ignored"
    );
    runtime().block_on(async {
        let c = plugin.connect(Some(&client)).await.expect("connect");
        assert_eq!(c.health().await.expect("health").status, 1);
    });

    // SIGTERM: a clean exit, the socket removed.
    plugin.signal("TERM");
    let status = plugin
        .wait_exit(Duration::from_secs(5))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}; {}", plugin.stderr());
    assert!(!plugin.socket.exists(), "socket removed");
}

#[test]
fn refuses_to_run_without_openbao() {
    let client = go_plugin_client_identity();
    let dir = TempDir::new("cookie");
    let env: Vec<(String, String)> = plugin_env(&dir.0, &client.pem)
        .into_iter()
        .filter(|(k, _)| k != COOKIE.0)
        .collect();
    let out = Command::new(plugin_bin())
        .env_clear()
        .envs(env)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("started by the OpenBao server"), "{err}");

    let env: Vec<(String, String)> = plugin_env(&dir.0, &client.pem)
        .into_iter()
        .map(|(k, v)| {
            if k == "PLUGIN_PROTOCOL_VERSIONS" {
                (k, "2".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let out = Command::new(plugin_bin())
        .env_clear()
        .envs(env)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("incompatible plugin API version"));
}

#[test]
fn only_the_hosts_certificate_may_connect() {
    let client = go_plugin_client_identity();
    let stranger = go_plugin_client_identity();
    let plugin = Plugin::start(&client);
    runtime().block_on(async {
        // TLS 1.3 lets a client finish its side before the server's alert: the refusal may
        // show at connect or at the first call.
        for who in [None, Some(&stranger)] {
            let refused = match plugin.connect(who).await {
                Err(_) => true,
                Ok(c) => c.health().await.is_err(),
            };
            assert!(
                refused,
                "a client without the host's certificate was served"
            );
        }
        let c = plugin
            .connect(Some(&client))
            .await
            .expect("the host connects");
        assert_eq!(c.health().await.expect("health").status, 1);
    });
    assert!(
        plugin.stderr().contains("refused a connection"),
        "{}",
        plugin.stderr()
    );
}

#[test]
fn bad_configuration_is_a_clear_error_and_the_plugin_keeps_serving() {
    let client = go_plugin_client_identity();
    let mut plugin = Plugin::start(&client);
    runtime().block_on(async {
        let c = plugin.connect(Some(&client)).await.expect("connect");

        // (settings, what the message must name)
        let cases: [(&[(&str, &str)], &str); 3] = [
            (&[("region", "eu-west-1")], "kms_key_id"),
            (
                &[("kms_key_id", "alias/vault"), ("disabled", "maybe")],
                "disabled",
            ),
            (
                &[("kms_key_id", "alias/vault"), ("region", "eu west")],
                "region",
            ),
        ];
        for (settings, names) in cases {
            let e = c.set_config(settings).await.expect_err(names);
            assert_eq!(e.code(), Code::Unknown, "{settings:?}");
            assert!(e.message().contains(names), "{names}: {}", e.message());
            assert!(!e.message().contains('\n'), "{}", e.message());
        }

        // An unknown parameter is a warning, as in Vault.
        let ok = c
            .set_config(&[
                ("kms_key_id", "alias/vault"),
                ("region", "eu-west-1"),
                ("secret_key", "do-not-print-me"),
                ("access_key", "AKIDEXAMPLE"),
                ("no_such_parameter", "1"),
            ])
            .await
            .expect("an unknown parameter is not an error");
        let metadata = ok.wrapper_config.expect("config").metadata;
        assert_eq!(metadata["region"], "eu-west-1");
        assert_eq!(metadata["key_id"], "alias/vault");
        assert_eq!(metadata["endpoint"], "https://kms.eu-west-1.amazonaws.com/");
        assert_eq!(metadata.len(), 3);
        assert_eq!(
            c.wrapper_type(&ok.wrapper_id).await.expect("type"),
            "awskms"
        );

        let e = c
            .wrapper_type("not-an-instance")
            .await
            .expect_err("unknown id");
        assert_eq!(e.code(), Code::NotFound);
        let e = c.key_id("not-an-instance").await.expect_err("unknown id");
        assert_eq!(e.code(), Code::NotFound);

        // Init and Finalize answer for a known instance.
        let _: Empty = c
            .call(
                "/pb.Wrapper/Init",
                LifecycleRequest {
                    wrapper_id: ok.wrapper_id.clone(),
                    options: Some(RpcOptions::default()),
                },
            )
            .await
            .expect("init");
        let _: Empty = c
            .call(
                "/pb.Wrapper/Finalize",
                LifecycleRequest {
                    wrapper_id: ok.wrapper_id.clone(),
                    options: Some(RpcOptions::default()),
                },
            )
            .await
            .expect("finalize");

        // go-plugin's optional services may be unimplemented.
        let e = c
            .call::<Empty, Empty>("/plugin.GRPCStdio/StreamStdio", Empty {})
            .await
            .expect_err("unimplemented");
        assert_eq!(e.code(), Code::Unimplemented);

        assert_eq!(c.health().await.expect("still serving").status, 1);

        // Shutdown answers, then the process exits.
        let _: Empty = c
            .call("/plugin.GRPCController/Shutdown", Empty {})
            .await
            .expect("shutdown answers");
    });
    let status = plugin
        .wait_exit(Duration::from_secs(5))
        .expect("exits after Shutdown");
    assert!(status.success(), "{status:?}");
    assert!(!plugin.socket.exists(), "socket removed");
    let stderr = plugin.stderr();
    assert!(stderr.contains("no_such_parameter"), "{stderr}");
    assert!(!stderr.contains("do-not-print-me"), "{stderr}");
    for line in stderr.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not hclog JSON ({e}): {line}"));
        assert!(
            value["@level"].is_string() && value["@message"].is_string(),
            "{line}"
        );
        assert!(
            value["@timestamp"].as_str().is_some_and(|t| t.len() == 27),
            "{line}"
        );
    }
}

fn moto_settings(moto: &Moto) -> Vec<(&str, &str)> {
    vec![
        ("kms_key_id", moto.alias.as_str()),
        ("region", moto.region.as_str()),
        ("endpoint", moto.endpoint.as_str()),
        ("access_key", moto.access_key_id.as_str()),
        ("secret_key", moto.secret_access_key.as_str()),
    ]
}

fn cli_env(moto: &Moto) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
    ]
}

fn cli_args<'a>(moto: &'a Moto, command: &'a str, aad: &'a str) -> Vec<&'a str> {
    vec![
        "--endpoint",
        &moto.endpoint,
        "--region",
        &moto.region,
        "--key-id",
        &moto.alias,
        "--aad",
        aad,
        command,
    ]
}

#[test]
fn encrypt_and_decrypt_against_moto_interoperate_with_the_cli_and_the_core() {
    let moto = Moto::start();
    let client = go_plugin_client_identity();
    let plugin = Plugin::start(&client);
    let plaintext = b"[\"cm9vdCBrZXk=\"]".as_slice();
    let aad = "core/hsm/barrier-unseal-keys";
    runtime().block_on(async {
        let c = plugin.connect(Some(&client)).await.expect("connect");
        let id = c
            .set_config(&moto_settings(&moto))
            .await
            .unwrap_or_else(|e| panic!("{e}; {}", plugin.stderr()))
            .wrapper_id;
        assert_eq!(
            c.key_id(&id).await.expect("key id"),
            moto.alias,
            "before Encrypt"
        );

        let blob = c
            .encrypt(&id, plaintext, aad.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}\nmoto: {}", moto.log_tail()));
        let info = BlobInfo::decode(&blob).expect("a BlobInfo");
        assert_eq!(info.mechanism(), Mechanism::EnvelopeAesGcm);
        assert_eq!(info.key_id(), Some(moto.key_arn.as_str()));
        assert_eq!(info.iv.len(), 12);
        assert_eq!(
            c.key_id(&id).await.expect("key id"),
            moto.key_arn,
            "after Encrypt"
        );
        assert_eq!(
            c.decrypt(&id, &blob, aad.as_bytes())
                .await
                .expect("decrypt"),
            plaintext
        );

        let e = c
            .decrypt(&id, &blob, b"other/path")
            .await
            .expect_err("wrong aad");
        assert_eq!(e.code(), Code::Unknown);
        let e = c
            .decrypt(&id, b"\xff\xff", b"")
            .await
            .expect_err("not a blob");
        assert_eq!(e.code(), Code::Unknown);
        assert!(e.message().contains("BlobInfo"), "{}", e.message());

        // The CLI opens the plugin's blob and the plugin opens the CLI's.
        let out = cli::run(&cli_args(&moto, "decrypt", aad), &blob, &cli_env(&moto));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, plaintext);
        let out = cli::run(&cli_args(&moto, "encrypt", aad), plaintext, &cli_env(&moto));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_cli = out.stdout;
        assert_eq!(
            c.decrypt(&id, &from_cli, aad.as_bytes())
                .await
                .expect("cli blob"),
            plaintext
        );

        // And the core seal, built as the CLI builds it.
        let mut config =
            AwsKmsSealConfig::from_params(moto_settings(&moto), |_| None).expect("config");
        config.unknown_parameters.clear();
        let built = kms_seal_ureq::native::build_seal(
            &config,
            EnvLookup::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]),
        )
        .expect("seal");
        let from_core = built
            .seal
            .encrypt(plaintext, None)
            .expect("core encrypt")
            .encode();
        assert_eq!(
            c.decrypt(&id, &from_core, b"").await.expect("core blob"),
            plaintext
        );
        let plugin_blob = c.encrypt(&id, plaintext, b"").await.expect("encrypt");
        let opened = built
            .seal
            .decrypt(&BlobInfo::decode(&plugin_blob).expect("blob"), None)
            .expect("core opens the plugin's blob");
        assert_eq!(opened.as_slice(), plaintext);

        // Mechanism 0 (old Vault data: a KMS ciphertext of the value itself). The wrapped key
        // of a plugin blob is exactly that, of its data key: Decrypt it as a mechanism-0
        // blob, and the key it returns must open the envelope.
        let wrapped = info
            .key_info
            .as_ref()
            .expect("key info")
            .wrapped_key
            .clone();
        let mechanism_0 = BlobInfo {
            ciphertext: wrapped,
            ..BlobInfo::default()
        };
        assert_eq!(mechanism_0.mechanism(), Mechanism::AwsKmsEncrypt);
        let data_key = c
            .decrypt(&id, &mechanism_0.encode(), b"")
            .await
            .expect("mechanism 0 decrypts");
        let data_key = DataKey::from_slice(&data_key).expect("32-byte data key");
        let iv = Iv::from_slice(&info.iv).expect("iv");
        let opened = aead::open(&data_key, &iv, &info.ciphertext, Some(aad.as_bytes()))
            .expect("the mechanism-0 plaintext is the envelope's data key");
        assert_eq!(opened.as_slice(), plaintext);

        // Wrong credentials: one line naming the key, no secret.
        let mut bad = moto_settings(&moto);
        bad.retain(|(k, _)| *k != "secret_key");
        bad.push(("secret_key", "wrongwrongwrongwrongwrongwrongwrongwrong"));
        let bad_id = c
            .set_config(&bad)
            .await
            .expect("config is valid")
            .wrapper_id;
        let e = c
            .encrypt(&bad_id, plaintext, b"")
            .await
            .expect_err("bad signature");
        assert_eq!(e.code(), Code::Unknown);
        assert!(e.message().contains(&moto.alias), "{}", e.message());
        assert!(!e.message().contains("wrongwrong"), "{}", e.message());
        assert!(!e.message().contains('\n'), "{}", e.message());
    });
    let stderr = plugin.stderr();
    assert!(!stderr.contains(&moto.secret_access_key), "{stderr}");
    assert!(!stderr.contains("cm9vdCBrZXk"), "{stderr}");
}

/// Makes an IAM user in `moto` that may call `kms:DescribeKey` and `kms:Decrypt` but not
/// `kms:Encrypt`, shows with boto3 that KMS refuses its Encrypt, and returns its access key id
/// and secret.
fn decrypt_only_user(moto: &Moto) -> (String, String) {
    const SCRIPT: &str = r#"
import json, sys
import boto3, botocore.exceptions
endpoint, region, key = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=endpoint, region_name=region)
iam.create_user(UserName="decrypt-only")
policy = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:Decrypt"], "Resource": "*"}]}
iam.put_user_policy(UserName="decrypt-only", PolicyName="decrypt-only",
                    PolicyDocument=json.dumps(policy))
k = iam.create_access_key(UserName="decrypt-only")["AccessKey"]
kms = boto3.client("kms", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
kms.describe_key(KeyId=key)
try:
    kms.encrypt(KeyId=key, Plaintext=b"x")
    sys.exit("boto3: Encrypt was allowed")
except botocore.exceptions.ClientError as e:
    # moto answers IAM denials with an XML AccessDenied body that botocore's JSON parser
    # leaves as the bare status; real KMS sends AccessDeniedException as JSON.
    status = e.response["ResponseMetadata"]["HTTPStatusCode"]
    if status != 403:
        sys.exit("boto3: Encrypt failed with %s" % e)
print("ok", k["AccessKeyId"], k["SecretAccessKey"])
"#;
    let out = kms_seal_tests::boto3::run_script(
        SCRIPT,
        &[&moto.endpoint, &moto.region, &moto.alias],
        &cli_env(moto),
    );
    kms_seal_tests::boto3::assert_works(&out);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = stdout.split_whitespace().skip(1);
    let id = words.next().expect("access key id").to_owned();
    let secret = words.next().expect("secret").to_owned();
    (id, secret)
}

/// KMS refusing Encrypt to the configured credentials (moto's IAM checks on): the plugin
/// answers one line naming the key and the permission to grant, and keeps serving the
/// operations the credentials may do.
#[test]
fn access_denied_names_the_permission_to_grant() {
    let moto = Moto::start();
    let (id, secret) = decrypt_only_user(&moto);
    let client = go_plugin_client_identity();
    let plugin = Plugin::start(&client);
    let aad = "core/hsm/barrier-unseal-keys";
    let plaintext = b"sealed by the admin".as_slice();
    let out = cli::run(&cli_args(&moto, "encrypt", aad), plaintext, &cli_env(&moto));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_cli = out.stdout;
    runtime().block_on(async {
        let c = plugin.connect(Some(&client)).await.expect("connect");
        let mut settings = moto_settings(&moto);
        settings.retain(|(k, _)| !matches!(*k, "access_key" | "secret_key"));
        settings.push(("access_key", &id));
        settings.push(("secret_key", &secret));
        let wrapper = c
            .set_config(&settings)
            .await
            .unwrap_or_else(|e| panic!("DescribeKey is allowed: {e}; {}", plugin.stderr()))
            .wrapper_id;
        let e = c
            .encrypt(&wrapper, plaintext, aad.as_bytes())
            .await
            .expect_err("kms:Encrypt is not allowed");
        let message = e.message();
        assert_eq!(e.code(), Code::Unknown, "{message}");
        assert!(message.contains("AccessDenied"), "{message}");
        assert!(
            message.contains(&format!(
                "; grant kms:Encrypt on {} to these credentials",
                moto.alias
            )),
            "{message}"
        );
        assert!(
            !message.contains('\n') && !message.contains(&secret),
            "{message}"
        );
        assert_eq!(
            c.decrypt(&wrapper, &from_cli, aad.as_bytes())
                .await
                .expect("kms:Decrypt is allowed"),
            plaintext
        );
    });
    assert!(!plugin.stderr().contains(&secret));
}

/// KMS over https goes through the process-wide provider the plugin installs (its static build
/// links no other): the handshake with an untrusted KMS certificate is attempted and fails as
/// a tls error naming the endpoint, and the plugin keeps serving.
#[test]
fn https_kms_endpoint_uses_the_plugins_tls_provider() {
    let client = go_plugin_client_identity();
    let plugin = Plugin::start(&client);
    runtime().block_on(async {
        let kms = go_plugin_client_identity();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![kms.der.clone()],
            PrivateKeyDer::Pkcs8(kms.key.clone_key()),
        )
        .expect("server config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let hellos = Arc::new(Mutex::new(0u32));
        let seen = hellos.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *seen.lock().expect("count") += 1;
                let _ = acceptor.accept(stream).await;
            }
        });
        let endpoint = format!("https://127.0.0.1:{port}");
        let c = plugin.connect(Some(&client)).await.expect("connect");
        let id = c
            .set_config(&[
                ("kms_key_id", "alias/vault"),
                ("region", "us-east-1"),
                ("endpoint", &endpoint),
                ("access_key", "AKIDEXAMPLE"),
                ("secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ])
            .await
            .expect("config")
            .wrapper_id;
        let e = c
            .encrypt(&id, b"x", b"")
            .await
            .expect_err("untrusted kms certificate");
        assert_eq!(e.code(), Code::Unknown);
        assert!(e.message().contains(&endpoint), "{}", e.message());
        assert!(e.message().contains("tls"), "{}", e.message());
        assert!(
            *hellos.lock().expect("count") >= 1,
            "no tls connection reached the endpoint"
        );
        assert_eq!(c.health().await.expect("still serving").status, 1);
    });
}

/// OpenBao kills the plugin 2 s after asking it to stop: a KMS call that hangs (a black-holed
/// endpoint) must not hold up a clean exit on SIGTERM.
#[test]
fn exits_promptly_while_a_kms_call_hangs() {
    let hole = kms_seal_tests::moto::StubServer::black_hole();
    let client = go_plugin_client_identity();
    let mut plugin = Plugin::start(&client);
    let endpoint = hole.url();
    let signalled = runtime().block_on(async {
        let c = plugin.connect(Some(&client)).await.expect("connect");
        let id = c
            .set_config(&[
                ("kms_key_id", "alias/vault"),
                ("endpoint", &endpoint),
                ("access_key", "AKIDEXAMPLE"),
                ("secret_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ])
            .await
            .expect("config")
            .wrapper_id;
        let call = c.encrypt(&id, b"x", b"");
        tokio::pin!(call);
        tokio::select! {
            r = &mut call => panic!("the black hole answered: {r:?}"),
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        assert!(
            !hole.requests().is_empty(),
            "the Encrypt call reached the endpoint"
        );
        plugin.signal("TERM");
        let signalled = Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(3), call).await;
        signalled
    });
    let status = plugin
        .wait_exit(Duration::from_secs(2).saturating_sub(signalled.elapsed()))
        .expect("exits within OpenBao's 2 s");
    assert!(status.success(), "{status:?}; {}", plugin.stderr());
    assert!(!plugin.socket.exists(), "socket removed");
}
