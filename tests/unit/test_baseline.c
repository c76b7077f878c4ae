/* Unit tests for report/baseline.c and report/diff.c: the index of a scan (lookup, sorted names,
 * later line wins, skipped input errors), every malformed line named by FILE:LINE, the line
 * limit, the rules fed from a loaded baseline, caprobe diff against golden output, and the
 * compact form (no "der") read as the full one, alone and mixed with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "report/baseline.h"
#include "report/report.h"
#include "report/rules.h"
#include "tls/wire/error.h"
#include "tls/wire/hex.h"
#include "tls/namecache.h"
#include "testutil.h"

/* The names and certificates of fixtures/baseline/ (from real caprobe output over fixtures/pki) */
#define ISSUING_DN "CN=caprobe Issuing CA 1,O=caprobe,C=DE"
#define ISSUING_SHA "95e991771b42b06d6265daed10b8d3f480744fae435a8dd2e68bb109b4df78dd"
#define ISSUING_DER                                                                                \
    "303e310b30090603550406130244453110300e060355040a0c07636170726f6265311d301b06035504030c1463"   \
    "6170726f62652049737375696e672043412031"
#define ROOT_DN "CN=caprobe Test Root,O=caprobe,C=DE"
#define ROOT_SHA "4005c974eb0ccac2060836a4a9070da5bacd7138abae255da3e1fefc46834a4f"
#define CERT_A "d6f66d1503feb88b1c0607955526828542646f2bb0942ad759e21ded698bc081"
#define CERT_B "fa1296d7a84a1b6233c903d68d285d03fd372d8074ecc670164902daa743df66"
/* malformed.jsonl's malformed names: SHA-256 (Python's hashlib) of the bytes 00 01 02 ff, of
 * no bytes (the zero-length name) and, in malformed-changed-compact.jsonl, of 00 01 02 fe */
#define BAD_FF_SHA "3d1f57c984978ef98a18378c8166c1cb8ede02c03eeb6aee7e2f121dfeee3e56"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define BAD_FE_SHA "d316709e2303b9b97bcef71b446c30044895ad4866c4fa8c73407054d9006cc8"

static char *fixture_path(const char *name)
{
    return testutil_fixture_path("baseline", name);
}

static struct report_baseline *load(const char *name, bool keep_names)
{
    char *path = fixture_path(name);
    struct report_baseline_opts opts = {.keep_names = keep_names};
    struct report_baseline *b = NULL;
    char err[512];
    int rc = report_baseline_load_opts(&b, path, &opts, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", name, err);
    free(path);
    return b;
}

static void assert_hex(const uint8_t *p, const char *hex)
{
    char got[65];
    tls_hex_encode(p, 32, got);
    assert_string_equal(got, hex);
}

static const struct report_baseline_variant *variant(const struct report_baseline_target *t,
                                                     const char *key, size_t *idx)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0) {
            if (idx)
                *idx = i;
            return &t->v[i];
        }
    fail_msg("no variant %s", key);
    return NULL;
}

/* ---- the index ------------------------------------------------------------------------------ */

static void test_load(void **state)
{
    (void)state;
    struct report_baseline *b = load("old.jsonl", false);
    /* 7 lines: the input-error record and the blank line are skipped */
    assert_int_equal(report_baseline_count(b), 5);
    assert_null(report_baseline_find(b, "not a host!", NULL));
    assert_null(report_baseline_find(b, "app.example.com", NULL));
    assert_null(report_baseline_find(NULL, "app.example.com:443", NULL));

    const struct report_baseline_target *t = report_baseline_find(b, "app.example.com:443", NULL);
    assert_non_null(t);
    assert_int_equal(t->n, 4);
    static const char *const keys[] = {"192.0.2.10|app.example.com|1.2|handshake",
                                       "192.0.2.10|app.example.com|1.3|handshake",
                                       "192.0.2.10||1.2|handshake", "192.0.2.10||1.3|handshake"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(t->v[i].key, keys[i]); /* sorted by key */
        assert_int_equal(t->v[i].state, REPORT_LIST_NAMES);
        assert_int_equal(t->v[i].n_cas, 2);
        assert_hex(t->v[i].cas[0], ROOT_SHA); /* sorted by SHA-256 */
        assert_hex(t->v[i].cas[1], ISSUING_SHA);
        assert_true(t->v[i].has_cert);
        assert_hex(t->v[i].cert_sha256, CERT_A);
    }
    const struct report_baseline_record *rec =
        report_baseline_lookup(b, "app.example.com:443", NULL);
    assert_int_equal(rec->line, 1);
    assert_ptr_equal(&rec->t, t);
    assert_string_equal(rec->detail[0].outcome, "certificate_request");
    assert_null(rec->detail[0].error_kind);
    assert_null(rec->detail[0].dns); /* not kept unless asked */

    /* no address (DNS failed): an empty field in the key; an error: nothing to compare */
    rec = report_baseline_lookup(b, "gone.example.com:443", NULL);
    assert_int_equal(rec->line, 7);
    size_t i;
    const struct report_baseline_variant *v =
        variant(&rec->t, "|gone.example.com|1.3|handshake", &i);
    assert_int_equal(v->state, REPORT_LIST_UNKNOWN);
    assert_false(v->has_cert);
    assert_string_equal(rec->detail[i].outcome, "error");
    assert_string_equal(rec->detail[i].error_kind, "dns");

    rec = report_baseline_lookup(b, "192.0.2.30:8443", NULL);
    assert_int_equal(rec->line, 6); /* after the blank line 5 */

    /* first appearance order */
    static const char *const order[] = {"app.example.com:443", "legacy.example.com:443",
                                        "portal.example.com:443", "192.0.2.30:8443",
                                        "gone.example.com:443"};
    for (size_t k = 0; k < 5; k++)
        assert_string_equal(report_baseline_at(b, k)->target, order[k]);
    assert_null(report_baseline_at(b, 5));
    report_baseline_free(b);
    report_baseline_free(NULL);
}

static void test_keep_names(void **state)
{
    (void)state;
    struct report_baseline *b = load("old.jsonl", true);
    const struct report_baseline_record *rec =
        report_baseline_lookup(b, "app.example.com:443", NULL);
    for (size_t i = 0; i < rec->t.n; i++) {
        assert_non_null(rec->detail[i].dns);
        assert_string_equal(rec->detail[i].dns[0], ROOT_DN); /* parallel to the sorted cas */
        assert_string_equal(rec->detail[i].dns[1], ISSUING_DN);
    }
    rec = report_baseline_lookup(b, "legacy.example.com:443", NULL);
    assert_int_equal(rec->t.v[0].n_cas, 1);
    assert_string_equal(rec->detail[0].dns[0], ISSUING_DN);
    report_baseline_free(b);
}

static void test_later_line_wins(void **state)
{
    (void)state;
    struct report_baseline *b = load("twice.jsonl", false);
    assert_int_equal(report_baseline_count(b), 2);
    const struct report_baseline_record *rec =
        report_baseline_lookup(b, "app.example.com:443", NULL);
    assert_int_equal(rec->line, 3);
    assert_int_equal(rec->t.v[0].n_cas, 2); /* line 1 had one name */
    assert_ptr_equal(report_baseline_at(b, 0), rec);
    assert_string_equal(report_baseline_at(b, 1)->target, "legacy.example.com:443");
    report_baseline_free(b);

    b = load("repeated-variant.jsonl", false);
    const struct report_baseline_target *t =
        report_baseline_find(b, "repeat.example.com:443", NULL);
    assert_int_equal(t->n, 2);
    const struct report_baseline_variant *v = variant(t, "192.0.2.70||1.2|handshake", NULL);
    assert_int_equal(v->state, REPORT_LIST_NONE); /* the third observation, not the first */
    assert_int_equal(v->n_cas, 0);
    assert_hex(v->cert_sha256, CERT_B);
    report_baseline_free(b);
}

