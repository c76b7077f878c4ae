/* The OpenMetrics renderer (report/metrics.c, docs/metrics.md): a whole document for canned
 * targets written out in full, label values with every character the formats escape (a line
 * feed cannot come through a target line, so only here), a repeated target written once, and
 * families larger than the in-memory part still whole and together; the exposition writer the
 * exporter's own /metrics uses too (a counter's _total in each format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/jsonw.h"
#include "report/writer.h"
#include "tls/wire/digestset.h"
#include "tls/wire/error.h"

struct doc {
    char *text;
    size_t len;
    FILE *f;
    struct report_metrics *m;
};

static void doc_begin(struct doc *d)
{
    memset(d, 0, sizeof(*d));
    d->f = open_memstream(&d->text, &d->len);
    assert_non_null(d->f);
    assert_int_equal(report_metrics_begin(&d->m, d->f), 0);
}

static void doc_end(struct doc *d)
{
    assert_int_equal(report_metrics_end(d->m), 0);
    fclose(d->f);
}

/* An observation with a CertificateRequest of n names whose SHA-256 are all byte b + k. */
static void set_list(struct tls_observation *o, size_t n, uint8_t b, size_t der_len)
{
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    o->ca_count = n;
    o->ca_bytes = n * der_len;
    o->cas = tls_arena_alloc(&o->arena, (n ? n : 1) * sizeof(*o->cas));
    assert_non_null(o->cas);
    for (size_t k = 0; k < n; k++) {
        memset(o->cas[k].sha256, b + (uint8_t)(k % 2), 32); /* names 0 and 2 are the same */
        o->cas[k].dn = "CN=x";
        o->cas[k].der_len = der_len;
    }
}

