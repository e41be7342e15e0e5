#!/usr/bin/env python3
"""The page as a control room (issue 14), in Debian's chromium driven
through the DevTools protocol (tests/browser/driver.mjs, puppeteer-core),
against the real daemon with two test-pattern cameras and a url camera
whose server this test kills and restarts:

- the grid shows a live tile per camera whose image changes;
- a click on Record, then Stop, makes a recording that the recordings
  browser lists with the frame count and drops of its sidecar and a
  duration that fits them; the MP4 plays in the page (currentTime
  advances), the browser fetched it by Range (206) and a seek lands;
- the controls panel is built from the camera's list: the brightness slider
  (keyboard End/Home), the pattern menu and the clock toggle change what
  /status shows as set, and the image itself;
- a snapshot opens in the page; a timelapse runs from the tile (start,
  shots, stop) and its video appears in the browser;
- delete (after the confirmation) removes the file and its sidecar; a file
  being written cannot be deleted; path-traversal attempts are 404s;
- a page of another site in the same browser cannot start a recording nor
  delete a file;
- a lost camera shows on its tile within 2 s of camrig noticing, and the
  tile is live again when it returns;
- behind HTTP Basic the page works as well.
Screenshots go to build/test-artifacts/ (webui-*.png). The daemon's own
counters (/status) judge what happened, never the time something took,
except the one bound the issue sets (lost within 2 s)."""
import base64
import http.server
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request

from browser import Browser, artifacts_dir
from camrig_test import Checks, Daemon, free_port, log, need, wait_until

need("ffmpeg", "openssl")
c = Checks()
ART = artifacts_dir()
FPS = 15


def serve_mjpeg(url):
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                             "testsrc2=size=320x240:rate=10", "-c:v", "mjpeg", "-f", "mpjpeg", "-listen", "1", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def camera(d, name):
    return next(x for x in d.status()["cameras"] if x["name"] == name)


def mean_luma(jpeg):
    gray = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                          input=jpeg, capture_output=True, check=True).stdout
    return sum(gray) / max(1, len(gray))


# Each tile's picture, as the browser shows it: a hash of the <img> drawn
# into a small canvas (the MJPEG stream's current frame).
SIGNATURES = """() => Object.fromEntries([...document.querySelectorAll('.tile')].map((t) => {
  const img = t.querySelector('img.live'), c = document.createElement('canvas');
  c.width = 64; c.height = 48;
  if (!img.naturalWidth) return [t.dataset.camera, null];
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 64, 48);
  let h = 0;
  for (const v of g.getImageData(0, 0, 64, 48).data) h = (h * 31 + v) >>> 0;
  return [t.dataset.camera, h];
}))"""


def images_change(b, names, timeout=30):
    """Waits until every named tile has shown two different pictures."""
    b.eval(f"() => {{ window.sig0 = ({SIGNATURES})(); return true; }}")
    js = f"""() => {{ const now = ({SIGNATURES})();
      return {json.dumps(names)}.every((n) => now[n] !== null && window.sig0[n] !== null && now[n] !== window.sig0[n])
        || (() => {{ for (const n of {json.dumps(names)}) if (window.sig0[n] === null) window.sig0[n] = now[n];
                     return false; }})(); }}"""
    return b.try_wait(js, timeout)


evil_hits = []


class EvilPage(http.server.BaseHTTPRequestHandler):
    """A page of another site, open in the same browser, that tries to use camrig."""
    target = ""
    victim = ""

    def do_GET(self):
        evil_hits.append(self.path)
        page = f"""<!doctype html><title>evil</title><form id=f method=POST action="{self.target}/api/command"
          enctype="text/plain"><input name="start_recording 5 camera" value="left"></form><script>
          window.results = [];
          const go = async () => {{
            for (const [m, p, h] of [["POST", "/api/record/start?camera=left", {{}}],
                                     ["POST", "/api/command", {{"Content-Type": "text/plain"}}],
                                     ["POST", "/api/record/start", {{"X-Camrig": "1"}}],
                                     ["DELETE", "/api/recordings/{self.victim}", {{"X-Camrig": "1"}}],
                                     ["DELETE", "/api/recordings/{self.victim}", {{}}]]) {{
              try {{
                const r = await fetch("{self.target}" + p, {{ method: m, mode: Object.keys(h).length ? "cors" : "no-cors",
                  headers: h, body: m === "POST" ? "start_recording camera=left" : undefined }});
                window.results.push(m + " " + p + " " + r.status);
              }} catch (e) {{ window.results.push(m + " " + p + " refused: " + e.message); }}
            }}
            window.done = true;
          }};
          go();
        </script>"""
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


