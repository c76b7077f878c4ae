#!/usr/bin/env python3
"""caprobe exporter (docs/exporter.md) with the real thing: Debian's Prometheus, in a temporary
folder on a port the kernel chose (never the system's :9090, never its data), scrapes the
exporter's /probe for two lab endpoints through blackbox-style relabeling and its /metrics; the
series are read back through Prometheus's HTTP API and compared with the certificates the lab
advertises. Then what an exporter open to anyone meets: targets outside its configuration (403),
unknown modules and malformed queries (400), garbage, oversized heads and too many fields (400,
431), a silent client (408), random bytes; it must answer each and keep serving. Hosts that
look like allowed addresses (127.0.0.evil.example, 2130706433, ::ffff:127.0.0.1), URL paths a
module does not allow, and malloc failing under it (failalloc.c). The concurrency limit (a
slot, a queue, 503 when neither is free in time) and SIGTERM (the scan in flight answers, exit
0). Emits TAP."""

import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expfmt  # noqa: E402
import harness as h  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
WAIT = 60  # seconds any one thing may take before the test gives up on it (not a measurement)


class Exporter(h._ServerProcess):
    """caprobe exporter with a configuration written to tmp, on a free port."""

    def __init__(self, tmp, config, name="exporter"):
        self.path = os.path.join(tmp, name + ".yml")
        with open(self.path, "w") as f:
            f.write(config)
        self.proc = None

    def start(self):
        for _ in range(5):  # another bind may take the free port meanwhile: try another
            self.port = h.free_port()
            self._spawn([h.caprobe_path(), "exporter", "--listen", "127.0.0.1:%d" % self.port,
                         "--config", self.path])
            if self._err.wait_for(r"listening on", 30):
                return self
            h.kill_group(self.proc)
        raise RuntimeError("the exporter did not start: %s" % self.output())

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        h.kill_group(self.proc)
        self._join_readers()