static void test_document(void **state)
{
    (void)state;
    struct tls_observation o[2];
    struct tls_observation *obs[2] = {&o[0], &o[1]};
    tls_observation_init(&o[0]);
    tls_observation_init(&o[1]);
    o[0].address = "192.0.2.1";
    o[0].sni = "app.example.com";
    o[0].tls_max = 0x0303;
    o[0].elapsed_ms = 1234;
    set_list(&o[0], 3, 0x10, 20);
    o[0].server_cert.present = true;
    memset(o[0].server_cert.sha256, 0xab, 32);
    o[1].address = "192.0.2.1";
    o[1].tls_max = 0x0304;
    o[1].elapsed_ms = 5;
    tls_observation_set_error(&o[1], TLS_ERROR_TIMEOUT, 0, 0, "x");
    struct report_findings f;
    report_findings_init(&f);
    struct report_finding v[3] = {
        {.rule = report_rule_get(REPORT_RULE_DUPLICATE_CA), .severity = REPORT_SEV_LOW},
        {.rule = report_rule_get(REPORT_RULE_ROOT_STORE_DUMP), .severity = REPORT_SEV_HIGH},
        {.rule = report_rule_get(REPORT_RULE_DUPLICATE_CA), .severity = REPORT_SEV_LOW},
    };
    f.v = v;
    f.n = 3;
    struct report_target t = {
        .target = "app.example.com:443", .obs = obs, .n_obs = 2, .findings = &f};
    /* the list id of the distinct digests 0x10.. and 0x11.., ascending */
    uint8_t d[2][32];
    memset(d[0], 0x10, 32);
    memset(d[1], 0x11, 32);
    struct tls_digest_list l = {.base = &d[0][0], .n = 2, .stride = 32};
    char id[17];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)tls_digest_list_id(&l));
    struct doc doc;
    doc_begin(&doc);
    assert_int_equal(report_metrics_target(doc.m, &t), 0);
    doc_end(&doc);
    char want[8192];
    const char *P12 = "target=\"app.example.com:443\",starttls=\"\",address=\"192.0.2.1\","
                      "sni=\"app.example.com\",tls=\"1.2\",phase=\"handshake\"";
    const char *P13 = "target=\"app.example.com:443\",starttls=\"\",address=\"192.0.2.1\","
                      "sni=\"\",tls=\"1.3\",phase=\"handshake\"";
    snprintf(
        want, sizeof(want),
        "# HELP caprobe_target_probed 1 when at least one probe of the target got a "
        "CertificateRequest or none, 0 when none did (probe-failed) or the target line was not a "
        "target.\n"
        "# TYPE caprobe_target_probed gauge\n"
        "caprobe_target_probed{target=\"app.example.com:443\",starttls=\"\"} 1\n"
        "# HELP caprobe_target_max_severity Highest severity of the target's findings: 0 none, 1 "
        "info, 2 low, 3 medium, 4 high, 5 critical.\n"
        "# TYPE caprobe_target_max_severity gauge\n"
        "caprobe_target_max_severity{target=\"app.example.com:443\",starttls=\"\"} 4\n"
        "# HELP caprobe_target_findings Findings of the target by rule and severity (rules with "
        "none are left out).\n"
        "# TYPE caprobe_target_findings gauge\n"
        "caprobe_target_findings{target=\"app.example.com:443\",starttls=\"\",rule=\"root-store-"
        "dump\",severity=\"high\"} 1\n"
        "caprobe_target_findings{target=\"app.example.com:443\",starttls=\"\",rule=\"duplicate-"
        "ca\",severity=\"low\"} 2\n"
        "# HELP caprobe_probe_success 1 when the probe got an answer: a CertificateRequest, none, "
        "or the server declining the TLS version offered while it answered another probe of the "
        "target; 0 on an error, or when it declined them all.\n"
        "# TYPE caprobe_probe_success gauge\n"
        "caprobe_probe_success{%s} 1\n"
        "caprobe_probe_success{%s} 0\n"
        "# HELP caprobe_probe_outcome_info The probe's outcome and, for an error, its kind (value "
        "always 1).\n"
        "# TYPE caprobe_probe_outcome_info gauge\n"
        "caprobe_probe_outcome_info{%s,outcome=\"certificate_request\",error=\"\"} 1\n"
        "caprobe_probe_outcome_info{%s,outcome=\"error\",error=\"timeout\"} 1\n"
        "# HELP caprobe_probe_certificate_request 1 when the server asked for a client "
        "certificate, 0 when it did not (no series after an error).\n"
        "# TYPE caprobe_probe_certificate_request gauge\n"
        "caprobe_probe_certificate_request{%s} 1\n"
        "# HELP caprobe_probe_ca_names CA names in the CertificateRequest (with a request only).\n"
        "# TYPE caprobe_probe_ca_names gauge\n"
        "caprobe_probe_ca_names{%s} 3\n"
        "# HELP caprobe_probe_ca_list_bytes Length of the certificate_authorities list on the "
        "wire (with a request only).\n"
        "# TYPE caprobe_probe_ca_list_bytes gauge\n"
        "# UNIT caprobe_probe_ca_list_bytes bytes\n"
        "caprobe_probe_ca_list_bytes{%s} 66\n"
        "# HELP caprobe_probe_ca_list_info Identity of the advertised set of CA names, 16 hex "
        "digits of FNV-1a 64 over their sorted SHA-256 (value always 1).\n"
        "# TYPE caprobe_probe_ca_list_info gauge\n"
        "caprobe_probe_ca_list_info{%s,list_id=\"%s\"} 1\n"
        "# HELP caprobe_probe_server_certificate_info SHA-256 of the server certificate the "
        "probe saw (value always 1).\n"
        "# TYPE caprobe_probe_server_certificate_info gauge\n"
        "caprobe_probe_server_certificate_info{%s,sha256=\"abababababababababababababababababab"
        "abababababababababababababab\"} 1\n"
        "# HELP caprobe_probe_duration_seconds Time the probe took, connect to capture.\n"
        "# TYPE caprobe_probe_duration_seconds gauge\n"
        "# UNIT caprobe_probe_duration_seconds seconds\n"
        "caprobe_probe_duration_seconds{%s} 1.234\n"
        "caprobe_probe_duration_seconds{%s} 0.005\n"
        "# EOF\n",
        P12, P13, P12, P13, P12, P12, P12, P12, id, P12, P12, P13);
    assert_string_equal(doc.text, want);
    free(doc.text);
    tls_observation_free(&o[0]);
    tls_observation_free(&o[1]);
}

/* Every character the formats escape, in the values that come from the user. */
static void test_escaping(void **state)
{
    (void)state;
    struct report_buf b = {0};
    report_metrics_label_value(&b, "a\"b\\c\nd\x01"
                                   "e\xff"
                                   "f\xc3\xa9g\x7f\xc2\x9b");
    report_buf_put(&b, "", 1);
    /* quote, backslash, line feed escaped; controls (C0, DEL, C1) and a byte that is not
     * UTF-8 as \xNN with its backslash escaped; valid UTF-8 (é) kept */
    assert_string_equal(b.p, "a\\\"b\\\\c\\nd\\\\x01e\\\\xff"
                             "f\xc3\xa9g\\\\x7f\\\\xc2\\\\x9b");
    report_buf_free(&b);
    /* a bidi override (U+202E) as \u202e, its backslash escaped: "\u" alone is no escape of
     * the exposition format, and promtool refuses it */
    b = (struct report_buf){0};
    report_metrics_label_value(&b, "h\xe2\x80\xaei");
    report_buf_put(&b, "", 1);
    assert_string_equal(b.p, "h\\\\u202ei");
    report_buf_free(&b);
    /* in a document: the target's and the SNI's values */
    struct tls_observation o;
    struct tls_observation *obs[1] = {&o};
    tls_observation_init(&o);
    o.sni = "s\"n\ni";
    o.tls_max = 0x0303;
    o.outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    struct report_target t = {.target = "x\"y\\z\n", .obs = obs, .n_obs = 1};
    struct doc doc;
    doc_begin(&doc);
    assert_int_equal(report_metrics_target(doc.m, &t), 0);
    doc_end(&doc);
    assert_non_null(strstr(doc.text, "caprobe_probe_success{target=\"x\\\"y\\\\z\\n\","
                                     "starttls=\"\",address=\"\",sni=\"s\\\"n\\ni\",tls=\"1.2\","
                                     "phase=\"handshake\"} 1\n"));
    /* no raw line feed inside any sample: each line is a comment or starts with a name */
    for (char *line = doc.text; *line; line = strchr(line, '\n') + 1)
        assert_true(*line == '#' || strncmp(line, "caprobe_", 8) == 0);
    free(doc.text);
    tls_observation_free(&o);
}

