/* JSON Lines renderer: one object per target in the caprobe/1 schema (docs/output.md). Keys
 * come in the schema's order; every string is valid UTF-8 because names are printed escaped. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tls/error.h"
#include "tls/names.h"

static json_t *hex_string(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64)
        return NULL;
    report_hex(p, n, buf);
    return json_string(buf);
}

static json_t *base64_string(const uint8_t *p, size_t n)
{
    char *buf = malloc(4 * ((n + 2) / 3) + 1);
    if (buf == NULL)
        return NULL;
    report_base64(p, n, buf);
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

static json_t *version_string(uint16_t v)
{
    char buf[8];
    return json_string(tls_name_or_hex(tls_name_version(v), v, 4, buf, sizeof(buf)));
}

/* json_object_set_new that remembers a failure, so callers check once at the end. */
static void set(json_t *obj, const char *key, json_t *value, int *failed)
{
    if (value == NULL || json_object_set_new(obj, key, value) != 0)
        *failed = 1;
}

static json_t *certreq_json(const struct tls_observation *o, int *failed)
{
    json_t *cr = json_object();
    json_t *cas = json_array();
    json_t *types = json_array();
    json_t *algs = json_array();
    if (!cr || !cas || !types || !algs) {
        json_decref(cr);
        json_decref(cas);
        json_decref(types);
        json_decref(algs);
        *failed = 1;
        return NULL;
    }
    set(cr, "ca_count", json_integer((json_int_t)o->ca_count), failed);
    set(cr, "ca_bytes", json_integer((json_int_t)o->ca_bytes), failed);
    for (size_t i = 0; i < o->ca_count; i++) {
        const struct tls_ca_name *ca = &o->cas[i];
        json_t *e = json_object();
        if (e == NULL) {
            *failed = 1;
            break;
        }
        set(e, "dn", json_string(ca->dn), failed);
        set(e, "der", base64_string(ca->der, ca->der_len), failed);
        set(e, "sha256", hex_string(ca->sha256, 32), failed);
        if (ca->malformed)
            set(e, "malformed", json_true(), failed);
        if (json_array_append_new(cas, e))
            *failed = 1;
    }
    set(cr, "cas", cas, failed);
    char buf[8];
    for (size_t i = 0; i < o->cert_types_len; i++) {
        uint8_t t = o->cert_types[i];
        if (json_array_append_new(
                types, json_string(tls_name_or_hex(tls_name_cert_type(t), t, 2, buf, sizeof(buf)))))
            *failed = 1;
    }
    for (size_t i = 0; i < o->sigalg_count; i++) {
        uint16_t a = o->sigalgs[i];
        if (json_array_append_new(
                algs, json_string(tls_name_or_hex(tls_name_sigalg(a), a, 4, buf, sizeof(buf)))))
            *failed = 1;
    }
    if (o->version == 0x0304) {
        json_decref(types);
        set(cr, "certificate_authorities_extension", json_boolean(o->has_cas), failed);
    } else {
        set(cr, "certificate_types", types, failed);
    }
    set(cr, "signature_algorithms", algs, failed);
    if (o->certreq_quirks)
        set(cr, "quirks", json_integer(o->certreq_quirks), failed);
    return cr;
}

static json_t *server_cert_json(const struct tls_server_cert *sc, int *failed)
{
    json_t *j = json_object();
    if (j == NULL) {
        *failed = 1;
        return NULL;
    }
    if (sc->error) {
        set(j, "error", json_string(sc->error), failed);
    } else {
        set(j, "subject", json_string(sc->subject), failed);
        set(j, "issuer", json_string(sc->issuer), failed);
        set(j, "not_before", json_string(sc->not_before), failed);
        set(j, "not_after", json_string(sc->not_after), failed);
    }
    set(j, "sha1", hex_string(sc->sha1, 20), failed);
    set(j, "sha256", hex_string(sc->sha256, 32), failed);
    set(j, "chain_length", json_integer((json_int_t)sc->chain_length), failed);
    return j;
}

static json_t *observation_json(const struct tls_observation *o, int *failed)
{
    json_t *j = json_object();
    if (j == NULL) {
        *failed = 1;
        return NULL;
    }
    set(j, "address", o->address ? json_string(o->address) : json_null(), failed);
    set(j, "sni", o->sni ? json_string(o->sni) : json_null(), failed);
    set(j, "tls_max", version_string(o->tls_max), failed);
    set(j, "phase", json_string(o->phase), failed);
    set(j, "outcome", json_string(tls_outcome_name(o->outcome)), failed);
    if (o->outcome == TLS_OUTCOME_ERROR) {
        json_t *e = json_object();
        if (e == NULL)
            *failed = 1;
        else {
            set(e, "kind", json_string(tls_error_kind_name(o->error_kind)), failed);
            set(e, "message", json_string(o->error_message ? o->error_message : ""), failed);
            if (o->error_code)
                set(e, "code", json_string(tls_err_name(o->error_code)), failed);
            if (o->error_raw)
                set(e, "raw", json_integer(o->error_raw), failed);
            if (o->alert >= 0) {
                char buf[8];
                set(e, "alert",
                    json_string(tls_name_or_hex(tls_name_alert((uint8_t)o->alert),
                                                (unsigned)o->alert, 2, buf, sizeof(buf))),
                    failed);
            }
            set(j, "error", e, failed);
        }
    }
    if (o->version) {
        json_t *t = json_object();
        char buf[8];
        if (t == NULL)
            *failed = 1;
        else {
            set(t, "version", version_string(o->version), failed);
            set(t, "cipher_suite",
                json_string(o->cipher_suite_name
                                ? o->cipher_suite_name
                                : tls_name_or_hex(NULL, o->cipher_suite, 4, buf, sizeof(buf))),
                failed);
            set(j, "tls", t, failed);
        }
    }
    if (o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST)
        set(j, "certificate_request", certreq_json(o, failed), failed);
    if (o->server_cert.present)
        set(j, "server_certificate", server_cert_json(&o->server_cert, failed), failed);
    set(j, "elapsed_ms", json_integer((json_int_t)o->elapsed_ms), failed);
    return j;
}

int report_jsonl_write(FILE *out, const struct report_target *t)
{
    int failed = 0;
    json_t *root = json_object();
    json_t *obs = json_array();
    if (!root || !obs) {
        json_decref(root);
        json_decref(obs);
        return TLS_E_NOMEM;
    }
    set(root, "schema", json_string(REPORT_SCHEMA), &failed);
    set(root, "target", json_string(t->target), &failed);
    set(root, "host", t->host ? json_string(t->host) : json_null(), &failed);
    set(root, "port", json_integer(t->port), &failed);
    if (t->input_error) {
        json_t *e = json_object();
        if (e) {
            set(e, "kind", json_string("input"), &failed);
            set(e, "message", json_string(t->input_error), &failed);
        }
        set(root, "error", e, &failed);
    }
    for (size_t i = 0; i < t->n_obs; i++)
        if (json_array_append_new(obs, observation_json(t->obs[i], &failed)))
            failed = 1;
    set(root, "observations", obs, &failed);
    set(root, "findings", json_array(), &failed);
    int rc = 0;
    if (failed) {
        rc = TLS_E_NOMEM;
    } else if (json_dumpf(root, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF ||
               fflush(out) != 0) {
        rc = TLS_E_IO;
    }
    json_decref(root);
    return rc;
}

int report_target_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    switch (opts->format) {
    case REPORT_TEXT:
        return report_text_write(out, opts, t);
    case REPORT_JSONL:
        return report_jsonl_write(out, t);
    }
    return TLS_E_INVALID;
}
