/* Unit tests for tls/x509.c: the server certificate summary. The certificates mbedTLS 3.6 cannot
 * parse (Ed25519, Ed448, RSA-PSS keys; fixtures/x509) against openssl's reading of the same
 * files, fingerprints included; every other certificate of fixtures/ against mbedTLS's own parse
 * (the summary's reader replaced it: it must say the same where mbedTLS can speak); and the
 * words a malformed certificate gets instead of a summary. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/x509_crt.h>

#include "testutil.h"
#include "tls/wire/dn.h"
#include "tls/wire/error.h"
#include "tls/x509.h"

static void check_openssl_certificate(const char *name, const uint8_t *der, size_t len,
                                      const struct testutil_openssl_cert *want)
{
    struct tls_arena arena;
    tls_arena_init(&arena, 0);
    struct tls_server_cert sc;
    assert_int_equal(tls_x509_summary(&sc, &arena, der, len), 0);
    if (sc.error)
        fail_msg("%s: %s", name, sc.error);
    assert_true(sc.present);
    assert_string_equal(sc.subject, want->subject);
    assert_string_equal(sc.issuer, want->issuer);
    assert_string_equal(sc.not_before, want->not_before);
    assert_string_equal(sc.not_after, want->not_after);
    assert_memory_equal(sc.sha1, want->sha1, 20);
    assert_memory_equal(sc.sha256, want->sha256, 32);
    tls_arena_free(&arena);
}

static void test_openssl_certificates(void **state)
{
    (void)state;
    testutil_x509_each(check_openssl_certificate);
}

static const char *crt_time_text(char *buf, size_t cap, const mbedtls_x509_time *t)
{
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour, t->min,
             t->sec);
    return buf;
}

/* Every certificate of every PEM file in fixtures/DIR: the summary says what mbedTLS reads. */
static size_t agree_in(const char *dir)
{
    const char *root = getenv("CAPROBE_FIXTURES");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root ? root : "fixtures", dir);
    DIR *d = opendir(path);
    if (d == NULL)
        fail_msg("cannot open %s", path);
    size_t certs = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        char file[1400];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        mbedtls_x509_crt chain;
        mbedtls_x509_crt_init(&chain);
        if (mbedtls_x509_crt_parse_file(&chain, file) != 0)
            fail_msg("mbedTLS cannot parse every certificate of %s", file);
        for (const mbedtls_x509_crt *c = &chain; c && c->raw.len; c = c->next) {
            struct tls_arena arena;
            tls_arena_init(&arena, 0);
            struct tls_server_cert sc;
            assert_int_equal(tls_x509_summary(&sc, &arena, c->raw.p, c->raw.len), 0);
            if (sc.error)
                fail_msg("%s: %s", file, sc.error);
            char want[2048], t[32];
            assert_int_equal(
                tls_dn_format(c->subject_raw.p, c->subject_raw.len, want, sizeof(want), NULL), 0);
            assert_string_equal(sc.subject, want);
            assert_int_equal(
                tls_dn_format(c->issuer_raw.p, c->issuer_raw.len, want, sizeof(want), NULL), 0);
            assert_string_equal(sc.issuer, want);
            assert_string_equal(sc.not_before, crt_time_text(t, sizeof(t), &c->valid_from));
            assert_string_equal(sc.not_after, crt_time_text(t, sizeof(t), &c->valid_to));
            tls_arena_free(&arena);
            certs++;
        }
        mbedtls_x509_crt_free(&chain);
    }
    closedir(d);
    return certs;
}

static void test_agrees_with_mbedtls(void **state)
{
    (void)state;
    /* fixtures/pki: 675 with the bulk bundles; lab/pki: the RSA server and its chain */
    assert_true(agree_in("pki") >= 600);
    assert_true(agree_in("lab/pki") >= 3);
}

/* A certificate that is not one: fingerprints still, and where and what in words, never an
 * mbedTLS code. */
static void test_malformed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = testutil_x509("ed25519", &len, NULL);
    struct tls_arena arena;
    tls_arena_init(&arena, 0);
    struct tls_server_cert sc;
    assert_int_equal(tls_x509_summary(&sc, &arena, der, 100), 0);
    assert_true(sc.present);
    assert_null(sc.subject);
    char want[200];
    snprintf(want, sizeof(want),
             "the certificate's DER is malformed at byte 0 of 100 (Certificate: its length runs "
             "past the end of what holds it)");
    assert_string_equal(sc.error, want);

    /* a byte after the certificate */
    uint8_t *more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, der, len);
    more[len] = 0x00;
    assert_int_equal(tls_x509_summary(&sc, &arena, more, len + 1), 0);
    snprintf(want, sizeof(want),
             "the certificate's DER is malformed at byte %zu of %zu (Certificate: bytes after its "
             "last element)",
             len, len + 1);
    assert_string_equal(sc.error, want);
    free(more);

    /* not DER (test_capture's three bytes: a length of 45 octets), not a SEQUENCE */
    assert_int_equal(tls_x509_summary(&sc, &arena, (const uint8_t *)"\xde\xad\x01", 3), 0);
    assert_string_equal(sc.error, "the certificate's DER is malformed at byte 0 of 3 "
                                  "(Certificate: an encoding DER does not allow)");
    assert_int_equal(tls_x509_summary(&sc, &arena, (const uint8_t *)"\x04\x01\x00", 3), 0);
    assert_string_equal(sc.error, "the certificate's DER is malformed at byte 0 of 3 "
                                  "(Certificate: not a SEQUENCE)");
    tls_arena_free(&arena);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_certificates),
        cmocka_unit_test(test_agrees_with_mbedtls),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
