#!/usr/bin/env python3
"""What an idle camrig costs — nobody recording, nobody watching — with the
pre-trigger off (the default) and on, per recording codec, beside ffmpeg
encoding the same pattern (the floor an always-on encoder cannot go under).
The test source at SIZE and FPS; CPU is the share of one core over SECONDS
(from /proc/PID/stat), memory the resident set at the end. Never fails.
    bench/idle_cost.py [--size 640x480] [--fps 30] [--seconds 10]
    (CAMRIG=build/camrig by default)"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
os.environ.setdefault("CAMRIG", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "camrig"))
from camrig_test import Daemon  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--size", default="640x480")
ap.add_argument("--fps", type=int, default=30)
ap.add_argument("--seconds", type=float, default=10)
args = ap.parse_args()
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(pid):
    time.sleep(2)  # past start-up and the first GOPs
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(args.seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0), rss_mib(pid)


rows = []
for codec, pre in (("h264", 0), ("mjpeg", 15), ("h264", 15), ("h265", 15), ("ffv1", 15)):
    with Daemon("--source", "test", "--size", args.size, "--fps", str(args.fps), "-o",
                f"camera.recording.codec={codec}", "-o", f"camera.recording.pre_trigger={pre}",
                "-o", "camera.recording.preset=veryfast") as d:
        cpu, rss = measure(d.proc.pid)
        rows.append((f"camrig {codec}, pre_trigger {pre}", cpu, rss))

w, h = args.size.split("x")
for codec, extra in (("libx264", ["-preset", "veryfast"]), ("mjpeg", ["-q:v", "5"])):
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi", "-i",
                          f"testsrc2=size={w}x{h}:rate={args.fps}", "-c:v", codec, *extra, "-f", "null", "-"])
    cpu, rss = measure(p.pid)
    p.terminate()
    p.wait()
    rows.append((f"ffmpeg {codec} (pattern + encode)", cpu, rss))

print(f"idle cost at {args.size} {args.fps} fps, {args.seconds:g} s each")
print(f"{'':40} {'CPU % of a core':>16} {'RSS MiB':>8}")
for name, cpu, rss in rows:
    print(f"{name:40} {cpu:16.1f} {rss:8.1f}")
