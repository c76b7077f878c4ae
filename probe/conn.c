/* One probe: a TCP connection to one address for one variant, driven by libuv, with the TLS
 * session in tls/ doing everything TLS. It never decides about other probes: when it ends it
 * tells the scheduler, which may start it again (a retry) or count it done.
 *
 *   CONNECTING --connect ok--> HANDSHAKE --capture done/failed, EOF, read error--> CLOSING
 *   HANDSHAKE --capture ended, with --request--> EXCHANGE --response head, EOF, error, total
 *                                                          deadline--> CLOSING
 *   CONNECTING --error | connect deadline--> CLOSING (maybe a retry)
 *   HANDSHAKE --handshake or total deadline | interruption--> CLOSING
 *   CLOSING --last close callback--> freed
 * Invariants: the observation is final (or left untouched for a retry) before CLOSING; in
 * CLOSING no callback touches the session; the conn is freed only in the last close callback;
 * bytes given to uv_write stay untouched until its callback. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tls/wire/error.h"
#include "tls/wire/http.h"
#include "tls/wire/names.h"
#include "tls/mbedtls_err.h"
#include "tls/observe.h"
#include "tls/session.h"

enum conn_stage {
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_EXCHANGE, /* --request: the capture is complete; request, response, renegotiation */
    CONN_CLOSING,
};

struct probe_conn {
    struct tls_list node; /* in the scan's list of conns in flight */
    struct probe_scan *scan;
    struct probe_target *target;
    size_t vi;
    enum conn_stage stage;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    int open_handles;
    bool writing;
    bool retry;
    uint8_t *wbuf;     /* owned by the pending write */
    uint64_t start_ms; /* loop time, for deadlines */
    uint64_t start_ns; /* uv_hrtime(), for elapsed_ms: the loop time is cached per iteration */
    size_t received;
    size_t received_at_exchange; /* bytes received when the exchange began */
    uint64_t handshake_ms;       /* elapsed when the exchange began: the handshake's own time */
    struct tls_session *sess;
};

struct probe_conn *probe_conn_of(struct tls_list *node)
{
    return TLS_LIST_ENTRY(node, struct probe_conn, node);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void conn_close_cb(uv_handle_t *h)
{
    struct probe_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct probe_scan *s = c->scan;
    struct probe_target *t = c->target;
    size_t vi = c->vi;
    bool retry = c->retry;
    unsigned attempts = t->variants[vi].attempts;
    tls_list_remove(&c->node);
    probe_scan_addr_add(s, &t->addrs[t->variants[vi].addr], -1);
    tls_session_free(c->sess);
    free(c->wbuf);
    free(c);
    /* back off 250 ms, 500 ms, 1 s, ... between attempts */
    probe_scan_conn_done(s, t, vi, retry, retry ? 250ULL << (attempts > 4 ? 4 : attempts - 1) : 0);
}

/* A connect failure that another attempt may not meet: no answer in time, no route or no local
 * port for now. A refusal is an answer, not transient. */
static bool transient(int uv_err)
{
    switch (uv_err) {
    case UV_ETIMEDOUT:
    case UV_EADDRNOTAVAIL:
    case UV_EAGAIN:
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_ECONNRESET:
        return true;
    default:
        return false;
    }
}

static enum tls_error_kind kind_of_uv(int err)
{
    switch (err) {
    case UV_ECONNREFUSED:
        return TLS_ERROR_REFUSED;
    case UV_ETIMEDOUT:
        return TLS_ERROR_TIMEOUT;
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_ECONNABORTED:
    case UV_EOF:
        return TLS_ERROR_RESET;
    case UV_EMFILE:
    case UV_ENFILE:
    case UV_ENOBUFS:
    case UV_ENOMEM:
    case UV_EACCES:
    case UV_EPERM:
    case UV_EADDRNOTAVAIL:
    case UV_EAGAIN:
        return TLS_ERROR_LOCAL; /* the failure is here, not at the target */
    default:
        return TLS_ERROR_REFUSED; /* unreachable network or host: no connection was made */
    }
}

/* The observation o from what capture cap saw, or from our own failure when the capture did
 * not end by itself. */
static void observe_capture(struct probe_conn *c, struct tls_observation *o,
                            const struct tls_capture *cap, bool have_failure,
                            enum tls_error_kind kind, int uv_err, const char *msg)
{
    o->elapsed_ms = (uv_hrtime() - c->start_ns) / 1000000;
    int rc = cap ? tls_observation_from_capture(o, cap) : 0;
    if (rc) {
        tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, rc, 0,
                                  "out of memory for this observation (limit %zu bytes)",
                                  (size_t)TLS_OBSERVATION_ARENA_CAP);
        return;
    }
    if (cap && (cap->status == TLS_CAPTURE_DONE || cap->has_certreq))
        return;
    char text[256];
    if (have_failure) {
        tls_observation_set_error(o, kind, 0, uv_err, "%s", msg);
    } else if (cap->err == TLS_E_MBEDTLS) {
        int raw = tls_session_ssl_error(c->sess);
        tls_mbedtls_strerror(raw, text, sizeof(text));
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, TLS_E_MBEDTLS, raw,
                                  "handshake failed before the capture was complete: %s", text);
    } else if (cap->err == TLS_E_TRUNCATED) {
        tls_observation_set_error(o, TLS_ERROR_RESET, TLS_E_TRUNCATED, 0,
                                  "the server closed the connection after %zu bytes%s", c->received,
                                  cap->have_hello ? ", before its flight was complete"
                                                  : ", before a ServerHello");
    } else if (cap->err == TLS_E_LIMIT) {
        tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, TLS_E_LIMIT, 0,
                                  "the server sent more than %zu bytes before its flight was "
                                  "complete (--capture-limit)",
                                  c->scan->opts->capture_limit);
    } else if (cap->status == TLS_CAPTURE_RUNNING) {
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, 0, 0,
                                  "the probe ended before the flight was complete (%zu bytes "
                                  "received)",
                                  c->received);
    } else if (cap->err != TLS_E_ALERT) {
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, cap->err, 0, "%s after %zu bytes%s",
                                  tls_err_str(cap->err), c->received,
                                  c->received && !cap->have_hello ? " (not TLS?)" : "");
    }
}

