#!/usr/bin/env python3
"""caprobe --format openmetrics (docs/metrics.md) over the lab (fixtures/lab/lab.yaml): the text
passes `promtool check metrics` (Prometheus text), node_exporter's own textfile collector serves
every series of it, and a strict reader of both formats (expfmt.py) finds nothing wrong; label values with quotes, backslashes and
control characters are escaped; every figure agrees with the certificates the lab was given and
with the same scan's JSON Lines; and docs/examples/caprobe-alerts.yml passes `promtool test
rules` with input series taken from this scan's output (generated here, not a golden file) and
an exporter down in every job of docs/examples/caprobe-prometheus.yml that scrapes it, while a
broken copy of a rule fails it. Emits TAP."""

import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expfmt  # noqa: E402
import harness as h  # noqa: E402

ALERTS = os.path.join(h.fixtures_dir(), "..", "docs", "examples", "caprobe-alerts.yml")
PROMETHEUS = os.path.join(h.fixtures_dir(), "..", "docs", "examples", "caprobe-prometheus.yml")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Endpoints that answer within a second (stall and trickle wait for their deadlines)
ENDPOINTS = ["right-list", "root-dump", "empty-list", "no-request", "nt-authority", "oversized",
             "malformed-names", "tiny-records", "root-dump-truncated-16k", "tls10-only", "ssl3-only",
             "reset", "close", "garbage", "alert", "oversized-record", "overflow-64k"]
# Lines of the -i file that are not targets: their text becomes the target label, escaped.
BAD_LINES = ['bad"quote', 'back\\slash', 'both\\"x', "ctl\x01char", "latin1-\xe9"]


