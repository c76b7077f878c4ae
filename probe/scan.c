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
#include "resolver.h"
#include "tls/namecache.h"
#include "tls/session.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"
#include "tls/wire/list.h"
#include "tls/wire/str.h"

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
struct probe_taddr;

struct probe_variant {
    struct probe_target *target;
    struct probe_taddr *addr;
    const char *sni; /* NULL: no SNI */
    uint16_t version;
    enum probe_variant_state state;
    unsigned attempts;
    uint64_t not_before;          /* loop time before which a retry may not start */
    bool renegotiated;            /* with --request: reneg is filled */
    struct probe_conn *conn;      /* while running */
    struct tls_list running_node; /* in the scan's list of variants in flight, while running */
    struct tls_observation obs;
    struct tls_observation reneg; /* with --request: the renegotiation's observation */
};

/* One address of a target and its variants (SNI x version). Addresses come one family at a
 * time, so each is its own allocation and its variants another, made when the first of them
 * starts: a variant's place never moves while it is in flight, and a name with 128 addresses
 * costs its observations only as its addresses are probed. */
struct probe_taddr {
    struct probe_target *target;
    struct sockaddr_storage sa;
    char text[46];
    struct addr_count *count; /* with --per-address */
    size_t n_variants;
    struct probe_variant *v; /* made when the address's first probe starts (taddr_variants) */
};

struct probe_target {
    struct tls_list open_node;  /* in the scan's list of open targets */
    struct tls_list ready_node; /* in its list of targets with pending variants, while it has */
    struct probe_scan *scan;
    struct probe_input_item item;
    struct probe_dns_waiter dns;
    bool resolving; /* a name whose lookup has not ended */
    const char *snis[3];
    size_t n_sni;
    struct probe_taddr **addrs;
    size_t n_addrs;
    struct tls_observation *failed; /* the one observation of a target without an address */
    struct tls_observation **obs_ptrs;
    size_t n_variants, done_variants, pending_variants;
    const char *request_path; /* --request's, or path[] (a URL's own); NULL: no request */
    char path[];              /* a URL's path when it is the request's, else empty */
};

struct probe_scan {
    uv_loop_t *loop;    /* own_loop, or the caller's (probe_scan_start) */
    uv_loop_t own_loop; /* probe_scan_run's */
    bool embedded;      /* on the caller's loop: no signal handles, no progress line */
    probe_scan_done_fn *done;
    void *done_ctx;
    unsigned closing; /* handles whose close callback has not come yet */
    const struct probe_opts *opts;
    struct probe_input *input;
    struct tls_client *tls;
    struct probe_resolver *resolver;
    struct probe_dns_stats dns_stats; /* the resolver's, kept when it closes */
    struct tls_name_cache *names;     /* decoded CA names shared by all observations */
    struct tls_list open;             /* targets taken from the input and not yet emitted */
    size_t n_open, n_resolving;       /* n_resolving of the open ones wait for DNS */
    size_t resolving_max;             /* names waiting for DNS at most, queued ones included */
    struct tls_list ready;            /* with pending variants: O(1) picks */
    struct tls_list running;          /* variants in flight, for interruption */
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
    uv_signal_t sigint, sigterm, sighup; /* a closed terminal (ssh) stops it as SIGTERM does */
    uv_timer_t stop_timer, progress_timer;
    bool stopping;   /* no new probes: a signal came, or probe_scan_stop */
    int stop_signal; /* the signal, 0 for probe_scan_stop (the caller's deadline) */
    bool closed;     /* the handles are closing: the loop is about to end */
    bool progress_shown;
    bool path_noted;     /* the note that URL paths need --request has been shown */
    bool starttls_noted; /* the note that STARTTLS targets get no request has been shown */
    bool ignored_noted;  /* the note that a URL's DN or database is not used has been shown */
    uint64_t start_ms;
    struct tls_hashtab addr_counts; /* address -> in-flight count, for --per-address */
    char readbuf[64 * 1024];        /* one read at a time: libuv calls read_cb synchronously */
};

static void pump(struct probe_scan *s);
static void wake_at(struct probe_scan *s, uint64_t when);

/* ---- per-address in-flight counts ----------------------------------------------------- */

/* In-flight count per address (--per-address). Every address of an open target holds a
 * reference to its entry, so that the scheduler reads the count through a pointer: a fleet of
 * names behind one load balancer has hundreds of waiting targets on one address, looked at on
 * every pass of the scheduler. */
