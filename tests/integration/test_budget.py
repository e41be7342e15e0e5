#!/usr/bin/env python3
"""Queues bounded in bytes (recording.queue_mb): with the encoder made slow on
purpose (the test hook CAMRIG_TEST_DELAY=encoder:MS) its queue of frames, and
with the recorder's writes made slow (writer:MS) its queue of packets, never
hold more than their budget by the daemon's own peak counters; what does not
fit is counted as drops and written into the sidecar as dropped rows, and
`camrig verify` accounts for every frame. And a daemon that only serves the
live view does not map FFmpeg's libavcodec (about 17 MiB with what it links)
until a recording needs it, nor libcurl or libmosquitto (3 MiB with OpenSSL,
Kerberos and LDAP), which only ntfy, uploads and MQTT use (src/base/lazy.h).
And libx264's lookahead, a queue of frames inside the encoder, is bounded by
recording.lookahead_mb: over it the encoder runs as with zerolatency, which
shows in how many frames it holds (/status encoder.in_codec). And the JPEG
workers free their conversion and output buffers once no frame has come
for 10 s (/status jpeg.buffer_bytes)."""
import os

from camrig_test import Checks, Daemon, need, wait_until
from record_util import files_of, recorded, recording, sidecar, verify, wait_idle

need("ffprobe")
c = Checks()
MIB = 1024 * 1024


def config(codec):
    return f"""cameras:
  - name: camera
    source: test
    fps: 30
    size: 640x480
    recording:
      codec: {codec}
      queue_mb: 1
"""


def record(d, frames):
    """Records until the recorder has written frames frames (its own count);
    returns the file's path."""
    st, reply = d.post_json("/api/command", b"start_recording")
    c.check(st == 200 and reply.get("ok"), "start_recording", str(reply))
    c.check(wait_until(lambda: recording(d)["frames"]["written"] >= frames, 120), f"{frames} frames written",
            str(recording(d)))
    st, reply = d.post_json("/api/command", b"stop_recording")
    c.check(st == 200 and wait_idle(d, timeout=60), "stop_recording", str(reply))
    return os.path.join(d.tmp, reply["files"][0])


def maps(d, library):
    with open(f"/proc/{d.proc.pid}/maps") as f:
        return f"/{library}.so" in f.read()


def accounted(path, what):
    """The sidecar's dropped rows, after checking camrig verify accepts the file."""
    header, rows, end = sidecar(path)
    dropped = [r for r in rows if r["status"] == "dropped"]
    rc, out = verify(path)
    c.check(rc == 0 and "result:   OK" in out and end and recorded(rows), f"{what}: camrig verify accounts for "
            "every frame", out)
    return dropped


# ---- a slow encoder: its queue of frames stays within 1 MiB (one 600 KiB frame) --------
with Daemon(config=config("h264"), env={"CAMRIG_TEST_DELAY": "encoder:100"}) as d:
    path = record(d, 15)
    video = [x for x in d.status()["cameras"][0]["consumers"] if x["name"] == "video"][0]
    c.check(video["budget_bytes"] == MIB and 0 < video["peak_bytes"] <= video["budget_bytes"],
            "the encoder's queue never held more than its budget", str(video))
    c.check(video["dropped"] > 0, "the frames over it were dropped and counted", str(video))
    dropped = accounted(path, "slow encoder")
    c.check(len(dropped) > 0 and len(dropped) <= video["dropped"],
            "... and the sidecar has them as dropped rows", f"{len(dropped)} rows, {video['dropped']} counted")

# ---- a slow disk: the recorder's queue of packets stays within 1 MiB ---------------------
with Daemon(config=config("mjpeg"), env={"CAMRIG_TEST_DELAY": "writer:150"}) as d:
    path = record(d, 40)
    r = recording(d)
    c.check(r["queue_budget_bytes"] == MIB and 0 < r["queue_peak_bytes"] <= r["queue_budget_bytes"],
            "the recorder's queue never held more than its budget", str(r))
    c.check(r["queue_dropped"] > 0, "the packets over it were dropped and counted", str(r))
    dropped = accounted(path, "slow disk")
    c.check(len(dropped) > 0, "... and the sidecar has them as dropped rows", f"{len(dropped)} rows")