def fnv1a64(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def list_id(subjects):
    """tls/wire/digestset.h's list id from its definition: FNV-1a 64 over the distinct SHA-256 of
    the names, in ascending order."""
    h = 0xcbf29ce484222325
    for d in sorted({hashlib.sha256(s).digest() for s in subjects}):
        h = fnv1a64(d, h)
    return "%016x" % h


def subjects(path):
    return [h.cert_subject_der(c) for c in h.pem_certs(path)]


def promtool():
    return shutil.which("promtool")


def scan(lab, tmp, fmt):
    """One scan of the endpoints and the bad lines; returns (Run, output text)."""
    inp = os.path.join(tmp, "targets.txt")
    with open(inp, "wb") as f:
        for n in ENDPOINTS:
            f.write(b"127.0.0.1:%d\n" % lab.port(n))
        f.write(b"app.lab.test:%d\n" % lab.port("sni-vs-nosni"))
        for line in BAD_LINES:
            f.write(line.encode("latin-1") + b"\n")
    out = os.path.join(tmp, "scan." + fmt)
    run = h.run_caprobe(["--timeout", "3", "--expect-ca", h.pki("issuing.pem"),
                         "--resolve", "app.lab.test:%d:127.0.0.1" % lab.port("sni-vs-nosni"),
                         "-i", inp, "--format", fmt, "-o", out], timeout=120)
    with open(out, encoding="utf-8") as f:
        return run, f.read()


def check_textfile(tap, lab, tmp, state):
    run, text = scan(lab, tmp, "openmetrics")
    state["text"] = text
    tap.ok(run.rc in (0, 1, 2), "openmetrics scan ran (exit %s)" % run.rc, run.describe())
    path = os.path.join(tmp, "scan.openmetrics")
    if promtool():
        with open(path, "rb") as f:
            p = subprocess.run([promtool(), "check", "metrics"], stdin=f, capture_output=True,
                               timeout=60)
        tap.ok(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
               "promtool check metrics passes the textfile (Prometheus text, as node_exporter "
               "reads it)", (p.returncode, p.stdout.decode()[:2000], p.stderr.decode()[:2000]))
    else:
        tap.skip("promtool check metrics", "promtool not installed (apt-get install prometheus)")
    doc = expfmt.parse(text)
    state["doc"] = doc
    tap.eq(doc.problems, [], "the text is valid OpenMetrics and Prometheus text (strict reader)")
    tap.ok(all(f["type"] == "gauge" and f["help"] for f in doc.families.values()),
           "every family is a gauge with HELP", doc.families)

    # escaping: the target label of each bad line is the line as caprobe shows it, escaped so
    # that it reads back exactly (quotes and backslashes), controls and invalid bytes as \xNN
    shown = {'bad"quote': 'bad"quote', 'back\\slash': 'back\\slash', 'both\\"x': 'both\\"x',
             "ctl\x01char": "ctl\\x01char", "latin1-\xe9": "latin1-\\xe9"}
    probed = {l["target"]: v for l, v in doc.series("caprobe_target_probed")}
    for line, want in shown.items():
        tap.eq(probed.get(want), 0.0, "bad line %r: target label reads back as %r, probed 0"
               % (line, want), sorted(probed))
    tap.ok('target="bad\\"quote"' in text and 'target="back\\\\slash"' in text and
           'target="both\\\\\\"x"' in text and 'target="ctl\\\\x01char"' in text,
           "quotes and backslashes escaped in the text itself",
           [l for l in text.splitlines() if "caprobe_target_probed" in l and "127.0.0.1" not in l])
    tap.ok("\x01" not in text and "\xe9" not in text, "no control character or invalid byte "
           "from a target line reaches the text")

    # figures against the certificates the lab advertises
    t = "127.0.0.1:%d" % lab.port("right-list")
    issuing = subjects(h.pki("issuing.pem"))
    v12 = dict(target=t, tls="1.2", phase="handshake", sni="")
    tap.eq(doc.one("caprobe_probe_ca_names", **v12), float(len(issuing)),
           "right-list: caprobe_probe_ca_names is the issuing CA file's count")
    tap.eq(doc.one("caprobe_probe_ca_list_bytes", **v12),
           float(sum(len(s) + 2 for s in issuing)),
           "right-list: caprobe_probe_ca_list_bytes is the names' DER with their lengths")
    ids = [l["list_id"] for l, _ in doc.series("caprobe_probe_ca_list_info", **v12)]
    tap.eq(ids, [list_id(issuing)], "right-list: list_id is FNV-1a 64 over the sorted SHA-256")
    certs = [l["sha256"] for l, _ in doc.series("caprobe_probe_server_certificate_info", **v12)]
    tap.eq(certs, [hashlib.sha256(h.pem_certs(h.pki("server.pem"))[0]).hexdigest()],
           "right-list: the server certificate's SHA-256 (fixtures/pki/server.pem)")
    tap.eq(doc.one("caprobe_probe_certificate_request", **v12), 1.0,
           "right-list: the server asked for a certificate")
    t = "127.0.0.1:%d" % lab.port("root-dump")
    bundle = subjects(SYSTEM_BUNDLE)
    d12 = dict(target=t, tls="1.2", phase="handshake")
    tap.eq((doc.one("caprobe_probe_ca_names", **d12),
            doc.one("caprobe_probe_ca_list_bytes", **d12),
            [l["list_id"] for l, _ in doc.series("caprobe_probe_ca_list_info", **d12)]),
           (float(len(bundle)), float(sum(len(s) + 2 for s in bundle)), [list_id(bundle)]),
           "root-dump: names, bytes and list id of the system bundle")
    tap.eq(doc.one("caprobe_target_findings", target=t, rule="root-store-dump",
                   severity="high"), 1.0, "root-dump: root-store-dump at high")
    t = "127.0.0.1:%d" % lab.port("no-request")
    tap.eq(doc.one("caprobe_probe_certificate_request", target=t, tls="1.2"), 0.0,
           "no-request: caprobe_probe_certificate_request 0")
    tap.eq(doc.series("caprobe_probe_ca_names", target=t), [],
           "no-request: no names series without a request")
    sni = "app.lab.test:%d" % lab.port("sni-vs-nosni")
    tap.eq(doc.one("caprobe_probe_ca_names", target=sni, sni="app.lab.test", tls="1.2"),
           float(len(issuing)), "sni-vs-nosni: the SNI variant (label sni) has the issuing CA")

    # the same scan as JSON Lines: findings, outcomes and durations agree record by record
    jrun, jtext = scan(lab, tmp, "jsonl")
    recs, err = h.parse_jsonl(jtext)
    tap.ok(err is None and len(recs) == len(ENDPOINTS) + 1 + len(BAD_LINES),
           "the JSON Lines scan: one record per line", err or len(recs))
    bad = []
    for r in recs:
        if "observations" not in r:
            continue
        want = {}
        for f in r.get("findings", []):
            want[(f["rule"], f["severity"])] = want.get((f["rule"], f["severity"]), 0) + 1
        got = {(l["rule"], l["severity"]): int(v)
               for l, v in doc.series("caprobe_target_findings", target=r["target"])}
        if got != want:
            bad.append((r["target"], "findings", got, want))
        for o in r["observations"]:
            key = dict(target=r["target"], address=o.get("address", ""), sni=o.get("sni") or "",
                       tls=o["tls_max"], phase=o["phase"])
            kind = o.get("error", {}).get("kind", "")
            outc = [(l["outcome"], l["error"]) for l, _ in
                    doc.series("caprobe_probe_outcome_info", **key)]
            if outc != [(o["outcome"], kind)]:
                bad.append((key, "outcome", outc, (o["outcome"], kind)))
            # a declined version is an answer only beside a probe that got one (metrics.md)
            probed = any(x["outcome"] != "error" for x in r["observations"])
            ok = o["outcome"] != "error" or (kind == "version_not_offered" and probed)
            if doc.one("caprobe_probe_success", **key) != (1.0 if ok else 0.0):
                bad.append((key, "success", doc.one("caprobe_probe_success", **key)))
            cr = o.get("certificate_request")
            if cr and doc.one("caprobe_probe_ca_names", **key) != float(cr["ca_count"]):
                bad.append((key, "ca_names", doc.one("caprobe_probe_ca_names", **key), cr))
    tap.eq(bad, [], "findings by rule and severity, outcomes, error kinds and name counts "
           "agree with the JSON Lines of the same scan")


# A TLS alert record (RFC 8446 6, RFC 5246 7.2): fatal (2), protocol_version (70)
PROTOCOL_VERSION_ALERT = b"\x15\x03\x03\x00\x02\x02\x46"


def check_declined(tap, lab, tmp, state):
    """caprobe_probe_success against servers that decline TLS versions (issue 14): one that
    declines every version probed (a scripted server answering each ClientHello with a
    protocol_version alert; the lab's ssl3-only, whose ServerHello picks SSL 3.0) has probe
    success 0 on every probe, as its caprobe_target_probed 0 and probe-failed say: nothing is
    known of its list. A server that declines TLS 1.3 and answers TLS 1.2 (the lab's tls10-only
    answers with TLS 1.0) has success 1 on both. In every target of the lab's scan,
    caprobe_target_probed is the largest caprobe_probe_success of its probes."""
    with h.BadServer("reply", payload=PROTOCOL_VERSION_ALERT) as alert:
        targets = {"alert": "127.0.0.1:%d" % alert.port,
                   "ssl3-only": "127.0.0.1:%d" % lab.port("ssl3-only"),
                   "tls10-only": "127.0.0.1:%d" % lab.port("tls10-only")}
        run = h.run_caprobe(["--timeout", "5", "--format", "openmetrics"] +
                            sorted(targets.values()), timeout=120)
    doc = expfmt.parse(run.stdout)
    tap.eq(doc.problems, [], "the scan of the declining servers is valid OpenMetrics",
           run.describe())
    for name in ("alert", "ssl3-only"):
        t = targets[name]
        got = (doc.one("caprobe_target_probed", target=t),
               sorted((l["tls"], v) for l, v in doc.series("caprobe_probe_success", target=t)),
               sorted((l["tls"], l["error"]) for l, _ in
                      doc.series("caprobe_probe_outcome_info", target=t)),
               [l["rule"] for l, _ in doc.series("caprobe_target_findings", target=t)
                if l["rule"] == "probe-failed"])
        tap.eq(got, (0.0, [("1.2", 0.0), ("1.3", 0.0)],
                     [("1.2", "version_not_offered"), ("1.3", "version_not_offered")],
                     ["probe-failed"]),
               "%s declines every version probed: caprobe_probe_success 0 on each probe, as "
               "caprobe_target_probed 0 and probe-failed say" % name, run.stdout[:3000])
    t = targets["tls10-only"]
    errors = {l["tls"]: l["error"] for l, _ in doc.series("caprobe_probe_outcome_info", target=t)}
    success = {l["tls"]: v for l, v in doc.series("caprobe_probe_success", target=t)}
    got = (doc.one("caprobe_target_probed", target=t),
           sorted((tls, errors.get(tls), v) for tls, v in success.items()))
    tap.eq(got, (1.0, [("1.2", "", 1.0), ("1.3", "version_not_offered", 1.0)]),
           "tls10-only answers the TLS 1.2 probe and declines TLS 1.3: success 1 on both, "
           "target probed", run.stdout[:3000])
    # the lab's scan (check_textfile): probed is the largest success of a target's probes
    lab_doc = state["doc"]
    bad = []
    for labels, v in lab_doc.series("caprobe_target_probed"):
        succ = [s for _, s in lab_doc.series("caprobe_probe_success", target=labels["target"],
                                             starttls=labels["starttls"])]
        if succ and max(succ) != v:
            bad.append((labels["target"], v, succ))
    tap.eq(bad, [], "in every target of the lab's scan, caprobe_target_probed is the largest "
           "caprobe_probe_success of its probes")


def check_node_exporter(tap, lab, tmp, state):
    """The textfile as node_exporter itself reads it: its textfile collector (its own
    instance, on a free port, reading only a folder of the test's) serves every series of the
    file and reports no parse error."""
    exe = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if exe is None:
        tap.skip("node_exporter reads the textfile", "prometheus-node-exporter not installed")
        return
    folder = os.path.join(tmp, "textfile")
    os.makedirs(folder)
    with open(os.path.join(folder, "caprobe.prom"), "w", encoding="utf-8") as f:
        f.write(state["text"])
    for _ in range(5):  # another bind may take the free port meanwhile
        port = h.free_port()
        proc = subprocess.Popen([exe, "--collector.disable-defaults", "--collector.textfile",
                                 "--collector.textfile.directory=" + folder,
                                 "--web.listen-address=127.0.0.1:%d" % port],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=h._die_with_parent)
        try:
            if h.wait_accepting(port, timeout=30):
                import urllib.request
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=30) as r:
                    served = r.read().decode("utf-8")
                break
        finally:
            h.kill_group(proc)
    else:
        tap.ok(False, "node_exporter started")
        return
    tap.ok("node_textfile_scrape_error 0" in served, "node_exporter read the textfile without "
           "error (node_textfile_scrape_error 0)",
           [l for l in served.splitlines() if "textfile" in l])
    # node_exporter re-renders the series (labels sorted): compare them as parsed data
    doc = state["doc"]
    want = sorted((n, tuple(sorted(l.items())), v) for n, l, v in doc.samples)
    got = expfmt.parse(served + "# EOF\n")
    got = sorted((n, tuple(sorted(l.items())), v) for n, l, v in got.samples
                 if n.startswith("caprobe_"))
    tap.eq(len(got), len(want), "node_exporter serves every series of the file")
    tap.ok(got == want, "... with the same labels (escaped values read back) and values",
           [x for x in want if x not in got][:5])