struct addr_count {
    uint8_t key[17]; /* family, then 16 address bytes */
    uint64_t hash;
    unsigned count; /* probes in flight */
    unsigned refs;  /* addresses of open targets */
};

static bool addr_is(const void *val, const void *key)
{
    return memcmp(((const struct addr_count *)val)->key, key, 17) == 0;
}

/* The entry of address a with one more reference, made when missing; NULL when out of memory. */
static struct addr_count *addr_ref(struct probe_scan *s, const struct sockaddr_storage *a)
{
    uint8_t key[17];
    memset(key, 0, sizeof(key));
    key[0] = (uint8_t)a->ss_family;
    if (a->ss_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)a)->sin_addr, 4);
    else
        memcpy(key + 1, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    uint64_t h = tls_fnv1a(key, sizeof(key), TLS_FNV1A_OFFSET);
    void **slot = tls_hashtab_find(&s->addr_counts, h, addr_is, key);
    struct addr_count *e = slot ? *slot : NULL;
    if (e == NULL) {
        if ((e = calloc(1, sizeof(*e))) == NULL)
            return NULL;
        memcpy(e->key, key, sizeof(key));
        e->hash = h;
        if (tls_hashtab_insert(&s->addr_counts, h, e) != 0) {
            free(e);
            return NULL;
        }
    }
    e->refs++;
    return e;
}

static void addr_unref(struct probe_scan *s, struct addr_count *e)
{
    if (e == NULL || --e->refs > 0)
        return;
    void **slot = tls_hashtab_find(&s->addr_counts, e->hash, addr_is, e->key);
    if (slot)
        tls_hashtab_remove(&s->addr_counts, slot);
    free(e);
}

/* ---- targets ---------------------------------------------------------------------------- */

