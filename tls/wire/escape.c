/* Terminal escaping (escape.h). Pure: no locale, no allocation. */
#include "escape.h"

#include <string.h>

#include "hex.h"
#include "utf8.h"

size_t tls_escape_step(const uint8_t *p, size_t n, unsigned flags, char out[TLS_ESCAPE_UNIT_MAX],
                       size_t *out_len)
{
    uint32_t cp = 0;
    size_t k = tls_utf8_decode(p, n, &cp);
    bool control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
    if (k == 0 || control || ((flags & TLS_ESCAPE_ASCII) && cp >= 0x80)) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = tls_hex_lower[p[0] >> 4];
        out[3] = tls_hex_lower[p[0] & 15];
        *out_len = 4;
        return 1;
    }
    memcpy(out, p, k);
    *out_len = k;
    return k;
}

char *tls_escape_term(char *dst, size_t cap, const char *s, unsigned flags)
{
    const char *t = s ? s : "";
    return tls_escape_bytes(dst, cap, (const uint8_t *)t, strlen(t), flags);
}

char *tls_escape_bytes(char *dst, size_t cap, const uint8_t *p, size_t n, unsigned flags)
{
    size_t o = 0;
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, flags, unit, &len);
        if (o + len + 1 > cap)
            break;
        memcpy(dst + o, unit, len);
        o += len;
        p += used;
        n -= used;
    }
    if (cap)
        dst[o] = 0;
    return dst;
}
