#!/usr/bin/env bash
# Time-boxed libFuzzer campaign over every kms-seal fuzz target.
#
# Usage: fuzz/run.sh SECONDS [TARGET...]
#
#   SECONDS  how long each target runs (default 60)
#   TARGET   targets to run (default: every target `cargo fuzz list` shows)
#
# Uses nightly with AddressSanitizer when a nightly toolchain is installed, otherwise stable
# without a sanitizer (`-s none`); FUZZ_TOOLCHAIN=stable|nightly forces one. Builds with debug
# assertions (integer overflow checks). Each target runs with -rss_limit_mb=512 and a 10 s
# per-input timeout on the committed seeds (fuzz/corpus/TARGET, read only) plus a work corpus
# in fuzz/target/campaign/TARGET that keeps its finds between runs; crashes go to
# fuzz/artifacts/TARGET/. Prints executions, executions per second, new inputs and corpus size
# per target, and exits non-zero if any target found a crash, leak, timeout or OOM.
set -uo pipefail
cd "$(dirname "$0")"
fuzz_dir=$PWD

seconds=${1:-60}
shift || true
case $seconds in
  '' | *[!0-9]*) echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2; exit 2 ;;
esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
  cargo install cargo-fuzz --locked >&2 || exit 2
fi

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = nightly ]; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=()
  mode="nightly, AddressSanitizer"
else
  fuzz=(cargo +stable fuzz)
  sanitizer=(-s none)
  mode="stable, no sanitizer"
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

echo "building ${#targets[@]} targets ($mode, debug assertions)" >&2
"${fuzz[@]}" build "${sanitizer[@]}" --debug-assertions >&2 || exit 2

results=()
failed=0
for target in "${targets[@]}"; do
  seeds=$fuzz_dir/corpus/$target
  work=$fuzz_dir/target/campaign/$target
  mkdir -p "$work" "$seeds" "$fuzz_dir/artifacts/$target"
  log=$fuzz_dir/target/campaign/$target.log
  dict=()
  [ -f "$fuzz_dir/dict/$target.dict" ] && dict=(-dict="$fuzz_dir/dict/$target.dict")
  echo "== $target: $seconds s" >&2
  "${fuzz[@]}" run "${sanitizer[@]}" --debug-assertions "$target" "$work" "$seeds" -- \
    -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -print_final_stats=1 \
    "${dict[@]}" >"$log" 2>&1
  status=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  new=$(stat new_units_added)
  rss=$(stat peak_rss_mb)
  corpus=$(find "$work" "$seeds" -type f -printf '%f\n' | sort -u | wc -l)
  outcome=ok
  if [ $status -ne 0 ]; then
    outcome="FAILED (exit $status; see $log and fuzz/artifacts/$target/)"
    grep -m1 -E '^==[0-9]+== ?ERROR|panicked at|SUMMARY' "$log" >&2 || tail -5 "$log" >&2
    failed=1
  fi
  results+=("$(printf '%-20s %12s %10s %8s %8s %8s  %s' "$target" "${execs:-?}" "${rate:-?}" \
    "${new:-?}" "$corpus" "${rss:-?}" "$outcome")")
done

printf '\ncampaign: %s s per target, %s, rss limit 512 MB\n' "$seconds" "$mode"
printf '%-20s %12s %10s %8s %8s %8s  %s\n' target executions exec/s new corpus rss_mb outcome
printf '%s\n' "${results[@]}"
exit $failed
