#!/usr/bin/env python3
"""The text report for people (issue 12, point 5) against the lab (fixtures/lab/lab.yaml):

- a host that dumps its root store, scanned by name with and without SNI over TLS 1.2 and 1.3,
  fits one 80x30 terminal with the summary (caprobe runs on a pseudo-terminal of that size): the
  verdict on the first row, every finding's rule id on screen, no row wider than 80 columns, the
  finding's own fix (JSON Lines remedy) readable up to its netsh binding and certhash (the
  served certificate's SHA-1); the same host by a name with an IPv4 and an IPv6 address (the lab
  on 127.0.0.1, a relay on [::1]: 8 variants) fits too;
- the names are the JSON Lines `dn` lists of the same endpoint: bounded by default (--names 0:
  none, and how many there are), all of them with --names all; variants with the same list share
  a row and its names are shown once, a list on an earlier row is told as "same N names as",
  two different lists are both shown;
- names with control characters, C1 controls and invalid UTF-8, and a Server header with a C1
  CSI, reach the terminal escaped in the report and in --format oneline;
- a record written while the progress line stands on the terminal erases it first;
- a TLS version the server declines is "TLS 1.3 not offered", not an error, in both forms;
- --format oneline: one line per target for OK, finding and unreachable targets, the verdict and
  worst rule as the JSON Lines findings say; the summary counts targets by verdict (every probe
  failed: not probed; a typo line: a bad target line only) and their findings by severity as
  the records do.
Emits TAP."""

import collections
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LAB_YAML = os.path.join(h.fixtures_dir(), "lab", "lab.yaml")
HOST = "app.example.com"
SEVERITIES = ["critical", "high", "medium", "low", "info"]
# every byte a name or header of the hostile endpoints could use to drive a terminal
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]|\xc2[\x80-\x9f]")


def jsonl(args):
    run = h.run_caprobe(["--format", "jsonl", "-q"] + args)
    return run, {r["target"]: r for r in run.records}


def unprobed(rec):
    """A bad target line, or a target whose every probe failed."""
    return "error" in rec or all(o["outcome"] == "error" for o in rec["observations"])


def verdict_words(rec):
    """The verdict the text report must give a JSON Lines record: its findings by severity, else
    OK; "could not be probed" when no probe got an answer, with its one finding's rule and
    severity (probe-failed, medium) or its findings by severity."""
    findings = rec.get("findings", [])
    count = collections.Counter(f["severity"] for f in findings)
    words = "%d finding%s: %s" % (len(findings), "" if len(findings) == 1 else "s", ", ".join(
        "%d %s" % (count[s], s) for s in SEVERITIES if count[s]))
    if unprobed(rec):
        if len(findings) == 1:
            return "could not be probed (%s, %s)" % (findings[0]["rule"], findings[0]["severity"])
        return "could not be probed" + (" (%s)" % words if findings else "")
    return words if findings else "OK"


def name_lines(text):
    """The name lines of a text report (four spaces, then a name), in order."""
    return [line[4:] for line in text.splitlines()
            if line.startswith("    ") and not line.startswith("     ")
            and not line.startswith("    server certificate:")
            and not line.startswith("    GET ") and not line.startswith("    \u2026 and ")]


def dns_of(o):
    return ["%s%s" % ("(malformed) " if c.get("malformed") and c.get("der") else "", c["dn"])
            for c in o.get("certificate_request", {}).get("cas", [])]


