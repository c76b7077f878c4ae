/* caprobe exporter (docs/exporter.md): Prometheus's multi-target exporter pattern on one libuv
 * loop. GET /probe?target=T&module=M scans T with module M's options, as a scan of its own on
 * this loop (probe_scan_start), and answers the target's metrics (report/metrics.c); /metrics
 * tells the exporter's own health. Never probes a target its configuration does not allow, and
 * reads every request as hostile: a bounded head, a read deadline, one request per connection.
 *
 * A connection:  READING --head--> (answered at once) ---------------------> WRITING
 *                    |                  \--/probe--> QUEUED --slot--> PROBING --done--> WRITING
 *                    |                                  \--deadline: 503--------------> WRITING
 *                    \--EOF, error, read deadline--> CLOSING
 *                WRITING --written--> DRAINING (FIN sent; what the peer still sends is read and
 *                dropped, so that closing does not reset the answer away) --EOF, 2 s--> CLOSING
 * Invariants: READING and DRAINING read; QUEUED is in the queue; PROBING owns a scan, which alone
 * ends it (its deadline stops the scan, never the connection); a connection is freed in the last
 * close callback of its two handles. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "exporter.h"
#include "report/jsonw.h"
#include "report/writer.h"
#include "resolver.h"
#include "tls/wire/addr.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/http.h"
#include "tls/wire/list.h"
#include "tls/wire/minmax.h"

#define REQUEST_MAX 8192      /* bytes of a request head */
#define READ_TIMEOUT_MS 10000 /* to receive the whole head */
#define LINGER_MS 2000        /* after the answer, for the peer's FIN */
#define TARGET_PARAM_MAX 1024 /* bytes of target= decoded */
#define PROBE_CONCURRENCY 64  /* probes in flight for one request (its variants) */
#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum conn_state {
    C_READING,
    C_QUEUED,
    C_PROBING,
    C_WRITING,
    C_DRAINING,
    C_CLOSING,
};

/* What /metrics counts requests by. */
enum endpoint {
    EP_PROBE,
    EP_METRICS,
    EP_OTHER,
    EP_COUNT,
};
static const char *const endpoint_names[EP_COUNT] = {"/probe", "/metrics", "other"};

static const int codes[] = {200, 400, 403, 404, 405, 408, 431, 500, 503};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

/* Why a request was not answered with metrics, or its probes were cut short. */
enum reason {
    R_BAD_REQUEST,  /* malformed request, query or target; unknown module */
    R_NOT_ALLOWED,  /* a target the module's allow list does not hold */
    R_TOO_LARGE,    /* a head over REQUEST_MAX, or too many fields */
    R_READ_TIMEOUT, /* the head did not come in READ_TIMEOUT_MS */
    R_BUSY,         /* no probe slot while enough time was left, or the queue full */
    R_CONNECTIONS,  /* over limits.connections */
    R_DEADLINE,     /* a scan stopped by the request's deadline */
    R_INTERNAL,     /* memory: the scan failed, or no room for an answer or a connection */
    R_COUNT,
};
static const char *const reason_names[R_COUNT] = {
    "bad_request", "not_allowed", "too_large", "read_timeout",
    "busy",        "connections", "deadline",  "internal",
};

struct exporter;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* read deadline, the request's deadline, then the linger */
    struct exporter *x;
    struct tls_list node;  /* in x->conns */
    struct tls_list qnode; /* in x->queue while QUEUED */
    enum conn_state state;
    unsigned handles; /* open: freed when the last closes */
    enum endpoint ep;
    char peer[64];
    /* the request */
    uint8_t buf[REQUEST_MAX];
    size_t len;
    const struct probe_exporter_module *m;
    char target[TARGET_PARAM_MAX + 1];
    const char *args[1];
    uint64_t deadline; /* loop time */
    uint64_t need;     /* time left a scan starts with at least (probe_exporter_min_left) */
    bool deadline_hit; /* the deadline stopped its scan */
    bool openmetrics;
    /* its scan */
    struct probe_opts opts;
    struct probe_input *in;
    struct probe_scan *scan;
    struct probe_stats st;
    struct report_metrics *metrics;
    FILE *mem;
    char *body;
    size_t body_len;
    /* the answer */
    uv_write_t wr;
    uv_shutdown_t sh;
    char *resp;
};

