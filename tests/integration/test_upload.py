#!/usr/bin/env python3
"""Periodic upload against small HTTP servers on loopback (stdlib only): the
multipart parts (field `image`, timestamped file name, a JPEG that decodes,
the extra fields) and headers, the rate, and servers that stall, answer 500
or refuse: failures and retries with backoff show in /status while capture
keeps its frame rate and /stream.mjpg keeps flowing."""
import email.parser
import email.policy
import http.server
import re
import threading
import time

from camrig_test import Checks, Daemon, ffmpeg_count_frames, ffprobe_image, free_port, need

need("ffmpeg", "ffprobe")
c = Checks()

TOKEN = "s3cr3t-t0ken-value"
NAME = re.compile(r"^(\w+)_\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d_\d{3}\.jpg$")


class Server:
    """An HTTP server on 127.0.0.1 recording each POST: (time, headers,
    parts) with parts {name: (filename, content type, bytes)}. mode: "ok",
    "stall" (never answers) or "fail3" (500 for the first three POSTs)."""

    def __init__(self, mode):
        self.mode = mode
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + self.headers.get("Content-Type", "").encode() + b"\r\n\r\n" + body)
                parts = {}
                if msg.is_multipart():
                    for p in msg.iter_parts():
                        parts[p.get_param("name", header="content-disposition")] = (
                            p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
                with server.lock:
                    server.requests.append((time.monotonic(), dict(self.headers), parts, self.path))
                    n = len(server.requests)
                if server.mode == "stall":
                    server.release.wait(60)
                    return
                status = 500 if server.mode == "fail3" and n <= 3 else 200
                self.send_response(status)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path="/upload"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def camera(name, url, interval_ms, extra=""):
    return f"""
  - name: {name}
    source: test
    size: 320x240
    fps: 25
    recording: {{pre_trigger: 0}}
    upload:
      enabled: true
      url: {url}
      interval_ms: {interval_ms}
{extra}"""


def cam_status(d, name):
    return next(x for x in d.status()["cameras"] if x["name"] == name)


# ---- a server that answers: parts, headers, rate --------------------------------------------------
srv = Server("ok")
config = "log_level: debug\ncameras:" + camera("rig1", srv.url("/upload?key=k1"), 250, f"""      fields:
        printer: mk4
        job.id: "42"
      headers:
        Authorization: Bearer {TOKEN}
        X-Rig: bench
      timeout_ms: 2000
""")
with Daemon(config=config) as d:
    time.sleep(5.5)
    st = cam_status(d, "rig1")["upload"]
    with srv.lock:
        reqs = list(srv.requests)
    c.check(len(reqs) >= 15, "POSTs arrive", f"{len(reqs)} requests")
    first = reqs[0] if reqs else (0, {}, {}, "")
    _, headers, parts, path = first
    c.check(path == "/upload?key=k1", "the URL's path and query are kept", path)
    c.check(headers.get("Content-Type", "").startswith("multipart/form-data; boundary="),
            "Content-Type multipart/form-data", headers.get("Content-Type"))
    c.check(headers.get("Authorization") == f"Bearer {TOKEN}" and headers.get("X-Rig") == "bench",
            "the configured headers are sent", {k: v for k, v in headers.items() if k in ("Authorization", "X-Rig")})
    img = parts.get("image")
    c.check(img is not None and img[1] == "image/jpeg", "a part named image of type image/jpeg", list(parts))
    c.check(img is not None and NAME.match(img[0] or "") and NAME.match(img[0]).group(1) == "rig1",
            "file name CAMERA_YYYY_MM_DD_HH_MM_SS_mmm.jpg", img and img[0])
    c.check(img is not None and img[2][:2] == b"\xff\xd8" and img[2][-2:] == b"\xff\xd9", "the image is a JPEG")
    if img is not None:
        codec, w, h, _ = ffprobe_image(img[2])
        c.check((codec, w, h) == ("mjpeg", 320, 240), "ffprobe decodes it: 320x240", (codec, w, h))
    c.check(parts.get("printer", (None, None, b""))[2] == b"mk4" and parts.get("job.id", (None, None, b""))[2] == b"42",
            "the extra form fields are sent", {k: v[2] for k, v in parts.items() if k != "image"})
    names = [r[2]["image"][0] for r in reqs if "image" in r[2]]
    c.check(len(set(names)) == len(names) and names == sorted(names), "every image is a new frame, in order")
    # Rate: 1000 / 250 ms = 4 per second, measured away from the start.
    t0 = reqs[0][0] if reqs else 0
    window = [r for r in reqs if t0 + 1.0 <= r[0] < t0 + 5.0]
    rate = len(window) / 4.0
    c.check(3.4 <= rate <= 4.6, "the rate is 1000/interval_ms (4/s)", f"{rate:.2f}/s")
    c.check(st["sent"] >= len(reqs) - 1 and st["failed"] == 0 and st["dropped"] == 0 and st["last_status"] == 200,
            "/status: sent, no failures or drops, last_status 200", st)
    c.check(st["url"] == srv.url("/upload") and "k1" not in st["url"], "/status shows the URL without its query",
            st["url"])
    d.stop()
    c.check(TOKEN not in d.log(), "header values are never logged (even at debug level)")
srv.close()

# ---- servers that stall, fail, or refuse --------------------------------------------------------------
stall, fail = Server("stall"), Server("fail3")
refused_port = free_port()
config = "cameras:" + camera("stall", stall.url(), 200, "      timeout_ms: 1000\n      queue: 2\n") + \
    camera("fail", fail.url(), 300) + camera("refused", f"http://127.0.0.1:{refused_port}/x", 200)
with Daemon(config=config) as d:
    t_start = time.monotonic()
    before = {n: cam_status(d, n)["frames"]["captured"] for n in ("stall", "fail", "refused")}
    time.sleep(2.0)
    n, err = ffmpeg_count_frames(d.url("/stream.mjpg?camera=stall"), 50, timeout=20)
    c.check(n >= 50, "/stream.mjpg of the camera whose server stalls keeps flowing", f"{n} frames: {err}")
    time.sleep(max(0.0, 6.0 - (time.monotonic() - t_start)))
    elapsed = time.monotonic() - t_start
    cams = {n: cam_status(d, n) for n in ("stall", "fail", "refused")}
    for name, cs in cams.items():
        fps = cs["fps"]["measured"]
        got = (cs["frames"]["captured"] - before[name]) / elapsed
        c.check(22 <= fps <= 28 and got >= 22, f"{name}: capture stays at the source's 25 fps",
                f"measured {fps:.1f}, {got:.1f} frames/s")

    s = cams["stall"]["upload"]
    c.check(s["sent"] == 0 and 2 <= s["failed"] <= 5 and "imed out" in s["last_error"],
            "stall: POSTs time out after timeout_ms and are retried with backoff", s)
    c.check(s["taken"] >= 0.8 * elapsed * 5 and s["dropped"] >= s["taken"] - s["failed"] - 3,
            "stall: images are still taken at the rate; the full queue drops the oldest", s)
    with stall.lock:
        stall_times = [r[0] for r in stall.requests]
    c.check(len(stall_times) == s["failed"] + 1 or len(stall_times) == s["failed"],
            "stall: one POST at a time", f"{len(stall_times)} POSTs, {s['failed']} failed")

    f = cams["fail"]["upload"]
    c.check(f["failed"] == 3 and f["sent"] >= 3 and f["last_status"] == 200 and f["last_error"] == ""
            and f["backoff_s"] == 0, "500 three times: failures counted, then sent, backoff reset", f)
    with fail.lock:
        freqs = list(fail.requests)
    names = [r[2]["image"][0] for r in freqs if "image" in r[2]]
    c.check(len(names) > len(set(names)), "a failed image is sent again", names[:6])
    if len(freqs) >= 4:
        gaps = [freqs[i + 1][0] - freqs[i][0] for i in range(3)]
        # Nominal 0.5 s, 1 s, 2 s; a loaded CI machine may be late, never early.
        c.check(0.45 <= gaps[0] < gaps[1] < gaps[2] and gaps[1] >= 0.95 and 1.95 <= gaps[2] <= 3.5,
                "retries back off 0.5 s, 1 s, 2 s", [f"{g:.2f}" for g in gaps])

    r = cams["refused"]["upload"]
    c.check(r["sent"] == 0 and 3 <= r["failed"] <= 6 and r["backoff_s"] >= 2 and r["last_status"] == 0
            and "onnect" in r["last_error"], "refused: counted, backing off exponentially (no hammering)", r)

    t0 = time.monotonic()
    rc = d.stop()
    took = time.monotonic() - t0
    c.check(rc == 0 and took < 5, "SIGTERM stops camrig promptly while a POST is stalled", f"rc {rc}, {took:.1f} s")
stall.close()
fail.close()

c.done()
