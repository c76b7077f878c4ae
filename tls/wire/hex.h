/* Hexadecimal digits, encoding and digit values: the one copy for every module. */
#ifndef TLS_WIRE_HEX_H
#define TLS_WIRE_HEX_H

#include <stddef.h>
#include <stdint.h>

extern const char tls_hex_lower[17]; /* "0123456789abcdef" */
extern const char tls_hex_upper[17]; /* "0123456789ABCDEF" (RFC 4514 and RFC 3986 escapes) */

/* Lowercase hex of p/n into out, which holds 2n + 1 bytes; NUL-terminated. */
void tls_hex_encode(const uint8_t *p, size_t n, char *out);

/* The value (0 to 15) of one hex digit of either case, or -1. */
int tls_hex_value(char c);

#endif
