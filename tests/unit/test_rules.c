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

#include "report/policy.h"
#include "report/report.h"
#include "report/rules.h"
#include "report/winroots.h"
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
    struct tls_observation **obs;
    size_t n, cap;
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
    report_context_init(&x->ctx);
    report_findings_init(&x->f);
}

static void fx_add(struct fixture *x, struct tls_observation *o)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 8;
        x->obs = realloc(x->obs, x->cap * sizeof(*x->obs));
        assert_non_null(x->obs);
    }
    x->obs[x->n++] = o;
    x->t.obs = x->obs;
    x->t.n_obs = x->n;
}

/* What caprobe diff takes a finding's identity from (report_rule.per_variant): a rule marked so
 * cites one variant in each finding, any other rule makes one finding per target, but
 * client-cert-not-offered one per situation (no issuer named; one named only canonically), two
 * at most, citing other variants. Checked on every run of every test here. */
static void check_identity(const struct report_findings *f)
{
    size_t count[REPORT_RULE_COUNT] = {0};
    for (size_t i = 0; i < f->n; i++) {
        const struct report_rule *rule = f->v[i].rule;
        size_t max = rule->id == REPORT_RULE_CLIENT_CERT_NOT_OFFERED ? 2 : 1;
        if (rule->per_variant && f->v[i].n_obs != 1)
            fail_msg("%s cites %zu variants in one finding", rule->name, f->v[i].n_obs);
        if (!rule->per_variant && ++count[rule->id] > max)
            fail_msg("%s: %zu findings for one target", rule->name, count[rule->id]);
        for (size_t j = 0; !rule->per_variant && j < i; j++)
            for (size_t a = 0; f->v[j].rule == rule && a < f->v[i].n_obs; a++)
                for (size_t b = 0; b < f->v[j].n_obs; b++)
                    if (f->v[i].obs[a] == f->v[j].obs[b])
                        fail_msg("%s: variant %zu cited by two findings", rule->name,
                                 f->v[i].obs[a]);
    }
}

static void fx_run(struct fixture *x)
{
    report_findings_free(&x->f);
    report_findings_init(&x->f);
    assert_int_equal(report_rules_run(&x->t, &x->ctx, &x->f), 0);
    check_identity(&x->f);
}

static void fx_free(struct fixture *x)
{
    for (size_t i = 0; i < x->n; i++) {
        tls_observation_free(x->obs[i]);
        free(x->obs[i]);
    }
    free(x->obs);
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

/* ---- pinned severities ---------------------------------------------------------------------- */

/* Pin rule at sev as a policy file does: through report_policy_parse and report_policy_apply. */
static void pin(struct fixture *x, const char *rule, const char *sev)
{
    char yaml[160], err[REPORT_POLICY_ERR_CAP];
    snprintf(yaml, sizeof(yaml), "defaults:\n  severities: {%s: %s}\n", rule, sev);
    struct report_policy *p = NULL;
    assert_int_equal(
        report_policy_parse(&p, "pin.yaml", (const uint8_t *)yaml, strlen(yaml), err, sizeof(err)),
        0);
    report_policy_apply(p, NULL, &x->ctx);
    report_policy_free(p);
}

/* Each escalating rule, unpinned (NULL: graded by the evidence) and pinned at its default, below
 * and above it: a pinned severity is what the finding gets. */
struct pin_case {
    const char *pin; /* NULL: no policy */
    enum report_severity want;
};

static void check_pins(struct fixture *x, const char *rule, const char *contains,
                       const struct pin_case *cases, size_t n)
{
    const struct report_context base = x->ctx; /* what the command line left */
    for (size_t i = 0; i < n; i++) {
        x->ctx = base;
        if (cases[i].pin)
            pin(x, rule, cases[i].pin);
        fx_run(x);
        const struct report_finding *f = find(x, rule, contains);
        assert_non_null(f);
        if (f->severity != cases[i].want)
            fail_msg("%s pinned %s: severity %s, want %s", rule,
                     cases[i].pin ? cases[i].pin : "(none)", report_severity_name(f->severity),
                     report_severity_name(cases[i].want));
    }
    x->ctx = base;
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

/* The SHA-256 of the subject DER of CN=names[i], sorted: a public root bundle of n roots, or a
 * baseline's list. */
static void hashes_make(const char *const *names, int n, uint8_t (*hashes)[32])
{
    for (int i = 0; i < n; i++) {
        uint8_t der[64];
        size_t len = dn_make(der, names[i], 0x0c);
        tls_sha256(der, len, hashes[i]);
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && memcmp(hashes[j - 1], hashes[j], 32) > 0; j--) {
            uint8_t t[32];
            memcpy(t, hashes[j], 32);
            memcpy(hashes[j], hashes[j - 1], 32);
            memcpy(hashes[j - 1], t, 32);
        }
}

static void test_root_store_dump_and_public(void **state)
{
    (void)state;
    /* 10 names, 8 of them public roots (by subject DER): a dump; 1 of 10: public-ca only */
    static const char *const names[] = {"R0", "R1", "R2", "R3",     "R4",
                                        "R5", "R6", "R7", "Corp A", "Corp B"};
    uint8_t hashes[10][32];
    hashes_make(names, 8, hashes);
    struct report_roots roots = {
        .subject_sha256 = (const uint8_t(*)[32])hashes, .n = 8, .source = "test-bundle.pem"};
    struct fixture x;
    fx_init(&x);
    x.ctx.public_roots = &roots;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 10));
    fx_run(&x);
    const struct report_finding *dump =
        find(&x, "root-store-dump", "8 of them (80%) public roots of test-bundle.pem");
    assert_non_null(dump);
    /* no Windows root: the fix for every kind of server */
    assert_non_null(strstr(dump->remedy, "IIS: restore the Ctl Store Name: netsh http update"));
    assert_non_null(strstr(dump->remedy, "Java/Tomcat: use a truststore"));
    assert_null(strstr(dump->remedy, "SendTrustedIssuerList"));
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

/* One list of the names CN=names[i], no root bundle: no finding at all (no root-store-dump). */
static void silent(const char *const *names, size_t n)
{
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, n));
    fx_run(&x);
    assert_null(find(&x, "root-store-dump", NULL));
    assert_int_equal(x.f.n, 0);
    fx_free(&x);
}

