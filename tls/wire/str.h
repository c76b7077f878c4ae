/* Small helpers over C strings that every module compares the same way. Header only: nothing
 * here allocates or reads past a terminator. */
#ifndef TLS_WIRE_STR_H
#define TLS_WIRE_STR_H

#include <stdbool.h>
#include <string.h>

/* Two optional strings are the same: both NULL, or both set with the same bytes. */
static inline bool tls_str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

#endif
