/* SHA-256 with mbedTLS: the one digest of the tls module, for CA names (namecache.c), certificate
 * fingerprints (x509.c) and the roots the rules compare against. A leaf: it includes nothing of
 * ours, so that the modules hashing names do not depend on each other. */
#ifndef TLS_DIGEST_H
#define TLS_DIGEST_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of p/len. */
void tls_sha256(const uint8_t *p, size_t len, uint8_t out[32]);

#endif
