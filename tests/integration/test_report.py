#!/usr/bin/env python3
"""caprobe report and caprobe diff's findings on two real scans of the lab (issue 14, points 1
and 2), the lab fleet of labfleet.py: the lab runs twice on the same fixed ports, its behaviour
changed in between (an endpoint fixed, one broken, a list grown past 32 KiB), the rest (a
STARTTLS endpoint, an empty list, hostile names on three ports, a closed port) as it was. Every
number of the report (text, markdown, CSV) is checked against the JSON
Lines itself, counted here; markdown is rendered by GitHub's own renderer (cmark-gfm) and its
HTML parsed; CSV is read by Python's csv module. Emits TAP."""

import csv
import html.parser
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from labfleet import (HOSTILE_CNS, SEVERITIES, bad_target_lines, changes,  # noqa: E402
                      exchange_scan, label, load, probed, rule_table, shown as shown_text, scans,
                      sizes)


# What GitHub makes links and notifications of in the text of rendered markdown, after
# html-pipeline's MentionFilter and IssueReferenceFilter: @user (and @org/team), #123,
# owner/repo#123 and GH-123, each where a word does not go on before it.
GITHUB_REFS = re.compile(r"(?:^|\W)@[a-z0-9][a-z0-9-]*|(?:^|\W)(?:[\w.-]+/[\w.-]+)?#\d+"
                         r"|(?:^|\W)gh-\d+", re.I)


