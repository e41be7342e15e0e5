#!/usr/bin/env python3
"""One request must never kill camrig (issue 17, item 1): bytes that are not
UTF-8 in a command line, a query parameter, a camera name or a file name
reach JSON escaped as \\xHH, and the daemon goes on serving. Before the fix
each of the first three requests below crashed camrig with a NULL from
jansson."""
import http.client
import json
import os
import shutil
import subprocess
import tempfile

from camrig_test import Checks, Daemon, need

need("ffmpeg")
c = Checks()


def raw(d, method, path, body=None, headers=None):
    """A request with a byte path and body, as curl --data-binary sends it."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.putheader("X-Camrig", "1")
    conn.putheader("Content-Length", str(len(body or b"")))
    conn.endheaders(body or b"")
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type") or "", data


def alive(d, what):
    st, _, body = raw(d, "GET", "/status")
    c.check(d.proc.poll() is None and st == 200, f"{what}: camrig still serves /status", f"{st} {body[:100]!r}")
    return json.loads(body) if st == 200 else {}


with Daemon("--source", "test") as d:
    st, ctype, body = raw(d, "POST", "/api/command", b"foo\xff", {"Content-Type": "text/plain"})
    reply = json.loads(body) if "json" in ctype else {}
    c.check(st == 400 and reply.get("error", "").startswith('unknown command "foo\\xff"'),
            "POST /api/command 'foo\\xff' -> 400 naming the escaped input", f"{st} {body[:200]!r}")
    alive(d, "after a non-UTF-8 command line")

    st, ctype, body = raw(d, "POST", "/api/record/start?duration=%ff")
    reply = json.loads(body) if "json" in ctype else {}
    c.check(st == 400 and '"\\xff"' in reply.get("error", ""), "POST /api/record/start?duration=%ff -> 400",
            f"{st} {body[:200]!r}")
    alive(d, "after a non-UTF-8 query parameter")

    st, _, body = raw(d, "POST", "/api/command", b"set_control exposure 10")
    c.check(st == 404 and b"no such control" in body and b"brightness, pattern, show_clock" in body,
            "set_control of a control the test pattern lacks names the ones it has", f"{st} {body!r}")
    st, _, body = raw(d, "POST", "/api/command", b"set_control brightness 101")
    c.check(st == 400 and b"-100..100" in body, "set_control out of range says the range", f"{st} {body!r}")
    st, _, body = raw(d, "POST", "/api/command", b"set_control brightness \xfe\xfe camera=x\xff")
    c.check(st in (400, 404) and b"\\xff" in body, "set_control with non-UTF-8 value and camera -> 4xx", f"{st}")
    st, ctype, body = raw(d, "GET", "/snapshot.jpg?camera=%e9")
    c.check(st == 404 and b"\\xe9" in body and "utf-8" in ctype, "text error echoing a bad camera name stays UTF-8",
            f"{st} {body[:120]!r}")
    alive(d, "after the rest")

    # Wrong answers of issue 17, item 9 (the ASan build catches the leaks at exit).
    for path in ("/api/record?x=1", "/api/timelapse?x=1", "/status?x=1"):
        for _ in range(20):
            st, _, _ = raw(d, "GET", path)
        c.check(st == 400, f"GET {path} -> 400 (and leaks nothing: ASan checks at exit)", str(st))
    for q in ("width=320%00&height=240", "width=+320&height=240", "width=%20320&height=240", "width=0x140&height=240"):
        st, _, body = raw(d, "GET", f"/frame?{q}")
        c.check(st == 400, f"/frame?{q} is refused, not read as 320", f"{st} {body[:100]!r}")
    st, ctype, body = raw(d, "POST", "/api/command", b"start_recording camera=nope")
    reply = json.loads(body) if "json" in ctype else {}
    c.check(st == 404 and reply.get("recording") is not True, "a failed start_recording does not say recording",
            str(reply))
    st, _, body = raw(d, "POST", "/api/command", b"start_recording")
    st, ctype, body = raw(d, "POST", "/api/command", b"start_recording")
    reply = json.loads(body) if "json" in ctype else {}
    c.check(st == 409 and reply.get("recording") is False, "a second start is a 409 with recording false", str(reply))
    raw(d, "POST", "/api/command", b"stop_recording discard")

# A file source whose path is Latin-1: every /status used to crash camrig.
tmpdir = tempfile.mkdtemp(prefix="camrig-bad-input-")
latin1 = os.path.join(tmpdir.encode(), b"vid\xe9o.mp4")
subprocess.run([b"ffmpeg", b"-v", b"error", b"-y", b"-f", b"lavfi", b"-i", b"testsrc=size=160x120:rate=10",
                b"-t", b"2", b"-pix_fmt", b"yuv420p", latin1], check=True)
with Daemon("--source", os.fsdecode(b"file:" + latin1)) as d:
    for i in range(3):
        st_obj = alive(d, f"/status #{i + 1} with a Latin-1 file source")
    cam = st_obj.get("cameras", [{}])[0]
    c.check(cam.get("source", "").endswith("vid\\xe9o.mp4"), "the path is shown with the byte escaped",
            cam.get("source"))
    st, _, body = raw(d, "POST", "/api/command", b"status")
    c.check(st == 200 and b"vid\\\\xe9o.mp4" in body, "the status command answers too", f"{st}")
shutil.rmtree(tmpdir)
c.done()
