/* caprobe report --format csv (fleet.h): one row per finding for spreadsheets, then one per line
 * of the target list that was no target; RFC 4180 (every field quoted, quotes doubled, CRLF line
 * ends, a header row). Every field is terminal-escaped
 * first (no control byte, valid UTF-8), and a field that would start with = + - @ (or tab or CR)
 * gets a leading single quote, as OWASP recommends against formula injection: a name or a
 * message from a server is never taken for a formula. Never anything but fields and commas. */
#include <string.h>

#include "fleet.h"
#include "jsonw.h"
#include "tls/wire/error.h"

#define LABEL_MAX 400

static void field(struct report_buf *b, const char *s, bool last)
{
    struct report_buf esc = {0};
    report_buf_term(&esc, s);
    report_buf_put(&esc, "", 1);
    const char *p = esc.failed ? "" : esc.p;
    report_buf_puts(b, "\"");
    if (strchr("=+-@\t\r", p[0]) && p[0])
        report_buf_puts(b, "'");
    for (const char *q = p; *q; q++) {
        report_buf_put(b, q, 1);
        if (*q == '"')
            report_buf_put(b, "\"", 1); /* RFC 4180 2.7 */
    }
    report_buf_puts(b, last ? "\"\r\n" : "\",");
    b->failed |= esc.failed;
    report_buf_free(&esc);
}

/* The labels of the variants a finding cites, "; " between them. */
static void cited(struct report_buf *b, const struct report_fleet_finding *x)
{
    const struct report_baseline_finding *s = x->now ? x->now : x->old;
    char label[LABEL_MAX];
    for (size_t i = 0; i < s->n_variants; i++) {
        report_fleet_variant_label(&x->rec->detail[s->variants[i]], label, sizeof(label));
        report_buf_puts(b, i ? "; " : "");
        report_buf_puts(b, label);
    }
    report_buf_put(b, "", 1);
}

/* What the variants a finding cites got (report_fleet_client_cert or report_fleet_http, as
 * what says): "LABEL: ANSWER" of each that has one, "; " between them. */
static void exchanges(struct report_buf *b, const struct report_fleet_finding *x,
                      void (*what)(const struct report_baseline_detail *, char *, size_t))
{
    const struct report_baseline_finding *s = x->now ? x->now : x->old;
    char label[LABEL_MAX], answer[2 * LABEL_MAX];
    bool any = false;
    for (size_t i = 0; i < s->n_variants; i++) {
        const struct report_baseline_detail *d = &x->rec->detail[s->variants[i]];
        what(d, answer, sizeof(answer));
        if (!answer[0])
            continue;
        report_fleet_variant_label(d, label, sizeof(label));
        report_buf_printf(b, "%s%s: %s", any ? "; " : "", label, answer);
        any = true;
    }
    report_buf_put(b, "", 1);
}

int report_fleet_csv_write(FILE *out, const struct report_fleet *f)
{
    struct report_buf b = {0};
    report_buf_puts(&b, "\"target\",\"starttls\",\"verdict\",\"change\",\"rule\",\"severity\","
                        "\"variants\",\"message\",\"remedy\",\"old_severity\",\"old_message\","
                        "\"client_cert\",\"http\"\r\n");
    int rc = 0;
    for (size_t i = 0; i <= f->n + f->n_removed && rc == 0; i++) {
        const struct report_fleet_target *t = i ? &f->t[i - 1] : NULL; /* 0: the header */
        for (size_t k = 0; t && k < t->n_findings; k++) {
            const struct report_fleet_finding *x = &t->findings[k];
            const struct report_baseline_finding *s = x->now ? x->now : x->old;
            struct report_buf v = {0}, cc = {0}, http = {0};
            cited(&v, x);
            exchanges(&cc, x, report_fleet_client_cert);
            exchanges(&http, x, report_fleet_http);
            field(&b, t->rec->target, false);
            field(&b, t->rec->starttls ? t->rec->starttls : "", false);
            field(&b, report_fleet_verdict_word(t), false);
            field(&b, f->base ? report_finding_change_name(x->change) : "", false);
            field(&b, s->rule, false);
            field(&b, report_severity_name(s->severity), false);
            field(&b, v.failed ? "" : v.p, false);
            field(&b, s->message, false);
            field(&b, s->remedy ? s->remedy : "", false);
            bool changed = x->change == REPORT_FINDING_CHANGED;
            field(&b, changed ? report_severity_name(x->old->severity) : "", false);
            field(&b, changed ? x->old->message : "", false);
            field(&b, cc.failed ? "" : cc.p, false);
            field(&b, http.failed ? "" : http.p, true);
            b.failed |= v.failed || cc.failed || http.failed;
            report_buf_free(&v);
            report_buf_free(&cc);
            report_buf_free(&http);
        }
        rc = report_buf_flush(&b, out); /* a target at a time */
    }
    /* the lines of the target list that were no target, every one: its text, where and why */
    for (const struct report_baseline_input *in = report_baseline_inputs(f->scan); in && rc == 0;
         in = in->next) {
        struct report_buf m = {0};
        report_buf_printf(&m, "%s: %s", in->where, in->why);
        report_buf_put(&m, "", 1);
        static const char *const cols[] = {"", "bad target line", "", "", "",
                                           ""}; /* starttls,
                                                 * verdict, change, rule, severity, variants */
        field(&b, in->text, false);
        for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
            field(&b, cols[k], false);
        field(&b, m.failed ? "" : m.p, false);
        for (int k = 0; k < 4; k++) /* remedy, old_severity, old_message, client_cert */
            field(&b, "", false);
        field(&b, "", true); /* http */
        b.failed |= m.failed;
        report_buf_free(&m);
        rc = report_buf_flush(&b, out);
    }
    report_buf_free(&b);
    return rc;
}