class Html(html.parser.HTMLParser):
    """Tables (list of rows of cell texts), every start tag of the HTML cmark-gfm made, and its
    text nodes outside code, pre and a (where GitHub looks for mentions and references): a
    comment ends a text node, as in the DOM."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.tables, self.cell = [], [], None
        self.texts, self.skip = [], 0

    def handle_comment(self, data):
        self.texts.append(None)

    def handle_starttag(self, tag, attrs):
        self.texts.append(None)
        self.skip += tag in ("code", "pre", "a")
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        self.texts.append(None)
        self.skip -= tag in ("code", "pre", "a")
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if not self.skip:  # one text node: the data since the last tag or comment
            if self.texts and self.texts[-1] is not None:
                self.texts[-1] += data
            else:
                self.texts.append(data)

    def github_refs(self):
        """The mentions and references GitHub would link in the text nodes."""
        return [m.group() for t in self.texts if t for m in GITHUB_REFS.finditer(t)]


def check_text_and_numbers(tap, ctx):
    a, b = ctx["a"], ctx["b"]
    recs = load(b)
    n = len(recs)
    n_probed = sum(1 for r in recs if probed(r))
    findings = [f for r in recs for f in r["findings"]]
    r = h.run_caprobe(["report", b])
    tap.eq(r.rc, 0, "report (text): exit 0 with findings", r.describe())
    m = re.search(r"Targets: (\d+) scanned: (\d+) probed \((\d+) with findings, (\d+) OK\), "
                  r"(\d+) not probed", r.stdout)
    want = (n, n_probed, sum(1 for x in recs if probed(x) and x["findings"]),
            sum(1 for x in recs if probed(x) and not x["findings"]), n - n_probed)
    tap.eq(tuple(int(x) for x in m.groups()) if m else None, want,
           "text: targets scanned, probed, with findings, OK, not probed as in the JSONL")
    tap.ok(n - n_probed == 1, "the closed port is the one target not probed")
    by = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    tap.ok(("%d findings: " % len(findings)) + ", ".join(
        "%d %s" % (by[s], s) for s in SEVERITIES if by[s]) in r.stdout,
        "text: the findings by severity", r.stdout[:1500])
    got = {}
    section = r.stdout.split("Findings by rule\n")[1].split("\n\n")[0]
    for line in section.splitlines()[2:]:
        p = line.split()
        got[(p[0], p[1])] = (int(p[2]), int(p[3]))
    tap.eq(got, rule_table(recs), "text: findings and targets per rule and severity")
    chart = r.stdout.split("CA-list sizes\n")[1].split("\nLists over")[0]
    got = {}
    for line in chart.splitlines():
        m = re.match(r"  (\S.*?)\s{2,}(\d+)(\s|$)", line)
        if m and int(m.group(2)):
            got[m.group(1)] = int(m.group(2))
    tap.eq(got, sizes(recs), "text: targets by the size of their largest list", chart)
    tap.ok("\x1b" not in r.stdout and "\nbreak" not in r.stdout,
           "text: no control byte of a server name reaches the terminal")


def pipes(line):
    """The | of a markdown line that are not backslash-escaped."""
    n, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        n += line[i] == "|"
        i += 1
    return n


def check_markdown(tap, ctx):
    b = ctx["b"]
    recs = load(b)
    r = h.run_caprobe(["report", "--format", "markdown", "--names", "all", b])
    tap.eq(r.rc, 0, "report (markdown): exit 0", r.describe())
    md = r.stdout
    tap.ok("<script" not in md and "<b>" not in md and "&lt;b&gt;" not in md.replace(
        "&amp;lt;b&amp;gt;", ""), "markdown: no raw tag of a server name, no entity of its own")
    widths, table = [], []
    for line in md.split("\n"):  # not splitlines(): U+2028 in a name ends no line
        if line.startswith("|"):
            table.append(pipes(line))
        elif table:
            widths.append(sorted(set(table)))
            table = []
    tap.ok(widths and all(len(w) == 1 for w in widths), "markdown: every row of a table has as "
           "many unescaped | as its header (a | of a server name is escaped)", widths)
    if shutil.which("cmark-gfm") is None:
        tap.skip("markdown rendered by cmark-gfm", "cmark-gfm not installed")
        return
    p = subprocess.run(["cmark-gfm", "-e", "table", "-e", "strikethrough", "-e", "autolink"],
                       input=md.encode(), capture_output=True, timeout=30)
    doc = Html()
    doc.feed(p.stdout.decode())
    tap.ok("script" not in doc.tags and "a" not in doc.tags, "markdown rendered by cmark-gfm: "
           "no <script> element, no link (no URL or e-mail address of a name became one)",
           sorted(set(doc.tags)))
    tap.eq(doc.github_refs(), [], "rendered: no @mention, #123, GH-45 of a name in a text node "
           "where GitHub would link it and notify (each split by an empty comment)")
    widths = [sorted({len(row) for row in t}) for t in doc.tables]
    tap.ok(all(len(w) == 1 for w in widths), "rendered: every table row has its table's number "
           "of cells (no pipe of a name opened a cell)", widths)
    # the names table: the hostile names are shown exactly as the JSONL has them
    dns = {c["dn"] for x in recs for o in x["observations"]
           for c in o.get("certificate_request", {}).get("cas", [])}
    hostile = {c["dn"] for x in recs if x["port"] == ctx["ports"][5] for o in x["observations"]
               for c in o.get("certificate_request", {}).get("cas", [])}
    names_table = [t for t in doc.tables if t and t[0] == ["targets", "name"]]
    shown = {row[1] for row in names_table[0][1:]} if names_table else set()
    tap.eq(len(hostile), len(HOSTILE_CNS), "the lab's hostile names are in the scan")
    tap.ok(hostile <= dns, "the hostile endpoint's names")
    # as caprobe shows server text to people: U+2028 as \u2028 (labfleet.shown)
    tap.eq({shown_text(d) for d in hostile} - shown, set(), "rendered: each hostile name is a "
           "cell whose text is the name as shown (the top names table)", shown)
    text = re.sub(r"<[^>]+>", "", p.stdout.decode())
    tap.ok(all(shown_text(d) in html.unescape(text) for d in hostile),
           "rendered: the hostile names read the same in the variants' lists")


def check_csv(tap, ctx):
    tmp, b = ctx["tmp"], ctx["b"]
    recs = load(b)
    r = h.run_caprobe(["report", "--format", "csv", b])
    tap.eq(r.rc, 0, "report (csv): exit 0", r.describe())
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    want = sorted((x["target"], f["rule"], f["severity"], f["message"], f.get("remedy", ""))
                  for x in recs for f in x["findings"])
    got = sorted((w["target"], w["rule"], w["severity"], w["message"], w["remedy"])
                 for w in rows)
    tap.eq(got, want, "csv: one row per finding, each field as in the JSONL (%d rows)"
           % len(want))
    tap.ok(r.stdout.endswith("\r\n") and "\r\n" in r.stdout.split("\n")[0] + "\n",
           "csv: CRLF line ends (RFC 4180)")
    # a file from elsewhere (a shard someone else wrote): the hostile target's findings get
    # texts that start like formulas; the report reads it as any scan
    edited = os.path.join(tmp, "formula.jsonl")
    hostile = [x for x in recs if any("HYPERLINK" in c["dn"] for o in x["observations"]
                                      for c in o.get("certificate_request", {}).get("cas", []))]
    starts = ["=HYPERLINK(\"http://evil.example\")", "+1+1", "-2+3", "@SUM(1)", "\tx"]
    x = json.loads(json.dumps(hostile[0]))
    x["findings"] = [{"rule": "unexpected-ca", "severity": "medium", "message": s,
                      "observations": [0], "remedy": s} for s in starts]
    with open(edited, "w", encoding="utf-8") as f:
        f.write(json.dumps(x) + "\n")
    r = h.run_caprobe(["report", "--format", "csv", edited])
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    tap.eq(sorted(w["message"] for w in rows),
           sorted(["'" + s for s in starts[:4]] + ["\\x09x"]),
           "csv: a field that would start with = + - @ gets a leading ' (a tab is \\x09)")
    tap.ok(all(not w[k][:1] in "=+-@\t\r" for w in rows for k in w if w[k]),
           "csv: no field starts like a formula")


def check_baseline(tap, ctx):
    a, b, ports = ctx["a"], ctx["b"], ctx["ports"]
    old, new = load(a), load(b)
    want, items = changes(old, new)
    r = h.run_caprobe(["report", "--format", "csv", "--baseline", a, b])
    tap.eq(r.rc, 0, "report --baseline: exit 0", r.describe())
    got = {}
    for w in csv.DictReader(io.StringIO(r.stdout, newline="")):
        if w["change"] != "same":
            k = (w["change"], w["rule"], w["severity"])
            got[k] = got.get(k, 0) + 1
    tap.eq(got, want, "report --baseline (csv): new, changed and resolved findings by rule and "
           "severity as computed here from the two JSONL files")
    t = {p: "127.0.0.1:%d" % p for p in ports}
    built = {("new", t[ports[1]], "root-store-dump"), ("resolved", t[ports[0]], "root-store-dump"),
             ("changed", t[ports[2]], "oversized-ca-list")}
    tap.eq(built - set(items), set(), "as built: the broken endpoint's dump is new, the fixed "
           "one's resolved, the grown list's oversized-ca-list changed", items)
    tap.ok(not any(i[1] in (t[ports[3]], "127.0.0.1:%d" % ports[4]) for i in items),
           "as built: the empty list and the STARTTLS endpoint did not change")
    n_new = sum(v for (c, _, _), v in want.items() if c == "new")
    n_changed = sum(v for (c, _, _), v in want.items() if c == "changed")
    n_resolved = sum(v for (c, _, _), v in want.items() if c == "resolved")
    r = h.run_caprobe(["report", "--format", "markdown", "--baseline", a, b])
    tap.ok("%d new, %d changed, %d resolved finding" % (n_new, n_changed, n_resolved)
           in r.stdout, "report --baseline (markdown): the counts of the summary", r.stdout[:900])

    d = h.run_caprobe(["diff", a, b])
    tap.eq(d.rc, 1, "diff of the two lab scans: exit 1", d.describe())
    tap.ok(d.stdout.startswith("findings: %d new, %d changed, %d resolved;"
                               % (n_new, n_changed, n_resolved)),
           "diff (text): the counts first, as computed here", d.stdout[:300])
    d = h.run_caprobe(["diff", "--format", "jsonl", a, b])
    got = {}
    for line in d.stdout.splitlines():
        for f in json.loads(line)["findings"]:
            k = (f["change"], f["rule"], f["severity"])
            got[k] = got.get(k, 0) + 1
    tap.eq(got, want, "diff --format jsonl: each target's findings that changed, as computed "
           "here")


def check_bad_input(tap, ctx):
    tmp, b = ctx["tmp"], ctx["b"]
    lines = open(b, encoding="utf-8").read().rstrip("\n").split("\n")  # U+2028 is no end
    future = json.loads(lines[0])
    future["schema"], future["target"] = "caprobe/2", "future.example:443"
    mixed = lines[:2] + ["{not json"] + lines[2:-1] + [json.dumps(future), lines[-1][:40]]
    path = os.path.join(tmp, "mixed.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(mixed))  # the last line cut short, without its newline
    r = h.run_caprobe(["report", "--format", "markdown", path])
    tap.eq(r.rc, 2, "report of a mixed, truncated file: exit 2, the report written", r.describe())
    bad = [3, len(mixed) - 1, len(mixed)]
    told = re.findall(r"^caprobe report: .*mixed\.jsonl:(\d+): ", r.stderr, re.M)
    tap.eq([int(x) for x in told], bad, "stderr: each bad line as FILE:LINE")
    m = re.search(r"Targets: (\d+) scanned", r.stdout)
    tap.eq(int(m.group(1)) if m else None, len(lines) - 1,
           "the rest is used: every record but the cut one")
    tap.ok("Bad input: 3 lines" in r.stdout and all(
        ("mixed.jsonl:%d: " % n) in r.stdout for n in bad), "the report tells the bad lines too")


# Lines of a target list that are no target (raw bytes): markup, markdown's inline syntax and
# what GitHub links, a formula, an escape sequence, a byte that is not UTF-8. The scan writes
# each as an input-error record (bytes outside printable ASCII as \xNN).
BAD_TARGET_LINES = [b"foo:99999", b"<script>alert(1)</script>:443",
                    b"a|b`c`*d*_e_[f](g)~h~$i$ www.evil.example GH-45:1",
                    b"=HYPERLINK(\"http://evil.example\"):443", b"\x1b[31mred:443",
                    b"bad\xffutf8:1"]
# Input-error records from elsewhere (a file a CI job did not make): raw control bytes, markup, a
# mention and a reference, and a message that names no FILE:LINE.
FOREIGN_INPUT_ERRORS = [
    {"target": "x\u001b]0;pwned\u0007|<b>@octocat #12 `y`", "message":
     "other list.txt:9: why\u0085 <i>&amp; [a](http://evil.example)"},
    {"target": "-cmd|' /C calc'!A0", "message": "no FILE:LINE here: \u001b[2J"}]


def csv_text(s):
    """A CSV field as the report writes it (docs/report.md): a leading ' before = + - @."""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def check_bad_target_lines(tap, ctx):
    """Lines of the target list that were no target: each shown in text, markdown (rendered by
    cmark-gfm) and CSV with where it was, its text and why, as the JSONL has them, escaped."""
    tmp, b = ctx["tmp"], ctx["b"]
    targets, part = os.path.join(tmp, "targets.txt"), os.path.join(tmp, "bad-lines.jsonl")
    with open(targets, "wb") as f:
        f.write(b"\n".join(BAD_TARGET_LINES) + b"\n")
    r = h.run_caprobe(["-i", targets, "--format", "jsonl", "-o", part, "-q"])
    scan = os.path.join(tmp, "with-bad-lines.jsonl")
    foreign = [json.dumps(dict({"schema": "caprobe/1", "host": None, "port": 0,
                                "observations": [], "findings": []},
                               target=x["target"], error={"kind": "input",
                                                          "message": x["message"]}))
               for x in FOREIGN_INPUT_ERRORS]
    with open(scan, "w", encoding="utf-8") as f:  # shards concatenated, and a line from elsewhere
        f.write(open(b, encoding="utf-8").read() + open(part, encoding="utf-8").read() +
                "\n".join(foreign) + "\n")
    want = bad_target_lines(scan)
    tap.ok(r.rc == 2 and len(want) == len(BAD_TARGET_LINES) + len(FOREIGN_INPUT_ERRORS) and
           want[0] == ("%s:1" % targets, "foo:99999", "port must be a number from 1 to 65535")
           and want[-1][0] == "%s:%d" % (scan, len(load(scan))),
           "a scan of a target list with %d bad lines (exit 2), each an input-error record"
           % len(BAD_TARGET_LINES), (r.describe(), want))

    r = h.run_caprobe(["report", scan])
    section = r.stdout.split("\nBad target lines\n", 1)[-1].split("\n\n", 2)[1:2]
    rows = section[0].split("\n")[1:] if section else []
    tap.ok(r.rc == 0 and "; %d lines of the target list were no target" % len(want) in r.stdout
           and len(rows) == len(want) and all(
               row.startswith("  " + shown_text(w) + "  ") and ("  " + shown_text(t) + "  ") in row
               and row.endswith("  " + shown_text(y)) for row, (w, t, y) in zip(rows, want)),
           "text: each bad target line, in file order: where, its text and why, as the JSONL "
           "has them (controls as \\xNN)", (r.describe(), rows, want))
    tap.ok("\x1b" not in r.stdout and "\x07" not in r.stdout and "\x85" not in r.stdout,
           "text: no control byte of a target line reaches the terminal")

    r = h.run_caprobe(["report", "--format", "csv", scan])
    rows = [w for w in csv.DictReader(io.StringIO(r.stdout, newline=""))
            if w["verdict"] == "bad target line"]
    tap.eq([(w["target"], w["message"], w["rule"], w["severity"]) for w in rows],
           [(csv_text(shown_text(t)), csv_text(shown_text(w + ": " + y)), "", "") for w, t, y
            in want],
           "csv: a row per bad target line (verdict 'bad target line'): its text, and "
           "'WHERE: why' as the message, escaped, a formula quoted")

    r = h.run_caprobe(["report", "--format", "markdown", scan])
    if shutil.which("cmark-gfm") is None:
        tap.skip("markdown's bad target lines rendered by cmark-gfm", "cmark-gfm not installed")
        return
    p = subprocess.run(["cmark-gfm", "-e", "table", "-e", "strikethrough", "-e", "autolink"],
                       input=r.stdout.encode(), capture_output=True, timeout=30)
    doc = Html()
    doc.feed(p.stdout.decode())
    table = [t for t in doc.tables if t and t[0] == ["line", "text", "why"]]
    tap.eq(table[0][1:] if table else None,
           [[shown_text(w), shown_text(t), shown_text(y)] for w, t, y in want],
           "markdown rendered by cmark-gfm: a table of the bad target lines, each cell's text "
           "exactly where, the line and why as shown")
    tap.ok("script" not in doc.tags and "a" not in doc.tags and "i" not in doc.tags and
           "b" not in doc.tags and doc.github_refs() == [],
           "rendered: no element, link, mention or reference of a target line", sorted(
               set(doc.tags)))


