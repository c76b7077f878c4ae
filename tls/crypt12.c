/* TLS 1.2 record protection, read side (RFC 5246 6.2.3 and 6.3, RFC 5288, RFC 7905, RFC 7366):
 * expands the exported master secret into the server's write keys and opens TLSCiphertext records
 * in place with mbedTLS's ciphers and HMAC. Never seals a record, never touches the network, and
 * never hands out unauthenticated plaintext: on any failure the fragment is zeroed. Padding and
 * MAC checks are bounds-checked but not constant-time: this is a client-side passive reader. (The
 * fuzz targets' own build of this file opens records without a key instead: fuzzing.h.) */
#include "crypt12.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/cipher.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "wire/error.h"
#include "fuzzing.h"
#include "mbedtls_err.h"

#define HDR_LEN 5
#define SEQ_LEN 8
#define MASTER_LEN 48
#define RANDOM_LEN 32
#define AAD_LEN 13 /* RFC 5246 6.2.3.3: seq_num + type + version + length */
#define NONCE_LEN 12
#define GCM_SALT_LEN 4     /* RFC 5288 3: GCMNonce.salt, the implicit part */
#define GCM_EXPLICIT_LEN 8 /* RFC 5288 3: GCMNonce.nonce_explicit, sent in each record */
#define AEAD_TAG_LEN 16
#define CBC_BLOCK 16
#define KEY_MAX 32
#define MAC_MAX 48
/* RFC 5246 6.3: at most two MAC keys, two keys and two fixed IVs. */
#define KEY_BLOCK_MAX (2 * (MAC_MAX + KEY_MAX + NONCE_LEN))
/* RFC 5246 6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
#define CIPHERTEXT_MAX ((1u << 14) + 2048)
/* RFC 5246 6.2.1: TLSPlaintext.length MUST NOT exceed 2^14 (no compression is ever negotiated). */
#define PLAINTEXT_MAX (1u << 14)

_Static_assert(GCM_SALT_LEN + GCM_EXPLICIT_LEN == NONCE_LEN, "RFC 5288 3: a 12-octet GCM nonce");
_Static_assert(NONCE_LEN >= SEQ_LEN, "RFC 7905 2: the sequence number is padded into the iv");

enum crypt12_kind {
    CRYPT12_GCM,        /* RFC 5288: salt from the key block, explicit nonce in the record */
    CRYPT12_CHACHAPOLY, /* RFC 7905: nonce = iv XOR sequence number, nothing explicit */
    CRYPT12_CBC,        /* RFC 5246 6.2.3.2: explicit IV, HMAC, MAC-then-encrypt or RFC 7366 */
};

/* One bulk cipher + MAC + PRF combination (RFC 5246 6.3, appendix C); several suites share it. */
struct crypt12_family {
    enum crypt12_kind kind;
    mbedtls_cipher_type_t cipher;
    mbedtls_md_type_t mac; /* MBEDTLS_MD_NONE for AEAD suites (mac_key_length 0) */
    size_t key_len;        /* enc_key_length */
    size_t fixed_iv_len;   /* RFC 5246 6.3: only implicit nonces come from the key block */
};

enum crypt12_family_id {
    FAM_AES128_GCM_SHA256,
    FAM_AES256_GCM_SHA384,
    FAM_CHACHA20_POLY1305_SHA256,
    FAM_AES128_CBC_SHA,
    FAM_AES256_CBC_SHA,
    FAM_AES128_CBC_SHA256,
    FAM_AES256_CBC_SHA256,
    FAM_AES256_CBC_SHA384,
};

/* RFC 5246 appendix C, RFC 5288 and 5289, RFC 7905. In TLS 1.2 a CBC suite takes no IV from the
 * key block: each record carries its own (RFC 5246 6.2.3.2). */
