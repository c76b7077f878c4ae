/* caprobe diff (baseline.h): the subcommand's command line, then two scans loaded as baselines
 * with their names and findings, compared target by target: findings by identity (findiff.c),
 * variants by report_variant_key; rendered as text (counts first) or JSON Lines. Names are
 * compared as sets of SHA-256, never by their text. Reads only the two files; no clock, so the
 * same inputs always give the same bytes. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "jsonw.h"
#include "report.h"
#include "tls/wire/digestset.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hex.h"
#include "tls/wire/str.h"

enum change {
    CH_VARIANT_ADDED = 1u << 0,
    CH_VARIANT_REMOVED = 1u << 1,
    CH_OUTCOME = 1u << 2, /* an error on either side, or another error kind */
    CH_REQUEST_APPEARED = 1u << 3,
    CH_REQUEST_DISAPPEARED = 1u << 4,
    CH_NAMES_ADDED = 1u << 5,
    CH_NAMES_REMOVED = 1u << 6,
    CH_CERT = 1u << 7,
    CH_VERSION = 1u << 8, /* the server chose another TLS version (both sides chose one) */
};

/* One variant on one side; v NULL when that side has no such variant. */
struct side {
    const struct report_baseline_variant *v;
    const struct report_baseline_detail *d;
};

struct vdiff {
    const char *key;
    struct side o, n;
    unsigned changes;
};

struct shown {
    const uint8_t *sha256;
    const char *dn;
};

static bool has_list(const struct side *s)
{
    return s->v->state == REPORT_LIST_NAMES || s->v->state == REPORT_LIST_NONE;
}

static struct tls_digest_list names_of(const struct side *s)
{
    size_t n = s->v->state == REPORT_LIST_NAMES ? s->v->n_cas : 0;
    return (struct tls_digest_list){n ? s->v->cas[0] : NULL, n, 32};
}

struct collect {
    const struct side *a;
    struct shown *out;
    size_t n;
};

static void collect_cb(void *ctx, size_t i)
{
    struct collect *c = ctx;
    c->out[c->n++] = (struct shown){c->a->v->cas[i], c->a->d->dns ? c->a->d->dns[i] : ""};
}

/* Names of a that b lacks (no request counts as no names), each once, into out (a's n_cas
 * entries at most) when given. Returns how many. */
static size_t only_in(const struct side *a, const struct side *b, struct shown *out)
{
    struct tls_digest_list la = names_of(a), lb = names_of(b);
    struct collect c = {a, out, 0};
    size_t n;
    tls_digest_list_diff(&la, &lb, &n, NULL, out ? collect_cb : NULL, NULL, &c);
    return n;
}

static int by_text(const void *pa, const void *pb)
{
    const struct shown *a = pa, *b = pb;
    int c = strcmp(a->dn, b->dn);
    return c ? c : memcmp(a->sha256, b->sha256, 32);
}

/* Error kinds that tell the same: a scan from before version_not_offered existed recorded a
 * declined version as the alert (tls_alert); the server did not change. */
static bool same_error_kind(const char *a, const char *b)
{
    static const char declined[] = "version_not_offered", alert[] = "tls_alert";
    if (tls_str_same(a, b))
        return true;
    return a && b &&
           ((strcmp(a, declined) == 0 && strcmp(b, alert) == 0) ||
            (strcmp(a, alert) == 0 && strcmp(b, declined) == 0));
}

