#!/usr/bin/env python3
"""caprobe/1 records held to their documentation: docs/caprobe-1.schema.json (written from
docs/output.md, not from the code), plus what a JSON Schema cannot say but docs/output.md does:
keys in the documented order, the counts and hashes of a CertificateRequest agree with its names
(in a compact record, which has no der, as far as the names show their bytes: a malformed name's
dn is their hex),
findings point at observations that exist and come highest severity first, a renegotiation
observation follows the handshake observation that announced it, and target is host:port.

As a module (harness.py): record_errors(obj) lists what is wrong with one record.
As a program, TAP for meson:

    caprobe_schema.py [--known NAME:LINE:TEXT]... [FILE.jsonl...]

checks that the schema is a valid JSON Schema, that it rejects records docs/output.md forbids
(each a mutation of a valid record), and that every line of every FILE fits, but for the known
deviations: an error containing TEXT on line LINE of the file named NAME, which must occur.
Needs the jsonschema module (Debian: python3-jsonschema).
"""
import base64
import copy
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "caprobe-1.schema.json"))

# docs/output.md: "Keys appear in the order below." One list per object, in table order; an
# absent key is skipped. The input record's "error" comes before its (empty) observations.
KEY_ORDER = {
    "target": ["schema", "compact", "target", "host", "port", "error", "observations",
               "findings"],
    "observation": ["address", "sni", "tls_max", "phase", "starttls", "outcome", "error", "tls",
                    "certificate_request", "server_certificate", "http", "client_cert",
                    "elapsed_ms"],
    "error": ["kind", "message", "code", "raw", "alert"],
    "tls": ["version", "cipher_suite"],
    "certificate_request": ["ca_count", "ca_bytes", "list_bytes", "cas", "certificate_types",
                            "certificate_authorities_extension", "signature_algorithms", "quirks"],
    "ca": ["dn", "der", "sha256", "malformed"],
    # "error instead of the names"
    "server_certificate": ["subject", "issuer", "not_before", "not_after", "error", "sha1",
                           "sha256", "chain_length"],
    # "error ... instead of status"
    "http": ["path", "sent", "error", "status", "status_line", "server", "head_cut",
             "renegotiation"],
    "http_error": ["kind", "message"],
    "client_cert": ["presented", "phase", "result", "alert", "http_status", "error"],
    "finding": ["rule", "severity", "message", "observations", "remedy"],
}

SEVERITIES = ["info", "low", "medium", "high", "critical"]

_validator = None


def validator():
    """The Draft 2020-12 validator of the schema (checked once); ImportError without jsonschema."""
    global _validator
    if _validator is None:
        import jsonschema
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        _validator = jsonschema.Draft202012Validator(schema)
    return _validator


def _order_errors(obj, kind, where):
    if not isinstance(obj, dict):
        return []
    order = KEY_ORDER[kind]
    known = [k for k in obj if k in order]
    if known != sorted(known, key=order.index):
        return ["%s: keys %s are not in the documented order %s" % (where or "(record)", known,
                                                                    order)]
    return []


def _ca_errors(cr, where, compact):
    errors = []
    cas = cr.get("cas") or []
    if cr.get("ca_count") != len(cas):
        errors.append("%s: ca_count %r but %d names" % (where, cr.get("ca_count"), len(cas)))
    total = 0
    unknown = 0  # compact: well-formed names, whose bytes the record does not hold
    for i, ca in enumerate(cas):
        at = "%s.cas[%d]" % (where, i)
        errors += _order_errors(ca, "ca", at)
        if not isinstance(ca, dict):
            continue
        try:
            if compact and "der" not in ca:
                if not ca.get("malformed"):
                    unknown += 1
                    continue
                der = bytes.fromhex(ca.get("dn", ""))  # a malformed name's dn is its bytes
            else:
                der = base64.b64decode(ca.get("der", ""), validate=True)
        except (ValueError, TypeError):
            continue  # the schema says so already
        total += len(der)
        what = "its bytes (dn)" if compact and "der" not in ca else "der"
        if str(ca.get("sha256", "")).lower() != hashlib.sha256(der).hexdigest():
            errors.append("%s: sha256 is not the SHA-256 of %s" % (at, what))
        if ca.get("malformed") and ca.get("dn") != der.hex():
            errors.append("%s: a malformed name's dn is not the hex of its bytes" % at)
    ca_bytes = cr.get("ca_bytes")
    if not unknown and ca_bytes != total:
        errors.append("%s: ca_bytes %r but the names' DER is %d bytes" % (where, ca_bytes, total))
    # a DER Name is 2 bytes at least (an empty SEQUENCE)
    if unknown and isinstance(ca_bytes, int) and ca_bytes < total + 2 * unknown:
        errors.append("%s: ca_bytes %r is less than the names' DER can be (%d bytes of malformed "
                      "names, 2 at least for each of the %d others)" % (where, ca_bytes, total,
                                                                        unknown))
    # the field on the wire: every name with its 2-byte length
    if not isinstance(ca_bytes, int) or cr.get("list_bytes") != ca_bytes + 2 * len(cas):
        errors.append("%s: list_bytes %r but ca_bytes and the names' lengths are %r bytes"
                      % (where, cr.get("list_bytes"),
                         ca_bytes + 2 * len(cas) if isinstance(ca_bytes, int) else None))
    return errors


