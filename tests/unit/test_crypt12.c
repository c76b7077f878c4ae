/* Unit tests for tls/crypt12.c: real TLS 1.2 sessions between OpenSSL's s_server and s_client for
 * all 25 suites, CBC with and without encrypt_then_mac (fixtures/tls12/, made by make-tls12.py),
 * a server-initiated renegotiation followed across both epochs, and records this file seals
 * itself with mbedTLS under server keys that OpenSSL's TLS1-PRF derived, so key expansion and
 * record opening are never checked against themselves. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/cipher.h>
#include <mbedtls/md.h>

#include "testutil.h"
#include "tls/crypt12.h"
#include "tls/wire/error.h"

#define HDR_LEN 5
#define PREFIX_LEN (2 + 1 + 48 + 32 + 32) /* suite, flags, master, client and server random */
#define MAX_RECORDS 8
#define CIPHERTEXT_MAX ((1u << 14) + 2048) /* RFC 5246 6.2.3 */
#define PLAINTEXT_MAX (1u << 14)           /* RFC 5246 6.2.1 */

static const char http_head[] = "HTTP/1.0 200 ok\r\n";
static const char http_body[] = "hello from s_server over TLS 1.2\n";

/* ---- captured sessions ------------------------------------------------------------------ */

/* Each fixture: suite (2), flags (1, bit 0 = encrypt_then_mac), master (48), client_random (32),
 * server_random (32), then the server's records after its ChangeCipherSpec: Finished (seq 0),
 * the HTTP response, close_notify. The suite ids here are typed from the RFCs, not read back. */
static const struct {
    const char *file;
    uint16_t id;
    bool etm;
} sessions[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256.hex", 0xC02B, false},
    {"ECDHE-RSA-AES128-GCM-SHA256.hex", 0xC02F, false},
    {"DHE-RSA-AES128-GCM-SHA256.hex", 0x009E, false},
    {"AES128-GCM-SHA256.hex", 0x009C, false},
    {"ECDHE-ECDSA-AES256-GCM-SHA384.hex", 0xC02C, false},
    {"ECDHE-RSA-AES256-GCM-SHA384.hex", 0xC030, false},
    {"DHE-RSA-AES256-GCM-SHA384.hex", 0x009F, false},
    {"AES256-GCM-SHA384.hex", 0x009D, false},
    {"ECDHE-ECDSA-CHACHA20-POLY1305.hex", 0xCCA9, false},
    {"ECDHE-RSA-CHACHA20-POLY1305.hex", 0xCCA8, false},
    {"DHE-RSA-CHACHA20-POLY1305.hex", 0xCCAA, false},
    {"ECDHE-ECDSA-AES128-SHA-etm.hex", 0xC009, true},
    {"ECDHE-ECDSA-AES128-SHA-noetm.hex", 0xC009, false},
    {"ECDHE-RSA-AES128-SHA-etm.hex", 0xC013, true},
    {"ECDHE-RSA-AES128-SHA-noetm.hex", 0xC013, false},
    {"AES128-SHA-etm.hex", 0x002F, true},
    {"AES128-SHA-noetm.hex", 0x002F, false},
    {"DHE-RSA-AES128-SHA-etm.hex", 0x0033, true},
    {"DHE-RSA-AES128-SHA-noetm.hex", 0x0033, false},
    {"ECDHE-ECDSA-AES256-SHA-etm.hex", 0xC00A, true},
    {"ECDHE-ECDSA-AES256-SHA-noetm.hex", 0xC00A, false},
    {"ECDHE-RSA-AES256-SHA-etm.hex", 0xC014, true},
    {"ECDHE-RSA-AES256-SHA-noetm.hex", 0xC014, false},
    {"AES256-SHA-etm.hex", 0x0035, true},
    {"AES256-SHA-noetm.hex", 0x0035, false},
    {"DHE-RSA-AES256-SHA-etm.hex", 0x0039, true},
    {"DHE-RSA-AES256-SHA-noetm.hex", 0x0039, false},
    {"ECDHE-ECDSA-AES128-SHA256-etm.hex", 0xC023, true},
    {"ECDHE-ECDSA-AES128-SHA256-noetm.hex", 0xC023, false},
    {"ECDHE-RSA-AES128-SHA256-etm.hex", 0xC027, true},
    {"ECDHE-RSA-AES128-SHA256-noetm.hex", 0xC027, false},
    {"AES128-SHA256-etm.hex", 0x003C, true},
    {"AES128-SHA256-noetm.hex", 0x003C, false},
    {"DHE-RSA-AES128-SHA256-etm.hex", 0x0067, true},
    {"DHE-RSA-AES128-SHA256-noetm.hex", 0x0067, false},
    {"ECDHE-ECDSA-AES256-SHA384-etm.hex", 0xC024, true},
    {"ECDHE-ECDSA-AES256-SHA384-noetm.hex", 0xC024, false},
    {"ECDHE-RSA-AES256-SHA384-etm.hex", 0xC028, true},
    {"ECDHE-RSA-AES256-SHA384-noetm.hex", 0xC028, false},
};
#define N_SESSIONS (sizeof(sessions) / sizeof(sessions[0]))

