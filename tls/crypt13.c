/* TLS 1.3 record protection, read side (RFC 8446 5.2-5.4, 7.3): derives the server's key and iv
 * from a traffic secret and opens TLSCiphertext records in place with mbedTLS's AEAD ciphers.
 * Never seals a record, never touches the network, and never hands out unauthenticated
 * plaintext: mbedTLS zeroes the output when the tag does not verify. (The fuzz targets' own build
 * of this file opens records without a key instead: fuzzing.h.) */
#include "crypt13.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ccm.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/cipher.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "wire/error.h"
#include "fuzzing.h"
#include "mbedtls_err.h"

#define HDR_LEN 5
#define IV_LEN 12
#define SEQ_LEN 8
#define KEY_MAX 32
/* RFC 8446 5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
#define CIPHERTEXT_MAX ((1u << 14) + 256)
/* RFC 8446 5.4: the encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets. */
#define INNER_MAX ((1u << 14) + 1)

/* RFC 8446 5.3: every TLS 1.3 AEAD uses a 12-octet nonce (iv_length = max(8, N_MIN)). */
_Static_assert(IV_LEN >= SEQ_LEN, "the sequence number is padded into the iv");

/* RFC 8446 B.4: the five TLS 1.3 cipher suites. */
struct crypt13_suite {
    uint16_t id;
    mbedtls_cipher_type_t cipher;
    mbedtls_md_type_t md;
    size_t key_len;
    size_t tag_len;
};

static const struct crypt13_suite suites[] = {
    {.id = 0x1301,
     .cipher = MBEDTLS_CIPHER_AES_128_GCM,
     .md = MBEDTLS_MD_SHA256,
     .key_len = 16,
     .tag_len = 16},
    {.id = 0x1302,
     .cipher = MBEDTLS_CIPHER_AES_256_GCM,
     .md = MBEDTLS_MD_SHA384,
     .key_len = 32,
     .tag_len = 16},
    {.id = 0x1303,
     .cipher = MBEDTLS_CIPHER_CHACHA20_POLY1305,
     .md = MBEDTLS_MD_SHA256,
     .key_len = 32,
     .tag_len = 16},
    {.id = 0x1304,
     .cipher = MBEDTLS_CIPHER_AES_128_CCM,
     .md = MBEDTLS_MD_SHA256,
     .key_len = 16,
     .tag_len = 16},
    /* RFC 8446 B.4 / RFC 6655: CCM_8 is AES-128-CCM with an 8-octet tag. */
    {.id = 0x1305,
     .cipher = MBEDTLS_CIPHER_AES_128_CCM,
     .md = MBEDTLS_MD_SHA256,
     .key_len = 16,
     .tag_len = 8},
};

struct tls_crypt13 {
    mbedtls_cipher_context_t aead; /* holds the expanded key; zeroed by mbedtls_cipher_free */
    uint8_t iv[IV_LEN];            /* server_write_iv */
    uint64_t seq;                  /* RFC 8446 5.3: per-key read sequence number */
    size_t tag_len;
    int mbedtls_err; /* last raw mbedTLS code, kept for diagnostics */
};

static const struct crypt13_suite *suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i].id == id)
            return &suites[i];
    }
    return NULL;
}

mbedtls_md_type_t tls_crypt13_suite_md(uint16_t suite)
{
    const struct crypt13_suite *s = suite_find(suite);
    return s ? s->md : MBEDTLS_MD_NONE;
}

/* RFC 8446 7.1: HKDF-Expand-Label(Secret, Label, Context, Length) with
 * struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }. */
int tls_crypt13_expand_label(const mbedtls_md_info_t *md, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                             size_t out_len)
{
    static const char prefix[] = "tls13 ";
    size_t prefix_len = sizeof(prefix) - 1;
    size_t label_len = strlen(label);
    uint8_t info[2 + 1 + 255 + 1 + 255]; /* the largest HkdfLabel */

    if (prefix_len + label_len > 255 || ctx_len > 255 || out_len > 0xffff)
        return MBEDTLS_ERR_HKDF_BAD_INPUT_DATA;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(prefix_len + label_len);
    memcpy(info + n, prefix, prefix_len);
    n += prefix_len;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)ctx_len;
    if (ctx_len)
        memcpy(info + n, ctx, ctx_len);
    n += ctx_len;
    return mbedtls_hkdf_expand(md, secret, secret_len, info, n, out, out_len);
}

