//! [`UreqTransport`]: the core's [`Transport`] over one reused [`ureq::Agent`].
//!
//! One agent per transport keeps connections alive between calls (the seal makes many small
//! requests to one host). The agent is configured for what a KMS client needs and nothing
//! more: rustls, a connect timeout and a per-call deadline, no redirects, non-2xx statuses as
//! ordinary responses, response bodies capped, and no retries (the core's seal retries, so that
//! every transport behaves the same).
//!
//! Plain `http://` is refused unless the host is loopback (`127.0.0.0/8`, `::1`, `localhost`):
//! credentials must not cross a network in clear text. The instance-metadata and container
//! credential clients build their own transport with [`TransportConfig::instance_metadata`],
//! which allows plain HTTP to the addresses they have already checked and never uses a proxy.

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use kms_seal_core::http::{
    Request, Response, Scheme, Transport, TransportError, TransportErrorKind,
};
use ureq::http;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, Transport as UreqTransportIo,
};

/// Default time allowed to open a TCP connection and finish the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default deadline for one whole call: connect, send, and read the whole response.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body (KMS answers are a few kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// How a transport chooses an HTTP(S) proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyMode {
    /// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (either case), honouring `NO_PROXY`, read from
    /// the process environment when the transport is built. The default for KMS and STS.
    FromEnvironment,
    /// Always connect directly. Used for instance metadata and container credentials.
    Disabled,
    /// This proxy URL (`http://host:port`, `socks5://host:port` is not supported).
    Url(String),
}

/// Whether plain `http://` requests may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainHttp {
    /// Only to loopback hosts (`127.0.0.0/8`, `::1`, `localhost`). The default.
    LoopbackOnly,
    /// To any host. Only for clients that checked the address themselves (instance metadata,
    /// container credentials).
    Allowed,
}

/// Settings of a [`UreqTransport`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Time allowed to connect (TCP and TLS).
    pub connect_timeout: Duration,
    /// Deadline for a whole call, response body included.
    pub call_timeout: Duration,
    /// Largest response body accepted; a larger one fails with
    /// [`TransportErrorKind::BodyTooLarge`].
    pub max_response_bytes: u64,
    /// Proxy selection.
    pub proxy: ProxyMode,
    /// Plain-HTTP policy.
    pub plain_http: PlainHttp,
}

impl Default for TransportConfig {
    /// 2 s connect, 10 s per call, 1 MiB bodies, proxy from the environment, plain HTTP only
    /// to loopback.
    fn default() -> Self {
        TransportConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxy: ProxyMode::FromEnvironment,
            plain_http: PlainHttp::LoopbackOnly,
        }
    }
}

impl TransportConfig {
    /// Settings for link-local credential endpoints (instance metadata, containers): 1 s
    /// connect and call deadlines, 64 KiB bodies, never a proxy, plain HTTP allowed (the
    /// caller checks the address).
    pub fn instance_metadata() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(1),
            max_response_bytes: 64 * 1024,
            proxy: ProxyMode::Disabled,
            plain_http: PlainHttp::Allowed,
        }
    }
}

/// The core's [`Transport`] over one reused ureq agent. Cheap to share by reference between
/// threads; connections are pooled inside.
#[derive(Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
    config: TransportConfig,
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new()
    }
}

impl UreqTransport {
    /// A transport with [`TransportConfig::default`]. A proxy variable in the environment that
    /// does not parse is ignored (logged at warn level), as curl does.
    pub fn new() -> Self {
        let config = TransportConfig::default();
        let agent = build_agent(&config, proxy_from_env());
        UreqTransport { agent, config }
    }

    /// A transport with these settings.
    ///
    /// # Errors
    /// [`TransportErrorKind::Other`] when [`ProxyMode::Url`] holds a URL that does not parse;
    /// fix the proxy URL.
    pub fn with_config(config: TransportConfig) -> Result<Self, TransportError> {
        let proxy = match &config.proxy {
            ProxyMode::FromEnvironment => proxy_from_env(),
            ProxyMode::Disabled => None,
            ProxyMode::Url(url) => Some(ureq::Proxy::new(url).map_err(|e| {
                TransportError::new(
                    TransportErrorKind::Other,
                    format!("invalid proxy url ({e}); use http://host:port"),
                )
            })?),
        };
        let agent = build_agent(&config, proxy);
        Ok(UreqTransport { agent, config })
    }

