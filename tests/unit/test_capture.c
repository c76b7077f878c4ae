/* Unit tests for tls/capture.c and the observation built from it: a TLS 1.2 flight split at
 * every byte, alerts, EOF, HelloRetryRequest, the TLS 1.3 flight of RFC 8448 section 6 (client
 * authentication) opened with its server handshake secret, TLS 1.0 and 1.1 flights, records
 * whose version disagrees with the ServerHello, and ServerHellos of versions not offered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/capture.h"
#include "tls/wire/error.h"
#include "tls/observe.h"

#define DN_A 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x41

static const uint8_t server_hello12[] = {
    0x02, 0x00, 0x00, 0x26, 0x03, 0x03, /* ServerHello, legacy_version */
    1,    2,    3,    4,    5,    6,    7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17,   18,   19,   20,   21,   22,   23, 24, 25, 26, 27, 28, 29, 30, 31, 32, /* random */
    0x00, 0xc0, 0x2f, 0x00, /* no session id, suite, compression */
};
static const uint8_t certificate12[] = {
    0x0b, 0x00, 0x00, 0x09, 0x00, 0x00, 0x06, 0x00, 0x00, 0x03, 0xde, 0xad, 0x01,
};
static const uint8_t certreq12[] = {
    0x0d, 0x00, 0x00, 0x18, 0x01, 0x40, 0x00, 0x02, 0x04, 0x03, 0x00, 0x10, 0x00, 0x0e, DN_A,
};
static const uint8_t done12[] = {0x0e, 0x00, 0x00, 0x00};

/* The TLS 1.2 flight, each message in its own record, optionally without the request. */
static size_t flight12(uint8_t *out, bool with_request)
{
    size_t n = testutil_record(out, 22, server_hello12, sizeof(server_hello12));
    n += testutil_record(out + n, 22, certificate12, sizeof(certificate12));
    if (with_request)
        n += testutil_record(out + n, 22, certreq12, sizeof(certreq12));
    n += testutil_record(out + n, 22, done12, sizeof(done12));
    return n;
}

static void check_request12(const struct tls_capture *c)
{
    assert_int_equal(c->status, TLS_CAPTURE_DONE);
    assert_int_equal(c->version, 0x0303);
    assert_int_equal(c->cipher_suite, 0xc02f);
    assert_true(c->has_certreq);
    assert_int_equal(c->certreq_len, sizeof(certreq12) - 4);
    assert_memory_equal(c->certreq, certreq12 + 4, c->certreq_len);
    assert_int_equal(c->cert_len, 3);
    assert_int_equal(c->cert_count, 1);
}

static void test_tls12_every_split(void **state)
{
    (void)state;
    uint8_t wire[256];
    size_t n = flight12(wire, true);
    for (size_t cut = 0; cut <= n; cut++) {
        struct tls_capture c;
        tls_capture_init(&c, 4096);
        tls_capture_feed(&c, wire, cut);
        if (cut < n)
            assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
        tls_capture_feed(&c, wire + cut, n - cut);
        check_request12(&c);
        tls_capture_free(&c);
    }
    /* and one byte at a time */
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    for (size_t i = 0; i < n; i++)
        tls_capture_feed(&c, wire + i, 1);
    check_request12(&c);

    /* the observation made from it */
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_int_equal(o.ca_count, 1);
    assert_int_equal(o.ca_bytes, 14);
    assert_string_equal(o.cas[0].dn, "CN=A");
    assert_false(o.cas[0].malformed);
    assert_int_equal(o.cert_types_len, 1);
    assert_int_equal(o.sigalg_count, 1);
    assert_int_equal(o.sigalgs[0], 0x0403);
    assert_true(o.server_cert.present);
    assert_non_null(o.server_cert.error); /* 3 bytes are no certificate */
    tls_observation_free(&o);
    tls_capture_free(&c);
}

static void test_tls12_no_request(void **state)
{
    (void)state;
    uint8_t wire[256];
    size_t n = flight12(wire, false);
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    assert_false(c.has_certreq);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
    tls_observation_free(&o);
    tls_capture_free(&c);
}

