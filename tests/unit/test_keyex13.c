/* Unit tests for tls/keyex13.c, caprobe's side of the TLS 1.3 key exchange. Oracles: the
 * handshakes of RFC 8448 replayed with the RFC's private keys: section 6's server handshake
 * traffic secret as the RFC prints it, and section 5 (HelloRetryRequest with a cookie, then
 * P-256), whose secret must open the RFC's encrypted flight (the AEAD tag would not verify under
 * any other key) to the RFC's EncryptedExtensions. Then the hellos keyex13 writes itself, and the
 * server answers it must refuse. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/ecp.h>
#include <mbedtls/dhm.h>
#include <psa/crypto.h>

#include "testutil.h"
#include "tls/capture.h"
#include "tls/crypt13.h"
#include "tls/keyex13.h"
#include "tls/wire/cursor.h"
#include "tls/wire/error.h"

struct blob {
    uint8_t *p;
    size_t len;
};

static struct blob fixture(const char *name)
{
    struct blob b;
    char rel[256];
    snprintf(rel, sizeof(rel), "tls13/%s", name);
    b.p = testutil_fixture(rel, &b.len);
    return b;
}

/* The handshake message of a one-record fixture (the 5-byte record header dropped). */
static struct blob message(const char *name)
{
    struct blob b = fixture(name);
    assert_true(b.len > 5);
    b.len -= 5;
    memmove(b.p, b.p + 5, b.len);
    return b;
}

/* Hand a server's hello message (header included) to k. */
static int server_hello(struct tls_keyex13 *k, const struct blob *m, uint8_t *secret,
                        size_t *secret_len)
{
    struct tls_server_hello sh;
    assert_int_equal(m->p[0], 2);
    int rc = tls_server_hello_parse(&sh, m->p + 4, m->len - 4);
    if (rc)
        return rc;
    return tls_keyex13_server_hello(k, &sh, m->p + 4, m->len - 4, secret, 64, secret_len);
}

/* A keyex13 that sent the recorded ClientHello ch with the recorded private key of group. */
static struct tls_keyex13 *replayed(uint16_t group, const struct blob *key, const struct blob *ch)
{
    struct tls_keyex13 *k = NULL;
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(tls_keyex13_add_share(k, group, key->p, key->len), 0);
    assert_int_equal(tls_keyex13_sent(k, ch->p, ch->len), 0);
    return k;
}

static void test_rfc8448_clientauth_secret(void **state)
{
    (void)state;
    struct blob ch = fixture("rfc8448_clientauth_client_hello.hex");
    struct blob key = fixture("rfc8448_clientauth_client_x25519_private.hex");
    struct blob sh = message("rfc8448_clientauth_server_hello_record.hex");
    struct blob want = fixture("rfc8448_clientauth_server_hs_secret.hex");
    struct tls_keyex13 *k = replayed(0x001d, &key, &ch);
    uint8_t secret[64];
    size_t secret_len = 0;
    assert_int_equal(server_hello(k, &sh, secret, &secret_len), 0);
    assert_int_equal(secret_len, want.len);
    assert_memory_equal(secret, want.p, want.len);
    /* the handshake secret is final: another hello is refused */
    assert_int_equal(server_hello(k, &sh, secret, &secret_len), TLS_E_UNEXPECTED);
    assert_int_equal(secret_len, 0);
    tls_keyex13_free(k);
    free(ch.p);
    free(key.p);
    free(sh.p);
    free(want.p);
}

/* The capture with keyex13 as its ServerHello hook, as session.c wires them. */
static int hook(void *ctx, const struct tls_server_hello *sh, const uint8_t *body, size_t len,
                uint8_t *secret, size_t cap, size_t *secret_len)
{
    return tls_keyex13_server_hello(ctx, sh, body, len, secret, cap, secret_len);
}

