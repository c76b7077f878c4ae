/* Unit tests for tls/certreq.c: TLS 1.2 and 1.3 CertificateRequest bodies built from canned
 * bytes, and every malformed form: truncated, overrun, trailing, repeated extensions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/wire/certreq.h"
#include "tls/wire/error.h"

/* DER Name CN=A and CN=BB */
#define DN_A 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x41
#define DN_B                                                                                       \
    0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 0x42, 0x42

static const uint8_t dn_a[] = {DN_A};
static const uint8_t dn_b[] = {DN_B};

/* RFC 5246 7.4.4 */
static const uint8_t req12[] = {
    0x02, 0x01, 0x40,                   /* certificate_types: rsa_sign, ecdsa_sign */
    0x00, 0x04, 0x04, 0x03, 0x08, 0x04, /* signature algorithms */
    0x00, 0x21,                         /* certificate_authorities: 33 bytes */
    0x00, 0x0e, DN_A, 0x00, 0x0f, DN_B,
};

static const uint8_t req12_empty[] = {0x01, 0x01, 0x00, 0x02, 0x04, 0x03, 0x00, 0x00};

/* RFC 2246 and RFC 4346 7.4.4: no signature algorithms */
static const uint8_t req10[] = {
    0x02, 0x01, 0x02, /* certificate_types: rsa_sign, dss_sign */
    0x00, 0x21,       /* certificate_authorities: 33 bytes */
    0x00, 0x0e, DN_A, 0x00, 0x0f, DN_B,
};

/* RFC 8446 4.3.2 */
static const uint8_t req13[] = {
    0x00,                                                       /* context */
    0x00, 0x35,                                                 /* extensions: 53 bytes */
    0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, /* signature_algorithms */
    0x00, 0x2f, 0x00, 0x23, 0x00, 0x21,                         /* certificate_authorities */
    0x00, 0x0e, DN_A, 0x00, 0x0f, DN_B, 0xfa, 0xfa, 0x00, 0x00, /* a GREASE extension, ignored */
};

static const uint8_t req13_no_cas[] = {
    0x01, 0x07, 0x00, 0x0a, 0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04,
};

static void test_tls12_list(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq12_parse(&r, req12, sizeof(req12)), 0);
    assert_int_equal(r.version, 0x0303);
    assert_int_equal(r.cert_types_len, 2);
    assert_int_equal(r.cert_types[1], 0x40);
    assert_int_equal(r.sigalgs_len, 4);
    assert_true(r.has_cas);
    assert_int_equal(r.ca_count, 2);
    assert_int_equal(r.quirks, 0);
    struct tls_cursor it = tls_cursor_make(r.cas, r.cas_len);
    const uint8_t *dn;
    size_t len;
    assert_int_equal(tls_certreq_ca_next(&it, &dn, &len), 1);
    assert_int_equal(len, sizeof(dn_a));
    assert_memory_equal(dn, dn_a, len);
    assert_int_equal(tls_certreq_ca_next(&it, &dn, &len), 1);
    assert_int_equal(len, sizeof(dn_b));
    assert_memory_equal(dn, dn_b, len);
    assert_int_equal(tls_certreq_ca_next(&it, &dn, &len), 0);
}

static void test_tls12_empty_list(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq12_parse(&r, req12_empty, sizeof(req12_empty)), 0);
    assert_true(r.has_cas);
    assert_int_equal(r.ca_count, 0);
    assert_int_equal(r.cas_len, 0);
}

/* Every proper prefix of a valid message must fail, never read past the end. */
static void check_prefixes(int (*parse)(struct tls_certreq *, const uint8_t *, size_t),
                           const uint8_t *msg, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        struct tls_certreq r;
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan/valgrind see any overread */
        memcpy(copy, msg, n);
        int rc = parse(&r, copy, n);
        free(copy);
        if (rc == 0)
            fail_msg("prefix of %zu of %zu bytes parsed", n, len);
    }
}

