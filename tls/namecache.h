/* Decoded CA names shared across observations. Fleets advertise the same names again and again
 * (a root-store dump is the same 143 names on every misconfigured server), so each distinct DER
 * name is decoded, hashed and printed once. Bounded: past its byte budget it stops inserting
 * and callers decode into their own arena as before. */
#ifndef TLS_NAMECACHE_H
#define TLS_NAMECACHE_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/observation.h"

struct tls_name_cache;

int tls_name_cache_new(struct tls_name_cache **out, size_t max_bytes);
void tls_name_cache_free(struct tls_name_cache *c);

/* The shared decoded form of der/len (dn text, a copy of der, sha256, malformed), valid until
 * the cache is freed; NULL when the name is not cached and the budget is spent or memory is
 * out (decode it yourself then). */
const struct tls_ca_name *tls_name_cache_get(struct tls_name_cache *c, const uint8_t *der,
                                             size_t len);

/* Entries and bytes held, for reports and tests. */
size_t tls_name_cache_count(const struct tls_name_cache *c);
size_t tls_name_cache_bytes(const struct tls_name_cache *c);

/* Decode one name into a (dn text per RFC 4514, or hex and malformed), for the cache and for
 * observations without one. */
int tls_ca_name_decode(struct tls_arena *a, struct tls_ca_name *ca, const uint8_t *der, size_t len);

#endif
