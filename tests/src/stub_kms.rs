//! [`StubKms`]: the in-memory [`MockKms`] served over keep-alive HTTP/1.1 on 127.0.0.1, for
//! benchmarks and whole-process runs of the `kms-seal` CLI.
//!
//! Unlike [`crate::moto::StubServer`] (one scripted answer per connection), this server keeps
//! each connection open for as many requests as the client sends, answers every request with
//! what [`MockKms`] says (so SigV4 is checked on every call and `Encrypt`, `Decrypt`,
//! `DescribeKey`, `GenerateDataKey` and `ReEncrypt` give valid KMS JSON), writes each response
//! with one `write` and sets `TCP_NODELAY`, so that a benchmark measures the client rather than
//! the stub. It uses only `std`: an accept thread and one thread per connection.
//!
//! The mock's request log is cleared after each request so that a long benchmark does not grow
//! it without bound. It only ever listens on loopback.
//!
//! ```no_run
//! use kms_seal_tests::mock_kms::MockKms;
//! use kms_seal_tests::stub_kms::StubKms;
//!
//! let kms = MockKms::new("us-east-1");
//! kms.add_credentials("AKIDEXAMPLE", "secret");
//! let key = kms.create_key();
//! let server = StubKms::start(kms).expect("bind a loopback port");
//! println!("KMS at {} with key {}", server.url(), key.arn);
//! ```

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kms_seal_core::http::{Request, Response, Scheme, Transport};

use crate::mock_kms::MockKms;

/// The access key id the `stub-kms` binary and the `native_encrypt` benchmark use by default.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDSTUBKMSBENCH0001";
/// The matching secret (a test value, not a real secret).
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "stub/kms/bench/secret/key/0000000000000";
/// The alias the `stub-kms` binary points at the key it creates.
pub const DEFAULT_ALIAS: &str = "alias/kms-seal-stub";

/// Largest request head (request line and headers) the stub accepts.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body the stub accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long an idle keep-alive connection is kept open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// [`MockKms`] behind a keep-alive HTTP/1.1 listener on 127.0.0.1. Stopped on drop.
pub struct StubKms {
    addr: SocketAddr,
    kms: Arc<MockKms>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    served: AtomicU64,
}

impl fmt::Debug for StubKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StubKms")
            .field("addr", &self.addr)
            .field("connections", &self.connections())
            .field("served", &self.served())
            .finish_non_exhaustive()
    }
}

impl StubKms {
    /// Serves `kms` on a free loopback port.
    ///
    /// # Errors
    /// The [`io::Error`] of binding 127.0.0.1:0.
    pub fn start(kms: MockKms) -> io::Result<StubKms> {
        StubKms::bind(kms, 0)
    }

    /// Serves `kms` on 127.0.0.1:`port` (0: any free port).
    ///
    /// # Errors
    /// The [`io::Error`] of binding the port (for example, it is in use: pick another or 0).
    pub fn bind(kms: MockKms, port: u16) -> io::Result<StubKms> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let addr = listener.local_addr()?;
        let kms = Arc::new(kms);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let kms = kms.clone();
            let counters = counters.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("stub-kms-accept".into())
                .spawn(move || accept_loop(&listener, &kms, &counters, &stop))?
        };
        Ok(StubKms {
            addr,
            kms,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// The listening address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the KMS endpoint to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The mock behind the server (to add keys, aliases or credentials while it runs).
    pub fn kms(&self) -> &MockKms {
        &self.kms
    }

    /// How many requests have been answered so far.
    pub fn served(&self) -> u64 {
        self.counters.served.load(Ordering::Relaxed)
    }

    /// How many connections have been accepted so far (1 for a client that keeps its
    /// connection alive).
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }

    /// Blocks until the accept loop ends (it only ends when the listener fails), for a process
    /// whose only job is to serve.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StubKms {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // Wake the accept loop so it sees the stop flag.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
            let _ = thread.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    kms: &Arc<MockKms>,
    counters: &Arc<Counters>,
    stop: &Arc<AtomicBool>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        counters.connections.fetch_add(1, Ordering::Relaxed);
        let kms = kms.clone();
        let counters = counters.clone();
        let stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("stub-kms-conn".into())
            .spawn(move || serve_connection(stream, &kms, &counters.served, &stop));
        if spawned.is_err() {
            // Out of threads: the connection is dropped (closed); the client sees a reset.
            continue;
        }
    }
}

