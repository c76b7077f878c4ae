/* The client certificate and key that mbedTLS presents (identity.h), read before the scan with
 * errors that say what is wrong in words: an encrypted key without its passphrase, a key
 * mbedTLS 3.6 has no algorithm for (Ed25519), the key of another certificate. The key file's
 * bytes and the passphrase are wiped once parsed; nothing here touches the network. */
#include "identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>

#include "mbedtls_err.h"
#include "wire/error.h"

/* RFC 8410 3: the OIDs of Ed25519 and Ed448 (1.3.101.112 and .113), DER-encoded. */
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t oid_ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};

static bool has_bytes(const uint8_t *p, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

/* "Ed25519", "Ed448" when der holds the algorithm's OID, else NULL. */
static const char *eddsa_in(const uint8_t *der, size_t len)
{
    return has_bytes(der, len, oid_ed25519, sizeof(oid_ed25519)) ? "Ed25519"
           : has_bytes(der, len, oid_ed448, sizeof(oid_ed448))   ? "Ed448"
                                                                 : NULL;
}

/* The DER of the first PEM block of text whose label ends in "PRIVATE KEY" (unencrypted
 * PKCS#8 says which algorithm the key is for), into a buffer to free; NULL when none. */
static uint8_t *pem_key_der(const char *text, size_t *der_len)
{
    const char *b = strstr(text, "PRIVATE KEY-----");
    const char *e = b ? strstr(b + 16, "-----END") : NULL;
    if (e == NULL)
        return NULL;
    b += 16;
    size_t cap = (size_t)(e - b) / 4 * 3 + 3;
    uint8_t *der = malloc(cap);
    if (der &&
        mbedtls_base64_decode(der, cap, der_len, (const unsigned char *)b, (size_t)(e - b)) != 0) {
        free(der);
        der = NULL;
    }
    return der;
}

/* Why mbedtls_pk_parse_key refused the key file path (its bytes data/len), into err. */
static int key_error(int raw, const char *path, const uint8_t *data, size_t len, bool pem,
                     char *err, size_t cap)
{
    char why[160];
    const char *text = (const char *)data;
    switch (raw) {
    case MBEDTLS_ERR_PK_PASSWORD_REQUIRED:
        snprintf(err, cap,
                 "--client-key %s: the key is encrypted: give its passphrase in a file with "
                 "--client-key-password-file FILE (its first line)",
                 path);
        return TLS_E_DER;
    case MBEDTLS_ERR_PK_PASSWORD_MISMATCH:
        snprintf(err, cap,
                 "--client-key %s: the passphrase of --client-key-password-file does not decrypt "
                 "the key",
                 path);
        return TLS_E_DER;
    case MBEDTLS_ERR_PK_UNKNOWN_PK_ALG: {
        size_t der_len = 0;
        uint8_t *der = pem ? pem_key_der(text, &der_len) : NULL;
        const char *ed = pem ? (der ? eddsa_in(der, der_len) : NULL) : eddsa_in(data, len);
        if (der)
            mbedtls_platform_zeroize(der, der_len);
        free(der);
        if (ed) {
            snprintf(err, cap,
                     "--client-key %s: an %s key: mbedTLS 3.6, with which caprobe presents the "
                     "certificate, cannot sign with %s; present an RSA or ECDSA (P-256, P-384) "
                     "certificate instead",
                     path, ed, ed);
            return TLS_E_UNSUPPORTED;
        }
        snprintf(err, cap, "--client-key %s: a key of an algorithm mbedTLS 3.6 does not know",
                 path);
        return TLS_E_UNSUPPORTED;
    }
    default:
        break;
    }
    if (pem && strstr(text, "PRIVATE KEY-----") == NULL) {
        snprintf(err, cap,
                 "--client-key %s: no private key in it (no '-----BEGIN ... PRIVATE KEY-----' "
                 "line)%s",
                 path,
                 strstr(text, "-----BEGIN CERTIFICATE-----") ? "; it holds a certificate" : "");
        return TLS_E_DER;
    }
    tls_mbedtls_strerror(raw, why, sizeof(why));
    snprintf(err, cap,
             "--client-key %s: not a private key mbedTLS can read (PEM or DER: PKCS#8, PKCS#1 "
             "RSA, SEC1 EC): %s",
             path, why);
    return TLS_E_DER;
}

/* The passphrase: the first line of path, without its line end, into buf. */
static int read_password(const char *path, char *buf, size_t cap, size_t *len, char *err,
                         size_t err_cap)
{
    uint8_t *data;
    size_t n;
    char why[1100];
    int rc = tls_certfile_read(path, &data, &n, why, sizeof(why));
    if (rc) {
        snprintf(err, err_cap, "--client-key-password-file %s", why);
        return rc;
    }
    size_t k = strcspn((const char *)data, "\r\n"); /* a NUL ends it too */
    if (k == 0 || k >= cap) {
        snprintf(err, err_cap, "--client-key-password-file %s: %s", path,
                 k == 0 ? "the first line is empty" : "the passphrase is longer than 1023 bytes");
        rc = TLS_E_DER;
    } else {
        memcpy(buf, data, k);
        *len = k;
    }
    mbedtls_platform_zeroize(data, n);
    free(data);
    return rc;
}

/* The certificates of chain into id->chain, as mbedTLS needs them to send. */
static int chain_load(struct tls_identity *id, const struct tls_certfile *chain, char *err,
                      size_t cap)
{
    if (chain->n == 0) {
        snprintf(err, cap, "--client-cert: no certificate to present");
        return TLS_E_DER;
    }
    for (size_t i = 0; i < chain->n; i++) {
        const struct tls_cert_entry *e = &chain->v[i];
        int raw = mbedtls_x509_crt_parse_der(&id->chain, e->der, e->der_len);
        if (raw == 0)
            continue;
        if (raw == MBEDTLS_ERR_X509_ALLOC_FAILED) {
            snprintf(err, cap, "--client-cert %s: out of memory", e->where);
            return TLS_E_NOMEM;
        }
        const char *ed = eddsa_in(e->der, e->der_len);
        if (ed) {
            snprintf(err, cap,
                     "--client-cert %s: %s holds an %s key or signature, which mbedTLS 3.6 (with "
                     "which caprobe presents the certificate) cannot use; --client-cert alone "
                     "still checks that it is offerable",
                     e->where, e->subject_text, ed);
            return TLS_E_UNSUPPORTED;
        }
        char why[160];
        tls_mbedtls_strerror(raw, why, sizeof(why));
        snprintf(err, cap, "--client-cert %s: mbedTLS cannot use %s to present it: %s", e->where,
                 e->subject_text, why);
        return TLS_E_DER;
    }
    return 0;
}

int tls_identity_load(struct tls_identity **out, const struct tls_certfile *chain,
                      const char *key_path, const char *password_path, char *err, size_t cap)
{
    *out = NULL;
    if (psa_crypto_init() != PSA_SUCCESS) {
        snprintf(err, cap, "--client-key: the PSA crypto library did not start");
        return TLS_E_MBEDTLS;
    }
    struct tls_identity *id = calloc(1, sizeof(*id));
    if (id == NULL) {
        snprintf(err, cap, "--client-key: out of memory");
        return TLS_E_NOMEM;
    }
    mbedtls_x509_crt_init(&id->chain);
    mbedtls_pk_init(&id->key);
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    char password[1024];
    size_t password_len = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = chain_load(id, chain, err, cap);
    if (rc)
        goto out;
    if (password_path &&
        (rc = read_password(password_path, password, sizeof(password), &password_len, err, cap)))
        goto out;
    char why[1100];
    if ((rc = tls_certfile_read(key_path, &data, &len, why, sizeof(why)))) {
        snprintf(err, cap, "--client-key %s", why);
        goto out;
    }
    static const unsigned char pers[] = "caprobe identity";
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers, sizeof(pers))) {
        snprintf(err, cap, "--client-key: the random generator did not start");
        rc = TLS_E_MBEDTLS;
        goto out;
    }
    /* PEM is parsed with its NUL counted (tls_certfile_read put one past the end), DER not */
    bool pem = strstr((const char *)data, "-----BEGIN") != NULL;
    int raw = mbedtls_pk_parse_key(&id->key, data, pem ? len + 1 : len,
                                   password_len ? (const unsigned char *)password : NULL,
                                   password_len, mbedtls_ctr_drbg_random, &drbg);
    if (raw) {
        rc = raw == MBEDTLS_ERR_PK_ALLOC_FAILED
                 ? TLS_E_NOMEM
                 : key_error(raw, key_path, data, len, pem, err, cap);
        if (rc == TLS_E_NOMEM)
            snprintf(err, cap, "--client-key %s: out of memory", key_path);
        goto out;
    }
    if (password_len) { /* the key reads without the passphrase too: it is not encrypted */
        mbedtls_pk_context plain;
        mbedtls_pk_init(&plain);
        id->password_unused = mbedtls_pk_parse_key(&plain, data, pem ? len + 1 : len, NULL, 0,
                                                   mbedtls_ctr_drbg_random, &drbg) == 0;
        mbedtls_pk_free(&plain);
    }
    if (mbedtls_pk_check_pair(&id->chain.pk, &id->key, mbedtls_ctr_drbg_random, &drbg) != 0) {
        snprintf(err, cap,
                 "--client-key %s: not the key of the client certificate %s (%s, the first "
                 "certificate of --client-cert)",
                 key_path, chain->v[0].subject_text, chain->v[0].where);
        rc = TLS_E_DER;
        goto out;
    }
    *out = id;
    id = NULL;
out:
    mbedtls_platform_zeroize(password, sizeof(password));
    if (data) {
        mbedtls_platform_zeroize(data, len);
        free(data);
    }
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    tls_identity_free(id);
    return rc;
}

void tls_identity_free(struct tls_identity *id)
{
    if (id == NULL)
        return;
    mbedtls_x509_crt_free(&id->chain);
    mbedtls_pk_free(&id->key);
    free(id);
}