/* smtp://app.example.com:25 and app.example.com:25 (TLS at once) are two records with the same
 * "target": each is found by its protocol, and a later line replaces only its own protocol's. */
static void test_protocols(void **state)
{
    (void)state;
    struct report_baseline *b = load("protocols.jsonl", false);
    assert_int_equal(report_baseline_count(b), 2);
    const struct report_baseline_record *tls =
        report_baseline_lookup(b, "app.example.com:25", NULL);
    const struct report_baseline_record *smtp =
        report_baseline_lookup(b, "app.example.com:25", "smtp");
    assert_non_null(tls);
    assert_non_null(smtp);
    assert_null(tls->starttls);
    assert_string_equal(smtp->starttls, "smtp");
    assert_int_equal(tls->line, 1);
    assert_int_equal(smtp->line, 3); /* line 3 replaced line 2, not line 1 */
    assert_int_equal(tls->t.v[0].n_cas, 1);
    assert_int_equal(smtp->t.v[0].n_cas, 2);
    assert_ptr_equal(report_baseline_find(b, "app.example.com:25", "smtp"), &smtp->t);
    assert_null(report_baseline_lookup(b, "app.example.com:25", "imap"));
    assert_true(report_baseline_record_cmp(tls, smtp) < 0); /* none sorts first */
    assert_true(report_baseline_record_cmp(smtp, tls) > 0);
    assert_int_equal(report_baseline_record_cmp(smtp, smtp), 0);
    report_baseline_free(b);
}

static void test_empty(void **state)
{
    (void)state;
    struct report_baseline *b = NULL;
    char err[256];
    assert_int_equal(report_baseline_load(&b, "/dev/null", err, sizeof(err)), 0);
    assert_non_null(b);
    assert_int_equal(report_baseline_count(b), 0);
    assert_null(report_baseline_find(b, "app.example.com:443", NULL));
    assert_true(report_baseline_empty(b, "nothing to report", err, sizeof(err)));
    assert_string_equal(err, "/dev/null: nothing to report: the file is empty");
    report_baseline_free(b);

    /* blank lines, or (read tolerantly) lines that are no record: no record either; one that
     * has records, or input-error records alone, is not empty */
    static const struct {
        const char *file, *why;
    } cases[] = {
        {"blank.jsonl", ": x: its 3 lines are blank"},
        {"no-record.jsonl", ": x: none of its 3 lines is a caprobe/1 record"},
        {"old.jsonl", NULL},
    };
    const struct report_baseline_opts tolerant = {.tolerant = true};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = fixture_path(cases[i].file), want[1024];
        assert_int_equal(report_baseline_load_opts(&b, path, &tolerant, err, sizeof(err)), 0);
        assert_int_equal(report_baseline_empty(b, "x", err, sizeof(err)), cases[i].why != NULL);
        snprintf(want, sizeof(want), "%s%s", path, cases[i].why ? cases[i].why : "");
        if (cases[i].why)
            assert_string_equal(err, want);
        report_baseline_free(b);
        free(path);
    }
    assert_false(report_baseline_empty(NULL, "x", err, sizeof(err)));
}

/* ---- malformed ------------------------------------------------------------------------------ */

/* The load fails with want_rc and "PATH" want; a '*' at the end of want matches any rest. */
static void expect_error(const char *name, int want_rc, const char *want,
                         const struct report_baseline_opts *opts)
{
    char *path = fixture_path(name);
    char err[512], full[1536];
    struct report_baseline *b = (struct report_baseline *)1;
    int rc = report_baseline_load_opts(&b, path, opts, err, sizeof(err));
    snprintf(full, sizeof(full), "%s%s", path, want);
    size_t n = strlen(full);
    bool prefix = n && full[n - 1] == '*';
    if (rc != want_rc || (prefix ? strncmp(err, full, n - 1) : strcmp(err, full)) != 0)
        fail_msg("%s: rc %d (%s), want %d (%s)", name, rc, err, want_rc, full);
    assert_null(b);
    free(path);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *file, *error;
    } cases[] = {
        {"bad-json.jsonl", ":2: not JSON: *"}, /* then jansson's words, which vary */
        {"bad-duplicate-key.jsonl", ":2: not JSON: duplicate object key*"},
        {"bad-not-object.jsonl", ":2: not a caprobe/1 record: expected an object, got array"},
        {"bad-no-schema.jsonl", ":1: missing field 'schema'"},
        {"bad-schema.jsonl", ":3: schema mismatch: 'caprobe/2', expected 'caprobe/1'"},
        /* an escape sequence in the file never reaches the terminal */
        {"bad-schema-escape.jsonl",
         ":1: schema mismatch: 'caprobe/1\\x1b[2J', expected 'caprobe/1'"},
        {"bad-target-type.jsonl", ":2: wrong type of 'target': expected string, got number"},
        {"bad-no-observations.jsonl", ":2: missing field 'observations'"},
        {"bad-observation-type.jsonl",
         ":2: wrong type of 'observations[1]': expected object, got string"},
        {"bad-address-type.jsonl",
         ":2: wrong type of 'observations[0].address': expected string or null, got number"},
        {"bad-no-tls-max.jsonl", ":2: missing field 'observations[0].tls_max'"},
        {"bad-null-phase.jsonl",
         ":2: wrong type of 'observations[0].phase': expected string, got null"},
        {"bad-outcome.jsonl", ":2: unknown value 'maybe' of 'observations[0].outcome': expected "
                              "certificate_request, no_certificate_request or error"},
        {"bad-no-certificate-request.jsonl",
         ":2: missing field 'observations[0].certificate_request'"},
        {"bad-cas-type.jsonl", ":2: wrong type of 'observations[0].certificate_request.cas': "
                               "expected array, got object"},
        {"bad-ca-no-sha256.jsonl",
         ":2: missing field 'observations[0].certificate_request.cas[0].sha256'"},
        {"bad-ca-hex.jsonl", ":2: bad hex in 'observations[0].certificate_request.cas[1].sha256': "
                             "expected 64 hex digits"},
        {"bad-ca-hex-short.jsonl", ":2: bad hex in "
                                   "'observations[0].certificate_request.cas[0].sha256': "
                                   "expected 64 hex digits"},
        {"bad-cert-hex.jsonl",
         ":2: bad hex in 'observations[0].server_certificate.sha256': expected 64 hex digits"},
        {"bad-error-no-kind.jsonl", ":2: missing field 'observations[0].error.kind'"},
        {"bad-input-no-message.jsonl", ":2: missing field 'error.message'"},
        {"bad-starttls-type.jsonl",
         ":2: wrong type of 'observations[0].starttls': expected string, got number"},
        {"bad-finding-severity.jsonl", ":2: unknown value 'severe' of 'findings[0].severity': "
                                       "expected info, low, medium, high or critical"},
        {"bad-finding-index.jsonl", ":2: bad value of 'findings[0].observations[0]': expected "
                                    "an index into 'observations' (0 to 0)"},
        {"bad-finding-no-rule.jsonl", ":1: missing field 'findings[0].rule'"},
    };
    /* findings are read (and so checked) only when asked for */
    const struct report_baseline_opts findings = {.keep_findings = true};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i].file, TLS_E_INVALID, cases[i].error,
                     strncmp(cases[i].file, "bad-finding", 11) == 0 ? &findings : NULL);
    expect_error("missing.jsonl", TLS_E_IO, ": No such file or directory", NULL);
}

