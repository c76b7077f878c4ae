/* Byte writer into a caller's fixed buffer: the writing twin of cursor.h, for the few messages
 * caprobe sends itself. Every write checks the room left; once one does not fit, the writer is
 * marked full and writes nothing more, so a caller checks once, at the end. Never allocates. */
#ifndef TLS_WRITER_H
#define TLS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tls_writer {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool full; /* a write did not fit: the contents are incomplete */
};

static inline struct tls_writer tls_writer_make(uint8_t *p, size_t cap)
{
    struct tls_writer w = {.p = p, .cap = cap, .len = 0, .full = false};
    return w;
}

static inline void tls_writer_bytes(struct tls_writer *w, const void *src, size_t n)
{
    if (w->full || w->cap - w->len < n) {
        w->full = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

/* An unsigned big-endian integer of `bytes` (1..4) bytes. */
static inline void tls_writer_uint(struct tls_writer *w, uint32_t v, int bytes)
{
    uint8_t b[4];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    tls_writer_bytes(w, b, (size_t)bytes);
}

static inline void tls_writer_u8(struct tls_writer *w, uint8_t v)
{
    tls_writer_uint(w, v, 1);
}

static inline void tls_writer_u16(struct tls_writer *w, uint16_t v)
{
    tls_writer_uint(w, v, 2);
}

/* Open a vector with a length prefix of lenbytes (1, 2 or 3): returns where the body starts,
 * for tls_writer_close. */
static inline size_t tls_writer_open(struct tls_writer *w, int lenbytes)
{
    tls_writer_uint(w, 0, lenbytes);
    return w->len;
}

/* Fill in the length of the vector opened at `start`; a body too long for its prefix marks the
 * writer full. */
static inline void tls_writer_close(struct tls_writer *w, size_t start, int lenbytes)
{
    if (w->full)
        return;
    size_t n = w->len - start;
    if (n >> (8 * lenbytes)) {
        w->full = true;
        return;
    }
    for (int i = 0; i < lenbytes; i++)
        w->p[start - 1 - i] = (uint8_t)(n >> (8 * i));
}

#endif
