/* caprobe report as text (a terminal, a ticket) and as GitHub-flavoured markdown (a ticket, a
 * chat message), from the fleet model (fleet.h): one walk over the model writes both, through
 * a few helpers that know the format (headings, tables, list items). Everything that came from
 * a scan file goes through theirs(): terminal escaping for text (tls/wire/escape.h), markdown
 * escaping for markdown (md_put), so that no name, message or target can open a table cell, a
 * code span, a link, an HTML element or an entity, or break a line. Deterministic: no clock. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet.h"
#include "jsonw.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"

#define LABEL_MAX 400 /* one variant's label: address, "SNI " and a host name, version, phase */
#define BAR_MAX 40    /* text: the longest bar of the list-size chart */
/* Markdown: an empty comment, which splits the text GitHub looks for mentions in (md_put). */
#define MD_SPLIT "<!-- -->"

struct doc {
    struct report_buf b;
    bool md;
    size_t names; /* names shown per list */
};

/* ---- escaping ------------------------------------------------------------------------------- */

/* Markdown (CommonMark + GitHub's tables, strikethrough, autolinks and math): valid UTF-8 is
 * kept; a byte the terminal escaping shows as \xNN (controls, newlines, DEL, invalid UTF-8) is
 * written as \\xNN, the backslash escaped; < > & as entities (no HTML element, no entity of the
 * server's); the characters that open inline syntax (backslash, backtick, * _ [ ] | ~ $) with a
 * backslash; the ':' of "://" and the dot of "www." as entities, so that no URL in a name
 * becomes a link (GitHub's autolinks look for them in the raw text). '@', '#' and the '-' of
 * "GH-" are followed or preceded by an empty HTML comment: GitHub finds mentions (@name, and the
 * e-mail addresses it links), issue references (#123, GH-123, owner/repo#123) in the text of
 * the rendered HTML, where an entity (&#64;) is '@' again, but a comment splits the text, and
 * the reader sees nothing of it. Server text never starts a line here, so block syntax (#, -,
 * +, digits) needs nothing. */
static void md_put(struct report_buf *b, const char *s)
{
    const uint8_t *start = (const uint8_t *)(s ? s : ""), *p = start;
    size_t n = strlen((const char *)p);
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, 0, unit, &len);
        if (len > 1 && unit[0] == '\\') { /* \xNN, \uXXXX: the helper's escapes (a character */
            report_buf_puts(b, "\\");     /* never starts with '\\'): its backslash shown */
            report_buf_put(b, unit, len);
        } else if (len == 1 && unit[0] == '<') {
            report_buf_puts(b, "&lt;");
        } else if (len == 1 && unit[0] == '>') {
            report_buf_puts(b, "&gt;");
        } else if (len == 1 && unit[0] == '&') {
            report_buf_puts(b, "&amp;");
        } else if (len == 1 && unit[0] == ':' && n >= 3 && p[1] == '/' && p[2] == '/') {
            report_buf_puts(b, "&#58;");
        } else if (len == 1 && unit[0] == '.' && p - start >= 3 &&
                   strncasecmp((const char *)p - 3, "www", 3) == 0) {
            report_buf_puts(b, "&#46;");
        } else if (len == 1 && (unit[0] == '@' || unit[0] == '#')) {
            report_buf_put(b, unit, 1);
            report_buf_puts(b, MD_SPLIT);
        } else if (len == 1 && unit[0] == '-' && p - start >= 2 &&
                   strncasecmp((const char *)p - 2, "gh", 2) == 0) {
            report_buf_puts(b, MD_SPLIT "-");
        } else if (len == 1 && strchr("\\`*_[]|~$", unit[0])) {
            report_buf_puts(b, "\\");
            report_buf_put(b, unit, 1);
        } else {
            report_buf_put(b, unit, len);
        }
        p += used;
        n -= used;
    }
}

/* Text from a scan file (a server's or a target list's). */
static void theirs(struct doc *d, const char *s)
{
    if (d->md)
        md_put(&d->b, s);
    else
        report_buf_term(&d->b, s);
}

/* caprobe's own words: no byte from outside. */
static void ours(struct doc *d, const char *s)
{
    report_buf_puts(&d->b, s);
}

static void oursf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void oursf(struct doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_buf_vprintf(&d->b, fmt, ap);
    va_end(ap);
}

/* ---- blocks --------------------------------------------------------------------------------- */

