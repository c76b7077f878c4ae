/* Server certificate summary: subject, issuer, validity and fingerprints of one DER
 * certificate, read by our own DER reader (tls/wire/cert.h: any key algorithm) and printed with
 * our RFC 4514 printer. */
#ifndef TLS_X509_H
#define TLS_X509_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/arena.h"
#include "wire/observation.h"

/* Fill out from der/len; strings live in arena. Fingerprints are always set; a certificate
 * whose DER is malformed sets out->error instead of the names: where (byte offset) and what is
 * wrong, in words. Returns 0 or TLS_E_NOMEM. */
int tls_x509_summary(struct tls_server_cert *out, struct tls_arena *arena, const uint8_t *der,
                     size_t len);

#endif
