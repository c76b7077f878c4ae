"""Helpers for caprobe's integration tests: real servers on loopback ports the kernel chooses.

Python 3 standard library, and python3-jsonschema through caprobe_schema.py: every caprobe/1 record
parsed here is checked against docs/caprobe-1.schema.json and docs/output.md, and Tap.finish()
reports the outcome as one more test. Provides: TAP output, caprobe invocation and JSON Lines parsing,
`openssl s_server` and `openssl s_client` wrappers, small misbehaving socket servers, the DNS
server of tests/dnsserver.py (DnsServer), and a minimal DER walker that extracts the subject Name
of a certificate. Every server started here is stopped (its whole process group, or its thread)
on exit, also when a test fails.
"""

import base64
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import caprobe_schema  # noqa: E402

OPENSSL = os.environ.get("OPENSSL", "openssl")


# ---------------------------------------------------------------- environment

def caprobe_path():
    """The caprobe binary from $CAPROBE (set by meson), or None when it is missing."""
    p = os.environ.get("CAPROBE", "")
    if p and os.path.isfile(p) and os.access(p, os.X_OK):
        return p
    return None


def fixtures_dir():
    d = os.environ.get("CAPROBE_FIXTURES")
    if not d:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")
    return os.path.abspath(d)


def pki(name):
    return os.path.join(fixtures_dir(), "pki", name)


# ---------------------------------------------------------------- TAP

class Tap:
    """TAP version 13 producer. The plan is printed at the end (allowed by TAP and meson)."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.n = 0
        self.failed = []
        self.out.write("TAP version 13\n")

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            self.out.write("# " + line + "\n")
        self.out.flush()

    def ok(self, cond, desc, diag=None):
        self.n += 1
        desc = desc.replace("#", "\\#")
        self.out.write("%s %d - %s\n" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed.append((self.n, desc))
            if diag is not None:
                self.diag(diag)
        self.out.flush()
        return bool(cond)

    def eq(self, got, want, desc, context=None):
        msg = "want: %r\ngot:  %r" % (_short(want), _short(got))
        if context is not None:
            msg += "\ncontext: %s" % (_short(context),)  # a tuple is one value
        return self.ok(got == want, desc, msg)

    def skip(self, desc, reason):
        self.n += 1
        self.out.write("ok %d - %s # SKIP %s\n" % (self.n, desc.replace("#", "\\#"), reason))
        self.out.flush()

    def finish(self):
        schema_report(self)
        self.out.write("1..%d\n" % self.n)
        if self.failed:
            self.diag("%d of %d failed:" % (len(self.failed), self.n))
            for n, d in self.failed:
                self.diag("  %d - %s" % (n, d))
        self.out.flush()
        return 1 if self.failed else 0


def run_checks(tap, checks, *args):
    """Run each check(tap, *args), timing it; a check that raises (a harness failure) is a
    failed test, and the run goes on with the next."""
    t0 = time.monotonic()
    for check in checks:
        t = time.monotonic()
        try:
            check(tap, *args)
        except Exception as e:
            import traceback
            tap.ok(False, "%s: harness" % check.__name__,
                   "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()))
        tap.diag("%s: %.1f s" % (check.__name__, time.monotonic() - t))
    tap.diag("total %.1f s" % (time.monotonic() - t0))


def _short(v, limit=2000):
    s = repr(v)
    return v if len(s) <= limit else s[:limit] + "... (%d chars)" % len(s)


# ---------------------------------------------------------------- DER and PEM

def der_tlv(buf, off):
    """(tag, header_len, content_len) of the DER element at off; raises ValueError if truncated."""
    if off + 2 > len(buf):
        raise ValueError("truncated DER header at %d" % off)
    tag = buf[off]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tags are not used in certificates")
    first = buf[off + 1]
    if first < 0x80:
        hl, ln = 2, first
    else:
        nb = first & 0x7F
        if nb == 0 or nb > 4 or off + 2 + nb > len(buf):
            raise ValueError("bad DER length at %d" % off)
        ln = int.from_bytes(buf[off + 2:off + 2 + nb], "big")
        hl = 2 + nb
    if off + hl + ln > len(buf):
        raise ValueError("DER element at %d overruns its container" % off)
    return tag, hl, ln


def cert_subject_der(cert):
    """The DER bytes (tag and length included) of a certificate's subject Name.

    Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
                                  validity, subject, ... }   (RFC 5280 4.1)
    """
    tag, hl, _ = der_tlv(cert, 0)
    if tag != 0x30:
        raise ValueError("certificate is not a SEQUENCE")
    off = hl
    tag, hl, _ = der_tlv(cert, off)
    if tag != 0x30:
        raise ValueError("TBSCertificate is not a SEQUENCE")
    off += hl
    tag, hl, ln = der_tlv(cert, off)
    if tag == 0xA0:  # [0] EXPLICIT version
        off += hl + ln
    for _ in ("serialNumber", "signature", "issuer", "validity"):
        tag, hl, ln = der_tlv(cert, off)
        off += hl + ln
    tag, hl, ln = der_tlv(cert, off)
    if tag != 0x30:
        raise ValueError("subject is not a SEQUENCE")
    return bytes(cert[off:off + hl + ln])


_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def pem_certs(path):
    """DER of every certificate in a PEM file, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    return [base64.b64decode(b"".join(m.group(1).split())) for m in _PEM_RE.finditer(data)]


def pem_of(der):
    b = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def ca_file_subjects(path):
    """DER subjects as `openssl s_server -CAfile` advertises them: file order, and a subject equal
    to an earlier one is dropped (SSL_load_client_CA_file keeps the first of equal names)."""
    seen = set()
    out = []
    for cert in pem_certs(path):
        s = cert_subject_der(cert)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