static const struct crypt12_family families[] = {
    [FAM_AES128_GCM_SHA256] =
        {
            .kind = CRYPT12_GCM,
            .cipher = MBEDTLS_CIPHER_AES_128_GCM,
            .mac = MBEDTLS_MD_NONE,
            .key_len = 16,
            .fixed_iv_len = GCM_SALT_LEN,
        },
    [FAM_AES256_GCM_SHA384] =
        {
            .kind = CRYPT12_GCM,
            .cipher = MBEDTLS_CIPHER_AES_256_GCM,
            .mac = MBEDTLS_MD_NONE,
            .key_len = 32,
            .fixed_iv_len = GCM_SALT_LEN,
        },
    [FAM_CHACHA20_POLY1305_SHA256] =
        {
            .kind = CRYPT12_CHACHAPOLY,
            .cipher = MBEDTLS_CIPHER_CHACHA20_POLY1305,
            .mac = MBEDTLS_MD_NONE,
            .key_len = 32,
            .fixed_iv_len = NONCE_LEN,
        },
    [FAM_AES128_CBC_SHA] =
        {
            .kind = CRYPT12_CBC,
            .cipher = MBEDTLS_CIPHER_AES_128_CBC,
            .mac = MBEDTLS_MD_SHA1,
            .key_len = 16,
            .fixed_iv_len = 0,
        },
    [FAM_AES256_CBC_SHA] =
        {
            .kind = CRYPT12_CBC,
            .cipher = MBEDTLS_CIPHER_AES_256_CBC,
            .mac = MBEDTLS_MD_SHA1,
            .key_len = 32,
            .fixed_iv_len = 0,
        },
    [FAM_AES128_CBC_SHA256] =
        {
            .kind = CRYPT12_CBC,
            .cipher = MBEDTLS_CIPHER_AES_128_CBC,
            .mac = MBEDTLS_MD_SHA256,
            .key_len = 16,
            .fixed_iv_len = 0,
        },
    [FAM_AES256_CBC_SHA256] =
        {
            .kind = CRYPT12_CBC,
            .cipher = MBEDTLS_CIPHER_AES_256_CBC,
            .mac = MBEDTLS_MD_SHA256,
            .key_len = 32,
            .fixed_iv_len = 0,
        },
    [FAM_AES256_CBC_SHA384] =
        {
            .kind = CRYPT12_CBC,
            .cipher = MBEDTLS_CIPHER_AES_256_CBC,
            .mac = MBEDTLS_MD_SHA384,
            .key_len = 32,
            .fixed_iv_len = 0,
        },
};

static const struct {
    uint16_t id;
    enum crypt12_family_id family;
} suites[] = {
    {0xC02B, FAM_AES128_GCM_SHA256},        /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
    {0xC02F, FAM_AES128_GCM_SHA256},        /* TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0x009E, FAM_AES128_GCM_SHA256},        /* TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0x009C, FAM_AES128_GCM_SHA256},        /* TLS_RSA_WITH_AES_128_GCM_SHA256 */
    {0xC02C, FAM_AES256_GCM_SHA384},        /* TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
    {0xC030, FAM_AES256_GCM_SHA384},        /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0x009F, FAM_AES256_GCM_SHA384},        /* TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0x009D, FAM_AES256_GCM_SHA384},        /* TLS_RSA_WITH_AES_256_GCM_SHA384 */
    {0xCCA9, FAM_CHACHA20_POLY1305_SHA256}, /* TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xCCA8, FAM_CHACHA20_POLY1305_SHA256}, /* TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xCCAA, FAM_CHACHA20_POLY1305_SHA256}, /* TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xC009, FAM_AES128_CBC_SHA},           /* TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA */
    {0xC013, FAM_AES128_CBC_SHA},           /* TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA */
    {0x002F, FAM_AES128_CBC_SHA},           /* TLS_RSA_WITH_AES_128_CBC_SHA */
    {0x0033, FAM_AES128_CBC_SHA},           /* TLS_DHE_RSA_WITH_AES_128_CBC_SHA */
    {0xC00A, FAM_AES256_CBC_SHA},           /* TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA */
    {0xC014, FAM_AES256_CBC_SHA},           /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA */
    {0x0035, FAM_AES256_CBC_SHA},           /* TLS_RSA_WITH_AES_256_CBC_SHA */
    {0x0039, FAM_AES256_CBC_SHA},           /* TLS_DHE_RSA_WITH_AES_256_CBC_SHA */
    {0xC023, FAM_AES128_CBC_SHA256},        /* TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 */
    {0xC027, FAM_AES128_CBC_SHA256},        /* TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 */
    {0x003C, FAM_AES128_CBC_SHA256},        /* TLS_RSA_WITH_AES_128_CBC_SHA256 */
    {0x0067, FAM_AES128_CBC_SHA256},        /* TLS_DHE_RSA_WITH_AES_128_CBC_SHA256 */
    {0x003D, FAM_AES256_CBC_SHA256},        /* TLS_RSA_WITH_AES_256_CBC_SHA256 */
    {0x006B, FAM_AES256_CBC_SHA256},        /* TLS_DHE_RSA_WITH_AES_256_CBC_SHA256 */
    {0xC024, FAM_AES256_CBC_SHA384},        /* TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 */
    {0xC028, FAM_AES256_CBC_SHA384},        /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 */
};

