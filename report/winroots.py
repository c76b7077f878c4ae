#!/usr/bin/env python3
"""The Windows built-in roots (report/winroots.txt) as a C table, or checked against their
certificates.

  winroots.py OUT.h DATA          the table report/winroots.c includes (run by report/meson.build):
                                  each entry's name, subject DER and the SHA-256 of that DER,
                                  in the file's order; refuses a malformed entry
  winroots.py --check DATA CERT...  for refreshing the data: each entry against its certificate
                                  among CERT... (PEM or DER files, found by the entry's sha256):
                                  serial, subject text and SHA-1 as openssl reads them, the
                                  subject's DER as openssl's asn1parse delimits it; exit 1 when
                                  an entry disagrees or has no certificate among them

Only the DER is matched; the other fields are there for people and for --check."""

import base64
import hashlib
import re
import subprocess
import sys

KEYS = ("name", "subject", "serial", "sha1", "sha256", "uses", "der", "source")
REPEATED = ("der", "source")  # may span several lines; the others exactly once


def fail(where, msg):
    sys.exit("winroots.py: %s: %s" % (where, msg))


def parse(path):
    """The entries of the data file: dicts of KEYS, der as bytes, source as a list."""
    entries, cur = [], None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines + [""], 1):
        where = "%s:%d" % (path, no)
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur is not None:
                entries.append(finish(cur, where))
                cur = None
            continue
        key, sep, value = line.partition(": ")
        if not sep or key not in KEYS or not value.strip():
            fail(where, "expected 'KEY: VALUE' with KEY one of %s" % ", ".join(KEYS))
        if cur is None:
            cur = {"line": no}
        if key in REPEATED:
            cur.setdefault(key, []).append(value.strip())
        elif key in cur:
            fail(where, "%s given twice in one entry" % key)
        else:
            cur[key] = value.strip()
    names, ders = set(), set()
    for e in entries:
        if e["name"] in names or e["der"] in ders:
            fail("%s:%d" % (path, e["line"]), "%s: a second entry of that name or DER" % e["name"])
        names.add(e["name"])
        ders.add(e["der"])
    if not entries:
        fail(path, "no entries")
    return entries


def finish(e, where):
    missing = [k for k in KEYS if k not in e]
    if missing:
        fail(where, "entry of line %d lacks %s" % (e["line"], ", ".join(missing)))
    for key, n in (("sha1", 40), ("sha256", 64)):
        if not re.fullmatch("[0-9a-f]{%d}" % n, e[key]):
            fail(where, "%s: %d lowercase hex digits" % (key, n))
    if not re.fullmatch("[0-9a-f]+", e["serial"]):
        fail(where, "serial: lowercase hex digits")
    if not re.fullmatch("[ -~]+", e["name"]) or '"' in e["name"] or "\\" in e["name"]:
        fail(where, "name: printable ASCII without quotes or backslashes")
    hexed = "".join(e["der"])
    if not re.fullmatch("([0-9a-f]{2})+", hexed):
        fail(where, "der: lowercase hex, whole bytes")
    e["der"] = bytes.fromhex(hexed)
    check_name(e["der"], where)
    return e


def tlv(b, i):
    """(tag, start of the value, end of the value) of the DER element at b[i]; ValueError when
    it does not fit."""
    if i + 2 > len(b):
        raise ValueError("truncated")
    tag, n, j = b[i], b[i + 1], i + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 2 or j + k > len(b):
            raise ValueError("bad length")
        n, j = int.from_bytes(b[j:j + k], "big"), j + k
    if j + n > len(b):
        raise ValueError("length overrun")
    return tag, j, j + n


def check_name(der, where):
    """A DER Name (RFC 5280 4.1.2.4): SEQUENCE OF SET OF SEQUENCE {OID, string}, nothing after."""
    try:
        tag, s, e = tlv(der, 0)
        if tag != 0x30 or e != len(der):
            raise ValueError("not one SEQUENCE")
        while s < e:
            tag, rs, re_ = tlv(der, s)
            if tag != 0x31 or rs == re_:
                raise ValueError("an RDN is not a non-empty SET")
            while rs < re_:
                tag, a, b = tlv(der, rs)
                if tag != 0x30:
                    raise ValueError("an attribute is not a SEQUENCE")
                t1, _, v = tlv(der, a)
                t2, _, end = tlv(der, v)
                if t1 != 0x06 or t2 not in (0x0C, 0x13, 0x14, 0x16, 0x1E) or end != b:
                    raise ValueError("an attribute is not an OID and a string")
                rs = b
            s = re_
    except ValueError as x:
        fail(where, "der: not a DER Name (%s)" % x)


def c_bytes(b):
    rows = []
    for i in range(0, len(b), 12):
        rows.append("    " + " ".join("0x%02x," % x for x in b[i:i + 12]))
    return "\n".join(rows)


def generate(out, data):
    entries = parse(data)
    text = ["/* Generated by report/winroots.py from winroots.txt: do not edit. */"]
    for i, e in enumerate(entries):
        text.append("static const uint8_t winroot_der_%d[] = {\n%s\n};" % (i, c_bytes(e["der"])))
    text.append("static const struct report_winroot winroots[] = {")
    for i, e in enumerate(entries):
        digest = hashlib.sha256(e["der"]).digest()
        text.append('    {"%s", winroot_der_%d, %d,\n     {%s}},'
                    % (e["name"], i, len(e["der"]), ", ".join("0x%02x" % x for x in digest)))
    text.append("};")
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(text) + "\n")


# ---- --check ---------------------------------------------------------------------------------

def read_certs(paths):
    certs = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        blocks = re.findall(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", data,
                            re.S)
        certs += [base64.b64decode(b"".join(b.split())) for b in blocks] if blocks else [data]
    return {hashlib.sha256(c).hexdigest(): c for c in certs}


def openssl(args, der):
    return subprocess.run(["openssl"] + args, input=der, capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")


def subject_der(cert):
    """The subject of a DER certificate, delimited by openssl asn1parse: the fifth element of
    the TBSCertificate after its optional [0] version."""
    out = openssl(["asn1parse", "-inform", "DER"], cert)
    kids = []
    for line in out.splitlines():
        m = re.match(r"\s*(\d+):d=(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+)\s+\w+:\s*(.*)", line)
        if m and m.group(2) == "2":
            off, hl, ln = int(m.group(1)), int(m.group(3)), int(m.group(4))
            kids.append((off, off + hl + ln, m.group(5).strip()))
    if kids and kids[0][2].startswith("cont [ 0 ]"):
        kids = kids[1:]
    off, end, _ = kids[4]
    return cert[off:end]


def check(data, paths):
    certs, bad = read_certs(paths), 0
    for e in parse(data):
        cert = certs.get(e["sha256"])
        if cert is None:
            print("%s: no certificate of SHA-256 %s given" % (e["name"], e["sha256"]))
            bad += 1
            continue
        got = {
            "sha1": hashlib.sha1(cert).hexdigest(),
            "serial": openssl(["x509", "-inform", "DER", "-noout", "-serial"], cert)
            .strip().split("=", 1)[1].lower(),
            "subject": openssl(["x509", "-inform", "DER", "-noout", "-subject", "-nameopt",
                                "RFC2253"], cert).strip().split("=", 1)[1],
            "der": subject_der(cert),
        }
        wrong = [k for k, v in got.items() if e[k] != v]
        print("%s: %s" % (e["name"], "differs in " + ", ".join(wrong) if wrong else "agrees"))
        bad += bool(wrong)
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    generate(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
