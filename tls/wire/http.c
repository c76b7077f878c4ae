/* HTTP/1.x response head reader for --request (the status line and the Server field), and the
 * request head and query reader of the exporter. */
#include "http.h"

#include <string.h>
#include <strings.h>

#include "error.h"
#include "hex.h"

/* The next line of p[*off .. len): its bytes without the line ending. 0 when no full line. */
static int next_line(const uint8_t *p, size_t len, size_t *off, const uint8_t **line,
                     size_t *line_len)
{
    const uint8_t *start = p + *off;
    const uint8_t *nl = memchr(start, '\n', len - *off);
    if (nl == NULL)
        return 0;
    size_t n = (size_t)(nl - start);
    *off += n + 1;
    if (n && start[n - 1] == '\r')
        n--;
    *line = start;
    *line_len = n;
    return 1;
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ] */
static int parse_status(struct tls_http_head *out, const uint8_t *l, size_t n)
{
    static const char version[] = "HTTP/1.";
    if (n < 12 || memcmp(l, version, 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
        return TLS_E_HTTP;
    int status = 0;
    for (size_t i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9')
            return TLS_E_HTTP;
        status = status * 10 + (l[i] - '0');
    }
    if (status < 100 || (n > 12 && l[12] != ' '))
        return TLS_E_HTTP;
    out->have_status = true;
    out->status = status;
    out->line = l;
    out->line_len = n;
    out->reason = n > 12 ? l + 13 : l + 12;
    out->reason_len = n > 12 ? n - 13 : 0;
    return 0;
}

/* One head from p: *used is its length once complete. */
static int parse_one(struct tls_http_head *out, const uint8_t *p, size_t len, size_t *used)
{
    memset(out, 0, sizeof(*out));
    size_t off = 0;
    const uint8_t *l;
    size_t n;
    if (!next_line(p, len, &off, &l, &n))
        return 0;
    int rc = parse_status(out, l, n);
    if (rc)
        return rc;
    while (next_line(p, len, &off, &l, &n)) {
        if (n == 0) {
            out->complete = true;
            *used = off;
            return 0;
        }
        /* RFC 9112 5: field-line = field-name ":" OWS field-value OWS; a line that is not one
         * is skipped: the status is what the probe reports */
        const uint8_t *colon = memchr(l, ':', n);
        if (colon == NULL || colon == l)
            continue;
        size_t name_len = (size_t)(colon - l);
        if (out->server || name_len != 6 || strncasecmp((const char *)l, "server", 6) != 0)
            continue;
        const uint8_t *v = colon + 1, *end = l + n;
        while (v < end && is_ows(*v))
            v++;
        while (end > v && is_ows(end[-1]))
            end--;
        out->server = v;
        out->server_len = (size_t)(end - v);
    }
    return 0;
}

int tls_http_head_parse(struct tls_http_head *out, const uint8_t *p, size_t len)
{
    size_t start = 0;
    for (;;) {
        size_t used = 0;
        int rc = parse_one(out, p + start, len - start, &used);
        /* RFC 9110 15.2: an interim 1xx response (but 101) comes before the final one */
        if (rc || !out->complete || out->status >= 200 || out->status == 101)
            return rc;
        start += used;
    }
}

/* ---- requests ---------------------------------------------------------------------------- */

/* RFC 9110 5.6.2: tchar */
static bool is_tchar(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9112 3: request-line = method SP request-target SP HTTP-version; only the origin-form
 * (RFC 9112 3.2.1: absolute-path [ "?" query ]) is served. */
static int parse_request_line(struct tls_http_request *out, const uint8_t *l, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar(l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ' ')
        return TLS_E_HTTP;
    out->method = l;
    out->method_len = i++;
    size_t t = i;
    while (i < n && l[i] > ' ' && l[i] < 0x7f)
        i++;
    if (i == t || i >= n || l[i] != ' ' || l[t] != '/')
        return TLS_E_HTTP;
    out->target = l + t;
    out->target_len = i - t;
    const uint8_t *q = memchr(out->target, '?', out->target_len);
    out->path = out->target;
    out->path_len = q ? (size_t)(q - out->target) : out->target_len;
    out->query = q ? q + 1 : out->target + out->target_len;
    out->query_len = q ? out->target_len - out->path_len - 1 : 0;
    if (memchr(out->target, '#', out->target_len)) /* a fragment is never sent */
        return TLS_E_HTTP;
    i++;
    if (n - i != 8 || memcmp(l + i, "HTTP/1.", 7) != 0 || l[i + 7] < '0' || l[i + 7] > '9')
        return TLS_E_HTTP;
    out->minor = l[i + 7] - '0';
    return 0;
}

/* RFC 9112 5: field-line = field-name ":" OWS field-value OWS; no whitespace before the colon
 * (5.1), no obsolete line folding (5.2), no control character but tab in the value. */
static int check_field(const uint8_t *l, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar(l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ':')
        return TLS_E_HTTP;
    for (i++; i < n; i++)
        if ((l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f)
            return TLS_E_HTTP;
    return 0;
}

int tls_http_request_parse(struct tls_http_request *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof(*out));
    size_t off = 0, n;
    const uint8_t *l;
    if (!next_line(p, len, &off, &l, &n)) {
        /* not a line yet: what has come must still be able to start a request line */
        for (size_t i = 0; i < len; i++)
            if ((p[i] < ' ' && p[i] != '\r') || p[i] == 0x7f)
                return TLS_E_HTTP;
        return 0;
    }
    if (memchr(l, '\r', n) || parse_request_line(out, l, n))
        return TLS_E_HTTP;
    out->fields = p + off;
    while (next_line(p, len, &off, &l, &n)) {
        if (n == 0) {
            out->complete = true;
            out->head_len = off;
            out->fields_len = (size_t)(l - out->fields);
            return 0;
        }
        if (memchr(l, '\r', n) || check_field(l, n))
            return TLS_E_HTTP;
        if (++out->n_fields > TLS_HTTP_REQUEST_FIELDS_MAX)
            return TLS_E_LIMIT;
    }
    return 0;
}

bool tls_http_request_field(const struct tls_http_request *r, const char *name, const uint8_t **v,
                            size_t *n)
{
    size_t off = 0, ln, name_len = strlen(name);
    const uint8_t *l;
    while (r->complete && next_line(r->fields, r->fields_len, &off, &l, &ln)) {
        if (ln <= name_len || l[name_len] != ':' ||
            strncasecmp((const char *)l, name, name_len) != 0)
            continue;
        const uint8_t *s = l + name_len + 1, *end = l + ln;
        while (s < end && is_ows(*s))
            s++;
        while (end > s && is_ows(end[-1]))
            end--;
        *v = s;
        *n = (size_t)(end - s);
        return true;
    }
    return false;
}

bool tls_http_request_accepts(const struct tls_http_request *r, const char *media_type)
{
    const uint8_t *v, *end;
    size_t n, k = strlen(media_type);
    if (!tls_http_request_field(r, "Accept", &v, &n))
        return false;
    for (end = v + n; v < end;) {
        const uint8_t *comma = memchr(v, ',', (size_t)(end - v)), *e = comma ? comma : end;
        const uint8_t *semi = memchr(v, ';', (size_t)(e - v)), *t = semi ? semi : e;
        while (v < t && is_ows(*v))
            v++;
        while (t > v && is_ows(t[-1]))
            t--;
        bool match = (size_t)(t - v) == k && strncasecmp((const char *)v, media_type, k) == 0;
        /* a weight of 0 (q=0, q=0.0, q=0.000) says "not acceptable" */
        bool refused = false;
        for (const uint8_t *p = semi; p && p < e; p = memchr(p + 1, ';', (size_t)(e - p - 1))) {
            const uint8_t *a = p + 1;
            while (a < e && is_ows(*a))
                a++;
            if (e - a >= 3 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=' && a[2] == '0') {
                const uint8_t *d = a + 3;
                if (d < e && *d == '.')
                    d++;
                while (d < e && *d == '0')
                    d++;
                refused = d == e || *d == ';' || is_ows(*d);
            }
        }
        if (match && !refused)
            return true;
        v = comma ? comma + 1 : end;
    }
    return false;
}

int tls_http_form_decode(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? tls_hex_value((char)s[i + 1]) : -1;
            int lo = hi >= 0 ? tls_hex_value((char)s[i + 2]) : -1;
            if (lo < 0)
                return TLS_E_HTTP;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c < ' ' || c == 0x7f)
            return TLS_E_HTTP;
        if (o + 1 >= cap)
            return TLS_E_SPACE;
        dst[o++] = (char)c;
    }
    if (cap == 0)
        return TLS_E_SPACE;
    dst[o] = 0;
    return 0;
}

int tls_http_query_next(const uint8_t **q, const uint8_t *end, struct tls_http_param *out)
{
    while (*q < end) {
        const uint8_t *s = *q, *amp = memchr(s, '&', (size_t)(end - s));
        const uint8_t *e = amp ? amp : end;
        *q = amp ? amp + 1 : end;
        if (e == s)
            continue;
        const uint8_t *eq = memchr(s, '=', (size_t)(e - s));
        out->key = s;
        out->key_len = (size_t)((eq ? eq : e) - s);
        out->val = eq ? eq + 1 : e;
        out->val_len = (size_t)(e - out->val);
        return 1;
    }
    return 0;
}
