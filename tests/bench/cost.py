#!/usr/bin/env python3
"""caprobe probe cost benchmark (issue 17, point 4): CPU per probe and memory per in-flight probe
of TLS 1.2 and TLS 1.3 capture probes, next to the cost of one X25519 operation measured in the
same run, with the ratios and whether the goals are met.

A benchmark, not a test: it prints figures and exits 0 unless the bench itself broke. Python 3
standard library only; 127.0.0.0/8 only; every process and socket it opens is closed in
`finally`, also on Ctrl-C or SIGTERM. Run through `make bench` or `make bench-cost`, or:

    python3 tests/bench/cost.py --caprobe build/caprobe [--prefix 20] [--inflight 2000]
                                [--repeat 3] [--quick]

What runs, one after another on the same machine:
  X25519   `openssl speed -mr -seconds S ecdhx25519` (S = 3): its op/s (OpenSSL counts user CPU
           time, not wall) gives the CPU of one X25519 operation (one scalar multiplication: a
           shared secret; a key generation is one more). Then build/tests/bench/x25519-bench
           (tests/bench/x25519.c): CPU per X25519 keygen + agree (two operations) through
           mbedTLS's PSA, as caprobe called it, and through libsodium's
           crypto_scalarmult_curve25519, after checking both give the same secret for one key.
  server   fleet.py's nginx (nginx.conf.in, 2 workers, its "right list" block: one CA name, TLS
           1.2 and 1.3, EC P-256 certificate), one listen line per address of 127.9.0.0/P
           (backlog 4096), through hello.py's start_nginx.
  CPU      caprobe --tls V --per-address 0 -c 1024 127.9.0.0/P:PORT (P = 20: 4,096 probes, one per
           address) straight to nginx, V = 1.2 and 1.3 in turn, --repeat rounds (3); CPU per
           probe = user + system of the caprobe process (wait4) / probes, the median round. A
           record counts as correct when it is a certificate_request naming exactly the issuing
           CA (hello.py's tally).
  memory   nginx answers a probe in well under a millisecond, so in a sweep probes end before
           -c of them are in flight and peak RSS / concurrency says nothing. Here every probe is
           held at its fullest: a relay (asyncio, in this script) listens on N kernel-chosen
           ports of 127.0.0.1 (N = --inflight, 2,000) and passes each connection to nginx. It
           forwards the client's bytes at once and the server's records whole, up to the record
           after which caprobe has what it came for (learnt first: one probe through the relay,
           the server's records given one at a time with a 0.5 s pause after each, until caprobe
           closes); of that record it forwards all but its last byte. Once all N connections
           are at that point the relay reads caprobe's VmHWM (its peak RSS so far, /proc) and
           releases them. caprobe runs twice over the same list of the N relay ports: -c N (all
           N held at once) and -c 1 (one at a time: the same targets, list and output, one probe
           in flight). Memory per in-flight probe = (VmHWM of the -c N run when all N were held
           - peak RSS of the -c 1 run) / (N - 1); peak RSS = ru_maxrss of the caprobe process,
           forked by /bin/sh (fleet.py's trampoline, so that Python's own RSS is not
           inherited). Printed beside it, (ru_maxrss of the -c N run - the same) / (N - 1):
           that peak also holds the moment after the release, when all N records are made and
           queued for output at once, which a real scan spreads out. If not every connection
           reached the hold point within 120 s the relay releases them anyway and the output
           says how many were held at once (the goals are then not met).
Goals (issue 17): TLS 1.3 CPU per probe at most 10x one X25519 operation; at most 24 KiB per
in-flight TLS 1.3 probe; TLS 1.2 no worse than 0.08 ms and 8.5 KiB. The machine may be shared:
/proc/loadavg and how busy all CPUs were are printed with each run, and the ratios within one run
are what to compare.
"""

import argparse
import asyncio
import hashlib
import ipaddress
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet as F  # noqa: E402
import hello as H  # noqa: E402
import names as N  # noqa: E402  (loadavg)

NET = "127.9.0.0"
VERSIONS = ("1.2", "1.3")
LEARN_PAUSE = 0.5  # s after each record while learning where caprobe stops
HOLD_LIMIT = 120.0  # s: the relay releases its connections after this, all held or not
HOLD_BYTES = 1  # bytes of the last record kept back
INFLIGHT_TIMEOUT = 300  # caprobe --timeout of the memory runs: longer than HOLD_LIMIT

