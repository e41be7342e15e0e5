#!/usr/bin/env python3
"""RTSP publishing (src/publish/rtsp.c) to a real RTSP server: ffmpeg as a
listener (`-rtsp_flags listen`, which takes one publisher's ANNOUNCE and
RECORD, as a media server does) receives a stream that decodes without
errors at the camera's size and, by its timestamps, at the camera's rate;
after that server goes and a new one comes on the same address camrig
publishes again; recording and publishing together encode once (the
encoder count in /status), while a recording in another codec gives the
stream its own encoder; bad settings are refused naming the key. Judged by
the files the server wrote and the daemon's counters."""
import json
import os
import re
import subprocess
import tempfile

from camrig_test import CAMRIG, Checks, Daemon, free_port, need, wait_until

need("ffmpeg", "ffprobe")
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-rtsp-test-")
FPS = 25


def listener(port, out, frames):
    """An RTSP server for one publisher: writes what it receives to out."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_flags", "listen",
                             "-listen_timeout", "60", "-i", f"rtsp://127.0.0.1:{port}/live/cam", "-frames:v", str(frames),
                             "-c", "copy", "-y", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def probe(path):
    """(decoded frames, width, height, fps by timestamps, decoder errors)."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height:frame=pts_time", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    info = json.loads(p.stdout or "{}")
    s = (info.get("streams") or [{}])[0]
    times = sorted(float(f["pts_time"]) for f in info.get("frames", []) if "pts_time" in f)
    fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0
    return len(times), s.get("width"), s.get("height"), fps, p.stderr.strip()


def rtsp_status(d):
    return d.status()["camera"]["rtsp"]


def run(*args):
    return subprocess.run([CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", "test", *args],
                          capture_output=True, text=True, timeout=30)


# ---- bad settings ----
p = run("-o", "camera.rtsp.enabled=true")
c.check(p.returncode == 1 and "rtsp.url: missing" in p.stderr, "rtsp.enabled without a URL is refused", p.stderr)
p = run("-o", "camera.rtsp.url=rtsp://user:pw@host/x")
c.check(p.returncode == 1 and "credentials" in p.stderr and "rtsp.url" in p.stderr,
        "a URL with credentials in it is refused (they go in username and password_file)", p.stderr)
p = run("-o", "camera.rtsp.url=http://host/x")
c.check(p.returncode == 1 and "not an RTSP URL" in p.stderr, "a URL that is not rtsp:// is refused", p.stderr)
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("secret\n")
os.chmod(pw, 0o644)
p = run("-o", "camera.rtsp.enabled=true", "-o", "camera.rtsp.url=rtsp://127.0.0.1:9/x", "-o",
        "camera.rtsp.username=u", "-o", f"camera.rtsp.password_file={pw}")
c.check(p.returncode == 1 and "rtsp.password_file" in p.stderr and "readable by others" in p.stderr
        and "secret" not in p.stderr, "a password file others can read is refused", p.stderr)

# ---- the recorder's encoder shared ----
port = free_port()
out1, out2 = os.path.join(tmp, "first.mkv"), os.path.join(tmp, "second.mkv")
server = listener(port, out1, 75)
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "-o", "camera.rtsp.enabled=true",
            "-o", f"camera.rtsp.url=rtsp://127.0.0.1:{port}/live/cam") as d:
    try:
        _, err = server.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
    n, w, h, fps, errors = probe(out1)
    c.check(n >= 75 and not errors, "the server receives a stream that decodes without errors",
            f"{n} frames; {errors[-300:]} {err[-300:]}")
    c.check((w, h) == (320, 240), "at the camera's size", f"{w}x{h}")
    c.check(abs(fps - FPS) < FPS * 0.1, "and, by its timestamps, at the camera's rate", f"{fps:.2f} fps")
    st = rtsp_status(d)
    c.check(st["shared_encoder"] is True and st["connects"] >= 1 and st["packets"] >= 75,
            "/status rtsp: shared encoder, a session, packets", json.dumps(st))

    # The server went (it had what it wanted); a new one on the same address.
    st = d.wait_camera(lambda x: x["rtsp"]["state"] == "waiting", 30)["rtsp"]
    c.check(st["state"] == "waiting" and st["last_error"], "camrig notices the server gone and says why",
            json.dumps(st))
    server = listener(port, out2, 8 * FPS)
    st = d.wait_camera(lambda x: x["rtsp"]["connects"] >= 2 and x["rtsp"]["state"] == "publishing", 60)["rtsp"]
    c.check(st["connects"] >= 2 and st["state"] == "publishing", "and publishes again to the new server",
            json.dumps(st))
    # /metrics renders the same counters (they only grow).
    text = d.get("/metrics")[2].decode()
    got = {m.group(1): float(m.group(2)) for m in
           re.finditer(r'^(camrig_rtsp_\w+)\{camera="camera"\} (\S+)$', text, re.M)}
    c.check(got.get("camrig_rtsp_connects_total", 0) >= 2 and got.get("camrig_rtsp_sent_bytes_total", 0) > 0
            and "camrig_rtsp_publishing" in got and "camrig_webrtc_publishing" not in text,
            "/metrics has the RTSP publisher's counters", str(got))

    # Recording and publishing at once: one encoder.
    status, reply = d.post_json("/api/command", b"start_recording 2")
    cam = d.wait_camera(lambda x: x["recording"]["recording"] and x["recording"]["frames"]["written"] > 5, 20)
    c.check(status == 200 and cam["recording"]["recording"] and cam["rtsp"]["state"] == "publishing"
            and cam["encoders"] == 1, "recording and publishing together: one encoder",
            f"{status} {reply} encoders={cam['encoders']} {cam['rtsp']['state']}")
    try:
        _, err = server.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
    n, w, h, fps, errors = probe(out2)
    c.check(n >= 8 * FPS and not errors and (w, h) == (320, 240),
            "the second server decodes the stream too", f"{n} frames {w}x{h}; {errors[-300:]} {err[-200:]}")

# ---- a recording in another codec: the stream has its own encoder ----
port = free_port()
out3 = os.path.join(tmp, "own.mkv")
server = listener(port, out3, 4 * FPS)
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
            "-o", "camera.rtsp.enabled=true", "-o", f"camera.rtsp.url=rtsp://127.0.0.1:{port}/live/cam",
            "-o", "camera.rtsp.bitrate=400") as d:
    st = wait_until(lambda: (lambda s: s if s["state"] == "publishing" else None)(rtsp_status(d)), 30) or \
        rtsp_status(d)
    d.post_json("/api/command", b"start_recording 2")
    cam = d.wait_camera(lambda x: x["recording"]["recording"] and x["recording"]["frames"]["written"] > 5, 20)
    c.check(st["shared_encoder"] is False and cam["encoders"] == 2,
            "an mjpeg recording: the stream has its own H.264 encoder (two encoders)",
            f"{json.dumps(st)} encoders={cam['encoders']}")
    try:
        server.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()
    n, w, h, fps, errors = probe(out3)
    c.check(n >= 4 * FPS and not errors, "and the server decodes it", f"{n} frames; {errors[-300:]}")
    cam = d.wait_camera(lambda x: not x["recording"]["recording"] and x["encoders"] == 0, 30, step=0.1)
    c.check(cam["encoders"] == 0, "with the server gone and the recording over, no encoder runs (between attempts)",
            f"encoders={cam['encoders']} {cam['rtsp']['state']}")

c.done()
