/* HTTP/1.x response head reader for --request: the status line and the Server field. */
#include "http.h"

#include <string.h>
#include <strings.h>

#include "error.h"

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
