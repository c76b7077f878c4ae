#!/usr/bin/env python3
"""Fuzz inputs between real record protection and the null protection of tls/fuzzing.h.

The libFuzzer programs of the capture, renego, crypt12 and crypt13 targets open protected records
without a key (plaintext where the ciphertext was, tag and MAC zero-filled and not checked), so
that mutated encrypted flights reach the parsers behind the decryption; their replay programs
(`meson test --suite fuzz-replay`) decrypt for real. This tool converts inputs of those targets,
with the keys each input layout implies (tests/fuzz/fuzz_<target>.c):

  open TARGET OUTDIR FILE...   real -> null: seeds for the libFuzzer programs, from real flights
  seal TARGET OUTDIR FILE...   null -> real: a crash found by a libFuzzer program, as an input the
                               replay program reaches the same code with (save that one in
                               fixtures/fuzz/TARGET/crashes/)

Each output is named by the SHA-1 of its bytes, as libFuzzer names corpus files; inputs with no
record to convert are skipped. open also seals every result again and requires the original
bytes back, so a seed is only written when the conversion is exact. Records are converted up to
the first that does not open (a mutated one, or one under later keys); the rest stay as they are.
Needs python3-cryptography.

  capture  the server's byte stream; records of type 23 after a TLS 1.3 ServerHello are protected
           under the harness's fixed handshake secret (01 02 .. 08, then zeros; 48 octets for
           TLS_AES_256_GCM_SHA384, else 32)
  crypt13  suite (1 octet, index into 1301..1305), traffic secret (32 or 48), one record
  crypt12  suite (2), flags (1: bit 0 encrypt_then_mac), master secret (48), client random (32),
           server random (32), one record
  renego   as crypt12, then a split octet, then the server's records: protected from the first
           ChangeCipherSpec on
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

# ---------------------------------------------------------------- TLS 1.3 (RFC 8446 5.2, 7.3)

SUITES13 = {  # id: (hash, key length, tag length, AEAD)
    0x1301: (hashes.SHA256, 16, 16, AESGCM),
    0x1302: (hashes.SHA384, 32, 16, AESGCM),
    0x1303: (hashes.SHA256, 32, 16, ChaCha20Poly1305),
    0x1304: (hashes.SHA256, 16, 16, AESCCM),
    0x1305: (hashes.SHA256, 16, 8, AESCCM),
}
CAPTURE_SECRET = bytes(range(1, 9)) + bytes(40)
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


def expand_label(hash_cls, secret, label, length):
    info = struct.pack(">HB", length, 6 + len(label)) + b"tls13 " + label + b"\x00"
    return HKDFExpand(hash_cls(), length, info).derive(secret)


class Crypt13:
    def __init__(self, suite, secret):
        hash_cls, key_len, self.tag_len, aead = SUITES13[suite]
        key = expand_label(hash_cls, secret, b"key", key_len)
        self.iv = expand_label(hash_cls, secret, b"iv", 12)
        self.aead = aead(key, tag_length=self.tag_len) if aead is AESCCM else aead(key)
        self.seq = 0

    def _nonce(self):
        return bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))

    def open(self, hdr, body):
        """The null form of a real record's body, or None when it does not open."""
        try:
            inner = self.aead.decrypt(self._nonce(), body, hdr)
        except Exception:
            return None
        self.seq += 1
        return inner + bytes(self.tag_len)

    def seal(self, hdr, body):
        if len(body) < self.tag_len:
            return None
        ct = self.aead.encrypt(self._nonce(), body[:len(body) - self.tag_len], hdr)
        self.seq += 1
        return ct


# ---------------------------------------------------------------- TLS 1.2 (RFC 5246 6.2.3, 6.3)

# family: (kind, key length, fixed iv length, MAC hash or None, PRF hash); as tls/crypt12.c
FAMILIES = {
    "aes128gcm": ("gcm", 16, 4, None, hashlib.sha256),
    "aes256gcm": ("gcm", 32, 4, None, hashlib.sha384),
    "chacha": ("chacha", 32, 12, None, hashlib.sha256),
    "aes128sha": ("cbc", 16, 0, hashlib.sha1, hashlib.sha256),
    "aes256sha": ("cbc", 32, 0, hashlib.sha1, hashlib.sha256),
    "aes128sha256": ("cbc", 16, 0, hashlib.sha256, hashlib.sha256),
    "aes256sha256": ("cbc", 32, 0, hashlib.sha256, hashlib.sha256),
    "aes256sha384": ("cbc", 32, 0, hashlib.sha384, hashlib.sha384),
}
SUITES12 = {}
for ids, fam in (((0xC02B, 0xC02F, 0x009E, 0x009C), "aes128gcm"),
                 ((0xC02C, 0xC030, 0x009F, 0x009D), "aes256gcm"),
                 ((0xCCA9, 0xCCA8, 0xCCAA), "chacha"),
                 ((0xC009, 0xC013, 0x002F, 0x0033), "aes128sha"),
                 ((0xC00A, 0xC014, 0x0035, 0x0039), "aes256sha"),
                 ((0xC023, 0xC027, 0x003C, 0x0067), "aes128sha256"),
                 ((0x003D, 0x006B), "aes256sha256"),
                 ((0xC024, 0xC028), "aes256sha384")):
    for i in ids:
        SUITES12[i] = FAMILIES[fam]


