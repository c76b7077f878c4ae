/* Unit tests for the certificate sets of probe/certs.c and their two users: --expect-ca and
 * --client-cert (probe/expect.c), and a policy's expect_ca and client_cert (probe/policy.c) with
 * fixtures/policy/full.yaml. Checks the views the rules get (count, source, FILE:LINE of each
 * certificate), what an entry inherits from the defaults, and every message a bad file prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe/internal.h"
#include "tls/wire/error.h"

static const char *fixture(char *buf, size_t cap, const char *rel)
{
    const char *dir = getenv("CAPROBE_FIXTURES");
    snprintf(buf, cap, "%s/%s", dir ? dir : "fixtures", rel);
    return buf;
}

/* stderr goes to a file between capture_start and capture_end, which returns what was written. */
struct capture {
    int saved;
    FILE *f;
    char text[4096];
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

static const char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    rewind(c->f);
    size_t n = fread(c->text, 1, sizeof(c->text) - 1, c->f);
    c->text[n] = 0;
    fclose(c->f);
    return c->text;
}

static void test_certs_load(void **state)
{
    (void)state;
    char cas[1024], root[1024], where[1100];
    fixture(cas, sizeof(cas), "pki/cas.pem");
    fixture(root, sizeof(root), "pki/root.pem");
    struct probe_certs c;
    probe_certs_init(&c);
    assert_null(probe_certs_view(&c));
    assert_int_equal(probe_certs_load(&c, cas, "--expect-ca", "the --expect-ca files"), 0);
    assert_int_equal(probe_certs_load(&c, root, "--expect-ca", "the --expect-ca files"), 0);
    const struct report_certs *v = probe_certs_view(&c);
    assert_non_null(v);
    assert_int_equal(v->n, 3); /* both files, in order */
    assert_string_equal(v->source, "the --expect-ca files");
    snprintf(where, sizeof(where), "%s:1", cas);
    assert_string_equal(v->v[0].where, where);
    assert_string_equal(v->v[2].where, c.file.v[2].where);
    assert_non_null(strstr(v->v[2].where, "root.pem"));
    for (size_t i = 0; i < v->n; i++) {
        assert_true(v->v[i].subject_len > 0 && v->v[i].issuer_len > 0);
        assert_memory_equal(v->v[i].subject, c.file.v[i].subject, v->v[i].subject_len);
        assert_string_equal(v->v[i].subject_text, c.file.v[i].subject_text);
        assert_string_equal(v->v[i].issuer_text, c.file.v[i].issuer_text);
    }

    /* a file that cannot be used: the message names who named it, the view stays as it was */
    struct capture cap;
    capture_start(&cap);
    int rc = probe_certs_load(&c, "/nonexistent/ca.pem", "--policy p.yaml:3:14: expect_ca:", "x");
    const char *said = capture_end(&cap);
    assert_int_equal(rc, TLS_E_IO);
    assert_string_equal(said, "caprobe: --policy p.yaml:3:14: expect_ca: /nonexistent/ca.pem: "
                              "No such file or directory\n");
    assert_int_equal(probe_certs_view(&c)->n, 3);
    probe_certs_free(&c);
    probe_certs_free(&c); /* safe twice */
}