/* A target twice (two equal bad lines): its series once. The same name spoken in another
 * protocol is another record. */
static void test_repeated(void **state)
{
    (void)state;
    struct tls_observation o;
    struct tls_observation *obs[1] = {&o};
    tls_observation_init(&o);
    o.starttls = "smtp";
    o.tls_max = 0x0303;
    o.address = "192.0.2.7";
    o.outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    struct report_target bad = {.target = "not a target", .input_error = "x"};
    struct report_target smtp = {.target = "not a target", .obs = obs, .n_obs = 1};
    struct doc doc;
    doc_begin(&doc);
    assert_int_equal(report_metrics_target(doc.m, &bad), 0);
    assert_int_equal(report_metrics_target(doc.m, &bad), 0);
    assert_int_equal(report_metrics_target(doc.m, &smtp), 0);
    doc_end(&doc);
    const char *a = "caprobe_target_probed{target=\"not a target\",starttls=\"\"} 0\n";
    const char *s = "caprobe_target_probed{target=\"not a target\",starttls=\"smtp\"} 1\n";
    char *first = strstr(doc.text, a);
    assert_non_null(first);
    assert_null(strstr(first + 1, a));
    assert_non_null(strstr(doc.text, s));
    free(doc.text);
    tls_observation_free(&o);
}

/* A declined TLS version is an answer when the server answered another probe of the target
 * (a TLS 1.2 server's TLS 1.3 probe), and no success when it declined every probe: nothing is
 * known of its list, as caprobe_target_probed 0 says. caprobe_target_probed is the largest
 * caprobe_probe_success of its probes either way. */
