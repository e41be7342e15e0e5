#!/usr/bin/env python3
"""Face detection and the overlay (src/analysis/) against the real daemon,
on a still of five faces from Debian's opencv-doc served as a looping file:
source (analysis_clips.face_clip):

- the daemon's face count and boxes (/status, faces events) match OpenCV's
  cascade run directly (python3-opencv) on the same decoded frame, scaled to
  the same analysed width, with the same model and parameters;
- largest_only reports the largest face alone; /metrics has the count;
- /frame?overlay=1 differs from the plain /frame only inside and around the
  boxes (and, with the timestamp, in its band), there clearly; gray output
  works with the overlay; ?overlay=0 turns a configured overlay off;
- recordings carry no overlay, unless recording.overlay asks: then the
  recorded frames (ffv1, lossless) differ from the clip's only in and around
  the boxes and the timestamp;
- a faces.model that is no file, or no cascade, stops camrig with the key and
  the reason."""
import json
import os
import subprocess
import tempfile

import analysis_clips as clips
from camrig_test import CAMRIG, Checks, Daemon, Events, free_port, need, skip, wait_until

need("ffmpeg", "ffprobe")
try:
    import cv2
    import numpy as np
except ImportError:
    skip("python3-opencv is not installed (scripts/install-deps.sh test installs it)")

c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-faces-")
MODEL = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
WIDTH, MIN_SIZE = 320, 40  # analysis.width, faces.min_size (camera pixels)
clip, still = clips.face_clip(tmp)


