/* libFuzzer target for tls/crypt13.c: suite (1 octet), traffic secret (32 or 48), one record
 * (5-octet header, then its body). Opens a private copy, since open decrypts in place. The
 * libFuzzer program opens with the null protection of tls/fuzzing.h (the padding and content type
 * of mutated records are reached), the replay program decrypts. */
#include <stdlib.h>
#include <string.h>

#include "tls/crypt13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
    uint16_t suite = size > 0 ? suites[data[0] % 5] : 0;
    size_t secret_len = suite == 0x1302 ? 48 : 32;
    if (size < 1 + secret_len + 5)
        return 0;
    const uint8_t *hdr = data + 1 + secret_len;
    size_t len = size - 1 - secret_len - 5;
    struct tls_crypt13 *c = NULL;
    uint8_t *body = malloc(len + 1);
    if (body != NULL && tls_crypt13_new(&c, suite, data + 1, secret_len) == 0) {
        memcpy(body, hdr + 5, len);
        uint8_t type;
        size_t plain_len;
        tls_crypt13_open(c, hdr, body, len, &type, &plain_len);
    }
    tls_crypt13_free(c);
    free(body);
    return 0;
}
