/* Unit tests for tls/wire/cert.c: the issuer, validity and subject of real certificates made by
 * `openssl req -x509 -newkey ed25519|ed448|rsa-pss` and `openssl ca` (fixtures/x509), against
 * openssl's own reading of the same files (recorded by make-x509.sh, which the x509-fixtures
 * test keeps honest); the time edges of RFC 5280 4.1.2.5; and truncated and malformed DER, which
 * must fail with the offset, field and problem, never read out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/wire/cert.h"
#include "tls/wire/dn.h"
#include "tls/wire/error.h"

static void expect_name(const uint8_t *der, size_t len, const char *want)
{
    char text[2048];
    assert_int_equal(tls_dn_format(der, len, text, sizeof(text), NULL), 0);
    assert_string_equal(text, want);
}

static void expect_time(const struct tls_cert_time *t, const char *want)
{
    char text[TLS_CERT_TIME_TEXT_SIZE];
    tls_cert_time_format(t, text);
    assert_string_equal(text, want);
}

static void check_openssl_certificate(const char *name, const uint8_t *der, size_t len,
                                      const struct testutil_openssl_cert *want)
{
    (void)name;
    struct tls_cert_fields f;
    assert_int_equal(tls_cert_read(&f, der, len), 0);
    assert_true(f.subject > der && f.subject + f.subject_len <= der + len);
    assert_true(f.issuer > der && f.issuer + f.issuer_len <= der + len);
    expect_name(f.subject, f.subject_len, want->subject);
    expect_name(f.issuer, f.issuer_len, want->issuer);
    expect_time(&f.not_before, want->not_before);
    expect_time(&f.not_after, want->not_after);
}

static void test_openssl_certificates(void **state)
{
    (void)state;
    testutil_x509_each(check_openssl_certificate);
}

/* One Time TLV of tag around text; NULL want: not a time. */
static void expect_time_tlv(uint8_t tag, const char *text, const char *want)
{
    uint8_t der[64];
    size_t n = 0;
    testutil_der_tlv(der, &n, tag, text, strlen(text));
    struct tls_cert_time t;
    int rc = tls_cert_time_parse(&t, der, n);
    if (want == NULL) {
        if (rc != TLS_E_DER)
            fail_msg("tag 0x%02x \"%s\" read as a time", tag, text);
        return;
    }
    if (rc != 0)
        fail_msg("tag 0x%02x \"%s\" not read", tag, text);
    expect_time(&t, want);
}

