#!/usr/bin/env python3
"""The resolver stage end to end: caprobe looking up host names with c-ares against a DNS server
the test starts on loopback (tests/dnsserver.py through harness.DnsServer), and against the
system's /etc/hosts and /etc/resolv.conf in a private mount and network namespace.

The oracle is the zone: the addresses a name has there are the addresses caprobe must probe, the
rcode it answers is the error caprobe must report, and the server's query log says what caprobe
asked. Checks: answers (A, AAAA, both, 40 addresses, more than the cap), NXDOMAIN, SERVFAIL,
REFUSED, NODATA with -4 / -6, silence (--dns-timeout), a truncated UDP answer followed over TCP,
malformed answers (every GARBAGE case of the server), an unreachable server, one lookup per name
shared by its ports and repeated lines, probes that start with the first family's answer,
addresses probed while names wait for a dead resolver, SIGINT (and a second SIGINT) while names
resolve, --dns-server usage errors, and /etc/hosts and resolv.conf honoured. Emits TAP.

Time is never an upper bound here except where the alternative is a hang: waits end after HANG
seconds, and "stops at once" is checked against a DNS deadline many times longer.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HANG = 60
BASE = ["--format", "jsonl", "--tls", "1.2", "-q"]


def scan(dns, args, timeout=HANG):
    return h.run_caprobe(BASE + ["--dns-server", dns.server_arg] + list(args), timeout=timeout)


def by_target(run):
    return {r["target"]: r for r in run.records}


def dns_error(rec):
    """(kind, dns) of a record's one failed observation, or None."""
    obs = rec.get("observations") or []
    if len(obs) != 1 or obs[0].get("outcome") != "error":
        return None
    e = obs[0]["error"]
    return (e.get("kind"), e.get("dns"))


def addresses(rec):
    return sorted({o["address"] for o in rec.get("observations", []) if o["address"]})


def test_answers(tap):
    port = h.closed_port()  # refused at once: the addresses are what is checked
    zone = [
        "v4.test A 127.0.0.1",
        "v6.test AAAA ::1",
        "both.test A 127.0.0.2",
        "both.test AAAA ::1",
        "many.test A " + " ".join("127.0.1.%d" % i for i in range(1, 41)),
        "huge.test A " + " ".join("127.0.2.%d" % i for i in range(1, 71)),
        "tc.test TRUNCATE",
        "tc.test A 127.0.0.3",
        "Mixed.Case.test A 127.0.0.4",
    ]
    with h.DnsServer(zone) as dns:
        names = ["v4.test", "v6.test", "both.test", "many.test", "huge.test", "tc.test",
                 "mixed.case.TEST"]
        run = scan(dns, ["%s:%d" % (n, port) for n in names])
        queries = dns.queries()
    recs = by_target(run)
    tap.eq(run.rc, 0, "names that resolve: exit 0", run.describe())
    tap.eq(sorted(recs), sorted("%s:%d" % (n.lower(), port) for n in names),
           "one record per name", run.describe())

    def rec(n):
        return recs.get("%s:%d" % (n, port), {})

    tap.eq(addresses(rec("v4.test")), ["127.0.0.1"], "A only: its address is probed")
    tap.eq(addresses(rec("v6.test")), ["::1"], "AAAA only: its address is probed")
    tap.eq([o["address"] for o in rec("both.test").get("observations", [])],
           ["127.0.0.2", "127.0.0.2", "::1", "::1"],
           "A and AAAA: both probed, IPv4 first, each with and without SNI")
    tap.eq([o["sni"] for o in rec("both.test").get("observations", [])],
           ["both.test", None, "both.test", None], "a name is probed with its own SNI and without")
    want40 = sorted("127.0.1.%d" % i for i in range(1, 41))
    tap.eq(addresses(rec("many.test")), want40, "a name with 40 addresses: all 40 probed")
    tap.eq(len(rec("many.test").get("observations", [])), 80,
           "40 addresses x (SNI, no SNI) = 80 observations")
    got70 = addresses(rec("huge.test"))
    tap.ok(len(got70) == 64 and set(got70) <= {"127.0.2.%d" % i for i in range(1, 71)},
           "a name with 70 addresses: 64 of them probed (PROBE_DNS_ADDRS_MAX)", got70)
    tap.eq(addresses(rec("tc.test")), ["127.0.0.3"],
           "a truncated UDP answer: the address comes over TCP")
    tap.ok(("tcp", "tc.test", "A") in queries, "the truncated name was asked again over TCP",
           queries)
    tap.eq(addresses(rec("mixed.case.test")), ["127.0.0.4"],
           "names are case-insensitive (target lower-cased, zone in mixed case)")


