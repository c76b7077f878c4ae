/* Unit tests for policies (report/policy.h): the documented example with every field, matching
 * order and pattern kinds, how an entry merges over the defaults, and every error form, each
 * checked for its FILE:LINE:COLUMN and what was expected. Files come from fixtures/policy/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/policy.h"
#include "tls/wire/error.h"

static const char *fixtures(void)
{
    const char *dir = getenv("CAPROBE_FIXTURES");
    return dir ? dir : "fixtures";
}

static void fixture_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/policy/%s", fixtures(), name);
}

static struct report_policy *load_ok(const char *name)
{
    char path[1024], err[REPORT_POLICY_ERR_CAP];
    fixture_path(path, sizeof(path), name);
    struct report_policy *p = NULL;
    int rc = report_policy_load(&p, path, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", name, err);
    assert_non_null(p);
    return p;
}

static struct report_policy *parse_ok(const char *name, const char *text)
{
    char err[REPORT_POLICY_ERR_CAP];
    struct report_policy *p = NULL;
    int rc = report_policy_parse(&p, name, (const uint8_t *)text, strlen(text), err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    assert_non_null(p);
    return p;
}

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL)
        fail_msg("'%s' does not contain '%s'", s, part);
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", s, prefix);
}

static enum report_rule_id rule(const char *name)
{
    const struct report_rule *r = report_rule_find(name);
    assert_non_null(r);
    return r->id;
}

static const struct report_policy_entry *match(const struct report_policy *p, const char *host,
                                               uint16_t port)
{
    char spec[300];
    snprintf(spec, sizeof(spec), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    return report_policy_match(p, spec, host, port);
}

static size_t match_index(const struct report_policy *p, const char *host, uint16_t port)
{
    return report_policy_entry_index(p, match(p, host, port));
}

/* ---- the example of docs/policy.md ------------------------------------------------------------
 */

static void test_full_policy(void **state)
{
    (void)state;
    struct report_policy *p = load_ok("full.yaml");
    char dir[1024], want[1200];
    fixture_path(dir, sizeof(dir), "");
    assert_int_equal(report_policy_count(p), 4);
    assert_null(report_policy_entry_at(p, 4));

    /* defaults alone */
    const struct report_policy_file *files, *file;
    size_t n;
    assert_true(report_policy_expect_ca(p, NULL, &files, &n));
    assert_int_equal(n, 1);
    snprintf(want, sizeof(want), "%s../pki/cas.pem", dir);
    assert_string_equal(files[0].path, want);
    snprintf(want, sizeof(want), "%sfull.yaml:11:14", dir);
    assert_string_equal(files[0].where, want);
    assert_false(report_policy_client_cert(p, NULL, &file));
    assert_null(file);
    assert_int_equal(report_policy_client_auth(p, NULL), REPORT_CLIENT_AUTH_OPTIONAL);

    struct report_context ctx;
    report_context_init(&ctx);
    report_policy_apply(p, NULL, &ctx);
    assert_int_equal(ctx.client_auth, 0);
    assert_int_equal(ctx.severity[rule("empty-ca-list")], REPORT_SEV_LOW);
    assert_int_equal(ctx.severity[rule("oversized-ca-list")], REPORT_SEV_HIGH);
    assert_int_equal(ctx.severity[rule("sni-mismatch")], REPORT_SEV_HIGH); /* the rule's own */
    assert_false(ctx.enabled[rule("duplicate-ca")]);
    assert_true(ctx.enabled[rule("public-ca-accepted")]);

    /* entry 0: every setting */
    const struct report_policy_entry *e = report_policy_entry_at(p, 0);
    assert_non_null(e);
    assert_string_equal(report_policy_entry_pattern(e), "*.corp.example:443");
    snprintf(want, sizeof(want), "%sfull.yaml:17:5", dir);
    assert_string_equal(report_policy_entry_where(e), want);
    assert_int_equal(report_policy_entry_index(p, e), 0);
    assert_true(report_policy_expect_ca(p, e, &files, &n));
    assert_int_equal(n, 2);
    snprintf(want, sizeof(want), "%s../pki/issuing.pem", dir);
    assert_string_equal(files[0].path, want);
    snprintf(want, sizeof(want), "%s../pki/root.pem", dir);
    assert_string_equal(files[1].path, want);
    snprintf(want, sizeof(want), "%sfull.yaml:21:9", dir);
    assert_string_equal(files[1].where, want);
    assert_true(report_policy_client_cert(p, e, &file));
    assert_non_null(file);
    snprintf(want, sizeof(want), "%s../pki/client-chain.pem", dir);
    assert_string_equal(file->path, want);
    assert_int_equal(report_policy_client_auth(p, e), REPORT_CLIENT_AUTH_REQUIRED);
    report_context_init(&ctx);
    report_policy_apply(p, e, &ctx);
    assert_int_equal(ctx.client_auth, 1);
    assert_int_equal(ctx.severity[rule("sni-mismatch")], REPORT_SEV_CRITICAL);
    assert_int_equal(ctx.severity[rule("unexpected-ca")], REPORT_SEV_HIGH);
    assert_int_equal(ctx.severity[rule("empty-ca-list")], REPORT_SEV_LOW); /* from defaults */
    assert_true(ctx.enabled[rule("duplicate-ca")]); /* enabled again over the defaults */
    assert_false(ctx.enabled[rule("public-ca-accepted")]);

    /* entry 1: clears what the defaults expect */
    e = report_policy_entry_at(p, 1);
    assert_true(report_policy_expect_ca(p, e, &files, &n));
    assert_int_equal(n, 0);
    assert_true(report_policy_client_cert(p, e, &file));
    assert_null(file);

    /* entry 2: its own client_cert; expect_ca comes from the defaults */
    e = report_policy_entry_at(p, 2);
    assert_true(report_policy_client_cert(p, e, &file));
    snprintf(want, sizeof(want), "%s../pki/client.pem", dir);
    assert_string_equal(file->path, want);
    assert_true(report_policy_expect_ca(p, e, &files, &n));
    assert_int_equal(n, 1);
    assert_contains(files[0].path, "cas.pem");

    /* entry 3: client_auth none */
    e = report_policy_entry_at(p, 3);
    assert_int_equal(report_policy_client_auth(p, e), REPORT_CLIENT_AUTH_NONE);
    report_context_init(&ctx);
    report_policy_apply(p, e, &ctx);
    assert_int_equal(ctx.client_auth, 0);
    assert_false(ctx.enabled[rule("no-certificate-request")]);
    assert_false(ctx.enabled[rule("expected-ca-missing")]);
    assert_false(ctx.enabled[rule("unexpected-ca")]);
    report_policy_free(p);
}

