#!/usr/bin/env python3
"""Recording against the real daemon: codecs and containers checked with
ffprobe (codec, size, frame count = sidecar rows, monotonic timestamps),
`camrig verify` agreeing with the sidecar and failing on a tampered one, the
pre-trigger start, timed and stopped recordings, every trigger path (HTTP,
the CLI, SIGUSR1/SIGUSR2, the keyboard on a terminal), two cameras, segments,
and a file source."""
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import tempfile
import termios
import time

from camrig_test import CAMRIG, Checks, Daemon, log, need
from record_util import (files_of, monotonic, probe, recorded, recording, sidecar, verify, wait_idle,
                         wait_until)

need("ffmpeg", "ffprobe")
c = Checks()
FPS = 25


def check_file(path, codec, size, what):
    """ffprobe and the sidecar agree; camrig verify says OK."""
    st, pts = probe(path)
    header, rows, end = sidecar(path)
    rec = recorded(rows)
    ok = st is not None
    c.check(ok and st["codec_name"] == codec and (st["width"], st["height"]) == size,
            f"{what}: {codec} {size[0]}x{size[1]}", str(st))
    c.check(ok and int(st["nb_read_packets"]) == len(rec) and len(rec) > 0,
            f"{what}: frame count matches the sidecar", f"{st and st['nb_read_packets']} vs {len(rec)}")
    c.check(monotonic(pts) and len(pts) == len(rec), f"{what}: timestamps increase", str(pts[:5]))
    c.check(end is not None, f"{what}: sidecar finalized", end or "no end line")
    rc, out = verify(path)
    c.check(rc == 0 and "result:   OK" in out, f"{what}: camrig verify agrees", out)
    return header, rows




