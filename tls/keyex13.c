/* Our side of the TLS 1.3 key exchange up to the server handshake traffic secret (keyex13.h).
 * Never sends more than a ClientHello, never verifies the server, and trusts nothing the server
 * sent without a check: the chosen suite and group must be ones we offered, its key share is
 * validated before use (PSA for (EC)DHE, RFC 7919 5.1 for FFDHE).
 *
 *   HELLO1 --client_hello--> WAIT1 --ServerHello--> SECRET
 *                            WAIT1 --HelloRetryRequest--> HELLO2 --client_hello--> WAIT2
 *                            WAIT2 --ServerHello (the suite and group of the retry)--> SECRET
 *
 * Invariants: until the server's first hello names the suite, and so the hash, the first
 * ClientHello is kept as sent; from then on the transcript hash has taken every handshake
 * message exchanged (after a HelloRetryRequest, message_hash in place of the first ClientHello:
 * RFC 8446 4.4.1). The shares are those of the last ClientHello, or none while a retry waits
 * for its new one. */
#include "keyex13.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/dhm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <psa/crypto.h>
#include <sodium.h>

#include "crypt13.h"
#include "mbedtls_err.h"
#include "wire/error.h"
#include "wire/hello13.h"

#define SHARES_MAX 1     /* one share per hello (design.md) */
#define PUB_MAX 1024     /* ffdhe8192: the size of p */
#define FFDH_X_LEN 64    /* a 512-bit exponent: over twice the strength of every RFC 7919 group */
#define RECORD_MAX 16384 /* RFC 8446 5.1: TLSPlaintext.length MUST NOT exceed 2^14 */
#define HASH_MAX 64

/* RFC 7919 appendix A: the primes, all with generator 2. */
static const uint8_t ffdhe2048[] = MBEDTLS_DHM_RFC7919_FFDHE2048_P_BIN;
static const uint8_t ffdhe3072[] = MBEDTLS_DHM_RFC7919_FFDHE3072_P_BIN;
static const uint8_t ffdhe4096[] = MBEDTLS_DHM_RFC7919_FFDHE4096_P_BIN;
static const uint8_t ffdhe6144[] = MBEDTLS_DHM_RFC7919_FFDHE6144_P_BIN;
static const uint8_t ffdhe8192[] = MBEDTLS_DHM_RFC7919_FFDHE8192_P_BIN;

/* RFC 8446 4.2.7 NamedGroup: what we can compute a share for, in the order supported_groups
 * offers them. X25519, the one share of every first ClientHello, goes through libsodium: 18 times
 * faster than mbedTLS's generic bignum code, which made it most of a TLS 1.3 probe's CPU
 * (docs/design.md, "X25519 through libsodium"). The other ECDHE groups go through PSA (as
 * mbedTLS's own TLS 1.3 does); FFDHE through the bignum layer, because PSA's FFDH always takes a
 * private exponent as long as p (1.3 s for ffdhe8192, against 0.12 s with the 512-bit exponent
 * used here). The hybrid X25519MLKEM768 (0x11ec) is not offered: mbedTLS 3.6 has no ML-KEM. */
enum group_kind { GROUP_X25519, GROUP_PSA, GROUP_FFDH };

struct group {
    uint16_t id;
    enum group_kind kind;
    psa_key_type_t type; /* PSA: the key pair type */
    size_t bits;
    const uint8_t *p; /* FFDHE: the prime */
    size_t p_len;
};

#define ECC(id_, family, bits_)                                                                    \
    {                                                                                              \
        .id = (id_), .kind = GROUP_PSA, .type = PSA_KEY_TYPE_ECC_KEY_PAIR(family), .bits = (bits_) \
    }
#define FFDH(id_, prime)                                                                           \
    {                                                                                              \
        .id = (id_), .kind = GROUP_FFDH, .bits = 8 * sizeof(prime), .p = prime,                    \
        .p_len = sizeof(prime)                                                                     \
    }

#define X25519_LEN crypto_scalarmult_curve25519_BYTES /* RFC 7748 5: scalars and u-coordinates */

