#!/usr/bin/env python3
"""caprobe against real `openssl s_server` on loopback, and against misbehaving socket servers.

Every list case is checked three ways: against the certificates of the -CAfile (DER subjects
extracted here, in file order), against what `openssl s_client` reports, and for consistency
within caprobe's own record (ca_count, ca_bytes, sha256). Emits TAP; exits non-zero on failure.

openssl 3.0 behaviour these cases rely on (observed, recorded here):
- `-accept 127.0.0.1:0` binds a kernel-chosen port and prints "ACCEPT 127.0.0.1:PORT" on stdout
  (not with -quiet, which suppresses it).
- The advertised list is the -CAfile subjects in file order, equal names dropped.
- `-verify 1` without -CAfile: TLS 1.2 sends an empty certificate_authorities vector; TLS 1.3
  sends a CertificateRequest without the certificate_authorities extension.
- `-no_ca_names` with a -CAfile: TLS 1.2 sends an empty vector as well; TLS 1.3 sends the
  certificate_authorities extension with an empty list (00 2f 00 02 00 00), which RFC 8446
  (<3..2^16-1>) does not allow. caprobe must still report a request with no names.
- Without -verify / -Verify there is no CertificateRequest.
"""

import base64
import collections
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
VERSIONS = [("1.2", "-tls1_2"), ("1.3", "-tls1_3")]

# (id, description, s_server arguments, expectation)
#   expectation: {"cafile": PATH} list = subjects of PATH; {"empty": True}; {"no_request": True}
CASES = [
    ("single-required", "single CA, certificate required (-Verify 1)",
     ["-Verify", "1", "-CAfile", h.pki("issuing.pem")], {"cafile": h.pki("issuing.pem")}),
    ("single-optional", "single CA, certificate optional (-verify 1)",
     ["-verify", "1", "-CAfile", h.pki("issuing.pem")], {"cafile": h.pki("issuing.pem")}),
    ("two-cas", "issuing CA and root, in that order",
     ["-verify", "1", "-CAfile", h.pki("cas.pem")], {"cafile": h.pki("cas.pem")}),
    ("system-roots", "the system root bundle",
     ["-verify", "1", "-CAfile", SYSTEM_BUNDLE], {"cafile": SYSTEM_BUNDLE}),
    ("empty", "empty list (-verify 1, no -CAfile)",
     ["-verify", "1"], {"empty": True}),
    ("empty-no-ca-names", "empty list (-verify 1 -CAfile -no_ca_names)",
     ["-verify", "1", "-CAfile", h.pki("issuing.pem"), "-no_ca_names"], {"empty": True}),
    ("no-request", "no CertificateRequest (no -verify)",
     [], {"no_request": True}),
    ("many-20k", "many-20k.pem: 200 names, > 16 KiB",
     ["-verify", "1", "-CAfile", h.pki("many-20k.pem")], {"cafile": h.pki("many-20k.pem")}),
    ("many-40k", "many-40k.pem: 460 names, > 40 KiB",
     ["-verify", "1", "-CAfile", h.pki("many-40k.pem")], {"cafile": h.pki("many-40k.pem")}),
    ("special", "RFC 4514 special characters and UTF-8",
     ["-verify", "1", "-CAfile", h.pki("special.pem")],
     {"cafile": h.pki("special.pem"), "special": True}),
]

# The special CA's name as RFC 4514 attribute/value pairs (least significant RDN first).
SPECIAL_RDNS = [[("CN", '#1 Test, Inc. + "Quoted" \\ M\u00fcller')], [("O", "caprobe")],
                [("C", "DE")]]

SERVER_SUBJECT = "CN=localhost"


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    exe = h.caprobe_path()
    if exe is None:
        tap.diag("caprobe binary not found ($CAPROBE=%r): only the openssl side is checked"
                 % os.environ.get("CAPROBE"))
    server_sha256 = h.cert_sha256_fingerprint(h.pki("server.pem"))
    for case in CASES:
        for ver, flag in VERSIONS:
            try:
                check_server_case(tap, exe, case, ver, flag, server_sha256)
            except Exception as e:  # a harness failure is a failed test, and the run goes on
                tap.ok(False, "tls%s %s: harness" % (ver, case[0]), "%s: %s" % (type(e).__name__, e))
    if exe is not None:
        for case in SUITE_CASES:
            try:
                check_suite_case(tap, case)
            except Exception as e:
                tap.ok(False, "%s: harness" % case[0], "%s: %s" % (type(e).__name__, e))
    check_bad_servers(tap, exe)
    return tap.finish()


