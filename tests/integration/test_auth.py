#!/usr/bin/env python3
"""Guessing credentials is slow and visible (issue 17, item 8):

- a wrong user name costs what a wrong password costs: each refusal adds
  exactly one to the daemon's count of crypt(3) checks (/status
  http.password_checks), for the known alice as for the unknown mallory,
  even with alice's password; before the fix an unknown name was refused
  without running crypt, 14x faster. Each attempt comes from its own
  loopback address so that no throttling mixes in, and /status is read
  with a bearer token, which runs no crypt. bench/auth_timing.py prints
  the refusal times;
- after 5 failures in a row from one address, attempts get 429 with
  Retry-After (even with the right password), unchecked (no crypt), until
  the penalty passes; the failures are logged; a success afterwards works;
- `camrig record` takes credentials from --credentials FILE or
  $CAMRIG_CREDENTIALS, and warns about --user (the password shows in ps)."""
import base64
import http.client
import json
import os
import subprocess
import tempfile

from camrig_test import CAMRIG, Checks, Daemon, free_port, need, wait_until

need("openssl")
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-auth-")
PASSWORD = "correct horse battery"
TOKEN = "camrig-auth-test-token-0123456789"


def private_file(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


hash_ = subprocess.run(["openssl", "passwd", "-6", "-salt", "camrigsalt", PASSWORD], capture_output=True,
                       text=True, check=True).stdout.strip()
passwords = private_file("passwords", f"alice:{hash_}\n")
tokens = private_file("token", TOKEN + "\n")


def request(port, authorization, source):
    """(status, headers, body) of GET /status with this Authorization header from source."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    conn.request("GET", "/status", headers={"Authorization": authorization})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r.headers, body


def get(port, user, password, source="127.0.0.1"):
    """(status, headers) of GET /status with Basic credentials from source."""
    st, headers, _ = request(port, "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(), source)
    return st, headers


def password_checks(port):
    """The daemon's count of crypt(3) checks, read with the bearer token (which runs none)."""
    st, _, body = request(port, "Bearer " + TOKEN, "127.0.0.1")
    if st != 200:
        c.check(False, "/status with the bearer token -> 200", str(st))
    return json.loads(body)["http"]["password_checks"]


port = free_port()
with Daemon("--source", "test", config=f"http:\n  listen: 127.0.0.1:{port}\n  password_file: {passwords}\n"
            f"  token_file: {tokens}\n", port=port, listen=False) as d:
    n = password_checks(d.port)
    c.check(password_checks(d.port) == n, "the bearer token checks no password", str(n))
    st, _ = get(d.port, "alice", PASSWORD)
    c.check(st == 200, "the right password -> 200", str(st))
    c.check(password_checks(d.port) == n + 1, "the right password: one crypt check")

    # No enumeration: every refusal, known name or not, is one crypt check
    # (interleaved, a fresh source address each: 127.0.1.2 ...).
    cases = [("alice", "wrong password"), ("mallory", "wrong password"), ("mallory", PASSWORD)]
    for i in range(12):
        user, password = cases[i % len(cases)]
        src = f"127.0.1.{2 + i}"
        n = password_checks(d.port)
        st, _ = get(d.port, user, password, src)
        added = password_checks(d.port) - n
        c.check(st == 401 and added == 1, f"{user}:{password!r} from {src} -> 401 after exactly one crypt check",
                f"{st}, {added} checks")

    # Throttling: one address fails again and again.
    src = "127.0.9.9"
    n = password_checks(d.port)
    codes = [get(d.port, "alice", f"guess {i}", src)[0] for i in range(6)]
    c.check(codes == [401] * 6, "the first 6 wrong passwords -> 401", str(codes))
    c.check(password_checks(d.port) == n + 6, "each checked once")
    st, hdrs = get(d.port, "alice", PASSWORD, src)
    c.check(st == 429 and int(hdrs.get("Retry-After", "0")) >= 1,
            "then even the right password -> 429 with Retry-After", f"{st} {dict(hdrs)}")
    c.check(password_checks(d.port) == n + 6, "a throttled attempt is not checked")
    c.check(get(d.port, "alice", PASSWORD, "127.0.9.10")[0] == 200, "another address is not affected")
    c.check(wait_until(lambda: "failed authentication attempt" in d.log() and "127.0.9.9" in d.log(), 10),
            "the failures are logged with the address")
    c.check(d.log().count("127.0.9.9") <= 2, "logged at most once a minute (plus the one that starts the penalty)",
            str(d.log().count("127.0.9.9")))
    ok = wait_until(lambda: get(d.port, "alice", PASSWORD, src)[0] == 200, 30, step=0.5)
    c.check(ok, "after the penalty the right password works again")

    # camrig record's credentials.
    creds = private_file("creds", f"alice:{PASSWORD}\n")
    listen = f"127.0.0.1:{d.port}"
    p = subprocess.run([CAMRIG, "record", "start", "--listen", listen, "--credentials", creds], capture_output=True,
                       text=True, timeout=30)
    c.check(p.returncode == 0 and '"ok": true' in p.stdout, "camrig record start --credentials FILE",
            p.stdout[-200:] + p.stderr[-200:])
    p = subprocess.run([CAMRIG, "record", "stop", "--listen", listen], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, CAMRIG_CREDENTIALS=f"alice:{PASSWORD}"))
    c.check(p.returncode == 0, "camrig record stop with $CAMRIG_CREDENTIALS", p.stderr[-200:])
    p = subprocess.run([CAMRIG, "record", "stop", "--listen", listen, "--user", f"alice:{PASSWORD}"],
                       capture_output=True, text=True, timeout=30)
    c.check("ps" in p.stderr and "--credentials" in p.stderr, "--user warns that ps shows the password",
            p.stderr[-200:])
    os.chmod(creds, 0o644)
    p = subprocess.run([CAMRIG, "record", "stop", "--listen", listen, "--credentials", creds], capture_output=True,
                       text=True, timeout=30)
    c.check(p.returncode == 1 and "readable by others" in p.stderr, "a credentials file others can read is refused",
            p.stderr[-200:])
    c.check(PASSWORD not in d.log(), "no password in the log")
c.done()