static void test_many_private_names_are_oversized_not_a_dump(void **state)
{
    (void)state;
    /* DESIGN.md: size alone is no evidence of a store. 200 private names of ~90 bytes, no root
     * bundle: over 16 KiB, so oversized, but no root-store-dump; nor 80 names under 16 KiB (a
     * PKI with many issuing CAs), which gave root-store-dump at high before. */
    static char bufs[200][96];
    const char *names[200];
    for (int i = 0; i < 200; i++) {
        snprintf(bufs[i], sizeof(bufs[i]),
                 "Some Certification Authority Number %03d of a rather long list of names", i);
        names[i] = bufs[i];
    }
    silent(names, 80);

    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", names, 200));
    fx_run(&x);
    assert_null(find(&x, "root-store-dump", NULL));
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
    /* and so does a policy's, also when it names the default */
    report_context_init(&x.ctx);
    static const struct pin_case near_limit[] = {
        {NULL, REPORT_SEV_CRITICAL},
        {"medium", REPORT_SEV_MEDIUM}, /* the default, pinned: it used to yield critical */
        {"low", REPORT_SEV_LOW},
        {"high", REPORT_SEV_HIGH},
    };
    check_pins(&x, "oversized-ca-list", "65,535", near_limit, 4);
    x.obs[0]->ca_bytes = 20000; /* over one record: medium by default */
    static const struct pin_case one_record[] = {
        {NULL, REPORT_SEV_MEDIUM},
        {"critical", REPORT_SEV_CRITICAL},
        {"info", REPORT_SEV_INFO},
    };
    check_pins(&x, "oversized-ca-list", "over 16 KiB (one record)", one_record, 3);
    fx_free(&x);
}

/* An observation whose list is the DER names ders[i] (lens[i] bytes each). */
static struct tls_observation *obs_make_der(const uint8_t *const *ders, const size_t *lens,
                                            size_t n)
{
    struct tls_observation *o = obs_make("192.0.2.1", NULL, 0x0303, "handshake", NULL, 0);
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    o->has_cas = n > 0;
    struct tls_ca_name *cas = tls_arena_alloc(&o->arena, sizeof(*cas) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tls_ca_name_decode(&o->arena, &cas[i], ders[i], lens[i]), 0);
        o->ca_bytes += lens[i];
    }
    o->cas = cas;
    o->ca_count = n;
    return o;
}

/* The Windows built-in root named name (report/winroots.h). */
static const struct report_winroot *winroot(const char *name)
{
    size_t n;
    const struct report_winroot *v = report_winroots(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    fail_msg("no Windows built-in root '%s'", name);
    return NULL;
}

/* A list of the DER names ders[i], no root bundle: root-store-dump, its message containing want. */
static void dump_of(const uint8_t *const *ders, const size_t *lens, size_t n, const char *want)
{
    struct fixture x;
    fx_init(&x);
    fx_add(&x, obs_make_der(ders, lens, n));
    fx_run(&x);
    assert_non_null(find(&x, "root-store-dump", want));
    fx_free(&x);
}

/* A Windows Trusted Root store gives itself away by one root that only it holds, however few
 * public roots it has: the case of a store with fewer public roots than Microsoft ones,
 * one such root among private names, and one equal only canonically; never a lookalike. */
static void test_windows_root_store(void **state)
{
    (void)state;
    static const char *const pub[] = {"R0", "R1", "R2", "Corp Issuing CA 1"};
    uint8_t roots_h[3][32];
    hashes_make(pub, 3, roots_h);
    struct report_roots roots = {
        .subject_sha256 = (const uint8_t(*)[32])roots_h, .n = 3, .source = "test-bundle.pem"};
    size_t n_win;
    const struct report_winroot *win = report_winroots(&n_win);
    const uint8_t *ders[64];
    size_t lens[64], n = 0;
    uint8_t own[4][128];
    for (size_t i = 0; i < n_win; i++) {
        ders[n] = win[i].subject;
        lens[n++] = win[i].subject_len;
    }
    for (size_t i = 0; i < 4; i++) {
        ders[n] = own[i];
        lens[n++] = dn_make(own[i], pub[i], 0x0c);
    }
    struct fixture x;
    fx_init(&x);
    x.ctx.public_roots = &roots;
    fx_add(&x, obs_make_der(ders, lens, n));
    fx_run(&x);
    char want[512];
    snprintf(want, sizeof(want),
             "advertises %zu CA names (%zu bytes), 3 of them (%.0f%%) public roots of "
             "test-bundle.pem; %zu Windows built-in roots (%s; %s; %s and %zu more), which only a "
             "Windows Trusted Root store holds",
             n, tls_observation_list_bytes(x.obs[0]), 300.0 / (double)n, n_win, win[0].name,
             win[1].name, win[2].name, n_win - 3);
    const struct report_finding *f = find(&x, "root-store-dump", want);
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_HIGH);
    assert_true(strlen(f->message) < 600); /* three names, however many match */
    /* Windows roots: the store is Schannel's, the fix http.sys's alone */
    assert_true(strncmp(f->remedy, "IIS: restore the Ctl Store Name: netsh http update", 50) == 0);
    assert_non_null(strstr(f->remedy, "sslctlstorename=ClientAuthIssuer"));
    assert_non_null(strstr(f->remedy, "Schannel's fallback to the machine's Trusted Root store: "
                                      "keep SendTrustedIssuerList=1"));
    assert_null(strstr(f->remedy, "Java"));
    assert_null(strstr(f->remedy, "nginx"));
    assert_non_null(find(&x, "public-ca-accepted", "3 public roots"));
    fx_free(&x);

    /* one of them among private names, no root bundle at all */
    const struct report_winroot *thawte = winroot("Thawte Timestamping CA");
    ders[0] = thawte->subject;
    lens[0] = thawte->subject_len;
    ders[1] = own[3];
    lens[1] = dn_make(own[3], "Corp Issuing CA 1", 0x0c);
    dump_of(ders, lens, 2,
            "0 of them (0%) public roots of no root bundle; 1 Windows built-in root (Thawte "
            "Timestamping CA), which only");

    /* Microsoft Authenticode(tm) Root Authority with UTF8Strings for its PrintableStrings: equal
     * only canonically, still the store's */
    const struct report_winroot *ac = winroot("Microsoft Authenticode(tm) Root Authority");
    uint8_t utf8[128];
    assert_true(ac->subject_len <= sizeof(utf8));
    memcpy(utf8, ac->subject, ac->subject_len);
    size_t swapped = 0;
    for (size_t i = 0; i + 6 < ac->subject_len; i++)
        if (memcmp(utf8 + i, "\x06\x03\x55\x04", 4) == 0 && utf8[i + 5] == 0x13) {
            utf8[i + 5] = 0x0c;
            swapped++;
        }
    assert_int_equal(swapped, 3);
    ders[0] = utf8;
    lens[0] = ac->subject_len;
    dump_of(ders, lens, 2,
            "1 Windows built-in root (Microsoft Authenticode(tm) Root Authority; 1 of them equal "
            "only canonically)");

    /* lookalikes: the common name alone, or with more text: a private list like any other */
    static const char *const lookalike[] = {"Microsoft Root Authority",
                                            "Microsoft Root Authority 2", "Thawte Timestamping",
                                            "Corp Issuing CA 1"};
    silent(lookalike, 4);
}