static void heading(struct doc *d, int level, const char *title)
{
    if (d->md) {
        oursf(d, "\n%.*s %s\n\n", level, "####", title);
        return;
    }
    size_t n = strlen(title);
    oursf(d, "\n%s\n", title);
    for (size_t i = 0; i < n; i++)
        ours(d, level == 1 ? "=" : "-");
    ours(d, "\n");
}

/* A table: cells escaped for the format as they are added, laid out at the end (text: columns
 * padded to their widest cell; markdown: a pipe table). */
struct table {
    struct doc *d;
    size_t cols, n;
    const bool *right; /* per column: aligned right (numbers) */
    struct report_buf cells;
    size_t *ends; /* where each cell ends in cells */
    size_t cap;
};

static void table_init(struct table *t, struct doc *d, size_t cols, const bool *right)
{
    memset(t, 0, sizeof(*t));
    t->d = d;
    t->cols = cols;
    t->right = right;
}

/* One cell, from outside (theirs) or caprobe's own. */
static void cell(struct table *t, const char *s, bool outside)
{
    struct doc tmp = {t->cells, t->d->md, 0};
    if (outside)
        theirs(&tmp, s);
    else
        ours(&tmp, s);
    report_buf_put(&tmp.b, "", 1);
    t->cells = tmp.b;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        size_t *e = realloc(t->ends, cap * sizeof(*e));
        if (e == NULL) {
            t->cells.failed = true;
            return;
        }
        t->ends = e;
        t->cap = cap;
    }
    t->ends[t->n++] = t->cells.len;
}

static void cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cellf(struct table *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cell(t, buf, false);
}

static const char *cell_at(const struct table *t, size_t i)
{
    return t->cells.p + (i ? t->ends[i - 1] : 0);
}

static void table_end(struct table *t)
{
    struct doc *d = t->d;
    d->b.failed |= t->cells.failed;
    size_t rows = t->cells.failed ? 0 : t->n / t->cols;
    unsigned *w = calloc(t->cols, sizeof(*w));
    if (w == NULL)
        d->b.failed = true;
    for (size_t i = 0; w && i < rows * t->cols; i++) {
        unsigned c = report_text_cols(cell_at(t, i));
        w[i % t->cols] = c > w[i % t->cols] ? c : w[i % t->cols];
    }
    for (size_t r = 0; w && r < rows; r++) {
        ours(d, d->md ? "|" : " ");
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = cell_at(t, r * t->cols + c);
            unsigned pad = w[c] - report_text_cols(s);
            ours(d, " ");
            for (unsigned k = 0; t->right[c] && k < pad; k++)
                ours(d, " ");
            ours(d, s);
            for (unsigned k = 0; !t->right[c] && k < pad && (d->md || c + 1 < t->cols); k++)
                ours(d, " ");
            ours(d, d->md ? " |" : c + 1 < t->cols ? " " : "");
        }
        while (!d->md && d->b.len && d->b.p[d->b.len - 1] == ' ')
            d->b.len--; /* an empty last cell leaves no trailing blanks */
        ours(d, "\n");
        if (r == 0 && d->md) { /* the delimiter row after the header */
            ours(d, "|");
            for (size_t c = 0; c < t->cols; c++)
                ours(d, t->right[c] ? " ---: |" : " --- |");
            ours(d, "\n");
        }
    }
    free(w);
    free(t->ends);
    report_buf_free(&t->cells);
}

/* ---- words ---------------------------------------------------------------------------------- */

/* The record's name, "TARGET" or "TARGET (STARTTLS smtp)", escaped for the format. */
static void target_name(struct doc *d, const struct report_baseline_record *rec)
{
    struct report_buf label = {0};
    report_buf_label(&label, rec->target, rec->starttls);
    report_buf_put(&label, "", 1);
    theirs(d, label.failed ? "" : label.p);
    d->b.failed |= label.failed;
    report_buf_free(&label);
}

/* ---- the summary ---------------------------------------------------------------------------- */

/* The lines of the target list that were no target: where, their text, why; the first
 * REPORT_BASELINE_BAD_KEPT of them (CSV has every one). */
