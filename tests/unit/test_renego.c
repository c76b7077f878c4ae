/* The TLS 1.2 renegotiation follower (tls/renego.c) over a real renegotiation captured from
 * openssl s_server (fixtures/tls12/renegotiation.hex): the server's ChangeCipherSpec, then its
 * protected Finished, HelloRequest and the second handshake's flight with a CertificateRequest.
 * Fed whole, byte by byte, without keys, tampered, cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/wire/certreq.h"
#include "tls/wire/error.h"
#include "tls/renego.h"

#define HDR_LEN 5
#define PREFIX_LEN (2 + 1 + 48 + 32 + 32) /* suite, flags, master, client and server random */
#define LIMIT (256 * 1024)

static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};

struct stream {
    uint8_t *raw;
    size_t raw_len;
    uint8_t *bytes; /* the server's CCS, then epoch 1 up to (not including) its protected CCS */
    size_t len;
    size_t record_off[16]; /* offset of each protected record in bytes */
    size_t n_rec;
};

static void stream_load(struct stream *s)
{
    s->raw = testutil_fixture("tls12/renegotiation.hex", &s->raw_len);
    assert_true(s->raw_len > 2 * PREFIX_LEN);
    s->bytes = malloc(s->raw_len + sizeof(ccs));
    assert_non_null(s->bytes);
    memcpy(s->bytes, ccs, sizeof(ccs));
    s->len = sizeof(ccs);
    s->n_rec = 0;
    /* the records until the one of epoch 1 that ends in a ChangeCipherSpec: the last of the
     * epoch, recognised as the record followed by the epoch 2 prefix (suite 0xC02B) */
    size_t off = PREFIX_LEN;
    while (off + HDR_LEN <= s->raw_len && s->raw[off] != 0xC0) {
        size_t len = ((size_t)s->raw[off + 3] << 8) | s->raw[off + 4];
        assert_true(off + HDR_LEN + len <= s->raw_len);
        if (s->raw[off] != 20 && s->raw[off] != 22)
            break;
        assert_true(s->n_rec < 16);
        s->record_off[s->n_rec++] = s->len;
        memcpy(s->bytes + s->len, s->raw + off, HDR_LEN + len);
        s->len += HDR_LEN + len;
        off += HDR_LEN + len;
    }
    assert_true(s->n_rec >= 7);
    /* the last one is the protected ChangeCipherSpec: drop it, the follower never needs it */
    s->len = s->record_off[--s->n_rec];
}

static void stream_free(struct stream *s)
{
    free(s->raw);
    free(s->bytes);
}

static void follower_init(struct tls_renego *r, const struct stream *s, bool keys)
{
    tls_renego_init(r, 0xC02B, false, LIMIT);
    if (keys)
        tls_renego_set_keys(r, MBEDTLS_SSL_TLS_PRF_SHA256, s->raw + 3, s->raw + 51, s->raw + 83);
}

static void assert_captured(const struct tls_renego *r)
{
    assert_true(r->hello_request);
    assert_true(r->started);
    assert_int_equal(r->err, 0);
    assert_int_equal(r->cap.status, TLS_CAPTURE_DONE);
    assert_int_equal(r->cap.version, 0x0303);
    assert_int_equal(r->cap.cipher_suite, 0xC02B);
    assert_true(r->cap.has_certreq);
    assert_true(r->cap.cert_len > 0);
    struct tls_certreq req;
    assert_int_equal(tls_certreq12_parse(&req, r->cap.certreq, r->cap.certreq_len), 0);
}

static void test_whole(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, true);
    tls_renego_feed(&r, s.bytes, s.len);
    assert_captured(&r);
    /* later bytes (the protected ChangeCipherSpec, application data) are not read */
    tls_renego_feed(&r, s.bytes, s.len);
    assert_int_equal(r.cap.status, TLS_CAPTURE_DONE);
    tls_renego_free(&r);
    stream_free(&s);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, true);
    for (size_t i = 0; i < s.len; i++) {
        assert_false(r.stopped);
        tls_renego_feed(&r, s.bytes + i, 1);
    }
    assert_captured(&r);
    tls_renego_free(&r);
    stream_free(&s);
}

/* A later export (the renegotiation's own master secret) must not replace the first. */
static void test_second_keys_ignored(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, true);
    uint8_t other[48] = {0};
    tls_renego_set_keys(&r, MBEDTLS_SSL_TLS_PRF_SHA256, other, other, other);
    tls_renego_feed(&r, s.bytes, s.len);
    assert_captured(&r);
    tls_renego_free(&r);
    stream_free(&s);
}

/* The ChangeCipherSpec before the keys (mbedTLS reads the flight after the follower): the
 * records wait, and are read once the keys come; without keys the stream ends unread. */
static void test_keys_late(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, false);
    tls_renego_feed(&r, s.bytes, s.len);
    assert_false(r.stopped);
    assert_false(r.started);
    assert_true(r.wait_keys);
    tls_renego_set_keys(&r, MBEDTLS_SSL_TLS_PRF_SHA256, s.raw + 3, s.raw + 51, s.raw + 83);
    assert_captured(&r);
    tls_renego_free(&r);

    follower_init(&r, &s, false);
    tls_renego_feed(&r, s.bytes, s.len);
    tls_renego_end(&r, TLS_E_TRUNCATED);
    assert_true(r.stopped);
    assert_false(r.started);
    assert_int_equal(r.err, TLS_E_MBEDTLS);
    tls_renego_free(&r);
    stream_free(&s);
}

