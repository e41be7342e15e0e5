"""The libcamera device test, run inside the vimc guest by tests/vm/guest.sh.

The kernel's vimc driver is a media-controller camera (sensor, debayer and
scaler sub-devices) that libcamera's vimc pipeline handler drives: real
libcamera, a real kernel driver. This starts the real `camrig run`:

- with no source option (auto), which must pick the libcamera camera;
- with --source libcamera at two sizes: /status, ffmpeg decoding the MJPEG
  stream, each frame's capture time (libcamera's sensor timestamp) against the
  guest's CLOCK_MONOTONIC when its headers arrive, timestamps rising;
- controls by libcamera's names, from the config and live, read back from the
  vimc sensor's V4L2 sub-device that libcamera sets them on; an unknown
  control and a value out of range refusing to start with the names / range;
- a 5 s recording whose sidecar has consecutive sequence numbers and that
  `camrig verify` accepts;
- `camrig list` (and --json) showing the camera, its stream formats and
  controls, `camrig doctor` the library and the camera, list_controls the
  controls with their values.
Exits 0, 1 (a check failed) or 77 (skipped). $CAMRIG is the binary."""
import http.client
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import CAMRIG, Checks, Daemon, ffmpeg_count_frames, log, need, skip  # noqa: E402
from record_util import files_of, probe, recorded, sidecar, verify, wait_until  # noqa: E402

# The pre-trigger H.264 encoder would only slow the emulated guest.
QUIET = ("-o", "camera.recording.pre_trigger=0")
# libcamera's start (its camera manager, the vimc IPA in its own process)
# takes 5-15 s in the emulated guest.
START = 60
# Sizes: vimc's libcamera pipeline takes multiples of 6 (the scaler triples
# the sensor's size).


def run(*args, timeout=120, env=None):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def sensor_subdev():
    """The /dev/v4l-subdevN of the vimc sensor libcamera drives (cam -l names it)."""
    rc, out, _ = run("media-ctl", "-d", MEDIA, "-p")
    m = re.search(r'entity \d+: ' + re.escape(SENSOR) + r' .*?device node name (/dev/v4l-subdev\d+)', out, re.S)
    return m.group(1) if m else None


def subdev_ctrl(dev, name):
    _, out, _ = run("v4l2-ctl", "-d", dev, "-C", name)
    m = re.search(name + r": (-?\d+)", out)
    return int(m.group(1)) if m else None


def stream_parts(url, count, timeout=90):
    """Reads count parts of the MJPEG stream; returns [(sequence, capture
    mono ns, guest CLOCK_MONOTONIC ns when the part's headers were read)]."""
    host, _, rest = url[len("http://"):].partition("/")
    h, _, port = host.partition(":")
    conn = http.client.HTTPConnection(h, int(port), timeout=timeout)
    conn.request("GET", "/" + rest)
    r = conn.getresponse()
    boundary = r.getheader("Content-Type").split("boundary=")[1].strip().encode()
    parts, headers = [], {}
    deadline = time.monotonic() + timeout
    while len(parts) < count and time.monotonic() < deadline:
        line = r.fp.readline()
        if not line:
            break
        line = line.strip()
        if line == b"--" + boundary:
            headers = {}
        elif b":" in line:
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        elif line == b"" and "content-length" in headers:
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            r.fp.read(int(headers["content-length"]))
            parts.append((int(headers["x-frame-sequence"]), int(headers["x-capture-monotonic-ns"]), now))
            headers = {}
    conn.close()
    return parts


