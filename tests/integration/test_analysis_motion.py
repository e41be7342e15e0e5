#!/usr/bin/env python3
"""Motion detection (src/analysis/) against the real daemon, on real footage
from a Debian package (analysis_clips.py: OpenCV's vtest.avi cut into two
walks between still holds, played once as a file: source):

- the two walks start exactly two motion events, at the walks' first frames
  (within the analysis rate) and ending after their last ones; each starts a
  recording (trigger type 6) that begins pre_trigger before the motion and
  ends post_capture after it, which `camrig verify` accepts, with a snapshot;
  the sidecar says "motion", LSL's trigger_type channel 6 and the marker
  stream carries motion_start and motion_end; ntfy gets a notification per
  event with its snapshot attached; /status counts it all, and get_stats
  and /metrics show the same counters;
- a light switch (40% brighter in one frame) with sensor noise: no event;
- an exclude zone over the walkers: no event;
- zones the grammar refuses stop camrig with the file's line and the key;
- analysis on, a stalled live view and a recording: capture drops nothing.
Judged by frame indices and the daemon's counters, not by wall-clock time."""
import json
import os
import re
import shutil
import socket
import tempfile
import threading

import analysis_clips as clips
import lsl_inlet as L
from camrig_test import CAMRIG, Checks, Daemon, Events, free_port, need, wait_until
from ntfy_server import NtfyServer
from record_util import sidecar, recorded, verify
import subprocess

need("ffmpeg", "ffprobe")
clips.need_footage()
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-motion-")
PRE, GAP, POST = 2.0, 1.5, 1.0
NAME = "camrig-motion-%d" % os.getpid()


def maps_opencv(d):
    """Whether the daemon's address space holds OpenCV (its module or libraries)."""
    with open(f"/proc/{d.proc.pid}/maps") as f:
        return any("camrig-opencv" in line or "libopencv" in line for line in f)


def config(source, root, extra=""):
    return f"""
cameras:
  - name: cam
    source: file:{source}
    loop: false
    recording:
      root: {root}
      pre_trigger: {PRE}
      min_free_mb: 1
    lsl:
      enabled: true
      name: {NAME}
      interfaces: [lo]
    analysis:
      fps: 5
      motion:
        enabled: true
        threshold: 0.5
        event_gap: {GAP}
        post_capture: {POST}
{extra}"""


def wait_ended(d, timeout=90):
    """Until the clip has played and the recorder is idle."""
    return wait_until(lambda: (lambda cam: cam["state"] == "ended" and cam["recording"]["state"] == "idle")(
        d.status()["camera"]), timeout, step=0.5)


class Samples(threading.Thread):
    """Reads an LSL feed until closed."""

    def __init__(self, info):
        super().__init__(daemon=True)
        self.feed = L.Feed(info, timeout=60)
        self.samples = []
        self.start()

    def run(self):
        try:
            while True:
                self.samples.append(self.feed.read_sample())
        except Exception:  # the stream ends with the daemon
            pass


walk = clips.walk_clip(tmp)
light = clips.light_clip(tmp)

