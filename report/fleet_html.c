/* caprobe report --format html (fleet.h): one self-contained document from the fleet model: the
 * summary, the CA-list sizes and the names advertised most often as inline SVG drawn here, every
 * target with its verdict, findings and variants, then every distinct list once, by list id,
 * which the variants link to (a list on 400 targets is written once). Its only style and script
 * are fleet_html.css and fleet_html.js, embedded with the hashes its Content-Security-Policy names
 * them by; it never fetches anything. Every byte from a scan file goes through
 * report_buf_markup (jsonw.h), in text and attributes alike, and never into the script: the
 * filter reads data- attributes and text. Deterministic: no clock. */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "fleet_html_assets.h"
#include "jsonw.h"
#include "tls/wire/error.h"

#define LABEL_MAX 400 /* one variant's label: address, "SNI " and a host name, version, phase */
/* What a list id is, in words that need no file beside the report (it travels alone: an artifact,
 * an attachment): the man page is where an installed caprobe explains it. */
#define LIST_ID                                                                                    \
    "(the same names, in any order, give the same id; <code>man caprobe</code> tells how it is "   \
    "made)"

/* Nothing but the page's own style and script; no fetch of any kind (default-src), no <base>,
 * no form submission. A meta element cannot carry frame-ancestors or report-uri. */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'sha256-" REPORT_HTML_JS_SHA256                                \
    "'; style-src 'sha256-" REPORT_HTML_CSS_SHA256 "'; base-uri 'none'; form-action 'none'"

/* The charts: width of the drawing, of the bucket labels, of the longest bar. */
#define SVG_W 760
#define SIZES_LABEL 118
#define SIZES_BAR 400
#define SIZES_ROW 28
#define NAMES_BAR 360
#define NAMES_ROW 42

/* ---- writing -------------------------------------------------------------------------------- */

/* caprobe's own words and markup go in with report_buf_puts and report_buf_printf, text from a
 * scan file (a server's, a target list's, a file name) only through these two: as character
 * data, or as an attribute value inside the double quotes the caller writes. */
static void theirs(struct report_buf *b, const char *s)
{
    report_buf_markup(b, s, REPORT_MARKUP_BYTES);
}

static void theirs_attr(struct report_buf *b, const char *s)
{
    report_buf_markup(b, s, REPORT_MARKUP_ATTR | REPORT_MARKUP_BYTES);
}

