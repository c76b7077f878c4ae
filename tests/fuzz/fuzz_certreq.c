/* libFuzzer target for tls/certreq.c: the first octet picks TLS 1.2 or 1.3, the rest is a
 * CertificateRequest body; a parsed list is walked to its end. */
#include "tls/wire/certreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_certreq r;
    if (size < 1)
        return 0;
    int rc = data[0] & 1 ? tls_certreq13_parse(&r, data + 1, size - 1)
                         : tls_certreq12_parse(&r, data + 1, size - 1);
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