# ---- h264 in Matroska with a pre-trigger, timed; HTTP, CLI and signals ----
with Daemon("--source", "test", "--size", "640x480", "--fps", str(FPS),
            "-o", "camera.recording.pre_trigger=2", "-o", "camera.recording.gop=1") as d:
    r = recording(d)
    c.check(r["state"] == "idle" and r["encoder"]["active"], "idle, encoder running for the pre-trigger", str(r))
    full = wait_until(lambda: recording(d)["pre_trigger"]["seconds"] >= 2.0, 8)
    r = recording(d)
    c.check(full and r["pre_trigger"]["bytes"] > 0 and r["pre_trigger"]["seconds"] < 3.2,
            "/status reports the pre-trigger seconds and bytes", str(r["pre_trigger"]))

    st, reply = d.post_json("/api/record/start?duration=2")
    c.check(st == 200 and reply.get("ok") and len(reply.get("files", [])) == 1, "POST /api/record/start", str(reply))
    st2, reply2 = d.post_json("/api/record/start")
    c.check(st2 == 409, "a second start while recording is refused with 409", str(reply2))
    st3, rec_state = d.get("/api/record")[0], json.loads(d.get("/api/record")[2])
    c.check(st3 == 200 and rec_state["recording"] and rec_state["cameras"][0]["state"] == "recording",
            "GET /api/record shows the recording", str(rec_state))
    c.check(wait_idle(d, timeout=10), "a timed recording stops itself")
    r = recording(d)
    c.check("duration" in r["reason"], "the state says why it stopped", r["reason"])
    c.check(r["frames"]["written"] > 0 and r["bitrate_kbps"] > 0, "/status counts frames and bitrate", str(r))
    path = os.path.join(d.tmp, reply["files"][0])
    c.check(os.path.dirname(path).endswith("/video") and "/recordings/" in path and
            os.path.basename(path).startswith("camera_"), "files go to recordings/YYYY_MM_DD/video/", path)
    header, rows = check_file(path, "h264", (640, 480), "h264/mkv")
    rec = recorded(rows)
    trigger_ns = int(header["trigger_mono_ns"])
    pre = (trigger_ns - int(rec[0]["mono_ns"])) / 1e9
    post_s = (int(rec[-1]["mono_ns"]) - trigger_ns) / 1e9
    c.check(2.0 - 1 / FPS <= pre <= 2.0 + 1.0 + 1 / FPS, "h264: the file starts 2 s (up to one GOP more) "
            "before the trigger", f"{pre:.3f} s")
    c.check(2.0 - 2 / FPS <= post_s < 2.0, "h264: the timed part lasts 2 s", f"{post_s:.3f} s")
    c.check(all(r["trigger"] == "http" for r in rows) and header["trigger"] == "http",
            "the sidecar names the trigger")

    # Tampered sidecars fail verification.
    tmp = tempfile.mkdtemp(prefix="camrig-tamper-")
    try:
        for how in ("time", "row"):
            video = os.path.join(tmp, f"t_{how}.mkv")
            shutil.copy(path, video)
            with open(os.path.splitext(path)[0] + ".csv") as f:
                lines = f.readlines()
            data = [i for i, l in enumerate(lines) if ",recorded," in l]
            i = data[len(data) // 2]
            if how == "time":
                cols = lines[i].split(",")
                cols[3] = str(int(cols[3]) + 20_000_000)
                lines[i] = ",".join(cols)
            else:
                del lines[i]
            with open(os.path.splitext(video)[0] + ".csv", "w") as f:
                f.writelines(lines)
            rc, out = verify(video)
            c.check(rc == 1 and "MISMATCH" in out, f"camrig verify fails on a sidecar with a changed {how}", out)
        rc, out = verify(os.path.join(tmp, "missing.mkv"))
        c.check(rc == 2, "camrig verify exits 2 when a file cannot be read", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # The CLI talks to the daemon; starting again begins a new file.
    p = subprocess.run([CAMRIG, "record", "start", "--listen", f"127.0.0.1:{d.port}"], capture_output=True,
                       text=True, timeout=30)
    c.check(p.returncode == 0 and '"ok": true' in p.stdout, "camrig record start", p.stdout + p.stderr)
    time.sleep(1.5)
    p = subprocess.run([CAMRIG, "record", "stop", "--listen", f"127.0.0.1:{d.port}"], capture_output=True,
                       text=True, timeout=30)
    c.check(p.returncode == 0 and '"stopped": 1' in p.stdout, "camrig record stop", p.stdout + p.stderr)
    c.check(wait_idle(d), "stopped")
    files = files_of(d)
    c.check(len(files) == 2, "a new start begins a new file", str(files))
    if len(files) == 2:
        header, rows = check_file(files[-1], "h264", (640, 480), "CLI recording")
        rec = recorded(rows)
        c.check((int(rec[-1]["mono_ns"]) - int(header["trigger_mono_ns"])) / 1e9 >= 1.3,
                "frames captured before the stop are in the file", f"{len(rec)} frames")
    p = subprocess.run([CAMRIG, "record", "stop", "--listen", "127.0.0.1:1"], capture_output=True, text=True,
                       timeout=30)
    c.check(p.returncode != 0 and "camrig run" in p.stderr, "camrig record fails clearly without a daemon",
            p.stderr)
    st, reply = d.post_json("/api/record/stop")
    c.check(st == 200 and reply.get("stopped") == 0, "stop while idle is harmless", str(reply))
    st, reply = d.post_json("/api/record/start?duration=abc")
    c.check(st == 400, "a bad duration is a 400", str(reply))

    # Signals.
    d.proc.send_signal(signal.SIGUSR1)
    c.check(wait_until(lambda: recording(d)["state"] == "recording", 5), "SIGUSR1 starts recording")
    time.sleep(1.0)
    d.proc.send_signal(signal.SIGUSR2)
    c.check(wait_idle(d), "SIGUSR2 stops it")
    files = files_of(d)
    if c.check(len(files) == 3, "the signal recording is a third file", str(files)):
        header, rows = check_file(files[-1], "h264", (640, 480), "signal recording")
        c.check(header["trigger"] == "none", "signals are trigger type none", header["trigger"])

    # stop_recording discard keeps nothing.
    st, reply = d.post_json("/api/record/start")
    time.sleep(1.0)
    st, reply = d.post_json("/api/command", body=b"stop_recording discard")
    c.check(st == 200 and reply.get("discarded") is True, "stop_recording discard", str(reply))
    c.check(wait_idle(d) and len(files_of(d)) == 3, "a discarded recording leaves no file", str(files_of(d)))

# ---- MJPEG in fragmented MP4: the pre-trigger to one frame ----
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
            "-o", "camera.recording.format=mp4", "-o", "camera.recording.pre_trigger=1.5") as d:
    wait_until(lambda: recording(d)["pre_trigger"]["seconds"] >= 1.5, 6)
    st, reply = d.post_json("/api/record/start", body=b'{"duration": 1}')
    c.check(st == 200, "start with a JSON body", str(reply))
    c.check(wait_idle(d), "mjpeg recording ends")
    files = files_of(d)
    if c.check(len(files) == 1 and files[0].endswith(".mp4"), "an .mp4 file", str(files)):
        header, rows = check_file(files[0], "mjpeg", (320, 240), "mjpeg/mp4")
        rec = recorded(rows)
        pre = (int(header["trigger_mono_ns"]) - int(rec[0]["mono_ns"])) / 1e9
        c.check(abs(pre - 1.5) <= 1 / FPS, "the pre-trigger part starts 1.5 s +- 1 frame before the trigger",
                f"{pre:.3f} s")

# ---- the defaults: no pre-trigger, so an idle camrig encodes nothing ----
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS)) as d:
    start = d.status()["camera"]["frames"]["captured"]
    wait_until(lambda: d.status()["camera"]["frames"]["captured"] >= start + FPS, 30)
    r = recording(d)
    c.check(not r["encoder"]["active"] and r["pre_trigger"]["packets"] == 0 and r["encoder"]["frames"] == 0,
            "by default an idle camera runs no encoder", str(r))

