"""camrig against ustreamer on the same V4L2 device, run inside the vivid guest
by bench/v4l2_vs_ustreamer.sh (it works on any machine with a capture device).

Each server in turn captures /dev/video0 at 640x480 YUYV 25 fps with 4 mmap
buffers, 2 JPEG workers and JPEG quality 80 (camrig's pre-trigger video
encoder off: ustreamer records nothing); after a warm-up, CLIENTS curl
processes read its MJPEG stream for SECONDS each, at the same time. Printed:
  fps/client   complete JPEG parts each client received / SECONDS
  CPU ms/frame the server's CPU time (utime + stime from /proc/PID/stat)
               during the window / the mean frames per client, i.e. the cost
               of capturing, encoding once and sending a frame to every client
  CPU %        that CPU time / SECONDS (100 % = one core)
  peak RSS     VmHWM from /proc/PID/status at the end, MiB
A benchmark: prints numbers, never fails on them. Exit 1 only if a server
could not start. Environment: CAMRIG (binary), USTREAMER, DEVICE, BENCH_SECONDS, BENCH_CLIENTS."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CAMRIG = os.environ.get("CAMRIG", "camrig")
USTREAMER = os.environ.get("USTREAMER", "ustreamer")
DEVICE = os.environ.get("DEVICE", "/dev/video0")
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
WARMUP = 3.0
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) / 1024 if m else float("nan")


def wait_http(url, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def count_parts(body_path, headers_path):
    """Complete JPEG parts in a multipart/x-mixed-replace body."""
    with open(headers_path, "rb") as f:
        m = re.search(rb"boundary=\"?([^\";\r\n]+)", f.read(), re.I)
    with open(body_path, "rb") as f:
        body = f.read()
    if not m:
        return 0, len(body)
    parts = body.split(b"--" + m.group(1))
    return sum(1 for p in parts if b"\xff\xd8" in p and p.rstrip(b"\r\n-").endswith(b"\xff\xd9")), len(body)


def measure(name, cmd, stream_url, ready_url, tmp):
    log_path = os.path.join(tmp, f"{name}.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        if not wait_http(ready_url, proc):
            print(f"{name}: did not start; its log:\n" + open(log_path).read()[-2000:], flush=True)
            return None
        time.sleep(WARMUP)
        clients = []
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        for i in range(CLIENTS):
            body, hdr = os.path.join(tmp, f"{name}-{i}.body"), os.path.join(tmp, f"{name}-{i}.hdr")
            clients.append((subprocess.Popen(["curl", "-s", "-N", "--max-time", str(SECONDS), "-D", hdr,
                                              "-o", body, stream_url]), body, hdr))
        for c, _, _ in clients:
            c.wait()
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        rss = peak_rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    frames = [count_parts(body, hdr)[0] for _, body, hdr in clients]
    mean = sum(frames) / len(frames)
    cpu = cpu1 - cpu0
    return {
        "fps": [f / SECONDS for f in frames],
        "cpu_ms_per_frame": 1000 * cpu / mean if mean else float("nan"),
        "cpu_pct": 100 * cpu / (t1 - t0),
        "rss": rss,
    }


def main():
    common = dict(w=640, h=480, fps=25, q=80)
    tmp = tempfile.mkdtemp(prefix="camrig-bench-")
    results = {}

    port = free_port()
    results["camrig"] = measure(
        "camrig",
        [CAMRIG, "run", "--source", f"v4l2:{DEVICE}", "--size", "640x480", "--fps", "25", "--format", "YUYV",
         "--listen", f"127.0.0.1:{port}", "-o", "camera.jpeg.quality=80", "-o", "camera.buffers=4",
         "-o", "camera.jpeg.workers=2", "-o", "camera.recording.pre_trigger=0", "--log-level", "warn"],
        f"http://127.0.0.1:{port}/stream.mjpg", f"http://127.0.0.1:{port}/status", tmp)

    port = free_port()
    results["ustreamer"] = measure(
        "ustreamer",
        [USTREAMER, "--device", DEVICE, "--resolution", "640x480", "--format", "YUYV", "--desired-fps", "25",
         "--quality", "80", "--buffers", "4", "--workers", "2", "--encoder", "CPU", "--host", "127.0.0.1",
         "--port", str(port)],
        f"http://127.0.0.1:{port}/stream", f"http://127.0.0.1:{port}/state", tmp)

    print(f"\n{DEVICE} {common['w']}x{common['h']} YUYV {common['fps']} fps, JPEG quality {common['q']}, "
          f"{CLIENTS} stream clients x {SECONDS:g} s, {os.cpu_count()} CPUs", flush=True)
    print(f"{'server':<10} {'fps/client':>22} {'CPU ms/frame':>13} {'CPU %':>7} {'peak RSS MiB':>13}")
    failed = False
    for name, r in results.items():
        if r is None:
            print(f"{name:<10} did not start")
            failed = True
            continue
        fps = ", ".join(f"{f:.1f}" for f in r["fps"])
        print(f"{name:<10} {fps:>22} {r['cpu_ms_per_frame']:>13.1f} {r['cpu_pct']:>7.1f} {r['rss']:>13.1f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
