#!/usr/bin/env bash
# Fuzzing in CI: replays every committed corpus on stable, then (when a nightly toolchain is
# installed) runs each target for a short time under AddressSanitizer.
#
# Usage: scripts/fuzz-ci.sh [SECONDS]
#
#   SECONDS  time per target for the nightly AddressSanitizer run (default 30; 0 skips it)
#
# The replay is `cargo fuzz run -s none TARGET fuzz/corpus/TARGET -- -runs=0` for every target:
# each seed runs once, any panic or assertion fails the script. Installs cargo-fuzz with
# `cargo install cargo-fuzz --locked` if it is missing. The fuzz crate is its own workspace
# (fuzz/), built in fuzz/target; builds use debug assertions (integer overflow checks).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-30}
case $seconds in
  '' | *[!0-9]*) echo "usage: scripts/fuzz-ci.sh [SECONDS]" >&2; exit 2 ;;
esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

mapfile -t targets < <(cargo +stable fuzz list)
echo "== fuzz corpus replay on stable (${#targets[@]} targets, no sanitizer)"
cargo +stable fuzz build -s none --debug-assertions
replayed=0
for target in "${targets[@]}"; do
  corpus=corpus/$target
  seeds=$(find "$corpus" -type f | wc -l)
  log=$(mktemp)
  if ! cargo +stable fuzz run -s none --debug-assertions "$target" "$corpus" -- -runs=0 >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: replaying $corpus failed; the crashing input is in fuzz/artifacts/$target/" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  printf '%-20s %5s inputs replayed\n' "$target" "$seeds"
  replayed=$((replayed + seeds))
done
echo "corpus replay: $replayed inputs, 0 failures"

if [ "$seconds" -eq 0 ]; then
  echo "== nightly AddressSanitizer runs skipped (SECONDS=0)"
  exit 0
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "== no nightly toolchain: AddressSanitizer runs skipped"
  exit 0
fi
echo "== ${seconds} s per target on nightly with AddressSanitizer"
FUZZ_TOOLCHAIN=nightly ./run.sh "$seconds"
