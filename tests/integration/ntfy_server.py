"""A small ntfy-compatible server for camrig's tests (Python stdlib only,
127.0.0.1 only).

It speaks the parts of ntfy's HTTP API that camrig uses
(docs.ntfy.sh/subscribe/api/ and docs.ntfy.sh/publish/):

  GET  /TOPIC/json?since=X   a stream of JSON lines: an "open" event, the
                             cached messages selected by since (a message id:
                             those after it; a Unix time: those at or after
                             it; "all"; "none" or absent: none), then every new
                             message as it is published, and a "keepalive"
                             event after each `keepalive` seconds of silence.
  POST or PUT /TOPIC         publishes the body with the Title / Priority /
                             Tags headers (and their X- and short aliases);
                             answers the stored message as JSON. With a
                             Filename header the body is an attachment and
                             the text comes in the Message header
                             (docs.ntfy.sh/publish/#attach-local-file).

A message is {"id", "time", "expires", "event": "message", "topic",
"message"[, "title", "priority", "tags"]}. With `token` set, both need
"Authorization: Bearer TOKEN" (else 401 or 403, as ntfy answers).

Test hooks: publish() from the test itself, drop_subscribers() to cut every
stream at once, refuse_for() to answer new subscriptions with 503 for a
while, and the records `posts` (every POST with its headers) and
`subscriptions` (every GET's topic and since); a post's "attachment" is
{"name", "size", "data"} or None."""
import json
import random
import socket
import string
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALIASES = {
    "title": ("x-title", "title", "ti", "t"),
    "priority": ("x-priority", "priority", "prio", "p"),
    "tags": ("x-tags", "tags", "tag", "ta"),
}
PRIORITY_NAMES = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5, "urgent": 5}


def new_id():
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(12))


class _Subscriber:
    def __init__(self, conn):
        self.conn = conn
        self.dropped = False