static void test_line_limit(void **state)
{
    (void)state;
    size_t len;
    uint8_t *text = testutil_fixture("baseline/bad-long.jsonl", &len);
    const char *l2 = strchr((const char *)text, '\n') + 1;
    size_t l2_len = (size_t)(strchr(l2, '\n') - l2);
    free(text);

    /* a line of exactly the maximum is read, one byte more is not */
    struct report_baseline_opts opts = {.max_line = l2_len};
    char *path = fixture_path("bad-long.jsonl");
    struct report_baseline *b;
    char err[512], want[64];
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), 0);
    assert_int_equal(report_baseline_count(b), 1);
    assert_int_equal(report_baseline_find(b, "small.example.com:443", NULL)->v[0].n_cas, 9);
    report_baseline_free(b);
    free(path);
    opts.max_line = l2_len - 1;
    snprintf(want, sizeof(want), ":2: line longer than %zu bytes", l2_len - 1);
    expect_error("bad-long.jsonl", TLS_E_LIMIT, want, &opts);

    /* the default: 64 MiB and one byte without a newline (a sparse file: nothing written) */
    char tmp[] = "/tmp/caprobe-baseline-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)REPORT_BASELINE_MAX_LINE + 1), 0);
    close(fd);
    int rc = report_baseline_load(&b, tmp, err, sizeof(err));
    unlink(tmp);
    assert_int_equal(rc, TLS_E_LIMIT);
    assert_null(b);
    char full[128];
    snprintf(full, sizeof(full), "%s:1: line longer than 67108864 bytes", tmp);
    assert_string_equal(err, full);
}

/* ---- what a fleet report reads -------------------------------------------------------------- */

/* FNV-1a 64 over the sorted distinct SHA-256 of {Issuing CA 1, Test Root}, and of Issuing CA 1
 * alone, computed apart (Python: the FNV-1a loop over bytes.fromhex of the digests). */
#define LIST_ID_BOTH 0xc6f4ba041b61a9b8ULL
#define LIST_ID_ISSUING 0x063ceaff826f9ddaULL

static struct report_baseline *load_fleet(const char *name)
{
    char *path = fixture_path(name);
    struct report_baseline_opts opts = {
        .keep_names = true, .keep_findings = true, .keep_detail = true};
    struct report_baseline *b = NULL;
    char err[512];
    if (report_baseline_load_opts(&b, path, &opts, err, sizeof(err)))
        fail_msg("%s: %s", name, err);
    free(path);
    return b;
}

static void expect_variants(const struct report_baseline_finding *f, size_t n, const size_t *want)
{
    assert_int_equal(f->n_variants, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(f->variants[i], want[i]);
}

/* fleet.jsonl (fixtures/baseline/README.md): findings with their cited variants, sizes, errors,
 * certificates and list ids, read as written. */
static void test_fleet_fields(void **state)
{
    (void)state;
    struct report_baseline *b = load_fleet("fleet.jsonl");
    assert_int_equal(report_baseline_count(b), 2);
    const struct report_baseline_record *a =
        report_baseline_lookup(b, "fleet-a.example.com:443", NULL);
    /* observations 0 and 3 are one variant (3 wins): variants sorted by key */
    assert_int_equal(a->t.n, 3);
    assert_string_equal(a->t.v[0].key, "192.0.2.10|fleet-a.example.com|1.2|handshake");
    assert_string_equal(a->t.v[1].key, "192.0.2.10|fleet-a.example.com|1.3|handshake");
    assert_string_equal(a->t.v[2].key, "192.0.2.10||1.2|handshake");
    const struct report_baseline_detail *d = a->detail;
    assert_string_equal(d[0].address, "192.0.2.10");
    assert_string_equal(d[0].sni, "fleet-a.example.com");
    assert_string_equal(d[0].tls_max, "1.2");
    assert_string_equal(d[0].phase, "handshake");
    assert_string_equal(d[0].tls_version, "1.2");
    assert_int_equal(a->t.v[0].n_cas, 2);
    assert_int_equal(d[0].list_bytes, 129); /* list_bytes as written */
    assert_true(d[0].list_id == LIST_ID_BOTH);
    assert_string_equal(d[0].cert_subject, "CN=fleet-a.example.com"); /* observation 3's */
    assert_string_equal(d[0].cert_not_after, "2027-11-26T10:55:04Z");
    assert_string_equal(d[1].outcome, "error");
    assert_string_equal(d[1].error_kind, "version_not_offered");
    assert_string_equal(d[1].error_message,
                        "TLS 1.3 not offered: the server sent fatal alert protocol_version (70)");
    assert_true(d[1].list_id == 0);
    assert_int_equal(d[1].list_bytes, 0);
    assert_null(d[1].cert_subject);
    assert_null(d[2].sni);
    assert_string_equal(d[2].tls_version, "1.0"); /* the server chose a lower version */
    assert_string_equal(d[2].outcome, "no_certificate_request");
    assert_null(d[2].error_message);

    /* findings in the record's order, observations mapped to variants, each once */
    assert_int_equal(a->n_findings, 3);
    const struct report_baseline_finding *f = a->findings;
    assert_string_equal(f[0].rule, "sni-mismatch");
    assert_int_equal(f[0].severity, REPORT_SEV_HIGH);
    assert_string_equal(f[0].message, "the list depends on SNI");
    assert_string_equal(f[0].remedy, "fix the binding");
    expect_variants(&f[0], 2, (const size_t[]){0, 2});
    assert_string_equal(f[1].rule, "expected-ca-missing");
    assert_int_equal(f[1].severity, REPORT_SEV_MEDIUM);
    expect_variants(&f[1], 1, (const size_t[]){2});
    assert_string_equal(f[2].rule, "a-later-rule"); /* a later version's rule is kept */
    assert_int_equal(f[2].severity, REPORT_SEV_INFO);
    assert_null(f[2].remedy);
    expect_variants(&f[2], 2, (const size_t[]){0, 2}); /* [3, 0, 1, 3]: 3 and 0 are one */

    const struct report_baseline_record *rb =
        report_baseline_lookup(b, "fleet-b.example.com:8443", NULL);
    assert_int_equal(rb->t.n, 2);
    assert_int_equal(rb->t.v[0].n_cas, 3);                   /* the issuing CA twice */
    assert_int_equal(rb->detail[0].list_bytes, 189 + 3 * 2); /* no list_bytes: ca_bytes + 2 each */
    /* the same set in another order, one name repeated: the same list id */
    assert_true(rb->detail[0].list_id == LIST_ID_BOTH);
    assert_null(rb->detail[1].address); /* the name did not resolve */
    assert_string_equal(rb->detail[1].error_kind, "dns");
    assert_string_equal(rb->detail[1].error_message, "no such name");
    assert_int_equal(rb->n_findings, 1);
    expect_variants(&rb->findings[0], 1, (const size_t[]){0});
    report_baseline_free(b);

    /* without the options: none of it, but the list id */
    b = load("fleet.jsonl", false);
    a = report_baseline_lookup(b, "fleet-a.example.com:443", NULL);
    assert_int_equal(a->n_findings, 0);
    assert_null(a->findings);
    assert_null(a->detail[0].address);
    assert_null(a->detail[0].cert_subject);
    assert_int_equal(a->detail[0].list_bytes, 0);
    assert_true(a->detail[0].list_id == LIST_ID_BOTH);
    report_baseline_free(b);

    b = load("old.jsonl", false); /* legacy.example.com: the issuing CA alone */
    assert_true(report_baseline_lookup(b, "legacy.example.com:443", NULL)->detail[0].list_id ==
                LIST_ID_ISSUING);
    report_baseline_free(b);
}

/* tolerant.jsonl: good records on lines 1, 3 and 6; not JSON on line 2, a caprobe/2 record on
 * line 4, a blank line 5 and a last line cut in the middle (no newline). */
static void test_tolerant(void **state)
{
    (void)state;
    char *path = fixture_path("tolerant.jsonl");
    char err[512], want[3][600];
    struct report_baseline_opts opts = {.tolerant = true, .keep_findings = true};
    struct report_baseline *b = NULL;
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(report_baseline_count(b), 3);
    assert_non_null(report_baseline_lookup(b, "one.example.com:443", NULL));
    assert_non_null(report_baseline_lookup(b, "two.example.com:443", NULL));
    assert_int_equal(report_baseline_lookup(b, "three.example.com:443", NULL)->line, 6);
    assert_null(report_baseline_lookup(b, "future.example.com:443", NULL));
    assert_null(report_baseline_lookup(b, "cut.example.com:443", NULL));
    assert_int_equal(report_baseline_bad_count(b), 3);
    snprintf(want[0], sizeof(want[0]), "%s:2: not JSON: ", path);
    snprintf(want[1], sizeof(want[1]), "%s:4: schema mismatch: 'caprobe/2', expected 'caprobe/1'",
             path);
    snprintf(want[2], sizeof(want[2]), "%s:7: not JSON: ", path);
    assert_true(strncmp(report_baseline_bad_at(b, 0), want[0], strlen(want[0])) == 0);
    assert_string_equal(report_baseline_bad_at(b, 1), want[1]);
    assert_true(strncmp(report_baseline_bad_at(b, 2), want[2], strlen(want[2])) == 0);
    assert_null(report_baseline_bad_at(b, 3));
    report_baseline_free(b);

    /* without tolerance (--baseline, diff): the first bad line fails the load, as before */
    opts.tolerant = false;
    b = (struct report_baseline *)1;
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), TLS_E_INVALID);
    assert_null(b);
    assert_true(strncmp(err, want[0], strlen(want[0])) == 0);
    free(path);
}

