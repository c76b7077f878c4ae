/* c-ares on the libuv loop (resolver.h). c-ares tells which sockets it wants watched through its
 * socket-state callback: each gets a uv_poll_t, whose events go back through ares_process_fd.
 * Its next timeout (ares_timeout) drives one uv timer. A name is one struct probe_dns_lookup, found
 * by name in a hash index while it is in flight or kept; it asks one ares_getaddrinfo per family.
 *
 * A lookup is QUEUED (waiting for a slot), then RUNNING (its families in c-ares, on one channel),
 * then DONE: kept for later waiters when its answer lasts (addresses, NXDOMAIN, NODATA), freed
 * otherwise. A cancel ends QUEUED and RUNNING lookups at once; ares_destroy frees RUNNING ones
 * through their callbacks without a word to their waiters. The only way out of this file is a
 * waiter's callback, which must not call back in: the scheduler is never pumped from here. */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "resolver.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"

/* Answers kept after their lookup ended, for targets that name them later (other ports, later
 * lines): the most recent ones, at most this many (a name and up to 2 x 64 addresses of 28
 * bytes each: 4 KiB at worst, 16 MiB in all). DNS TTLs are not honoured: a scan is short next
 * to them. */
#define KEPT_MAX 4096
/* Tries per server: the first, then two more each with the timeout doubled (c-ares's rule), so
 * the per-try timeout is the deadline over 7 per server. */
#define TRIES 3
#define TRY_SHARES 7
/* The EDNS0 payload size that avoids IP fragmentation (DNS flag day 2020). */
#define EDNS_SIZE 1232
/* Names in flight on one c-ares channel. A channel has one UDP socket per server, and answers
 * wait in its receive buffer while the loop runs probes: a burst of thousands of answers on one
 * socket overflowed Linux's default 208 KiB (each small datagram costs about 1 KiB of it), and
 * the kernel dropped a third of them (make bench, 10,000 names). 64 names are 128 answers at
 * most per socket. Channels are opened as the names in flight need them. */
#define CHANNEL_NAMES 64
/* Channels at most: each holds a UDP socket per server (and TCP ones while truncated answers
 * are fetched), and descriptors are shared with the probes (probe/run.c sets them aside). */
#define CHANNELS_MAX 64
/* Receive buffer asked for each UDP socket (the kernel may give less: net.core.rmem_max). */
#define UDP_RCVBUF (1024 * 1024)

enum lookup_state {
    LOOKUP_QUEUED,  /* waiting for a slot */
    LOOKUP_RUNNING, /* its families are in c-ares */
    LOOKUP_DONE,    /* every family answered: kept for later waiters */
};

struct family {
    struct probe_dns_lookup *lookup;
    int af;
    bool asked, done;
    int status;
    union probe_sockaddr *addrs;
    size_t n_addrs, n_dropped;
    bool told; /* n_dropped went to one waiter: stderr says it once per name */
};

struct chan {
    struct probe_resolver *r;
    ares_channel channel;
    unsigned running; /* lookups in flight on it */
    /* ICMP "port unreachable" errors on its sockets since a datagram last came: c-ares 1.18
     * reports a server that is not listening as ETIMEOUT as often as ECONNREFUSED. */
    uint64_t refusals;
};

struct probe_dns_lookup {
    struct probe_resolver *r;
    struct chan *chan;    /* where it runs or ran */
    int rcode;            /* the last SERVFAIL (2), NOTIMP (4) or REFUSED (5) a server answered */
    struct tls_list node; /* in the queue, or in the kept list when done */
    struct tls_list waiters;
    enum lookup_state state;
    uint64_t hash;
    struct family fam[2]; /* AF_INET, AF_INET6 */
    unsigned families_left;
    bool failed;
    enum tls_error_kind kind;
    enum tls_dns_error error;
    int status;
    char why[96];
    char name[]; /* lower case */
};

struct sock {
    struct tls_list node;
    struct probe_resolver *r;
    struct chan *c; /* NULL once the channels are gone */
    ares_socket_t fd;
    uv_poll_t poll;
};

struct probe_resolver {
    uv_loop_t *loop;
    struct chan **chans;
    size_t n_chans, chans_max;
    int per_try_ms; /* c-ares's timeout of one try */
    struct probe_resolver_opts opts;
    uv_timer_t timer;
    struct tls_list socks;
    struct tls_hashtab index; /* name -> lookup, queued, running or kept */
    struct tls_list queue;    /* queued lookups, oldest first */
    struct tls_list kept;     /* done lookups, oldest first */
    size_t n_kept;
    unsigned running;
    size_t pending; /* queued + running */
    unsigned open_handles;
    bool closing, cancelling;
    bool starting; /* in start_queued: a lookup answered at once must not recurse into it */
    size_t nservers;
    struct probe_dns_stats stats;
};