def check_screen(tap, lab):
    port = lab.port("root-dump")
    target = "%s:%d" % (HOST, port)
    args = ["--timeout", "10", "--resolve", "%s:%d:127.0.0.1" % (HOST, port), target]
    _, recs = jsonl(args)
    rec = recs.get(target, {})
    obs = rec.get("observations", [])
    tap.eq(sorted((o.get("sni") or "", o.get("tls_max")) for o in obs),
           sorted((s, v) for s in (HOST, "") for v in ("1.2", "1.3")),
           "root-dump by name: 4 variants (SNI and no SNI, TLS 1.2 and 1.3)")
    rules = [f["rule"] for f in rec.get("findings", [])]
    tap.ok("root-store-dump" in rules, "root-dump by name: root-store-dump", rules)

    run = h.run_caprobe_pty(args, rows=30, cols=80)
    sc = run.screen
    tap.eq(run.rc, 1, "on a terminal: exit 1 (a high finding)", run.describe())
    tap.ok(len(sc.rows) <= 30, "80x30: the whole output, summary included, takes %d rows of 30"
           % len(sc.rows), run.describe())
    tap.eq(sc.wrapped, 0, "80x30: no line is wider than 80 columns", run.describe())
    tap.eq(sc.strange, [], "80x30: nothing but text and colours reaches the terminal")
    tap.eq(sc.open_colour, [], "80x30: every colour ends before its line does")
    first = sc.rows[0] if sc.rows else ""
    tap.eq(first, "%s  %s" % (target, verdict_words(rec)),
           "80x30: the first row is the target and its verdict, as the JSON Lines findings say",
           run.describe())
    missing = [r for r in set(rules) if not re.search(r"(^|\s)%s\b" % re.escape(r), sc.text(),
                                                     re.M)]
    tap.eq(missing, [], "80x30: every finding's rule id is on the screen", run.describe())
    tap.ok(any(r.startswith("caprobe: 1 target: 1 with findings (") for r in sc.rows),
           "80x30: the summary on screen counts the target with findings", run.describe())
    check_fix_rows(tap, rec, "root-store-dump", sc, run)
    # a finding about one variant whose message names it first ("[127.0.0.1, SNI ..., TLS 1.2]
    # repeats ..."): the text names it once, in the citation; JSON Lines keeps the message
    dup = [f["message"] for f in rec.get("findings", []) if f["rule"] == "duplicate-ca"]
    rows = [r for r in sc.rows if re.match(r"  \S+\s+duplicate-ca \[", r)]
    # one finding per target now: its message names the variants' count, not a bracket first
    tap.ok(dup and len(rows) == 1 and "]: [" not in rows[0] and
           re.match(r"  low +duplicate-ca \[[^]]+\]: %s" % re.escape(
               (dup[0].split("] ", 1)[-1] if dup[0].startswith("[") else dup[0])[:20]), rows[0]),
           "duplicate-ca: its variant named once, in the citation (the JSON Lines message "
           "keeps its '[...]')", run.describe())

    # --names all, not a terminal: every name of every distinct list, whole, once
    full = h.run_caprobe(["--names", "all", "-q"] + args)
    distinct, seen = [], set()
    for o in obs:
        key = tuple(c["sha256"] for c in o.get("certificate_request", {}).get("cas", []))
        if key and key not in seen:
            seen.add(key)
            distinct += dns_of(o)
    tap.eq(name_lines(full.stdout), distinct,
           "--names all: the names are the JSON Lines dn lists (%d), each list once"
           % len(distinct), full.describe())
    tap.ok("\u2026" not in full.stdout, "not a terminal: no line is cut")
    on_tty = h.run_caprobe_pty(["--names", "all"] + args, rows=30, cols=80)
    shown = [r[4:] for r in on_tty.screen.rows if r.startswith("    ") and r[4] != " "]
    cut = [s for s, d in zip(shown, distinct) if s != d and not
           (s.endswith("\u2026") and d.startswith(s[:-1]))]
    tap.ok(on_tty.screen.wrapped == 0 and len(shown) >= len(distinct) and not cut,
           "--names all on a terminal: every name, those wider than 80 columns cut with an "
           "ellipsis", cut or on_tty.describe())


HINT = "(whole fixes: run it | less, or --format jsonl)"


