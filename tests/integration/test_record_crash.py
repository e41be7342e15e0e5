#!/usr/bin/env python3
"""Recordings that end badly: kill -9 during an mkv and during an mp4
recording leaves a file ffprobe reads, missing at most the last second of
what the sidecar lists; a small tmpfs that fills up stops the recording
cleanly, by the free-space guard (recording.min_free_mb) and, with the guard
off, on the write error itself, with a finalized file and the reason in
/status. The tmpfs part needs root (mount) and skips its checks otherwise."""
import os
import signal
import subprocess
import tempfile
import time

from camrig_test import Checks, Daemon, log, need
from record_util import files_of, probe, recorded, recording, sidecar, verify, wait_until

need("ffprobe")
c = Checks()
FPS = 25

# ---- kill -9 while recording ----
for fmt in ("mkv", "mp4"):
    d = Daemon("--source", "test", "--size", "640x480", "--fps", str(FPS), "-o", f"camera.recording.format={fmt}",
               "-o", "camera.recording.pre_trigger=1", check_exit=False)
    with d:
        time.sleep(1.2)
        st, _, body = d.request("POST", "/api/record/start")
        c.check(st == 200, f"{fmt}: recording started", body.decode())
        time.sleep(4)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        files = files_of(d)
        if c.check(len(files) == 1, f"{fmt}: one file", str(files)):
            stream, pts = probe(files[0])
            _, rows, end = sidecar(files[0])
            rows = recorded(rows)
            c.check(stream is not None and stream["codec_name"] == "h264", f"{fmt}: ffprobe reads the file "
                    "after kill -9", str(stream))
            n = int(stream["nb_read_packets"]) if stream else 0
            c.check(n >= len(rows) - FPS and n > 3 * FPS, f"{fmt}: at most the last second is missing",
                    f"{n} frames in the file, {len(rows)} in the sidecar")
            c.check(end is None, f"{fmt}: the sidecar shows the recording did not end cleanly")
            rc, out = verify(files[0])
            c.check(rc == 1 and "did not finish cleanly" in out, f"{fmt}: camrig verify reports it", out)

# ---- a file system that fills up ----
mnt = tempfile.mkdtemp(prefix="camrig-small-")
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt], capture_output=True).returncode == 0
if not mounted:
    log("SKIP (part): cannot mount a tmpfs (not root?); the disk-full checks are left out")
try:
    for min_free, what in ((3, "the free-space guard"), (0, "a write error")):
        if not mounted:
            break
        for name in os.listdir(mnt):
            subprocess.run(["rm", "-rf", os.path.join(mnt, name)])
        with Daemon("--source", "test", "--size", "1280x720", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
                    "-o", "camera.recording.qp=2", "-o", f"camera.recording.root={mnt}",
                    "-o", f"camera.recording.min_free_mb={min_free}", "-o", "camera.recording.pre_trigger=0") as d:
            st, _, body = d.request("POST", "/api/record/start")
            c.check(st == 200, f"{what}: recording into a 6 MiB tmpfs", body.decode())
            stopped = wait_until(lambda: recording(d)["state"] == "idle", 40, step=0.25)
            r = recording(d)
            c.check(stopped, f"{what}: the recording stops by itself", str(r))
            want = "low disk space" if min_free else "write error"
            c.check(want in r["reason"], f"{what}: /status says why", r["reason"])
            st, _, body = d.request("POST", "/api/record/start")
            if min_free:
                c.check(st >= 400 and b"MiB free" in body,
                        f"{what}: a new start is refused while the disk is full", f"{st} {body.decode()}")
            files = [f for f in files_of(d)] or [os.path.join(root, n) for root, _, ns in os.walk(mnt) for n in ns
                                                 if n.endswith(".mkv")]
        if c.check(len(files) >= 1, f"{what}: a file", str(files)):
            f = sorted(files)[0]
            stream, pts = probe(f)
            _, rows, end = sidecar(f)
            c.check(stream is not None and int(stream["nb_read_packets"]) > FPS, f"{what}: ffprobe reads it",
                    str(stream))
            if min_free:
                c.check(end is not None and "low disk space" in end, f"{what}: the file is finalized", str(end))
                rc, out = verify(f)
                c.check(rc == 0, f"{what}: camrig verify agrees", out)
finally:
    if mounted:
        subprocess.run(["umount", mnt])
    os.rmdir(mnt)

c.done()
