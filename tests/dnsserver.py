#!/usr/bin/env python3
"""A small authoritative DNS server for caprobe's tests and benchmarks: UDP and TCP on one
loopback port, answers from a zone file, with misbehaviours on demand (rcodes, silence,
truncation, hostile bytes, delays).

Python 3 standard library only; one asyncio loop, non-blocking sockets, delays scheduled with
call_later (no sleep, no thread per query), so 10,000 names and 20,000 queries with a 100 ms
delay take a few seconds. It binds 127.0.0.1 or ::1 only (any 127/8 address is accepted, for a
private network namespace). Run:

    python3 tests/dnsserver.py --zone FILE [--address 127.0.0.1] [--port 0] [--delay-ms N]
                               [--log FILE] [--ready-fd N]

When both sockets listen, "PORT\\n" is written to the file descriptor --ready-fd (then closed),
or else to standard output (flushed). --port 0 (the default) lets the kernel choose a port free
for both protocols. Port 53 needs root, e.g. in `unshare -n -m` (bring the loopback interface up
there first: `ip link set lo up`). SIGTERM, SIGINT and SIGHUP end it at once with status 0;
pending delayed answers are dropped. At exit one line of figures goes to standard error:
    dnsserver: N queries (udp U, tcp T); A answers, S unanswered, M malformed; C tcp connections
A zone that does not load: a FILE:LINE message and status 2.

Zone file: one rule per line; '#' starts a comment; blank lines are ignored. Names are
case-insensitive, written without the trailing dot (one is accepted). Rules of one name add up.
    NAME A 127.0.0.1 [127.0.0.2 ...]   addresses (several per line, several lines add up)
    NAME AAAA ::1 [...]
    NAME NXDOMAIN | SERVFAIL | REFUSED  that rcode for every type
    NAME SILENT                         never answers (UDP or TCP; over TCP the query is read)
    NAME TRUNCATE                       UDP: TC=1 and no records; TCP: the full answer from the
                                        A / AAAA rules of that name (NODATA without any)
    NAME GARBAGE                        hostile bytes: each query of that name gets the next of
                                        the cases below (1, 2, ..., 10, 1, ...)
    NAME GARBAGE=N                      always case N (also written GARBAGE N)
    NAME DELAY MS [A|AAAA]              answers for this name (or only its A or AAAA answers)
                                        come after MS milliseconds (overrides --delay-ms;
                                        DELAY 0 answers at once)
    *.SUFFIX <any rule above>           any name ending in .SUFFIX (not SUFFIX itself); an exact
                                        name wins over every wildcard, a longer suffix over a
                                        shorter one; one name's rules come from one entry
A name absent from the zone: NXDOMAIN (after --delay-ms). A name present without records of the
type asked: NOERROR and no records (NODATA, no SOA). Type ANY gets the A and AAAA records; class
other than IN: REFUSED. A and AAAA rules cannot share a name with NXDOMAIN, SERVFAIL, REFUSED,
SILENT or GARBAGE, and a name has at most one of those and TRUNCATE.

GARBAGE cases. Their record is an AAAA ::1 for an AAAA query, else an A 127.0.0.99
(loopback: a client that wrongly accepts one stays on this machine); "a good answer" is the
question and that one record.
    1  wrong ID         a good answer whose ID is the query's + 1
    2  short header     the first 5 bytes of a good answer's header
    3  count too large  ANCOUNT 3, one record
    4  pointer loop     answer name: label "x", then a pointer back to that label (it points
                        backwards, so only a hop or length limit stops a decoder)
    5  pointer range    answer name: a pointer to offset 0x3fff, past the end
    6  rdlength long    RDLENGTH 60 more than the address bytes that follow (the last bytes)
    7  rdlength 3       an A (or AAAA) record with RDLENGTH 3 and 3 bytes of data
    8  empty            a 0-byte datagram (over TCP: a frame of length 0)
    9  other question   a good answer, but its question (and record) are for other.invalid
   10  QR clear         a good answer with the QR bit 0
Over TCP each is sent in one frame with its length prefix.

Answers (RFC 1035 4.1): ID, opcode, RD, CD and the question copied as received (case
included); QR, AA and RA set; each record's name a compression pointer to the question (0xc00c),
TTL 60. A query with an EDNS0 OPT record (RFC 6891) gets a minimal OPT back (payload 1232, no
options) and may take up to its advertised payload (at least 512) over UDP; without OPT, UDP
answers are limited to 512 bytes. A UDP answer over the limit goes out with TC=1 and no records
(the client retries over TCP, where the limit is 65535). Byte math, for a name of wire length L
(many.test: L = 11): header 12 + question L + 4, an A record 2 + 10 + 4 = 16 bytes, an AAAA
record 2 + 10 + 16 = 28 bytes, OPT 11. 40 A records: 12 + 15 + 640 = 667 > 512, truncated without
EDNS; 40 AAAA: 12 + 15 + 1120 = 1147; with OPT (678 and 1158 bytes) both fit the 1232 of dig and
the 1280 of c-ares 1.18. At most (512 - 16 - L) // 16 A records (30 here) fit without EDNS.
TCP (RFC 1035 4.2.2): 2-byte length prefix, any number of queries per connection, frames split
or coalesced in any way; delayed answers may overtake each other (match them by ID).
Malformed queries (shorter than a header, QR set, not one question, a bad name) are dropped,
except that a header with a bad question gets FORMERR; opcodes other than QUERY get NOTIMP.

--log FILE: one line per query that parsed, "udp|tcp NAME TYPE", written as it arrives, line
buffered (complete after SIGTERM). NAME is lower case without the trailing dot ("." for the
root), bytes other than letters, digits, '-', '_' and '*' written \\DDD as dig does; TYPE a
mnemonic (A, AAAA, ANY, ...) or TYPEnnn.
"""