static void test_rfc8448_clientauth_capture(void **state)
{
    (void)state;
    struct blob ch = fixture("rfc8448_clientauth_client_hello.hex");
    struct blob key = fixture("rfc8448_clientauth_client_x25519_private.hex");
    struct blob sh = fixture("rfc8448_clientauth_server_hello_record.hex");
    struct blob fl = fixture("rfc8448_clientauth_server_flight_record.hex");
    struct blob cr = fixture("rfc8448_clientauth_certificate_request.hex");
    struct tls_keyex13 *k = replayed(0x001d, &key, &ch);
    struct tls_capture c;
    tls_capture_init(&c, 4096);
    c.on_hello = hook;
    c.on_hello_ctx = k;
    /* one byte at a time: the secret must come from the ServerHello alone */
    for (size_t i = 0; i < sh.len; i++)
        tls_capture_feed(&c, sh.p + i, 1);
    assert_int_equal(c.status, TLS_CAPTURE_RUNNING);
    assert_int_equal(c.secret_len, 32);
    tls_capture_feed(&c, fl.p, fl.len);
    assert_int_equal(c.status, TLS_CAPTURE_DONE);
    assert_true(c.has_certreq);
    assert_int_equal(c.certreq_len, cr.len - 4);
    assert_memory_equal(c.certreq, cr.p + 4, cr.len - 4);
    tls_capture_free(&c);
    tls_keyex13_free(k);
    free(ch.p);
    free(key.p);
    free(sh.p);
    free(fl.p);
    free(cr.p);
}

static void test_rfc8448_hello_retry(void **state)
{
    (void)state;
    struct blob ch1 = message("rfc8448_hrr_client_hello1.hex");
    struct blob x25519 = fixture("rfc8448_hrr_client_x25519_private.hex");
    struct blob hrr = message("rfc8448_hrr_hello_retry_request.hex");
    struct blob ch2 = message("rfc8448_hrr_client_hello2.hex");
    struct blob p256 = fixture("rfc8448_hrr_client_p256_private.hex");
    struct blob sh = message("rfc8448_hrr_server_hello_record.hex");
    struct blob fl = fixture("rfc8448_hrr_server_flight_record.hex");
    struct blob ee = fixture("rfc8448_hrr_encrypted_extensions.hex");

    struct tls_keyex13 *k = replayed(0x001d, &x25519, &ch1);
    uint8_t secret[64];
    size_t secret_len = 99;
    assert_int_equal(server_hello(k, &hrr, secret, &secret_len), 0);
    assert_int_equal(secret_len, 0);
    /* the retry asked for P-256: the x25519 share is gone, room for the new one */
    assert_int_equal(tls_keyex13_add_share(k, 0x0017, p256.p, p256.len), 0);
    assert_int_equal(tls_keyex13_sent(k, ch2.p, ch2.len), 0);
    assert_int_equal(server_hello(k, &sh, secret, &secret_len), 0);
    assert_int_equal(secret_len, 32);

    struct tls_crypt13 *c;
    assert_int_equal(tls_crypt13_new(&c, 0x1301, secret, secret_len), 0);
    uint8_t type;
    size_t plain_len;
    assert_int_equal(tls_crypt13_open(c, fl.p, fl.p + 5, fl.len - 5, &type, &plain_len), 0);
    assert_int_equal(type, 22);
    assert_true(plain_len > ee.len);
    assert_memory_equal(fl.p + 5, ee.p, ee.len);
    tls_crypt13_free(c);
    tls_keyex13_free(k);
    free(ch1.p);
    free(x25519.p);
    free(hrr.p);
    free(ch2.p);
    free(p256.p);
    free(sh.p);
    free(fl.p);
    free(ee.p);
}

/* ---- the hellos keyex13 writes --------------------------------------------------------- */

struct hello {
    uint16_t record_version;
    const uint8_t *random, *sid;
    uint16_t share_group;
    size_t share_len;
    const uint8_t *share;
    const uint8_t *cookie;
    size_t cookie_len;
    const uint8_t *sni;
    size_t sni_len;
    size_t msg_len; /* the handshake message inside the record(s) */
};