GOAL_X25519_RATIO = 10.0
GOAL_KIB_13 = 24.0
GOAL_CPU_MS_12 = 0.08
GOAL_KIB_12 = 8.5
BEFORE_SLACK = 10  # %: --before's TLS 1.2 CPU and this one's differ by noise within one run


# ---------------------------------------------------------------- X25519

def openssl_x25519(seconds):
    """(microseconds of CPU per X25519 operation, op/s, the line parsed) from openssl speed."""
    p = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "ecdhx25519"],
                       capture_output=True, text=True, timeout=120 + 2 * seconds)
    # -mr: "+F5:<index>:<bits>:<op/s>:<s/op>" for the ECDH result
    m = re.search(r"^\+F5:\d+:253:([0-9.]+):", p.stdout, re.M)
    if p.returncode != 0 or m is None:
        raise F.BenchError("openssl speed ecdhx25519: no +F5 line (status %d): %s" % (
            p.returncode, (p.stdout + p.stderr).strip()[-300:]))
    ops = float(m.group(1))
    return 1e6 / ops, ops, m.group(0)


def x25519_bench(caprobe, rounds):
    """{implementation: microseconds of CPU per keygen + agree} from x25519-bench, or a string
    saying why there is none."""
    exe = os.path.join(os.path.dirname(caprobe), "tests", "bench", "x25519-bench")
    if not os.access(exe, os.X_OK):
        return "%s not built (make build: ninja builds it with caprobe)" % exe
    p = subprocess.run([exe, str(rounds)], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise F.BenchError("x25519-bench: status %d: %s" % (p.returncode, p.stderr.strip()))
    out = {}
    for line in p.stdout.splitlines():
        name, us, _ = line.split()
        out[name] = float(us)
    return out


# ---------------------------------------------------------------- the holding relay

class RelayRun:
    """What one caprobe run did through the relay."""

    def __init__(self, mode, final, expect):
        self.mode, self.final, self.expect = mode, final, expect
        self.conns = 0
        self.active = 0  # connections not yet ended
        self.learnt = []  # learn: records given before caprobe closed, per connection
        self.held = 0  # connections at the hold point now
        self.max_held = 0
        self.reached = 0  # connections that reached the hold point
        self.early = 0  # hold: caprobe closed before the hold point
        self.upstream_errors = 0
        self.released = None  # asyncio.Event, made on the loop
        self.release_why = None
        self.at_hold = None  # caprobe's VmRSS and VmHWM (KiB) when all were held
        self.timer = None


class Relay:
    """N listening ports on 127.0.0.1 (kernel-chosen), each connection passed to upstream; an
    asyncio loop on its own thread. arm() sets how the next run's connections are treated."""

    def __init__(self, n, upstream, caprobe):
        self.n, self.upstream, self.caprobe = n, upstream, os.path.realpath(caprobe)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers = []
        self.tasks = set()
        self.run = None
        self.ports = []

    def _call(self, coro, timeout=120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self):
        self.thread.start()
        self._call(self._listen())

    async def _listen(self):
        for _ in range(self.n):
            srv = await asyncio.start_server(self._conn, "127.0.0.1", 0, backlog=8)
            self.servers.append(srv)
            self.ports.append(srv.sockets[0].getsockname()[1])

    def arm(self, mode, final=0, expect=1):
        async def arm():
            self.run = RelayRun(mode, final, expect)
            self.run.released = asyncio.Event()
            return self.run
        return self._call(arm())

    def stop(self):
        async def stop():
            for srv in self.servers:
                srv.close()
            for t in list(self.tasks):
                t.cancel()
            await asyncio.sleep(0)
        if self.thread.is_alive():
            try:
                self._call(stop(), 30)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(30)

    async def _conn(self, cr, cw):
        task = asyncio.current_task()
        self.tasks.add(task)
        run = self.run
        run.conns += 1
        run.active += 1
        sw = None
        try:
            try:
                sr, sw = await asyncio.open_connection(*self.upstream)
            except OSError:
                run.upstream_errors += 1
                return
            closed = asyncio.Event()  # caprobe closed its side
            up = asyncio.ensure_future(self._pump(cr, sw, closed))
            try:
                if run.mode == "learn":
                    await self._learn(run, sr, cw, closed)
                else:
                    await self._hold(run, sr, cw, closed)
            finally:
                up.cancel()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # cancelled: the relay stops (not re-raised: asyncio 3.11 would log it)
        finally:
            for w in (cw, sw):
                if w is not None:
                    w.close()
            run.active -= 1
            self.tasks.discard(task)

    def settle(self, run, limit=30.0):
        """Wait until every connection of run has ended (caprobe has exited: its closes reach
        the relay's loop a little later), at most limit seconds."""
        end = time.monotonic() + limit
        while run.active and time.monotonic() < end:
            time.sleep(0.02)

    @staticmethod
    async def _pump(reader, writer, closed):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            closed.set()
            writer.close()  # the server sees the close as well and ends its side

    @staticmethod
    async def _record_or_close(sr, closed):
        """The server's next whole record, or None when caprobe closed first."""
        async def record():
            head = await sr.readexactly(5)
            return head + await sr.readexactly((head[3] << 8) | head[4])
        rd = asyncio.ensure_future(record())
        cl = asyncio.ensure_future(closed.wait())
        done, _ = await asyncio.wait({rd, cl}, return_when=asyncio.FIRST_COMPLETED)
        if rd in done:
            cl.cancel()
            return rd.result()
        rd.cancel()
        return None

    async def _learn(self, run, sr, cw, closed):
        given = 0
        while True:
            rec = await self._record_or_close(sr, closed)
            if rec is None:
                run.learnt.append(given)
                return
            cw.write(rec)
            await cw.drain()
            given += 1
            try:
                await asyncio.wait_for(closed.wait(), LEARN_PAUSE)
            except asyncio.TimeoutError:
                continue
            run.learnt.append(given)
            return

    async def _hold(self, run, sr, cw, closed):
        if run.timer is None:
            run.timer = self.loop.call_later(HOLD_LIMIT, self._release, run, "the %g s bound"
                                             % HOLD_LIMIT)
        rec = None
        for i in range(run.final):
            rec = await self._record_or_close(sr, closed)
            if rec is None:
                run.early += 1
                return
            if i + 1 < run.final:
                cw.write(rec)
        cw.write(rec[:-HOLD_BYTES])
        await cw.drain()
        run.held += 1
        run.reached += 1
        run.max_held = max(run.max_held, run.held)
        released = run.released  # _release may put a new one in its place
        if run.held >= run.expect:
            self._release(run, "all %d held" % run.expect)
        if not released.is_set():
            cl = asyncio.ensure_future(closed.wait())
            rel = asyncio.ensure_future(released.wait())
            await asyncio.wait({cl, rel}, return_when=asyncio.FIRST_COMPLETED)
            cl.cancel()
            rel.cancel()
        run.held -= 1
        cw.write(rec[-HOLD_BYTES:])
        await cw.drain()
        while not closed.is_set():  # the rest, as it comes
            data = await sr.read(65536)
            if not data:
                break
            cw.write(data)
            await cw.drain()

    def _release(self, run, why):
        if run.released.is_set():
            return
        if run.release_why is None and run.expect > 1:
            run.at_hold = self._caprobe_status()
            run.release_why = why
        if run.timer is not None:
            run.timer.cancel()
        run.released.set()
        if run.expect == 1:  # one at a time: the next connection is held again
            run.released = asyncio.Event()

    def _caprobe_status(self):
        """{"VmRSS": KiB, "VmHWM": KiB} of our child process running caprobe (re-parented to
        this script by fleet.py's trampoline), or None."""
        pids = []
        for tid in os.listdir("/proc/self/task"):
            try:
                with open("/proc/self/task/%s/children" % tid) as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
        for pid in pids:
            try:
                if os.path.realpath("/proc/%d/exe" % pid) != self.caprobe:
                    continue
                with open("/proc/%d/status" % pid) as f:
                    v = dict(line.split(":", 1) for line in f if ":" in line)
                return {k: int(v[k].split()[0]) for k in ("VmRSS", "VmHWM")}
            except OSError:
                pass
        return None


def inflight_argv(caprobe, tls, conc, lst):
    return [caprobe, "--tls", tls, "--per-address", "0", "--timeout", str(INFLIGHT_TIMEOUT),
            "-c", str(conc), "-q", "--format", "jsonl-compact", "-i", lst]


def relay_run(relay, caprobe, tmp, tls, conc, ports, mode, final, want_sha):
    """caprobe over the relay ports, with the relay in mode; returns (fleet Run, RelayRun,
    correct, wrong)."""
    tag = "%s-%s-c%d" % (mode, tls, conc)
    lst = os.path.join(tmp, tag + ".txt")
    with open(lst, "w", encoding="ascii") as f:
        f.write("".join("127.0.0.1:%d\n" % p for p in ports))
    out, err = os.path.join(tmp, tag + ".jsonl"), os.path.join(tmp, tag + ".err")
    rr = relay.arm(mode, final, min(conc, len(ports)))
    limit = HOLD_LIMIT + INFLIGHT_TIMEOUT + 60
    r = F.run_process(inflight_argv(caprobe, tls, conc, lst), out, limit, err_path=err,
                      clean_rss=True, keep_out=False)
    if r.killed or r.status not in (0, 1 << 8):
        raise F.BenchError("%s: status %s%s:\n%s" % (tag, r.status, " (killed)" if r.killed
                                                     else "", F._tail(err, 5)))
    relay.settle(rr)
    correct, wrong, _ = H.tally(out, want_sha)
    return r, rr, correct, wrong


def learn_final(relay, caprobe, tmp, tls, port, want_sha):
    r, rr, correct, wrong = relay_run(relay, caprobe, tmp, tls, 1, [port], "learn", 0, want_sha)
    if correct != 1 or len(rr.learnt) != 1 or rr.learnt[0] < 1:
        raise F.BenchError("learning TLS %s: caprobe stopped after %s records, record %s %s" % (
            tls, rr.learnt, "right" if correct else "wrong", wrong))
    return rr.learnt[0]


def memory(relay, caprobe, tmp, tls, want_sha):
    """The in-flight figures of one version: learnt record, both runs."""
    final = learn_final(relay, caprobe, tmp, tls, relay.ports[0], want_sha)
    n = len(relay.ports)
    big = relay_run(relay, caprobe, tmp, tls, n, relay.ports, "hold", final, want_sha)
    one = relay_run(relay, caprobe, tmp, tls, 1, relay.ports, "hold", final, want_sha)
    hwm = big[1].at_hold["VmHWM"] if big[1].at_hold else big[0].maxrss_kib
    return {"final": final, "big": big, "one": one, "n": n,
            "kib": (hwm - one[0].maxrss_kib) / (n - 1),
            "kib_exit": (big[0].maxrss_kib - one[0].maxrss_kib) / (n - 1)}


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--caprobe", default=os.path.join(F.ROOT, "build", "caprobe"))
    ap.add_argument("--prefix", type=int, default=20,
                    help="CPU runs: 127.9.0.0/P, one probe per address (default 20: 4,096)")
    ap.add_argument("--inflight", type=int, default=2000,
                    help="memory runs: probes held in flight at once (default 2000)")
    ap.add_argument("--repeat", type=int, default=3, help="CPU rounds (default 3)")
    ap.add_argument("--speed-seconds", type=int, default=3,
                    help="openssl speed -seconds (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="a /24, 200 in flight, one round, openssl speed 1 s (a smoke run)")
    ap.add_argument("--before", metavar="CAPROBE",
                    help="an earlier caprobe binary: its TLS 1.2 CPU rounds and memory run in "
                    "the same bench, taken in turn with --caprobe's, for 'TLS 1.2 no worse'")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    if args.quick:
        args.prefix, args.repeat = max(args.prefix, 24), 1
        args.inflight, args.speed_seconds = min(args.inflight, 200), 1
    if not 16 <= args.prefix <= 28 or not 1 <= args.repeat <= 15 or \
            not 2 <= args.inflight <= 20000 or not 1 <= args.speed_seconds <= 30:
        ap.error("--prefix 16..28, --repeat 1..15, --inflight 2..20000, --speed-seconds 1..30")
    caprobe = os.path.abspath(args.caprobe)
    before = os.path.abspath(args.before) if args.before else None
    for exe in (caprobe, before):
        if exe and not os.access(exe, os.X_OK):
            print("cost.py: %s is not an executable (make build)" % exe, file=sys.stderr)
            return 1
    F.interrupt_on_signals()
    # the relay holds 3 descriptors per probe in flight, caprobe one; children inherit this
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * args.inflight + 1024
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    if soft < want:
        print("cost.py: RLIMIT_NOFILE %d < %d: --inflight %d needs more descriptors" % (
            soft, want, args.inflight), file=sys.stderr)
        return 1
    net = list(ipaddress.IPv4Network("%s/%d" % (NET, args.prefix)))
    probes = len(net)
    tmp = tempfile.mkdtemp(prefix="caprobe-bench-cost-")
    nginx = relay = None
    try:
        want_sha = hashlib.sha256(F.cert_subject(
            F.pem_certs(os.path.join(F.PKI, "issuing.pem"))[0])).hexdigest()
        print("caprobe probe cost benchmark (issue 17): %d CPUs, kernel %s, RLIMIT_NOFILE %d, "
              "load %s" % (os.cpu_count(), os.uname().release, soft, N.loadavg()))
        print("  " + "; ".join("%s: %s" % kv for kv in F.versions(caprobe).items()
                               if kv[0] != "sslscan"))
        sys.stdout.flush()

        x_us, x_ops, x_line = openssl_x25519(args.speed_seconds)
        print("  X25519, openssl speed -mr -seconds %d ecdhx25519: %s -> %.0f op/s of CPU = "
              "%.1f us per operation (load %s)" % (args.speed_seconds, x_line, x_ops, x_us,
                                                   N.loadavg()))
        micro = x25519_bench(caprobe, 50 if args.quick else 400)
        if isinstance(micro, str):
            print("  X25519 keygen + agree: %s" % micro)
        else:
            psa, sod = micro["mbedtls-psa"], micro["libsodium"]
            print("  X25519 keygen + agree (2 operations), CPU per pair, x25519-bench: mbedTLS "
                  "PSA %.1f us = %.1fx openssl's operation; libsodium %.1f us = %.1fx; PSA / "
                  "libsodium %.1fx" % (psa, psa / x_us, sod, sod / x_us, psa / sod))
        sys.stdout.flush()

        nginx, port = H.start_nginx(tmp, net, "backlog=4096", conns=args.inflight)
        print("  nginx on %s/%d port %d (one listen line per address, backlog 4096, 2 "
              "workers)" % (NET, args.prefix, port))
        cpu = {v: [] for v in VERSIONS}
        # --before: its TLS 1.2 rounds, keyed "1.2 before", in turn with the others
        kinds = [(v, caprobe, v) for v in VERSIONS]
        if before:
            print("  before: %s" % F.versions(before)["caprobe"])
            kinds.append(("1.2 before", before, "1.2"))
            cpu["1.2 before"] = []
        for rnd in range(args.repeat):
            for key, exe, v in kinds if rnd % 2 == 0 else kinds[::-1]:
                run = H.one_run(exe, tmp, nginx, port, args.prefix, probes, "sweep-" + v,
                                [], want_sha, tls=v, net=NET)
                cpu[key].append(run)
                print("  CPU round %d TLS %s: %d probes, wall %.2f s, caprobe %.4f ms CPU per "
                      "probe, nginx %.4f ms, machine busy %.1f CPU-s, correct %d/%d%s; load %s" % (
                          rnd + 1, key, probes, run.r.wall, run.cpu_ms,
                          1000.0 * run.nginx_cpu / probes, run.busy, run.correct, probes,
                          " other: %s" % run.wrong if run.wrong else "", N.loadavg()))
                sys.stdout.flush()

        relay = Relay(args.inflight, (str(net[0]), port), caprobe)
        relay.start()
        print("  memory: a relay on %d ports holds every probe at its fullest (the server's "
              "records up to the one after which caprobe stops, that one but its last byte) "
              "until all are held; per in-flight probe = (caprobe's VmHWM then - peak RSS of "
              "the same list at -c 1) / (N - 1); see the docstring" % args.inflight)
        mem = {}
        for key, exe, v in kinds:
            relay.caprobe = os.path.realpath(exe)  # whose /proc status the relay reads
            m = mem[key] = memory(relay, exe, tmp, v, want_sha)
            for run_key, conc in (("big", m["n"]), ("one", 1)):
                r, rr, correct, wrong = m[run_key]
                print("  memory TLS %s -c %-5d: %d probes via the relay, held at record %d "
                      "less %d byte: reached %d, at once at most %d (%s)%s; peak RSS %.1f MiB%s; "
                      "wall %.1f s; correct %d/%d%s; load %s" % (
                          key, conc, m["n"], m["final"], HOLD_BYTES, rr.reached, rr.max_held,
                          rr.release_why or "one at a time",
                          ", %d closed early" % rr.early if rr.early else "",
                          r.maxrss_kib / 1024,
                          "" if rr.at_hold is None else
                          " (when all were held: VmHWM %.1f MiB, VmRSS %.1f MiB)" % (
                              rr.at_hold["VmHWM"] / 1024, rr.at_hold["VmRSS"] / 1024),
                          r.wall, correct, m["n"], " other: %s" % wrong if wrong else "",
                          N.loadavg()))
                sys.stdout.flush()

        med = {k: statistics.median(x.cpu_ms for x in cpu[k]) for k in cpu}
        x_ms = x_us / 1000
        print()
        print("| TLS | caprobe CPU per probe (median of %d) | / one X25519 op (%.1f us) | "
              "memory per in-flight probe (peak while held) | (peak to exit) | held at once | "
              "correct (worst run) |" % (args.repeat, x_us))
        print("|---|---|---|---|---|---|---|")
        for v in cpu:
            m = mem[v]
            print("| %s | %.4f ms | %.1fx | %.2f KiB | %.2f KiB | %d of %d | %d/%d sweep, %d/%d "
                  "held |" % (v, med[v], med[v] / x_ms, m["kib"], m["kib_exit"],
                              m["big"][1].max_held, m["n"], min(x.correct for x in cpu[v]),
                              probes, min(m["big"][2], m["one"][2]), m["n"]))
        print("  peak while held: VmHWM of caprobe when all were held; to exit: its ru_maxrss, "
              "which adds the moment the relay releases them all at once (every record made "
              "and queued for output together, which a real scan spreads out)")
        all_held = all(mem[v]["big"][1].max_held == mem[v]["n"] for v in cpu)
        goals = [
            ("TLS 1.3 CPU per probe <= %gx one X25519 operation" % GOAL_X25519_RATIO,
             "%.1fx (%.3f ms)" % (med["1.3"] / x_ms, med["1.3"]),
             med["1.3"] <= GOAL_X25519_RATIO * x_ms),
            ("TLS 1.3 memory per in-flight probe <= %g KiB" % GOAL_KIB_13,
             "%.2f KiB" % mem["1.3"]["kib"], mem["1.3"]["kib"] <= GOAL_KIB_13 and all_held),
            ("TLS 1.2 CPU per probe <= %g ms" % GOAL_CPU_MS_12,
             "%.4f ms (%.1fx X25519)" % (med["1.2"], med["1.2"] / x_ms),
             med["1.2"] <= GOAL_CPU_MS_12),
            ("TLS 1.2 memory per in-flight probe <= %g KiB" % GOAL_KIB_12,
             "%.2f KiB" % mem["1.2"]["kib"], mem["1.2"]["kib"] <= GOAL_KIB_12 and all_held),
        ]
        if before:
            b_cpu, b_kib = med["1.2 before"], mem["1.2 before"]["kib"]
            goals += [
                ("TLS 1.2 CPU per probe <= --before's + %d %% (%.4f ms)" % (BEFORE_SLACK, b_cpu),
                 "%.4f ms (%.2fx)" % (med["1.2"], med["1.2"] / b_cpu),
                 med["1.2"] <= b_cpu * (1 + BEFORE_SLACK / 100)),
                ("TLS 1.2 memory per in-flight probe <= --before's (%.2f KiB)" % b_kib,
                 "%.2f KiB" % mem["1.2"]["kib"], mem["1.2"]["kib"] <= b_kib and all_held),
            ]
        print()
        print("TLS 1.3 / TLS 1.2: CPU %.1fx, memory per in-flight probe %.2fx" % (
            med["1.3"] / med["1.2"], mem["1.3"]["kib"] / mem["1.2"]["kib"]
            if mem["1.2"]["kib"] > 0 else float("inf")))
        print("summary (issue 17, point 4; %d CPUs; load at the end %s)%s:" % (
            os.cpu_count(), N.loadavg(), "" if all_held else
            " -- NOT every probe was held at once: the memory figures are too low"))
        for what, got, met in goals:
            print("  %-56s %-28s %s" % (what, got, "met" if met else "NOT MET"))
        if not isinstance(micro, str):
            print("  (X25519 keygen + agree: mbedTLS PSA %.1f us, libsodium %.1f us = %.1fx "
                  "faster; openssl speed's one operation %.1f us)" % (psa, sod, psa / sod, x_us))
        return 0
    except KeyboardInterrupt:
        print("\ncost.py: interrupted", file=sys.stderr)
        return 130
    except (F.BenchError, subprocess.SubprocessError, OSError) as e:
        print("cost.py: bench broke: %s" % e, file=sys.stderr)
        return 1
    finally:
        # the relay too: end_bench ignores signals first and stops each server whatever the
        # others do (a relay.stop() that timed out or was interrupted here left nginx running)
        F.end_bench(tmp, args.keep, relay, nginx)


if __name__ == "__main__":
    sys.exit(main())