struct exporter {
    uv_loop_t loop;
    struct probe_exporter_config cfg;
    uv_tcp_t listener;
    uv_tcp_t reject; /* a connection there was no memory for, accepted to be closed */
    bool rejecting, reject_waiting;
    uv_signal_t sigint, sigterm;
    struct tls_list conns, queue;
    size_t n_conns, n_queued;
    unsigned probing;
    bool stopping, quiet;
    bool listening; /* the listener handle is initialised */
    int signal;
    uint64_t start_time; /* seconds since the Unix epoch */
    uint64_t requests[EP_COUNT][N_CODES];
    uint64_t errors[R_COUNT];
};

static char drain_buf[4096]; /* what a peer sends after its answer: read and dropped */

static void conn_close(struct conn *c);
static void queue_run(struct exporter *x);

/* Out of the queue, when in it. */
static void unqueue(struct conn *c)
{
    if (tls_list_linked(&c->qnode)) {
        tls_list_remove(&c->qnode);
        c->x->n_queued--;
    }
}
static void exporter_maybe_end(struct exporter *x);

/* ---- answers ---------------------------------------------------------------------------- */

static const char *reason_phrase(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    default:
        return "Service Unavailable";
    }
}

static void count_request(struct exporter *x, enum endpoint ep, int code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == code)
            x->requests[ep][i]++;
}

static void conn_drain_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(drain_buf, sizeof(drain_buf));
}

static void conn_timer_cb(uv_timer_t *t);

static void conn_drain_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        conn_close(s->data);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0 || c->state == C_CLOSING) {
        conn_close(c);
        return;
    }
    c->state = C_DRAINING;
    uv_timer_start(&c->timer, conn_timer_cb, LINGER_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_drain_alloc_cb, conn_drain_read_cb) != 0)
        conn_close(c);
}

static void conn_write_cb(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    free(c->resp);
    c->resp = NULL;
    if (status < 0 || c->state == C_CLOSING) {
        conn_close(c);
        return;
    }
    c->sh.data = c;
    if (uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, conn_shutdown_cb) != 0)
        conn_close(c);
}

/* The answer when there is no memory for the one meant: static bytes, nothing to free. */
static const char oom_answer[] = "HTTP/1.1 500 Internal Server Error\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Length: 14\r\n"
                                 "X-Content-Type-Options: nosniff\r\n"
                                 "Connection: close\r\n\r\n"
                                 "out of memory\n";

/* The whole answer, then the connection's end. extra: more header lines ("Name: v\r\n"). */
static void respond(struct conn *c, int code, const char *type, const char *extra, const char *body,
                    size_t len)
{
    struct exporter *x = c->x;
    uv_timer_stop(&c->timer);
    uv_read_stop((uv_stream_t *)&c->tcp);
    /* WRITING before anything can fail: conn_close leaves a PROBING connection open for its scan
     * to end, and the scan of one being answered has ended */
    c->state = C_WRITING;
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
                     code, reason_phrase(code), type, len, extra ? extra : "");
    uv_buf_t b;
    if (n < 0 || (size_t)n >= sizeof(head) || (c->resp = malloc((size_t)n + len)) == NULL) {
        code = 500;
        x->errors[R_INTERNAL]++;
        b = uv_buf_init((char *)oom_answer, sizeof(oom_answer) - 1);
    } else {
        memcpy(c->resp, head, (size_t)n);
        if (len)
            memcpy(c->resp + n, body, len);
        b = uv_buf_init(c->resp, (unsigned)((size_t)n + len));
    }
    count_request(x, c->ep, code);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb) != 0) {
        free(c->resp);
        c->resp = NULL;
        conn_close(c);
    }
}

/* A refusal: a line of plain text saying why, also told on stderr (the request's parts escaped,
 * never as sent). */
static void refuse(struct conn *c, int code, enum reason r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void refuse(struct conn *c, int code, enum reason r, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) - 1 ? (size_t)n : sizeof(msg) - 2;
    msg[len++] = '\n';
    c->x->errors[r]++;
    if (!c->x->quiet)
        fprintf(stderr, "caprobe exporter: %s: %d %.*s", c->peer, code, (int)len, msg);
    respond(c, code, "text/plain; charset=utf-8", code == 405 ? "Allow: GET\r\n" : NULL, msg, len);
}

/* ---- /metrics: the exporter's own --------------------------------------------------------- */

/* A family of one unlabelled gauge. */
static void one_gauge(struct report_buf *b, bool om, const char *name, const char *help, uint64_t v)
{
    report_metrics_family(b, om, name, REPORT_METRIC_GAUGE, NULL, help);
    report_metrics_sample_u64(b, name, REPORT_METRIC_GAUGE, NULL, NULL, v);
}