def check_nothing_to_report(tap, ctx):
    """A scan with no record (nothing to report): told on standard error with the file and why,
    exit 2 (the input-error status), no report written; a baseline with none likewise. A scan
    of bad target lines alone has records: its report is written."""
    tmp, b = ctx["tmp"], ctx["b"]
    cases = [("empty.jsonl", "", "the file is empty"),
             ("blank.jsonl", "\n  \n", "its 2 lines are blank"),
             ("cut.jsonl", '{"schema": "caprobe/1", "target": "cu', "its one line is not a "
              "caprobe/1 record"),
             ("junk.jsonl", "x\n\n[1]\n", "none of its 3 lines is a caprobe/1 record")]
    out = os.path.join(tmp, "nothing.html")
    for name, data, why in cases:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(data)
        for fmt in ("text", "html"):
            r = h.run_caprobe(["report", "--format", fmt, "-o", out, path])
            tap.ok(r.rc == 2 and r.stderr.splitlines()[-1:] == [
                "caprobe report: %s: nothing to report: %s" % (path, why)] and
                not os.path.exists(out),
                "%s (%s): 'nothing to report: %s' on stderr, exit 2, no report written"
                % (name, fmt, why), r.describe())
    r = h.run_caprobe(["report", "/dev/null"])
    tap.ok(r.rc == 2 and r.stdout == "" and
           r.stderr == "caprobe report: /dev/null: nothing to report: the file is empty\n",
           "report /dev/null: nothing to report, exit 2", r.describe())
    r = h.run_caprobe(["report", "-"])  # standard input at its end at once
    tap.ok(r.rc == 2 and r.stdout == "" and
           r.stderr == "caprobe report: <stdin>: nothing to report: the file is empty\n",
           "report - of an empty standard input: nothing to report, exit 2", r.describe())
    r = h.run_caprobe(["report", "--baseline", os.path.join(tmp, "blank.jsonl"), b])
    tap.ok(r.rc == 2 and r.stdout == "" and r.stderr == "caprobe report: %s: nothing to compare "
           "with: its 2 lines are blank\n" % os.path.join(tmp, "blank.jsonl"),
           "report --baseline of a file with no record: refused, exit 2", r.describe())
    part = os.path.join(tmp, "only-bad-lines.jsonl")
    targets = os.path.join(tmp, "only-bad.txt")
    with open(targets, "w") as f:
        f.write("foo:99999\n")
    h.run_caprobe(["-i", targets, "--format", "jsonl", "-o", part, "-q"])
    r = h.run_caprobe(["report", part])
    tap.ok(r.rc == 0 and "\nNo target.\n" in r.stdout and "%s:1  foo:99999  port must be" %
           targets in r.stdout, "a scan of bad target lines alone: its report, exit 0",
           r.describe())