struct session {
    uint8_t *raw;
    size_t raw_len;
    size_t n_rec;
    size_t off[MAX_RECORDS]; /* of each record's header in raw */
    size_t len[MAX_RECORDS]; /* header included */
};

static void session_load(struct session *s, size_t i)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tls12/%s", sessions[i].file);
    s->raw = testutil_fixture(rel, &s->raw_len);
    assert_true(s->raw_len > PREFIX_LEN);
    assert_int_equal((s->raw[0] << 8) | s->raw[1], sessions[i].id);
    assert_int_equal(s->raw[2], sessions[i].etm ? 1 : 0);
    s->n_rec = 0;
    for (size_t off = PREFIX_LEN; off < s->raw_len;) {
        assert_true(off + HDR_LEN <= s->raw_len);
        assert_true(s->n_rec < MAX_RECORDS);
        size_t n = HDR_LEN + (((size_t)s->raw[off + 3] << 8) | s->raw[off + 4]);
        assert_true(n <= s->raw_len - off);
        s->off[s->n_rec] = off;
        s->len[s->n_rec++] = n;
        off += n;
    }
    assert_true(s->n_rec >= 3); /* Finished, the response, close_notify */
}

/* The PRF of a suite, from the RFCs that define them (RFC 5289 3, RFC 5288 3: the *_SHA384
 * suites use SHA-384; every other suite here the TLS 1.2 default, SHA-256), as mbedTLS's
 * key-export callback reports it. */
static mbedtls_tls_prf_types prf_of(uint16_t suite)
{
    static const uint16_t sha384[] = {0xC02C, 0xC030, 0x009F, 0x009D, 0xC024, 0xC028};
    for (size_t i = 0; i < sizeof(sha384) / sizeof(sha384[0]); i++)
        if (sha384[i] == suite)
            return MBEDTLS_SSL_TLS_PRF_SHA384;
    return MBEDTLS_SSL_TLS_PRF_SHA256;
}

static struct tls_crypt12 *session_crypt(const struct session *s)
{
    struct tls_crypt12 *c = NULL;
    uint16_t suite = (uint16_t)((s->raw[0] << 8) | s->raw[1]);
    assert_int_equal(
        tls_crypt12_new(&c, suite, prf_of(suite), s->raw + 3, s->raw + 51, s->raw + 83), 0);
    assert_non_null(c);
    assert_int_equal(tls_crypt12_set_etm(c, s->raw[2] & 1), 0);
    return c;
}

/* A private copy of record i (header first), since opening decrypts in place. */
static uint8_t *record_copy(const struct session *s, size_t i, size_t *len)
{
    assert_true(i < s->n_rec);
    uint8_t *r = malloc(s->len[i]);
    assert_non_null(r);
    memcpy(r, s->raw + s->off[i], s->len[i]);
    *len = s->len[i];
    return r;
}

static int open_rec(struct tls_crypt12 *c, uint8_t *rec, size_t rec_len, uint8_t *type,
                    size_t *plain_len)
{
    assert_true(rec_len >= HDR_LEN);
    return tls_crypt12_open(c, rec, rec + HDR_LEN, rec_len - HDR_LEN, type, plain_len);
}

/* Open record i of s with c and expect success. */
static void open_ok(struct tls_crypt12 *c, const struct session *s, size_t i)
{
    size_t len;
    uint8_t *r = record_copy(s, i, &len);
    uint8_t type = 0;
    size_t plain_len = 0;
    assert_int_equal(open_rec(c, r, len, &type, &plain_len), 0);
    free(r);
}

/* Open the record r with c and expect `want`; a failed authentication leaves the fragment
 * zeroed, never half-decrypted. */
static void open_fails(struct tls_crypt12 *c, uint8_t *r, size_t len, int want)
{
    uint8_t type = 0;
    size_t plain_len = 0;
    assert_int_equal(open_rec(c, r, len, &type, &plain_len), want);
    for (size_t j = HDR_LEN; want == TLS_E_DECRYPT && j < len; j++)
        assert_int_equal(r[j], 0);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

/* Every record opens in order: Finished (RFC 5246 7.4.9: 14 00 00 0c + 12 octets of
 * verify_data), application data that is the HTTP response, a close_notify alert. */
static void test_openssl_sessions(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        struct session s;
        session_load(&s, i);
        struct tls_crypt12 *c = session_crypt(&s);
        uint8_t *app = calloc(1, s.raw_len);
        assert_non_null(app);
        size_t app_len = 0;

        for (size_t k = 0; k < s.n_rec; k++) {
            size_t len;
            uint8_t *r = record_copy(&s, k, &len);
            uint8_t type = 0;
            size_t plain_len = 0;
            int ret = open_rec(c, r, len, &type, &plain_len);
            if (ret != 0)
                fail_msg("%s record %zu: %s", sessions[i].file, k, tls_err_name(ret));
            const uint8_t *pt = r + HDR_LEN;
            if (k == 0) {
                assert_int_equal(type, 22);
                assert_int_equal(plain_len, 16);
                assert_memory_equal(pt, "\x14\x00\x00\x0c", 4);
                assert_false(is_zero(pt + 4, 12));
            } else if (k == s.n_rec - 1) {
                assert_int_equal(type, 21);
                assert_int_equal(plain_len, 2);
                assert_int_equal(pt[0], 1); /* warning */
                assert_int_equal(pt[1], 0); /* close_notify */
            } else {
                assert_int_equal(type, 23);
                memcpy(app + app_len, pt, plain_len);
                app_len += plain_len;
            }
            free(r);
        }
        size_t head = sizeof(http_head) - 1, body = sizeof(http_body) - 1;
        assert_true(app_len > head + body);
        assert_memory_equal(app, http_head, head);
        assert_memory_equal(app + app_len - body, http_body, body);
        free(app);
        tls_crypt12_free(c);
        free(s.raw);
    }
}

