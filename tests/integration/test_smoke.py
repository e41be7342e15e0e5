#!/usr/bin/env python3
"""The smoke test: the few things every build of camrig must do, on any
architecture. It runs in the integration suite and, in the arm64 cross build
(scripts/cross-arm64.sh), on the arm64 binary under qemu-user: the test
pattern served as /snapshot.jpg, a 3 s recording that ffprobe reads frame for
frame as its sidecar lists them and that `camrig verify` accepts."""
import os
import subprocess

from camrig_test import SLOW, Checks, Daemon, camrig_cmd, ffprobe_image, log, need
from record_util import files_of, probe, recorded, sidecar, verify, wait_idle

need("ffprobe")
c = Checks()

p = subprocess.run(camrig_cmd("--version"), capture_output=True, text=True, timeout=30 * SLOW)
c.check(p.returncode == 0 and p.stdout.startswith("camrig "), "camrig --version", p.stdout + p.stderr)

with Daemon("--source", "test", "--size", "320x240", "--fps", "10", "-o", "camera.recording.pre_trigger=0",
            start_timeout=60) as d:
    st, headers, body = d.get("/snapshot.jpg", timeout=30 * SLOW)
    c.check(st == 200 and headers.get("Content-Type") == "image/jpeg", "GET /snapshot.jpg", f"{st} {headers}")
    if st == 200:
        c.check(ffprobe_image(body)[:3] == ("mjpeg", 320, 240), "the snapshot is a 320x240 JPEG",
                str(ffprobe_image(body)))

    st, reply = d.post_json("/api/record/start?duration=3")
    c.check(st == 200 and len(reply.get("files", [])) == 1, "POST /api/record/start?duration=3", str(reply))
    # The recorder's own clock ends it: wait for that, however slow the machine.
    c.check(wait_idle(d, timeout=60 * SLOW), "the recording stops itself after 3 s")
    files = files_of(d)
    c.check(len(files) == 1, "one recording", str(files))
    if files:
        stream, pts = probe(files[0])
        _, rows, end = sidecar(files[0])
        frames = recorded(rows)
        c.check(stream is not None and stream["codec_name"] == "h264", "ffprobe reads an H.264 recording", str(stream))
        c.check(frames and stream and int(stream["nb_read_packets"]) == len(frames),
                "ffprobe's frames are the sidecar's", f"{stream and stream['nb_read_packets']} vs {len(frames)}")
        c.check(end is not None, "the sidecar is finalized", str(end))
        rc, out = verify(files[0])
        c.check(rc == 0 and "result:   OK" in out, "camrig verify accepts it", out)
        log(f"recorded {len(frames)} frames, {os.path.getsize(files[0])} bytes")
c.done()
