//! The ureq transport against small loopback servers: plain-HTTP refusal, body cap, timeouts,
//! error kinds, no redirects, proxies.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use kms_seal_core::http::{Request, Scheme, Transport, TransportErrorKind};
use kms_seal_tests::moto::{Reply, StubServer};
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};

fn direct(configure: impl FnOnce(&mut TransportConfig)) -> UreqTransport {
    let mut config = TransportConfig::default();
    config.proxy = ProxyMode::Disabled;
    configure(&mut config);
    UreqTransport::with_config(config).unwrap()
}

fn request(method: &'static str, scheme: Scheme, authority: &str, body: &[u8]) -> Request {
    Request {
        method,
        scheme,
        authority: authority.to_owned(),
        path_and_query: "/some/path?x=1".to_owned(),
        headers: vec![
            ("host".to_owned(), authority.to_owned()),
            ("x-amz-target".to_owned(), "TrentService.Encrypt".to_owned()),
        ],
        body: body.to_vec(),
    }
}

#[test]
fn round_trip_keeps_method_path_headers_and_body() {
    let server = StubServer::start(|r| Reply::Respond {
        status: 200,
        headers: vec![("x-amzn-requestid".into(), "abc".into())],
        body: format!("{} {}", r.method, r.path).into_bytes(),
    });
    let t = direct(|_| {});
    let response = t
        .send(&request(
            "POST",
            Scheme::Http,
            &server.authority(),
            b"{\"a\":1}",
        ))
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"POST /some/path?x=1");
    assert_eq!(response.header("X-Amzn-RequestId"), Some("abc"));
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, b"{\"a\":1}");
    assert_eq!(seen[0].header("x-amz-target"), Some("TrentService.Encrypt"));
    let hosts: Vec<_> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "host")
        .collect();
    assert_eq!(hosts.len(), 1, "exactly one host header");
    assert_eq!(hosts[0].1, server.authority());
    assert_eq!(seen[0].header("content-length"), Some("7"));
}

#[test]
fn get_without_body() {
    let server = StubServer::start(|_| Reply::status(200, "ok"));
    let response = direct(|_| {})
        .send(&request("GET", Scheme::Http, &server.authority(), b""))
        .unwrap();
    assert_eq!(response.body, b"ok");
    assert!(server.requests()[0].body.is_empty());
    let e = direct(|_| {})
        .send(&request("GET", Scheme::Http, &server.authority(), b"x"))
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Refused);
}

#[test]
fn error_statuses_are_responses_not_errors() {
    let server = StubServer::start(|_| {
        Reply::status(400, r#"{"__type":"NotFoundException","message":"no"}"#)
    });
    let response = direct(|_| {})
        .send(&request("POST", Scheme::Http, &server.authority(), b"{}"))
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(response.body.starts_with(b"{\"__type\""));
}

#[test]
fn redirects_are_not_followed() {
    let server = StubServer::start(|_| Reply::Respond {
        status: 307,
        headers: vec![("location".into(), "http://127.0.0.1:9/elsewhere".into())],
        body: Vec::new(),
    });
    let response = direct(|_| {})
        .send(&request("POST", Scheme::Http, &server.authority(), b"{}"))
        .unwrap();
    assert_eq!(response.status, 307);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_connecting() {
    // 0.0.0.0 is not a loopback address, but on Linux a connection to it would land on this
    // host: if the refusal failed, the stub would see the request.
    let server = StubServer::start(|_| Reply::status(200, "reached"));
    let port = server.authority().rsplit_once(':').unwrap().1.to_owned();
    for authority in [format!("0.0.0.0:{port}"), format!("[::]:{port}")] {
        let started = Instant::now();
        let e = direct(|_| {})
            .send(&request("POST", Scheme::Http, &authority, b"{}"))
            .unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Refused, "{e}");
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(started.elapsed() < Duration::from_millis(100));
    }
    assert!(server.requests().is_empty());
}

#[test]
fn plain_http_to_loopback_names_is_allowed() {
    let server = StubServer::start(|_| Reply::status(200, "ok"));
    let port = server.authority().rsplit_once(':').unwrap().1.to_owned();
    let t = direct(|_| {});
    for authority in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let r = t.send(&request("POST", Scheme::Http, &authority, b"{}"));
        // localhost may resolve to ::1 first where nothing listens; what matters is that the
        // request was not refused by policy.
        if let Err(e) = &r {
            assert_ne!(e.kind, TransportErrorKind::Refused, "{e}");
        }
    }
    assert!(!server.requests().is_empty());
}

#[test]
fn bodies_are_capped_at_one_mebibyte() {
    const MIB: usize = 1024 * 1024;
    let server = StubServer::start(|r| {
        let n = if r.path.contains("over") {
            MIB + 1
        } else {
            MIB
        };
        Reply::status(200, vec![b'a'; n])
    });
    let t = direct(|_| {});
    let mut ok = request("POST", Scheme::Http, &server.authority(), b"{}");
    ok.path_and_query = "/exact".into();
    assert_eq!(t.send(&ok).unwrap().body.len(), MIB);
    let mut over = ok.clone();
    over.path_and_query = "/over".into();
    let e = t.send(&over).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::BodyTooLarge, "{e}");

    let small = direct(|c| c.max_response_bytes = 1000);
    let e = small.send(&ok).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::BodyTooLarge);
}

