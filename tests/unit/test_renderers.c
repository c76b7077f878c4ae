/* Unit tests of the renderers (report/writer.h, report/report.h): SARIF 2.1.0, JUnit XML, JSON
 * Lines, the text report and its one-line form of a small scan with hostile text (DNs with
 * quotes, commas, control characters and invalid UTF-8; raw target text with invalid UTF-8), a
 * target without findings, an input error and failed probes, compared byte for byte with
 * fixtures/golden/renderers.{sarif,xml,jsonl,txt,oneline.txt}, renderers-compact.jsonl,
 * empty.{sarif,xml} and interrupted.{sarif,xml}; the text
 * forms cut to a terminal's width are measured with the C library's wcwidth.
 *
 * Golden files: after an intended change of the output, regenerate them with
 *   CAPROBE_UPDATE_GOLDEN=1 CAPROBE_FIXTURES=$PWD/fixtures build/tests/test_renderers
 * (the test then writes instead of comparing), check the diff, and run
 * tests/integration/check_sarif.py fixtures/golden/renderers.sarif on the new SARIF. */
#define _XOPEN_SOURCE 700 /* wcswidth */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <locale.h>
#include <wchar.h>

#include "report/report.h"
#include "report/rules.h"
#include "report/writer.h"
#include "testutil.h"
#include "tls/wire/error.h"
#include "tls/namecache.h"

/* ---- canned names ---------------------------------------------------------------------------- */

/* One RDN SET { SEQUENCE { 2.5.4.oid, tag value } } at p; values under 100 bytes. */
static size_t put_rdn(uint8_t *p, uint8_t oid, uint8_t tag, const char *v, size_t n)
{
    assert_true(n < 100);
    uint8_t head[] = {0x31, (uint8_t)(n + 9), 0x30, (uint8_t)(n + 7), 0x06, 0x03, 0x55, 0x04, oid,
                      tag,  (uint8_t)n};
    memcpy(p, head, sizeof(head));
    memcpy(p + sizeof(head), v, n);
    return sizeof(head) + n;
}

#define UTF8 0x0c
#define PRINTABLE 0x13
#define OID_CN 3
#define OID_C 6
#define OID_O 10

struct name {
    uint8_t der[256];
    size_t len;
};

/* Name ::= SEQUENCE OF RDN: C, O, CN (most significant first), each optional. */
static struct name make_name(const char *c, const char *o, const char *cn, size_t cn_len)
{
    struct name nm;
    uint8_t body[240];
    size_t n = 0;
    if (c)
        n += put_rdn(body + n, OID_C, PRINTABLE, c, strlen(c));
    if (o)
        n += put_rdn(body + n, OID_O, UTF8, o, strlen(o));
    if (cn)
        n += put_rdn(body + n, OID_CN, UTF8, cn, cn_len);
    assert_true(n < 128);
    nm.der[0] = 0x30;
    nm.der[1] = (uint8_t)n;
    memcpy(nm.der + 2, body, n);
    nm.len = n + 2;
    return nm;
}

/* ---- canned observations --------------------------------------------------------------------- */

#define MAX_OBS 8

struct canned_target {
    struct tls_observation o[MAX_OBS];
    struct tls_observation *obs[MAX_OBS];
    struct report_findings findings;
    struct report_target t;
};

/* Observation i of ct: a variant with a CertificateRequest holding names (n may be 0). */
static struct tls_observation *add_obs(struct canned_target *ct, const char *address,
                                       const char *sni, uint16_t tls_max)
{
    size_t i = ct->t.n_obs++;
    assert_true(i < MAX_OBS);
    struct tls_observation *o = &ct->o[i];
    tls_observation_init(o);
    o->address = address;
    o->sni = sni;
    o->tls_max = tls_max;
    o->elapsed_ms = 7;
    ct->obs[i] = o;
    ct->t.obs = ct->obs;
    return o;
}

static void set_names(struct tls_observation *o, const struct name *names, size_t n)
{
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    o->version = o->tls_max;
    o->has_cas = n > 0;
    o->ca_count = n;
    o->cas = n ? tls_arena_alloc(&o->arena, n * sizeof(*o->cas)) : NULL;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(tls_ca_name_decode(&o->arena, &o->cas[k], names[k].der, names[k].len), 0);
        o->ca_bytes += names[k].len;
    }
}

static void run_rules(struct canned_target *ct)
{
    struct report_context ctx;
    report_context_init(&ctx);
    assert_int_equal(report_rules_run(&ct->t, &ctx, &ct->findings), 0);
    ct->t.findings = &ct->findings;
}

/* A finding made by hand: any severity, any text, citing n observations. */
static void add_finding_n(struct canned_target *ct, enum report_rule_id id,
                          enum report_severity sev, const char *message, const char *remedy,
                          const size_t *cited, size_t n)
{
    struct report_findings *f = &ct->findings;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 4;
        f->v = realloc(f->v, f->cap * sizeof(*f->v));
        assert_non_null(f->v);
    }
    struct report_finding *x = &f->v[f->n++];
    memset(x, 0, sizeof(*x));
    x->rule = report_rule_get(id);
    x->severity = sev;
    x->message = message;
    x->remedy = remedy;
    size_t *obs = tls_arena_alloc(&f->arena, n * sizeof(*obs));
    assert_non_null(obs);
    memcpy(obs, cited, n * sizeof(*obs));
    x->obs = obs;
    x->n_obs = n;
    ct->t.findings = f;
}

static void add_finding(struct canned_target *ct, enum report_rule_id id, enum report_severity sev,
                        const char *message, const char *remedy, size_t obs0, size_t obs1)
{
    size_t cited[2] = {obs0, obs1};
    add_finding_n(ct, id, sev, message, remedy, cited, 2);
}

#define N_TARGETS 6

struct scan {
    struct canned_target ct[N_TARGETS];
};

static void scan_free(struct scan *s)
{
    for (size_t i = 0; i < N_TARGETS; i++) {
        for (size_t k = 0; k < s->ct[i].t.n_obs; k++)
            tls_observation_free(&s->ct[i].o[k]);
        report_findings_free(&s->ct[i].findings);
    }
    free(s);
}

static struct scan *scan_new(void)
{
    struct scan *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    for (size_t i = 0; i < N_TARGETS; i++)
        report_findings_init(&s->ct[i].findings);

