#!/usr/bin/env python3
"""Issue 18's side-by-side suite: camrig under pressure beside its peers, in
one run, printed as one table with each target and whether it is met.

    /usr/bin/python3 bench/pressure.py [--camrig build/camrig] [--only guest|host|fanout|lsl]

Environment: BENCH_SECONDS (each measuring window, default 10), BENCH_ROUNDS
(rounds of bench/record_vs_ffmpeg.sh, default 3), LSL_ROUNDS (rounds of the
LSL comparison, default 3), LIBLSL (path of liblsl's shared library, for its
own outlet beside camrig's; liblsl is not packaged by Debian: build it from its
source, github.com/sccn/liblsl, with cmake as its README says, outside
camrig's tree), VM_RUN (path of vm-run, default ../shared/tools/vm-run),
VM_RUN_CPUS (guest CPUs, default 2), BENCH_GUEST_FPS (the guest's streaming
cells, default "25,4"; "" leaves the guest's recording cell alone). The whole suite takes 9-11 minutes at the
defaults; --only lsl about 30 s.

Parts:
- Vivid guest (shared/tools/vm-run: a QEMU guest, code 10-20x slower than the
  host): /dev/video0 at 640x480 YUYV, 25 fps (saturated) and 4 fps; ustreamer,
  camrig with its defaults (pre-trigger off) and camrig with a 15 s h264
  pre-trigger, each in turn on the same device with JPEG quality 80, 4 buffers
  and 2 JPEG workers, 2 MJPEG clients. At 4 fps ustreamer and camrig are also
  read by 1 and by 100 clients (their fan-out ratio in the same run). Then
  recording: Motion and camrig in turn record the device at 640x480 10 fps
  with the same libx264 settings (Motion's own: ultrafast, zerolatency, crf
  20, a keyframe every 5 frames), no client: CPU per frame and memory. The
  guest part runs this same file with --guest and hands back JSON.
- Host: camrig's test source at 1280x720 30 fps read by 1, 100, 200 MJPEG
  clients (ustreamer needs a V4L2 device, which the host has not); camrig at
  1920x1080 with a 15 s pre-trigger and one client (memory); recording CPU
  against the ffmpeg CLI (bench/record_vs_ffmpeg.sh); the file source's CPU
  per frame with no client against ffmpeg decoding the same 720p30 H.264
  (bench/file_source.sh); LSL at 100 Hz
  (build/bench/lsl_latency): camrig's outlet, liblsl's own outlet (with
  LIBLSL) and send() from the pushing thread (the machine's floor), all in
  the same rounds with their pushes interleaved, each read by the same
  protocol-1.10 inlet.

How each number is measured:
  fps/client     complete JPEG parts a client received in the window / window
                 (camrig's placeholder images, sent once a second while no
                 frame comes, are not counted)
  CPU ms/frame   the server's CPU time (utime + stime of all its threads, from
                 /proc/PID/stat) in the window / mean parts per client: the cost
                 of capturing, encoding once and sending a frame to every client
  latency        when a part's last byte was read (CLOCK_MONOTONIC) minus its
                 capture time: camrig's X-Capture-Monotonic-Ns, ustreamer's
                 X-UStreamer-Grab-Time (?extra_headers=1; its X-Timestamp is the
                 send time, not the capture time). Both are the V4L2 buffer's
                 timestamp, which vivid sets from its frame schedule, not from
                 when the buffer becomes readable (in the guest the stamp is
                 about a frame period later than that), so a bare reader of the
                 device (this file's V4L2 loop, no server) measures dequeue time
                 minus timestamp; its median is subtracted from both servers'
                 latencies, leaving readable-to-client. ustreamer's own X-UStreamer-Latency (its send
                 time - grab time) is printed beside, as a cross-check.
  RSS, PSS       /proc/PID/smaps_rollup at the end of the window (PSS counts
                 shared libraries' pages divided among their users); peak RSS
                 is VmHWM from /proc/PID/status
  idle CPU       % of one core over a window with no client connected
  JPEG unsent    /status cameras[].jpeg: images replaced before any client had
                 them / images encoded, in the window
  capture drops  /status frames.dropped_pool + lost_upstream, in the window
  writer         the http-writer thread's user and system time (from
                 /proc/PID/task/*/stat), and its system time per image sent
                 to a client: the kernel's cost of one send, which on loopback
                 includes the receiving socket's side run in the sender's
                 softirq; "ratio from the writer's kernel sends alone" is the
                 1-client CPU plus the 100-client window's extra writer system
                 time, over the 1-client CPU; "the rest" is the 100-client
                 ratio without that extra
  frame pool     /status frames.pool_bytes (the buffers the pool has allocated,
                 which stay resident) of pool_size slots
  LSL latency    when the inlet's recv() returned a sample (CLOCK_MONOTONIC)
                 minus the LSL clock just before it was pushed, which is its
                 timestamp; p50/p99 pooled over every round's samples, and
                 each round's p99 for the spread
A benchmark: it prints numbers and never fails on them; it exits 1 only when
a part could not run at all."""
import argparse
import fcntl
import glob
import json
import os
import re
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
USTREAMER = os.environ.get("USTREAMER", "ustreamer")
LIBLSL = os.environ.get("LIBLSL", "")
LSL_ROUNDS = int(os.environ.get("LSL_ROUNDS", "3"))
DEVICE = os.environ.get("DEVICE", "/dev/video0")
# The guest's streaming cells: BENCH_GUEST_FPS="" leaves only the recording.
GUEST_FPS = [int(x) for x in os.environ.get("BENCH_GUEST_FPS", "25,4").split(",") if x]
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def progress(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(path):
    """A /proc/.../stat file: (name, user s, system s)."""
    with open(path) as f:
        text = f.read()
    fields = text.rsplit(")", 1)[1].split()
    # utime, stime: fields 14 and 15 of proc(5), after "pid (comm)"
    return text[text.index("(") + 1:text.rindex(")")], int(fields[11]) / TICK, int(fields[12]) / TICK


def cpu_seconds(pid):
    _, user, system = proc_stat(f"/proc/{pid}/stat")
    return user + system


def thread_cpu(pid):
    """{thread name: (user s, system s)}, threads of one name summed."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name, user, system = proc_stat(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue  # ended meanwhile
        u, s = out.get(name, (0.0, 0.0))
        out[name] = (u + user, s + system)
    return out


def memory_mib(pid):
    """(RSS, PSS, peak RSS) in MiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss"):
                out[k] = int(v.split()[0]) / 1024
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return out.get("Rss", float("nan")), out.get("Pss", float("nan")), int(m.group(1)) / 1024 if m else float("nan")


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


# --- MJPEG stream clients ---------------------------------------------------

LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)
CAMRIG_TS = re.compile(rb"x-capture-monotonic-ns:\s*(\d+)", re.I)
PLACEHOLDER = re.compile(rb"x-placeholder:", re.I)
USTREAMER_TS = re.compile(rb"x-ustreamer-grab-time:\s*([\d.]+)", re.I)
USTREAMER_LATENCY = re.compile(rb"x-ustreamer-latency:\s*([\d.]+)", re.I)  # its send time - grab time, s


