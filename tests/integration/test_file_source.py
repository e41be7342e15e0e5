#!/usr/bin/env python3
"""The libavformat sources (src/source/libav.c) against the real daemon:
file:CLIP for an H.264 MP4 (decoded) and an MJPEG MKV (passed through),
paced at the clip's rate and looping seamlessly; decoded pictures and JPEG packets
handed on without a copy (/status stream.borrowed) with a snapshot's colours
right, converted only when another format is asked for; camera.loop=false ends after
exactly the clip's frames (the decoder is drained); size, format and fps
overrides; refusals with one clear line; url: for a clip served over HTTP and
for a live MJPEG stream that goes away and comes back."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from camrig_test import CAMRIG, Checks, Daemon, ffmpeg_count_frames, ffprobe_image, free_port, need
from record_util import files_of, wait_idle

need("ffmpeg", "ffprobe")
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-file-source-")
CLIP_FRAMES = 50  # 2 s at 25 fps


def make_clip(name, *codec):
    path = os.path.join(tmp, name)
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240:rate=25", "-frames:v", str(CLIP_FRAMES), *codec, path],
                   check=True)
    return path




# The colour clip's bars. A range mistake moves black or white by 16-20 in a snapshot, and the light
# grey by 18 and the colours by 10-14 in a recording.
COLOURS = ((0, 0, 0), (255, 255, 255), (0xE0, 0xE0, 0xE0), (0xC0, 0x40, 0x20), (0x20, 0x60, 0xC0))


def make_colour_clip():
    """Bars of known colours, 64x240 each, in H.264 yuv420p (limited range, as ffmpeg writes it)."""
    path = os.path.join(tmp, "colours.mp4")
    sources = "".join(f"color=c=0x{r:02X}{g:02X}{b:02X}:s=64x240:r=25[c{i}];"
                      for i, (r, g, b) in enumerate(COLOURS))
    stack = "".join(f"[c{i}]" for i in range(len(COLOURS))) + f"hstack=inputs={len(COLOURS)}"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-filter_complex",
                    sources + stack, "-frames:v", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", path], check=True)
    return path


def bars(image, what, source="pipe:"):
    """Checks that the first picture of image (bytes, or a file as source) has the colour clip's bars
    (within JPEG's, H.264's and 4:2:0's error)."""
    rgb = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", source, "-frames:v", "1", "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "pipe:"], input=image, capture_output=True).stdout
    got = [tuple(rgb[(120 * 320 + 64 * i + 32) * 3 + k] for k in range(3)) if len(rgb) == 320 * 240 * 3 else None
           for i in range(len(COLOURS))]
    ok = all(g and max(abs(a - b) for a, b in zip(g, want)) <= 8 for g, want in zip(got, COLOURS))
    c.check(ok, what, f"bars {got}, expected {list(COLOURS)}")


def check_colours(d, what):
    """The snapshot has the clip's colours: limited-range video levels shown as full range would
    make black 16 and white 235."""
    st, hdr, body = d.get("/snapshot.jpg")
    bars(body if st == 200 else b"", what)


def captured_rate(d, seconds=3.0):
    """Frames captured per second of wall time, from /status."""
    a = d.status()["camera"]["frames"]["captured"]
    t = time.monotonic()
    time.sleep(seconds)
    b = d.status()["camera"]["frames"]["captured"]
    return (b - a) / (time.monotonic() - t)


def check_snapshot(d, size, what):
    st, hdr, body = d.get("/snapshot.jpg")
    ok = st == 200 and body[:2] == b"\xff\xd8"
    info = ffprobe_image(body) if ok else None
    c.check(ok and info[0] == "mjpeg" and (info[1], info[2]) == size, what, f"status {st}, {info}")


def start_fails(args, must_contain, what, only_line=False):
    """camrig run must exit non-zero with one error line of its own that holds
    every string in must_contain; with only_line, nothing else on stderr (libav
    may add its own lines for network errors)."""
    p = subprocess.run([CAMRIG, "run", "--listen", f"127.0.0.1:{free_port()}", *args], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("camrig: error:")]
    ok = p.returncode != 0 and len(errors) == 1 and all(s in errors[0] for s in must_contain)
    ok = ok and (not only_line or lines == errors)
    c.check(ok, what, f"rc={p.returncode} stderr={p.stderr!r}")