/* Keep t in the ready list exactly while it has pending variants. */
static void ready_update(struct probe_scan *s, struct probe_target *t)
{
    bool want = t->pending_variants > 0;
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
    for (size_t a = 0; a < t->n_addrs; a++) {
        struct probe_taddr *ta = t->addrs[a];
        for (size_t i = 0; ta->v && i < ta->n_variants; i++) {
            tls_observation_free(&ta->v[i].obs);
            tls_observation_free(&ta->v[i].reneg);
        }
        free(ta->v);
        addr_unref(t->scan, ta->count);
        free(ta);
    }
    if (t->failed)
        tls_observation_free(t->failed);
    free(t->failed);
    free(t->addrs);
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

/* Whether the observation after a probe's handshake one (obs[i]) is that probe's later phase
 * (the renegotiation after --request) and brought a CertificateRequest. */
static bool later_request(const struct probe_target *t, size_t i, size_t n_obs)
{
    if (i + 1 >= n_obs)
        return false;
    const struct tls_observation *h = t->obs_ptrs[i], *o = t->obs_ptrs[i + 1];
    return strcmp(o->phase, "handshake") != 0 && o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST &&
           tls_str_same(o->address, h->address) && tls_str_same(o->sni, h->sni) &&
           o->tls_max == h->tls_max;
}

/* Per probe (its handshake observation): with a certificate request when the handshake or a
 * later phase of the same connection (the renegotiation after --request) brought one. */
static void count_outcomes(struct probe_stats *st, const struct probe_target *t, size_t n_obs)
{
    st->targets++;
    if (t->item.error[0])
        st->input_errors++;
    for (size_t i = 0; i < n_obs; i++) {
        if (strcmp(t->obs_ptrs[i]->phase, "handshake") != 0)
            continue;
        st->probes++;
        switch (t->obs_ptrs[i]->outcome) {
        case TLS_OUTCOME_CERTIFICATE_REQUEST:
            st->with_request++;
            break;
        case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
            if (later_request(t, i, n_obs))
                st->with_request++;
            else
                st->without_request++;
            break;
        case TLS_OUTCOME_ERROR:
            if (t->obs_ptrs[i]->error_kind == TLS_ERROR_VERSION_NOT_OFFERED)
                st->not_offered++;
            else
                st->errors++;
            break;
        }
    }
}

/* The record: observations in the order address (IPv4 before IPv6, each family in the
 * resolver's order), SNI, version; a renegotiation's after its handshake's. */
static void target_emit(struct probe_target *t)
{
    struct probe_scan *s = t->scan;
    char why[sizeof(t->item.where) + sizeof(t->item.error) + 2];
    size_t n_obs = 0;
    if (t->failed)
        t->obs_ptrs[n_obs++] = t->failed;
    for (int pass = 0; pass < 2; pass++)
        for (size_t a = 0; a < t->n_addrs; a++) {
            struct probe_taddr *ta = t->addrs[a];
            if ((ta->sa.ss_family == AF_INET) != (pass == 0))
                continue;
            for (size_t i = 0; ta->v && i < ta->n_variants; i++) {
                t->obs_ptrs[n_obs++] = &ta->v[i].obs;
                if (ta->v[i].renegotiated)
                    t->obs_ptrs[n_obs++] = &ta->v[i].reneg;
            }
        }
    struct report_target r = {
        .target = t->item.error[0] ? t->item.text : t->item.spec.spec,
        .host = t->item.error[0] ? NULL : t->item.spec.host,
        .port = t->item.spec.port,
        .obs = t->obs_ptrs,
        .n_obs = n_obs,
    };
    if (t->item.error[0]) {
        snprintf(why, sizeof(why), "%s: %s", t->item.where, t->item.error);
        r.input_error = why;
    }
    probe_outcome_settle(t->obs_ptrs, n_obs, t->item.by_port);
    count_outcomes(s->stats, t, n_obs);
    int rc = s->opts->emit(s->opts->emit_ctx, &r);
    if (rc && !s->fatal)
        s->fatal = rc;
    target_unlink(s, t);
    target_free(t);
}

/* The record goes out once the name's lookup has ended and every variant is done. Returns
 * whether it went (t is freed then). */
static bool target_check_done(struct probe_target *t)
{
    if (t->resolving || t->done_variants < t->n_variants)
        return false;
    size_t n = 1 + t->n_variants * (t->scan->opts->request_path ? 2 : 1);
    if ((t->obs_ptrs = calloc(n, sizeof(*t->obs_ptrs))) == NULL) {
        t->scan->fatal = TLS_E_NOMEM;
        return false;
    }
    target_emit(t);
    return true;
}

/* Mark a variant done; the target's record may go out with it. */
static bool variant_done(struct probe_variant *v)
{
    v->state = VARIANT_DONE;
    v->target->done_variants++;
    return target_check_done(v->target);
}

/* Which SNI variants a target has: its name first, then none, then --sni. */
static void target_snis(struct probe_target *t)
{
    const struct probe_opts *o = t->scan->opts;
    const struct probe_target_spec *spec = &t->item.spec;
    if (spec->family == AF_UNSPEC)
        t->snis[t->n_sni++] = spec->host;
    t->snis[t->n_sni++] = NULL;
    if (o->extra_sni && !(spec->family == AF_UNSPEC && strcmp(o->extra_sni, spec->host) == 0))
        t->snis[t->n_sni++] = o->extra_sni;
}

/* The address's variants (SNI x version) with their observations, made when its first probe
 * starts or when it must be recorded as interrupted: an address waiting its turn costs a couple
 * of hundred bytes, not a few KiB, however many addresses a resolver hands out. Returns false
 * when out of memory (the scan's failure is set). */
static bool taddr_variants(struct probe_taddr *ta)
{
    if (ta->v)
        return true;
    struct probe_target *t = ta->target;
    struct probe_scan *s = t->scan;
    const struct probe_opts *o = s->opts;
    if ((ta->v = calloc(ta->n_variants, sizeof(*ta->v))) == NULL) {
        s->fatal = TLS_E_NOMEM;
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < t->n_sni; i++)
        for (size_t n = 0; n < o->n_versions; n++, k++) {
            struct probe_variant *pv = &ta->v[k];
            pv->target = t;
            pv->addr = ta;
            pv->sni = t->snis[i];
            pv->version = o->versions[n];
            tls_observation_init(&pv->obs);
            tls_observation_init(&pv->reneg);
            pv->obs.names = pv->reneg.names = s->names;
        }
    return true;
}

/* Add an address; its variants are counted now and made when they are needed. A repeated
 * address is skipped. */
static int target_add_addr(struct probe_target *t, const struct sockaddr *sa)
{
    struct probe_scan *s = t->scan;
    const struct probe_opts *o = s->opts;
    uint16_t port = t->item.spec.port;
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
        if (memcmp(&t->addrs[i]->sa, &ss, sizeof(ss)) == 0)
            return 0;
    size_t nv = t->n_sni * o->n_versions;
    struct probe_taddr **na = realloc(t->addrs, (t->n_addrs + 1) * sizeof(*na));
    if (na == NULL)
        return TLS_E_NOMEM;
    t->addrs = na;
    struct probe_taddr *ta = calloc(1, sizeof(*ta));
    if (ta == NULL)
        return TLS_E_NOMEM;
    ta->sa = ss;
    if (o->per_address && (ta->count = addr_ref(s, &ss)) == NULL) {
        free(ta);
        return TLS_E_NOMEM;
    }
    const void *bin = ss.ss_family == AF_INET6
                          ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                          : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family, bin, ta->text, sizeof(ta->text));
    ta->n_variants = nv;
    ta->target = t;
    t->addrs[t->n_addrs++] = ta;
    t->n_variants += nv;
    t->pending_variants += nv;
    ready_update(s, t);
    return 0;
}