/* The record's name, "TARGET" or "TARGET (STARTTLS smtp)". */
static void target_name(struct report_buf *b, const struct report_baseline_record *rec)
{
    struct report_buf label = {0};
    report_buf_label(&label, rec->target, rec->starttls);
    report_buf_put(&label, "", 1);
    theirs(b, label.failed ? "" : label.p);
    b->failed |= label.failed;
    report_buf_free(&label);
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- the lists of the fleet ----------------------------------------------------------------- */

/* A variant group with a list of names, of one of the scan's targets. */
struct list_use {
    uint64_t id;
    size_t target; /* index into f->t */
    const struct report_fleet_group *g;
    size_t n_cas;                           /* its names (a repeat counted, as sent) */
    const struct report_baseline_detail *d; /* the group's first variant */
};

static int by_id(const void *pa, const void *pb)
{
    const struct list_use *a = pa, *b = pb;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return (a->target > b->target) - (a->target < b->target);
}

/* A distinct list: its uses are u[first .. first + n). */
struct list {
    uint64_t id;
    size_t first, n, targets;
};

static int by_targets(const void *pa, const void *pb)
{
    const struct list *a = pa, *b = pb;
    if (a->targets != b->targets)
        return (a->targets < b->targets) - (a->targets > b->targets);
    return (a->id > b->id) - (a->id < b->id);
}

struct lists {
    struct list_use *u;
    size_t n_u;
    struct list *l;
    size_t n_l;
};

/* A group that got a CertificateRequest: a list, empty or not. */
static bool has_list(const struct report_baseline_record *rec, const struct report_fleet_group *g)
{
    return rec->t.v[g->variants[0]].state == REPORT_LIST_NAMES;
}

/* Every group that got a list, of the first `shown` targets, by list id; the distinct lists,
 * most targets first. */
static int lists_build(struct lists *ls, const struct report_fleet *f, size_t shown)
{
    memset(ls, 0, sizeof(*ls));
    size_t cap = 0, n = shown < f->n ? shown : f->n;
    for (size_t i = 0; i < n; i++)
        cap += f->t[i].n_groups;
    ls->u = malloc((cap ? cap : 1) * sizeof(*ls->u));
    ls->l = malloc((cap ? cap : 1) * sizeof(*ls->l));
    if (ls->u == NULL || ls->l == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct report_fleet_target *t = &f->t[i];
        for (size_t k = 0; k < t->n_groups; k++)
            if (has_list(t->rec, &t->groups[k])) {
                size_t v = t->groups[k].variants[0];
                const struct report_baseline_detail *d = &t->rec->detail[v];
                ls->u[ls->n_u++] =
                    (struct list_use){d->list_id, i, &t->groups[k], t->rec->t.v[v].n_cas, d};
            }
    }
    if (ls->n_u > 1)
        qsort(ls->u, ls->n_u, sizeof(*ls->u), by_id);
    for (size_t i = 0; i < ls->n_u; i++) {
        if (i == 0 || ls->u[i].id != ls->u[i - 1].id)
            ls->l[ls->n_l++] = (struct list){.id = ls->u[i].id, .first = i};
        struct list *l = &ls->l[ls->n_l - 1];
        l->targets += l->n == 0 || ls->u[i].target != ls->u[i - 1].target;
        l->n++;
    }
    if (ls->n_l > 1)
        qsort(ls->l, ls->n_l, sizeof(*ls->l), by_targets);
    return 0;
}

static void lists_free(struct lists *ls)
{
    free(ls->u);
    free(ls->l);
}

/* ---- the head ------------------------------------------------------------------------------- */

static void head(struct report_buf *b, const struct report_fleet *f)
{
    report_buf_puts(
        b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP "\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"caprobe report\">\n<title>caprobe report: ");
    theirs(b, f->scan_name);
    report_buf_puts(b, "</title>\n<style>");
    report_buf_puts(b, report_html_css);
    report_buf_puts(b,
                    "</style>\n</head>\n<body>\n<header>\n<h1>caprobe report</h1>\n<p>Scan <code>");
    theirs(b, f->scan_name);
    report_buf_printf(b, "</code>: %zu target%s", f->n, plural(f->n));
    if (f->base) {
        report_buf_puts(b, ", compared with <code>");
        theirs(b, f->base_name);
        report_buf_puts(b, "</code>");
    }
    report_buf_puts(
        b, ".</p>\n<nav><a href=\"#summary\">Summary</a> <a href=\"#sizes\">CA-list sizes</a> "
           "<a href=\"#targets\">Targets</a> <a href=\"#lists\">Lists</a></nav>\n</header>\n"
           "<main>\n");
}

/* ---- the summary ---------------------------------------------------------------------------- */

static void count_row(struct report_buf *b, const char *what, size_t n)
{
    report_buf_printf(b, "<tr><th scope=\"row\">%s</th><td class=\"n\">%zu</td></tr>\n", what, n);
}

/* The lines of the target list that were no target: where, their text, why; the first
 * REPORT_BASELINE_BAD_KEPT of them (CSV has every one). */
static void bad_targets(struct report_buf *b, const struct report_fleet *f)
{
    if (f->input_errors == 0)
        return;
    report_buf_printf(b,
                      "<h3>Bad target lines</h3>\n<p>%s of the target list %s no target and %s "
                      "not probed:</p>\n<table id=\"bad-targets\">\n<thead><tr><th>line</th>"
                      "<th>text</th><th>why</th></tr></thead>\n<tbody>\n",
                      f->input_errors == 1 ? "This line" : "These lines",
                      f->input_errors == 1 ? "was" : "were", f->input_errors == 1 ? "was" : "were");
    const struct report_baseline_input *in = report_baseline_inputs(f->scan);
    for (size_t i = 0; in && i < REPORT_BASELINE_BAD_KEPT; in = in->next, i++) {
        report_buf_puts(b, "<tr><td class=\"mono\">");
        theirs(b, in->where);
        report_buf_puts(b, "</td><td><code>");
        theirs(b, in->text);
        report_buf_puts(b, "</code></td><td>");
        theirs(b, in->why);
        report_buf_puts(b, "</td></tr>\n");
    }
    report_buf_puts(b, "</tbody></table>\n");
    if (f->input_errors > REPORT_BASELINE_BAD_KEPT)
        report_buf_printf(b, "<p>and %zu more (caprobe report --format csv lists every one)</p>\n",
                          f->input_errors - REPORT_BASELINE_BAD_KEPT);
}

static void summary(struct report_buf *b, const struct report_fleet *f, size_t shown)
{
    report_buf_puts(
        b, "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n"
           "<table class=\"counts\" id=\"count-targets\"><caption>Targets</caption>\n<tbody>\n");
    count_row(b, "scanned", f->n);
    count_row(b, "probed", f->probed);
    count_row(b, "with findings", f->with_findings);
    count_row(b, "OK", f->ok);
    count_row(b, "not probed", f->unprobed);
    if (f->input_errors)
        count_row(b, "<a href=\"#bad-targets\">lines that were no target</a>", f->input_errors);
    report_buf_puts(
        b, "</tbody></table>\n<table class=\"counts\" id=\"count-findings\"><caption>Findings"
           "</caption>\n<tbody>\n");
    for (int s = REPORT_SEV_CRITICAL; s >= REPORT_SEV_INFO; s--) {
        const char *name = report_severity_name((enum report_severity)s);
        report_buf_printf(
            b,
            "<tr><th scope=\"row\"><span class=\"sev sev-%s\">%s</span></th><td class=\"n\">"
            "%zu</td></tr>\n",
            name, name, f->by_severity[s]);
    }
    count_row(b, "all", f->findings);
    report_buf_puts(b, "</tbody></table>\n");
    if (f->base) {
        report_buf_puts(b, "<table class=\"counts\" id=\"count-changes\"><caption>Since <code>");
        theirs(b, f->base_name);
        report_buf_puts(b, "</code></caption>\n<tbody>\n");
        count_row(b, "new findings", f->new);
        count_row(b, "changed findings", f->changed);
        count_row(b, "resolved findings", f->resolved);
        count_row(b, "targets added", f->added);
        count_row(b, "targets removed", f->removed);
        report_buf_puts(b, "</tbody></table>\n");
    }
    report_buf_puts(b, "</div>\n");

    size_t bad = report_baseline_bad_count(f->scan);
    if (bad) {
        report_buf_printf(b, "<h3>Bad input</h3>\n<p>%zu line%s of <code>", bad, plural(bad));
        theirs(b, f->scan_name);
        report_buf_printf(b,
                          "</code> could not be read and %s left out:</p>\n<ul id=\"bad-input\">\n",
                          bad == 1 ? "was" : "were");
        for (size_t i = 0; report_baseline_bad_at(f->scan, i); i++) {
            report_buf_puts(b, "<li><code>");
            theirs(b, report_baseline_bad_at(f->scan, i));
            report_buf_puts(b, "</code></li>\n");
        }
        if (bad > REPORT_BASELINE_BAD_KEPT)
            report_buf_printf(b, "<li>and %zu more</li>\n", bad - REPORT_BASELINE_BAD_KEPT);
        report_buf_puts(b, "</ul>\n");
    }

    if (f->n_rules) {
        report_buf_puts(
            b, "<h3>Findings by rule</h3>\n<table id=\"rules\">\n<thead><tr><th>rule</th>"
               "<th>severity</th><th class=\"n\">findings</th><th class=\"n\">targets</th>");
        if (f->base)
            report_buf_puts(b, "<th class=\"n\">new</th><th class=\"n\">changed</th>"
                               "<th class=\"n\">resolved</th>");
        report_buf_puts(b, "</tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < f->n_rules; i++) {
            const struct report_fleet_rule *r = &f->rules[i];
            const char *sev = report_severity_name(r->severity);
            report_buf_puts(b, "<tr><td><a href=\"#targets\" data-r=\"");
            theirs_attr(b, r->rule);
            report_buf_printf(b, "\" data-s=\"%s\"><code>", sev);
            theirs(b, r->rule);
            report_buf_printf(b,
                              "</code></a></td><td><span class=\"sev sev-%s\">%s</span></td>"
                              "<td class=\"n\">%zu</td><td class=\"n\">%zu</td>",
                              sev, sev, r->findings, r->targets);
            if (f->base)
                report_buf_printf(
                    b, "<td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>",
                    r->new, r->changed, r->resolved);
            report_buf_puts(b, "</tr>\n");
        }
        report_buf_puts(b, "</tbody></table>\n");
    }
    if (f->n_worst) {
        char counts[256];
        report_buf_puts(b,
                        "<h3>Worst targets</h3>\n<table id=\"worst\">\n<thead><tr><th>target</th>"
                        "<th>findings</th><th>worst rule</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < f->n_worst; i++) {
            const struct report_fleet_target *x = &f->t[f->worst[i]];
            if (f->worst[i] < shown) /* a link to its section, when it has one (--targets) */
                report_buf_printf(b, "<tr><td><a href=\"#t%zu\" class=\"mono\">", f->worst[i] + 1);
            else
                report_buf_puts(b, "<tr><td><span class=\"mono\">");
            target_name(b, x->rec);
            report_fleet_counts_text(x->by_severity, x->n_current, counts, sizeof(counts));
            report_buf_printf(b, "%s</td><td>%s</td><td><code>",
                              f->worst[i] < shown ? "</a>" : "</span>", counts);
            const struct report_baseline_finding *w = report_fleet_worst_finding(x);
            theirs(b, w ? w->rule : "");
            report_buf_puts(b, "</code></td></tr>\n");
        }
        report_buf_puts(b, "</tbody></table>\n");
    }
    bad_targets(b, f); /* last: up to 100 rows, after what the findings say */
    report_buf_puts(b, "</section>\n");
}

/* ---- the charts ----------------------------------------------------------------------------- */

/* Length of a bar for n of max (max > 0): at least 1 for any n > 0. */
static unsigned bar(size_t n, size_t max, unsigned longest)
{
    if (n == 0 || max == 0)
        return 0;
    size_t w = n * longest / max;
    return w ? (unsigned)w : 1;
}

static void sizes_chart(struct report_buf *b, const struct report_fleet *f)
{
    size_t max = 0;
    for (int k = 0; k < REPORT_FLEET_BUCKETS; k++)
        max = f->buckets[k] > max ? f->buckets[k] : max;
    unsigned h = 8 + SIZES_ROW * REPORT_FLEET_BUCKETS;
    report_buf_printf(
        b,
        "<figure>\n<svg class=\"chart\" id=\"sizes-chart\" role=\"img\" viewBox=\"0 0 %d %u\" "
        "width=\"%d\" height=\"%u\" aria-labelledby=\"sizes-title sizes-desc\">\n"
        "<title id=\"sizes-title\">CA-list sizes: probed targets by the names in their largest "
        "list</title>\n<desc id=\"sizes-desc\">",
        SVG_W, h, SVG_W, h);
    for (int k = 0; k < REPORT_FLEET_BUCKETS; k++) {
        report_buf_printf(b, "%s%s names: %zu target%s", k ? "; " : "",
                          report_fleet_bucket_label((enum report_fleet_bucket)k), f->buckets[k],
                          plural(f->buckets[k]));
        if (f->bucket_bytes[k])
            report_buf_printf(b, " (largest list %zu bytes)", f->bucket_bytes[k]);
    }
    report_buf_puts(b, ".</desc>\n");
    for (int k = 0; k < REPORT_FLEET_BUCKETS; k++) {
        unsigned y = 4 + SIZES_ROW * (unsigned)k, w = bar(f->buckets[k], max, SIZES_BAR);
        report_buf_printf(b, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\">%s</text>",
                          SIZES_LABEL - 8, y + 18,
                          report_fleet_bucket_label((enum report_fleet_bucket)k));
        report_buf_printf(b, "<rect%s x=\"%d\" y=\"%u\" width=\"%u\" height=\"18\"/>",
                          k == REPORT_FLEET_NO_REQUEST ? " class=\"none\"" : "", SIZES_LABEL, y + 5,
                          w);
        report_buf_printf(b, "<text x=\"%u\" y=\"%u\" class=\"num\">%zu", SIZES_LABEL + w + 6,
                          y + 18, f->buckets[k]);
        if (f->bucket_bytes[k])
            report_buf_printf(b, "<tspan class=\"sub\"> (largest list %zu bytes)</tspan>",
                              f->bucket_bytes[k]);
        report_buf_puts(b, "</text>\n");
    }
    report_buf_puts(
        b, "</svg>\n<figcaption>Probed targets by the names in their largest list, with the "
           "largest list's size on the wire.</figcaption>\n</figure>\n");
}

static void names_chart(struct report_buf *b, const struct report_fleet *f)
{
    size_t max = f->n_top ? f->top[0].targets : 0;
    unsigned h = 8 + NAMES_ROW * (unsigned)f->n_top;
    report_buf_printf(
        b,
        "<figure>\n<svg class=\"chart\" id=\"names-chart\" role=\"img\" viewBox=\"0 0 %d %u\" "
        "width=\"%d\" height=\"%u\" aria-labelledby=\"names-title names-desc\">\n"
        "<title id=\"names-title\">Names advertised most often, by the targets that advertise "
        "them</title>\n<desc id=\"names-desc\">",
        SVG_W, h, SVG_W, h);
    for (size_t i = 0; i < f->n_top; i++) {
        report_buf_printf(b, "%s%zu target%s: ", i ? "; " : "", f->top[i].targets,
                          plural(f->top[i].targets));
        theirs(b, f->top[i].dn);
    }
    report_buf_puts(b, ".</desc>\n");
    for (size_t i = 0; i < f->n_top; i++) {
        unsigned y = 4 + NAMES_ROW * (unsigned)i, w = bar(f->top[i].targets, max, NAMES_BAR);
        report_buf_puts(b, "<g><title>");
        theirs(b, f->top[i].dn);
        report_buf_printf(b, "</title><text x=\"0\" y=\"%u\" class=\"name\">", y + 13);
        theirs(b, f->top[i].dn);
        report_buf_printf(b, "</text><rect x=\"0\" y=\"%u\" width=\"%u\" height=\"14\"/>", y + 19,
                          w);
        report_buf_printf(b, "<text x=\"%u\" y=\"%u\" class=\"num\">%zu</text></g>\n", w + 6,
                          y + 31, f->top[i].targets);
    }
    report_buf_puts(
        b, "</svg>\n<figcaption>A name counts once per target, whichever variants carry it."
           "</figcaption>\n</figure>\n");
}

static void sizes(struct report_buf *b, const struct report_fleet *f)
{
    report_buf_printf(
        b,
        "<section id=\"sizes\">\n<h2>CA-list sizes</h2>\n<p>The largest list of each probed "
        "target, by names; %zu distinct list%s in the fleet (<a href=\"#lists\">Lists</a>)."
        "</p>\n",
        f->distinct_lists, plural(f->distinct_lists));
    sizes_chart(b, f);
    report_buf_printf(
        b,
        "<p id=\"over\">Lists over 16 KiB (mbedTLS clients fail): %zu target%s; over 32 KiB "
        "(Java fails): %zu.</p>\n",
        f->over_16k, plural(f->over_16k), f->over_32k);
    report_buf_puts(b, "<h3>Names advertised most often</h3>\n");
    if (f->n_top)
        names_chart(b, f);
    else
        report_buf_puts(b, "<p>No target advertised a name.</p>\n");
    report_buf_puts(b, "</section>\n");
}

/* ---- targets -------------------------------------------------------------------------------- */

static bool rule_seen(const struct report_fleet *f, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(f->rules[k].rule, f->rules[i].rule) == 0)
            return true;
    return false;
}