/* Printable copy of n received bytes (at most 256): controls and NUL become '?'; invalid UTF-8
 * is left to the renderers, which escape it. */
static const char *received_text(struct tls_arena *a, const uint8_t *p, size_t n)
{
    char buf[257];
    n = n < 256 ? n : 256;
    for (size_t i = 0; i < n; i++)
        buf[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
    buf[n] = '\0';
    return tls_arena_strdup(a, buf);
}

static const char *alert_name(uint8_t desc)
{
    const char *n = tls_name_alert(desc);
    return n ? n : "unknown";
}

/* Why the exchange after the handshake gave no response head. */
static void exchange_failure(const struct tls_exchange_result *x, bool have_failure,
                             enum tls_error_kind kind, const char *msg,
                             enum tls_error_kind *out_kind, char *why, size_t cap)
{
    const struct tls_capture *rc = x->renego;
    char text[200];
    *out_kind = TLS_ERROR_PROTOCOL;
    if (rc && rc->has_alert && rc->alert_level == 2) {
        *out_kind = TLS_ERROR_TLS_ALERT;
        snprintf(why, cap, "the server ended the renegotiation with alert %s (%u)",
                 alert_name(rc->alert_desc), rc->alert_desc);
    } else if (x->renego_alert && x->renego_alert_level == 2) {
        *out_kind = TLS_ERROR_TLS_ALERT;
        snprintf(why, cap, "the server sent alert %s (%u) %s", alert_name(x->renego_alert_desc),
                 x->renego_alert_desc,
                 rc        ? "at the end of the renegotiation (no client certificate was sent)"
                 : x->sent ? "after the request"
                           : "after the handshake");
    } else if (have_failure) {
        *out_kind = kind;
        snprintf(why, cap, "%s", msg);
    } else if (x->over_limit) {
        *out_kind = TLS_ERROR_CAPTURE_LIMIT;
        snprintf(why, cap,
                 "more than --capture-limit bytes came %s before mbedTLS could read "
                 "them",
                 x->handshake_done ? "after the request" : "during the handshake");
    } else if (x->ssl_err) {
        tls_mbedtls_strerror(x->ssl_err, text, sizeof(text));
        if (x->peer_alert)
            *out_kind = TLS_ERROR_TLS_ALERT;
        snprintf(why, cap, "%s: %s",
                 !x->handshake_done ? "the handshake did not complete, no request was sent"
                 : rc && rc->status == TLS_CAPTURE_DONE
                     ? "mbedTLS could not complete the renegotiation"
                 : rc ? "mbedTLS could not follow the renegotiation"
                      : "the connection failed after the request",
                 text);
    } else if (x->closed) {
        *out_kind = TLS_ERROR_RESET;
        snprintf(why, cap, "the server closed the connection %s without a response",
                 x->sent ? "after the request" : "before the request");
    } else if (x->response_len) {
        snprintf(why, cap, "not an HTTP response (%zu bytes)", x->response_len);
    } else {
        snprintf(why, cap, "no response");
    }
}

/* --request: the HTTP result on the handshake observation, and the renegotiation's own
 * observation when the server started one. */
static void observe_exchange(struct probe_conn *c, bool have_failure, enum tls_error_kind kind,
                             int uv_err, const char *msg)
{
    struct probe_target *t = c->target;
    struct tls_observation *o = &t->obs[c->vi];
    if (c->sess == NULL)
        return;
    struct tls_exchange_result x;
    tls_session_exchange(c->sess, &x);
    /* a handshake that failed before completing has no exchange to report */
    if (o->outcome == TLS_OUTCOME_ERROR && !x.handshake_done)
        return;
    if (c->handshake_ms)
        o->elapsed_ms = c->handshake_ms;
    struct tls_http_result *h = &o->http;
    h->path = c->scan->opts->request_path;
    h->sent = x.sent;
    struct tls_http_head head = {0};
    if (x.response_len && tls_http_head_parse(&head, x.response, x.response_len) == 0 &&
        head.have_status) {
        h->status = head.status;
        h->status_line = received_text(&o->arena, head.line, head.line_len);
        if (head.server)
            h->server = received_text(&o->arena, head.server, head.server_len);
        h->head_cut = !head.complete && x.response_len >= TLS_HTTP_HEAD_MAX;
    } else {
        char why[384];
        h->failed = true;
        exchange_failure(&x, have_failure, kind, msg, &h->error_kind, why, sizeof(why));
        if (x.response_len && !head.have_status) {
            const char *began =
                received_text(&o->arena, x.response, x.response_len < 40 ? x.response_len : 40);
            size_t l = strlen(why);
            snprintf(why + l, sizeof(why) - l, "; it began \"%s\"", began ? began : "");
        }
        h->error = tls_arena_strdup(&o->arena, why);
    }
    if (!x.renegotiation)
        return;
    h->renegotiation = true;
    struct tls_observation *r = &t->obs[t->n_variants + c->vi];
    r->address = o->address;
    r->sni = o->sni;
    r->tls_max = o->tls_max;
    r->phase = "renegotiation";
    t->variants[c->vi].renegotiated = true;
    if (x.renego) {
        observe_capture(c, r, x.renego, have_failure, kind, uv_err, msg);
        return;
    }
    r->elapsed_ms = (uv_hrtime() - c->start_ns) / 1000000;
    char why[384];
    enum tls_error_kind k;
    exchange_failure(&x, have_failure, kind, msg, &k, why, sizeof(why));
    if (x.renego_err == TLS_E_UNSUPPORTED || x.renego_err == TLS_E_DECRYPT)
        k = TLS_ERROR_PROTOCOL;
    else if (x.renego_err == TLS_E_LIMIT)
        k = TLS_ERROR_CAPTURE_LIMIT;
    tls_observation_set_error(r, k, x.renego_err, uv_err,
                              "the server renegotiated, but its second ServerHello was not read: "
                              "%s",
                              x.renego_err ? tls_err_str(x.renego_err) : why);
}

/* The variant's observations, from the session or from our own failure. */
static void conn_observe(struct probe_conn *c, bool have_failure, enum tls_error_kind kind,
                         int uv_err, const char *msg)
{
    const struct tls_capture *cap = c->sess ? tls_session_capture(c->sess) : NULL;
    /* a failure after the handshake flight belongs to the exchange, not to the handshake */
    bool during_exchange = c->stage == CONN_EXCHANGE;
    observe_capture(c, &c->target->obs[c->vi], cap, have_failure && !during_exchange, kind, uv_err,
                    msg);
    if (c->scan->opts->request_path)
        observe_exchange(c, have_failure, kind, uv_err, msg);
}

/* End the probe. have_failure: kind/fmt describe a failure of ours (deadline, socket error);
 * may_retry: that failure is transient and the variant has attempts left. */
static void conn_finish(struct probe_conn *c, bool have_failure, enum tls_error_kind kind,
                        int uv_err, bool may_retry, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void conn_finish(struct probe_conn *c, bool have_failure, enum tls_error_kind kind,
                        int uv_err, bool may_retry, const char *fmt, ...)
{
    if (c->stage == CONN_CLOSING)
        return;
    struct probe_scan *s = c->scan;
    const struct probe_variant *v = &c->target->variants[c->vi];
    c->retry = have_failure && may_retry && c->received == 0 && !s->stopping &&
               v->attempts <= s->opts->retries;
    if (!c->retry) {
        char msg[384] = "";
        if (have_failure) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg, sizeof(msg), fmt, ap);
            va_end(ap);
        }
        conn_observe(c, have_failure, kind, uv_err, msg);
        if (v->attempts > 1 && c->target->obs[c->vi].outcome == TLS_OUTCOME_ERROR) {
            const char *m = c->target->obs[c->vi].error_message;
            c->target->obs[c->vi].error_message = tls_arena_printf(
                &c->target->obs[c->vi].arena, "%s (after %u attempts)", m ? m : "", v->attempts);
        }
    }
    c->stage = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->timer, conn_close_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

void probe_conn_interrupt(struct probe_conn *c)
{
    conn_finish(c, true, TLS_ERROR_INTERRUPTED, 0, false,
                "the scan was interrupted (signal %d) after %zu bytes", c->scan->stopping,
                c->received);
}

static void conn_flush(struct probe_conn *c);

static void conn_write_cb(uv_write_t *req, int status)
{
    struct probe_conn *c = req->data;
    c->writing = false;
    free(c->wbuf);
    c->wbuf = NULL;
    if (c->stage == CONN_CLOSING)
        return;
    if (status < 0) {
        conn_finish(c, true, kind_of_uv(status), status,
                    status == UV_ECONNRESET && c->received == 0, "write failed: %s",
                    uv_strerror(status));
        return;
    }
    conn_flush(c);
}

static void conn_flush(struct probe_conn *c)
{
    size_t len;
    const uint8_t *p = tls_session_output(c->sess, &len);
    if (c->writing || len == 0)
        return;
    c->wbuf = malloc(len);
    if (c->wbuf == NULL) {
        conn_finish(c, true, TLS_ERROR_PROTOCOL, 0, false, "out of memory");
        return;
    }
    memcpy(c->wbuf, p, len);
    tls_session_output_consume(c->sess, len);
    uv_buf_t b = uv_buf_init((char *)c->wbuf, (unsigned)len);
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
    if (rc) {
        free(c->wbuf);
        c->wbuf = NULL;
        conn_finish(c, true, kind_of_uv(rc), rc, rc == UV_ECONNRESET && c->received == 0,
                    "write failed: %s", uv_strerror(rc));
        return;
    }
    c->writing = true;
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct probe_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->scan->readbuf, sizeof(c->scan->readbuf));
}

