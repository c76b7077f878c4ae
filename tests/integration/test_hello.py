#!/usr/bin/env python3
"""caprobe's own capture-only ClientHello (tls/wire/hello.c) against real servers: the servers
that refuse mbedTLS's ClientHello or speak only TLS 1.0 or 1.1, and hostile plaintext flights.

Oracles, each independent of caprobe:
- the ClientHello caprobe sends, read twice: byte by byte by the RFC 5246 reader of this file
  (from a socket server that records it), and by `openssl s_server -trace` (OpenSSL's own
  parser and IANA tables); both must agree, and s_server must answer it with a ServerHello;
- the names caprobe reports against the DER subjects of the -CAfile (harness.ca_file_subjects)
  and against what `openssl s_client` prints for the same server;
- that the server really refuses mbedTLS's ClientHello: the same probe with --client-hello
  mbedtls (the ClientHello caprobe sent before) ends with handshake_failure;
- the server certificate caprobe reports (Ed25519, Ed448, RSA-PSS keys, which mbedTLS's X.509
  parser does not know) against openssl's reading of the file s_server was given
  (harness.check_server_certificate);
- hostile flights written byte by byte here (Python) or by the lab (fixtures/lab raw flights):
  the error kind docs/output.md gives, and the message.

openssl 3.0 behaviour these cases rely on (observed, Debian 12's 3.0): TLS 1.0 and 1.1 need
`-cipher DEFAULT@SECLEVEL=0` on both sides; `-sigalgs` limits what the server signs its
ServerKeyExchange with (mbedTLS 3.6's TLS 1.2 ClientHello offers ECDSA and RSA PKCS#1 with
SHA-256/384/512 only, so a server that signs only with Ed25519, Ed448, RSA-PSS or SHA-1 answers
it with handshake_failure); `-trace` prints every ClientHello field with its IANA name.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LEGACY = ["-cipher", "DEFAULT@SECLEVEL=0"]
# (version, s_server/s_client flag, ProtocolVersion, extra arguments of both sides)
VERSIONS = [("1.0", "-tls1", 0x0301, LEGACY), ("1.1", "-tls1_1", 0x0302, LEGACY),
            ("1.2", "-tls1_2", 0x0303, [])]
SNI = "app.hello.test"


def findings(rec):
    return {f["rule"]: f for f in rec.get("findings", [])}


def ders(o):
    return [h.b64der(c["der"]) for c in (o.get("certificate_request") or {}).get("cas", [])]


def scan(args, timeout=60):
    return h.run_caprobe(["--format", "jsonl", "--timeout", "5"] + args, timeout=timeout)


def only_record(tap, run, label):
    ok = tap.ok(run.rc in (0, 1) and run.parse_error is None and len(run.records) == 1,
                "%s: one record" % label, run.describe())
    return run.records[0] if ok else None


# ---------------------------------------------------------------- an RFC 5246 reader

class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated at %d (+%d of %d)" % (self.i, n, len(self.b)))
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, n):
        return Reader(self.take(self.u(n)))

    def done(self):
        return self.i == len(self.b)


def parse_client_hello(record):
    """RFC 5246 6.2.1 and 7.4.1.2: the fields of a ClientHello record, every length checked."""
    r = Reader(record)
    out = {"record_type": r.u(1), "record_version": r.u(2)}
    frag = r.vec(2)
    if not r.done():
        raise ValueError("bytes after the record")
    out["msg_type"] = frag.u(1)
    body = frag.vec(3)
    if not frag.done():
        raise ValueError("bytes after the handshake message")
    out["msg_len"] = 4 + len(body.b)
    out["client_version"] = body.u(2)
    out["random"] = body.take(32)
    out["session_id"] = body.vec(1).b
    suites = body.vec(2)
    out["suites"] = [suites.u(2) for _ in range(len(suites.b) // 2)]
    if not suites.done():
        raise ValueError("odd cipher_suites")
    out["compression"] = list(body.vec(1).b)
    exts = body.vec(2)
    if not body.done():
        raise ValueError("bytes after the extensions")
    out["extensions"] = []
    while not exts.done():
        t = exts.u(2)
        out["extensions"].append((t, exts.vec(2).b))
    return out


def u16_list(data):
    r = Reader(data)
    lst = r.vec(2)
    if not r.done():
        raise ValueError("bytes after the list")
    return [lst.u(2) for _ in range(len(lst.b) // 2)]


class HelloServer(threading.Thread):
    """A loopback server that keeps the first record of every connection (the ClientHello), then
    answers with `reply` (bytes, or a function of the connection that writes what it wants)
    or closes."""

    def __init__(self, reply=None):
        super().__init__(daemon=True)
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hellos = []
        self.stopping = threading.Event()
        self.workers = []

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self.serve, args=(c,), daemon=True)
            t.start()
            self.workers.append(t)

    def serve(self, c):
        with c:
            c.settimeout(10)
            data = b""
            try:
                while len(data) < 5 or len(data) < 5 + struct.unpack(">H", data[3:5])[0]:
                    chunk = c.recv(4096)
                    if not chunk:
                        return
                    data += chunk
            except OSError:
                return
            self.hellos.append(data[:5 + struct.unpack(">H", data[3:5])[0]])
            try:
                if callable(self.reply):
                    self.reply(c, self.stopping)
                elif self.reply:
                    c.sendall(self.reply)
                    c.recv(1)  # until the client closes
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.join(timeout=2)
        for t in self.workers:
            t.join(timeout=2)
        self.sock.close()
        return False


# ---------------------------------------------------------------- s_server -trace

def trace_hellos(text):
    """The ClientHellos of `openssl s_server -trace` output: [{record_version, client_version,
    suites: [(code, name)], extensions: [(name, code)], groups: [names], sigalgs: [(name, code)],
    length}], and the suites of its ServerHellos."""
    hellos, server_suites = [], []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s+ClientHello, Length=(\d+)", line)
        if m:
            hv = re.search(r"\((0x[0-9a-f]+)\)", lines[i - 3])  # "  Version = TLS 1.0 (0x301)"
            cur = {"length": int(m.group(1)), "record_version": int(hv.group(1), 16),
                   "suites": [], "extensions": [], "groups": [], "sigalgs": []}
            hellos.append(cur)
            section = None
            for ln in lines[i + 1:]:
                if not ln.startswith("      ") or ln.strip() == "":
                    break
                s = ln.strip()
                if s.startswith("client_version="):
                    cur["client_version"] = int(s.split("=")[1].split()[0], 16)
                elif s.startswith("cipher_suites"):
                    section = "suites"
                elif s.startswith("compression_methods"):
                    section = None
                elif s.startswith("extension_type="):
                    em = re.match(r"extension_type=(\S+)\((\d+)\)", s)
                    cur["extensions"].append((em.group(1), int(em.group(2))))
                    section = em.group(1)
                elif section == "suites":
                    sm = re.match(r"\{0x([0-9A-F]{2}), 0x([0-9A-F]{2})\} (\S+)", s)
                    if sm:
                        cur["suites"].append((int(sm.group(1) + sm.group(2), 16), sm.group(3)))
                elif section == "supported_groups":
                    cur["groups"].append(s.split(" (")[0])
                elif section == "signature_algorithms":
                    am = re.match(r"(\S+) \((0x[0-9a-f]{4})\)", s)
                    if am:
                        cur["sigalgs"].append((am.group(1), int(am.group(2), 16)))
        sm = re.match(r"\s+cipher_suite \{0x([0-9A-F]{2}), 0x([0-9A-F]{2})\} (\S+)", line)
        if sm:
            server_suites.append(sm.group(3))
    return hellos, server_suites


# What a capture must never offer (a server that picks it sends no certificate, or no cipher).
FORBIDDEN = ("anon", "NULL", "EXPORT", "PSK", "SRP", "KRB5", "FALLBACK")
# Defined by TLS 1.2 only: never offered with a highest version below it.
TLS12_ONLY = ("_GCM_", "_CCM", "CHACHA20", "_SHA256", "_SHA384")
# What the ClientHello must reach: the families of issue 13 point 1, by IANA name.
SUITE_FAMILIES = {
    "1.2": ["ECDHE_ECDSA_WITH_AES_128_GCM", "ECDHE_RSA_WITH_AES_256_GCM", "DHE_RSA_WITH_AES_128_GCM",
            "RSA_WITH_AES_128_GCM", "ECDHE_RSA_WITH_AES_128_CBC_SHA256", "CHACHA20_POLY1305",
            "_CCM", "CAMELLIA_128_GCM", "ARIA_128_GCM", "3DES_EDE_CBC", "RSA_WITH_AES_128_CBC_SHA",
            "DHE_DSS_WITH"],
    "1.0": ["ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "DHE_RSA_WITH_AES_128_CBC_SHA", "RSA_WITH_AES_128_CBC_SHA", "CAMELLIA_256_CBC_SHA",
            "3DES_EDE_CBC", "RC4_128", "SEED_CBC"],
}
SIGALGS = ["ed25519", "ed448", "rsa_pss_pss_sha256", "rsa_pss_pss_sha384", "rsa_pss_pss_sha512",
           "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512", "rsa_pkcs1_sha256",
           "rsa_pkcs1_sha1", "ecdsa_sha1", "ecdsa_secp256r1_sha256", "ecdsa_secp521r1_sha512",
           "rsa_pkcs1_sha224", "ecdsa_sha224", "dsa_sha256", "dsa_sha1"]
GROUPS = ["ecdh_x25519", "ecdh_x448", "secp256r1", "secp384r1", "secp521r1", "ffdhe2048",
          "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192", "brainpoolP256r1"]


def check_hello_bytes(tap, label, raw, version, sni):
    """One ClientHello as this file's reader sees it."""
    try:
        p = parse_client_hello(raw)
    except ValueError as e:
        tap.ok(False, "%s: the ClientHello parses (RFC 5246 7.4.1.2)" % label, "%s: %s" %
               (e, raw.hex()))
        return None
    tap.ok(p["record_type"] == 22 and p["record_version"] == 0x0301 and p["msg_type"] == 1 and
           p["client_version"] == version and p["session_id"] == b"" and
           p["compression"] == [0],
           "%s: record 3.1, client_hello of version %#06x, no session id, null compression"
           % (label, version), repr({k: v for k, v in p.items() if k not in ("random",)}))
    tap.ok(len(raw) <= 1024 and not 256 <= p["msg_len"] < 512,
           "%s: %d bytes, the message not within 256..511 (RFC 7685)" % (label, len(raw)))
    types = [t for t, _ in p["extensions"]]
    want = ([0] if sni else []) + [23, 35, 11, 10] + ([13] if version >= 0x0303 else [])
    tap.eq([t for t in types if t != 21], want, "%s: extensions in order (21 padding aside)"
           % label)
    if sni:
        name = dict(p["extensions"])[0]
        tap.eq(name, struct.pack(">HBH", len(sni) + 3, 0, len(sni)) + sni.encode(),
               "%s: server_name %s (RFC 6066 3)" % (label, sni))
    tap.ok(len(set(types)) == len(types) and all(d for t, d in p["extensions"][-1:]),
           "%s: no extension twice, the last not empty" % label)
    return p