static unsigned compare(const struct side *o, const struct side *n)
{
    if (o->v == NULL)
        return CH_VARIANT_ADDED;
    if (n->v == NULL)
        return CH_VARIANT_REMOVED;
    unsigned c = 0;
    if (!has_list(o) || !has_list(n)) {
        if (o->v->state != n->v->state || !same_error_kind(o->d->error_kind, n->d->error_kind))
            c |= CH_OUTCOME;
    } else {
        if (o->v->state == REPORT_LIST_NONE && n->v->state == REPORT_LIST_NAMES)
            c |= CH_REQUEST_APPEARED;
        if (o->v->state == REPORT_LIST_NAMES && n->v->state == REPORT_LIST_NONE)
            c |= CH_REQUEST_DISAPPEARED;
        if (only_in(n, o, NULL))
            c |= CH_NAMES_ADDED;
        if (only_in(o, n, NULL))
            c |= CH_NAMES_REMOVED;
    }
    if (o->v->has_cert && n->v->has_cert && memcmp(o->v->cert_sha256, n->v->cert_sha256, 32) != 0)
        c |= CH_CERT;
    if (o->d->tls_version && n->d->tls_version && strcmp(o->d->tls_version, n->d->tls_version))
        c |= CH_VERSION; /* TLS 1.2 yesterday, TLS 1.0 today: a downgrade worth telling */
    return c;
}

/* ---- rendering ------------------------------------------------------------------------------ */

static void put_outcome_text(struct report_buf *b, const struct side *s)
{
    report_buf_term(b, s->d->outcome);
    if (s->d->error_kind) {
        report_buf_puts(b, " (");
        report_buf_term(b, s->d->error_kind);
        report_buf_puts(b, ")");
    }
}

/* The names of a that b lacks, sorted by text; NULL (and *n 0) when there are none. */
static struct shown *names_only(const struct side *a, const struct side *b, size_t *n, bool *nomem)
{
    *n = 0;
    size_t max = a->v->state == REPORT_LIST_NAMES ? a->v->n_cas : 0;
    if (max == 0)
        return NULL;
    struct shown *v = malloc(max * sizeof(*v));
    if (v == NULL) {
        *nomem = true;
        return NULL;
    }
    *n = only_in(a, b, v);
    qsort(v, *n, sizeof(*v), by_text);
    return v;
}

static void text_names(struct report_buf *b, const struct side *a, const struct side *other,
                       const char *sign)
{
    size_t n;
    struct shown *v = names_only(a, other, &n, &b->failed);
    for (size_t i = 0; i < n; i++) {
        report_buf_puts(b, sign);
        report_buf_term(b, v[i].dn);
        report_buf_puts(b, "\n");
    }
    free(v);
}

/* "[192.0.2.10, SNI app.example.com, TLS 1.2]" (", renegotiation" for another phase) from a
 * variant key "ADDRESS|SNI|TLS_MAX|PHASE" (report_variant_key), as findings cite variants; a key
 * of another shape is shown as it is. */
