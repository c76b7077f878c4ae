/* Helpers shared by the unit tests: hex fixtures from fixtures/ (CAPROBE_FIXTURES). Test-only;
 * failures end the current test through cmocka. */
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

/* A TLS record (version 3.3) of type around body/len into out; returns its size. */
size_t testutil_record(uint8_t *out, uint8_t type, const uint8_t *body, size_t len);

#endif
