#!/usr/bin/env python3
"""The man pages against the parsers, --help and docs/policy.md, and mandoc's linter.

- Every long and short option of each parser (the getopt tables of probe/cli.c, for caprobe and
  caprobe report, of report/diff.c and of report/netshout.c; the arguments probe/exporter.c
  compares) has an item
  (.It) in its section of caprobe(1) (OPTIONS, or its subsection of COMMANDS) and is named in
  that command's --help; and neither names an option the parser does not take. --help itself is
  exempt from being named in the help text it prints.
- mandoc -T lint -W style finds nothing in the built pages (their version: test_version.py).
- caprobe-policy(5) documents every key of docs/policy.md's tables, and its example is a policy
  caprobe loads.
Emits TAP."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import COMMANDS, parsers, read  # noqa: E402



def named(text):
    """Long and short options a text names (--name, -x)."""
    longs = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text))
    shorts = set(re.findall(r"(?<![\w-])-([A-Za-z0-9])(?![\w-])", text))
    return longs, shorts


def listed(text):
    """Options in the option column of a help text: lines indented by 1 to 6 spaces that start
    with a dash, up to the two spaces before the description (deeper lines continue one)."""
    longs, shorts = set(), set()
    for m in re.finditer(r"^ {1,6}(-\S.*?)(?:  |$)", text, re.M):
        lo, sh = named(m.group(1))
        longs |= lo
        shorts |= sh
    return longs, shorts


def helps(caprobe):
    out = {}
    for cmd in COMMANDS:
        args = [caprobe, "--help"] if cmd == "caprobe" else [caprobe, cmd, "--help"]
        r = subprocess.run(args, capture_output=True, text=True)
        text = r.stdout
        if cmd == "caprobe":
            # the end of caprobe --help shows the subcommands' synopses: theirs, not its own
            cut = re.search(r"^ +caprobe report ", text, re.M)
            out["caprobe-tail"] = text[cut.start():] if cut else ""
            text = text[:cut.start()] if cut else text
        out[cmd] = (r.returncode, text)
    return out


def man_sections(src):
    """{command: mdoc source of the part that documents its options}."""
    def between(a, b_pat):
        i = src.index(a)
        m = re.compile(b_pat, re.M).search(src, i + len(a))
        return src[i:m.start() if m else len(src)]
    return {
        "caprobe": between(".Sh OPTIONS\n", r"^\.Sh "),
        "report": between(".Ss caprobe report\n", r"^\.S[hs] "),
        "diff": between(".Ss caprobe diff\n", r"^\.S[hs] "),
        "netsh": between(".Ss caprobe netsh\n", r"^\.S[hs] "),
        "exporter": between(".Ss caprobe exporter\n", r"^\.S[hs] "),
    }


def man_items(section):
    """Options an mdoc section documents: Fl on its .It lines."""
    longs, shorts = set(), set()
    for line in section.splitlines():
        if line.startswith(".It "):
            longs |= set(re.findall(r"Fl \\-([a-z0-9-]+)", line))
            shorts |= set(re.findall(r"Fl ([A-Za-z0-9])\b", line))
    return longs, shorts


def fmt(s):
    return sorted(s)


def check_options(tap, caprobe, man_src, man1, man5):
    p = parsers()
    hs = helps(caprobe)
    secs = man_sections(man_src)
    every_long = set().union(*(v[0] for v in p.values()))
    for cmd in COMMANDS:
        longs, shorts = p[cmd]
        tap.ok(len(longs) >= (30 if cmd == "caprobe" else 2),
               "%s: the parser's options were found (%d)" % (cmd, len(longs)))
        rc, text = hs[cmd]
        tap.eq(rc, 0, "%s --help exits 0" % cmd)
        hl, hs_ = listed(text)
        tap.eq(fmt(longs - {"help"} - hl), [], "%s: every long option is in --help" % cmd)
        tap.eq(fmt(hl - longs), [], "%s: --help lists no option the parser lacks" % cmd)
        tap.eq(fmt(shorts - {"h"} - hs_), [], "%s: every short option is in --help" % cmd)
        tap.eq(fmt(hs_ - shorts), [], "%s: --help lists no short option the parser lacks" % cmd)
        tap.eq(fmt(named(text)[0] - every_long), [],
               "%s: --help's text names no option that no parser takes" % cmd)
        ml, ms = man_items(secs[cmd])
        tap.eq(fmt(longs - ml), [], "%s: every long option has an item in caprobe(1)" % cmd)
        tap.eq(fmt(ml - longs), [], "%s: caprobe(1) documents no option the parser lacks" % cmd)
        tap.eq(fmt(shorts - ms), [], "%s: every short option has an item in caprobe(1)" % cmd)
        tap.eq(fmt(ms - shorts), [], "%s: caprobe(1) has no short option the parser lacks" % cmd)
    tl, _ = named(hs["caprobe-tail"])
    tap.eq(fmt(tl - every_long), [], "caprobe --help's subcommand lines name real options")
    anywhere = set(re.findall(r"Fl \\-([a-z0-9-]+)", man_src))
    tap.eq(fmt(anywhere - every_long), [], "caprobe(1) names no option that no parser takes")


def check_lint(tap, caprobe, man_src, man1, man5):
    if shutil.which("mandoc") is None:
        tap.skip("mandoc -T lint", "mandoc is not installed (make test-deps)")
        return
    # from the pages' folder, where mandoc finds the pages their .Xr name
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "style", os.path.basename(man1),
                        os.path.basename(man5)], capture_output=True, text=True,
                       cwd=os.path.dirname(man1))
    # a stale system mandoc.db is the machine's state, not the pages'
    msgs = [l for l in (r.stdout + r.stderr).splitlines() if l and "mandoc.db" not in l]
    tap.ok(r.returncode == 0 and msgs == [], "mandoc -T lint -W style: clean", "\n".join(msgs))
    r = subprocess.run(["mandoc", "-T", "ascii", man1], capture_output=True, text=True)
    shown = re.sub(r".\x08", "", r.stdout)  # no overstrike
    tap.ok(r.returncode == 0 and all(re.search("^%s$" % s, shown, re.M) for s in
                                     ["EXIT STATUS", "EXAMPLES", "ENVIRONMENT", "FILES"]),
           "caprobe(1) renders with EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES")


def check_policy_page(tap, caprobe, man_src, man1, man5):
    with open(man5, encoding="utf-8") as f:
        page = f.read()
    doc = read("docs/policy.md")
    keys = set()
    for t in re.findall(r"^\| key \|.*\n\|[-|]+\n((?:\|.*\n)+)", doc, re.M):
        keys |= set(re.findall(r"^\| `([a-z_]+)` \|", t, re.M))
    tap.ok({"version", "defaults", "targets", "match", "client_auth", "expect_ca"} <= keys,
           "docs/policy.md's key tables were read", sorted(keys))
    items = set(re.findall(r"^\.It Ic ([a-z_]+)", page, re.M))
    tap.eq(fmt(keys - items), [], "caprobe-policy(5) has an item for every key of docs/policy.md")
    tap.eq(fmt(items - keys), [], "caprobe-policy(5) has no key docs/policy.md lacks")
    m = re.search(r"^\.Sh EXAMPLES\n\.Bd -literal -offset indent\n(.*?)^\.Ed", page, re.M | re.S)
    if not tap.ok(m is not None, "caprobe-policy(5) has an example"):
        return
    tmp = tempfile.mkdtemp(prefix="caprobe-manpage-")
    try:
        os.mkdir(os.path.join(tmp, "pki"))
        for name in ["cas.pem", "issuing.pem", "root.pem", "client-chain.pem"]:
            shutil.copy(h.pki(name), os.path.join(tmp, "pki", name))
        pol = os.path.join(tmp, "policy.yaml")
        with open(pol, "w", encoding="utf-8") as f:
            f.write(m.group(1).replace("\\e", "\\"))
        # a closed loopback port: the policy is read before the scan, which fails at once
        r = subprocess.run([caprobe, "-q", "--policy", pol, "--timeout", "2",
                            "127.0.0.1:%d" % h.closed_port()], capture_output=True, text=True)
        tap.ok(r.returncode in (0, 1) and "--policy" not in r.stderr,
               "caprobe-policy(5)'s example is a policy caprobe loads",
               "exit %d: %s" % (r.returncode, r.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    tap = h.Tap()
    caprobe = h.caprobe_path()
    build = os.path.dirname(os.path.abspath(caprobe))
    man1 = os.path.join(build, "docs", "caprobe.1")
    man5 = os.path.join(build, "docs", "caprobe-policy.5")
    man_src = read("docs/man/caprobe.1.in")
    h.run_checks(tap, [check_options, check_lint, check_policy_page],
                 caprobe, man_src, man1, man5)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
