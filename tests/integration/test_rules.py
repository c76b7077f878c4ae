#!/usr/bin/env python3
"""The rule engine end to end: real nginx and openssl s_server on loopback, caprobe with its
expectations, findings in the records and the exit statuses CI jobs gate on. Emits TAP."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

# One port, two server blocks: SNI "localhost" advertises the issuing CA, clients without SNI
# get the default_server's list (another CA): nginx's classic sni-mismatch.
NGINX_SNI = """
 server {{
  listen 127.0.0.1:{port} ssl default_server;
  server_name _;
  ssl_certificate %(pki)s/server-chain.pem;
  ssl_certificate_key %(pki)s/server.key;
  ssl_verify_client optional;
  ssl_client_certificate %(pki)s/other.pem;
  location / {{ return 200 "default\\n"; }}
 }}
 server {{
  listen 127.0.0.1:{port} ssl;
  server_name localhost;
  ssl_certificate %(pki)s/server-chain.pem;
  ssl_certificate_key %(pki)s/server.key;
  ssl_verify_client optional;
  ssl_client_certificate %(pki)s/issuing.pem;
  location / {{ return 200 "sni\\n"; }}
 }}
"""


def findings(run):
    out = []
    for r in run.records:
        out.extend(r.get("findings", []))
    return out


def rules_of(run):
    return sorted({f["rule"] for f in findings(run)})


def check_nginx_sni(tap):
    servers = NGINX_SNI % {"pki": os.path.join(h.fixtures_dir(), "pki")}
    with h.NginxServer(servers) as ng:
        target = "localhost:%d" % ng.port
        base = ["--tls", "1.2", "--timeout", "5", "--resolve",
                "localhost:%d:127.0.0.1" % ng.port]
        run = h.run_caprobe(base + ["--format", "jsonl", target])
        text = h.run_caprobe(base + [target])
        relaxed = h.run_caprobe(base + ["--format", "jsonl", "--fail-on", "critical", target])
        sarif = h.run_caprobe(base + ["--format", "sarif", target])
        junit = h.run_caprobe(base + ["--format", "junit", target])
    label = "nginx SNI vs default_server"
    tap.eq(run.rc, 1, "%s: exit status 1 (a high finding)" % label)
    f = [x for x in findings(run) if x["rule"] == "sni-mismatch"]
    if not tap.ok(len(f) == 1, "%s: one sni-mismatch finding" % label, run.describe()):
        return
    f = f[0]
    tap.eq(f["severity"], "high", "%s: severity high" % label)
    tap.ok("CN=caprobe Issuing CA 1" in f["message"] and "CN=Other CA" in f["message"],
           "%s: the message names the names each variant lacks" % label, f["message"])
    obs = run.records[0]["observations"]
    pair = [obs[i] for i in f["observations"]]
    tap.eq(sorted([o["sni"] or "" for o in pair]), ["", "localhost"],
           "%s: the finding points at the SNI and the no-SNI observation" % label)
    tap.ok("netsh http" in f["remedy"] and "default_server" in f["remedy"],
           "%s: the remedy names the IIS and nginx fixes" % label, f["remedy"])
    tap.ok("sni-mismatch" in text.stdout and "fix:" in text.stdout,
           "%s: the text report shows the finding and its fix" % label, text.describe())
    tap.eq(relaxed.rc, 0, "%s: --fail-on critical: exit status 0" % label)
    check_documents(tap, label, sarif, junit)


def check_documents(tap, label, sarif, junit):
    """The SARIF of a real scan passes the 2.1.0 schema and holds the finding; the JUnit XML
    parses and fails the target's test case."""
    import subprocess
    import tempfile
    import xml.etree.ElementTree as ET
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.NamedTemporaryFile("w", suffix=".sarif", delete=False) as f:
        f.write(sarif.stdout)
        path = f.name
    try:
        v = subprocess.run([sys.executable, os.path.join(here, "check_sarif.py"), path],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    tap.ok(v.returncode == 0, "%s: --format sarif passes the SARIF 2.1.0 schema" % label,
           v.stdout + v.stderr)
    try:
        doc = json.loads(sarif.stdout)
        ids = [r["ruleId"] for r in doc["runs"][0]["results"]]
    except (ValueError, KeyError, IndexError) as e:
        ids = repr(e)
    tap.ok("sni-mismatch" in ids, "%s: the SARIF holds the sni-mismatch result" % label, ids)
    try:
        root = ET.fromstring(junit.stdout)
        failures = root.get("failures")
    except ET.ParseError as e:
        failures = repr(e)
    tap.eq(failures, "1", "%s: --format junit parses and fails the target" % label)


def check_expectations(tap):
    with h.OpensslServer(["-verify", "1", "-CAfile", h.pki("issuing.pem"), "-tls1_2"]) as srv:
        t = "127.0.0.1:%d" % srv.port
        base = ["--format", "jsonl", "--tls", "1.2", "--timeout", "5"]
        ok = h.run_caprobe(base + ["--expect-ca", h.pki("issuing.pem"),
                                   "--client-cert", h.pki("client-chain.pem"), t])
        missing = h.run_caprobe(base + ["--expect-ca", h.pki("root.pem"), t])
        two = h.run_caprobe(base + ["--expect-ca", h.pki("issuing.pem"),
                                    "--expect-ca", h.pki("other.pem"), t])
        foreign = h.run_caprobe(base + ["--client-cert", h.pki("other.pem"), t])
        public = h.run_caprobe(base + ["--public-roots", h.pki("cas.pem"), t])
    tap.eq((ok.rc, rules_of(ok)), (0, []),
           "expected CA advertised, client chain offerable: no finding, exit 0")
    tap.eq(rules_of(missing), ["expected-ca-missing", "unexpected-ca"],
           "--expect-ca root.pem against the issuing CA: missing and unexpected")
    tap.eq(missing.rc, 1, "expected-ca-missing is high: exit 1")
    m = [x for x in findings(missing) if x["rule"] == "expected-ca-missing"]
    tap.ok(m and "CN=caprobe Test Root" in m[0]["message"], "the message names the missing CA",
           missing.describe())
    tap.eq(rules_of(two), ["expected-ca-missing"], "two --expect-ca files: the absent one missing")
    tap.eq(rules_of(foreign), ["client-cert-not-offered"],
           "a client certificate from another CA: client-cert-not-offered")
    tap.eq(rules_of(public), ["public-ca-accepted"],
           "--public-roots holding the issuing CA: public-ca-accepted")


def check_root_dump(tap):
    if not os.path.exists(SYSTEM_BUNDLE):
        tap.skip("root-store-dump", "%s is missing" % SYSTEM_BUNDLE)
        return
    with h.OpensslServer(["-verify", "1", "-CAfile", SYSTEM_BUNDLE, "-tls1_2"]) as srv:
        run = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "--timeout", "5",
                             "127.0.0.1:%d" % srv.port])
    got = {x["rule"]: x for x in findings(run)}
    tap.ok("root-store-dump" in got and got["root-store-dump"]["severity"] == "high",
           "the system bundle advertised: root-store-dump, high", run.describe())
    tap.ok("public-ca-accepted" in got, "and public-ca-accepted")
    tap.eq(run.rc, 1, "root-store-dump: exit status 1")


