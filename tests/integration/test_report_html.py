#!/usr/bin/env python3
"""caprobe report --format html in a real browser (issue 14, point 1). Two real scans of the lab
fleet of labfleet.py (its hostile names: markup, script that would set window.caprobePwned and
the title, CDATA and style ends, a quote, U+2028) and, beside it for both scans, of every
endpoint of fixtures/lab/lab.yaml (its hostile ones: malformed-names with ESC, NUL, BEL and
invalid UTF-8 in names and names that are no DER; garbage, alert, reset, oversized-record, stall,
trickle). Reports are made with and without --baseline, and of a copy of the scan under a
hostile file name with a finding whose rule id breaks out of attributes and bad lines of raw
control bytes, NUL and invalid UTF-8. Then:

- the file: well-formed by a strict reading (Strict below: every element one the report uses,
  closed in order, attributes quoted and known, no raw < or & in text, references only of the
  five markup characters or numeric, UTF-8, no control byte), self-contained (no src, href or
  action but '#...', no url( or @import, no element that fetches), its Content-Security-Policy
  forbids every fetch and names by hash exactly its one style and one script;
- the DOM after headless Chromium loaded it (--dump-dom): every number of the summary, the two
  charts and the lists against the JSON Lines counted in labfleet.py; each target with its
  verdict, findings and lists; each name (the hostile ones too) exactly as text; no element of a
  name; the filter shown by the script (so its hash is right), and a filter in the URL fragment
  showing exactly the targets it should, with --baseline;
- over the DevTools protocol: with the policy, the page makes one request (itself) and no
  violation; a text search shows the targets that carry the text; a variant's list link (and
  the report opened with #l-LISTID) opens that list and scrolls to it; without JavaScript every
  target is shown and the filter hidden; with the policy removed (escaping alone between a name
  and a script), no script of a name ran: window.caprobePwned undefined, the title ours;
- a screenshot, and the report itself, under the build folder ($CAPROBE_ARTIFACTS).
Emits TAP."""

import base64
import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402
import harness as h  # noqa: E402
from labfleet import (HOSTILE_CNS, LAB_YAML, SEVERITIES, bad_target_lines,  # noqa: E402
                      changes, exchange_scan, key, label, lab_yaml_targets, list_id, lists,
                      load, probed, rule_table, scans, shown as shown_text, sizes)

BUCKETS = ["no request", "0 (empty)", "1", "2-4", "5-19", "20-99", "100-499", "500 and more"]
VOID = {"meta", "input", "br"}
# Every element the report writes; one of a name would be another, or in the wrong place.
ELEMENTS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
            "code", "nav", "a", "main", "section", "div", "table", "caption", "thead", "tbody",
            "tr", "th", "td", "span", "ul", "ol", "li", "figure", "figcaption", "svg", "desc",
            "text", "tspan", "rect", "g", "form", "input", "select", "option", "button",
            "output", "article", "details", "summary", "script"}
ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "id", "class", "href", "scope",
              "data-r", "data-s", "data-c", "data-l", "data-v", "role", "viewbox", "width",
              "height", "aria-labelledby", "aria-label", "aria-live", "x", "y", "text-anchor",
              "type", "placeholder", "value", "hidden"}
FETCHING = {"img", "iframe", "object", "embed", "link", "video", "audio", "source", "image",
            "use", "frame", "base", "track", "picture"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag=None, cls=None, **attrs):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and
                (cls is None or cls in n.attrs.get("class", "").split()) and
                all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, tag=None, cls=None, **attrs):
        found = self.find(tag, cls, **attrs)
        return found[0] if found else Node("missing", {}, None)


