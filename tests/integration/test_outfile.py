#!/usr/bin/env python3
"""-o FILE is replaced whole or not at all (probe/outfile.c), and a report cut short by a signal
says so. Emits TAP.

- `--baseline scan.jsonl -o scan.jsonl` against a lab endpoint whose list differs from the
  baseline's: baseline-drift is found (the baseline was read before the output was opened) and
  the file ends as the new scan, the names compared byte for byte with the lab's certificates.
- kill -9 while a scan waits on a server that never answers: the earlier FILE is byte-identical
  (a leftover .FILE.XXXXXX is allowed and is all there may be besides); while the scan runs FILE
  is the earlier one, never half a report.
- SIGINT during a SARIF scan: FILE is one document, valid against the SARIF 2.1.0 schema
  (check_sarif.py), executionSuccessful false, a notification "interrupted"; during a JUnit scan
  (SIGTERM): xml.etree parses it, the property caprobe.interrupted and <system-err> say so, the
  counts are those of the test cases; JSON Lines: the records and "(interrupted)" in the summary.
- A folder that takes no new file: exit 2 naming the file, before any connection; a run that
  ends without a report (an unreadable -i file) leaves FILE as it was and no temporary file.
- -o /dev/stdout to a pipe and to a file the shell opened for appending, /dev/null, a FIFO, a
  symbolic link (the file it points at is replaced, the link stays), the permission bits of a new
  file (0666 less the umask) and of a replaced one (kept).

No assertion has an upper time bound; waits end after HANG seconds, which only a hang reaches.
"""

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import check_sarif  # noqa: E402

HANG = 120
LONG = 600  # --timeout of scans that are stopped: never reached

LAB_CONFIG = """\
defaults:
  cert: ../pki/server.pem
  key: ../pki/server.key
  versions: [1.2]
endpoints:
  - name: issuing
    client_auth: optional
    cas: [../pki/issuing.pem]
  - name: root
    client_auth: optional
    cas: [../pki/root.pem]
"""


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def others(folder, keep):
    """Names in folder other than those in keep."""
    return sorted(set(os.listdir(folder)) - set(keep))


def ders(rec):
    return [base64.b64decode(c["der"]) for o in rec.get("observations", [])
            for c in (o.get("certificate_request") or {}).get("cas", [])]


def check_baseline_is_output(tap, lab, srv):
    label = "--baseline scan.jsonl -o scan.jsonl"
    a, b = lab.port("issuing"), lab.port("root")
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        scan = os.path.join(tmp, "scan.jsonl")
        r = h.run_caprobe(["--format", "jsonl", "--timeout", "10", "-o", scan,
                           "127.0.0.1:%d" % a], timeout=HANG)
        if not tap.ok(r.rc == 0, "%s: the baseline scan of the issuing endpoint: exit 0" % label,
                      r.describe()):
            return
        # the baseline as if taken from the other endpoint: there it advertised the issuing CA,
        # now it advertises the root
        text = read_bytes(scan).decode()
        text = text.replace("127.0.0.1:%d" % a, "127.0.0.1:%d" % b)
        text = text.replace('"port":%d' % a, '"port":%d' % b)
        with open(scan, "w", encoding="utf-8") as f:
            f.write(text)
        r = h.run_caprobe(["--format", "jsonl", "--timeout", "10", "--fail-on", "medium",
                           "--baseline", scan, "-o", scan, "127.0.0.1:%d" % b], timeout=HANG)
        tap.eq(r.rc, 1, "%s: exit 1 (baseline-drift, medium, at --fail-on medium)" % label,
               r.describe())
        recs, err = h.parse_jsonl(read_bytes(scan).decode("utf-8", "replace"), where=label)
        if not tap.ok(err is None and len(recs) == 1, "%s: the file is one record" % label,
                      err or recs):
            return
        rec = recs[0]
        drift = [f for f in rec.get("findings", []) if f.get("rule") == "baseline-drift"]
        tap.ok(len(drift) == 1 and "1 added, 1 removed" in drift[0].get("message", ""),
               "%s: baseline-drift against the file's earlier content" % label,
               json.dumps(rec.get("findings"))[:2000])
        root = [h.cert_subject_der(c) for c in h.pem_certs(h.pki("root.pem"))]
        tap.eq((rec.get("target"), ders(rec)), ("127.0.0.1:%d" % b, root),
               "%s: the file ends as the new scan (the root CA's name, byte for byte)" % label)
        tap.eq(others(tmp, ["scan.jsonl"]), [], "%s: no temporary file left" % label)


def wait_until(cond, timeout=HANG):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


