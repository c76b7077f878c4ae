"""Debian's apache2 with mod_ssl on a loopback port the kernel chooses, for caprobe's tests.

Python 3 standard library only. ApacheServer writes a complete configuration into a temporary
directory (its own ServerRoot, PidFile, ErrorLog, DefaultRuntimeDir and Mutex directory; nothing
under /etc/apache2 is read) and runs `/usr/sbin/apache2 -DFOREGROUND` (no detaching; one parent
and, with the event MPM, one child process with 16 threads) in a new session. It never touches
the system's apache2 service and does not need it.

The interesting part is where client certificates are asked for:

  server_verify=None (default)   no SSLVerifyClient at server level: the initial handshake has no
                                 CertificateRequest. `<Location /secure>` has
                                 `SSLVerifyClient require` + `SSLVerifyDepth 2`, so a
                                 `GET /secure/` makes Apache ask afterwards: a TLS 1.2
                                 renegotiation, or on TLS 1.3 a post-handshake CertificateRequest
                                 if the client offered post_handshake_auth (else `403 Forbidden`).
  server_verify="optional"       `SSLVerifyClient optional` at server level: the initial
                                 handshake carries the CertificateRequest.

The CA names Apache advertises come from `SSLCADNRequestFile` when it is set (dn_request_file),
otherwise from `SSLCACertificateFile` (ca_file). The defaults make them differ: the chain is
verified against cas.pem (issuing + root), the names advertised are those of other.pem, so a test
can tell which list it saw (expected_ca_file() says which one it should be).

    with ApacheServer() as a:
        a.port, a.url("/secure/"), a.error_log(), a.access_log()

Apache refuses to serve as root. When the tests run as root, `User`/`Group` name www-data (or
nobody): the parent stays root, the child serves as www-data, and the temporary directory is
given to that account. Why not `-X` (a single process): it would switch its own credentials,
which makes the kernel forget the parent-death signal (PR_SET_PDEATHSIG), so a SIGKILLed test
would leave it running; and starting it as www-data directly loses the signal at execve too.
The parent here keeps it: when the test dies it gets SIGTERM and stops its child. The
certificate, key and CA files are copied into the temporary directory.
"""

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

try:
    from harness import free_port, kill_group, pki, wait_accepting
except ImportError:  # pragma: no cover - imported as a package module
    from .harness import free_port, kill_group, pki, wait_accepting

APACHE2 = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODULE_DIRS = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules")


def apache_available():
    """(True, version line) when the apache2 binary and mod_ssl are there, else (False, reason)."""
    if not (os.path.isfile(APACHE2) and os.access(APACHE2, os.X_OK)):
        return False, "%s not found (Debian package apache2)" % APACHE2
    if _module_dir() is None:
        return False, "mod_ssl.so not found in %s" % ", ".join(MODULE_DIRS)
    return True, apache_version()


