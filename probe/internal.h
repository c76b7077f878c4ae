/* Private declarations shared by the files of the probe module. */
#ifndef PROBE_INTERNAL_H
#define PROBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <uv.h>

#include "probe.h"
#include "report/rules.h"
#include "tls/certfile.h"
#include "tls/wire/observation.h"

/* ---- input.c: the streamed target list ------------------------------------------------- */

struct probe_input;

struct probe_input_opts {
    const char *const *args; /* targets from the command line, already validated */
    size_t n_args;
    const char *const *files; /* -i FILE ('-' is stdin), read one line at a time */
    size_t n_files;
    const uint16_t *ports; /* for targets without a port */
    size_t n_ports;
    unsigned shard_k, shard_n; /* keep the k-th (1-based) of n parts; n == 0: all */
    uint64_t cidr_max;         /* addresses one CIDR range may expand to */
};

/* One unit of the target list: a target to probe, or a bad line to report. */
struct probe_input_item {
    struct probe_target_spec spec;  /* when error is NULL */
    const char *error;              /* static reason the line is not a target */
    char text[PROBE_HOST_MAX + 64]; /* the line as written (for error records) */
    char where[320];                /* "FILE:LINE" or "argument N" */
};

int probe_input_new(struct probe_input **out, const struct probe_input_opts *opts);
void probe_input_free(struct probe_input *in);
/* 1 with *item, 0 at the end of the list, PROBE_INPUT_WAIT when a pipe has no line yet (ask
 * again later; the scan is not blocked), or TLS_E_IO (a file could not be read: the message has
 * been printed). Duplicates and other shards' targets are skipped here. */
#define PROBE_INPUT_WAIT 2
int probe_input_next(struct probe_input *in, struct probe_input_item *item);
/* Targets and bad lines handed out so far, and whether the list has ended. */
uint64_t probe_input_count(const struct probe_input *in);
bool probe_input_ended(const struct probe_input *in);

/* Deterministic 64-bit hash (FNV-1a) of a string, for shards and duplicate removal. */
uint64_t probe_hash(const char *s, uint64_t seed);

/* ---- certs.c: certificate sets the rules compare against ---------------------------------- */

/* Certificates loaded from files (--expect-ca, --client-cert, a policy's expect_ca and
 * client_cert) and the rule engine's view of them. */
struct probe_certs {
    struct tls_certfile file;
    struct report_cert *v;    /* the view's certificates: views into file */
    struct report_certs view; /* source NULL until a file is loaded */
};

void probe_certs_init(struct probe_certs *c);
void probe_certs_free(struct probe_certs *c);
/* Add the certificates of path; the view then holds all added so far, named source (copied) in
 * findings. A file that cannot be used is printed, "caprobe: NAMED_BY FILE[:LINE]: why"
 * (named_by: "--expect-ca", "--policy P:3:14: expect_ca:"), and its error returned. */
int probe_certs_load(struct probe_certs *c, const char *path, const char *named_by,
                     const char *source);
/* The view, or NULL when no file has been loaded. */
const struct report_certs *probe_certs_view(const struct probe_certs *c);

/* ---- expect.c: what the command line expects ----------------------------------------------- */

struct probe_expect {
    struct probe_certs expected, chain;
    struct tls_certfile roots;
    uint8_t (*root_hashes)[32];
    struct report_roots roots_view;
    bool has_roots;
};

void probe_expect_init(struct probe_expect *e);
void probe_expect_free(struct probe_expect *e);
/* Load the files; a failure is printed (naming the file and line) and returned. Without
 * roots_file the first system bundle found is used, and none found is not an error. */
int probe_expect_load(struct probe_expect *e, const char *const *expect_files, size_t n_expect,
                      const char *client_cert, const char *roots_file);
void probe_expect_apply(const struct probe_expect *e, struct report_context *ctx);

/* ---- policy.c: --policy ------------------------------------------------------------------ */