def check_usage(tap):
    r = h.run_caprobe(["--explain", "root-store-dump"])
    tap.ok(r.rc == 0 and "Ctl Store Name" in r.stdout, "--explain root-store-dump", r.describe())
    # every rule id of the schema's finding enum (docs/output.md), each explained once
    with open(h.caprobe_schema.SCHEMA_PATH, encoding="utf-8") as f:
        ids = json.load(f)["$defs"]["finding"]["properties"]["rule"]["enum"]
    r = h.run_caprobe(["--explain", "all"])
    tap.ok(r.rc == 0 and r.stdout.count("default severity") == len(ids)
           and all(r.stdout.count("%s\n" % i) + r.stdout.count("%s " % i) for i in ids),
           "--explain all: the %d rules of the schema" % len(ids), r.describe())
    with open(os.path.join(h.fixtures_dir(), "..", "docs", "rules.md"), encoding="utf-8") as f:
        md = f.read()
    block = md[md.index("## The rules in full"):].split("```\n")[1]
    tap.ok(r.rc == 0 and block == r.stdout, "docs/rules.md's rules in full are --explain all's "
           "output, byte for byte")
    r = h.run_caprobe(["--explain", "nope"])
    tap.ok(r.rc == 2 and "sni-mismatch" in r.stderr, "--explain nope: exit 2, lists the rules",
           r.describe())
    r = h.run_caprobe(["--fail-on", "severe", "127.0.0.1:1"])
    tap.eq(r.rc, 2, "--fail-on severe: exit 2")
    r = h.run_caprobe(["--expect-ca", "/nonexistent/ca.pem", "127.0.0.1:1"])
    tap.ok(r.rc == 2 and "/nonexistent/ca.pem" in r.stderr and not r.stdout,
           "--expect-ca of a missing file: exit 2 naming it, nothing scanned", r.describe())
    r = h.run_caprobe(["--client-cert", h.pki("server.key"), "127.0.0.1:1"])
    tap.ok(r.rc == 2 and "no certificate" in r.stderr, "--client-cert of a key file: exit 2",
           r.describe())


