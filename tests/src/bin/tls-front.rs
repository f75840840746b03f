//! `tls-front`: the tests' loopback TLS front as its own process, for `scripts/perf-https.sh`.
//!
//! ```text
//! tls-front --backend 127.0.0.1:PORT --ca-out PATH [--exit-on-stdin-eof]
//! ```
//!
//! It makes a private CA, writes the CA certificate to `PATH` (the bundle clients are given
//! through `AWS_CA_BUNDLE`), listens on a free port of 127.0.0.1 with a certificate for
//! `localhost` and `127.0.0.1` signed by that CA, and forwards each connection's plaintext to
//! the backend. It prints `url=https://localhost:PORT`, `ca=PATH` and `ready` on stdout and
//! serves until it is killed, or, with `--exit-on-stdin-eof`, until its standard input closes.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use kms_seal_tests::tls_front::{TestCa, TlsFront};

const USAGE: &str = "usage: tls-front --backend 127.0.0.1:PORT --ca-out PATH [--exit-on-stdin-eof]";

fn main() -> ExitCode {
    let mut backend: Option<SocketAddr> = None;
    let mut ca_out: Option<PathBuf> = None;
    let mut exit_on_stdin_eof = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backend" => match args.next().and_then(|v| v.parse().ok()) {
                Some(addr) => backend = Some(addr),
                None => return fail(&format!("--backend needs an address; {USAGE}")),
            },
            "--ca-out" => ca_out = args.next().map(PathBuf::from),
            "--exit-on-stdin-eof" => exit_on_stdin_eof = true,
            other => return fail(&format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let (Some(backend), Some(ca_out)) = (backend, ca_out) else {
        return fail(USAGE);
    };
    if !backend.ip().is_loopback() {
        return fail("--backend must be a loopback address");
    }
    let ca = TestCa::new("kms-seal perf CA");
    if let Err(e) = std::fs::write(&ca_out, ca.pem()) {
        return fail(&format!("cannot write {}: {e}", ca_out.display()));
    }
    let front = TlsFront::start(backend, ca.issue(&["localhost", "127.0.0.1"]));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "url={}\nca={}\nready", front.url(), ca_out.display());
    let _ = out.flush();
    drop(out);
    if exit_on_stdin_eof {
        let mut line = String::new();
        let mut stdin = std::io::stdin().lock();
        while stdin.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            line.clear();
        }
    } else {
        loop {
            std::thread::park();
        }
    }
    drop(front);
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("tls-front: {message}");
    ExitCode::from(2)
}