def test_over_cap_told_once(tap):
    """A name with more addresses than are probed says so on stderr, once for the name however
    many of its targets (ports) heard the answer, and not at all with -q."""
    ports = [h.closed_port() for _ in range(3)]
    zone = ["huge.test A " + " ".join("127.0.2.%d" % i for i in range(1, 71))]
    note = "huge.test has 70 IPv4 addresses; the first 64 are probed"
    with h.DnsServer(zone) as dns:
        args = ["--format", "jsonl", "--tls", "1.2", "--dns-server", dns.server_arg, "-4",
                "-p", ",".join(map(str, ports)), "huge.test"]
        run = h.run_caprobe(args, timeout=HANG)
        quiet = h.run_caprobe(args + ["-q"], timeout=HANG)
    tap.eq(run.stderr.count(note), 1, "over the cap: told once for 3 ports of the name",
           run.stderr)
    tap.eq(len(run.records), 3, "and each port has its record")
    tap.ok(note not in quiet.stderr, "-q: not told", quiet.stderr)


def test_transient_not_kept(tap):
    """An answer that may pass (a timeout) is not kept for later targets of the name, which ask
    again; an NXDOMAIN is kept and not asked again. The list comes through a FIFO, so the second
    line of a name arrives after the first line's record was written."""
    tmp = tempfile.mkdtemp(prefix="caprobe-dns-")
    fifo = os.path.join(tmp, "list")
    os.mkfifo(fifo)
    try:
        with h.DnsServer(["gone.test SILENT", "nx.test NXDOMAIN"]) as dns:
            with h.LiveCaprobe(BASE + ["--dns-server", dns.server_arg, "--dns-timeout", "1",
                                       "-4", "-i", fifo]) as live:
                with open(fifo, "w") as f:
                    f.write("gone.test:1\nnx.test:1\n")
                    f.flush()
                    got = live.out.wait_lines(2, HANG)
                    f.write("gone.test:2\nnx.test:2\n")
                rc = live.wait(HANG)
            asked = [(n, t) for _, n, t in dns.queries()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.ok(got == 2 and rc == 0, "the first two records came before the next lines", got)
    # c-ares asks one server three times per lookup (docs/scanning.md): two lookups, six
    # queries; a kept timeout would have made it three
    tap.eq(asked.count(("gone.test", "A")), 6,
           "a name that timed out is looked up again for a later target", asked)
    tap.eq(asked.count(("nx.test", "A")), 1, "an NXDOMAIN is kept: asked once", asked)


def test_failures(tap):
    zone = [
        "nx.test NXDOMAIN",
        "sf.test SERVFAIL",
        "ref.test REFUSED",
        "dead.test SILENT",
        "only4.test A 127.0.0.1",
        "only6.test AAAA ::1",
    ]
    port = h.closed_port()
    with h.DnsServer(zone) as dns:
        run = scan(dns, ["--dns-timeout", "1"] + ["%s:%d" % (n, port) for n in
                                                   ("nx.test", "sf.test", "ref.test",
                                                    "dead.test", "absent.test")])
        r4 = scan(dns, ["-4", "only6.test:%d" % port, "only4.test:%d" % port])
        r6 = scan(dns, ["--ipv6", "only4.test:%d" % port, "only6.test:%d" % port])
        text = h.run_caprobe(["--dns-server", dns.server_arg, "--tls", "1.2", "-q",
                              "nx.test:%d" % port], timeout=HANG)
    recs = by_target(run)
    want = {"nx.test": ("dns", "no_such_name"), "sf.test": ("dns", "server_failure"),
            "ref.test": ("dns", "refused"), "dead.test": ("dns", "timeout"),
            "absent.test": ("dns", "no_such_name")}
    for n, kd in want.items():
        rec = recs.get("%s:%d" % (n, port), {})
        tap.eq(dns_error(rec), kd, "%s gives kind %s, dns %s" % (n, kd[0], kd[1]), rec)
        obs = (rec.get("observations") or [{}])[0]
        tap.ok(obs.get("address") is None and n in obs.get("error", {}).get("message", ""),
               "%s: address null, the message names the host" % n, obs)
    words = {"nx.test": "NXDOMAIN", "sf.test": "SERVFAIL", "ref.test": "REFUSED",
             "dead.test": "in time"}
    for n, w in words.items():
        msg = (recs.get("%s:%d" % (n, port), {}).get("observations") or [{}])[0]
        tap.ok(w in msg.get("error", {}).get("message", ""), "%s: the message says %s" % (n, w),
               msg)
    tap.eq(run.rc, 0, "DNS failures are data: exit 0 without --fail-on-error", run.describe())
    r4s = by_target(r4)
    tap.eq(dns_error(r4s.get("only6.test:%d" % port, {})), ("dns", "no_address"),
           "-4 and a name with only AAAA: no_address")
    tap.ok("--ipv4" in str(r4s.get("only6.test:%d" % port)), "the message names --ipv4",
           r4s.get("only6.test:%d" % port))
    tap.eq(addresses(r4s.get("only4.test:%d" % port, {})), ["127.0.0.1"], "-4: A is probed")
    r6s = by_target(r6)
    tap.eq(dns_error(r6s.get("only4.test:%d" % port, {})), ("dns", "no_address"),
           "--ipv6 and a name with only A: no_address")
    tap.eq(addresses(r6s.get("only6.test:%d" % port, {})), ["::1"], "--ipv6: AAAA is probed")
    tap.ok("cannot resolve nx.test: no such name (NXDOMAIN)" in text.stdout,
           "the text output shows the DNS error", text.describe())


def test_garbage(tap):
    """Every malformed answer the server can send: one error record each, never a crash."""
    port = h.closed_port()
    zone = ["g%d.test GARBAGE=%d" % (n, n) for n in range(1, 11)]
    with h.DnsServer(zone) as dns:
        run = scan(dns, ["--dns-timeout", "1"] + ["g%d.test:%d" % (n, port)
                                                  for n in range(1, 11)])
    recs = by_target(run)
    tap.eq(run.rc, 0, "10 kinds of malformed DNS answers: caprobe ends normally", run.describe())
    kinds = {t: dns_error(r) for t, r in recs.items()}
    tap.eq(len(recs), 10, "one record per name", kinds)
    tap.ok(all(k and k[0] == "dns" for k in kinds.values()),
           "each is an error of kind dns (no address came from garbage)", kinds)
    tap.diag("garbage cases -> error.dns: %s" % sorted(kinds.items()))


def test_unreachable(tap):
    dead = h.closed_port()  # TCP port held; nothing listens on UDP there: ICMP unreachable
    run = h.run_caprobe(BASE + ["--dns-server", "127.0.0.1:%d" % dead, "--dns-timeout", "2",
                                "x.test:443"], timeout=HANG)
    rec = by_target(run).get("x.test:443", {})
    tap.eq(dns_error(rec), ("dns", "unreachable"),
           "a DNS server port where nothing listens: unreachable", run.describe())


def test_servers_in_order(tap):
    """Two --dns-server: the first never answers, the second does. c-ares moves on after the
    first's per-try timeout (--dns-timeout / 14 with two servers), well within the deadline."""
    port = h.closed_port()
    with h.DnsServer(["*.test SILENT"]) as dead, h.DnsServer(["two.test A 127.0.0.8"]) as good:
        run = h.run_caprobe(BASE + ["--dns-server", dead.server_arg, "--dns-server",
                                    good.server_arg, "--dns-timeout", "5",
                                    "two.test:%d" % port], timeout=HANG)
        asked_dead = [q for q in dead.queries() if q[1] == "two.test"]
    rec = by_target(run).get("two.test:%d" % port, {})
    tap.eq(addresses(rec), ["127.0.0.8"], "a silent first server, an answering second: resolved",
           run.describe())
    tap.ok(asked_dead, "the first server was asked first", asked_dead)
    # A first server that answers SERVFAIL or REFUSED is followed by the next, as glibc does.
    for rule in ("SERVFAIL", "REFUSED"):
        with h.DnsServer(["*.test " + rule]) as bad, \
                h.DnsServer(["two.test A 127.0.0.9"]) as good:
            run = h.run_caprobe(BASE + ["--dns-server", bad.server_arg, "--dns-server",
                                        good.server_arg, "two.test:%d" % port], timeout=HANG)
            asked_bad = [q for q in bad.queries() if q[1] == "two.test"]
        rec = by_target(run).get("two.test:%d" % port, {})
        tap.ok(addresses(rec) == ["127.0.0.9"] and asked_bad,
               "a first server answering %s is followed by the second" % rule, run.describe())


def test_shared_lookup(tap):
    ports = [h.closed_port() for _ in range(3)]
    with h.DnsServer(["shared.test A 127.0.0.1", "other.test A 127.0.0.1"]) as dns:
        lines = "".join("shared.test:%d\nother.test\n" % p for p in ports) + "SHARED.test\n"
        run = h.run_caprobe_input(BASE + ["--dns-server", dns.server_arg, "-p",
                                          ",".join(map(str, ports)), "-i", "-"], lines,
                                  timeout=HANG)
        queries = dns.queries()
    tap.eq(len(run.records), 6, "2 names x 3 ports: 6 records", run.describe())
    asked = sorted((n, t) for _, n, t in queries)
    tap.eq(asked, [("other.test", "A"), ("other.test", "AAAA"), ("shared.test", "A"),
                   ("shared.test", "AAAA")],
           "one A and one AAAA query per name, whatever its ports and repeats", queries)


def test_first_family(tap):
    """A answers at once, AAAA only after 10 s: the IPv4 address is connected to before the AAAA
    answer can have come (that is a lower bound of the server's: 10 s after caprobe started),
    and the record still waits for both families."""
    delay = 10
    with h.BadServer("close") as srv, \
            h.DnsServer(["slow6.test A 127.0.0.1", "slow6.test AAAA ::1",
                         "slow6.test DELAY 0 A", "slow6.test DELAY %d AAAA" % (delay * 1000)]) \
            as dns:
        t0 = time.monotonic()
        with h.LiveCaprobe(BASE + ["--dns-server", dns.server_arg, "--dns-timeout", "40",
                                   "slow6.test:%d" % srv.port]) as live:
            deadline = time.monotonic() + HANG
            while srv.accepted < 2 and time.monotonic() < deadline and live.proc.poll() is None:
                time.sleep(0.02)
            t_accept = time.monotonic() - t0
            rc = live.wait(HANG)
            t_end = time.monotonic() - t0
            out = live.out.text()
    recs, _ = h.parse_jsonl(out)
    rec = recs[0] if recs else {}
    tap.eq(rc, 0, "a name whose AAAA answer takes %d s: exit 0" % delay, out)
    tap.diag("IPv4 probes connected %.2f s after start; record written at %.2f s"
             % (t_accept, t_end))
    tap.ok(srv.accepted >= 2 and t_accept < delay,
           "both IPv4 probes connected before the AAAA answer could exist", (srv.accepted,
                                                                            t_accept))
    tap.ok(t_end >= delay, "the record waited for the AAAA answer", t_end)
    tap.eq(sorted({o["address"] for o in rec.get("observations", [])}), ["127.0.0.1", "::1"],
           "and holds both families' variants", rec)


def test_dead_resolver_does_not_block(tap):
    """30 names whose server never answers come first in the list, an address after them: the
    address's record is written before any name's."""
    with h.OpensslServer(["-Verify", "1", "-CAfile", h.pki("issuing.pem")]) as srv, \
            h.DnsServer(["*.dead.test SILENT"]) as dns:
        lines = "".join("n%d.dead.test:%d\n" % (i, srv.port) for i in range(30))
        lines += "127.0.0.1:%d\n" % srv.port
        run = h.run_caprobe_input(BASE + ["--dns-server", dns.server_arg, "--dns-timeout", "3",
                                          "--dns-concurrency", "8", "-c", "4", "-i", "-"],
                                  lines, timeout=HANG)
    order = [r["target"] for r in run.records]
    tap.eq(len(order), 31, "31 records", run.describe())
    tap.eq(order[:1], ["127.0.0.1:%d" % srv.port],
           "the address behind 30 dead names (more than --dns-concurrency) is written first")
    tap.ok(all(dns_error(r) == ("dns", "timeout") for r in run.records[1:]),
           "the dead names end with dns timeout", [dns_error(r) for r in run.records[1:]])
    addr = run.records[0] if run.records else {}
    tap.ok(all(o["outcome"] == "certificate_request" for o in addr.get("observations", [])),
           "and the address was probed for real", addr)


def test_sigint(tap):
    """SIGINT while names wait for a server that never answers (30 s deadline): caprobe stops at
    once and writes every record, the waiting names as interrupted."""
    with h.DnsServer(["*.dead.test SILENT"]) as dns, h.BadServer("silent") as stall:
        names = ["w%d.dead.test:%d" % (i, stall.port) for i in range(20)]
        args = BASE + ["--dns-server", dns.server_arg, "--dns-timeout", "30",
                       "127.0.0.1:%d" % stall.port] + names
        with h.LiveCaprobe(args) as live:
            deadline = time.monotonic() + HANG
            while time.monotonic() < deadline and (len(dns.queries()) < 40 or
                                                   stall.accepted < 1):
                time.sleep(0.05)
            t0 = time.monotonic()
            live.signal(signal.SIGINT)
            rc = live.wait(HANG)
            took = time.monotonic() - t0
            out = live.out.text()
    recs, err = h.parse_jsonl(out)
    tap.eq(rc, 130, "SIGINT while 20 names resolve and a probe stalls: exit 130", out)
    tap.diag("stopped %.2f s after SIGINT (1 s grace for the stalled probe)" % took)
    tap.ok(took < 10, "stopped long before the 30 s DNS deadline (%.1f s)" % took)
    tap.eq(len(recs), 21, "every target has its record", err)
    names_kinds = [dns_error(r) for r in recs if r["host"] != "127.0.0.1"]
    tap.ok(len(names_kinds) == 20 and all(k == ("interrupted", None) for k in names_kinds),
           "the waiting names are interrupted, not DNS errors", names_kinds)

    # A second SIGINT during the grace second: the stalled probe is interrupted at once, the
    # process is not killed, and every record is still written.
    with h.DnsServer(["*.dead.test SILENT"]) as dns, h.BadServer("silent") as stall:
        args = BASE + ["--dns-server", dns.server_arg, "--dns-timeout", "30"] + \
            ["127.0.0.1:%d" % stall.port] + ["v%d.dead.test:443" % i for i in range(5)]
        with h.LiveCaprobe(args) as live:
            deadline = time.monotonic() + HANG
            while time.monotonic() < deadline and (len(dns.queries()) < 10 or
                                                   stall.accepted < 1):
                time.sleep(0.05)
            live.signal(signal.SIGINT)
            time.sleep(0.1)
            live.signal(signal.SIGINT)
            rc = live.wait(HANG)
            out = live.out.text()
    recs, err = h.parse_jsonl(out)
    tap.eq(rc, 130, "two SIGINTs: still exit 130 (the second is handled, not fatal)", out)
    tap.eq(len(recs), 6, "two SIGINTs: every record written", err)
    stalled = [r for r in recs if r["host"] == "127.0.0.1"]
    tap.ok(stalled and all(o["error"]["kind"] == "interrupted"
                           for o in stalled[0]["observations"]),
           "the stalled probe is interrupted", stalled)


def test_usage(tap):
    for bad in ("300.1.1.1", "1.2.3.4:0", "dns.example:53", "[::1", "1.2.3.4:99999", ""):
        run = h.run_caprobe(["--dns-server", bad, "127.0.0.1:1"])
        tap.ok(run.rc == 2 and "--dns-server" in run.stderr and not run.records,
               "--dns-server '%s' is a usage error naming the option" % bad, run.describe())
    run = h.run_caprobe(["--dns-timeout", "0", "127.0.0.1:1"])
    tap.ok(run.rc == 2 and "--dns-timeout" in run.stderr, "--dns-timeout 0 is a usage error",
           run.describe())
    run = h.run_caprobe(["--dns-concurrency", "0", "127.0.0.1:1"])
    tap.ok(run.rc == 2 and "--dns-concurrency" in run.stderr,
           "--dns-concurrency 0 is a usage error", run.describe())
    run = h.run_caprobe(["--help"])
    tap.ok(all(o in run.stdout for o in ("--dns-server", "--dns-timeout", "--dns-concurrency",
                                         "--ipv4", "--ipv6")), "--help lists the DNS options")


# ---------------------------------------------------------------- the system's files

INSIDE = "--inside-namespace"


def inside_namespace(work):
    """Run in a private mount and network namespace (as root): /etc/hosts and /etc/resolv.conf
    replaced by bind mounts of files in work, a DNS server on 127.0.0.1:53, an s_server; caprobe
    without --dns-server. Prints the JSON Lines of two runs, separated by a line '--'."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open(os.path.join(work, "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.5 fromhosts.test\n")
    with open(os.path.join(work, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    for name in ("hosts", "resolv.conf"):
        subprocess.run(["mount", "--bind", os.path.join(work, name), "/etc/" + name], check=True)
    port = h.closed_port()
    with h.DnsServer(["fromdns.test A 127.0.0.6", "fromhosts.test A 127.0.0.7"], port=53):
        run = h.run_caprobe(BASE + ["fromhosts.test:%d" % port, "fromdns.test:%d" % port,
                                    "nowhere.test:%d" % port])
    sys.stdout.write(run.stdout + "--\n" + run.stderr)


def test_system_files(tap):
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        tap.skip("/etc/hosts and resolv.conf honoured", "needs root, unshare and ip")
        return
    work = tempfile.mkdtemp(prefix="caprobe-ns-")
    try:
        p = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private",
                            sys.executable, os.path.abspath(__file__), INSIDE, work],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=HANG,
                           env=os.environ)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 and "unshare failed" in p.stderr.decode("utf-8", "replace"):
        tap.skip("/etc/hosts and resolv.conf honoured", "unshare is not permitted here")
        return
    recs, err = h.parse_jsonl(out.split("--\n")[0])
    by_host = {r["host"]: r for r in recs}
    tap.eq(p.returncode, 0, "the namespace run worked", out + p.stderr.decode())
    tap.eq(addresses(by_host.get("fromhosts.test", {})), ["127.0.0.5"],
           "/etc/hosts is read first (the DNS server would say 127.0.0.7)", by_host)
    tap.eq(addresses(by_host.get("fromdns.test", {})), ["127.0.0.6"],
           "/etc/resolv.conf's nameserver is asked for a name not in /etc/hosts", by_host)
    tap.eq(dns_error(by_host.get("nowhere.test", {})), ("dns", "no_such_name"),
           "and its NXDOMAIN is reported", by_host)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == INSIDE:
        inside_namespace(sys.argv[2])
        return 0
    tap = h.Tap()
    if h.caprobe_path() is None:
        tap.ok(False, "CAPROBE points to the caprobe binary")
        return tap.finish()
    h.install_signal_handlers()
    for t in (test_answers, test_over_cap_told_once, test_transient_not_kept, test_failures,
              test_garbage, test_unreachable, test_servers_in_order,
              test_shared_lookup,
              test_first_family, test_dead_resolver_does_not_block, test_sigint, test_usage,
              test_system_files):
        try:
            t(tap)
        except Exception as e:  # a broken helper is a failure of this test, not a crash
            import traceback
            tap.ok(False, "%s ran" % t.__name__, traceback.format_exc() + str(e))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