/* RFC 5246 6.1: the sequence number starts at 0 after ChangeCipherSpec and counts records; a
 * record opened under another number fails and does not consume one. */
static void test_openssl_sequence(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        struct session s;
        session_load(&s, i);
        struct tls_crypt12 *c = session_crypt(&s);
        size_t len;
        uint8_t *r = record_copy(&s, 1, &len);
        open_fails(c, r, len, TLS_E_DECRYPT); /* seq 1 record at seq 0 */
        free(r);
        open_ok(c, &s, 0);
        r = record_copy(&s, 2, &len);
        open_fails(c, r, len, TLS_E_DECRYPT); /* seq 2 record at seq 1 */
        free(r);
        r = record_copy(&s, 0, &len);
        open_fails(c, r, len, TLS_E_DECRYPT); /* a replay of seq 0 */
        free(r);
        for (size_t k = 1; k < s.n_rec; k++)
            open_ok(c, &s, k);
        tls_crypt12_free(c);
        free(s.raw);
    }
}

/* Any changed octet of the protected fragment or of the header's type and version (which the
 * AAD or MAC covers) fails, zeroes the fragment, and leaves the sequence number alone. */
static void test_openssl_tampered(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        struct session s;
        session_load(&s, i);
        struct tls_crypt12 *c = session_crypt(&s);
        size_t len = s.len[0];
        size_t where[] = {0, 1, 2, HDR_LEN, HDR_LEN + 8, HDR_LEN + 20, len - 17, len - 1};
        for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
            uint8_t *r = record_copy(&s, 0, &len);
            r[where[w]] ^= 0x01;
            open_fails(c, r, len, TLS_E_DECRYPT);
            free(r);
        }
        /* The header's length field must describe the fragment. */
        uint8_t *r = record_copy(&s, 0, &len);
        r[4] ^= 0x10;
        open_fails(c, r, len, TLS_E_RECORD);
        free(r);
        for (size_t k = 0; k < s.n_rec; k++)
            open_ok(c, &s, k);
        tls_crypt12_free(c);
        free(s.raw);
    }
}

/* A server-initiated renegotiation (fixtures/tls12/renegotiation.hex): the second handshake runs
 * inside the first epoch's protection, and its ServerHello gives the random that, with the second
 * exported master secret, keys the second epoch. This is the use caprobe has for crypt12. */
static void test_openssl_renegotiation(void **state)
{
    (void)state;
    size_t raw_len;
    uint8_t *raw = testutil_fixture("tls12/renegotiation.hex", &raw_len);
    uint8_t *hs = calloc(1, raw_len);
    assert_non_null(hs);
    size_t hs_len = 0;
    assert_true(raw_len > 2 * PREFIX_LEN);

    /* Epoch 1: every record up to and including the protected ChangeCipherSpec. */
    struct tls_crypt12 *c = NULL;
    assert_int_equal(tls_crypt12_new(&c, 0xC02B, prf_of(0xC02B), raw + 3, raw + 51, raw + 83), 0);
    size_t off = PREFIX_LEN;
    uint8_t type = 0;
    while (type != 20) {
        assert_true(off + HDR_LEN <= raw_len);
        size_t len = ((size_t)raw[off + 3] << 8) | raw[off + 4];
        assert_true(off + HDR_LEN + len <= raw_len);
        size_t plain_len = 0;
        assert_int_equal(
            tls_crypt12_open(c, raw + off, raw + off + HDR_LEN, len, &type, &plain_len), 0);
        if (type == 22) {
            memcpy(hs + hs_len, raw + off + HDR_LEN, plain_len);
            hs_len += plain_len;
        } else {
            assert_int_equal(type, 20); /* RFC 5246 7.1: ChangeCipherSpec, a single 1 */
            assert_int_equal(plain_len, 1);
            assert_int_equal(raw[off + HDR_LEN], 1);
        }
        off += HDR_LEN + len;
    }
    tls_crypt12_free(c);
    const uint8_t *epoch2 = raw + off;
    assert_true(raw_len - off > PREFIX_LEN);

    /* Finished, HelloRequest, ServerHello, Certificate, ServerKeyExchange, CertificateRequest,
     * ServerHelloDone (RFC 5246 7.4), whole messages and nothing after them. */
    static const uint8_t want[] = {20, 0, 2, 11, 12, 13, 14};
    size_t n = 0;
    for (size_t m = 0; m < hs_len; n++) {
        assert_true(hs_len - m >= 4);
        size_t body = ((size_t)hs[m + 1] << 16) | ((size_t)hs[m + 2] << 8) | hs[m + 3];
        assert_true(hs_len - m - 4 >= body);
        assert_true(n < sizeof(want));
        assert_int_equal(hs[m], want[n]);
        if (hs[m] == 2) {
            /* ServerHello: version (2), random (32), session_id<0..32>, cipher_suite */
            const uint8_t *sh = hs + m + 4;
            assert_memory_equal(sh + 2, epoch2 + 83, 32);
            assert_int_equal((sh[35 + sh[34]] << 8) | sh[36 + sh[34]], 0xC02B);
        }
        m += 4 + body;
    }
    assert_int_equal(n, sizeof(want));

    /* Epoch 2: the new keys open the server's second Finished at sequence number 0. */
    assert_int_equal((epoch2[0] << 8) | epoch2[1], 0xC02B);
    assert_int_equal(
        tls_crypt12_new(&c, 0xC02B, prf_of(0xC02B), epoch2 + 3, epoch2 + 51, epoch2 + 83), 0);
    off += PREFIX_LEN;
    size_t len = ((size_t)raw[off + 3] << 8) | raw[off + 4];
    size_t plain_len = 0;
    assert_int_equal(tls_crypt12_open(c, raw + off, raw + off + HDR_LEN, len, &type, &plain_len),
                     0);
    assert_int_equal(type, 22);
    assert_int_equal(plain_len, 16);
    assert_memory_equal(raw + off + HDR_LEN, "\x14\x00\x00\x0c", 4);
    tls_crypt12_free(c);
    free(hs);
    free(raw);
}

