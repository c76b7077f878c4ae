/* UTF-8 decoding and encoding (RFC 3629), and UTF-16 decoding (RFC 2781): the one copy every
 * renderer, the DN printer (BMPString), the netsh reader and the policy loader use. No overlong
 * forms, no surrogates, nothing above U+10FFFF. */
#ifndef TLS_WIRE_UTF8_H
#define TLS_WIRE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the valid UTF-8 sequence at p/n (n > 0), with its code point in *cp; 0
 * when the bytes at p are not one. */
size_t tls_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* Code point cp (a scalar value: at most U+10FFFF, not a surrogate) as UTF-8 into out; returns
 * its length, 1 to 4. */
size_t tls_utf8_encode(uint32_t cp, uint8_t out[4]);

/* RFC 2781 2.2: length (2, or 4 for a surrogate pair) of the UTF-16 character at p/n, big- or
 * little-endian, with its code point in *cp; 0 when the bytes at p are not one (fewer than 2, a
 * low surrogate first, a high one without a low one after it). */
size_t tls_utf16_decode(const uint8_t *p, size_t n, bool big_endian, uint32_t *cp);

/* Offset of the first byte of s/len that does not start a valid sequence, or len. */
size_t tls_utf8_valid_prefix(const uint8_t *s, size_t len);

/* Terminal columns of code point cp: 2 in the East Asian Wide and Fullwidth ranges and the
 * emoji blocks, else 1. Never fewer than a terminal gives it (combining marks and other
 * zero-width characters count 1), so text measured with it fits the columns it was cut to. */
unsigned tls_utf8_width(uint32_t cp);

#endif