# A list's size in a finding's message: "143 CA names (14840 bytes)", "a CA list of 47380 bytes".
_FINDING_BYTES = re.compile(r"CA names \((\d+) bytes\)|CA list of (\d+) bytes")


def _finding_bytes_errors(rec):
    """docs/output.md: a byte count in a finding is the list_bytes of an observation it cites."""
    errors = []
    obs = rec.get("observations") or []
    for i, f in enumerate(rec.get("findings") or []):
        if not isinstance(f, dict) or not isinstance(f.get("message"), str):
            continue
        cited = {(obs[k].get("certificate_request") or {}).get("list_bytes")
                 for k in f.get("observations") or []
                 if isinstance(k, int) and 0 <= k < len(obs) and isinstance(obs[k], dict)}
        for m in _FINDING_BYTES.finditer(f["message"]):
            n = int(m.group(1) or m.group(2))
            if n not in cited:
                errors.append("findings[%d]: %d bytes in its message is no cited observation's "
                              "list_bytes %s" % (i, n, sorted(x for x in cited if x is not None)))
    return errors


TLS_VERSIONS = ["1.0", "1.1", "1.2", "1.3"]


def _observation_errors(obs, compact):
    errors = []
    for i, o in enumerate(obs):
        if not isinstance(o, dict):
            continue
        at = "observations[%d]" % i
        # docs/output.md: the variants of one address and SNI come in ascending TLS version
        prev = next((p for p in reversed(obs[:i]) if isinstance(p, dict)
                     and p.get("phase") == "handshake"), None)
        if (o.get("phase") == "handshake" and prev is not None
                and (prev.get("address"), prev.get("sni")) == (o.get("address"), o.get("sni"))
                and o.get("tls_max") in TLS_VERSIONS and prev.get("tls_max") in TLS_VERSIONS
                and TLS_VERSIONS.index(o["tls_max"]) <= TLS_VERSIONS.index(prev["tls_max"])):
            errors.append("%s: tls_max %s after %s for the same address and SNI (versions come in "
                          "ascending order)" % (at, o["tls_max"], prev["tls_max"]))
        errors += _order_errors(o, "observation", at)
        for key in ("error", "tls", "certificate_request", "server_certificate", "http",
                    "client_cert"):
            errors += _order_errors(o.get(key), key, "%s.%s" % (at, key))
        if isinstance(o.get("http"), dict):
            errors += _order_errors(o["http"].get("error"), "http_error", at + ".http.error")
        if isinstance(o.get("certificate_request"), dict):
            errors += _ca_errors(o["certificate_request"], at + ".certificate_request", compact)
        # a renegotiation observation follows its variant's handshake observation, which says
        # the server asked for it (http.renegotiation), with the same address, sni and tls_max
        announced = bool((o.get("http") or {}).get("renegotiation"))
        nxt = obs[i + 1] if i + 1 < len(obs) and isinstance(obs[i + 1], dict) else {}
        if announced and nxt.get("phase") != "renegotiation":
            errors.append("%s: http.renegotiation is true but no renegotiation observation "
                          "follows" % at)
        if o.get("phase") == "renegotiation":
            prev = obs[i - 1] if i > 0 and isinstance(obs[i - 1], dict) else {}
            if (prev.get("phase") != "handshake"
                    or not (prev.get("http") or {}).get("renegotiation")
                    or any(prev.get(k) != o.get(k) for k in ("address", "sni", "tls_max"))):
                errors.append("%s: a renegotiation observation that does not follow the handshake "
                              "observation of its variant" % at)
    return errors