static void own_metrics(struct exporter *x, struct report_buf *b, bool om)
{
    enum report_metric_type gauge = REPORT_METRIC_GAUGE, counter = REPORT_METRIC_COUNTER;
    char labels[256];
    struct report_buf l = {0};
    report_buf_puts(&l, "version=\"");
    report_metrics_label_value(&l, CAPROBE_VERSION);
    report_buf_puts(&l, "\",mbedtls=\"");
    report_metrics_label_value(&l, CAPROBE_MBEDTLS_VERSION);
    report_buf_puts(&l, "\",c_ares=\"");
    report_metrics_label_value(&l, probe_resolver_version());
    report_buf_put(&l, "\"", 2);
    report_metrics_family(b, om, "caprobe_exporter_build_info", gauge, NULL,
                          "The exporter's version and its libraries' (value always 1).");
    report_metrics_sample_u64(b, "caprobe_exporter_build_info", gauge, l.failed ? NULL : l.p, NULL,
                              1);
    report_buf_free(&l);
    one_gauge(b, om, "caprobe_exporter_start_time_seconds",
              "When the exporter started, in seconds since the Unix epoch.", x->start_time);
    report_metrics_family(b, om, "caprobe_exporter_requests", counter, NULL,
                          "HTTP requests answered, by path and status code.");
    for (int e = 0; e < EP_COUNT; e++)
        for (size_t i = 0; i < N_CODES; i++)
            if (x->requests[e][i] || (e == EP_PROBE && codes[i] == 200)) {
                snprintf(labels, sizeof(labels), "path=\"%s\",code=\"%d\"", endpoint_names[e],
                         codes[i]);
                report_metrics_sample_u64(b, "caprobe_exporter_requests", counter, labels, NULL,
                                          x->requests[e][i]);
            }
    report_metrics_family(b, om, "caprobe_exporter_errors", counter, NULL,
                          "Requests refused or cut short, by reason.");
    for (int r = 0; r < R_COUNT; r++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reason_names[r]);
        report_metrics_sample_u64(b, "caprobe_exporter_errors", counter, labels, NULL,
                                  x->errors[r]);
    }
    one_gauge(b, om, "caprobe_exporter_probes_in_flight",
              "Probe requests scanning now (at most limits.concurrency).", x->probing);
    one_gauge(b, om, "caprobe_exporter_probes_queued",
              "Probe requests waiting for a slot (at most limits.queue).", x->n_queued);
    one_gauge(b, om, "caprobe_exporter_probes_limit",
              "limits.concurrency: probe requests that may scan at once.", x->cfg.concurrency);
    one_gauge(b, om, "caprobe_exporter_connections", "Open HTTP connections.", x->n_conns);
    if (om)
        report_buf_puts(b, "# EOF\n");
}

/* ---- /probe ------------------------------------------------------------------------------- */

/* One target's record: the module's rules, then its series. */
static int conn_emit(void *ctx, const struct report_target *t)
{
    struct conn *c = ctx;
    struct report_findings findings;
    report_findings_init(&findings);
    struct report_target with = *t;
    if (!t->input_error) {
        struct report_context rules = c->m->rules;
        probe_policy_apply(c->m->policy, t, &rules);
        if (report_rules_run(t, &rules, &findings) != 0) {
            report_findings_free(&findings);
            return TLS_E_NOMEM;
        }
        with.findings = &findings;
    }
    int rc = report_metrics_target(c->metrics, &with);
    report_findings_free(&findings);
    return rc;
}

static void conn_scan_done(void *ctx, int rc)
{
    struct conn *c = ctx;
    struct exporter *x = c->x;
    probe_scan_free(c->scan);
    c->scan = NULL;
    probe_input_free(c->in);
    c->in = NULL;
    x->probing--;
    int end_rc = report_metrics_end(c->metrics);
    c->metrics = NULL;
    if (fclose(c->mem) != 0 && end_rc == 0)
        end_rc = TLS_E_IO;
    c->mem = NULL;
    if (c->deadline_hit && !x->quiet) {
        char shown[TARGET_PARAM_MAX * 4 + 1];
        fprintf(stderr,
                "caprobe exporter: %s: target '%s' module '%s': the request's deadline passed "
                "while probing: probes still running end as timeouts saying \"the deadline "
                "passed\" (the scrape timeout less limits.timeout_margin, at most the module's "
                "timeout)\n",
                c->peer, probe_entry_shown(shown, sizeof(shown), c->target), c->m->name);
    }
    if (rc || end_rc)
        refuse(c, 500, R_INTERNAL, "the scan failed: %s", tls_err_str(rc ? rc : end_rc));
    else
        respond(c, 200, c->openmetrics ? OPENMETRICS_TYPE : PROMETHEUS_TYPE, NULL, c->body,
                c->body_len);
    free(c->body);
    c->body = NULL;
    queue_run(x);
    exporter_maybe_end(x);
}

