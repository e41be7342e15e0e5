#!/usr/bin/env python3
"""The MCP server against the official MCP TypeScript SDK client
(tests/mcp/client.mjs, @modelcontextprotocol/sdk installed by
scripts/install-deps.sh test), over Streamable HTTP (the daemon's /mcp) and
over stdio (`camrig mcp`): initialize, tools/list (every tool has a schema),
a recording started and stopped through tools (its sidecar says trigger
mcp), snapshot returning a JPEG that decodes, bad arguments as tool errors
with the HTTP API's one-line reasons, resources; /mcp off loopback refused
without credentials and served with them."""
import json
import os
import shutil
import subprocess
import tempfile

from camrig_test import CAMRIG, Checks, Daemon, ffprobe_image, free_port, log, need, skip
from record_util import sidecar

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.join(HERE, "..", "mcp")
CLIENT = os.path.join(CLIENT_DIR, "client.mjs")
need("node", "ffprobe")
if not os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "@modelcontextprotocol", "sdk")):
    skip("the MCP SDK client is not installed (scripts/install-deps.sh test installs it into tests/mcp/)")
c = Checks()
TOOLS = {"list_cameras", "get_status", "start_recording", "stop_recording", "snapshot", "set_control",
         "list_controls", "timelapse", "list_recordings", "verify_recording", "check_runtime_requirements"}


def client(*args):
    p = subprocess.run(["node", CLIENT, *args], capture_output=True, text=True, timeout=180)
    log(p.stderr[-2000:]) if p.stderr.strip() else None
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"fatal": f"no result (exit {p.returncode}): {p.stdout[-500:]} {p.stderr[-500:]}"}


def judge(d, out, what, http_error):
    c.check("fatal" not in out and "connectError" not in out, f"{what}: the SDK client ran",
            out.get("fatal") or out.get("connectError"))
    if "fatal" in out or "connectError" in out:
        return
    c.check(out["server"]["name"] == "camrig", f"{what}: initialize names the server", str(out.get("server")))
    names = {t["name"] for t in out["tools"]}
    c.check(TOOLS <= names and "quit" not in names, f"{what}: tools/list has every tool (not quit)",
            str(sorted(names)))
    c.check(all(t["schema"].get("type") == "object" and isinstance(t["schema"].get("properties"), dict) and
                t["description"] for t in out["tools"]), f"{what}: every tool has a schema and a description")
    c.check(out["cameras"]["cameras"][0]["name"] == "camera", f"{what}: list_cameras", str(out["cameras"]))
    start, stop = out["start"], out["stop"]
    c.check(not start["isError"] and start["reply"]["trigger"] == "mcp" and out["written"] >= 10 and
            not stop["isError"] and stop["reply"]["stopped"] == 1, f"{what}: a recording started and stopped by tools",
            json.dumps([start, out["written"], stop])[:400])
    path = os.path.join(d.tmp, stop["reply"]["files"][0])
    header, rows, end = sidecar(path)
    c.check(header.get("trigger") == "mcp" and rows and all(r["trigger"] == "mcp" for r in rows) and end,
            f"{what}: its sidecar says trigger mcp", str(header))
    listed = [r for r in out["recordings"] if r.get("file") == stop["reply"]["files"][0]]
    c.check(listed and listed[0].get("frames", 0) >= 10 and listed[0].get("complete") is True and
            listed[0].get("sidecar"), f"{what}: list_recordings lists it with what its sidecar says",
            json.dumps(out["recordings"])[:400])
    c.check(out["verify"] and not out["verify"]["isError"] and out["verify"]["reply"]["result"] == "ok",
            f"{what}: verify_recording accepts it", str(out.get("verify"))[:300])
    c.check(out["verifyOutside"]["isError"] and "is not a recording camrig wrote" in out["verifyOutside"]["text"],
            f"{what}: verify_recording refuses a file outside the recording root", str(out["verifyOutside"]))
    snap = out["snapshot"]
    shot = out["snapshot_file"]
    ok = not snap["isError"] and snap["mimeType"] == "image/jpeg" and os.path.getsize(shot) == snap["bytes"] > 0
    c.check(ok and ffprobe_image(open(shot, "rb").read())[:3] == ("mjpeg", 640, 480),
            f"{what}: snapshot returns a JPEG that decodes (640x480)", str(snap))
    c.check(out["badDuration"]["isError"] and out["badDuration"]["text"] == http_error,
            f"{what}: a bad argument is a tool error with the HTTP API's reason", out["badDuration"]["text"])
    c.check(out["unknownArg"]["isError"] and 'unknown argument "force" (expected discard, camera)' in
            out["unknownArg"]["text"], f"{what}: an unknown argument is a tool error naming the valid ones",
            str(out["unknownArg"]))
    c.check(out["missingArg"]["isError"] and 'missing argument "value"' in out["missingArg"]["text"],
            f"{what}: a missing argument is a tool error", str(out["missingArg"]))
    c.check(out["unknownTool"]["threw"] and out["unknownTool"]["code"] == -32602, f"{what}: an unknown tool is a "
            "JSON-RPC error", str(out["unknownTool"]))
    c.check(out["doctor"]["ok"] is True and out["doctor"]["checks"] > 5, f"{what}: check_runtime_requirements",
            str(out["doctor"]))
    uris = {r["uri"] for r in out["resources"]}
    c.check("camrig://status" in uris and "camrig://cameras/camera/snapshot.jpg" in uris and
            any(u.startswith("camrig://recordings/") and u.endswith(".csv") for u in uris),
            f"{what}: resources: status, snapshot, sidecars", str(sorted(uris))[:300])
    c.check(out["statusResource"] and out.get("snapshotResource", {}).get("bytes", 0) > 0,
            f"{what}: resources read back", str(out.get("snapshotResource")))