    /// The settings this transport was built with.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Sends `request` with a shorter deadline than the configured one (`timeout` is capped
    /// at [`TransportConfig::call_timeout`]; the connect timeout is capped at `timeout`).
    ///
    /// # Errors
    /// As [`Transport::send`].
    pub fn send_with_timeout(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let timeout = timeout.min(self.config.call_timeout);
        self.execute(request, timeout)
    }

    fn execute(&self, request: &Request, timeout: Duration) -> Result<Response, TransportError> {
        check_destination(request, self.config.plain_http)?;
        if timeout.is_zero() {
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!("no time left to call {}", origin(request)),
            ));
        }
        if method_has_body(request.method) {
            self.timed(request, request.body.as_slice(), timeout)
        } else if request.body.is_empty() {
            self.timed(request, (), timeout)
        } else {
            Err(TransportError::new(
                TransportErrorKind::Refused,
                format!("a {} request cannot carry a body", request.method),
            ))
        }
    }

    fn timed<B: ureq::AsSendBody>(
        &self,
        request: &Request,
        body: B,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let started = Instant::now();
        let connect = self.config.connect_timeout.min(timeout);
        let result = to_http_request(request, body)
            .and_then(|http_request| self.run(http_request, connect, timeout))
            .map_err(|e| e.with_origin(request));
        let elapsed = started.elapsed().as_millis();
        match &result {
            Ok(response) => log::debug!(
                "{} {} -> {} in {elapsed} ms",
                request.method,
                origin(request),
                response.status
            ),
            Err(e) => log::debug!("{} failed after {elapsed} ms: {e}", request.method),
        }
        result
    }

    fn run<B: ureq::AsSendBody>(
        &self,
        http_request: http::Request<B>,
        connect: Duration,
        timeout: Duration,
    ) -> Result<Response, MappedError> {
        // A request-level configuration copies the agent's whole configuration into the
        // request: only done when this call's deadline is not the agent's own.
        let http_request =
            if connect == self.config.connect_timeout && timeout == self.config.call_timeout {
                http_request
            } else {
                self.agent
                    .configure_request(http_request)
                    .timeout_connect(Some(connect))
                    .timeout_global(Some(timeout))
                    .build()
            };
        let scheme = if http_request.uri().scheme_str() == Some("https") {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let map = |e| MappedError::from_ureq(e, scheme);
        let mut response = self.agent.run(http_request).map_err(map)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Sized from Content-Length (within the cap) so the body is read without regrowing.
        let expected = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map_or(0, |n| n.min(self.config.max_response_bytes));
        let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(self.config.max_response_bytes)
            .reader();
        io::Read::read_to_end(&mut reader, &mut body).map_err(|e| map(ureq::Error::from(e)))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        self.execute(request, self.config.call_timeout)
    }
}

/// Whether the host of `authority` (`host`, `host:port`, `[v6]:port`) is a loopback address
/// or `localhost`.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = authority_host(authority);
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    parse_host_ip(host).is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    })
}

/// The host part of an authority: `[::1]:80` -> `::1`, `example.com:443` -> `example.com`.
pub fn authority_host(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Parses a host (without brackets or port) as an IP address.
pub fn parse_host_ip(host: &str) -> Option<IpAddr> {
    host.parse::<IpAddr>()
        .ok()
        .or_else(|| host.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
}

/// An absolute `http://` or `https://` URL split the way [`Request`] wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// Host and optional port, without user info.
    pub authority: String,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

/// A URL that [`HttpUrl::parse`] rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `http` or `https`.
    Scheme,
    /// The host is empty, or the authority holds user info or characters a host cannot have.
    Authority,
    /// The URL holds a fragment, whitespace or control characters.
    Characters,
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "url must start with https:// (or http:// for loopback)",
            UrlError::Authority => "url must name a host, without user info",
            UrlError::Characters => {
                "url must not contain spaces, control characters or a #fragment"
            }
        })
    }
}

