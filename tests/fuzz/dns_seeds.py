#!/usr/bin/env python3
"""Seed inputs for the fuzz_dns target (tests/fuzz/fuzz_dns.c): DNS responses of real shape.

  tests/fuzz/dns_seeds.py OUTDIR      write every seed into OUTDIR (fixtures/fuzz/dns), one file
                                      each, named for what it covers; existing files are replaced
  tests/fuzz/dns_seeds.py --list      print the names and what each covers

An input is fuzz_dns.c's: two octets of header (which families are asked, UDP or TCP, whether the
query's ID is written over the response's, what the server does when the responses run out, and
what the scan does: the second lookup of the name at once, after its first answer or after its
last, one name at a time, cancel or close after the first answer), then responses, each a 2-octet big-endian length and the message. They are served
one per query in the order c-ares sends them: a.fuzz.invalid (A, then AAAA), then b.fuzz.invalid;
a retry or a fallback to TCP takes the next one. The ID of every response here is 0: the harness
writes the query's over it (a seed with header bit 3 keeps 0 on purpose).

Covers A, AAAA, several answers, a repeated address, more addresses than resolver.h keeps, CNAME
chains, NXDOMAIN, SERVFAIL, REFUSED, NODATA, TC (the TCP fallback), EDNS OPT, compression pointers,
FORMERR (c-ares retries without EDNS), and malformed ones: a pointer loop, an rdlength past the
end, an A record of 3 octets, counts larger than the records, a short header, the wrong question,
a wrong ID. Standard library only.
"""
import os
import struct
import sys

NAME1 = "a.fuzz.invalid"
NAME2 = "b.fuzz.invalid"
A, NS, CNAME, SOA, AAAA, OPT = 1, 2, 5, 6, 28, 41
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
PTR_Q = b"\xc0\x0c"  # a compression pointer to the question's name (RFC 1035 4.1.4)

# Header octet 0 (fuzz_dns.c)
FAM_A, FAM_AAAA, FAM_BOTH = 0, 1, 2
TCP, KEEP_ID = 4, 8
HANG_UP, SEND_FAILS, SILENT = 0x00, 0x10, 0x20
# Header octet 1
AFTER_FIRST, LATER, CONC1, CANCEL, CLOSE = 1, 2, 4, 8, 16


def name(n):
    """A name in labels (RFC 1035 3.1), uncompressed."""
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rdata, ttl=300, rclass=1, rdlen=None):
    """A resource record (RFC 1035 4.1.3); owner is wire bytes (a name or a pointer)."""
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, n) + rdata


def opt(size=1232):
    """The EDNS(0) OPT pseudo-record (RFC 6891 6.1.2)."""
    return b"\0" + struct.pack(">HHIH", OPT, size, 0, 0)


def soa(zone="fuzz.invalid"):
    rdata = name("ns." + zone) + name("hostmaster." + zone) + struct.pack(">IIIII", 1, 3600, 600, 86400, 60)
    return rr(name(zone), SOA, rdata)


def msg(qname, qtype, rcode=NOERROR, an=(), ns=(), ar=(), tc=False, counts=None, question=True):
    """A response: QR, RD and RA set, AA for authoritative answers (RFC 1035 4.1.1)."""
    flags = 0x8000 | 0x0400 | 0x0100 | 0x0080 | rcode
    if tc:
        flags |= 0x0200
    qd = 1 if question else 0
    c = counts or (qd, len(an), len(ns), len(ar))
    out = struct.pack(">HHHHHH", 0, flags, *c)
    if question:
        out += name(qname) + struct.pack(">HH", qtype, 1)
    return out + b"".join(an) + b"".join(ns) + b"".join(ar)


def a(ip):
    return bytes(int(x) for x in ip.split("."))