/* ---- matching ---------------------------------------------------------------------------------
 */

static void test_match_full(void **state)
{
    (void)state;
    struct report_policy *p = load_ok("full.yaml");
    assert_int_equal(match_index(p, "portal.corp.example", 443), 0);
    assert_int_equal(match_index(p, "PORTAL.Corp.EXAMPLE", 443), 0);  /* names ignore case */
    assert_int_equal(match_index(p, "a.b.corp.example", 443), 0);     /* '*' spans dots */
    assert_int_equal(match_index(p, "portal.corp.example", 8443), 1); /* host alone */
    assert_int_equal(match_index(p, "legacy-portal.example.net", 4443), 1);
    assert_int_equal(match_index(p, "10.20.3.4", 8443), 2);
    assert_int_equal(match_index(p, "10.20.3.4", 443), 3); /* the range is on 8443 only */
    assert_int_equal(match_index(p, "10.21.0.1", 8443), 3);
    assert_int_equal(match_index(p, "2001:db8:20:ffff::5", 443), 2);
    assert_int_equal(match_index(p, "2001:db8:21::5", 443), 3);
    assert_int_equal(match_index(p, "www.example.org", 443), 3); /* the catch-all */
    /* host names never match address patterns, even when they look alike */
    assert_int_equal(match_index(p, "10.20.3.4.nip.io", 8443), 3);
    /* NULL target_spec: host and port alone */
    assert_ptr_equal(report_policy_match(p, NULL, "x.corp.example", 443),
                     report_policy_entry_at(p, 0));
    report_policy_free(p);
}

