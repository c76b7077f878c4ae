/* The one place mbedTLS codes become ours, and their text (mbedtls_err.h). Never allocates. */
#include "mbedtls_err.h"

#include <mbedtls/ccm.h>
#include <mbedtls/ecp.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/cipher.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/ssl.h>
#include <psa/crypto.h>

#include "wire/error.h"

int tls_err_from_mbedtls(int raw)
{
    switch (raw) {
    case 0:
        return 0;
    case MBEDTLS_ERR_CIPHER_AUTH_FAILED:
    case MBEDTLS_ERR_GCM_AUTH_FAILED:
    case MBEDTLS_ERR_CCM_AUTH_FAILED:
    case MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED:
    case MBEDTLS_ERR_SSL_INVALID_MAC: /* a record mbedTLS's session could not open */
        return TLS_E_DECRYPT;
    case MBEDTLS_ERR_CIPHER_ALLOC_FAILED:
    case MBEDTLS_ERR_MD_ALLOC_FAILED:
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        return TLS_E_NOMEM;
    case MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_MD_FEATURE_UNAVAILABLE:
    case MBEDTLS_ERR_HKDF_BAD_INPUT_DATA:
        return TLS_E_UNSUPPORTED;
    case MBEDTLS_ERR_CIPHER_FULL_BLOCK_EXPECTED:
        return TLS_E_RECORD;
    case MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA:
    case MBEDTLS_ERR_GCM_BAD_INPUT:
    case MBEDTLS_ERR_CCM_BAD_INPUT:
    case MBEDTLS_ERR_MD_BAD_INPUT_DATA:
        return TLS_E_INVALID;
    default:
        return TLS_E_MBEDTLS;
    }
}

int tls_err_from_psa(int status, int *raw)
{
    *raw = 0;
    switch (status) {
    case PSA_SUCCESS:
        return 0;
    case PSA_ERROR_INSUFFICIENT_MEMORY:
        return TLS_E_NOMEM;
    case PSA_ERROR_NOT_SUPPORTED:
        return TLS_E_UNSUPPORTED;
    case PSA_ERROR_INVALID_ARGUMENT:
        *raw = MBEDTLS_ERR_ECP_INVALID_KEY;
        return TLS_E_MBEDTLS;
    default:
        *raw = MBEDTLS_ERR_ERROR_GENERIC_ERROR;
        return TLS_E_MBEDTLS;
    }
}

void tls_mbedtls_strerror(int raw, char *buf, size_t cap)
{
    mbedtls_strerror(raw, buf, cap);
}