/* ---- an independent sealer -------------------------------------------------------------- */

/* Server write keys of four captured sessions, from OpenSSL 3.0's TLS1-PRF over the fixture's
 * master secret and randoms (RFC 5246 6.3):
 *   openssl kdf -keylen N -kdfopt digest:SHA256|SHA384 -kdfopt hexsecret:MASTER \
 *     -kdfopt hexseed:$(hex "key expansion")SERVER_RANDOM CLIENT_RANDOM TLS1-PRF
 * cut as client MAC, server MAC, client key, server key, client IV, server IV. */
struct key_kat {
    const char *file;
    uint16_t id;
    mbedtls_cipher_type_t cipher;
    mbedtls_md_type_t mac;
    const char *mac_key;
    const char *key;
    const char *iv;
};

static const struct key_kat kats[] = {
    {"AES128-GCM-SHA256.hex", 0x009C, MBEDTLS_CIPHER_AES_128_GCM, MBEDTLS_MD_NONE, "",
     "db3769693092b96804ab8017abd92a2b", "0b36fff1"},
    {"ECDHE-RSA-CHACHA20-POLY1305.hex", 0xCCA8, MBEDTLS_CIPHER_CHACHA20_POLY1305, MBEDTLS_MD_NONE,
     "", "e99db5c5071c37019ac880b7e6f372a4c7121778b99cffff74e81559f7e70f72",
     "afe9cda3c68805a8ecbe2dd2"},
    {"AES128-SHA-noetm.hex", 0x002F, MBEDTLS_CIPHER_AES_128_CBC, MBEDTLS_MD_SHA1,
     "f73d9f016cecff7fcfc3e0152bca9dcd819a120c", "1c536d91db9b25a3a8a08edf0eed1474", ""},
    {"ECDHE-RSA-AES256-SHA384-noetm.hex", 0xC028, MBEDTLS_CIPHER_AES_256_CBC, MBEDTLS_MD_SHA384,
     "3a1ea929d0b605be7c89dd952421ccc027e474e56be9ef71403647c27a5f70375152ee7c44502c609b816d4bc2"
     "85b664",
     "8c309d4e2f7444b59894b7dc229f57760808209c37c95cc62521df3fa0bb9094", ""},
};
#define N_KATS (sizeof(kats) / sizeof(kats[0]))

/* A sealing mode: a kat, with encrypt_then_mac for CBC. */
struct mode {
    const struct key_kat *k;
    bool etm;
};

static const struct mode modes[] = {
    {&kats[0], false}, {&kats[1], false}, {&kats[2], false},
    {&kats[2], true},  {&kats[3], false}, {&kats[3], true},
};
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static bool is_cbc(const struct key_kat *k)
{
    return k->mac != MBEDTLS_MD_NONE;
}

static struct tls_crypt12 *crypt_for(const struct mode *m)
{
    size_t n;
    char rel[256];
    snprintf(rel, sizeof(rel), "tls12/%s", m->k->file);
    uint8_t *raw = testutil_fixture(rel, &n);
    assert_true(n > PREFIX_LEN);
    assert_int_equal((raw[0] << 8) | raw[1], m->k->id);
    struct tls_crypt12 *c = NULL;
    assert_int_equal(tls_crypt12_new(&c, m->k->id, prf_of(m->k->id), raw + 3, raw + 51, raw + 83),
                     0);
    assert_int_equal(tls_crypt12_set_etm(c, m->etm), 0);
    free(raw);
    return c;
}

static void put_header(uint8_t *out, uint64_t seq, uint8_t type, size_t len)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(seq >> (8 * (7 - i)));
    out[8] = type;
    out[9] = 3;
    out[10] = 3;
    out[11] = (uint8_t)(len >> 8);
    out[12] = (uint8_t)len;
}