static const struct group groups[] = {
    {.id = 0x001d, .kind = GROUP_X25519, .bits = 255}, /* x25519 */
#if defined(PSA_WANT_ECC_SECP_R1_256)
    ECC(0x0017, PSA_ECC_FAMILY_SECP_R1, 256), /* secp256r1 */
#endif
#if defined(PSA_WANT_ECC_MONTGOMERY_448)
    ECC(0x001e, PSA_ECC_FAMILY_MONTGOMERY, 448), /* x448 */
#endif
#if defined(PSA_WANT_ECC_SECP_R1_384)
    ECC(0x0018, PSA_ECC_FAMILY_SECP_R1, 384), /* secp384r1 */
#endif
#if defined(PSA_WANT_ECC_SECP_R1_521)
    ECC(0x0019, PSA_ECC_FAMILY_SECP_R1, 521), /* secp521r1 */
#endif
#if defined(PSA_WANT_ECC_BRAINPOOL_P_R1_256)
    ECC(0x001f, PSA_ECC_FAMILY_BRAINPOOL_P_R1, 256), /* brainpoolP256r1tls13 (RFC 8734) */
#endif
#if defined(PSA_WANT_ECC_BRAINPOOL_P_R1_384)
    ECC(0x0020, PSA_ECC_FAMILY_BRAINPOOL_P_R1, 384), /* brainpoolP384r1tls13 */
#endif
#if defined(PSA_WANT_ECC_BRAINPOOL_P_R1_512)
    ECC(0x0021, PSA_ECC_FAMILY_BRAINPOOL_P_R1, 512), /* brainpoolP512r1tls13 */
#endif
    FFDH(0x0100, ffdhe2048),
    FFDH(0x0101, ffdhe3072),
    FFDH(0x0102, ffdhe4096),
    FFDH(0x0103, ffdhe6144),
    FFDH(0x0104, ffdhe8192),
};

#define GROUP_COUNT (sizeof(groups) / sizeof(groups[0]))
#define FIRST_GROUP 0x001d /* the one share of the first ClientHello, as mbedTLS's client sends */

struct share {
    const struct group *g;
    psa_key_id_t key;      /* PSA: the private key; 0 otherwise */
    uint8_t x[FFDH_X_LEN]; /* FFDHE: the private exponent; X25519: the scalar, in its first 32 */
    uint8_t pub[PUB_MAX];  /* our public value, as the key share carries it */
    size_t pub_len;
};

struct tls_keyex13 {
    char *sni;
    uint8_t random[32];
    uint8_t session_id[32];
    uint16_t offered[GROUP_COUNT];
    struct share shares[SHARES_MAX];
    size_t share_count;
    bool retried;         /* a HelloRetryRequest came */
    uint16_t retry_suite; /* its suite: the ServerHello must name the same (RFC 8446 4.1.4) */
    uint16_t retry_group; /* the group it asked for; 0 when it asked for none */
    uint8_t *cookie;
    size_t cookie_len;
    uint8_t *hello1; /* the first ClientHello, until the transcript hash starts */
    size_t hello1_len;
    mbedtls_md_context_t th; /* the transcript hash, once the suite is known */
    bool th_started;
    bool done; /* the ServerHello came: nothing more to do */
    int raw;   /* mbedTLS code behind the last TLS_E_MBEDTLS */
};

static const struct group *group_find(uint16_t id)
{
    for (size_t i = 0; i < GROUP_COUNT; i++)
        if (groups[i].id == id)
            return &groups[i];
    return NULL;
}

static void share_free(struct share *s)
{
    if (s->key)
        psa_destroy_key(s->key);
    mbedtls_platform_zeroize(s, sizeof(*s));
}

static void shares_drop(struct tls_keyex13 *k)
{
    for (size_t i = 0; i < k->share_count; i++)
        share_free(&k->shares[i]);
    k->share_count = 0;
}

static int psa_fail(struct tls_keyex13 *k, psa_status_t status)
{
    return tls_err_from_psa(status, &k->raw);
}

static int raw_fail(struct tls_keyex13 *k, int raw)
{
    k->raw = raw;
    return tls_err_from_mbedtls(raw);
}

