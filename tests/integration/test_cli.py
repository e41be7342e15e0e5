#!/usr/bin/env python3
"""The command line: --help, --version, unknown commands, start-up failures
that exit non-zero with one clear line (bad source, port taken, bad config),
clean exit 0 on SIGINT and SIGTERM, `camrig list`, and `camrig run` with no
arguments serving the test pattern on 127.0.0.1:8080 when there is no camera."""
import glob
import json
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from camrig_test import CAMRIG, Checks, Daemon, free_port, log

c = Checks()


def run(*args, timeout=20):
    p = subprocess.run([CAMRIG, *args], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


rc, out, err = run("--version")
c.check(rc == 0 and out.startswith("camrig ") and out.strip().split()[1][0].isdigit(), "--version", out + err)
rc, out, err = run("--help")
c.check(rc == 0 and "run" in out and "list" in out and "--listen" in out and "--source" in out, "--help")
rc, out, err = run("run", "--help")
c.check(rc == 0 and "--size" in out, "run --help")
rc, out, err = run("frobnicate")
c.check(rc == 2 and "unknown command" in err and len(err.strip().splitlines()) == 1,
        "an unknown command exits 2 with one line", err)
rc, out, err = run("run", "--bogus-option")
c.check(rc == 2, "an unknown option exits 2", err)
rc, out, err = run()
c.check(rc == 2 and "Usage" in err, "no command prints usage and exits 2")


def start_fails(args, must_contain, what):
    rc, out, err = run("run", "--listen", f"127.0.0.1:{free_port()}", *args)
    lines = [l for l in err.strip().splitlines() if l]
    ok = rc != 0 and lines and all(s in lines[-1] for s in must_contain)
    c.check(ok, what, f"rc={rc} stderr={err!r}")


start_fails(["--source", "bogus:thing"], ["bogus:thing", "expected"], "an unknown source kind is refused")
start_fails(["--source", "v4l2:/dev/video99"], ["/dev/video99"], "a missing V4L2 device is refused, naming it")
start_fails(["--source", "file:/nonexistent/clip.mp4"], ["/nonexistent/clip.mp4"],
            "a missing file is refused, naming it")
start_fails(["--size", "big"], ["size", "big"], "a bad --size is refused")
start_fails(["--source", "test", "-o", "camera.controls.exposure=10"], ["camera", "exposure", "no such control",
            "brightness"], "a control the source lacks is refused at start, naming the ones it has")

with socket.socket() as taken:
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    rc, out, err = run("run", "--source", "test", "--listen", f"127.0.0.1:{port}")
    c.check(rc != 0 and f"127.0.0.1:{port}" in err and "in use" in err,
            "a port in use is refused, naming it", err)

with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
    f.write("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    colour: red\n")
    f.flush()
    rc, out, err = run("run", "--config", f.name)
    c.check(rc != 0 and f"{f.name}:5:" in err and "colour" in err, "an unknown config key is refused with FILE:LINE",
            err)
# Errors found after parsing (names, encoders, what must go together) still
# point at the line that holds the key.
SEMANTIC = [
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "  - name: a\n    source: test\n", 6, ["cameras.1.name", "unique"], "a duplicate camera name"),
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "    recording:\n      codec: h265_nosuch\n", 7, ["h265_nosuch", "expected"], "an unknown encoder"),
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "ntfy:\n  enabled: true\n", 6, ["ntfy.topic", "missing"], "ntfy without a topic"),
    # the GPIO click map, checked with the command grammar even while gpio is off
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "gpio:\n  preset: timelapse\n  clicks:\n    1: snapshot\n"
     "    3: \"timelapse start; while timelapse: timelapse halt\"\n", 10,
     ["gpio.clicks.3", "timelapse halt", "unknown action", "expected one of: start,"], "a GPIO rule's bad command"),
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "gpio:\n  clicks:\n    3: \"start_recording; while running: stop_recording\"\n", 8,
     ["gpio.clicks.3", "unknown state \"running\"", "expected one of: recording, timelapse, paused"],
     "a GPIO rule's unknown state"),
    ("http:\n  listen: 127.0.0.1:0\ncameras:\n  - name: a\n    source: test\n"
     "gpio:\n  preset: printer\n", 7, ["gpio.preset", "printer", "expected one of: recording, timelapse"],
     "an unknown GPIO preset"),
]
for text, line, words, what in SEMANTIC:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        rc, out, err = run("run", "--config", f.name)
        last = err.strip().splitlines()[-1] if err.strip() else ""
        c.check(rc != 0 and f"{f.name}:{line}:" in last and all(w in last for w in words),
                f"{what} is refused with FILE:LINE", err)
