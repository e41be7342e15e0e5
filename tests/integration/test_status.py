#!/usr/bin/env python3
"""The status model: one snapshot of every part, rendered the same way for
every reader. With two cameras, /status, the status command, GET
/api/record, GET /api/timelapse and get_stats must agree: the same keys in
the same order with the same types, the same names and states, and counters
that only grow from one reading to the next (each reader takes its own
snapshot, in this order)."""
import json

from camrig_test import Checks, Daemon

c = Checks()
CONFIG = """
cameras:
  - name: left
    source: test
    size: 320x240
    fps: 15
  - name: right
    source: test
    size: 160x120
    fps: 10
    lsl: {enabled: true}
"""


def flat(v, path="", out=None):
    """[(path, type, value)] in document order."""
    out = [] if out is None else out
    out.append((path, type(v).__name__, v if not isinstance(v, (dict, list)) else None))
    if isinstance(v, dict):
        for k, x in v.items():
            flat(x, f"{path}.{k}", out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            flat(x, f"{path}[{i}]", out)
    return out


VOLATILE = (".time", ".uptime", ".time_unix", "last_capture_unix", "measured", "encode_ms", "bitrate_kbps",
            ".seconds", "queued", "pool_in_use", "uid", "clients", "pre_trigger", "inlets", "streaming",
            "connections", "pending", "live_views")  # gauges: they may go down


def agree(a, b, what, counters_grow=True):
    fa, fb = flat(a), flat(b)
    c.check([(p, t) for p, t, _ in fa] == [(p, t) for p, t, _ in fb], f"{what}: same keys, order and types",
            str(set(fa) ^ set(fb))[:300])
    bad = []
    for (p, t, va), (_, _, vb) in zip(fa, fb):
        if any(v in p for v in VOLATILE) or va is None:
            continue
        if t in ("str", "bool") and va != vb:
            bad.append((p, va, vb))
        if t == "int" and counters_grow and vb < va:
            bad.append((p, va, vb))
    c.check(not bad, f"{what}: same names and states, counters never go back", str(bad[:5]))


with Daemon("--source", "test", config=CONFIG) as d:
    d.wait_camera(lambda cam: cam["frames"]["captured"] > 5, 20, camera=1)
    status = d.status()
    st, reply = d.post_json("/api/command", b"status")
    c.check(st == 200 and reply.get("ok"), "the status command answers", str(reply)[:200])
    agree(status, reply["status"], "/status and the status command")
    c.check(status["camera"] == status["cameras"][0], "camera is the first of cameras (one snapshot)")
    c.check([x["name"] for x in status["cameras"]] == ["left", "right"], "both cameras, in config order")
    c.check(status["cameras"][0]["lsl"] is None and isinstance(status["cameras"][1]["lsl"], dict),
            "each camera's own parts (LSL only on right)")

    st, _, body = d.get("/api/record")
    record = json.loads(body)
    for i, cam in enumerate(record["cameras"]):
        entry = dict(cam)
        name = entry.pop("camera")
        c.check(name == status["cameras"][i]["name"], f"GET /api/record names camera {i}", name)
        agree(reply["status"]["cameras"][i]["recording"], entry, f"GET /api/record camera {i} and /status")
    st, _, body = d.get("/api/timelapse")
    for i, cam in enumerate(json.loads(body)["cameras"]):
        entry = dict(cam)
        entry.pop("camera")
        agree(status["cameras"][i]["timelapse"], entry, f"GET /api/timelapse camera {i} and /status")
    # get_stats is the detailed one: every camera as /status has it, with
    # recording, pre-trigger, encoder, LSL, clients and upload counters.
    st, stats = d.post_json("/api/command", b"get_stats")
    names = [x["name"] for x in stats.get("cameras", [])]
    c.check(names == ["left", "right"], "get_stats renders the same cameras", str(stats)[:300])
    for i, cam in enumerate(stats.get("cameras", [])):
        agree(status["cameras"][i], cam, f"get_stats camera {i} and /status (a later snapshot)")
        c.check(all(k in cam for k in ("recording", "lsl", "clients", "upload", "consumers")) and
                all(k in cam["recording"] for k in ("pre_trigger", "encoder")),
                f"get_stats camera {i} has recording, pre-trigger, encoder, LSL, clients, upload", str(cam)[:300])
    c.check(isinstance(stats.get("clients"), dict) and "uptime" in stats, "get_stats has the clients and uptime",
            str(stats)[:200])
c.done()