static void start_queued(struct probe_resolver *r);

size_t probe_resolver_fds(unsigned concurrency, size_t nservers)
{
    size_t chans = ((size_t)concurrency + CHANNEL_NAMES - 1) / CHANNEL_NAMES;
    if (chans > CHANNELS_MAX)
        chans = CHANNELS_MAX;
    return chans * (nservers + 1);
}

const char *probe_resolver_version(void)
{
    return ares_version(NULL);
}

/* c-ares's status of a finished family lookup, as error.dns says it. */
static enum tls_dns_error dns_error_of(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return TLS_DNS_NONE;
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
        return TLS_DNS_NO_SUCH_NAME;
    case ARES_ENODATA:
        return TLS_DNS_NO_ADDRESS;
    case ARES_ESERVFAIL:
    case ARES_ENOTIMP:
        return TLS_DNS_SERVER_FAILURE;
    case ARES_EREFUSED:
        return TLS_DNS_REFUSED;
    case ARES_ETIMEOUT:
        return TLS_DNS_TIMEOUT;
    case ARES_EBADRESP:
    case ARES_EFORMERR:
    case ARES_EBADFAMILY:
        return TLS_DNS_BAD_ANSWER;
    case ARES_ECONNREFUSED:
        return TLS_DNS_UNREACHABLE;
    case ARES_EBADNAME:
    case ARES_EBADSTR:
    case ARES_EBADQUERY:
        return TLS_DNS_BAD_NAME;
    default:
        return TLS_DNS_OTHER;
    }
}

/* Words for the message, after "cannot resolve NAME: ". */
static const char *dns_error_words(enum tls_dns_error e)
{
    switch (e) {
    case TLS_DNS_NO_SUCH_NAME:
        return "no such name (NXDOMAIN)";
    case TLS_DNS_NO_ADDRESS:
        return "the name has no address";
    case TLS_DNS_SERVER_FAILURE:
        return "the DNS server failed (SERVFAIL)";
    case TLS_DNS_REFUSED:
        return "the DNS server refused the query (REFUSED)";
    case TLS_DNS_TIMEOUT:
        return "no answer from the DNS server in time";
    case TLS_DNS_BAD_ANSWER:
        return "the DNS answer is malformed";
    case TLS_DNS_UNREACHABLE:
        return "no DNS server could be reached";
    case TLS_DNS_BAD_NAME:
        return "not a name DNS can look up";
    case TLS_DNS_NONE:
    case TLS_DNS_OTHER:
        break;
    }
    return "the lookup failed";
}

/* ---- c-ares on the loop ------------------------------------------------------------------ */

static void resolver_timer_cb(uv_timer_t *h);

/* Arm the timer for c-ares's next timeout. ares_timeout walks every query in flight, so it is
 * asked only when the timer fires; in between, a new query (or a query moved to TCP) can only
 * need the timer within one try's timeout, and timer_soon makes sure of that. */
static void timer_update(struct probe_resolver *r)
{
    if (r->closing)
        return;
    uint64_t ms = UINT64_MAX;
    for (size_t i = 0; i < r->n_chans; i++) {
        if (r->chans[i]->running == 0)
            continue;
        struct timeval tv, *t = ares_timeout(r->chans[i]->channel, NULL, &tv);
        uint64_t m =
            t ? (uint64_t)t->tv_sec * 1000 + ((uint64_t)t->tv_usec + 999) / 1000 : UINT64_MAX;
        if (m < ms)
            ms = m;
    }
    if (ms == UINT64_MAX)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(&r->timer, resolver_timer_cb, ms, 0);
}

static void timer_soon(struct probe_resolver *r)
{
    if (r->closing)
        return;
    uint64_t within = (uint64_t)r->per_try_ms;
    if (!uv_is_active((uv_handle_t *)&r->timer) || uv_timer_get_due_in(&r->timer) > within)
        uv_timer_start(&r->timer, resolver_timer_cb, within, 0);
}

