/* libFuzzer target for the exporter's request reader (tls/wire/http.c): any bytes as a request
 * head, its fields and its query. The views stay inside the input; a decoded value is a C
 * string of the room given, with no ASCII control character or NUL (the exporter puts it in
 * messages, escaped for the rest). */
#include "tests/fuzz/fuzz.h"
#include "tls/wire/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_http_request r;
    if (tls_http_request_parse(&r, data, size) != 0 || !r.complete)
        return 0;
    const uint8_t *end = data + size, *v;
    size_t n;
    if (r.head_len > size || r.path < data || r.path + r.path_len > end || r.query < data ||
        r.query + r.query_len > end || r.n_fields > TLS_HTTP_REQUEST_FIELDS_MAX)
        __builtin_trap();
    if (tls_http_request_field(&r, "X-Prometheus-Scrape-Timeout-Seconds", &v, &n) &&
        (v < data || v + n > end))
        __builtin_trap();
    (void)tls_http_request_accepts(&r, "application/openmetrics-text");
    const uint8_t *q = r.query, *qend = r.query + r.query_len;
    struct tls_http_param p;
    char val[64];
    while (tls_http_query_next(&q, qend, &p) == 1) {
        if (q < r.query || q > qend || p.key < r.query || p.key + p.key_len > qend ||
            p.val < r.query || p.val + p.val_len > qend)
            __builtin_trap();
        if (tls_http_form_decode(val, sizeof(val), p.val, p.val_len) != 0)
            continue;
        if (strlen(val) >= sizeof(val))
            __builtin_trap();
        for (const char *c = val; *c; c++)
            if ((uint8_t)*c < 0x20 || *c == 0x7f)
                __builtin_trap();
    }
    return 0;
}