/* The request's scan with the module's options, stopped at the request's deadline (its probes'
 * own deadlines are the module's: one cut to the time left would end first and blame the
 * server). A request with less time left than a probe needs is answered busy, not scanned: a
 * scan that cannot finish would report a healthy server as failed. */
static void probe_start(struct conn *c)
{
    struct exporter *x = c->x;
    const struct probe_config *cfg = &c->m->cfg;
    uint64_t now = uv_now(&x->loop);
    uint64_t left = c->deadline > now ? c->deadline - now : 0;
    if (left < c->need)
        return refuse(c, 503, R_BUSY,
                      "busy: a probe slot came free %" PRIu64 " ms before the request's deadline, "
                      "less than the %" PRIu64 " ms a probe needs (limits.min_probe_time); not "
                      "probed (limits.concurrency)",
                      left, c->need);
    c->state = C_PROBING;
    x->probing++;
    c->opts = cfg->scan;
    c->opts.concurrency = PROBE_CONCURRENCY;
    c->opts.per_address = 0;
    c->opts.rate = 0;
    c->opts.progress = false;
    c->opts.quiet = true;
    c->opts.emit = conn_emit;
    c->opts.emit_ctx = c;
    c->opts.hold = NULL;
    c->args[0] = c->target;
    struct probe_input_opts io = {
        .args = c->args,
        .n_args = 1,
        .ports = cfg->ports,
        .n_ports = 1, /* a target without a port: the module's first */
        .cidr_max = 1,
        .starttls = cfg->starttls,
        .starttls_ports = cfg->starttls_ports,
    };
    int rc = (c->mem = open_memstream(&c->body, &c->body_len)) ? 0 : TLS_E_NOMEM;
    if (rc == 0)
        rc = report_metrics_begin(&c->metrics, c->mem);
    if (rc == 0)
        rc = probe_input_new(&c->in, &io);
    if (rc == 0)
        rc = probe_scan_start(&c->scan, &x->loop, &c->opts, c->in, &c->st, conn_scan_done, c);
    if (rc == 0) {
        uv_timer_start(&c->timer, conn_timer_cb, left, 0); /* the deadline: stops the scan */
        return;
    }
    x->probing--;
    probe_input_free(c->in);
    c->in = NULL;
    report_metrics_end(c->metrics);
    c->metrics = NULL;
    if (c->mem)
        fclose(c->mem);
    c->mem = NULL;
    free(c->body);
    c->body = NULL;
    refuse(c, 500, R_INTERNAL, "the scan could not start: %s", tls_err_str(rc));
}

/* Start what waits while slots are free. */
static void queue_run(struct exporter *x)
{
    struct tls_list *q;
    while (x->probing < x->cfg.concurrency && (q = tls_list_first(&x->queue))) {
        struct conn *c = TLS_LIST_ENTRY(q, struct conn, qnode);
        unqueue(c);
        uv_timer_stop(&c->timer);
        probe_start(c);
    }
}

/* Why target=RANGE is refused, for any range (not the scan's "larger than --max-cidr"). */
static const char range_refused[] =
    "a CIDR range is many targets, and the exporter probes one target per request: give each "
    "address as a target of its own (Prometheus: one static_configs target each), or scan the "
    "range with caprobe itself";

/* A scrape timeout ("10", "9.5") as milliseconds, or 0 when it is not one. */
static uint64_t scrape_timeout_ms(const uint8_t *v, size_t n)
{
    char s[32];
    if (n == 0 || n >= sizeof(s))
        return 0;
    memcpy(s, v, n);
    s[n] = 0;
    char *end;
    double d = strtod(s, &end);
    if (*end || !(d > 0 && d <= 86400))
        return 0;
    return (uint64_t)(d * 1000);
}

