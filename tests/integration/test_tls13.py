#!/usr/bin/env python3
"""caprobe's TLS 1.3 probe against `openssl s_server -tls1_3` servers that mbedTLS's own client
cannot reach: Ed25519, Ed448 and RSA-PSS (RSASSA-PSS key) server certificates, servers that sign
with one scheme only, and servers that answer with a HelloRetryRequest for x448, secp384r1,
secp521r1, ffdhe2048 or ffdhe3072 (the last with SHA-384, so that the transcript's message_hash
uses the suite's hash).

The certificates are made here, in a temporary folder, with `openssl genpkey` and signed by
fixtures/pki's issuing CA. Every server asks for a client certificate (-Verify 1) with
-CAfile fixtures/pki/issuing.pem. Oracles: the advertised names must be, byte for byte, the DER
subjects of that file (harness.ca_file_subjects) and what `openssl s_client -tls1_3` lists; the
server certificate caprobe read from the decrypted flight must be the one made here, summed up
as openssl reads that file (subject and issuer as `openssl x509 -nameopt RFC2253` prints them,
notBefore and notAfter, SHA-1 and SHA-256 fingerprints: harness.openssl_cert_summary), with no
error, also for the keys mbedTLS's X.509 parser does not know; -client_sigalgs sets the
signature_algorithms of the request, which caprobe must report as given. Emits TAP.
"""

import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