# ---- two walks: two events, two recordings ------------------------------------------------------------
root = os.path.join(tmp, "rec")
with NtfyServer() as srv, Daemon(config=config(walk, root) + f"""
ntfy:
  enabled: true
  server: {srv.url}
  topic: camrig-motion-test
  events: motion_start
""") as d:
    events = Events(d)
    targets = L.known_peer_targets() + [("127.0.0.1", L.MULTICAST_PORT)]
    frames_info = wait_until(lambda: L.resolve(L.query_for(name=NAME), targets=targets), 10)
    markers_info = wait_until(lambda: L.resolve(L.query_for(name=NAME + "-markers"), targets=targets), 10)
    frames_feed = Samples(frames_info[0]) if frames_info else None
    markers_feed = Samples(markers_info[0]) if markers_info else None
    ok = wait_ended(d)
    cam = d.status()["camera"]
    # The events the daemon counted have reached the stream.
    wait_until(lambda: len(events.of("motion_end")) >= cam["analysis"]["motion"]["events"] and
               len(events.of("recording_finished")) >= cam["recording"]["recordings"], 10)
    events.close()
    c.check(ok, "the clip plays to its end and the recorder goes idle", json.dumps(cam["recording"])[:300])
    c.check(cam["frames"]["captured"] == clips.WALK_FRAMES and cam["frames"]["dropped_pool"] == 0,
            "every frame of the clip is captured: frame index = clip frame", json.dumps(cam["frames"]))
    starts, ends = events.of("motion_start"), events.of("motion_end")
    c.check(len(starts) == 2 and len(ends) == 2, "the two walks make exactly two motion events",
            f"starts {[e['frame'] for e in starts]} ends {[e['frame'] for e in ends]}")
    for i, (first, last) in enumerate(clips.WALKS[:len(starts)]):
        s = starts[i]
        # The first analysed frame of the walk starts the event: the one
        # analysed before it (frames may be skipped or dropped) is still.
        prev = s["previous_frame"]
        c.check(prev is not None and prev < first <= s["frame"] <= first + clips.FPS,
                f"walk {i + 1}: motion_start at the first frame analysed from its first frame {first} on",
                f"frame {s['frame']}, the analysed frame before it {prev}")
        box = s["box"]
        c.check(s["fraction"] >= 0.5 and box["width"] > 0 and box["height"] > 0 and box["x"] + box["width"] <= 640
                and box["y"] + box["height"] <= 480, f"walk {i + 1}: motion_start has the changed fraction and a box",
                json.dumps(s))
        c.check(s["snapshot"] and os.path.getsize(s["snapshot"]) > 1000, f"walk {i + 1}: a snapshot per event",
                str(s["snapshot"]))
        if i < len(ends):
            e = ends[i]
            # The background absorbs what stopped within a few analysed
            # frames (a second of the clip at most, whatever was dropped).
            c.check(last <= e["frame"] <= last + clips.FPS, f"walk {i + 1}: motion_end at its last frame {last}",
                    f"frame {e['frame']}")
            c.check(e["box"]["width"] >= box["width"] and e["peak_fraction"] >= s["fraction"],
                    f"walk {i + 1}: motion_end has the event's box and peak", json.dumps(e))

    finished = events.of("recording_finished")
    c.check(len(finished) == 2, "each event made one recording", str([f["file"] for f in finished]))
    for i, f in enumerate(finished[:len(starts)]):
        header, rows, end = sidecar(f["file"])
        rec = recorded(rows)
        first_ns, last_ns = int(rec[0]["mono_ns"]), int(rec[-1]["mono_ns"])
        start_ns = starts[i]["mono_ns"]
        c.check(header.get("trigger") == "motion" and int(header.get("trigger_mono_ns", 0)) == start_ns and
                all(r["trigger"] == "motion" for r in rows), f"recording {i + 1}: the sidecar's trigger is motion, "
                "at the capture time of the event's first frame", str(header))
        # The pre-trigger starts on a keyframe (recording.gop 1 s): up to one GOP earlier.
        lead = (start_ns - first_ns) / 1e9
        c.check(PRE - 0.05 <= lead <= PRE + 1.05, f"recording {i + 1}: begins {PRE} s (pre_trigger) before the motion",
                f"{lead:.2f} s before; first frame {rec[0]['index']}")
        if i < len(ends):
            tail = (last_ns - ends[i]["mono_ns"]) / 1e9
            c.check(POST - 0.15 <= tail <= POST + 0.75, f"recording {i + 1}: ends post_capture ({POST} s) after the "
                    "event's last motion", f"{tail:.2f} s after; last frame {rec[-1]['index']}")
        rc, out = verify(f["file"])
        c.check(rc == 0 and "OK" in out, f"recording {i + 1}: camrig verify accepts it", out.strip())

    puts = wait_until(lambda: [p for p in srv.posts if p["attachment"]] if len(srv.posts) >= 2 else None, 10) or []
    c.check(len(srv.posts) == 2 and len(puts) == 2, "ntfy: one notification per motion event, each with a file",
            str([(p["method"], p["body"], p["attachment"] and p["attachment"]["name"]) for p in srv.posts]))
    for i, p in enumerate(puts[:len(starts)]):
        snap = starts[i]["snapshot"] or ""
        att = p["attachment"]
        c.check(p["method"] == "PUT" and att["name"] == os.path.basename(snap) and att["data"][:2] == b"\xff\xd8"
                and os.path.exists(snap) and att["data"] == open(snap, "rb").read() and
                p["headers"].get("title") == "Motion" and "cam: motion" in p["body"],
                f"ntfy {i + 1}: the event's snapshot is attached (PUT, Filename, the text in Message)",
                f"{p['method']} {att['name']} {att['size']} bytes, {p['headers'].get('title')}: {p['body']}")

    a = cam["analysis"]
    c.check(a and a["motion"]["events"] == 2 and a["motion"]["light_switches"] == 0 and a["analysed"] >= 100 and
            a["width"] == 320 and a["height"] == 240 and a["cpu_ms"] > 0,
            "/status analysis: 2 events, 320x240 analysed, counters", json.dumps(a)[:400])
    consumers = {x["name"]: x for x in cam["consumers"]}
    c.check("analysis" in consumers and consumers["analysis"]["depth"] == 2,
            "/status consumers: the analysis queue (depth 2) with its drop count", json.dumps(cam["consumers"]))
    st, stats = d.post_json("/api/command", body=b"get_stats")
    ga = stats["cameras"][0]["analysis"] if st == 200 else None
    c.check(ga and ga["motion"]["events"] == 2 and ga["analysed"] == a["analysed"],
            "get_stats: the same analysis state as /status", json.dumps(ga)[:300])
    st, _, text = d.get("/metrics")
    text = text.decode()
    metric = lambda name: (lambda m: float(m.group(1)) if m else None)(  # noqa: E731
        re.search("^" + re.escape(name + '{camera="cam"}') + r" (\S+)$", text, re.M))
    c.check(st == 200 and metric("camrig_motion_events_total") == 2 and
            metric("camrig_analysis_frames_total") == a["analysed"] and metric("camrig_motion_active") == 0 and
            metric("camrig_motion_light_switches_total") == 0 and metric("camrig_faces") is None,
            "/metrics: the analysis counters of the status model (no face metrics without face detection)",
            "\n".join(line for line in text.splitlines() if "analysis" in line or "motion" in line))
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        c.check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
                "promtool check metrics passes with the analysis families", p.stdout + p.stderr)
    if frames_feed and markers_feed:
        marks = lambda: [json.loads(v[0])["event"] for _, v in markers_feed.samples]  # noqa: E731
        wait_until(lambda: marks().count("motion_end") >= 2, 10)
        types = [int(v[2]) for _, v in frames_feed.samples]
        c.check(types.count(6) >= 2 and set(types) <= {0, 6}, "LSL: trigger_type 6 (motion) marks the triggers",
                f"{types.count(6)} samples with 6 of {len(types)}; {sorted(set(types))}")
        marks = marks()
        c.check(marks.count("motion_start") == 2 and marks.count("motion_end") == 2,
                "LSL: the marker stream carries motion_start and motion_end", str(marks))
    else:
        c.check(False, "LSL: the camera's streams resolve", f"{frames_info} {markers_info}")

