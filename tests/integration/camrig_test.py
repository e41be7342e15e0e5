"""Helpers for camrig's integration tests: start the real daemon on loopback,
talk to it as clients do (urllib, curl, ffmpeg, ffprobe), and report results.

Every test script is a plain Python 3 program (stdlib only) that exits 0 on
success, 1 on failure and 77 when it must skip (meson's convention). The
binary under test comes from $CAMRIG, run through $CAMRIG_WRAPPER if set (a
cross build's qemu-user: tests/meson.build)."""
import ctypes
import json
import os
import shutil
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CAMRIG = os.path.abspath(os.environ.get("CAMRIG", os.path.join(os.path.dirname(__file__), "../../build/camrig")))
# How much slower than a host this machine may be: the QEMU guest of
# tests/vm (code 10-20x slower, and slower again on a busy host) sets it.
# It stretches how long the helpers wait for the daemon to start and stop,
# never what a check accepts.
# What runs a binary of another architecture here (a cross build's
# exe_wrapper, e.g. qemu-aarch64).
WRAPPER = shlex.split(os.environ.get("CAMRIG_WRAPPER", ""))
SLOW = float(os.environ.get("CAMRIG_TEST_SLOW", "1"))
SKIP = 77


def log(*args):
    print(*args, flush=True)


def skip(reason):
    log("SKIP:", reason)
    sys.exit(SKIP)


def camrig_cmd(*args):
    """The command line that runs camrig with args (through WRAPPER if set)."""
    return [*WRAPPER, CAMRIG, *args]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, data, host="127.0.0.1", timeout=20, source=None, half_close=False, cut_ok=False):
    """Sends data on a new connection (from address source if given; then
    shuts down the sending side if half_close) and returns every byte the
    daemon sent until it closed the connection. A reset or timeout raises,
    unless cut_ok: then what came before it is returned."""
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return reply
                reply += chunk
        except (ConnectionResetError, socket.timeout):
            if not cut_ok:
                raise
            return reply


def wait_until(cond, timeout, step=0.1):
    """Calls cond every step seconds until it returns something true (which
    is returned) or timeout seconds pass (then cond's last answer)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def need(*programs):
    for p in programs:
        if not shutil.which(p):
            skip(f"{p} is not installed")


def _die_with_parent():
    """In the child: SIGTERM when the test dies (a timeout's SIGKILL), so no
    daemon outlives its test and loads the machine for the next."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Daemon:
    """A `camrig run` process on a free loopback port; a context manager that
    stops it with SIGTERM and checks that it exited 0. With listen=False the
    listen address comes from the config (port must match it) and readiness is
    a TCP connect, for servers that want credentials or speak HTTPS."""

    def __init__(self, *args, config=None, port=None, env=None, cwd=None, check_exit=True, listen=True,
                 start_timeout=20):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tmp = tempfile.mkdtemp(prefix="camrig-test-")
        self.listen = listen
        self.args = camrig_cmd("run") + (["--listen", f"127.0.0.1:{self.port}"] if listen else [])
        if config is not None:
            path = os.path.join(self.tmp, "camrig.yaml")
            with open(path, "w") as f:
                f.write(config)
            self.args += ["--config", path]
        self.args += list(args)
        self.env = dict(os.environ, **(env or {}))
        self.cwd = cwd or self.tmp
        self.check_exit = check_exit
        self.start_timeout = start_timeout
        self.proc = None
        self.stderr_path = os.path.join(self.tmp, "stderr.log")

    def __enter__(self):
        log("starting:", " ".join(self.args))
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, env=self.env, cwd=self.cwd, preexec_fn=_die_with_parent)
        t0 = time.monotonic()
        start_timeout = self.start_timeout * SLOW
        deadline = t0 + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"camrig exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.listen:
                    self.status()
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if self.start_timeout > 20:
                    log(f"camrig answered after {time.monotonic() - t0:.1f} s")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError(f"camrig did not answer /status within {start_timeout:g} s:\n{self.log()}")

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None and self.check_exit and rc != 0:
            raise AssertionError(f"camrig exited with {rc} after SIGTERM:\n{self.log()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        timeout *= SLOW
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"camrig did not stop within {timeout} s of {sig!r}:\n{self.log()}")
        self.stderr.close()
        return self.proc.returncode

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def url(self, path):
        return self.base + path

    def get(self, path, timeout=10):
        """Returns (status, headers, body) for a GET; 4xx/5xx do not raise."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def request(self, method, path, body=None, headers=None, timeout=10):
        """Returns (status, headers, body); a POST carries X-Camrig: 1, as
        every program that is not a web page may (README, Security)."""
        if headers is None:
            headers = {"X-Camrig": "1"} if method not in ("GET", "HEAD") else {}
        req = urllib.request.Request(self.url(path), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def status(self):
        # SLOW: in the emulated guest a request can wait seconds, e.g. while
        # camrig maps FFmpeg's libraries for its first recording (a dlopen
        # holds back the creation of the request's thread).
        with urllib.request.urlopen(self.url("/status"), timeout=5 * SLOW) as r:
            return json.loads(r.read())

    def post_json(self, path, body=None):
        """POSTs body; returns (status, the JSON reply, or {"raw": text})."""
        st, _, data = self.request("POST", path, body=body)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, {"raw": data.decode(errors="replace")}

    def wait_camera(self, cond, seconds, step=0.2, camera=0):
        """Polls /status until cond(camera object) holds or seconds pass;
        returns the last camera object."""
        deadline = time.monotonic() + seconds
        while True:
            cam = self.status()["cameras"][camera]
            if cond(cam) or time.monotonic() > deadline:
                return cam
            time.sleep(step)


def ffprobe_image(data):
    """Returns (codec, width, height, pix_fmt) of an image given as bytes."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                              "stream=codec_name,width,height,pix_fmt", "-of", "json", f.name],
                             capture_output=True, text=True, check=True).stdout
    s = json.loads(out)["streams"][0]
    return s["codec_name"], s["width"], s["height"], s["pix_fmt"]


