/* Byte cursor for length-checked decoding of untrusted input. Every read checks the remaining
 * length first and never moves the cursor on failure. Views point into the input; nothing here
 * allocates. */
#ifndef TLS_CURSOR_H
#define TLS_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct tls_cursor {
    const uint8_t *p;
    size_t len; /* bytes remaining */
};

static inline struct tls_cursor tls_cursor_make(const uint8_t *p, size_t len)
{
    struct tls_cursor c = {.p = p, .len = len};
    return c;
}

static inline int tls_cursor_bytes(struct tls_cursor *c, size_t n, const uint8_t **out)
{
    if (c->len < n)
        return TLS_E_TRUNCATED;
    if (out)
        *out = c->p;
    c->p += n;
    c->len -= n;
    return 0;
}

static inline int tls_cursor_u8(struct tls_cursor *c, uint8_t *v)
{
    if (c->len < 1)
        return TLS_E_TRUNCATED;
    *v = c->p[0];
    c->p += 1;
    c->len -= 1;
    return 0;
}

static inline int tls_cursor_u16(struct tls_cursor *c, uint16_t *v)
{
    if (c->len < 2)
        return TLS_E_TRUNCATED;
    *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    c->len -= 2;
    return 0;
}

static inline int tls_cursor_u24(struct tls_cursor *c, uint32_t *v)
{
    if (c->len < 3)
        return TLS_E_TRUNCATED;
    *v = ((uint32_t)c->p[0] << 16) | ((uint32_t)c->p[1] << 8) | c->p[2];
    c->p += 3;
    c->len -= 3;
    return 0;
}

/* A vector with a length prefix of lenbytes (1, 2 or 3) bytes; sub views its body. Fails with
 * TLS_E_LENGTH when the length overruns the cursor, leaving the cursor unmoved. */
static inline int tls_cursor_vec(struct tls_cursor *c, int lenbytes, struct tls_cursor *sub)
{
    if (c->len < (size_t)lenbytes)
        return TLS_E_TRUNCATED;
    size_t n = 0;
    for (int i = 0; i < lenbytes; i++)
        n = (n << 8) | c->p[i];
    if (c->len - (size_t)lenbytes < n)
        return TLS_E_LENGTH;
    sub->p = c->p + lenbytes;
    sub->len = n;
    c->p += (size_t)lenbytes + n;
    c->len -= (size_t)lenbytes + n;
    return 0;
}

/* 0 when the cursor is exhausted, TLS_E_TRAILING otherwise. */
static inline int tls_cursor_done(const struct tls_cursor *c)
{
    return c->len == 0 ? 0 : TLS_E_TRAILING;
}

#endif