def check_exchanges(tap, ctx):
    """--client-key's client_cert and --request's response in the variants of the report (text,
    markdown, CSV), each where the variant is told; what the server sent shown as text: the
    hostile status line and Server field (labfleet.exchange_scan) as the terminal shows them,
    nothing of them an element or a link in GitHub's rendering."""
    path = os.path.join(ctx["tmp"], "exchange.jsonl")
    rec, http, cc = exchange_scan(path)
    tap.ok(cc is not None, "the lab refused the other CA's certificate in the renegotiation",
           json.dumps(rec)[:3000])
    r = h.run_caprobe(["report", path])
    tap.ok(r.rc == 0 and ("      " + shown_text(http) + "\n") in r.stdout and
           ("      client certificate: %s\n" % cc) in r.stdout,
           "text: the variants tell the response (as shown) and the certificate's answer",
           r.describe())
    r = h.run_caprobe(["report", "--format", "markdown", path])
    if shutil.which("cmark-gfm") is None:
        tap.skip("markdown rendered by cmark-gfm", "cmark-gfm not installed")
    else:
        p = subprocess.run(["cmark-gfm", "-e", "table", "-e", "strikethrough", "-e", "autolink"],
                           input=r.stdout.encode(), capture_output=True, timeout=30)
        doc = Html()
        doc.feed(p.stdout.decode())
        items = [re.sub(r"\s+", " ", x).strip() for x in re.split(r"</?li>|</?ul>", re.sub(
            r"<(?!/?(?:li|ul)>)[^>]+>", "", p.stdout.decode()))]
        items = [html.unescape(x) for x in items if x]
        tap.ok(r.rc == 0 and {"img", "a", "script"}.isdisjoint(doc.tags) and
               doc.github_refs() == [] and shown_text(http) in items and
               "client certificate: " + cc in items,
               "markdown rendered by cmark-gfm: the response and the certificate's answer each "
               "an item whose text is as shown; no element, link or mention of the server's "
               "text", (sorted(set(doc.tags)), doc.github_refs(), items))
    r = h.run_caprobe(["report", "--format", "csv", path])
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    post = [w for w in rows if w["rule"] == "post-request-client-auth"]
    tap.ok(len(post) == 1 and "127.0.0.1, no SNI, TLS 1.3: " + shown_text(http) in post[0]["http"]
           and post[0]["client_cert"] == "127.0.0.1, no SNI, TLS 1.2, renegotiation: " + cc,
           "csv: the client_cert and http columns tell the cited variants' answers", rows)


