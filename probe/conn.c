/* One probe: a TCP connection to one address for one variant, driven by libuv, with the TLS
 * session in tls/ doing everything TLS and the STARTTLS dialogue (tls/wire/starttls.h) what
 * comes before it. It decides nothing about observations, error kinds or retries: it records
 * how it ended (conn.h) and hands that to its callback once closed.
 *
 *   CONNECTING --connect ok--> HANDSHAKE --capture done/failed, EOF, read error--> closing
 *   CONNECTING --connect ok, STARTTLS--> STARTTLS --server agreed--> HANDSHAKE
 *   STARTTLS --dialogue failed, EOF, read error, handshake or total deadline--> closing
 *   HANDSHAKE --capture ended, with --request--> EXCHANGE --response head, EOF, error, total
 *                                                          deadline--> closing
 *   CONNECTING --error | connect deadline--> closing
 *   HANDSHAKE --handshake or total deadline | interruption--> closing
 *   closing --last close callback--> done callback, then freed
 * Invariants: the result is complete when closing begins; while closing no callback touches
 * the session; the conn is freed only after the last close callback; bytes given to uv_write
 * stay untouched until its callback; in STARTTLS no TLS session exists, and the dialogue's
 * last command is written before the ClientHello. */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "tls/wire/error.h"
#include "tls/wire/minmax.h"

struct probe_conn {
    struct probe_conn_opts o;
    struct sockaddr_storage addr;
    enum probe_conn_phase phase;
    bool closing;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    int open_handles;
    bool writing;
    uint8_t *wbuf;     /* owned by the pending write */
    uint64_t start_ms; /* loop time, for deadlines */
    uint64_t start_ns; /* uv_hrtime(), for elapsed_ms: the loop time is cached per iteration */
    size_t received;
    size_t received_at_exchange; /* bytes received when the exchange began */
    uint64_t handshake_ms;       /* elapsed when the exchange began: the handshake's own time */
    struct tls_session *sess;
    struct tls_starttls *st; /* with STARTTLS, from the connect to the end */
    bool reading;
    struct probe_conn_result res;
};

static void conn_close_cb(uv_handle_t *h)
{
    struct probe_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    c->o.done(c->o.done_ctx, &c->res);
    tls_session_free(c->sess);
    free(c->st);
    free(c->wbuf);
    free(c);
}

