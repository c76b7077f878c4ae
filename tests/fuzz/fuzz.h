/* Shared by the fuzz targets: the libFuzzer entry point and oracles for invariants that hold for
 * every input. Header-only so each target stays one file; no globals, no I/O. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/wire/observation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, surrogates or values above
 * U+10FFFF) and holds no C0 or C1 control character or DEL: text any renderer may use as it is. */
static inline bool fuzz_text_is_clean(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t k;
        uint32_t v, min;
        if (b < 0x20 || b == 0x7f)
            return false;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            k = 2, v = b & 0x1f, min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            k = 3, v = b & 0x0f, min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            k = 4, v = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < k)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (p[i + j] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (v >= 0x80 && v <= 0x9f))
            return false;
        i += k;
    }
    return true;
}

/* An observation with a list: every name came out decoded or marked malformed, as clean text. */
static inline void fuzz_check_names(const struct tls_observation *o)
{
    for (size_t i = 0; o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST && i < o->ca_count; i++)
        if (o->cas[i].dn == NULL || !fuzz_text_is_clean(o->cas[i].dn, strlen(o->cas[i].dn)))
            abort();
}

#endif
