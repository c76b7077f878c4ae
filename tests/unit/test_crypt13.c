/* Unit tests for tls/crypt13.c: the RFC 8448 section 3 records (fixtures/tls13/), and records that
 * this file seals itself with mbedTLS for all five suites under keys computed outside caprobe
 * (OpenSSL's TLS13-KDF), so the key schedule is never checked against itself. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/cipher.h>

#include "testutil.h"
#include "tls/crypt13.h"
#include "tls/wire/error.h"

#define HDR_LEN 5
#define CIPHERTEXT_MAX ((1u << 14) + 256) /* RFC 8446 5.2 */
#define INNER_MAX ((1u << 14) + 1)        /* RFC 8446 5.4 */

/* fixtures/tls13/<name>, decoded from hex. */
static uint8_t *fixture(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tls13/%s", name);
    return testutil_fixture(rel, len);
}

/* ---- an independent sealer -------------------------------------------------------------- */

/* One suite with a made-up secret and the key and iv that OpenSSL 3.0 derives from it:
 *   openssl kdf -keylen N -kdfopt digest:SHA256|SHA384 -kdfopt mode:EXPAND_ONLY \
 *     -kdfopt hexkey:SECRET -kdfopt "prefix:tls13 " -kdfopt label:key|iv TLS13-KDF
 * (cross-checked with pyca/cryptography's HKDFExpand over a hand-built HkdfLabel). */
struct suite_kat {
    uint16_t id;
    mbedtls_cipher_type_t cipher;
    size_t tag_len;
    const char *secret;
    const char *key;
    const char *iv;
};

#define SECRET32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SECRET48                                                                                   \
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d" \
    "6e6f"
#define KEY16_SHA256 "9c9783cf77ea32d44f369da41f19f3cc"
#define KEY32_SHA256 "2ffbc449e87844051c7768f61ffd8ad070830f01ec2c520ef65f08e8296dffa0"
#define IV_SHA256 "2f41c846a431a163814bcd71"
#define KEY32_SHA384 "32f584230ad7bd6ea025e6e6cc16e757358c962ebc8196f5433acae983fb668b"
#define IV_SHA384 "0e7c7d30272bc74a0c9833b2"

static const struct suite_kat kats[] = {
    {0x1301, MBEDTLS_CIPHER_AES_128_GCM, 16, SECRET32, KEY16_SHA256, IV_SHA256},
    {0x1302, MBEDTLS_CIPHER_AES_256_GCM, 16, SECRET48, KEY32_SHA384, IV_SHA384},
    {0x1303, MBEDTLS_CIPHER_CHACHA20_POLY1305, 16, SECRET32, KEY32_SHA256, IV_SHA256},
    {0x1304, MBEDTLS_CIPHER_AES_128_CCM, 16, SECRET32, KEY16_SHA256, IV_SHA256},
    {0x1305, MBEDTLS_CIPHER_AES_128_CCM, 8, SECRET32, KEY16_SHA256, IV_SHA256},
};
#define N_KATS (sizeof(kats) / sizeof(kats[0]))

static const struct suite_kat *kat_for(uint16_t id)
{
    for (size_t i = 0; i < N_KATS; i++) {
        if (kats[i].id == id)
            return &kats[i];
    }
    fail_msg("no KAT for suite %04x", id);
    return NULL;
}

/* Seal TLSInnerPlaintext = content || type || pad zeros (RFC 8446 5.2) at sequence number seq;
 * returns a new buffer with the whole record (header first) and its length in *rec_len. */
