/* Sets of names by SHA-256 digest: two lists sorted by digest compared in one merge, so that
 * comparing lists of n and m names costs n + m, never n x m (a hostile server may send 21,845
 * names). The one merge for the rule engine (lists of two variants, a list against the
 * baseline) and caprobe diff. */
#ifndef TLS_WIRE_DIGESTSET_H
#define TLS_WIRE_DIGESTSET_H

#include <stddef.h>
#include <stdint.h>

/* A sorted list of digests: n entries, each the first 32 bytes of an element of stride bytes
 * (a plain uint8_t[32] array has stride 32; an array of structs that begin with the digest has
 * its struct size). Repeated digests may stand next to each other: each counts once. */
struct tls_digest_list {
    const uint8_t *base;
    size_t n, stride;
};

/* Called with the index in a (or b) of the first of each run of a digest that the other list
 * lacks. */
typedef void tls_digest_only_fn(void *ctx, size_t i);

/* Counts the distinct digests only in a (*only_a) and only in b (*only_b), calling on_a / on_b
 * (either may be NULL) for each, in digest order. */
void tls_digest_list_diff(const struct tls_digest_list *a, const struct tls_digest_list *b,
                          size_t *only_a, size_t *only_b, tls_digest_only_fn *on_a,
                          tls_digest_only_fn *on_b, void *ctx);

/* An identity of the set of names: FNV-1a 64 (hash.h) over each distinct digest of the sorted
 * list l, in ascending order. The same names give the same value whatever their order or
 * repeats in the CertificateRequest; one name more or less gives another. Printed as 16 lower
 * hex digits ("list_id" in caprobe report and the exporter's metrics); not a security digest:
 * it tells lists apart on a dashboard, the names' SHA-256 stay the evidence. An empty list has
 * the FNV-1a offset basis (cbf29ce484222325). */
uint64_t tls_digest_list_id(const struct tls_digest_list *l);

/* Sorts n digests of 32 bytes ascending (memcmp order), as tls_digest_list expects. */
void tls_digest_sort(uint8_t (*v)[32], size_t n);

#endif
