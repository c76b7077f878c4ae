#!/usr/bin/env python3
"""One target with 300 observations: a host name given 50 loopback addresses with --resolve,
each served by its own caprobe-lab on the same kernel-chosen port, probed with and without SNI,
over TLS 1.2 and 1.3, with the renegotiation after GET /secure. The scan must finish with one
valid JSON record whose findings stay bounded: one per mismatch dimension, each citing the
observations an independent grouping (here, in Python) says differ. Emits TAP."""

import base64
import hashlib
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HOST = "many.lab.test"
N_ADDRESSES = 50  # x {SNI, no SNI} x (TLS 1.2 + its renegotiation, TLS 1.3) = 300 observations
MISMATCH = ("sni-mismatch", "version-mismatch", "address-mismatch", "renegotiation-mismatch")

# Every node: the SNI binding advertises the root, the address binding the issuing CA (the last
# node another CA: one address-mismatch), the protected location two CAs (cas.pem: one
# renegotiation-mismatch), and TLS 1.3 requests name no CA (one version-mismatch). Absolute
# paths: the file lives in a temporary folder.
NODE = """defaults:
  cert: {pki}/server.pem
  key: {pki}/server.key
endpoints:
  - name: node
    role: one of the addresses of {host}
    port: {port}
    client_auth: optional
    cas: [{pki}/{cas}]
    sni:
      {host}: {{cas: [{pki}/root.pem], client_auth: optional}}
    protected: /secure
    protected_cas: [{pki}/cas.pem]
    tls13_certificate_authorities: false
"""


def address(k):
    return "127.0.0.%d" % (k + 2)


def start_nodes(folder):
    """The labs, one per address, all on the port the kernel gave the first. Returns them and
    the port; another process may take the port on one of the other addresses in between, so
    a failed start begins again (three times)."""
    pki = os.path.join(h.fixtures_dir(), "pki")
    last_error = None
    for _ in range(3):
        labs = []
        try:
            port = 0
            for k in range(N_ADDRESSES):
                path = os.path.join(folder, "node-%d.yaml" % k)
                cas = "other.pem" if k == N_ADDRESSES - 1 else "issuing.pem"
                with open(path, "w", encoding="utf-8") as f:
                    f.write(NODE.format(pki=pki, host=HOST, port=port, cas=cas))
                lab = h.LabServer(path, host=address(k)).start()
                labs.append(lab)
                port = lab.port("node")
            return labs, port
        except RuntimeError as e:
            last_error = e
            for lab in labs:
                lab.stop()
    raise RuntimeError("the labs did not start: %s" % last_error)


def list_id(o):
    """What the engine compares, computed here: no request, or the set of names' SHA-256."""
    if o["outcome"] != "certificate_request":
        return None
    return frozenset(hashlib.sha256(base64.b64decode(c["der"])).hexdigest()
                     for c in o["certificate_request"]["cas"])


def expected_cited(obs, dim):
    """The observations a finding of dimension dim must cite: those in a group (same values of
    the other three dimensions) with two lists or more."""
    dims = ("address", "sni", "tls_max", "phase")
    groups = {}
    for i, o in enumerate(obs):
        if o["outcome"] == "error":
            continue
        if dim == "phase" and o["outcome"] != "certificate_request":
            continue
        key = tuple(o.get(d) for d in dims if d != dim)
        groups.setdefault(key, []).append(i)
    cited = []
    for members in groups.values():
        if len({list_id(obs[i]) for i in members}) > 1:
            cited.extend(members)
    return sorted(cited)


def check_many(tap, port):
    args = ["--format", "jsonl", "--timeout", "10", "--request", "/secure"]
    for k in range(N_ADDRESSES):
        args += ["--resolve", "%s:%d:%s" % (HOST, port, address(k))]
    run = h.run_caprobe(args + ["%s:%d" % (HOST, port)], timeout=240)
    tap.ok(run.rc in (0, 1), "the scan of %d addresses finishes (exit 0 or 1)" % N_ADDRESSES,
           run.describe())
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    tap.eq(len(lines), 1, "exactly one JSON Lines record")
    try:
        rec = json.loads(lines[0]) if lines else {}
    except ValueError as e:
        tap.ok(False, "the record is valid JSON", "%s: %s" % (e, lines[0][:2000]))
        return
    tap.ok(isinstance(rec, dict) and rec.get("schema") == "caprobe/1",
           "the record is valid JSON with the caprobe/1 schema")
    obs = rec.get("observations", [])
    phases = sorted((o["phase"], o["outcome"]) for o in obs)
    want = sorted([("handshake", "certificate_request")] * (4 * N_ADDRESSES) +
                  [("renegotiation", "certificate_request")] * (2 * N_ADDRESSES))
    tap.eq(phases, want, "%d observations: every handshake and renegotiation asked"
           % (6 * N_ADDRESSES))
    findings = rec.get("findings", [])
    tap.ok(len(findings) <= 8, "bounded findings: %d for %d observations"
           % (len(findings), len(obs)),
           [(f["rule"], f["message"][:200]) for f in findings])
    tap.ok(all(isinstance(i, int) and 0 <= i < len(obs) for f in findings
               for i in f["observations"]), "every cited observation exists")
    for rule, dim in zip(MISMATCH, ("sni", "tls_max", "address", "phase")):
        mine = [f for f in findings if f["rule"] == rule]
        cited = expected_cited(obs, dim)
        if not cited:
            tap.eq(mine, [], "%s: no finding, no group differs" % rule)
            continue
        if not tap.eq(len(mine), 1, "%s: one finding for %d observations in differing groups"
                      % (rule, len(cited))):
            continue
        tap.eq(mine[0]["observations"], cited,
               "%s: cites exactly the observations of the differing groups" % rule)
    # TLS 1.3 asks without certificate_authorities on both bindings (tls13_certificate_authorities:
    # false): the SNI groups that differ are the TLS 1.2 handshakes, and every version group
    # differs.
    groups = {f["rule"]: f["message"] for f in findings}
    where = {"sni-mismatch": "on %d addresses, TLS 1.2;" % N_ADDRESSES,
             "version-mismatch": "on %d addresses x 2 SNI values;" % N_ADDRESSES,
             "renegotiation-mismatch": "on %d addresses x 2 SNI values, TLS 1.2;" % N_ADDRESSES}
    for rule, text in where.items():
        tap.ok(text in groups.get(rule, ""), "%s says where: %s" % (rule, text), groups.get(rule))
    tap.ok("[%s] 1 name" % address(N_ADDRESSES - 1) in groups.get("address-mismatch", ""),
           "address-mismatch names the odd node", groups.get("address-mismatch"))


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    labs = []
    with tempfile.TemporaryDirectory(prefix="caprobe-many-") as folder:
        try:
            labs, port = start_nodes(folder)
            check_many(tap, port)
        except Exception as e:
            tap.ok(False, "check_many raised %s: %s" % (type(e).__name__, e))
        finally:
            for lab in labs:
                lab.stop()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
