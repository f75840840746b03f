#!/usr/bin/env python3
"""Start-up time of the OpenBao plugin: from exec to its handshake line on stdout.

Usage: scripts/plugin-startup.py BINARY [RUNS]   (default 50 runs)

Each run starts BINARY with go-plugin's environment as OpenBao 2.7 sets it (magic cookie,
PLUGIN_PROTOCOL_VERSIONS=1, PLUGIN_CLIENT_CERT: a go-plugin-style self-signed P-521 / SHA-512
CA:TRUE certificate made once with openssl), reads the first stdout line, checks its shape,
then sends SIGTERM and checks a clean exit. Prints min / median / p90 / max in milliseconds.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def client_cert(directory):
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521",
         "-sha512", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/O=HashiCorp/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "extendedKeyUsage=clientAuth,serverAuth"],
        check=True, capture_output=True)
    with open(cert) as f:
        return f.read()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 50
    with tempfile.TemporaryDirectory() as directory:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TMPDIR": directory,
            "AWS_EC2_METADATA_DISABLED": "true",
            "OPENBAO_KMS_PLUGIN": "39704a18-7da7-4bda-9a2d-f7c488d70328",
            "PLUGIN_PROTOCOL_VERSIONS": "1",
            "PLUGIN_MIN_PORT": "10000",
            "PLUGIN_MAX_PORT": "25000",
            "PLUGIN_CLIENT_CERT": client_cert(directory),
        }
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            child = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            line = child.stdout.readline()
            elapsed = time.perf_counter() - start
            fields = line.decode().rstrip("\n").split("|")
            if len(fields) != 6 or fields[:3] != ["1", "1", "unix"] or fields[4] != "grpc":
                child.kill()
                sys.exit(f"bad handshake line {line!r}; stderr: {child.stderr.read()!r}")
            child.send_signal(signal.SIGTERM)
            if child.wait(timeout=5) != 0 or os.path.exists(fields[3]):
                sys.exit(f"unclean exit {child.returncode}; stderr: {child.stderr.read()!r}")
            times.append(elapsed * 1000)
    times.sort()
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{binary}: exec to handshake line over {runs} runs: min {times[0]:.2f} ms, "
          f"median {statistics.median(times):.2f} ms, p90 {p90:.2f} ms, max {times[-1]:.2f} ms")


if __name__ == "__main__":
    main()
