#!/usr/bin/env python3
"""File names users choose: recording.filename, recording.snapshot_filename
and timelapse.session_name templates (strftime fields, {camera}, {n}, {ms})
with recording.timezone / timelapse.timezone local or utc, against the real
daemon; the defaults unchanged; bad templates refused at start-up."""
import os
import re
import subprocess
import time

from camrig_test import CAMRIG, Checks, Daemon, free_port
from record_util import wait_idle

c = Checks()
ARGS = ["--source", "test", "--size", "160x120", "--fps", "25", "--name", "cam"]
# Five hours east of UTC, no daylight saving: local and UTC hours differ by 5.
ENV = dict(os.environ, TZ="UTC-5")


def files_under(root):
    out = []
    for base, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(base, n), root) for n in names]
    return sorted(out)


def hour_utc_and_local(t):
    return time.strftime("%H", time.gmtime(t)), time.strftime("%H", time.gmtime(t + 5 * 3600))


# ---- the defaults ----
with Daemon(*ARGS) as d:
    d.post_json("/api/record/start?duration=0.3")
    wait_idle(d)
    d.post_json("/api/command", b"snapshot")
    st, r = d.post_json("/api/timelapse/start?interval=0")
    d.post_json("/api/timelapse/abort")
    names = files_under(os.path.join(d.tmp, "recordings"))
    c.check(any(re.fullmatch(r"\d{4}_\d\d_\d\d/video/cam_\d{4}(_\d\d){5}\.mkv", n) for n in names) and
            any(re.fullmatch(r"\d{4}_\d\d_\d\d/snapshots/cam_\d{4}(_\d\d){5}_\d{3}\.jpg", n) for n in names),
            "default names: DAY/video/CAMERA_STAMP.mkv and DAY/snapshots/CAMERA_STAMP_ms.jpg", str(names))
    c.check(st == 200 and re.fullmatch(r"cam_\d{4}(_\d\d){5}", os.path.basename(r["cameras"][0]["dir"])),
            "default session: CAMERA_STAMP", str(r)[:200])

# ---- templates, local time ----
with Daemon(*ARGS, "-o", "camera.recording.filename={camera}/%H/trial_{n}",
            "-o", "camera.recording.snapshot_filename=stills/{camera}_{n}",
            "-o", "camera.recording.timezone=local",
            "-o", "camera.timelapse.session_name=print_{n}_%H", "-o", "camera.timelapse.timezone=local",
            env=ENV) as d:
    before = time.time()
    for _ in range(2):
        d.post_json("/api/record/start?duration=0.3")
        c.check(wait_idle(d), "a templated recording ends")
    for _ in range(2):
        d.post_json("/api/command", b"snapshot")
    st, r = d.post_json("/api/timelapse/start?interval=0")
    d.post_json("/api/timelapse/abort")
    after = time.time()
    names = files_under(os.path.join(d.tmp, "recordings"))
    local_hours = {hour_utc_and_local(t)[1] for t in (before, after)}
    trials = [n for n in names if n.startswith("cam/")]
    c.check(len(trials) == 4 and all(re.fullmatch(r"cam/(\d\d)/trial_000[12]\.(mkv|csv)", n) and
                                    n.split("/")[1] in local_hours for n in trials),
            "recording.filename {camera}/%H/trial_{n}, in local time", f"{trials} local hours {local_hours}")
    c.check([n for n in names if n.startswith("stills/")] == ["stills/cam_0001.jpg", "stills/cam_0002.jpg"],
            "recording.snapshot_filename stills/{camera}_{n}", str(names))
    session = os.path.basename(r["cameras"][0]["dir"]) if st == 200 else ""
    c.check(re.fullmatch(r"print_0001_(\d\d)", session) and session[-2:] in local_hours,
            "timelapse.session_name print_{n}_%H, in local time", session)

# ---- bad templates refuse to start, naming the key ----
for key, value, words in (("camera.recording.filename", "/var/x", ["absolute"]),
                          ("camera.recording.filename", "a/../b", ['".."']),
                          ("camera.recording.snapshot_filename", "%s", ["%s is not a field"]),
                          ("camera.timelapse.session_name", "a/b", ["'/'"]),
                          ("camera.recording.timezone", "mars", ["utc or local"])):
    p = subprocess.run([CAMRIG, "run", "--listen", f"127.0.0.1:{free_port()}", *ARGS, "-o", f"{key}={value}"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    c.check(p.returncode != 0 and key in last and all(w in last for w in words), f"{key}={value} is refused",
            last)
c.done()
