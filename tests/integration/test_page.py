#!/usr/bin/env python3
"""The live-view page in a real browser (Debian's headless Chromium through
the DevTools protocol, tests/integration/browser.py; test_webui.py drives
the whole page): with one camera, its tile shows its name, resolution and format from
/status, its measured fps and client count from the stats events, and the
live MJPEG image actually renders (the screenshot shows the test pattern's
colour bars)."""
import os
import re
import subprocess
import time

from browser import Browser, artifacts_dir
from camrig_test import Checks, Daemon, log, need

need("ffmpeg")
c = Checks()
FIELDS = """() => { const t = document.querySelector('.tile'); if (!t) return null;
  const f = (s) => t.querySelector(s).textContent;
  return f('.fps') === '–' ? null : {name: f('.name'), resolution: f('.resolution'), format: f('.format'),
    fps: f('.fps'), clients: f('.clients'), state: f('.state'), title: document.title}; }"""

with Daemon("--source", "test", "--size", "640x480", "--fps", "20", "--name", "lab-cam") as d, Browser() as b:
    # The measured rate exists after the camera's first second.
    for _ in range(50):
        if d.status()["camera"]["fps"]["measured"] > 0:
            break
        time.sleep(0.1)
    b.viewport(1000, 800)
    b.goto(d.url("/"))
    field = b.try_wait(FIELDS, 20) or {}
    c.check(field.get("name") == "lab-cam", "the page shows the camera name", str(field))
    c.check(field.get("title") == "lab-cam – camrig", "the title names the camera", str(field.get("title")))
    c.check(field.get("resolution") == "640×480", "the page shows the resolution", str(field.get("resolution")))
    c.check(field.get("format") == "YUYV", "the page shows the pixel format", str(field.get("format")))
    fps = field.get("fps")
    c.check(fps is not None and re.fullmatch(r"\d+\.\d", fps) and float(fps) > 0, "the page shows measured fps",
            str(fps))
    c.check(b.try_wait("() => Number(document.querySelector('.tile .clients').textContent) >= 1", 10),
            "the page counts its own stream as a client", str(field.get("clients")))
    c.check(field.get("state") == "", "the page shows no error while the camera runs", str(field.get("state")))

    b.try_wait("() => document.querySelector('.tile img.live').naturalWidth > 0", 20)
    shot = os.path.join(artifacts_dir(), "page.png")
    b.screenshot(shot)
    c.check(os.path.exists(shot), "chromium took a screenshot")
    if os.path.exists(shot):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", shot, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        width, height = 1000, len(raw) // (1000 * 3)
        row = 250  # inside the colour bars of the live image
        colours = set()
        for x in range(40, 960, 20):
            r, g, b_ = raw[(row * width + x) * 3:(row * width + x) * 3 + 3]
            if max(r, g, b_) - min(r, g, b_) > 60:  # saturated: a colour bar, not page background
                colours.add((r // 64, g // 64, b_ // 64))
        log(f"screenshot {width}x{height}: {len(colours)} distinct saturated colours on row {row}")
        c.check(len(colours) >= 4, "the live image renders in the browser (colour bars visible)",
                f"{len(colours)} colours")

c.done()