static void resolver_timer_cb(uv_timer_t *h)
{
    struct probe_resolver *r = h->data;
    for (size_t i = 0; i < r->n_chans && !r->closing; i++)
        ares_process_fd(r->chans[i]->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    timer_update(r);
}

static void sock_poll_cb(uv_poll_t *h, int status, int events)
{
    struct sock *k = h->data;
    struct chan *c = k->c;
    struct probe_resolver *r = k->r;
    if (c == NULL)
        return;
    ares_socket_t fd = k->fd; /* k may go during processing */
    /* An error on the socket: let c-ares read and write it to find out. */
    bool rd = status < 0 || (events & UV_READABLE);
    bool wr = status < 0 || (events & UV_WRITABLE);
    ares_process_fd(c->channel, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    timer_soon(r);
}

static void resolver_handle_closed_cb(uv_handle_t *h)
{
    struct probe_resolver *r;
    if (h->type == UV_POLL) {
        struct sock *k = h->data;
        r = k->r;
        free(k);
    } else {
        r = h->data;
    }
    if (--r->open_handles == 0 && r->closing)
        free(r);
}

static void sock_close(struct sock *k)
{
    tls_list_remove(&k->node);
    uv_poll_stop(&k->poll);
    uv_close((uv_handle_t *)&k->poll, resolver_handle_closed_cb);
}

/* c-ares opens, watches and closes its sockets: mirror that with poll handles. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct chan *c = data;
    struct probe_resolver *r = c->r;
    struct sock *k = NULL;
    for (struct tls_list *q = tls_list_first(&r->socks); q; q = tls_list_next(&r->socks, q))
        if (TLS_LIST_ENTRY(q, struct sock, node)->fd == fd) {
            k = TLS_LIST_ENTRY(q, struct sock, node);
            break;
        }
    if (!readable && !writable) {
        if (k)
            sock_close(k);
        return;
    }
    if (k == NULL) {
        if (r->closing || (k = calloc(1, sizeof(*k))) == NULL)
            return; /* c-ares's query on it ends by its timeout */
        k->r = r;
        k->c = c;
        k->fd = fd;
        if (uv_poll_init_socket(r->loop, &k->poll, fd) != 0) {
            free(k);
            return;
        }
        k->poll.data = k;
        r->open_handles++;
        tls_list_insert_tail(&r->socks, &k->node);
    }
    uv_poll_start(&k->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  sock_poll_cb);
}

/* ---- sockets -------------------------------------------------------------------------------- */

/* c-ares's socket calls, ours so that two things c-ares 1.18 does not do are done: a UDP
 * datagram without the QR bit is a query, not an answer (c-ares would take its records), and
 * an unreachable server is told apart from a silent one. With its socket functions replaced,
 * c-ares leaves the socket options to us. */
static ares_socket_t sys_socket(int domain, int type, int protocol, void *ud)
{
    (void)ud;
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0 && type == SOCK_STREAM) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else if (fd >= 0) {
        /* Past net.core.rmem_max when allowed (CAP_NET_ADMIN), else up to it. */
        int size = UDP_RCVBUF;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    return fd < 0 ? ARES_SOCKET_BAD : fd;
}

static int sys_close(ares_socket_t fd, void *ud)
{
    (void)ud;
    return close(fd);
}

static int sys_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *ud)
{
    (void)ud;
    return connect(fd, sa, len);
}

static bool lookup_is(const void *val, const void *key);

/* A datagram that answers SERVFAIL, NOTIMP or REFUSED: note the rcode on the lookup of the name
 * it asks about. c-ares drops such an answer to ask the next server (as glibc does) and, when no
 * try is left, says only ECONNREFUSED; the note lets the record say what the servers said. The
 * question is read with every length checked; a name under a search domain matches no lookup. */
static void note_rcode(struct probe_resolver *r, const uint8_t *m, size_t n)
{
    int rcode = n >= 12 ? m[3] & 0x0f : 0;
    if ((rcode != 2 && rcode != 4 && rcode != 5) || (m[4] | m[5]) == 0)
        return;
    char name[256];
    size_t at = 12, len = 0;
    while (at < n && m[at] != 0) {
        size_t lab = m[at];
        if (lab > 63 || at + 1 + lab > n || len + lab + 1 >= sizeof(name))
            return; /* a pointer, or past the end */
        for (size_t i = 0; i < lab; i++) {
            char c = (char)m[at + 1 + i];
            name[len++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        name[len++] = '.';
        at += 1 + lab;
    }
    if (at >= n || len == 0)
        return;
    name[len - 1] = 0;
    uint64_t h = tls_fnv1a_str(name, TLS_FNV1A_OFFSET) | 1;
    void **slot = tls_hashtab_find(&r->index, h, lookup_is, name);
    if (slot && ((struct probe_dns_lookup *)*slot)->state == LOOKUP_RUNNING)
        ((struct probe_dns_lookup *)*slot)->rcode = rcode;
}

/* At most this many datagrams are passed over in one call, so that a flood of them cannot hold
 * the loop. */
#define SKIP_MAX 64

static ares_ssize_t sys_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                 struct sockaddr *from, ares_socklen_t *from_len, void *ud)
{
    struct chan *c = ud;
    for (int skipped = 0;; skipped++) {
        ares_socklen_t fl = from_len ? *from_len : 0;
        ssize_t n = recvfrom(fd, buf, len, flags, from, from_len ? &fl : NULL);
        if (n < 0) {
            if (errno == ECONNREFUSED)
                c->refusals++;
            return n;
        }
        if (from_len)
            *from_len = fl;
        if (from == NULL) /* a TCP stream, whose bytes are not datagrams */
            return n;
        /* Not an answer: empty (c-ares 1.18 takes it for a broken server, CVE-2023-32067) or
         * with QR clear (c-ares would take its records). Read the next datagram. */
        if (n == 0 || (n >= 3 && !(((const uint8_t *)buf)[2] & 0x80))) {
            if (skipped < SKIP_MAX)
                continue;
            errno = EAGAIN;
            return -1;
        }
        c->refusals = 0;
        note_rcode(c->r, buf, (size_t)n);
        return n;
    }
}

static ares_ssize_t sys_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *ud)
{
    struct chan *c = ud;
    ssize_t w = writev(fd, iov, n);
    if (w < 0 && errno == ECONNREFUSED)
        c->refusals++;
    return w;
}