struct tls_crypt12 {
    const struct crypt12_family *family;
    mbedtls_cipher_context_t cipher; /* holds the expanded server_write_key */
    mbedtls_md_context_t mac;        /* CBC: HMAC keyed with server_write_MAC_key */
    size_t mac_len;                  /* 0 for AEAD suites */
    uint8_t iv[NONCE_LEN];           /* server_write_IV: the GCM salt or the ChaCha20 iv */
    uint64_t seq;                    /* RFC 5246 6.1: read sequence number, never wraps */
    bool etm;                        /* RFC 7366 encrypt_then_mac (CBC only) */
    int mbedtls_err;                 /* last raw mbedTLS code, kept for diagnostics */
};

size_t tls_crypt12_suites(int *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]) && n < cap; i++)
        out[n++] = suites[i].id;
    return n;
}

static const struct crypt12_family *family_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i].id == id)
            return &families[suites[i].family];
    }
    return NULL;
}

int tls_crypt12_new(struct tls_crypt12 **out, uint16_t suite, mbedtls_tls_prf_types prf,
                    const uint8_t master[48], const uint8_t client_random[32],
                    const uint8_t server_random[32])
{
    struct tls_crypt12 *c = NULL;
    uint8_t kb[KEY_BLOCK_MAX], randoms[2 * RANDOM_LEN];
    int ret;

    if (out == NULL || master == NULL || client_random == NULL || server_random == NULL)
        return TLS_E_INVALID;
    *out = NULL;
    const struct crypt12_family *f = family_find(suite);
    if (f == NULL)
        return TLS_E_UNSUPPORTED;
    const mbedtls_md_info_t *mac_md =
        f->mac == MBEDTLS_MD_NONE ? NULL : mbedtls_md_info_from_type(f->mac);
    const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(f->cipher);
    if (info == NULL || (f->mac != MBEDTLS_MD_NONE && mac_md == NULL))
        return TLS_E_UNSUPPORTED;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    mbedtls_cipher_init(&c->cipher);
    mbedtls_md_init(&c->mac);
    c->family = f;
    c->mac_len = mac_md == NULL ? 0 : mbedtls_md_get_size(mac_md);

    /* RFC 5246 6.3: key_block = PRF(master_secret, "key expansion", server_random +
     * client_random), cut into client_write_MAC_key, server_write_MAC_key, client_write_key,
     * server_write_key, client_write_IV, server_write_IV. */
    size_t kb_len = 2 * (c->mac_len + f->key_len + f->fixed_iv_len);
    const uint8_t *server_mac = kb + c->mac_len;
    const uint8_t *server_key = kb + 2 * c->mac_len + f->key_len;
    const uint8_t *server_iv = kb + 2 * (c->mac_len + f->key_len) + f->fixed_iv_len;
    memcpy(randoms, server_random, RANDOM_LEN);
    memcpy(randoms + RANDOM_LEN, client_random, RANDOM_LEN);
    ret = mbedtls_ssl_tls_prf(prf, master, MASTER_LEN, "key expansion", randoms, sizeof(randoms),
                              kb, kb_len);
    if (ret == 0)
        ret = mbedtls_cipher_setup(&c->cipher, info);
    if (ret == 0)
        ret = mbedtls_cipher_setkey(&c->cipher, server_key, (int)(f->key_len * 8), MBEDTLS_DECRYPT);
    /* RFC 5246 6.2.3.2: the padding is TLS's own and checked below, not the cipher layer's. */
    if (ret == 0 && f->kind == CRYPT12_CBC)
        ret = mbedtls_cipher_set_padding_mode(&c->cipher, MBEDTLS_PADDING_NONE);
    if (ret == 0 && mac_md != NULL)
        ret = mbedtls_md_setup(&c->mac, mac_md, 1);
    if (ret == 0 && mac_md != NULL)
        ret = mbedtls_md_hmac_starts(&c->mac, server_mac, c->mac_len);
    if (ret != 0) {
        c->mbedtls_err = ret;
        ret = tls_err_from_mbedtls(ret);
        goto out;
    }
    memcpy(c->iv, server_iv, f->fixed_iv_len);

    *out = c;
    c = NULL;
out:
    mbedtls_platform_zeroize(kb, sizeof(kb));
    mbedtls_platform_zeroize(randoms, sizeof(randoms));
    tls_crypt12_free(c);
    return ret;
}