#[test]
fn an_unanswered_call_times_out_at_the_deadline() {
    let server = StubServer::black_hole();
    let t = direct(|c| c.call_timeout = Duration::from_millis(300));
    let started = Instant::now();
    let e = t
        .send(&request("POST", Scheme::Http, &server.authority(), b"{}"))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(e.kind, TransportErrorKind::Timeout, "{e}");
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");

    // A per-call override shortens it further.
    let started = Instant::now();
    let e = t
        .send_with_timeout(
            &request("POST", Scheme::Http, &server.authority(), b"{}"),
            Duration::from_millis(100),
        )
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(280));
}

#[test]
fn default_deadlines() {
    let c = TransportConfig::default();
    assert_eq!(c.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.call_timeout, Duration::from_secs(10));
    assert_eq!(c.max_response_bytes, 1024 * 1024);
    assert_eq!(c.proxy, ProxyMode::FromEnvironment);
    let m = TransportConfig::instance_metadata();
    assert_eq!(m.proxy, ProxyMode::Disabled);
    assert_eq!(m.connect_timeout, Duration::from_secs(1));
}

#[test]
fn refused_and_reset_connections_are_told_apart() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = direct(|_| {})
        .send(&request(
            "POST",
            Scheme::Http,
            &format!("127.0.0.1:{port}"),
            b"{}",
        ))
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::ConnectionRefused, "{e}");
    assert!(e.kind.is_retryable());

    let server = StubServer::start(|_| Reply::Close);
    let e = direct(|_| {})
        .send(&request("POST", Scheme::Http, &server.authority(), b"{}"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind,
            TransportErrorKind::ConnectionReset | TransportErrorKind::Protocol
        ),
        "{e}"
    );
    assert!(e.kind.is_retryable());
}

#[test]
fn tls_to_a_plain_server_is_a_tls_error() {
    // A server that answers plain HTTP the moment a client connects: the TLS client reads
    // bytes that are not a TLS record.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        std::thread::sleep(Duration::from_millis(200));
    });
    let e = direct(|_| {})
        .send(&request("POST", Scheme::Https, &authority, b"{}"))
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Tls, "{e:?}");
    assert!(!e.kind.is_retryable());
    server.join().unwrap();
}

#[test]
fn an_explicit_proxy_is_used_and_disabled_means_direct() {
    let proxy = StubServer::start(|_| Reply::status(502, "proxy says no"));
    let target = StubServer::start(|_| Reply::status(200, "direct"));
    let via_proxy = direct(|c| c.proxy = ProxyMode::Url(proxy.url()));
    let _ = via_proxy.send(&request("POST", Scheme::Http, &target.authority(), b"{}"));
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "the proxy got the request");
    assert!(
        seen[0].method == "CONNECT" || seen[0].path.starts_with("http://"),
        "{:?}",
        seen[0]
    );
    assert!(target.requests().is_empty());

    let direct_response = direct(|_| {})
        .send(&request("POST", Scheme::Http, &target.authority(), b"{}"))
        .unwrap();
    assert_eq!(direct_response.body, b"direct");

    let mut bad = TransportConfig::default();
    bad.proxy = ProxyMode::Url("::not a url::".into());
    assert!(UreqTransport::with_config(bad).is_err());
}

#[test]
fn error_messages_name_the_destination_not_the_body() {
    let server = StubServer::start(|_| Reply::Close);
    let e = direct(|_| {})
        .send(&request(
            "POST",
            Scheme::Http,
            &server.authority(),
            b"{\"Plaintext\":\"c2VjcmV0\"}",
        ))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&server.authority()), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
}

/// A keep-alive HTTP/1.1 server on loopback that answers every request with `200 ok` and,
/// when `close_after_reply` is set, closes the connection a little after each reply (as a
/// server whose idle timeout expired does). Returns its authority and the connection count.
fn keep_alive_server(
    close_after_reply: bool,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .unwrap();
                    if close_after_reply {
                        std::thread::sleep(Duration::from_millis(20));
                        return;
                    }
                }
            });
        }
    });
    (authority, connections)
}

#[test]
fn a_kept_alive_connection_is_reused() {
    let (authority, connections) = keep_alive_server(false);
    let t = direct(|_| {});
    for _ in 0..5 {
        let r = t
            .send(&request("POST", Scheme::Http, &authority, b"{}"))
            .unwrap();
        assert_eq!(r.body, b"ok");
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_pooled_connection_the_server_closed_is_not_reused() {
    let (authority, connections) = keep_alive_server(true);
    let t = direct(|_| {});
    for i in 1..=3 {
        let r = t
            .send(&request("POST", Scheme::Http, &authority, b"{}"))
            .unwrap_or_else(|e| panic!("call {i} on a fresh connection: {e}"));
        assert_eq!(r.body, b"ok");
        // Let the server's close arrive before the next call takes the pooled connection.
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}
