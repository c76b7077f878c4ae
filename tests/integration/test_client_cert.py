#!/usr/bin/env python3
"""--client-cert with --client-key end to end: caprobe presents the certificate when a server
asks (in the first handshake, and in the TLS 1.2 renegotiation after --request), records in
client_cert what the server made of it, and the findings client-cert-rejected and
client-cert-accepted-unadvertised compare that with the advertised list. Real servers on
loopback, started here: nginx (ssl_verify_client on, and optional with ssl_trusted_certificate),
apache2 (SSLVerifyClient require in a <Location>: renegotiation) and the lab (mbedTLS: required
and optional in the handshake, a protected path that renegotiates). Certificates of
fixtures/pki and fixtures/pki/clients (make-clients.sh): one of the right CA, one of a CA the
servers do not trust, an expired one.

The oracle for each answer is not caprobe: `openssl s_client -cert -key` sending the same
request (the alert it reads, or the response's status), and what the servers logged (Apache's
access log verify=SUCCESS and its error log's verification error, nginx's error log). Also: key
forms (RSA PKCS#1, encrypted PKCS#8 with --client-key-password-file, P-384), refusals that are
usage errors, the text report's line, that --client-cert alone still presents nothing, and
that no copy of the key or its passphrase is left in freed memory (freescan.c). Emits TAP."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import apache  # noqa: E402

PKI = h.pki("")
GOOD = (h.pki("client-chain.pem"), h.pki("client.key"))
OTHER = (h.pki("clients/other-ca.pem"), h.pki("clients/other-ca.key"))
EXPIRED = (h.pki("clients/expired-chain.pem"), h.pki("clients/expired.key"))
IDENTITIES = (("right CA", GOOD), ("untrusted CA", OTHER), ("expired", EXPIRED))
ALERTS = {40: "handshake_failure", 42: "bad_certificate", 45: "certificate_expired",
          48: "unknown_ca", 116: "certificate_required"}


def scan(ident, target, *args):
    run = h.run_caprobe(["--format", "jsonl", "--timeout", "8", "--client-cert", ident[0],
                         "--client-key", ident[1]] + list(args) + [target])
    if run.parse_error:
        run.records = []
    return run


def observations(run):
    return [o for r in run.records for o in r["observations"]]


def by_phase(run, version, phase="handshake"):
    for o in observations(run):
        if o["tls_max"] == version and o["phase"] == phase:
            return o
    return {}


def rules(run):
    return sorted({f["rule"] for r in run.records for f in r.get("findings", [])})


def finding(run, rule):
    return next((f for r in run.records for f in r.get("findings", []) if f["rule"] == rule), None)


def answer(o):
    """client_cert as (presented, result, alert or http_status), the way an oracle says it."""
    cc = o.get("client_cert") or {}
    return (cc.get("presented"), cc.get("result"), cc.get("alert", cc.get("http_status")))


def s_client(port, version, ident, path):
    """What openssl s_client meets presenting ident and sending GET path: ("alert", name) from
    its 'SSL alert number N', else ("http", status) from the response's status line, else
    ("none", output). It follows a server's renegotiation by itself."""
    req = ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode()
    cmd = [h.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-tls" + version.replace(
        ".", "_"), "-cert", ident[0], "-key", ident[1], "-quiet"]
    try:
        r = subprocess.run(cmd, input=req, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out, err = (e.stdout or b"").decode("utf-8", "replace"), "(timeout)"
    m = re.search(r"SSL alert number (\d+)", err)
    if m:
        return ("alert", ALERTS.get(int(m.group(1)), m.group(1)))
    m = re.match(r"HTTP/1\.[01] (\d{3})", out)
    if m:
        return ("http", int(m.group(1)))
    return ("none", (out + err)[-400:])


def check_nginx_on(tap):
    """ssl_verify_client on, ssl_client_certificate cas.pem: nginx completes every handshake
    (its verify callback takes any certificate) and answers 400 to one it did not verify."""
    conf = ("server {{ listen 127.0.0.1:{port} ssl; ssl_certificate %s; ssl_certificate_key %s;"
            " ssl_protocols TLSv1.2 TLSv1.3; error_log error.log info;"
            " ssl_client_certificate %s; ssl_verify_client on; ssl_verify_depth 2;"
            " location / {{ return 200 \"verify=$ssl_client_verify\\n\"; }} }}"
            % (h.pki("server.pem"), h.pki("server.key"), h.pki("cas.pem")))
    with h.NginxServer(conf) as ng:
        target = "127.0.0.1:%d" % ng.port
        want_status = {"right CA": 200, "untrusted CA": 400, "expired": 400}
        for label, ident in IDENTITIES:
            run = scan(ident, target, "--request", "/")
            plain = scan(ident, target)
            for v in ("1.2", "1.3"):
                oracle = s_client(ng.port, v, ident, "/")
                tap.eq(oracle, ("http", want_status[label]),
                       "nginx on, %s, TLS %s: s_client gets HTTP %d" % (label, v,
                                                                        want_status[label]))
                tap.eq(answer(by_phase(run, v)), (True, "http", oracle[1]),
                       "nginx on, %s, TLS %s --request: client_cert says what s_client got"
                       % (label, v), run.describe())
                tap.eq(answer(by_phase(plain, v)), (True, "accepted", None),
                       "nginx on, %s, TLS %s without a request: the handshake took it (nginx "
                       "refuses in HTTP)" % (label, v), plain.describe())
            if label == "right CA":
                tap.eq(rules(run), [], "nginx on, right CA: no finding", run.describe())
            elif label == "untrusted CA":
                # not advertised: a refusal is what the list says; the list's own finding
                tap.eq(rules(run), ["client-cert-not-offered"],
                       "nginx on, untrusted CA: client-cert-not-offered only", run.describe())
            else:
                f = finding(run, "client-cert-rejected")
                tap.ok(f and f["severity"] == "low" and "HTTP 400 to the request" in f["message"]
                       and "it expired on 2020-12-31T23:59:59Z" in f["message"],
                       "nginx on, expired: client-cert-rejected, low (the certificate was "
                       "expired), citing the 400", run.describe())
                tap.eq(rules(run), ["client-cert-rejected"], "nginx on, expired: that finding "
                       "alone", run.describe())
        with open(os.path.join(ng.tmp, "error.log"), encoding="utf-8", errors="replace") as f:
            log = f.read()
        tap.ok("client SSL certificate verify error: (10:certificate has expired)" in log and
               re.search(r"client SSL certificate verify error: \((20:unable to get local issuer "
                         r"certificate|21:unable to verify the first certificate)\)", log),
               "nginx logged the expired and the untrusted certificate", log[-3000:])


def check_nginx_trusted(tap):
    """ssl_verify_client optional; ssl_client_certificate other.pem (advertised);
    ssl_trusted_certificate cas.pem (trusted, not advertised): the right CA's certificate works
    although no browser would offer it."""
    conf = ("server {{ listen 127.0.0.1:{port} ssl; ssl_certificate %s; ssl_certificate_key %s;"
            " ssl_protocols TLSv1.2 TLSv1.3;"
            " ssl_client_certificate %s; ssl_trusted_certificate %s; ssl_verify_client optional;"
            " ssl_verify_depth 2; location / {{ return 200 \"verify=$ssl_client_verify\\n\"; }} }}"
            % (h.pki("server.pem"), h.pki("server.key"), h.pki("other.pem"), h.pki("cas.pem")))
    with h.NginxServer(conf) as ng:
        run = scan(GOOD, "127.0.0.1:%d" % ng.port, "--request", "/")
        for v in ("1.2", "1.3"):
            tap.eq(answer(by_phase(run, v)), (True, "http", 200),
                   "nginx trusted-only, TLS %s: the certificate is taken (HTTP 200)" % v,
                   run.describe())
            tap.eq(s_client(ng.port, v, GOOD, "/"), ("http", 200),
                   "nginx trusted-only, TLS %s: s_client gets 200 too" % v)
        f = finding(run, "client-cert-accepted-unadvertised")
        tap.ok(f and f["severity"] == "medium" and
               "took CN=caprobe Test Client,O=caprobe,C=DE (issued by CN=caprobe Issuing CA 1,"
               "O=caprobe,C=DE) with HTTP 200 to the request" in f["message"],
               "nginx trusted-only: client-cert-accepted-unadvertised, medium", run.describe())
        tap.eq(rules(run), ["client-cert-accepted-unadvertised", "client-cert-not-offered"],
               "nginx trusted-only: with client-cert-not-offered for the list", run.describe())
        tap.eq([f["observations"] for r in run.records for f in r["findings"]
                if f["rule"] == "client-cert-accepted-unadvertised"], [[0, 1]],
               "nginx trusted-only: one finding citing both variants (TLS 1.2 and 1.3)")


def check_apache(tap):
    """<Location /secure> SSLVerifyClient require: the certificate goes in the TLS 1.2
    renegotiation after GET /secure/; TLS 1.3 cannot be asked (no post-handshake auth offered).
    Apache advertises other.pem (SSLCADNRequestFile) and verifies against cas.pem."""
    with apache.ApacheServer() as a:
        target = "127.0.0.1:%d" % a.port
        want = {"right CA": ("http", 200), "untrusted CA": ("alert", "unknown_ca"),
                "expired": ("alert", "certificate_expired")}
        runs = {}
        for label, ident in IDENTITIES:
            run = runs[label] = scan(ident, target, "--request", "/secure/")
            oracle = s_client(a.port, "1.2", ident, "/secure/")
            tap.eq(oracle, want[label], "apache, %s: s_client meets %s %s in the renegotiation"
                   % (label, want[label][0], want[label][1]))
            tap.eq(answer(by_phase(run, "1.2")), (False, None, None),
                   "apache, %s: nothing presented in the handshake (not asked)" % label,
                   run.describe())
            tap.eq(answer(by_phase(run, "1.2", "renegotiation")), (True,) + oracle,
                   "apache, %s: the renegotiation's client_cert says what s_client met" % label,
                   run.describe())
            tap.eq(answer(by_phase(run, "1.3")), (False, None, None),
                   "apache, %s: TLS 1.3 is never asked" % label, run.describe())
            tap.eq((by_phase(run, "1.3").get("http") or {}).get("status"), 403,
                   "apache, %s: TLS 1.3 GET /secure/ gets 403" % label)
        access, errors = a.access_log(), a.error_log()
    tap.ok(re.search(r'"GET /secure/ HTTP/1.1" 200 TLSv1.2 verify=SUCCESS', access),
           "apache's access log: the right CA's certificate verified, 200", access)
    tap.ok("Error (20): unable to get local issuer certificate [subject: CN=caprobe Client of "
           "Other CA" in errors and "Error (10): certificate has expired [subject: CN=caprobe "
           "Expired Client" in errors, "apache's error log: the untrusted and the expired one "
           "refused", errors[-3000:])
    for label, want_rules in (("right CA", ["client-cert-accepted-unadvertised",
                                            "client-cert-not-offered",
                                            "post-request-client-auth"]),
                              ("untrusted CA", ["client-cert-rejected",
                                                "post-request-client-auth"]),
                              ("expired", ["client-cert-not-offered",
                                           "post-request-client-auth"])):
        tap.eq(rules(runs[label]), want_rules, "apache, %s: findings" % label,
               runs[label].describe())
    f = finding(runs["untrusted CA"], "client-cert-rejected")
    tap.ok(f and f["severity"] == "high" and "[127.0.0.1, no SNI, TLS 1.2, renegotiation] "
           "advertises CN=Other CA,O=Elsewhere,C=US" in f["message"] and
           "alert unknown_ca" in f["message"],
           "apache, untrusted CA: client-cert-rejected, high, on the renegotiation")
    http = by_phase(runs["untrusted CA"], "1.2").get("http") or {}
    tap.eq((http.get("error") or {}).get("message"), "the server sent alert unknown_ca (48) at the "
           "end of the renegotiation (after the client certificate)",
           "apache, untrusted CA: the request's error tells the certificate was sent")


LAB = """defaults:
  cert: ../pki/server.pem
  key: ../pki/server.key
  cas: [../pki/issuing.pem]
endpoints:
  - name: required
    client_auth: required
  - name: optional
    client_auth: optional
  - name: protected
    protected: /secure
    protected_cas: [../pki/issuing.pem]
  - name: iis
    client_auth: optional
    refuse_bad_cert: true
"""


def check_lab(tap):
    """The lab (mbedTLS 3.6): required and optional in the handshake, a protected path that
    renegotiates with REQUIRED. Its alerts over TLS 1.2 are named as s_client names them."""
    with h.LabServer(LAB) as lab:
        req, opt, prot = (lab.port(n) for n in ("required", "optional", "protected"))
        want = {"right CA": ("http", 200), "untrusted CA": ("alert", "unknown_ca"),
                "expired": ("alert", "certificate_expired")}
        for label, ident in IDENTITIES:
            oracle = s_client(req, "1.2", ident, "/")
            tap.eq(oracle, want[label], "lab required, %s: s_client meets %s %s"
                   % (label, oracle[0], oracle[1]))
            run = scan(ident, "127.0.0.1:%d" % req, "--tls", "1.2")
            tap.eq(answer(by_phase(run, "1.2")),
                   (True, "accepted", None) if oracle[0] == "http" else (True,) + oracle,
                   "lab required, %s, TLS 1.2: client_cert agrees" % label, run.describe())
            if label == "expired":
                f = finding(run, "client-cert-rejected")
                tap.ok(f and f["severity"] == "low" and "alert certificate_expired" in f["message"],
                       "lab required, expired: client-cert-rejected, low", run.describe())
            # TLS 1.3: the right certificate completes; a refused one's alert comes under
            # mbedTLS's handshake keys, which a client past its Finished cannot open (the lab's
            # README): s_client and caprobe both fail to read it
            run = scan(ident, "127.0.0.1:%d" % req, "--tls", "1.3")
            o = by_phase(run, "1.3")
            if label == "right CA":
                tap.eq(answer(o), (True, "accepted", None),
                       "lab required, right CA, TLS 1.3: accepted", run.describe())
            else:
                cc = o.get("client_cert") or {}
                tap.ok(cc.get("presented") is True and cc.get("result") == "error" and
                       "certificate under its handshake keys" in cc.get("error", ""),
                       "lab required, %s, TLS 1.3: presented, not taken, and why the answer "
                       "could not be read" % label, run.describe())
        # optional: the lab ignores a failed check, so a certificate of another CA is taken
        run = scan(OTHER, "127.0.0.1:%d" % opt, "--request", "/")
        for v in ("1.2", "1.3"):
            tap.eq(answer(by_phase(run, v)), (True, "http", 200),
                   "lab optional, untrusted CA, TLS %s: taken, 200" % v, run.describe())
        tap.eq(s_client(opt, "1.2", OTHER, "/"), ("http", 200), "lab optional: s_client gets 200")
        tap.eq(rules(run), ["client-cert-accepted-unadvertised", "client-cert-not-offered"],
               "lab optional, untrusted CA: client-cert-accepted-unadvertised", run.describe())
        # refuse_bad_cert (lab.yaml's right-list): as IIS, the handshake completes and the
        # request of a certificate that failed the check gets 403.16 or 403.17
        iis = lab.port("iis")
        want = {"right CA": 200, "untrusted CA": 403, "expired": 403}
        for label, ident in IDENTITIES:
            oracle = s_client(iis, "1.2", ident, "/")
            tap.eq(oracle, ("http", want[label]), "lab refuse_bad_cert, %s: s_client gets %s %s"
                   % (label, oracle[0], oracle[1]))
            run = scan(ident, "127.0.0.1:%d" % iis, "--request", "/")
            for v in ("1.2", "1.3"):
                tap.eq(answer(by_phase(run, v)), (True, "http", want[label]),
                       "lab refuse_bad_cert, %s, TLS %s: the request's status is s_client's"
                       % (label, v), run.describe())
            expect = {"right CA": [], "untrusted CA": ["client-cert-not-offered"],
                      "expired": ["client-cert-rejected"]}[label]
            tap.eq(rules(run), expect, "lab refuse_bad_cert, %s: findings %s" % (label, expect),
                   run.describe())
        # the renegotiation of a protected path
        for label, ident in IDENTITIES:
            oracle = s_client(prot, "1.2", ident, "/secure")
            run = scan(ident, "127.0.0.1:%d" % prot, "--request", "/secure")
            tap.eq(answer(by_phase(run, "1.2", "renegotiation")), (True,) + oracle,
                   "lab protected, %s: the renegotiation's answer is s_client's (%s %s)"
                   % (label, oracle[0], oracle[1]), run.describe())
        # the text report says it
        text = h.run_caprobe(["--timeout", "8", "--tls", "1.2", "--client-cert", OTHER[0],
                              "--client-key", OTHER[1], "127.0.0.1:%d" % req])
        tap.ok(re.search(r"^    client certificate: presented, refused with alert unknown_ca$",
                         text.stdout, re.M), "the text report tells the refusal", text.stdout)


SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def severity_words(findings):
    """"1 high, 1 medium": the findings counted by severity, as caprobe's summaries say it."""
    n = {}
    for f in findings:
        n[f["severity"]] = n.get(f["severity"], 0) + 1
    return ", ".join("%d %s" % (n[s], s) for s in SEVERITY_ORDER if s in n)


def check_counts(tap):
    """One finding per target and situation: a certificate of another CA that the lab's optional
    endpoint takes, probed on four variants (two SNI forms, two versions) that each advertise
    one other name, is one client-cert-not-offered and one client-cert-accepted-unadvertised,
    each citing the four variants; every renderer counts the findings of JSON Lines, and the
    text report shows as many finding lines as its heading counts."""
    with h.LabServer(LAB) as lab:
        target = "localhost:%d" % lab.port("optional")
        base = ["-4", "--timeout", "8", "--client-cert", OTHER[0], "--client-key", OTHER[1]]
        run = h.run_caprobe(base + ["--format", "jsonl", target])
        rec = run.records[0] if run.records and not run.parse_error else {}
        obs, fs = rec.get("observations", []), rec.get("findings", [])
        tap.eq(len(obs), 4, "four variants probed", run.describe())
        for rule in ("client-cert-not-offered", "client-cert-accepted-unadvertised"):
            cite = [f["observations"] for f in fs if f["rule"] == rule]
            tap.eq(cite, [[0, 1, 2, 3]], "%s: one finding citing the four variants" % rule,
                   run.describe())
        n, sev = len(fs), severity_words(fs)
        head = "%s  %d finding%s: %s" % (target, n, "" if n == 1 else "s", sev)
        text = h.run_caprobe(base + [target])
        lines = re.findall(r"^  (?:critical|high|medium|low|info) +\S+", text.stdout, re.M)
        tap.ok(text.stdout.startswith(head + "\n") and len(lines) == n,
               "text: the heading counts %d findings, as many lines shown" % n, text.describe())
        tap.ok("1 target: 1 with findings (%s)" % sev in text.stderr,
               "the summary on standard error counts them", text.stderr)
        one = h.run_caprobe(base + ["--format", "oneline", target])
        tap.ok(one.stdout.startswith(head + "  "), "oneline counts them", one.describe())
        sarif = h.run_caprobe(base + ["--format", "sarif", target])
        try:
            results = json.loads(sarif.stdout)["runs"][0]["results"]
        except (ValueError, KeyError, IndexError):
            results = None
        tap.eq(len(results or []), n, "SARIF: one result per finding", sarif.describe())
        junit = h.run_caprobe(base + ["--format", "junit", target])
        tap.ok('<failure message="%d findings, highest high"' % n in junit.stdout,
               "JUnit counts them", junit.describe())
        with tempfile.TemporaryDirectory() as tmp:
            scan = os.path.join(tmp, "scan.jsonl")
            with open(scan, "w") as f:
                f.write(run.stdout)
            rep = h.run_caprobe(["report", scan])
        tap.ok(re.search(r"^  %d findings: %s$" % (n, sev), rep.stdout, re.M) and all(
            re.search(r"^  %s +\S+ +1 +1$" % rule, rep.stdout, re.M)
            for rule in ("client-cert-not-offered", "client-cert-accepted-unadvertised")),
            "caprobe report counts them, one per rule", rep.describe())


def check_key_forms(tap):
    """RSA PKCS#1, encrypted PKCS#8 with a passphrase file, P-384: each presented and taken by
    s_server (-verify_return_error: it refuses what it cannot verify)."""
    srv = h.OpensslServer(["-CAfile", h.pki("cas.pem"), "-Verify", "2", "-verify_return_error"])
    with srv:
        target = "127.0.0.1:%d" % srv.port
        cases = (("RSA PKCS#1", [h.pki("clients/rsa.pem"), h.pki("clients/rsa-pkcs1.key")]),
                 ("RSA PKCS#8 DER", [h.pki("clients/rsa.pem"), h.pki("clients/rsa-pkcs8.der")]),
                 ("encrypted PKCS#8", [h.pki("clients/rsa.pem"),
                                       h.pki("clients/rsa-pkcs8-enc.key"),
                                       "--client-key-password-file",
                                       h.pki("clients/passphrase.txt")]),
                 ("EC P-384", [h.pki("clients/p384.pem"), h.pki("clients/p384-sec1.key")]),
                 ("RSA PKCS#1 with a passphrase file", [
                     h.pki("clients/rsa.pem"), h.pki("clients/rsa-pkcs1.key"),
                     "--client-key-password-file", h.pki("clients/passphrase.txt")]))
        unused = ("caprobe: warning: --client-key-password-file %s: not used: the key %s is not "
                  "encrypted\n" % (h.pki("clients/passphrase.txt"), h.pki("clients/rsa-pkcs1.key")))
        rcs = {}
        for label, args in cases:
            run = scan((args[0], args[1]), target, *args[2:])
            rcs[label] = run.rc
            for v in ("1.2", "1.3"):
                tap.eq(answer(by_phase(run, v)), (True, "accepted", None),
                       "%s, TLS %s: presented and accepted by s_server" % (label, v),
                       run.describe())
            # a passphrase for a key that is not encrypted: said once, naming both files
            warned = run.stderr.count("--client-key-password-file")
            if label.endswith("passphrase file"):
                tap.ok(warned == 1 and unused in run.stderr and run.stderr.startswith(unused),
                       "an unencrypted key with a passphrase file: one warning naming the file "
                       "and the key, before the scan", run.stderr)
                tap.eq(run.rc, rcs["RSA PKCS#1"], "... and the exit status is that without it")
            else:
                tap.eq(warned, 0, "%s: no warning of the passphrase file" % label, run.stderr)
        out = srv.output()
    tap.ok("CN = caprobe P-384 Client" in out and "CN = caprobe RSA Client" in out,
           "s_server verified the RSA and the P-384 certificates", out[-2000:])


def check_refusals(tap):
    """Usage errors, said in words and before anything is scanned."""
    t = "127.0.0.1:1"
    cases = (
        (["--client-key", GOOD[1]], "--client-key needs --client-cert"),
        (["--client-cert", GOOD[0], "--client-key-password-file", GOOD[1]],
         "--client-key-password-file needs --client-key"),
        (["--client-cert", h.pki("clients/rsa.pem"), "--client-key",
          h.pki("clients/rsa-pkcs8-enc.key")], "the key is encrypted: give its passphrase"),
        (["--client-cert", h.pki("clients/ed25519.pem"), "--client-key",
          h.pki("clients/ed25519.key")], "holds an Ed25519 key or signature, which mbedTLS 3.6"),
        (["--client-cert", GOOD[0], "--client-key", OTHER[1]],
         "not the key of the client certificate CN=caprobe Test Client"),
    )
    for args, says in cases:
        run = h.run_caprobe(args + [t])
        tap.ok(run.rc == 2 and says in run.stderr and run.stdout == "",
               "refused with exit 2: %s" % says, run.describe())
    # an Ed25519 certificate alone is read: it must be offerable, nothing is presented
    with h.OpensslServer(["-CAfile", h.pki("cas.pem"), "-verify", "2"]) as srv:
        run = h.run_caprobe(["--format", "jsonl", "--client-cert", h.pki("clients/ed25519.pem"),
                             "127.0.0.1:%d" % srv.port])
        tap.ok(run.rc == 0 and run.records and not any("client_cert" in o
                                                        for o in observations(run)),
               "--client-cert alone with an Ed25519 certificate: read, checked, nothing "
               "presented", run.describe())


def check_cert_alone(tap):
    """Without --client-key, --client-cert means what it always did: no certificate is sent
    (s_server -verify asks and logs what it got), no client_cert, the list's finding only."""
    with h.OpensslServer(["-CAfile", h.pki("cas.pem"), "-verify", "2"]) as srv:
        run = h.run_caprobe(["--format", "jsonl", "--request", "/", "--client-cert", OTHER[0],
                             "127.0.0.1:%d" % srv.port])
        out = srv.output()
    tap.eq(rules(run), ["client-cert-not-offered"], "--client-cert alone: the list's finding",
           run.describe())
    tap.ok(observations(run) and not any("client_cert" in o for o in observations(run)),
           "--client-cert alone: no client_cert in the record")
    tap.ok("caprobe Client of Other CA" not in out, "--client-cert alone: s_server saw no "
           "certificate", out[-1500:])


def check_key_wiped(tap):
    """No copy of the key file or the passphrase is left in memory caprobe frees: freescan.c,
    preloaded, searches every block given back to the allocator for a line of the key's base64
    (or the passphrase). A key file larger than the first read buffer (64 KiB: the key, then
    comment lines) makes the reader outgrow that buffer, which is then wiped before it is
    freed (realloc would hand it back as it is)."""
    shim = os.environ.get("CAPROBE_FREESCAN", "")
    with open(h.caprobe_path(), "rb") as f:
        sanitized = b"__asan_init" in f.read()  # the sanitizer's allocator, not glibc's
    if sanitized or not os.path.exists(shim):
        tap.skip("key bytes wiped", "a sanitizer build" if sanitized else
                 "no freescan library (CAPROBE_FREESCAN)")
        return
    with open(GOOD[1]) as f:
        key = f.read()
    needle = key.splitlines()[2]  # a whole line of the key's base64
    with tempfile.TemporaryDirectory(prefix="caprobe-key-") as tmp:
        big = os.path.join(tmp, "padded.key")
        with open(big, "w") as f:
            f.write(key + "# a comment line after the key, to pass 64 KiB\n" * 1500)
        cases = (("the key file", needle, [GOOD[0], GOOD[1]]),
                 ("a key file of %d bytes" % os.path.getsize(big), needle, [GOOD[0], big]),
                 ("the passphrase", "caprobe test passphrase",
                  [h.pki("clients/rsa.pem"), h.pki("clients/rsa-pkcs8-enc.key"),
                   "--client-key-password-file", h.pki("clients/passphrase.txt")]))
        for label, what, args in cases:
            env = dict(os.environ, LD_PRELOAD=shim, CAPROBE_FREESCAN_NEEDLE=what)
            p = subprocess.run([h.caprobe_path(), "--timeout", "2", "--client-cert", args[0],
                                "--client-key"] + args[1:] + ["127.0.0.1:%d" % h.free_port()],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            tap.ok(p.returncode in (0, 1) and "freescan:" not in err and
                   "not probed" in err, "%s: no copy of it in freed memory" % label, err[-1500:])


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    ok, why = apache.apache_available()
    checks = [check_refusals, check_cert_alone, check_key_forms, check_nginx_on,
              check_nginx_trusted, check_lab, check_counts, check_key_wiped]
    h.run_checks(tap, checks)
    if ok:
        h.run_checks(tap, [check_apache])
    else:
        tap.skip("apache2 renegotiation", why)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