class Stream:
    """One multipart/x-mixed-replace reader: parses each part's headers,
    skips Content-Length bytes of JPEG, and notes when the last byte came."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        # HTTP/1.0: the reply is the raw multipart body, never chunked.
        self.sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        self.sock.setblocking(False)
        self.head = bytearray()
        self.left = 0  # JPEG bytes of the current part still to come; 0: reading headers
        self.ts = None  # the current part's capture time, ns CLOCK_MONOTONIC
        self.placeholder = False  # the current part is camrig's placeholder image
        self.own_ns = None
        self.status = None
        self.parts = 0
        self.latency = []  # ns, parts completed in the window
        self.own = []  # ns, the server's own latency header, where it sends one
        self.closed = False

    def feed(self, mv, now, w0, w1):
        while len(mv):
            if self.left:
                take = min(self.left, len(mv))
                self.left -= take
                mv = mv[take:]
                if not self.left and w0 <= now <= w1 and not self.placeholder:
                    self.parts += 1
                    if self.ts is not None:
                        self.latency.append(now - self.ts)
                    if self.own_ns is not None:
                        self.own.append(self.own_ns)
                continue
            before = len(self.head)
            self.head += mv[:4096]
            i = self.head.find(b"\r\n\r\n", max(0, before - 3))
            if i < 0:
                mv = mv[4096:]
                if len(self.head) > 65536:
                    self.closed = True
                    return
                continue
            mv = mv[i + 4 - before:]
            header, self.head = bytes(self.head[:i]), bytearray()
            if self.status is None:
                m = re.match(rb"\s*HTTP/\d\.\d (\d+)", header)
                self.status = int(m.group(1)) if m else 0
                if self.status != 200:
                    self.closed = True
                    return
                continue
            m = LENGTH.search(header)
            if not m:
                continue
            self.left = int(m.group(1))
            # camrig's "no picture" image (once a second while the camera is
            # down or slow): not a frame delivered.
            self.placeholder = PLACEHOLDER.search(header) is not None
            ts = CAMRIG_TS.search(header)
            if ts:
                self.ts = int(ts.group(1))
            else:
                ts = USTREAMER_TS.search(header)
                # ustreamer truncates the timestamp to whole ms: +0.5 ms on average
                self.ts = int(float(ts.group(1)) * 1e9) + 500000 if ts else None
            own = USTREAMER_LATENCY.search(header)
            self.own_ns = int(float(own.group(1)) * 1e9) if own else None


def read_streams(port, path, n):
    """Opens n streams, says "connected" on stdout, reads the window's edges
    (time.monotonic_ns) "W0 W1" from stdin and reads the streams until W1;
    returns [(parts, latencies, status)], counting parts completed in the
    window."""
    sel = selectors.DefaultSelector()
    streams = []
    for _ in range(n):
        try:
            s = Stream(port, path)
        except OSError:
            continue
        streams.append(s)
        sel.register(s.sock, selectors.EVENT_READ, s)
    print("connected", flush=True)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    w0 = w1 = 1 << 62
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    while True:
        now = time.monotonic_ns()
        if now >= w1:
            break
        for key, _ in sel.select(min(0.2, (w1 - now) / 1e9)):
            s = key.data
            if s is None:
                w0, w1 = map(int, sys.stdin.readline().split())
                sel.unregister(sys.stdin)
                continue
            try:
                got = s.sock.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                got = 0
            if got:
                s.feed(mv[:got], time.monotonic_ns(), w0, w1)
            if not got or s.closed:
                sel.unregister(s.sock)
                s.closed = True
    for s in streams:
        s.sock.close()
    return [(s.parts, s.latency, s.status, s.own) for s in streams] + [(0, [], None, [])] * (n - len(streams))


def start_readers(port, path, n, procs=1):
    """n stream clients split over procs processes of their own (this file
    with --read), so that the measuring process never waits on them; returns
    once all are connected."""
    procs = max(1, min(procs, n))
    readers = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--read", str(port), path,
                                 str(n // procs + (i < n % procs))], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for i in range(procs)]
    for r in readers:
        r.stdout.readline()
    return readers


def clients_window(port, path, n, seconds, settle, on_start, on_end, procs=1):
    """n stream clients connect, and settle seconds later read for seconds;
    on_start() and on_end() run at the window's edges. Returns the clients'
    [(parts, latencies, status)] and on_start's and on_end's results."""
    readers = start_readers(port, path, n, procs)
    t0 = time.monotonic_ns() + int(settle * 1e9)
    t1 = t0 + int(seconds * 1e9)
    for r in readers:
        r.stdin.write(f"{t0} {t1}\n".encode())
        r.stdin.flush()
    time.sleep(max(0, (t0 - time.monotonic_ns()) / 1e9))
    a = on_start()
    time.sleep(max(0, (t1 - time.monotonic_ns()) / 1e9))
    b = on_end()
    clients = []
    for r in readers:
        out, _ = r.communicate(timeout=120)
        clients += json.loads(out or b"[]")
    return clients, a, b


# --- servers ----------------------------------------------------------------

class Server:
    """A server process on a loopback port, answering HTTP at ready_path."""

    def __init__(self, name, cmd, port, ready_path, stream_path, camrig):
        self.name, self.cmd, self.port = name, cmd, port
        self.ready_path, self.stream_path, self.camrig = ready_path, stream_path, camrig
        self.log_path = os.path.join(tempfile.gettempdir(), f"pressure-{name.replace(' ', '_')}-{port}.log")

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.get(self.ready_path)
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        with open(self.log_path) as f:
            raise RuntimeError(f"{self.name} did not start: {f.read()[-1500:]}")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return False

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=20) as r:
            return r.read()

    def camera(self):
        """camrig's /status cameras[0], or {} for ustreamer."""
        return json.loads(self.get("/status"))["cameras"][0] if self.camrig else {}

    def idle_cpu(self, seconds):
        c0, t0 = cpu_seconds(self.proc.pid), time.monotonic()
        time.sleep(seconds)
        return 100 * (cpu_seconds(self.proc.pid) - c0) / (time.monotonic() - t0)

    def window(self, n, seconds, settle, procs=1):
        """n clients for seconds: a dict of what the window measured."""
        def start():
            cam = self.camera()
            return cam, cpu_seconds(self.proc.pid), time.monotonic(), thread_cpu(self.proc.pid)

        def end():
            c, t, th = cpu_seconds(self.proc.pid), time.monotonic(), thread_cpu(self.proc.pid)
            return self.camera(), c, t, th, memory_mib(self.proc.pid)

        clients, (cam0, c0, t0, th0), (cam1, c1, t1, th1, mem) = clients_window(
            self.port, self.stream_path, n, seconds, settle, start, end, procs)
        span = t1 - t0
        fps = [c[0] / span for c in clients]
        lat = [x for c in clients for x in c[1]]
        own = [x for c in clients for x in c[3]]
        mean = sum(c[0] for c in clients) / max(1, len(clients))
        cpu = c1 - c0
        r = {"clients": n, "fps": fps, "refused": sum(1 for c in clients if c[2] != 200),
             "own_p50_ms": percentile(own, 0.5) / 1e6, "own_p99_ms": percentile(own, 0.99) / 1e6,
             "cpu_pct": 100 * cpu / span, "cpu_ms_frame": 1000 * cpu / mean if mean else float("nan"),
             "lat_p50_ms": percentile(lat, 0.5) / 1e6, "lat_p99_ms": percentile(lat, 0.99) / 1e6,
             "rss": mem[0], "pss": mem[1], "hwm": mem[2], "span": span, "parts": sum(c[0] for c in clients),
             "threads": {k: tuple(100 * (b - a) / span for a, b in zip(th0.get(k, (0, 0)), v))
                         for k, v in th1.items()}}
        if self.camrig:
            def d(*keys):
                a, b = cam0, cam1
                for k in keys:
                    a, b = a.get(k, {}), b.get(k, {})
                return (b or 0) - (a or 0)
            r.update(encoded=d("jpeg", "encoded"), unsent=d("jpeg", "unsent"), skipped=d("jpeg", "skipped"),
                     drops=d("frames", "dropped_pool") + d("frames", "lost_upstream"),
                     captured_fps=d("frames", "captured") / span, pool=pool(cam1))
        return r


