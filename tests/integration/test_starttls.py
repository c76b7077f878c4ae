#!/usr/bin/env python3
"""caprobe against STARTTLS services: real servers from Debian, each started here on loopback
ports the kernel chooses, with its own configuration and CA list in a temporary folder, and
stopped here: Postfix (SMTP, smtpd_tls_ask_ccert), Dovecot (IMAP, POP3, ManageSieve, LMTP,
ssl_verify_client_cert), slapd (LDAP StartTLS, TLSVerifyClient try), PostgreSQL (SSLRequest,
ssl_ca_file and hostssl clientcert=verify-ca), MariaDB (the SSL request packet), vsftpd (AUTH
TLS, require_cert and ca_certs_file) and Prosody (XMPP c2s, ssl.verify and ssl.cafile). The
names caprobe reports are compared byte for byte with the subjects of each server's CA file (or
with an empty list, where the server asks without naming a CA: MariaDB, Prosody) and as text
with `openssl s_client -starttls PROTO`. NNTP has no real server here: Debian's inn2 does not
configure on a host whose name has no domain (its postinst fails, and with it the whole
install), as on CI's machines. Then servers that misbehave in the plaintext exchange (a reply in
one-byte writes, which must work; a refusal; nonsense; TLS bytes; an endless or a stalled
greeting; bytes out of turn; a protocol switch), the lab's STARTTLS-SMTP endpoint, and
--starttls on plain targets. Postfix, Dovecot and vsftpd need root (CI runs as root). Emits TAP."""

import contextlib
import glob
import json
import os
import pwd
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.geteuid() == 0
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ders(o):
    return [h.b64der(c["der"]) for c in o.get("certificate_request", {}).get("cas", [])]


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def ca_file(folder, *names):
    """The server's own CA list: fixtures/pki files joined into folder/cas.pem."""
    path = os.path.join(folder, "cas.pem")
    write(path, "".join(open(h.pki(n), encoding="ascii").read() for n in names))
    return path


# ---------------------------------------------------------------- the servers

class Service(h._ServerProcess):
    """A Debian server in a temporary folder of its own (0755: its unprivileged processes read
    their files there), on loopback ports chosen by binding port 0: a server that cannot be told
    to bind port 0 and report it gets ports that were free a moment ago, and is started again on
    others when one was taken meanwhile."""

    name = "?"
    n_ports = 1
    user = None  # as root, the server runs as this user (one that refuses root), who owns tmp

    def __init__(self, cas):
        self.cas_names = cas
        self.proc = None
        self.tmp = tempfile.mkdtemp(prefix="caprobe-%s-" % self.name)
        os.chmod(self.tmp, 0o755)
        self.cafile = ca_file(self.tmp, *cas)
        for f in ("server.pem", "server.key"):
            shutil.copy(h.pki(f), os.path.join(self.tmp, f))
        self.cert = os.path.join(self.tmp, "server.pem")
        self.key = os.path.join(self.tmp, "server.key")
        os.chmod(self.key, 0o644)

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def as_user(self, cmd):
        return ["runuser", "-u", self.user, "--"] + cmd if ROOT and self.user else cmd

    def give_folder(self):
        """As root, the temporary folder and all it holds to self.user."""
        if not (ROOT and self.user):
            return
        pw = pwd.getpwnam(self.user)
        for dirpath, _, files in os.walk(self.tmp):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)

    def port_taken(self):
        """Whether the server said that one of its ports was taken meanwhile."""
        return "in use" in self.log().lower()

    def prepare(self):
        """Once, before the first start: what the server needs besides its configuration."""

    def command(self, ports):
        raise NotImplementedError

    def log(self):
        return self.output()

    def start(self):
        self.prepare()
        for _ in range(4):
            self.ports = [h.free_port() for _ in range(self.n_ports)]
            self._spawn(self.command(self.ports))
            if all(h.wait_accepting(p, timeout=30) for p in self.ports) and \
                    self.proc.poll() is None:
                return self
            in_use = self.port_taken()
            self.stop(keep=True)
            if not in_use:
                break
        raise RuntimeError("%s did not start: %s\n%s" % (self.name, " ".join(self.cmd), self.log()))

    def stop(self, keep=False):
        h.kill_group(self.proc)
        self._join_readers()
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def port(self):
        return self.ports[0]


