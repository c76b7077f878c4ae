"""The lab fleet of the report tests (test_report.py, test_report_html.py) and what its JSON Lines
say, counted here apart from caprobe: the oracle every number of `caprobe report` is held to.

The lab runs twice on the same fixed ports, its behaviour changed in between: one endpoint loses
its root-store dump (fixed), another gains one (broken), a raw list grows past 32 KiB
(oversized-ca-list medium -> high); a STARTTLS endpoint, an empty list, an endpoint with hostile
names (HOSTILE_CNS: markup, table pipes, a formula, a newline, script that would set a global)
on three ports and a closed port stay as they were. A second lab may run beside it for both
scans (fixtures/lab/lab.yaml: its endpoints keep their ports, so they stay the same too).
"""

import json
import os
import re

import harness as h

SEVERITIES = ["critical", "high", "medium", "low", "info"]
PER_VARIANT = {"expected-ca-missing", "unexpected-ca", "baseline-drift"}
# Names that a report must show as text, ten of them (all among the ten names advertised most
# often): markup for HTML and markdown, markdown's inline syntax and what GitHub makes links and
# notifications of (a mention, issue references, an e-mail address), a spreadsheet formula, a
# newline; payloads that, were they ever parsed as HTML, would run script that sets
# window.caprobePwned and the document's title, after a CDATA, style, title, desc or svg end
# too (caprobe's DN text escapes " + , ; < > with a backslash, RFC 4514: each payload still runs
# with those backslashes); a quote for attributes; U+2028 (which ends a line in JavaScript).
HOSTILE_CNS = ["<script>alert(1)</script>",
               "a|b`c`*d*_e_[f](g)~h~$i$ www.evil.example @octocat #123 GH-45 x@evil.example",
               "=HYPERLINK(\"http://evil.example\")", "line\nbreak", "&amp;&lt;b&gt;",
               "<img src=x onerror=window.caprobePwned=document.title='pwned1'//>",
               "<svg onload=window.caprobePwned=document.title='pwned2'//>",
               "]]></style></title></desc></svg><img src=x onerror=window.caprobePwned=3//>",
               "x' onmouseover='window.caprobePwned=4", "line\u2028separator"]
LAB_YAML = os.path.join(h.fixtures_dir(), "lab", "lab.yaml")