def prf(hash_fn, secret, label, seed, n):
    out, a = b"", label + seed
    while len(out) < n:
        a = hmac.new(secret, a, hash_fn).digest()
        out += hmac.new(secret, a + label + seed, hash_fn).digest()
    return out[:n]


class Crypt12:
    def __init__(self, suite, etm, master, client_random, server_random):
        self.kind, key_len, iv_len, self.mac_hash, prf_hash = SUITES12[suite]
        self.mac_len = self.mac_hash().digest_size if self.mac_hash else 0
        kb = prf(prf_hash, master, b"key expansion", server_random + client_random,
                 2 * (self.mac_len + key_len + iv_len))
        self.mac_key = kb[self.mac_len:2 * self.mac_len]
        off = 2 * self.mac_len
        self.key = kb[off + key_len:off + 2 * key_len]
        off += 2 * key_len
        self.iv = kb[off + iv_len:off + 2 * iv_len]
        self.etm = etm and self.kind == "cbc"
        self.seq = 0

    def _aad(self, hdr, n):
        return self.seq.to_bytes(8, "big") + hdr[:3] + n.to_bytes(2, "big")

    def _mac(self, hdr, data):
        return hmac.new(self.mac_key, self._aad(hdr, len(data)) + data, self.mac_hash).digest()

    def _aead(self, body):
        if self.kind == "gcm":
            return AESGCM(self.key), self.iv + body[:8], 8
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        return ChaCha20Poly1305(self.key), nonce, 0

    def _cbc(self, iv, data, decrypt):
        c = Cipher(algorithms.AES(self.key), modes.CBC(iv))
        op = c.decryptor() if decrypt else c.encryptor()
        return op.update(data) + op.finalize()

    def open(self, hdr, body):
        """The null form of a real record's fragment, or None when it does not open."""
        try:
            if self.kind != "cbc":
                aead, nonce, x = self._aead(body)
                n = len(body) - x - 16
                if n < 0:
                    return None
                plain = aead.decrypt(nonce, body[x:], self._aad(hdr, n))
                out = body[:x] + plain + bytes(16)
            elif self.etm:
                enc, mac = body[:len(body) - self.mac_len], body[len(body) - self.mac_len:]
                if len(enc) < 32 or len(enc) % 16 or not hmac.compare_digest(
                        mac, self._mac(hdr, enc)):
                    return None
                out = enc[:16] + self._cbc(enc[:16], enc[16:], True) + bytes(self.mac_len)
            else:
                if len(body) < 32 or len(body) % 16:
                    return None
                plain = self._cbc(body[:16], body[16:], True)
                pad = plain[-1]
                n = len(plain) - 1 - pad - self.mac_len
                if n < 0 or plain[n + self.mac_len:-1] != bytes([pad]) * pad or \
                        not hmac.compare_digest(plain[n:n + self.mac_len],
                                                self._mac(hdr, plain[:n])):
                    return None
                out = body[:16] + plain[:n] + bytes(self.mac_len) + plain[n + self.mac_len:]
        except Exception:
            return None
        self.seq += 1
        return out

    def seal(self, hdr, body):
        if self.kind != "cbc":
            aead, nonce, x = self._aead(body)
            n = len(body) - x - 16
            if n < 0:
                return None
            out = body[:x] + aead.encrypt(nonce, body[x:x + n], self._aad(hdr, n))
        elif self.etm:
            if len(body) < 32 + self.mac_len or (len(body) - self.mac_len) % 16:
                return None
            enc = body[:16] + self._cbc(body[:16], body[16:len(body) - self.mac_len], False)
            out = enc + self._mac(hdr, enc)
        else:
            if len(body) < 32 or len(body) % 16:
                return None
            plain = bytearray(body[16:])
            pad = plain[-1]
            n = len(plain) - 1 - pad - self.mac_len
            if n >= 0:  # as the null opener reads it; a bad padding fails either way
                plain[n:n + self.mac_len] = self._mac(hdr, bytes(plain[:n]))
            out = body[:16] + self._cbc(body[:16], bytes(plain), False)
        self.seq += 1
        return out


# ---------------------------------------------------------------- the input layouts

def records(buf, off):
    """(offset, header, body) of each whole record from off on."""
    while off + 5 <= len(buf):
        n = int.from_bytes(buf[off + 3:off + 5], "big")
        if off + 5 + n > len(buf):
            return
        yield off, buf[off:off + 5], buf[off + 5:off + 5 + n]
        off += 5 + n