class Postfix(Service):
    """`postfix start-fg` with a private config_directory, queue and data folders: smtpd with
    smtpd_tls_ask_ccert = yes and smtpd_tls_CAfile. Needs root (Postfix drops to its own user)."""

    name = "postfix"

    def prepare(self):
        for d in ("etc", "queue", "data"):
            os.mkdir(self.path(d))
        pw = pwd.getpwnam("postfix")
        os.chown(self.path("data"), pw.pw_uid, pw.pw_gid)

    def command(self, ports):
        write(self.path("etc", "main.cf"), """compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = caprobe-test.invalid
mydestination =
local_recipient_maps =
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_ask_ccert = yes
smtpd_tls_CAfile = {cas}
smtpd_tls_session_cache_database =
""".format(d=self.tmp, cert=self.cert, key=self.key, cas=self.cafile))
        write(self.path("etc", "master.cf"), """127.0.0.1:{p} inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
""".format(p=ports[0]))
        return ["/usr/sbin/postfix", "-c", self.path("etc"), "start-fg"]

    def log(self):
        with contextlib.suppress(OSError):
            return self.output() + "\nmaillog:\n" + open(self.path("maillog")).read()[-3000:]
        return self.output()

    def stop(self, keep=False):
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(["/usr/sbin/postfix", "-c", self.path("etc"), "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        super().stop(keep)


class Dovecot(Service):
    """`dovecot -F` with IMAP, POP3, ManageSieve and (with lmtp) LMTP listeners, ssl_ca and
    ssl_verify_client_cert = yes. Its LMTP server offers STARTTLS in its LHLO reply with ssl =
    yes alone and asks for a certificate with the same CA list. Needs root."""

    name = "dovecot"
    # service, listener, its implicit-TLS listener (switched off)
    SERVICES = (("imap-login", "imap", "imaps"), ("pop3-login", "pop3", "pop3s"),
                ("managesieve-login", "sieve", None), ("lmtp", "lmtp", None))

    def __init__(self, cas, lmtp=True):
        super().__init__(cas)
        self.services = self.SERVICES if lmtp else self.SERVICES[:3]
        self.n_ports = len(self.services)

    def listeners(self, ports):
        """The STARTTLS listeners on our ports; the implicit-TLS ones off."""
        for (service, name, implicit), port in zip(self.services, ports):
            off = "  inet_listener %s {\n    port = 0\n  }\n" % implicit if implicit else ""
            yield ("service %s {\n  inet_listener %s {\n    address = 127.0.0.1\n"
                   "    port = %d\n  }\n%s}\n" % (service, name, port, off))

    def command(self, ports):
        write(self.path("dovecot.conf"), """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
instance_name = caprobe-{p0}
protocols = {protocols}
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_ca = <{cas}
ssl_verify_client_cert = yes
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home
}}
""".format(d=self.tmp, cert=self.cert, key=self.key, cas=self.cafile, p0=ports[0],
           protocols=" ".join(name for _, name, _ in self.services))
            + "".join(self.listeners(ports)))
        return ["dovecot", "-F", "-c", self.path("dovecot.conf")]

    def log(self):
        with contextlib.suppress(OSError):
            return self.output() + "\nlog:\n" + open(self.path("log")).read()[-3000:]
        return self.output()


class Slapd(Service):
    """OpenLDAP's slapd in the foreground with a slapd.conf of TLS settings only (no database
    is needed for StartTLS): TLSCACertificateFile, TLSVerifyClient try. Debian's is built on
    GnuTLS."""

    name = "slapd"

    def command(self, ports):
        write(self.path("slapd.conf"), """pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
TLSCACertificateFile {cas}
TLSVerifyClient try
""".format(d=self.tmp, cert=self.cert, key=self.key, cas=self.cafile))
        return ["/usr/sbin/slapd", "-d", "0", "-h", "ldap://127.0.0.1:%d/" % ports[0], "-f",
                self.path("slapd.conf")]


def pg_bin(prog):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + prog),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return found[-1] if found else None


class Postgres(Service):
    """initdb in the temporary folder, then postgres with ssl_ca_file and a pg_hba.conf of
    `hostssl all all 127.0.0.1/32 trust clientcert=verify-ca`. As root both run as the postgres
    user (PostgreSQL refuses root), which then owns the folder."""

    name = "postgres"
    user = "postgres"

    def prepare(self):
        os.chmod(self.key, 0o600)
        write(self.path("hba.conf"),
              "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n")
        self.give_folder()
        subprocess.run(self.as_user([pg_bin("initdb"), "-D", self.path("data"), "-A", "trust",
                                     "-U", "postgres", "--no-sync"]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=True)

    def command(self, ports):
        settings = {"listen_addresses": "127.0.0.1", "port": ports[0],
                    "unix_socket_directories": self.tmp, "ssl": "on", "ssl_cert_file": self.cert,
                    "ssl_key_file": self.key, "ssl_ca_file": self.cafile,
                    "hba_file": self.path("hba.conf"), "fsync": "off"}
        args = []
        for k, v in settings.items():
            args += ["-c", "%s=%s" % (k, v)]
        return self.as_user([pg_bin("postgres"), "-D", self.path("data")] + args)


class MariaDB(Service):
    """mariadbd on an empty data folder (no system tables are needed for the handshake), with
    ssl-ca; it asks for a client certificate without naming any CA."""

    name = "mariadb"

    def command(self, ports):
        os.makedirs(self.path("data"), exist_ok=True)
        return (["mariadbd", "--no-defaults", "--datadir=" + self.path("data"),
                 "--socket=" + self.path("sock"), "--port=%d" % ports[0],
                 "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-log-bin",
                 "--innodb-buffer-pool-size=8M", "--pid-file=" + self.path("pid"),
                 "--log-error=" + self.path("err.log"), "--ssl-cert=" + self.cert,
                 "--ssl-key=" + self.key, "--ssl-ca=" + self.cafile]
                + (["--user=root"] if ROOT else []))

    def log(self):
        with contextlib.suppress(OSError):
            return self.output() + "\nerr.log:\n" + open(self.path("err.log")).read()[-3000:]
        return self.output()


class Vsftpd(Service):
    """vsftpd in the foreground (listen=YES, background=NO) with ssl_enable, require_cert and
    ca_certs_file, whose subjects it names in its CertificateRequest (SSL_load_client_CA_file).
    Its default ssl_ciphers (DES-CBC3-SHA) leaves no TLS 1.2 suite for the ECDSA server key:
    HIGH here. It writes startup errors ("500 OOPS: ...") to its standard input, a file here.
    Needs root (a session chroots to an empty folder and drops to nobody)."""

    name = "vsftpd"

    def prepare(self):
        os.mkdir(self.path("empty"), 0o755)

    def command(self, ports):
        write(self.path("vsftpd.conf"), """listen=YES
listen_address=127.0.0.1
listen_port={p}
background=NO
anonymous_enable=YES
anon_root={d}/empty
local_enable=NO
secure_chroot_dir={d}/empty
seccomp_sandbox=NO
xferlog_enable=NO
ssl_enable=YES
ssl_ciphers=HIGH
rsa_cert_file={cert}
rsa_private_key_file={key}
require_cert=YES
validate_cert=NO
ca_certs_file={cas}
""".format(d=self.tmp, p=ports[0], cert=self.cert, key=self.key, cas=self.cafile))
        write(self.path("oops"), "")
        return ["sh", "-c", 'exec "$0" "$1" 0<>"$2"', "/usr/sbin/vsftpd",
                self.path("vsftpd.conf"), self.path("oops")]

    def log(self):
        with contextlib.suppress(OSError):
            return self.output() + "\nstandard input:\n" + open(self.path("oops")).read()[-3000:]
        return self.output()

    def port_taken(self):
        return "could not bind" in self.log()


class Prosody(Service):
    """prosody -F with one c2s port, s2s off, a VirtualHost 127.0.0.1 and ssl = { cafile,
    verify = { "peer", "client_once" } }: it asks for a client certificate, but LuaSec never
    calls SSL_CTX_set_client_CA_list, so the request names no CA (TLS 1.2 and 1.3). As root it
    runs as the prosody user (it refuses root)."""

    name = "prosody"
    user = "prosody"

    def prepare(self):
        os.mkdir(self.path("data"), 0o750)
        self.give_folder()

    def command(self, ports):
        write(self.path("prosody.cfg.lua"), """pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}" -- the folder it indexes for certificates (else ./certs, missing)
log = {{ debug = "{d}/log" }}
modules_enabled = {{ "tls" }}
modules_disabled = {{ "s2s" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {p} }}
s2s_ports = {{ }}
ssl = {{
  certificate = "{cert}";
  key = "{key}";
  cafile = "{cas}";
  verify = {{ "peer", "client_once" }};
}}
VirtualHost "127.0.0.1"
""".format(d=self.tmp, p=ports[0], cert=self.cert, key=self.key, cas=self.cafile))
        return self.as_user(["prosody", "-F", "--config", self.path("prosody.cfg.lua")])

    def log(self):
        with contextlib.suppress(OSError):
            return self.output() + "\nlog:\n" + open(self.path("log")).read()[-3000:]
        return self.output()


# ---------------------------------------------------------------- the checks

def scan(args, timeout=60):
    run = h.run_caprobe(["--format", "jsonl"] + args, timeout=timeout)
    run.by_port = {r["port"]: r for r in run.records}
    return run


def check_server(tap, label, srv, port, scheme, proto, s_client_proto, empty=False,
                 s_client_extra=()):
    """caprobe's names for scheme://127.0.0.1:port, TLS 1.2 and 1.3: the server's CA file's
    subjects byte for byte (an empty list with empty), and openssl s_client -starttls agrees."""
    run = scan(["--timeout", "10", "%s://127.0.0.1:%d" % (scheme, port)])
    rec = run.records[0] if len(run.records) == 1 else {}
    obs = {o.get("tls_max"): o for o in rec.get("observations", [])}
    want = [] if empty else h.ca_file_subjects(srv.cafile)
    for ver, flag in (("1.2", "-tls1_2"), ("1.3", "-tls1_3")):
        o = obs.get(ver, {})
        tap.eq((o.get("starttls"), o.get("outcome"), ders(o)), (proto, "certificate_request", want),
               "%s TLS %s: \"starttls\": \"%s\", %s" % (
                   label, ver, proto, "a request without names" if empty else
                   "the %d names of its CA file byte for byte" % len(want)),
               (run.describe(), srv.log()[-2000:]))
        sc = h.s_client_info(port, flag, extra=["-starttls", s_client_proto] +
                             list(s_client_extra))
        texts = [c["dn"] for c in o.get("certificate_request", {}).get("cas", [])]
        plain = [t for t in texts if h.is_plain_ascii_dn(t)]
        tap.ok(sc["sigalgs"] is not None and sc["ca_names"] is not None and
               [n for n in sc["ca_names"] if h.is_plain_ascii_dn(n)] == plain,
               "%s TLS %s: openssl s_client -starttls %s sees a CertificateRequest with the same "
               "names (%d compared as text)" % (label, ver, s_client_proto, len(plain)),
               "s_client: %r\ncaprobe: %r\n%s" % (sc["ca_names"], texts, sc["raw"][-1500:]))
    return run


def check_service(tap, cls, cas, proto, **kw):
    """A server of class cls with the CA list cas started, then check_server on its one port
    for proto (the URL scheme, the --starttls and the s_client -starttls word alike)."""
    with cls(cas) as srv:
        tap.diag("%s on port %d" % (srv.name, srv.port))
        return check_server(tap, "%s %s://" % (srv.name, proto), srv, srv.port, proto, proto,
                            proto, **kw)


def missing(tap, what, prog, package, root=None):
    """Whether the check cannot run here, a skip saying why: prog is not installed (the skip
    names the package), or the server needs root (root says why) and this is not root."""
    if root and not ROOT:
        tap.skip(what, "needs root (%s)" % root)
        return True
    if shutil.which(prog) or os.path.exists(prog):
        return False
    tap.skip(what, "%s is not installed (apt-get install %s; make test-deps)" % (prog, package))
    return True


def check_postfix(tap):
    if missing(tap, "postfix", "/usr/sbin/postfix", "postfix",
               root="Postfix runs as its own user"):
        return
    with Postfix(["issuing.pem", "other.pem", "special.pem"]) as pf:
        tap.diag("postfix on port %d" % pf.port)
        check_server(tap, "postfix smtp://", pf, pf.port, "smtp", "smtp", "smtp")
        # a plain target: --starttls smtp says it, --starttls none reads the banner as TLS
        run = scan(["--tls", "1.2", "--starttls", "smtp", "127.0.0.1:%d" % pf.port])
        o = (run.records or [{}])[0].get("observations", [{}])[0]
        tap.eq((o.get("starttls"), ders(o)), ("smtp", h.ca_file_subjects(pf.cafile)),
               "postfix --starttls smtp HOST:PORT: the same names", run.describe())
        run = scan(["--tls", "1.2", "--starttls", "none", "--timeout", "5",
                    "127.0.0.1:%d" % pf.port])
        o = (run.records or [{}])[0].get("observations", [{}])[0]
        tap.ok("starttls" not in o and o.get("error", {}).get("kind") == "protocol",
               "postfix --starttls none: the banner read as TLS is a protocol error (the gap of "
               "issue 13)", run.describe())


def check_dovecot(tap):
    if missing(tap, "dovecot", "/usr/lib/dovecot/managesieve-login",
               "dovecot-imapd dovecot-pop3d dovecot-managesieved",
               root="Dovecot's login processes run as dovenull"):
        return
    lmtp = not missing(tap, "dovecot lmtp", "/usr/lib/dovecot/lmtp", "dovecot-lmtpd")
    with Dovecot(["root.pem", "other.pem"], lmtp=lmtp) as dv:
        imap, pop3, sieve = dv.ports[:3]
        tap.diag("dovecot: imap %d, pop3 %d, sieve %d%s" % (
            imap, pop3, sieve, ", lmtp %d" % dv.ports[3] if lmtp else ""))
        check_server(tap, "dovecot imap://", dv, imap, "imap", "imap", "imap")
        check_server(tap, "dovecot pop3://", dv, pop3, "pop3", "pop3", "pop3")
        check_server(tap, "dovecot sieve://", dv, sieve, "sieve", "sieve", "sieve")
        if lmtp:
            check_server(tap, "dovecot lmtp://", dv, dv.ports[3], "lmtp", "lmtp", "lmtp")
        # another protocol's exchange on the IMAP port: a clear error quoting the greeting
        run = scan(["--tls", "1.2", "--starttls", "ldap", "127.0.0.1:%d" % imap])
        o = (run.records or [{}])[0].get("observations", [{}])[0]
        err = o.get("error", {})
        tap.ok(err.get("kind") == "starttls" and
               err.get("message", "").startswith("LDAP: the StartTLS response is not what the "
                                                 "protocol allows") and
               # its greeting, whichever Dovecot sends ("* OK [CAPABILITY ...", or "* OK
               # Waiting for authentication process to respond.." while it starts up)
               '"* OK ' in err.get("message", ""),
               "dovecot's IMAP port spoken to in LDAP: error kind starttls quoting its greeting",
               err)


def check_silent_close(tap, label, port):
    """The service probed as HOST:PORT, on a port outside the table and without --starttls, closes
    on the ClientHello without a byte: kind reset, and the message says what to try; with
    --starttls none (TLS was asked for) it does not."""
    hint = "(a STARTTLS service such as PostgreSQL or LDAP closes so: try --starttls postgres or " \
           "--starttls ldap)"
    for opts, want in (([], True), (["--starttls", "none"], False)):
        run = scan(["--tls", "1.2", "--timeout", "10"] + opts + ["127.0.0.1:%d" % port])
        o = (run.records[0]["observations"] if len(run.records) == 1 else [{}])[0]
        err = o.get("error") or {}
        msg = err.get("message", "")
        tap.ok(err.get("kind") == "reset" and " after 0 bytes" in msg and (hint in msg) == want,
               "%s as 127.0.0.1:PORT%s: reset after 0 bytes, %s" % (
                   label, " " + " ".join(opts) if opts else "",
                   "the message suggests --starttls postgres or ldap" if want else "no hint"),
               err or run.describe())


def check_slapd(tap):
    if missing(tap, "slapd", "/usr/sbin/slapd", "slapd"):
        return
    with Slapd(["cas.pem"]) as ld:
        tap.diag("slapd on port %d" % ld.port)
        check_server(tap, "slapd ldap://", ld, ld.port, "ldap", "ldap", "ldap")
        check_silent_close(tap, "slapd", ld.port)


def check_postgres(tap):
    if pg_bin("initdb") is None:
        tap.skip("postgres", "PostgreSQL is not installed (apt-get install postgresql; make "
                             "test-deps)")
        return
    with Postgres(["issuing.pem", "other.pem"]) as pg:
        tap.diag("postgres on port %d" % pg.port)
        check_server(tap, "postgres postgres://", pg, pg.port, "postgres", "postgres", "postgres")
        check_silent_close(tap, "postgres", pg.port)
        run = scan(["--tls", "1.3", "postgresql://127.0.0.1:%d/app" % pg.port])
        o = (run.records or [{}])[0].get("observations", [{}])[0]
        tap.eq((o.get("starttls"), ders(o)), ("postgres", h.ca_file_subjects(pg.cafile)),
               "postgresql://HOST:PORT/DB: the same", run.describe())


def check_mariadb(tap):
    if missing(tap, "mariadb", "mariadbd", "mariadb-server"):
        return
    # MariaDB asks for a certificate but does not name the CAs of its ssl-ca
    run = check_service(tap, MariaDB, ["root.pem", "issuing.pem", "other.pem"], "mysql",
                        empty=True)
    rules = [f["rule"] for r in run.records for f in r["findings"]]
    tap.ok("empty-ca-list" in rules, "mariadb: empty-ca-list", rules)


def check_vsftpd(tap):
    if missing(tap, "vsftpd", "/usr/sbin/vsftpd", "vsftpd",
               root="each FTP session chroots and drops to nobody"):
        return
    check_service(tap, Vsftpd, ["issuing.pem", "special.pem", "root.pem"], "ftp")


def check_prosody(tap):
    if missing(tap, "prosody", "prosody", "prosody"):
        return
    # Prosody asks for a certificate but names none of its cafile's CAs (LuaSec)
    run = check_service(tap, Prosody, ["cas.pem"], "xmpp", empty=True,
                        s_client_extra=["-xmpphost", "127.0.0.1"])
    rules = [f["rule"] for r in run.records for f in r["findings"]]
    tap.ok("empty-ca-list" in rules, "prosody: empty-ca-list", rules)


# ---------------------------------------------------------------- servers that misbehave

def read_line(conn, limit=4096, end=b"\n"):
    buf = b""
    while not buf.endswith(end) and len(buf) < limit:
        b = conn.recv(1)
        if not b:
            raise OSError("closed")
        buf += b
    return buf


def send_slowly(conn, data):
    """One byte per write, each its own segment (TCP_NODELAY and a pause)."""
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(0.002)


def relay(a, b):
    """Copy bytes both ways until either side closes."""
    def pump(src, dst):
        with contextlib.suppress(OSError):
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(timeout=5)


class ScriptServer(h.BadServer):
    """A loopback server that plays play(conn) on each connection, in a thread of its own, then
    holds the connection until the client closes it (BadServer's socket, stop and context)."""

    def __init__(self, play):
        super().__init__("script")
        self.play = play

    def run(self):
        while not self.stopping.is_set():
            if not select.select([self.sock], [], [], 0.1)[0]:
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns.append(conn)
            threading.Thread(target=self._play, args=(conn,), daemon=True).start()

    def _play(self, conn):
        with contextlib.suppress(OSError):
            self.play(conn)
            conn.settimeout(30)
            while conn.recv(4096):
                pass


def dialogue(*steps):
    """A play: each step is bytes to send, None to read one command line, a number of bytes to
    read (a binary request), or a str: read up to and including it (XML)."""
    def play(conn):
        for s in steps:
            if s is None:
                read_line(conn)
            elif isinstance(s, str):
                read_line(conn, end=s.encode())
            elif isinstance(s, int):
                conn.settimeout(10)
                got = b""
                while len(got) < s:
                    b = conn.recv(s - len(got))
                    if not b:
                        raise OSError("closed")
                    got += b
            else:
                conn.sendall(s)
    return play


def relayed(relay_port, play):
    """play, then the TLS bytes relayed to openssl s_server on relay_port."""
    def run(conn):
        play(conn)
        relay(conn, socket.create_connection(("127.0.0.1", relay_port)))
    return run


def trickled_smtp(conn):
    """SMTP in one-byte writes."""
    send_slowly(conn, b"220-mx.test ESMTP\r\n220 ready\r\n")
    read_line(conn)
    send_slowly(conn, b"250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    read_line(conn)
    send_slowly(conn, b"220 2.0.0 Ready to start TLS\r\n")


# Exchanges as their RFCs' examples and common servers (vsftpd, INN, Cyrus lmtpd, Prosody) say
# them, the TLS after them openssl s_server's: NNTP's only test with a server (no real one here),
# and the others against s_server's CertificateRequest besides their real servers' above.
AGREEING = [
    ("SMTP in one-byte writes", "smtp", trickled_smtp),
    ("FTP (vsftpd)", "ftp", dialogue(b"220 (vsFTPd 3.0.3)\r\n", None,
                                     b"234 Proceed with negotiation.\r\n")),
    ("NNTP (INN)", "nntp", dialogue(b"200 news.test InterNetNews NNRP server INN 2.7 ready\r\n",
                                    None, b"382 Begin TLS negotiation now\r\n")),
    ("LMTP", "lmtp", dialogue(b"220 lmtp.test LMTP ready\r\n", None,
                              b"250-lmtp.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", None,
                              b"220 2.0.0 Begin TLS negotiation now\r\n")),
    ("XMPP (Prosody)", "xmpp",
     dialogue(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
              b"xmlns:stream='http://etherx.jabber.org/streams' id='a1' from='127.0.0.1' "
              b"version='1.0' xml:lang='en'><stream:features><starttls "
              b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
              b"</stream:features>", "version='1.0'>", "/>",
              b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")),
]


def endless_greeting(conn):
    for _ in range(20000):  # 20,000 lines of 40 bytes: far over the 64 KiB caprobe reads
        conn.sendall(b"220-the greeting goes on and on and on\r\n")


HOSTILE = [
    # name, scheme, play, kind, what the message holds
    ("refusal 454", "smtp", dialogue(b"220 mx\r\n", None, b"250-mx\r\n250 STARTTLS\r\n", None,
                                     b"454 4.7.0 \x1b[31mTLS not available\r\n"),
     "starttls", 'SMTP: the server refused STARTTLS: "454 4.7.0 \\x1b[31mTLS not available"'),
    ("imap NO", "imap", dialogue(b"* OK ready\r\n", None, b"a001 NO TLS is off\r\n"),
     "starttls", 'IMAP: the server refused STARTTLS: "a001 NO TLS is off"'),
    ("pop3 -ERR", "pop3", dialogue(b"+OK ready\r\n", None, b"-ERR no TLS here\r\n"),
     "starttls", 'POP3: the server refused STLS: "-ERR no TLS here"'),
    ("garbage", "smtp", dialogue(b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n\r\n"),
     "starttls", 'SMTP: the greeting is not a valid reply: "HTTP/1.1 400 Bad Request"'),
    ("TLS bytes", "smtp", dialogue(b"\x15\x03\x03\x00\x02\x02\x28"),
     "starttls", "sent a TLS record where its greeting was expected"),
    ("TLS after the greeting", "smtp", dialogue(b"220 mx\r\n", None, b"\x16\x03\x03\x00\x04"),
     "starttls", 'SMTP: the server switched to TLS before STARTTLS: a TLS record where its reply '
                 'to EHLO was expected, after 8 bytes of plaintext: "\\x16\\x03\\x03\\x00\\x04"'),
    ("endless greeting", "smtp", endless_greeting,
     "starttls", 'more than 65536 bytes of plaintext and its greeting never ended: "220-the'),
    ("stalled greeting", "smtp", dialogue(b"220-half a greeting\r\n220 and the rest never"),
     "timeout", "STARTTLS smtp: no complete greeting after"),
    ("silent", "smtp", dialogue(), "timeout", "the server never answered (TLS from the first "
                                              "byte? probe HOST:PORT with --starttls none)"),
    ("closed mid-greeting", "smtp", lambda c: (c.sendall(b"220-a\r\n"), c.close()),
     "reset", "the server closed the connection while caprobe waited for its greeting"),
    ("bytes out of turn", "smtp", dialogue(b"220 mx\r\n", None, b"250 STARTTLS\r\n", None,
                                           b"220 go ahead\r\n\x16\x03\x03\x00\x31"),
     "starttls", "sent 5 bytes after its reply to STARTTLS, before the TLS handshake began"),
    ("protocol switch", "smtp", dialogue(b"220 mx\r\n", None, b"* OK IMAP4rev1 ready\r\n"),
     "starttls", 'SMTP: the reply to EHLO is not a valid reply: "* OK IMAP4rev1 ready"'),
    ("ldap refusal", "ldap", dialogue(31, b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02"
                                      b"\x04\x00\x04\x00"),
     "starttls", "LDAP: the server refused the StartTLS extended request: resultCode 2 "
                 "protocolError"),
    ("postgres N", "postgres", dialogue(8, b"N"), "starttls",
     "PostgreSQL: the server refused SSLRequest: it answered 'N' (SSL is off)"),
    # an ErrorResponse is read when its fields end, not at the close (the server here holds the
    # connection: waiting would be a timeout), even when its length counts wrong
    # characters that reorder or hide text (RLO, PDF, a zero-width space, NEL, a line
    # separator): escaped in the message (and in the text report: check_hostile)
    ("bidi banner", "smtp",
     dialogue("554 no \u202eevil\u202c \u200b zero \u0085nel \u2028ls x\r\n".encode()),
     "starttls", 'SMTP: the server refused the session (greeting): "554 no \\u202eevil\\u202c '
                 '\\u200b zero \\xc2\\x85nel \\u2028ls x"'),
    ("postgres E", "postgres",
     dialogue(8, b"E\x00\x00\x00\x20SFATAL\x00Mbad \x1b[31mproto\x00\x00"), "starttls",
     'PostgreSQL: the server refused SSLRequest: it answered SSLRequest with an ErrorResponse: '
     '"bad \\x1b[31mproto"'),
    ("postgres E, protocol 2", "postgres",
     dialogue(8, b"EFATAL:  unsupported frontend protocol 1234.5679: server supports 1.0 to "
                 b"2.0\n\x00"), "starttls",
     'ErrorResponse (protocol 2): "FATAL:  unsupported frontend protocol 1234.5679: server '
     'supports 1.0 to 2.0"'),
]


def check_hostile(tap):
    """Every misbehaving server in one scan, each its own target: the right error kind and a
    message that quotes the reply, escaped; a reply in one-byte writes works."""
    with contextlib.ExitStack() as stack:
        ossl = stack.enter_context(h.OpensslServer(["-verify", "1", "-CAfile",
                                                    h.pki("cas.pem")]))
        agreeing = [(name, scheme, stack.enter_context(ScriptServer(relayed(ossl.port, play))))
                    for name, scheme, play in AGREEING]
        servers = [(name, scheme, stack.enter_context(ScriptServer(play)), kind, part)
                   for name, scheme, play, kind, part in HOSTILE]
        implicit = stack.enter_context(h.OpensslServer(["-verify", "1", "-CAfile",
                                                        h.pki("issuing.pem")]))
        targets = ["smtp://127.0.0.1:%d" % implicit.port]
        targets += ["%s://127.0.0.1:%d" % (scheme, s.port) for _, scheme, s in agreeing]
        text_targets = ["%s://127.0.0.1:%d" % (scheme, s.port) for name, scheme, s, _, _ in
                        servers if name in ("refusal 454", "imap NO", "pop3 -ERR",
                                            "bidi banner")]
        targets += ["%s://127.0.0.1:%d" % (scheme, s.port) for _, scheme, s, _, _ in servers]
        t0 = time.monotonic()
        run = scan(["--tls", "1.2", "--timeout", "3"] + targets, timeout=60)
        tap.diag("%d hostile targets in %.1f s" % (len(targets), time.monotonic() - t0))
        text = h.run_caprobe(["--tls", "1.2", "--timeout", "3", "--color=never"] +
                             text_targets, timeout=60)

    def obs(port):
        return (run.by_port.get(port, {}).get("observations") or [{}])[0]

    for name, scheme, s in agreeing:
        o = obs(s.port)
        tap.eq((o.get("starttls"), o.get("outcome"), ders(o)),
               (scheme, "certificate_request", h.ca_file_subjects(h.pki("cas.pem"))),
               "%s: the exchange completes, the names are s_server's" % name, o)
    o = obs(implicit.port)
    tap.ok(o.get("error", {}).get("kind") == "timeout" and
           "--starttls none" in o.get("error", {}).get("message", ""),
           "smtp:// to a port that speaks TLS at once: timeout, and the message suggests "
           "--starttls none", o.get("error"))
    for name, scheme, s, kind, part in servers:
        o = obs(s.port)
        err = o.get("error", {})
        tap.ok(o.get("starttls") == scheme and err.get("kind") == kind and
               part in err.get("message", ""),
               "%s (%s://): error kind %s, %r" % (name, scheme, kind, part[:60]), o)
    tap.ok("\x1b" not in text.stdout and "\\x1b[31mTLS not available" in text.stdout and
           "(STARTTLS smtp)" in text.stdout,
           "text report: the refusal quoted with its ESC escaped, the target marked STARTTLS",
           text.stdout[-2000:])
    hidden = [c for c in "\u202e\u202c\u200b\u2028\u0085" if c in text.stdout]
    tap.ok(not hidden and "554 no \\u202eevil\\u202c \\u200b zero \\xc2\\x85nel \\u2028ls x"
           in text.stdout,
           "text report: a banner's RLO, PDF, zero-width space, NEL and line separator escaped, "
           "no raw byte sequence of them", (hidden, text.stdout[-2000:]))
    tap.eq(run.rc, 0, "hostile STARTTLS servers: errors are data, exit 0", run.stderr[-500:])


def check_greeting_hint(tap):
    """A STARTTLS service on a port outside the table answers the ClientHello with its greeting:
    the error names the protocol it greets with and how to probe it (--starttls, a URL)."""
    mysql = bytes.fromhex("4a0000000a") + b"5.5.5-10.11.6-MariaDB\0" + b"\0" * 40
    cases = [("SMTP", dialogue(b"220 mx.example ESMTP Postfix\r\n"), "smtp"),
             ("IMAP", dialogue(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), "imap"),
             ("MariaDB", dialogue(mysql), "mysql")]
    with contextlib.ExitStack() as stack:
        servers = [(label, stack.enter_context(ScriptServer(play)), proto)
                   for label, play, proto in cases]
        run = scan(["--tls", "1.2", "--timeout", "5"] +
                   ["127.0.0.1:%d" % s.port for _, s, _ in servers])
    by_target = {rec["target"]: rec for rec in run.records}
    for label, s, proto in servers:
        rec = by_target.get("127.0.0.1:%d" % s.port, {})
        o = (rec.get("observations") or [{}])[0]
        msg = o.get("error", {}).get("message", "")
        tap.ok(o.get("error", {}).get("kind") == "protocol" and
               "not TLS, the server greets as %s does (probe it with --starttls %s, or as "
               "%s://HOST:PORT)" % (proto, proto, proto) in msg,
               "%s greeting on a port outside the table: the error names --starttls %s"
               % (label, proto), msg or run.describe())


def check_lab(tap):
    """The lab's STARTTLS-SMTP endpoint dumps the system bundle: caprobe and s_client agree."""
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab:
        port = lab.port("starttls-smtp-root-dump")
        run = scan(["--tls", "1.2", "smtp://127.0.0.1:%d" % port])
        sc = h.s_client_info(port, "-tls1_2", extra=["-starttls", "smtp"])
    rec = (run.records or [{}])[0]
    o = rec.get("observations", [{}])[0]
    tap.eq((o.get("starttls"), set(ders(o))), ("smtp", set(h.ca_file_subjects(SYSTEM_BUNDLE))),
           "lab starttls-smtp-root-dump: the system bundle's subjects, byte for byte",
           run.describe())
    tap.ok(sc["ca_names"] is not None and len(sc["ca_names"]) == len(ders(o)),
           "lab starttls-smtp-root-dump: openssl s_client -starttls smtp counts as many names",
           sc["raw"][-1000:])
    dump = [f for f in rec.get("findings", []) if f["rule"] == "root-store-dump"]
    tap.ok(len(dump) == 1, "lab starttls-smtp-root-dump: root-store-dump")
    # the fix is Postfix's (or Exchange's) CA setting: netsh configures http.sys, not SMTP
    remedy = dump[0].get("remedy", "") if dump else ""
    tap.ok("smtpd_tls_CAfile" in remedy and "netsh" not in remedy,
           "lab starttls-smtp-root-dump: the fix names smtpd_tls_CAfile, no netsh line", remedy)


def check_two_protocols(tap):
    """One HOST:PORT probed in two protocols (smtp://H:P and H:P, which is TLS from the first
    byte on a port outside the table) is two records with the same "target": diff, --baseline,
    SARIF and JUnit keep them apart by their "starttls"."""
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab, \
            tempfile.TemporaryDirectory() as tmp:
        port = lab.port("starttls-smtp-root-dump")
        both = ["--tls", "1.2", "smtp://127.0.0.1:%d" % port, "127.0.0.1:%d" % port]
        run = scan(both)
        by_proto = {r["observations"][0].get("starttls"): r for r in run.records}
        if not tap.eq(sorted(by_proto, key=str), [None, "smtp"],
                      "two protocols: one record spoken to in smtp, one in TLS at once",
                      run.describe()):
            return
        target = "127.0.0.1:%d" % port
        tap.eq({r["target"] for r in run.records}, {target},
               "two protocols: both records keep the same target", run.describe())
        # the earlier scan: the SMTP list without its first name, the TLS record as it is;
        # the plain record comes last so that a table keyed by target alone loses the SMTP one
        smtp = json.loads(json.dumps(by_proto["smtp"]))
        cas = smtp["observations"][0]["certificate_request"]["cas"]
        dropped = cas.pop(0)
        old, new = os.path.join(tmp, "old.jsonl"), os.path.join(tmp, "new.jsonl")
        with open(old, "w") as f:
            f.write(json.dumps(smtp) + "\n" + json.dumps(by_proto[None]) + "\n")
        with open(new, "w") as f:
            f.write(json.dumps(by_proto["smtp"]) + "\n" + json.dumps(by_proto[None]) + "\n")
        d = h.run_caprobe(["diff", "--names", old, new])
        tap.ok(d.rc == 1 and ("%s (STARTTLS smtp): changed" % target) in d.stdout and
               "1 changed, 0 added, 0 removed, 1 unchanged" in d.stdout and
               dropped["dn"] in d.stdout,
               "two protocols: diff names the SMTP record changed (the name added) and the "
               "TLS record unchanged", d.describe())
        d = h.run_caprobe(["diff", "--format", "jsonl", old, new])
        lines = [json.loads(x) for x in d.stdout.splitlines() if x.strip()]
        tap.eq([(x["target"], x.get("starttls"), x["status"]) for x in lines],
               [(target, "smtp", "changed")], "two protocols: diff --format jsonl carries "
               "\"starttls\" next to the target", d.describe())
        r = scan(["--baseline", old] + both)
        drift = {rec["observations"][0].get("starttls"):
                 [f for f in rec.get("findings", []) if f["rule"] == "baseline-drift"]
                 for rec in r.records}
        tap.ok(len(drift.get("smtp", [])) == 1 and drift.get(None) == [],
               "two protocols: --baseline compares the SMTP record with the earlier SMTP "
               "record (drift) and the TLS record with the TLS one (none)", r.describe())
        r = h.run_caprobe(["--format", "sarif"] + both)
        uris = set()
        for res in json.loads(r.stdout)["runs"][0]["results"]:
            uris.add(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        tap.eq(len(uris), 2, "two protocols: SARIF results at two locations", sorted(uris))
        r = h.run_caprobe(["--format", "junit"] + both)
        names = re.findall(r'<testcase classname="caprobe" name="([^"]*)"', r.stdout)
        tap.eq(sorted(names), sorted([target, target + " (STARTTLS smtp)"]),
               "two protocols: two JUnit test cases by name", r.stdout[-600:])


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.skip("caprobe", "not built")
        return tap.finish()
    h.run_checks(tap, [check_hostile, check_greeting_hint, check_lab, check_two_protocols,
                       check_postfix, check_dovecot, check_slapd, check_postgres, check_mariadb,
                       check_vsftpd, check_prosody])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
