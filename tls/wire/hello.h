/* caprobe's own ClientHello for TLS 1.0, 1.1 and 1.2 (RFC 2246, 4346, 5246), written for a probe
 * that only reads the server's first flight: nothing after ServerHelloDone is ever needed, so it
 * can offer what no library that must finish the handshake would: every cipher suite a server
 * may insist on (ECDHE, DHE, static ECDH/DH and RSA key exchange with AES-GCM, AES-CBC,
 * ChaCha20, CCM, CAMELLIA, ARIA, SEED, 3DES, RC4), every signature algorithm (Ed25519, Ed448,
 * RSA-PSS, SHA-1, SHA-224, DSA) and every group. Pure: no randomness of its own, no I/O. */
#ifndef TLS_WIRE_HELLO_H
#define TLS_WIRE_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* The longest ClientHello record written: the one with a 255-byte server name. */
#define TLS_HELLO_MAX 1024
/* The longest server name written (RFC 6066 3: a DNS host name). */
#define TLS_HELLO_SNI_MAX 255

struct tls_hello_opts {
    uint16_t version;      /* the highest version offered (0x0301, 0x0302 or 0x0303); every
                            * version from TLS 1.0 up to it is offered, as by real clients */
    const char *sni;       /* NULL: no server_name extension */
    const uint8_t *random; /* 32 bytes: the client random */
};

/* One ClientHello as a whole TLS record into out/cap; *len its size. TLS_E_INVALID for a version
 * or server name outside the ranges above, TLS_E_SPACE when cap is too small (TLS_HELLO_MAX is
 * always enough). */
int tls_hello_write(const struct tls_hello_opts *o, uint8_t *out, size_t cap, size_t *len);

struct tls_wbuf;
/* The server_name extension (RFC 6066 3) naming host sni of sni_len bytes, for both ClientHello
 * writers (this one and hello13.h's); the caller checks the length. */
void tls_hello_put_server_name(struct tls_wbuf *w, const char *sni, size_t sni_len);

#endif