def pool(cam):
    """camrig's frame pool: 'X MiB held (N of M slots x F MiB)'."""
    fr = cam.get("frames", {})
    each = cam.get("width", 0) * cam.get("height", 0) * 2 / MIB if cam.get("format") == "YUYV" else float("nan")
    held = fr.get("pool_bytes", 0) / MIB
    return f"{f1(held)} MiB held ({f1(held / each) if each else '?'} of {fr.get('pool_size', '?')} slots x {f2(each)} MiB)"


# --- the vivid guest --------------------------------------------------------

def ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


VIDIOC_REQBUFS = ioc(3, 8, 20)  # struct v4l2_requestbuffers
VIDIOC_QBUF = ioc(3, 15, 88)  # struct v4l2_buffer (x86-64 layout)
VIDIOC_DQBUF = ioc(3, 17, 88)
VIDIOC_STREAMON = ioc(1, 18, 4)
VIDIOC_STREAMOFF = ioc(1, 19, 4)


def vivid_offset(fps, seconds):
    """How long after its timestamp a vivid buffer can be dequeued, read with
    no server: (median ms, p99 ms, frames/s). V4L2 mmap streaming by hand
    (kernel Documentation/userspace-api/media/v4l/mmap.rst; v4l2_buffer's
    timestamp at offset 24, memory at 60, on x86-64); nothing is mapped, since
    only the timestamps matter."""
    subprocess.run(["v4l2-ctl", "-d", DEVICE, "--set-fmt-video=width=640,height=480,pixelformat=YUYV",
                    f"--set-parm={fps}"], check=True, capture_output=True)
    fd = os.open(DEVICE, os.O_RDWR | os.O_NONBLOCK)
    offsets = []
    try:
        req = bytearray(struct.pack("IIII4x", 4, 1, 1, 0))  # count, VIDEO_CAPTURE, MMAP
        fcntl.ioctl(fd, VIDIOC_REQBUFS, req)
        for i in range(struct.unpack_from("I", req)[0]):
            b = bytearray(88)
            struct.pack_into("II", b, 0, i, 1)
            struct.pack_into("I", b, 60, 1)
            fcntl.ioctl(fd, VIDIOC_QBUF, b)
        fcntl.ioctl(fd, VIDIOC_STREAMON, struct.pack("i", 1))
        t_end = time.monotonic() + seconds + 1
        first = None
        while time.monotonic() < t_end:
            if not select.select([fd], [], [], 2)[0]:
                break
            b = bytearray(88)
            struct.pack_into("I", b, 4, 1)
            struct.pack_into("I", b, 60, 1)
            fcntl.ioctl(fd, VIDIOC_DQBUF, b)
            now = time.monotonic_ns()
            sec, usec = struct.unpack_from("qq", b, 24)
            if first is None:
                first = now  # the first buffer may have waited for STREAMON
            else:
                offsets.append(now - (sec * 1000000000 + usec * 1000))
            fcntl.ioctl(fd, VIDIOC_QBUF, b)
        fcntl.ioctl(fd, VIDIOC_STREAMOFF, struct.pack("i", 1))
        fcntl.ioctl(fd, VIDIOC_REQBUFS, bytearray(struct.pack("IIII4x", 0, 1, 1, 0)))
    finally:
        os.close(fd)
    rate = len(offsets) / ((time.monotonic_ns() - first) / 1e9) if first and offsets else float("nan")
    return percentile(offsets, 0.5) / 1e6, percentile(offsets, 0.99) / 1e6, rate


REC_FPS = 10