static const struct ares_socket_functions sys_socket_functions = {
    .asocket = sys_socket,
    .aclose = sys_close,
    .aconnect = sys_connect,
    .arecvfrom = sys_recvfrom,
    .asendv = sys_sendv,
};

/* ---- lookups ------------------------------------------------------------------------------ */

static bool lookup_is(const void *val, const void *key)
{
    return strcmp(((const struct probe_dns_lookup *)val)->name, key) == 0;
}

static void lookup_free(struct probe_dns_lookup *l)
{
    for (size_t i = 0; i < 2; i++)
        free(l->fam[i].addrs);
    free(l);
}

/* Take l out of the index. */
static void lookup_unindex(struct probe_resolver *r, struct probe_dns_lookup *l)
{
    void **slot = tls_hashtab_find(&r->index, l->hash, lookup_is, l->name);
    if (slot)
        tls_hashtab_remove(&r->index, slot);
}

static void answer_of(const struct probe_dns_lookup *l, const struct family *f, bool last,
                      struct probe_dns_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->family = f->af;
    a->addrs = f->addrs;
    a->n_addrs = f->n_addrs;
    a->n_dropped = f->told ? 0 : f->n_dropped;
    a->last = last;
    if (last && l->failed) {
        a->failed = true;
        a->kind = l->kind;
        a->error = l->error;
        a->status = l->status;
        a->why = l->why;
    }
}

/* Hand a family's answer to every waiter; with last, each waiter is unlinked before it hears it
 * (it may go away at once). */
static void notify(struct probe_dns_lookup *l, struct family *f, bool last)
{
    struct probe_dns_answer a;
    answer_of(l, f, last, &a);
    if (!tls_list_empty(&l->waiters))
        f->told = true; /* the first waiter hears of the addresses over the cap, no other */
    if (!last) {
        for (struct tls_list *q = tls_list_first(&l->waiters); q;
             q = tls_list_next(&l->waiters, q)) {
            struct probe_dns_waiter *w = TLS_LIST_ENTRY(q, struct probe_dns_waiter, node);
            w->cb(w->ctx, &a);
            a.n_dropped = 0;
        }
        return;
    }
    for (struct tls_list *q; (q = tls_list_first(&l->waiters));) {
        struct probe_dns_waiter *w = TLS_LIST_ENTRY(q, struct probe_dns_waiter, node);
        tls_list_remove(q);
        w->lookup = NULL;
        w->cb(w->ctx, &a);
        a.n_dropped = 0;
    }
}