static void test_match_order_and_kinds(void **state)
{
    (void)state;
    struct report_policy *p = parse_ok("mem.yaml", "targets:\n"
                                                   "  - match: app.example.com:443\n"
                                                   "  - match: \"*.example.com\"\n"
                                                   "  - match: app.example.com\n"
                                                   "  - match: \"10.0.0.*\"\n"
                                                   "  - match: \"10.1.0.1:*\"\n"
                                                   "  - match: \"[2001:db8::1]:8443\"\n"
                                                   "  - match: \"[2001:db8:1::/64]:443\"\n"
                                                   "  - match: 192.0.2.7\n"
                                                   "  - match: 198.51.100.0/24\n"
                                                   "  - match: 203.0.113.9:993\n"
                                                   "  - match: \"[ab]pp.example.org:44?\"\n"
                                                   "  - match: [one.example, two.example:25]\n"
                                                   "  - match: 172.16.0.0/12:8443\n"
                                                   "  - match: ::1\n");
    assert_int_equal(report_policy_count(p), 14);
    size_t none = report_policy_count(p);
    assert_int_equal(match_index(p, "app.example.com", 443), 0);
    assert_int_equal(match_index(p, "app.example.com", 80), 1); /* first match wins: 1, not 2 */
    assert_int_equal(match_index(p, "example.com", 443), none); /* '*.' needs a label */
    assert_int_equal(match_index(p, "10.0.0.99", 1), 3);        /* a glob on an address */
    assert_int_equal(match_index(p, "10.1.0.1", 636), 4);
    assert_int_equal(match_index(p, "10.1.0.2", 636), none);
    assert_int_equal(match_index(p, "2001:db8::1", 8443), 5);
    assert_int_equal(match_index(p, "2001:0db8:0::1", 8443), 5); /* by value, not by text */
    assert_int_equal(match_index(p, "2001:db8::1", 443), none);
    assert_int_equal(match_index(p, "2001:db8:1::abcd", 443), 6);
    assert_int_equal(match_index(p, "2001:db8:1:1::abcd", 443), none);
    assert_int_equal(match_index(p, "192.0.2.7", 25), 7);
    assert_int_equal(match_index(p, "192.0.2.8", 25), none);
    assert_int_equal(match_index(p, "198.51.100.255", 443), 8);
    assert_int_equal(match_index(p, "198.51.101.0", 443), none);
    assert_int_equal(match_index(p, "203.0.113.9", 993), 9);
    assert_int_equal(match_index(p, "203.0.113.9", 995), none);
    assert_int_equal(match_index(p, "bpp.example.org", 443), 10);
    assert_int_equal(match_index(p, "cpp.example.org", 443), none);
    assert_int_equal(match_index(p, "one.example", 1), 11);
    assert_int_equal(match_index(p, "two.example", 25), 11);
    assert_int_equal(match_index(p, "two.example", 587), none);
    assert_int_equal(match_index(p, "172.31.255.255", 8443), 12);
    assert_int_equal(match_index(p, "172.32.0.0", 8443), none);
    assert_int_equal(match_index(p, "::1", 443), 13);
    /* bracketed hosts and zones are accepted as addresses */
    assert_int_equal(report_policy_entry_index(p, report_policy_match(p, NULL, "[::1]", 443)), 13);
    assert_int_equal(report_policy_entry_index(p, report_policy_match(p, NULL, "::1%lo", 443)), 13);
    assert_null(report_policy_match(NULL, "a:1", "a", 1));
    assert_null(report_policy_match(p, NULL, NULL, 1));
    report_policy_free(p);

    /* an empty policy is valid and matches nothing */
    p = parse_ok("mem.yaml", "{}");
    assert_int_equal(report_policy_count(p), 0);
    assert_null(match(p, "a.example", 443));
    report_policy_free(p);
    p = parse_ok("mem.yaml", "version: 1\ntargets: []\n");
    assert_int_equal(report_policy_count(p), 0);
    report_policy_free(p);
}

/* ---- merging over the defaults ----------------------------------------------------------------
 */

/* Globs that look like addresses match address literals only, never a name that starts like
 * one (its owner chooses what it resolves to); an address is compared as the address it
 * reaches (an IPv4-mapped IPv6 address is its IPv4 address, IPv6 text in inet_ntop's spelling);
 * a host that ends in a number, which resolvers read as an IPv4 address, matches nothing. */
static void test_match_address_lookalikes(void **state)
{
    (void)state;
    struct report_policy *p = parse_ok("mem.yaml", "targets:\n"
                                                   "  - match: \"127.0.0.*:*\"\n"
                                                   "  - match: \"2001:DB8::*\"\n"
                                                   "  - match: \"*.example.com\"\n"
                                                   "  - match: \"::/0\"\n"
                                                   "  - match: 10.0.0.0/8\n"
                                                   "  - match: \"cafe:*\"\n"
                                                   "  - match: \"*:443\"\n");
    size_t none = report_policy_count(p);
    assert_int_equal(match_index(p, "127.0.0.1", 80), 0);
    assert_int_equal(match_index(p, "127.0.0.evil.example", 80), none);
    assert_int_equal(match_index(p, "127.0.0.1.nip.io", 80), none);
    assert_int_equal(match_index(p, "127.0.0.1.NIP.IO", 80), none);
    assert_int_equal(match_index(p, "127.0.0.evil.example", 443), 6); /* the catch-all */
    assert_int_equal(match_index(p, "2001:db8::1.evil.example", 80), none);
    /* an address's spellings */
    assert_int_equal(match_index(p, "::ffff:127.0.0.1", 80), 0); /* its IPv4 address... */
    assert_int_equal(match_index(p, "::FFFF:7f00:1", 80), 0);
    assert_int_equal(match_index(p, "::ffff:10.1.2.3", 80), 4); /* ...not in ::/0 */
    assert_int_equal(match_index(p, "2001:0DB8:0::1", 80), 1);  /* inet_ntop's text */
    assert_int_equal(match_index(p, "0:0::1", 80), 3);
    assert_int_equal(match_index(p, "::1", 80), 3);
    assert_int_equal(match_index(p, "cafe", 80), 5); /* one colon: a host and its port */
    /* hosts that end in a number match nothing, not even "*:443" */
    static const char *const numeric[] = {"2130706433", "0x7f000001", "0X7F.1",
                                          "0177.0.0.1", "127.1",      "10.0.0.0x1"};
    for (size_t i = 0; i < sizeof(numeric) / sizeof(*numeric); i++)
        assert_int_equal(match_index(p, numeric[i], 443), none);
    report_policy_free(p);
}

