/* The fleet model of caprobe report (fleet.h): the scan read tolerantly and the baseline
 * strictly, through the one reader (baseline.c), then per target its verdict, its variants in
 * groups by answer and its findings paired with the baseline's (findiff.c), and per fleet the
 * counts every format shows. Memory: the reader's arena plus a few arrays per target; names are
 * counted through one hash table of distinct names. No output here. */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"
#include "tls/wire/str.h"

const char *report_fleet_bucket_label(enum report_fleet_bucket b)
{
    switch (b) {
    case REPORT_FLEET_NO_REQUEST:
        return "no request";
    case REPORT_FLEET_EMPTY:
        return "0 (empty)";
    case REPORT_FLEET_1:
        return "1";
    case REPORT_FLEET_2_4:
        return "2-4";
    case REPORT_FLEET_5_19:
        return "5-19";
    case REPORT_FLEET_20_99:
        return "20-99";
    case REPORT_FLEET_100_499:
        return "100-499";
    case REPORT_FLEET_500_UP:
        return "500 and more";
    }
    return "?";
}

static enum report_fleet_bucket bucket_of(const struct report_fleet_target *t)
{
    size_t n = t->largest_names;
    if (!t->asks)
        return REPORT_FLEET_NO_REQUEST;
    return n == 0    ? REPORT_FLEET_EMPTY
           : n == 1  ? REPORT_FLEET_1
           : n < 5   ? REPORT_FLEET_2_4
           : n < 20  ? REPORT_FLEET_5_19
           : n < 100 ? REPORT_FLEET_20_99
           : n < 500 ? REPORT_FLEET_100_499
                     : REPORT_FLEET_500_UP;
}

void report_fleet_variant_label(const struct report_baseline_detail *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s, %s%s, TLS %s%s", d->address ? d->address : "-",
             d->sni ? "SNI " : "no SNI", d->sni ? d->sni : "", d->tls_max ? d->tls_max : "?",
             tls_str_same(d->phase, "handshake") ? "" : ", renegotiation");
}

void report_fleet_answer(const struct report_baseline_record *rec,
                         const struct report_fleet_group *g, char *buf, size_t cap)
{
    const struct report_baseline_variant *v = &rec->t.v[g->variants[0]];
    const struct report_baseline_detail *d = &rec->detail[g->variants[0]];
    int n = 0;
    switch ((enum report_list_state)v->state) {
    case REPORT_LIST_NAMES:
        if (v->n_cas)
            n = snprintf(buf, cap, "%zu name%s (%zu bytes)", v->n_cas, v->n_cas == 1 ? "" : "s",
                         d->list_bytes);
        else
            n = snprintf(buf, cap, "0 names (empty list)");
        break;
    case REPORT_LIST_NONE:
        n = snprintf(buf, cap, "no certificate request");
        break;
    case REPORT_LIST_UNKNOWN:
        if (tls_str_same(d->error_kind, "version_not_offered") && d->error_message)
            n = snprintf(buf, cap, "%s", d->error_message);
        else
            n = snprintf(buf, cap, "error (%s): %s", d->error_kind ? d->error_kind : "?",
                         d->error_message ? d->error_message : "");
        return;
    }
    if (n >= 0 && (size_t)n < cap && d->tls_version && d->tls_max &&
        strcmp(d->tls_version, d->tls_max) != 0)
        snprintf(buf + n, cap - (size_t)n, " (server chose TLS %s)", d->tls_version);
}

