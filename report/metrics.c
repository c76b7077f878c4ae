/* OpenMetrics renderer (writer.h, docs/metrics.md): the series of each target, gathered per
 * family and written at the end. The one document is valid OpenMetrics 1.0 and Prometheus text
 * 0.0.4 alike, so node_exporter's textfile collector, promtool and a Prometheus scrape read it.
 * Nothing a server sent becomes a label: labels hold the target as the user wrote it, our own
 * names, addresses and hex digests; every value goes through report_metrics_label_value. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"
#include "tls/wire/names.h"
#include "writer.h"

/* A family's samples are kept in memory up to this, then moved to its spool file. */
#define SPOOL_AT (64 * 1024)

enum family {
    F_TARGET_PROBED,
    F_TARGET_MAX_SEVERITY,
    F_TARGET_FINDINGS,
    F_PROBE_SUCCESS,
    F_PROBE_OUTCOME,
    F_PROBE_CERTIFICATE_REQUEST,
    F_PROBE_CA_NAMES,
    F_PROBE_CA_LIST_BYTES,
    F_PROBE_CA_LIST,
    F_PROBE_SERVER_CERTIFICATE,
    F_PROBE_DURATION,
    F_COUNT,
};

/* HELP texts hold no backslash, double quote or line feed: the two formats escape HELP apart. */
static const struct {
    const char *name, *unit, *help;
} families[F_COUNT] = {
    [F_TARGET_PROBED] = {"caprobe_target_probed", NULL,
                         "1 when at least one probe of the target got a CertificateRequest or "
                         "none, 0 when none did (probe-failed) or the target line was not a "
                         "target."},
    [F_TARGET_MAX_SEVERITY] = {"caprobe_target_max_severity", NULL,
                               "Highest severity of the target's findings: 0 none, 1 info, 2 "
                               "low, 3 medium, 4 high, 5 critical."},
    [F_TARGET_FINDINGS] = {"caprobe_target_findings", NULL,
                           "Findings of the target by rule and severity (rules with none are "
                           "left out)."},
    [F_PROBE_SUCCESS] = {"caprobe_probe_success", NULL,
                         "1 when the probe got an answer: a CertificateRequest, none, or the "
                         "server declining the TLS version offered while it answered another "
                         "probe of the target; 0 on an error, or when it declined them all."},
    [F_PROBE_OUTCOME] = {"caprobe_probe_outcome_info", NULL,
                         "The probe's outcome and, for an error, its kind (value always 1)."},
    [F_PROBE_CERTIFICATE_REQUEST] = {"caprobe_probe_certificate_request", NULL,
                                     "1 when the server asked for a client certificate, 0 when "
                                     "it did not (no series after an error)."},
    [F_PROBE_CA_NAMES] = {"caprobe_probe_ca_names", NULL,
                          "CA names in the CertificateRequest (with a request only)."},
    [F_PROBE_CA_LIST_BYTES] = {"caprobe_probe_ca_list_bytes", "bytes",
                               "Length of the certificate_authorities list on the wire (with a "
                               "request only)."},
    [F_PROBE_CA_LIST] = {"caprobe_probe_ca_list_info", NULL,
                         "Identity of the advertised set of CA names, 16 hex digits of FNV-1a "
                         "64 over their sorted SHA-256 (value always 1)."},
    [F_PROBE_SERVER_CERTIFICATE] = {"caprobe_probe_server_certificate_info", NULL,
                                    "SHA-256 of the server certificate the probe saw (value "
                                    "always 1)."},
    [F_PROBE_DURATION] = {"caprobe_probe_duration_seconds", "seconds",
                          "Time the probe took, connect to capture."},
};

struct family_out {
    struct report_buf buf; /* samples not yet spooled */
    FILE *spool;           /* samples beyond SPOOL_AT, NULL until needed */
};

struct report_metrics {
    FILE *f;
    struct family_out fam[F_COUNT];
    struct report_buf labels; /* the labels of the series being written, without braces */
    struct tls_hashset seen;  /* targets written, by hash of target and STARTTLS protocol */
    int err;
};