def semantic_errors(rec):
    """What docs/output.md says and the schema cannot; assumes nothing about rec's types."""
    if not isinstance(rec, dict):
        return []
    errors = _order_errors(rec, "target", "")
    errors += _order_errors(rec.get("error"), "error", "error")
    host, port = rec.get("host"), rec.get("port")
    if isinstance(host, str) and isinstance(port, int):
        want = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        if rec.get("target") != want:
            errors.append("target %r is not host:port (%r)" % (rec.get("target"), want))
    obs = rec.get("observations") if isinstance(rec.get("observations"), list) else []
    errors += _observation_errors(obs, rec.get("compact") is True)
    findings = rec.get("findings") if isinstance(rec.get("findings"), list) else []
    ranks = []
    for i, f in enumerate(findings):
        if not isinstance(f, dict):
            continue
        errors += _order_errors(f, "finding", "findings[%d]" % i)
        for k in f.get("observations") or []:
            if isinstance(k, int) and not 0 <= k < len(obs):
                errors.append("findings[%d]: observation %d does not exist" % (i, k))
        if f.get("severity") in SEVERITIES:
            ranks.append(SEVERITIES.index(f["severity"]))
    if ranks != sorted(ranks, reverse=True):
        errors.append("findings are not highest severity first")
    return errors + _finding_bytes_errors(rec)


def record_errors(rec):
    """Every way rec departs from docs/output.md, as "path: what" texts; [] when it fits."""
    errors = []
    for e in sorted(validator().iter_errors(rec), key=lambda e: list(map(str, e.absolute_path))):
        loc = "/".join(str(p) for p in e.absolute_path) or "(record)"
        errors.append("%s: %s" % (loc, e.message[:300]))
    return errors + semantic_errors(rec)


# ---------------------------------------------------------------- the program

def _valid_record():
    """A record that uses every field docs/output.md describes."""
    der = bytes.fromhex("300c310a300806035504030c0141")  # CN=A
    bad = bytes.fromhex("300531033001")
    ca = {"dn": "CN=A", "der": base64.b64encode(der).decode(),
          "sha256": hashlib.sha256(der).hexdigest()}
    mal = {"dn": bad.hex(), "der": base64.b64encode(bad).decode(),
           "sha256": hashlib.sha256(bad).hexdigest(), "malformed": True}
    cert = {"subject": "CN=app.example.com", "issuer": "CN=CA", "not_before": "2026-01-01T00:00:00Z",
            "not_after": "2027-01-01T00:00:00Z", "sha1": "0" * 40, "sha256": "a" * 64,
            "chain_length": 2}
    return {
        "schema": "caprobe/1", "target": "app.example.com:443", "host": "app.example.com",
        "port": 443,
        "observations": [
            {"address": "192.0.2.10", "sni": "app.example.com", "tls_max": "1.3",
             "phase": "handshake", "outcome": "certificate_request",
             "tls": {"version": "1.3", "cipher_suite": "TLS1-3-AES-128-GCM-SHA256"},
             "certificate_request": {"ca_count": 2, "ca_bytes": len(der) + len(bad),
                                     "list_bytes": len(der) + len(bad) + 4,
                                     "cas": [ca, mal], "certificate_authorities_extension": True,
                                     "signature_algorithms": ["ecdsa_secp256r1_sha256", "0x0a0a"],
                                     "quirks": 16},
             "server_certificate": cert,
             "client_cert": {"presented": True, "phase": "handshake", "result": "alert",
                             "alert": "unknown_ca"},
             "elapsed_ms": 12},
            {"address": "192.0.2.10", "sni": None, "tls_max": "1.2", "phase": "handshake",
             "outcome": "no_certificate_request",
             "tls": {"version": "1.2", "cipher_suite": "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"},
             "server_certificate": {"error": "cannot parse", "sha1": "1" * 40, "sha256": "b" * 64,
                                    "chain_length": 1},
             "http": {"path": "/", "sent": True, "status": 403, "status_line": "HTTP/1.1 403 No",
                      "server": None, "head_cut": True, "renegotiation": True},
             "client_cert": {"presented": False, "phase": "handshake"},
             "elapsed_ms": 3},
            {"address": "192.0.2.10", "sni": None, "tls_max": "1.2", "phase": "renegotiation",
             "outcome": "certificate_request",
             "tls": {"version": "1.2", "cipher_suite": "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"},
             "certificate_request": {"ca_count": 1, "ca_bytes": len(der),
                                     "list_bytes": len(der) + 2, "cas": [ca],
                                     "certificate_types": ["rsa_sign", "0x07"],
                                     "signature_algorithms": []},
             "client_cert": {"presented": True, "phase": "renegotiation", "result": "http",
                             "http_status": 403},
             "elapsed_ms": 9},
            {"address": None, "sni": "app.example.com", "tls_max": "1.2", "phase": "handshake",
             "outcome": "error",
             "error": {"kind": "tls_alert", "message": "alert", "code": "TLS_E_ALERT",
                       "raw": -30592, "alert": "handshake_failure"},
             "http": {"path": "/x", "sent": False, "error": {"kind": "timeout", "message": "no"},
                      "renegotiation": False},
             "client_cert": {"presented": False, "phase": "handshake", "result": "error",
                             "error": "not presented: the handshake did not complete"},
             "elapsed_ms": 1}],
        "findings": [
            {"rule": "post-request-client-auth", "severity": "high", "message": "m",
             "observations": [1, 2], "remedy": "r"},
            {"rule": "client-cert-rejected", "severity": "high", "message": "m",
             "observations": [2], "remedy": "r"},
            {"rule": "malformed-ca", "severity": "medium", "message": "m", "observations": [0],
             "remedy": "r"},
            {"rule": "root-store-dump", "severity": "medium", "message": "advertises 2 CA names "
             "(%d bytes)" % (len(der) + len(bad) + 4), "observations": [0], "remedy": "r"},
            {"rule": "client-cert-accepted-unadvertised", "severity": "medium", "message": "m",
             "observations": [0], "remedy": "r"}],
    }