void tls_crypt12_free(struct tls_crypt12 *c)
{
    if (c == NULL)
        return;
    mbedtls_cipher_free(&c->cipher);
    mbedtls_md_free(&c->mac);
    mbedtls_platform_zeroize(c, sizeof(*c));
    free(c);
}

int tls_crypt12_set_etm(struct tls_crypt12 *c, bool on)
{
    if (c == NULL || c->seq != 0)
        return TLS_E_INVALID;
    c->etm = on;
    return 0;
}

/* RFC 5246 6.2.3.1-3: seq_num + TLSCompressed.type + TLSCompressed.version + length. */
static void pseudo_header(uint8_t out[AAD_LEN], uint64_t seq, const uint8_t hdr[HDR_LEN],
                          size_t length)
{
    for (size_t i = 0; i < SEQ_LEN; i++)
        out[i] = (uint8_t)(seq >> (8 * (SEQ_LEN - 1 - i)));
    out[8] = hdr[0];
    out[9] = hdr[1];
    out[10] = hdr[2];
    out[11] = (uint8_t)(length >> 8);
    out[12] = (uint8_t)length;
}

/* RFC 5288 3 (GCM) and RFC 7905 2 (ChaCha20-Poly1305). The plaintext ends at p[0]. */
static int open_aead(struct tls_crypt12 *c, const uint8_t *hdr, uint8_t *p, size_t len,
                     size_t *plain_len)
{
    uint8_t nonce[NONCE_LEN], aad[AAD_LEN];
    size_t explicit_len = 0;

    if (c->family->kind == CRYPT12_GCM) {
        /* struct { opaque salt[4]; opaque nonce_explicit[8]; } GCMNonce; */
        explicit_len = GCM_EXPLICIT_LEN;
        if (len < explicit_len + AEAD_TAG_LEN)
            return TLS_E_RECORD;
        memcpy(nonce, c->iv, GCM_SALT_LEN);
        memcpy(nonce + GCM_SALT_LEN, p, GCM_EXPLICIT_LEN);
    } else {
        /* nonce = client/server_write_IV XOR the 64-bit sequence number, left-padded */
        if (len < AEAD_TAG_LEN)
            return TLS_E_RECORD;
        memcpy(nonce, c->iv, NONCE_LEN);
        for (size_t i = 0; i < SEQ_LEN; i++)
            nonce[NONCE_LEN - 1 - i] ^= (uint8_t)(c->seq >> (8 * i));
    }
    size_t n = len - explicit_len - AEAD_TAG_LEN;
    pseudo_header(aad, c->seq, hdr, n);

    /* In place, as mbedTLS's own record layer does (ssl_msg.c). */
    size_t olen = 0;
    uint8_t *ct = p + explicit_len;
    int ret = 0;
    if (TLS_FUZZING_NULL_CIPHER)
        olen = n; /* plaintext, then a tag nobody checks */
    else
        ret = mbedtls_cipher_auth_decrypt_ext(&c->cipher, nonce, sizeof(nonce), aad, sizeof(aad),
                                              ct, n + AEAD_TAG_LEN, ct, n, &olen, AEAD_TAG_LEN);
    if (ret != 0) {
        c->mbedtls_err = ret;
        return tls_err_from_mbedtls(ret);
    }
    if (olen != n)
        return TLS_E_MBEDTLS;
    memmove(p, ct, n);
    *plain_len = n;
    return 0;
}

/* HMAC(MAC_write_key, seq_num + type + version + length + data), compared with want. */
static int mac_check(struct tls_crypt12 *c, const uint8_t *hdr, const uint8_t *data, size_t n,
                     const uint8_t *want)
{
    if (TLS_FUZZING_NULL_CIPHER)
        return 0;
    uint8_t ph[AAD_LEN], mac[MAC_MAX];
    pseudo_header(ph, c->seq, hdr, n);
    int ret = mbedtls_md_hmac_reset(&c->mac);
    if (ret == 0)
        ret = mbedtls_md_hmac_update(&c->mac, ph, sizeof(ph));
    if (ret == 0)
        ret = mbedtls_md_hmac_update(&c->mac, data, n);
    if (ret == 0)
        ret = mbedtls_md_hmac_finish(&c->mac, mac);
    if (ret != 0) {
        c->mbedtls_err = ret;
        return tls_err_from_mbedtls(ret);
    }
    return mbedtls_ct_memcmp(mac, want, c->mac_len) == 0 ? 0 : TLS_E_DECRYPT;
}

