#!/usr/bin/env python3
"""The Windows built-in roots' data (report/winroots.txt) against openssl.

Each entry's `der` is a DER Name that openssl's asn1parse reads whole; a certificate of the lab's
Windows store (fixtures/lab/pki/windows-store.pem, made by make-windows-store.py) carries exactly
that subject, and `openssl x509 -subject -nameopt RFC2253` prints for it the entry's `subject`,
which was openssl's reading of the real certificate: so the DER is that name, byte for byte. The
entry's `name` is one of the subject's values. And report/winroots.py, which turns the data into
the C table at build time, refuses entries that are not well-formed.
Usage: check-winroots.py SOURCE_ROOT. Emits TAP."""

import os
import re
import subprocess
import sys
import tempfile

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
DATA = os.path.join(ROOT, "report", "winroots.txt")
STORE = os.path.join(ROOT, "fixtures", "lab", "pki", "windows-store.pem")
GENERATOR = os.path.join(ROOT, "report", "winroots.py")
sys.path.insert(0, os.path.join(ROOT, "report"))
import winroots  # noqa: E402

results = []


def ok(cond, what, detail=None):
    results.append((bool(cond), what, detail))


def openssl(args, data):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True, timeout=60)


def check_entries():
    entries = winroots.parse(DATA)
    ok(len(entries) >= 13, "%s: %d entries" % (DATA, len(entries)))
    store = {winroots.subject_der(c): c for c in winroots.read_certs([STORE]).values()}
    for e in entries:
        name, der = e["name"], e["der"]
        r = openssl(["asn1parse", "-inform", "DER"], der)
        first = re.match(r"\s*0:d=0\s+hl=\s*(\d+)\s+l=\s*(\d+)\s+cons: SEQUENCE",
                         r.stdout.decode("utf-8", "replace"))
        ok(r.returncode == 0 and first and int(first.group(1)) + int(first.group(2)) == len(der),
           "%s: openssl asn1parse reads its DER, one SEQUENCE of %d bytes" % (name, len(der)),
           r.stdout.decode("utf-8", "replace")[:300] + r.stderr.decode("utf-8", "replace"))
        cert = store.get(der)
        ok(cert is not None, "%s: the lab's Windows store has a certificate of this subject" % name)
        if cert is None:
            continue
        r = openssl(["x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253"], cert)
        got = r.stdout.decode("utf-8").strip()
        ok(got == "subject=" + e["subject"],
           "%s: openssl x509 -subject -nameopt RFC2253 prints the entry's subject" % name,
           "%s\nwant subject=%s" % (got, e["subject"]))
        values = re.split(r"(?<!\\),", e["subject"])
        ok(any(v.split("=", 1)[1].replace("\\,", ",") == name for v in values),
           "%s: the name is one of the subject's values" % name, e["subject"])


def generate(text):
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "w.txt"), os.path.join(tmp, "w.h")
        with open(data, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([sys.executable, GENERATOR, out, data], capture_output=True,
                           timeout=60)
        return r.returncode, r.stderr.decode("utf-8", "replace")


def check_refusals():
    with open(DATA, encoding="utf-8") as f:
        text = f.read()
    rc, err = generate(text)
    ok(rc == 0, "winroots.py takes the data as it is", err)
    first = text.index("\nname: ") + 1
    entry = text[first:text.index("\n\n", first)] + "\n"
    der_line = re.search(r"^der: ([0-9a-f]+)$", entry, re.M)
    cases = [
        ("an entry without its der", re.sub(r"^der: .*\n", "", entry, flags=re.M), "lacks der"),
        ("a DER one byte short", entry.replace(der_line.group(0), der_line.group(0)[:-2], 1),
         "not a DER Name"),
        ("a DER with a byte after the Name", entry.replace(der_line.group(0),
                                                            der_line.group(0) + "00", 1),
         "not a DER Name"),
        ("an odd number of hex digits", entry.replace(der_line.group(0),
                                                        der_line.group(0) + "0", 1),
         "whole bytes"),
        ("a sha256 of 63 digits", re.sub(r"^(sha256: [0-9a-f]{63})[0-9a-f]", r"\1", entry,
                                         flags=re.M), "sha256"),
        ("an unknown key", entry + "subjekt: x\n", "expected 'KEY: VALUE'"),
        ("the same entry twice", entry + "\n" + entry, "a second entry"),
        ("a name given twice", entry + "name: other\n", "given twice"),
    ]
    for what, bad, want in cases:
        rc, err = generate(bad)
        ok(rc != 0 and want in err, "winroots.py refuses %s" % what, (rc, err))


def main():
    check_entries()
    check_refusals()
    print("1..%d" % len(results))
    for i, (good, what, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if good else "not ok", i, what))
        if not good and detail is not None:
            for line in str(detail).splitlines():
                print("  # " + line)
    sys.exit(0 if all(r[0] for r in results) else 1)


if __name__ == "__main__":
    main()
