/* The bounded byte writer (wbuf.h). It never writes past cap and never grows past max; a
 * failure sticks, so nothing is written after the first one. */
#include "wbuf.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void tls_wbuf_fixed(struct tls_wbuf *w, uint8_t *p, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->p = p;
    w->cap = cap;
}

void tls_wbuf_init(struct tls_wbuf *w, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->max = max;
}

void tls_wbuf_free(struct tls_wbuf *w)
{
    if (w == NULL)
        return;
    if (w->max)
        free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
}

/* Room for n more bytes, growing a heap buffer when it may. */
static bool room(struct tls_wbuf *w, size_t n)
{
    if (w->err)
        return false;
    if (n <= w->cap - w->len)
        return true;
    if (w->max == 0 || n > w->max - w->len) {
        w->err = TLS_E_SPACE;
        return false;
    }
    size_t sz = w->cap ? w->cap : 1024;
    while (sz < w->len + n)
        sz = sz > w->max / 2 ? w->max : 2 * sz;
    uint8_t *q = realloc(w->p, sz);
    if (q == NULL) {
        w->err = TLS_E_NOMEM;
        return false;
    }
    w->p = q;
    w->cap = sz;
    return true;
}

void tls_wbuf_put(struct tls_wbuf *w, const void *src, size_t n)
{
    if (!room(w, n))
        return;
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

void tls_wbuf_zero(struct tls_wbuf *w, size_t n)
{
    if (!room(w, n))
        return;
    memset(w->p + w->len, 0, n);
    w->len += n;
}

void tls_wbuf_u8(struct tls_wbuf *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    tls_wbuf_put(w, &b, 1);
}

void tls_wbuf_u16(struct tls_wbuf *w, size_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    tls_wbuf_put(w, b, 2);
}

void tls_wbuf_u24(struct tls_wbuf *w, size_t v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    tls_wbuf_put(w, b, 3);
}

void tls_wbuf_u16_vec(struct tls_wbuf *w, const uint16_t *v, size_t n)
{
    size_t at = tls_wbuf_open(w, 2);
    for (size_t i = 0; i < n; i++)
        tls_wbuf_u16(w, v[i]);
    tls_wbuf_close(w, at, 2);
}

size_t tls_wbuf_open(struct tls_wbuf *w, int lenbytes)
{
    size_t at = w->len;
    tls_wbuf_zero(w, (size_t)lenbytes);
    return at;
}

void tls_wbuf_close(struct tls_wbuf *w, size_t at, int lenbytes)
{
    if (w->err)
        return;
    size_t body = w->len - at - (size_t)lenbytes;
    if (lenbytes < 3 ? body >> (8 * lenbytes) != 0 : body > 0xffffff) {
        w->err = TLS_E_RANGE;
        return;
    }
    for (int i = lenbytes - 1; i >= 0; i--, body >>= 8)
        w->p[at + (size_t)i] = (uint8_t)body;
}
