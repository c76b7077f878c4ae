/* Lookups in the table of Windows built-in roots, generated from winroots.txt by winroots.py at
 * build time (winroots_data.h). The names compared are a server's: only through the DER
 * comparisons of tls/wire/dn.h, never trusted otherwise. */
#include "winroots.h"

#include <string.h>

#include "tls/wire/dn.h"

#include "winroots_data.h"

#define N_WINROOTS (sizeof(winroots) / sizeof(winroots[0]))

const struct report_winroot *report_winroots(size_t *n)
{
    *n = N_WINROOTS;
    return winroots;
}

const struct report_winroot *report_winroot_find(const uint8_t sha[32])
{
    for (size_t i = 0; i < N_WINROOTS; i++)
        if (memcmp(winroots[i].subject_sha256, sha, 32) == 0)
            return &winroots[i];
    return NULL;
}

const struct report_winroot *report_winroot_match(const uint8_t *der, size_t len,
                                                  const uint8_t sha[32], bool *canonical)
{
    const struct report_winroot *w = report_winroot_find(sha);
    if (canonical)
        *canonical = false;
    for (size_t i = 0; w == NULL && i < N_WINROOTS; i++)
        if (tls_dn_equal_canonical(der, len, winroots[i].subject, winroots[i].subject_len)) {
            w = &winroots[i];
            if (canonical)
                *canonical = true;
        }
    return w;
}