def check_wording(tap, ctx):
    """--names 0 counts the names of each list it leaves out, without 'more'; no report points
    to a file of the repository."""
    b = ctx["b"]
    recs = load(b)
    r = h.run_caprobe(["report", "--names", "0", b])
    counts = {int(n) for n in re.findall(r"^ +(\d+) names? not shown \(--names all\)$",
                                          r.stdout, re.M)}
    want = {o["certificate_request"]["ca_count"] for x in recs for o in x["observations"]
            if o["outcome"] == "certificate_request" and o["certificate_request"]["ca_count"]}
    tap.ok(r.rc == 0 and counts == want and "more (--names all)" not in r.stdout,
           "--names 0: each list's 'N names not shown', N its names as in the JSONL, no 'more'",
           (sorted(counts), sorted(want)))
    for fmt in ("text", "markdown", "csv", "html"):
        r = h.run_caprobe(["report", "--format", fmt, "--targets", "2", b])
        tap.ok(r.rc == 0 and "docs/" not in r.stdout, "%s: no pointer to a file of the "
               "repository (docs/...)" % fmt)


def check_messages(tap, ctx):
    """The messages of caprobe report and caprobe diff: each names its command, the file (and
    line) it is about, counts in the singular or plural, and points to nothing an installed
    caprobe lacks."""
    tmp, b = ctx["tmp"], ctx["b"]
    first = open(b, encoding="utf-8").read().split("\n")[0]
    for extra, tail in ((1, "and 1 more line that is not a caprobe/1 record"),
                        (2, "and 2 more lines that are not caprobe/1 records")):
        path = os.path.join(tmp, "many-bad-%d.jsonl" % extra)
        with open(path, "w", encoding="utf-8") as f:
            f.write(first + "\n" + "".join("junk %d\n" % i for i in range(100 + extra)))
        r = h.run_caprobe(["report", path])
        told = r.stderr.splitlines()
        tap.ok(r.rc == 2 and len(told) == 101 and told[0].startswith(
            "caprobe report: %s:2: not JSON" % path) and
            told[-1] == "caprobe report: %s: %s" % (path, tail),
            "report of %d bad lines: the first 100 as FILE:LINE, then '%s' with the file"
            % (100 + extra, tail), told[-2:])
    r = h.run_caprobe(["report", b, b])
    tap.ok(r.rc == 2 and r.stderr.startswith("caprobe report: expected one scan file, got 2\n"),
           "report of two files: a usage error that says how many", r.describe())
    for cmd in (["report", "--help"], ["diff", "--help"]):
        r = h.run_caprobe(cmd)
        docs = re.findall(r"docs/\S*", r.stdout)
        tap.ok(r.rc == 0 and not docs and "caprobe's documentation" in r.stdout,
               "caprobe %s: no pointer to a file of the repository, the documentation named in "
               "words that work where caprobe is installed" % " ".join(cmd), docs)
    r = h.run_caprobe(["diff", "--bogus", b, b])
    tap.ok(r.rc == 2 and r.stderr == "caprobe diff: unknown option '--bogus'\n"
           "Try 'caprobe diff --help'.\n", "diff --bogus: 'caprobe diff: unknown option', exit 2",
           r.describe())
    r = h.run_caprobe(["diff", b, "/dev/null"])
    tap.ok(r.rc == 2 and r.stdout == "" and
           r.stderr == "caprobe diff: /dev/null: nothing to compare: the file is empty\n",
           "diff with an empty NEW: nothing to compare, exit 2 (not every target removed)",
           r.describe())
    r = h.run_caprobe(["diff", "-", b])
    tap.ok(r.rc == 2 and r.stdout == "" and
           r.stderr == "caprobe diff: <stdin>: nothing to compare: the file is empty\n",
           "diff of an empty standard input: nothing to compare, exit 2", r.describe())


