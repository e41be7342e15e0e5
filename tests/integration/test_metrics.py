#!/usr/bin/env python3
"""/metrics: the Prometheus text format checked by Debian's promtool, and a
real Prometheus server scraping camrig on loopback for about 10 s, which
must see camrig_frames_captured_total rise at the frame rate.

The rate is judged by the daemon's own clock and counters (the rise of the
counter over the rise of camrig_uptime_seconds in the same scrapes, against
its measured fps; captured plus lost-upstream frames against the requested
30 fps), so a loaded machine does not fail it."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from camrig_test import Checks, Daemon, free_port, log, need, wait_until

need("promtool", "prometheus")
c = Checks()
tmp = tempfile.mkdtemp(prefix="camrig-metrics-")
FPS = 30


def metrics(d):
    st, headers, body = d.get("/metrics")
    return st, headers, body.decode()


def value(text, name, labels=""):
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


try:
    with Daemon("--source", "test", "--fps", str(FPS), "-o", "sensors=gone=hwmon:no_such_hwmon/temp1") as d:
        time.sleep(1.5)
        st, headers, text = metrics(d)
        c.check(st == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                "/metrics answers in the text exposition format 0.0.4", f"{st} {headers['Content-Type']}")
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        c.check(p.returncode == 0 and not (p.stdout + p.stderr).strip(), "promtool check metrics passes, "
                "without a lint", p.stdout + p.stderr)
        for name, labels in [("camrig_frames_captured_total", '{camera="camera"}'),
                             ("camrig_frames_lost_upstream_total", '{camera="camera"}'),
                             ("camrig_camera_fps", '{camera="camera"}'),
                             ("camrig_stream_clients", '{camera="camera"}'),
                             ("camrig_recording", '{camera="camera"}'),
                             ("camrig_encoder_frames_total", '{camera="camera"}'),
                             ("camrig_frames_dropped_total", '{camera="camera",consumer="jpeg"}'),
                             ("camrig_http_requests_total", '{code="200"}'),
                             ("process_cpu_seconds_total", ""), ("process_resident_memory_bytes", ""),
                             ("process_open_fds", ""), ("process_start_time_seconds", ""),
                             ("camrig_host_memory_available_bytes", ""),
                             ("camrig_host_disk_free_bytes", '{path="recordings"}'),
                             ("camrig_sensor_up", '{sensor="gone"}'),
                             ("camrig_sensor_read_errors_total", '{sensor="gone"}')]:
            c.check(value(text, name, labels) is not None, f"/metrics has {name}{labels}")
        c.check(value(text, "camrig_sensor_up", '{sensor="gone"}') == 0,
                "a sensor that cannot be read is up 0, not fatal")
        status = d.status()
        n = value(text, "camrig_frames_captured_total", '{camera="camera"}')
        c.check(n is not None and n <= status["camera"]["frames"]["captured"],
                "the counter is the status model's (at most what /status says a moment later)",
                f"{n} vs {status['camera']['frames']['captured']}")
        ok_before = value(text, "camrig_http_requests_total", '{code="200"}')
        d.get("/status")
        d.get("/nope")
        _, _, text = metrics(d)
        c.check(value(text, "camrig_http_requests_total", '{code="200"}') >= ok_before + 2,
                "camrig_http_requests_total{code=\"200\"} counts the replies")
        c.check(value(text, "camrig_http_requests_total", '{code="404"}') >= 1,
                "camrig_http_requests_total{code=\"404\"} counts a 404")
        st, _, _ = d.get("/metrics?x=1")
        c.check(st == 400, "/metrics refuses parameters", str(st))

        # A Prometheus server scraping camrig every second.
        port = free_port()
        conf = os.path.join(tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    f"  - job_name: camrig\n    static_configs:\n      - targets: ['127.0.0.1:{d.port}']\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={conf}", f"--storage.tsdb.path={tmp}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prom.log"), "w"))
        try:
            def query(q):
                url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        return json.loads(r.read())["data"]["result"]
                except OSError:
                    return None

            up = wait_until(lambda: query('up{job="camrig"}'), 30, step=0.5)
            c.check(up and up[0]["value"][1] == "1", "Prometheus scrapes camrig (up == 1)", str(up))
            time.sleep(11)
            frames = query('camrig_frames_captured_total{camera="camera"}[12s]') or []
            uptime = query("camrig_uptime_seconds[12s]") or []
            fv = frames[0]["values"] if frames else []
            uv = uptime[0]["values"] if uptime else []
            log(f"Prometheus holds {len(fv)} samples of camrig_frames_captured_total")
            c.check(len(fv) >= 5, f"Prometheus took at least 5 samples in about 10 s ({len(fv)})")
            counts = [float(v) for _, v in fv]
            c.check(counts == sorted(counts) and counts and counts[-1] > counts[0],
                    "camrig_frames_captured_total rises in every scrape", str(counts))
            lost = query('camrig_frames_lost_upstream_total{camera="camera"}[12s]') or []
            fps = query('camrig_camera_fps{camera="camera"}[12s]') or []
            lv = lost[0]["values"] if lost else []
            if len(fv) >= 2 and len(uv) == len(fv) == len(lv):
                ups = [float(v) for _, v in uv]
                losts = [float(v) for _, v in lv]
                span = ups[-1] - ups[0]
                rate = (counts[-1] - counts[0]) / span
                measured = sum(float(v) for _, v in fps[0]["values"]) / len(fps[0]["values"]) if fps else 0
                # The daemon's own numbers: the counter rises as fast as its
                # measured fps says, and every frame period of the test
                # pattern is a frame captured or one counted lost (a loaded
                # machine makes the pattern skip periods; it never hides one).
                c.check(measured > 0 and abs(rate - measured) <= 0.15 * measured,
                        f"... at the frame rate: {rate:.1f} frames per second of camrig's uptime, its measured "
                        f"fps {measured:.1f}")
                periods = (counts[-1] - counts[0] + losts[-1] - losts[0]) / span
                c.check(abs(periods - FPS) <= 0.1 * FPS,
                        f"... captured + lost upstream rise at the requested {FPS} fps ({periods:.1f})")
                prate = (counts[-1] - counts[0]) / (fv[-1][0] - fv[0][0])
                log(f"by Prometheus' own clock: {prate:.1f} frames/s")
            else:
                c.check(False, "the counter and camrig_uptime_seconds come from the same scrapes",
                        f"{len(fv)} vs {len(uv)}")
        finally:
            prom.terminate()
            prom.wait()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

c.done()