impl std::error::Error for UrlError {}

impl HttpUrl {
    /// Parses `scheme://authority[/path][?query]`.
    ///
    /// # Errors
    /// [`UrlError`] saying which part is wrong.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        if url.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
            return Err(UrlError::Characters);
        }
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (Scheme::Http, rest)
        } else {
            return Err(UrlError::Scheme);
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let host = authority_host(authority);
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
            && (host.contains(':') == authority.starts_with('['));
        if !host_ok || authority.contains('@') {
            return Err(UrlError::Authority);
        }
        let path_and_query = if path.is_empty() {
            "/".to_owned()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(HttpUrl {
            scheme,
            authority: authority.to_ascii_lowercase(),
            path_and_query,
        })
    }

    /// `scheme://authority/path`.
    pub fn as_string(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path_and_query
        )
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn proxy_from_env() -> Option<ureq::Proxy> {
    let proxy = ureq::Proxy::try_from_env();
    if let Some(p) = &proxy {
        log::debug!("using proxy {}:{} from the environment", p.host(), p.port());
    }
    proxy
}

fn build_agent(config: &TransportConfig, proxy: Option<ureq::Proxy>) -> ureq::Agent {
    let agent_config = ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.call_timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .user_agent(concat!("kms-seal/", env!("CARGO_PKG_VERSION")))
        // ureq's default buffers are 128 KiB each way per connection layer (TCP, then TLS
        // again), zero-filled when a connection opens: about a tenth of a one-shot CLI run's
        // CPU time and 330 KiB of its peak RSS. KMS requests and response heads are a few
        // KiB; bodies stream through the buffers.
        .input_buffer_size(IO_BUFFER_BYTES)
        .output_buffer_size(IO_BUFFER_BYTES)
        .build();
    ureq::Agent::with_parts(
        agent_config,
        // ureq's default chain (CONNECT proxy, TCP, rustls) with kms-seal's TCP layer, which
        // makes four system calls per kept-alive request where ureq's makes ten.
        ().chain(ureq::unversioned::transport::ConnectProxyConnector::default())
            .chain(crate::tcp::LeanTcpConnector)
            .chain(ureq::unversioned::transport::RustlsConnector::default())
            .chain(CoalescingConnector),
        CachingResolver::default(),
    )
}

/// Wraps each connection (plain TCP or TLS) in a [`CoalescingTransport`].
#[derive(Debug)]
struct CoalescingConnector;

impl<In: UreqTransportIo> Connector<In> for CoalescingConnector {
    type Out = CoalescingTransport;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| CoalescingTransport {
            inner: Box::new(inner),
            pending: Vec::new(),
        }))
    }
}

/// Sends a request in one write.
///
/// ureq transmits the request head and then the body separately: two system calls, and the
/// server may wake up for the head alone and again for the body. This transport keeps what
/// ureq transmits until ureq first waits for the response (or a buffer's worth has gathered)
/// and then passes it on at once: over TLS that is also one record instead of two.
#[derive(Debug)]
struct CoalescingTransport {
    inner: Box<dyn UreqTransportIo>,
    pending: Vec<u8>,
}

impl CoalescingTransport {
    fn flush(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut sent = 0;
        while sent < self.pending.len() {
            let output = self.inner.buffers().output();
            let n = output.len().min(self.pending.len() - sent);
            output[..n].copy_from_slice(&self.pending[sent..sent + n]);
            self.inner.transmit_output(n, timeout)?;
            sent += n;
        }
        self.pending.clear();
        Ok(())
    }
}

