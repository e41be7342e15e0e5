"""The V4L2 device test, run inside the vivid guest by tests/vm/guest.sh.

Starts the real `camrig run` on /dev/video0 (the kernel's vivid driver) at
640x480 25 fps in YUYV and in GREY, decodes the MJPEG stream with ffmpeg,
checks the snapshot, /status and the driver's metadata; zero-copy capture
(frames handed on in the driver's buffers, copied instead while a slow
consumer holds them, the driver never left without a buffer); checks `camrig list`,
controls set from the configuration (read back with v4l2-ctl) and the
errors for an unknown control and an unoffered format. Exits 0, 1 (a check
failed) or 77 (skipped). $CAMRIG is the binary."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import CAMRIG, SLOW, Checks, Daemon, ffmpeg_count_frames, ffprobe_image, log, need, skip  # noqa: E402

DEV = "/dev/video0"
STREAM_FRAMES = 25
# The always-on pre-trigger H.264 encoder would only slow the emulated guest:
# this test is about capture.
QUIET = ("-o", "camera.recording.pre_trigger=0")


def run(*args, timeout=90):
    # `camrig list` starts libcamera's camera manager and Aravis's discovery:
    # seconds in the guest, minutes when the host is busy.
    timeout *= SLOW
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def v4l2_ctl(*args):
    return run("v4l2-ctl", "-d", DEV, *args)[1]


def check_list(c):
    rc, out, err = run(CAMRIG, "list")
    c.check(rc == 0, "camrig list exits 0", err)
    c.check(f"{DEV}: vivid (driver vivid" in out, "camrig list names /dev/video0 and its driver", out[:300])
    for name, fourcc in (("YUYV", "YUYV"), ("GREY", "GREY"), ("NV12", "NV12"), ("YU12", "YU12"),
                         ("RGB24", "RGB3"), ("BGR24", "BGR3")):
        c.check(f"  {fourcc}  " in out and f"[camrig: {name}]" in out, f"camrig list shows {name} as usable")
    c.check("[not supported by camrig]" in out, "camrig list marks formats camrig cannot use")
    rates = [line for line in out.splitlines() if line.strip().startswith("640x480 @")]
    c.check(rates and all(" 25," in r or r.endswith(" 25 fps") for r in rates),
            "camrig list shows 640x480 at 25 fps", "\n".join(rates[:3]))
    c.check("brightness (int): 0..255" in out, "camrig list shows controls with their ranges")
    rc, out, err = run(CAMRIG, "list", "--json")
    try:
        devices = json.loads(out)["v4l2"]
    except (ValueError, KeyError):
        devices = []
    dev = [d for d in devices if d.get("path") == DEV]
    fmts = {f["camrig"]: f for f in dev[0]["formats"]} if dev else {}
    sizes = fmts.get("YUYV", {}).get("sizes", [])
    c.check(rc == 0 and dev and dev[0]["spec"] == f"v4l2:{DEV}" and dev[0]["driver"] == "vivid" and dev[0]["usable"],
            "camrig list --json names /dev/video0, its driver and the spec --source takes", out[:300])
    c.check({"YUYV", "GREY", "NV12", "RGB24"} <= set(fmts) and any(
        s.get("width") == 640 and s.get("height") == 480 and 25 in s.get("fps", []) for s in sizes),
        "camrig list --json: formats with sizes and frame rates (640x480 at 25)", str(sizes[:3]))


def check_stream(c, fmt):
    args = ["--source", f"v4l2:{DEV}", "--size", "640x480", "--fps", "25", "--format", fmt, *QUIET]
    with Daemon(*args) as d:
        cam = d.status()["camera"]
        c.check(cam["format"] == fmt and cam["width"] == 640 and cam["height"] == 480,
                f"{fmt}: /status reports {fmt} 640x480", f"{cam['format']} {cam['width']}x{cam['height']}")
        c.check(cam["device"] == DEV and cam["driver"] == "vivid", f"{fmt}: /status names the device and driver",
                f"{cam['device']} {cam['driver']}")
        c.check(abs(cam["fps"]["nominal"] - 25) < 0.01, f"{fmt}: the driver runs at 25 fps (VIDIOC_S_PARM)",
                str(cam["fps"]))
        fmt_line = v4l2_ctl("--get-fmt-video")
        c.check("'" + ("YUYV" if fmt == "YUYV" else "GREY") + "'" in fmt_line and "640/480" in fmt_line,
                f"{fmt}: v4l2-ctl sees the format camrig set", fmt_line)

        t0 = time.monotonic()
        n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), STREAM_FRAMES, timeout=90)
        log(f"{fmt}: ffmpeg decoded {n} frames in {time.monotonic() - t0:.1f} s")
        c.check(n >= STREAM_FRAMES, f"{fmt}: ffmpeg decodes {STREAM_FRAMES} frames of /stream.mjpg", err)

        status, _, body = d.get("/snapshot.jpg")
        ok = status == 200
        if ok:
            codec, w, h, pix = ffprobe_image(body)
            gray = pix.startswith("gray")
            ok = codec == "mjpeg" and (w, h) == (640, 480) and gray == (fmt == "GREY")
        c.check(ok, f"{fmt}: /snapshot.jpg is a 640x480 {'gray ' if fmt == 'GREY' else ''}JPEG",
                f"HTTP {status}" + (f", {codec} {w}x{h} {pix}" if status == 200 else ""))

        cam = d.status()["camera"]
        frames = cam["frames"]
        log(f"{fmt}: /status fps {cam['fps']}, frames {frames}, state {cam['state']}")
        c.check(cam["state"] == "running" and frames["captured"] >= STREAM_FRAMES,
                f"{fmt}: frames are captured while streaming", str(frames))
        # vivid numbers every frame; a gap shows as lost_upstream. A guest
        # starved by a busy host makes vivid skip frames, camrig or not (the
        # record test bounds them); camrig itself must drop none.
        c.check(frames["dropped_pool"] == 0, f"{fmt}: camrig drops no frame of the driver's", str(frames))
        if frames["lost_upstream"]:
            log(f"note: {fmt}: vivid skipped {frames['lost_upstream']} frames (counted as lost upstream)")
        # The capture time is the driver's CLOCK_MONOTONIC timestamp mapped to UTC.
        c.check(abs(cam["last_capture_unix"] - time.time()) < 5,
                f"{fmt}: the last capture time is the driver's timestamp (within 5 s of now)",
                f"{cam['last_capture_unix']} vs {time.time()}")
        log(d.log().strip())


def check_zero_copy(c):
    """Frames go on in the driver's own buffers; while a slow encoder (the
    test hook CAMRIG_TEST_DELAY) holds some, capture copies instead, and by
    the daemon's own count the driver always kept a buffer."""
    args = ["--source", f"v4l2:{DEV}", "--size", "640x480", "--fps", "25", "--format", "YUYV", *QUIET,
            "-o", "camera.recording.codec=mjpeg"]
    with Daemon(*args, env={"CAMRIG_TEST_DELAY": "encoder:400"}) as d:
        n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), STREAM_FRAMES, timeout=90)
        s = d.status()["camera"]["stream"]
        c.check(n >= STREAM_FRAMES and s and s["borrowed"] > 0,
                "zero-copy: a live view's frames are the driver's buffers, handed on", str(s))
        before = s["copied"]
        st, reply = d.post_json("/api/command", b"start_recording")
        c.check(st == 200, "zero-copy: a recording with a slow encoder starts", str(reply))
        cam = d.wait_camera(lambda cam: cam["stream"]["copied"] >= before + 10 and
                            cam["consumers"] and cam["stream"]["borrowed"] > 0, 120)
        d.post_json("/api/command", b"stop_recording")
        s = cam["stream"]
        video = [x for x in cam["consumers"] if x["name"] == "video"]
        log(f"zero-copy: stream {s}, encoder queue {video}, frames {cam['frames']}")
        c.check(s["copied"] >= before + 10, "zero-copy: while the encoder holds buffers, frames are copied instead",
                str(s))
        c.check(s["driver_min_queued"] >= 1, "zero-copy: the driver always kept a buffer (capture never waited)",
                str(s))
        c.check(cam["frames"]["dropped_pool"] == 0, "zero-copy: camrig drops no frame of the driver's",
                str(cam["frames"]))