/* Walk one ClientHello record (RFC 8446 4.1.2) far enough to check what keyex13 put in. */
static void parse_hello(const uint8_t *rec, size_t len, struct hello *h)
{
    memset(h, 0, sizeof(*h));
    assert_true(len > 9);
    assert_int_equal(rec[0], 22);
    h->record_version = (uint16_t)(rec[1] << 8 | rec[2]);
    assert_int_equal((size_t)(rec[3] << 8 | rec[4]), len - 5);
    struct tls_cursor c = tls_cursor_make(rec + 5, len - 5);
    struct tls_cursor body = {0}, sid = {0}, suites = {0}, comp = {0}, exts = {0};
    uint8_t type = 0;
    uint16_t version = 0;
    assert_int_equal(tls_cursor_u8(&c, &type), 0);
    assert_int_equal(type, 1);
    assert_int_equal(tls_cursor_vec(&c, 3, &body), 0);
    assert_int_equal(tls_cursor_done(&c), 0);
    h->msg_len = len - 5;
    assert_int_equal(tls_cursor_u16(&body, &version), 0);
    assert_int_equal(version, 0x0303);
    assert_int_equal(tls_cursor_bytes(&body, 32, &h->random), 0);
    assert_int_equal(tls_cursor_vec(&body, 1, &sid), 0);
    assert_int_equal(sid.len, 32);
    h->sid = sid.p;
    assert_int_equal(tls_cursor_vec(&body, 2, &suites), 0);
    assert_int_equal(tls_cursor_vec(&body, 1, &comp), 0);
    assert_int_equal(tls_cursor_vec(&body, 2, &exts), 0);
    assert_int_equal(tls_cursor_done(&body), 0);
    while (exts.len) {
        uint16_t et = 0;
        struct tls_cursor d = {0}, v = {0};
        assert_int_equal(tls_cursor_u16(&exts, &et), 0);
        assert_int_equal(tls_cursor_vec(&exts, 2, &d), 0);
        if (et == 51) {
            assert_int_equal(tls_cursor_vec(&d, 2, &v), 0);
            assert_int_equal(tls_cursor_u16(&v, &h->share_group), 0);
            struct tls_cursor key = {0};
            assert_int_equal(tls_cursor_vec(&v, 2, &key), 0);
            assert_int_equal(tls_cursor_done(&v), 0); /* one share */
            h->share = key.p;
            h->share_len = key.len;
        } else if (et == 44) {
            assert_int_equal(tls_cursor_vec(&d, 2, &v), 0);
            h->cookie = v.p;
            h->cookie_len = v.len;
        } else if (et == 0) {
            struct tls_cursor name = {0};
            uint8_t nt = 0;
            assert_int_equal(tls_cursor_vec(&d, 2, &v), 0);
            assert_int_equal(tls_cursor_u8(&v, &nt), 0);
            assert_int_equal(tls_cursor_vec(&v, 2, &name), 0);
            h->sni = name.p;
            h->sni_len = name.len;
        }
    }
}

static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* A HelloRetryRequest or ServerHello, as the parser would give it (only what keyex13 reads). */
static struct tls_server_hello retry(uint16_t suite, uint16_t group, const uint8_t *cookie,
                                     size_t cookie_len)
{
    struct tls_server_hello sh = {
        .legacy_version = 0x0303,
        .version = 0x0304,
        .random = hrr_random,
        .cipher_suite = suite,
        .hello_retry = true,
        .key_share_group = group,
        .cookie = cookie,
        .cookie_len = cookie_len,
    };
    return sh;
}

static int answer(struct tls_keyex13 *k, const struct tls_server_hello *sh, size_t *secret_len)
{
    static const uint8_t body[40] = {3, 3}; /* only hashed */
    uint8_t secret[64];
    return tls_keyex13_server_hello(k, sh, body, sizeof(body), secret, sizeof(secret), secret_len);
}

