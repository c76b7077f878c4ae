"""Headless Chromium (Debian's chromium) for the HTML report's test and benchmark.

Each run has a fresh profile in a temporary folder and no way out: host names resolve to nothing
and a proxy on a closed loopback port takes anything else, so a page that tried to fetch
something would fail rather than reach a network (the report fetches nothing; the test checks
that too). --no-sandbox only as root, where Chromium's sandbox cannot start.

  dump_dom(url, flags)            the DOM after the load event (--dump-dom), as text
  screenshot(url, path, w, h)     a PNG of the page at that window size (--screenshot)
  DevTools()                      a Chrome DevTools Protocol session over --remote-debugging-pipe
                                  (file descriptors 3 and 4: no socket, no extra package): load a
                                  page, evaluate in it, read the browser's own Navigation Timing
Python 3 standard library only.
"""

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import harness as h


def chromium():
    """The browser binary ($CHROMIUM, else chromium on PATH), or None."""
    p = os.environ.get("CHROMIUM") or shutil.which("chromium")
    return p if p and os.access(p, os.X_OK) else None


def version():
    r = subprocess.run([chromium(), "--version"], capture_output=True, text=True, timeout=60)
    return r.stdout.strip()


def file_url(path, fragment=""):
    return "file://" + os.path.abspath(path) + (("#" + fragment) if fragment else "")


def _command(profile, flags):
    cmd = [chromium(), "--headless", "--disable-gpu", "--user-data-dir=" + profile,
           "--no-first-run", "--no-default-browser-check", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:%d"
           % h.closed_port()]
    if os.geteuid() == 0:
        cmd.append("--no-sandbox")
    return cmd + list(flags)


def _run(flags, url, timeout):
    profile = tempfile.mkdtemp(prefix="caprobe-chromium-")
    try:
        p = subprocess.Popen(_command(profile, flags) + [url], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, preexec_fn=h._die_with_parent)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            h.kill_group(p, grace=1.0)
            out, err = p.communicate()
            raise RuntimeError("chromium did not finish in %d s: %s" % (timeout, err[-2000:]))
        if p.returncode != 0:
            raise RuntimeError("chromium exit %d: %s" % (p.returncode, err[-2000:]))
        return out.decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(url, flags=(), timeout=120):
    """The serialised DOM of url once loaded and its scripts have run."""
    return _run(list(flags) + ["--dump-dom"], url, timeout)


def screenshot(url, path, width, height, timeout=120):
    _run(["--hide-scrollbars", "--window-size=%d,%d" % (width, height),
          "--screenshot=" + os.path.abspath(path)], url, timeout)
    return os.path.isfile(path) and os.path.getsize(path) > 0


class DevTools:
    """One headless browser driven over the DevTools protocol's pipe transport: messages are
    JSON, each ended by a NUL byte, commands to fd 3 of the browser, answers and events from its
    fd 4. A context manager; the browser's process group is killed on exit."""

    def __init__(self, width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="caprobe-chromium-")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def child():
            h._die_with_parent()
            # dup2 to a high number first: dup2 onto itself would keep close-on-exec
            a, b = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = _command(self.profile, ["--remote-debugging-pipe",
                                      "--window-size=%d,%d" % (width, height), "about:blank"])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     close_fds=False, preexec_fn=child)
        os.close(to_r)
        os.close(from_w)
        self.buf, self.events, self.next_id = b"", [], 0
        self.session = self.target = None

    def _message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                raise RuntimeError("chromium: no answer over the DevTools pipe")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\0", 1)
        return json.loads(line)

    def call(self, method, params=None, timeout=120, browser=False):
        """Send a command (to the page's session unless browser) and return its result."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_w, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    def open(self, url, scripts=True, timeout=120):
        """A new page loading url (with JavaScript off unless scripts); returns the seconds from
        the navigation command to the load event as seen from here (the browser's own figures:
        navigation_timing). The events of the load stay in self.events (Page, Network, Log)."""
        if self.target:  # one page at a time: the last one's memory is not this one's
            self.call("Target.closeTarget", {"targetId": self.target}, browser=True)
        self.target = self.call("Target.createTarget", {"url": "about:blank"},
                                browser=True)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": self.target,
                                                           "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Network", "Log"):
            self.call(domain + ".enable")
        if not scripts:
            self.call("Emulation.setScriptExecutionDisabled", {"value": True})
        self.events = []
        t0 = time.monotonic()
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", timeout)
        return time.monotonic() - t0

    def evaluate(self, expression, timeout=120):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def navigation_timing(self):
        """The page's PerformanceNavigationTiming, in ms from the start of the navigation."""
        return json.loads(self.evaluate(
            "JSON.stringify(performance.getEntriesByType('navigation')[0] || null)"))

    def close(self):
        try:
            if self.proc.poll() is None:
                self.call("Browser.close", browser=True, timeout=10)
                self.proc.wait(timeout=10)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        h.kill_group(self.proc)
        for fd in (self.to_w, self.from_r):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
