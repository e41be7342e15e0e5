#!/usr/bin/env python3
"""Where requests may come from (issue 17, item 2): a web page of another
site cannot drive or read camrig, and a DNS name camrig does not know
(DNS rebinding) gets nothing.

- Host must name an address, localhost, this machine or http.hostnames: 421;
  HTTP/1.1 without Host: 400.
- A state-changing request with a foreign Origin or a cross-site
  Sec-Fetch-Site: 403, and nothing is run.
- A state-changing request needs X-Camrig, a non-simple content type or
  Authorization (what a page cannot send without a preflight): 403 naming
  the header otherwise.
- No reply carries a wildcard CORS header; http.cors_origins allows named
  origins, with preflights.
- In headless Chromium, a page on another origin cannot trigger a command
  or read a reply, and camrig refuses to serve under a foreign host name."""
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading

from camrig_test import Checks, Daemon, exchange, free_port, log

c = Checks()


def raw(port, method, path, headers=None, body=b"", version="HTTP/1.1"):
    """Sends exactly these headers (no Host unless given); returns (status,
    headers dict with lowercase names, body)."""
    lines = [f"{method} {path} {version}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    reply = exchange(port, data, timeout=10, half_close=True)
    head, _, rest = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for h in header_lines:
        k, _, v = h.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return int(status_line.split()[1]), hdrs, rest


def commands_run(d):
    """How many commands camrig has run: snapshots saved under its root."""
    root = os.path.join(d.tmp, "recordings")
    return sum(len(files) for _, _, files in os.walk(root))


with Daemon("--source", "test", "--set", "http.hostnames=cam.example.org,*.lab.example.org") as d:
    host = f"127.0.0.1:{d.port}"
    for h, want in ((host, 200), (f"localhost:{d.port}", 200), (f"[::1]:{d.port}", 200),
                    (f"cam.example.org:{d.port}", 200), (f"rig1.lab.example.org:{d.port}", 200),
                    (f"{socket.gethostname()}:{d.port}", 200), (f"evil.example:{d.port}", 421),
                    (f"lab.example.org:{d.port}", 421), (f"cam.example.org.evil.example:{d.port}", 421)):
        st, _, body = raw(d.port, "GET", "/status", {"Host": h})
        c.check(st == want, f"GET /status with Host: {h} -> {want}", f"{st} {body[:120]!r}")
    st, _, body = raw(d.port, "GET", "/status", {"Host": f"evil.example:{d.port}"})
    c.check(b"http.hostnames" in body, "the 421 says which setting allows a name", body[:200])
    st, _, _ = raw(d.port, "GET", "/status")
    c.check(st == 400, "HTTP/1.1 without Host -> 400", str(st))
    st, _, _ = raw(d.port, "GET", "/status", version="HTTP/1.0")
    c.check(st == 200, "HTTP/1.0 without Host -> 200", str(st))

    before = commands_run(d)
    for extra, what in (({"Origin": "http://evil.example"}, "a foreign Origin"),
                        ({"Origin": "null"}, "Origin: null (sandboxed frame)"),
                        ({"Origin": f"http://127.0.0.1:{free_port()}"}, "another port's Origin"),
                        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site: cross-site"),
                        ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site: same-site")):
        hdrs = {"Host": host, "Content-Type": "text/plain", **extra}
        st, _, body = raw(d.port, "POST", "/api/command", hdrs, b"snapshot")
        c.check(st == 403, f"text/plain POST snapshot with {what} -> 403", f"{st} {body[:150]!r}")
        st, _, body = raw(d.port, "POST", "/api/command", {**hdrs, "X-Camrig": "1"}, b"snapshot")
        c.check(st == 403, "... even with X-Camrig", f"{st}")
    st, _, body = raw(d.port, "POST", "/api/command", {"Host": host, "Content-Type": "text/plain"}, b"snapshot")
    c.check(st == 403 and b"X-Camrig" in body, "a simple POST without X-Camrig -> 403 naming the header",
            f"{st} {body[:200]!r}")
    st, _, _ = raw(d.port, "POST", "/api/record/start", {"Host": host})
    c.check(st == 403, "a body-less POST without X-Camrig -> 403", str(st))
    c.check(commands_run(d) == before, "none of the refused requests ran", f"{before} -> {commands_run(d)}")

    st, _, body = raw(d.port, "POST", "/api/command", {"Host": host, "X-Camrig": "1"}, b"snapshot")
    c.check(st == 200, "POST with X-Camrig: 1 -> 200", f"{st} {body[:120]!r}")
    st, _, body = raw(d.port, "POST", "/api/command", {"Host": host, "Content-Type": "application/json"},
                      b'{"command": "get_stats"}')
    c.check(st == 200, "POST with a JSON body -> 200", f"{st} {body[:120]!r}")
    st, _, body = raw(d.port, "POST", "/api/command", {"Host": host, "X-Camrig": "1",
                                                        "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"},
                      b"get_stats")
    c.check(st == 200, "a same-origin POST (camrig's own page) -> 200", f"{st} {body[:120]!r}")
    p = subprocess.run(["curl", "-s", "-H", "X-Camrig: 1", "-d", "get_stats", d.url("/api/command")],
                       capture_output=True, text=True)
    c.check('"ok": true' in p.stdout, "curl -H 'X-Camrig: 1' -d get_stats works", p.stdout[:200])

    wildcard = []
    for path in ("/status", "/snapshot.jpg", "/api/record", "/index.html", "/nope"):
        st, hdrs, _ = raw(d.port, "GET", path, {"Host": host, "Origin": "http://evil.example"})
        if "access-control-allow-origin" in hdrs:
            wildcard.append((path, hdrs["access-control-allow-origin"]))
    c.check(not wildcard, "no reply names an origin that is not allowed", str(wildcard))
    st, hdrs, _ = raw(d.port, "OPTIONS", "/api/command", {"Host": host, "Origin": "http://evil.example",
                                                          "Access-Control-Request-Method": "POST"})
    c.check(st == 403 and "access-control-allow-origin" not in hdrs, "a preflight from a foreign origin -> 403",
            str(st))

dash = "https://dash.example.org"
with Daemon("--source", "test", "--set", f"http.cors_origins={dash}") as d:
    host = f"127.0.0.1:{d.port}"
    st, hdrs, _ = raw(d.port, "OPTIONS", "/api/command", {"Host": host, "Origin": dash,
                                                          "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "content-type"})
    c.check(st == 204 and hdrs.get("access-control-allow-origin") == [dash] and
            "POST" in hdrs.get("access-control-allow-methods", [""])[0],
            "a preflight from an allowed origin -> 204 naming it", f"{st} {hdrs}")
    st, hdrs, body = raw(d.port, "POST", "/api/command", {"Host": host, "Origin": dash,
                                                          "Content-Type": "application/json"},
                         b'{"command": "get_stats"}')
    c.check(st == 200 and hdrs.get("access-control-allow-origin") == [dash] and "origin" in
            hdrs.get("vary", [""])[0].lower(), "its POST runs, and the reply allows it", f"{st} {hdrs}")
    st, hdrs, _ = raw(d.port, "GET", "/status", {"Host": host, "Origin": "https://other.example.org"})
    c.check(st == 200 and "access-control-allow-origin" not in hdrs, "another origin's GET is not allowed to read",
            str(hdrs.get("access-control-allow-origin")))

# A real browser: a page on another origin tries to drive and read camrig.
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    log("SKIP (part): chromium is not installed")
    c.done()

ATTACK = """<!doctype html><meta charset="utf-8"><body><pre id="out">running</pre>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="CAMRIG/api/command" enctype="text/plain" target="sink">
<input name="snapshot" value=""></form>
<script>
(async () => {
  const out = [];
  try { await fetch("CAMRIG/api/command", {method: "POST", body: "snapshot", mode: "no-cors"}); out.push("no-cors-sent"); }
  catch (e) { out.push("no-cors-error"); }
  try { const r = await fetch("CAMRIG/api/command", {method: "POST", body: "snapshot"}); out.push("read:" + (await r.text()).slice(0, 30)); }
  catch (e) { out.push("read-blocked"); }
  try { const r = await fetch("CAMRIG/api/command", {method: "POST", body: "snapshot", headers: {"X-Camrig": "1"}}); out.push("header:" + r.status); }
  catch (e) { out.push("header-blocked"); }
  try { const r = await fetch("CAMRIG/status"); out.push("status:" + (await r.text()).slice(0, 30)); }
  catch (e) { out.push("status-blocked"); }
  document.getElementById("f").submit();
  out.push("form-submitted");
  document.getElementById("out").textContent = out.join("|");
})();
</script>"""


def chromium(url, *args):
    profile = tempfile.mkdtemp(prefix="camrig-chromium-")
    try:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, "--dump-dom", url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=90).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


with Daemon("--source", "test") as d:
    page = ATTACK.replace("CAMRIG", d.base).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        dom = chromium(f"http://127.0.0.1:{srv.server_address[1]}/")
    finally:
        srv.shutdown()
    log("attacker page says:", (dom.split('<pre id="out">')[1].split("</pre>")[0] if '<pre id="out">' in dom
                                else dom[:300]))
    c.check("form-submitted" in dom, "the attacker page ran to the end", dom[:300])
    c.check("read-blocked" in dom and "status-blocked" in dom and "header-blocked" in dom,
            "it could read no reply (no CORS for it), and a custom header was stopped at the preflight")
    c.check(commands_run(d) == 0, "and no snapshot was taken by any of its requests", str(commands_run(d)))
    c.check(d.proc.poll() is None, "camrig still runs")

    # DNS rebinding: a name that points at camrig but is not one camrig knows.
    dom = chromium(f"http://rebind.test:{d.port}/index.html", "--host-resolver-rules=MAP rebind.test 127.0.0.1")
    c.check("not a name camrig is known by" in dom, "served under a foreign DNS name, camrig answers only the "
            "421 reason", dom[:300])
    c.check('id="name"' not in dom, "and not its page", dom[:300])
c.done()
