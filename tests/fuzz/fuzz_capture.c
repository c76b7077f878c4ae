/* libFuzzer target for the capture (record reader, handshake reassembly, ServerHello,
 * Certificate, TLS 1.3 opening): the input is a server's byte stream, fed in chunks whose sizes
 * come from the stream itself; a fixed secret is set once the stream asks for keys. */
#include "tls/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    tls_capture_free(&c);
    return 0;
}