def check_hello_oracle(tap, exe):
    """caprobe's ClientHello of each version: this file's reader and s_server -trace agree on
    every field, OpenSSL names every suite and extension, and s_server answers it: caprobe
    reports the CA name of the -CAfile."""
    issuing = h.ca_file_subjects(h.pki("issuing.pem"))
    for ver, flag, code, extra in VERSIONS:
        with HelloServer() as hs:
            scan(["--tls", ver, "--sni", SNI, "127.0.0.1:%d" % hs.port])
            time.sleep(0.2)
            raws = list(hs.hellos)
        tap.eq(len(raws), 2, "tls%s: two ClientHellos (SNI %s and none)" % (ver, SNI))
        parsed = []
        for raw in raws:
            try:
                with_sni = 0 in [t for t, _ in parse_client_hello(raw)["extensions"]]
            except ValueError:
                with_sni = False
            parsed.append(check_hello_bytes(tap, "tls%s %s" % (ver, "SNI" if with_sni else
                                                                 "no SNI"),
                                            raw, code, SNI if with_sni else None))
        tap.eq(sorted(0 in [t for t, _ in p["extensions"]] for p in parsed if p),
               [False, True], "tls%s: one ClientHello with server_name, one without" % ver)
        with h.OpensslServer(["-trace", "-verify", "1", "-CAfile", h.pki("issuing.pem"), flag]
                             + extra) as srv:
            run = scan(["--tls", ver, "--sni", SNI, "127.0.0.1:%d" % srv.port])
            time.sleep(0.2)
        out = srv.output()
        th, chosen = trace_hellos(out)
        label = "tls%s" % ver
        rec = only_record(tap, run, label + " against s_server -trace")
        if rec is None or len(th) != 2 or None in parsed:
            tap.ok(False, "%s: s_server traced two ClientHellos" % label, out[-3000:])
            continue
        for t in th:
            exts = [c for _, c in t["extensions"]]
            p = next((p for p in parsed if [c for c, _ in p["extensions"]] == exts), None)
            tap.ok(p is not None and [c for c, _ in t["suites"]] == p["suites"] and
                   (t["record_version"], t["client_version"], t["length"] + 4) ==
                   (0x0301, code, p["msg_len"]),
                   "%s: s_server -trace reads a ClientHello as this file's reader does: %d "
                   "suites, extensions %s, record 3.1, version %#06x" % (
                       label, len(t["suites"]), exts, code), repr(t)[:3000])
        t, p = th[0], next(p for p in parsed
                           if [c for c, _ in p["extensions"]] == [c for _, c in th[0]["extensions"]])
        names = [n for _, n in t["suites"]]
        bad = [n for n in names if any(f in n for f in FORBIDDEN) or n.startswith("UNKNOWN")]
        tap.eq(bad, [], "%s: every suite known to OpenSSL, none anonymous, NULL, export, PSK, "
               "SRP or a fallback signal" % label)
        tap.eq(names[-1], "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", "%s: the renegotiation SCSV last "
               "(RFC 5746 3.3)" % label)
        fam = SUITE_FAMILIES["1.2" if code == 0x0303 else "1.0"]
        tap.eq([f for f in fam if not any(f in n for n in names)], [],
               "%s: suites of every family offered (%s)" % (label, ", ".join(fam)))
        if code < 0x0303:
            tap.eq([n for n in names if any(m in n for m in TLS12_ONLY)], [],
                   "%s: no suite that only TLS 1.2 defines" % label)
            tap.eq(t["sigalgs"], [], "%s: no signature_algorithms (RFC 5246 7.4.1.4.1)" % label)
        else:
            have = [n for n, _ in t["sigalgs"]]
            tap.eq([s for s in SIGALGS if s not in have], [],
                   "%s: every signature scheme offered (Ed25519, Ed448, RSA-PSS, SHA-1, "
                   "SHA-224, DSA)" % label)
            ext = dict(p["extensions"])
            tap.eq([c for _, c in t["sigalgs"]], u16_list(ext[13]),
                   "%s: signature_algorithms read alike by both" % label)
        tap.eq([g for g in GROUPS if g not in t["groups"]], [], "%s: every group offered "
               "(x25519, x448, NIST, ffdhe2048 to 8192, brainpool)" % label)
        tap.ok(len(chosen) == 2, "%s: s_server answered both with a ServerHello (%s)"
               % (label, ", ".join(chosen)), out[-2000:])
        obs = rec["observations"]
        tap.eq([(o["sni"], o["outcome"], (o.get("tls") or {}).get("version"), ders(o))
                for o in obs],
               [(None, "certificate_request", ver, issuing), (SNI, "certificate_request", ver,
                                                             issuing)],
               "%s: caprobe reports the -CAfile's name over both, TLS %s" % (label, ver),
               run.describe())
        iana = [o["tls"]["cipher_suite"].replace("-", "_") for o in obs if o.get("tls")]
        tap.eq(sorted(iana), sorted(chosen), "%s: caprobe's suites are those s_server chose"
               % label)