static void test_alerts(void **state)
{
    (void)state;
    uint8_t wire[256];
    size_t n = testutil_record(wire, 22, server_hello12, sizeof(server_hello12));
    static const uint8_t warn[] = {1, 112}; /* unrecognized_name warning: ignored */
    n += testutil_record(wire + n, 21, warn, 2);
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
    static const uint8_t fatal[] = {2, 40};
    n = testutil_record(wire, 21, fatal, 2);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_ALERT);
    assert_int_equal(c.alert_desc, 40);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_ERROR);
    assert_int_equal(o.error_kind, TLS_ERROR_TLS_ALERT);
    assert_int_equal(o.alert, 40);
    assert_non_null(strstr(o.error_message, "handshake_failure"));
    tls_observation_free(&o);
    tls_capture_free(&c);
}

static void test_eof_and_garbage(void **state)
{
    (void)state;
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    uint8_t wire[256];
    size_t n = flight12(wire, true);
    tls_capture_feed(&c, wire, n / 2);
    tls_capture_eof(&c);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_TRUNCATED);
    tls_capture_free(&c);

    tls_capture_init(&c, 4096);
    static const uint8_t junk[] = "SSH-2.0-OpenSSH_9.2\r\n";
    tls_capture_feed(&c, junk, sizeof(junk) - 1);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_RECORD);
    tls_capture_free(&c);
}

static void test_request_then_reset(void **state)
{
    (void)state;
    /* the whole CertificateRequest came, then the connection broke: it still counts */
    uint8_t wire[256];
    size_t n = flight12(wire, true) - (5 + sizeof(done12));
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    tls_capture_eof(&c);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    tls_observation_free(&o);
    tls_capture_free(&c);
}

static void test_capture_limit(void **state)
{
    (void)state;
    uint8_t wire[256];
    size_t n = flight12(wire, true);
    struct tls_capture c;
    tls_capture_init(&c, 60);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_LIMIT);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.error_kind, TLS_ERROR_CAPTURE_LIMIT);
    tls_observation_free(&o);
    tls_capture_free(&c);
}

/* A message that may not come now is refused on its header, before its body: a server that
 * sends a Certificate header first (or bytes whose header is no TLS type) fails at once, whatever
 * length it announces, and the capture names the type. A ServerHello header waits for its body;
 * a ServerHelloDone in a TLS 1.3 flight's place is refused the same way. */
static void test_out_of_turn_header(void **state)
{
    (void)state;
    static const uint8_t heads[][4] = {
        {0x0b, 0x00, 0x40, 0x00}, /* Certificate, 16 KiB announced */
        {0x67, 0x61, 0x72, 0x62}, /* "garb": type 0x67, 6 MiB announced */
        {0x0b, 0xff, 0xff, 0xff}, /* Certificate over the limit: out of turn, not the limit */
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t wire[16];
        size_t n = testutil_record(wire, 22, heads[i], 4);
        struct tls_capture c;
        tls_capture_init(&c, 65536);
        assert_int_equal(tls_capture_feed(&c, wire, n), TLS_CAPTURE_FAILED);
        assert_int_equal(c.err, TLS_E_UNEXPECTED);
        assert_true(c.refused_msg);
        assert_int_equal(c.out_of_turn, heads[i][0]);
        tls_capture_free(&c);
    }
    /* a ServerHello's header: the capture waits for the body */
    uint8_t wire[16];
    size_t n = testutil_record(wire, 22, server_hello12, 4);
    struct tls_capture c;
    tls_capture_init(&c, 65536);
    assert_int_equal(tls_capture_feed(&c, wire, n), TLS_CAPTURE_RUNNING);
    assert_false(c.refused_msg);
    /* over the limit: the limit is the reason */
    tls_capture_free(&c);
    static const uint8_t big[4] = {0x02, 0xff, 0xff, 0xff};
    n = testutil_record(wire, 22, big, 4);
    tls_capture_init(&c, 65536);
    assert_int_equal(tls_capture_feed(&c, wire, n), TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_LIMIT);
    assert_false(c.refused_msg);
    tls_capture_free(&c);
}

static void test_two_hello_retries(void **state)
{
    (void)state;
    uint8_t hrr[sizeof(server_hello12)];
    memcpy(hrr, server_hello12, sizeof(hrr));
    static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    };
    memcpy(hrr + 6, hrr_random, 32);
    uint8_t wire[256];
    size_t n = testutil_record(wire, 22, hrr, sizeof(hrr));
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
    assert_int_equal(c.hello_retries, 1);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_UNEXPECTED);
    tls_capture_free(&c);
}

/* RFC 8448 section 6: the server asks for a client certificate without certificate_authorities.
 * The secret arrives after the records, as it does from mbedTLS. */