url_port = free_port()
door_url = f"http://127.0.0.1:{url_port}/live.mjpg"
server = serve_mjpeg(door_url)
time.sleep(1)
config = f"""
cameras:
  - name: left
    source: test
    size: 320x240
    fps: {FPS}
    recording: {{format: mp4, codec: h264, preset: ultrafast, gop: 0.5}}
  - name: right
    source: test
    size: 320x240
    fps: {FPS}
    recording: {{format: mp4, codec: h264, preset: ultrafast}}
  - name: door
    source: url:{door_url}
"""
try:
    with Daemon(config=config) as d, Browser() as b:
        d.wait_camera(lambda cam: cam["state"] == "running" and cam["frames"]["captured"] > 5, 30, camera=2)
        b.goto(d.url("/"))
        n = b.try_wait("() => document.querySelectorAll('.tile').length === 3 && "
                       "[...document.querySelectorAll('.tile .fps')].every((e) => e.textContent !== '–')", 20)
        c.check(n, "the grid shows a tile per camera, with numbers from the stats events")
        c.check(images_change(b, ["left", "right", "door"]), "every tile's image changes (a live view)")
        views = {x["name"]: x["clients"] for x in d.status()["cameras"]}
        c.check(all(v >= 1 for v in views.values()), "camrig counts a live view per tile", str(views))
        b.screenshot(os.path.join(ART, "webui-grid.png"))

        # Record, stop, and find it in the browser.
        b.click(".tile[data-camera=left] .rec-btn")
        ok = wait_until(lambda: camera(d, "left")["recording"]["frames"]["written"] >= 3 * FPS, 30)
        c.check(ok, "a click on Record starts a recording (camrig writes frames)", str(camera(d, "left")["recording"]))
        c.check(b.try_wait("() => { const t = document.querySelector('.tile[data-camera=left]');"
                           " return t.classList.contains('recording') && /REC \\d+:\\d\\d .* frames/.test("
                           "t.querySelector('.recline').textContent) && t.querySelector('.recline').textContent; }", 10),
                "the tile shows the recording live (elapsed, size, frames, drops)")
        b.screenshot(os.path.join(ART, "webui-recording.png"))
        b.click(".tile[data-camera=left] .stop-btn")
        ok = wait_until(lambda: camera(d, "left")["recording"]["state"] == "idle", 30)
        rec = camera(d, "left")["recording"]
        c.check(ok and rec["reason"].startswith("stopped"), "a click on Stop stops it", str(rec))
        video = os.path.join(d.tmp, rec["file"])
        side = os.path.splitext(video)[0] + ".csv"
        with open(side) as f:
            rows = [line.split(",") for line in f if line[0].isdigit() or line.startswith(",")]
        frames = sum(1 for r in rows if r[5] == "recorded")
        drops = sum(1 for r in rows if r[5] in ("dropped", "lost"))
        b.click("#nav-recordings")
        row = b.try_wait("() => { const r = document.querySelector('tr.file[data-kind=video]'); return r && "
                         "{duration: r.querySelector('.duration').textContent, frames: r.querySelector('.frames')"
                         ".textContent, drops: r.querySelector('.drops').textContent, path: r.dataset.path}; }", 20)
        c.check(row and int(row["frames"]) == frames and int(row["drops"]) == drops,
                "the browser lists the recording with its sidecar's frames and drops", f"{row} vs {frames}, {drops}")
        dur = float(row["duration"].split()[0]) if row else -1
        c.check(row and abs(dur - frames / FPS) <= 0.15, "its duration fits its frames at the camera's rate",
                f"{dur} s for {frames} frames at {FPS} fps")
        b.responses()
        b.screenshot(os.path.join(ART, "webui-browser.png"))

        # Play in the page, and seek.
        b.click("tr.file[data-kind=video] .play")
        t = b.try_wait("() => { const v = document.getElementById('video'); return v.currentTime > 0.4 && "
                       "v.currentTime; }", 20)
        c.check(t, "the MP4 plays in the page (currentTime advances)", str(t))
        seeked = b.try_wait("""async () => { const v = document.getElementById('video');
            if (!window.seekAsked) { window.seekAsked = true; v.pause();
              v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; }, { once: true });
              v.currentTime = v.duration - 1; }
            return window.seekedTo !== undefined && {to: window.seekedTo, duration: v.duration}; }""", 20)
        c.check(seeked and abs(seeked["to"] - (seeked["duration"] - 1)) < 0.2, "a seek lands where it was asked",
                str(seeked))
        got = [r for r in b.responses() if r["url"].endswith(os.path.basename(video))]
        ranged = [r for r in got if r["status"] == 206 and r["headers"].get("content-range", "").startswith("bytes ")]
        c.check(ranged, "the browser fetched the video by Range and camrig answered 206",
                str([(r["status"], r["headers"].get("content-range")) for r in got]))
        b.screenshot(os.path.join(ART, "webui-player.png"))
        b.click("#player-close")

        # Range by hand: the bytes asked for, and nothing else.
        url = d.url("/recordings/" + row["path"])
        req = urllib.request.Request(url, headers={"Range": "bytes=100-199"})
        with urllib.request.urlopen(req) as r, open(video, "rb") as f:
            whole = f.read()
            c.check(r.status == 206 and r.read() == whole[100:200] and
                    r.headers["Content-Range"] == f"bytes 100-199/{len(whole)}" and
                    r.headers["Content-Type"] == "video/mp4" and r.headers["ETag"],
                    "GET with Range: bytes=100-199 is a 206 with exactly those bytes, its type and an ETag")
            etag = r.headers["ETag"]
        st, hdrs, _ = d.request("GET", "/recordings/" + row["path"], headers={"If-None-Match": etag})
        c.check(st == 304, "If-None-Match with its ETag is a 304", str(st))
        st, hdrs, _ = d.request("GET", "/recordings/" + row["path"], headers={"Range": f"bytes={len(whole)}-"})
        c.check(st == 416 and hdrs["Content-Range"] == f"bytes */{len(whole)}", "a range past the end is a 416",
                f"{st} {hdrs.get('Content-Range')}")

        # Controls: built from the camera's own list, applied live.
        b.click("#nav-cameras")
        b.click(".tile[data-camera=left] .open")
        b.try_wait("() => !!document.querySelector('.ctl[data-control=brightness] input[type=range]')", 20)
        ok = wait_until(lambda: [camera(d, n)["clients"] for n in ("left", "right", "door")] == [1, 0, 0], 20)
        c.check(ok, "the single view holds one live view; the grid's streams end when it opens",
                str([camera(d, n)["clients"] for n in ("left", "right", "door")]))
        attrs = b.eval("() => { const i = document.querySelector('.ctl[data-control=brightness] input'); "
                       "return [i.min, i.max, i.step]; }")
        c.check(attrs == ["-100", "100", "1"], "the brightness slider has the control's range and step", str(attrs))
        before = mean_luma(d.get("/snapshot.jpg?camera=left")[2])
        b.press(".ctl[data-control=brightness] input", "End")
        ok = wait_until(lambda: camera(d, "left")["controls"].get("brightness") == "100", 15)
        c.check(ok, "the slider at its end sets brightness 100 (as /status shows it)", str(camera(d, "left")["controls"]))
        shown = b.try_wait("() => document.querySelector('.ctl[data-control=brightness] .set').dataset.value === '100'", 10)
        c.check(shown, "the panel shows the value the camera has")
        after = mean_luma(d.get("/snapshot.jpg?camera=left")[2])
        c.check(after > before + 40, "and the picture is brighter", f"mean luma {before:.0f} -> {after:.0f}")
        b.select(".ctl[data-control=pattern] select", "1")
        ok = wait_until(lambda: camera(d, "left")["controls"].get("pattern") == "gray", 15)
        c.check(ok, "the pattern menu sets the item by name", str(camera(d, "left")["controls"]))
        b.click(".ctl[data-control=show_clock] input[type=checkbox]")
        ok = wait_until(lambda: camera(d, "left")["controls"].get("show_clock") == "false", 15)
        c.check(ok, "the clock toggle sets show_clock false", str(camera(d, "left")["controls"]))
        b.try_wait("() => document.querySelector('.ctl[data-control=show_clock] .set').textContent === 'false'", 10)
        b.screenshot(os.path.join(ART, "webui-single.png"))
        b.press(".ctl[data-control=brightness] input", "Home")
        ok = wait_until(lambda: camera(d, "left")["controls"].get("brightness") == "-100", 15)
        c.check(ok, "Home sets the slider's minimum, -100", str(camera(d, "left")["controls"]))

        for name, value in (("brightness", "0"), ("pattern", "colour_bars"), ("show_clock", "true")):
            d.post_json("/api/command", f"set_control {name} {value} camera=left".encode())

        # A snapshot opens in the page.
        b.click(".tile[data-camera=left] .snap-btn")
        w = b.try_wait("() => { const i = document.getElementById('photo-img'); return document.getElementById('photo')"
                       ".open && i.complete && i.naturalWidth; }", 20)
        c.check(w == 320, "a snapshot opens in the page (the saved JPEG, 320 wide)", str(w))
        b.screenshot(os.path.join(ART, "webui-snapshot.png"))
        b.click("#photo-close")

        # A timelapse from the tile: start (shots on demand), two shots, stop; its video is in the browser.
        b.goto(d.url("/"))
        b.try_wait("() => document.querySelectorAll('.tile').length === 3", 20)
        b.eval("() => { document.querySelector('.tile[data-camera=right] .interval').value = '0'; return true; }")
        b.click(".tile[data-camera=right] .tl-start")
        ok = wait_until(lambda: camera(d, "right")["timelapse"]["state"] == "running", 20)
        c.check(ok, "Start begins a timelapse session", str(camera(d, "right")["timelapse"]))
        for n in (1, 2):
            b.try_wait("() => !document.querySelector('.tile[data-camera=right] .tl-shot').disabled", 10)
            b.click(".tile[data-camera=right] .tl-shot")
            wait_until(lambda: camera(d, "right")["timelapse"]["shots"] >= n, 20)
        c.check(camera(d, "right")["timelapse"]["shots"] == 2, "two clicks on Shot take two stills",
                str(camera(d, "right")["timelapse"]))
        c.check(b.try_wait("() => /running · 2 shots/.test(document.querySelector('.tile[data-camera=right] .tl')"
                           ".textContent)", 10), "the tile shows the session's state and count")
        b.click(".tile[data-camera=right] .tl-stop")
        ok = wait_until(lambda: camera(d, "right")["timelapse"]["last_video_frames"] == 2 and
                        not camera(d, "right")["timelapse"]["assembling"], 60)
        c.check(ok, "Stop makes the video", str(camera(d, "right")["timelapse"]))
        b.click("#nav-recordings")
        c.check(b.try_wait("() => !!document.querySelector('tr.file[data-kind=timelapse] .play')", 20),
                "the timelapse video is in the browser, playable",
                b.eval("() => location.hash + ' ' + document.getElementById('files').innerText"))
        b.screenshot(os.path.join(ART, "webui-browser-all.png"), full=True)

        # Another site's page in the same browser: nothing starts, nothing goes.
        recordings = camera(d, "left")["recording"]["recordings"]
        EvilPage.target = d.base
        EvilPage.victim = row["path"]
        evil_port = free_port()
        evil = http.server.HTTPServer(("127.0.0.1", evil_port), EvilPage)
        threading.Thread(target=evil.serve_forever, daemon=True).start()
        b.goto(f"http://localhost:{evil_port}/")
        results = b.try_wait("() => window.done && window.results", 20)
        b.eval("() => { document.getElementById('f').submit(); return true; }")
        time.sleep(0.5)
        b.goto(f"http://localhost:{evil_port}/")  # the form's navigation has ended; one more page load
        log(f"the foreign page's requests: {results}")
        c.check(results and len(results) == 5, "the foreign page ran its requests", str(results))
        c.check(camera(d, "left")["recording"]["recordings"] == recordings and
                camera(d, "left")["recording"]["state"] == "idle",
                "a page of another site cannot start a recording (fetch, no-cors, a form)", str(results))
        c.check(os.path.exists(video), "nor delete a file")
        evil.shutdown()

        # Delete from the browser, after the confirmation.
        b.goto(d.url("/#recordings"))
        b.try_wait(f"() => !!document.querySelector('tr.file[data-path=\"{row['path']}\"]')", 20)
        b.click(f"tr.file[data-path=\"{row['path']}\"] .delete")
        gone = b.try_wait(f"() => !document.querySelector('tr.file[data-path=\"{row['path']}\"]')", 20)
        c.check(gone and not os.path.exists(video) and not os.path.exists(side),
                "delete (confirmed) removes the file and its sidecar, and the row", f"{os.path.exists(video)}")

        # A file being written is not deleted; ways out of the roots are 404s.
        st, r = d.post_json("/api/record/start?camera=right")
        wait_until(lambda: camera(d, "right")["recording"]["frames"]["written"] > 0, 20)
        busy = camera(d, "right")["recording"]["file"]
        st, _, body = d.request("DELETE", "/api/recordings/" + busy)
        c.check(st == 409 and b"being written" in body, "a recording being written cannot be deleted (409)",
                f"{st} {body[:120]!r}")
        d.post_json("/api/record/stop?camera=right")
        secret = os.path.join(d.tmp, "secret.txt")
        with open(secret, "w") as f:
            f.write("not for you")
        os.symlink(secret, os.path.join(d.tmp, "recordings", "link.jpg"))
        os.symlink(d.tmp, os.path.join(d.tmp, "recordings", "up"))
        with open(os.path.join(d.tmp, "recordings", "notes.txt"), "w") as f:
            f.write("not a kind camrig writes")
        for path in ("/recordings/recordings/../secret.txt", "/recordings/recordings/%2e%2e/secret.txt",
                     "/recordings/recordings%2f..%2fsecret.txt", "/recordings/recordings/link.jpg",
                     "/recordings/recordings/up/secret.txt", "/recordings/recordings/.%2e/secret.txt",
                     "/recordings/..%2fsecret.txt", "/recordings/recordings//secret.txt",
                     "/recordings/recordings/notes.txt"):
            out = subprocess.run(["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", d.url(path)],
                                 capture_output=True, text=True).stdout
            c.check(out == "404", f"GET {path} is a 404", out)
        for path in ("/api/recordings/recordings/../secret.txt", "/api/recordings/recordings/link.jpg",
                     "/api/recordings/recordings/up/secret.txt", "/api/recordings/recordings/notes.txt"):
            out = subprocess.run(["curl", "-s", "--path-as-is", "-X", "DELETE", "-H", "X-Camrig: 1", "-o", "/dev/null",
                                  "-w", "%{http_code}", d.url(path)], capture_output=True, text=True).stdout
            c.check(out == "404", f"DELETE {path} is a 404", out)
        c.check(os.path.exists(secret) and os.path.exists(os.path.join(d.tmp, "recordings", "notes.txt")),
                "the file outside the roots, and the one of another kind inside, are still there")
        st, _, body = d.get("/api/recordings?day=yesterday")
        c.check(st == 400 and b"day" in body and b"YYYY-MM-DD" in body, "a bad day filter is a 400 that says what is "
                "expected", f"{st} {body!r}")

        # The url camera's server goes away, and comes back.
        b.goto(d.url("/"))
        b.try_wait("() => document.querySelectorAll('.tile').length === 3", 20)
        images_change(b, ["door"])
        server.terminate()
        server.wait()
        cam = d.wait_camera(lambda cam: cam["state"] == "lost", 20, step=0.05, camera=2)
        c.check(cam["state"] == "lost", "camrig notices the url camera lost", cam["state"])
        shown = b.try_wait("() => document.querySelector('.tile[data-camera=door]').classList.contains('down') && "
                           "document.querySelector('.tile[data-camera=door] .lost').textContent", 2)
        c.check(shown and "lost" in shown, "the page shows the camera lost within 2 s", str(shown))
        b.screenshot(os.path.join(ART, "webui-lost.png"), full=True)
        server = serve_mjpeg(door_url)
        cam = d.wait_camera(lambda cam: cam["state"] == "running" and cam["reconnects"] >= 1, 30, camera=2)
        c.check(cam["state"] == "running", "the camera comes back", cam["state"])
        back = b.try_wait("() => !document.querySelector('.tile[data-camera=door]').classList.contains('down')", 10)
        c.check(back and images_change(b, ["door"]), "its tile is live again")

        # A phone.
        b.viewport(390, 844, mobile=True, scale=2)
        b.goto(d.url("/"))
        b.try_wait("() => document.querySelectorAll('.tile').length === 3", 20)
        images_change(b, ["left", "right", "door"])
        width = b.eval("() => [document.documentElement.scrollWidth, window.innerWidth]")
        c.check(width[0] <= width[1], "on a phone nothing is wider than the screen", str(width))
        b.screenshot(os.path.join(ART, "webui-phone.png"))
        errors = [m for m in b.console() if m.startswith(("pageerror", "error: Refused"))]
        c.check(not errors, "no script errors and nothing refused by the page's CSP", str(errors))
