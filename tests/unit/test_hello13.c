/* Unit tests for caprobe's TLS 1.3 ClientHello writer (tls/wire/hello13.c; the byte writer under
 * it, wbuf.h, is test_wire's test_wbuf), and the ServerHello fields that answer it (key_share,
 * cookie: handshake.c). Oracles: a ClientHello assembled by hand here from RFC 8446 4.1.2 and the
 * extension layouts, and the HelloRetryRequest and ServerHello of RFC 8448 section 5
 * (fixtures/tls13/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/wire/error.h"
#include "tls/wire/handshake.h"
#include "tls/wire/hello13.h"

/* A ClientHello with one group, one share, an SNI and a cookie, written field by field from
 * RFC 8446 4.1.2, 4.2 and RFC 6066 3. */
static const uint8_t random32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t sid32[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                                  0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                                  0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};
static const uint8_t key3[3] = {0x11, 0x22, 0x33};
static const uint8_t cookie2[2] = {0xc0, 0x0c};
static const uint16_t group_x25519[] = {0x001d};

static const char *const expected_hello =
    "01 0000 00\n" /* client_hello, uint24 length: filled in below */
    "0303\n"
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"
    "20 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n"
    "000a 1301 1302 1303 1304 1305\n"
    "01 00\n"
    "0000\n"                              /* extensions length: filled in below */
    "0000 000a 0008 00 0005 612e6f7267\n" /* server_name "a.org" */
    "000a 0004 0002 001d\n"               /* supported_groups */
    "000d 002e 002c 0403 0503 0603 0807 0808 0804 0805 0806 0809 080a 080b\n"
    "               081a 081b 081c 0904 0905 0906 0401 0501 0601 0203 0201\n"
    "002b 0003 02 0304\n"                /* supported_versions */
    "002c 0004 0002 c00c\n"              /* cookie */
    "0033 0009 0007 001d 0003 112233\n"; /* key_share */

static void test_client_hello_bytes(void **state)
{
    (void)state;
    size_t want_len;
    uint8_t *want = testutil_unhex(expected_hello, &want_len);
    size_t body = want_len - 4, exts = want_len - (4 + 2 + 32 + 33 + 12 + 2 + 2);
    want[2] = (uint8_t)(body >> 8);
    want[3] = (uint8_t)body;
    want[4 + 2 + 32 + 33 + 12 + 2] = (uint8_t)(exts >> 8);
    want[4 + 2 + 32 + 33 + 12 + 2 + 1] = (uint8_t)exts;

    struct tls_key_share ks = {.group = 0x001d, .key = key3, .len = sizeof(key3)};
    struct tls_hello13 h = {
        .random = random32,
        .session_id = sid32,
        .sni = "a.org",
        .groups = group_x25519,
        .group_count = 1,
        .shares = &ks,
        .share_count = 1,
        .cookie = cookie2,
        .cookie_len = sizeof(cookie2),
    };
    uint8_t buf[512];
    size_t n;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), 0);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, n);

    /* every smaller buffer: TLS_E_SPACE, and nothing written past its end */
    for (size_t cap = 0; cap < n; cap++) {
        uint8_t small[512];
        memset(small, 0xee, sizeof(small));
        size_t got = 1;
        assert_int_equal(tls_hello13_write(small, cap, &got, &h), TLS_E_SPACE);
        assert_int_equal(got, 0);
        for (size_t i = cap; i < sizeof(small); i++)
            assert_int_equal(small[i], 0xee);
    }

    /* without SNI and cookie the two extensions are gone, the rest unchanged */
    h.sni = NULL;
    h.cookie = NULL;
    h.cookie_len = 0;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), 0);
    assert_int_equal(n, want_len - 14 - 8);
    assert_memory_equal(buf + 4, want + 4, 2 + 32 + 33 + 12 + 2);
    free(want);
}

static void test_client_hello_invalid(void **state)
{
    (void)state;
    struct tls_key_share ks = {.group = 0x001d, .key = key3, .len = sizeof(key3)};
    struct tls_hello13 ok = {
        .random = random32,
        .session_id = sid32,
        .groups = group_x25519,
        .group_count = 1,
        .shares = &ks,
        .share_count = 1,
    };
    uint8_t buf[70000];
    size_t n;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &ok), 0);

    struct tls_hello13 h = ok;
    h.share_count = 0;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    h = ok;
    h.group_count = 0;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    h = ok;
    h.sni = "";
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    char long_name[257];
    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    h.sni = long_name;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    long_name[255] = '\0'; /* 255 bytes: the most mbedTLS also takes */
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), 0);
    h = ok;
    h.cookie = cookie2;
    h.cookie_len = 0;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    h = ok;
    struct tls_key_share empty = {.group = 0x001d, .key = key3, .len = 0};
    h.shares = &empty;
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_INVALID);
    /* a cookie so long that the extensions block no longer fits its two-byte length */
    static uint8_t cookie[0xffff];
    h = ok;
    h.cookie = cookie;
    h.cookie_len = sizeof(cookie);
    assert_int_equal(tls_hello13_write(buf, sizeof(buf), &n, &h), TLS_E_SPACE);
}