/// Serves requests on one connection until the client closes it, asks to close it, sends
/// something that is not HTTP/1.1, stays idle too long, or the server stops.
fn serve_connection(stream: TcpStream, kms: &MockKms, served: &AtomicU64, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    let mut out = Vec::with_capacity(4096);
    while !stop.load(Ordering::Relaxed) {
        let (response, keep_alive) = match read_request(&mut reader) {
            Ok(Some(parsed)) => {
                let keep_alive = parsed.keep_alive;
                (answer(kms, parsed.request), keep_alive)
            }
            Ok(None) => return,
            Err(bad) => (bad.response(), false),
        };
        out.clear();
        write_response(&mut out, &response, keep_alive);
        // Counted before the write, so a client that has its response sees it counted.
        served.fetch_add(1, Ordering::Relaxed);
        if writer.write_all(&out).is_err() {
            return;
        }
        if !keep_alive {
            close_gracefully(&writer, &mut reader);
            return;
        }
    }
}

/// Closes our side, then reads and drops what the client still sends (briefly), so that the
/// close is orderly: closing with unread input would send a reset that can destroy the
/// response before the client reads it.
fn close_gracefully(writer: &TcpStream, reader: &mut BufReader<TcpStream>) {
    let _ = writer.shutdown(Shutdown::Write);
    let _ = writer.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    let mut drained = 0usize;
    while drained < 4 * MAX_BODY_BYTES {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

fn answer(kms: &MockKms, request: Request) -> Response {
    let response = match kms.send(&request) {
        Ok(response) => response,
        Err(e) => Response {
            status: 500,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: format!("stub kms transport fault: {e}").into_bytes(),
        },
    };
    kms.clear_log();
    response
}

/// A request read off the wire.
struct ParsedRequest {
    request: Request,
    keep_alive: bool,
}

/// A request the stub cannot serve; answered, then the connection is closed.
#[derive(Debug)]
enum BadRequest {
    Malformed(&'static str),
    HeadTooLarge,
    BodyTooLarge,
    Method,
}

impl BadRequest {
    fn response(&self) -> Response {
        let (status, text) = match self {
            BadRequest::Malformed(what) => (400, *what),
            BadRequest::HeadTooLarge => (431, "request head too large"),
            BadRequest::BodyTooLarge => (413, "request body too large"),
            BadRequest::Method => (405, "method not supported"),
        };
        Response {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: text.as_bytes().to_vec(),
        }
    }
}

/// Reads one request. `Ok(None)` when the client closed the connection (or went idle, or the
/// connection failed) before a new request began.
fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Option<ParsedRequest>, BadRequest> {
    let mut line = Vec::with_capacity(128);
    let mut head_bytes = 0usize;
    match read_line(reader, &mut line, &mut head_bytes) {
        Ok(0) | Err(LineError::Io) => return Ok(None),
        Ok(_) => {}
        Err(LineError::TooLong) => return Err(BadRequest::HeadTooLarge),
    }
    let request_line = std::str::from_utf8(trim_crlf(&line))
        .map_err(|_| BadRequest::Malformed("request line is not utf-8"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::Malformed("malformed request line"));
    };
    let method = static_method(method).ok_or(BadRequest::Method)?;
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => {
            return Err(BadRequest::Malformed(
                "only HTTP/1.0 and HTTP/1.1 are served",
            ));
        }
    };
    let path_and_query = target.to_owned();

    let mut headers = Vec::with_capacity(12);
    let mut content_length = 0usize;
    let mut keep_alive = http11;
    loop {
        line.clear();
        match read_line(reader, &mut line, &mut head_bytes) {
            Ok(0) | Err(LineError::Io) => {
                return Err(BadRequest::Malformed("request head cut short"));
            }
            Ok(_) => {}
            Err(LineError::TooLong) => return Err(BadRequest::HeadTooLarge),
        }
        let text = trim_crlf(&line);
        if text.is_empty() {
            break;
        }
        let text =
            std::str::from_utf8(text).map_err(|_| BadRequest::Malformed("header is not utf-8"))?;
        let (name, value) = text
            .split_once(':')
            .ok_or(BadRequest::Malformed("header without a colon"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        match name.as_str() {
            "content-length" => {
                content_length = value
                    .parse()
                    .map_err(|_| BadRequest::Malformed("bad content-length"))?;
            }
            "transfer-encoding" => {
                return Err(BadRequest::Malformed("chunked bodies are not served"));
            }
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    keep_alive = false;
                } else if v.contains("keep-alive") {
                    keep_alive = true;
                }
            }
            _ => {}
        }
        headers.push((name, value));
    }
    if content_length > MAX_BODY_BYTES {
        return Err(BadRequest::BodyTooLarge);
    }
    let mut body = vec![0u8; content_length];
    reader
        .read_exact(&mut body)
        .map_err(|_| BadRequest::Malformed("request body cut short"))?;
    let authority = headers
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Ok(Some(ParsedRequest {
        request: Request {
            method,
            scheme: Scheme::Http,
            authority,
            path_and_query,
            headers,
            body,
        },
        keep_alive,
    }))
}

enum LineError {
    Io,
    TooLong,
}

/// Reads up to and including `\n`, keeping the whole head under [`MAX_HEAD_BYTES`].
fn read_line(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    head_bytes: &mut usize,
) -> Result<usize, LineError> {
    let limit = (MAX_HEAD_BYTES - *head_bytes) as u64 + 1;
    let n = reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', line)
        .map_err(|_| LineError::Io)?;
    *head_bytes += n;
    if *head_bytes > MAX_HEAD_BYTES {
        return Err(LineError::TooLong);
    }
    Ok(n)
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn static_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "POST" => "POST",
        "GET" => "GET",
        "PUT" => "PUT",
        "HEAD" => "HEAD",
        "DELETE" => "DELETE",
        _ => return None,
    })
}

