#!/usr/bin/env python3
"""The LSL outlet inside the real daemon (doc/lsl-protocol.md), read with the
minimal inlet in lsl_inlet.py over loopback: the stream resolves by name,
fullinfo describes the camera, one sample per frame with consecutive frame
numbers, timestamps equal to the capture times in the recording's sidecar,
an HTTP trigger on the first sample after it (and on no other), a
time-correction exchange, an inlet that stops reading stalls neither the
camera nor another inlet, and the camera's marker stream NAME-markers with
one JSON marker per recording start and end, snapshot and timelapse shot,
stamped with when each happened."""
import csv
import glob
import json
import os
import time

import lsl_inlet as L
from camrig_test import Checks, Daemon

c = Checks()
NAME = "camrig-daemon-%d" % os.getpid()


def read_samples(feed, n):
    return [feed.read_sample() for _ in range(n)]


with Daemon("--source", "test", "--size", "320x240", "--fps", "50", "--name", "labcam",
            "-o", "camera.lsl.enabled=true", "-o", f"camera.lsl.name={NAME}",
            "-o", "camera.recording.pre_trigger=0", "-o", "camera.recording.codec=mjpeg") as d:
    found = []
    for _ in range(5):
        found = L.resolve(L.query_for(name=NAME), targets=L.known_peer_targets() + [("127.0.0.1", 16571)])
        if found:
            break
    c.check(len(found) == 1, "the stream resolves by name over UDP", str(len(found)))
    if not found:
        c.done()
    info = L.fullinfo(found[0])
    c.check(info["name"] == NAME and info["type"] == "VideoEvents" and info["channel_count"] == "3"
            and info["channel_format"] == "double64", "fullinfo: name, type, 3 double64 channels",
            str({k: info[k] for k in ("name", "type", "channel_count", "channel_format")}))
    c.check(float(info["nominal_srate"]) == 50, "fullinfo: nominal rate is the camera's fps", info["nominal_srate"])
    desc = L.ET.tostring(info["xml"].find("desc"), encoding="unicode")
    c.check("labcam" in desc and "320" in desc and "YUYV" in desc and "frame_number" in desc,
            "fullinfo <desc> has channel labels and the camera's name, size and format")
    c.check(info["source_id"].endswith("labcam"), "source_id is stable: derived from host and camera",
            info["source_id"])

    markers_found = L.resolve(L.query_for(name=NAME + "-markers"),
                              targets=L.known_peer_targets() + [("127.0.0.1", 16571)])
    c.check(len(markers_found) == 1 and markers_found[0]["type"] == "Markers" and
            markers_found[0]["channel_format"] == "string" and float(markers_found[0]["nominal_srate"]) == 0,
            "the marker stream NAME-markers resolves: type Markers, one string channel, irregular rate",
            str(markers_found[:1]))
    markers = L.Feed(markers_found[0]) if markers_found else None
    feed = L.Feed(found[0])
    stalled = L.Feed(found[0], rcvbuf=4096)  # opens, then never reads again
    first = read_samples(feed, 50)
    numbers = [int(v[0]) for _, v in first]
    c.check(all(b - a == 1 for a, b in zip(numbers, numbers[1:])), "frame numbers are consecutive",
            str(numbers[:8]))
    c.check(all(v[1] == 0 and v[2] == 0 for _, v in first), "no trigger before any trigger")

    t_trigger = time.time()
    st, _, body = d.request("POST", "/api/command", body=b"start_recording")
    reply = json.loads(body)
    c.check(st == 200 and reply["ok"], "start_recording over HTTP", body.decode()[:200])
    during = read_samples(feed, 100)
    st, _, body = d.request("POST", "/api/command", body=b"stop_recording")
    triggered = [(ts, v) for ts, v in during if v[2] == 3]
    c.check(len(triggered) == 1 and abs(triggered[0][1][1] - t_trigger) < 1.0,
            "one sample after the HTTP trigger carries trigger_type 3 and its UTC time",
            str(triggered[:3]))
    after_trigger = [v for _, v in during if triggered and v[0] > triggered[0][1][0]]
    c.check(after_trigger and all(v[2] == 0 and v[1] == triggered[0][1][1] for v in after_trigger),
            "later samples keep trigger_time with trigger_type 0", str(after_trigger[:2]))
    # Timestamps are the capture times: compare with the recording's sidecar.
    time.sleep(0.5)
    sidecars = glob.glob(os.path.join(d.cwd, "recordings", "*", "video", "*.csv"))
    c.check(len(sidecars) == 1, "the recording left one sidecar", str(sidecars))
    if sidecars:
        with open(sidecars[0]) as f:
            rows = [r for r in csv.DictReader(l for l in f if not l.startswith("#")) if r["mono_ns"]]
        capture = {int(r["index"]): int(r["mono_ns"]) for r in rows}
        lsl = {int(v[0]): ts for ts, v in during}
        common = sorted(set(capture) & set(lsl))
        mismatches = [i for i in common if abs(lsl[i] - capture[i] / 1e9) > 1e-9]
        c.check(len(common) >= 50 and not mismatches,
                "LSL timestamps equal the sidecar's capture times, frame by frame",
                f"{len(common)} common frames, mismatches {mismatches[:5]}")
        first_triggered = min(int(v[0]) for _, v in triggered) if triggered else None
        trig_mono = None
        with open(sidecars[0]) as f:
            for line in f:
                if line.startswith("# trigger_mono_ns:"):
                    trig_mono = int(line.split(":")[1])
        before = [i for i in capture if capture[i] < trig_mono] if trig_mono else []
        after = [i for i in lsl if trig_mono and i in capture and capture[i] >= trig_mono]
        c.check(first_triggered is not None and after and first_triggered == min(after),
                "the trigger shows on the sample of the first frame captured after it",
                f"first triggered {first_triggered}, first after {min(after) if after else None}")

    # The markers of that recording, a snapshot and a timelapse shot, in order.
    d.request("POST", "/api/command", body=b"snapshot")
    d.request("POST", "/api/command", body=b"timelapse start 0")
    d.request("POST", "/api/command", body=b"timelapse shot")
    got = []
    if markers:
        while len(got) < 4:
            ts, (text,) = markers.read_sample()
            got.append((ts, json.loads(text)))
    events = [m["event"] for _, m in got]
    c.check(events == ["recording_started", "recording_finished", "snapshot", "timelapse_shot"],
            "markers: recording_started, recording_finished, snapshot, timelapse_shot", str(events))
    if len(got) == 4 and sidecars:
        start, end = got[0][1], got[1][1]
        c.check(start["camera"] == "labcam" and start["trigger"] == "http" and
                os.path.basename(start["file"]) == os.path.basename(sidecars[0])[:-4] + ".mkv" and
                end["file"] == start["file"] and end["frames"] == len(rows),
                "the recording's markers name the camera, the trigger, the file and its frames",
                json.dumps(got[:2]))
        c.check(trig_mono and abs(got[0][0] - trig_mono / 1e9) < 1e-9,
                "recording_started is stamped with the trigger's time (the sidecar's trigger_mono_ns)",
                f"{got[0][0]} vs {trig_mono}")
        c.check(abs(got[1][0] - max(capture.values()) / 1e9) < 1e-9,
                "recording_finished is stamped with the capture time of the file's last frame",
                f"{got[1][0]} vs {max(capture.values())}")
        c.check(got[3][0] >= got[2][0] >= got[1][0], "markers come in time order",
                str([ts for ts, _ in got]))

    # On one host the clocks are the same: the estimate is off by at most half
    # the round trip (however long a loaded machine makes that).
    offset, rtt = L.time_correction(found[0])
    c.check(abs(offset) <= rtt / 2 + 0.001, "time correction: offset within half the round trip on one host",
            f"offset {offset}, rtt {rtt}")

    # The stalled inlet blocks nobody.
    later = read_samples(feed, 100)
    numbers = [int(v[0]) for _, v in later]
    c.check(all(b - a == 1 for a, b in zip(numbers, numbers[1:])),
            "with a stalled inlet connected, the other still gets every frame")
    s = d.status()
    cam = s["camera"]
    c.check(cam["frames"]["dropped_pool"] == 0, "and the camera drops nothing for it", str(cam["frames"]))
    c.check(cam["lsl"] and cam["lsl"]["streaming"] >= 1 and cam["lsl"]["samples_pushed"] > 0,
            "/status shows the outlet's counters", json.dumps(cam["lsl"]))
    c.check(cam["lsl"] and cam["lsl"]["markers"] and cam["lsl"]["markers"]["samples_pushed"] >= 4 and
            cam["lsl"]["markers"]["refused"] == 0, "/status shows the marker stream's counters",
            json.dumps(cam["lsl"]))
    stalled.close()
    feed.close()
    if markers:
        markers.close()

c.done()