def check_list(c):
    rc, out, err = run(CAMRIG, "list")
    c.check(rc == 0, "camrig list exits 0", err)
    c.check(f"libcamera:0  {CAMERA_ID}" in out, "camrig list names the libcamera camera by index and id", out[:400])
    c.check(re.search(r"video stream \(default .*\):\n\s+RGB24 \(BGR888\)", out) is not None,
            "camrig list shows the video stream's formats in camrig's names", out[:800])
    c.check(re.search(r"Brightness \(float: -1(\.0+)?\.\.1(\.0+)?", out) is not None,
            "camrig list shows the libcamera controls with their ranges", out[:1200])
    c.check("/dev/video0: vivid" in out, "camrig list still shows the V4L2 devices beside it", out[-600:])
    rc, out, err = run(CAMRIG, "list", "--json")
    try:
        cams = json.loads(out).get("libcamera") or []
    except ValueError:
        cams = []
    cam = cams[0] if cams else {}
    video = (cam.get("streams") or {}).get("video") or {}
    c.check(rc == 0 and cam.get("id") == CAMERA_ID and cam.get("spec") == "libcamera:0"
            and any(f.get("camrig") == "RGB24" for f in video.get("formats", []))
            and any(x["name"] == "Brightness" and x["type"] == "float" for x in cam.get("controls", [])),
            "camrig list --json: the libcamera camera with its spec, streams and controls", out[:600] + err[-300:])
    rc, out, err = run(CAMRIG, "doctor", "--json", "--set", "http.listen=127.0.0.1:0", timeout=300)
    try:
        checks = json.loads(out)["checks"]
    except (ValueError, KeyError):
        checks = []
    c.check(any(x["check"] == "library" and x["name"] == "libcamera" and x["ok"] for x in checks)
            and any(x["check"] == "camera" and x["name"] == "libcamera:0" and CAMERA_ID in x["detail"] for x in checks),
            "camrig doctor: the libcamera library and the camera", out[:200] + err[-300:])


def check_auto(c, dev):
    """One daemon with no source option: auto's pick, the stream at the
    smaller size, controls from the config and live, and a recording (each
    start of libcamera takes 10-40 s in the emulated guest)."""
    args = ["--size", "240x180", *QUIET, "-o", "camera.controls.Brightness=0.5",
            "-o", "camera.recording.codec=mjpeg", "-o", "camera.recording.min_free_mb=0"]
    with Daemon(*args, start_timeout=START) as d:
        cam = d.wait_camera(lambda cam: cam["frames"]["captured"] >= 5, 60, step=0.5)
        c.check(cam["device"] == f"libcamera:{CAMERA_ID}" and cam["driver"].startswith("libcamera"),
                "with no source option camrig picks the libcamera camera", f"{cam['device']} {cam['driver']}")
        c.check(cam["state"] == "running" and cam["frames"]["captured"] >= 5, "and captures from it",
                str(cam["frames"]))
        c.check("source auto: using libcamera camera" in d.log(), "auto says what it picked", d.log()[-800:])
        check_stream(c, d, 240, 180)
        if c.check(dev is not None, "the vimc sensor's sub-device is found", str(MEDIA)):
            check_live_controls(c, d, dev)
        check_record(c, d)