/* Every family has answered: decide the name's failure, keep the answer for later waiters. */
static void lookup_settle(struct probe_resolver *r, struct probe_dns_lookup *l)
{
    const struct family *fa[2] = {&l->fam[0], &l->fam[1]};
    size_t n = 0, addrs = 0;
    for (size_t i = 0; i < 2; i++)
        if (l->fam[i].asked) {
            fa[n++] = &l->fam[i];
            addrs += l->fam[i].n_addrs;
        }
    if (addrs == 0) {
        /* NXDOMAIN from any family says the name does not exist; otherwise the first failure
         * that is not "no address of this family" says why; otherwise there is no address. */
        const struct family *pick = fa[0];
        for (size_t i = 0; i < n; i++)
            if (fa[i]->status == ARES_ENOTFOUND) {
                pick = fa[i];
                goto picked;
            }
        for (size_t i = 0; i < n; i++)
            if (fa[i]->status != ARES_ENODATA && fa[i]->status != ARES_SUCCESS) {
                pick = fa[i];
                goto picked;
            }
    picked:
        l->failed = true;
        l->status = pick->status == ARES_SUCCESS ? ARES_ENODATA : pick->status;
        l->error = dns_error_of(l->status);
        bool no_answer = l->status == ARES_ETIMEOUT || l->status == ARES_ECONNREFUSED;
        if (no_answer && l->rcode) /* the servers did answer, with a failure */
            l->error = l->rcode == 5 ? TLS_DNS_REFUSED : TLS_DNS_SERVER_FAILURE;
        else if (l->status == ARES_ETIMEOUT && r->nservers == 1 && l->chan && l->chan->refusals)
            l->error = TLS_DNS_UNREACHABLE; /* no answer, because nothing listens */
        l->kind = TLS_ERROR_DNS;
        if (l->status == ARES_ECANCELLED || l->status == ARES_EDESTRUCTION) {
            l->kind = TLS_ERROR_INTERRUPTED;
            l->error = TLS_DNS_NONE;
            snprintf(l->why, sizeof(l->why), "the lookup was cancelled");
        } else if (l->status == ARES_ENOMEM) {
            l->kind = TLS_ERROR_LOCAL;
            l->error = TLS_DNS_NONE;
            snprintf(l->why, sizeof(l->why), "out of memory");
        } else if (l->error == TLS_DNS_NO_ADDRESS && n == 1) {
            snprintf(l->why, sizeof(l->why), "the name has no %s address (--%s)",
                     fa[0]->af == AF_INET ? "IPv4" : "IPv6",
                     fa[0]->af == AF_INET ? "ipv4" : "ipv6");
        } else if (l->error == TLS_DNS_OTHER) {
            snprintf(l->why, sizeof(l->why), "%s", ares_strerror(l->status));
        } else {
            snprintf(l->why, sizeof(l->why), "%s", dns_error_words(l->error));
        }
        if (l->kind == TLS_ERROR_DNS)
            r->stats.failures++;
    }
    l->state = LOOKUP_DONE;
    r->pending--;
    /* Kept for later targets: answers that say what the name is (addresses, no such name, no
     * address), not a failure that may pass (a timeout, a server failure) nor a cancel. */
    bool lasting = true;
    for (size_t i = 0; i < n; i++)
        if (fa[i]->status != ARES_SUCCESS && fa[i]->status != ARES_ENOTFOUND &&
            fa[i]->status != ARES_ENODATA)
            lasting = false;
    if (!lasting) {
        lookup_unindex(r, l);
        l->hash = 0;
        return;
    }
    tls_list_insert_tail(&r->kept, &l->node);
    if (++r->n_kept > KEPT_MAX) {
        struct probe_dns_lookup *old =
            TLS_LIST_ENTRY(tls_list_first(&r->kept), struct probe_dns_lookup, node);
        tls_list_remove(&old->node);
        r->n_kept--;
        lookup_unindex(r, old);
        lookup_free(old);
    }
}

static void family_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    struct family *f = arg;
    struct probe_dns_lookup *l = f->lookup;
    struct probe_resolver *r = l->r;
    if (r->closing) { /* ares_destroy: nobody listens any more */
        ares_freeaddrinfo(res);
        if (--l->families_left == 0)
            lookup_free(l);
        return;
    }
    f->done = true;
    f->status = status;
    size_t n = 0;
    for (struct ares_addrinfo_node *a = res ? res->nodes : NULL; a; a = a->ai_next)
        if (a->ai_family == f->af && a->ai_addr)
            n++;
    if (n > PROBE_DNS_ADDRS_MAX)
        n = PROBE_DNS_ADDRS_MAX;
    if (n && (f->addrs = calloc(n, sizeof(*f->addrs))) == NULL) {
        f->status = ARES_ENOMEM;
        n = 0;
    }
    /* A server may repeat an address: it is kept once, and counted as dropped only when it is
     * new once the array is full (so that a repeated one never passes for one over the cap). */
    for (struct ares_addrinfo_node *a = res ? res->nodes : NULL; a && n; a = a->ai_next) {
        if (a->ai_family != f->af || a->ai_addr == NULL)
            continue;
        size_t len = f->af == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        if ((size_t)a->ai_addrlen < len)
            continue;
        union probe_sockaddr ss;
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, a->ai_addr, len);
        bool dup = false;
        for (size_t i = 0; i < f->n_addrs && !dup; i++)
            dup = memcmp(&f->addrs[i], &ss, sizeof(ss)) == 0;
        if (dup)
            continue;
        if (f->n_addrs < n)
            f->addrs[f->n_addrs++] = ss;
        else
            f->n_dropped++;
    }
    ares_freeaddrinfo(res);
    if (f->n_addrs == 0 && f->status == ARES_SUCCESS)
        f->status = ARES_ENODATA;
    bool last = --l->families_left == 0;
    if (last) {
        r->running--;
        if (l->chan)
            l->chan->running--;
        lookup_settle(r, l);
    }
    notify(l, f, last);
    if (last && l->hash == 0)
        lookup_free(l); /* not kept */
    if (last && !r->cancelling)
        start_queued(r);
}