# ---------------------------------------------------------------- TLS 1.0 and 1.1 servers

CERT_TYPES = {"RSA sign": "rsa_sign", "DSA sign": "dss_sign", "ECDSA sign": "ecdsa_sign"}


def check_legacy_servers(tap, exe):
    """s_server speaking only TLS 1.0 (or 1.1), asking with the two names of cas.pem: caprobe
    reaches it with every probe up to 1.2, reports the names byte for byte and as s_client
    does, and legacy-tls-version fires, medium (nothing newer)."""
    cas = h.pki("cas.pem")
    want = h.ca_file_subjects(cas)
    texts = h.openssl_subject_texts(cas)
    for ver, flag, code, extra in VERSIONS[:2]:
        label = "%s-only server" % ver
        with h.OpensslServer(["-Verify", "1", "-CAfile", cas, flag] + extra) as srv:
            run = scan(["--tls", "1.3,1.1,1.0,1.2", "127.0.0.1:%d" % srv.port])
            default = scan(["127.0.0.1:%d" % srv.port])
            request = scan(["--tls", "1.2", "--request", "/", "127.0.0.1:%d" % srv.port])
            sc = h.s_client_info(srv.port, flag, extra=LEGACY)
        # --request: the TLS 1.2 probe is mbedTLS's, which the server answers with TLS 1.0 or
        # 1.1; the flight is read, and the request's error says why none was sent
        rrec = only_record(tap, request, label + ", --request")
        if rrec:
            o = rrec["observations"][0]
            err = (o.get("http") or {}).get("error") or {}
            tap.ok(ders(o) == want and o["http"]["sent"] is False and
                   err.get("kind") == "protocol" and
                   err.get("message") == "no request was sent: the server chose TLS %s, which "
                   "mbedTLS (needed to complete the handshake for a request) does not speak" % ver,
                   "%s, --request: the names read, and no request because mbedTLS does not speak "
                   "TLS %s" % (label, ver), request.describe())
        tap.eq(sc["ca_names"], [texts[d] for d in want],
               "%s: openssl s_client %s reads the names of cas.pem" % (label, flag), sc["raw"])
        rec = only_record(tap, run, label)
        if rec is None:
            continue
        obs = rec["observations"]
        tap.eq([o["tls_max"] for o in obs], ["1.0", "1.1", "1.2", "1.3"],
               "%s: one probe per version, in ascending order (--tls 1.3,1.1,1.0,1.2)" % label)
        got = [(o["tls_max"], o["outcome"], (o.get("tls") or {}).get("version"),
                (o.get("error") or {}).get("kind")) for o in obs]
        expect = [(m, "certificate_request", ver, None) for m in ("1.0", "1.1", "1.2")
                  if m >= ver]
        expect = [("1.0", "error", None, "version_not_offered")] * (ver == "1.1") + expect + \
            [("1.3", "error", None, "version_not_offered")]
        tap.eq(got, expect, "%s: every probe up to TLS 1.2 gets its flight, in TLS %s" %
               (label, ver), run.describe())
        for o in obs:
            if o["outcome"] == "certificate_request":
                tap.eq(ders(o), want, "%s tls_max %s: the names of cas.pem, byte for byte"
                       % (label, o["tls_max"]))
                tap.eq([c["dn"] for c in o["certificate_request"]["cas"]], sc["ca_names"],
                       "%s tls_max %s: as s_client prints them" % (label, o["tls_max"]))
                cr = o["certificate_request"]
                tap.eq((cr["certificate_types"], cr["signature_algorithms"]),
                       ([CERT_TYPES[x] for x in (sc["cert_types"] or "").split(", ")], []),
                       "%s tls_max %s: the certificate types s_client saw, no signature "
                       "algorithms (TLS %s has none)" % (label, o["tls_max"], ver))
        f = findings(rec).get("legacy-tls-version")
        tap.ok(f is not None and f["severity"] == "medium" and
               f["observations"] == [i for i, o in enumerate(obs) if o["outcome"] != "error"]
               and ("chose TLS %s" % ver) in f["message"],
               "%s: legacy-tls-version, medium, cites the probes TLS %s answered" % (label, ver),
               run.describe())
        tap.eq(run.rc, 0, "%s: a medium finding alone keeps exit status 0" % label)
        drec = only_record(tap, default, label + ", default --tls")
        if drec:
            o = drec["observations"][0]
            tap.ok(o["tls_max"] == "1.2" and o["outcome"] == "certificate_request" and
                   o["tls"]["version"] == ver and ders(o) == want,
                   "%s: a default scan reaches it too (its TLS 1.2 probe offers 1.0 and 1.1)"
                   % label, default.describe())