# ---------------------------------------------------------------- promtool test rules

def rule_annotations(rule, labels, own_up=None):
    """The rule's annotations with {{ $labels.X }} filled in. One form more, CaprobeExporterDown's
    description, chooses by the job and by what its query of the exporter's own job finds
    (own_up): {{ if eq $labels.job "OWN" }}DOWN{{ else }}{{ with query `...` }}REFUSED
    {{ else }}UNSCRAPED{{ end }}{{ end }}TAIL; the test says which branch it expects, promtool
    evaluates the template."""
    import re
    out = {}
    for k, v in rule.get("annotations", {}).items():
        m = re.fullmatch(r'\{\{ if eq \$labels\.job "([^"]+)" \}\}(.*?)\{\{ else \}\}'
                         r'\{\{ with query `[^`]*` \}\}(.*?)\{\{ else \}\}(.*?)'
                         r'\{\{ end \}\}\{\{ end \}\}(.*)', v, re.S)
        if m:
            own, down, refused, unscraped, tail = m.groups()
            v = (down if labels.get("job") == own else refused if own_up else unscraped) + tail
        out[k] = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), v)
    return out


def load_rules(path):
    """The rules of the alerts file by name (a minimal YAML reader is not needed: promtool
    itself reads the file; python3-yaml is used when present, else the test says so)."""
    import yaml  # python3-yaml, a dependency of python3-jsonschema's tools? checked by caller
    with open(path) as f:
        doc = yaml.safe_load(f)
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def exporter_jobs(path):
    """The scrape jobs of the example Prometheus configuration that reach caprobe's exporter:
    its address is where the 'caprobe' job's relabeling sends the scrape, and a job reaches it
    through its own relabeling or by scraping it directly. [(job, an instance)]"""
    import yaml
    with open(path) as f:
        jobs = yaml.safe_load(f)["scrape_configs"]

    def sent_to(job):
        return [r["replacement"] for r in job.get("relabel_configs", [])
                if r.get("target_label") == "__address__"]

    def targets(job):
        return [t for c in job.get("static_configs", []) for t in c.get("targets", [])]

    exporter = sent_to([j for j in jobs if j["job_name"] == "caprobe"][0])[0]
    return [(j["job_name"], targets(j)[0]) for j in jobs
            if exporter in sent_to(j) or exporter in targets(j)]