import argparse
import asyncio
import errno
import ipaddress
import os
import signal
import socket
import struct
import sys

TTL = 60
OUR_EDNS_PAYLOAD = 1232
UDP_PLAIN_LIMIT = 512
TCP_LIMIT = 65535
MAX_TCP_CONNECTIONS = 4096
# the addresses in GARBAGE answers: TEST-NET-1 and the IPv6 documentation prefix
GARBAGE_A = bytes([127, 0, 0, 99])
GARBAGE_AAAA = bytes.fromhex("00000000000000000000000000000001")

T_A, T_AAAA, T_OPT, T_ANY = 1, 28, 41, 255
C_IN = 1
TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              33: "SRV", 41: "OPT", 64: "SVCB", 65: "HTTPS", 255: "ANY"}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODE_ACTIONS = {"NXDOMAIN": NXDOMAIN, "SERVFAIL": SERVFAIL, "REFUSED": REFUSED}
# rules that decide the whole answer of a name; A / AAAA go with none of them but TRUNCATE
ACTIONS = ("NXDOMAIN", "SERVFAIL", "REFUSED", "SILENT", "TRUNCATE", "GARBAGE")
GARBAGE_CASES = ("wrong ID", "short header", "count too large", "pointer loop",
                 "pointer range", "rdlength long", "rdlength 3", "empty", "other question",
                 "QR clear")

# RFC 1035 4.1.1 header flags
F_QR, F_AA, F_TC, F_RD, F_RA, F_CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0010

_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_*")


def label_text(label):
    """One label as zone and log text: lower case, other bytes \\DDD (dig's way)."""
    return "".join(chr(b) if b in _PLAIN else "\\%03d" % b for b in label.lower())


def type_name(qtype):
    return TYPE_NAMES.get(qtype, "TYPE%d" % qtype)


# ---------------------------------------------------------------- zone

class ZoneError(Exception):
    pass


