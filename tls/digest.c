/* SHA-256 (digest.h). Never allocates, never fails: mbedTLS's one-shot function on a buffer. */
#include "digest.h"

#include <mbedtls/sha256.h>

void tls_sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
    mbedtls_sha256(p, len, out, 0);
}