int tls_keyex13_new(struct tls_keyex13 **out, const char *sni)
{
    *out = NULL;
    /* libsodium picks its fastest X25519 for this CPU here; later calls return at once */
    if (sodium_init() < 0)
        return TLS_E_UNSUPPORTED;
    struct tls_keyex13 *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TLS_E_NOMEM;
    mbedtls_md_init(&k->th);
    int rc = TLS_E_NOMEM;
    if (sni && (k->sni = strdup(sni)) == NULL)
        goto out;
    for (size_t i = 0; i < GROUP_COUNT; i++)
        k->offered[i] = groups[i].id;
    psa_status_t st = psa_generate_random(k->random, sizeof(k->random));
    if (st == PSA_SUCCESS)
        st = psa_generate_random(k->session_id, sizeof(k->session_id));
    if (st != PSA_SUCCESS) {
        rc = psa_fail(k, st);
        goto out;
    }
    *out = k;
    k = NULL;
    rc = 0;
out:
    tls_keyex13_free(k);
    return rc;
}

void tls_keyex13_free(struct tls_keyex13 *k)
{
    if (k == NULL)
        return;
    shares_drop(k);
    free(k->sni);
    free(k->cookie);
    free(k->hello1);
    mbedtls_md_free(&k->th);
    free(k);
}

int tls_keyex13_raw_error(const struct tls_keyex13 *k)
{
    return k->raw;
}

const char *tls_keyex13_sodium_version(void)
{
    return sodium_version_string();
}

/* FFDHE: y = 2^x mod p, or with peer set the shared secret peer^x mod p, written as long as p
 * (RFC 8446 4.2.8.1 and 7.4.1: left-padded with zeros). The peer's value must satisfy
 * 1 < peer < p - 1 (RFC 7919 5.1). */
static int ffdh(struct tls_keyex13 *k, const struct share *s, const uint8_t *peer, size_t peer_len,
                uint8_t *out)
{
    mbedtls_mpi p, base, x, r;
    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&base);
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&r);
    int raw = mbedtls_mpi_read_binary(&p, s->g->p, s->g->p_len);
    if (raw == 0)
        raw = mbedtls_mpi_read_binary(&x, s->x, sizeof(s->x));
    if (raw == 0 && peer == NULL) {
        raw = mbedtls_mpi_lset(&base, 2);
    } else if (raw == 0) {
        raw = mbedtls_mpi_read_binary(&base, peer, peer_len);
        if (raw == 0)
            raw = mbedtls_mpi_sub_int(&r, &p, 1);
        if (raw == 0 && (peer_len != s->g->p_len || mbedtls_mpi_cmp_int(&base, 1) <= 0 ||
                         mbedtls_mpi_cmp_mpi(&base, &r) >= 0))
            raw = MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
    }
    if (raw == 0)
        raw = mbedtls_mpi_exp_mod(&r, &base, &x, &p, NULL);
    if (raw == 0)
        raw = mbedtls_mpi_write_binary(&r, out, s->g->p_len);
    mbedtls_mpi_free(&p);
    mbedtls_mpi_free(&base);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&r);
    return raw ? raw_fail(k, raw) : 0;
}

/* X25519 (RFC 7748 5, RFC 8446 4.2.8.2): a random 32-byte scalar (or priv), and its public
 * u-coordinate as the key share carries it. libsodium clamps the scalar itself. */
static int x25519_share(struct tls_keyex13 *k, struct share *s, const uint8_t *priv,
                        size_t priv_len)
{
    if (priv && priv_len != X25519_LEN)
        return TLS_E_INVALID;
    if (priv) {
        memcpy(s->x, priv, X25519_LEN);
    } else {
        psa_status_t st = psa_generate_random(s->x, X25519_LEN);
        if (st != PSA_SUCCESS)
            return psa_fail(k, st);
    }
    if (crypto_scalarmult_curve25519_base(s->pub, s->x) != 0)
        return psa_fail(k, PSA_ERROR_INVALID_ARGUMENT); /* a scalar of zero after clamping */
    s->pub_len = X25519_LEN;
    return 0;
}

