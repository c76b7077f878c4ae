/* Unit tests for report/rules.c: each rule fires on its case, names its evidence, and stays
 * silent on the clean case; severities, overrides and disabled rules; ordering. Observations
 * are built here from canned names, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/report.h"
#include "report/rules.h"
#include "tls/namecache.h"
#include "tls/digest.h"

/* DER Name "CN=<cn>" (cn shorter than 100 bytes), as UTF8String or PrintableString. */
static size_t dn_make(uint8_t *out, const char *cn, uint8_t string_tag)
{
    size_t n = strlen(cn);
    uint8_t *p = out;
    *p++ = 0x30;
    *p++ = (uint8_t)(n + 11);
    *p++ = 0x31;
    *p++ = (uint8_t)(n + 9);
    *p++ = 0x30;
    *p++ = (uint8_t)(n + 7);
    memcpy(p, "\x06\x03\x55\x04\x03", 5);
    p += 5;
    *p++ = string_tag;
    *p++ = (uint8_t)n;
    memcpy(p, cn, n);
    return n + 13;
}

/* An observation: outcome from the name list (NULL: no request, "" first: empty list). */
static struct tls_observation *obs_make(const char *addr, const char *sni, uint16_t ver,
                                        const char *phase, const char *const *cns, size_t n)
{
    struct tls_observation *o = malloc(sizeof(*o));
    tls_observation_init(o);
    o->address = addr;
    o->sni = sni;
    o->tls_max = ver;
    o->version = ver;
    o->phase = phase;
    if (cns == NULL) {
        o->outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
        return o;
    }
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    o->has_cas = n > 0;
    struct tls_ca_name *cas = tls_arena_alloc(&o->arena, sizeof(*cas) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        uint8_t der[128];
        size_t len = dn_make(der, cns[i], 0x0c);
        assert_int_equal(tls_ca_name_decode(&o->arena, &cas[i], der, len), 0);
        o->ca_bytes += len;
    }
    o->cas = cas;
    o->ca_count = n;
    return o;
}

static struct tls_observation *obs_error(const char *addr, const char *sni, uint16_t ver)
{
    struct tls_observation *o = malloc(sizeof(*o));
    tls_observation_init(o);
    o->address = addr;
    o->sni = sni;
    o->tls_max = ver;
    tls_observation_set_error(o, TLS_ERROR_TIMEOUT, 0, 0, "timeout");
    return o;
}

struct fixture {
    struct tls_observation *obs[8];
    size_t n;
    struct report_target t;
    struct report_context ctx;
    struct report_findings f;
};

static void fx_init(struct fixture *x)
{
    memset(x, 0, sizeof(*x));
    x->t.target = "app.example:443";
    x->t.host = "app.example";
    x->t.port = 443;
    x->t.obs = x->obs;
    report_context_init(&x->ctx);
    report_findings_init(&x->f);
}

static void fx_add(struct fixture *x, struct tls_observation *o)
{
    x->obs[x->n++] = o;
    x->t.n_obs = x->n;
}

static void fx_run(struct fixture *x)
{
    report_findings_free(&x->f);
    report_findings_init(&x->f);
    assert_int_equal(report_rules_run(&x->t, &x->ctx, &x->f), 0);
}

static void fx_free(struct fixture *x)
{
    for (size_t i = 0; i < x->n; i++) {
        tls_observation_free(x->obs[i]);
        free(x->obs[i]);
    }
    report_findings_free(&x->f);
}

/* The finding of rule id, or NULL; with `contains`, its message must contain it. */
static const struct report_finding *find(const struct fixture *x, const char *id,
                                         const char *contains)
{
    for (size_t i = 0; i < x->f.n; i++)
        if (strcmp(x->f.v[i].rule->name, id) == 0) {
            if (contains && strstr(x->f.v[i].message, contains) == NULL)
                fail_msg("%s: message '%s' lacks '%s'", id, x->f.v[i].message, contains);
            return &x->f.v[i];
        }
    return NULL;
}