static void hmac(const struct key_kat *k, const uint8_t *ph, const uint8_t *data, size_t n,
                 uint8_t *out)
{
    size_t key_len;
    uint8_t *key = testutil_unhex(k->mac_key, &key_len);
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    assert_int_equal(mbedtls_md_setup(&md, mbedtls_md_info_from_type(k->mac), 1), 0);
    assert_int_equal(mbedtls_md_hmac_starts(&md, key, key_len), 0);
    assert_int_equal(mbedtls_md_hmac_update(&md, ph, 13), 0);
    assert_int_equal(mbedtls_md_hmac_update(&md, data, n), 0);
    assert_int_equal(mbedtls_md_hmac_finish(&md, out), 0);
    mbedtls_md_free(&md);
    free(key);
}

enum corrupt {
    CORRUPT_NONE,
    CORRUPT_PAD_OCTET, /* one padding octet differs from padding_length */
    CORRUPT_PAD_LEN,   /* padding_length 255, longer than the decrypted fragment */
};

/* Seal content as a record of `type` at sequence number seq; for CBC with `extra` more blocks
 * of padding than needed and the padding corrupted as asked (with a valid MAC either way). */
static uint8_t *seal(const struct mode *m, uint64_t seq, uint8_t type, const uint8_t *content,
                     size_t n, size_t extra, enum corrupt corrupt, size_t *rec_len)
{
    const struct key_kat *k = m->k;
    size_t key_len, iv_len;
    uint8_t *key = testutil_unhex(k->key, &key_len);
    uint8_t *iv = testutil_unhex(k->iv, &iv_len);
    size_t mac_len = is_cbc(k) ? mbedtls_md_get_size(mbedtls_md_info_from_type(k->mac)) : 0;
    uint8_t *rec = malloc(HDR_LEN + n + 16 + 16 + 256 + mac_len);
    assert_non_null(rec);
    uint8_t *frag = rec + HDR_LEN;
    uint8_t ph[13];
    size_t frag_len;

    mbedtls_cipher_context_t ctx;
    mbedtls_cipher_init(&ctx);
    assert_int_equal(mbedtls_cipher_setup(&ctx, mbedtls_cipher_info_from_type(k->cipher)), 0);
    assert_int_equal(mbedtls_cipher_setkey(&ctx, key, (int)(key_len * 8), MBEDTLS_ENCRYPT), 0);

    if (!is_cbc(k)) {
        uint8_t nonce[12];
        size_t explicit_len = 0;
        if (k->cipher == MBEDTLS_CIPHER_CHACHA20_POLY1305) {
            memcpy(nonce, iv, 12); /* RFC 7905 2 */
            for (int i = 0; i < 8; i++)
                nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
        } else {
            explicit_len = 8; /* RFC 5288 3: any value, here not the sequence number */
            memcpy(nonce, iv, 4);
            for (int i = 0; i < 8; i++)
                nonce[4 + i] = frag[i] = (uint8_t)(0xa5 ^ (seq * 7 + (uint64_t)i));
        }
        put_header(ph, seq, type, n);
        size_t olen = 0;
        assert_int_equal(mbedtls_cipher_auth_encrypt_ext(&ctx, nonce, 12, ph, 13, content, n,
                                                         frag + explicit_len, n + 16, &olen, 16),
                         0);
        assert_int_equal(olen, n + 16);
        frag_len = explicit_len + n + 16;
    } else {
        assert_int_equal(mbedtls_cipher_set_padding_mode(&ctx, MBEDTLS_PADDING_NONE), 0);
        size_t mac_in = m->etm ? 0 : mac_len;
        uint8_t *pt = malloc(n + mac_in + 256 + 16);
        assert_non_null(pt);
        memcpy(pt, content, n);
        if (!m->etm) {
            put_header(ph, seq, type, n);
            hmac(k, ph, content, n, pt + n);
        }
        size_t pad = (16 - (n + mac_in + 1) % 16) % 16 + 16 * extra;
        assert_true(pad <= 255);
        memset(pt + n + mac_in, (int)pad, pad + 1);
        size_t pt_len = n + mac_in + pad + 1;
        if (corrupt == CORRUPT_PAD_OCTET) {
            assert_true(pad > 0);
            pt[pt_len - 2] ^= 0x01;
        } else if (corrupt == CORRUPT_PAD_LEN) {
            assert_true(pt_len < 256);
            pt[pt_len - 1] = 255;
        }
        for (int i = 0; i < 16; i++)
            frag[i] = (uint8_t)(0x3c + seq + (uint64_t)i); /* the explicit IV */
        size_t olen = 0;
        assert_int_equal(mbedtls_cipher_crypt(&ctx, frag, 16, pt, pt_len, frag + 16, &olen), 0);
        assert_int_equal(olen, pt_len);
        frag_len = 16 + pt_len;
        if (m->etm) {
            /* RFC 7366 3: MAC(seq_num + type + version + length + IV + ENC(...)) */
            put_header(ph, seq, type, frag_len);
            hmac(k, ph, frag, frag_len, frag + frag_len);
            frag_len += mac_len;
        }
        free(pt);
    }
    mbedtls_cipher_free(&ctx);
    rec[0] = type;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(frag_len >> 8);
    rec[4] = (uint8_t)frag_len;
    *rec_len = HDR_LEN + frag_len;
    free(iv);
    free(key);
    return rec;
}

