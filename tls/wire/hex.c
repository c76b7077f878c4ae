/* Hexadecimal encoding. Pure; the caller sizes the output. */
#include "hex.h"

const char tls_hex_lower[17] = "0123456789abcdef";
const char tls_hex_upper[17] = "0123456789ABCDEF";

void tls_hex_encode(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = tls_hex_lower[p[i] >> 4];
        out[2 * i + 1] = tls_hex_lower[p[i] & 15];
    }
    out[2 * n] = 0;
}

int tls_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