/* Lines over the limit are skipped whole, with and without their newline in the buffer. */
static void test_tolerant_long(void **state)
{
    (void)state;
    static const char rec[] =
        "{\"schema\":\"caprobe/1\",\"target\":\"%s:443\",\"observations\":[]}\n";
    char tmp[] = "/tmp/caprobe-tolerant-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, rec, "one.example.com");
    fputc('[', f);
    for (int i = 0; i < 5000; i++) /* 5001 bytes: far over the 200 below, newline unseen */
        fputc(' ', f);
    fputs("]\n", f);
    fprintf(f, rec, "two.example.com");
    for (int i = 0; i < 300; i++) /* no newline at the end either */
        fputc('x', f);
    fclose(f);
    struct report_baseline_opts opts = {.tolerant = true, .max_line = 200};
    struct report_baseline *b = NULL;
    char err[512], want[2][128];
    assert_int_equal(report_baseline_load_opts(&b, tmp, &opts, err, sizeof(err)), 0);
    assert_int_equal(report_baseline_count(b), 2);
    assert_int_equal(report_baseline_lookup(b, "two.example.com:443", NULL)->line, 3);
    assert_int_equal(report_baseline_bad_count(b), 2);
    snprintf(want[0], sizeof(want[0]), "%s:2: line longer than 200 bytes", tmp);
    snprintf(want[1], sizeof(want[1]), "%s:4: line longer than 200 bytes", tmp);
    assert_string_equal(report_baseline_bad_at(b, 0), want[0]);
    assert_string_equal(report_baseline_bad_at(b, 1), want[1]);
    report_baseline_free(b);
    unlink(tmp);
}

/* A file of three lines: the records "a.example.com:443", then second_fmt with n units (sep
 * between them) in place of its '*', then "b.example.com:443". Returns the path (a temporary
 * file, to unlink). */
static char *three_lines(const char *second_fmt, size_t n, const char *unit, const char *sep)
{
    static const char rec[] =
        "{\"schema\":\"caprobe/1\",\"target\":\"%s:443\",\"observations\":[]}\n";
    char *path = strdup("/tmp/caprobe-dense-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, rec, "a.example.com");
    const char *star = strchr(second_fmt, '*'); /* where the n units go */
    fwrite(second_fmt, 1, (size_t)(star - second_fmt), f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? sep : "", unit);
    fputs(star + 1, f);
    fputc('\n', f);
    fprintf(f, rec, "b.example.com");
    fclose(f);
    return path;
}

/* A line whose JSON tree would take more than REPORT_BASELINE_MAX_TREE is refused before it is
 * parsed: 2,400,000 empty objects in 7 MiB (jansson: 232 bytes each, 538 MiB estimated), as a scan
 * file from elsewhere may hold; skipped and told in a tolerant load, an error in a strict one. */
static void test_dense_line(void **state)
{
    (void)state;
    char *path = three_lines("{\"schema\":\"caprobe/1\",\"target\":\"x:443\",\"observations\":[*]}",
                             2400000, "{}", ",");
    struct report_baseline_opts opts = {.tolerant = true};
    struct report_baseline *b = NULL;
    char err[512], head[256];
    static const char tail[] =
        " MiB to read, more than 512 MiB (a caprobe/1 record takes 4 to 7 times its size)";
    snprintf(head, sizeof(head),
             "%s:2: too many JSON values: 2400001 objects, 1 arrays, 5 strings and 0 numbers "
             "would take about ",
             path);
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), 0);
    assert_int_equal(report_baseline_count(b), 2);
    assert_int_equal(report_baseline_lookup(b, "b.example.com:443", NULL)->line, 3);
    assert_int_equal(report_baseline_bad_count(b), 1);
    const char *why = report_baseline_bad_at(b, 0);
    assert_int_equal(strncmp(why, head, strlen(head)), 0);
    assert_string_equal(why + strlen(why) - strlen(tail), tail);
    report_baseline_free(b);

    opts.tolerant = false;
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), TLS_E_LIMIT);
    assert_null(b);
    assert_int_equal(strncmp(err, head, strlen(head)), 0);
    unlink(path);
    free(path);
}

/* What the count of a line's values sees: numbers; not the bytes of a string, whatever they
 * hold (braces, escaped quotes), which count as their length alone. */
static void test_dense_tokens(void **state)
{
    (void)state;
    struct report_baseline_opts opts = {.tolerant = true, .max_tree = 1024 * 1024};
    struct report_baseline *b = NULL;
    char err[512], want[256];
    /* 30,000 numbers of 48 bytes: over 1 MiB */
    char *path = three_lines("[*]", 30000, "12", ",");
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), 0);
    snprintf(want, sizeof(want),
             "%s:2: too many JSON values: 0 objects, 1 arrays, 0 strings and 30000 numbers would "
             "take about 2 MiB to read, more than 1 MiB",
             path);
    assert_int_equal(report_baseline_bad_count(b), 1);
    assert_int_equal(strncmp(report_baseline_bad_at(b, 0), want, strlen(want)), 0);
    report_baseline_free(b);
    unlink(path);
    free(path);

    /* a record whose target is 300 KB of "\"{[": read (it is no target, but a record) */
    path = three_lines("{\"schema\":\"caprobe/1\",\"target\":\"*\",\"observations\":[]}", 100000,
                       "\\\"{[", "");
    assert_int_equal(report_baseline_load_opts(&b, path, &opts, err, sizeof(err)), 0);
    assert_int_equal(report_baseline_bad_count(b), 0);
    assert_int_equal(report_baseline_count(b), 3);
    report_baseline_free(b);
    unlink(path);
    free(path);
}