static void run_rfc8448(size_t step, bool secret_first)
{
    size_t sh_len, fl_len, sec_len, cr_len;
    uint8_t *sh = testutil_fixture("tls13/rfc8448_clientauth_server_hello_record.hex", &sh_len);
    uint8_t *fl = testutil_fixture("tls13/rfc8448_clientauth_server_flight_record.hex", &fl_len);
    uint8_t *sec = testutil_fixture("tls13/rfc8448_clientauth_server_hs_secret.hex", &sec_len);
    uint8_t *cr = testutil_fixture("tls13/rfc8448_clientauth_certificate_request.hex", &cr_len);
    size_t n = sh_len + fl_len;
    uint8_t *wire = malloc(n);
    memcpy(wire, sh, sh_len);
    memcpy(wire + sh_len, fl, fl_len);

    struct tls_capture c;
    tls_capture_init(&c, 1 << 16);
    if (secret_first)
        tls_capture_set_secret(&c, sec, sec_len); /* before the ServerHello: kept until then */
    for (size_t i = 0; i < n; i += step)
        tls_capture_feed(&c, wire + i, n - i < step ? n - i : step);
    if (!secret_first) {
        assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
        assert_true(tls_capture_waiting_keys(&c));
        tls_capture_set_secret(&c, sec, sec_len);
    }
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    assert_int_equal(c.version, 0x0304);
    assert_int_equal(c.cipher_suite, 0x1301);
    assert_true(c.has_certreq);
    assert_int_equal(c.certreq_len, cr_len - 4);
    assert_memory_equal(c.certreq, cr + 4, cr_len - 4);
    assert_int_equal(c.cert_count, 1);

    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_false(o.has_cas);
    assert_int_equal(o.ca_count, 0);
    assert_int_equal(o.sigalg_count, 15);
    assert_true(o.server_cert.present);
    assert_null(o.server_cert.error);
    assert_string_equal(o.server_cert.subject, "CN=ecdsa256");
    tls_observation_free(&o);
    tls_capture_free(&c);
    free(wire);
    free(sh);
    free(fl);
    free(sec);
    free(cr);
}

static void test_tls13_rfc8448(void **state)
{
    (void)state;
    run_rfc8448(1 << 20, false);
    run_rfc8448(1, false);
    run_rfc8448(7, true);
}

static void test_tls13_tampered(void **state)
{
    (void)state;
    size_t sh_len, fl_len, sec_len;
    uint8_t *sh = testutil_fixture("tls13/rfc8448_clientauth_server_hello_record.hex", &sh_len);
    uint8_t *fl = testutil_fixture("tls13/rfc8448_clientauth_server_flight_record.hex", &fl_len);
    uint8_t *sec = testutil_fixture("tls13/rfc8448_clientauth_server_hs_secret.hex", &sec_len);
    fl[100] ^= 1;
    struct tls_capture c;
    tls_capture_init(&c, 1 << 16);
    tls_capture_feed(&c, sh, sh_len);
    tls_capture_feed(&c, fl, fl_len);
    tls_capture_set_secret(&c, sec, sec_len);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_DECRYPT);
    tls_capture_free(&c);
    free(sh);
    free(fl);
    free(sec);
}

/* A TLS 1.2 CertificateRequest of about 60 KiB (more than mbedTLS's 16 KiB input buffer and
 * three records), with a malformed name in the middle: every name is kept, the bad one as hex. */