static void text_variant_label(struct report_buf *b, const char *key)
{
    const char *f[4], *p = key;
    size_t len[4], k = 0;
    for (; k < 4; k++) {
        const char *bar = strchr(p, '|');
        f[k] = p;
        len[k] = bar ? (size_t)(bar - p) : strlen(p);
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    if (k != 3 || strchr(f[3], '|')) {
        report_buf_term(b, key);
        return;
    }
    char part[320];
    report_buf_puts(b, "[");
    for (size_t i = 0; i < 4; i++) {
        snprintf(part, sizeof(part), "%.*s", (int)len[i], f[i]);
        if (i == 0)
            report_buf_term(b, len[0] ? part : "no address");
        else if (i == 1)
            report_buf_puts(b, len[1] ? ", SNI " : ", no SNI");
        else if (i == 2)
            report_buf_puts(b, ", TLS ");
        else if (strcmp(part, "handshake") == 0)
            continue;
        else
            report_buf_puts(b, ", ");
        if (i > 0 && len[i])
            report_buf_term(b, part);
    }
    report_buf_puts(b, "]");
}

/* A variant's changes; old and new are the files, named for a variant only in one of them. */
static void text_variant(struct report_buf *b, const struct vdiff *vd, const char *old,
                         const char *new)
{
    char hex[65];
    report_buf_puts(b, "  ");
    text_variant_label(b, vd->key);
    report_buf_puts(b, ":\n");
    if (vd->changes & (CH_VARIANT_ADDED | CH_VARIANT_REMOVED)) { /* the file it is in, named */
        report_buf_puts(b, "    variant only in ");
        report_buf_term(b, vd->changes & CH_VARIANT_ADDED ? new : old);
        report_buf_puts(b, "\n");
    }
    if (vd->changes & CH_OUTCOME) {
        report_buf_puts(b, "    outcome changed: ");
        put_outcome_text(b, &vd->o);
        report_buf_puts(b, " -> ");
        put_outcome_text(b, &vd->n);
        report_buf_puts(b, "\n");
    }
    if (vd->changes & CH_REQUEST_APPEARED)
        report_buf_puts(b, "    certificate request appeared\n");
    if (vd->changes & CH_REQUEST_DISAPPEARED)
        report_buf_puts(b, "    certificate request disappeared\n");
    if (vd->changes & CH_NAMES_ADDED)
        text_names(b, &vd->n, &vd->o, "    + ");
    if (vd->changes & CH_NAMES_REMOVED)
        text_names(b, &vd->o, &vd->n, "    - ");
    if (vd->changes & CH_VERSION) {
        report_buf_puts(b, "    TLS version chosen: ");
        report_buf_term(b, vd->o.d->tls_version);
        report_buf_puts(b, " -> ");
        report_buf_term(b, vd->n.d->tls_version);
        report_buf_puts(b, "\n");
    }
    if (vd->changes & CH_CERT) {
        report_buf_puts(b, "    server certificate changed: sha256 ");
        tls_hex_encode(vd->o.v->cert_sha256, 32, hex);
        report_buf_puts(b, hex);
        report_buf_puts(b, " -> ");
        tls_hex_encode(vd->n.v->cert_sha256, 32, hex);
        report_buf_puts(b, hex);
        report_buf_puts(b, "\n");
    }
}

/* Each change object opens with a comma but the first. */
static void json_open(struct report_buf *b, size_t *k, const char *kind)
{
    report_buf_puts(b, (*k)++ ? ",{\"kind\":" : "{\"kind\":");
    report_buf_json_str(b, kind);
}

static void json_names(struct report_buf *b, size_t *k, const char *kind, const struct side *a,
                       const struct side *other)
{
    size_t n;
    struct shown *v = names_only(a, other, &n, &b->failed);
    json_open(b, k, kind);
    report_buf_puts(b, ",\"names\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            report_buf_puts(b, ",");
        report_buf_json_str(b, v[i].dn);
    }
    report_buf_puts(b, "]}");
    free(v);
}

static void json_sha(struct report_buf *b, const char *key, const uint8_t sha[32])
{
    char hex[65];
    tls_hex_encode(sha, 32, hex);
    report_buf_json_key(b, key);
    report_buf_json_str(b, hex);
}

static void json_variant(struct report_buf *b, const struct vdiff *vd)
{
    size_t k = 0;
    report_buf_puts(b, "{\"key\":");
    report_buf_json_str(b, vd->key);
    report_buf_puts(b, ",\"changes\":[");
    if (vd->changes & CH_VARIANT_ADDED) {
        json_open(b, &k, "variant_added");
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_VARIANT_REMOVED) {
        json_open(b, &k, "variant_removed");
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_OUTCOME) {
        json_open(b, &k, "outcome_changed");
        report_buf_puts(b, ",\"old\":");
        report_buf_json_str(b, vd->o.d->outcome);
        report_buf_puts(b, ",\"new\":");
        report_buf_json_str(b, vd->n.d->outcome);
        if (vd->o.d->error_kind) {
            report_buf_puts(b, ",\"old_error\":");
            report_buf_json_str(b, vd->o.d->error_kind);
        }
        if (vd->n.d->error_kind) {
            report_buf_puts(b, ",\"new_error\":");
            report_buf_json_str(b, vd->n.d->error_kind);
        }
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_REQUEST_APPEARED) {
        json_open(b, &k, "request_appeared");
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_REQUEST_DISAPPEARED) {
        json_open(b, &k, "request_disappeared");
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_NAMES_ADDED)
        json_names(b, &k, "names_added", &vd->n, &vd->o);
    if (vd->changes & CH_NAMES_REMOVED)
        json_names(b, &k, "names_removed", &vd->o, &vd->n);
    if (vd->changes & CH_VERSION) {
        json_open(b, &k, "version_changed");
        report_buf_puts(b, ",\"old\":");
        report_buf_json_str(b, vd->o.d->tls_version);
        report_buf_puts(b, ",\"new\":");
        report_buf_json_str(b, vd->n.d->tls_version);
        report_buf_puts(b, "}");
    }
    if (vd->changes & CH_CERT) {
        json_open(b, &k, "certificate_changed");
        report_buf_puts(b, ",");
        json_sha(b, "old", vd->o.v->cert_sha256);
        report_buf_puts(b, ",");
        json_sha(b, "new", vd->n.v->cert_sha256);
        report_buf_puts(b, "}");
    }
    report_buf_puts(b, "]}");
}

/* ---- findings ------------------------------------------------------------------------------ */

/* One row of the counts: a rule (as written: a later version's too) at a severity. */
struct count_row {
    const char *rule;
    enum report_severity severity;
    size_t n[3]; /* by change: new, changed, resolved */
};

struct counts {
    struct count_row *v;
    size_t n, cap;
    size_t total[3];             /* new, changed, resolved */
    size_t on_added, on_removed; /* of them: on targets only in NEW / only in OLD */
};

static int count_add(struct counts *c, const struct report_finding_pair *p)
{
    if (p->change == REPORT_FINDING_SAME)
        return 0;
    /* a changed finding counts at its new severity, a resolved one at its old */
    const struct report_baseline_finding *f = p->now ? p->now : p->old;
    c->total[p->change]++;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].severity == f->severity && strcmp(c->v[i].rule, f->rule) == 0) {
            c->v[i].n[p->change]++;
            return 0;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct count_row *v = realloc(c->v, cap * sizeof(*v));
        if (v == NULL)
            return TLS_E_NOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = (struct count_row){f->rule, f->severity, {0, 0, 0}};
    c->v[c->n - 1].n[p->change] = 1;
    return 0;
}