# ---- a light switch and sensor noise: no event; an exclude zone over the walkers: no event -----------
light_cfg = config(light, os.path.join(tmp, "rec-light"))
mask_cfg = config(walk, os.path.join(tmp, "rec-mask"), """        record: false
        snapshot: false
        zones:
          walkers: "exclude 0,100 640x300"
""").replace(NAME, NAME + "-mask")
with Daemon(config=light_cfg) as dl, Daemon(config=mask_cfg) as dm:
    el, em = Events(dl), Events(dm)
    ok = wait_ended(dl) and wait_ended(dm)
    al, am = dl.status()["camera"]["analysis"], dm.status()["camera"]["analysis"]
    # an event the daemon counted would be on the stream (none should be)
    wait_until(lambda: len(el.of("motion_start")) >= al["motion"]["events"] and
               len(em.of("motion_start")) >= am["motion"]["events"], 10)
    el.close()
    em.close()
    c.check(ok, "both clips play to their end")
    c.check(not el.of("motion_start") and al["motion"]["events"] == 0 and al["analysed"] >= 30,
            "a light switch (40% brighter in one frame) with sensor noise starts no event",
            f"{[e['frame'] for e in el.of('motion_start')]} {json.dumps(al['motion'])}")
    c.check(al["motion"]["light_switches"] >= 1, "the light-switch guard saw it", json.dumps(al["motion"]))
    c.check(not em.of("motion_start") and am["motion"]["events"] == 0 and am["analysed"] >= 100,
            "an exclude zone over the walkers suppresses their events",
            f"{[e['frame'] for e in em.of('motion_start')]} {json.dumps(am['motion'])}")

