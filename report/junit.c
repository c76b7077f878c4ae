/* JUnit XML renderer (writer.h): one <testcase> per target. The counts of <testsuites> and
 * <testsuite> come before the test cases, so the cases are spooled to a tmpfile() and copied
 * after the counts at the end: memory stays one target's worth for any number of targets.
 * Every text and attribute goes through report_buf_markup (jsonw.h), which never lets out a
 * character that XML 1.0 forbids or a byte that is not UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "tls/wire/error.h"
#include "tls/wire/utf8.h"
#include "tls/wire/names.h"
#include "writer.h"

struct report_junit {
    FILE *f;
    FILE *spool; /* the <testcase> elements */
    char *tool_version;
    enum report_severity fail_on;
    struct report_buf out;
    uint64_t tests, failures, errors;
    int err;          /* first error, returned again by end */
    bool interrupted; /* the scan was stopped: the document says it is incomplete */
    char signal[16];  /* the signal's name, "" when not known */
};

static void put_u64(struct report_buf *b, uint64_t v)
{
    report_buf_json_u64(b, v); /* digits only: the same in XML */
}

/* "127.0.0.1  app.example.com  TLS 1.2  handshake" */
static void put_variant(struct report_buf *b, const struct tls_observation *o)
{
    char v[8];
    report_buf_markup(b, o->address ? o->address : "-", 0);
    report_buf_puts(b, "  ");
    report_buf_markup(b, o->sni ? o->sni : "(no SNI)", 0);
    report_buf_puts(b, "  TLS ");
    report_buf_puts(b, tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, v, sizeof(v)));
    report_buf_puts(b, "  ");
    report_buf_markup(b, o->phase, 0);
}

static void put_error_text(struct report_buf *b, const struct tls_observation *o)
{
    report_buf_puts(b, "error (");
    report_buf_puts(b, tls_error_kind_name(o->error_kind));
    report_buf_puts(b, "): ");
    report_buf_markup(b, o->error_message, 0);
}

/* One line per variant: what the server answered. */
static void put_summary(struct report_buf *b, const struct report_target *t)
{
    for (size_t i = 0; i < t->n_obs; i++) {
        const struct tls_observation *o = t->obs[i];
        put_variant(b, o);
        report_buf_puts(b, ": ");
        switch (o->outcome) {
        case TLS_OUTCOME_CERTIFICATE_REQUEST:
            if (o->version == 0x0304 && !o->has_cas) {
                report_buf_puts(b, "certificate request without certificate_authorities");
                break;
            }
            report_buf_puts(b, "certificate request, ");
            put_u64(b, o->ca_count);
            report_buf_puts(b, o->ca_count == 1 ? " CA name (" : " CA names (");
            put_u64(b, tls_observation_list_bytes(o));
            report_buf_puts(b, " bytes)");
            break;
        case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
            report_buf_puts(b, "no certificate request");
            break;
        case TLS_OUTCOME_ERROR:
            put_error_text(b, o);
            break;
        }
        report_buf_put(b, "\n", 1);
    }
}

static void put_findings(struct report_buf *b, const struct report_findings *f)
{
    for (size_t i = 0; f && i < f->n; i++) {
        report_buf_puts(b, report_severity_name(f->v[i].severity));
        report_buf_put(b, " ", 1);
        report_buf_markup(b, f->v[i].rule->name, 0);
        report_buf_puts(b, ": ");
        report_buf_markup(b, f->v[i].message, 0);
        if (f->v[i].remedy) {
            report_buf_puts(b, "\n  Fix: ");
            report_buf_markup(b, f->v[i].remedy, 0);
        }
        report_buf_put(b, "\n", 1);
    }
}