/* ---- with the rules ------------------------------------------------------------------------- */

/* The key written by jsonl.c and read back here is the key rules.c builds: legacy.example.com
 * renewed, its IP binding lost the list, and baseline-drift says so (high: renewal). */
static void rules_drift(const char *baseline)
{
    struct report_baseline *b = load(baseline, false);
    struct tls_observation hs, none;
    tls_observation_init(&hs);
    tls_observation_init(&none);
    size_t der_len;
    uint8_t *der = testutil_unhex(ISSUING_DER, &der_len);
    struct tls_ca_name *ca = tls_arena_alloc(&hs.arena, sizeof(*ca));
    assert_int_equal(tls_ca_name_decode(&hs.arena, ca, der, der_len), 0);
    free(der);
    hs.address = none.address = "192.0.2.20";
    hs.sni = "legacy.example.com";
    none.sni = NULL;
    hs.tls_max = none.tls_max = 0x0303;
    hs.version = none.version = 0x0303;
    hs.phase = none.phase = "handshake";
    hs.outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    hs.cas = ca;
    hs.ca_count = 1;
    hs.ca_bytes = der_len;
    none.outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
    none.server_cert.present = true;
    size_t n;
    uint8_t *cert = testutil_unhex(CERT_B, &n);
    memcpy(none.server_cert.sha256, cert, 32);
    free(cert);
    struct tls_observation *obs[] = {&hs, &none};
    struct report_target t = {.target = "legacy.example.com:443",
                              .host = "legacy.example.com",
                              .port = 443,
                              .obs = obs,
                              .n_obs = 2};
    struct report_context ctx;
    report_context_init(&ctx);
    ctx.baseline = report_baseline_find(b, t.target, NULL);
    assert_non_null(ctx.baseline);
    struct report_findings f;
    report_findings_init(&f);
    assert_int_equal(report_rules_run(&t, &ctx, &f), 0);
    size_t drift = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (strcmp(f.v[i].rule->name, "baseline-drift") != 0)
            continue;
        drift++;
        assert_int_equal(f.v[i].n_obs, 1);
        assert_int_equal(f.v[i].obs[0], 1); /* the SNI variant kept its list: no drift */
        assert_int_equal(f.v[i].severity, REPORT_SEV_HIGH);
        assert_non_null(strstr(f.v[i].message, "certificate changed too"));
    }
    assert_int_equal(drift, 1);
    report_findings_free(&f);
    tls_observation_free(&hs);
    tls_observation_free(&none);
    report_baseline_free(b);
}

static void test_rules_drift(void **state)
{
    (void)state;
    rules_drift("old.jsonl");
    rules_drift("old-compact.jsonl"); /* the same scan in the compact form */
}

/* ---- diff ----------------------------------------------------------------------------------- */

struct diff_result {
    int status;
    char *out, *err;
};

/* Run in fixtures/baseline so that the file names in the text do not depend on where it is. */
static struct diff_result diff(const char *old_name, const char *new_name, unsigned flags)
{
    char *dir = fixture_path("");
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    struct diff_result r;
    size_t n_out, n_err;
    FILE *out = open_memstream(&r.out, &n_out), *err = open_memstream(&r.err, &n_err);
    assert_non_null(out);
    assert_non_null(err);
    r.status = report_diff_run(old_name, new_name, flags, out, err);
    fclose(out);
    fclose(err);
    assert_int_equal(chdir(cwd), 0);
    free(dir);
    return r;
}

static void diff_free(struct diff_result *r)
{
    free(r->out);
    free(r->err);
}

/* The first line of a text diff without a finding that differs. */
#define NO_FINDINGS "findings: 0 new, 0 changed, 0 resolved; targets: "

static void test_diff_identical(void **state)
{
    (void)state;
    struct diff_result r = diff("old.jsonl", "old.jsonl", 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, NO_FINDINGS "0 changed, 0 added, 0 removed, 5 unchanged\n\n"
                                           "summary: 0 changed, 0 added, 0 removed, 5 unchanged\n");
    assert_string_equal(r.err, "");
    diff_free(&r);
    /* other order, CRLF, no final newline, no input-error line: the same scan */
    r = diff("old.jsonl", "old-reordered.jsonl", 1);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    diff_free(&r);
}

/* A scan from before version_not_offered told a declined TLS 1.3 as the alert (tls_alert): the
 * same server, no change; another error kind is one. */
static void test_diff_declined(void **state)
{
    (void)state;
    struct diff_result r = diff("declined-old.jsonl", "declined-new.jsonl", 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, NO_FINDINGS "0 changed, 0 added, 0 removed, 1 unchanged\n\n"
                                           "summary: 0 changed, 0 added, 0 removed, 1 unchanged\n");
    diff_free(&r);
    r = diff("declined-new.jsonl", "declined-old.jsonl", 0);
    assert_int_equal(r.status, 0);
    diff_free(&r);
    r = diff("declined-new.jsonl", "declined-refused.jsonl", REPORT_DIFF_NAMES);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "version_not_offered"));
    diff_free(&r);
}

static void expect_golden(const char *got, const char *rel)
{
    size_t len;
    uint8_t *want = testutil_fixture(rel, &len);
    assert_string_equal(got, (const char *)want);
    free(want);
}

/* The TLS 1.2 probe got TLS 1.0 in NEW with the same list: a difference (a downgrade), named in
 * the text and in JSON Lines as version_changed. */
static void test_diff_version(void **state)
{
    (void)state;
    struct diff_result r = diff("version-old.jsonl", "version-new.jsonl", REPORT_DIFF_NAMES);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "  [192.0.2.10, SNI app.example.com, TLS 1.2]:\n"
                                  "    TLS version chosen: 1.2 -> 1.0\n"));
    assert_null(strstr(r.out, "TLS 1.3]:")); /* the TLS 1.3 variant did not change */
    diff_free(&r);
    r = diff("version-old.jsonl", "version-new.jsonl", REPORT_DIFF_JSON);
    assert_int_equal(r.status, 1);
    assert_non_null(
        strstr(r.out, "{\"kind\":\"version_changed\",\"old\":\"1.2\",\"new\":\"1.0\"}"));
    diff_free(&r);
    r = diff("version-old.jsonl", "version-old.jsonl", 0);
    assert_int_equal(r.status, 0);
    diff_free(&r);
}