/* The filter: hidden until the script shows it, so that without JavaScript nothing is offered
 * that does nothing. */
static void filter_form(struct report_buf *b, const struct report_fleet *f)
{
    report_buf_puts(
        b, "<form id=\"filter\" role=\"search\" hidden>\n<input type=\"search\" name=\"q\" "
           "placeholder=\"Text: a target, a name, a message\" aria-label=\"Text\">\n"
           "<select name=\"rule\" aria-label=\"Rule\"><option value=\"\">every rule</option>");
    for (size_t i = 0; i < f->n_rules; i++) {
        if (rule_seen(f, i))
            continue;
        report_buf_puts(b, "<option value=\"");
        theirs_attr(b, f->rules[i].rule);
        report_buf_puts(b, "\">");
        theirs(b, f->rules[i].rule);
        report_buf_puts(b, "</option>");
    }
    report_buf_puts(b, "</select>\n<select name=\"sev\" aria-label=\"Severity\">"
                       "<option value=\"\">every severity</option>");
    for (int s = REPORT_SEV_CRITICAL; s >= REPORT_SEV_INFO; s--)
        report_buf_printf(b, "<option>%s</option>", report_severity_name((enum report_severity)s));
    report_buf_puts(b, "</select>\n");
    if (f->base) {
        report_buf_puts(b,
                        "<select name=\"chg\" aria-label=\"Change\"><option value=\"\">any change"
                        "</option>");
        for (int c = REPORT_FINDING_NEW; c <= REPORT_FINDING_SAME; c++)
            report_buf_printf(b, "<option>%s</option>",
                              report_finding_change_name((enum report_finding_change)c));
        report_buf_puts(b, "</select>\n");
    }
    report_buf_puts(
        b, "<button type=\"reset\">Show all</button>\n<output id=\"shown\" aria-live=\"polite\">"
           "</output>\n</form>\n");
}

