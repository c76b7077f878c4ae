/* The scheduler: one libuv loop, one thread. Targets are pulled from the streamed input only
 * while probes are fewer than the concurrency cap, so memory follows what is in flight, not the
 * list. Each variant (address x SNI x version) is one connection (conn.c), whose result becomes
 * the variant's observations (outcome.c) or a retry; a target's record is emitted as soon as its
 * last variant ends. Limits: --concurrency, --per-address, --rate. SIGINT/SIGTERM stop new
 * probes, give in-flight ones a second, then interrupt them; every record is still written. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "internal.h"
#include "outcome.h"
#include "tls/namecache.h"
#include "tls/session.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"
#include "tls/wire/list.h"

#define STOP_GRACE_MS 1000
#define PROGRESS_MS 250
#define INPUT_POLL_MS 20
#define HOLD_POLL_MS 20 /* how often a held scan asks the output again */
/* Distinct CA names decoded once per scan: a few thousand names of a few hundred bytes. */
#define NAME_CACHE_BYTES (8 * 1024 * 1024)

enum probe_variant_state {
    VARIANT_PENDING, /* not started, or waiting for a retry at not_before */
    VARIANT_RUNNING, /* its conn is in flight */
    VARIANT_DONE,    /* its observation is final */
};

struct probe_target;

struct probe_variant {
    struct probe_target *target;
    size_t addr;     /* index into target->addrs */
    const char *sni; /* NULL: no SNI */
    uint16_t version;
    enum probe_variant_state state;
    unsigned attempts;
    uint64_t not_before;          /* loop time before which a retry may not start */
    bool renegotiated;            /* with --request: its renegotiation observation is filled */
    struct probe_conn *conn;      /* while running */
    struct tls_list running_node; /* in the scan's list of variants in flight, while running */
};

struct probe_target {
    struct tls_list open_node;  /* in the scan's list of open targets */
    struct tls_list ready_node; /* in its list of targets with pending variants, while it has */
    struct probe_scan *scan;
    struct probe_input_item item;
    uv_getaddrinfo_t gai;
    bool resolved;
    struct sockaddr_storage *addrs;
    char (*addr_text)[46];
    size_t n_addrs;
    struct probe_variant *variants;
    struct tls_observation *obs; /* one per variant; with --request one more per variant for
                                  * its renegotiation: obs[n_variants + vi] */
    struct tls_observation **obs_ptrs;
    size_t n_variants, done_variants, pending_variants;
};

struct probe_scan {
    uv_loop_t loop;
    const struct probe_opts *opts;
    struct probe_input *input;
    struct tls_client *tls;
    struct tls_name_cache *names; /* decoded CA names shared by all observations */
    struct tls_list open;         /* targets taken from the input and not yet emitted */
    size_t n_open;
    struct tls_list ready;   /* resolved, with pending variants: O(1) picks */
    struct tls_list running; /* variants in flight, for interruption */
    unsigned active;
    bool input_done;
    int fatal; /* a failure of the scan itself (emit failed, out of memory, input unreadable) */
    struct probe_stats *stats;
    /* --rate */
    uint64_t rate_start_ms, started;
    uv_timer_t wake; /* pump again at a retry's or the rate's next slot */
    bool wake_armed;
    bool held;           /* the output's hold stopped the last pump */
    uint64_t held_since; /* loop time it started */
    /* signals and progress */
    uv_signal_t sigint, sigterm;
    uv_timer_t stop_timer, progress_timer;
    int stopping; /* the signal received, 0 while running */
    bool progress_shown;
    uint64_t start_ms;
    struct tls_hashtab addr_counts; /* address -> in-flight count, for --per-address */
    char readbuf[64 * 1024];        /* one read at a time: libuv calls read_cb synchronously */
};

static void pump(struct probe_scan *s);

/* ---- per-address in-flight counts ----------------------------------------------------- */

/* In-flight count per address; an address's entry lives while probes to it are in flight. */
struct addr_count {
    uint8_t key[17]; /* family, then 16 address bytes */
    unsigned count;
};

static bool addr_is(const void *val, const void *key)
{
    return memcmp(((const struct addr_count *)val)->key, key, 17) == 0;
}

/* The entry's slot for address a, or NULL; key and *h are set for an insertion. */
static void **addr_slot(struct probe_scan *s, const struct sockaddr_storage *a, uint8_t key[17],
                        uint64_t *h)
{
    memset(key, 0, 17);
    key[0] = (uint8_t)a->ss_family;
    if (a->ss_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)a)->sin_addr, 4);
    else
        memcpy(key + 1, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    *h = tls_fnv1a(key, 17, TLS_FNV1A_OFFSET);
    return tls_hashtab_find(&s->addr_counts, *h, addr_is, key);
}