static int chan_open(struct probe_resolver *r, struct chan **out);

/* The channel with the fewest names in flight; a new one when all have CHANNEL_NAMES (or the
 * first, when a new one cannot be had). */
static struct chan *chan_pick(struct probe_resolver *r)
{
    struct chan *best = r->chans[0];
    for (size_t i = 1; i < r->n_chans; i++)
        if (r->chans[i]->running < best->running)
            best = r->chans[i];
    struct chan *c;
    if (best->running >= CHANNEL_NAMES && r->n_chans < CHANNELS_MAX && chan_open(r, &c) == 0)
        return c; /* not reached with the channels opened at the start */
    return best;
}

static void lookup_start(struct probe_resolver *r, struct probe_dns_lookup *l)
{
    l->state = LOOKUP_RUNNING;
    l->chan = chan_pick(r);
    l->chan->running++;
    r->running++;
    r->stats.lookups++;
    if (r->running > r->stats.peak_in_flight)
        r->stats.peak_in_flight = r->running;
    l->families_left = (unsigned)l->fam[0].asked + (unsigned)l->fam[1].asked;
    /* c-ares may answer at once (a hosts file line, a numeric name): the callback then runs
     * inside ares_getaddrinfo, and may settle l before the second family is asked. */
    bool ask[2] = {l->fam[0].asked, l->fam[1].asked};
    for (size_t i = 0; i < 2; i++) {
        if (!ask[i])
            continue;
        struct ares_addrinfo_hints hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = l->fam[i].af;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = ARES_AI_NOSORT;
        ares_getaddrinfo(l->chan->channel, l->name, NULL, &hints, family_cb, &l->fam[i]);
    }
    timer_soon(r);
}

static void start_queued(struct probe_resolver *r)
{
    if (r->starting)
        return; /* the loop below goes on */
    r->starting = true;
    while (!r->closing && r->running < r->opts.concurrency && !tls_list_empty(&r->queue)) {
        struct probe_dns_lookup *l =
            TLS_LIST_ENTRY(tls_list_first(&r->queue), struct probe_dns_lookup, node);
        tls_list_remove(&l->node);
        lookup_start(r, l);
    }
    r->starting = false;
}

void probe_resolver_lookup(struct probe_resolver *r, const char *name, struct probe_dns_waiter *w,
                           probe_dns_cb *cb, void *ctx)
{
    char lower[256];
    size_t n = strlen(name);
    if (n > 253) { /* RFC 1035 2.3.4; the scheduler's targets never are */
        struct probe_dns_answer a = {.family = AF_INET,
                                     .last = true,
                                     .failed = true,
                                     .kind = TLS_ERROR_DNS,
                                     .error = TLS_DNS_BAD_NAME,
                                     .status = ARES_EBADNAME,
                                     .why = "the name is too long"};
        w->lookup = NULL;
        cb(ctx, &a);
        return;
    }
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    lower[n] = 0;
    w->cb = cb;
    w->ctx = ctx;
    tls_list_init(&w->node);
    uint64_t h = tls_fnv1a_str(lower, TLS_FNV1A_OFFSET) | 1; /* 0 marks an unindexed lookup */
    void **slot = tls_hashtab_find(&r->index, h, lookup_is, lower);
    struct probe_dns_lookup *l = slot ? *slot : NULL;
    if (l) {
        r->stats.shared++;
        w->lookup = l;
        if (l->state != LOOKUP_DONE) {
            tls_list_insert_tail(&l->waiters, &w->node);
            for (size_t i = 0; i < 2; i++) /* a family that answered already */
                if (l->fam[i].done) {
                    struct probe_dns_answer a;
                    answer_of(l, &l->fam[i], false, &a);
                    cb(ctx, &a);
                }
            return;
        }
        /* Kept: replay it, and make it the most recent. */
        tls_list_remove(&l->node);
        tls_list_insert_tail(&r->kept, &l->node);
        const struct family *fa[2];
        size_t k = 0;
        for (size_t i = 0; i < 2; i++)
            if (l->fam[i].asked)
                fa[k++] = &l->fam[i];
        w->lookup = NULL;
        for (size_t i = 0; i < k; i++) {
            struct probe_dns_answer a;
            answer_of(l, fa[i], i + 1 == k, &a);
            cb(ctx, &a);
        }
        return;
    }
    if ((l = calloc(1, sizeof(*l) + n + 1)) == NULL || tls_hashtab_insert(&r->index, h, l) != 0) {
        free(l);
        struct probe_dns_answer a;
        memset(&a, 0, sizeof(a));
        a.family = AF_INET;
        a.last = a.failed = true;
        a.kind = TLS_ERROR_LOCAL;
        a.status = ARES_ENOMEM;
        a.why = "out of memory";
        w->lookup = NULL;
        cb(ctx, &a);
        return;
    }
    memcpy(l->name, lower, n + 1);
    l->r = r;
    l->hash = h;
    tls_list_init(&l->waiters);
    tls_list_init(&l->node);
    l->fam[0] = (struct family){.lookup = l, .af = AF_INET, .asked = r->opts.ipv4};
    l->fam[1] = (struct family){.lookup = l, .af = AF_INET6, .asked = r->opts.ipv6};
    w->lookup = l;
    tls_list_insert_tail(&l->waiters, &w->node);
    r->pending++;
    if (r->running < r->opts.concurrency && tls_list_empty(&r->queue) && !r->cancelling)
        lookup_start(r, l);
    else
        tls_list_insert_tail(&r->queue, &l->node);
}

