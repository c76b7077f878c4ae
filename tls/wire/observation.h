/* One probe's result: a plain struct that owns its memory through one arena. The probe fills
 * where and how it connected; tls_observation_from_capture (tls/observe.h, the mbedTLS side)
 * fills what the server sent. Pure data: the report module reads it and never sees mbedTLS or
 * sockets. */
#ifndef TLS_OBSERVATION_H
#define TLS_OBSERVATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

enum tls_outcome {
    TLS_OUTCOME_CERTIFICATE_REQUEST,
    TLS_OUTCOME_NO_CERTIFICATE_REQUEST,
    TLS_OUTCOME_ERROR,
};

enum tls_error_kind {
    TLS_ERROR_DNS,
    TLS_ERROR_REFUSED,
    TLS_ERROR_TIMEOUT,
    TLS_ERROR_RESET,
    TLS_ERROR_TLS_ALERT,
    TLS_ERROR_PROTOCOL,
    TLS_ERROR_CAPTURE_LIMIT,
    TLS_ERROR_INTERRUPTED, /* the scan was stopped (SIGINT, SIGTERM) before this probe ended */
    TLS_ERROR_LOCAL,       /* this machine could not make the probe: no descriptors, no ports */
    /* The server declines the TLS version this probe offered (a protocol_version alert, or a
     * handshake_failure where another version of the same address worked): a fact about the
     * server, not a failure to probe it. */
    TLS_ERROR_VERSION_NOT_OFFERED,
    /* The plaintext exchange before the TLS bytes failed: the server refused STARTTLS, answered
     * nonsense, never ended a reply, or sent TLS or extra bytes out of turn (tls/wire/starttls.h)
     */
    TLS_ERROR_STARTTLS,
};
#define TLS_ERROR_KIND_LAST TLS_ERROR_STARTTLS

/* Why a host name gave no address (with TLS_ERROR_DNS): the resolver's answer, as specific as it
 * was. */
enum tls_dns_error {
    TLS_DNS_NONE,
    TLS_DNS_NO_SUCH_NAME,   /* NXDOMAIN: the name does not exist */
    TLS_DNS_NO_ADDRESS,     /* the name exists but has no address of the wanted families */
    TLS_DNS_SERVER_FAILURE, /* SERVFAIL (or NOTIMP) */
    TLS_DNS_REFUSED,        /* REFUSED */
    TLS_DNS_TIMEOUT,        /* no answer before --dns-timeout */
    TLS_DNS_BAD_ANSWER,     /* an answer came but could not be used (malformed, wrong format) */
    TLS_DNS_UNREACHABLE,    /* no DNS server could be reached (ICMP unreachable, no server) */
    TLS_DNS_BAD_NAME,       /* the name cannot be looked up (not a valid DNS name) */
    TLS_DNS_OTHER,          /* any other resolver failure; the message says which */
};

struct tls_ca_name {
    const char *dn; /* RFC 4514 text; for a malformed name the hex of its bytes */
    const uint8_t *der;
    size_t der_len;
    uint8_t sha256[32];
    bool malformed;
};

struct tls_server_cert {
    bool present;
    const char *subject, *issuer;       /* RFC 4514 */
    const char *not_before, *not_after; /* RFC 3339, UTC */
    uint8_t sha1[20], sha256[32];
    const char *error; /* set when the DER could not be decoded */
    size_t chain_length;
};

/* --request: the HTTP exchange after the handshake (on the handshake observation). */
struct tls_http_result {
    const char *path;                 /* NULL: no request was asked for */
    bool sent;                        /* the request went out (the handshake completed) */
    int status;                       /* 0 when no status line came */
    const char *status_line, *server; /* as received; NULL when absent */
    bool head_cut;      /* the head went on past TLS_HTTP_HEAD_MAX: fields after it unread */
    bool renegotiation; /* the server asked to renegotiate (HelloRequest or a new ServerHello) */
    bool failed;        /* no response head: error_kind and error say why */
    enum tls_error_kind error_kind;
    const char *error;
};

/* --client-key: what the server made of the client certificate caprobe presented in this
 * observation's handshake (the first one, or the renegotiation). */
enum tls_client_cert_result {
    TLS_CLIENT_CERT_NONE,      /* nothing to tell: not asked for, nothing presented */
    TLS_CLIENT_CERT_ACCEPTED,  /* the handshake completed with it (TLS 1.3: the server answered
                                * our Finished and close_notify with data or its close) */
    TLS_CLIENT_CERT_ALERT,     /* the server ended the handshake with a fatal alert: alert */
    TLS_CLIENT_CERT_CLOSED,    /* the server closed the connection after it, without an alert */
    TLS_CLIENT_CERT_HTTP,      /* --request: the response to the request: http_status */
    TLS_CLIENT_CERT_NO_ANSWER, /* nothing came before the deadline */
    TLS_CLIENT_CERT_ERROR,     /* it could not be presented, or its answer not read: error */
};

