/* Loading certificates from PEM bundles or DER files (certfile.h). The file is read whole (it is
 * the user's, bounded at 64 MiB); PEM blocks are found by their lines so errors name a line. The
 * names and validity come from our own DER reader (tls/wire/cert.h), so that a certificate whose
 * key mbedTLS does not know (Ed25519, Ed448) is read like any other. */
#include "certfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "wire/cert.h"
#include "wire/dn.h"
#include "wire/error.h"

#define CERTFILE_MAX (64u * 1024 * 1024)

void tls_certfile_init(struct tls_certfile *f)
{
    memset(f, 0, sizeof(*f));
    tls_arena_init(&f->arena, 0);
}

void tls_certfile_free(struct tls_certfile *f)
{
    if (f == NULL)
        return;
    free(f->v);
    tls_arena_free(&f->arena);
    memset(f, 0, sizeof(*f));
}

int tls_certfile_read(const char *path, uint8_t **data, size_t *len, char *err, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return TLS_E_IO;
    }
    /* the file may be a private key: no stdio buffer keeps a copy of it (fclose frees that
     * unwiped), and a buffer outgrown is wiped before it is freed, which realloc would not do */
    setvbuf(fp, NULL, _IONBF, 0);
    size_t n = 0, alloc = 64 * 1024;
    uint8_t *buf = malloc(alloc + 1);
    int rc = 0;
    while (buf) {
        size_t got = fread(buf + n, 1, alloc - n, fp);
        n += got;
        if (got == 0)
            break;
        if (n == alloc) {
            if (alloc >= CERTFILE_MAX) {
                snprintf(err, cap, "%s: larger than %u bytes", path, CERTFILE_MAX);
                rc = TLS_E_IO;
                break;
            }
            uint8_t *q = malloc(2 * alloc + 1);
            if (q)
                memcpy(q, buf, n);
            mbedtls_platform_zeroize(buf, n);
            free(buf);
            buf = q;
            alloc *= 2;
        }
    }
    if (buf == NULL && rc == 0) {
        snprintf(err, cap, "%s: out of memory", path);
        rc = TLS_E_NOMEM;
    } else if (rc == 0 && ferror(fp)) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        rc = TLS_E_IO;
    }
    fclose(fp);
    if (rc) {
        if (buf)
            mbedtls_platform_zeroize(buf, n);
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

/* Decode one certificate and append it; where names it for messages. */
static int add_der(struct tls_certfile *f, const uint8_t *der, size_t len, const char *where,
                   char *err, size_t cap)
{
    struct tls_cert_fields cf;
    if (tls_cert_read(&cf, der, len)) {
        snprintf(err, cap, "%s: not an X.509 certificate (byte %zu of %zu, %s: %s)", where,
                 cf.error_at, len, cf.error_field, cf.error_problem);
        return TLS_E_DER;
    }
    uint8_t *copy = tls_arena_memdup(&f->arena, der, len);
    if (copy == NULL)
        goto nomem;
    if (f->n == f->cap) {
        size_t ncap = f->cap ? 2 * f->cap : 16;
        struct tls_cert_entry *v = realloc(f->v, ncap * sizeof(*v));
        if (v == NULL)
            goto nomem;
        f->v = v;
        f->cap = ncap;
    }
    struct tls_cert_entry *e = &f->v[f->n];
    memset(e, 0, sizeof(*e));
    e->der = copy;
    e->der_len = len;
    /* the views of tls_cert_read, moved into the copy */
    e->subject = copy + (cf.subject - der);
    e->subject_len = cf.subject_len;
    e->issuer = copy + (cf.issuer - der);
    e->issuer_len = cf.issuer_len;
    e->not_before = cf.not_before;
    e->not_after = cf.not_after;
    e->where = tls_arena_strdup(&f->arena, where);
    if (e->where == NULL ||
        tls_dn_format_arena(&f->arena, e->subject, e->subject_len, &e->subject_text) ==
            TLS_E_NOMEM ||
        tls_dn_format_arena(&f->arena, e->issuer, e->issuer_len, &e->issuer_text) == TLS_E_NOMEM)
        goto nomem;
    if (e->subject_text == NULL)
        e->subject_text = "(malformed subject)";
    if (e->issuer_text == NULL)
        e->issuer_text = "(malformed issuer)";
    f->n++;
    return 0;
nomem:
    snprintf(err, cap, "%s: out of memory", where);
    return TLS_E_NOMEM;
}

/* Whether needle occurs in p/n; unlike strstr() it goes past NUL bytes. */
static bool contains(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

/* The label of a "-----BEGIN LABEL-----" line of ll bytes into out, printable ASCII only. */
static void pem_label(const char *line, size_t ll, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 11; i < ll && line[i] != '-' && k + 1 < cap; i++)
        out[k++] = line[i] >= ' ' && line[i] < 127 ? line[i] : '?';
    out[k] = 0;
}

int tls_certfile_load(struct tls_certfile *f, const char *path, char *err, size_t cap)
{
    uint8_t *data;
    size_t len;
    int rc = tls_certfile_read(path, &data, &len, err, cap);
    if (rc)
        return rc;
    size_t before = f->n;
    const char *text = (const char *)data;
    if (!contains(data, len, "-----BEGIN")) {
        /* One DER certificate, which starts with a SEQUENCE; anything else is told as what it
         * is not, rather than as mbedTLS's code for a bad tag. */
        if (len < 2 || data[0] != 0x30) {
            snprintf(err, cap,
                     "%s: neither PEM (no '-----BEGIN CERTIFICATE-----' line) nor a DER "
                     "certificate",
                     path);
            rc = TLS_E_DER;
            goto out;
        }
        rc = add_der(f, data, len, path, err, cap);
        goto out;
    }
    char other[48] = ""; /* the first PEM block that is not a certificate: "PRIVATE KEY" */
    unsigned long line = 1, begin_line = 0;
    const char *p = text, *block = NULL;
    while (p < text + len) {
        const char *eol = memchr(p, '\n', (size_t)(text + len - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(text + len - p);
        if (ll >= 27 && strncmp(p, "-----BEGIN CERTIFICATE-----", 27) == 0) {
            if (block) {
                snprintf(err, cap, "%s:%lu: BEGIN CERTIFICATE without END", path, begin_line);
                rc = TLS_E_DER;
                goto out;
            }
            block = eol ? eol + 1 : text + len;
            begin_line = line;
        } else if (ll >= 25 && strncmp(p, "-----END CERTIFICATE-----", 25) == 0 && block) {
            char where[1100];
            snprintf(where, sizeof(where), "%s:%lu", path, begin_line);
            size_t b64_len = (size_t)(p - block), der_len = 0;
            unsigned char *der = malloc(b64_len / 4 * 3 + 3);
            if (der == NULL) {
                rc = TLS_E_NOMEM;
                snprintf(err, cap, "%s: out of memory", where);
                goto out;
            }
            /* mbedtls_base64_decode skips the line breaks of PEM */
            if (mbedtls_base64_decode(der, b64_len / 4 * 3 + 3, &der_len,
                                      (const unsigned char *)block, b64_len) != 0) {
                snprintf(err, cap, "%s: the certificate's base64 is broken", where);
                rc = TLS_E_DER;
            } else {
                rc = add_der(f, der, der_len, where, err, cap);
            }
            free(der);
            if (rc)
                goto out;
            block = NULL;
        } else if (ll >= 10 && strncmp(p, "-----BEGIN", 10) == 0) {
            f->skipped++;      /* keys, CRLs, trusted-certificate forms: not ours */
            if (other[0] == 0) /* named when the file turns out to hold no certificate */
                pem_label(p, ll, other, sizeof(other));
        }
        p = eol ? eol + 1 : text + len;
        line++;
    }
    if (block) {
        snprintf(err, cap, "%s:%lu: BEGIN CERTIFICATE without END", path, begin_line);
        rc = TLS_E_DER;
    } else if (f->n == before && other[0]) {
        snprintf(err, cap, "%s: no certificate in it, only a %s block", path, other);
        rc = TLS_E_DER;
    } else if (f->n == before) {
        snprintf(err, cap, "%s: no certificate in it", path);
        rc = TLS_E_DER;
    }
out:
    free(data);
    return rc;
}
