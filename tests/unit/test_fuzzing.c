/* Unit tests for the null record protection of the fuzz targets (tls/fuzzing.h), linked with the
 * tls_fuzz library: built and run only with -Dfuzzing_engine=libfuzzer. Records in the null
 * format open to their plaintext whatever the key, with the framing checks kept (lengths, TLS 1.3
 * padding and content type, CBC padding), and the RFC 8448 client-auth flight in that format
 * reaches the CertificateRequest through the capture. What tests/fuzz/nullseal.py writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/testutil.h"
#include "tls/capture.h"
#include "tls/crypt12.h"
#include "tls/crypt13.h"
#include "tls/observe.h"
#include "tls/wire/error.h"

static const uint8_t key[48] = {9, 9, 9}; /* any key: nothing is decrypted */

/* The 5-octet header of a record of type `type` around len octets. */
static void header(uint8_t hdr[5], uint8_t type, size_t len)
{
    hdr[0] = type;
    hdr[1] = 3;
    hdr[2] = 3;
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
}

static void test_tls13(void **state)
{
    (void)state;
    struct tls_crypt13 *c;
    assert_int_equal(tls_crypt13_new(&c, 0x1301, key, 32), 0);
    /* TLSInnerPlaintext "hello" || handshake || two zeros of padding, then a 16-octet tag */
    uint8_t rec[5 + 8 + 16] = {0};
    memcpy(rec + 5, "hello\x16", 6);
    uint8_t type;
    size_t n;
    for (int seq = 0; seq < 2; seq++) {
        uint8_t body[sizeof(rec) - 5];
        memcpy(body, rec + 5, sizeof(body));
        header(rec, 23, sizeof(body));
        assert_int_equal(tls_crypt13_open(c, rec, body, sizeof(body), &type, &n), 0);
        assert_int_equal(type, 22);
        assert_int_equal(n, 5);
        assert_memory_equal(body, "hello", 5);
    }
    /* the framing is still checked: only padding, a tag without room for a type, a bad length */
    uint8_t zeros[24] = {0};
    header(rec, 23, sizeof(zeros));
    assert_int_equal(tls_crypt13_open(c, rec, zeros, sizeof(zeros), &type, &n), TLS_E_DECRYPT);
    header(rec, 23, 16);
    assert_int_equal(tls_crypt13_open(c, rec, zeros, 16, &type, &n), TLS_E_RECORD);
    assert_int_equal(tls_crypt13_open(c, rec, zeros, 17, &type, &n), TLS_E_RECORD);
    tls_crypt13_free(c);
    /* CCM_8: an 8-octet tag */
    assert_int_equal(tls_crypt13_new(&c, 0x1305, key, 32), 0);
    uint8_t short_tag[] = {'x', 21, 0, 0, 0, 0, 0, 0, 0, 0};
    header(rec, 23, sizeof(short_tag));
    assert_int_equal(tls_crypt13_open(c, rec, short_tag, sizeof(short_tag), &type, &n), 0);
    assert_int_equal(type, 21);
    assert_int_equal(n, 1);
    tls_crypt13_free(c);
}

static void open12(uint16_t suite, bool etm, uint8_t *body, size_t len, int want, size_t want_n)
{
    static const uint8_t random[32];
    struct tls_crypt12 *c;
    assert_int_equal(tls_crypt12_new(&c, suite, MBEDTLS_SSL_TLS_PRF_SHA256, key, random, random),
                     0);
    assert_int_equal(tls_crypt12_set_etm(c, etm), 0);
    uint8_t hdr[5], type = 0;
    size_t n = 0;
    header(hdr, 22, len);
    assert_int_equal(tls_crypt12_open(c, hdr, body, len, &type, &n), want);
    if (want == 0) {
        assert_int_equal(type, 22);
        assert_int_equal(n, want_n);
        assert_memory_equal(body, "hello", want_n);
    }
    tls_crypt12_free(c);
}

static void test_tls12(void **state)
{
    (void)state;
    /* GCM: explicit nonce, plaintext, tag */
    uint8_t gcm[8 + 5 + 16] = {0};
    memcpy(gcm + 8, "hello", 5);
    open12(0xC02F, false, gcm, sizeof(gcm), 0, 5);
    /* ChaCha20-Poly1305: plaintext, tag */
    uint8_t chacha[5 + 16] = {0};
    memcpy(chacha, "hello", 5);
    open12(0xCCA8, false, chacha, sizeof(chacha), 0, 5);
    /* CBC, MAC-then-encrypt, HMAC-SHA1: IV, plaintext, MAC, padding 6 x 6, padding length 6 */
    uint8_t mte[16 + 32] = {0};
    memcpy(mte + 16, "hello", 5);
    memset(mte + 16 + 25, 6, 7);
    open12(0xC013, false, mte, sizeof(mte), 0, 5);
    mte[16 + 27] = 5; /* the padding is still checked */
    open12(0xC013, false, mte, sizeof(mte), TLS_E_DECRYPT, 0);
    /* CBC, encrypt-then-MAC, HMAC-SHA256: IV, plaintext, padding 10 x 10, length 10, MAC */
    uint8_t etm[16 + 16 + 32] = {0};
    memcpy(etm + 16, "hello", 5);
    memset(etm + 16 + 5, 10, 11);
    open12(0xC027, true, etm, sizeof(etm), 0, 5);
    open12(0xC027, true, etm, sizeof(etm) - 1, TLS_E_RECORD, 0); /* misaligned */
}

/* RFC 8448 section 6's ServerHello, then its encrypted flight in the null format: the flight's
 * plaintext, its content type, a zero tag. The same CertificateRequest comes out as test_capture
 * decrypts from the real record (15 signature schemes, no certificate_authorities). */
static void test_capture_reaches_certificate_request(void **state)
{
    (void)state;
    size_t sh_len, pt_len;
    uint8_t *sh = testutil_fixture("tls13/rfc8448_clientauth_server_hello_record.hex", &sh_len);
    uint8_t *pt = testutil_fixture("tls13/rfc8448_clientauth_flight_plaintext.hex", &pt_len);
    size_t body = pt_len + 1 + 16;
    uint8_t *wire = calloc(1, sh_len + 5 + body);
    memcpy(wire, sh, sh_len);
    header(wire + sh_len, 23, body);
    memcpy(wire + sh_len + 5, pt, pt_len);
    wire[sh_len + 5 + pt_len] = 22;

    struct tls_capture c;
    tls_capture_init(&c, 1 << 16);
    tls_capture_feed(&c, wire, sh_len + 5 + body);
    assert_true(tls_capture_waiting_keys(&c));
    tls_capture_set_secret(&c, key, 32);
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    struct tls_observation o;
    tls_observation_init(&o);
    assert_int_equal(tls_observation_from_capture(&o, &c), 0);
    assert_int_equal(o.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_int_equal(o.sigalg_count, 15);
    assert_false(o.has_cas);
    tls_observation_free(&o);
    tls_capture_free(&c);
    free(wire);
    free(sh);
    free(pt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls13),
        cmocka_unit_test(test_tls12),
        cmocka_unit_test(test_capture_reaches_certificate_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
