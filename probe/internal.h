/* Private declarations shared by the files of the probe module: the target list, the certificates
 * and the policy the rules compare against. The scheduler and one connection have their own
 * headers (conn.h, outcome.h), so that their dependency stays one-way. */
#ifndef PROBE_INTERNAL_H
#define PROBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "probe.h"
#include "report/rules.h"
#include "tls/certfile.h"

/* ---- cli.c: the command line as a configuration -------------------------------------------- */

#define PROBE_EXIT_FINDINGS 1
#define PROBE_EXIT_USAGE 2
#define PROBE_EXIT_TARGET_ERRORS 3
/* The reader of the output went away (`| head`): quiet, as a process SIGPIPE ends. */
#define PROBE_EXIT_READER_GONE (128 + 13)

#define PROBE_MAX_PORTS 64

enum probe_action {
    PROBE_ACTION_SCAN,
    PROBE_ACTION_HELP,
    PROBE_ACTION_VERSION,
    PROBE_ACTION_EXPLAIN, /* --explain RULE */
};

/* Whole-document formats (report/writer.h): one document for the scan, written as it goes. */
enum probe_doc {
    PROBE_DOC_NONE,
    PROBE_DOC_SARIF,
    PROBE_DOC_JUNIT,
    PROBE_DOC_OPENMETRICS,
};

/* Every setting of the command line. Parsing fills it from the arguments and does nothing else;
 * the run (run.c) consumes it. Strings point into argv. */
struct probe_config {
    enum probe_action action;
    const char *explain; /* the rule of --explain */
    /* The scheduler's settings, complete but for what the run decides (emit, progress). */
    struct probe_opts scan;
    bool concurrency_set; /* -c was given: lowering it to fit the open-file limit is told */
    /* Targets */
    const char *const *targets; /* TARGET arguments, checked */
    size_t n_targets;
    const char **files; /* -i FILE */
    size_t n_files;
    uint16_t ports[PROBE_MAX_PORTS];
    size_t n_ports;
    struct probe_resolve *resolves;
    size_t n_resolves;
    char *dns_servers; /* --dns-server, as c-ares's list */
    size_t n_dns_servers;
    unsigned shard_k, shard_n; /* n == 0: no --shard */
    uint64_t cidr_max;
    enum tls_starttls_proto starttls; /* --starttls PROTO; NONE with auto and none */
    bool starttls_ports;              /* --starttls auto (the default): by port */
    /* Output */
    enum report_format format;
    enum probe_doc doc;
    const char *output; /* NULL: standard output */
    bool quiet;
    int progress; /* -1: when standard error is a terminal */
    int color;    /* --color: -1 auto, 0 never, 1 always */
    size_t names; /* --names: CA names shown per list in the text report */
    /* Rules */
    const char **expect_files;
    size_t n_expect;
    const char *client_cert, *public_roots, *policy_file, *baseline_file, *netsh_file;
    const char *client_key, *client_key_password; /* --client-key, --client-key-password-file */
    enum report_severity fail_on;
    bool fail_on_error;
};

/* The defaults of every option; probe_config_free releases what parsing allocated. */
void probe_config_init(struct probe_config *c);
void probe_config_free(struct probe_config *c);
/* Read argv (getopt_long, so optind moves). Returns 0, with c->action saying what to do, or the
 * exit status of a usage error, told on err with the option named. */
int probe_config_parse(struct probe_config *c, int argc, char **argv, FILE *err);
/* --help's text. */
void probe_usage(FILE *out);
/* caprobe report SCAN [--baseline OLD] [--format ...] [--names N|all] [-o FILE] (argv[0] is
 * "report"): the fleet report of report/fleet.h. Returns the exit status. */
int probe_report_main(int argc, char **argv);

/* ---- run.c: a scan from a configuration ------------------------------------------------------ */

/* Load what the rules compare against, open the output, scan, evaluate the rules per target and
 * write each record; the summary goes to standard error. Returns the exit status. */
int probe_run(const struct probe_config *c);

/* ---- scan.c: a scan on the caller's loop (the exporter) ----------------------------------------
 */

struct uv_loop_s;
struct probe_scan;