int tls_crypt13_new(struct tls_crypt13 **out, uint16_t suite, const uint8_t *secret,
                    size_t secret_len)
{
    struct tls_crypt13 *c = NULL;
    uint8_t key[KEY_MAX];
    int ret;

    if (out == NULL || (secret == NULL && secret_len > 0))
        return TLS_E_INVALID;
    *out = NULL;
    const struct crypt13_suite *s = suite_find(suite);
    if (s == NULL)
        return TLS_E_UNSUPPORTED;
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(s->md);
    const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(s->cipher);
    if (md == NULL || info == NULL)
        return TLS_E_UNSUPPORTED;
    /* RFC 8446 7.1: traffic secrets are Hash.length octets long. */
    if (secret_len != mbedtls_md_get_size(md))
        return TLS_E_UNSUPPORTED;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    mbedtls_cipher_init(&c->aead);
    c->tag_len = s->tag_len;

    /* RFC 8446 7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
     * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length). */
    ret = tls_crypt13_expand_label(md, secret, secret_len, "key", NULL, 0, key, s->key_len);
    if (ret == 0)
        ret = tls_crypt13_expand_label(md, secret, secret_len, "iv", NULL, 0, c->iv, sizeof(c->iv));
    if (ret == 0)
        ret = mbedtls_cipher_setup(&c->aead, info);
    if (ret == 0)
        ret = mbedtls_cipher_setkey(&c->aead, key, (int)(s->key_len * 8), MBEDTLS_DECRYPT);
    if (ret != 0) {
        c->mbedtls_err = ret;
        ret = tls_err_from_mbedtls(ret);
        goto out;
    }

    *out = c;
    c = NULL;
out:
    mbedtls_platform_zeroize(key, sizeof(key));
    tls_crypt13_free(c);
    return ret;
}

void tls_crypt13_free(struct tls_crypt13 *c)
{
    if (c == NULL)
        return;
    mbedtls_cipher_free(&c->aead);
    mbedtls_platform_zeroize(c, sizeof(*c));
    free(c);
}

int tls_crypt13_open(struct tls_crypt13 *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                     uint8_t *content_type, size_t *plain_len)
{
    if (c == NULL || hdr == NULL || p == NULL || content_type == NULL || plain_len == NULL)
        return TLS_E_INVALID;
    /* RFC 8446 5.2: at least the tag and the inner content type, at most 2^14 + 256; the
     * header's length field must describe exactly these octets, since it is the AAD. */
    if (len < c->tag_len + 1 || len > CIPHERTEXT_MAX)
        return TLS_E_RECORD;
    if ((((size_t)hdr[3] << 8) | hdr[4]) != len)
        return TLS_E_RECORD;
    /* RFC 8446 5.3: sequence numbers never wrap; a key must be updated before 2^64 records. */
    if (c->seq == UINT64_MAX)
        return TLS_E_LIMIT;

    /* RFC 8446 5.3: nonce = iv XOR (64-bit big-endian sequence number, left-padded to iv_length) */
    uint8_t nonce[IV_LEN];
    memcpy(nonce, c->iv, sizeof(nonce));
    for (size_t i = 0; i < SEQ_LEN; i++)
        nonce[IV_LEN - 1 - i] ^= (uint8_t)(c->seq >> (8 * i));

    /* RFC 8446 5.2: additional_data = TLSCiphertext.opaque_type || legacy_record_version ||
     * length. Decrypting in place is what mbedTLS's own record layer does (ssl_msg.c). */
    size_t olen = 0;
    int ret = 0;
    if (TLS_FUZZING_NULL_CIPHER)
        olen = len - c->tag_len; /* plaintext, then a tag nobody checks */
    else
        ret = mbedtls_cipher_auth_decrypt_ext(&c->aead, nonce, sizeof(nonce), hdr, HDR_LEN, p, len,
                                              p, len - c->tag_len, &olen, c->tag_len);
    if (ret != 0) {
        c->mbedtls_err = ret;
        return tls_err_from_mbedtls(ret);
    }
    if (olen != len - c->tag_len)
        return TLS_E_MBEDTLS;
    /* RFC 8446 5.4: a TLSInnerPlaintext longer than 2^14 + 1 is a record_overflow. */
    if (olen > INNER_MAX)
        return TLS_E_RECORD;

    /* RFC 8446 5.4: strip the zero padding; the last non-zero octet is the content type, and a
     * plaintext of zeros only is an unexpected_message. */
    size_t n = olen;
    while (n > 0 && p[n - 1] == 0)
        n--;
    if (n == 0)
        return TLS_E_DECRYPT;

    *content_type = p[n - 1];
    *plain_len = n - 1;
    c->seq++;
    return 0;
}

int tls_crypt13_open_cb(void *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                        uint8_t *content_type, size_t *plain_len)
{
    return tls_crypt13_open(c, hdr, p, len, content_type, plain_len);
}
