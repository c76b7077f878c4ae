#!/usr/bin/env python3
"""The output path end to end: a slow reader never turns answers into timeouts, memory stays
bounded while it stalls, -o FILE gets the whole report, and a failed write ends the scan.

One `openssl s_server -Verify 1 -CAfile` of the system bundle (about 140 CA names: a record of
some 180 KB with its four variants) is scanned as many targets, host names that --resolve sends
to the same port. Emits TAP; exits non-zero on failure.

- A reader that takes the first bytes and then stops reading for STALL seconds, four times the
  --timeout, before it reads the rest: every record is there and valid, and no observation is a
  `timeout` (caprobe that wrote from its loop stalled with the pipe, and its probes in flight
  all timed out when it went on). With -c small and more output than twice the high water, the
  scan is held (the summary says so) and the most queued stays under the high water plus one
  record per probe in flight.
- -o FILE: the whole report, JSON Lines and SARIF.
- -o /dev/full and a reader that closes the pipe: exit 2, "writing the report failed" with the
  cause, and no hang.

No assertion has an upper time bound; waits end after HANG seconds, which only a hang reaches.
"""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HANG = 120
TIMEOUT = 2  # --timeout of the scans: the stall is well past it
STALL = 4 * TIMEOUT
HIGH_WATER = 8 * 1024 * 1024  # OUTPUT_HIGH_WATER, probe/run.c
CONCURRENCY = 8


def targets_args(port, n):
    """n targets h1.test .. hn.test, all sent to 127.0.0.1:port."""
    args, targets = [], []
    for k in range(1, n + 1):
        name = "h%d.test" % k
        args += ["--resolve", "%s:%d:127.0.0.1" % (name, port)]
        targets.append("%s:%d" % (name, port))
    return args + targets, targets


class StalledReader:
    """caprobe with its stdout read by this process: the first bytes, then nothing for `stall`
    seconds, then everything (or, with close_after_first, the pipe closed after the first
    bytes). stderr is drained all along. Waits are bounded by HANG."""

    def __init__(self, args, stall, close_after_first=False, signal_at=None):
        self.cmd = [h.caprobe_path()] + list(args)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=h._die_with_parent)
        self.err = h.TimedLineReader(self.proc.stderr)
        self.err.start()
        self.data = bytearray()
        self.rc = None
        self.hung = False
        try:
            fd = self.proc.stdout.fileno()
            self.data += self._read(fd, time.monotonic() + HANG, once=True)
            if close_after_first:
                self.proc.stdout.close()
            else:
                if signal_at is not None:  # SIGINT while the reader still stalls
                    time.sleep(signal_at)
                    os.kill(self.proc.pid, signal.SIGINT)
                time.sleep(stall - (signal_at or 0))
                self.data += self._read(fd, time.monotonic() + HANG)
            self.rc = self.proc.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            self.hung = True
        finally:
            h.kill_group(self.proc, grace=1.0)
            self.err.join(timeout=5)
        self.elapsed = time.monotonic() - self.t0

    def _read(self, fd, deadline, once=False):
        out = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.hung = True
                return out
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return out
            out += chunk
            if once:
                return out

    def stderr(self):
        return self.err.text()

    def describe(self):
        return ("command: %s ...\nexit status: %s, %.2f s%s\n%d bytes on stdout\nstderr:\n%s"
                % (" ".join(self.cmd[:12]), self.rc, self.elapsed, " (hung)" if self.hung else "",
                   len(self.data), self.stderr()[:4000]))


def kinds(records):
    """{error kind or outcome: count} over every observation."""
    out = {}
    for r in records:
        for o in r.get("observations") or []:
            k = (o.get("error") or {}).get("kind") if o.get("outcome") == "error" \
                else o.get("outcome")
            out[k] = out.get(k, 0) + 1
    return out


