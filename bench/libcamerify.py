#!/usr/bin/env python3
"""Issue 10's benchmark: a libcamera camera served three ways, side by side.

    /usr/bin/python3 bench/libcamerify.py [--camrig build/camrig]

In the vimc guest (shared/tools/vm-run: the kernel's vimc media-controller
camera, which libcamera's vimc pipeline handler drives), the same camera at
the same size and rate, each in turn:
  camrig libcamera     camrig's own libcamera source (--source libcamera)
  camrig libcamerify   camrig's V4L2 source on the camera's video node under
                       libcamerify (libcamera's V4L2 compatibility layer,
                       what V4L2 programs use on a Pi's CSI camera)
  ustreamer libcamerify  Debian's ustreamer the same way (what Pi users do today)
Each serves 2 MJPEG clients for BENCH_SECONDS (default 10); the table gives
delivered fps per client, camrig's captured fps (its /status), CPU per
delivered frame (the server's utime + stime over the window divided by the
frames a client received: capture, one encode, sending to both) and each
against camrig's native source. The
measuring code is bench/pressure.py's (its Server and window); see its
header for how each number is taken. vimc's own frame generation (a kernel
thread) is the same for all three and counted in none.

Environment: BENCH_SECONDS, VM_RUN (default ../shared/tools/vm-run),
VM_RUN_CPUS (guest CPUs, default 2). Needs libcamera-tools (libcamerify),
libcamera-v4l2 and ustreamer (scripts/install-deps.sh test). A benchmark:
it prints numbers and never fails on them; it exits 1 only when the guest
part could not run at all."""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pressure  # noqa: E402  (its measuring code, shared, not copied)

ROOT = os.path.dirname(HERE)
SECONDS = pressure.SECONDS
# vimc's libcamera pipeline takes sizes that are multiples of 6 (its scaler
# triples the sensor's size); 480x360 is one of them.
SIZE = "480x360"
FPS = 30
CLIENTS = 2


def compat_node():
    """The /dev/videoN that libcamera's V4L2 compatibility layer serves as the
    libcamera camera (its driver name is "libcamera" under libcamerify)."""
    for name in sorted(os.listdir("/dev")):
        if not re.fullmatch(r"video\d+", name):
            continue
        p = subprocess.run(["libcamerify", "v4l2-ctl", "-d", f"/dev/{name}", "--info"],
                           capture_output=True, text=True, timeout=120)
        if re.search(r"Driver name\s*:\s*libcamera", p.stdout):
            return f"/dev/{name}", p.stdout
    return None, ""


def guest_main(camrig):
    """Inside the guest: each server in turn; prints JSON on stdout."""
    out = {"cpus": os.cpu_count(), "cells": {}, "errors": []}
    node, info = compat_node()
    pressure.progress(f"libcamerify's node: {node}")
    formats = subprocess.run(["libcamerify", "v4l2-ctl", "-d", node or "/dev/video0", "--list-formats"],
                             capture_output=True, text=True, timeout=120).stdout
    out["formats"] = formats
    # RGB24 (V4L2's RGB3, libcamera's BGR888: libcamera names a format by
    # the word's order, V4L2 by the bytes'): vimc's stream has it, and it is
    # the only RGB format ustreamer takes.
    fmt = "RGB24"
    common = ["--size", SIZE, "--fps", str(FPS), "-o", "camera.jpeg.quality=80", "-o", "camera.jpeg.workers=2",
              "-o", "camera.recording.pre_trigger=0", "--log-level", "warn"]
    servers = [
        ("camrig libcamera", [camrig, "run", "--source", "libcamera", *common], "--listen", "/status",
         "/stream.mjpg", True),
        ("camrig libcamerify", ["libcamerify", camrig, "run", "--source", f"v4l2:{node}", "--format", fmt, *common],
         "--listen", "/status", "/stream.mjpg", True),
        ("ustreamer libcamerify", ["libcamerify", pressure.USTREAMER, "--device", str(node), "--resolution", SIZE,
                                   "--format", fmt, "--desired-fps", str(FPS),
                                   "--quality", "80", "--workers", "2", "--encoder", "CPU", "--host", "127.0.0.1"],
         "--port", "/state", "/stream?extra_headers=1", False),
    ]
    for name, cmd, port_flag, ready, stream, is_camrig in servers:
        if node is None and "libcamerify" in name:
            out["errors"].append(f"{name}: no video node that libcamerify serves ({info.strip()[:200]})")
            continue
        port = pressure.free_port()
        cmd = cmd + [port_flag, str(port) if port_flag == "--port" else f"127.0.0.1:{port}"]
        pressure.progress(f"guest: {name}: {' '.join(cmd)}")
        try:
            with pressure.Server(name, cmd, port, ready, stream, is_camrig) as s:
                # libcamera's start and the first frames: camrig says when it
                # has them; ustreamer gets the same 5 s at least.
                deadline = time.monotonic() + 90
                time.sleep(5)
                while is_camrig and not s.camera()["frames"]["captured"] and time.monotonic() < deadline:
                    time.sleep(1)
                out["cells"][name] = s.window(CLIENTS, SECONDS, 1.0)
        except (RuntimeError, OSError) as e:
            out["errors"].append(f"{name}: {e!r}")
            pressure.progress(traceback.format_exc())
    json.dump(out, sys.stdout)


def print_table(g):
    print(f"libcamera three ways (issue 10): vimc {SIZE} at {FPS} fps asked, {CLIENTS} MJPEG clients, "
          f"{SECONDS:g} s windows, guest {g['cpus']} CPUs (QEMU TCG, 10-20x slower than the host)")
    cols = ("server", "fps/client", "captured fps", "CPU %", "CPU ms/frame", "ms/frame vs native",
            "latency p50/p99 ms")
    rows = []
    native = g["cells"].get("camrig libcamera", {}).get("cpu_ms_frame")
    for name, c in g["cells"].items():
        fps = min(c["fps"]) if c["fps"] else float("nan")
        ratio = c["cpu_ms_frame"] / native if native else float("nan")
        rows.append((name, pressure.f1(fps), pressure.f1(c.get("captured_fps", float("nan"))),
                     pressure.f1(c["cpu_pct"]), pressure.f1(c["cpu_ms_frame"]),
                     pressure.f2(ratio), f"{pressure.f1(c['lat_p50_ms'])} / {pressure.f1(c['lat_p99_ms'])}"))
    width = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(cols)]
    print("  ".join(h.ljust(w) for h, w in zip(cols, width)).rstrip())
    for r in rows:
        print("  ".join(x.ljust(w) for x, w in zip(r, width)).rstrip())
    for e in g["errors"]:
        print("not measured:", e)
    print("latency: the last byte of a part read minus its capture time (camrig's X-Capture-Monotonic-Ns, "
          "ustreamer's grab time); libcamera stamps frames at the sensor, the compatibility layer passes that on")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--camrig", default=os.environ.get("CAMRIG", os.path.join(ROOT, "build", "camrig")))
    ap.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)  # inside the vimc guest
    args = ap.parse_args()
    camrig = os.path.abspath(args.camrig)
    if args.guest:
        guest_main(camrig)
        return 0
    if not os.access(camrig, os.X_OK):
        pressure.progress(f"no camrig binary at {camrig} (build it, or pass --camrig)")
        return 1
    g = pressure.run_guest(camrig, "libcamerify.py", timeout=1200)
    if g is None:
        return 1
    print_table(g)
    return 0


if __name__ == "__main__":
    sys.exit(main())
