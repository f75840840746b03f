#!/usr/bin/env bash
# Reproduces every figure of the README's "Performance" table, against a local stub KMS (the
# mock KMS of the tests, SigV4 checked on every call) on 127.0.0.1. Nothing else is contacted.
#
#   1. client CPU per Encrypt/Decrypt over one kept-alive connection (the `native_encrypt`
#      divan benchmark), and calls per second: client and stub process pinned to CPU 0 (the
#      set-up of the issue's peer figures), then the stub on CPU 1 (cross-CPU wake-ups);
#   2. one-shot `kms-seal encrypt` as a whole process: mean wall time over $RUNS runs
#      (hyperfine, else a shell loop) and peak RSS (/usr/bin/time -v), for the static musl
#      release-small binary and the plain (glibc) release binary;
#   3. the static binary: size in bytes, `file` output, and a whole encrypt/decrypt round trip.
#
# It ends by printing a markdown table (also written to $PERF_TABLE when that is set).
# Run it on an otherwise idle machine: the wall-time figures are only as good as that.
#
# Usage: scripts/perf.sh        (RUNS=300 PERF_TABLE=perf-table.md CARGO_TARGET_DIR=... are optional)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
target=$CARGO_TARGET_DIR
RUNS=${RUNS:-300}
MUSL=x86_64-unknown-linux-musl

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'perf.sh: error: %s\n' "$*" >&2; exit 1; }

for tool in taskset file; do
  command -v "$tool" >/dev/null || die "$tool is missing; apt-get install util-linux file"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing; apt-get install time"
command -v musl-gcc >/dev/null || die "musl-gcc is missing; apt-get install musl-tools"
rustup target list --installed | grep -qx "$MUSL" || die "rustup target add $MUSL"
cpus=$(nproc)
[ "$cpus" -ge 2 ] || die "needs 2 CPUs (the cross-CPU figures put the stub on CPU 1); this machine has $cpus"

log "building (bench profile, release, release-small for $MUSL)"
cargo bench -q -p kms-seal-tests --bench native_encrypt --no-run
cargo build -q --release -p kms-seal-tests --bin stub-kms
cargo build -q --release -p kms-seal-ureq --bin kms-seal
cargo build -q --profile release-small --target "$MUSL" -p kms-seal-ureq --bin kms-seal
small=$target/$MUSL/release-small/kms-seal
plain=$target/release/kms-seal
stub_bin=$target/release/stub-kms