static void put_testcase(struct report_junit *j, const struct report_target *t)
{
    struct report_buf *b = &j->out;
    const struct report_findings *f = t->findings;
    const struct report_finding *top = NULL; /* highest severity, first in order */
    for (size_t i = 0; f && i < f->n; i++)
        if (top == NULL || f->v[i].severity > top->severity)
            top = &f->v[i];
    size_t n_errors = 0;
    const struct tls_observation *first_error = NULL;
    for (size_t i = 0; i < t->n_obs; i++)
        if (t->obs[i]->outcome == TLS_OUTCOME_ERROR) {
            if (first_error == NULL)
                first_error = t->obs[i];
            n_errors++;
        }

    report_buf_puts(b, "    <testcase classname=\"caprobe\" name=\"");
    struct report_buf label = {0};
    report_buf_label(&label, t->target, report_target_starttls(t));
    report_buf_put(&label, "", 1);
    report_buf_markup(b, label.failed ? "" : label.p, REPORT_MARKUP_ATTR);
    b->failed |= label.failed;
    report_buf_free(&label);
    report_buf_puts(b, "\">\n");
    if (t->input_error) {
        report_buf_puts(b, "      <error message=\"");
        report_buf_markup(b, t->input_error, REPORT_MARKUP_ATTR);
        report_buf_puts(b, "\" type=\"input\">target could not be parsed: ");
        report_buf_markup(b, t->input_error, 0);
        report_buf_puts(b, "</error>\n");
        j->errors++;
    } else if (top && top->severity >= j->fail_on) {
        report_buf_puts(b, "      <failure message=\"");
        put_u64(b, f->n);
        report_buf_puts(b, f->n == 1 ? " finding, highest " : " findings, highest ");
        report_buf_puts(b, report_severity_name(top->severity));
        report_buf_puts(b, "\" type=\"");
        report_buf_markup(b, top->rule->name, REPORT_MARKUP_ATTR);
        report_buf_puts(b, "\">");
        put_findings(b, f);
        report_buf_puts(b, "</failure>\n");
        j->failures++;
    } else if (t->n_obs == 0 || n_errors == t->n_obs) {
        report_buf_puts(b, "      <error message=\"");
        if (t->n_obs == 0) {
            report_buf_puts(b, "no probe was made\" type=\"no-probe\">");
        } else {
            report_buf_puts(b, "all ");
            put_u64(b, t->n_obs);
            report_buf_puts(b, t->n_obs == 1 ? " probe failed: " : " probes failed, first: ");
            report_buf_puts(b, tls_error_kind_name(first_error->error_kind));
            report_buf_puts(b, ": ");
            report_buf_markup(b, first_error->error_message, REPORT_MARKUP_ATTR);
            report_buf_puts(b, "\" type=\"");
            report_buf_puts(b, tls_error_kind_name(first_error->error_kind));
            report_buf_puts(b, "\">");
            for (size_t i = 0; i < t->n_obs; i++) {
                put_variant(b, t->obs[i]);
                report_buf_puts(b, ": ");
                put_error_text(b, t->obs[i]);
                report_buf_put(b, "\n", 1);
            }
        }
        report_buf_puts(b, "</error>\n");
        j->errors++;
    }
    /* the variants, unless the <error> above listed them all */
    bool failed = top && top->severity >= j->fail_on && !t->input_error;
    bool summary = t->n_obs && n_errors < t->n_obs;
    if (summary || (f && f->n && !failed)) {
        report_buf_puts(b, "      <system-out>");
        if (summary)
            put_summary(b, t);
        if (f && f->n && !failed) {
            report_buf_puts(b, "findings below ");
            report_buf_puts(b, report_severity_name(j->fail_on));
            report_buf_puts(b, ":\n");
            put_findings(b, f);
        }
        report_buf_puts(b, "</system-out>\n");
    }
    report_buf_puts(b, "    </testcase>\n");
    j->tests++;
}

int report_junit_begin(struct report_junit **out, FILE *f, const char *tool_version,
                       enum report_severity fail_on)
{
    *out = NULL;
    struct report_junit *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return TLS_E_NOMEM;
    j->f = f;
    j->fail_on = fail_on;
    if (tool_version && (j->tool_version = strdup(tool_version)) == NULL) {
        free(j);
        return TLS_E_NOMEM;
    }
    if ((j->spool = tmpfile()) == NULL) {
        free(j->tool_version);
        free(j);
        return TLS_E_IO;
    }
    *out = j;
    return 0;
}

