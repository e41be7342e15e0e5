#!/usr/bin/env python3
"""Benchmark (not a test): Aravis's fake GigE Vision camera on loopback at
1280x1024 Mono8. For each frame rate, camrig records SECONDS of it (ffv1,
lossless, so the encoder is not the limit... on 2 cores it may be) and the
run reports frames captured, frames lost (the daemon's own counters and the
sidecar's lost rows) and camrig's CPU time per frame; then
arv-camera-test-0.8 (Aravis's own acquisition tool, no recording) on the
same camera for the same time, with its CPU per frame. The highest rate
camrig records with zero lost frames is the figure. Never fails on numbers.

  bench/aravis_fake_gige.py [CAMRIG] [SECONDS] [RATE...]   (defaults: build/camrig, 60, 25 50 100 150)
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

camrig = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/camrig")
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 60
rates = [float(r) for r in sys.argv[3:]] or [25, 50, 100, 150]
TCK = os.sysconf("SC_CLK_TCK")
W, H = 1280, 1024


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
        return json.loads(r.read())["cameras"][0]


def post(port, line):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/command", data=line.encode(), headers={"X-Camrig": "1"})
    with urllib.request.urlopen(req, timeout=15) as r:
        return json.loads(r.read())


fake = subprocess.Popen(["arv-fake-gv-camera-0.8", "-i", "127.0.0.1", "-s", "BENCH"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
time.sleep(2)
results = []
try:
    for rate in rates:
        tmp = tempfile.mkdtemp(prefix="camrig-bench-")
        port = free_port()
        cfg = os.path.join(tmp, "camrig.yaml")
        with open(cfg, "w") as f:
            f.write(f'cameras:\n  - source: "aravis:Aravis-Fake-BENCH"\n    format: Mono8\n    size: {W}x{H}\n'
                    f"    fps: {rate}\n    jpeg: {{workers: 1}}\n    recording: {{codec: ffv1}}\n")
        d = subprocess.Popen([camrig, "run", "--config", cfg, "--listen", f"127.0.0.1:{port}", "--log-level", "warn"],
                             cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                status(port)
                break
            except OSError:
                time.sleep(0.1)
        post(port, "start_recording")
        c0, s0, t0 = cpu_s(d.pid), status(port), time.monotonic()
        time.sleep(secs)
        c1, s1, t1 = cpu_s(d.pid), status(port), time.monotonic()
        post(port, "stop_recording")
        time.sleep(1)
        rec = s1["recording"]
        frames = s1["frames"]["captured"] - s0["frames"]["captured"]
        lost = s1["frames"]["lost_upstream"] - s0["frames"]["lost_upstream"]
        results.append((rate, frames / (t1 - t0), frames, lost, rec["frames"]["dropped"], rec["frames"]["lost"],
                        1e3 * (c1 - c0) / max(frames, 1)))
        d.send_signal(signal.SIGTERM)
        d.wait(30)
        subprocess.run(["rm", "-rf", tmp])

        # Aravis's own tool on the same camera and rate, acquiring only.
        a = subprocess.Popen(["arv-camera-test-0.8", "-n", "Aravis-Fake-BENCH", "-f", str(rate), "-w", str(W),
                              "-h", str(H), "--no-packet-socket", "-a"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        a0, at0 = cpu_s(a.pid), time.monotonic()
        time.sleep(secs)
        a1, at1 = cpu_s(a.pid), time.monotonic()
        a.send_signal(signal.SIGINT)
        out = a.communicate(timeout=30)[0]
        rates_seen = [int(x) for x in re.findall(r"(\d+) frames/s", out)][1:]  # the first second is start-up
        errors = sum(int(x) for x in re.findall(r"(\d+) error", out))
        n = sum(rates_seen) * secs / max(len(rates_seen), 1)
        results[-1] += (sum(rates_seen) / max(len(rates_seen), 1), errors, 1e3 * (a1 - a0) / max(n, 1))
finally:
    fake.send_signal(signal.SIGTERM)
    fake.wait(10)

print(f"fake GigE camera {W}x{H} Mono8, {secs:g} s per rate, loopback; camrig records ffv1")
print(f"{'rate':>6} {'camrig fps':>10} {'frames':>7} {'lost':>5} {'rec.drop':>8} {'rec.lost':>8} {'ms CPU/frame':>12}"
      f" | {'arv fps':>8} {'arv err':>7} {'ms CPU/frame':>12}")
for r in results:
    print(f"{r[0]:6g} {r[1]:10.1f} {r[2]:7d} {r[3]:5d} {r[4]:8d} {r[5]:8d} {r[6]:12.2f} | {r[7]:8.1f} {r[8]:7d} {r[9]:12.2f}")
best = [r[0] for r in results if r[3] == 0 and r[4] == 0 and r[5] == 0]
print("highest rate with zero lost frames:", max(best) if best else "none")