    /* 0: the SNI binding and the address binding advertise different lists; the names hold a
     * quote and a comma, a control character, invalid UTF-8; one is malformed, one repeated. */
    struct canned_target *ct = &s->ct[0];
    ct->t.target = "app.example.com:443";
    ct->t.host = "app.example.com";
    ct->t.port = 443;
    struct name sni_names[3] = {
        make_name("DE", "Corp, Inc.", "Corp \"Issuing\" CA", 17),
        make_name(NULL, "Corp",
                  "Bell\x07"
                  "CA",
                  7),
        make_name(NULL, NULL, "Bad\xff\xfeUTF-8 \xc3\xa9", 13),
    };
    set_names(add_obs(ct, "192.0.2.10", "app.example.com", 0x0303), sni_names, 3);
    struct name plain_names[3] = {
        make_name("DE", "Corp", "Corp Issuing CA 1", 17),
        {.der = {0x30, 0x05, 0x31, 0x03, 0x30, 0x01, 0x02}, .len = 7}, /* malformed */
        make_name("DE", "Corp", "Corp Issuing CA 1", 17),
    };
    set_names(add_obs(ct, "192.0.2.10", NULL, 0x0303), plain_names, 3);
    tls_observation_set_error(add_obs(ct, "192.0.2.10", "app.example.com", 0x0304),
                              TLS_ERROR_TIMEOUT, 0, 0,
                              "handshake incomplete after %d ms: 0 bytes received, the server "
                              "never answered",
                              3000);
    run_rules(ct);

    /* 1: all is well */
    ct = &s->ct[1];
    ct->t.target = "ok.example.com:8443";
    ct->t.host = "ok.example.com";
    ct->t.port = 8443;
    struct name ok = make_name("DE", "caprobe", "caprobe Issuing CA 1", 20);
    set_names(add_obs(ct, "198.51.100.7", "ok.example.com", 0x0304), &ok, 1);
    run_rules(ct);

    /* 2: a line of the input that is no target: raw bytes, markup, control characters */
    ct = &s->ct[2];
    ct->t.target = "bad\xff\x01host<&>'\":99999";
    ct->t.input_error = "hosts.txt:3: port 99999 out of range (1-65535) in \"bad\xff\x01host\"";

    /* 3: every probe failed */
    ct = &s->ct[3];
    ct->t.target = "down.example.com:443";
    ct->t.host = "down.example.com";
    ct->t.port = 443;
    tls_observation_set_error(add_obs(ct, NULL, "down.example.com", 0x0303), TLS_ERROR_DNS, 0, -2,
                              "cannot resolve down.example.com: %s", "Name or service not known");
    tls_observation_set_error(add_obs(ct, "203.0.113.5", NULL, 0x0304), TLS_ERROR_REFUSED, 0, -111,
                              "connect failed: connection refused");
    run_rules(ct);

    /* 4: raw target text with a valid and an invalid byte; empty lists: medium, below high */
    ct = &s->ct[4];
    ct->t.target = "caf\xc3\xa9\xff.example.com:443";
    ct->t.host = "caf\xc3\xa9\xff.example.com";
    ct->t.port = 443;
    set_names(add_obs(ct, "192.0.2.20", NULL, 0x0303), NULL, 0);
    set_names(add_obs(ct, "192.0.2.20", NULL, 0x0304), NULL, 0);
    run_rules(ct);

    /* 5: findings made by hand: every severity the rules do not make here, hostile text, an
     * observation index past the end, a message that ends with a period, no remedy */
    ct = &s->ct[5];
    ct->t.target = "hand.example.com:443";
    ct->t.host = "hand.example.com";
    ct->t.port = 443;
    add_obs(ct, "192.0.2.30", "hand.example.com", 0x0303)->outcome =
        TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    add_finding(ct, REPORT_RULE_OVERSIZED_CA_LIST, REPORT_SEV_CRITICAL,
                "<b>&amp; \"quoted\" 'single' \x07 bell \x1b[31m \xff\xfe end\r\nsecond line",
                report_rule_get(REPORT_RULE_OVERSIZED_CA_LIST)->remedy, 0, 99);
    add_finding(ct, REPORT_RULE_BASELINE_DRIFT, REPORT_SEV_INFO, "a note that ends here.", NULL, 0,
                0);
    return s;
}

/* ---- rendering and golden files -------------------------------------------------------------- */

struct doc {
    char *p;
    size_t len;
};

/* The first n targets of s; signal_name not NULL: as a scan that signal stopped. */
static struct doc render_sarif_stopped(const struct scan *s, size_t n, const char *signal_name)
{
    struct doc d;
    FILE *f = open_memstream(&d.p, &d.len);
    assert_non_null(f);
    struct report_sarif *w;
    assert_int_equal(report_sarif_begin(&w, f, "0.1.0"), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(report_sarif_target(w, &s->ct[i].t), 0);
    if (signal_name)
        report_sarif_interrupted(w, signal_name);
    assert_int_equal(report_sarif_end(w), 0);
    assert_int_equal(fclose(f), 0);
    return d;
}

static struct doc render_sarif(const struct scan *s, size_t n)
{
    return render_sarif_stopped(s, n, NULL);
}

static struct doc render_junit_stopped(const struct scan *s, size_t n, enum report_severity fail_on,
                                       const char *signal_name)
{
    struct doc d;
    FILE *f = open_memstream(&d.p, &d.len);
    assert_non_null(f);
    struct report_junit *w;
    assert_int_equal(report_junit_begin(&w, f, "0.1.0", fail_on), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(report_junit_target(w, &s->ct[i].t), 0);
    if (signal_name)
        report_junit_interrupted(w, signal_name);
    assert_int_equal(report_junit_end(w), 0);
    assert_int_equal(fclose(f), 0);
    return d;
}

static struct doc render_junit(const struct scan *s, size_t n, enum report_severity fail_on)
{
    return render_junit_stopped(s, n, fail_on, NULL);
}

/* Text, one line or JSON Lines: one record per target, as the scan writes them. */
static struct doc render_targets(const struct canned_target *ct, size_t n,
                                 const struct report_opts *opts)
{
    struct doc d;
    FILE *f = open_memstream(&d.p, &d.len);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(report_target_write(f, opts, &ct[i].t), 0);
    assert_int_equal(fclose(f), 0);
    return d;
}

static struct doc render_records(const struct scan *s, size_t n, const struct report_opts *opts)
{
    return render_targets(s->ct, n, opts);
}

/* Compare with fixtures/golden/<name>, or write it when CAPROBE_UPDATE_GOLDEN=1. */
static void check_golden(const char *name, const struct doc *d)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "golden/%s", name);
    const char *update = getenv("CAPROBE_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        const char *dir = getenv("CAPROBE_FIXTURES");
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "fixtures", rel);
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            fail_msg("cannot write %s", path);
        assert_int_equal(fwrite(d->p, 1, d->len, f), d->len);
        assert_int_equal(fclose(f), 0);
        print_message("# wrote %s\n", path);
        return;
    }
    size_t len;
    uint8_t *want = testutil_fixture(rel, &len);
    if (len != d->len || memcmp(want, d->p, len) != 0) {
        size_t i = 0, line = 1, start = 0;
        while (i < len && i < d->len && want[i] == (uint8_t)d->p[i]) {
            if (want[i] == '\n') {
                line++;
                start = i + 1;
            }
            i++;
        }
        print_error("%s differs at line %zu, byte %zu:\n  want: %.200s\n  got:  %.200s\n", rel,
                    line, i, (const char *)want + start, d->p + start);
        free(want);
        fail_msg("%s: output differs from the golden file (CAPROBE_UPDATE_GOLDEN=1 rewrites it)",
                 rel);
    }
    free(want);
}