def apache_version():
    """The "Server version:" line of `apache2 -v`, e.g. "Apache/2.4.62 (Debian)"."""
    try:
        r = subprocess.run([APACHE2, "-v"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unknown (%s)" % e
    m = re.search(r"Server version:\s*(.*)", r.stdout.decode("utf-8", "replace"))
    return m.group(1).strip() if m else "unknown"


def _module_dir():
    for d in MODULE_DIRS:
        if os.path.isfile(os.path.join(d, "mod_ssl.so")):
            return d
    return None


def _die_with_parent():
    """preexec_fn: SIGTERM to apache2's parent process when the test dies, even by SIGKILL
    (PR_SET_PDEATHSIG; Linux only, best effort elsewhere). Apache then stops its child."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:
        pass


def _fixture(path):
    """A fixture name ("cas.pem") or an existing path."""
    if path is None:
        return None
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path)
    return pki(path)


def _run_as():
    """(user name, uid, gid) for User/Group when running as root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("www-data", "nobody", "daemon"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        if pw.pw_uid != 0:
            return name, pw.pw_uid, pw.pw_gid
    raise RuntimeError("running as root and no unprivileged user (www-data, nobody) to serve as")


def _quote(path):
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


class ApacheServer:
    """apache2 + mod_ssl on 127.0.0.1:port, configured in a temporary directory.

    Arguments (file arguments take a fixture name under fixtures/pki or a path):
      ca_file          SSLCACertificateFile, verifies client chains ("cas.pem")
      dn_request_file  SSLCADNRequestFile, the CA names advertised; None omits it, and then
                       Apache advertises the subjects of ca_file ("other.pem")
      server_verify    None: nothing at server level; or a SSLVerifyClient value for the server
                       level ("optional", "require", "optional_no_ca")
      location_verify  SSLVerifyClient of <Location /secure> ("require"; None omits the block's
                       SSLVerifyClient)
      verify_depth     SSLVerifyDepth of <Location /secure> and of the server level (2)
      protocols        SSLProtocol ("-all +TLSv1.2 +TLSv1.3")
      cert, key        SSLCertificateFile / SSLCertificateKeyFile ("server.pem", "server.key")
      chain            SSLCertificateChainFile (None)
      extra            more configuration lines at server level (str)
      log_level        LogLevel ("info ssl:info": renegotiation and PHA are logged)
      mpm              "event" (default: one child, 16 threads) or "prefork" (2 to 8 children)
      retries          ports tried when Apache cannot bind ("Address already in use")
      start_timeout    seconds to wait for one start

    Attributes after start(): port, tmp, docroot, conf_path, error_log_path, access_log_path,
    proc, cmd, config_text, user ((name, uid, gid) of the account the child serves as when the
    test runs as root, else None). ca_file, dn_request_file, cert, key, chain hold the original
    paths; the server reads copies in tmp/pki. After stop(): final_error_log, final_access_log.
    Documents: /index.html ("caprobe apache index") and /secure/index.html ("caprobe apache
    secure"); "/secure/" maps to the latter (DirectoryIndex).
    """

    def __init__(self, ca_file="cas.pem", dn_request_file="other.pem", server_verify=None,
                 location_verify="require", verify_depth=2,
                 protocols="-all +TLSv1.2 +TLSv1.3", cert="server.pem", key="server.key",
                 chain=None, extra="", log_level="info ssl:info", mpm="event", retries=5,
                 start_timeout=15.0):
        self.ca_file = _fixture(ca_file)
        self.dn_request_file = _fixture(dn_request_file)
        self.server_verify = server_verify
        self.location_verify = location_verify
        self.verify_depth = verify_depth
        self.protocols = protocols
        self.cert = _fixture(cert)
        self.key = _fixture(key)
        self.chain = _fixture(chain)
        self.extra = extra
        self.log_level = log_level
        self.mpm = mpm
        self.retries = retries
        self.start_timeout = start_timeout
        self.proc = None
        self.tmp = None
        self.port = None
        self.cmd = None
        self.user = None
        self.config_text = None
        self.final_error_log = ""   # the logs as they were when stop() removed the directory
        self.final_access_log = ""
        self._last_failure = ""

    # ------------------------------------------------------------ paths and config

    @property
    def docroot(self):
        return os.path.join(self.tmp, "htdocs")

    @property
    def conf_path(self):
        return os.path.join(self.tmp, "apache2.conf")

    @property
    def error_log_path(self):
        return os.path.join(self.tmp, "error.log")

    @property
    def access_log_path(self):
        return os.path.join(self.tmp, "access.log")

    @property
    def pid_path(self):
        return os.path.join(self.tmp, "apache2.pid")

    def expected_ca_file(self):
        """The file whose certificate subjects Apache advertises."""
        return self.dn_request_file or self.ca_file

    def url(self, path="/"):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def _config(self):
        mods = _module_dir()
        if mods is None:
            raise RuntimeError("mod_ssl.so not found in %s" % ", ".join(MODULE_DIRS))
        t = self.tmp
        pk = os.path.join(t, "pki")
        lines = [
            "# generated by caprobe tests/integration/apache.py",
            "ServerRoot %s" % _quote(t),
            "DefaultRuntimeDir %s" % _quote(t),
            "PidFile %s" % _quote(self.pid_path),
            "Mutex file:%s default" % t,
            "ErrorLog %s" % _quote(self.error_log_path),
            "LogLevel %s" % self.log_level,
            "LoadModule mpm_%s_module %s/mod_mpm_%s.so" % (self.mpm, mods, self.mpm),
            "LoadModule authz_core_module %s/mod_authz_core.so" % mods,
            "LoadModule mime_module %s/mod_mime.so" % mods,
            "LoadModule dir_module %s/mod_dir.so" % mods,
            "LoadModule ssl_module %s/mod_ssl.so" % mods,
        ]
        if self.user:
            lines += ["User #%d" % self.user[1], "Group #%d" % self.user[2]]
        if self.mpm == "event":
            lines += ["StartServers 1", "ServerLimit 1", "ThreadsPerChild 16",
                      "MaxRequestWorkers 16", "ThreadLimit 16", "MinSpareThreads 1",
                      "MaxSpareThreads 16"]
        elif self.mpm == "prefork":
            lines += ["StartServers 2", "MinSpareServers 1", "MaxSpareServers 4",
                      "MaxRequestWorkers 8"]
        lines += [
            "Listen 127.0.0.1:%d" % self.port,
            "ServerName localhost",
            "ServerAdmin caprobe@localhost",
            "Timeout 10",
            "KeepAliveTimeout 2",
            "TypesConfig %s" % _quote(os.path.join(t, "mime.types")),
            "DocumentRoot %s" % _quote(self.docroot),
            "DirectoryIndex index.html",
            'LogFormat "%h \\"%r\\" %>s %{SSL_PROTOCOL}x verify=%{SSL_CLIENT_VERIFY}x" caprobe',
            "CustomLog %s caprobe" % _quote(self.access_log_path),
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            "<Directory %s>" % _quote(self.docroot),
            "    Options None",
            "    Require all granted",
            "</Directory>",
            "SSLEngine on",
            "SSLProtocol %s" % self.protocols,
            "SSLInsecureRenegotiation off",
            "SSLCertificateFile %s" % _quote(os.path.join(pk, "cert.pem")),
            "SSLCertificateKeyFile %s" % _quote(os.path.join(pk, "key.pem")),
        ]
        if self.chain:
            lines.append("SSLCertificateChainFile %s" % _quote(os.path.join(pk, "chain.pem")))
        if self.ca_file:
            lines.append("SSLCACertificateFile %s" % _quote(os.path.join(pk, "ca.pem")))
        if self.dn_request_file:
            lines.append("SSLCADNRequestFile %s" % _quote(os.path.join(pk, "dn-request.pem")))
        if self.server_verify:
            lines += ["SSLVerifyClient %s" % self.server_verify,
                      "SSLVerifyDepth %d" % self.verify_depth]
        lines += ["<Location /secure>"]
        if self.location_verify:
            lines += ["    SSLVerifyClient %s" % self.location_verify,
                      "    SSLVerifyDepth %d" % self.verify_depth]
        lines += ["</Location>"]
        if self.extra:
            lines.append(self.extra)
        return "\n".join(lines) + "\n"

    def _prepare(self):
        self.tmp = tempfile.mkdtemp(prefix="caprobe-apache-")
        os.makedirs(os.path.join(self.docroot, "secure"))
        os.makedirs(os.path.join(self.tmp, "pki"))
        for src, name in ((self.cert, "cert.pem"), (self.key, "key.pem"), (self.chain, "chain.pem"),
                          (self.ca_file, "ca.pem"), (self.dn_request_file, "dn-request.pem")):
            if src:
                dst = os.path.join(self.tmp, "pki", name)
                shutil.copyfile(src, dst)
                os.chmod(dst, 0o600)
        files = {
            os.path.join(self.docroot, "index.html"): "caprobe apache index\n",
            os.path.join(self.docroot, "secure", "index.html"): "caprobe apache secure\n",
            os.path.join(self.tmp, "mime.types"): "text/html\thtml htm\ntext/plain\ttxt\n",
        }
        for path, text in files.items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(path, 0o644)
        for d in (self.docroot, os.path.join(self.docroot, "secure")):
            os.chmod(d, 0o755)
        if self.user:  # everything belongs to the account apache2 runs as
            for root, dirs, names in os.walk(self.tmp):
                for n in [root] + [os.path.join(root, x) for x in dirs + names]:
                    os.chown(n, self.user[1], self.user[2])

    # ------------------------------------------------------------ start and stop

    def _read(self, path, limit):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()[-limit:]
        except (OSError, TypeError):
            return ""

    def error_log(self, limit=20000):
        return self._read(self.error_log_path, limit) if self.tmp else ""

    def access_log(self, limit=20000):
        return self._read(self.access_log_path, limit) if self.tmp else ""

    def _startup_output(self):
        return self._read(os.path.join(self.tmp, "stderr.log"), 4000) + self.error_log(4000)

    def _pid_file_is_ours(self):
        text = self._read(self.pid_path, 100).strip()
        return text.isdigit() and int(text) == self.proc.pid

    def _try_start(self):
        """True when Apache runs and accepts; False on a taken port (retry); raises otherwise."""
        self._prepare()
        self.port = free_port()
        self.config_text = self._config()
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(self.config_text)
        if self.user:
            os.chown(self.conf_path, self.user[1], self.user[2])
        self.cmd = [APACHE2, "-DFOREGROUND", "-d", self.tmp, "-f", self.conf_path]
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
        with open(os.path.join(self.tmp, "stderr.log"), "wb") as errf:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=errf,
                                         stderr=errf, cwd=self.tmp, env=env,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.start_timeout
        # The PID file is written after the listener is bound, so a port taken by someone else
        # can never be mistaken for ours: wait for our PID there, then for accept.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self._pid_file_is_ours():
                left = max(0.5, deadline - time.monotonic())
                if wait_accepting(self.port, timeout=left) and self.proc.poll() is None:
                    return True
                break
            time.sleep(0.05)
        out = self._startup_output()
        self._last_failure = ("apache2 did not start (exit status %s): %s\n%s"
                              % (self.proc.poll(), " ".join(self.cmd), out))
        in_use = "Address already in use" in out
        self._cleanup()
        if in_use:
            return False
        raise RuntimeError(self._last_failure)

    def start(self):
        if _module_dir() is None:
            raise RuntimeError("mod_ssl.so not found in %s" % ", ".join(MODULE_DIRS))
        self.user = _run_as()
        for _ in range(max(1, self.retries)):
            if self._try_start():
                return self
        raise RuntimeError("no free port after %d tries; last: %s"
                           % (self.retries, self._last_failure))

    def _cleanup(self):
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None
        if self.tmp:
            self.final_error_log = self.error_log()
            self.final_access_log = self.access_log()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def stop(self):
        """Kill the process group and remove the temporary directory (safe to call twice);
        the logs stay readable as final_error_log / final_access_log."""
        self._cleanup()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self._cleanup()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False

    def __del__(self):
        with contextlib.suppress(Exception):
            self._cleanup()
