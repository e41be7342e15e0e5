#!/usr/bin/env python3
"""Host and sensor telemetry on this machine: /status "host" (CPU, memory,
load, free disk under the recording root, camrig's own RSS and threads)
checked against what the kernel says, and a sensor that cannot be read:
reported with its error in /status, in the "sensors" event of
/api/events and as an empty column of a timelapse's stills.csv, never
fatal. (A sensor that reads is tested against the kernel's iio_dummy in
tests/vm/sensors_guest.py, and the IIO ABI's arithmetic in
tests/unit/test_telemetry.c.)"""
import csv
import os
import time

from camrig_test import Checks, Daemon, Events, wait_until

c = Checks()

with Daemon("--source", "test", "--fps", "10", "-o", "telemetry.interval=1", "-o", "telemetry.sensor_interval=1",
            "-o", "sensors=box=iio:no_such_dht/temp,fan=hwmon:no_such_fan/fan1") as d:
    ev = Events(d)
    host = wait_until(lambda: (d.status()["host"] or {}).get("cpu_percent") is not None and d.status()["host"], 10)
    c.check(host, "/status has host, with CPU use after two samples", str(d.status().get("host")))
    if host:
        c.check(0 <= host["cpu_percent"] <= 100 and host["cpus"] == os.cpu_count(),
                f"host CPU {host['cpu_percent']:.0f}% of {host['cpus']} CPUs", str(host))
        load = os.getloadavg()
        c.check(len(host["load"]) == 3 and abs(host["load"][0] - load[0]) < max(2.0, load[0]),
                f"host load {host['load']} (the kernel: {load})")
        with open("/proc/meminfo") as f:
            total = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
        c.check(host["memory"]["total_bytes"] == total and 0 < host["memory"]["used_percent"] < 100,
                "host memory: total as /proc/meminfo, used %", str(host["memory"]))
        disk = host["disks"][0]
        sv = os.statvfs(d.tmp)
        c.check(disk["path"] == "recordings" and disk["total_bytes"] == sv.f_blocks * sv.f_frsize and
                abs(disk["free_bytes"] - sv.f_bavail * sv.f_frsize) < 1 << 30,
                "free disk under the recording root (not made yet: its parent's file system)", str(disk))
        proc = host["process"]
        with open(f"/proc/{d.proc.pid}/status") as f:
            threads = int(next(line for line in f if line.startswith("Threads:")).split()[1])
        c.check(proc["rss_bytes"] > 1 << 20 and abs(proc["threads"] - threads) <= 2 and proc["open_fds"] > 3,
                f"camrig's own RSS {proc['rss_bytes'] >> 20} MiB, {proc['threads']} threads (the kernel: "
                f"{threads}), {proc['open_fds']} open files", str(proc))
        c.check(isinstance(host["thermal"], list) and "throttled" in host,
                f"thermal zones ({len(host['thermal'])} here) and throttling (null off a Raspberry Pi)")

    sensors = d.status()["sensors"]
    c.check([s["name"] for s in sensors] == ["box", "fan"], "/status lists the sensors in order", str(sensors))
    box = sensors[0]
    c.check(box["value"] is None and not box["ok"] and box["errors"] >= 1 and "no IIO device no_such_dht" in box["error"],
            "a sensor that cannot be read has its error, no value", str(box))
    c.check("no hwmon device no_such_fan" in sensors[1]["error"], "... a hwmon one too", str(sensors[1]))
    errors = box["errors"]
    wait_until(lambda: d.status()["sensors"][0]["errors"] > errors, 5)
    c.check(d.status()["sensors"][0]["errors"] > errors, "it is tried again every telemetry.sensor_interval")
    c.check(d.log().count("sensor box:") == 1, "its failure is logged once, not at every read",
            d.log()[-500:])
    wait_until(lambda: ev.of("sensors"), 5)
    e = ev.of("sensors")
    c.check(e and [s["name"] for s in e[-1]["sensors"]] == ["box", "fan"] and e[-1]["sensors"][0]["value"] is None
            and e[-1]["sensors"][0]["error"], "/api/events carries a \"sensors\" event each round", str(e[-1:]))
    ev.close()

    st, r = d.post_json("/api/timelapse/start?interval=0")
    d.post_json("/api/timelapse/shot")
    wait_until(lambda: d.status()["camera"]["timelapse"]["shots"] >= 1, 10)
    tl = d.status()["camera"]["timelapse"]
    with open(os.path.join(d.tmp, tl["dir"], "stills.csv")) as f:
        rows = list(csv.reader(f))
    c.check(rows[0][-2:] == ["box", "fan"], "stills.csv has a column per sensor", str(rows[0]))
    c.check(len(rows) >= 2 and len(rows[1]) == len(rows[0]) and rows[1][-2:] == ["", ""],
            "... empty where the sensor has no reading", str(rows[1:2]))
    d.post_json("/api/timelapse/abort")
    st, _, _ = d.get("/healthz")
    c.check(st == 200, "sensors that fail do not make camrig unhealthy", str(st))

c.done()