class NtfyServer:
    def __init__(self, keepalive=5.0, token=None):
        self.keepalive = keepalive
        self.token = token
        self.cond = threading.Condition()
        self.messages = []          # every message, in order
        self.posts = []             # {"topic", "headers" (lower-case), "body", "message"}
        self.subscriptions = []     # {"topic", "since", "auth"}
        self.refused = 0            # subscriptions answered 503
        self.unauthorized = 0       # requests refused for a missing or wrong token
        self._subs = set()
        self._refuse_until = 0.0
        self._closing = False
        handler = type("Handler", (_Handler,), {"ntfy": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="ntfy-server", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        with self.cond:
            self._closing = True
            self.cond.notify_all()
        self.drop_subscribers()
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    # ---- test hooks --------------------------------------------------------

    def publish(self, topic, message, title=None, priority=None, tags=None, at=None):
        """Stores and delivers a message as if a client had POSTed it; at: its
        Unix time (default now). Returns the message."""
        m = {"id": new_id(), "time": int(at if at is not None else time.time()), "event": "message",
             "topic": topic, "message": message}
        m["expires"] = m["time"] + 43200
        if title:
            m["title"] = title
        if priority and priority != 3:
            m["priority"] = priority
        if tags:
            m["tags"] = list(tags)
        with self.cond:
            self.messages.append(m)
            self.cond.notify_all()
        return m

    def drop_subscribers(self):
        """Cuts every open subscription stream now."""
        with self.cond:
            subs = list(self._subs)
            for s in subs:
                s.dropped = True
            self.cond.notify_all()
        for s in subs:
            try:
                s.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(subs)

    def refuse_for(self, seconds):
        """Answers new subscriptions with 503 for `seconds`."""
        with self.cond:
            self._refuse_until = time.monotonic() + seconds

    def subscribers(self):
        with self.cond:
            return len(self._subs)

    def wait(self, predicate, timeout):
        """Waits until predicate() (called under the lock) is true; returns it."""
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    # ---- for the handler ---------------------------------------------------

    def _select(self, topic, since):
        msgs = [m for m in self.messages if m["topic"] == topic]
        if since in (None, "", "none"):
            return []
        if since == "all":
            return msgs
        if since.isdigit():
            return [m for m in msgs if m["time"] >= int(since)]
        for i, m in enumerate(msgs):
            if m["id"] == since:
                return msgs[i + 1:]
        return msgs  # an id the cache no longer has: everything cached, as ntfy does


class _Handler(BaseHTTPRequestHandler):
    ntfy = None  # set per server
    protocol_version = "HTTP/1.0"  # a stream ends when the connection closes

    def log_message(self, fmt, *args):
        pass

    def _authorized(self):
        if not self.ntfy.token:
            return True
        auth = self.headers.get("Authorization")
        if auth == f"Bearer {self.ntfy.token}":
            return True
        with self.ntfy.cond:
            self.ntfy.unauthorized += 1
        code = 401 if auth is None else 403
        self._reply(code, {"code": code * 100 + 1, "http": code, "error": "unauthorized" if code == 401 else "forbidden"})
        return False

    def _reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 2 or parts[1] != "json":
            return self._reply(404, {"code": 40401, "http": 404, "error": "page not found"})
        topic = parts[0]
        since = urllib.parse.parse_qs(url.query).get("since", [None])[0]
        srv = self.ntfy
        with srv.cond:
            srv.subscriptions.append({"topic": topic, "since": since,
                                      "auth": self.headers.get("Authorization")})
        if not self._authorized():
            return
        with srv.cond:
            if time.monotonic() < srv._refuse_until:
                srv.refused += 1
                refuse = True
            else:
                refuse = False
                sub = _Subscriber(self.connection)
                srv._subs.add(sub)
                backlog = srv._select(topic, since)
                seen = len(srv.messages)
        if refuse:
            return self._reply(503, {"code": 50301, "http": 503, "error": "service unavailable"})
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
            self.end_headers()
            self._line({"id": new_id(), "time": int(time.time()), "event": "open", "topic": topic})
            for m in backlog:
                self._line(m)
            while True:
                with srv.cond:
                    srv.cond.wait_for(lambda: sub.dropped or srv._closing or len(srv.messages) > seen,
                                      srv.keepalive)
                    if sub.dropped or srv._closing:
                        return
                    new = [m for m in srv.messages[seen:] if m["topic"] == topic]
                    seen = len(srv.messages)
                if not new:
                    self._line({"id": new_id(), "time": int(time.time()), "event": "keepalive", "topic": topic})
                for m in new:
                    self._line(m)
        except OSError:
            pass
        finally:
            with srv.cond:
                srv._subs.discard(sub)
                srv.cond.notify_all()

    def _line(self, obj):
        self.wfile.write((json.dumps(obj) + "\n").encode())
        self.wfile.flush()

    def _publish(self):
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 1 or not parts[0]:
            return self._reply(404, {"code": 40401, "http": 404, "error": "page not found"})
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        attachment = None
        filename = next((headers[a] for a in ("x-filename", "filename", "file", "f") if a in headers), None)
        if filename is not None:  # PUT of a file: the text comes in a header
            attachment = {"name": filename, "size": len(raw), "data": raw}
            body = next((headers[a] for a in ("x-message", "message", "m") if a in headers),
                        f"You received a file: {filename}")
        else:
            body = raw.decode("utf-8", "replace")
        if not self._authorized():
            return
        fields = {}
        for name, aliases in ALIASES.items():
            for a in aliases:
                if a in headers:
                    fields[name] = headers[a]
                    break
        prio = fields.get("priority")
        prio = PRIORITY_NAMES.get(prio, int(prio) if prio and prio.isdigit() else 3)
        tags = [t.strip() for t in fields["tags"].split(",")] if fields.get("tags") else None
        m = self.ntfy.publish(parts[0], body, title=fields.get("title"), priority=prio, tags=tags)
        with self.ntfy.cond:
            self.ntfy.posts.append({"topic": parts[0], "headers": headers, "body": body, "message": m,
                                    "method": self.command, "attachment": attachment})
            self.ntfy.cond.notify_all()
        self._reply(200, m)

    do_POST = _publish
    do_PUT = _publish


if __name__ == "__main__":
    with NtfyServer() as s:
        print(f"ntfy-compatible test server on {s.url}; Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
