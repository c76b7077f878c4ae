/* UTF-8 decoding per RFC 3629 section 4. Pure; never reads past n. */
#include "utf8.h"

size_t tls_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t k;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return k;
}

size_t tls_utf8_valid_prefix(const uint8_t *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        size_t k = tls_utf8_decode(s + i, len - i, &cp);
        if (k == 0)
            return i;
        i += k;
    }
    return len;
}