impl UreqTransportIo for CoalescingTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = self.inner.buffers().output();
        self.pending
            .extend_from_slice(&output[..amount.min(output.len())]);
        if self.pending.len() >= output.len() {
            self.flush(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.flush(timeout)?;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.pending.is_empty() && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Size of each of a connection's input and output buffers. A response head must fit in the
/// input buffer and a request head in the output buffer.
const IO_BUFFER_BYTES: usize = 16 * 1024;

/// The address of an `http://` or `https://` URI whose host is an IP address.
fn ip_literal(uri: &http::Uri) -> Option<std::net::SocketAddr> {
    let default_port = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    Some(std::net::SocketAddr::new(
        ip,
        uri.port_u16().unwrap_or(default_port),
    ))
}

/// How long [`CachingResolver`] keeps a host name's addresses.
const RESOLVE_CACHE_TTL: Duration = Duration::from_secs(10);

/// Host names the resolver remembers at once (a transport talks to one or two hosts).
const RESOLVE_CACHE_ENTRIES: usize = 8;

/// ureq's resolver without a thread per call.
///
/// ureq resolves the host before every request, even when it then reuses a pooled connection,
/// and with a deadline set its default resolver spawns a thread for each lookup: that thread
/// was most of the client CPU of a KMS call over a kept-alive connection. IP literals
/// (emulators, VPC endpoint addresses) are parsed without a thread, and a name's addresses
/// are reused for [`RESOLVE_CACHE_TTL`]; they are only used to open new connections.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    cache: std::sync::Mutex<Vec<ResolvedName>>,
}

#[derive(Debug)]
struct ResolvedName {
    host_and_port: String,
    at: Instant,
    addrs: ureq::unversioned::resolver::ResolvedSocketAddrs,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use ureq::unversioned::resolver::DefaultResolver;
        if let Some(addr) = ip_literal(uri) {
            // No lookup happens, so no thread, no deadline and no allocation are needed.
            let mut addrs = self.empty();
            for wanted in config.ip_family().keep_wanted(std::iter::once(addr)) {
                addrs.push(wanted);
            }
            return if addrs.is_empty() {
                Err(ureq::Error::HostNotFound)
            } else {
                Ok(addrs)
            };
        }
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        let Some(key) = key else {
            // Let ureq report the malformed URI.
            return self.inner.resolve(uri, config, timeout);
        };
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.iter().find(|e| e.host_and_port == key)
            && now.duration_since(hit.at) < RESOLVE_CACHE_TTL
        {
            return Ok(hit.addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache
                .retain(|e| e.host_and_port != key && now.duration_since(e.at) < RESOLVE_CACHE_TTL);
            if cache.len() >= RESOLVE_CACHE_ENTRIES {
                cache.remove(0);
            }
            cache.push(ResolvedName {
                host_and_port: key,
                at: now,
                addrs: addrs.clone(),
            });
        }
        Ok(addrs)
    }
}

fn method_has_body(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS" | "TRACE")
}

fn origin(request: &Request) -> String {
    format!("{}://{}", request.scheme.as_str(), request.authority)
}

fn check_destination(request: &Request, policy: PlainHttp) -> Result<(), TransportError> {
    if request.authority.contains(['@', '/', '\\', ' ']) || request.authority.is_empty() {
        return Err(TransportError::new(
            TransportErrorKind::Refused,
            "the endpoint's host is malformed; give it as host or host:port",
        ));
    }
    if request.scheme == Scheme::Http
        && policy == PlainHttp::LoopbackOnly
        && !is_loopback_authority(&request.authority)
    {
        return Err(TransportError::new(
            TransportErrorKind::Refused,
            format!(
                "plain http to {} is refused; use an https:// endpoint (http is allowed only for \
                 127.0.0.1, ::1 and localhost)",
                request.authority
            ),
        ));
    }
    Ok(())
}

/// The `http` crate's form of `request`. Filled in place rather than through
/// `http::request::Builder`, which moves the whole request once per header.
fn to_http_request<B>(request: &Request, body: B) -> Result<http::Request<B>, MappedError> {
    // The http crate's messages name the offending part, never a header value.
    let refused = |e: &dyn std::fmt::Display| MappedError {
        kind: TransportErrorKind::Refused,
        detail: format!("request cannot be sent ({e})"),
    };
    let mut http_request = http::Request::new(body);
    *http_request.method_mut() =
        http::Method::from_bytes(request.method.as_bytes()).map_err(|e| refused(&e))?;
    *http_request.uri_mut() = http::Uri::try_from(request.url()).map_err(|e| refused(&e))?;
    let headers = http_request.headers_mut();
    headers.reserve(request.headers.len());
    for (name, value) in &request.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| refused(&e))?;
        let value = http::HeaderValue::from_str(value).map_err(|e| refused(&e))?;
        headers.append(name, value);
    }
    Ok(http_request)
}

