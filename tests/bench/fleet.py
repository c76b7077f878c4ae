#!/usr/bin/env python3
"""caprobe fleet benchmark: a loopback fleet, the same target list scanned by caprobe, by
`openssl s_client` and by `sslscan --show-client-cas` (64 at a time each); prints wall time, CPU
per target, peak memory and correct records per tool, the ratios caprobe vs each peer, and the
memory per in-flight probe from a second caprobe run with 10,000 stalled probes in flight.

A benchmark, not a test: it prints figures and whether the issue's targets are met, and exits 0
unless the bench itself broke. Python 3 standard library only; 127.0.0.1 only; every process it
starts is killed in `finally`, also on Ctrl-C or SIGTERM. Run through `make bench`, or:

    python3 tests/bench/fleet.py --caprobe build/caprobe [--endpoints N] [--quick]

The fleet (N endpoints, default 1,200, in a fixed pseudo-random order):
  right list   nginx, ssl_verify_client optional + ssl_client_certificate fixtures/pki/issuing.pem
  dump         nginx, ssl_verify_client optional + ssl_client_certificate <system root bundle>
  no request   nginx, no ssl_verify_client
  empty list   nginx, ssl_verify_client optional_no_ca, no ssl_client_certificate
  stalled      our own listener process: accepts and holds the connection, never reads or answers
  closed       a socket bound to 127.0.0.1:PORT by this script and held without listen(): the
               kernel answers RST (refused), and no other socket (not even an ephemeral client
               port) can take the port while the bench runs
N/12 stalled, N/12 closed, the rest split evenly between the four nginx kinds. One nginx serves
all nginx endpoints (one server block per kind, one listen line per port). Ports are chosen by
the kernel (bind to port 0); before the runs, one endpoint of each kind is checked with
`openssl s_client -msg` and what the server really sent is printed.

How each figure is measured:
  wall     from the first spawn to the last exit of the tool's processes (time.monotonic)
  CPU      user + system time of the tool's processes (os.wait4 rusage), divided by N targets;
           nginx, the stall listener and this script are not counted for any tool (their CPU
           during each timed run is printed on its own line)
  peak     caprobe: ru_maxrss of the one caprobe process; peers: 64 x the largest ru_maxrss of
           one peer process (the footprint of 64 such processes in flight), taken from an
           untimed extra run of 3 endpoints of every kind. Every process whose ru_maxrss is used
           is forked by /bin/sh and re-parented to this script (a child subreaper): a process
           spawned by Python directly inherits Python's own high-water RSS in ru_maxrss
           (Linux carries the replaced memory's peak over at exec). The timed peer runs spawn
           directly, because the extra exec of the shell costs several ms of CPU here
  correct  the tool's record of an endpoint equals what the endpoint was configured to do:
           right list = exactly the issuing CA's name; dump = as many names as the bundle has
           distinct subjects (caprobe: the same DER set); no request; empty list (a request with
           zero names, distinguished from no request); stalled = timeout; closed = refused
  deadline 3 s: caprobe --timeout 3; a peer process is killed 3 s after its spawn (recorded as
           a timeout); sslscan's own --timeout=3 applies per socket operation and would take
           6.3 s on a stalled endpoint (its protocol check and its CA connection each wait 3 s).
           64 peer processes share 2 CPUs: one starved past its deadline is a timeout record
           (not correct), as a scan with that deadline would report it
  sslscan  2.0.7 with --show-client-cas and every other test it can turn off (SSLSCAN_OPTS); it
           still opens a TCP test connection and makes a TLS 1.2 protocol check before the
           connection that reads the CA list (3 connections per target), and prints the same
           "None defined (any)" for no request and for an empty list (counted as not correct)
  empty    nginx 1.22.1 + OpenSSL 3.0, optional_no_ca without ssl_client_certificate: a
           CertificateRequest with certificate_authorities of length 0 (checked at start-up)
  per-probe memory  (peak RSS of caprobe with M stalled probes in flight - peak RSS of a run
           with one stalled target) / M, in KiB; M = 10,000 by default, spread over 10,000
           distinct ports of two stall processes (5,000 listeners + 5,000 connections each)
"""

import argparse
import base64
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PKI = os.path.join(ROOT, "fixtures", "pki")
ROOT_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

KINDS = ("right", "dump", "none", "empty", "stalled", "closed")
PEER_PARALLEL = 64
MEM_SAMPLE = 3  # peer processes per endpoint kind whose peak RSS is measured
STALL_PER_PROCESS = 5000

# Targets of the issue.
TARGET_WALL_VS_SSLSCAN = 3.0  # sslscan wall / caprobe wall at least this
TARGET_CPU_MS = 0.2  # caprobe CPU per target at most this
TARGET_KIB_PER_PROBE = 48.0  # caprobe peak memory per in-flight probe at most this

SSLSCAN_OPTS = ["--show-client-cas", "--no-colour", "--tls12", "--timeout=3", "--no-ciphersuites",
                "--no-renegotiation", "--no-compression", "--no-heartbleed", "--no-groups",
                "--no-check-certificate", "--no-fallback", "--no-cipher-details"]


class BenchError(Exception):
    """The bench itself broke (not a tool's result)."""


# ---------------------------------------------------------------- DER and PEM

def _tlv(b, i):
    """(tag, start of value, end of value) of the DER element at b[i]."""
    if i + 2 > len(b):
        raise ValueError("truncated DER")
    tag, n, j = b[i], b[i + 1], i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    if j + n > len(b):
        raise ValueError("DER length overrun")
    return tag, j, j + n


def cert_subject(der):
    """DER bytes of the subject Name of a certificate (RFC 5280 4.1)."""
    _, s, _ = _tlv(der, 0)  # Certificate
    _, i, _ = _tlv(der, s)  # TBSCertificate
    tag, _, end = _tlv(der, i)
    if tag == 0xA0:  # [0] version
        i = end
    for _ in range(4):  # serialNumber, signature, issuer, validity
        _, _, i = _tlv(der, i)
    _, _, end = _tlv(der, i)
    return der[i:end]