static void conn_timer_cb(uv_timer_t *timer);

static void conn_after_input(struct probe_conn *c)
{
    if (tls_session_finished(c->sess)) {
        conn_finish(c, false, TLS_ERROR_PROTOCOL, 0, false, "%s", "");
        return;
    }
    if (c->stage == CONN_HANDSHAKE && tls_session_status(c->sess) != TLS_CAPTURE_RUNNING) {
        /* --request: the flight is captured; the exchange has what is left of the total */
        struct probe_scan *s = c->scan;
        uint64_t used = uv_now(&s->loop) - c->start_ms;
        c->stage = CONN_EXCHANGE;
        c->received_at_exchange = c->received;
        c->handshake_ms = (uv_hrtime() - c->start_ns) / 1000000;
        uv_timer_start(&c->timer, conn_timer_cb,
                       s->opts->timeout_ms > used ? s->opts->timeout_ms - used : 1, 0);
    }
    conn_flush(c);
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_conn *c = stream->data;
    if (c->stage == CONN_CLOSING)
        return;
    if (nread > 0) {
        c->received += (size_t)nread;
        tls_session_input(c->sess, (const uint8_t *)buf->base, (size_t)nread);
        conn_after_input(c);
    } else if (nread == UV_EOF) {
        tls_session_eof(c->sess);
        conn_after_input(c);
    } else if (nread < 0) {
        /* a reset before the server said anything is transient (an overloaded listener) */
        bool transient_reset = nread == UV_ECONNRESET && c->received == 0;
        conn_finish(c, true, kind_of_uv((int)nread), (int)nread, transient_reset,
                    "connection %s after %zu bytes%s",
                    nread == UV_ECONNRESET ? "reset by the server" : uv_strerror((int)nread),
                    c->received, c->stage == CONN_EXCHANGE ? " (after the handshake flight)" : "");
    }
}