static void test_tls12_truncated(void **state)
{
    (void)state;
    check_prefixes(tls_certreq12_parse, req12, sizeof(req12));
}

static void test_tls12_trailing(void **state)
{
    (void)state;
    uint8_t m[sizeof(req12) + 1];
    memcpy(m, req12, sizeof(req12));
    m[sizeof(req12)] = 0;
    struct tls_certreq r;
    assert_int_equal(tls_certreq12_parse(&r, m, sizeof(m)), TLS_E_TRAILING);
}

static void test_tls12_overrun(void **state)
{
    (void)state;
    uint8_t m[sizeof(req12)];
    memcpy(m, req12, sizeof(m));
    m[12] = 0x0f; /* first DN claims one byte more than it has: the second entry breaks */
    struct tls_certreq r;
    assert_int_not_equal(tls_certreq12_parse(&r, m, sizeof(m)), 0);
    memcpy(m, req12, sizeof(m));
    m[10] = 0x22; /* list longer than the message */
    assert_int_equal(tls_certreq12_parse(&r, m, sizeof(m)), TLS_E_LENGTH);
    memcpy(m, req12, sizeof(m));
    m[28] = 0x10; /* last DN longer than the list */
    assert_int_equal(tls_certreq12_parse(&r, m, sizeof(m)), TLS_E_LENGTH);
}

static void test_tls12_quirks(void **state)
{
    (void)state;
    /* no certificate types, one-byte signature list, a zero-length DN */
    static const uint8_t m[] = {0x00, 0x00, 0x01, 0x04, 0x00, 0x02, 0x00, 0x00};
    struct tls_certreq r;
    assert_int_equal(tls_certreq12_parse(&r, m, sizeof(m)), 0);
    assert_int_equal(r.quirks, TLS_CERTREQ_NO_CERT_TYPES | TLS_CERTREQ_NO_SIGALGS |
                                   TLS_CERTREQ_ODD_SIGALGS | TLS_CERTREQ_EMPTY_DN);
    assert_int_equal(r.ca_count, 1);
}

static void test_tls13_list(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq13_parse(&r, req13, sizeof(req13)), 0);
    assert_int_equal(r.version, 0x0304);
    assert_int_equal(r.context_len, 0);
    assert_true(r.has_cas);
    assert_int_equal(r.ca_count, 2);
    assert_int_equal(r.sigalgs_len, 4);
    assert_int_equal(r.quirks, 0);
    struct tls_cursor it = tls_cursor_make(r.cas, r.cas_len);
    const uint8_t *dn;
    size_t len;
    assert_int_equal(tls_certreq_ca_next(&it, &dn, &len), 1);
    assert_memory_equal(dn, dn_a, sizeof(dn_a));
}

static void test_tls13_no_extension(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq13_parse(&r, req13_no_cas, sizeof(req13_no_cas)), 0);
    assert_false(r.has_cas);
    assert_int_equal(r.ca_count, 0);
    assert_int_equal(r.context_len, 1);
    assert_int_equal(r.context[0], 0x07);
}

static void test_tls13_truncated(void **state)
{
    (void)state;
    check_prefixes(tls_certreq13_parse, req13, sizeof(req13));
}

static void test_tls13_malformed(void **state)
{
    (void)state;
    struct tls_certreq r;
    uint8_t m[sizeof(req13) + 4];

    memcpy(m, req13, sizeof(req13));
    m[sizeof(req13)] = 0;
    assert_int_equal(tls_certreq13_parse(&r, m, sizeof(req13) + 1), TLS_E_TRAILING);

    /* extension data longer than the extensions block */
    memcpy(m, req13, sizeof(req13));
    m[6] = 0x40;
    assert_int_equal(tls_certreq13_parse(&r, m, sizeof(req13)), TLS_E_LENGTH);

    /* certificate_authorities whose inner list does not fill the extension */
    memcpy(m, req13, sizeof(req13));
    m[17] = 0x00;
    m[18] = 0x20;
    assert_int_not_equal(tls_certreq13_parse(&r, m, sizeof(req13)), 0);
}