def fix_rows(rows, rule):
    """The rows of the fix after the finding of rule (or after the last of the findings in a
    row that share it): "fix: " at column 11, then its further rows at column 11 too, up to the
    next finding, the hint or the variants."""
    start = [i for i, r in enumerate(rows) if re.match(r"  \S+\s+%s\b" % re.escape(rule), r)]
    i = start[0] + 1 if start else len(rows)
    while i < len(rows) and not rows[i].startswith("           fix: "):
        i += 1
    out = []
    while i < len(rows) and rows[i].startswith(" " * 11) and rows[i][11] != " " and \
            rows[i].strip() != HINT:
        out.append(rows[i][16:] if not out else rows[i][11:])
        i += 1
    return out


def check_fix_rows(tap, rec, rule, sc, run):
    """On the 80x30 screen the finding's own fix (its JSON Lines remedy) is readable: its first
    words in order, wrapped to at most 4 rows, with the netsh binding and the certhash of the
    certificate the server sent (the observation's SHA-1); the hint says where the whole fixes
    are: the same command through | less, or JSON Lines."""
    f = [f for f in rec.get("findings", []) if f["rule"] == rule]
    remedy = f[0].get("remedy", "") if f else ""
    sha1 = next((o["server_certificate"]["sha1"] for o in rec.get("observations", [])
                 if o.get("server_certificate", {}).get("sha1")), None)
    binding = re.search(r"netsh http update sslcert (\S+) certhash=", remedy)
    want = "%s certhash=%s" % (binding.group(1) if binding else "?", sha1)
    tap.ok(sha1 and want in remedy, "%s: the JSON Lines remedy names the binding and the "
           "served certificate's SHA-1 (%s)" % (rule, want), remedy)
    rows = fix_rows(sc.rows, rule)
    shown = " ".join(rows)
    whole = shown[:-1] if shown.endswith("\u2026") else shown
    tap.ok(1 < len(rows) <= 4 and remedy.startswith(whole) and want in shown,
           "80x30: the %s fix on %d rows (2 to 4), its words in order, with %s"
           % (rule, len(rows), want), "\n".join(rows) + "\n" + run.describe())
    tap.ok(any(r.strip() == HINT for r in sc.rows)
           and "--explain" not in sc.text(),
           "80x30: the hint says where the whole fixes are (| less, JSON Lines)", run.describe())


def check_collapse(tap, lab):
    port = lab.port("root-dump")
    target = "%s:%d" % (HOST, port)
    args = ["--timeout", "10", "--names", "all", "-q", "--resolve",
            "%s:%d:127.0.0.1" % (HOST, port), target]
    _, recs = jsonl(args)
    obs = recs.get(target, {}).get("observations", [])
    names = {(o["sni"], o["tls_max"]): dns_of(o) for o in obs}
    dump = names.get((HOST, "1.2"), [])
    run = h.run_caprobe(args)
    tap.ok(dump and names.get((None, "1.2")) == dump, "(the JSON Lines lists are identical)")
    heads = [line for line in run.stdout.splitlines() if line.startswith("  TLS ")]
    tap.eq(heads, ["  TLS 1.2 (2 variants): %d CA names (%d bytes)"
                   % (len(dump), obs[0]["certificate_request"]["list_bytes"] if obs else 0),
                   "  TLS 1.3 (2 variants): same %d names as SNI %s TLS 1.2" % (len(dump), HOST)],
           "the identical lists (SNI and no SNI) on one row per version, TLS 1.3's 'same N "
           "names as' TLS 1.2's", run.describe())
    counts = collections.Counter(name_lines(run.stdout))
    twice = [n for n, k in counts.items() if k != collections.Counter(dump)[n]]
    tap.eq(twice, [], "each name of the identical lists shown once (as often as in one list)")
    # with a request each variant has its own exchange, so its own row: an identical list on
    # a later row is "same N names as"
    req = h.run_caprobe(args[:-1] + ["--tls", "1.2", "--request", "/", target])
    same = [line for line in req.stdout.splitlines() if re.search(r": same \d+ names? as ", line)]
    tap.eq(same, ["  127.0.0.1 no SNI TLS 1.2: same %d names as SNI %s" % (len(dump), HOST)],
           "--request: the no-SNI list, identical to the SNI one, 'same N names as'",
           req.describe())
    tap.eq(collections.Counter(name_lines(req.stdout)), collections.Counter(dump),
           "--request: the names shown once")

    sni = lab.port("sni-vs-nosni")  # its SNI binding is app.lab.test's
    target = "app.lab.test:%d" % sni
    args = ["--timeout", "10", "--tls", "1.2", "--names", "all", "-q", "--resolve",
            "app.lab.test:%d:127.0.0.1" % sni, target]
    _, recs = jsonl(args)
    obs = recs.get(target, {}).get("observations", [])
    lists = [dns_of(o) for o in obs]
    run = h.run_caprobe(args)
    tap.ok(len(lists) == 2 and lists[0] != lists[1], "sni-vs-nosni: two different lists",
           lists)
    tap.eq(name_lines(run.stdout), [n for ls in lists for n in ls],
           "sni-vs-nosni: both lists shown in full, in variant order", run.describe())
    tap.ok(not re.search(r": same \d+ names? as ", run.stdout),
           "sni-vs-nosni: no 'same N names as' line")
    default = h.run_caprobe(args[:4] + args[6:])
    tap.eq(name_lines(default.stdout), lists[0][:5] + lists[1][:5],
           "by default: at most 5 names per list", default.describe())
    tap.ok("\u2026 and %d more (--names all)" % (len(lists[1]) - 5) in default.stdout,
           "by default: how many more, and the option that shows them")


