/* The scheduler: one libuv loop, one thread. Targets are opened in input order while probes are
 * fewer than the concurrency cap; each variant (address x SNI x version) is one TCP connection
 * with its own deadline. A target's record is emitted as soon as its last variant ends.
 *
 * Connection states:
 *   CONNECTING --connect ok--> HANDSHAKE --capture done/failed, EOF, error--> CLOSING
 *   CONNECTING --error | deadline--> CLOSING;  HANDSHAKE --deadline--> CLOSING
 *   CLOSING --last close callback--> freed (the observation is final before CLOSING)
 * Invariant: in CLOSING no callback touches the session; the conn is freed only in the last
 * close callback; bytes given to uv_write stay untouched until its callback. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "probe.h"
#include "tls/error.h"
#include "tls/session.h"

struct scan;

struct variant {
    size_t addr;     /* index into target->addrs */
    const char *sni; /* NULL: no SNI */
    uint16_t version;
};

struct target {
    struct target *next; /* in the list of open targets */
    struct scan *scan;
    const struct probe_target_spec *spec;
    uv_getaddrinfo_t gai;
    bool resolved;
    struct sockaddr_storage *addrs;
    char (*addr_text)[INET6_ADDRSTRLEN];
    size_t n_addrs;
    struct variant *variants;
    struct tls_observation *obs;
    struct tls_observation **obs_ptrs;
    size_t n_variants, next_variant, done_variants;
};

enum conn_stage {
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_CLOSING,
};

struct conn {
    struct scan *scan;
    struct target *target;
    size_t vi;
    enum conn_stage stage;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    int open_handles;
    bool writing;
    uint8_t *wbuf; /* owned by the pending write */
    size_t wlen;
    uint64_t start_ms;
    size_t received;
    struct tls_session *sess;
};

struct scan {
    uv_loop_t loop;
    const struct probe_opts *opts;
    struct tls_client *tls;
    const struct probe_target_spec *specs;
    size_t n_specs, next_spec;
    struct target *open_head, *open_tail;
    size_t active;
    int fatal; /* a failure of the scan itself (emit failed, out of memory) */
    struct probe_stats *stats;
    char readbuf[64 * 1024]; /* one read at a time: libuv calls read_cb synchronously */
};

static void pump(struct scan *s);

/* ---- targets ---------------------------------------------------------------------------- */

static void target_free(struct target *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_variants; i++)
        tls_observation_free(&t->obs[i]);
    free(t->addrs);
    free(t->addr_text);
    free(t->variants);
    free(t->obs);
    free(t->obs_ptrs);
    free(t);
}

static void target_unlink(struct scan *s, struct target *t)
{
    struct target **pp = &s->open_head;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    s->open_tail = NULL;
    for (struct target *x = s->open_head; x; x = x->next)
        s->open_tail = x;
}

static void target_emit(struct target *t)
{
    struct scan *s = t->scan;
    struct report_target r = {
        .target = t->spec->spec,
        .host = t->spec->host,
        .port = t->spec->port,
        .obs = t->obs_ptrs,
        .n_obs = t->n_variants,
    };
    s->stats->targets++;
    for (size_t i = 0; i < t->n_variants; i++) {
        s->stats->probes++;
        switch (t->obs[i].outcome) {
        case TLS_OUTCOME_CERTIFICATE_REQUEST:
            s->stats->with_request++;
            break;
        case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
            s->stats->without_request++;
            break;
        case TLS_OUTCOME_ERROR:
            s->stats->errors++;
            break;
        }
    }
    int rc = s->opts->emit(s->opts->emit_ctx, &r);
    if (rc && !s->fatal)
        s->fatal = rc;
    target_unlink(s, t);
    target_free(t);
}

static void variant_done(struct target *t)
{
    if (++t->done_variants == t->n_variants)
        target_emit(t);
}