/// A ureq error mapped to a kind, before the destination is added to the detail.
struct MappedError {
    kind: TransportErrorKind,
    detail: String,
}

impl MappedError {
    fn with_origin(self, request: &Request) -> TransportError {
        TransportError::new(self.kind, format!("{} ({})", origin(request), self.detail))
    }
}

impl MappedError {
    /// Maps a ureq error. Over https, rustls reports handshake and certificate failures as
    /// `InvalidData` I/O errors (HTTP-level garbage is a ureq protocol error instead).
    fn from_ureq(e: ureq::Error, scheme: Scheme) -> Self {
        use ureq::Error as E;
        let kind = match &e {
            E::Timeout(_) => TransportErrorKind::Timeout,
            E::HostNotFound => TransportErrorKind::Dns,
            E::Io(io) if io.kind() == io::ErrorKind::InvalidData && scheme == Scheme::Https => {
                TransportErrorKind::Tls
            }
            E::Io(io) => io_kind(io),
            E::ConnectionFailed | E::ConnectProxyFailed(_) => TransportErrorKind::ConnectionRefused,
            E::Protocol(_) | E::LargeResponseHeader(..) | E::BodyStalled => {
                TransportErrorKind::Protocol
            }
            E::TooManyRedirects | E::RedirectFailed => TransportErrorKind::Protocol,
            E::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
            E::Tls(_) | E::Pem(_) | E::Rustls(_) | E::TlsRequired => TransportErrorKind::Tls,
            E::BadUri(_) | E::Http(_) | E::RequireHttpsOnly(_) | E::InvalidProxyUrl => {
                TransportErrorKind::Refused
            }
            _ => TransportErrorKind::Other,
        };
        let detail = match &e {
            E::BodyExceedsLimit(limit) => format!("response body exceeds {limit} bytes"),
            E::Timeout(t) => format!("timeout: {t}"),
            other => other.to_string(),
        };
        MappedError { kind, detail }
    }
}

