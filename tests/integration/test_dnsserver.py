#!/usr/bin/env python3
"""tests/dnsserver.py, the DNS server of caprobe's resolver tests, checked from outside.

The oracle is independent of the server's code: this file builds its queries and decodes the
answers with its own minimal RFC 1035 code (nothing imported from dnsserver.py), and, when `dig`
is installed (bind9-dnsutils), dig reads a few answers too. Covered: A, AAAA, several addresses,
NXDOMAIN, SERVFAIL, REFUSED, NODATA, SILENT, TRUNCATE, 40 addresses (UDP truncated without EDNS,
whole over TCP and with EDNS, sizes checked against the byte math), wildcards, DELAY and
--delay-ms, every GARBAGE case (and the server survives them), TCP framing (coalesced and split
queries), malformed queries, --log, --ready-fd, ::1, a burst of 2,000 delayed queries, bad zone
files, SIGTERM, and port 53 in a private network namespace with its own /etc/resolv.conf (as
root, where unshare works). Emits TAP.

No assertion has an upper time bound that a slow machine could miss: delays are checked as lower
bounds and by order (a prompt answer overtakes a delayed one), silence over one second, and the
burst only against the time a server answering one query at a time would need.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

A, MX, AAAA, OPT, ANY = 1, 15, 28, 41, 255
TYPE_TEXT = {A: "A", MX: "MX", AAAA: "AAAA", ANY: "ANY"}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
HANG = 60  # seconds after which a wait gives up: only a hang reaches it

MANY_A = ["127.0.1.%d" % i for i in range(1, 41)]
MANY_AAAA = ["fd00::%x" % i for i in range(1, 41)]
GARBAGE_CASES = 10

ZONE = [
    "# caprobe DNS test zone",
    "",
    "a.test A 127.0.0.1",
    "multi.test A 127.0.0.1 127.0.0.2   # two on one line",
    "multi.test A 127.0.0.3",
    "v6.test AAAA ::1",
    "both.test A 127.0.0.9",
    "both.test AAAA ::9 ::a",
    "v4only.test A 127.0.0.4",
    "nx.test NXDOMAIN",
    "sf.test SERVFAIL",
    "ref.test REFUSED",
    "silent.test SILENT",
    "tc.test TRUNCATE",
    "tc.test A 127.0.0.5",
    "tc.test AAAA ::5",
    "*.wild.test A 127.0.0.6",
    "exact.wild.test A 127.0.0.7",
    "*.deep.wild.test A 127.0.0.8",
    "slow.test DELAY 300",
    "slow.test A 127.0.0.10",
    "trail.test. A 127.0.0.11",
    "MiXeD.Test A 127.0.0.12",
    "garbage.test GARBAGE",
] + ["g%d.test GARBAGE=%d" % (n, n) for n in range(1, GARBAGE_CASES + 1)] \
  + ["many.test A " + " ".join(MANY_A[i:i + 8]) for i in range(0, 40, 8)] \
  + ["many.test AAAA " + " ".join(MANY_AAAA[i:i + 8]) for i in range(0, 40, 8)]


# ---------------------------------------------------------------- the test's own DNS code

def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def make_query(qid, name, qtype, rd=True, edns=None, flags=None, qdcount=1):
    """RFC 1035 4.1.1 header + 4.1.2 question; with edns, an RFC 6891 OPT of that payload."""
    if flags is None:
        flags = 0x0100 if rd else 0
    arcount = 1 if edns is not None else 0
    msg = struct.pack("!6H", qid, flags, qdcount, 0, 0, arcount)
    msg += wire_name(name) + struct.pack("!HH", qtype, 1)
    if edns is not None:
        msg += b"\x00" + struct.pack("!HHIH", OPT, edns, 0, 0)
    return msg


class DecodeError(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


def read_name(data, off):
    """(name in lower case, offset after it); follows pointers, at most 16 hops."""
    labels, end, hops, total = [], None, 0, 0
    for _ in range(300):
        if off >= len(data):
            raise DecodeError("truncated")
        n = data[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise DecodeError("truncated")
            ptr = ((n & 0x3F) << 8) | data[off + 1]
            if end is None:
                end = off + 2
            if ptr >= len(data):
                raise DecodeError("range")
            hops += 1
            if hops > 16:
                raise DecodeError("loop")
            off = ptr
            continue
        if n & 0xC0:
            raise DecodeError("label type")
        if n == 0:
            return ".".join(labels).lower(), (off + 1 if end is None else end)
        total += n + 1
        if total > 255:
            raise DecodeError("loop")
        if off + 1 + n > len(data):
            raise DecodeError("truncated")
        labels.append(data[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    raise DecodeError("loop")


class Reply:
    """A decoded response; raises DecodeError(kind) for what is not one."""

    def __init__(self, data):
        if len(data) < 12:
            raise DecodeError("short")
        self.raw = data
        self.id, self.flags, qd, an, ns, ar = struct.unpack_from("!6H", data)
        self.qr = bool(self.flags & 0x8000)
        self.opcode = (self.flags >> 11) & 0xF
        self.aa = bool(self.flags & 0x0400)
        self.tc = bool(self.flags & 0x0200)
        self.rd = bool(self.flags & 0x0100)
        self.ra = bool(self.flags & 0x0080)
        self.rcode = self.flags & 0xF
        off = 12
        self.questions = []
        for _ in range(qd):
            name, off = read_name(data, off)
            if off + 4 > len(data):
                raise DecodeError("truncated")
            self.questions.append((name,) + struct.unpack_from("!HH", data, off))
            off += 4
        self.question_bytes = data[12:off]
        self.records = []  # (section, name, first 2 bytes of its name, type, class, ttl, rdata)
        for section, count in (("an", an), ("ns", ns), ("ar", ar)):
            for _ in range(count):
                if off == len(data):
                    raise DecodeError("count")
                start = off
                name, off = read_name(data, off)
                if off + 10 > len(data):
                    raise DecodeError("truncated")
                rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, off)
                off += 10
                if off + rdlen > len(data):
                    raise DecodeError("rdlength")
                self.records.append((section, name, data[start:start + 2], rtype, rclass, ttl,
                                     data[off:off + rdlen]))
                off += rdlen
        if off != len(data):
            raise DecodeError("trailing")
        self.answers = [r for r in self.records if r[0] == "an"]

    def addresses(self, rtype=None):
        out = []
        for _, _, _, t, _, _, rdata in self.answers:
            if t == A and (rtype in (None, A)) and len(rdata) == 4:
                out.append(socket.inet_ntop(socket.AF_INET, rdata))
            elif t == AAAA and (rtype in (None, AAAA)) and len(rdata) == 16:
                out.append(socket.inet_ntop(socket.AF_INET6, rdata))
        return out

    def opt(self):
        return [r for r in self.records if r[0] == "ar" and r[3] == OPT]


def garbage_case(query, data, asked):
    """Which of the GARBAGE cases of dnsserver.py these bytes are, from the outside; 0 for a
    proper answer, -1 for anything else."""
    if len(data) == 0:
        return 8
    if len(data) < 12:
        return 2
    if struct.unpack_from("!H", data)[0] != struct.unpack_from("!H", query)[0]:
        return 1
    if not data[2] & 0x80:
        return 10
    try:
        r = Reply(data)
    except DecodeError as e:
        return {"count": 3, "loop": 4, "range": 5, "rdlength": 6}.get(e.kind, -1)
    if [q[0] for q in r.questions] != [asked]:
        return 9
    if any(len(rec[6]) != {A: 4, AAAA: 16}.get(rec[3], len(rec[6])) for rec in r.answers):
        return 7
    return 0


# ---------------------------------------------------------------- client

class Client:
    """Sends queries to one server and keeps (proto, name, type) of each, as --log writes them."""

    def __init__(self, port, host="127.0.0.1"):
        self.port, self.host = port, host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sent = []
        self.next_id = 0x1200

    def qid(self):
        self.next_id = (self.next_id + 7) & 0xFFFF
        return self.next_id

    def note(self, proto, name, qtype):
        self.sent.append((proto, name.lower().rstrip(".") or ".",
                          TYPE_TEXT.get(qtype, "TYPE%d" % qtype)))

    def udp_raw(self, msg, timeout=5.0):
        """The first datagram that comes back within timeout (b"" for an empty one), or None."""
        with socket.socket(self.family, socket.SOCK_DGRAM) as s:
            s.connect((self.host, self.port))
            s.send(msg)
            s.settimeout(timeout)
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def udp(self, name, qtype, timeout=5.0, **kw):
        """(query bytes, reply bytes or None)."""
        q = make_query(self.qid(), name, qtype, **kw)
        self.note("udp", name, qtype)
        return q, self.udp_raw(q, timeout)

    def ask(self, name, qtype, **kw):
        """A decoded UDP reply (raises when none came)."""
        q, data = self.udp(name, qtype, **kw)
        if data is None:
            raise RuntimeError("no answer to %s %s" % (name, qtype))
        return q, Reply(data)

    def tcp_connect(self):
        s = socket.create_connection((self.host, self.port), timeout=HANG)
        return s

    def tcp_send(self, s, name, qtype, **kw):
        q = make_query(self.qid(), name, qtype, **kw)
        self.note("tcp", name, qtype)
        s.sendall(struct.pack("!H", len(q)) + q)
        return q

    @staticmethod
    def tcp_frame(s, timeout=HANG):
        """One length-prefixed frame, or None when none came within timeout."""
        s.settimeout(timeout)
        buf = b""
        try:
            for _ in range(70000):
                need = 2 if len(buf) < 2 else 2 + struct.unpack_from("!H", buf)[0]
                if len(buf) >= need:
                    return buf[2:need]
                chunk = s.recv(need - len(buf))
                if not chunk:
                    return None
                buf += chunk
        except socket.timeout:
            return None
        return None

    def tcp(self, name, qtype, **kw):
        """(query, decoded reply) over a fresh TCP connection."""
        with self.tcp_connect() as s:
            q = self.tcp_send(s, name, qtype, **kw)
            data = self.tcp_frame(s)
        if data is None:
            raise RuntimeError("no TCP answer to %s %s" % (name, qtype))
        return q, Reply(data)


# ---------------------------------------------------------------- checks

def check_answers(tap, c, srv):
    q, r = c.ask("a.test", A)
    tap.eq((r.id, r.qr, r.opcode, r.aa, r.tc, r.rd, r.ra, r.rcode),
           (struct.unpack_from("!H", q)[0], True, 0, True, False, True, True, NOERROR),
           "A: ID echoed, QR AA RD RA set, TC clear, NOERROR")
    tap.eq(r.question_bytes, q[12:], "A: the question echoed byte for byte")
    tap.eq(r.addresses(), ["127.0.0.1"], "A: a.test is 127.0.0.1")
    tap.eq([(rec[2], rec[4], rec[5]) for rec in r.answers], [(b"\xc0\x0c", 1, 60)],
           "A: the record's name is a pointer to the question (0xc00c), class IN, TTL 60")
    tap.eq(r.opt(), [], "no OPT in the answer to a query without one")
    q, r = c.ask("A.TeSt", A, rd=False)
    tap.eq((r.rd, r.addresses(), r.question_bytes), (False, ["127.0.0.1"], q[12:]),
           "RD clear is copied; a name in mixed case matches, and its case is echoed")
    _, r = c.ask("multi.test", A)
    tap.eq(sorted(r.addresses()), ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
           "several addresses on a line and over lines add up")
    _, r = c.ask("v6.test", AAAA)
    tap.eq((r.rcode, r.addresses(), [rec[3] for rec in r.answers]), (NOERROR, ["::1"], [AAAA]),
           "AAAA: v6.test is ::1")
    _, r = c.ask("both.test", AAAA)
    tap.eq(sorted(r.addresses()), ["::9", "::a"], "AAAA: two addresses")
    _, r = c.ask("both.test", A)
    tap.eq(r.addresses(), ["127.0.0.9"], "A of a name with A and AAAA: only the A")
    _, r = c.ask("both.test", ANY)
    tap.eq(sorted(r.addresses()), ["127.0.0.9", "::9", "::a"], "ANY: the A and AAAA records")
    _, r = c.ask("trail.test", A)
    tap.eq(r.addresses(), ["127.0.0.11"], "a zone name with a trailing dot")
    _, r = c.ask("mixed.test.", A)
    tap.eq(r.addresses(), ["127.0.0.12"], "a zone name in mixed case")
    q, r = c.ask("a.test", A, edns=1232)
    opt = r.opt()
    tap.eq((r.addresses(), len(opt), opt and opt[0][1], opt and len(opt[0][6])),
           (["127.0.0.1"], 1, "", 0), "EDNS0: answered, with one minimal OPT (root, no options)")


def check_rcodes(tap, c, srv):
    for name, rcode, what in (("nx.test", NXDOMAIN, "NXDOMAIN"),
                              ("absent.test", NXDOMAIN, "NXDOMAIN (not in the zone)"),
                              ("sf.test", SERVFAIL, "SERVFAIL"),
                              ("ref.test", REFUSED, "REFUSED")):
        got = []
        for qtype in (A, AAAA, MX):
            _, r = c.ask(name, qtype)
            got.append((r.rcode, len(r.answers), r.aa, r.qr))
        tap.eq(got, [(rcode, 0, True, True)] * 3, "%s: %s for A, AAAA and MX" % (name, what))
    for name, qtype, what in (("v4only.test", AAAA, "AAAA"), ("v4only.test", MX, "MX"),
                              ("v6.test", A, "A")):
        _, r = c.ask(name, qtype)
        tap.eq((r.rcode, r.answers, r.tc), (NOERROR, [], False),
               "NODATA: %s of %s is NOERROR without records" % (what, name))


def check_silent(tap, c, srv):
    _, data = c.udp("silent.test", A, timeout=1.0)
    tap.eq(data, None, "SILENT: no UDP answer within 1 s")
    with c.tcp_connect() as s:
        c.tcp_send(s, "silent.test", AAAA)
        tap.eq(c.tcp_frame(s, timeout=1.0), None, "SILENT: no TCP answer within 1 s")


def check_truncate(tap, c, srv):
    for qtype, want in ((A, ["127.0.0.5"]), (AAAA, ["::5"])):
        name = TYPE_TEXT[qtype]
        _, r = c.ask("tc.test", qtype)
        tap.eq((r.tc, r.rcode, r.answers), (True, NOERROR, []),
               "TRUNCATE %s over UDP: TC set, no records" % name)
        _, r = c.ask("tc.test", qtype, edns=4096)
        tap.eq((r.tc, r.answers, len(r.opt())), (True, [], 1),
               "TRUNCATE %s over UDP with EDNS: TC set too" % name)
        _, r = c.tcp("tc.test", qtype)
        tap.eq((r.tc, r.rcode, r.addresses()), (False, NOERROR, want),
               "TRUNCATE %s over TCP: the records" % name)


def check_forty(tap, c, srv):
    # byte math: header 12, question wire(many.test) 11 + 4, A record 2 + 10 + 4, AAAA 2 + 10 + 16,
    # OPT 11
    qlen = len(wire_name("many.test")) + 4
    for qtype, rlen, want in ((A, 16, MANY_A), (AAAA, 28, MANY_AAAA)):
        name = TYPE_TEXT[qtype]
        whole = 12 + qlen + 40 * rlen
        _, r = c.ask("many.test", qtype)
        tap.eq((r.tc, r.answers, len(r.raw)), (True, [], 12 + qlen),
               "40 %s over UDP without EDNS (%d bytes > 512): TC set, question only" % (name,
                                                                                     whole))
        _, r = c.tcp("many.test", qtype)
        tap.eq((r.tc, r.addresses(), len(r.raw)), (False, want, whole),
               "40 %s over TCP: all of them, in zone order, %d bytes" % (name, whole))
        _, r = c.ask("many.test", qtype, edns=1232)
        tap.eq((r.tc, r.addresses(), len(r.raw)), (False, want, whole + 11),
               "40 %s over UDP with EDNS 1232: all of them, %d bytes with OPT" % (name,
                                                                               whole + 11))


def check_wildcard(tap, c, srv):
    for name, want in (("x.wild.test", ["127.0.0.6"]), ("a.b.wild.test", ["127.0.0.6"]),
                       ("exact.wild.test", ["127.0.0.7"]), ("x.deep.wild.test", ["127.0.0.8"])):
        _, r = c.ask(name, A)
        tap.eq((r.rcode, r.addresses()), (NOERROR, want), "wildcard: %s is %s" % (name, want[0]))
    _, r = c.ask("wild.test", A)
    tap.eq(r.rcode, NXDOMAIN, "wildcard: the suffix itself is not covered")
    _, r = c.ask("x.wild.test", AAAA)
    tap.eq((r.rcode, r.answers), (NOERROR, []), "wildcard: NODATA for a type it has not")


def check_delay(tap, c, srv):
    """slow.test has DELAY 300: its answer comes after at least 300 ms, and a query sent after
    it is answered first (the server is not blocked meanwhile)."""
    slow_q = make_query(c.qid(), "slow.test", A)
    fast_q = make_query(c.qid(), "a.test", A)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as slow, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fast:
        for s in (slow, fast):
            s.connect(("127.0.0.1", c.port))
            s.settimeout(HANG)
        t0 = time.monotonic()
        slow.send(slow_q)
        c.note("udp", "slow.test", A)
        fast.send(fast_q)
        c.note("udp", "a.test", A)
        fast_data = fast.recv(65535)
        t_fast = time.monotonic()
        slow_data = slow.recv(65535)
        t_slow = time.monotonic()
    tap.eq(Reply(slow_data).addresses(), ["127.0.0.10"], "DELAY: slow.test answered")
    tap.ok(t_slow - t0 >= 0.3, "DELAY 300 over UDP: the answer came after %.3f s (>= 0.3)"
           % (t_slow - t0))
    tap.ok(t_fast < t_slow, "DELAY over UDP: a later query for another name is answered first")
    with c.tcp_connect() as s:
        t0 = time.monotonic()
        q1 = c.tcp_send(s, "slow.test", A)
        q2 = c.tcp_send(s, "a.test", A)
        first = Reply(c.tcp_frame(s))
        second = Reply(c.tcp_frame(s))
        t_slow = time.monotonic()
    ids = [struct.unpack_from("!H", q)[0] for q in (q2, q1)]
    tap.eq([first.id, second.id], ids,
           "DELAY over TCP: on one connection the prompt answer overtakes the delayed one")
    tap.ok(t_slow - t0 >= 0.3, "DELAY 300 over TCP: after %.3f s (>= 0.3)" % (t_slow - t0))


def check_tcp_framing(tap, c, srv):
    with c.tcp_connect() as s:
        names = ["a.test", "v6.test", "multi.test"]
        types = [A, AAAA, A]
        qs = [make_query(c.qid(), n, t) for n, t in zip(names, types)]
        for n, t in zip(names, types):
            c.note("tcp", n, t)
        s.sendall(b"".join(struct.pack("!H", len(q)) + q for q in qs))
        replies = {}
        for _ in qs:
            r = Reply(c.tcp_frame(s))
            replies[r.id] = sorted(r.addresses())
        want = {struct.unpack_from("!H", q)[0]: a for q, a in
                zip(qs, [["127.0.0.1"], ["::1"], ["127.0.0.1", "127.0.0.2", "127.0.0.3"]])}
        tap.eq(replies, want, "TCP: three queries in one write, three answers")
        q = make_query(c.qid(), "both.test", AAAA)
        c.note("tcp", "both.test", AAAA)
        framed = struct.pack("!H", len(q)) + q
        for i in range(len(framed)):
            s.sendall(framed[i:i + 1])
            time.sleep(0.005)
        r = Reply(c.tcp_frame(s))
        tap.eq((r.id, sorted(r.addresses())), (struct.unpack_from("!H", q)[0], ["::9", "::a"]),
               "TCP: a query sent one byte at a time, on the same connection")
        q = c.tcp_send(s, "nx.test", A)
        r = Reply(c.tcp_frame(s))
        tap.eq((r.id, r.rcode), (struct.unpack_from("!H", q)[0], NXDOMAIN),
               "TCP: a fifth query on the same connection")


def check_garbage(tap, c, srv):
    seen = {}
    for n in range(1, GARBAGE_CASES + 1):
        q, data = c.udp("g%d.test" % n, A, timeout=5.0)
        got = None if data is None else garbage_case(q, data, "g%d.test" % n)
        tap.eq(got, n, "GARBAGE=%d over UDP: bytes came (%s), and they are case %d"
               % (n, "none" if data is None else len(data), n), data)
        seen[n] = data
    tap.eq(len(set(seen.values())), GARBAGE_CASES, "the %d GARBAGE cases are distinct bytes"
           % GARBAGE_CASES)
    got = []
    for n in range(1, GARBAGE_CASES + 1):
        q, data = c.udp("g%d.test" % n, AAAA, timeout=5.0)
        got.append(None if data is None else garbage_case(q, data, "g%d.test" % n))
        if data and len(data) >= 12:
            try:
                types = {rec[3] for rec in Reply(data).answers}
            except DecodeError:
                types = {AAAA}
            if types - {AAAA}:
                got[-1] = "record types %s" % sorted(types)
    tap.eq(got, list(range(1, GARBAGE_CASES + 1)),
           "GARBAGE over UDP for AAAA: each case, with AAAA records")
    for n in range(1, GARBAGE_CASES + 1):
        with c.tcp_connect() as s:
            q = c.tcp_send(s, "g%d.test" % n, A)
            data = c.tcp_frame(s)
        got = None if data is None else garbage_case(q, data, "g%d.test" % n)
        tap.eq(got, n, "GARBAGE=%d over TCP: one frame, case %d" % (n, n), data)
    cycle = []
    for _ in range(GARBAGE_CASES + 1):
        q, data = c.udp("garbage.test", A, timeout=5.0)
        cycle.append(None if data is None else garbage_case(q, data, "garbage.test"))
    tap.eq(cycle, list(range(1, GARBAGE_CASES + 1)) + [1],
           "GARBAGE: one query after another cycles through the cases")
    _, r = c.ask("a.test", A)
    tap.ok(srv.running() and r.addresses() == ["127.0.0.1"],
           "the server still answers after every GARBAGE case")


def check_malformed(tap, c, srv):
    tap.eq(c.udp_raw(b"\x12\x34\x01", timeout=0.3), None, "3 bytes: no answer")
    q = make_query(0x4321, "a.test", A, flags=0x8000)
    tap.eq(c.udp_raw(q, timeout=0.3), None, "a query with QR set: no answer")
    q = make_query(0x4322, "a.test", A, qdcount=0)[:12]
    data = c.udp_raw(q)
    r = Reply(data) if data is not None else None
    tap.eq(r and (r.id, r.rcode, r.qr), (0x4322, FORMERR, True), "no question: FORMERR")
    q = make_query(0x4323, "a.test", A, flags=2 << 11)  # opcode STATUS
    c.note("udp", "a.test", A)
    data = c.udp_raw(q)
    r = Reply(data) if data is not None else None
    tap.eq(r and (r.id, r.opcode, r.rcode), (0x4323, 2, NOTIMP), "opcode STATUS: NOTIMP")
    _, r = c.ask("a.test", A)
    tap.ok(srv.running() and r.addresses() == ["127.0.0.1"],
           "the server still answers after malformed queries")


def check_log_and_exit(tap, c, srv):
    srv.stop()
    tap.eq(srv.returncode, 0, "SIGTERM: the server exits by itself with status 0 (%.2f s)"
           % (srv.stop_seconds or 0), srv.output())
    got = srv.queries()
    tap.eq(sorted(got), sorted(c.sent), "--log: one line per query parsed (%d), complete after "
           "SIGTERM" % len(c.sent))
    udp = sum(1 for p, _, _ in c.sent if p == "udp")
    tcp = len(c.sent) - udp
    tap.ok(srv.summary().startswith("dnsserver: %d queries (udp %d, tcp %d);"
                                    % (udp + tcp, udp, tcp)),
           "summary on stderr: %s" % srv.summary(), srv.output())


def check_burst(tap):
    """1,000 names with --delay-ms 100: 2,000 queries, 200 in flight at a time."""
    names = 1000
    zone = ["h%d.burst.test A 127.0.%d.%d" % (i, i // 250, i % 250 + 1) for i in range(names)]
    zone += ["h%d.burst.test AAAA fd00::%x" % (i, i + 1) for i in range(names)]
    zone += ["now.test DELAY 0", "now.test A 127.0.0.99"]
    with h.DnsServer(zone, delay_ms=100) as srv:
        c = Client(srv.port)
        t0 = time.monotonic()
        _, r = c.ask("absent.test", A)
        dt = time.monotonic() - t0
        tap.ok(r.rcode == NXDOMAIN and dt >= 0.1,
               "--delay-ms 100: a name not in the zone gets NXDOMAIN after %.3f s (>= 0.1)" % dt)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as slow, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as now:
            for s in (slow, now):
                s.connect(("127.0.0.1", srv.port))
                s.settimeout(HANG)
            slow.send(make_query(1, "h1.burst.test", A))
            now.send(make_query(2, "now.test", A))
            c.note("udp", "h1.burst.test", A)
            c.note("udp", "now.test", A)
            first = Reply(now.recv(65535))
            t_now = time.monotonic()
            Reply(slow.recv(65535))
            t_slow = time.monotonic()
        tap.ok(first.addresses() == ["127.0.0.99"] and t_now < t_slow,
               "DELAY 0 overrides --delay-ms: answered before a query sent earlier")

        total, window = 2 * names, 200
        want = {}
        for i in range(total):
            qtype = A if i % 2 == 0 else AAAA
            k = i // 2
            want[i] = ["127.0.%d.%d" % (k // 250, k % 250 + 1)] if qtype == A \
                else ["fd00::%x" % (k + 1)]
        wrong, got, sent = [], 0, 0
        t0 = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # room for a window of answers: SO_RCVBUFFORCE (33 on Linux) as root, else the
            # most net.core.rmem_max allows
            for opt in (33, socket.SO_RCVBUF):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
                    break
                except OSError:
                    continue
            s.connect(("127.0.0.1", srv.port))
            s.settimeout(HANG)
            for _ in range(total * 2):
                if got >= total:
                    break
                while sent < total and sent - got < window:
                    qtype = A if sent % 2 == 0 else AAAA
                    s.send(make_query(sent, "h%d.burst.test" % (sent // 2), qtype))
                    c.note("udp", "h%d.burst.test" % (sent // 2), qtype)
                    sent += 1
                try:
                    r = Reply(s.recv(65535))
                except socket.timeout:
                    break
                got += 1
                if r.addresses() != want.get(r.id):
                    wrong.append((r.id, r.addresses()))
        wall = time.monotonic() - t0
        tap.eq((got, wrong[:5]), (total, []), "burst: %d delayed queries, every one answered "
               "right" % total)
        serial = total * 0.1
        tap.ok(wall < serial / 2, "burst: answers are delayed concurrently (%.2f s, %.0f "
               "queries/s; one at a time would take %.0f s)" % (wall, total / wall, serial))
        srv.stop()
        tap.eq(len(srv.queries()), len(c.sent), "burst: --log has every query (%d)" % len(c.sent))
        tap.diag(srv.summary())


def dig(port, *args):
    """dig's reply: (status, flags, [(type, data)], output)."""
    cmd = ["dig", "@127.0.0.1", "-p", str(port), "+time=3", "+tries=1"] + list(args)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=HANG)
    out = r.stdout.decode("utf-8", "replace")
    status, flags, records = None, None, []
    for line in out.splitlines():
        if "->>HEADER<<-" in line and "status:" in line:
            status = line.split("status:")[1].split(",")[0].strip()
        elif line.startswith(";; flags:"):
            flags = set(line.split(":")[1].split(";")[0].split())
        elif line and not line.startswith(";"):
            f = line.split()
            if len(f) >= 5 and f[2] == "IN":
                records.append((f[3], f[4]))
    return status, flags, records, out


