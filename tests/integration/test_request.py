#!/usr/bin/env python3
"""--request end to end: caprobe completes the handshake, sends GET PATH, records the response
and captures the CertificateRequest of a TLS 1.2 renegotiation. Real peers on loopback: openssl
s_server (-www, and interactive with its R command), apache2 with per-location SSLVerifyClient
and SSLCADNRequestFile != SSLCACertificateFile, nginx with SNI and default servers, and https://
URL targets whose path is the request's (nginx's access log says what was sent). Emits TAP."""

import base64
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import apache  # noqa: E402


def obs_of(run, phase=None, version=None):
    out = []
    for r in run.records:
        for o in r["observations"]:
            if (phase is None or o["phase"] == phase) and \
                    (version is None or o["tls_max"] == version):
                out.append(o)
    return out


def ders(o):
    return [base64.b64decode(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]


def rules_of(run):
    return sorted({f["rule"] for r in run.records for f in r.get("findings", [])})


def finding(run, rule):
    for r in run.records:
        for f in r.get("findings", []):
            if f["rule"] == rule:
                return f
    return None


def scan(args, timeout=60):
    run = h.run_caprobe(["--format", "jsonl", "--timeout", "8"] + args, timeout=timeout)
    if run.parse_error:
        run.records = []
    return run


def check_www(tap):
    """s_server -www answers any GET with 200 after a full handshake, over 1.2 and 1.3; the
    handshake list is still captured and no renegotiation is reported."""
    with h.OpensslServer(["-CAfile", h.pki("issuing.pem"), "-verify", "1"]) as srv:
        target = "127.0.0.1:%d" % srv.port
        run = scan(["--request", "/", target])
        text = h.run_caprobe(["--timeout", "8", "--request", "/index.html", target])
    tap.eq(run.rc, 0, "s_server -www --request: exit 0")
    hs = obs_of(run, "handshake")
    tap.eq(len(hs), 2, "s_server -www --request: two observations, both of the handshake")
    tap.eq(obs_of(run, "renegotiation"), [], "s_server -www: no renegotiation observation")
    want = h.ca_file_subjects(h.pki("issuing.pem"))
    for o in hs:
        v = o["tls_max"]
        tap.eq(o["outcome"], "certificate_request", "TLS %s: the handshake list is kept" % v)
        tap.eq(ders(o), want, "TLS %s: the handshake names are issuing.pem's subject" % v)
        http = o.get("http") or {}
        tap.eq((http.get("path"), http.get("sent"), http.get("status"), http.get("renegotiation")),
               ("/", True, 200, False), "TLS %s: GET / sent, status 200, no renegotiation" % v)
        tap.ok(re.match(r"^HTTP/1\.[01] 200 ok$", http.get("status_line") or "", re.I),
               "TLS %s: the status line as received" % v, http)
        tap.eq(http.get("server"), None, "TLS %s: s_server sends no Server header" % v)
    tap.ok(re.search(r"^    GET /index\.html: HTTP/1\.[01] 200 ok$", text.stdout, re.M | re.I),
           "text report shows the request and its status line", text.stdout)


class RenegServer:
    """openssl s_server in interactive mode: when the request for `path` arrives it types R
    (renegotiate and ask for a client certificate), then after `delay` s the response."""

    def __init__(self, cafile, response, path="/secure", extra=(), cert=None, key=None):
        self.cafile, self.response, self.path, self.extra = cafile, response, path, list(extra)
        self.cert = cert or h.pki("server.pem")
        self.key = key or h.pki("server.key")
        self.proc = None
        self.port = None
        self.renegotiated = threading.Event()

    def start(self):
        cmd = [h.OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-tls1_2", "-cert", self.cert,
               "-key", self.key, "-CAfile", self.cafile] + self.extra
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode("utf-8", "replace")
            m = re.match(r"^ACCEPT\s+\S*:(\d+)\s*$", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.stop()
            raise RuntimeError("s_server did not start")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        for raw in iter(self.proc.stdout.readline, b""):
            if raw.startswith(b"GET " + self.path.encode()):
                try:
                    self.proc.stdin.write(b"R\n")
                    self.proc.stdin.flush()
                    self.renegotiated.set()
                    if self.response is not None:
                        time.sleep(1.0)
                        self.proc.stdin.write(self.response)
                        self.proc.stdin.flush()
                except OSError:
                    return

    def stop(self):
        h.kill_group(self.proc)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def check_s_server_renegotiation(tap):
    """The initial handshake asks nothing; after GET /secure s_server renegotiates and asks with
    cas.pem's names; then it answers 403. The renegotiation list is captured byte for byte."""
    cafile = h.pki("cas.pem")
    resp = b"HTTP/1.1 403 Forbidden\nServer: s_server-test\n\n"
    with RenegServer(cafile, resp) as srv:
        run = scan(["--tls", "1.2", "--request", "/secure", "127.0.0.1:%d" % srv.port])
        asked = srv.renegotiated.is_set()
    tap.ok(asked, "s_server saw GET /secure and was told to renegotiate")
    hs, rn = obs_of(run, "handshake"), obs_of(run, "renegotiation")
    tap.eq([o["outcome"] for o in hs], ["no_certificate_request"],
           "s_server R: the initial handshake has no CertificateRequest")
    tap.eq(len(rn), 1, "s_server R: one renegotiation observation", run.stdout)
    if rn:
        tap.eq(rn[0]["outcome"], "certificate_request", "renegotiation: certificate_request")
        tap.eq(ders(rn[0]), h.ca_file_subjects(cafile),
               "renegotiation: the names are cas.pem's subjects, byte for byte")
        tap.eq((rn[0]["address"], rn[0]["sni"], rn[0]["tls_max"]), ("127.0.0.1", None, "1.2"),
               "renegotiation: the variant is that of its handshake")
        tap.eq(rn[0].get("tls", {}).get("version"), "1.2", "renegotiation: TLS 1.2")
        tap.ok(rn[0].get("server_certificate", {}).get("subject") == "CN=localhost",
               "renegotiation: the server certificate of the second handshake", rn[0])
    http = hs[0].get("http", {}) if hs else {}
    tap.eq((http.get("status"), http.get("server"), http.get("renegotiation")),
           (403, "s_server-test", True), "the response after the renegotiation: 403, Server")
    f = finding(run, "post-request-client-auth")
    tap.ok(f and "only by renegotiation after GET /secure" in f["message"] and
           f["observations"] == [0, 1], "post-request-client-auth names the handshake and the "
           "renegotiation", f)
    tap.eq(run.rc, 1, "a high finding: exit 1")
    # the probe got its CertificateRequest, in the renegotiation: the summary counts it so
    tap.ok("caprobe: 1 probe: 1 with a certificate request, 0 without, 0 errors\n" in run.stderr,
           "the summary counts the probe whose renegotiation asked as with a certificate request",
           run.stderr)


SUITES = [  # OpenSSL name, extra s_server options, mbedTLS name part
    ("ECDHE-ECDSA-AES128-GCM-SHA256", [], "AES-128-GCM-SHA256"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", [], "AES-256-GCM-SHA384"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", [], "CHACHA20-POLY1305-SHA256"),
    ("ECDHE-ECDSA-AES128-SHA", [], "AES-128-CBC-SHA"),
    ("ECDHE-ECDSA-AES128-SHA", ["-no_etm"], "AES-128-CBC-SHA"),
    ("ECDHE-ECDSA-AES256-SHA384", [], "AES-256-CBC-SHA384"),
    ("ECDHE-ECDSA-AES256-SHA384", ["-no_etm"], "AES-256-CBC-SHA384"),
    ("AES256-SHA256", ["-no_etm"], "RSA-WITH-AES-256-CBC-SHA256"),  # RSA key exchange, IIS-style
]
LAB_RSA = (os.path.join(h.fixtures_dir(), "lab", "pki", "rsa-server-chain.pem"),
           os.path.join(h.fixtures_dir(), "lab", "pki", "rsa-server.key"))


def check_s_server_suites(tap):
    """The renegotiation is decrypted for each family of suites: AES-GCM, ChaCha20-Poly1305, and
    CBC with HMAC-SHA1 / SHA-384, with and without Encrypt-then-MAC (RFC 7366)."""
    cafile = h.pki("cas.pem")
    want = h.ca_file_subjects(cafile)
    for cipher, extra, mbed in SUITES:
        label = "renegotiation with %s%s" % (cipher, " -no_etm" if extra else " (EtM)"
                                             if "SHA" in cipher and "GCM" not in cipher else "")
        resp = b"HTTP/1.1 403 Forbidden\n\n"
        cert, key = LAB_RSA if cipher.startswith("AES") else (None, None)
        with RenegServer(cafile, resp, extra=["-cipher", cipher] + extra, cert=cert,
                         key=key) as srv:
            run = scan(["--tls", "1.2", "--request", "/secure", "127.0.0.1:%d" % srv.port])
        hs, rn = obs_of(run, "handshake"), obs_of(run, "renegotiation")
        suite = (hs[0].get("tls") or {}).get("cipher_suite", "") if hs else ""
        tap.ok(mbed in suite, label + ": negotiated", suite)
        tap.eq([ders(o) for o in rn], [want], label + ": the list, byte for byte", run.stdout[:2000])
        tap.eq((hs[0].get("http") or {}).get("status") if hs else None, 403,
               label + ": the response after it")


class ChunkProxy(threading.Thread):
    """A TCP proxy on loopback that passes the server's bytes on in chunks of `size`, `gap` s
    apart: a flight then reaches caprobe in many reads, as over a real network."""

    def __init__(self, port, size=1400, gap=0.002):
        super().__init__(daemon=True)
        import socket
        self.dst, self.size, self.gap = port, size, gap
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.stopped = False

    def run(self):
        import socket
        while not self.stopped:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.dst))
            threading.Thread(target=self._pipe, args=(c, s, 65536, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, self.size, self.gap),
                             daemon=True).start()

    def _pipe(self, a, b, size, gap):
        try:
            while True:
                data = a.recv(size)
                if not data:
                    break
                b.sendall(data)
                if gap:
                    time.sleep(gap)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(2)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.lsock.close()