static void finding(struct report_buf *b, const struct report_fleet *f,
                    const struct report_fleet_finding *x)
{
    const struct report_baseline_finding *s = x->now ? x->now : x->old;
    const char *sev = report_severity_name(s->severity);
    report_buf_puts(b, "<li data-r=\"");
    theirs_attr(b, s->rule);
    report_buf_printf(b, "\" data-s=\"%s\"", sev);
    if (f->base)
        report_buf_printf(b, " data-c=\"%s\"", report_finding_change_name(x->change));
    report_buf_printf(b, "><span class=\"sev sev-%s\">%s</span> <code>", sev, sev);
    theirs(b, s->rule);
    report_buf_puts(b, "</code>");
    if (f->base && x->change != REPORT_FINDING_SAME)
        report_buf_printf(b, " <span class=\"chg\">%s</span>",
                          report_finding_change_name(x->change));
    report_buf_puts(b, ": ");
    theirs(b, s->message);
    if (x->change == REPORT_FINDING_CHANGED) {
        report_buf_printf(b,
                          "\n<div class=\"was\">was %s: ", report_severity_name(x->old->severity));
        theirs(b, x->old->message);
        report_buf_puts(b, "</div>");
    }
    if (x->now && s->remedy) {
        report_buf_puts(b, "\n<div class=\"fix\">fix: ");
        theirs(b, s->remedy);
        report_buf_puts(b, "</div>");
    }
    report_buf_puts(b, "</li>\n");
}