static void test_expected_cas(void **state)
{
    (void)state;
    uint8_t want_der[64];
    size_t want_len = dn_make(want_der, "Corp Issuing CA 1", 0x0c);
    struct report_cert want = {
        .subject = want_der, .subject_len = want_len, .subject_text = "CN=Corp Issuing CA 1"};
    tls_sha256(want_der, want_len, want.subject_sha256);
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

    /* 300 expected CAs against a list of 2,000 names of which 200 are expected: 100 expected
     * missing, 1,800 unexpected, counted by construction */
    enum { N_EXP = 300, N_ADV = 2000 };
    static uint8_t ders[N_EXP][64];
    static char texts[N_EXP][40], adv_text[N_ADV][40];
    struct report_cert *many = calloc(N_EXP, sizeof(*many));
    const char **adv = calloc(N_ADV, sizeof(*adv));
    assert_non_null(many);
    assert_non_null(adv);
    for (int k = 0; k < N_EXP; k++) {
        snprintf(texts[k], sizeof(texts[k]), "Expected CA %d", k);
        many[k].subject = ders[k];
        many[k].subject_len = dn_make(ders[k], texts[k], 0x0c);
        many[k].subject_text = texts[k];
        tls_sha256(ders[k], many[k].subject_len, many[k].subject_sha256);
    }
    for (int k = 0; k < N_ADV; k++) {
        if (k < 200)
            snprintf(adv_text[k], sizeof(adv_text[k]), "Expected CA %d", 100 + k);
        else
            snprintf(adv_text[k], sizeof(adv_text[k]), "Other CA %d", k);
        adv[k] = adv_text[k];
    }
    struct report_certs many_exp = {.v = many, .n = N_EXP, .source = "many.pem"};
    fx_init(&x);
    x.ctx.expected_cas = &many_exp;
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", adv, N_ADV));
    fx_run(&x);
    assert_non_null(find(&x, "expected-ca-missing", "lacks 100 of the 300 expected CAs"));
    assert_non_null(find(&x, "unexpected-ca", "advertises 1800 unexpected names"));
    fx_free(&x);
    free(many);
    free(adv);
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
    /* one name, one certificate: said in the singular */
    assert_non_null(strstr(f->message, "advertises 1 name, not the issuer of the certificate of "
                                       "alice.pem (the client certificate CN=alice is issued by "
                                       "CN=Corp Issuing CA 1)"));
    assert_int_equal(f->obs[0], 1);
    size_t n = 0;
    for (size_t i = 0; i < x.f.n; i++)
        n += strcmp(x.f.v[i].rule->name, "client-cert-not-offered") == 0;
    assert_int_equal(n, 1);
    fx_free(&x);

    /* one finding per situation, citing its variants: two lists without the issuer, one that
     * names it only canonically (other_canon), one that names it byte for byte */
    static const char *const folded[] = {"corp  issuing ca 1 "};
    struct tls_observation *oc = obs_make("192.0.2.6", NULL, 0x0303, "handshake", folded, 1);
    fx_init(&x);
    x.ctx.client_chain = &chain;
    fx_add(&x, obs_make("192.0.2.4", NULL, 0x0303, "handshake", other, 1));
    fx_add(&x, obs_make("192.0.2.5", NULL, 0x0304, "handshake", other, 1));
    fx_add(&x, oc);
    fx_add(&x, obs_make("192.0.2.7", NULL, 0x0303, "handshake", good, 1));
    fx_run(&x);
    n = 0;
    for (size_t i = 0; i < x.f.n; i++)
        n += strcmp(x.f.v[i].rule->name, "client-cert-not-offered") == 0;
    assert_int_equal(n, 2);
    f = find(&x, "client-cert-not-offered", "(and the other variants cited)");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_HIGH);
    assert_int_equal(f->n_obs, 2);
    assert_int_equal(f->obs[0], 0);
    assert_int_equal(f->obs[1], 1);
    /* the variants' company next to the first's name, not inside the sentence */
    assert_non_null(strstr(f->message, "[192.0.2.4, no SNI, TLS 1.2] (and the other variants "
                                       "cited) advertises 1 name, not"));
    f = NULL; /* the second one: findings come by severity, highest first */
    for (size_t i = 0; i < x.f.n; i++)
        if (strcmp(x.f.v[i].rule->name, "client-cert-not-offered") == 0)
            f = &x.f.v[i];
    assert_non_null(strstr(f->message, "[192.0.2.6, no SNI, TLS 1.2] advertises CN=corp  issuing "
                                       "ca 1\\ , which matches the issuer of CN=alice only after "
                                       "canonical comparison: Java"));
    assert_int_equal(f->severity, REPORT_SEV_MEDIUM);
    assert_int_equal(f->n_obs, 1);
    assert_int_equal(f->obs[0], 2);
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
    static const struct pin_case cases[] = {
        {NULL, REPORT_SEV_MEDIUM},
        {"high", REPORT_SEV_HIGH}, /* the default, pinned: it used to yield medium */
        {"critical", REPORT_SEV_CRITICAL},
        {"low", REPORT_SEV_LOW},
    };
    check_pins(&x, "client-cert-not-offered", "only after canonical comparison", cases, 4);
    fx_free(&x);
}

/* o with the certificate presented and the server's answer. */
static struct tls_observation *presented(struct tls_observation *o,
                                         enum tls_client_cert_result result, int alert, int status)
{
    o->client_cert = (struct tls_client_cert){
        .tried = true, .presented = true, .result = result, .alert = alert, .http_status = status};
    return o;
}

/* --client-key: client-cert-rejected where the list names the certificate's issuer and the
 * server refused it (alert, close, 400, 403), client-cert-accepted-unadvertised where it took
 * it (handshake, 2xx, 3xx) though the list does not; nothing without a list to compare with,
 * without an answer, or on an answer that judges nothing (404, no answer, not presented). */
