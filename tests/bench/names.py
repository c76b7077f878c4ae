#!/usr/bin/env python3
"""caprobe names benchmark: host names through caprobe's resolver stage (c-ares on its libuv
loop) against the same endpoints given as addresses and against sslscan; names whose resolver
never answers mixed into good addresses; a /16 sweep of one port. Each figure comes from runs
made one after another in one bench run and printed side by side, with whether the goal of
issue 11 (point 5) is met.

A benchmark, not a test: it prints figures and exits 0 unless the bench itself broke. Python 3
standard library only; 127.0.0.0/8 only; every process it starts is killed in `finally`, also on
Ctrl-C or SIGTERM. Run through `make bench` (after fleet.py), or:

    python3 tests/bench/names.py --caprobe build/caprobe [--names N] [--quick] [--repeat R]
                                 [--sweep-prefix 20] [--sslscan-names S] [--no-netns]

Where it runs. As root, the script re-runs itself under `unshare -n -m --propagation private`:
a private network namespace (only `lo`, brought up with `ip link set lo up`) and a private mount
namespace in which a file saying `nameserver 127.0.0.1` is bind-mounted over /etc/resolv.conf
(the machine's files are never written; the mount and the namespace end with the script). There
the DNS server listens on 127.0.0.1:53, where glibc, and so sslscan, finds it; nginx listens on
0.0.0.0:PORT, which in that namespace is every 127.x.y.z address and nothing else. Without root
(or with --no-netns) it runs on the machine's network: the DNS server on a kernel-chosen port
(caprobe is given it with --dns-server; glibc cannot use a port other than 53, so the sslscan
comparison is skipped and the output says why), and nginx with one listen line per loopback
address used, so that nothing listens beyond 127/8 (the sweep is then at most a /20).

Servers (started once, shared by the three figures):
  nginx  fleet.py's nginx.conf.in (one nginx, 2 workers), its "right list" server block:
         ssl_verify_client optional + ssl_client_certificate fixtures/pki/issuing.pem (one CA
         name), TLS 1.2 and 1.3, listening on 0.0.0.0:PORT (backlog 4096, reuseport: one queue
         per worker). Before the runs `openssl s_client -tls1_2 -msg` checks what it sends.
  DNS    tests/dnsserver.py through harness.DnsServer, every answer after --delay-ms (100 ms):
         name i (hNNNNN.bench.test) has one A record 127.1.0.0 + 1 + i and no AAAA (NODATA);
         `*.dead.test SILENT`: never answered. In the namespace a glibc lookup of the first name
         is checked and timed first.

Figure 1, host-name fleet: N names (--names, default 10,000), TLS 1.2, --timeout T (10 s) and
--dns-timeout 5 (caprobe's defaults). caprobe runs, one after another, over the same N endpoints:
  addresses        ADDR:PORT lines: one probe each (a literal address has no SNI variant)
  addresses+SNI    the same with --sni bench.test: two probes each, the TLS work a name has
  names            NAME:PORT lines and --dns-server (the namespace's 127.0.0.1:53): A and AAAA
                   of each name (answers after 100 ms), then two probes (SNI NAME, and none)
  Goal: names' wall at most 1.5x the addresses' for the same probes, that is against
  addresses+SNI: a host name is always probed with its name as SNI and without SNI (the two
  bindings IIS and others keep apart), an address only without, so names do twice the TLS work
  of plain addresses by design. The ratio to plain addresses is printed too, without a goal.
  sslscan, as fleet.py runs it (SSLSCAN_OPTS: --show-client-cas, every other test it can turn
  off, --tls12), NAME:PORT, 64 processes at a time, each killed T + 5 s after its spawn (caprobe's
  bound per name: --timeout + --dns-timeout); glibc resolves through resolv.conf. sslscan needs
  20 to 40 ms of CPU per name (3 connections, a process), about 25 names/s on 2 CPUs, so it runs
  on a deterministic subset: S names (--sslscan-names, default 1,000; 0 = all), every (N/S)-th
  name from the first, in about 30 s instead of minutes. Compared: per
  target throughput, caprobe's N names / its wall vs sslscan's S names / its wall. Goal: at least
  20x. caprobe is also run on the same S names and that wall ratio is printed (not the goal:
  S names are too few for caprobe's fixed costs to vanish).

Figure 2, dead resolver: G good addresses (--dead, default 1,000; the first G of the figure 1
addresses) and G names under *.dead.test, interleaved (a dead name first), TLS 1.2, default
--dns-timeout (5 s), vs a run of the G good addresses alone. caprobe's JSON Lines output is read
from a pipe as it streams and each record is timestamped on arrival (seconds since the spawn;
caprobe flushes every record). Printed: wall; the time of the last good record; the times of the
dead names' records (min / median / max) and their error.dns. Goals: the last good record of
the mixed run within 1.5x of the run alone; every dead name ends between --dns-timeout and
--dns-timeout + 0.5 s after the spawn (all are asked at once: 1,000 <= --dns-concurrency).

Figure 3, sweep: 127.2.0.0/P:PORT as one CIDR target (P = --sweep-prefix, 16: 65,536
addresses), `--tls 1.2`, then `--tls 1.3`: one probe per address (a literal address has no SNI
variant). Printed: probes per second (addresses / wall), CPU per probe, peak memory, correct
records, and nginx's CPU on its own line. No goal (figures only).

How each figure is measured:
  rounds   the caprobe runs of figures 1 and 2 are made --repeat times (3), the configurations
           taken in turn each round, so that a change in the machine's other load hits them
           alike; the median run (by wall) is reported, with every run's wall, and correct is
           the worst run's. sslscan and figure 3 run once
  wall     from the spawn to the exit of the tool's processes (time.monotonic; wait4)
  CPU      user + system of the tool's processes (wait4 rusage); nginx, the DNS server and
           this script are not counted (each printed on its own line per run, from /proc), nor
           is the rest of the machine ("machine busy": all CPUs' busy time from /proc/stat
           during the run, to see other work running at the same time)
  peak     ru_maxrss of the caprobe process, forked by /bin/sh and re-parented to this script
           (fleet.py's trampoline and child subreaper: a process spawned by Python directly
           inherits Python's own high-water RSS); not measured for the streamed runs of
           figure 2 nor for sslscan here (fleet.py measures sslscan's)
  correct  caprobe: a record has exactly the observations of its variants (address and SNI as
           expected) and each is a certificate_request whose list is the issuing CA's name
           (DER equal); a dead name's one observation is error.kind dns, error.dns timeout.
           sslscan: its CA list names the issuing CA (fleet.py's classify_sslscan)
  load     /proc/loadavg is printed before each run
  UDP drops  in the namespace, /proc/net/snmp Udp RcvbufErrors over each run: DNS datagrams
           the kernel dropped because the receiving socket's buffer was full (the DNS server's
           is 32 MiB, so these are answers to caprobe); not shown without the namespace, where
           the counter is the machine's
"""