void report_fleet_client_cert(const struct report_baseline_detail *d, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!d->has_client_cert || d->cc_result == NULL)
        return;
    const char *pre = d->cc_presented ? "presented, " : "";
    enum tls_client_cert_result r = TLS_CLIENT_CERT_NONE;
    while (r <= TLS_CLIENT_CERT_ERROR &&
           !tls_str_same(tls_client_cert_result_name(r), d->cc_result))
        r++;
    if (r > TLS_CLIENT_CERT_ERROR) { /* a later version's result */
        snprintf(buf, cap, "%s%s", pre, d->cc_result);
        return;
    }
    char phrase[2048]; /* an error in words can be long; ours stay under 1 KiB */
    tls_client_cert_phrase(r, tls_str_same(d->phase, "renegotiation"), d->cc_alert,
                           d->cc_http_status, d->cc_error, phrase, sizeof(phrase));
    snprintf(buf, cap, "%s%s", pre, phrase);
}

void report_fleet_http(const struct report_baseline_detail *d, char *buf, size_t cap)
{
    buf[0] = 0;
    if (d->http_path == NULL)
        return;
    int n;
    if (d->http_status_line)
        n = snprintf(buf, cap, "GET %s: %s%s%s%s", d->http_path, d->http_status_line,
                     d->http_server ? " (Server: " : "", d->http_server ? d->http_server : "",
                     d->http_server ? ")" : "");
    else
        n = snprintf(buf, cap, "GET %s: no response (%s): %s", d->http_path,
                     d->http_error_kind ? d->http_error_kind : "?",
                     d->http_error_message ? d->http_error_message : "");
    if (d->http_renegotiation && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "; the server renegotiated after the request");
}

void report_fleet_counts_text(const size_t *by, size_t total, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%zu finding%s", total, total == 1 ? "" : "s");
    const char *sep = ": ";
    for (int s = REPORT_SEV_CRITICAL; s >= REPORT_SEV_INFO && n >= 0 && (size_t)n < cap; s--)
        if (by[s]) {
            n += snprintf(buf + n, cap - (size_t)n, "%s%zu %s", sep, by[s],
                          report_severity_name((enum report_severity)s));
            sep = ", ";
        }
}

const char *report_fleet_verdict_word(const struct report_fleet_target *t)
{
    if (t->removed)
        return "removed";
    switch (t->verdict) {
    case REPORT_VERDICT_OK:
        return "ok";
    case REPORT_VERDICT_FINDINGS:
        return "findings";
    case REPORT_VERDICT_NOT_PROBED:
        return "not probed";
    }
    return "";
}

void report_fleet_verdict_text(const struct report_fleet_target *t, char *buf, size_t cap)
{
    char counts[160];
    report_fleet_counts_text(t->by_severity, t->n_current, counts, sizeof(counts));
    if (t->removed)
        snprintf(buf, cap, "removed (only in the baseline)");
    else if (t->verdict == REPORT_VERDICT_NOT_PROBED)
        snprintf(buf, cap, "could not be probed%s%s%s%s", t->n_current ? " (" : "",
                 t->n_current ? counts : "", t->n_current ? ")" : "", t->added ? ", added" : "");
    else if (t->verdict == REPORT_VERDICT_FINDINGS)
        snprintf(buf, cap, "%s%s", counts, t->added ? ", added" : "");
    else
        snprintf(buf, cap, "OK%s", t->added ? ", added" : "");
}

const struct report_baseline_finding *
report_fleet_worst_finding(const struct report_fleet_target *t)
{
    for (size_t k = 0; k < t->n_findings; k++)
        if (t->findings[k].now && (int)t->findings[k].now->severity == t->worst)
            return t->findings[k].now;
    return NULL;
}

size_t report_fleet_shown(const struct report_fleet *f, const struct report_fleet_opts *o)
{
    size_t all = f->n + f->n_removed;
    return o->targets < all ? o->targets : all;
}

