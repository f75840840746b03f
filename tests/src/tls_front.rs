//! HTTPS and proxies on loopback: a private certificate authority made by the test, a TLS
//! front that terminates TLS and forwards the bytes to a plain-HTTP backend (moto), and an
//! HTTP CONNECT proxy that records where it was asked to go.
//!
//! All of them listen on 127.0.0.1 on a free port, count what they see, and stop when dropped.
//! The proxy only ever connects to loopback addresses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

/// A certificate authority that exists only for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A server certificate chain and its private key.
#[derive(Debug)]
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// A new self-signed CA named `name` (P-256 key).
    ///
    /// # Panics
    /// When rcgen cannot generate a key or certificate (never with these parameters).
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("P-256 key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("self-signed CA");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate in PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the CA certificate to `path` as a one-certificate bundle.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, &self.pem).expect("CA bundle written");
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now.
    pub fn issue(&self, names: &[&str]) -> ServerIdentity {
        self.issue_with(names, |_| {})
    }

    /// A server certificate for `names` that expired in 2021.
    pub fn issue_expired(&self, names: &[&str]) -> ServerIdentity {
        self.issue_with(names, |p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
    }

    fn issue_with(
        &self,
        names: &[&str],
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> ServerIdentity {
        let key = KeyPair::generate().expect("P-256 key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("valid names");
        params
            .distinguished_name
            .push(DnType::CommonName, "kms-seal test server");
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        ServerIdentity {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// A TLS server on 127.0.0.1 that forwards each connection's plaintext to `backend`.
#[derive(Debug)]
pub struct TlsFront {
    port: u16,
    connections: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Starts the front with `identity`'s certificate.
    ///
    /// # Panics
    /// When no loopback port can be bound or rustls refuses the certificate.
    pub fn start(backend: SocketAddr, identity: ServerIdentity) -> TlsFront {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(identity.chain, PrivateKeyDer::Pkcs8(identity.key))
            .expect("server certificate accepted");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (connections, handshakes, stop) =
                (connections.clone(), handshakes.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (config, handshakes) = (config.clone(), handshakes.clone());
                    std::thread::spawn(move || {
                        let _ = serve_tls(stream, config, backend, &handshakes);
                    });
                }
            })
        };
        TlsFront {
            port,
            connections,
            handshakes,
            stop,
            accept: Some(accept),
        }
    }

    /// `https://localhost:<port>`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve_tls(
    mut socket: TcpStream,
    config: Arc<ServerConfig>,
    backend: SocketAddr,
    handshakes: &AtomicUsize,
) -> std::io::Result<()> {
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Records go out as soon as they are made: no Nagle delay in the measured path.
    socket.set_nodelay(true)?;
    let mut conn = ServerConnection::new(config).map_err(std::io::Error::other)?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut socket) {
            // Send our alert, if any, before closing.
            let _ = conn.write_tls(&mut socket);
            return Err(e);
        }
    }
    handshakes.fetch_add(1, Ordering::SeqCst);
    let mut upstream = TcpStream::connect(backend)?;
    upstream.set_nodelay(true)?;
    // The client's first request may have arrived with its last handshake flight.
    let mut plain = vec![0; 16 * 1024];
    let early = drain_plaintext(&mut conn, &mut plain);
    while conn.wants_write() {
        conn.write_tls(&mut socket)?;
    }
    if !early.is_empty() {
        upstream.write_all(&early)?;
    }
    let conn = Arc::new(Mutex::new(conn));

    // Backend to client: plaintext into the TLS connection, records out on the socket.
    let back = {
        let (conn, mut upstream, mut socket) =
            (conn.clone(), upstream.try_clone()?, socket.try_clone()?);
        std::thread::spawn(move || {
            let mut buf = vec![0; 16 * 1024];
            loop {
                let n = upstream.read(&mut buf).unwrap_or(0);
                let mut conn = conn.lock().expect("not poisoned");
                if n == 0 {
                    conn.send_close_notify();
                } else if conn.writer().write_all(&buf[..n]).is_err() {
                    break;
                }
                while conn.wants_write() {
                    if conn.write_tls(&mut socket).is_err() {
                        return;
                    }
                }
                if n == 0 {
                    let _ = socket.shutdown(Shutdown::Write);
                    return;
                }
            }
        })
    };

    // Client to backend: records in from the socket, plaintext out to the backend.
    let mut buf = vec![0; 16 * 1024];
    'outer: loop {
        let n = socket.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        let mut records = &buf[..n];
        let mut out = Vec::new();
        {
            let mut conn = conn.lock().expect("not poisoned");
            while !records.is_empty() {
                if conn.read_tls(&mut records).is_err() || conn.process_new_packets().is_err() {
                    break 'outer;
                }
                out.extend_from_slice(&drain_plaintext(&mut conn, &mut plain));
            }
            while conn.wants_write() {
                if conn.write_tls(&mut socket).is_err() {
                    break 'outer;
                }
            }
        }
        if !out.is_empty() && upstream.write_all(&out).is_err() {
            break;
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = back.join();
    Ok(())
}

/// Every byte of plaintext the connection has decrypted so far.
fn drain_plaintext(conn: &mut ServerConnection, buf: &mut [u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        match conn.reader().read(buf) {
            Ok(0) | Err(_) => return out,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
}

/// What a [`ConnectProxy`] was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRequest {
    /// `CONNECT`, or the method of a plain (forward) request.
    pub method: String,
    /// `host:port` of a CONNECT, or the absolute URL of a forward request.
    pub target: String,
    /// The `Proxy-Authorization` header, if sent.
    pub authorization: Option<String>,
}

/// An HTTP proxy on 127.0.0.1 that tunnels `CONNECT` requests to loopback targets and
/// refuses everything else (502). It records every request. Started with
/// [`start_requiring`](Self::start_requiring), it answers 407 to a CONNECT without the right
/// `Proxy-Authorization`.
#[derive(Debug)]
pub struct ConnectProxy {
    port: u16,
    requests: Arc<Mutex<Vec<ProxyRequest>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    /// Starts the proxy.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start() -> ConnectProxy {
        ConnectProxy::start_with(None)
    }

    /// Starts a proxy that tunnels only CONNECT requests whose `Proxy-Authorization` is
    /// exactly `authorization` (`Basic ...`) and answers the others 407.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start_requiring(authorization: &str) -> ConnectProxy {
        ConnectProxy::start_with(Some(authorization.to_owned()))
    }

    fn start_with(required: Option<String>) -> ConnectProxy {
        let required = Arc::new(required);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (requests, required) = (requests.clone(), required.clone());
                    std::thread::spawn(move || {
                        let _ = serve_proxy(stream, &requests, required.as_deref());
                    });
                }
            })
        };
        ConnectProxy {
            port,
            requests,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.requests.lock().expect("not poisoned").clear();
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve_proxy(
    client: TcpStream,
    requests: &Mutex<Vec<ProxyRequest>>,
    required: Option<&str>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("proxy-authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let authorized = required.is_none_or(|r| authorization.as_deref() == Some(r));
    requests.lock().expect("not poisoned").push(ProxyRequest {
        method: method.clone(),
        target: target.clone(),
        authorization,
    });
    let mut client_out = client.try_clone()?;
    if !authorized {
        client_out.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              proxy-authenticate: Basic realm=\"kms-seal test\"\r\n\
              content-length: 0\r\nconnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let loopback_target = target
        .rsplit_once(':')
        .is_some_and(|(host, _)| matches!(host, "127.0.0.1" | "localhost" | "[::1]"));
    if method != "CONNECT" || !loopback_target {
        client_out.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let upstream = match TcpStream::connect(&target) {
        Ok(s) => s,
        Err(_) => {
            client_out.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
            return Ok(());
        }
    };
    client_out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    // Bytes the reader already buffered belong to the tunnel.
    let buffered = reader.buffer().to_vec();
    let mut up_write = upstream.try_clone()?;
    up_write.write_all(&buffered)?;
    let mut up_read = upstream;
    let down = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    let mut client_in = reader.into_inner();
    let _ = std::io::copy(&mut client_in, &mut up_write);
    let _ = up_write.shutdown(Shutdown::Write);
    let _ = down.join();
    Ok(())
}