class Dom(html.parser.HTMLParser):
    """A tree of an HTML document that closes its elements (the report, or Chromium's
    serialisation of its DOM); with strict, every liberty HTML allows is an error instead."""

    def __init__(self, text, strict=False):
        super().__init__(convert_charrefs=not strict)
        self.strict, self.errors = strict, []
        self.root = Node("#document", {}, None)
        self.cur, self.raw = self.root, {}
        self.feed(text)
        self.close()
        if strict and self.cur is not self.root:
            self.errors.append("unclosed: %s" % self.cur.tag)

    def error(self, what):
        if len(self.errors) < 20:
            self.errors.append("line %d: %s" % (self.getpos()[0], what))

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, tag in VOID)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, True)

    def _start(self, tag, attrs, closed):
        if self.strict:
            if tag not in ELEMENTS:
                self.error("element <%s>" % tag)
            names = [a for a, _ in attrs]
            if len(set(names)) != len(names) or set(names) - ATTRIBUTES:
                self.error("attributes of <%s>: %s" % (tag, names))
            raw = self.get_starttag_text()
            if re.sub(r'\s[\w-]+="[^"<>]*"|\shidden|/$', "", raw[1 + len(tag):-1]).strip():
                self.error("an attribute not in double quotes: %s" % raw[:200])
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if not closed:
            self.cur = n

    def handle_endtag(self, tag):
        if tag == self.cur.tag:
            self.cur = self.cur.parent
            return
        if self.strict:
            self.error("</%s> closes <%s>" % (tag, self.cur.tag))
        n = self.cur  # tolerant: close up to the element named, as a browser would
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        if self.strict and self.cur.tag not in ("script", "style") and ("<" in data or
                                                                       "&" in data):
            self.error("raw < or & in text: %r" % data[:80])
        self.cur.children.append(data)

    def handle_entityref(self, name):
        if name not in ("amp", "lt", "gt", "quot", "apos"):
            self.error("reference &%s;" % name)
        self.cur.children.append(html.unescape("&%s;" % name))

    def handle_charref(self, name):
        self.cur.children.append(html.unescape("&#%s;" % name))

    def handle_comment(self, data):
        self.error("a comment")

    def unknown_decl(self, data):
        self.error("a declaration: %s" % data[:80])


def check_file(tap, data, what):
    """The report's bytes: well-formed, self-contained, its policy right. Returns its Dom."""
    try:
        text = data.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        text, utf8 = data.decode("utf-8", "replace"), False
    controls = sorted({c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0})
    tap.ok(utf8 and not controls and text.startswith("<!DOCTYPE html>\n"),
           "%s: UTF-8 without a control byte, <!DOCTYPE html>" % what, controls)
    dom = Dom(text, strict=True)
    tap.eq(dom.errors, [], "%s: well-formed (strict reading: elements known and closed in order, "
           "attributes known and quoted, no raw < or & in text)" % what)
    refs = [(n.tag, a, v) for n in dom.root.walk() for a, v in n.attrs.items()
            if a in ("src", "href", "action", "formaction", "srcset", "poster", "data",
                     "xlink:href") and not (v or "").startswith("#")]
    fetching = sorted({n.tag for n in dom.root.walk()} & FETCHING)
    style = dom.root.find("style")
    script = dom.root.find("script")
    css = style[0].text() if len(style) == 1 else ""
    tap.ok(not refs and not fetching and "url(" not in css and "@import" not in css and
           not re.search(r"https?://", "".join(str(v) for n in dom.root.walk()
                                             for v in n.attrs.values())),
           "%s: self-contained: no reference but '#...', no element that fetches, no url(), no "
           "http:// or https:// in any attribute" % what, (refs, fetching))
    metas = [n.attrs.get("content", "") for n in dom.root.find("meta")
             if n.attrs.get("http-equiv") == "Content-Security-Policy"]
    want = {d.split()[0]: d.split()[1:] for d in (metas[0] if metas else "").split("; ")}

    def sha(s):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    tap.ok(len(metas) == 1 and len(script) == 1 and len(style) == 1 and
           want.get("default-src") == ["'none'"] and want.get("base-uri") == ["'none'"] and
           want.get("form-action") == ["'none'"] and
           want.get("script-src") == [sha(script[0].text())] and
           want.get("style-src") == [sha(css)] and text.index("Content-Security-Policy") <
           text.index("<title>"),
           "%s: one Content-Security-Policy, first in <head>: default-src 'none' (no fetch), "
           "no <base>, no form target, and the SHA-256 of its one script and one style" % what,
           metas)
    return dom