/* The whole text is UTF-8 and has no C0 control character but tab and newline. */
static void assert_clean_utf8(const struct doc *d)
{
    const unsigned char *p = (const unsigned char *)d->p;
    for (size_t i = 0; i < d->len;) {
        unsigned char c = p[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : 4;
        if (c < 0x80)
            assert_true(c >= 0x20 || c == '\t' || c == '\n');
        else
            assert_true(c >= 0xc2 && c <= 0xf4 && i + k <= d->len);
        for (size_t j = 1; j < k; j++)
            assert_int_equal(p[i + j] & 0xc0, 0x80);
        i += k;
    }
}

/* ---- SARIF ---------------------------------------------------------------------------------- */

static void test_sarif_golden(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct doc d = render_sarif(s, N_TARGETS);
    assert_clean_utf8(&d);
    check_golden("renderers.sarif", &d);

    /* deterministic: the same scan renders the same bytes */
    struct doc again = render_sarif(s, N_TARGETS);
    assert_int_equal(again.len, d.len);
    assert_memory_equal(again.p, d.p, d.len);
    free(again.p);

    json_error_t jerr;
    json_t *root = json_loadb(d.p, d.len, 0, &jerr);
    if (root == NULL)
        fail_msg("SARIF is not JSON: line %d: %s", jerr.line, jerr.text);
    assert_string_equal(json_string_value(json_object_get(root, "version")), "2.1.0");
    json_t *run = json_array_get(json_object_get(root, "runs"), 0);
    json_t *rules =
        json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
    assert_int_equal(json_array_size(rules), REPORT_RULE_COUNT);
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(rules, i), "id")),
                            report_rule_get((enum report_rule_id)i)->name);

    /* one result per finding, in order, with the rule's index and the level of its severity */
    json_t *results = json_object_get(run, "results");
    size_t r = 0;
    for (size_t i = 0; i < N_TARGETS; i++)
        for (size_t k = 0; k < s->ct[i].findings.n; k++, r++) {
            const struct report_finding *f = &s->ct[i].findings.v[k];
            json_t *res = json_array_get(results, r);
            assert_non_null(res);
            assert_string_equal(json_string_value(json_object_get(res, "ruleId")), f->rule->name);
            assert_int_equal(json_integer_value(json_object_get(res, "ruleIndex")), f->rule->id);
            const char *level = json_string_value(json_object_get(res, "level"));
            assert_string_equal(level, f->severity >= REPORT_SEV_HIGH     ? "error"
                                       : f->severity == REPORT_SEV_MEDIUM ? "warning"
                                                                          : "note");
        }
    assert_int_equal(json_array_size(results), r);
    assert_true(r >= 5);

    /* the out-of-range observation index is left out, the valid one kept */
    json_t *hand = json_array_get(results, r - 2);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(hand, "properties"), "observations")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(hand, "message"), "text")),
        "<b>&amp; \"quoted\" 'single' \x07 bell \x1b[31m \xef\xbf\xbd\xef\xbf\xbd "
        "end\r\nsecond line. Fix: Advertise only the CAs that issue client "
        "certificates (a few names, a few hundred bytes). See root-store-dump "
        "for the usual cause.");
    json_t *note = json_array_get(results, r - 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(note, "message"), "text")),
        "a note that ends here.");

    /* the input error and the three failed probes are notifications; the run is not a success */
    json_t *inv = json_array_get(json_object_get(run, "invocations"), 0);
    assert_true(json_is_false(json_object_get(inv, "executionSuccessful")));
    json_t *notes = json_object_get(inv, "toolExecutionNotifications");
    assert_int_equal(json_array_size(notes), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 1), "level")),
                        "error");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(notes, 1), "properties"), "target")),
                        "bad\xef\xbf\xbd\x01host<&>'\":99999");
    json_decref(root);
    free(d.p);
    scan_free(s);
}

static void test_sarif_empty(void **state)
{
    (void)state;
    struct doc d = render_sarif(NULL, 0);
    check_golden("empty.sarif", &d);
    json_t *root = json_loadb(d.p, d.len, 0, NULL);
    assert_non_null(root);
    json_t *run = json_array_get(json_object_get(root, "runs"), 0);
    assert_int_equal(json_array_size(json_object_get(run, "results")), 0);
    json_decref(root);
    free(d.p);
}

/* A scan stopped by a signal: executionSuccessful false and, after the targets' notifications,
 * one saying so whose descriptor resolves; with no notification before it the array is opened
 * for it alone. */
static void test_sarif_interrupted(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct doc d = render_sarif_stopped(s, 3, "SIGINT");
    assert_clean_utf8(&d);
    check_golden("interrupted.sarif", &d);
    for (int empty = 0; empty < 2; empty++) {
        json_t *root = json_loadb(d.p, d.len, 0, NULL);
        assert_non_null(root);
        json_t *run = json_array_get(json_object_get(root, "runs"), 0);
        json_t *inv = json_array_get(json_object_get(run, "invocations"), 0);
        assert_true(json_is_false(json_object_get(inv, "executionSuccessful")));
        json_t *notes = json_object_get(inv, "toolExecutionNotifications");
        assert_true(json_array_size(notes) >= 1);
        json_t *last = json_array_get(notes, json_array_size(notes) - 1);
        json_t *desc = json_object_get(last, "descriptor");
        assert_string_equal(json_string_value(json_object_get(desc, "id")), "interrupted");
        json_t *kinds = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"),
                                        "notifications");
        json_t *kind = json_array_get(kinds, json_integer_value(json_object_get(desc, "index")));
        assert_string_equal(json_string_value(json_object_get(kind, "id")), "interrupted");
        assert_string_equal(json_string_value(json_object_get(last, "level")), "error");
        const char *text =
            json_string_value(json_object_get(json_object_get(last, "message"), "text"));
        assert_non_null(text);
        assert_non_null(strstr(text, empty ? "interrupted:" : "interrupted by SIGINT:"));
        if (empty)
            assert_int_equal(json_array_size(notes), 1);
        json_decref(root);
        free(d.p);
        if (!empty)
            d = render_sarif_stopped(NULL, 0, "");
    }
    scan_free(s);
}