def check_controls(c):
    with Daemon("--source", f"v4l2:{DEV}", *QUIET, "-o", "camera.controls.brightness=200",
                "-o", "camera.controls.horizontal_flip=true",
                "-o", "camera.controls.test_pattern=100% Color Squares") as d:
        out = v4l2_ctl("-C", "brightness,horizontal_flip,test_pattern")
        c.check("brightness: 200" in out and "horizontal_flip: 1" in out and "test_pattern: 4" in out,
                "controls from the configuration (int, bool, menu name) are set on the device", out)
        c.check("brightness = 200" in d.log(), "setting a control is logged", d.log())
        # Live, through the command grammar, and shown in /status.
        st, _, body = d.request("POST", "/api/command", body=b"set_control brightness 100")
        out = v4l2_ctl("-C", "brightness")
        c.check(st == 200 and "brightness: 100" in out, "set_control changes a control while capturing",
                f"{st} {body[:200]!r} {out}")
        controls = d.status()["camera"]["controls"]
        c.check(controls.get("brightness") == "100" and controls.get("horizontal_flip") == "true",
                "/status shows the controls as set", str(controls))
        # The list (GET /api/controls) is the driver's: ranges, menus, values as v4l2-ctl reads them.
        st, _, body = d.request("GET", "/api/controls")
        listed = {x["name"]: x for x in json.loads(body)["cameras"][0]["controls"]} if st == 200 else {}
        b = listed.get("brightness", {})
        c.check(b.get("type") == "int" and (b.get("min"), b.get("max"), b.get("step"), b.get("value")) == (0, 255, 1, 100),
                "GET /api/controls: brightness is an int 0..255 step 1, now 100", str(b))
        f = listed.get("horizontal_flip", {})
        c.check(f.get("type") == "bool" and f.get("value") is True, "a bool control is listed with its value", str(f))
        t = listed.get("test_pattern", {})
        items = {i["name"]: i["index"] for i in t.get("items", [])}
        c.check(t.get("type") == "menu" and items.get("100% Color Squares") == 4 and t.get("value") == 4,
                "a menu control is listed with its items and the index set", str(t)[:300])
        for name in ("contrast", "saturation", "hue"):
            out = v4l2_ctl("-C", name)
            c.check(name in listed and f"{name}: {listed[name]['value']}" in out,
                    f"{name}: the listed value is the driver's", f"{listed.get(name)} {out}")
        st, _, body = d.request("POST", "/api/command", body=b"set_control no_such_control 1")
        c.check(st == 404 and b"the device has:" in body and b"brightness" in body,
                "set_control of an unknown control is a 404 that lists the controls", f"{st} {body[:300]!r}")
        st, _, body = d.request("POST", "/api/command", body=b"set_control brightness 999")
        c.check(st == 400 and b"expected" in body, "set_control out of range is a 400 that gives the range",
                f"{st} {body[:300]!r}")