static uint8_t *seal(const struct suite_kat *k, uint64_t seq, const uint8_t *content,
                     size_t content_len, uint8_t type, size_t pad, size_t *rec_len)
{
    size_t key_len, iv_len;
    uint8_t *key = testutil_unhex(k->key, &key_len);
    uint8_t *iv = testutil_unhex(k->iv, &iv_len);
    assert_int_equal(iv_len, 12);

    size_t inner_len = content_len + 1 + pad;
    uint8_t *inner = calloc(1, inner_len);
    assert_non_null(inner);
    if (content_len > 0)
        memcpy(inner, content, content_len);
    inner[content_len] = type;

    size_t body_len = inner_len + k->tag_len;
    assert_true(body_len <= 0xffff);
    uint8_t *rec = malloc(HDR_LEN + body_len);
    assert_non_null(rec);
    rec[0] = 23; /* RFC 8446 5.2: opaque_type = application_data */
    rec[1] = 0x03;
    rec[2] = 0x03;
    rec[3] = (uint8_t)(body_len >> 8);
    rec[4] = (uint8_t)body_len;

    uint8_t nonce[12];
    memcpy(nonce, iv, sizeof(nonce));
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));

    mbedtls_cipher_context_t ctx;
    mbedtls_cipher_init(&ctx);
    assert_int_equal(mbedtls_cipher_setup(&ctx, mbedtls_cipher_info_from_type(k->cipher)), 0);
    assert_int_equal(mbedtls_cipher_setkey(&ctx, key, (int)(key_len * 8), MBEDTLS_ENCRYPT), 0);
    size_t olen = 0;
    assert_int_equal(mbedtls_cipher_auth_encrypt_ext(&ctx, nonce, sizeof(nonce), rec, HDR_LEN,
                                                     inner, inner_len, rec + HDR_LEN, body_len,
                                                     &olen, k->tag_len),
                     0);
    assert_int_equal(olen, body_len);
    mbedtls_cipher_free(&ctx);
    free(inner);
    free(iv);
    free(key);
    *rec_len = HDR_LEN + body_len;
    return rec;
}

static struct tls_crypt13 *new_for(const struct suite_kat *k)
{
    size_t secret_len;
    uint8_t *secret = testutil_unhex(k->secret, &secret_len);
    struct tls_crypt13 *c = NULL;
    assert_int_equal(tls_crypt13_new(&c, k->id, secret, secret_len), 0);
    assert_non_null(c);
    free(secret);
    return c;
}

/* Open a whole record (header + body) in place. */
static int open_rec(struct tls_crypt13 *c, uint8_t *rec, size_t rec_len, uint8_t *type,
                    size_t *plain_len)
{
    assert_true(rec_len >= HDR_LEN);
    return tls_crypt13_open(c, rec, rec + HDR_LEN, rec_len - HDR_LEN, type, plain_len);
}

/* ---- RFC 8448 section 3 ----------------------------------------------------------------- */

static struct tls_crypt13 *new_from_fixture(const char *secret_name)
{
    size_t secret_len;
    uint8_t *secret = fixture(secret_name, &secret_len);
    assert_int_equal(secret_len, 32);
    struct tls_crypt13 *c = NULL;
    assert_int_equal(tls_crypt13_new(&c, 0x1301, secret, secret_len), 0);
    free(secret);
    return c;
}

/* The server's encrypted flight opens to EE || Certificate || CertificateVerify || Finished. */
static void test_rfc8448_server_flight(void **state)
{
    (void)state;
    struct tls_crypt13 *c = new_from_fixture("rfc8448_s_hs_traffic.hex");
    size_t rec_len, want_len;
    uint8_t *rec = fixture("rfc8448_s_hs_record.hex", &rec_len);
    uint8_t *want = fixture("rfc8448_s_hs_plaintext.hex", &want_len);
    assert_int_equal(rec_len, 679);
    assert_int_equal(want_len, 657);

    uint8_t type = 0;
    size_t plain_len = 0;
    assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
    assert_int_equal(type, 22);
    assert_int_equal(plain_len, want_len);
    assert_memory_equal(rec + HDR_LEN, want, want_len);

    free(want);
    free(rec);
    tls_crypt13_free(c);
}

/* Three records under one key: NewSessionTicket (seq 0), application data (seq 1), close_notify
 * alert (seq 2). Only a sequence number that advances opens the second and third. */