/* No address at all: the target's one observation says why. */
static int target_fail(struct probe_target *t, enum tls_error_kind kind, enum tls_dns_error dns,
                       int raw, const char *why)
{
    const struct probe_opts *o = t->scan->opts;
    if ((t->failed = calloc(1, sizeof(*t->failed))) == NULL)
        return TLS_E_NOMEM;
    tls_observation_init(t->failed);
    t->failed->names = t->scan->names;
    t->failed->tls_max = o->versions[o->n_versions - 1];
    t->failed->starttls = tls_starttls_name(t->item.starttls);
    if (kind == TLS_ERROR_INTERRUPTED && t->scan->stop_signal == 0) /* probe_scan_stop */
        tls_observation_set_error(t->failed, kind, 0, raw, "the deadline passed while resolving %s",
                                  t->item.spec.host);
    else if (kind == TLS_ERROR_INTERRUPTED)
        tls_observation_set_error(t->failed, kind, 0, raw,
                                  "the scan was interrupted while resolving %s", t->item.spec.host);
    else
        tls_observation_set_error(t->failed, kind, 0, raw, "cannot resolve %s: %s",
                                  t->item.spec.host, why);
    t->failed->dns_error = kind == TLS_ERROR_DNS ? dns : TLS_DNS_NONE;
    return 0;
}

/* An answer of the resolver: probes of the new addresses may start; the last answer ends the
 * target's wait (its record goes when its variants are done). Never calls pump: the resolver
 * may be in the middle of handing out answers (the wake timer pumps soon). */
static void target_dns_cb(void *ctx, const struct probe_dns_answer *a)
{
    struct probe_target *t = ctx;
    struct probe_scan *s = t->scan;
    int rc = 0;
    for (size_t i = 0; i < a->n_addrs && rc == 0; i++)
        rc = target_add_addr(t, &a->addrs[i].sa);
    if (a->n_dropped && !s->opts->quiet)
        fprintf(stderr, "%scaprobe: %s has %zu %s addresses; the first %d are probed\n",
                s->opts->progress ? "\r\033[K" : "", t->item.spec.host, a->n_addrs + a->n_dropped,
                a->family == AF_INET ? "IPv4" : "IPv6", PROBE_DNS_ADDRS_MAX);
    if (rc == 0 && a->last && t->n_addrs == 0)
        rc = target_fail(t, a->kind, a->error, a->status, a->why);
    if (rc)
        s->fatal = rc;
    if (a->last) {
        t->resolving = false;
        s->n_resolving--;
        if (rc == 0)
            target_check_done(t); /* t may be gone */
    }
    wake_at(s, uv_now(s->loop));
}

/* Take the next item of the input: a target to resolve, or a bad line to record. A URL's path
 * is copied into the target when it is the request's (with --request), the one case it is
 * used. A STARTTLS service gets no HTTP request. */
