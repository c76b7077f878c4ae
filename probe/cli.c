/* Command line: options of DESIGN.md's contract, target collection, and the run. The only
 * place that decides the exit status. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"
#include "probe.h"
#include "request.h"
#include "report/baseline.h"
#include "report/writer.h"
#include "tls/wire/error.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define EXIT_TARGET_ERRORS 3

#define DEFAULT_CONCURRENCY 1024
#define DEFAULT_PER_ADDRESS 32
#define DEFAULT_MAX_CIDR 65536
#define JSONL_CACHE_BYTES (8 * 1024 * 1024) /* rendered CA names reused across records */
#define FD_RESERVE 64 /* descriptors kept for output, input files, resolver, libuv */
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CAPTURE_LIMIT (256 * 1024)
#define MAX_PORTS 64

static const char usage_text[] =
    "Usage: caprobe [OPTIONS] TARGET...\n"
    "Connect to TLS servers and show the CA names each one sends in its CertificateRequest:\n"
    "the list that decides which client certificates browsers and HTTP clients offer.\n"
    "\n"
    "Targets:\n"
    "  TARGET                   host[:port] | ipv4[:port] | [ipv6]:port | CIDR[:port]\n"
    "                           (CIDR: 10.0.0.0/24, 10.0.0.0/24:8443, [2001:db8::/120]:443)\n"
    "  -i, --input FILE         targets from FILE ('-' for stdin), one per line, '#' comments;\n"
    "                           read as the scan goes, a bad line becomes an error record\n"
    "  -p, --ports LIST         port(s) for targets without one, e.g. 443,8443 (default 443)\n"
    "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT instead of using DNS\n"
    "      --max-cidr N         addresses one CIDR range may expand to (default 65536)\n"
    "      --shard K/N          probe only the K-th of N deterministic parts of the list\n"
    "\n"
    "Variants (each is probed on its own connection):\n"
    "      --tls LIST           TLS versions: 1.2, 1.3 or 1.2,1.3 (default 1.2,1.3)\n"
    "      --sni NAME           also probe with this server name (host names are always\n"
    "                           probed with their own name and without SNI)\n"
    "      --request PATH       complete each handshake, send GET PATH (Host: the target or\n"
    "                           the SNI name), record the status and Server header, and\n"
    "                           capture the CertificateRequest of a renegotiation the server\n"
    "                           starts (IIS without 'Negotiate Client Certificate', Apache\n"
    "                           per-location SSLVerifyClient): phase \"renegotiation\"\n"
    "\n"
    "Expectations and rules:\n"
    "      --expect-ca FILE     PEM (or DER) certificates of the CAs that should be advertised;\n"
    "                           repeatable: expected-ca-missing, unexpected-ca\n"
    "      --client-cert FILE   PEM chain of a client certificate that must be offerable:\n"
    "                           client-cert-not-offered (byte-exact vs canonical match)\n"
    "      --policy FILE        per-target expectations and rule severities (YAML, see\n"
    "                           docs/policy.md); --expect-ca / --client-cert apply where it\n"
    "                           says nothing\n"
    "      --baseline FILE      an earlier JSON Lines scan: baseline-drift when a list changed\n"
    "                           (high when the server certificate changed too)\n"
    "      --public-roots FILE  root bundle for root-store-dump and public-ca-accepted\n"
    "                           (default: the system bundle)\n"
    "      --fail-on SEVERITY   exit 1 on a finding at or above info|low|medium|high|critical\n"
    "                           (default high)\n"
    "      --explain RULE       what a rule means and how to fix its causes, then exit\n"
    "                           (--explain all: every rule)\n"
    "\n"
    "Output:\n"
    "      --format FORMAT      text, jsonl, sarif (SARIF 2.1.0) or junit (JUnit XML)\n"
    "                           (default text)\n"
    "  -o, --output FILE        write the report to FILE instead of standard output\n"
    "  -q, --quiet              no progress and no summary on standard error\n"
    "      --progress, --no-progress  progress line on standard error (default: when it is\n"
    "                           a terminal)\n"
    "\n"
    "Limits:\n"
    "  -c, --concurrency N      probes in flight at most (default 1024, or what the open-file\n"
    "                           limit allows)\n"
    "      --per-address N      probes in flight to one address at most (default 32; 0: no cap)\n"
    "      --rate N             new connections per second at most (default: no cap)\n"
    "      --timeout SECONDS    deadline of one probe, connect to capture, or to the\n"
    "                           response with --request (default 10)\n"
    "      --connect-timeout SECONDS    deadline of the TCP connect (default: --timeout)\n"
    "      --handshake-timeout SECONDS  from connected to capture complete (default: --timeout)\n"
    "      --retries N          attempts more after a transient connect failure (timeout,\n"
    "                           unreachable, reset before any byte; never a refusal)\n"
    "                           (default 0)\n"
    "      --capture-limit BYTES  bytes read from one server at most, 4096 to 16777216\n"
    "                           (default 262144)\n"
    "\n"
    "      --fail-on-error      exit 3 when some target could not be probed\n"
    "  -h, --help               this text\n"
    "  -V, --version            version of caprobe and mbedTLS\n"
    "\n"
    "Exit status: 0 done; 1 findings at or above --fail-on; 2 usage or input error (a bad\n"
    "TARGET argument stops before anything is scanned; a bad line of a -i file is recorded\n"
    "and the rest is scanned); 3 some targets could not be probed\n"
    "and --fail-on-error was given; 130 / 143 stopped by SIGINT / SIGTERM (every record\n"
    "finished so far is written).\n"
    "\n"
    "       caprobe diff OLD.jsonl NEW.jsonl [--format text|jsonl]\n"
    "what changed per target between two scans (exit 0 none, 1 changes, 2 error).\n"
    "JSON Lines schema and examples: docs/output.md; rules: docs/rules.md.\n";