static void test_declined(void **state)
{
    (void)state;
    struct tls_observation o[4];
    for (size_t i = 0; i < 4; i++) {
        tls_observation_init(&o[i]);
        o[i].address = "192.0.2.9";
        o[i].tls_max = i % 2 ? 0x0304 : 0x0303;
    }
    o[0].outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    tls_observation_set_error(&o[1], TLS_ERROR_VERSION_NOT_OFFERED, 0, 0, "TLS 1.3 not offered");
    tls_observation_set_error(&o[2], TLS_ERROR_VERSION_NOT_OFFERED, 0, 0, "TLS 1.2 not offered");
    tls_observation_set_error(&o[3], TLS_ERROR_VERSION_NOT_OFFERED, 0, 0, "TLS 1.3 not offered");
    struct tls_observation *tls12[2] = {&o[0], &o[1]}, *none[2] = {&o[2], &o[3]};
    struct report_target a = {.target = "a:443", .obs = tls12, .n_obs = 2};
    struct report_target b = {.target = "b:443", .obs = none, .n_obs = 2};
    struct doc doc;
    doc_begin(&doc);
    assert_int_equal(report_metrics_target(doc.m, &a), 0);
    assert_int_equal(report_metrics_target(doc.m, &b), 0);
    doc_end(&doc);
    static const char *const want[] = {
        "caprobe_target_probed{target=\"a:443\",starttls=\"\"} 1\n",
        "caprobe_target_probed{target=\"b:443\",starttls=\"\"} 0\n",
        "caprobe_probe_success{target=\"a:443\",starttls=\"\",address=\"192.0.2.9\",sni=\"\","
        "tls=\"1.2\",phase=\"handshake\"} 1\n",
        "caprobe_probe_success{target=\"a:443\",starttls=\"\",address=\"192.0.2.9\",sni=\"\","
        "tls=\"1.3\",phase=\"handshake\"} 1\n",
        "caprobe_probe_success{target=\"b:443\",starttls=\"\",address=\"192.0.2.9\",sni=\"\","
        "tls=\"1.2\",phase=\"handshake\"} 0\n",
        "caprobe_probe_success{target=\"b:443\",starttls=\"\",address=\"192.0.2.9\",sni=\"\","
        "tls=\"1.3\",phase=\"handshake\"} 0\n",
        "caprobe_probe_outcome_info{target=\"b:443\",starttls=\"\",address=\"192.0.2.9\","
        "sni=\"\",tls=\"1.3\",phase=\"handshake\",outcome=\"error\",error=\"version_not_"
        "offered\"} 1\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
        if (strstr(doc.text, want[i]) == NULL)
            fail_msg("missing: %s in\n%s", want[i], doc.text);
    free(doc.text);
    for (size_t i = 0; i < 4; i++)
        tls_observation_free(&o[i]);
}

/* 3,000 targets: every family passes its 64 KiB in memory and is spooled; each still stands
 * together, in order, every sample there. */
static void test_spooled(void **state)
{
    (void)state;
    struct tls_observation o;
    struct tls_observation *obs[1] = {&o};
    tls_observation_init(&o);
    o.tls_max = 0x0303;
    o.address = "198.51.100.1";
    set_list(&o, 1, 0x22, 40);
    struct doc doc;
    doc_begin(&doc);
    char name[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "host-%04d.example.com:443", i);
        struct report_target t = {.target = name, .obs = obs, .n_obs = 1};
        assert_int_equal(report_metrics_target(doc.m, &t), 0);
    }
    doc_end(&doc);
    assert_true(doc.len > 11 * 64 * 1024);
    /* the families in the order of docs/metrics.md, each once, each sample under its own */
    static const char *const fams[] = {
        "caprobe_target_probed",          "caprobe_target_max_severity",
        "caprobe_target_findings",        "caprobe_probe_success",
        "caprobe_probe_outcome_info",     "caprobe_probe_certificate_request",
        "caprobe_probe_ca_names",         "caprobe_probe_ca_list_bytes",
        "caprobe_probe_ca_list_info",     "caprobe_probe_server_certificate_info",
        "caprobe_probe_duration_seconds",
    };
    size_t fam = 0, samples[11] = {0};
    char type[128];
    for (char *line = doc.text; *line; line = strchr(line, '\n') + 1) {
        snprintf(type, sizeof(type), "# TYPE %s gauge\n", fams[fam + 1 < 11 ? fam + 1 : fam]);
        if (fam + 1 < 11 && strncmp(line, type, strlen(type)) == 0)
            fam++;
        if (*line == '#')
            continue;
        size_t n = strlen(fams[fam]);
        assert_true(strncmp(line, fams[fam], n) == 0 && line[n] == '{');
        samples[fam]++;
    }
    assert_int_equal(fam, 10);
    size_t want[11] = {3000, 3000, 0, 3000, 3000, 3000, 3000, 3000, 3000, 0, 3000};
    for (int i = 0; i < 11; i++)
        assert_int_equal(samples[i], want[i]);
    assert_string_equal(doc.text + doc.len - 6, "# EOF\n");
    free(doc.text);
    tls_observation_free(&o);
}

/* report_metrics_family and _sample: a counter's family is NAME_total in Prometheus text and
 * NAME in OpenMetrics (OpenMetrics 1.0, "Counter"; Prometheus text 0.0.4 has no such rule, its
 * TYPE line names the samples), its samples NAME_total in both; braces only with labels. */
static void test_writer(void **state)
{
    (void)state;
    struct report_buf b = {0};
    report_metrics_family(&b, false, "x_requests", REPORT_METRIC_COUNTER, NULL, "Requests.");
    report_metrics_sample_u64(&b, "x_requests", REPORT_METRIC_COUNTER, "code=\"200\"", NULL, 7);
    report_metrics_family(&b, true, "x_requests", REPORT_METRIC_COUNTER, NULL, "Requests.");
    report_metrics_sample(&b, "x_requests", REPORT_METRIC_COUNTER, NULL, "", "0");
    report_metrics_family(&b, true, "x_size", REPORT_METRIC_GAUGE, "bytes", "Size.");
    report_metrics_sample(&b, "x_size", REPORT_METRIC_GAUGE, "a=\"1\"", "b=\"2\"", "1.5");
    report_buf_put(&b, "", 1);
    assert_false(b.failed);
    assert_string_equal(b.p, "# HELP x_requests_total Requests.\n"
                             "# TYPE x_requests_total counter\n"
                             "x_requests_total{code=\"200\"} 7\n"
                             "# HELP x_requests Requests.\n"
                             "# TYPE x_requests counter\n"
                             "x_requests_total 0\n"
                             "# HELP x_size Size.\n"
                             "# TYPE x_size gauge\n"
                             "# UNIT x_size bytes\n"
                             "x_size{a=\"1\",b=\"2\"} 1.5\n");
    report_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document), cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_repeated), cmocka_unit_test(test_declined),
        cmocka_unit_test(test_spooled),  cmocka_unit_test(test_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