static int target_open(struct probe_scan *s, const struct probe_input_item *item)
{
    bool http = item->starttls == TLS_STARTTLS_NONE;
    const char *path = s->opts->request_path && http ? item->path : NULL;
    size_t path_size = path ? strlen(path) + 1 : 0;
    struct probe_target *t = calloc(1, sizeof(*t) + path_size);
    if (t == NULL)
        return TLS_E_NOMEM;
    t->scan = s;
    t->item = *item;
    t->item.path = NULL; /* the input's, gone at its next item */
    t->request_path = http ? s->opts->request_path : NULL;
    if (path) {
        memcpy(t->path, path, path_size);
        t->request_path = t->path;
    } else if (item->path && !s->path_noted && !s->opts->quiet) {
        s->path_noted = true;
        fprintf(stderr,
                "%scaprobe: note: the path of a URL target is sent only with --request; "
                "this scan sends no request\n",
                s->opts->progress ? "\r\033[K" : "");
    } else if (!http && s->opts->request_path && !item->error[0] && !s->starttls_noted &&
               !s->opts->quiet) {
        s->starttls_noted = true;
        fprintf(stderr, "%scaprobe: note: STARTTLS targets (%s) get no --request\n",
                s->opts->progress ? "\r\033[K" : "", item->spec.spec);
    }
    if (item->ignored && !s->ignored_noted && !s->opts->quiet) {
        s->ignored_noted = true;
        fprintf(stderr,
                "%scaprobe: note: %s (%s) is not used: caprobe reads the TLS handshake, nothing "
                "more\n",
                s->opts->progress ? "\r\033[K" : "", item->ignored, item->text);
    }
    tls_list_init(&t->ready_node);
    tls_list_insert_tail(&s->open, &t->open_node);
    s->n_open++;
    if (item->error[0]) {
        /* no observation: the record carries the input error */
        target_check_done(t);
        return 0;
    }
    target_snis(t);
    const struct probe_target_spec *spec = &t->item.spec;
    /* --resolve overrides DNS for its host and port. */
    for (size_t i = 0; i < s->opts->n_resolves; i++) {
        const struct probe_resolve *r = &s->opts->resolves[i];
        if (r->port == spec->port && strcmp(r->host, spec->host) == 0) {
            int rc = target_add_addr(t, (const struct sockaddr *)&r->addr);
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
        if (rc == 0)
            rc = target_add_addr(t, (struct sockaddr *)&ss);
        else
            rc = target_fail(t, TLS_ERROR_DNS, TLS_DNS_BAD_NAME, rc, "not an address");
        if (rc)
            return rc;
    }
    if (t->n_addrs || spec->family != AF_UNSPEC) {
        target_check_done(t);
        return 0;
    }
    t->resolving = true;
    s->n_resolving++;
    probe_resolver_lookup(s->resolver, spec->host, &t->dns, target_dns_cb, t); /* t may go */
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
    tls_list_remove(&v->running_node);
    v->conn = NULL;
    if (v->addr->count)
        v->addr->count->count--;
    s->active--;
    if (probe_outcome_retryable(r) && !s->stopping && v->attempts <= s->opts->retries) {
        v->state = VARIANT_PENDING;
        /* back off 250 ms, 500 ms, 1 s, ... between attempts */
        v->not_before = uv_now(s->loop) + (250ULL << (v->attempts > 4 ? 4 : v->attempts - 1));
        t->pending_variants++;
        ready_update(s, t);
        s->stats->retries++;
    } else {
        v->renegotiated =
            probe_outcome_fill(r, v->attempts, &v->obs, s->opts->request_path ? &v->reneg : NULL);
        variant_done(v); /* the last one emits and frees t */
    }
    pump(s);
}

/* Start the variant's connection. */
static int variant_start(struct probe_scan *s, struct probe_target *t, struct probe_variant *v)
{
    const struct probe_opts *o = s->opts;
    v->obs.address = v->addr->text;
    v->obs.sni = v->sni;
    v->obs.tls_max = v->version;
    v->obs.starttls = tls_starttls_name(t->item.starttls);
    struct probe_conn_opts co = {
        .loop = s->loop,
        .tls = s->tls,
        .readbuf = s->readbuf,
        .readbuf_len = sizeof(s->readbuf),
        .addr = &v->addr->sa,
        .sni = v->sni,
        .host = t->item.spec.host,
        .port = t->item.spec.port,
        .version = v->version,
        .mbedtls_hello = o->mbedtls_hello,
        .present = o->identity != NULL,
        .connect_timeout_ms = o->connect_timeout_ms,
        .handshake_timeout_ms = o->handshake_timeout_ms,
        .timeout_ms = o->timeout_ms,
        .capture_limit = o->capture_limit,
        .request_path = t->request_path,
        .starttls = t->item.starttls,
        .done = variant_conn_done,
        .done_ctx = v,
    };
    int rc = probe_conn_start(&v->conn, &co);
    if (rc)
        return rc;
    v->state = VARIANT_RUNNING;
    v->attempts++;
    tls_list_insert_tail(&s->running, &v->running_node);
    if (v->addr->count)
        v->addr->count->count++;
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
    if (s->closed)
        return;
    uint64_t now = uv_now(s->loop);
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
    uint64_t now = uv_now(s->loop);
    *soonest = UINT64_MAX;
    for (struct tls_list *q = tls_list_first(&s->ready); q; q = tls_list_next(&s->ready, q)) {
        struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, ready_node);
        for (size_t a = 0; a < t->n_addrs; a++) {
            struct probe_taddr *ta = t->addrs[a];
            if (ta->v == NULL) { /* none started yet: the first may start */
                if (ta->count && ta->count->count >= s->opts->per_address)
                    continue;
                if (!taddr_variants(ta))
                    return NULL;
                *tp = t;
                return &ta->v[0];
            }
            for (size_t i = 0; i < ta->n_variants; i++) {
                struct probe_variant *v = &ta->v[i];
                if (v->state != VARIANT_PENDING)
                    continue;
                if (v->not_before > now) {
                    if (v->not_before < *soonest)
                        *soonest = v->not_before;
                    continue;
                }
                if (ta->count && ta->count->count >= s->opts->per_address)
                    break; /* the address's other variants wait too */
                *tp = t;
                return v;
            }
        }
    }
    return NULL;
}