/* Lay out the variants once the addresses are known; with none, one error observation. */
static int target_plan(struct target *t)
{
    const struct probe_opts *o = t->scan->opts;
    const char *snis[3];
    size_t n_sni = 0;
    if (t->spec->family == AF_UNSPEC)
        snis[n_sni++] = t->spec->host;
    snis[n_sni++] = NULL;
    if (o->extra_sni && !(t->spec->family == AF_UNSPEC && strcmp(o->extra_sni, t->spec->host) == 0))
        snis[n_sni++] = o->extra_sni;
    size_t n = t->n_addrs ? t->n_addrs * n_sni * o->n_versions : 1;
    t->variants = calloc(n, sizeof(*t->variants));
    t->obs = calloc(n, sizeof(*t->obs));
    t->obs_ptrs = calloc(n, sizeof(*t->obs_ptrs));
    if (!t->variants || !t->obs || !t->obs_ptrs)
        return TLS_E_NOMEM;
    size_t k = 0;
    for (size_t a = 0; a < t->n_addrs; a++)
        for (size_t i = 0; i < n_sni; i++)
            for (size_t v = 0; v < o->n_versions; v++) {
                t->variants[k].addr = a;
                t->variants[k].sni = snis[i];
                t->variants[k].version = o->versions[v];
                k++;
            }
    t->n_variants = n;
    for (size_t i = 0; i < n; i++) {
        tls_observation_init(&t->obs[i]);
        t->obs_ptrs[i] = &t->obs[i];
    }
    return 0;
}

static int target_add_addr(struct target *t, const struct sockaddr *sa, uint16_t port)
{
    size_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, sa, len);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    for (size_t i = 0; i < t->n_addrs; i++)
        if (memcmp(&t->addrs[i], &ss, sizeof(ss)) == 0)
            return 0; /* getaddrinfo repeats addresses per socket type */
    struct sockaddr_storage *na = realloc(t->addrs, (t->n_addrs + 1) * sizeof(*na));
    if (na == NULL)
        return TLS_E_NOMEM;
    t->addrs = na;
    char(*nt)[INET6_ADDRSTRLEN] = realloc(t->addr_text, (t->n_addrs + 1) * sizeof(*nt));
    if (nt == NULL)
        return TLS_E_NOMEM;
    t->addr_text = nt;
    t->addrs[t->n_addrs] = ss;
    const void *bin = ss.ss_family == AF_INET6
                          ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                          : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family, bin, t->addr_text[t->n_addrs], INET6_ADDRSTRLEN);
    t->n_addrs++;
    return 0;
}

static void target_resolved(struct target *t, int uv_err)
{
    struct scan *s = t->scan;
    int rc = target_plan(t);
    if (rc) {
        s->fatal = rc;
        return;
    }
    t->resolved = true;
    if (t->n_addrs == 0) {
        struct tls_observation *o = &t->obs[0];
        o->tls_max = s->opts->versions[s->opts->n_versions - 1];
        tls_observation_set_error(o, TLS_ERROR_DNS, 0, uv_err, "cannot resolve %s: %s",
                                  t->spec->host, uv_err ? uv_strerror(uv_err) : "no address");
        t->next_variant = t->n_variants;
        variant_done(t);
    }
}

static void target_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct target *t = req->data;
    struct scan *s = t->scan; /* t may be freed once resolved */
    int rc = 0;
    for (struct addrinfo *ai = res; status == 0 && ai && rc == 0; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            rc = target_add_addr(t, ai->ai_addr, t->spec->port);
    uv_freeaddrinfo(res);
    if (rc)
        s->fatal = rc;
    else
        target_resolved(t, status);
    pump(s);
}

static int target_open(struct scan *s, const struct probe_target_spec *spec)
{
    struct target *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return TLS_E_NOMEM;
    t->scan = s;
    t->spec = spec;
    if (s->open_tail)
        s->open_tail->next = t;
    else
        s->open_head = t;
    s->open_tail = t;

    /* --resolve overrides DNS for its host and port. */
    for (size_t i = 0; i < s->opts->n_resolves; i++) {
        const struct probe_resolve *r = &s->opts->resolves[i];
        if (r->port == spec->port && strcmp(r->host, spec->host) == 0) {
            int rc = target_add_addr(t, (const struct sockaddr *)&r->addr, spec->port);
            if (rc)
                return rc;
        }
    }
    if (t->n_addrs == 0 && spec->family != AF_UNSPEC) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        int rc = spec->family == AF_INET
                     ? uv_ip4_addr(spec->host, spec->port, (struct sockaddr_in *)&ss)
                     : uv_ip6_addr(spec->host, spec->port, (struct sockaddr_in6 *)&ss);
        if (rc == 0 && (rc = target_add_addr(t, (struct sockaddr *)&ss, spec->port)))
            return rc;
    }
    if (t->n_addrs || spec->family != AF_UNSPEC) {
        target_resolved(t, 0);
        return 0;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    t->gai.data = t;
    int rc = uv_getaddrinfo(&s->loop, &t->gai, target_gai_cb, spec->host, NULL, &hints);
    if (rc)
        target_resolved(t, rc);
    return 0;
}