void report_metrics_label_value(struct report_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)(s ? s : "");
    size_t n = strlen((const char *)p);
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used;
        if (*p == '\\' || *p == '"' || *p == '\n') {
            report_buf_puts(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n");
            used = 1;
        } else {
            used = tls_escape_step(p, n, 0, unit, &len);
            if (unit[0] == '\\' && len > 1) /* \xNN, \uXXXX: the backslash escaped in turn */
                report_buf_puts(b, "\\");
            report_buf_put(b, unit, len);
        }
        p += used;
        n -= used;
    }
}

static const char *type_name(enum report_metric_type t)
{
    switch (t) {
    case REPORT_METRIC_GAUGE:
        return "gauge";
    case REPORT_METRIC_COUNTER:
        return "counter";
    }
    return "unknown";
}

void report_metrics_family(struct report_buf *b, bool om, const char *name,
                           enum report_metric_type type, const char *unit, const char *help)
{
    /* OpenMetrics names a counter's family without _total, Prometheus text with it */
    const char *total = type == REPORT_METRIC_COUNTER && !om ? "_total" : "";
    report_buf_printf(b, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, total, help, name, total,
                      type_name(type));
    if (unit)
        report_buf_printf(b, "# UNIT %s%s %s\n", name, total, unit);
}

void report_metrics_sample(struct report_buf *b, const char *name, enum report_metric_type type,
                           const char *labels, const char *more, const char *value)
{
    bool has_labels = labels && *labels, has_more = more && *more;
    report_buf_puts(b, name);
    if (type == REPORT_METRIC_COUNTER)
        report_buf_puts(b, "_total");
    if (has_labels || has_more) {
        report_buf_puts(b, "{");
        report_buf_puts(b, has_labels ? labels : "");
        report_buf_puts(b, has_labels && has_more ? "," : "");
        report_buf_puts(b, has_more ? more : "");
        report_buf_puts(b, "}");
    }
    report_buf_puts(b, " ");
    report_buf_puts(b, value);
    report_buf_puts(b, "\n");
}

void report_metrics_sample_u64(struct report_buf *b, const char *name, enum report_metric_type type,
                               const char *labels, const char *more, uint64_t value)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, value);
    report_metrics_sample(b, name, type, labels, more, num);
}

static void label(struct report_buf *b, const char *name, const char *value)
{
    if (b->len)
        report_buf_puts(b, ",");
    report_buf_puts(b, name);
    report_buf_puts(b, "=\"");
    report_metrics_label_value(b, value);
    report_buf_puts(b, "\"");
}

/* Move a family's samples to its spool once they pass SPOOL_AT (or at the end: force). */
static void spool(struct report_metrics *m, struct family_out *fo, bool force)
{
    if (fo->buf.len < SPOOL_AT && !force)
        return;
    if (fo->buf.failed) {
        m->err = m->err ? m->err : TLS_E_NOMEM;
        return;
    }
    if (fo->spool == NULL && (fo->spool = tmpfile()) == NULL) {
        m->err = m->err ? m->err : TLS_E_IO;
        return;
    }
    if (fwrite(fo->buf.p, 1, fo->buf.len, fo->spool) != fo->buf.len)
        m->err = m->err ? m->err : TLS_E_IO;
    fo->buf.len = 0;
}

/* b's content as a C string (NULL when an allocation failed). */
static const char *buf_text(struct report_buf *b)
{
    report_buf_put(b, "", 1); /* the terminating NUL, not counted below */
    if (b->failed)
        return NULL;
    b->len--;
    return b->p;
}

/* One sample of family f: the current labels and extra (NAME="VALUE" pairs already escaped, or
 * NULL), the value. */
static void sample(struct report_metrics *m, enum family f, const char *extra, const char *value)
{
    struct family_out *fo = &m->fam[f];
    report_metrics_sample(&fo->buf, families[f].name, REPORT_METRIC_GAUGE, buf_text(&m->labels),
                          extra, value);
    spool(m, fo, false);
}

static void sample_u64(struct report_metrics *m, enum family f, const char *extra, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    sample(m, f, extra, num);
}

