/* What the user expects, loaded before the scan: --expect-ca and --client-cert (certificate sets,
 * certs.c) and the public roots (--public-roots or the system bundle), turned into the plain
 * views the rule engine takes. A file that cannot be used is a usage error naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "tls/digest.h"
#include "tls/identity.h"
#include "tls/wire/error.h"

/* Where systems keep their root bundle: Debian/Ubuntu/Alpine, Fedora/RHEL, macOS/BSD. */
static const char *const system_bundles[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
};

void probe_expect_init(struct probe_expect *e)
{
    memset(e, 0, sizeof(*e));
    probe_certs_init(&e->expected);
    probe_certs_init(&e->chain);
    tls_certfile_init(&e->roots);
}

void probe_expect_free(struct probe_expect *e)
{
    probe_certs_free(&e->expected);
    probe_certs_free(&e->chain);
    tls_certfile_free(&e->roots);
    free(e->root_hashes);
    tls_identity_free(e->identity);
}

/* Without the system bundle (no ca-certificates package, an empty /etc/ssl in a container) the
 * scan goes on, but a store of public roots cannot be told from a private list (Windows built-in
 * roots still can): said once per process on standard error, whatever -q says, as the scan's
 * JSON Lines have no header for it. */
static void warn_no_roots(const char *why)
{
    static bool warned;
    if (warned)
        return;
    warned = true;
    fprintf(stderr,
            "caprobe: warning: %s: root-store-dump and public-ca-accepted cannot recognise public "
            "roots; install the ca-certificates package or give --public-roots FILE\n",
            why);
}

static int by_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

int probe_expect_load(struct probe_expect *e, const char *const *expect_files, size_t n_expect,
                      const char *client_cert, const char *roots_file)
{
    const char *source = n_expect == 1 ? expect_files[0] : "the --expect-ca files";
    int rc;
    for (size_t i = 0; i < n_expect; i++)
        if ((rc = probe_certs_load(&e->expected, expect_files[i], "--expect-ca", source)))
            return rc;
    if (client_cert &&
        (rc = probe_certs_load(&e->chain, client_cert, "--client-cert", client_cert)))
        return rc;
    char err[1400];
    const char *path = roots_file;
    for (size_t i = 0; path == NULL && i < sizeof(system_bundles) / sizeof(*system_bundles); i++)
        if (access(system_bundles[i], R_OK) == 0)
            path = system_bundles[i];
    if (path == NULL) {
        size_t n = (size_t)snprintf(err, sizeof(err), "no system root bundle (none of");
        for (size_t i = 0; i < sizeof(system_bundles) / sizeof(*system_bundles); i++)
            n += (size_t)snprintf(err + n, sizeof(err) - n, "%s %s", i ? "," : "",
                                  system_bundles[i]);
        snprintf(err + n, sizeof(err) - n, " is readable)");
        warn_no_roots(err);
        return 0;
    }
    rc = tls_certfile_load(&e->roots, path, err, sizeof(err));
    if (rc && roots_file) {
        fprintf(stderr, "caprobe: --public-roots %s\n", err);
        return rc;
    }
    if (rc) {
        /* a broken system bundle only costs the public-root check */
        char why[sizeof(err) + 48];
        snprintf(why, sizeof(why), "the system root bundle cannot be used (%s)", err);
        warn_no_roots(why);
        return 0;
    }
    e->root_hashes = calloc(e->roots.n ? e->roots.n : 1, 32);
    if (e->root_hashes == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < e->roots.n; i++)
        tls_sha256(e->roots.v[i].subject, e->roots.v[i].subject_len, e->root_hashes[i]);
    qsort(e->root_hashes, e->roots.n, 32, by_hash);
    e->roots_view.subject_sha256 = (const uint8_t(*)[32])e->root_hashes;
    e->roots_view.n = e->roots.n;
    e->roots_view.source = path;
    e->has_roots = true;
    return 0;
}

/* Seconds since 1970 of t (UTC). */
static int64_t cert_time_seconds(const struct tls_cert_time *t)
{
    struct tm tm = {.tm_year = t->year - 1900,
                    .tm_mon = t->month - 1,
                    .tm_mday = t->day,
                    .tm_hour = t->hour,
                    .tm_min = t->minute,
                    .tm_sec = t->second};
    return (int64_t)timegm(&tm);
}

int probe_expect_load_key(struct probe_expect *e, const char *key_file, const char *password_file,
                          int64_t now)
{
    char err[2400];
    int rc =
        tls_identity_load(&e->identity, &e->chain.file, key_file, password_file, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "caprobe: %s\n", err);
        return rc;
    }
    if (e->identity->password_unused)
        fprintf(stderr,
                "caprobe: warning: --client-key-password-file %s: not used: the key %s is not "
                "encrypted\n",
                password_file, key_file);
    const struct tls_cert_entry *leaf = &e->chain.file.v[0];
    char when[TLS_CERT_TIME_TEXT_SIZE];
    if (now > cert_time_seconds(&leaf->not_after)) {
        tls_cert_time_format(&leaf->not_after, when);
        snprintf(e->invalid, sizeof(e->invalid), "it expired on %s", when);
    } else if (now < cert_time_seconds(&leaf->not_before)) {
        tls_cert_time_format(&leaf->not_before, when);
        snprintf(e->invalid, sizeof(e->invalid), "it is not valid before %s", when);
    }
    e->presented.chain = probe_certs_view(&e->chain);
    e->presented.invalid = e->invalid[0] ? e->invalid : NULL;
    return 0;
}

void probe_expect_apply(const struct probe_expect *e, struct report_context *ctx)
{
    ctx->public_roots = e->has_roots ? &e->roots_view : NULL;
    ctx->expected_cas = probe_certs_view(&e->expected);
    ctx->client_chain = probe_certs_view(&e->chain);
    ctx->presented = e->identity ? &e->presented : NULL;
}