/* Same rule, target and message: the same fingerprint; anything else: another. */
static void test_sarif_fingerprint(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct canned_target *ct = &s->ct[5];
    ct->findings.n = 1;
    struct doc a = render_sarif(s, N_TARGETS), b;
    ct->t.target = "other.example.com:443";
    b = render_sarif(s, N_TARGETS);
    json_t *ja = json_loadb(a.p, a.len, 0, NULL), *jb = json_loadb(b.p, b.len, 0, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    json_t *ra = json_object_get(json_array_get(json_object_get(ja, "runs"), 0), "results");
    json_t *rb = json_object_get(json_array_get(json_object_get(jb, "runs"), 0), "results");
    size_t n = json_array_size(ra);
    assert_int_equal(json_array_size(rb), n);
    for (size_t i = 0; i < n; i++) {
        const char *fa = json_string_value(json_object_get(
            json_object_get(json_array_get(ra, i), "partialFingerprints"), "caprobe/v1"));
        const char *fb = json_string_value(json_object_get(
            json_object_get(json_array_get(rb, i), "partialFingerprints"), "caprobe/v1"));
        assert_non_null(fa);
        assert_int_equal(strlen(fa), 16);
        if (i + 1 < n)
            assert_string_equal(fa, fb);
        else
            assert_string_not_equal(fa, fb); /* the target changed */
        for (size_t k = 0; k < i; k++)       /* every result of the scan has its own */
            assert_string_not_equal(
                fa,
                json_string_value(json_object_get(
                    json_object_get(json_array_get(ra, k), "partialFingerprints"), "caprobe/v1")));
    }
    json_decref(ja);
    json_decref(jb);
    free(a.p);
    free(b.p);
    scan_free(s);
}

/* ---- JUnit ---------------------------------------------------------------------------------- */

static void test_junit_golden(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct doc d = render_junit(s, N_TARGETS, REPORT_SEV_HIGH);
    assert_clean_utf8(&d);
    check_golden("renderers.xml", &d);
    /* targets 0 and 5 fail (high, critical), 2 and 3 are errors, 1 and 4 pass */
    assert_non_null(strstr(d.p, "<testsuites name=\"caprobe\" tests=\"6\" failures=\"2\" "
                                "errors=\"2\">"));
    assert_non_null(strstr(d.p, "<failure message=\"3 findings, highest high\" "
                                "type=\"sni-mismatch\">"));
    assert_non_null(strstr(d.p, "<failure message=\"2 findings, highest critical\" "
                                "type=\"oversized-ca-list\">"));
    assert_non_null(strstr(d.p, "name=\"bad\xef\xbf\xbd\xef\xbf\xbdhost&lt;&amp;&gt;&apos;&quot;:"
                                "99999\""));
    assert_non_null(strstr(d.p, "<error message=\"all 2 probes failed, first: dns: "));
    assert_non_null(strstr(d.p, "&lt;b&gt;&amp;amp; &quot;quoted&quot; &apos;single&apos; "
                                "\xef\xbf\xbd bell \xef\xbf\xbd[31m \xef\xbf\xbd\xef\xbf\xbd "
                                "end&#13;\nsecond line"));
    free(d.p);

    /* at --fail-on medium the empty lists of target 4 fail too, and target 3, whose every probe
     * failed, is a probe-failed finding (medium) rather than an error; at critical only
     * target 5 */
    d = render_junit(s, N_TARGETS, REPORT_SEV_MEDIUM);
    assert_non_null(strstr(d.p, "tests=\"6\" failures=\"4\" errors=\"1\""));
    assert_non_null(strstr(d.p, "type=\"empty-ca-list\""));
    assert_non_null(strstr(d.p, "type=\"probe-failed\""));
    free(d.p);
    d = render_junit(s, N_TARGETS, REPORT_SEV_CRITICAL);
    assert_non_null(strstr(d.p, "tests=\"6\" failures=\"1\" errors=\"2\""));
    free(d.p);
    scan_free(s);
}

/* A scan stopped by a signal: a property and <system-err> after the test cases say so; the
 * counts are those of the cases written (targets 0 and 2: a failure and an error). */
static void test_junit_interrupted(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct doc d = render_junit_stopped(s, 3, REPORT_SEV_HIGH, "SIGTERM");
    assert_clean_utf8(&d);
    check_golden("interrupted.xml", &d);
    assert_non_null(strstr(d.p, "<testsuite name=\"caprobe\" tests=\"3\" failures=\"1\" "
                                "errors=\"1\" skipped=\"0\">"));
    assert_non_null(strstr(d.p, "<property name=\"caprobe.interrupted\" value=\"SIGTERM\"/>"));
    const char *err = strstr(d.p, "<system-err>The scan was interrupted by SIGTERM: ");
    assert_non_null(err);
    assert_null(strstr(err, "<testcase")); /* after every test case */
    free(d.p);
    d = render_junit_stopped(NULL, 0, REPORT_SEV_HIGH, "");
    assert_non_null(strstr(d.p, "<property name=\"caprobe.interrupted\" value=\"true\"/>"));
    assert_non_null(strstr(d.p, "<system-err>The scan was interrupted: "));
    free(d.p);
    scan_free(s);
}

static void test_junit_empty(void **state)
{
    (void)state;
    struct doc d = render_junit(NULL, 0, REPORT_SEV_HIGH);
    check_golden("empty.xml", &d);
    free(d.p);
}

/* Many targets through both writers: the counts come out right although nothing is kept. */
static void test_many_targets(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    FILE *fs = tmpfile(), *fj = tmpfile();
    assert_non_null(fs);
    assert_non_null(fj);
    struct report_sarif *ws;
    struct report_junit *wj;
    assert_int_equal(report_sarif_begin(&ws, fs, NULL), 0);
    assert_int_equal(report_junit_begin(&wj, fj, NULL, REPORT_SEV_HIGH), 0);
    const size_t rounds = 1000;
    for (size_t i = 0; i < rounds; i++)
        for (size_t k = 0; k < N_TARGETS; k++) {
            assert_int_equal(report_sarif_target(ws, &s->ct[k].t), 0);
            assert_int_equal(report_junit_target(wj, &s->ct[k].t), 0);
        }
    assert_int_equal(report_sarif_end(ws), 0);
    assert_int_equal(report_junit_end(wj), 0);

    rewind(fj);
    char head[256];
    assert_non_null(fgets(head, sizeof(head), fj));
    assert_non_null(fgets(head, sizeof(head), fj));
    assert_string_equal(head, "<testsuites name=\"caprobe\" tests=\"6000\" failures=\"2000\" "
                              "errors=\"2000\">\n");
    rewind(fs);
    json_t *root = json_loadf(fs, 0, NULL);
    assert_non_null(root);
    json_t *run = json_array_get(json_object_get(root, "runs"), 0);
    size_t per_round = 0;
    for (size_t k = 0; k < N_TARGETS; k++)
        per_round += s->ct[k].findings.n;
    assert_int_equal(json_array_size(json_object_get(run, "results")), rounds * per_round);
    json_t *inv = json_array_get(json_object_get(run, "invocations"), 0);
    assert_int_equal(json_array_size(json_object_get(inv, "toolExecutionNotifications")),
                     rounds * 4);
    json_decref(root);
    fclose(fs);
    fclose(fj);
    scan_free(s);
}

/* A full disk: the writers say so (and free everything), never report success. */
static void test_write_errors(void **state)
{
    (void)state;
    assert_int_equal(report_sarif_end(NULL), 0);
    assert_int_equal(report_junit_end(NULL), 0);
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL)
        skip();
    struct scan *s = scan_new();
    struct report_sarif *ws;
    struct report_junit *wj;
    int rc = report_sarif_begin(&ws, f, "0.1.0");
    if (rc == 0) {
        for (size_t k = 0; k < N_TARGETS; k++)
            report_sarif_target(ws, &s->ct[k].t);
        rc = report_sarif_end(ws);
    }
    assert_int_equal(rc, TLS_E_IO);
    clearerr(f);
    assert_int_equal(report_junit_begin(&wj, f, "0.1.0", REPORT_SEV_HIGH), 0);
    for (size_t k = 0; k < N_TARGETS; k++)
        assert_int_equal(report_junit_target(wj, &s->ct[k].t), 0); /* spooled */
    assert_int_equal(report_junit_end(wj), TLS_E_IO);
    fclose(f);
    scan_free(s);
}

