//! Client cost of the native seal, `Seal<UreqTransport, Credentials, StdRuntime>`, sealing and
//! unsealing over one kept-alive HTTP/1.1 connection to a local stub KMS.
//!
//! The stub (the `stub-kms` binary of this crate: the mock KMS, SigV4 checked on every call)
//! runs as a separate process. As the issue's peer figures were taken, client and stub are
//! pinned to one CPU: pin this benchmark and the stub follows it (`taskset` is used for the
//! stub when this process is allowed exactly one CPU):
//!
//! ```text
//! cargo bench -p kms-seal-tests --bench native_encrypt --no-run
//! taskset -c 0 cargo bench -p kms-seal-tests --bench native_encrypt
//! NATIVE_ENCRYPT_STUB_CPU=1 taskset -c 0 cargo bench -p kms-seal-tests --bench native_encrypt
//! ```
//!
//! The last line puts the stub on another CPU: every call then also pays for waking that CPU
//! and back, which on a virtual machine costs more than the whole call on one CPU (see the
//! `raw-socket-round-trip` line). `scripts/perf.sh` runs both.
//!
//! First a fixed number of calls is made and the client process's CPU time (utime + stime
//! from `/proc/self/stat`, the figures getrusage reports) is divided by the number of calls:
//! that is the per-call client CPU, independent of how fast the stub answers. The result
//! lines start with `native_encrypt:`; `thread_sched_us` is the same from the scheduler's
//! nanosecond clock (`/proc/thread-self/schedstat`). The `raw-socket-round-trip` line is the
//! floor: a request of the same size over a bare socket, with no HTTP library, signing or
//! JSON, i.e. what the kernel charges the client for a loopback round trip in the chosen
//! set-up. Then divan measures the wall time of one call (round trip included).
//!
//! Environment: `NATIVE_ENCRYPT_CALLS` (calls per CPU measurement, default 50000; 0 skips
//! it), `NATIVE_ENCRYPT_STUB_CPU` (CPU for the stub; default: this process's CPU when it is
//! allowed exactly one, else unpinned; `none` does not pin).
//! Only 127.0.0.1 is ever contacted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use divan::{Bencher, black_box};
use kms_seal_core::credentials::Credentials;
use kms_seal_core::kms::Endpoint;
use kms_seal_core::seal::{Seal, SealSettings};
use kms_seal_tests::stub_kms::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use kms_seal_ureq::runtime::StdRuntime;
use kms_seal_ureq::transport::{ProxyMode, TransportConfig, UreqTransport};

/// The seal this benchmark measures: static credentials, no credential chain.
type NativeStaticSeal = Seal<UreqTransport, Credentials, StdRuntime>;

/// Plaintext sizes: a 32-byte key (what Vault seals most) and a 4 KiB value.
const SIZES: [usize; 2] = [32, 4096];

const DEFAULT_CALLS: u64 = 50_000;
const WARM_UP_CALLS: u64 = 2_000;

/// The seal, set up by `main` before divan runs the benchmarks.
static SEAL: OnceLock<NativeStaticSeal> = OnceLock::new();

fn main() {
    let mut stub = StubProcess::spawn();
    let mut seal = native_seal(&stub);
    if let Err(e) = seal.init() {
        stub.stop();
        panic!("the stub KMS refused DescribeKey: {e}");
    }
    // `cargo bench` passes --bench; without it divan runs each benchmark once as a test.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    if benchmarking {
        let calls = std::env::var("NATIVE_ENCRYPT_CALLS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_CALLS);
        if calls > 0 {
            measure_cpu(&seal, &stub, calls);
        }
    }
    if SEAL.set(seal).is_err() {
        unreachable!("main sets the seal once");
    }
    divan::main();
    stub.stop();
}

/// `Seal::encrypt`: fresh data key and IV, AES-256-GCM, one signed KMS `Encrypt` call.
#[divan::bench(args = SIZES, sample_count = 300, sample_size = 20)]
fn encrypt(bencher: Bencher, len: usize) {
    let seal = seal();
    let plaintext = vec![0x5a; len];
    bencher.bench_local(|| {
        seal.encrypt(black_box(&plaintext), None)
            .expect("the stub KMS accepts Encrypt")
    });
}