static void test_client_cert_presented(void **state)
{
    (void)state;
    uint8_t issuer[64];
    size_t len = dn_make(issuer, "Corp Issuing CA 1", 0x0c);
    struct report_cert leaf = {.subject_text = "CN=alice",
                               .issuer = issuer,
                               .issuer_len = len,
                               .issuer_text = "CN=Corp Issuing CA 1"};
    struct report_certs chain = {.v = &leaf, .n = 1, .source = "alice.pem"};
    struct report_presented pres = {.chain = &chain};
    struct fixture x;
    fx_init(&x);
    x.ctx.presented = &pres;
    /* advertised: refused 0 .. 3, taken 4 and 5, judged not 6 .. 8 */
    fx_add(&x, presented(obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_ALERT, 48, 0));
    fx_add(&x, presented(obs_make("192.0.2.2", NULL, 0x0304, "handshake", good, 1),
                         TLS_CLIENT_CERT_CLOSED, -1, 0));
    fx_add(&x, presented(obs_make("192.0.2.3", NULL, 0x0303, "renegotiation", good, 1),
                         TLS_CLIENT_CERT_HTTP, -1, 403));
    fx_add(&x, presented(obs_make("192.0.2.4", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_HTTP, -1, 400));
    fx_add(&x, presented(obs_make("192.0.2.5", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_ACCEPTED, -1, 0));
    fx_add(&x, presented(obs_make("192.0.2.6", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_HTTP, -1, 302));
    fx_add(&x, presented(obs_make("192.0.2.7", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_HTTP, -1, 404));
    fx_add(&x, presented(obs_make("192.0.2.8", NULL, 0x0303, "handshake", good, 1),
                         TLS_CLIENT_CERT_NO_ANSWER, -1, 0));
    struct tls_observation *o = obs_make("192.0.2.9", NULL, 0x0303, "handshake", good, 1);
    o->client_cert.tried = true; /* asked, not presented: an error of ours */
    o->client_cert.result = TLS_CLIENT_CERT_ERROR;
    o->client_cert.error = "not presented";
    fx_add(&x, o);
    /* not advertised: taken 9 and 10, refused 11 (what the list says), no list 12 and 13 */
    fx_add(&x, presented(obs_make("192.0.3.1", NULL, 0x0303, "handshake", other, 1),
                         TLS_CLIENT_CERT_ACCEPTED, -1, 0));
    fx_add(&x, presented(obs_make("192.0.3.2", NULL, 0x0304, "handshake", other, 1),
                         TLS_CLIENT_CERT_HTTP, -1, 200));
    fx_add(&x, presented(obs_make("192.0.3.3", NULL, 0x0303, "handshake", other, 1),
                         TLS_CLIENT_CERT_ALERT, 48, 0));
    fx_add(&x, presented(obs_make("192.0.3.4", NULL, 0x0303, "handshake", good, 0),
                         TLS_CLIENT_CERT_ACCEPTED, -1, 0));
    fx_add(&x, presented(obs_make("192.0.3.5", NULL, 0x0304, "handshake", good, 0),
                         TLS_CLIENT_CERT_ALERT, 42, 0));
    fx_run(&x);
    /* one finding per rule for the target, citing each variant of its situation, with each
     * distinct answer once */
    static const struct {
        const char *rule;
        size_t obs[4], n_obs;
        const char *says;
    } want[] = {
        {"client-cert-rejected",
         {0, 1, 2, 3},
         4,
         "[192.0.2.1, no SNI, TLS 1.2] (and the other variants cited) advertises CN=Corp "
         "Issuing CA 1, an issuer of the chain of CN=alice, yet answered the certificate with "
         "alert unknown_ca or a closed connection or HTTP 403 to the request or HTTP 400 to the "
         "request"},
        {"client-cert-accepted-unadvertised",
         {9, 10},
         2,
         "[192.0.3.1, no SNI, TLS 1.2] (and the other variants cited) took CN=alice (issued by "
         "CN=Corp Issuing CA 1) with a completed handshake or HTTP 200 to the request, but the "
         "one name it advertises is not an issuer of its chain: clients that follow the list "
         "never offer it"},
    };
    size_t n = 0;
    for (size_t i = 0; i < x.f.n; i++) {
        const struct report_finding *f = &x.f.v[i];
        if (f->rule->id != REPORT_RULE_CLIENT_CERT_REJECTED &&
            f->rule->id != REPORT_RULE_CLIENT_CERT_ACCEPTED_UNADVERTISED)
            continue;
        n++;
        size_t k = 0;
        while (k < sizeof(want) / sizeof(want[0]) && strcmp(want[k].rule, f->rule->name) != 0)
            k++;
        assert_true(k < sizeof(want) / sizeof(want[0]));
        if (strcmp(f->message, want[k].says) != 0)
            fail_msg("%s: '%s', not '%s'", f->rule->name, f->message, want[k].says);
        assert_int_equal(f->n_obs, want[k].n_obs);
        for (size_t j = 0; j < f->n_obs; j++)
            assert_int_equal(f->obs[j], want[k].obs[j]);
        assert_int_equal(f->severity, f->rule->id == REPORT_RULE_CLIENT_CERT_REJECTED
                                          ? REPORT_SEV_HIGH
                                          : REPORT_SEV_MEDIUM);
    }
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    /* a certificate that was not valid at the scan: its refusal is right, low */
    pres.invalid = "it expired on 2020-12-31T23:59:59Z";
    static const struct pin_case cases[] = {
        {NULL, REPORT_SEV_LOW},
        {"high", REPORT_SEV_HIGH},
        {"medium", REPORT_SEV_MEDIUM},
    };
    check_pins(&x, "client-cert-rejected",
               "; the certificate presented was not valid at the scan (it expired on "
               "2020-12-31T23:59:59Z): present a valid one",
               cases, 3);
    /* without --client-key neither rule runs, whatever the observations say */
    x.ctx.presented = NULL;
    fx_run(&x);
    assert_null(find(&x, "client-cert-rejected", NULL));
    assert_null(find(&x, "client-cert-accepted-unadvertised", NULL));
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

/* A fixture comparing with baseline b, roots as the public bundle; pinned: the user set
 * baseline-drift to high. */
static void drift_fixture(struct fixture *x, const struct report_roots *roots,
                          const struct report_baseline_target *b, bool pinned)
{
    fx_init(x);
    x->ctx.public_roots = roots;
    x->ctx.baseline = b;
    if (pinned) {
        x->ctx.severity[REPORT_RULE_BASELINE_DRIFT] = REPORT_SEV_HIGH;
        x->ctx.pinned[REPORT_RULE_BASELINE_DRIFT] = true;
    }
}

/* A root store that gave way to the issuing CA is an improvement: info, also when the user set
 * the rule's severity; the other way round is a regression at that severity. */
static void test_baseline_drift_direction(void **state)
{
    (void)state;
    static const char *const dump[] = {"R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7"};
    static const char *const dump_and_corp[] = {
        "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "Corp Issuing CA 1"};
    uint8_t roots_h[8][32], corp_h[1][32];
    hashes_make(dump, 8, roots_h);
    hashes_make(good, 1, corp_h);
    struct report_roots roots = {
        .subject_sha256 = (const uint8_t(*)[32])roots_h, .n = 8, .source = "test-bundle.pem"};
    struct report_baseline_variant was_dump = {.key = "192.0.2.1||1.2|handshake",
                                               .state = REPORT_LIST_NAMES,
                                               .cas = (const uint8_t(*)[32])roots_h,
                                               .n_cas = 8};
    struct report_baseline_variant was_corp = was_dump;
    was_corp.cas = (const uint8_t(*)[32])corp_h;
    was_corp.n_cas = 1;
    for (int pinned = 0; pinned < 2; pinned++) {
        struct report_baseline_target b = {.v = &was_dump, .n = 1};
        struct fixture x;
        drift_fixture(&x, &roots, &b, pinned);
        fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
        fx_run(&x);
        const struct report_finding *f =
            find(&x, "baseline-drift",
                 "improvement: advertises 1 name where the baseline had 8: 1 "
                 "added, 8 removed (8 of them public roots: the root store "
                 "is gone)");
        assert_non_null(f);
        assert_int_equal(f->severity, REPORT_SEV_INFO);
        assert_non_null(strstr(f->remedy, "Nothing to fix"));
        fx_free(&x);

        b.v = &was_corp;
        drift_fixture(&x, &roots, &b, pinned);
        fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", dump_and_corp, 9));
        fx_run(&x);
        f = find(&x, "baseline-drift",
                 "regression: advertises 9 names where the baseline had 1: 8 "
                 "added (8 public roots: a root store appeared), 0 removed");
        assert_non_null(f);
        assert_int_equal(f->severity, pinned ? REPORT_SEV_HIGH : REPORT_SEV_MEDIUM);
        fx_free(&x);
    }
}

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* A baseline that was a Windows root store by its built-in roots alone (a baseline keeps
 * digests: matched byte for byte) gave way to the issuing CA: an improvement, not the loss of
 * 13 private names. */
static void test_baseline_drift_windows_store(void **state)
{
    (void)state;
    size_t n_win;
    const struct report_winroot *win = report_winroots(&n_win);
    uint8_t(*was)[32] = calloc(n_win, 32);
    assert_non_null(was);
    for (size_t i = 0; i < n_win; i++)
        memcpy(was[i], win[i].subject_sha256, 32);
    qsort(was, n_win, 32, cmp_digest);
    struct report_baseline_variant bv = {.key = "192.0.2.1||1.2|handshake",
                                         .state = REPORT_LIST_NAMES,
                                         .cas = (const uint8_t(*)[32])was,
                                         .n_cas = n_win};
    struct report_baseline_target b = {.v = &bv, .n = 1};
    struct fixture x;
    drift_fixture(&x, NULL, &b, false);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_run(&x);
    const struct report_finding *f = find(&x, "baseline-drift", "improvement: advertises 1 name");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_INFO);
    fx_free(&x);
    free(was);
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
    static const struct pin_case cases[] = {
        {NULL, REPORT_SEV_HIGH},
        {"medium", REPORT_SEV_MEDIUM}, /* the default, pinned: it used to yield high */
        {"low", REPORT_SEV_LOW},
        {"critical", REPORT_SEV_CRITICAL},
    };
    check_pins(&x, "baseline-drift", "certificate changed too", cases, 4);
    /* the renewal's remedy does not depend on the severity */
    assert_non_null(strstr(find(&x, "baseline-drift", NULL)->remedy, "ClientAuthIssuer"));
    fx_free(&x);
    /* a host name whose no-SNI variant reached an IPv6 address: http.sys's [::]:443 binding,
     * which is another binding than 0.0.0.0:443 */
    struct report_baseline_variant bv6 = bv;
    bv6.key = "2001:db8::1||1.2|handshake";
    struct report_baseline_target b6 = {.v = &bv6, .n = 1};
    fx_init(&x);
    x.ctx.baseline = &b6;
    fx_add(&x, obs_make("2001:db8::1", NULL, 0x0303, "handshake", names, 143));
    x.obs[0]->server_cert.present = true;
    memset(x.obs[0]->server_cert.sha256, 0xbb, 32);
    fx_run(&x);
    f = find(&x, "baseline-drift", "certificate changed too");
    assert_non_null(f);
    assert_non_null(strstr(f->remedy, "netsh http update sslcert ipport=[::]:443 "));
    fx_free(&x);
}

/* A target spoken to with STARTTLS is no http.sys binding: its remedies name the protocol's CA
 * setting, never netsh (empty list, address mismatch); the same lists over TLS get netsh. */
static void test_starttls_remedies(void **state)
{
    (void)state;
    static const char *const one[] = {"Issuing CA"}, *const two[] = {"Issuing CA", "Other"};
    for (int st = 0; st < 2; st++) {
        struct fixture x;
        fx_init(&x);
        fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", one, 0)); /* empty */
        fx_add(&x, obs_make("192.0.2.2", NULL, 0x0303, "handshake", one, 1));
        fx_add(&x, obs_make("192.0.2.3", NULL, 0x0303, "handshake", two, 2));
        for (size_t i = 0; st && i < x.n; i++)
            x.obs[i]->starttls = "postgres";
        fx_run(&x);
        const struct report_finding *e = find(&x, "empty-ca-list", NULL);
        const struct report_finding *a = find(&x, "address-mismatch", NULL);
        assert_non_null(e);
        assert_non_null(a);
        bool tls = st == 0;
        assert_true((strstr(e->remedy, "netsh") != NULL) == tls);
        assert_true((strstr(a->remedy, "netsh") != NULL) == tls);
        assert_true((strstr(e->remedy, "PostgreSQL: ssl_ca_file") != NULL) == !tls);
        assert_true((strstr(a->remedy, "PostgreSQL: ssl_ca_file") != NULL) == !tls);
        fx_free(&x);
    }
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

/* ---- limits trim evidence with a note, never fail -------------------------------------------- */

/* n observations of the same variant but the address (10.0.x.y, the first-th and on), each
 * advertising cns. */
static void fx_add_addresses(struct fixture *x, size_t first, size_t n, const char *const *cns,
                             size_t n_cns)
{
    for (size_t i = first; i < first + n; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.0.%zu.%zu", i / 256, i % 256);
        struct tls_observation *o = obs_make(NULL, "app.example", 0x0303, "handshake", cns, n_cns);
        o->address = tls_arena_strdup(&o->arena, addr);
        fx_add(x, o);
    }
}

static void test_limits_trim_with_a_note(void **state)
{
    (void)state;
    /* 1100 empty lists: one finding citing the first REPORT_FINDING_MAX_OBS, saying the rest */
    struct fixture x;
    fx_init(&x);
    fx_add_addresses(&x, 0, 1100, good, 0);
    fx_run(&x);
    const struct report_finding *f = find(&x, "empty-ca-list", "1100 probes");
    assert_non_null(f);
    assert_int_equal(f->n_obs, 1024);
    for (size_t k = 0; k < f->n_obs; k++)
        assert_int_equal(f->obs[k], k);
    assert_non_null(
        strstr(f->message, "; and 76 more observations (a finding cites at most 1024)"));
    fx_free(&x);

    /* 200 lists with a repeated name: one duplicate-ca for the target, citing all 200 */
    static const char *const dup[] = {"A", "B", "A"};
    fx_init(&x);
    fx_add_addresses(&x, 0, 200, dup, 3);
    fx_run(&x);
    assert_int_equal(x.f.n, 1);
    assert_int_equal(x.f.v[0].n_obs, 200);
    assert_non_null(strstr(x.f.v[0].message, "200 variants repeat names, e.g. CN=A (first: "));
    fx_free(&x);

    /* 200 lists without the expected CA: 200 findings (one a variant), all kept within the
     * default budget ... */
    uint8_t want_der[64];
    size_t want_len = dn_make(want_der, "Corp Issuing CA 1", 0x0c);
    struct report_cert want = {
        .subject = want_der, .subject_len = want_len, .subject_text = "CN=Corp Issuing CA 1"};
    tls_sha256(want_der, want_len, want.subject_sha256);
    struct report_certs exp = {.v = &want, .n = 1, .source = "expected.pem"};
    static const char *const not_expected[] = {"A", "B"};
    fx_init(&x);
    x.ctx.expected_cas = &exp;
    x.ctx.enabled[REPORT_RULE_UNEXPECTED_CA] = false;
    fx_add_addresses(&x, 0, 200, not_expected, 2);
    fx_run(&x);
    assert_int_equal(x.f.n, 200);
    assert_null(strstr(x.f.v[199].message, "not recorded"));
    /* ... and within 8 KiB some, the last of them saying how many more there were */
    report_findings_free(&x.f);
    report_findings_init(&x.f);
    x.f.max_bytes = 8192;
    assert_int_equal(report_rules_run(&x.t, &x.ctx, &x.f), 0);
    assert_true(x.f.n >= 1 && x.f.n < 200);
    size_t notes = 0, more = 0;
    bool *seen = calloc(x.n, sizeof(*seen));
    for (size_t i = 0; i < x.f.n; i++) {
        f = &x.f.v[i];
        assert_string_equal(f->rule->name, "expected-ca-missing");
        assert_int_equal(f->n_obs, 1);
        assert_true(f->obs[0] < x.n && !seen[f->obs[0]]);
        seen[f->obs[0]] = true;
        const char *note = strstr(f->message, " more findings of this rule not recorded: the "
                                              "findings of this target reached their limit of "
                                              "8192 bytes");
        if (note) {
            notes++;
            while (note > f->message && note[-1] >= '0' && note[-1] <= '9')
                note--;
            more = strtoul(note, NULL, 10);
        }
    }
    free(seen);
    assert_int_equal(notes, 1);
    assert_int_equal(x.f.n + more, 200);
    fx_free(&x);
}

/* ---- many variants: one finding per dimension ------------------------------------------------ */

/* The grid's lists. grid_list() says which variant advertises which, so what each mismatch rule
 * must report is counted here from the lists' identities (the arrays below), never from the
 * engine's hashes of the names. */
static const char *const list_sni[] = {"Corp Issuing CA 1"};
static const char *const list_nosni[] = {"Default CA", "Other CA"};
static const char *const list_reneg[] = {"Protected CA"};
static const char *const list_stale[] = {"Stale CA"};
static const char *const list_tls13[] = {"Corp Issuing CA 1", "Corp Issuing CA 2"};

struct cell {
    size_t addr;
    bool sni;
    uint16_t ver;
    bool reneg;
    const char *const *list;
};

/* With SNI every address but the last advertises list_sni (the last is a node nobody fixed);
 * address 0 adds a name over TLS 1.3; without SNI the default binding's list; the
 * renegotiation asks for the protected location's list. */
static const char *const *grid_list(const struct cell *c, size_t n_addr, size_t *n)
{
    const char *const *l = c->reneg                           ? list_reneg
                           : !c->sni                          ? list_nosni
                           : c->addr == n_addr - 1            ? list_stale
                           : c->addr == 0 && c->ver == 0x0304 ? list_tls13
                                                              : list_sni;
    *n = l == list_nosni || l == list_tls13 ? 2 : 1;
    return l;
}

enum { DIM_SNI, DIM_VERSION, DIM_ADDRESS, DIM_PHASE };
static const char *const dim_rule[] = {"sni-mismatch", "version-mismatch", "address-mismatch",
                                       "renegotiation-mismatch"};

/* Probe order: address x {SNI, no SNI} x {1.2, 1.3}, each handshake followed by its
 * renegotiation (TLS 1.2 only unless reneg13). Returns the cells, one per observation. */
static struct cell *grid_build(struct fixture *x, size_t n_addr, bool reneg13)
{
    struct cell *cells = calloc(n_addr * 8, sizeof(*cells));
    assert_non_null(cells);
    for (size_t a = 0; a < n_addr; a++)
        for (int s = 0; s < 2; s++)
            for (int v = 0; v < 2; v++)
                for (int p = 0; p < 2; p++) {
                    uint16_t ver = v ? 0x0304 : 0x0303;
                    if (p && ver == 0x0304 && !reneg13)
                        continue;
                    struct cell *c = &cells[x->n];
                    *c = (struct cell){a, s == 0, ver, p == 1, NULL};
                    size_t n;
                    c->list = grid_list(c, n_addr, &n);
                    char addr[32];
                    snprintf(addr, sizeof(addr), "10.0.%zu.%zu", a / 256, a % 256);
                    struct tls_observation *o =
                        obs_make(NULL, c->sni ? "app.example" : NULL, ver,
                                 p ? "renegotiation" : "handshake", c->list, n);
                    o->address = tls_arena_strdup(&o->arena, addr);
                    fx_add(x, o);
                }
    return cells;
}

/* Cells a and b are the same variant but for dimension d. */
static bool only_differ_in(const struct cell *a, const struct cell *b, int d)
{
    bool same[4] = {a->sni == b->sni, a->ver == b->ver, a->addr == b->addr, a->reneg == b->reneg};
    for (int k = 0; k < 4; k++)
        if (same[k] != (k != d))
            return false;
    return true;
}

/* What a grouped finding of dimension d must cite: every observation that has a partner
 * differing from it in d alone, with another list (brute force over all pairs). */
static size_t expected_cited(const struct cell *cells, size_t n, int d, bool *cited)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        cited[i] = false;
        for (size_t j = 0; j < n && !cited[i]; j++)
            cited[i] = only_differ_in(&cells[i], &cells[j], d) && cells[i].list != cells[j].list;
        count += cited[i];
    }
    return count;
}
/* One finding per mismatch rule and nothing else; each cites what the brute force expects (want[d]
 * observations, in probe order, the first REPORT_FINDING_MAX_OBS of them) and its message holds
 * says[d]. */
static void check_grid(size_t n_addr, bool reneg13, const size_t want[4], const char *const says[4])
{
    struct fixture x;
    fx_init(&x);
    struct cell *cells = grid_build(&x, n_addr, reneg13);
    fx_run(&x);
    assert_int_equal(x.f.n, 4);
    bool *cited = calloc(x.n, sizeof(*cited));
    assert_non_null(cited);
    for (int d = 0; d < 4; d++) {
        size_t n = expected_cited(cells, x.n, d, cited);
        assert_int_equal(n, want[d]);
        const struct report_finding *f = NULL;
        for (size_t i = 0; i < x.f.n; i++)
            if (strcmp(x.f.v[i].rule->name, dim_rule[d]) == 0) {
                assert_null(f);
                f = &x.f.v[i];
            }
        assert_non_null(f);
        size_t cite = n < REPORT_FINDING_MAX_OBS ? n : REPORT_FINDING_MAX_OBS;
        assert_int_equal(f->n_obs, cite);
        for (size_t i = 0, k = 0; i < x.n && k < cite; i++)
            if (cited[i])
                assert_int_equal(f->obs[k++], i);
        if (strstr(f->message, says[d]) == NULL)
            fail_msg("%s: '%s' lacks '%s'", dim_rule[d], f->message, says[d]);
        char more[96];
        snprintf(more, sizeof(more), "; and %zu more observations", n - cite);
        assert_true((strstr(f->message, more) != NULL) == (n > cite));
    }
    free(cited);
    free(cells);
    fx_free(&x);
}

static void test_grouped_mismatches(void **state)
{
    (void)state;
    /* 8 addresses x 2 SNI x 2 versions x 2 phases: 64 observations (2,016 pairs) */
    static const size_t want64[] = {32, 2, 16, 64};
    static const char *const says64[] = {
        "the list depends on SNI: [no SNI] 2 names (16 observations) vs [SNI app.example] 1 "
        "name (13 observations) vs [SNI app.example] 1 name (2 observations) vs [SNI "
        "app.example] 2 names (1 observation), on 8 addresses x 2 versions; [10.0.0.0, SNI "
        "app.example, TLS 1.2] vs [10.0.0.0, no SNI, TLS 1.2]: 1 only with the first (CN=Corp "
        "Issuing CA 1), 2 only with the second (", /* the pair differs in SNI alone; the
                                                    * names come in the order of their hashes */
        "the list depends on the TLS version: [TLS 1.2] 1 name vs [TLS 1.3] 2 names, on "
        "10.0.0.0, SNI app.example; [10.0.0.0, SNI app.example, TLS 1.2] vs [10.0.0.0, SNI "
        "app.example, TLS 1.3]: 0 only with the first, 1 only with the second (CN=Corp Issuing "
        "CA 2)",
        "the list depends on the address: [7 addresses: 10.0.0.0, 10.0.0.1, ...] 1 name (13 "
        "observations) vs [10.0.0.7] 1 name (2 observations) vs [10.0.0.0] 2 names (1 "
        "observation), on 2 versions, SNI app.example;",
        "the renegotiation advertises another list: [renegotiation] 1 name (32 observations) vs "
        "[handshake] 2 names (16 observations) vs [handshake] 1 name (13 observations) vs "
        "[handshake] 1 name (2 observations) vs 1 more list, on 8 addresses x 2 SNI values x 2 "
        "versions;",
    };
    check_grid(8, true, want64, says64);
    /* 50 addresses x 2 SNI x (TLS 1.2 + its renegotiation, TLS 1.3): 300 observations */
    static const size_t want300[] = {200, 2, 100, 200};
    static const char *const says300[] = {
        "[no SNI] 2 names (100 observations) vs [SNI app.example] 1 name (97 observations) vs "
        "[SNI app.example] 1 name (2 observations) vs [SNI app.example] 2 names (1 observation), "
        "on 50 addresses x 2 versions;",
        "[TLS 1.2] 1 name vs [TLS 1.3] 2 names, on 10.0.0.0, SNI app.example;",
        "[49 addresses: 10.0.0.0, 10.0.0.1, ...] 1 name (97 observations) vs [10.0.0.49] 1 name "
        "(2 observations) vs [10.0.0.0] 2 names (1 observation), on 2 versions, SNI app.example;",
        "[renegotiation] 1 name (100 observations) vs [handshake] 2 names (50 observations) vs "
        "[handshake] 1 name (49 observations) vs [handshake] 1 name (1 observation), on 50 "
        "addresses x 2 SNI values, TLS 1.2;",
    };
    check_grid(50, false, want300, says300);
    /* 130 addresses: 1040 observations, the renegotiation finding cites 1024 of them */
    static const size_t want1040[] = {520, 2, 260, 1040};
    static const char *const says1040[] = {"on 130 addresses x 2 versions", "on 10.0.0.0",
                                           "[10.0.0.129] 1 name (2 observations)",
                                           "on 130 addresses x 2 SNI values x 2 versions"};
    check_grid(130, true, want1040, says1040);
}

/* Every address its own list (a hostile or churning server): one address-mismatch, not n x (n -
 * 1) / 2, citing all of them (64: 2,016 findings before; 300: 44,850 pairs ran the findings
 * arena out and failed the scan). */
static void test_every_address_its_own_list(void **state)
{
    (void)state;
    static const size_t sizes[] = {64, 300};
    for (size_t s = 0; s < 2; s++) {
        struct fixture x;
        fx_init(&x);
        for (size_t i = 0; i < sizes[s]; i++) {
            char cn[32];
            snprintf(cn, sizeof(cn), "Node CA %zu", i);
            const char *const cns[] = {cn};
            fx_add_addresses(&x, i, 1, cns, 1);
        }
        fx_run(&x);
        assert_int_equal(x.f.n, 1);
        const struct report_finding *f = find(&x, "address-mismatch", "vs [10.0.0.1] 1 name");
        assert_non_null(f);
        assert_int_equal(f->n_obs, sizes[s]);
        for (size_t k = 0; k < f->n_obs; k++)
            assert_int_equal(f->obs[k], k);
        char more[64];
        snprintf(more, sizeof(more), " vs %zu more lists, on SNI app.example, TLS 1.2;",
                 sizes[s] - 4);
        assert_non_null(strstr(f->message, more));
        fx_free(&x);
    }
}

/* Each address has its own pair of lists: the names a sni-mismatch message compares must come
 * from observations that differ in SNI alone (one address), never from two addresses, whose
 * difference is address-mismatch's to tell. */
static void test_mismatch_pair_in_one_group(void **state)
{
    (void)state;
    static const char *const cn[] = {"X", "P", "Q", "Y", "Z", "W"};
    const char *const *l = cn;
    struct fixture x;
    fx_init(&x);
    /* 10.0.0.1: SNI X in both versions, no SNI P (1.2) and Q (1.3); 10.0.0.2 likewise with Y,
     * Z and W. X and Y are the two most observed lists, but no group holds both. */
    for (int a = 0; a < 2; a++) {
        const char *addr = a ? "10.0.0.2" : "10.0.0.1";
        fx_add(&x, obs_make(addr, "app", 0x0303, "handshake", l + 3 * a, 1));
        fx_add(&x, obs_make(addr, "app", 0x0304, "handshake", l + 3 * a, 1));
        fx_add(&x, obs_make(addr, NULL, 0x0303, "handshake", l + 3 * a + 1, 1));
        fx_add(&x, obs_make(addr, NULL, 0x0304, "handshake", l + 3 * a + 2, 1));
    }
    fx_run(&x);
    const struct report_finding *f = find(&x, "sni-mismatch", NULL);
    assert_non_null(f);
    const char *pair = strstr(f->message, "; [");
    assert_non_null(pair);
    /* the compared names share an address: X with P or Q, or Y with Z or W */
    bool first = strstr(pair, "(CN=X)") && (strstr(pair, "(CN=P)") || strstr(pair, "(CN=Q)"));
    bool second = strstr(pair, "(CN=Y)") && (strstr(pair, "(CN=Z)") || strstr(pair, "(CN=W)"));
    if (!first && !second)
        fail_msg("the names compared come from two groups: %s", f->message);
    fx_free(&x);
}

/* legacy-tls-version: one finding per target citing every probe that got TLS 1.1 or older;
 * medium when nothing newer came, low beside TLS 1.2 or 1.3; a pin wins. Probes whose version
 * differs from what they offered are labelled by what they offered (TLS 1.2, chose 1.0). */
static void test_legacy_tls_version(void **state)
{
    (void)state;
    struct fixture x;
    fx_init(&x);
    struct tls_observation *a = obs_make("192.0.2.1", NULL, 0x0301, "handshake", good, 1);
    struct tls_observation *b = obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1);
    b->version = 0x0301; /* the TLS 1.2 probe: the server chose 1.0 */
    fx_add(&x, a);
    fx_add(&x, b);
    fx_add(&x, obs_error("192.0.2.1", NULL, 0x0304)); /* TLS 1.3 failed: no version */
    fx_run(&x);
    const struct report_finding *f = find(
        &x, "legacy-tls-version", "[192.0.2.1, no SNI, TLS 1.0] the server chose TLS 1.0 in 2");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "no probe got TLS 1.2 or 1.3"));
    assert_int_equal(f->severity, REPORT_SEV_MEDIUM);
    assert_int_equal(f->n_obs, 2);
    assert_int_equal(f->obs[0], 0);
    assert_int_equal(f->obs[1], 1);
    /* the same lists: no version-mismatch for probes that got the same version */
    assert_null(find(&x, "version-mismatch", NULL));
    static const struct pin_case pins[] = {
        {NULL, REPORT_SEV_MEDIUM}, {"medium", REPORT_SEV_MEDIUM}, {"high", REPORT_SEV_HIGH}};
    check_pins(&x, "legacy-tls-version", NULL, pins, 3);
    fx_free(&x);

    /* beside TLS 1.2: low; the oldest named when they differ (SSL 3.0 counts) */
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0302, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    struct tls_observation *c = obs_error("192.0.2.2", NULL, 0x0301);
    c->version = 0x0300;
    fx_add(&x, c);
    fx_run(&x);
    f = find(&x, "legacy-tls-version",
             "the server chose TLS 1.1 (2 probes chose a version before "
             "TLS 1.2, the oldest SSL 3.0); it also speaks TLS 1.2");
    assert_non_null(f);
    assert_int_equal(f->severity, REPORT_SEV_LOW);
    static const struct pin_case low[] = {{NULL, REPORT_SEV_LOW}, {"medium", REPORT_SEV_MEDIUM}};
    check_pins(&x, "legacy-tls-version", NULL, low, 2);
    fx_free(&x);

    /* a TLS 1.3 probe declined with the same TLS 1.0 ServerHello (version_not_offered) is not
     * cited beside the TLS 1.2 probe that went on with TLS 1.0; alone, it is */
    for (int alone = 0; alone < 2; alone++) {
        fx_init(&x);
        struct tls_observation *went = obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1);
        went->version = 0x0301;
        if (!alone)
            fx_add(&x, went);
        else {
            tls_observation_free(went);
            free(went);
        }
        struct tls_observation *stopped = obs_error("192.0.2.1", NULL, 0x0304);
        stopped->version = 0x0301;
        stopped->error_kind = TLS_ERROR_VERSION_NOT_OFFERED;
        fx_add(&x, stopped);
        fx_run(&x);
        f = find(&x, "legacy-tls-version",
                 alone ? "[192.0.2.1, no SNI, TLS 1.3] the server chose TLS 1.0;"
                       : "[192.0.2.1, no SNI, TLS 1.2] the server chose TLS 1.0;");
        assert_non_null(f);
        assert_int_equal(f->n_obs, 1);
        assert_int_equal(f->obs[0], 0);
        fx_free(&x);
    }

    /* TLS 1.2 and 1.3 only: silent */
    fx_init(&x);
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0303, "handshake", good, 1));
    fx_add(&x, obs_make("192.0.2.1", NULL, 0x0304, "handshake", good, 1));
    fx_run(&x);
    assert_null(find(&x, "legacy-tls-version", NULL));
    fx_free(&x);
}

static void test_table(void **state)
{
    (void)state;
    for (int i = 0; i < REPORT_RULE_COUNT; i++) {
        const struct report_rule *r = report_rule_get((enum report_rule_id)i);
        assert_int_equal(r->id, i);
        assert_ptr_equal(report_rule_find(r->name), r);
        assert_non_null(r->check);
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
        cmocka_unit_test(test_many_private_names_are_oversized_not_a_dump),
        cmocka_unit_test(test_windows_root_store),
        cmocka_unit_test(test_expected_cas),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_client_cert_presented),
        cmocka_unit_test(test_duplicate_and_malformed),
        cmocka_unit_test(test_baseline_drift),
        cmocka_unit_test(test_baseline_drift_direction),
        cmocka_unit_test(test_baseline_drift_windows_store),
        cmocka_unit_test(test_disable_override_and_order),
        cmocka_unit_test(test_limits_trim_with_a_note),
        cmocka_unit_test(test_grouped_mismatches),
        cmocka_unit_test(test_every_address_its_own_list),
        cmocka_unit_test(test_mismatch_pair_in_one_group),
        cmocka_unit_test(test_legacy_tls_version),
        cmocka_unit_test(test_starttls_remedies),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
