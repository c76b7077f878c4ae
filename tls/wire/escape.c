/* Terminal escaping (escape.h). Pure: no locale, no allocation. */
#include "escape.h"

#include <string.h>

#include "hex.h"
#include "utf8.h"

bool tls_escape_hidden(uint32_t cp)
{
    static const struct {
        uint32_t lo, hi;
    } ranges[] = {
        {0x00ad, 0x00ad},   /* soft hyphen */
        {0x061c, 0x061c},   /* arabic letter mark */
        {0x180e, 0x180e},   /* mongolian vowel separator */
        {0x200b, 0x200f},   /* zero width space, non-joiner, joiner; LRM, RLM */
        {0x2028, 0x202e},   /* line and paragraph separators; LRE, RLE, PDF, LRO, RLO */
        {0x2060, 0x206f},   /* word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated */
        {0xfeff, 0xfeff},   /* zero width no-break space (BOM) */
        {0xfff9, 0xfffb},   /* interlinear annotation */
        {0xe0000, 0xe007f}, /* tags */
    };
    if (cp >= 0x80 && cp <= 0x9f)
        return true; /* C1 controls */
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (cp >= ranges[i].lo && cp <= ranges[i].hi)
            return true;
    return false;
}

size_t tls_escape_step(const uint8_t *p, size_t n, unsigned flags, char out[TLS_ESCAPE_UNIT_MAX],
                       size_t *out_len)
{
    uint32_t cp = 0;
    size_t k = tls_utf8_decode(p, n, &cp);
    bool control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
    if (k && !control && tls_escape_hidden(cp) && !(flags & TLS_ESCAPE_ASCII)) {
        /* \uXXXX, \UXXXXXXXX: lower-case hex digits, as \xNN */
        unsigned digits = cp > 0xffff ? 8 : 4;
        out[0] = '\\';
        out[1] = cp > 0xffff ? 'U' : 'u';
        for (unsigned i = 0; i < digits; i++)
            out[2 + i] = tls_hex_lower[(cp >> (4 * (digits - 1 - i))) & 15];
        *out_len = 2 + digits;
        return k;
    }
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
