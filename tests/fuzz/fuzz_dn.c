/* Fuzz target: tls_dn_format and tls_dn_check (tls/dn.h) on untrusted bytes. Beyond memory
 * safety it checks the contract: TLS_DN_TEXT_MAX always suffices, check agrees with format, and
 * the text is clean UTF-8 of the length reported. */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tls/wire/dn.h"
#include "tls/wire/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    size_t cap = TLS_DN_TEXT_MAX(size), n = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return 0;
    int rc = tls_dn_format(data, size, out, cap, &n);
    if ((rc != 0 && rc != TLS_E_DER) || tls_dn_check(data, size) != rc ||
        (rc == 0 && (strlen(out) != n || !fuzz_text_is_clean(out, n))))
        abort();
    free(out);
    return 0;
}