def relabel(labels, target, address="192.0.2.10"):
    out = dict(labels)
    out["target"] = target
    if "address" in out:
        out["address"] = address
    return out


def rules_test(doc, rules, rules_path):
    """A promtool test file from the scan's series, and the alerts each rule must give."""
    series = []     # (name, labels, values)
    tests = []

    def add(name, labels, values):
        series.append((name, labels, values))

    def expect(alertname, at, labels_list, own_up=None, into=tests):
        rule = rules[alertname]
        alerts = []
        for labels in labels_list:
            # Prometheus drops a label whose value is empty (sni="", starttls="")
            lab = {k: v for k, v in labels.items() if v != ""}
            lab.update(rule.get("labels", {}))
            lab["alertname"] = alertname
            alerts.append({"exp_labels": {k: v for k, v in lab.items() if k != "alertname"},
                           "exp_annotations": rule_annotations(rule, lab, own_up)})
        into.append({"eval_time": at, "alertname": alertname, "exp_alerts": alerts})

    # every findings series of the scan, for three hours: only root-store-dump and
    # expected-ca-missing series give their alerts (after their 'for')
    findings = doc.series("caprobe_target_findings")
    for labels, v in findings:
        add("caprobe_target_findings", labels, "%gx180" % v)
    expect("CaprobeRootStoreDump", "10m",
           [l for l, v in findings if l["rule"] == "root-store-dump" and v > 0])
    expect("CaprobeExpectedCaMissing", "10m",
           [l for l, v in findings if l["rule"] == "expected-ca-missing" and v > 0])
    # every target's probed series: those at 0 give CaprobeProbeFailing after 15m, not before
    probed = doc.series("caprobe_target_probed")
    for labels, v in probed:
        add("caprobe_target_probed", labels, "%gx180" % v)
    expect("CaprobeProbeFailing", "10m", [])
    expect("CaprobeProbeFailing", "20m", [l for l, v in probed if v == 0])

    # history made of two real variants: 'renewed' shows right-list's list and certificate for
    # 90 minutes, then nt-authority's (another list, another certificate); 'edited' shows
    # right-list's, then root-dump's (another list, the same certificate)
    def variant(name):
        key = dict(tls="1.2", phase="handshake", sni="")
        lists = [(l, v) for l, v in doc.series("caprobe_probe_ca_list_info", **key)
                 if l["target"] == name]
        certs = [(l, v) for l, v in doc.series("caprobe_probe_server_certificate_info", **key)
                 if l["target"] == name]
        return lists[0][0], certs[0][0]

    state = rules_test.lab
    right = variant("127.0.0.1:%d" % state.port("right-list"))
    nta = variant("127.0.0.1:%d" % state.port("nt-authority"))
    dump = variant("127.0.0.1:%d" % state.port("root-dump"))
    for target, before, after in (("renewed.example:443", right, nta),
                                  ("edited.example:443", right, dump)):
        for i, name in enumerate(("caprobe_probe_ca_list_info",
                                  "caprobe_probe_server_certificate_info")):
            b, a = relabel(before[i], target), relabel(after[i], target)
            if b == a:
                add(name, b, "1x180")
            else:
                add(name, b, "1x89 _x91")
                add(name, a, "_x90 1x90")
    renewed_after = relabel(nta[0], "renewed.example:443")
    edited_after = relabel(dump[0], "edited.example:443")
    expect("CaprobeCaListChangedWithCertificate", "80m", [])
    expect("CaprobeCaListChangedWithCertificate", "100m", [renewed_after])
    expect("CaprobeCaListChanged", "100m", [edited_after])
    expect("CaprobeCaListChanged", "170m", [])  # an hour later the change is old news

    # node_exporter's mtime of the textfile: rewritten until 60m, then no more
    mtime = {"file": "/var/lib/prometheus/node-exporter/caprobe.prom", "instance": "n:9100",
             "job": "node"}
    add("node_textfile_mtime_seconds", mtime, "0+60x60 3600x120")
    expect("CaprobeTextfileStale", "100m", [])
    expect("CaprobeTextfileStale", "130m", [mtime])

    # the exporter down: 'up' of every job of the example configuration that scrapes it (a
    # target's job, a module's job, the exporter's own), from 31m on; the description says the
    # exporter does not answer, in its own job and in the others
    jobs = exporter_jobs(PROMETHEUS)
    for job, instance in jobs:
        add("up", {"job": job, "instance": instance}, "1x30 0x150")
    expect("CaprobeExporterDown", "30m", [])
    expect("CaprobeExporterDown", "40m", [{"job": j, "instance": i} for j, i in jobs],
           own_up=False)

    # a second history: the exporter is up (its own job scraped) and refuses one target of each
    # /probe job from 31m on (a 403: not in its allow list); the alert fires for those alone,
    # saying the exporter refuses, not that it is down
    refused_series, refused_tests = [], []
    for job, instance in jobs:
        refused_series.append(("up", {"job": job, "instance": instance}, "1x180"))
        if job != "caprobe-exporter":
            refused_series.append(("up", {"job": job, "instance": "refused.example:443"},
                                   "1x30 0x150"))
    expect("CaprobeExporterDown", "30m", [], into=refused_tests)
    expect("CaprobeExporterDown", "40m",
           [{"job": j, "instance": "refused.example:443"} for j, _ in jobs
            if j != "caprobe-exporter"], own_up=True, into=refused_tests)

    def yq(s):
        return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')

    lines = ["rule_files:", "  - %s" % yq(rules_path), "evaluation_interval: 1m", "tests:"]
    for group_series, group_tests in ((series, tests), (refused_series, refused_tests)):
        test_group(lines, yq, group_series, group_tests)
    return "\n".join(lines) + "\n", tests + refused_tests