/* RFC 8446 4.2.4: authorities<3..2^16-1>, so an empty certificate_authorities body is cut short
 * before its list length. */
static void test_tls13_authorities_truncated(void **state)
{
    (void)state;
    static const uint8_t m[] = {
        0x00, 0x00, 0x14,                               /* context, extensions */
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* signature_algorithms */
        0x00, 0x2f, 0x00, 0x00,                         /* authorities without a list */
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* signature_algorithms again */
    };
    struct tls_certreq r;
    assert_int_equal(tls_certreq13_parse(&r, m, sizeof(m)), TLS_E_TRUNCATED);
}

/* RFC 8446 4.2: "There MUST NOT be more than one extension of the same type in a given extension
 * block." The parser rejects a repeated extension it reads (signature_algorithms,
 * certificate_authorities), as mbedTLS, OpenSSL and BoringSSL do for the extensions they know;
 * repeated unknown ones (GREASE, oid_filters) are skipped like single ones. */
static void test_tls13_duplicate_sigalgs(void **state)
{
    (void)state;
    static const uint8_t m[] = {
        0x00, 0x00, 0x10, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04,
        0x03, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,
    };
    struct tls_certreq r;
    assert_int_equal(tls_certreq13_parse(&r, m, sizeof(m)), TLS_E_RANGE);
}

/* m with its last `tail` octets (a repeated extension) cut off must parse: then the whole of m is
 * rejected for the repetition, not for a length. The extensions' length is m[1..2]. */
static void check_valid_without(const uint8_t *m, size_t len, size_t tail)
{
    uint8_t copy[256];
    assert_true(len <= sizeof(copy) && tail + 3 <= len);
    memcpy(copy, m, len - tail);
    size_t exts = len - tail - 3;
    copy[1] = (uint8_t)(exts >> 8);
    copy[2] = (uint8_t)exts;
    struct tls_certreq r;
    assert_int_equal(tls_certreq13_parse(&r, copy, len - tail), 0);
    assert_true(r.has_cas);
    assert_int_equal(r.ca_count, 1);
}

static void test_tls13_duplicate_authorities(void **state)
{
    (void)state;
    struct tls_certreq r;
    /* two well-formed lists: which one a client would use is not defined, so neither is kept */
    static const uint8_t twice[] = {
        0x00, 0x00, 0x37,                                           /* context, extensions */
        0x00, 0x2f, 0x00, 0x12, 0x00, 0x10, 0x00, 0x0e, DN_A,       /* certificate_authorities */
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, /* signature_algorithms */
        0x00, 0x2f, 0x00, 0x13, 0x00, 0x11, 0x00, 0x0f, DN_B,       /* certificate_authorities */
    };
    assert_int_equal(tls_certreq13_parse(&r, twice, sizeof(twice)), TLS_E_RANGE);
    check_valid_without(twice, sizeof(twice), 23);
    /* the same list twice in a row */
    static const uint8_t same[] = {
        0x00, 0x00, 0x36,                                           /* context, extensions */
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, /* signature_algorithms */
        0x00, 0x2f, 0x00, 0x12, 0x00, 0x10, 0x00, 0x0e, DN_A,       /* certificate_authorities */
        0x00, 0x2f, 0x00, 0x12, 0x00, 0x10, 0x00, 0x0e, DN_A,       /* ... again */
    };
    assert_int_equal(tls_certreq13_parse(&r, same, sizeof(same)), TLS_E_RANGE);
    check_valid_without(same, sizeof(same), 22);
    /* a second one with an empty list after a list */
    static const uint8_t empty[] = {
        0x00, 0x00, 0x24,                               /* context, extensions */
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* signature_algorithms */
        0x00, 0x2f, 0x00, 0x12, 0x00, 0x10, 0x00, 0x0e, DN_A, 0x00, 0x2f, 0x00, 0x02, 0x00, 0x00,
    };
    assert_int_equal(tls_certreq13_parse(&r, empty, sizeof(empty)), TLS_E_RANGE);
    check_valid_without(empty, sizeof(empty), 6);
    /* repeated unknown extensions are not read, so not judged */
    static const uint8_t grease[] = {
        0x00, 0x00, 0x12,                               /* context, extensions */
        0x0a, 0x0a, 0x00, 0x00, 0x0a, 0x0a, 0x00, 0x00, /* the same GREASE value twice */
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04,
    };
    assert_int_equal(tls_certreq13_parse(&r, grease, sizeof(grease)), 0);
    assert_false(r.has_cas);
}