int tls_keyex13_add_share(struct tls_keyex13 *k, uint16_t group, const uint8_t *priv,
                          size_t priv_len)
{
    const struct group *g = group_find(group);
    if (g == NULL)
        return TLS_E_UNSUPPORTED;
    if (k->share_count == SHARES_MAX)
        return TLS_E_INVALID;
    struct share *s = &k->shares[k->share_count];
    memset(s, 0, sizeof(*s));
    s->g = g;
    int rc;
    switch (g->kind) {
    case GROUP_X25519:
        if ((rc = x25519_share(k, s, priv, priv_len)))
            goto out;
        break;
    case GROUP_FFDH:
        if (priv && priv_len != sizeof(s->x))
            return TLS_E_INVALID;
        if (priv) {
            memcpy(s->x, priv, sizeof(s->x));
        } else {
            psa_status_t st = psa_generate_random(s->x, sizeof(s->x));
            if (st != PSA_SUCCESS)
                return psa_fail(k, st);
            s->x[0] |= 0x80; /* x >= 2^511: never 0 or 1 */
        }
        if ((rc = ffdh(k, s, NULL, 0, s->pub)))
            goto out;
        s->pub_len = g->p_len;
        break;
    case GROUP_PSA: {
        psa_key_attributes_t attr = psa_key_attributes_init();
        psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_DERIVE);
        psa_set_key_algorithm(&attr, PSA_ALG_ECDH);
        psa_set_key_type(&attr, g->type);
        psa_set_key_bits(&attr, g->bits);
        psa_status_t st = priv ? psa_import_key(&attr, priv, priv_len, &s->key)
                               : psa_generate_key(&attr, &s->key);
        /* RFC 8446 4.2.8.2: X448 raw, the NIST and brainpool curves as an uncompressed point:
         * the forms PSA exports */
        if (st == PSA_SUCCESS)
            st = psa_export_public_key(s->key, s->pub, sizeof(s->pub), &s->pub_len);
        if (st != PSA_SUCCESS) {
            rc = psa_fail(k, st);
            goto out;
        }
        break;
    }
    }
    k->share_count++;
    return 0;
out:
    share_free(s);
    return rc;
}

int tls_keyex13_sent(struct tls_keyex13 *k, const uint8_t *msg, size_t len)
{
    if (k->th_started) {
        int raw = mbedtls_md_update(&k->th, msg, len);
        return raw ? raw_fail(k, raw) : 0;
    }
    if (k->hello1)
        return TLS_E_INVALID; /* a second ClientHello before the server answered the first */
    if ((k->hello1 = malloc(len ? len : 1)) == NULL)
        return TLS_E_NOMEM;
    memcpy(k->hello1, msg, len);
    k->hello1_len = len;
    return 0;
}

/* Add the server's hello (type 2: ServerHello and HelloRetryRequest alike) to the transcript
 * hash, starting it with md, the hash of the suite the hello names, if this is the first. The
 * first ClientHello goes in before, or with a retry its message_hash (RFC 8446 4.4.1):
 * 254, 00 00 Hash.length, Hash(ClientHello1). */