def check_dig(tap):
    if shutil.which("dig") is None:
        tap.skip("dig cross-check", "dig not installed (apt-get install bind9-dnsutils)")
        return
    with h.DnsServer(ZONE) as srv:
        st, fl, rec, out = dig(srv.port, "a.test", "A")
        tap.eq((st, fl, rec), ("NOERROR", {"qr", "aa", "rd", "ra"}, [("A", "127.0.0.1")]),
               "dig: a.test A", out)
        st, fl, rec, out = dig(srv.port, "multi.test", "A", "+norecurse")
        tap.eq((st, fl, sorted(rec)), ("NOERROR", {"qr", "aa", "ra"},
                                       [("A", "127.0.0.%d" % i) for i in (1, 2, 3)]),
               "dig: multi.test, RD clear", out)
        st, _, rec, out = dig(srv.port, "both.test", "AAAA")
        tap.eq((st, sorted(rec)), ("NOERROR", [("AAAA", "::9"), ("AAAA", "::a")]),
               "dig: both.test AAAA", out)
        for name, want in (("nx.test", "NXDOMAIN"), ("sf.test", "SERVFAIL"),
                           ("ref.test", "REFUSED")):
            st, _, rec, out = dig(srv.port, name, "A")
            tap.eq((st, rec), (want, []), "dig: %s is %s" % (name, want), out)
        st, _, rec, out = dig(srv.port, "v4only.test", "AAAA")
        tap.eq((st, rec), ("NOERROR", []), "dig: NODATA", out)
        st, fl, rec, out = dig(srv.port, "many.test", "AAAA", "+noedns", "+ignore")
        tap.eq((st, "tc" in (fl or ()), rec), ("NOERROR", True, []),
               "dig: 40 AAAA over UDP without EDNS is truncated", out)
        st, fl, rec, out = dig(srv.port, "many.test", "AAAA", "+noedns")
        tap.ok("Truncated, retrying in TCP mode" in out and st == "NOERROR"
               and sorted(d for _, d in rec) == sorted(MANY_AAAA),
               "dig: falls back to TCP and gets the 40 AAAA", out)
        st, _, rec, out = dig(srv.port, "many.test", "A")
        tap.eq(sorted(d for _, d in rec), sorted(MANY_A), "dig: 40 A over UDP with EDNS", out)
        st, _, rec, out = dig(srv.port, "x.deep.wild.test", "A", "+tcp")
        tap.eq(rec, [("A", "127.0.0.8")], "dig: a wildcard over TCP", out)