static void test_sealed_round_trip(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 15, 16, 31, 100};
    static const uint8_t types[] = {22, 23, 21};
    uint8_t content[100];
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i * 13 + 1);
    for (size_t m = 0; m < N_MODES; m++) {
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        uint64_t seq = 0;
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            for (size_t extra = 0; extra < (is_cbc(modes[m].k) ? 3 : 1); extra++) {
                uint8_t t = types[seq % 3];
                size_t rec_len;
                uint8_t *rec =
                    seal(&modes[m], seq, t, content, lens[j], extra, CORRUPT_NONE, &rec_len);
                uint8_t type = 0;
                size_t plain_len = 99;
                assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
                assert_int_equal(type, t);
                assert_int_equal(plain_len, lens[j]);
                if (lens[j] > 0)
                    assert_memory_equal(rec + HDR_LEN, content, lens[j]);
                free(rec);
                seq++;
            }
        }
        tls_crypt12_free(c);
    }
}

/* RFC 5246 6.2.3.2: padding may be up to 255 octets, in whole blocks beyond the minimum. */
static void test_cbc_max_padding(void **state)
{
    (void)state;
    static const uint8_t msg[] = "x";
    for (size_t m = 0; m < N_MODES; m++) {
        if (!is_cbc(modes[m].k))
            continue;
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        /* the largest padding that fits in 255 for this MAC size and one content octet */
        size_t mac_len = modes[m].k->mac == MBEDTLS_MD_SHA1 ? 20 : 48;
        size_t mac_in = modes[m].etm ? 0 : mac_len;
        size_t min_pad = (16 - (1 + mac_in + 1) % 16) % 16;
        size_t extra = (255 - min_pad) / 16;
        size_t rec_len;
        uint8_t *rec = seal(&modes[m], 0, 23, msg, 1, extra, CORRUPT_NONE, &rec_len);
        uint8_t type = 0;
        size_t plain_len = 0;
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
        assert_int_equal(plain_len, 1);
        assert_int_equal(rec[HDR_LEN], 'x');
        free(rec);
        tls_crypt12_free(c);
    }
}

/* A padding octet that differs from padding_length, or a padding_length longer than the
 * fragment, fails even though the MAC is right, and reads nothing outside the fragment. */
static void test_cbc_bad_padding(void **state)
{
    (void)state;
    static const uint8_t msg[] = "GET / HTTP/1.0\r\n\r\n";
    for (size_t m = 0; m < N_MODES; m++) {
        if (!is_cbc(modes[m].k))
            continue;
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        size_t rec_len;
        for (size_t extra = 0; extra < 3; extra++) {
            uint8_t *rec =
                seal(&modes[m], 0, 23, msg, sizeof(msg), extra, CORRUPT_PAD_OCTET, &rec_len);
            open_fails(c, rec, rec_len, TLS_E_DECRYPT);
            free(rec);
            rec = seal(&modes[m], 0, 23, msg, sizeof(msg), extra, CORRUPT_PAD_LEN, &rec_len);
            open_fails(c, rec, rec_len, TLS_E_DECRYPT);
            free(rec);
        }
        /* Nothing was consumed: the good record for sequence number 0 still opens. */
        uint8_t *rec = seal(&modes[m], 0, 23, msg, sizeof(msg), 1, CORRUPT_NONE, &rec_len);
        uint8_t type = 0;
        size_t plain_len = 0;
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
        assert_int_equal(plain_len, sizeof(msg));
        free(rec);
        tls_crypt12_free(c);
    }
}

/* RFC 5246 6.2.1: an authentic plaintext of more than 2^14 octets is a record_overflow. */
static void test_plaintext_overflow(void **state)
{
    (void)state;
    uint8_t *content = malloc(PLAINTEXT_MAX + 1);
    assert_non_null(content);
    memset(content, 'a', PLAINTEXT_MAX + 1);
    for (size_t m = 0; m < N_MODES; m++) {
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        size_t rec_len;
        uint8_t *rec = seal(&modes[m], 0, 23, content, PLAINTEXT_MAX, 0, CORRUPT_NONE, &rec_len);
        uint8_t type = 0;
        size_t plain_len = 0;
        assert_int_equal(open_rec(c, rec, rec_len, &type, &plain_len), 0);
        assert_int_equal(plain_len, PLAINTEXT_MAX);
        free(rec);
        rec = seal(&modes[m], 1, 23, content, PLAINTEXT_MAX + 1, 0, CORRUPT_NONE, &rec_len);
        open_fails(c, rec, rec_len, TLS_E_RECORD);
        free(rec);
        tls_crypt12_free(c);
    }
    free(content);
}

/* The shortest fragment each mode can hold (empty content): GCM explicit nonce + tag,
 * ChaCha20-Poly1305 tag, CBC IV + the blocks for MAC and padding_length (+ MAC with RFC 7366). */
