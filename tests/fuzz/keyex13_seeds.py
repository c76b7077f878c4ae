#!/usr/bin/env python3
"""Seed inputs for the fuzz_keyex13 target (tests/fuzz/fuzz_keyex13.c): servers' answers to
caprobe's TLS 1.3 ClientHello.

  tests/fuzz/keyex13_seeds.py OUTDIR   write every seed into OUTDIR (fixtures/fuzz/keyex13), one
                                       file each, named for what it covers; existing files are
                                       replaced
  tests/fuzz/keyex13_seeds.py --list   print the names and what each covers

An input is up to two hello messages (ServerHello or HelloRetryRequest bodies, RFC 8446 4.1.3),
each preceded by its length in 2 octets. Covers the ServerHello and HelloRetryRequest of RFC 8448
sections 5 and 6 (read from fixtures/tls13/), and a retry to every other group keyex13 computes,
each followed by a ServerHello with a valid share of that group (the generator point of the curve;
2^x mod p for FFDHE), a cookie-only retry, a TLS 1.2 ServerHello and a retry for a suite not
offered. Standard library only.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "tls13")

# RFC 8446 4.1.3: SHA-256("HelloRetryRequest")
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# Generator points, uncompressed (SEC 1 2.3.3): SEC 2 2.5-2.9 and RFC 5639 3.4-3.7.
GENERATORS = {
    0x0018: ("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e38"
             "72760ab7", "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e8"
             "19d7a431d7c90ea0e5f"),
    0x0019: ("00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1d"
             "c127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66", "011839296a789a3bc0045c8a5fb42c7d1bd998f5444"
             "9579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"),
    0x001f: ("8bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262",
             "547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997"),
    0x0020: ("1d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e2"
             "47d4af1e", "8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811"
             "142820341263c5315"),
    0x0021: ("81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b"
             "93b97d5f7c6d5047406a5e688b352209bcb9f822", "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1"
             "aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892"),
}


def fixture(name):
    """The bytes of a fixtures/tls13 hex file ('#' comments skipped)."""
    with open(os.path.join(FIXTURES, name)) as f:
        text = "".join(line.split("#", 1)[0] for line in f)
    return bytes.fromhex("".join(text.split()))


def record_body(name):
    """The handshake message body inside a one-record fixture (record and message headers off)."""
    return fixture(name)[9:]


def ext(etype, data):
    return etype.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def hello(random, suite, exts):
    e = b"".join(exts)
    return (b"\x03\x03" + random + b"\x00" + suite.to_bytes(2, "big") + b"\x00" +
            len(e).to_bytes(2, "big") + e)


def versions(v=0x0304):
    return ext(43, v.to_bytes(2, "big"))


def retry(group=None, cookie=None, suite=0x1301):
    exts = [versions()]
    if group is not None:
        exts.append(ext(51, group.to_bytes(2, "big")))
    if cookie is not None:
        exts.append(ext(44, len(cookie).to_bytes(2, "big") + cookie))
    return hello(HRR_RANDOM, suite, exts)


def server_hello(group, key, suite=0x1301):
    share = group.to_bytes(2, "big") + len(key).to_bytes(2, "big") + key
    return hello(bytes(range(32)), suite, [versions(), ext(51, share)])


def framed(*msgs):
    return b"".join(len(m).to_bytes(2, "big") + m for m in msgs)


def ffdhe2048_public():
    """2^x mod p for x = 2^511 + 1 (the value of fixtures/tls13/ffdhe2048_public_2p511p1.hex)."""
    return fixture("ffdhe2048_public_2p511p1.hex")


def seeds():
    out = {
        "rfc8448-sh-x25519": ("RFC 8448 section 6 ServerHello, x25519",
                              framed(record_body("rfc8448_clientauth_server_hello_record.hex"))),
        "rfc8448-hrr-p256-cookie": ("RFC 8448 section 5: retry for P-256 with a cookie, ServerHello",
                                    framed(record_body("rfc8448_hrr_hello_retry_request.hex"),
                                           record_body("rfc8448_hrr_server_hello_record.hex"))),
        "hrr-x448": ("retry for x448, ServerHello with the x448 base point",
                     framed(retry(0x001e), server_hello(0x001e, b"\x05" + bytes(55)))),
        "hrr-ffdhe2048": ("retry for ffdhe2048, ServerHello with 2^x mod p",
                          framed(retry(0x0100), server_hello(0x0100, ffdhe2048_public()))),
        "hrr-cookie-only": ("retry with a cookie and no group, ServerHello x25519",
                            framed(retry(cookie=b"\x42" * 40),
                                   server_hello(0x001d, b"\x09" + bytes(31)))),
        "sh-tls12": ("a TLS 1.2 ServerHello", framed(hello(bytes(32), 0xc02f, []))),
        "hrr-bad-suite": ("a retry for a suite not offered", framed(retry(0x0017, suite=0x1306))),
    }
    for group, (x, y) in GENERATORS.items():
        point = b"\x04" + bytes.fromhex(x) + bytes.fromhex(y)
        out["hrr-%04x" % group] = ("retry for group 0x%04x, ServerHello with its generator" % group,
                                   framed(retry(group), server_hello(group, point, 0x1302)))
    return out


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        for name, (what, _) in sorted(seeds().items()):
            print("%-26s %s" % (name, what))
        return 0
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    os.makedirs(argv[1], exist_ok=True)
    for name, (_, data) in seeds().items():
        with open(os.path.join(argv[1], name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
