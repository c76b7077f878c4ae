/* The merge of two digest-sorted lists (digestset.h). Pure; reads each entry once. */
#include "digestset.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static const uint8_t *at(const struct tls_digest_list *l, size_t i)
{
    return l->base + i * l->stride;
}

/* The index after the run of equal digests that starts at i. */
static size_t skip_run(const struct tls_digest_list *l, size_t i)
{
    size_t j = i + 1;
    while (j < l->n && memcmp(at(l, j), at(l, i), 32) == 0)
        j++;
    return j;
}

void tls_digest_list_diff(const struct tls_digest_list *a, const struct tls_digest_list *b,
                          size_t *only_a, size_t *only_b, tls_digest_only_fn *on_a,
                          tls_digest_only_fn *on_b, void *ctx)
{
    size_t i = 0, j = 0, na = 0, nb = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : memcmp(at(a, i), at(b, j), 32);
        if (c < 0) {
            if (on_a)
                on_a(ctx, i);
            na++;
            i = skip_run(a, i);
        } else if (c > 0) {
            if (on_b)
                on_b(ctx, j);
            nb++;
            j = skip_run(b, j);
        } else {
            i = skip_run(a, i);
            j = skip_run(b, j);
        }
    }
    if (only_a)
        *only_a = na;
    if (only_b)
        *only_b = nb;
}

uint64_t tls_digest_list_id(const struct tls_digest_list *l)
{
    uint64_t h = TLS_FNV1A_OFFSET;
    for (size_t i = 0; i < l->n; i = skip_run(l, i))
        h = tls_fnv1a(at(l, i), 32, h);
    return h;
}

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

void tls_digest_sort(uint8_t (*v)[32], size_t n)
{
    if (n > 1)
        qsort(v, n, 32, digest_cmp);
}
