/* The HTTP/1.x response head reader (tls/http.c) used by --request, and the request head and
 * query reader of the exporter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tls/wire/error.h"
#include "tls/wire/http.h"

static int parse(struct tls_http_head *h, const char *s)
{
    return tls_http_head_parse(h, (const uint8_t *)s, strlen(s));
}

static void assert_view(const uint8_t *p, size_t n, const char *want)
{
    assert_non_null(p);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void test_complete(void **state)
{
    (void)state;
    struct tls_http_head h;
    assert_int_equal(parse(&h, "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nserver:  "
                               "Microsoft-IIS/10.0 \t\r\nServer: second\r\n\r\nbody"),
                     0);
    assert_true(h.have_status);
    assert_true(h.complete);
    assert_int_equal(h.status, 403);
    assert_view(h.line, h.line_len, "HTTP/1.1 403 Forbidden");
    assert_view(h.reason, h.reason_len, "Forbidden");
    assert_view(h.server, h.server_len, "Microsoft-IIS/10.0"); /* the first, trimmed */
}

static void test_partial(void **state)
{
    (void)state;
    struct tls_http_head h;
    assert_int_equal(parse(&h, ""), 0);
    assert_false(h.have_status);
    assert_int_equal(parse(&h, "HTTP/1.1 200 O"), 0);
    assert_false(h.have_status);
    assert_int_equal(parse(&h, "HTTP/1.0 200\nServer: x"), 0); /* bare LF, no reason */
    assert_true(h.have_status);
    assert_false(h.complete);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.reason_len, 0);
    assert_null(h.server); /* the field line is not complete */
    assert_int_equal(parse(&h, "HTTP/1.0 500 Internal Server Error\n\n"), 0);
    assert_true(h.complete);
    assert_null(h.server);
    assert_view(h.reason, h.reason_len, "Internal Server Error");
}

static void test_not_http(void **state)
{
    (void)state;
    struct tls_http_head h;
    static const char *const bad[] = {
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/2 200\r\n",
        "HTTP/1.1 20x OK\r\n",
        "HTTP/1.1 099 x\r\n",
        "HTTP/1.1 200OK\r\n",
        "HTTP/1.1  200 OK\r\n",
        "\r\n",
        "HTTP/1.1 103 Early Hints\r\n\r\nGarbage\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&h, bad[i]), TLS_E_HTTP);
}

/* A field line without a colon does not cost the status; interim 1xx heads are skipped (but
 * 101, which ends HTTP/1.1 on the connection). */
static void test_lenient(void **state)
{
    (void)state;
    struct tls_http_head h;
    assert_int_equal(parse(&h, "HTTP/1.1 200 OK\r\nno colon here\r\n: empty name\r\n"
                               "Server: x\r\n\r\n"),
                     0);
    assert_true(h.complete);
    assert_int_equal(h.status, 200);
    assert_view(h.server, h.server_len, "x");
    assert_int_equal(parse(&h, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), 0);
    assert_false(h.have_status); /* the final response has not come yet */
    assert_int_equal(parse(&h, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
                               "HTTP/1.1 403 Forbidden\r\nServer: IIS\r\n\r\n"),
                     0);
    assert_true(h.complete);
    assert_int_equal(h.status, 403);
    assert_view(h.server, h.server_len, "IIS");
    assert_int_equal(parse(&h, "HTTP/1.1 101 Switching Protocols\r\n\r\n"), 0);
    assert_int_equal(h.status, 101);
}

/* NUL and other bytes in a value are kept as views; the probe makes them printable. */
static void test_binary(void **state)
{
    (void)state;
    static const uint8_t in[] = "HTTP/1.1 200 \x00\xff\r\nServer: a\x00"
                                "b\r\n\r\n";
    struct tls_http_head h;
    assert_int_equal(tls_http_head_parse(&h, in, sizeof(in) - 1), 0);
    assert_true(h.complete);
    assert_int_equal(h.reason_len, 2);
    assert_int_equal(h.server_len, 3);
}

/* ---- requests ---------------------------------------------------------------------------- */

static int req(struct tls_http_request *r, const char *s)
{
    return tls_http_request_parse(r, (const uint8_t *)s, strlen(s));
}

static void test_request(void **state)
{
    (void)state;
    struct tls_http_request r;
    const char *s = "GET /probe?target=a%3A1&module=x HTTP/1.1\r\nHost: e\r\n"
                    "X-Prometheus-Scrape-Timeout-Seconds:  9.5 \t\r\n"
                    "Accept: text/plain;q=0.5, Application/OpenMetrics-Text ;version=1.0.0\n"
                    "\r\nleft over";
    assert_int_equal(req(&r, s), 0);
    assert_true(r.complete);
    assert_int_equal(r.head_len, strlen(s) - strlen("left over"));
    assert_view(r.method, r.method_len, "GET");
    assert_view(r.path, r.path_len, "/probe");
    assert_view(r.query, r.query_len, "target=a%3A1&module=x");
    assert_int_equal(r.minor, 1);
    assert_int_equal(r.n_fields, 3);
    const uint8_t *v;
    size_t n;
    assert_true(tls_http_request_field(&r, "x-prometheus-scrape-timeout-seconds", &v, &n));
    assert_view(v, n, "9.5");
    assert_false(tls_http_request_field(&r, "Hos", &v, &n)); /* a name, not a prefix */
    assert_true(tls_http_request_accepts(&r, "application/openmetrics-text"));
    assert_true(tls_http_request_accepts(&r, "text/plain"));
    assert_false(tls_http_request_accepts(&r, "text/html"));
    /* a weight of 0 refuses */
    assert_int_equal(req(&r, "GET / HTTP/1.0\r\nAccept: a/b;q=0.000, c/d;q=0.1\r\n\r\n"), 0);
    assert_false(tls_http_request_accepts(&r, "a/b"));
    assert_true(tls_http_request_accepts(&r, "c/d"));
    assert_int_equal(req(&r, "GET /metrics HTTP/1.0\r\n\r\n"), 0);
    assert_true(r.complete);
    assert_int_equal(r.query_len, 0);
    assert_false(tls_http_request_accepts(&r, "text/plain")); /* no Accept */
}

static void test_request_partial(void **state)
{
    (void)state;
    struct tls_http_request r;
    assert_int_equal(req(&r, ""), 0);
    assert_false(r.complete);
    assert_int_equal(req(&r, "GET /probe?tar"), 0);
    assert_false(r.complete);
    assert_int_equal(req(&r, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    assert_false(r.complete);
    /* binary before the first line ends is refused at once, not after 8 KiB */
    assert_int_equal(req(&r, "\x16\x03\x01\x02"), TLS_E_HTTP);
}

static void test_request_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",                      /* two spaces */
        "GET / HTTP/1.1 \r\n\r\n",                      /* trailing space */
        "GET http://h/ HTTP/1.1\r\n\r\n",               /* absolute-form */
        "GET * HTTP/1.1\r\n\r\n",                       /* asterisk-form */
        "GET /a#b HTTP/1.1\r\n\r\n",                    /* a fragment */
        "GET / HTTP/2.0\r\n\r\n",                       /* not 1.x */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",           /* space before the colon */
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", /* obsolete line folding */
        "GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",       /* a control character */
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",         /* a bare CR */
        "GET /\x7f HTTP/1.1\r\n\r\n",                   /* DEL in the target */
        "G(T / HTTP/1.1\r\n\r\n",                       /* not a token */
        "GET / HTTP/1.1\r\nno colon\r\n\r\n",
    };
    struct tls_http_request r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(req(&r, bad[i]), TLS_E_HTTP);
    char many[4096] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i <= TLS_HTTP_REQUEST_FIELDS_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "F%d: v\r\n", i);
    assert_int_equal(req(&r, many), TLS_E_LIMIT); /* before the head ends */
}