def check_kill9(tap, lab, srv):
    label = "kill -9 during a SARIF scan"
    target = srv.targets()[0]
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        path = os.path.join(tmp, "scan.sarif")
        before = b'{"an earlier report": true}\n'
        with open(path, "wb") as f:
            f.write(before)
        accepted = srv.snapshot()["accepted"]
        with h.LiveCaprobe(["--format", "sarif", "--tls", "1.2", "--timeout", str(LONG),
                            "-o", path, target]) as live:
            got = srv.wait_accepted(accepted + 1, HANG)
            # the document's head is written as the scan starts: wait until it reached a file
            wait_until(lambda: read_bytes(path) != before or any(
                os.path.getsize(os.path.join(tmp, n)) > 0 for n in others(tmp, ["scan.sarif"])))
            during = read_bytes(path)
            live.proc.kill()
            live.wait(HANG)
        tap.ok(got > accepted, "%s: the server was connected to" % label)
        tap.ok(during == before, "%s: while the scan runs, FILE is the earlier report" % label,
               during[:300])
        tap.ok(read_bytes(path) == before, "%s: FILE is byte-identical afterwards" % label,
               read_bytes(path)[:300])
        left = others(tmp, ["scan.sarif"])
        tap.ok(all(n.startswith(".scan.sarif.") for n in left),
               "%s: nothing else but a temporary .scan.sarif.XXXXXX: %s" % (label, left))


def stopped(tap, label, srv, fmt, sig, tmp):
    """caprobe --format fmt -o tmp/scan.FMT on a server that never answers, stopped by sig once
    it connected, and its exit status checked (128 + sig); (the LiveCaprobe, the path)."""
    path = os.path.join(tmp, "scan." + fmt)
    accepted = srv.snapshot()["accepted"]
    with h.LiveCaprobe(["--format", fmt, "-o", path, "--tls", "1.2", "--timeout", str(LONG),
                        srv.targets()[0]]) as live:
        srv.wait_accepted(accepted + 1, HANG)
        live.signal(sig)
        live.wait(HANG)
    tap.eq(live.rc, 128 + sig, "%s: exit %d" % (label, 128 + sig), live.describe())
    return live, path


def check_sigint_sarif(tap, lab, srv):
    label = "SIGINT during a SARIF scan"
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        live, path = stopped(tap, label, srv, "sarif", signal.SIGINT, tmp)
        try:
            doc = json.loads(read_bytes(path).decode("utf-8"))
        except (OSError, ValueError) as e:
            tap.ok(False, "%s: FILE is one JSON document" % label, str(e))
            return
        tap.ok(True, "%s: FILE is one JSON document" % label)
        try:
            import jsonschema
            with open(check_sarif.DEFAULT_SCHEMA, encoding="utf-8") as f:
                schema = json.load(f)
            validator = jsonschema.validators.validator_for(schema)(
                schema, format_checker=jsonschema.FormatChecker())
            errors = check_sarif.check(path, validator)
            tap.eq(errors, [], "%s: valid SARIF 2.1.0 (check_sarif.py)" % label)
        except ImportError:
            tap.skip("%s: valid SARIF 2.1.0" % label, "no jsonschema (python3-jsonschema)")
        run = doc["runs"][0]
        inv = run["invocations"][0]
        tap.eq(inv.get("executionSuccessful"), False, "%s: executionSuccessful false" % label)
        kinds = [n["id"] for n in run["tool"]["driver"].get("notifications", [])]
        said = [n for n in inv.get("toolExecutionNotifications", [])
                if kinds[n.get("descriptor", {}).get("index", 0)] == "interrupted"]
        tap.ok(len(said) == 1 and "SIGINT" in said[0]["message"]["text"],
               "%s: one notification says the scan was interrupted by SIGINT" % label,
               json.dumps(inv)[:2000])
        tap.eq(others(tmp, ["scan.sarif"]), [], "%s: no temporary file left" % label)


def check_sigterm_junit(tap, lab, srv):
    label = "SIGTERM during a JUnit scan"
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        live, path = stopped(tap, label, srv, "junit", signal.SIGTERM, tmp)
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            tap.ok(False, "%s: xml.etree parses FILE" % label, str(e))
            return
        suite = root.find("testsuite")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        tap.eq(props.get("caprobe.interrupted"), "SIGTERM",
               "%s: property caprobe.interrupted = SIGTERM" % label)
        err = suite.find("system-err")
        tap.ok(err is not None and "interrupted" in (err.text or ""),
               "%s: <system-err> says the scan was interrupted" % label, ET.tostring(suite)[:2000])
        cases = suite.findall("testcase")
        counts = (len(cases), sum(1 for c in cases if c.find("error") is not None))
        tap.eq((int(suite.get("tests")), int(suite.get("errors"))), counts,
               "%s: tests and errors count the test cases written" % label)


