/* The TLS 1.3 ClientHello that caprobe writes itself (RFC 8446 4.1.2), for probes that only read
 * the server's first flight: every signature scheme there is (caprobe never verifies the server's
 * signature, so it can offer what it could not check), the five TLS 1.3 suites, and the groups
 * and key shares its caller can compute. Pure: the caller brings the random bytes and the keys. */
#ifndef TLS_HELLO13_H
#define TLS_HELLO13_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One KeyShareEntry (RFC 8446 4.2.8): the group and our public value in its wire form. */
struct tls_key_share {
    uint16_t group;
    const uint8_t *key;
    size_t len;
};

struct tls_hello13 {
    const uint8_t *random;     /* 32 bytes */
    const uint8_t *session_id; /* 32 bytes: RFC 8446 D.4, a non-empty legacy_session_id */
    const char *sni;           /* NULL: no server_name extension; else 1..255 bytes */
    const uint16_t *groups;    /* supported_groups, in order of preference */
    size_t group_count;
    const struct tls_key_share *shares; /* 1 or more; each group among groups */
    size_t share_count;
    const uint8_t *cookie; /* NULL, or the cookie of a HelloRetryRequest (RFC 8446 4.2.2) */
    size_t cookie_len;
};

/* Write the ClientHello handshake message (4-byte header included) into buf; *len is its size.
 * TLS_E_SPACE when cap is too small or a vector outgrows its length, TLS_E_INVALID for
 * parameters no ClientHello may carry. */
int tls_hello13_write(uint8_t *buf, size_t cap, size_t *len, const struct tls_hello13 *h);

/* True when the ClientHello offers cipher suite `suite`. */
bool tls_hello13_offers_suite(uint16_t suite);

/* The signature schemes offered, in order (RFC 8446 4.2.3): *count entries. */
const uint16_t *tls_hello13_sigalgs(size_t *count);

#endif
