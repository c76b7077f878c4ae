/* --request: the HTTP exchange after a completed handshake, over the session's mbedTLS context.
 * It writes the request, reads the response head (tls/wire/http.c) and hands the server's
 * records after its first TLS 1.2 flight to the renegotiation follower (tls/renego.c). The
 * session (session.c) owns one per probe with a request and calls it; the probe reads only its
 * result, through tls_session_exchange. */
#ifndef TLS_EXCHANGE_H
#define TLS_EXCHANGE_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

/* What happened after the handshake, for a session with a request (or one that completes the
 * handshake without one: tls_session_opts.complete). */
struct tls_exchange_result {
    bool handshake_done;     /* mbedTLS completed the handshake */
    int alert;               /* the description of the fatal alert mbedTLS read, or -1 */
    bool eof;                /* the server closed the connection */
    bool answered;           /* complete, TLS 1.3: no alert after our Finished and close_notify,
                              * but data or the server's close */
    bool sent;               /* the whole request was handed to mbedTLS */
    bool closed;             /* the server closed (close_notify or EOF) after the request */
    bool peer_alert;         /* mbedTLS stopped on a fatal alert from the server */
    bool over_limit;         /* mbedTLS stopped: its unread input would pass the capture limit */
    const uint8_t *response; /* the first bytes of the response (at most TLS_HTTP_HEAD_MAX) */
    size_t response_len;
    int ssl_err;        /* the mbedTLS error that stopped it (raw), 0 when none */
    bool bad_signature; /* that error is mbedTLS rejecting the server's signature in the
                         * handshake: its TLS 1.3 CertificateVerify, its TLS 1.2 ServerKeyExchange
                         * (mbedTLS checks it whatever the authmode) */
    /* TLS 1.2: the records after the first flight */
    bool renegotiation; /* HelloRequest, a second ServerHello, or a second key export */
    const struct tls_capture *renego; /* the second flight; NULL when its ServerHello never came */
    int renego_err;                   /* TLS_E_* that stopped the reading before that */
    bool renego_alert;                /* an alert outside the second flight: */
    uint8_t renego_alert_level, renego_alert_desc; /* before it, or ending it */
};

struct mbedtls_ssl_context;
struct tls_capture;
struct tls_exchange;

/* A copy of the request (request_len bytes) is kept until it is written. */
int tls_exchange_new(struct tls_exchange **out, const uint8_t *request, size_t request_len);
void tls_exchange_free(struct tls_exchange *x);

/* The handshake is complete: write the request and read the response as far as mbedTLS's input
 * allows (mbedTLS answers a HelloRequest in here). Returns 0, or the raw mbedTLS error that
 * stopped it; tls_exchange_over says whether it has ended by itself. */
int tls_exchange_drive(struct tls_exchange *x, struct mbedtls_ssl_context *ssl);
/* The exchange is over: a response head was read, the server closed, or it was stopped. */
bool tls_exchange_over(const struct tls_exchange *x);
/* mbedTLS failed: the exchange ends without the server having closed. */
void tls_exchange_stop(struct tls_exchange *x);

/* Once the first flight is captured (cap DONE) over TLS 1.2, start following the records after
 * it, beginning with those the capture buffered past its end; limit caps the bytes read. Does
 * nothing before that or once started. Returns 0 or TLS_E_NOMEM. */
int tls_exchange_follow(struct tls_exchange *x, const struct tls_capture *cap, size_t limit);
/* Bytes received after the first flight. */
void tls_exchange_feed(struct tls_exchange *x, const uint8_t *p, size_t n);
/* A TLS 1.2 master secret exported by mbedTLS (a second one means a renegotiation). */
void tls_exchange_keys(struct tls_exchange *x, mbedtls_tls_prf_types prf, const uint8_t *secret,
                       size_t secret_len, const uint8_t client_random[32],
                       const uint8_t server_random[32]);
/* The server closed the connection. */
void tls_exchange_eof(struct tls_exchange *x);
/* True while a second flight mbedTLS could not take (a list over 16 KiB) is still being read. */
bool tls_exchange_reading(const struct tls_exchange *x);

/* The exchange's part of the result: sent, closed, response and the renegotiation. */
void tls_exchange_report(const struct tls_exchange *x, struct tls_exchange_result *out);

#endif
