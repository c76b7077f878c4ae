/* Server certificate summary (x509.h). The issuer, validity and subject come from our own DER
 * reader (tls/wire/cert.c), not from mbedTLS's X.509 parser, which refuses certificates whose key
 * it does not know (Ed25519, Ed448, some RSA-PSS parameters): a summary needs none of the key.
 * Names are printed by tls_dn_format from the raw DER so that they match the CA list's text
 * exactly. mbedTLS only hashes. */
#include "x509.h"

#include <string.h>

#include <mbedtls/sha1.h>

#include "digest.h"
#include "wire/cert.h"
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

static const char *time_text(struct tls_arena *a, const struct tls_cert_time *t)
{
    char text[TLS_CERT_TIME_TEXT_SIZE];
    tls_cert_time_format(t, text);
    return tls_arena_strdup(a, text);
}

int tls_x509_summary(struct tls_server_cert *out, struct tls_arena *arena, const uint8_t *der,
                     size_t len)
{
    memset(out, 0, sizeof(*out));
    out->present = true;
    mbedtls_sha1(der, len, out->sha1);
    tls_sha256(der, len, out->sha256);

    struct tls_cert_fields f;
    if (tls_cert_read(&f, der, len) != 0) {
        out->error = tls_arena_printf(
            arena, "the certificate's DER is malformed at byte %zu of %zu (%s: %s)", f.error_at,
            len, f.error_field, f.error_problem);
        return out->error ? 0 : TLS_E_NOMEM;
    }
    out->subject = dn_text(arena, f.subject, f.subject_len);
    out->issuer = dn_text(arena, f.issuer, f.issuer_len);
    out->not_before = time_text(arena, &f.not_before);
    out->not_after = time_text(arena, &f.not_after);
    if (!out->subject || !out->issuer || !out->not_before || !out->not_after) {
        /* names too large for this observation: keep the fingerprints, say so */
        out->subject = out->issuer = out->not_before = out->not_after = NULL;
        out->error = "certificate names too large to keep";
    }
    return 0;
}
