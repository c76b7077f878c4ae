/* Decoders of the server's handshake messages that the capture needs besides the
 * CertificateRequest: ServerHello (RFC 8446 4.1.3, RFC 5246 7.4.1.3) and Certificate
 * (RFC 8446 4.4.2, RFC 5246 7.4.2). Pure: views into the input, no allocation. */
#ifndef TLS_HANDSHAKE_H
#define TLS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_hs_type {
    TLS_HS_HELLO_REQUEST = 0,
    TLS_HS_SERVER_HELLO = 2,
    TLS_HS_NEW_SESSION_TICKET = 4,
    TLS_HS_ENCRYPTED_EXTENSIONS = 8,
    TLS_HS_CERTIFICATE = 11,
    TLS_HS_SERVER_KEY_EXCHANGE = 12,
    TLS_HS_CERTIFICATE_REQUEST = 13,
    TLS_HS_SERVER_HELLO_DONE = 14,
    TLS_HS_CERTIFICATE_VERIFY = 15,
    TLS_HS_FINISHED = 20,
    TLS_HS_CERTIFICATE_STATUS = 22,
    TLS_HS_KEY_UPDATE = 24,
};

struct tls_server_hello {
    uint16_t legacy_version;
    uint16_t version;      /* supported_versions when present, else legacy_version */
    const uint8_t *random; /* 32 bytes */
    uint16_t cipher_suite;
    bool hello_retry;        /* RFC 8446 4.1.3: the HelloRetryRequest random */
    bool renegotiation_info; /* RFC 5746 extension present */
    bool encrypt_then_mac;   /* RFC 7366 extension present: CBC records are MAC'd after */
    /* RFC 8446 4.2.8 key_share: the server's share (ServerHello) or the selected_group
     * (HelloRetryRequest, key_share empty); group 0 when the extension is absent */
    uint16_t key_share_group;
    const uint8_t *key_share;
    size_t key_share_len;
    const uint8_t *cookie; /* RFC 8446 4.2.2, HelloRetryRequest only; NULL when absent */
    size_t cookie_len;
};

int tls_server_hello_parse(struct tls_server_hello *out, const uint8_t *p, size_t len);

/* The first (end-entity) certificate of a Certificate message, and the count of certificates.
 * version selects the layout (0x0304: context and per-certificate extensions). A message with
 * no certificate gives *der = NULL, *count = 0. */
int tls_certificate_first(uint16_t version, const uint8_t *p, size_t len, const uint8_t **der,
                          size_t *der_len, size_t *count);

#endif
