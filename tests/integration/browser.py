"""The Python end of tests/browser/driver.mjs: Debian's chromium, driven
through the DevTools protocol by puppeteer-core, one JSON request a line.

    with Browser() as b:
        b.goto(d.url("/"))
        b.wait("() => document.querySelectorAll('.tile').length === 2")

Browser() skips the test (exit 77) when chromium, node or the installed
puppeteer-core (scripts/install-deps.sh test) is missing."""
import json
import os
import shutil
import subprocess

from camrig_test import log, skip

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER_DIR = os.path.join(HERE, "..", "browser")


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self):
        self.chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not self.chromium:
            skip("chromium is not installed (scripts/install-deps.sh test installs it)")
        if not shutil.which("node"):
            skip("node is not installed (scripts/install-deps.sh test installs it)")
        if not os.path.isdir(os.path.join(DRIVER_DIR, "node_modules", "puppeteer-core")):
            skip("puppeteer-core is not installed in tests/browser (scripts/install-deps.sh test installs it)")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(["node", os.path.join(DRIVER_DIR, "driver.mjs")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=DRIVER_DIR,
                                     env=dict(os.environ, CHROMIUM=self.chromium))
        hello = self._read()
        log(f"browser: {hello}")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            try:
                self.call("quit")
            except (BrokenPipeError, BrowserError, ValueError):
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver ended (exit {self.proc.poll()})")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise BrowserError(reply.get("error"))
        return reply.get("value")

    def call(self, op, **args):
        self.proc.stdin.write(json.dumps(dict(op=op, **args)) + "\n")
        self.proc.stdin.flush()
        if op == "quit":
            return None
        return self._read()

    def goto(self, url, timeout=30):
        return self.call("goto", url=url, timeout=timeout)

    def eval(self, js):
        """Runs the JavaScript function js ("() => ...", may be async) in the
        page; returns its value as JSON."""
        return self.call("eval", js=js)

    def wait(self, js, timeout=20):
        """Polls js until it returns something true; returns it (so it must
        be JSON: a DOM element is not; return !!element). Raises
        BrowserError at the timeout."""
        return self.call("wait", js=js, timeout=timeout)

    def try_wait(self, js, timeout=20):
        try:
            return self.wait(js, timeout)
        except BrowserError as e:
            log(f"browser: wait failed: {e}")
            return None

    def click(self, selector, timeout=20):
        return self.call("click", selector=selector, timeout=timeout)

    def press(self, selector, key):
        return self.call("press", selector=selector, key=key)

    def select(self, selector, value):
        return self.call("select", selector=selector, value=value)

    def screenshot(self, path, full=False):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return self.call("screenshot", path=path, full=full)

    def viewport(self, width, height, mobile=False, scale=1):
        return self.call("viewport", width=width, height=height, mobile=mobile, scale=scale)

    def responses(self):
        return self.call("responses")

    def console(self):
        return self.call("console")


def artifacts_dir():
    """Where screenshots go: $CAMRIG_ARTIFACTS, else build/test-artifacts
    beside the binary under test."""
    d = os.environ.get("CAMRIG_ARTIFACTS")
    if not d:
        camrig = os.environ.get("CAMRIG", os.path.join(HERE, "../../build/camrig"))
        d = os.path.join(os.path.dirname(os.path.abspath(camrig)), "test-artifacts")
    os.makedirs(d, exist_ok=True)
    return d