static void test_rfc8448_sequence(void **state)
{
    (void)state;
    struct tls_crypt13 *c = new_from_fixture("rfc8448_s_ap_traffic.hex");
    size_t nst_len, app_len, alert_len;
    uint8_t *nst = fixture("rfc8448_s_nst_record.hex", &nst_len);
    uint8_t *app = fixture("rfc8448_s_appdata_record.hex", &app_len);
    uint8_t *alert = fixture("rfc8448_s_alert_record.hex", &alert_len);
    uint8_t type = 0;
    size_t plain_len = 0;

    assert_int_equal(open_rec(c, nst, nst_len, &type, &plain_len), 0);
    assert_int_equal(type, 22);
    assert_int_equal(plain_len, 222 - 16 - 1);
    assert_int_equal(nst[HDR_LEN], 4); /* HandshakeType new_session_ticket */

    assert_int_equal(open_rec(c, app, app_len, &type, &plain_len), 0);
    assert_int_equal(type, 23);
    assert_int_equal(plain_len, 50);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(app[HDR_LEN + i], i);

    assert_int_equal(open_rec(c, alert, alert_len, &type, &plain_len), 0);
    assert_int_equal(type, 21);
    assert_int_equal(plain_len, 2);
    assert_int_equal(alert[HDR_LEN], 1);     /* AlertLevel warning */
    assert_int_equal(alert[HDR_LEN + 1], 0); /* close_notify */
    tls_crypt13_free(c);
    free(alert);
    free(app);

    /* The sequence-1 record does not open as the first record of a fresh context. */
    c = new_from_fixture("rfc8448_s_ap_traffic.hex");
    app = fixture("rfc8448_s_appdata_record.hex", &app_len);
    assert_int_equal(open_rec(c, app, app_len, &type, &plain_len), TLS_E_DECRYPT);
    free(app);
    free(nst);
    tls_crypt13_free(c);
}

/* A failed open leaves no plaintext behind and does not consume a sequence number. */
static void test_rfc8448_tampered_tag(void **state)
{
    (void)state;
    struct tls_crypt13 *c = new_from_fixture("rfc8448_s_hs_traffic.hex");
    size_t rec_len, want_len;
    uint8_t *rec = fixture("rfc8448_s_hs_record.hex", &rec_len);
    uint8_t *want = fixture("rfc8448_s_hs_plaintext.hex", &want_len);
    uint8_t *copy = malloc(rec_len);
    assert_non_null(copy);
    uint8_t type = 0;
    size_t plain_len = 0;

    memcpy(copy, rec, rec_len);
    copy[rec_len - 1] ^= 0x01;
    assert_int_equal(open_rec(c, copy, rec_len, &type, &plain_len), TLS_E_DECRYPT);
    assert_memory_not_equal(copy + HDR_LEN, want, 16);

    memcpy(copy, rec, rec_len);
    assert_int_equal(open_rec(c, copy, rec_len, &type, &plain_len), 0);
    assert_int_equal(type, 22);

    free(copy);
    free(want);
    free(rec);
    tls_crypt13_free(c);
}

static void test_rfc8448_tampered_ciphertext(void **state)
{
    (void)state;
    struct tls_crypt13 *c = new_from_fixture("rfc8448_s_hs_traffic.hex");
    size_t rec_len;
    uint8_t *rec = fixture("rfc8448_s_hs_record.hex", &rec_len);
    uint8_t type = 0;
    size_t plain_len = 0;
    rec[HDR_LEN + 100] ^= 0x80;
    assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), TLS_E_DECRYPT);
    free(rec);
    tls_crypt13_free(c);
}

/* RFC 8446 5.2: the header is the additional data; any changed octet fails authentication. */
static void test_rfc8448_tampered_aad(void **state)
{
    (void)state;
    size_t rec_len;
    uint8_t *rec = fixture("rfc8448_s_hs_record.hex", &rec_len);
    uint8_t *copy = malloc(rec_len);
    assert_non_null(copy);
    uint8_t type = 0;
    size_t plain_len = 0;

    for (size_t i = 0; i < 3; i++) {
        struct tls_crypt13 *c = new_from_fixture("rfc8448_s_hs_traffic.hex");
        memcpy(copy, rec, rec_len);
        copy[i] ^= 0x01; /* opaque_type, then the two legacy_record_version octets */
        assert_int_equal(open_rec(c, copy, rec_len, &type, &plain_len), TLS_E_DECRYPT);
        tls_crypt13_free(c);
    }
    /* A header whose length field does not describe the body is refused before decrypting. */
    struct tls_crypt13 *c = new_from_fixture("rfc8448_s_hs_traffic.hex");
    memcpy(copy, rec, rec_len);
    copy[4] ^= 0x01;
    assert_int_equal(open_rec(c, copy, rec_len, &type, &plain_len), TLS_E_RECORD);
    tls_crypt13_free(c);

    free(copy);
    free(rec);
}

/* ---- all five suites -------------------------------------------------------------------- */