def count_table(dom, table_id):
    """{row header: number} of a summary table."""
    out = {}
    for tr in dom.one("table", id=table_id).find("tr"):
        th, td = tr.one("th"), tr.one("td")
        if td.tag == "td":
            out[th.text()] = int(td.text())
    return out


def table_rows(dom, table_id):
    """The header of a table and its rows, as lists of cell texts."""
    t = dom.one("table", id=table_id)
    head = [c.text() for c in t.one("thead").find("th")]
    return head, [[c.text() for c in tr.find("td")] for tr in t.one("tbody").find("tr")]


def worst_order(recs):
    """The ten worst targets with findings: highest severity, most findings, then target."""
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    scored = [(-max(rank[f["severity"]] for f in r["findings"]), -len(r["findings"]), r["target"],
               key(r)[1] or "", label(r)) for r in recs if r["findings"]]
    return [x[-1] for x in sorted(scored)[:10]]


def top_names(recs):
    """The ten names advertised by the most targets: [(targets, name)]."""
    count = {}
    for r in recs:
        seen = {}
        for o in r["observations"]:
            for c in o.get("certificate_request", {}).get("cas", []):
                seen[c["sha256"]] = c["dn"]
        for sha, dn in seen.items():
            n, _ = count.get(sha, (0, dn))
            count[sha] = (n + 1, dn)
    ordered = sorted(count.values(), key=lambda x: (-x[0], x[1].encode()))
    return ordered[:10]


def verdict(rec):
    return "not probed" if not probed(rec) else "findings" if rec["findings"] else "ok"


def check_summary(tap, dom, recs, what):
    n_probed = sum(1 for r in recs if probed(r))
    with_findings = sum(1 for r in recs if probed(r) and r["findings"])
    tap.eq(count_table(dom, "count-targets"),
           {"scanned": len(recs), "probed": n_probed, "with findings": with_findings,
            "OK": n_probed - with_findings, "not probed": len(recs) - n_probed},
           "%s: targets scanned, probed, with findings, OK, not probed as in the JSONL" % what)
    findings = [f for r in recs for f in r["findings"]]
    want = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    want["all"] = len(findings)
    tap.eq(count_table(dom, "count-findings"), want, "%s: findings by severity" % what)


