/* Unit tests for tls/record.c: records and handshake messages fragmented, coalesced, fed one
 * byte at a time, alerts, limits, non-TLS input, and protected records with a toy opener. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/wire/error.h"
#include "tls/wire/record.h"

/* A handshake message of type t with n body bytes of value t. */
static size_t put_message(uint8_t *out, uint8_t t, size_t n)
{
    out[0] = t;
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memset(out + 4, t, n);
    return 4 + n;
}

static void expect_message(struct tls_reader *r, uint8_t t, size_t n)
{
    struct tls_event ev;
    assert_int_equal(tls_reader_next(r, &ev), 0);
    assert_int_equal(ev.kind, TLS_EV_HANDSHAKE);
    assert_int_equal(ev.msg_type, t);
    assert_int_equal(ev.len, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ev.body[i], t);
}

static void expect_kind(struct tls_reader *r, enum tls_event_kind kind)
{
    struct tls_event ev;
    assert_int_equal(tls_reader_next(r, &ev), 0);
    assert_int_equal(ev.kind, kind);
}

static void test_coalesced(void **state)
{
    (void)state;
    uint8_t msgs[64], wire[128];
    size_t n = put_message(msgs, 2, 10);
    n += put_message(msgs + n, 11, 20);
    n += put_message(msgs + n, 14, 0);
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, msgs, n);
    struct tls_reader r;
    tls_reader_init(&r, 1 << 16);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    expect_message(&r, 2, 10);
    expect_message(&r, 11, 20);
    expect_message(&r, 14, 0);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_int_equal(tls_reader_pending(&r), 0);
    tls_reader_free(&r);
}

/* One 40,000-byte message over three records (larger than a record, as a 40 KiB CA list). */
static void test_fragmented_large(void **state)
{
    (void)state;
    size_t body = 40000;
    uint8_t *msg = malloc(4 + body);
    uint8_t *wire = malloc(4 + body + 3 * 5);
    size_t n = put_message(msg, 13, body);
    size_t w = 0, off = 0;
    while (off < n) {
        size_t chunk = n - off > 16384 ? 16384 : n - off;
        w += testutil_record(wire + w, TLS_CT_HANDSHAKE, msg + off, chunk);
        off += chunk;
    }
    struct tls_reader r;
    tls_reader_init(&r, 256 * 1024);
    /* byte by byte: every split point of header and body */
    for (size_t i = 0; i < w; i++) {
        assert_int_equal(tls_reader_feed(&r, wire + i, 1), 0);
        if (i + 1 < w)
            expect_kind(&r, TLS_EV_NEED_MORE);
    }
    expect_message(&r, 13, body);
    expect_kind(&r, TLS_EV_NEED_MORE);
    tls_reader_free(&r);
    free(msg);
    free(wire);
}

static void test_alert(void **state)
{
    (void)state;
    uint8_t wire[16];
    static const uint8_t alert[] = {2, 40};
    size_t w = testutil_record(wire, TLS_CT_ALERT, alert, 2);
    struct tls_reader r;
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), 0);
    assert_int_equal(ev.kind, TLS_EV_ALERT);
    assert_int_equal(ev.alert_level, 2);
    assert_int_equal(ev.alert_desc, 40);
    tls_reader_free(&r);
}

static void test_not_tls(void **state)
{
    (void)state;
    static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n";
    struct tls_reader r;
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, http, sizeof(http) - 1), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_RECORD);
    tls_reader_free(&r);

    /* SSL 2 / other major version */
    static const uint8_t v2[] = {22, 2, 0, 0, 1, 0};
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, v2, sizeof(v2)), 0);
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_RECORD);
    tls_reader_free(&r);
}

static void test_oversized_record(void **state)
{
    (void)state;
    uint8_t hdr[5] = {22, 3, 3, 0, 0};
    size_t len = TLS_RECORD_MAX_BODY + 1;
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
    struct tls_reader r;
    tls_reader_init(&r, 1 << 20);
    assert_int_equal(tls_reader_feed(&r, hdr, 5), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_RECORD);
    tls_reader_free(&r);
}

