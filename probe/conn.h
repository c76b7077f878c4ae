/* One connection (conn.c): a TCP connection to one address for one variant, driven by libuv, with
 * the TLS session of tls/ doing everything TLS. It is started with all it needs and, once its
 * handles are closed, hands its result to the callback it was given. It knows nothing of targets,
 * observations or the scheduler: the scheduler (scan.c) includes this header, never the reverse,
 * and what a result means to users is outcome.c's. */
#ifndef PROBE_CONN_H
#define PROBE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "tls/session.h"
#include "tls/wire/starttls.h"

/* Where the connection was when it ended. */
enum probe_conn_phase {
    PROBE_CONN_CONNECTING, /* no TCP connection yet */
    PROBE_CONN_STARTTLS,   /* connected; the plaintext exchange before the TLS bytes */
    PROBE_CONN_HANDSHAKE,  /* connected; the server's first flight is being captured */
    PROBE_CONN_EXCHANGE,   /* --request: the flight is captured; request, response, renegotiation */
};

/* Why it ended. */
enum probe_conn_end {
    PROBE_CONN_END_FINISHED,         /* the session needed no more input (EOF is input too) */
    PROBE_CONN_END_CONNECT_FAILED,   /* uv_err: the connect failed */
    PROBE_CONN_END_WRITE_FAILED,     /* uv_err */
    PROBE_CONN_END_READ_FAILED,      /* uv_err: a read failed (not EOF) */
    PROBE_CONN_END_DEADLINE,         /* the phase's deadline passed, or the total one */
    PROBE_CONN_END_INTERRUPTED,      /* probe_conn_interrupt */
    PROBE_CONN_END_NO_MEMORY,        /* the bytes to send could not be copied */
    PROBE_CONN_END_START_FAILED,     /* err or uv_err: the TLS session could not start */
    PROBE_CONN_END_REQUEST_TOO_LONG, /* the request does not fit in PROBE_REQUEST_MAX bytes */
    PROBE_CONN_END_STARTTLS_FAILED,  /* the STARTTLS exchange failed: starttls says why */
};

struct probe_conn_result {
    enum probe_conn_end end;
    enum probe_conn_phase phase;
    int uv_err;      /* the libuv code behind the end, or 0 */
    int err;         /* TLS_E_* behind the end (START_FAILED), or 0 */
    int signal;      /* with INTERRUPTED */
    size_t received; /* bytes from the server */
    uint8_t head[8]; /* the first bytes of the TLS phase, for what is said of them */
    size_t head_len;
    size_t received_at_exchange; /* of those, before the exchange began */
    uint64_t elapsed_ms;         /* from the start to the end, wall clock */
    uint64_t loop_ms;            /* the same on the loop's clock, as the deadlines count */
    uint64_t handshake_ms;       /* --request: elapsed when the first flight was captured, or 0 */
    /* What the session saw, valid during the callback; capture is NULL when no session was
     * made (the connect failed or did not finish). */
    const struct tls_capture *capture;
    struct tls_exchange_result exchange; /* with a request */
    const struct tls_starttls *starttls; /* the plaintext exchange; NULL without STARTTLS */
    size_t starttls_bytes;               /* of received, the plaintext before the TLS bytes */
    int ssl_err;                         /* the session's first mbedTLS error, raw */
    /* What it ran with, for what is said about it. */
    const char *request_path; /* NULL without --request */
    bool present; /* --client-key: a certificate to present (TLS 1.2 and 1.3 only: a probe of 1.0
                   * or 1.1 opens with caprobe's own ClientHello and never completes) */
    size_t capture_limit;
    uint64_t timeout_ms; /* the total deadline */
};

typedef void probe_conn_done_fn(void *ctx, const struct probe_conn_result *r);

struct probe_conn;

struct probe_conn_opts {
    uv_loop_t *loop;
    struct tls_client *tls; /* mbedTLS configurations and RNG, shared by all connections */
    char *readbuf;          /* shared too: libuv calls one read callback at a time */
    size_t readbuf_len;
    const struct sockaddr_storage *addr; /* with its port; copied */
    const char *sni;                     /* NULL: no server_name */
    const char *host;                    /* the request's Host when there is no SNI */
    uint16_t port;
    uint16_t version;   /* 0x0301 to 0x0304: the highest version offered */
    bool mbedtls_hello; /* --client-hello mbedtls: mbedTLS's ClientHello for TLS 1.2 too */
    bool present;       /* --client-key (the client's identity is set): TLS 1.2 and 1.3 complete the
                         * handshake when asked for a certificate, to see whether the server takes it */
    uint64_t connect_timeout_ms, handshake_timeout_ms, timeout_ms;
    size_t capture_limit;
    const char *request_path;         /* --request, or NULL; not sent over TLS 1.0 and 1.1, which
                                       * caprobe captures only (mbedTLS 3.6 has neither) */
    enum tls_starttls_proto starttls; /* spoken before the TLS bytes (XMPP's to: sni or host) */
    /* Called once, from the last close callback; the strings above must live until then. */
    probe_conn_done_fn *done;
    void *done_ctx;
};

/* Start connecting. Returns 0, and done comes later exactly once (never from inside this
 * call); or TLS_E_NOMEM, and nothing was started. */
int probe_conn_start(struct probe_conn **out, const struct probe_conn_opts *opts);
/* End the connection now (SIGINT, SIGTERM); nothing when it is ending already. */
void probe_conn_interrupt(struct probe_conn *c, int signal);

#endif
