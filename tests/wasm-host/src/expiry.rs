//! Credentials that expire, for the plugin's `set-credentials` tests: a wall clock the test
//! can move forward ([`ShiftedClock`]), and a loopback front to moto that answers KMS's
//! `ExpiredTokenException` for the access keys the test has expired ([`ExpiryFront`]).
//!
//! moto 5.2.1 issues temporary credentials (STS AssumeRole, session token checked on every
//! call) but never expires them and has no `ExpiredTokenException`; the front adds exactly
//! that answer and forwards every other request to moto unchanged, so the signatures are
//! still checked by moto.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use wasmtime_wasi::HostWallClock;

/// The body KMS sends for an expired session token (HTTP 400).
pub const EXPIRED_TOKEN_BODY: &str = r#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#;

/// The system clock plus an offset the test moves forward; the guest's `wasi:clocks/wall-clock`.
#[derive(Clone, Debug, Default)]
pub struct ShiftedClock {
    ahead_secs: Arc<AtomicU64>,
}

impl ShiftedClock {
    /// Moves the clock `secs` seconds forward.
    pub fn advance(&self, secs: u64) {
        self.ahead_secs.fetch_add(secs, Ordering::SeqCst);
    }

    /// The clock's time, in seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        self.now().as_secs()
    }
}

impl HostWallClock for ShiftedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        system + Duration::from_secs(self.ahead_secs.load(Ordering::SeqCst))
    }
}

/// A loopback HTTP front to moto: requests signed with an expired access key get KMS's
/// `ExpiredTokenException`, the others go to moto. One request per connection. Stopped on
/// drop.
pub struct ExpiryFront {
    addr: SocketAddr,
    state: Arc<FrontState>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct FrontState {
    upstream: SocketAddr,
    expired: Mutex<HashSet<String>>,
    seen: Mutex<Vec<Seen>>,
}

/// One request the front received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The access key id of its SigV4 `Authorization` header (empty without one).
    pub access_key_id: String,
    /// Whether the front answered `ExpiredTokenException` instead of forwarding it.
    pub rejected: bool,
}

impl ExpiryFront {
    /// Starts the front on a free 127.0.0.1 port, forwarding to `upstream`
    /// (`http://127.0.0.1:PORT`, moto's endpoint).
    ///
    /// # Errors
    /// When `upstream` is not a loopback `http://` address or no port can be bound.
    pub fn start(upstream: &str) -> Result<ExpiryFront> {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .context("the upstream must be http://127.0.0.1:PORT")?
            .trim_end_matches('/')
            .parse()
            .context("the upstream must be http://127.0.0.1:PORT")?;
        anyhow::ensure!(upstream.ip().is_loopback(), "the upstream must be loopback");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(FrontState {
            upstream,
            expired: Mutex::new(HashSet::new()),
            seen: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        if let Err(error) = state.serve(stream) {
                            eprintln!("expiry front: {error:#}");
                        }
                    });
                }
            })
        };
        Ok(ExpiryFront {
            addr,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The front's endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, requests signed with `access_key_id` get `ExpiredTokenException`.
    pub fn expire(&self, access_key_id: &str) {
        self.state
            .expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(access_key_id.to_string());
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests were signed with `access_key_id`.
    pub fn count(&self, access_key_id: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.access_key_id == access_key_id)
            .count()
    }
}

impl Drop for ExpiryFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl FrontState {
    fn serve(&self, mut client: TcpStream) -> Result<()> {
        client.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(client.try_clone()?);
        let mut head = Vec::new();
        let mut content_length = 0usize;
        let mut chunked = false;
        let mut access_key_id = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(()); // closed before a request (the drop's wake-up connection)
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.parse().context("bad content-length")?;
                } else if name.eq_ignore_ascii_case("authorization") {
                    access_key_id = value
                        .split_once("Credential=")
                        .and_then(|(_, rest)| rest.split('/').next())
                        .unwrap_or_default()
                        .to_string();
                }
                if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                    continue; // forwarded with a content-length instead
                }
                if name.eq_ignore_ascii_case("connection")
                    || name.eq_ignore_ascii_case("content-length")
                {
                    continue; // replaced below: one request per connection
                }
            }
            head.extend_from_slice(line.as_bytes());
        }
        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut body = vec![0; content_length];
            reader.read_exact(&mut body)?;
            body
        };

        let rejected = self
            .expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&access_key_id);
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                access_key_id,
                rejected,
            });
        if rejected {
            write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 x-amzn-RequestId: expiry-front\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                EXPIRED_TOKEN_BODY.len(),
                EXPIRED_TOKEN_BODY
            )?;
        } else {
            let mut upstream = TcpStream::connect_timeout(&self.upstream, Duration::from_secs(5))
                .context("connecting to moto")?;
            upstream.set_read_timeout(Some(Duration::from_secs(30)))?;
            head.extend_from_slice(
                format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            upstream.write_all(&head)?;
            upstream.write_all(&body)?;
            let mut response = Vec::new();
            upstream.read_to_end(&mut response)?;
            client.write_all(&response)?;
        }
        client.flush()?;
        let _ = client.shutdown(Shutdown::Both);
        Ok(())
    }
}

/// A `Transfer-Encoding: chunked` body (the guest's `wasi:http` requests have no length).
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16).context("bad chunk size")?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size + 2, 0);
        reader.read_exact(&mut body[start..])?;
        body.truncate(start + size); // the chunk's CRLF
    }
}
