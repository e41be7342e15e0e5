"""Helpers shared by the recording tests: ffprobe a recording, read its
sidecar, run `camrig verify`, wait for the recorder's state."""
import json
import os
import subprocess

from camrig_test import CAMRIG, SLOW, camrig_cmd, wait_until  # noqa: F401 (used by importers too)


def probe(path):
    """Returns (stream dict, [packet pts in s]) of the first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=codec_name,width,height,pix_fmt,nb_read_packets",
                          "-show_entries", "packet=pts_time", "-of", "json", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, []
    j = json.loads(out.stdout)
    pts = [float(p["pts_time"]) for p in j.get("packets", []) if p.get("pts_time") not in (None, "N/A")]
    return j["streams"][0], pts


def sidecar(path):
    """Returns (header dict, rows as dicts, end line or None) of a video's sidecar."""
    csv = os.path.splitext(path)[0] + ".csv"
    header, rows, end, cols = {}, [], None, None
    with open(csv) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# end:"):
                end = line
            elif line.startswith("# "):
                k, _, v = line[2:].partition(": ")
                header[k] = v
            elif cols is None:
                cols = line.split(",")
            elif line:
                rows.append(dict(zip(cols, line.split(","))))
    return header, rows, end


def recorded(rows):
    return [r for r in rows if r["status"] == "recorded"]


def verify(path):
    """Runs `camrig verify path`; returns (exit status, output)."""
    # A 20 s rawvideo file in the emulated guest takes a while (SLOW: its factor).
    p = subprocess.run(camrig_cmd("verify", path), capture_output=True, text=True, timeout=60 * SLOW)
    return p.returncode, p.stdout + p.stderr


def recording(d, camera=0):
    return d.status()["cameras"][camera]["recording"]


def wait_idle(d, camera=0, timeout=10):
    return wait_until(lambda: recording(d, camera)["state"] == "idle", timeout)


def files_of(d):
    """Every recording (video file) under the daemon's working directory."""
    found = []
    for root, _, names in os.walk(d.tmp):
        found += [os.path.join(root, n) for n in names if n.endswith((".mkv", ".mp4"))]
    return sorted(found)


def monotonic(xs):
    return all(b > a for a, b in zip(xs, xs[1:]))
