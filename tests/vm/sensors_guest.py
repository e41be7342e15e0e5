"""The sensor test, run inside the guest by tests/vm/guest.sh against a real
IIO device: the kernel's iio_dummy, made through configfs (see
../shared/tools/vm-run). A channel of it configured as a sensor must appear
in /status and /metrics with the value the IIO ABI gives:
(in_voltage0_raw + offset) x scale millivolts, read back here from sysfs.
Also a sensor of a device that is not there (reported, not fatal), and one
that appears after camrig started (found at the next read).
Exits 0, 1 (a check failed) or 77 (skipped). $CAMRIG is the binary."""
import glob
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import Checks, Daemon, log, skip, wait_until  # noqa: E402

DUMMY = "/sys/kernel/config/iio/devices/dummy"


def make_dummy(name):
    """Makes an iio_dummy device called name; returns its sysfs directory."""
    os.mkdir(os.path.join(DUMMY, name))
    for d in glob.glob("/sys/bus/iio/devices/iio:device*"):
        try:
            if open(os.path.join(d, "name")).read().strip() == name:
                return d
        except OSError:
            pass
    return None


def attribute(d, *names):
    for n in names:
        p = os.path.join(d, n)
        if os.path.exists(p):
            return float(open(p).read().strip())
    return None


if not os.path.isdir(DUMMY):
    skip("no iio_dummy in this guest (vm-run could not build it; see its extra.log)")

c = Checks()
d0 = make_dummy("d0")
c.check(d0 is not None, "iio_dummy made a device d0", str(glob.glob("/sys/bus/iio/devices/*")))
raw = attribute(d0, "in_voltage0_raw")
offset = attribute(d0, "in_voltage0_offset", "in_voltage_offset") or 0.0
scale = attribute(d0, "in_voltage0_scale", "in_voltage_scale")
scale = 1.0 if scale is None else scale
want = (raw + offset) * scale / 1000  # the ABI's millivolts, in volts
log(f"iio_dummy d0: in_voltage0_raw {raw}, offset {offset}, scale {scale}: {want} V")

sensors = "dummy=iio:d0/voltage0,late=iio:d1/voltage0,gone=iio:no_such_device/temp"
with Daemon("--source", "test", "--fps", "5", "-o", "camera.recording.pre_trigger=0", "-o",
            "telemetry.sensor_interval=1", "-o", f"sensors={sensors}") as d:
    st = {s["name"]: s for s in d.status()["sensors"]}
    s = st.get("dummy", {})
    c.check(s.get("ok") and s.get("unit") == "volts" and abs(s["value"] - want) < 1e-9,
            f"/status has the iio_dummy channel, scaled: {s.get('value')} {s.get('unit')} (want {want})", str(s))
    c.check(s.get("path", "").endswith("/in_voltage0_raw"), "... read from in_voltage0_raw with its scale and offset",
            s.get("path"))
    g = st.get("gone", {})
    c.check(g.get("ok") is False and "no IIO device no_such_device" in g.get("error", ""),
            "a sensor whose device is not there is reported with its error", str(g))
    st_, _, body = d.get("/metrics")
    text = body.decode()
    m = re.search(r'^camrig_sensor_volts\{sensor="dummy",device="d0",channel="voltage0"\} (\S+)$', text, re.M)
    c.check(m is not None and abs(float(m.group(1)) - want) < 1e-9,
            f"/metrics has camrig_sensor_volts{{sensor=\"dummy\"}} {m.group(1) if m else None}", text[-800:])
    c.check(re.search(r'^camrig_sensor_up\{sensor="gone"\} 0$', text, re.M),
            "/metrics says the missing sensor is down")
    # A device that appears while camrig runs is found at the next read.
    d1 = make_dummy("d1")
    c.check(d1 is not None, "iio_dummy made a device d1")
    late = wait_until(lambda: next(x for x in d.status()["sensors"] if x["name"] == "late")["ok"], 10)
    c.check(late, "a sensor whose device appears later is read then",
            str(next(x for x in d.status()["sensors"] if x["name"] == "late")))
    st_, _, _ = d.get("/healthz")
    c.check(st_ == 200, "camrig stays healthy throughout", str(st_))
for name in ("d1", "d0"):
    try:
        os.rmdir(os.path.join(DUMMY, name))
    except OSError:
        pass
c.done()
