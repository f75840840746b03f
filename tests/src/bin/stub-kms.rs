//! `stub-kms`: the in-memory mock KMS served over keep-alive HTTP/1.1 on 127.0.0.1, as its own
//! process, so that benchmarks can pin it to one CPU and measure the client on another.
//!
//! ```text
//! stub-kms [--port N] [--region R] [--access-key ID] [--secret-key KEY] [--alias alias/NAME]
//!          [--exit-on-stdin-eof]
//! ```
//!
//! It creates one symmetric key, points the alias at it, accepts requests signed with the given
//! access key (defaults: [`kms_seal_tests::stub_kms::DEFAULT_ACCESS_KEY_ID`] and its test
//! secret), then prints `name=value` lines (`endpoint`, `region`, `key_arn`, `alias`,
//! `access_key`, `pid`) and a final `ready` line on stdout, and serves until it is killed,
//! or, with `--exit-on-stdin-eof`, until its standard input closes (so it never outlives the
//! process that started it). It never listens on anything but loopback.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use kms_seal_tests::mock_kms::MockKms;
use kms_seal_tests::stub_kms::{
    DEFAULT_ACCESS_KEY_ID, DEFAULT_ALIAS, DEFAULT_SECRET_ACCESS_KEY, StubKms,
};

const USAGE: &str = "usage: stub-kms [--port N] [--region R] [--access-key ID] \
                     [--secret-key KEY] [--alias alias/NAME] [--exit-on-stdin-eof]";

struct Options {
    port: u16,
    region: String,
    access_key: String,
    secret_key: String,
    alias: String,
    exit_on_stdin_eof: bool,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        region: "us-east-1".into(),
        access_key: DEFAULT_ACCESS_KEY_ID.into(),
        secret_key: DEFAULT_SECRET_ACCESS_KEY.into(),
        alias: DEFAULT_ALIAS.into(),
        exit_on_stdin_eof: false,
    };
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value; {USAGE}"))
        };
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                options.port = v
                    .parse()
                    .map_err(|_| format!("--port {v:?} is not a port number; {USAGE}"))?;
            }
            "--region" => options.region = value("--region")?,
            "--access-key" => options.access_key = value("--access-key")?,
            "--secret-key" => options.secret_key = value("--secret-key")?,
            "--alias" => {
                let v = value("--alias")?;
                if !v.starts_with("alias/") {
                    return Err(format!("--alias must start with alias/; {USAGE}"));
                }
                options.alias = v;
            }
            "--exit-on-stdin-eof" => options.exit_on_stdin_eof = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("stub-kms: {message}");
            return ExitCode::from(2);
        }
    };
    let kms = MockKms::new(&options.region);
    kms.add_credentials(&options.access_key, &options.secret_key);
    let key = kms.create_key();
    kms.set_alias(&options.alias, &key);
    let server = match StubKms::bind(kms, options.port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "stub-kms: cannot listen on 127.0.0.1:{} ({e}); pick a free port or 0",
                options.port
            );
            return ExitCode::from(1);
        }
    };
    let announced = {
        let mut out = std::io::stdout().lock();
        writeln!(out, "endpoint={}", server.url())
            .and_then(|()| writeln!(out, "region={}", options.region))
            .and_then(|()| writeln!(out, "key_arn={}", key.arn))
            .and_then(|()| writeln!(out, "alias={}", options.alias))
            .and_then(|()| writeln!(out, "access_key={}", options.access_key))
            .and_then(|()| writeln!(out, "pid={}", std::process::id()))
            .and_then(|()| writeln!(out, "ready"))
            .and_then(|()| out.flush())
    };
    if let Err(e) = announced {
        eprintln!("stub-kms: cannot write stdout ({e}); is the reading end still open?");
        return ExitCode::from(1);
    }
    if options.exit_on_stdin_eof {
        // Read until end of file (the parent closed our stdin or exited), then stop.
        let stdin = std::io::stdin();
        let mut line = String::new();
        while matches!(stdin.lock().read_line(&mut line), Ok(n) if n > 0) {
            line.clear();
        }
        drop(server);
    } else {
        server.wait();
    }
    ExitCode::SUCCESS
}
