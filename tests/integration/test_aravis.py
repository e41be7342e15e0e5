#!/usr/bin/env python3
"""The aravis: source against Aravis's fake GigE Vision camera on loopback
(the real GVCP/GVSP protocol): `camrig list` finds it; 1000 frames at 100 fps
Mono8 with none lost by camrig (the daemon's counters and the sidecar, with the
camera's own timestamps); GenICam features from the config and live, seen in
the pixels the camera sends; Mono16 recorded losslessly (ffv1) and decoded
equal to the camera's pattern; lost packets showing as lost rows; bad
features and values refused naming what is valid; the fake camera and a test
pattern started and stopped together three times with recording.split:
session: one file per camera, one trigger time per span in both sidecars."""
import json
import os
import subprocess
import tempfile

from aravis_util import FakeCamera, frame_id, listed, mono16_pattern, need_fake
from camrig_test import CAMRIG, Checks, Daemon, log, need, wait_until
from record_util import probe, recorded, recording, sidecar, verify, wait_idle

need("ffmpeg", "ffprobe")
need_fake()
c = Checks()
W, H = 320, 240


def config(source, fmt, codec, controls=""):
    return f"""cameras:
  - name: gige
    source: "aravis:{source}"
    fps: 100
    size: {W}x{H}
    format: {fmt}
{controls}    recording:
      codec: {codec}
"""


def command(d, line):
    st, reply = d.post_json("/api/command", line.encode())
    return st, reply


def written(d):
    return recording(d)["frames"]["written"]


def record_frames(d, n, timeout=120, between=None, at=0):
    """Records until the recorder has written n frames (the daemon's own
    count); between(d) runs once at `at` frames. Returns the recording's file."""
    st, reply = command(d, "start_recording")
    c.check(st == 200 and reply.get("ok"), "start_recording", str(reply))
    if between:
        wait_until(lambda: written(d) >= at, timeout)
        between(d)
    c.check(wait_until(lambda: written(d) >= n, timeout), f"{n} frames recorded", str(recording(d)))
    st, reply = command(d, "stop_recording")
    c.check(st == 200 and wait_idle(d, timeout=20), "stop_recording", str(reply))
    return os.path.join(d.tmp, reply["files"][0])