import argparse
import collections
import ipaddress
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import fleet as F  # noqa: E402
import harness  # noqa: E402  (DnsServer; standard library only on this path)

NAME_SUFFIX = "bench.test"
DEAD_SUFFIX = "dead.test"
NAME_BASE = int(ipaddress.IPv4Address("127.1.0.0"))
SWEEP_NET = "127.2.0.0"
EXTRA_SNI = "bench.test"
DNS_DELAY_MS = 100
DNS_TIMEOUT = 5.0  # caprobe's default --dns-timeout, given explicitly
PEER_PARALLEL = F.PEER_PARALLEL  # 64

# Goals of issue 11, point 5.
GOAL_NAMES_VS_ADDRS = 1.5  # names wall / addresses wall at most
GOAL_VS_SSLSCAN = 20.0  # caprobe targets/s / sslscan targets/s at least
GOAL_GOOD_VS_ALONE = 1.5  # last good record, mixed / alone, at most
GOAL_DEAD_SLACK = 0.5  # dead names end within [dns-timeout, dns-timeout + this] s


class BenchError(F.BenchError):
    pass


def name_of(i):
    return "h%05d.%s" % (i, NAME_SUFFIX)


def addr_of(i):
    return str(ipaddress.IPv4Address(NAME_BASE + 1 + i))


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_busy():
    """Busy CPU seconds of the whole machine so far (all CPUs, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


# ---------------------------------------------------------------- namespace

def netns_unavailable():
    """None when the bench can run in its own network and mount namespace, else why not."""
    if os.geteuid() != 0:
        return "not root, and unshare -n -m needs CAP_SYS_ADMIN"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return "%s not found" % tool
    try:
        p = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "true"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unshare failed: %s" % e
    if p.returncode != 0:
        return "unshare -n -m failed: %s" % (p.stderr.strip() or "status %d" % p.returncode)
    return None


def reexec_in_netns():
    """Run this script again inside a new network + mount namespace and wait for it; a signal
    here is passed on (the inner script cleans up and exits)."""
    argv = ["unshare", "-n", "-m", "--propagation", "private", "--",
            sys.executable, os.path.abspath(__file__), "--in-netns"] + sys.argv[1:]
    print("names.py: running in a private network and mount namespace: %s" % " ".join(argv[:6]))
    sys.stdout.flush()
    p = subprocess.Popen(argv, preexec_fn=F._die_with_parent)  # SIGTERM to it if we die
    try:
        return p.wait()
    except KeyboardInterrupt:
        try:
            p.send_signal(signal.SIGTERM)
            return p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return 130
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def enter_netns_setup(tmp):
    """Inside the new namespaces: lo up, a private resolv.conf over /etc/resolv.conf."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    conf = os.path.join(tmp, "resolv.conf")
    with open(conf, "w", encoding="ascii") as f:
        f.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", conf, "/etc/resolv.conf"], check=True, timeout=10)
    with open("/etc/resolv.conf", encoding="ascii") as f:
        if f.read() != "nameserver 127.0.0.1\n":
            raise BenchError("the private /etc/resolv.conf is not in place")


# ---------------------------------------------------------------- servers

class Servers:
    """nginx and the DNS server; cpu() of each for the side lines of every run."""

    def __init__(self, tmp, netns):
        self.tmp, self.netns = tmp, netns
        self.nginx = None
        self.dns = None
        self.port = None

    def start(self, n_names, sweep):
        zone = ["%s A %s" % (name_of(i), addr_of(i)) for i in range(n_names)]
        zone.append("*.%s SILENT" % DEAD_SUFFIX)
        self.dns = harness.DnsServer(zone, delay_ms=DNS_DELAY_MS, port=53 if self.netns else 0,
                                     log=False)
        self.dns.start()
        last = ""
        for attempt in range(3):
            self.port, p_dump, p_none, p_empty = F.free_ports(4)
            if self.netns:
                right = ["0.0.0.0:%d backlog=4096 reuseport" % self.port]
            else:  # one listen line per address: nothing beyond 127/8
                right = ["127.0.0.1:%d" % self.port] + \
                    ["%s:%d" % (addr_of(i), self.port) for i in range(n_names)] + \
                    ["%s:%d" % (a, self.port) for a in sweep.hosts()] + \
                    ["%s:%d" % (sweep.network_address, self.port),
                     "%s:%d" % (sweep.broadcast_address, self.port)]
            listens = {"right": right, "dump": ["127.0.0.1:%d" % p_dump],
                       "none": ["127.0.0.1:%d" % p_none], "empty": ["127.0.0.1:%d" % p_empty]}
            nginx = F.Nginx(os.path.join(self.tmp, "nginx"))
            ready = [("127.0.0.1", p) for p in (self.port, p_dump, p_none, p_empty)] + \
                [(addr_of(0), self.port), (addr_of(n_names - 1), self.port)]
            if nginx.start(listens, 8192, ready, limit=60.0):
                self.nginx = nginx
                return
            last = nginx.error
            if "in use" not in last:
                break
        raise BenchError("nginx did not start:\n" + last)

    @property
    def dns_arg(self):
        return self.dns.server_arg

    def nginx_cpu(self):
        return self.nginx.cpu() if self.nginx else 0.0

    def dns_cpu(self):
        return F.proc_cpu([self.dns.proc.pid]) if self.dns and self.dns.proc else 0.0

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
            self.nginx = None
        if self.dns is not None:
            self.dns.stop()
            self.dns = None


