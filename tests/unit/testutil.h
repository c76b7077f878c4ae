/* Helpers shared by the unit tests: hex fixtures from fixtures/ (CAPROBE_FIXTURES), DER and TLS
 * record builders. Test-only; failures end the current test through cmocka. */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Decode hex text: whitespace skipped, '#' comments to end of line. */
uint8_t *testutil_unhex(const char *text, size_t *len);
/* The bytes of fixtures/<rel>: a .hex file is decoded, anything else read as is. */
uint8_t *testutil_fixture(const char *rel, size_t *len);

/* Append the DER TLV tag/body to buf at *n, with a minimal length (body up to 0xffff bytes). */
void testutil_der_tlv(uint8_t *buf, size_t *n, uint8_t tag, const void *body, size_t len);

/* A TLS record (version 3.3) of type around body/len into out; returns its size. */
size_t testutil_record(uint8_t *out, uint8_t type, const uint8_t *body, size_t len);

#endif