static void test_tls12_60k_list_and_malformed_name(void **state)
{
    (void)state;
    static const uint8_t dn_a[] = {DN_A};
    static const uint8_t bad[] = {0x30, 0x05, 0x31, 0x03, 0x30, 0x01}; /* truncated inside */
    size_t n_names = 3900;
    size_t list_len = (n_names - 1) * (2 + sizeof(dn_a)) + 2 + sizeof(bad);
    size_t body_len = 1 + 1 + 2 + 2 + 2 + list_len;
    uint8_t *msg = malloc(4 + body_len);
    size_t m = 0;
    msg[m++] = 13;
    msg[m++] = (uint8_t)(body_len >> 16);
    msg[m++] = (uint8_t)(body_len >> 8);
    msg[m++] = (uint8_t)body_len;
    msg[m++] = 1;
    msg[m++] = 64; /* ecdsa_sign */
    msg[m++] = 0;
    msg[m++] = 2;
    msg[m++] = 4;
    msg[m++] = 3;
    msg[m++] = (uint8_t)(list_len >> 8);
    msg[m++] = (uint8_t)list_len;
    for (size_t i = 0; i < n_names; i++) {
        const uint8_t *dn = i == 2000 ? bad : dn_a;
        size_t len = i == 2000 ? sizeof(bad) : sizeof(dn_a);
        msg[m++] = 0;
        msg[m++] = (uint8_t)len;
        memcpy(msg + m, dn, len);
        m += len;
    }
    assert_int_equal(m, 4 + body_len);
    assert_true(list_len > 60 * 1024 - 1024 && list_len < 65535);

    uint8_t *wire = malloc(m + 1024);
    size_t w = testutil_record(wire, 22, server_hello12, sizeof(server_hello12));
    for (size_t off = 0; off < m; off += 16384) {
        size_t chunk = m - off < 16384 ? m - off : 16384;
        w += testutil_record(wire + w, 22, msg + off, chunk);
    }
    w += testutil_record(wire + w, 22, done12, sizeof(done12));

    struct tls_capture c;
    tls_capture_init(&c, 256 * 1024);
    tls_capture_feed(&c, wire, w);
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    assert_true(c.has_certreq);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_int_equal(o.ca_count, n_names);
    assert_int_equal(o.ca_bytes, (n_names - 1) * sizeof(dn_a) + sizeof(bad));
    assert_true(o.cas[2000].malformed);
    assert_string_equal(o.cas[2000].dn, "300531033001");
    assert_int_equal(o.cas[2000].der_len, sizeof(bad));
    assert_false(o.cas[1999].malformed);
    assert_string_equal(o.cas[3899].dn, "CN=A");
    tls_observation_free(&o);
    tls_capture_free(&c);

    /* the same flight against a 32 KiB limit: a capture_limit error, not a truncated list */
    tls_capture_init(&c, 32 * 1024);
    tls_capture_feed(&c, wire, w);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_LIMIT);
    assert_false(c.has_certreq);
    tls_capture_free(&c);
    free(wire);
    free(msg);
}

/* A TLS 1.3 ServerHello followed by plaintext handshake messages: whoever sent them did not
 * hold the keys, so they must not become a CertificateRequest. */
static void test_tls13_plaintext_after_hello(void **state)
{
    (void)state;
    size_t sh_len;
    uint8_t *sh = testutil_fixture("tls13/rfc8448_clientauth_server_hello_record.hex", &sh_len);
    uint8_t wire[512];
    memcpy(wire, sh, sh_len);
    static const uint8_t cr13[] = {0x0d, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x08, 0x00,
                                   0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03};
    size_t n = sh_len + testutil_record(wire + sh_len, 22, cr13, sizeof(cr13));
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_UNEXPECTED);
    assert_false(c.has_certreq);
    tls_capture_free(&c);
    free(sh);
}

/* A flight complete within the limit counts even when the read that brought it goes past it. */
static void test_limit_after_complete_flight(void **state)
{
    (void)state;
    uint8_t wire[512];
    size_t n = flight12(wire, true);
    memset(wire + n, 0x17, 200); /* whatever follows in the same read */
    struct tls_capture c;
    tls_capture_init(&c, n + 10);
    tls_capture_feed(&c, wire, n + 200);
    check_request12(&c);
    tls_capture_free(&c);
}

/* The most names a list can hold: 32,767 empty ones in 65,534 bytes. Every one is kept (as a
 * malformed entry) within the observation's memory cap. */
static void test_most_names(void **state)
{
    (void)state;
    size_t n_names = 32767, list_len = 2 * n_names;
    size_t body_len = 1 + 1 + 2 + 2 + 2 + list_len;
    uint8_t *body = calloc(1, body_len);
    body[0] = 1;
    body[1] = 64;
    body[3] = 2;
    body[4] = 4;
    body[5] = 3;
    body[6] = (uint8_t)(list_len >> 8);
    body[7] = (uint8_t)list_len;
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_set_certreq(&o, 0x0303, body, body_len), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_int_equal(o.ca_count, n_names);
    assert_true(o.cas[n_names - 1].malformed);
    assert_true(o.arena.used <= TLS_OBSERVATION_ARENA_CAP);
    tls_observation_free(&o);
    free(body);
}

/* A record of any version (testutil_record writes 3.3). */
static size_t record_v(uint8_t *out, uint8_t type, uint16_t version, const uint8_t *body,
                       size_t len)
{
    size_t n = testutil_record(out, type, body, len);
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
    return n;
}