def udp_rcvbuf_errors():
    """Udp RcvbufErrors of /proc/net/snmp: datagrams the kernel dropped because the receiving
    socket's buffer was full (in the private namespace: only this bench's sockets)."""
    with open("/proc/net/snmp") as f:
        lines = f.read().splitlines()
    for head, vals in zip(lines[0::2], lines[1::2]):
        if head.startswith("Udp:"):
            return dict(zip(head.split()[1:], (int(x) for x in vals.split()[1:])))["RcvbufErrors"]
    return 0


class Side:
    """What else used CPU while a timed run went on: nginx, the DNS server, this script and the
    whole machine (all CPUs, /proc/stat); in the namespace also the UDP datagrams the kernel
    dropped for a full receive buffer."""

    def __init__(self, servers):
        self.servers = servers
        self.udp_drops = None

    def __enter__(self):
        self.load = loadavg()
        self.u0 = udp_rcvbuf_errors() if self.servers.netns else None
        self.t0 = time.monotonic()
        self.n0 = self.servers.nginx_cpu()
        self.d0 = self.servers.dns_cpu()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.s0 = ru.ru_utime + ru.ru_stime
        self.m0 = machine_busy()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.machine = machine_busy() - self.m0
        self.nginx = self.servers.nginx_cpu() - self.n0
        self.dns = self.servers.dns_cpu() - self.d0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.script = ru.ru_utime + ru.ru_stime - self.s0
        if self.u0 is not None:
            self.udp_drops = udp_rcvbuf_errors() - self.u0

    def line(self, tool_cpu):
        ours = tool_cpu + self.nginx + self.dns + self.script
        return ("nginx %.2f s, DNS server %.2f s, this script %.2f s; machine busy %.2f CPU-s "
                "of %d x %.2f s (%.0f%%), of which not ours %.2f s; load before: %s" % (
                    self.nginx, self.dns, self.script, self.machine, os.cpu_count(), self.wall,
                    100 * self.machine / (os.cpu_count() * self.wall) if self.wall else 0,
                    max(0.0, self.machine - ours), self.load))


# ---------------------------------------------------------------- runs

class Result:
    def __init__(self, label, targets, probes):
        self.label, self.targets, self.probes = label, targets, probes
        self.wall = self.cpu = 0.0
        self.peak_kib = None
        self.correct = 0
        self.correct_by = collections.Counter()  # good, dead
        self.wrong = collections.Counter()
        self.examples = {}
        self.notes = []
        self.side = None
        self.killed = 0

    def bad(self, why, target):
        self.wrong[why] += 1
        self.examples.setdefault(why, target)

    def rate(self):
        return self.targets / self.wall if self.wall else 0.0