try:
    mp4 = make_clip("clip.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25")
    mkv = make_clip("clip.mkv", "-c:v", "mjpeg", "-q:v", "3")

    # H.264 in MP4: decoded to YU12, paced, looping.
    with Daemon("--source", f"file:{mp4}") as d:
        cam = d.status()["camera"]
        c.check(cam["source"] == f"file:{mp4}" and cam["device"] == mp4, "/status names the file",
                f"{cam['source']} {cam['device']}")
        c.check(cam["driver"].startswith("libavformat mov"), "/status driver is the mov demuxer", cam["driver"])
        c.check((cam["format"], cam["width"], cam["height"]) == ("YU12", 320, 240),
                "an H.264 yuv420p clip is delivered as YU12 320x240", f"{cam['format']} {cam['width']}x{cam['height']}")
        c.check(abs(cam["fps"]["nominal"] - 25) < 0.01, "nominal fps is the clip's 25", str(cam["fps"]))
        n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 60)
        c.check(n >= 50, "ffmpeg decodes >= 50 frames of /stream.mjpg from a 2 s clip", f"{n} frames: {err}")
        check_snapshot(d, (320, 240), "/snapshot.jpg is a 320x240 JPEG of the clip")
        rate = captured_rate(d)
        c.check(22 <= rate <= 28, "frames are paced at the clip's 25 fps", f"{rate:.1f} fps")
        cam = d.status()["camera"]
        c.check(cam["state"] == "running" and cam["frames"]["captured"] > 2 * CLIP_FRAMES,
                "the clip loops (still running after more than two passes)",
                f"{cam['state']}, {cam['frames']['captured']} frames")
        c.check(22 <= cam["fps"]["measured"] <= 28, "/status measured fps is close to 25", str(cam["fps"]))
        c.check(cam["frames"]["lost_upstream"] == 0, "no sequence gaps across loops", str(cam["frames"]))
        stream = cam["stream"]
        c.check(stream["borrowed"] >= cam["frames"]["captured"] - 1 and stream["copied"] == 0,
                "the decoder's yuv420p pictures are handed on as the frames, not copied", str(stream))

    # The decoder's limited-range picture, handed on, is expanded to JPEG's full
    # range by the JPEG stage: the colours come out right.
    # The recorder's H.264 takes limited range as it is: a recording has them too.
    colours = make_colour_clip()
    with Daemon("--source", f"file:{colours}", "-o", "camera.recording.codec=h264",
                "-o", "camera.recording.preset=ultrafast") as d:
        check_colours(d, "a snapshot of a limited-range clip handed on has its colours")
        stream = d.status()["camera"]["stream"]
        c.check(stream["borrowed"] > 0 and stream["copied"] == 0, "(the colour clip was handed on)", str(stream))
        st, reply = d.post_json("/api/record/start?duration=1")
        c.check(st == 200 and wait_idle(d), "a short recording of the colour clip", str(reply))
        files = files_of(d)
        if files:
            bars(None, "the recording of a clip handed on has its colours", files[0])
        else:
            c.check(False, "the recording of a clip handed on has its colours", "no file")
    with Daemon("--source", f"file:{colours}", "--format", "NV12") as d:
        check_colours(d, "converted to NV12 (libswscale, full range), the snapshot has the same colours")
        stream = d.status()["camera"]["stream"]
        c.check(stream["copied"] > 0 and stream["borrowed"] == 0, "(the NV12 frames were converted)", str(stream))

    # MJPEG in MKV: passed through untouched, the JPEG stage never encodes.
    with Daemon("--source", f"file:{mkv}") as d:
        cam = d.status()["camera"]
        c.check(cam["format"] == "MJPEG" and cam["driver"].startswith("libavformat matroska"),
                "an MJPEG clip is delivered as MJPEG", f"{cam['format']} {cam['driver']}")
        n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 60)
        c.check(n >= 50, "ffmpeg decodes >= 50 frames of the passed-through stream", f"{n} frames: {err}")
        check_snapshot(d, (320, 240), "/snapshot.jpg of an MJPEG clip is a 320x240 JPEG")
        jpeg = d.status()["camera"]["jpeg"]
        c.check(jpeg["passed_through"] > 0 and jpeg["encoded"] == 0, "the clip's JPEGs are not re-encoded",
                str(jpeg))
        stream = d.status()["camera"]["stream"]
        c.check(stream["borrowed"] > 0 and stream["copied"] == 0,
                "the demuxer's JPEG packets are the frames, not copies", str(stream))

    # Size and format overrides: decoded and scaled, also for an MJPEG clip.
    with Daemon("--source", f"file:{mkv}", "--size", "160x120", "--format", "RGB24") as d:
        cam = d.status()["camera"]
        c.check((cam["format"], cam["width"], cam["height"]) == ("RGB24", 160, 120),
                "--size 160x120 --format RGB24 converts an MJPEG clip", f"{cam['format']} {cam['width']}x{cam['height']}")
        check_snapshot(d, (160, 120), "/snapshot.jpg is 160x120 after scaling")

    # camera.fps paces a clip at that rate instead of its own.
    with Daemon("--source", f"file:{mp4}", "--fps", "10") as d:
        rate = captured_rate(d)
        c.check(8.5 <= rate <= 11.5, "--fps 10 paces the clip at 10 fps", f"{rate:.1f} fps")

    # No looping: the camera ends after exactly the clip's frames. The
    # pre-trigger's encoder still holds handed-on pictures when the decoder
    # closes (under ASan: no use after free, no leak).
    with Daemon("--source", f"file:{mp4}", "-o", "camera.loop=false", "-o", "camera.recording.pre_trigger=2",
                "-o", "camera.recording.codec=h264", "-o", "camera.recording.preset=ultrafast") as d:
        cam = d.wait_camera(lambda cam: cam["state"] != "running", 10)
        c.check(cam["state"] == "ended", "with camera.loop=false the camera reports the end", cam["state"])
        c.check(cam["frames"]["captured"] == CLIP_FRAMES, f"all {CLIP_FRAMES} frames were delivered "
                "(the decoder is drained at the end)", str(cam["frames"]))
        c.check("end of input" in d.log(), "the end is logged", d.log())

    # A clip cut short (a copy that stopped): the frames it has play, and the
    # log says the file ends before its header's duration.
    cut = os.path.join(tmp, "cut.mkv")
    shutil.copy(mkv, cut)
    os.truncate(cut, os.path.getsize(cut) // 2)
    with Daemon("--source", f"file:{cut}", "-o", "camera.loop=false") as d:
        cam = d.wait_camera(lambda cam: cam["state"] != "running", 10)
        c.check(cam["state"] == "ended" and 0 < cam["frames"]["captured"] < CLIP_FRAMES,
                "a clip cut short plays the frames it has", str(cam["frames"]))
        c.check("cut short?" in d.log() and cut in d.log(), "and the log says it was cut short", d.log())

    # Refusals: one error line that names the input.
    start_fails(["--source", f"file:{tmp}/missing.mp4"], [f"file:{tmp}/missing.mp4", "No such file"],
                "a missing file exits non-zero with one line naming it", only_line=True)
    start_fails(["--source", f"file:{mp4}", "--format", "MJPEG"], [mp4, "MJPEG", "h264"],
                "MJPEG asked of an H.264 clip is refused, saying why", only_line=True)
    with open(os.path.join(tmp, "not-video.mp4"), "w") as f:
        f.write("this is not a video\n")
    start_fails(["--source", f"file:{tmp}/not-video.mp4"], [f"{tmp}/not-video.mp4"],
                "a file that is not a video is refused, naming it")

    # url: a clip over HTTP (python's server: no Range support) is paced and loops.
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/clip.mkv"
        with Daemon("--source", f"url:{url}") as d:
            cam = d.status()["camera"]
            c.check(cam["device"] == url and cam["format"] == "MJPEG", "url: opens a clip served over HTTP",
                    f"{cam['device']} {cam['format']}")
            n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 60)
            c.check(n >= 50, "ffmpeg decodes >= 50 frames from the HTTP clip (it loops)", f"{n} frames: {err}")
            rate = captured_rate(d, 2.0)
            c.check(22 <= rate <= 28, "an HTTP clip is paced at its 25 fps", f"{rate:.1f} fps")
            c.check(d.status()["camera"]["state"] == "running", "still running after looping over HTTP")
        start_fails(["--source", f"url:http://127.0.0.1:{port}/missing.mkv"], ["missing.mkv", "404"],
                    "a URL that answers 404 is refused, naming it")
    finally:
        server.terminate()
        server.wait()

    # url: a live MJPEG stream (ffmpeg serving one client) is lost and comes back.
    port = free_port()
    url = f"http://127.0.0.1:{port}/live.mjpg"
    serve = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
             "testsrc2=size=320x240:rate=25", "-c:v", "mjpeg", "-f", "mpjpeg", "-listen", "1", url]
    server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        with Daemon("--source", f"url:{url}") as d:
            cam = d.status()["camera"]
            c.check(cam["driver"] == "libavformat mpjpeg" and cam["format"] == "MJPEG",
                    "a live MJPEG stream is passed through", f"{cam['driver']} {cam['format']}")
            rate = captured_rate(d, 2.0)
            c.check(20 <= rate <= 30, "a live stream arrives at its own rate", f"{rate:.1f} fps")
            server.terminate()
            server.wait()
            cam = d.wait_camera(lambda cam: cam["state"] == "lost", 15)
            c.check(cam["state"] == "lost", "the camera reports a lost stream when the server goes", cam["state"])
            server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cam = d.wait_camera(lambda cam: cam["state"] == "running" and cam["reconnects"] >= 1, 15)
            c.check(cam["state"] == "running" and cam["reconnects"] >= 1, "it reconnects when the server is back",
                    f"{cam['state']}, {cam['reconnects']} reconnects")
            n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 20)
            c.check(n >= 20, "frames flow again after the reconnect", f"{n} frames: {err}")
    finally:
        server.terminate()
        server.wait()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

c.done()