static void conn_connect_cb(uv_connect_t *req, int status)
{
    struct probe_conn *c = req->data;
    struct probe_scan *s = c->scan;
    if (c->stage == CONN_CLOSING)
        return;
    if (status < 0) {
        conn_finish(c, true, kind_of_uv(status), status, transient(status), "connect failed: %s",
                    uv_strerror(status));
        return;
    }
    c->stage = CONN_HANDSHAKE;
    /* The handshake deadline counts from here, within what is left of the total. */
    uint64_t used = uv_now(&s->loop) - c->start_ms;
    uint64_t left = s->opts->timeout_ms > used ? s->opts->timeout_ms - used : 1;
    uv_timer_start(&c->timer, conn_timer_cb, min_u64(s->opts->handshake_timeout_ms, left), 0);

    /* mbedTLS state only for connected probes: queued and connecting ones hold none. */
    const struct probe_variant *v = &c->target->variants[c->vi];
    struct tls_session_opts so = {
        .version = v->version,
        .sni = v->sni,
        .capture_limit = s->opts->capture_limit,
    };
    char request[PROBE_REQUEST_MAX];
    if (s->opts->request_path) {
        int n = probe_request_format(request, sizeof(request), s->opts->request_path,
                                     v->sni ? v->sni : c->target->item.spec.host,
                                     c->target->item.spec.port);
        if (n < 0) {
            conn_finish(c, true, TLS_ERROR_LOCAL, 0, false, "the request does not fit in %d bytes",
                        PROBE_REQUEST_MAX);
            return;
        }
        so.request = (const uint8_t *)request;
        so.request_len = (size_t)n;
    }
    int rc = tls_session_new(&c->sess, s->tls, &so);
    if (rc == 0)
        rc = tls_session_start(c->sess);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
    if (rc) {
        conn_finish(c, true, TLS_ERROR_PROTOCOL, 0, false, "cannot start the handshake: %s",
                    rc > TLS_E_FIRST_ && rc < TLS_E_LAST_ ? tls_err_str(rc) : uv_strerror(rc));
        return;
    }
    conn_flush(c);
}