/* The scan has emitted every record and closed its handles: rc is 0 or the scan's own failure
 * (as probe_scan_run's). s may be freed (probe_scan_free) from within the callback. */
typedef void probe_scan_done_fn(void *ctx, int rc);

/* Start scanning input on loop, with no signal handles and no progress line (opts->progress is
 * ignored); records are emitted as in probe_scan_run, the first possibly from within this call.
 * Returns 0 with *out, and done comes later from the loop, exactly once; or an error, with *out
 * NULL and nothing started. opts, input and stats must live until done. */
int probe_scan_start(struct probe_scan **out, struct uv_loop_s *loop, const struct probe_opts *opts,
                     struct probe_input *input, struct probe_stats *stats, probe_scan_done_fn *done,
                     void *done_ctx);
/* Stop now: no new probe starts; names being looked up and variants not started end as
 * interrupted, probes in flight are interrupted at once (errors "the deadline passed"). Every
 * record is still emitted, then done comes. Nothing once the scan is ending. */
void probe_scan_stop(struct probe_scan *s);
/* After done (or never started): the scan's memory. NULL: nothing. */
void probe_scan_free(struct probe_scan *s);

/* ---- explain.c: --explain RULE --------------------------------------------------------------- */

/* What a rule means and how to fix its causes ("all": every rule), on out; an unknown rule is
 * a usage error told on err. Returns the exit status. */
int probe_explain(const char *rule, FILE *out, FILE *err);

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
    /* STARTTLS for targets that are not URLs (a URL's scheme decides its own): starttls when
     * not NONE (--starttls PROTO), else the port table when starttls_ports (--starttls auto) */
    enum tls_starttls_proto starttls;
    bool starttls_ports;
};

/* One unit of the target list: a target to probe, or a bad line to report. */
struct probe_input_item {
    struct probe_target_spec spec;    /* when error is "" */
    enum tls_starttls_proto starttls; /* spoken before the TLS bytes; NONE: TLS at once */
    bool by_port; /* starttls came from the port table (--starttls auto, no URL) */
    /* An https URL's path and query, for --request; NULL: none. Valid until the next
     * probe_input_next: a target that keeps it copies it. */
    const char *path;
    const char *ignored;              /* a URL's path taken and not used (probe_entry's) */
    char error[PROBE_HOST_MAX + 160]; /* why the line is not a target; "" when it is one */
    char text[PROBE_HOST_MAX + 64]; /* the line as written, a password as ***, for error records */
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

struct tls_identity;

struct probe_expect {
    struct probe_certs expected, chain;
    struct tls_certfile roots;
    uint8_t (*root_hashes)[32];
    struct report_roots roots_view;
    bool has_roots;
    struct tls_identity *identity; /* --client-key: the chain's certificate and its key */
    struct report_presented presented;
    char invalid[96]; /* presented.invalid's text */
};

void probe_expect_init(struct probe_expect *e);
void probe_expect_free(struct probe_expect *e);
/* Load the files; a failure is printed (naming the file and line) and returned. Without
 * roots_file the first system bundle found is used, and none found is not an error. */
int probe_expect_load(struct probe_expect *e, const char *const *expect_files, size_t n_expect,
                      const char *client_cert, const char *roots_file);
/* --client-key after probe_expect_load (which loaded --client-cert): the key, and the
 * passphrase file of an encrypted one (NULL: none); now is the scan's start, for the
 * certificate's validity. A failure is printed and returned. */
int probe_expect_load_key(struct probe_expect *e, const char *key_file, const char *password_file,
                          int64_t now);
void probe_expect_apply(const struct probe_expect *e, struct report_context *ctx);

/* ---- policy.c: --policy ------------------------------------------------------------------ */

struct probe_policy;
/* Load the policy and the certificate files it names; errors are printed as POLICY:LINE:COL. */
int probe_policy_load(struct probe_policy **out, const char *path);
void probe_policy_free(struct probe_policy *pp);
/* Apply the target's entry (if any) to ctx, a copy of the command line's context. */
void probe_policy_apply(const struct probe_policy *pp, const struct report_target *t,
                        struct report_context *ctx);

#endif