def check_sigint_jsonl(tap, lab, srv):
    label = "SIGINT during a JSON Lines scan"
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        live, path = stopped(tap, label, srv, "jsonl", signal.SIGINT, tmp)
        recs, err = h.parse_jsonl(read_bytes(path).decode("utf-8", "replace"), where=label)
        kinds = [(o.get("error") or {}).get("kind") for r in recs for o in r["observations"]]
        tap.ok(err is None and kinds == ["interrupted"],
               "%s: the record with its interrupted probe" % label, live.describe())
        tap.ok("(interrupted)" in live.err.text(), "%s: the summary says (interrupted)" % label,
               live.err.text())


def check_interrupted_baseline(tap, lab, srv):
    """Ctrl-C on --baseline scan.jsonl -o scan.jsonl: the baseline stays whole (its records of
    targets this run did not reach would be lost), this run's records go beside it as
    scan.jsonl.interrupted. SIGHUP (a closed ssh session) stops the scan as SIGTERM does and
    leaves no temporary file."""
    label = "SIGINT with --baseline scan.jsonl -o scan.jsonl"
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        scan = os.path.join(tmp, "scan.jsonl")
        before = b'{"schema":"caprobe/1","target":"127.0.0.1:1","host":"127.0.0.1","port":1,' \
                 b'"observations":[],"findings":[]}\n'
        with open(scan, "wb") as f:
            f.write(before)
        accepted = srv.snapshot()["accepted"]
        with h.LiveCaprobe(["--format", "jsonl", "--baseline", scan, "-o", scan, "--tls", "1.2",
                            "--timeout", str(LONG), srv.targets()[0]]) as live:
            srv.wait_accepted(accepted + 1, HANG)
            live.signal(signal.SIGINT)
            live.wait(HANG)
        tap.eq(live.rc, 130, "%s: exit 130" % label, live.describe())
        tap.ok(read_bytes(scan) == before, "%s: the baseline is byte-identical" % label,
               read_bytes(scan)[:300])
        aside = read_bytes(scan + ".interrupted").decode("utf-8", "replace") \
            if os.path.exists(scan + ".interrupted") else ""
        recs, err = h.parse_jsonl(aside, where=label)
        tap.ok(err is None and len(recs) == 1 and recs[0]["target"] == srv.targets()[0] and
               "scan.jsonl.interrupted" in live.err.text(),
               "%s: this run's record is in scan.jsonl.interrupted, and stderr says so" % label,
               live.describe())
        tap.eq(others(tmp, ["scan.jsonl", "scan.jsonl.interrupted"]), [],
               "%s: no temporary file left" % label)
    label = "SIGHUP during a JSON Lines scan"
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        live, path = stopped(tap, label, srv, "jsonl", signal.SIGHUP, tmp)
        recs, err = h.parse_jsonl(read_bytes(path).decode("utf-8", "replace"), where=label)
        tap.ok(err is None and len(recs) == 1, "%s: the report is written whole" % label,
               live.describe())
        tap.eq(others(tmp, ["scan.jsonl"]), [], "%s: no temporary file left" % label)


def as_nobody():
    """preexec_fn dropping root to nobody, so that folder permissions apply."""
    h._die_with_parent()
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def check_no_report(tap, lab, srv):
    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        os.chmod(tmp, 0o755)
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro)
        os.chmod(ro, 0o555)  # and root's: nobody cannot add a file
        path = os.path.join(ro, "scan.jsonl")
        label = "-o into a folder that takes no new file"
        accepted = srv.snapshot()["accepted"]
        cmd = [h.caprobe_path(), "--format", "jsonl", "--timeout", "5", "-o", path,
               srv.targets()[0]]
        if os.geteuid() == 0:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG,
                               preexec_fn=as_nobody)
        else:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG)
        err = p.stderr.decode("utf-8", "replace")
        if "Permission denied" not in err and p.returncode != 2 and os.geteuid() == 0:
            tap.skip(label, "could not run caprobe as nobody: %s" % err[:300])
        else:
            tap.ok(p.returncode == 2 and ("cannot write %s: Permission denied" % path) in err,
                   "%s: exit 2, the message names the file: %r" % (label, err), p.returncode)
            tap.eq(srv.snapshot()["accepted"], accepted, "%s: nothing was probed" % label)
            tap.eq(os.listdir(ro), [], "%s: nothing created" % label)

        label = "-o into a folder that does not exist"
        path = os.path.join(tmp, "missing", "scan.jsonl")
        r = h.run_caprobe(["--format", "jsonl", "-o", path, srv.targets()[0]], timeout=HANG)
        tap.ok(r.rc == 2 and ("cannot write %s: No such file or directory" % path) in r.stderr,
               "%s: exit 2, the message names the file" % label, r.describe())
        tap.eq(srv.snapshot()["accepted"], accepted, "%s: nothing was probed" % label)

        label = "a run that ends without a report (unreadable -i file)"
        path = os.path.join(tmp, "scan.jsonl")
        before = b"an earlier report\n"
        with open(path, "wb") as f:
            f.write(before)
        r = h.run_caprobe(["--format", "jsonl", "-i", os.path.join(tmp, "missing.txt"),
                           "-o", path], timeout=HANG)
        tap.ok(r.rc == 2 and "missing.txt" in r.stderr, "%s: exit 2 naming the input" % label,
               r.describe())
        tap.ok(read_bytes(path) == before, "%s: FILE is as it was" % label, read_bytes(path))
        tap.eq(others(tmp, ["scan.jsonl", "ro"]), [], "%s: no temporary file left" % label)