static void conn_timer_cb(uv_timer_t *timer)
{
    struct probe_conn *c = timer->data;
    const struct probe_opts *o = c->scan->opts;
    uint64_t elapsed = uv_now(&c->scan->loop) - c->start_ms;
    if (c->stage == CONN_CONNECTING) {
        conn_finish(c, true, TLS_ERROR_TIMEOUT, 0, true, "no connection within %llu ms",
                    (unsigned long long)elapsed);
        return;
    }
    const struct tls_capture *cap = tls_session_capture(c->sess);
    if (c->stage == CONN_EXCHANGE) {
        conn_finish(c, true, TLS_ERROR_TIMEOUT, 0, false,
                    "no response within the %llu ms total deadline: %zu bytes after the handshake "
                    "flight",
                    (unsigned long long)elapsed, c->received - c->received_at_exchange);
        return;
    }
    conn_finish(c, true, TLS_ERROR_TIMEOUT, 0, false,
                "handshake incomplete after %llu ms (%s deadline): %zu bytes received%s",
                (unsigned long long)elapsed, elapsed >= o->timeout_ms ? "total" : "handshake",
                c->received,
                c->received == 0   ? ", the server never answered"
                : !cap->have_hello ? ", no ServerHello yet"
                                   : ", the flight never ended");
}

int probe_conn_start(struct probe_scan *s, struct probe_target *t, size_t vi)
{
    struct probe_variant *v = &t->variants[vi];
    struct tls_observation *o = &t->obs[vi];
    o->address = t->addr_text[v->addr];
    o->sni = v->sni;
    o->tls_max = v->version;

    struct probe_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    c->scan = s;
    c->target = t;
    c->vi = vi;
    c->start_ms = uv_now(&s->loop);
    c->start_ns = uv_hrtime();
    int rc = uv_tcp_init(&s->loop, &c->tcp);
    if (rc) {
        free(c);
        return TLS_E_NOMEM;
    }
    uv_timer_init(&s->loop, &c->timer);
    c->tcp.data = c->timer.data = c->connect_req.data = c;
    c->open_handles = 2;
    tls_list_insert_tail(&s->conns, &c->node);
    v->state = VARIANT_RUNNING;
    v->attempts++;
    probe_scan_addr_add(s, &t->addrs[v->addr], +1);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, conn_timer_cb,
                   min_u64(s->opts->connect_timeout_ms, s->opts->timeout_ms), 0);
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&t->addrs[v->addr],
                        conn_connect_cb);
    if (rc)
        conn_finish(c, true, kind_of_uv(rc), rc, transient(rc), "connect failed: %s",
                    uv_strerror(rc));
    return 0;
}