def name_cn(name_der):
    """The first commonName of a DER Name, as text (or '')."""
    _, i, end = _tlv(name_der, 0)
    while i < end:
        _, s, e = _tlv(name_der, i)  # SET
        j = s
        while j < e:
            _, as_, ae = _tlv(name_der, j)  # AttributeTypeAndValue
            _, os_, oe = _tlv(name_der, as_)
            if name_der[os_:oe] == b"\x55\x04\x03":
                _, vs, ve = _tlv(name_der, oe)
                return name_der[vs:ve].decode("utf-8", "replace")
            j = ae
        i = e
    return ""


def pem_certs(path):
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read()
    return [base64.b64decode(m) for m in
            re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)]


# ---------------------------------------------------------------- stall server (child mode)

def stall_server(count):
    """Listen on COUNT kernel-chosen 127.0.0.1 ports, print them on one line, accept and hold
    every connection without reading or writing; close a connection only when the client has
    closed it (EPOLLRDHUP, no data read). Exit when stdin (a pipe from the bench) closes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * count + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    ep = select.epoll()
    listeners = {}
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        s.setblocking(False)
        listeners[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    sys.stdout.write(" ".join(str(s.getsockname()[1]) for s in listeners.values()) + "\n")
    sys.stdout.flush()
    ep.register(0, select.EPOLLIN)
    conns = {}
    while True:
        for fd, _ in ep.poll(-1, 4096):
            if fd == 0:
                if not os.read(0, 4096):
                    return
            elif fd in listeners:
                while True:
                    try:
                        c, _ = listeners[fd].accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:  # EMFILE and the like: leave it in the backlog
                        break
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLRDHUP)
            else:
                c = conns.pop(fd, None)
                if c is not None:
                    ep.unregister(fd)
                    c.close()


class StallServers:
    """One or more stall server processes, each in its own process group."""

    def __init__(self):
        self.procs = []
        self.ports = []

    def start(self, count, per=STALL_PER_PROCESS):
        while count > 0:
            n = min(count, per)
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--stall-server", str(n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 start_new_session=True)
            self.procs.append(p)
            line = p.stdout.readline().decode()
            ports = [int(x) for x in line.split()]
            if len(ports) != n:
                raise BenchError("stall server did not start (%d of %d ports)" % (len(ports), n))
            self.ports.extend(ports)
            count -= n
        return self.ports

    def stop(self):
        for p in self.procs:
            _stop_group(p)
        self.procs = []


def _stop_group(p, grace=5.0):
    """Stop a Popen started with start_new_session: SIGTERM to its group, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        try:  # workers of nginx may outlive their master for a moment
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            try:
                f.close()
            except OSError:
                pass


# ---------------------------------------------------------------- fleet