def check_modern_server(tap, exe):
    """s_server at OpenSSL 3's default security level, which answers a ClientHello of TLS 1.0
    or 1.1 with internal_error (80), as `openssl s_client -tls1` shows: with every version
    asked for and --request, 1.0 and 1.1 are "not offered" (no failure for --fail-on-error),
    1.2 and 1.3 read the names of cas.pem, and the TLS 1.3 request (mbedTLS) is answered."""
    cas = h.pki("cas.pem")
    want = h.ca_file_subjects(cas)
    with h.OpensslServer(["-verify", "1", "-CAfile", cas]) as srv:
        run = scan(["--tls", "1.0,1.1,1.2,1.3", "--request", "/", "--fail-on-error",
                    "127.0.0.1:%d" % srv.port])
        sc = h.s_client_info(srv.port, "-tls1")
    tap.ok("alert number 80" in sc["raw"] or "internal error" in sc["raw"],
           "modern s_server: openssl s_client -tls1 gets internal_error", sc["raw"][-400:])
    rec = only_record(tap, run, "modern s_server")
    if rec is None:
        return
    got = [(o["tls_max"], o["outcome"], (o.get("error") or {}).get("kind"),
            (o.get("error") or {}).get("alert")) for o in rec["observations"]]
    tap.eq(got, [("1.0", "error", "version_not_offered", "internal_error"),
                 ("1.1", "error", "version_not_offered", "internal_error"),
                 ("1.2", "certificate_request", None, None),
                 ("1.3", "certificate_request", None, None)],
           "modern s_server: TLS 1.0 and 1.1 not offered, 1.2 and 1.3 read", run.describe())
    for o in rec["observations"][2:]:
        tap.eq(ders(o), want, "modern s_server tls_max %s: the names of cas.pem, byte for byte"
               % o["tls_max"])
        http = o.get("http") or {}
        tap.ok(http.get("sent") is True and str(http.get("status", "")).startswith("200"),
               "modern s_server tls_max %s: GET / answered 200" % o["tls_max"], repr(http))
    tap.eq(run.rc, 0, "modern s_server: --fail-on-error does not count TLS 1.0/1.1 not offered")