struct probe_policy;
/* Load the policy and the certificate files it names; errors are printed as POLICY:LINE:COL. */
int probe_policy_load(struct probe_policy **out, const char *path);
void probe_policy_free(struct probe_policy *pp);
/* Apply the target's entry (if any) to ctx, a copy of the command line's context. */
void probe_policy_apply(const struct probe_policy *pp, const struct report_target *t,
                        struct report_context *ctx);

/* ---- scan.c and conn.c: the scheduler and one connection ---------------------------------- */

struct probe_scan;
struct probe_conn;

enum probe_variant_state {
    VARIANT_PENDING, /* not started, or waiting for a retry at not_before */
    VARIANT_RUNNING,
    VARIANT_DONE, /* its observation is final */
};

struct probe_variant {
    size_t addr;     /* index into target->addrs */
    const char *sni; /* NULL: no SNI */
    uint16_t version;
    enum probe_variant_state state;
    unsigned attempts;
    uint64_t not_before; /* loop time before which a retry may not start */
    bool renegotiated;   /* with --request: its renegotiation observation is filled */
};

struct probe_target {
    struct probe_target *next, *prev;             /* in the scan's list of open targets */
    struct probe_target *ready_prev, *ready_next; /* in its list of targets with pending variants */
    bool ready;
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

/* In-flight count per address, for --per-address. */
struct probe_addr_count {
    struct probe_addr_count *next;
    uint8_t key[17]; /* family, then 16 address bytes */
    unsigned count;
};

#define SCAN_ADDR_BUCKETS 4096

struct probe_scan {
    uv_loop_t loop;
    const struct probe_opts *opts;
    struct probe_input *input;
    struct tls_client *tls;
    struct tls_name_cache *names; /* decoded CA names shared by all observations */
    struct probe_target *open_head, *open_tail;
    size_t n_open;
    struct probe_target *ready_head, *ready_tail; /* resolved, with pending variants: O(1) picks */
    struct probe_conn *conns;                     /* in flight, for interruption */
    unsigned active;
    bool input_done;
    int fatal; /* a failure of the scan itself (emit failed, out of memory, input unreadable) */
    struct probe_stats *stats;
    /* --rate */
    uint64_t rate_start_ms, started;
    uv_timer_t wake; /* pump again at a retry's or the rate's next slot */
    bool wake_armed;
    /* signals and progress */
    uv_signal_t sigint, sigterm;
    uv_timer_t stop_timer, progress_timer;
    int stopping; /* the signal received, 0 while running */
    bool progress_shown;
    uint64_t start_ms;
    struct probe_addr_count *addr_buckets[SCAN_ADDR_BUCKETS];
    char readbuf[64 * 1024]; /* one read at a time: libuv calls read_cb synchronously */
};

/* request.c: --request */
#define PROBE_REQUEST_MAX 4096
/* "GET path HTTP/1.1" with Host (host, bracketed when IPv6, ":port" unless 443), User-Agent,
 * Accept and Connection: close. Returns its length, or -1 when it does not fit. */
int probe_request_format(char *buf, size_t cap, const char *path, const char *host, uint16_t port);
/* NULL when path is usable in a request line, else a static reason. */
const char *probe_request_path_check(const char *path);

/* conn.c */
int probe_conn_start(struct probe_scan *s, struct probe_target *t, size_t vi);
/* End an in-flight probe now with an interruption error (SIGINT, SIGTERM). */
void probe_conn_interrupt(struct probe_conn *c);
struct probe_conn *probe_conn_next(struct probe_conn *c);

/* scan.c, called by conn.c */
/* The variant's probe ended; retry: it should run again after delay_ms (transient failure). */
void probe_scan_conn_done(struct probe_scan *s, struct probe_target *t, size_t vi, bool retry,
                          uint64_t delay_ms);
void probe_scan_addr_add(struct probe_scan *s, const struct sockaddr_storage *a, int delta);
unsigned probe_scan_addr_get(struct probe_scan *s, const struct sockaddr_storage *a);

#endif