def check_dual_stack(tap, lab):
    """A dual-stack host: a name with an IPv4 and an IPv6 address (--resolve twice), both
    answering (the lab on 127.0.0.1 and a relay on [::1] at the same port): 8 variants, and the
    text report with the summary still fits 80x30: variants with the same answer share a row,
    the certificate is told once, one finding per variant is one line citing them all."""
    if not h.ipv6_loopback_available():
        tap.skip("dual-stack host on 80x30", "no IPv6 loopback ([::1]) on this machine")
        return
    port = lab.port("root-dump")
    target = "%s:%d" % (HOST, port)
    with h.TcpRelay(("::1", port), ("127.0.0.1", port)) as relay:
        if not relay.bound:
            tap.skip("dual-stack host on 80x30", "port %d is taken on [::1]" % port)
            return
        args = ["--timeout", "10", "--resolve", "%s:127.0.0.1" % target,
                "--resolve", "%s:[::1]" % target, target]
        _, recs = jsonl(args)
        run = h.run_caprobe_pty(args, rows=30, cols=80)
    rec = recs.get(target, {})
    obs = rec.get("observations", [])
    tap.eq(sorted((o.get("address"), o.get("sni") or "", o.get("tls_max"), o.get("outcome"))
                  for o in obs),
           sorted((a, sni, v, "certificate_request") for a in ("127.0.0.1", "::1")
                  for sni in (HOST, "") for v in ("1.2", "1.3")),
           "dual-stack: 8 variants (2 addresses x SNI, no SNI x TLS 1.2, 1.3), each answered")
    sc = run.screen
    tap.ok(len(sc.rows) <= 30, "dual-stack 80x30: the whole output, summary included, takes %d "
           "rows of 30" % len(sc.rows), run.describe())
    tap.eq((sc.wrapped, sc.strange, sc.open_colour), (0, [], []),
           "dual-stack 80x30: no line wider than 80, only text and colours")
    tap.eq(sc.rows[:1], ["%s  %s" % (target, verdict_words(rec))],
           "dual-stack 80x30: the first row is the verdict", run.describe())
    rules = set(f["rule"] for f in rec.get("findings", []))
    missing = [r for r in rules if not re.search(r"(^|\s)%s\b" % re.escape(r), sc.text(), re.M)]
    tap.eq(missing, [], "dual-stack 80x30: every finding's rule id is on the screen")
    lists = collections.defaultdict(list)
    for o in obs:
        lists[o["tls_max"]].append(tuple(c["sha256"] for c in o["certificate_request"]["cas"]))
    n12 = len(lists["1.2"][0]) if lists["1.2"] else -1
    tap.ok(all(len(set(v)) == 1 for v in lists.values()) and
           "  TLS 1.2 (4 variants): %d CA names (" % n12 in sc.rows[0] + "\n" + sc.text(),
           "dual-stack: the 4 identical TLS 1.2 lists (JSON Lines) on one row", run.describe())
    tap.eq(len([r for r in sc.rows if r.startswith("  server certificate: ")]), 1,
           "dual-stack: one server certificate line")
    per_variant = [f for f in rec.get("findings", []) if f["rule"] == "duplicate-ca"]
    dup = [r for r in sc.rows if re.match(r"  \S+\s+duplicate-ca\b", r)]
    tap.ok(per_variant and len(dup) == 1,
           "dual-stack: duplicate-ca (%d finding(s) in JSON Lines) on one line" % len(per_variant),
           run.describe())
    check_fix_rows(tap, rec, "root-store-dump", sc, run)


