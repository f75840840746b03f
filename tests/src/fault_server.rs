//! [`FaultServer`]: a scripted HTTP/1.1 server on 127.0.0.1 (std only) for fault-injection
//! tests of the native transport, the seal and the `kms-seal` CLI.
//!
//! Each request that arrives takes the next [`Action`] from the script (or the default
//! action, at first [`Action::Upstream`], when the script is empty): answer with a canned
//! response, reset or close the connection, never answer, send part of a body and stall or close, or pass the
//! request on to the [`Upstream`] that gives real answers — an in-process KMS (the
//! [`MockKms`](crate::mock_kms::MockKms), which checks SigV4) or a proxied HTTP server such as
//! moto. Every request is recorded with the action taken, so tests can count attempts.
//!
//! Connections are kept alive between answered requests (as KMS does), so the client's
//! connection pool is exercised too. Nothing but loopback is ever bound or contacted, and the
//! server stops when dropped: hung connections are released then.

use std::collections::VecDeque;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kms_seal_core::http::{Request, Response, Scheme, Transport};

/// Longest request head or body accepted (KMS requests are small).
const MAX_REQUEST: usize = 1 << 20;
/// How long a kept-alive connection may stay idle before the server closes it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a hung connection is held at most, even if the server is never dropped.
const MAX_HANG: Duration = Duration::from_secs(120);

/// What the server does with one request.
#[derive(Clone)]
pub enum Action {
    /// Answer with this status, headers and body (`Content-Length` is added).
    Respond {
        /// Status code.
        status: u16,
        /// Headers besides `Content-Length`.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Read only the request head, then close with the body unread, so the kernel resets the
    /// connection (TCP RST).
    Reset,
    /// Read the request, then close the connection without answering.
    Close,
    /// Read the request and never answer (until the server is dropped).
    Hang,
    /// Send the status line, the headers (declaring `declared_len` body bytes) and `sent`, then
    /// stall without closing.
    StallBody {
        /// Status code.
        status: u16,
        /// The `Content-Length` announced.
        declared_len: usize,
        /// The bytes actually sent.
        sent: Vec<u8>,
    },
    /// Like [`Action::StallBody`], but close the connection after `sent`.
    Truncate {
        /// Status code.
        status: u16,
        /// The `Content-Length` announced.
        declared_len: usize,
        /// The bytes actually sent.
        sent: Vec<u8>,
    },
    /// Wait, then do the inner action.
    Delay(Duration, Box<Action>),
    /// Pass the request to the upstream and relay its answer.
    Upstream,
    /// Pass the request to the upstream, then change the answer before relaying it.
    Rewrite(Arc<dyn Fn(Response) -> Response + Send + Sync>),
}

impl Action {
    /// A KMS JSON error: `{"__type": code, "message": message}`.
    pub fn kms_error(status: u16, code: &str, message: &str) -> Action {
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        Action::respond(status, "application/x-amz-json-1.1", body)
    }

    /// A response with this content type and body.
    pub fn respond(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Action {
        Action::Respond {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// A short name for logs and assertions.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Respond { .. } => "respond",
            Action::Reset => "reset",
            Action::Close => "close",
            Action::Hang => "hang",
            Action::StallBody { .. } => "stall-body",
            Action::Truncate { .. } => "truncate",
            Action::Delay(_, inner) => inner.name(),
            Action::Upstream => "upstream",
            Action::Rewrite(_) => "rewrite",
        }
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Respond { status, body, .. } => {
                write!(f, "Respond({status}, {} bytes)", body.len())
            }
            Action::Delay(d, inner) => write!(f, "Delay({d:?}, {inner:?})"),
            other => f.write_str(other.name()),
        }
    }
}

/// Where [`Action::Upstream`] gets real answers.
#[derive(Clone)]
pub enum Upstream {
    /// No upstream: answer 502 with a plain-text body.
    None,
    /// An in-process transport (for example [`MockKms`](crate::mock_kms::MockKms)); transport
    /// errors become a closed connection.
    Transport(Arc<dyn Transport + Send + Sync>),
    /// Any function of the request.
    Handler(Arc<dyn Fn(&Request) -> Response + Send + Sync>),
    /// An HTTP/1.1 server on loopback (for example moto), reached with one connection per
    /// request.
    Proxy(SocketAddr),
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::None => f.write_str("None"),
            Upstream::Transport(_) => f.write_str("Transport"),
            Upstream::Handler(_) => f.write_str("Handler"),
            Upstream::Proxy(addr) => write!(f, "Proxy({addr})"),
        }
    }
}