def check_report(tap, ctx):
    """The report of the later scan without a baseline: the file, then its DOM in Chromium."""
    b, tmp = ctx["b"], ctx["tmp"]
    recs = load(b)
    out = os.path.join(tmp, "b.html")
    r = h.run_caprobe(["report", "--format", "html", "-o", out, b])
    tap.eq(r.rc, 0, "report --format html -o FILE: exit 0", r.describe())
    with open(out, "rb") as f:
        data = f.read()
    ctx["b_html"] = out
    check_file(tap, data, "b.html")
    dom = Dom(browser.dump_dom(browser.file_url(out))).root
    check_summary(tap, dom, recs, "DOM")
    _, rows = table_rows(dom, "rules")
    tap.eq({(x[0], x[1]): (int(x[2]), int(x[3])) for x in rows}, rule_table(recs),
           "DOM: findings and targets per rule and severity")
    _, rows = table_rows(dom, "worst")
    tap.eq([x[0] for x in rows], worst_order(recs), "DOM: the ten worst targets, in order")

    desc = dom.one("desc", id="sizes-desc").text()
    got = dict((m[0], int(m[1])) for m in re.findall(r"(?:^|; )(.+?) names: (\d+) target", desc))
    want = dict((k, sizes(recs).get(k, 0)) for k in BUCKETS)
    tap.eq(got, want, "DOM: the size chart's description, targets per size class", desc)
    nums = [int(re.match(r"\d+", t.children[0]).group()) for t in
            dom.one("svg", id="sizes-chart").find("text", cls="num")]
    tap.eq(nums, [want[k] for k in BUCKETS], "DOM: the numbers beside the size chart's bars")
    big = [max([o["certificate_request"]["list_bytes"] for o in x["observations"]
                if o["outcome"] == "certificate_request"] or [0]) for x in recs if probed(x)]
    over = dom.one("p", id="over").text()
    m = re.search(r"16 KiB .*: (\d+) targets?; over 32 KiB .*: (\d+)\.$", over)
    tap.eq(m and (int(m.group(1)), int(m.group(2))),
           (sum(1 for x in big if x > 16384), sum(1 for x in big if x > 32768)),
           "DOM: targets whose largest list passes 16 KiB and 32 KiB", over)
    chart = dom.one("svg", id="names-chart")
    got = [(int(g.one("text", cls="num").text()), g.one("text", cls="name").text())
           for g in chart.find("g")]
    tap.eq(got, top_names(recs), "DOM: the names chart, the ten names advertised most often "
           "with their targets, each name's text exactly the JSONL's")
    tap.ok(all(g.one("title").text() == name for (_, name), g in zip(got, chart.find("g"))) and
           chart.one("title", id="names-title").tag == "title" and
           chart.attrs.get("aria-labelledby") == "names-title names-desc",
           "DOM: the charts' accessible text (title and description)")

    # names as caprobe shows server text to people (U+2028 as \u2028: labfleet.shown)
    want = {k: ([shown_text(n) for n in names], count)
            for k, (names, count) in lists(recs).items()}
    got = {}
    for d in dom.find("details", cls="list"):
        m = re.search(r"advertised by (\d+) target", d.one("summary").text())
        got[d.attrs["id"][2:]] = ([li.text() for li in d.find("li")],
                                  int(m.group(1)) if m else None)
    tap.eq(got, want, "DOM: Lists: every distinct list once, by the list id computed here, "
           "its names sorted (the hostile and malformed ones exactly as text), its targets")
    arts = dom.find("article", cls="t")
    by_label = {a.one("h3").one("span", cls="mono").text(): a for a in arts}
    tap.eq(sorted(by_label), sorted(label(x) for x in recs), "DOM: one article per target")
    bad = []
    for x in recs:
        a = by_label.get(label(x), Node("missing", {}, None))
        ids = sorted({lid for lid in (a.attrs.get("data-l") or "").split() if lid})
        want_ids = sorted({list_id(o["certificate_request"]) for o in x["observations"]
                           if o["outcome"] == "certificate_request"})
        fs = sorted((li.attrs["data-r"], li.attrs["data-s"]) for li in a.find("li")
                    if "data-r" in li.attrs)
        if (a.attrs.get("data-v"), fs, ids) != (verdict(x), sorted(
                (f["rule"], f["severity"]) for f in x["findings"]), want_ids):
            bad.append((label(x), a.attrs.get("data-v"), fs, ids))
    tap.eq(bad, [], "DOM: each target's verdict, findings (rule, severity) and lists")
    texts = [li.text() for li in dom.find("li") if "data-r" in li.attrs]
    tap.ok(all(any(": " + f["message"] in t for t in texts) for x in recs for f in x["findings"]),
           "DOM: each finding's message as text, as in the JSONL")
    ports = {ctx["ports"][5], ctx["lab_ports"]["malformed-names"]}
    hostile = {shown_text(c["dn"]) for x in recs if x["port"] in ports
               for o in x["observations"]
               for c in o.get("certificate_request", {}).get("cas", [])}
    shown = {li.text() for d in dom.find("details", cls="list") for li in d.find("li")}
    tap.ok(len(hostile) == len(HOSTILE_CNS) + 5 and hostile <= shown,
           "DOM: the hostile names of both labs (%d, lab.yaml's malformed-names: ESC, NUL, BEL, "
           "invalid UTF-8, not DER, empty), each as text exactly" % len(hostile),
           sorted(hostile - shown))
    tags = {n.tag for n in dom.walk()}
    handlers = [(n.tag, a) for n in dom.walk() for a in n.attrs if a.startswith("on")]
    tap.ok(tags <= ELEMENTS | {"#document"} and not handlers and len(dom.find("script")) == 1 and
           dom.one("title").text() == "caprobe report: " + b,
           "DOM: no element, handler or title of a name: one script, only the report's elements",
           (tags - ELEMENTS, handlers, dom.one("title").text()))
    form = dom.one("form", id="filter")
    rules = sorted({f["rule"] for x in recs for f in x["findings"]})
    values = [o.attrs.get("value") for o in form.one("select", name="rule").find("option")]
    sevs = [o.text() for o in form.one("select", name="sev").find("option")]
    tap.ok("hidden" not in form.attrs and form.one("input", name="q").tag == "input" and
           values[:1] == [""] and sorted(values[1:]) == rules and sevs[1:] == SEVERITIES and
           form.one("output", id="shown").text() == "%d targets" % len(recs),
           "DOM: the filter (text, rule, severity) shown by its script, which ran under the "
           "policy: its hash is right", form.attrs)