static void bad_targets(struct doc *d, const struct report_fleet *f)
{
    if (f->input_errors == 0)
        return;
    heading(d, 3, "Bad target lines");
    oursf(d, "%s of the target list %s no target and %s not probed:\n\n",
          f->input_errors == 1 ? "This line" : "These lines", f->input_errors == 1 ? "was" : "were",
          f->input_errors == 1 ? "was" : "were");
    static const bool right[] = {false, false, false};
    struct table t;
    table_init(&t, d, 3, right);
    cell(&t, "line", false);
    cell(&t, "text", false);
    cell(&t, "why", false);
    const struct report_baseline_input *in = report_baseline_inputs(f->scan);
    for (size_t i = 0; in && i < REPORT_BASELINE_BAD_KEPT; in = in->next, i++) {
        cell(&t, in->where, true);
        cell(&t, in->text, true);
        cell(&t, in->why, true);
    }
    table_end(&t);
    if (f->input_errors > REPORT_BASELINE_BAD_KEPT)
        oursf(d, "\nand %zu more (--format csv lists every one)\n",
              f->input_errors - REPORT_BASELINE_BAD_KEPT);
}

static void summary(struct doc *d, const struct report_fleet *f)
{
    char counts[256];
    heading(d, 2, "Summary");
    const char *item = d->md ? "- " : "  ";
    oursf(d,
          "%sTargets: %zu scanned: %zu probed (%zu with findings, %zu OK), %zu not probed "
          "(unreachable, or every probe failed)",
          item, f->n, f->probed, f->with_findings, f->ok, f->unprobed);
    if (f->input_errors)
        oursf(d, "; %zu line%s of the target list %s no target", f->input_errors,
              f->input_errors == 1 ? "" : "s", f->input_errors == 1 ? "was" : "were");
    ours(d, "\n");
    report_fleet_counts_text(f->by_severity, f->findings, counts, sizeof(counts));
    oursf(d, "%s%s\n", item, counts);
    if (f->base) {
        oursf(d, "%sSince ", item);
        theirs(d, f->base_name);
        oursf(d,
              ": %zu new, %zu changed, %zu resolved finding%s; %zu target%s added, %zu "
              "removed\n",
              f->new, f->changed, f->resolved, f->resolved == 1 ? "" : "s", f->added,
              f->added == 1 ? "" : "s", f->removed);
    }
    size_t bad = report_baseline_bad_count(f->scan);
    if (bad) {
        oursf(d, "%sBad input: %zu line%s of ", item, bad, bad == 1 ? "" : "s");
        theirs(d, f->scan_name);
        oursf(d, " could not be read and %s left out:\n", bad == 1 ? "was" : "were");
        for (size_t i = 0; report_baseline_bad_at(f->scan, i); i++) {
            ours(d, d->md ? "  - " : "    ");
            theirs(d, report_baseline_bad_at(f->scan, i));
            ours(d, "\n");
        }
        if (bad > REPORT_BASELINE_BAD_KEPT)
            oursf(d, "%sand %zu more\n", d->md ? "  - " : "    ", bad - REPORT_BASELINE_BAD_KEPT);
    }

    if (f->n_rules) {
        heading(d, 3, "Findings by rule");
        static const bool right[] = {false, false, true, true, true, true, true};
        struct table t;
        table_init(&t, d, f->base ? 7 : 4, right);
        cell(&t, "rule", false);
        cell(&t, "severity", false);
        cell(&t, "findings", false);
        cell(&t, "targets", false);
        if (f->base) {
            cell(&t, "new", false);
            cell(&t, "changed", false);
            cell(&t, "resolved", false);
        }
        for (size_t i = 0; i < f->n_rules; i++) {
            const struct report_fleet_rule *r = &f->rules[i];
            cell(&t, r->rule, true);
            cell(&t, report_severity_name(r->severity), false);
            cellf(&t, "%zu", r->findings);
            cellf(&t, "%zu", r->targets);
            if (f->base) {
                cellf(&t, "%zu", r->new);
                cellf(&t, "%zu", r->changed);
                cellf(&t, "%zu", r->resolved);
            }
        }
        table_end(&t);
    }
    if (f->n_worst) {
        heading(d, 3, "Worst targets");
        static const bool right[] = {false, false, false};
        struct table t;
        table_init(&t, d, 3, right);
        cell(&t, "target", false);
        cell(&t, "findings", false);
        cell(&t, "worst rule", false);
        for (size_t i = 0; i < f->n_worst; i++) {
            const struct report_fleet_target *x = &f->t[f->worst[i]];
            struct report_buf label = {0};
            report_buf_label(&label, x->rec->target, x->rec->starttls);
            report_buf_put(&label, "", 1);
            cell(&t, label.failed ? "" : label.p, true);
            report_buf_free(&label);
            report_fleet_counts_text(x->by_severity, x->n_current, counts, sizeof(counts));
            cell(&t, counts, false);
            const struct report_baseline_finding *w = report_fleet_worst_finding(x);
            cell(&t, w ? w->rule : "", true);
        }
        table_end(&t);
    }
    bad_targets(d, f); /* last: up to 100 rows, after what the findings say */
}