size_t probe_resolver_pending(const struct probe_resolver *r)
{
    return r->pending;
}

const struct probe_dns_stats *probe_resolver_stats(const struct probe_resolver *r)
{
    return &r->stats;
}

void probe_resolver_cancel(struct probe_resolver *r)
{
    if (r == NULL || r->closing)
        return;
    r->cancelling = true;
    /* Queued lookups never reach c-ares: each family "answers" cancelled at once. */
    for (struct tls_list *q; (q = tls_list_first(&r->queue));) {
        struct probe_dns_lookup *l = TLS_LIST_ENTRY(q, struct probe_dns_lookup, node);
        tls_list_remove(q);
        l->state = LOOKUP_RUNNING;
        r->running++;
        l->families_left = (unsigned)l->fam[0].asked + (unsigned)l->fam[1].asked;
        for (size_t i = 0; i < 2; i++)
            if (l->fam[i].asked)
                family_cb(&l->fam[i], ARES_ECANCELLED, 0, NULL);
    }
    for (size_t i = 0; i < r->n_chans; i++) {
        ares_channel ch = r->chans[i]->channel;
        ares_cancel(ch); /* the running ones call back with ARES_ECANCELLED */
#if ARES_VERSION < 0x011400
        /* c-ares before 1.20 frees a cancelled query but not its TCP send still queued, and
         * would write that send from freed memory when the socket turns writable
         * (tests/fuzz/fuzz_dns.c, fixtures/fuzz/dns/cancel-tcp-queued). With no query left,
         * setting the same servers again closes their connections and drops the queue. */
        struct ares_addr_port_node *servers = NULL;
        int rc = ares_get_servers_ports(ch, &servers);
        if (rc == ARES_SUCCESS && servers)
            rc = ares_set_servers_ports(ch, servers);
        ares_free_data(servers);
        if (rc != ARES_SUCCESS) /* then c-ares is never told the sockets are writable */
            for (struct tls_list *q = tls_list_first(&r->socks), *next; q; q = next) {
                next = tls_list_next(&r->socks, q);
                struct sock *k = TLS_LIST_ENTRY(q, struct sock, node);
                if (k->c == r->chans[i]) {
                    k->c = NULL;
                    sock_close(k);
                }
            }
#endif
    }
    r->cancelling = false;
    timer_update(r);
}