/* Extra labels written into one buffer: name="value",... */
struct extra {
    struct report_buf b;
};

static const char *extra_text(struct extra *x)
{
    return buf_text(&x->b);
}

/* One probe's series. probed: some probe of the target got a CertificateRequest or none
 * (caprobe_target_probed): a declined version is then a fact about a server that answers, and
 * without it a probe that learned nothing of the list, as the target's probe-failed says. */
static void probe_series(struct report_metrics *m, const struct report_target *t,
                         const struct tls_observation *o, bool probed)
{
    struct report_buf *l = &m->labels;
    l->len = 0;
    label(l, "target", t->target);
    label(l, "starttls", report_target_starttls(t));
    label(l, "address", o->address);
    label(l, "sni", o->sni);
    const char *tls = tls_name_version(o->tls_max);
    label(l, "tls", tls ? tls : "");
    label(l, "phase", o->phase);
    bool answered = o->outcome != TLS_OUTCOME_ERROR ||
                    (probed && o->error_kind == TLS_ERROR_VERSION_NOT_OFFERED);
    sample_u64(m, F_PROBE_SUCCESS, NULL, answered ? 1 : 0);
    struct extra x = {{0}};
    label(&x.b, "outcome", tls_outcome_name(o->outcome));
    label(&x.b, "error", o->outcome == TLS_OUTCOME_ERROR ? tls_error_kind_name(o->error_kind) : "");
    sample(m, F_PROBE_OUTCOME, extra_text(&x), "1");
    if (o->outcome != TLS_OUTCOME_ERROR)
        sample_u64(m, F_PROBE_CERTIFICATE_REQUEST, NULL,
                   o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST);
    if (o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST) {
        sample_u64(m, F_PROBE_CA_NAMES, NULL, o->ca_count);
        sample_u64(m, F_PROBE_CA_LIST_BYTES, NULL, tls_observation_list_bytes(o));
        uint64_t id;
        if (tls_observation_list_id(o, &id) != 0) {
            m->err = m->err ? m->err : TLS_E_NOMEM;
        } else {
            char hex[17];
            snprintf(hex, sizeof(hex), "%016" PRIx64, id);
            x.b.len = 0;
            label(&x.b, "list_id", hex);
            sample(m, F_PROBE_CA_LIST, extra_text(&x), "1");
        }
    }
    if (o->server_cert.present) {
        char hex[65];
        tls_hex_encode(o->server_cert.sha256, 32, hex);
        x.b.len = 0;
        label(&x.b, "sha256", hex);
        sample(m, F_PROBE_SERVER_CERTIFICATE, extra_text(&x), "1");
    }
    char secs[32];
    snprintf(secs, sizeof(secs), "%" PRIu64 ".%03" PRIu64, o->elapsed_ms / 1000,
             o->elapsed_ms % 1000);
    sample(m, F_PROBE_DURATION, NULL, secs);
    report_buf_free(&x.b);
}

/* Whether observation i has the labels of an earlier one (cannot be for a record caprobe
 * makes; a series may appear once whatever the input). */
static bool probe_repeated(const struct report_target *t, size_t i)
{
    const struct tls_observation *o = t->obs[i];
    for (size_t j = 0; j < i; j++) {
        const struct tls_observation *p = t->obs[j];
        if (p->tls_max == o->tls_max && strcmp(p->phase, o->phase) == 0 &&
            strcmp(p->address ? p->address : "", o->address ? o->address : "") == 0 &&
            strcmp(p->sni ? p->sni : "", o->sni ? o->sni : "") == 0)
            return true;
    }
    return false;
}