/* ---- lists ---------------------------------------------------------------------------------- */

static void lists(struct doc *d, const struct report_fleet *f)
{
    heading(d, 2, "CA-list sizes");
    oursf(d,
          "The largest list of each probed target, by names; %zu distinct list%s in the "
          "fleet.\n\n",
          f->distinct_lists, f->distinct_lists == 1 ? "" : "s");
    size_t max = 0;
    for (int b = 0; b < REPORT_FLEET_BUCKETS; b++)
        max = f->buckets[b] > max ? f->buckets[b] : max;
    static const bool right[] = {false, true, true, false};
    struct table t;
    table_init(&t, d, 4, right);
    cell(&t, "names", false);
    cell(&t, "targets", false);
    cell(&t, "largest (bytes)", false);
    cell(&t, "", false);
    for (int b = 0; b < REPORT_FLEET_BUCKETS; b++) {
        char bar[BAR_MAX * 3 + 1] = "";
        size_t len = max ? (f->buckets[b] * BAR_MAX + max - 1) / max : 0;
        for (size_t k = 0; k < len; k++)
            strcat(bar, d->md ? "\xe2\x96\x88" : "#"); /* U+2588 full block */
        cell(&t, report_fleet_bucket_label((enum report_fleet_bucket)b), false);
        cellf(&t, "%zu", f->buckets[b]);
        if (f->bucket_bytes[b])
            cellf(&t, "%zu", f->bucket_bytes[b]);
        else
            cell(&t, "", false);
        cell(&t, bar, false);
    }
    table_end(&t);
    oursf(d,
          "\nLists over 16 KiB (mbedTLS clients fail): %zu target%s; over 32 KiB (Java "
          "fails): %zu.\n",
          f->over_16k, f->over_16k == 1 ? "" : "s", f->over_32k);
    if (f->n_top == 0)
        return;
    heading(d, 3, "Names advertised most often");
    static const bool right2[] = {true, false};
    table_init(&t, d, 2, right2);
    cell(&t, "targets", false);
    cell(&t, "name", false);
    for (size_t i = 0; i < f->n_top; i++) {
        cellf(&t, "%zu", f->top[i].targets);
        cell(&t, f->top[i].dn, true);
    }
    table_end(&t);
}

/* ---- targets -------------------------------------------------------------------------------- */

static void finding(struct doc *d, const struct report_fleet *f,
                    const struct report_fleet_finding *x)
{
    const struct report_baseline_finding *s = x->now ? x->now : x->old;
    ours(d, d->md ? "- **" : "  ");
    oursf(d, d->md ? "%s" : "%-8s", report_severity_name(s->severity));
    ours(d, d->md ? "** " : " ");
    theirs(d, s->rule);
    if (f->base && x->change != REPORT_FINDING_SAME)
        oursf(d, " (%s)", report_finding_change_name(x->change));
    ours(d, ": ");
    theirs(d, s->message);
    ours(d, "\n");
    const char *indent = d->md ? "  - " : "           ";
    if (x->change == REPORT_FINDING_CHANGED) {
        oursf(d, "%swas %s: ", indent, report_severity_name(x->old->severity));
        theirs(d, x->old->message);
        ours(d, "\n");
    }
    if (x->now && s->remedy) {
        oursf(d, "%sfix: ", indent);
        theirs(d, s->remedy);
        ours(d, "\n");
    }
}