# ---- data/lab.yaml: the pre-trigger on, codec auto (quietly libx264 without hardware) ----
LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "lab.yaml")
with Daemon("--config", LAB, "--source", "test", "--size", "320x240", "--fps", str(FPS),
            "-o", "camera.lsl.enabled=false") as d:
    c.check(wait_until(lambda: recording(d)["pre_trigger"]["packets"] > 0, 15), "data/lab.yaml keeps a pre-trigger",
            str(recording(d)))
    enc = recording(d)["encoder"]
    c.check(enc["codec"] == "auto" and enc["encoder"] in ("h264_v4l2m2m", "libx264") and not enc.get("error"),
            "codec auto picks an H.264 encoder that opens, without an error", str(enc))
    c.check(" warn: " not in d.log(), "and without a warning", d.log())
    st, reply = d.post_json("/api/record/start?duration=1")
    c.check(wait_idle(d), "the lab recording ends")
    files = files_of(d)
    c.check(len(files) == 1, "one file", str(files))
    if files:
        check_file(files[0], "h264", (320, 240), "codec auto")

# ---- back to back: the second pre-trigger starts after the first file's last frame ----
with Daemon("--source", "test", "--size", "160x120", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
            "-o", "camera.recording.pre_trigger=2") as d:
    wait_until(lambda: recording(d)["pre_trigger"]["seconds"] >= 1.9, 15)
    d.post_json("/api/record/start?duration=0.5")
    c.check(wait_idle(d), "the first of two recordings ends")
    st, _ = d.post_json("/api/record/start?duration=0.5")
    c.check(st == 200 and wait_idle(d), "the second, started right after, ends")
    files = files_of(d)
    indices = [{int(r["index"]) for r in recorded(sidecar(f)[1])} for f in files]
    c.check(len(files) == 2 and all(indices) and not indices[0] & indices[1]
            and min(indices[1]) > max(indices[0]),
            "back-to-back recordings share no frame: the second's pre-trigger starts after the first's end",
            f"{[(min(i), max(i)) for i in indices if i]} overlap {sorted(indices[0] & indices[1])[:5] if len(indices) == 2 else ''}")

# ---- one quality scale: recording.quality 1..100 for mjpeg, as jpeg.quality ----
def first_jpeg_quant(path):
    """The first AC entry of the first frame's luma quantization table."""
    jpg = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-c", "copy", "-f", "mjpeg", "-"],
                         capture_output=True, timeout=60).stdout
    i = jpg.find(b"\xff\xdb")
    return jpg[i + 6] if i >= 0 else None


quant = {}
for q in (95, 30):
    with Daemon("--source", "test", "--size", "160x120", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
                "-o", f"camera.recording.quality={q}") as d:
        d.post_json("/api/record/start?duration=0.3")
        wait_idle(d)
        files = files_of(d)
        quant[q] = first_jpeg_quant(files[0]) if files else None
# libjpeg's tables at these qualities: 11 x 0.10 -> 1 at 95, 11 x 1.67 -> 18 at 30
# (libavcodec's matrix is a little coarser: 2 and 26).
c.check(quant[95] is not None and quant[30] is not None and quant[95] <= 2 and 12 <= quant[30] <= 30,
        "recording.quality 95 and 30 give JPEG tables of those qualities", str(quant))