/* ---- connections ------------------------------------------------------------------------ */

static void conn_close_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct scan *s = c->scan;
    struct target *t = c->target;
    tls_session_free(c->sess);
    free(c->wbuf);
    free(c);
    s->active--;
    variant_done(t);
    pump(s);
}

/* Make the observation final and close. kind/fmt describe a failure of ours (deadline, socket
 * error) that applies only when the capture itself has not ended. */
static void conn_finish(struct conn *c, int have_failure, enum tls_error_kind kind, int uv_err,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conn_finish(struct conn *c, int have_failure, enum tls_error_kind kind, int uv_err,
                        const char *fmt, ...)
{
    if (c->stage == CONN_CLOSING)
        return;
    struct tls_observation *o = &c->target->obs[c->vi];
    o->elapsed_ms = uv_now(&c->scan->loop) - c->start_ms;
    const struct tls_capture *cap = c->sess ? tls_session_capture(c->sess) : NULL;
    int rc = cap ? tls_observation_from_capture(o, cap) : 0;
    if (rc)
        tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, rc, 0,
                                  "out of memory for this observation (limit %zu bytes)",
                                  (size_t)TLS_OBSERVATION_ARENA_CAP);
    bool captured = cap && (cap->status == TLS_CAPTURE_DONE || cap->has_certreq);
    if (!rc && !captured) {
        char msg[384];
        if (have_failure) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg, sizeof(msg), fmt, ap);
            va_end(ap);
            tls_observation_set_error(o, kind, 0, uv_err, "%s", msg);
        } else if (cap && cap->err == TLS_E_MBEDTLS) {
            int raw = tls_session_ssl_error(c->sess);
            tls_mbedtls_strerror(raw, msg, sizeof(msg));
            tls_observation_set_error(o, TLS_ERROR_PROTOCOL, TLS_E_MBEDTLS, raw,
                                      "handshake failed before the capture was complete: %s", msg);
        } else if (cap && cap->err == TLS_E_TRUNCATED) {
            tls_observation_set_error(
                o, TLS_ERROR_RESET, TLS_E_TRUNCATED, 0,
                "the server closed the connection after %zu bytes%s", c->received,
                cap->have_hello ? ", before its flight was complete" : ", before a ServerHello");
        } else if (cap && cap->err == TLS_E_LIMIT) {
            tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, TLS_E_LIMIT, 0,
                                      "the server sent more than %zu bytes before its flight "
                                      "was complete (--capture-limit)",
                                      c->scan->opts->capture_limit);
        } else if (cap && cap->err && cap->err != TLS_E_ALERT) {
            tls_observation_set_error(o, TLS_ERROR_PROTOCOL, cap->err, 0, "%s after %zu bytes%s",
                                      tls_err_str(cap->err), c->received,
                                      c->received && !cap->have_hello ? " (not TLS?)" : "");
        }
    }
    c->stage = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->timer, conn_close_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
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
    default:
        return TLS_ERROR_REFUSED; /* unreachable network or host: no connection was made */
    }
}

static void conn_flush(struct conn *c);

static void conn_write_cb(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    c->writing = false;
    free(c->wbuf);
    c->wbuf = NULL;
    if (c->stage == CONN_CLOSING)
        return;
    if (status < 0) {
        conn_finish(c, 1, kind_of_uv(status), status, "write failed: %s", uv_strerror(status));
        return;
    }
    conn_flush(c);
}

static void conn_flush(struct conn *c)
{
    size_t len;
    const uint8_t *p = tls_session_output(c->sess, &len);
    if (c->writing || len == 0)
        return;
    c->wbuf = malloc(len);
    if (c->wbuf == NULL) {
        conn_finish(c, 1, TLS_ERROR_PROTOCOL, 0, "out of memory");
        return;
    }
    memcpy(c->wbuf, p, len);
    c->wlen = len;
    tls_session_output_consume(c->sess, len);
    uv_buf_t b = uv_buf_init((char *)c->wbuf, (unsigned)len);
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
    if (rc) {
        free(c->wbuf);
        c->wbuf = NULL;
        conn_finish(c, 1, kind_of_uv(rc), rc, "write failed: %s", uv_strerror(rc));
        return;
    }
    c->writing = true;
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->scan->readbuf, sizeof(c->scan->readbuf));
}