static size_t min_fragment(const struct mode *m)
{
    if (m->k->cipher == MBEDTLS_CIPHER_AES_128_GCM)
        return 8 + 16;
    if (m->k->cipher == MBEDTLS_CIPHER_CHACHA20_POLY1305)
        return 16;
    size_t mac_len = m->k->mac == MBEDTLS_MD_SHA1 ? 20 : 48;
    if (m->etm)
        return 16 + 16 + mac_len;
    return 16 + (mac_len == 20 ? 32 : 64);
}

static void test_too_short(void **state)
{
    (void)state;
    uint8_t buf[HDR_LEN + 128];
    for (size_t m = 0; m < N_MODES; m++) {
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        size_t min = min_fragment(&modes[m]);
        for (size_t len = 0; len < min + 16; len++) {
            memset(buf, 0, sizeof(buf));
            buf[0] = 23;
            buf[1] = 3;
            buf[2] = 3;
            buf[4] = (uint8_t)len;
            uint8_t type = 0;
            size_t plain_len = 0;
            int ret = tls_crypt12_open(c, buf, buf + HDR_LEN, len, &type, &plain_len);
            size_t mac_out = modes[m].etm ? (modes[m].k->mac == MBEDTLS_MD_SHA1 ? 20 : 48) : 0;
            bool aligned = !is_cbc(modes[m].k) || (len >= mac_out && (len - mac_out) % 16 == 0);
            /* Long enough and aligned reaches the cipher or MAC, which rejects the zeros. */
            assert_int_equal(ret, len < min || !aligned ? TLS_E_RECORD : TLS_E_DECRYPT);
        }
        tls_crypt12_free(c);
    }
}

/* RFC 5246 6.2.3: at most 2^14 + 2048 octets; the header's length must be the fragment's. */
static void test_too_long(void **state)
{
    (void)state;
    uint8_t *buf = calloc(1, HDR_LEN + 0xffff);
    assert_non_null(buf);
    for (size_t m = 0; m < N_MODES; m++) {
        struct tls_crypt12 *c = crypt_for(&modes[m]);
        uint8_t type = 0;
        size_t plain_len = 0;
        buf[0] = 23;
        buf[1] = 3;
        buf[2] = 3;
        size_t lens[] = {CIPHERTEXT_MAX + 1, CIPHERTEXT_MAX + 16, 0xffff};
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            buf[3] = (uint8_t)(lens[j] >> 8);
            buf[4] = (uint8_t)lens[j];
            assert_int_equal(tls_crypt12_open(c, buf, buf + HDR_LEN, lens[j], &type, &plain_len),
                             TLS_E_RECORD);
        }
        /* The length field says 64, the caller says 80. */
        buf[3] = 0;
        buf[4] = 64;
        assert_int_equal(tls_crypt12_open(c, buf, buf + HDR_LEN, 80, &type, &plain_len),
                         TLS_E_RECORD);
        tls_crypt12_free(c);
    }
    free(buf);
}

/* ---- construction ----------------------------------------------------------------------- */

static void test_unsupported_suite(void **state)
{
    (void)state;
    /* NULL, TLS 1.3, RSA-3DES, ECDH (static) GCM, AES-CCM, PSK, Camellia, unassigned */
    static const uint16_t others[] = {0x0000, 0x1301, 0x1303, 0x000A, 0xC02D, 0xC0AC,
                                      0xC09C, 0x00A8, 0xCCAB, 0xC073, 0xFFFF};
    uint8_t master[48] = {0}, cr[32] = {0}, sr[32] = {0};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        struct tls_crypt12 *c = (struct tls_crypt12 *)(uintptr_t)1; /* must come back NULL */
        assert_int_equal(tls_crypt12_new(&c, others[i], MBEDTLS_SSL_TLS_PRF_SHA256, master, cr, sr),
                         TLS_E_UNSUPPORTED);
        assert_null(c);
    }
}

/* encrypt_then_mac does not apply to AEAD suites (RFC 7366 3). (RFC 7627 changes only how the
 * master secret is made, so a session negotiated with EMS needs nothing more.) */
static void test_flags_that_do_not_apply(void **state)
{
    (void)state;
    struct session s;
    session_load(&s, 0); /* ECDHE-ECDSA-AES128-GCM-SHA256, negotiated with EMS */
    struct tls_crypt12 *c = session_crypt(&s);
    assert_int_equal(tls_crypt12_set_etm(c, true), 0);
    for (size_t k = 0; k < s.n_rec; k++)
        open_ok(c, &s, k);
    tls_crypt12_free(c);
    free(s.raw);
}

/* The key block comes from the PRF the export names: the other hash gives other keys, and no
 * record of any session opens with them. */
static void test_wrong_prf(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        struct session s;
        session_load(&s, i);
        uint16_t suite = sessions[i].id;
        mbedtls_tls_prf_types other = prf_of(suite) == MBEDTLS_SSL_TLS_PRF_SHA384
                                          ? MBEDTLS_SSL_TLS_PRF_SHA256
                                          : MBEDTLS_SSL_TLS_PRF_SHA384;
        struct tls_crypt12 *c = NULL;
        assert_int_equal(tls_crypt12_new(&c, suite, other, s.raw + 3, s.raw + 51, s.raw + 83), 0);
        assert_int_equal(tls_crypt12_set_etm(c, s.raw[2] & 1), 0);
        size_t len;
        uint8_t *r = record_copy(&s, 0, &len);
        uint8_t type = 0;
        size_t plain = 0;
        assert_int_equal(tls_crypt12_open(c, r, r + HDR_LEN, len - HDR_LEN, &type, &plain),
                         TLS_E_DECRYPT);
        free(r);
        tls_crypt12_free(c);
        free(s.raw);
    }
}