HOSTILE = """defaults:
  cert: pki/rsa-server-chain.pem
  key: pki/rsa-server.key
endpoints:
  - name: bad-names
    mode: raw
    raw: flight
    cas: [../pki/issuing.pem]
    names_hex:
      - ""
      - "000102ff"
      - "30183116301406035504030c0d4576696c1b5b33316d43410007"
      - "30193117301506035504030c0e42616420fffe205554462d3820c3"
      - "30163114301206035504030c0b43534920c29b33316d2058"
  - name: bad-header
    client_auth: optional
    cas: [../pki/issuing.pem]
    server_header: "lab \\u009b31m red \\u009b0m"
"""


def check_hostile(tap):
    with h.LabServer(HOSTILE) as lab:
        names = "127.0.0.1:%d" % lab.port("bad-names")
        header = "127.0.0.1:%d" % lab.port("bad-header")
        base = ["--timeout", "10", "--request", "/", names, header]
        _, recs = jsonl(base)
        runs = {
            "text": h.run_caprobe(["-q", "--names", "all"] + base),
            "oneline": h.run_caprobe(["-q", "--format", "oneline"] + base),
        }
        tty = {
            "text": h.run_caprobe_pty(["--names", "all"] + base, cols=80),
            "oneline": h.run_caprobe_pty(["--format", "oneline"] + base, cols=80),
        }
    cas = recs.get(names, {}).get("observations", [{}])[0].get("certificate_request", {})
    tap.eq(sum(1 for c in cas.get("cas", []) if c.get("malformed")), 2,
           "hostile names: two malformed names, as the lab sends them")
    server = [(o.get("http") or {}).get("server") for o in recs.get(header, {}).get(
        "observations", [])]
    tap.ok(any(s and "\u009b" in s for s in server), "hostile header: the Server header has a "
           "C1 CSI (JSON Lines)", server)
    for label, run in runs.items():
        raw = run.stdout.encode("utf-8", "surrogateescape")
        tap.ok(b"\x1b" not in raw and not RAW_CONTROL.search(raw),
               "%s, not a terminal: no control character from a server" % label,
               RAW_CONTROL.findall(raw)[:5])
    text = runs["text"].stdout
    tap.ok("CN=Evil\\1B[31mCA\\00\\07" in text and "(malformed: zero length)" in text and
           "(malformed) 000102ff" in text, "text: the names escaped, malformed ones marked", text)
    tap.ok("(Server: lab \\xc2\\x9b31m red \\xc2\\x9b0m)" in text,
           "text: the Server header's C1 CSI as \\xc2\\x9b", text)
    for label, run in tty.items():
        tap.eq((run.screen.strange, run.screen.wrapped), ([], 0),
               "%s on a terminal: only text and caprobe's colours, no line wider than 80"
               % label, run.describe())
    tap.eq(len([r for r in tty["oneline"].screen.rows if not r.startswith("caprobe:")]), 2,
           "oneline on a terminal: one row per target")