static void test_limits(void **state)
{
    (void)state;
    struct tls_reader r;
    uint8_t wire[64];
    /* a message header that announces more than the limit */
    static const uint8_t big[] = {13, 0x01, 0x00, 0x00};
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, big, sizeof(big));
    tls_reader_init(&r, 4096);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_LIMIT);
    /* the message that caused it: its header, what it announced, none of its body */
    uint8_t type = 0;
    size_t announced = 0, have = 1;
    assert_true(tls_reader_partial(&r, &type, &announced, &have));
    assert_int_equal(type, 13);
    assert_int_equal(announced, 0x010000);
    assert_int_equal(have, 0);
    tls_reader_free(&r);
    /* more bytes than the limit */
    tls_reader_init(&r, 8);
    assert_int_equal(tls_reader_feed(&r, wire, 8), 0);
    assert_int_equal(tls_reader_feed(&r, wire, 1), TLS_E_LIMIT);
    tls_reader_free(&r);
}

/* The message being reassembled: none before its 4-byte header, then its header and the bytes
 * of its body so far, none once it is whole. */
static void test_partial_message_header_and_body_so_far(void **state)
{
    (void)state;
    struct tls_reader r;
    uint8_t msg[64], wire[128];
    size_t n = put_message(msg, 11, 40);
    tls_reader_init(&r, 4096);
    uint8_t type;
    size_t announced, have;
    struct tls_event ev;
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, msg, 3);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_false(tls_reader_partial(&r, &type, &announced, &have));
    w = testutil_record(wire, TLS_CT_HANDSHAKE, msg + 3, 20);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_true(tls_reader_partial(&r, &type, &announced, &have));
    assert_int_equal(type, 11);
    assert_int_equal(announced, 40);
    assert_int_equal(have, 19);
    w = testutil_record(wire, TLS_CT_HANDSHAKE, msg + 23, n - 23);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    assert_int_equal(tls_reader_next(&r, &ev), 0);
    assert_int_equal(ev.kind, TLS_EV_HANDSHAKE);
    assert_false(tls_reader_partial(&r, &type, &announced, &have));
    tls_reader_free(&r);
}

static void test_interleaved(void **state)
{
    (void)state;
    uint8_t msg[32], wire[64];
    size_t n = put_message(msg, 11, 20);
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, msg, 10); /* half a message */
    static const uint8_t alert[] = {1, 112};
    w += testutil_record(wire + w, TLS_CT_ALERT, alert, 2);
    (void)n;
    struct tls_reader r;
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_UNEXPECTED);
    tls_reader_free(&r);
}

static void test_empty_handshake_record(void **state)
{
    (void)state;
    uint8_t wire[8];
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, NULL, 0);
    struct tls_reader r;
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_RECORD);
    tls_reader_free(&r);
}

/* Toy protection: body XOR 0x5a, last byte the inner type (like TLS 1.3's inner plaintext). */
static int toy_open(void *ctx, const uint8_t hdr[5], uint8_t *p, size_t len, uint8_t *type,
                    size_t *plain_len)
{
    int *calls = ctx;
    (void)hdr;
    (*calls)++;
    if (len < 1)
        return TLS_E_DECRYPT;
    for (size_t i = 0; i < len; i++)
        p[i] ^= 0x5a;
    *type = p[len - 1];
    *plain_len = len - 1;
    return 0;
}

static void test_protected(void **state)
{
    (void)state;
    uint8_t msg[64], inner[80], wire[128];
    size_t n = put_message(msg, 8, 6);
    n += put_message(msg + n, 13, 9);
    memcpy(inner, msg, n);
    inner[n] = TLS_CT_HANDSHAKE;
    for (size_t i = 0; i <= n; i++)
        inner[i] ^= 0x5a;
    static const uint8_t ccs[] = {1};
    size_t w = testutil_record(wire, TLS_CT_CHANGE_CIPHER_SPEC, ccs, 1);
    w += testutil_record(wire + w, TLS_CT_APPLICATION_DATA, inner, n + 1);

    struct tls_reader r;
    int calls = 0;
    tls_reader_init(&r, 1024);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    expect_kind(&r, TLS_EV_CCS);
    expect_kind(&r, TLS_EV_NEED_KEYS);
    expect_kind(&r, TLS_EV_NEED_KEYS); /* stays until the keys come */
    tls_reader_set_opener(&r, toy_open, &calls, false);
    expect_message(&r, 8, 6);
    expect_message(&r, 13, 9);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_int_equal(calls, 1);
    tls_reader_free(&r);
}