def check_special_targets(tap, lab, srv):
    target = "127.0.0.1:%d" % lab.port("issuing")  # a short scan without a finding
    args = ["--format", "jsonl", "--timeout", "10", target]

    label = "-o /dev/stdout to a pipe"
    r = h.run_caprobe(args + ["-o", "/dev/stdout"], timeout=HANG)
    tap.ok(r.rc == 0 and r.parse_error is None and [x["target"] for x in r.records] == [target],
           "%s: the record on standard output" % label, r.describe())

    with tempfile.TemporaryDirectory(prefix="caprobe-outfile-") as tmp:
        label = "-o /dev/stdout to a file opened for appending (>>)"
        log = os.path.join(tmp, "log.jsonl")
        first = b"an earlier line\n"
        with open(log, "wb") as f:
            f.write(first)
        with open(log, "ab") as out:
            p = subprocess.run([h.caprobe_path(), "-q"] + args + ["-o", "/dev/stdout"],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                               timeout=HANG)
        data = read_bytes(log)
        tap.ok(p.returncode == 0 and data.startswith(first) and
               json.loads(data[len(first):])["target"] == target,
               "%s: the earlier line kept, the record after it" % label, data[:500])

        label = "-o /dev/null"
        r = h.run_caprobe(args + ["-o", "/dev/null"], timeout=HANG)
        tap.ok(r.rc == 0 and r.stdout == "" and os.path.exists("/dev/null") and
               stat.S_ISCHR(os.stat("/dev/null").st_mode), "%s: exit 0, /dev/null still a "
               "device" % label, r.describe())

        label = "-o FIFO"
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(read_bytes(fifo)), daemon=True)
        reader.start()
        r = h.run_caprobe(args + ["-o", fifo], timeout=HANG)
        reader.join(HANG)
        tap.ok(r.rc == 0 and got and json.loads(got[0])["target"] == target and
               stat.S_ISFIFO(os.lstat(fifo).st_mode), "%s: the reader gets the record" % label,
               r.describe())

        label = "-o LINK (a symbolic link to a report in another folder)"
        os.mkdir(os.path.join(tmp, "reports"))
        real = os.path.join(tmp, "reports", "today.jsonl")
        with open(real, "wb") as f:
            f.write(b"an earlier report\n")
        os.chmod(real, 0o640)
        link = os.path.join(tmp, "latest.jsonl")
        os.symlink(os.path.join("reports", "today.jsonl"), link)
        r = h.run_caprobe(args + ["-o", link], timeout=HANG)
        tap.ok(r.rc == 0 and os.path.islink(link) and
               json.loads(read_bytes(real))["target"] == target,
               "%s: the link stays, the file it points at is the new report" % label,
               r.describe())
        tap.eq(oct(stat.S_IMODE(os.stat(real).st_mode)), oct(0o640),
               "%s: the replaced file keeps its permission bits" % label)
        tap.eq(others(os.path.join(tmp, "reports"), ["today.jsonl"]), [],
               "%s: no temporary file left" % label)

        label = "-o NEW with umask 027"
        new = os.path.join(tmp, "new.jsonl")

        def umask027():
            h._die_with_parent()
            os.umask(0o027)
        p = subprocess.run([h.caprobe_path(), "-q"] + args + ["-o", new],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG,
                           preexec_fn=umask027)
        tap.ok(p.returncode == 0 and os.path.exists(new) and
               stat.S_IMODE(os.stat(new).st_mode) == 0o640,
               "%s: mode 0640 (0666 less the umask, not a temporary file's 0600): %s"
               % (label, oct(stat.S_IMODE(os.stat(new).st_mode)) if os.path.exists(new)
                  else "missing"), p.stderr)


CHECKS = [check_baseline_is_output, check_kill9, check_sigint_sarif, check_sigterm_junit,
          check_sigint_jsonl, check_interrupted_baseline, check_no_report, check_special_targets]


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.skip("-o FILE", "caprobe binary not found ($CAPROBE=%r)" % os.environ.get("CAPROBE"))
        return tap.finish()
    # srv accepts, reads and never answers: scans wait on it until stopped
    with h.LabServer(LAB_CONFIG) as lab, h.CountingServer(1, hold=None) as srv:
        h.run_checks(tap, CHECKS, lab, srv)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