void report_fleet_rest_text(const struct report_fleet *f, size_t shown, char *buf, size_t cap)
{
    size_t all = f->n + f->n_removed, by[4] = {0}; /* with findings, OK, not probed, removed */
    static const char *const what[4] = {"with findings", "OK", "not probed", "removed"};
    buf[0] = 0;
    if (shown >= all)
        return;
    for (size_t i = shown; i < all; i++) {
        const struct report_fleet_target *t = &f->t[i];
        by[t->removed                              ? 3
           : t->verdict == REPORT_VERDICT_FINDINGS ? 0
           : t->verdict == REPORT_VERDICT_OK       ? 1
                                                   : 2]++;
    }
    int n = snprintf(buf, cap, "%zu%s target%s not shown", all - shown, shown ? " more" : "",
                     all - shown == 1 ? "" : "s");
    const char *sep = " (";
    for (int k = 0; k < 4 && n >= 0 && (size_t)n < cap; k++)
        if (by[k]) {
            n += snprintf(buf + n, cap - (size_t)n, "%s%zu %s", sep, by[k], what[k]);
            sep = ", ";
        }
    if (n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, ")");
}

/* ---- one target ----------------------------------------------------------------------------- */

/* Two variants got the same answer to the client certificate and to the request. */
static bool same_exchange(const struct report_baseline_detail *a,
                          const struct report_baseline_detail *b)
{
    return a->has_client_cert == b->has_client_cert && a->cc_presented == b->cc_presented &&
           tls_str_same(a->cc_result, b->cc_result) && tls_str_same(a->cc_alert, b->cc_alert) &&
           tls_str_same(a->cc_error, b->cc_error) && a->cc_http_status == b->cc_http_status &&
           tls_str_same(a->http_path, b->http_path) &&
           tls_str_same(a->http_status_line, b->http_status_line) &&
           tls_str_same(a->http_server, b->http_server) &&
           tls_str_same(a->http_error_kind, b->http_error_kind) &&
           tls_str_same(a->http_error_message, b->http_error_message) &&
           a->http_renegotiation == b->http_renegotiation &&
           (a->cc_result == NULL || tls_str_same(a->phase, b->phase));
}

/* Two variants one group tells: the same answer, the same server certificate, and the same
 * answers to the client certificate and the request. */
static bool same_answer(const struct report_baseline_record *rec, size_t a, size_t b)
{
    const struct report_baseline_variant *va = &rec->t.v[a], *vb = &rec->t.v[b];
    const struct report_baseline_detail *da = &rec->detail[a], *db = &rec->detail[b];
    if (va->state != vb->state || va->has_cert != vb->has_cert || !same_exchange(da, db) ||
        (va->has_cert && memcmp(va->cert_sha256, vb->cert_sha256, 32) != 0) ||
        !tls_str_same(da->tls_version, db->tls_version) ||
        (da->tls_version && !tls_str_same(da->tls_max, db->tls_max)))
        return false;
    switch ((enum report_list_state)va->state) {
    case REPORT_LIST_NAMES:
        return va->n_cas == vb->n_cas && da->list_id == db->list_id;
    case REPORT_LIST_NONE:
        return true;
    case REPORT_LIST_UNKNOWN:
        return tls_str_same(da->error_kind, db->error_kind) &&
               tls_str_same(da->error_message, db->error_message);
    }
    return false;
}

static int by_text(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* The variants in groups by answer, each group's names sorted by text. */
static int groups_build(struct report_fleet_target *t)
{
    const struct report_baseline_record *rec = t->rec;
    size_t n = rec->t.n;
    t->groups = calloc(n ? n : 1, sizeof(*t->groups));
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    bool *told = calloc(n ? n : 1, sizeof(*told));
    if (t->groups == NULL || idx == NULL || told == NULL) {
        free(idx);
        free(told);
        return TLS_E_NOMEM;
    }
    /* one array of indexes, cut into the groups */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (told[i])
            continue;
        struct report_fleet_group *g = &t->groups[t->n_groups++];
        g->variants = idx + k;
        for (size_t j = i; j < n; j++)
            if (!told[j] && (j == i || same_answer(rec, i, j))) {
                told[j] = true;
                idx[k++] = j;
                g->n++;
            }
        const struct report_baseline_variant *v = &rec->t.v[i];
        const struct report_baseline_detail *d = &rec->detail[i];
        if (v->state == REPORT_LIST_NAMES) {
            t->asks = true;
            if (v->n_cas > t->largest_names ||
                (v->n_cas == t->largest_names && d->list_bytes > t->largest_bytes)) {
                t->largest_names = v->n_cas;
                t->largest_bytes = d->list_bytes;
            }
        }
        if (v->state == REPORT_LIST_NAMES && d->dns && v->n_cas) {
            const char **names = malloc(v->n_cas * sizeof(*names));
            if (names == NULL) {
                free(told);
                return TLS_E_NOMEM;
            }
            memcpy(names, d->dns, v->n_cas * sizeof(*names));
            qsort(names, v->n_cas, sizeof(*names), by_text);
            g->names = names;
            g->n_names = v->n_cas;
        }
    }
    free(told);
    if (n == 0)
        free(idx); /* no group points into it */
    return 0;
}

