/* A bounded byte writer for TLS structures: into a caller's fixed buffer, or a heap buffer that
 * grows up to a maximum. Every write checks the room first; the first failure sticks and later
 * writes do nothing, so a builder checks once at the end. Vectors are opened before their body
 * and their length is filled in when they are closed. The one copy for every module. */
#ifndef TLS_WIRE_WBUF_H
#define TLS_WIRE_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_wbuf {
    uint8_t *p;
    size_t len, cap;
    size_t max; /* a growing buffer: its size at most; 0 for a fixed one */
    int err;    /* 0, or the first failure: TLS_E_SPACE, TLS_E_NOMEM, TLS_E_RANGE */
};

/* Write into p[0 .. cap): TLS_E_SPACE past it. */
void tls_wbuf_fixed(struct tls_wbuf *w, uint8_t *p, size_t cap);
/* Write into a heap buffer that grows up to max bytes (TLS_E_SPACE past it); free with
 * tls_wbuf_free, or take p and NULL it. */
void tls_wbuf_init(struct tls_wbuf *w, size_t max);
void tls_wbuf_free(struct tls_wbuf *w);

void tls_wbuf_put(struct tls_wbuf *w, const void *src, size_t n);
void tls_wbuf_zero(struct tls_wbuf *w, size_t n);
void tls_wbuf_u8(struct tls_wbuf *w, unsigned v);
void tls_wbuf_u16(struct tls_wbuf *w, size_t v); /* the low 16 bits, big-endian */
void tls_wbuf_u24(struct tls_wbuf *w, size_t v); /* the low 24 bits, big-endian */
/* A vector of n 16-bit values with a 2-byte length: uint16 list<0..2^16-1> */
void tls_wbuf_u16_vec(struct tls_wbuf *w, const uint16_t *v, size_t n);

/* Open a vector with a lenbytes-byte length (1, 2 or 3): returns where the length goes, to be
 * given to tls_wbuf_close once the body is written. A body too long for its length is
 * TLS_E_RANGE. */
size_t tls_wbuf_open(struct tls_wbuf *w, int lenbytes);
void tls_wbuf_close(struct tls_wbuf *w, size_t at, int lenbytes);

#endif