# ---- gray: true stores luma only in every codec whose encoder can ----
for codec, want in (("h264", "chroma_format_idc 0"), ("h265", "gray")):
    with Daemon("--source", "test", "--size", "160x120", "--fps", str(FPS), "--format", "GREY",
                "-o", f"camera.recording.codec={codec}", "-o", "camera.recording.gray=true",
                "-o", "camera.recording.preset=ultrafast") as d:
        d.post_json("/api/record/start?duration=0.3")
        wait_idle(d)
        files = files_of(d)
        got = "no file"
        if files and codec == "h264":
            trace = subprocess.run(["ffmpeg", "-hide_banner", "-i", files[0], "-c", "copy", "-bsf:v",
                                    "trace_headers", "-f", "null", "-"], capture_output=True, text=True,
                                   timeout=60).stderr
            m = re.search(r"chroma_format_idc\s+\S+ = (\d+)", trace)
            got = f"chroma_format_idc {m.group(1)}" if m else "no SPS"
        elif files:
            st, _ = probe(files[0])
            got = st["pix_fmt"] if st else "ffprobe failed"
    c.check(got == want, f"gray {codec} holds luma only", got)

# ---- lossless gray FFV1, no pre-trigger, segments of 1 s ----
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "--format", "GREY",
            "-o", "camera.recording.codec=ffv1", "-o", "camera.recording.gray=true",
            "-o", "camera.recording.pre_trigger=0", "-o", "camera.recording.segment=1") as d:
    time.sleep(0.5)
    r = recording(d)
    c.check(not r["encoder"]["active"] and r["pre_trigger"]["packets"] == 0,
            "with pre_trigger 0 nothing is encoded while idle", str(r["encoder"]))
    st, reply = d.post_json("/api/record/start?duration=2.5")
    c.check(wait_idle(d), "ffv1 recording ends")
    files = files_of(d)
    c.check(len(files) >= 2, "segment=1 cuts a 2.5 s recording into several files", str(files))
    total = 0
    for f in files:
        st, _ = probe(f)
        check_file(f, "ffv1", (320, 240), f"segment {os.path.basename(f)}")
        c.check(st and st["pix_fmt"] == "gray", "ffv1 is gray", str(st))
        total += len(sidecar(f)[1])
    # Every frame period of the 2.5 s has a row: recorded, or (a starved
    # test pattern skips periods on a loaded machine) lost or dropped.
    c.check(2.4 * FPS <= total <= 2.6 * FPS + 1, "the segments account for the whole recording", f"{total} rows")

# ---- recordings one after another, no pre-trigger: nothing from before ----
# An encoder keeps frames inside (its delay: FFmpeg's MJPEG encoder with a
# thread per core holds one frame per thread, /status in_codec) when its
# demand ends between recordings; the next recording must not begin with
# them (frames from before its trigger, then "dropped" rows for the gap;
# with inter frames they would come before the forced keyframe, unwritten).
with Daemon("--source", "test", "--size", "320x240", "--fps", str(FPS), "-o", "camera.recording.codec=mjpeg",
            "-o", "camera.recording.pre_trigger=0") as d:
    for n in range(2):
        st, _ = d.post_json("/api/record/start?duration=1")
        c.check(st == 200 and wait_idle(d), f"back-to-back recording {n + 1} ends")
        if n == 0:
            held = recording(d)["encoder"]["in_codec"]
            # Frames published from now until the next trigger belong to no
            # recording (a frame's sidecar index counts the frames published
            # before it, as frames.captured does).
            first_idle = d.status()["camera"]["frames"]["captured"]
            wait_until(lambda: d.status()["camera"]["frames"]["captured"] >= first_idle + 5, 10, step=0.1)
    files = sorted(files_of(d))
    if c.check(len(files) == 2, "two files", str(files)):
        _, rows, _ = sidecar(files[1])
        first = rows[0] if rows else {}
        c.check(first.get("status") == "recorded" and int(first["index"]) >= first_idle,
                "the second recording starts at its trigger, not with frames the encoder held "
                f"({held} in the codec after the first)", f"first idle frame {first_idle}, first rows {rows[:3]}")