static void group(struct report_buf *b, const struct report_baseline_record *rec,
                  const struct report_fleet_group *g)
{
    char buf[2 * LABEL_MAX];
    report_buf_puts(b, "<li>");
    for (size_t i = 0; i < g->n; i++) {
        report_fleet_variant_label(&rec->detail[g->variants[i]], buf, sizeof(buf));
        report_buf_puts(b, i ? "; <span class=\"mono\">" : "<span class=\"mono\">");
        theirs(b, buf);
        report_buf_puts(b, "</span>");
    }
    report_buf_puts(b, ": ");
    report_fleet_answer(rec, g, buf, sizeof(buf));
    theirs(b, buf);
    const struct report_baseline_detail *first = &rec->detail[g->variants[0]];
    if (has_list(rec, g))
        report_buf_printf(b, ", list <a href=\"#l-%016llx\" class=\"mono\">%016llx</a>",
                          (unsigned long long)first->list_id, (unsigned long long)first->list_id);
    report_fleet_http(first, buf, sizeof(buf));
    if (buf[0]) {
        report_buf_puts(b, "\n<div class=\"http\">");
        theirs(b, buf);
        report_buf_puts(b, "</div>");
    }
    report_fleet_client_cert(first, buf, sizeof(buf));
    if (buf[0]) {
        report_buf_puts(b, "\n<div class=\"cc\">client certificate: ");
        theirs(b, buf);
        report_buf_puts(b, "</div>");
    }
    if (first->cert_subject) {
        report_buf_puts(b, "\n<div class=\"cert\">server certificate: ");
        theirs(b, first->cert_subject);
        if (first->cert_not_after) {
            report_buf_puts(b, ", valid until ");
            theirs(b, first->cert_not_after);
        }
        report_buf_puts(b, "</div>");
    }
    report_buf_puts(b, "</li>\n");
}

