"""A minimal Lab Streaming Layer inlet in plain Python 3 (socket, struct,
xml.etree), written from doc/lsl-protocol.md and nothing else.

It is the client side of what camrig's outlet implements: resolving a stream
over UDP (section 2), reading its full info and opening a protocol-1.10 stream
feed over TCP (section 3), and the time-correction exchange (section 4).

    infos = resolve(query_for(name="front"))
    info = infos[0]
    full = fullinfo(info)
    feed = Feed(info)                       # checks the response and test patterns
    timestamp, values = feed.read_sample()
    offset, rtt = time_correction(info)
"""

import select
import socket
import struct
import time
import xml.etree.ElementTree as ET

MULTICAST_PORT = 16571
BASE_PORT = 16572
PORT_RANGE = 32
GROUPS = ("224.0.0.1", "224.0.0.183", "239.255.172.215")

TAG_DEDUCED = 1
TAG_TRANSMITTED = 2
TEST_PATTERN_TIMESTAMP = 123456.789
FIELDS = ("name", "type", "channel_count", "channel_format", "source_id", "nominal_srate",
          "version", "created_at", "uid", "session_id", "hostname", "v4address", "v4data_port",
          "v4service_port", "v6address", "v6data_port", "v6service_port")


class ProtocolError(Exception):
    pass


def lsl_clock():
    """LSL's clock: CLOCK_MONOTONIC in seconds (doc section 1)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def query_for(session_id="default", **props):
    """The predicate a liblsl resolver sends (doc 2.3)."""
    terms = ["session_id='%s'" % session_id] + ["%s='%s'" % kv for kv in props.items()]
    return " and ".join(terms)


def parse_info(text):
    """Parses shortinfo/fullinfo XML into a dict of the top-level fields, plus
    'xml' (the ElementTree root of <info>)."""
    root = ET.fromstring(text)
    if root.tag != "info":
        raise ProtocolError("stream info root is <%s>" % root.tag)
    info = {f: (root.findtext(f) or "") for f in FIELDS}
    info["xml"] = root
    return info


def shortinfo_request(query, return_port, query_id):
    return ("LSL:shortinfo\r\n%s\r\n%d %s\r\n" % (query, return_port, query_id)).encode()


def resolve(query, targets=(("127.0.0.1", MULTICAST_PORT),), timeout=1.0, multicast_if=None,
            query_id="4242", repeat=2):
    """Sends an LSL:shortinfo query to each (host, port) in targets and gathers
    the replies for timeout seconds. Multicast targets go out through
    multicast_if (an interface address) if given. Returns a list of info dicts
    (one per uid), each with 'v4address' set from the reply's source address
    and 'reply_from' = (address, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if multicast_if:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(multicast_if))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    message = shortinfo_request(query, sock.getsockname()[1], query_id)
    results = {}
    try:
        deadline = time.monotonic() + timeout
        resend = time.monotonic()
        sent = 0
        while time.monotonic() < deadline:
            if sent < repeat and time.monotonic() >= resend:
                for target in targets:
                    try:
                        sock.sendto(message, target)
                    except OSError:
                        pass
                sent += 1
                resend = time.monotonic() + timeout / (repeat + 1)
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            data, addr = sock.recvfrom(65536)
            head, sep, body = data.partition(b"\n")
            if not sep or head.strip().decode(errors="replace") != query_id:
                continue
            info = parse_info(body)
            if not info["v4address"]:
                info["v4address"] = addr[0]
            info["reply_from"] = addr
            results.setdefault(info["uid"], info)
    finally:
        sock.close()
    return list(results.values())


def known_peer_targets(host="127.0.0.1"):
    """liblsl's KnownPeers targets: the service ports of one host (doc 2.1)."""
    return [(host, p) for p in range(BASE_PORT, BASE_PORT + PORT_RANGE)]


def _tcp(info, timeout):
    return socket.create_connection((info["v4address"], int(info["v4data_port"])), timeout=timeout)


def read_to_eof(sock, limit=1 << 20):
    chunks = []
    total = 0
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        total += len(data)
        if total > limit:
            raise ProtocolError("reply larger than %d bytes" % limit)


def fullinfo(info, timeout=5.0):
    """LSL:fullinfo over TCP (doc 3.1): the full info dict."""
    with _tcp(info, timeout) as sock:
        sock.sendall(b"LSL:fullinfo\r\n")
        return parse_info(read_to_eof(sock))


def shortinfo_tcp(info, query, timeout=5.0):
    """LSL:shortinfo over TCP (doc 3.2): the info dict, or None for no match."""
    with _tcp(info, timeout) as sock:
        sock.sendall(("LSL:shortinfo\r\n%s\r\n" % query).encode())
        data = read_to_eof(sock)
    return parse_info(data) if data else None


