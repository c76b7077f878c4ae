/* The smaller of two numbers, for every module that cuts one limit to another (a probe's
 * deadlines to what is left of a request's). Header only. */
#ifndef TLS_WIRE_MINMAX_H
#define TLS_WIRE_MINMAX_H

#include <stdint.h>

static inline uint64_t tls_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

#endif