class Series:
    """The runs of one configuration (--repeat of them, taken in turn with the others, so that
    a change of the machine's other load hits every configuration alike). Figures are those of
    the median run by wall time; correct is the worst run's."""

    def __init__(self, label):
        self.label = label
        self.runs = []

    def med(self):
        return sorted(self.runs, key=lambda r: r.wall)[len(self.runs) // 2]

    def walls(self):
        return " ".join("%.2f" % r.wall for r in self.runs)

    def correct(self):
        return min(r.correct for r in self.runs)

    def drops(self):
        d = [r.side.udp_drops for r in self.runs]
        return "-" if None in d else " ".join(str(x) for x in d)


def check_obs(o, want_addr, want_snis, truth):
    """None when caprobe's record o has one certificate_request with the right list per
    expected variant (address want_addr, SNI in want_snis), else a short why."""
    obs = o.get("observations") or []
    err = (obs[0].get("error") or {}) if len(obs) == 1 else {}
    if err.get("kind") == "dns":  # the name gave no address
        return "dns %s" % err.get("dns")
    if len(obs) != len(want_snis):
        return "observations:%d" % len(obs)
    if sorted(x.get("sni") or "" for x in obs) != sorted(s or "" for s in want_snis):
        return "sni:%s" % ",".join(str(x.get("sni")) for x in obs)
    for x in obs:
        if x.get("address") != want_addr:
            return "address:%s" % x.get("address")
        lab, detail = F.classify_caprobe(x, "right", truth)
        if lab != "list:1":
            return lab + ((" " + detail[:60]) if detail else "")
    return None


def check_dead(o):
    obs = o.get("observations") or []
    if len(obs) != 1:
        return "observations:%d" % len(obs)
    err = obs[0].get("error") or {}
    if obs[0].get("outcome") != "error" or err.get("kind") != "dns":
        return "outcome:%s/%s" % (obs[0].get("outcome"), err.get("kind"))
    if err.get("dns") != "timeout":
        return "dns:%s" % err.get("dns")
    return None


def tally(res, lines, expect, truth):
    """Check every JSON line against expect: {host: (address, [sni, ...]) or "dead"}."""
    seen = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            res.bad("not JSON", "line %d" % n)
            continue
        host = o.get("host")
        if host in seen:
            res.bad("reported twice", host)
            continue
        seen.add(host)
        want = expect.get(host)
        if want is None:
            res.bad("not in the list", host)
            continue
        why = check_dead(o) if want == "dead" else check_obs(o, want[0], want[1], truth)
        if why:
            res.bad(why, host)
        else:
            res.correct += 1
            res.correct_by["dead" if want == "dead" else "good"] += 1
    missing = [h for h in expect if h not in seen]
    for h in missing:
        res.bad("missing", h)


def file_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield line


def status_notes(res, run, err_path, limit):
    if run.killed:
        res.notes.append("HANG: still running after %.0f s, killed" % limit)
    elif not os.WIFEXITED(run.status) or os.WEXITSTATUS(run.status) not in (0, 1):
        res.notes.append("exit: %s" % F._status_text(run.status))
    err = F._tail(err_path, 5).strip()
    if err:
        res.notes.append("stderr: " + err.replace("\n", " | ")[:300])


def run_limit(args, probes):
    """Seconds after which a caprobe run counts as hung and is killed."""
    return args.run_limit or max(300.0, 0.01 * probes)


def caprobe_base(caprobe, tls, timeout):
    return [caprobe, "--format", "jsonl", "--tls", tls, "--timeout", "%g" % timeout, "-q"]


def run_caprobe(label, caprobe, tmp, servers, argv_extra, lines, expect, truth, args,
                probes, tls="1.2"):
    """caprobe over a list file (lines), output to a file, clean ru_maxrss; then checked."""
    tag = label.replace(" ", "_").replace("/", "_").replace("+", "_")
    lst = os.path.join(tmp, tag + ".txt")
    if lines is not None:
        with open(lst, "w", encoding="ascii") as f:
            f.write("".join(x + "\n" for x in lines))
        argv = caprobe_base(caprobe, tls, args.timeout) + argv_extra + ["-i", lst]
    else:
        argv = caprobe_base(caprobe, tls, args.timeout) + argv_extra
    out, err = os.path.join(tmp, tag + ".jsonl"), os.path.join(tmp, tag + ".err")
    res = Result(label, len(expect), probes)
    res.argv = argv
    limit = run_limit(args, probes)
    with Side(servers) as side:
        run = F.run_process(argv, out, limit, err_path=err, clean_rss=True, keep_out=False)
    res.side = side
    res.wall, res.cpu, res.peak_kib = run.wall, run.cpu, run.maxrss_kib
    status_notes(res, run, err, limit)
    tally(res, file_lines(out), expect, truth)
    os.unlink(out)
    return res


def run_stream(argv, deadline, err_path, on_line):
    """Spawn argv with its standard output on a pipe; on_line(seconds since the spawn, line)
    for every line as it arrives; killed `deadline` s after the spawn. Returns a fleet Run
    (without out and without a clean ru_maxrss)."""
    rfd, wfd = os.pipe()
    efd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, wfd, 1), (os.POSIX_SPAWN_DUP2, efd, 2),
               (os.POSIX_SPAWN_CLOSE, rfd)]
    t0 = time.monotonic()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    except BaseException:
        os.close(rfd)
        raise
    finally:
        os.close(wfd)
        os.close(efd)
    pfd = os.pidfd_open(pid)
    with F._RUNNING_LOCK:
        F._RUNNING[pid] = pfd
    r = F.Run()
    r.killed = False
    buf, eof, exited, end = b"", False, False, None
    try:
        try:
            while not (eof and exited):
                left = deadline - (time.monotonic() - t0)
                if left <= 0 and not r.killed:
                    signal.pidfd_send_signal(pfd, signal.SIGKILL)
                    r.killed = True
                fds = ([] if eof else [rfd]) + ([] if exited else [pfd])
                ready, _, _ = select.select(fds, [], [], 1.0 if r.killed else left)
                now = time.monotonic() - t0
                if rfd in ready:
                    chunk = os.read(rfd, 1 << 20)
                    if not chunk:
                        eof = True
                    else:
                        buf += chunk
                        *whole, buf = buf.split(b"\n")
                        for line in whole:
                            on_line(now, line.decode("utf-8", "replace"))
                if pfd in ready:
                    exited, end = True, now
            _, status, ru = os.wait4(pid, 0)
        except BaseException:
            signal.pidfd_send_signal(pfd, signal.SIGKILL)
            os.wait4(pid, 0)
            raise
    finally:
        with F._RUNNING_LOCK:
            del F._RUNNING[pid]
            os.close(pfd)
        os.close(rfd)
    if buf.strip():
        on_line(time.monotonic() - t0, buf.decode("utf-8", "replace"))
    r.wall = end if end is not None else time.monotonic() - t0
    r.status = status
    r.cpu = ru.ru_utime + ru.ru_stime
    r.maxrss_kib = None
    r.out = None
    return r


# ---------------------------------------------------------------- figure 1