static void test_diff_text(void **state)
{
    (void)state;
    struct diff_result r = diff("old.jsonl", "new.jsonl", 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "");
    expect_golden(r.out, "baseline/diff-old-new.txt");
    /* findings first: the one new finding, counted, then under its target; the names only
     * with --names */
    assert_true(strncmp(r.out,
                        "findings: 1 new, 0 changed, 0 resolved; targets: 3 changed, 1 added, 1 "
                        "removed, 1 unchanged\n",
                        strlen("findings: 1 new, 0 changed, 0 resolved; targets: 3 changed, 1 "
                               "added, 1 removed, 1 unchanged\n")) == 0);
    assert_non_null(strstr(r.out, "\nlegacy.example.com:443: changed\n"
                                  "  new       high     sni-mismatch: [192.0.2.20, SNI "
                                  "legacy.example.com, TLS 1.2] asks for a certificate"));
    assert_null(strstr(r.out, ISSUING_DN));
    assert_non_null(strstr(r.out, "  lists: 4 variants changed (caprobe diff --names"));
    diff_free(&r);

    r = diff("old.jsonl", "new.jsonl", REPORT_DIFF_NAMES);
    assert_int_equal(r.status, 1);
    expect_golden(r.out, "baseline/diff-old-new-names.txt");
    /* the IIS story: the IP binding lost its list when the certificate was renewed */
    assert_non_null(strstr(r.out,
                           "  [192.0.2.20, no SNI, TLS 1.2]:\n"
                           "    certificate request disappeared\n"
                           "    - " ISSUING_DN "\n"
                           "    server certificate changed: sha256 " CERT_A " -> " CERT_B "\n"));
    assert_non_null(strstr(r.out, "\ngone.example.com:443: removed (only in old.jsonl)\n"));
    assert_non_null(strstr(r.out, "\nnew.example.com:443: added (only in new.jsonl)\n"));
    assert_non_null(strstr(r.out, "\nsummary: 3 changed, 1 added, 1 removed, 1 unchanged\n"));
    diff_free(&r);
}

/* The changes of one variant of one target in JSON output, as a "kind,kind" string. */
static json_t *json_target(json_t *lines, const char *target)
{
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "target")), target) == 0)
            return o;
    }
    fail_msg("no record of %s", target);
    return NULL;
}

static json_t *json_changes(json_t *rec, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "variants"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "key")), key) == 0)
            return json_object_get(v, "changes");
    }
    fail_msg("no variant %s", key);
    return NULL;
}

static void expect_kinds(json_t *changes, const char *want)
{
    char got[256] = "";
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        if (i)
            strcat(got, ",");
        strcat(got, json_string_value(json_object_get(c, "kind")));
    }
    assert_string_equal(got, want);
}

static void test_diff_json(void **state)
{
    (void)state;
    struct diff_result r = diff("old.jsonl", "new.jsonl", 1);
    assert_int_equal(r.status, 1);
    expect_golden(r.out, "baseline/diff-old-new.jsonl");

    json_t *lines = json_array();
    size_t n = 0;
    for (char *p = r.out, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1, n++) {
        json_error_t jerr;
        json_t *o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &jerr);
        if (o == NULL)
            fail_msg("line %zu: %s", n + 1, jerr.text);
        json_array_append_new(lines, o);
    }
    assert_int_equal(n, 5); /* changed targets only, sorted */
    static const char *const order[] = {"192.0.2.30:8443", "gone.example.com:443",
                                        "legacy.example.com:443", "new.example.com:443",
                                        "portal.example.com:443"};
    static const char *const status[] = {"changed", "removed", "changed", "added", "changed"};
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(lines, i);
        assert_string_equal(json_string_value(json_object_get(o, "target")), order[i]);
        assert_string_equal(json_string_value(json_object_get(o, "status")), status[i]);
    }
    assert_int_equal(
        json_array_size(json_object_get(json_target(lines, "new.example.com:443"), "variants")), 0);

    json_t *legacy = json_target(lines, "legacy.example.com:443");
    expect_kinds(json_changes(legacy, "192.0.2.20|legacy.example.com|1.2|handshake"),
                 "certificate_changed");
    json_t *c = json_changes(legacy, "192.0.2.20||1.3|handshake");
    expect_kinds(c, "request_disappeared,names_removed,certificate_changed");
    json_t *names = json_object_get(json_array_get(c, 1), "names");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), ISSUING_DN);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "old")), CERT_A);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "new")), CERT_B);

    json_t *portal = json_target(lines, "portal.example.com:443");
    c = json_changes(portal, "192.0.2.40|portal.example.com|1.3|handshake");
    expect_kinds(c, "names_added,names_removed");
    names = json_object_get(json_array_get(c, 0), "names");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)),
                        "CN=Other CA,O=Elsewhere,C=US");
    assert_string_equal(json_string_value(json_array_get(names, 1)), ROOT_DN);
    expect_kinds(json_changes(portal, "192.0.2.41|portal.example.com|1.3|handshake"),
                 "variant_added");

    json_t *ip = json_target(lines, "192.0.2.30:8443");
    c = json_changes(ip, "192.0.2.30||1.3|handshake");
    expect_kinds(c, "outcome_changed");
    json_t *oc = json_array_get(c, 0);
    assert_string_equal(json_string_value(json_object_get(oc, "old_error")), "timeout");
    assert_string_equal(json_string_value(json_object_get(oc, "new_error")), "tls_alert");
    c = json_changes(ip, "192.0.2.30||1.2|handshake");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "new")),
                        "certificate_request");
    assert_null(json_object_get(json_array_get(c, 0), "new_error"));
    json_decref(lines);
    diff_free(&r);
}

/* Swapped: what disappeared now appears, added and removed trade places. */
static void test_diff_reverse(void **state)
{
    (void)state;
    struct diff_result r = diff("new.jsonl", "old.jsonl", 1);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "{\"target\":\"gone.example.com:443\",\"status\":\"added\","));
    assert_non_null(strstr(r.out, "{\"target\":\"new.example.com:443\",\"status\":\"removed\","));
    assert_non_null(
        strstr(r.out, "{\"key\":\"192.0.2.20||1.2|handshake\",\"changes\":[{\"kind\":"
                      "\"request_appeared\"},{\"kind\":\"names_added\",\"names\":[\"" ISSUING_DN
                      "\"]},{\"kind\":\"certificate_changed\",\"old\":\"" CERT_B
                      "\",\"new\":\"" CERT_A "\"}]}"));
    assert_non_null(strstr(r.out, "{\"key\":\"192.0.2.41|portal.example.com|1.3|handshake\","
                                  "\"changes\":[{\"kind\":\"variant_removed\"}]}"));
    diff_free(&r);
}

/* Repeated names count once; an empty list is a request, its loss is not a name removed. */
static void test_diff_name_sets(void **state)
{
    (void)state;
    struct diff_result r = diff("names-old.jsonl", "names-new.jsonl", 1);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "{\"target\":\"names.example.com:443\",\"status\":\"changed\","
                               "\"variants\":[{\"key\":\"192.0.2.80||1.2|handshake\",\"changes\":"
                               "[{\"kind\":\"names_added\",\"names\":[\"CN=Other CA,O=Elsewhere,"
                               "C=US\"]}]},{\"key\":\"192.0.2.80||1.3|handshake\",\"changes\":"
                               "[{\"kind\":\"request_disappeared\"}]}],\"findings\":[]}\n");
    diff_free(&r);
}

/* ---- findings ------------------------------------------------------------------------------ */

/* "change rule severity [old severity] message" of each pair, one per line. */
static void pairs_text(const struct report_finding_pair *p, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        const struct report_baseline_finding *f = p[i].now ? p[i].now : p[i].old;
        len += (size_t)snprintf(
            buf + len, cap - len, "%s %s %s%s%s %s\n", report_finding_change_name(p[i].change),
            f->rule, report_severity_name(f->severity),
            p[i].change == REPORT_FINDING_CHANGED ? " was " : "",
            p[i].change == REPORT_FINDING_CHANGED ? report_severity_name(p[i].old->severity) : "",
            f->message);
    }
}

/* findings-old.jsonl -> findings-new.jsonl (fixtures/baseline/README.md): fa.example.com keeps
 * its variants, in another order of observations, and its findings change as built: a rule
 * per variant (expected-ca-missing) is known by the variant it cites, not by its index; a rule
 * of a later version that fires twice pairs in order; the same HOST:PORT in two protocols is two
 * records. */