def check_stalled_reader(tap, port):
    n = 120  # some 21 MB of records: well past twice the high water
    label = "reader stalled %d s (--timeout %d), %d targets, -c %d" % (STALL, TIMEOUT, n,
                                                                      CONCURRENCY)
    args, targets = targets_args(port, n)
    run = StalledReader(["--format", "jsonl", "--timeout", str(TIMEOUT), "-c", str(CONCURRENCY)]
                        + args, STALL)
    tap.diag("%s: %.2f s, %d bytes" % (label, run.elapsed, len(run.data)))
    if not tap.ok(not run.hung and run.rc is not None, "%s: caprobe ends" % label,
                  run.describe()):
        return
    tap.ok(run.rc in (0, 1), "%s: exit status 0 or 1 (findings), not an error: %s"
           % (label, run.rc), run.describe())
    text = run.data.decode("utf-8", "replace")
    recs, err = h.parse_jsonl(text, where=label)
    if not tap.ok(err is None, "%s: the output is JSON Lines" % label, err):
        return
    got = [r.get("target") for r in recs]
    tap.eq(sorted(got), sorted(targets), "%s: one record per target, none lost" % label)
    k = kinds(recs)
    tap.eq(k.get("timeout", 0), 0, "%s: no observation timed out" % label, k)
    tap.eq(k, {"certificate_request": 4 * n},
           "%s: every observation has the server's certificate request" % label)
    summary = run.stderr()
    biggest = max(len(line) + 1 for line in text.splitlines())
    if len(run.data) > 2 * HIGH_WATER:
        tap.ok("output held new probes for" in summary,
               "%s: the summary says the output held the scan" % label, summary)
        # "up to X MiB queued": the high water, and at most one record for each probe in
        # flight and for the stream's buffer on top of it
        mib = None
        for word in summary.split("(up to ", 1)[1:]:
            mib = float(word.split(" ", 1)[0])
        bound = (HIGH_WATER + (CONCURRENCY + 1) * biggest) / (1024.0 * 1024.0)
        tap.ok(mib is not None and mib <= bound,
               "%s: at most %.1f MiB queued (high water + %d records of %d bytes): %s MiB"
               % (label, bound, CONCURRENCY + 1, biggest, mib), summary)
        tap.ok(mib is not None and mib * 1024 * 1024 < len(run.data) / 2,
               "%s: far less queued than written (%d bytes)" % (label, len(run.data)), summary)
    else:
        tap.skip("%s: the output held the scan" % label,
                 "only %d bytes of output with this system bundle" % len(run.data))


def check_signal_while_draining(tap, port):
    """The scan is over and caprobe waits for a stalled reader to take the rest of the report:
    a SIGINT then lets the report be finished, whole, instead of killing caprobe with records
    queued (the scan's signal handling has ended with its loop)."""
    n = 30
    args, targets = targets_args(port, n)
    label = "SIGINT while the last %d records wait for a stalled reader" % n
    run = StalledReader(["--format", "jsonl", "--timeout", str(TIMEOUT)] + args, STALL,
                        signal_at=STALL / 2)
    if not tap.ok(not run.hung and run.rc is not None, "%s: caprobe ends" % label,
                  run.describe()):
        return
    recs, err = h.parse_jsonl(run.data.decode("utf-8", "replace"), where=label)
    tap.ok(run.rc in (0, 1), "%s: not killed by the signal (exit %s)" % (label, run.rc),
           run.describe())
    tap.eq(sorted(r.get("target") for r in recs), sorted(targets),
           "%s: every record written" % label, err)
    tap.ok("finishing the report" in run.stderr(), "%s: stderr says the report is being "
           "finished" % label, run.stderr())