static void groups_free(struct report_fleet_target *t)
{
    if (t->n_groups)
        free((void *)t->groups[0].variants); /* the one array of indexes */
    for (size_t i = 0; i < t->n_groups; i++)
        free((void *)t->groups[i].names);
    free(t->groups);
}

static int rank(enum report_finding_change c)
{
    switch (c) {
    case REPORT_FINDING_NEW:
        return 0;
    case REPORT_FINDING_CHANGED:
        return 1;
    case REPORT_FINDING_SAME:
        return 2;
    case REPORT_FINDING_RESOLVED:
        return 3;
    }
    return 4;
}

static const struct report_baseline_finding *shown(const struct report_fleet_finding *f)
{
    return f->now ? f->now : f->old;
}

static int by_rank(const void *pa, const void *pb)
{
    const struct report_fleet_finding *a = pa, *b = pb;
    if (rank(a->change) != rank(b->change))
        return rank(a->change) - rank(b->change);
    const struct report_baseline_finding *fa = shown(a), *fb = shown(b);
    if (fa->severity != fb->severity)
        return (int)fb->severity - (int)fa->severity;
    return strcmp(fa->rule, fb->rule);
}

/* The target's findings against the baseline's record old (NULL: none, or no baseline). */
static int findings_build(struct report_fleet_target *t, const struct report_baseline_record *now,
                          const struct report_baseline_record *old)
{
    struct report_finding_pair *p;
    size_t n;
    int rc = report_findings_pair(old, now, &p, &n);
    if (rc)
        return rc;
    t->findings = calloc(n ? n : 1, sizeof(*t->findings));
    if (t->findings == NULL) {
        free(p);
        return TLS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct report_fleet_finding *f = &t->findings[i];
        *f = (struct report_fleet_finding){p[i].change, p[i].old, p[i].now, p[i].now ? now : old};
        if (f->now) {
            t->n_current++;
            t->by_severity[f->now->severity]++;
            if ((int)f->now->severity > t->worst)
                t->worst = (int)f->now->severity;
        }
    }
    t->n_findings = n;
    free(p);
    qsort(t->findings, n, sizeof(*t->findings), by_rank);
    return 0;
}

static bool unprobed(const struct report_baseline_record *rec)
{
    for (size_t i = 0; i < rec->t.n; i++)
        if (rec->t.v[i].state != REPORT_LIST_UNKNOWN)
            return false;
    return true;
}

static int target_build(struct report_fleet *f, struct report_fleet_target *t,
                        const struct report_baseline_record *rec,
                        const struct report_baseline_record *old, bool removed)
{
    memset(t, 0, sizeof(*t));
    t->rec = rec;
    t->worst = -1;
    t->removed = removed;
    t->added = f->base && old == NULL && !removed;
    int rc = groups_build(t);
    if (rc == 0)
        rc = removed ? findings_build(t, NULL, rec) : findings_build(t, rec, old);
    if (removed) {
        t->verdict = REPORT_VERDICT_NOT_PROBED;
        t->worst = -1;
        t->n_current = 0;
        memset(t->by_severity, 0, sizeof(t->by_severity));
    } else {
        t->verdict = unprobed(rec)  ? REPORT_VERDICT_NOT_PROBED
                     : t->n_current ? REPORT_VERDICT_FINDINGS
                                    : REPORT_VERDICT_OK;
    }
    return rc;
}