/* Patterns that name no target (the exporter refuses them in 'allow' without allow_any): each
 * admits hosts in unrelated places, which matching itself confirms on witnesses that share
 * nothing; patterns that name a host, a domain or a range are not open. */
static void test_pattern_open(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool open;
    } cases[] = {
        {"*", true},
        {"*:*", true},
        {"*:443", true},
        {"*.*", true},
        {"*.*:44?", true},
        {"?*", true},
        {"*-*", true},
        {"[a-z0-9]*", true},
        {"[!.]*:[0-9]*", true},
        {"0.0.0.0/0", true},
        {"0.0.0.0/0:443", true},
        {"[::/0]:443", true},
        {"::/0", true},
        {"*.corp.example.com:443", false},
        {"*.com", false},
        {"app.example.com", false},
        {"10.20.1.*", false},
        {"10.20.1.5:*", false},
        {"2001:db8::*", false},
        {"10.0.0.0/8", false},
        {"192.0.2.10", false},
        {"\\app.*", false}, /* an escaped letter is a letter: it names a host */
    };
    /* hosts that share nothing: names in unrelated domains, with and without dots or hyphens,
     * addresses of both families in unrelated ranges */
    static const char *const hosts[] = {"intranet",        "app.example.org", "x-y.invalid",
                                        "a-b.example.net", "192.0.2.77",      "198.51.100.1",
                                        "2001:db8::77",    "2001:db9::1"};
    struct tls_arena arena;
    tls_arena_init(&arena, 1 << 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct report_target_pattern pt;
        const char *why = NULL;
        assert_int_equal(report_target_pattern_parse(&pt, cases[i].text, &arena, &why), 0);
        bool open = report_target_pattern_open(&pt);
        if (open != cases[i].open)
            fail_msg("'%s': open %d, expected %d", cases[i].text, open, cases[i].open);
        size_t matched = 0;
        for (size_t j = 0; j < sizeof(hosts) / sizeof(*hosts); j++) {
            struct report_target_subject sub;
            char spec[600];
            snprintf(spec, sizeof(spec), strchr(hosts[j], ':') ? "[%s]:443" : "%s:443", hosts[j]);
            assert_true(report_target_subject_init(&sub, spec, hosts[j], 443));
            matched += report_target_pattern_match(&pt, &sub);
        }
        if (open && matched < 2)
            fail_msg("'%s' is said to be open but admits %zu unrelated hosts", cases[i].text,
                     matched);
        if (!open && matched > 1)
            fail_msg("'%s' admits %zu unrelated hosts but is not said to be open", cases[i].text,
                     matched);
    }
    tls_arena_free(&arena);
}