static void group(struct doc *d, const struct report_baseline_record *rec,
                  const struct report_fleet_group *g)
{
    char buf[2 * LABEL_MAX];
    ours(d, d->md ? "- " : "  - ");
    for (size_t i = 0; i < g->n; i++) {
        report_fleet_variant_label(&rec->detail[g->variants[i]], buf, sizeof(buf));
        ours(d, i ? "; " : "");
        theirs(d, buf);
    }
    ours(d, ": ");
    report_fleet_answer(rec, g, buf, sizeof(buf));
    theirs(d, buf);
    const struct report_baseline_detail *first = &rec->detail[g->variants[0]];
    if (rec->t.v[g->variants[0]].state == REPORT_LIST_NAMES)
        oursf(d, ", list id %016llx", (unsigned long long)first->list_id);
    ours(d, "\n");
    const char *indent = d->md ? "  - " : "      ";
    size_t shown = g->n_names < d->names ? g->n_names : d->names;
    for (size_t i = 0; i < shown; i++) {
        ours(d, indent);
        theirs(d, g->names[i]);
        ours(d, "\n");
    }
    if (shown == 0 && g->n_names) /* --names 0: none shown, so none "more" */
        oursf(d, "%s%zu name%s not shown (--names all)\n", indent, g->n_names,
              g->n_names == 1 ? "" : "s");
    else if (shown < g->n_names)
        oursf(d, "%s... and %zu more (--names all)\n", indent, g->n_names - shown);
    report_fleet_http(first, buf, sizeof(buf));
    if (buf[0]) {
        ours(d, indent);
        theirs(d, buf);
        ours(d, "\n");
    }
    report_fleet_client_cert(first, buf, sizeof(buf));
    if (buf[0]) {
        oursf(d, "%sclient certificate: ", indent);
        theirs(d, buf);
        ours(d, "\n");
    }
    if (first->cert_subject) {
        oursf(d, "%sserver certificate: ", indent);
        theirs(d, first->cert_subject);
        if (first->cert_not_after) {
            ours(d, ", valid until ");
            theirs(d, first->cert_not_after);
        }
        ours(d, "\n");
    }
}

static void target(struct doc *d, const struct report_fleet *f, const struct report_fleet_target *t)
{
    char verdict[256];
    report_fleet_verdict_text(t, verdict, sizeof(verdict));
    ours(d, d->md ? "\n### " : "\n");
    target_name(d, t->rec);
    ours(d, d->md ? ": " : "  ");
    ours(d, verdict);
    ours(d, d->md ? "\n\n" : "\n");
    for (size_t i = 0; i < t->n_findings; i++)
        finding(d, f, &t->findings[i]);
    if (t->removed)
        return; /* its variants are the baseline's: not shown */
    if (t->n_findings && d->md)
        ours(d, "\n");
    ours(d, d->md ? "Variants:\n\n" : "  variants:\n");
    for (size_t i = 0; i < t->n_groups; i++)
        group(d, t->rec, &t->groups[i]);
}

int report_fleet_doc_write(FILE *out, const struct report_fleet *f,
                           const struct report_fleet_opts *o)
{
    struct doc d = {.md = o->format == REPORT_FLEET_MARKDOWN, .names = o->names};
    if (d.md)
        ours(&d, "# caprobe report\n\n");
    else
        ours(&d, "caprobe report\n==============\n");
    ours(&d, d.md ? "Scan: " : "scan: ");
    theirs(&d, f->scan_name);
    oursf(&d, " (%zu target%s)", f->n, f->n == 1 ? "" : "s");
    if (f->base) {
        ours(&d, d.md ? ", compared with " : ", compared with ");
        theirs(&d, f->base_name);
    }
    ours(&d, "\n");
    summary(&d, f);
    lists(&d, f);
    heading(&d, 2, "Targets");
    size_t shown = report_fleet_shown(f, o), all = f->n + f->n_removed;
    char rest[256];
    report_fleet_rest_text(f, shown, rest, sizeof(rest));
    if (all == 0) /* a scan of bad target lines alone */
        ours(&d, "No target.\n");
    else if (shown == all)
        ours(&d, "Worst first; variants with the same answer share a line.\n");
    else if (shown == 1)
        oursf(&d,
              "The worst of %zu targets (--targets 1); variants with the same answer share a "
              "line.\n",
              all);
    else if (shown)
        oursf(&d,
              "The %zu worst of %zu targets (--targets %zu), worst first; variants with the "
              "same answer share a line.\n",
              shown, all, shown);
    int rc = 0;
    for (size_t i = 0; i <= shown && rc == 0; i++) {
        if (i) /* 0: what came before the targets */
            target(&d, f, &f->t[i - 1]);
        rc = report_buf_flush(&d.b, out); /* a target at a time */
    }
    if (rc == 0 && shown < all) {
        oursf(&d, "%s%s: --targets all shows %s.\n", shown || !d.md ? "\n" : "", rest,
              all - shown == 1 ? "it" : "them");
        rc = report_buf_flush(&d.b, out);
    }
    report_buf_free(&d.b);
    return rc;
}