static const char *const good[] = {"Corp Issuing CA 1"};
static const char *const other[] = {"Corp Issuing CA 2"};

static void test_clean_target_is_silent(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", "app.example", 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", "app.example", 0x0304, "handshake", good, 1));
    fx_add(&x, obs_error("192.0.2.1", NULL, 0x0304)); /* errors compare with nothing */
    fx_run(&x);
    assert_int_equal(x.f.n, 0);
    assert_int_equal(report_findings_max(&x.f), -1);
    fx_free(&x);
}

static void test_sni_mismatch(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", "app.example", 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", other, 1));
    fx_run(&x);
    const struct report_finding *f = find(&x, "sni-mismatch", "CN=Corp Issuing CA 1");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "CN=Corp Issuing CA 2"));
    assert_int_equal(f->severity, REPORT_SEV_HIGH);
    assert_int_equal(f->n_obs, 2);
    assert_null(find(&x, "version-mismatch", NULL));
    assert_null(find(&x, "address-mismatch", NULL));
    fx_free(&x);
}

static void test_version_and_address_mismatch(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0304, "handshake", NULL, 0)); /* no request */
    fx_add(&x, obs_make("2001:db8::1", NULL, 0x0303, "handshake", other, 1));
    fx_run(&x);
    assert_non_null(find(&x, "version-mismatch", "does not ask"));
    assert_non_null(find(&x, "address-mismatch", "2001:db8::1"));
    assert_null(find(&x, "sni-mismatch", NULL));
    fx_free(&x);
}

static void test_renegotiation_and_post_request(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", NULL, 0));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "renegotiation", good, 1));
    fx_run(&x);
    assert_non_null(find(&x, "post-request-client-auth", "renegotiation"));
    assert_null(find(&x, "renegotiation-mismatch", NULL)); /* one phase has no list at all */
    fx_free(&x);
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", other, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "renegotiation", good, 1));
    fx_run(&x);
    assert_non_null(find(&x, "renegotiation-mismatch", "CN=Corp Issuing CA 1"));
    assert_null(find(&x, "post-request-client-auth", NULL));
    fx_free(&x);

    /* TLS 1.3 evidence: the same request answered 403 (IIS, Apache without post-handshake
     * auth), or reset (Server 2022); a 200 over TLS 1.3 is no evidence. */
    static const int statuses[] = {403, 0, 200};
    for (size_t k = 0; k < 3; k++) {
        fx_init(&x);
        struct tls_observation *hs = obs_make("192.0.2.1", NULL, 0x0303, "handshake", NULL, 0);
        hs->http.path = "/secure";
        hs->http.sent = true;
        hs->http.renegotiation = true;
        fx_add(&x, hs);
        fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "renegotiation", good, 1));
        struct tls_observation *t13 = obs_make("192.0.2.1", NULL, 0x0304, "handshake", NULL, 0);
        t13->http.path = "/secure";
        t13->http.sent = true;
        t13->http.status = statuses[k];
        t13->http.status_line = statuses[k] == 403 ? "HTTP/1.1 403 Forbidden" : "HTTP/1.1 200 OK";
        t13->http.server = "Microsoft-IIS/10.0";
        if (statuses[k] == 0) {
            t13->http.failed = true;
            t13->http.error_kind = TLS_ERROR_RESET;
            t13->http.error = "connection reset by the server after 2210 bytes";
        }
        fx_add(&x, t13);
        fx_run(&x);
        const char *want[] = {"GET /secure gets HTTP/1.1 403 Forbidden (Server: Microsoft-IIS",
                              "over TLS 1.3 GET /secure fails: connection reset",
                              "after GET /secure; the initial handshake does not"};
        const struct report_finding *f = find(&x, "post-request-client-auth", want[k]);
        assert_non_null(f);
        assert_int_equal(f->n_obs, k == 2 ? 2 : 3);
        if (k == 2)
            assert_null(strstr(f->message, "TLS 1.3"));
        fx_free(&x);
    }
}