static void test_findings_pair(void **state)
{
    (void)state;
    struct report_baseline *o = load_fleet("findings-old.jsonl"),
                           *n = load_fleet("findings-new.jsonl");
    struct report_finding_pair *p;
    size_t count;
    char got[2048];
    assert_int_equal(report_findings_pair(report_baseline_lookup(o, "fa.example.com:443", NULL),
                                          report_baseline_lookup(n, "fa.example.com:443", NULL), &p,
                                          &count),
                     0);
    pairs_text(p, count, got, sizeof(got));
    assert_string_equal(got, "new expected-ca-missing high [192.0.2.3] lacks 2\n"
                             "new sni-mismatch high the list depends on SNI\n"
                             "changed oversized-ca-list high was medium a CA list of 40000 bytes\n"
                             "changed a-later-rule low was low c\n"
                             "resolved expected-ca-missing high [192.0.2.1] lacks 1\n"
                             "resolved public-ca-accepted medium msg P\n"
                             "same expected-ca-missing high [192.0.2.2] lacks 1\n"
                             "same root-store-dump high msg R\n"
                             "same a-later-rule low a\n");
    assert_string_equal(p[3].old->message, "b");
    free(p);

    /* a target in one scan only: all its findings new, or resolved */
    assert_int_equal(report_findings_pair(
                         NULL, report_baseline_lookup(n, "fc.example.com:443", NULL), &p, &count),
                     0);
    pairs_text(p, count, got, sizeof(got));
    assert_string_equal(got, "new empty-ca-list medium 1 probe received an empty list\n");
    free(p);
    assert_int_equal(report_findings_pair(report_baseline_lookup(o, "fb.example.com:443", NULL),
                                          NULL, &p, &count),
                     0);
    assert_int_equal(count, 1);
    assert_int_equal(p[0].change, REPORT_FINDING_RESOLVED);
    assert_null(p[0].now);
    free(p);
    assert_int_equal(report_findings_pair(NULL, NULL, &p, &count), 0);
    assert_int_equal(count, 0);
    assert_null(p);
    report_baseline_free(o);
    report_baseline_free(n);
}

/* The same, end to end: the counts first, then each target's findings that differ; JSON Lines
 * with each finding's change. */
static void test_diff_findings(void **state)
{
    (void)state;
    struct diff_result r = diff("findings-old.jsonl", "findings-new.jsonl", 0);
    assert_int_equal(r.status, 1);
    expect_golden(r.out, "baseline/diff-findings.txt");
    static const char first[] = "findings: 4 new, 2 changed, 4 resolved (1 new on added targets, "
                                "1 resolved on removed ones); targets: 3 changed, 1 added, 1 "
                                "removed, 1 unchanged\n";
    assert_true(strncmp(r.out, first, strlen(first)) == 0);
    assert_null(strstr(r.out, "fd.example.com")); /* unchanged */
    assert_non_null(strstr(r.out, "\nfe.example.com:25 (STARTTLS smtp): changed\n"
                                  "  resolved  high     root-store-dump: smtp dump\n"));
    assert_non_null(strstr(r.out, "  changed   high     oversized-ca-list (was medium): a CA "
                                  "list of 40000 bytes\n"
                                  "                     was: a CA list of 20000 bytes\n"));
    diff_free(&r);

    r = diff("findings-old.jsonl", "findings-new.jsonl", REPORT_DIFF_JSON);
    assert_int_equal(r.status, 1);
    size_t counts[4] = {0}, lines = 0;
    for (char *p = r.out, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1, lines++) {
        json_error_t jerr;
        json_t *o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(o);
        assert_int_equal(json_array_size(json_object_get(o, "variants")), 0);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(o, "findings"), i, f)
        {
            const char *c = json_string_value(json_object_get(f, "change"));
            counts[strcmp(c, "new") == 0 ? 0 : strcmp(c, "changed") == 0 ? 1 : 2]++;
            if (strcmp(c, "changed") == 0)
                assert_non_null(json_object_get(f, "old_message"));
            if (strcmp(json_string_value(json_object_get(f, "rule")), "sni-mismatch") == 0) {
                json_t *v = json_object_get(f, "variants");
                assert_int_equal(json_array_size(v), 2);
                assert_string_equal(json_string_value(json_array_get(v, 0)),
                                    "192.0.2.1||1.2|handshake");
            }
        }
        json_decref(o);
    }
    assert_int_equal(lines, 5); /* fa, fb, fc, fe, fe (smtp); not fd */
    assert_int_equal(counts[0], 4);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 4);
    diff_free(&r);
}

/* ---- the compact form ----------------------------------------------------------------------- */

/* old-compact.jsonl is old.jsonl without "der" and with "compact": true: the same index, names
 * and texts included. */
static void test_compact_index(void **state)
{
    (void)state;
    struct report_baseline *full = load("old.jsonl", true),
                           *compact = load("old-compact.jsonl", true);
    assert_int_equal(report_baseline_count(compact), report_baseline_count(full));
    size_t names = 0;
    for (size_t i = 0; i < report_baseline_count(full); i++) {
        const struct report_baseline_record *a = report_baseline_at(full, i),
                                            *b = report_baseline_at(compact, i);
        assert_string_equal(b->target, a->target);
        assert_int_equal(b->line, a->line);
        assert_int_equal(b->t.n, a->t.n);
        for (size_t k = 0; k < a->t.n; k++) {
            const struct report_baseline_variant *va = &a->t.v[k], *vb = &b->t.v[k];
            assert_string_equal(vb->key, va->key);
            assert_int_equal(vb->state, va->state);
            assert_int_equal(vb->n_cas, va->n_cas);
            assert_int_equal(vb->has_cert, va->has_cert);
            assert_memory_equal(vb->cert_sha256, va->cert_sha256, 32);
            assert_string_equal(b->detail[k].outcome, a->detail[k].outcome);
            if (a->detail[k].error_kind)
                assert_string_equal(b->detail[k].error_kind, a->detail[k].error_kind);
            else
                assert_null(b->detail[k].error_kind);
            for (size_t m = 0; m < va->n_cas; m++, names++) {
                assert_memory_equal(vb->cas[m], va->cas[m], 32);
                assert_string_equal(b->detail[k].dns[m], a->detail[k].dns[m]);
            }
        }
    }
    assert_int_equal(names, 13); /* app 4 x 2, legacy 4 x 1, portal 1 */
    report_baseline_free(full);
    report_baseline_free(compact);
}