EXT = """[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""

# The server keys, as `openssl genpkey` makes them.
KEYS = {
    "ed25519": ["-algorithm", "ED25519"],
    "ed448": ["-algorithm", "ED448"],
    "rsa-pss": ["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
}

# (id, server key (None: fixtures/pki/server.pem, ECDSA P-256), s_server arguments, expectation)
#   expectation: "suite": the cipher suite caprobe must report; "sigalgs": the request's
#   signature_algorithms as caprobe names them
CASES = [
    ("ed25519", "ed25519", [], {}),
    ("ed448", "ed448", [], {}),
    ("rsa-pss", "rsa-pss", [], {}),
    ("rsa-pss-sha512-only", "rsa-pss", ["-sigalgs", "rsa_pss_pss_sha512"], {}),
    ("ed25519-request-sigalgs", "ed25519",
     ["-client_sigalgs", "ed25519:ed448:rsa_pss_pss_sha256:ecdsa_secp384r1_sha384"],
     {"sigalgs": ["ed25519", "ed448", "rsa_pss_pss_sha256", "ecdsa_secp384r1_sha384"]}),
    ("hrr-secp384r1", None, ["-groups", "secp384r1"], {}),
    ("hrr-secp521r1-chacha", None,
     ["-groups", "secp521r1", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
     {"suite": "TLS1-3-CHACHA20-POLY1305-SHA256"}),
    ("hrr-x448-ed448", "ed448", ["-groups", "x448"], {}),
    ("hrr-ffdhe2048-rsa-pss", "rsa-pss", ["-groups", "ffdhe2048"], {}),
    ("hrr-ffdhe3072-sha384-ed25519", "ed25519",
     ["-groups", "ffdhe3072", "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
     {"suite": "TLS1-3-AES-256-GCM-SHA384"}),
]


def make_cert(tmp, name):
    """A server certificate for key type `name`, CN=localhost, issued by fixtures/pki's
    issuing CA: (certificate path, key path)."""
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    crt = os.path.join(tmp, name + ".pem")
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write(EXT)
    for cmd in ([h.OPENSSL, "genpkey"] + KEYS[name] + ["-out", key],
                [h.OPENSSL, "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr],
                [h.OPENSSL, "x509", "-req", "-in", csr, "-CA", h.pki("issuing.pem"), "-CAkey",
                 h.pki("issuing.key"), "-set_serial", str(random.getrandbits(63)), "-days", "30",
                 "-extfile", ext, "-extensions", "server", "-out", crt]):
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, check=True)
    return crt, key


def check_observation(tap, label, obs, want, cert, expect):
    ok = tap.eq(obs.get("outcome"), "certificate_request", "%s: outcome certificate_request"
                % label, obs.get("error"))
    tap.eq((obs.get("tls") or {}).get("version"), "1.3", "%s: tls.version 1.3" % label)
    if "suite" in expect:
        tap.eq((obs.get("tls") or {}).get("cipher_suite"), expect["suite"],
               "%s: cipher suite %s" % (label, expect["suite"]))
    h.check_server_certificate(tap, label, obs, cert)
    if not ok:
        return
    cr = obs.get("certificate_request") or {}
    got = [h.b64der(c["der"]) for c in cr.get("cas", [])]
    tap.ok(got == want, "%s: names = DER subjects of issuing.pem (%d)" % (label, len(want)),
           "got %r" % got)
    if "sigalgs" in expect:
        tap.eq(cr.get("signature_algorithms"), expect["sigalgs"],
               "%s: signature_algorithms = -client_sigalgs" % label)


def check_case(tap, tmp, certs, case):
    cid, key, args, expect = case
    label = "tls1.3 %s" % cid
    if key is None:
        crt, keyfile = h.pki("server.pem"), h.pki("server.key")
    else:
        crt, keyfile = certs[key]
    want = h.ca_file_subjects(h.pki("issuing.pem"))
    want_texts = [h.openssl_subject_texts(h.pki("issuing.pem"))[d] for d in want]
    server_args = ["-tls1_3", "-Verify", "1", "-CAfile", h.pki("issuing.pem")] + args
    with h.OpensslServer(server_args, cert=crt, key=keyfile) as srv:
        tap.diag("%s: s_server %s, key %s, port %d"
                 % (label, " ".join(args), key or "server.key", srv.port))
        sc = h.s_client_info(srv.port, "-tls1_3")
        run = h.run_caprobe(["--format", "jsonl", "--tls", "1.3", "--timeout", "10",
                             "127.0.0.1:%d" % srv.port])
    # the server is what the case says: openssl's own client gets the list
    tap.eq(sc["ca_names"], want_texts, "%s: openssl s_client lists issuing.pem's name" % label,
           sc["raw"][-2000:])
    tap.ok(run.rc in (0, 1) and len(run.records) == 1, "%s: caprobe prints one record" % label,
           run.describe())
    obs = run.records[0].get("observations", []) if run.records else []
    if not tap.eq(len(obs), 1, "%s: one observation" % label, run.describe()):
        return
    check_observation(tap, label, obs[0], want, crt, expect)


def check_sni(tap, tmp, certs):
    """The server_name of caprobe's own ClientHello: s_server serves the Ed25519 certificate to
    clients that name localhost and its default (ECDSA) one to the others."""
    label = "tls1.3 sni"
    crt2, key2 = certs["ed25519"]
    args = ["-tls1_3", "-Verify", "1", "-CAfile", h.pki("issuing.pem"), "-servername",
            "localhost", "-cert2", crt2, "-key2", key2]
    want = h.ca_file_subjects(h.pki("issuing.pem"))
    with h.OpensslServer(args) as srv:
        run = h.run_caprobe(["--format", "jsonl", "--tls", "1.3", "--timeout", "10", "--sni",
                             "localhost", "127.0.0.1:%d" % srv.port])
    obs = run.records[0].get("observations", []) if len(run.records) == 1 else []
    by_sni = {o.get("sni"): o for o in obs}
    if not tap.ok(len(obs) == 2 and set(by_sni) == {"localhost", None},
                  "%s: one observation with SNI localhost, one without" % label, run.describe()):
        return
    check_observation(tap, label + " localhost", by_sni["localhost"], want, crt2, {})
    check_observation(tap, label + " none", by_sni[None], want, h.pki("server.pem"), {})


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.skip("tls1.3 servers", "caprobe binary not found ($CAPROBE)")
        return tap.finish()
    with tempfile.TemporaryDirectory(prefix="caprobe-tls13-") as tmp:
        certs = {}
        for name in KEYS:
            certs[name] = make_cert(tmp, name)
        checks = [lambda t, c=c: check_case(t, tmp, certs, c) for c in CASES]
        for check, case in zip(checks, CASES):
            check.__name__ = case[0]
        sni = lambda t: check_sni(t, tmp, certs)  # noqa: E731
        sni.__name__ = "sni"
        h.run_checks(tap, checks + [sni])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
