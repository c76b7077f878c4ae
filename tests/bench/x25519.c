/* One X25519 key generation and one shared secret, as a TLS 1.3 probe computes them, timed by
 * mbedTLS's PSA (what tls/keyex13.c called for issue 17, point 2) and by libsodium's
 * crypto_scalarmult_curve25519. A benchmark program for tests/bench/cost.py, not a test: it
 * prints figures and never judges them. No network, no files.
 *
 *   x25519-bench [ROUNDS]   (default 400; libsodium runs 10x as many)
 *
 * Prints one line per implementation: "<name> <microseconds of CPU per keygen+agree> <rounds>",
 * CPU from CLOCK_PROCESS_CPUTIME_ID, and exits 1 when an operation failed or the two disagree on
 * a shared secret computed from the same private key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <psa/crypto.h>
#include <sodium.h>

static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One PSA keygen (with the public key exported, as the key share needs it) and agreement. */
static int psa_once(const uint8_t peer[32], uint8_t shared[32])
{
    psa_key_attributes_t attr = psa_key_attributes_init();
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDH);
    psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
    psa_set_key_bits(&attr, 255);
    psa_key_id_t key = 0;
    uint8_t pub[32];
    size_t len;
    int ok = psa_generate_key(&attr, &key) == PSA_SUCCESS &&
             psa_export_public_key(key, pub, sizeof(pub), &len) == PSA_SUCCESS && len == 32 &&
             psa_raw_key_agreement(PSA_ALG_ECDH, key, peer, 32, shared, 32, &len) == PSA_SUCCESS &&
             len == 32;
    psa_destroy_key(key);
    return ok ? 0 : -1;
}

static int sodium_once(const uint8_t peer[32], uint8_t shared[32])
{
    uint8_t sk[32], pub[32];
    randombytes_buf(sk, sizeof(sk));
    if (crypto_scalarmult_curve25519_base(pub, sk))
        return -1;
    return crypto_scalarmult_curve25519(shared, sk, peer);
}

/* The same private key through both: the same secret, or the figures compare different work. */
static int agree_check(const uint8_t peer[32])
{
    uint8_t sk[32], a[32], b[32];
    randombytes_buf(sk, sizeof(sk));
    psa_key_attributes_t attr = psa_key_attributes_init();
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDH);
    psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
    psa_key_id_t key = 0;
    size_t len = 0;
    int ok = psa_import_key(&attr, sk, sizeof(sk), &key) == PSA_SUCCESS &&
             psa_raw_key_agreement(PSA_ALG_ECDH, key, peer, 32, a, 32, &len) == PSA_SUCCESS &&
             len == 32 && crypto_scalarmult_curve25519(b, sk, peer) == 0 && !memcmp(a, b, 32);
    psa_destroy_key(key);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 400;
    if (rounds < 1 || rounds > 1000000) {
        fprintf(stderr, "usage: x25519-bench [ROUNDS 1..1000000]\n");
        return 2;
    }
    if (psa_crypto_init() != PSA_SUCCESS || sodium_init() < 0) {
        fprintf(stderr, "x25519-bench: psa_crypto_init or sodium_init failed\n");
        return 1;
    }
    uint8_t peer_sk[32], peer[32], shared[32];
    randombytes_buf(peer_sk, sizeof(peer_sk));
    crypto_scalarmult_curve25519_base(peer, peer_sk);
    if (agree_check(peer)) {
        fprintf(stderr, "x25519-bench: PSA and libsodium disagree on a shared secret\n");
        return 1;
    }
    double t0 = cpu_us();
    for (long i = 0; i < rounds; i++)
        if (psa_once(peer, shared)) {
            fprintf(stderr, "x25519-bench: PSA failed\n");
            return 1;
        }
    double t1 = cpu_us();
    for (long i = 0; i < 10 * rounds; i++)
        if (sodium_once(peer, shared)) {
            fprintf(stderr, "x25519-bench: libsodium failed\n");
            return 1;
        }
    double t2 = cpu_us();
    printf("mbedtls-psa %.2f %ld\n", (t1 - t0) / (double)rounds, rounds);
    printf("libsodium %.2f %ld\n", (t2 - t1) / (double)(10 * rounds), 10 * rounds);
    mbedtls_psa_crypto_free();
    return 0;
}
