/* Writes caprobe's TLS 1.3 ClientHello (hello13.h). Only ever writes into the caller's buffer;
 * it decides what is offered, never what is computed: the key shares come from the caller. */
#include "hello13.h"

#include <string.h>

#include "error.h"
#include "hello.h"
#include "wbuf.h"

/* RFC 8446 B.4: every TLS 1.3 suite; tls/crypt13.c opens records of each. */
static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};

/* RFC 8446 4.2.3 and the registry after it. The server signs its CertificateVerify with one of
 * these and must find one that fits its certificate, or it ends the handshake before the
 * CertificateRequest: so every scheme a server certificate may need is offered, whether or not
 * anything in caprobe could verify it. Order: the common ones first. */
static const uint16_t sigalgs[] = {
    0x0403, /* ecdsa_secp256r1_sha256 */
    0x0503, /* ecdsa_secp384r1_sha384 */
    0x0603, /* ecdsa_secp521r1_sha512 */
    0x0807, /* ed25519 */
    0x0808, /* ed448 */
    0x0804, /* rsa_pss_rsae_sha256 */
    0x0805, /* rsa_pss_rsae_sha384 */
    0x0806, /* rsa_pss_rsae_sha512 */
    0x0809, /* rsa_pss_pss_sha256: RSASSA-PSS certificate keys */
    0x080a, /* rsa_pss_pss_sha384 */
    0x080b, /* rsa_pss_pss_sha512 */
    0x081a, /* ecdsa_brainpoolP256r1tls13_sha256 (RFC 8734) */
    0x081b, /* ecdsa_brainpoolP384r1tls13_sha384 */
    0x081c, /* ecdsa_brainpoolP512r1tls13_sha512 */
    0x0904, /* mldsa44 (draft-ietf-tls-mldsa) */
    0x0905, /* mldsa65 */
    0x0906, /* mldsa87 */
    0x0401, /* rsa_pkcs1_sha256: RFC 8446 4.2.3, certificate signatures only */
    0x0501, /* rsa_pkcs1_sha384 */
    0x0601, /* rsa_pkcs1_sha512 */
    0x0203, /* ecdsa_sha1: legacy, certificate signatures only */
    0x0201, /* rsa_pkcs1_sha1 */
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8446 4.2: extension types */
enum {
    EXT_SUPPORTED_GROUPS = 10,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_COOKIE = 44,
    EXT_KEY_SHARE = 51,
};

bool tls_hello13_offers_suite(uint16_t suite)
{
    for (size_t i = 0; i < ARRAY_LEN(suites); i++)
        if (suites[i] == suite)
            return true;
    return false;
}

const uint16_t *tls_hello13_sigalgs(size_t *count)
{
    *count = ARRAY_LEN(sigalgs);
    return sigalgs;
}

static bool valid(const struct tls_hello13 *h)
{
    if (h->random == NULL || h->session_id == NULL || h->group_count == 0 ||
        h->group_count > 0x7fff || h->share_count == 0)
        return false;
    if (h->sni && (h->sni[0] == '\0' || strlen(h->sni) > 255))
        return false;
    /* RFC 8446 4.2.2: opaque cookie<1..2^16-1> */
    if (h->cookie && (h->cookie_len == 0 || h->cookie_len > 0xffff))
        return false;
    for (size_t i = 0; i < h->share_count; i++) {
        /* RFC 8446 4.2.8: opaque key_exchange<1..2^16-1> */
        if (h->shares[i].len == 0 || h->shares[i].len > 0xffff)
            return false;
    }
    return true;
}

int tls_hello13_write(uint8_t *buf, size_t cap, size_t *len, const struct tls_hello13 *h)
{
    *len = 0;
    if (!valid(h))
        return TLS_E_INVALID;
    struct tls_wbuf w;
    tls_wbuf_fixed(&w, buf, cap);
    tls_wbuf_u8(&w, 1); /* RFC 8446 4: client_hello */
    size_t body = tls_wbuf_open(&w, 3);
    /* RFC 8446 4.1.2: ProtocolVersion legacy_version = 0x0303; Random random;
     * opaque legacy_session_id<0..32>; CipherSuite cipher_suites<2..2^16-2>;
     * opaque legacy_compression_methods<1..2^8-1>; Extension extensions<8..2^16-1>; */
    tls_wbuf_u16(&w, 0x0303);
    tls_wbuf_put(&w, h->random, 32);
    tls_wbuf_u8(&w, 32);
    tls_wbuf_put(&w, h->session_id, 32);
    tls_wbuf_u16_vec(&w, suites, ARRAY_LEN(suites));
    tls_wbuf_u8(&w, 1);
    tls_wbuf_u8(&w, 0); /* null compression */
    size_t exts = tls_wbuf_open(&w, 2);

    if (h->sni)
        tls_hello_put_server_name(&w, h->sni, strlen(h->sni));
    /* RFC 8446 4.2.7: NamedGroup named_group_list<2..2^16-1> */
    tls_wbuf_u16(&w, EXT_SUPPORTED_GROUPS);
    size_t data = tls_wbuf_open(&w, 2);
    tls_wbuf_u16_vec(&w, h->groups, h->group_count);
    tls_wbuf_close(&w, data, 2);
    /* RFC 8446 4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2> */
    tls_wbuf_u16(&w, EXT_SIGNATURE_ALGORITHMS);
    data = tls_wbuf_open(&w, 2);
    tls_wbuf_u16_vec(&w, sigalgs, ARRAY_LEN(sigalgs));
    tls_wbuf_close(&w, data, 2);
    /* RFC 8446 4.2.1: ProtocolVersion versions<2..254>: TLS 1.3 only */
    tls_wbuf_u16(&w, EXT_SUPPORTED_VERSIONS);
    data = tls_wbuf_open(&w, 2);
    size_t versions = tls_wbuf_open(&w, 1);
    tls_wbuf_u16(&w, 0x0304);
    tls_wbuf_close(&w, versions, 1);
    tls_wbuf_close(&w, data, 2);
    if (h->cookie) {
        /* RFC 8446 4.2.2: struct { opaque cookie<1..2^16-1>; } Cookie; */
        tls_wbuf_u16(&w, EXT_COOKIE);
        data = tls_wbuf_open(&w, 2);
        size_t cookie = tls_wbuf_open(&w, 2);
        tls_wbuf_put(&w, h->cookie, h->cookie_len);
        tls_wbuf_close(&w, cookie, 2);
        tls_wbuf_close(&w, data, 2);
    }
    /* RFC 8446 4.2.8: KeyShareEntry client_shares<0..2^16-1> */
    tls_wbuf_u16(&w, EXT_KEY_SHARE);
    data = tls_wbuf_open(&w, 2);
    size_t shares = tls_wbuf_open(&w, 2);
    for (size_t i = 0; i < h->share_count; i++) {
        tls_wbuf_u16(&w, h->shares[i].group);
        size_t key = tls_wbuf_open(&w, 2);
        tls_wbuf_put(&w, h->shares[i].key, h->shares[i].len);
        tls_wbuf_close(&w, key, 2);
    }
    tls_wbuf_close(&w, shares, 2);
    tls_wbuf_close(&w, data, 2);

    tls_wbuf_close(&w, exts, 2);
    tls_wbuf_close(&w, body, 3);
    if (w.err) /* TLS_E_SPACE, or TLS_E_RANGE: a vector too long for its length */
        return TLS_E_SPACE;
    *len = w.len;
    return 0;
}