/* Worst first: the highest severity, then the most findings, then the record's key. */
static int by_worst(const void *pa, const void *pb)
{
    const struct report_fleet_target *a = pa, *b = pb;
    if (a->worst != b->worst)
        return b->worst - a->worst;
    if (a->n_current != b->n_current)
        return (a->n_current < b->n_current) - (a->n_current > b->n_current);
    return report_baseline_record_cmp(a->rec, b->rec);
}

/* ---- the fleet ------------------------------------------------------------------------------ */

static int rule_add(struct report_fleet *f, size_t *cap, const struct report_fleet_finding *x,
                    bool first_of_target)
{
    const struct report_baseline_finding *s = shown(x);
    struct report_fleet_rule *r = NULL;
    for (size_t i = 0; i < f->n_rules && r == NULL; i++)
        if (f->rules[i].severity == s->severity && strcmp(f->rules[i].rule, s->rule) == 0)
            r = &f->rules[i];
    if (r == NULL) {
        if (f->n_rules == *cap) {
            size_t c = *cap ? 2 * *cap : 16;
            struct report_fleet_rule *v = realloc(f->rules, c * sizeof(*v));
            if (v == NULL)
                return TLS_E_NOMEM;
            f->rules = v;
            *cap = c;
        }
        r = &f->rules[f->n_rules++];
        *r = (struct report_fleet_rule){.rule = s->rule, .severity = s->severity};
    }
    if (x->now) {
        r->findings++;
        r->targets += first_of_target;
    }
    switch (x->change) {
    case REPORT_FINDING_NEW:
        r->new += f->base != NULL;
        break;
    case REPORT_FINDING_CHANGED:
        r->changed++;
        break;
    case REPORT_FINDING_RESOLVED:
        r->resolved++;
        break;
    case REPORT_FINDING_SAME:
        break;
    }
    return 0;
}

static int by_rule_row(const void *pa, const void *pb)
{
    const struct report_fleet_rule *a = pa, *b = pb;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    if (a->findings != b->findings)
        return (a->findings < b->findings) - (a->findings > b->findings);
    return strcmp(a->rule, b->rule);
}

/* The rows of the rules table: each rule and severity, with the targets it fires on counted
 * once per target. */
static int rules_build(struct report_fleet *f)
{
    size_t cap = 0;
    for (size_t i = 0; i < f->n + f->n_removed; i++) {
        const struct report_fleet_target *t = &f->t[i];
        for (size_t k = 0; k < t->n_findings; k++) {
            const struct report_fleet_finding *x = &t->findings[k];
            bool first = true; /* of its rule and severity in this target */
            for (size_t j = 0; j < k && first; j++)
                first = !(t->findings[j].now &&
                          shown(&t->findings[j])->severity == shown(x)->severity &&
                          strcmp(shown(&t->findings[j])->rule, shown(x)->rule) == 0);
            int rc = rule_add(f, &cap, x, first);
            if (rc)
                return rc;
        }
    }
    if (f->n_rules > 1)
        qsort(f->rules, f->n_rules, sizeof(*f->rules), by_rule_row);
    return 0;
}

/* A distinct name, counted once per target. */
struct name_count {
    const uint8_t *sha;
    const char *dn;
    size_t targets, last; /* last: 1 + index of the last target that counted it */
};

static bool name_is(const void *val, const void *key)
{
    return memcmp(((const struct name_count *)val)->sha, key, 32) == 0;
}

static int by_count(const void *pa, const void *pb)
{
    const struct name_count *a = *(const struct name_count *const *)pa,
                            *b = *(const struct name_count *const *)pb;
    if (a->targets != b->targets)
        return (a->targets < b->targets) - (a->targets > b->targets);
    return strcmp(a->dn, b->dn);
}