/* Highest severity first, then the rule. */
static int by_severity_rule(const void *pa, const void *pb)
{
    const struct count_row *a = pa, *b = pb;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    return strcmp(a->rule, b->rule);
}

/* "findings: 2 new, 1 changed, 1 resolved (1 new on an added target); targets: ..." and a table
 * of rules and severities. */
static void text_counts(struct report_buf *b, struct counts *c, size_t changed, size_t added,
                        size_t removed, size_t same)
{
    char line[320];
    snprintf(line, sizeof(line), "findings: %zu new, %zu changed, %zu resolved", c->total[0],
             c->total[1], c->total[2]);
    report_buf_puts(b, line);
    if (c->on_added || c->on_removed) {
        snprintf(line, sizeof(line), " (%zu new on added targets, %zu resolved on removed ones)",
                 c->on_added, c->on_removed);
        report_buf_puts(b, line);
    }
    snprintf(line, sizeof(line), "; targets: %zu changed, %zu added, %zu removed, %zu unchanged\n",
             changed, added, removed, same);
    report_buf_puts(b, line);
    if (c->n == 0)
        return;
    qsort(c->v, c->n, sizeof(*c->v), by_severity_rule);
    size_t w = strlen("rule");
    for (size_t i = 0; i < c->n; i++)
        w = strlen(c->v[i].rule) > w ? strlen(c->v[i].rule) : w;
    w = w > 40 ? 40 : w;
    snprintf(line, sizeof(line), "  %-*s  %-8s  %5s  %7s  %8s\n", (int)w, "rule", "severity", "new",
             "changed", "resolved");
    report_buf_puts(b, line);
    for (size_t i = 0; i < c->n; i++) {
        const struct count_row *r = &c->v[i];
        size_t len = b->len;
        report_buf_puts(b, "  ");
        report_buf_term(b, r->rule);
        for (size_t k = b->len - len - 2; k < w; k++)
            report_buf_puts(b, " ");
        snprintf(line, sizeof(line), "  %-8s  %5zu  %7zu  %8zu\n",
                 report_severity_name(r->severity), r->n[0], r->n[1], r->n[2]);
        report_buf_puts(b, line);
    }
}

