/* The capture-only ClientHello (hello.h). Tables of what is offered, and a writer into a caller's
 * fixed buffer that checks the room before every byte and fills each length once its vector is
 * written (tls/wire/wbuf.h). It must never offer what would let a server skip its certificate
 * (anonymous, PSK, SRP, NULL-authenticated suites) or announce a fallback (TLS_FALLBACK_SCSV). */
#include "hello.h"

#include <string.h>

#include "error.h"
#include "wbuf.h"

/* RFC 5246 A.5, RFC 8422, RFC 7905, RFC 6655, RFC 7251, RFC 5932, RFC 6367, RFC 6209, RFC 4162,
 * RFC 5289, RFC 5288, RFC 4492, RFC 2246: the strongest first, since many servers take the
 * client's order. min: the first version that defines the suite (AEAD and SHA-2 MACs: 1.2). */
struct suite {
    uint16_t id;
    uint16_t min;
};

#define V10 0x0301
#define V12 0x0303

static const struct suite suites[] = {
    /* ECDHE with AEAD */
    {0xc02c, V12}, /* ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
    {0xc030, V12}, /* ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0xc02b, V12}, /* ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
    {0xc02f, V12}, /* ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0xcca9, V12}, /* ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xcca8, V12}, /* ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xc0ad, V12}, /* ECDHE_ECDSA_WITH_AES_256_CCM */
    {0xc0ac, V12}, /* ECDHE_ECDSA_WITH_AES_128_CCM */
    {0xc0af, V12}, /* ECDHE_ECDSA_WITH_AES_256_CCM_8 */
    {0xc0ae, V12}, /* ECDHE_ECDSA_WITH_AES_128_CCM_8 */
    {0xc05d, V12}, /* ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384 */
    {0xc05c, V12}, /* ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256 */
    {0xc061, V12}, /* ECDHE_RSA_WITH_ARIA_256_GCM_SHA384 */
    {0xc060, V12}, /* ECDHE_RSA_WITH_ARIA_128_GCM_SHA256 */
    {0xc087, V12}, /* ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384 */
    {0xc086, V12}, /* ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256 */
    {0xc08b, V12}, /* ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384 */
    {0xc08a, V12}, /* ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 */
    /* DHE with AEAD */
    {0x009f, V12}, /* DHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0x009e, V12}, /* DHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0x00a3, V12}, /* DHE_DSS_WITH_AES_256_GCM_SHA384 */
    {0x00a2, V12}, /* DHE_DSS_WITH_AES_128_GCM_SHA256 */
    {0xccaa, V12}, /* DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xc09f, V12}, /* DHE_RSA_WITH_AES_256_CCM */
    {0xc09e, V12}, /* DHE_RSA_WITH_AES_128_CCM */
    {0xc0a3, V12}, /* DHE_RSA_WITH_AES_256_CCM_8 */
    {0xc0a2, V12}, /* DHE_RSA_WITH_AES_128_CCM_8 */
    {0xc053, V12}, /* DHE_RSA_WITH_ARIA_256_GCM_SHA384 */
    {0xc052, V12}, /* DHE_RSA_WITH_ARIA_128_GCM_SHA256 */
    {0xc07d, V12}, /* DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384 */
    {0xc07c, V12}, /* DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 */
    /* ECDHE and DHE, CBC with SHA-2 */
    {0xc024, V12}, /* ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 */
    {0xc028, V12}, /* ECDHE_RSA_WITH_AES_256_CBC_SHA384 */
    {0xc023, V12}, /* ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 */
    {0xc027, V12}, /* ECDHE_RSA_WITH_AES_128_CBC_SHA256 */
    {0xc073, V12}, /* ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384 */
    {0xc072, V12}, /* ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256 */
    {0xc077, V12}, /* ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384 */
    {0xc076, V12}, /* ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 */
    {0xc049, V12}, /* ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384 */
    {0xc048, V12}, /* ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256 */
    {0xc04d, V12}, /* ECDHE_RSA_WITH_ARIA_256_CBC_SHA384 */
    {0xc04c, V12}, /* ECDHE_RSA_WITH_ARIA_128_CBC_SHA256 */
    {0x006b, V12}, /* DHE_RSA_WITH_AES_256_CBC_SHA256 */
    {0x0067, V12}, /* DHE_RSA_WITH_AES_128_CBC_SHA256 */
    {0x006a, V12}, /* DHE_DSS_WITH_AES_256_CBC_SHA256 */
    {0x0040, V12}, /* DHE_DSS_WITH_AES_128_CBC_SHA256 */
    {0x00c4, V12}, /* DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256 */
    {0x00be, V12}, /* DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 */
    /* RSA key exchange, AEAD and CBC with SHA-2 */
    {0x009d, V12}, /* RSA_WITH_AES_256_GCM_SHA384 */
    {0x009c, V12}, /* RSA_WITH_AES_128_GCM_SHA256 */
    {0xc09d, V12}, /* RSA_WITH_AES_256_CCM */
    {0xc09c, V12}, /* RSA_WITH_AES_128_CCM */
    {0xc0a1, V12}, /* RSA_WITH_AES_256_CCM_8 */
    {0xc0a0, V12}, /* RSA_WITH_AES_128_CCM_8 */
    {0xc051, V12}, /* RSA_WITH_ARIA_256_GCM_SHA384 */
    {0xc050, V12}, /* RSA_WITH_ARIA_128_GCM_SHA256 */
    {0xc07b, V12}, /* RSA_WITH_CAMELLIA_256_GCM_SHA384 */
    {0xc07a, V12}, /* RSA_WITH_CAMELLIA_128_GCM_SHA256 */
    {0x003d, V12}, /* RSA_WITH_AES_256_CBC_SHA256 */
    {0x003c, V12}, /* RSA_WITH_AES_128_CBC_SHA256 */
    {0x00c0, V12}, /* RSA_WITH_CAMELLIA_256_CBC_SHA256 */
    {0x00ba, V12}, /* RSA_WITH_CAMELLIA_128_CBC_SHA256 */
    /* static ECDH and DH (the certificate holds the key), AEAD and SHA-2 */
    {0xc02e, V12}, /* ECDH_ECDSA_WITH_AES_256_GCM_SHA384 */
    {0xc032, V12}, /* ECDH_RSA_WITH_AES_256_GCM_SHA384 */
    {0xc02d, V12}, /* ECDH_ECDSA_WITH_AES_128_GCM_SHA256 */
    {0xc031, V12}, /* ECDH_RSA_WITH_AES_128_GCM_SHA256 */
    {0xc026, V12}, /* ECDH_ECDSA_WITH_AES_256_CBC_SHA384 */
    {0xc02a, V12}, /* ECDH_RSA_WITH_AES_256_CBC_SHA384 */
    {0xc025, V12}, /* ECDH_ECDSA_WITH_AES_128_CBC_SHA256 */
    {0xc029, V12}, /* ECDH_RSA_WITH_AES_128_CBC_SHA256 */
    {0x00a1, V12}, /* DH_RSA_WITH_AES_256_GCM_SHA384 */
    {0x00a0, V12}, /* DH_RSA_WITH_AES_128_GCM_SHA256 */
    {0x00a5, V12}, /* DH_DSS_WITH_AES_256_GCM_SHA384 */
    {0x00a4, V12}, /* DH_DSS_WITH_AES_128_GCM_SHA256 */
    {0x0069, V12}, /* DH_RSA_WITH_AES_256_CBC_SHA256 */
    {0x003f, V12}, /* DH_RSA_WITH_AES_128_CBC_SHA256 */
    {0x0068, V12}, /* DH_DSS_WITH_AES_256_CBC_SHA256 */
    {0x003e, V12}, /* DH_DSS_WITH_AES_128_CBC_SHA256 */
    /* CBC with SHA-1: TLS 1.0 and later */
    {0xc00a, V10}, /* ECDHE_ECDSA_WITH_AES_256_CBC_SHA */
    {0xc014, V10}, /* ECDHE_RSA_WITH_AES_256_CBC_SHA */
    {0xc009, V10}, /* ECDHE_ECDSA_WITH_AES_128_CBC_SHA */
    {0xc013, V10}, /* ECDHE_RSA_WITH_AES_128_CBC_SHA */
    {0x0039, V10}, /* DHE_RSA_WITH_AES_256_CBC_SHA */
    {0x0033, V10}, /* DHE_RSA_WITH_AES_128_CBC_SHA */
    {0x0038, V10}, /* DHE_DSS_WITH_AES_256_CBC_SHA */
    {0x0032, V10}, /* DHE_DSS_WITH_AES_128_CBC_SHA */
    {0x0088, V10}, /* DHE_RSA_WITH_CAMELLIA_256_CBC_SHA */
    {0x0045, V10}, /* DHE_RSA_WITH_CAMELLIA_128_CBC_SHA */
    {0x0087, V10}, /* DHE_DSS_WITH_CAMELLIA_256_CBC_SHA */
    {0x0044, V10}, /* DHE_DSS_WITH_CAMELLIA_128_CBC_SHA */
    {0x0035, V10}, /* RSA_WITH_AES_256_CBC_SHA */
    {0x002f, V10}, /* RSA_WITH_AES_128_CBC_SHA */
    {0x0084, V10}, /* RSA_WITH_CAMELLIA_256_CBC_SHA */
    {0x0041, V10}, /* RSA_WITH_CAMELLIA_128_CBC_SHA */
    {0xc005, V10}, /* ECDH_ECDSA_WITH_AES_256_CBC_SHA */
    {0xc00f, V10}, /* ECDH_RSA_WITH_AES_256_CBC_SHA */
    {0xc004, V10}, /* ECDH_ECDSA_WITH_AES_128_CBC_SHA */
    {0xc00e, V10}, /* ECDH_RSA_WITH_AES_128_CBC_SHA */
    {0x0037, V10}, /* DH_RSA_WITH_AES_256_CBC_SHA */
    {0x0036, V10}, /* DH_DSS_WITH_AES_256_CBC_SHA */
    {0x0031, V10}, /* DH_RSA_WITH_AES_128_CBC_SHA */
    {0x0030, V10}, /* DH_DSS_WITH_AES_128_CBC_SHA */
    {0x009a, V10}, /* DHE_RSA_WITH_SEED_CBC_SHA */
    {0x0099, V10}, /* DHE_DSS_WITH_SEED_CBC_SHA */
    {0x0096, V10}, /* RSA_WITH_SEED_CBC_SHA */
    {0x0007, V10}, /* RSA_WITH_IDEA_CBC_SHA */
    /* 3DES, RC4 and DES: what the oldest servers still have */
    {0xc008, V10}, /* ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA */
    {0xc012, V10}, /* ECDHE_RSA_WITH_3DES_EDE_CBC_SHA */
    {0x0016, V10}, /* DHE_RSA_WITH_3DES_EDE_CBC_SHA */
    {0x0013, V10}, /* DHE_DSS_WITH_3DES_EDE_CBC_SHA */
    {0x000a, V10}, /* RSA_WITH_3DES_EDE_CBC_SHA */
    {0xc003, V10}, /* ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA */
    {0xc00d, V10}, /* ECDH_RSA_WITH_3DES_EDE_CBC_SHA */
    {0x0010, V10}, /* DH_RSA_WITH_3DES_EDE_CBC_SHA */
    {0x000d, V10}, /* DH_DSS_WITH_3DES_EDE_CBC_SHA */
    {0xc007, V10}, /* ECDHE_ECDSA_WITH_RC4_128_SHA */
    {0xc011, V10}, /* ECDHE_RSA_WITH_RC4_128_SHA */
    {0x0005, V10}, /* RSA_WITH_RC4_128_SHA */
    {0x0004, V10}, /* RSA_WITH_RC4_128_MD5 */
    {0xc002, V10}, /* ECDH_ECDSA_WITH_RC4_128_SHA */
    {0xc00c, V10}, /* ECDH_RSA_WITH_RC4_128_SHA */
    {0x0015, V10}, /* DHE_RSA_WITH_DES_CBC_SHA */
    {0x0012, V10}, /* DHE_DSS_WITH_DES_CBC_SHA */
    {0x0009, V10}, /* RSA_WITH_DES_CBC_SHA */
    /* RFC 5746 3.3: TLS_EMPTY_RENEGOTIATION_INFO_SCSV, understood by servers that ignore
     * extensions too */
    {0x00ff, V10},
};