enum {
    OPT_RESOLVE = 256,
    OPT_SNI,
    OPT_TLS,
    OPT_FORMAT,
    OPT_TIMEOUT,
    OPT_CAPTURE_LIMIT,
    OPT_FAIL_ON_ERROR,
    OPT_PER_ADDRESS,
    OPT_RATE,
    OPT_CONNECT_TIMEOUT,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_RETRIES,
    OPT_SHARD,
    OPT_MAX_CIDR,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_EXPECT_CA,
    OPT_CLIENT_CERT,
    OPT_PUBLIC_ROOTS,
    OPT_FAIL_ON,
    OPT_EXPLAIN,
    OPT_POLICY,
    OPT_BASELINE,
    OPT_REQUEST,
};

static const struct option long_opts[] = {
    {"input", required_argument, NULL, 'i'},
    {"ports", required_argument, NULL, 'p'},
    {"resolve", required_argument, NULL, OPT_RESOLVE},
    {"sni", required_argument, NULL, OPT_SNI},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"tls", required_argument, NULL, OPT_TLS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"concurrency", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"capture-limit", required_argument, NULL, OPT_CAPTURE_LIMIT},
    {"fail-on-error", no_argument, NULL, OPT_FAIL_ON_ERROR},
    {"per-address", required_argument, NULL, OPT_PER_ADDRESS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"max-cidr", required_argument, NULL, OPT_MAX_CIDR},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"expect-ca", required_argument, NULL, OPT_EXPECT_CA},
    {"client-cert", required_argument, NULL, OPT_CLIENT_CERT},
    {"public-roots", required_argument, NULL, OPT_PUBLIC_ROOTS},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"explain", required_argument, NULL, OPT_EXPLAIN},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Whole-document formats (report/writer.h): one document for the scan, written as it goes. */
enum cli_doc {
    CLI_DOC_NONE,
    CLI_DOC_SARIF,
    CLI_DOC_JUNIT,
};

