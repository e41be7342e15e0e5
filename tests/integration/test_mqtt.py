#!/usr/bin/env python3
"""MQTT (src/publish/mqtt.c) against Debian's mosquitto on loopback, with
mosquitto_sub and mosquitto_pub as Home Assistant and scripts would be:
availability online (retained) and offline as the last will when camrig is
killed; Home Assistant discovery configs that are valid JSON with the
entities of each camera under one device; `start_recording 2` on the
command topic makes a recording and one reply on the response topic with
the correlation data; the same message again (a QoS 1 duplicate) runs
once; JSON commands, bad messages and retained ones; a still on the image
topic for a snapshot; a command sent while camrig is cut off from the
broker runs once when it is back; a broker restart is survived; a camera
taken out of the config loses its entities; TLS with a CA file and a
password file; a wrong password is reported. Judged by the daemon's
counters and the broker's messages, never by sleeping."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile

from camrig_test import CAMRIG, Checks, Daemon, free_port, log, wait_until
from mqtt_broker import Broker, Proxy, need_mosquitto

need_mosquitto()
c = Checks()
HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "localhost"  # {host}
BASE = f"lab/{HOST}"
NODE = "camrig-rig1"


def mqtt_status(d):
    return d.status().get("mqtt", {})


def wait_mqtt(d, cond, seconds=20):
    return wait_until(lambda: (lambda s: s if cond(s) else None)(mqtt_status(d)), seconds, 0.1) or mqtt_status(d)


# Sensors that are not on this machine: their entities exist (their units
# come from the channel type) and their readings are null.
SENSORS = "sensors: [box_temp=iio:no_such_dht/temp, box_rh=iio:no_such_dht/humidityrelative]\n"


def config(port, cameras=("front", "back"), extra=""):
    cams = "".join(f"  - {{name: {n}, source: test, size: 160x120, fps: 10, recording: {{codec: mjpeg}}}}\n"
                   for n in cameras)
    return f"""