def check_baseline(tap, ctx):
    """--baseline: the changes counted as labfleet counts them; a filter given in the URL."""
    a, b, tmp = ctx["a"], ctx["b"], ctx["tmp"]
    old, recs = load(a), load(b)
    want, items = changes(old, recs)
    out = os.path.join(tmp, "ab.html")
    r = h.run_caprobe(["report", "--format", "html", "--baseline", a, "-o", out, b])
    tap.eq(r.rc, 0, "report --baseline --format html: exit 0", r.describe())
    with open(out, "rb") as f:
        check_file(tap, f.read(), "ab.html")
    ctx["ab_html"] = out
    rule, chg = "root-store-dump", "new"
    dom = Dom(browser.dump_dom(browser.file_url(out, "rule=%s&chg=%s" % (rule, chg)))).root
    check_summary(tap, dom, recs, "DOM, --baseline")
    n = {c: sum(v for (k, _, _), v in want.items() if k == c) for c in ("new", "changed",
                                                                          "resolved")}
    tap.eq(count_table(dom, "count-changes"),
           {"new findings": n["new"], "changed findings": n["changed"],
            "resolved findings": n["resolved"], "targets added": 0, "targets removed": 0},
           "DOM, --baseline: findings new, changed, resolved as computed here from both files")
    rows = {k: [f, t, 0, 0, 0] for k, (f, t) in rule_table(recs).items()}
    for (c, rule_id, sev), v in want.items():
        rows.setdefault((rule_id, sev), [0, 0, 0, 0, 0])[
            2 + ["new", "changed", "resolved"].index(c)] += v
    _, got = table_rows(dom, "rules")
    tap.eq({(x[0], x[1]): tuple(int(v) for v in x[2:]) for x in got},
           {k: tuple(v) for k, v in rows.items()},
           "DOM, --baseline: per rule and severity: findings, targets, new, changed, resolved")
    shown = sorted(x.one("h3").one("span", cls="mono").text() for x in dom.find("article")
                   if "hidden" not in x.attrs)
    expect = sorted(label(x) for x in recs if (chg, x["target"], rule) in items)
    tap.ok(expect and shown == expect and dom.one("output", id="shown").text() ==
           "%d of %d targets shown" % (len(expect), len(recs)),
           "DOM: #rule=%s&chg=%s shows exactly the targets with a new %s (as built, the endpoint "
           "that broke)" % (rule, chg, rule), (shown, expect))
    used = {i for x in dom.find("article") if "hidden" not in x.attrs
            for i in x.attrs.get("data-l", "").split()}
    tap.eq(sorted(d.attrs["id"][2:] for d in dom.find("details", cls="list")
                  if "hidden" not in d.attrs), sorted(used),
           "DOM: the lists shown are those of the targets shown")
    path = os.path.join(ctx["artifacts"], "report-html.png")
    tap.ok(browser.screenshot(browser.file_url(out), path, 1280, 2400),
           "a screenshot of the report with --baseline: %s" % path)
    shutil.copy(out, os.path.join(ctx["artifacts"], "report-html.html"))


# Input-error records (lines of a target list that were no target) of a hostile scan file: markup
# that would run script, leave an attribute or end the table, raw C0 and C1 controls; the second
# names no FILE:LINE, so the report names the scan's own line (the hostile file name).
HOSTILE_INPUT_ERRORS = [
    ("<img src=x onerror=window.caprobePwned=14>\u001b\u0007",
     "list<b>.txt:7: </td></tr></table><script>window.caprobePwned=15</script>\u009b"),
    ("x\" onmouseover=\"window.caprobePwned=16", "no line named ]]></style>")]