struct cli {
    struct probe_opts opts;
    struct report_opts report;
    enum cli_doc doc;
    struct report_sarif *sarif;
    struct report_junit *junit;
    uint16_t ports[MAX_PORTS];
    size_t n_ports;
    struct probe_resolve *resolves;
    size_t n_resolves;
    const char **files;
    size_t n_files;
    unsigned shard_k, shard_n;
    uint64_t cidr_max;
    int progress; /* -1: when stderr is a terminal */
    bool concurrency_set;
    uint64_t connect_timeout_ms, handshake_timeout_ms; /* 0: --timeout */
    const char *output;
    bool quiet, fail_on_error;
    FILE *out;
    int write_error;
    /* rules */
    const char **expect_files;
    size_t n_expect;
    const char *client_cert, *public_roots;
    const char *policy_file;
    struct probe_policy *policy;
    const char *baseline_file;
    struct report_baseline *baseline;
    enum report_severity fail_on;
    struct probe_expect expect;
    struct report_context rules;
    int max_severity; /* of all findings, -1 when none */
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caprobe: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'caprobe --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, uint64_t *ms)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || end == s || !(d > 0 && d <= 3600))
        return -1;
    *ms = (uint64_t)(d * 1000 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

static int parse_ports(struct cli *c, const char *list)
{
    c->n_ports = 0;
    char buf[512];
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long long v;
        if (c->n_ports == MAX_PORTS || parse_uint(tok, 65535, &v) || v == 0)
            return -1;
        c->ports[c->n_ports++] = (uint16_t)v;
    }
    return c->n_ports ? 0 : -1;
}

static int parse_tls(struct cli *c, const char *list)
{
    bool v12 = false, v13 = false;
    char buf[64];
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "1.2") == 0)
            v12 = true;
        else if (strcmp(tok, "1.3") == 0)
            v13 = true;
        else
            return -1;
    }
    c->opts.n_versions = 0;
    if (v12)
        c->opts.versions[c->opts.n_versions++] = 0x0303;
    if (v13)
        c->opts.versions[c->opts.n_versions++] = 0x0304;
    return c->opts.n_versions ? 0 : -1;
}

static int parse_shard(struct cli *c, const char *s)
{
    unsigned long long k, n;
    char buf[64];
    const char *slash = strchr(s, '/');
    if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    if (parse_uint(buf, 1000000, &k) || parse_uint(slash + 1, 1000000, &n) || n == 0 || k == 0 ||
        k > n)
        return -1;
    c->shard_k = (unsigned)k;
    c->shard_n = (unsigned)n;
    return 0;
}

/* Command-line targets are checked before anything is scanned: a typo there is a usage error. */
static int check_arg_target(const struct cli *c, const char *text)
{
    const char *why;
    int rc;
    if (strchr(text, '/')) {
        struct probe_cidr cidr;
        rc = probe_cidr_parse(text, &cidr, c->cidr_max, &why);
    } else {
        struct probe_target_spec t;
        rc = probe_target_parse(text, 0, &t, &why);
    }
    if (rc) {
        fprintf(stderr, "caprobe: target '%s': %s\n", text, why);
        return EXIT_USAGE;
    }
    return 0;
}

/* Raise the open-file limit as far as allowed; shrink the concurrency to fit under it. */
static void fit_open_files(struct cli *c)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)c->opts.concurrency + FD_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        unsigned fit = rl.rlim_cur > FD_RESERVE + 1 ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 1;
        if (c->concurrency_set || !c->quiet)
            fprintf(stderr,
                    "caprobe: concurrency %u lowered to %u: the open-file limit is %llu "
                    "(raise it with 'ulimit -n')\n",
                    c->opts.concurrency, fit, (unsigned long long)rl.rlim_cur);
        c->opts.concurrency = fit;
    }
}

