#!/usr/bin/env python3
"""caprobe against the lab (fixtures/lab/lab.yaml): every failure mode the lab plays gives the
outcome and the finding it should, the lists compared byte for byte with the certificates the lab
was configured with; a Windows store told by its built-in roots (report/winroots.txt);
--request over the IIS-like endpoints; the hostile raw modes each end with the right error kind;
the compact JSON Lines form (--format jsonl-compact) against the full one, the certificates and
--baseline / diff. Emits TAP."""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import caprobe_schema  # noqa: E402
import harness as h  # noqa: E402

LAB_YAML = os.path.join(h.fixtures_dir(), "lab", "lab.yaml")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def subjects(path):
    return [h.cert_subject_der(c) for c in h.pem_certs(path)]


def ders(o):
    return [base64.b64decode(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]


def rules(rec):
    return sorted({f["rule"] for f in rec.get("findings", [])})


def scan(args, timeout=120):
    run = h.run_caprobe(["--format", "jsonl"] + args, timeout=timeout)
    by_port = {}
    for r in run.records:
        by_port[r["port"]] = r
    run.by_port = by_port
    return run


def check_plain(tap, lab):
    names = ["right-list", "root-dump", "root-dump-truncated-16k", "empty-list", "no-request",
             "nt-authority", "oversized", "malformed-names", "tiny-records", "overflow-64k"]
    sni = lab.port("sni-vs-nosni")
    targets = ["127.0.0.1:%d" % lab.port(n) for n in names] + ["app.lab.test:%d" % sni]
    run = scan(["--tls", "1.2", "--timeout", "5", "--resolve", "app.lab.test:%d:127.0.0.1" % sni]
               + targets)
    rec = {n: run.by_port.get(lab.port(n), {}) for n in names}
    obs = {n: (rec[n].get("observations") or [{}])[0] for n in names}
    issuing = subjects(h.pki("issuing.pem"))
    tap.eq(len(run.records), len(targets), "lab plain scan: one record per endpoint")

    tap.eq((obs["right-list"].get("outcome"), ders(obs["right-list"]), rules(rec["right-list"])),
           ("certificate_request", issuing, []), "right-list: the issuing CA, no finding")
    dump = obs["root-dump"]
    tap.eq(set(ders(dump)), set(subjects(SYSTEM_BUNDLE)),
           "root-dump: the system bundle's subjects, byte for byte")
    tap.ok({"root-store-dump", "public-ca-accepted"} <= set(rules(rec["root-dump"])),
           "root-dump: root-store-dump and public-ca-accepted", rules(rec["root-dump"]))
    cut = obs["root-dump-truncated-16k"]
    cr = cut.get("certificate_request", {})
    tap.ok(0 < cr.get("ca_bytes", 0) + 2 * cr.get("ca_count", 0) <= 16384 and
           issuing[0] not in ders(cut), "root-dump-truncated-16k: cut at 16 KB, the issuing CA "
           "(last) lost", cr.get("ca_bytes"))
    tap.ok("root-store-dump" in rules(rec["root-dump-truncated-16k"]),
           "root-dump-truncated-16k: root-store-dump")
    tap.eq((obs["empty-list"].get("outcome"),
            obs["empty-list"].get("certificate_request", {}).get("ca_count"),
            rules(rec["empty-list"])), ("certificate_request", 0, ["empty-ca-list"]),
           "empty-list: a request with no names, empty-ca-list")
    tap.eq((obs["no-request"].get("outcome"), rules(rec["no-request"])),
           ("no_certificate_request", []), "no-request: no CertificateRequest, no finding "
           "without an expectation")
    nta = [c["dn"] for c in obs["nt-authority"].get("certificate_request", {}).get("cas", [])]
    tap.eq(nta, ["CN=caprobe Issuing CA 1,O=caprobe,C=DE", "CN=NT AUTHORITY"],
           "nt-authority: the issuing CA, then the NT AUTHORITY entry")
    big = obs["oversized"].get("certificate_request", {})
    tap.eq((big.get("ca_count"), big.get("ca_bytes", 0) > 32768), (460, True),
           "oversized: 460 names over 32 KiB captured whole")
    tap.ok("oversized-ca-list" in rules(rec["oversized"]), "oversized: oversized-ca-list")
    bad = obs["malformed-names"].get("certificate_request", {}).get("cas", [])
    tap.eq(sum(1 for c in bad if c.get("malformed")), 2,
           "malformed-names: the empty and the non-DER entries are marked malformed")
    tap.ok(bad and all("\x1b" not in c["dn"] and "\x00" not in c["dn"] for c in bad) and
           any("\\1B" in c["dn"] for c in bad), "malformed-names: control characters escaped",
           [c["dn"] for c in bad])
    tap.ok("malformed-ca" in rules(rec["malformed-names"]), "malformed-names: malformed-ca")
    tap.eq(ders(obs["tiny-records"]), issuing, "tiny-records: 7-byte records reassembled")
    tap.eq((obs["overflow-64k"].get("outcome"), obs["overflow-64k"].get("error", {}).get("kind")),
           ("error", "protocol"), "overflow-64k: a wrapped length is a protocol error")
    srec = run.by_port.get(sni, {})
    by_sni = {o["sni"]: o for o in srec.get("observations", [])}
    tap.eq(ders(by_sni.get("app.lab.test", {})), issuing,
           "sni-vs-nosni: the SNI binding advertises the issuing CA")
    tap.ok("root-store-dump" in rules(srec) and "sni-mismatch" in rules(srec),
           "sni-vs-nosni: sni-mismatch and root-store-dump (no SNI)", rules(srec))
    tap.eq(run.rc, 1, "lab plain scan: exit 1 (high findings)")


def windows_roots():
    """report/winroots.txt read here: {subject DER: name} of the Windows built-in roots."""
    with open(os.path.join(h.fixtures_dir(), "..", "report", "winroots.txt"),
              encoding="utf-8") as f:
        entries = [e for e in f.read().split("\n\n") if "\nname: " in "\n" + e]
    roots = {}
    for e in entries:
        lines = [ln for ln in e.splitlines() if not ln.startswith("#")]
        name = [ln[6:] for ln in lines if ln.startswith("name: ")][0]
        roots[bytes.fromhex("".join(ln[5:] for ln in lines if ln.startswith("der: ")))] = name
    return roots


def check_windows_store(tap, lab):
    """windows-store: a Windows Server's Trusted Root store with fewer public roots than built-in
    ones is a root-store dump by its built-in roots, which the finding names (the first three in
    the list's order), with or without the public roots of a bundle."""
    target = "127.0.0.1:%d" % lab.port("windows-store")
    win = windows_roots()
    public = set(subjects(SYSTEM_BUNDLE))
    for bundle in (None, h.pki("root.pem")):
        opts = ["--public-roots", bundle] if bundle else []
        run = scan(["--tls", "1.2"] + opts + [target])
        rec = run.records[0] if run.records else {}
        got = ders((rec.get("observations") or [{}])[0])
        builtin = [win[d] for d in got if d in win]
        pub = sum(1 for d in got if d in public) if bundle is None else 0
        size = sum(2 + len(d) for d in got)
        if bundle is None:
            tap.ok(len(win) == len(builtin) and 0 < pub < len(builtin) and 2 * pub < len(got)
                   and 300 <= size <= 3000, "windows-store: every Windows built-in root (%d), "
                   "fewer public roots (%d), not most of %d names, %d bytes"
                   % (len(builtin), pub, len(got), size))
        want = ("%d of them (%.0f%%) public roots of %s; %d Windows built-in roots (%s and %d "
                "more), which only a Windows Trusted Root store holds"
                % (pub, 100.0 * pub / max(len(got), 1), bundle or SYSTEM_BUNDLE, len(builtin),
                   "; ".join(builtin[:3]), len(builtin) - 3))
        dump = [f for f in rec.get("findings", []) if f["rule"] == "root-store-dump"]
        tap.ok(dump and dump[0]["severity"] == "high" and want in dump[0]["message"],
               "windows-store%s: root-store-dump, high, naming the built-in roots"
               % (" with --public-roots root.pem" if bundle else ""),
               [(f["rule"], f["message"]) for f in rec.get("findings", [])] + [want])


def check_hostile(tap, lab):
    want = {"stall": "timeout", "trickle": "timeout", "reset": "reset", "close": "reset",
            "garbage": "protocol", "alert": "tls_alert", "oversized-record": "protocol"}
    targets = ["127.0.0.1:%d" % lab.port(n) for n in want]
    run = scan(["--tls", "1.2", "--timeout", "2"] + targets, timeout=60)
    for n, kind in sorted(want.items()):
        o = (run.by_port.get(lab.port(n), {}).get("observations") or [{}])[0]
        tap.eq((o.get("outcome"), o.get("error", {}).get("kind")), ("error", kind),
               "%s: error kind %s" % (n, kind), o.get("error"))
    tap.eq(run.rc, 0, "hostile endpoints: errors are data, exit 0 without --fail-on-error")


def check_request(tap, lab):
    issuing = subjects(h.pki("issuing.pem"))
    evidence = {"renegotiate-after-request": "gets HTTP/1.1 403 Forbidden (Server: "
                                             "Microsoft-IIS/10.0)",
                "renegotiate-reset": "fails: connection reset by the server",
                "renegotiate-500": "gets HTTP/1.1 500"}
    targets = ["127.0.0.1:%d" % lab.port(n) for n in evidence]
    run = scan(["--timeout", "8", "--request", "/secure"] + targets)
    for n, text in evidence.items():
        rec = run.by_port.get(lab.port(n), {})
        obs = rec.get("observations", [])
        rn = [o for o in obs if o["phase"] == "renegotiation"]
        tap.eq([(o["tls_max"], ders(o)) for o in rn], [("1.2", issuing)],
               "%s: the TLS 1.2 renegotiation asks for the issuing CA" % n)
        f = [f for f in rec.get("findings", []) if f["rule"] == "post-request-client-auth"]
        tap.ok(f and text in f[0]["message"] and len(f[0]["observations"]) == 3,
               "%s: post-request-client-auth with the TLS 1.3 evidence" % n, f)
    plain = scan(["--timeout", "8", "--request", "/", targets[0]])
    rec = plain.records[0] if plain.records else {}
    tap.eq(sorted((o["phase"], o.get("http", {}).get("status")) for o in rec.get("observations", [])),
           [("handshake", 200), ("handshake", 200)],
           "an unprotected path: 200 over both versions, no renegotiation")


IPV6_LAB = """defaults:
  cert: ../pki/server.pem
  key: ../pki/server.key
endpoints:
  - name: reneg6
    role: renegotiation over IPv6
    client_auth: none
    protected: /secure
    protected_cas: [../pki/issuing.pem]
    protected_tls13: 403
"""


def lab_names_hex(endpoint):
    """The names_hex entries of an endpoint of lab.yaml, as bytes, in file order."""
    with open(LAB_YAML, encoding="utf-8") as f:
        text = f.read()
    block = text.split("  - name: %s\n" % endpoint, 1)[1].split("\n  - name: ", 1)[0]
    return [bytes.fromhex(m) for m in re.findall(r'^ {6}- "([0-9a-f]*)"', block, re.M)]


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def names_view(rec):
    """Per variant: outcome, counts and (dn, sha256, malformed) of each name, the sha256 from
    "der" when the record has it (full), as written when not (compact)."""
    out = {}
    for o in rec.get("observations", []):
        key = (o.get("address"), o.get("sni"), o.get("tls_max"), o.get("phase"))
        cr = o.get("certificate_request")
        if cr is None:
            out[key] = (o.get("outcome"), (o.get("error") or {}).get("kind"))
            continue
        names = [(c["dn"], sha256_hex(base64.b64decode(c["der"])) if "der" in c else c["sha256"],
                  c.get("malformed", False)) for c in cr["cas"]]
        out[key] = (o["outcome"], cr["ca_count"], cr["ca_bytes"], names)
    return out


def write_jsonl(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


COMPACT_ENDPOINTS = ["right-list", "root-dump", "oversized", "nt-authority", "malformed-names",
                     "empty-list", "no-request"]


def check_compact(tap, lab):
    """--format jsonl-compact: the same records as --format jsonl but for each name's der, the
    sha256 of the names the certificates' subjects (and the lab's raw names) hash to, smaller;
    --baseline and diff read it, also mixed with the full form."""
    sni = lab.port("sni-vs-nosni")
    targets = ["127.0.0.1:%d" % lab.port(n) for n in COMPACT_ENDPOINTS] + ["app.lab.test:%d" % sni]
    common = ["-q", "--timeout", "5", "--resolve", "app.lab.test:%d:127.0.0.1" % sni]
    tmp = tempfile.mkdtemp(prefix="caprobe-compact-")
    try:
        path = {form: os.path.join(tmp, form + ".jsonl") for form in ("full", "compact")}
        runs = {form: h.run_caprobe(["--format", fmt, "-o", path[form]] + common + targets,
                                    timeout=120)
                for form, fmt in (("full", "jsonl"), ("compact", "jsonl-compact"))}
        text = {form: open(path[form], encoding="utf-8").read() for form in path}
        recs = {form: h.parse_jsonl(text[form], where="lab " + form)[0] for form in path}
        tap.ok(runs["full"].rc == runs["compact"].rc == 1 and
               len(recs["full"]) == len(recs["compact"]) == len(targets),
               "compact lab scan: one record per target, exit 1 as the full scan",
               runs["compact"].describe())
        errs = [e for r in recs["compact"] for e in caprobe_schema.record_errors(r)]
        tap.ok(recs["compact"] and not errs,
               "compact lab scan: every record fits docs/caprobe-1.schema.json and docs/output.md",
               "\n".join(errs[:20]))
        cas = [c for r in recs["compact"] for o in r["observations"]
               for c in o.get("certificate_request", {}).get("cas", [])]
        tap.ok(all(r.get("compact") is True for r in recs["compact"]) and cas and
               not any("der" in c for c in cas) and
               not any("compact" in r for r in recs["full"]),
               "compact records say \"compact\": true and hold no der (%d names); full ones "
               "neither" % len(cas))

        by_target = {form: {r["target"]: r for r in recs[form]} for form in recs}
        differ = [t for t in targets if names_view(by_target["compact"].get(t, {})) !=
                  names_view(by_target["full"].get(t, {}))]
        tap.ok(not differ, "compact vs full, every variant of every target: the same outcome, "
               "counts, dn and malformed marks, and each sha256 is the SHA-256 of the full "
               "record's der", differ)

        def compact_sha(name, sni_name=None):
            rec = by_target["compact"].get("%s:%d" % ("app.lab.test" if sni_name else "127.0.0.1",
                                                      lab.port(name)), {})
            for o in rec.get("observations", []):
                if o["tls_max"] == "1.2" and o["sni"] == sni_name and "certificate_request" in o:
                    return [c["sha256"] for c in o["certificate_request"]["cas"]]
            return None

        issuing = [sha256_hex(s) for s in subjects(h.pki("issuing.pem"))]
        tap.eq(compact_sha("right-list"), issuing,
               "compact right-list: the sha256 of the issuing CA's subject (fixtures/pki)")
        tap.eq(compact_sha("sni-vs-nosni", "app.lab.test"), issuing,
               "compact sni-vs-nosni with SNI: the sha256 of the issuing CA's subject")
        tap.eq(sorted(set(compact_sha("root-dump") or [])),
               sorted({sha256_hex(s) for s in subjects(SYSTEM_BUNDLE)}),
               "compact root-dump: the sha256 of the system bundle's subjects")
        tap.eq(compact_sha("oversized"), [sha256_hex(s) for s in subjects(h.pki("many-40k.pem"))],
               "compact oversized: the sha256 of many-40k.pem's 460 subjects, in order")
        tap.eq(compact_sha("malformed-names"),
               issuing + [sha256_hex(b) for b in lab_names_hex("malformed-names")],
               "compact malformed-names: the sha256 of the issuing CA's subject and of each raw "
               "name of lab.yaml (malformed ones too)")

        lines = {form: {json.loads(line)["target"]: len(line) + 1
                        for line in text[form].splitlines() if line.strip()} for form in text}
        for t, name in zip(targets, COMPACT_ENDPOINTS + ["sni-vs-nosni"]):
            f, c = lines["full"].get(t, 0), lines["compact"].get(t, 0)
            tap.diag("%-16s %-22s full %7d bytes, compact %7d bytes (%.2f)"
                     % (name, t, f, c, c / f if f else 0))
        size = {form: len(text[form].encode()) for form in text}
        tap.ok(size["compact"] < size["full"],
               "compact lab scan smaller than the full one: %d < %d bytes (ratio %.2f)"
               % (size["compact"], size["full"], size["compact"] / max(size["full"], 1)))

        def drift(run):
            return [r["target"] for r in run.records for f in r["findings"]
                    if f["rule"] == "baseline-drift"]

        # the same endpoints against a baseline of the other form: nothing drifted
        for base, fmt in (("compact", "jsonl"), ("full", "jsonl-compact"),
                          ("compact", "jsonl-compact")):
            r = h.run_caprobe(["--format", fmt, "--baseline", path[base]] + common + targets,
                              timeout=120)
            tap.ok(r.rc == 1 and len(r.records) == len(targets) and not drift(r),
                   "--format %s --baseline (%s scan of the same lab): no baseline-drift"
                   % (fmt, base), "drift: %r\n%s" % (drift(r), r.describe()))
        # a compact baseline where right-list had root-dump's list: drift
        right = "127.0.0.1:%d" % lab.port("right-list")
        moved = dict(by_target["compact"]["127.0.0.1:%d" % lab.port("root-dump")])
        moved.update(target=right, port=lab.port("right-list"))
        path["moved"] = os.path.join(tmp, "moved.jsonl")
        write_jsonl(path["moved"], [moved])
        r = h.run_caprobe(["--format", "jsonl", "--baseline", path["moved"]] + common + [right])
        tap.eq(drift(r), [right, right], "--baseline with a compact baseline of another list: "
               "baseline-drift, one per variant (TLS 1.2 and 1.3)", r.describe())

        d = h.run_caprobe(["diff", path["full"], path["compact"]])
        tap.ok(d.rc == 0 and "0 changed, 0 added, 0 removed, %d unchanged" % len(targets)
               in d.stdout, "caprobe diff FULL COMPACT of the same lab: nothing changed",
               d.describe())
        d = h.run_caprobe(["diff", "--format", "jsonl", path["compact"], path["full"]])
        tap.ok(d.rc == 0 and d.stdout == "", "caprobe diff COMPACT FULL: exit 0, nothing printed",
               d.describe())
        d = h.run_caprobe(["diff", "--format", "jsonl", path["moved"], path["full"]])
        changed = h.parse_jsonl(d.stdout, schema=False)[0]
        tap.ok(d.rc == 1 and [(c["target"], c["status"]) for c in changed
                              if c["status"] == "changed"] == [(right, "changed")],
               "caprobe diff COMPACT FULL of another list: the target changed", d.describe())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_ipv6(tap):
    """The lab on [::1] and --request to a bracketed address: the renegotiation list is read
    (the Host header's form is unit-tested in tests/unit/test_input.c)."""
    if not h.ipv6_loopback_available():
        tap.skip("lab on [::1]", "no IPv6 loopback here")
        return
    with h.LabServer(IPV6_LAB, host="::1") as lab:
        run = scan(["--tls", "1.2", "--timeout", "8", "--request", "/secure",
                    "[::1]:%d" % lab.port("reneg6")])
    obs = run.records[0]["observations"] if run.records else []
    tap.eq([(o["address"], o["phase"], o["outcome"]) for o in obs],
           [("::1", "handshake", "no_certificate_request"),
            ("::1", "renegotiation", "certificate_request")],
           "[::1]: the renegotiation after GET /secure is captured", run.stdout[:1500])


DUMP_AFTER_REQUEST = """defaults:
  cert: ../pki/server.pem
  key: ../pki/server.key
endpoints:
  - name: dump-after-request
    role: the root store asked for only after the request
    client_auth: none
    protected: /secure
    protected_cas: [system]
"""


def check_renegotiated_dump(tap):
    """A root-store dump asked for by renegotiation: the whole bundle is read and judged; with a
    --capture-limit below its size the renegotiation ends with capture_limit, not a guess."""
    with h.LabServer(DUMP_AFTER_REQUEST) as lab:
        target = "127.0.0.1:%d" % lab.port("dump-after-request")
        run = scan(["--tls", "1.2", "--timeout", "8", "--request", "/secure", target])
        small = scan(["--tls", "1.2", "--timeout", "8", "--request", "/secure",
                      "--capture-limit", "4096", target])
    rec = run.records[0] if run.records else {}
    rn = [o for o in rec.get("observations", []) if o["phase"] == "renegotiation"]
    tap.eq([set(ders(o)) for o in rn], [set(subjects(SYSTEM_BUNDLE))],
           "a root store asked for by renegotiation is read whole")
    tap.ok({"root-store-dump", "post-request-client-auth"} <= set(rules(rec)),
           "... and judged: root-store-dump, post-request-client-auth", rules(rec))
    rec = small.records[0] if small.records else {}
    rn = [o for o in rec.get("observations", []) if o["phase"] == "renegotiation"]
    tap.eq([(o["outcome"], o.get("error", {}).get("kind")) for o in rn],
           [("error", "capture_limit")], "--capture-limit 4096: the renegotiation ends with "
           "capture_limit", rn)
    http = (rec.get("observations") or [{}])[0].get("http", {})
    tap.eq((http.get("error") or {}).get("kind"), "capture_limit",
           "--capture-limit 4096: the http error says capture_limit too", http)


# caprobe in a private mount namespace (unshare -rm: a user namespace, so no root is needed where
# the kernel allows them) with a tmpfs over /etc/ssl (and /etc/pki where it exists): a machine
# without the ca-certificates package. SETUP runs there first; the lab runs outside.
NO_BUNDLE = ('mount -t tmpfs tmpfs /etc/ssl && { [ ! -d /etc/pki ] || mount -t tmpfs tmpfs '
             '/etc/pki; } && { [ ! -e /etc/ssl/cert.pem ] || exit 9; } && eval "$SETUP" && '
             'exec "$@"')
NO_ROOTS_WARNING = re.compile(r"^caprobe: warning: .*: root-store-dump and public-ca-accepted "
                              r"cannot recognise public roots; install the ca-certificates "
                              r"package or give --public-roots FILE$", re.M)


def run_without_bundle(args, setup=":"):
    env = dict(os.environ, SETUP=setup)
    return subprocess.run(["unshare", "-rm", "sh", "-c", NO_BUNDLE, "sh", h.caprobe_path()] +
                            args, capture_output=True, text=True, env=env,
                            stdin=subprocess.DEVNULL, timeout=120)


def check_no_bundle(tap, lab):
    """Without a system root bundle, a root-store dump cannot be told from a private list: the
    scan still ends, and says once on standard error why root-store-dump could not be judged;
    --public-roots gives the roots back. The oracle: the same scan with the system bundle."""
    if shutil.which("unshare") is None or \
            subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        tap.skip("no root bundle", "unshare -rm (a user and mount namespace) is not permitted")
        return
    dump = "127.0.0.1:%d" % lab.port("root-dump")
    args = ["--tls", "1.2,1.3", "--format", "jsonl", dump]
    with_bundle = scan(args)
    tap.ok(with_bundle.rc == 1 and len(with_bundle.records) == 1 and all("root-store-dump" in rules(r) for r in with_bundle.records)
           and not NO_ROOTS_WARNING.search(with_bundle.stderr),
           "with the system bundle: root-store-dump, no warning", with_bundle.stderr)
    r = run_without_bundle(args)
    recs, _ = h.parse_jsonl(r.stdout)
    tap.eq((r.returncode, len(recs), [rules(x) for x in recs if "root-store-dump" in rules(x)]),
           (0, 1, []), "/etc/ssl empty: the dump is scanned, root-store-dump cannot fire", r.stderr)
    warned = NO_ROOTS_WARNING.findall(r.stderr)
    tap.ok(len(warned) == 1 and "no system root bundle" in warned[0]
           and SYSTEM_BUNDLE in warned[0],
           "/etc/ssl empty: one warning names the bundles looked for, ca-certificates and "
           "--public-roots", r.stderr)
    r = run_without_bundle(["-q", "--tls", "1.2", dump],
                           "mkdir /etc/ssl/certs && : >%s" % SYSTEM_BUNDLE)
    warned = NO_ROOTS_WARNING.findall(r.stderr)
    tap.ok(r.returncode == 0 and len(warned) == 1 and
           "the system root bundle cannot be used (%s:" % SYSTEM_BUNDLE in warned[0],
           "an empty %s: one warning, also with -q" % SYSTEM_BUNDLE, r.stderr)
    tmp = tempfile.mkdtemp(prefix="caprobe-roots-")
    try:
        roots = os.path.join(tmp, "roots.pem")
        shutil.copyfile(SYSTEM_BUNDLE, roots)
        r = run_without_bundle(args + ["--public-roots", roots])
        recs, _ = h.parse_jsonl(r.stdout)
        tap.ok(r.returncode == 1 and len(recs) == 1 and
               all("root-store-dump" in rules(x) for x in recs) and not NO_ROOTS_WARNING.search(
                   r.stderr), "/etc/ssl empty, --public-roots a copy of the bundle: "
               "root-store-dump, no warning", r.stderr)
        conf = os.path.join(tmp, "exporter.yml")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("modules:\n  a:\n    options: {tls: [1.2]}\n    allow: [127.0.0.1]\n"
                    "  b:\n    options: {tls: [1.3]}\n    allow: [127.0.0.1]\n")
        r = run_without_bundle(["exporter", "--check", "--config", conf])
        tap.ok(r.returncode == 0 and len(NO_ROOTS_WARNING.findall(r.stderr)) == 1,
               "/etc/ssl empty: exporter --check of two modules warns once", r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_config_error(tap):
    bad = ("endpoints:\n  - name: x\n    mode: tls\n    cert: ../pki/server.pem\n"
           "    key: ../pki/server.key\n    versions: [1.4]\n")
    try:
        with h.LabServer(bad):
            tap.ok(False, "a bad lab config is refused")
    except RuntimeError as e:
        tap.ok(".yaml:6:" in str(e) and "1.4" in str(e),
               "a bad lab config is refused with FILE:LINE:COL", str(e))


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    try:
        with h.LabServer(LAB_YAML) as lab:
            for check in (check_plain, check_windows_store, check_hostile, check_request,
                          check_compact, check_no_bundle):
                try:
                    check(tap, lab)
                except Exception as e:
                    tap.ok(False, "%s raised %s: %s" % (check.__name__, type(e).__name__, e))
    except Exception as e:
        tap.ok(False, "the lab started: %s" % e)
    check_ipv6(tap)
    check_renegotiated_dump(tap)
    check_config_error(tap)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