static void test_time_edges(void **state)
{
    (void)state;
    const uint8_t utc = 0x17, gen = 0x18;
    /* RFC 5280 4.1.2.5.1: YY 50 to 99 are 19YY, 00 to 49 are 20YY */
    expect_time_tlv(utc, "500101000000Z", "1950-01-01T00:00:00Z");
    expect_time_tlv(utc, "991231235959Z", "1999-12-31T23:59:59Z");
    expect_time_tlv(utc, "000101000000Z", "2000-01-01T00:00:00Z");
    expect_time_tlv(utc, "491231235959Z", "2049-12-31T23:59:59Z");
    /* 4.1.2.5.2 */
    expect_time_tlv(gen, "20500101000000Z", "2050-01-01T00:00:00Z");
    expect_time_tlv(gen, "99991231235959Z", "9999-12-31T23:59:59Z");
    expect_time_tlv(gen, "00000101000000Z", "0000-01-01T00:00:00Z");
    /* a CA must not use GeneralizedTime before 2050, but the time it says is plain */
    expect_time_tlv(gen, "19700101000000Z", "1970-01-01T00:00:00Z");
    /* leap years: 2000 and 2048 are, 2049, 1900 and 2100 are not */
    expect_time_tlv(utc, "000229000000Z", "2000-02-29T00:00:00Z");
    expect_time_tlv(utc, "480229120000Z", "2048-02-29T12:00:00Z");
    expect_time_tlv(utc, "490229000000Z", NULL);
    expect_time_tlv(gen, "19000229000000Z", NULL);
    expect_time_tlv(gen, "21000229000000Z", NULL);
    expect_time_tlv(gen, "24000229000000Z", "2400-02-29T00:00:00Z");
    /* fields out of range */
    expect_time_tlv(utc, "500001000000Z", NULL);
    expect_time_tlv(utc, "501301000000Z", NULL);
    expect_time_tlv(utc, "500100000000Z", NULL);
    expect_time_tlv(utc, "500132000000Z", NULL);
    expect_time_tlv(utc, "500431000000Z", NULL);
    expect_time_tlv(utc, "500101240000Z", NULL);
    expect_time_tlv(utc, "500101006000Z", NULL);
    expect_time_tlv(utc, "500101000060Z", NULL); /* no leap seconds in certificates */
    /* forms RFC 5280 excludes: no Z, no seconds, offsets, fractions, lower-case z, the other
     * type's length, signs and spaces */
    expect_time_tlv(utc, "500101000000", NULL);
    expect_time_tlv(utc, "5001010000Z", NULL);
    expect_time_tlv(utc, "500101000000+0100", NULL);
    expect_time_tlv(utc, "500101000000z", NULL);
    expect_time_tlv(gen, "20500101000000.5Z", NULL);
    expect_time_tlv(gen, "205001010000Z", NULL);
    expect_time_tlv(utc, "20500101000000Z", NULL);
    expect_time_tlv(gen, "500101000000Z", NULL);
    expect_time_tlv(utc, "5 0101000000Z", NULL);
    expect_time_tlv(utc, "-50101000000Z", NULL);
    expect_time_tlv(gen, "+9991231235959Z", NULL);
    expect_time_tlv(utc, "", NULL);
    /* not a time type: OCTET STRING, a constructed UTCTime */
    expect_time_tlv(0x04, "500101000000Z", NULL);
    expect_time_tlv(0x37, "500101000000Z", NULL);

    /* the TLV itself: trailing byte, length overrun, nothing */
    static const uint8_t trailing[] = {0x17, 0x0d, '5', '0', '0', '1', '0', '1',
                                       '0',  '0',  '0', '0', '0', '0', 'Z', 0x00};
    struct tls_cert_time t;
    assert_int_equal(tls_cert_time_parse(&t, trailing, sizeof(trailing)), TLS_E_DER);
    assert_int_equal(tls_cert_time_parse(&t, trailing, sizeof(trailing) - 1), 0);
    assert_int_equal(tls_cert_time_parse(&t, trailing, sizeof(trailing) - 2), TLS_E_DER);
    assert_int_equal(tls_cert_time_parse(&t, trailing, 0), TLS_E_DER);
    assert_int_equal(tls_cert_time_parse(&t, NULL, 15), TLS_E_DER);
}

/* ---- hand-built certificates: each part a whole TLV, then a mutation of one of them ---- */

enum part {
    P_VERSION,
    P_SERIAL,
    P_SIGNATURE,
    P_ISSUER,
    P_VALIDITY,
    P_SUBJECT,
    P_SPKI,
    P_REST, /* the optional unique identifiers and extensions */
    P_TBS_END = P_REST,
    P_SIG_ALG,
    P_SIG_VALUE,
    P_COUNT,
};

struct part_bytes {
    uint8_t b[160];
    size_t n;
};

struct built {
    uint8_t der[1024];
    size_t len;
    size_t at[P_COUNT]; /* where each part starts in der */
};

static void part_tlv(struct part_bytes *p, uint8_t tag, const void *body, size_t len)
{
    p->n = 0;
    testutil_der_tlv(p->b, &p->n, tag, body, len);
}

/* The parts of a small valid certificate: v3, serial 1, Ed25519, issuer and subject CN=test and
 * CN=leaf, valid from 1950 to 2049. */