cameras:
{cams}
{SENSORS}
mqtt:
  enabled: true
  broker: 127.0.0.1:{port}
  client_id: {NODE}
  base_topic: lab/{{host}}
  state_interval: 1
{extra}"""


def sensor_configs():
    return {f"homeassistant/sensor/{NODE}/sensor_{s}/config": "sensor" for s in ("box_temp", "box_rh")}


def expected_configs(camera):
    return {f"homeassistant/{comp}/{NODE}/{camera}_{obj}/config": comp for comp, obj in (
        ("camera", "camera"), ("switch", "recording"), ("button", "snapshot"), ("button", "timelapse_shot"),
        ("sensor", "fps"), ("sensor", "dropped"), ("sensor", "disk_free"))}


def run(*args, **kw):
    return subprocess.run([CAMRIG, "run", "--listen", "127.0.0.1:0", *args], capture_output=True, text=True,
                          timeout=30, **kw)


# ---- bad settings are refused at start, naming the key ----------------------
tmp = tempfile.mkdtemp(prefix="camrig-mqtt-test-")
pw = os.path.join(tmp, "password")
with open(pw, "w") as f:
    f.write("s3cret-pw\n")
os.chmod(pw, 0o644)
p = run("--source", "test", "-o", "mqtt.enabled=true", "-o", "mqtt.username=u", "-o", f"mqtt.password_file={pw}")
c.check(p.returncode == 1 and "mqtt.password_file" in p.stderr and "readable by others" in p.stderr
        and "s3cret" not in p.stderr, "a password file others can read is refused", p.stderr[-300:])
os.chmod(pw, 0o600)
p = run("--source", "test", "-o", "mqtt.broker=localhost")
c.check(p.returncode == 1 and "mqtt.broker" in p.stderr and "HOST:PORT" in p.stderr,
        "a broker without a port is refused with what is expected", p.stderr[-300:])
p = run("--source", "test", "-o", "mqtt.base_topic=a/#")
c.check(p.returncode == 1 and "mqtt.base_topic" in p.stderr and "wildcard" in p.stderr,
        "a base topic with a wildcard is refused", p.stderr[-300:])

with Broker() as broker:
    proxy = Proxy(broker.port)
    sub = broker.subscribe(f"{BASE}/#")
    env = {}
    d = Daemon(config=config(proxy.port), env=env)
    with d:
        st = wait_mqtt(d, lambda s: s.get("connected"))
        c.check(st.get("connected") is True and st.get("client_id") == NODE and st.get("base_topic") == BASE,
                "/status mqtt: connected, with the client id and base topic ({host} filled in)", json.dumps(st))
        avail = broker.retained(f"{BASE}/availability")
        c.check(avail.get(f"{BASE}/availability") == b"online", "availability is online, retained", str(avail))

        # ---- Home Assistant discovery ----
        configs = broker.retained(f"homeassistant/+/{NODE}/+/config")
        want = {**expected_configs("front"), **expected_configs("back"), **sensor_configs()}
        c.check(set(configs) == set(want), "a discovery config per entity of each camera",
                f"missing {sorted(set(want) - set(configs))}, extra {sorted(set(configs) - set(want))}")
        parsed = {}
        for topic, payload in configs.items():
            try:
                parsed[topic] = json.loads(payload)
            except ValueError:
                c.check(False, f"{topic} is JSON", payload[:200])
        ok = all(p.get("unique_id") and p.get("availability_topic") == f"{BASE}/availability"
                 and p.get("device", {}).get("identifiers") == [NODE] for p in parsed.values())
        c.check(ok and len(parsed) == len(configs), "every config: unique_id, availability, one device",
                json.dumps(list(parsed.values())[:1]))
        c.check(len({p["unique_id"] for p in parsed.values()}) == len(parsed), "unique_ids are unique")
        cam = parsed.get(f"homeassistant/camera/{NODE}/front_camera/config", {})
        c.check(cam.get("topic") == f"{BASE}/front/image", "the camera entity shows the image topic", json.dumps(cam))
        sw = parsed.get(f"homeassistant/switch/{NODE}/front_recording/config", {})
        c.check(sw.get("command_topic") == f"{BASE}/command" and sw.get("payload_on") == "start_recording camera=front"
                and sw.get("payload_off") == "stop_recording camera=front" and sw.get("state_topic") ==
                f"{BASE}/front/state" and "recording.recording" in sw.get("value_template", ""),
                "the recording switch sends the command grammar and reads the state", json.dumps(sw))
        btn = parsed.get(f"homeassistant/button/{NODE}/back_snapshot/config", {})
        c.check(btn.get("payload_press") == "snapshot camera=back", "the snapshot button", json.dumps(btn))
        fps = parsed.get(f"homeassistant/sensor/{NODE}/front_fps/config", {})
        c.check(fps.get("state_topic") == f"{BASE}/front/telemetry" and "value_json.fps" in fps.get("value_template", ""),
                "the fps sensor reads the telemetry", json.dumps(fps))
        temp = parsed.get(f"homeassistant/sensor/{NODE}/sensor_box_temp/config", {})
        rh = parsed.get(f"homeassistant/sensor/{NODE}/sensor_box_rh/config", {})
        c.check(temp.get("state_topic") == f"{BASE}/telemetry" and "sensors['box_temp']" in temp.get("value_template", "")
                and (temp.get("unit_of_measurement"), temp.get("device_class")) == ("°C", "temperature")
                and (rh.get("unit_of_measurement"), rh.get("device_class")) == ("%", "humidity"),
                "a configured temperature and humidity sensor: entities of the machine's telemetry",
                json.dumps([temp, rh]))

        # ---- state and telemetry ----
        tel = sub.wait(f"{BASE}/front/telemetry", 2)
        t = json.loads(tel[-1]) if tel else {}
        c.check(set(t) >= {"fps", "frames", "dropped", "clients", "recording", "disk_free_mb"},
                "telemetry has fps, frames, dropped, clients, recording, disk_free_mb", str(t))
        state = broker.retained(f"{BASE}/front/state").get(f"{BASE}/front/state", b"{}")
        s = json.loads(state)
        c.check(s.get("name") == "front" and s.get("width") == 160 and "recording" in s,
                "the retained state is the camera's /status object", state[:200])
        host = sub.wait(f"{BASE}/telemetry", 1)
        h = json.loads(host[-1]) if host else {}
        c.check(h.get("sensors") == {"box_temp": None, "box_rh": None} and "load1" in h and "cpu_percent" in h,
                "the machine's telemetry: load, CPU and the sensors (null: not readable here)", str(h))

        # ---- a command, its reply, and the same message again ----
        before = mqtt_status(d)
        broker.pub(f"{BASE}/command", "start_recording 2 camera=front",
                   props=(("correlation-data", "rec-1"), ("response-topic", f"{BASE}/replies/test")))
        replies = sub.wait(f"{BASE}/replies/test", 1)
        r = json.loads(replies[0]) if replies else {}
        c.check(r.get("ok") is True and r.get("trigger") == "mqtt" and r.get("id") == "rec-1".encode().hex(),
                "start_recording 2: a reply on the response topic with the correlation data as id", str(replies))
        cam = d.wait_camera(lambda x: x["recording"]["recordings"] >= 1 and x["recording"]["state"] == "idle", 30)
        rec = cam["recording"]
        c.check(rec["recordings"] == 1 and rec["trigger"] == "mqtt" and os.path.getsize(os.path.join(d.tmp, rec["file"])) > 0,
                "it made one recording, triggered by mqtt", json.dumps(rec))
        c.check(mqtt_status(d)["commands_run"] == before["commands_run"] + 1, "one command run")
        m = re.search(r"^camrig_mqtt_commands_run_total (\S+)$", d.get("/metrics")[2].decode(), re.M)
        c.check(m and float(m.group(1)) == before["commands_run"] + 1, "/metrics counts it too",
                m.group(0) if m else "no camrig_mqtt_commands_run_total")
        # The same message again: skipped (a reply to a later command comes,
        # and none for the repeat before it).
        broker.pub(f"{BASE}/command", "start_recording 2 camera=front",
                   props=(("correlation-data", "rec-1"), ("response-topic", f"{BASE}/replies/test")))
        st = wait_mqtt(d, lambda s: s["commands_skipped"] >= before["commands_skipped"] + 1)
        broker.pub(f"{BASE}/command", json.dumps({"command": "snapshot camera=back", "id": "snap-1"}))
        replies = sub.wait(f"{BASE}/reply", 1)
        r = json.loads(replies[0]) if replies else {}
        c.check(st["commands_run"] == before["commands_run"] + 1 and st["commands_skipped"] ==
                before["commands_skipped"] + 1, "the repeated message (same correlation data) is not run again",
                json.dumps(st))
        c.check(len(sub.on(f"{BASE}/replies/test")) == 1, "and gets no second reply", str(sub.on(f"{BASE}/replies/test")))
        c.check(d.status()["cameras"][0]["recording"]["recordings"] == 1, "no second recording")
        c.check(r.get("ok") is True and r.get("id") == "snap-1" and r.get("command") == "snapshot",
                "a JSON command {command, id} is answered on the reply topic with its id", str(r))
        img = sub.wait(f"{BASE}/back/image", 1)
        c.check(img and img[0][:2] == b"\xff\xd8" and img[0][-2:] == b"\xff\xd9",
                "the snapshot's JPEG on the camera's image topic", str(img[:1])[:80])
        ev = [json.loads(e) for e in sub.on(f"{BASE}/events")]
        c.check(any(e.get("type") == "snapshot" and e.get("camera") == "back" for e in ev)
                and any(e.get("type") == "recording_started" for e in ev), "events on the events topic",
                str([e.get("type") for e in ev]))

        # ---- bad messages ----
        broker.pub(f"{BASE}/command", "start_recroding")
        replies = sub.wait(f"{BASE}/reply", 2)
        r = json.loads(replies[-1]) if len(replies) >= 2 else {}
        c.check(r.get("ok") is False and "unknown command" in r.get("error", "") and "start_recording" in r["error"],
                "an unknown command is answered with the valid ones", str(r))
        broker.pub(f"{BASE}/command", data=b"\xff\xfe\x00binary")
        replies = sub.wait(f"{BASE}/reply", 3)
        r = json.loads(replies[-1]) if len(replies) >= 3 else {}
        c.check(r.get("ok") is False and "UTF-8" in r.get("error", ""), "a binary message is refused, saying why",
                str(r))
        before = mqtt_status(d)
        broker.pub(f"{BASE}/command", "snapshot", retain=True)
        st = wait_mqtt(d, lambda s: s["commands_skipped"] > before["commands_skipped"])
        c.check(st["commands_run"] == before["commands_run"] and "retained message" in d.log(),
                "a retained command is not run (it would run at every connect)", json.dumps(st))
        broker.pub(f"{BASE}/command", null=True, retain=True)

        # ---- cut off from the broker: a command sent meanwhile runs once ----
        before = mqtt_status(d)
        seen = len(sub.on(f"{BASE}/availability"))
        proxy.cut()
        st = wait_mqtt(d, lambda s: not s["connected"])
        c.check(not st["connected"], "/status shows the connection lost", json.dumps(st))
        offline = sub.wait(f"{BASE}/availability", seen + 1)
        c.check(offline[-1:] == [b"offline"], "the broker publishes the last will: offline", str(offline))
        broker.pub(f"{BASE}/command", "get_stats", props=(("correlation-data", "while-away"),))
        proxy.mend()
        st = wait_mqtt(d, lambda s: s["connected"] and s["commands_run"] > before["commands_run"], 40)
        c.check(st["connects"] == before["connects"] + 1 and st["commands_run"] == before["commands_run"] + 1,
                "after reconnecting, the command sent while away ran once", json.dumps(st))
        replies = sub.wait(f"{BASE}/reply", 4)
        c.check(json.loads(replies[-1]).get("id") == "while-away".encode().hex() if len(replies) >= 4 else False,
                "and was answered", str(replies[-1:]))
        c.check("resumed session" in d.log(), "the session was resumed", d.log()[-500:])

        # ---- the broker restarts (forgetting everything) ----
        before = mqtt_status(d)
        sub.close()
        broker.stop()
        wait_mqtt(d, lambda s: not s["connected"])
        broker.start()
        sub = broker.subscribe(f"{BASE}/#")
        st = wait_mqtt(d, lambda s: s["connected"] and s["connects"] > before["connects"], 40)
        c.check(st["connected"], "camrig reconnects after the broker restarts", json.dumps(st))
        avail = broker.retained(f"{BASE}/availability", f"homeassistant/+/{NODE}/+/config")
        c.check(avail.get(f"{BASE}/availability") == b"online" and len(avail) == 1 + len(want),
                "and publishes availability and discovery again", str(sorted(avail))[:300])
        broker.pub(f"{BASE}/command", "get_stats", props=(("correlation-data", "after-restart"),))
        replies = sub.wait(f"{BASE}/reply", 1)
        c.check(replies and json.loads(replies[0]).get("ok") is True, "and takes commands", str(replies))

        # ---- killed: the will says offline ----
        d.check_exit = False
        seen = len(sub.on(f"{BASE}/availability"))
        d.stop(signal.SIGKILL)
        offline = sub.wait(f"{BASE}/availability", seen + 1)
        c.check(offline[-1:] == [b"offline"], "killing camrig publishes offline (last will)", str(offline))
        c.check(broker.retained(f"{BASE}/availability").get(f"{BASE}/availability") == b"offline",
                "and it is retained")

    # ---- a camera taken out of the config loses its entities; SIGTERM says offline ----
    with Daemon(config=config(broker.port, cameras=("front",)), env=env) as d:
        st = wait_mqtt(d, lambda s: s.get("discovery_removed", 0) >= len(expected_configs("back")))
        configs = broker.retained(f"homeassistant/+/{NODE}/+/config")
        c.check(set(configs) == set(expected_configs("front")) | set(sensor_configs()) and st["discovery_removed"] == 7,
                "the removed camera's 7 configs are cleared, the others kept",
                f"{sorted(configs)} {json.dumps(st)}")
        c.check("removed the Home Assistant entity" in d.log(), "and the log says so")
    c.check(broker.retained(f"{BASE}/availability").get(f"{BASE}/availability") == b"offline",
            "a clean stop publishes offline")
    sub.close()
    proxy.close()

# ---- TLS, a password file, and a wrong password ----
ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
srv_key, srv_csr, srv_crt = (os.path.join(tmp, n) for n in ("srv.key", "srv.csr", "srv.crt"))
ossl = dict(capture_output=True, check=True, timeout=60)
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
                "-days", "2", "-subj", "/CN=camrig test CA"], **ossl)
subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", srv_key, "-out", srv_csr,
                "-subj", "/CN=127.0.0.1"], **ossl)
ext = os.path.join(tmp, "ext")
with open(ext, "w") as f:
    f.write("subjectAltName=IP:127.0.0.1\n")
subprocess.run(["openssl", "x509", "-req", "-in", srv_csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                "-out", srv_crt, "-days", "2", "-extfile", ext], **ossl)
passwd = os.path.join(tmp, "passwd")
subprocess.run(["mosquitto_passwd", "-b", "-c", passwd, "camrig", "s3cret-pw"], **ossl)
tls_port = free_port()
with Broker(extra=f"listener {tls_port} 127.0.0.1\ncafile {ca_crt}\ncertfile {srv_crt}\nkeyfile {srv_key}\n"
            f"password_file {passwd}\nper_listener_settings false\n") as broker:
    tls = f"  tls: true\n  ca_file: {ca_crt}\n  username: camrig\n  password_file: {pw}\n"
    with Daemon(config=config(tls_port, cameras=("front",), extra=tls), env=env) as d:
        st = wait_mqtt(d, lambda s: s.get("connected"))
        c.check(st.get("connected") is True, "TLS with mqtt.ca_file and a password file: connected", json.dumps(st))
        c.check("s3cret" not in d.log(), "the password is never logged")
    with open(pw, "w") as f:
        f.write("wrong\n")
    with Daemon(config=config(tls_port, cameras=("front",), extra=tls), env=env) as d:
        st = wait_mqtt(d, lambda s: s.get("connect_errors", 0) >= 1 and s.get("last_error"))
        c.check(not st["connected"] and "refused" in st["last_error"], "a wrong password: not connected, and why",
                json.dumps(st))
        c.check("check mqtt.username and mqtt.password_file" in d.log(), "the log names the keys to check",
                d.log()[-400:])

c.done()
