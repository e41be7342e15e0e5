"""A minimal Lab Streaming Layer inlet in plain Python 3 (socket, struct,
xml.etree), written from doc/lsl-protocol.md and nothing else.

It is the client side of what camrig's outlet implements: resolving a stream
over UDP (section 2), reading its full info and opening a protocol-1.10 stream
feed over TCP (section 3), and the time-correction exchange (section 4).

    infos = resolve(query_for(name="front"))
    info = infos[0]
    full = fullinfo(info)
    feed = Feed(info)                       # checks the response and test patterns
    timestamp, values = feed.read_sample()  # values: numbers, or str for a "string" stream
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
# channel_format -> (struct code, the Value-Size a liblsl inlet sends: sizeof
# the C++ type; std::string is 32 bytes on 64-bit Linux, and an outlet
# ignores it for strings), test-pattern base (liblsl sample.cpp).
FORMATS = {
    "float32": ("f", 4, 0), "double64": ("d", 8, 16777217), "string": (None, 32, None),
    "int32": ("i", 4, 65537), "int16": ("h", 2, 257), "int8": ("b", 1, 1), "int64": ("q", 8, 2147483649),
}
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


def resolve(query, targets=(("127.0.0.1", MULTICAST_PORT),), timeout=10.0, multicast_if=None,
            query_id="4242", repeat=2, want=1):
    """Sends an LSL:shortinfo query to each (host, port) in targets and gathers
    the replies until want is met or timeout seconds pass: want=1 (the
    default) one stream, a list of uids every one of them, None the whole
    timeout. A check that a stream answers so waits for its answer however
    busy the machine, and one that it does not passes a short timeout.
    Multicast targets go out through multicast_if (an interface address) if
    given. Returns a list of info dicts (one per uid), each with 'v4address'
    set from the reply's source address and 'reply_from' = (address, port)."""
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
            if want == 1 or (isinstance(want, (list, tuple, set)) and set(want) <= set(results)):
                break
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


def test_pattern(offset, channels=3, channel_format="double64"):
    """The values of a test-pattern sample (doc 3.3): numbers +-(k + offset +
    base), negative for odd k; for strings the text of +-(k + 10), whatever the
    offset."""
    code, _, base = FORMATS[channel_format]
    sign = [1 if k % 2 == 0 else -1 for k in range(channels)]
    if code is None:
        return [str((k + 10) * sign[k]) for k in range(channels)]
    if code in "fd":
        return [float((k + offset + base) * sign[k]) for k in range(channels)]
    return [(k + offset + base) * sign[k] for k in range(channels)]


def feed_request(uid, max_buflen=360 * 100, headers=None, version=110, channel_format="double64"):
    """The request a liblsl inlet sends (data_receiver.cpp), for a stream of
    channel_format."""
    lines = ["LSL:streamfeed/%d %s" % (version, uid)]
    hdr = {
        "Native-Byte-Order": "1234", "Endian-Performance": "0", "Has-IEEE754-Floats": "1",
        "Supports-Subnormals": "1" if channel_format in ("float32", "double64") else "0",
        "Value-Size": str(FORMATS[channel_format][1]), "Data-Protocol-Version": str(version),
        "Max-Buffer-Length": str(max_buflen), "Max-Chunk-Length": "0",
        "Hostname": "lsl_inlet.py", "Source-Id": "", "Session-Id": "default",
    }
    hdr.update(headers or {})
    lines += ["%s: %s" % kv for kv in hdr.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Feed:
    """A protocol-1.10 stream feed (doc 3.3). Opening it sends the request,
    reads the response header and checks the two test patterns. The channel
    count and format come from info (a resolved or full info), unless given."""

    def __init__(self, info, max_buflen=36000, headers=None, timeout=5.0, rcvbuf=None, channels=None,
                 channel_format=None):
        self.channels = channels or int(info.get("channel_count") or 3)
        self.channel_format = channel_format or info.get("channel_format") or "double64"
        if self.channel_format not in FORMATS:
            raise ProtocolError("channel format %r" % self.channel_format)
        self.code, self.value_size, _ = FORMATS[self.channel_format]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((info["v4address"], int(info["v4data_port"])))
        self.buf = b""
        self.sock.sendall(feed_request(info["uid"], max_buflen, headers, channel_format=self.channel_format))
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
            raw, ts, values = self._read()
            self.raw_test_patterns.append(raw)
            if ts != TEST_PATTERN_TIMESTAMP or values != test_pattern(offset, self.channels, self.channel_format):
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

    def _read(self):
        """One sample [sample.cpp: save_streambuf]: (raw bytes, timestamp,
        values). A string channel is a byte giving the width of the length
        (1, 4 or 8), the length in that width, then the UTF-8 bytes."""
        raw = self._exact(1 + 8)
        if raw[0] != TAG_TRANSMITTED:
            raise ProtocolError("sample tag %d" % raw[0])
        ts = struct.unpack(self.endian + "d", raw[1:9])[0]
        if self.code is not None:
            data = self._exact(self.value_size * self.channels)
            return raw + data, ts, list(struct.unpack(self.endian + "%d%s" % (self.channels, self.code), data))
        values = []
        for _ in range(self.channels):
            width = self._exact(1)
            code = {1: "B", 4: "I", 8: "Q"}.get(width[0])
            if code is None:
                raise ProtocolError("string length of width %d" % width[0])
            size = self._exact(width[0])
            length = struct.unpack(self.endian + code, size)[0]
            if length > 1 << 24:
                raise ProtocolError("string of %d bytes" % length)
            text = self._exact(length)
            raw += width + size + text
            values.append(text.decode("utf-8"))
        return raw, ts, values

    def read_sample(self):
        """(timestamp, values): [frame_number, trigger_time, trigger_type] for
        a camrig frames stream, [text] for a markers stream."""
        _, ts, values = self._read()
        return ts, values

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