work=$(mktemp -d)
stub_pid=""
cleanup() {
  if [ -n "$stub_pid" ]; then kill "$stub_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Client CPU per call (the benchmark starts its own stub process, on the client's CPU).
log "1. client CPU per call: taskset -c 0 cargo bench -p kms-seal-tests --bench native_encrypt"
taskset -c 0 cargo bench -q -p kms-seal-tests --bench native_encrypt 2>&1 | tee "$work/bench.txt"
bench_field() { # operation field
  grep "^native_encrypt: $1 " "$work/bench.txt" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
raw_cpu=$(bench_field raw-socket-round-trip client_cpu_us_per_call)
enc_cpu=$(bench_field encrypt client_cpu_us_per_call)
enc_rate=$(bench_field encrypt calls_per_s)
dec_cpu=$(bench_field decrypt client_cpu_us_per_call)
dec_rate=$(bench_field decrypt calls_per_s)
[ -n "$enc_cpu" ] || die "the benchmark printed no encrypt figure"
# The same with the stub on the other CPU: each call also pays for cross-CPU wake-ups (divan's
# part is skipped).
log "1b. the same, stub on the other CPU: NATIVE_ENCRYPT_STUB_CPU=1"
NATIVE_ENCRYPT_STUB_CPU=1 taskset -c 0 cargo bench -q -p kms-seal-tests --bench native_encrypt -- none 2>&1 |
  tee "$work/bench-cross-cpu.txt"
cross_field() { # operation field
  grep "^native_encrypt: $1 " "$work/bench-cross-cpu.txt" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
cross_enc=$(cross_field encrypt client_cpu_us_per_call)
cross_rate=$(cross_field encrypt calls_per_s)
cross_raw=$(cross_field raw-socket-round-trip client_cpu_us_per_call)

# 2. One-shot CLI against the stub, pinned to CPU 1, client on CPU 0.
log "2. one-shot kms-seal encrypt (stub on CPU 1, CLI on CPU 0)"
mkfifo "$work/announce"
taskset -c 1 "$stub_bin" --port 0 >"$work/announce" 2>"$work/stub.err" &
stub_pid=$!
endpoint="" alias="" region=""
while IFS= read -r line; do
  case $line in
    endpoint=*) endpoint=${line#endpoint=} ;;
    alias=*) alias=${line#alias=} ;;
    region=*) region=${line#region=} ;;
    ready) break ;;
  esac
done <"$work/announce"
[ -n "$endpoint" ] || die "stub-kms did not start: $(cat "$work/stub.err")"
case $endpoint in http://127.0.0.1:*) ;; *) die "stub endpoint $endpoint is not loopback" ;; esac
echo "stub-kms pid $stub_pid at $endpoint, key $alias"

# The seal configured as Vault is from the environment; the credentials are the stub's test
# keys (see tests/src/stub_kms.rs). No proxy, no shared files, no instance metadata.
cli_env=(env -i PATH="$PATH" HOME="$work"
  VAULT_SEAL_TYPE=awskms VAULT_AWSKMS_SEAL_KEY_ID="$alias" AWS_REGION="$region"
  AWS_KMS_ENDPOINT="$endpoint"
  AWS_ACCESS_KEY_ID=AKIDSTUBKMSBENCH0001
  AWS_SECRET_ACCESS_KEY=stub/kms/bench/secret/key/0000000000000
  AWS_EC2_METADATA_DISABLED=true
  AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_CONFIG_FILE="$work/none")
head -c 32 /dev/urandom >"$work/plain"

round_trip() { # binary
  "${cli_env[@]}" "$1" encrypt <"$work/plain" >"$work/blob" || die "$1 encrypt failed"
  "${cli_env[@]}" "$1" decrypt <"$work/blob" >"$work/back" || die "$1 decrypt failed"
  cmp -s "$work/plain" "$work/back" || die "$1: decrypt did not give the plaintext back"
  "${cli_env[@]}" "$1" inspect <"$work/blob" >"$work/inspect.json" || die "$1 inspect failed"
  echo "$(basename "$(dirname "$1")")/kms-seal: encrypt -> $(stat -c %s "$work/blob")-byte blob -> decrypt: round trip ok"
}

HYPERFINE=${HYPERFINE:-hyperfine}
wall_ms() { # binary label -> "mean stddev" in ms over $RUNS runs
  local bin=$1 label=$2
  if command -v "$HYPERFINE" >/dev/null; then
    local how=()
    if "$HYPERFINE" --help | grep -q -- '--input'; then
      # hyperfine >= 1.16: no shell at all, the plaintext file on stdin.
      how=(-N --input "$work/plain" --output null "$bin encrypt")
    else
      # Older hyperfine subtracts the cost of the shell that does the redirections.
      how=("$bin encrypt < $work/plain > /dev/null")
    fi
    taskset -c 0 "${cli_env[@]}" "$HYPERFINE" --style basic --warmup 20 --runs "$RUNS" \
      --export-json "$work/$label.json" "${how[@]}" >&2
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f %.2f %.2f" % (r["mean"]*1e3, r["stddev"]*1e3, r["median"]*1e3))' "$work/$label.json"
  else
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$RUNS"); do
      taskset -c 0 "${cli_env[@]}" "$bin" encrypt <"$work/plain" >/dev/null
    done
    end=$(date +%s%N)
    awk -v ns=$((end - start)) -v n="$RUNS" 'BEGIN { printf "%.2f ? ?\n", ns / n / 1e6 }'
  fi
}

peak_rss_kb() { # binary -> the largest "Maximum resident set size" over 20 runs
  local max=0 rss
  for _ in $(seq 20); do
    rss=$(taskset -c 0 "${cli_env[@]}" /usr/bin/time -v "$1" encrypt <"$work/plain" 2>&1 >/dev/null |
      sed -n 's/.*Maximum resident set size (kbytes): //p')
    [ "$rss" -gt "$max" ] && max=$rss
  done
  echo "$max"
}

round_trip "$small"
round_trip "$plain"
read -r small_ms small_sd small_med < <(wall_ms "$small" small)
read -r plain_ms plain_sd plain_med < <(wall_ms "$plain" plain)
# Reference: the cost of merely starting a dynamically linked glibc process here (its start-up
# runs CPUID many times, and CPUID traps to the hypervisor on a virtual machine).
hello_ms="?"
if command -v cc >/dev/null && command -v "$HYPERFINE" >/dev/null; then
  printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' >"$work/hello.c"
  cc -O2 -o "$work/hello" "$work/hello.c"
  taskset -c 0 "$HYPERFINE" --style basic -N --warmup 20 --runs "$RUNS" --export-json "$work/hello.json" "$work/hello" >&2
  hello_ms=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f" % (r["median"]*1e3))' "$work/hello.json")
fi
small_rss=$(peak_rss_kb "$small")
plain_rss=$(peak_rss_kb "$plain")
echo "release-small musl: mean ${small_ms} ms (sd ${small_sd}, median ${small_med}), peak RSS ${small_rss} KiB"
echo "release glibc:      mean ${plain_ms} ms (sd ${plain_sd}, median ${plain_med}), peak RSS ${plain_rss} KiB"

# 3. The static binary.
log "3. static binary"
small_size=$(stat -c %s "$small")
plain_size=$(stat -c %s "$plain")
small_file=$(file -b "$small" | cut -d, -f1-5)
echo "$small: $small_size bytes; $small_file"
echo "$plain: $plain_size bytes"

mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
mib_kb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k * 1024 / 1e6 }'; }
table=$(cat <<EOF
| What | Figure | Target | Peer (AWS SDK for Rust, aws-sdk-kms 1.129) | Command |
|---|---|---|---|---|
| Client CPU per Encrypt, kept-alive connection, client and stub pinned to one CPU | ${enc_cpu} µs (${enc_rate} calls/s) | ≤ 20 µs | 54-64 µs (14.5k calls/s); boto3 577 µs | \`scripts/perf.sh\` (\`taskset -c 0 cargo bench -p kms-seal-tests --bench native_encrypt\`) |
| Client CPU per Decrypt, same set-up | ${dec_cpu} µs (${dec_rate} calls/s) | – | – | same |
| Floor: the same exchange over a bare socket, same set-up | ${raw_cpu} µs | – | – | same (\`raw-socket-round-trip\` line) |
| Client CPU per Encrypt, stub on the other CPU (cross-CPU wake-ups; bare-socket floor ${cross_raw} µs) | ${cross_enc} µs (${cross_rate} calls/s) | – | – | \`NATIVE_ENCRYPT_STUB_CPU=1 taskset -c 0 cargo bench -p kms-seal-tests --bench native_encrypt\` |
| One-shot \`kms-seal encrypt\`, whole process (static musl, release-small) | ${small_ms} ms mean of ${RUNS} (median ${small_med} ms) | < 2.5 ms | 5.5 ms | \`scripts/perf.sh\` (hyperfine) |
| One-shot \`kms-seal encrypt\`, whole process (glibc, release) | ${plain_ms} ms mean of ${RUNS} (median ${plain_med} ms; a C hello world linked to glibc: median ${hello_ms} ms) | < 2.5 ms | 5.5 ms | \`scripts/perf.sh\` (hyperfine) |
| Peak RSS, one-shot encrypt (static musl / glibc) | $(mib_kb "$small_rss") / $(mib_kb "$plain_rss") | < 4 MB | 11.6 MB | \`/usr/bin/time -v kms-seal encrypt\` |
| Static binary size (musl, release-small, statically linked) | ${small_size} bytes ($(mb "$small_size")) | ≤ 2.5 MB | 5.8 MB size-optimised | \`cargo build --profile release-small --target $MUSL --bin kms-seal\` |
| Binary size (glibc, release) | ${plain_size} bytes ($(mb "$plain_size")) | – | 14.9 MB plain release | \`cargo build --release --bin kms-seal\` |
EOF
)
log "table"
printf '%s\n' "$table"
if [ -n "${PERF_TABLE:-}" ]; then
  printf '%s\n' "$table" >"$PERF_TABLE"
  echo "written to $PERF_TABLE" >&2
fi