static int emit(void *ctx, const struct report_target *t)
{
    struct cli *c = ctx;
    if (t->input_error && !c->quiet)
        fprintf(stderr, "%scaprobe: %s: target '%s' skipped\n", c->opts.progress ? "\r\033[K" : "",
                t->input_error, t->target);
    struct report_findings findings;
    report_findings_init(&findings);
    struct report_target with = *t;
    if (!t->input_error) {
        struct report_context rules = c->rules;
        probe_policy_apply(c->policy, t, &rules);
        rules.baseline = report_baseline_find(c->baseline, t->target);
        if (report_rules_run(t, &rules, &findings) != 0) {
            report_findings_free(&findings);
            return TLS_E_NOMEM;
        }
        with.findings = &findings;
        int max = report_findings_max(&findings);
        if (max > c->max_severity)
            c->max_severity = max;
    }
    errno = 0;
    int rc = c->sarif   ? report_sarif_target(c->sarif, &with)
             : c->junit ? report_junit_target(c->junit, &with)
                        : report_target_write(c->out, &c->report, &with);
    report_findings_free(&findings);
    if (rc)
        c->write_error = errno ? errno : EIO;
    return rc;
}

static int run(struct cli *c, const char *const *args, size_t n_args)
{
    c->out = stdout;
    if (c->output && (c->out = fopen(c->output, "w")) == NULL) {
        fprintf(stderr, "caprobe: cannot write %s: %s\n", c->output, strerror(errno));
        return EXIT_USAGE;
    }
    if (c->report.format == REPORT_TEXT && c->output == NULL && isatty(STDOUT_FILENO)) {
        const char *nc = getenv("NO_COLOR");
        c->report.color = nc == NULL || *nc == 0;
    }
    c->opts.progress = c->progress < 0 ? !c->quiet && isatty(STDERR_FILENO) : c->progress;
    c->opts.connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : c->opts.timeout_ms;
    c->opts.handshake_timeout_ms =
        c->handshake_timeout_ms ? c->handshake_timeout_ms : c->opts.timeout_ms;
    c->opts.resolves = c->resolves;
    c->opts.n_resolves = c->n_resolves;
    c->opts.emit = emit;
    c->opts.emit_ctx = c;
    fit_open_files(c);
    report_context_init(&c->rules);
    c->max_severity = -1;
    if (probe_expect_load(&c->expect, c->expect_files, c->n_expect, c->client_cert,
                          c->public_roots) != 0)
        return EXIT_USAGE;
    probe_expect_apply(&c->expect, &c->rules);
    if (c->policy_file && probe_policy_load(&c->policy, c->policy_file) != 0)
        return EXIT_USAGE;
    if (c->baseline_file) {
        char why[1024];
        if (report_baseline_load(&c->baseline, c->baseline_file, why, sizeof(why)) != 0) {
            fprintf(stderr, "caprobe: --baseline %s\n", why);
            return EXIT_USAGE;
        }
    }

    struct probe_input_opts io = {
        .args = args,
        .n_args = n_args,
        .files = c->files,
        .n_files = c->n_files,
        .ports = c->ports,
        .n_ports = c->n_ports,
        .shard_k = c->shard_k,
        .shard_n = c->shard_n,
        .cidr_max = c->cidr_max,
    };
    struct probe_input *in = NULL;
    int rc = report_jsonl_cache_new(&c->report.jsonl_cache, JSONL_CACHE_BYTES);
    if (rc == 0 && c->doc == CLI_DOC_SARIF)
        rc = report_sarif_begin(&c->sarif, c->out, CAPROBE_VERSION);
    if (rc == 0 && c->doc == CLI_DOC_JUNIT)
        rc = report_junit_begin(&c->junit, c->out, CAPROBE_VERSION, c->fail_on);
    if (rc == 0)
        rc = probe_input_new(&in, &io);
    struct probe_stats st;
    memset(&st, 0, sizeof(st));
    if (rc == 0)
        rc = probe_scan_run(&c->opts, in, &st);
    probe_input_free(in);
    /* close the document also after a failed or interrupted scan: what it holds stays valid */
    int doc_rc = c->sarif ? report_sarif_end(c->sarif) : report_junit_end(c->junit);
    c->sarif = NULL;
    c->junit = NULL;
    if (doc_rc && !c->write_error)
        c->write_error = doc_rc == TLS_E_NOMEM ? ENOMEM : EIO;
    report_jsonl_cache_free(c->report.jsonl_cache);
    c->report.jsonl_cache = NULL;
    if (c->out != stdout && fclose(c->out) != 0 && !c->write_error)
        c->write_error = errno;
    if (c->write_error) {
        fprintf(stderr, "caprobe: writing the report failed: %s\n", strerror(c->write_error));
        return EXIT_USAGE;
    }
    if (rc) {
        if (rc != TLS_E_IO) /* unreadable input was reported where it happened */
            fprintf(stderr, "caprobe: scan failed: %s\n", tls_err_str(rc));
        return EXIT_USAGE;
    }
    if (!c->quiet) {
        /* one write, so that it does not interleave with a report piped to the same terminal */
        char line[512];
        int n =
            snprintf(line, sizeof(line),
                     "caprobe: %llu target%s, %llu probe%s: %llu with a certificate request, "
                     "%llu without, %llu error%s",
                     (unsigned long long)st.targets, st.targets == 1 ? "" : "s",
                     (unsigned long long)st.probes, st.probes == 1 ? "" : "s",
                     (unsigned long long)st.with_request, (unsigned long long)st.without_request,
                     (unsigned long long)st.errors, st.errors == 1 ? "" : "s");
        if (st.input_errors && n > 0 && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, ", %llu bad target line%s",
                          (unsigned long long)st.input_errors, st.input_errors == 1 ? "" : "s");
        if (st.retries && n > 0 && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, ", %llu retr%s",
                          (unsigned long long)st.retries, st.retries == 1 ? "y" : "ies");
        if (n > 0 && (size_t)n < sizeof(line))
            snprintf(line + n, sizeof(line) - (size_t)n, "%s\n", st.signal ? " (interrupted)" : "");
        fputs(line, stderr);
    }
    if (st.signal)
        return 128 + st.signal;
    if (st.input_errors)
        return EXIT_USAGE;
    if (c->max_severity >= (int)c->fail_on)
        return EXIT_FINDINGS;
    if (st.errors && c->fail_on_error)
        return EXIT_TARGET_ERRORS;
    return 0;
}