static void test_defaults_merge(void **state)
{
    (void)state;
    struct report_policy *p =
        parse_ok("dir/sub/mem.yaml", "defaults:\n"
                                     "  client_auth: required\n"
                                     "  severities:\n"
                                     "    empty-ca-list: low\n"
                                     "    sni-mismatch: medium\n"
                                     "  disable: [duplicate-ca, malformed-ca]\n"
                                     "  expect_ca: [ca.pem, /abs/ca2.pem]\n"
                                     "  client_cert: chain.pem\n"
                                     "targets:\n"
                                     "  - match: a.example\n"
                                     "    severities: {sni-mismatch: critical}\n"
                                     "    enable: duplicate-ca\n"
                                     "  - match: b.example\n"
                                     "    client_auth: optional\n"
                                     "    expect_ca: []\n"
                                     "    client_cert: ~\n"
                                     "  - match: c.example\n"
                                     "    client_auth: none\n"
                                     "    expect_ca: c.pem\n"
                                     "    disable: [root-store-dump]\n");
    const struct report_policy_entry *a = match(p, "a.example", 443), *b = match(p, "b.example", 1),
                                     *c = match(p, "c.example", 1);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);

    /* a: severities merge rule by rule; 'enable' undoes the defaults' 'disable' */
    struct report_context ctx;
    report_context_init(&ctx);
    ctx.severity[rule("baseline-drift")] = REPORT_SEV_CRITICAL; /* as the command line left it */
    ctx.enabled[rule("version-mismatch")] = false;
    report_policy_apply(p, a, &ctx);
    assert_int_equal(ctx.client_auth, 1);
    assert_int_equal(ctx.severity[rule("empty-ca-list")], REPORT_SEV_LOW);
    assert_int_equal(ctx.severity[rule("sni-mismatch")], REPORT_SEV_CRITICAL);
    assert_int_equal(ctx.severity[rule("root-store-dump")],
                     report_rule_find("root-store-dump")->severity);
    assert_int_equal(ctx.severity[rule("baseline-drift")], REPORT_SEV_CRITICAL); /* untouched */
    assert_false(ctx.enabled[rule("version-mismatch")]);                         /* untouched */
    assert_true(ctx.enabled[rule("duplicate-ca")]);
    assert_false(ctx.enabled[rule("malformed-ca")]);

    const struct report_policy_file *files, *file;
    size_t n;
    assert_true(report_policy_expect_ca(p, a, &files, &n));
    assert_int_equal(n, 2);
    assert_string_equal(files[0].path, "dir/sub/ca.pem");
    assert_string_equal(files[0].where, "dir/sub/mem.yaml:7:15");
    assert_string_equal(files[1].path, "/abs/ca2.pem");
    assert_true(report_policy_client_cert(p, a, &file));
    assert_string_equal(file->path, "dir/sub/chain.pem");

    /* b: optional, no expectation, no client certificate */
    report_context_init(&ctx);
    report_policy_apply(p, b, &ctx);
    assert_int_equal(ctx.client_auth, 0);
    assert_int_equal(ctx.severity[rule("sni-mismatch")], REPORT_SEV_MEDIUM);
    assert_false(ctx.enabled[rule("duplicate-ca")]);
    assert_true(report_policy_expect_ca(p, b, &files, &n));
    assert_int_equal(n, 0);
    assert_true(report_policy_client_cert(p, b, &file));
    assert_null(file);

    /* c: none; its own expect_ca replaces the defaults' list */
    report_context_init(&ctx);
    report_policy_apply(p, c, &ctx);
    assert_int_equal(ctx.client_auth, 0);
    assert_false(ctx.enabled[rule("root-store-dump")]);
    assert_false(ctx.enabled[rule("duplicate-ca")]);
    assert_true(report_policy_expect_ca(p, c, &files, &n));
    assert_int_equal(n, 1);
    assert_string_equal(files[0].path, "dir/sub/c.pem");

    /* no entry: the defaults alone */
    assert_null(match(p, "d.example", 443));
    report_context_init(&ctx);
    report_policy_apply(p, NULL, &ctx);
    assert_int_equal(ctx.client_auth, 1);
    assert_false(ctx.enabled[rule("duplicate-ca")]);
    assert_int_equal(report_policy_entry_index(p, NULL), 3);
    report_policy_free(p);

    /* no policy, or a policy that says nothing: the context is left alone */
    report_context_init(&ctx);
    struct report_context before = ctx;
    report_policy_apply(NULL, NULL, &ctx);
    assert_memory_equal(&ctx, &before, sizeof(ctx));
    p = parse_ok("mem.yaml", "targets:\n  - match: x\n");
    report_policy_apply(p, report_policy_entry_at(p, 0), &ctx);
    assert_memory_equal(&ctx, &before, sizeof(ctx));
    assert_false(report_policy_expect_ca(p, report_policy_entry_at(p, 0), &files, &n));
    assert_false(report_policy_client_cert(p, NULL, &file));
    assert_int_equal(report_policy_client_auth(p, NULL), REPORT_CLIENT_AUTH_UNSET);
    report_policy_free(p);

    /* relative paths of a policy in the current folder stay relative; "/x.yaml" is in "/" */
    p = parse_ok("mem.yaml", "defaults: {expect_ca: ca.pem}");
    assert_true(report_policy_expect_ca(p, NULL, &files, &n));
    assert_string_equal(files[0].path, "ca.pem");
    report_policy_free(p);
    p = parse_ok("/mem.yaml", "defaults: {expect_ca: ca.pem}");
    assert_true(report_policy_expect_ca(p, NULL, &files, &n));
    assert_string_equal(files[0].path, "/ca.pem");
    report_policy_free(p);
    assert_string_equal(report_client_auth_name(REPORT_CLIENT_AUTH_OPTIONAL), "optional");
}

/* ---- errors -----------------------------------------------------------------------------------
 */

struct bad_file {
    const char *file;
    int rc;
    const char *pos; /* "LINE:COLUMN" */
    const char *says[3];
};