# ---- a timed recording waits for an encoder that is behind ---------------------------
# The first recording of a camrig without a pre-trigger loads FFmpeg's
# libraries while its frames wait; a slow encoder stands in for that here
# (0.3 s a frame against 10 frames captured a second): when the 2 s
# recording's deadline passes most of its frames are still queued, and the
# file must hold them all (by the sidecar's own capture times).
small = config("h264").replace("fps: 30", "fps: 10").replace("640x480", "160x120")
with Daemon(config=small, env={"CAMRIG_TEST_DELAY": "encoder:300"}) as d:
    st, _, body = d.request("POST", "/api/record/start?duration=2")
    c.check(st == 200, "a 2 s recording starts", body.decode())
    c.check(wait_until(lambda: recording(d)["state"] == "idle", 120), "it ends", str(recording(d)))
    files = files_of(d)
    if c.check(len(files) == 1, "one file", str(files)):
        rows = recorded(sidecar(files[0])[1])
        span = (int(rows[-1]["mono_ns"]) - int(rows[0]["mono_ns"])) / 1e9 if rows else 0
        c.check(len(rows) >= 15 and span >= 1.5, "the file holds the frames of all 2 s, though the encoder "
                "was seconds behind at the deadline", f"{len(rows)} frames over {span:.2f} s")
        accounted(files[0], "slow start")

# ---- heavy libraries are mapped when a part first needs them --------------------------
with Daemon(config=config("h264")) as d:
    c.check(d.get("/snapshot.jpg")[0] == 200, "a snapshot (the live path's JPEG)")
    for library in ("libavcodec", "libcurl", "libmosquitto", "libcrypto"):
        c.check(not maps(d, library), f"serving the live view maps no {library}")
    with open(f"/proc/{d.proc.pid}/status") as f:
        thp = [line.split()[1] for line in f if line.startswith("THP_enabled:")]
    c.check(thp in ([], ["0"]), "transparent huge pages are off for camrig run (THP_enabled: 0)", str(thp))
    path = record(d, 5)
    c.check(maps(d, "libavcodec"), "a recording maps libavcodec")
    accounted(path, "recording after the lazy load")
    # A snapshot makes a worker's buffers; with no client the stage then
    # gets no frames, and after 10 s idle they are freed.
    jpeg = lambda: d.status()["camera"]["jpeg"]
    c.check(d.get("/snapshot.jpg")[0] == 200, "a second snapshot")
    held = jpeg()["buffer_bytes"]
    c.check(held > 0 and wait_until(lambda: jpeg()["buffer_bytes"] == 0, 60, step=0.5),
            "an idle JPEG worker frees its buffers", f"{held} bytes held, now {jpeg()}")

# ---- libx264's lookahead only where it fits recording.lookahead_mb ---------------------
def frames_in_codec(d, n=20):
    """The most frames the encoder held over n status reads once it has put
    out 60 packets (steady: its lookahead full)."""
    enc = lambda: recording(d)["encoder"]
    c.check(wait_until(lambda: enc()["packets"] >= 60, 120), "the pre-trigger's encoder runs", str(enc()))
    most = 0
    for _ in range(n):
        most = max(most, enc()["in_codec"])
    return enc()["lookahead"], most


for budget, fits in ((1024, True), (8, False)):
    # 640x480: about 33 MiB of lookahead on 2 cores (x264 veryfast: 10 frames and its threads), more with more
    with Daemon(config=config("h264").replace("queue_mb: 1", f"queue_mb: 8\n      pre_trigger: 3\n"
                                              f"      lookahead_mb: {budget}")) as d:
        lookahead, most = frames_in_codec(d)
        if fits:
            c.check(lookahead and most >= 10, f"lookahead_mb {budget}: libx264 keeps its lookahead (10 frames "
                    "at veryfast)", f"lookahead {lookahead}, at most {most} frames in the codec")
        else:
            c.check(not lookahead and most <= 4, f"lookahead_mb {budget}: libx264 runs without it, holding a "
                    "frame or two", f"lookahead {lookahead}, at most {most} frames in the codec")
            c.check("without its lookahead" in d.log(), "the log says so")

c.done()
