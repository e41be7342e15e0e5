#!/usr/bin/env python3
"""How fast /status and POST /api/command answer while camrig's HTTP server
is under siege: 500 slowloris connections (each sends a partial request and
then a byte a second, and is opened again when the daemon closes it) and 200
MJPEG stream clients that read everything, all from loopback, against the
default limits. Prints p50/p99/max latency of both requests idle and under
that load, and the daemon's RSS and threads. A benchmark: it prints numbers
and never fails on them.

    bench/http_slowloris.py [--camrig build/camrig] [--slowloris 500] [--streams 200]
                            [--requests 300] [--size 320x240] [--fps 15]

The load runs in two processes of its own, so the measuring process does
not wait on them for Python's interpreter lock. Each request is a new
connection (camrig answers every request with Connection: close), timed from
connect() to the end of the reply."""
import argparse
import json
import multiprocessing
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, raw):
    """Sends raw on a new connection, reads to the end; returns (status, ms, body)."""
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    ms = (time.perf_counter() - t0) * 1000
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, ms, body


def status_req(port):
    return f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def command_req(port):
    return (f"POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Camrig: 1\r\nContent-Length: 9\r\n\r\n"
            "get_stats").encode()


def slowloris(port, n, stop, reopened):
    """Keeps n slowloris connections open, reopening each the daemon closes."""
    sel = selectors.DefaultSelector()
    prefix = f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()

    def open_one():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(prefix)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            return s
        except OSError:
            return None

    socks = {s for s in (open_one() for _ in range(n)) if s}
    last = time.monotonic()
    while not stop.is_set():
        for key, _ in sel.select(0.2):
            s = key.fileobj
            sel.unregister(s)
            socks.discard(s)
            s.close()
        if time.monotonic() - last >= 1:
            last = time.monotonic()
            for s in list(socks):
                try:
                    s.send(b"a")
                except OSError:
                    sel.unregister(s)
                    socks.discard(s)
                    s.close()
        while len(socks) < n and not stop.is_set():
            s = open_one()
            if not s:
                break
            socks.add(s)
            with reopened.get_lock():
                reopened.value += 1
    for s in socks:
        s.close()


def streams(port, n, stop, opened, received, alive):
    """Opens n MJPEG streams and reads them until stop."""
    sel = selectors.DefaultSelector()
    buf = bytearray(256 * 1024)
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            head = s.recv(4096)
        except OSError:
            continue
        if not head.startswith(b"HTTP/1.1 200"):
            s.close()
            continue
        with opened.get_lock():
            opened.value += 1
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    alive.value = len(sel.get_map())
    total = 0
    while not stop.is_set():
        for key, _ in sel.select(0.2):
            try:
                got = key.fileobj.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                got = 0
            if not got:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                continue
            total += got
        received.value = total
        alive.value = len(sel.get_map())


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    return out


def measure(port, n):
    """n rounds of GET /status and POST /api/command, 20 rounds a second."""
    lat = {"/status": [], "/api/command": []}
    errors = {"/status": 0, "/api/command": 0}
    for _ in range(n):
        for name, raw in (("/status", status_req(port)), ("/api/command", command_req(port))):
            try:
                st, ms, _ = request(port, raw)
            except OSError:
                st, ms = 0, None
            if st == 200:
                lat[name].append(ms)
            else:
                errors[name] += 1
        time.sleep(0.05)
    return lat, errors


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def row(label, name, values, errors):
    print(f"{label:7} {name:13} {pct(values, 50):8.2f} {pct(values, 99):8.2f} {max(values, default=float('nan')):8.2f}"
          f" {len(values):6} {errors:6}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--camrig", default=os.environ.get("CAMRIG", os.path.join(HERE, "..", "build", "camrig")))
    ap.add_argument("--slowloris", type=int, default=500)
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--requests", type=int, default=300, help="rounds of the two requests per phase")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", default="15")
    args = ap.parse_args()

    port = free_port()
    tmp = tempfile.mkdtemp(prefix="camrig-bench-")
    log = open(os.path.join(tmp, "camrig.log"), "w")
    daemon = subprocess.Popen([args.camrig, "run", "--source", "test", "--size", args.size, "--fps", args.fps,
                               "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                              cwd=tmp)
    stop = multiprocessing.Event()
    procs = []
    try:
        for _ in range(100):
            try:
                if request(port, status_req(port))[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        time.sleep(1)
        idle = proc_status(daemon.pid)
        idle_lat, idle_err = measure(port, args.requests)

        reopened = multiprocessing.Value("l", 0)
        opened = multiprocessing.Value("l", 0)
        received = multiprocessing.Value("q", 0)
        alive = multiprocessing.Value("l", 0)
        procs = [multiprocessing.Process(target=slowloris, args=(port, args.slowloris, stop, reopened)),
                 multiprocessing.Process(target=streams, args=(port, args.streams, stop, opened, received, alive))]
        for p in procs:
            p.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st, _, body = request(port, status_req(port))
            h = json.loads(body)["http"] if st == 200 else {}
            if h.get("live_views", 0) >= args.streams and h.get("pending", 0) >= args.slowloris * 0.9:
                break
            time.sleep(0.5)
        before = received.value
        t0 = time.monotonic()
        reopened0 = reopened.value
        loaded_lat, loaded_err = measure(port, args.requests)
        seconds = time.monotonic() - t0
        loaded = proc_status(daemon.pid)
        st, _, body = request(port, status_req(port))
        http = json.loads(body)["http"] if st == 200 else {}
        rate = (received.value - before) / seconds / 1e6

        print(f"camrig {args.size} at {args.fps} fps, test source; load from loopback: {args.slowloris} slowloris "
              f"connections, {args.streams} MJPEG stream clients; {args.requests} rounds per phase")
        print(f"{'':7} {'request':13} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>6} {'errors':>6}")
        for name in ("/status", "/api/command"):
            row("idle", name, idle_lat[name], idle_err[name])
        for name in ("/status", "/api/command"):
            row("loaded", name, loaded_lat[name], loaded_err[name])
        print(f"daemon idle:   RSS {idle.get('VmRSS', 0) / 1024:.1f} MiB, {idle.get('Threads')} threads")
        print(f"daemon loaded: RSS {loaded.get('VmRSS', 0) / 1024:.1f} MiB, {loaded.get('Threads')} threads")
        print(f"stream clients: {opened.value} got 200, {alive.value} open at the end, {rate:.1f} MB/s read in all")
        print(f"slowloris: {reopened.value - reopened0} reopened during the loaded phase ({seconds:.0f} s) after "
              f"the daemon closed them (http.header_timeout)")
        print(f"/status http: {json.dumps(http)}")
    finally:
        stop.set()
        for p in procs:
            p.join(30)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
