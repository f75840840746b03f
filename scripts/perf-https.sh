#!/usr/bin/env bash
# One-shot `encrypt` over HTTPS with a private CA bundle: kms-seal (static musl, release-small)
# against the AWS CLI, in the same hyperfine run. The README's "One-shot encrypt over HTTPS"
# rows come from here.
#
# Peers, all on 127.0.0.1 and stopped on exit: the stub KMS of scripts/perf.sh (the tests' mock
# KMS, SigV4 checked on every call) behind `tls-front`, the tests' TLS front with a private CA
# made at start-up (written to a file that both clients get as AWS_CA_BUNDLE; the certificate
# names localhost). Both clients run with the same cleared environment. Nothing else is
# contacted.
#
# The AWS CLI is $AWS_CLI, else the `aws` that pyenv or PATH finds (not the pyenv shim), else
# one installed with pip into a venv under /tmp. $SDK_KMS_BIN, if set, is a third command: a
# CLI on the AWS SDK for Rust kept outside this repository, run as
# `$SDK_KMS_BIN <endpoint> <key-id> < plaintext` (see the README's footnote).
#
# Usage: scripts/perf-https.sh        (RUNS=50 CARGO_TARGET_DIR=... AWS_CLI=... are optional)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
target=$CARGO_TARGET_DIR
RUNS=${RUNS:-50}
MUSL=x86_64-unknown-linux-musl

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'perf-https.sh: error: %s\n' "$*" >&2; exit 1; }

command -v hyperfine >/dev/null || die "hyperfine is missing; apt-get install hyperfine"
command -v musl-gcc >/dev/null || die "musl-gcc is missing; apt-get install musl-tools"

work=$(mktemp -d)
stub_pid="" front_pid=""
cleanup() {
  if [ -n "$front_pid" ]; then kill "$front_pid" 2>/dev/null || true; fi
  if [ -n "$stub_pid" ]; then kill "$stub_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

aws_cli=${AWS_CLI:-}
if [ -z "$aws_cli" ] && command -v pyenv >/dev/null; then aws_cli=$(pyenv which aws 2>/dev/null || true); fi
if [ -z "$aws_cli" ]; then aws_cli=$(command -v aws || true); fi
if [ -z "$aws_cli" ]; then
  log "pip install awscli into /tmp/kms-seal-awscli"
  python3 -m venv /tmp/kms-seal-awscli
  /tmp/kms-seal-awscli/bin/pip install -q awscli
  aws_cli=/tmp/kms-seal-awscli/bin/aws
fi
aws_version=$("$aws_cli" --version 2>&1 | cut -d' ' -f1-2)

log "building (release stub-kms and tls-front, release-small kms-seal for $MUSL)"
cargo build -q --release -p kms-seal-tests --bin stub-kms --bin tls-front
cargo build -q --profile release-small --target "$MUSL" -p kms-seal-ureq --bin kms-seal
small=$target/$MUSL/release-small/kms-seal

announce() { # fifo -> sets name=value variables from the announce lines until "ready"
  local line
  while IFS= read -r line; do
    case $line in
      ready) return 0 ;;
      *=*) printf -v "ann_${line%%=*}" '%s' "${line#*=}" ;;
    esac
  done <"$1"
  return 1
}

