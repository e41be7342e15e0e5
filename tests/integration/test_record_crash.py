#!/usr/bin/env python3
"""Recordings that end badly: kill -9 during a recording, in every codec and
container, leaves a file ffprobe reads, missing at most the last second of
what the sidecar lists (the muxers hold at most 0.5 s), and `camrig verify`
says TRUNCATED (exit 3), with every earlier frame matching; a small tmpfs that
fills up stops the recording cleanly, by the free-space guard
(recording.min_free_mb) and, with the guard off, on the write error itself,
with a finalized file whose sidecar counts exactly the frames in it and the
reason in /status. The tmpfs part needs root (mount) and skips its checks
otherwise."""
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
# (codec, container, codec name ffprobe reports, camera format)
CASES = [("h264", "mkv", "h264", "YUYV"), ("h264", "mp4", "h264", "YUYV"), ("mjpeg", "mkv", "mjpeg", "YUYV"),
         ("mjpeg", "mp4", "mjpeg", "YUYV"), ("h265", "mkv", "hevc", "YUYV"), ("h265", "mp4", "hevc", "YUYV"),
         ("ffv1", "mkv", "ffv1", "YUYV"), ("copy", "mkv", "mjpeg", "MJPEG"), ("copy", "mp4", "mjpeg", "MJPEG")]
for codec, fmt, name, pixfmt in CASES:
    what = f"{codec}/{fmt}"
    d = Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "--format", pixfmt,
               "-o", f"camera.recording.codec={codec}", "-o", f"camera.recording.format={fmt}",
               "-o", "camera.recording.pre_trigger=1", "-o", "camera.recording.preset=ultrafast", check_exit=False)
    with d:
        d.wait_camera(lambda cam: cam["frames"]["captured"] > FPS, 20)
        st, _, body = d.request("POST", "/api/record/start")
        c.check(st == 200, f"{what}: recording started", body.decode())
        # Kill once the recorder has written 3 s of frames (its own count).
        wait_until(lambda: recording(d)["frames"]["written"] >= 3 * FPS, 60, step=0.1)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        files = files_of(d)
        if c.check(len(files) == 1, f"{what}: one file", str(files)):
            stream, pts = probe(files[0])
            _, rows, end = sidecar(files[0])
            rows = recorded(rows)
            c.check(stream is not None and stream["codec_name"] == name, f"{what}: ffprobe reads the file "
                    "after kill -9", str(stream))
            n = int(stream["nb_read_packets"]) if stream else 0
            lost_s = (int(rows[-1]["mono_ns"]) - int(rows[n - 1]["mono_ns"])) / 1e9 if 0 < n <= len(rows) else 99
            log(f"{what}: {n} frames in the file, {len(rows)} in the sidecar: {lost_s:.3f} s lost")
            c.check(n > 2 * FPS and lost_s <= 1.0, f"{what}: at most the last second of the sidecar is missing",
                    f"{n} frames in the file, {len(rows)} in the sidecar, {lost_s:.3f} s")
            c.check(end is None, f"{what}: the sidecar shows the recording did not end cleanly")
            rc, out = verify(files[0])
            c.check(rc == 3 and "TRUNCATED" in out and f"all {n} frames before" in out,
                    f"{what}: camrig verify says TRUNCATED, every earlier frame matching", out[-400:])

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
                c.check(st == 409 and b"MiB free" in body,
                        f"{what}: a new start is refused while the disk is full", f"{st} {body.decode()}")
            files = [f for f in files_of(d)] or [os.path.join(root, n) for root, _, ns in os.walk(mnt) for n in ns
                                                 if n.endswith(".mkv")]
        if c.check(len(files) >= 1, f"{what}: a file", str(files)):
            f = sorted(files)[0]
            stream, pts = probe(f)
            _, rows, end = sidecar(f)
            c.check(stream is not None and int(stream["nb_read_packets"]) > FPS, f"{what}: ffprobe reads it",
                    str(stream))
            n = int(stream["nb_read_packets"]) if stream else -1
            c.check(len(recorded(rows)) == n, f"{what}: the sidecar counts exactly the frames in the file",
                    f"{len(recorded(rows))} recorded rows, {n} frames")
            c.check(end is not None and ("low disk space" if min_free else "write error") in end,
                    f"{what}: the file is finalized", str(end))
            rc, out = verify(f)
            c.check(rc == 0, f"{what}: camrig verify agrees", out[-600:])
finally:
    if mounted:
        subprocess.run(["umount", mnt])
    os.rmdir(mnt)

c.done()