class Entry:
    """What the zone says about one name (or one wildcard suffix)."""
    __slots__ = ("name", "a", "aaaa", "action", "garbage", "delay", "line")

    def __init__(self, name, line):
        self.name = name
        self.line = line
        self.a = []          # rdata, 4 bytes each, in zone order, no duplicates
        self.aaaa = []       # rdata, 16 bytes each
        self.action = None   # one of ACTIONS or None
        self.garbage = None  # GARBAGE=N: N; GARBAGE: None (cycle)
        self.delay = {}      # seconds by type name ("A", "AAAA", None: every type)


def zone_name(text):
    """(labels as text, wildcard?) of a zone name; raises ZoneError."""
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise ZoneError("empty name (the root cannot be in the zone)")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ZoneError("name %r is not ASCII" % text) from None
    labels = raw.split(b".")
    if any(not lab for lab in labels):
        raise ZoneError("name %r has an empty label" % text)
    if any(len(lab) > 63 for lab in labels):
        raise ZoneError("name %r has a label over 63 bytes" % text)
    if sum(len(lab) + 1 for lab in labels) + 1 > 255:
        raise ZoneError("name %r is over 255 bytes" % text)
    wildcard = labels[0] == b"*"
    if wildcard:
        labels = labels[1:]
        if not labels:
            raise ZoneError("a wildcard needs a suffix: *.SUFFIX")
    if any(b"*" in lab for lab in labels):
        raise ZoneError("name %r: '*' is only allowed as the whole first label" % text)
    return ".".join(label_text(lab) for lab in labels), wildcard


def parse_addresses(words, version):
    out = []
    for w in words:
        try:
            addr = ipaddress.IPv4Address(w) if version == 4 else ipaddress.IPv6Address(w)
        except ValueError:
            raise ZoneError("%r is not an IPv%d address" % (w, version)) from None
        out.append(addr.packed)
    return out


def apply_rule(entry, kind, args):
    """Add one rule to an entry; raises ZoneError."""
    if kind in ("A", "AAAA"):
        if not args:
            raise ZoneError("%s needs at least one address" % kind)
        rdatas = parse_addresses(args, 4 if kind == "A" else 6)
        have = entry.a if kind == "A" else entry.aaaa
        for r in rdatas:
            if r not in have:
                have.append(r)
        return
    if kind == "DELAY":
        if not 1 <= len(args) <= 2 or not args[0].isdigit() or int(args[0]) > 600000 or \
                (len(args) == 2 and args[1] not in ("A", "AAAA")):
            raise ZoneError("DELAY takes milliseconds (0 to 600000) and optionally A or AAAA")
        delay = int(args[0]) / 1000.0
        qtype = args[1] if len(args) == 2 else None
        if entry.delay.get(qtype, delay) != delay:
            raise ZoneError("a second, different DELAY for %s" % entry.name)
        entry.delay[qtype] = delay
        return
    garbage = None
    if kind.startswith("GARBAGE=") or (kind == "GARBAGE" and args):
        # GARBAGE=N, or GARBAGE N
        num, extra = (kind[len("GARBAGE="):], args) if kind != "GARBAGE" else (args[0], args[1:])
        if extra or not num.isdigit() or not 1 <= int(num) <= len(GARBAGE_CASES):
            raise ZoneError("GARBAGE=N needs a case number from 1 to %d" % len(GARBAGE_CASES))
        kind, garbage = "GARBAGE", int(num)
    elif kind not in ACTIONS:
        raise ZoneError("unknown rule %r (A, AAAA, NXDOMAIN, SERVFAIL, REFUSED, SILENT, "
                        "TRUNCATE, GARBAGE[=N], DELAY MS)" % kind)
    elif args:
        raise ZoneError("%s takes no argument" % kind)
    if entry.action is not None and (entry.action, entry.garbage) != (kind, garbage):
        raise ZoneError("%s: %s conflicts with %s given before" % (entry.name, kind,
                                                                   entry.action))
    entry.action, entry.garbage = kind, garbage