/* RFC 4346 7.4.4: certificate_types, certificate_authorities; no signature algorithms */
static const uint8_t certreq10[] = {
    0x0d, 0x00, 0x00, 0x15, 0x02, 0x01, 0x02, 0x00, 0x10, 0x00, 0x0e, DN_A,
};

/* A flight of version v: ServerHello of v (its record says hello_record), then Certificate,
 * CertificateRequest (1.0 layout below 1.2) and ServerHelloDone in records of rest_record. */
static size_t flight_v(uint8_t *out, uint16_t v, uint16_t hello_record, uint16_t rest_record)
{
    uint8_t sh[sizeof(server_hello12)];
    memcpy(sh, server_hello12, sizeof(sh));
    sh[4] = (uint8_t)(v >> 8);
    sh[5] = (uint8_t)v;
    size_t n = record_v(out, 22, hello_record, sh, sizeof(sh));
    n += record_v(out + n, 22, rest_record, certificate12, sizeof(certificate12));
    if (v < 0x0303)
        n += record_v(out + n, 22, rest_record, certreq10, sizeof(certreq10));
    else
        n += record_v(out + n, 22, rest_record, certreq12, sizeof(certreq12));
    n += record_v(out + n, 22, rest_record, done12, sizeof(done12));
    return n;
}

/* TLS 1.0 and 1.1: the whole flight in plaintext, the request without signature algorithms. */
static void test_tls10_tls11(void **state)
{
    (void)state;
    for (uint16_t v = 0x0301; v <= 0x0302; v++) {
        uint8_t wire[256];
        size_t n = flight_v(wire, v, v, v);
        for (size_t cut = 0; cut <= n; cut++) {
            struct tls_capture c;
            tls_capture_init(&c, 4096);
            tls_capture_offer(&c, 0x0301, 0x0303);
            tls_capture_feed(&c, wire, cut);
            tls_capture_feed(&c, wire + cut, n - cut);
            assert_int_equal(c.status, TLS_CAPTURE_DONE);
            assert_int_equal(c.version, v);
            assert_true(c.has_certreq);
            struct tls_observation o;
            tls_observation_init(&o);
            assert_int_equal(tls_observation_from_capture(&o, &c), 0);
            assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
            assert_int_equal(o.version, v);
            assert_int_equal(o.ca_count, 1);
            assert_string_equal(o.cas[0].dn, "CN=A");
            assert_int_equal(o.cert_types_len, 2);
            assert_int_equal(o.sigalg_count, 0);
            assert_int_equal(o.certreq_quirks, 0);
            tls_observation_free(&o);
            tls_capture_free(&c);
        }
    }
}

/* RFC 5246 E.1: after the ServerHello every record carries the version it chose; the record of
 * the ServerHello itself may say another (clients send 3.1 there whatever they offer). */