/* RFC 8446 4.2.3 SignatureScheme (TLS 1.2 reads each as SignatureAndHashAlgorithm, RFC 5246
 * 7.4.1.4.1): every scheme a TLS 1.2 server may sign its key exchange with. */
static const uint16_t sigalgs[] = {
    0x0403, /* ecdsa_secp256r1_sha256 */
    0x0503, /* ecdsa_secp384r1_sha384 */
    0x0603, /* ecdsa_secp521r1_sha512 */
    0x0807, /* ed25519 */
    0x0808, /* ed448 */
    0x081a, /* ecdsa_brainpoolP256r1tls13_sha256 */
    0x081b, /* ecdsa_brainpoolP384r1tls13_sha384 */
    0x081c, /* ecdsa_brainpoolP512r1tls13_sha512 */
    0x0809, /* rsa_pss_pss_sha256 */
    0x080a, /* rsa_pss_pss_sha384 */
    0x080b, /* rsa_pss_pss_sha512 */
    0x0804, /* rsa_pss_rsae_sha256 */
    0x0805, /* rsa_pss_rsae_sha384 */
    0x0806, /* rsa_pss_rsae_sha512 */
    0x0401, /* rsa_pkcs1_sha256 */
    0x0501, /* rsa_pkcs1_sha384 */
    0x0601, /* rsa_pkcs1_sha512 */
    0x0303, /* ecdsa_sha224 */
    0x0301, /* rsa_pkcs1_sha224 */
    0x0402, /* dsa_sha256 */
    0x0502, /* dsa_sha384 */
    0x0602, /* dsa_sha512 */
    0x0302, /* dsa_sha224 */
    0x0203, /* ecdsa_sha1 */
    0x0201, /* rsa_pkcs1_sha1 */
    0x0202, /* dsa_sha1 */
};