def check_zone_errors(tap):
    cases = [("x.test BOGUS", 1, "unknown rule"),
             ("# fine\nx.test A 127.0.0.300", 2, "not an IPv4 address"),
             ("x.test AAAA 127.0.0.1", 1, "not an IPv6 address"),
             ("x.test A 127.0.0.1\nx.test NXDOMAIN", 1, "has addresses and NXDOMAIN"),
             ("x.test SILENT\nx.test SERVFAIL", 2, "conflicts"),
             ("x.test GARBAGE=11", 1, "GARBAGE=N"),
             ("x.test DELAY soon", 1, "DELAY"),
             ("a.*.test A 127.0.0.1", 1, "'*'")]
    with tempfile.TemporaryDirectory(prefix="caprobe-dns-") as tmp:
        for text, line, what in cases:
            path = os.path.join(tmp, "zone")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            r = subprocess.run([sys.executable, h.DNSSERVER, "--zone", path],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=HANG)
            err = r.stderr.decode("utf-8", "replace")
            tap.ok(r.returncode == 2 and ("%s:%d:" % (path, line)) in err and what in err
                   and not r.stdout, "bad zone (%s): status 2, FILE:%d: in the message"
                   % (what, line),
                   "status %s, stdout %r, stderr %r" % (r.returncode, r.stdout, err))
        r = subprocess.run([sys.executable, h.DNSSERVER, "--zone", path, "--address",
                            "192.0.2.1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=HANG)
        tap.eq(r.returncode, 2, "a non-loopback --address is refused")


def check_ready_fd(tap):
    with tempfile.TemporaryDirectory(prefix="caprobe-dns-") as tmp:
        zone = os.path.join(tmp, "zone")
        with open(zone, "w", encoding="utf-8") as f:
            f.write("a.test A 127.0.0.1\n")
        rfd, wfd = os.pipe()
        proc = subprocess.Popen([sys.executable, h.DNSSERVER, "--zone", zone, "--ready-fd",
                                 str(wfd)], pass_fds=(wfd,), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=h._die_with_parent)
        os.close(wfd)
        try:
            with os.fdopen(rfd, "rb") as r:
                line = r.readline()
                rest = r.read()  # the server closes its end once it wrote the port
            port = int(line) if line.strip().isdigit() else None
            tap.ok(port is not None and rest == b"", "--ready-fd: PORT\\n written, then closed",
                   repr(line + rest))
            if port is not None:
                _, r = Client(port).ask("a.test", A)
                tap.eq(r.addresses(), ["127.0.0.1"], "--ready-fd: the server answers")
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=HANG)
            tap.eq((proc.returncode, out), (0, b""), "--ready-fd: nothing on stdout; status 0")
        finally:
            h.kill_group(proc)


def check_ipv6(tap):
    if not h.ipv6_loopback_available():
        tap.skip("::1", "no IPv6 loopback here")
        return
    with h.DnsServer(["a.test AAAA ::1"], address="::1") as srv:
        tap.eq(srv.server_arg, "[::1]:%d" % srv.port, "::1: server_arg is [::1]:PORT")
        c = Client(srv.port, host="::1")
        _, r = c.ask("a.test", AAAA)
        _, rt = c.tcp("a.test", AAAA)
        tap.eq((r.addresses(), rt.addresses()), (["::1"], ["::1"]), "::1: UDP and TCP")


# In a private network namespace (unshare -n -m): bring lo up, bind-mount a resolv.conf that
# names 127.0.0.1, run the server on port 53 and resolve through the C library and through dig
# (no @server: from /etc/resolv.conf). Prints one JSON object.
NETNS_CHILD = "--netns-child"


def netns_child(tmp):
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifreq = struct.pack("16sH14x", b"lo", 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifreq))[1]      # SIOCGIFFLAGS
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))        # SIOCSIFFLAGS, IFF_UP
    s.close()
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w", encoding="utf-8") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True, timeout=HANG)
    out = {}
    with h.DnsServer(["netns.caprobe.test A 127.0.0.42",
                      "netns.caprobe.test AAAA ::42"], port=53) as srv:
        out["port"] = srv.port
        infos = socket.getaddrinfo("netns.caprobe.test", 443, proto=socket.IPPROTO_TCP)
        out["getaddrinfo"] = sorted(set(i[4][0] for i in infos))
        if shutil.which("dig"):
            r = subprocess.run(["dig", "+short", "netns.caprobe.test", "A"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=HANG)
            out["dig"] = r.stdout.decode().split()
        srv.stop()
        out["log"] = sorted(set(srv.queries()))  # glibc may ask twice
    print(json.dumps(out))


def check_netns(tap):
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None or shutil.which("mount") is None:
        tap.skip("port 53 in a network namespace", "needs root, unshare and mount")
        return
    probe = subprocess.run([unshare, "-n", "-m", "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=HANG)
    if probe.returncode != 0:
        tap.skip("port 53 in a network namespace", "unshare -n -m is not allowed here")
        return
    with tempfile.TemporaryDirectory(prefix="caprobe-dns-") as tmp:
        p = subprocess.Popen([unshare, "-n", "-m", sys.executable, os.path.abspath(__file__),
                              NETNS_CHILD, tmp], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, preexec_fn=h._die_with_parent)
        try:
            out, err = p.communicate(timeout=HANG)
        finally:
            h.kill_group(p)
    try:
        got = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        tap.ok(False, "port 53 in a network namespace", "stdout %r\nstderr %s" % (out, err))
        return
    tap.eq((got["port"], got["getaddrinfo"]), (53, ["127.0.0.42", "::42"]),
           "netns: on port 53, getaddrinfo() through the bind-mounted /etc/resolv.conf", got)
    if "dig" in got:
        tap.eq(got["dig"], ["127.0.0.42"], "netns: dig through /etc/resolv.conf", got)
    tap.ok(["udp", "netns.caprobe.test", "A"] in got["log"], "netns: the server logged the "
           "C library's queries: %s" % ", ".join(" ".join(q) for q in got["log"]), got)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == NETNS_CHILD:
        netns_child(sys.argv[2])
        return 0
    h.install_signal_handlers()
    tap = h.Tap()
    t0 = time.monotonic()
    srv = h.DnsServer(ZONE)
    try:
        srv.start()
        tap.eq(srv.server_arg, "127.0.0.1:%d" % srv.port, "server_arg is 127.0.0.1:PORT")
        c = Client(srv.port)
        for check in (check_answers, check_rcodes, check_silent, check_truncate, check_forty,
                      check_wildcard, check_delay, check_tcp_framing, check_garbage,
                      check_malformed, check_log_and_exit):
            run_check(tap, check, tap, c, srv)
    finally:
        srv.stop()
    for check in (check_burst, check_dig, check_zone_errors, check_ready_fd, check_ipv6,
                  check_netns):
        run_check(tap, check, tap)
    tap.diag("total %.1f s" % (time.monotonic() - t0))
    return tap.finish()


def run_check(tap, check, *args):
    t = time.monotonic()
    name = getattr(check, "__name__", "check")
    try:
        check(*args)
    except Exception as e:  # a harness failure is a failed test, and the run goes on
        import traceback
        tap.ok(False, "%s: harness" % name, "%s: %s\n%s" % (type(e).__name__, e,
                                                              traceback.format_exc()))
    tap.diag("%s: %.1f s" % (name, time.monotonic() - t))


if __name__ == "__main__":
    sys.exit(main())