tmp = tempfile.mkdtemp(prefix="camrig-mcp-")
try:
    # ---- loopback: no credentials needed --------------------------------------
    with Daemon("--source", "test", "--size", "640x480", "--fps", "25") as d:
        st, reply = d.post_json("/api/command", b"start_recording duration=abc")
        http_error = reply.get("error", "")
        c.check(st == 400 and http_error, "the HTTP API's reason for a bad duration", str(reply))
        for mode in ("http", "stdio"):
            shot = os.path.join(tmp, f"{mode}.jpg")
            if mode == "http":
                out = client("http", d.url("/mcp"), "", shot)
            else:
                out = client("stdio", CAMRIG, f"127.0.0.1:{d.port}", "-", shot)
            out["snapshot_file"] = shot
            judge(d, out, mode, http_error)
        # The transport's own rules, as a plain HTTP client sees them.
        st, _, body = d.request("POST", "/mcp", body=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
                                headers={"Content-Type": "application/json"})
        c.check(st == 202 and body == b"", "a notification gets 202 and no body", str(st))
        st, _, body = d.request("POST", "/mcp", body=b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}',
                                headers={"Content-Type": "application/json", "MCP-Protocol-Version": "1999-01-01"})
        c.check(st == 400 and b"unsupported MCP-Protocol-Version" in body, "an unknown MCP-Protocol-Version is a 400",
                body[:200])
        st, _, body = d.request("POST", "/mcp", body=b'{"jsonrpc": "2.0", "id": 1, "method": "server/discover", '
                                b'"params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}',
                                headers={"Content-Type": "application/json"})
        j = json.loads(body) if st == 200 else {}
        c.check(j.get("result", {}).get("resultType") == "complete" and "2026-07-28" in
                j["result"].get("supportedVersions", []) and "2024-11-05" in j["result"]["supportedVersions"],
                "server/discover (2026-07-28) lists the versions, old ones too", body[:300])
        st, _, body = d.request("POST", "/mcp", body=b"{not json", headers={"Content-Type": "application/json"})
        c.check(st == 400 and b"-32700" in body, "a body that is not JSON is a parse error", body[:200])
        st, _, _ = d.request("GET", "/mcp")
        c.check(st == 405, "GET /mcp (no server stream) is a 405", str(st))

    # ---- beyond loopback: credentials, as for the rest of the API --------------------
    token = "mcp-test-token-0123456789abcdef"
    token_file = os.path.join(tmp, "token")
    creds = os.path.join(tmp, "creds")
    for path, text in ((token_file, token + "\n"), (creds, f"Bearer {token}\n")):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
    port = free_port()
    with Daemon("--source", "test", "--size", "640x480", "--fps", "25", port=port, listen=False,
                config=f"http:\n  listen: 0.0.0.0:{port}\n  token_file: {token_file}\n") as d:
        url = f"http://127.0.0.1:{port}/mcp"
        out = client("http-noauth", url)
        c.check("connectError" in out and "connected" not in out, "/mcp beyond loopback without credentials is refused",
                str(out))
        st, _, _ = d.request("POST", "/mcp", body=b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
                             headers={"Content-Type": "application/json"})
        c.check(st == 401, "... with a 401", str(st))
        out = client("stdio", CAMRIG, f"127.0.0.1:{port}", "-", os.path.join(tmp, "x.jpg"))
        c.check("connectError" in out, "camrig mcp without credentials cannot connect", str(out)[:300])
        shot = os.path.join(tmp, "auth.jpg")
        out = client("http", url, token, shot)
        out["snapshot_file"] = shot
        judge(d, out, "http with a bearer token", http_error)
        shot = os.path.join(tmp, "auth-stdio.jpg")
        out = client("stdio", CAMRIG, f"127.0.0.1:{port}", creds, shot)
        out["snapshot_file"] = shot
        judge(d, out, "stdio with --credentials", http_error)
        c.check(token not in d.log(), "the token is not in the log")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

c.done()