def verdict_word(rec):
    """How the report counts a target left out: by its verdict, from the JSONL."""
    return "not probed" if not probed(rec) else "with findings" if rec["findings"] else "OK"


def check_targets(tap, ctx):
    """--targets N: the N worst targets have a section, the others are counted by verdict, and
    the summary is that of every target."""
    b = ctx["b"]
    recs = load(b)
    by_label = {label(x): x for x in recs}
    whole = h.run_caprobe(["report", "--format", "markdown", b]).stdout
    summary = whole.split("\n## Targets\n")[0]
    order = re.findall(r"^### (.+?): ", whole.split("\n## Targets\n")[1], re.M)
    tap.eq(sorted(order), sorted(by_label), "markdown: a section per target by default")
    for n in ("3", "none"):
        r = h.run_caprobe(["report", "--format", "markdown", "--targets", n, b])
        head, _, tail = r.stdout.partition("\n## Targets\n")
        got = re.findall(r"^### (.+?): ", tail, re.M)
        k = 0 if n == "none" else int(n)
        left = [by_label[t] for t in order[k:]]
        counts = ", ".join("%d %s" % (c, w) for w, c in (
            (w, sum(1 for x in left if verdict_word(x) == w))
            for w in ("with findings", "OK", "not probed")) if c)
        rest = "%d%s targets not shown (%s): --targets all shows them." % (
            len(left), " more" if k else "", counts)
        tap.ok(r.rc == 0 and head == summary and got == order[:k] and rest in tail,
               "--targets %s: the summary unchanged, the %d worst targets' sections, the %d "
               "others counted by verdict as in the JSONL" % (n, k, len(left)),
               (r.describe(), got, rest, tail[-300:]))
    r = h.run_caprobe(["report", "--format", "html", "--targets", "2", b])
    tap.ok(r.rc == 0 and r.stdout.count('<article class="t"') == 2 and
           ("%d more targets not shown" % (len(recs) - 2)) in r.stdout,
           "--targets 2 --format html: two targets' sections", r.describe())
    r = h.run_caprobe(["report", "--targets", "some", b])
    tap.ok(r.rc == 2 and "--targets: expected a number, all or none, got 'some'" in r.stderr,
           "--targets some: a usage error", r.describe())


