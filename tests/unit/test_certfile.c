/* Unit tests for tls/certfile.c: PEM bundles with their line numbers, one DER certificate, and
 * the files that hold no usable certificate (each error names the file and, for PEM, the line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/certfile.h"
#include "tls/wire/error.h"

static const char *fixture_path(const char *rel, char *buf, size_t cap)
{
    const char *dir = getenv("CAPROBE_FIXTURES");
    snprintf(buf, cap, "%s/%s", dir ? dir : "fixtures", rel);
    return buf;
}

static const char *write_tmp(const char *text, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/caprobe-certfile-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
    return path;
}

static void test_bundle(void **state)
{
    (void)state;
    char path[1024], err[1400];
    struct tls_certfile f;
    tls_certfile_init(&f);
    assert_int_equal(
        tls_certfile_load(&f, fixture_path("pki/cas.pem", path, sizeof(path)), err, sizeof(err)),
        0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].subject_text, "CN=caprobe Issuing CA 1,O=caprobe,C=DE");
    assert_string_equal(f.v[0].issuer_text, "CN=caprobe Test Root,O=caprobe,C=DE");
    assert_non_null(strstr(f.v[0].where, "cas.pem:1"));
    assert_true(strstr(f.v[1].where, "cas.pem:") && strcmp(f.v[1].where, f.v[0].where) != 0);
    /* a second file appends */
    assert_int_equal(
        tls_certfile_load(&f, fixture_path("pki/other.pem", path, sizeof(path)), err, sizeof(err)),
        0);
    assert_int_equal(f.n, 3);
    tls_certfile_free(&f);
}

static void test_der_and_errors(void **state)
{
    (void)state;
    char path[1024], err[1400];
    struct tls_certfile f;
    tls_certfile_init(&f);
    /* DER: take the base64 of other.pem's certificate through the loader itself */
    assert_int_equal(
        tls_certfile_load(&f, fixture_path("pki/other.pem", path, sizeof(path)), err, sizeof(err)),
        0);
    const char *der = write_tmp((const char *)f.v[0].der, f.v[0].der_len);
    struct tls_certfile g;
    tls_certfile_init(&g);
    assert_int_equal(tls_certfile_load(&g, der, err, sizeof(err)), 0);
    assert_int_equal(g.n, 1);
    assert_memory_equal(g.v[0].subject, f.v[0].subject, f.v[0].subject_len);
    tls_certfile_free(&g);
    remove(der);
    tls_certfile_free(&f);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"just text\n", "neither PEM (no '-----BEGIN CERTIFICATE-----' line) nor a DER"},
        {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
         "no certificate in it, only a PRIVATE KEY block"},
        {"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
         "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
         "only a X509 CRL block"},
        {"\x30\x03\x02\x01\x05", "not an X.509 certificate (byte 2 of 5, "}, /* not X.509 */
        {"x\n-----BEGIN CERTIFICATE-----\nAAAA\n", ":2: BEGIN CERTIFICATE without END"},
        {"-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAA\n-----END "
         "CERTIFICATE-----\n",
         ":1: BEGIN CERTIFICATE without END"},
        {"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
         ":1: the certificate's base64"},
        {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         ":1: not an X.509 certificate ("},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *p = write_tmp(bad[i].text, strlen(bad[i].text));
        tls_certfile_init(&f);
        err[0] = 0;
        assert_int_not_equal(tls_certfile_load(&f, p, err, sizeof(err)), 0);
        if (strstr(err, bad[i].want) == NULL || strstr(err, p) == NULL)
            fail_msg("case %zu: '%s' lacks the file name or '%s'", i, err, bad[i].want);
        if (strstr(err, "-0x") != NULL)
            fail_msg("case %zu: '%s' shows a raw mbedTLS code, not words", i, err);
        tls_certfile_free(&f);
        remove(p);
    }
    tls_certfile_init(&f);
    assert_int_equal(tls_certfile_load(&f, "/nonexistent/x.pem", err, sizeof(err)), TLS_E_IO);
    assert_non_null(strstr(err, "/nonexistent/x.pem"));
    tls_certfile_free(&f);
}

/* Certificates whose key mbedTLS cannot decode (Ed25519, Ed448) are read all the same: their
 * names and validity are what --client-cert and --expect-ca use (the .txt beside each
 * certificate in fixtures/x509 is openssl's reading of it). */
static void test_eddsa(void **state)
{
    (void)state;
    static const struct {
        const char *file, *subject, *issuer;
        struct tls_cert_time not_after;
    } want[] = {
        {"x509/ed25519.der",
         "CN=ed25519.caprobe.test,OU=summary \\+ fallback,O=caprobe\\, Inc.,C=DE",
         "CN=ed25519.caprobe.test,OU=summary \\+ fallback,O=caprobe\\, Inc.,C=DE",
         {2036, 12, 2, 16, 5, 54}},
        {"x509/ed448.der",
         "emailAddress=ed448@caprobe.test,CN=ed448.caprobe.test,OU=\\#1 Ed448,O=caprobe,ST=Berlin,"
         "C=DE",
         "emailAddress=ed448@caprobe.test,CN=ed448.caprobe.test,OU=\\#1 Ed448,O=caprobe,ST=Berlin,"
         "C=DE",
         {2036, 12, 2, 16, 5, 54}},
    };
    char path[1024], err[1400];
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct tls_certfile f;
        tls_certfile_init(&f);
        err[0] = 0;
        if (tls_certfile_load(&f, fixture_path(want[i].file, path, sizeof(path)), err,
                              sizeof(err)) != 0)
            fail_msg("%s: %s", want[i].file, err);
        assert_int_equal(f.n, 1);
        assert_string_equal(f.v[0].subject_text, want[i].subject);
        assert_string_equal(f.v[0].issuer_text, want[i].issuer);
        assert_memory_equal(&f.v[0].not_after, &want[i].not_after, sizeof(want[i].not_after));
        tls_certfile_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_eddsa),
        cmocka_unit_test(test_der_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