static void test_record_version(void **state)
{
    (void)state;
    uint8_t wire[256];
    struct tls_capture c;
    size_t n = flight_v(wire, 0x0303, 0x0301, 0x0303);
    tls_capture_init(&c, 4096);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    tls_capture_free(&c);

    static const uint16_t bad[][2] = {{0x0301, 0x0303}, {0x0303, 0x0301}, {0x0302, 0x0301}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = flight_v(wire, bad[i][0], bad[i][0], bad[i][1]);
        tls_capture_init(&c, 4096);
        tls_capture_feed(&c, wire, n);
        assert_int_equal(c.status, TLS_CAPTURE_FAILED);
        assert_int_equal(c.err, TLS_E_RECORD_VERSION);
        assert_int_equal(c.version, bad[i][0]);
        size_t left;
        const uint8_t *h = tls_reader_unread(&c.rd, &left);
        assert_true(left >= 3);
        assert_int_equal(h[1] << 8 | h[2], bad[i][1]); /* the record that broke it */
        tls_capture_free(&c);
    }
    /* TLS 1.3 records say 1.2 whatever was negotiated: not locked */
    tls_capture_init(&c, 4096);
    static const uint8_t ext13[] = {0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
    uint8_t sh[sizeof(server_hello12) + sizeof(ext13)];
    memcpy(sh, server_hello12, sizeof(server_hello12));
    memcpy(sh + sizeof(server_hello12), ext13, sizeof(ext13));
    sh[3] = (uint8_t)(sizeof(sh) - 4);
    n = record_v(wire, 22, 0x0303, sh, sizeof(sh));
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
    assert_int_equal(c.version, 0x0304);
    assert_int_equal(c.rd.version_lock, 0);
    tls_capture_free(&c);
}

/* A ServerHello above the versions offered, or below TLS 1.0, or below TLS 1.3 to a ClientHello
 * of 1.3 only, ends the capture with TLS_E_VERSION and keeps what the server chose; another one
 * below the lowest offered is read. */
static void test_version_not_offered(void **state)
{
    (void)state;
    static const struct {
        uint16_t min, max, chosen;
        int err;
    } cases[] = {
        {0x0301, 0x0301, 0x0302, TLS_E_VERSION}, /* 1.1 to a 1.0 probe */
        {0x0301, 0x0302, 0x0303, TLS_E_VERSION}, /* 1.2 to a 1.1 probe */
        {0x0301, 0x0303, 0x0300, TLS_E_VERSION}, /* SSL 3.0 */
        {0x0301, 0x0303, 0x0200, TLS_E_VERSION}, /* nonsense */
        {0x0303, 0x0303, 0x0301, 0},             /* mbedTLS offered 1.2 only: read all the same */
        {0x0304, 0x0304, 0x0303, TLS_E_VERSION}, /* 1.2 to a 1.3-only probe: not its suites */
        {0x0304, 0x0304, 0x0301, TLS_E_VERSION}, /* 1.0 to it (a server that ignores
                                                  * supported_versions) */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t wire[256];
        size_t n = flight_v(wire, cases[i].chosen, 0x0301, cases[i].chosen);
        struct tls_capture c;
        tls_capture_init(&c, 4096);
        tls_capture_offer(&c, cases[i].min, cases[i].max);
        tls_capture_feed(&c, wire, n);
        if (cases[i].err) {
            assert_int_equal(c.status, TLS_CAPTURE_FAILED);
            assert_int_equal(c.err, cases[i].err);
            assert_false(c.has_certreq);
        } else {
            assert_int_equal(c.status, TLS_CAPTURE_DONE);
        }
        assert_true(c.have_hello);
        assert_int_equal(c.version, cases[i].chosen);
        assert_int_equal(c.cipher_suite, 0xc02f);
        tls_capture_free(&c);
    }
    /* a TLS 1.3 ServerHello (supported_versions) to a ClientHello of 1.2 and earlier */
    static const uint8_t ext13[] = {0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
    uint8_t sh[sizeof(server_hello12) + sizeof(ext13)], wire[256];
    memcpy(sh, server_hello12, sizeof(server_hello12));
    memcpy(sh + sizeof(server_hello12), ext13, sizeof(ext13));
    sh[3] = (uint8_t)(sizeof(sh) - 4);
    size_t n = record_v(wire, 22, 0x0303, sh, sizeof(sh));
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    tls_capture_offer(&c, 0x0301, 0x0303);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_VERSION);
    assert_int_equal(c.version, 0x0304);
    tls_capture_free(&c);
    /* a HelloRetryRequest is a TLS 1.3 message: to a TLS 1.2 ClientHello it is a ServerHello
     * of 1.3 */
    static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    };
    memcpy(sh + 6, hrr_random, 32);
    n = record_v(wire, 22, 0x0303, sh, sizeof(sh));
    tls_capture_init(&c, 4096);
    tls_capture_offer(&c, 0x0301, 0x0303);
    tls_capture_feed(&c, wire, n);
    assert_int_equal(c.status, TLS_CAPTURE_FAILED);
    assert_int_equal(c.err, TLS_E_VERSION);
    assert_int_equal(c.hello_retries, 0);
    tls_capture_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_every_split),
        cmocka_unit_test(test_tls12_no_request),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_eof_and_garbage),
        cmocka_unit_test(test_request_then_reset),
        cmocka_unit_test(test_capture_limit),
        cmocka_unit_test(test_out_of_turn_header),
        cmocka_unit_test(test_two_hello_retries),
        cmocka_unit_test(test_tls13_rfc8448),
        cmocka_unit_test(test_tls13_tampered),
        cmocka_unit_test(test_tls12_60k_list_and_malformed_name),
        cmocka_unit_test(test_tls13_plaintext_after_hello),
        cmocka_unit_test(test_limit_after_complete_flight),
        cmocka_unit_test(test_most_names),
        cmocka_unit_test(test_tls10_tls11),
        cmocka_unit_test(test_record_version),
        cmocka_unit_test(test_version_not_offered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
