/* The HTTP/1.x response head reader (tls/http.c) used by --request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete), cmocka_unit_test(test_partial),
        cmocka_unit_test(test_not_http), cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