def check_stream(c, d, width, height):
    what = f"{width}x{height}"
    cam = d.status()["camera"]
    c.check((cam["width"], cam["height"], cam["format"]) == (width, height, "RGB24"),
            f"{what}: /status reports the size asked for, RGB24 (libcamera BGR888)",
            f"{cam['width']}x{cam['height']} {cam['format']}")
    n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 10, timeout=120)
    c.check(n >= 10, f"{what}: ffmpeg decodes 10 frames of /stream.mjpg", err)
    parts = stream_parts(d.url("/stream.mjpg"), 15)
    if not c.check(len(parts) >= 10, f"{what}: 10+ parts of the stream read", str(len(parts))):
        return
    late = [(now - mono) / 1e6 for _, mono, now in parts]
    log(f"{what}: capture to this client {min(late):.1f}..{max(late):.1f} ms; sequences {[p[0] for p in parts]}")
    c.check(all(0 <= x < 2000 for x in late), f"{what}: no capture time is in the future of the guest's "
            "CLOCK_MONOTONIC (or far in its past)", f"{min(late):.1f}..{max(late):.1f} ms")
    # When camrig receives a frame its capture time is on the guest's
    # CLOCK_MONOTONIC: within 100 ms of now (capture_age_ms, sampled).
    ages = []
    for _ in range(10):
        ages.append(d.status()["camera"]["capture_age_ms"])
        time.sleep(0.2)
    log(f"{what}: capture_age_ms {ages}")
    c.check(all(a >= 0 for a in ages) and sorted(ages)[len(ages) // 2] < 100,
            f"{what}: capture times are CLOCK_MONOTONIC, within 100 ms of receipt", str(ages))
    seqs, monos = [p[0] for p in parts], [p[1] for p in parts]
    c.check(all(b > a for a, b in zip(seqs, seqs[1:])) and all(b > a for a, b in zip(monos, monos[1:])),
            f"{what}: sequence numbers and timestamps rise", f"{seqs} {monos}")
    cam = d.status()["camera"]
    frames = cam["frames"]
    c.check(frames["lost_upstream"] == 0 and frames["captured"] > 10,
            f"{what}: libcamera's sequence numbers are consecutive", str(frames))
    log(d.log().strip()[-1500:])


def check_live_controls(c, d, dev):
    # vimc's pipeline sets V4L2 brightness = Brightness x 128 + 128 on its sensor.
    v = subdev_ctrl(dev, "brightness")
    c.check(v == 192, "a control from the config (Brightness 0.5) reaches the sensor (brightness 192)", str(v))
    st, _, body = d.request("POST", "/api/command", body=b"set_control contrast 1.5")
    ok = wait_until(lambda: subdev_ctrl(dev, "contrast") == 192, 20, step=0.5)
    c.check(st == 200 and ok, "set_control contrast 1.5 while capturing reaches the sensor (contrast 192)",
            f"{st} {body[:200]!r} contrast {subdev_ctrl(dev, 'contrast')}")
    controls = d.status()["camera"]["controls"]
    c.check(controls.get("Brightness") == "0.5" and controls.get("contrast") == "1.5",
            "/status shows each control as set", str(controls))
    st, _, body = d.get("/api/controls")
    try:
        listed = {x["name"]: x for x in json.loads(body)["cameras"][0]["controls"]}
    except (ValueError, KeyError, IndexError):
        listed = {}
    b, k = listed.get("Brightness", {}), listed.get("Contrast", {})
    c.check(st == 200 and b.get("type") == "float" and b.get("min") == -1 and b.get("max") == 1
            and b.get("value") == 0.5 and k.get("value") == 1.5,
            "list_controls (GET /api/controls): libcamera's controls with type, range and the values set",
            f"{st} {json.dumps(b)} {json.dumps(k)} {body[:200]!r}")
    st, _, body = d.request("POST", "/api/command", body=b"set_control Exposure 100")
    c.check(st == 404 and b"Brightness" in body and b"Contrast" in body,
            "set_control of an unknown control is a 404 listing the camera's controls", f"{st} {body[:300]!r}")
    st, _, body = d.request("POST", "/api/command", body=b"set_control Brightness 7")
    c.check(st == 400 and b"-1" in body and b"..1" in body,
            "set_control out of range is a 400 that gives the range", f"{st} {body[:300]!r}")


def check_errors(c):
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", "libcamera", *QUIET,
                     "-o", "camera.controls.NoSuchControl=1")
    c.check(rc != 0 and "NoSuchControl" in err and "Brightness" in err and "Saturation" in err,
            "an unknown control refuses to start, naming the camera's controls", f"rc {rc}: {err[-500:]}")
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", "libcamera", *QUIET,
                     "-o", "camera.controls.Contrast=9")
    c.check(rc != 0 and "Contrast" in err and "0..2" in err.replace(".000000", ""),
            "a control value out of range refuses to start with the range", f"rc {rc}: {err[-500:]}")
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", "libcamera:7", *QUIET)
    c.check(rc != 0 and "no such camera" in err and CAMERA_ID in err,
            "a camera index that does not exist refuses to start, listing the cameras", f"rc {rc}: {err[-500:]}")