# ---- zones the grammar refuses ------------------------------------------------------------------------
for zone, says in (("keep 0,0 10x10", "does not start with include or exclude"),
                   ("exclude 0,0 5,5", "has 2 points"),
                   ("include 0,0 0x10", "a rectangle is one point and a size above 0x0"),
                   ("exclude 1,2 3;4 5,6", "\"3;4\" is not a point")):
    path = os.path.join(tmp, "bad.yaml")
    with open(path, "w") as f:
        f.write(f"cameras:\n  - name: cam\n    source: test\n    analysis:\n      motion:\n        enabled: true\n"
                f"        zones:\n          door: \"{zone}\"\n")
    p = subprocess.run([CAMRIG, "run", "--config", path, "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    c.check(p.returncode == 1 and f"{path}:8: cameras.0.analysis.motion.zones.door:" in p.stderr and says in p.stderr
            and "expected include or exclude" in p.stderr, f"zone {zone!r} is refused with the line and key",
            p.stderr.strip())

# ---- analysis on, a stalled live view, a recording: capture drops nothing -----------------------------
with Daemon("--source", "test", "--size", "640x480", "--fps", "30", "-o", "camera.analysis.motion.enabled=true",
            "-o", "camera.analysis.motion.record=false", "-o", "camera.analysis.overlay=true",
            "-o", "camera.recording.codec=mjpeg", "-o", f"camera.recording.root={os.path.join(tmp, 'rec-stall')}",
            "-o", "camera.recording.min_free_mb=1") as d:
    stalled = socket.create_connection(("127.0.0.1", d.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n\r\n".encode())
    st, r = d.post_json("/api/command", body=b"start_recording")
    before = d.status()["camera"]["frames"]["captured"]
    wait_until(lambda: d.status()["camera"]["frames"]["captured"] >= before + 90, 30)
    d.post_json("/api/command", body=b"stop_recording")
    cam = d.status()["camera"]
    stalled.close()
    video = {x["name"]: x for x in cam["consumers"]}.get("video", {})
    c.check(st == 200 and cam["frames"]["dropped_pool"] == 0 and video.get("dropped") == 0 and
            cam["analysis"]["analysed"] >= 10, "analysis + stalled live view + recording: no frame dropped by capture "
            "or the encoder", json.dumps({"frames": cam["frames"], "consumers": cam["consumers"]}))
    c.check(maps_opencv(d), "with a detector on, OpenCV's module is loaded")

# ---- no detector: OpenCV is never loaded (the module is loaded on first use) ----
with Daemon("--source", "test", "--size", "320x240", "-o", "camera.recording.pre_trigger=0") as d:
    d.get("/snapshot.jpg")
    c.check(not maps_opencv(d), "with no detector, camrig maps no OpenCV library")

# ---- the module missing: a detector refuses to start, saying where it looked ----
lone = os.path.join(tmp, "lone")
os.makedirs(lone)
shutil.copy(CAMRIG, lone)
p = subprocess.run([os.path.join(lone, "camrig"), "run", "--source", "test", "--listen", f"127.0.0.1:{free_port()}",
                    "-o", "camera.analysis.motion.enabled=true"], capture_output=True, text=True, timeout=30,
                   stdin=subprocess.DEVNULL)
c.check(p.returncode == 1 and "analysis.motion.enabled" in p.stderr and "camrig-opencv.so" in p.stderr
        and lone in p.stderr, "without OpenCV's module a detector refuses to start and says where it looked",
        p.stderr.strip())

c.done()
