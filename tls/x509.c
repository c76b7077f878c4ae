/* Server certificate summary (x509.h). mbedTLS decodes the certificate; names are printed by
 * tls_dn_format from the raw DER so that they match the CA list's text exactly. */
#include "x509.h"

#include <string.h>

#include <mbedtls/sha1.h>
#include <mbedtls/x509_crt.h>

#include "digest.h"
#include "wire/dn.h"
#include "wire/error.h"

static const char *dn_text(struct tls_arena *a, const uint8_t *der, size_t len)
{
    const char *text;
    int rc = tls_dn_format_arena(a, der, len, &text);
    if (rc == TLS_E_NOMEM)
        return NULL;
    return rc ? "(malformed name)" : text;
}

static const char *time_text(struct tls_arena *a, const mbedtls_x509_time *t)
{
    return tls_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour,
                            t->min, t->sec);
}

int tls_x509_summary(struct tls_server_cert *out, struct tls_arena *arena, const uint8_t *der,
                     size_t len)
{
    memset(out, 0, sizeof(*out));
    out->present = true;
    mbedtls_sha1(der, len, out->sha1);
    tls_sha256(der, len, out->sha256);

    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int rc = 0;
    int raw = mbedtls_x509_crt_parse_der_nocopy(&crt, der, len);
    if (raw != 0) {
        out->error = tls_arena_printf(arena, "certificate not decodable (mbedTLS -0x%04x)", -raw);
        rc = out->error ? 0 : TLS_E_NOMEM;
        goto out;
    }
    out->subject = dn_text(arena, crt.subject_raw.p, crt.subject_raw.len);
    out->issuer = dn_text(arena, crt.issuer_raw.p, crt.issuer_raw.len);
    out->not_before = time_text(arena, &crt.valid_from);
    out->not_after = time_text(arena, &crt.valid_to);
    if (!out->subject || !out->issuer || !out->not_before || !out->not_after) {
        /* names too large for this observation: keep the fingerprints, say so */
        out->subject = out->issuer = out->not_before = out->not_after = NULL;
        out->error = "certificate names too large to keep";
    }
out:
    mbedtls_x509_crt_free(&crt);
    return rc;
}
