/* libFuzzer target for the netsh http show sslcert reader (tls/wire/netsh.c) and what caprobe
 * netsh and --netsh do with its bindings (report/netsh.c): any bytes as the saved file. The
 * contract, checked on every input: a refused file names a line of it and says why in clean
 * text; an accepted one has bindings on lines of the file, each found again by its endpoint (an
 * ipport binding also by its address), with at most TLS_NETSH_FIELDS_MAX fields, which the
 * field iterator gives back; its update line and the audit's messages are clean text, and the
 * update line holds no character that cmd or PowerShell reads as an operator or a variable. */
#include <stdio.h>
#include <string.h>

#include "report/netsh.h"
#include "tests/fuzz/fuzz.h"
#include "tls/wire/error.h"

static void check_binding(const struct report_netsh *n, const struct tls_netsh_binding *b,
                          size_t lines)
{
    enum report_netsh_via via;
    char line[REPORT_NETSH_LINE_MAX], host[64];
    if (b->line < 1 || b->line > lines || report_netsh_find(n, b) != b ||
        b->n_fields > TLS_NETSH_FIELDS_MAX || b->n_groups > b->n_fields ||
        strncmp(b->key, tls_netsh_kind_name(b->kind), strlen(tls_netsh_kind_name(b->kind))) != 0)
        abort();
    struct tls_netsh_iter it = {0, 0};
    struct tls_netsh_field f;
    size_t got = 0;
    while (tls_netsh_field_next(b, &it, &f))
        if (++got > b->n_fields || f.name_len == 0 || f.group > b->n_groups)
            abort();
    if (got != b->n_fields)
        abort();
    struct tls_addr mapped = b->addr; /* ::ffff:a.b.c.d is reached as a.b.c.d */
    if (b->kind == TLS_NETSH_IPPORT && !tls_addr_unmap(&mapped) && strlen(b->host) < sizeof(host)) {
        snprintf(host, sizeof(host), "%s", b->host);
        if (report_netsh_join(n, NULL, host, b->port, &via) != b || via != REPORT_NETSH_VIA_IP)
            abort();
    }
    report_netsh_update_line(b, "sslctlstorename=ClientAuthIssuer", line, sizeof(line));
    if (!fuzz_text_is_clean(line, strlen(line)) || strpbrk(line, "&|^%$`;()!'") != NULL)
        abort(); /* nothing of the file that cmd or PowerShell would read as more than a word */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_netsh *n = NULL;
    char err[512];
    int rc = report_netsh_parse(&n, "f.txt", data, size, err, sizeof(err));
    size_t lines = size + 1; /* a line takes a byte at least */
    if (rc != 0) {
        unsigned long at = 0;
        if (n != NULL || (rc != TLS_E_INVALID && rc != TLS_E_LIMIT && rc != TLS_E_NOMEM) ||
            strncmp(err, "f.txt:", 6) != 0 || !fuzz_text_is_clean(err, strlen(err)) ||
            (sscanf(err + 6, "%lu", &at) == 1 && at > lines))
            abort();
        return 0;
    }
    const struct tls_netsh *f = report_netsh_file(n);
    for (size_t i = 0; i < f->n; i++)
        check_binding(n, &f->v[i], f->lines);
    struct report_netsh_audit a;
    if (report_netsh_audit(n, size & 1 ? n : NULL, &a) == 0)
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i].binding >= f->n ||
                !fuzz_text_is_clean(a.v[i].message, strlen(a.v[i].message)) ||
                (a.v[i].remedy && !fuzz_text_is_clean(a.v[i].remedy, strlen(a.v[i].remedy))) ||
                (size & 1 && a.v[i].check == REPORT_NETSH_CERTHASH_CHANGED))
                abort();
    report_netsh_audit_free(&a);
    report_netsh_free(n);
    return 0;
}