static unsigned addr_get(struct probe_scan *s, const struct sockaddr_storage *a)
{
    uint8_t key[17];
    uint64_t h;
    void **slot = addr_slot(s, a, key, &h);
    return slot ? ((struct addr_count *)*slot)->count : 0;
}

static void addr_add(struct probe_scan *s, const struct sockaddr_storage *a, int delta)
{
    if (s->opts->per_address == 0)
        return;
    uint8_t key[17];
    uint64_t h;
    void **slot = addr_slot(s, a, key, &h);
    struct addr_count *e = slot ? *slot : NULL;
    if (e == NULL) {
        if (delta < 0)
            return;
        if ((e = calloc(1, sizeof(*e))) == NULL) {
            s->fatal = TLS_E_NOMEM;
            return;
        }
        memcpy(e->key, key, 17);
        if (tls_hashtab_insert(&s->addr_counts, h, e) != 0) {
            free(e);
            s->fatal = TLS_E_NOMEM;
            return;
        }
    }
    e->count += (unsigned)delta;
    if (e->count == 0 && slot) {
        tls_hashtab_remove(&s->addr_counts, slot);
        free(e);
    }
}

/* ---- targets ---------------------------------------------------------------------------- */

/* Keep t in the ready list exactly while it is resolved and has pending variants. */
static void ready_update(struct probe_scan *s, struct probe_target *t)
{
    bool want = t->resolved && t->pending_variants > 0;
    if (want == tls_list_linked(&t->ready_node))
        return;
    if (want)
        tls_list_insert_tail(&s->ready, &t->ready_node);
    else
        tls_list_remove(&t->ready_node);
}

static void target_free(struct probe_target *t)
{
    if (t == NULL)
        return;
    size_t n_obs = t->n_variants * (t->scan->opts->request_path ? 2 : 1);
    for (size_t i = 0; t->obs && i < n_obs; i++)
        tls_observation_free(&t->obs[i]);
    free(t->addrs);
    free(t->addr_text);
    free(t->variants);
    free(t->obs);
    free(t->obs_ptrs);
    free(t);
}

static void target_unlink(struct probe_scan *s, struct probe_target *t)
{
    t->pending_variants = 0;
    ready_update(s, t);
    tls_list_remove(&t->open_node);
    s->n_open--;
}

static void count_outcomes(struct probe_stats *st, const struct probe_target *t)
{
    st->targets++;
    if (t->item.error)
        st->input_errors++;
    for (size_t i = 0; i < t->n_variants; i++) {
        st->probes++;
        switch (t->obs[i].outcome) {
        case TLS_OUTCOME_CERTIFICATE_REQUEST:
            st->with_request++;
            break;
        case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
            st->without_request++;
            break;
        case TLS_OUTCOME_ERROR:
            st->errors++;
            break;
        }
    }
}

static void target_emit(struct probe_target *t)
{
    struct probe_scan *s = t->scan;
    char why[512];
    /* Each variant's observation, followed by its renegotiation's when there was one. */
    size_t n_obs = 0;
    for (size_t i = 0; i < t->n_variants; i++) {
        t->obs_ptrs[n_obs++] = &t->obs[i];
        if (t->variants && t->variants[i].renegotiated)
            t->obs_ptrs[n_obs++] = &t->obs[t->n_variants + i];
    }
    struct report_target r = {
        .target = t->item.error ? t->item.text : t->item.spec.spec,
        .host = t->item.error ? NULL : t->item.spec.host,
        .port = t->item.spec.port,
        .obs = t->obs_ptrs,
        .n_obs = n_obs,
    };
    if (t->item.error) {
        snprintf(why, sizeof(why), "%s: %s", t->item.where, t->item.error);
        r.input_error = why;
    }
    count_outcomes(s->stats, t);
    int rc = s->opts->emit(s->opts->emit_ctx, &r);
    if (rc && !s->fatal)
        s->fatal = rc;
    target_unlink(s, t);
    target_free(t);
}

/* Mark a variant done; the target's record goes out with its last one. */
static void variant_done(struct probe_target *t, size_t vi)
{
    t->variants[vi].state = VARIANT_DONE;
    if (++t->done_variants == t->n_variants)
        target_emit(t);
}