static void test_expect(void **state)
{
    (void)state;
    char cas[1024], root[1024], chain[1024];
    const char *files[] = {fixture(cas, sizeof(cas), "pki/cas.pem"),
                           fixture(root, sizeof(root), "pki/root.pem")};
    fixture(chain, sizeof(chain), "pki/client-chain.pem");
    struct probe_expect e;
    probe_expect_init(&e);
    assert_int_equal(probe_expect_load(&e, files, 2, chain, root), 0);
    struct report_context ctx;
    report_context_init(&ctx);
    probe_expect_apply(&e, &ctx);
    assert_int_equal(ctx.expected_cas->n, 3);
    assert_string_equal(ctx.expected_cas->source, "the --expect-ca files");
    assert_int_equal(ctx.client_chain->n, 2);
    assert_string_equal(ctx.client_chain->source, chain);
    assert_int_equal(ctx.public_roots->n, 1);
    probe_expect_free(&e);

    /* one file names the expectation after itself; nothing given, nothing expected */
    probe_expect_init(&e);
    assert_int_equal(probe_expect_load(&e, files, 1, NULL, root), 0);
    probe_expect_apply(&e, &ctx);
    assert_string_equal(ctx.expected_cas->source, cas);
    assert_null(ctx.client_chain);
    probe_expect_free(&e);
    probe_expect_init(&e);
    assert_int_equal(probe_expect_load(&e, NULL, 0, NULL, root), 0);
    probe_expect_apply(&e, &ctx);
    assert_null(ctx.expected_cas);
    probe_expect_free(&e);

    /* the messages of the command line's files */
    struct capture cap;
    const char *bad[] = {"/nonexistent/x.pem"};
    probe_expect_init(&e);
    capture_start(&cap);
    assert_int_equal(probe_expect_load(&e, bad, 1, NULL, root), TLS_E_IO);
    assert_string_equal(capture_end(&cap),
                        "caprobe: --expect-ca /nonexistent/x.pem: No such file or directory\n");
    probe_expect_free(&e);
    probe_expect_init(&e);
    capture_start(&cap);
    assert_int_equal(probe_expect_load(&e, NULL, 0, bad[0], root), TLS_E_IO);
    assert_string_equal(capture_end(&cap),
                        "caprobe: --client-cert /nonexistent/x.pem: No such file or directory\n");
    probe_expect_free(&e);
}

static const struct report_context *apply(const struct probe_policy *pp, const char *host,
                                          uint16_t port, struct report_context *ctx)
{
    char spec[300];
    snprintf(spec, sizeof(spec), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    const struct report_target t = {.target = spec, .host = host, .port = port};
    report_context_init(ctx);
    probe_policy_apply(pp, &t, ctx);
    return ctx;
}

static void test_policy_certs(void **state)
{
    (void)state;
    char path[1024], dir[1024], want[1200];
    fixture(path, sizeof(path), "policy/full.yaml");
    fixture(dir, sizeof(dir), "policy/");
    struct probe_policy *pp = NULL;
    assert_int_equal(probe_policy_load(&pp, path), 0);
    struct report_context a, b, c, d;

    /* entry 0: its own two files and chain */
    apply(pp, "portal.corp.example", 443, &a);
    assert_int_equal(a.expected_cas->n, 2);
    snprintf(want, sizeof(want), "the expect_ca files at %sfull.yaml:20:9", dir);
    assert_string_equal(a.expected_cas->source, want);
    assert_int_equal(a.client_chain->n, 2);
    snprintf(want, sizeof(want), "%s../pki/client-chain.pem", dir);
    assert_string_equal(a.client_chain->source, want);

    /* entry 1: "expect_ca: []" and "client_cert: null" clear what the command line gave */
    report_context_init(&b);
    struct report_certs cli = {.n = 0, .source = "--expect-ca"};
    b.expected_cas = b.client_chain = &cli;
    const struct report_target t1 = {
        .target = "x.corp.example:8443", .host = "x.corp.example", .port = 8443};
    probe_policy_apply(pp, &t1, &b);
    assert_null(b.expected_cas);
    assert_null(b.client_chain);

    /* entry 2 inherits the defaults' file, loaded once: the same view as for entry 3 */
    apply(pp, "10.20.3.4", 8443, &c);
    apply(pp, "www.example.org", 443, &d);
    assert_int_equal(c.expected_cas->n, 2); /* cas.pem holds two */
    snprintf(want, sizeof(want), "%s../pki/cas.pem", dir);
    assert_string_equal(c.expected_cas->source, want);
    assert_ptr_equal(c.expected_cas, d.expected_cas);
    assert_int_equal(c.client_chain->n, 1);
    assert_null(d.client_chain); /* neither entry 3 nor the defaults name one */
    probe_policy_free(pp);
    probe_policy_free(NULL);

    /* a file the policy names that is missing: the policy line that names it */
    char tmp[] = "/tmp/caprobe-policy-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    static const char text[] = "defaults:\n  expect_ca: [/nonexistent/a.pem]\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    struct capture cap;
    capture_start(&cap);
    assert_int_equal(probe_policy_load(&pp, tmp), TLS_E_IO);
    const char *said = capture_end(&cap);
    assert_null(pp);
    snprintf(want, sizeof(want),
             "caprobe: --policy %s:2:15: expect_ca: /nonexistent/a.pem: No such file or "
             "directory\n",
             tmp);
    assert_string_equal(said, want);
    unlink(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_load),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_policy_certs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
