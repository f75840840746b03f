//! `openbao-plugin-kms-awskms`: the AWS KMS seal as an OpenBao 2.7 KMS plugin.
//!
//! OpenBao starts the binary as a HashiCorp go-plugin child process (magic cookie
//! `OPENBAO_KMS_PLUGIN`, protocol version 1, gRPC, AutoMTLS) and speaks `pb.Wrapper` to it
//! over a unix socket. Everything the seal does is the native seal's
//! ([`kms_seal_ureq::native`]), configured by the one loader ([`kms_seal_cli::config`]); this
//! crate adds only the host contract:
//!
//! - [`handshake`]: the environment OpenBao sets, the socket and the handshake line;
//! - [`tls`]: the start-up certificate and the pinned client certificate;
//! - [`server`]: HTTP/2 and the dispatch of gRPC methods;
//! - [`wrapper`]: SetConfig, Type, KeyId, Encrypt, Decrypt, Init, Finalize;
//! - [`proto`]: the messages, written by hand with the upstream field numbers;
//! - [`mod@log`]: hclog JSON lines on stderr.
//!
//! Out of scope: External Keys (`kms.KMS`, `metadata.Metadata`), go-plugin's stdio and broker
//! streams (answered Unimplemented, which OpenBao accepts), tcp listeners.

pub mod handshake;
pub mod log;
pub mod proto;
pub mod server;
pub mod tls;
pub mod wrapper;

#[doc(hidden)]
pub mod fuzzing;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use kms_seal_ureq::credentials::EnvLookup;

use crate::handshake::{HostContract, handshake_line, socket_path};
use crate::log::{Level, log};
use crate::tls::{ServerIdentity, server_config};
use crate::wrapper::Wrappers;

/// The plugin process: checks the host's contract, prints the handshake line, serves until
/// SIGTERM or Shutdown. Exit status 1 when it cannot start.
pub fn main() -> ExitCode {
    // One TLS provider for the socket and for KMS: ureq takes the process-wide default (the
    // crate is built without ureq's ring). Only fails if one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = EnvLookup::process();
    let contract = match HostContract::from_env(&|name| env.get(name)) {
        Ok(contract) => contract,
        Err(e) => {
            eprintln!("openbao-plugin-kms-awskms: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(contract, env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(Level::Error, &e, &[]);
            ExitCode::FAILURE
        }
    }
}

fn run(contract: HostContract, env: EnvLookup) -> Result<(), String> {
    let identity = ServerIdentity::generate().map_err(|e| e.to_string())?;
    let tls = server_config(&identity, &contract.client_cert_pem).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(async {
        let signals = server::Signals::install()
            .map_err(|e| format!("cannot install signal handlers: {e}"))?;
        let (listener, socket) = bind(&contract)?;
        let line = handshake_line(&socket, identity.cert.as_ref());
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            let _ = std::fs::remove_file(&socket);
            return Err(format!("cannot write the handshake line: {e}"));
        }
        drop(stdout);
        let wrappers = Arc::new(Wrappers::new(env));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        server::serve(listener, socket.clone(), acceptor, wrappers, signals).await;
        let _ = std::fs::remove_file(&socket);
        Ok(())
    });
    // A KMS call still running on a blocking thread must not hold up the exit (OpenBao kills
    // the process 2 s after Shutdown).
    runtime.shutdown_timeout(EXIT_GRACE);
    result
}

/// How long the exit waits for KMS calls still in flight.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Binds a fresh socket in the contract's directory (a few tries on a name clash).
fn bind(contract: &HostContract) -> Result<(tokio::net::UnixListener, std::path::PathBuf), String> {
    let mut last = String::new();
    for _ in 0..8 {
        let path = socket_path(&contract.socket_dir).map_err(|e| format!("no randomness: {e}"))?;
        match tokio::net::UnixListener::bind(&path) {
            Ok(listener) => return Ok((listener, path)),
            Err(e) => last = format!("cannot listen on {}: {e}", path.display()),
        }
    }
    Err(format!("{last}; check TMPDIR"))
}
