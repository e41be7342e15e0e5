#!/usr/bin/env python3
"""Timelapse sessions against the real daemon with the test pattern: stills
at a short interval, pause/resume, stop assembling an MP4 whose frame count
(ffprobe) equals the stills, abort without a video, triggered shots (HTTP and
the command), events, bad requests, a session killed with SIGKILL assembled
with `camrig timelapse assemble DIR`, and a session resumed by a restart with
its numbering going on."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from camrig_test import CAMRIG, Checks, Daemon, Events, log, need, wait_until

need("ffprobe")
c = Checks()

ARGS = ["--source", "test", "--size", "320x240", "--fps", "25", "--name", "tl",
        "-o", "camera.recording.pre_trigger=0"]
STILL = re.compile(r"^tl_(\d{6})\.jpg$")


def stills(d):
    return sorted(f for f in os.listdir(d) if STILL.match(f))


def tl_state(d):
    return d.status()["camera"]["timelapse"]


def wait_for(what, cond, timeout=15):
    """wait_until, for a condition named what (read in the failures)."""
    return wait_until(cond, timeout, step=0.05)




def frames_of(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames,codec_name,width,height,pix_fmt,r_frame_rate", "-of", "json", path],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["streams"][0]


# ---- an interval of 0 means shots on trigger only, on every path ---------------------------------
with Daemon(*ARGS, "-o", "camera.timelapse.interval=0.2") as d:
    for how, send in (("timelapse start 0", lambda: d.post_json("/api/command", body=b"timelapse start 0")),
                      ("?interval=0", lambda: d.post_json("/api/timelapse/start?interval=0")),
                      ('{"interval": 0}', lambda: d.post_json("/api/timelapse/start", body=b'{"interval": 0}'))):
        st, r = send()
        ok = st == 200 and r["cameras"][0]["interval"] == 0
        # 25 frames at 25 fps: five configured intervals' worth, counted by the daemon.
        start = d.status()["camera"]["frames"]["captured"]
        wait_until(lambda: d.status()["camera"]["frames"]["captured"] >= start + 25, 30)
        c.check(ok and tl_state(d)["shots"] == 0, f"{how}: interval 0, no still without a shot",
                f"{st} {r} {tl_state(d)}")
        d.post_json("/api/timelapse/shot")
        c.check(wait_for("1 still", lambda: tl_state(d)["shots"] == 1, timeout=10), f"{how}: one still per shot",
                tl_state(d))
        d.post_json("/api/timelapse/abort")
        wait_for("idle", lambda: tl_state(d)["state"] == "idle")
    st, r = d.post_json("/api/timelapse/start")
    c.check(st == 200 and abs(r["cameras"][0]["interval"] - 0.2) < 1e-9, "no interval: timelapse.interval", r)
    d.post_json("/api/timelapse/abort")

# ---- one daemon: interval session, pause/resume, stop, abort, triggered shots ----------------------
with Daemon(*ARGS, "-o", "camera.timelapse.interval=0") as d:
    ev = Events(d)
    time.sleep(0.3)
    st, r = d.post_json("/api/timelapse/start?interval=0.2")
    c.check(st == 200 and r.get("ok"), "POST /api/timelapse/start?interval=0.2 starts a session", r)
    t = tl_state(d)
    session, sdir = t["session"], os.path.join(d.tmp, t["dir"])
    c.check(t["state"] == "running" and abs(t["interval"] - 0.2) < 1e-9 and re.match(r"^tl_\d{4}(_\d\d){5}$", session),
            "status: running, interval 0.2, session tl_YYYY_MM_DD_HH_MM_SS", t)
    c.check(os.path.isdir(sdir) and t["dir"].startswith("Photos/"), "stills go to Photos/<session>/", t["dir"])

    st, r = d.post_json("/api/timelapse/start")
    c.check(st == 409, "a second start while running is refused (409)", r)

    t0 = time.monotonic()
    ok = wait_for("5 stills", lambda: tl_state(d)["shots"] >= 5, timeout=10)
    elapsed = time.monotonic() - t0
    c.check(ok, "5 stills within 10 s")
    c.check(elapsed > 0.6, "stills come at the interval, not faster", f"5 stills in {elapsed:.2f} s")

    st, r = d.post_json("/api/timelapse/pause")
    c.check(st == 200 and r["cameras"][0]["state"] == "paused", "pause", r)
    paused_shots = tl_state(d)["shots"]
    st, r = d.post_json("/api/timelapse/shot")
    c.check(st == 409, "a shot while paused is refused (409)", r)
    time.sleep(1.2)
    t = tl_state(d)
    c.check(t["shots"] == paused_shots and len(stills(sdir)) == paused_shots,
            "no new stills while paused", f"{paused_shots} -> {t['shots']}, {len(stills(sdir))} files")
    with open(os.path.join(sdir, "session.json")) as f:
        c.check(json.load(f)["state"] == "paused", "session.json says paused")

    st, r = d.post_json("/api/timelapse/resume")
    c.check(st == 200 and r["cameras"][0]["state"] == "running", "resume", r)
    c.check(wait_for("3 more", lambda: tl_state(d)["shots"] >= paused_shots + 3, timeout=10),
            "stills again after resume")

    st, r = d.post_json("/api/timelapse/stop")
    stopped_shots = r["cameras"][0]["shots"] if st == 200 else -1
    c.check(st == 200 and r["cameras"][0]["state"] == "idle", "stop answers at once (assembly follows)", r)
    t = wait_for("video", lambda: (lambda s: s if s["last_video"] else None)(tl_state(d)), timeout=30)
    c.check(t is not None, "the video is reported in /status (last_video)", tl_state(d))
    files = stills(sdir)
    c.check(len(files) == stopped_shots, "stills on disk == shots at stop", f"{len(files)} vs {stopped_shots}")
    c.check([int(STILL.match(f).group(1)) for f in files] == list(range(1, len(files) + 1)),
            "stills numbered 000001.. without gaps", files[:3])
    video = os.path.join(d.tmp, "Timelapses", session + ".mp4")
    c.check(t and t["last_video"] == video and os.path.exists(video), "the MP4 is Timelapses/<session>.mp4",
            t and t["last_video"])
    info = frames_of(video) if os.path.exists(video) else None
    c.check(info and int(info["nb_read_frames"]) == len(files),
            "ffprobe: the video has one frame per still", f"{info} vs {len(files)} stills")
    c.check(info and info["codec_name"] == "h264" and info["pix_fmt"] == "yuv420p" and info["r_frame_rate"] == "25/1"
            and (info["width"], info["height"]) == (320, 240), "H.264 yuv420p 320x240 at 25 fps", info)
    c.check(t and t["last_video_frames"] == len(files), "/status: last_video_frames == stills", t)
    with open(os.path.join(sdir, "session.json")) as f:
        sj = json.load(f)
    c.check(sj["state"] == "finished" and sj["shots"] == len(files) and sj["frames"] == len(files)
            and sj["video"] == video and sj["camera"] == "tl", "session.json: finished, shots, frames, video", sj)
    with open(os.path.join(sdir, "stills.csv")) as f:
        rows = f.read().splitlines()
    c.check(len(rows) == len(files) + 1 and rows[1].startswith("1,tl_000001.jpg,"),
            "stills.csv has a row per still", rows[:2])
    c.check(not [f for f in os.listdir(sdir) if f.endswith(".tmp")], "no temporary files are left")

    # Abort: no video.
    st, r = d.post_json("/api/command", body=b"timelapse start 0.2")
    c.check(st == 200 and r.get("ok"), "the command `timelapse start 0.2` starts a second session", r)
    s2 = r["cameras"][0]["session"] if st == 200 else ""
    wait_for("2 stills", lambda: tl_state(d)["shots"] >= 2, timeout=10)
    st, r = d.post_json("/api/timelapse/abort")
    c.check(st == 200 and r["cameras"][0]["state"] == "idle", "abort", r)
    time.sleep(1.5)
    c.check(sorted(os.listdir(os.path.join(d.tmp, "Timelapses"))) == [session + ".mp4"], "abort writes no video",
            os.listdir(os.path.join(d.tmp, "Timelapses")))
    with open(os.path.join(d.tmp, "Photos", s2, "session.json")) as f:
        c.check(json.load(f)["state"] == "aborted", "session.json says aborted")

    # Triggered shots only (configured interval 0).
    st, r = d.post_json("/api/timelapse/start")
    c.check(st == 200 and r["cameras"][0]["interval"] == 0, "start without interval uses the configured 0", r)
    s3dir = os.path.join(d.tmp, r["cameras"][0]["dir"]) if st == 200 else d.tmp
    time.sleep(1.0)
    c.check(tl_state(d)["shots"] == 0, "interval 0: no still without a trigger")
    st, r = d.post_json("/api/timelapse/shot")
    c.check(st == 200 and r.get("ok"), "POST /api/timelapse/shot", r)
    c.check(wait_for("1 still", lambda: tl_state(d)["shots"] == 1, timeout=5), "the shot makes a still")
    time.sleep(0.8)
    c.check(tl_state(d)["shots"] == 1 and len(stills(s3dir)) == 1, "POST /api/timelapse/shot adds exactly one still",
            f"{tl_state(d)['shots']} shots, {stills(s3dir)}")
    st, r = d.post_json("/api/command", body=b"timelapse shot camera=tl")
    c.check(st == 200, "the command `timelapse shot camera=tl`", r)
    c.check(wait_for("2 stills", lambda: tl_state(d)["shots"] == 2, timeout=5), "... adds the second still")
    with open(os.path.join(s3dir, "stills.csv")) as f:
        rows = f.read().splitlines()
    c.check(len(rows) == 3 and rows[1].endswith(",http") and rows[2].endswith(",http"),
            "stills.csv names the trigger", rows)
    d.post_json("/api/timelapse/abort")

    # Bad requests.
    st, _ = d.post_json("/api/timelapse/start?interval=0.01")
    c.check(st == 400, "an interval below 0.05 s is refused (400)")
    st, _ = d.post_json("/api/timelapse/shot?bogus=1")
    c.check(st == 400, "an unknown parameter is refused (400)")
    st, _ = d.post_json("/api/timelapse/shot?camera=nope")
    c.check(st == 404, "an unknown camera is a 404")
    st, _ = d.post_json("/api/timelapse/stop")
    c.check(st == 409, "stop without a session is a 409")
    st, _, body = d.get("/api/timelapse")
    c.check(st == 200 and json.loads(body)["cameras"][0]["camera"] == "tl", "GET /api/timelapse")

    time.sleep(0.3)
    ev.close()
    types = [t for t, _ in ev.events]
    for typ in ("timelapse_started", "timelapse_paused", "timelapse_resumed", "timelapse_shot", "timelapse_stopped",
                "timelapse_finished", "timelapse_aborted"):
        c.check(typ in types, f"event {typ}", types[:20])
    fin = ev.of("timelapse_finished")
    c.check(fin and fin[0]["ok"] and fin[0]["video"] == video and fin[0]["frames"] == len(files)
            and fin[0]["session"] == session, "timelapse_finished carries the video and its frames", fin)

# ---- SIGKILL mid-session, then `camrig timelapse assemble DIR` -----------------------------------
d = Daemon(*ARGS, check_exit=False)
with d:
    st, r = d.post_json("/api/timelapse/start?interval=0.2")
    sdir = os.path.join(d.tmp, r["cameras"][0]["dir"])
    wait_for("6 stills", lambda: tl_state(d)["shots"] >= 6, timeout=10)
    kill_dir = tempfile.mkdtemp(prefix="camrig-tl-kill-")
    d.stop(signal.SIGKILL)
    # The Daemon removes its directory on exit: keep the session.
    shutil.copytree(sdir, os.path.join(kill_dir, "s"), symlinks=True)
kdir = os.path.join(kill_dir, "s")
n = len(stills(kdir))
with open(os.path.join(kdir, "session.json")) as f:
    c.check(json.load(f)["state"] == "running", "after SIGKILL session.json still says running")
with open(os.path.join(kdir, "session.json")) as f:
    planned = json.load(f)["video"]
p = subprocess.run([CAMRIG, "timelapse", "assemble", kdir], capture_output=True, text=True, timeout=60)
c.check(p.returncode == 0 and p.stdout.startswith(planned + ":") and os.path.exists(planned),
        "camrig timelapse assemble DIR after SIGKILL writes the video session.json names", p.stdout + p.stderr)
info = frames_of(planned) if os.path.exists(planned) else None
c.check(n >= 6 and info and int(info["nb_read_frames"]) == n and info["r_frame_rate"] == "25/1",
        "... with one frame per still at the session's 25 fps", f"{info} vs {n} stills")
with open(os.path.join(kdir, "session.json")) as f:
    sj = json.load(f)
c.check(sj["state"] == "finished" and sj["frames"] == n, "assemble marks the session finished", sj)
shutil.rmtree(os.path.dirname(os.path.dirname(planned)), ignore_errors=True)  # the daemon's old directory
out = os.path.join(kill_dir, "out.mp4")
p = subprocess.run([CAMRIG, "timelapse", "assemble", kdir, "--fps", "10", "--output", out], capture_output=True,
                   text=True, timeout=60)
info = frames_of(out) if os.path.exists(out) else None
c.check(p.returncode == 0 and info and info["r_frame_rate"] == "10/1" and int(info["nb_read_frames"]) == n,
        "--fps 10 --output FILE", f"{info} {p.stdout} {p.stderr}")
sj["video"] = "/proc/camrig-nowhere/x.mp4"
with open(os.path.join(kdir, "session.json"), "w") as f:
    json.dump(sj, f)
p = subprocess.run([CAMRIG, "timelapse", "assemble", kdir + "/"], capture_output=True, text=True, timeout=60)
c.check(p.returncode == 0 and os.path.exists(kdir + ".mp4"),
        "when the video's directory cannot be made it writes DIR.mp4", p.stdout + p.stderr)
p = subprocess.run([CAMRIG, "timelapse", "assemble", os.path.join(kill_dir, "nothing")], capture_output=True,
                   text=True, timeout=30)
c.check(p.returncode == 1 and "nothing" in p.stderr, "assemble of a missing directory fails with a reason", p.stderr)
shutil.rmtree(kill_dir, ignore_errors=True)

# ---- a restart resumes the session ---------------------------------------------------------------
work = tempfile.mkdtemp(prefix="camrig-tl-restart-")
with Daemon(*ARGS, cwd=work) as d:
    st, r = d.post_json("/api/timelapse/start?interval=0.2")
    session = r["cameras"][0]["session"]
    sdir = os.path.join(work, r["cameras"][0]["dir"])
    wait_for("4 stills", lambda: tl_state(d)["shots"] >= 4, timeout=10)
before = len(stills(sdir))
with open(os.path.join(sdir, "session.json")) as f:
    c.check(json.load(f)["state"] == "running", "after SIGTERM session.json still says running")
with Daemon(*ARGS, cwd=work) as d:
    t = tl_state(d)
    c.check(t["state"] == "running" and t["session"] == session and t["shots"] >= before,
            "a restart resumes the running session", t)
    c.check(wait_for("more", lambda: tl_state(d)["shots"] >= before + 3, timeout=10), "and takes stills again")
    st, r = d.post_json("/api/timelapse/stop")
    t = wait_for("video", lambda: (lambda s: s if s["last_video"] else None)(tl_state(d)), timeout=30)
    files = stills(sdir)
    nums = [int(STILL.match(f).group(1)) for f in files]
    c.check(nums == list(range(1, len(files) + 1)) and len(files) > before,
            "numbering goes on after the restart (no gaps, no overwrites)", f"{before} before, {nums}")
    info = frames_of(t["last_video"]) if t else None
    c.check(info and int(info["nb_read_frames"]) == len(files), "the resumed session's video has every still",
            f"{info} vs {len(files)}")
# A paused session stays paused across a restart; resume: false leaves it alone.
with Daemon(*ARGS, cwd=work) as d:
    d.post_json("/api/timelapse/start?interval=0.2")
    wait_for("2 stills", lambda: tl_state(d)["shots"] >= 2, timeout=10)
    d.post_json("/api/timelapse/pause")
with Daemon(*ARGS, "-o", "camera.timelapse.resume=false", cwd=work) as d:
    c.check(tl_state(d)["state"] == "idle", "timelapse.resume: false does not resume")
with Daemon(*ARGS, cwd=work) as d:
    t = tl_state(d)
    c.check(t["state"] == "paused" and t["shots"] >= 2, "a paused session comes back paused", t)
    d.post_json("/api/timelapse/abort")
shutil.rmtree(work, ignore_errors=True)

# ---- a stop whose assembly a SIGTERM cuts short is assembled at the next start ----------------------
work = tempfile.mkdtemp(prefix="camrig-tl-asm-")
BIG = ["--source", "test", "--size", "1280x720", "--fps", "25", "--name", "tl", "-o", "camera.recording.pre_trigger=0"]
with Daemon(*BIG, cwd=work) as d:
    d.post_json("/api/timelapse/start?interval=0.05")
    wait_for("60 stills", lambda: tl_state(d)["shots"] >= 60, timeout=20)
    st, r = d.post_json("/api/timelapse/stop")
    n, session = r["cameras"][0]["shots"], r["cameras"][0]["session"]
    d.stop()
with open(os.path.join(work, "Photos", session, "session.json")) as f:
    interrupted = json.load(f)["state"] == "stopped"
log("the assembly was", "interrupted" if interrupted else "done before SIGTERM")
video = os.path.join(work, "Timelapses", session + ".mp4")
c.check(not glob.glob(os.path.join(work, "Timelapses", "*.part")), "an interrupted assembly leaves no partial file")
with Daemon(*BIG, cwd=work) as d:
    if interrupted:
        t = wait_for("video", lambda: (lambda s: s if s["last_video"] else None)(tl_state(d)), timeout=40)
        c.check(t and t["last_video"] == video, "the next start assembles the stopped session", tl_state(d))
    info = frames_of(video) if os.path.exists(video) else None
    c.check(info and int(info["nb_read_frames"]) == n, "its video has every still", f"{info} vs {n}")
shutil.rmtree(work, ignore_errors=True)

c.done()
