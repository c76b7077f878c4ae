#!/usr/bin/env python3
"""Verdicts people can act on (issue 12): a CI gate that cannot pass by accident, a TLS version a
server declines told apart from a failure, exit statuses that never hide a finding, findings
that agree with the observations and remedies that name what caprobe saw. Real servers on
loopback (openssl s_server, the lab, the test DNS server); the oracles are the servers' own
configuration and certificates (the SHA-1 that openssl computes of the served certificate)."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

import harness as h


def findings(run, rule=None):
    recs = h.parse_jsonl(run.stdout)[0]
    return [f for rec in recs for f in rec["findings"] if rule is None or f["rule"] == rule]


def records(run):
    return h.parse_jsonl(run.stdout)[0]


def check_probe_failed(tap, tmp):
    """A target whose every probe failed is a finding: high where client auth is expected, medium
    otherwise; --fail-on catches it, JUnit fails it. Down (refused) and a name without an
    address (NXDOMAIN from the test's DNS server)."""
    port = h.closed_port()
    down = "127.0.0.1:%d" % port
    policy = os.path.join(tmp, "required.yaml")
    with open(policy, "w", encoding="utf-8") as f:
        f.write("version: 1\ndefaults:\n  client_auth: required\n")
    r = h.run_caprobe(["--format", "jsonl", "--policy", policy, down])
    f = findings(r, "probe-failed")
    tap.ok(r.rc == 1 and len(f) == 1 and f[0]["severity"] == "high" and
           "refused 2" in f[0]["message"] and f[0]["observations"] == [0, 1],
           "client_auth: required against a closed port: probe-failed at high, exit 1",
           r.describe())
    r = h.run_caprobe(["--format", "jsonl", "--expect-ca", h.pki("issuing.pem"), down])
    f = findings(r, "probe-failed")
    tap.ok(r.rc == 1 and len(f) == 1 and f[0]["severity"] == "high",
           "--expect-ca against a closed port: probe-failed at high, exit 1", r.describe())
    r = h.run_caprobe(["--format", "jsonl", down])
    f = findings(r, "probe-failed")
    tap.ok(r.rc == 0 and len(f) == 1 and f[0]["severity"] == "medium",
           "no expectation: probe-failed at medium, below the default --fail-on high (exit 0)",
           r.describe())
    r = h.run_caprobe(["--format", "jsonl", "--fail-on", "medium", down])
    tap.eq(r.rc, 1, "--fail-on medium catches a target that could not be probed")
    with open(policy, "a", encoding="utf-8") as f:
        f.write("  severities: {probe-failed: low}\n")
    r = h.run_caprobe(["--format", "jsonl", "--policy", policy, down])
    f = findings(r, "probe-failed")
    tap.ok(r.rc == 0 and len(f) == 1 and f[0]["severity"] == "low",
           "a policy overrides probe-failed's severity (low: exit 0)", r.describe())
    r = h.run_caprobe(["--format", "junit", "--expect-ca", h.pki("issuing.pem"), down])
    tap.ok(r.rc == 1 and 'failures="1"' in r.stdout and 'type="probe-failed"' in r.stdout,
           "JUnit: the down target is a failure of probe-failed", r.describe())
    with h.DnsServer(["gone.test NXDOMAIN"]) as dns:
        r = h.run_caprobe(["--format", "jsonl", "--dns-server", dns.server_arg, "--expect-ca",
                           h.pki("issuing.pem"), "gone.test:443"])
    f = findings(r, "probe-failed")
    tap.ok(r.rc == 1 and len(f) == 1 and "dns 1" in f[0]["message"] and
           f[0]["severity"] == "high",
           "a name that does not resolve (NXDOMAIN) with --expect-ca: probe-failed at high",
           r.describe())


def check_version_not_offered(tap):
    """A TLS 1.2-only server with the right list: the TLS 1.3 probe is 'TLS 1.3 not offered',
    not an error; --fail-on-error passes. The same the other way round for a TLS 1.3-only
    server. A real failure still fails --fail-on-error."""
    ca = h.pki("issuing.pem")
    with h.OpensslServer(["-Verify", "1", "-CAfile", ca, "-tls1_2"]) as s:
        r = h.run_caprobe(["--format", "jsonl", "--fail-on-error", "127.0.0.1:%d" % s.port])
        recs = records(r)
        obs = recs[0]["observations"] if recs else []
        o13 = [o for o in obs if o["tls_max"] == "1.3"]
        o12 = [o for o in obs if o["tls_max"] == "1.2"]
        tap.ok(r.rc == 0 and len(o13) == 1 and o13[0]["outcome"] == "error" and
               o13[0]["error"]["kind"] == "version_not_offered" and
               o13[0]["error"]["message"].startswith("TLS 1.3 not offered: ") and
               o13[0]["error"].get("alert") == "protocol_version" and
               o12 and o12[0]["outcome"] == "certificate_request",
               "TLS 1.2-only server: the 1.3 probe is version_not_offered, --fail-on-error "
               "exits 0", r.describe())
        tap.ok("0 errors, 1 with a TLS version not offered" in r.stderr,
               "the summary counts the declined version apart from errors", r.stderr)
        tap.ok(not findings(r, "probe-failed"), "one version worked: no probe-failed finding",
               r.stdout)
        r = h.run_caprobe(["--format", "sarif", "127.0.0.1:%d" % s.port])
        import json
        notes = [n for run in json.loads(r.stdout or "{}").get("runs", [])
                 for inv in run.get("invocations", [])
                 for n in inv.get("toolExecutionNotifications", [])]
        tap.ok(len(notes) == 1 and notes[0]["level"] == "note" and
               "TLS 1.3 not offered" in notes[0]["message"]["text"],
               "SARIF: the declined version is a note, not a warning", r.describe())
        r = h.run_caprobe(["--format", "text", "127.0.0.1:%d" % s.port])
        tap.ok("TLS 1.3 not offered" in r.stdout, "text: 'TLS 1.3 not offered'", r.describe())
        r = h.run_caprobe(["--format", "jsonl", "--tls", "1.3", "127.0.0.1:%d" % s.port])
        f = findings(r, "probe-failed")
        tap.ok(len(f) == 1 and "declines every TLS version probed" in f[0]["message"],
               "--tls 1.3 alone against it: nothing was learned, probe-failed says the version "
               "was declined", r.describe())
    with h.OpensslServer(["-Verify", "1", "-CAfile", ca, "-tls1_3"]) as s:
        r = h.run_caprobe(["--format", "jsonl", "--fail-on-error", "127.0.0.1:%d" % s.port])
        obs = records(r)[0]["observations"] if records(r) else []
        o12 = [o for o in obs if o["tls_max"] == "1.2"]
        tap.ok(r.rc == 0 and len(o12) == 1 and
               o12[0].get("error", {}).get("kind") == "version_not_offered" and
               o12[0]["error"]["message"].startswith("TLS 1.2 not offered"),
               "TLS 1.3-only server: the 1.2 probe is version_not_offered, exit 0", r.describe())
    r = h.run_caprobe(["--fail-on-error", "-q", "127.0.0.1:%d" % h.closed_port()])
    tap.eq(r.rc, 3, "--fail-on-error still exits 3 for a target that could not be probed")


class SniOnlyServer(threading.Thread):
    """Python's ssl (OpenSSL) on a loopback port: asks for a client certificate naming the issuing
    CA, and ends every handshake without SNI with a handshake_failure alert, in TLS 1.2 and 1.3
    alike: the http.sys server whose ipport binding is missing."""

    def __init__(self):
        super().__init__(daemon=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(h.pki("server.pem"), h.pki("server.key"))
        ctx.load_verify_locations(h.pki("issuing.pem"))
        ctx.verify_mode = ssl.CERT_OPTIONAL

        def no_sni_fails(sock, name, context):
            return None if name else ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        ctx.sni_callback = no_sni_fails
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(5)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.join(timeout=5)
        self.sock.close()


def check_sni_required(tap):
    """A server that fails every handshake without SNI declines no TLS version: the no-SNI
    probes stay errors (tls_alert) and --fail-on-error sees them, while both versions work with
    SNI."""
    with SniOnlyServer() as s:
        target = "app.test:%d" % s.port
        r = h.run_caprobe(["--format", "jsonl", "--fail-on-error", "--resolve",
                           "%s:127.0.0.1" % target, target])
    obs = records(r)[0]["observations"] if records(r) else []
    no_sni = [o for o in obs if o["sni"] is None]
    with_sni = [o for o in obs if o["sni"] == "app.test"]
    tap.ok(r.rc == 3 and len(no_sni) == 2 and
           all(o.get("error", {}).get("kind") == "tls_alert" for o in no_sni) and
           len(with_sni) == 2 and all(o["outcome"] == "certificate_request" for o in with_sni),
           "a server that fails without SNI in both versions: tls_alert, not version_not_offered; "
           "--fail-on-error exits 3", r.describe())


def check_exit_precedence(tap, tmp):
    """A finding is never hidden by a bad target line: exit 1 with the input error record still
    written; the bad line alone exits 2."""
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab:
        dump = "127.0.0.1:%d" % lab.port("root-dump")
        right = "127.0.0.1:%d" % lab.port("right-list")
        lst = os.path.join(tmp, "targets.txt")
        with open(lst, "w", encoding="utf-8") as f:
            f.write("%s\nnot a target!\n" % dump)
        r = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "-i", lst])
        recs = records(r)
        tap.ok(r.rc == 1 and any(rec.get("error", {}).get("kind") == "input" for rec in recs)
               and any(f["rule"] == "root-store-dump" for rec in recs for f in rec["findings"]),
               "a typo line and a root-store dump: exit 1 (the finding), the input error "
               "recorded", r.describe())
        with open(lst, "w", encoding="utf-8") as f:
            f.write("%s\nnot a target!\n" % right)
        r = h.run_caprobe(["--format", "jsonl", "--tls", "1.2", "-i", lst])
        tap.eq(r.rc, 2, "a typo line and a right list: exit 2")