static void test_empty_list_and_no_request(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 0)); /* empty */
    fx_run(&x);
    assert_non_null(find(&x, "empty-ca-list", "1 probe"));
    assert_null(find(&x, "no-certificate-request", NULL));
    fx_free(&x);

    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", NULL, 0));
    fx_run(&x);
    assert_null(find(&x, "no-certificate-request", NULL)); /* nobody said it is expected */
    x.ctx.client_auth = 1;
    fx_run(&x);
    assert_non_null(find(&x, "no-certificate-request", "none of the 1"));
    x.ctx.client_auth = 0;
    fx_run(&x);
    assert_null(find(&x, "no-certificate-request", NULL));
    fx_free(&x);
}

static void test_root_store_dump_and_public(void **state)
{
    (void)state;
    /* 10 names, 8 of them public roots (by subject DER): a dump; 1 of 10: public-ca only */
    static const char *const names[] = {"R0", "R1", "R2", "R3",     "R4",
                                        "R5", "R6", "R7", "Corp A", "Corp B"};
    uint8_t hashes[10][32];
    for (int i = 0; i < 8; i++) {
        uint8_t der[64];
        size_t len = dn_make(der, names[i], 0x0c);
        tls_sha256(der, len, hashes[i]);
    }
    for (int i = 1; i < 8; i++) /* sort the 8 hashes */
        for (int j = i; j > 0 && memcmp(hashes[j - 1], hashes[j], 32) > 0; j--) {
            uint8_t t[32];
            memcpy(t, hashes[j], 32);
            memcpy(hashes[j], hashes[j - 1], 32);
            memcpy(hashes[j - 1], t, 32);
        }
    struct report_roots roots = {
        .subject_sha256 = (const uint8_t(*)[32])hashes, .n = 8, .source = "test-bundle.pem"};
    struct fixture x;
    fx_init(&x);
    x.ctx.public_roots = &roots;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 10));
    fx_run(&x);
    assert_non_null(find(&x, "root-store-dump", "8 of them (80%) public roots of test-bundle.pem"));
    assert_non_null(find(&x, "public-ca-accepted", "8 public roots"));
    fx_free(&x);

    fx_init(&x);
    x.ctx.public_roots = &roots;
    static const char *const one[] = {"R3", "Corp A", "Corp B"};
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", one, 3));
    fx_run(&x);
    assert_null(find(&x, "root-store-dump", NULL));
    assert_non_null(find(&x, "public-ca-accepted", "CN=R3"));
    fx_free(&x);
}

static void test_many_names_is_a_dump_and_oversized(void **state)
{
    (void)state;
    /* without any root bundle, 200 names of ~90 bytes are still a dump and over 16 KiB */
    static char bufs[200][96];
    const char *names[200];
    for (int i = 0; i < 200; i++) {
        snprintf(bufs[i], sizeof(bufs[i]),
                 "Some Certification Authority Number %03d of a rather long list of names", i);
        names[i] = bufs[i];
    }
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 200));
    fx_run(&x);
    assert_non_null(find(&x, "root-store-dump", "200 CA names"));
    const struct report_finding *f = find(&x, "oversized-ca-list", "over 16 KiB");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_MEDIUM);
    fx_free(&x);

    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 200));
    x.obs[0]->ca_bytes = 40000; /* Java's limit */
    fx_run(&x);
    assert_int_equal(find(&x, "oversized-ca-list", "Java")->severity, REPORT_SEV_HIGH);
    x.obs[0]->ca_bytes = 61000;
    fx_run(&x);
    assert_int_equal(find(&x, "oversized-ca-list", "65,535")->severity, REPORT_SEV_CRITICAL);
    /* an explicit severity wins over the size steps */
    x.ctx.severity[REPORT_RULE_OVERSIZED_CA_LIST] = REPORT_SEV_LOW;
    fx_run(&x);
    assert_int_equal(find(&x, "oversized-ca-list", NULL)->severity, REPORT_SEV_LOW);
    fx_free(&x);
}

