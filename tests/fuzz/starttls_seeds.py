#!/usr/bin/env python3
"""Seed inputs for the fuzz_starttls target (tests/fuzz/fuzz_starttls.c): a server's side of a
STARTTLS dialogue, as the servers of the integration tests send it.

  tests/fuzz/starttls_seeds.py OUTDIR   write every seed into OUTDIR (fixtures/fuzz/starttls), one
                                        file each, named for what it covers
  tests/fuzz/starttls_seeds.py --list   print the names

An input is fuzz_starttls.c's: one octet for the protocol (1 + octet % 11: 1 smtp, 2 lmtp, 3 imap,
4 pop3, 5 ftp, 6 ldap, 7 postgres, 8 mysql, 9 xmpp, 10 nntp, 11 sieve), one for the size of the
pieces the rest arrives in (1 + octet >> 3) and the plaintext bound (4096 << (octet & 5)), then
what the server sends. Covers each protocol's agreement, its refusals, TLS bytes where text was
expected, a greeting that never ends, and bytes after the final reply. Standard library only.
"""
import os
import struct
import sys

SMTP, LMTP, IMAP, POP3, FTP, LDAP, PG, MYSQL, XMPP, NNTP, SIEVE = range(11)

LDAP_OID = b"1.3.6.1.4.1.1466.20037"


def ldap_response(code, diag=b"", msgid=1, name=False):
    op = b"\x0a\x01" + bytes([code]) + b"\x04\x00" + b"\x04" + bytes([len(diag)]) + diag
    if name:
        op += b"\x8a" + bytes([len(LDAP_OID)]) + LDAP_OID
    body = b"\x02\x01" + bytes([msgid]) + b"\x78" + bytes([len(op)]) + op
    return b"\x30" + bytes([len(body)]) + body


def mysql_greeting(ssl=True, seq=0):
    payload = (b"\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\x00" + struct.pack("<I", 7) + b"abcdefgh\x00"
               + struct.pack("<H", 0xfffe if ssl else 0xf7fe) + b"\x2d\x02\x00\xff\x81\x15"
               + b"\x00" * 10 + b"ijklmnopqrst\x00mysql_native_password\x00")
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def seeds():
    tls = b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d\x03\x03"
    yield "smtp-postfix", SMTP, 0, (b"220 mx ESMTP Postfix (Debian/GNU)\r\n250-mx\r\n"
                                    b"250-PIPELINING\r\n250-STARTTLS\r\n250 CHUNKING\r\n"
                                    b"220 2.0.0 Ready to start TLS\r\n")
    yield "smtp-one-byte", SMTP, 0, b"220-a\r\n220 b\r\n250 STARTTLS\r\n220 go\r\n"
    yield "smtp-454", SMTP, 8, b"220 mx\r\n250 mx\r\n454 4.7.0 TLS not available\r\n"
    yield "smtp-554", SMTP, 8, b"554 no service\r\n"
    yield "smtp-endless", SMTP, 0xf8, b"220-" + b"x" * 60 + b"\r\n" * 2 + b"220-more\r\n" * 50
    yield "smtp-tls", SMTP, 8, tls
    yield "smtp-extra", SMTP, 8, b"220 a\r\n250 b\r\n220 c\r\n\x16\x03\x03\x00"
    yield "smtp-codes", SMTP, 8, b"220-a\r\n221 b\r\n"
    yield "lmtp", LMTP, 8, b"220 lmtp\n250-x\n250 STARTTLS\n220 ok\n"
    yield "imap-dovecot", IMAP, 16, (b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot "
                                     b"ready.\r\n* CAPABILITY IMAP4rev1\r\na001 OK Begin TLS "
                                     b"negotiation now.\r\n")
    yield "imap-no", IMAP, 16, b"* OK x\r\na001 NO [UNAVAILABLE] no\r\n"
    yield "imap-preauth", IMAP, 16, b"* PREAUTH x\r\n"
    yield "pop3", POP3, 8, b"+OK Dovecot ready.\r\n+OK Begin TLS negotiation now.\r\n"
    yield "pop3-err", POP3, 8, b"+OK x\r\n-ERR no TLS\r\n"
    yield "ftp", FTP, 8, b"120 soon\r\n220-Welcome\r\n free text\r\n220 ready\r\n234 AUTH TLS ok\r\n"
    yield "ftp-530", FTP, 8, b"220 x\r\n530 login first\r\n"
    yield "ldap-slapd", LDAP, 8, ldap_response(0, name=True)
    yield "ldap-protocol-error", LDAP, 0, ldap_response(2, b"unsupported extended operation")
    yield "ldap-notice", LDAP, 8, ldap_response(52, b"shutting down", msgid=0, name=True)
    yield "ldap-long-form", LDAP, 8, (b"\x30\x84\x00\x00\x00\x11\x02\x01\x01\x78\x81\x07"
                                      b"\x0a\x01\x00\x04\x00\x04\x00\xa0\x02\x30\x00")
    yield "postgres-s", PG, 8, b"S"
    yield "postgres-n", PG, 8, b"N"
    yield "postgres-e", PG, 0, (b"E\x00\x00\x00\x2eSFATAL\x00C08P01\x00Mno pg_hba.conf entry\x00"
                                b"Fx.c\x00\x00")
    yield "postgres-s-extra", PG, 8, b"S\x16\x03\x03"
    yield "mysql-ssl", MYSQL, 8, mysql_greeting()
    yield "mysql-no-ssl", MYSQL, 0, mysql_greeting(ssl=False)
    yield "mysql-error", MYSQL, 8, b"\x11\x00\x00\x00\xff\x10\x04#08004Too many"
    yield "xmpp", XMPP, 16, (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                             b"xmlns:stream='http://etherx.jabber.org/streams' id='x' "
                             b"version='1.0'><stream:features><starttls "
                             b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                             b"</stream:features><proceed "
                             b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    yield "xmpp-failure", XMPP, 8, (b"<stream:stream><stream:features><starttls/>"
                                    b"</stream:features><failure/></stream:stream>")
    yield "xmpp-error", XMPP, 8, b"<stream:stream><stream:error><host-unknown/></stream:error>"
    yield "nntp", NNTP, 8, b"200 news ready\r\n382 Continue\r\n"
    yield "sieve", SIEVE, 8, (b"\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"STARTTLS\"\r\n"
                              b"OK \"ready\"\r\nOK \"Begin TLS negotiation now.\"\r\n")


def main():
    if sys.argv[1:] == ["--list"]:
        for name, _, _, _ in seeds():
            print(name)
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, proto, chunk, data in seeds():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(bytes([proto, chunk]) + data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