# Characters shown escaped wherever caprobe shows server text to people (tls/wire/escape.h, as
# its documentation lists them, written again here): the bidi controls, the zero-width and
# invisible characters, the line and paragraph separators, the tags.
_HIDDEN = ([(0x061C, 0x061C), (0x00AD, 0x00AD), (0x180E, 0x180E), (0x200B, 0x200F),
            (0x2028, 0x202E), (0x2060, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
            (0xE0000, 0xE007F)])


def shown(text):
    """text as caprobe shows it to people: C0, DEL and C1 controls as \\xNN per UTF-8 byte, the
    hidden characters as \\uXXXX (\\UXXXXXXXX above U+FFFF), the rest as it is."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 or 0x7F <= cp <= 0x9F:
            out.append("".join("\\x%02x" % b for b in ch.encode("utf-8")))
        elif any(lo <= cp <= hi for lo, hi in _HIDDEN):
            out.append("\\u%04x" % cp if cp <= 0xFFFF else "\\U%08x" % cp)
        else:
            out.append(ch)
    return "".join(out)


def der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def cn_name(cn):
    """The DER of the Name CN=cn (UTF8String)."""
    atv = der(0x30, bytes.fromhex("0603550403") + der(0x0c, cn.encode()))
    return der(0x30, der(0x31, atv))


def lab_config(ports, second):
    """The lab of the first scan, or (second) of the second: the same ports."""
    hostile = "".join('      - "%s"\n' % cn_name(cn).hex() for cn in HOSTILE_CNS)
    tls = "    cert: ../pki/server.pem\n    key: ../pki/server.key\n    client_auth: optional\n"
    raw = "    mode: raw\n    raw: flight\n    cert: pki/rsa-server-chain.pem\n"
    dump, right = "    cas: [system]\n", "    cas: [../pki/issuing.pem]\n"
    return ("defaults:\n  timeout_ms: 10000\nendpoints:\n"
            "  - name: fixed\n    port: %d\n%s%s" % (ports[0], tls, right if second else dump) +
            "  - name: broken\n    port: %d\n%s%s" % (ports[1], tls, dump if second else right) +
            "  - name: grows\n    port: %d\n%s    cas: [../pki/%s.pem]\n"
            % (ports[2], raw, "many-40k" if second else "many-20k") +
            "  - name: empty\n    port: %d\n%s    cas: []\n" % (ports[3], tls) +
            "  - name: smtp\n    port: %d\n%s    starttls: smtp\n%s" % (ports[4], tls, dump) +
            "".join("  - name: hostile-%d\n    port: %d\n%s    cas: []\n    names_hex:\n%s"
                    % (i, ports[5 + i], raw, hostile) for i in range(3)))


def lab_yaml_targets(lab):
    """The targets of a running lab of fixtures/lab/lab.yaml, smtp://... for its STARTTLS ones."""
    with open(LAB_YAML, encoding="utf-8") as f:
        text = f.read()
    out = []
    for e in lab.endpoints:
        block = text.split("  - name: %s\n" % e["name"], 1)[1].split("\n  - name: ", 1)[0]
        m = re.search(r"^    starttls: (\w+)", block, re.M)
        out.append("%s127.0.0.1:%d" % (m.group(1) + "://" if m else "", e["port"]))
    return out


def scan(lab_yaml, targets, path, timeout=5):
    with h.LabServer(lab_yaml) as lab:
        del lab
        r = h.run_caprobe(["--format", "jsonl", "--timeout", str(timeout), "--expect-ca",
                           h.pki("issuing.pem"), "-o", path] + targets, timeout=120)
    return r


def scans(tap, ctx, extra=(), timeout=5):
    """The two scans, ctx a.jsonl and b.jsonl, on the same ports (free a moment ago: a port taken
    meanwhile makes the lab fail to start, and the test tries other ports), with the targets
    extra (of a lab that runs through both) after the changing lab's."""
    for attempt in range(3):
        ports = []
        while len(ports) < 8:
            p = h.free_port()
            ports += [p] if p not in ports else []
        closed = h.closed_port()
        targets = ["127.0.0.1:%d" % p for p in ports[:4]] + ["smtp://127.0.0.1:%d" % ports[4]] \
            + ["127.0.0.1:%d" % p for p in ports[5:8]] + ["127.0.0.1:%d" % closed] + list(extra)
        a, b = os.path.join(ctx["tmp"], "a.jsonl"), os.path.join(ctx["tmp"], "b.jsonl")
        try:
            ra = scan(lab_config(ports, False), targets, a, timeout)
            rb = scan(lab_config(ports, True), targets, b, timeout)
        except RuntimeError as e:  # a port was taken: the lab did not start
            tap.diag("attempt %d: %s" % (attempt + 1, e))
            continue
        ctx.update(a=a, b=b, ports=ports)
        return tap.ok(ra.rc in (0, 1) and rb.rc in (0, 1) and len(load(a)) == len(targets) and
                      len(load(b)) == len(targets),
                      "two lab scans of %d targets, the lab changed between them" % len(targets),
                      ra.describe() + rb.describe())
    return tap.ok(False, "two lab scans: the lab did not start")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


def key(rec):
    return (rec["target"], (rec["observations"] or [{}])[0].get("starttls"))


def label(rec):
    """A record's name as the report shows it: TARGET, or TARGET (STARTTLS smtp)."""
    t, starttls = key(rec)
    return t + (" (STARTTLS %s)" % starttls if starttls else "")


def probed(rec):
    return any(o["outcome"] != "error" for o in rec["observations"])


def vkey(o):
    return "%s|%s|%s|%s" % (o["address"] or "", o["sni"] or "", o["tls_max"], o["phase"])


def identities(rec):
    """The findings of a record by identity (docs/output.md#caprobe-diff), computed apart from
    caprobe: rule, and the cited variants' keys for the rules per variant; repeats in order."""
    out, seen = {}, {}
    for f in rec["findings"]:
        scope = ()
        if f["rule"] in PER_VARIANT:
            scope = tuple(sorted({vkey(rec["observations"][i]) for i in f["observations"]}))
        ident = (key(rec), f["rule"], scope)
        n = seen.get(ident, 0)
        seen[ident] = n + 1
        out[ident + (n,)] = f
    return out


def changes(old_recs, new_recs):
    """{(change, rule, severity): count} and the list of (change, target, rule)."""
    old, new = {}, {}
    for r in old_recs:
        old.update(identities(r))
    for r in new_recs:
        new.update(identities(r))
    counts, items = {}, []
    for ident in set(old) | set(new):
        o, n = old.get(ident), new.get(ident)
        if o is None:
            c, f = "new", n
        elif n is None:
            c, f = "resolved", o
        elif (o["severity"], o["message"]) != (n["severity"], n["message"]):
            c, f = "changed", n
        else:
            continue
        k = (c, f["rule"], f["severity"])
        counts[k] = counts.get(k, 0) + 1
        items.append((c, ident[0][0], f["rule"]))
    return counts, items


def rule_table(recs):
    """{(rule, severity): (findings, targets)} of a scan."""
    t = {}
    for r in recs:
        seen = set()
        for f in r["findings"]:
            k = (f["rule"], f["severity"])
            n, m = t.get(k, (0, 0))
            t[k] = (n + 1, m + (k not in seen))
            seen.add(k)
    return t


def size_label(rec):
    """The CA-list size class of a probed record: the names of its largest list."""
    lists = [o["certificate_request"] for o in rec["observations"]
             if o["outcome"] == "certificate_request"]
    big = max((c["ca_count"] for c in lists), default=None)
    return ("no request" if big is None else "0 (empty)" if big == 0 else "1" if big == 1
            else "2-4" if big < 5 else "5-19" if big < 20 else "20-99" if big < 100
            else "100-499" if big < 500 else "500 and more")


def sizes(recs):
    """{size class: probed targets} (size_label), classes without a target left out."""
    out = {}
    for x in recs:
        if probed(x):
            out[size_label(x)] = out.get(size_label(x), 0) + 1
    return out


def list_id(cr):
    """A certificate_request's list id (docs/report.md): FNV-1a 64 over the SHA-256 of its
    distinct names in ascending order, as 16 hex digits."""
    v = 0xcbf29ce484222325
    for d in sorted({bytes.fromhex(c["sha256"]) for c in cr["cas"]}):
        for byte in d:
            v = ((v ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % v


def lists(recs):
    """{list id: (its names' text sorted, a repeated name as often as it came; the targets that
    advertise it)} of the requests."""
    out = {}
    for x in recs:
        for o in x["observations"]:
            if o["outcome"] != "certificate_request":
                continue
            cr = o["certificate_request"]
            entry = out.setdefault(list_id(cr), (sorted(c["dn"] for c in cr["cas"]), set()))
            entry[1].add(key(x))
    return {k: (v[0], len(v[1])) for k, v in out.items()}


def bad_target_lines(path, name=None):
    """The input-error records of a scan file (lines of its target list that were no target), in
    file order, as [(where, text, why)] not escaped, computed apart from caprobe: where is the
    FILE:LINE that starts the record's message ("FILE:LINE: why", the first ":DIGITS: " after a
    name of one character or more), or else the record's own SCAN:LINE (name: the scan's name as
    the report shows it, default path) and why the whole message (docs/report.md)."""
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f.read().split(b"\n"), 1):
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(rec, dict) or (rec.get("error") or {}).get("kind") != "input":
                continue
            m = re.match(r"(.+?:\d+): (.*)\Z", rec["error"]["message"], re.S)
            where, why = m.groups() if m else ("%s:%d" % (name or path, n),
                                               rec["error"]["message"])
            out.append((where, rec["target"], why))
    return out


# What a server sent about a client certificate and a request, hostile: markup that would run
# script, markdown's syntax and what GitHub links, U+2028 (exchange_scan puts them in).
HOSTILE_STATUS = "HTTP/1.1 403 " + HOSTILE_CNS[1]
HOSTILE_SERVER = HOSTILE_CNS[5] + "\u2028"


def exchange_scan(path):
    """A scan with --client-cert/--client-key and --request of fixtures/lab/lab.yaml's
    renegotiate-after-request (no request in the handshake, a renegotiation after GET /secure
    that refuses the certificate of another CA with unknown_ca, 403 over TLS 1.3), written to
    path, its TLS 1.3 response then given HOSTILE_STATUS and HOSTILE_SERVER as a server could
    send them. Returns (record, what the report should say of the TLS 1.3 response, of the
    renegotiation's certificate), not escaped."""
    with h.LabServer(LAB_YAML) as lab:
        port = lab.port("renegotiate-after-request")
        r = h.run_caprobe(["--format", "jsonl", "--timeout", "8",
                           "--client-cert", h.pki("clients/other-ca.pem"), "--client-key",
                           h.pki("clients/other-ca.key"), "--request", "/secure",
                           "127.0.0.1:%d" % port])
    rec = json.loads(r.stdout)
    for o in rec["observations"]:
        if o["tls_max"] == "1.3" and "http" in o:
            o["http"]["status_line"], o["http"]["server"] = HOSTILE_STATUS, HOSTILE_SERVER
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    reneg = [o for o in rec["observations"] if o["phase"] == "renegotiation"]
    cc = reneg[0].get("client_cert", {}) if reneg else {}
    said = "presented, refused with alert %s" % cc.get("alert") if cc.get("result") == "alert" \
        else None
    return rec, "GET /secure: %s (Server: %s)" % (HOSTILE_STATUS, HOSTILE_SERVER), said