/* The names advertised by the most targets. */
static int names_build(struct report_fleet *f)
{
    struct tls_hashtab names;
    tls_hashtab_init(&names);
    struct name_count **all = NULL;
    size_t n_all = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        const struct report_baseline_record *rec = f->t[i].rec;
        for (size_t v = 0; v < rec->t.n && rc == 0; v++) {
            const struct report_baseline_variant *var = &rec->t.v[v];
            const struct report_baseline_detail *d = &rec->detail[v];
            if (var->state != REPORT_LIST_NAMES)
                continue;
            for (size_t k = 0; k < var->n_cas && rc == 0; k++) {
                uint64_t h = tls_hash_digest(var->cas[k]);
                void **slot = tls_hashtab_find(&names, h, name_is, var->cas[k]);
                struct name_count *c = slot ? *slot : NULL;
                if (c == NULL) {
                    if (n_all == cap) {
                        cap = cap ? 2 * cap : 256;
                        struct name_count **a = realloc(all, cap * sizeof(*a));
                        if (a == NULL) {
                            rc = TLS_E_NOMEM;
                            break;
                        }
                        all = a;
                    }
                    if ((c = calloc(1, sizeof(*c))) == NULL ||
                        (rc = tls_hashtab_insert(&names, h, c)) != 0) {
                        free(c);
                        rc = TLS_E_NOMEM;
                        break;
                    }
                    c->sha = var->cas[k];
                    c->dn = d->dns ? d->dns[k] : "";
                    all[n_all++] = c;
                }
                if (c->last != i + 1) {
                    c->last = i + 1;
                    c->targets++;
                }
            }
        }
    }
    if (rc == 0 && n_all) {
        qsort(all, n_all, sizeof(*all), by_count);
        for (size_t i = 0; i < n_all && f->n_top < REPORT_FLEET_TOP_NAMES; i++)
            f->top[f->n_top++] = (struct report_fleet_name){all[i]->dn, all[i]->targets};
    }
    for (size_t i = 0; i < n_all; i++)
        free(all[i]);
    free(all);
    tls_hashtab_free(&names);
    return rc;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* Distinct list ids among the requests of the scan's targets. */
static int lists_count(struct report_fleet *f)
{
    size_t n = 0, cap = 0;
    uint64_t *ids = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const struct report_baseline_record *rec = f->t[i].rec;
        for (size_t v = 0; v < rec->t.n; v++) {
            if (rec->t.v[v].state != REPORT_LIST_NAMES)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                uint64_t *x = realloc(ids, cap * sizeof(*x));
                if (x == NULL) {
                    free(ids);
                    return TLS_E_NOMEM;
                }
                ids = x;
            }
            ids[n++] = rec->detail[v].list_id;
        }
    }
    if (n)
        qsort(ids, n, sizeof(*ids), u64_cmp);
    for (size_t i = 0; i < n; i++)
        f->distinct_lists += i == 0 || ids[i] != ids[i - 1];
    free(ids);
    return 0;
}

static void counts_build(struct report_fleet *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct report_fleet_target *t = &f->t[i];
        f->findings += t->n_current;
        for (int s = 0; s < REPORT_FLEET_SEVERITIES; s++)
            f->by_severity[s] += t->by_severity[s];
        if (t->verdict == REPORT_VERDICT_NOT_PROBED) {
            f->unprobed++;
            continue;
        }
        f->probed++;
        *(t->n_current ? &f->with_findings : &f->ok) += 1;
        enum report_fleet_bucket b = bucket_of(t);
        f->buckets[b]++;
        if (t->largest_bytes > f->bucket_bytes[b])
            f->bucket_bytes[b] = t->largest_bytes;
        f->over_16k += t->largest_bytes > 16384;
        f->over_32k += t->largest_bytes > 32768;
    }
    for (size_t i = 0; i < f->n && f->n_worst < REPORT_FLEET_WORST; i++)
        if (f->t[i].worst >= 0)
            f->worst[f->n_worst++] = i;
    for (size_t i = 0; f->base && i < f->n + f->n_removed; i++) {
        const struct report_fleet_target *t = &f->t[i];
        for (size_t k = 0; k < t->n_findings; k++) {
            f->new += t->findings[k].change == REPORT_FINDING_NEW;
            f->changed += t->findings[k].change == REPORT_FINDING_CHANGED;
            f->resolved += t->findings[k].change == REPORT_FINDING_RESOLVED;
        }
        f->added += t->added;
        f->removed += t->removed;
    }
}