/* Lay out the variants once the addresses are known. */
static int target_plan(struct probe_target *t)
{
    const struct probe_opts *o = t->scan->opts;
    const struct probe_target_spec *spec = &t->item.spec;
    const char *snis[3];
    size_t n_sni = 0;
    if (spec->family == AF_UNSPEC)
        snis[n_sni++] = spec->host;
    snis[n_sni++] = NULL;
    if (o->extra_sni && !(spec->family == AF_UNSPEC && strcmp(o->extra_sni, spec->host) == 0))
        snis[n_sni++] = o->extra_sni;
    size_t n = t->n_addrs ? t->n_addrs * n_sni * o->n_versions : 1;
    size_t n_obs = n * (o->request_path ? 2 : 1);
    t->variants = calloc(n, sizeof(*t->variants));
    t->obs = calloc(n_obs, sizeof(*t->obs));
    t->obs_ptrs = calloc(n_obs, sizeof(*t->obs_ptrs));
    if (!t->variants || !t->obs || !t->obs_ptrs)
        return TLS_E_NOMEM;
    size_t k = 0;
    for (size_t a = 0; a < t->n_addrs; a++)
        for (size_t i = 0; i < n_sni; i++)
            for (size_t v = 0; v < o->n_versions; v++) {
                t->variants[k].target = t;
                t->variants[k].addr = a;
                t->variants[k].sni = snis[i];
                t->variants[k].version = o->versions[v];
                k++;
            }
    t->n_variants = n;
    t->pending_variants = t->n_addrs ? n : 0;
    for (size_t i = 0; i < n_obs; i++) {
        tls_observation_init(&t->obs[i]);
        t->obs[i].names = t->scan->names;
        t->obs_ptrs[i] = &t->obs[i];
    }
    return 0;
}

static int target_add_addr(struct probe_target *t, const struct sockaddr *sa, uint16_t port)
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
    char(*nt)[46] = realloc(t->addr_text, (t->n_addrs + 1) * sizeof(*nt));
    if (nt == NULL)
        return TLS_E_NOMEM;
    t->addr_text = nt;
    t->addrs[t->n_addrs] = ss;
    const void *bin = ss.ss_family == AF_INET6
                          ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                          : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family, bin, t->addr_text[t->n_addrs], sizeof(t->addr_text[0]));
    t->n_addrs++;
    return 0;
}

/* The addresses are known (or the name did not resolve): plan, or record the failure. */
static void target_resolved(struct probe_target *t, int uv_err)
{
    struct probe_scan *s = t->scan;
    int rc = target_plan(t);
    if (rc) {
        s->fatal = rc;
        return;
    }
    t->resolved = true;
    ready_update(s, t);
    if (t->n_addrs == 0) {
        struct tls_observation *o = &t->obs[0];
        o->tls_max = s->opts->versions[s->opts->n_versions - 1];
        if (uv_err == UV_ECANCELED)
            tls_observation_set_error(o, TLS_ERROR_INTERRUPTED, 0, uv_err,
                                      "the scan was interrupted while resolving %s",
                                      t->item.spec.host);
        else
            tls_observation_set_error(o, TLS_ERROR_DNS, 0, uv_err, "cannot resolve %s: %s",
                                      t->item.spec.host,
                                      uv_err ? uv_strerror(uv_err) : "no address");
        variant_done(t, 0);
    }
}

static void target_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct probe_target *t = req->data;
    struct probe_scan *s = t->scan; /* t may be freed once resolved */
    int rc = 0;
    for (struct addrinfo *ai = res; status == 0 && ai && rc == 0; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            rc = target_add_addr(t, ai->ai_addr, t->item.spec.port);
    uv_freeaddrinfo(res);
    if (rc)
        s->fatal = rc;
    else
        target_resolved(t, status);
    pump(s);
}