def test_pattern(offset, channels=3):
    """The values of a double64 test-pattern sample (doc 3.3)."""
    return [float((k + offset + 16777217) * (1 if k % 2 == 0 else -1)) for k in range(channels)]


def feed_request(uid, max_buflen=360 * 100, headers=None, version=110):
    lines = ["LSL:streamfeed/%d %s" % (version, uid)]
    hdr = {
        "Native-Byte-Order": "1234", "Endian-Performance": "0", "Has-IEEE754-Floats": "1",
        "Supports-Subnormals": "1", "Value-Size": "8", "Data-Protocol-Version": str(version),
        "Max-Buffer-Length": str(max_buflen), "Max-Chunk-Length": "0",
        "Hostname": "lsl_inlet.py", "Source-Id": "", "Session-Id": "default",
    }
    hdr.update(headers or {})
    lines += ["%s: %s" % kv for kv in hdr.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Feed:
    """A protocol-1.10 stream feed (doc 3.3). Opening it sends the request,
    reads the response header and checks the two test patterns."""

    def __init__(self, info, max_buflen=36000, headers=None, timeout=5.0, rcvbuf=None, channels=3):
        self.channels = channels
        self.sample_size = 1 + 8 + 8 * channels
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((info["v4address"], int(info["v4data_port"])))
        self.buf = b""
        self.sock.sendall(feed_request(info["uid"], max_buflen, headers))
        status = self._line()
        parts = status.split()
        if len(parts) < 3 or not parts[0].startswith("LSL/"):
            raise ProtocolError("malformed response line %r" % status)
        self.status = int(parts[1])
        if self.status != 200:
            raise ProtocolError("outlet answered %r" % status)
        self.headers = {}
        while True:
            line = self._line()
            if not line:
                break
            key, _, value = line.partition(":")
            self.headers[key.strip().lower()] = value.strip()
        order = int(self.headers.get("byte-order", "1234"))
        self.endian = {1234: "<", 4321: ">"}.get(order)
        if self.endian is None:
            raise ProtocolError("unsupported byte order %d" % order)
        if self.headers.get("data-protocol-version") != "110":
            raise ProtocolError("data protocol %r" % self.headers.get("data-protocol-version"))
        if self.headers.get("uid") != info["uid"]:
            raise ProtocolError("uid %r, expected %r" % (self.headers.get("uid"), info["uid"]))
        self.raw_test_patterns = []
        for offset in (4, 2):
            raw = self._exact(self.sample_size)
            self.raw_test_patterns.append(raw)
            ts, values = self._decode(raw)
            if ts != TEST_PATTERN_TIMESTAMP or values != test_pattern(offset, channels):
                raise ProtocolError("test pattern %d mismatch: %r %r" % (offset, ts, values))

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("outlet closed the stream")
        self.buf += data

    def _line(self, limit=4096):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise ProtocolError("header line too long")
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode().strip()

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _decode(self, raw):
        tag = raw[0]
        if tag != TAG_TRANSMITTED:
            raise ProtocolError("sample tag %d" % tag)
        ts = struct.unpack(self.endian + "d", raw[1:9])[0]
        values = list(struct.unpack(self.endian + "%dd" % self.channels, raw[9:]))
        return ts, values

    def read_sample(self):
        """(timestamp, [frame_number, trigger_time, trigger_type])."""
        return self._decode(self._exact(self.sample_size))

    def close(self):
        self.sock.close()


def time_probe(info, wave_id=7, timeout=1.0, sock=None):
    """One LSL:timedata exchange with the service port (doc 4). Returns
    (t0, t1, t2, t3) or None on timeout."""
    own = sock is None
    if own:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t0 = lsl_clock()
        sock.sendto(("LSL:timedata\r\n%d %.16g\r\n" % (wave_id, t0)).encode(),
                    (info["v4address"], int(info["v4service_port"])))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            data, _ = sock.recvfrom(4096)
            t3 = lsl_clock()
            parts = data.decode().split()
            if len(parts) == 4 and int(parts[0]) == wave_id:
                return (float(parts[1]), float(parts[2]), float(parts[3]), t3)
        return None
    finally:
        if own:
            sock.close()


def time_correction(info, probes=8, interval=0.064):
    """Estimates the offset (remote clock - local clock) as liblsl does: the
    probe with the smallest round-trip time wins. Returns (offset, rtt)."""
    best = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(probes):
            r = time_probe(info, wave_id=1000 + i, sock=sock)
            if r:
                t0, t1, t2, t3 = r
                rtt = (t3 - t0) - (t2 - t1)
                offset = ((t1 - t0) + (t2 - t3)) / 2
                if best is None or rtt < best[1]:
                    best = (offset, rtt)
            time.sleep(interval)
    if best is None:
        raise ProtocolError("no timedata reply")
    return best