int report_metrics_target(struct report_metrics *m, const struct report_target *t)
{
    if (m->err)
        return m->err;
    const char *starttls = report_target_starttls(t);
    uint64_t h = tls_fnv1a_str(t->target ? t->target : "", TLS_FNV1A_OFFSET);
    h = tls_fnv1a("", 1, h); /* a separator: "a" + "bc" is not "ab" + "c" */
    h = tls_fnv1a_str(starttls ? starttls : "", h);
    int added = tls_hashset_add(&m->seen, h);
    if (added <= 0)
        return added < 0 ? (m->err = TLS_E_NOMEM) : 0;
    struct report_buf *l = &m->labels;
    l->len = 0;
    label(l, "target", t->target);
    label(l, "starttls", starttls);
    bool probed = !report_target_unprobed(t);
    sample_u64(m, F_TARGET_PROBED, NULL, probed);
    const struct report_findings *f = t->findings;
    int max = f ? report_findings_max(f) : -1;
    sample_u64(m, F_TARGET_MAX_SEVERITY, NULL, (uint64_t)(max + 1));
    /* counts per rule and severity, in the table's order */
    uint64_t count[REPORT_RULE_COUNT][REPORT_SEV_CRITICAL + 1];
    memset(count, 0, sizeof(count));
    for (size_t i = 0; f && i < f->n; i++)
        if ((unsigned)f->v[i].severity <= REPORT_SEV_CRITICAL)
            count[f->v[i].rule->id][f->v[i].severity]++;
    struct extra x = {{0}};
    for (size_t r = 0; r < REPORT_RULE_COUNT; r++)
        for (int s = REPORT_SEV_INFO; s <= REPORT_SEV_CRITICAL; s++) {
            if (count[r][s] == 0)
                continue;
            x.b.len = 0;
            label(&x.b, "rule", report_rule_get((enum report_rule_id)r)->name);
            label(&x.b, "severity", report_severity_name((enum report_severity)s));
            sample_u64(m, F_TARGET_FINDINGS, extra_text(&x), count[r][s]);
        }
    report_buf_free(&x.b);
    for (size_t i = 0; i < t->n_obs; i++)
        if (!probe_repeated(t, i))
            probe_series(m, t, t->obs[i], probed);
    if (l->failed && !m->err)
        m->err = TLS_E_NOMEM;
    return m->err;
}

int report_metrics_begin(struct report_metrics **out, FILE *f)
{
    struct report_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return TLS_E_NOMEM;
    m->f = f;
    tls_hashset_init(&m->seen);
    *out = m;
    return 0;
}

/* A family's head and its samples, to f. */
static int write_family(struct report_metrics *m, enum family i)
{
    struct family_out *fo = &m->fam[i];
    FILE *f = m->f;
    struct report_buf head = {0};
    report_metrics_family(&head, true, families[i].name, REPORT_METRIC_GAUGE, families[i].unit,
                          families[i].help);
    int rc = report_buf_flush(&head, f);
    report_buf_free(&head);
    if (rc)
        return rc;
    if (fo->spool) {
        spool(m, fo, true);
        char chunk[65536];
        size_t got;
        if (m->err || fflush(fo->spool) != 0 || fseek(fo->spool, 0, SEEK_SET) != 0)
            return m->err ? m->err : TLS_E_IO;
        while ((got = fread(chunk, 1, sizeof(chunk), fo->spool)) > 0)
            if (fwrite(chunk, 1, got, f) != got)
                return TLS_E_IO;
        return ferror(fo->spool) ? TLS_E_IO : 0;
    }
    if (fo->buf.failed)
        return TLS_E_NOMEM;
    return fo->buf.len && fwrite(fo->buf.p, 1, fo->buf.len, f) != fo->buf.len ? TLS_E_IO : 0;
}

int report_metrics_end(struct report_metrics *m)
{
    if (m == NULL)
        return 0;
    int rc = m->err;
    for (int i = 0; i < F_COUNT && rc == 0; i++)
        rc = write_family(m, (enum family)i);
    if (rc == 0 && fputs("# EOF\n", m->f) == EOF)
        rc = TLS_E_IO;
    if (fflush(m->f) != 0 && rc == 0)
        rc = TLS_E_IO;
    for (int i = 0; i < F_COUNT; i++) {
        report_buf_free(&m->fam[i].buf);
        if (m->fam[i].spool)
            fclose(m->fam[i].spool);
    }
    report_buf_free(&m->labels);
    tls_hashset_free(&m->seen);
    free(m);
    return rc;
}
