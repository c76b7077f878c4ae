/* mbedTLS error codes to ours: the one translation for the whole tls module. */
#ifndef TLS_MBEDTLS_ERR_H
#define TLS_MBEDTLS_ERR_H

#include "side.h"

/* 0 for 0; TLS_E_DECRYPT, TLS_E_NOMEM, TLS_E_UNSUPPORTED, TLS_E_RECORD, TLS_E_INVALID for the
 * codes that mean that; TLS_E_MBEDTLS otherwise (callers keep the raw code for diagnostics). */
int tls_err_from_mbedtls(int raw);

#endif