/* The next parameter of q, its key and value decoded into k and v: 1, 0 at the end, or the
 * first decoding error. */
static int query(const char *q, char *key, size_t kc, char *val, size_t vc, const uint8_t **at)
{
    struct tls_http_param p;
    int rc = tls_http_query_next(at, (const uint8_t *)q + strlen(q), &p);
    if (rc != 1)
        return rc;
    if ((rc = tls_http_form_decode(key, kc, p.key, p.key_len)) ||
        (rc = tls_http_form_decode(val, vc, p.val, p.val_len)))
        return rc;
    return 1;
}

static void test_query(void **state)
{
    (void)state;
    char k[16], v[16];
    const char *q = "target=a%3a1%2B+b&&module&x=%C3%A9";
    const uint8_t *at = (const uint8_t *)q;
    assert_int_equal(query(q, k, sizeof(k), v, sizeof(v), &at), 1);
    assert_string_equal(k, "target");
    assert_string_equal(v, "a:1+ b");
    assert_int_equal(query(q, k, sizeof(k), v, sizeof(v), &at), 1);
    assert_string_equal(k, "module");
    assert_string_equal(v, "");
    assert_int_equal(query(q, k, sizeof(k), v, sizeof(v), &at), 1);
    assert_string_equal(v, "\xc3\xa9");
    assert_int_equal(query(q, k, sizeof(k), v, sizeof(v), &at), 0);
    static const char *const bad[] = {"t=%", "t=%4", "t=%zz", "t=%00", "t=a%0Ab", "t=%7f", "%01=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at = (const uint8_t *)bad[i];
        assert_int_equal(query(bad[i], k, sizeof(k), v, sizeof(v), &at), TLS_E_HTTP);
    }
    q = "t=0123456789abcdef";
    at = (const uint8_t *)q;
    assert_int_equal(query(q, k, sizeof(k), v, sizeof(v), &at), TLS_E_SPACE); /* 16 + NUL */
    /* the views: a parameter of any length and bytes is handed over as it stands, undecoded */
    char longer[200];
    snprintf(longer, sizeof(longer), "%s=%%zz%%00&target=x", "k0123456789012345678901234567890");
    const uint8_t *end = (const uint8_t *)longer + strlen(longer);
    struct tls_http_param p;
    at = (const uint8_t *)longer;
    assert_int_equal(tls_http_query_next(&at, end, &p), 1);
    assert_int_equal(p.key_len, 32);
    assert_memory_equal(p.val, "%zz%00", 6);
    assert_int_equal(p.val_len, 6);
    assert_int_equal(tls_http_query_next(&at, end, &p), 1);
    assert_memory_equal(p.key, "target", 6);
    assert_int_equal(p.key_len, 6);
    assert_int_equal(tls_http_query_next(&at, end, &p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete),        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_not_http),        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_binary),          cmocka_unit_test(test_request),
        cmocka_unit_test(test_request_partial), cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