/* Take the next item of the input: a target to resolve, or a bad line to record. */
static int target_open(struct probe_scan *s, const struct probe_input_item *item)
{
    struct probe_target *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return TLS_E_NOMEM;
    t->scan = s;
    t->item = *item;
    tls_list_init(&t->ready_node);
    tls_list_insert_tail(&s->open, &t->open_node);
    s->n_open++;
    if (item->error) {
        /* no observation: the record carries the input error */
        t->resolved = true;
        target_emit(t);
        return 0;
    }
    const struct probe_target_spec *spec = &t->item.spec;
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

/* ---- scheduling ------------------------------------------------------------------------- */

/* The variant's connection ended: count it done with its observations, or let it wait for a
 * retry when its failure is transient and attempts are left. */
static void variant_conn_done(void *ctx, const struct probe_conn_result *r)
{
    struct probe_variant *v = ctx;
    struct probe_target *t = v->target;
    struct probe_scan *s = t->scan;
    size_t vi = (size_t)(v - t->variants);
    tls_list_remove(&v->running_node);
    v->conn = NULL;
    addr_add(s, &t->addrs[v->addr], -1);
    s->active--;
    if (probe_outcome_retryable(r) && !s->stopping && v->attempts <= s->opts->retries) {
        v->state = VARIANT_PENDING;
        /* back off 250 ms, 500 ms, 1 s, ... between attempts */
        v->not_before = uv_now(&s->loop) + (250ULL << (v->attempts > 4 ? 4 : v->attempts - 1));
        t->pending_variants++;
        ready_update(s, t);
        s->stats->retries++;
    } else {
        struct tls_observation *reneg = s->opts->request_path ? &t->obs[t->n_variants + vi] : NULL;
        v->renegotiated = probe_outcome_fill(r, v->attempts, &t->obs[vi], reneg);
        variant_done(t, vi); /* the last one emits and frees t */
    }
    pump(s);
}

/* Start the variant's connection. */
static int variant_start(struct probe_scan *s, struct probe_target *t, struct probe_variant *v)
{
    const struct probe_opts *o = s->opts;
    struct tls_observation *obs = &t->obs[v - t->variants];
    obs->address = t->addr_text[v->addr];
    obs->sni = v->sni;
    obs->tls_max = v->version;
    struct probe_conn_opts co = {
        .loop = &s->loop,
        .tls = s->tls,
        .readbuf = s->readbuf,
        .readbuf_len = sizeof(s->readbuf),
        .addr = &t->addrs[v->addr],
        .sni = v->sni,
        .host = t->item.spec.host,
        .port = t->item.spec.port,
        .version = v->version,
        .connect_timeout_ms = o->connect_timeout_ms,
        .handshake_timeout_ms = o->handshake_timeout_ms,
        .timeout_ms = o->timeout_ms,
        .capture_limit = o->capture_limit,
        .request_path = o->request_path,
        .done = variant_conn_done,
        .done_ctx = v,
    };
    int rc = probe_conn_start(&v->conn, &co);
    if (rc)
        return rc;
    v->state = VARIANT_RUNNING;
    v->attempts++;
    tls_list_insert_tail(&s->running, &v->running_node);
    addr_add(s, &t->addrs[v->addr], +1);
    t->pending_variants--;
    ready_update(s, t);
    s->active++;
    s->started++;
    if (s->active > s->stats->peak_in_flight)
        s->stats->peak_in_flight = s->active;
    return 0;
}

static void scan_wake_cb(uv_timer_t *timer)
{
    struct probe_scan *s = timer->data;
    s->wake_armed = false;
    pump(s);
}

static void wake_at(struct probe_scan *s, uint64_t when)
{
    uint64_t now = uv_now(&s->loop);
    uint64_t delay = when > now ? when - now : 0;
    if (s->wake_armed && uv_timer_get_due_in(&s->wake) <= delay)
        return;
    s->wake_armed = true;
    uv_timer_start(&s->wake, scan_wake_cb, delay, 0);
}

/* The first variant that may start now, or NULL; *soonest gets the earliest time a waiting
 * retry may start (UINT64_MAX when none waits). */
static struct probe_variant *next_variant(struct probe_scan *s, struct probe_target **tp,
                                          uint64_t *soonest)
{
    uint64_t now = uv_now(&s->loop);
    *soonest = UINT64_MAX;
    for (struct tls_list *q = tls_list_first(&s->ready); q; q = tls_list_next(&s->ready, q)) {
        struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, ready_node);
        for (size_t i = 0; i < t->n_variants; i++) {
            struct probe_variant *v = &t->variants[i];
            if (v->state != VARIANT_PENDING)
                continue;
            if (v->not_before > now) {
                if (v->not_before < *soonest)
                    *soonest = v->not_before;
                continue;
            }
            if (s->opts->per_address && addr_get(s, &t->addrs[v->addr]) >= s->opts->per_address)
                continue;
            *tp = t;
            return v;
        }
    }
    return NULL;
}

