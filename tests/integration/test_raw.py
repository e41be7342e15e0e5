#!/usr/bin/env python3
"""Raw sensor formats end to end, from the test pattern (which can deliver
every one: a Bayer mosaic of its picture or its luma, the 8-bit value in the
high bits and (x ^ y) in the low ones, so full depth can be told from 8 bits):

- the live view and snapshots: a gray JPEG from a mono format, a colour one
  (demosaicked) from a Bayer format, at the camera's size and scaled;
- lossless recording (ffv1 in mkv) keeps every bit: the samples as gray of
  their depth, MIPI-packed ones unpacked, the low bits the pattern put there;
- lossy codecs record 8 bits: gray: true on a mono format stores luma only
  (h264 4:0:0), a Bayer one is demosaicked to 4:2:0;
- every recording passes `camrig verify`.
The device test with real raw frames is tests/vm/raw_guest.py (vimc)."""
import os
import re
import shutil
import struct
import subprocess
import tempfile

from camrig_test import Checks, Daemon, ffprobe_image, need
from record_util import files_of, probe, verify, wait_idle

need("ffmpeg", "ffprobe")
c = Checks()
W, H = 64, 48
KEEP = tempfile.mkdtemp(prefix="camrig-raw-")  # recordings outlive their daemon's directory


def first_frame(path, pix_fmt):
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                           pix_fmt, "-"], capture_output=True, timeout=60).stdout


def record(fmt, codec, *extra, seconds=0.5):
    """Records the test pattern in fmt; returns (path or None, daemon log)."""
    with Daemon("--source", "test", "--size", f"{W}x{H}", "--fps", "20", "--format", fmt,
                "-o", f"camera.recording.codec={codec}", "-o", "camera.recording.preset=ultrafast",
                "-o", "camera.recording.min_free_mb=0", *extra) as d:
        d.post_json(f"/api/record/start?duration={seconds}")
        wait_idle(d, timeout=20)
        files = files_of(d)
        if not files:
            return None, d.log()
        path = os.path.join(KEEP, f"{fmt}-{codec}.mkv")
        shutil.copy(files[0], path)
        shutil.copy(os.path.splitext(files[0])[0] + ".csv", os.path.splitext(path)[0] + ".csv")
        return path, d.log()


# ---- the live view and snapshots ----
for fmt, gray in (("Y10P", True), ("Y12", True), ("Y16", True), ("SRGGB10P", False), ("SGRBG8", False),
                  ("SBGGR12", False), ("SGBRG16", False)):
    with Daemon("--source", "test", "--size", f"{W}x{H}", "--format", fmt) as d:
        cam = d.status()["camera"]
        c.check(cam["format"] == fmt, f"{fmt}: /status names the format", cam["format"])
        for path, size in (("/snapshot.jpg", (W, H)), ("/snapshot.jpg?width=32&height=24", (32, 24))):
            st, _, body = d.get(path)
            got = ffprobe_image(body) if st == 200 else (None, 0, 0, f"HTTP {st}")
            c.check(got[0] == "mjpeg" and (got[1], got[2]) == size and got[3].startswith("gray") == gray,
                    f"{fmt}: {path} is a {'gray' if gray else 'colour'} {size[0]}x{size[1]} JPEG", str(got))

# ---- lossless: every bit ----
for fmt, pix_fmt, depth in (("Y10", "gray10le", 10), ("Y10P", "gray10le", 10), ("Y12", "gray12le", 12),
                            ("Y16", "gray16le", 16), ("SRGGB8", "gray", 8), ("SBGGR10P", "gray10le", 10),
                            ("SGRBG12", "gray12le", 12)):
    path, logs = record(fmt, "ffv1")
    st = probe(path)[0] if path else None
    c.check(st is not None and st["codec_name"] == "ffv1" and st["pix_fmt"] == pix_fmt,
            f"{fmt}: ffv1 stores the samples as {pix_fmt}", f"{st}\n{logs[-600:]}")
    if not st:
        continue
    data = first_frame(path, pix_fmt)
    if depth == 8:
        samples = list(data)
    else:
        samples = list(struct.unpack(f"<{len(data) // 2}H", data))
    mask = (1 << (depth - 8)) - 1
    # The test pattern's low bits: (x ^ y) & mask at every pixel.
    low_ok = len(samples) == W * H and all((samples[y * W + x] & mask) == ((x ^ y) & mask)
                                           for y in range(H) for x in range(W))
    c.check(low_ok, f"{fmt}: the decoded first frame has every low bit the camera gave",
            f"{len(samples)} samples, first {samples[:8]}")
    rc, out = verify(path)
    c.check(rc == 0, f"{fmt}: camrig verify accepts the ffv1 recording", out)

# ---- lossy: 8 bits; luma only for a mono camera with gray: true ----
path, logs = record("Y10P", "h264", "-o", "camera.recording.gray=true")
trace = subprocess.run(["ffmpeg", "-hide_banner", "-i", path, "-c", "copy", "-bsf:v", "trace_headers", "-f", "null",
                        "-"], capture_output=True, text=True, timeout=60).stderr if path else ""
m = re.search(r"chroma_format_idc\s+\S+ = (\d+)", trace)
c.check(m is not None and m.group(1) == "0", "Y10P with gray: true: h264 holds luma only (4:0:0)",
        m.group(0) if m else logs[-600:])
for fmt, codec, pix_fmt in (("SRGGB10P", "h264", "yuv420p"), ("SGBRG8", "mjpeg", "yuvj420p"),
                            ("Y12", "mjpeg", "yuvj420p")):
    path, logs = record(fmt, codec)
    st = probe(path)[0] if path else None
    c.check(st is not None and st["codec_name"] == codec and st["pix_fmt"] == pix_fmt,
            f"{fmt}: {codec} records 8-bit {pix_fmt}", f"{st}\n{logs[-600:]}")
    if path:
        rc, out = verify(path)
        c.check(rc == 0, f"{fmt}: camrig verify accepts the {codec} recording", out)

shutil.rmtree(KEEP, ignore_errors=True)
c.done()