static int build(struct report_fleet *f)
{
    size_t n = report_baseline_count(f->scan), removed = 0;
    for (size_t i = 0; f->base && i < report_baseline_count(f->base); i++) {
        const struct report_baseline_record *r = report_baseline_at(f->base, i);
        removed += report_baseline_lookup(f->scan, r->target, r->starttls) == NULL;
    }
    f->t = calloc(n + removed ? n + removed : 1, sizeof(*f->t));
    if (f->t == NULL)
        return TLS_E_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++, f->n++) {
        const struct report_baseline_record *r = report_baseline_at(f->scan, i);
        rc = target_build(f, &f->t[i], r, report_baseline_lookup(f->base, r->target, r->starttls),
                          false);
    }
    for (size_t i = 0; f->base && rc == 0 && i < report_baseline_count(f->base); i++) {
        const struct report_baseline_record *r = report_baseline_at(f->base, i);
        if (report_baseline_lookup(f->scan, r->target, r->starttls) == NULL)
            rc = target_build(f, &f->t[n + f->n_removed++], r, NULL, true);
    }
    if (rc)
        return rc;
    qsort(f->t, f->n, sizeof(*f->t), by_worst);
    if (f->n_removed > 1)
        qsort(f->t + f->n, f->n_removed, sizeof(*f->t), by_worst);
    counts_build(f);
    if ((rc = rules_build(f)) == 0 && (rc = names_build(f)) == 0)
        rc = lists_count(f);
    return rc;
}

int report_fleet_load(struct report_fleet **out, const char *scan, const char *base, char *err,
                      size_t cap)
{
    *out = NULL;
    if (base && strcmp(scan, "-") == 0 && strcmp(base, "-") == 0) {
        snprintf(err, cap, "SCAN and --baseline cannot both be standard input");
        return TLS_E_INVALID;
    }
    struct report_fleet *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, cap, "out of memory");
        return TLS_E_NOMEM;
    }
    struct report_baseline_opts opts = {
        .keep_names = true, .keep_findings = true, .keep_detail = true, .tolerant = true};
    int rc = report_baseline_load_opts(&f->scan, scan, &opts, err, cap);
    opts.tolerant = false; /* a baseline cut short would show its missing targets as added */
    if (rc == 0 && base)
        rc = report_baseline_load_opts(&f->base, base, &opts, err, cap);
    /* an empty baseline would show every target as added and every finding as new */
    if (rc == 0 && report_baseline_empty(f->base, "nothing to compare with", err, cap))
        rc = TLS_E_INVALID;
    if (rc == 0) {
        f->scan_name = report_baseline_name(f->scan);
        f->base_name = report_baseline_name(f->base);
        f->input_errors = report_baseline_input_errors(f->scan);
        if ((rc = build(f)) != 0)
            snprintf(err, cap, "out of memory");
    }
    if (rc) {
        report_fleet_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void report_fleet_free(struct report_fleet *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; f->t && i < f->n + f->n_removed; i++) {
        groups_free(&f->t[i]);
        free(f->t[i].findings);
    }
    free(f->t);
    free(f->rules);
    report_baseline_free(f->scan);
    report_baseline_free(f->base);
    free(f);
}