with FakeCamera("GVT1") as cam:
    # ---- camrig list ------------------------------------------------------
    para = listed("GVT1") or ""
    c.check("vendor Aravis, model Fake, serial GVT1, GigEVision at 127.0.0.1" in para,
            "camrig list: vendor, model, serial, interface, address", para)
    c.check("Mono8" in para and "Mono16" in para and "BayerRG8" in para, "camrig list: pixel formats", para)
    p = subprocess.run([CAMRIG, "list", "--json"], capture_output=True, text=True, timeout=60)
    try:
        listing = json.loads(p.stdout)
    except ValueError:
        listing = {}
    found = [x for x in listing.get("aravis") or [] if x["id"] == cam.id]
    c.check(p.returncode == 0 and found and found[0]["spec"] == f"aravis:{cam.id}" and found[0]["vendor"] == "Aravis"
            and found[0]["interface"] == "GigEVision" and {"Mono8", "Mono16", "BayerRG8"} <= set(found[0]["formats"])
            and found[0]["error"] is None, "camrig list --json: the camera with its spec and formats", p.stdout[:400])
    c.check(any(x["name"] == "aravis" and x["form"] == "aravis:[ID]" for x in listing.get("sources", [])) and
            isinstance(listing.get("v4l2"), list), "camrig list --json: the kinds of source and the V4L2 list")

    # ---- 1000 frames at 100 fps Mono8, none lost ----------------------------
    with Daemon(config=config(cam.id, "Mono8", "h264")) as d:
        s = d.status()["cameras"][0]
        c.check(s["state"] == "running" and s["format"] == "GREY" and (s["width"], s["height"]) == (W, H)
                and s["fps"]["nominal"] == 100 and s["device"] == "GVT1" and "GigEVision" in s["driver"],
                "the camera runs at 320x240 GREY (Mono8), 100 fps", json.dumps(s)[:400])
        path = record_frames(d, 1000)
        # On loopback the only loss allowed is the kernel's: a stream thread
        # kept off the CPU (a loaded machine) lets the socket buffer overflow
        # and a frame arrives with packets missing. Such a frame must be
        # counted once and shown as a lost row; camrig itself may lose none
        # (no underrun: Aravis never waits for a buffer we hold).
        def settled():
            cam = d.status()["cameras"][0]
            st = cam["stream"]
            return cam["frames"]["lost_upstream"] >= st["failed"] and st["incomplete"] == st["failed"]
        wait_until(settled, 5)
        s = d.status()["cameras"][0]
        st = s["stream"]
        lost_up = s["frames"]["lost_upstream"]
        if st["failed"]:
            log(f"note: {st['failed']} frame(s) lost to the kernel's socket buffer ({st['missing_packets']} packets)")
        c.check(st["underruns"] == 0 and st["failed"] == st["incomplete"] and
                lost_up == st["failed"] + st["missing_frames"] and
                lost_up <= st["completed"] // 100, "no frame lost by camrig, any the kernel lost counted once "
                "(camera and stream counters)", json.dumps(s["frames"]) + json.dumps(st))
        c.check(st["completed"] >= 1000 and s["frames"]["captured"] <= st["completed"],
                "/status has the stream statistics", json.dumps(st))
        header, rows, end = sidecar(path)
        rec = recorded(rows)
        lost = [r for r in rows if r["status"] == "lost"]
        seqs = sorted(int(r["sequence"]) for r in rows if r["status"] in ("recorded", "lost"))
        dev = [int(r["device_ns"]) for r in rec]
        c.check(len(rec) >= 1000 and len(rec) + len(lost) == len(rows) and len(lost) <= lost_up,
                "sidecar: every row recorded or lost upstream, none dropped", f"{len(rec)}+{len(lost)} of {len(rows)}")
        c.check(all(b == a + 1 for a, b in zip(seqs, seqs[1:])), "sidecar: frame ids without a gap",
                str([(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1][:5]))
        c.check(all(b > a for a, b in zip(dev, dev[1:])) and dev[0] > 0,
                "sidecar: device_ns, the camera's timestamp, increases", str(dev[:3]))
        periods = sorted(b - a for a, b in zip(dev, dev[1:]))
        c.check(9e6 <= periods[len(periods) // 2] <= 11e6, "the camera's clock says 10 ms per frame (median)",
                str(periods[len(periods) // 2]))
        rc, out = verify(path)
        c.check(rc == 0 and "result:   OK" in out, "camrig verify accepts it", out)

        # live features: refused as the grammar's one-line reasons
        st, reply = command(d, "set_control Width 64")
        c.check(st == 400 and "changes the image format" in reply.get("error", ""),
                "a live Width is refused: it changes the image format", str(reply))
        st, reply = command(d, "set_control Foo 1")
        c.check(st == 404 and 'unknown GenICam feature "Foo"' in reply.get("error", "") and
                "TriggerMode" in reply["error"], "an unknown feature names those there are", str(reply))
        st, reply = command(d, "set_control TriggerMode maybe")
        c.check(st == 400 and "expected one of: Off, On" in reply.get("error", ""), "a bad enumeration value "
                "names the entries", str(reply))
        st, reply = command(d, "set_control Gain 99")
        c.check(st == 400 and "expected a number from 0 to" in reply.get("error", ""),
                "a gain out of range names the range", str(reply))

    # ---- Mono16, ffv1: lossless, and Gain live ------------------------------
    controls = "    controls:\n      ExposureTime: 10000\n      Gain: 0\n"
    with Daemon(config=config(cam.id, "Mono16", "ffv1", controls)) as d:
        s = d.status()["cameras"][0]
        c.check(s["format"] == "Y16" and s["controls"] == {"ExposureTime": "10000", "Gain": "0"},
                "Mono16 with ExposureTime and Gain from the config", json.dumps(s)[:300])

        def gain_up(d):
            st, reply = command(d, "set_control Gain 1")
            c.check(st == 200 and reply.get("ok"), "set_control Gain 1 while recording", str(reply))

        # Frames captured after the change reach the file up to the encoder's
        # queue (recording.queue_depth, 32) later: record 120, the change at 30.
        path = record_frames(d, 120, between=gain_up, at=30)
        c.check(d.status()["cameras"][0]["controls"]["Gain"] == "1", "/status shows the live Gain")
        header, rows, end = sidecar(path)
        rec = recorded(rows)
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray16le", "-"],
                             capture_output=True, timeout=120).stdout
        size = 2 * W * H
        frames = [raw[i:i + size] for i in range(0, len(raw), size)]
        c.check(len(frames) == len(rec) > 0, "ffv1: every frame decodes", f"{len(frames)} vs {len(rec)} rows")
        scales = []
        for row, img in zip(rec, frames):
            fid = frame_id(int(row["sequence"]))
            scales.append(1 if img == mono16_pattern(fid, W, H, 1) else 2 if img == mono16_pattern(fid, W, H, 2) else 0)
        log("gain scale of each frame:", "".join(map(str, scales)))
        if 0 in scales:
            k = scales.index(0)
            got = frames[k]
            log("first differing frame", rec[k]["sequence"], "pixels 0..7:",
                [got[2 * i] | got[2 * i + 1] << 8 for i in range(8)],
                "pattern:", [(256 * (x + frame_id(int(rec[k]["sequence"])))) % 65535 for x in range(8)])
        c.check(scales and 0 not in scales, "every Mono16 frame equals the camera's pattern, bit for bit",
                f"{scales.count(0)} frames differ")
        c.check(scales[0] == 1 and scales[-1] == 2 and scales == sorted(scales),
                "Gain 0 from the config, then Gain 1 set live, in the pixels", "".join(map(str, scales)))

# ---- bad features in the config: camrig refuses to start ---------------------
with FakeCamera("GVT2") as cam:
    for controls, want in (("    controls:\n      Foo: 1\n", ['unknown GenICam feature "Foo"', "ExposureTimeAbs"]),
                           ("    controls:\n      TriggerMode: maybe\n", ["TriggerMode", "expected one of: Off, On"])):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config(cam.id, "Mono8", "h264", controls))
            f.flush()
            p = subprocess.run([CAMRIG, "run", "--listen", "127.0.0.1:0", "--config", f.name],
                               capture_output=True, text=True, timeout=60)
        c.check(p.returncode == 1 and all(w in p.stderr for w in want) and "line" in p.stderr,
                f"config {controls.split()[1]} {controls.split()[2]}: refused naming the valid ones",
                p.stderr[-600:])

# ---- lost packets: frames the camera sent incomplete are lost rows -------------
with FakeCamera("GVT3", lost_ratio=5) as cam:
    with Daemon(config=config(cam.id, "Mono8", "h264")) as d:
        path = record_frames(d, 200)
        s = d.status()["cameras"][0]
        r = s["recording"]
        header, rows, end = sidecar(path)
        lost = [x for x in rows if x["status"] == "lost"]
        c.check(s["stream"]["incomplete"] > 0 and len(lost) > 0, "the camera's dropped packets make lost frames",
                json.dumps(s["stream"]))
        c.check(len(lost) == r["frames"]["lost"], "the sidecar's lost rows are /status's lost frames",
                f"{len(lost)} vs {r['frames']}")
        seqs = sorted(int(x["sequence"]) for x in rows if x["sequence"])
        c.check(seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(seqs) == len(rows),
                "recorded and lost rows together cover every frame id", str(seqs[:10]))
        rc, out = verify(path)
        c.check(rc == 0 and "result:   OK" in out, "camrig verify accounts for the gaps", out)

# ---- two cameras, one trigger, recording.split: session ------------------------
SESSION = """cameras:
  - name: gige
    source: "aravis:{id}"
    fps: 50
    size: 320x240
    format: Mono8
    recording:
      codec: h264
      split: session
  - name: pattern
    source: test
    fps: 25
    size: 320x240
    recording:
      codec: h264
      split: session
"""


def spans_of(path):
    """The sidecar's spans: [(trigger, trigger_utc, recorded rows)], and its paused rows."""
    csv = os.path.splitext(path)[0] + ".csv"
    spans, paused = [], []
    with open(csv) as f:
        for line in f:
            if line.startswith("# trigger: "):
                spans.append([line.split(": ", 1)[1].strip(), None, 0])
            elif line.startswith("# trigger_utc: "):
                spans[0][1] = line.split(": ", 1)[1].strip()
            elif line.startswith("# span: "):
                kv = dict(w.split("=", 1) for w in line.split()[3:])
                spans.append([kv["trigger"], kv["trigger_utc"], 0])
            elif ",recorded," in line:
                spans[-1][2] += 1
            elif ",paused," in line:
                paused.append(line)
    return spans, paused


with FakeCamera("GVT4") as cam:
    with Daemon(config=SESSION.format(id=cam.id)) as d:
        files, floor = set(), [0, 0]
        for span in range(3):
            st, reply = command(d, "start_recording")
            c.check(st == 200 and reply.get("ok") and len(reply["files"]) == 2, f"span {span}: one trigger starts "
                    "both cameras", str(reply))
            files |= set(reply.get("files", []))
            floor = [recording(d, k)["frames"]["written"] + 20 for k in (0, 1)]
            c.check(wait_until(lambda: all(recording(d, k)["frames"]["written"] >= floor[k] for k in (0, 1)), 60),
                    f"span {span}: both cameras write 20 more frames", str([recording(d, k) for k in (0, 1)]))
            st, reply = command(d, "stop_recording")
            c.check(st == 200 and reply.get("stopped") == 2 and
                    wait_until(lambda: all(recording(d, k)["state"] == "paused" for k in (0, 1)), 20),
                    f"span {span}: stop pauses both files", str([recording(d, k) for k in (0, 1)]))
        r = recording(d, 0)
        c.check(len(files) == 2 and r["spans"] == 3 and r["split"] == "session",
                "three spans, each camera's file the same throughout", f"{sorted(files)} {r['spans']}")
        command(d, "start_recording")
        st, reply = command(d, "stop_recording discard")
        c.check(st == 409 and "split is session" in reply.get("error", "") and
                recording(d, 0)["state"] == "recording", "discard is refused in a session; the span goes on",
                str(reply))
        command(d, "stop_recording")
        wait_until(lambda: all(recording(d, k)["state"] == "paused" for k in (0, 1)), 20)
        d.stop()
        paths = [os.path.join(d.tmp, f) for f in sorted(files)]
        got = [spans_of(p) for p in paths]
        c.check(all(len(sp) == 4 and len(pz) == 4 for sp, pz in got), "each sidecar: four spans and four pauses",
                str([(sp, len(pz)) for sp, pz in got]))
        c.check(len(got) == 2 and [x[1] for x in got[0][0]] == [x[1] for x in got[1][0]] and
                len({x[1] for x in got[0][0]}) == 4, "both sidecars have the same trigger time for each span",
                str([[x[1] for x in sp] for sp, _ in got]))
        c.check(all(n >= 20 for sp, _ in got for _, _, n in sp[:3]), "each span holds its frames",
                str([[n for _, _, n in sp] for sp, _ in got]))
        for p in paths:
            stream, pts = probe(p)
            header, rows, end = sidecar(p)
            c.check(stream and stream["codec_name"] == "h264" and len(pts) == len(recorded(rows)) and
                    pts == sorted(pts), f"{os.path.basename(p)}: ffprobe reads every frame, in order",
                    f"{stream} {len(pts)} vs {len(recorded(rows))}")
            rc, out = verify(p)
            c.check(rc == 0 and "result:   OK" in out and "spans:    4" in out,
                    f"{os.path.basename(p)}: camrig verify accepts it", out)

c.done()