static void explain_one(const struct report_rule *r)
{
    printf("%s (default severity %s)\n  %s\n\n", r->name, report_severity_name(r->severity),
           r->title);
    printf("What it means:\n  %s\n\nHow to fix:\n  %s\n", r->help, r->remedy);
}

static int explain(const char *name)
{
    if (strcmp(name, "all") == 0) {
        for (int i = 0; i < REPORT_RULE_COUNT; i++) {
            if (i)
                printf("\n");
            explain_one(report_rule_get((enum report_rule_id)i));
        }
        return 0;
    }
    const struct report_rule *r = report_rule_find(name);
    if (r == NULL) {
        fprintf(stderr, "caprobe: --explain: no rule '%s'; the rules are:", name);
        for (int i = 0; i < REPORT_RULE_COUNT; i++)
            fprintf(stderr, " %s", report_rule_get((enum report_rule_id)i)->name);
        fprintf(stderr, "\n");
        return EXIT_USAGE;
    }
    explain_one(r);
    return 0;
}

static int diff_main(int argc, char **argv)
{
    static const struct option diff_opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, opt;
    while ((opt = getopt_long(argc, argv, "h", diff_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                json = 0;
            else if (strcmp(optarg, "jsonl") == 0)
                json = 1;
            else {
                fprintf(stderr,
                        "caprobe diff: --format: expected text or jsonl, got '%s'\n"
                        "Try 'caprobe diff --help'.\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            fputs("Usage: caprobe diff OLD.jsonl NEW.jsonl [--format text|jsonl]\n"
                  "What changed per target between two JSON Lines scans ('-': standard input):\n"
                  "targets added or removed, names added or removed, a certificate request\n"
                  "that appeared or disappeared, another server certificate or outcome.\n"
                  "Exit status: 0 no differences, 1 differences, 2 usage or input error.\n",
                  stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'caprobe diff --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "caprobe diff: expected two files, OLD.jsonl and NEW.jsonl\n"
                        "Try 'caprobe diff --help'.\n");
        return EXIT_USAGE;
    }
    return report_diff_run(argv[optind], argv[optind + 1], json, stdout, stderr);
}

int probe_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "diff") == 0)
        return diff_main(argc - 1, argv + 1);
    struct cli c;
    memset(&c, 0, sizeof(c));
    c.opts.versions[0] = 0x0303;
    c.opts.versions[1] = 0x0304;
    c.opts.n_versions = 2;
    c.opts.concurrency = DEFAULT_CONCURRENCY;
    c.opts.per_address = DEFAULT_PER_ADDRESS;
    c.opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    c.opts.capture_limit = DEFAULT_CAPTURE_LIMIT;
    c.ports[0] = 443;
    c.n_ports = 1;
    c.cidr_max = DEFAULT_MAX_CIDR;
    c.progress = -1;
    c.report.format = REPORT_TEXT;
    c.fail_on = REPORT_SEV_HIGH;
    probe_expect_init(&c.expect);
    int rc = EXIT_USAGE, opt;
    unsigned long long v;
    const char *why;

    while ((opt = getopt_long(argc, argv, "i:p:o:qc:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i': {
            const char **f = realloc(c.files, (c.n_files + 1) * sizeof(*f));
            if (f == NULL)
                goto out;
            c.files = f;
            c.files[c.n_files++] = optarg;
            break;
        }
        case 'p':
            if (parse_ports(&c, optarg)) {
                rc = usage_error("--ports: expected port numbers 1-65535 separated by commas, "
                                 "got '%s'",
                                 optarg);
                goto out;
            }
            break;
        case OPT_RESOLVE: {
            struct probe_resolve *r = realloc(c.resolves, (c.n_resolves + 1) * sizeof(*r));
            if (r == NULL)
                goto out;
            c.resolves = r;
            if (probe_resolve_parse(optarg, &r[c.n_resolves], &why)) {
                rc = usage_error("--resolve '%s': %s", optarg, why);
                goto out;
            }
            c.n_resolves++;
            break;
        }
        case OPT_SNI: {
            struct probe_target_spec t;
            if (probe_target_parse(optarg, 443, &t, &why) || t.family != AF_UNSPEC ||
                strchr(optarg, ':')) {
                rc = usage_error("--sni: '%s' is not a host name", optarg);
                goto out;
            }
            c.opts.extra_sni = optarg;
            break;
        }
        case OPT_REQUEST:
            if ((why = probe_request_path_check(optarg))) {
                rc = usage_error("--request '%s': %s", optarg, why);
                goto out;
            }
            c.opts.request_path = optarg;
            break;
        case OPT_TLS:
            if (parse_tls(&c, optarg)) {
                rc = usage_error("--tls: expected 1.2, 1.3 or 1.2,1.3, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_FORMAT:
            c.doc = CLI_DOC_NONE;
            if (strcmp(optarg, "text") == 0)
                c.report.format = REPORT_TEXT;
            else if (strcmp(optarg, "jsonl") == 0)
                c.report.format = REPORT_JSONL;
            else if (strcmp(optarg, "sarif") == 0)
                c.doc = CLI_DOC_SARIF;
            else if (strcmp(optarg, "junit") == 0)
                c.doc = CLI_DOC_JUNIT;
            else {
                rc =
                    usage_error("--format: expected text, jsonl, sarif or junit, got '%s'", optarg);
                goto out;
            }
            break;
        case 'o':
            c.output = optarg;
            break;
        case 'q':
            c.quiet = true;
            break;
        case OPT_PROGRESS:
            c.progress = 1;
            break;
        case OPT_NO_PROGRESS:
            c.progress = 0;
            break;
        case 'c':
            if (parse_uint(optarg, 1000000, &v) || v == 0) {
                rc = usage_error("--concurrency: expected a number from 1 to 1000000, got '%s'",
                                 optarg);
                goto out;
            }
            c.opts.concurrency = (unsigned)v;
            c.concurrency_set = true;
            break;
        case OPT_PER_ADDRESS:
            if (parse_uint(optarg, 1000000, &v)) {
                rc = usage_error("--per-address: expected a number (0: no cap), got '%s'", optarg);
                goto out;
            }
            c.opts.per_address = (unsigned)v;
            break;
        case OPT_RATE: {
            char *end;
            double d = strtod(optarg, &end);
            if (*end || end == optarg || !(d > 0 && d <= 10000000)) {
                rc = usage_error("--rate: expected connections per second (> 0), got '%s'", optarg);
                goto out;
            }
            c.opts.rate = d;
            break;
        }
        case OPT_TIMEOUT:
        case OPT_CONNECT_TIMEOUT:
        case OPT_HANDSHAKE_TIMEOUT: {
            uint64_t ms;
            if (parse_seconds(optarg, &ms)) {
                rc = usage_error("--%s: expected seconds (0 < s <= 3600), got '%s'",
                                 opt == OPT_TIMEOUT           ? "timeout"
                                 : opt == OPT_CONNECT_TIMEOUT ? "connect-timeout"
                                                              : "handshake-timeout",
                                 optarg);
                goto out;
            }
            if (opt == OPT_TIMEOUT)
                c.opts.timeout_ms = ms;
            else if (opt == OPT_CONNECT_TIMEOUT)
                c.connect_timeout_ms = ms;
            else
                c.handshake_timeout_ms = ms;
            break;
        }
        case OPT_RETRIES:
            if (parse_uint(optarg, 10, &v)) {
                rc = usage_error("--retries: expected a number from 0 to 10, got '%s'", optarg);
                goto out;
            }
            c.opts.retries = (unsigned)v;
            break;
        case OPT_SHARD:
            if (parse_shard(&c, optarg)) {
                rc = usage_error("--shard: expected K/N with 1 <= K <= N, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_MAX_CIDR:
            if (parse_uint(optarg, 1ULL << 32, &v) || v == 0) {
                rc = usage_error("--max-cidr: expected a number from 1 to 4294967296, got '%s'",
                                 optarg);
                goto out;
            }
            c.cidr_max = v;
            break;
        case OPT_CAPTURE_LIMIT:
            if (parse_uint(optarg, 16u << 20, &v) || v < 4096) {
                rc = usage_error("--capture-limit: expected bytes from 4096 to 16777216, got '%s'",
                                 optarg);
                goto out;
            }
            c.opts.capture_limit = (size_t)v;
            break;
        case OPT_FAIL_ON_ERROR:
            c.fail_on_error = true;
            break;
        case OPT_EXPECT_CA: {
            const char **f = realloc(c.expect_files, (c.n_expect + 1) * sizeof(*f));
            if (f == NULL)
                goto out;
            c.expect_files = f;
            c.expect_files[c.n_expect++] = optarg;
            break;
        }
        case OPT_POLICY:
            c.policy_file = optarg;
            break;
        case OPT_BASELINE:
            c.baseline_file = optarg;
            break;
        case OPT_CLIENT_CERT:
            c.client_cert = optarg;
            break;
        case OPT_PUBLIC_ROOTS:
            c.public_roots = optarg;
            break;
        case OPT_FAIL_ON:
            if (report_severity_parse(optarg, &c.fail_on)) {
                rc = usage_error(
                    "--fail-on: expected info, low, medium, high or critical, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_EXPLAIN:
            rc = explain(optarg);
            goto out;
        case 'h':
            fputs(usage_text, stdout);
            rc = 0;
            goto out;
        case 'V':
            printf("caprobe %s (mbedTLS %s)\n", CAPROBE_VERSION, CAPROBE_MBEDTLS_VERSION);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "Try 'caprobe --help'.\n");
            goto out;
        }
    }
    for (int i = optind; i < argc; i++)
        if ((rc = check_arg_target(&c, argv[i])))
            goto out;
    if (optind == argc && c.n_files == 0) {
        rc = usage_error("%s", "no targets given (TARGET arguments or -i FILE)");
        goto out;
    }
    rc = run(&c, (const char *const *)argv + optind, (size_t)(argc - optind));
out:
    report_baseline_free(c.baseline);
    probe_policy_free(c.policy);
    probe_expect_free(&c.expect);
    free(c.expect_files);
    free(c.files);
    free(c.resolves);
    return rc;
}