def hostile_copy(ctx):
    """The later scan under a hostile file name: the lab fleet's records and lab.yaml's
    malformed-names (so that the hostile names are the ones advertised most often, drawn in the
    names chart too), a finding whose rule id would break out of an attribute, two input-error
    records (HOSTILE_INPUT_ERRORS), then three lines that are no record: raw control bytes, NUL,
    invalid UTF-8 and markup. Returns the path (bytes: the name is not UTF-8) and the number of
    its first bad line."""
    tmp = os.fsencode(ctx["tmp"])
    path = os.path.join(tmp, b"<img src=x onerror=window.caprobePwned=9>\xff.jsonl")
    drop = set(ctx["lab_ports"].values()) - {ctx["lab_ports"]["malformed-names"]}
    lines = [x for x in open(ctx["b"], "rb").read().rstrip(b"\n").split(b"\n")
             if json.loads(x)["port"] not in drop]
    rec = json.loads(lines[0])
    rec["findings"].append({"rule": "\"><img src=x onerror=window.caprobePwned=10>", "severity":
                            "high", "message": "</li><script>window.caprobePwned=11</script>",
                            "observations": [0], "remedy": "x' onfocus='window.caprobePwned=12"})
    lines[0] = json.dumps(rec).encode()
    for target, message in HOSTILE_INPUT_ERRORS:
        lines.append(json.dumps({"schema": "caprobe/1", "target": target, "host": None,
                                 "port": 0, "error": {"kind": "input", "message": message},
                                 "observations": [], "findings": []}).encode())
    first = len(lines) + 1
    lines += [b"\x1b[31m<script>window.caprobePwned=13</script>\x00\x07\xff\xfe",
              b"{\"schema\": \"caprobe/1\", \"target\": \"\xc3(\"", b"]]></style>\xe2\x80\xa8"]
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return path, first


def check_hostile_file(tap, ctx):
    """A report of the hostile copy: written (exit 2 for the bad lines), well-formed, the bad lines
    and the file name shown as text with \\xNN."""
    src, first = hostile_copy(ctx)
    out = os.path.join(ctx["tmp"], "hostile.html")
    r = h.run_caprobe(["report", "--format", "html", "-o", out, os.fsdecode(src)])
    tap.eq(r.rc, 2, "report of a scan with bad lines: exit 2, the report written", r.describe())
    with open(out, "rb") as f:
        dom = check_file(tap, f.read(), "hostile.html").root
    name = hostile_copy_name(ctx)
    bad = [li.text() for li in dom.one("ul", id="bad-input").find("li")]
    tap.ok([x.split(": ")[0] for x in bad] == ["%s:%d" % (name, first + i) for i in range(3)] and
           "near '\\x1b'" in bad[0] and dom.one("title").text() == "caprobe report: " + name,
           "the bad lines and the file name as text, a control byte and invalid UTF-8 as \\xNN",
           (bad, dom.one("title").text()))
    want = bad_target_lines(src, hostile_copy_name(ctx))
    rows = [[td.text() for td in tr.find("td")] for tr in dom.one("table", id="bad-targets")
            .one("tbody").find("tr")]
    tap.ok(len(want) == len(HOSTILE_INPUT_ERRORS) and
           rows == [[shown_text(x) for x in w] for w in want] and
           want[1][0] == "%s:%d" % (name, first - 1),
           "the bad target lines: where (the scan's FILE:LINE when the record names none), the "
           "line and why, each cell's text as the JSONL has it (controls as \\xNN)",
           (rows, want))
    drawn = {t.text() for t in dom.one("svg", id="names-chart").find("text", cls="name")}
    tap.eq(drawn, {shown_text(c["dn"]) for x in load(ctx["b"]) if x["port"] == ctx["ports"][5]
                   for o in x["observations"]
                   for c in o.get("certificate_request", {}).get("cas", [])},
           "the names chart (SVG) draws the ten hostile names, each as text exactly")
    rule = "\"><img src=x onerror=window.caprobePwned=10>"
    tap.ok(any(li.attrs.get("data-r") == rule for li in dom.find("li")) and
           any(o.attrs.get("value") == rule for o in dom.find("option")),
           "a rule id with a quote and markup is an attribute's value, whole")
    ctx["hostile_html"] = out


