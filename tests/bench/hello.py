#!/usr/bin/env python3
"""caprobe ClientHello benchmark: the same TLS 1.2 probes opened with caprobe's own capture-only
ClientHello (tls/wire/hello.c, the default) and with mbedTLS's (--client-hello mbedtls), in one
bench run, against one loopback nginx; prints CPU per probe, probes per second and correct
records of each, and their ratios. The figures behind the choice in docs/design.md ("caprobe's
own ClientHello").

A benchmark, not a test: it prints figures and exits 0 unless the bench itself broke. Python 3
standard library only; 127.0.0.0/8 only; every process it starts is killed in `finally`, also on
Ctrl-C or SIGTERM. Run through `make bench-hello`, or:

    python3 tests/bench/hello.py --caprobe build/caprobe [--prefix 20] [--repeat 5] [--quick]

The server: fleet.py's nginx (nginx.conf.in, 2 workers), its "right list" server block
(ssl_verify_client optional + ssl_client_certificate fixtures/pki/issuing.pem: one CA name; TLS
1.2 and 1.3; the EC P-256 fixtures/pki/server.pem), with one listen line per address of
127.7.0.0/P on one port, so that nothing listens beyond 127/8.

The runs: caprobe --tls 1.2 --per-address 0 --timeout 10 --format jsonl-compact 127.7.0.0/P:PORT,
one probe per address (2^(32-P) probes: a literal address has no SNI variant), once with each
ClientHello per round, the two taken in turn (the order swapped every round) so that a change
in the machine's other load hits both alike; --repeat rounds (5). Per run:
  CPU      user + system of the caprobe process (wait4 rusage) / probes; nginx's CPU during the
           run is printed beside it (from /proc), and what else the machine did (/proc/stat)
  rate     probes / wall (spawn to exit)
  correct  records whose observation is certificate_request with exactly the issuing CA's name
The medians of the rounds are compared (nginx's CPU too, and the suite it chose); every run is
printed.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import resource
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet as F  # noqa: E402

NET = "127.7.0.0"
MODES = (("caprobe", []), ("mbedtls", ["--client-hello", "mbedtls"]))


def machine_busy():
    """CPU-seconds all CPUs spent not idle so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / hz


def start_nginx(tmp, net, listen_opts="", conns=0):
    """fleet.py's nginx with one "right list" listen line per address of net on one port (each
    line followed by listen_opts, e.g. "backlog=4096"), room for conns connections in flight
    in each worker (at least 2 per address and 1024 more). Returns (nginx, port)."""
    last = ""
    for _ in range(3):
        port, p_dump, p_none, p_empty = F.free_ports(4)
        right = ["%s:%d%s" % (a, port, " " + listen_opts if listen_opts else "") for a in net]
        listens = {"right": right, "dump": ["127.0.0.1:%d" % p_dump],
                   "none": ["127.0.0.1:%d" % p_none], "empty": ["127.0.0.1:%d" % p_empty]}
        nginx = F.Nginx(os.path.join(tmp, "nginx"))
        ready = [(str(net[0]), port), (str(net[-1]), port)]
        if nginx.start(listens, max(conns, 2 * len(right)) + 1024, ready, limit=60.0):
            return nginx, port
        last = nginx.error
        if "in use" not in last:
            break
    raise F.BenchError("nginx did not start:\n" + last)


class Run:
    def __init__(self, mode, r, nginx_cpu, busy, probes, correct, wrong):
        self.mode, self.r, self.nginx_cpu, self.busy = mode, r, nginx_cpu, busy
        self.probes, self.correct, self.wrong = probes, correct, wrong

    @property
    def cpu_ms(self):
        return 1000.0 * self.r.cpu / self.probes

    @property
    def rate(self):
        return self.probes / self.r.wall


