/* The Windows built-in roots (report/winroots.txt): roots a Windows Trusted Root store holds and
 * no client-certificate list has reason to name (Microsoft's product, code-signing and
 * time-stamping roots, the legacy roots Windows keeps). Data and lookups; no I/O, no mbedTLS. */
#ifndef REPORT_WINROOTS_H
#define REPORT_WINROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_winroot {
    const char *name;       /* as Windows shows it ("Issued to"): "Microsoft Root Authority" */
    const uint8_t *subject; /* its subject, a DER Name */
    size_t subject_len;
    uint8_t subject_sha256[32];
};

/* The table, in the order of winroots.txt; *n gets its length. */
const struct report_winroot *report_winroots(size_t *n);

/* The entry whose subject is the DER Name der/len (sha: its SHA-256): equal byte for byte,
 * else equal after canonical comparison (tls_dn_equal_canonical: string type, ASCII case,
 * spaces), and then *canonical is set (it may be NULL). NULL when none; a malformed name
 * matches nothing. */
const struct report_winroot *report_winroot_match(const uint8_t *der, size_t len,
                                                  const uint8_t sha[32], bool *canonical);

/* The entry whose subject's SHA-256 is sha (byte-for-byte only: all a baseline keeps), or NULL. */
const struct report_winroot *report_winroot_find(const uint8_t sha[32]);

#endif