static void test_suites_round_trip(void **state)
{
    (void)state;
    static const char msg[] = "GET / HTTP/1.1\r\n";
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        for (uint64_t seq = 0; seq < 4; seq++) {
            size_t rec_len;
            uint8_t ctype = (uint8_t)(seq % 2 == 0 ? 22 : 23);
            uint8_t *rec = seal(&kats[i], seq, (const uint8_t *)msg, sizeof(msg) - 1, ctype,
                                (size_t)seq * 3, &rec_len);
            assert_int_equal(rec_len, HDR_LEN + sizeof(msg) - 1 + 1 + seq * 3 + kats[i].tag_len);
            uint8_t type = 0;
            size_t plain_len = 0;
            assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
            assert_int_equal(type, ctype);
            assert_int_equal(plain_len, sizeof(msg) - 1);
            assert_memory_equal(rec + HDR_LEN, msg, sizeof(msg) - 1);
            free(rec);
        }
        tls_crypt13_free(c);
    }
}

/* The sequence number only advances on success, and a record sealed for another sequence
 * number (a replay, or one skipped) fails. */
static void test_suites_sequence(void **state)
{
    (void)state;
    static const uint8_t msg[] = {1, 2, 3};
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        size_t len0, len1, len2;
        uint8_t *r0 = seal(&kats[i], 0, msg, sizeof(msg), 22, 0, &len0);
        uint8_t *r1 = seal(&kats[i], 1, msg, sizeof(msg), 22, 0, &len1);
        uint8_t *r1_copy = malloc(len1);
        assert_non_null(r1_copy);
        memcpy(r1_copy, r1, len1);
        uint8_t *r2 = seal(&kats[i], 2, msg, sizeof(msg), 22, 0, &len2);
        uint8_t type = 0;
        size_t plain_len = 0;

        assert_int_equal(open_rec(c, r1, len1, &type, &plain_len), TLS_E_DECRYPT); /* at 0 */
        assert_int_equal(open_rec(c, r0, len0, &type, &plain_len), 0);
        assert_int_equal(open_rec(c, r2, len2, &type, &plain_len), TLS_E_DECRYPT); /* at 1 */
        assert_int_equal(open_rec(c, r1_copy, len1, &type, &plain_len), 0);
        assert_memory_equal(r1_copy + HDR_LEN, msg, sizeof(msg));
        assert_int_equal(open_rec(c, r2, len2, &type, &plain_len), TLS_E_DECRYPT); /* zeroed */
        free(r2);
        r2 = seal(&kats[i], 2, msg, sizeof(msg), 22, 0, &len2);
        assert_int_equal(open_rec(c, r2, len2, &type, &plain_len), 0);

        free(r2);
        free(r1_copy);
        free(r1);
        free(r0);
        tls_crypt13_free(c);
    }
}

static void test_suites_tampered_tag(void **state)
{
    (void)state;
    static const uint8_t msg[] = "finished";
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        size_t rec_len;
        uint8_t *rec = seal(&kats[i], 0, msg, sizeof(msg), 22, 0, &rec_len);
        uint8_t type = 0;
        size_t plain_len = 0;
        rec[rec_len - kats[i].tag_len] ^= 0x01; /* first tag octet */
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), TLS_E_DECRYPT);
        free(rec);
        tls_crypt13_free(c);
    }
}

/* RFC 8446 5.4: the content type is the last non-zero octet; the zeros after it are padding,
 * zeros inside the content are content, and an empty content is allowed. */
static void test_padding_stripped(void **state)
{
    (void)state;
    static const uint8_t msg[] = {'h', 'i', 0, 0};
    static const size_t pads[] = {0, 1, 15, 16, 255, 4000};
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        uint64_t seq = 0;
        for (size_t j = 0; j < sizeof(pads) / sizeof(pads[0]); j++) {
            size_t rec_len;
            uint8_t *rec = seal(&kats[i], seq++, msg, sizeof(msg), 23, pads[j], &rec_len);
            uint8_t type = 0;
            size_t plain_len = 99;
            assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
            assert_int_equal(type, 23);
            assert_int_equal(plain_len, sizeof(msg));
            assert_memory_equal(rec + HDR_LEN, msg, sizeof(msg));
            free(rec);

            rec = seal(&kats[i], seq++, NULL, 0, 23, pads[j], &rec_len);
            assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
            assert_int_equal(type, 23);
            assert_int_equal(plain_len, 0);
            free(rec);
        }
        tls_crypt13_free(c);
    }
}

