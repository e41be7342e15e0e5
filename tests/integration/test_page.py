#!/usr/bin/env python3
"""The live-view page in a real browser (Debian's headless Chromium): the
page fills in the camera's name, resolution, format, measured fps and client
count from /status, and the live MJPEG image actually renders (the
screenshot shows the test pattern's colour bars)."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from camrig_test import Checks, Daemon, log, need, skip

need("ffmpeg")
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    skip("chromium is not installed (scripts/install-deps.sh test installs it)")
c = Checks()


def chromium(url, *args):
    profile = tempfile.mkdtemp(prefix="camrig-chromium-")
    try:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--window-size=1000,800", "--virtual-time-budget=4000", *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


with Daemon("--source", "test", "--size", "640x480", "--fps", "20", "--name", "lab-cam") as d:
    # The measured rate exists after the camera's first second.
    for _ in range(50):
        if d.status()["camera"]["fps"]["measured"] > 0:
            break
        time.sleep(0.1)
    dom = chromium(d.url("/"), "--dump-dom").stdout
    field = lambda name: (re.search(rf'id="{name}"[^>]*>([^<]*)<', dom) or [None, None])[1]
    c.check(field("name") == "lab-cam", "the page shows the camera name", str(field("name")))
    c.check(field("resolution") == "640×480", "the page shows the resolution", str(field("resolution")))
    c.check(field("format") == "YUYV", "the page shows the pixel format", str(field("format")))
    fps = field("fps")
    c.check(fps is not None and re.fullmatch(r"\d+\.\d", fps) and float(fps) > 0, "the page shows measured fps",
            str(fps))
    c.check(field("clients") is not None and int(field("clients")) >= 1,
            "the page counts its own stream as a client", str(field("clients")))
    c.check(field("state") == "", "the page shows no error while the camera runs", str(field("state")))

    shot = os.path.join(d.tmp, "page.png")
    chromium(d.url("/"), f"--screenshot={shot}")
    c.check(os.path.exists(shot), "chromium took a screenshot")
    if os.path.exists(shot):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", shot, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        width, height = 1000, len(raw) // (1000 * 3)
        row = 250  # inside the colour bars of the live image
        colours = set()
        for x in range(40, 960, 20):
            r, g, b = raw[(row * width + x) * 3:(row * width + x) * 3 + 3]
            if max(r, g, b) - min(r, g, b) > 60:  # saturated: a colour bar, not page background
                colours.add((r // 64, g // 64, b // 64))
        log(f"screenshot {width}x{height}: {len(colours)} distinct saturated colours on row {row}")
        c.check(len(colours) >= 4, "the live image renders in the browser (colour bars visible)",
                f"{len(colours)} colours")

c.done()