def ffmpeg_count_frames(url, frames, timeout=60, extra=()):
    """Decodes up to `frames` frames from url with ffmpeg; returns how many it
    decoded (from -progress output) and ffmpeg's stderr."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *extra, "-i", url,
           "-frames:v", str(frames), "-f", "null", "-progress", "pipe:1", "-"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return _last_frame_count(out), "timeout\n" + err
    return _last_frame_count(p.stdout), p.stderr


def _last_frame_count(progress):
    n = 0
    for line in progress.splitlines():
        if line.startswith("frame="):
            n = int(line.split("=", 1)[1])
    return n


class Checks:
    """Collects named checks; prints each and exits 1 at the end if any failed."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            log(f"ok   {what}")
        else:
            self.failed += 1
            log(f"FAIL {what}" + (f": {detail}" if detail else ""))
        return cond

    def done(self):
        log(f"{self.passed} checks passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


class MjpegReader:
    """Reads /stream.mjpg part by part over a plain (or TLS) socket: next_part()
    returns (headers as a dict with lowercase names, body bytes), or None
    when the stream ends or nothing comes within timeout seconds."""

    def __init__(self, port, path="/stream.mjpg", timeout=10, context=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if context:  # an ssl.SSLContext: HTTPS
            self.sock = context.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        if head is None or not head.startswith(b"HTTP/1.1 200"):
            raise AssertionError(f"{path}: {head!r}")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _until(self, marker):
        try:
            while marker not in self.buf:
                self._fill()
        except (OSError, EOFError):
            return None
        head, self.buf = self.buf.split(marker, 1)
        return head

    def next_part(self, timeout=10):
        self.sock.settimeout(timeout)
        head = self._until(b"\r\n\r\n")
        if head is None:
            return None
        headers = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                k, v = line.split(b":", 1)
                headers[k.strip().lower().decode()] = v.strip().decode(errors="replace")
        n = int(headers.get("content-length", "0"))
        try:
            while len(self.buf) < n + 2:
                self._fill()
        except (OSError, EOFError):
            return None
        body, self.buf = self.buf[:n], self.buf[n + 2:]
        return headers, body

    def close(self):
        self.sock.close()


class Events(threading.Thread):
    """Collects the daemon's Server-Sent Events as (type, data)."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", d.port), timeout=30 * SLOW)
        self.sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n\r\n".encode())
        self.events = []
        self.start()

    def run(self):
        f = self.sock.makefile("rb")
        typ = None
        try:
            for line in f:
                line = line.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    typ = line[7:]
                elif line.startswith("data: ") and typ:
                    self.events.append((typ, json.loads(line[6:])))
                    typ = None
        except (OSError, ValueError):
            pass

    def of(self, typ):
        return [e for t, e in self.events if t == typ]

    def types(self, *prefixes):
        """The types seen, in order; only those starting with a prefix, if any."""
        return [t for t, _ in self.events if not prefixes or t.startswith(prefixes)]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