def reference():
    """OpenCV on the clip's first frame, scaled as camrig scales it, boxes in
    camera pixels, largest first."""
    ok, frame = cv2.VideoCapture(clip).read()
    assert ok, "cannot decode " + clip
    h, w = frame.shape[:2]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (WIDTH, h * WIDTH // w), interpolation=cv2.INTER_AREA)
    found = cv2.CascadeClassifier(MODEL).detectMultiScale(small, 1.1, 3, 0, (MIN_SIZE * WIDTH // w,) * 2)
    s = w / WIDTH
    boxes = [dict(x=round(x * s), y=round(y * s), width=round(bw * s), height=round(bh * s)) for x, y, bw, bh in found]
    return sorted(boxes, key=lambda b: -b["width"] * b["height"])


def iou(a, b):
    x0, y0 = max(a["x"], b["x"]), max(a["y"], b["y"])
    x1 = min(a["x"] + a["width"], b["x"] + b["width"])
    y1 = min(a["y"] + a["height"], b["y"] + b["height"])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a["width"] * a["height"] + b["width"] * b["height"] - inter)


def matches(got, want):
    """Every box of want has one of got with IoU >= 0.6, and as many."""
    return len(got) == len(want) and all(max((iou(g, w) for g in got), default=0) >= 0.6 for w in want)


def config(extra="", root="rec"):
    return f"""
cameras:
  - name: cam
    source: file:{clip}
    recording:
      codec: ffv1
      root: {os.path.join(tmp, root)}
      min_free_mb: 1
    analysis:
      fps: 5
      width: {WIDTH}
      timestamp: false
      faces:
        enabled: true
        model: {MODEL}
        min_size: {MIN_SIZE}
        every: 0.5
{extra}"""


def image(d, query):
    st, hdr, body = d.get("/frame" + query)
    assert st == 200, f"/frame{query}: {st} {body[:200]}"
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)


def overlay_diff(plain, drawn, boxes, margin=24):
    """(pixels that differ by > 40 outside the boxes grown by margin, pixels
    that differ inside that area, per box the differing pixels on its edge)."""
    diff = np.abs(plain.astype(int) - drawn.astype(int))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    changed = diff > 40
    near = np.zeros(changed.shape, bool)
    edges = []
    for b in boxes:
        x, y, w, h = b["x"], b["y"], b["width"], b["height"]
        near[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin] = True
        ring = np.zeros(changed.shape, bool)
        ring[max(0, y - 3):y + h + 3, max(0, x - 3):x + w + 3] = True
        ring[y + 3:y + h - 3, x + 3:x + w - 3] = False
        edges.append(int((changed & ring).sum()))
    return int((changed & ~near).sum()), int((changed & near).sum()), edges


def recorded_frame(d):
    """Records 1 s; returns the file's middle frame (BGR) and the clip's."""
    st, r = d.post_json("/api/command", body=b"start_recording 1")
    assert st == 200, r
    wait_until(lambda: d.status()["camera"]["recording"]["state"] == "idle" and
               d.status()["camera"]["recording"]["frames"]["written"] > 0, 20)
    cap = cv2.VideoCapture(r["files"][0])
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    ok, clip_frame = cv2.VideoCapture(clip).read()
    assert frames, "no frame in " + r["files"][0]
    return frames[len(frames) // 2], clip_frame


want = reference()
c.check(len(want) == 5, "OpenCV itself finds the five faces of the still", str(want))

# ---- all faces ---------------------------------------------------------------------------------------
with Daemon(config=config()) as d:
    events = Events(d)
    a = wait_until(lambda: (lambda x: x if x["faces"]["detections"] >= 3 else None)(
        d.status()["camera"]["analysis"]), 30)
    a = a or d.status()["camera"]["analysis"]
    got = a["faces"]["boxes"]
    c.check(a["faces"]["count"] == len(want) and matches(got, want),
            "/status: the daemon's faces match OpenCV's on the same image", f"daemon {got}\nopencv {want}")
    ev = wait_until(lambda: events.of("faces"), 10) or []
    c.check(ev and ev[-1]["count"] == len(want) and matches(ev[-1]["boxes"], want) and ev[-1]["camera"] == "cam",
            "faces events carry the count and the boxes in camera pixels", json.dumps(ev[-1:])[:400])
    c.check(a["faces"]["detect_ms"] > 0 and a["width"] == WIDTH and a["height"] == 240,
            "/status: detect_ms and the analysed size", json.dumps(a)[:300])
    _, _, text = d.get("/metrics")
    text = text.decode()
    c.check(f'camrig_faces{{camera="cam"}} {len(want)}\n' in text and "camrig_face_detections_total{" in text and
            "camrig_motion_events_total{" not in text, "/metrics: the face count (no motion metrics without motion "
            "detection)", "\n".join(line for line in text.splitlines() if "face" in line or "motion" in line))
    # The overlay: asked per request.
    plain, drawn = image(d, ""), image(d, "?overlay=1")
    outside, inside, edges = overlay_diff(plain, drawn, got)
    c.check(plain.shape == drawn.shape == (480, 640, 3), "/frame and /frame?overlay=1 are 640x480 color JPEGs",
            f"{plain.shape} {drawn.shape}")
    c.check(outside == 0 and inside > 500 and all(e > 100 for e in edges),
            "/frame?overlay=1 differs from /frame only in and around the boxes, there along every edge",
            f"outside {outside}, near {inside}, on edges {edges}")
    gray_plain, gray_drawn = image(d, "?gray=1"), image(d, "?gray=1&overlay=1")
    outside, inside, edges = overlay_diff(gray_plain, gray_drawn, got)
    c.check(gray_drawn.ndim == 2 and outside == 0 and all(e > 100 for e in edges),
            "gray output works with the overlay", f"{gray_drawn.shape} outside {outside}, on edges {edges}")
    frame, original = recorded_frame(d)
    outside, inside, edges = overlay_diff(original, frame, got)
    c.check(outside == 0 and inside == 0, "a recording carries no overlay unless recording.overlay asks",
            f"changed: {outside} outside the boxes, {inside} near them")
    events.close()

# ---- largest_only, the overlay on by config, with the timestamp --------------------------------------
cfg = config("        largest_only: true\n", root="rec-overlay").replace("timestamp: false", "timestamp: true\n      overlay: true")
cfg = cfg.replace("codec: ffv1", "codec: ffv1\n      overlay: true")
with Daemon(config=cfg) as d:
    a = wait_until(lambda: (lambda x: x if x["faces"]["detections"] >= 2 else None)(
        d.status()["camera"]["analysis"]), 30) or d.status()["camera"]["analysis"]
    got = a["faces"]["boxes"]
    c.check(a["faces"]["count"] == 1 and len(got) == 1 and iou(got[0], want[0]) >= 0.6,
            "largest_only gives the largest face alone", f"{got} vs {want[0]}")
    drawn, plain = image(d, ""), image(d, "?overlay=0")
    band = {"x": 0, "y": 0, "width": 330, "height": 30}  # the timestamp, top left
    outside, inside, edges = overlay_diff(plain, drawn, got + [band])
    c.check(outside == 0 and edges[0] > 100 and edges[1] > 0,
            "analysis.overlay draws the box and the timestamp by default; ?overlay=0 gives the plain image",
            f"outside {outside}, on edges {edges}")
    frame, original = recorded_frame(d)
    outside, inside, edges = overlay_diff(original, frame, got + [band])
    c.check(outside == 0 and edges[0] > 100 and edges[1] > 0,
            "recording.overlay: the recorded frames carry the box and the timestamp, nothing else changed",
            f"outside {outside}, on edges {edges}")

# ---- a bad model --------------------------------------------------------------------------------------
p = subprocess.run([CAMRIG, "run", "--listen", f"127.0.0.1:{free_port()}", "--source", "test", "-o",
                    "camera.analysis.faces.enabled=true", "-o", "camera.analysis.faces.model=/nonexistent.xml"],
                   capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
c.check(p.returncode == 1 and "cameras.0.analysis.faces.model: /nonexistent.xml: no such file" in p.stderr and
        "opencv-data" in p.stderr, "a faces.model that is no file is refused with the key", p.stderr.strip())
junk = os.path.join(tmp, "junk.xml")  # XML, but no cascade: OpenCV throws on it
with open(junk, "w") as f:
    f.write("<opencv_storage></opencv_storage>\n")
p = subprocess.run([CAMRIG, "run", "--listen", f"127.0.0.1:{free_port()}", "--source", "test", "-o",
                    "camera.analysis.faces.enabled=true", "-o", f"camera.analysis.faces.model={junk}"],
                   capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
c.check(p.returncode == 1 and f"analysis.faces.model: {junk}: not a cascade classifier" in p.stderr and
        "Sanitizer" not in p.stderr, "a faces.model that is XML but no cascade is refused (nothing leaked)",
        p.stderr.strip()[-600:])
c.done()
