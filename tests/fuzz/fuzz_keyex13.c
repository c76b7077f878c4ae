/* libFuzzer target for tls/keyex13.c and the ServerHello decoder it relies on (key_share,
 * cookie): the input is what a server answers caprobe's TLS 1.3 ClientHello with, up to two hello
 * messages, each a 2-octet big-endian length and the message body (no 4-byte header). The first
 * ClientHello carries a fixed x25519 share, so a run is repeatable as far as a
 * HelloRetryRequest, which is answered with a fresh hello as in a probe. Seeds:
 * tests/fuzz/keyex13_seeds.py. */
#include <psa/crypto.h>

#include "tests/fuzz/fuzz.h"
#include "tls/keyex13.h"
#include "tls/wire/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t priv[32] = {0x48, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11,   12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                     22,   23, 24, 25, 26, 27, 28, 29, 30, 31};
    static const uint8_t hello[4] = {1, 0, 0, 0};
    struct tls_keyex13 *k = NULL;
    if (psa_crypto_init() != PSA_SUCCESS || tls_keyex13_new(&k, NULL))
        return 0;
    struct tls_cursor in = tls_cursor_make(data, size);
    int rc = tls_keyex13_add_share(k, 0x001d, priv, sizeof(priv));
    if (rc == 0)
        rc = tls_keyex13_sent(k, hello, sizeof(hello));
    for (int i = 0; i < 2 && rc == 0; i++) {
        struct tls_cursor m;
        struct tls_server_hello sh;
        uint8_t secret[64];
        size_t secret_len;
        if (tls_cursor_vec(&in, 2, &m) || tls_server_hello_parse(&sh, m.p, m.len))
            break;
        rc = tls_keyex13_server_hello(k, &sh, m.p, m.len, secret, sizeof(secret), &secret_len);
        if (rc || !sh.hello_retry)
            break;
        uint8_t *out;
        size_t len;
        rc = tls_keyex13_client_hello(k, &out, &len);
        if (rc == 0)
            free(out);
    }
    tls_keyex13_free(k);
    return 0;
}
