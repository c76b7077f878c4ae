/* The step from a finished capture to an observation's result. All strings and arrays go into
 * the observation's arena; captured bytes are copied, never referenced. */
#include "observe.h"

#include <string.h>

#include <mbedtls/ssl.h>

#include "capture.h"
#include "namecache.h"
#include "wire/certreq.h"
#include "wire/error.h"
#include "wire/names.h"
#include "x509.h"

int tls_observation_set_certreq(struct tls_observation *o, uint16_t version, const uint8_t *p,
                                size_t len)
{
    struct tls_certreq req;
    int rc = tls_certreq_parse(version, &req, p, len);
    if (rc)
        return rc;
    struct tls_arena *a = &o->arena;
    o->has_cas = req.has_cas;
    o->certreq_quirks = req.quirks;
    o->ca_count = 0; /* counts the names filled, so a failure leaves no uninitialised entry */
    o->ca_bytes = 0;
    o->cert_types = tls_arena_memdup(a, req.cert_types, req.cert_types_len);
    o->cert_types_len = req.cert_types_len;
    o->sigalg_count = req.sigalgs_len / 2;
    uint16_t *algs = tls_arena_alloc(a, sizeof(*algs) * (o->sigalg_count + 1));
    o->cas = tls_arena_alloc(a, sizeof(*o->cas) * (req.ca_count + 1));
    if (!algs || !o->cas || (req.cert_types_len && !o->cert_types))
        return TLS_E_NOMEM;
    for (size_t i = 0; i < o->sigalg_count; i++)
        algs[i] = (uint16_t)((req.sigalgs[2 * i] << 8) | req.sigalgs[2 * i + 1]);
    o->sigalgs = algs;
    struct tls_cursor it = tls_cursor_make(req.cas, req.cas_len);
    const uint8_t *dn;
    size_t dn_len, i = 0;
    while (tls_certreq_ca_next(&it, &dn, &dn_len)) {
        memset(&o->cas[i], 0, sizeof(o->cas[i]));
        const struct tls_ca_name *shared =
            o->names ? tls_name_cache_get(o->names, dn, dn_len) : NULL;
        if (shared)
            o->cas[i] = *shared; /* its strings belong to the cache, which outlives o */
        else if ((rc = tls_ca_name_decode(a, &o->cas[i], dn, dn_len)))
            return rc;
        o->ca_bytes += dn_len;
        o->ca_count = ++i;
    }
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
    return 0;
}

/* mbedTLS's name of a cipher suite, NULL when unknown. */
static const char *suite_name(uint16_t id)
{
    const char *n = mbedtls_ssl_get_ciphersuite_name(id);
    return (n && strcmp(n, "unknown") != 0) ? n : NULL;
}

static enum tls_error_kind kind_of(int err)
{
    switch (err) {
    case TLS_E_ALERT:
        return TLS_ERROR_TLS_ALERT;
    case TLS_E_LIMIT:
        return TLS_ERROR_CAPTURE_LIMIT;
    case TLS_E_TRUNCATED:
        return TLS_ERROR_RESET;
    default:
        return TLS_ERROR_PROTOCOL;
    }
}

int tls_observation_from_capture(struct tls_observation *o, const struct tls_capture *c)
{
    int rc;
    o->version = c->have_hello ? c->version : 0;
    o->cipher_suite = c->have_hello ? c->cipher_suite : 0;
    o->cipher_suite_name = c->have_hello ? suite_name(c->cipher_suite) : NULL;
    if (c->has_alert)
        o->alert = c->alert_desc;
    if (c->cert && (rc = tls_x509_summary(&o->server_cert, &o->arena, c->cert, c->cert_len)))
        return rc;
    o->server_cert.chain_length = c->cert_count;
    if (c->has_certreq) {
        rc = tls_observation_set_certreq(o, c->version, c->certreq, c->certreq_len);
        if (rc == TLS_E_NOMEM)
            return rc;
        if (rc) {
            tls_observation_set_error(o, TLS_ERROR_PROTOCOL, rc, 0,
                                      "malformed CertificateRequest (%zu bytes): %s",
                                      c->certreq_len, tls_err_str(rc));
        }
        return 0;
    }
    if (c->status == TLS_CAPTURE_DONE) {
        o->outcome = TLS_OUTCOME_NO_CERTIFICATE_REQUEST;
        return 0;
    }
    if (c->err == TLS_E_ALERT) {
        const char *name = tls_name_alert(c->alert_desc);
        tls_observation_set_error(o, TLS_ERROR_TLS_ALERT, c->err, 0, "server sent %s alert %s (%u)",
                                  c->alert_level == 1 ? "warning" : "fatal",
                                  name ? name : "unknown", c->alert_desc);
    } else {
        tls_observation_set_error(o, kind_of(c->err), c->err, 0, "%s", tls_err_str(c->err));
    }
    return 0;
}