def motion_recording(seconds):
    """Motion 4.x recording /dev/video0 (640x480, REC_FPS) all the time
    (emulate_motion on; movie_codec mkv: its libx264 at preset ultrafast,
    tune zerolatency, crf 20, a keyframe every 5 frames, as the stream's own
    x264 options say); no pictures, stream or web control. A dict."""
    if not shutil.which("motion"):
        return {"error": "motion is not installed"}
    tmp = tempfile.mkdtemp(prefix="bench-motion.")
    conf, out = os.path.join(tmp, "motion.conf"), os.path.join(tmp, "movies")
    os.makedirs(out)
    with open(conf, "w") as f:
        f.write(f"daemon off\nsetup_mode off\nlog_level 4\nvideo_device {DEVICE}\nwidth 640\nheight 480\n"
                f"framerate {REC_FPS}\nemulate_motion on\nmovie_output on\nmovie_codec mkv\n"
                f"picture_output off\nsnapshot_interval 0\nstream_port 0\nwebcontrol_port 0\n"
                f"target_dir {out}\ntext_left \"\"\ntext_right \"\"\n")
    p = subprocess.Popen(["motion", "-n", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
        rss, pss, hwm = memory_mib(p.pid)
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
    size = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    shutil.rmtree(tmp, ignore_errors=True)
    # Motion reports no frame count: the camera's rate over the window.
    frames = REC_FPS * (t1 - t0)
    return {"cpu_ms_frame": (c1 - c0) * 1000 / frames, "rss": rss, "pss": pss, "hwm": hwm,
            "kbit_s": size * 8 / 1000 / (t1 - t0 + 5)}


def camrig_recording(camrig, seconds):
    """camrig recording the same device with the same x264 settings as
    Motion (h264, ultrafast, crf 20, a keyframe every 0.5 s, pre-trigger
    off), no client. Frames: /status recording.frames_written in the window."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="bench-rec.")
    cmd = [camrig, "run", "--source", f"v4l2:{DEVICE}", "--size", "640x480", "--fps", str(REC_FPS), "--format",
           "YUYV", "-o", "camera.buffers=4", "-o", "camera.recording.codec=h264", "-o",
           "camera.recording.preset=ultrafast", "-o", "camera.recording.crf=20", "-o", "camera.recording.gop=0.5",
           "-o", f"camera.recording.root={tmp}", "-o", "camera.recording.min_free_mb=0", "--log-level", "warn",
           "--listen", f"127.0.0.1:{port}"]
    try:
        with Server("camrig rec", cmd, port, "/status", "/stream.mjpg", True) as s:
            subprocess.run([camrig, "record", "start", "--listen", f"127.0.0.1:{port}"], check=True,
                           stdout=subprocess.DEVNULL)
            time.sleep(5)
            f0, c0, t0 = s.camera()["recording"]["frames"]["written"], cpu_seconds(s.proc.pid), time.monotonic()
            time.sleep(seconds)
            rec = s.camera()["recording"]
            f1_, c1, t1 = rec["frames"]["written"], cpu_seconds(s.proc.pid), time.monotonic()
            rss, pss, hwm = memory_mib(s.proc.pid)
        return {"cpu_ms_frame": (c1 - c0) * 1000 / max(1, f1_ - f0), "rss": rss, "pss": pss, "hwm": hwm,
                "fps": (f1_ - f0) / (t1 - t0), "kbit_s": rec["bytes"] * 8 / 1000 / (t1 - t0 + 5)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def guest_main(camrig):
    """Inside the guest: every cell in turn; prints JSON on stdout."""
    settle = 1.0
    out = {"cpus": os.cpu_count(), "cells": {}, "offset": {}, "errors": []}
    for fps in GUEST_FPS:
        out["offset"][fps] = vivid_offset(fps, min(SECONDS, 6))
        progress(f"guest {fps} fps: vivid alone: {out['offset'][fps]}")
        servers = [
            ("ustreamer", [USTREAMER, "--device", DEVICE, "--resolution", "640x480", "--format", "YUYV",
                           "--desired-fps", str(fps), "--quality", "80", "--buffers", "4", "--workers", "2",
                           "--encoder", "CPU", "--host", "127.0.0.1"], "--port", "/state",
             "/stream?extra_headers=1", False),
            ("camrig", [camrig, "run", "--source", f"v4l2:{DEVICE}", "--size", "640x480", "--fps", str(fps),
                        "--format", "YUYV", "-o", "camera.jpeg.quality=80", "-o", "camera.buffers=4",
                        "-o", "camera.jpeg.workers=2", "--log-level", "warn"], "--listen", "/status",
             "/stream.mjpg", True),
            ("camrig pt15", [camrig, "run", "--source", f"v4l2:{DEVICE}", "--size", "640x480", "--fps", str(fps),
                             "--format", "YUYV", "-o", "camera.jpeg.quality=80", "-o", "camera.buffers=4",
                             "-o", "camera.jpeg.workers=2", "-o", "camera.recording.pre_trigger=15",
                             "--log-level", "warn"], "--listen", "/status", "/stream.mjpg", True),
        ]
        for name, cmd, port_flag, ready, stream, is_camrig in servers:
            port = free_port()
            cmd = cmd + [port_flag, str(port) if port_flag == "--port" else f"127.0.0.1:{port}"]
            counts = (2, 1, 100) if fps == 4 and name != "camrig pt15" else (2,)
            progress(f"guest {fps} fps: {name}")
            try:
                with Server(name, cmd, port, ready, stream, is_camrig) as s:
                    time.sleep(3)
                    cell = {"idle_cpu": s.idle_cpu(min(SECONDS, 5))}
                    if is_camrig:
                        cell["pre_trigger"] = s.camera()["recording"]["pre_trigger"]["target_seconds"]
                    for n in counts:
                        cell[n] = s.window(n, SECONDS, settle)
                out["cells"][f"{name}@{fps}"] = cell
            except (RuntimeError, OSError) as e:
                out["errors"].append(f"{name} at {fps} fps: {e!r}")
                progress(traceback.format_exc())
    progress(f"guest recording {REC_FPS} fps: Motion, camrig")
    out["recording"] = {}
    for name, fn in (("motion", lambda: motion_recording(SECONDS)), ("camrig", lambda: camrig_recording(camrig, SECONDS))):
        try:
            out["recording"][name] = fn()
        except (RuntimeError, OSError, subprocess.CalledProcessError, KeyError) as e:
            out["recording"][name] = {"error": repr(e)}
            progress(traceback.format_exc())
    json.dump(out, sys.stdout)


def run_guest(camrig, script="pressure.py", timeout=1500):
    """Runs script (a file of bench/ beside this one, with pressure.py) with
    --guest in the VM guest: by default this file's guest_main. Returns the
    JSON it printed, or None."""
    vm_run = os.environ.get("VM_RUN", os.path.join(ROOT, "..", "shared", "tools", "vm-run"))
    if not os.access(vm_run, os.X_OK):
        progress(f"vm-run not found at {vm_run} (set VM_RUN)")
        return None
    # vm-run shares only the current directory read-write (the guest's /tmp is
    # its own), so the scratch directory sits beside the binary.
    work = tempfile.mkdtemp(prefix="bench-vm.", dir=os.path.dirname(camrig))
    try:
        shutil.copy(camrig, os.path.join(work, "camrig"))
        for module in glob.glob(os.path.join(os.path.dirname(camrig), "camrig-*.so")):
            shutil.copy(module, work)  # camrig's modules (libcamera, OpenCV) go beside it
        for name in {"pressure.py", script}:
            shutil.copy(os.path.join(HERE, name), os.path.join(work, name))
        cmd = (f"CAMRIG=$PWD/camrig BENCH_SECONDS={SECONDS:g} BENCH_GUEST_FPS={','.join(map(str, GUEST_FPS))} "
               "PYTHONDONTWRITEBYTECODE=1 "
               f"timeout {timeout} /usr/bin/python3 {script} --guest > guest.json 2> guest.log")
        with open(os.path.join(work, "vm.log"), "w") as log:
            rc = subprocess.call([vm_run, cmd], cwd=work, stdout=log, stderr=log)
        try:
            with open(os.path.join(work, "guest.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            for name in ("guest.log", "vm.log"):
                try:
                    with open(os.path.join(work, name)) as f:
                        progress(f"{name}:\n" + f.read()[-3000:])
                except OSError:
                    pass
            progress(f"the guest part did not finish (vm-run exit {rc})")
            return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the host ---------------------------------------------------------------

def host_fanout(camrig):
    port = free_port()
    cmd = [camrig, "run", "--source", "test", "--size", "1280x720", "--fps", "30", "--listen",
           f"127.0.0.1:{port}", "--log-level", "warn"]
    res = {}
    with Server("camrig 720p", cmd, port, "/status", "/stream.mjpg", True) as s:
        time.sleep(2)
        for n in (1, 100, 200):
            progress(f"host 720p30: {n} clients")
            res[n] = s.window(n, SECONDS, 2.0, procs=1 if n == 1 else 2)
    return res


def anon_mib(pid):
    """Anonymous memory (the heap, stacks, frames; not library pages), MiB."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        m = re.search(r"^Anonymous:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) / 1024 if m else float("nan")


def camrig_1080p(camrig, extra):
    """camrig at 1080p30 with a 15 s pre-trigger and one client, once the
    pre-trigger is full."""
    port = free_port()
    cmd = [camrig, "run", "--source", "test", "--size", "1920x1080", "--fps", "30", "--listen",
           f"127.0.0.1:{port}", "-o", "camera.recording.pre_trigger=15", "--log-level", "warn"] + extra
    with Server("camrig 1080p", cmd, port, "/status", "/stream.mjpg", True) as s:
        reader, = start_readers(port, "/stream.mjpg", 1)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 45 and s.camera()["recording"]["pre_trigger"]["seconds"] < 14:
            time.sleep(0.5)
        time.sleep(2)
        cam, mem, anon = s.camera(), memory_mib(s.proc.pid), anon_mib(s.proc.pid)
        reader.terminate()
        reader.communicate()
    rec = cam["recording"]
    video = next((c for c in cam["consumers"] if c["name"] == "video"), {})
    return {"rss": mem[0], "pss": mem[1], "hwm": mem[2], "anon": anon, "pre_s": rec["pre_trigger"]["seconds"],
            "pre_mib": rec["pre_trigger"]["bytes"] / MIB, "enc_dropped": rec["encoder"]["dropped"],
            "pool": pool(cam), "video_peak_mib": video.get("peak_bytes", 0) / MIB,
            "rec_peak_mib": rec.get("queue_peak_bytes", 0) / MIB}


def ffmpeg_peak_mib(args):
    """The ffmpeg CLI's peak RSS (its rusage ru_maxrss), MiB, encoding 150
    frames of a 1080p30 testsrc2 with args (after -pix_fmt yuv420p)."""
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30",
           "-frames:v", "150", "-pix_fmt", "yuv420p"] + args + ["-f", "null", "-"]
    p = subprocess.Popen(cmd)
    _, _, usage = os.wait4(p.pid, 0)
    p.returncode = 0
    return usage.ru_maxrss / 1024