/* "  new       high      root-store-dump: MESSAGE"; a changed one "(was medium)" after its
 * rule when its severity changed, and "was: OLD MESSAGE" under it when its message did. */
static void text_finding(struct report_buf *b, const struct report_finding_pair *p)
{
    const struct report_baseline_finding *f = p->now ? p->now : p->old;
    char head[64];
    snprintf(head, sizeof(head), "  %-9s %-9s", report_finding_change_name(p->change),
             report_severity_name(f->severity));
    report_buf_puts(b, head);
    report_buf_term(b, f->rule);
    if (p->change == REPORT_FINDING_CHANGED && p->old->severity != p->now->severity) {
        report_buf_puts(b, " (was ");
        report_buf_puts(b, report_severity_name(p->old->severity));
        report_buf_puts(b, ")");
    }
    report_buf_puts(b, ": ");
    report_buf_term(b, f->message);
    report_buf_puts(b, "\n");
    if (p->change == REPORT_FINDING_CHANGED && strcmp(p->old->message, p->now->message) != 0) {
        report_buf_puts(b, "                     was: ");
        report_buf_term(b, p->old->message);
        report_buf_puts(b, "\n");
    }
}

static void json_finding(struct report_buf *b, const struct report_finding_pair *p,
                         const struct report_baseline_record *rec)
{
    const struct report_baseline_finding *f = p->now ? p->now : p->old;
    report_buf_puts(b, "{\"change\":");
    report_buf_json_str(b, report_finding_change_name(p->change));
    report_buf_puts(b, ",\"rule\":");
    report_buf_json_str(b, f->rule);
    report_buf_puts(b, ",\"severity\":");
    report_buf_json_str(b, report_severity_name(f->severity));
    report_buf_puts(b, ",\"message\":");
    report_buf_json_str(b, f->message);
    if (f->remedy) {
        report_buf_puts(b, ",\"remedy\":");
        report_buf_json_str(b, f->remedy);
    }
    report_buf_puts(b, ",\"variants\":[");
    for (size_t i = 0; i < f->n_variants; i++) {
        if (i)
            report_buf_puts(b, ",");
        report_buf_json_str(b, rec->t.v[f->variants[i]].key);
    }
    report_buf_puts(b, "]");
    if (p->change == REPORT_FINDING_CHANGED) {
        report_buf_puts(b, ",\"old_severity\":");
        report_buf_json_str(b, report_severity_name(p->old->severity));
        report_buf_puts(b, ",\"old_message\":");
        report_buf_json_str(b, p->old->message);
    }
    report_buf_puts(b, "}");
}

/* ---- the run -------------------------------------------------------------------------------- */

struct run {
    unsigned flags;
    const char *old_path, *new_path;
    struct vdiff *v; /* the changed variants of the current target */
    size_t n, cap;
    struct report_finding_pair *fp; /* the findings of the current target, paired */
    size_t n_fp, n_fp_changed;      /* pairs, and those that are not "same" */
    size_t changed, added, removed, same;
    struct counts counts;
};

/* Merge the two sorted variant lists of a target into r->v, changed variants only. */
static int target_compare(struct run *r, const struct report_baseline_record *o,
                          const struct report_baseline_record *n)
{
    r->n = 0;
    if (o->t.n + n->t.n > r->cap) {
        size_t cap = o->t.n + n->t.n;
        struct vdiff *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL)
            return TLS_E_NOMEM;
        r->v = v;
        r->cap = cap;
    }
    size_t i = 0, j = 0;
    while (i < o->t.n || j < n->t.n) {
        int c = i == o->t.n ? 1 : j == n->t.n ? -1 : strcmp(o->t.v[i].key, n->t.v[j].key);
        struct vdiff vd = {.key = c <= 0 ? o->t.v[i].key : n->t.v[j].key};
        if (c <= 0) {
            vd.o = (struct side){&o->t.v[i], &o->detail[i]};
            i++;
        }
        if (c >= 0) {
            vd.n = (struct side){&n->t.v[j], &n->detail[j]};
            j++;
        }
        vd.changes = compare(&vd.o, &vd.n);
        if (vd.changes)
            r->v[r->n++] = vd;
    }
    return 0;
}