def free_ports(n):
    """n distinct free 127.0.0.1 ports, chosen by the kernel (bound at once, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def proc_cpu(pids):
    """CPU seconds (user + system) used so far by the processes pids, from /proc (0 for one
    that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def _die_with_parent():
    """preexec_fn: the kernel sends SIGTERM to the child when this script dies, even by
    SIGKILL (PR_SET_PDEATHSIG), so a server cannot outlive the bench."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:
        pass


NGINX_KINDS = ("right", "dump", "none", "empty")


class Nginx:
    """One nginx from nginx.conf.in in the private prefix folder PREFIX (2 workers), in its own
    process group. listens: {kind: [listen address and parameters, ...]} for each of
    NGINX_KINDS, e.g. "127.0.0.1:8443" or "0.0.0.0:8443 backlog=4096"; every kind needs at least
    one (a server block without a listen line would take port 80)."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.proc = None
        self.error = ""

    def start(self, listens, conns, ready, limit=20.0):
        """Start it with worker_connections conns; True once every (host, port) of ready
        accepts a TCP connection, else False with the end of its logs in self.error (and
        stopped)."""
        for d in ("", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        with open(os.path.join(HERE, "nginx.conf.in"), encoding="utf-8") as f:
            template = string.Template(f.read())
        n_listen = sum(len(v) for v in listens.values())
        conns += n_listen  # every listening socket takes a connection slot in every worker
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        rlimit = 2 * conns if os.geteuid() == 0 or hard == resource.RLIM_INFINITY \
            else min(hard, 2 * conns)
        fields = {"prefix": self.prefix, "rlimit_nofile": rlimit, "worker_connections": conns,
                  "server_cert": os.path.join(PKI, "server.pem"),
                  "server_key": os.path.join(PKI, "server.key"),
                  "issuing_ca": os.path.join(PKI, "issuing.pem"), "root_bundle": ROOT_BUNDLE}
        for k in NGINX_KINDS:
            if not listens.get(k):
                raise BenchError("nginx: no listen line for the %s server block" % k)
            fields["listen_" + k] = "\n".join("        listen %s ssl;" % x for x in listens[k])
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(template.substitute(fields))
        log = os.path.join(self.prefix, "error.log")
        out = open(os.path.join(self.prefix, "nginx.out"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-p", self.prefix + "/", "-c", conf,
             "-e", log], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        out.close()
        try:
            ready = self._wait_ready(ready, limit)
        except BaseException:  # Ctrl-C or SIGTERM while waiting: the caller has no nginx to stop
            self.stop()
            raise
        if ready:
            return True
        self.stop()
        self.error = _tail(log, 5) + _tail(os.path.join(self.prefix, "nginx.out"), 5)
        return False

    def _wait_ready(self, ready, limit):
        end = time.monotonic() + limit
        pending = list(ready)
        while pending and time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            still = []
            for hp in pending:
                try:
                    socket.create_connection(hp, timeout=1).close()
                except OSError:
                    still.append(hp)
            pending = still
            if pending:
                time.sleep(0.05)
        return not pending

    def pids(self):
        """The master and its workers."""
        if self.proc is None:
            return []
        pids = [self.proc.pid]
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return pids

    def cpu(self):
        """CPU seconds used so far by the master and its workers."""
        return proc_cpu(self.pids())

    def stop(self):
        if self.proc is not None:
            _stop_group(self.proc)
            self.proc = None


class Fleet:
    def __init__(self, tmp, n, seed):
        self.tmp = tmp
        self.n = n
        self.seed = seed
        self.nginx = None
        self.stall = StallServers()
        self.closed_socks = []
        self.endpoints = []  # (port, kind) in scan order
        n_stall = max(1, n // 12)
        n_closed = max(1, n // 12)
        rest = n - n_stall - n_closed
        if rest < 4:
            raise BenchError("--endpoints must be at least 6 + 4")
        self.counts = {k: rest // 4 + (1 if i < rest % 4 else 0)
                       for i, k in enumerate(("right", "dump", "none", "empty"))}
        self.counts["stalled"] = n_stall
        self.counts["closed"] = n_closed

    def start(self):
        by_kind = {}
        for _ in range(self.counts["closed"]):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            self.closed_socks.append(s)
        by_kind["closed"] = [s.getsockname()[1] for s in self.closed_socks]
        by_kind["stalled"] = self.stall.start(self.counts["stalled"])
        by_kind.update(self._start_nginx())
        eps = [(p, k) for k in KINDS for p in by_kind[k]]
        random.Random(self.seed).shuffle(eps)
        self.endpoints = eps

    def _start_nginx(self):
        n_ng = sum(self.counts[k] for k in NGINX_KINDS)
        conns = 2 * self.n + 1024  # connections in flight (each tool's), and a margin
        last_err = ""
        for attempt in range(3):
            ports = free_ports(n_ng)
            by_kind, i = {}, 0
            for k in NGINX_KINDS:
                by_kind[k] = ports[i:i + self.counts[k]]
                i += self.counts[k]
            nginx = Nginx(os.path.join(self.tmp, "nginx"))
            listens = {k: ["127.0.0.1:%d" % p for p in by_kind[k]] for k in NGINX_KINDS}
            if nginx.start(listens, conns, [("127.0.0.1", p) for p in ports]):
                self.nginx = nginx
                return by_kind
            last_err = nginx.error
            if "in use" not in last_err:
                break
        raise BenchError("nginx did not start:\n" + last_err)

    def server_cpu(self):
        """CPU seconds used so far by nginx (master and workers) and the stall server."""
        return (self.nginx.cpu() if self.nginx is not None else 0.0) + \
            proc_cpu([p.pid for p in self.stall.procs])

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
            self.nginx = None
        self.stall.stop()
        for s in self.closed_socks:
            s.close()
        self.closed_socks = []


def _tail(path, n):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- process runner

_RUNNING = {}  # pid -> pidfd of short-lived tool processes
_RUNNING_LOCK = threading.Lock()
STOP = threading.Event()


def kill_running():
    with _RUNNING_LOCK:
        for pfd in _RUNNING.values():
            try:
                signal.pidfd_send_signal(pfd, signal.SIGKILL)
            except OSError:
                pass


def interrupt_on_signals():
    """SIGTERM and SIGINT raise KeyboardInterrupt (SIGINT also when started in the background),
    so that a bench's `finally` stops what it started."""
    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def end_bench(tmp, keep, *servers):
    """The end of a bench, however it ends: no more signals, every process of run_process killed,
    the servers stopped (objects with stop(), or None), the temporary folder removed or kept."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    STOP.set()
    kill_running()
    for srv in servers:
        if srv is None:
            continue
        try:
            srv.stop()
        except Exception as e:  # the others are stopped all the same
            print("stopping %s failed: %r" % (type(srv).__name__, e), file=sys.stderr)
    if keep:
        print("temporary files kept in %s" % tmp, file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


class Run:
    """One finished process: output, whether we killed it at the deadline, rusage."""
    __slots__ = ("out", "killed", "cpu", "maxrss_kib", "status", "wall")


# `sh -c TRAMPOLINE sh ARGV...` starts ARGV as a background job, prints its pid on fd 3 and
# exits; ARGV is then re-parented to this script (a child subreaper) and reaped here with wait4.
TRAMPOLINE = '"$@" 3>&- & echo $! >&3'
_SUBREAPER = [False]


def set_subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise BenchError("prctl(PR_SET_CHILD_SUBREAPER): errno %d" % ctypes.get_errno())
    _SUBREAPER[0] = True


def run_process(argv, out_path, deadline, err_path=None, clean_rss=False, keep_out=True):
    """Spawn argv (stdin /dev/null, stdout to out_path, stderr to err_path or out_path), kill it
    `deadline` seconds after the spawn, reap it with wait4. Returns a Run, whose out is the text
    of out_path (None without keep_out: a large output is then read from the file).

    Linux starts the ru_maxrss of a process at the high-water RSS of the memory it replaced at
    exec: for posix_spawn from this script that is this script's own RSS (tens of MiB), so
    ru_maxrss says nothing about a small tool. With clean_rss the process is forked by /bin/sh
    instead (TRAMPOLINE): its ru_maxrss is then its own (plus at most the shell's ~1 MiB). The
    trampoline costs an extra exec (several ms on some VMs), so timed peer runs do without it."""
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    efd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) if err_path else fd
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, efd, 2)]
    pipe_r = None
    t0 = time.monotonic()
    try:
        if clean_rss:
            if not _SUBREAPER[0]:
                set_subreaper()
            pipe_r, pipe_w = os.pipe()
            actions.append((os.POSIX_SPAWN_DUP2, pipe_w, 3))
            try:
                sh = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", TRAMPOLINE, "sh"] + argv,
                                    os.environ, file_actions=actions, setsid=True)
            finally:
                os.close(pipe_w)
            try:
                data = b""
                while True:
                    chunk = os.read(pipe_r, 64)
                    if not chunk:
                        break
                    data += chunk
                os.waitpid(sh, 0)
            except BaseException:
                os.killpg(sh, signal.SIGKILL)
                raise
            pid = int(data)
        else:
            pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    finally:
        os.close(fd)
        if efd != fd:
            os.close(efd)
        if pipe_r is not None:
            os.close(pipe_r)
    pfd = os.pidfd_open(pid)
    with _RUNNING_LOCK:
        _RUNNING[pid] = pfd
        if STOP.is_set():  # spawned while kill_running() ran: it missed this one
            signal.pidfd_send_signal(pfd, signal.SIGKILL)
    r = Run()
    try:
        try:
            left = max(0.0, deadline - (time.monotonic() - t0))
            poller = select.poll()  # not select(): the pidfd may be above FD_SETSIZE (cost.py)
            poller.register(pfd, select.POLLIN)
            ready = poller.poll(int(left * 1000) + 1)
            r.killed = not ready
            if r.killed:
                signal.pidfd_send_signal(pfd, signal.SIGKILL)
            _, status, ru = os.wait4(pid, 0)
        except BaseException:  # Ctrl-C, SIGTERM: never leave the child behind
            signal.pidfd_send_signal(pfd, signal.SIGKILL)
            os.wait4(pid, 0)
            raise
    finally:
        with _RUNNING_LOCK:
            del _RUNNING[pid]
            os.close(pfd)
    r.wall = time.monotonic() - t0
    r.status = status
    r.cpu = ru.ru_utime + ru.ru_stime
    r.maxrss_kib = ru.ru_maxrss
    r.out = None
    if keep_out:
        with open(out_path, encoding="utf-8", errors="replace") as f:
            r.out = f.read()
    return r


def run_pool(name, tmp, targets, argv_for, deadline, parallel, clean_rss=False):
    """Run argv_for(target) for every target, `parallel` at a time. Returns (wall, [Run])."""
    results = [None] * len(targets)
    next_i = [0]
    lock = threading.Lock()
    errors = []

    def worker(slot):
        path = os.path.join(tmp, "%s.%d.out" % (name, slot))
        try:
            while not STOP.is_set():
                with lock:
                    i = next_i[0]
                    if i >= len(targets):
                        return
                    next_i[0] += 1
                results[i] = run_process(argv_for(targets[i]), path, deadline,
                                         clean_rss=clean_rss)
        except Exception as e:  # the bench broke; reported by the caller
            errors.append(e)
            STOP.set()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(parallel)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except BaseException:  # Ctrl-C, SIGTERM: no worker may leave a process behind
        STOP.set()
        kill_running()
        for t in threads:
            t.join(10)
        raise
    wall = time.monotonic() - t0
    if errors:
        raise BenchError("%s runner: %r" % (name, errors[0]))
    if STOP.is_set():
        raise KeyboardInterrupt
    return wall, results


# ---------------------------------------------------------------- truth and classification

class Truth:
    def __init__(self):
        issuing = pem_certs(os.path.join(PKI, "issuing.pem"))
        if len(issuing) != 1:
            raise BenchError("fixtures/pki/issuing.pem: expected one certificate")
        self.right_der = cert_subject(issuing[0])
        self.right_cn = name_cn(self.right_der)
        seen, self.dump_ders = set(), []
        for der in pem_certs(ROOT_BUNDLE):
            s = cert_subject(der)
            if s not in seen:
                seen.add(s)
                self.dump_ders.append(s)
        self.dump_set = seen
        self.bundle_certs = len(pem_certs(ROOT_BUNDLE))

    def expect(self, kind):
        return {"right": "list:1", "dump": "list:%d" % len(self.dump_ders), "none": "none",
                "empty": "empty", "stalled": "timeout", "closed": "refused"}[kind]


def classify_caprobe(obs, kind, truth):
    """(label, detail) of one caprobe observation."""
    outcome = obs.get("outcome")
    if outcome == "certificate_request":
        cr = obs.get("certificate_request") or {}
        count = cr.get("ca_count")
        if count == 0:
            return "empty", ""
        ders = []
        for ca in cr.get("cas") or []:
            try:
                ders.append(base64.b64decode(ca.get("der", "")))
            except ValueError:
                ders.append(b"")
        label = "list:%s" % count
        if len(ders) != count:
            return label + ":cas-count-mismatch", "ca_count %s, %d cas" % (count, len(ders))
        if kind == "right" and ders != [truth.right_der]:
            return label + ":wrong-names", (cr.get("cas") or [{}])[0].get("dn", "")
        if kind == "dump" and (set(ders) != truth.dump_set or len(ders) != len(truth.dump_ders)):
            return label + ":wrong-names", "%d distinct" % len(set(ders))
        return label, ""
    if outcome == "no_certificate_request":
        return "none", ""
    if outcome == "error":
        err = obs.get("error") or {}
        k = err.get("kind")
        if k in ("timeout", "refused"):
            return k, err.get("message", "")
        return "error:%s" % k, err.get("message", "")
    return "outcome:%s" % outcome, json.dumps(obs)[:200]


def _last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else "(no output)"


def classify_s_client(run, kind, truth):
    if run.killed:
        return "timeout", "killed at the deadline"
    out = run.out
    if "connect:errno=111" in out or "Connection refused" in out:
        return "refused", ""
    lines = out.splitlines()
    if "Acceptable client certificate CA names" in lines:
        i = lines.index("Acceptable client certificate CA names") + 1
        names = []
        while i < len(lines) and not lines[i].startswith(
                ("Client Certificate Types", "Requested Signature Algorithms", "---")):
            names.append(lines[i])
            i += 1
        label = "list:%d" % len(names)
        if kind == "right" and names and "CN = " + truth.right_cn not in names[0]:
            return label + ":wrong-names", names[0]
        return label, ""
    if "No client certificate CA names sent" in lines:
        if any(ln.startswith("Client Certificate Types") for ln in lines):
            return "empty", ""
        return "none", ""
    return "other", _last_line(out)


def classify_sslscan(run, kind, truth):
    if run.killed:
        return "timeout", "killed at the deadline"
    out = run.out
    if "Could not open a connection" in out:
        return "refused", ""
    lines = [ln.rstrip() for ln in out.splitlines()]
    hdr = "  Acceptable client certificate CA names:"
    if hdr in lines:
        i = lines.index(hdr) + 1
        names = []
        while i < len(lines) and lines[i].strip():
            names.append(lines[i])
            i += 1
        if names == ["None defined (any)"]:
            # sslscan prints this both for no CertificateRequest and for an empty list.
            return "none-or-empty", "None defined (any)"
        label = "list:%d" % len(names)
        if kind == "right" and names and "CN=" + truth.right_cn not in names[0]:
            return label + ":wrong-names", names[0]
        return label, ""
    return "other", _last_line(out)


# ---------------------------------------------------------------- tool runs

class Result:
    def __init__(self, tool):
        self.tool = tool
        self.wall = 0.0
        self.cpu = 0.0
        self.peak_kib = 0
        self.peak_note = ""
        self.labels = {}  # port -> (label, detail)
        self.notes = []
        self.killed = 0
        self.server_cpu = 0.0
        self.harness_cpu = 0.0


def caprobe_supports(caprobe, option):
    try:
        out = subprocess.run([caprobe, "--help"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return re.search(r"(^|\s)" + re.escape(option) + r"\b", out) is not None


def caprobe_argv(caprobe, list_path, conc, timeout):
    argv = [caprobe, "--format", "jsonl", "--tls", "1.2", "--timeout", "%g" % timeout,
            "-c", str(conc), "-q", "-i", list_path]
    if caprobe_supports(caprobe, "--per-address"):
        argv[1:1] = ["--per-address", "0"]
    return argv


def parse_jsonl(text):
    """{port: [observation, ...]} and a list of problems (bad lines, duplicate targets)."""
    by_port, problems = {}, []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError as e:
            problems.append("line %d is not JSON (%s): %s" % (n, e, line[:120]))
            continue
        port = o.get("port")
        if port in by_port:
            problems.append("target %s reported twice" % o.get("target"))
        by_port[port] = o.get("observations") or []
    return by_port, problems


class SideCpu:
    """CPU of the servers and of this script while a timed run is going on."""

    def __init__(self, fleet, res):
        self.fleet, self.res = fleet, res

    def __enter__(self):
        self.srv = self.fleet.server_cpu()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.me = ru.ru_utime + ru.ru_stime

    def __exit__(self, *exc):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.res.server_cpu = self.fleet.server_cpu() - self.srv
        self.res.harness_cpu = ru.ru_utime + ru.ru_stime - self.me


def run_caprobe(caprobe, tmp, endpoints, timeout, truth, fleet):
    res = Result("caprobe")
    lst = os.path.join(tmp, "targets.txt")
    with open(lst, "w", encoding="ascii") as f:
        f.write("".join("127.0.0.1:%d\n" % p for p, _ in endpoints))
    argv = caprobe_argv(caprobe, lst, len(endpoints), timeout)
    res.argv = argv
    hang_limit = max(60.0, 10.0 * timeout)
    with SideCpu(fleet, res):
        run = run_process(argv, os.path.join(tmp, "caprobe.jsonl"), hang_limit,
                          err_path=os.path.join(tmp, "caprobe.err"), clean_rss=True)
    res.wall, res.cpu, res.peak_kib = run.wall, run.cpu, run.maxrss_kib
    res.peak_note = "ru_maxrss of the caprobe process"
    if run.killed:
        res.notes.append("HANG: caprobe still running after %.0f s, killed" % hang_limit)
    elif not os.WIFEXITED(run.status) or os.WEXITSTATUS(run.status) not in (0, 1):
        res.notes.append("exit: %s" % _status_text(run.status))
    err = _tail(os.path.join(tmp, "caprobe.err"), 10).strip()
    if err:
        res.notes.append("stderr: " + err.replace("\n", "\n         "))
    by_port, problems = parse_jsonl(run.out)
    res.notes.extend(problems)
    res.elapsed = {}
    for port, kind in endpoints:
        obs = by_port.get(port)
        if obs is None:
            res.labels[port] = ("missing", "no record for this target")
        elif len(obs) != 1:
            res.labels[port] = ("observations:%d" % len(obs), "")
        else:
            res.labels[port] = classify_caprobe(obs[0], kind, truth)
            if isinstance(obs[0].get("elapsed_ms"), (int, float)):
                res.elapsed.setdefault(kind, []).append(obs[0]["elapsed_ms"])
    extra = set(by_port) - {p for p, _ in endpoints}
    if extra:
        res.notes.append("%d records for targets not in the list" % len(extra))
    return res


def _status_text(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "killed by signal %d (%s)" % (sig, signal.Signals(sig).name)
    return "exit status %d" % os.WEXITSTATUS(status)


def run_peer(tool, tmp, endpoints, timeout, truth, parallel, fleet):
    res = Result(tool)
    if tool == "openssl":
        exe = shutil.which("openssl")

        def argv_for(ep):
            return [exe, "s_client", "-connect", "127.0.0.1:%d" % ep[0], "-tls1_2"]
        classify = classify_s_client
    else:
        exe = shutil.which("sslscan")

        def argv_for(ep):
            return [exe] + SSLSCAN_OPTS + ["127.0.0.1:%d" % ep[0]]
        classify = classify_sslscan
    if exe is None:
        raise BenchError("%s not found (make bench installs it)" % tool)
    with SideCpu(fleet, res):
        res.wall, runs = run_pool(tool, tmp, endpoints, argv_for, timeout, parallel)
    res.cpu = sum(r.cpu for r in runs)
    res.killed = sum(1 for r in runs if r.killed)
    for (port, kind), r in zip(endpoints, runs):
        res.labels[port] = classify(r, kind, truth)
    # Memory, untimed: MEM_SAMPLE endpoints of every kind again, all at once, through the
    # trampoline (see run_process) so that ru_maxrss is the tool's own.
    sample = []
    for k in KINDS:
        sample += [ep for ep in endpoints if ep[1] == k][:MEM_SAMPLE]
    _, mruns = run_pool(tool + "-mem", tmp, sample, argv_for, timeout, len(sample),
                        clean_rss=True)
    biggest = max(r.maxrss_kib for r in mruns)
    worst = sample[max(range(len(mruns)), key=lambda i: mruns[i].maxrss_kib)][1]
    res.peak_kib = biggest * parallel
    res.peak_note = "%d x the largest ru_maxrss of one process (%.1f MiB, a %s endpoint; " \
        "%d processes sampled, %d per kind)" % (parallel, biggest / 1024, worst, len(sample),
                                               MEM_SAMPLE)
    return res


# ---------------------------------------------------------------- preflight

def certificate_request_seen(port):
    """What `openssl s_client -tls1_2 -msg` saw from one endpoint: a description string."""
    try:
        out = subprocess.run([shutil.which("openssl"), "s_client", "-connect",
                              "127.0.0.1:%d" % port, "-tls1_2", "-msg"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=5).stdout
    except subprocess.TimeoutExpired:
        return None, "no answer within 5 s"
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if re.match(r"<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], CertificateRequest$", ln):
            hexd = []
            for h in lines[i + 1:]:
                if not h.startswith("    "):
                    break
                hexd.append(h.strip())
            b = bytes.fromhex(" ".join(hexd))
            # RFC 5246 7.4.4: certificate_types<1..2^8-1>, supported_signature_algorithms
            # <2..2^16-2>, certificate_authorities<0..2^16-1> of DistinguishedName<1..2^16-1>
            j = 4
            ntypes = b[j]
            j += 1 + ntypes
            nsig = int.from_bytes(b[j:j + 2], "big")
            j += 2 + nsig
            ca_len = int.from_bytes(b[j:j + 2], "big")
            j += 2
            end, names = j + ca_len, 0
            while j < end:
                j += 2 + int.from_bytes(b[j:j + 2], "big")
                names += 1
            return names, ("CertificateRequest, %d certificate types, %d signature algorithms, "
                           "certificate_authorities %d bytes = %d names"
                           % (ntypes, nsig // 2, ca_len, names))
    if "Server certificate" in out or "BEGIN CERTIFICATE" in out:
        return "none", "handshake without CertificateRequest"
    return None, _last_line(out + "\n" + "")


def preflight(fleet, truth):
    print("server behaviour, checked with `openssl s_client -tls1_2 -msg` on one endpoint each:")
    ok = True
    for kind in ("right", "dump", "none", "empty"):
        port = next(p for p, k in fleet.endpoints if k == kind)
        names, desc = certificate_request_seen(port)
        want = {"right": 1, "dump": len(truth.dump_ders), "none": "none", "empty": 0}[kind]
        mark = "as configured" if names == want else "NOT AS CONFIGURED (want %s)" % want
        print("  %-6s 127.0.0.1:%-5d %s  [%s]" % (kind, port, desc, mark))
        ok &= names == want
    if not ok:
        raise BenchError("the fleet does not behave as configured; correct-record counts would "
                         "be meaningless")


# ---------------------------------------------------------------- in-flight memory run

def inflight_run(caprobe, tmp, m, timeout, truth):
    servers = StallServers()
    try:
        ports = servers.start(m)
        lst1 = os.path.join(tmp, "inflight1.txt")
        with open(lst1, "w", encoding="ascii") as f:
            f.write("127.0.0.1:%d\n" % ports[0])
        base = run_process(caprobe_argv(caprobe, lst1, 1, 1),
                           os.path.join(tmp, "inflight1.jsonl"), 60,
                           err_path=os.path.join(tmp, "inflight1.err"), clean_rss=True)
        lst = os.path.join(tmp, "inflight.txt")
        with open(lst, "w", encoding="ascii") as f:
            f.write("".join("127.0.0.1:%d\n" % p for p in ports))
        argv = caprobe_argv(caprobe, lst, m, timeout)
        hang_limit = max(120.0, 10.0 * timeout)
        big = run_process(argv, os.path.join(tmp, "inflight.jsonl"), hang_limit,
                          err_path=os.path.join(tmp, "inflight.err"), clean_rss=True)
    finally:
        servers.stop()
    notes = []
    if base.killed or big.killed:
        notes.append("HANG: caprobe killed after %.0f s" % hang_limit)
    for r, name in ((base, "1-target run"), (big, "%d-target run" % m)):
        if not os.WIFEXITED(r.status) or os.WEXITSTATUS(r.status) not in (0, 1):
            notes.append("%s: %s" % (name, _status_text(r.status)))
    err = _tail(os.path.join(tmp, "inflight.err"), 10).strip()
    if err:
        notes.append("stderr: " + err)
    by_port, problems = parse_jsonl(big.out)
    notes.extend(problems)
    labels, messages, elapsed = {}, {}, []
    for p in ports:
        obs = by_port.get(p)
        if obs is None:
            lab = ("missing", "")
        elif len(obs) != 1:
            lab = ("observations:%d" % len(obs), "")
        else:
            lab = classify_caprobe(obs[0], "stalled", truth)
            msg = (obs[0].get("error") or {}).get("message", "")
            messages[msg] = messages.get(msg, 0) + 1
            if isinstance(obs[0].get("elapsed_ms"), (int, float)):
                elapsed.append(obs[0]["elapsed_ms"])
        labels.setdefault(lab[0], []).append((p, lab[1]))
    return {"m": m, "argv": argv, "base_kib": base.maxrss_kib, "peak_kib": big.maxrss_kib,
            "wall": big.wall, "cpu": big.cpu, "labels": labels, "notes": notes,
            "messages": messages, "elapsed": elapsed,
            "per_probe_kib": (big.maxrss_kib - base.maxrss_kib) / m}


# ---------------------------------------------------------------- report

def correct_count(res, endpoints, truth):
    return sum(1 for p, k in endpoints if res.labels.get(p, ("",))[0] == truth.expect(k))


def mismatches(res, endpoints, truth):
    groups = {}
    for p, k in endpoints:
        lab, detail = res.labels.get(p, ("missing", ""))
        if lab != truth.expect(k):
            groups.setdefault((k, truth.expect(k), lab), []).append((p, detail))
    return groups


def pct(vals, q):
    s = sorted(vals)
    return s[min(len(s) - 1, int(q * len(s)))]


def tool_name(tool):
    return {"caprobe": "caprobe", "openssl": "openssl s_client x%d" % PEER_PARALLEL,
            "sslscan": "sslscan x%d" % PEER_PARALLEL}[tool]


def report(results, endpoints, truth, inflight, args):
    n = len(endpoints)
    print()
    print("%-22s %8s %14s %10s %12s" % ("tool", "wall s", "CPU ms/target", "peak MiB", "correct"))
    for r in results:
        print("%-22s %8.2f %14.3f %10.1f %7d/%d" % (
            tool_name(r.tool), r.wall, 1000 * r.cpu / n, r.peak_kib / 1024,
            correct_count(r, endpoints, truth), n))
    print("peak memory: " + "; ".join("%s %s" % (r.tool, r.peak_note) for r in results))
    print("not counted above (same machine, same 2 CPUs): server side (nginx + stall listener) "
          + ", ".join("%s %.1f s" % (r.tool, r.server_cpu) for r in results)
          + "; this script " + ", ".join("%s %.1f s" % (r.tool, r.harness_cpu) for r in results))
    by_tool = {r.tool: r for r in results}
    cap = by_tool.get("caprobe")
    if cap:
        peers = [r for r in results if r.tool != "caprobe"]
        if peers:
            print()
            print("ratios, peer / caprobe (above 1: caprobe is better by that factor)")
            print("%-24s %8s %8s %12s" % ("", "wall", "CPU", "peak memory"))
            for r in peers:
                print("%-24s %7.1fx %7.1fx %11.1fx" % (
                    "vs " + tool_name(r.tool), r.wall / cap.wall if cap.wall else 0,
                    r.cpu / cap.cpu if cap.cpu else float("inf"),
                    r.peak_kib / cap.peak_kib if cap.peak_kib else 0))
        if cap.elapsed:
            print()
            print("caprobe elapsed_ms per endpoint kind (p50 / p99 / max):")
            for k in KINDS:
                v = cap.elapsed.get(k)
                if v:
                    print("  %-8s %6d / %6d / %6d" % (k, pct(v, 0.5), pct(v, 0.99), max(v)))
    for r in results:
        if r.killed:
            print("%s: %d processes killed at the %g s deadline" % (
                tool_name(r.tool), r.killed, args.timeout))
    print()
    print("records that differ from the configured truth (kind: want -> got, count, examples):")
    any_mis = False
    for r in results:
        groups = mismatches(r, endpoints, truth)
        for (k, want, got), items in sorted(groups.items(), key=lambda x: -len(x[1])):
            any_mis = True
            ex = ", ".join("127.0.0.1:%d%s" % (p, (" (" + d[:100] + ")") if d else "")
                           for p, d in items[:2])
            print("  %-22s %-8s %s -> %s: %d  e.g. %s" % (tool_name(r.tool), k, want, got,
                                                        len(items), ex))
        for note in r.notes:
            any_mis = True
            print("  %-22s %s" % (tool_name(r.tool), note))
    if "sslscan" in by_tool:
        amb = sum(1 for lab, _ in by_tool["sslscan"].labels.values() if lab == "none-or-empty")
        if amb:
            print("  (sslscan prints 'None defined (any)' both for no CertificateRequest and for "
                  "an empty list: %d records counted as not correct)" % amb)
    if not any_mis:
        print("  none")
    if inflight:
        print()
        m = inflight["m"]
        print("caprobe with %d stalled probes in flight (--timeout %g):" % (m, args.inflight_timeout))
        print("  %s" % " ".join(inflight["argv"][:-1] + ["LIST"]))
        print("  peak RSS %.1f MiB, 1-target baseline %.1f MiB -> %.1f KiB per in-flight probe;"
              " wall %.2f s, CPU %.3f ms/target" % (
                  inflight["peak_kib"] / 1024, inflight["base_kib"] / 1024,
                  inflight["per_probe_kib"], inflight["wall"], 1000 * inflight["cpu"] / m))
        labs = inflight["labels"]
        print("  records: " + ", ".join("%s %d" % (k, len(v)) for k, v in
                                        sorted(labs.items(), key=lambda x: -len(x[1]))) +
              "  (want timeout %d)" % m)
        for k, v in labs.items():
            if k != "timeout":
                print("    %s e.g. %s" % (k, ", ".join("127.0.0.1:%d %s" % (p, d[:100])
                                                      for p, d in v[:2])))
        for msg, cnt in sorted(inflight["messages"].items(), key=lambda x: -x[1])[:4]:
            print("    %5d x %s" % (cnt, msg))
        el = inflight["elapsed"]
        if el:
            print("  elapsed_ms min / p50 / max: %d / %d / %d; wall - timeout: %.2f s" % (
                min(el), pct(el, 0.5), max(el), inflight["wall"] - args.inflight_timeout))
        for note in inflight["notes"]:
            print("  " + note)
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY and soft < m + 64:
            print("  note: RLIMIT_NOFILE soft limit %d is below %d probes in flight" % (soft, m))
    print()
    print("targets of the issue (%d endpoints, %d stalled, %d closed, %g s deadline, TLS 1.2):" % (
        n, sum(1 for _, k in endpoints if k == "stalled"),
        sum(1 for _, k in endpoints if k == "closed"), args.timeout))

    def line(what, got, met):
        print("  %-64s %-10s %s" % (what, got, "met" if met else "NOT MET"))
    if cap and "sslscan" in by_tool:
        ratio = by_tool["sslscan"].wall / cap.wall
        line("wall time at least %gx better than sslscan's" % TARGET_WALL_VS_SSLSCAN,
             "%.1fx" % ratio, ratio >= TARGET_WALL_VS_SSLSCAN)
    if cap:
        ms = 1000 * cap.cpu / n
        line("caprobe CPU at most %g ms per target" % TARGET_CPU_MS, "%.3f ms" % ms,
             ms <= TARGET_CPU_MS)
    if inflight:
        kib = inflight["per_probe_kib"]
        line("peak memory at most %g KiB per in-flight probe (%d in flight)" % (
            TARGET_KIB_PER_PROBE, inflight["m"]), "%.1f KiB" % kib, kib <= TARGET_KIB_PER_PROBE)
    elif args.inflight:
        print("  peak memory per in-flight probe: not measured (--quick or --inflight 0)")


def versions(caprobe):
    def first(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "(%s)" % e
        text = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout + p.stderr)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return lines[0] if lines else "?"
    return {"caprobe": first([caprobe, "-V"]), "nginx": first(["nginx", "-v"]),
            "openssl": first(["openssl", "version"]),
            "sslscan": first(["sslscan", "--version"])}


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--caprobe", default=os.path.join(ROOT, "build", "caprobe"))
    ap.add_argument("--endpoints", type=int, default=1200, help="fleet size (default 1200)")
    ap.add_argument("--quick", action="store_true",
                    help="120 endpoints, no in-flight memory run (a smoke test of the bench)")
    ap.add_argument("--inflight", type=int, default=10000,
                    help="stalled probes in flight for the memory figure (0: skip)")
    ap.add_argument("--inflight-timeout", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=3.0, help="deadline per target (default 3)")
    ap.add_argument("--tools", default="caprobe,openssl,sslscan",
                    help="comma-separated subset of caprobe,openssl,sslscan")
    ap.add_argument("--seed", type=int, default=1, help="order of the endpoints")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--stall-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stall_server is not None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            stall_server(args.stall_server)
        except KeyboardInterrupt:
            pass
        return 0
    if args.quick:
        args.endpoints = min(args.endpoints, 120)
        args.inflight = 0
    tools = [t for t in args.tools.split(",") if t]
    if any(t not in ("caprobe", "openssl", "sslscan") for t in tools):
        ap.error("--tools: caprobe, openssl, sslscan")
    caprobe = os.path.abspath(args.caprobe)
    if ("caprobe" in tools or args.inflight) and not os.access(caprobe, os.X_OK):
        print("fleet.py: %s is not an executable (make build)" % caprobe, file=sys.stderr)
        return 1
    interrupt_on_signals()

    tmp = tempfile.mkdtemp(prefix="caprobe-bench-")
    fleet = Fleet(tmp, args.endpoints, args.seed)
    try:
        truth = Truth()
        v = versions(caprobe)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        print("caprobe fleet benchmark: %d CPUs, kernel %s, RLIMIT_NOFILE %d/%d" % (
            os.cpu_count(), os.uname().release, soft, hard))
        print("  " + "; ".join("%s: %s" % kv for kv in v.items()))
        fleet.start()
        print("fleet on 127.0.0.1: " + ", ".join("%s %d" % (k, fleet.counts[k]) for k in KINDS) +
              " (one nginx, 2 workers; dump = %d distinct subjects of %d certificates in %s)" % (
                  len(truth.dump_ders), truth.bundle_certs, ROOT_BUNDLE))
        preflight(fleet, truth)
        eps = fleet.endpoints
        print("commands (TLS 1.2, %g s deadline, same %d targets, seed %d):" % (
            args.timeout, len(eps), args.seed))
        results = []
        for tool in tools:
            if tool == "caprobe":
                print("  caprobe: %s" % " ".join(caprobe_argv(caprobe, "LIST", len(eps), args.timeout)))
            elif tool == "openssl":
                print("  openssl: openssl s_client -connect 127.0.0.1:PORT -tls1_2 </dev/null, "
                      "%d at a time, killed after %g s" % (PEER_PARALLEL, args.timeout))
            else:
                print("  sslscan: sslscan %s 127.0.0.1:PORT, %d at a time, killed after %g s" % (
                    " ".join(SSLSCAN_OPTS), PEER_PARALLEL, args.timeout))
        sys.stdout.flush()
        for tool in tools:
            if tool == "caprobe":
                results.append(run_caprobe(caprobe, tmp, eps, args.timeout, truth, fleet))
            else:
                results.append(run_peer(tool, tmp, eps, args.timeout, truth, PEER_PARALLEL, fleet))
            r = results[-1]
            print("  ran %-22s %.2f s" % (tool_name(tool), r.wall))
            sys.stdout.flush()
        fleet.stop()
        inflight = None
        if args.inflight > 0:
            print("  in-flight memory run: %d stalled targets ..." % args.inflight)
            sys.stdout.flush()
            inflight = inflight_run(caprobe, tmp, args.inflight, args.inflight_timeout,
                                    truth)
        report(results, eps, truth, inflight, args)
        return 0
    except KeyboardInterrupt:
        print("\nfleet.py: interrupted", file=sys.stderr)
        return 130
    except BenchError as e:
        print("fleet.py: bench broke: %s" % e, file=sys.stderr)
        return 1
    finally:
        STOP.set()
        kill_running()
        fleet.stop()
        if args.keep:
            print("temporary files kept in %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
