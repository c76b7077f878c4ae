/* From a finished capture to an observation: the mbedTLS side of tls/wire/observation.h (names
 * are decoded and hashed with mbedTLS's SHA-256, the server certificate summarised with its X.509
 * parser). */
#ifndef TLS_OBSERVE_H
#define TLS_OBSERVE_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/observation.h"

struct tls_capture;
/* Fill the result from a finished capture (DONE or FAILED). A CertificateRequest that was
 * captured whole counts even when the connection failed afterwards. Returns 0 or TLS_E_NOMEM. */
int tls_observation_from_capture(struct tls_observation *o, const struct tls_capture *c);

/* Parse the CertificateRequest body for version into o (names decoded, hashed, kept in the
 * arena). Returns the parser's error for a malformed message. */
int tls_observation_set_certreq(struct tls_observation *o, uint16_t version, const uint8_t *p,
                                size_t len);

#endif