# ---------------------------------------------------------------- openssl s_server cases

def check_server_case(tap, exe, case, ver, flag, server_sha256):
    cid, desc, args, expect = case
    label = "tls%s %s" % (ver, cid)
    if "cafile" in expect and not os.path.exists(expect["cafile"]):
        tap.skip(label, "%s is missing (apt-get install ca-certificates)" % expect["cafile"])
        return
    want = h.ca_file_subjects(expect["cafile"]) if "cafile" in expect else []
    with h.OpensslServer(args + [flag]) as srv:
        tap.diag("%s: %s; s_server %s on port %d (%s)"
                 % (label, desc, " ".join(args + [flag]), srv.port, srv.how))
        sc = h.s_client_info(srv.port, flag)
        run = None
        if exe is not None:
            run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "5",
                                 "127.0.0.1:%d" % srv.port])

    # What openssl's own client sees: validates the fixture and the server set-up.
    if expect.get("no_request") or expect.get("empty"):
        tap.eq(sc["ca_names"], [], "%s: openssl s_client reports no CA names" % label)
    else:
        got = sc["ca_names"]
        tap.ok(got is not None and len(got) == len(want),
               "%s: openssl s_client reports %d CA names" % (label, len(want)),
               "s_client reported %s names\n%s"
               % (None if got is None else len(got), sc["raw"][-3000:]))
        # The order openssl sends: the CA file's order (checked by text, as s_client prints it).
        texts = h.openssl_subject_texts(expect["cafile"])
        want_texts = [texts[d] for d in want]
        tap.ok(got == want_texts, "%s: openssl s_client lists the names in CA file order" % label,
               "first difference at index %s" % next(
                   (i for i, (a, b) in enumerate(zip(got or [], want_texts)) if a != b), None))
    if expect.get("no_request"):
        tap.eq(sc["sigalgs"], None, "%s: openssl s_client sees no CertificateRequest" % label)
    else:
        tap.ok(sc["sigalgs"], "%s: openssl s_client sees a CertificateRequest" % label,
               sc["raw"][-3000:])

    if run is None:
        tap.skip("%s: caprobe" % label, "caprobe not built")
        return
    observations = check_record(tap, run, label)
    if observations is None:
        return
    for i, obs in enumerate(observations):
        olabel = label if len(observations) == 1 else "%s obs[%d]" % (label, i)
        check_observation(tap, run, olabel, obs, ver, args, expect, want, sc, server_sha256)


def check_record(tap, run, label):
    """Checks common to every caprobe run against one target; returns its observations."""
    ok = tap.ok(run.rc in (0, 1), "%s: caprobe exit status 0 or 1" % label, run.describe())
    ok &= tap.ok(run.parse_error is None and len(run.records) == 1,
                 "%s: caprobe prints one JSON object" % label,
                 "%d objects%s\n%s" % (len(run.records), "; " + run.parse_error
                                          if run.parse_error else "", run.describe()))
    if not run.records:
        return None
    rec = run.records[0]
    tap.eq(rec.get("schema"), "caprobe/1", "%s: schema caprobe/1" % label)
    target = run.cmd[-1]
    tap.eq((rec.get("target"), rec.get("port")), (target, int(target.rsplit(":", 1)[1])),
           "%s: target and port" % label)
    obs = rec.get("observations")
    if not tap.ok(isinstance(obs, list) and len(obs) >= 1, "%s: has observations" % label,
                  run.describe()):
        return None
    if len(obs) != 1:
        tap.diag("%s: %d observations for one address and one version" % (label, len(obs)))
    return obs


