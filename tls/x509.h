/* Server certificate summary: subject, issuer, validity and fingerprints of one DER
 * certificate, decoded with mbedTLS and printed with our RFC 4514 printer. */
#ifndef TLS_X509_H
#define TLS_X509_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/arena.h"
#include "wire/observation.h"

/* Fill out from der/len; strings live in arena. Fingerprints are always set; a certificate
 * mbedTLS cannot decode sets out->error instead of the names. Returns 0 or TLS_E_NOMEM. */
int tls_x509_summary(struct tls_server_cert *out, struct tls_arena *arena, const uint8_t *der,
                     size_t len);

#endif
