/* ServerHello and Certificate decoding for the capture. Untrusted input: every length is
 * checked before it is read; nothing is allocated. */
#include "handshake.h"

#include <string.h>

#include "cursor.h"

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest") */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* RFC 8446 4.2.8: a HelloRetryRequest carries NamedGroup selected_group, a ServerHello one
 * KeyShareEntry { NamedGroup group; opaque key_exchange<1..2^16-1>; }. */
static int parse_key_share(struct tls_server_hello *out, struct tls_cursor data)
{
    int rc;
    if ((rc = tls_cursor_u16(&data, &out->key_share_group)))
        return rc;
    if (!out->hello_retry) {
        struct tls_cursor key;
        if ((rc = tls_cursor_vec(&data, 2, &key)))
            return rc;
        if (key.len == 0)
            return TLS_E_RANGE;
        out->key_share = key.p;
        out->key_share_len = key.len;
    }
    return tls_cursor_done(&data);
}

int tls_server_hello_parse(struct tls_server_hello *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof(*out));
    struct tls_cursor c = tls_cursor_make(p, len);
    struct tls_cursor sid, exts;
    uint8_t compression;
    int rc;

    /* ProtocolVersion legacy_version; Random random; opaque legacy_session_id_echo<0..32>;
     * CipherSuite cipher_suite; uint8 legacy_compression_method; */
    if ((rc = tls_cursor_u16(&c, &out->legacy_version)) ||
        (rc = tls_cursor_bytes(&c, 32, &out->random)) || (rc = tls_cursor_vec(&c, 1, &sid)) ||
        (rc = tls_cursor_u16(&c, &out->cipher_suite)) || (rc = tls_cursor_u8(&c, &compression)))
        return rc;
    if (sid.len > 32)
        return TLS_E_RANGE;
    out->version = out->legacy_version;
    out->hello_retry = memcmp(out->random, hrr_random, 32) == 0;
    if (c.len == 0)
        return 0; /* RFC 5246 7.4.1.3: extensions may be absent */
    /* Extension extensions<6..2^16-1> */
    if ((rc = tls_cursor_vec(&c, 2, &exts)) || (rc = tls_cursor_done(&c)))
        return rc;
    while (exts.len) {
        uint16_t type;
        struct tls_cursor data;
        if ((rc = tls_cursor_u16(&exts, &type)) || (rc = tls_cursor_vec(&exts, 2, &data)))
            return rc;
        if (type == 43) {
            /* RFC 8446 4.2.1: ServerHello carries one ProtocolVersion selected_version */
            if ((rc = tls_cursor_u16(&data, &out->version)) || (rc = tls_cursor_done(&data)))
                return rc;
        } else if (type == 0xff01) {
            out->renegotiation_info = true;
        } else if (type == 22) {
            /* RFC 7366 2: the server's encrypt_then_mac extension is empty */
            if ((rc = tls_cursor_done(&data)))
                return rc;
            out->encrypt_then_mac = true;
        } else if (type == 51 && (rc = parse_key_share(out, data))) {
            return rc;
        } else if (type == 44 && out->hello_retry) {
            /* RFC 8446 4.2.2: struct { opaque cookie<1..2^16-1>; } Cookie; */
            struct tls_cursor cookie;
            if ((rc = tls_cursor_vec(&data, 2, &cookie)) || (rc = tls_cursor_done(&data)))
                return rc;
            if (cookie.len == 0)
                return TLS_E_RANGE;
            out->cookie = cookie.p;
            out->cookie_len = cookie.len;
        }
    }
    return 0;
}

int tls_certificate_first(uint16_t version, const uint8_t *p, size_t len, const uint8_t **der,
                          size_t *der_len, size_t *count)
{
    struct tls_cursor c = tls_cursor_make(p, len);
    struct tls_cursor list, ctx;
    int rc;
    *der = NULL;
    *der_len = 0;
    *count = 0;
    if (version >= 0x0304) {
        /* RFC 8446 4.4.2: opaque certificate_request_context<0..2^8-1>; */
        if ((rc = tls_cursor_vec(&c, 1, &ctx)))
            return rc;
    }
    /* CertificateEntry certificate_list<0..2^24-1> (1.2: ASN.1Cert certificate_list) */
    if ((rc = tls_cursor_vec(&c, 3, &list)) || (rc = tls_cursor_done(&c)))
        return rc;
    while (list.len) {
        struct tls_cursor cert, exts;
        /* opaque cert_data<1..2^24-1> */
        if ((rc = tls_cursor_vec(&list, 3, &cert)))
            return rc;
        if (cert.len == 0)
            return TLS_E_RANGE;
        /* 1.3: Extension extensions<0..2^16-1> after each certificate */
        if (version >= 0x0304 && (rc = tls_cursor_vec(&list, 2, &exts)))
            return rc;
        if (*count == 0) {
            *der = cert.p;
            *der_len = cert.len;
        }
        (*count)++;
    }
    return 0;
}
