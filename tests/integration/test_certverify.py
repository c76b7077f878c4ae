#!/usr/bin/env python3
"""caprobe reads, it does not authenticate (issue 17, point 5). The lab's `wrong-signature`
endpoint (fixtures/lab/lab.yaml) signs with a key its certificate does not hold, so its TLS 1.3
CertificateVerify and its TLS 1.2 ServerKeyExchange do not verify: `openssl s_client`, the
independent oracle, aborts both handshakes with "bad signature". caprobe's capture probes
(TLS 1.2 and 1.3, no mbedTLS handshake) still report its CertificateRequest, name for name the
subjects of the CA file the endpoint is configured with (read from the PEM file here, never from
caprobe). `--request` probes run mbedTLS's handshake, which checks the server's signature
whatever caprobe asks: their list is still reported, and the request that could not be sent
says that the signature failed. And `--request` validates nothing else: a server with a
self-signed certificate that expired in 2020 (openssl verify says both) still gets its request,
its TLS 1.2 renegotiation is read, and with --client-key that second mbedTLS handshake
completes. Emits TAP."""

import base64
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LAB_DIR = os.path.join(h.fixtures_dir(), "lab")
CAS = h.pki("cas.pem")  # wrong-signature's cas: (lab.yaml)
EXPIRED = os.path.join(LAB_DIR, "pki", "expired-selfsigned.pem")

# A renegotiating endpoint (as lab.yaml's renegotiate-after-request) whose certificate is
# self-signed and expired; paths relative to fixtures/lab.
EXPIRED_LAB = """\
endpoints:
  - name: expired-selfsigned
    role: "a self-signed server certificate that expired on 2020-12-31"
    expect: {rules: [post-request-client-auth], scan: [--request, /secure, "{host}:{port}"]}
    cert: pki/expired-selfsigned.pem
    key: pki/expired-selfsigned.key
    client_auth: none
    protected: /secure
    protected_cas: [../pki/issuing.pem]
    protected_tls13: 403
"""


