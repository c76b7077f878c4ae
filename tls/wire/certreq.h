/* CertificateRequest parsers for TLS 1.0 and 1.1 (RFC 2246 and RFC 4346 7.4.4), TLS 1.2 (RFC 5246
 * 7.4.4) and TLS 1.3 (RFC 8446 4.3.2). Pure: the result holds views into the message body,
 * nothing is allocated. */
#ifndef TLS_CERTREQ_H
#define TLS_CERTREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* Deviations from the RFC's ranges that still leave the message decodable: kept as data so
 * that a report can name them instead of dropping the list. */
enum tls_certreq_quirk {
    TLS_CERTREQ_NO_CERT_TYPES = 1 << 0,    /* <= 1.2: certificate_types<1..2^8-1> was empty */
    TLS_CERTREQ_NO_SIGALGS = 1 << 1,       /* supported_signature_algorithms shorter than 2 */
    TLS_CERTREQ_ODD_SIGALGS = 1 << 2,      /* a signature algorithm list of odd length */
    TLS_CERTREQ_CA_EXT_TOO_SHORT = 1 << 3, /* 1.3: certificate_authorities<3..2^16-1> under 3 */
    TLS_CERTREQ_EMPTY_DN = 1 << 4,         /* a DistinguishedName<1..2^16-1> of length 0 */
};

struct tls_certreq {
    uint16_t version; /* 0x0301 (1.0 and 1.1), 0x0303 or 0x0304: which layout was parsed */
    /* 1.3 only */
    const uint8_t *context;
    size_t context_len;
    /* 1.0 to 1.2: ClientCertificateType values, one byte each */
    const uint8_t *cert_types;
    size_t cert_types_len;
    /* SignatureScheme list, 2 bytes each (1.3: the signature_algorithms extension; 1.0 and 1.1
     * have none) */
    const uint8_t *sigalgs;
    size_t sigalgs_len;
    /* certificate_authorities: the body of the list (entries with their 2-byte lengths) */
    bool has_cas; /* 1.3: the extension was present; 1.0 to 1.2: always true */
    const uint8_t *cas;
    size_t cas_len;
    size_t ca_count;
    unsigned quirks; /* enum tls_certreq_quirk bits */
};

/* Parse the body of a CertificateRequest (without the 4-byte handshake header). Every length is
 * checked; entries of the CA list must exactly fill it. TLS_E_TRUNCATED, TLS_E_LENGTH,
 * TLS_E_TRAILING or TLS_E_RANGE on malformed input. */
int tls_certreq10_parse(struct tls_certreq *out, const uint8_t *p, size_t len);
int tls_certreq12_parse(struct tls_certreq *out, const uint8_t *p, size_t len);
int tls_certreq13_parse(struct tls_certreq *out, const uint8_t *p, size_t len);
/* The parser of the layout of version (0x0301 to 0x0304, as negotiated). */
int tls_certreq_parse(uint16_t version, struct tls_certreq *out, const uint8_t *p, size_t len);

/* Iterate the CA list: it starts as tls_cursor_make(req->cas, req->cas_len); each call yields
 * one DistinguishedName view. Returns 1 with an entry, 0 at the end. The list was validated
 * by the parser, so entries cannot overrun. */
int tls_certreq_ca_next(struct tls_cursor *it, const uint8_t **dn, size_t *dn_len);

#endif
