#!/usr/bin/env python3
"""caprobe report --format html at fleet scale: how large the file is and how long headless
Chromium takes to load it and to filter it, for a fleet of N targets (default 10,000).

A benchmark, not a test: it prints figures and exits 0 unless the bench itself broke; no figure
is held to a limit. Python 3 standard library and Debian's chromium; 127.0.0.1 only; the lab and
the browser are killed on exit. Run through `make bench-report` (or `make bench`), or:

    python3 tests/bench/report.py --caprobe build/caprobe [--targets N] [--runs K] [--quick]
                                  [--keep DIR]

The fleet: one real scan of the lab (fixtures/lab/lab.yaml, every endpoint: right lists, root
store dumps of 144 names, a 460-name list of 47 KB, empty lists, no request, STARTTLS, hostile
names, errors of every kind; --timeout 3, --expect-ca issuing.pem), its records replicated into
N distinct targets: replica k of a record has 127.0.0.1 replaced by 10.k.k.k (in the target, the
addresses, the messages and fixes), so every target is its own, with its own findings, while the
lists stay those the lab sent (as a fleet whose servers share a few CA lists).

How each figure is measured:
  report   caprobe report --format html -o FILE: wall time (time.monotonic), CPU and peak RSS of
           the process (os.wait4)
  size     the HTML file's bytes; gzip -6 of it (what an artifact store or a mail keeps)
  load     a new page of one headless Chromium (DevTools protocol over a pipe: no socket) opens
           file://FILE: from the navigation command to the load event as seen from here, and the
           page's own Navigation Timing (PerformanceNavigationTiming: file read, DOM parsed,
           DOMContentLoaded, load) and first contentful paint; K runs, each in a new page of the
           same browser, the first cold (median and range printed)
  filter   in the loaded page, as a user would: a rule chosen in the select (a change event),
           then a text typed and submitted twice (the first search reads every target's text
           once), each until the next layout is done (performance.now() around the handler and
           a forced layout)
  dump-dom chromium --headless --dump-dom FILE, start to exit, beside the same for a page of one
           line: the start-up a --dump-dom test pays, and what the report adds to it
"""

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def run_timed(cmd):
    """(exit status, wall seconds, CPU seconds, peak RSS in KiB) of cmd."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def lab_scan(h, lab_yaml, path):
    import labfleet
    with h.LabServer(lab_yaml) as lab:
        r = h.run_caprobe(["--format", "jsonl", "--timeout", "3", "--expect-ca",
                           h.pki("issuing.pem"), "-o", path] + labfleet.lab_yaml_targets(lab),
                          timeout=300)
    if r.rc not in (0, 1):
        sys.exit("bench: the lab scan failed:\n" + r.describe())
    with open(path, encoding="utf-8") as f:
        return [x for x in f.read().split("\n") if x.strip()]


def replicate(lines, n, path):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            k = i // len(lines)
            addr = "10.%d.%d.%d" % (k >> 16, (k >> 8) & 255, k & 255)
            f.write(lines[i % len(lines)].replace("127.0.0.1", addr) + "\n")


FILTER = """(function () {
  var f = document.getElementById('filter'), out = [], t;
  function step(run) {
    t = performance.now(); run(); void document.body.offsetHeight;
    out.push(performance.now() - t);
  }
  step(function () {
    f.elements.rule.value = 'root-store-dump';
    f.elements.rule.dispatchEvent(new Event('change', {bubbles: true}));
  });
  var shown = document.getElementById('shown').textContent;
  f.elements.rule.value = '';
  step(function () { f.elements.q.value = 'nt authority'; f.requestSubmit(); });
  step(function () { f.elements.q.value = 'digicert'; f.requestSubmit(); });
  return JSON.stringify([out, shown, document.getElementById('shown').textContent]);
})()"""


def mib(n):
    return n / (1024.0 * 1024.0)


def spread(v):
    """Milliseconds: the median and the range of several runs."""
    if len(v) == 1:
        return "%.0f ms" % v[0]
    return "%.0f ms (%.0f-%.0f)" % (statistics.median(v), min(v), max(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--caprobe", required=True)
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1,000 targets, one run")
    ap.add_argument("--keep", help="keep the scan and the report in this folder")
    args = ap.parse_args()
    if args.quick:
        args.targets, args.runs = 1000, 1
    os.environ["CAPROBE"] = os.path.abspath(args.caprobe)
    os.environ.setdefault("CAPROBE_FIXTURES", os.path.join(HERE, "..", "..", "fixtures"))
    import browser
    import harness as h
    h.install_signal_handlers()
    if browser.chromium() is None:
        sys.exit("bench: chromium is not installed (apt-get install chromium)")
    work = args.keep or tempfile.mkdtemp(prefix="caprobe-bench-report-")
    os.makedirs(work, exist_ok=True)
    try:
        lines = lab_scan(h, os.path.join(h.fixtures_dir(), "lab", "lab.yaml"),
                         os.path.join(work, "lab.jsonl"))
        scan = os.path.join(work, "fleet.jsonl")
        replicate(lines, args.targets, scan)
        out = os.path.join(work, "fleet.html")
        rc, wall, cpu, rss = run_timed([args.caprobe, "report", "--format", "html", "-o", out,
                                        scan])
        if rc != 0:
            sys.exit("bench: caprobe report exited %d" % rc)
        size = os.path.getsize(out)
        with open(out, "rb") as f:
            packed = len(gzip.compress(f.read(), 6))

        findings = sum(len(json.loads(lines[i % len(lines)])["findings"])
                       for i in range(args.targets))
        print("caprobe report --format html: %d targets (the lab's %d records, replicated), "
              "%d findings" % (args.targets, len(lines), findings))
        print("  %s" % browser.version())
        print("  scan      %.1f MiB of JSON Lines" % mib(os.path.getsize(scan)))
        print("  report    %.2f s wall, %.2f s CPU, peak RSS %.0f MiB"
              % (wall, cpu, rss / 1024.0))
        print("  size      %.1f MiB (%d bytes, %.0f bytes per target); gzip -6 %.2f MiB"
              % (mib(size), size, size / float(args.targets), mib(packed)))

        loads, nav, fcp, filters = [], [], [], []
        with browser.DevTools() as d:
            for _ in range(args.runs):
                loads.append(d.open(browser.file_url(out), timeout=600))
                nav.append(d.navigation_timing())
                paint = json.loads(d.evaluate("JSON.stringify(performance.getEntriesByName("
                                              "'first-contentful-paint').map(function (e) "
                                              "{ return e.startTime; }))"))
                fcp.append(paint[0] if paint else float("nan"))
                filters.append(json.loads(d.evaluate(FILTER, timeout=600)))
        print("  load      %s from the navigation command to the load event, as the DevTools "
              "client sees it (%d run%s, the first cold); the page's own timing:"
              % (" / ".join("%.2f s" % x for x in loads), args.runs,
                 "" if args.runs == 1 else "s"))
        for name, field in (("file read", "responseEnd"), ("DOM parsed", "domInteractive"),
                            ("DOMContentLoaded", "domContentLoadedEventEnd"),
                            ("load event", "loadEventEnd")):
            print("    %-18s %s" % (name, spread([x[field] for x in nav])))
        print("    %-18s %s" % ("first paint", spread(fcp)))
        print("  filter    a rule: %s (%s); text, first search: %s; text again: %s (%s)"
              % (spread([x[0][0] for x in filters]), filters[-1][1],
                 spread([x[0][1] for x in filters]), spread([x[0][2] for x in filters]),
                 filters[-1][2]))
        tiny = os.path.join(work, "tiny.html")
        with open(tiny, "w") as f:
            f.write("<!DOCTYPE html><title>t</title><p>t\n")
        times = []
        for path in (tiny, out):
            t0 = time.monotonic()
            dom = browser.dump_dom(browser.file_url(path), timeout=600)
            times.append((time.monotonic() - t0, len(dom)))
        print("  dump-dom  %.2f s for the report (%.1f MiB of DOM), %.2f s for a one-line page"
              % (times[1][0], mib(times[1][1]), times[0][0]))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
