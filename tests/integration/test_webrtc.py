#!/usr/bin/env python3
"""WebRTC through Janus: camrig sends the camera's H.264 as RTP to a
mountpoint of Debian's Janus (its streaming plugin), and headless Chromium
on camrig's own page plays that mountpoint over WebRTC — framesDecoded in
getStats() rises, and the page switches from MJPEG to the WebRTC view.
Capture-to-browser latency is reported as camrig's capture-to-sent time
(/status webrtc.latency_ms) plus the browser's receive-to-decoded time and
jitter-buffer delay (getStats totalProcessingDelay, jitterBufferDelay).

Janus gathers ICE candidates on every interface but loopback, and traffic
stays on this machine: the test runs in a network namespace of its own
(unshare -n) with loopback and a veth pair, one end 10.99.0.1, where
camrig, Janus and Chromium meet. Judged by the browser's and camrig's counters."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from camrig_test import CAMRIG, Checks, Daemon, free_port, log, need, skip, wait_until, _die_with_parent

JANUS = shutil.which("janus") or "/usr/bin/janus"
LIBDIR = "/usr/lib/x86_64-linux-gnu/janus"
ADDRESS = "10.99.0.1"

if not os.access(JANUS, os.X_OK):
    skip("janus is not installed (apt-get install janus)")
if not (shutil.which("chromium") or shutil.which("chromium-browser")):
    skip("chromium is not installed")
if os.environ.get("CAMRIG_TEST_NETNS") != "1":
    if not shutil.which("unshare") or not shutil.which("ip"):
        skip("unshare and ip are needed for a network namespace")
    env = dict(os.environ, CAMRIG_TEST_NETNS="1")
    p = subprocess.run(["unshare", "-n", sys.executable, os.path.abspath(__file__)], env=env)
    sys.exit(p.returncode)
for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
            ["ip", "addr", "add", f"{ADDRESS}/24", "dev", "v0"], ["ip", "link", "set", "v1", "up"],
            ["ip", "link", "set", "v0", "up"]):
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        skip(f"cannot set up the network namespace ({' '.join(cmd)}): not root?")

from cdp import Browser  # noqa: E402 (after the namespace is made)

# The page's WebRTC state of a camera, and whether its video and its MJPEG image are hidden.
RTC = "(() => { const r = window.camrigWebrtc && window.camrigWebrtc[%r]; return r ? {state: r.state, error: r.error, " \
      "framesDecoded: r.framesDecoded, processingMs: r.processingMs, jitterMs: r.jitterMs} : null; })()"
SHOWN = "[document.querySelector('article[data-camera=\"%s\"] video.webrtc').hidden, " \
        "document.querySelector('article[data-camera=\"%s\"] img.live').hidden]"

c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-janus-")
http_port, rtp_port = free_port(), 5004
with open(os.path.join(tmp, "janus.jcfg"), "w") as f:
    f.write(f"""general: {{
	configs_folder = "{tmp}"
	plugins_folder = "{LIBDIR}/plugins"
	transports_folder = "{LIBDIR}/transports"
	events_folder = "{LIBDIR}/events"
	loggers_folder = "{LIBDIR}/loggers"
	debug_level = 4
}}
media: {{
	rtp_port_range = "30000-31000"
}}
nat: {{
	ignore_mdns = true
	ice_enforce_list = "v0"
}}
plugins: {{
	disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so"
}}
transports: {{
	disable = "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so"
}}
events: {{
	disable = "libjanus_gelfevh.so,libjanus_mqttevh.so,libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,libjanus_wsevh.so"
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
""")
with open(os.path.join(tmp, "janus.transport.http.jcfg"), "w") as f:
    f.write(f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {http_port}
	https = false
}}
admin: {{
	admin_http = false
}}
""")
# The mountpoint the README gives (WebRTC through Janus).
with open(os.path.join(tmp, "janus.plugin.streaming.jcfg"), "w") as f:
    f.write(f"""camrig-front: {{
	type = "rtp"
	id = 1
	description = "camrig front"
	media = (
		{{
			type = "video"
			mid = "v"
			port = {rtp_port}
			pt = 96
			codec = "h264"
			fmtp = "profile-level-id=42e01f;packetization-mode=1"
		}}
	)
}}
""")
janus_log = os.path.join(tmp, "janus.log")
janus = subprocess.Popen([JANUS, "-F", tmp, "-C", os.path.join(tmp, "janus.jcfg"), "-o", "-L", janus_log, "-N"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def janus_up():
    try:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/janus/info", timeout=1) as r:
            return json.loads(r.read()).get("janus") == "server_info"
    except (OSError, ValueError):
        return False


def janus_text():
    try:
        with open(janus_log) as f:
            return f.read()
    except OSError:
        return ""


try:
    c.check(wait_until(janus_up, 20), "Janus answers on its HTTP API", janus_text()[-500:])
    with Daemon("--source", "test", "--size", "640x480", "--fps", "25", "--name", "front",
                "-o", "camera.webrtc.enabled=true", "-o", f"camera.webrtc.rtp=127.0.0.1:{rtp_port}",
                "-o", f"camera.webrtc.janus=http://127.0.0.1:{http_port}/janus", "-o", "camera.webrtc.mountpoint=1",
                "-o", "camera.recording.gop=0.5", "-o", "camera.recording.zerolatency=true") as d:
        w = d.wait_camera(lambda x: x["webrtc"]["packets"] > 10, 20)["webrtc"]
        c.check(w["state"] == "publishing" and w["packets"] > 10 and w["shared_encoder"] is True,
                "camrig sends RTP to the mountpoint (the recorder's encoder)", json.dumps(w))
        c.check(w["janus"] == f"http://127.0.0.1:{http_port}/janus" and w["mountpoint"] == 1,
                "/status tells the page where Janus and the mountpoint are", json.dumps(w))
        csp = d.get("/index.html")[1].get("Content-Security-Policy", "")
        c.check(f"connect-src 'self' http://127.0.0.1:{http_port};" in csp,
                "the page's Content-Security-Policy lets it fetch from Janus's origin, and no other", csp)
        p = subprocess.run([CAMRIG, "doctor", "--json", "--set", f"http.listen=127.0.0.1:{free_port()}",
                            "--set", "camera.webrtc.enabled=true", "--set", f"camera.webrtc.rtp=127.0.0.1:{rtp_port}",
                            "--set", f"camera.webrtc.janus=http://127.0.0.1:{http_port}/janus"],
                           capture_output=True, text=True, timeout=120)
        j = [x for x in json.loads(p.stdout or '{"checks": []}')["checks"] if x["check"] == "webrtc"]
        c.check(j and j[0]["ok"] and "Janus answers" in j[0]["detail"], "camrig doctor finds this Janus", str(j))
        browser = Browser("--disable-features=WebRtcHideLocalIpsWithMdns")
        try:
            browser.open(d.url("/"))
            rtc = wait_until(lambda: (lambda r: r if r and r.get("framesDecoded", 0) > 0 else None)(
                browser.eval(RTC % "front")), 40, step=0.5) or browser.eval(RTC % "front")
            c.check(isinstance(rtc, dict) and rtc.get("framesDecoded", 0) > 0,
                    "Chromium decodes frames over WebRTC from the Janus mountpoint", f"{rtc} {janus_text()[-800:]}")
            first = rtc.get("framesDecoded", 0) if isinstance(rtc, dict) else 0
            later = wait_until(lambda: (lambda r: r if r and r.get("framesDecoded", 0) >= first + 25 else None)(
                browser.eval(RTC % "front")), 30, step=0.5) or {}
            c.check(later.get("framesDecoded", 0) >= first + 25, "and framesDecoded keeps rising",
                    f"{first} -> {later}")
            shown = browser.eval(SHOWN % ("front", "front") + ".concat([document.querySelector("
                                 "'article[data-camera=\"front\"] video.webrtc').videoWidth])")
            c.check(shown == [False, True, 640], "the page shows the WebRTC view (640 wide) instead of MJPEG",
                    str(shown))
            w = d.status()["camera"]["webrtc"]
            total = w["latency_ms"] + later.get("processingMs", 0) + later.get("jitterMs", 0)
            log(f"latency: capture to sent {w['latency_ms']:.1f} ms (camrig), receive to decoded "
                f"{later.get('processingMs', 0):.1f} ms, jitter buffer {later.get('jitterMs', 0):.1f} ms "
                f"(Chromium): about {total:.0f} ms capture to decoded, Janus's relay on loopback not counted")
            c.check(0 < total < 2000, "capture-to-browser latency is measured (under 2 s)", f"{total:.0f} ms")
        finally:
            browser.close()
    # Without Janus the page stays on MJPEG.
    janus.terminate()
    janus.wait(10)
    with Daemon("--source", "test", "--size", "320x240", "--fps", "10", "-o", "camera.webrtc.enabled=true",
                "-o", f"camera.webrtc.rtp=127.0.0.1:{rtp_port}",
                "-o", f"camera.webrtc.janus=http://127.0.0.1:{http_port}/janus") as d:
        browser = Browser()
        try:
            browser.open(d.url("/"))
            rtc = wait_until(lambda: (lambda r: r if r and r.get("state") == "failed" else None)(
                browser.eval(RTC % "camera")), 30, step=0.5) or {}
            shown = browser.eval(SHOWN % ("camera", "camera"))
            c.check(rtc.get("state") == "failed" and rtc.get("error") and shown == [True, False],
                    "with Janus gone the page keeps the MJPEG view and says why", f"{rtc} {shown}")
        finally:
            browser.close()
finally:
    if janus.poll() is None:
        janus.terminate()
        janus.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)
c.done()
