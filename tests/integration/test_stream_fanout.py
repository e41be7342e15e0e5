#!/usr/bin/env python3
"""Many MJPEG viewers at once, against the real daemon on loopback: 50
clients of one variant and 10 rate-limited clients of another, all served by
the stream writer (http/writer.c), each get fresh images in order (judged by
the parts' frame indices and capture times, the daemon's own clocks); one
encode per frame serves all 50 (/status jpeg.encoded against
frames.captured), and one copy of each part, the same bytes for every client
(/status http.shared); clients that go are noticed (/status live_views and
clients); a HEAD is answered with the head alone; camrig stops cleanly with
streams open. When the picture stops, every client gets placeholders, made
at most once a second for all of them (their X-Timestamps, when the daemon
made them). Over HTTPS (each stream in its connection's thread) a few
rate-limited streams get fresh images as well.

Asserts orders and counts, never latencies: CI runs this on two busy cores."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.request

from camrig_test import Checks, Daemon, MjpegReader, exchange, free_port, log, wait_until

MANY = 50
SLOW_CLIENTS = 10
PARTS = 5
c = Checks()


def index(part):
    return int(part[0]["x-frame-index"])


def capture_ns(part):
    return int(part[0]["x-capture-monotonic-ns"])


def parts_of(reader, n):
    """n parts of reader, or fewer if it ends."""
    got = []
    while len(got) < n:
        part = reader.next_part(timeout=20)
        if part is None:
            break
        got.append(part)
    return got


def counts(d):
    st = d.status()
    return st["http"]["live_views"], st["cameras"][0]["clients"]


def increasing(values):
    return all(a < b for a, b in zip(values, values[1:]))


with Daemon("--source", "test", "--size", "320x240", "--fps", "10", "-o", "http.max_stream_clients=100") as d:
    probe = MjpegReader(d.port)
    seen = index(probe.next_part(timeout=20))
    readers = [MjpegReader(d.port) for _ in range(MANY)]
    slow = [MjpegReader(d.port, "/stream.mjpg?fps=2&width=160&height=120") for _ in range(SLOW_CLIENTS)]
    everyone = 1 + MANY + SLOW_CLIENTS
    c.check(wait_until(lambda: counts(d) == (everyone, everyone), 20), f"/status counts {everyone} live views",
            str(counts(d)))
    cam0 = d.status()["cameras"][0]

    got = [parts_of(r, PARTS) for r in readers]
    cam1 = d.status()["cameras"][0]
    c.check(all(len(g) == PARTS for g in got), f"each of {MANY} clients got {PARTS} parts",
            str(sorted(len(g) for g in got)[:5]))
    stale = [index(g[0]) for g in got if g and index(g[0]) <= seen]
    c.check(not stale, "every client's first image is of a frame published after it asked",
            f"first indices {stale} <= {seen}")
    bad = [[index(p) for p in g] for g in got if not increasing([index(p) for p in g])]
    c.check(not bad, "each client's frame indices only increase", str(bad[:3]))
    bad = [g for g in got if not increasing([capture_ns(p) for p in g])]
    c.check(not bad, "each client's capture times only increase")
    c.check(all(p[1][:2] == b"\xff\xd8" and p[1][-2:] == b"\xff\xd9" for g in got for p in g),
            "every part is one whole JPEG (SOI ... EOI)")
    # One copy per image serves every client: the parts of one frame are
    # the same bytes for all (the writer sends them from one memfd).
    by_index = {}
    for g in got:
        for head, body in g:
            by_index.setdefault(index((head, body)), set()).add(
                (body, tuple(sorted((k, v) for k, v in head.items()))))
    differ = [i for i, v in by_index.items() if len(v) != 1]
    c.check(len(by_index) >= PARTS and not differ, "the clients' parts of one frame are byte-identical",
            f"frames with differing parts: {differ[:5]}")
    shared = d.status()["http"]["shared"]
    received = sum(len(g) for g in got)
    # Counted once sendfile() returns: a preempted writer may owe one.
    c.check(shared["sends"] >= received - 1, "every part went out from a shared copy (/status http.shared.sends)",
            f"{shared['sends']} sends, {received} parts received")
    c.check(0 < shared["parts"] and shared["parts"] * 5 <= shared["sends"],
            "a shared copy serves many clients (http.shared.parts <= sends / 5)", str(shared))
    encoded = cam1["jpeg"]["encoded"] - cam0["jpeg"]["encoded"]
    captured = cam1["frames"]["captured"] - cam0["frames"]["captured"]
    # Frames in flight at the window's edges add at most one per worker.
    c.check(encoded <= captured + cam1["jpeg"]["workers"],
            f"one encode per frame serves all {MANY} clients", f"{encoded} encoded, {captured} captured")

    got = [parts_of(r, 3) for r in slow]
    c.check(all(len(g) == 3 for g in got), f"each of {SLOW_CLIENTS} ?fps=2 clients got 3 parts")
    gaps = [b - a for g in got for a, b in zip([capture_ns(p) for p in g], [capture_ns(p) for p in g][1:])]
    c.check(gaps and min(gaps) >= 500_000_000, "?fps=2: images at least 0.5 s apart by capture time",
            f"smallest gap {min(gaps) if gaps else None} ns")
    bad = [g for g in got if not increasing([index(p) for p in g])]
    c.check(not bad, "?fps=2: frame indices only increase")

    # Clients that go are noticed: the writer sees them close.
    for r in readers[: MANY // 2]:
        r.close()
    left = everyone - MANY // 2
    c.check(wait_until(lambda: counts(d) == (left, left), 20), f"{MANY // 2} closed: {left} live views left",
            str(counts(d)))
    # Those left still get fresh images.
    pairs = [parts_of(r, 2) for r in readers[MANY // 2:]]
    c.check(all(len(p) == 2 and index(p[0]) < index(p[1]) for p in pairs), "the clients left still get newer images")

    # A client that shuts down its sending side after the request still
    # gets its stream (only a reset or a failed send ends one).
    with socket.create_connection(("127.0.0.1", d.port), timeout=20) as s:
        s.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n\r\n".encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while data.count(b"X-Frame-Index:") < 2:
            more = s.recv(65536)
            if not more:
                break
            data += more
    c.check(data.count(b"X-Frame-Index:") >= 2, "a client that half-closes after its request gets its stream")

    # HEAD: the response head alone, then the connection closes.
    reply = exchange(d.port, f"HEAD /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    c.check(head.startswith(b"HTTP/1.1 200") and b"multipart/x-mixed-replace" in head and body == b"",
            "HEAD /stream.mjpg: 200, the stream's headers, no body", repr(reply[:200]))

    for r in readers[MANY // 2:] + slow:
        r.close()
    c.check(wait_until(lambda: counts(d) == (1, 1), 20), "all closed but the probe: 1 live view",
            str(counts(d)))
    # The probe and a few more stay open while camrig stops: Daemon checks
    # that it exits 0, and each stream ends.
    open_ones = [probe] + [MjpegReader(d.port) for _ in range(4)]
    c.check(wait_until(lambda: counts(d) == (5, 5), 20), "5 live views open at the stop", str(counts(d)))
    c.check(d.stop() == 0, "camrig exits 0 with streams open")
    ended = 0
    for r in open_ones:
        while r.next_part(timeout=20) is not None:
            pass
        ended += 1
    c.check(ended == 5, "at the stop every open stream ends")

# The picture stops: a file that ends.
if shutil.which("ffmpeg"):
    tmp = tempfile.mkdtemp(prefix="camrig-fanout-")
    clip = os.path.join(tmp, "clip.mkv")
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "mjpeg", clip], check=True)
    with Daemon("--source", f"file:{clip}", "-o", "camera.loop=false") as d:
        readers = [MjpegReader(d.port) for _ in range(20)]
        firsts = []
        for r in readers:
            part = r.next_part(timeout=20)
            while part is not None and "x-placeholder" not in part[0]:
                part = r.next_part(timeout=20)
            firsts.append(part)
        c.check(all(p and "input ended" in p[0]["x-placeholder"] for p in firsts),
                "file ended: each of 20 clients gets a placeholder saying so")
        stamps = sorted({float(p[0]["x-timestamp"]) for p in firsts if p})
        c.check(all(b - a >= 0.9 for a, b in zip(stamps, stamps[1:])),
                "their placeholders were made at most once a second for all of them", str(stamps))
        for r in readers:
            r.close()
    shutil.rmtree(tmp, ignore_errors=True)
else:
    log("SKIP the part where the picture stops: ffmpeg is not installed")

# HTTPS: the streams stay callback responses in connection threads.
if not shutil.which("openssl"):
    log("SKIP the HTTPS part: openssl is not installed")
    c.done()
tmp = tempfile.mkdtemp(prefix="camrig-fanout-")
key, cert = os.path.join(tmp, "tls.key"), os.path.join(tmp, "tls.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=camrig",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], capture_output=True, check=True)
os.chmod(key, 0o600)
context = ssl.create_default_context(cafile=cert)
port = free_port()
config = f"http: {{listen: 127.0.0.1:{port}, tls_cert: {cert}, tls_key: {key}}}\n"


def live_views():
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/status", context=context, timeout=20) as r:
        return json.load(r)["http"]["live_views"]


with Daemon("--source", "test", "--size", "320x240", "--fps", "10", config=config, port=port, listen=False) as d:
    tls = [MjpegReader(port, "/stream.mjpg?fps=5", timeout=20, context=context) for _ in range(3)]
    c.check(wait_until(lambda: live_views() == 3, 20), "HTTPS: 3 live views", str(live_views()))
    got = [parts_of(r, 4) for r in tls]
    c.check(all(len(g) == 4 and increasing([index(p) for p in g]) for g in got),
            "HTTPS: each stream's frame indices only increase")
    gaps = [b - a for g in got for a, b in zip([capture_ns(p) for p in g], [capture_ns(p) for p in g][1:])]
    c.check(gaps and min(gaps) >= 200_000_000, "HTTPS ?fps=5: images at least 0.2 s apart by capture time",
            f"smallest gap {min(gaps) if gaps else None} ns")
    tls[0].close()
    c.check(wait_until(lambda: live_views() == 2, 20), "HTTPS: a client that closes is noticed", str(live_views()))
shutil.rmtree(tmp, ignore_errors=True)
log("done")
c.done()
