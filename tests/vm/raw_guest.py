"""The raw-sensor device test, run inside the vimc guest by tests/vm/guest.sh.

vimc is a media-controller camera: a sensor sub-device feeding a raw Bayer
capture node (and a debayer sub-device). This starts the real `camrig run`
on vimc's "Raw Capture 1" node with a sensor: block, so that camrig itself,
through the sub-device API, sets "Sensor B"'s pad to SGRBG10 320x240 (and the
debayer's sink pad it feeds: the kernel checks every link at STREAMON) and
sub-device controls by name, then checks:

- the pad's format as v4l2-ctl reads it back, /status's format and sensor;
- the live view is a colour (demosaicked) JPEG;
- a lossless recording (ffv1) holds the samples as gray10le whose decoded
  first frame equals, bit for bit, a raw frame v4l2-ctl captures from the node
  afterwards (vimc's test pattern does not move once its text overlay is off), and `camrig verify` accepts it;
- sub-device controls from the config and one set live reach the sensor and
  show in /status and in list_controls; an unknown one lists the node's and
  the sensor's controls;
- a sensor entity that is not there, and a crop the sensor cannot do, refuse
  to start with a reason naming it.
Exits 0, 1 (a check failed) or 77 (skipped). $CAMRIG is the binary."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import CAMRIG, Checks, Daemon, ffprobe_image, log, need, skip  # noqa: E402
from record_util import files_of, probe, sidecar, wait_until  # noqa: E402

W, H = 320, 240
SGRBG10_1X10 = 0x300a


def run(*args, timeout=120):
    p = subprocess.run(list(args), capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def topology():
    """{entity name: device node} of the vimc media graph."""
    for n in sorted(os.listdir("/dev")):
        if not n.startswith("media"):
            continue
        out = run("media-ctl", "-d", f"/dev/{n}", "-p")[1].decode()
        if "vimc" in out:
            return dict(re.findall(r"- entity \d+: (.+?) \(.*?\n.*?\n\s+device node name (\S+)", out))
    return {}


def subdev_ctrl(dev, name):
    out = run("v4l2-ctl", "-d", dev, "-C", name)[1].decode()
    m = re.search(name + r": (-?\d+)", out)
    return int(m.group(1)) if m else None


def main():
    need("ffmpeg", "ffprobe", "v4l2-ctl", "media-ctl")
    nodes = topology()
    node, sensor = nodes.get("Raw Capture 1"), nodes.get("Sensor B")
    if not node or not sensor:
        skip(f"no vimc graph with Raw Capture 1 and Sensor B (is vimc loaded?): {nodes}")
    log(f"raw node {node}, sensor {sensor}")
    c = Checks()
    args = ["--source", f"v4l2:{node}", "-o", "camera.sensor.format=SGRBG10", "-o", f"camera.sensor.size={W}x{H}",
            "-o", "camera.sensor.controls.vertical_flip=true", "-o", "camera.sensor.controls.test_pattern=16x16 Checkers",
            # vimc draws a frame counter and time over the pattern unless told not to
            "-o", "camera.sensor.controls.show_information=None",
            "-o", "camera.recording.codec=ffv1", "-o", "camera.recording.pre_trigger=0",
            "-o", "camera.recording.min_free_mb=0"]
    keep = tempfile.mkdtemp(prefix="raw-")
    with Daemon(*args, start_timeout=60) as d:
        cam = d.wait_camera(lambda cam: cam["frames"]["captured"] >= 5, 60, step=0.5)
        out = run("v4l2-ctl", "-d", sensor, "--get-subdev-fmt", "pad=0")[1].decode()
        c.check(f"{W}/{H}" in out and f"0x{SGRBG10_1X10:04x}" in out,
                "camrig set the sensor pad's format and size through the sub-device API", out)
        c.check((cam["format"], cam["width"], cam["height"]) == ("SGRBG10", W, H),
                "/status: the node delivers SGRBG10 320x240 to match", f"{cam['format']} {cam['width']}x{cam['height']}")
        c.check("Sensor B" in cam.get("sensor", "") and f"SGRBG10_1X10 {W}x{H}" in cam.get("sensor", ""),
                "/status shows the sensor's entity, node and format", cam.get("sensor", "none"))
        c.check("Debayer B" in d.log(), "the sensor's format went to the debayer's sink pad too", d.log()[-800:])
        c.check(cam["frames"]["captured"] >= 5 and cam["state"] == "running", "raw frames are captured",
                str(cam["frames"]))
        st, _, body = d.get("/snapshot.jpg")
        got = ffprobe_image(body) if st == 200 else (None, 0, 0, f"HTTP {st}")
        c.check(got[0] == "mjpeg" and (got[1], got[2]) == (W, H) and not got[3].startswith("gray"),
                "the snapshot is a demosaicked colour JPEG", str(got))
        c.check(subdev_ctrl(sensor, "vertical_flip") == 1 and subdev_ctrl(sensor, "test_pattern") == 10,
                "sub-device controls from the config (bool, menu by name) reach the sensor",
                f"vertical_flip {subdev_ctrl(sensor, 'vertical_flip')}, test_pattern {subdev_ctrl(sensor, 'test_pattern')}")

        # Lossless: a 1 s ffv1 recording of the 10-bit mosaic.
        st, _, body = d.request("POST", "/api/record/start?duration=1")
        c.check(st == 200, "recording started", body.decode())
        wait_until(lambda: d.status()["camera"]["recording"]["state"] == "idle", 60, step=0.5)
        files = files_of(d)
        if c.check(len(files) == 1, "one recording", str(files)):
            stream, _ = probe(files[0])
            c.check(stream and stream["codec_name"] == "ffv1" and stream["pix_fmt"] == "gray10le",
                    "ffv1 keeps the 10-bit samples (gray10le)", str(stream))
            header, rows, _ = sidecar(files[0])
            c.check(header.get("camera_format") == f"SGRBG10 {W}x{H}", "the sidecar names the Bayer format",
                    str(header))
            recording = os.path.join(keep, "rec.mkv")
            subprocess.run(["cp", files[0], recording])
            subprocess.run(["cp", os.path.splitext(files[0])[0] + ".csv", os.path.join(keep, "rec.csv")])
            first = os.path.join(keep, "first.raw")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", files[0], "-frames:v", "1", "-f", "rawvideo",
                            "-pix_fmt", "gray10le", first], timeout=120)

        # Live: a control only the sensor has goes to the sensor.
        st, _, body = d.request("POST", "/api/command", body=b"set_control horizontal_flip true")
        ok = wait_until(lambda: subdev_ctrl(sensor, "horizontal_flip") == 1, 10, step=0.5)
        c.check(st == 200 and ok, "set_control horizontal_flip reaches the sensor's sub-device while streaming",
                f"{st} {body[:300]!r}")
        controls = d.status()["camera"]["controls"]
        c.check(controls.get("vertical_flip") == "true" and controls.get("horizontal_flip") == "true"
                and controls.get("test_pattern") == "16x16 Checkers", "/status shows the sensor's controls as set",
                str(controls))
        st, _, body = d.get("/api/controls")
        try:
            listed = {x["name"]: x for x in json.loads(body)["cameras"][0]["controls"]}
        except (ValueError, KeyError, IndexError):
            listed = {}
        vf = listed.get("vertical_flip", {})
        c.check(st == 200 and vf.get("value") is True and "Sensor B" in vf.get("device", "")
                and listed.get("test_pattern", {}).get("value") == 10,
                "list_controls (GET /api/controls) lists the sensor sub-device's controls, marked with its device",
                f"{st} {json.dumps(vf)} {sorted(listed)}")
        st, _, body = d.request("POST", "/api/command", body=b"set_control no_such_control 1")
        c.check(st == 404 and b"its sensor" in body and b"vertical_flip" in body,
                "an unknown control is a 404 listing the node's and the sensor's controls", f"{st} {body[:400]!r}")
        d.request("POST", "/api/command", body=b"set_control horizontal_flip false")
        wait_until(lambda: subdev_ctrl(sensor, "horizontal_flip") == 0, 10, step=0.5)

    # The raw frame straight from the driver, with the same settings (the
    # sub-device keeps its format and controls): bit for bit the recording's.
    raw = os.path.join(keep, "v4l2.raw")
    rc, _, err = run("v4l2-ctl", "-d", node, f"--set-fmt-video=width={W},height={H},pixelformat=BA10",
                     "--stream-mmap", "--stream-count=1", f"--stream-to={raw}")
    a = open(os.path.join(keep, "first.raw"), "rb").read() if os.path.exists(os.path.join(keep, "first.raw")) else b""
    b = open(raw, "rb").read() if os.path.exists(raw) else b""
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    log(f"decoded first frame {len(a)} bytes, v4l2-ctl frame {len(b)} bytes, {len(diff)} differ"
        + (f": rows {sorted(set(i // (W * 2) for i in diff))[:20]}, columns {sorted(set(i % (W * 2) // 2 for i in diff))[:40]}, "
           f"e.g. {[(i, a[i], b[i]) for i in diff[:8]]}" if diff else ""))
    c.check(len(a) == W * H * 2 and a == b[:W * H * 2],
            "the lossless recording's first frame equals the raw frame bit for bit", err[-300:])

    if os.path.exists(os.path.join(keep, "rec.mkv")):
        t0 = time.monotonic()
        rc, out, err = run(CAMRIG, "verify", os.path.join(keep, "rec.mkv"), timeout=300)
        log(f"camrig verify took {time.monotonic() - t0:.1f} s")
        c.check(rc == 0, "camrig verify accepts the recording", out.decode() + err)
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", f"v4l2:{node}",
                     "-o", "camera.sensor.entity=imx296", "-o", "camera.recording.pre_trigger=0")
    c.check(rc != 0 and "imx296" in err and "Sensor B" in err,
            "a sensor entity that is not in the graph refuses to start, listing the entities", err[-400:])
    rc, _, err = run(CAMRIG, "run", "--listen", "127.0.0.1:0", "--source", f"v4l2:{node}",
                     "-o", "camera.sensor.crop.width=100", "-o", "camera.sensor.crop.height=100",
                     "-o", "camera.recording.pre_trigger=0")
    c.check(rc != 0 and "Sensor B" in err and "crop" in err,
            "a crop the sensor cannot do refuses to start, naming the sensor", err[-400:])
    log(f"guest checks took {time.monotonic() - T0:.0f} s")
    c.done()


if __name__ == "__main__":
    T0 = time.monotonic()
    main()