_subject_text_cache = {}


def openssl_subject_rfc2253(cert_der):
    """`openssl x509 -noout -subject -nameopt RFC2253` of one certificate, "subject=" stripped."""
    key = hashlib.sha256(cert_der).digest()
    if key not in _subject_text_cache:
        r = subprocess.run([OPENSSL, "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
                           input=pem_of(cert_der).encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30, check=True)
        line = r.stdout.decode("utf-8", "replace").strip()
        _subject_text_cache[key] = line[len("subject="):] if line.startswith("subject=") else line
    return _subject_text_cache[key]


def openssl_subject_texts(path):
    """{subject DER: openssl RFC 2253 text} for every certificate in a PEM file."""
    certs = {}
    for cert in pem_certs(path):
        certs.setdefault(cert_subject_der(cert), cert)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        texts = list(pool.map(openssl_subject_rfc2253, certs.values()))
    return dict(zip(certs.keys(), texts))


# Attribute types that RFC 4514 section 3 gives a short name; other types may legitimately be
# printed as dotted OIDs with a #hex value, so their text is not comparable with openssl's names.
RFC4514_TYPES = {"CN", "L", "ST", "O", "OU", "C", "STREET", "DC", "UID"}
# The other attribute types caprobe names as OpenSSL's RFC 2253 output does (tls/wire/dn.c).
OPENSSL_TYPES = {"SN", "serialNumber", "title", "description", "businessCategory", "postalCode",
                 "name", "GN", "initials", "generationQualifier", "dnQualifier", "pseudonym",
                 "organizationIdentifier", "emailAddress", "jurisdictionL", "jurisdictionST",
                 "jurisdictionC"}


def split_dn(text):
    """Split RFC 4514 text into attribute type names, honouring backslash escapes."""
    types, cur, esc = [], "", False
    for ch in text:
        if esc:
            esc = False
            cur += "x"
        elif ch == "\\":
            esc = True
        elif ch in ",+":
            types.append(cur.split("=", 1)[0])
            cur = ""
        else:
            cur += ch
    types.append(cur.split("=", 1)[0])
    return types


def is_plain_ascii_dn(text):
    """True when openssl's RFC 2253 text is printable ASCII with no escaped non-ASCII bytes,
    no #hex values, and only attribute type names both name alike (RFC 4514's and the ones
    caprobe takes from OpenSSL): then the text is unambiguous."""
    if not all(0x20 <= ord(c) < 0x7F for c in text):
        return False
    if re.search(r"\\[89A-Fa-f][0-9A-Fa-f]", text) or "=#" in text:
        return False
    return all(t in RFC4514_TYPES or t in OPENSSL_TYPES for t in split_dn(text))


def cert_sha256_fingerprint(path):
    """SHA-256 fingerprint from `openssl x509 -fingerprint`, normalised to lower-case hex."""
    r = subprocess.run([OPENSSL, "x509", "-in", path, "-noout", "-fingerprint", "-sha256"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    return norm_hex(r.stdout.decode().split("=", 1)[1])


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def openssl_cert_summary(path):
    """openssl's reading of the (first) certificate in a PEM file, as caprobe's JSON
    server_certificate names it: subject and issuer from `openssl x509 -noout -subject -issuer
    -startdate -enddate -nameopt RFC2253`, the dates ("Jan  1 00:00:00 1950 GMT") as RFC 3339
    UTC, and the sha1 and sha256 fingerprints (lower-case hex)."""
    r = subprocess.run([OPENSSL, "x509", "-in", path, "-noout", "-subject", "-issuer",
                        "-startdate", "-enddate", "-nameopt", "RFC2253"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    out = {}
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key in ("notBefore", "notAfter"):
            mon, day, hms, year, _gmt = value.split()
            value = "%s-%02d-%02dT%sZ" % (year, _MONTHS.index(mon) + 1, int(day), hms)
            key = {"notBefore": "not_before", "notAfter": "not_after"}[key]
        out[key] = value
    for alg in ("sha1", "sha256"):
        r = subprocess.run([OPENSSL, "x509", "-in", path, "-noout", "-fingerprint", "-" + alg],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
        out[alg] = norm_hex(r.stdout.decode().split("=", 1)[1])
    return out


def check_server_certificate(tap, label, obs, cert):
    """obs's server_certificate is what openssl reads in the certificate file cert (subject,
    issuer, validity, fingerprints), with no error: also for the keys mbedTLS's X.509 parser does
    not know (Ed25519, Ed448, RSA-PSS), which caprobe reads itself."""
    sc = obs.get("server_certificate") or {}
    want = openssl_cert_summary(cert)
    got = {k: norm_hex(sc.get(k, "")) if k in ("sha1", "sha256") else sc.get(k) for k in want}
    got["error"] = sc.get("error")
    want["error"] = None
    return tap.eq(got, want, "%s: server_certificate = openssl's reading of %s (subject, issuer, "
                  "validity, fingerprints), no error" % (label, os.path.basename(cert)))


def norm_hex(s):
    return re.sub(r"[^0-9a-f]", "", str(s).lower())


# ---------------------------------------------------------------- ports and processes

def free_port():
    """A loopback port free a moment ago (bound to port 0, closed): for a server that cannot
    report the port it chose. Another bind may take it meanwhile: callers retry."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


_closed_held = []


def closed_port():
    """A loopback port where nothing listens: bound to port 0 and kept bound, never listening,
    until the test process ends. A connect gets a reset (refused), and the kernel cannot hand
    the port to a server the test starts later (a closed socket's port could come back as a
    server's, turning a 'refused' target into a live one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    _closed_held.append(s)
    return s.getsockname()[1]


def wait_accepting(port, host="127.0.0.1", timeout=10.0):
    """Wait until a TCP connect to host:port succeeds (the connection is closed at once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _die_with_parent():
    """preexec_fn: on Linux, have the kernel send SIGTERM to the child when this test dies,
    even by SIGKILL, so no server outlives the test. Best effort elsewhere."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def install_signal_handlers():
    """Turn SIGTERM and SIGHUP (a meson timeout, a closed terminal) into SystemExit, so the
    finally blocks and context managers that stop the servers run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def kill_group(proc, grace=3.0):
    """Stop a process started with start_new_session=True: SIGTERM to its group, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class _LineReader(threading.Thread):
    """Drains a pipe into a list of lines so the child never blocks on a full pipe."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False

    def run(self):
        for raw in iter(self.pipe.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, pattern, timeout):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def text(self):
        with self.cond:
            return "\n".join(self.lines)


class _ServerProcess:
    """A server process of a test: its own session (its process group is killed on stop), both
    pipes read by line readers; a context manager around start() and stop()."""

    _out = _err = None

    def _spawn(self, cmd):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self._out = _LineReader(self.proc.stdout)
        self._err = _LineReader(self.proc.stderr)
        self._out.start()
        self._err.start()

    def _join_readers(self):
        for r in (self._out, self._err):
            if r is not None:
                r.join(timeout=2)

    def output(self):
        return "stdout:\n%s\nstderr:\n%s" % (self._out.text() if self._out else "",
                                              self._err.text() if self._err else "")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class OpensslServer(_ServerProcess):
    """`openssl s_server -www` on 127.0.0.1 with a port the kernel chooses.

    First tries `-accept 127.0.0.1:0` and reads the port from the "ACCEPT 127.0.0.1:PORT" line;
    if that fails, binds a socket to port 0 itself, closes it and passes that port (retrying when
    another process took it meanwhile). Use as a context manager; the process group is killed on
    exit. s_server is not run with -quiet, which would suppress the ACCEPT line.
    """

    def __init__(self, args, cert="server.pem", key="server.key"):
        self.args = list(args)
        self.cert = pki(cert)
        self.key = pki(key)
        self.proc = None
        self.port = None
        self.how = None
        self._out = self._err = None

    def _spawn_at(self, accept):
        self._spawn([OPENSSL, "s_server", "-accept", accept, "-cert", self.cert, "-key",
                     self.key, "-www"] + self.args)

    def start(self):
        self._spawn_at("127.0.0.1:0")
        m = self._out.wait_for(r"^ACCEPT\s+\S*:(\d+)\s*$", 10.0)
        if m and int(m.group(1)) != 0 and wait_accepting(int(m.group(1))):
            self.port = int(m.group(1))
            self.how = "ACCEPT line"
            return self
        self.stop()
        for _ in range(5):
            port = free_port()
            self._spawn_at("127.0.0.1:%d" % port)
            m = self._out.wait_for(r"^ACCEPT", 10.0)
            if m and self.proc.poll() is None and wait_accepting(port):
                self.port = port
                self.how = "port chosen by a bound socket"
                return self
            in_use = "in use" in self._err.text().lower()
            self.stop()
            if not in_use:
                break
        raise RuntimeError("openssl s_server did not start: %s\nstdout: %s\nstderr: %s"
                           % (" ".join(self.cmd), self._out.text(), self._err.text()))

    def stop(self):
        kill_group(self.proc)
        self._join_readers()


def s_client_info(port, version_flag, timeout=15, extra=()):
    """Run `openssl s_client` against 127.0.0.1:port (with extra arguments, e.g. -starttls smtp,
    or -cipher DEFAULT@SECLEVEL=0 for TLS 1.0) and parse what it reports about the
    CertificateRequest: {'ca_names': [RFC 2253 texts] or [] , 'sigalgs': [...] or None,
    'cert_types': str or None, 'raw': output}."""
    cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, version_flag,
           "-nameopt", "RFC2253"] + list(extra)
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = r.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
    lines = out.splitlines()
    info = {"ca_names": None, "sigalgs": None, "cert_types": None, "raw": out}
    for i, line in enumerate(lines):
        if line == "Acceptable client certificate CA names":
            names = []
            for nxt in lines[i + 1:]:
                if (nxt.startswith("Client Certificate Types:") or
                        nxt.startswith("Requested Signature Algorithms:") or nxt == "---"):
                    break
                names.append(nxt)
            info["ca_names"] = names
        elif line == "No client certificate CA names sent":
            info["ca_names"] = []
        elif line.startswith("Requested Signature Algorithms:") and info["sigalgs"] is None:
            info["sigalgs"] = line.split(":", 1)[1].strip().split(":")
        elif line.startswith("Client Certificate Types:") and info["cert_types"] is None:
            info["cert_types"] = line.split(":", 1)[1].strip()
    return info


# ---------------------------------------------------------------- misbehaving servers

class BadServer(threading.Thread):
    """A loopback TCP server that misbehaves for every connection:

    close   - accepts and closes at once
    silent  - accepts, never reads, never answers; holds the connection until stopped
    garbage - sends `payload` (200 bytes that are not TLS) and keeps the connection open
    reply   - reads what the client sends first (its ClientHello), answers `payload` and keeps
              the connection open
    reset   - accepts and resets at once (SO_LINGER 0), before sending any byte
    """

    def __init__(self, mode, payload=None):
        super().__init__(daemon=True)
        self.mode = mode
        self.payload = payload if payload is not None else b"\xde\xad\xbe\xef" * 50
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.conns = []
        self.accepted = 0

    def run(self):
        while not self.stopping.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.mode == "close":
                c.close()
                continue
            if self.mode == "reset":
                with contextlib.suppress(OSError):
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                continue
            if self.mode in ("garbage", "reply"):
                try:
                    if self.mode == "reply":
                        c.settimeout(10)
                        c.recv(65536)
                    c.sendall(self.payload)
                except OSError:
                    pass
            self.conns.append(c)

    def stop(self):
        self.stopping.set()
        self.join(timeout=2)
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False



class TcpRelay(threading.Thread):
    """Accepts on `listen` ((host, port); port 0: the kernel chooses) and relays each connection
    byte for byte, both ways, to `to` ((host, port)): a server on 127.0.0.1 also answers on
    [::1] at the same port, as a dual-stack host does. `port` is the port it listens on, `bound`
    False (and the thread not to be started) when the address could not be taken. `delay`
    (seconds): each connection is held that long after its accept before the relay begins, a
    healthy server that is slow to answer (what the client sent meanwhile waits, then goes
    through). A context manager; every socket is closed on exit."""

    def __init__(self, listen, to, delay=0):
        super().__init__(daemon=True)
        self.to = to
        self.delay = delay
        self.port = None
        self.bound = False
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.bind(listen)
            self.sock.listen(64)
            self.port = self.sock.getsockname()[1]
            self.bound = True
        except OSError:
            self.sock.close()
        self.stopping = threading.Event()
        self.relayed = 0

    def run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        peers = {}
        held = []  # (when the relay begins, accepted socket)

        def begin(c):
            try:
                u = socket.create_connection(self.to, timeout=5)
            except OSError:
                c.close()
                return
            self.relayed += 1
            for a, b in ((c, u), (u, c)):
                a.setblocking(False)
                peers[a] = b
                sel.register(a, selectors.EVENT_READ, b)

        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                for due, c in [x for x in held if x[0] <= now]:
                    held.remove((due, c))
                    begin(c)
                wait = min([0.1] + [max(0.0, due - now) for due, _ in held])
                for key, _ in sel.select(wait):
                    if key.data is None:
                        try:
                            c, _ = self.sock.accept()
                        except OSError:
                            continue
                        if self.delay:
                            held.append((time.monotonic() + self.delay, c))
                        else:
                            begin(c)
                        continue
                    a, b = key.fileobj, key.data
                    try:
                        data = a.recv(65536)
                        if data:
                            b.setblocking(True)
                            b.sendall(data)
                            b.setblocking(False)
                            continue
                    except OSError:
                        pass
                    for s in (a, b):  # one side ended: both are closed
                        if s in peers:
                            sel.unregister(s)
                            del peers[s]
                            s.close()
        finally:
            for s in list(peers) + [c for _, c in held]:
                s.close()
            sel.close()

    def stop(self):
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=5)
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        if self.bound:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

# ---------------------------------------------------------------- caprobe

def writes_records(cmd):
    """Whether caprobe run with cmd writes caprobe/1 records on stdout: a scan (no subcommand)
    with --format jsonl or jsonl-compact and no -o."""
    args = list(cmd[1:])
    if args and args[0] in ("diff", "report", "exporter", "netsh", "parse"):
        return False
    fmt = out = None
    for i, a in enumerate(args):
        nxt = args[i + 1] if i + 1 < len(args) else None
        if a == "--format":
            fmt = nxt
        elif a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        elif a in ("-o", "--output"):
            out = nxt
    return fmt in ("jsonl", "jsonl-compact") and out in (None, "-")


class Run:
    def __init__(self, cmd, rc, stdout, stderr, elapsed):
        self.cmd, self.rc, self.stdout, self.stderr, self.elapsed = cmd, rc, stdout, stderr, elapsed
        self.records, self.parse_error = parse_jsonl(stdout, schema=writes_records(cmd),
                                                     where=" ".join(cmd[1:])[:300])

    def describe(self):
        return ("command: %s\nexit status: %s, %.2f s\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(self.cmd), self.rc, self.elapsed, self.stdout[:4000],
                   self.stderr[:4000]))


def run_caprobe(args, timeout=60):
    """Run caprobe with args; returns a Run (rc None when it had to be killed)."""
    exe = caprobe_path()
    cmd = [exe] + list(args)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        kill_group(p, grace=1.0)
        out, err = p.communicate()
        rc = None
    return Run(cmd, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
               time.monotonic() - t0)


# Every caprobe/1 record parsed in this process, held to docs/caprobe-1.schema.json and
# docs/output.md (caprobe_schema.record_errors); Tap.finish() reports the outcome.
_schema = {"outputs": 0, "records": 0, "bad": [], "missing": None}


def check_records(recs, where):
    """Hold caprobe/1 records (one output: a run, a file) to the documentation; what does not
    fit is kept for schema_report. Returns the list of problems, each "where: line: what"."""
    _schema["outputs"] += 1
    problems = []
    for i, rec in enumerate(recs, 1):
        _schema["records"] += 1
        try:
            errs = caprobe_schema.record_errors(rec)
        except ImportError as e:
            _schema["missing"] = str(e)
            return problems
        problems += ["%s: record %d (%s): %s" % (where, i, _short(rec.get("target")
                                                                  if isinstance(rec, dict)
                                                                  else rec, 80), e)
                     for e in errs]
    _schema["bad"] += problems
    return problems


def schema_report(tap):
    """One test: every caprobe/1 record the suite parsed fits the documentation."""
    if _schema["missing"] is not None:
        tap.ok(False, "caprobe/1 records checked against docs/caprobe-1.schema.json",
               "%s (apt-get install python3-jsonschema)" % _schema["missing"])
    elif _schema["outputs"]:
        bad = _schema["bad"]
        tap.ok(not bad, "every caprobe/1 record parsed (%d records of %d outputs) fits "
               "docs/caprobe-1.schema.json and docs/output.md (%d problems)"
               % (_schema["records"], _schema["outputs"], len(bad)),
               "\n".join(bad[:40]) + ("\n... %d more" % (len(bad) - 40) if len(bad) > 40 else ""))


def parse_jsonl(text, schema=True, where=None):
    """([objects], error text or None) for JSON Lines; blank lines are ignored. With schema
    (caprobe/1 records, the default) each object is also held to the documentation
    (check_records): a mismatch fails the suite's last test, not the JSON parse. where names the
    output in messages (default: the caller's file and line)."""
    if where is None:
        f = sys._getframe(1)
        where = "%s:%d" % (os.path.basename(f.f_code.co_filename), f.f_lineno)
    recs, err = [], None
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            err = "line %d is not JSON: %s: %r" % (i, e, line[:200])
            break
    if schema and recs:
        check_records(recs, where)
    return recs, err


def b64der(s):
    return base64.b64decode(s, validate=True)


# ---------------------------------------------------------------- RFC 4514

_SPECIALS = ' "#+,;<=>\\'


def parse_rfc4514(text):
    """Strict RFC 4514 parser: [[(type, value), ...] per RDN] in text order (least significant
    RDN first as printed). Values are str (escapes resolved, UTF-8 decoded) or, for #hex
    values, ('#', bytes). Raises ValueError on anything RFC 4514 section 3 does not allow, e.g. an
    unescaped '"' or ';', a leading '#' or space that is not escaped, a bad escape."""
    rdns, i, n = [], 0, len(text)
    if n == 0:
        return rdns
    rdn = []
    while True:
        j = text.find("=", i)
        if j < 0:
            raise ValueError("attribute without '=' at %d" % i)
        atype = text[i:j]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+", atype):
            raise ValueError("bad attribute type %r" % atype)
        i = j + 1
        if i < n and text[i] == "#":
            m = re.match(r"#((?:[0-9A-Fa-f]{2})+)", text[i:])
            if not m:
                raise ValueError("bad hexstring at %d" % i)
            value = ("#", bytes.fromhex(m.group(1)))
            i += m.end()
        else:
            buf = bytearray()
            start = i
            last_escaped = False
            while i < n and text[i] not in ",+":
                ch = text[i]
                if ch == "\\":
                    if i + 1 >= n:
                        raise ValueError("dangling backslash")
                    nx = text[i + 1]
                    if nx in _SPECIALS:
                        buf += nx.encode()
                        i += 2
                    elif re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 1:i + 3]):
                        buf.append(int(text[i + 1:i + 3], 16))
                        i += 3
                    else:
                        raise ValueError("bad escape at %d" % i)
                    last_escaped = True
                    continue
                if ch in '";<>\x00':
                    raise ValueError("unescaped %r at %d" % (ch, i))
                if i == start and ch == " ":
                    raise ValueError("unescaped leading space at %d" % i)
                buf += ch.encode("utf-8")
                last_escaped = False
                i += 1
            if buf.endswith(b" ") and not last_escaped:
                raise ValueError("unescaped trailing space before %d" % i)
            value = buf.decode("utf-8")
        rdn.append((atype, value))
        if i >= n:
            rdns.append(rdn)
            return rdns
        if text[i] == ",":
            rdns.append(rdn)
            rdn = []
        i += 1


# ---------------------------------------------------------------- fleet scheduler helpers

def ipv6_loopback_available():
    """True when a TCP socket can listen on [::1] and be connected to."""
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        s.listen(1)
        with socket.create_connection(("::1", s.getsockname()[1]), timeout=2.0):
            return True
    except OSError:
        return False
    finally:
        s.close()


def target_of(host, port):
    """caprobe's spelling of an address and port: a.b.c.d:port or [v6]:port."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class CountingServer(threading.Thread):
    """Loopback TCP listeners (n_ports kernel-chosen ports on each of `hosts`) that never answer
    and count what they see: connections open at once (overall and per listening address, with
    the peaks), accept times, and the most listening addresses that had an open connection at
    the same moment.

    A connection counts as open from its accept until the client closes it (EOF or error while
    reading; what the client sends is read and dropped) or, when `hold` is a number, until the
    server closes it `hold` seconds after the accept; with hold=None it is held until stop().
    Before a new connection is counted, every open one is checked for EOF, so a client that closes
    one connection and then opens the next is never counted twice (its FIN reaches the server
    before the next SYN).
    """

    def __init__(self, n_ports, hosts=("127.0.0.1",), hold=0.3):
        super().__init__(daemon=True)
        self.hold = hold
        self.hosts = list(hosts)
        self.sel = selectors.DefaultSelector()
        self.ports = {host: [] for host in self.hosts}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.open = {host: 0 for host in self.hosts}
        self.peak = {host: 0 for host in self.hosts}
        self.peak_total = 0
        self.peak_addresses = 0
        self.accepted = 0
        self.accepts = []      # (time.monotonic(), host, port) per accepted connection
        self.closed_by_client = 0
        self.closed_by_server = 0
        self._conns = {}       # socket -> (host, close deadline or None)
        self._listeners = []
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            for host in self.hosts:
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                for _ in range(n_ports):
                    s = socket.socket(fam, socket.SOCK_STREAM)
                    self._listeners.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, 0))
                    s.listen(128)
                    s.setblocking(False)
                    port = s.getsockname()[1]
                    self.ports[host].append(port)
                    self.sel.register(s, selectors.EVENT_READ, ("listen", host, port))
            self._wake_r.setblocking(False)
            self.sel.register(self._wake_r, selectors.EVENT_READ, ("wake",))
        except Exception:
            self._close_all()
            raise

    def targets(self, host=None):
        """caprobe targets for the ports of one host (default: every host, host by host)."""
        hosts = [host] if host else self.hosts
        return [target_of(hh, p) for hh in hosts for p in self.ports[hh]]

    def snapshot(self):
        with self.lock:
            return {"accepted": self.accepted, "open": dict(self.open),
                    "open_total": sum(self.open.values()), "peak": dict(self.peak),
                    "peak_total": self.peak_total, "peak_addresses": self.peak_addresses,
                    "closed_by_client": self.closed_by_client,
                    "closed_by_server": self.closed_by_server}

    def accept_times(self):
        with self.lock:
            return [a[0] for a in self.accepts]

    def wait_accepted(self, n, timeout):
        """Wait (bounded) until at least n connections were accepted; returns the count."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = self.accepted
            if got >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def _drop(self, conn, by_client):
        host, _ = self._conns.pop(conn)
        with contextlib.suppress(Exception):
            self.sel.unregister(conn)
        with contextlib.suppress(OSError):
            conn.close()
        with self.lock:
            self.open[host] -= 1
            if by_client:
                self.closed_by_client += 1
            else:
                self.closed_by_server += 1

    def _read(self, conn):
        """Read and drop what the client sent; drop the connection at EOF or error."""
        for _ in range(64):
            try:
                data = conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._drop(conn, True)
                return

    def _sweep(self):
        """Handle every pending client EOF now (zero-timeout poll of the open connections)."""
        for key, _ in self.sel.select(0):
            if key.data[0] == "conn" and key.fileobj in self._conns:
                self._read(key.fileobj)

    def _accept(self, lsock, host, port):
        for _ in range(256):
            try:
                conn, _ = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            now = time.monotonic()
            conn.setblocking(False)
            self._sweep()
            self._conns[conn] = (host, None if self.hold is None else now + self.hold)
            self.sel.register(conn, selectors.EVENT_READ, ("conn",))
            with self.lock:
                self.accepted += 1
                self.accepts.append((now, host, port))
                self.open[host] += 1
                self.peak[host] = max(self.peak[host], self.open[host])
                total = sum(self.open.values())
                self.peak_total = max(self.peak_total, total)
                active = sum(1 for v in self.open.values() if v > 0)
                self.peak_addresses = max(self.peak_addresses, active)

    def run(self):
        while not self.stopping.is_set():
            now = time.monotonic()
            deadlines = [d for _, d in self._conns.values() if d is not None]
            timeout = 0.1 if not deadlines else max(0.0, min(0.1, min(deadlines) - now))
            events = self.sel.select(timeout)
            # EOFs first, accepts second: a closed connection is never counted with its successor
            for key, _ in events:
                if key.data[0] == "conn" and key.fileobj in self._conns:
                    self._read(key.fileobj)
            for key, _ in events:
                if key.data[0] == "listen":
                    self._accept(key.fileobj, key.data[1], key.data[2])
            now = time.monotonic()
            for conn, (_, d) in list(self._conns.items()):
                if d is not None and d <= now:
                    self._read(conn)  # read what came, so the close is a FIN, not a reset
                    if conn in self._conns:
                        self._drop(conn, False)

    def _close_all(self):
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.close()
        self._conns.clear()
        for s in self._listeners + [self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                s.close()
        with contextlib.suppress(Exception):
            self.sel.close()

    def stop(self):
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self.is_alive():
            self.join(timeout=5)
        self._close_all()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class FullBacklogPort:
    """A loopback port whose accept queue is full: listen(0), filled by connections that are
    never accepted, so Linux drops every further SYN and a connect there times out (the only
    connect timeout loopback can produce). check() says whether that holds on this system."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            self.fillers.append(c)
            with contextlib.suppress(BlockingIOError, InterruptedError, OSError):
                c.connect(("127.0.0.1", self.port))
        time.sleep(0.2)

    def check(self, timeout=1.0):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout):
                return False
        except socket.timeout:
            return True
        except OSError:
            return False

    def close(self):
        for c in self.fillers + [self.sock]:
            with contextlib.suppress(OSError):
                c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class TimedLineReader(threading.Thread):
    """Drains a pipe into (time.monotonic(), line) pairs as the lines arrive."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False

    def run(self):
        for raw in iter(self.pipe.readline, b""):
            with self.cond:
                self.lines.append((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\r\n")))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_lines(self, n, timeout):
        """Wait (bounded) until n lines arrived or the pipe ended; returns the count."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) < n and not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return len(self.lines)

    def snapshot(self):
        with self.cond:
            return list(self.lines)

    def text(self):
        with self.cond:
            return "\n".join(line for _, line in self.lines)


class LiveCaprobe:
    """caprobe running in its own session with stdout and stderr read as they come, for tests
    that watch the output stream or send signals. Use as a context manager: the process group is
    killed on exit if it still runs."""

    def __init__(self, args, stdin_data=None):
        exe = caprobe_path()
        self.cmd = [exe] + list(args)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE if stdin_data is not None
                                     else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        if stdin_data is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(stdin_data.encode())
                self.proc.stdin.close()
        self.out = TimedLineReader(self.proc.stdout)
        self.err = TimedLineReader(self.proc.stderr)
        self.out.start()
        self.err.start()
        self.rc = None
        self.ended_at = None

    def signal(self, sig):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """Exit status, or None when it did not end within timeout (it is then still running)."""
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.ended_at = time.monotonic()
        self.out.join(timeout=5)
        self.err.join(timeout=5)
        return self.rc

    def stop(self):
        kill_group(self.proc, grace=1.0)
        self.out.join(timeout=2)
        self.err.join(timeout=2)

    def describe(self):
        return ("command: %s\nexit status: %s\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(self.cmd), self.rc, self.out.text()[:4000], self.err.text()[:4000]))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def run_caprobe_input(args, stdin_data, timeout=60):
    """run_caprobe with stdin_data (str) on standard input; returns a Run."""
    t0 = time.monotonic()
    with LiveCaprobe(args, stdin_data) as live:
        rc = live.wait(timeout)
        if rc is None:
            live.stop()
        return Run(live.cmd, rc, live.out.text() + ("\n" if live.out.lines else ""),
                   live.err.text(), time.monotonic() - t0)


# ---------------------------------------------------------------- a terminal

class Screen:
    """What a terminal `cols` columns wide shows of `data` (bytes), as rows of text: printable
    characters (East Asian wide ones take two columns), \\r, \\n, \\t, \\b, SGR colours
    (\\033[...m, not shown) and erase to the end of the line (\\033[K, which a progress line
    uses). A character after the last column starts a new row, as xterm does (auto-margin), and
    is counted in `wrapped`. Anything else (another escape sequence, a C0 or C1 control character,
    invalid UTF-8) is listed in `strange`: what a server could use to drive the terminal.
    `open_colour` lists the rows that ended while a colour was still on."""

    def __init__(self, data, cols):
        import unicodedata
        self.cols, self.wrapped, self.strange, self.open_colour = cols, 0, [], []
        text = data.decode("utf-8", "surrogateescape")
        rows, col, colour = [[]], 0, False
        i = 0
        while i < len(text):
            c = text[i]
            i += 1
            if c == "\x1b":
                m = re.match(r"\[([0-9;]*)([\x40-\x7e])", text[i:])
                if m and m.group(2) == "m":
                    colour = m.group(1) not in ("", "0")
                elif m and m.group(2) == "K":
                    del rows[-1][col:]
                else:
                    self.strange.append(repr(text[i - 1:i + 8]))
                i += m.end() if m else 0
            elif c == "\r":
                col = 0
            elif c == "\n":
                if colour:
                    self.open_colour.append(len(rows) - 1)
                rows.append([])
            elif c == "\b":
                col = max(0, col - 1)
            elif c == "\t":
                col = min(cols, (col // 8 + 1) * 8)
            elif ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or 0xdc80 <= ord(c) <= 0xdcff:
                self.strange.append(repr(c))
            else:
                w = 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
                if col + w > cols:
                    self.wrapped += 1
                    rows.append([])
                    col = 0
                row = rows[-1]
                row.extend([" "] * (col + w - len(row)))
                row[col:col + w] = [c] + [""] * (w - 1)
                col += w
        if rows and not rows[-1]:
            rows.pop()
        self.rows = ["".join(r).rstrip() for r in rows]

    def text(self):
        return "\n".join(self.rows)


class PtyRun:
    """caprobe run by run_caprobe_pty: rc (None when it had to be killed), data (the bytes the
    terminal received), screen (a Screen of them)."""

    def __init__(self, cmd, rc, data, cols):
        self.cmd, self.rc, self.data = cmd, rc, bytes(data)
        self.screen = Screen(self.data, cols)

    def describe(self):
        return "command: %s\nexit status: %s\nscreen:\n%s" % (" ".join(self.cmd), self.rc,
                                                             self.screen.text()[:6000])


def run_caprobe_pty(args, rows=30, cols=80, timeout=120):
    """Run caprobe with standard output and standard error on a pseudo-terminal of rows x cols
    (TIOCSWINSZ), as a user at a terminal would; returns a PtyRun. timeout only guards against a
    hang (the process group is killed)."""
    import fcntl
    import pty
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    cmd = [caprobe_path()] + list(args)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         start_new_session=True, preexec_fn=_die_with_parent)
    os.close(slave)
    data = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
        if p.poll() is None and time.monotonic() >= deadline:
            kill_group(p, grace=1.0)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_group(p, grace=1.0)
        rc = None
    return PtyRun(cmd, rc, data, cols)


class NginxServer:
    """nginx as an unprivileged master in a temporary prefix, serving the given server blocks
    (format them with {port}); started and stopped by the test. Retries on a taken port."""

    def __init__(self, servers):
        self.servers = servers
        self.proc = None
        self.tmp = None
        self.port = None

    def start(self):
        import tempfile
        for _ in range(5):
            self.tmp = tempfile.mkdtemp(prefix="caprobe-nginx-")
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write("daemon off;\nmaster_process on;\nworker_processes 1;\n"
                        "error_log %s/error.log;\npid %s/nginx.pid;\n"
                        "events { worker_connections 256; }\n"
                        "http {\n access_log off;\n client_body_temp_path %s;\n"
                        " proxy_temp_path %s;\n fastcgi_temp_path %s;\n uwsgi_temp_path %s;\n"
                        " scgi_temp_path %s;\n%s\n}\n"
                        % ((self.tmp,) * 7 + (self.servers.format(port=self.port),)))
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            self.proc = subprocess.Popen([nginx, "-p", self.tmp + "/", "-c", conf],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
            if wait_accepting(self.port, timeout=5):
                return self
            kill_group(self.proc)
            self.proc = None
        raise RuntimeError("nginx did not start: %s" % self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log"), encoding="utf-8") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def lab_path():
    """The lab server binary: $CAPROBE_LAB, else build/fixtures/lab/caprobe-lab."""
    p = os.environ.get("CAPROBE_LAB")
    if p:
        return p
    return os.path.join(os.path.dirname(caprobe_path()), "fixtures", "lab", "caprobe-lab")


def free_port_range(n, host="127.0.0.1", tries=20):
    """A port p with p .. p+n-1 all free a moment ago on host (each bound once, then closed),
    for a server given a base port (caprobe-lab --base-port). The kernel picks p; a range that
    is not free is given up for another, at most `tries` times. Another bind may take a port
    meanwhile: callers retry the server too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(tries):
        first = socket.socket(family, socket.SOCK_STREAM)
        try:
            first.bind((host, 0))
            base = first.getsockname()[1]
        finally:
            first.close()
        if base + n - 1 > 65535:
            continue
        held = []
        try:
            for port in range(base, base + n):
                s = socket.socket(family, socket.SOCK_STREAM)
                held.append(s)
                s.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no %d free ports in a row on %s after %d tries" % (n, host, tries))


class LabServer:
    """fixtures/lab's caprobe-lab with a config file (a path, or YAML text written to a temporary
    file), on loopback ports the kernel chooses, or from base_port on (--base-port). ports[name]
    is the list of its ports (one per `count`), endpoints the port map the lab printed. A context
    manager; killed on exit."""

    def __init__(self, config, host="127.0.0.1", timeout=30.0, base_port=None):
        self.config, self.host, self.timeout = config, host, timeout
        self.base_port = base_port
        self.proc = None
        self.tmp = None
        self.endpoints = []
        self.ports = {}

    def start(self):
        import tempfile
        path = self.config
        if "\n" in self.config:
            # relative paths in a config text are relative to fixtures/lab
            fd, path = tempfile.mkstemp(prefix="caprobe-lab-", suffix=".yaml",
                                        dir=os.path.join(fixtures_dir(), "lab"))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.config)
            self.tmp = path
        cmd = [lab_path(), "--host", self.host]
        cmd += ["--base-port", str(self.base_port)] if self.base_port else []
        self.proc = subprocess.Popen(cmd + [path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self._err = _LineReader(self.proc.stderr)
        self._err.start()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            obj = json.loads(line)
            if obj.get("ready"):
                return self
            self.endpoints.append(obj)
            self.ports.setdefault(obj["name"], []).append(obj["port"])
        # stdout ended: let the lab exit and the reader drain stderr, or its message is lost
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._err.join(timeout=5)
        err = self._err.text()
        self.stop()
        raise RuntimeError("caprobe-lab did not start: %s" % err)

    def port(self, name):
        return self.ports[name][0]

    def stop(self):
        kill_group(self.proc)
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def stderr(self):
        return self._err.text()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def lab_main(checks, prefix, *extra):
    """main() of a test over the lab of fixtures/lab/lab.yaml: each check(tap, lab, tmp, *extra)
    in turn (run_checks), tmp a folder of the test's own, removed at the end. Returns the exit
    status (Tap.finish)."""
    import tempfile
    install_signal_handlers()
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        with LabServer(os.path.join(fixtures_dir(), "lab", "lab.yaml")) as lab:
            run_checks(tap, checks, lab, tmp, *extra)
    except Exception as e:
        tap.ok(False, "the lab started: %s" % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


# ---------------------------------------------------------------- DNS

DNSSERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dnsserver.py")


class DnsServer(_ServerProcess):
    """tests/dnsserver.py (zone format: its docstring) on a loopback port the kernel chooses, UDP
    and TCP, for `caprobe --dns-server` (server_arg). zone_lines: a list of rule lines or one
    text. A context manager; its process group is stopped on exit (SIGTERM, then SIGKILL).

    Attributes: port, address, server_arg ("127.0.0.1:PORT", "[::1]:PORT"). queries() is the
    --log as [(proto, name, type)], e.g. ("udp", "a.test", "AAAA"), read from the file while the
    server runs and kept after stop(), which removes the temporary folder. running() says whether
    it still runs. After stop(): returncode (0 when SIGTERM ended it cleanly), stop_seconds
    (SIGTERM to exit) and summary() (its last standard error line: queries by protocol, ...).
    port=53 needs root (a private network namespace)."""

    def __init__(self, zone_lines, delay_ms=0, port=0, address="127.0.0.1", log=True):
        self.zone = zone_lines if isinstance(zone_lines, str) else "\n".join(zone_lines)
        self.delay_ms, self.address, self.log = delay_ms, address, log
        self.port = port
        self.proc = None
        self.tmp = None
        self.log_path = None
        self.returncode = None
        self.stop_seconds = None
        self._queries = None
        self._out = self._err = None

    @property
    def server_arg(self):
        return target_of(self.address, self.port)

    def start(self):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="caprobe-dns-")
        zone = os.path.join(self.tmp, "zone")
        with open(zone, "w", encoding="utf-8") as f:
            f.write(self.zone + "\n")
        self.cmd = [sys.executable, DNSSERVER, "--zone", zone, "--address", self.address,
                    "--port", str(self.port), "--delay-ms", str(self.delay_ms)]
        if self.log:
            self.log_path = os.path.join(self.tmp, "queries.log")
            self.cmd += ["--log", self.log_path]
        self._spawn(self.cmd)
        m = self._out.wait_for(r"^(\d+)$", 30.0)
        if not m:
            self.stop()
            raise RuntimeError("dnsserver did not start: %s\n%s"
                               % (" ".join(self.cmd), self.output()))
        self.port = int(m.group(1))
        return self

    def queries(self):
        if self._queries is not None:
            return list(self._queries)
        if not self.log_path:
            return []
        try:
            with open(self.log_path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return []
        out = []
        for line in text.splitlines(True):
            if not line.endswith("\n"):
                break  # still being written
            fields = line[:-1].split(" ")
            if len(fields) == 3:
                out.append(tuple(fields))
        return out

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.returncode is None:
            t0 = time.monotonic()
            kill_group(self.proc)
            self.stop_seconds = time.monotonic() - t0
            self.returncode = self.proc.poll()
        self._join_readers()
        if self._queries is None and self.log_path:
            self._queries = self.queries()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def summary(self):
        lines = self._err.text().splitlines() if self._err else []
        return lines[-1] if lines else ""