/* RFC 8422 5.1.1, RFC 7027, RFC 7919 NamedGroup */
static const uint16_t groups[] = {
    29,  /* x25519 */
    23,  /* secp256r1 */
    30,  /* x448 */
    24,  /* secp384r1 */
    25,  /* secp521r1 */
    26,  /* brainpoolP256r1 */
    27,  /* brainpoolP384r1 */
    28,  /* brainpoolP512r1 */
    22,  /* secp256k1 */
    21,  /* secp224r1 */
    256, /* ffdhe2048 */
    257, /* ffdhe3072 */
    258, /* ffdhe4096 */
    259, /* ffdhe6144 */
    260, /* ffdhe8192 */
};

enum {
    EXT_SERVER_NAME = 0,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_PADDING = 21,
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_SESSION_TICKET = 35,
};

/* RFC 7685 4: a ClientHello message of 256 to 511 bytes hangs some F5 terminators; one in that
 * range is padded to 512 bytes, as OpenSSL and browsers do. */
#define PAD_FROM 256
#define PAD_TO 512

/* RFC 5246 7.4.1.4: ExtensionType extension_type; opaque extension_data<0..2^16-1> */
static size_t open_ext(struct tls_wbuf *w, unsigned type)
{
    tls_wbuf_u16(w, type);
    return tls_wbuf_open(w, 2);
}

