#!/usr/bin/env python3
"""How long camrig takes to refuse HTTP Basic credentials: a known user with
a wrong password against an unknown user, N interleaved pairs, each pair
from its own loopback address (no throttling). Prints medians, p90 and the
difference; run it on a quiet machine. Never fails.
    bench/auth_timing.py [--pairs N]     (CAMRIG=build/camrig by default)"""
import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
os.environ.setdefault("CAMRIG", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "camrig"))
from camrig_test import Daemon, free_port  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--pairs", type=int, default=500)
args = ap.parse_args()
tmp = tempfile.mkdtemp(prefix="camrig-auth-bench-")
hash_ = subprocess.run(["openssl", "passwd", "-6", "secret"], capture_output=True, text=True, check=True).stdout
path = os.path.join(tmp, "passwords")
with open(path, "w") as f:
    f.write(f"alice:{hash_.strip()}\n")
os.chmod(path, 0o600)


def refuse(port, user, src):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(src, 0))
    t0 = time.perf_counter()
    conn.request("GET", "/status", headers={"Authorization": "Basic " + base64.b64encode(
        f"{user}:wrong".encode()).decode()})
    conn.getresponse().read()
    conn.close()
    return time.perf_counter() - t0


port = free_port()
with Daemon("--source", "test", config=f"http: {{listen: 127.0.0.1:{port}, password_file: {path}}}\n", port=port,
            listen=False):
    known, unknown = [], []
    for i in range(args.pairs):
        src = f"127.1.{i // 250}.{1 + i % 250}"
        for user, out in (("alice", known), ("mallory", unknown))[::1 if i % 2 else -1]:
            out.append(refuse(port, user, src))


def q(v, p):
    return sorted(v)[int(p * (len(v) - 1))] * 1e3


print(f"{'':14} {'median ms':>10} {'p90 ms':>8}")
print(f"{'known user':14} {statistics.median(known) * 1e3:10.3f} {q(known, 0.9):8.3f}")
print(f"{'unknown user':14} {statistics.median(unknown) * 1e3:10.3f} {q(unknown, 0.9):8.3f}")
print(f"difference of medians: {abs(statistics.median(known) - statistics.median(unknown)) * 1e3:.3f} ms "
      f"({args.pairs} pairs)")
