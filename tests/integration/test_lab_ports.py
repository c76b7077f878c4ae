#!/usr/bin/env python3
"""caprobe-lab --base-port N: the endpoints of fixtures/lab/lab.yaml listen on N, N+1, ... in the
order of the file (read here with a YAML parser of the test's own), the same on two runs; an
endpoint's own port: keeps its port and its place; a taken port of the range is refused, named,
with exit status 1; a range past 65535 and a base that is no port are usage errors (exit 2). The
before/after block of docs/report.md runs as written on a free range: before-renewal.yaml then
lab.yaml on the same ports, and caprobe diff finds the new findings target by target.

N is a range free a moment ago (the kernel picks its start, each port is bound once); another
process may take one of its ports before the lab does, so each check starts again on another
range a bounded number of times. Emits TAP."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LAB_DIR = os.path.join(h.fixtures_dir(), "lab")
LAB_YAML = os.path.join(LAB_DIR, "lab.yaml")
ATTEMPTS = 5
IN_USE = "choose another base port"


def documented_order(path):
    """The port map's lines as fixtures/lab/README.md documents them: the endpoints in file
    order, one line per port of an endpoint's count."""
    import yaml  # python3-yaml (Makefile TEST_PKGS)
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    defaults = doc.get("defaults") or {}
    out = []
    for e in doc["endpoints"]:
        out += [e["name"]] * int(e.get("count", defaults.get("count", 1)))
    return out


def port_map(lab):
    return [(e["name"], e["port"]) for e in lab.endpoints]


def check_same_ports_twice(tap):
    names = documented_order(LAB_YAML)
    for attempt in range(ATTEMPTS):
        base = h.free_port_range(len(names))
        try:
            with h.LabServer(LAB_YAML, base_port=base) as lab:
                first = port_map(lab)
            with h.LabServer(LAB_YAML, base_port=base) as lab:
                second = port_map(lab)
        except RuntimeError as e:  # a port of the range was taken meanwhile
            tap.diag("attempt %d, base %d: %s" % (attempt + 1, base, e))
            if IN_USE not in str(e):
                raise
            continue
        want = [(n, base + i) for i, n in enumerate(names)]
        tap.eq(first, want, "lab.yaml on --base-port %d: its %d endpoints on %d to %d in the "
               "order of the file" % (base, len(names), base, base + len(names) - 1))
        tap.eq(second, first, "a second run on the same base: the same port map")
        return
    tap.ok(False, "lab.yaml on a base port: no free range in %d attempts" % ATTEMPTS)


OWN_PORT = """defaults:
  cert: ../pki/server.pem
  key: ../pki/server.key
endpoints:
  - {{name: first}}
  - {{name: fixed, port: {fixed}}}
  - {{name: many, count: 2}}
"""


def check_own_port(tap):
    """An endpoint's port: wins; its place in the order stays taken (the next is base + 2)."""
    for attempt in range(ATTEMPTS):
        base = h.free_port_range(4)
        fixed = h.free_port()
        if base <= fixed < base + 4:
            continue
        try:
            with h.LabServer(OWN_PORT.format(fixed=fixed), base_port=base) as lab:
                got = port_map(lab)
        except RuntimeError as e:
            tap.diag("attempt %d, base %d: %s" % (attempt + 1, base, e))
            if "Address already in use" not in str(e):
                raise
            continue
        tap.eq(got, [("first", base), ("fixed", fixed), ("many", base + 2), ("many", base + 3)],
               "an endpoint's own port: wins and keeps its place; count: 2 takes two places")
        return
    tap.ok(False, "own port: no free range in %d attempts" % ATTEMPTS)


def run_lab(args):
    """Run the lab to its exit (it must not start: a start would print the port map and wait);
    returns (status, stdout, stderr), status None when it was still running."""
    p = subprocess.Popen([h.lab_path()] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=60)
        return p.returncode, out.decode(), err.decode()
    except subprocess.TimeoutExpired:
        h.kill_group(p)
        out, err = p.communicate()
        return None, out.decode(), err.decode()


def check_taken_port(tap):
    names = documented_order(LAB_YAML)
    for attempt in range(ATTEMPTS):
        base = h.free_port_range(len(names))
        taken = base + 3
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", taken))
            holder.listen()
        except OSError:
            holder.close()
            continue
        try:
            rc, out, err = run_lab(["--base-port", str(base), LAB_YAML])
        finally:
            holder.close()
        if "port %d:" % taken not in err and IN_USE in err:
            tap.diag("attempt %d: another port of the range was taken: %s" % (attempt + 1, err))
            continue
        tap.ok(rc == 1 and "ready" not in out and
               "%s[0]: cannot listen on 127.0.0.1 port %d: Address already in use"
               % (names[3], taken) in err and
               "--base-port %d needs ports %d to %d free" % (base, base, base + len(names) - 1)
               in err, "a taken port of the range: exit 1, the endpoint and the port named",
               (rc, out, err))
        return
    tap.ok(False, "taken port: no free range in %d attempts" % ATTEMPTS)


