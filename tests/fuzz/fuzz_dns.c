/* libFuzzer target for the resolver stage (probe/resolver.c): c-ares on a libuv loop, answered
 * with fuzzed DNS responses through c-ares's socket functions. Each socket c-ares asks for is one
 * end of an AF_UNIX socketpair; the harness plays the server at the other end. It must never reach
 * a network: nothing here binds, connects or sends to an IP address. Every name must end in
 * answers that keep resolver.h's promises; a broken one aborts.
 *
 * Input: two octets of header, then the server's responses, each a 2-octet big-endian length and
 * that many octets (the last one may be cut short), served one per query in the order c-ares sends
 * its queries (retries and TCP fallbacks included). Unless the header says otherwise the query's
 * ID is written over a response's first two octets, so that c-ares takes it as the answer.
 *   octet 0: bits 0-1  families asked: 0 A, 1 AAAA, 2 and 3 both
 *            bit 2     every UDP query gets a truncated answer (TC): the responses go over TCP
 *            bit 3     the responses keep the IDs they have
 *            bits 4-5  when the responses run out: 0 and 3 the server hangs up (a read error on
 *                      UDP, end of stream on TCP), 1 sending fails at once, 2 the server stays
 *                      silent and c-ares's timeouts end the lookup (7 ms in all)
 *   octet 1: bits 0-1  when the name is looked up again (in other letter case): 0 and 3 at once,
 *                      sharing the lookup; 1 after the name's first answer (joining a lookup
 *                      with one family answered); 2 after its last (the kept answer)
 *            bit 2     --dns-concurrency 1: the second name waits in the queue
 *            bits 3-4  after the first answer: 1 probe_resolver_cancel, 2 probe_resolver_close
 * The names are under .invalid (RFC 6761), which no hosts file answers, and end with a dot so
 * that no search domain of resolv.conf adds queries. Seeds: tests/fuzz/dns_seeds.py. */
#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "probe/resolver.h"
#include "tests/fuzz/fuzz.h"

#define NAME1 "a.fuzz.invalid."
#define NAME1_AGAIN "A.Fuzz.INVALID."
#define NAME2 "b.fuzz.invalid."
#define SOCKS_MAX 16
#define TCP_IN_MAX 4096
/* A lookup ends within this much wall time, however slow the machine (valgrind included). */
#define DEADLINE_MS 20000

enum run_out { RUN_OUT_HANG_UP, RUN_OUT_SEND_FAILS, RUN_OUT_SILENT };
enum again { AGAIN_AT_ONCE, AGAIN_AFTER_FIRST, AGAIN_AFTER_LAST };

struct fsock {
    int fd, peer; /* c-ares's end, the server's; fd -1: free */
    int type;
    bool hung_up;
    size_t in_len; /* TCP: query octets not yet framed */
    uint8_t in[TCP_IN_MAX];
};

struct waiter {
    struct probe_dns_waiter w;
    struct server *h;
    bool started, done;
    unsigned heard; /* families answered: 1 AF_INET, 2 AF_INET6 */
    size_t addrs;
};

struct server {
    const uint8_t *next; /* responses not served yet */
    size_t left;
    unsigned families;
    bool tcp, fuzzed_ids, closed;
    enum run_out run_out;
    enum again again;
    unsigned stop; /* 1 cancel, 2 close after the first answer */
    unsigned long progress, answers;
    uv_timer_t tick; /* wakes a turn of the loop that would wait for nothing */
    struct fsock socks[SOCKS_MAX];
    struct waiter w[3];
};

static struct fsock *sock_of(struct server *h, ares_socket_t fd)
{
    for (size_t i = 0; i < SOCKS_MAX; i++)
        if (h->socks[i].fd == fd)
            return &h->socks[i];
    abort(); /* c-ares used a descriptor it was not given */
}

static ares_socket_t fsock_open(int af, int type, int protocol, void *ctx)
{
    struct server *h = ctx;
    (void)protocol;
    if (af != AF_INET || (type != SOCK_DGRAM && type != SOCK_STREAM))
        abort(); /* the one server is 127.0.0.1 */
    h->progress++;
    for (size_t i = 0; i < SOCKS_MAX; i++) {
        struct fsock *s = &h->socks[i];
        if (s->fd >= 0)
            continue;
        int sv[2];
        if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
            return ARES_SOCKET_BAD;
        *s = (struct fsock){.fd = sv[0], .peer = sv[1], .type = type};
        return sv[0];
    }
    errno = EMFILE;
    return ARES_SOCKET_BAD;
}