/* RFC 8446 5.4: a plaintext of zeros only has no content type. */
static void test_all_zero_plaintext(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 40};
    for (size_t i = 0; i < N_KATS; i++) {
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            struct tls_crypt13 *c = new_for(&kats[i]);
            size_t rec_len;
            /* content_len 0, type 0, lens[j] zeros: an inner plaintext of 1 + lens[j] zeros */
            uint8_t *rec = seal(&kats[i], 0, NULL, 0, 0, lens[j], &rec_len);
            uint8_t type = 0;
            size_t plain_len = 0;
            assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), TLS_E_DECRYPT);
            free(rec);
            tls_crypt13_free(c);
        }
    }
}

/* RFC 8446 5.2: the body holds at least the tag and one octet of TLSInnerPlaintext. */
static void test_too_short(void **state)
{
    (void)state;
    uint8_t buf[HDR_LEN + 32] = {0};
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        uint8_t type = 0;
        size_t plain_len = 0;
        for (size_t len = 0; len <= kats[i].tag_len; len++) {
            buf[0] = 23;
            buf[1] = 3;
            buf[2] = 3;
            buf[3] = 0;
            buf[4] = (uint8_t)len;
            assert_int_equal(tls_crypt13_open(c, buf, buf + HDR_LEN, len, &type, &plain_len),
                             TLS_E_RECORD);
        }
        /* One more octet is long enough to reach the AEAD, which rejects the zero tag. */
        size_t len = kats[i].tag_len + 1;
        buf[4] = (uint8_t)len;
        memset(buf + HDR_LEN, 0, sizeof(buf) - HDR_LEN);
        assert_int_equal(tls_crypt13_open(c, buf, buf + HDR_LEN, len, &type, &plain_len),
                         TLS_E_DECRYPT);
        tls_crypt13_free(c);
    }
}

/* RFC 8446 5.2: the body is at most 2^14 + 256 octets. */
static void test_too_long(void **state)
{
    (void)state;
    uint8_t *buf = calloc(1, HDR_LEN + 0xffff);
    assert_non_null(buf);
    struct tls_crypt13 *c = new_for(kat_for(0x1301));
    uint8_t type = 0;
    size_t plain_len = 0;

    size_t len = CIPHERTEXT_MAX + 1;
    buf[0] = 23;
    buf[1] = 3;
    buf[2] = 3;
    buf[3] = (uint8_t)(len >> 8);
    buf[4] = (uint8_t)len;
    assert_int_equal(tls_crypt13_open(c, buf, buf + HDR_LEN, len, &type, &plain_len), TLS_E_RECORD);
    len = 0xffff;
    buf[3] = 0xff;
    buf[4] = 0xff;
    assert_int_equal(tls_crypt13_open(c, buf, buf + HDR_LEN, len, &type, &plain_len), TLS_E_RECORD);
    /* 2^14 + 256 itself passes the length check and fails authentication. */
    len = CIPHERTEXT_MAX;
    buf[3] = (uint8_t)(len >> 8);
    buf[4] = (uint8_t)len;
    assert_int_equal(tls_crypt13_open(c, buf, buf + HDR_LEN, len, &type, &plain_len),
                     TLS_E_DECRYPT);

    tls_crypt13_free(c);
    free(buf);
}

/* RFC 8446 5.4: an authentic TLSInnerPlaintext longer than 2^14 + 1 is a record_overflow. */
static void test_inner_overflow(void **state)
{
    (void)state;
    uint8_t *content = calloc(1, INNER_MAX);
    assert_non_null(content);
    memset(content, 'a', INNER_MAX);
    for (size_t i = 0; i < N_KATS; i++) {
        struct tls_crypt13 *c = new_for(&kats[i]);
        uint8_t type = 0;
        size_t plain_len = 0;
        size_t rec_len;

        /* 2^14 octets of content + type: exactly the limit. */
        uint8_t *rec = seal(&kats[i], 0, content, INNER_MAX - 1, 23, 0, &rec_len);
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
        assert_int_equal(plain_len, INNER_MAX - 1);
        free(rec);

        /* One octet of padding more. */
        rec = seal(&kats[i], 1, content, INNER_MAX - 1, 23, 1, &rec_len);
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), TLS_E_RECORD);
        free(rec);
        tls_crypt13_free(c);
    }
    free(content);
}

/* ---- construction ----------------------------------------------------------------------- */