def check_usage(tap):
    n = len(documented_order(LAB_YAML))
    rc, out, err = run_lab(["--base-port", str(65536 - n + 1), LAB_YAML])
    tap.ok(rc == 2 and not out and "would run past 65535" in err,
           "--base-port %d with %d endpoints: past 65535, exit 2" % (65536 - n + 1, n),
           (rc, out, err))
    for bad in ("0", "65536", "x", "-1"):
        rc, out, err = run_lab(["--base-port", bad, LAB_YAML])
        tap.ok(rc == 2 and not out and "--base-port %s: expected a port from 1 to 65535" % bad
               in err, "--base-port %s: exit 2" % bad, (rc, out, err))


def doc_block():
    with open(os.path.join(h.fixtures_dir(), "..", "docs", "report.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Before and after, on the lab", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def run_group(cmd, cwd):
    """Run cmd in a process group of its own, the whole group stopped if it is still running
    after 300 s (a lab the block started must not outlive the test). A CompletedProcess."""
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        h.kill_group(p)
        out, err = p.communicate()
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return h.parse_jsonl(f.read(), where=os.path.basename(path))[0]


def check_doc_before_after(tap):
    """docs/report.md's block, its base replaced by a free one, in a folder where build/ and
    fixtures/ are this build's and this tree's."""
    block = doc_block()
    tap.ok(block.startswith("base=47100 "), "docs/report.md: the block sets base= first",
           block[:80])
    if shutil.which("shellcheck"):  # Makefile TEST_PKGS
        p = subprocess.run(["shellcheck", "-s", "sh", "-"], input=block, text=True,
                           capture_output=True, timeout=60)
        tap.ok(p.returncode == 0, "docs/report.md: the block through shellcheck -s sh",
               p.stdout + p.stderr)
    else:
        tap.skip("docs/report.md: the block through shellcheck", "shellcheck not installed")
    n = len(documented_order(LAB_YAML))
    tap.eq(documented_order(os.path.join(LAB_DIR, "before-renewal.yaml")),
           documented_order(LAB_YAML)[:4],
           "before-renewal.yaml: lab.yaml's first four endpoints, in its order")
    build = os.path.dirname(h.caprobe_path())
    tap.eq(os.path.realpath(h.lab_path()),
           os.path.realpath(os.path.join(build, "fixtures", "lab", "caprobe-lab")),
           "the lab is build/fixtures/lab/caprobe-lab, as the block runs it")
    tmp = tempfile.mkdtemp(prefix="caprobe-lab-ports-")
    try:
        os.symlink(build, os.path.join(tmp, "build"))
        os.symlink(h.fixtures_dir(), os.path.join(tmp, "fixtures"))
        for attempt in range(ATTEMPTS):
            base = h.free_port_range(n)
            for f in ("before.jsonl", "after.jsonl", "report.html"):
                if os.path.exists(os.path.join(tmp, f)):
                    os.unlink(os.path.join(tmp, f))
            script = block.replace("base=47100 ", "base=%d " % base, 1)
            r = run_group(["sh", "-c", script], cwd=tmp)
            err = r.stderr.decode("utf-8", "replace")
            if IN_USE in err:
                tap.diag("attempt %d, base %d: %s" % (attempt + 1, base, err))
                continue
            break
        else:
            tap.ok(False, "the block: no free range in %d attempts" % ATTEMPTS)
            return
        out = r.stdout.decode("utf-8", "replace")
        tap.ok(r.returncode == 0 and "findings: " in out and
               os.path.getsize(os.path.join(tmp, "report.html")) > 0,
               "the block runs on --base-port %d: both scans, caprobe diff, the report" % base,
               out + err)
        before, after = (read_jsonl(os.path.join(tmp, f)) for f in ("before.jsonl", "after.jsonl"))
        want_targets = ["127.0.0.1:%d" % (base + i) for i in range(4)]
        tap.ok(sorted(r["target"] for r in before) == want_targets and
               all(not r["findings"] for r in before),
               "before: the four targets, every one without a finding",
               [(r["target"], [f["rule"] for f in r["findings"]]) for r in before])
        tap.eq(sorted(r["target"] for r in after), want_targets, "after: the same four targets")
        d = h.run_caprobe(["diff", "--format", "jsonl", os.path.join(tmp, "before.jsonl"),
                           os.path.join(tmp, "after.jsonl")])
        diff = [json.loads(line) for line in d.stdout.splitlines() if line.strip()]
        rules = {x["target"]: {f["rule"] for f in x["findings"]} for x in diff}
        changes = {f["change"] for x in diff for f in x["findings"]}
        tap.ok(d.rc == 1 and changes == {"new"} and
               sorted(rules) == want_targets[1:] and
               {"root-store-dump", "expected-ca-missing", "unexpected-ca",
                "public-ca-accepted"} <= rules.get(want_targets[1], set()) and
               "empty-ca-list" in rules.get(want_targets[2], set()) and
               "no-certificate-request" in rules.get(want_targets[3], set()),
               "caprobe diff: new findings on the dump, the empty list and the missing request, "
               "as docs/report.md says; none on the right list; exit 1", (d.rc, rules))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    h.run_checks(tap, [check_same_ports_twice, check_own_port, check_taken_port, check_usage,
                       check_doc_before_after])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
