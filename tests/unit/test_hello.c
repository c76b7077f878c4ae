/* Unit tests for tls/wire/hello.c: the capture-only ClientHello read back field by field by a
 * parser of this file (RFC 5246 7.4.1.2, RFC 6066, RFC 8422, RFC 7685), its cipher suites judged
 * by their IANA names (a table written here from the registry, not the writer's), every server
 * name length and version, and every buffer too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/wire/error.h"
#include "tls/wire/hello.h"

/* IANA TLS Cipher Suites registry: every suite the ClientHello is expected to offer. */
struct iana_suite {
    uint16_t id;
    const char *name;
};

static const struct iana_suite iana[] = {
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"},
    {0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"},
    {0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"},
    {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
    {0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"},
    {0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"},
    {0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xC07B, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xC07C, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xC07D, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xC086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xC087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xC08A, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM"},
    {0xC09D, "TLS_RSA_WITH_AES_256_CCM"},
    {0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM"},
    {0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM"},
    {0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"},
    {0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"},
    {0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
    {0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
};
#define IANA_N (sizeof(iana) / sizeof(iana[0]))

static const char *iana_name(uint16_t id)
{
    for (size_t i = 0; i < IANA_N; i++)
        if (iana[i].id == id)
            return iana[i].name;
    return NULL;
}

/* RFC 5246 1.2 and later define the AEAD suites and the SHA-2 MACs; RFC 2246 and 4346 know
 * none of them. */
static bool tls12_only(const char *name)
{
    static const char *const marks[] = {"_GCM_", "_CCM", "CHACHA20", "_SHA256", "_SHA384"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(name, marks[i]))
            return true;
    return false;
}

/* What a capture must never offer: suites whose server sends no certificate, or no cipher. */
static bool forbidden(const char *name)
{
    static const char *const marks[] = {"anon", "NULL", "EXPORT", "PSK", "SRP", "KRB5"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(name, marks[i]))
            return true;
    return false;
}

/* ---- an independent reader of the ClientHello -------------------------------------------- */

struct rd {
    const uint8_t *p;
    size_t len;
};

static unsigned rd_u8(struct rd *r)
{
    assert_true(r->len >= 1);
    unsigned v = r->p[0];
    r->p++;
    r->len--;
    return v;
}

static unsigned rd_u16(struct rd *r)
{
    assert_true(r->len >= 2);
    unsigned v = (unsigned)r->p[0] << 8 | r->p[1];
    r->p += 2;
    r->len -= 2;
    return v;
}

static struct rd rd_vec(struct rd *r, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len = len << 8 | rd_u8(r);
    assert_true(r->len >= len);
    struct rd sub = {r->p, len};
    r->p += len;
    r->len -= len;
    return sub;
}

struct ext {
    unsigned type;
    struct rd data;
};

struct hello {
    unsigned record_type, record_version, client_version;
    size_t msg_len; /* the handshake message with its 4-byte header */
    uint8_t random[32];
    size_t session_id_len;
    uint16_t suites[256];
    size_t n_suites;
    struct rd compression;
    struct ext ext[16];
    size_t n_ext;
};

/* RFC 5246 6.2.1, 7.4, 7.4.1.2 */
static void parse(const uint8_t *p, size_t len, struct hello *h)
{
    memset(h, 0, sizeof(*h));
    struct rd r = {p, len};
    h->record_type = rd_u8(&r);
    h->record_version = rd_u16(&r);
    struct rd frag = rd_vec(&r, 2);
    assert_int_equal(r.len, 0);
    assert_int_equal(rd_u8(&frag), 1); /* client_hello */
    h->msg_len = 4 + (frag.len - 3);
    struct rd body = rd_vec(&frag, 3);
    assert_int_equal(frag.len, 0);
    h->client_version = rd_u16(&body);
    assert_true(body.len >= 32);
    memcpy(h->random, body.p, 32);
    body.p += 32;
    body.len -= 32;
    h->session_id_len = rd_vec(&body, 1).len;
    struct rd suites = rd_vec(&body, 2);
    assert_int_equal(suites.len % 2, 0);
    while (suites.len) {
        assert_true(h->n_suites < 256);
        h->suites[h->n_suites++] = (uint16_t)rd_u16(&suites);
    }
    h->compression = rd_vec(&body, 1);
    struct rd exts = rd_vec(&body, 2);
    assert_int_equal(body.len, 0);
    while (exts.len) {
        assert_true(h->n_ext < 16);
        struct ext *e = &h->ext[h->n_ext++];
        e->type = rd_u16(&exts);
        e->data = rd_vec(&exts, 2);
    }
}

static const struct ext *find_ext(const struct hello *h, unsigned type)
{
    const struct ext *found = NULL;
    for (size_t i = 0; i < h->n_ext; i++)
        if (h->ext[i].type == type) {
            assert_null(found); /* RFC 5246 7.4.1.4: no type twice */
            found = &h->ext[i];
        }
    return found;
}

static const uint8_t random32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void write_parse(uint16_t version, const char *sni, struct hello *h, uint8_t *buf,
                        size_t *len)
{
    struct tls_hello_opts o = {.version = version, .sni = sni, .random = random32};
    assert_int_equal(tls_hello_write(&o, buf, TLS_HELLO_MAX, len), 0);
    assert_true(*len <= TLS_HELLO_MAX);
    parse(buf, *len, h);
}

static bool has_suite(const struct hello *h, uint16_t id)
{
    for (size_t i = 0; i < h->n_suites; i++)
        if (h->suites[i] == id)
            return true;
    return false;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* An extension that is one list of uint16 with a 2-byte length, exactly want. */
static void check_u16_list(const struct ext *e, const uint16_t *want, size_t n)
{
    assert_non_null(e);
    struct rd d = e->data;
    struct rd list = rd_vec(&d, 2);
    assert_int_equal(d.len, 0);
    assert_int_equal(list.len, 2 * n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rd_u16(&list), want[i]);
}

static void check_common(const struct hello *h, uint16_t version)
{
    assert_int_equal(h->record_type, 22);
    assert_int_equal(h->record_version, 0x0301); /* as real clients write the first record */
    assert_int_equal(h->client_version, version);
    assert_memory_equal(h->random, random32, 32);
    assert_int_equal(h->session_id_len, 0);
    assert_int_equal(h->compression.len, 1);
    assert_int_equal(h->compression.p[0], 0);
    /* RFC 7685: never 256 to 511 bytes */
    assert_true(h->msg_len < 256 || h->msg_len >= 512);
    /* every suite known, none twice, none a capture cannot use, the SCSV last */
    for (size_t i = 0; i < h->n_suites; i++) {
        const char *name = iana_name(h->suites[i]);
        if (name == NULL)
            fail_msg("suite 0x%04x is not in the test's IANA table", h->suites[i]);
        assert_false(forbidden(name));
        if (version < 0x0303 && tls12_only(name))
            fail_msg("%s offered with TLS %#x", name, version);
        for (size_t k = 0; k < i; k++)
            assert_int_not_equal(h->suites[k], h->suites[i]);
    }
    assert_int_equal(h->suites[h->n_suites - 1], 0x00ff);
    assert_false(has_suite(h, 0x5600)); /* RFC 7507 TLS_FALLBACK_SCSV: never */
    /* every suite of the table that the version defines is there */
    for (size_t i = 0; i < IANA_N; i++)
        if (version >= 0x0303 || !tls12_only(iana[i].name))
            if (!has_suite(h, iana[i].id))
                fail_msg("%s missing with TLS %#x", iana[i].name, version);
    /* extensions: empty ones never last (WebSphere); the others as the RFCs say */
    const struct ext *last = &h->ext[h->n_ext - 1];
    assert_true(last->data.len > 0);
    const struct ext *ems = find_ext(h, 23), *ticket = find_ext(h, 35);
    assert_non_null(ems);
    assert_int_equal(ems->data.len, 0);
    assert_non_null(ticket);
    assert_int_equal(ticket->data.len, 0);
    const struct ext *fmts = find_ext(h, 11);
    assert_non_null(fmts);
    struct rd f = fmts->data;
    struct rd list = rd_vec(&f, 1);
    assert_int_equal(f.len, 0);
    assert_int_equal(list.len, 1);
    assert_int_equal(list.p[0], 0); /* uncompressed */
    /* RFC 8422 5.1.1, RFC 7919: the groups a server may use for ECDHE and DHE */
    static const uint16_t want_groups[] = {29, 23, 30,  24,  25,  26,  27, 28,
                                           22, 21, 256, 257, 258, 259, 260};
    check_u16_list(find_ext(h, 10), want_groups, sizeof(want_groups) / sizeof(want_groups[0]));
    /* RFC 5246 7.4.1.4.1: signature_algorithms with TLS 1.2 only */
    const struct ext *s = find_ext(h, 13);
    if (version < 0x0303) {
        assert_null(s);
        return;
    }
    assert_non_null(s);
    static const uint16_t want_sigalgs[] = {
        0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c, 0x0809,
        0x080a, 0x080b, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0303,
        0x0301, 0x0402, 0x0502, 0x0602, 0x0302, 0x0203, 0x0201, 0x0202,
    };
    check_u16_list(s, want_sigalgs, sizeof(want_sigalgs) / sizeof(want_sigalgs[0]));
}

static void check_sni(const struct hello *h, const char *sni)
{
    const struct ext *e = find_ext(h, 0);
    if (sni == NULL) {
        assert_null(e);
        return;
    }
    assert_non_null(e);
    /* RFC 6066 3: server_name_list<1..2^16-1> of {NameType host_name(0), HostName<1..2^16-1>} */
    struct rd d = e->data;
    struct rd list = rd_vec(&d, 2);
    assert_int_equal(d.len, 0);
    assert_int_equal(rd_u8(&list), 0);
    struct rd name = rd_vec(&list, 2);
    assert_int_equal(list.len, 0);
    assert_int_equal(name.len, strlen(sni));
    assert_memory_equal(name.p, sni, name.len);
    assert_int_equal(h->ext[0].type, 0); /* first, as clients send it */
}

static void test_tls12(void **state)
{
    (void)state;
    uint8_t buf[TLS_HELLO_MAX];
    size_t len;
    struct hello h;
    write_parse(0x0303, "app.example.com", &h, buf, &len);
    check_common(&h, 0x0303);
    check_sni(&h, "app.example.com");
    assert_int_equal(h.n_suites, IANA_N);
    /* the strongest first: servers that follow the client's order pick it */
    assert_int_equal(h.suites[0], 0xc02c);
}

static void test_tls10_tls11(void **state)
{
    (void)state;
    uint8_t buf[TLS_HELLO_MAX];
    size_t len;
    struct hello h;
    for (uint16_t v = 0x0301; v <= 0x0302; v++) {
        write_parse(v, NULL, &h, buf, &len);
        check_common(&h, v);
        check_sni(&h, NULL);
        /* 3DES, RC4 and AES-CBC with SHA-1: what an old IIS speaks */
        assert_true(has_suite(&h, 0x000a));
        assert_true(has_suite(&h, 0x0005));
        assert_true(has_suite(&h, 0x002f));
        assert_false(has_suite(&h, 0xc02f));
    }
}

/* Every server name length and version: well formed, bounded, never in the F5 range. */
static void test_every_length(void **state)
{
    (void)state;
    char sni[TLS_HELLO_SNI_MAX + 1];
    uint8_t buf[TLS_HELLO_MAX];
    struct hello h;
    size_t len;
    for (uint16_t v = 0x0301; v <= 0x0303; v++) {
        write_parse(v, NULL, &h, buf, &len);
        check_common(&h, v);
        for (size_t n = 1; n <= TLS_HELLO_SNI_MAX; n++) {
            memset(sni, 'a' + (int)(n % 26), n);
            sni[n] = 0;
            write_parse(v, sni, &h, buf, &len);
            check_common(&h, v);
            check_sni(&h, sni);
            /* RFC 7685 3: padding is zero bytes */
            const struct ext *pad = find_ext(&h, 21);
            for (size_t i = 0; pad && i < pad->data.len; i++)
                assert_int_equal(pad->data.p[i], 0);
        }
    }
}

static void test_invalid(void **state)
{
    (void)state;
    uint8_t buf[TLS_HELLO_MAX];
    size_t len = 7;
    char long_sni[TLS_HELLO_SNI_MAX + 2];
    memset(long_sni, 'x', sizeof(long_sni) - 1);
    long_sni[sizeof(long_sni) - 1] = 0;
    static const uint16_t bad_versions[] = {0x0300, 0x0304, 0x0200, 0x0000};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        struct tls_hello_opts o = {.version = bad_versions[i], .random = random32};
        assert_int_equal(tls_hello_write(&o, buf, sizeof(buf), &len), TLS_E_INVALID);
        assert_int_equal(len, 0);
    }
    struct tls_hello_opts empty = {.version = 0x0303, .sni = "", .random = random32};
    assert_int_equal(tls_hello_write(&empty, buf, sizeof(buf), &len), TLS_E_INVALID);
    struct tls_hello_opts toolong = {.version = 0x0303, .sni = long_sni, .random = random32};
    assert_int_equal(tls_hello_write(&toolong, buf, sizeof(buf), &len), TLS_E_INVALID);
}

/* Every buffer smaller than the ClientHello fails with TLS_E_SPACE and writes nothing past it. */
static void test_space(void **state)
{
    (void)state;
    uint8_t buf[TLS_HELLO_MAX + 16];
    size_t full;
    struct tls_hello_opts o = {.version = 0x0303, .sni = "app.example.com", .random = random32};
    assert_int_equal(tls_hello_write(&o, buf, TLS_HELLO_MAX, &full), 0);
    for (size_t cap = 0; cap < full; cap++) {
        memset(buf, 0xa5, sizeof(buf));
        size_t len = 7;
        assert_int_equal(tls_hello_write(&o, buf, cap, &len), TLS_E_SPACE);
        assert_int_equal(len, 0);
        for (size_t i = cap; i < sizeof(buf); i++)
            assert_int_equal(buf[i], 0xa5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12),        cmocka_unit_test(test_tls10_tls11),
        cmocka_unit_test(test_every_length), cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
