/* mbedTLS error codes to ours: the one translation for the whole tls module, and the text of a
 * raw code for messages that show it. */
#ifndef TLS_MBEDTLS_ERR_H
#define TLS_MBEDTLS_ERR_H

#include "side.h"

#include <stddef.h>

/* 0 for 0; TLS_E_DECRYPT, TLS_E_NOMEM, TLS_E_UNSUPPORTED, TLS_E_RECORD, TLS_E_INVALID for the
 * codes that mean that; TLS_E_MBEDTLS otherwise (callers keep the raw code for diagnostics). */
int tls_err_from_mbedtls(int raw);

/* A PSA Crypto status (an int32_t psa_status_t) to ours, and in *raw the mbedTLS code that says
 * the same for messages (PSA statuses have no text of their own): TLS_E_NOMEM,
 * TLS_E_UNSUPPORTED, or TLS_E_MBEDTLS with MBEDTLS_ERR_ECP_INVALID_KEY for a key PSA refused
 * (a peer's public value) and MBEDTLS_ERR_ERROR_GENERIC_ERROR for the rest. */
int tls_err_from_psa(int status, int *raw);

/* mbedTLS's text for a raw code, into buf. */
void tls_mbedtls_strerror(int raw, char *buf, size_t cap);

#endif