/* In every line that has a colour the last escape sequence is the reset: a line cut by a pager
 * leaves the terminal plain. */
static void assert_colour_reset(const struct doc *d)
{
    char *text = strndup(d->p, d->len);
    assert_non_null(text);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *last = strrchr(line, 0x1b);
        if (last && strncmp(last, "\033[0m", 4) != 0)
            fail_msg("a line ends without its colour reset: %s", line);
    }
    free(text);
}

/* The text report: the verdict first, findings (severity order) with the variants they cite and
 * the fix after the last finding with that fix, then one header per answer with at most two
 * names here; an error keeps its kind, variants with the same answer share a header; escaped
 * names stay escaped, colour only when asked for. */
static void test_text_golden(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct report_opts opts = {.format = REPORT_TEXT, .names = 2};
    struct doc d = render_records(s, N_TARGETS, &opts);
    assert_clean_utf8(&d);
    assert_null(memchr(d.p, 0x1b, d.len)); /* no escape sequence without colour */
    check_golden("renderers.txt", &d);
    opts.color = true;
    struct doc c = render_records(s, N_TARGETS, &opts);
    assert_non_null(memchr(c.p, 0x1b, c.len));
    assert_colour_reset(&c);
    free(c.p);
    free(d.p);
    scan_free(s);
}

/* One line per target: target, verdict, worst rule, the answers; no names. */
static void test_oneline_golden(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct report_opts opts = {.format = REPORT_ONELINE};
    struct doc d = render_records(s, N_TARGETS, &opts);
    assert_clean_utf8(&d);
    size_t lines = 0;
    for (size_t i = 0; i < d.len; i++)
        lines += d.p[i] == '\n';
    assert_int_equal(lines, N_TARGETS);
    assert_null(strstr(d.p, "CN=")); /* no names */
    check_golden("renderers.oneline.txt", &d);
    opts.color = true;
    struct doc c = render_records(s, N_TARGETS, &opts);
    assert_colour_reset(&c);
    free(c.p);
    free(d.p);
    scan_free(s);
}

/* The widest line of d in terminal columns, colours left out, measured with the C library's
 * wcwidth (C.UTF-8), not the renderer's own table. */
static int widest_line(const struct doc *d)
{
    char *text = strndup(d->p, d->len);
    assert_non_null(text);
    int widest = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char plain[4096];
        size_t n = 0;
        for (const char *p = line; *p && n + 1 < sizeof(plain); p++) {
            if (*p == 0x1b) { /* CSI ... m */
                p = strchr(p, 'm');
                assert_non_null(p);
                continue;
            }
            plain[n++] = *p;
        }
        plain[n] = 0;
        wchar_t wide[4096];
        size_t k = mbstowcs(wide, plain, sizeof(wide) / sizeof(wide[0]));
        assert_true(k != (size_t)-1);
        int cols = wcswidth(wide, k);
        if (cols < 0)
            fail_msg("a character a terminal cannot show: %s", line);
        if (cols > widest)
            widest = cols;
    }
    free(text);
    return widest;
}

#define TOKYO "\xe6\x9d\xb1\xe4\xba\xac" /* 東京 */

/* A target whose names and host name are CJK (two columns a character), four variants, and
 * a finding that cites two of them that no dimension groups: the citation must wrap, whole. */
static void wide_target(struct canned_target *ct)
{
    report_findings_init(&ct->findings);
    ct->t.target = TOKYO ".example.com:443";
    ct->t.host = TOKYO ".example.com";
    ct->t.port = 443;
    struct name names[2] = {
        make_name("JP", "\xe8\xaa\x8d\xe8\xa8\xbc\xe5\xb1\x80 Corp", /* 認証局 */
                  "\xe8\xaa\x8d\xe8\xa8\xbc\xe5\xb1\x80 " TOKYO " Issuing CA with a long name", 44),
        make_name("JP", "Corp", "Plain CA", 8),
    };
    const char *addr[2] = {"192.0.2.41", "192.0.2.42"};
    for (size_t a = 0; a < 2; a++) {
        set_names(add_obs(ct, addr[a], ct->t.host, 0x0303), names, 2);
        set_names(add_obs(ct, addr[a], NULL, 0x0303), names, 2);
    }
    add_finding(ct, REPORT_RULE_SNI_MISMATCH, REPORT_SEV_HIGH,
                "a message long enough to be cut on any terminal narrower than a hundred and "
                "twenty columns, which every test here is",
                report_rule_get(REPORT_RULE_SNI_MISMATCH)->remedy, 0, 3);
}

/* The variants a finding cites, in the fewest words that tell them apart: three addresses with
 * and without SNI; one finding per way of citing. */
static void test_text_citations(void **state)
{
    (void)state;
    struct canned_target *ct = calloc(1, sizeof(*ct));
    assert_non_null(ct);
    report_findings_init(&ct->findings);
    ct->t.target = "c.example.com:443";
    ct->t.host = "c.example.com";
    ct->t.port = 443;
    const char *addr[3] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
    for (size_t a = 0; a < 3; a++) { /* 2a: SNI, 2a + 1: no SNI */
        add_obs(ct, addr[a], ct->t.host, 0x0303)->outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
        add_obs(ct, addr[a], NULL, 0x0303)->outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    }
    static const struct {
        size_t obs[6], n;
        const char *want;
    } cases[] = {
        {{0, 1, 2, 3}, 4, " [192.0.2.1 + 192.0.2.2]: "},
        {{0, 2}, 2, " [192.0.2.1 + 192.0.2.2 SNI c.example.com]: "},
        {{3, 1, 5}, 3, " [no SNI]: "},
        {{0, 3}, 2, " [192.0.2.1 SNI c.example.com; 192.0.2.2 no SNI]: "},
        {{0, 1, 2, 3, 4, 5}, 6, " [all 6 variants]: "},
        {{4, 99, 4}, 3, " [192.0.2.3 SNI c.example.com]: "},
        {{99}, 1, "info     baseline-drift: "},
    };
    const size_t n_cases = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < n_cases; i++)
        add_finding_n(ct, REPORT_RULE_BASELINE_DRIFT, REPORT_SEV_INFO, "m", NULL, cases[i].obs,
                      cases[i].n);
    struct report_opts opts = {.format = REPORT_TEXT};
    struct doc d = render_targets(ct, 1, &opts);
    for (size_t i = 0; i < n_cases; i++)
        if (strstr(d.p, cases[i].want) == NULL)
            fail_msg("case %zu: no '%s' in\n%s", i, cases[i].want, d.p);
    free(d.p);
    /* 30 columns: broken after a separator, its trailing space dropped */
    opts.width = 30;
    d = render_targets(ct, 1, &opts);
    assert_non_null(strstr(d.p, " [192.0.2.1 +\n           192.0.2.2]:\n"));
    free(d.p);
    for (size_t k = 0; k < ct->t.n_obs; k++)
        tls_observation_free(&ct->o[k]);
    report_findings_free(&ct->findings);
    free(ct);
}

