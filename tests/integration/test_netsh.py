#!/usr/bin/env python3
"""caprobe netsh FILE and --netsh FILE (issue 16, point 2).

- caprobe netsh on the fixtures of fixtures/netsh (written from Microsoft's documented format of
  `netsh http show sslcert`: Server 2012 and 2022 bindings, SNI and IP, CCS, with and without a
  Ctl Store Name, CRLF and LF, UTF-8 with and without its mark, UTF-16LE with its mark): every
  binding, field and extended property of the JSON Lines is what this file's own reader of the
  fixture finds (Python's codecs and a regular expression, not caprobe's parser); the flags are
  what this file's reading of the rules (docs/netsh.md) predicts; each record fits
  docs/caprobe-netsh-1.schema.json; the exit statuses are the documented ones.
- Hostile files (fixtures/netsh/hostile, and thousands of bindings made here) are refused with
  FILE:LINE, the line this file computes, or shown with their text escaped.
- --netsh during a scan of the lab's root-dump endpoint: the netsh remedy names the binding the
  variant reached (exact address before wildcard, hostnameport with SNI) with the binding's hash,
  appid and store from a file written here, the served certificate's SHA-1 taken from
  `openssl x509 -fingerprint -sha1` of the lab's certificate. Emits TAP."""

import codecs
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NETSH = os.path.join(h.fixtures_dir(), "netsh")
SCHEMA = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "caprobe-netsh-1.schema.json"))
IIS = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"

# ---------------------------------------------------------------- an independent reader