int report_junit_target(struct report_junit *j, const struct report_target *t)
{
    if (j->err)
        return j->err;
    uint64_t tests = j->tests, failures = j->failures, errors = j->errors;
    j->out.len = 0;
    put_testcase(j, t);
    if (j->out.failed) {
        j->tests = tests; /* nothing of this target was written: the counts stay true */
        j->failures = failures;
        j->errors = errors;
        report_buf_free(&j->out);
        return j->err = TLS_E_NOMEM;
    }
    if (fwrite(j->out.p, 1, j->out.len, j->spool) != j->out.len)
        j->err = TLS_E_IO;
    return j->err;
}

void report_junit_interrupted(struct report_junit *j, const char *signal_name)
{
    j->interrupted = true;
    snprintf(j->signal, sizeof(j->signal), "%s", signal_name ? signal_name : "");
}

static void put_counts(struct report_buf *b, const struct report_junit *j)
{
    report_buf_puts(b, " tests=\"");
    put_u64(b, j->tests);
    report_buf_puts(b, "\" failures=\"");
    put_u64(b, j->failures);
    report_buf_puts(b, "\" errors=\"");
    put_u64(b, j->errors);
    report_buf_put(b, "\"", 1);
}

int report_junit_end(struct report_junit *j)
{
    if (j == NULL)
        return 0;
    struct report_buf *b = &j->out;
    b->len = 0;
    report_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"caprobe\"");
    put_counts(b, j);
    report_buf_puts(b, ">\n  <testsuite name=\"caprobe\"");
    put_counts(b, j);
    report_buf_puts(b, " skipped=\"0\">\n    <properties>\n");
    if (j->tool_version) {
        report_buf_puts(b, "      <property name=\"caprobe.version\" value=\"");
        report_buf_markup(b, j->tool_version, REPORT_MARKUP_ATTR);
        report_buf_puts(b, "\"/>\n");
    }
    report_buf_puts(b, "      <property name=\"caprobe.fail-on\" value=\"");
    report_buf_puts(b, report_severity_name(j->fail_on));
    report_buf_puts(b, "\"/>\n");
    if (j->interrupted) {
        report_buf_puts(b, "      <property name=\"caprobe.interrupted\" value=\"");
        report_buf_markup(b, *j->signal ? j->signal : "true", REPORT_MARKUP_ATTR);
        report_buf_puts(b, "\"/>\n");
    }
    report_buf_puts(b, "    </properties>\n");
    int rc = j->err;
    if (b->failed)
        rc = rc ? rc : TLS_E_NOMEM;
    else if (fwrite(b->p, 1, b->len, j->f) != b->len)
        rc = rc ? rc : TLS_E_IO;
    if (rc == 0) {
        char chunk[65536];
        size_t got;
        if (fflush(j->spool) != 0 || fseek(j->spool, 0, SEEK_SET) != 0)
            rc = TLS_E_IO;
        while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), j->spool)) > 0)
            if (fwrite(chunk, 1, got, j->f) != got)
                rc = TLS_E_IO;
        if (rc == 0 && ferror(j->spool))
            rc = TLS_E_IO;
    }
    b->len = 0;
    if (j->interrupted) { /* after the test cases, as the JUnit schema orders them */
        report_buf_puts(b, "    <system-err>The scan was interrupted");
        if (*j->signal) {
            report_buf_puts(b, " by ");
            report_buf_markup(b, j->signal, 0);
        }
        report_buf_puts(b, ": targets not yet probed are missing from this report.</system-err>\n");
    }
    report_buf_puts(b, "  </testsuite>\n</testsuites>\n");
    if ((b->failed || fwrite(b->p, 1, b->len, j->f) != b->len) && rc == 0)
        rc = b->failed ? TLS_E_NOMEM : TLS_E_IO;
    if (fflush(j->f) != 0 && rc == 0)
        rc = TLS_E_IO;
    fclose(j->spool);
    report_buf_free(&j->out);
    free(j->tool_version);
    free(j);
    return rc;
}