static void parts_default(struct part_bytes *p)
{
    static const uint8_t ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    static const uint8_t v3[] = {0x02, 0x01, 0x02};
    static const uint8_t cn_test[] = {0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04,
                                      0x03, 0x0c, 0x04, 't',  'e',  's',  't'};
    static const uint8_t cn_leaf[] = {0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04,
                                      0x03, 0x0c, 0x04, 'l',  'e',  'a',  'f'};
    uint8_t tmp[96];
    size_t n = 0;
    part_tlv(&p[P_VERSION], 0xa0, v3, sizeof(v3));
    part_tlv(&p[P_SERIAL], 0x02, "\x01", 1);
    part_tlv(&p[P_SIGNATURE], 0x30, ed25519, sizeof(ed25519));
    part_tlv(&p[P_ISSUER], 0x30, cn_test, sizeof(cn_test));
    testutil_der_tlv(tmp, &n, 0x17, "500101000000Z", 13);
    testutil_der_tlv(tmp, &n, 0x17, "491231235959Z", 13);
    part_tlv(&p[P_VALIDITY], 0x30, tmp, n);
    part_tlv(&p[P_SUBJECT], 0x30, cn_leaf, sizeof(cn_leaf));
    n = 0;
    testutil_der_tlv(tmp, &n, 0x30, ed25519, sizeof(ed25519));
    uint8_t key[33] = {0};
    testutil_der_tlv(tmp, &n, 0x03, key, sizeof(key));
    part_tlv(&p[P_SPKI], 0x30, tmp, n);
    p[P_REST].n = 0;
    part_tlv(&p[P_SIG_ALG], 0x30, ed25519, sizeof(ed25519));
    uint8_t sig[65] = {0};
    part_tlv(&p[P_SIG_VALUE], 0x03, sig, sizeof(sig));
}

static void build(struct built *c, const struct part_bytes *p)
{
    uint8_t tbs[512], cert[1024];
    size_t tn = 0, cn = 0;
    size_t tbs_at[P_COUNT];
    for (int i = P_VERSION; i <= P_TBS_END; i++) {
        tbs_at[i] = tn;
        memcpy(tbs + tn, p[i].b, p[i].n);
        tn += p[i].n;
    }
    testutil_der_tlv(cert, &cn, 0x30, tbs, tn);
    size_t tbs_body = cn - tn;
    for (int i = P_SIG_ALG; i < P_COUNT; i++) {
        tbs_at[i] = cn;
        memcpy(cert + cn, p[i].b, p[i].n);
        cn += p[i].n;
    }
    c->len = 0;
    testutil_der_tlv(c->der, &c->len, 0x30, cert, cn);
    size_t outer = c->len - cn;
    for (int i = P_VERSION; i <= P_TBS_END; i++)
        c->at[i] = outer + tbs_body + tbs_at[i];
    for (int i = P_SIG_ALG; i < P_COUNT; i++)
        c->at[i] = outer + tbs_at[i];
}

/* The default certificate with part `which` replaced by tag/body (tag 0: removed). */
static void build_with(struct built *c, enum part which, uint8_t tag, const void *body, size_t len)
{
    struct part_bytes p[P_COUNT];
    parts_default(p);
    if (tag)
        part_tlv(&p[which], tag, body, len);
    else
        p[which].n = 0;
    build(c, p);
}

static void expect_fail(const struct built *c, size_t at, const char *field, const char *problem)
{
    struct tls_cert_fields f;
    assert_int_equal(tls_cert_read(&f, c->der, c->len), TLS_E_DER);
    if (f.error_at != at || strcmp(f.error_field, field) != 0 ||
        strcmp(f.error_problem, problem) != 0)
        fail_msg("got byte %zu, %s: %s; want byte %zu, %s: %s", f.error_at, f.error_field,
                 f.error_problem, at, field, problem);
}