/* With --rate, whether one more connection may start now; otherwise wake when it may. */
static bool rate_allows(struct probe_scan *s)
{
    if (s->opts->rate <= 0)
        return true;
    uint64_t now = uv_now(s->loop);
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
    uint64_t now = uv_now(s->loop);
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

/* Whether another target may be taken from the input: targets with known addresses are held to
 * what the probe slots can use soon, names waiting for DNS to their own bound, so that neither
 * kind starves the other. */
static bool may_open(const struct probe_scan *s)
{
    return s->n_open - s->n_resolving < (size_t)s->opts->concurrency + 16 &&
           s->n_resolving < s->resolving_max;
}

static void pump(struct probe_scan *s)
{
    if (s->closed)
        return;
    if (s->stopping)
        interrupt_pending(s); /* targets resolved since the signal */
    while (!s->fatal && !s->stopping) {
        struct probe_target *t = NULL;
        uint64_t soonest = UINT64_MAX;
        struct probe_variant *v = NULL;
        if (s->active < s->opts->concurrency && (v = next_variant(s, &t, &soonest))) {
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
        if (s->input_done || !may_open(s) || output_held(s))
            break;
        struct probe_input_item item;
        int rc = probe_input_next(s->input, &item);
        if (rc < 0) {
            s->fatal = rc;
            break;
        }
        if (rc == PROBE_INPUT_WAIT) {
            wake_at(s, uv_now(s->loop) + INPUT_POLL_MS); /* a pipe: look again soon */
            break;
        }
        uv_update_time(s->loop); /* reading may have taken a while: deadlines start now */
        if (rc == 0) {
            s->input_done = true;
            break;
        }
        if ((rc = target_open(s, &item))) {
            s->fatal = rc;
            break;
        }
    }
    if (s->active == 0 && (s->fatal || ((s->stopping || s->input_done) && s->n_open == 0)))
        scan_close_handles(s);
}

/* ---- signals and progress ----------------------------------------------------------------- */

static void scan_stop_timer_cb(uv_timer_t *timer)
{
    struct probe_scan *s = timer->data;
    /* The grace second is over: interrupt what is still in flight. */
    for (struct tls_list *q = tls_list_first(&s->running); q; q = tls_list_next(&s->running, q))
        probe_conn_interrupt(TLS_LIST_ENTRY(q, struct probe_variant, running_node)->conn,
                             s->stop_signal); /* its callback comes later, from the loop */
}

/* Variants never started get an interruption record, so every open target is written. */
static void interrupt_pending(struct probe_scan *s)
{
    for (struct tls_list *q = tls_list_first(&s->open), *next; q; q = next) {
        next = tls_list_next(&s->open, q); /* t may be emitted and freed below */
        struct probe_target *t = TLS_LIST_ENTRY(q, struct probe_target, open_node);
        for (size_t a = 0; a < t->n_addrs && t->pending_variants; a++) {
            struct probe_taddr *ta = t->addrs[a];
            if (!taddr_variants(ta))
                return;
            for (size_t i = 0; i < ta->n_variants && t->pending_variants; i++) {
                struct probe_variant *v = &ta->v[i];
                if (v->state != VARIANT_PENDING)
                    continue;
                v->obs.address = ta->text;
                v->obs.sni = v->sni;
                v->obs.tls_max = v->version;
                v->obs.starttls = tls_starttls_name(t->item.starttls);
                if (s->stop_signal)
                    tls_observation_set_error(&v->obs, TLS_ERROR_INTERRUPTED, 0, 0,
                                              "the scan was interrupted (signal %d) before this "
                                              "probe started",
                                              s->stop_signal);
                else
                    tls_observation_set_error(&v->obs, TLS_ERROR_INTERRUPTED, 0, 0,
                                              "the deadline passed before this probe started");
                t->pending_variants--;
                ready_update(s, t);
                if (variant_done(v)) /* the last one emits and frees t */
                    goto next_target;
            }
        }
    next_target:;
    }
}

/* No new probes; names waiting for DNS and variants not started end as interrupted, probes in
 * flight get grace_ms. */
static void scan_stop(struct probe_scan *s, int signum, uint64_t grace_ms)
{
    if (s->stopping) {
        scan_stop_timer_cb(&s->stop_timer); /* a second signal: do not wait */
        return;
    }
    s->stopping = true;
    s->stop_signal = signum;
    if (signum)
        s->stats->signal = signum;
    if (s->opts->progress && !s->embedded)
        fprintf(stderr,
                "\r\033[Kcaprobe: signal %d: no new probes; %u in flight get %d ms, %zu names "
                "waiting for DNS end as interrupted (a second signal stops at once)\n",
                signum, s->active, STOP_GRACE_MS, s->n_resolving);
    probe_resolver_cancel(s->resolver); /* every waiting name ends now */
    interrupt_pending(s);
    if (!s->closed)
        uv_timer_start(&s->stop_timer, scan_stop_timer_cb, grace_ms, 0);
    pump(s);
}

static void scan_signal_cb(uv_signal_t *h, int signum)
{
    scan_stop(h->data, signum, STOP_GRACE_MS);
}

void probe_scan_stop(struct probe_scan *s)
{
    if (s && !s->closed)
        scan_stop(s, 0, 0);
}

static void scan_progress_cb(uv_timer_t *timer)
{
    struct probe_scan *s = timer->data;
    const struct probe_stats *st = s->stats;
    double secs = (double)(uv_now(s->loop) - s->start_ms) / 1000.0;
    uint64_t seen = probe_input_count(s->input);
    double rate = secs > 0 ? (double)st->targets / secs : 0;
    char eta[32] = "", dns[48] = "";
    if (s->input_done && rate > 0 && seen >= st->targets) {
        unsigned left = (unsigned)((double)(seen - st->targets) / rate + 0.5);
        snprintf(eta, sizeof(eta), "  ETA %u:%02u", left / 60, left % 60);
    }
    if (s->n_resolving)
        snprintf(dns, sizeof(dns), "  %zu resolving", s->n_resolving);
    fprintf(stderr, "\r\033[Kcaprobe: %llu/%llu%s targets  %u in flight%s  %.0f/s  %llu errors%s",
            (unsigned long long)st->targets, (unsigned long long)seen, s->input_done ? "" : "+",
            s->active, dns, rate, (unsigned long long)st->errors, eta);
    s->progress_shown = true;
}

/* What the run tells once the loop has done the scan's work. */
static void scan_finish(struct probe_scan *s)
{
    struct probe_stats *stats = s->stats;
    if (s->held)
        stats->output_hold_ms += uv_now(s->loop) - s->held_since;
    stats->dns_lookups = s->dns_stats.lookups;
    stats->dns_shared = s->dns_stats.shared;
    stats->dns_failures = s->dns_stats.failures;
    if (s->progress_shown)
        fprintf(stderr, "\r\033[K");
}

static void scan_handle_closed_cb(uv_handle_t *h)
{
    struct probe_scan *s = h->data;
    if (--s->closing > 0 || !s->embedded)
        return;
    scan_finish(s);
    s->done(s->done_ctx, s->fatal); /* s may be freed */
}

/* The last thing of a scan: the loop ends once these are closed (embedded: done is called). */
static void scan_close_handles(struct probe_scan *s)
{
    if (s->closed)
        return;
    s->closed = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&s->stop_timer, (uv_handle_t *)&s->progress_timer,
                         (uv_handle_t *)&s->wake,       (uv_handle_t *)&s->sigint,
                         (uv_handle_t *)&s->sigterm,    (uv_handle_t *)&s->sighup};
    size_t n = s->embedded ? 3 : sizeof(hs) / sizeof(hs[0]); /* embedded: no signal handles */
    for (size_t i = 0; i < n; i++)
        if (!uv_is_closing(hs[i])) {
            s->closing++;
            uv_close(hs[i], scan_handle_closed_cb);
        }
    if (s->resolver)
        s->dns_stats = *probe_resolver_stats(s->resolver);
    probe_resolver_close(s->resolver);
    s->resolver = NULL;
}

/* ---- the run ---------------------------------------------------------------------------- */

/* A scan on loop with what it needs but its handles; *out NULL on failure. */
static int scan_new(struct probe_scan **out, uv_loop_t *loop, const struct probe_opts *opts,
                    struct probe_input *input, struct probe_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    *out = NULL;
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
    if (loop == NULL && uv_loop_init(&s->own_loop)) {
        free(s);
        return TLS_E_IO;
    }
    s->loop = loop ? loop : &s->own_loop;
    s->embedded = loop != NULL;
    *out = s;
    int rc = tls_client_new(&s->tls);
    if (rc == 0 && opts->identity)
        tls_client_set_identity(s->tls, opts->identity);
    if (rc == 0)
        rc = tls_name_cache_new(&s->names, NAME_CACHE_BYTES);
    if (rc == 0) {
        struct probe_resolver_opts ro = {
            .loop = s->loop,
            .servers = opts->dns_servers,
            .timeout_ms = opts->dns_timeout_ms,
            .concurrency = opts->dns_concurrency,
            .ipv4 = opts->ipv4 || !opts->ipv6,
            .ipv6 = opts->ipv6 || !opts->ipv4,
        };
        char why[256];
        if ((rc = probe_resolver_new(&s->resolver, &ro, why, sizeof(why))) == TLS_E_IO)
            fprintf(stderr, "caprobe: %s\n", why);
    }
    if (rc)
        return rc;
    /* Names waiting for DNS: those in flight and as many again queued, so that a slow resolver
     * does not hold up the addresses behind them in the list; each costs about 1.5 KiB. */
    s->resolving_max = 2 * (size_t)(opts->dns_concurrency ? opts->dns_concurrency : 1) + 16;
    s->start_ms = s->rate_start_ms = uv_now(s->loop);
    uv_timer_init(s->loop, &s->wake);
    uv_timer_init(s->loop, &s->stop_timer);
    uv_timer_init(s->loop, &s->progress_timer);
    s->wake.data = s->stop_timer.data = s->progress_timer.data = s;
    if (s->embedded)
        return 0;
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sighup);
    s->sigint.data = s->sigterm.data = s->sighup.data = s;
    uv_signal_start(&s->sigint, scan_signal_cb, SIGINT);
    uv_signal_start(&s->sigterm, scan_signal_cb, SIGTERM);
    uv_signal_start(&s->sighup, scan_signal_cb, SIGHUP);
    if (opts->progress)
        uv_timer_start(&s->progress_timer, scan_progress_cb, PROGRESS_MS, PROGRESS_MS);
    return 0;
}

