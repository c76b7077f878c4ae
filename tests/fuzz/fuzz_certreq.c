/* libFuzzer target for tls/certreq.c: the first octet picks the layout (bit 0: TLS 1.3; else
 * bit 1: TLS 1.0 and 1.1; else TLS 1.2), the rest is a CertificateRequest body; a parsed list is
 * walked to its end. */
#include "tls/wire/certreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_certreq r;
    if (size < 1)
        return 0;
    uint16_t version = data[0] & 1 ? 0x0304 : data[0] & 2 ? 0x0301 : 0x0303;
    int rc = tls_certreq_parse(version, &r, data + 1, size - 1);
    if (rc == 0) {
        struct tls_cursor it = tls_cursor_make(r.cas, r.cas_len);
        const uint8_t *dn;
        size_t len, n = 0;
        while (tls_certreq_ca_next(&it, &dn, &len))
            n++;
        if (n != r.ca_count)
            __builtin_trap();
    }
    return 0;
}