fn io_kind(e: &io::Error) -> TransportErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TransportErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => TransportErrorKind::ConnectionReset,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
        io::ErrorKind::InvalidData => TransportErrorKind::Protocol,
        io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::AddrNotAvailable => TransportErrorKind::ConnectionRefused,
        _ => TransportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(scheme: Scheme, authority: &str) -> Request {
        Request {
            method: "POST",
            scheme,
            authority: authority.to_owned(),
            path_and_query: "/".to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn loopback_hosts() {
        for a in [
            "127.0.0.1",
            "127.0.0.1:4566",
            "127.9.8.7:1",
            "[::1]:8080",
            "[::1]",
            "localhost:4566",
            "LOCALHOST",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback_authority(a), "{a}");
        }
        for a in [
            "169.254.169.254",
            "10.0.0.1:80",
            "[fd00:ec2::254]:80",
            "localhost.example.com",
            "128.0.0.1",
            "example.com:127",
        ] {
            assert!(!is_loopback_authority(a), "{a}");
        }
    }

    #[test]
    fn refuses_plain_http_elsewhere() {
        let e = check_destination(
            &request(Scheme::Http, "kms.us-east-1.amazonaws.com"),
            PlainHttp::LoopbackOnly,
        )
        .unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Refused);
        assert!(e.to_string().contains("https://"));
        assert!(
            check_destination(
                &request(Scheme::Http, "127.0.0.1:1"),
                PlainHttp::LoopbackOnly
            )
            .is_ok()
        );
        assert!(
            check_destination(
                &request(Scheme::Http, "169.254.169.254"),
                PlainHttp::Allowed
            )
            .is_ok()
        );
        assert!(
            check_destination(
                &request(Scheme::Https, "kms.us-east-1.amazonaws.com"),
                PlainHttp::LoopbackOnly
            )
            .is_ok()
        );
        let e = check_destination(
            &request(Scheme::Http, "evil.example@127.0.0.1"),
            PlainHttp::LoopbackOnly,
        )
        .unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Refused);
    }

    #[test]
    fn parses_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.path_and_query, "/");
        let u = HttpUrl::parse("HTTPS://Sts.Example.com/a/b?x=1").unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(u.authority, "sts.example.com");
        assert_eq!(u.path_and_query, "/a/b?x=1");
        assert_eq!(u.as_string(), "https://sts.example.com/a/b?x=1");
        let u = HttpUrl::parse("http://[fd00:ec2::254]/").unwrap();
        assert_eq!(authority_host(&u.authority), "fd00:ec2::254");
        assert_eq!(HttpUrl::parse("ftp://x"), Err(UrlError::Scheme));
        assert_eq!(HttpUrl::parse("http://"), Err(UrlError::Authority));
        assert_eq!(HttpUrl::parse("http://u:p@host/"), Err(UrlError::Authority));
        assert_eq!(HttpUrl::parse("http://a b/"), Err(UrlError::Characters));
        assert_eq!(HttpUrl::parse("http://fd00::1/"), Err(UrlError::Authority));
    }

    #[test]
    fn zero_timeout_is_a_timeout_not_a_hang() {
        let t = UreqTransport::with_config(TransportConfig {
            proxy: ProxyMode::Disabled,
            ..TransportConfig::default()
        })
        .unwrap();
        let e = t
            .send_with_timeout(&request(Scheme::Http, "127.0.0.1:9"), Duration::ZERO)
            .unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Timeout);
    }

    #[test]
    fn resolver_parses_ip_literals_and_caches_names() {
        use ureq::unversioned::resolver::Resolver as _;
        use ureq::unversioned::transport::NextTimeout;
        use ureq::unversioned::transport::time::Duration as UreqDuration;

        let resolver = CachingResolver::default();
        let config = ureq::config::Config::default();
        let timeout = NextTimeout {
            after: UreqDuration::from_secs(2),
            ..NextTimeout::default()
        };
        let literal: http::Uri = "http://127.0.0.1:4566/".parse().unwrap();
        let addrs = resolver.resolve(&literal, &config, timeout).unwrap();
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0], "127.0.0.1:4566".parse().unwrap());
        let v6: http::Uri = "https://[::1]/".parse().unwrap();
        let addrs = resolver.resolve(&v6, &config, timeout).unwrap();
        assert_eq!(addrs[0], "[::1]:443".parse().unwrap());
        assert!(
            resolver.cache.lock().unwrap().is_empty(),
            "literals are not cached"
        );
        let v4_only = ureq::config::Config::builder()
            .ip_family(ureq::config::IpFamily::Ipv4Only)
            .build();
        assert!(matches!(
            resolver.resolve(&v6, &v4_only, timeout),
            Err(ureq::Error::HostNotFound)
        ));

        let name: http::Uri = "http://localhost:4566/".parse().unwrap();
        let first = resolver.resolve(&name, &config, timeout).unwrap();
        let at = resolver.cache.lock().unwrap()[0].at;
        let second = resolver.resolve(&name, &config, timeout).unwrap();
        assert_eq!(first, second);
        let cache = resolver.cache.lock().unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache[0].host_and_port, "localhost:4566");
        assert_eq!(cache[0].at, at, "the second lookup came from the cache");
    }

    /// A request larger than the connection's output buffer goes out whole and in order, and
    /// the connection is reused for the next one.
    #[test]
    fn large_bodies_are_sent_whole_over_a_reused_connection() {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::TcpListener;

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut bodies = Vec::new();
            for _ in 0..2 {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("content-length: ") {
                        length = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                bodies.push(body);
                writer
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .unwrap();
            }
            bodies
        });
        let transport = UreqTransport::new();
        let mut sent = Vec::new();
        for len in [5 * IO_BUFFER_BYTES + 123, 10] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut r = request(Scheme::Http, &addr.to_string());
            r.headers
                .push(("content-type".into(), "application/octet-stream".into()));
            r.body = body.clone();
            let response = transport.send(&r).unwrap();
            assert_eq!(
                (response.status, response.body.as_slice()),
                (200, &b"ok"[..])
            );
            sent.push(body);
        }
        assert_eq!(server.join().unwrap(), sent);
    }
}