def decode(data):
    """The text of a saved netsh output, by its byte-order mark (Python's codecs)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le")
    return data.decode("utf-8")


FIELD = re.compile(r"^\s*(.*?)\s+:\s?(.*?)\s*$")
FIRST = {"ip:port": "ipport", "hostname:port": "hostnameport",
         "central certificate store": "ccs"}


def read_netsh(path):
    """[{kind, endpoint, line, fields: {label: value}, ext: [{label: value}]}] of a file."""
    out, cur = [], None
    for no, line in enumerate(decode(open(path, "rb").read()).split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip() == "Extended Properties:":
            cur["ext"].append({})
            continue
        m = FIELD.match(line)
        if not m:
            continue
        label, value = m.group(1), m.group(2)
        if label.lower() in FIRST:
            cur = {"kind": FIRST[label.lower()], "endpoint": value, "line": no, "fields": {},
                   "ext": []}
            out.append(cur)
        elif cur is not None:
            (cur["ext"][-1] if cur["ext"] else cur["fields"]).setdefault(label, value)
    return out


def none_if_null(v):
    return None if v in (None, "", "(null)", "Not Set") else v


def predicted_flags(bindings):
    """{(binding index, check, related key)} as docs/netsh.md words the checks: a
    sni-ip-mismatch flag per binding to fix, citing the first binding (in file order) it differs
    from in its list settings, else the first it differs from."""
    key = lambda b: "%s=%s" % (b["kind"], b["endpoint"])
    store = lambda b: none_if_null(b["fields"].get("Ctl Store Name"))
    neg = lambda b: b["fields"].get("Negotiate Client Certificate")
    cert = lambda b: none_if_null(b["fields"].get("Certificate Hash"))
    port = lambda b: b["endpoint"].rsplit(":", 1)[-1]
    want, pairs = set(), {}
    for i, b in enumerate(bindings):
        if neg(b) == "Enabled" and store(b) is None:
            want.add((i, "ctl-store-missing", None))
        if b["kind"] != "hostnameport":
            continue
        for k, p in enumerate(bindings):
            if p["kind"] != "ipport" or port(p) != port(b):
                continue
            if (store(b), neg(b), cert(b)) == (store(p), neg(p), cert(p)):
                continue
            fix, ref = (k, i) if store(p) is None and store(b) is not None else (i, k)
            lists = (store(b), neg(b)) != (store(p), neg(p))
            pairs.setdefault(fix, []).append((not lists, ref))
    for fix, refs in pairs.items():
        want.add((fix, "sni-ip-mismatch", key(bindings[min(refs)[1]])))
    return want


def run_netsh(*args):
    return h.run_caprobe(["netsh"] + list(args))


def records(run):
    return [json.loads(l) for l in run.stdout.splitlines() if l.strip()]


# docs/output.md, caprobe netsh: "Keys appear in this order"
KEY_ORDER = ["schema", "file", "line", "binding", "kind", "endpoint", "host", "port",
             "certificate_hash", "application_id", "certificate_store_name", "ctl_identifier",
             "ctl_store_name", "negotiate_client_certificate", "fields", "extended_properties",
             "change", "previous", "findings"]


def schema_errors(recs):
    try:
        import jsonschema
    except ImportError as e:
        return ["jsonschema: %s" % e]
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    v = jsonschema.Draft202012Validator(schema)
    errs = ["record %d: %s" % (i, e.message) for i, r in enumerate(recs) for e in v.iter_errors(r)]
    return errs + ["record %d: keys %s not in the documented order" % (i, list(r))
                   for i, r in enumerate(recs)
                   if list(r) != [k for k in KEY_ORDER if k in r]]


# ---------------------------------------------------------------- caprobe netsh


def check_fixtures(tap, tmp):
    import jsonschema
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        tap.ok(True, "docs/caprobe-netsh-1.schema.json is a valid JSON Schema")
    except jsonschema.SchemaError as e:
        tap.ok(False, "docs/caprobe-netsh-1.schema.json is a valid JSON Schema", str(e))
    for name in ["server2022.txt", "server2022-utf16.txt", "renewal-before.txt",
                 "renewal-after.txt"]:
        path = os.path.join(NETSH, name)
        want = read_netsh(path)
        r = run_netsh("--format", "jsonl", path)
        recs = records(r)
        flags = predicted_flags(want)
        tap.eq(r.rc, 1 if flags else 0, "%s: exit status %d" % (name, 1 if flags else 0),
               r.describe())
        tap.ok(recs and schema_errors(recs) == [], "%s: every record fits the schema" % name,
               schema_errors(recs))
        tap.eq(len(recs), len(want), "%s: one record per binding (%d)" % (name, len(want)))
        got_view = [{"kind": x["kind"], "endpoint": x["endpoint"], "line": x["line"],
                     "fields": x["fields"], "ext": x["extended_properties"]} for x in recs]
        tap.eq(got_view, want, "%s: bindings, lines, fields and extended properties as the "
               "file holds them" % name)
        ok = bool(recs) and all(x["binding"] == "%s=%s" % (x["kind"], x["endpoint"]) and
                 x["certificate_hash"] == none_if_null(w["fields"].get("Certificate Hash")) and
                 x["application_id"] == none_if_null(w["fields"].get("Application ID")) and
                 x["ctl_store_name"] == none_if_null(w["fields"].get("Ctl Store Name")) and
                 x["negotiate_client_certificate"] ==
                 {"Enabled": True, "Disabled": False}.get(w["fields"].get(
                     "Negotiate Client Certificate")) and
                 x["port"] == int(x["endpoint"].rsplit(":", 1)[-1]) and x["file"] == path
                 for x, w in zip(recs, want))
        tap.ok(ok, "%s: the top-level values agree with the fields" % name, recs[:1])
        got = {(i, f["check"], f["related"]) for i, x in enumerate(recs) for f in x["findings"]}
        tap.eq(got, flags, "%s: the flags predicted from the file" % name)
        for i, x in enumerate(recs):
            for f in x["findings"]:
                if "remedy" not in f:
                    continue
                w = want[i]["fields"]
                line = f["remedy"]
                # the fix keeps the binding's negotiation, or takes the SNI/IP partner's
                ref = w
                if f["check"] == "sni-ip-mismatch":
                    ref = next(b["fields"] for b in want
                               if "%s=%s" % (b["kind"], b["endpoint"]) == f["related"])
                tap.ok(line.startswith("netsh http update sslcert %s certhash=%s appid=%s "
                                       "certstorename=%s" % (x["binding"],
                                                            w["Certificate Hash"],
                                                            w["Application ID"],
                                                            w["Certificate Store Name"])) and
                       "sslctlstorename=ClientAuthIssuer" in line and
                       ("clientcertnegotiation=enable" in line) ==
                       (ref["Negotiate Client Certificate"] == "Enabled"),
                       "%s: %s %s: the fix is the binding's own line" % (name, x["binding"],
                                                                          f["check"]), line)
    # the UTF-16 file is the UTF-8 one, as Windows PowerShell's '>' saves it
    a = records(run_netsh("--format", "jsonl", os.path.join(NETSH, "server2022.txt")))
    b = records(run_netsh("--format", "jsonl", os.path.join(NETSH, "server2022-utf16.txt")))
    for x in a + b:
        x.pop("file")
    tap.ok(a and b == a, "server2022-utf16.txt reads as server2022.txt", (a[:1], b[:1]))
    # the summary line names the encoding, and says "with a byte-order mark" when the file's
    # first bytes are one (FF FE), for UTF-16 as for UTF-8
    with open(os.path.join(NETSH, "server2022-utf16.txt"), "rb") as f:
        data = f.read()
    bare = os.path.join(tmp, "utf16-no-bom.txt")
    with open(bare, "wb") as f:
        f.write(data[2:])
    for path, enc in ((os.path.join(NETSH, "server2022-utf16.txt"),
                       "UTF-16LE with a byte-order mark" if data[:2] == b"\xff\xfe" else "?"),
                      (bare, "UTF-16LE")):
        r = run_netsh(path)
        tap.ok(r.rc == 1 and "(%s): 6 bindings (3 ipport, 2 hostnameport, 1 ccs): 3 flags: "
               "2 high, 1 low" % enc in r.stdout.splitlines()[0],
               "text: the summary line says %s" % enc, r.describe())


def check_previous(tap, tmp):
    before = os.path.join(NETSH, "renewal-before.txt")
    after = os.path.join(NETSH, "renewal-after.txt")
    old, new = read_netsh(before), read_netsh(after)
    r = run_netsh("--format", "jsonl", "--previous", before, after)
    recs = records(r)
    tap.ok(recs and schema_errors(recs) == [], "--previous: every record fits the schema",
           schema_errors(recs))
    okey = {"%s=%s" % (b["kind"], b["endpoint"].lower()): b for b in old}
    for x, w in zip(recs, new):
        o = okey.get("%s=%s" % (w["kind"], w["endpoint"].lower()))
        change = "added" if o is None else (
            "same" if o["fields"]["Certificate Hash"] == w["fields"]["Certificate Hash"]
            else "changed")
        tap.eq(x["change"], change, "--previous: %s %s" % (x["binding"], change))
        if o is None:
            continue
        tap.eq(x["previous"]["line"], o["line"], "--previous: %s: its line in OLD" % x["binding"])
        ch = [f for f in x["findings"] if f["check"] == "certhash-changed"]
        lost = none_if_null(o["fields"]["Ctl Store Name"]) and \
            not none_if_null(w["fields"]["Ctl Store Name"])
        tap.ok(len(ch) == (change == "changed") and
               all(f["severity"] == ("high" if lost else "medium") and
                   ("remedy" in f) == bool(lost) for f in ch),
               "--previous: %s: certhash-changed, %s" % (x["binding"],
                                                         "high: the Ctl Store Name was lost"
                                                         if lost else "medium"), ch)
    gone = [x for x in recs if x.get("change") == "removed"]
    keys = {"%s=%s" % (b["kind"], b["endpoint"].lower()) for b in new}
    want_gone = [b for b in old if "%s=%s" % (b["kind"], b["endpoint"].lower()) not in keys]
    tap.eq([(x["binding"], x["line"], x["file"]) for x in gone],
           [("%s=%s" % (b["kind"], b["endpoint"]), b["line"], before) for b in want_gone],
           "--previous: the bindings only in OLD, as removed records of OLD")
    r = run_netsh("--previous", before, after)
    tap.ok(r.rc == 1 and "2 with another certificate hash, 0 the same, 1 new, 1 gone" in r.stdout
           and "the renewal lost it" in r.stdout, "--previous: text", r.describe())
    # the same file twice: nothing changed
    r = run_netsh("--format", "jsonl", "--previous", before, before)
    recs = records(r)
    tap.ok(len(recs) == len(old) and all(x["change"] == "same" for x in recs),
           "--previous: a file against itself", r.describe())


def check_status(tap, tmp):
    clean = os.path.join(tmp, "clean.txt")
    with open(clean, "w", encoding="ascii", newline="\r\n") as f:
        f.write("\nSSL Certificate bindings:\n-------------------------\n\n"
                "    IP:port                      : 0.0.0.0:443\n"
                "    Certificate Hash             : 286e7f384d6870afd41a2f645e858814434eb3c3\n"
                "    Application ID               : %s\n"
                "    Ctl Store Name               : ClientAuthIssuer\n"
                "    Negotiate Client Certificate : Enabled\n\n" % IIS)
    r = run_netsh(clean)
    tap.ok(r.rc == 0 and "nothing flagged" in r.stdout, "nothing flagged: exit 0", r.describe())
    # an empty value and a field the file lacks are told apart from netsh's own (null)
    bare = os.path.join(tmp, "bare.txt")
    with open(bare, "w") as f:
        f.write("IP:port : 0.0.0.0:443\nCtl Store Name :\nNegotiate Client Certificate : Enabled\n")
    r = run_netsh(bare)
    tap.ok(r.rc == 1 and "Certificate Hash (not shown), " in r.stdout and
           "  Ctl Store Name (empty), Negotiate Client Certificate Enabled\n" in r.stdout and
           "and Ctl Store Name is (empty): " in r.stdout and "(null)" not in r.stdout,
           "an empty Ctl Store Name shows as (empty), a missing hash as (not shown)", r.describe())
    p = subprocess.run([h.caprobe_path(), "netsh", "--format", "jsonl", "-"],
                       input=open(clean, "rb").read(), capture_output=True)
    tap.ok(p.returncode == 0 and json.loads(p.stdout)["file"] == "<stdin>",
           "'-' reads standard input", p.stderr)
    for args, says in [([], "expected one file, got 0"),
                       ([clean, clean], "expected one file, got 2"),
                       (["--format", "csv", clean], "--format: expected text or jsonl, got 'csv'"),
                       (["--bogus", clean], "unknown option '--bogus'"),
                       (["--previous"], "--previous needs a value"),
                       (["--previous", "-", "-"], "cannot both be standard input")]:
        r = run_netsh(*args)
        tap.ok(r.rc == 2 and says in r.stderr and "Try 'caprobe netsh --help'" in r.stderr
               and r.stdout == "", "usage error %r: exit 2" % (args,), r.describe())
    r = run_netsh("--help")
    tap.ok(r.rc == 0 and r.stdout.startswith("Usage: caprobe netsh FILE"), "--help", r.describe())
    # its pointers to the documentation as caprobe --help gives them: docs/NAME.md, each a file
    docs = re.findall(r"docs/([\w.-]+\.md)", r.stdout)
    tap.ok(sorted(set(docs)) == ["netsh.md", "output.md"] and
           "caprobe's documentation" not in r.stdout and
           all(os.path.isfile(os.path.join(h.fixtures_dir(), "..", "docs", d)) for d in docs),
           "--help: docs/output.md and docs/netsh.md, named as caprobe --help names its documents",
           r.stdout)
    r = run_netsh(os.path.join(tmp, "missing.txt"))
    tap.ok(r.rc == 2 and "missing.txt: No such file" in r.stderr, "an unreadable file: exit 2",
           r.describe())
    r = run_netsh("--previous", os.path.join(NETSH, "hostile", "nul.txt"), clean)
    tap.ok(r.rc == 2 and re.search(r"--previous \S+nul.txt:6: a NUL byte", r.stderr),
           "a bad --previous file: exit 2, named", r.describe())
    # the reader goes away: quiet, 141
    many = os.path.join(tmp, "many.txt")
    with open(many, "w") as f:
        for i in range(3000):
            f.write("Hostname:port : h%d.example:443\nCtl Store Name : (null)\n\n" % i)
    p = subprocess.Popen([h.caprobe_path(), "netsh", many], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    tap.ok(p.wait() == 141 and err == b"", "the reader went away: 141, quiet", err)


def line_of(data, pred):
    """The 1-based line of the decoded text of data whose text pred accepts."""
    for no, line in enumerate(decode(data).split("\n"), 1):
        if pred(line):
            return no
    return None


def check_hostile(tap, tmp):
    d = os.path.join(NETSH, "hostile")

    def raw(n):
        return open(os.path.join(d, n), "rb").read()

    def nul_line():
        return raw("nul.txt")[:raw("nul.txt").index(b"\0")].count(b"\n") + 1

    def surrogate_line():
        t = raw("lone-surrogate.txt")[2:]
        i = next(k for k in range(0, len(t), 2) if 0xd800 <= (t[k] | t[k + 1] << 8) <= 0xdbff)
        return t[:i].decode("utf-16-le").count("\n") + 1

    cases = [
        ("german.txt", line_of(raw("german.txt"), lambda s: "Zertifikat" in s),
         "not a line of the English output"),
        ("nul.txt", nul_line(), "a NUL byte"),
        ("lone-surrogate.txt", surrogate_line(), "high surrogate U+D800 without a low one"),
        ("odd-bom.txt", 1, "byte 0xff is not UTF-8"),
        ("odd-length.txt", None, "UTF-16 text of an odd number of bytes"),
        ("utf32.txt", None, "UTF-32 text"),
        ("long-line.txt", line_of(raw("long-line.txt"), lambda s: len(s) > 4096),
         "more than 4096"),
        ("bad-hash.txt", line_of(raw("bad-hash.txt"), lambda s: "Certificate Hash" in s),
         "Certificate Hash: expected 40 hex digits or (null)"),
        ("duplicate.txt", [i for i, s in enumerate(decode(raw("duplicate.txt")).split("\n"), 1)
                           if "Hostname:port" in s][1], "appears twice (first on line 5)"),
        ("outside.txt", line_of(raw("outside.txt"), lambda s: "Certificate Hash" in s),
         "outside a binding"),
    ]
    for name, line, says in cases:
        path = os.path.join(d, name)
        r = run_netsh(path)
        where = "%s:%d: " % (path, line) if line else "%s: " % path
        tap.ok(r.rc == 2 and r.stdout == "" and r.stderr.startswith("caprobe netsh: " + where)
               and says in r.stderr, "hostile %s: exit 2, %s%s" % (name, where, says),
               r.describe())
    # accepted, its text escaped: nothing a terminal would act on reaches it
    path = os.path.join(d, "escape.txt")
    r = subprocess.run([h.caprobe_path(), "netsh", path], capture_output=True)
    out = r.stdout.decode("utf-8")
    tap.ok(r.returncode == 1 and "\x1b" not in out and "\x07" not in out and
           "\u202e" not in out and "\u200b" not in out and
           "\\x1b]0;owned\\x07\\x1b[2J" in out and "My\\u202e" in out,
           "escape.txt: the text report escapes the file's controls", out)
    recs = records(run_netsh("--format", "jsonl", path))
    want = read_netsh(path)
    tap.ok(recs and recs[0]["ctl_store_name"] == want[0]["fields"]["Ctl Store Name"] and
           "\x1b" in recs[0]["ctl_store_name"] and
           any("\x1b[31m" in k for k in recs[0]["fields"]),
           "escape.txt: JSON Lines keeps the data (as JSON escapes)", recs[:1])
    tap.ok(recs and all(("remedy" not in f) for x in recs for f in x["findings"]),
           "escape.txt: no netsh line carries a store name no command line could")
    # thousands of bindings: each one, in bounded time and memory
    n = 6000
    path = os.path.join(tmp, "thousands.txt")
    with open(path, "wb") as f:
        f.write(codecs.BOM_UTF16_LE)
        text = "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"
        text += "    IP:port                      : 0.0.0.0:443\r\n" \
                "    Ctl Store Name               : ClientAuthIssuer\r\n\r\n"
        for i in range(n):
            text += ("    Hostname:port                : site%d.example.com:443\r\n"
                     "    Certificate Hash             : %040x\r\n"
                     "    Ctl Store Name               : (null)\r\n"
                     "    Negotiate Client Certificate : Enabled\r\n\r\n" % (i, i))
        f.write(text.encode("utf-16-le"))
    size = os.path.getsize(path)
    # 20,000 SNI and 2,000 IP bindings of one port: 40 million pairs, half of them compared
    pairs = os.path.join(tmp, "pairs.txt")
    with open(pairs, "w") as f:
        for i in range(20000):
            f.write("Hostname:port : h%d.example:443\nCtl Store Name : S%d\n\n" % (i, i))
        for i in range(2000):
            f.write("IP:port : 10.0.%d.%d:443\nCtl Store Name : T%d\n\n" % (i // 256, i % 256, i))
    r = run_netsh("--format", "jsonl", pairs)
    recs = records(r)
    tap.ok(r.rc == 1 and len(recs) == 22000 and
           "pairs.txt: 20000000 pairs of hostnameport and ipport bindings of one port not "
           "compared (more than 20000000): sni-ip-mismatch is incomplete" in r.stderr and
           [len(x["findings"]) for x in recs] == [1] * 10000 + [0] * 12000,
           "40 million SNI/IP pairs: the first 20 million compared (the first 10,000 "
           "hostnameports, one flag each), the rest told",
           (r.rc, len(recs), r.stderr))
    r = run_netsh("--format", "jsonl", path)
    recs = records(r)
    flagged = sum(len(x["findings"]) for x in recs)
    tap.ok(r.rc == 1 and len(recs) == n + 1 and flagged == 2 * n,
           "%d bindings (%d KiB of UTF-16): each read, 2 flags each (no store; SNI vs IP)"
           % (n + 1, size // 1024), (r.rc, len(recs), flagged))
    # the peak memory of caprobe alone: GNU time's ru_maxrss (a process Python spawns would
    # start from Python's own high-water RSS); a sanitizer build's shadow memory is no figure
    with open(h.caprobe_path(), "rb") as f:
        sanitized = b"__asan_init" in f.read()  # libasan is linked dynamically: its hook
    if sanitized or not os.path.exists("/usr/bin/time"):
        tap.skip("%d bindings: peak memory" % (n + 1),
                 "a sanitizer build" if sanitized else "no /usr/bin/time (Debian: time)")
        return
    p = subprocess.run(["/usr/bin/time", "-f", "%M", h.caprobe_path(), "netsh", "--format",
                        "jsonl", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kib = int(p.stderr.decode().strip().splitlines()[-1])
    # docs/limits.md: the decoded text (1.5 times the file at most) and about 300 bytes a
    # binding, on top of the process itself
    tap.ok(p.returncode == 1 and peak_kib < 16 * 1024 + (3 * size // 2 + 1024 * (n + 1)) // 1024,
           "%d bindings: peak %d KiB, within the documented bound" % (n + 1, peak_kib))


# ---------------------------------------------------------------- --netsh during a scan


def sha1_of(pem):
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def write_netsh(path, bindings, utf16=False):
    text = "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"
    for first, ep, fields in bindings:
        text += "    %-29s: %s\r\n" % (first, ep)
        for k, v in fields:
            text += "    %-29s: %s\r\n" % (k, v)
        text += "\r\n"
    with open(path, "wb") as f:
        f.write(codecs.BOM_UTF16_LE + text.encode("utf-16-le") if utf16 else text.encode())


def binding(first, ep, cert, appid, store="My", ctl="(null)", neg="Enabled", extra=()):
    return (first, ep, [("Certificate Hash", cert), ("Application ID", appid),
                        ("Certificate Store Name", store), ("Ctl Store Name", ctl),
                        ("Negotiate Client Certificate", neg)] + list(extra))


def dump_remedy(run):
    for rec in run.records:
        for f in rec["findings"]:
            if f["rule"] == "root-store-dump":
                return f.get("remedy", "")
    return None


def check_scan(tap, lab, tmp):
    port = lab.port("root-dump")
    thumb = sha1_of(os.path.join(h.fixtures_dir(), "pki", "server.pem"))
    appid = "{0e3f4a5b-1c2d-4e6f-8a9b-0c1d2e3f4a5b}"
    f = os.path.join(tmp, "root-dump.txt")
    # the wildcard only: the no-SNI variant reaches it; its hash is the served certificate
    write_netsh(f, [binding("IP:port", "0.0.0.0:%d" % port, thumb, appid,
                            extra=[("DS Mapper Usage", "Enabled")])], utf16=True)
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl",
                       "127.0.0.1:%d" % port])
    rem = dump_remedy(r)
    want = ("netsh http update sslcert ipport=0.0.0.0:%d certhash=%s appid=%s certstorename=My "
            "sslctlstorename=ClientAuthIssuer dsmapperusage=enable clientcertnegotiation=enable "
            "(the binding of %s line 5: Ctl Store Name (null), Negotiate Client Certificate "
            "Enabled)" % (port, thumb, appid, f))
    tap.ok(r.rc == 1 and rem is not None and want in rem and "{APP-GUID}" not in rem and
           "not the SHA-1" not in rem,
           "--netsh: root-store-dump's fix is the wildcard binding's own line (hash from openssl)",
           "want: %s\n%s" % (want, r.describe()))
    # an exact address binding is taken before the wildcard; its hash is not the certificate
    stale = "0" * 40
    write_netsh(f, [binding("IP:port", "0.0.0.0:%d" % port, thumb, appid),
                    binding("IP:port", "127.0.0.1:%d" % port, stale, IIS, store="WebHosting")])
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl",
                       "127.0.0.1:%d" % port])
    rem = dump_remedy(r) or ""
    tap.ok("netsh http update sslcert ipport=127.0.0.1:%d certhash=%s appid=%s "
           "certstorename=WebHosting sslctlstorename=ClientAuthIssuer" % (port, stale, IIS) in rem
           and "ipport=0.0.0.0" not in rem and "(the binding of %s line 12:" % f in rem and
           "its Certificate Hash is not the SHA-1 of the certificate served, %s" % thumb in rem,
           "--netsh: the exact ipport binding before the wildcard; a stale hash is told", rem)
    # with SNI: the hostnameport binding of the name, and the wildcard for the no-SNI variant
    write_netsh(f, [binding("Hostname:port", "App.Lab.Test:%d" % port, thumb, appid, ctl="", neg="Enabled"),
                    binding("IP:port", "0.0.0.0:%d" % port, thumb, IIS)])
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl", "--resolve",
                       "app.lab.test:%d:127.0.0.1" % port, "app.lab.test:%d" % port])
    rem = dump_remedy(r) or ""
    tap.ok("netsh http update sslcert hostnameport=App.Lab.Test:%d certhash=%s appid=%s "
           % (port, thumb, appid) in rem and
           "netsh http update sslcert ipport=0.0.0.0:%d certhash=%s appid=%s " % (port, thumb, IIS)
           in rem and "(the binding of %s line 5: Ctl Store Name (empty), " % f in rem,
           "--netsh: SNI reaches hostnameport=NAME:PORT (any case), no SNI the wildcard", rem)
    # the name has no binding of its own: http.sys falls back to the address's
    write_netsh(f, [binding("IP:port", "0.0.0.0:%d" % port, thumb, appid)])
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl", "--resolve",
                       "app.lab.test:%d:127.0.0.1" % port, "app.lab.test:%d" % port])
    rem = dump_remedy(r) or ""
    tap.ok(rem.count("netsh http update sslcert ipport=0.0.0.0:%d" % port) == 1 and
           "hostnameport" not in rem.split(" (the binding")[0] and
           "as no hostnameport binding has the name" in rem,
           "--netsh: an SNI name without a binding reaches the ipport one (once in the fix)", rem)
    # a file without a binding for the port: the placeholders, and why
    write_netsh(f, [binding("IP:port", "0.0.0.0:%d" % (port % 65000 + 1), thumb, appid)])
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl",
                       "127.0.0.1:%d" % port])
    rem = dump_remedy(r) or ""
    tap.ok("ipport=0.0.0.0:%d certhash=%s appid={APP-GUID}" % (port, thumb) in rem and
           "%s has no binding this variant reaches" % f in rem,
           "--netsh: no binding reached: placeholders, and the file says so", rem)
    # the longest line a binding makes (names of 128 bytes, every switch off its default): the
    # fix holds the whole netsh line and the rest of the fix after it, as a remedy without
    # --netsh ends (a fix of 2 KiB was cut inside its line); a line is never shown in part
    ident, store = "I" * 128, "S" * 128
    switches = ["Reject Connections", "Disable HTTP2", "Disable QUIC", "Disable TLS1.2",
                "Disable TLS1.3", "Disable OCSP Stapling", "Enable Token Binding",
                "Log Extended Events", "Disable Legacy TLS Versions", "Enable Session Ticket",
                "Disable Session ID", "DS Mapper Usage",
                "Verify Revocation Using Cached Client Certificate Only"]
    full = [("Ctl Identifier", ident), ("Usage Check", "Disabled"),
            ("Verify Client Certificate Revocation", "Disabled"),
            ("Revocation Freshness Time", "4294967295"),
            ("URL Retrieval Timeout", "4294967295")] + [(k, "Enabled") for k in switches]
    write_netsh(f, [binding("Hostname:port", "app.lab.test:%d" % port, thumb, appid,
                            store=store, extra=full),
                    binding("IP:port", "0.0.0.0:%d" % port, thumb, appid, store=store,
                            extra=full)])
    sni = ["--resolve", "app.lab.test:%d:127.0.0.1" % port, "app.lab.test:%d" % port]
    r = h.run_caprobe(["--tls", "1.2", "--netsh", f, "--format", "jsonl"] + sni)
    rem = dump_remedy(r) or ""
    plain = dump_remedy(h.run_caprobe(["--tls", "1.2", "--format", "jsonl"] + sni)) or ""
    tail = plain[plain.rindex(". ") if ". " in plain else 0:]
    tap.ok(all(("netsh http update sslcert %s certhash=%s appid=%s certstorename=%s "
                "sslctlstorename=ClientAuthIssuer " % (key, thumb, appid, store)) in rem
               for key in ("hostnameport=app.lab.test:%d" % port, "ipport=0.0.0.0:%d" % port)) and
           rem.count(" sslctlidentifier=%s " % ident) == 2 and
           " disablesessionid=enable (the binding of %s line 5:" % f in rem and
           " disablesessionid=enable (the binding of %s line 30:" % f in rem and
           len(tail) > 20 and rem.endswith(tail) and "[cut here" not in rem,
           "--netsh: the longest netsh line is in the fix whole, and the fix ends "
           "as without --netsh (%d bytes)" % len(rem), (len(rem), rem[-300:], tail))
    # a bad file stops the scan before it starts
    r = h.run_caprobe(["--netsh", os.path.join(NETSH, "hostile", "bad-hash.txt"),
                       "127.0.0.1:%d" % port])
    tap.ok(r.rc == 2 and r.stdout == "" and
           re.search(r"caprobe: --netsh \S+bad-hash.txt:6: Certificate Hash", r.stderr),
           "--netsh: a bad file is a usage error naming FILE:LINE, nothing scanned", r.describe())


def check_typos(tap, tmp):
    """A field name one typo away from a known one (Ctl Store Nmae) is kept, as netsh's fields
    vary by Windows version, and told: FILE:LINE, the name, the known one it is close to; the
    binding is then flagged as the file says (no Ctl Store Name). --netsh tells the same."""
    with open(os.path.join(NETSH, "server2022.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    at = next(i for i, x in enumerate(lines) if x.strip().startswith("Ctl Store Name"))
    lines[at] = lines[at].replace("Ctl Store Name", "Ctl Store Nmae", 1)
    path = os.path.join(tmp, "typo.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    warn = ("warning: %s:%d: unknown field 'Ctl Store Nmae': did you mean 'Ctl Store Name'? "
            % (path, at + 1))
    r = run_netsh(path)
    told = [x for x in r.stderr.splitlines() if "warning" in x]
    tap.ok(r.rc in (0, 1) and r.stdout and len(told) == 1 and
           told[0].startswith("caprobe netsh: " + warn),
           "a misspelled field: one warning with FILE:LINE, the name and the known one; the file "
           "read", r.describe())
    recs = records(run_netsh("--format", "jsonl", path))
    rec = [x for x in recs if x["line"] <= at + 1]
    tap.ok(rec and rec[-1].get("ctl_store_name") is None and
           any(f["check"] == "ctl-store-missing" for f in rec[-1]["findings"]),
           "... and the binding read as the file says: no Ctl Store Name", rec[-1:])
    r = run_netsh(os.path.join(NETSH, "server2022.txt"))
    tap.ok(r.rc in (0, 1) and "warning" not in r.stderr, "the file as netsh wrote it: no warning",
           r.stderr)
    r = h.run_caprobe(["--timeout", "2", "--netsh", path, "127.0.0.1:%d" % h.closed_port()])
    tap.ok(("caprobe: " + warn.replace("warning: ", "warning: --netsh ", 1)) in r.stderr,
           "--netsh tells the same", r.describe())


def check_cut(tap, tmp):
    """A file cut short in a line (a copy that stopped, a size limit of a paste) is refused with
    its last line, and said to look cut short; the same line with its line end is not."""
    with open(os.path.join(NETSH, "server2022.txt"), "rb") as f:
        data = f.read()
    for enc, body in (("UTF-8", data), ("UTF-16LE", codecs.BOM_UTF16_LE + data.decode(
            "utf-8").encode("utf-16-le"))):
        word = "Negotiate Client Certificate".encode("utf-16-le" if enc != "UTF-8" else "utf-8")
        cut = body[:body.index(word) + len(word) // 28 * 8]  # "Negotiat"
        line = decode(cut).count("\n") + 1
        for ended in (False, True):
            path = os.path.join(tmp, "cut-%s-%s.txt" % (enc, ended))
            with open(path, "wb") as f:
                f.write(cut + ("\n".encode("utf-16-le" if enc != "UTF-8" else "utf-8")
                               if ended else b""))
            r = run_netsh(path)
            said = ("caprobe netsh: %s:%d: not a line of the English output of netsh http show "
                    "sslcert: 'Negotiat'" % (path, line))
            tap.ok(r.rc == 2 and r.stderr.startswith(said) and
                   ("; the file looks cut short (its last line has no line end)" in r.stderr)
                   != ended, "%s, the last line %s: %s" % (
                       enc, "ended" if ended else "without its line end",
                       "no word of a cut" if ended else "the file looks cut short"), r.describe())


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    tmp = tempfile.mkdtemp(prefix="caprobe-netsh-")
    try:
        h.run_checks(tap, [check_fixtures, check_previous, check_status, check_hostile,
                           check_typos, check_cut], tmp)
        try:
            with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab:
                h.run_checks(tap, [check_scan], lab, tmp)
        except Exception as e:
            tap.ok(False, "the lab started: %s" % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