/* The findings of a target in both scans (either record NULL), paired into r->fp. */
static int findings_compare(struct run *r, const struct report_baseline_record *o,
                            const struct report_baseline_record *n)
{
    free(r->fp);
    r->fp = NULL;
    int rc = report_findings_pair(o, n, &r->fp, &r->n_fp);
    r->n_fp_changed = 0;
    for (size_t i = 0; rc == 0 && i < r->n_fp; i++)
        r->n_fp_changed += r->fp[i].change != REPORT_FINDING_SAME;
    return rc;
}

static void render(struct run *r, struct report_buf *b, const struct report_baseline_record *o,
                   const struct report_baseline_record *n, const char *status)
{
    const struct report_baseline_record *rec = n ? n : o;
    if (r->flags & REPORT_DIFF_JSON) {
        report_buf_puts(b, "{\"target\":");
        report_buf_json_str(b, rec->target);
        if (rec->starttls) {
            report_buf_puts(b, ",\"starttls\":");
            report_buf_json_str(b, rec->starttls);
        }
        report_buf_puts(b, ",\"status\":");
        report_buf_json_str(b, status);
        report_buf_puts(b, ",\"variants\":[");
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                report_buf_puts(b, ",");
            json_variant(b, &r->v[i]);
        }
        report_buf_puts(b, "],\"findings\":[");
        for (size_t i = 0, k = 0; i < r->n_fp; i++)
            if (r->fp[i].change != REPORT_FINDING_SAME) {
                report_buf_puts(b, k++ ? "," : "");
                json_finding(b, &r->fp[i], r->fp[i].now ? n : o);
            }
        report_buf_puts(b, "]}\n");
        return;
    }
    struct report_buf label = {0};
    report_buf_label(&label, rec->target, rec->starttls);
    report_buf_put(&label, "", 1);
    report_buf_puts(b, "\n");
    report_buf_term(b, label.failed ? "" : label.p);
    b->failed |= label.failed;
    report_buf_free(&label);
    report_buf_puts(b, ": ");
    report_buf_puts(b, status);
    if (strcmp(status, "changed") != 0) {
        report_buf_puts(b, " (only in ");
        report_buf_term(b, strcmp(status, "added") == 0 ? r->new_path : r->old_path);
        report_buf_puts(b, ")");
    }
    report_buf_puts(b, "\n");
    for (size_t i = 0; i < r->n_fp; i++)
        if (r->fp[i].change != REPORT_FINDING_SAME)
            text_finding(b, &r->fp[i]);
    if (r->n && (r->flags & REPORT_DIFF_NAMES)) {
        for (size_t i = 0; i < r->n; i++)
            text_variant(b, &r->v[i], r->old_path, r->new_path);
    } else if (r->n) {
        char line[160];
        snprintf(line, sizeof(line),
                 "  lists: %zu variant%s changed (caprobe diff --names: names, outcomes and "
                 "certificates)\n",
                 r->n, r->n == 1 ? "" : "s");
        report_buf_puts(b, line);
    }
}

static int by_target(const void *pa, const void *pb)
{
    const struct report_baseline_record *const *a = pa, *const *b = pb;
    return report_baseline_record_cmp(*a, *b);
}

