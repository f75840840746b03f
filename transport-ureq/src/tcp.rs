//! The TCP layer under ureq's connector chain, with fewer system calls per request than
//! ureq's own `TcpConnector`.
//!
//! Measured with `strace -c` on the `native_encrypt` benchmark, ureq's TCP transport made ten
//! system calls per KMS call over a kept-alive connection where two do the work: it checks
//! that a pooled connection is still open twice per call (when the connection goes back to
//! the pool and when it is taken out), each time by switching the socket to non-blocking,
//! reading and switching back (three calls), and it sets the socket's read and write timeouts
//! on every call because the time left before the call's deadline is a little different each
//! time. Here:
//!
//! - the open check is one non-blocking `MSG_PEEK` receive (`rustix`, no `unsafe`);
//! - a socket timeout already set is kept when it is at most [`TIMEOUT_SLACK`] longer than
//!   the time left (a read or write can overrun the call's deadline by that much, never end
//!   early), so a connection reused within the deadline's precision sets its timeouts once.
//!
//! Everything else is as ureq does it: the resolved addresses are tried in order within the
//! connect timeout, `TCP_NODELAY` follows the agent's configuration, the socket is registered
//! for `Agent::shutdown`, and a connection made by an earlier connector (a CONNECT proxy
//! tunnel) is passed through untouched.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, ShutdownHandle,
    Transport,
};

/// How much longer than the time left a socket timeout already set may be and still be kept.
pub const TIMEOUT_SLACK: Duration = Duration::from_millis(25);

/// Shortest connect attempt given to one address when several share the connect timeout.
const MIN_ATTEMPT: Duration = Duration::from_millis(10);

/// Opens plain TCP connections (TLS and proxies are layered by the other connectors).
#[derive(Debug, Default)]
pub struct LeanTcpConnector;

impl<In: Transport> Connector<In> for LeanTcpConnector {
    type Out = Either<In, LeanTcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(tunnel) = chained {
            return Ok(Some(Either::A(tunnel)));
        }
        let stream = connect_any(details)?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let transport = LeanTcpTransport {
            stream: Arc::new(stream),
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            read_timeout: None,
            write_timeout: None,
        };
        (details.register_shutdown)(Arc::downgrade(&transport.stream) as Weak<dyn ShutdownHandle>)?;
        Ok(Some(Either::B(transport)))
    }
}

/// Tries the resolved addresses in order. Each attempt gets an equal share of the connect time
/// that is left (at least [`MIN_ATTEMPT`]); an address that refuses or cannot be routed to
/// moves on to the next at once.
fn connect_any(details: &ConnectionDetails) -> Result<TcpStream, ureq::Error> {
    let budget = details.timeout.not_zero().map(|d| *d);
    let started = Instant::now();
    let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
    let mut last_error = None;
    for (i, addr) in addrs.iter().enumerate() {
        let attempt = match budget {
            None => TcpStream::connect(addr),
            Some(budget) => {
                let left = budget.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(ureq::Error::Timeout(details.timeout.reason));
                }
                let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
                TcpStream::connect_timeout(addr, share.max(MIN_ATTEMPT).min(left))
            }
        };
        match attempt {
            Ok(stream) => {
                log::trace!("connected to {addr}");
                return Ok(stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                log::trace!("connecting to {addr} timed out");
                last_error = Some(ureq::Error::Timeout(ureq::Timeout::Connect));
            }
            Err(e) if is_address_specific(&e) => {
                log::trace!("connecting to {addr} failed: {e}");
                last_error = Some(ureq::Error::Io(e));
            }
            Err(e) => return Err(ureq::Error::Io(e)),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        ureq::Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "the host resolved to no address",
        ))
    }))
}