# ---- two cameras: MJPEG copied untouched, and h265 in MP4 ----
config = """
cameras:
  - name: cam-a
    source: test
    size: 320x240
    fps: 25
    format: MJPEG
    recording: {codec: copy, pre_trigger: 1}
  - name: cam-b
    source: test
    size: 320x240
    fps: 25
    recording: {codec: h265, format: mp4, pre_trigger: 0, preset: ultrafast}
"""
# libx265 leaks a little at every open; not camrig's (tests/integration/lsan.supp).
supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
lsan = os.environ.get("LSAN_OPTIONS", "")
with Daemon(config=config, env={"LSAN_OPTIONS": f"{lsan}:suppressions={supp}".lstrip(":")}) as d:
    time.sleep(1.2)
    st, reply = d.post_json("/api/command", body=b"start_recording 1.5")
    c.check(st == 200 and len(reply.get("files", [])) == 2, "start_recording records every camera", str(reply))
    c.check(wait_idle(d, 0) and wait_idle(d, 1), "both stop")
    st, reply = d.post_json("/api/record/start?camera=cam-b&duration=0.5")
    c.check(st == 200 and len(reply.get("files", [])) == 1 and "cam-b" in reply["files"][0],
            "camera=NAME records one camera", str(reply))
    c.check(wait_idle(d, 1), "cam-b stops")
    st, reply = d.post_json("/api/record/start?camera=nope")
    c.check(st == 404, "an unknown camera is a 404", str(reply))
    files = files_of(d)
    a = [f for f in files if "/cam-a_" in f]
    b = [f for f in files if "/cam-b_" in f]
    c.check(len(a) == 1 and len(b) == 2, "files named after their camera", str(files))
    if a:
        check_file(a[0], "mjpeg", (320, 240), "copy/mkv")
    for f in b:
        check_file(f, "hevc", (320, 240), "h265/mp4")

# ---- a file source ----
clip_dir = tempfile.mkdtemp(prefix="camrig-clip-")
clip = os.path.join(clip_dir, "clip.mp4")
subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=352x288:rate=25", "-t", "3",
                "-pix_fmt", "yuv420p", "-c:v", "mpeg4", clip], check=True)
try:
    with Daemon("--source", f"file:{clip}", "-o", "camera.recording.pre_trigger=0") as d:
        st, reply = d.post_json("/api/record/start?duration=2")
        c.check(st == 200 and wait_idle(d), "recording a file source")
        files = files_of(d)
        if c.check(len(files) == 1, "one file", str(files)):
            check_file(files[0], "h264", (352, 288), "file source")
finally:
    shutil.rmtree(clip_dir, ignore_errors=True)

# ---- the keyboard, on a terminal ----
master, slave = pty.openpty()
tmp = tempfile.mkdtemp(prefix="camrig-kbd-")
port = __import__("camrig_test").free_port()
errlog = open(os.path.join(tmp, "stderr.log"), "w")


def make_controlling():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen([CAMRIG, "run", "--source", "test", "--size", "320x240", "--fps", "25", "--listen",
                         f"127.0.0.1:{port}", "-o", "camera.recording.pre_trigger=0"],
                        stdin=slave, stdout=errlog, stderr=errlog, cwd=tmp, preexec_fn=make_controlling)
os.close(slave)
try:
    class D:
        pass
    kd = D()
    kd.tmp = tmp
    kd.status = lambda: json.loads(__import__("urllib.request").request.urlopen(
        f"http://127.0.0.1:{port}/status", timeout=5).read())
    def alive():
        try:
            return kd.status()
        except OSError:
            return None
    wait_until(alive, 15)
    os.write(master, b"r")
    c.check(wait_until(lambda: recording(kd)["state"] == "recording", 5), "key r starts recording")
    time.sleep(1.0)
    os.write(master, b"s")
    c.check(wait_until(lambda: recording(kd)["state"] == "idle", 5), "key s stops it")
    os.write(master, b"q")
    try:
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    c.check(rc == 0, "key q quits cleanly", str(rc))
    files = files_of(kd)
    if c.check(len(files) == 1, "a keyboard recording", str(files)):
        header, _ = check_file(files[0], "h264", (320, 240), "keyboard recording")
        c.check(header["trigger"] == "keyboard", "trigger type keyboard", header["trigger"])
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    errlog.close()
    os.close(master)
    if c.failed:
        log(open(os.path.join(tmp, "stderr.log")).read())
    shutil.rmtree(tmp, ignore_errors=True)

c.done()
