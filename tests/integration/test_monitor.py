#!/usr/bin/env python3
"""`camrig monitor` in tmux at 80x24 (keys sent, the screen read back):
it shows the camera's measured fps, starts and stops a recording with its
keys, survives a resize and a daemon restart, and quits with q. `camrig
status` prints the same view once, `--json` the daemon's /status.

Everything is judged by what the screen and the daemon say, polled with
generous limits; tmux runs on a socket of its own."""
import json
import os
import re
import subprocess
import time

from camrig_test import CAMRIG, Checks, Daemon, free_port, need, wait_until

need("tmux")
c = Checks()
SOCK = f"camrig-test-{os.getpid()}"
SESSION = "monitor"


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def pane(fmt):
    return tmux("list-panes", "-t", SESSION, "-F", fmt).stdout.strip()


def wait_screen(pattern, seconds=15):
    """The screen once it matches pattern (a regex), else None."""
    ok = wait_until(lambda: re.search(pattern, screen(), re.M), seconds, step=0.2)
    return screen() if ok else None


port = free_port()
# The monitor's exit status, written by the shell that runs it in the pane:
# tmux 3.3's #{pane_dead_status} stays empty after some exits.
STATUS = f"/tmp/camrig-test-monitor-{os.getpid()}.status"
try:
    with Daemon("--source", "test", "--fps", "30", "-o", "camera.recording.pre_trigger=2", port=port) as d:
        tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24",
             f"{CAMRIG} monitor --listen 127.0.0.1:{port}; echo $? > {STATUS}")
        tmux("set-option", "-t", SESSION, "remain-on-exit", "on")
        s = wait_screen(r"camera\s+running\s+(2[4-9]|3[0-4])\.\d fps")
        c.check(s is not None, "the monitor shows the camera running at its measured fps (about 30)", screen())
        if s:
            lines = s.rstrip("\n").split("\n")
            c.check(len(lines) <= 24 and all(len(line) <= 80 for line in lines), "... within 80x24")
            for what in ("host: CPU", "camrig: CPU", "http: ", "frames ", "dropped ", "lost ", "clients ",
                         "pre-trigger [", "timelapse idle", "events:"):
                c.check(what in s, f"... and shows {what.strip()}")
            c.check(re.search(r"^r record .* q quit", lines[-1]), "the keys are on the bottom row", lines[-1])
        tmux("send-keys", "-t", SESSION, "r")
        s = wait_screen(r"RECORDING \d\d:\d\d", 15)
        c.check(s is not None, "r starts a recording; the monitor shows its time and size", screen())
        cam = d.wait_camera(lambda cam: cam["recording"]["recording"], 5)
        c.check(cam["recording"]["recording"] and cam["recording"]["trigger"] == "http",
                "... and the daemon records (trigger http)", str(cam["recording"]["trigger"]))
        c.check(wait_screen(r"recording_started", 10) is not None, "the recording_started event is listed")
        tmux("send-keys", "-t", SESSION, "s")
        c.check(wait_screen(r"recording idle", 15) is not None, "s stops it", screen())
        tmux("send-keys", "-t", SESSION, "h")
        c.check(wait_screen(r"keys: r start recording", 5) is not None, "h shows the help")
        tmux("send-keys", "-t", SESSION, "h")

        # A resize, larger and smaller.
        tmux("resize-window", "-t", SESSION, "-x", "120", "-y", "40")
        s = wait_screen(r"camera\s+running", 5)
        c.check(pane("#{pane_width}x#{pane_height}") == "120x40" and s and pane("#{pane_dead}") == "0",
                "it survives a resize to 120x40 and redraws", pane("#{pane_width}x#{pane_height}"))
        tmux("resize-window", "-t", SESSION, "-x", "60", "-y", "16")
        time.sleep(1.5)
        s = screen()
        c.check(pane("#{pane_dead}") == "0" and "running" in s and all(len(x) <= 60 for x in s.split("\n")),
                "... and to 60x16", s)
        tmux("resize-window", "-t", SESSION, "-x", "80", "-y", "24")

        # camrig status: the same, once.
        out = subprocess.run([CAMRIG, "status", "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True)
        c.check(out.returncode == 0 and re.search(r"camera\s+running\s+\d+\.\d fps", out.stdout) and
                "host: CPU" in out.stdout, "camrig status prints the view once", out.stdout + out.stderr)
        out = subprocess.run([CAMRIG, "status", "--json", "--listen", f"127.0.0.1:{port}"], capture_output=True,
                             text=True)
        try:
            js = json.loads(out.stdout)
        except ValueError:
            js = {}
        c.check(out.returncode == 0 and js.get("cameras", [{}])[0].get("name") == "camera" and "host" in js,
                "camrig status --json prints /status", out.stdout[:200])
        d.stop()
    # The daemon goes away ...
    s = wait_screen(r"does not answer", 10)
    c.check(s is not None and pane("#{pane_dead}") == "0", "with the daemon gone, the monitor says so and stays",
            screen())
    out = subprocess.run([CAMRIG, "status", "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True)
    c.check(out.returncode == 1 and "is `camrig run` listening there?" in out.stderr,
            "camrig status exits 1 when nobody answers", out.stderr)
    # ... and comes back on the same port.
    with Daemon("--source", "test", "--fps", "15", port=port) as d:
        s = wait_screen(r"camera\s+running\s+1[2-7]\.\d fps", 20)
        c.check(s is not None, "when the daemon is back, the monitor shows it again (15 fps now)", screen())
        c.check(wait_screen(r"^events:$", 10) is not None, "... with its event stream reconnected", screen())
        tmux("send-keys", "-t", SESSION, "q")

        def exit_status():
            try:
                with open(STATUS) as f:
                    return f.read().strip() or None
            except OSError:
                return None
        status = wait_until(exit_status, 10)
        c.check(status == "0", "q quits with status 0", str(status))
finally:
    tmux("kill-server")
    if os.path.exists(STATUS):
        os.unlink(STATUS)

out = subprocess.run([CAMRIG, "monitor"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
c.check(out.returncode == 1 and "needs a terminal" in out.stderr, "without a terminal it says what to use instead",
        out.stderr)
c.done()
