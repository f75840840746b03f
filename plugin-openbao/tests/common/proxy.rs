//! A loopback TCP proxy that can be switched off: while off it does not listen (connections
//! are refused) and the connections it was carrying are cut; switched on again it listens on
//! the same port. Put in front of moto, it makes KMS unreachable without losing moto's keys.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running proxy from `127.0.0.1:<port>` to one target. Stopped on drop.
pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    target: SocketAddr,
    enabled: AtomicBool,
    listening: AtomicBool,
    stop: AtomicBool,
    accepted: AtomicUsize,
    streams: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
        let port = listener
            .local_addr()
            .expect("a bound socket has an address")
            .port();
        listener
            .set_nonblocking(true)
            .expect("a listener can be made non-blocking");
        let shared = Arc::new(Shared {
            target,
            enabled: AtomicBool::new(true),
            listening: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            streams: Mutex::new(Vec::new()),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(port, Some(listener), &shared))
        };
        TcpProxy {
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Switches the proxy on (listening again on the same port) or off (not listening, every
    /// carried connection cut). Returns once the listening socket is in the new state.
    ///
    /// # Panics
    /// When the accept loop does not follow within 5 s (the port was taken meanwhile).
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.shared.listening.load(Ordering::SeqCst) != enabled {
            assert!(
                Instant::now() < deadline,
                "the proxy on port {} did not switch {} within 5 s",
                self.port,
                if enabled { "on" } else { "off" }
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        if !enabled {
            cut(&self.shared);
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        cut(&self.shared);
    }
}

fn accept_loop(port: u16, mut listener: Option<TcpListener>, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        if !shared.enabled.load(Ordering::SeqCst) {
            listener = None;
            shared.listening.store(false, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let Some(l) = &listener else {
            // std sets SO_REUSEADDR, so the port can be bound again at once.
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port))
                && l.set_nonblocking(true).is_ok()
            {
                listener = Some(l);
                shared.listening.store(true, Ordering::SeqCst);
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        match l.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                forward(client, shared);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn forward(client: TcpStream, shared: &Shared) {
    let Ok(upstream) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(2)) else {
        return;
    };
    let (Ok(()), Ok(c2), Ok(u2), Ok(c3), Ok(u3)) = (
        client.set_nonblocking(false),
        client.try_clone(),
        upstream.try_clone(),
        client.try_clone(),
        upstream.try_clone(),
    ) else {
        return;
    };
    if let Ok(mut streams) = shared.streams.lock() {
        streams.push(c3);
        streams.push(u3);
    }
    std::thread::spawn(move || pipe(client, upstream));
    std::thread::spawn(move || pipe(u2, c2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

fn cut(shared: &Shared) {
    if let Ok(mut streams) = shared.streams.lock() {
        for s in streams.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
