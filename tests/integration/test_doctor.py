#!/usr/bin/env python3
"""`camrig doctor`: the default configuration works here (exit 0); a
configuration that needs what this machine lacks — an encoder that does not
open (h264_nvenc: no NVIDIA GPU), a port in use, a camera that is not there,
more free space than the disk has — exits 1 naming it as ✘ with what to do,
in text and in JSON; a face model that is no cascade is ✘, Debian's
loads; a GenICam camera (Aravis's fake GigE camera) is found
and opened at the configured format; the fleet's servers: an MQTT broker
and an RTSP server that take connections are ✔, closed ports ✘, and an
HTTP server that is not Janus is ✘ for webrtc.janus (test_webrtc.py asks a
real Janus)."""
import json
import os
import socket
import subprocess
import tempfile

from aravis_util import FakeCamera, camrig_has_aravis
from camrig_test import CAMRIG, Checks, Daemon, free_port, log

c = Checks()
FIELDS = {"check", "name", "ok", "needed", "detail", "fix"}


def doctor(*args, config=None):
    """Runs camrig doctor in a fresh directory; returns (exit, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="camrig-doctor-") as tmp:
        cmd = [CAMRIG, "doctor", *args]
        if config is not None:
            with open(os.path.join(tmp, "camrig.yaml"), "w") as f:
                f.write(config)
            cmd += ["--config", os.path.join(tmp, "camrig.yaml")]
        log("running:", " ".join(cmd))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)
        return p.returncode, p.stdout, p.stderr


def checks(out):
    try:
        report = json.loads(out)
    except ValueError:
        return None, []
    return report, report.get("checks", [])


def find(cs, check, name_start):
    return [x for x in cs if x["check"] == check and x["name"].startswith(name_start)]


# The default configuration (on a port that is free: the default 8080 may
# be taken on a shared machine, which doctor would rightly report).
listen = f"127.0.0.1:{free_port()}"
rc, out, err = doctor("--set", f"http.listen={listen}", "--json")
report, cs = checks(out)
c.check(rc == 0 and report and report["ok"] is True, "default config: exit 0, ok", f"rc={rc} {err[-300:]}")
c.check(cs and all(set(x) == FIELDS for x in cs), "every check has check, name, ok, needed, detail, fix")
c.check(find(cs, "library", "FFmpeg") and find(cs, "library", "libmicrohttpd"), "library versions are listed")
lc = find(cs, "library", "libcamera")
c.check(len(lc) == 1 and (lc[0]["ok"] or "not built in" in lc[0]["detail"]),
        "libcamera: its version, or that it is not built in", str(lc))
enc = find(cs, "encoder", "libx264")
c.check(enc and enc[0]["ok"], "libx264 opens", str(enc))
port = find(cs, "port", "http.listen")
c.check(port and port[0]["ok"] and listen in port[0]["detail"], "the HTTP port is free", str(port))
c.check(find(cs, "clock", "NTP") and find(cs, "disk", "recordings"), "the clock and the recording root are checked")
c.check(all(x["ok"] or not x["needed"] for x in cs), "nothing needed fails", str([x for x in cs if not x["ok"]]))

# A missing encoder that the config needs: ✘, exit 1, in JSON and in text.
nvenc = f"http:\n  listen: {listen}\ncameras:\n  - source: test\n    recording:\n      codec: h264_nvenc\n"
rc, out, err = doctor("--json", config=nvenc)
report, cs = checks(out)
e = find(cs, "encoder", "h264_nvenc")
c.check(rc == 1 and report and report["ok"] is False, "h264_nvenc config: exit 1, not ok", f"rc={rc}")
c.check(len(e) == 1 and not e[0]["ok"] and e[0]["needed"] and e[0]["fix"] and "recording.codec" in e[0]["detail"],
        "h264_nvenc is named as a needed encoder that does not open, with a fix", str(e))
rc, out, err = doctor(config=nvenc)
line = [x for x in out.splitlines() if "h264_nvenc" in x and "recording.codec" in x]
c.check(rc == 1 and line and line[0].startswith("✘ encoder") and "→" in line[0], "text: ✘ encoder h264_nvenc → fix",
        out[-800:])
c.check(out.rstrip().endswith("✘ this machine cannot do all that the configuration asks"), "text: the verdict")

# A port in use, a camera that is not there, a disk too small.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    s.listen()
    busy = f"127.0.0.1:{s.getsockname()[1]}"
    rc, out, err = doctor("--json", config=f"http:\n  listen: {busy}\ncameras:\n  - source: v4l2:/dev/video97\n"
                                           f"    recording:\n      min_free_mb: 1048576\n")
report, cs = checks(out)
p = find(cs, "port", "http.listen")
c.check(rc == 1 and p and not p[0]["ok"] and p[0]["needed"] and "in use" in p[0]["detail"],
        "a port in use is ✘ and needed", str(p))
cam = find(cs, "camera", "camera (v4l2:/dev/video97)")
perm = find(cs, "permission", "/dev/video97")
c.check(cam and not cam[0]["ok"] and cam[0]["needed"] and perm and not perm[0]["ok"],
        "a configured camera that is not there is ✘ and needed", str(cam + perm))
disk = find(cs, "disk", "recordings")
c.check(disk and not disk[0]["ok"] and disk[0]["needed"] and "1048576" in disk[0]["detail"],
        "too little free space for recording.min_free_mb is ✘", str(disk))

# Face detection: OpenCV is needed, and each face model is loaded as camrig
# run loads it: Debian's cascade loads, a file that is no cascade is ✘.
HAAR = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
with tempfile.NamedTemporaryFile("w", suffix=".xml") as junk:
    junk.write("<opencv_storage></opencv_storage>\n")
    junk.flush()
    faces = (f"http:\n  listen: {listen}\ncameras:\n  - name: door\n    source: test\n    analysis:\n"
             f"      faces: {{enabled: true, model: MODEL}}\n  - name: yard\n    source: test\n")
    rc, out, err = doctor("--json", config=faces.replace("MODEL", junk.name))
    report, cs = checks(out)
    ocv, bad = find(cs, "library", "OpenCV"), find(cs, "analysis", "door faces")
    c.check(rc == 1 and ocv and ocv[0]["ok"] and ocv[0]["needed"], "analysis on: OpenCV is a needed library",
            str(ocv) + err[-300:])
    c.check(len(bad) == 1 and not bad[0]["ok"] and bad[0]["needed"] and "not a cascade" in bad[0]["detail"] and
            "opencv-data" in bad[0]["fix"] and not find(cs, "analysis", "yard"),
            "a face model that is no cascade is ✘ (only for the camera that detects faces)", str(bad))
    if os.path.exists(HAAR):
        rc, out, err = doctor("--json", config=faces.replace("MODEL", HAAR))
        report, cs = checks(out)
        good = find(cs, "analysis", "door faces")
        c.check(rc == 0 and good and good[0]["ok"], "Debian's Haar cascade loads: ✔", str(good) + err[-300:])
rc, out, err = doctor("--set", f"http.listen={listen}", "--json")
ocv = find(checks(out)[1], "library", "OpenCV")
c.check(ocv and not ocv[0]["needed"], "without analysis OpenCV is listed but not needed", str(ocv))
# The fleet's servers: listening sockets for the broker and the RTSP server
# (doctor only connects), then the same ports closed; for Janus an HTTP
# server without Janus's API (camrig's own, which answers 404).
with socket.socket() as broker, socket.socket() as rtsp:
    for s in (broker, rtsp):
        s.bind(("127.0.0.1", 0))
        s.listen()
    bport, rport = broker.getsockname()[1], rtsp.getsockname()[1]
    fleet = ["--set", f"http.listen={listen}", "--set", "mqtt.enabled=true", "--set", f"mqtt.broker=127.0.0.1:{bport}",
             "--set", "camera.rtsp.enabled=true", "--set", f"camera.rtsp.url=rtsp://127.0.0.1:{rport}/live/cam",
             "--json"]
    rc, out, err = doctor(*fleet)
report, cs = checks(out)
m, r = find(cs, "mqtt", f"127.0.0.1:{bport}"), find(cs, "rtsp", "cameras.0.rtsp.url")
c.check(rc == 0 and m and m[0]["ok"] and r and r[0]["ok"] and f"127.0.0.1:{rport}" in r[0]["detail"],
        "a broker and an RTSP server that take connections are ✔", str(m + r) + err[-300:])
rc, out, err = doctor(*fleet)  # the same ports, closed now
report, cs = checks(out)
m, r = find(cs, "mqtt", f"127.0.0.1:{bport}"), find(cs, "rtsp", "cameras.0.rtsp.url")
c.check(rc == 1 and m and not m[0]["ok"] and m[0]["needed"] and "mqtt.broker" in m[0]["fix"] and r
        and not r[0]["ok"] and "rtsp.url" in r[0]["fix"], "closed: ✘, needed, with what to check", str(m + r))
with Daemon("--source", "test", "--size", "160x120", "--fps", "5") as d:
    rc, out, err = doctor("--set", f"http.listen=127.0.0.1:{free_port()}", "--set", "camera.webrtc.enabled=true",
                          "--set", "camera.webrtc.rtp=127.0.0.1:5004", "--set", f"camera.webrtc.janus={d.url('/janus')}",
                          "--json")
report, cs = checks(out)
j = find(cs, "webrtc", "cameras.0.webrtc.janus")
c.check(rc == 1 and j and not j[0]["ok"] and "not Janus" in j[0]["detail"], "an HTTP server that is not Janus is ✘",
        str(j))

# A bad option is a usage error.
rc, out, err = doctor("--frobnicate")
c.check(rc == 2 and "Usage: camrig doctor" in err, "an unknown option: exit 2 with the usage", err)

# A GenICam camera: found, and opened at the configured format.
if camrig_has_aravis() and subprocess.run(["which", "arv-fake-gv-camera-0.8"], capture_output=True).returncode == 0:
    with FakeCamera("GVD1") as fake:
        rc, out, err = doctor("--json", config=f"http:\n  listen: {listen}\ncameras:\n  - source: \"aravis:{fake.id}\"\n"
                                               "    format: Mono16\n    size: 320x240\n")
    report, cs = checks(out)
    found = find(cs, "camera", f"aravis:{fake.id}")
    c.check(found and found[0]["ok"] and "Mono16" in found[0]["detail"], "the fake GigE camera is found", str(found))
    cam = find(cs, "camera", "camera (aravis:")
    c.check(rc == 0 and cam and cam[0]["ok"] and "320x240 Y16" in cam[0]["detail"],
            "the configured GenICam camera opens at 320x240 Mono16", str(cam) + err[-300:])
else:
    log("no Aravis here: the GenICam part is left out")

c.done()