/* End the connection: record how, with what the session saw, and close. */
static void conn_end(struct probe_conn *c, enum probe_conn_end end, int uv_err, int err)
{
    if (c->closing)
        return;
    struct probe_conn_result *r = &c->res;
    r->end = end;
    r->phase = c->phase;
    r->uv_err = uv_err;
    r->err = err;
    r->received = c->received;
    r->received_at_exchange = c->received_at_exchange;
    r->elapsed_ms = (uv_hrtime() - c->start_ns) / 1000000;
    r->loop_ms = uv_now(c->o.loop) - c->start_ms;
    r->handshake_ms = c->handshake_ms;
    r->starttls = c->st;
    r->starttls_bytes = c->st ? c->st->received : 0;
    if (c->sess) {
        r->capture = tls_session_capture(c->sess);
        r->ssl_err = tls_session_ssl_error(c->sess);
        if (r->request_path || r->present) /* a session of our own ClientHello: all zero */
            tls_session_exchange(c->sess, &r->exchange);
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->timer, conn_close_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

void probe_conn_interrupt(struct probe_conn *c, int signal)
{
    if (c->closing)
        return;
    c->res.signal = signal;
    conn_end(c, PROBE_CONN_END_INTERRUPTED, 0, 0);
}

static void conn_flush(struct probe_conn *c);

static void conn_write_cb(uv_write_t *req, int status)
{
    struct probe_conn *c = req->data;
    c->writing = false;
    free(c->wbuf);
    c->wbuf = NULL;
    if (c->closing)
        return;
    if (status < 0) {
        conn_end(c, PROBE_CONN_END_WRITE_FAILED, status, 0);
        return;
    }
    conn_flush(c);
}

/* Send what is pending: the STARTTLS dialogue's command first, then the session's bytes. */
static void conn_flush(struct probe_conn *c)
{
    size_t len = 0;
    const uint8_t *p = c->st ? tls_starttls_output(c->st, &len) : NULL;
    bool plain = len > 0;
    if (!plain && c->sess)
        p = tls_session_output(c->sess, &len);
    if (c->writing || len == 0)
        return;
    c->wbuf = malloc(len);
    if (c->wbuf == NULL) {
        conn_end(c, PROBE_CONN_END_NO_MEMORY, 0, 0);
        return;
    }
    memcpy(c->wbuf, p, len);
    if (plain)
        tls_starttls_output_consume(c->st, len);
    else
        tls_session_output_consume(c->sess, len);
    uv_buf_t b = uv_buf_init((char *)c->wbuf, (unsigned)len);
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
    if (rc) {
        free(c->wbuf);
        c->wbuf = NULL;
        conn_end(c, PROBE_CONN_END_WRITE_FAILED, rc, 0);
        return;
    }
    c->writing = true;
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct probe_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->o.readbuf, (unsigned)c->o.readbuf_len);
}

static void conn_timer_cb(uv_timer_t *timer)
{
    conn_end(timer->data, PROBE_CONN_END_DEADLINE, 0, 0);
}

static void conn_after_input(struct probe_conn *c)
{
    if (tls_session_finished(c->sess)) {
        conn_end(c, PROBE_CONN_END_FINISHED, 0, 0);
        return;
    }
    if (c->phase == PROBE_CONN_HANDSHAKE && tls_session_status(c->sess) != TLS_CAPTURE_RUNNING) {
        /* --request: the flight is captured; the exchange has what is left of the total */
        uint64_t used = uv_now(c->o.loop) - c->start_ms;
        c->phase = PROBE_CONN_EXCHANGE;
        c->received_at_exchange = c->received;
        c->handshake_ms = (uv_hrtime() - c->start_ns) / 1000000;
        uv_timer_start(&c->timer, conn_timer_cb,
                       c->o.timeout_ms > used ? c->o.timeout_ms - used : 1, 0);
    }
    conn_flush(c);
}

static bool conn_session_start(struct probe_conn *c);

/* After input in STARTTLS: the dialogue's next command, its failure, or, once the server
 * agreed, the TLS session (its ClientHello goes after the last command). */
static void conn_starttls_step(struct probe_conn *c)
{
    switch (c->st->status) {
    case TLS_STARTTLS_RUNNING:
        break;
    case TLS_STARTTLS_FAILED:
        conn_end(c, PROBE_CONN_END_STARTTLS_FAILED, 0, 0);
        return;
    case TLS_STARTTLS_DONE:
        c->phase = PROBE_CONN_HANDSHAKE;
        if (!conn_session_start(c))
            return;
        break;
    }
    conn_flush(c);
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_conn *c = stream->data;
    if (c->closing)
        return;
    if (nread > 0 && c->phase == PROBE_CONN_STARTTLS) {
        c->received += (size_t)nread;
        tls_starttls_input(c->st, (const uint8_t *)buf->base, (size_t)nread);
        conn_starttls_step(c);
    } else if (nread == UV_EOF && c->phase == PROBE_CONN_STARTTLS) {
        tls_starttls_eof(c->st);
        conn_starttls_step(c);
    } else if (nread > 0) {
        c->received += (size_t)nread;
        struct probe_conn_result *r = &c->res;
        for (ssize_t i = 0; i < nread && r->head_len < sizeof(r->head); i++)
            r->head[r->head_len++] = (uint8_t)buf->base[i];
        tls_session_input(c->sess, (const uint8_t *)buf->base, (size_t)nread);
        conn_after_input(c);
    } else if (nread == UV_EOF) {
        tls_session_eof(c->sess);
        conn_after_input(c);
    } else if (nread < 0) {
        conn_end(c, PROBE_CONN_END_READ_FAILED, (int)nread, 0);
    }
}

/* Whether the probe opens with caprobe's own ClientHello: always for TLS 1.0 and 1.1 (mbedTLS
 * 3.6 has neither), for TLS 1.2 when nothing after the first flight is needed (no request, no
 * certificate to present) and --client-hello mbedtls was not given (docs/design.md has the
 * figures). */
static bool conn_own_hello(const struct probe_conn_opts *o)
{
    return o->version < 0x0303 ||
           (o->version == 0x0303 && !o->request_path && !o->present && !o->mbedtls_hello);
}

/* The TLS session, with the request when there is one; false when it could not start (the
 * connection has ended then). */
static bool conn_session_start(struct probe_conn *c)
{
    struct tls_session_opts so = {
        .version = c->o.version,
        .own_hello = conn_own_hello(&c->o),
        .sni = c->o.sni,
        .capture_limit = c->o.capture_limit,
        .complete = c->o.present && c->o.version >= 0x0303,
    };
    char request[PROBE_REQUEST_MAX];
    if (c->o.request_path && !so.own_hello) {
        int n = probe_request_format(request, sizeof(request), c->o.request_path,
                                     c->o.sni ? c->o.sni : c->o.host, c->o.port);
        if (n < 0) {
            conn_end(c, PROBE_CONN_END_REQUEST_TOO_LONG, 0, 0);
            return false;
        }
        so.request = (const uint8_t *)request;
        so.request_len = (size_t)n;
    }
    int rc = tls_session_new(&c->sess, c->o.tls, &so);
    if (rc == 0)
        rc = tls_session_start(c->sess);
    if (rc) {
        conn_end(c, PROBE_CONN_END_START_FAILED, 0, rc);
        return false;
    }
    if (!c->reading && (rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb))) {
        conn_end(c, PROBE_CONN_END_START_FAILED, rc, 0);
        return false;
    }
    c->reading = true;
    return true;
}

