"""The recording device test, run inside the vivid guest by tests/vm/guest.sh.

Records 640x480 YUYV at 25 fps from /dev/video0 (the kernel's vivid driver)
for 20 s and checks that no frame is dropped inside camrig, that every frame
the driver skipped is a lost row of the sidecar (none on an idle host; at
most a few percent when the emulated guest is starved by a busy host), that
it holds about 20 s of frames, and that `camrig verify` agrees with the file. The guest runs code 10-20x slower than the host, so
the recording uses the cheapest encoder, rawvideo (no compression: the file
holds the camera's YUYV as it is), written to the guest's own /tmp. Exits 0,
1 (a check failed) or 77 (skipped). $CAMRIG is the binary."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import Checks, Daemon, log, need, skip  # noqa: E402
from record_util import files_of, probe, recorded, sidecar, verify, wait_until  # noqa: E402

DEV = "/dev/video0"
SECONDS = 20
FPS = 25

if not os.path.exists(DEV):
    skip(f"{DEV} is missing (vivid not loaded)")
need("ffprobe")
c = Checks()
args = ["--source", f"v4l2:{DEV}", "--size", "640x480", "--fps", str(FPS), "--format", "YUYV",
        "-o", "camera.recording.codec=rawvideo", "-o", "camera.recording.pre_trigger=0",
        "-o", "camera.recording.queue_depth=64", "-o", "camera.recording.queue_mb=64",
        "-o", "camera.recording.min_free_mb=0",
        # More driver buffers ride out the emulated guest's scheduling stalls.
        "-o", "camera.buffers=16"]
with Daemon(*args) as d:
    # A baseline: does the emulated driver keep 25 fps while nothing records?
    time.sleep(2)
    before = d.status()["camera"]["frames"]
    time.sleep(8)
    idle = d.status()["camera"]["frames"]
    idle_lost = idle["lost_upstream"] - before["lost_upstream"]
    log(f"idle capture: {idle['captured'] - before['captured']} frames, {idle_lost} lost by the driver in 8 s")
    st, _, body = d.request("POST", f"/api/record/start?duration={SECONDS}")
    c.check(st == 200, "recording started", body.decode())
    done = wait_until(lambda: d.status()["camera"]["recording"]["state"] == "idle", SECONDS + 30, step=0.5)
    cam = d.status()["camera"]
    c.check(done, "the timed recording ends", str(cam["recording"]))
    c.check(cam["format"] == "YUYV" and cam["driver"] == "vivid", "recording vivid YUYV 640x480",
            f"{cam['format']} {cam['driver']}")
    log("camera frames:", cam["frames"], "encoder:", cam["recording"]["encoder"])
    files = files_of(d)
    if c.check(len(files) == 1, "one file", str(files)):
        header, rows, end = sidecar(files[0])
        rec = recorded(rows)
        dropped = [r for r in rows if r["status"] == "dropped"]
        lost = [r for r in rows if r["status"] == "lost"]
        c.check(not dropped, "no frame dropped inside camrig", f"{len(dropped)} dropped rows")
        # The guest's emulated CPU, starved by a busy host, can make vivid skip
        # frame periods (it says so in the buffer sequence): not camrig's gap,
        # but each one must be in the sidecar, and they must stay rare.
        # vivid's thread may stamp two buffers with one sequence number when
        # it runs twice within a frame period (it rounds jiffies to frames):
        # a repeat is no gap, as the sidecar counts it.
        seqs = [int(r["sequence"]) for r in rec]
        skipped = sum(max(b - a - 1, 0) for a, b in zip(seqs, seqs[1:]))
        odd = [(i, a, b) for i, (a, b) in enumerate(zip(seqs, seqs[1:])) if b != a + 1]
        if odd:
            log("recorded rows whose sequence is not the one before + 1 (row, before, it):", odd[:20])
        c.check(skipped == len(lost), "every frame the driver skipped is a lost row of the sidecar",
                f"{skipped} skipped in the sequence numbers, {len(lost)} lost rows")
        # How many the driver skips depends on how starved the guest is, not on
        # camrig; what camrig owes it is a buffer to fill at every moment, by
        # its own count of the buffers left with the driver after each dequeue.
        stream = cam.get("stream") or {}
        c.check(stream.get("driver_min_queued", -1) >= 1, "camrig always left the driver a buffer to fill, so "
                "every skip is the driver's own", f"{stream}; {len(lost)} lost rows of {len(rec) + len(lost)} "
                f"(idle: {idle_lost} in 8 s)")
        if lost:
            log(f"note: vivid skipped {len(lost)} frames while recording ({idle_lost} in 8 s idle)")
        span = (int(rec[-1]["mono_ns"]) - int(rec[0]["mono_ns"])) / 1e9 if rec else 0
        c.check(len(rec) + len(lost) >= (SECONDS - 0.2) * FPS and span >= SECONDS - 0.2, f"{SECONDS} s of frames",
                f"{len(rec)} frames over {span:.2f} s")
        st, _ = probe(files[0])
        c.check(st is not None and int(st["nb_read_packets"]) == len(rec), "ffprobe counts the same frames",
                str(st))
        rc, out = verify(files[0])
        c.check(rc == 0, "camrig verify agrees", out)
c.done()