rc, out, err = run("run", "--config", "/nonexistent.yaml")
c.check(rc != 0 and "/nonexistent.yaml" in err, "a missing config file is refused, naming it", err)

# Port 0: the kernel picks one, and the log says which (not ":0").
p = subprocess.Popen([CAMRIG, "run", "--source", "test", "--listen", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
served = None
for line in p.stderr:
    if "serving http://" in line:
        served = line.split("serving ", 1)[1].split()[0]
        break
ok = False
if served and not served.endswith(":0/"):
    with urllib.request.urlopen(served + "status", timeout=10) as r:
        ok = r.status == 200
p.terminate()
p.wait(timeout=15)
c.check(ok, "--listen 127.0.0.1:0 logs the port it took, and serves there", str(served))

# Clean stop: exit 0 on SIGINT and on SIGTERM (Daemon checks the exit code).
for sig in (signal.SIGINT, signal.SIGTERM):
    d = Daemon("--source", "test")
    with d:
        rc = d.stop(sig)
    c.check(rc == 0, f"{sig.name} stops camrig with exit 0", str(rc))

rc, out, err = run("list")
has_devices = bool(glob.glob("/dev/video*"))
c.check(rc == 0 and (has_devices or "no V4L2 capture devices" in out), "camrig list", out + err)
rc, out, err = run("list", "--json")
try:
    listing = json.loads(out)
except ValueError:
    listing = {}
lc = listing.get("libcamera", "absent")
c.check(rc == 0 and (lc is None or isinstance(lc, list)) and isinstance(listing.get("v4l2"), list)
        and "libcamera" in [s["name"] for s in listing.get("sources", [])],
        "camrig list --json: libcamera cameras (null without libcamera), V4L2 devices and the kinds of source",
        out[:400] + err)

# A sensor: block only means something on a V4L2 camera with a sensor sub-device.
rc, out, err = run("run", "--listen", "127.0.0.1:0", "--source", "test", "-o", "camera.sensor.format=SRGGB10",
                   "-o", "camera.recording.pre_trigger=0")
c.check(rc == 1 and "sensor:" in err and "no sensor sub-device" in err,
        "a sensor: block on the test pattern refuses to start, saying why", err[-300:])

# The main job: `camrig run` with no arguments and no camera serves the moving
# test pattern at http://127.0.0.1:8080.
if has_devices:
    log("skip: this machine has /dev/video* devices, so auto would not pick the test pattern")
else:
    with socket.socket() as probe:
        free = probe.connect_ex(("127.0.0.1", 8080)) != 0
    if not free:
        log("skip: something already listens on 127.0.0.1:8080")
    else:
        p = subprocess.Popen([CAMRIG, "run"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())
        try:
            status = None
            for _ in range(100):
                try:
                    with urllib.request.urlopen("http://127.0.0.1:8080/status", timeout=2) as r:
                        import json
                        status = json.loads(r.read())
                        break
                except OSError:
                    time.sleep(0.1)
            c.check(status and status["camera"]["device"] == "test", "camrig run (no arguments) serves the test "
                    "pattern on 127.0.0.1:8080", str(status and status["camera"]))
            with urllib.request.urlopen("http://127.0.0.1:8080/snapshot.jpg", timeout=10) as r:
                a = r.read()
            with urllib.request.urlopen("http://127.0.0.1:8080/snapshot.jpg", timeout=10) as r:
                b = r.read()
            c.check(a[:2] == b"\xff\xd8" and a != b, "the default pattern moves (two snapshots differ)")
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(15)
        c.check(rc == 0, "and stops with exit 0", str(rc))

c.done()
