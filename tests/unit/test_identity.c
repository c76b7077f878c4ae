/* Unit tests for tls/identity.c: the client certificate and key --client-key presents. Every key
 * form of fixtures/pki/clients (make-clients.sh made them with openssl: PKCS#1, PKCS#8 DER,
 * SEC1 P-384, encrypted PKCS#8 and OpenSSL's Proc-Type encryption) loads; each refusal says
 * what is wrong in words and names the file: an encrypted key without or with the wrong
 * passphrase, an Ed25519 key or certificate, the key of another certificate, a certificate
 * where the key should be, a missing file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/identity.h"
#include "tls/wire/error.h"

static const char *fixture(const char *rel, char *buf, size_t cap)
{
    const char *dir = getenv("CAPROBE_FIXTURES");
    snprintf(buf, cap, "%s/%s", dir ? dir : "fixtures", rel);
    return buf;
}

/* Load cert (relative to fixtures/) with key and the passphrase file pass (NULL: none);
 * returns the code, the message in err. */
static int load(const char *cert, const char *key, const char *pass, char *err, size_t cap,
                struct tls_identity **out)
{
    char cpath[1024], kpath[1024], ppath[1024], why[1400];
    struct tls_certfile f;
    tls_certfile_init(&f);
    int rc = tls_certfile_load(&f, fixture(cert, cpath, sizeof(cpath)), why, sizeof(why));
    if (rc)
        fail_msg("%s: %s", cert, why);
    err[0] = 0;
    rc = tls_identity_load(out, &f, key[0] == '/' ? key : fixture(key, kpath, sizeof(kpath)),
                           !pass            ? NULL
                           : pass[0] == '/' ? pass
                                            : fixture(pass, ppath, sizeof(ppath)),
                           err, cap);
    tls_certfile_free(&f);
    return rc;
}

static void test_forms(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *key, *pass;
        mbedtls_pk_type_t type;
    } ok[] = {
        {"pki/client-chain.pem", "pki/client.key", NULL, MBEDTLS_PK_ECKEY},
        {"pki/clients/rsa.pem", "pki/clients/rsa-pkcs1.key", NULL, MBEDTLS_PK_RSA},
        {"pki/clients/rsa.pem", "pki/clients/rsa-pkcs8.der", NULL, MBEDTLS_PK_RSA},
        {"pki/clients/rsa.pem", "pki/clients/rsa-pkcs8-enc.key", "pki/clients/passphrase.txt",
         MBEDTLS_PK_RSA},
        {"pki/clients/rsa.pem", "pki/clients/rsa-legacy-enc.key", "pki/clients/passphrase.txt",
         MBEDTLS_PK_RSA},
        {"pki/clients/p384.pem", "pki/clients/p384-sec1.key", NULL, MBEDTLS_PK_ECKEY},
        {"pki/clients/expired-chain.pem", "pki/clients/expired.key", NULL, MBEDTLS_PK_ECKEY},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char err[2048];
        struct tls_identity *id = NULL;
        if (load(ok[i].cert, ok[i].key, ok[i].pass, err, sizeof(err), &id) != 0)
            fail_msg("case %zu (%s): %s", i, ok[i].key, err);
        assert_non_null(id);
        assert_int_equal(mbedtls_pk_get_type(&id->key), ok[i].type);
        /* the whole chain of the file is presented, the client certificate first */
        assert_true(id->chain.raw.len > 0);
        if (strstr(ok[i].cert, "chain"))
            assert_non_null(id->chain.next);
        tls_identity_free(id);
    }
    tls_identity_free(NULL);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *key, *pass;
        int rc;
        const char *want, *names;
    } bad[] = {
        {"pki/clients/rsa.pem", "pki/clients/rsa-pkcs8-enc.key", NULL, TLS_E_DER,
         "the key is encrypted: give its passphrase in a file with --client-key-password-file",
         "rsa-pkcs8-enc.key"},
        {"pki/clients/rsa.pem", "pki/clients/rsa-legacy-enc.key", NULL, TLS_E_DER,
         "the key is encrypted", "rsa-legacy-enc.key"},
        {"pki/clients/rsa.pem", "pki/clients/rsa-pkcs8-enc.key", "pki/clients/rsa.pem", TLS_E_DER,
         "does not decrypt the key", "rsa-pkcs8-enc.key"},
        {"pki/clients/ed25519.pem", "pki/clients/ed25519.key", NULL, TLS_E_UNSUPPORTED,
         "holds an Ed25519 key or signature, which mbedTLS 3.6", "ed25519.pem"},
        {"pki/clients/rsa.pem", "pki/clients/ed25519.key", NULL, TLS_E_UNSUPPORTED,
         "an Ed25519 key: mbedTLS 3.6, with which caprobe presents the certificate, cannot sign",
         "ed25519.key"},
        {"pki/clients/rsa.pem", "pki/client.key", NULL, TLS_E_DER,
         "not the key of the client certificate CN=caprobe RSA Client,O=caprobe,C=DE",
         "client.key"},
        {"pki/client.pem", "pki/clients/p384-sec1.key", NULL, TLS_E_DER,
         "not the key of the client certificate", "p384-sec1.key"},
        {"pki/client.pem", "pki/client.pem", NULL, TLS_E_DER,
         "no private key in it (no '-----BEGIN ... PRIVATE KEY-----' line); it holds a "
         "certificate",
         "client.pem"},
        {"pki/client.pem", "pki/clients/make-clients.sh", NULL, TLS_E_DER,
         "not a private key mbedTLS can read (PEM or DER", "make-clients.sh"},
        {"pki/client.pem", "/nonexistent/client.key", NULL, TLS_E_IO, "No such file",
         "/nonexistent/client.key"},
        {"pki/client.pem", "pki/client.key", "pki/clients/nonexistent.txt", TLS_E_IO,
         "--client-key-password-file", "nonexistent.txt"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[2048];
        struct tls_identity *id = (struct tls_identity *)&err; /* must come back NULL */
        int rc = load(bad[i].cert, bad[i].key, bad[i].pass, err, sizeof(err), &id);
        if (rc != bad[i].rc || id != NULL)
            fail_msg("case %zu: rc %d (want %d), '%s'", i, rc, bad[i].rc, err);
        if (strstr(err, bad[i].want) == NULL || strstr(err, bad[i].names) == NULL)
            fail_msg("case %zu: '%s' lacks '%s' or '%s'", i, err, bad[i].want, bad[i].names);
        if (strstr(err, "-0x") != NULL)
            fail_msg("case %zu: '%s' shows a raw mbedTLS code, not words", i, err);
    }
}

/* An empty passphrase file, and one whose first line is the passphrase followed by more. */
static void test_passphrase_file(void **state)
{
    (void)state;
    char path[] = "/tmp/caprobe-identity-XXXXXX", err[2048];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fputs("\n", f);
    fclose(f);
    struct tls_identity *id = NULL;
    assert_int_equal(
        load("pki/clients/rsa.pem", "pki/clients/rsa-pkcs8-enc.key", path, err, sizeof(err), &id),
        TLS_E_DER);
    assert_non_null(strstr(err, "the first line is empty"));
    f = fopen(path, "wb");
    fputs("caprobe test passphrase\r\nsecond line\n", f);
    fclose(f);
    assert_int_equal(
        load("pki/clients/rsa.pem", "pki/clients/rsa-pkcs8-enc.key", path, err, sizeof(err), &id),
        0);
    tls_identity_free(id);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_passphrase_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