static void test_unsupported_suite(void **state)
{
    (void)state;
    static const uint16_t others[] = {0x0000, 0x1300, 0x1306, 0x13ff, 0xc02f, 0x009c, 0xffff};
    uint8_t secret[48] = {0};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        struct tls_crypt13 *c = (struct tls_crypt13 *)(uintptr_t)1; /* must come back NULL */
        assert_int_equal(tls_crypt13_new(&c, others[i], secret, 32), TLS_E_UNSUPPORTED);
        assert_null(c);
        assert_int_equal(tls_crypt13_new(&c, others[i], secret, 48), TLS_E_UNSUPPORTED);
        assert_null(c);
    }
}

/* RFC 8446 7.1: a traffic secret is Hash.length octets: 32 for SHA-256, 48 for SHA-384. */
static void test_wrong_secret_length(void **state)
{
    (void)state;
    uint8_t secret[64] = {0};
    for (size_t i = 0; i < N_KATS; i++) {
        size_t good = kats[i].id == 0x1302 ? 48 : 32;
        static const size_t lens[] = {0, 1, 16, 31, 32, 33, 47, 48, 49, 64};
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            struct tls_crypt13 *c = NULL;
            int ret = tls_crypt13_new(&c, kats[i].id, secret, lens[j]);
            if (lens[j] == good) {
                assert_int_equal(ret, 0);
                assert_non_null(c);
            } else {
                assert_int_equal(ret, TLS_E_UNSUPPORTED);
                assert_null(c);
            }
            tls_crypt13_free(c);
        }
    }
}

static void test_invalid_args(void **state)
{
    (void)state;
    uint8_t secret[32] = {0};
    struct tls_crypt13 *c = NULL;
    assert_int_equal(tls_crypt13_new(NULL, 0x1301, secret, 32), TLS_E_INVALID);
    assert_int_equal(tls_crypt13_new(&c, 0x1301, NULL, 32), TLS_E_INVALID);
    assert_null(c);
    tls_crypt13_free(NULL);

    assert_int_equal(tls_crypt13_new(&c, 0x1301, secret, 32), 0);
    uint8_t rec[HDR_LEN + 17] = {23, 3, 3, 0, 17};
    uint8_t type;
    size_t plain_len;
    assert_int_equal(tls_crypt13_open(NULL, rec, rec + HDR_LEN, 17, &type, &plain_len),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt13_open(c, NULL, rec + HDR_LEN, 17, &type, &plain_len),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt13_open(c, rec, NULL, 17, &type, &plain_len), TLS_E_INVALID);
    assert_int_equal(tls_crypt13_open(c, rec, rec + HDR_LEN, 17, NULL, &plain_len), TLS_E_INVALID);
    assert_int_equal(tls_crypt13_open(c, rec, rec + HDR_LEN, 17, &type, NULL), TLS_E_INVALID);
    tls_crypt13_free(c);
}

/* The record.h opener callback is the same function behind a void pointer. */
static void test_open_cb(void **state)
{
    (void)state;
    static const uint8_t msg[] = {0x14, 0, 0, 0};
    const struct suite_kat *k = kat_for(0x1303);
    struct tls_crypt13 *c = new_for(k);
    size_t rec_len;
    uint8_t *rec = seal(k, 0, msg, sizeof(msg), 22, 7, &rec_len);
    uint8_t type = 0;
    size_t plain_len = 0;
    assert_int_equal(
        tls_crypt13_open_cb(c, rec, rec + HDR_LEN, rec_len - HDR_LEN, &type, &plain_len), 0);
    assert_int_equal(type, 22);
    assert_int_equal(plain_len, sizeof(msg));
    free(rec);
    tls_crypt13_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_server_flight),
        cmocka_unit_test(test_rfc8448_sequence),
        cmocka_unit_test(test_rfc8448_tampered_tag),
        cmocka_unit_test(test_rfc8448_tampered_ciphertext),
        cmocka_unit_test(test_rfc8448_tampered_aad),
        cmocka_unit_test(test_suites_round_trip),
        cmocka_unit_test(test_suites_sequence),
        cmocka_unit_test(test_suites_tampered_tag),
        cmocka_unit_test(test_padding_stripped),
        cmocka_unit_test(test_all_zero_plaintext),
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_inner_overflow),
        cmocka_unit_test(test_unsupported_suite),
        cmocka_unit_test(test_wrong_secret_length),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_open_cb),
    };
    return cmocka_run_group_tests_name("crypt13", tests, NULL, NULL);
}