SLOW = """defaults:
  cert: pki/rsa-server-chain.pem
  key: pki/rsa-server.key
endpoints:
  - name: slow
    mode: raw
    raw: trickle
    trickle_ms: 1
    cas: [../pki/issuing.pem]
  - name: stall
    mode: raw
    raw: stall
"""


def check_progress(tap):
    """A record written while the progress line stands on the same terminal erases it first:
    the progress text never ends up in front of a record."""
    with h.LabServer(SLOW) as lab:
        targets = ["127.0.0.1:%d" % lab.port(n) for n in ("stall", "slow")]
        run = h.run_caprobe_pty(["--timeout", "5", "--tls", "1.2"] + targets, cols=80)
    sc = run.screen
    if b"in flight" not in run.data:
        tap.skip("a record written under the progress line", "no progress line was drawn")
        return
    tap.eq([r for r in sc.rows if "in flight" in r], [],
           "the progress line is gone from the screen", run.describe())
    heads = [r.split("  ")[0] for r in sc.rows if not r.startswith((" ", "caprobe:"))]
    tap.eq(sorted(heads), sorted(targets), "each record starts a row with its target",
           run.describe())
    tap.eq(sc.wrapped, 0, "no row wider than 80 columns", run.describe())


def check_not_offered(tap):
    """A TLS 1.2-only server (openssl s_server -tls1_2): the TLS 1.3 probe is told as what it
    is, "TLS 1.3 not offered" as the JSON Lines message says, not red and not an error, in the
    text report and in one line."""
    with h.OpensslServer(["-Verify", "1", "-CAfile", h.pki("issuing.pem"), "-tls1_2"]) as s:
        target = "127.0.0.1:%d" % s.port
        _, recs = jsonl([target])
        text = h.run_caprobe(["-q", "--color=always", target])
        one = h.run_caprobe(["-q", "--format", "oneline", target])
    o13 = [o for o in recs.get(target, {}).get("observations", []) if o["tls_max"] == "1.3"]
    err = o13[0].get("error", {}) if o13 else {}
    tap.ok(err.get("kind") == "version_not_offered", "(JSON Lines: the 1.3 probe is "
           "version_not_offered)", o13)
    row = [r for r in text.stdout.splitlines() if "TLS 1.3" in r and ": " in r]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", r) for r in row]
    tap.ok(len(row) == 1 and plain[0].endswith(": " + err.get("message", "?")) and
           "\x1b[31m" not in row[0] and "error" not in plain[0],
           "text: the TLS 1.3 row is the message ('TLS 1.3 not offered: ...'), not red, "
           "no 'error'", text.describe())
    tap.ok(one.stdout.rstrip("\n").endswith(", TLS 1.3 not offered") and
           "error" not in one.stdout, "oneline: 'TLS 1.3 not offered', not an error",
           one.describe())


def check_names_zero(tap, lab):
    """--names 0: no name, and the line that says how many there are and how to see them."""
    port = lab.port("right-list")
    target = "127.0.0.1:%d" % port
    args = ["--tls", "1.2", target]
    _, recs = jsonl(args)
    obs = recs.get(target, {}).get("observations", [{}])
    n = obs[0].get("certificate_request", {}).get("ca_count", -1)
    run = h.run_caprobe(["-q", "--names", "0"] + args)
    tap.eq(name_lines(run.stdout), [], "--names 0: no name", run.describe())
    tap.ok("    \u2026 and %d more (--names all)" % n in run.stdout.splitlines(),
           "--names 0: '\u2026 and %d more (--names all)'" % n, run.describe())


