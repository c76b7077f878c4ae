/* Helpers shared by the unit tests: hex fixtures from fixtures/ (CAPROBE_FIXTURES), DER and TLS
 * record builders, openssl's reading of the certificates of fixtures/x509. Test-only; failures
 * end the current test through cmocka. */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Decode hex text: whitespace skipped, '#' comments to end of line. */
uint8_t *testutil_unhex(const char *text, size_t *len);
/* The path of fixtures/<dir>/<name> (malloc'd). */
char *testutil_fixture_path(const char *dir, const char *name);
/* The bytes of fixtures/<rel>: a .hex file is decoded, anything else read as is. */
uint8_t *testutil_fixture(const char *rel, size_t *len);

/* What `openssl x509 -noout -subject -issuer -startdate -enddate -nameopt RFC2253` and
 * `-fingerprint -sha1`, `-fingerprint -sha256` printed for a certificate of fixtures/x509
 * (NAME.txt, written by make-x509.sh), with the dates turned into RFC 3339 UTC
 * ("Jan  1 00:00:00 1950 GMT" is "1950-01-01T00:00:00Z"): the oracle of the certificate summary
 * tests. */
struct testutil_openssl_cert {
    char subject[512], issuer[512];
    char not_before[32], not_after[32];
    uint8_t sha1[20], sha256[32];
};
/* The certificates of fixtures/x509 (make-x509.sh), by NAME; NULL ends. */
extern const char *const testutil_x509_names[];
/* The DER of fixtures/x509/NAME.der, and (want not NULL) openssl's reading of it. */
uint8_t *testutil_x509(const char *name, size_t *len, struct testutil_openssl_cert *want);
/* check(NAME, DER, its length, openssl's reading) for every certificate of fixtures/x509. */
void testutil_x509_each(void (*check)(const char *name, const uint8_t *der, size_t len,
                                      const struct testutil_openssl_cert *want));

/* Occurrences of needle in s (overlapping ones too). */
size_t testutil_count(const char *s, const char *needle);

/* Append the DER TLV tag/body to buf at *n, with a minimal length (body up to 0xffff bytes). */
void testutil_der_tlv(uint8_t *buf, size_t *n, uint8_t tag, const void *body, size_t len);

/* A TLS record (version 3.3) of type around body/len into out; returns its size. */
size_t testutil_record(uint8_t *out, uint8_t type, const uint8_t *body, size_t len);

#endif