def check_observation(tap, run, label, obs, ver, args, expect, want, sc, server_sha256):
    outcome = obs.get("outcome")
    want_outcome = "no_certificate_request" if expect.get("no_request") else "certificate_request"
    if not tap.eq(outcome, want_outcome, "%s: outcome %s" % (label, want_outcome)):
        tap.diag(run.describe())
        return
    tap.eq((obs.get("tls") or {}).get("version"), ver, "%s: tls.version %s" % (label, ver))
    check_server_certificate(tap, label, obs, server_sha256)

    if expect.get("no_request"):
        tap.ok("certificate_request" not in obs, "%s: no certificate_request key" % label,
               repr(obs.get("certificate_request"))[:2000])
        return

    cr = obs.get("certificate_request")
    if not tap.ok(isinstance(cr, dict), "%s: certificate_request object" % label, repr(obs)[:2000]):
        return
    cas = cr.get("cas", [])
    try:
        got = [h.b64der(c["der"]) for c in cas]
    except Exception as e:
        tap.ok(False, "%s: cas[].der is base64" % label, "%s: %s" % (type(e).__name__, e))
        return

    # The list: multiset, then order, then the counters.
    missing = collections.Counter(want) - collections.Counter(got)
    extra = collections.Counter(got) - collections.Counter(want)
    tap.ok(not missing and not extra,
           "%s: advertised names = subjects of the CA file (%d)" % (label, len(want)),
           "got %d, want %d; %d missing, %d unexpected\nfirst missing: %s\nfirst unexpected: %s"
           % (len(got), len(want), sum(missing.values()), sum(extra.values()),
              _first(missing), _first(extra)))
    first_diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    tap.ok(got == want, "%s: names in file order" % label,
           "first difference at index %s (got %d names, want %d)"
           % (first_diff, len(got), len(want)))
    tap.eq(cr.get("ca_count"), len(want), "%s: ca_count %d" % (label, len(want)))
    want_bytes = sum(len(d) for d in want)
    tap.eq(cr.get("ca_bytes"), want_bytes, "%s: ca_bytes %d" % (label, want_bytes))
    if sc["ca_names"] is not None:
        tap.eq(cr.get("ca_count"), len(sc["ca_names"]),
               "%s: ca_count = openssl s_client's count" % label)
    bad_sha = [i for i, (c, d) in enumerate(zip(cas, got))
               if h.norm_hex(c.get("sha256", "")) != hashlib.sha256(d).hexdigest()]
    tap.ok(not bad_sha, "%s: cas[].sha256 = SHA-256 of der" % label,
           "wrong at indexes %s" % bad_sha[:20])
    marked = [i for i, c in enumerate(cas) if c.get("malformed")]
    tap.ok(not marked, "%s: no name marked malformed" % label, "marked: %s" % marked[:20])

    # DN texts.
    if "cafile" in expect:
        if expect.get("special"):
            check_special_dn(tap, label, cas)
        else:
            check_dn_texts(tap, label, cas, got, expect["cafile"])

    # Certificate types (TLS 1.2 only) and signature algorithms, against s_client.
    if ver == "1.2":
        types = cr.get("certificate_types")
        want_types = len(sc["cert_types"].split(",")) if sc["cert_types"] else None
        tap.ok(isinstance(types, list) and "ecdsa_sign" in types and
               (want_types is None or len(types) == want_types),
               "%s: certificate_types has ecdsa_sign, %s entries as s_client shows"
               % (label, want_types),
               "got %r; s_client: %r" % (types, sc["cert_types"]))
    else:
        tap.ok(not cr.get("certificate_types"), "%s: no certificate_types in TLS 1.3" % label,
               repr(cr.get("certificate_types")))
    if ver == "1.3":
        # caprobe tells a missing certificate_authorities extension from an empty one.
        want_ext = not (expect.get("empty") and "-CAfile" not in args)
        if "certificate_authorities_extension" in cr:
            tap.eq(cr["certificate_authorities_extension"], want_ext,
                   "%s: certificate_authorities_extension %s" % (label, want_ext))
        else:
            tap.skip("%s: certificate_authorities_extension" % label, "key not in the output")
    algs = cr.get("signature_algorithms")
    want_algs = len(sc["sigalgs"]) if sc["sigalgs"] else None
    tap.ok(isinstance(algs, list) and "ecdsa_secp256r1_sha256" in algs and
           (want_algs is None or len(algs) == want_algs),
           "%s: signature_algorithms has ecdsa_secp256r1_sha256, %s entries as s_client shows"
           % (label, want_algs),
           "got %r\ns_client: %r" % (algs, sc["sigalgs"]))


