/* The resolver stage: host names to addresses with c-ares on the scan's libuv loop. A and AAAA
 * are asked in parallel and each family's answer is handed on as it comes, so probes of a name
 * start with its first address. One lookup per name serves every target that names it (ports,
 * variants, repeated lines), and recent answers are kept for targets that come later. Lookups in
 * flight are capped (--dns-concurrency); the others wait in order. The deadline per name
 * (--dns-timeout) is c-ares's own: its tries and per-try timeouts are set to end by it. */
#ifndef PROBE_RESOLVER_H
#define PROBE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "tls/wire/list.h"
#include "tls/wire/observation.h"

/* Addresses of one family kept per name; more are counted and dropped. */
#define PROBE_DNS_ADDRS_MAX 64

struct ares_socket_functions;
struct probe_dns_lookup;
struct probe_resolver;

struct probe_resolver_opts {
    uv_loop_t *loop;
    const char *servers;  /* c-ares's list "ADDR:PORT,[V6]:PORT", or NULL: resolv.conf's */
    uint64_t timeout_ms;  /* per name, all tries included */
    unsigned concurrency; /* names in flight at most */
    bool ipv4, ipv6;      /* the families asked for (at least one) */
    /* Fuzzing and tests: c-ares talks through these instead of real sockets. */
    const struct ares_socket_functions *sock_funcs;
    void *sock_ctx;
};

/* An address as c-ares gives it: 28 bytes at most, not a sockaddr_storage's 128 (answers are
 * kept, up to 64 addresses of each family per name). */
union probe_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* One family's answer for a name, handed to every waiter of the name. */
struct probe_dns_answer {
    int family;                        /* AF_INET or AF_INET6 */
    const union probe_sockaddr *addrs; /* port 0; in the server's order */
    size_t n_addrs;
    size_t n_dropped; /* addresses over PROBE_DNS_ADDRS_MAX (one repeated among those may
                         count twice); non-zero only with n_addrs at the maximum */
    bool last;        /* the waiter hears nothing more of this lookup */
    /* With last, when no family gave an address: why (kind TLS_ERROR_DNS, TLS_ERROR_INTERRUPTED
     * when the lookup was cancelled, TLS_ERROR_LOCAL when this machine failed), c-ares's status
     * and a message without the name ("no such name (NXDOMAIN)"). */
    bool failed;
    enum tls_error_kind kind;
    enum tls_dns_error error;
    int status;
    const char *why;
};

/* Called on the loop, possibly from within probe_resolver_lookup (a cached answer, a hosts file
 * line): the callee must not call back into the resolver. After an answer with last, the waiter
 * is free to go. */
typedef void probe_dns_cb(void *ctx, const struct probe_dns_answer *a);

/* The caller's part of a lookup, embedded in its own struct. */
struct probe_dns_waiter {
    struct tls_list node;
    struct probe_dns_lookup *lookup; /* resolver.c's, while linked */
    probe_dns_cb *cb;
    void *ctx;
};

/* Per scan: counts for the summary and the benchmark. */
struct probe_dns_stats {
    uint64_t lookups;  /* names sent to c-ares */
    uint64_t shared;   /* waiters served by a lookup in flight or a kept answer */
    uint64_t failures; /* names with no address */
    unsigned peak_in_flight;
};

/* Read resolv.conf (and the servers, when given), set up the channel. Returns 0, TLS_E_NOMEM,
 * or TLS_E_IO with a message in why. */
int probe_resolver_new(struct probe_resolver **out, const struct probe_resolver_opts *opts,
                       char *why, size_t why_len);
/* Ask for name's addresses; w is filled and linked until its last answer. */
void probe_resolver_lookup(struct probe_resolver *r, const char *name, struct probe_dns_waiter *w,
                           probe_dns_cb *cb, void *ctx);
/* Names waiting for the first answer or in flight. */
size_t probe_resolver_pending(const struct probe_resolver *r);
/* Stop: every waiter gets its last answer now, failed with TLS_ERROR_INTERRUPTED unless it had
 * addresses. */
void probe_resolver_cancel(struct probe_resolver *r);
/* Close the loop handles and free r once they are closed (the loop must run on). Waiters left
 * hear nothing more. NULL: nothing. */
void probe_resolver_close(struct probe_resolver *r);
const struct probe_dns_stats *probe_resolver_stats(const struct probe_resolver *r);

/* Descriptors the resolver may hold with concurrency names in flight and nservers servers:
 * a UDP socket per server and channel, and as many TCP ones. */
size_t probe_resolver_fds(unsigned concurrency, size_t nservers);
/* c-ares's version, for --version. */
const char *probe_resolver_version(void);

#endif
