/* caprobe diff (baseline.h): the subcommand's command line, then two scans loaded as baselines
 * with their names, compared target by target and variant by variant (report_variant_key),
 * rendered as text or JSON Lines. Names are compared as sets of SHA-256, never by their text.
 * Reads only the two files; no clock, so the same inputs always give the same bytes. */
#include <errno.h>
#include <getopt.h>
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
    return c;
}

/* ---- rendering ------------------------------------------------------------------------------ */

/* Text for a terminal (tls/wire/escape.h). */
static void put_text(struct report_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, 0, unit, &len);
        report_buf_put(b, unit, len);
        p += used;
        n -= used;
    }
}

static void put_outcome_text(struct report_buf *b, const struct side *s)
{
    put_text(b, s->d->outcome);
    if (s->d->error_kind) {
        report_buf_puts(b, " (");
        put_text(b, s->d->error_kind);
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
        put_text(b, v[i].dn);
        report_buf_puts(b, "\n");
    }
    free(v);
}

static void text_variant(struct report_buf *b, const struct vdiff *vd)
{
    char hex[65];
    report_buf_puts(b, "  ");
    put_text(b, vd->key);
    report_buf_puts(b, ":\n");
    if (vd->changes & CH_VARIANT_ADDED)
        report_buf_puts(b, "    variant only in NEW\n");
    if (vd->changes & CH_VARIANT_REMOVED)
        report_buf_puts(b, "    variant only in OLD\n");
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

/* ---- the run -------------------------------------------------------------------------------- */

struct run {
    int json;
    const char *old_path, *new_path;
    struct vdiff *v; /* the changed variants of the current target */
    size_t n, cap;
    size_t changed, added, removed, same;
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

static void render(struct run *r, struct report_buf *b, const struct report_baseline_record *rec,
                   const char *status)
{
    if (r->json) {
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
        report_buf_puts(b, "]}\n");
        return;
    }
    struct report_buf label = {0};
    report_buf_label(&label, rec->target, rec->starttls);
    report_buf_put(&label, "", 1);
    put_text(b, label.failed ? "" : label.p);
    b->failed |= label.failed;
    report_buf_free(&label);
    report_buf_puts(b, ": ");
    report_buf_puts(b, status);
    if (strcmp(status, "changed") != 0) {
        report_buf_puts(b, " (only in ");
        put_text(b, strcmp(status, "added") == 0 ? r->new_path : r->old_path);
        report_buf_puts(b, ")");
    }
    report_buf_puts(b, "\n");
    for (size_t i = 0; i < r->n; i++)
        text_variant(b, &r->v[i]);
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

/* Walk both sorted lists; every target with a difference is rendered and written. */
static int diff_all(struct run *r, const struct report_baseline *ob,
                    const struct report_baseline *nb, FILE *out)
{
    const struct report_baseline_record **o = NULL, **n = NULL;
    size_t no = 0, nn = 0;
    struct report_buf b = {0};
    int rc = sorted(ob, &o, &no);
    if (rc == 0)
        rc = sorted(nb, &n, &nn);
    size_t i = 0, j = 0;
    while (rc == 0 && (i < no || j < nn)) {
        int c = i == no ? 1 : j == nn ? -1 : report_baseline_record_cmp(o[i], n[j]);
        r->n = 0;
        if (c < 0) {
            r->removed++;
            render(r, &b, o[i++], "removed");
        } else if (c > 0) {
            r->added++;
            render(r, &b, n[j++], "added");
        } else {
            if ((rc = target_compare(r, o[i], n[j])) != 0)
                break;
            if (r->n) {
                r->changed++;
                render(r, &b, o[i], "changed");
            } else {
                r->same++;
            }
            i++;
            j++;
        }
        rc = write_out(out, &b);
    }
    if (rc == 0 && !r->json) {
        char line[160];
        snprintf(line, sizeof(line),
                 "summary: %zu changed, %zu added, %zu removed, %zu unchanged\n", r->changed,
                 r->added, r->removed, r->same);
        report_buf_puts(&b, line);
        rc = write_out(out, &b);
    }
    report_buf_free(&b);
    free(o);
    free(n);
    return rc;
}

int report_diff_run(const char *old_path, const char *new_path, int json, FILE *out, FILE *err)
{
    if (strcmp(old_path, "-") == 0 && strcmp(new_path, "-") == 0) {
        fprintf(err, "caprobe diff: OLD and NEW cannot both be standard input\n");
        return 2;
    }
    const struct report_baseline_opts opts = {.keep_names = true};
    struct report_baseline *ob = NULL, *nb = NULL;
    struct run r = {.json = json, .old_path = old_path, .new_path = new_path};
    char why[512];
    int status = 2;
    if (report_baseline_load_opts(&ob, old_path, &opts, why, sizeof(why)) != 0 ||
        report_baseline_load_opts(&nb, new_path, &opts, why, sizeof(why)) != 0) {
        fprintf(err, "caprobe diff: %s\n", why);
        goto out;
    }
    errno = 0;
    int rc = diff_all(&r, ob, nb, out);
    if (rc == 0 && fflush(out) != 0)
        rc = TLS_E_IO;
    if (rc && rc == TLS_E_IO && errno == EPIPE) { /* nobody reads any more (| head) */
        status = 128 + 13;                        /* quiet, as a process SIGPIPE ends */
        goto out;
    }
    if (rc) {
        fprintf(err, "caprobe diff: writing the output failed: %s\n",
                rc == TLS_E_IO && errno ? strerror(errno) : tls_err_str(rc));
        goto out;
    }
    status = r.changed + r.added + r.removed ? 1 : 0;
out:
    free(r.v);
    report_baseline_free(ob);
    report_baseline_free(nb);
    return status;
}

#define DIFF_EXIT_USAGE 2

static const char diff_usage[] =
    "Usage: caprobe diff OLD.jsonl NEW.jsonl [--format text|jsonl]\n"
    "What changed per target between two JSON Lines scans ('-': standard input):\n"
    "targets added or removed, names added or removed, a certificate request\n"
    "that appeared or disappeared, another server certificate or outcome.\n"
    "Exit status: 0 no differences, 1 differences, 2 usage or input error, 141 the reader of\n"
    "the output went away (| head).\n";

int report_diff_main(int argc, char **argv, FILE *out, FILE *err)
{
    enum { OPT_FORMAT = 256 };
    static const struct option diff_opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, opt;
    while ((opt = getopt_long(argc, argv, "h", diff_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                json = 0;
            else if (strcmp(optarg, "jsonl") == 0)
                json = 1;
            else {
                fprintf(err,
                        "caprobe diff: --format: expected text or jsonl, got '%s'\n"
                        "Try 'caprobe diff --help'.\n",
                        optarg);
                return DIFF_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(diff_usage, out);
            return 0;
        default:
            fprintf(err, "Try 'caprobe diff --help'.\n");
            return DIFF_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(err, "caprobe diff: expected two files, OLD.jsonl and NEW.jsonl\n"
                     "Try 'caprobe diff --help'.\n");
        return DIFF_EXIT_USAGE;
    }
    return report_diff_run(argv[optind], argv[optind + 1], json, out, err);
}
