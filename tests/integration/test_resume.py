#!/usr/bin/env python3
"""A recording survives its camera going away (issue 17, item 5): a url
camera whose server is killed during a recording, and comes back at another
size, has its file finalized at the loss and the recording going on in a new
file when it returns, at the new size, the two sidecars naming each other
(continued_in / continues); recording.resume: false ends the recording at the
loss instead. Both files pass camrig verify."""
import os
import subprocess
import time

from camrig_test import Checks, Daemon, free_port, log, need
from record_util import files_of, probe, recorded, recording, sidecar, verify, wait_until

need("ffmpeg", "ffprobe")
c = Checks()


def serve(url, size):
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                             f"testsrc2=size={size}:rate=25", "-c:v", "mjpeg", "-f", "mpjpeg", "-listen", "1", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


for resume in (True, False):
    port = free_port()
    url = f"http://127.0.0.1:{port}/live.mjpg"
    server = serve(url, "320x240")
    time.sleep(1.5)
    try:
        with Daemon("--source", f"url:{url}", "-o", "camera.recording.pre_trigger=0",
                    "-o", f"camera.recording.resume={'true' if resume else 'false'}") as d:
            d.wait_camera(lambda cam: cam["state"] == "running" and cam["frames"]["captured"] > 10, 20)
            st, r = d.post_json("/api/record/start")
            c.check(st == 200 and r.get("ok"), f"resume={resume}: recording started", str(r))
            wait_until(lambda: recording(d)["frames"]["written"] >= 25, 30)
            server.terminate()
            server.wait()
            cam = d.wait_camera(lambda cam: cam["state"] == "lost", 20)
            c.check(cam["state"] == "lost", f"resume={resume}: the camera is lost", cam["state"])
            first = os.path.join(d.tmp, recording(d)["file"])
            wait_until(lambda: sidecar(first)[2] is not None, 20)
            _, _, end = sidecar(first)
            c.check(end is not None and "camera lost" in end, f"resume={resume}: the file is finalized at the loss",
                    str(end))
            r = recording(d)
            if resume:
                c.check(r["state"] == "recording", "the recording stays on while the camera is away", r["state"])
            else:
                c.check(wait_until(lambda: recording(d)["state"] == "idle", 20), "resume=false: the recording ends")
            lost_at = time.monotonic()
            server = serve(url, "640x480")
            cam = d.wait_camera(lambda cam: cam["state"] == "running" and cam["reconnects"] >= 1, 20, step=0.1)
            log(f"resume={resume}: back {time.monotonic() - lost_at:.2f} s after the server restarted "
                "(url retries cap at 2 s)")
            c.check(cam["state"] == "running" and cam["width"] == 640, f"resume={resume}: the camera is back at 640x480",
                    f"{cam['state']} {cam['width']}x{cam['height']}")
            if resume:
                ok = wait_until(lambda: os.path.join(d.tmp, recording(d)["file"]) != first and
                                recording(d)["frames"]["written"] >= 25, 30)
                c.check(ok, "the recording goes on in a new file", str(recording(d)))
                st, r = d.post_json("/api/record/stop")
                c.check(st == 200, "stop", str(r))
                wait_until(lambda: recording(d)["state"] == "idle", 20)
            files = files_of(d)
            c.check(len(files) == (2 if resume else 1), f"resume={resume}: {2 if resume else 1} file(s)", str(files))
            if resume and len(files) == 2:
                a, b = files
                ha, _, ea = sidecar(a)
                hb, rows_b, eb = sidecar(b)
                with open(os.path.splitext(a)[0] + ".csv") as f:
                    links = [x.strip() for x in f if x.startswith("# continued_in: ")]
                c.check(links == [f"# continued_in: {os.path.basename(b)}"], "the first sidecar names the next file",
                        str(links))
                c.check(hb.get("continues") == os.path.basename(a) and hb.get("segment") == "1",
                        "the second names the first, as segment 1", str(hb))
                sa, sb = probe(a)[0], probe(b)[0]
                c.check(sa and sb and (sa["width"], sb["width"]) == (320, 640),
                        "the first file is 320 wide, the second 640: recorded at the new size",
                        f"{sa and sa['width']} {sb and sb['width']}")
                c.check(len(recorded(rows_b)) >= 25 and eb and "stopped" in eb, "the second file ends with the stop",
                        str(eb))
                c.check("frames changed" in d.log(), "the size change is logged as a warning")
            for f in files:
                rc, out = verify(f)
                c.check(rc == 0, f"resume={resume}: camrig verify {os.path.basename(f)}", out[-300:])
    finally:
        server.terminate()
        server.wait()
c.done()
