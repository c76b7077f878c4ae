/* libFuzzer target for the capture (record reader, handshake reassembly, ServerHello of TLS 1.0
 * to 1.3, the record version lock, Certificate, TLS 1.3 opening) and the observation made of it
 * (the CertificateRequest and DN parsers, the X.509 summary): the input is a server's byte
 * stream, fed in chunks whose sizes come from the stream itself; a fixed secret is set once the
 * stream asks for keys. The libFuzzer
 * program opens TLS 1.3 records with the null protection of tls/fuzzing.h, so mutated encrypted
 * flights reach the parsers (seeds: tests/fuzz/nullseal.py); the replay program decrypts. */
#include "tests/fuzz/fuzz.h"
#include "tls/capture.h"
#include "tls/observe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t secret[48] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct tls_capture c;
    tls_capture_init(&c, 64 * 1024);
    size_t off = 0;
    while (off < size && c.status == TLS_CAPTURE_RUNNING) {
        size_t chunk = 1 + data[off] % 64 * 37;
        if (chunk > size - off)
            chunk = size - off;
        tls_capture_feed(&c, data + off, chunk);
        off += chunk;
        if (tls_capture_waiting_keys(&c))
            tls_capture_set_secret(&c, secret, c.cipher_suite == 0x1302 ? 48 : 32);
    }
    tls_capture_eof(&c);
    struct tls_observation o;
    tls_observation_init(&o);
    if (tls_observation_from_capture(&o, &c) == 0)
        fuzz_check_names(&o);
    tls_observation_free(&o);
    tls_capture_free(&c);
    return 0;
}