static void test_tls10(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq10_parse(&r, req10, sizeof(req10)), 0);
    assert_int_equal(r.version, 0x0301);
    assert_int_equal(r.cert_types_len, 2);
    assert_int_equal(r.cert_types[1], 2);
    assert_int_equal(r.sigalgs_len, 0);
    assert_true(r.has_cas);
    assert_int_equal(r.ca_count, 2);
    assert_int_equal(r.quirks, 0); /* no signature algorithms is the 1.0 layout, no quirk */
    check_prefixes(tls_certreq10_parse, req10, sizeof(req10));
    uint8_t m[sizeof(req10) + 1];
    memcpy(m, req10, sizeof(req10));
    m[sizeof(req10)] = 0;
    assert_int_equal(tls_certreq10_parse(&r, m, sizeof(m)), TLS_E_TRAILING);
    /* an empty list (RFC 2246 says <3..2^16-1>; servers send it anyway) and no types */
    static const uint8_t empty[] = {0x00, 0x00, 0x00};
    assert_int_equal(tls_certreq10_parse(&r, empty, sizeof(empty)), 0);
    assert_int_equal(r.ca_count, 0);
    assert_int_equal(r.quirks, TLS_CERTREQ_NO_CERT_TYPES);
    /* the 1.2 message is no 1.0 one (its signature list reads as the CA list), nor the reverse */
    assert_int_not_equal(tls_certreq10_parse(&r, req12, sizeof(req12)), 0);
    assert_int_not_equal(tls_certreq12_parse(&r, req10, sizeof(req10)), 0);
}

/* The layout follows the negotiated version. */
static void test_dispatch(void **state)
{
    (void)state;
    struct tls_certreq r;
    assert_int_equal(tls_certreq_parse(0x0301, &r, req10, sizeof(req10)), 0);
    assert_int_equal(r.version, 0x0301);
    assert_int_equal(tls_certreq_parse(0x0302, &r, req10, sizeof(req10)), 0);
    assert_int_equal(r.version, 0x0301);
    assert_int_equal(tls_certreq_parse(0x0303, &r, req12, sizeof(req12)), 0);
    assert_int_equal(r.version, 0x0303);
    assert_int_equal(tls_certreq_parse(0x0304, &r, req13, sizeof(req13)), 0);
    assert_int_equal(r.version, 0x0304);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_list),
        cmocka_unit_test(test_tls12_empty_list),
        cmocka_unit_test(test_tls12_truncated),
        cmocka_unit_test(test_tls12_trailing),
        cmocka_unit_test(test_tls12_overrun),
        cmocka_unit_test(test_tls12_quirks),
        cmocka_unit_test(test_tls13_list),
        cmocka_unit_test(test_tls13_no_extension),
        cmocka_unit_test(test_tls13_truncated),
        cmocka_unit_test(test_tls13_malformed),
        cmocka_unit_test(test_tls13_authorities_truncated),
        cmocka_unit_test(test_tls13_duplicate_sigalgs),
        cmocka_unit_test(test_tls13_duplicate_authorities),
        cmocka_unit_test(test_tls10),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