def _compact_record():
    """_valid_record in the compact form: "compact": true, no name has der."""
    rec = json.loads(json.dumps(_valid_record()))  # observations share name objects: unshare
    compact = {"schema": rec.pop("schema"), "compact": True}
    compact.update(rec)
    for o in compact["observations"]:
        for ca in (o.get("certificate_request") or {}).get("cas", []):
            ca.pop("der")
    return compact


def _input_record():
    return {"schema": "caprobe/1", "target": "300.1.1.1:99999", "host": None, "port": 0,
            "error": {"kind": "input", "message": "list.txt:3: bad address"},
            "observations": [], "findings": []}


def _set(path, value):
    def f(rec):
        obj = rec
        for k in path[:-1]:
            obj = obj[k]
        if value is _DROP:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value
    return f


_DROP = object()
O0, O1, O2, O3 = (["observations", i] for i in range(4))

# (what docs/output.md forbids, the change to the valid record)
MUTATIONS = [
    ("another schema", _set(["schema"], "caprobe/2")),
    ("no findings key", _set(["findings"], _DROP)),
    ("an undocumented key", _set(["extra"], 1)),
    ("port as a string", _set(["port"], "443")),
    ("target without its port", _set(["target"], "app.example.com")),
    ("target not host:port", _set(["target"], "other.example.com:443")),
    ("host in upper case", _set(["host"], "App.example.com")),
    ("an unknown outcome", _set(O0 + ["outcome"], "ok")),
    ("tls_max 1.4", _set(O0 + ["tls_max"], "1.4")),
    ("TLS versions of one address and SNI in descending order", _set(O0 + ["sni"], None)),
    ("TLS 1.0 without certificate_types", lambda r: (
        r["observations"][2]["tls"].update({"version": "1.0"}),
        r["observations"][2]["certificate_request"].pop("certificate_types"))),
    ("TLS 1.1 with signature algorithms", lambda r: (
        r["observations"][2]["tls"].update({"version": "1.1"}),
        r["observations"][2]["certificate_request"].update(
            {"signature_algorithms": ["rsa_pkcs1_sha256"]}))),
    ("a null phase", _set(O0 + ["phase"], None)),
    ("an unknown STARTTLS protocol", _set(O0 + ["starttls"], "smtps")),
    ("a null starttls (absent when none)", _set(O0 + ["starttls"], None)),
    ("certificate_request without the outcome", _set(O1 + ["certificate_request"],
                                                     {"ca_count": 0, "ca_bytes": 0,
                                                      "list_bytes": 0, "cas": [],
                                                      "certificate_types": [],
                                                      "signature_algorithms": []})),
    ("outcome error without error", _set(O3 + ["error"], _DROP)),
    ("error with another outcome", _set(O0 + ["error"], {"kind": "dns", "message": "x"})),
    ("an unknown error kind", _set(O3 + ["error", "kind"], "input")),
    ("error without message", _set(O3 + ["error", "message"], _DROP)),
    ("ca_count not the number of names", _set(O0 + ["certificate_request", "ca_count"], 3)),
    ("ca_bytes not the names' size", _set(O0 + ["certificate_request", "ca_bytes"], 1)),
    ("list_bytes not the field's size", _set(O0 + ["certificate_request", "list_bytes"],
                                             _valid_record()["observations"][0]
                                             ["certificate_request"]["ca_bytes"])),
    ("list_bytes missing", _set(O0 + ["certificate_request", "list_bytes"], _DROP)),
    ("a finding's byte count another than its observation's",
     _set(["findings", 3, "message"], "advertises 2 CA names (1 bytes)")),
    ("a sha256 that is not the name's", _set(O0 + ["certificate_request", "cas", 0, "sha256"],
                                             "c" * 64)),
    ("der that is not base64", _set(O0 + ["certificate_request", "cas", 0, "der"], "M!")),
    ("a name without der in a full record", _set(O2 + ["certificate_request", "cas", 0, "der"],
                                                 _DROP)),
    ("malformed false", _set(O0 + ["certificate_request", "cas", 0, "malformed"], False)),
    ("a malformed name's dn not hex", _set(O0 + ["certificate_request", "cas", 1, "dn"], "CN=x")),
    ("TLS 1.3 with certificate_types", _set(O0 + ["certificate_request", "certificate_types"], [])),
    ("TLS 1.2 without certificate_types", _set(O2 + ["certificate_request", "certificate_types"],
                                               _DROP)),
    ("quirks 0", _set(O0 + ["certificate_request", "quirks"], 0)),
    ("quirks 32", _set(O0 + ["certificate_request", "quirks"], 32)),
    ("not_after not RFC 3339 UTC", _set(O0 + ["server_certificate", "not_after"], "Jan 1 2027")),
    ("names and error in server_certificate", _set(O0 + ["server_certificate", "error"], "x")),
    ("a short sha1", _set(O0 + ["server_certificate", "sha1"], "00")),
    ("http on a renegotiation", _set(O2 + ["http"], {"path": "/", "sent": True,
                                                     "error": {"kind": "reset", "message": "m"},
                                                     "renegotiation": False})),
    ("http with status and error", _set(O1 + ["http", "error"], {"kind": "reset", "message": "m"})),
    ("http not sent but a status", _set(O1 + ["http", "sent"], False)),
    ("http head_cut false", _set(O1 + ["http", "head_cut"], False)),
    ("a renegotiation nobody announced", _set(O1 + ["http", "renegotiation"], False)),
    ("client_cert of another phase", _set(O2 + ["client_cert", "phase"], "handshake")),
    ("client_cert presented without a result", _set(O0 + ["client_cert", "result"], _DROP)),
    ("client_cert not presented but accepted", _set(O1 + ["client_cert", "result"], "accepted")),
    ("client_cert an unknown result", _set(O0 + ["client_cert", "result"], "refused")),
    ("client_cert http without http_status", _set(O2 + ["client_cert", "http_status"], _DROP)),
    ("client_cert an alert with another result", _set(O0 + ["client_cert", "result"], "closed")),
    ("client_cert error without its text", _set(O3 + ["client_cert", "error"], _DROP)),
    ("client_cert an undocumented key", _set(O1 + ["client_cert", "extra"], 1)),
    ("client_cert keys out of order", lambda r: r["observations"][0]["client_cert"].update(
        {"presented": r["observations"][0]["client_cert"].pop("presented")})),
    ("an unknown rule", _set(["findings", 0, "rule"], "made-up")),
    ("an unknown severity", _set(["findings", 0, "severity"], "severe")),
    ("a finding on an observation that does not exist", _set(["findings", 1, "observations"],
                                                              [4])),
    ("findings lowest severity first", _set(["findings", 1, "severity"], "critical")),
    ("keys out of order", lambda r: r["observations"][0].update(
        {"address": r["observations"][0].pop("address")})),
]