static void test_built(void **state)
{
    (void)state;
    struct part_bytes p[P_COUNT];
    struct built c;
    struct tls_cert_fields f;
    parts_default(p);
    build(&c, p);
    assert_int_equal(tls_cert_read(&f, c.der, c.len), 0);
    expect_name(f.issuer, f.issuer_len, "CN=test");
    expect_name(f.subject, f.subject_len, "CN=leaf");
    assert_ptr_equal(f.issuer, c.der + c.at[P_ISSUER]);
    assert_ptr_equal(f.subject, c.der + c.at[P_SUBJECT]);
    expect_time(&f.not_before, "1950-01-01T00:00:00Z");
    expect_time(&f.not_after, "2049-12-31T23:59:59Z");

    /* v1: no version field */
    build_with(&c, P_VERSION, 0, NULL, 0);
    assert_int_equal(tls_cert_read(&f, c.der, c.len), 0);
    expect_name(f.subject, f.subject_len, "CN=leaf");

    /* issuerUniqueID [1], subjectUniqueID [2], extensions [3], in order */
    static const uint8_t rest[] = {0x81, 0x02, 0x00, 0xaa, 0x82, 0x02,
                                   0x00, 0xbb, 0xa3, 0x02, 0x30, 0x00};
    memcpy(p[P_REST].b, rest, sizeof(rest));
    p[P_REST].n = sizeof(rest);
    build(&c, p);
    assert_int_equal(tls_cert_read(&f, c.der, c.len), 0);
    /* ... and out of order: [3] then [1] */
    static const uint8_t disorder[] = {0xa3, 0x02, 0x30, 0x00, 0x81, 0x02, 0x00, 0xaa};
    memcpy(p[P_REST].b, disorder, sizeof(disorder));
    p[P_REST].n = sizeof(disorder);
    build(&c, p);
    expect_fail(&c, c.at[P_REST] + 4, "tbsCertificate", "bytes after its last element");
    /* an element of no type RFC 5280 places after the key */
    memcpy(p[P_REST].b, "\x04\x00", 2);
    p[P_REST].n = 2;
    build(&c, p);
    expect_fail(&c, c.at[P_REST], "tbsCertificate", "bytes after its last element");
}

static void test_malformed_fields(void **state)
{
    (void)state;
    struct built c;
    uint8_t tmp[64];
    size_t n;

    build_with(&c, P_SERIAL, 0x04, "\x01", 1);
    expect_fail(&c, c.at[P_SERIAL], "serialNumber", "not an INTEGER");
    build_with(&c, P_VERSION, 0xa0, "\x02\x01\x02\x02\x01\x00", 6);
    expect_fail(&c, c.at[P_VERSION] + 5, "version", "bytes after its last element");
    build_with(&c, P_VERSION, 0xa0, "\x04\x01\x02", 3);
    expect_fail(&c, c.at[P_VERSION] + 2, "version", "not an INTEGER");
    build_with(&c, P_SIGNATURE, 0x31, "\x06\x03\x2b\x65\x70", 5);
    expect_fail(&c, c.at[P_SIGNATURE], "signature", "not a SEQUENCE");
    build_with(&c, P_ISSUER, 0x31, "", 0);
    expect_fail(&c, c.at[P_ISSUER], "issuer", "not a SEQUENCE");

    /* validity: a SET, a third time, a time that is no date, a time of no time type */
    build_with(&c, P_VALIDITY, 0x31, "", 0);
    expect_fail(&c, c.at[P_VALIDITY], "validity", "not a SEQUENCE");
    n = 0;
    testutil_der_tlv(tmp, &n, 0x17, "500101000000Z", 13);
    testutil_der_tlv(tmp, &n, 0x17, "491231235959Z", 13);
    testutil_der_tlv(tmp, &n, 0x17, "491231235959Z", 13);
    build_with(&c, P_VALIDITY, 0x30, tmp, n);
    expect_fail(&c, c.at[P_VALIDITY] + 2 + 30, "validity", "bytes after its last element");
    n = 0;
    testutil_der_tlv(tmp, &n, 0x17, "500101000000Z", 13);
    testutil_der_tlv(tmp, &n, 0x17, "490230000000Z", 13);
    build_with(&c, P_VALIDITY, 0x30, tmp, n);
    expect_fail(&c, c.at[P_VALIDITY] + 2 + 15, "notAfter",
                "not a time of RFC 5280 4.1.2.5 (YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, a real date)");
    n = 0;
    testutil_der_tlv(tmp, &n, 0x04, "500101000000Z", 13);
    build_with(&c, P_VALIDITY, 0x30, tmp, n);
    expect_fail(&c, c.at[P_VALIDITY] + 2, "notBefore", "not a UTCTime or GeneralizedTime");
    n = 0;
    testutil_der_tlv(tmp, &n, 0x17, "500101000000Z", 13);
    build_with(&c, P_VALIDITY, 0x30, tmp, n);
    expect_fail(&c, c.at[P_VALIDITY] + 2 + 15, "notAfter", "missing");

    /* missing parts: the subject, the key, the signature */
    build_with(&c, P_SUBJECT, 0, NULL, 0);
    /* the key, a SEQUENCE too, is taken for the subject: then the key is missing */
    expect_fail(&c, c.at[P_REST], "subjectPublicKeyInfo", "missing");
    build_with(&c, P_SPKI, 0, NULL, 0);
    expect_fail(&c, c.at[P_SPKI], "subjectPublicKeyInfo", "missing");
    build_with(&c, P_SIG_VALUE, 0, NULL, 0);
    expect_fail(&c, c.len, "signatureValue", "missing");
    build_with(&c, P_SIG_VALUE, 0x04, "", 0);
    expect_fail(&c, c.at[P_SIG_VALUE], "signatureValue", "not a BIT STRING");

    /* a field whose length runs past the TBSCertificate though the certificate goes on */
    build_with(&c, P_SUBJECT, 0x30, "", 0);
    c.der[c.at[P_SUBJECT] + 1] = 0x7f;
    expect_fail(&c, c.at[P_SUBJECT], "subject", "its length runs past the end of what holds it");
    /* encodings DER does not allow: indefinite and non-minimal lengths */
    build_with(&c, P_SERIAL, 0x02, "\x01", 1);
    memcpy(c.der + c.at[P_SERIAL], "\x02\x80", 2);
    expect_fail(&c, c.at[P_SERIAL], "serialNumber", "an encoding DER does not allow");
    memcpy(c.der + c.at[P_SERIAL], "\x02\x81", 2);
    expect_fail(&c, c.at[P_SERIAL], "serialNumber", "an encoding DER does not allow");

    /* the outer SEQUENCE: bytes after it, a length past the input, nothing at all */
    struct part_bytes p[P_COUNT];
    parts_default(p);
    build(&c, p);
    c.der[c.len++] = 0x00;
    expect_fail(&c, c.len - 1, "Certificate", "bytes after its last element");
    c.len -= 2;
    expect_fail(&c, 0, "Certificate", "its length runs past the end of what holds it");
    c.len = 1;
    expect_fail(&c, 0, "Certificate", "its tag or length is cut off");
    c.len = 0;
    expect_fail(&c, 0, "Certificate", "missing");
    struct tls_cert_fields f;
    assert_int_equal(tls_cert_read(&f, NULL, 100), TLS_E_DER);
    assert_string_equal(f.error_problem, "missing");
}

