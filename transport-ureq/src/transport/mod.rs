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

mod agent;
mod config;
mod destination;
mod error;
mod proxy;
mod request;
mod resolver;
mod response;
mod trust;

use std::time::{Duration, Instant};

use kms_seal_core::http::{
    Request, Response, Scheme, Transport, TransportError, TransportErrorKind,
};
use ureq::http;

pub use config::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, PlainHttp,
    ProxyMode, TransportConfig,
};
pub use destination::{HttpUrl, UrlError, authority_host, is_loopback_authority, parse_host_ip};
pub use proxy::ProxyRules;
pub use trust::{CaBundle, CaBundleError, TlsTrust};

use agent::build_agent;
use destination::check_destination;
use error::MappedError;
use proxy::ProxySetting;
use request::{method_has_body, origin, to_http_request};

/// The core's [`Transport`] over one reused ureq agent. Cheap to share by reference between
/// threads; connections are pooled inside.
#[derive(Debug)]
pub struct UreqTransport {
    routes: Routes,
    config: TransportConfig,
}

/// One agent per way out: direct, through the `https://` proxy, through the `http://` proxy.
/// Each agent keeps its own connections and its own TLS configuration, built once.
#[derive(Debug)]
struct Routes {
    direct: ureq::Agent,
    https: Option<ureq::Agent>,
    http: Option<ureq::Agent>,
    rules: ProxyRules,
}

impl Routes {
    fn new(config: &TransportConfig, rules: ProxyRules) -> Result<Self, TransportError> {
        let via = |setting: Option<&ProxySetting>| -> Result<Option<ureq::Agent>, TransportError> {
            let Some(setting) = setting else {
                return Ok(None);
            };
            let proxy = ureq::Proxy::new(&setting.url).map_err(|_| {
                TransportError::new(
                    TransportErrorKind::Other,
                    format!("invalid proxy url {setting}; use http://host:port"),
                )
            })?;
            log::debug!("proxy {setting}");
            Ok(Some(build_agent(config, Some(proxy))))
        };
        let https = via(rules.https())?;
        let http = if rules.http() == rules.https() {
            https.clone()
        } else {
            via(rules.http())?
        };
        Ok(Routes {
            direct: build_agent(config, None),
            https,
            http,
            rules,
        })
    }

    /// The agent for a request, and the proxy it goes through, if any.
    fn route(&self, scheme: Scheme, authority: &str) -> (&ureq::Agent, Option<&ProxySetting>) {
        let proxied = match scheme {
            Scheme::Https => self.https.as_ref().zip(self.rules.https()),
            Scheme::Http => self.http.as_ref().zip(self.rules.http()),
        };
        match proxied {
            Some((agent, setting)) if !self.rules.bypasses(scheme, authority) => {
                (agent, Some(setting))
            }
            _ => (&self.direct, None),
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new()
    }
}

impl UreqTransport {
    /// A transport with [`TransportConfig::default`]. A proxy variable in the environment that
    /// does not parse is ignored (logged at warn level).
    pub fn new() -> Self {
        let config = TransportConfig::default();
        let routes = Routes::new(&config, ProxyRules::from_process_env()).unwrap_or_else(|e| {
            log::warn!("{e}; connecting directly");
            Routes::new(&config, ProxyRules::default()).expect("no proxy to parse")
        });
        UreqTransport { routes, config }
    }

    /// A transport with these settings.
    ///
    /// # Errors
    /// [`TransportErrorKind::Other`] when a proxy URL (configured or from the environment)
    /// does not parse; the message names the variable, never the URL's credentials.
    pub fn with_config(config: TransportConfig) -> Result<Self, TransportError> {
        let rules = match &config.proxy {
            ProxyMode::FromEnvironment => ProxyRules::from_process_env(),
            ProxyMode::Rules(rules) => rules.clone(),
            ProxyMode::Disabled => ProxyRules::default(),
            ProxyMode::Url(url) => ProxyRules::always(url),
        };
        let routes = Routes::new(&config, rules)?;
        Ok(UreqTransport { routes, config })
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
        let (agent, proxy) = self.routes.route(request.scheme, &request.authority);
        let result = to_http_request(request, body)
            .and_then(|http_request| self.run(agent, http_request, connect, timeout))
            .map_err(|e| e.with_origin(request, &self.config.tls, proxy));
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
        agent: &ureq::Agent,
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
                agent
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
        let response = agent.run(http_request).map_err(map)?;
        response::read(response, self.config.max_response_bytes).map_err(map)
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        self.execute(request, self.config.call_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::agent::IO_BUFFER_BYTES;
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
