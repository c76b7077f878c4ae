#!/usr/bin/env python3
"""Every endpoint of the lab against the lab's own description of it. Each endpoint of
fixtures/lab/lab.yaml and before-renewal.yaml says in `expect:` which rules a scan of it fires
(none: a correct endpoint), which error kind its probes end with and how it is scanned; that is
read here with a YAML parser of the test's own, never from caprobe. caprobe scans every endpoint
as it says, and the rules must be exactly those, plus duplicate-ca where the names the endpoint
was configured with repeat one (the system bundle may hold two roots of one subject).

The names are held to two oracles: every CertificateRequest caprobe read (TLS 1.2 and TLS 1.3,
the handshake's and the renegotiation's) carries, DER for DER, the subjects of the CA files the
config gives that endpoint (its SNI override, its protected_cas, its raw names); and for every
mode tls endpoint that asks, `openssl s_client -tls1_2` and `-tls1_3` print as "Acceptable
client certificate CA names" what `openssl x509 -subject -nameopt RFC2253` prints for those
files: the lab's TLS 1.3 request names the CAs of its TLS 1.2 one, except where the endpoint says
`tls13_certificate_authorities: false` (then s_client reports that no names were sent). An
endpoint with `wrong_key: true` signs with a key its certificate does not hold: s_client fails
both handshakes with "bad signature", over TLS 1.3 after the request (its names are printed),
over TLS 1.2 before it (the ServerKeyExchange comes first), while caprobe reads the names all
the same (test_certverify.py has the rest).
Emits TAP."""

import base64
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LAB_DIR = os.path.join(h.fixtures_dir(), "lab")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HOST = "127.0.0.1"
TIMEOUT = "5"  # caprobe's own deadline per probe; stall and trickle end on it


def load(config):
    """The endpoints of a lab config, each with the defaults filled in (as the lab does)."""
    import yaml  # python3-yaml (Makefile TEST_PKGS)
    with open(os.path.join(LAB_DIR, config), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    defaults = doc.get("defaults") or {}
    return [dict(defaults, **e) for e in doc["endpoints"]]


def path_of(p):
    return SYSTEM_BUNDLE if p == "system" else os.path.join(LAB_DIR, p)


def files_of(cas):
    return [path_of(p) for p in ([cas] if isinstance(cas, str) else cas or [])]


def subjects_der(cas):
    """The DER subjects of the certificates of the CA files, in file order."""
    return [h.cert_subject_der(c) for p in files_of(cas) for c in h.pem_certs(p)]


_rfc2253 = {}


def subjects_rfc2253(cas):
    """The subjects as `openssl x509 -subject -nameopt RFC2253` prints them, in file order."""
    out = []
    for p in files_of(cas):
        if p not in _rfc2253:
            names = []
            for der in h.pem_certs(p):
                r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject",
                                    "-nameopt", "RFC2253"], input=der, capture_output=True,
                                   check=True, timeout=30)
                names.append(r.stdout.decode("utf-8").strip().split("=", 1)[1])
            _rfc2253[p] = names
        out += _rfc2253[p]
    return out


def raw_names(e):
    """The names a raw flight carries (fixtures/lab/README.md): the cas subjects `repeat` times,
    then names_hex, no name past truncate_at bytes of the list."""
    names = subjects_der(e.get("cas")) * int(e.get("repeat", 1))
    names += [bytes.fromhex(x.replace(" ", "").replace(":", "")) for x in e.get("names_hex", [])]
    cut, total = [], 0
    for n in names:
        if e.get("truncate_at") and total + 2 + len(n) > int(e["truncate_at"]):
            break
        cut.append(n)
        total += 2 + len(n)
    return cut


def asks(e):
    return e.get("mode", "tls") == "tls" and e.get("client_auth", "none") != "none"


def sni_entry(e, sni):
    for name, over in (e.get("sni") or {}).items():
        if sni is not None and name.lower() == sni.lower():
            return over
    return None


def expected_names(e, o):
    """The DER names observation o must carry, from the config alone."""
    if e.get("mode", "tls") == "raw":
        return raw_names(e)
    if o.get("phase") == "renegotiation":
        return subjects_der(e.get("protected_cas", e.get("cas")))
    over = sni_entry(e, o.get("sni")) or {}
    if (o.get("tls") or {}).get("version") == "1.3" and \
            e.get("tls13_certificate_authorities") is False:
        return []
    return subjects_der(over.get("cas", e.get("cas")))


def every_list(e):
    """Every list the endpoint is configured to advertise (for duplicate-ca)."""
    if e.get("mode", "tls") == "raw":
        return [raw_names(e)] if e.get("raw") == "flight" else []
    lists = [subjects_der(e.get("cas"))] if asks(e) else []
    lists += [subjects_der(v["cas"]) for v in (e.get("sni") or {}).values() if "cas" in v]
    if e.get("protected"):
        lists.append(subjects_der(e.get("protected_cas", e.get("cas"))))
    return lists


def scan_args(e, port):
    scan = e["expect"].get("scan", ["{host}:{port}"])
    return [a.format(host=HOST, port=port, dir=LAB_DIR) for a in scan]