def served_sha1(port, sni=None):
    """The SHA-1 of the certificate the server presents, by openssl s_client and openssl x509."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2"]
    cmd += ["-servername", sni] if sni else ["-noservername"]
    pem = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30).stdout
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha1"], input=pem,
                        capture_output=True, timeout=30).stdout.decode()
    return fp.strip().split("=", 1)[-1].replace(":", "").lower()


def check_findings_and_remedies(tap):
    """The lab's SNI binding has the issuing CA, its IP binding dumps the root store: one
    sni-mismatch, remedies that name the IP binding with the target's port and the served
    certificate's thumbprint; TLS 1.3 without certificate_authorities (the lab's tls13-no-names)
    is empty-ca-list, not expected-ca-missing."""
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab:
        port = lab.port("sni-vs-nosni")
        target = "app.lab.test:%d" % port
        r = h.run_caprobe(["--format", "jsonl", "--resolve", "%s:127.0.0.1" % target, target])
        thumb = served_sha1(port)
        sni = findings(r, "sni-mismatch")
        tap.ok(len(sni) == 1, "one sni-mismatch for the target (TLS 1.2 and 1.3 probed)",
               r.describe())
        binding = "ipport=0.0.0.0:%d" % port
        for rule in ("root-store-dump", "sni-mismatch"):
            f = findings(r, rule)
            rem = f[0]["remedy"] if f else ""
            tap.ok(len(thumb) == 40 and
                   "netsh http update sslcert %s certhash=%s " % (binding, thumb) in rem and
                   "hostnameport=" not in rem.split(". nginx")[0].split(" Java")[0] and
                   "<thumbprint>" not in rem,
                   "%s: the remedy names %s and the served certificate's SHA-1" % (rule, binding),
                   "want %s certhash=%s in %r" % (binding, thumb, rem))
        no_names = lab.port("tls13-no-names")
        r = h.run_caprobe(["--format", "jsonl", "--expect-ca", h.pki("issuing.pem"),
                           "127.0.0.1:%d" % no_names])
        recs = records(r)
        obs = recs[0]["observations"] if recs else []
        i13 = [i for i, o in enumerate(obs) if o["tls_max"] == "1.3" and
               o.get("certificate_request", {}).get("certificate_authorities_extension") is False]
        empty = findings(r, "empty-ca-list")
        missing = findings(r, "expected-ca-missing")
        tap.ok(len(i13) == 1 and len(empty) == 1 and i13[0] in empty[0]["observations"] and
               not any(i13[0] in f["observations"] for f in missing),
               "TLS 1.3 without certificate_authorities: empty-ca-list, not expected-ca-missing",
               r.describe())


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    tmp = tempfile.mkdtemp(prefix="caprobe-verdicts-")
    try:
        for check, args in ((check_probe_failed, (tmp,)), (check_version_not_offered, ()),
                            (check_exit_precedence, (tmp,)), (check_findings_and_remedies, ()),
                            (check_sni_required, ())):
            try:
                check(tap, *args)
            except Exception as e:  # a harness failure is a failed test; the others still run
                tap.ok(False, "%s: harness" % check.__name__, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