void probe_scan_free(struct probe_scan *s)
{
    if (s == NULL)
        return;
    for (struct tls_list *q; (q = tls_list_first(&s->open));) {
        tls_list_remove(q);
        target_free(TLS_LIST_ENTRY(q, struct probe_target, open_node));
    }
    if (s->resolver) { /* the scan failed before its loop ran */
        probe_resolver_close(s->resolver);
        s->resolver = NULL;
        if (!s->embedded)
            uv_run(s->loop, UV_RUN_DEFAULT);
    }
    for (size_t i = 0; i < s->addr_counts.cap; i++)
        free(s->addr_counts.vals[i]);
    tls_hashtab_free(&s->addr_counts);
    tls_client_free(s->tls);
    tls_name_cache_free(s->names); /* after the observations that point into it */
    if (!s->embedded)
        uv_loop_close(&s->own_loop);
    free(s);
}

int probe_scan_run(const struct probe_opts *opts, struct probe_input *input,
                   struct probe_stats *stats)
{
    struct probe_scan *s;
    int rc = scan_new(&s, NULL, opts, input, stats);
    if (rc == 0) {
        pump(s);
        uv_run(s->loop, UV_RUN_DEFAULT);
        scan_finish(s);
        rc = s->fatal;
    }
    probe_scan_free(s);
    return rc;
}

int probe_scan_start(struct probe_scan **out, uv_loop_t *loop, const struct probe_opts *opts,
                     struct probe_input *input, struct probe_stats *stats, probe_scan_done_fn *done,
                     void *done_ctx)
{
    struct probe_scan *s;
    int rc = scan_new(&s, loop, opts, input, stats);
    if (rc) {
        probe_scan_free(s);
        *out = NULL;
        return rc;
    }
    s->done = done;
    s->done_ctx = done_ctx;
    *out = s;
    pump(s); /* never ends the scan here: its handles close from the loop, done comes later */
    return 0;
}