def _first(counter):
    for der in counter:
        return "%s (%d bytes)" % (base64.b64encode(der).decode()[:120], len(der))
    return "-"


def check_server_certificate(tap, label, obs, server_sha256):
    sc = obs.get("server_certificate") or {}
    tap.eq(sc.get("subject"), SERVER_SUBJECT, "%s: server_certificate.subject" % label)
    tap.eq(h.norm_hex(sc.get("sha256", "")), server_sha256,
           "%s: server_certificate.sha256 = openssl fingerprint" % label)


def check_dn_texts(tap, label, cas, got, cafile):
    texts = h.openssl_subject_texts(cafile)
    compared, skipped, wrong = 0, 0, []
    for i, (c, der) in enumerate(zip(cas, got)):
        want = texts.get(der)
        if want is None:
            continue
        if not h.is_plain_ascii_dn(want):
            skipped += 1
            continue
        compared += 1
        if c.get("dn") != want:
            wrong.append((i, c.get("dn"), want))
    if skipped:
        tap.diag("%s: %d names not compared as text (non-ASCII, #hex or types without an "
                 "RFC 4514 short name)" % (label, skipped))
    tap.ok(compared > 0 and not wrong,
           "%s: dn = openssl -nameopt RFC2253 for %d plain-ASCII names" % (label, compared),
           "\n".join("[%d] got  %r\n     want %r" % w for w in wrong[:10]))


def check_special_dn(tap, label, cas):
    dn = cas[0].get("dn") if cas else None
    try:
        parsed = h.parse_rfc4514(dn or "")
        err = None
    except ValueError as e:
        parsed, err = None, str(e)
    tap.ok(parsed == SPECIAL_RDNS,
           "%s: dn is valid RFC 4514 and decodes to the special name" % label,
           "dn: %r\nparse: %s\nwant: %r" % (dn, err or parsed, SPECIAL_RDNS))
    if dn is not None:
        tap.diag("%s: caprobe prints %s" % (label, dn))


# ---------------------------------------------------------------- cipher suites, key shares

# (id, s_server arguments, caprobe --tls, expected tls.cipher_suite): every TLS 1.3 AEAD the
# capture decrypts, a HelloRetryRequest (the server wants a group the first ClientHello has no share of),
# and TLS 1.2 suites of both families.
SUITE_CASES = [
    ("tls1.3 aes128-gcm", ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"], "1.3",
     "TLS1-3-AES-128-GCM-SHA256"),
    ("tls1.3 aes256-gcm", ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"], "1.3",
     "TLS1-3-AES-256-GCM-SHA384"),
    ("tls1.3 chacha20", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"], "1.3",
     "TLS1-3-CHACHA20-POLY1305-SHA256"),
    ("tls1.3 aes128-ccm", ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"], "1.3",
     "TLS1-3-AES-128-CCM-SHA256"),
    ("tls1.3 hello-retry", ["-tls1_3", "-groups", "secp384r1"], "1.3", None),
    ("tls1.2 ecdhe-aes128-gcm", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "1.2",
     "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"),
    ("tls1.2 ecdhe-aes256-cbc", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"], "1.2",
     "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA384"),
]