def http(port, path, headers=None, timeout=WAIT):
    """(status, headers, body text) of GET path."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def raw(port, data, timeout=WAIT, half_close=False):
    """Send bytes, read the answer until the exporter closes: (status code or None, text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        got = b""
        while True:
            try:
                b = s.recv(65536)
            except OSError:
                break
            if not b:
                break
            got += b
    text = got.decode("latin-1")
    code = int(text[9:12]) if text.startswith("HTTP/1.1 ") and text[9:12].isdigit() else None
    return code, text


def own_metric(port, name, **labels):
    _, _, body = http(port, "/metrics")
    doc = expfmt.parse(body + "# EOF\n" if "# EOF" not in body else body)
    return doc.one(name, **labels)


def wait_for(cond, what):
    """Poll cond() until true; a bounded loop (WAIT), not a time limit under test."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("gave up waiting for %s" % what)


# ---------------------------------------------------------------- Prometheus

PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: caprobe
    metrics_path: /probe
    params:
      module: [default]
    static_configs:
      - targets: [%(targets)s]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:%(exporter)d
  - job_name: caprobe-exporter
    static_configs:
      - targets: ["127.0.0.1:%(exporter)d"]
"""


class Prometheus(h._ServerProcess):
    """Debian's prometheus with its own configuration and data folder in tmp."""

    def __init__(self, tmp, config):
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(config)
        self.proc = None

    def start(self):
        for _ in range(5):
            self.port = h.free_port()
            self._spawn(["prometheus", "--config.file=" + self.config,
                         "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                         "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"])
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if http(self.port, "/-/ready", timeout=2)[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.1)
            h.kill_group(self.proc)
        raise RuntimeError("prometheus did not start: %s" % self.output()[-2000:])

    def query(self, q):
        """The result vector of an instant query: [(labels, value)]."""
        code, _, body = http(self.port, "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        data = json.loads(body)
        if code != 200 or data.get("status") != "success":
            raise RuntimeError("query %s: %s %s" % (q, code, body[:500]))
        return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]

    def wait_query(self, q, n=1):
        """The query's result once it has at least n series (bounded loop)."""
        return wait_for(lambda: (lambda r: r if len(r) >= n else None)(self.query(q)),
                        "%d series of %s" % (n, q))

    def stop(self):
        h.kill_group(self.proc)
        self._join_readers()


def exporter_config(extra_limits=""):
    return """
limits:
  concurrency: 4
  queue: 8
  read_timeout: 1
  timeout_margin: 0.2
%s
modules:
  default:
    options:
      tls: [1.2, 1.3]
      timeout: 5
      expect-ca: %s
    allow:
      - 127.0.0.1
  tls12:
    options:
      tls: "1.2"
    allow: ["127.0.0.1"]
  patient:
    options:
      timeout: 3600
    allow: ["127.0.0.1"]
""" % (extra_limits, h.pki("issuing.pem"))


def check_prometheus(tap, lab, tmp):
    if shutil.which("prometheus") is None:
        tap.skip("Prometheus scrapes the exporter", "prometheus not installed "
                 "(apt-get install prometheus)")
        return
    right, dump = lab.port("right-list"), lab.port("root-dump")
    with Exporter(tmp, exporter_config()) as ex, \
            Prometheus(tmp, PROMETHEUS_CONFIG % {
                "targets": '"127.0.0.1:%d", "127.0.0.1:%d"' % (right, dump),
                "exporter": ex.port}) as prom:
        inst_r, inst_d = "127.0.0.1:%d" % right, "127.0.0.1:%d" % dump
        up = prom.wait_query('up{job="caprobe"} == 1', 2)
        tap.eq(sorted(m["instance"] for m, _ in up), sorted([inst_r, inst_d]),
               "Prometheus scraped /probe for both targets through the relabeling (up 1: the "
               "OpenMetrics answer parsed)")
        ok = prom.wait_query('caprobe_probe_success{instance="%s"}' % inst_r, 2)
        tap.eq(sorted((m["tls"], v) for m, v in ok), [("1.2", 1.0), ("1.3", 1.0)],
               "right-list: caprobe_probe_success 1 for TLS 1.2 and 1.3")
        names = prom.wait_query('caprobe_probe_ca_names{instance="%s",tls="1.2"}' % inst_r)
        tap.eq([v for _, v in names], [float(len(h.ca_file_subjects(h.pki("issuing.pem"))))],
               "right-list: caprobe_probe_ca_names is its CA file's count of names")
        names = prom.wait_query('caprobe_probe_ca_names{instance="%s",tls="1.2"}' % inst_d)
        tap.eq([v for _, v in names], [float(len(h.pem_certs(SYSTEM_BUNDLE)))],
               "root-dump: caprobe_probe_ca_names is the system bundle's count of certificates")
        f = prom.wait_query('caprobe_target_findings{instance="%s",rule="root-store-dump"}'
                            % inst_d)
        tap.eq([(m.get("severity"), m.get("job"), v) for m, v in f], [("high", "caprobe", 1.0)],
               "root-dump: the root-store-dump series at severity high")
        # the findings of each target, as the same scan on the command line gives them
        for inst in (inst_r, inst_d):
            run = h.run_caprobe(["--format", "jsonl", "--tls", "1.2,1.3", "--timeout", "5",
                                 "--expect-ca", h.pki("issuing.pem"), inst])
            want = collections.Counter((f["rule"], f["severity"]) for r in run.records
                                       for f in r.get("findings", []))
            got = {(m["rule"], m["severity"]): v for m, v in
                   prom.query('caprobe_target_findings{instance="%s"}' % inst)}
            tap.eq(sorted(got.items()), sorted((k, float(n)) for k, n in want.items()),
                   "%s: the finding series count the command line's findings by rule and "
                   "severity" % inst)
        own = prom.wait_query('caprobe_exporter_requests_total{job="caprobe-exporter",'
                              'path="/probe",code="200"} > 0')
        tap.ok(own, "the exporter's own /metrics scraped: /probe answers counted", own)
        info = prom.wait_query('caprobe_exporter_build_info{job="caprobe-exporter"}')
        tap.ok(info and info[0][0].get("version"), "caprobe_exporter_build_info scraped", info)
        tap.ok(ex.alive(), "the exporter still runs")


# ---------------------------------------------------------------- refusals

def check_refusals(tap, lab, tmp):
    right = lab.port("right-list")
    with Exporter(tmp, exporter_config(), "refusals") as ex:
        port = ex.port
        code, _, body = http(port, "/probe?target=192.0.2.1:443")
        tap.ok(code == 403 and "not allowed" in body and "192.0.2.1:443" in body,
               "a target outside the allow list: 403 with why", (code, body))
        # Prometheus shows only the status: the reason is in the body above and in the log
        logged = ex._err.wait_for(r"^caprobe exporter: 127\.0\.0\.1: 403 target '192\.0\.2\.1:443' "
                                  r"is not allowed by module 'default'", WAIT)
        tap.ok(logged and body.strip() in logged.string, "the 403 and its reason, the body's "
               "line, are in the exporter's log (standard error)", ex.output()[-2000:])
        code, _, body = http(port, "/probe?target=localhost:%d" % right)
        tap.ok(code == 403, "a name that resolves to an allowed address is not that address: "
               "403", (code, body))
        code, _, body = http(port, "/probe?" + urllib.parse.urlencode(
            {"target": "127.0.0.1:%d" % right, "module": "nope"}))
        tap.ok(code == 400 and "unknown module 'nope'" in body, "an unknown module: 400",
               (code, body))
        for query, why in (("target=%zz", "a malformed %-escape"),
                           ("target=127.0.0.1%00:443", "a NUL"),
                           ("target=a%0Ab", "a line feed"),
                           ("target=127.0.0.0/24", "a CIDR range"),
                           ("target=1&target=2", "target twice"),
                           ("module=default", "no target"),
                           ("target=" + "a" * 2000, "an over-long target"),
                           ("target=bad%22host", "not a host")):
            code, _, body = http(port, "/probe?" + query)
            tap.ok(code == 400, "%s: 400" % why, (code, body))
        # a range of any size is many targets (not "larger than --max-cidr", which the exporter
        # does not have); the scan keeps its message
        for target in ("127.0.0.1/30:%d" % right, "127.0.0.1/32:%d" % right, "[::/0]:443",
                       "10.0.0.0/8"):
            code, _, body = http(port, "/probe?" + urllib.parse.urlencode({"target": target}))
            tap.ok(code == 400 and "a CIDR range is many targets" in body and
                   "one target per request" in body and "max-cidr" not in body,
                   "target=%s: 400, a range is many targets, one target per request" % target,
                   (code, body))
        run = h.run_caprobe(["--max-cidr", "2", "127.0.0.1/30:%d" % right])
        tap.ok(run.rc == 2 and "CIDR range larger than --max-cidr addresses" in run.stderr,
               "the scan command keeps its --max-cidr message", run.describe())
        code, _, body = http(port, "/probe?target=" + "a" * 2000)
        tap.ok(code == 400 and "the target is longer than 1024 bytes" in body,
               "an over-long target: 400 saying so", (code, body))
        code, _, body = http(port, "/probe?target=127.0.0.1:1&module=" + "m" * 100)
        tap.ok(code == 400 and "unknown module (its name is longer than 64 bytes)" in body,
               "an over-long module name: 400 saying so", (code, body))
        # parameters that are not ours are passed over as sent (docs/exporter.md): a 40-byte
        # key, a 2000-byte value, a malformed escape, a NUL
        code, _, body = http(port, "/probe?%s=1&target=127.0.0.1:%d&debug=%s&x=%%zz&y=%%00"
                             "&module=tls12" % ("k" * 40, right, "v" * 2000))
        doc = expfmt.parse(body)
        tap.ok(code == 200 and [l["tls"] for l, _ in doc.series("caprobe_probe_success")] ==
               ["1.2"], "other query parameters, long or malformed, are ignored: 200",
               (code, body[:300]))
        code, _, body = http(port, "/nope")
        tap.eq(code, 404, "an unknown path: 404")
        code, text = raw(port, b"POST /probe?target=127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n")
        tap.ok(code == 405 and "Allow: GET" in text, "POST: 405 with Allow", text[:300])
        code, text = raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
        tap.eq(code, 400, "a TLS ClientHello instead of HTTP: 400")
        code, text = raw(port, b"GET /probe?target=" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
        tap.ok(code == 431 and "8192" in text, "a request head over 8 KiB: 431", text[:300])
        code, text = raw(port, b"GET /metrics HTTP/1.1\r\n" +
                         b"".join(b"X-F%d: v\r\n" % i for i in range(100)) + b"\r\n")
        tap.ok(code == 431 and "header fields" in text, "100 header fields: 431", text[:300])
        code, text = raw(port, b"GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n")
        tap.eq(code, 400, "obsolete line folding: 400")
        code, text = raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n", half_close=False,
                         timeout=WAIT)
        tap.eq(code, 408, "a head that never ends: 408 after limits.read_timeout")
        code, text = raw(port, b"GET /probe?target=127.0.0.1:%d HTTP/1.1\r\n"
                         b"X-Prometheus-Scrape-Timeout-Seconds: 0.1\r\n\r\n" % right)
        tap.ok(code == 400 and "margin" in text, "a scrape timeout below the margin: 400",
               text[-300:])
        code, text = raw(port, b"GET /probe?target=127.0.0.1:%d&module=tls12 HTTP/1.0\r\n"
                         b"X-Prometheus-Scrape-Timeout-Seconds: 4\r\n\r\n" % right)
        doc = expfmt.parse(text.split("\r\n\r\n", 1)[-1])
        tap.ok(code == 200 and "text/plain; version=0.0.4" in text and
               [l["tls"] for l, _ in doc.series("caprobe_probe_success")] == ["1.2"],
               "HTTP/1.0 without Accept: Prometheus text, the module's options (TLS 1.2 only)",
               text[:600])
        rng = random.Random(14)
        answered = 0
        for i in range(150):
            n = rng.choice((1, 5, 40, 300, 3000))
            data = bytes(rng.randrange(256) for _ in range(n))
            if i % 3 == 0:  # garbage after a plausible start
                data = b"GET /probe?" + data + b" HTTP/1.1\r\n" + data + b"\r\n\r\n"
            code, text = raw(port, data, half_close=True)
            answered += code in (400, 404, 405, 408, 431, 503) or (code is None and not text)
        tap.eq(answered, 150, "150 random requests: each refused with a 4xx or closed, none "
               "probed")
        tap.ok(ex.alive(), "the exporter survived all of it")
        code, _, body = http(port, "/metrics")
        doc = expfmt.parse(body)
        refused = doc.one("caprobe_exporter_errors_total", reason="not_allowed")
        tap.ok(code == 200 and refused == 2.0 and
               doc.one("caprobe_exporter_errors_total", reason="read_timeout") == 1.0,
               "/metrics counts the refusals by reason", body[:3000])
        tap.eq([p for p in doc.problems if "EOF" not in p], [],
               "/metrics is valid Prometheus text")
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                               capture_output=True, timeout=60)
            tap.ok(p.returncode == 0 and not p.stdout.strip(),
                   "promtool check metrics passes /metrics", (p.stdout, p.stderr))
        code, hdrs, body = http(port, "/metrics", {"Accept": "application/openmetrics-text; "
                                                   "version=1.0.0"})
        doc = expfmt.parse(body)
        tap.ok(code == 200 and hdrs.get("Content-Type", "").startswith(
            "application/openmetrics-text") and doc.problems == [] and
            doc.families["caprobe_exporter_requests"]["type"] == "counter",
            "/metrics as OpenMetrics when asked (counters without _total in TYPE, # EOF)",
            (hdrs, doc.problems, body[:500]))


# ---------------------------------------------------------------- names that look like addresses

LOOKALIKE_CONFIG = """
modules:
  glob:
    options: {tls: "1.2", timeout: 5, dns-server: "%(dns)s"}
    allow: ["127.0.0.*:*"]
  v6:
    options: {tls: "1.2", timeout: 5}
    allow: ["::/0"]
    allow_any: true     # every IPv6 address: names no target
  cidr:
    options: {tls: "1.2", timeout: 5}
    allow: [127.0.0.0/8]
  names:
    options: {tls: "1.2", timeout: 5, dns-server: "%(dns)s"}
    allow: ["app.test:*"]
"""


def check_lookalikes(tap, lab, tmp):
    """The allow list against hosts that look like allowed addresses (issue 14): a name that
    starts like an address glob is a name its owner points anywhere (here the test's DNS server
    points them at the lab), numbers resolvers read as IPv4 addresses, an address's other
    spellings. Refused before any lookup; allowed ones reach the lab."""
    right = lab.port("right-list")
    zone = ["127.0.0.evil.example A 127.0.0.1", "127.0.0.1.nip.io A 127.0.0.1",
            "app.test A 127.0.0.1", "app.test.evil.example A 127.0.0.1"]
    with h.DnsServer(zone) as dns, \
            Exporter(tmp, LOOKALIKE_CONFIG % {"dns": dns.server_arg}, "lookalikes") as ex:
        def probe(target, module):
            code, _, body = http(ex.port, "/probe?" + urllib.parse.urlencode(
                {"target": target, "module": module}))
            ok = code == 200 and set(v for _, v in expfmt.parse(body).series(
                "caprobe_probe_success")) == {1.0}  # each variant (SNI or not) got an answer
            return code, ok, body
        for target in ("127.0.0.evil.example:%d" % right, "127.0.0.1.nip.io:%d" % right,
                       "127.0.0.1.NIP.IO:%d" % right, "https://127.0.0.evil.example:%d/" % right):
            code, _, body = probe(target, "glob")
            tap.ok(code == 403 and "not allowed" in body, "allow '127.0.0.*:*': the name %s is "
                   "not an address: 403" % target, (code, body))
        asked = sorted({n for _, n, _ in dns.queries()})
        tap.eq([n for n in asked if "evil" in n or "nip" in n], [],
               "none of those names was looked up (refused before DNS)")
        for target, why in (("2130706433", "a number"), ("0x7f000001", "a hex number"),
                            ("0x7F.1", "hex and a short form"), ("0177.0.0.1", "octal"),
                            ("127.1", "a short form"), ("127.0.0.1.", "a trailing dot"),
                            ("[fe80::1%lo]", "a zone id")):
            code, _, body = probe("%s:%d" % (target, right), "glob")
            tap.ok(code == 400, "%s (%s): 400, not a host the allow list may take" % (target, why),
                   (code, body))
        code, ok, body = probe("127.0.0.1:%d" % right, "glob")
        tap.ok(ok, "allow '127.0.0.*:*': 127.0.0.1 itself is probed", (code, body[:300]))
        code, ok, body = probe("[::ffff:127.0.0.1]:%d" % right, "glob")
        tap.ok(ok, "[::ffff:127.0.0.1] is 127.0.0.1 to the glob, and probed", (code, body[:300]))
        code, _, body = probe("[::ffff:127.0.0.1]:%d" % right, "v6")
        tap.ok(code == 403, "allow '::/0' (IPv6): the IPv4-mapped [::ffff:127.0.0.1] reaches "
               "127.0.0.1, an IPv4 address: 403", (code, body))
        code, _, body = probe("[0:0::1]:%d" % right, "v6")
        tap.ok(code != 403, "allow '::/0': [0:0::1] is an IPv6 address: allowed", (code, body))
        for target in ("[::ffff:127.0.0.1]:%d" % right, "[::ffff:7F00:1]:%d" % right):
            code, ok, body = probe(target, "cidr")
            tap.ok(ok, "allow 127.0.0.0/8: %s compared as the address it is, probed" % target,
                   (code, body[:300]))
        code, _, body = probe("127.0.0.evil.example:%d" % right, "cidr")
        tap.eq(code, 403, "allow 127.0.0.0/8: a name never matches a range")
        for target in ("app.test:%d" % right, "APP.Test:%d" % right, "app.test.:%d" % right):
            code, ok, body = probe(target, "names")
            tap.ok(ok, "allow 'app.test:*': %s is that name, probed" % target, (code, body[:300]))
        code, _, body = probe("app.test.evil.example:%d" % right, "names")
        tap.eq(code, 403, "allow 'app.test:*': app.test.evil.example is another name: 403")
        run = h.run_caprobe(["exporter", "--check", "--config", ex.path])
        tap.ok(run.rc == 0 and "module 'glob': note: 'allow' pattern '127.0.0.*:*' looks like an "
               "address" in run.stdout and "never a host name" in run.stdout and
               "'::/0' looks like" not in run.stdout, "exporter --check says what an "
               "address-like glob allows", run.describe())
        tap.ok(ex.alive(), "the exporter still runs")



# ---------------------------------------------------------------- URL paths

PATHS_CONFIG = """
modules:
  request:
    options: {tls: "1.2", request: "/", timeout: 5}
    allow: [127.0.0.1]
  paths:
    options: {tls: "1.2", request: "/", timeout: 5}
    allow: [127.0.0.1]
    allow_paths: true
"""


def check_paths(tap, lab, tmp):
    """A URL target's path is the GET that a module with 'request' sends: the requester chooses
    it only where the module says allow_paths. The lab's renegotiate-after-request asks for a
    certificate (renegotiating) on GET /secure alone, so a renegotiation series shows the path
    was sent."""
    port = lab.port("renegotiate-after-request")
    with Exporter(tmp, PATHS_CONFIG, "paths") as ex:
        def probe(target, module):
            code, _, body = http(ex.port, "/probe?" + urllib.parse.urlencode(
                {"target": target, "module": module}))
            phases = sorted(l["phase"] for l, v in expfmt.parse(body).series(
                "caprobe_probe_success") if v == 1.0) if code == 200 else None
            return code, phases, body
        base = "https://127.0.0.1:%d" % port
        for rest in ("/secure?x", "/secure", "?x", "/#top", "#top"):
            code, _, body = probe(base + rest, "request")
            tap.ok(code == 400 and "path, query or fragment" in body and "allow_paths" in body,
                   "%s without allow_paths: 400 saying why" % (base + rest), (code, body))
        code, phases, body = probe(base + "/", "request")
        tap.ok(code == 200 and phases == ["handshake"], "%s/ (no path of its own): the module's "
               "request, no renegotiation" % base, (code, body[:300]))
        code, phases, body = probe(base + "/secure?x", "paths")
        tap.ok(code == 200 and phases == ["handshake", "renegotiation"],
               "allow_paths: true: the URL's path is sent (the lab renegotiates on /secure)",
               (code, body[:600]))
    bad = os.path.join(tmp, "paths-bad.yml")
    with open(bad, "w") as f:
        f.write("modules:\n  m:\n    allow: [127.0.0.1]\n    allow_paths: yes\n")
    run = h.run_caprobe(["exporter", "--check", "--config", bad])
    tap.ok(run.rc == 2 and ":4:18: 'allow_paths' expects true or false, got 'yes'" in run.stderr,
           "allow_paths is true or false", run.describe())



# ---------------------------------------------------------------- out of memory

def check_alloc_failures(tap, lab, tmp):
    """The exporter when malloc fails (tests/integration/failalloc.c, preloaded, fails the
    allocations of a size range while a file says so): the answer of a finished scan that cannot
    be allocated is a static 500, not a connection left open; a connection there is no memory
    for is accepted and closed, and the listener keeps serving; SIGTERM then finds nothing
    open."""
    shim = os.environ.get("CAPROBE_FAILALLOC", "")
    if not os.path.exists(shim):
        tap.skip("allocation failures", "no failalloc library (CAPROBE_FAILALLOC)")
        return
    arm = os.path.join(tmp, "failalloc")
    env = {"LD_PRELOAD": shim, "CAPROBE_FAILALLOC_FILE": arm,
           # the library comes before the sanitizer's runtime and calls it for what it lets pass
           "ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                            ":verify_asan_link_order=0").lstrip(":")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ex = Exporter(tmp, exporter_config(), "alloc").start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def armed(lo, hi):
        with open(arm, "w") as f:
            f.write("%d %d\n" % (lo, hi))

    try:
        # a refused port: an answer of the same size each time (the port has five digits)
        req = b"GET /probe?target=127.0.0.1:%d&module=tls12 HTTP/1.1\r\n\r\n" % h.free_port()
        code, text = raw(ex.port, req)
        size = len(text)  # head and body: the one allocation respond() makes
        tap.ok(code == 200 and len(raw(ex.port, req)[1]) == size,
               "a scan's answer is %d bytes, every time" % size, text[:300])
        armed(size, size)
        code, text = raw(ex.port, req)
        os.unlink(arm)
        tap.ok(code == 500 and text.endswith("\r\n\r\nout of memory\n"),
               "no memory for the answer of a finished scan: a static 500, and the connection "
               "closed", text[:300])
        armed(8192, 1 << 62)  # a connection's state is larger than its 8 KiB request buffer
        got = [raw(ex.port, b"GET /metrics HTTP/1.1\r\n\r\n") for _ in range(2)]
        os.unlink(arm)
        tap.eq(got, [(None, ""), (None, "")], "no memory for a connection: closed unanswered")
        code, text = raw(ex.port, b"GET /metrics HTTP/1.1\r\n\r\n")
        doc = expfmt.parse(text.split("\r\n\r\n", 1)[-1])
        tap.ok(code == 200 and doc.one("caprobe_exporter_errors_total", reason="internal") == 3
               and doc.one("caprobe_exporter_requests_total", path="/probe", code="500") == 1,
               "then the listener still serves, and /metrics counts the three as internal "
               "errors", text[:3000])
        if code != 200:
            return  # a listener that stopped serving: what follows would only wait
        code, _ = raw(ex.port, req)
        tap.eq(code, 200, "and probes again")
        ex.proc.send_signal(signal.SIGTERM)
        try:
            rc = ex.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            rc = None
        tap.eq(rc, 0, "SIGTERM: the exporter exits 0, no connection left open")
    finally:
        ex.stop()



# ---------------------------------------------------------------- concurrency

def check_concurrency(tap, lab, tmp):
    """One slot, one place in the queue: A scans a server that never answers, B waits in the
    queue until its deadline, C finds the queue full."""
    cfg = exporter_config().replace("concurrency: 4", "concurrency: 1").replace("queue: 8",
                                                                                "queue: 1")
    stall = "/probe?target=127.0.0.1:%d" % lab.port("stall")
    with Exporter(tmp, cfg, "concurrency") as ex:
        res = {}

        def get(name, timeout_header):
            res[name] = http(ex.port, stall, {"X-Prometheus-Scrape-Timeout-Seconds":
                                              timeout_header})

        a = threading.Thread(target=get, args=("A", "3"))
        a.start()
        wait_for(lambda: own_metric(ex.port, "caprobe_exporter_probes_in_flight") == 1.0,
                 "A in flight")
        b = threading.Thread(target=get, args=("B", "1.5"))
        b.start()
        wait_for(lambda: own_metric(ex.port, "caprobe_exporter_probes_queued") == 1.0,
                 "B queued")
        code, _, body = http(ex.port, stall)
        tap.ok(code == 503 and "busy" in body, "C, with the slot taken and the queue full: 503",
               (code, body))
        b.join(WAIT)
        a.join(WAIT)
        code, _, body = res.get("B", (None, None, ""))
        tap.ok(code == 503 and "deadline" in body,
               "B: 503 when its deadline passes in the queue", (code, body))
        code, _, body = res.get("A", (None, None, ""))
        doc = expfmt.parse(body)
        outcomes = sorted((l["tls"], l["outcome"], l["error"])
                          for l, _ in doc.series("caprobe_probe_outcome_info"))
        tap.ok(code == 200 and outcomes == [("1.2", "error", "timeout"),
                                            ("1.3", "error", "timeout")] and
               doc.one("caprobe_target_probed") == 0.0,
               "A: 200 with its probes timed out within the scrape's deadline", (code, body))
        tap.eq(own_metric(ex.port, "caprobe_exporter_errors_total", reason="busy"), 2.0,
               "busy counted twice")
        # SIGTERM with a scan in flight (an hour's deadline; the stalling server would close
        # after 30 s, a reset): the scan stops at once, its probes end as timeouts and answer
        def patient():
            res["D"] = http(ex.port, stall + "&module=patient")

        t = threading.Thread(target=patient)
        t.start()
        wait_for(lambda: own_metric(ex.port, "caprobe_exporter_probes_in_flight") == 1.0,
                 "D in flight")
        ex.proc.send_signal(signal.SIGTERM)
        t.join(WAIT)
        code, _, body = res.get("D", (None, None, ""))
        doc = expfmt.parse(body)
        outcomes = sorted((l["tls"], l["outcome"], l["error"])
                          for l, _ in doc.series("caprobe_probe_outcome_info"))
        tap.ok(code == 200 and outcomes == [("1.2", "error", "timeout"),
                                            ("1.3", "error", "timeout")],
               "SIGTERM: the scan in flight stops at once and answers", (code, body[:1500]))
        try:
            rc = ex.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            rc = None
        tap.eq(rc, 0, "SIGTERM: the exporter exits 0")


def check_deadline(tap, lab, tmp):
    """A request that would get its probe slot with too little time left (issue 14): the one
    slot is held by A, a scan of a server that never answers, until A's deadline; B, a scan of a
    healthy server that answers after 1 s (the lab's right-list behind a relay that waits), has
    a deadline 50 ms after A's. Scanning when the slot comes free would time out and report the
    healthy server as failed (probe-failed, caprobe_target_probed 0): B is answered 503 (busy,
    not probed) as soon as it could no longer start with the time a probe needs
    (limits.min_probe_time, 0.5 s by default). A, whose probes the deadline stops, says so in
    the log. A scrape timeout that leaves less than that time at all is 400."""
    cfg = exporter_config().replace("concurrency: 4", "concurrency: 1")
    stall = "/probe?target=127.0.0.1:%d" % lab.port("stall")
    with h.TcpRelay(("127.0.0.1", 0), ("127.0.0.1", lab.port("right-list")), delay=1.0) as slow, \
            Exporter(tmp, cfg, "deadline") as ex:
        healthy = "/probe?target=127.0.0.1:%d" % slow.port
        code, _, body = http(ex.port, healthy, {"X-Prometheus-Scrape-Timeout-Seconds": "5"})
        doc = expfmt.parse(body)
        tap.ok(code == 200 and doc.one("caprobe_target_probed") == 1.0 and
               sorted(v for _, v in doc.series("caprobe_probe_success")) == [1.0, 1.0],
               "the slow server alone, with time enough: probed, both probes succeed",
               (code, body[:1500]))
        code, _, body = http(ex.port, healthy, {"X-Prometheus-Scrape-Timeout-Seconds": "0.6"})
        tap.ok(code == 400 and "less than the 500 ms a probe needs (limits.min_probe_time)"
               in body, "a scrape timeout that leaves 400 ms after the margin: 400, not a "
               "probe sure to fail", (code, body[:500]))
        res = {}

        def get(name, path, timeout_header):
            res[name] = http(ex.port, path, {"X-Prometheus-Scrape-Timeout-Seconds":
                                             timeout_header})

        a = threading.Thread(target=get, args=("A", stall, "2"))
        a.start()
        wait_for(lambda: own_metric(ex.port, "caprobe_exporter_probes_in_flight") == 1.0,
                 "A in flight")
        b = threading.Thread(target=get, args=("B", healthy, "2.05"))
        b.start()
        b.join(WAIT)
        a.join(WAIT)
        code, _, body = res.get("B", (None, None, ""))
        tap.ok(code == 503 and body.startswith("busy: ") and "limits.min_probe_time" in body
               and "not probed" in body,
               "B, whose slot would come with too little time left: 503 busy, not probed (not "
               "a failed probe of a healthy server)", (code, body[:1500]))
        code, _, body = res.get("A", (None, None, ""))
        doc = expfmt.parse(body)
        tap.ok(code == 200 and sorted((l["tls"], l["error"]) for l, _ in doc.series(
            "caprobe_probe_outcome_info")) == [("1.2", "timeout"), ("1.3", "timeout")],
            "A: 200, its probes stopped by the deadline as timeouts", (code, body[:1500]))
        logged = ex._err.wait_for(r"target '127\.0\.0\.1:%d' module 'default': the request's "
                                  r"deadline passed while probing" % lab.port("stall"), WAIT)
        tap.ok(logged is not None, "A: the log says the request's deadline stopped its probes",
               ex.output()[-2000:])
        tap.eq(tuple(own_metric(ex.port, "caprobe_exporter_errors_total", reason=r)
                     for r in ("deadline", "busy", "bad_request")), (1.0, 1.0, 1.0),
               "/metrics: one deadline (A), one busy (B), one bad request (the short timeout)")


ALLOW_ANY_CASES = [
    ('["*"]', "'*'"), ('"*:*"', "'*:*'"), ('["app.example.com:443", "*:443"]', "'*:443'"),
    ('["*.*"]', "'*.*'"), ('["0.0.0.0/0"]', "'0.0.0.0/0'"), ('["[::/0]:443"]', "'[::/0]:443'"),
]


def check_allow_any(tap, lab, tmp):
    """An 'allow' pattern that names no target ('*', '*:*', '*:443', '*.*', 0.0.0.0/0) would
    make an exporter anyone reaches their scanner (issue 14): --check and the start refuse it,
    naming the file, line and column of the pattern, unless the module says allow_any: true, and
    then both warn."""
    for i, (allow, shown) in enumerate(ALLOW_ANY_CASES):
        path = os.path.join(tmp, "any%d.yml" % i)
        with open(path, "w") as f:
            f.write("modules:\n  default:\n    options: {tls: \"1.2\"}\n    allow: %s\n" % allow)
        where = "%s:4:%d: module 'default': 'allow' pattern %s names no target" % (
            path, 12 if allow[0] == '"' else 12 + allow.index(shown.replace("'", '"')),
            shown)
        run = h.run_caprobe(["exporter", "--check", "--config", path])
        tap.ok(run.rc == 2 and where in run.stderr and "allow_any: true" in run.stderr,
               "allow: %s: --check refuses it at its place, naming allow_any" % allow,
               run.describe())
        if i == 0:
            run = h.run_caprobe(["exporter", "--listen", "127.0.0.1:%d" % h.free_port(),
                                 "--config", path])
            tap.ok(run.rc == 2 and where in run.stderr and "listening" not in run.stderr,
                   "allow: %s: the exporter does not start" % allow, run.describe())
    path = os.path.join(tmp, "any-ok.yml")
    with open(path, "w") as f:
        f.write("modules:\n  open:\n    options: {tls: \"1.2\", timeout: 5}\n"
                "    allow: [\"*\"]\n    allow_any: true\n")
    run = h.run_caprobe(["exporter", "--check", "--config", path])
    tap.ok(run.rc == 0 and "%s:2:3: module 'open': warning: 'allow' pattern '*' names no "
           "target and 'allow_any' is true" % path in run.stdout,
           "allow_any: true: usable, with a warning", run.describe())
    with Exporter(tmp, open(path).read(), "any") as ex:
        tap.ok(ex._err.wait_for(r"module 'open': warning: .* 'allow_any' is true", WAIT),
               "... which the exporter repeats when it starts", ex.output())
        code, _, body = http(ex.port, "/probe?module=open&target=127.0.0.1:%d"
                             % lab.port("right-list"))
        tap.ok(code == 200 and doc_success(body), "allow_any: true: the module probes",
               (code, body[:500]))


def doc_success(body):
    return {v for _, v in expfmt.parse(body).series("caprobe_probe_success")} == {1.0}


def check_config_errors(tap, lab, tmp):
    cases = [
        ("modules:\n  default:\n    options: {tls: 1.4}\n    allow: [127.0.0.1]\n",
         ":3:20: module 'default': --tls: expected"),
        ("modules:\n  default:\n    options: {timout: 3}\n    allow: [127.0.0.1]\n",
         ":3:15: unknown key 'timout' in 'options'"),
        ("modules:\n  default:\n    options: {tls: 1.2}\n",
         ":3:5: module 'default' has no 'allow'"),
        ("modules:\n  default:\n    allow: ['10.0.0.0/33']\n",
         ":3:13: 'allow' pattern '10.0.0.0/33'"),
        ("limits: {concurrency: 0}\nmodules: {}\n", ":1:23: 'concurrency' expects a number"),
        ("modules:\n  default:\n    options: {expect-ca: missing.pem}\n    allow: [x]\n",
         "missing.pem"),
        ("limits:\n  queue: 1\n  queue: 2\nmodules: {}\n",
         ":3:3: 'queue' is given twice (first at 2:3)"),
        ("#" * (1024 * 1024) + "\n", ": larger than 1 MiB: is this a configuration?"),
        ("modules: {}\n", ":1:10: 'modules' defines no module"),
        ("modules:\n", ":1:9: 'modules' defines no module"),
    ]
    for i, (text, want) in enumerate(cases):
        path = os.path.join(tmp, "bad%d.yml" % i)
        with open(path, "w") as f:
            f.write(text)
        run = h.run_caprobe(["exporter", "--check", "--config", path])
        tap.ok(run.rc == 2 and want in run.stderr and path in run.stderr,
               "configuration error %d told at its place: %s" % (i, want), run.describe())
        if "defines no module" in want:
            tap.ok("Define at least one, e.g. modules: {default: {allow: [" in run.stderr,
                   "... saying what to write", run.stderr)


def check_examples(tap, lab, tmp):
    """The configurations docs/examples gives are usable as they stand."""
    examples = os.path.join(h.fixtures_dir(), "..", "docs", "examples")
    run = h.run_caprobe(["exporter", "--check", "--config",
                         os.path.join(examples, "caprobe-exporter.yml")])
    tap.ok(run.rc == 0 and "usable" in run.stdout,
           "docs/examples/caprobe-exporter.yml passes caprobe exporter --check", run.describe())
    # the systemd units, with the caprobe built here for /usr/bin/caprobe: systemd-analyze
    # verify checks their settings, that the program exists and that man: pages they name do
    if shutil.which("systemd-analyze") is None:
        tap.skip("systemd-analyze verify", "systemd-analyze not installed (apt-get install "
                 "systemd)")
    else:
        units = os.path.join(tmp, "units")
        os.makedirs(units)
        names = sorted(n for n in os.listdir(examples) if n.endswith((".service", ".timer")))
        for name in names:
            with open(os.path.join(examples, name)) as f:
                text = f.read().replace("/usr/bin/caprobe", h.caprobe_path())
            with open(os.path.join(units, name), "w") as f:
                f.write(text)
        p = subprocess.run(["systemd-analyze", "verify"] +
                           [os.path.join(units, n) for n in names],
                           capture_output=True, timeout=120)
        tap.ok(len(names) == 3 and p.returncode == 0 and not p.stderr.strip(),
               "systemd-analyze verify passes %s" % ", ".join(names),
               (p.stdout.decode(), p.stderr.decode()))
    if shutil.which("promtool") is None:
        tap.skip("promtool check config", "promtool not installed")
        return
    p = subprocess.run(["promtool", "check", "config",
                        os.path.join(examples, "caprobe-prometheus.yml")],
                       capture_output=True, timeout=60)
    tap.ok(p.returncode == 0, "docs/examples/caprobe-prometheus.yml (with caprobe-alerts.yml) "
           "passes promtool check config", (p.stdout.decode(), p.stderr.decode()))


def main():
    return h.lab_main([check_prometheus, check_refusals, check_lookalikes, check_paths,
                       check_alloc_failures, check_concurrency, check_deadline, check_allow_any,
                       check_config_errors,
                       check_examples],
                      "caprobe-exporter-")


if __name__ == "__main__":
    sys.exit(main())