static const struct bad_file bad_files[] = {
    {"bad-syntax.yaml",
     TLS_E_INVALID,
     "4:1",
     {"YAML syntax error: did not find expected ',' or '}'", "flow mapping at 3:15"}},
    {"bad-tab.yaml", TLS_E_INVALID, "2:1", {"YAML syntax error", "not tabs"}},
    {"bad-unquoted-glob.yaml",
     TLS_E_INVALID,
     "3:13",
     {"YAML syntax error", "quote a value that starts with '*'"}},
    {"bad-unknown-key.yaml",
     TLS_E_INVALID,
     "3:3",
     {"unknown key 'severity' in 'defaults'", "did you mean 'severities'?",
      "client_auth, severities, disable, expect_ca, client_cert"}},
    {"bad-type.yaml",
     TLS_E_INVALID,
     "7:5",
     {"'severities' expects a mapping of rule names to info|low|medium|high|critical, got a "
      "sequence"}},
    {"bad-rule.yaml",
     TLS_E_INVALID,
     "3:29",
     {"unknown rule 'dupliate-ca' in 'disable'", "did you mean 'duplicate-ca'?",
      "The rules are: no-certificate-request, empty-ca-list, "}},
    {"bad-severity.yaml",
     TLS_E_INVALID,
     "3:19",
     {"'sni-mismatch' in 'severities' expects info|low|medium|high|critical, got 'urgent'"}},
    {"bad-client-auth.yaml",
     TLS_E_INVALID,
     "3:18",
     {"'client_auth' expects required, optional or none, got 'yes'"}},
    {"bad-missing-match.yaml", TLS_E_INVALID, "4:5", {"target entry has no 'match'"}},
    {"bad-top-level.yaml",
     TLS_E_INVALID,
     "2:1",
     {"the top level expects a mapping with 'defaults' and/or 'targets', got a sequence"}},
    {"empty.yaml", TLS_E_INVALID, "1:1", {"empty policy: expected a mapping"}},
    {"bad-utf8.yaml", TLS_E_INVALID, "2:30", {"not UTF-8 (byte 0xe9)"}},
    {"bad-cidr.yaml",
     TLS_E_INVALID,
     "2:12",
     {"'match' pattern '10.0.0.0/33'", "prefix length of an IPv4 range is 0 to 32"}},
    {"bad-alias.yaml", TLS_E_INVALID, "5:17", {"aliases (*sev) are not supported"}},
    {"bad-nul.yaml", TLS_E_INVALID, "3:16", {"'client_auth' expects required, optional or none"}},
};

static void check_bad_file(const struct bad_file *b)
{
    char path[1024], err[REPORT_POLICY_ERR_CAP], want[1100];
    fixture_path(path, sizeof(path), b->file);
    struct report_policy *p = (struct report_policy *)&p; /* must be reset */
    int rc = report_policy_load(&p, path, err, sizeof(err));
    if (rc != b->rc)
        fail_msg("%s: rc %d, want %d (%s)", b->file, rc, b->rc, rc ? err : "");
    assert_null(p);
    snprintf(want, sizeof(want), "%s:%s: ", path, b->pos);
    assert_prefix(err, want);
    for (size_t k = 0; k < 3 && b->says[k]; k++)
        assert_contains(err, b->says[k]);
    assert_null(strchr(err, '\n'));
}

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(*bad_files); i++)
        check_bad_file(&bad_files[i]);
}

struct bad_text {
    const char *text;
    const char *pos; /* "LINE:COLUMN", or NULL for a message about the whole file */
    const char *says;
    size_t len; /* 0: strlen(text) */
};

static const struct bad_text bad_texts[] = {
    {"defaults: {client_auth: required, client_auth: none}", "1:35",
     "'client_auth' is given twice (first at 1:12)"},
    {"targets:\n  - match: x\n    enable: [sni-mismatch]\n    disable: [sni-mismatch]\n", "4:15",
     "rule 'sni-mismatch' is in both 'enable' and 'disable'"},
    {"defaults:\n  severities: {sni-mismatch: low, sni-mismatch: high}\n", "2:35",
     "rule 'sni-mismatch' is given twice in 'severities'"},
    {"targets: {a: b}", "1:10", "'targets' expects a list of target entries"},
    {"targets: [a.example]", "1:11", "each entry of 'targets' expects a mapping with 'match'"},
    {"targets:\n  - match: []\n", "2:12", "'match' expects at least one pattern"},
    {"targets:\n  - match: {a: b}\n", "2:12", "'match' expects a host:port glob"},
    {"targets:\n  - match: [a, [b]]\n", "2:16", "each item of 'match' expects"},
    {"targets:\n  - match: ''\n", "2:12", "'match' expects a pattern of 1 to 512 bytes"},
    {"targets:\n  - match: '[2001:db8::1]/64'\n", "2:12", "expected [IPv6]:PORT"},
    {"targets:\n  - match: '[2001:db8::/129]:443'\n", "2:12", "0 to 128"},
    {"targets:\n  - match: 10.0.0.0/8:0\n", "2:12", "the port is 1 to 65535"},
    {"targets:\n  - match: 10.0.0.300/8\n", "2:12", "not an IPv4 address"},
    {"targets:\n  - match: foo/bar\n", "2:12", "a '/' makes a CIDR range"},
    {"targets:\n  - match: x\n    expect_ca:\n", "3:15",
     "'expect_ca' expects a list of certificate files (PEM or DER; [] for none), got an empty "
     "value"},
    {"targets:\n  - match: x\n    expect_ca: ['']\n", "3:17", "'expect_ca' expects a file name"},
    {"defaults: {client_cert: [a.pem]}", "1:25", "'client_cert' expects a certificate chain file"},
    {"defaults: {client_cert: \"a\\0b\"}", "1:25", "a NUL character is not allowed here"},
    {"defaults: {client_auth: {x: y}}", "1:25",
     "'client_auth' expects required, optional or none, got a mapping"},
    {"defaults:\n  severities: {sni-mismatch: [high]}\n", "2:30",
     "'sni-mismatch' in 'severities' expects info|low|medium|high|critical, got a sequence"},
    {"defaults:\n  severities: {[a]: high}\n", "2:16",
     "'severities' expects rule names as keys, got a sequence"},
    {"defaults:\n  severities: {sni: high}\n", "2:16",
     "unknown rule 'sni' in 'severities'; the rules are"},
    {"defaults: {disable: [sni-mismatch, ~]}", "1:36",
     "each item of 'disable' expects a list of rule names, got an empty value"},
    {"defaults: {disable: {sni-mismatch: true}}", "1:21", "'disable' expects a list of rule names"},
    {"defaults:\n  match: x\n", "2:3", "'match' belongs in a target entry, not in 'defaults'"},
    {"defaults:\n  enable: [sni-mismatch]\n", "2:3", "every rule is on unless disabled"},
    {"defaults: [a]\n", "1:11", "'defaults' expects a mapping of settings, got a sequence"},
    {"match: x\n", "1:1", "'match' goes under 'defaults' or in an entry of 'targets'"},
    {"target:\n  - match: x\n", "1:1",
     "unknown key 'target' at the top level; did you mean 'targets'? Expected one of: version, "
     "defaults, targets"},
    {"targets:\n  - match: x\n    colour: red\n", "3:5",
     "unknown key 'colour' in a target entry; expected one of: match, client_auth"},
    {"? [a]\n: b\n", "1:3", "expected a key (a name), got a sequence"},
    {"version: 2\n", "1:10", "'version' expects 1 (the only policy format so far), got '2'"},
    {"defaults: {}\n---\ntargets: []\n", "2:1", "a policy is one YAML document"},
    {"---\n", "2:1",
     "the top level expects a mapping with 'defaults' and/or 'targets', got an empty value"},
    {"'just a string'\n", "1:1", "the top level expects a mapping"},
    {"# only a comment\n", "2:1", "empty policy"},
    {"defaults: {client_auth: \"required}\n", "2:1",
     "YAML syntax error: found unexpected end of stream"},
    {"defaults:\n  client_auth: re\x01quired\n", "2:18",
     "YAML syntax error: control characters are not allowed (U+0001)"},
    {"a: b\n\xc0\xaf", "2:1", "not UTF-8 (byte 0xc0)"},    /* overlong '/' */
    {"a: '\xed\xa0\x80'", "1:5", "not UTF-8 (byte 0xed)"}, /* a surrogate */
    {"a: '\xe2\x98", "1:5", "not UTF-8 (byte 0xe2)"},      /* cut short */
    {"\xff\xfe"                                            /* UTF-16 */
     "a\0:\0",
     "1:1", "not UTF-8 (byte 0xff)", 6},
};

