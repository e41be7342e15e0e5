#!/usr/bin/env python3
"""camrig as a systemd service: the notify protocol on a NOTIFY_SOCKET this
test listens on (as systemd gives a service: READY=1, STATUS=, WATCHDOG=1,
STOPPING=1), the watchdog pings stopping when a capture thread is wedged
(the test-only hook CAMRIG_TEST_WEDGE), and the unit file checked by
`systemd-analyze verify` and rated by `systemd-analyze security`.

Timing is judged generously and by the daemon's own counters: the wedge is
dated by the frame counter in /status standing still, and the pings must
stop within WatchdogSec of it (the daemon's bound is 5 s; WatchdogSec here
is 8 s)."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from camrig_test import CAMRIG, Checks, Daemon, log, wait_until

c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-service-")
BUILD = os.path.dirname(CAMRIG)


class NotifySocket:
    """The service manager's end: an AF_UNIX datagram socket; every message
    is kept with the time it arrived (time.monotonic())."""

    def __init__(self, path, on_ready=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.on_ready = on_ready
        self.ready_result = None
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            fields = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
            if "READY" in fields and self.on_ready:
                self.ready_result = self.on_ready()
            self.messages.append((now, fields))

    def times(self, key):
        return [t for t, f in self.messages if key in f]

    def statuses(self):
        return [f["STATUS"] for _, f in self.messages if "STATUS" in f]

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def get_status(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
            return r.status
    except OSError as e:
        return str(e)


try:
    # ---- the notify protocol ---------------------------------------------------
    path = os.path.join(tmp, "notify")
    holder = {}
    ns = NotifySocket(path, on_ready=lambda: get_status(holder["port"]))
    d = Daemon("--source", "test", "--fps", "30", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    holder["port"] = d.port
    with d:
        ok = wait_until(lambda: len(ns.times("WATCHDOG")) >= 3, 15)
        c.check(ns.times("READY"), "READY=1 is sent", str(ns.messages[:3]))
        c.check(ns.ready_result == 200, "... once HTTP answers (GET /status at READY=1 gets 200)",
                str(ns.ready_result))
        ready_status = [f.get("STATUS", "") for _, f in ns.messages if "READY" in f]
        c.check(ready_status and re.search(r"camera: running [0-9.]+ fps", ready_status[0]),
                "READY=1 comes with a STATUS= line naming the camera", str(ready_status))
        pings = ns.times("WATCHDOG")
        c.check(len(pings) >= 3, f"WATCHDOG=1 is sent periodically ({len(pings)} pings)")
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        c.check(gaps and max(gaps) < 3.0, "... more often than WatchdogSec (3 s)", str(gaps))
        wait_until(lambda: any("30.0 fps" in s or "29." in s for s in ns.statuses()), 10)
        c.check(any(re.search(r"camera: running (29|30)\.[0-9] fps; [0-9]+ live views", s) for s in ns.statuses()),
                "STATUS= says the camera's measured fps and the live views", str(ns.statuses()[-3:]))
        st, body = d.post_json("/api/command", b"start_recording")
        wait_until(lambda: "recording" in ns.statuses()[-1], 10)
        c.check("recording" in ns.statuses()[-1], "STATUS= says the camera records", ns.statuses()[-1])
        d.post_json("/api/command", b"stop_recording")
        rc = d.stop()
        c.check(rc == 0, "camrig exits 0 on SIGTERM", str(rc))
    time.sleep(0.3)
    c.check(ns.times("STOPPING"), "STOPPING=1 is sent when it stops")
    if ns.times("STOPPING") and pings:
        c.check(ns.times("STOPPING")[0] > ns.times("READY")[0], "... after READY=1")
    ns.close()

    # ---- no NOTIFY_SOCKET: nothing is tried ----------------------------------
    with Daemon("--source", "test", env={"NOTIFY_SOCKET": ""}) as d:
        c.check("watchdog" not in d.log(), "without NOTIFY_SOCKET no watchdog runs")

    # ---- a wedged capture thread ---------------------------------------------
    path = os.path.join(tmp, "notify-wedge")
    ns = NotifySocket(path)
    watchdog_s = 8.0
    wedge_after = 200  # about 6.7 s: two ticks of 2.7 s before it
    d = Daemon("--source", "test", "--fps", "30",
               env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(int(watchdog_s * 1e6)),
                    "CAMRIG_TEST_WEDGE": f"capture:{wedge_after}"})
    with d:
        ok = wait_until(lambda: d.status()["camera"]["frames"]["captured"] >= wedge_after, 20)
        t_wedge = time.monotonic()  # no earlier than the wedge itself
        captured = d.status()["camera"]["frames"]["captured"]
        c.check(captured == wedge_after, f"the hook wedges the capture thread after {wedge_after} frames",
                str(captured))
        time.sleep(watchdog_s + 4)
        captured = d.status()["camera"]["frames"]["captured"]
        c.check(captured == wedge_after, "... and it stays wedged (no frame since)", str(captured))
        pings = ns.times("WATCHDOG")
        before = [t for t in pings if t < t_wedge]
        late = [t - t_wedge for t in pings if t > t_wedge + watchdog_s]
        c.check(before, f"pings came while the thread ran ({len(before)})")
        c.check(not late, f"no ping more than WatchdogSec ({watchdog_s:.0f} s) after the wedge", str(late))
        wedged = [s for s in ns.statuses() if s.startswith("wedged:")]
        c.check(wedged and "cam:camera" in wedged[-1], "STATUS= names the wedged thread", str(wedged[-1:]))
        c.check("watchdog: thread cam:camera has been busy" in d.log(), "the log says which thread is wedged")
        st, _, _ = d.get("/healthz")
        c.check(st == 503, "/healthz is 503 while no frames come", str(st))
    ns.close()

    # ---- a camera that is merely gone is no wedge -----------------------------
    # A url clip whose server has gone: at its end the camera cannot reopen
    # it and waits to try again.
    path = os.path.join(tmp, "notify-lost")
    ns = NotifySocket(path)
    clip = os.path.join(tmp, "clip.mkv")
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "mjpeg", clip], check=True)
    served = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", "-b", "127.0.0.1", "0", "-d", tmp],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = served.stdout.readline()
    port = int(re.search(r"port (\d+)", line).group(1))
    try:
        d = Daemon("--source", f"url:http://127.0.0.1:{port}/clip.mkv",
                   env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
        with d:
            served.terminate()
            served.wait()
            cam = d.wait_camera(lambda cam: cam["state"] == "lost", 30)
            c.check(cam["state"] == "lost", "the clip's server gone, the camera is lost (reopening)", cam["state"])
            t0 = time.monotonic()
            time.sleep(5)
            pings = [t for t in ns.times("WATCHDOG") if t > t0 + 1]
            c.check(len(pings) >= 2, f"a camera that is lost and being reopened still gets pings "
                    f"({len(pings)} in 4 s)")
    finally:
        if served.poll() is None:
            served.terminate()
            served.wait()
    ns.close()

    # ---- the unit file ----------------------------------------------------------
    unit = os.path.join(BUILD, "camrig.service")
    if not shutil.which("systemd-analyze"):
        log("SKIP (part): systemd-analyze is not installed")
    elif not os.path.exists(unit):
        c.check(False, "the build configures camrig.service", unit)
    else:
        text = open(unit).read()
        for key in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "User=camrig", "StateDirectory=camrig",
                    "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes",
                    "DeviceAllow=char-video4linux", "DeviceAllow=char-gpiochip", "RestrictAddressFamilies=",
                    "CapabilityBoundingSet=\n"):
            c.check(key in text, f"camrig.service has {key.strip()}")
        mine = os.path.join(tmp, "camrig.service")
        exec_line = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
        with open(mine, "w") as f:
            f.write(text.replace(exec_line, CAMRIG))
        v = subprocess.run(["systemd-analyze", "verify", mine], capture_output=True, text=True)
        c.check(v.returncode == 0 and not v.stderr.strip(), "systemd-analyze verify passes, without a warning",
                v.stderr)
        s = subprocess.run(["systemd-analyze", "security", "--offline=true", mine], capture_output=True,
                           text=True)
        m = re.search(r"Overall exposure level for camrig.service: ([0-9.]+) (\w+)", s.stdout)
        c.check(m is not None, "systemd-analyze security rates the unit", s.stdout[-300:] + s.stderr)
        if m:
            log(f"systemd-analyze security: exposure {m.group(1)} {m.group(2)}")
            c.check(float(m.group(1)) <= 2.0, f"... well: exposure {m.group(1)} ({m.group(2)}; at most 2.0)")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

c.done()
