/* Command line: options of DESIGN.md's contract, target collection, and the run. The only
 * place that decides the exit status. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "tls/error.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define EXIT_TARGET_ERRORS 3

#define DEFAULT_CONCURRENCY 256
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CAPTURE_LIMIT (256 * 1024)
#define MAX_PORTS 64

static const char usage_text[] =
    "Usage: caprobe [OPTIONS] TARGET...\n"
    "Connect to TLS servers and show the CA names each one sends in its CertificateRequest:\n"
    "the list that decides which client certificates browsers and HTTP clients offer.\n"
    "\n"
    "Targets:\n"
    "  TARGET                   host[:port] | ipv4[:port] | [ipv6]:port\n"
    "  -i, --input FILE         targets from FILE ('-' for stdin), one per line, '#' comments\n"
    "  -p, --ports LIST         port(s) for targets without one, e.g. 443,8443 (default 443)\n"
    "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT instead of using DNS\n"
    "\n"
    "Variants (each is probed on its own connection):\n"
    "      --tls LIST           TLS versions: 1.2, 1.3 or 1.2,1.3 (default 1.2,1.3)\n"
    "      --sni NAME           also probe with this server name (host names are always\n"
    "                           probed with their own name and without SNI)\n"
    "\n"
    "Output:\n"
    "      --format FORMAT      text or jsonl (default text)\n"
    "  -o, --output FILE        write the report to FILE instead of standard output\n"
    "  -q, --quiet              no summary on standard error\n"
    "\n"
    "Limits:\n"
    "  -c, --concurrency N      probes in flight at most (default 256)\n"
    "      --timeout SECONDS    deadline of one probe, connect to capture (default 10)\n"
    "      --capture-limit BYTES  bytes read from one server at most (default 262144)\n"
    "\n"
    "Exit status:\n"
    "      --fail-on-error      exit 3 when some target could not be probed\n"
    "  -h, --help               this text\n"
    "  -V, --version            version of caprobe and mbedTLS\n"
    "\n"
    "Exit status: 0 done; 1 findings at or above --fail-on; 2 usage or input error;\n"
    "3 some targets could not be probed and --fail-on-error was given.\n"
    "JSON Lines schema and examples: docs/output.md.\n";

enum {
    OPT_RESOLVE = 256,
    OPT_SNI,
    OPT_TLS,
    OPT_FORMAT,
    OPT_TIMEOUT,
    OPT_CAPTURE_LIMIT,
    OPT_FAIL_ON_ERROR,
};

static const struct option long_opts[] = {
    {"input", required_argument, NULL, 'i'},
    {"ports", required_argument, NULL, 'p'},
    {"resolve", required_argument, NULL, OPT_RESOLVE},
    {"sni", required_argument, NULL, OPT_SNI},
    {"tls", required_argument, NULL, OPT_TLS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"concurrency", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"capture-limit", required_argument, NULL, OPT_CAPTURE_LIMIT},
    {"fail-on-error", no_argument, NULL, OPT_FAIL_ON_ERROR},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

struct cli {
    struct probe_opts opts;
    struct report_opts report;
    uint16_t ports[MAX_PORTS];
    size_t n_ports;
    struct probe_resolve *resolves;
    size_t n_resolves;
    struct probe_target_spec *targets;
    size_t n_targets, cap_targets;
    const char *output;
    bool quiet, fail_on_error;
    FILE *out;
    int write_error;
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

/* Add TARGET, once per default port when it has none. where names its origin for errors. */
static int add_target(struct cli *c, const char *text, const char *where)
{
    for (size_t i = 0; i < c->n_ports; i++) {
        if (c->n_targets == c->cap_targets) {
            size_t n = c->cap_targets ? 2 * c->cap_targets : 64;
            struct probe_target_spec *t = realloc(c->targets, n * sizeof(*t));
            if (t == NULL) {
                fprintf(stderr, "caprobe: out of memory\n");
                return EXIT_USAGE;
            }
            c->targets = t;
            c->cap_targets = n;
        }
        const char *why;
        struct probe_target_spec *t = &c->targets[c->n_targets];
        if (probe_target_parse(text, c->ports[i], t, &why)) {
            fprintf(stderr, "caprobe: %s%starget '%s': %s\n", where ? where : "", where ? ": " : "",
                    text, why);
            return EXIT_USAGE;
        }
        c->n_targets++;
        /* A target with its own port is added once, whatever the port list. */
        if (strcmp(t->spec, text) == 0 || (t->port != c->ports[i]) || strchr(text, ']') ||
            (strchr(text, ':') && !strchr(strchr(text, ':') + 1, ':')))
            break;
    }
    return 0;
}