/* On a terminal (opts.width) no line is wider than it, in colour or not, however wide the
 * characters; a citation wraps rather than being cut; where the whole fixes are is told once a
 * scan when a fix was cut. */
static void test_text_width(void **state)
{
    (void)state;
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        skip();
    struct scan *s = scan_new();
    struct canned_target *wide = &s->ct[N_TARGETS - 1];
    for (size_t k = 0; k < wide->t.n_obs; k++)
        tls_observation_free(&wide->o[k]);
    report_findings_free(&wide->findings);
    memset(wide, 0, sizeof(*wide));
    wide_target(wide);
    static const unsigned widths[] = {20, 40, 60, 80};
    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
        for (int colour = 0; colour < 2; colour++)
            for (int oneline = 0; oneline < 2; oneline++) {
                bool told = false;
                struct report_opts opts = {.format = oneline ? REPORT_ONELINE : REPORT_TEXT,
                                           .color = colour,
                                           .width = widths[w],
                                           .names = REPORT_NAMES_ALL,
                                           .fix_hint_told = &told};
                struct doc d = render_records(s, N_TARGETS, &opts);
                if (!colour)
                    assert_clean_utf8(&d);
                int widest = widest_line(&d);
                if (widest > (int)widths[w])
                    fail_msg("width %u%s%s: a line of %d columns:\n%.*s", widths[w],
                             colour ? ", colour" : "", oneline ? ", one line" : "", widest,
                             (int)d.len, d.p);
                /* the citation names both variants: on one line at 80 columns, wrapped
                 * between them at 60 */
                if (!oneline && widths[w] >= 60)
                    assert_non_null(strstr(d.p, widths[w] == 60
                                                    ? " [192.0.2.41 SNI " TOKYO ".example.com;\n"
                                                      "           192.0.2.42 no SNI]:"
                                                    : " [192.0.2.41 SNI " TOKYO
                                                      ".example.com; 192.0.2.42 no SNI]:"));
                const char *hint = "(whole fixes: run it | less, or --format jsonl)";
                char *first = strstr(d.p, hint);
                if (!oneline && widths[w] >= 60) /* narrower, the hint itself is cut */
                    assert_non_null(first);
                assert_true(first == NULL || strstr(first + 1, hint) == NULL);
                free(d.p);
            }
    /* without a terminal nothing is cut, and the fix is told whole */
    struct report_opts opts = {.format = REPORT_TEXT, .names = REPORT_NAMES_ALL};
    struct doc d = render_records(s, N_TARGETS, &opts);
    assert_null(strstr(d.p, "\xe2\x80\xa6"));
    /* the sni-mismatch fix to its last words (the finding's own: it names the bindings) */
    assert_non_null(strstr(d.p, "fix: Make both bindings advertise the same issuers. IIS: "));
    assert_non_null(strstr(d.p, "default_server.\n"));
    free(d.p);
    setlocale(LC_CTYPE, "C");
    scan_free(s);
}

/* ---- the text report on a terminal: rows and fixes ------------------------------------------ */

/* The certificate every variant of a canned target was served (CN=localhost, SHA-1 0x28 0x6e ...)
 */
static void serve_cert(struct tls_observation *o)
{
    struct tls_server_cert *sc = &o->server_cert;
    sc->present = true;
    sc->subject = "CN=localhost";
    sc->issuer = "CN=caprobe Issuing CA 1,O=caprobe,C=DE";
    sc->not_before = "2026-01-01T00:00:00Z";
    sc->not_after = "2046-01-01T00:00:00Z";
    for (size_t i = 0; i < 20; i++)
        sc->sha1[i] = (uint8_t)(0x28 + 7 * i);
    for (size_t i = 0; i < 32; i++)
        sc->sha256[i] = (uint8_t)(0x91 + 3 * i);
    sc->chain_length = 1;
}

static void canned_free(struct canned_target *ct)
{
    for (size_t k = 0; k < ct->t.n_obs; k++)
        tls_observation_free(&ct->o[k]);
    report_findings_free(&ct->findings);
    free(ct);
}

static struct canned_target *canned_new(const char *target, const char *host)
{
    struct canned_target *ct = calloc(1, sizeof(*ct));
    assert_non_null(ct);
    report_findings_init(&ct->findings);
    ct->t.target = target;
    ct->t.host = host;
    ct->t.port = 443;
    return ct;
}

/* The lines of d that start with prefix. */
static size_t lines_with(const struct doc *d, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = d->p; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* On a terminal, a finding's own fix (the rules filled in the binding and the certificate's
 * thumbprint) wraps to at most 4 rows, enough to show the netsh command's binding and certhash,
 * and its rows are the remedy's words in order; a fix that is the rule's own takes one row; the
 * hint says where the whole fixes are. The oracle is the remedy the rules wrote. */
static void test_text_fix_rows(void **state)
{
    (void)state;
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        skip();
    struct canned_target *ct = canned_new("app.example.com:443", "app.example.com");
    struct name issuing = make_name("DE", "Corp", "Corp Issuing CA 1", 17);
    struct name dump[3] = {make_name("DE", "Corp", "Corp Root CA", 12),
                           make_name("US", "Other", "Other Root CA", 13),
                           make_name("US", "Other", "Other Root CA", 13)};
    struct tls_observation *o = add_obs(ct, "192.0.2.10", "app.example.com", 0x0303);
    set_names(o, &issuing, 1);
    serve_cert(o);
    o = add_obs(ct, "192.0.2.10", NULL, 0x0303);
    set_names(o, dump, 3);
    serve_cert(o);
    run_rules(ct);
    const struct report_finding *own = NULL, *rules = NULL;
    for (size_t i = 0; i < ct->findings.n; i++) {
        const struct report_finding *f = &ct->findings.v[i];
        if (f->remedy && f->remedy != f->rule->remedy && own == NULL)
            own = f;
        if (f->remedy == f->rule->remedy && rules == NULL)
            rules = f;
    }
    assert_non_null(own);   /* sni-mismatch: the two bindings */
    assert_non_null(rules); /* duplicate-ca */
    char want[128];
    snprintf(want, sizeof(want), "hostnameport=app.example.com:443 certhash=%s",
             "282f363d444b5259");
    assert_non_null(strstr(own->remedy, want));

    bool told = false;
    struct report_opts opts = {
        .format = REPORT_TEXT, .width = 80, .names = 5, .fix_hint_told = &told};
    struct doc d = render_targets(ct, 1, &opts);
    assert_true(widest_line(&d) <= 80);
    /* the rows of the own fix: "fix: " at column 11, its further rows under "fix:" */
    const char *hint = "           (whole fixes: run it | less, or --format jsonl)\n";
    char joined[2048] = "";
    size_t rows = 0;
    const char *p = strstr(d.p, "           fix: ");
    assert_non_null(p);
    const char *line = p + 16;
    for (; line && rows < 10; rows++) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%.*s",
                 rows ? " " : "", (int)(end - line), line);
        bool more = strncmp(end + 1, "           ", 11) == 0 && end[12] != ' ' &&
                    strncmp(end + 1, hint, strlen(hint)) != 0;
        line = more ? end + 12 : NULL;
    }
    size_t len = strlen(joined);
    bool cut = len >= 3 && strcmp(joined + len - 3, "\xe2\x80\xa6") == 0;
    if (cut)
        joined[len - 3] = 0;
    if (rows > 4 || strncmp(own->remedy, joined, strlen(joined)) != 0 ||
        strstr(joined, want) == NULL)
        fail_msg("the own fix on %zu rows, not the remedy's first words with %s:\n%s\n"
                 "remedy: %s",
                 rows, want, joined, own->remedy);
    assert_true(cut); /* the rest is behind the hint */
    /* the rule's own fix: one row */
    char fix[256];
    snprintf(fix, sizeof(fix), "           fix: %.40s", rules->remedy);
    p = strstr(d.p, fix);
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    assert_true(strncmp(p, "           ", 11) != 0 || strncmp(p, hint, strlen(hint)) == 0);
    assert_non_null(strstr(d.p, hint));
    assert_null(strstr(d.p, "--explain"));
    free(d.p);
    canned_free(ct);
    setlocale(LC_CTYPE, "C");
}

