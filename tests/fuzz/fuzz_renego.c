/* libFuzzer target for tls/renego.c and the observation made of a renegotiation's flight:
 * suite (2 octets), flags (1: bit 0 = encrypt_then_mac, bit 1 = SHA-384 PRF), master secret (48),
 * client and server random (32 each) as in fixtures/tls12/, one octet that splits the rest, then
 * the server's bytes after its first flight, fed in two parts. The libFuzzer program opens the
 * protected records with the null protection of tls/fuzzing.h, so mutated flights reach the
 * CertificateRequest parser (seeds: tests/fuzz/nullseal.py); the replay program decrypts. */
#include "tests/fuzz/fuzz.h"
#include "tls/observe.h"
#include "tls/renego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t prefix = 3 + 48 + 32 + 32 + 1;
    if (size < prefix)
        return 0;
    const uint8_t *p = data + prefix;
    size_t n = size - prefix;
    size_t split = n ? data[prefix - 1] % (n + 1) : 0;
    struct tls_renego r;
    tls_renego_init(&r, (uint16_t)(data[0] << 8 | data[1]), data[2] & 1, 64 * 1024);
    tls_renego_set_keys(&r, data[2] & 2 ? MBEDTLS_SSL_TLS_PRF_SHA384 : MBEDTLS_SSL_TLS_PRF_SHA256,
                        data + 3, data + 51, data + 83);
    tls_renego_feed(&r, p, split);
    tls_renego_feed(&r, p + split, n - split);
    tls_renego_end(&r, -1);
    if (r.started) {
        struct tls_observation o;
        tls_observation_init(&o);
        if (tls_observation_from_capture(&o, &r.cap) == 0)
            fuzz_check_names(&o);
        tls_observation_free(&o);
    }
    tls_renego_free(&r);
    return 0;
}
