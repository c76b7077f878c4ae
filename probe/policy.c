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
    struct probe_certs expected, chain;
    const struct report_certs *expected_p, *chain_p; /* own, the defaults' slot's, or NULL */
    bool expect_said, chain_said;                    /* else the command line's stay in force */
};

struct probe_policy {
    struct report_policy *policy;
    struct policy_certs *certs;
    size_t n;
};

/* The files of one key of the policy into c; messages name the policy line of each file. */
static int load_files(struct probe_certs *c, const char *key,
                      const struct report_policy_file *files, size_t n)
{
    char named_by[400], source[320];
    if (n == 1)
        snprintf(source, sizeof(source), "%s", files[0].path);
    else
        snprintf(source, sizeof(source), "the %s files at %s", key, files[0].where);
    for (size_t i = 0; i < n; i++) {
        snprintf(named_by, sizeof(named_by), "--policy %s: %s:", files[i].where, key);
        int rc = probe_certs_load(c, files[i].path, named_by, source);
        if (rc)
            return rc;
    }
    return 0;
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
            if ((rc = load_files(&c->expected, "expect_ca", files, n)))
                return rc;
            c->expected_p = probe_certs_view(&c->expected);
        }
    }
    if ((c->chain_said = report_policy_client_cert(pp->policy, e, &file))) {
        if (e && report_policy_client_cert(pp->policy, NULL, &dfile) && dfile == file) {
            c->chain_p = d->chain_p;
        } else if (file) {
            if ((rc = load_files(&c->chain, "client_cert", file, 1)))
                return rc;
            c->chain_p = probe_certs_view(&c->chain);
        }
    }
    return 0;
}

void probe_policy_free(struct probe_policy *pp)
{
    if (pp == NULL)
        return;
    for (size_t i = 0; pp->certs && i < pp->n; i++) {
        probe_certs_free(&pp->certs[i].expected);
        probe_certs_free(&pp->certs[i].chain);
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
        probe_certs_init(&pp->certs[i].expected);
        probe_certs_init(&pp->certs[i].chain);
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