static void test_own_hellos(void **state)
{
    (void)state;
    struct tls_keyex13 *k;
    assert_int_equal(tls_keyex13_new(&k, "probe.example"), 0);
    uint8_t *r1, *r2;
    size_t n1, n2, secret_len;
    assert_int_equal(tls_keyex13_client_hello(k, &r1, &n1), 0);
    struct hello h1, h2;
    parse_hello(r1, n1, &h1);
    assert_int_equal(h1.record_version, 0x0301);
    assert_int_equal(h1.share_group, 0x001d);
    assert_int_equal(h1.share_len, 32);
    assert_null(h1.cookie);
    assert_int_equal(h1.sni_len, 13);
    assert_memory_equal(h1.sni, "probe.example", 13);

    /* a retry for secp384r1 with a cookie */
    static const uint8_t cookie[3] = {7, 8, 9};
    struct tls_server_hello sh = retry(0x1302, 0x0018, cookie, sizeof(cookie));
    assert_int_equal(answer(k, &sh, &secret_len), 0);
    assert_int_equal(secret_len, 0);
    assert_int_equal(tls_keyex13_client_hello(k, &r2, &n2), 0);
    parse_hello(r2, n2, &h2);
    assert_int_equal(h2.record_version, 0x0303);
    assert_memory_equal(h2.random, h1.random, 32);
    assert_memory_equal(h2.sid, h1.sid, 32);
    assert_int_equal(h2.share_group, 0x0018);
    assert_int_equal(h2.share_len, 97);
    assert_int_equal(h2.share[0], 0x04); /* uncompressed point, RFC 8446 4.2.8.2 */
    assert_int_equal(h2.cookie_len, 3);
    assert_memory_equal(h2.cookie, cookie, 3);
    assert_int_equal(h2.sni_len, 13);
    /* same hello otherwise: only the key share and the cookie changed */
    assert_int_equal(n2 - n1, (97 - 32) + (4 + 2 + 3));

    /* a second retry is refused, and so is a ServerHello with another suite or group */
    assert_int_equal(answer(k, &sh, &secret_len), TLS_E_UNEXPECTED);
    struct tls_server_hello s = sh;
    s.hello_retry = false;
    s.cipher_suite = 0x1301;
    static const uint8_t point[97] = {4};
    s.key_share = point;
    s.key_share_len = sizeof(point);
    assert_int_equal(answer(k, &s, &secret_len), TLS_E_UNEXPECTED);
    s.cipher_suite = 0x1302;
    s.key_share_group = 0x001d;
    assert_int_equal(answer(k, &s, &secret_len), TLS_E_UNEXPECTED);
    /* the right group with a point not on the curve: PSA refuses it */
    s.key_share_group = 0x0018;
    assert_int_equal(answer(k, &s, &secret_len), TLS_E_MBEDTLS);
    assert_int_equal(tls_keyex13_raw_error(k), MBEDTLS_ERR_ECP_INVALID_KEY);
    /* the point the server would send: our own public value is on the curve */
    s.key_share = h2.share;
    assert_int_equal(answer(k, &s, &secret_len), 0);
    assert_int_equal(secret_len, 48);
    free(r1);
    free(r2);
    tls_keyex13_free(k);
}

static void test_refused_answers(void **state)
{
    (void)state;
    struct tls_keyex13 *k;
    uint8_t *r;
    size_t n, secret_len;
    static const uint8_t cookie[1] = {1};
    struct {
        struct tls_server_hello sh;
        int rc;
    } cases[] = {
        /* RFC 8446 4.1.4: a retry must change something, for a group offered and not shared */
        {retry(0x1301, 0, NULL, 0), TLS_E_UNEXPECTED},
        {retry(0x1301, 0x001d, NULL, 0), TLS_E_UNEXPECTED},
        {retry(0x1301, 0x0099, NULL, 0), TLS_E_UNEXPECTED},
        {retry(0x1306, 0x0017, NULL, 0), TLS_E_UNEXPECTED},
        {retry(0x1301, 0x0017, NULL, 0), 0},
        {retry(0x1301, 0, cookie, 1), 0}, /* cookie only: the same shares again */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tls_keyex13_new(&k, NULL), 0);
        assert_int_equal(tls_keyex13_client_hello(k, &r, &n), 0);
        free(r);
        assert_int_equal(answer(k, &cases[i].sh, &secret_len), cases[i].rc);
        if (cases[i].rc == 0) {
            struct hello h;
            assert_int_equal(tls_keyex13_client_hello(k, &r, &n), 0);
            parse_hello(r, n, &h);
            assert_int_equal(h.share_group, cases[i].sh.key_share_group ? 0x0017 : 0x001d);
            free(r);
        }
        tls_keyex13_free(k);
    }

    /* an answer to no hello, and a second ClientHello before the first is answered */
    static const uint8_t hello[4] = {1, 0, 0, 0};
    struct tls_server_hello early = retry(0x1301, 0x0017, NULL, 0);
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(answer(k, &early, &secret_len), TLS_E_INVALID);
    assert_int_equal(tls_keyex13_sent(k, hello, sizeof(hello)), 0);
    assert_int_equal(tls_keyex13_sent(k, hello, sizeof(hello)), TLS_E_INVALID);
    tls_keyex13_free(k);

    /* a TLS 1.2 ServerHello is the caller's; a 1.2 retry is nonsense */
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(tls_keyex13_client_hello(k, &r, &n), 0);
    free(r);
    struct tls_server_hello sh12 = {.version = 0x0303, .cipher_suite = 0xc02f};
    secret_len = 99;
    assert_int_equal(answer(k, &sh12, &secret_len), 0);
    assert_int_equal(secret_len, 0);
    sh12.hello_retry = true;
    assert_int_equal(answer(k, &sh12, &secret_len), TLS_E_UNEXPECTED);
    /* an x25519 share of the wrong length */
    static const uint8_t short_key[31] = {9};
    struct tls_server_hello s = {.version = 0x0304,
                                 .cipher_suite = 0x1301,
                                 .key_share_group = 0x001d,
                                 .key_share = short_key,
                                 .key_share_len = sizeof(short_key)};
    assert_int_equal(answer(k, &s, &secret_len), TLS_E_MBEDTLS);
    assert_int_equal(tls_keyex13_raw_error(k), MBEDTLS_ERR_ECP_INVALID_KEY);
    tls_keyex13_free(k);

    /* x25519 shares of small order (RFC 7748 6.1, RFC 8446 7.4.2: the all-zero secret is
     * refused): u = 0, u = 1, and the point of order 8 listed in RFC 7748's errata and in
     * libsodium's blacklist, whatever our scalar */
    static const uint8_t small[][32] = {
        {0},
        {1},
        {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
         0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
         0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    };
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        assert_int_equal(tls_keyex13_new(&k, NULL), 0);
        assert_int_equal(tls_keyex13_client_hello(k, &r, &n), 0);
        free(r);
        s.key_share = small[i];
        s.key_share_len = sizeof(small[i]);
        secret_len = 99;
        assert_int_equal(answer(k, &s, &secret_len), TLS_E_MBEDTLS);
        assert_int_equal(tls_keyex13_raw_error(k), MBEDTLS_ERR_ECP_INVALID_KEY);
        assert_int_equal(secret_len, 0);
        tls_keyex13_free(k);
    }
}

