#!/usr/bin/env python3
"""HTTP security: loopback needs nothing; any other listen address needs
credentials (HTTP Basic against crypt(3) hashes, or a bearer token) unless
http.auth is none; secret files readable by others are refused; HTTPS with a
self-signed certificate, and a certificate swapped on disk is served after
SIGHUP without a restart; no secret reaches the log."""
import base64
import os
import signal
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

from camrig_test import CAMRIG, Checks, Daemon, free_port, need, wait_until

need("openssl", "curl")
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-sec-")
PASSWORD = "correct horse battery"
TOKEN = "tok-0123456789abcdef-secret"


def private_file(name, text, mode=0o600):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


hash_ = subprocess.run(["openssl", "passwd", "-6", "-salt", "camrigsalt", PASSWORD], capture_output=True,
                       text=True, check=True).stdout.strip()
passwords = private_file("passwords", f"# camrig users\nalice:{hash_}\n")
token = private_file("token", TOKEN + "\n")


def get(port, path, headers=None, scheme="http", context=None):
    req = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return r.status, r.headers, r.read(200)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def start_fails(config, must_contain, what):
    path = private_file("bad.yaml", config)
    p = subprocess.run([CAMRIG, "run", "--config", path, "--source", "test"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    c.check(p.returncode != 0 and all(s in p.stderr for s in must_contain), what, p.stderr.strip()[-300:])


# Loopback: no credentials needed (the other tests rely on it too).
with Daemon("--source", "test") as d:
    st, _, _ = get(d.port, "/status")
    c.check(st == 200, "loopback: /status needs no credentials")

# Beyond loopback without credentials: refused with a clear line.
start_fails(f"http: {{listen: 0.0.0.0:{free_port()}}}\n", ["not a loopback address", "password_file"],
            "listening beyond loopback without credentials refuses to start")

# Beyond loopback with credentials.
port = free_port()
cfg = f"http:\n  listen: 0.0.0.0:{port}\n  password_file: {passwords}\n  token_file: {token}\n"
d = Daemon("--source", "test", config=cfg, port=port, listen=False).__enter__()
for path in ["/status", "/stream.mjpg", "/snapshot.jpg", "/frame?width=64&height=48", "/index.html"]:
    st, hdr, _ = get(port, path)
    c.check(st == 401 and "Basic" in (hdr.get("WWW-Authenticate") or ""), f"{path} without credentials -> 401",
            str(st))
st, _, _ = get(port, "/status", basic("alice", PASSWORD))
c.check(st == 200, "/status with the right Basic credentials -> 200", str(st))
st, _, _ = get(port, "/status", basic("alice", "wrong"))
c.check(st == 401, "a wrong password -> 401", str(st))
st, _, _ = get(port, "/status", basic("mallory", PASSWORD))
c.check(st == 401, "an unknown user -> 401", str(st))
st, _, _ = get(port, "/status", {"Authorization": "Bearer " + TOKEN})
c.check(st == 200, "the bearer token -> 200", str(st))
st, _, _ = get(port, "/status", {"Authorization": "Bearer " + TOKEN[:-1]})
c.check(st == 401, "a wrong bearer token -> 401", str(st))
p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-d", "get_stats",
                    f"http://127.0.0.1:{port}/api/command"], capture_output=True, text=True)
c.check(p.stdout == "401", "POST /api/command without credentials -> 401", p.stdout)
p = subprocess.run(["curl", "-s", "-u", f"alice:{PASSWORD}", "-X", "POST", "-d", "get_stats",
                    f"http://127.0.0.1:{port}/api/command"], capture_output=True, text=True)
c.check('"ok": true' in p.stdout, "POST /api/command with curl -u -> ok", p.stdout[:200])
rc = d.stop()
c.check(rc == 0, "stops with exit 0", str(rc))
logtext = d.log()
c.check(PASSWORD not in logtext and TOKEN not in logtext and hash_ not in logtext, "no secret in the log")

# auth: none is explicit and works beyond loopback.
port = free_port()
with Daemon("--source", "test", config=f"http: {{listen: 0.0.0.0:{port}, auth: none}}\n", port=port,
            listen=False) as d2:
    st, _, _ = get(port, "/status")
    c.check(st == 200, "http.auth: none serves beyond loopback without credentials", str(st))
    c.check("auth is none" in d2.log(), "and warns about it")

# Secret files readable by others are refused.
loose = private_file("loose-passwords", f"alice:{hash_}\n", 0o644)
start_fails(f"http: {{listen: 0.0.0.0:{free_port()}, password_file: {loose}}}\n",
            ["readable by others", loose], "a password file readable by others is refused")

# HTTPS with a self-signed certificate, reloaded on SIGHUP.
def make_cert(name, cn):
    key, cert = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   capture_output=True, check=True)
    os.chmod(key, 0o600)
    return cert, key


cert1, key1 = make_cert("one", "camrig-one")
cert2, key2 = make_cert("two", "camrig-two")
live_cert, live_key = os.path.join(tmp, "live.pem"), os.path.join(tmp, "live.key")
for src, dst in ((cert1, live_cert), (key1, live_key)):
    with open(src) as f, open(dst, "w") as g:
        g.write(f.read())
os.chmod(live_key, 0o600)
port = free_port()
cfg = f"http: {{listen: 127.0.0.1:{port}, tls_cert: {live_cert}, tls_key: {live_key}}}\n"
d = Daemon("--source", "test", config=cfg, port=port, listen=False).__enter__()


def served_cert():
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port))))


def same_cert(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read()) == ssl.PEM_cert_to_DER_cert(served_cert())


p = subprocess.run(["curl", "-s", "--cacert", cert1, f"https://127.0.0.1:{port}/status"], capture_output=True,
                   text=True)
c.check('"version"' in p.stdout, "HTTPS /status through curl with the self-signed certificate", p.stderr)
c.check(same_cert(cert1), "the first certificate is served")
for src, dst in ((cert2, live_cert), (key2, live_key)):
    with open(src) as f, open(dst, "w") as g:
        g.write(f.read())
d.proc.send_signal(signal.SIGHUP)
wait_until(lambda: "reloaded" in d.log(), 20)
c.check(same_cert(cert2), "after swapping the files and SIGHUP the new certificate is served, no restart")
p = subprocess.run(["curl", "-s", "--cacert", cert2, f"https://127.0.0.1:{port}/status"], capture_output=True,
                   text=True)
c.check('"version"' in p.stdout and d.proc.poll() is None, "and curl trusts it; same process", p.stderr)

# A key that is not the certificate's: on SIGHUP the pair in use stays.
with open(key1) as f, open(live_key, "w") as g:
    g.write(f.read())
d.proc.send_signal(signal.SIGHUP)
wait_until(lambda: "reload failed" in d.log(), 20)
c.check("is not the key of the certificate" in d.log(), "SIGHUP with a mismatched key is refused, with the reason",
        d.log()[-300:])
c.check(same_cert(cert2), "and the pair in use stays (handshakes still work)")
rc = d.stop()
c.check(rc == 0, "HTTPS daemon stops with exit 0", str(rc))
start_fails(f"http: {{listen: 127.0.0.1:{free_port()}, tls_cert: {cert2}, tls_key: {key1}}}\n",
            ["is not the key of the certificate", "tls_key"], "a key that is not the certificate's refuses to start")

os.chmod(live_key, 0o644)
start_fails(f"http: {{listen: 127.0.0.1:{free_port()}, tls_cert: {live_cert}, tls_key: {live_key}}}\n",
            ["readable by others", "tls_key"], "a TLS key readable by others is refused")
c.done()
