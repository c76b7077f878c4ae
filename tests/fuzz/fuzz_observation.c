/* libFuzzer target for tls/observation.c over the CertificateRequest parsers: the first octet
 * picks the layout (bit 0: TLS 1.3; else bit 2: TLS 1.0 and 1.1; else TLS 1.2) and whether names
 * go through a shared cache (bit 1); every name of an accepted list must come out decoded or
 * marked malformed, with clean text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tls/namecache.h"
#include "tls/observe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct tls_observation o;
    struct tls_name_cache *cache = NULL;
    tls_observation_init(&o);
    if (data[0] & 2 && tls_name_cache_new(&cache, 1 << 20) == 0)
        o.names = cache;
    uint16_t version = data[0] & 1 ? 0x0304 : data[0] & 4 ? 0x0301 : 0x0303;
    int rc = tls_observation_set_certreq(&o, version, data + 1, size - 1);
    for (size_t i = 0; rc == 0 && i < o.ca_count; i++)
        if (!fuzz_text_is_clean(o.cas[i].dn, strlen(o.cas[i].dn)))
            abort();
    tls_observation_free(&o);
    tls_name_cache_free(cache);
    return 0;
}