_CA0 = ["certificate_request", "cas", 0]
_CA1 = ["certificate_request", "cas", 1]

# (what docs/output.md forbids in the compact form, the change to the compact record)
COMPACT_MUTATIONS = [
    ("compact false", _set(["compact"], False)),
    ("a compact record with der", _set(O0 + _CA0 + ["der"], "MAwxCjAIBgNVBAMMAUE=")),
    ("a compact record with der in a malformed name", _set(O0 + _CA1 + ["der"], "MAUxAzAB")),
    ("a compact record without sha256", _set(O2 + _CA0 + ["sha256"], _DROP)),
    ("a compact malformed name whose sha256 is not of its bytes",
     _set(O0 + _CA1 + ["sha256"], "c" * 64)),
    ("a compact record's ca_bytes below its names' least size",
     _set(O0 + ["certificate_request", "ca_bytes"], 7)),
    ("compact after target", lambda r: [r.update({k: r.pop(k)}) for k in
                                        ("compact", "host", "port", "observations", "findings")]),
]

INPUT_MUTATIONS = [
    ("an input record with observations", _set(["observations"], _valid_record()["observations"])),
    ("an input record with a host", _set(["host"], "x")),
    ("an input record's message without FILE:LINE", _set(["error", "message"], "bad")),
    ("an input record's error of another kind", _set(["error", "kind"], "dns")),
]


