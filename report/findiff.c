/* Findings of two scans paired (baseline.h: report_findings_pair), for caprobe diff and caprobe
 * report --baseline: one identity of a finding, so that both say the same about what is new,
 * resolved or changed. Pure: two records in, pairs out; no I/O. */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "tls/wire/error.h"

const char *report_finding_change_name(enum report_finding_change c)
{
    switch (c) {
    case REPORT_FINDING_NEW:
        return "new";
    case REPORT_FINDING_CHANGED:
        return "changed";
    case REPORT_FINDING_RESOLVED:
        return "resolved";
    case REPORT_FINDING_SAME:
        return "same";
    }
    return "?";
}

/* One finding with what it is known by. */
struct ident {
    const struct report_baseline_finding *f;
    const struct report_baseline_record *rec;
    bool per_variant; /* known by the variants it cites too */
    size_t pos;       /* its place in the record: the order of findings with one identity */
    size_t ordinal;   /* how many findings of the same identity come before it */
};

/* The variants two findings cite, by key: the same list of keys compares 0. */
static int cited_cmp(const struct ident *a, const struct ident *b)
{
    size_t n = a->f->n_variants < b->f->n_variants ? a->f->n_variants : b->f->n_variants;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a->rec->t.v[a->f->variants[i]].key, b->rec->t.v[b->f->variants[i]].key);
        if (c)
            return c;
    }
    return (a->f->n_variants > b->f->n_variants) - (a->f->n_variants < b->f->n_variants);
}

/* Identity: the rule, then for a rule per variant the keys it cites. */
static int ident_cmp(const struct ident *a, const struct ident *b)
{
    int c = strcmp(a->f->rule, b->f->rule);
    if (c || !a->per_variant)
        return c;
    return cited_cmp(a, b);
}

static int by_ident_pos(const void *pa, const void *pb)
{
    const struct ident *a = pa, *b = pb;
    int c = ident_cmp(a, b);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/* rec's findings sorted by identity, each with its ordinal among its equals. */
static struct ident *idents(const struct report_baseline_record *rec, size_t *n)
{
    *n = rec ? rec->n_findings : 0;
    struct ident *v = malloc((*n ? *n : 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        const struct report_rule *rule = report_rule_find(rec->findings[i].rule);
        v[i] = (struct ident){&rec->findings[i], rec, rule && rule->per_variant, i, 0};
    }
    qsort(v, *n, sizeof(*v), by_ident_pos);
    for (size_t i = 1; i < *n; i++)
        if (ident_cmp(&v[i - 1], &v[i]) == 0)
            v[i].ordinal = v[i - 1].ordinal + 1;
    return v;
}

static int ident_ord_cmp(const struct ident *a, const struct ident *b)
{
    int c = ident_cmp(a, b);
    return c ? c : (a->ordinal > b->ordinal) - (a->ordinal < b->ordinal);
}

/* A pair with the identity of the finding it is shown by (the later one, else the earlier). */
struct ranked {
    struct report_finding_pair p;
    struct ident id;
};

static int by_change(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->p.change != b->p.change)
        return (int)a->p.change - (int)b->p.change;
    if (a->id.f->severity != b->id.f->severity)
        return (int)b->id.f->severity - (int)a->id.f->severity;
    struct ident ia = a->id, ib = b->id;
    ia.per_variant = ib.per_variant = true; /* in order of the variants cited too */
    return ident_cmp(&ia, &ib);
}

int report_findings_pair(const struct report_baseline_record *o,
                         const struct report_baseline_record *n, struct report_finding_pair **out,
                         size_t *count)
{
    size_t no, nn, k = 0;
    *out = NULL;
    *count = 0;
    struct ident *a = idents(o, &no), *b = idents(n, &nn);
    struct ranked *r = malloc((no + nn ? no + nn : 1) * sizeof(*r));
    int rc = TLS_E_NOMEM;
    if (a == NULL || b == NULL || r == NULL)
        goto out;
    for (size_t i = 0, j = 0; i < no || j < nn;) {
        int c = i == no ? 1 : j == nn ? -1 : ident_ord_cmp(&a[i], &b[j]);
        struct ranked *x = &r[k++];
        if (c < 0) {
            x->p = (struct report_finding_pair){REPORT_FINDING_RESOLVED, a[i].f, NULL};
            x->id = a[i++];
        } else if (c > 0) {
            x->p = (struct report_finding_pair){REPORT_FINDING_NEW, NULL, b[j].f};
            x->id = b[j++];
        } else {
            bool same = a[i].f->severity == b[j].f->severity &&
                        strcmp(a[i].f->message, b[j].f->message) == 0;
            x->p = (struct report_finding_pair){same ? REPORT_FINDING_SAME : REPORT_FINDING_CHANGED,
                                                a[i].f, b[j].f};
            x->id = b[j];
            i++;
            j++;
        }
    }
    qsort(r, k, sizeof(*r), by_change);
    if (k && (*out = malloc(k * sizeof(**out))) == NULL)
        goto out;
    for (size_t i = 0; i < k; i++)
        (*out)[i] = r[i].p;
    *count = k;
    rc = 0;
out:
    free(a);
    free(b);
    free(r);
    return rc;
}
