#!/usr/bin/env python3
"""The live view over HTTP against the real daemon with the test pattern:
MJPEG stream decoded by ffmpeg, snapshots and /frame variants checked with
ffprobe, /status fields, every pixel format of the test source, bad requests,
and 20 concurrent stream clients plus one that never reads."""
import json
import os
import socket
import subprocess
import threading
import time

from camrig_test import Checks, Daemon, ffmpeg_count_frames, ffprobe_image, log, need

need("ffmpeg", "ffprobe")
c = Checks()


def read_parts(url_host, port, path, seconds, stop_after=None):
    """Reads a multipart MJPEG stream for `seconds`; returns the list of part
    headers (dicts) and the JPEG sizes."""
    s = socket.create_connection((url_host, port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {url_host}:{port}\r\n\r\n".encode())
    f = s.makefile("rb")
    status = f.readline()
    assert b"200" in status, status
    while f.readline() not in (b"\r\n", b""):
        pass
    parts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        line = f.readline()
        if not line:
            break
        if not line.startswith(b"--"):
            continue
        headers = {}
        while True:
            h = f.readline().decode().strip()
            if not h:
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = f.read(int(headers["content-length"]))
        headers["_jpeg_ok"] = body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
        parts.append(headers)
    s.close()
    return parts


with Daemon("--source", "test", "--size", "640x480", "--fps", "25", "--name", "bench-cam") as d:
    # The page.
    st, hdr, _ = d.request("GET", "/")
    c.check(st == 200, "/ redirects to a page that loads")  # urllib follows the 302
    st, hdr, body = d.get("/index.html")
    c.check(st == 200 and b"stream.mjpg" in body and hdr["Content-Type"].startswith("text/html"),
            "/index.html is the live-view page")

    # MJPEG stream decoded by a real client.
    n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 60)
    c.check(n >= 50, "ffmpeg decodes >= 50 frames of /stream.mjpg", f"{n} frames: {err}")
    n, err = ffmpeg_count_frames(d.url("/stream"), 10)
    c.check(n >= 10, "/stream is the same stream", f"{n} frames: {err}")

    # Part headers: index, sequence, capture time; consecutive at full rate.
    parts = read_parts("127.0.0.1", d.port, "/stream.mjpg", 2.0)
    idx = [int(p["x-frame-index"]) for p in parts]
    c.check(len(parts) >= 40 and all(p["_jpeg_ok"] for p in parts), "stream parts are whole JPEGs",
            f"{len(parts)} parts")
    # Latest wins: a client may skip a frame when the encoder falls behind (under
    # ASan, say), but never goes backwards and keeps nearly every frame.
    c.check(all(b > a for a, b in zip(idx, idx[1:])) and len(idx) >= 0.9 * (idx[-1] - idx[0] + 1),
            "a reading client gets nearly every frame, in order", str(idx))
    c.check(all("x-timestamp" in p and "x-frame-sequence" in p for p in parts),
            "parts carry X-Timestamp and X-Frame-Sequence")

    # Snapshot: a frame captured after the request arrived.
    for path in ("/snapshot.jpg", "/current.jpg"):
        t_req = time.time()
        st, hdr, body = d.get(path)
        ok = st == 200 and hdr["Content-Type"] == "image/jpeg"
        c.check(ok and ffprobe_image(body)[:3] == ("mjpeg", 640, 480), f"{path} is a 640x480 JPEG")
        c.check(ok and float(hdr["X-Timestamp"]) >= t_req - 0.002,
                f"{path} shows a frame captured after the request", f"{hdr.get('X-Timestamp')} < {t_req}")

    st, _, body = d.get("/frame?width=240&height=320&gray=1")
    c.check(st == 200 and ffprobe_image(body) == ("mjpeg", 240, 320, "gray"),
            "/frame?width=240&height=320&gray=1 is a 240x320 gray JPEG",
            str(ffprobe_image(body)) if st == 200 else str(st))
    st, _, small = d.get("/frame?quality=10")
    st2, _, big = d.get("/frame?quality=95")
    c.check(st == 200 and st2 == 200 and len(small) < len(big) / 2, "/frame?quality= changes the encoding",
            f"{len(small)} vs {len(big)} bytes")

    # The snapshot command saves a JPEG of a frame captured after it.
    t_cmd = time.time()
    st, _, body = d.request("POST", "/api/command", body=b"snapshot")
    reply = json.loads(body)
    files = reply.get("files", [])
    path = os.path.join(d.cwd, files[0]) if files else ""
    c.check(st == 200 and reply["ok"] and os.path.isfile(path) and "/snapshots/bench-cam_" in path,
            "the snapshot command saves a JPEG under recordings/DATE/snapshots/", body.decode()[:300])
    if os.path.isfile(path):
        with open(path, "rb") as f:
            c.check(ffprobe_image(f.read())[:3] == ("mjpeg", 640, 480), "and it is a 640x480 JPEG")

    # /status reports what was asked.
    s = d.status()
    cam = s["camera"]
    c.check(s["name"] == "bench-cam" and cam["name"] == "bench-cam", "/status has the camera name")
    c.check((cam["width"], cam["height"], cam["format"]) == (640, 480, "YUYV"), "/status has size and format",
            f"{cam['width']}x{cam['height']} {cam['format']}")
    c.check(cam["fps"]["requested"] == 25 and cam["fps"]["nominal"] == 25, "/status has the requested fps")
    c.check(abs(cam["fps"]["measured"] - 25) < 3, "/status measures about 25 fps", str(cam["fps"]["measured"]))
    c.check(cam["frames"]["captured"] > 50 and cam["state"] == "running", "/status counts captured frames")
    c.check(any(x["name"] == "jpeg" and "dropped" in x for x in cam["consumers"]),
            "/status lists consumers with their drops")
    c.check("uptime" in s and "time" in s and s["version"], "/status has version, uptime and time")
    st, _, _ = d.get("/info")
    c.check(st == 200, "/info is /status")

    # Bad requests get a 4xx with a reason, and the daemon keeps serving.
    for path, want in [("/nope", 404), ("/frame?width=100", 400), ("/frame?quality=0", 400),
                       ("/frame?gray=2", 400), ("/frame?colour=1", 400), ("/stream.mjpg?width=x&height=2", 400),
                       ("/snapshot.jpg?camera=other", 404), ("/status?x=1", 400)]:
        st, hdr, body = d.get(path)
        c.check(st == want and body.strip() and b"\n" == body[-1:],
                f"GET {path} -> {want} with a one-line reason", f"{st} {body[:80]!r}")
    st, _, _ = d.request("POST", "/snapshot.jpg", body=b"x")
    c.check(st == 405, "POST /snapshot.jpg -> 405", str(st))
    raw = socket.create_connection(("127.0.0.1", d.port))
    raw.sendall(b"\x00\x01garbage\r\n\r\n")
    raw.recv(100)
    raw.close()
    st, _, _ = d.get("/snapshot.jpg")
    c.check(st == 200, "still serving after bad requests")

    # 20 concurrent readers plus one client that never reads.
    stalled = socket.create_connection(("127.0.0.1", d.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n\r\n".encode())
    time.sleep(1)
    results = [None] * 20

    def reader(i):
        results[i] = read_parts("127.0.0.1", d.port, "/stream.mjpg", 6.0)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rates = []
    for parts in results:
        # Rate over the part of the run after everyone connected: frames per capture-second.
        ts = [float(p["x-timestamp"]) for p in parts]
        rates.append((len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) > 1 else 0)
    log("per-client fps:", " ".join(f"{r:.1f}" for r in rates))
    # A client held back by the stalled one would get next to nothing; 20
    # Python readers on a loaded 2-core machine may themselves miss a frame
    # now and then (seen: 23.3 fps under CI's load).
    c.check(min(rates) >= 20, "20 concurrent clients each get (nearly) the full 25 fps next to a stalled one",
            f"min {min(rates):.1f}")
    s = d.status()
    c.check(s["clients"]["stream"] >= 1, "/status counts stream clients", str(s["clients"]))
    stalled.close()

# Every pixel format of the test source serves a decodable stream.
for fmt in ["GREY", "YUYV", "NV12", "YU12", "RGB24", "BGR24", "MJPEG"]:
    with Daemon("--source", "test", "--size", "320x240", "--fps", "30", "--format", fmt) as d:
        st, _, body = d.get("/snapshot.jpg")
        info = ffprobe_image(body) if st == 200 else None
        c.check(info and info[1:3] == (320, 240), f"{fmt}: snapshot is a 320x240 JPEG", str(info))
        n, err = ffmpeg_count_frames(d.url("/stream.mjpg"), 20)
        c.check(n >= 20, f"{fmt}: ffmpeg decodes the stream", err)
        cam = d.status()["camera"]
        c.check(cam["format"] == fmt, f"{fmt}: /status reports it", cam["format"])
        if fmt == "MJPEG":
            c.check(cam["jpeg"]["passed_through"] > 0 and cam["jpeg"]["encoded"] == 0,
                    "MJPEG from the camera is passed through untouched", str(cam["jpeg"]))

# Clients that want less: ?fps=5 beside a full-rate client, judged by the
# capture times in the part headers; fit=crop|pad for a portrait size.
def gray_rows(jpeg, width, height):
    """The JPEG decoded to 8-bit gray, as a list of rows (bytes)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "mjpeg", "-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         input=jpeg, capture_output=True, timeout=30).stdout
    return [raw[r * width:(r + 1) * width] for r in range(height)] if len(raw) == width * height else None


def mean(rows):
    return sum(sum(r) for r in rows) / max(1, sum(len(r) for r in rows))


with Daemon("--source", "test", "--size", "320x240", "--fps", "25") as d:
    results = {}

    def reader(name, path):
        results[name] = read_parts("127.0.0.1", d.port, path, 5.0)

    threads = [threading.Thread(target=reader, args=a) for a in (("slow", "/stream.mjpg?fps=5"),
                                                                  ("full", "/stream.mjpg"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slow = [int(p["x-capture-monotonic-ns"]) for p in results["slow"]]
    full = [int(p["x-capture-monotonic-ns"]) for p in results["full"]]
    rate = (len(slow) - 1) / ((slow[-1] - slow[0]) / 1e9) if len(slow) > 1 else 0
    gaps = [b - a for a, b in zip(slow, slow[1:])]
    c.check(4 <= rate <= 6 and gaps and min(gaps) >= 199_000_000, "?fps=5 gets 5 +- 1 images a second, never two "
            "within 0.2 s of capture time", f"{rate:.2f}/s, gaps {[round(g / 1e6) for g in gaps]} ms")
    frate = (len(full) - 1) / ((full[-1] - full[0]) / 1e9) if len(full) > 1 else 0
    c.check(frate >= 23.5, "... while the other client gets the full 25 fps", f"{frate:.1f}/s")
    st, _, _ = d.get("/stream.mjpg?fps=0")
    c.check(st == 400, "?fps=0 is a 400")
    st, _, _ = d.get("/frame?fps=5")
    c.check(st == 400, "/frame takes no fps (400)")

    shots = {}
    for fit in ("stretch", "crop", "pad"):
        st, _, body = d.get(f"/frame?width=240&height=320&fit={fit}")
        info = ffprobe_image(body) if st == 200 else None
        c.check(info and info[1:3] == (240, 320), f"fit={fit}: a 240x320 JPEG", str(info))
        shots[fit] = gray_rows(body, 240, 320) if info else None
    pad, crop = shots["pad"], shots["crop"]
    # 320x240 into 240x320: pad scales to 240x180, bars of 70 rows above and below.
    c.check(pad and mean(pad[:60]) < 8 and mean(pad[-60:]) < 8 and mean(pad[140:180]) > 30,
            "fit=pad: black bars above and below the whole picture",
            f"{pad and (round(mean(pad[:60])), round(mean(pad[140:180])))}")
    c.check(crop and mean(crop[:60]) > 30 and crop[:60] != shots["stretch"][:60],
            "fit=crop: no bars, and not the stretched picture", f"{crop and round(mean(crop[:60]))}")
    st, _, _ = d.get("/frame?width=240&height=320&fit=zoom")
    c.check(st == 400, "fit=zoom is a 400")

c.done()
