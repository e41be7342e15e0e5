"""Aravis's fake GigE Vision camera (arv-fake-gv-camera-0.8, Debian's
aravis-tools) for the tests: the real GVCP/GVSP protocol on a loopback
address, and the test pattern it draws, to compare recorded frames with."""
import array
import os
import signal
import subprocess
import time

from camrig_test import CAMRIG, _die_with_parent, log, skip

FAKE = "arv-fake-gv-camera-0.8"


def camrig_has_aravis():
    out = subprocess.run([CAMRIG, "list"], capture_output=True, text=True, timeout=60).stdout
    return "GenICam" in out or "\naravis:" in out


def listed(serial):
    """`camrig list`'s paragraph of the fake camera with this serial, or None."""
    out = subprocess.run([CAMRIG, "list"], capture_output=True, text=True, timeout=60).stdout
    for para in out.split("\n\n"):
        for i, line in enumerate(para.splitlines()):
            if line == f"aravis:Aravis-Fake-{serial}":
                return "\n".join(para.splitlines()[i:i + 3])
    return None


class FakeCamera:
    """arv-fake-gv-camera-0.8 on address with serial; id is what aravis:ID
    takes. lost_ratio: GVSP packets per thousand it drops (it does not
    resend them, so those frames arrive incomplete)."""

    def __init__(self, serial, address="127.0.0.1", lost_ratio=0):
        self.serial = serial
        self.id = f"Aravis-Fake-{serial}"
        self.args = [FAKE, "-i", address, "-s", serial] + (["-r", str(lost_ratio)] if lost_ratio else [])
        self.proc = None

    def __enter__(self):
        log("starting:", " ".join(self.args))
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{FAKE} exited with {self.proc.returncode}")
            if listed(self.serial):
                return self
            time.sleep(0.2)
        raise AssertionError(f"{FAKE} {self.serial} is not found by `camrig list` within 30 s")

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return False


def need_fake():
    if not any(os.access(os.path.join(p, FAKE), os.X_OK) for p in os.environ.get("PATH", "").split(":")):
        skip(f"{FAKE} is not installed (Debian: aravis-tools)")
    if not camrig_has_aravis():
        skip("camrig was built without Aravis (libaravis-dev)")


def frame_id(sequence):
    """The fake camera's frame id of camrig's frame sequence: ids are 16-bit,
    skip 0 and wrap from 65535 to 1; camrig's sequence counts on past it."""
    return (sequence - 1) % 65535 + 1


def mono16_pattern(fid, width, height, scale):
    """The fake camera's Mono16 image of frame fid (arvfakecamera.c,
    arv_fake_camera_diagonal_ramp: (256 (x + id + y)) mod 65535, times the
    gain scale, clamped), as little-endian bytes (this machine's order, x86)."""
    ramp = array.array("H", (min(int((256 * (k + fid)) % 65535 * scale), 65535) for k in range(width + height)))
    return b"".join(ramp[y:y + width].tobytes() for y in range(height))
