/* X.509 certificate fields for a summary, read with our own DER reader: the issuer, validity and
 * subject of the TBSCertificate (RFC 5280 4.1), whatever the key and signature algorithms (Ed25519,
 * Ed448, RSA-PSS with any parameters: nothing of the key is read). Pure: the result holds views
 * into the input, nothing is allocated. */
#ifndef TLS_WIRE_CERT_H
#define TLS_WIRE_CERT_H

#include <stddef.h>
#include <stdint.h>

/* A UTC time of RFC 5280 4.1.2.5, every field in its range (the day in its month). */
struct tls_cert_time {
    uint16_t year; /* 0 to 9999 */
    uint8_t month, day, hour, minute, second;
};

/* "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC) and its NUL. */
#define TLS_CERT_TIME_TEXT_SIZE 21

struct tls_cert_fields {
    const uint8_t *issuer, *subject; /* whole DER Name TLVs (tag and length included) */
    size_t issuer_len, subject_len;
    struct tls_cert_time not_before, not_after;
    /* on failure: the offset in the certificate of the element that is wrong, its RFC 5280
     * name ("validity", "notAfter", ...) and what is wrong with it (static texts) */
    size_t error_at;
    const char *error_field, *error_problem;
};

/* Read the Certificate of der/len (RFC 5280 4.1), which must fill it: its structure down to the
 * fields of the TBSCertificate (version, serialNumber, signature, issuer, validity, subject,
 * subjectPublicKeyInfo, the optional unique identifiers and extensions, each present with its
 * type and in order; their contents are not read, except the validity's times) and the
 * signatureAlgorithm and signatureValue after it. The Names are views whose tag is checked, not
 * their RDNs (tls_dn_format does that when it prints them). Returns 0, or TLS_E_DER with
 * error_at, error_field and error_problem set. */
int tls_cert_read(struct tls_cert_fields *out, const uint8_t *der, size_t len);

/* One Time TLV (RFC 5280 4.1.2.5), filling der/len: UTCTime YYMMDDHHMMSSZ (YY 50 to 99 are
 * 19YY, 00 to 49 are 20YY) or GeneralizedTime YYYYMMDDHHMMSSZ, seconds present, no fractions,
 * no offset, every field in its range. Returns 0 or TLS_E_DER. */
int tls_cert_time_parse(struct tls_cert_time *out, const uint8_t *der, size_t len);

/* t as "YYYY-MM-DDTHH:MM:SSZ" into out. */
void tls_cert_time_format(const struct tls_cert_time *t, char out[TLS_CERT_TIME_TEXT_SIZE]);

#endif
