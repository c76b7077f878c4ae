/* Observation lifecycle and the names of its enums. Pure data: filling an observation from a
 * capture is tls/observe.c's job (the mbedTLS side); nothing here may depend on it. */
#include "observation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digestset.h"
#include "error.h"

void tls_observation_init(struct tls_observation *o)
{
    memset(o, 0, sizeof(*o));
    tls_arena_init(&o->arena, TLS_OBSERVATION_ARENA_CAP);
    o->phase = "handshake";
    o->alert = -1;
    o->client_cert.alert = -1;
    o->outcome = TLS_OUTCOME_ERROR;
    o->error_kind = TLS_ERROR_PROTOCOL;
}

void tls_observation_free(struct tls_observation *o)
{
    if (o == NULL)
        return;
    tls_arena_free(&o->arena);
    memset(o, 0, sizeof(*o));
}

int tls_observation_list_id(const struct tls_observation *o, uint64_t *id)
{
    size_t n = o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST ? o->ca_count : 0;
    uint8_t(*v)[32] = n ? malloc(n * 32) : NULL;
    if (n && v == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        memcpy(v[i], o->cas[i].sha256, 32);
    tls_digest_sort(v, n);
    struct tls_digest_list l = {.base = (const uint8_t *)v, .n = n, .stride = 32};
    *id = tls_digest_list_id(&l);
    free(v);
    return 0;
}

const char *tls_outcome_name(enum tls_outcome outcome)
{
    switch (outcome) {
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        return "certificate_request";
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        return "no_certificate_request";
    case TLS_OUTCOME_ERROR:
        return "error";
    }
    return "error";
}

const char *tls_client_cert_result_name(enum tls_client_cert_result r)
{
    switch (r) {
    case TLS_CLIENT_CERT_NONE:
        return NULL;
    case TLS_CLIENT_CERT_ACCEPTED:
        return "accepted";
    case TLS_CLIENT_CERT_ALERT:
        return "alert";
    case TLS_CLIENT_CERT_CLOSED:
        return "closed";
    case TLS_CLIENT_CERT_HTTP:
        return "http";
    case TLS_CLIENT_CERT_NO_ANSWER:
        return "no_answer";
    case TLS_CLIENT_CERT_ERROR:
        return "error";
    }
    return NULL;
}

void tls_client_cert_phrase(enum tls_client_cert_result r, bool renegotiation, const char *alert,
                            long long http_status, const char *error, char *buf, size_t cap)
{
    switch (r) {
    case TLS_CLIENT_CERT_NONE:
        snprintf(buf, cap, "no answer recorded");
        return;
    case TLS_CLIENT_CERT_ACCEPTED:
        snprintf(buf, cap, "accepted (the %s completed)",
                 renegotiation ? "renegotiation" : "handshake");
        return;
    case TLS_CLIENT_CERT_ALERT:
        snprintf(buf, cap, "refused with alert %s", alert ? alert : "(unknown)");
        return;
    case TLS_CLIENT_CERT_CLOSED:
        snprintf(buf, cap, "the server closed the connection");
        return;
    case TLS_CLIENT_CERT_HTTP:
        snprintf(buf, cap, "the request got HTTP %lld", http_status);
        return;
    case TLS_CLIENT_CERT_NO_ANSWER:
        snprintf(buf, cap, "no answer before the deadline");
        return;
    case TLS_CLIENT_CERT_ERROR:
        snprintf(buf, cap, "%s", error ? error : "error");
        return;
    }
    snprintf(buf, cap, "?");
}

const char *tls_error_kind_name(enum tls_error_kind kind)
{
    switch (kind) {
    case TLS_ERROR_DNS:
        return "dns";
    case TLS_ERROR_REFUSED:
        return "refused";
    case TLS_ERROR_TIMEOUT:
        return "timeout";
    case TLS_ERROR_RESET:
        return "reset";
    case TLS_ERROR_TLS_ALERT:
        return "tls_alert";
    case TLS_ERROR_PROTOCOL:
        return "protocol";
    case TLS_ERROR_CAPTURE_LIMIT:
        return "capture_limit";
    case TLS_ERROR_INTERRUPTED:
        return "interrupted";
    case TLS_ERROR_LOCAL:
        return "local";
    case TLS_ERROR_VERSION_NOT_OFFERED:
        return "version_not_offered";
    case TLS_ERROR_STARTTLS:
        return "starttls";
    }
    return "protocol";
}

const char *tls_dns_error_name(enum tls_dns_error e)
{
    switch (e) {
    case TLS_DNS_NONE:
        return NULL;
    case TLS_DNS_NO_SUCH_NAME:
        return "no_such_name";
    case TLS_DNS_NO_ADDRESS:
        return "no_address";
    case TLS_DNS_SERVER_FAILURE:
        return "server_failure";
    case TLS_DNS_REFUSED:
        return "refused";
    case TLS_DNS_TIMEOUT:
        return "timeout";
    case TLS_DNS_BAD_ANSWER:
        return "bad_answer";
    case TLS_DNS_UNREACHABLE:
        return "unreachable";
    case TLS_DNS_BAD_NAME:
        return "bad_name";
    case TLS_DNS_OTHER:
        return "other";
    }
    return "other";
}

void tls_observation_set_error(struct tls_observation *o, enum tls_error_kind kind, int code,
                               int raw, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->outcome = TLS_OUTCOME_ERROR;
    o->error_kind = kind;
    o->error_code = code;
    o->error_raw = raw;
    o->error_message = tls_arena_strdup(&o->arena, msg);
}