def tally(out, want_sha):
    """caprobe's JSON Lines in the file out: (observations that are a certificate_request naming
    exactly the CA whose name hashes to want_sha, {what else: count}, {cipher suite: count})."""
    correct, wrong, suites = 0, {}, {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            for o in rec["observations"]:
                suite = (o.get("tls") or {}).get("cipher_suite", "-")
                suites[suite] = suites.get(suite, 0) + 1
                cr = o.get("certificate_request") or {}
                cas = [c["sha256"] for c in cr.get("cas", [])]
                if o["outcome"] == "certificate_request" and cas == [want_sha]:
                    correct += 1
                else:
                    key = o["outcome"] + (" " + o["error"]["kind"] if "error" in o else "")
                    wrong[key] = wrong.get(key, 0) + 1
    return correct, wrong, suites


def one_run(caprobe, tmp, nginx, port, prefix, probes, mode, extra, want_sha, tls="1.2",
            net=NET):
    out = os.path.join(tmp, "%s.jsonl" % mode)
    err = os.path.join(tmp, "%s.err" % mode)
    argv = [caprobe, "--tls", tls, "--per-address", "0", "--timeout", "10", "--no-progress",
            "--format", "jsonl-compact", "-c", "1024"] + extra + \
        ["%s/%d:%d" % (net, prefix, port)]
    n0, m0 = nginx.cpu(), machine_busy()
    r = F.run_process(argv, out, 600.0, err_path=err, keep_out=False)
    nginx_cpu, busy = nginx.cpu() - n0, machine_busy() - m0
    correct, wrong, suites = tally(out, want_sha)
    if r.killed or r.status not in (0, 1 << 8):
        raise F.BenchError("%s run ended with status %s%s:\n%s" % (
            mode, r.status, " (killed)" if r.killed else "", F._tail(err, 5)))
    run = Run(mode, r, nginx_cpu, busy, probes, correct, wrong)
    run.suites = suites
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--caprobe", default=os.path.join(F.ROOT, "build", "caprobe"))
    ap.add_argument("--prefix", type=int, default=20,
                    help="probe 127.7.0.0/P, one probe per address (default 20: 4,096)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="a /24, 2 rounds (a smoke run)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    if args.quick:
        args.prefix, args.repeat = max(args.prefix, 24), min(args.repeat, 2)
    if not 16 <= args.prefix <= 28 or not 1 <= args.repeat <= 15:
        ap.error("--prefix 16..28, --repeat 1..15")
    caprobe = os.path.abspath(args.caprobe)
    if not F.caprobe_supports(caprobe, "--client-hello"):
        print("hello.py: %s has no --client-hello" % caprobe, file=sys.stderr)
        return 1
    F.interrupt_on_signals()
    net = list(ipaddress.IPv4Network("%s/%d" % (NET, args.prefix)))
    probes = len(net)
    tmp = tempfile.mkdtemp(prefix="caprobe-bench-hello-")
    nginx = None
    try:
        want_sha = hashlib.sha256(F.cert_subject(
            F.pem_certs(os.path.join(F.PKI, "issuing.pem"))[0])).hexdigest()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        print("caprobe ClientHello benchmark: %d CPUs, kernel %s, RLIMIT_NOFILE %d/%d" % (
            os.cpu_count(), os.uname().release, soft, hard))
        print("  " + "; ".join("%s: %s" % kv for kv in F.versions(caprobe).items()))
        nginx, port = start_nginx(tmp, net)
        print("  nginx on %s/%d port %d (one listen line per address, 2 workers); %d probes per "
              "run, TLS 1.2, %d rounds" % (NET, args.prefix, port, probes, args.repeat))
        runs = {m: [] for m, _ in MODES}
        for rnd in range(args.repeat):
            order = MODES if rnd % 2 == 0 else MODES[::-1]
            for mode, extra in order:
                run = one_run(caprobe, tmp, nginx, port, args.prefix, probes, mode, extra,
                              want_sha)
                runs[mode].append(run)
                print("  round %d %-8s wall %6.2f s  %7.0f probes/s  caprobe CPU %.3f ms/probe"
                      "  nginx %.3f ms/probe  machine busy %.1f CPU-s  correct %d/%d%s" % (
                          rnd + 1, mode, run.r.wall, run.rate, run.cpu_ms,
                          1000.0 * run.nginx_cpu / probes, run.busy, run.correct, probes,
                          "  other: %s" % run.wrong if run.wrong else ""))
                sys.stdout.flush()
        med = {m: (statistics.median(x.cpu_ms for x in rs), statistics.median(x.rate for x in rs),
                   min(x.correct for x in rs)) for m, rs in runs.items()}
        print()
        print("| ClientHello | caprobe CPU per probe | nginx CPU per probe | probes/s | "
              "correct (worst run) | suite nginx chose |")
        print("|---|---|---|---|---|---|")
        for m, _ in MODES:
            c, rate, ok = med[m]
            ng = statistics.median(1000.0 * x.nginx_cpu / probes for x in runs[m])
            suite = max(runs[m][-1].suites.items(), key=lambda kv: kv[1])[0]
            print("| %s | %.3f ms | %.3f ms | %.0f | %d/%d | %s |" % (
                "caprobe's own (default)" if m == "caprobe" else "mbedTLS's (--client-hello "
                "mbedtls)", c, ng, rate, ok, probes, suite))
        own, mb = med["caprobe"], med["mbedtls"]
        print()
        print("caprobe's own ClientHello: %.2fx the CPU per probe of mbedTLS's, %.2fx its probes "
              "per second" % (own[0] / mb[0], own[1] / mb[1]))
        return 0
    except KeyboardInterrupt:
        print("\nhello.py: interrupted", file=sys.stderr)
        return 130
    except F.BenchError as e:
        print("hello.py: bench broke: %s" % e, file=sys.stderr)
        return 1
    finally:
        F.end_bench(tmp, args.keep, nginx)


if __name__ == "__main__":
    sys.exit(main())