static void conn_after_input(struct conn *c)
{
    switch (tls_session_status(c->sess)) {
    case TLS_CAPTURE_RUNNING:
        conn_flush(c);
        break;
    case TLS_CAPTURE_DONE:
    case TLS_CAPTURE_FAILED:
        conn_finish(c, 0, TLS_ERROR_PROTOCOL, 0, "%s", "");
        break;
    }
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;
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
        conn_finish(c, 1, kind_of_uv((int)nread), (int)nread, "connection %s after %zu bytes",
                    nread == UV_ECONNRESET ? "reset by the server" : uv_strerror((int)nread),
                    c->received);
    }
}

static void conn_connect_cb(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->stage == CONN_CLOSING)
        return;
    if (status < 0) {
        conn_finish(c, 1, kind_of_uv(status), status, "connect failed: %s", uv_strerror(status));
        return;
    }
    c->stage = CONN_HANDSHAKE;
    int rc = tls_session_start(c->sess);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
    if (rc) {
        conn_finish(c, 1, TLS_ERROR_PROTOCOL, 0, "cannot start the handshake: %s",
                    rc < -900 ? tls_err_str(rc) : uv_strerror(rc));
        return;
    }
    conn_flush(c);
}

static void conn_timer_cb(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    const struct tls_capture *cap = tls_session_capture(c->sess);
    if (c->stage == CONN_CONNECTING)
        conn_finish(c, 1, TLS_ERROR_TIMEOUT, 0, "no connection within %llu ms",
                    (unsigned long long)c->scan->opts->timeout_ms);
    else
        conn_finish(c, 1, TLS_ERROR_TIMEOUT, 0,
                    "handshake incomplete after %llu ms: %zu bytes received%s",
                    (unsigned long long)c->scan->opts->timeout_ms, c->received,
                    c->received == 0   ? ", the server never answered"
                    : !cap->have_hello ? ", no ServerHello yet"
                                       : ", the flight never ended");
}

static int conn_start(struct scan *s, struct target *t, size_t vi)
{
    const struct variant *v = &t->variants[vi];
    struct tls_observation *o = &t->obs[vi];
    o->address = t->addr_text[v->addr];
    o->sni = v->sni;
    o->tls_max = v->version;

    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    c->scan = s;
    c->target = t;
    c->vi = vi;
    c->start_ms = uv_now(&s->loop);
    struct tls_session_opts so = {
        .version = v->version,
        .sni = v->sni,
        .capture_limit = s->opts->capture_limit,
    };
    int rc = tls_session_new(&c->sess, s->tls, &so);
    if (rc) {
        free(c);
        return rc;
    }
    uv_tcp_init(&s->loop, &c->tcp);
    uv_timer_init(&s->loop, &c->timer);
    c->tcp.data = c->timer.data = c->connect_req.data = c;
    c->open_handles = 2;
    s->active++;
    t->next_variant++;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, conn_timer_cb, s->opts->timeout_ms, 0);
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&t->addrs[v->addr],
                        conn_connect_cb);
    if (rc)
        conn_finish(c, 1, kind_of_uv(rc), rc, "connect failed: %s", uv_strerror(rc));
    return 0;
}

/* ---- scheduling ------------------------------------------------------------------------- */

static void pump(struct scan *s)
{
    while (!s->fatal && s->active < s->opts->concurrency) {
        struct target *t = s->open_head;
        while (t && (!t->resolved || t->next_variant == t->n_variants))
            t = t->next;
        if (t) {
            int rc = conn_start(s, t, t->next_variant);
            if (rc)
                s->fatal = rc;
            continue;
        }
        /* Open more targets while their probes would not fill the cap anyway. */
        size_t open = 0;
        for (struct target *x = s->open_head; x; x = x->next)
            open++;
        if (s->next_spec == s->n_specs || open >= s->opts->concurrency)
            break;
        int rc = target_open(s, &s->specs[s->next_spec++]);
        if (rc)
            s->fatal = rc;
    }
}

int probe_scan_run(const struct probe_opts *opts, const struct probe_target_spec *targets,
                   size_t n_targets, struct probe_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    struct scan *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TLS_E_NOMEM;
    s->opts = opts;
    s->specs = targets;
    s->n_specs = n_targets;
    s->stats = stats;
    int rc = uv_loop_init(&s->loop);
    if (rc) {
        free(s);
        return TLS_E_IO;
    }
    rc = tls_client_new(&s->tls);
    if (rc == 0) {
        pump(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        rc = s->fatal;
    }
    while (s->open_head) {
        struct target *t = s->open_head;
        s->open_head = t->next;
        target_free(t);
    }
    tls_client_free(s->tls);
    uv_loop_close(&s->loop);
    free(s);
    return rc;
}