def host_memory(camrig):
    """camrig at 1080p with a 15 s pre-trigger, with its defaults (where
    recording.lookahead_mb leaves libx264's lookahead out) and with the
    lookahead allowed, and what libx264 alone holds at 1080p (the ffmpeg CLI
    with and without it): the parts the 96 MiB target has to fit."""
    progress("host 1080p30, pre-trigger 15 s")
    out = {"defaults": camrig_1080p(camrig, []),
           "lookahead": camrig_1080p(camrig, ["-o", "camera.recording.lookahead_mb=4096"])}
    progress("ffmpeg CLI at 1080p: without an encoder, libx264 veryfast, with zerolatency")
    out["ffmpeg"] = {k: ffmpeg_peak_mib(a) for k, a in (
        ("none", ["-c:v", "rawvideo"]),
        ("x264", ["-c:v", "libx264", "-preset", "veryfast"]),
        ("zerolatency", ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency"]))}
    return out


def host_record(camrig):
    progress(f"recording vs ffmpeg ({ROUNDS} rounds of {SECONDS:g} s)")
    p = subprocess.run(["sh", os.path.join(HERE, "record_vs_ffmpeg.sh"), camrig, str(int(SECONDS)), str(ROUNDS)],
                       capture_output=True, text=True)
    m = re.search(r"median: camrig ([\d.]+) ms.*ffmpeg ([\d.]+) ms", p.stdout)
    r = re.search(r"ratio camrig / ffmpeg: ([\d.]+)", p.stdout)
    if not (m and r):
        return {"error": (p.stdout + p.stderr)[-300:].strip() or f"exit {p.returncode}"}
    return {"camrig": float(m.group(1)), "ffmpeg": float(m.group(2)), "ratio": float(r.group(1))}


def host_file_source(camrig):
    progress(f"file source vs ffmpeg ({ROUNDS} rounds of {SECONDS:g} s)")
    p = subprocess.run(["sh", os.path.join(HERE, "file_source.sh"), camrig, str(int(SECONDS)), str(ROUNDS)],
                       capture_output=True, text=True)
    m = re.search(r"no client: camrig ([\d.]+) ms .*--format NV12 ([\d.]+) ms .*ffmpeg ([\d.]+) ms", p.stdout)
    if not m:
        return {"error": (p.stdout + p.stderr)[-300:].strip() or f"exit {p.returncode}"}
    return {"camrig": float(m.group(1)), "converted": float(m.group(2)), "ffmpeg": float(m.group(3))}


def host_lsl(camrig):
    """bench/lsl_latency's rounds: camrig's outlet, liblsl's own outlet (when
    LIBLSL names its shared library) and send() from the pushing thread, their
    pushes interleaved in every round; returns {outlet: summary} or
    {"error": text}."""
    tool = os.path.join(os.path.dirname(camrig), "bench", "lsl_latency")
    if not os.access(tool, os.X_OK):
        return {"error": f"{tool} is not built"}
    outlets = "camrig,liblsl,send" if LIBLSL else "camrig,send"
    progress(f"LSL outlet latency: {LSL_ROUNDS} rounds of {outlets}, {SECONDS:g} s each")
    p = subprocess.run([tool, "--seconds", str(SECONDS), "--fps", "100", "--rounds", str(LSL_ROUNDS),
                        "--outlet", outlets] + (["--liblsl", LIBLSL] if LIBLSL else []),
                       capture_output=True, text=True)
    out = {}
    for m in re.finditer(r"^summary (\w+): p50 ([\d.]+) us p99 ([\d.]+) us max ([\d.]+) us over (\d+) samples "
                         r"of \d+ round\(s\), (\d+) lost; round p50 ([\d/]+) us, round p99 ([\d/]+) us; "
                         r"push call p50 ([\d.]+) us p99 ([\d.]+) us, CPU ([\d.]+) us", p.stdout, re.M):
        ms = (lambda x: float(x) / 1000)
        out[m.group(1)] = {"p50": ms(m.group(2)), "p99": ms(m.group(3)), "max": ms(m.group(4)),
                           "n": int(m.group(5)), "lost": int(m.group(6)),
                           "round_p50": [ms(x) for x in m.group(7).split("/")],
                           "round_p99": [ms(x) for x in m.group(8).split("/")],
                           "push_p99": float(m.group(10)), "cpu_us": float(m.group(11))}
    v = re.search(r"; (liblsl [\d.]+) from", p.stdout)
    out["liblsl_version"] = v.group(1) if v else "liblsl"
    if "camrig" not in out:
        return {"error": (p.stdout + p.stderr)[-300:].strip() or f"exit {p.returncode}"}
    return out


# --- the table --------------------------------------------------------------

ROWS = []


def row(cell, metric, us="", cr="", pt="", target="", met=None):
    ROWS.append((cell, metric, us, cr, pt, target, "" if met is None else ("yes" if met else "NO")))


def f1(x, unit=""):
    return "nan" if x != x else f"{x:.1f}{unit}"


def f2(x, unit=""):
    return "nan" if x != x else f"{x:.2f}{unit}"


def guest_recording_rows(r):
    where = f"guest recording {REC_FPS} fps"
    m, c = r.get("motion", {}), r.get("camrig", {})
    for name, x in (("Motion", m), ("camrig", c)):
        if "error" in x:
            row(where, f"{name}: not measured: {x['error']}")
    if "error" in m or "error" in c or not m or not c:
        return
    row(where, "640x480 from vivid, x264 ultrafast crf 20: CPU ms per frame; ratio",
        us=f"Motion {f2(m['cpu_ms_frame'])}", cr=f"{f2(c['cpu_ms_frame'])}; {f2(c['cpu_ms_frame'] / m['cpu_ms_frame'])}",
        target="camrig <= Motion", met=c["cpu_ms_frame"] <= m["cpu_ms_frame"])
    row(where, "RSS / PSS / peak RSS MiB", us=f"{f1(m['rss'])} / {f1(m['pss'])} / {f1(m['hwm'])}",
        cr=f"{f1(c['rss'])} / {f1(c['pss'])} / {f1(c['hwm'])}")
    row(where, "recorded fps (camrig's /status frames written); kbit/s written", us=f"-; {f1(m['kbit_s'])}",
        cr=f"{f1(c['fps'])}; {f1(c['kbit_s'])}")


def guest_rows(g):
    if g is None:
        row("guest", "not measured: the vivid guest did not run (see above)")
        return
    for e in g["errors"]:
        row("guest", f"error: {e}")
    cells = g["cells"]
    for fps in GUEST_FPS:
        off = g["offset"].get(str(fps), [float("nan")] * 3)
        corr = off[0]
        where = f"guest {fps} fps" + (" (saturated)" if fps == 25 else "")
        row(where, "vivid alone: dequeue time - buffer timestamp p50 / p99; fps",
            cr=f"{f1(off[0])} / {f1(off[1])} ms; {f1(off[2])} fps")
        us, cr, pt = (cells.get(f"{n}@{fps}", {}) for n in ("ustreamer", "camrig", "camrig pt15"))
        u2, c2, p2 = us.get("2", {}), cr.get("2", {}), pt.get("2", {})
        sat = fps == 25

        def v(c, k, fmt=f1):
            return fmt(c[k]) if k in c else "-"

        def fpsl(c):
            return ", ".join(f1(x) for x in c["fps"]) if c else "-"

        mean = (lambda c: sum(c["fps"]) / len(c["fps"]) if c and c["fps"] else float("nan"))
        row(where, "fps per client (2 clients)", fpsl(u2), fpsl(c2), fpsl(p2),
            "camrig >= ustreamer" if sat else "", mean(c2) >= mean(u2) if sat and u2 and c2 else None)
        row(where, "CPU ms per delivered frame", v(u2, "cpu_ms_frame"), v(c2, "cpu_ms_frame"), v(p2, "cpu_ms_frame"),
            "camrig <= ustreamer" if sat else "",
            c2["cpu_ms_frame"] <= u2["cpu_ms_frame"] if sat and u2 and c2 else None)
        row(where, "server CPU, % of a core", v(u2, "cpu_pct"), v(c2, "cpu_pct"), v(p2, "cpu_pct"))
        for q in ("p50", "p99"):
            k = f"lat_{q}_ms"
            cv = (lambda c: f"{f1(c[k] - corr)} ({f1(c[k])})" if c else "-")
            row(where, f"latency {q} ms, raw - vivid's p50 (raw)", cv(u2), cv(c2), cv(p2),
                "camrig <= ustreamer" if sat else "", c2[k] <= u2[k] if sat and u2 and c2 else None)
        row(where, "ustreamer's own X-UStreamer-Latency p50 / p99 ms (send - grab)",
            f"{v(u2, 'own_p50_ms')} / {v(u2, 'own_p99_ms')}" if u2 else "-")
        for k, name in (("rss", "RSS MiB"), ("pss", "PSS MiB"), ("hwm", "peak RSS MiB")):
            tgt = met = None
            if k == "rss" and u2 and c2:  # the memory target holds at any rate
                tgt, met = f"camrig < 2x ustreamer ({f1(2 * u2['rss'])})", c2["rss"] < 2 * u2["rss"]
            row(where, name, v(u2, k), v(c2, k), v(p2, k), tgt or "", met)
        row(where, "camrig frame pool", "", c2.get("pool", "-"), p2.get("pool", "-"))
        row(where, "idle CPU (no client), % of a core", v(us, "idle_cpu"), v(cr, "idle_cpu"), v(pt, "idle_cpu"))
        uns = (lambda c: f"{c['unsent']}/{c['encoded']} ({f1(100 * c['unsent'] / c['encoded'])}%)"
               if c and c.get("encoded") else "-")
        row(where, "camrig JPEG unsent / encoded", "", uns(c2), uns(p2), "<= 1% (item 1)",
            c2["unsent"] <= 0.01 * c2["encoded"] if c2.get("encoded") else None)
        row(where, "camrig skipped (no client waited); capture drops", "",
            f"{c2.get('skipped', '-')}; {c2.get('drops', '-')}" if c2 else "-",
            f"{p2.get('skipped', '-')}; {p2.get('drops', '-')}" if p2 else "-")
        if fps == 4:
            ratio = (lambda c: c["100"]["cpu_pct"] / c["1"]["cpu_pct"] if c.get("1") and c.get("100") and
                     c["1"]["cpu_pct"] else float("nan"))
            slow = (lambda c: f1(min(c["100"]["fps"])) if c.get("100") and c["100"]["fps"] else "-")
            ru, rc = ratio(us), ratio(cr)
            row(where, "fan-out: CPU with 100 clients / with 1", f2(ru), f2(rc), "", "camrig <= ustreamer",
                rc <= ru if ru == ru and rc == rc else None)
            row(where, "fan-out: slowest of 100 clients, fps", slow(us), slow(cr), "")
    pre = cells.get("camrig@25", {}).get("pre_trigger")
    if pre is not None:
        row("guest", f"camrig's defaults have pre-trigger {pre:g} s; 'pt15' is -o camera.recording.pre_trigger=15")
    if "recording" in g:
        guest_recording_rows(g["recording"])


def host_fanout_rows(fan):
    where = "host 720p30 test"
    if isinstance(fan, str):
        row(where, f"error: {fan}")
    else:
        one = fan[1]["cpu_pct"]
        for n, r in fan.items():
            who = f"{n} client{'s' if n != 1 else ''}"
            ratio = r["cpu_pct"] / one if one else float("nan")
            tgt, met = ("<= 1.25", ratio <= 1.25) if n == 100 else ("", None)
            row(where, f"{who}: CPU % of a core; ratio to 1 client", cr=f"{f1(r['cpu_pct'])}; {f2(ratio)}",
                target=tgt, met=met)
            # The same, per frame each client got: fair when a window's clients got fewer frames.
            per = r["cpu_ms_frame"] / fan[1]["cpu_ms_frame"] if fan[1]["cpu_ms_frame"] else float("nan")
            row(where, f"{who}: CPU ms per frame sent to every client; ratio to 1 client",
                cr=f"{f2(r['cpu_ms_frame'])}; {f2(per)}")
            refused = f", {r['refused']} refused" if r["refused"] else ""
            row(where, f"{who}: slowest / median client fps; capture drops",
                cr=f"{f1(min(r['fps']))} / {f1(percentile(r['fps'], 0.5))}; {r['drops']}{refused}")
            row(where, f"{who}: JPEG encoded, unsent, skipped",
                cr=f"{r['encoded']}, {r['unsent']}, {r['skipped']}")
            wu, ws = r["threads"].get("http-writer", (0.0, 0.0))
            sends = r["parts"] / r["span"]
            # Under 10 clock ticks of system time a per-send figure is noise.
            per_send = f1(1e4 * ws / sends) if sends and ws * r["span"] / 100 >= 10 / TICK else "(too few ticks)"
            row(where, f"{who}: http-writer user / system % of a core; system us per image sent",
                cr=f"{f1(wu)} / {f1(ws)}; {per_send}")
        if 100 in fan and one:
            # What the kernel's sends alone add (the writer's system time,
            # which on loopback includes the receiving socket's softirq), and
            # the ratio of everything else: where the 1.25 goes.
            ws1, ws100 = (fan[n]["threads"].get("http-writer", (0, 0))[1] for n in (1, 100))
            row(where, "100 clients: ratio from the writer's kernel sends alone; ratio of the rest",
                cr=f"{f2((one + ws100 - ws1) / one)}; {f2((fan[100]['cpu_pct'] - ws100 + ws1) / one)}")
        row(where, "ustreamer's ratio: not measured on the host (no V4L2 device; see the guest's fan-out rows)")


def host_rows(fan, mem, rec, fsrc):
    host_fanout_rows(fan)
    where = "host 1080p30 pt15"
    if isinstance(mem, str):
        row(where, f"error: {mem}")
    else:
        d, z, ff = mem["defaults"], mem["lookahead"], mem["ffmpeg"]
        row(where, "RSS / PSS MiB (1 client, pre-trigger full)", cr=f"{f1(d['rss'])} / {f1(d['pss'])}",
            pt=f"lookahead: {f1(z['rss'])} / {f1(z['pss'])}", target="RSS < 96", met=d["rss"] < 96)
        row(where, "peak RSS MiB", cr=f1(d["hwm"]), pt=f"lookahead: {f1(z['hwm'])}", target="< 96",
            met=d["hwm"] < 96)
        row(where, "of the RSS: library pages; anonymous (x264, frames, JPEG)",
            cr=f"{f1(d['rss'] - d['anon'])}; {f1(d['anon'])}", pt=f"lookahead: {f1(z['rss'] - z['anon'])}; "
            f"{f1(z['anon'])}")
        row(where, "libx264 veryfast's own at 1080p: ffmpeg CLI peak RSS - without an encoder",
            us=f"{f1(ff['x264'] - ff['none'])} ({f1(ff['x264'])} - {f1(ff['none'])})",
            pt=f"zerolatency: {f1(ff['zerolatency'] - ff['none'])}")
        row(where, "pre-trigger s, MiB; encoder drops",
            cr=f"{f1(d['pre_s'])}, {f1(d['pre_mib'])}; {d['enc_dropped']}")
        row(where, "frame pool", cr=d["pool"])
        row(where, "encoder queue peak MiB; recorder queue peak MiB",
            cr=f"{f1(d['video_peak_mib'])}; {f1(d['rec_peak_mib'])}")
    where = "host recording"
    if "error" in rec:
        row(where, f"record_vs_ffmpeg.sh failed: {rec['error']}")
    else:
        row(where, "CPU ms/frame, 900x600 GREY 50 fps x264 (median)", us=f"ffmpeg {rec['ffmpeg']:.3f}",
            cr=f"{rec['camrig']:.3f}; ratio {rec['ratio']:.3f}", target="ratio <= 1.05", met=rec["ratio"] <= 1.05)
    row(where, "vs Motion: see the guest's recording rows (Motion needs a V4L2 device)")
    where = "host file source"
    if "error" in fsrc:
        row(where, f"file_source.sh failed: {fsrc['error']}")
    else:
        ratio = fsrc["camrig"] / fsrc["ffmpeg"] if fsrc["ffmpeg"] else float("nan")
        row(where, "CPU ms/frame, 720p30 H.264, no client (median); ratio; with --format NV12 (converted)",
            us=f"ffmpeg {fsrc['ffmpeg']:.3f}", cr=f"{fsrc['camrig']:.3f}; {ratio:.2f}; {fsrc['converted']:.3f}")


def lsl_rows(lsl):
    where = "host LSL 100 Hz"
    if "error" in lsl:
        row(where, f"not measured: {lsl['error']}")
        return
    c, lib, snd = lsl["camrig"], lsl.get("liblsl"), lsl.get("send")
    peer = lsl["liblsl_version"]
    n = len(c["round_p99"])
    pair = (lambda r, a, b: f"{r[a]:.3f} / {r[b]:.3f}")
    spread = (lambda r, k: "/".join(f"{x:.2f}" for x in r[k]))
    row(where, f"push-to-inlet p50 / p99 ms, pooled over {n} rounds x {c['n'] // n} samples",
        us=f"{peer}: {pair(lib, 'p50', 'p99')}" if lib else "", cr=pair(c, "p50", "p99"),
        target="camrig p99 <= liblsl's" if lib else "", met=c["p99"] <= lib["p99"] if lib else None)
    row(where, "each round's p99 ms", us=f"{peer}: {spread(lib, 'round_p99')}" if lib else "",
        cr=spread(c, "round_p99"))
    row(where, "each round's p50 ms", us=f"{peer}: {spread(lib, 'round_p50')}" if lib else "",
        cr=spread(c, "round_p50"))
    row(where, "max ms; samples lost", us=f"{peer}: {lib['max']:.2f}; {lib['lost']}" if lib else "",
        cr=f"{c['max']:.2f}; {c['lost']}")
    row(where, "process CPU us per sample; push call p99 us (medians of rounds)",
        us=f"{peer}: {lib['cpu_us']:.1f}; {lib['push_p99']:.1f}" if lib else "",
        cr=f"{c['cpu_us']:.1f}; {c['push_p99']:.1f}")
    if snd:
        row(where, "floor, no outlet (send() from the pushing thread): p50 / p99 ms",
            us=f"send(): {pair(snd, 'p50', 'p99')}")
    if not lib:
        row(where, "liblsl's own outlet: not measured: set LIBLSL=/path/to/liblsl.so (liblsl is not packaged by "
                   "Debian: build it from its source, github.com/sccn/liblsl, with cmake outside camrig's tree)")


def print_table(header):
    print(header)
    cols = ("cell", "measurement", "ustreamer|peer", "camrig", "camrig pt15", "target", "met")
    width = [max([len(c)] + [len(r[i]) for r in ROWS if any(r[2:])]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, width)).rstrip())
    for r in ROWS:
        if not any(r[2:]):
            print(f"{r[0].ljust(width[0])}  {r[1]}")
        else:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, width)).rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--camrig", default=os.environ.get("CAMRIG", os.path.join(ROOT, "build", "camrig")))
    ap.add_argument("--only", choices=("guest", "host", "fanout", "lsl"),
                    help="one part: the vivid guest, the host (LSL included), only the host's 1/100/200-client "
                         "fan-out (40 s), or only LSL (30 s at the defaults)")
    ap.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)  # inside the vivid guest
    ap.add_argument("--read", nargs=3, help=argparse.SUPPRESS)  # a stream reader: PORT PATH N
    args = ap.parse_args()
    if args.read:
        port, path, n = args.read
        json.dump(read_streams(int(port), path, int(n)), sys.stdout)
        return 0
    camrig = os.path.abspath(args.camrig)
    if args.guest:
        guest_main(camrig)
        return 0
    if not os.access(camrig, os.X_OK):
        progress(f"no camrig binary at {camrig} (build it, or pass --camrig)")
        return 1
    started, load0 = time.monotonic(), os.getloadavg()
    g = run_guest(camrig) if args.only in (None, "guest") else None
    if args.only in (None, "host", "fanout"):
        try:
            fan = host_fanout(camrig)
        except (RuntimeError, OSError) as e:
            fan = str(e)
    if args.only in (None, "host"):
        try:
            mem = host_memory(camrig)
        except (RuntimeError, OSError) as e:
            mem = str(e)
        rec, fsrc = host_record(camrig), host_file_source(camrig)
    lsl = host_lsl(camrig) if args.only in (None, "host", "lsl") else None
    if args.only in (None, "guest"):
        guest_rows(g)
    if args.only in (None, "host"):
        host_rows(fan, mem, rec, fsrc)
    if args.only == "fanout":
        host_fanout_rows(fan)
    if lsl is not None:
        lsl_rows(lsl)
    load1 = os.getloadavg()
    guest_cpus = f", guest {g['cpus']} CPUs (QEMU TCG, 10-20x slower)" if g else ""
    print_table(f"camrig pressure suite (issue 18): {SECONDS:g} s windows, host {os.cpu_count()} CPUs{guest_cpus}; "
                f"load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end (a shared machine: other "
                f"jobs ran beside it); {time.monotonic() - started:.0f} s")
    return 0 if g is not None or args.only in ("host", "fanout", "lsl") else 1


if __name__ == "__main__":
    sys.exit(main())