def summary_words(recs):
    """The summary's first line for records: targets by verdict and their findings by severity;
    a target whose every probe failed is not probed (its findings with it), a bad target line
    is counted once, as such."""
    groups = collections.OrderedDict([("OK", []), ("with findings", []), ("not probed", [])])
    bad = 0
    for r in recs:
        if "error" in r:
            bad += 1
        elif unprobed(r):
            groups["not probed"].append(r)
        else:
            groups["with findings" if r["findings"] else "OK"].append(r)
    parts = []
    for word, rs in groups.items():
        if not rs:
            continue
        count = collections.Counter(f["severity"] for r in rs for f in r["findings"])
        sev = ", ".join("%d %s" % (count[s], s) for s in SEVERITIES if count[s])
        parts.append("%d %s%s" % (len(rs), word, " (%s)" % sev if sev else ""))
    if bad:
        parts.append("%d bad target line%s" % (bad, "" if bad == 1 else "s"))
    return "caprobe: %d target%s: %s" % (len(recs), "" if len(recs) == 1 else "s",
                                        ", ".join(parts))


def check_oneline(tap, lab):
    targets = ["127.0.0.1:%d" % lab.port(n) for n in ("right-list", "root-dump", "no-request")]
    targets.append("127.0.0.1:%d" % h.closed_port())
    args = ["--timeout", "10", "--tls", "1.2"] + targets
    _, recs = jsonl(args)
    run = h.run_caprobe(["--format", "oneline"] + args)
    lines = run.stdout.splitlines()
    tap.eq(len(lines), len(targets), "oneline: one line per target", run.describe())
    got = {line.split("  ", 1)[0]: line for line in lines}
    kinds = collections.Counter()
    for t in targets:
        rec, line = recs.get(t, {}), got.get(t, "")
        want = verdict_words(rec) if rec else "?"
        findings = rec.get("findings", [])
        rules = list(dict.fromkeys(f["rule"] for f in findings))
        kinds[want.split(":")[0].split(" (")[0]] += 1
        # the worst rule, unless the verdict of a target not probed names its one finding
        if findings and not (len(findings) == 1 and unprobed(rec)):
            want += "  " + rules[0] + (" +%d" % (len(rules) - 1) if len(rules) > 1 else "")
        tap.ok(line.startswith("%s  %s  " % (t, want)),
               "oneline %s: '%s' as its JSON Lines record says" % (t, want), line)
        n = len(rec.get("observations", []))
        tap.ok(re.search(r"  %d variants?: " % n, line), "oneline %s: %d variant(s)" % (t, n))
        tap.ok("CN=" not in line, "oneline %s: no names" % t)
    tap.ok(len(kinds) >= 3, "oneline: OK, findings and could not be probed all seen", kinds)
    tap.eq(run.stderr.splitlines()[:1], [summary_words(recs.values())],
           "the summary: targets by verdict, the closed port not probed, findings by severity "
           "with their targets, as the records say", run.stderr)
    tap.ok(", 1 not probed (1 medium)" in run.stderr, "the closed port: '1 not probed (1 medium)'",
           run.stderr)
    # a typo line is a bad target line, not also "not probed"
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("127.0.0.1:%d\nnot a target!\n" % lab.port("right-list"))
    try:
        args = ["--timeout", "10", "--tls", "1.2", "-i", f.name]
        _, recs = jsonl(args)
        run = h.run_caprobe(["--format", "oneline"] + args)
    finally:
        os.unlink(f.name)
    tap.eq([r for r in run.stderr.splitlines() if re.match(r"caprobe: \d+ targets?:", r)],
           [summary_words(recs.values())],
           "a good target and a typo line: '2 targets: 1 OK, 1 bad target line'", run.stderr)
    tap.ok("not probed" not in run.stderr, "the typo line is not also 'not probed'", run.stderr)


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.skip("text report", "caprobe binary not found")
        return tap.finish()
    with h.LabServer(LAB_YAML) as lab:
        h.run_checks(tap, [check_screen, check_collapse, check_dual_stack, check_names_zero,
                           check_oneline], lab)
    h.run_checks(tap, [check_hostile, check_progress, check_not_offered])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