def check_driver_faults(c):
    """vivid's fault injection: dropped buffers (sequence gaps), buffers
    flagged V4L2_BUF_FLAG_ERROR, and a fatal streaming error (the device is
    lost and camrig reopens it)."""
    with Daemon("--source", f"v4l2:{DEV}", "--size", "320x180", "--fps", "25", "--format", "YUYV", *QUIET,
                "-o", "camera.controls.percentage_of_dropped_buffers=30") as d:
        cam = d.wait_camera(lambda cam: cam["frames"]["lost_upstream"] > 0 and cam["frames"]["captured"] >= 20,
                            20, step=0.5)
        c.check(cam["frames"]["lost_upstream"] > 0, "buffers the driver drops show as gaps in the sequence numbers",
                str(cam["frames"]))
        v4l2_ctl("--set-ctrl", "percentage_of_dropped_buffers=0")
        v4l2_ctl("--set-ctrl", "inject_v4l2_buf_flag_error=1")
        cam = d.wait_camera(lambda cam: "skipped a bad buffer" in d.log(), 10, step=0.5)
        c.check("skipped a bad buffer" in d.log() and cam["state"] == "running",
                "a buffer flagged as an error is skipped and capture goes on", d.log())
        before = cam["frames"]["captured"]
        v4l2_ctl("--set-ctrl", "inject_fatal_streaming_error=1")
        cam = d.wait_camera(lambda cam: cam["reconnects"] >= 1 and cam["frames"]["captured"] > before + 10,
                            30, step=0.5)
        c.check(cam["reconnects"] >= 1 and cam["state"] == "running" and cam["frames"]["captured"] > before + 10,
                "a fatal streaming error loses the device and camrig reopens it",
                f"reconnects {cam['reconnects']}, state {cam['state']}, frames {cam['frames']}\n{d.log()}")
        log(d.log().strip())


def check_errors(c):
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", f"v4l2:{DEV}", *QUIET,
                     "-o", "camera.controls.no_such_control=1")
    c.check(rc != 0 and "no_such_control" in err and DEV in err and "brightness" in err,
            "an unknown control stops camrig with the control, the device and the valid names", f"rc {rc}: {err}")
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", f"v4l2:{DEV}", *QUIET,
                     "-o", "camera.controls.brightness=300")
    c.check(rc != 0 and "brightness" in err and "0..255" in err,
            "an out-of-range control value stops camrig with the range", f"rc {rc}: {err}")
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", f"v4l2:{DEV}", *QUIET,
                     "--format", "MJPEG")
    c.check(rc != 0 and "not offered" in err and "YUYV" in err,
            "an unoffered format stops camrig with the formats the device offers", f"rc {rc}: {err}")


def main():
    need("ffmpeg", "ffprobe", "v4l2-ctl")
    if not os.path.exists(DEV):
        skip(f"{DEV} does not exist (is the vivid module loaded?)")
    if "vivid" not in v4l2_ctl("--info"):
        skip(f"{DEV} is not the vivid driver")
    c = Checks()
    t0 = time.monotonic()
    check_list(c)
    for fmt in ("YUYV", "GREY"):
        check_stream(c, fmt)
    check_zero_copy(c)
    check_errors(c)
    check_controls(c)
    check_driver_faults(c)
    log(f"guest checks took {time.monotonic() - t0:.0f} s")
    c.done()


if __name__ == "__main__":
    main()