def main(argv):
    out = sys.stdout
    n = 0
    failed = 0

    def ok(cond, desc, diag=None):
        nonlocal n, failed
        n += 1
        out.write("%s %d - %s\n" % ("ok" if cond else "not ok", n, desc))
        if not cond:
            failed += 1
            for line in str(diag or "").splitlines():
                out.write("# %s\n" % line)
        return cond

    try:
        validator()
    except ImportError:
        ok(False, "jsonschema module", "apt-get install python3-jsonschema")
        out.write("1..%d\n" % n)
        return 1
    except Exception as e:  # an invalid schema or an unreadable file
        ok(False, "%s is a valid JSON Schema (draft 2020-12)" % SCHEMA_PATH,
           "%s: %s" % (type(e).__name__, e))
        out.write("1..%d\n" % n)
        return 1
    ok(True, "%s is a valid JSON Schema (draft 2020-12)" % os.path.relpath(SCHEMA_PATH))
    for name, base in (("a record with every field", _valid_record),
                       ("the compact form of that record", _compact_record),
                       ("an input-error record", _input_record)):
        errs = record_errors(base())
        ok(not errs, "the schema accepts %s" % name, "\n".join(errs))
    for base, mutations in ((_valid_record, MUTATIONS), (_compact_record, COMPACT_MUTATIONS),
                            (_input_record, INPUT_MUTATIONS)):
        for desc, mutate in mutations:
            rec = copy.deepcopy(base())
            mutate(rec)
            ok(record_errors(rec), "rejected: %s" % desc, json.dumps(rec)[:2000])
    known, files = [], []
    args = iter(argv)
    for a in args:
        if a == "--known":
            known.append(next(args, ""))
        else:
            files.append(a)
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, ValueError) as e:
            ok(False, "%s: readable" % path, e)
            continue
        name = os.path.basename(path)
        expected = [k.split(":", 2) for k in known if k.split(":", 1)[0] == name]
        seen = set()
        errs = []
        count = 0
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            count += 1
            try:
                found = record_errors(json.loads(line))
            except ValueError as e:
                found = ["not JSON: %s" % e]
            for e in found:
                hits = [j for j, (_, at, text) in enumerate(expected) if at == str(i) and text in e]
                seen.update(hits)
                if not hits:
                    errs.append("line %d: %s" % (i, e))
        ok(count and not errs, "%s: %d records fit caprobe/1%s"
           % (os.path.relpath(path), count,
              " but for %d known deviations" % len(expected) if expected else ""),
           "\n".join(errs[:50]))
        for j, (_, at, text) in enumerate(expected):
            ok(j in seen, "%s line %s: the known deviation %r occurs" % (name, at, text),
               "it is gone: drop --known %s:%s:%s" % (name, at, text))
    out.write("1..%d\n" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