/// Errors that concern one address only: the next address may still work.
fn is_address_specific(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

/// One TCP connection with ureq's buffers.
pub struct LeanTcpTransport {
    /// Shared (weakly) with the agent so that `Agent::shutdown` can interrupt blocked I/O.
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// The read timeout set on the socket (`None`: none set yet, or blocking without one).
    read_timeout: Option<Duration>,
    /// The write timeout set on the socket.
    write_timeout: Option<Duration>,
}

impl std::fmt::Debug for LeanTcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanTcpTransport")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

/// The socket timeout to leave in place, or the one to set, for `left` time before the
/// deadline (`None`: no deadline). Keeps `current` when it is no shorter than `left` and at
/// most [`TIMEOUT_SLACK`] longer.
fn timeout_to_set(current: Option<Duration>, left: Option<Duration>) -> Option<Option<Duration>> {
    match (current, left) {
        (Some(current), Some(left)) if current >= left && current - left <= TIMEOUT_SLACK => None,
        (current, left) if current == left => None,
        (_, left) => Some(left),
    }
}

/// The time left for one read or write, or the timeout error if none is.
fn time_left(timeout: NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|d| *d))
}

fn io_error(e: io::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    }
}

impl Transport for LeanTcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let left = time_left(timeout)?;
        if let Some(set) = timeout_to_set(self.write_timeout, left) {
            self.stream.set_write_timeout(set)?;
            self.write_timeout = set;
        }
        let output = &self.buffers.output()[..amount];
        (&*self.stream)
            .write_all(output)
            .map_err(|e| io_error(e, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let left = time_left(timeout)?;
        if let Some(set) = timeout_to_set(self.read_timeout, left) {
            self.stream.set_read_timeout(set)?;
            self.read_timeout = set;
        }
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match (&*self.stream).read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(|e| io_error(e, timeout))?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        probe(&self.stream)
    }
}

/// Whether a pooled connection can take another request: nothing is waiting to be read (a
/// server that closed the connection left an end-of-file; one that sent bytes unasked is
/// not speaking HTTP/1.1 to us any more). One non-blocking peek, the socket's mode untouched.
#[cfg(unix)]
fn probe(stream: &TcpStream) -> bool {
    use rustix::net::{RecvFlags, recv};
    let mut byte = [0u8; 1];
    loop {
        return match recv(stream, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => true,
            // End of file, unexpected bytes, or a socket error.
            Ok(_) | Err(_) => false,
        };
    }
}

/// Whether a pooled connection can take another request (see the Unix version); here by
/// switching the socket to non-blocking for one read.
#[cfg(not(unix))]
fn probe(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let idle =
        matches!((&*stream).peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn keeps_a_timeout_slightly_longer_than_the_time_left() {
        let ten = Some(10 * S);
        assert_eq!(
            timeout_to_set(ten, Some(10 * S - Duration::from_micros(30))),
            None
        );
        assert_eq!(timeout_to_set(ten, ten), None);
        assert_eq!(timeout_to_set(None, None), None);
    }

    #[test]
    fn never_keeps_a_timeout_that_would_end_early_or_overrun_by_more_than_the_slack() {
        let ten = Some(10 * S);
        assert_eq!(timeout_to_set(ten, Some(11 * S)), Some(Some(11 * S)));
        let short = 10 * S - TIMEOUT_SLACK - Duration::from_millis(1);
        assert_eq!(timeout_to_set(ten, Some(short)), Some(Some(short)));
        assert_eq!(timeout_to_set(None, Some(S)), Some(Some(S)));
        assert_eq!(timeout_to_set(ten, None), Some(None));
    }

    #[test]
    fn probe_tells_an_idle_connection_from_a_closed_or_chatty_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();

        let idle = TcpStream::connect(addr).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        assert!(probe(&idle), "an idle connection is open");
        assert!(probe(&idle), "probing does not consume or change anything");

        (&server_side).write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!probe(&idle), "unasked bytes make the connection unusable");

        let closed = TcpStream::connect(addr).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        drop(server_side);
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !probe(&closed),
            "a connection the server closed is not reused"
        );

        // The peeked byte is still there, and the socket stays blocking: a read with a
        // timeout waits for it.
        let mut buf = [0u8; 4];
        assert_eq!((&idle).read(&mut buf).unwrap(), 1);
        idle.set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        let started = Instant::now();
        let e = (&idle).read(&mut buf).unwrap_err();
        assert!(matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        assert!(started.elapsed() >= Duration::from_millis(25));
    }
}