# ---------------------------------------------------------------- TLS 1.2 signature needs

def make_cert(tmp, name, keyargs):
    key, cert = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pem")
    subprocess.run([h.OPENSSL, "req", "-x509", "-newkey"] + keyargs +
                   ["-keyout", key, "-out", cert, "-days", "30", "-nodes", "-subj",
                    "/C=DE/O=caprobe hello, %s/CN=localhost" % name], check=True,
                   capture_output=True, timeout=60)
    return cert, key


def check_signature_needs(tap, exe):
    """TLS 1.2 servers whose certificate or signature rules refuse mbedTLS's ClientHello: with
    --client-hello mbedtls (what caprobe sent before) handshake_failure, with caprobe's own the
    names of cas.pem, as s_client reads them."""
    cas = h.pki("cas.pem")
    want = h.ca_file_subjects(cas)
    texts = h.openssl_subject_texts(cas)
    rsa = (os.path.join(h.fixtures_dir(), "lab", "pki", "rsa-server.pem"),
           os.path.join(h.fixtures_dir(), "lab", "pki", "rsa-server.key"))
    tmp = tempfile.mkdtemp(prefix="caprobe-hello-")
    try:
        cases = [
            ("ed25519 certificate", make_cert(tmp, "ed25519", ["ed25519"]), [], []),
            ("ed448 certificate", make_cert(tmp, "ed448", ["ed448"]), [], []),
            ("RSA-PSS certificate", make_cert(tmp, "pss", ["rsa-pss", "-pkeyopt",
                                                           "rsa_keygen_bits:2048"]), [], []),
            ("RSA signing with rsa_pss_rsae only", rsa, ["-sigalgs", "rsa_pss_rsae_sha256"], []),
            ("RSA signing with SHA-1 only", rsa, ["-sigalgs", "RSA+SHA1"] + LEGACY, LEGACY),
        ]
        for label, (cert, key), sargs, cargs in cases:
            srv = h.OpensslServer(["-Verify", "1", "-CAfile", cas, "-tls1_2"] + sargs,
                                  cert=cert, key=key)
            with srv:
                own = scan(["--tls", "1.2", "127.0.0.1:%d" % srv.port])
                old = scan(["--tls", "1.2", "--client-hello", "mbedtls",
                            "127.0.0.1:%d" % srv.port])
                sc = h.s_client_info(srv.port, "-tls1_2", extra=cargs)
            tap.eq(sc["ca_names"], [texts[d] for d in want],
                   "%s: openssl s_client reads the names" % label, sc["raw"][-2000:])
            rec, orec = only_record(tap, own, label), only_record(tap, old, label + " (mbedTLS)")
            if rec is None or orec is None:
                continue
            o, oo = rec["observations"][0], orec["observations"][0]
            tap.ok(oo["outcome"] == "error" and oo["error"].get("alert") == "handshake_failure",
                   "%s: mbedTLS's ClientHello gets handshake_failure" % label, old.describe())
            tap.ok(o["outcome"] == "certificate_request" and o["tls"]["version"] == "1.2" and
                   ders(o) == want, "%s: caprobe's own gets the names of cas.pem, byte for "
                   "byte" % label, own.describe())
            tap.eq([c["dn"] for c in (o.get("certificate_request") or {}).get("cas", [])],
                   sc["ca_names"], "%s: as s_client prints them" % label)
            h.check_server_certificate(tap, label, o, cert)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- hostile flights