/* RFC 8446 5: change_cipher_spec is one byte of value 1 and never protected. */
static void test_ccs_checked(void **state)
{
    (void)state;
    static const uint8_t bodies[][2] = {{2, 0}, {1, 1}};
    static const size_t lens[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        uint8_t wire[16];
        size_t w = testutil_record(wire, TLS_CT_CHANGE_CIPHER_SPEC, bodies[i], lens[i]);
        struct tls_reader r;
        tls_reader_init(&r, 1024);
        assert_int_equal(tls_reader_feed(&r, wire, w), 0);
        struct tls_event ev;
        assert_int_equal(tls_reader_next(&r, &ev), TLS_E_UNEXPECTED);
        tls_reader_free(&r);
    }
    /* protected: an inner plaintext of type change_cipher_spec */
    uint8_t inner[2] = {1 ^ 0x5a, TLS_CT_CHANGE_CIPHER_SPEC ^ 0x5a}, wire[16];
    size_t w = testutil_record(wire, TLS_CT_APPLICATION_DATA, inner, 2);
    struct tls_reader r;
    int calls = 0;
    tls_reader_init(&r, 1024);
    tls_reader_set_opener(&r, toy_open, &calls, false);
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_UNEXPECTED);
    tls_reader_free(&r);
}

/* Once locked (after a ServerHello of TLS 1.2 and earlier), a record of another version is an
 * error that leaves the record unread; records of the locked version go on. */
static void test_version_lock(void **state)
{
    (void)state;
    uint8_t rec[64], msg[16];
    size_t m = put_message(msg, 11, 3);
    struct tls_reader r;
    tls_reader_init(&r, 4096);
    size_t n = testutil_record(rec, 22, msg, m);
    rec[2] = 1; /* 3.1 before the lock: read */
    assert_int_equal(tls_reader_feed(&r, rec, n), 0);
    expect_message(&r, 11, 3);
    tls_reader_lock_version(&r, 0x0303);
    n = testutil_record(rec, 22, msg, m);
    assert_int_equal(tls_reader_feed(&r, rec, n), 0);
    expect_message(&r, 11, 3);
    rec[2] = 1;
    assert_int_equal(tls_reader_feed(&r, rec, n), 0);
    struct tls_event ev;
    assert_int_equal(tls_reader_next(&r, &ev), TLS_E_RECORD_VERSION);
    size_t left;
    const uint8_t *u = tls_reader_unread(&r, &left);
    assert_int_equal(left, n);
    assert_int_equal(u[2], 1);
    tls_reader_free(&r);
}

/* A reader waiting for the rest of a flight holds only the bytes it has not read, in buffers
 * no larger than they need (to the next 256 bytes); once it has read everything it was given it
 * holds none at all (tls/wire/record.c: a probe in flight keeps no empty buffers). */
static void test_buffers_only_as_needed(void **state)
{
    (void)state;
    uint8_t msg[4 + 3000], wire[2 * (5 + sizeof(msg))];
    size_t w = testutil_record(wire, TLS_CT_HANDSHAKE, msg, put_message(msg, 2, 70));
    size_t first = w;
    w += testutil_record(wire + w, TLS_CT_HANDSHAKE, msg, put_message(msg, 11, 3000));
    struct tls_reader r;
    tls_reader_init(&r, 1 << 16);
    assert_int_equal(tls_reader_feed(&r, wire, w - 1), 0); /* all but the last byte */
    assert_true(r.in_alloc >= w - 1 && r.in_alloc < w - 1 + 256);
    expect_message(&r, 2, 70);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_int_equal(tls_reader_pending(&r), w - 1 - first);
    assert_null(r.hs); /* the first message was read: nothing to reassemble */
    assert_int_equal(r.hs_alloc, 0);
    assert_int_equal(tls_reader_feed(&r, wire + w - 1, 1), 0);
    expect_message(&r, 11, 3000);
    expect_kind(&r, TLS_EV_NEED_MORE);
    assert_null(r.in);
    assert_int_equal(r.in_alloc, 0);
    assert_null(r.hs);
    assert_int_equal(r.hs_alloc, 0);
    /* and it reads on as before */
    w = testutil_record(wire, TLS_CT_HANDSHAKE, msg, put_message(msg, 14, 0));
    assert_int_equal(tls_reader_feed(&r, wire, w), 0);
    expect_message(&r, 14, 0);
    tls_reader_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_lock),
        cmocka_unit_test(test_coalesced),
        cmocka_unit_test(test_fragmented_large),
        cmocka_unit_test(test_alert),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_oversized_record),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_partial_message_header_and_body_so_far),
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_empty_handshake_record),
        cmocka_unit_test(test_protected),
        cmocka_unit_test(test_ccs_checked),
        cmocka_unit_test(test_buffers_only_as_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