void tls_hello_put_server_name(struct tls_wbuf *w, const char *sni, size_t sni_len)
{
    /* RFC 6066 3: ServerName server_name_list<1..2^16-1>; NameType host_name(0); HostName */
    size_t at = open_ext(w, EXT_SERVER_NAME);
    size_t list = tls_wbuf_open(w, 2);
    tls_wbuf_u8(w, 0);
    size_t name = tls_wbuf_open(w, 2);
    tls_wbuf_put(w, sni, sni_len);
    tls_wbuf_close(w, name, 2);
    tls_wbuf_close(w, list, 2);
    tls_wbuf_close(w, at, 2);
}

static void put_extensions(struct tls_wbuf *w, const struct tls_hello_opts *o, size_t sni_len)
{
    if (o->sni)
        tls_hello_put_server_name(w, o->sni, sni_len);
    size_t at;
    /* RFC 7627 5.1 and RFC 5077 3.2: empty; not last (WebSphere 7 and 8 reject an empty last
     * extension) */
    at = open_ext(w, EXT_EXTENDED_MASTER_SECRET);
    tls_wbuf_close(w, at, 2);
    at = open_ext(w, EXT_SESSION_TICKET);
    tls_wbuf_close(w, at, 2);
    /* RFC 8422 5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>: uncompressed */
    at = open_ext(w, EXT_EC_POINT_FORMATS);
    size_t fmts = tls_wbuf_open(w, 1);
    tls_wbuf_u8(w, 0);
    tls_wbuf_close(w, fmts, 1);
    tls_wbuf_close(w, at, 2);
    /* RFC 8422 5.1.1: NamedGroup named_group_list<2..2^16-1> */
    at = open_ext(w, EXT_SUPPORTED_GROUPS);
    tls_wbuf_u16_vec(w, groups, sizeof(groups) / sizeof(groups[0]));
    tls_wbuf_close(w, at, 2);
    /* RFC 5246 7.4.1.4.1: not offered with a highest version below 1.2, where it has no
     * meaning */
    if (o->version >= V12) {
        at = open_ext(w, EXT_SIGNATURE_ALGORITHMS);
        tls_wbuf_u16_vec(w, sigalgs, sizeof(sigalgs) / sizeof(sigalgs[0]));
        tls_wbuf_close(w, at, 2);
    }
}