/* With --rate, whether one more connection may start now; otherwise wake when it may. */
static bool rate_allows(struct probe_scan *s)
{
    if (s->opts->rate <= 0)
        return true;
    uint64_t now = uv_now(&s->loop);
    double allowed = (double)(now - s->rate_start_ms) * s->opts->rate / 1000.0 + 1.0;
    if ((double)s->started < allowed)
        return true;
    double at = s->rate_start_ms + (double)s->started * 1000.0 / s->opts->rate;
    wake_at(s, (uint64_t)at + 1);
    return false;
}

/* Whether the output holds new work now (then wake to ask again); the time it held is
 * counted from the first pump it stopped to the first it let go on. */
static bool output_held(struct probe_scan *s)
{
    const struct probe_opts *o = s->opts;
    bool held = o->hold && o->hold(o->hold_ctx);
    uint64_t now = uv_now(&s->loop);
    if (held && !s->held) {
        s->held = true;
        s->held_since = now;
    } else if (!held && s->held) {
        s->held = false;
        s->stats->output_hold_ms += now - s->held_since;
    }
    if (held)
        wake_at(s, now + HOLD_POLL_MS);
    return held;
}

static void scan_close_handles(struct probe_scan *s);

static void interrupt_pending(struct probe_scan *s);

static void pump(struct probe_scan *s)
{
    if (s->stopping)
        interrupt_pending(s); /* targets resolved since the signal */
    while (!s->fatal && !s->stopping && s->active < s->opts->concurrency) {
        struct probe_target *t = NULL;
        uint64_t soonest;
        struct probe_variant *v = next_variant(s, &t, &soonest);
        if (v) {
            if (output_held(s) || !rate_allows(s))
                break;
            int rc = variant_start(s, t, v);
            if (rc) {
                s->fatal = rc;
                break;
            }
            continue;
        }
        if (soonest != UINT64_MAX)
            wake_at(s, soonest);
        /* Open more targets while their probes would not fill the cap anyway. */
        if (s->input_done || s->n_open >= (size_t)s->opts->concurrency + 16 || output_held(s))
            break;
        struct probe_input_item item;
        int rc = probe_input_next(s->input, &item);
        if (rc < 0) {
            s->fatal = rc;
            break;
        }
        if (rc == PROBE_INPUT_WAIT) {
            wake_at(s, uv_now(&s->loop) + INPUT_POLL_MS); /* a pipe: look again soon */
            break;
        }
        uv_update_time(&s->loop); /* reading may have taken a while: deadlines start now */
        if (rc == 0) {
            s->input_done = true;
            break;
        }
        if ((rc = target_open(s, &item))) {
            s->fatal = rc;
            break;
        }
    }
    if (s->active == 0 && (s->input_done || s->fatal || s->stopping)) {
        bool waiting = false;
        for (struct tls_list *q = tls_list_first(&s->open); q; q = tls_list_next(&s->open, q)) {
            const struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, open_node);
            if (!t->resolved || t->pending_variants)
                waiting = true;
        }
        if (!waiting || s->fatal || s->stopping)
            scan_close_handles(s);
    }
}

/* ---- signals and progress ----------------------------------------------------------------- */

static void scan_stop_timer_cb(uv_timer_t *timer)
{
    struct probe_scan *s = timer->data;
    /* The grace second is over: interrupt what is still in flight. */
    for (struct tls_list *q = tls_list_first(&s->running); q; q = tls_list_next(&s->running, q))
        probe_conn_interrupt(TLS_LIST_ENTRY(q, struct probe_variant, running_node)->conn,
                             s->stopping); /* its callback comes later, from the loop */
}

/* Variants never started get an interruption record, so every open target is written. */
static void interrupt_pending(struct probe_scan *s)
{
    for (struct tls_list *q = tls_list_first(&s->open), *next; q; q = next) {
        next = tls_list_next(&s->open, q); /* t may be emitted and freed below */
        struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, open_node);
        if (!t->resolved)
            continue; /* its resolver callback comes back with UV_ECANCELED */
        for (size_t i = 0; i < t->n_variants && t->pending_variants; i++) {
            struct probe_variant *v = &t->variants[i];
            if (v->state != VARIANT_PENDING)
                continue;
            struct tls_observation *o = &t->obs[i];
            o->address = t->addr_text[v->addr];
            o->sni = v->sni;
            o->tls_max = v->version;
            tls_observation_set_error(o, TLS_ERROR_INTERRUPTED, 0, 0,
                                      "the scan was interrupted (signal %d) before this probe "
                                      "started",
                                      s->stopping);
            t->pending_variants--;
            ready_update(s, t);
            bool last = t->done_variants + 1 == t->n_variants;
            variant_done(t, i); /* the last one emits and frees t */
            if (last)
                break;
        }
    }
}