/* RFC 5246 6.2.3.2: GenericBlockCipher = IV + E(content + MAC + padding + padding_length); with
 * RFC 7366 the MAC follows, over IV + E(content + padding + padding_length) instead. The
 * plaintext ends at p[0]. */
static int open_cbc(struct tls_crypt12 *c, const uint8_t *hdr, uint8_t *p, size_t len,
                    size_t *plain_len)
{
    size_t mac_in = c->etm ? 0 : c->mac_len;  /* MAC octets inside the encryption */
    size_t mac_out = c->etm ? c->mac_len : 0; /* MAC octets after it */
    /* The IV and the smallest whole number of blocks that holds the padding_length octet. */
    size_t min_enc = (mac_in + 1 + CBC_BLOCK - 1) / CBC_BLOCK * CBC_BLOCK;
    if (len < CBC_BLOCK + min_enc + mac_out || (len - CBC_BLOCK - mac_out) % CBC_BLOCK != 0)
        return TLS_E_RECORD;
    size_t enc_len = len - CBC_BLOCK - mac_out;
    uint8_t *enc = p + CBC_BLOCK;

    int ret = 0;
    if (c->etm) {
        /* RFC 7366 3: length is that of IV + ENC(...), and the MAC is checked first. */
        ret = mac_check(c, hdr, p, CBC_BLOCK + enc_len, p + CBC_BLOCK + enc_len);
        if (ret != 0)
            return ret;
    }
    size_t olen = 0;
    if (TLS_FUZZING_NULL_CIPHER)
        olen = enc_len; /* the block cipher is the identity */
    else
        ret = mbedtls_cipher_crypt(&c->cipher, p, CBC_BLOCK, enc, enc_len, enc, &olen);
    if (ret != 0) {
        c->mbedtls_err = ret;
        return tls_err_from_mbedtls(ret);
    }
    if (olen != enc_len)
        return TLS_E_MBEDTLS;

    /* RFC 5246 6.2.3.2: every padding octet holds padding_length; min_enc guarantees enc_len >=
     * mac_in + 1, so neither the padding nor the MAC can reach before enc. */
    size_t pad = enc[enc_len - 1];
    if (pad + 1 + mac_in > enc_len)
        return TLS_E_DECRYPT;
    for (size_t i = enc_len - 1 - pad; i < enc_len - 1; i++) {
        if (enc[i] != pad)
            return TLS_E_DECRYPT;
    }
    size_t n = enc_len - 1 - pad - mac_in;
    if (!c->etm) {
        ret = mac_check(c, hdr, enc, n, enc + n);
        if (ret != 0)
            return ret;
    }
    memmove(p, enc, n);
    *plain_len = n;
    return 0;
}

int tls_crypt12_open(struct tls_crypt12 *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                     uint8_t *content_type, size_t *plain_len)
{
    if (c == NULL || hdr == NULL || p == NULL || content_type == NULL || plain_len == NULL)
        return TLS_E_INVALID;
    /* RFC 5246 6.2.3: at most 2^14 + 2048 octets, and the header's length must describe exactly
     * these octets, since the MAC or AAD covers the header's type and version. */
    if (len > CIPHERTEXT_MAX || (((size_t)hdr[3] << 8) | hdr[4]) != len)
        return TLS_E_RECORD;
    /* RFC 5246 6.1: sequence numbers do not wrap; a renegotiation must come first. */
    if (c->seq == UINT64_MAX)
        return TLS_E_LIMIT;

    size_t n = 0;
    int ret = TLS_E_INVALID;
    switch (c->family->kind) {
    case CRYPT12_GCM:
    case CRYPT12_CHACHAPOLY:
        ret = open_aead(c, hdr, p, len, &n);
        break;
    case CRYPT12_CBC:
        ret = open_cbc(c, hdr, p, len, &n);
        break;
    }
    /* RFC 5246 6.2.1: an authentic plaintext over 2^14 octets is a record_overflow. */
    if (ret == 0 && n > PLAINTEXT_MAX)
        ret = TLS_E_RECORD;
    if (ret != 0) {
        mbedtls_platform_zeroize(p, len);
        return ret;
    }

    *content_type = hdr[0];
    *plain_len = n;
    c->seq++;
    return 0;
}

int tls_crypt12_open_cb(void *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                        uint8_t *content_type, size_t *plain_len)
{
    return tls_crypt12_open(c, hdr, p, len, content_type, plain_len);
}
