"""Debian's mosquitto broker on loopback for camrig's MQTT tests, with
mosquitto_sub and mosquitto_pub as the other clients, and a TCP proxy that
can cut camrig off the broker while the broker stays up."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from camrig_test import _die_with_parent, free_port, log, skip

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def need_mosquitto():
    if not os.access(MOSQUITTO, os.X_OK):
        skip("mosquitto is not installed (apt-get install mosquitto)")
    for p in ("mosquitto_sub", "mosquitto_pub"):
        if not shutil.which(p):
            skip(f"{p} is not installed (apt-get install mosquitto-clients)")


class Broker:
    """A mosquitto on 127.0.0.1:port (free unless given), as the user running
    the test (it reads the test's files), without persistence:
    a restart forgets sessions and retained messages, as a broker that lost
    its disk would. extra: more lines of mosquitto.conf (a TLS listener,
    password_file)."""

    def __init__(self, port=None, extra=""):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="camrig-mqtt-")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.logfile = os.path.join(self.dir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"
                    f"log_dest file {self.logfile}\nlog_type all\n{extra}\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port}:\n{self.log()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def log(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def args(self):
        return ["-h", "127.0.0.1", "-p", str(self.port), "-V", "5"]

    def pub(self, topic, message=None, qos=1, retain=False, props=(), null=False, data=None):
        """mosquitto_pub; props: ("correlation-data", "x"), ... as -D publish."""
        cmd = ["mosquitto_pub", *self.args(), "-q", str(qos), "-t", topic]
        for name, value in props:
            cmd += ["-D", "publish", name, value]
        if retain:
            cmd.append("-r")
        if null:
            cmd.append("-n")
        elif data is not None:
            cmd.append("-s")
        else:
            cmd += ["-m", message]
        subprocess.run(cmd, input=data, check=True, timeout=20, capture_output=True)

    def retained(self, *filters, seconds=2):
        """{topic: payload bytes} of the retained messages under filters."""
        out = subprocess.run(["mosquitto_sub", *self.args(), "-F", "%r %t %x", "--retained-only",
                              "-W", str(seconds), *sum((["-t", f] for f in filters), [])],
                             capture_output=True, text=True, timeout=seconds + 20).stdout
        found = {}
        for line in out.splitlines():
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[0] == "1":
                found[parts[1]] = bytes.fromhex(parts[2]) if len(parts) == 3 else b""
        return found

    def subscribe(self, *filters):
        return Subscription(self, filters)


class Subscription:
    """A mosquitto_sub in the background; messages are (retained, topic,
    payload bytes), in arrival order."""

    def __init__(self, broker, filters):
        self.cond = threading.Condition()
        self.messages = []
        self.proc = subprocess.Popen(["mosquitto_sub", *broker.args(), "-q", "1", "-F", "%r %t %x",
                                      *sum((["-t", f] for f in filters), [])],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) < 2:
                continue
            with self.cond:
                self.messages.append((parts[0] == "1", parts[1], bytes.fromhex(parts[2]) if len(parts) == 3
                                      else b""))
                self.cond.notify_all()

    def on(self, topic):
        with self.cond:
            return [p for r, t, p in self.messages if t == topic]

    def wait(self, topic, count=1, seconds=15):
        """The payloads on topic once there are count of them (or seconds pass)."""
        deadline = time.monotonic() + seconds
        with self.cond:
            while len([1 for _, t, _ in self.messages if t == topic]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        return self.on(topic)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


class Proxy:
    """127.0.0.1:port -> the broker. cut() ends every connection through it
    and refuses new ones until mend(): camrig loses the broker, which keeps
    running (and keeps camrig's session)."""

    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.open:
                    c.close()
                    continue
                try:
                    u = socket.create_connection(("127.0.0.1", self.broker_port), timeout=5)
                except OSError:
                    c.close()
                    continue
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.open = False
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns = []
        log("proxy: cut")

    def mend(self):
        with self.lock:
            self.open = True
        log("proxy: mended")

    def close(self):
        self.cut()
        self.listener.close()