def ders(o):
    return [base64.b64decode(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]


def subjects(path):
    """The subjects of a PEM file's certificates, DER, each certificate as openssl writes it."""
    out = []
    for der in h.pem_certs(path):
        r = subprocess.run(["openssl", "x509", "-inform", "DER", "-outform", "DER"], input=der,
                           capture_output=True, check=True, timeout=30)
        out.append(h.cert_subject_der(r.stdout))
    return out


def scan(args):
    return h.run_caprobe(["--format", "jsonl", "--timeout", "8"] + args, timeout=120)


def observations(run):
    return [o for rec in run.records for o in rec.get("observations", [])]


def s_client(port, flag):
    return h.s_client_info(port, flag, extra=["-noservername"])


def check_oracle(tap, lab, tmp):
    """openssl's verdict: the key is not the certificate's, and both handshakes fail on the
    signature; the lab's right-list, same certificate and its own key, passes the same check."""
    def pubkey(cmd):
        return subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    cert_key = pubkey(["openssl", "x509", "-in", h.pki("server.pem"), "-noout", "-pubkey"])
    sign_key = pubkey(["openssl", "pkey", "-in", h.pki("other.key"), "-pubout"])
    tap.ok(cert_key.startswith(b"-----BEGIN PUBLIC KEY") and cert_key != sign_key,
           "openssl: other.key (wrong-signature's key) is not the key of server.pem")
    for flag, where in (("-tls1_3", "tls_process_cert_verify"),
                        ("-tls1_2", "tls_process_key_exchange")):
        bad = s_client(lab.port("wrong-signature"), flag)["raw"]
        tap.ok("bad signature" in bad and where in bad,
               "openssl s_client %s: wrong-signature fails in %s with 'bad signature'"
               % (flag, where), bad[-1500:])
        good = s_client(lab.port("right-list"), flag)["raw"]
        tap.ok("bad signature" not in good and "Cipher is (NONE)" not in good,
               "openssl s_client %s: right-list (the same certificate, its own key) completes"
               % flag, good[-1500:])


def check_capture(tap, lab, tmp):
    """Capture probes, caprobe's own ClientHellos: both versions report exactly the CA file's
    subjects and no error; TLS 1.2 with mbedTLS's ClientHello too (mbedTLS fails on the
    ServerKeyExchange, the capture reads the plaintext flight on)."""
    want = subjects(CAS)
    target = "127.0.0.1:%d" % lab.port("wrong-signature")
    for label, args in (("caprobe's ClientHellos", []),
                        ("--client-hello mbedtls", ["--client-hello", "mbedtls", "--tls", "1.2"])):
        run = scan(args + [target])
        obs = observations(run)
        versions = sorted((o.get("tls") or {}).get("version") or "-" for o in obs)
        tap.eq(versions, ["1.2", "1.3"] if not args else ["1.2"],
               "wrong-signature, %s: the probes of each version" % label, run.describe())
        for o in obs:
            v = (o.get("tls") or {}).get("version")
            tap.eq((o.get("outcome"), o.get("error")), ("certificate_request", None),
                   "wrong-signature, %s, TLS %s: outcome certificate_request" % (label, v))
            tap.eq(ders(o), want, "wrong-signature, %s, TLS %s: the %d subjects of cas.pem, DER "
                   "for DER" % (label, v, len(want)))
        tap.eq([f["rule"] for r in run.records for f in r.get("findings", [])], [],
               "wrong-signature, %s: no finding (a signature is not caprobe's business)" % label)
        tap.eq(run.rc, 0, "wrong-signature, %s: exit 0" % label, run.describe())


def check_request_signature(tap, lab, tmp):
    """--request: mbedTLS's handshake stops at the signature; the list stays, and the request
    that was not sent says why in words that name the signature."""
    want = subjects(CAS)
    run = scan(["--request", "/", "127.0.0.1:%d" % lab.port("wrong-signature")])
    tap.eq(run.rc, 0, "wrong-signature --request: exit 0 (no crash, no failed target)",
           run.describe())
    obs = observations(run)
    tap.eq(sorted(o.get("tls_max") for o in obs), ["1.2", "1.3"],
           "wrong-signature --request: a TLS 1.2 and a TLS 1.3 probe", run.describe())
    message = {"1.2": "ServerKeyExchange", "1.3": "CertificateVerify"}
    for o in obs:
        v = o.get("tls_max")
        tap.eq((o.get("outcome"), ders(o)), ("certificate_request", want),
               "wrong-signature --request, TLS %s: the list is read before the signature" % v)
        http = o.get("http") or {}
        err = (http.get("error") or {}).get("message", "")
        tap.ok(http.get("sent") is False and
               "the server's signature (its %s) does not verify with its certificate's key"
               % message[v] in err and "no request was sent" in err,
               "wrong-signature --request, TLS %s: no request sent, the %s signature named"
               % (v, message[v]), http)


def check_request_expired(tap, lab, tmp):
    """--request validates no certificate: a self-signed one that expired is taken, the request
    is sent over both versions, and the TLS 1.2 renegotiation's list is read."""
    for cafile, why in ((None, "self-signed certificate"), (EXPIRED, "certificate has expired")):
        r = subprocess.run(["openssl", "verify"] + (["-CAfile", cafile] if cafile else []) +
                           [EXPIRED], capture_output=True, timeout=30)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        tap.ok(r.returncode != 0 and why in out,
               "openssl verify%s: '%s'" % (" -CAfile (itself)" if cafile else "", why), out)
    key = ["--client-key", h.pki("client.key"), "--client-cert", h.pki("client-chain.pem")]
    with h.LabServer(EXPIRED_LAB) as exp:
        target = "127.0.0.1:%d" % exp.port("expired-selfsigned")
        run = scan(["--request", "/secure", target])
        keyed = scan(["--request", "/secure"] + key + [target])
    tap.eq(run.rc, 1, "expired-selfsigned --request: exit 1 (a finding)", run.describe())
    obs = observations(run)
    hs = {o.get("tls_max"): o for o in obs if o.get("phase") == "handshake"}
    reneg = [o for o in obs if o.get("phase") == "renegotiation"]
    for v in ("1.2", "1.3"):
        o = hs.get(v, {})
        http = o.get("http") or {}
        tap.eq((o.get("outcome"), http.get("sent"), http.get("renegotiation")),
               ("no_certificate_request", True, v == "1.2"),
               "expired-selfsigned --request, TLS %s: request sent%s" %
               (v, ", the server renegotiated" if v == "1.2" else ""), o)
        tap.eq((o.get("server_certificate") or {}).get("not_after"), "2020-12-31T23:59:59Z",
               "expired-selfsigned, TLS %s: the expired certificate was served" % v)
    tap.eq((hs.get("1.3", {}).get("http") or {}).get("status"), 403,
           "expired-selfsigned --request, TLS 1.3: the server's 403 read")
    tap.eq([(o.get("outcome"), ders(o)) for o in reneg],
           [("certificate_request", subjects(h.pki("issuing.pem")))],
           "expired-selfsigned --request: the TLS 1.2 renegotiation's list, issuing.pem's "
           "subject", reneg)
    tap.eq(sorted({f["rule"] for r in run.records for f in r.get("findings", [])}),
           ["post-request-client-auth"], "expired-selfsigned: post-request-client-auth only")
    # mbedTLS's second handshake, with a certificate to present, takes the same server
    got = [((o.get("http") or {}).get("status"), o.get("phase"))
           for o in observations(keyed) if o.get("tls_max") == "1.2"]
    tap.eq(got, [(200, "handshake"), (None, "renegotiation")],
           "expired-selfsigned --request --client-key, TLS 1.2: the renegotiation completes "
           "with the client certificate, HTTP 200", keyed.describe())


def check_lab_config(tap, lab, tmp):
    """wrong_key is the lab's word for the mismatch: a mismatched key without it, or a matching
    key with it, is a config error naming the key (exit 2), so no endpoint signs wrongly by
    mistake."""
    for n, (key, wrong, says) in enumerate(((h.pki("other.key"), "false", "does not match"),
                                            (h.pki("server.key"), "true", "wrong_key: key"))):
        path = os.path.join(tmp, "lab%d.yaml" % n)
        with open(path, "w", encoding="utf-8") as f:
            f.write("endpoints:\n  - name: e\n    cert: %s\n    key: %s\n    wrong_key: %s\n"
                    % (h.pki("server.pem"), key, wrong))
        r = subprocess.run([h.lab_path(), path], capture_output=True, timeout=30)
        err = r.stderr.decode("utf-8", "replace")
        tap.ok(r.returncode == 2 and says in err and "%s:4:10: " % path in err and not r.stdout,
               "caprobe-lab: %s with wrong_key: %s is a config error at the key" %
               (os.path.basename(key), wrong), (r.returncode, err))


def main():
    return h.lab_main([check_oracle, check_capture, check_request_signature,
                       check_request_expired, check_lab_config], "caprobe-certverify-")


if __name__ == "__main__":
    sys.exit(main())
