/* --policy FILE (docs/policy.md): the policy and every certificate file it names are loaded
 * once, before the scan; each finished target then gets its entry's settings on a copy of the
 * command line's rule context. Never reads a file while the scan runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report/policy.h"
#include "tls/wire/error.h"

/* The certificates in effect for one entry (the last slot: the defaults alone). */
struct policy_certs {
    struct tls_certfile expected, chain;
    struct report_cert *expected_v, *chain_v;
    struct report_certs expected_certs, chain_certs;
    const struct report_certs *expected_p, *chain_p; /* own, the defaults' slot's, or NULL */
    bool expect_said, chain_said;                    /* else the command line's stay in force */
    char source[320];
};

struct probe_policy {
    struct report_policy *policy;
    struct policy_certs *certs;
    size_t n;
};

static int load_files(struct policy_certs *c, bool chain, const struct report_policy_file *files,
                      size_t n)
{
    char err[1400];
    struct tls_certfile *f = chain ? &c->chain : &c->expected;
    for (size_t i = 0; i < n; i++) {
        int rc = tls_certfile_load(f, files[i].path, err, sizeof(err));
        if (rc) {
            fprintf(stderr, "caprobe: --policy %s: %s: %s\n", files[i].where,
                    chain ? "client_cert" : "expect_ca", err);
            return rc;
        }
    }
    if (chain)
        return probe_expect_view(f, &c->chain_v, &c->chain_certs, files[0].path);
    if (n == 1)
        snprintf(c->source, sizeof(c->source), "%s", files[0].path);
    else
        snprintf(c->source, sizeof(c->source), "the expect_ca files at %s", files[0].where);
    return probe_expect_view(f, &c->expected_v, &c->expected_certs, c->source);
}

static int load_slot(struct probe_policy *pp, size_t i, const struct report_policy_entry *e)
{
    struct policy_certs *c = &pp->certs[i], *d = &pp->certs[pp->n - 1];
    const struct report_policy_file *files, *dfiles, *file, *dfile;
    size_t n, dn;
    int rc;
    if ((c->expect_said = report_policy_expect_ca(pp->policy, e, &files, &n))) {
        if (e && report_policy_expect_ca(pp->policy, NULL, &dfiles, &dn) && dfiles == files) {
            c->expected_p = d->expected_p; /* inherited: loaded once */
        } else if (n) {
            if ((rc = load_files(c, false, files, n)))
                return rc;
            c->expected_p = &c->expected_certs;
        }
    }
    if ((c->chain_said = report_policy_client_cert(pp->policy, e, &file))) {
        if (e && report_policy_client_cert(pp->policy, NULL, &dfile) && dfile == file) {
            c->chain_p = d->chain_p;
        } else if (file) {
            if ((rc = load_files(c, true, file, 1)))
                return rc;
            c->chain_p = &c->chain_certs;
        }
    }
    return 0;
}

void probe_policy_free(struct probe_policy *pp)
{
    if (pp == NULL)
        return;
    for (size_t i = 0; pp->certs && i < pp->n; i++) {
        tls_certfile_free(&pp->certs[i].expected);
        tls_certfile_free(&pp->certs[i].chain);
        free(pp->certs[i].expected_v);
        free(pp->certs[i].chain_v);
    }
    free(pp->certs);
    report_policy_free(pp->policy);
    free(pp);
}

int probe_policy_load(struct probe_policy **out, const char *path)
{
    char err[REPORT_POLICY_ERR_CAP];
    *out = NULL;
    struct probe_policy *pp = calloc(1, sizeof(*pp));
    if (pp == NULL)
        return TLS_E_NOMEM;
    int rc = report_policy_load(&pp->policy, path, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "caprobe: --policy %s\n", err);
        goto out;
    }
    pp->n = report_policy_count(pp->policy) + 1;
    if ((pp->certs = calloc(pp->n, sizeof(*pp->certs))) == NULL) {
        rc = TLS_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < pp->n; i++) {
        tls_certfile_init(&pp->certs[i].expected);
        tls_certfile_init(&pp->certs[i].chain);
    }
    if ((rc = load_slot(pp, pp->n - 1, NULL))) /* the defaults first: entries share them */
        goto out;
    for (size_t i = 0; i + 1 < pp->n; i++)
        if ((rc = load_slot(pp, i, report_policy_entry_at(pp->policy, i))))
            goto out;
    *out = pp;
    pp = NULL;
out:
    probe_policy_free(pp);
    return rc;
}

void probe_policy_apply(const struct probe_policy *pp, const struct report_target *t,
                        struct report_context *ctx)
{
    if (pp == NULL)
        return;
    const struct report_policy_entry *e =
        report_policy_match(pp->policy, t->target, t->host, t->port);
    report_policy_apply(pp->policy, e, ctx);
    const struct policy_certs *c = &pp->certs[report_policy_entry_index(pp->policy, e)];
    if (c->expect_said)
        ctx->expected_cas = c->expected_p;
    if (c->chain_said)
        ctx->client_chain = c->chain_p;
}
