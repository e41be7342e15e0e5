"""The GPIO device test, run inside the guest by tests/vm/guest.sh: the
button and the LEDs on a real GPIO chip driven through libgpiod.

A gpio-sim chip is made through configfs (vm-run builds the module when it
can). camrig runs with the test pattern and gpio.enabled on that chip: the
button is line 3, the LEDs lines 4 (idle), 5 (recording) and 6 (paused).
A press is the button line's pull flipped to pull-up (the line reads 1: the
button is active high here), a release back to pull-down; sim_gpioN/value
reads back the level camrig drives an LED line to. Every effect is checked
with camrig's own /status and events, waiting with long timeouts (the guest
runs 10-20x slower than a host), never by wall-clock timing:

- preset timelapse: 3 clicks start a session, 1 click adds a still, 4 pause
  (the paused LED lights, the recording LED goes out), 4 resume, 3 stop and
  assemble the video (the idle LED lights again);
- preset recording with a rule of the user's: 3 clicks start and stop a
  recording with the recording LED following; 2 clicks (gpio.clicks.2) take
  a snapshot.
Exits 0, 1 or 77. $CAMRIG is the binary."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camrig_test import Checks, Daemon, Events, log, skip, wait_until  # noqa: E402

SIM = "/sys/kernel/config/gpio-sim"
BUTTON, LED_IDLE, LED_RECORDING, LED_PAUSED = 3, 4, 5, 6
PRESS_S, BETWEEN_S = 0.08, 0.15   # one click: held 80 ms; 150 ms between the clicks of a pattern
GAP_MS = 1500                     # gpio.click_gap_ms: a pattern ends 1.5 s after its last release
WAIT_S = 60                       # for any effect of a pattern

if not os.path.isdir(SIM):
    skip(f"{SIM} is missing: this guest has no gpio-sim (vm-run prints whether its extra test drivers "
         "were built; see $VM_RUN_CACHE/extra.log)")


class SimChip:
    """A gpio-sim chip of 8 lines, made live through configfs."""

    def __init__(self, name="camrig"):
        self.dir = os.path.join(SIM, name)
        os.mkdir(self.dir)
        os.mkdir(os.path.join(self.dir, "bank0"))
        self._write(os.path.join(self.dir, "bank0", "num_lines"), "8")
        self._write(os.path.join(self.dir, "live"), "1")
        with open(os.path.join(self.dir, "dev_name")) as f:
            dev = f.read().strip()
        with open(os.path.join(self.dir, "bank0", "chip_name")) as f:
            self.chip = f.read().strip()   # gpiochipN
        self.sysfs = f"/sys/devices/platform/{dev}/{self.chip}"

    @staticmethod
    def _write(path, text):
        with open(path, "w") as f:
            f.write(text)

    def pull(self, line, up):
        self._write(f"{self.sysfs}/sim_gpio{line}/pull", "pull-up" if up else "pull-down")

    def value(self, line):
        with open(f"{self.sysfs}/sim_gpio{line}/value") as f:
            return int(f.read().strip())

    def close(self):
        self._write(os.path.join(self.dir, "live"), "0")
        os.rmdir(os.path.join(self.dir, "bank0"))
        os.rmdir(self.dir)


c = Checks()
sim = SimChip()
log(f"gpio-sim: {sim.chip} at {sim.sysfs}")


def click(n):
    """n clicks, as a finger makes them; the pattern ends GAP_MS later."""
    for i in range(n):
        sim.pull(BUTTON, True)
        time.sleep(PRESS_S)
        sim.pull(BUTTON, False)
        if i < n - 1:
            time.sleep(BETWEEN_S)


def leds():
    return (sim.value(LED_IDLE), sim.value(LED_RECORDING), sim.value(LED_PAUSED))


def leds_are(want, what):
    """Waits for the LEDs (idle, recording, paused) to read want."""
    got = wait_until(lambda: leds() == want, WAIT_S, step=0.2) and leds()
    c.check(got == want, f"LEDs {what}: idle/recording/paused read {want}", f"{leds()}")


def gpio_args(preset, *more):
    return ["--source", "test", "--size", "160x120", "--fps", "5", "--name", "cam",
            "-o", "camera.recording.pre_trigger=0", "-o", "camera.timelapse.interval=0",
            "-o", "gpio.enabled=true", "-o", f"gpio.chip={sim.chip}", "-o", f"gpio.button={BUTTON}",
            "-o", "gpio.active_low=false", "-o", "gpio.bias=as-is", "-o", f"gpio.click_gap_ms={GAP_MS}",
            "-o", f"gpio.leds.idle={LED_IDLE}", "-o", f"gpio.leds.recording={LED_RECORDING}",
            "-o", f"gpio.leds.paused={LED_PAUSED}", "-o", f"gpio.preset={preset}", *more]


def timelapse(d):
    return d.status()["camera"]["timelapse"]


def recording(d):
    return d.status()["camera"]["recording"]


def after(n, what, cond):
    """n clicks, then waits for cond (on /status) to hold."""
    click(n)
    ok = wait_until(cond, WAIT_S, step=0.3)
    c.check(bool(ok), f"{n} click{'s' if n > 1 else ''}: {what}")
    return ok


try:
    # ---- preset timelapse: start, shot, pause, resume, stop and assemble ---------------------------------
    with Daemon(*gpio_args("timelapse")) as d:
        ev = Events(d)
        c.check(wait_until(lambda: "gpio: " in d.log() and "button on line 3" in d.log(), WAIT_S),
                "camrig requested the button and LED lines", d.log()[-500:])
        leds_are((1, 0, 0), "before a session (idle)")
        after(3, "a timelapse session starts", lambda: timelapse(d)["state"] == "running")
        leds_are((0, 1, 0), "while the session runs")
        after(1, "one still", lambda: timelapse(d)["shots"] == 1)
        after(1, "another still", lambda: timelapse(d)["shots"] == 2)
        after(4, "the session pauses", lambda: timelapse(d)["state"] == "paused")
        leds_are((0, 0, 1), "while paused")
        after(4, "the session resumes", lambda: timelapse(d)["state"] == "running")
        leds_are((0, 1, 0), "after resume")
        shots = timelapse(d)["shots"]
        after(3, "the session stops", lambda: timelapse(d)["state"] == "idle")
        t = wait_until(lambda: (lambda t: t if t["last_video"] and not t["assembling"] else None)(timelapse(d)),
                       240, step=1)
        c.check(bool(t) and os.path.exists(t["last_video"]) and t["last_video_frames"] == shots,
                f"the video is assembled with one frame per still ({shots})", str(timelapse(d)))
        leds_are((1, 0, 0), "after the stop (idle)")
        wait_until(lambda: "timelapse_finished" in ev.types("timelapse_", "recording_"), WAIT_S)
        want = ["timelapse_started", "timelapse_shot", "timelapse_shot", "timelapse_paused", "timelapse_resumed",
                "timelapse_stopped", "timelapse_finished"]
        got = ev.types("timelapse_", "recording_")
        c.check(got == want, "the events, in order", str(got))
        lines = [x.split("gpio: ", 1)[1] for x in d.log().splitlines() if "clicks: " in x or "click: " in x]
        c.check(lines == ["3 clicks: timelapse start", "1 click: timelapse shot", "1 click: timelapse shot",
                          "4 clicks: timelapse pause", "4 clicks: timelapse resume", "3 clicks: timelapse stop"],
                "each pattern posted its command (camrig's log)", str(lines))
        ev.close()

    # ---- preset recording, with a count of the user's ----------------------------------------------------
    with Daemon(*gpio_args("recording", "-o", "gpio.clicks.2=snapshot", "-o", "gpio.clicks.1=none")) as d:
        ev = Events(d)
        leds_are((1, 0, 0), "before recording (idle)")
        after(3, "a recording starts", lambda: recording(d)["state"] == "recording")
        leds_are((0, 1, 0), "while recording")
        wait_until(lambda: recording(d)["frames"]["written"] >= 5, WAIT_S, step=0.5)
        after(3, "the recording stops", lambda: recording(d)["state"] == "idle")
        leds_are((1, 0, 0), "after the recording (idle)")
        wait_until(lambda: "recording_finished" in ev.types("timelapse_", "recording_"), WAIT_S)
        c.check(ev.types("timelapse_", "recording_") == ["recording_started", "recording_finished"], "the events", str(ev.types("timelapse_", "recording_")))
        videos = glob.glob(os.path.join(d.tmp, "recordings", "**", "*.mkv"), recursive=True)
        c.check(len(videos) == 1, "one recording on disk", str(videos))
        click(1)   # gpio.clicks.1: none; its pattern must end before the next begins
        c.check(wait_until(lambda: "1 click: no command for that pattern" in d.log(), WAIT_S),
                "1 click: no command (gpio.clicks.1: none)")
        after(2, "a snapshot (gpio.clicks.2)",
              lambda: glob.glob(os.path.join(d.tmp, "recordings", "*", "snapshots", "*.jpg")))
        time.sleep(1)
        snaps = glob.glob(os.path.join(d.tmp, "recordings", "*", "snapshots", "*.jpg"))
        c.check(len(snaps) == 1, "exactly one snapshot", str(snaps))
        ev.close()
finally:
    try:
        sim.close()
    except OSError as e:
        log(f"gpio-sim: cannot remove the chip: {e}")
c.done()