def check_devtools(tap, ctx):
    """The same reports over the DevTools protocol: requests, violations, the text search,
    JavaScript off, and the policy removed."""
    recs = load(ctx["b"])
    nocsp = os.path.join(ctx["tmp"], "nocsp.html")
    with open(ctx["hostile_html"], "rb") as f:
        data = f.read()
    with open(nocsp, "wb") as f:
        f.write(re.sub(rb'<meta http-equiv="Content-Security-Policy"[^>]*>\n', b"", data, count=1))
    with browser.DevTools() as d:
        url = browser.file_url(ctx["b_html"])
        d.open(url)
        reqs = [e["params"]["request"]["url"] for e in d.events
                if e.get("method") == "Network.requestWillBeSent"]
        logs = [e["params"]["entry"]["text"] for e in d.events
                if e.get("method") == "Log.entryAdded"]
        tap.ok(reqs == [url] and not logs, "DevTools: one request, the file itself; no policy "
               "violation or other message", (reqs, logs))
        q = "nt authority"
        got = d.evaluate("(function(){var f=document.getElementById('filter');"
                         "f.elements.q.value=%s;f.requestSubmit();"
                         "return [Array.prototype.filter.call(document.querySelectorAll("
                         "'article.t'),function(a){return !a.hidden}).map(function(a){"
                         "return a.querySelector('h3 .mono').textContent}),"
                         "document.getElementById('shown').textContent, location.hash]})()"
                         % json.dumps(q))
        want = sorted(label(x) for x in recs if q in json.dumps(
            [c["dn"] for o in x["observations"]
             for c in o.get("certificate_request", {}).get("cas", [])] +
            [f["message"] for f in x["findings"]] + [f.get("remedy") for f in x["findings"]],
            ensure_ascii=False).lower())
        tap.ok(want and sorted(got[0]) == want and got[1] == "%d of %d targets shown"
               % (len(want), len(recs)) and got[2] == "#q=nt+authority",
               "DevTools: the text search '%s' shows the targets whose names, messages or fixes "
               "have it (in any case), counts them, and keeps it in the URL" % q, (got, want))

        # a variant's list link opens its list (a fragment opens no <details> by itself), and
        # so does the same link again once the list was closed (no hashchange then)
        got = d.call("Runtime.evaluate", {"returnByValue": True, "awaitPromise": True,
                                          "expression": FOLLOW_LIST})["result"].get("value")
        tap.ok(got and got["id"].startswith("l-") and got["before"] is False and
               got["after"] is True and got["seen"] and got["again"] is True and
               got["hash"] == "#" + got["id"],
               "DevTools: a variant's list link (ul.g a[href^=\"#l-\"]) opens its list and "
               "scrolls to it; clicked again after the list was closed, it opens it again", got)
        lid = got["id"] if got else "l-0"
        d.open(url + "#" + lid)
        # measured once the page has drawn twice after its load event: the browser's own
        # scroll to the fragment may come after our script's (both must leave it in view)
        got = d.call("Runtime.evaluate", {"returnByValue": True, "awaitPromise": True,
                                          "expression": IN_VIEW % json.dumps(lid)})
        got = got["result"].get("value")
        tap.eq(got and got[:2], [True, True], "DevTools: the report opened with #%s: that list "
               "open and in view" % lid, got)

        d.open(url, scripts=False)
        dom = Dom(d.call("DOM.getOuterHTML", {"nodeId": d.call("DOM.getDocument")["root"]
                                              ["nodeId"]})["outerHTML"]).root
        arts = dom.find("article", cls="t")
        check_summary(tap, dom, recs, "without JavaScript")
        tap.ok(len(arts) == len(recs) and not any("hidden" in a.attrs for a in arts) and
               "hidden" in dom.one("form", id="filter").attrs and not any(
                   "hidden" in x.attrs for x in dom.find("details")),
               "without JavaScript: every target and list shown, the filter hidden")

        d.open(browser.file_url(nocsp))
        state = d.evaluate("JSON.stringify([typeof window.caprobePwned, document.title, "
                           "document.scripts.length, document.querySelectorAll('img, iframe, "
                           "object, embed, [onerror], [onload], [onmouseover], [onfocus]')"
                           ".length, document.getElementById('filter').hidden])")
        tap.eq(json.loads(state), ["undefined", "caprobe report: " + os.fsdecode(
            hostile_copy_name(ctx)), 1, 0, False],
               "without the policy (escaping alone): no script of a name or a scan line ran "
               "(window.caprobePwned undefined, the title ours), no element of theirs; ours ran")