static void probe_request(struct conn *c, const struct tls_http_request *req)
{
    struct exporter *x = c->x;
    const uint8_t *q = req->query, *end = req->query + req->query_len;
    char module[EXPORTER_MODULE_NAME_MAX + 1] = "";
    char shown[TARGET_PARAM_MAX * 4 + 1];
    bool have_target = false, have_module = false;
    struct tls_http_param p;
    while (tls_http_query_next(&q, end, &p) == 1) {
        /* only target and module are ours: others (Prometheus's params:) are passed over as
         * sent, whatever their length or bytes */
        char key[8];
        if (tls_http_form_decode(key, sizeof(key), p.key, p.key_len) != 0)
            continue;
        bool is_target = strcmp(key, "target") == 0, is_module = strcmp(key, "module") == 0;
        if (!is_target && !is_module)
            continue;
        if ((is_target && have_target) || (is_module && have_module))
            return refuse(c, 400, R_BAD_REQUEST, "'%s' is given twice", key);
        *(is_target ? &have_target : &have_module) = true;
        int rc = is_target ? tls_http_form_decode(c->target, sizeof(c->target), p.val, p.val_len)
                           : tls_http_form_decode(module, sizeof(module), p.val, p.val_len);
        if (rc == TLS_E_SPACE && is_target)
            return refuse(c, 400, R_BAD_REQUEST, "the target is longer than %d bytes",
                          TARGET_PARAM_MAX);
        if (rc == TLS_E_SPACE)
            return refuse(c, 400, R_BAD_REQUEST,
                          "unknown module (its name is longer than %d bytes)",
                          EXPORTER_MODULE_NAME_MAX);
        if (rc)
            return refuse(c, 400, R_BAD_REQUEST,
                          "malformed '%s': a %%-escape that is not %%XX, or a control character",
                          key);
    }
    if (!have_target || c->target[0] == 0)
        return refuse(c, 400, R_BAD_REQUEST, "no target: ask /probe?target=HOST:PORT&module=NAME");
    c->m = probe_exporter_module_find(&x->cfg, have_module ? module : "default");
    if (c->m == NULL)
        return refuse(c, 400, R_BAD_REQUEST, "unknown module '%s'%s",
                      tls_escape_term(shown, sizeof(shown), module, TLS_ESCAPE_ASCII),
                      have_module ? "" : " (none named and no module is called 'default')");
    struct probe_entry e;
    const char *why;
    probe_entry_shown(shown, sizeof(shown), c->target);
    /* no range is small enough (0 addresses at most): the parser tells this reason for any */
    if (probe_entry_parse(c->target, 0, range_refused, &e, &why) != 0)
        return refuse(c, 400, R_BAD_REQUEST, "target '%s': %s", shown, why);
    if (e.url_rest && !c->m->allow_paths)
        return refuse(c, 400, R_BAD_REQUEST,
                      "target '%s': a URL with a path, query or fragment chooses what is sent to "
                      "the server, and module '%s' takes none (its allow_paths is not true): "
                      "write SCHEME://HOST:PORT",
                      shown, c->m->name);
    if (e.one.family == AF_UNSPEC && tls_host_ends_in_number(e.one.host, strlen(e.one.host)))
        return refuse(c, 400, R_BAD_REQUEST,
                      "target '%s': a host that ends in a number is an IPv4 address to resolvers "
                      "(2130706433, 0x7f.1 and 127.1 are 127.0.0.1): write the address as four "
                      "decimal numbers",
                      shown);
    if (e.one.port == 0) {
        e.one.port = c->m->cfg.ports[0];
        probe_target_spec_name(&e.one);
    }
    if (!probe_exporter_allowed(c->m, &e.one))
        return refuse(c, 403, R_NOT_ALLOWED,
                      "target '%s' is not allowed by module '%s': the exporter probes only the "
                      "targets its configuration lists",
                      shown, c->m->name);
    /* the deadline: Prometheus's scrape timeout less the margin, at most the module's timeout */
    uint64_t budget = c->m->cfg.scan.timeout_ms;
    const uint8_t *v;
    size_t vn;
    if (tls_http_request_field(req, "X-Prometheus-Scrape-Timeout-Seconds", &v, &vn)) {
        uint64_t ms = scrape_timeout_ms(v, vn);
        if (ms == 0)
            return refuse(c, 400, R_BAD_REQUEST,
                          "X-Prometheus-Scrape-Timeout-Seconds is not a number of seconds");
        if (ms <= x->cfg.margin_ms)
            return refuse(c, 400, R_BAD_REQUEST,
                          "the scrape timeout (%" PRIu64 " ms) leaves nothing after the "
                          "exporter's margin (limits.timeout_margin, %" PRIu64 " ms)",
                          ms, x->cfg.margin_ms);
        budget = tls_min_u64(budget, ms - x->cfg.margin_ms);
    }
    c->need = probe_exporter_min_left(&x->cfg, c->m);
    if (budget < c->need) /* only a scrape timeout makes it so: need is within the module's */
        return refuse(c, 400, R_BAD_REQUEST,
                      "the scrape timeout leaves %" PRIu64 " ms after the exporter's margin "
                      "(limits.timeout_margin, %" PRIu64 " ms), less than the %" PRIu64 " ms a "
                      "probe needs (limits.min_probe_time)",
                      budget, x->cfg.margin_ms, c->need);
    c->deadline = uv_now(&x->loop) + budget;
    c->openmetrics = tls_http_request_accepts(req, "application/openmetrics-text");
    if (x->probing < x->cfg.concurrency)
        return probe_start(c);
    if (x->n_queued >= x->cfg.queue)
        return refuse(c, 503, R_BUSY,
                      "busy: %u probe requests scanning and %zu waiting (limits.concurrency, "
                      "limits.queue)",
                      x->probing, x->n_queued);
    c->state = C_QUEUED;
    tls_list_insert_tail(&x->queue, &c->qnode);
    x->n_queued++;
    /* 503 when no slot comes while a probe would still have the time it needs */
    uv_timer_start(&c->timer, conn_timer_cb, budget - c->need, 0);
}

