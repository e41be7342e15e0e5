"""The device test of a camera that is unplugged during a recording and
plugged in again, run inside the vivid guest by tests/vm/guest.sh.

vivid's device is unbound from its driver (as a USB unplug does: the node
goes away, reads fail with ENODEV) and bound again (the node comes back).
camrig must report the loss, finalize the file, notice the node's return at
once (inotify, not a backoff timer) and go on recording into a second file
that the first sidecar links to. Exits 0, 1 or 77. $CAMRIG is the binary."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import Checks, Daemon, log, need, skip  # noqa: E402
from record_util import files_of, recording, sidecar, verify, wait_until  # noqa: E402

DEV = "/dev/video0"
if not os.path.exists(DEV):
    skip(f"{DEV} is missing (vivid not loaded)")
drivers = glob.glob("/sys/bus/platform/drivers/vivid")
devices = [os.path.basename(p) for p in glob.glob("/sys/bus/platform/drivers/vivid/vivid.*")]
if not drivers or not devices:
    skip("vivid is not a platform driver with a bound device here")
need("ffprobe")
c = Checks()
DRIVER, DEVICE = drivers[0], devices[0]


def unplug():
    with open(os.path.join(DRIVER, "unbind"), "w") as f:
        f.write(DEVICE)


def plug():
    with open(os.path.join(DRIVER, "bind"), "w") as f:
        f.write(DEVICE)


args = ["--source", f"v4l2:{DEV}", "--size", "320x180", "--fps", "10", "--format", "YUYV",
        "-o", "camera.recording.codec=rawvideo", "-o", "camera.recording.pre_trigger=0",
        "-o", "camera.recording.min_free_mb=0"]
with Daemon(*args) as d:
    d.wait_camera(lambda cam: cam["frames"]["captured"] > 5, 60, step=0.5)
    st, _, body = d.request("POST", "/api/record/start")
    c.check(st == 200, "recording started", body.decode())
    wait_until(lambda: recording(d)["frames"]["written"] >= 10, 60, step=0.5)
    unplug()
    cam = d.wait_camera(lambda cam: cam["state"] == "lost", 30, step=0.2)
    c.check(cam["state"] == "lost", "the unplugged camera is reported lost", cam["state"])
    first = os.path.join(d.tmp, recording(d)["file"])
    c.check(wait_until(lambda: sidecar(first)[2] is not None, 30, step=0.5), "its file is finalized")
    time.sleep(6)  # longer than the fallback retry: only the node's return may bring it back now
    reconnects = d.status()["camera"]["reconnects"]
    plugged = time.monotonic()
    plug()
    cam = d.wait_camera(lambda cam: cam["state"] == "running" and cam["reconnects"] > reconnects, 60, step=0.1)
    back = time.monotonic() - plugged
    log(f"back {back:.2f} s after the node returned (the guest runs 10-20x slower than a host)")
    c.check(cam["state"] == "running", "the camera is back when it is plugged in again", cam["state"])
    c.check(back < 4.5, "noticed at once, not at the next 5 s retry", f"{back:.2f} s")
    ok = wait_until(lambda: os.path.join(d.tmp, recording(d)["file"]) != first and
                    recording(d)["frames"]["written"] >= 10, 60, step=0.5)
    c.check(ok, "the recording goes on in a new file", str(recording(d)))
    d.request("POST", "/api/record/stop")
    wait_until(lambda: recording(d)["state"] == "idle", 30, step=0.5)
    files = files_of(d)
    c.check(len(files) == 2, "two files", str(files))
    if len(files) == 2:
        with open(os.path.splitext(files[0])[0] + ".csv") as f:
            c.check(any(x.startswith("# continued_in: ") for x in f), "the first sidecar links to the second")
        for f in files:
            rc, out = verify(f)
            c.check(rc == 0, f"camrig verify {os.path.basename(f)}", out[-300:])
c.done()
