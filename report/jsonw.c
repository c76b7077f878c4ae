/* The renderers' output buffer and its encodings (jsonw.h): JSON, a terminal's, markup. Encoding
 * only; reading JSON is left to jansson. */
#include "jsonw.h"
#include "report.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hex.h"
#include "tls/wire/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_buf_free(struct report_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool reserve(struct report_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void report_buf_put(struct report_buf *b, const char *s, size_t n)
{
    if (n && reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

void report_buf_puts(struct report_buf *b, const char *s)
{
    report_buf_put(b, s, strlen(s));
}

void report_buf_vprintf(struct report_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0 && reserve(b, (size_t)n + 1)) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void report_buf_printf(struct report_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

int report_buf_flush(struct report_buf *b, FILE *f)
{
    int rc = 0;
    if (b->failed)
        rc = TLS_E_NOMEM;
    else if (b->len && fwrite(b->p, 1, b->len, f) != b->len)
        rc = TLS_E_IO;
    if (b->failed)
        report_buf_free(b); /* start over empty next time */
    b->len = 0;
    return rc;
}

void report_buf_label(struct report_buf *b, const char *target, const char *starttls)
{
    report_buf_puts(b, target ? target : "");
    if (starttls) {
        report_buf_puts(b, " (STARTTLS ");
        report_buf_puts(b, starttls);
        report_buf_puts(b, ")");
    }
}

void report_buf_term(struct report_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = s ? strlen(s) : 0;
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, 0, unit, &len);
        report_buf_put(b, unit, len);
        p += used;
        n -= used;
    }
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Each of the n bytes at p as \xNN, as tls_escape_step writes one. */
static void put_hex_bytes(struct report_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char unit[] = {'\\', 'x', tls_hex_lower[p[i] >> 4], tls_hex_lower[p[i] & 15]};
        report_buf_put(b, unit, sizeof(unit));
    }
}

void report_buf_markup(struct report_buf *b, const char *s, unsigned flags)
{
    if (s == NULL)
        return;
    bool attr = flags & REPORT_MARKUP_ATTR, bytes = flags & REPORT_MARKUP_BYTES;
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f && !strchr("&<>\"'", p[run]))
            run++;
        report_buf_put(b, s + i, run - i);
        i = run;
        if (i == n)
            break;
        uint32_t cp;
        size_t k;
        switch (p[i]) {
        case '&':
            report_buf_puts(b, "&amp;");
            break;
        case '<':
            report_buf_puts(b, "&lt;");
            break;
        case '>':
            report_buf_puts(b, "&gt;");
            break;
        case '"':
            report_buf_puts(b, "&quot;");
            break;
        case '\'':
            report_buf_puts(b, "&apos;");
            break;
        case '\t':
        case '\n':
        case '\r':
            if (!bytes) { /* kept; as references where a parser would change them */
                const char *ref = p[i] == '\t' ? "&#9;" : p[i] == '\n' ? "&#10;" : "&#13;";
                if (attr || p[i] == '\r')
                    report_buf_puts(b, ref);
                else
                    report_buf_put(b, s + i, 1);
                break;
            }
            /* with REPORT_MARKUP_BYTES as \xNN, below */
            /* fall through */
        default:
            k = tls_utf8_decode(p + i, n - i, &cp);
            if (bytes) {
                char unit[TLS_ESCAPE_UNIT_MAX];
                size_t len, used = tls_escape_step(p + i, n - i, 0, unit, &len);
                if (k && (cp == 0xfffe || cp == 0xffff))
                    put_hex_bytes(b, p + i, k);
                else
                    report_buf_put(b, unit, len);
                i += used;
                continue;
            }
            if (k == 0 || cp < 0x20 || cp == 0xfffe || cp == 0xffff) {
                report_buf_puts(b, REPLACEMENT); /* one per byte, as jsonw does */
                break;
            }
            report_buf_put(b, s + i, k);
            i += k;
            continue;
        }
        i++;
    }
}

void report_buf_json_str(struct report_buf *b, const char *s)
{
    if (s == NULL) {
        report_buf_put(b, "null", 4);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (!reserve(b, n + 2))
        return;
    b->p[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        /* copy the longest run that needs no escaping in one go */
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        report_buf_put(b, s + i, run - i);
        i = run;
        if (i == n)
            break;
        unsigned char c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            report_buf_put(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            report_buf_put(b, esc, 6);
            i++;
        } else {
            uint32_t cp;
            size_t k = tls_utf8_decode(p + i, n - i, &cp);
            if (k && tls_escape_hidden(cp)) {
                /* C1 controls, bidi controls, zero-width characters, U+2028: the same data,
                 * but a file safe to show on a terminal and to split by any line rule;
                 * RFC 8259 7: a pair of surrogates above the BMP */
                int w = cp > 0xffff ? snprintf(esc, sizeof(esc), "\\u%04x",
                                               (unsigned)(0xd800 + ((cp - 0x10000) >> 10)))
                                    : 0;
                report_buf_put(b, esc, (size_t)w);
                w = snprintf(esc, sizeof(esc), "\\u%04x",
                             (unsigned)(cp > 0xffff ? 0xdc00 + ((cp - 0x10000) & 0x3ff) : cp));
                report_buf_put(b, esc, (size_t)w);
                i += k;
            } else if (k) {
                report_buf_put(b, s + i, k);
                i += k;
            } else {
                report_buf_put(b, "\\ufffd", 6); /* never emit invalid UTF-8 */
                i++;
            }
        }
    }
    report_buf_put(b, "\"", 1);
}

void report_buf_json_u64(struct report_buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    report_buf_put(b, tmp, (size_t)n);
}

void report_buf_json_i64(struct report_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    report_buf_put(b, tmp, (size_t)n);
}

void report_buf_json_key(struct report_buf *b, const char *key)
{
    report_buf_json_str(b, key);
    report_buf_put(b, ":", 1);
}