/* ---- requests ----------------------------------------------------------------------------- */

static bool path_is(const struct tls_http_request *r, const char *path)
{
    return r->path_len == strlen(path) && memcmp(r->path, path, r->path_len) == 0;
}

static void handle_request(struct conn *c, const struct tls_http_request *req)
{
    struct exporter *x = c->x;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->ep = path_is(req, "/probe") ? EP_PROBE : path_is(req, "/metrics") ? EP_METRICS : EP_OTHER;
    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return refuse(c, 405, R_BAD_REQUEST, "only GET is served");
    if (x->stopping)
        return refuse(c, 503, R_BUSY, "shutting down");
    if (c->ep == EP_PROBE)
        return probe_request(c, req);
    if (c->ep == EP_METRICS) {
        struct report_buf b = {0};
        bool om = tls_http_request_accepts(req, "application/openmetrics-text");
        own_metrics(x, &b, om);
        if (b.failed)
            refuse(c, 500, R_INTERNAL, "out of memory");
        else
            respond(c, 200, om ? OPENMETRICS_TYPE : PROMETHEUS_TYPE, NULL, b.p, b.len);
        report_buf_free(&b);
        return;
    }
    if (path_is(req, "/")) {
        static const char index[] =
            "caprobe exporter\n"
            "/probe?target=HOST:PORT&module=NAME  the CA list metrics of one target\n"
            "/metrics                             the exporter's own metrics\n";
        return respond(c, 200, "text/plain; charset=utf-8", NULL, index, sizeof(index) - 1);
    }
    return refuse(c, 404, R_BAD_REQUEST, "not found: /probe and /metrics are served");
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (nread < 0) { /* the peer went away before its request was whole: nobody to answer */
        conn_close(c);
        return;
    }
    c->len += (size_t)nread;
    struct tls_http_request req;
    int rc = tls_http_request_parse(&req, c->buf, c->len);
    if (rc == TLS_E_LIMIT)
        return refuse(c, 431, R_TOO_LARGE, "more than %d header fields",
                      TLS_HTTP_REQUEST_FIELDS_MAX);
    if (rc)
        return refuse(c, 400, R_BAD_REQUEST, "not an HTTP/1.x request");
    if (req.complete)
        return handle_request(c, &req);
    if (c->len == sizeof(c->buf))
        return refuse(c, 431, R_TOO_LARGE, "the request head is larger than %d bytes", REQUEST_MAX);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_closed_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0)
        return;
    struct exporter *x = c->x;
    free(c->resp);
    free(c);
    exporter_maybe_end(x);
}

static void conn_close(struct conn *c)
{
    if (c->state == C_CLOSING)
        return;
    if (c->state == C_PROBING) { /* only its scan ends it: stop the scan, answer, then close */
        probe_scan_stop(c->scan);
        return;
    }
    struct exporter *x = c->x;
    unqueue(c);
    c->state = C_CLOSING;
    tls_list_remove(&c->node);
    x->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
    uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
}

static void conn_timer_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    switch (c->state) {
    case C_READING:
        refuse(c, 408, R_READ_TIMEOUT, "the request did not come whole within %.1f s",
               (double)c->x->cfg.read_timeout_ms / 1000);
        return;
    case C_QUEUED:
        unqueue(c);
        refuse(c, 503, R_BUSY,
               "busy: no probe slot came free while %" PRIu64 " ms, the time a probe needs "
               "(limits.min_probe_time), were left before the request's deadline; not probed "
               "(limits.concurrency)",
               c->need);
        return;
    case C_PROBING:
        c->x->errors[R_DEADLINE]++;
        c->deadline_hit = true;
        probe_scan_stop(c->scan); /* the probes still running end now; done answers */
        return;
    case C_WRITING:
    case C_DRAINING:
    case C_CLOSING:
        conn_close(c);
        return;
    }
}