/* A dual-stack host: two addresses, with and without SNI, TLS 1.2 and 1.3 (8 variants); the
 * TLS 1.2 variants got one list with a name twice, the TLS 1.3 ones none; the rules' findings.
 * Variants with the same answer share a row ("TLS 1.2 (4 variants)") and the names are shown
 * once; the certificate once; duplicate-ca, one finding per variant, is one line citing
 * [TLS 1.2] with its words once, none of them the variant the citation names. */
static void test_text_rows(void **state)
{
    (void)state;
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        skip();
    struct canned_target *ct = canned_new("app.example.com:443", "app.example.com");
    struct name list[3] = {make_name("DE", "Corp", "Corp Root CA", 12),
                           make_name("US", "Other", "Other Root CA", 13),
                           make_name("DE", "Corp", "Corp Root CA", 12)};
    const char *addr[2] = {"192.0.2.1", "2001:db8::1"};
    for (size_t a = 0; a < 2; a++)
        for (int sni = 1; sni >= 0; sni--)
            for (uint16_t v = 0x0303; v <= 0x0304; v++) {
                struct tls_observation *o = add_obs(ct, addr[a], sni ? ct->t.host : NULL, v);
                set_names(o, list, v == 0x0303 ? 3 : 0);
                serve_cert(o);
            }
    run_rules(ct);
    size_t dup = 0;
    for (size_t i = 0; i < ct->findings.n; i++)
        dup += ct->findings.v[i].rule->id == REPORT_RULE_DUPLICATE_CA;
    assert_true(dup >= 1);
    struct report_opts opts = {.format = REPORT_TEXT, .width = 80, .names = 5};
    struct doc d = render_targets(ct, 1, &opts);
    assert_true(widest_line(&d) <= 80);
    if (lines_with(&d, "  TLS 1.2 (4 variants): 3 CA names (") != 1 ||
        lines_with(&d, "  TLS 1.3 (4 variants): 0 CA names (no certificate_authorities)") != 1 ||
        lines_with(&d, "    CN=Corp Root CA,O=Corp,C=DE\n") != 2 ||
        lines_with(&d, "    CN=Other Root CA,O=Other,C=US\n") != 1 ||
        lines_with(&d, "  server certificate: CN=localhost") != 1 ||
        lines_with(&d, "  low      duplicate-ca [TLS 1.2]: ") != 1 ||
        lines_with(&d, "  low      duplicate-ca") != 1 || strstr(d.p, "]: [") != NULL)
        fail_msg("8 variants, 2 answers:\n%s", d.p);
    free(d.p);
    /* not a terminal: the same rows */
    opts.width = 0;
    d = render_targets(ct, 1, &opts);
    assert_int_equal(lines_with(&d, "  TLS 1.2 (4 variants): 3 CA names ("), 1);
    free(d.p);
    canned_free(ct);
    setlocale(LC_CTYPE, "C");
}

/* Rows share answers only when all they show is the same: a request's exchange is each
 * variant's own, and a list shown on an earlier row is "same N names as". */
static void test_text_same_names(void **state)
{
    (void)state;
    struct canned_target *ct = canned_new("r.example.com:443", "r.example.com");
    struct name one = make_name("DE", "Corp", "Corp Issuing CA 1", 17);
    for (int sni = 1; sni >= 0; sni--) {
        struct tls_observation *o = add_obs(ct, "192.0.2.5", sni ? ct->t.host : NULL, 0x0303);
        set_names(o, &one, 1);
        o->http.path = "/";
        o->http.sent = true;
        o->http.status = 200;
        o->http.status_line = "HTTP/1.1 200 OK";
    }
    struct report_opts opts = {.format = REPORT_TEXT, .names = 5};
    struct doc d = render_targets(ct, 1, &opts);
    if (lines_with(&d, "  192.0.2.5 SNI r.example.com TLS 1.2: 1 CA name (") != 1 ||
        lines_with(&d, "  192.0.2.5 no SNI TLS 1.2: same 1 name as SNI r.example.com") != 1 ||
        lines_with(&d, "    GET /: HTTP/1.1 200 OK") != 2)
        fail_msg("two variants with an exchange each:\n%s", d.p);
    free(d.p);
    canned_free(ct);
}

/* A TLS version the server declines is told as what it is, "TLS 1.3 not offered", in the
 * colour of a fact (not red), never "error"; in one line too. --names 0 still says how many
 * names there are and how to see them. */
static void test_text_not_offered(void **state)
{
    (void)state;
    struct canned_target *ct = canned_new("v.example.com:443", "v.example.com");
    struct name names[2] = {make_name("DE", "Corp", "Corp Issuing CA 1", 17),
                            make_name("DE", "Corp", "Corp Issuing CA 2", 17)};
    set_names(add_obs(ct, "192.0.2.6", NULL, 0x0303), names, 2);
    tls_observation_set_error(add_obs(ct, "192.0.2.6", NULL, 0x0304), TLS_ERROR_VERSION_NOT_OFFERED,
                              0, 0, "TLS 1.3 not offered: the server sent alert protocol_version");
    run_rules(ct);
    struct report_opts opts = {.format = REPORT_TEXT, .names = 0, .color = true};
    struct doc d = render_targets(ct, 1, &opts);
    const char *row = strstr(d.p, "TLS 1.3 not offered: the server sent alert protocol_version");
    const char *bol = row;
    while (bol && bol > d.p && bol[-1] != '\n')
        bol--;
    char *line = row ? strndup(bol, strcspn(bol, "\n")) : NULL;
    if (row == NULL || strstr(d.p, "error") != NULL || strstr(line, "\033[31m") != NULL)
        fail_msg("TLS 1.3 not offered, not red, not an error:\n%s", d.p);
    free(line);
    assert_non_null(strstr(d.p, "\n    \033[2m\xe2\x80\xa6 and 2 more (--names all)\033[0m\n"));
    assert_null(strstr(d.p, "CN=Corp"));
    free(d.p);
    opts.format = REPORT_ONELINE;
    opts.color = false;
    d = render_targets(ct, 1, &opts);
    if (strstr(d.p, "2 variants: 2 names (") == NULL ||
        strstr(d.p, ", TLS 1.3 not offered\n") == NULL || strstr(d.p, "error") != NULL)
        fail_msg("one line: TLS 1.3 not offered:\n%s", d.p);
    free(d.p);
    canned_free(ct);
}