REPORT_MD = os.path.join(h.fixtures_dir(), "..", "docs", "report.md")


def recipes():
    """The CI recipes of docs/report.md ("## In CI"): its yaml blocks, as text."""
    with open(REPORT_MD, encoding="utf-8") as f:
        section = f.read().split("\n## In CI\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```yaml\n(.*?)^```$", section, re.M | re.S)


def run_recipe(tmp, script, shell, scan_lines, env_extra=None):
    """script run by shell (a list: ["bash", "-eo", "pipefail"]) in a fresh folder holding
    scan.jsonl (unless scan_lines is None), with caprobe on PATH; (status, folder)."""
    work = tempfile.mkdtemp(prefix="recipe-", dir=tmp)
    bindir = os.path.join(work, ".bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(h.caprobe_path()), os.path.join(bindir, "caprobe"))
    if scan_lines is not None:
        with open(os.path.join(work, "scan.jsonl"), "w", encoding="utf-8") as f:
            f.write("\n".join(scan_lines) + "\n")
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    env.update(env_extra or {})
    p = subprocess.run(shell + ["-c", script], cwd=work, env=env, capture_output=True,
                       text=True, timeout=120)
    return p, work


def check_ci_recipes(tap, ctx):
    """docs/report.md's CI recipes as they stand: parsed as YAML, their report commands run as
    the CI systems run them (set -e) on a scan with a bad line, which the report tells and
    exits 2 for, and on no scan at all, which must fail the step."""
    import yaml  # python3-yaml (Makefile TEST_PKGS)
    tmp, b = ctx["tmp"], ctx["b"]
    blocks = recipes()
    docs = [yaml.safe_load(x) for x in blocks]
    tap.eq(len(docs), 2, "docs/report.md: two CI recipes (GitHub Actions, GitLab CI), YAML")
    gh = [st for st in docs[0]["jobs"]["caprobe"]["steps"] if st.get("name") == "Report"]
    gl = docs[1]["caprobe"]
    tap.ok(gh and gh[0].get("if") == "always()" and
           all(st.get("if") == "always()" for st in docs[0]["jobs"]["caprobe"]["steps"]
               if "upload-artifact" in st.get("uses", "")) and
           gl["artifacts"]["when"] == "always" and isinstance(gl["after_script"], list),
           "the recipes report and upload whatever the scan's status", docs)
    lines = open(b, encoding="utf-8").read().rstrip("\n").split("\n")
    with_bad = lines[:2] + ["{\"schema\": \"caprobe/1\", \"target\": \"cut-sh"] + lines[2:]
    files = ["caprobe-report.md", "caprobe-findings.csv", "caprobe-report.html"]
    scripts = [("GitHub Actions", gh[0]["run"] if gh else "", [["bash", "-e"], ["sh", "-e"]]),
               ("GitLab CI", "\n".join(gl["after_script"]),
                [["bash", "-eo", "pipefail"], ["sh", "-e"]])]
    if shutil.which("shellcheck"):  # Makefile TEST_PKGS
        for what, script, _ in scripts:
            for dialect in ("sh", "bash"):
                p = subprocess.run(["shellcheck", "-s", dialect, "-"], input=script, text=True,
                                   capture_output=True, timeout=60)
                tap.ok(p.returncode == 0, "%s recipe: shellcheck -s %s finds nothing"
                       % (what, dialect), p.stdout[-1500:])
    else:
        tap.skip("the recipes' scripts through shellcheck", "shellcheck not installed")
    for what, script, shells in scripts:
        for shell in shells:
            summary = os.path.join(tmp, "step-summary-%d" % len(os.listdir(tmp)))
            p, work = run_recipe(tmp, script, shell, with_bad, {"GITHUB_STEP_SUMMARY": summary})
            made = [f for f in files if os.path.isfile(os.path.join(work, f))]
            md = open(os.path.join(work, files[0]), encoding="utf-8").read() if made else ""
            tap.ok(p.returncode == 0 and made == files and "Bad input: 1 line" in md and
                   ":3: not JSON" in p.stderr and
                   (what != "GitHub Actions" or open(summary, encoding="utf-8").read() == md),
                   "%s recipe (%s): a scan with a bad line, every report written, the step "
                   "passes, the bad line in the log" % (what, " ".join(shell)),
                   (p.returncode, p.stderr[-600:], made))
            p, work = run_recipe(tmp, script, shell, None, {"GITHUB_STEP_SUMMARY": summary})
            tap.ok(p.returncode != 0 and "scan.jsonl" in p.stderr,
                   "%s recipe (%s): no scan, the step fails" % (what, " ".join(shell)),
                   (p.returncode, p.stderr[-300:]))


def check_cli(tap, ctx):
    tmp, b = ctx["tmp"], ctx["b"]
    out = os.path.join(tmp, "report.md")
    with open(out, "w") as f:
        f.write("old report\n")
    r = h.run_caprobe(["report", "--format", "markdown", "-o", out, b])
    s = h.run_caprobe(["report", "--format", "markdown", b])
    tap.ok(r.rc == 0 and r.stdout == "" and open(out).read() == s.stdout,
           "-o FILE: the report replaces FILE", r.describe())
    r = h.run_caprobe(["report", "-o", out, os.path.join(tmp, "missing.jsonl")])
    tap.ok(r.rc == 2 and open(out).read() == s.stdout and
           not [x for x in os.listdir(tmp) if x.startswith(".report.md.")],
           "-o FILE with an unreadable scan: exit 2, FILE as it was, no temporary file left",
           r.describe())
    r = h.run_caprobe(["report", "--format", "pdf", b])
    tap.ok(r.rc == 2 and "expected text, markdown, csv or html" in r.stderr,
           "--format pdf: exit 2, the formats named", r.describe())
    r = h.run_caprobe(["report", "--bogus", b])
    tap.ok(r.rc == 2 and "caprobe report --help" in r.stderr, "a bad option: exit 2")
    r = h.run_caprobe(["report", "--help"])
    tap.ok(r.rc == 0 and "Exit status" in r.stdout and "--baseline" in r.stdout,
           "report --help")
    r = h.run_caprobe(["--help"])
    tap.ok("caprobe report SCAN.jsonl" in r.stdout and "caprobe diff" in r.stdout,
           "caprobe --help lists the subcommands")


CHECKS = [check_text_and_numbers, check_markdown, check_csv, check_exchanges, check_baseline,
          check_bad_input,
          check_bad_target_lines, check_nothing_to_report, check_wording, check_messages,
          check_targets, check_ci_recipes, check_cli]


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    ctx = {"tmp": tempfile.mkdtemp(prefix="caprobe-report-")}
    try:
        if scans(tap, ctx):
            h.run_checks(tap, CHECKS, ctx)
    finally:
        shutil.rmtree(ctx["tmp"], ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
