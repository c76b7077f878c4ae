/* UTF-8 (RFC 3629) and UTF-16 (RFC 2781) per utf8.h. Pure; never reads past n. */
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

size_t tls_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t utf16_unit(const uint8_t *p, bool big_endian)
{
    return big_endian ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

size_t tls_utf16_decode(const uint8_t *p, size_t n, bool big_endian, uint32_t *cp)
{
    if (n < 2)
        return 0;
    uint32_t u = utf16_unit(p, big_endian);
    if (u >= 0xdc00 && u <= 0xdfff)
        return 0;
    if (u < 0xd800 || u > 0xdbff) {
        *cp = u;
        return 2;
    }
    if (n < 4)
        return 0;
    uint32_t l = utf16_unit(p + 2, big_endian);
    if (l < 0xdc00 || l > 0xdfff)
        return 0;
    *cp = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
    return 4;
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

/* Wide ranges of Unicode's EastAsianWidth.txt (W and F), merged where a narrow character in
 * between is rare in names; the symbol and emoji blocks count whole as wide (too wide is safe). */
static const uint32_t wide[][2] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23f3},
    {0x25fd, 0x25fe},   {0x2600, 0x27bf},   {0x2b1b, 0x2b1c},   {0x2b50, 0x2b55},
    {0x2e80, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},
    {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},
    {0x16fe0, 0x18dff}, {0x1aff0, 0x1b2ff}, {0x1f000, 0x1faff}, {0x20000, 0x3fffd},
};

unsigned tls_utf8_width(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]) && cp >= wide[i][0]; i++)
        if (cp <= wide[i][1])
            return 2;
    return 1;
}