def figure1(caprobe, tmp, servers, truth, args):
    n, port = args.names, servers.port
    addrs = ["%s:%d" % (addr_of(i), port) for i in range(n)]
    names = ["%s:%d" % (name_of(i), port) for i in range(n)]
    exp_addr = {addr_of(i): (addr_of(i), [None]) for i in range(n)}
    exp_sni = {addr_of(i): (addr_of(i), [None, EXTRA_SNI]) for i in range(n)}
    exp_name = {name_of(i): (addr_of(i), [name_of(i), None]) for i in range(n)}
    dns = ["--dns-server", servers.dns_arg, "--dns-timeout", "%g" % DNS_TIMEOUT]
    plan = [("addresses", [], addrs, exp_addr, n),
            ("addresses+SNI", ["--sni", EXTRA_SNI], addrs, exp_sni, 2 * n),
            ("names", dns, names, exp_name, 2 * n)]
    s = args.sslscan_subset
    sub = list(range(0, n, max(1, n // s)))[:s] if s else []
    if sub and len(sub) < n and args.sslscan_why is None:
        plan.append(("names, sslscan's %d" % len(sub), dns, [names[i] for i in sub],
                     {name_of(i): exp_name[name_of(i)] for i in sub}, 2 * len(sub)))
    series = {label: Series(label) for label, *_ in plan}
    for rnd in range(args.repeat):
        for label, extra, lines, expect, probes in plan:
            print("  figure 1, round %d/%d: caprobe %s (%d targets) ..." % (
                rnd + 1, args.repeat, label, len(lines)), end="")
            sys.stdout.flush()
            r = run_caprobe(label, caprobe, tmp, servers, extra, lines, expect, truth, args,
                            probes)
            series[label].runs.append(r)
            print(" %.2f s" % r.wall)
    ssl = None
    if sub and args.sslscan_why is None:
        print("  figure 1: sslscan x%d on %d names ..." % (PEER_PARALLEL, len(sub)), end="")
        sys.stdout.flush()
        ssl = run_sslscan(tmp, servers, sub, port, truth, args)
        print(" %.2f s" % ssl.wall)
    return series, ssl, sub


def run_sslscan(tmp, servers, idx, port, truth, args):
    exe = shutil.which("sslscan")
    if exe is None:
        raise BenchError("sslscan not found (make bench installs it)")
    deadline = args.timeout + DNS_TIMEOUT
    res = Result("sslscan x%d" % PEER_PARALLEL, len(idx), 3 * len(idx))
    res.argv = [exe] + F.SSLSCAN_OPTS + ["NAME:%d" % port]
    res.deadline = deadline
    with Side(servers) as side:
        res.wall, runs = F.run_pool(
            "sslscan-names", tmp, idx,
            lambda i: [exe] + F.SSLSCAN_OPTS + ["%s:%d" % (name_of(i), port)],
            deadline, PEER_PARALLEL)
    res.side = side
    res.cpu = sum(r.cpu for r in runs)
    res.killed = sum(1 for r in runs if r.killed)
    for i, r in zip(idx, runs):
        lab, detail = F.classify_sslscan(r, "right", truth)
        if lab == "list:1":
            res.correct += 1
        else:
            res.bad(lab + ((" " + detail[:80]) if detail else ""), name_of(i))
    return res


# ---------------------------------------------------------------- figure 2

def figure2(caprobe, tmp, servers, truth, args):
    g, port = args.dead, servers.port
    good = ["%s:%d" % (addr_of(i), port) for i in range(g)]
    dead = ["d%05d.%s:%d" % (i, DEAD_SUFFIX, port) for i in range(g)]
    mixed = [x for pair in zip(dead, good) for x in pair]
    good_hosts = {addr_of(i) for i in range(g)}
    out = {"good alone": Series("good alone"), "good + dead": Series("good + dead")}
    for rnd in range(args.repeat):
        for label, lines in (("good alone", good), ("good + dead", mixed)):
            print("  figure 2, round %d/%d: caprobe %s (%d targets) ..." % (
                rnd + 1, args.repeat, label, len(lines)), end="")
            sys.stdout.flush()
            lst = os.path.join(tmp, "fig2-%d.txt" % len(lines))
            with open(lst, "w", encoding="ascii") as f:
                f.write("".join(x + "\n" for x in lines))
            argv = caprobe_base(caprobe, "1.2", args.timeout) + [
                "--dns-server", servers.dns_arg, "--dns-timeout", "%g" % DNS_TIMEOUT, "-i", lst]
            res = Result(label, len(lines), len(good))
            res.argv = argv
            stamps = []  # (seconds since the spawn, line)
            err = os.path.join(tmp, "fig2.err")
            limit = run_limit(args, len(lines))
            with Side(servers) as side:
                run = run_stream(argv, limit, err, lambda t, ln: stamps.append((t, ln)))
            res.side = side
            res.wall, res.cpu = run.wall, run.cpu
            status_notes(res, run, err, limit)
            expect = {addr_of(i): (addr_of(i), [None]) for i in range(g)}
            if lines is mixed:
                expect.update({"d%05d.%s" % (i, DEAD_SUFFIX): "dead" for i in range(g)})
            tally(res, [ln for _, ln in stamps], expect, truth)
            res.good_t, res.dead_t, res.dead_dns = [], [], collections.Counter()
            for t, ln in stamps:
                try:
                    o = json.loads(ln)
                except ValueError:
                    continue
                if o.get("host") in good_hosts:
                    res.good_t.append(t)
                else:
                    res.dead_t.append(t)
                    obs = (o.get("observations") or [{}])[0]
                    res.dead_dns[(obs.get("error") or {}).get("dns")] += 1
            out[label].runs.append(res)
            print(" %.2f s" % res.wall)
    return out


# ---------------------------------------------------------------- figure 3

def figure3(caprobe, tmp, servers, truth, args, sweep):
    hosts = [str(a) for a in sweep]  # network and broadcast included: caprobe probes them
    expect = {h: (h, [None]) for h in hosts}
    out = {}
    for tls in ("1.2", "1.3"):
        label = "sweep TLS %s" % tls
        print("  figure 3: caprobe --tls %s %s:%d (%d addresses) ..." % (
            tls, sweep, servers.port, len(hosts)), end="")
        sys.stdout.flush()
        target = "%s:%d" % (sweep, servers.port)
        res = run_caprobe(label, caprobe, tmp, servers, [target], None, expect, truth, args,
                          len(hosts), tls=tls)
        out[tls] = res
        print(" %.2f s" % res.wall)
    return out


# ---------------------------------------------------------------- report

def pct(vals, q):
    s = sorted(vals)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def median(vals):
    return pct(vals, 0.5)


def wrong_lines(groups, indent="    "):
    """The records that were not as expected; groups: the runs of each configuration."""
    if not any(r.wrong or r.notes for runs in groups for r in runs):
        return
    print("  records not as expected (count x why, e.g. a target):")
    for runs in groups:
        for k, res in enumerate(runs, 1):
            tag = res.label + (" #%d" % k if len(runs) > 1 else "")
            for why, cnt in res.wrong.most_common(6):
                print("%s%s: %d x %s, e.g. %s" % (indent, tag, cnt, why, res.examples[why]))
            for note in res.notes:
                print("%s%s: %s" % (indent, tag, note))


def shown(argv):
    return " ".join("LIST" if a.endswith(".txt") else a for a in argv)


def report(fig1, fig2, fig3, args, sweep, port):
    goals = []  # (figure, what, got, met or None)
    if fig1:
        series, ssl, sub = fig1
        n = args.names
        print()
        print("figure 1: host-name fleet, %d names on a loopback resolver answering after %d ms "
              "(TLS 1.2, --timeout %g, --dns-timeout %g); caprobe figures are the median of %d "
              "runs taken in turn" % (n, DNS_DELAY_MS, args.timeout, DNS_TIMEOUT, args.repeat))
        print("  %-24s %7s %6s %8s %10s %9s %8s %13s  %s" % (
            "run", "targets", "probes", "wall s", "targets/s", "CPU ms/t", "peak MiB",
            "correct", "wall of each run s"))
        for sr in series.values():
            r = sr.med()
            print("  %-24s %7d %6d %8.2f %10.0f %9.3f %8.1f %6d/%-6d  %s" % (
                "caprobe " + sr.label, r.targets, r.probes, r.wall, r.rate(),
                1000 * r.cpu / r.targets, r.peak_kib / 1024, sr.correct(), r.targets,
                sr.walls()))
        if ssl:
            print("  %-24s %7d %6d %8.2f %10.1f %9.3f %8s %6d/%-6d  (once)" % (
                ssl.label, ssl.targets, ssl.probes, ssl.wall, ssl.rate(),
                1000 * ssl.cpu / ssl.targets, "-", ssl.correct, ssl.targets))
        print("  (probes: TLS connections; sslscan makes 3 per name: a TCP test, a TLS 1.2 "
              "check, the CA list; correct: the worst run)")
        if args.netns:
            print("  UDP datagrams the kernel dropped for a full receive buffer, per run "
                  "(/proc/net/snmp RcvbufErrors, this namespace only):")
            for sr in series.values():
                print("    %-24s %s" % (sr.label, sr.drops()))
        print("  side, median run (same machine, not counted above):")
        for sr in series.values():
            print("    %-24s %s" % (sr.label, sr.med().side.line(sr.med().cpu)))
        if ssl:
            print("    %-24s %s" % (ssl.label, ssl.side.line(ssl.cpu)))
        print("  commands:")
        for sr in series.values():
            print("    %s" % shown(sr.runs[0].argv))
        if ssl:
            print("    %s, %d at a time, each killed %g s after its spawn (%d killed)" % (
                shown(ssl.argv), PEER_PARALLEL, ssl.deadline, ssl.killed))
        wrong_lines([sr.runs for sr in series.values()] + ([[ssl]] if ssl else []))
        a, s2, nm = series["addresses"], series["addresses+SNI"], series["names"]
        ratio = nm.med().wall / s2.med().wall
        plain = nm.med().wall / a.med().wall
        print("  names / addresses+SNI wall (the same 2 probes per target): %.2fx (goal at most "
              "%gx); names / plain addresses (half the probes): %.2fx" % (
                  ratio, GOAL_NAMES_VS_ADDRS, plain))
        goals.append((1, "names' wall within %gx of addresses' (%d targets, same probes)" % (
            GOAL_NAMES_VS_ADDRS, n), "%.2fx" % ratio, ratio <= GOAL_NAMES_VS_ADDRS))
        goals.append((1, "  (names / plain addresses, half the probes; no goal)",
                      "%.2fx" % plain, None))
        if nm.correct() < n:
            goals.append((1, "names: every name's record right in every run",
                          "%d/%d worst" % (nm.correct(), n), False))
        if ssl:
            tp = nm.med().rate() / ssl.rate() if ssl.rate() else float("inf")
            same = series.get("names, sslscan's %d" % len(sub), nm).med()
            print("  caprobe vs sslscan x%d, per-target throughput: caprobe %d names in %.2f s "
                  "= %.0f names/s; sslscan %d of those names (every %d-th) in %.2f s = %.1f "
                  "names/s -> %.1fx (goal at least %gx)" % (
                      PEER_PARALLEL, n, nm.med().wall, nm.med().rate(), ssl.targets,
                      max(1, n // len(sub)), ssl.wall, ssl.rate(), tp, GOAL_VS_SSLSCAN))
            print("  the same %d names: caprobe %.2f s, sslscan %.2f s -> wall %.1fx; CPU "
                  "%.1fx" % (ssl.targets, same.wall, ssl.wall, ssl.wall / same.wall,
                             ssl.cpu / same.cpu if same.cpu else float("inf")))
            goals.append((1, "caprobe >= %gx sslscan x%d (names/s; sslscan on %d of %d)" % (
                GOAL_VS_SSLSCAN, PEER_PARALLEL, ssl.targets, n), "%.1fx" % tp,
                tp >= GOAL_VS_SSLSCAN))
            goals.append((1, "  (the same %d names, wall; no goal)" % ssl.targets,
                          "%.1fx" % (ssl.wall / same.wall), None))
        else:
            print("  sslscan on names: skipped (%s)" % args.sslscan_why)
            goals.append((1, "caprobe >= %gx sslscan x%d on names" % (
                GOAL_VS_SSLSCAN, PEER_PARALLEL), "skipped", None))
    if fig2:
        alone, mixed = fig2["good alone"], fig2["good + dead"]
        g = args.dead
        print()
        print("figure 2: %d good addresses alone vs interleaved with %d names whose DNS server "
              "never answers (SILENT; --dns-timeout %g, TLS 1.2); records timestamped as they "
              "stream; %d rounds" % (g, g, DNS_TIMEOUT, args.repeat))
        print("  %-16s %7s %9s %14s %11s %25s %9s %9s" % (
            "run", "wall s", "CPU ms/t", "last good at s", "good right",
            "dead ended min/med/max s", "dead ok", "UDP drops"))
        for k in range(args.repeat):
            for sr in (alone, mixed):
                r = sr.runs[k]
                dead_txt = "%.2f / %.2f / %.2f" % (min(r.dead_t), median(r.dead_t),
                                                   max(r.dead_t)) if r.dead_t else "-"
                print("  %-16s %7.2f %9.3f %14.2f %5d/%-5d %25s %9s %9s" % (
                    "%s #%d" % (r.label, k + 1), r.wall, 1000 * r.cpu / r.targets,
                    max(r.good_t) if r.good_t else -1, r.correct_by["good"], g, dead_txt,
                    ("%d/%d" % (r.correct_by["dead"], g)) if sr is mixed else "-",
                    "-" if r.side.udp_drops is None else r.side.udp_drops))
        dns = collections.Counter()
        for r in mixed.runs:
            dns.update(r.dead_dns)
        print("  dead names' error.dns, all rounds: %s" % ", ".join(
            "%s %d" % kv for kv in dns.most_common()))
        print("  side, median run (same machine, not counted above):")
        for sr in (alone, mixed):
            print("    %-24s %s" % (sr.label, sr.med().side.line(sr.med().cpu)))
        print("  command: %s" % shown(mixed.runs[0].argv))
        wrong_lines([alone.runs, mixed.runs])
        la = median([max(r.good_t or [float("inf")]) for r in alone.runs])
        lm = median([max(r.good_t or [float("inf")]) for r in mixed.runs])
        ratio = lm / la if la else float("inf")
        print("  last good record, median of the rounds: alone %.2f s, mixed %.2f s -> %.2fx "
              "(goal at most %gx)" % (la, lm, ratio, GOAL_GOOD_VS_ALONE))
        all_dead = [t for r in mixed.runs for t in r.dead_t]
        lo, hi = (min(all_dead), max(all_dead)) if all_dead else (0, 0)
        print("  dead names ended %.2f to %.2f s after the spawn, all rounds (goal: within "
              "[%g, %g] s, error.dns timeout)" % (lo, hi, DNS_TIMEOUT,
                                                  DNS_TIMEOUT + GOAL_DEAD_SLACK))
        good_all = min(r.correct_by["good"] for r in mixed.runs) == g
        goals.append((2, "last good record mixed / alone at most %gx (median)" %
                      GOAL_GOOD_VS_ALONE, "%.2fx (%.2f s / %.2f s)" % (ratio, lm, la),
                      ratio <= GOAL_GOOD_VS_ALONE and good_all))
        ok = len(all_dead) == g * args.repeat and lo >= DNS_TIMEOUT and \
            hi <= DNS_TIMEOUT + GOAL_DEAD_SLACK and \
            min(r.correct_by["dead"] for r in mixed.runs) == g
        goals.append((2, "dead names end in [%g, %g] s (error.dns timeout)" % (
            DNS_TIMEOUT, DNS_TIMEOUT + GOAL_DEAD_SLACK), "%.2f-%.2f s" % (lo, hi), ok))
    if fig3:
        print()
        print("figure 3: sweep of %s:%d, one CIDR target, one probe per address (--timeout %g)"
              % (sweep, port, args.timeout))
        print("  %-8s %9s %8s %10s %13s %9s %15s" % (
            "--tls", "addresses", "wall s", "probes/s", "CPU ms/probe", "peak MiB", "correct"))
        for tls, r in fig3.items():
            print("  %-8s %9d %8.2f %10.0f %13.4f %9.1f %8d/%-6d" % (
                tls, r.targets, r.wall, r.rate(), 1000 * r.cpu / r.targets,
                (r.peak_kib or 0) / 1024, r.correct, r.targets))
        for tls, r in fig3.items():
            print("  nginx CPU, TLS %s: %.2f s = %.4f ms per handshake" % (
                tls, r.side.nginx, 1000 * r.side.nginx / r.targets))
        print("  side (same machine, not counted above):")
        for tls, r in fig3.items():
            print("    %-24s %s" % (r.label, r.side.line(r.cpu)))
        print("  command: %s" % shown(next(iter(fig3.values())).argv))
        wrong_lines([[r] for r in fig3.values()])
        for tls, r in fig3.items():
            goals.append((3, "sweep /%d TLS %s (figures only, no goal)" % (sweep.prefixlen, tls),
                          "%.0f probes/s, %.3f ms CPU, %.1f MiB, %d/%d right" % (
                              r.rate(), 1000 * r.cpu / r.targets, (r.peak_kib or 0) / 1024,
                              r.correct, r.targets), None))
    print()
    print("summary (issue 11, point 5; %d CPUs; load at the end %s):" % (os.cpu_count(),
                                                                        loadavg()))
    for fig, what, got, met in goals:
        print("  %d  %-62s %-26s %s" % (fig, what, got,
                                        "" if met is None else ("met" if met else "NOT MET")))
    if fig1 and args.netns:
        nm = fig1[0]["names"]
        drops = [r.side.udp_drops for r in nm.runs]
        lost = [r.wrong.get("dns timeout", 0) for r in nm.runs]
        if any(drops):
            print("  note: in the names runs the kernel dropped %s UDP datagrams (DNS answers to "
                  "caprobe's c-ares socket, its receive buffer full; the DNS server answered "
                  "every query), and %s names ended with error.dns timeout" % (
                      "/".join(str(d) for d in drops), "/".join(str(x) for x in lost)))


# ---------------------------------------------------------------- main

def preflight(servers, args):
    """What nginx sends (openssl s_client -msg) and, in the namespace, a glibc lookup."""
    names, desc = F.certificate_request_seen(servers.port)
    print("  nginx, 127.0.0.1:%d: %s  [%s]" % (
        servers.port, desc, "as configured" if names == 1 else "NOT AS CONFIGURED"))
    if names != 1:
        raise BenchError("nginx does not send the one-name list; records would be meaningless")
    if args.netns:
        t0 = time.monotonic()
        try:
            got = sorted({a[4][0] for a in socket.getaddrinfo(name_of(0), servers.port,
                                                              type=socket.SOCK_STREAM)})
        except OSError as e:
            raise BenchError("glibc cannot resolve %s through 127.0.0.1:53: %s" % (
                name_of(0), e))
        print("  glibc (resolv.conf -> 127.0.0.1:53): %s -> %s in %.0f ms" % (
            name_of(0), ", ".join(got), 1000 * (time.monotonic() - t0)))
        if got != [addr_of(0)]:
            raise BenchError("glibc resolves %s to %s, not %s" % (name_of(0), got, addr_of(0)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--caprobe", default=os.path.join(ROOT, "build", "caprobe"))
    ap.add_argument("--names", type=int, default=10000, help="figure 1 names (default 10000)")
    ap.add_argument("--sslscan-names", type=int, default=1000,
                    help="figure 1: names sslscan scans, a deterministic subset (0: all)")
    ap.add_argument("--dead", type=int, default=1000,
                    help="figure 2: dead names, and as many good addresses (default 1000)")
    ap.add_argument("--sweep-prefix", type=int, default=16,
                    help="figure 3: sweep 127.2.0.0/P (default 16: 65,536 addresses)")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="caprobe --timeout (default 10, caprobe's own default)")
    ap.add_argument("--figures", default="1,2,3", help="which figures (default 1,2,3)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each caprobe configuration of figures 1 and 2, taken in "
                    "turn; the median is reported (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="1,000 names, sslscan on 100, 200 dead, a /20, one round (a smoke "
                    "run)")
    ap.add_argument("--no-netns", action="store_true",
                    help="run on the machine's network even as root (no sslscan on names)")
    ap.add_argument("--run-limit", type=float, default=0.0,
                    help="a caprobe run still going after this many seconds is killed "
                    "(default: 300, or 10 ms per probe when that is more)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.names = min(args.names, 1000)
        args.sslscan_names = min(args.sslscan_names or 100, 100)
        args.dead = min(args.dead, 200)
        args.sweep_prefix = max(args.sweep_prefix, 20)
        args.repeat = 1
    figs = {int(x) for x in args.figures.split(",") if x.strip()}
    if not figs <= {1, 2, 3}:
        ap.error("--figures: a subset of 1,2,3")
    if not 2 <= args.names <= 60000 or not 1 <= args.dead <= args.names or \
            not 16 <= args.sweep_prefix <= 30 or args.sslscan_names < 0 or \
            not 1 <= args.repeat <= 9:
        ap.error("--names 2..60000, --dead 1..names, --sweep-prefix 16..30, "
                 "--sslscan-names >= 0, --repeat 1..9")
    caprobe = os.path.abspath(args.caprobe)
    if not os.access(caprobe, os.X_OK):
        print("names.py: %s is not an executable (make build)" % caprobe, file=sys.stderr)
        return 1
    F.interrupt_on_signals()

    args.netns = args.in_netns
    args.sslscan_why = None
    if not args.in_netns:
        why = "--no-netns" if args.no_netns else netns_unavailable()
        if why is None:
            return reexec_in_netns()
        args.sslscan_why = "no private network namespace: %s; glibc, and so sslscan, only " \
            "asks the DNS servers of /etc/resolv.conf, on port 53" % why
        print("names.py: on the machine's network: %s; the sweep is at most a /20" % why)
        args.sweep_prefix = max(args.sweep_prefix, 20)
    args.sslscan_subset = min(args.sslscan_names or args.names, args.names)
    sweep = ipaddress.IPv4Network("%s/%d" % (SWEEP_NET, args.sweep_prefix))

    tmp = tempfile.mkdtemp(prefix="caprobe-bench-names-")
    servers = Servers(tmp, args.netns)
    try:
        if args.netns:
            enter_netns_setup(tmp)
        truth = F.Truth()
        v = F.versions(caprobe)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        print("caprobe names benchmark: %d CPUs, kernel %s, RLIMIT_NOFILE %d/%d, load %s" % (
            os.cpu_count(), os.uname().release, soft, hard, loadavg()))
        print("  " + "; ".join("%s: %s" % kv for kv in v.items()))
        print("  network: %s" % ("private namespace (lo only); DNS server on 127.0.0.1:53, "
                                 "/etc/resolv.conf -> nameserver 127.0.0.1 (bind mount)"
                                 if args.netns else "the machine's loopback"))
        servers.start(args.names, sweep)
        print("  servers: nginx on %s, port %d (2 workers); DNS server %s, %d names + *.%s "
              "SILENT, answers after %d ms" % (
                  "0.0.0.0" if args.netns else "one listen line per 127.x address used",
                  servers.port, servers.dns_arg, args.names, DEAD_SUFFIX, DNS_DELAY_MS))
        preflight(servers, args)
        sys.stdout.flush()
        fig1 = figure1(caprobe, tmp, servers, truth, args) if 1 in figs else None
        fig2 = figure2(caprobe, tmp, servers, truth, args) if 2 in figs else None
        fig3 = figure3(caprobe, tmp, servers, truth, args, sweep) if 3 in figs else None
        report(fig1, fig2, fig3, args, sweep, servers.port)
        return 0
    except KeyboardInterrupt:
        print("\nnames.py: interrupted", file=sys.stderr)
        return 130
    except (BenchError, F.BenchError, subprocess.CalledProcessError, RuntimeError) as e:
        print("names.py: bench broke: %s" % e, file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        F.STOP.set()
        F.kill_running()
        servers.stop()
        if args.keep:
            print("temporary files kept in %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