def record(ct, version, body):
    return struct.pack(">BHH", ct, version, len(body)) + body


def hs(msg_type, body):
    return struct.pack(">B", msg_type) + len(body).to_bytes(3, "big") + body


def server_hello(version, suite=0x002F, exts=b""):
    body = struct.pack(">H", version) + bytes(range(32)) + b"\x00" + struct.pack(">HB", suite, 0)
    if exts:
        body += struct.pack(">H", len(exts)) + exts
    return hs(2, body)


CERT = hs(11, b"\x00\x00\x06\x00\x00\x03\xde\xad\x01")


def endless(c, stopping):
    """A TLS 1.0 ServerHello and Certificate, then CertificateStatus messages until the client
    goes (at most 4 MiB): a flight that never ends."""
    c.sendall(record(22, 0x0301, server_hello(0x0301) + CERT))
    status = record(22, 0x0301, hs(22, b"\x01" + (4000).to_bytes(3, "big") + b"\x00" * 4000))
    for _ in range(4 * 1024 * 1024 // len(status)):
        if stopping.is_set():
            return
        c.sendall(status)


def stall_after_hello(c, stopping):
    c.sendall(record(22, 0x0301, server_hello(0x0301) + CERT))
    stopping.wait(10)


HOSTILE_LAB = """
defaults:
  timeout_ms: 5000
  cert: pki/rsa-server-chain.pem
  cas: [../pki/issuing.pem]
  mode: raw
  raw: flight
endpoints:
  - {name: tls10-only, flight_version: "1.0"}
  - {name: record-version-mismatch, flight_version: "1.0", record_version: "1.2", record_size: 512}
  - {name: ssl3-only, flight_version: "3.0"}
  - {name: tls12, flight_version: "1.2"}
"""


def check_hostile(tap, exe):
    """Versions that disagree, versions not offered, a flight that never ends: each an error
    record of the kind docs/output.md gives, with a message that says what came."""
    issuing = h.ca_file_subjects(h.pki("issuing.pem"))
    tls13_hello = server_hello(0x0303, 0x1301, b"\x00\x2b\x00\x02\x03\x04")
    cases = [
        # (label, reply, caprobe arguments, kind, message part)
        ("a TLS 1.3 ServerHello to a TLS 1.2 ClientHello", record(22, 0x0303, tls13_hello),
         ["--tls", "1.2"], "protocol",
         "the server chose TLS 1.3, which this probe did not offer (it offered TLS 1.0 to 1.2)"),
        ("a TLS 1.2 ServerHello, then a record of TLS 1.0",
         record(22, 0x0303, server_hello(0x0303, 0xc02f)) + record(22, 0x0301, CERT),
         ["--tls", "1.2"], "protocol", "a record of TLS 1.0 after a ServerHello of TLS 1.2"),
        ("a flight that never ends (CertificateStatus forever)", endless,
         ["--tls", "1.0", "--capture-limit", "65536"], "capture_limit",
         "the server sent more than 65536 bytes before its flight was complete"),
        ("a TLS 1.0 ServerHello, then silence", stall_after_hello,
         ["--tls", "1.0", "--timeout", "1"], "timeout", "the flight never ended"),
    ]
    for label, reply, args, kind, part in cases:
        with HelloServer(reply) as srv:
            run = scan(args + ["127.0.0.1:%d" % srv.port])
        rec = only_record(tap, run, label)
        if rec is None:
            continue
        o = rec["observations"][0]
        tap.ok(o["outcome"] == "error" and o["error"]["kind"] == kind and
               part in o["error"]["message"], "%s: error %s, '%s'" % (label, kind, part),
               run.describe())
    with h.LabServer(HOSTILE_LAB) as lab:
        port = lab.port
        runs = {
            "tls10": scan(["--tls", "1.0", "127.0.0.1:%d" % port("tls10-only")]),
            "tls10-default": scan(["--fail-on-error", "127.0.0.1:%d" % port("tls10-only")]),
            "request": scan(["--tls", "1.0,1.2", "--request", "/",
                             "127.0.0.1:%d" % port("tls10-only")]),
            "mismatch": scan(["--tls", "1.0", "127.0.0.1:%d" % port("record-version-mismatch")]),
            "ssl3": scan(["--tls", "1.2", "127.0.0.1:%d" % port("ssl3-only")]),
            "above": scan(["--tls", "1.0", "127.0.0.1:%d" % port("tls12")]),
        }
        text = h.run_caprobe(["-q", "--format", "text", "--tls", "1.0,1.2",
                              "127.0.0.1:%d" % port("tls10-only")])
    # the text report tells the server's choice once, on the row of the probe it answered so
    rows = [r for r in text.stdout.splitlines() if not r.startswith("    ")]
    chose = [r for r in rows if "server chose" in r and r.startswith("  127.0.0.1 ")]
    tap.ok(len(chose) == 1 and chose[0].count("server chose") == 1 and
           "TLS 1.2 (server chose TLS 1.0)" in chose[0] and
           any(r.startswith("  127.0.0.1 no SNI TLS 1.0: 1 CA name") for r in rows),
           "text: a TLS 1.0 answer to the TLS 1.2 probe is told once, on its own row",
           text.describe())
    rec = only_record(tap, runs["tls10"], "lab tls10-only")
    if rec:
        o = rec["observations"][0]
        tap.ok(o["outcome"] == "certificate_request" and o["tls"]["version"] == "1.0" and
               o["tls"]["cipher_suite"] in ("TLS-RSA-WITH-AES-128-CBC-SHA", "0x002f") and
               ders(o) == issuing, "lab tls10-only: the issuing CA over TLS 1.0 (0x002F)",
               runs["tls10"].describe())
    # The lab answers any ClientHello with its TLS 1.0 flight, as a server that ignores
    # supported_versions would: to the TLS 1.3 probe (1.3 suites only) that is TLS 1.3 not
    # offered, not a second list and not a failure (docs/output.md version_not_offered).
    rec = only_record(tap, runs["tls10-default"], "lab tls10-only, default --tls")
    if rec:
        got = [(o["tls_max"], o["outcome"], (o.get("tls") or {}).get("version"),
                (o.get("error") or {}).get("kind")) for o in rec["observations"]]
        tap.eq(got, [("1.2", "certificate_request", "1.0", None),
                     ("1.3", "error", "1.0", "version_not_offered")],
               "lab tls10-only, default --tls: the 1.2 probe reads the 1.0 flight, TLS 1.3 not "
               "offered", runs["tls10-default"].describe())
        o13 = rec["observations"][-1]
        tap.ok(o13.get("error", {}).get("message", "").startswith(
            "TLS 1.3 not offered: the server chose TLS 1.0, which this probe did not offer"),
            "lab tls10-only, default --tls: the 1.3 probe's message names the version chosen")
        tap.ok(ders(rec["observations"][0]) == issuing and
               "legacy-tls-version" in findings(rec),
               "lab tls10-only, default --tls: the issuing CA, and legacy-tls-version")
        tap.eq(runs["tls10-default"].rc, 0,
               "lab tls10-only, default --tls: --fail-on-error does not count TLS 1.3 not offered")
    rec = only_record(tap, runs["request"], "lab tls10-only with --request")
    if rec:
        o10, o12 = rec["observations"]
        tap.ok(ders(o10) == issuing and "http" not in o10,
               "--request: the TLS 1.0 probe is captured, no request (caprobe completes no TLS "
               "1.0 handshake)", runs["request"].describe())
        tap.ok(ders(o12) == issuing and o12["tls"]["version"] == "1.0" and
               o12["http"]["sent"] is False,
               "--request: the TLS 1.2 probe (mbedTLS) fails, its capture reads the 1.0 flight")
    for key, label, kind, part in [
            ("mismatch", "lab record-version-mismatch", "protocol",
             "a record of TLS 1.2 after a ServerHello of TLS 1.0"),
            ("ssl3", "lab ssl3-only", "version_not_offered",
             "TLS 1.2 not offered: the server chose SSL 3.0, which this probe did not offer"),
            ("above", "lab TLS 1.2 flight to a TLS 1.0 probe", "protocol",
             "the server chose TLS 1.2, which this probe did not offer (it offered TLS 1.0 "
             "only)")]:
        rec = only_record(tap, runs[key], label)
        if rec:
            o = rec["observations"][0]
            tap.ok(o["outcome"] == "error" and o["error"]["kind"] == kind and
                   part in o["error"]["message"], "%s: error %s, '%s'" % (label, kind, part),
                   runs[key].describe())


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    exe = h.caprobe_path()
    if exe is None:
        tap.skip("caprobe", "caprobe binary not found ($CAPROBE)")
        return tap.finish()
    h.run_checks(tap, [check_hello_oracle, check_legacy_servers, check_modern_server,
                       check_signature_needs, check_hostile], exe)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