/// `Seal::decrypt` of a mechanism-1 blob: one signed KMS `Decrypt` call, then AES-256-GCM.
#[divan::bench(args = SIZES, sample_count = 300, sample_size = 20)]
fn decrypt(bencher: Bencher, len: usize) {
    let seal = seal();
    let blob = seal
        .encrypt(&vec![0x5a; len], None)
        .expect("the stub KMS accepts Encrypt");
    bencher.bench_local(|| {
        seal.decrypt(black_box(&blob), None)
            .expect("the stub KMS accepts Decrypt")
    });
}

fn seal() -> &'static NativeStaticSeal {
    SEAL.get()
        .expect("main builds the seal before divan runs the benchmarks")
}

fn native_seal(stub: &StubProcess) -> NativeStaticSeal {
    let endpoint = Endpoint::custom(&stub.endpoint, &stub.region)
        .expect("the stub announces a loopback http endpoint");
    let settings = SealSettings::new(stub.alias.clone(), endpoint);
    // Loopback only: never through a proxy from the environment.
    let mut config = TransportConfig::default();
    config.proxy = ProxyMode::Disabled;
    let transport = UreqTransport::with_config(config).expect("no proxy URL to parse");
    let credentials =
        Credentials::new(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None, None);
    Seal::new(settings, transport, credentials, StdRuntime::new())
}

/// Makes `calls` encrypts (then as many decrypts) and prints the client CPU per call.
fn measure_cpu(seal: &NativeStaticSeal, stub: &StubProcess, calls: u64) {
    let plaintext = [0x5au8; 32];
    for _ in 0..WARM_UP_CALLS {
        black_box(
            seal.encrypt(&plaintext, None)
                .expect("the stub KMS accepts Encrypt"),
        );
    }
    let blob = seal
        .encrypt(&plaintext, None)
        .expect("the stub KMS accepts Encrypt");
    println!(
        "native_encrypt: client pid {} (cpus {}), stub pid {} pinned to cpu {}",
        std::process::id(),
        allowed_cpus().unwrap_or_else(|| "?".into()),
        stub.pid,
        stub.cpu.as_deref().unwrap_or("none")
    );
    // The floor: the same-sized HTTP exchange over a plain socket, no signing, no JSON,
    // no HTTP library. What the kernel charges the client for a loopback round trip between
    // two CPUs; the seal's own cost is what the figures below add to it.
    let mut raw = RawExchange::connect(&stub.endpoint);
    for _ in 0..WARM_UP_CALLS {
        raw.round_trip();
    }
    report("raw-socket-round-trip", calls, || raw.round_trip());
    report("encrypt", calls, || {
        black_box(
            seal.encrypt(black_box(&plaintext), None)
                .expect("the stub KMS accepts Encrypt"),
        );
    });
    report("decrypt", calls, || {
        black_box(
            seal.decrypt(black_box(&blob), None)
                .expect("the stub KMS accepts Decrypt"),
        );
    });
    let stats = seal.stats();
    assert_eq!(
        stats.attempts, stats.calls,
        "no call was retried (a retry would distort the figures)"
    );
}

fn report(what: &str, calls: u64, mut call: impl FnMut()) {
    let before = ProcessCpu::now();
    let started = Instant::now();
    for _ in 0..calls {
        call();
    }
    let wall = started.elapsed();
    let after = ProcessCpu::now();
    let (Some(before), Some(after)) = (before, after) else {
        println!("native_encrypt: {what}: /proc/self/stat is unreadable; no CPU figures");
        return;
    };
    let per_call_us = |ticks: u64| ticks as f64 * TICK.as_secs_f64() * 1e6 / calls as f64;
    let user = after.user_ticks - before.user_ticks;
    let system = after.system_ticks - before.system_ticks;
    let thread_ns = after.thread_ns.zip(before.thread_ns).map(|(a, b)| a - b);
    println!(
        "native_encrypt: {what} calls={calls} wall_s={:.3} calls_per_s={:.0} \
         client_cpu_us_per_call={:.2} user_us={:.2} sys_us={:.2} thread_sched_us={}",
        wall.as_secs_f64(),
        calls as f64 / wall.as_secs_f64(),
        per_call_us(user + system),
        per_call_us(user),
        per_call_us(system),
        thread_ns.map_or_else(
            || "?".into(),
            |ns| format!("{:.2}", ns as f64 / 1e3 / calls as f64)
        ),
    );
}