/* The STARTTLS dialogue, reading from now on; false when it could not start (the connection has
 * ended then). */
static bool conn_starttls_start(struct probe_conn *c)
{
    if ((c->st = malloc(sizeof(*c->st))) == NULL) {
        conn_end(c, PROBE_CONN_END_NO_MEMORY, 0, 0);
        return false;
    }
    tls_starttls_init(c->st, c->o.starttls, c->o.sni ? c->o.sni : c->o.host, c->o.capture_limit);
    c->phase = PROBE_CONN_STARTTLS;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
    if (rc) {
        conn_end(c, PROBE_CONN_END_START_FAILED, rc, 0);
        return false;
    }
    c->reading = true;
    return true;
}

static void conn_connect_cb(uv_connect_t *req, int status)
{
    struct probe_conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_end(c, PROBE_CONN_END_CONNECT_FAILED, status, 0);
        return;
    }
    c->phase = PROBE_CONN_HANDSHAKE;
    /* The handshake deadline counts from here, within what is left of the total. */
    uint64_t used = uv_now(c->o.loop) - c->start_ms;
    uint64_t left = c->o.timeout_ms > used ? c->o.timeout_ms - used : 1;
    uv_timer_start(&c->timer, conn_timer_cb, tls_min_u64(c->o.handshake_timeout_ms, left), 0);
    /* mbedTLS state only for connected probes: queued and connecting ones hold none. */
    if (c->o.starttls != TLS_STARTTLS_NONE ? conn_starttls_start(c) : conn_session_start(c))
        conn_flush(c);
}

int probe_conn_start(struct probe_conn **out, const struct probe_conn_opts *opts)
{
    *out = NULL;
    struct probe_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    c->o = *opts;
    c->addr = *opts->addr;
    c->o.addr = &c->addr;
    c->phase = PROBE_CONN_CONNECTING;
    c->res.request_path = conn_own_hello(opts) ? NULL : opts->request_path;
    c->res.present = opts->present;
    c->res.capture_limit = opts->capture_limit;
    c->res.timeout_ms = opts->timeout_ms;
    c->start_ms = uv_now(opts->loop);
    c->start_ns = uv_hrtime();
    if (uv_tcp_init(opts->loop, &c->tcp)) {
        free(c);
        return TLS_E_NOMEM;
    }
    uv_timer_init(opts->loop, &c->timer);
    c->tcp.data = c->timer.data = c->connect_req.data = c;
    c->open_handles = 2;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, conn_timer_cb,
                   tls_min_u64(opts->connect_timeout_ms, opts->timeout_ms), 0);
    int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&c->addr,
                            conn_connect_cb);
    if (rc)
        conn_end(c, PROBE_CONN_END_CONNECT_FAILED, rc, 0);
    *out = c;
    return 0;
}
