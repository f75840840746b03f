#!/usr/bin/env bash
# Runs every check and test of kms-seal: formatting, clippy per package, docs, the no_std builds,
# all tests and the WASI crate's unit tests on the host (inside a network namespace with only
# loopback, so nothing can reach a real AWS or instance-metadata address), the benchmarks' build,
# the static binary's size, the WASI components (sizes and host tests) and the fuzz corpora (plus
# short ASan runs on nightly).
#
# Usage: scripts/test.sh            (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/setup.sh

export CARGO_TERM_COLOR=never
export AWS_EC2_METADATA_DISABLED=true
start=$(date +%s)
step() { printf '\n== [%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy per package (features do not unify across packages)"
cargo clippy -p kms-seal-core --all-targets -- -D warnings
cargo clippy -p kms-seal-core --no-default-features --lib -- -D warnings
cargo clippy -p kms-seal-cli --all-targets -- -D warnings
# The native binary turns on the loader's `migration` and `snapshot` features; the WASI command
# does not.
cargo clippy -p kms-seal-cli --all-targets --features migration,snapshot -- -D warnings
cargo clippy -p kms-seal-ureq --all-targets -- -D warnings
cargo clippy -p kms-seal-tests --all-targets -- -D warnings
cargo clippy -p kms-seal-openbao --all-targets -- -D warnings
cargo clippy -p kms-seal-wasi --target wasm32-wasip2 --all-targets -- -D warnings

step "docs without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p kms-seal-core -p kms-seal-cli -p kms-seal-ureq -p kms-seal-openbao
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p kms-seal-wasi --target wasm32-wasip2

step "no_std builds for a bare-metal target"
cargo build -p kms-seal-core --no-default-features --target thumbv7em-none-eabihf
cargo build -p kms-seal-core --no-default-features --features alloc --target thumbv7em-none-eabihf
# The one loader and CLI are no_std + alloc too (the WASI components need it).
cargo build -p kms-seal-cli --target thumbv7em-none-eabihf
cargo build -p kms-seal-cli --features migration,snapshot --target thumbv7em-none-eabihf

# The WASI crate's components only make sense for wasm32-wasip2 (its `kms-seal` command would
# also collide with the native binary in target/debug); scripts/wasm.sh builds and tests them.
# Its unit tests run on the host: `--lib --bins` builds only test harnesses (hashed names in
# target/debug/deps), so nothing collides with the native `kms-seal`.
native=(--workspace --exclude kms-seal-wasi)
wasi_unit=(-p kms-seal-wasi --lib --bins)

step "build the CLI, tests and benches"
cargo build -p kms-seal-ureq --bin kms-seal
cargo build -p kms-seal-openbao --bin openbao-plugin-kms-awskms
cargo test "${native[@]}" --no-run
cargo test "${wasi_unit[@]}" --no-run
cargo bench -p kms-seal-tests --no-run

step "run all tests with only loopback networking"
# Tests start their own peers (moto) on 127.0.0.1. In a fresh network namespace nothing but
# loopback exists, so no credential chain can reach 169.254.169.254 or 169.254.170.2.
run_isolated() {
  if unshare -n true 2>/dev/null; then
    unshare -n bash -c 'ip link set lo up && "$@"' _ "$@"
  else
    echo "warning: cannot create a network namespace; running with AWS_EC2_METADATA_DISABLED=true only" >&2
    "$@"
  fi
}
# This includes plugin-openbao/tests/openbao_e2e.rs: the real OpenBao server (bao from
# setup.sh) auto-unsealing through the debug plugin against moto, under a minute.
run_isolated cargo test "${native[@]}" --offline
run_isolated cargo test "${wasi_unit[@]}" --offline

step "static musl binary (release-small)"
cargo build --profile release-small --target x86_64-unknown-linux-musl -p kms-seal-ureq --bin kms-seal
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release-small/kms-seal
size=$(stat -c %s "$bin")
printf 'kms-seal static binary: %s bytes (%s)\n' "$size" "$( (file -b "$bin" 2>/dev/null || echo unknown) | cut -d, -f1-2)"
# Budget 2.5 MB (issue 12).
if [ "$size" -gt 2500000 ]; then
  echo "error: static binary is larger than 2.5 MB" >&2
  exit 1
fi

step "static musl OpenBao plugin (release-small): size and start-up time"
# Its dependencies (tokio, hyper, tonic, aws-lc-rs) must stay out of the kms-seal binary above:
# building it per package keeps the CLI's features and size unchanged.
cargo build --profile release-small --target x86_64-unknown-linux-musl -p kms-seal-openbao --bin openbao-plugin-kms-awskms
plugin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release-small/openbao-plugin-kms-awskms
plugin_size=$(stat -c %s "$plugin")
printf 'openbao-plugin-kms-awskms static binary: %s bytes (%s)\n' "$plugin_size" "$( (file -b "$plugin" 2>/dev/null || echo unknown) | cut -d, -f1-2)"
if [ "$plugin_size" -gt 4000000 ]; then
  echo "error: the OpenBao plugin's static binary is larger than 4 MB" >&2
  exit 1
fi
python3 scripts/plugin-startup.py "$plugin" 20

step "OpenBao end-to-end test with the shipped static plugin"
# The scenarios of the test run above again, with the release-small musl binary (panic=abort,
# LTO, stripped) that operators install rather than the debug build.
cargo build --profile release-small --target x86_64-unknown-linux-musl -p kms-seal-openbao --bin openbao-plugin-kms-awskms
static_plugin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release-small/openbao-plugin-kms-awskms
case $static_plugin in /*) ;; *) static_plugin=$root/$static_plugin ;; esac
run_isolated env OPENBAO_PLUGIN_BIN="$static_plugin" cargo test -p kms-seal-openbao --test openbao_e2e --offline -- --nocapture

step "WASI components: build, size budgets, wasmtime host tests against moto"
scripts/wasm.sh

step "fuzzing: replay every corpus on stable, 30 s per target under ASan on nightly"
scripts/fuzz-ci.sh 30

step "done"