def ders(o):
    return [base64.b64decode(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]


def scan_all(tap, eps, lab, config):
    """One caprobe run per distinct set of options (the target is the last argument): the
    records by port."""
    groups = {}
    for e in eps:
        args = scan_args(e, lab.port(e["name"]))
        groups.setdefault(tuple(args[:-1]), []).append(args[-1])
    by_port = {}
    for opts, targets in groups.items():
        r = h.run_caprobe(["--format", "jsonl", "--timeout", TIMEOUT] + list(opts) + targets,
                          timeout=180)
        tap.ok(r.rc in (0, 1) and len(r.records) == len(targets),
               "%s: caprobe %s: one record per target (%d)" % (config, " ".join(opts) or
                                                                "(default)", len(targets)),
               r.describe())
        for rec in r.records:
            by_port[rec["port"]] = rec
    return by_port


def check_endpoint(tap, config, e, rec):
    name, exp = "%s %s" % (config, e["name"]), e["expect"]
    obs = rec.get("observations", [])
    want = set(exp.get("rules", []))
    if "error" not in exp and any(len(set(lst)) < len(lst) for lst in every_list(e)):
        want.add("duplicate-ca")
    got = {f["rule"] for f in rec.get("findings", [])}
    if not want:
        tap.eq(sorted(got), [], "%s: labelled correct, no finding" % name, rec.get("findings"))
    else:
        tap.eq(sorted(got), sorted(want), "%s: exactly %s" % (name, ", ".join(sorted(want))),
               [(f["rule"], f["message"][:160]) for f in rec.get("findings", [])])
    kinds = {o["error"]["kind"] for o in obs if o.get("outcome") == "error"}
    if "error" in exp:
        tap.ok(obs and all(o.get("outcome") == "error" for o in obs) and exp["error"] in kinds
               and kinds <= {exp["error"], "version_not_offered"},
               "%s: every probe ends in error %s" % (name, exp["error"]),
               [(o.get("tls_max"), o.get("error")) for o in obs])
        return
    tap.ok(obs and kinds <= {"version_not_offered"},
           "%s: no probe fails (but a TLS 1.3 probe of a TLS 1.2-only flight)" % name,
           [(o.get("tls_max"), o.get("error")) for o in obs])
    lists = [o for o in obs if o.get("outcome") == "certificate_request"]
    bad = [(o.get("sni"), o.get("tls", {}).get("version"), o.get("phase"), len(ders(o)),
            len(expected_names(e, o))) for o in lists if ders(o) != expected_names(e, o)]
    asked = asks(e) or e.get("protected") or e.get("mode") == "raw"
    tap.ok((lists or not asked) and not bad,
           "%s: %d requests, each with the subjects of its CA files, DER for DER"
           % (name, len(lists)), bad or [(o.get("tls_max"), o.get("outcome")) for o in obs])
    if asks(e):
        versions = {(o.get("tls") or {}).get("version") for o in lists}
        tap.ok({"1.2", "1.3"} <= versions, "%s: TLS 1.2 and TLS 1.3 requests read" % name,
               sorted(v or "-" for v in versions))


def check_s_client(tap, config, e, port):
    """openssl's view of every request a mode tls endpoint makes in the handshake."""
    if not asks(e):
        return
    extra = ["-starttls", "smtp"] if e.get("starttls") == "smtp" else []
    snis = [None] + list((e.get("sni") or {}).keys())
    for flag in ("-tls1_2", "-tls1_3"):
        for sni in snis:
            over = sni_entry(e, sni) or {}
            want = subjects_rfc2253(over.get("cas", e.get("cas")))
            if flag == "-tls1_3" and e.get("tls13_certificate_authorities") is False:
                want = []
            if flag == "-tls1_2" and e.get("wrong_key"):
                want = []  # the ServerKeyExchange, whose signature fails, comes before it
            how = ["-servername", sni] if sni else ["-noservername"]
            info = h.s_client_info(port, flag, extra=extra + how)
            tap.eq(info["ca_names"], want, "%s %s: openssl s_client %s%s: the CA files' %d "
                   "subjects" % (config, e["name"], flag, " -servername " + sni if sni else "",
                                 len(want)), info["raw"][-1500:])
            if e.get("wrong_key"):
                tap.ok("bad signature" in info["raw"], "%s %s: openssl s_client %s: the "
                       "handshake fails with 'bad signature'" % (config, e["name"], flag),
                       info["raw"][-1500:])


def check_config(tap, config):
    eps = load(config)
    tap.ok(eps and all(isinstance(e.get("expect"), dict) for e in eps),
           "%s: every endpoint says what caprobe should find (expect:)" % config,
           [e["name"] for e in eps if not isinstance(e.get("expect"), dict)])
    with h.LabServer(os.path.join(LAB_DIR, config)) as lab:
        tap.eq([x["name"] for x in lab.endpoints], [e["name"] for e in eps],
               "%s: the lab serves the endpoints of the file, in order" % config)
        by_port = scan_all(tap, eps, lab, config)
        for e in eps:
            port = lab.port(e["name"])
            check_endpoint(tap, config, e, by_port.get(port, {}))
            check_s_client(tap, config, e, port)


def check_lab_yaml(tap):
    check_config(tap, "lab.yaml")


def check_before_renewal(tap):
    check_config(tap, "before-renewal.yaml")


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    h.run_checks(tap, [check_lab_yaml, check_before_renewal])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