/// A request the server received, with what it did about it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request (`authority` from the `Host` header, scheme `http`). Its body is empty for
    /// [`Action::Reset`], which does not read it.
    pub request: Request,
    /// [`Action::name`] of the action taken.
    pub action: &'static str,
    /// When it arrived, from the server's start.
    pub at: Duration,
}

impl Seen {
    /// The KMS operation from `X-Amz-Target` (`Encrypt`), or the path.
    pub fn operation(&self) -> &str {
        match self.request.header("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target),
            None => &self.request.path_and_query,
        }
    }
}

struct Shared {
    script: Mutex<VecDeque<Action>>,
    default: Mutex<Action>,
    seen: Mutex<Vec<Seen>>,
    keep_log: AtomicBool,
    requests: AtomicUsize,
    connections: AtomicUsize,
    upstream: Upstream,
    stop: AtomicBool,
    started: Instant,
}

/// The scripted server. See the [module documentation](self).
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl FaultServer {
    /// Starts a server on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(upstream: Upstream) -> FaultServer {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let shared = Arc::new(Shared {
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Action::Upstream),
            seen: Mutex::new(Vec::new()),
            keep_log: AtomicBool::new(true),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            upstream,
            stop: AtomicBool::new(false),
            started: Instant::now(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let shared = shared.clone();
                    std::thread::spawn(move || serve_connection(stream, &shared));
                }
            })
        };
        FaultServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// Appends an action to the script.
    pub fn push(&self, action: Action) -> &FaultServer {
        lock(&self.shared.script).push_back(action);
        self
    }

    /// Appends `n` copies of an action to the script.
    pub fn push_n(&self, n: usize, action: Action) -> &FaultServer {
        let mut script = lock(&self.shared.script);
        for _ in 0..n {
            script.push_back(action.clone());
        }
        self
    }

    /// Sets what is done once the script is empty (at first [`Action::Upstream`]); for
    /// example `Action::Delay(25 ms, Upstream)` makes a latency proxy in front of moto.
    pub fn set_default(&self, action: Action) -> &FaultServer {
        *lock(&self.shared.default) = action;
        self
    }

    /// Actions still in the script.
    pub fn pending(&self) -> usize {
        lock(&self.shared.script).len()
    }

    /// Every request received so far, in arrival order (while the log is kept).
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// Keeps (the default) or stops keeping the request log, for long load runs; the counts
    /// of [`attempts`](Self::attempts) and [`connections`](Self::connections) go on.
    pub fn keep_log(&self, on: bool) -> &FaultServer {
        self.shared.keep_log.store(on, Ordering::SeqCst);
        self
    }

    /// How many requests arrived.
    pub fn attempts(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many requests for this KMS operation (or path) arrived.
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.shared.seen)
            .iter()
            .filter(|s| s.operation() == operation)
            .count()
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A loopback address on which nothing listens (bound, then released), for
/// connection-refused scenarios.
///
/// # Panics
/// When no loopback port can be bound.
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the log from the others.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    loop {
        if !wait_for_request(&stream, shared) {
            return;
        }
        let scripted = lock(&shared.script).pop_front();
        let action = scripted.unwrap_or_else(|| lock(&shared.default).clone());
        let keep_alive = match handle(&mut stream, shared, action) {
            Some(keep) => keep,
            None => return,
        };
        if !keep_alive {
            let _ = stream.shutdown(Shutdown::Write);
            drain(&mut stream);
            return;
        }
    }
}

/// Waits until the next request's first byte arrives; false when the connection closed, went
/// idle too long, or the server is stopping.
fn wait_for_request(stream: &TcpStream, shared: &Shared) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let idle_since = Instant::now();
    let mut probe = [0u8; 1];
    loop {
        if shared.stop.load(Ordering::SeqCst) || idle_since.elapsed() > IDLE_TIMEOUT {
            return false;
        }
        match stream.peek(&mut probe) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
    }
}