static int fsock_close(ares_socket_t fd, void *ctx)
{
    struct server *h = ctx;
    struct fsock *s = sock_of(h, fd);
    h->progress++;
    close(s->fd);
    close(s->peer);
    s->fd = s->peer = -1;
    return 0;
}

static int fsock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *ctx)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
    (void)sock_of(ctx, fd);
    if (len < (ares_socklen_t)sizeof(*sin) || sin->sin_family != AF_INET ||
        sin->sin_addr.s_addr != htonl(INADDR_LOOPBACK) || sin->sin_port != htons(53))
        abort(); /* c-ares wants a server the harness did not configure */
    return 0;
}

/* The server is gone: UDP reads fail (as after ICMP port unreachable), TCP reads end. */
static void fsock_hang_up(struct fsock *s)
{
    if (s->hung_up)
        return;
    s->hung_up = true;
    if (s->type == SOCK_STREAM)
        shutdown(s->peer, SHUT_WR);
    else
        (void)!send(s->peer, "", 0, MSG_DONTWAIT); /* wakes c-ares's poll */
}

/* Answer one query (q: a whole DNS message) with the next response. Returns -1 when the send is
 * to fail. */
static int serve(struct server *h, struct fsock *s, const uint8_t *q, size_t qlen)
{
    uint8_t buf[2 + 65535];
    if (qlen < 12)
        abort(); /* c-ares's own query */
    if (s->type == SOCK_DGRAM && h->tcp) {
        memcpy(buf, q, qlen);
        buf[2] |= 0x82; /* QR, TC */
        (void)!send(s->peer, buf, qlen, MSG_DONTWAIT);
        return 0;
    }
    if (h->left < 2) /* the server hangs up once c-ares has read what it has (stalled) */
        return h->run_out == RUN_OUT_SEND_FAILS ? -1 : 0;
    size_t n = (size_t)h->next[0] << 8 | h->next[1];
    if (n > h->left - 2)
        n = h->left - 2;
    memcpy(buf + 2, h->next + 2, n);
    h->next += 2 + n;
    h->left -= 2 + n;
    if (!h->fuzzed_ids)
        memcpy(buf + 2, q, n < 2 ? n : 2);
    if (s->type == SOCK_DGRAM) {
        (void)!send(s->peer, buf + 2, n, MSG_DONTWAIT);
    } else {
        buf[0] = (uint8_t)(n >> 8);
        buf[1] = (uint8_t)n;
        (void)!send(s->peer, buf, n + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return 0;
}

static ares_ssize_t fsock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *ctx)
{
    struct server *h = ctx;
    struct fsock *s = sock_of(h, fd);
    uint8_t msg[TCP_IN_MAX];
    size_t len = 0;
    h->progress++;
    if (s->hung_up) {
        errno = EPIPE;
        return -1;
    }
    /* A datagram is one query; a stream is queries framed by their lengths (RFC 1035 4.2.2). */
    uint8_t *to = s->type == SOCK_DGRAM ? msg : s->in + s->in_len;
    size_t room = s->type == SOCK_DGRAM ? sizeof(msg) : sizeof(s->in) - s->in_len;
    for (int i = 0; i < n; i++) {
        size_t k = iov[i].iov_len < room - len ? iov[i].iov_len : room - len;
        memcpy(to + len, iov[i].iov_base, k);
        len += k;
    }
    if (len == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (s->type == SOCK_DGRAM) {
        if (serve(h, s, msg, len) != 0) {
            errno = ECONNREFUSED;
            return -1;
        }
        return (ares_ssize_t)len;
    }
    s->in_len += len;
    while (s->in_len >= 2 && s->in_len >= 2 + ((size_t)s->in[0] << 8 | s->in[1])) {
        size_t qlen = (size_t)s->in[0] << 8 | s->in[1];
        if (serve(h, s, s->in + 2, qlen) != 0) {
            errno = ECONNRESET;
            return -1;
        }
        memmove(s->in, s->in + 2 + qlen, s->in_len - 2 - qlen);
        s->in_len -= 2 + qlen;
    }
    return (ares_ssize_t)len;
}

static ares_ssize_t fsock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                   struct sockaddr *from, ares_socklen_t *from_len, void *ctx)
{
    struct server *h = ctx;
    struct fsock *s = sock_of(h, fd);
    ssize_t n = recv(fd, buf, len, flags);
    int err = errno;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        errno = err;
        return -1;
    }
    h->progress++;
    if (s->type == SOCK_DGRAM && s->hung_up) {
        errno = ECONNREFUSED;
        return -1;
    }
    /* c-ares 1.18 takes UDP answers only from the server's address. */
    if (n >= 0 && from && from_len && *from_len >= (ares_socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        memcpy(from, &sin, sizeof(sin));
        *from_len = sizeof(sin);
    }
    errno = err;
    return n;
}

static const struct ares_socket_functions fsock_funcs = {
    .asocket = fsock_open,
    .aclose = fsock_close,
    .aconnect = fsock_connect,
    .arecvfrom = fsock_recvfrom,
    .asendv = fsock_sendv,
};

static bool same_addr(const union probe_sockaddr *a, const union probe_sockaddr *b)
{
    if (a->sa.sa_family == AF_INET)
        return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* resolver.h's promises, for every answer. */
static void waiter_cb(void *ctx, const struct probe_dns_answer *a)
{
    struct waiter *w = ctx;
    struct server *h = w->h;
    unsigned fam = a->family == AF_INET ? 1 : a->family == AF_INET6 ? 2 : 0;
    if (w->done || h->closed || !fam || !(h->families & fam) || (w->heard & fam))
        abort(); /* one answer per family asked, nothing after the last */
    w->heard |= fam;
    if (a->n_addrs > PROBE_DNS_ADDRS_MAX || (a->n_addrs && a->addrs == NULL) ||
        (a->n_dropped && a->n_addrs != PROBE_DNS_ADDRS_MAX))
        abort();
    for (size_t i = 0; i < a->n_addrs; i++) {
        const union probe_sockaddr *ss = &a->addrs[i];
        if (ss->sa.sa_family != a->family || ss->in.sin_port != 0)
            abort();
        for (size_t j = 0; j < i; j++)
            if (same_addr(&a->addrs[j], ss))
                abort(); /* a repeated address is probed once */
    }
    w->addrs += a->n_addrs;
    if (a->failed) {
        bool kind_ok = a->kind == TLS_ERROR_DNS || a->kind == TLS_ERROR_INTERRUPTED ||
                       a->kind == TLS_ERROR_LOCAL;
        if (!a->last || a->n_addrs || !kind_ok || a->why == NULL || a->why[0] == '\0' ||
            !fuzz_text_is_clean(a->why, strlen(a->why)) || strstr(a->why, "fuzz") ||
            (a->kind == TLS_ERROR_DNS) != (a->error != TLS_DNS_NONE))
            abort();
    }
    if (a->last) {
        /* Every family was heard, and the name failed exactly when none gave an address. */
        if (w->heard != h->families || a->failed != (w->addrs == 0))
            abort();
        w->done = true;
    }
    h->answers++;
    h->progress++;
}

static void waiter_start(struct server *h, struct probe_resolver *r, size_t i, const char *name)
{
    struct waiter *w = &h->w[i];
    w->started = true;
    probe_resolver_lookup(r, name, &w->w, waiter_cb, w);
}

static bool all_done(const struct server *h)
{
    if (h->closed)
        return true;
    for (size_t i = 0; i < 3; i++)
        if (!h->w[i].done)
            return false;
    return true;
}

/* Between turns of the loop, what the scan would do: start the late lookup, stop. */
static void scan_step(struct server *h, struct probe_resolver *r)
{
    if (h->stop && h->answers && !h->closed) {
        if (h->stop == 1) {
            probe_resolver_cancel(r);
        } else {
            probe_resolver_close(r);
            h->closed = true;
        }
        h->stop = 0;
    }
    if (!h->closed && !h->w[1].started &&
        (h->w[0].done || (h->again == AGAIN_AFTER_FIRST && h->w[0].heard)))
        waiter_start(h, r, 1, NAME1_AGAIN);
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Nothing happened in a turn: every answer written is read, so the server hangs up (unless it
 * stays silent), and c-ares's timer is what is left. The turn that runs it may end every lookup
 * and then wait on the sockets c-ares keeps open: the tick ends that wait. */
static void stalled(struct server *h, uv_loop_t *loop)
{
    bool woke = false;
    for (size_t i = 0; h->run_out != RUN_OUT_SILENT && i < SOCKS_MAX; i++)
        if (h->socks[i].fd >= 0 && !h->socks[i].hung_up) {
            fsock_hang_up(&h->socks[i]);
            woke = true;
        }
    if (!woke) {
        uv_timer_start(&h->tick, tick_cb, 5, 0);
        uv_run(loop, UV_RUN_ONCE);
        uv_timer_stop(&h->tick);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct server *h = calloc(1, sizeof(*h));
    uv_loop_t loop;
    if (h == NULL || uv_loop_init(&loop) != 0) {
        free(h);
        return 0;
    }
    h->next = data + 2;
    h->left = size - 2;
    h->families = (data[0] & 3) == 0 ? 1 : (data[0] & 3) == 1 ? 2 : 3;
    h->tcp = data[0] & 4;
    h->fuzzed_ids = data[0] & 8;
    h->run_out = (data[0] >> 4 & 3) == 1   ? RUN_OUT_SEND_FAILS
                 : (data[0] >> 4 & 3) == 2 ? RUN_OUT_SILENT
                                           : RUN_OUT_HANG_UP;
    h->again = (data[1] & 3) == 1   ? AGAIN_AFTER_FIRST
               : (data[1] & 3) == 2 ? AGAIN_AFTER_LAST
                                    : AGAIN_AT_ONCE;
    h->stop = data[1] >> 3 & 3;
    for (size_t i = 0; i < SOCKS_MAX; i++)
        h->socks[i].fd = h->socks[i].peer = -1;
    for (size_t i = 0; i < 3; i++)
        h->w[i].h = h;
    uv_timer_init(&loop, &h->tick);
    struct probe_resolver_opts o = {
        .loop = &loop,
        .servers = "127.0.0.1:53",
        .timeout_ms = h->run_out == RUN_OUT_SILENT ? 7 : 700,
        .concurrency = data[1] & 4 ? 1 : 2,
        .ipv4 = h->families & 1,
        .ipv6 = h->families & 2,
        .sock_funcs = &fsock_funcs,
        .sock_ctx = h,
    };
    struct probe_resolver *r = NULL;
    char why[256];
    if (probe_resolver_new(&r, &o, why, sizeof(why)) != 0)
        abort();

    waiter_start(h, r, 0, NAME1);
    if (h->again == AGAIN_AT_ONCE)
        waiter_start(h, r, 1, NAME1_AGAIN);
    waiter_start(h, r, 2, NAME2);
    uint64_t start = uv_now(&loop);
    while (!all_done(h)) {
        scan_step(h, r);
        if (all_done(h))
            break;
        unsigned long before = h->progress;
        uv_run(&loop, UV_RUN_NOWAIT);
        if (h->progress == before)
            stalled(h, &loop);
        uv_update_time(&loop);
        if (probe_resolver_pending(r) > 2 || uv_now(&loop) - start > DEADLINE_MS)
            abort(); /* a name that never ends */
    }
    /* The scan's loop goes on after the last answer (other probes run): let it turn while
     * c-ares has something to do, with the server still there. */
    for (int i = 0; i < 16 && !h->closed; i++) {
        unsigned long before = h->progress;
        uv_run(&loop, UV_RUN_NOWAIT);
        if (h->progress == before)
            break;
    }
    if (!h->closed) {
        if (probe_resolver_pending(r) != 0 || probe_resolver_stats(r)->lookups == 0)
            abort();
        probe_resolver_close(r);
        h->closed = true;
    }
    uv_close((uv_handle_t *)&h->tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < SOCKS_MAX; i++)
        if (h->socks[i].fd >= 0)
            abort(); /* c-ares closes what it opened when the channel goes */
    if (uv_loop_close(&loop) != 0)
        abort(); /* a handle of the resolver outlived it */
    free(h);
    return 0;
}