/* Every group of supported_groups: a retry for it gets a share of the right size in the form
 * RFC 8446 4.2.8 gives (uncompressed points for the Weierstrass curves), and a ServerHello with
 * a valid value of that group (our own public one) gives the secret. */
static void test_every_group(void **state)
{
    (void)state;
    static const struct {
        uint16_t group;
        size_t len;
    } groups[] = {
        {0x0017, 65},  {0x001e, 56},  {0x0018, 97},  {0x0019, 133}, {0x001f, 65},  {0x0020, 97},
        {0x0021, 129}, {0x0100, 256}, {0x0101, 384}, {0x0102, 512}, {0x0103, 768}, {0x0104, 1024},
    };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        struct tls_keyex13 *k;
        uint8_t *r1, *r2;
        size_t n1, n2, secret_len;
        struct hello h;
        assert_int_equal(tls_keyex13_new(&k, NULL), 0);
        assert_int_equal(tls_keyex13_client_hello(k, &r1, &n1), 0);
        struct tls_server_hello sh = retry(0x1301, groups[i].group, NULL, 0);
        assert_int_equal(answer(k, &sh, &secret_len), 0);
        assert_int_equal(tls_keyex13_client_hello(k, &r2, &n2), 0);
        parse_hello(r2, n2, &h);
        assert_int_equal(h.share_group, groups[i].group);
        assert_int_equal(h.share_len, groups[i].len);
        if (groups[i].len % 2)
            assert_int_equal(h.share[0], 0x04);
        sh.hello_retry = false;
        sh.key_share = h.share;
        sh.key_share_len = h.share_len;
        assert_int_equal(answer(k, &sh, &secret_len), 0);
        assert_int_equal(secret_len, 32);
        free(r1);
        free(r2);
        tls_keyex13_free(k);
    }
}

/* FFDHE (ffdhe2048) with a given private exponent: the public value keyex13 puts in its hello. */
static void ffdhe_public(const uint8_t x[64], uint8_t pub[256])
{
    struct tls_keyex13 *k;
    uint8_t *r;
    size_t n;
    struct hello h;
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(tls_keyex13_add_share(k, 0x0100, x, 64), 0);
    assert_int_equal(tls_keyex13_client_hello(k, &r, &n), 0);
    parse_hello(r, n, &h);
    assert_int_equal(h.share_group, 0x0100);
    assert_int_equal(h.share_len, 256);
    memcpy(pub, h.share, 256);
    free(r);
    tls_keyex13_free(k);
}

/* The secret from exponent x and the server's value peer, over a fixed transcript; *raw the
 * mbedTLS code of a failure. */