static void target(struct report_buf *b, const struct report_fleet *f, size_t i)
{
    const struct report_fleet_target *t = &f->t[i];
    report_buf_printf(b, "<article class=\"t\" id=\"t%zu\" data-v=\"%s\"", i + 1,
                      report_fleet_verdict_word(t));
    bool any = false; /* the lists it advertises, each once, for the text search */
    for (size_t k = 0; k < t->n_groups && !t->removed; k++) {
        const struct report_fleet_group *g = &t->groups[k];
        uint64_t id = t->rec->detail[g->variants[0]].list_id;
        bool again = false;
        for (size_t j = 0; j < k && !again; j++)
            again = has_list(t->rec, &t->groups[j]) &&
                    t->rec->detail[t->groups[j].variants[0]].list_id == id;
        if (has_list(t->rec, g) && !again) {
            report_buf_printf(b, "%s%016llx", any ? " " : " data-l=\"", (unsigned long long)id);
            any = true;
        }
    }
    report_buf_puts(b, any ? "\">\n" : ">\n");
    char verdict[256];
    report_fleet_verdict_text(t, verdict, sizeof(verdict));
    report_buf_puts(b, "<h3><span class=\"mono\">");
    target_name(b, t->rec);
    if (t->worst >= 0)
        report_buf_printf(b, "</span><span class=\"v sev-%s\">",
                          report_severity_name((enum report_severity)t->worst));
    else
        report_buf_printf(b, "</span><span class=\"v %s\">",
                          t->verdict == REPORT_VERDICT_OK && !t->removed ? "ok" : "muted");
    report_buf_printf(b, "%s</span></h3>\n", verdict);
    if (t->n_findings) {
        report_buf_puts(b, "<ul class=\"f\">\n");
        for (size_t k = 0; k < t->n_findings; k++)
            finding(b, f, &t->findings[k]);
        report_buf_puts(b, "</ul>\n");
    }
    if (!t->removed && t->n_groups) { /* a removed target's variants are the baseline's */
        report_buf_puts(b, "<ul class=\"g\">\n");
        for (size_t k = 0; k < t->n_groups; k++)
            group(b, t->rec, &t->groups[k]);
        report_buf_puts(b, "</ul>\n");
    }
    report_buf_puts(b, "</article>\n");
}