def server_hello_13(msg):
    """The suite of a TLS 1.3 ServerHello body (not a HelloRetryRequest), else None."""
    try:
        if msg[2:34] == HRR_RANDOM:
            return None
        p = 34 + 1 + msg[34]
        suite = int.from_bytes(msg[p:p + 2], "big")
        p += 3
        end = p + 2 + int.from_bytes(msg[p:p + 2], "big")
        p += 2
        while p + 4 <= end:
            t, n = int.from_bytes(msg[p:p + 2], "big"), int.from_bytes(msg[p + 2:p + 4], "big")
            if t == 43 and msg[p + 4:p + 6] == b"\x03\x04":
                return suite
            p += 4 + n
    except IndexError:
        pass
    return None


def convert_stream(buf, off, crypt_for, protected, how, limit):
    """Records from off on: protected(type, state) says whether one is under crypt (made by
    crypt_for from what the plaintext so far said); at most limit records are converted. Returns
    (bytes, records converted)."""
    out = bytearray(buf)
    state = {"hs": b"", "crypt": None, "ccs": False}
    count = 0
    for at, hdr, body in records(buf, off):
        if state["crypt"] is None:
            if hdr[0] == 22:
                state["hs"] += body
            crypt_for(state, hdr)
            continue
        if not protected(hdr[0], state):
            continue
        if count == limit:
            break
        new = getattr(state["crypt"], how)(hdr, body)
        if new is None or len(new) != len(body):
            break
        out[at + 5:at + 5 + len(body)] = new
        count += 1
    return bytes(out), count


def capture(data, how, limit=None):
    def crypt_for(state, hdr):
        hs = state["hs"]
        while len(hs) >= 4:  # the handshake messages so far
            n = int.from_bytes(hs[1:4], "big")
            if len(hs) < 4 + n:
                break
            if hs[0] == 2:
                suite = server_hello_13(hs[4:4 + n])
                if suite in SUITES13:
                    secret = CAPTURE_SECRET[:48 if suite == 0x1302 else 32]
                    state["crypt"] = Crypt13(suite, secret)
                    return
            hs = hs[4 + n:]
    return convert_stream(data, 0, crypt_for, lambda t, s: t == 23, how, limit)


def crypt13(data, how, limit=None):
    suite = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305][data[0] % 5] if data else 0
    slen = 48 if suite == 0x1302 else 32
    if len(data) < 1 + slen + 5:
        return data, 0
    c = Crypt13(suite, data[1:1 + slen])
    return one_record(data, 1 + slen, c, how)


def crypt12_keys(data):
    suite = int.from_bytes(data[0:2], "big")
    if len(data) < 115 or suite not in SUITES12:
        return None
    return Crypt12(suite, data[2] & 1, data[3:51], data[51:83], data[83:115])


def one_record(data, at, c, how):
    hdr, body = data[at:at + 5], data[at + 5:]
    new = getattr(c, how)(hdr, body)
    if new is None or len(new) != len(body):
        return data, 0
    return data[:at + 5] + new, 1


def crypt12(data, how, limit=None):
    c = crypt12_keys(data)
    return (data, 0) if c is None or len(data) < 120 else one_record(data, 115, c, how)


def renego(data, how, limit=None):
    c = crypt12_keys(data)
    if c is None or len(data) < 116:
        return data, 0

    def crypt_for(state, hdr):
        if hdr[0] == 20:  # the ChangeCipherSpec: what follows is protected
            state["crypt"] = c
    return convert_stream(data, 116, crypt_for, lambda t, s: True, how, limit)


TARGETS = {"capture": capture, "crypt13": crypt13, "crypt12": crypt12, "renego": renego}


def main(argv):
    if len(argv) < 4 or argv[0] not in ("open", "seal") or argv[1] not in TARGETS:
        sys.stderr.write(__doc__)
        return 2
    how, convert, outdir = argv[0], TARGETS[argv[1]], argv[2]
    os.makedirs(outdir, exist_ok=True)
    written = skipped = records_done = 0
    for path in argv[3:]:
        with open(path, "rb") as f:
            data = f.read()
        out, n = convert(data, how)
        if n and how == "open" and convert(out, "seal", n)[0] != data:
            sys.stderr.write("%s: sealing the null form again does not give it back\n" % path)
            return 1
        if not n:
            skipped += 1
            continue
        records_done += n
        name = os.path.join(outdir, hashlib.sha1(out).hexdigest())
        if not os.path.exists(name):
            with open(name, "wb") as f:
                f.write(out)
            written += 1
    print("%s %s: %d inputs with %d records converted, %d new files in %s; %d without a record "
          "to convert" % (how, argv[1], len(argv) - 3 - skipped, records_done, written, outdir,
                          skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