/* Every prefix and every single-byte change of the openssl certificates: never a read outside
 * the input (each copy is exactly its size, for ASan and valgrind), a failure always names its
 * place inside the input, a success always gives views inside it. */
static void test_truncated_and_mutated(void **state)
{
    (void)state;
    size_t fails = 0, reads = 0;
    for (const char *const *name = testutil_x509_names; *name; name++) {
        size_t len;
        uint8_t *der = testutil_x509(*name, &len, NULL);
        for (size_t n = 0; n < len; n++) {
            uint8_t *cut = malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, der, n);
            struct tls_cert_fields f;
            assert_int_equal(tls_cert_read(&f, cut, n), TLS_E_DER);
            assert_true(f.error_at <= n && f.error_field && f.error_problem);
            free(cut);
        }
        uint8_t *m = malloc(len);
        assert_non_null(m);
        for (size_t i = 0; i < len; i++) {
            static const uint8_t values[] = {0x00, 0x01, 0x30, 0x7f, 0x80, 0x81, 0x84, 0xff};
            for (size_t v = 0; v < sizeof(values); v++) {
                memcpy(m, der, len);
                m[i] = der[i] ^ values[v];
                struct tls_cert_fields f;
                if (tls_cert_read(&f, m, len) == 0) {
                    assert_true(f.subject >= m && f.subject + f.subject_len <= m + len);
                    assert_true(f.issuer >= m && f.issuer + f.issuer_len <= m + len);
                    reads++;
                } else {
                    assert_true(f.error_at <= len && f.error_field && f.error_problem);
                    fails++;
                }
            }
        }
        free(m);
        free(der);
    }
    assert_true(reads > 0 && fails > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_certificates),
        cmocka_unit_test(test_time_edges),
        cmocka_unit_test(test_built),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_truncated_and_mutated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
