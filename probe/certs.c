/* Certificate sets for the rules (internal.h): --expect-ca, --client-cert, and a policy's
 * expect_ca and client_cert, all loaded the same way: files decoded by tls/certfile.c, then the
 * plain view the rule engine takes. Only called before the scan; a file that cannot be used is
 * reported here, naming the option or policy line that named it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tls/digest.h"
#include "tls/wire/error.h"

void probe_certs_init(struct probe_certs *c)
{
    memset(c, 0, sizeof(*c));
    tls_certfile_init(&c->file);
}

void probe_certs_free(struct probe_certs *c)
{
    if (c == NULL)
        return;
    tls_certfile_free(&c->file);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

int probe_certs_load(struct probe_certs *c, const char *path, const char *named_by,
                     const char *source)
{
    char err[1400];
    int rc = tls_certfile_load(&c->file, path, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "caprobe: %s %s\n", named_by, err);
        return rc;
    }
    const struct tls_certfile *f = &c->file;
    struct report_cert *v = realloc(c->v, (f->n ? f->n : 1) * sizeof(*v));
    const char *name = tls_arena_strdup(&c->file.arena, source);
    if (v == NULL || name == NULL) {
        free(v ? v : c->v);
        c->v = NULL;
        c->view = (struct report_certs){0};
        return TLS_E_NOMEM;
    }
    for (size_t i = 0; i < f->n; i++)
        v[i] = (struct report_cert){
            .subject = f->v[i].subject,
            .subject_len = f->v[i].subject_len,
            .issuer = f->v[i].issuer,
            .issuer_len = f->v[i].issuer_len,
            .subject_text = f->v[i].subject_text,
            .issuer_text = f->v[i].issuer_text,
            .where = f->v[i].where,
        };
    for (size_t i = 0; i < f->n; i++)
        tls_sha256(v[i].subject, v[i].subject_len, v[i].subject_sha256);
    c->v = v;
    c->view = (struct report_certs){.v = v, .n = f->n, .source = name};
    return 0;
}

const struct report_certs *probe_certs_view(const struct probe_certs *c)
{
    return c->view.source ? &c->view : NULL;
}