/* The records of b sorted by target and protocol; NULL with n 0 is not an error. */
static int sorted(const struct report_baseline *b, const struct report_baseline_record ***out,
                  size_t *n)
{
    *n = report_baseline_count(b);
    *out = malloc((*n ? *n : 1) * sizeof(**out));
    if (*out == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = report_baseline_at(b, i);
    qsort(*out, *n, sizeof(**out), by_target);
    return 0;
}

static int write_out(FILE *out, struct report_buf *b)
{
    if (b->failed)
        return TLS_E_NOMEM;
    if (b->len && fwrite(b->p, 1, b->len, out) != b->len)
        return TLS_E_IO;
    b->len = 0;
    return 0;
}

/* Walk both sorted lists: every target with a difference is counted, and rendered and written
 * when out is given (the text's counts come first: a pass without out counts them). */
static int diff_all(struct run *r, const struct report_baseline_record **o, size_t no,
                    const struct report_baseline_record **n, size_t nn, FILE *out)
{
    struct report_buf b = {0};
    size_t i = 0, j = 0;
    int rc = 0;
    r->changed = r->added = r->removed = r->same = 0;
    while (rc == 0 && (i < no || j < nn)) {
        int c = i == no ? 1 : j == nn ? -1 : report_baseline_record_cmp(o[i], n[j]);
        const struct report_baseline_record *ro = c <= 0 ? o[i++] : NULL;
        const struct report_baseline_record *rn = c >= 0 ? n[j++] : NULL;
        r->n = 0;
        if ((ro && rn && (rc = target_compare(r, ro, rn)) != 0) ||
            (rc = findings_compare(r, ro, rn)) != 0)
            break;
        const char *status = ro == NULL ? "added" : rn == NULL ? "removed" : "changed";
        if (ro && rn && r->n == 0 && r->n_fp_changed == 0) {
            r->same++;
            continue;
        }
        *(ro == NULL ? &r->added : rn == NULL ? &r->removed : &r->changed) += 1;
        if (out == NULL) {
            for (size_t k = 0; k < r->n_fp && rc == 0; k++)
                rc = count_add(&r->counts, &r->fp[k]);
            r->counts.on_added += ro ? 0 : r->n_fp_changed;
            r->counts.on_removed += rn ? 0 : r->n_fp_changed;
            continue;
        }
        render(r, &b, ro, rn, status);
        rc = write_out(out, &b);
    }
    if (rc == 0 && out && !(r->flags & REPORT_DIFF_JSON)) {
        char line[160];
        snprintf(line, sizeof(line),
                 "\nsummary: %zu changed, %zu added, %zu removed, %zu unchanged\n", r->changed,
                 r->added, r->removed, r->same);
        report_buf_puts(&b, line);
        rc = write_out(out, &b);
    }
    report_buf_free(&b);
    return rc;
}

/* Counts first (text), then the targets. */
static int diff_both(struct run *r, const struct report_baseline *ob,
                     const struct report_baseline *nb, FILE *out)
{
    const struct report_baseline_record **o = NULL, **n = NULL;
    size_t no = 0, nn = 0;
    struct report_buf b = {0};
    int rc = sorted(ob, &o, &no);
    if (rc == 0)
        rc = sorted(nb, &n, &nn);
    if (rc == 0 && !(r->flags & REPORT_DIFF_JSON) && (rc = diff_all(r, o, no, n, nn, NULL)) == 0) {
        text_counts(&b, &r->counts, r->changed, r->added, r->removed, r->same);
        rc = write_out(out, &b);
    }
    if (rc == 0)
        rc = diff_all(r, o, no, n, nn, out);
    report_buf_free(&b);
    free(o);
    free(n);
    return rc;
}

int report_diff_run(const char *old_path, const char *new_path, unsigned flags, FILE *out,
                    FILE *err)
{
    if (strcmp(old_path, "-") == 0 && strcmp(new_path, "-") == 0) {
        fprintf(err, "caprobe diff: OLD and NEW cannot both be standard input\n");
        return 2;
    }
    const struct report_baseline_opts opts = {
        .keep_names = true, .keep_findings = true, .keep_detail = true};
    struct report_baseline *ob = NULL, *nb = NULL;
    struct run r = {.flags = flags, .old_path = old_path, .new_path = new_path};
    char why[512];
    int status = 2;
    if (report_baseline_load_opts(&ob, old_path, &opts, why, sizeof(why)) != 0 ||
        report_baseline_load_opts(&nb, new_path, &opts, why, sizeof(why)) != 0 ||
        /* a file with no record would show every target of the other as added or removed */
        report_baseline_empty(ob, "nothing to compare", why, sizeof(why)) ||
        report_baseline_empty(nb, "nothing to compare", why, sizeof(why))) {
        fprintf(err, "caprobe diff: %s\n", why);
        goto out;
    }
    errno = 0;
    int rc = diff_both(&r, ob, nb, out);
    if (rc == 0 && fflush(out) != 0)
        rc = TLS_E_IO;
    if (rc && rc == TLS_E_IO && errno == EPIPE) { /* nobody reads any more (| head) */
        status = 128 + 13;                        /* quiet, as a process SIGPIPE ends */
        goto out;
    }
    if (rc) {
        fprintf(err, "caprobe diff: cannot write the output: %s\n",
                rc == TLS_E_IO && errno ? strerror(errno) : tls_err_str(rc));
        goto out;
    }
    status = r.changed + r.added + r.removed ? 1 : 0;
out:
    free(r.v);
    free(r.fp);
    free(r.counts.v);
    report_baseline_free(ob);
    report_baseline_free(nb);
    return status;
}

#define DIFF_EXIT_USAGE 2

static const char diff_usage[] =
    "Usage: caprobe diff OLD.jsonl NEW.jsonl [--format text|jsonl] [--names]\n"
    "What changed between two JSON Lines scans ('-': standard input), findings first:\n"
    "the findings new, changed (another severity or message) and resolved, counted by rule\n"
    "and severity, and the targets added, removed and changed; then each target with a\n"
    "difference and its findings that differ.\n"
    "  --names          also each variant's names added or removed, a certificate request\n"
    "                   that appeared or disappeared, another server certificate or outcome\n"
    "  --format jsonl   one JSON object per target with a difference: its variants' changes\n"
    "                   (always) and its findings' (output.md in caprobe's documentation)\n"
    "A finding is known by its target (and STARTTLS protocol), its rule and, for the rules\n"
    "that report each variant apart, the variant it cites.\n"
    "Exit status: 0 no differences, 1 differences (of findings or of names alone), 2 usage or\n"
    "input error (OLD or NEW unreadable, with a bad line, or with no record: nothing to\n"
    "compare), 141 the reader of the output went away (| head).\n";

int report_usage_error(FILE *err, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(err, "caprobe %s: ", cmd);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\nTry 'caprobe %s --help'.\n", cmd);
    return DIFF_EXIT_USAGE;
}

int report_usage_getopt(FILE *err, const char *cmd, int opt, char **argv)
{
    if (opt == ':')
        return report_usage_error(err, cmd, "%s needs a value", argv[optind - 1]);
    return report_usage_error(err, cmd, "unknown option '%s'", argv[optind - 1]);
}

int report_diff_main(int argc, char **argv, FILE *out, FILE *err)
{
    enum { OPT_FORMAT = 256, OPT_NAMES };
    static const struct option diff_opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"names", no_argument, NULL, OPT_NAMES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned flags = 0;
    int opt;
    opterr = 0; /* our words, "caprobe diff: ...", not getopt's "diff: ..." */
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", diff_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                flags &= ~(unsigned)REPORT_DIFF_JSON;
            else if (strcmp(optarg, "jsonl") == 0)
                flags |= REPORT_DIFF_JSON;
            else
                return report_usage_error(err, "diff", "--format: expected text or jsonl, got '%s'",
                                          optarg);
            break;
        case OPT_NAMES:
            flags |= REPORT_DIFF_NAMES;
            break;
        case 'h':
            fputs(diff_usage, out);
            return 0;
        default: /* ':' or an unknown option */
            return report_usage_getopt(err, "diff", opt, argv);
        }
    }
    if (argc - optind != 2)
        return report_usage_error(
            err, "diff", "expected two files, OLD.jsonl and NEW.jsonl, got %d", argc - optind);
    return report_diff_run(argv[optind], argv[optind + 1], flags, out, err);
}