/* JSON Lines: every line parses (jansson), the golden file holds the exact bytes. */
/* --client-key: each result of client_cert as JSON Lines writes it (docs/output.md: the keys
 * and which result carries which) and as the text report tells it, one row per answer. */
static void test_client_cert(void **state)
{
    (void)state;
    static const struct {
        enum tls_client_cert_result result;
        bool presented;
        int alert, status;
        const char *error, *json, *text;
    } cases[] = {
        {TLS_CLIENT_CERT_NONE, false, -1, 0, NULL, "{\"presented\":false,\"phase\":\"handshake\"}",
         NULL},
        {TLS_CLIENT_CERT_ACCEPTED, true, -1, 0, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"accepted\"}",
         "    client certificate: presented, accepted (the handshake completed)\n"},
        {TLS_CLIENT_CERT_ALERT, true, 48, 0, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"alert\",\"alert\":"
         "\"unknown_ca\"}",
         "    client certificate: presented, refused with alert unknown_ca\n"},
        {TLS_CLIENT_CERT_ALERT, true, 200, 0, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"alert\",\"alert\":"
         "\"0xc8\"}",
         "    client certificate: presented, refused with alert 0xc8\n"},
        {TLS_CLIENT_CERT_CLOSED, true, -1, 0, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"closed\"}",
         "    client certificate: presented, the server closed the connection\n"},
        {TLS_CLIENT_CERT_HTTP, true, -1, 403, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"http\",\"http_status\":403}",
         "    client certificate: presented, the request got HTTP 403\n"},
        {TLS_CLIENT_CERT_NO_ANSWER, true, -1, 0, NULL,
         "{\"presented\":true,\"phase\":\"handshake\",\"result\":\"no_answer\"}",
         "    client certificate: presented, no answer before the deadline\n"},
        {TLS_CLIENT_CERT_ERROR, false, -1, 0, "not presented: \"why\"\x01",
         "{\"presented\":false,\"phase\":\"handshake\",\"result\":\"error\",\"error\":"
         "\"not presented: \\\"why\\\"\\u0001\"}",
         "    client certificate: not presented: \"why\"\\x01\n"},
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    struct canned_target *ct = canned_new("c.example.com:443", "c.example.com");
    struct name one = make_name("DE", "Corp", "Corp Issuing CA 1", 17);
    char addr[16][32];
    for (size_t i = 0; i < n; i++) {
        snprintf(addr[i], sizeof(addr[i]), "192.0.2.%zu", i + 1);
        struct tls_observation *o = add_obs(ct, addr[i], NULL, 0x0303);
        set_names(o, &one, 1);
        o->client_cert = (struct tls_client_cert){.tried = true,
                                                  .presented = cases[i].presented,
                                                  .result = cases[i].result,
                                                  .alert = cases[i].alert,
                                                  .http_status = cases[i].status,
                                                  .error = cases[i].error};
    }
    struct report_opts opts = {.format = REPORT_JSONL};
    struct doc d = render_targets(ct, 1, &opts);
    for (size_t i = 0; i < n; i++) {
        char want[512];
        snprintf(want, sizeof(want), "\"client_cert\":%s,\"elapsed_ms\":7}", cases[i].json);
        if (strstr(d.p, want) == NULL)
            fail_msg("case %zu: no %s in\n%s", i, want, d.p);
    }
    free(d.p);
    opts.format = REPORT_TEXT;
    opts.names = 0;
    d = render_targets(ct, 1, &opts);
    for (size_t i = 0; i < n; i++)
        if (cases[i].text && lines_with(&d, cases[i].text) != 1)
            fail_msg("case %zu: not one line '%s' in\n%s", i, cases[i].text, d.p);
    /* every answer is a row of its own; no line for the variant the server did not ask */
    assert_int_equal(lines_with(&d, "    client certificate: "), n - 1);
    assert_int_equal(lines_with(&d, "  192.0.2."), n);
    free(d.p);
    /* without --client-key: no client_cert at all */
    for (size_t i = 0; i < n; i++)
        ct->o[i].client_cert.tried = false;
    opts.format = REPORT_JSONL;
    d = render_targets(ct, 1, &opts);
    assert_null(strstr(d.p, "client_cert"));
    free(d.p);
    canned_free(ct);
}

static void test_jsonl_golden(void **state)
{
    (void)state;
    struct scan *s = scan_new();
    struct report_opts opts = {.format = REPORT_JSONL};
    struct doc d = render_records(s, N_TARGETS, &opts);
    assert_clean_utf8(&d);
    size_t lines = 0;
    for (char *line = d.p, *nl; (nl = memchr(line, '\n', d.len - (size_t)(line - d.p)));
         line = nl + 1) {
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &err);
        if (j == NULL)
            fail_msg("line %zu is not JSON: %s", lines + 1, err.text);
        assert_string_equal(json_string_value(json_object_get(j, "schema")), "caprobe/1");
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, N_TARGETS);
    check_golden("renderers.jsonl", &d);
    /* the compact form (no "der"), held to the schema by the caprobe-schema test */
    struct report_opts compact = {.format = REPORT_JSONL_COMPACT};
    struct doc c = render_records(s, N_TARGETS, &compact);
    assert_null(strstr(c.p, "\"der\""));
    check_golden("renderers-compact.jsonl", &c);
    free(c.p);
    free(d.p);
    scan_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_golden),       cmocka_unit_test(test_oneline_golden),
        cmocka_unit_test(test_text_width),        cmocka_unit_test(test_text_citations),
        cmocka_unit_test(test_text_fix_rows),     cmocka_unit_test(test_text_rows),
        cmocka_unit_test(test_text_same_names),   cmocka_unit_test(test_text_not_offered),
        cmocka_unit_test(test_jsonl_golden),      cmocka_unit_test(test_sarif_golden),
        cmocka_unit_test(test_sarif_empty),       cmocka_unit_test(test_sarif_fingerprint),
        cmocka_unit_test(test_junit_golden),      cmocka_unit_test(test_junit_empty),
        cmocka_unit_test(test_many_targets),      cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_sarif_interrupted), cmocka_unit_test(test_junit_interrupted),
        cmocka_unit_test(test_client_cert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