fn write_response(out: &mut Vec<u8>, response: &Response, keep_alive: bool) {
    // Writes into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let _ = write!(
        out,
        "content-length: {}\r\nconnection: {connection}\r\n\r\n",
        response.body.len()
    );
    out.extend_from_slice(&response.body);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Stub",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_exchange(server: &StubKms, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn seal_round_trips_over_one_kept_alive_connection() {
        use kms_seal_core::credentials::Credentials;
        use kms_seal_core::kms::Endpoint;
        use kms_seal_core::seal::{Seal, SealSettings};
        use kms_seal_ureq::runtime::StdRuntime;
        use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};

        let transport = || {
            let mut config = TransportConfig::default();
            config.proxy = ProxyMode::Disabled;
            UreqTransport::with_config(config).unwrap()
        };

        let kms = MockKms::new("eu-west-1");
        kms.add_credentials("AKIDSTUB", "stub-secret");
        let key = kms.create_key();
        kms.set_alias("alias/stub", &key);
        let server = StubKms::start(kms).unwrap();
        let settings = SealSettings::new(
            "alias/stub",
            Endpoint::custom(&server.url(), "eu-west-1").unwrap(),
        );
        let credentials = Credentials::new("AKIDSTUB", "stub-secret", None, None);
        let mut seal = Seal::new(settings, transport(), credentials, StdRuntime::new());
        seal.init().unwrap();
        assert_eq!(seal.key_id(), key.arn);
        for i in 0..3u8 {
            let plaintext = [i; 40];
            let blob = seal.encrypt(&plaintext, Some(b"aad")).unwrap();
            assert_eq!(*seal.decrypt(&blob, Some(b"aad")).unwrap(), plaintext);
        }
        assert_eq!(server.served(), 7);
        assert_eq!(server.connections(), 1);
        assert_eq!(
            server.kms().request_count(),
            0,
            "the log is cleared after each request"
        );

        let wrong = Credentials::new("AKIDSTUB", "not-the-secret", None, None);
        let settings = SealSettings::new(
            "alias/stub",
            Endpoint::custom(&server.url(), "eu-west-1").unwrap(),
        );
        let mut bad = Seal::new(settings, transport(), wrong, StdRuntime::new());
        let error = bad.init().unwrap_err().to_string();
        assert!(error.contains("SignatureDoesNotMatch"), "{error}");
    }

    #[test]
    fn unsigned_request_is_rejected_by_the_mock() {
        let server = StubKms::start(MockKms::new("us-east-1")).unwrap();
        let text = raw_exchange(
            &server,
            b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
        assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
        assert!(
            text.contains("MissingAuthenticationTokenException"),
            "{text}"
        );
        assert!(text.contains("connection: close"), "{text}");
        assert_eq!(server.served(), 1);
    }

    #[test]
    fn oversized_body_and_unknown_method_are_refused() {
        let server = StubKms::start(MockKms::new("us-east-1")).unwrap();
        let big = format!(
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert!(raw_exchange(&server, big.as_bytes()).starts_with("HTTP/1.1 413 "));
        let text = raw_exchange(&server, b"BREW / HTTP/1.1\r\nhost: x\r\n\r\n");
        assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
        let text = raw_exchange(
            &server,
            b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    }

    #[test]
    fn oversized_head_is_refused() {
        let server = StubKms::start(MockKms::new("us-east-1")).unwrap();
        let mut request = b"POST / HTTP/1.1\r\n".to_vec();
        request.extend(format!("x-filler: {}\r\n", "a".repeat(MAX_HEAD_BYTES)).as_bytes());
        request.extend(b"\r\n");
        assert!(raw_exchange(&server, &request).starts_with("HTTP/1.1 431 "));
    }
}