def aaaa(ip):
    """IPv6 text with at most one '::', no embedded IPv4."""
    head, _, tail = ip.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack(">8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def seed(o0, o1, *responses):
    return bytes([o0, o1]) + b"".join(struct.pack(">H", len(r)) + r for r in responses)


def ok_a(qname, *ips, ar=()):
    return msg(qname, A, an=[rr(PTR_Q, A, a(ip)) for ip in ips], ar=ar)


def ok_aaaa(qname, *ips, ar=()):
    return msg(qname, AAAA, an=[rr(PTR_Q, AAAA, aaaa(ip)) for ip in ips], ar=ar)


def nodata(qname, qtype):
    return msg(qname, qtype, ns=[soa()])


def nxdomain(qname, qtype):
    return msg(qname, qtype, rcode=NXDOMAIN, ns=[soa()])


def cname_chain(qname, qtype, rdata_of):
    """qname -> c1 -> c2 -> address, later names pointing back into earlier ones."""
    # offsets: header 12, question name at 12 (16 octets), qtype/qclass, then the answers
    c1 = b"\x02c1" + PTR_Q  # c1.a.fuzz.invalid, its tail a pointer to the question
    first = rr(PTR_Q, CNAME, c1)
    off_c1 = 12 + len(name(qname)) + 4 + len(PTR_Q) + 10  # where c1's rdata starts
    ptr_c1 = struct.pack(">H", 0xC000 | off_c1)
    c2 = b"\x02c2" + ptr_c1
    second = rr(ptr_c1, CNAME, c2)
    off_c2 = off_c1 + len(c1) + len(ptr_c1) + 10
    ptr_c2 = struct.pack(">H", 0xC000 | off_c2)
    return msg(qname, qtype, an=[first, second, rr(ptr_c2, qtype, rdata_of)])


def seeds():
    s = {}
    d = "every family answered over UDP with EDNS, the name looked up again at once"
    s["both-udp"] = (d, seed(FAM_BOTH, 0,
        ok_a(NAME1, "192.0.2.1", ar=[opt()]), ok_aaaa(NAME1, "2001:db8::1", ar=[opt()]),
        ok_a(NAME2, "192.0.2.2", "192.0.2.3", ar=[opt()]), ok_aaaa(NAME2, "2001:db8::2", ar=[opt()])))
    s["a-several-repeated"] = ("A only: several answers, one address twice", seed(FAM_A, 0,
        ok_a(NAME1, "192.0.2.1", "192.0.2.2", "192.0.2.1", "198.51.100.7"),
        ok_a(NAME2, "203.0.113.9")))
    s["aaaa-only"] = ("AAAA only, the second name NODATA", seed(FAM_AAAA, 0,
        ok_aaaa(NAME1, "2001:db8::1", "2001:db8::53"), nodata(NAME2, AAAA)))
    many = [f"10.0.{i // 200}.{i % 200 + 1}" for i in range(70)]
    s["a-over-cap"] = ("70 A records: more than PROBE_DNS_ADDRS_MAX; 66 with 6 repeated", seed(FAM_A, 0,
        ok_a(NAME1, *many), ok_a(NAME2, *(many[:60] + many[:6]))))
    s["cname-chain"] = ("CNAME chains with compression pointers into earlier records",
        seed(FAM_BOTH, 0, cname_chain(NAME1, A, a("192.0.2.10")),
             cname_chain(NAME1, AAAA, aaaa("2001:db8::10")), cname_chain(NAME2, A, a("192.0.2.11")),
             msg(NAME2, AAAA, an=[rr(PTR_Q, CNAME, b"\x02c1" + PTR_Q)])))
    s["nxdomain"] = ("NXDOMAIN for both families of both names", seed(FAM_BOTH, 0,
        nxdomain(NAME1, A), nxdomain(NAME1, AAAA), nxdomain(NAME2, A), nxdomain(NAME2, AAAA)))
    s["nxdomain-one-family"] = ("NXDOMAIN for AAAA but an address for A", seed(FAM_BOTH, 0,
        ok_a(NAME1, "192.0.2.1"), nxdomain(NAME1, AAAA), nodata(NAME2, A), nxdomain(NAME2, AAAA)))
    s["nodata"] = ("NOERROR without answers (NODATA), SOA in authority", seed(FAM_BOTH, 0,
        nodata(NAME1, A), nodata(NAME1, AAAA), nodata(NAME2, A), nodata(NAME2, AAAA)))
    s["servfail"] = ("SERVFAIL on every try of A, an address for AAAA", seed(FAM_BOTH, CONC1,
        msg(NAME1, A, rcode=SERVFAIL), ok_aaaa(NAME1, "2001:db8::1"),
        msg(NAME1, A, rcode=SERVFAIL), msg(NAME1, A, rcode=SERVFAIL)))
    s["refused"] = ("REFUSED on every try", seed(FAM_A, CONC1,
        *[msg(NAME1, A, rcode=REFUSED)] * 3, *[msg(NAME2, A, rcode=REFUSED)] * 3))
    s["notimp-then-ok"] = ("NOTIMP, then an answer on the retry", seed(FAM_A, CONC1,
        msg(NAME1, A, rcode=NOTIMP), ok_a(NAME1, "192.0.2.1"), ok_a(NAME2, "192.0.2.2")))
    s["formerr-no-opt"] = ("FORMERR without OPT: c-ares asks again without EDNS", seed(FAM_A, CONC1,
        msg(NAME1, A, rcode=FORMERR), ok_a(NAME1, "192.0.2.1"), ok_a(NAME2, "192.0.2.2")))
    s["tc-then-tcp"] = ("a truncated UDP answer, then the answer over TCP", seed(FAM_BOTH, 0,
        msg(NAME1, A, tc=True), ok_aaaa(NAME1, "2001:db8::1"), ok_a(NAME2, "192.0.2.2"),
        ok_aaaa(NAME2, "2001:db8::2"), ok_a(NAME1, "192.0.2.1")))
    s["tcp-forced"] = ("every answer over TCP (header bit 2)", seed(FAM_BOTH | TCP, 0,
        ok_a(NAME1, "192.0.2.1"), ok_aaaa(NAME1, "2001:db8::1"), ok_a(NAME2, "192.0.2.2"),
        nxdomain(NAME2, AAAA)))
    s["tcp-large"] = ("a TCP answer larger than any UDP one", seed(FAM_A | TCP, 0,
        ok_a(NAME1, *[f"10.1.{i // 250}.{i % 250 + 1}" for i in range(300)]), ok_a(NAME2, "192.0.2.9")))
    s["kept-answer"] = ("the name looked up again after its answer: the kept one", seed(FAM_BOTH, LATER,
        ok_a(NAME1, "192.0.2.1"), nodata(NAME1, AAAA), ok_a(NAME2, "192.0.2.2"), nodata(NAME2, AAAA)))
    s["cancel-after-first"] = ("probe_resolver_cancel after the first answer, one name at a time",
        seed(FAM_BOTH, CANCEL | CONC1, ok_a(NAME1, "192.0.2.1"), msg(NAME1, AAAA, ns=[soa()], question=False)))
    s["close-after-first"] = ("probe_resolver_close after the first answer, a name queued", seed(FAM_BOTH, CLOSE | CONC1,
        ok_a(NAME1, "192.0.2.1"), msg(NAME1, A, question=False)))
    s["cancel-tcp-queued"] = ("cancel while a TCP retry is queued: A answered, AAAA truncated",
        seed(FAM_BOTH, CANCEL, ok_a(NAME1, "192.0.2.1"), msg(NAME1, AAAA, tc=True)))
    s["again-mid-flight"] = ("the name again once A answered, AAAA answered after a retry", seed(
        FAM_BOTH, AFTER_FIRST | CONC1, ok_a(NAME1, "192.0.2.1"), ok_aaaa(NAME2, "2001:db8::2"),
        ok_aaaa(NAME1, "2001:db8::1"), ok_a(NAME2, "192.0.2.2"), nodata(NAME2, AAAA)))
    s["queue-sync-failure"] = ("the queued name starts from a callback and fails at once", seed(
        FAM_A | SEND_FAILS, CONC1, ok_a(NAME1, "192.0.2.1")))
    s["run-out-send-fails"] = ("no response: every send fails at once", seed(FAM_BOTH | SEND_FAILS, 0))
    s["run-out-silent"] = ("a wrong answer, then silence: c-ares's timeouts", seed(FAM_A | SILENT, 0,
        ok_a(NAME2, "192.0.2.2")))
    s["wrong-id"] = ("IDs left as they are (0): every answer ignored", seed(FAM_A | KEEP_ID, 0,
        ok_a(NAME1, "192.0.2.1"), ok_a(NAME2, "192.0.2.2")))
    s["wrong-question"] = ("an answer to another name, then the right one", seed(FAM_A, CONC1,
        ok_a(NAME2, "192.0.2.2"), ok_a(NAME1, "192.0.2.1")))
    # Malformed
    loop = msg(NAME1, A, an=[rr(b"\xc0\x20", A, a("192.0.2.1"))])  # owner at 32 points at itself
    s["bad-pointer-loop"] = ("an owner name that points at itself", seed(FAM_A, 0, loop, loop))
    fwd = msg(NAME1, A, an=[rr(b"\xc0\x40", A, a("192.0.2.1"))])  # points past the end
    s["bad-pointer-forward"] = ("a pointer past the end of the message", seed(FAM_A, 0, fwd))
    long_rd = msg(NAME1, A, an=[rr(PTR_Q, A, a("192.0.2.1"), rdlen=40)])
    s["bad-rdlength"] = ("an rdlength past the end", seed(FAM_A, 0, long_rd, long_rd))
    short_a = msg(NAME1, A, an=[rr(PTR_Q, A, b"\xc0\x00\x02"), rr(PTR_Q, A, a("192.0.2.1"))])
    s["bad-a-rdlength-3"] = ("an A record of 3 octets before a good one", seed(FAM_A, 0, short_a))
    more = msg(NAME1, A, an=[rr(PTR_Q, A, a("192.0.2.1"))], counts=(1, 5, 2, 3))
    s["bad-counts"] = ("counts larger than the records", seed(FAM_BOTH, 0, more,
        msg(NAME1, AAAA, an=[rr(PTR_Q, AAAA, aaaa("2001:db8::1"))], counts=(1, 1, 0, 9))))
    s["bad-qdcount"] = ("two questions", seed(FAM_A, 0,
        msg(NAME1, A, an=[rr(PTR_Q, A, a("192.0.2.1"))], counts=(2, 1, 0, 0))))
    s["bad-short"] = ("shorter than a header, then empty", seed(FAM_A, 0, b"\0\0\x81\x80\0", b""))
    s["bad-label"] = ("a label longer than 63 octets in a CNAME", seed(FAM_A, 0,
        msg(NAME1, A, an=[rr(PTR_Q, CNAME, b"\x50" + b"x" * 80 + b"\0")])))
    s["wrong-family"] = ("AAAA records in the answer to A and the other way round", seed(FAM_BOTH, 0,
        msg(NAME1, A, an=[rr(PTR_Q, AAAA, aaaa("2001:db8::1"))]),
        msg(NAME1, AAAA, an=[rr(PTR_Q, A, a("192.0.2.1"))])))
    s["mixed-families"] = ("both families in each answer, an address repeated", seed(FAM_BOTH, 0,
        msg(NAME1, A, an=[rr(PTR_Q, AAAA, aaaa("2001:db8::1")), rr(PTR_Q, A, a("192.0.2.1")),
                          rr(PTR_Q, A, a("192.0.2.1"))]),
        msg(NAME1, AAAA, an=[rr(PTR_Q, A, a("192.0.2.9")), rr(PTR_Q, AAAA, aaaa("2001:db8::1"))])))
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    all_seeds = seeds()
    if sys.argv[1] == "--list":
        for k, (d, _) in all_seeds.items():
            print(f"{k:24} {d}")
        return
    os.makedirs(sys.argv[1], exist_ok=True)
    for k, (_, data) in all_seeds.items():
        with open(os.path.join(sys.argv[1], k), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