def check_big_renegotiation(tap):
    """A renegotiation list over 16 KiB (a root-store dump asked for after the request), arriving
    in 1400-byte pieces: mbedTLS cannot take the message, caprobe still reads the whole flight."""
    cafile = h.pki("many-20k.pem")
    want = h.ca_file_subjects(cafile)
    with RenegServer(cafile, b"HTTP/1.1 403 Forbidden\n\n") as srv:
        proxy = ChunkProxy(srv.port)
        proxy.start()
        try:
            run = scan(["--tls", "1.2", "--request", "/secure", "127.0.0.1:%d" % proxy.port])
        finally:
            proxy.stop()
    rn = obs_of(run, "renegotiation")
    tap.eq([(o["outcome"], len(ders(o))) for o in rn], [("certificate_request", len(want))],
           "a %d-name renegotiation list in 1400-byte pieces is captured whole" % len(want),
           run.stdout[:1500])
    tap.ok(rn and ders(rn[0]) == want, "... byte for byte")
    hs = obs_of(run, "handshake")
    err = ((hs[0].get("http") or {}).get("error") or {}) if hs else {}
    tap.ok("mbedTLS could not" in err.get("message", ""),
           "the http error says mbedTLS could not follow the renegotiation", err)
    tap.ok(any(f["rule"] == "oversized-ca-list" for r in run.records for f in r["findings"]),
           "the renegotiation list is judged: oversized-ca-list")