def test_group(lines, yq, series, tests):
    """One test of a promtool test file, its input series and alert cases, onto lines."""
    lines += ["  - interval: 1m", "    input_series:"]
    for name, labels, values in series:
        lines.append("      - series: %s" % yq(expfmt.selector(name, labels)))
        lines.append("        values: %s" % yq(values))
    lines.append("    alert_rule_test:")
    for t in tests:
        lines.append("      - eval_time: %s" % t["eval_time"])
        lines.append("        alertname: %s" % t["alertname"])
        lines.append("        exp_alerts:" + ("" if t["exp_alerts"] else " []"))
        for a in t["exp_alerts"]:
            lines.append("          - exp_labels:")
            for k, v in sorted(a["exp_labels"].items()):
                lines.append("              %s: %s" % (k, yq(v)))
            lines.append("            exp_annotations:")
            for k, v in sorted(a["exp_annotations"].items()):
                lines.append("              %s: %s" % (k, yq(v)))


def check_rules(tap, lab, tmp, state):
    if not promtool():
        tap.skip("promtool test rules", "promtool not installed (apt-get install prometheus)")
        return
    try:
        rules = load_rules(ALERTS)
    except ImportError:
        tap.skip("promtool test rules", "python3-yaml is not installed")
        return
    doc = state["doc"]
    rules_test.lab = lab
    text, tests = rules_test(doc, rules, os.path.abspath(ALERTS))
    path = os.path.join(tmp, "caprobe-alerts.test.yml")
    with open(path, "w") as f:
        f.write(text)
    tap.ok(all(t["exp_alerts"] for t in tests if t["eval_time"] in ("10m",)
               and t["alertname"] != "CaprobeProbeFailing"),
           "the scan has root-store-dump and expected-ca-missing findings to alert on")
    # what CaprobeExporterDown says is true for each cause: both summaries name both causes;
    # the description of a refused target says the exporter refuses, with the statuses, and
    # that of a silent exporter says it does not answer; both say where the reason is
    fired = [(a["exp_labels"]["instance"] == "refused.example:443", a["exp_annotations"])
             for t in tests if t["alertname"] == "CaprobeExporterDown" for a in t["exp_alerts"]]
    tap.ok(len(fired) == 5 and all(
        "does not answer, or it refuses" in ann.get("summary", "") and
        "log line" in ann.get("description", "") and "curl" in ann.get("description", "") and
        (("so it refuses this request: 403" in ann["description"] and
          "down" not in ann["description"]) if refused else
         ("down" in ann["description"] and "so it refuses" not in ann["description"]))
        for refused, ann in fired),
        "CaprobeExporterDown: its summary holds for both causes, and its description tells a "
        "refused target (403, the exporter up) from an exporter that does not answer, and "
        "where the reason is", fired)
    jobs = sorted(j for j, _ in exporter_jobs(PROMETHEUS))
    tap.eq(jobs, ["caprobe", "caprobe-exporter", "caprobe-smtp"],
           "caprobe-prometheus.yml scrapes the exporter in three jobs; CaprobeExporterDown is "
           "tested on each")
    p = subprocess.run([promtool(), "test", "rules", path], capture_output=True, timeout=120)
    tap.ok(p.returncode == 0, "promtool test rules: the alerts fire exactly for the scan's "
           "series (%d series, %d cases)" % (text.count("- series:"), len(tests)),
           (p.stdout.decode()[-3000:], p.stderr.decode()[-3000:]))
    # a copy whose renewal rule forgets the certificate must fail the same test
    with open(ALERTS) as f:
        broken = f.read().replace(
            "caprobe_probe_server_certificate_info\n            unless on (target, starttls, "
            "address, sni, tls, phase, sha256)\n              caprobe_probe_server_certificate_info"
            " offset 1h\n          )\n        labels:",
            "caprobe_probe_server_certificate_info\n          )\n        labels:", 1)
    tap.ok(broken != open(ALERTS).read(), "the broken copy differs from the rules")
    bpath = os.path.join(tmp, "broken-alerts.yml")
    with open(bpath, "w") as f:
        f.write(broken)
    btext, _ = rules_test(doc, rules, bpath)
    with open(path, "w") as f:
        f.write(btext)
    p = subprocess.run([promtool(), "test", "rules", path], capture_output=True, timeout=120)
    tap.ok(p.returncode != 0 and b"CaprobeCaListChangedWithCertificate" in p.stdout + p.stderr,
           "promtool test rules fails on a rule that ignores the certificate",
           (p.stdout.decode()[-2000:], p.stderr.decode()[-2000:]))


def main():
    return h.lab_main([check_textfile, check_declined, check_node_exporter, check_rules],
                      "caprobe-metrics-",
                      {})


if __name__ == "__main__":
    sys.exit(main())