void probe_resolver_close(struct probe_resolver *r)
{
    if (r == NULL || r->closing)
        return;
    r->closing = true;
    /* Queued lookups are not in c-ares; running ones are freed by their ARES_EDESTRUCTION
     * callbacks; kept ones here. */
    for (struct tls_list *q; (q = tls_list_first(&r->queue));) {
        tls_list_remove(q);
        lookup_free(TLS_LIST_ENTRY(q, struct probe_dns_lookup, node));
    }
    for (struct tls_list *q; (q = tls_list_first(&r->kept));) {
        tls_list_remove(q);
        lookup_free(TLS_LIST_ENTRY(q, struct probe_dns_lookup, node));
    }
    for (size_t i = 0; i < r->n_chans; i++)
        ares_destroy(r->chans[i]->channel);
    tls_hashtab_free(&r->index);
    for (struct tls_list *q; (q = tls_list_first(&r->socks));) {
        struct sock *k = TLS_LIST_ENTRY(q, struct sock, node);
        k->c = NULL;
        sock_close(k);
    }
    for (size_t i = 0; i < r->n_chans; i++)
        free(r->chans[i]);
    free(r->chans);
    uv_close((uv_handle_t *)&r->timer, resolver_handle_closed_cb);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static int channel_new(void *data, int timeout_ms, ares_channel *out)
{
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    int mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_EDNSPSZ;
    /* c-ares asks the next server after SERVFAIL, NOTIMP or REFUSED, as glibc does; what the
     * servers said is noted on the way in (note_rcode). */
    o.flags = ARES_FLAG_STAYOPEN | ARES_FLAG_EDNS;
    o.sock_state_cb = sock_state_cb;
    o.sock_state_cb_data = data;
    o.ednspsz = EDNS_SIZE;
    if (timeout_ms > 0) {
        mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
        o.timeout = timeout_ms;
        o.tries = TRIES;
    }
    return ares_init_options(out, &o, mask);
}

/* Open one more channel: the first one's options, servers and socket calls. */
static int chan_open(struct probe_resolver *r, struct chan **out)
{
    if (r->n_chans == r->chans_max) {
        size_t cap = r->chans_max ? 2 * r->chans_max : 4;
        struct chan **cs = realloc(r->chans, cap * sizeof(*cs));
        if (cs == NULL)
            return ARES_ENOMEM;
        r->chans = cs;
        r->chans_max = cap;
    }
    struct chan *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ARES_ENOMEM;
    c->r = r;
    int rc = channel_new(c, r->per_try_ms, &c->channel);
    if (rc == ARES_SUCCESS && r->opts.servers)
        rc = ares_set_servers_ports_csv(c->channel, r->opts.servers);
    if (rc != ARES_SUCCESS) {
        if (c->channel)
            ares_destroy(c->channel);
        free(c);
        return rc;
    }
    if (r->opts.sock_funcs)
        ares_set_socket_functions(c->channel, r->opts.sock_funcs, r->opts.sock_ctx);
    else
        ares_set_socket_functions(c->channel, &sys_socket_functions, c);
    r->chans[r->n_chans++] = c;
    *out = c;
    return ARES_SUCCESS;
}

int probe_resolver_new(struct probe_resolver **out, const struct probe_resolver_opts *opts,
                       char *why, size_t why_len)
{
    static bool initialised;
    if (!initialised) {
        int rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS) {
            snprintf(why, why_len, "c-ares: %s", ares_strerror(rc));
            return TLS_E_IO;
        }
        initialised = true;
    }
    struct probe_resolver *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return TLS_E_NOMEM;
    r->loop = opts->loop;
    r->opts = *opts;
    if (r->opts.concurrency == 0)
        r->opts.concurrency = 1;
    tls_list_init(&r->socks);
    tls_list_init(&r->queue);
    tls_list_init(&r->kept);
    tls_hashtab_init(&r->index);
    /* A first channel to learn how many servers there are: the deadline is shared among them. */
    ares_channel ch;
    int rc = channel_new(NULL, 0, &ch);
    size_t nservers = 0;
    if (rc == ARES_SUCCESS) {
        if (opts->servers)
            rc = ares_set_servers_ports_csv(ch, opts->servers);
        struct ares_addr_port_node *servers = NULL;
        if (rc == ARES_SUCCESS && ares_get_servers_ports(ch, &servers) == ARES_SUCCESS)
            for (struct ares_addr_port_node *s = servers; s; s = s->next)
                nservers++;
        ares_free_data(servers);
        ares_destroy(ch);
    }
    r->nservers = nservers;
    uint64_t per_try = opts->timeout_ms / (TRY_SHARES * (nservers ? nservers : 1));
    r->per_try_ms = per_try ? (int)(per_try > 3600000 ? 3600000 : per_try) : 1;
    /* Every channel the names in flight will need, now: opening one reads resolv.conf, which
     * must not happen on the loop in the middle of the scan. */
    size_t want = probe_resolver_fds(r->opts.concurrency, 0);
    struct chan *c;
    for (size_t i = 0; rc == ARES_SUCCESS && i < want; i++)
        rc = chan_open(r, &c);
    if (rc != ARES_SUCCESS) {
        snprintf(why, why_len, "cannot set up the resolver (%s): %s",
                 opts->servers ? "--dns-server" : "/etc/resolv.conf", ares_strerror(rc));
        for (size_t i = 0; i < r->n_chans; i++) {
            ares_destroy(r->chans[i]->channel);
            free(r->chans[i]);
        }
        free(r->chans);
        free(r);
        return rc == ARES_ENOMEM ? TLS_E_NOMEM : TLS_E_IO;
    }
    uv_timer_init(r->loop, &r->timer);
    r->timer.data = r;
    r->open_handles = 1;
    *out = r;
    return 0;
}