/* The capture limit: what fits is read first, so a second flight complete within the limit
 * counts even when the same read goes past it; a flight that does not fit ends with LIMIT. */
static void test_limit(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    uint8_t *more = malloc(s.len + 100);
    assert_non_null(more);
    memcpy(more, s.bytes, s.len);
    memset(more + s.len, 0x17, 100);
    tls_renego_init(&r, 0xC02B, false, s.len);
    tls_renego_set_keys(&r, MBEDTLS_SSL_TLS_PRF_SHA256, s.raw + 3, s.raw + 51, s.raw + 83);
    tls_renego_feed(&r, more, s.len + 100);
    assert_captured(&r);
    tls_renego_free(&r);

    tls_renego_init(&r, 0xC02B, false, s.record_off[3]);
    tls_renego_set_keys(&r, MBEDTLS_SSL_TLS_PRF_SHA256, s.raw + 3, s.raw + 51, s.raw + 83);
    tls_renego_feed(&r, s.bytes, s.len);
    assert_true(r.stopped);
    if (r.started)
        assert_int_equal(r.cap.err, TLS_E_LIMIT);
    else
        assert_int_equal(r.err, TLS_E_LIMIT);
    tls_renego_free(&r);
    free(more);
    stream_free(&s);
}

/* A flipped bit in the Finished fails before any renegotiation; in the CertificateRequest's
 * record it fails the renegotiation capture. */
static void test_tampered(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, true);
    s.bytes[s.record_off[0] + HDR_LEN + 12] ^= 1;
    tls_renego_feed(&r, s.bytes, s.len);
    assert_true(r.stopped);
    assert_false(r.started);
    assert_int_equal(r.err, TLS_E_DECRYPT);
    tls_renego_free(&r);
    s.bytes[s.record_off[0] + HDR_LEN + 12] ^= 1;

    follower_init(&r, &s, true);
    size_t last = s.record_off[s.n_rec - 1];
    s.bytes[last + HDR_LEN + 10] ^= 0x80;
    tls_renego_feed(&r, s.bytes, s.len);
    assert_true(r.stopped);
    assert_true(r.started);
    assert_int_equal(r.cap.status, TLS_CAPTURE_FAILED);
    tls_renego_free(&r);
    stream_free(&s);
}

/* The server closes in the middle of the second flight. */
static void test_cut_short(void **state)
{
    (void)state;
    struct stream s;
    stream_load(&s);
    struct tls_renego r;
    follower_init(&r, &s, true);
    tls_renego_feed(&r, s.bytes, s.record_off[3]);
    assert_true(r.hello_request);
    assert_false(r.stopped);
    tls_renego_end(&r, TLS_E_TRUNCATED);
    assert_true(r.stopped);
    if (r.started) {
        assert_int_equal(r.cap.status, TLS_CAPTURE_FAILED);
        assert_int_equal(r.cap.err, TLS_E_TRUNCATED);
    }
    tls_renego_free(&r);
    stream_free(&s);
}

/* Before the ChangeCipherSpec: a NewSessionTicket passes, a fatal alert ends the stream, any
 * other plaintext message or a protected record is an error. */
static void test_plaintext_phase(void **state)
{
    (void)state;
    uint8_t rec[64];
    static const uint8_t nst[] = {4, 0, 0, 6, 0, 0, 0, 0, 0, 0};
    static const uint8_t finished[] = {20, 0, 0, 0};
    static const uint8_t alert[] = {2, 40};
    struct tls_renego r;

    tls_renego_init(&r, 0xC02F, false, LIMIT);
    tls_renego_feed(&r, rec, testutil_record(rec, 22, nst, sizeof(nst)));
    assert_false(r.stopped);
    tls_renego_feed(&r, rec, testutil_record(rec, 21, alert, sizeof(alert)));
    assert_true(r.stopped);
    assert_true(r.has_alert);
    assert_int_equal(r.alert_desc, 40);
    tls_renego_free(&r);

    tls_renego_init(&r, 0xC02F, false, LIMIT);
    tls_renego_feed(&r, rec, testutil_record(rec, 22, finished, sizeof(finished)));
    assert_true(r.stopped);
    assert_int_equal(r.err, TLS_E_UNEXPECTED);
    tls_renego_free(&r);

    tls_renego_init(&r, 0xC02F, false, LIMIT);
    tls_renego_feed(&r, rec, testutil_record(rec, 23, finished, sizeof(finished)));
    assert_true(r.stopped);
    assert_int_equal(r.err, TLS_E_UNEXPECTED);
    tls_renego_free(&r);

    /* an unknown suite: the keys cannot be expanded */
    tls_renego_init(&r, 0x1301, false, LIMIT);
    uint8_t m[48] = {0};
    tls_renego_set_keys(&r, MBEDTLS_SSL_TLS_PRF_SHA256, m, m, m);
    tls_renego_feed(&r, ccs, sizeof(ccs));
    assert_true(r.stopped);
    assert_int_equal(r.err, TLS_E_UNSUPPORTED);
    tls_renego_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_second_keys_ignored),
        cmocka_unit_test(test_keys_late),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_plaintext_phase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