/* A CBC session opened with the wrong encrypt_then_mac setting fails cleanly. */
static void test_etm_mismatch(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        uint16_t id = sessions[i].id;
        if ((id >> 8) == 0xCC || id == 0x009C || id == 0x009D || id == 0x009E || id == 0x009F ||
            (id >= 0xC02B && id <= 0xC030))
            continue; /* AEAD */
        struct session s;
        session_load(&s, i);
        struct tls_crypt12 *c = session_crypt(&s);
        assert_int_equal(tls_crypt12_set_etm(c, !sessions[i].etm), 0);
        size_t len;
        uint8_t *r = record_copy(&s, 0, &len);
        uint8_t type = 0;
        size_t plain_len = 0;
        int ret = open_rec(c, r, len, &type, &plain_len);
        assert_true(ret == TLS_E_DECRYPT || ret == TLS_E_RECORD);
        free(r);
        tls_crypt12_free(c);
        free(s.raw);
    }
}

static void test_invalid_args(void **state)
{
    (void)state;
    uint8_t master[48] = {0}, cr[32] = {0}, sr[32] = {0};
    struct tls_crypt12 *c = NULL;
    assert_int_equal(tls_crypt12_new(NULL, 0xC02F, MBEDTLS_SSL_TLS_PRF_SHA256, master, cr, sr),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt12_new(&c, 0xC02F, MBEDTLS_SSL_TLS_PRF_SHA256, NULL, cr, sr),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt12_new(&c, 0xC02F, MBEDTLS_SSL_TLS_PRF_SHA256, master, NULL, sr),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt12_new(&c, 0xC02F, MBEDTLS_SSL_TLS_PRF_SHA256, master, cr, NULL),
                     TLS_E_INVALID);
    assert_null(c);
    tls_crypt12_free(NULL);
    assert_int_equal(tls_crypt12_set_etm(NULL, true), TLS_E_INVALID);

    assert_int_equal(tls_crypt12_new(&c, 0xC02F, MBEDTLS_SSL_TLS_PRF_SHA256, master, cr, sr), 0);
    uint8_t rec[HDR_LEN + 24] = {23, 3, 3, 0, 24};
    uint8_t type;
    size_t plain_len;
    assert_int_equal(tls_crypt12_open(NULL, rec, rec + HDR_LEN, 24, &type, &plain_len),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt12_open(c, NULL, rec + HDR_LEN, 24, &type, &plain_len),
                     TLS_E_INVALID);
    assert_int_equal(tls_crypt12_open(c, rec, NULL, 24, &type, &plain_len), TLS_E_INVALID);
    assert_int_equal(tls_crypt12_open(c, rec, rec + HDR_LEN, 24, NULL, &plain_len), TLS_E_INVALID);
    assert_int_equal(tls_crypt12_open(c, rec, rec + HDR_LEN, 24, &type, NULL), TLS_E_INVALID);
    tls_crypt12_free(c);

    /* encrypt_then_mac is fixed once a record was opened. */
    struct session s;
    session_load(&s, 15); /* AES128-SHA-etm */
    c = session_crypt(&s);
    open_ok(c, &s, 0);
    assert_int_equal(tls_crypt12_set_etm(c, false), TLS_E_INVALID);
    open_ok(c, &s, 1);
    tls_crypt12_free(c);
    free(s.raw);
}

/* The record.h opener callback is the same function behind a void pointer. */
static void test_open_cb(void **state)
{
    (void)state;
    struct session s;
    session_load(&s, 9); /* ECDHE-RSA-CHACHA20-POLY1305 */
    struct tls_crypt12 *c = session_crypt(&s);
    size_t len;
    uint8_t *r = record_copy(&s, 0, &len);
    uint8_t type = 0;
    size_t plain_len = 0;
    assert_int_equal(tls_crypt12_open_cb(c, r, r + HDR_LEN, len - HDR_LEN, &type, &plain_len), 0);
    assert_int_equal(type, 22);
    assert_int_equal(plain_len, 16);
    free(r);
    tls_crypt12_free(c);
    free(s.raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_sessions),  cmocka_unit_test(test_openssl_sequence),
        cmocka_unit_test(test_openssl_tampered),  cmocka_unit_test(test_openssl_renegotiation),
        cmocka_unit_test(test_sealed_round_trip), cmocka_unit_test(test_cbc_max_padding),
        cmocka_unit_test(test_cbc_bad_padding),   cmocka_unit_test(test_plaintext_overflow),
        cmocka_unit_test(test_too_short),         cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_unsupported_suite), cmocka_unit_test(test_flags_that_do_not_apply),
        cmocka_unit_test(test_wrong_prf),         cmocka_unit_test(test_etm_mismatch),
        cmocka_unit_test(test_invalid_args),      cmocka_unit_test(test_open_cb),
    };
    return cmocka_run_group_tests_name("crypt12", tests, NULL, NULL);
}
