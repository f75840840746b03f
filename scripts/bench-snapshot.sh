#!/usr/bin/env bash
# The raft snapshot figures of the README's performance table: builds a ~1 GB snapshot the way
# OpenBao writes one (tests/src/bin/snapshot-bench.rs, moto on 127.0.0.1 for the sealed items),
# then runs `kms-seal snapshot inspect`, `verify` and `rewrap` on it under /usr/bin/time -v,
# next to `gzip -dc` and `gzip -dc | sha256sum` as the floor, and prints a markdown table.
# Needs ~2.5 GB free in SNAPSHOT_DIR (default: the temporary directory); files are removed.
#
# Usage: scripts/bench-snapshot.sh      (SNAPSHOT_MIB=1024 SNAPSHOT_DIR=... CARGO_TARGET_DIR=...)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MUSL=x86_64-unknown-linux-musl
[ -x /usr/bin/time ] || { echo "bench-snapshot.sh: /usr/bin/time is missing; apt-get install time" >&2; exit 1; }

# The binary users get: static musl, release-small.
cargo build -q --profile release-small --target "$MUSL" -p kms-seal-ureq --bin kms-seal
cargo build -q --release -p kms-seal-tests --bin snapshot-bench
export KMS_SEAL_BIN=$CARGO_TARGET_DIR/$MUSL/release-small/kms-seal
# Loopback only, as the tests: moto and kms-seal see no other network.
AWS_EC2_METADATA_DISABLED=true unshare -n bash -c \
  'ip link set lo up && "$0"' "$CARGO_TARGET_DIR/release/snapshot-bench"