def check_suite_case(tap, case):
    label, args, ver, suite = case
    want = h.ca_file_subjects(h.pki("issuing.pem"))
    with h.OpensslServer(["-Verify", "1", "-CAfile", h.pki("issuing.pem")] + args) as srv:
        run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "5",
                             "127.0.0.1:%d" % srv.port])
    obs = run.records[0]["observations"] if len(run.records) == 1 else []
    if not tap.ok(len(obs) == 1, "%s: one observation" % label, run.describe()):
        return
    o = obs[0]
    tap.eq(o.get("outcome"), "certificate_request", "%s: outcome" % label)
    tap.eq(o.get("tls", {}).get("version"), ver, "%s: negotiated version" % label)
    if suite is not None:
        tap.eq(o.get("tls", {}).get("cipher_suite"), suite, "%s: cipher suite" % label)
    got = [base64.b64decode(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]
    tap.eq(got, want, "%s: the issuing CA's DER subject, byte for byte" % label)


# ---------------------------------------------------------------- misbehaving servers

def check_bad_servers(tap, exe):
    if exe is None:
        tap.skip("bad servers", "caprobe not built")
        return
    for ver, _ in VERSIONS:
        with h.BadServer("close") as srv:
            run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "5",
                                 "127.0.0.1:%d" % srv.port])
        check_error(tap, run, "tls%s close-at-once" % ver, ("reset", "protocol"))

        with h.BadServer("silent") as srv:
            run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "2",
                                 "127.0.0.1:%d" % srv.port], timeout=30)
        check_error(tap, run, "tls%s never-answers" % ver, ("timeout",))
        tap.diag("tls%s never-answers: caprobe --timeout 2 took %.2f s" % (ver, run.elapsed))
        tap.ok(run.rc is not None and run.elapsed < 10.0,
               "tls%s never-answers: caprobe exits (--timeout 2, took %.1f s)"
               % (ver, run.elapsed), run.describe())

        with h.BadServer("garbage") as srv:
            run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "5",
                                 "127.0.0.1:%d" % srv.port])
        check_error(tap, run, "tls%s garbage" % ver, ("protocol",))

        port = h.closed_port()
        run = h.run_caprobe(["--format", "jsonl", "--tls", ver, "--timeout", "5",
                             "127.0.0.1:%d" % port])
        check_error(tap, run, "tls%s closed-port" % ver, ("refused",))

    check_announced(tap)

    target = "300.1.1.1:99999"
    run = h.run_caprobe(["--format", "jsonl", "--timeout", "5", target])
    tap.eq(run.rc, 2, "unparsable target %s: exit status 2" % target)
    tap.ok("300.1.1.1" in run.stderr, "unparsable target: stderr names it", run.describe())


def check_announced(tap):
    """A reply whose handshake header announces more than the capture limit is told as such, not
    as bytes the server sent; a garbled reply whose header is no message a server sends first is
    not TLS (kind protocol), whatever the limit."""
    body = b"\x02\xff\xff\xff\x03\x03" + b"\x00" * 32
    biglen = b"\x16\x03\x03" + struct.pack(">H", len(body)) + body
    garbled = b"\x16\x03\x01\x00\x05garbagegarbage" * 20
    cases = [("ServerHello announcing 0xFFFFFF bytes", biglen, [], "capture_limit",
              "a handshake message server_hello (type 2) announced 16777215 bytes, more than the "
              "capture limit of 262144 bytes (--capture-limit); 43 bytes received"),
             ("garbled reply", garbled, [], "protocol",
              "unexpected handshake message of type 0x67 (none TLS defines) after 380 bytes, "
              "where a ServerHello was expected (not TLS?)"),
             ("garbled reply, --capture-limit 16777216", garbled,
              ["--capture-limit", "16777216"], "protocol",
              "unexpected handshake message of type 0x67 (none TLS defines) after 380 bytes")]
    for label, payload, opts, kind, message in cases:
        with h.BadServer("garbage", payload) as srv:
            run = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "--timeout", "5"] + opts +
                                ["127.0.0.1:%d" % srv.port])
        o = (run.records[0]["observations"] if len(run.records) == 1 else [{}])[0]
        err = o.get("error") or {}
        tap.ok(err.get("kind") == kind and message in err.get("message", ""),
               "%s: error kind %s, %r" % (label, kind, message[:50]), err or run.describe())


def check_error(tap, run, label, kinds):
    observations = check_record(tap, run, label)
    if observations is None:
        return
    for i, obs in enumerate(observations):
        olabel = label if len(observations) == 1 else "%s obs[%d]" % (label, i)
        kind = (obs.get("error") or {}).get("kind")
        tap.ok(obs.get("outcome") == "error" and kind in kinds,
               "%s: outcome error, kind %s" % (olabel, " or ".join(kinds)),
               "outcome %r, error %r\n%s" % (obs.get("outcome"), obs.get("error"),
                                             run.describe()))
        tap.ok("certificate_request" not in obs, "%s: no certificate_request key" % olabel,
               repr(obs.get("certificate_request"))[:2000])
        if len(kinds) > 1:
            tap.diag("%s: error.kind is %r" % (olabel, kind))


if __name__ == "__main__":
    sys.exit(main())