def check_policy(tap):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="caprobe-policy-")
    pki = os.path.join(h.fixtures_dir(), "pki")
    good = os.path.join(tmp, "policy.yaml")
    with open(good, "w", encoding="utf-8") as f:
        f.write("version: 1\n"
                "defaults:\n"
                "  severities: {unexpected-ca: critical}\n"
                "targets:\n"
                "  - match: \"127.0.0.1:*\"\n"
                "    client_auth: required\n"
                "    expect_ca: %s/root.pem\n"
                "    severities: {expected-ca-missing: low}\n" % pki)
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("version: 1\ntargets:\n  - match: x\n    disable: [dupliate-ca]\n")
    try:
        with h.OpensslServer(["-verify", "1", "-CAfile", h.pki("issuing.pem"), "-tls1_2"]) as a, \
                h.OpensslServer(["-tls1_2"]) as b:
            base = ["--format", "jsonl", "--tls", "1.2", "--timeout", "5", "--policy", good]
            ra = h.run_caprobe(base + ["127.0.0.1:%d" % a.port])
            rb = h.run_caprobe(base + ["127.0.0.1:%d" % b.port])
        sev = {x["rule"]: x["severity"] for x in findings(ra)}
        tap.eq(sev, {"expected-ca-missing": "low", "unexpected-ca": "critical"},
               "--policy: entry and default severities apply to the findings")
        tap.eq(ra.rc, 1, "--policy: a critical finding: exit 1")
        tap.eq(rules_of(rb), ["no-certificate-request"],
               "--policy client_auth required, server never asks: no-certificate-request")
        r = h.run_caprobe(["--policy", bad, "127.0.0.1:1"])
        tap.ok(r.rc == 2 and "bad.yaml:4:" in r.stderr and "duplicate-ca" in r.stderr and
               not r.stdout, "a bad policy: exit 2 with FILE:LINE and the valid name, nothing "
               "scanned", r.describe())
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def check_baseline_and_diff(tap):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="caprobe-baseline-")
    old, new = os.path.join(tmp, "old.jsonl"), os.path.join(tmp, "new.jsonl")
    try:
        with h.OpensslServer(["-verify", "1", "-CAfile", h.pki("issuing.pem"), "-tls1_2"]) as a, \
                h.OpensslServer(["-verify", "1", "-CAfile", SYSTEM_BUNDLE, "-tls1_2"]) as b:
            r = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "-o", old,
                               "127.0.0.1:%d" % a.port])
            tap.eq(r.rc, 0, "baseline scan: exit 0")
            # The baseline as if it had been taken from b's port: b now dumps the system bundle
            # where the baseline had the issuing CA, as after a renewal that lost the CTL store.
            with open(old, encoding="utf-8") as f:
                text = f.read().replace("127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port)
                text = text.replace('"port":%d' % a.port, '"port":%d' % b.port)
            with open(old, "w", encoding="utf-8") as f:
                f.write(text)
            r = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "--baseline", old, "-o", new,
                               "127.0.0.1:%d" % b.port])
            # The other way round: the baseline dumped the root store, a now advertises the
            # issuing CA alone. An improvement: info, which --fail-on low lets pass.
            with open(new, encoding="utf-8") as f:
                text = f.read().replace("127.0.0.1:%d" % b.port, "127.0.0.1:%d" % a.port)
                text = text.replace('"port":%d' % b.port, '"port":%d' % a.port)
            dumped = os.path.join(tmp, "dumped.jsonl")
            with open(dumped, "w", encoding="utf-8") as f:
                f.write(text)
            imp = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "--baseline", dumped,
                                 "--fail-on", "low", "127.0.0.1:%d" % a.port])
        better = [f for rec in h.parse_jsonl(imp.stdout)[0] for f in rec["findings"]
                  if f["rule"] == "baseline-drift"]
        tap.ok(imp.rc == 0 and len(better) == 1 and better[0]["severity"] == "info" and
               "improvement: advertises 1 name where the baseline had 143: 1 added, 143 removed "
               "(143 of them public roots: the root store is gone)" in better[0]["message"],
               "--baseline: a root store that gave way to the issuing CA is an improvement "
               "(info; --fail-on low passes)", repr(better) + imp.describe())
        recs = h.parse_jsonl(open(new, encoding="utf-8").read())[0]
        drift = [f for rec in recs for f in rec["findings"] if f["rule"] == "baseline-drift"]
        tap.ok(len(drift) == 1 and "regression: advertises 143 names where the baseline had 1: "
               "143 added (143 public roots: a root store appeared), 1 removed"
               in drift[0]["message"] and drift[0]["severity"] == "medium",
               "--baseline: baseline-drift names what changed, a root store appearing is a "
               "regression (medium)", repr(drift) + r.describe())
        d = h.run_caprobe(["diff", old, new])
        tap.ok(d.rc == 1 and "127.0.0.1:%d" % b.port in d.stdout,
               "caprobe diff: exit 1 and the changed target", d.describe())
        d = h.run_caprobe(["diff", "--format", "jsonl", old, old])
        tap.ok(d.rc == 0 and d.stdout.strip() == "",
               "caprobe diff of a scan with itself: exit 0, nothing printed", d.describe())
        d = h.run_caprobe(["--baseline", os.path.join(tmp, "missing.jsonl"), "127.0.0.1:1"])
        tap.eq(d.rc, 2, "--baseline of a missing file: exit 2")
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    for check in (check_nginx_sni, check_expectations, check_root_dump, check_policy,
                  check_baseline_and_diff, check_usage):
        try:
            check(tap)
        except Exception as e:  # a harness failure is a failed test; the others still run
            tap.ok(False, "%s: harness" % check.__name__, "%s: %s" % (type(e).__name__, e))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