/// Does `action` for the request waiting on `stream`. `Some(keep_alive)` when an answer was
/// sent, `None` when the connection is finished.
fn handle(stream: &mut TcpStream, shared: &Shared, action: Action) -> Option<bool> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if let Action::Reset = action {
        let head = read_head(stream)?;
        let request = to_request(&head, Vec::new())?;
        record(shared, request, "reset");
        // Let the body arrive, then close with it unread: Linux answers with RST.
        std::thread::sleep(Duration::from_millis(30));
        return None;
    }
    let head = read_head(stream)?;
    let length = content_length(&head);
    if length > MAX_REQUEST {
        return None;
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let request = to_request(&head, body)?;
    let client_close = request
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    record(shared, request.clone(), action.name());
    let action = match action {
        Action::Delay(delay, inner) => {
            sleep_unless_stopped(delay, shared);
            *inner
        }
        other => other,
    };
    match action {
        Action::Respond {
            status,
            headers,
            body,
        } => {
            write_response(stream, status, &headers, &body, body.len()).ok()?;
            Some(!client_close)
        }
        Action::Upstream => {
            let response = forward(shared, &request)?;
            write_response(
                stream,
                response.status,
                &response.headers,
                &response.body,
                response.body.len(),
            )
            .ok()?;
            Some(!client_close)
        }
        Action::Rewrite(change) => {
            let response = change(forward(shared, &request)?);
            write_response(
                stream,
                response.status,
                &response.headers,
                &response.body,
                response.body.len(),
            )
            .ok()?;
            Some(!client_close)
        }
        Action::Close | Action::Reset => None,
        Action::Hang => {
            sleep_unless_stopped(MAX_HANG, shared);
            None
        }
        Action::StallBody {
            status,
            declared_len,
            sent,
        } => {
            let _ = write_response(stream, status, &[], &sent, declared_len);
            sleep_unless_stopped(MAX_HANG, shared);
            None
        }
        Action::Truncate {
            status,
            declared_len,
            sent,
        } => {
            let _ = write_response(stream, status, &[], &sent, declared_len);
            let _ = stream.flush();
            None
        }
        Action::Delay(..) => None,
    }
}

fn record(shared: &Shared, request: Request, action: &'static str) {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if !shared.keep_log.load(Ordering::SeqCst) {
        return;
    }
    let at = shared.started.elapsed();
    lock(&shared.seen).push(Seen {
        request,
        action,
        at,
    });
}

fn sleep_unless_stopped(limit: Duration, shared: &Shared) {
    let until = Instant::now() + limit;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drain(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// Reads up to and including the blank line, one byte at a time so that nothing of the body
/// is consumed (the reset scenario depends on leaving it unread).
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_REQUEST || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

fn to_request(head: &[u8], body: Vec<u8>) -> Option<Request> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = match first.next()? {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "OTHER",
    };
    let path_and_query = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let authority = headers
        .iter()
        .find(|(name, _)| name == "host")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    Some(Request {
        method,
        scheme: Scheme::Http,
        authority,
        path_and_query,
        headers,
        body,
    })
}

fn forward(shared: &Shared, request: &Request) -> Option<Response> {
    match &shared.upstream {
        Upstream::None => Some(Response {
            status: 502,
            headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
            body: b"no upstream".to_vec(),
        }),
        Upstream::Transport(transport) => transport.send(request).ok(),
        Upstream::Handler(handler) => Some(handler(request)),
        Upstream::Proxy(addr) => proxy(*addr, request),
    }
}

/// One request to an HTTP/1.1 server, `Connection: close`, body read to the end.
fn proxy(addr: SocketAddr, request: &Request) -> Option<Response> {
    let mut upstream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path_and_query);
    for (name, value) in &request.headers {
        if name != "connection" && name != "content-length" {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        request.body.len()
    ));
    upstream.write_all(head.as_bytes()).ok()?;
    upstream.write_all(&request.body).ok()?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    let mut chunked = false;
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
            continue;
        }
        if matches!(
            name.as_str(),
            "content-length" | "connection" | "keep-alive"
        ) {
            continue;
        }
        headers.push((name, value));
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    declared_len: usize,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("transfer-encoding")
            && !name.eq_ignore_ascii_case("connection")
        {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {declared_len}\r\n\r\n"));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_call(server: &FaultServer, request: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    #[test]
    fn script_then_upstream() {
        let server = FaultServer::start(Upstream::Handler(Arc::new(|r: &Request| Response {
            status: 200,
            headers: Vec::new(),
            body: r.body.clone(),
        })));
        server.push(Action::kms_error(
            503,
            "ServiceUnavailableException",
            "busy",
        ));
        let first = raw_call(
            &server,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert!(first.starts_with(b"HTTP/1.1 503 "));
        let second = raw_call(
            &server,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert!(second.starts_with(b"HTTP/1.1 200 "));
        assert!(second.ends_with(b"\r\n\r\nhi"));
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].action, "respond");
        assert_eq!(seen[1].action, "upstream");
        assert_eq!(seen[1].request.body, b"hi");
    }

    #[test]
    fn truncate_declares_more_than_it_sends() {
        let server = FaultServer::start(Upstream::None);
        server.push(Action::Truncate {
            status: 200,
            declared_len: 100,
            sent: b"{\"Ciph".to_vec(),
        });
        let out = raw_call(&server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Content-Length: 100"));
        assert!(text.ends_with("{\"Ciph"));
    }

    #[test]
    fn chunked_upstream_answers_are_decoded() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"abcde");
        assert_eq!(response.header("x-a"), Some("b"));
    }
}