static void check_bad_text(size_t i, const struct bad_text *b)
{
    char err[REPORT_POLICY_ERR_CAP], want[64];
    struct report_policy *p = NULL;
    size_t len = b->len ? b->len : strlen(b->text);
    int rc = report_policy_parse(&p, "mem.yaml", (const uint8_t *)b->text, len, err, sizeof(err));
    if (rc != TLS_E_INVALID)
        fail_msg("case %zu: rc %d (%s)", i, rc, rc ? err : "accepted");
    assert_null(p);
    snprintf(want, sizeof(want), "mem.yaml:%s: ", b->pos);
    if (strncmp(err, want, strlen(want)) != 0 || strstr(err, b->says) == NULL)
        fail_msg("case %zu: got '%s', want '%s...%s'", i, err, want, b->says);
}

static void test_bad_texts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_texts) / sizeof(*bad_texts); i++)
        check_bad_text(i, &bad_texts[i]);
}

/* What the document loader must bound or refuse: aliases wherever they stand (so no node is
 * reached twice and nothing can expand, as in "billion laughs"), merge keys, more than one
 * document, nesting and node counts past the caps (refused before the tree is built, and fast),
 * and what the whole document is read for first (syntax) before the schema is checked. */
static void test_yaml_structure(void **state)
{
    (void)state;
    static const struct bad_file files[] = {
        {"bad-merge.yaml", TLS_E_INVALID, "6:9", {"aliases (*base) are not supported"}},
        {"bad-anchor-twice.yaml",
         TLS_E_INVALID,
         "5:5",
         {"the same anchor is defined twice (first at 2:11)", "remove them"}},
        {"bad-deep.yaml",
         TLS_E_INVALID,
         "2:41",
         {"lists and mappings nested more than 32 deep (a policy needs 4)"}},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
        check_bad_file(&files[i]);
    static const struct bad_text cases[] = {
        {"targets:\n  - match: *undefined\n", "2:12", "aliases (*undefined) are not supported"},
        {"targets: &t [{match: x, enable: *t}]\n", "1:33", "aliases (*t) are not supported"},
        {"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
         "2:8", "aliases (*a) are not supported"},
        {"defaults: &d {severities: {sni-mismatch: low}}\ntargets:\n  - match: x\n"
         "    <<: *d\n",
         "4:9", "aliases (*d) are not supported"},
        {"defaults:\n  <<: {client_auth: required}\n", "2:3", "unknown key '<<' in 'defaults'"},
        {"defaults: &d {client_auth: &d required}\n", "1:28",
         "the same anchor is defined twice (first at 1:11)"},
        {"defaults: {colour: red}\n---\n{}\n", "2:1", "a policy is one YAML document"},
        {"defaults: {colour: red}\nx: [\n", "3:1", "YAML syntax error"},
        {"targets: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "1:41",
         "lists and mappings nested more than 32 deep"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        check_bad_text(i, &cases[i]);

    /* anchors alone are accepted and change nothing */
    struct report_policy *p =
        parse_ok("mem.yaml", "defaults: &d {client_auth: &ca required}\n"
                             "targets:\n  - &e {match: &m [\"*.example\"], client_auth: none}\n");
    assert_int_equal(report_policy_client_auth(p, NULL), REPORT_CLIENT_AUTH_REQUIRED);
    assert_int_equal(report_policy_client_auth(p, report_policy_entry_at(p, 0)),
                     REPORT_CLIENT_AUTH_NONE);
    report_policy_free(p);

    /* 4 MiB of '[': refused at the depth cap, not after reading it all */
    size_t big = REPORT_POLICY_MAX_BYTES;
    uint8_t *text = malloc(big);
    assert_non_null(text);
    memset(text, '[', big);
    char err[REPORT_POLICY_ERR_CAP];
    assert_int_equal(report_policy_parse(&p, "big.yaml", text, big, err, sizeof(err)),
                     TLS_E_INVALID);
    assert_prefix(err, "big.yaml:1:33: lists and mappings nested more than 32 deep");
    /* a list of 2 million values: refused at the node cap, at the first value past it */
    size_t n = (size_t)sprintf((char *)text, "targets: [");
    while (n + 3 < big) {
        memcpy(text + n, "a,", 2);
        n += 2;
    }
    text[n++] = ']';
    assert_int_equal(report_policy_parse(&p, "big.yaml", text, n, err, sizeof(err)), TLS_E_INVALID);
    assert_prefix(err, "big.yaml:1:1048581: more than 524288 YAML values, lists and mappings");
    /* while a 4 MiB policy of 100,000 one-pattern entries loads */
    n = (size_t)sprintf((char *)text, "targets:\n");
    for (int i = 0; i < 100000; i++)
        n += (size_t)sprintf((char *)text + n, "  - match: host-%06d.example.com:443\n", i);
    assert_true(n <= big);
    assert_int_equal(report_policy_parse(&p, "big.yaml", text, n, err, sizeof(err)), 0);
    assert_int_equal(report_policy_count(p), 100000);
    assert_int_equal(match_index(p, "host-099999.example.com", 443), 99999);
    report_policy_free(p);
    free(text);
}

static void test_limits_and_io(void **state)
{
    (void)state;
    char err[REPORT_POLICY_ERR_CAP];
    struct report_policy *p = NULL;

    /* larger than 4 MiB: refused before parsing, whatever it holds */
    size_t big = REPORT_POLICY_MAX_BYTES + 1;
    uint8_t *text = malloc(big);
    assert_non_null(text);
    memset(text, '#', big);
    assert_int_equal(report_policy_parse(&p, "big.yaml", text, big, err, sizeof(err)),
                     TLS_E_INVALID);
    assert_null(p);
    assert_prefix(err, "big.yaml: larger than 4 MiB");
    /* exactly 4 MiB is still read (a comment, then an empty mapping) */
    memcpy(text + big - 4, "\n{}\n", 4);
    assert_int_equal(report_policy_parse(&p, "big.yaml", text + 1, big - 1, err, sizeof(err)), 0);
    report_policy_free(p);
    free(text);

    /* unreadable files */
    assert_int_equal(report_policy_load(&p, "/nonexistent/policy.yaml", err, sizeof(err)),
                     TLS_E_IO);
    assert_null(p);
    assert_prefix(err, "/nonexistent/policy.yaml: cannot read: ");
    char dir[1024];
    fixture_path(dir, sizeof(dir), "");
    assert_int_equal(report_policy_load(&p, dir, err, sizeof(err)), TLS_E_IO);
    assert_contains(err, "cannot read");

    /* short or missing message buffers are safe */
    char small[16];
    assert_int_equal(
        report_policy_parse(&p, "mem.yaml", (const uint8_t *)"x: 1", 4, small, sizeof(small)),
        TLS_E_INVALID);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(report_policy_parse(&p, "mem.yaml", (const uint8_t *)"x: 1", 4, NULL, 0),
                     TLS_E_INVALID);
    report_policy_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_policy),
        cmocka_unit_test(test_match_full),
        cmocka_unit_test(test_match_order_and_kinds),
        cmocka_unit_test(test_match_address_lookalikes),
        cmocka_unit_test(test_pattern_open),
        cmocka_unit_test(test_defaults_merge),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_texts),
        cmocka_unit_test(test_yaml_structure),
        cmocka_unit_test(test_limits_and_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