/* ---- lists ---------------------------------------------------------------------------------- */

static void list(struct report_buf *b, const struct lists *ls, const struct list *l)
{
    const struct list_use *u = &ls->u[l->first]; /* the first use whose names were kept */
    for (size_t i = l->n; i-- > 0;)
        u = ls->u[l->first + i].g->n_names ? &ls->u[l->first + i] : u;
    report_buf_printf(
        b,
        "<details class=\"list\" id=\"l-%016llx\"><summary><code>%016llx</code>: %zu name%s "
        "(%zu bytes), advertised by %zu target%s</summary>\n<ol>\n",
        (unsigned long long)l->id, (unsigned long long)l->id, u->n_cas, plural(u->n_cas),
        u->d->list_bytes, l->targets, plural(l->targets));
    for (size_t i = 0; i < u->g->n_names; i++) {
        report_buf_puts(b, "<li>");
        theirs(b, u->g->names[i]);
        report_buf_puts(b, "</li>\n");
    }
    report_buf_puts(b, "</ol>\n</details>\n");
}

/* ---- the document --------------------------------------------------------------------------- */

int report_fleet_html_write(FILE *out, const struct report_fleet *f,
                            const struct report_fleet_opts *o)
{
    struct report_buf b = {0};
    struct lists ls;
    size_t shown = report_fleet_shown(f, o), all = f->n + f->n_removed;
    char rest[256];
    report_fleet_rest_text(f, shown, rest, sizeof(rest));
    int rc = lists_build(&ls, f, shown);
    if (rc == 0) {
        head(&b, f);
        summary(&b, f, shown);
        sizes(&b, f);
        report_buf_puts(&b, "<section id=\"targets\">\n<h2>Targets</h2>\n");
        if (shown == 0 && all)
            report_buf_printf(&b,
                              "<p id=\"cut\">No target has a section here (caprobe report "
                              "--targets none); the summary counts all %zu.</p>\n",
                              all);
        else if (shown == 1 && all > 1)
            report_buf_printf(&b,
                              "<p id=\"cut\">The worst of %zu targets has a section here "
                              "(caprobe report --targets 1); the summary counts them all.</p>\n",
                              all);
        else if (shown < all)
            report_buf_printf(&b,
                              "<p id=\"cut\">The %zu worst of %zu targets have a section here "
                              "(caprobe report --targets %zu); the summary counts them all.</p>\n",
                              shown, all, shown);
        filter_form(&b, f);
        report_buf_puts(
            &b, "<p>Worst first; the variants with the same answer share a line, and each list "
                "is written once, under <a href=\"#lists\">Lists</a>, by its list id.</p>\n");
        rc = report_buf_flush(&b, out);
    }
    for (size_t i = 0; i < shown && rc == 0; i++) {
        target(&b, f, i);
        rc = report_buf_flush(&b, out);
    }
    if (rc == 0) {
        if (all == 0)
            report_buf_puts(&b, "<p>No target.</p>\n");
        else if (shown < all)
            report_buf_printf(&b, "<p id=\"rest\">%s: caprobe report --targets all shows %s.</p>\n",
                              rest, all - shown == 1 ? "it" : "them");
        report_buf_puts(&b, "</section>\n<section id=\"lists\">\n<h2>Lists</h2>\n");
        if (shown < all)
            report_buf_printf(&b,
                              "<p>The lists of the targets above, each once, by list id " LIST_ID
                              ", with its names sorted by text: %zu of the fleet's %zu list%s."
                              "</p>\n",
                              ls.n_l, f->distinct_lists, plural(f->distinct_lists));
        else
            report_buf_printf(&b,
                              "<p>Every distinct list of names once, by list id " LIST_ID
                              ", with its names sorted by text: %zu list%s.</p>\n",
                              ls.n_l, plural(ls.n_l));
        rc = report_buf_flush(&b, out);
    }
    for (size_t i = 0; i < ls.n_l && rc == 0; i++) {
        list(&b, &ls, &ls.l[i]);
        rc = report_buf_flush(&b, out);
    }
    if (rc == 0) {
        report_buf_puts(&b, "</section>\n</main>\n<script>");
        report_buf_puts(&b, report_html_js);
        report_buf_puts(&b, "</script>\n</body>\n</html>\n");
        rc = report_buf_flush(&b, out);
    }
    lists_free(&ls);
    report_buf_free(&b);
    return rc;
}