# In the loaded report: the first variant's list link clicked, then (the list closed) again;
# resolves to what the list's details element said before and after, and whether it is in view.
FOLLOW_LIST = """new Promise(function (resolve) {
  var a = document.querySelector('ul.g a[href^="#l-"]');
  var id = a.getAttribute("href").slice(1), l = document.getElementById(id);
  var out = {id: id, before: l.open};
  function inView() {
    var r = l.getBoundingClientRect();
    return r.top > -1 && r.top < window.innerHeight;
  }
  window.addEventListener("hashchange", function () {
    out.after = l.open;
    out.seen = inView();
    out.hash = location.hash;
    l.open = false;
    window.scrollTo(0, 0);
    a.click();
    out.again = l.open;
    resolve(out);
  }, {once: true});
  a.click();
})"""


# The list named by a fragment: [open, in view, its top, the window's height, scrolled], after
# two animation frames. In view: its top within the window, give or take the fraction of a pixel
# that layout leaves after scrolling to it (seen: -0.42).
IN_VIEW = """new Promise(function (resolve) {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    var l = document.getElementById(%s), r = l.getBoundingClientRect();
    resolve([l.open, r.top > -1 && r.top < innerHeight, r.top, innerHeight, scrollY]);
  }); });
})"""


def hostile_copy_name(ctx):
    """The hostile copy's name as the report shows it: \\xff for the byte that is not UTF-8."""
    return os.path.join(ctx["tmp"], "<img src=x onerror=window.caprobePwned=9>\\xff.jsonl")


def check_exchanges(tap, ctx):
    """--client-key's client_cert and --request's response in the variants, in Chromium's DOM:
    each a line of its variant whose text is what the server sent as shown (the hostile status
    line and Server field of labfleet.exchange_scan), no element of it."""
    path = os.path.join(ctx["tmp"], "exchange.jsonl")
    rec, http, cc = exchange_scan(path)
    out = os.path.join(ctx["tmp"], "exchange.html")
    r = h.run_caprobe(["report", "--format", "html", "-o", out, path])
    with open(out, "rb") as f:
        check_file(tap, f.read(), "exchange.html")
    dom = Dom(browser.dump_dom(browser.file_url(out))).root
    art = dom.one("article", cls="t")
    tap.ok(r.rc == 0 and cc is not None and
           shown_text(http) in [d.text() for d in art.find("div", cls="http")] and
           [d.text() for d in art.find("div", cls="cc")] == ["client certificate: " + cc] and
           not art.find("img"),
           "the variants tell the response (its text as shown, no element of it) and the "
           "certificate's answer", ([d.text() for d in art.find("div")], json.dumps(rec)[:2000]))


CHECKS = [check_report, check_baseline, check_hostile_file, check_exchanges, check_devtools]


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if browser.chromium() is None:
        tap.skip("caprobe report --format html in Chromium", "chromium not installed "
                 "(Makefile TEST_PKGS)")
        return tap.finish()
    tap.diag(browser.version())
    artifacts = os.environ.get("CAPROBE_ARTIFACTS") or tempfile.gettempdir()
    ctx = {"tmp": tempfile.mkdtemp(prefix="caprobe-report-html-"), "artifacts": artifacts}
    try:
        with h.LabServer(LAB_YAML) as lab:
            ctx["lab_ports"] = {e["name"]: e["port"] for e in lab.endpoints}
            ok = scans(tap, ctx, extra=lab_yaml_targets(lab), timeout=3)
        if ok:
            h.run_checks(tap, CHECKS, ctx)
    finally:
        shutil.rmtree(ctx["tmp"], ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