mkfifo "$work/stub.fifo" "$work/front.fifo"
"$target/release/stub-kms" --port 0 >"$work/stub.fifo" 2>"$work/stub.err" &
stub_pid=$!
announce "$work/stub.fifo" || die "stub-kms did not start: $(cat "$work/stub.err")"
case $ann_endpoint in http://127.0.0.1:*) ;; *) die "stub endpoint $ann_endpoint is not loopback" ;; esac
backend=${ann_endpoint#http://}
"$target/release/tls-front" --backend "$backend" --ca-out "$work/ca.pem" >"$work/front.fifo" 2>"$work/front.err" &
front_pid=$!
announce "$work/front.fifo" || die "tls-front did not start: $(cat "$work/front.err")"
url=$ann_url
echo "stub-kms at $ann_endpoint behind $url (CA bundle $work/ca.pem); AWS CLI: $aws_cli ($aws_version)"

env_common=(env -i PATH="$PATH" HOME="$work"
  AWS_REGION="$ann_region" AWS_DEFAULT_REGION="$ann_region"
  AWS_ACCESS_KEY_ID=AKIDSTUBKMSBENCH0001
  AWS_SECRET_ACCESS_KEY=stub/kms/bench/secret/key/0000000000000
  AWS_CA_BUNDLE="$work/ca.pem" AWS_EC2_METADATA_DISABLED=true
  AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_CONFIG_FILE="$work/none"
  VAULT_SEAL_TYPE=awskms VAULT_AWSKMS_SEAL_KEY_ID="$ann_alias" AWS_KMS_ENDPOINT="$url")
head -c 32 /dev/urandom >"$work/plain"

log "checking both clients once"
"${env_common[@]}" "$small" encrypt <"$work/plain" >"$work/blob" || die "kms-seal encrypt failed"
"${env_common[@]}" "$small" decrypt <"$work/blob" | cmp -s - "$work/plain" || die "kms-seal decrypt failed"
aws_encrypt="$aws_cli kms encrypt --endpoint-url $url --key-id $ann_alias --plaintext fileb://$work/plain --output text --query CiphertextBlob"
"${env_common[@]}" $aws_encrypt >"$work/aws.out" || die "the AWS CLI could not encrypt"
echo "kms-seal round trip ok; AWS CLI encrypt ok ($(wc -c <"$work/aws.out") bytes of base64)"
if [ -n "${SDK_KMS_BIN:-}" ]; then
  "${env_common[@]}" "$SDK_KMS_BIN" "$url" "$ann_alias" <"$work/plain" >"$work/sdk.out" ||
    die "$SDK_KMS_BIN could not encrypt"
  echo "aws-sdk-kms encrypt ok ($(wc -c <"$work/sdk.out")-byte ciphertext blob)"
fi

if hyperfine --help | grep -q -- '--input'; then
  # hyperfine >= 1.16: no shell at all, the plaintext file on stdin.
  how=(-N --input "$work/plain" --output null)
  stdin=""
else
  # Older hyperfine runs each command through a shell and subtracts the shell's cost.
  how=()
  stdin=" < $work/plain"
fi
commands=(-n "kms-seal encrypt" "$small encrypt$stdin" -n "aws kms encrypt" "$aws_encrypt$stdin")
if [ -n "${SDK_KMS_BIN:-}" ]; then
  commands+=(-n "aws-sdk-kms encrypt" "$SDK_KMS_BIN $url $ann_alias$stdin")
fi
log "hyperfine: $RUNS runs each"
"${env_common[@]}" hyperfine --style basic "${how[@]}" --warmup 3 --runs "$RUNS" \
  --export-json "$work/run.json" "${commands[@]}" >&2
python3 - "$work/run.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]
for r in results:
    print("%-22s mean %8.2f ms  median %8.2f ms  sd %6.2f ms  (%.1fx kms-seal's mean)" % (
        r["command"], r["mean"] * 1e3, r["median"] * 1e3, r["stddev"] * 1e3,
        r["mean"] / base["mean"]))
PY
if [ -n "$stdin" ]; then
  # Without hyperfine's --input the figures above are net of an estimated shell start-up,
  # which is imprecise below 5 ms: a plain loop gives kms-seal's cost with fork and exec.
  start=$(date +%s%N)
  for _ in $(seq "$((RUNS * 4))"); do
    "${env_common[@]}" "$small" encrypt <"$work/plain" >/dev/null
  done
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v n="$((RUNS * 4))" \
    'BEGIN { printf "kms-seal encrypt, shell loop of %d runs: %.2f ms per run (fork, env and exec included)\n", n, ns / n / 1e6 }'
fi
echo "static kms-seal: $(stat -c %s "$small") bytes"