struct tls_client_cert {
    bool tried;     /* --client-key was given: this observation has a client_cert */
    bool presented; /* the server asked in this phase and the certificate was sent */
    enum tls_client_cert_result result;
    int alert;         /* with ALERT: its description, -1 when mbedTLS did not say */
    int http_status;   /* with HTTP */
    const char *error; /* with ERROR: why, in words */
};

struct tls_name_cache;

struct tls_observation {
    struct tls_arena arena;
    struct tls_name_cache *names; /* optional: decoded names shared across observations; it
                                   * must outlive the observation (its strings are referenced) */
    /* Variant: filled by the prober. */
    const char *address;  /* numeric address connected to */
    const char *sni;      /* NULL when no SNI was sent */
    uint16_t tls_max;     /* highest version offered: 0x0301 to 0x0304 */
    const char *phase;    /* "handshake" (or "renegotiation") */
    const char *starttls; /* the STARTTLS protocol spoken first ("smtp", ...), NULL: none */
    uint64_t elapsed_ms;
    /* Result */
    enum tls_outcome outcome;
    enum tls_error_kind error_kind; /* with TLS_OUTCOME_ERROR */
    const char *error_message;
    int error_code;               /* TLS_E_* or 0 */
    int error_raw;                /* the foreign code (mbedTLS, libuv, c-ares) behind it, or 0 */
    enum tls_dns_error dns_error; /* with TLS_ERROR_DNS */
    int alert;                    /* alert description received, or -1 */
    bool silent_close; /* the server closed or reset the connection before sending a byte */
    uint16_t version;  /* negotiated, 0 when no ServerHello came */
    uint16_t cipher_suite;
    const char *cipher_suite_name; /* mbedTLS's name, NULL when unknown */
    /* CertificateRequest, when outcome is TLS_OUTCOME_CERTIFICATE_REQUEST */
    bool has_cas; /* 1.3: the certificate_authorities extension was present */
    size_t ca_count, ca_bytes;
    struct tls_ca_name *cas;
    const uint8_t *cert_types;
    size_t cert_types_len;
    const uint16_t *sigalgs;
    size_t sigalg_count;
    unsigned certreq_quirks; /* enum tls_certreq_quirk */
    struct tls_server_cert server_cert;
    struct tls_http_result http;
    struct tls_client_cert client_cert;
};

/* Arena cap for one observation. The worst list is 21,845 one-byte names in 65,535 bytes: 64
 * bytes of struct plus DER and hex text each, 16-byte aligned, about 2.1 MiB; the server
 * certificate's names come on top. The arena grows in 4 KiB chunks, so typical probes use a
 * few KiB of it. */
#define TLS_OBSERVATION_ARENA_CAP (4 * 1024 * 1024)

void tls_observation_init(struct tls_observation *o);
void tls_observation_free(struct tls_observation *o);

/* The certificate_authorities field's length on the wire: each name's DER with its 2-byte
 * length (ca_bytes is the sum of the DER alone). What size limits (16 KiB a record, 64 KiB the
 * field) are about, and the byte count every report and finding gives. */
static inline size_t tls_observation_list_bytes(const struct tls_observation *o)
{
    return o->ca_bytes + 2 * o->ca_count;
}

/* The identity of the advertised list (tls_digest_list_id over the names' SHA-256, whatever
 * their order and repeats): 0 with *id, or TLS_E_NOMEM. An observation without a list (no
 * request, an error) gives the empty list's. */
int tls_observation_list_id(const struct tls_observation *o, uint64_t *id);

/* Mark the observation as an error with kind, our code, the foreign code and a message. */
void tls_observation_set_error(struct tls_observation *o, enum tls_error_kind kind, int code,
                               int raw, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

const char *tls_outcome_name(enum tls_outcome outcome);
/* "accepted", "alert", "closed", "http", "no_answer", "error"; NULL for TLS_CLIENT_CERT_NONE. */
const char *tls_client_cert_result_name(enum tls_client_cert_result r);
/* What the server made of the certificate, in the words every report uses ("accepted (the
 * handshake completed)", "refused with alert unknown_ca", "the request got HTTP 403", ...),
 * into buf (cut to cap). alert: the alert's name (NULL: unknown); http_status with HTTP; error
 * with ERROR; renegotiation: the observation's phase. Not escaped: the caller shows it. */
void tls_client_cert_phrase(enum tls_client_cert_result r, bool renegotiation, const char *alert,
                            long long http_status, const char *error, char *buf, size_t cap);
const char *tls_error_kind_name(enum tls_error_kind kind);
/* "no_such_name", "no_address", ...; NULL for TLS_DNS_NONE. */
const char *tls_dns_error_name(enum tls_dns_error e);

#endif