def load_zone(path):
    """({name: Entry}, {suffix: Entry}) from a zone file; raises ZoneError "FILE:LINE: why"."""
    exact, wild = {}, {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ZoneError("%s: %s" % (path, e)) from None
    for lineno, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            if len(words) < 2:
                raise ZoneError("a rule is NAME KIND [ARGS...]")
            name, wildcard = zone_name(words[0])
            table = wild if wildcard else exact
            entry = table.get(name)
            if entry is None:
                entry = table[name] = Entry(("*." if wildcard else "") + name, lineno)
            apply_rule(entry, words[1].upper(), words[2:])
        except ZoneError as e:
            raise ZoneError("%s:%d: %s" % (path, lineno, e)) from None
    for entry in list(exact.values()) + list(wild.values()):
        if (entry.a or entry.aaaa) and entry.action not in (None, "TRUNCATE"):
            raise ZoneError("%s:%d: %s has addresses and %s; %s answers without them"
                            % (path, entry.line, entry.name, entry.action, entry.action))
    return exact, wild


# ---------------------------------------------------------------- messages

class Malformed(Exception):
    pass


class Query:
    """A parsed query (RFC 1035 4.1.1 header, 4.1.2 question; RFC 6891 6.1.2 OPT)."""
    __slots__ = ("id", "flags", "question", "labels", "name", "qtype", "qclass", "edns")

    @classmethod
    def parse(cls, data):
        """A Query, or raises Malformed with the header usable (id, flags set) when the
        question is what is wrong; returns None for what must be dropped silently."""
        if len(data) < 12:
            return None
        q = cls()
        q.id, q.flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", data)
        q.edns = None
        if q.flags & F_QR:
            return None  # a response: answering it could start a loop
        if qdcount != 1:
            raise Malformed(q)
        # 4.1.2 QNAME: labels, no compression in a question we accept
        off, labels = 12, []
        for _ in range(128):
            if off >= len(data):
                raise Malformed(q)
            n = data[off]
            if n == 0:
                off += 1
                break
            if n > 63 or off + 1 + n > len(data):
                raise Malformed(q)
            labels.append(data[off + 1:off + 1 + n])
            off += 1 + n
        else:
            raise Malformed(q)
        if off - 12 > 255 or off + 4 > len(data):
            raise Malformed(q)
        q.qtype, q.qclass = struct.unpack_from("!HH", data, off)
        off += 4
        q.question = data[12:off]
        q.labels = [label_text(lab) for lab in labels]
        q.name = ".".join(q.labels) or "."
        # additional section: an OPT record (root name, type 41, class = UDP payload size);
        # anything unexpected there only means no EDNS
        if ancount == 0 and nscount == 0:
            for _ in range(min(arcount, 8)):
                if off + 11 > len(data) or data[off] != 0:
                    break
                rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", data, off + 1)
                if rtype == T_OPT:
                    q.edns = rclass
                off += 11 + rdlen
        return q


def header(q, flags_set, rcode, qd, an, ns, ar):
    # RFC 1035 4.1.1: opcode, RD and CD are copied; QR, AA, RA set; TC as told
    flags = (q.flags & (0x7800 | F_RD | F_CD)) | F_QR | F_AA | F_RA | flags_set | rcode
    return struct.pack("!6H", q.id, flags, qd, an, ns, ar)


def opt_record():
    # RFC 6891 6.1.2: root name, type OPT, class = our UDP payload, TTL 0 (rcode, version,
    # flags), no options
    return b"\x00" + struct.pack("!HHIH", T_OPT, OUR_EDNS_PAYLOAD, 0, 0)


def record(rtype, rdata, name=b"\xc0\x0c"):
    return name + struct.pack("!HHIH", rtype, C_IN, TTL, len(rdata)) + rdata


def encode(q, rcode, records, limit):
    """A response to q with records [(type, rdata)]; over limit bytes: TC=1 and no records."""
    opt = opt_record() if q.edns is not None else b""
    body = b"".join(record(t, r) for t, r in records)
    msg = header(q, 0, rcode, 1, len(records), 0, 1 if opt else 0) + q.question + body + opt
    if len(msg) <= limit:
        return msg
    return truncated(q, rcode)


def truncated(q, rcode):
    """TC=1, the question, no records (and OPT when the query had one)."""
    opt = opt_record() if q.edns is not None else b""
    return header(q, F_TC, rcode, 1, 0, 0, 1 if opt else 0) + q.question + opt


def formerr(q):
    return header(q, 0, FORMERR, 0, 0, 0, 0)


def garbage(q, case):
    """The bytes of GARBAGE case (1-based) for query q; see the module docstring."""
    rtype, addr = (T_AAAA, GARBAGE_AAAA) if q.qtype == T_AAAA else (T_A, GARBAGE_A)
    good = header(q, 0, NOERROR, 1, 1, 0, 0) + q.question + record(rtype, addr)
    after_question = 12 + len(q.question)
    if case == 1:
        return struct.pack("!H", (q.id + 1) & 0xFFFF) + good[2:]
    if case == 2:
        return good[:5]
    if case == 3:
        return header(q, 0, NOERROR, 1, 3, 0, 0) + q.question + record(rtype, addr)
    if case == 4:
        # RFC 1035 4.1.4: 0xc000 | offset; the pointer at after_question + 2 names
        # after_question, where label "x" is followed by that same pointer again
        loop = b"\x01x" + struct.pack("!H", 0xC000 | after_question)
        return good[:after_question] + record(rtype, addr, name=loop)
    if case == 5:
        return good[:after_question] + record(rtype, addr, name=b"\xff\xff")
    if case == 6:
        return good[:after_question] + b"\xc0\x0c" \
            + struct.pack("!HHIH", rtype, C_IN, TTL, len(addr) + 60) + addr
    if case == 7:
        return good[:after_question] + record(rtype, addr[:3])
    if case == 8:
        return b""
    if case == 9:
        other = b"\x05other\x07invalid\x00" + q.question[-4:]
        return header(q, 0, NOERROR, 1, 1, 0, 0) + other + record(rtype, addr)
    if case == 10:
        return good[:2] + struct.pack("!H", struct.unpack_from("!H", good, 2)[0] & ~F_QR) \
            + good[4:]
    raise ValueError("no GARBAGE case %d" % case)


# ---------------------------------------------------------------- server

class Server:
    """The zone, the figures and the log; decides every answer. Protocol objects feed it whole
    messages and give it a function that sends one answer back."""

    def __init__(self, exact, wild, delay, log):
        self.exact, self.wild = exact, wild
        self.delay = delay
        self.log = log
        self.loop = None
        self.garbage_next = {}   # query name -> next GARBAGE case of a cycling entry
        self.queries = {"udp": 0, "tcp": 0}
        self.answered = 0
        self.unanswered = 0
        self.malformed = 0
        self.tcp_connections = 0
        self.tcp_open = set()

    def lookup(self, q):
        entry = self.exact.get(q.name)
        if entry is not None or not self.wild:
            return entry
        for i in range(1, len(q.labels)):
            entry = self.wild.get(".".join(q.labels[i:]))
            if entry is not None:
                return entry
        return None

    def respond(self, q, proto):
        """(response bytes or None for silence, delay in seconds) for a parsed query."""
        limit = TCP_LIMIT if proto == "tcp" else \
            (UDP_PLAIN_LIMIT if q.edns is None else max(UDP_PLAIN_LIMIT, q.edns))
        entry = self.lookup(q)
        if entry is None:
            return encode(q, NXDOMAIN, [], limit), self.delay
        delay = entry.delay.get(type_name(q.qtype), entry.delay.get(None, self.delay))
        action = entry.action
        if action == "SILENT":
            return None, delay
        if action == "GARBAGE":
            case = entry.garbage
            if case is None:
                case = self.garbage_next.get(q.name, 1)
                self.garbage_next[q.name] = case % len(GARBAGE_CASES) + 1
            return garbage(q, case), delay
        if action in RCODE_ACTIONS:
            return encode(q, RCODE_ACTIONS[action], [], limit), delay
        if q.qclass != C_IN:
            return encode(q, REFUSED, [], limit), delay
        if action == "TRUNCATE" and proto == "udp":
            return truncated(q, NOERROR), delay
        records = []
        if q.qtype in (T_A, T_ANY):
            records += [(T_A, r) for r in entry.a]
        if q.qtype in (T_AAAA, T_ANY):
            records += [(T_AAAA, r) for r in entry.aaaa]
        return encode(q, NOERROR, records, limit), delay

    def handle(self, data, proto, reply):
        """One message received; reply(bytes) sends an answer (now or after the delay)."""
        try:
            q = Query.parse(data)
        except Malformed as e:
            self.malformed += 1
            q = e.args[0]
            if (q.flags >> 11) & 0xF == 0:
                reply(formerr(q))
                self.answered += 1
            return
        if q is None:
            self.malformed += 1
            return
        self.queries[proto] += 1
        if self.log is not None:
            self.log.write("%s %s %s\n" % (proto, q.name, type_name(q.qtype)))
        if (q.flags >> 11) & 0xF != 0:
            msg, delay = header(q, 0, NOTIMP, 1, 0, 0, 0) + q.question, self.delay
        else:
            msg, delay = self.respond(q, proto)
        if msg is None:
            self.unanswered += 1
            return
        self.answered += 1
        if delay > 0:
            self.loop.call_later(delay, reply, msg)
        else:
            reply(msg)

    def summary(self):
        return ("dnsserver: %d queries (udp %d, tcp %d); %d answers, %d unanswered, "
                "%d malformed; %d tcp connections"
                % (sum(self.queries.values()), self.queries["udp"], self.queries["tcp"],
                   self.answered, self.unanswered, self.malformed, self.tcp_connections))


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.server.handle(data, "udp", lambda msg: self.send(msg, addr))

    def send(self, msg, addr):
        if self.transport.is_closing():
            return
        if msg:
            self.transport.sendto(msg, addr)
            return
        # asyncio's sendto drops an empty datagram (GARBAGE case 8): the socket sends it
        try:
            self.sock.sendto(msg, addr)
        except OSError:
            pass

    def error_received(self, exc):
        pass  # an ICMP error for an earlier answer: nothing to do


class TcpProtocol(asyncio.Protocol):
    """One TCP connection: frames reassembled from any split (RFC 1035 4.2.2); the buffer
    holds at most one partial frame (65537 bytes) plus what one read brought."""

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.buf = bytearray()

    def connection_made(self, transport):
        self.transport = transport
        if len(self.server.tcp_open) >= MAX_TCP_CONNECTIONS:
            transport.abort()
            return
        self.server.tcp_open.add(self)
        self.server.tcp_connections += 1

    def data_received(self, data):
        self.buf += data
        for _ in range(len(self.buf) // 2 + 1):
            if len(self.buf) < 2:
                break
            n = (self.buf[0] << 8) | self.buf[1]
            if len(self.buf) < 2 + n:
                break
            msg = bytes(self.buf[2:2 + n])
            del self.buf[:2 + n]
            self.server.handle(msg, "tcp", self.send)

    def send(self, msg):
        if not self.transport.is_closing():
            self.transport.write(struct.pack("!H", len(msg)) + msg)

    # a client that does not read its answers stops being read
    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()

    def connection_lost(self, exc):
        self.server.tcp_open.discard(self)


# Linux's SO_RCVBUFFORCE / SO_SNDBUFFORCE (asm-generic/socket.h; Python has no names for them):
# as root they pass net.core.rmem_max, which would drop part of a burst of 20,000 queries
SO_RCVBUFFORCE = 33 if sys.platform.startswith("linux") else None
SO_SNDBUFFORCE = 32 if sys.platform.startswith("linux") else None
UDP_BUFFER = 32 << 20


def set_buffer(sock, force_opt, opt, size):
    """A large socket buffer: forced when allowed (root), else as large as the system lets."""
    for o in (force_opt, opt):
        if o is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, o, size)
            return
        except OSError:
            continue


def bind_pair(address, port):
    """(tcp listening socket, udp socket) on one port; port 0: the kernel's choice, retried
    when UDP's side of that port is taken."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    tries = 20 if port == 0 else 1
    for attempt in range(tries):
        tcp = socket.socket(family, socket.SOCK_STREAM)
        udp = None
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            tcp.bind((address, port))
            tcp.listen(512)
            chosen = tcp.getsockname()[1]
            udp = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            set_buffer(udp, SO_RCVBUFFORCE, socket.SO_RCVBUF, UDP_BUFFER)
            set_buffer(udp, SO_SNDBUFFORCE, socket.SO_SNDBUF, UDP_BUFFER)
            udp.bind((address, chosen))
        except OSError as e:
            tcp.close()
            if udp is not None:
                udp.close()
            if e.errno == errno.EADDRINUSE and attempt + 1 < tries:
                continue
            raise
        tcp.setblocking(False)
        udp.setblocking(False)
        return tcp, udp
    raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")


async def serve(args, server, tcp, udp):
    loop = asyncio.get_running_loop()
    server.loop = loop
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    udp_transport, _ = await loop.create_datagram_endpoint(lambda: UdpProtocol(server, udp),
                                                           sock=udp)
    tcp_server = await loop.create_server(lambda: TcpProtocol(server), sock=tcp)
    port = tcp.getsockname()[1]
    if args.ready_fd is not None:
        os.write(args.ready_fd, b"%d\n" % port)
        os.close(args.ready_fd)
    else:
        sys.stdout.write("%d\n" % port)
        sys.stdout.flush()
    await stop.wait()
    tcp_server.close()
    udp_transport.abort()
    for conn in list(server.tcp_open):
        conn.transport.abort()


def main(argv=None):
    ap = argparse.ArgumentParser(description="A small authoritative DNS server for tests "
                                 "(zone format: see the top of this file).")
    ap.add_argument("--zone", required=True, help="zone file")
    ap.add_argument("--address", default="127.0.0.1", help="127.0.0.1 (default), ::1, 127/8")
    ap.add_argument("--port", type=int, default=0, help="UDP and TCP port; 0: kernel's choice")
    ap.add_argument("--delay-ms", type=int, default=0, help="delay of every answer")
    ap.add_argument("--log", help="write one line per query: udp|tcp NAME TYPE")
    ap.add_argument("--ready-fd", type=int, help="write PORT\\n here instead of stdout")
    args = ap.parse_args(argv)
    try:
        if not ipaddress.ip_address(args.address).is_loopback:
            raise ValueError
    except ValueError:
        ap.error("--address must be a loopback address (127.0.0.1, ::1)")
    if not 0 <= args.port <= 65535 or not 0 <= args.delay_ms <= 600000:
        ap.error("--port 0 to 65535, --delay-ms 0 to 600000")
    try:
        exact, wild = load_zone(args.zone)
    except ZoneError as e:
        sys.stderr.write("dnsserver: %s\n" % e)
        return 2
    try:
        tcp, udp = bind_pair(args.address, args.port)
    except OSError as e:
        sys.stderr.write("dnsserver: cannot listen on %s port %d: %s\n"
                         % (args.address, args.port, e))
        return 1
    log = open(args.log, "w", encoding="utf-8", buffering=1) if args.log else None
    server = Server(exact, wild, args.delay_ms / 1000.0, log)
    try:
        asyncio.run(serve(args, server, tcp, udp))
    finally:
        if log is not None:
            log.close()
        sys.stderr.write(server.summary() + "\n")
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