finally:
    server.terminate()
    server.wait()

# Behind HTTP Basic.
tmp = tempfile.mkdtemp(prefix="camrig-webui-")
hash_ = subprocess.run(["openssl", "passwd", "-6", "secret"], capture_output=True, text=True, check=True).stdout.strip()
pw = os.path.join(tmp, "passwords")
with open(pw, "w") as f:
    f.write(f"alice:{hash_}\n")
os.chmod(pw, 0o600)
port = free_port()
config = f"""
http: {{listen: "127.0.0.1:{port}", password_file: {pw}}}
cameras:
  - name: cam
    source: test
    size: 320x240
    fps: {FPS}
    recording: {{format: mp4, codec: h264, preset: ultrafast}}
"""
AUTH = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}
with Daemon(config=config, port=port, listen=False) as d, Browser() as b:
    st, _, _ = d.request("GET", "/status", headers={})
    c.check(st == 401, "this camrig asks for credentials", str(st))
    b.call("auth", user="alice", password="secret")
    b.goto(d.url("/"))
    c.check(b.try_wait("() => document.querySelector('.tile .fps') && "
                       "document.querySelector('.tile .fps').textContent !== '–'", 20),
            "behind HTTP Basic the page gets its live numbers")
    c.check(images_change(b, ["cam"]), "and its live image")
    b.click(".tile .rec-btn")

    def rec():
        st, _, body = d.request("GET", "/api/record", headers=AUTH)
        return json.loads(body)["cameras"][0] if st == 200 else {}
    c.check(wait_until(lambda: rec().get("frames", {}).get("written", 0) > FPS, 20),
            "and Record works (POST with the browser's credentials)", str(rec()))
    b.click(".tile .stop-btn")
    wait_until(lambda: rec().get("state") == "idle", 20)
    b.click("#nav-recordings")
    c.check(b.try_wait("() => document.querySelectorAll('tr.file[data-kind=video]').length === 1", 20),
            "and the recordings browser lists it")
c.done()