def check_output_file(tap, port):
    n = 40
    args, targets = targets_args(port, n)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("jsonl", "sarif"):
            label = "-o FILE, --format %s, %d targets" % (fmt, n)
            path = os.path.join(tmp, "scan." + fmt)
            run = h.run_caprobe(["--format", fmt, "--timeout", "5", "-o", path] + args,
                                timeout=HANG)
            if not tap.ok(run.rc in (0, 1), "%s: exit status 0 or 1: %s" % (label, run.rc),
                          run.describe()):
                continue
            tap.eq(run.stdout, "", "%s: nothing on stdout" % label)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if fmt == "jsonl":
                recs, err = h.parse_jsonl(text, where=label)
                tap.ok(err is None, "%s: the file is JSON Lines" % label, err)
                tap.eq(sorted(r.get("target") for r in recs), sorted(targets),
                       "%s: one record per target" % label)
                tap.eq(kinds(recs), {"certificate_request": 4 * n},
                       "%s: every observation complete" % label)
            else:
                try:
                    results = json.loads(text)["runs"][0]["results"]
                    ok, why = True, "%d results" % len(results)
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    ok, why = False, "%s: %s" % (type(e).__name__, e)
                tap.ok(ok, "%s: the file is one complete SARIF document (%s)" % (label, why),
                       text[-2000:])
                tap.ok(all(t in text for t in targets),
                       "%s: every target is named in the document" % label)


def check_write_failures(tap, port):
    args, _ = targets_args(port, 40)
    label = "-o /dev/full"
    if os.path.exists("/dev/full"):
        run = h.run_caprobe(["--format", "jsonl", "--timeout", "5", "-o", "/dev/full"] + args,
                            timeout=HANG)
        tap.ok(run.rc is not None, "%s: caprobe ends" % label, run.describe())
        tap.eq(run.rc, 2, "%s: exit status 2" % label, run.describe())
        tap.ok("writing the report failed: No space left on device" in run.stderr,
               "%s: says writing the report failed, and why" % label, run.stderr)
    else:
        tap.skip(label, "no /dev/full")

    label = "a reader that closes the pipe after the first bytes"
    run = StalledReader(["--format", "jsonl", "--timeout", "5", "-c", str(CONCURRENCY)] + args,
                        0, close_after_first=True)
    tap.ok(not run.hung and run.rc is not None, "%s: caprobe ends" % label, run.describe())
    # like `caprobe ... | head -1`: quiet, with the status of a process SIGPIPE ends
    tap.eq(run.rc, 141, "%s: exit status 141 (128 + SIGPIPE)" % label, run.describe())
    tap.ok("caprobe:" not in run.stderr(), "%s: nothing on stderr" % label, run.stderr())

    label = "caprobe diff to a reader that closes the pipe"
    with tempfile.TemporaryDirectory(prefix="caprobe-diff-") as tmp:
        old, new = os.path.join(tmp, "old.jsonl"), os.path.join(tmp, "new.jsonl")
        for path, port_of in ((old, 1), (new, 2)):  # 5,000 targets, all on other ports
            with open(path, "w") as f:
                for i in range(5000):
                    f.write(json.dumps({"schema": "caprobe/1", "target": "h%d.test:%d"
                                        % (i, port_of), "host": "h%d.test" % i,
                                        "port": port_of, "observations": [],
                                        "findings": []}) + "\n")
        run = StalledReader(["diff", old, new], 0, close_after_first=True)
    tap.ok(not run.hung and run.rc == 141 and "caprobe" not in run.stderr(),
           "%s: exit status 141, nothing on stderr" % label, run.describe())


CHECKS = [check_stalled_reader, check_signal_while_draining, check_output_file,
          check_write_failures]


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.skip("output path", "caprobe binary not found ($CAPROBE=%r)"
                 % os.environ.get("CAPROBE"))
        return tap.finish()
    if not os.path.exists(SYSTEM_BUNDLE):
        tap.skip("output path", "%s is missing (apt-get install ca-certificates)"
                 % SYSTEM_BUNDLE)
        return tap.finish()
    with h.OpensslServer(["-Verify", "1", "-CAfile", SYSTEM_BUNDLE]) as srv:
        h.run_checks(tap, CHECKS, srv.port)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