/// One kept-alive loopback connection exchanging a fixed request of about the size of a signed
/// `Encrypt` (unsigned, so the stub answers 400 at once) and reading the whole response.
struct RawExchange {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
    line: String,
    body: Vec<u8>,
}

impl RawExchange {
    fn connect(endpoint: &str) -> RawExchange {
        let authority = endpoint
            .strip_prefix("http://")
            .expect("the stub announces an http:// endpoint");
        let stream = TcpStream::connect(authority).expect("connect to the stub");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        let body = format!(
            r#"{{"KeyId":"alias/kms-seal-stub","Plaintext":"{}"}}"#,
            "A".repeat(44)
        );
        let request = format!(
            "POST / HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/x-amz-json-1.1\r\n\
             x-amz-target: TrentService.Encrypt\r\nx-amz-date: 20260101T000000Z\r\n\
             x-padding: {}\r\ncontent-length: {}\r\n\r\n{body}",
            "p".repeat(260),
            body.len()
        )
        .into_bytes();
        RawExchange {
            writer: stream.try_clone().expect("clone the socket"),
            reader: BufReader::new(stream),
            request,
            line: String::new(),
            body: Vec::new(),
        }
    }

    fn round_trip(&mut self) {
        self.writer
            .write_all(&self.request)
            .expect("send to the stub");
        let mut length = 0usize;
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_line(&mut self.line)
                .expect("read from the stub");
            assert!(n > 0, "the stub closed the connection");
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("numeric content-length");
            }
        }
        self.body.resize(length, 0);
        self.reader
            .read_exact(&mut self.body)
            .expect("read the body");
        black_box(&self.body);
    }
}

/// Linux's USER_HZ: `/proc/<pid>/stat` counts CPU time in 1/100 s on every architecture.
const TICK: Duration = Duration::from_millis(10);

/// CPU time of this process so far.
struct ProcessCpu {
    /// utime: user-mode ticks of all threads.
    user_ticks: u64,
    /// stime: kernel-mode ticks of all threads.
    system_ticks: u64,
    /// Nanoseconds on a CPU of the calling thread (`/proc/thread-self/schedstat`), a
    /// finer-grained cross-check.
    thread_ns: Option<u64>,
}

impl ProcessCpu {
    fn now() -> Option<ProcessCpu> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces:
        // state(3) ppid(4) ... utime(14) stime(15).
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let user_ticks = fields.get(11)?.parse().ok()?;
        let system_ticks = fields.get(12)?.parse().ok()?;
        let thread_ns = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok());
        Some(ProcessCpu {
            user_ticks,
            system_ticks,
            thread_ns,
        })
    }
}

/// `Cpus_allowed_list` of this process.
fn allowed_cpus() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_owned())
}

/// The `stub-kms` binary running as a child process.
struct StubProcess {
    child: Child,
    /// Held open: the stub exits when it closes.
    stdin: Option<ChildStdin>,
    pid: u32,
    cpu: Option<String>,
    endpoint: String,
    region: String,
    alias: String,
}

impl StubProcess {
    fn spawn() -> StubProcess {
        let exe = env!("CARGO_BIN_EXE_stub-kms");
        let cpu = match std::env::var("NATIVE_ENCRYPT_STUB_CPU") {
            Ok(v) if v == "none" => None,
            Ok(v) => Some(v),
            // The client's own CPU when it is pinned to one (the measured set-up); otherwise
            // the scheduler decides and the figures mean less.
            Err(_) => allowed_cpus()
                .filter(|cpus| cpus.parse::<u32>().is_ok())
                .filter(|_| taskset_works()),
        };
        let mut command = match &cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu, exe]);
                c
            }
            None => Command::new(exe),
        };
        command
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start the stub-kms binary");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut announced = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read the stub's announcement");
            if line == "ready" {
                break;
            }
            announced.push(line);
        }
        let field = |name: &str| {
            announced
                .iter()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("stub-kms announced no {name}: {announced:?}"))
        };
        StubProcess {
            pid: field("pid").parse().expect("the stub announces its pid"),
            endpoint: field("endpoint"),
            region: field("region"),
            alias: field("alias"),
            child,
            stdin,
            cpu,
        }
    }

    /// Closes the stub's stdin (it exits) and reaps it.
    fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // It did not exit: kill it (our own child, by its pid).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn taskset_works() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
