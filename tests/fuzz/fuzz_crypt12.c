/* libFuzzer target for tls/crypt12.c: suite (2 octets), flags (1: bit 0 = encrypt_then_mac, bit
 * 1 = the PRF is SHA-384),
 * master secret (48), client and server random (32 each), one record (5-octet header, then its
 * fragment): the layout of fixtures/tls12/. Opens a private copy, since open decrypts in place.
 * The libFuzzer program opens with the null protection of tls/fuzzing.h (the CBC padding of
 * mutated records is reached), the replay program decrypts. */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tls/crypt12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t prefix = 3 + 48 + 32 + 32;
    if (size < prefix + 5)
        return 0;
    const uint8_t *hdr = data + prefix;
    size_t len = size - prefix - 5;
    struct tls_crypt12 *c = NULL;
    uint8_t *body = malloc(len + 1);
    uint16_t suite = (uint16_t)(data[0] << 8 | data[1]);
    if (body != NULL &&
        tls_crypt12_new(&c, suite,
                        data[2] & 2 ? MBEDTLS_SSL_TLS_PRF_SHA384 : MBEDTLS_SSL_TLS_PRF_SHA256,
                        data + 3, data + 51, data + 83) == 0 &&
        tls_crypt12_set_etm(c, data[2] & 1) == 0) {
        memcpy(body, hdr + 5, len);
        uint8_t type;
        size_t plain_len;
        tls_crypt12_open(c, hdr, body, len, &type, &plain_len);
    }
    tls_crypt12_free(c);
    free(body);
    return 0;
}