def check_record(c, d):
    # A first, short recording pages the encoder in: in the emulated guest
    # loading FFmpeg's libraries (camrig maps them at the first recording,
    # reading them over 9p here) and the first frame can take seconds, so
    # it lasts until the encoder has put out a packet (its own count).
    d.request("POST", "/api/record/start")
    wait_until(lambda: d.status()["camera"]["recording"]["encoder"]["packets"] > 0, 120, step=0.5)
    d.request("POST", "/api/record/stop")
    wait_until(lambda: d.status()["camera"]["recording"]["state"] == "idle", 60, step=0.5)
    for f in files_of(d):
        os.remove(f)
        os.remove(os.path.splitext(f)[0] + ".csv")
    st, _, body = d.request("POST", "/api/record/start?duration=5")
    c.check(st == 200, "recording started", body.decode())
    done = wait_until(lambda: d.status()["camera"]["recording"]["state"] == "idle", 60, step=0.5)
    c.check(done, "the 5 s recording ends", str(d.status()["camera"]["recording"]))
    files = files_of(d)
    if not c.check(len(files) == 1, "one file", f"{files}\n{d.status()['camera']['recording']}\n{d.log()}"):
        return
    _, rows, _ = sidecar(files[0])
    rec = recorded(rows)
    # Every row has libcamera's sequence number: frames the pipeline lost
    # would be "lost" rows; frames camrig's encoder queue dropped (the
    # emulated guest stalls it at times) are "dropped" rows, still numbered.
    seqs = [int(r["sequence"]) for r in rows if r["sequence"]]
    lost = [r for r in rows if r["status"] == "lost"]
    dropped = [r for r in rows if r["status"] == "dropped"]
    span = (int(rec[-1]["mono_ns"]) - int(rec[0]["mono_ns"])) / 1e9 if rec else 0
    log(f"recorded {len(rec)} frames over {span:.2f} s, {len(dropped)} dropped inside camrig, {len(lost)} lost")
    c.check(rec and len(seqs) == len(rows) and all(b == a + 1 for a, b in zip(seqs, seqs[1:])) and not lost,
            "the sidecar's sequence numbers (libcamera's) are consecutive, no frame lost upstream",
            f"{seqs[:10]}... {lost[:3]}")
    c.check(len(dropped) <= len(rows) // 10, "camrig itself dropped at most 10% (encoder queue in the guest)",
            f"{len(dropped)} of {len(rows)}")
    c.check(4.0 < span < 6.0, "the sidecar spans about 5 s", f"{span:.2f} s")
    # Timestamps rise at the frame interval: each step between consecutive
    # frames within a factor of the mean (vimc has no fixed rate; the
    # emulated guest sets it).
    monos = [int(r["mono_ns"]) for r in rec]
    steps = [b - a for a, b in zip(monos, monos[1:])]
    mean = span / max(1, len(steps))
    log(f"frame interval: mean {mean * 1e3:.1f} ms, steps {min(steps) / 1e6:.1f}..{max(steps) / 1e6:.1f} ms")
    c.check(steps and all(x > 0 for x in steps) and sorted(steps)[len(steps) // 2] / 1e9 < 2 * mean
            and sorted(steps)[len(steps) // 2] / 1e9 > mean / 2,
            "timestamps rise at the frame interval (every step positive, the median step near the mean)",
            f"mean {mean * 1e3:.1f} ms, steps {steps[:20]}")
    rc, out = verify(files[0])
    c.check(rc == 0 and "OK" in out, "camrig verify accepts the recording", out)
    stream, _ = probe(files[0])
    c.check(stream and (stream["width"], stream["height"]) == (240, 180), "the file is 240x180", str(stream))


def main():
    global MEDIA, SENSOR, CAMERA_ID
    need("ffmpeg", "ffprobe", "v4l2-ctl", "media-ctl", "cam")
    rc, out, err = run("cam", "-l", env={"LIBCAMERA_LOG_LEVELS": "*:ERROR"})
    m = re.search(r"^1: '([^']+)' \(([^)]+)\)", out, re.M)
    if not m:
        skip(f"libcamera lists no camera (is vimc loaded?): {out} {err[-300:]}")
    SENSOR, CAMERA_ID = m.group(1), m.group(2)
    MEDIA = next((f"/dev/{n}" for n in sorted(os.listdir("/dev")) if n.startswith("media")
                  and "vimc" in run("media-ctl", "-d", f"/dev/{n}", "-p")[1]), None)
    dev = sensor_subdev() if MEDIA else None
    log(f"libcamera camera {CAMERA_ID!r}, sensor {SENSOR!r} at {dev} in {MEDIA}")
    c = Checks()
    t0 = time.monotonic()
    only = os.environ.get("ONLY", "list auto stream errors").split()  # to run some while debugging
    if "list" in only:
        check_list(c)
    if "auto" in only:
        check_auto(c, dev)
    if "stream" in only:
        with Daemon("--source", "libcamera", "--size", "480x360", *QUIET, start_timeout=START) as d:
            check_stream(c, d, 480, 360)
    if "errors" in only:
        check_errors(c)
    log(f"guest checks took {time.monotonic() - t0:.0f} s")
    c.done()


if __name__ == "__main__":
    main()
