#!/usr/bin/env python3
"""Fleet benchmarks (issue 15); prints numbers, never fails.

1. MQTT: N camrig daemons (test pattern 160x120 at 5 fps) on loopback with
   one mosquitto; a client (MQTT 3.1.1, written here) sends get_stats to
   each in turn with a JSON id and times each reply: p50 and p99 of the
   round trip, and the CPU of the broker and of the camrigs meanwhile.
2. One camera at 1280x720, 30 fps: camrig publishing RTSP to one reader
   (an ffmpeg listener: no RTSP server that fans a publisher out is
   packaged in Debian, and fan-out is the server's cost, not camrig's)
   against CLIENTS clients reading camrig's MJPEG directly: camrig's CPU
   and the bytes it sent in each case.

usage: bench/fleet.py [--daemons N] [--commands N] [--clients N] [--seconds S]
(CAMRIG=build/camrig; needs mosquitto, ffmpeg, curl)."""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from camrig_test import CAMRIG, Daemon, free_port, wait_until  # noqa: E402
from mqtt_broker import Broker, need_mosquitto  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Mqtt:
    """Just enough MQTT 3.1.1 (OASIS, sections 3.1-3.9) for a benchmark
    client: CONNECT, SUBSCRIBE, PUBLISH QoS 1 and the PUBLISHes it gets."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        cid = b"bench-%d" % os.getpid()
        self._send(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + cid)
        assert self._packet()[0] >> 4 == 2, "no CONNACK"
        self.mid = 0

    @staticmethod
    def _len(n):
        out = b""
        while True:
            b, n = n % 128, n // 128
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    def _send(self, head, body):
        self.s.sendall(bytes([head]) + self._len(len(body)) + body)

    def _read(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _packet(self):
        head = self._read(1)[0]
        mult, n = 1, 0
        while True:
            b = self._read(1)[0]
            n += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        return head, self._read(n)

    def subscribe(self, topic):
        self.mid += 1
        t = topic.encode()
        self._send(0x82, struct.pack("!H", self.mid) + struct.pack("!H", len(t)) + t + b"\x01")
        while self._packet()[0] >> 4 != 9:
            pass

    def publish(self, topic, payload):
        self.mid += 1
        t = topic.encode()
        self._send(0x32, struct.pack("!H", len(t)) + t + struct.pack("!H", self.mid) + payload)

    def message(self):
        """The next PUBLISH: (topic, payload); acknowledges QoS 1."""
        while True:
            head, body = self._packet()
            if head >> 4 != 3:
                continue
            n = struct.unpack("!H", body[:2])[0]
            topic, rest = body[2:2 + n].decode(), body[2 + n:]
            if (head >> 1) & 3:
                self._send(0x40, rest[:2])
                rest = rest[2:]
            return topic, rest


def bench_mqtt(args):
    need_mosquitto()
    # Without it the broker's Nagle meets the client's delayed ACK: 40 ms a reply.
    with Broker(extra="set_tcp_nodelay true") as broker:
        daemons = []
        try:
            for i in range(args.daemons):
                d = Daemon("--source", "test", "--size", "160x120", "--fps", "5", "-o", "mqtt.enabled=true",
                           "-o", f"mqtt.broker=127.0.0.1:{broker.port}", "-o", f"mqtt.client_id=bench-{i}",
                           "-o", f"mqtt.base_topic=bench/{i}", "-o", "mqtt.discovery=false",
                           "-o", "camera.recording.codec=mjpeg")
                daemons.append(d.__enter__())
            for d in daemons:
                wait_until(lambda: d.status().get("mqtt", {}).get("connected"), 20)
            client = Mqtt(broker.port)
            client.subscribe("bench/+/reply")
            rtt = []
            cpu0 = [cpu_s(d.proc.pid) for d in daemons], cpu_s(broker.proc.pid)
            t0 = time.monotonic()
            for n in range(args.commands):
                i = n % args.daemons
                sent = time.monotonic()
                client.publish(f"bench/{i}/command", json.dumps({"command": "get_stats", "id": f"c{n}"}).encode())
                while True:
                    topic, payload = client.message()
                    if topic == f"bench/{i}/reply" and json.loads(payload).get("id") == f"c{n}":
                        break
                rtt.append((time.monotonic() - sent) * 1000)
            wall = time.monotonic() - t0
            camrig_cpu = sum(cpu_s(d.proc.pid) for d in daemons) - sum(cpu0[0])
            broker_cpu = cpu_s(broker.proc.pid) - cpu0[1]
            rtt.sort()
            print(f"MQTT: {args.daemons} camrigs, {args.commands} get_stats commands one at a time in {wall:.1f} s")
            print(f"  round trip p50 {statistics.median(rtt):.1f} ms, p99 {rtt[int(len(rtt) * 0.99) - 1]:.1f} ms, "
                  f"max {rtt[-1]:.1f} ms")
            print(f"  CPU meanwhile: broker {100 * broker_cpu / wall:.1f} % of a core, all camrigs "
                  f"{100 * camrig_cpu / wall:.1f} % ({100 * camrig_cpu / wall / args.daemons:.1f} % each, "
                  "capture at 5 fps included)")
        finally:
            for d in reversed(daemons):
                d.__exit__(None, None, None)


def bench_video(args):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="camrig-bench-")
    common = ("--source", "test", "--size", "1280x720", "--fps", "30")
    server = subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_flags", "listen",
                               "-i", f"rtsp://127.0.0.1:{port}/cam", "-c", "copy", "-f", "null", "-"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with Daemon(*common, "-o", "camera.rtsp.enabled=true", "-o", f"camera.rtsp.url=rtsp://127.0.0.1:{port}/cam",
                "-o", "camera.recording.zerolatency=true") as d:
        wait_until(lambda: d.status()["camera"]["rtsp"]["state"] == "publishing", 30)
        c0, b0 = cpu_s(d.proc.pid), d.status()["camera"]["rtsp"]["bytes"]
        time.sleep(args.seconds)
        cpu, sent = cpu_s(d.proc.pid) - c0, d.status()["camera"]["rtsp"]["bytes"] - b0
    server.terminate()
    server.wait()
    print(f"1280x720 at 30 fps for {args.seconds} s:")
    print(f"  RTSP to one server (libx264 veryfast, zerolatency): camrig {100 * cpu / args.seconds:.1f} % of a core, "
          f"{sent * 8 / args.seconds / 1e6:.2f} Mbit/s sent — the same for any number of viewers of the server")
    with Daemon(*common) as d:
        procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--max-time",
                                   str(args.seconds), d.url("/stream.mjpg")], stdout=subprocess.PIPE, text=True)
                 for _ in range(args.clients)]
        wait_until(lambda: d.status()["clients"]["stream"] >= args.clients, 20)
        c0 = cpu_s(d.proc.pid)
        t0 = time.monotonic()
        total = sum(int(p.communicate()[0] or 0) for p in procs)
        wall = time.monotonic() - t0
        cpu = cpu_s(d.proc.pid) - c0
    print(f"  MJPEG to {args.clients} clients directly: camrig {100 * cpu / wall:.1f} % of a core, "
          f"{total * 8 / args.seconds / 1e6:.2f} Mbit/s sent in all")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemons", type=int, default=20)
    ap.add_argument("--commands", type=int, default=400)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=20)
    a = ap.parse_args()
    print(f"camrig: {CAMRIG}")
    bench_mqtt(a)
    bench_video(a)