def serve_once(handler):
    """A TLS 1.2 server (Python's ssl) on a kernel-chosen port that runs handler(conn) for each
    connection in a thread; returns (port, stop)."""
    import socket
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(h.pki("server-chain.pem"), h.pki("server.key"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.5)
    done = threading.Event()

    def loop():
        while not done.is_set():
            try:
                raw, _ = lsock.accept()
            except OSError:
                continue
            try:
                raw.settimeout(5)
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(4096)
                    handler(conn)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=loop, daemon=True).start()

    def stop():
        done.set()
        lsock.close()
    return lsock.getsockname()[1], stop


def check_long_head(tap):
    """A response head longer than 16 KiB: the status is kept, the cut is marked, and a Server
    field after the cut is not invented."""
    def handler(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 100 + b"\r\n" * 1
                     + (b"X-Pad: " + b"a" * 100 + b"\r\n") * 200 + b"Server: late\r\n\r\n")
    port, stop = serve_once(handler)
    try:
        run = scan(["--tls", "1.2", "--request", "/", "127.0.0.1:%d" % port])
    finally:
        stop()
    http = (obs_of(run)[0].get("http") or {}) if obs_of(run) else {}
    tap.eq((http.get("status"), http.get("head_cut"), http.get("server")), (200, True, None),
           "a head over 16 KiB: status 200, head_cut, no Server", http)

    def short(conn):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\n"
                     b"Junk line\r\nServer: py\r\n\r\n")
    port, stop = serve_once(short)
    try:
        run = scan(["--tls", "1.2", "--request", "/", "127.0.0.1:%d" % port])
    finally:
        stop()
    http = (obs_of(run)[0].get("http") or {}) if obs_of(run) else {}
    tap.eq((http.get("status"), http.get("server"), "head_cut" in http), (401, "py", False),
           "100 Continue skipped, a junk field line ignored", http)

    def not_http(conn):
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\x1b[31m\r\n")
    port, stop = serve_once(not_http)
    try:
        run = scan(["--tls", "1.2", "--request", "/", "127.0.0.1:%d" % port])
    finally:
        stop()
    err = ((obs_of(run)[0].get("http") or {}).get("error") or {}) if obs_of(run) else {}
    tap.eq(err.get("kind"), "protocol", "not HTTP after the request: error kind protocol", err)
    tap.ok("not an HTTP response" in err.get("message", "") and
           'it began "SSH-2.0-OpenSSH_9.2?[31m' in err.get("message", ""),
           "... the message quotes the start, controls as ?", err)


def check_s_server_no_response(tap):
    """The server renegotiates but never answers: the renegotiation list is still captured, the
    http object says timeout, and the deadline holds."""
    with RenegServer(h.pki("issuing.pem"), None) as srv:
        t0 = time.monotonic()
        run = h.run_caprobe(["--format", "jsonl", "--timeout", "3", "--tls", "1.2",
                             "--request", "/secure", "127.0.0.1:%d" % srv.port], timeout=30)
        elapsed = time.monotonic() - t0
    rn = obs_of(run, "renegotiation")
    tap.eq([o["outcome"] for o in rn], ["certificate_request"],
           "no response: the renegotiation list is captured anyway")
    hs = obs_of(run, "handshake")
    http = hs[0].get("http", {}) if hs else {}
    tap.eq((http.get("error") or {}).get("kind"), "timeout", "no response: http error timeout",
           http)
    tap.ok(elapsed < 20, "no response: caprobe ends after its deadline (%.1f s)" % elapsed)
    tap.ok(hs and hs[0].get("elapsed_ms", 99999) < 2500,
           "the handshake observation's elapsed_ms ends with the handshake, not the deadline",
           hs[0].get("elapsed_ms") if hs else None)


def check_apache(tap):
    ok, why = apache.apache_available()
    if not ok:
        tap.skip("apache2 per-location SSLVerifyClient", why)
        return
    with apache.ApacheServer() as a:
        target = "localhost:%d" % a.port
        base = ["--resolve", "localhost:%d:127.0.0.1" % a.port, "--request", "/secure/"]
        run = scan(base + [target])
        plain = scan(["--resolve", "localhost:%d:127.0.0.1" % a.port, "--request", "/index.html",
                      target])
        dn_file, ca_file = a.expected_ca_file(), h.pki("cas.pem")
    want = h.ca_file_subjects(dn_file)
    label = "apache2 <Location /secure> SSLVerifyClient require"
    hs12 = [o for o in obs_of(run, "handshake", "1.2")]
    tap.eq(sorted(o["outcome"] for o in obs_of(run, "handshake")),
           ["no_certificate_request"] * 4, label + ": no handshake asks (SNI, no SNI, 1.2, 1.3)")
    rn = obs_of(run, "renegotiation")
    tap.eq(sorted((o["sni"] or "", o["tls_max"]) for o in rn), [("", "1.2"), ("localhost", "1.2")],
           label + ": TLS 1.2 renegotiates, with and without SNI", run.stdout[:3000])
    for o in rn:
        tap.eq(ders(o), want, label + " (%s): the renegotiation advertises SSLCADNRequestFile, "
               "byte for byte" % (o["sni"] or "no SNI"))
        tap.ok(not set(ders(o)) & set(h.ca_file_subjects(ca_file)),
               label + ": none of SSLCACertificateFile's names")
    for o in hs12:
        http = o.get("http") or {}
        err = http.get("error") or {}
        tap.eq((http.get("renegotiation"), err.get("kind")), (True, "tls_alert"),
               label + " TLS 1.2: without a certificate Apache ends the renegotiation with an "
               "alert", http)
        tap.ok("alert handshake_failure (40) at the end of the renegotiation" in
               err.get("message", ""), label + ": the alert and where it came are named", err)
    for o in obs_of(run, "handshake", "1.3"):
        http = o.get("http") or {}
        tap.eq((http.get("status"), http.get("renegotiation")), (403, False),
               label + " TLS 1.3: 403, no renegotiation", http)
        tap.ok((http.get("server") or "").startswith("Apache/"), label + ": Server header kept",
               http)
    f = finding(run, "post-request-client-auth")
    tap.ok(f and "over TLS 1.3 GET /secure/ gets HTTP/1.1 403 Forbidden (Server: Apache/" in
           f["message"] and len(f["observations"]) == 3,
           label + ": post-request-client-auth with the TLS 1.3 403 as evidence", f)
    tap.eq(run.rc, 1, label + ": exit 1")
    tap.eq(obs_of(plain, "renegotiation"), [], "apache2 GET /index.html: no renegotiation")
    tap.eq(sorted({(o.get("http") or {}).get("status") for o in obs_of(plain)}), [200],
           "apache2 GET /index.html: 200 on every variant")
    tap.eq(rules_of(plain), [], "apache2 GET /index.html: no finding")

    # The server-level variant asks in the handshake with the same DN list: no renegotiation.
    with apache.ApacheServer(server_verify="optional") as a:
        run = scan(["--request", "/index.html", "127.0.0.1:%d" % a.port])
    tap.eq(sorted(o["outcome"] for o in obs_of(run)), ["certificate_request"] * 2,
           "apache2 SSLVerifyClient optional: the handshake asks, nothing more")
    tap.ok(all(ders(o) == want for o in obs_of(run)),
           "apache2 SSLVerifyClient optional: the handshake advertises SSLCADNRequestFile")


NGINX = """
 server {{
  listen 127.0.0.1:{port} ssl default_server;
  server_name _;
  ssl_certificate %(pki)s/server-chain.pem;
  ssl_certificate_key %(pki)s/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_verify_client optional;
  ssl_client_certificate %(pki)s/other.pem;
  %(log)s
  location / {{ return 200 "default\\n"; }}
 }}
 server {{
  listen 127.0.0.1:{port} ssl;
  server_name localhost;
  ssl_certificate %(pki)s/server-chain.pem;
  ssl_certificate_key %(pki)s/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_verify_client on;
  ssl_client_certificate %(pki)s/issuing.pem;
  %(log)s
  location / {{ return 200 "sni\\n"; }}
 }}
"""


def check_nginx(tap):
    """nginx never renegotiates: with --request the handshake lists stay as they are. The Host
    header is the target's name on every variant, so nginx routes each request to the
    `localhost` server, whose ssl_verify_client on answers 400 without a certificate."""
    servers = NGINX % {"pki": os.path.join(h.fixtures_dir(), "pki"), "log": ""}
    with h.NginxServer(servers) as ng:
        run = scan(["--resolve", "localhost:%d:127.0.0.1" % ng.port, "--request", "/",
                    "localhost:%d" % ng.port])
    tap.eq(obs_of(run, "renegotiation"), [], "nginx --request: no renegotiation")
    got = sorted(((o["sni"] or ""), o["tls_max"], (o.get("http") or {}).get("status"),
                  (o.get("http") or {}).get("server", "")[:5]) for o in obs_of(run))
    tap.eq(got, [("", "1.2", 400, "nginx"), ("", "1.3", 400, "nginx"),
                 ("localhost", "1.2", 400, "nginx"), ("localhost", "1.3", 400, "nginx")],
           "nginx --request: Host routes to the SNI server, 400 without a certificate",
           run.stdout[:3000])
    tap.ok("sni-mismatch" in rules_of(run), "nginx --request: sni-mismatch still reported")


def check_url_targets(tap):
    """https:// URL targets: the URL's path and query are the GET path with --request, a URL
    without one and a plain target get --request's; the access log of check_nginx's servers is
    the oracle of what was sent. Without --request the path is told and nothing is sent."""
    import collections
    import shutil
    import tempfile

    def serve(args):
        """(caprobe's run, the request lines nginx logged), read once nginx has stopped."""
        logdir = tempfile.mkdtemp(prefix="caprobe-paths-")
        log = os.path.join(logdir, "paths.log")
        try:
            servers = NGINX % {"pki": os.path.join(h.fixtures_dir(), "pki"),
                               "log": "access_log %s caprobe_paths;" % log}
            with h.NginxServer("log_format caprobe_paths '$request';\n" + servers) as ng:
                run = scan([a.replace("PORT", str(ng.port)) for a in args])
                port = ng.port
            with open(log, encoding="utf-8") as f:
                return run, f.read().splitlines(), port
        finally:
            shutil.rmtree(logdir, ignore_errors=True)

    run, sent_with, p = serve(["--resolve", "localhost:PORT:127.0.0.1",
                               "--resolve", "other.test:PORT:127.0.0.1", "--request", "/x",
                               "https://127.0.0.1:PORT/secret/path?q=1#frag", "localhost:PORT",
                               "HTTPS://Other.Test:PORT/"])
    quiet, sent_without, _ = serve(["https://127.0.0.1:PORT/secret/path?q=1"])
    tap.eq((run.rc, len(run.records)), (1, 3), "URL targets with --request: three records, exit 1 "
           "(localhost's lists differ by SNI, as in check_nginx)", run.stderr)
    got = collections.Counter(line for line in sent_with)
    tap.eq(got, collections.Counter({"GET /secret/path?q=1 HTTP/1.1": 2, "GET /x HTTP/1.1": 8}),
           "nginx got GET /secret/path?q=1 from the URL (no SNI, 1.2 and 1.3) and GET /x from "
           "the plain target and the URL without a path (SNI and none, 1.2 and 1.3)", sent_with)
    paths = {}
    for r in run.records:
        for o in r["observations"]:
            paths.setdefault(r["target"], set()).add((o.get("http") or {}).get("path"))
    tap.eq(paths, {"127.0.0.1:%d" % p: {"/secret/path?q=1"}, "localhost:%d" % p: {"/x"},
                   "other.test:%d" % p: {"/x"}},
           "JSONL: target is host:port, http.path the path each target was sent", run.stdout[:2000])
    tap.eq((quiet.rc, sent_without), (0, []), "a URL path without --request: nothing sent")
    tap.ok(all("http" not in o for r in quiet.records for o in r["observations"]),
           "... and no http object", quiet.stdout[:1000])
    tap.eq(quiet.stderr.count("the path of a URL target is sent only with --request"), 1,
           "... said once on stderr", quiet.stderr)

    # The scheme's port, not -p's (curl's rule); recorded as host:port.
    run = scan(["-p", "1", "--timeout", "2", "--resolve", "a.test:443:127.0.0.1",
                "https://a.test/x"])
    tap.eq([r["target"] for r in run.records], ["a.test:443"], "https://a.test/x -p 1: port 443")


def check_url_errors(tap):
    """URLs caprobe cannot probe are explained: a bad argument is a usage error (exit 2, nothing
    scanned), a bad -i line an input record naming FILE:LINE; a password is never shown."""
    for arg, says in (("http://127.0.0.1:1/", "http:// is plain HTTP and caprobe probes TLS"),
                      ("gopher://127.0.0.1/", "unknown URL scheme: caprobe takes https://"),
                      ("smpt://127.0.0.1:25", "did you mean smtp://?"),
                      ("htps://127.0.0.1/", "did you mean https://?"),
                      ("https://bob:hunter2@127.0.0.1:1/", "user name or password"),
                      # a mistyped "://"
                      ("smtp:/127.0.0.1", "malformed URL: did you mean smtp://127.0.0.1?"),
                      ("https:/example.com", "malformed URL: did you mean https://example.com?"),
                      ("smtp ://127.0.0.1", "malformed URL: did you mean smtp://127.0.0.1?"),
                      # no path, query or fragment but https's; a CIDR range takes no scheme
                      ("smtp://127.0.0.0/30", "a CIDR range is written without a scheme: "
                                              "--starttls smtp 127.0.0.0/30:25"),
                      ("smtp://127.0.0.1:25/path", "smtp:// URLs take no path (/...): write "
                                                   "smtp://HOST[:PORT]"),
                      ("smtp://127.0.0.1?x", "smtp:// URLs take no query (?...)"),
                      ("smtp://127.0.0.1#frag", "smtp:// URLs take no fragment (#...)")):
        run = h.run_caprobe(["--format", "jsonl", arg])
        tap.ok(run.rc == 2 and says in run.stderr and run.stdout == "" and
               "hunter2" not in run.stderr, "argument %s: usage error, explained" % arg,
               (run.rc, run.stderr))
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("# pasted\nhttp://127.0.0.1:1/\ngopher://127.0.0.1\n"
                "https://bob:hunter2@127.0.0.1:1/\nhttps://127.0.0.1:1/ok\n"
                "smtp://127.0.0.0/30\nsmtp:/127.0.0.1\nldap://127.0.0.1:1/dc=corp,dc=example\n"
                "ldap://127.0.0.1:1/dc=other\n")
        name = f.name
    try:
        run = scan(["--timeout", "2", "--tls", "1.2", "-i", name])
    finally:
        os.unlink(name)
    bad = sorted((r["error"]["message"].split(": ", 1)[0], r["target"]) for r in run.records
                 if "error" in r)
    tap.eq(bad, [("%s:2" % name, "http://127.0.0.1:1/"), ("%s:3" % name, "gopher://127.0.0.1"),
                 ("%s:4" % name, "https://***@127.0.0.1:1/"),
                 ("%s:6" % name, "smtp://127.0.0.0/30"), ("%s:7" % name, "smtp:/127.0.0.1")],
           "-i: each refused URL is an input record naming FILE:LINE, the password hidden", bad)
    reasons = {r["target"]: r["error"]["message"].split(": ", 1)[1] for r in run.records
               if "error" in r}
    tap.eq((reasons.get("smtp://127.0.0.0/30"), reasons.get("smtp:/127.0.0.1")),
           ("a CIDR range is written without a scheme: --starttls smtp 127.0.0.0/30:25",
            "malformed URL: did you mean smtp://127.0.0.1?"),
           "-i: the reasons name what to write instead", reasons)
    ldap = [r for r in run.records if r["observations"] and
            r["observations"][0].get("starttls") == "ldap"]
    tap.ok(len(ldap) == 1 and ldap[0]["target"] == "127.0.0.1:1" and
           run.stderr.count("the DN of an LDAP URL (ldap://127.0.0.1:1/dc=corp,dc=example) is "
                            "not used") == 1 and run.stderr.count("DN of an LDAP URL") == 1,
           "-i: an LDAP URL's DN is taken, the target probed in LDAP as 127.0.0.1:1, a note "
           "said once", (ldap, run.stderr))
    tap.ok(any("a STARTTLS or implicit-TLS scheme" in r["error"]["message"]
               for r in run.records if "error" in r),
           "-i: gopher:// says which schemes caprobe takes")
    tap.eq(sorted(r["target"] for r in run.records if "error" not in r),
           ["127.0.0.1:1", "127.0.0.1:1"],
           "-i: the good URLs are probed as 127.0.0.1:1 (https and ldap; the second DN's line is "
           "the same target)")
    tap.ok(run.rc == 2 and "hunter2" not in run.stdout + run.stderr,
           "-i: exit 2, the password in neither output", run.rc)


def check_usage(tap):
    for bad in ("secure", "/a b", "/\x01", "/" + "a" * 2050):
        run = h.run_caprobe(["--request", bad, "127.0.0.1:1"])
        tap.ok(run.rc == 2 and "--request" in run.stderr, "--request %r: usage error, exit 2"
               % bad[:20], run.stderr)


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    for check in (check_usage, check_www, check_s_server_renegotiation, check_s_server_suites,
                  check_big_renegotiation, check_long_head,
                  check_s_server_no_response, check_apache, check_nginx, check_url_targets,
                  check_url_errors):
        try:
            check(tap)
        except Exception as e:  # a broken peer is a failed check, not a crash of the suite
            tap.ok(False, "%s raised %s: %s" % (check.__name__, type(e).__name__, e))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