static int ffdhe_secret(const uint8_t x[64], const uint8_t *peer, size_t peer_len,
                        uint8_t secret[64], int *raw)
{
    static const uint8_t hello[4] = {1, 0, 0, 0};
    static const uint8_t body[40] = {3, 3};
    struct tls_keyex13 *k;
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(tls_keyex13_add_share(k, 0x0100, x, 64), 0);
    assert_int_equal(tls_keyex13_sent(k, hello, sizeof(hello)), 0);
    struct tls_server_hello sh = {.version = 0x0304,
                                  .cipher_suite = 0x1301,
                                  .key_share_group = 0x0100,
                                  .key_share = peer,
                                  .key_share_len = peer_len};
    size_t len = 0;
    int rc = tls_keyex13_server_hello(k, &sh, body, sizeof(body), secret, 64, &len);
    assert_int_equal(len, rc ? 0 : 32);
    *raw = tls_keyex13_raw_error(k);
    tls_keyex13_free(k);
    return rc;
}

/* FFDHE: the public value is 2^x mod p as long as p (RFC 7919, RFC 8446 4.2.8.1), two sides
 * agree, and the server's value must satisfy 1 < y < p - 1 (RFC 7919 5.1). The oracle for the
 * public value of x = 2^511 + 1 is Python's pow (fixtures/tls13/ffdhe2048_public_2p511p1.hex). */
static void test_ffdhe(void **state)
{
    (void)state;
    uint8_t xa[64] = {0x80}, xb[64] = {0x9c, 0x12};
    xa[63] = 1;
    xb[63] = 0x77;
    uint8_t pa[256], pb[256];
    ffdhe_public(xa, pa);
    ffdhe_public(xb, pb);
    size_t want_len;
    uint8_t *want = testutil_fixture("tls13/ffdhe2048_public_2p511p1.hex", &want_len);
    assert_int_equal(want_len, 256);
    assert_memory_equal(pa, want, 256);
    free(want);

    uint8_t sa[64], sb[64];
    int raw;
    assert_int_equal(ffdhe_secret(xa, pb, 256, sa, &raw), 0);
    assert_int_equal(ffdhe_secret(xb, pa, 256, sb, &raw), 0);
    assert_memory_equal(sa, sb, 32);

    static const uint8_t p[] = MBEDTLS_DHM_RFC7919_FFDHE2048_P_BIN;
    uint8_t bad[257] = {0};
    bad[255] = 1; /* 1 */
    assert_int_equal(ffdhe_secret(xa, bad, 256, sa, &raw), TLS_E_MBEDTLS);
    assert_int_equal(raw, MBEDTLS_ERR_DHM_BAD_INPUT_DATA);
    memcpy(bad, p, 256);
    bad[255] -= 1; /* p - 1 */
    assert_int_equal(ffdhe_secret(xa, bad, 256, sa, &raw), TLS_E_MBEDTLS);
    assert_int_equal(raw, MBEDTLS_ERR_DHM_BAD_INPUT_DATA);
    bad[255] -= 1; /* p - 2: the largest value allowed */
    assert_int_equal(ffdhe_secret(xa, bad, 256, sa, &raw), 0);
    memcpy(bad + 1, pb, 256);
    bad[0] = 0; /* one zero too many in front */
    assert_int_equal(ffdhe_secret(xa, bad, 257, sa, &raw), TLS_E_MBEDTLS);
    assert_int_equal(raw, MBEDTLS_ERR_DHM_BAD_INPUT_DATA);
    assert_int_equal(ffdhe_secret(xa, pb, 255, sa, &raw), TLS_E_MBEDTLS);

    struct tls_keyex13 *k;
    assert_int_equal(tls_keyex13_new(&k, NULL), 0);
    assert_int_equal(tls_keyex13_add_share(k, 0x0100, xa, 63), TLS_E_INVALID);
    assert_int_equal(tls_keyex13_add_share(k, 0x0999, NULL, 0), TLS_E_UNSUPPORTED);
    tls_keyex13_free(k);
}

static int setup(void **state)
{
    (void)state;
    return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_clientauth_secret),
        cmocka_unit_test(test_rfc8448_clientauth_capture),
        cmocka_unit_test(test_rfc8448_hello_retry),
        cmocka_unit_test(test_own_hellos),
        cmocka_unit_test(test_refused_answers),
        cmocka_unit_test(test_every_group),
        cmocka_unit_test(test_ffdhe),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
