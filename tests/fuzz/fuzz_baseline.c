/* libFuzzer target for the JSON Lines baseline reader (report/baseline.c): any bytes as the
 * --baseline file, with and without the names kept (the parity of the size decides). The
 * contract, checked on every input: a rejected file yields no index, one of the documented codes
 * and a message "FILE:LINE: ..." whose LINE is a line of the input; an accepted one holds at most
 * one record per line, each found again by its own target, read from a non-blank line, with its
 * variants' keys strictly sorted and each variant's state agreeing with its outcome. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report/baseline.h"
#include "tests/fuzz/fuzz.h"
#include "tls/wire/error.h"

/* Lines of the input as the reader counts them: a last line without '\n' counts too. */
static size_t count_lines(const uint8_t *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines + (n > 0 && p[n - 1] != '\n');
}

/* Whether line `no` (from 1) holds anything but blanks, as the reader skips them. */
static int line_has_text(const uint8_t *p, size_t n, size_t no)
{
    size_t i = 0;
    for (size_t at = 1; at < no && i < n; i++)
        at += p[i] == '\n';
    for (; i < n && p[i] != '\n'; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 1;
    return 0;
}

static void check_record(const struct report_baseline *b, const struct report_baseline_record *r,
                         const uint8_t *data, size_t size, int names)
{
    if (r == NULL || r->target == NULL || report_baseline_lookup(b, r->target, r->starttls) != r ||
        report_baseline_find(b, r->target, r->starttls) != &r->t || r->line < 1 ||
        r->line > count_lines(data, size) || !line_has_text(data, size, r->line))
        abort();
    for (size_t k = 0; k < r->t.n; k++) {
        const struct report_baseline_variant *v = &r->t.v[k];
        const struct report_baseline_detail *d = &r->detail[k];
        if (k > 0 && strcmp(r->t.v[k - 1].key, v->key) >= 0)
            abort();
        /* the outcome decides the state; only a list has names, only an error a kind */
        int want = strcmp(d->outcome, "certificate_request") == 0      ? REPORT_LIST_NAMES
                   : strcmp(d->outcome, "no_certificate_request") == 0 ? REPORT_LIST_NONE
                   : strcmp(d->outcome, "error") == 0                  ? REPORT_LIST_UNKNOWN
                                                                       : -1;
        if (v->state != want || (want != REPORT_LIST_NAMES && v->n_cas != 0) ||
            (want == REPORT_LIST_UNKNOWN) != (d->error_kind != NULL) ||
            (!names && d->dns != NULL) || (names && v->n_cas != 0 && d->dns == NULL))
            abort();
        for (size_t i = 0; d->dns && i < v->n_cas; i++)
            if (d->dns[i] == NULL)
                abort();
        for (size_t i = 1; i < v->n_cas; i++)
            if (memcmp(v->cas[i - 1], v->cas[i], 32) > 0)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("baseline", 0);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct report_baseline_opts opts = {.keep_names = size & 1};
    struct report_baseline *b = NULL;
    int rc = report_baseline_load_opts(&b, path, &opts, err, sizeof(err));
    if (rc != 0) {
        /* "PATH:LINE: what": a memfd is always readable, so every failure is in a line */
        size_t plen = strlen(path);
        char *end = NULL;
        unsigned long line = strncmp(err, path, plen) == 0 && err[plen] == ':'
                                 ? strtoul(err + plen + 1, &end, 10)
                                 : 0;
        if (b != NULL || (rc != TLS_E_INVALID && rc != TLS_E_LIMIT && rc != TLS_E_NOMEM) ||
            end == NULL || *end != ':' || line < 1 || line > count_lines(data, size) ||
            (rc == TLS_E_INVALID && !line_has_text(data, size, line)))
            abort();
    }
    size_t n = report_baseline_count(b);
    if (n > count_lines(data, size) || report_baseline_at(b, n) != NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        check_record(b, report_baseline_at(b, i), data, size, opts.keep_names);
    report_baseline_free(b);
    close(fd);
    return 0;
}