static void test_expected_cas(void **state)
{
    (void)state;
    uint8_t want_der[64];
    size_t want_len = dn_make(want_der, "Corp Issuing CA 1", 0x0c);
    struct report_cert want = {
        .subject = want_der, .subject_len = want_len, .subject_text = "CN=Corp Issuing CA 1"};
    struct report_certs exp = {.v = &want, .n = 1, .source = "expected.pem"};
    struct fixture x;
    fx_init(&x);
    x.ctx.expected_cas = &exp;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_run(&x);
    assert_int_equal(x.f.n, 0);
    fx_free(&x);

    fx_init(&x);
    x.ctx.expected_cas = &exp;
    static const char *const both[] = {"Corp Issuing CA 2", "Extra CA"};
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", both, 2));
    fx_run(&x);
    assert_non_null(find(&x, "expected-ca-missing", "CN=Corp Issuing CA 1"));
    assert_non_null(find(&x, "unexpected-ca", "2 unexpected names"));
    fx_free(&x);
}

static void test_client_cert(void **state)
{
    (void)state;
    /* the client certificate's issuer as PrintableString "corp  issuing ca 1": equal to the
     * advertised UTF8String "Corp Issuing CA 1" only canonically */
    uint8_t issuer_exact[64], issuer_canon[64];
    size_t le = dn_make(issuer_exact, "Corp Issuing CA 1", 0x0c);
    size_t lc = dn_make(issuer_canon, "corp  issuing ca 1 ", 0x13);
    struct report_cert leaf = {.subject_text = "CN=alice",
                               .issuer = issuer_exact,
                               .issuer_len = le,
                               .issuer_text = "CN=Corp Issuing CA 1"};
    struct report_certs chain = {.v = &leaf, .n = 1, .source = "alice.pem"};
    struct fixture x;
    fx_init(&x);
    x.ctx.client_chain = &chain;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.2", NULL, 0x0303, "handshake", other, 1));
    fx_add(&x, obs_make("192.0.2.3", NULL, 0x0303, "handshake", good, 0)); /* empty: anything */
    fx_run(&x);
    const struct report_finding *f = find(&x, "client-cert-not-offered", "192.0.2.2");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_HIGH);
    assert_int_equal(f->obs[0], 1);
    size_t n = 0;
    for (size_t i = 0; i < x.f.n; i++)
        n += strcmp(x.f.v[i].rule->name, "client-cert-not-offered") == 0;
    assert_int_equal(n, 1);
    fx_free(&x);

    leaf.issuer = issuer_canon;
    leaf.issuer_len = lc;
    fx_init(&x);
    x.ctx.client_chain = &chain;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_run(&x);
    f = find(&x, "client-cert-not-offered", "only after canonical comparison");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_MEDIUM);
    fx_free(&x);
}

static void test_duplicate_and_malformed(void **state)
{
    (void)state;
    static const char *const dup[] = {"A", "B", "A"};
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", dup, 3));
    static const uint8_t bad[] = {0x30, 0x03, 0x31, 0x01, 0x30};
    struct tls_observation *o = x.obs[0];
    assert_int_equal(
        tls_ca_name_decode(&o->arena, &((struct tls_ca_name *)o->cas)[1], bad, sizeof(bad)), 0);
    fx_run(&x);
    assert_non_null(find(&x, "duplicate-ca", "CN=A"));
    assert_non_null(find(&x, "malformed-ca", "3003310130 (hex)"));
    fx_free(&x);

    /* a zero-length entry is named as such, not as an empty hex string */
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", dup, 2));
    o = x.obs[0];
    assert_int_equal(tls_ca_name_decode(&o->arena, &((struct tls_ca_name *)o->cas)[0], bad, 0), 0);
    fx_run(&x);
    const struct report_finding *f = find(&x, "malformed-ca", "e.g. a zero-length name");
    assert_non_null(f);
    assert_null(strstr(f->message, "(hex)"));
    fx_free(&x);
}