static void test_offers(void **state)
{
    (void)state;
    for (uint16_t s = 0x1301; s <= 0x1305; s++)
        assert_true(tls_hello13_offers_suite(s));
    assert_false(tls_hello13_offers_suite(0x1306));
    assert_false(tls_hello13_offers_suite(0xc02f));
    size_t n;
    const uint16_t *algs = tls_hello13_sigalgs(&n);
    /* the schemes of the certificates mbedTLS's own client cannot name */
    static const uint16_t needed[] = {0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0203, 0x0201};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= algs[j] == needed[i];
        assert_true(found);
    }
}

/* The handshake message inside a one-record fixture: 5-byte record and 4-byte message headers
 * skipped. */
static uint8_t *message_body(const char *name, size_t *len)
{
    size_t n;
    uint8_t *rec = testutil_fixture(name, &n);
    assert_true(n > 9);
    *len = n - 9;
    memmove(rec, rec + 9, *len);
    return rec;
}

static void test_server_hello_key_share(void **state)
{
    (void)state;
    size_t len;
    uint8_t *hrr = message_body("tls13/rfc8448_hrr_hello_retry_request.hex", &len);
    struct tls_server_hello sh;
    assert_int_equal(tls_server_hello_parse(&sh, hrr, len), 0);
    assert_true(sh.hello_retry);
    assert_int_equal(sh.version, 0x0304);
    assert_int_equal(sh.cipher_suite, 0x1301);
    assert_int_equal(sh.key_share_group, 0x0017);
    assert_null(sh.key_share);
    assert_int_equal(sh.cookie_len, 114);
    assert_int_equal(sh.cookie[0], 0x71);
    assert_int_equal(sh.cookie[113], 0xb0);
    free(hrr);

    uint8_t *s = message_body("tls13/rfc8448_hrr_server_hello_record.hex", &len);
    assert_int_equal(tls_server_hello_parse(&sh, s, len), 0);
    assert_false(sh.hello_retry);
    assert_int_equal(sh.key_share_group, 0x0017);
    assert_int_equal(sh.key_share_len, 65);
    assert_int_equal(sh.key_share[0], 0x04);
    assert_null(sh.cookie);
    free(s);
}

/* A ServerHello (or, with hrr, a HelloRetryRequest) with one extension of type `type`. */
static size_t hello_with(uint8_t *out, bool hrr, uint16_t type, const uint8_t *data, size_t len)
{
    static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe,
                                           0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2,
                                           0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09,
                                           0xe2, 0xc8, 0xa8, 0x33, 0x9c}; /* RFC 8446 4.1.3 */
    size_t n = 0;
    out[n++] = 3;
    out[n++] = 3;
    memcpy(out + n, hrr ? hrr_random : random32, 32);
    n += 32;
    out[n++] = 0; /* session id */
    out[n++] = 0x13;
    out[n++] = 0x01;
    out[n++] = 0;
    out[n++] = (uint8_t)((len + 4) >> 8);
    out[n++] = (uint8_t)(len + 4);
    out[n++] = (uint8_t)(type >> 8);
    out[n++] = (uint8_t)type;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
    memcpy(out + n, data, len);
    return n + len;
}

static void test_server_hello_key_share_malformed(void **state)
{
    (void)state;
    uint8_t m[128];
    struct tls_server_hello sh;
    static const uint8_t share_ok[] = {0x00, 0x1d, 0x00, 0x01, 0x09};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 51, share_ok, 5)), 0);
    assert_int_equal(sh.key_share_group, 0x001d);
    assert_int_equal(sh.key_share_len, 1);
    static const uint8_t share_empty[] = {0x00, 0x1d, 0x00, 0x00};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 51, share_empty, 4)),
                     TLS_E_RANGE);
    static const uint8_t share_over[] = {0x00, 0x1d, 0x00, 0x02, 0x09};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 51, share_over, 5)),
                     TLS_E_LENGTH);
    static const uint8_t share_trailing[] = {0x00, 0x1d, 0x00, 0x01, 0x09, 0x00};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 51, share_trailing, 6)),
                     TLS_E_TRAILING);
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 51, share_ok, 1)),
                     TLS_E_TRUNCATED);
    /* a HelloRetryRequest names a group and nothing else */
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 51, share_ok, 2)), 0);
    assert_true(sh.hello_retry);
    assert_int_equal(sh.key_share_group, 0x001d);
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 51, share_ok, 5)),
                     TLS_E_TRAILING);
    /* cookie<1..2^16-1>, in a HelloRetryRequest only */
    static const uint8_t cookie_ok[] = {0x00, 0x01, 0x42};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 44, cookie_ok, 3)), 0);
    assert_int_equal(sh.cookie_len, 1);
    assert_int_equal(sh.cookie[0], 0x42);
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, false, 44, cookie_ok, 3)), 0);
    assert_null(sh.cookie);
    static const uint8_t cookie_empty[] = {0x00, 0x00};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 44, cookie_empty, 2)),
                     TLS_E_RANGE);
    static const uint8_t cookie_trailing[] = {0x00, 0x01, 0x42, 0x43};
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 44, cookie_trailing, 4)),
                     TLS_E_TRAILING);
    assert_int_equal(tls_server_hello_parse(&sh, m, hello_with(m, true, 44, cookie_ok, 2)),
                     TLS_E_LENGTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_hello_bytes),
        cmocka_unit_test(test_client_hello_invalid),
        cmocka_unit_test(test_offers),
        cmocka_unit_test(test_server_hello_key_share),
        cmocka_unit_test(test_server_hello_key_share_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
