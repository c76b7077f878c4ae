/* DER (X.690 10) TLV reading over a cursor: the one copy for every decoder of X.509 structures
 * (Names in dn.c, the TBSCertificate fields in cert.c). Pure: views into the input, no
 * allocation. */
#ifndef TLS_WIRE_DER_H
#define TLS_WIRE_DER_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* X.680 8.4 universal tags and the context tags of RFC 5280 4.1, as whole DER identifier octets
 * (class, constructed bit and number). */
enum {
    TLS_DER_INTEGER = 0x02,
    TLS_DER_BIT_STRING = 0x03,
    TLS_DER_OID = 0x06,
    TLS_DER_UTF8 = 0x0c,
    TLS_DER_NUMERIC = 0x12,
    TLS_DER_PRINTABLE = 0x13,
    TLS_DER_TELETEX = 0x14,
    TLS_DER_IA5 = 0x16,
    TLS_DER_UTC_TIME = 0x17,
    TLS_DER_GENERALIZED_TIME = 0x18,
    TLS_DER_VISIBLE = 0x1a,
    TLS_DER_UNIVERSAL = 0x1c,
    TLS_DER_BMP = 0x1e,
    TLS_DER_SEQUENCE = 0x30,
    TLS_DER_SET = 0x31,
    TLS_DER_CONTEXT_0 = 0xa0, /* [0] EXPLICIT (constructed) */
    TLS_DER_CONTEXT_1 = 0x81, /* [1] IMPLICIT BIT STRING (primitive) */
    TLS_DER_CONTEXT_2 = 0x82, /* [2] IMPLICIT BIT STRING (primitive) */
    TLS_DER_CONTEXT_3 = 0xa3, /* [3] EXPLICIT (constructed) */
};

/* One TLV: its whole encoding (for RFC 4514 #hex, or a Name's bytes) and a view of its
 * contents. */
struct tls_der_tlv {
    uint8_t id;             /* first identifier octet; high tag numbers keep 0x1f in it */
    const uint8_t *whole;   /* identifier octets onwards */
    size_t whole_len;       /* header + contents */
    struct tls_cursor body; /* contents */
};

/* Read one DER TLV from c and move c past it. Returns 0; TLS_E_TRUNCATED when c ends inside the
 * identifier or length octets; TLS_E_LENGTH when the length runs past the end of c; TLS_E_DER
 * for an encoding DER does not allow (indefinite or non-minimal length, non-minimal high tag
 * number, a length of more than four octets). On failure c is unmoved. */
int tls_der_read(struct tls_cursor *c, struct tls_der_tlv *t);

#endif
