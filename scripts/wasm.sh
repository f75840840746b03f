#!/usr/bin/env bash
# Builds the two WASI components of kms-seal for wasm32-wasip2, checks their sizes and runs the
# host tests (tests/wasm-host: wasmtime 48.0.8 embedded, moto on loopback with SigV4 checking),
# including config_corpus: native CLI vs WASI command on every tests/vectors/config/corpus file.
#
#   target/wasm32-wasip2/release-small/kms-seal.wasm          command component (<= 300 KB)
#   target/wasm32-wasip2/release-small/kms_seal_plugin.wasm   plugin component  (<= 280 KB)
#
# Usage: scripts/wasm.sh            build, check sizes, run the host tests (an oversized
#                                   component fails the script after the tests have run)
#        scripts/wasm.sh --build    build and check sizes only
# Honours CARGO_TARGET_DIR. KB here means 1000 bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/setup.sh

export CARGO_TERM_COLOR=never
export AWS_EC2_METADATA_DISABLED=true
target_dir=${CARGO_TARGET_DIR:-$root/target}
start=$(date +%s)
step() { printf '\n== [%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "build both components (release-small, wasm32-wasip2)"
t0=$(date +%s)
cargo build --profile release-small --target wasm32-wasip2 -p kms-seal-wasi
build_secs=$(( $(date +%s) - t0 ))

step "component sizes"
out_dir="$target_dir/wasm32-wasip2/release-small"
status=0
check_size() { # file limit_kb
  local file="$out_dir/$1" limit=$(( $2 * 1000 ))
  if [ ! -f "$file" ]; then
    echo "error: $file was not built" >&2
    status=1
    return
  fi
  local size
  size=$(stat -c %s "$file")
  printf '%-22s %7d bytes (%d KB, limit %d KB)\n' "$1" "$size" $(( (size + 500) / 1000 )) "$2"
  if [ "$size" -gt "$limit" ]; then
    echo "error: $1 is larger than $2 KB" >&2
    status=1
  fi
}
check_size kms_seal_plugin.wasm 280
check_size kms-seal.wasm 300
echo "build time: ${build_secs}s"
if [ "${1:-}" = "--build" ]; then
  exit "$status"
fi

step "native kms-seal for the interop tests"
cargo build --bin kms-seal

step "host tests (wasmtime 48.0.8 embedded, moto on loopback)"
# Only loopback exists inside a fresh network namespace, so nothing can reach a real AWS or
# instance-metadata address; the test host also refuses any non-loopback request itself.
run_isolated() {
  if unshare -n true 2>/dev/null; then
    unshare -n bash -c 'ip link set lo up && "$@"' _ "$@"
  else
    echo "warning: cannot create a network namespace; relying on the host's loopback-only policy" >&2
    "$@"
  fi
}
t0=$(date +%s)
(
  cd tests/wasm-host
  export KMS_SEAL_TARGET_DIR="$target_dir"
  export CARGO_TARGET_DIR="$target_dir"
  cargo build --tests --locked
  # --no-fail-fast: a failing test file (config_corpus lists every config the native and
  # WASI readers disagree on) must not hide the results of the files after it.
  run_isolated cargo test --locked --offline --no-fail-fast
)
echo "host tests (build and run): $(( $(date +%s) - t0 ))s"

if [ "$status" -ne 0 ]; then
  step "failed: a component is over its size budget (see above)"
  exit "$status"
fi
step "done"