static void scan_signal_cb(uv_signal_t *h, int signum)
{
    struct probe_scan *s = h->data;
    if (s->stopping) {
        scan_stop_timer_cb(&s->stop_timer); /* a second signal: do not wait */
        return;
    }
    s->stopping = signum;
    s->stats->signal = signum;
    if (s->opts->progress)
        fprintf(stderr, "\r\033[Kcaprobe: signal %d: no new probes; %u in flight get %d ms\n",
                signum, s->active, STOP_GRACE_MS);
    for (struct tls_list *q = tls_list_first(&s->open); q; q = tls_list_next(&s->open, q)) {
        struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, open_node);
        if (!t->resolved)
            uv_cancel((uv_req_t *)&t->gai);
    }
    interrupt_pending(s);
    uv_timer_start(&s->stop_timer, scan_stop_timer_cb, STOP_GRACE_MS, 0);
    pump(s);
}

static void scan_progress_cb(uv_timer_t *timer)
{
    struct probe_scan *s = timer->data;
    const struct probe_stats *st = s->stats;
    double secs = (double)(uv_now(&s->loop) - s->start_ms) / 1000.0;
    uint64_t seen = probe_input_count(s->input);
    double rate = secs > 0 ? (double)st->targets / secs : 0;
    char eta[32] = "";
    if (s->input_done && rate > 0 && seen >= st->targets) {
        unsigned left = (unsigned)((double)(seen - st->targets) / rate + 0.5);
        snprintf(eta, sizeof(eta), "  ETA %u:%02u", left / 60, left % 60);
    }
    fprintf(stderr, "\r\033[Kcaprobe: %llu/%llu%s targets  %u in flight  %.0f/s  %llu errors%s",
            (unsigned long long)st->targets, (unsigned long long)seen, s->input_done ? "" : "+",
            s->active, rate, (unsigned long long)st->errors, eta);
    s->progress_shown = true;
}

static void scan_close_handles(struct probe_scan *s)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&s->sigint, (uv_handle_t *)&s->sigterm,
                         (uv_handle_t *)&s->stop_timer, (uv_handle_t *)&s->progress_timer,
                         (uv_handle_t *)&s->wake};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
}

/* ---- the run ---------------------------------------------------------------------------- */

int probe_scan_run(const struct probe_opts *opts, struct probe_input *input,
                   struct probe_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    struct probe_scan *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TLS_E_NOMEM;
    s->opts = opts;
    s->input = input;
    s->stats = stats;
    tls_list_init(&s->open);
    tls_list_init(&s->ready);
    tls_list_init(&s->running);
    tls_hashtab_init(&s->addr_counts);
    if (uv_loop_init(&s->loop)) {
        free(s);
        return TLS_E_IO;
    }
    int rc = tls_client_new(&s->tls);
    if (rc == 0)
        rc = tls_name_cache_new(&s->names, NAME_CACHE_BYTES);
    if (rc)
        goto out;
    s->start_ms = s->rate_start_ms = uv_now(&s->loop);
    uv_timer_init(&s->loop, &s->wake);
    uv_timer_init(&s->loop, &s->stop_timer);
    uv_timer_init(&s->loop, &s->progress_timer);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->wake.data = s->stop_timer.data = s->progress_timer.data = s;
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, scan_signal_cb, SIGINT);
    uv_signal_start(&s->sigterm, scan_signal_cb, SIGTERM);
    if (opts->progress)
        uv_timer_start(&s->progress_timer, scan_progress_cb, PROGRESS_MS, PROGRESS_MS);
    pump(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (s->held)
        stats->output_hold_ms += uv_now(&s->loop) - s->held_since;
    rc = s->fatal;
    if (s->progress_shown)
        fprintf(stderr, "\r\033[K");
out:
    for (struct tls_list *q; (q = tls_list_first(&s->open));) {
        tls_list_remove(q);
        target_free(TLS_LIST_ENTRY(q, struct probe_target, open_node));
    }
    for (size_t i = 0; i < s->addr_counts.cap; i++)
        free(s->addr_counts.vals[i]);
    tls_hashtab_free(&s->addr_counts);
    tls_client_free(s->tls);
    tls_name_cache_free(s->names); /* after the observations that point into it */
    uv_loop_close(&s->loop);
    free(s);
    return rc;
}