/* No difference between the two files, in text and in JSON. */
static void expect_unchanged(const char *old_name, const char *new_name, size_t targets)
{
    char want[256];
    snprintf(want, sizeof(want),
             NO_FINDINGS "0 changed, 0 added, 0 removed, %zu unchanged\n\n"
                         "summary: 0 changed, 0 added, 0 removed, %zu unchanged\n",
             targets, targets);
    struct diff_result r = diff(old_name, new_name, 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    diff_free(&r);
    r = diff(old_name, new_name, 1);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    diff_free(&r);
}

/* A malformed name's sha256 is of its bytes in both forms (the compact form keeps them as the
 * hex of dn): they compare as the same name. */
static void test_compact_malformed(void **state)
{
    (void)state;
    struct report_baseline *b = load("malformed-compact.jsonl", true);
    const struct report_baseline_record *rec =
        report_baseline_lookup(b, "odd.example.com:443", NULL);
    assert_non_null(rec);
    assert_int_equal(rec->t.n, 1);
    assert_int_equal(rec->t.v[0].state, REPORT_LIST_NAMES);
    assert_int_equal(rec->t.v[0].n_cas, 3);
    assert_hex(rec->t.v[0].cas[0], BAD_FF_SHA); /* sorted by SHA-256 */
    assert_hex(rec->t.v[0].cas[1], ISSUING_SHA);
    assert_hex(rec->t.v[0].cas[2], EMPTY_SHA);
    assert_string_equal(rec->detail[0].dns[0], "000102ff");
    assert_string_equal(rec->detail[0].dns[2], "");
    report_baseline_free(b);

    expect_unchanged("malformed.jsonl", "malformed-compact.jsonl", 1);
    expect_unchanged("malformed-compact.jsonl", "malformed.jsonl", 1);
    /* one malformed name for another: told by the hex of their bytes */
    struct diff_result r = diff("malformed.jsonl", "malformed-changed-compact.jsonl", 1);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "{\"target\":\"odd.example.com:443\",\"status\":\"changed\","
                               "\"variants\":[{\"key\":\"192.0.2.90||1.2|handshake\",\"changes\":"
                               "[{\"kind\":\"names_added\",\"names\":[\"000102fe\"]},"
                               "{\"kind\":\"names_removed\",\"names\":[\"000102ff\"]}]}],"
                               "\"findings\":[]}\n");
    diff_free(&r);
    b = load("malformed-changed-compact.jsonl", false);
    const struct report_baseline_target *t = report_baseline_find(b, "odd.example.com:443", NULL);
    assert_hex(t->v[0].cas[1], BAD_FE_SHA); /* sorted: between 95e9.. and e3b0.. */
    report_baseline_free(b);
}

/* Full against compact, either way round: the same scan is unchanged, and the changes between
 * two scans are those of the full files (the golden output), whichever side is compact. */
static void test_diff_compact(void **state)
{
    (void)state;
    static const char *const same[][2] = {{"old.jsonl", "old-compact.jsonl"},
                                          {"old-compact.jsonl", "old.jsonl"},
                                          {"old-reordered.jsonl", "old-compact.jsonl"}};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        expect_unchanged(same[i][0], same[i][1], 5);
    static const char *const changed[][2] = {{"old-compact.jsonl", "new.jsonl"},
                                             {"old.jsonl", "new-compact.jsonl"},
                                             {"old-compact.jsonl", "new-compact.jsonl"}};
    for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
        struct diff_result r = diff(changed[i][0], changed[i][1], 1);
        assert_int_equal(r.status, 1);
        expect_golden(r.out, "baseline/diff-old-new.jsonl");
        diff_free(&r);
    }
}

static void test_diff_errors(void **state)
{
    (void)state;
    struct diff_result r = diff("old.jsonl", "bad-schema.jsonl", 0);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "caprobe diff: bad-schema.jsonl:3: schema mismatch: 'caprobe/2', "
                               "expected 'caprobe/1'\n");
    diff_free(&r);
    r = diff("missing.jsonl", "old.jsonl", 0);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "caprobe diff: missing.jsonl: No such file or directory\n");
    diff_free(&r);
    r = diff("-", "-", 0);
    assert_int_equal(r.status, 2);
    diff_free(&r);

    /* the output cannot be written: an error, never "no differences" */
    char *o = fixture_path("old.jsonl"), *n = fixture_path("new.jsonl");
    FILE *full = fopen("/dev/full", "w");
    assert_non_null(full);
    char *msg;
    size_t len;
    FILE *err = open_memstream(&msg, &len);
    assert_int_equal(report_diff_run(o, n, 0, full, err), 2);
    fclose(err);
    fclose(full);
    assert_string_equal(msg, "caprobe diff: cannot write the output: No space left on device\n");
    free(msg);
    free(o);
    free(n);

    /* a file with no record: nothing to compare, never every target added or removed */
    static const struct {
        const char *old, *new, *err;
    } empty[] = {
        {"/dev/null", "old.jsonl",
         "caprobe diff: /dev/null: nothing to compare: the file is empty\n"},
        {"old.jsonl", "blank.jsonl",
         "caprobe diff: blank.jsonl: nothing to compare: its 3 lines are blank\n"},
        {"blank.jsonl", "/dev/null",
         "caprobe diff: blank.jsonl: nothing to compare: its 3 lines are blank\n"},
    };
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        r = diff(empty[i].old, empty[i].new, 0);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        assert_string_equal(r.err, empty[i].err);
        diff_free(&r);
    }
}

/* caprobe diff's command line: every message says "caprobe diff: ", what was wrong, and where
 * to look; exit status 2. */
static void test_diff_usage(void **state)
{
    (void)state;
    static const struct {
        const char *argv[4];
        const char *err;
    } cases[] = {
        {{"diff", "--bogus", "a", "b"}, "unknown option '--bogus'"},
        {{"diff", "--format", NULL}, "--format needs a value"},
        {{"diff", "--format", "xml", "a"}, "--format: expected text or jsonl, got 'xml'"},
        {{"diff", "a.jsonl", NULL}, "expected two files, OLD.jsonl and NEW.jsonl, got 1"},
        {{"diff", "a", "b", "c"}, "expected two files, OLD.jsonl and NEW.jsonl, got 3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[5] = {NULL}, *msg, *text;
        int argc = 0;
        while (argc < 4 && cases[i].argv[argc]) {
            argv[argc] = (char *)cases[i].argv[argc];
            argc++;
        }
        size_t len, n;
        FILE *err = open_memstream(&msg, &len), *out = open_memstream(&text, &n);
        assert_int_equal(report_diff_main(argc, argv, out, err), 2);
        fclose(err);
        fclose(out);
        char want[256];
        snprintf(want, sizeof(want), "caprobe diff: %s\nTry 'caprobe diff --help'.\n",
                 cases[i].err);
        assert_string_equal(msg, want);
        assert_string_equal(text, "");
        free(msg);
        free(text);
    }
    /* the usage text points to what an installed caprobe has, not to the repository */
    char *argv[] = {"diff", "--help", NULL}, *text, *msg;
    size_t n, len;
    FILE *out = open_memstream(&text, &n), *err = open_memstream(&msg, &len);
    assert_int_equal(report_diff_main(2, argv, out, err), 0);
    fclose(out);
    fclose(err);
    assert_null(strstr(text, "docs/"));
    assert_non_null(strstr(text, "caprobe's documentation"));
    free(text);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_keep_names),
        cmocka_unit_test(test_later_line_wins),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_fleet_fields),
        cmocka_unit_test(test_tolerant),
        cmocka_unit_test(test_tolerant_long),
        cmocka_unit_test(test_dense_line),
        cmocka_unit_test(test_dense_tokens),
        cmocka_unit_test(test_rules_drift),
        cmocka_unit_test(test_diff_identical),
        cmocka_unit_test(test_diff_declined),
        cmocka_unit_test(test_diff_text),
        cmocka_unit_test(test_diff_version),
        cmocka_unit_test(test_diff_json),
        cmocka_unit_test(test_diff_reverse),
        cmocka_unit_test(test_diff_name_sets),
        cmocka_unit_test(test_findings_pair),
        cmocka_unit_test(test_diff_findings),
        cmocka_unit_test(test_compact_index),
        cmocka_unit_test(test_compact_malformed),
        cmocka_unit_test(test_diff_compact),
        cmocka_unit_test(test_diff_errors),
        cmocka_unit_test(test_diff_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