static int transcript_add(struct tls_keyex13 *k, const mbedtls_md_info_t *md, const uint8_t *body,
                          size_t len, bool retry)
{
    int raw = 0;
    if (!k->th_started) {
        if (k->hello1 == NULL)
            return TLS_E_INVALID; /* an answer to no hello */
        raw = mbedtls_md_setup(&k->th, md, 0);
        if (raw == 0)
            raw = mbedtls_md_starts(&k->th);
        if (raw == 0 && retry) {
            uint8_t h[4 + HASH_MAX] = {254, 0, 0, (uint8_t)mbedtls_md_get_size(md)};
            raw = mbedtls_md(md, k->hello1, k->hello1_len, h + 4);
            if (raw == 0)
                raw = mbedtls_md_update(&k->th, h, 4 + (size_t)h[3]);
        } else if (raw == 0) {
            raw = mbedtls_md_update(&k->th, k->hello1, k->hello1_len);
        }
        free(k->hello1);
        k->hello1 = NULL;
        k->th_started = true;
    }
    const uint8_t hdr[4] = {2, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    if (raw == 0)
        raw = mbedtls_md_update(&k->th, hdr, sizeof(hdr));
    if (raw == 0)
        raw = mbedtls_md_update(&k->th, body, len);
    return raw ? raw_fail(k, raw) : 0;
}

/* RFC 8446 4.1.4: the client answers a HelloRetryRequest that changes something, for a suite
 * and a group it offered and holds no share of; the first ClientHello becomes message_hash in
 * the transcript (4.4.1), and the HelloRetryRequest follows it. */
static int on_retry(struct tls_keyex13 *k, const struct tls_server_hello *sh,
                    const mbedtls_md_info_t *md, const uint8_t *body, size_t len)
{
    if (k->retried)
        return TLS_E_UNEXPECTED;
    uint16_t group = sh->key_share_group;
    if (group == 0 && sh->cookie == NULL)
        return TLS_E_UNEXPECTED;
    if (group) {
        if (group_find(group) == NULL)
            return TLS_E_UNEXPECTED;
        for (size_t i = 0; i < k->share_count; i++)
            if (k->shares[i].g->id == group)
                return TLS_E_UNEXPECTED;
    }
    if (sh->cookie) {
        free(k->cookie);
        if ((k->cookie = malloc(sh->cookie_len)) == NULL)
            return TLS_E_NOMEM;
        memcpy(k->cookie, sh->cookie, sh->cookie_len);
        k->cookie_len = sh->cookie_len;
    }
    int rc = transcript_add(k, md, body, len, true);
    if (rc)
        return rc;
    k->retried = true;
    k->retry_suite = sh->cipher_suite;
    k->retry_group = group;
    if (group)
        shares_drop(k); /* the next ClientHello carries the asked-for group alone */
    return 0;
}

/* RFC 8446 7.1: Early Secret = HKDF-Extract(0, 0); Handshake Secret =
 * HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE); server_handshake_traffic_
 * secret = Derive-Secret(Handshake Secret, "s hs traffic", ClientHello...ServerHello). */
static int schedule(struct tls_keyex13 *k, const mbedtls_md_info_t *md, const uint8_t *shared,
                    size_t shared_len, const uint8_t *th, uint8_t *out)
{
    size_t hlen = mbedtls_md_get_size(md);
    uint8_t zeros[HASH_MAX] = {0}, early[HASH_MAX], empty[HASH_MAX], derived[HASH_MAX];
    uint8_t hs[HASH_MAX];
    int raw = mbedtls_hkdf_extract(md, NULL, 0, zeros, hlen, early);
    if (raw == 0)
        raw = mbedtls_md(md, NULL, 0, empty);
    if (raw == 0)
        raw = tls_crypt13_expand_label(md, early, hlen, "derived", empty, hlen, derived, hlen);
    if (raw == 0)
        raw = mbedtls_hkdf_extract(md, derived, hlen, shared, shared_len, hs);
    if (raw == 0)
        raw = tls_crypt13_expand_label(md, hs, hlen, "s hs traffic", th, hlen, out, hlen);
    mbedtls_platform_zeroize(early, sizeof(early));
    mbedtls_platform_zeroize(derived, sizeof(derived));
    mbedtls_platform_zeroize(hs, sizeof(hs));
    return raw ? raw_fail(k, raw) : 0;
}

static int agree(struct tls_keyex13 *k, const struct share *s, const uint8_t *peer, size_t peer_len,
                 uint8_t *out, size_t *out_len)
{
    if (s->g->kind == GROUP_FFDH) {
        *out_len = s->g->p_len;
        return ffdh(k, s, peer, peer_len, out);
    }
    if (s->g->kind == GROUP_X25519) {
        /* RFC 8446 7.4.2: a share that is not 32 bytes, or one giving the all-zero secret (a
         * point of small order), is refused; libsodium returns -1 for the latter */
        if (peer_len != X25519_LEN || crypto_scalarmult_curve25519(out, s->x, peer) != 0)
            return psa_fail(k, PSA_ERROR_INVALID_ARGUMENT);
        *out_len = X25519_LEN;
        return 0;
    }
    psa_status_t st =
        psa_raw_key_agreement(PSA_ALG_ECDH, s->key, peer, peer_len, out, PUB_MAX, out_len);
    return st == PSA_SUCCESS ? 0 : psa_fail(k, st);
}

int tls_keyex13_server_hello(struct tls_keyex13 *k, const struct tls_server_hello *sh,
                             const uint8_t *body, size_t len, uint8_t *secret, size_t cap,
                             size_t *secret_len)
{
    *secret_len = 0;
    if (k->done)
        return TLS_E_UNEXPECTED;
    if (sh->version != 0x0304)
        return sh->hello_retry ? TLS_E_UNEXPECTED : 0; /* RFC 8446 4.1.4: a retry is 1.3 */
    if (!tls_hello13_offers_suite(sh->cipher_suite))
        return TLS_E_UNEXPECTED;
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(tls_crypt13_suite_md(sh->cipher_suite));
    if (md == NULL || mbedtls_md_get_size(md) > cap)
        return TLS_E_UNSUPPORTED;
    if (sh->hello_retry)
        return on_retry(k, sh, md, body, len);
    if (k->retried && sh->cipher_suite != k->retry_suite)
        return TLS_E_UNEXPECTED;
    /* RFC 8446 4.2.8: the server's share is for a group we sent a share of */
    const struct share *s = NULL;
    for (size_t i = 0; i < k->share_count; i++)
        if (k->shares[i].g->id == sh->key_share_group)
            s = &k->shares[i];
    if (s == NULL || sh->key_share == NULL)
        return TLS_E_UNEXPECTED;
    uint8_t shared[PUB_MAX], th[HASH_MAX];
    size_t shared_len = 0;
    int rc = agree(k, s, sh->key_share, sh->key_share_len, shared, &shared_len);
    if (rc == 0)
        rc = transcript_add(k, md, body, len, false);
    if (rc == 0) {
        int raw = mbedtls_md_finish(&k->th, th);
        rc = raw ? raw_fail(k, raw) : 0;
    }
    if (rc == 0)
        rc = schedule(k, md, shared, shared_len, th, secret);
    mbedtls_platform_zeroize(shared, sizeof(shared));
    if (rc)
        return rc;
    *secret_len = mbedtls_md_get_size(md);
    k->done = true;
    shares_drop(k); /* nothing more to compute */
    return 0;
}

int tls_keyex13_client_hello(struct tls_keyex13 *k, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int rc;
    if (k->share_count == 0 &&
        (rc = tls_keyex13_add_share(k, k->retry_group ? k->retry_group : FIRST_GROUP, NULL, 0)))
        return rc;
    struct tls_key_share ks[SHARES_MAX];
    for (size_t i = 0; i < k->share_count; i++) {
        ks[i].group = k->shares[i].g->id;
        ks[i].key = k->shares[i].pub;
        ks[i].len = k->shares[i].pub_len;
    }
    struct tls_hello13 h = {
        .random = k->random,
        .session_id = k->session_id,
        .sni = k->sni,
        .groups = k->offered,
        .group_count = GROUP_COUNT,
        .shares = ks,
        .share_count = k->share_count,
        .cookie = k->cookie,
        .cookie_len = k->cookie_len,
    };
    /* the fixed part is under 256 bytes: 512 leaves room to spare */
    size_t cap = 512 + (k->sni ? strlen(k->sni) : 0) + k->cookie_len;
    for (size_t i = 0; i < k->share_count; i++)
        cap += 4 + k->shares[i].pub_len;
    uint8_t *msg = malloc(cap);
    size_t n;
    if (msg == NULL)
        return TLS_E_NOMEM;
    if ((rc = tls_hello13_write(msg, cap, &n, &h)) || (rc = tls_keyex13_sent(k, msg, n)))
        goto out;
    /* RFC 8446 5.1: records of at most 2^14 bytes; legacy_record_version 0x0301 for the first
     * ClientHello, 0x0303 for every other record */
    size_t records = (n + RECORD_MAX - 1) / RECORD_MAX;
    uint8_t *rec = malloc(n + 5 * records);
    if (rec == NULL) {
        rc = TLS_E_NOMEM;
        goto out;
    }
    size_t w = 0;
    for (size_t off = 0; off < n; off += RECORD_MAX) {
        size_t frag = n - off < RECORD_MAX ? n - off : RECORD_MAX;
        rec[w++] = 22; /* handshake */
        rec[w++] = 3;
        rec[w++] = k->retried ? 3 : 1;
        rec[w++] = (uint8_t)(frag >> 8);
        rec[w++] = (uint8_t)frag;
        memcpy(rec + w, msg + off, frag);
        w += frag;
    }
    *out = rec;
    *len = w;
out:
    free(msg);
    return rc;
}