static void exporter_connection_cb(uv_stream_t *server, int status);

static void exporter_reject_closed_cb(uv_handle_t *h)
{
    struct exporter *x = h->data;
    x->rejecting = false;
    if (x->reject_waiting && !x->stopping) { /* the connection libuv kept: memory again? */
        x->reject_waiting = false;
        exporter_connection_cb((uv_stream_t *)&x->listener, 0);
    }
}

/* A connection there is no memory for: accepted into the exporter's own handle and closed,
 * since libuv stops polling the listener until its connection is accepted. One at a time:
 * another meanwhile stays with libuv (the listener paused) until the first is closed. */
static void exporter_reject(struct exporter *x)
{
    if (x->rejecting) {
        x->reject_waiting = true;
        return;
    }
    x->errors[R_INTERNAL]++;
    x->rejecting = true;
    uv_tcp_init(&x->loop, &x->reject);
    x->reject.data = x;
    uv_accept((uv_stream_t *)&x->listener, (uv_stream_t *)&x->reject);
    uv_close((uv_handle_t *)&x->reject, exporter_reject_closed_cb);
}

static void exporter_connection_cb(uv_stream_t *server, int status)
{
    struct exporter *x = server->data;
    if (status < 0 || x->stopping)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        exporter_reject(x);
        return;
    }
    c->x = x;
    c->tcp.data = c->timer.data = c;
    tls_list_init(&c->qnode);
    uv_tcp_init(&x->loop, &c->tcp);
    uv_timer_init(&x->loop, &c->timer);
    c->handles = 2;
    c->ep = EP_OTHER;
    tls_list_insert_tail(&x->conns, &c->node);
    x->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char addr[48] = "?";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, addr, sizeof(addr));
        else
            uv_ip4_name((struct sockaddr_in *)&ss, addr, sizeof(addr));
    }
    snprintf(c->peer, sizeof(c->peer), "%s", addr);
    if (x->n_conns > x->cfg.connections)
        return refuse(c, 503, R_CONNECTIONS, "too many connections (limits.connections)");
    c->state = C_READING;
    uv_timer_start(&c->timer, conn_timer_cb, x->cfg.read_timeout_ms, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) != 0)
        conn_close(c);
}

/* ---- the exporter ------------------------------------------------------------------------- */

static void exporter_maybe_end(struct exporter *x)
{
    if (!x->stopping || x->n_conns || x->probing || uv_is_closing((uv_handle_t *)&x->sigterm))
        return;
    uv_close((uv_handle_t *)&x->sigint, NULL);
    uv_close((uv_handle_t *)&x->sigterm, NULL);
}

/* SIGTERM, SIGINT: no new connection; what waits is answered 503, scans stop at once and answer
 * with what they have; the loop ends with the last connection. */
static void exporter_signal_cb(uv_signal_t *h, int signum)
{
    struct exporter *x = h->data;
    if (x->stopping)
        return;
    x->stopping = true;
    x->signal = signum;
    if (!x->quiet)
        fprintf(stderr, "caprobe exporter: signal %d: stopping\n", signum);
    uv_close((uv_handle_t *)&x->listener, NULL);
    for (struct tls_list *q = tls_list_first(&x->conns), *next; q; q = next) {
        next = tls_list_next(&x->conns, q); /* c may be closed below */
        struct conn *c = TLS_LIST_ENTRY(q, struct conn, node);
        switch (c->state) {
        case C_READING:
            conn_close(c);
            break;
        case C_QUEUED:
            unqueue(c);
            refuse(c, 503, R_BUSY, "shutting down");
            break;
        case C_PROBING:
            probe_scan_stop(c->scan);
            break;
        case C_WRITING:
        case C_DRAINING:
        case C_CLOSING:
            break;
        }
    }
    exporter_maybe_end(x);
}

static const char usage[] =
    "Usage: caprobe exporter --listen ADDR:PORT --config FILE [-q]\n"
    "       caprobe exporter --check --config FILE\n"
    "Prometheus multi-target exporter: GET /probe?target=HOST:PORT&module=NAME probes the\n"
    "target with the options of the configuration's module NAME (default: 'default') and\n"
    "answers its metrics (docs/metrics.md); GET /metrics: the exporter's own. Only targets a\n"
    "module's 'allow' list holds are probed (others: 403); a pattern that names no target\n"
    "('*', '*:443', 0.0.0.0/0) is refused unless the module says 'allow_any: true'.\n"
    "Configuration: docs/exporter.md.\n"
    "  --listen ADDR:PORT   numeric address and port to serve on (e.g. 127.0.0.1:9643,\n"
    "                       [::1]:9643, 0.0.0.0:9643)\n"
    "  --config FILE        YAML: modules (caprobe options and allowed targets), limits\n"
    "  --check              read the configuration and its files, say whether they are\n"
    "                       usable, and exit (0 usable, 2 not)\n"
    "  -q, --quiet          no line on standard error per refused request or deadline\n"
    "                       passed, nor the configuration's notes at start\n"
    "SIGTERM or SIGINT stops it: waiting requests get 503, scans stop and answer.\n";

