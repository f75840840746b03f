#!/usr/bin/env bash
# The main job, end to end: starts a local KMS emulator (moto, with SigV4 checking on) on
# loopback, creates a key, and shows encrypt, inspect, decrypt, check and rewrap with the
# kms-seal CLI, including a key rotation. Nothing leaves 127.0.0.1.
#
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== building kms-seal (release)" >&2
cargo build --release -p kms-seal-ureq --bin kms-seal -q
KMS_SEAL=${CARGO_TARGET_DIR:-$PWD/target}/release/kms-seal

PY=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
PORT=$("$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
work=$(mktemp -d)
INITIAL_NO_AUTH_ACTION_COUNT=4 "$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >"$work/moto.log" 2>&1 &
MOTO_PID=$!
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done
ENDPOINT="http://127.0.0.1:$PORT"
boot=$(AWS_EC2_METADATA_DISABLED=true "$PY" scripts/moto_bootstrap.py "$ENDPOINT" alias/vault-unseal)
field() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$boot" "$1"; }

# Configure the seal the way Vault is configured from the environment.
export VAULT_SEAL_TYPE=awskms
export VAULT_AWSKMS_SEAL_KEY_ID=alias/vault-unseal
export AWS_REGION=us-east-1
export AWS_KMS_ENDPOINT=$ENDPOINT
export AWS_ACCESS_KEY_ID; AWS_ACCESS_KEY_ID=$(field access_key_id)
export AWS_SECRET_ACCESS_KEY; AWS_SECRET_ACCESS_KEY=$(field secret_access_key)
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE

say() { printf '\n$ %s\n' "$*"; }

say "echo -n 'my root key' | kms-seal encrypt > value.bin"
printf 'my root key' | "$KMS_SEAL" encrypt >"$work/value.bin"
echo "($(stat -c %s "$work/value.bin") bytes: a bare BlobInfo, as Vault stores it)"

say "kms-seal inspect < value.bin"
"$KMS_SEAL" inspect <"$work/value.bin"

say "kms-seal decrypt < value.bin"
"$KMS_SEAL" decrypt <"$work/value.bin"; echo

say "kms-seal check"
"$KMS_SEAL" check

say "rotate: create a new key and move alias/vault-unseal to it (aws kms update-alias)"
"$PY" - "$ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" <<'PY'
import sys, boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
new = kms.create_key(Description="rotated")["KeyMetadata"]
kms.update_alias(AliasName="alias/vault-unseal", TargetKeyId=new["KeyId"])
print("alias/vault-unseal ->", new["Arn"])
PY

say "kms-seal rewrap value.bin   (old value still decrypts; rewrap moves it to the new key)"
"$KMS_SEAL" rewrap "$work/value.bin"

say "kms-seal inspect < value.bin"
"$KMS_SEAL" inspect <"$work/value.bin"

say "kms-seal decrypt < value.bin"
"$KMS_SEAL" decrypt <"$work/value.bin"; echo

say "kms-seal rewrap value.bin   (already up to date: skipped)"
"$KMS_SEAL" rewrap "$work/value.bin"

say "wrong secret key: KMS rejects the signature (exit status 1, nothing on stdout)"
set +e
AWS_SECRET_ACCESS_KEY=not-the-secret "$KMS_SEAL" decrypt <"$work/value.bin"
echo "exit status $?"
set -e
echo
echo "demo finished"
