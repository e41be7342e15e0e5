#!/usr/bin/env python3
"""What camrig's analysis costs, beside Debian's `motion` daemon on the same
input. Never fails; prints a table.

Motion: the people-walking clip of tests/integration/analysis_clips.py
(OpenCV's vtest.avi from opencv-doc: two walks between holds, 640x480, 10
fps, 23 s), played once by each at its own rate:
  - camrig (file: source, analysis.fps 10 and width 640 — every frame at full
    size, as Motion looks at it — and at the defaults 5 fps, 320 wide), and
    camrig with analysis off (the floor: decoding and pacing the clip);
  - motion 4.x (netcam_url file://, framerate 10, threshold 1500 pixels =
    0.5% of the image as camrig's test uses, event_gap 2 s, lightswitch
    guard on, no pictures, movies or streams).
Per run: process CPU (/proc/PID/stat utime+stime) per frame of the clip,
camrig's own CPU per analysed frame (its analysis thread, /status
analysis.cpu_ms), and the motion events each found (a person counts 2) with
the clip frames they started at (camrig's events say; for Motion, the
clip frame its first picture of each event shows, found with
python3-opencv).

Faces: the five-face still (analysis_clips.face_clip) at 320x240 and
640x480 analysed, largest_only, a detection on every analysed frame (2 per
second): camrig's mean detection time (/status analysis.faces.detect_ms)
and CPU per analysed frame, Haar and LBP cascades.
    bench/analysis_vs_motion.py     (CAMRIG=build/camrig by default)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
os.environ.setdefault("CAMRIG", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "camrig"))
import analysis_clips as clips  # noqa: E402
from camrig_test import Daemon, Events, wait_until  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
HAAR = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
LBP = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def camrig_motion(clip, fps, width, enabled=True):
    cfg = f"""
cameras:
  - name: cam
    source: file:{clip}
    loop: false
    analysis:
      fps: {fps}
      width: {width}
      motion:
        enabled: {str(enabled).lower()}
        threshold: 0.5
        event_gap: 2
        record: false
        snapshot: false
"""
    with Daemon(config=cfg) as d:
        events = Events(d)
        wait_until(lambda: d.status()["camera"]["state"] == "ended", 120, step=0.5)
        cpu = cpu_seconds(d.proc.pid)
        a = d.status()["camera"]["analysis"]
        events.close()
        return cpu, a, [e["frame"] for e in events.of("motion_start")]


def motion_daemon(clip, tmp):
    """Motion on one pass of clip: (process CPU seconds, the clip frames its
    events started at). Motion saves the first picture of each event; the
    clip frame it shows (least squared difference, python3-opencv) says
    where the event started."""
    if not shutil.which("motion"):
        return None
    import cv2
    import numpy as np
    conf, pics = os.path.join(tmp, "motion.conf"), os.path.join(tmp, "motion-pictures")
    os.makedirs(pics, exist_ok=True)
    with open(conf, "w") as f:
        f.write(f"""daemon off
setup_mode off
log_level 4
target_dir {pics}
netcam_url file://{clip}
width 640
height 480
framerate {clips.FPS}
threshold 1500
noise_tune on
despeckle_filter EedDl
lightswitch_percent 15
event_gap 2
minimum_motion_frames 1
pre_capture 0
post_capture 0
picture_output first
picture_type ppm
picture_filename event%v
text_left ""
text_right ""
locate_motion_mode off
movie_output off
snapshot_interval 0
stream_port 0
webcontrol_port 0
""")
    p = subprocess.Popen(["motion", "-n", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # One pass of the clip at its rate (Motion restarts a file at its end).
    time.sleep(clips.WALK_FRAMES / clips.FPS + 1.0)
    cpu = cpu_seconds(p.pid)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    cap, frames = cv2.VideoCapture(clip), []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32))
    starts = []  # (first, last) clip frame each event's picture matches
    for name in sorted(os.listdir(pics), key=lambda n: int("".join(ch for ch in n if ch.isdigit()) or 0)):
        pic = cv2.cvtColor(cv2.imread(os.path.join(pics, name)), cv2.COLOR_BGR2GRAY).astype(np.float32)
        d = np.array([np.mean((pic - x) ** 2) for x in frames])
        same = np.flatnonzero(d <= d.min() + 1)  # in a hold, several frames are alike
        starts.append((int(same.min()), int(same.max())))
    # The restart at the file's end jumps back to frame 0: a later event that
    # shows the first hold is the loop, not the clip.
    return cpu, [s for i, s in enumerate(starts) if i == 0 or s[0] > 1]


def camrig_faces(clip, width, model):
    cfg = f"""
cameras:
  - name: cam
    source: file:{clip}
    analysis:
      fps: 2
      width: {width}
      faces:
        enabled: true
        model: {model}
        largest_only: true
        min_size: 40
        every: 0
"""
    with Daemon(config=cfg) as d:
        wait_until(lambda: d.status()["camera"]["analysis"]["faces"]["detections"] >= 12, 60, step=0.5)
        a = d.status()["camera"]["analysis"]
    return a


tmp = tempfile.mkdtemp(prefix="camrig-bench-analysis-")
walk = clips.walk_clip(tmp)
rows, starts_of = [], {}
floor_cpu, _, _ = camrig_motion(walk, 10, 640, enabled=False)
rows.append(("camrig, analysis off (decoding the clip)", floor_cpu / clips.WALK_FRAMES * 1e3, None, None))
for fps, width in ((10, 640), (5, 320)):
    cpu, a, n = camrig_motion(walk, fps, width)
    rows.append((f"camrig motion, {fps} fps, {a['width']}x{a['height']}", cpu / clips.WALK_FRAMES * 1e3,
                 a["cpu_ms"], len(n)))
    starts_of[rows[-1][0]] = [str(f) for f in n]
m = motion_daemon(walk, tmp)
if m:
    rows.append(("motion 4.x, 10 fps, 640x480", m[0] / clips.WALK_FRAMES * 1e3, None, len(m[1])))
    starts_of[rows[-1][0]] = [str(a) if a == b else f"{a}..{b}" for a, b in m[1]]
else:
    rows.append(("motion: not installed (apt-get install motion)", None, None, None))

print(f"Motion detection on {clips.WALK_FRAMES} frames of vtest.avi walks (640x480, 10 fps; 2 walks):")
print(f"{'':44} {'process CPU/frame':>18} {'analysis CPU/frame':>19} {'events':>7}")
for name, per, own, n in rows:
    print(f"{name:44} {'' if per is None else f'{per:.2f} ms':>18} {'' if own is None else f'{own:.2f} ms':>19} "
          f"{'' if n is None else n:>7}")
print("events started at clip frames (the walks are frames", " and ".join(f"{a}..{b}" for a, b in clips.WALKS) + "):")
for name, starts in starts_of.items():
    print(f"  {name}: {', '.join(starts) or 'none'}")

face_clip, _ = clips.face_clip(tmp)
print("\nFace detection, largest_only, on the five-face still (one detection per analysed frame):")
print(f"{'':36} {'detect (wall)':>14} {'CPU/analysed frame':>19} {'faces':>6}")
for model, name in ((HAAR, "Haar"), (LBP, "LBP improved")):
    for width in (320, 640):
        a = camrig_faces(face_clip, width, model)
        f, size = a["faces"], f"{a['width']}x{a['height']}"
        print(f"{name + ', ' + size:36} {f['detect_ms']:>11.1f} ms {a['cpu_ms']:>16.1f} ms {f['count']:>6}")
shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps({"cores": os.cpu_count(), "load": os.getloadavg()}))