static int listen_on(struct exporter *x, const char *text)
{
    struct probe_target_spec t;
    const char *why = "expected a numeric ADDR:PORT";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (probe_target_parse(text, 0, &t, &why) != 0 || t.family == AF_UNSPEC || t.port == 0) {
        fprintf(stderr, "caprobe: exporter --listen '%s': %s (ADDR:PORT, [IPv6]:PORT)\n", text,
                t.family == AF_UNSPEC ? "expected a numeric address" : why);
        return PROBE_EXIT_USAGE;
    }
    int rc = t.family == AF_INET ? uv_ip4_addr(t.host, t.port, (struct sockaddr_in *)&ss)
                                 : uv_ip6_addr(t.host, t.port, (struct sockaddr_in6 *)&ss);
    if (rc == 0 && (rc = uv_tcp_init(&x->loop, &x->listener)) == 0)
        x->listening = true;
    x->listener.data = x;
    if (rc == 0 && (rc = uv_tcp_bind(&x->listener, (struct sockaddr *)&ss, 0)) == 0)
        rc = uv_listen((uv_stream_t *)&x->listener, 128, exporter_connection_cb);
    if (rc) {
        fprintf(stderr, "caprobe: exporter: cannot listen on %s: %s\n", text, uv_strerror(rc));
        return 1;
    }
    return 0;
}

int probe_exporter_main(int argc, char **argv)
{
    const char *listen = NULL, *config = NULL;
    bool check = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool value = i + 1 < argc;
        if ((strcmp(a, "--listen") == 0 || strcmp(a, "--config") == 0) && value) {
            *(a[2] == 'l' ? &listen : &config) = argv[++i];
        } else if (strncmp(a, "--listen=", 9) == 0) {
            listen = a + 9;
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (strcmp(a, "--check") == 0) {
            check = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            char shown[128];
            fprintf(stderr, "caprobe: exporter: unknown or incomplete argument '%s'\n%s",
                    tls_escape_term(shown, sizeof(shown), a, 0), usage);
            return PROBE_EXIT_USAGE;
        }
    }
    if (config == NULL || (listen == NULL && !check)) {
        fprintf(stderr, "caprobe: exporter: %s is required\n%s",
                config == NULL ? "--config FILE" : "--listen ADDR:PORT", usage);
        return PROBE_EXIT_USAGE;
    }
    struct exporter *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return PROBE_EXIT_USAGE;
    x->quiet = quiet;
    tls_list_init(&x->conns);
    tls_list_init(&x->queue);
    int status = probe_exporter_config_load(&x->cfg, config);
    if (status || check) {
        if (status == 0) {
            probe_exporter_config_notes(&x->cfg, config, stdout);
            printf("%s: %zu module%s, usable\n", config, x->cfg.n_modules,
                   x->cfg.n_modules == 1 ? "" : "s");
        }
        probe_exporter_config_free(&x->cfg);
        free(x);
        return status;
    }
    uv_loop_init(&x->loop);
    if ((status = listen_on(x, listen)) == 0) {
        x->start_time = (uint64_t)time(NULL);
        uv_signal_init(&x->loop, &x->sigint);
        uv_signal_init(&x->loop, &x->sigterm);
        x->sigint.data = x->sigterm.data = x;
        uv_signal_start(&x->sigint, exporter_signal_cb, SIGINT);
        uv_signal_start(&x->sigterm, exporter_signal_cb, SIGTERM);
        if (!quiet)
            fprintf(stderr, "caprobe exporter: listening on %s (%zu module%s)\n", listen,
                    x->cfg.n_modules, x->cfg.n_modules == 1 ? "" : "s");
        if (!quiet)
            probe_exporter_config_notes(&x->cfg, config, stderr);
        uv_run(&x->loop, UV_RUN_DEFAULT);
    } else if (x->listening) {
        uv_close((uv_handle_t *)&x->listener, NULL);
        uv_run(&x->loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&x->loop);
    probe_exporter_config_free(&x->cfg);
    free(x);
    return status;
}