static int read_targets(struct cli *c, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "caprobe: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (*s == 0)
            continue;
        char where[512];
        snprintf(where, sizeof(where), "%s:%lu", strcmp(path, "-") == 0 ? "<stdin>" : path, lineno);
        rc = add_target(c, s, where);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "caprobe: reading %s: %s\n", path, strerror(errno));
        rc = EXIT_USAGE;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int emit(void *ctx, const struct report_target *t)
{
    struct cli *c = ctx;
    int rc = report_target_write(c->out, &c->report, t);
    if (rc)
        c->write_error = errno ? errno : EIO;
    return rc;
}

static int run(struct cli *c)
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
    c->opts.resolves = c->resolves;
    c->opts.n_resolves = c->n_resolves;
    c->opts.emit = emit;
    c->opts.emit_ctx = c;
    struct probe_stats st;
    int rc = probe_scan_run(&c->opts, c->targets, c->n_targets, &st);
    if (c->out != stdout && fclose(c->out) != 0 && !c->write_error)
        c->write_error = errno;
    if (c->write_error) {
        fprintf(stderr, "caprobe: writing the report failed: %s\n", strerror(c->write_error));
        return EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, "caprobe: scan failed: %s\n", tls_err_str(rc));
        return EXIT_USAGE;
    }
    if (!c->quiet)
        fprintf(stderr,
                "caprobe: %zu target%s, %zu probe%s: %zu with a certificate request, %zu "
                "without, %zu error%s\n",
                st.targets, st.targets == 1 ? "" : "s", st.probes, st.probes == 1 ? "" : "s",
                st.with_request, st.without_request, st.errors, st.errors == 1 ? "" : "s");
    if (st.errors && c->fail_on_error)
        return EXIT_TARGET_ERRORS;
    return 0;
}

int probe_main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof(c));
    c.opts.versions[0] = 0x0303;
    c.opts.versions[1] = 0x0304;
    c.opts.n_versions = 2;
    c.opts.concurrency = DEFAULT_CONCURRENCY;
    c.opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    c.opts.capture_limit = DEFAULT_CAPTURE_LIMIT;
    c.ports[0] = 443;
    c.n_ports = 1;
    c.report.format = REPORT_TEXT;
    const char *inputs[64];
    size_t n_inputs = 0;
    int rc = EXIT_USAGE, opt;
    unsigned long long v;
    const char *why;

    while ((opt = getopt_long(argc, argv, "i:p:o:qc:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (n_inputs == sizeof(inputs) / sizeof(inputs[0])) {
                rc = usage_error("too many --input files: %s", optarg);
                goto out;
            }
            inputs[n_inputs++] = optarg;
            break;
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
                fprintf(stderr, "caprobe: --resolve '%s': %s\n", optarg, why);
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
        case OPT_TLS:
            if (parse_tls(&c, optarg)) {
                rc = usage_error("--tls: expected 1.2, 1.3 or 1.2,1.3, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                c.report.format = REPORT_TEXT;
            else if (strcmp(optarg, "jsonl") == 0)
                c.report.format = REPORT_JSONL;
            else {
                rc = usage_error("--format: expected text or jsonl, got '%s'", optarg);
                goto out;
            }
            break;
        case 'o':
            c.output = optarg;
            break;
        case 'q':
            c.quiet = true;
            break;
        case 'c':
            if (parse_uint(optarg, 1000000, &v) || v == 0) {
                rc = usage_error("--concurrency: expected a number from 1 to 1000000, got '%s'",
                                 optarg);
                goto out;
            }
            c.opts.concurrency = (unsigned)v;
            break;
        case OPT_TIMEOUT: {
            char *end;
            double d = strtod(optarg, &end);
            if (*end || !(d > 0 && d <= 3600)) {
                rc = usage_error("--timeout: expected seconds (0 < s <= 3600), got '%s'", optarg);
                goto out;
            }
            c.opts.timeout_ms = (uint64_t)(d * 1000 + 0.5);
            break;
        }
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
        if ((rc = add_target(&c, argv[i], NULL)))
            goto out;
    for (size_t i = 0; i < n_inputs; i++)
        if ((rc = read_targets(&c, inputs[i])))
            goto out;
    if (c.n_targets == 0) {
        rc = usage_error("%s", "no targets given");
        goto out;
    }
    rc = run(&c);
out:
    free(c.targets);
    free(c.resolves);
    return rc;
}