static void test_baseline_drift(void **state)
{
    (void)state;
    uint8_t der[64], h[1][32];
    size_t len = dn_make(der, "Corp Issuing CA 1", 0x0c);
    tls_sha256(der, len, h[0]);
    struct report_baseline_variant bv = {.key = "192.0.2.1||1.2|handshake",
                                         .state = REPORT_LIST_NAMES,
                                         .cas = (const uint8_t(*)[32])h,
                                         .n_cas = 1,
                                         .has_cert = true};
    memset(bv.cert_sha256, 0xaa, 32);
    struct report_baseline_target b = {.v = &bv, .n = 1};
    struct fixture x;
    fx_init(&x);
    x.ctx.baseline = &b;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_run(&x);
    assert_null(find(&x, "baseline-drift", NULL)); /* same names */
    fx_free(&x);

    static char many[143][40];
    const char *names[143];
    for (int i = 0; i < 143; i++) {
        snprintf(many[i], sizeof(many[i]), "Root %d", i);
        names[i] = many[i];
    }
    fx_init(&x);
    x.ctx.baseline = &b;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 143));
    x.obs[0]->server_cert.present = true;
    memset(x.obs[0]->server_cert.sha256, 0xbb, 32); /* renewed */
    memset(x.obs[0]->server_cert.sha1, 0x12, 20);
    fx_run(&x);
    const struct report_finding *f = find(&x, "baseline-drift", "certificate changed too");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_HIGH);
    assert_non_null(strstr(f->remedy, "netsh http update sslcert ipport=0.0.0.0:443 "
                                      "certhash=1212121212121212121212121212121212121212"));
    assert_non_null(strstr(f->remedy, "sslctlstorename=ClientAuthIssuer"));
    fx_free(&x);
}

static void test_disable_override_and_order(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", "app.example", 0x0303, "handshake", good, 0));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", other, 1));
    fx_run(&x);
    /* highest severity first: sni-mismatch (high) before empty-ca-list (medium) */
    assert_true(x.f.n >= 2);
    assert_string_equal(x.f.v[0].rule->name, "sni-mismatch");
    assert_int_equal(report_findings_max(&x.f), REPORT_SEV_HIGH);
    x.ctx.enabled[REPORT_RULE_SNI_MISMATCH] = false;
    x.ctx.severity[REPORT_RULE_EMPTY_CA_LIST] = REPORT_SEV_CRITICAL;
    fx_run(&x);
    assert_null(find(&x, "sni-mismatch", NULL));
    assert_int_equal(find(&x, "empty-ca-list", NULL)->severity, REPORT_SEV_CRITICAL);
    fx_free(&x);
}

static void test_table(void **state)
{
    (void)state;
    for (int i = 0; i < REPORT_RULE_COUNT; i++) {
        const struct report_rule *r = report_rule_get((enum report_rule_id)i);
        assert_int_equal(r->id, i);
        assert_ptr_equal(report_rule_find(r->name), r);
        assert_true(strlen(r->title) > 10 && strlen(r->help) > 40 && strlen(r->remedy) > 40);
    }
    assert_null(report_rule_find("no-such-rule"));
    enum report_severity s;
    assert_int_equal(report_severity_parse("critical", &s), 0);
    assert_int_equal(s, REPORT_SEV_CRITICAL);
    assert_int_equal(report_severity_parse("severe", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_target_is_silent),
        cmocka_unit_test(test_sni_mismatch),
        cmocka_unit_test(test_version_and_address_mismatch),
        cmocka_unit_test(test_renegotiation_and_post_request),
        cmocka_unit_test(test_empty_list_and_no_request),
        cmocka_unit_test(test_root_store_dump_and_public),
        cmocka_unit_test(test_many_names_is_a_dump_and_oversized),
        cmocka_unit_test(test_expected_cas),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_duplicate_and_malformed),
        cmocka_unit_test(test_baseline_drift),
        cmocka_unit_test(test_disable_override_and_order),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