int tls_hello_write(const struct tls_hello_opts *o, uint8_t *out, size_t cap, size_t *len)
{
    *len = 0;
    size_t sni_len = o->sni ? strlen(o->sni) : 0;
    if (o->version < V10 || o->version > V12 ||
        (o->sni && (sni_len == 0 || sni_len > TLS_HELLO_SNI_MAX)))
        return TLS_E_INVALID;
    struct tls_wbuf w;
    tls_wbuf_fixed(&w, out, cap);
    /* RFC 5246 6.2.1: ContentType handshake(22); ProtocolVersion; uint16 length. The record
     * says TLS 1.0 whatever is offered, as real clients write it (RFC 5246 E.1). */
    tls_wbuf_u8(&w, 22);
    tls_wbuf_u16(&w, V10);
    size_t record = tls_wbuf_open(&w, 2);
    /* RFC 5246 7.4: HandshakeType client_hello(1); uint24 length */
    size_t msg = w.len;
    tls_wbuf_u8(&w, 1);
    size_t body = tls_wbuf_open(&w, 3);
    /* RFC 5246 7.4.1.2: ProtocolVersion client_version; Random random; SessionID session_id;
     * CipherSuite cipher_suites<2..2^16-2>; CompressionMethod compression_methods<1..2^8-1> */
    tls_wbuf_u16(&w, o->version);
    tls_wbuf_put(&w, o->random, 32);
    tls_wbuf_u8(&w, 0);
    size_t list = tls_wbuf_open(&w, 2);
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].min <= o->version)
            tls_wbuf_u16(&w, suites[i].id);
    tls_wbuf_close(&w, list, 2);
    tls_wbuf_u8(&w, 1);
    tls_wbuf_u8(&w, 0); /* null */
    /* Extension extensions<0..2^16-1> */
    size_t exts = tls_wbuf_open(&w, 2);
    put_extensions(&w, o, sni_len);
    size_t msg_len = w.len - msg;
    if (w.err == 0 && msg_len >= PAD_FROM && msg_len < PAD_TO) {
        /* RFC 7685 3: zero bytes; at least one, so that the last extension is not empty */
        size_t pad = PAD_TO - msg_len > 4 ? PAD_TO - msg_len - 4 : 1;
        size_t at = open_ext(&w, EXT_PADDING);
        tls_wbuf_zero(&w, pad);
        tls_wbuf_close(&w, at, 2);
    }
    tls_wbuf_close(&w, exts, 2);
    tls_wbuf_close(&w, body, 3);
    tls_wbuf_close(&w, record, 2);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}
