/* Command line: the options of DESIGN.md's contract parsed into a struct probe_config, and the
 * usage text (command.c decides what runs). Parsing reads the arguments and nothing else (a
 * usage error is told on err): files are opened, limits raised and targets scanned by the run
 * (run.c). The exporter's modules are parsed here too, so an option means one thing. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "internal.h"
#include "outfile.h"
#include "probe.h"
#include "report/baseline.h"
#include "report/fleet.h"
#include "request.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/similar.h"

#define DEFAULT_CONCURRENCY 1024
#define DEFAULT_PER_ADDRESS 32
#define DEFAULT_MAX_CIDR 65536
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CAPTURE_LIMIT (256 * 1024)
#define DEFAULT_DNS_TIMEOUT_MS 5000
#define DEFAULT_DNS_CONCURRENCY 1000
#define DNS_SERVERS_MAX 16
/* CA names per list in the text report: a host that dumps its root store, scanned by name (4
 * variants, 6 findings; 8 variants with an IPv6 address too), fits a 80x30 terminal with the
 * summary. */
#define DEFAULT_NAMES 5

static const char usage_text[] =
    "Usage: caprobe [OPTIONS] TARGET...\n"
    "Connect to TLS servers and show the CA names each one sends in its CertificateRequest:\n"
    "the list that decides which client certificates browsers and HTTP clients offer.\n"
    "\n"
    "Targets:\n"
    "  TARGET                   host[:port] | ipv4[:port] | [ipv6]:port | CIDR[:port] |\n"
    "                           https://HOST[:PORT][/PATH] | SCHEME://HOST[:PORT]\n"
    "                           (CIDR: 10.0.0.0/24, 10.0.0.0/24:8443, [2001:db8::/120]:443;\n"
    "                           a URL's port is its own, 443 when none, whatever -p says; its\n"
    "                           path is sent only with --request, in place of PATH; SCHEME:\n"
    "                           smtp, submission, lmtp, imap, pop3, ftp, ldap, postgres,\n"
    "                           postgresql, mysql, xmpp, nntp, sieve (STARTTLS first), ldaps,\n"
    "                           smtps, imaps, pop3s, ftps, nntps (TLS from the first byte):\n"
    "                           no path, query or fragment, but for an LDAP URL's DN and a\n"
    "                           database name (taken, not used))\n"
    "  -i, --input FILE         targets from FILE ('-' for stdin), one per line, '#' comments;\n"
    "                           read as the scan goes, a bad line becomes an error record\n"
    "  -p, --ports LIST         port(s) for targets without one, e.g. 443,8443 (default 443)\n"
    "      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT instead of using DNS\n"
    "      --max-cidr N         addresses one CIDR range may expand to (default 65536)\n"
    "      --shard K/N          probe only the K-th of N deterministic parts of the list\n"
    "      --starttls PROTO     speak PROTO in plaintext before the TLS bytes: smtp, lmtp,\n"
    "                           imap, pop3, ftp, ldap, postgres, mysql, xmpp, nntp or sieve;\n"
    "                           auto (default): by port (21 ftp, 24 lmtp, 25 and 587 smtp,\n"
    "                           110 pop3, 119 nntp, 143 imap, 389 ldap, 3306 mysql, 4190\n"
    "                           sieve, 5222 xmpp, 5432 postgres); none: TLS from the first\n"
    "                           byte on every port. A URL's scheme decides for its target\n"
    "\n"
    "Host names (looked up with c-ares: /etc/hosts, then the servers of /etc/resolv.conf):\n"
    "      --dns-server ADDR[:PORT]  ask this DNS server instead (repeatable; IPv6 as\n"
    "                           [ADDR]:PORT); /etc/hosts is still read first\n"
    "      --dns-timeout SECONDS  deadline of one name's lookup, retries included (default 5)\n"
    "      --dns-concurrency N  names looked up at once at most (default 1000)\n"
    "  -4, --ipv4 / -6, --ipv6  look up only IPv4 (A) or only IPv6 (AAAA) addresses of names\n"
    "                           (default both; literal addresses are probed as given)\n"
    "\n"
    "Variants (each is probed on its own connection):\n"
    "      --tls LIST           TLS versions, each probed on its own: 1.0, 1.1, 1.2, 1.3 or a\n"
    "                           list such as 1.0,1.1,1.2,1.3 (default 1.2,1.3). A probe of 1.2\n"
    "                           or lower offers every version from 1.0 up to it, every suite,\n"
    "                           signature algorithm and group (caprobe's own ClientHello, read\n"
    "                           to ServerHelloDone): a server that speaks only TLS 1.0 answers\n"
    "                           it too, and legacy-tls-version says so\n"
    "      --client-hello caprobe|mbedtls  which ClientHello opens a TLS 1.2 probe without\n"
    "                           --request: caprobe's own (default) or mbedTLS's (1.2 only, its\n"
    "                           suites; --request always uses mbedTLS's; TLS 1.3 without it,\n"
    "                           caprobe's own)\n"
    "      --sni NAME           also probe with this server name (host names are always\n"
    "                           probed with their own name and without SNI)\n"
    "      --request PATH       complete each handshake, send GET PATH (Host: the target or\n"
    "                           the SNI name), record the status and Server header, and\n"
    "                           capture the CertificateRequest of a renegotiation the server\n"
    "                           starts (IIS without 'Negotiate Client Certificate', Apache\n"
    "                           per-location SSLVerifyClient): phase \"renegotiation\";\n"
    "                           an https:// target with a path of its own gets GET its path\n"
    "\n"
    "Expectations and rules:\n"
    "      --expect-ca FILE     PEM (or DER) certificates of the CAs that should be advertised;\n"
    "                           repeatable: expected-ca-missing, unexpected-ca\n"
    "      --client-cert FILE   PEM chain (or one DER certificate) of a client certificate\n"
    "                           that must be offerable: client-cert-not-offered (byte-exact\n"
    "                           vs canonical match)\n"
    "      --client-key FILE    the private key of --client-cert's certificate (PEM or DER;\n"
    "                           RSA or ECDSA, not Ed25519): present it when a server asks,\n"
    "                           in the handshake (TLS 1.2 and 1.3 probes then complete it)\n"
    "                           and in a renegotiation after --request, and record whether\n"
    "                           the server took it (client_cert: accepted, the alert, or the\n"
    "                           HTTP status): client-cert-rejected, client-cert-accepted-\n"
    "                           unadvertised\n"
    "      --client-key-password-file FILE  the passphrase of an encrypted --client-key: the\n"
    "                           first line of FILE (a key that is not encrypted: a\n"
    "                           warning, the file not used)\n"
    "      --policy FILE        per-target expectations and rule severities (YAML, see\n"
    "                           docs/policy.md); --expect-ca / --client-cert apply where it\n"
    "                           says nothing\n"
    "      --baseline FILE      an earlier JSON Lines scan: baseline-drift when a list changed\n"
    "                           (high when the server certificate changed too)\n"
    "      --netsh FILE         the server's saved 'netsh http show sslcert' output (UTF-8\n"
    "                           or UTF-16): each netsh remedy names the binding the variant\n"
    "                           reached (hostnameport=NAME:PORT with SNI, ccs=PORT, else\n"
    "                           ipport=ADDRESS:PORT before 0.0.0.0 or [::]) with its own\n"
    "                           hash, appid and store, and says when its hash is not the\n"
    "                           certificate served (caprobe netsh --help audits the file)\n"
    "      --public-roots FILE  root bundle for root-store-dump and public-ca-accepted\n"
    "                           (default: the system bundle)\n"
    "      --fail-on SEVERITY   exit 1 on a finding at or above info|low|medium|high|critical\n"
    "                           (default high)\n"
    "      --explain RULE       what a rule means and how to fix its causes, then exit\n"
    "                           (--explain all: every rule)\n"
    "\n"
    "Output:\n"
    "      --format FORMAT      text, oneline (a line per target), jsonl, jsonl-compact,\n"
    "                           sarif (SARIF 2.1.0), junit (JUnit XML) or openmetrics\n"
    "                           (Prometheus metrics, for node_exporter's textfile\n"
    "                           collector: docs/metrics.md) (default text);\n"
    "                           jsonl-compact: JSON Lines without each CA name's DER (text\n"
    "                           and sha256 kept), for fleets; --baseline and diff read both\n"
    "      --names N|all        CA names shown per list in the text report (default 5;\n"
    "                           variants with the same answer share a line); on a\n"
    "                           terminal its lines are cut to the width and a finding's\n"
    "                           own fix is wrapped to 4 lines (whole fixes: through a pipe,\n"
    "                           e.g. | less, or --format jsonl)\n"
    "  -o, --output FILE        write the report to FILE instead of standard output; FILE is\n"
    "                           replaced once the report is complete (written to .FILE.XXXXXX\n"
    "                           beside it until then), so it may also be the --baseline\n"
    "  -q, --quiet              no progress and no summary on standard error\n"
    "      --color[=WHEN]       colour in the text report: auto (default: a terminal, unless\n"
    "                           NO_COLOR is set), always, never\n"
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
    "      --fail-on-error      exit 3 when some probe failed (a TLS version the server\n"
    "                           declines is not a failure)\n"
    "  -h, --help               this text\n"
    "  -V, --version            the release of caprobe (and its git describe, when built from a\n"
    "                           git checkout), mbedTLS and c-ares\n"
    "\n"
    "Exit status: 0 done; 1 findings at or above --fail-on; 2 usage or input error (a bad\n"
    "TARGET argument stops before anything is scanned; a bad line of a -i file is recorded\n"
    "and the rest is scanned); 3 some probes failed and --fail-on-error was given; 130 / 143\n"
    "stopped by SIGINT / SIGTERM (every record finished so far is written); 141 the reader of\n"
    "the output went away (| head): quiet. A finding comes first: 1 wins over 130, 143, a bad\n"
    "-i line's 2 and 3. A target whose every probe failed is the finding probe-failed.\n"
    "\n"
    "       caprobe report SCAN.jsonl [--baseline OLD.jsonl]\n"
    "                      [--format text|markdown|csv|html] [-o FILE]\n"
    "a fleet report of a JSON Lines scan: summary, findings by rule, list sizes, each target\n"
    "with its fixes (caprobe report --help).\n"
    "       caprobe diff OLD.jsonl NEW.jsonl [--format text|jsonl] [--names]\n"
    "what changed between two scans: findings new, changed and resolved, counted, then per\n"
    "target; --names: the names too (exit 0 none, 1 changes, 2 error).\n"
    "       caprobe netsh FILE [--previous OLD] [--format text|jsonl]\n"
    "a saved 'netsh http show sslcert' output: its bindings, flagged when one negotiates\n"
    "client certificates without a Ctl Store Name, when SNI and IP bindings of a port\n"
    "differ, or when a certificate hash changed since OLD (exit 0 none, 1 flags, 2 error).\n"
    "       caprobe exporter --listen ADDR:PORT --config FILE\n"
    "Prometheus multi-target exporter: GET /probe?target=HOST:PORT&module=NAME probes\n"
    "targets its configuration allows (caprobe exporter --help; docs/exporter.md).\n"
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
    OPT_CLIENT_KEY,
    OPT_CLIENT_KEY_PASSWORD_FILE,
    OPT_PUBLIC_ROOTS,
    OPT_FAIL_ON,
    OPT_EXPLAIN,
    OPT_POLICY,
    OPT_BASELINE,
    OPT_REQUEST,
    OPT_DNS_SERVER,
    OPT_DNS_TIMEOUT,
    OPT_DNS_CONCURRENCY,
    OPT_COLOR,
    OPT_NAMES,
    OPT_STARTTLS,
    OPT_CLIENT_HELLO,
    OPT_NETSH,
};

static const struct option long_opts[] = {
    {"input", required_argument, NULL, 'i'},
    {"ports", required_argument, NULL, 'p'},
    {"resolve", required_argument, NULL, OPT_RESOLVE},
    {"sni", required_argument, NULL, OPT_SNI},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"tls", required_argument, NULL, OPT_TLS},
    {"client-hello", required_argument, NULL, OPT_CLIENT_HELLO},
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
    {"starttls", required_argument, NULL, OPT_STARTTLS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"color", optional_argument, NULL, OPT_COLOR},
    {"names", required_argument, NULL, OPT_NAMES},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"expect-ca", required_argument, NULL, OPT_EXPECT_CA},
    {"client-cert", required_argument, NULL, OPT_CLIENT_CERT},
    {"client-key", required_argument, NULL, OPT_CLIENT_KEY},
    {"client-key-password-file", required_argument, NULL, OPT_CLIENT_KEY_PASSWORD_FILE},
    {"public-roots", required_argument, NULL, OPT_PUBLIC_ROOTS},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"explain", required_argument, NULL, OPT_EXPLAIN},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"netsh", required_argument, NULL, OPT_NETSH},
    {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
    {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
    {"dns-concurrency", required_argument, NULL, OPT_DNS_CONCURRENCY},
    {"ipv4", no_argument, NULL, '4'},
    {"ipv6", no_argument, NULL, '6'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* What an option's value must be, for the usage error that names the option; integer options
 * with their range (max 0: not an integer). */
struct option_value {
    int opt;
    const char *expected;
    unsigned long long min, max;
    bool words; /* expected lists the words the option takes ("a, b or c"): did you mean */
};

static const struct option_value option_values[] = {
    {'p', "port numbers 1-65535 separated by commas", 0, 0},
    {OPT_TLS, "TLS versions 1.0, 1.1, 1.2, 1.3 separated by commas", 0, 0},
    {OPT_CLIENT_HELLO, "caprobe or mbedtls", 0, 0, true},
    {OPT_FORMAT, "text, oneline, jsonl, jsonl-compact, sarif, junit or openmetrics", 0, 0, true},
    {OPT_NAMES, "a number from 0 to 1000000, or all", 0, 0},
    {'c', "a number from 1 to 1000000", 1, 1000000},
    {OPT_PER_ADDRESS, "a number (0: no cap)", 0, 1000000},
    {OPT_RATE, "connections per second (> 0)", 0, 0},
    {OPT_TIMEOUT, "seconds (0 < s <= 3600)", 0, 0},
    {OPT_CONNECT_TIMEOUT, "seconds (0 < s <= 3600)", 0, 0},
    {OPT_HANDSHAKE_TIMEOUT, "seconds (0 < s <= 3600)", 0, 0},
    {OPT_RETRIES, "a number from 0 to 10", 0, 10},
    {OPT_SHARD, "K/N with 1 <= K <= N", 0, 0},
    {OPT_MAX_CIDR, "a number from 1 to 4294967296", 1, 1ULL << 32},
    {OPT_CAPTURE_LIMIT, "bytes from 4096 to 16777216", 4096, 16u << 20},
    {OPT_FAIL_ON, "info, low, medium, high or critical", 0, 0, true},
    {OPT_DNS_TIMEOUT, "seconds (0 < s <= 3600)", 0, 0},
    {OPT_DNS_CONCURRENCY, "a number from 1 to 65536", 1, 65536},
    {OPT_STARTTLS,
     "auto, none, smtp, lmtp, imap, pop3, ftp, ldap, postgres, mysql, xmpp, nntp or sieve", 0, 0,
     true},
};

static const struct option_value *option_value(int opt)
{
    for (size_t i = 0; i < sizeof(option_values) / sizeof(option_values[0]); i++)
        if (option_values[i].opt == opt)
            return &option_values[i];
    return NULL;
}

static const char *option_name(int opt)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

static int usage_error(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(FILE *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(err, "caprobe: ");
    vfprintf(err, fmt, ap);
    fprintf(err, "\nTry 'caprobe --help'.\n");
    va_end(ap);
    return PROBE_EXIT_USAGE;
}

#define OPTION_WORDS_MAX 16

/* The word of a list such as "a, b or c" that w is a letter or two from, or NULL. */
static const char *closest_word(const char *list, const char *w, char buf[][24])
{
    const char *words[OPTION_WORDS_MAX];
    size_t n = 0;
    for (const char *p = list; *p && n < OPTION_WORDS_MAX;) {
        size_t k = strcspn(p, ", ");
        if (k && k < 24 && strncmp(p, "or", k) != 0) {
            memcpy(buf[n], p, k);
            buf[n][k] = 0;
            words[n] = buf[n];
            n++;
        }
        p += k + strspn(p + k, ", ");
    }
    long near = tls_closest(w, words, n);
    return near >= 0 ? words[near] : NULL;
}

/* "--NAME: expected WHAT, got 'ARG'", and "; did you mean WORD?" for a word a letter or two
 * from one the option takes. */
static int bad_value(FILE *err, int opt, const char *arg)
{
    const struct option_value *ov = option_value(opt);
    char shown[128], words[OPTION_WORDS_MAX][24];
    const char *near = ov->words ? closest_word(ov->expected, arg, words) : NULL;
    return usage_error(err, "--%s: expected %s, got '%s'%s%s%s", option_name(opt), ov->expected,
                       tls_escape_term(shown, sizeof(shown), arg, 0), near ? "; did you mean " : "",
                       near ? near : "", near ? "?" : "");
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

static int parse_rate(const char *s, double *rate)
{
    char *end;
    double d = strtod(s, &end);
    if (*end || end == s || !(d > 0 && d <= 10000000))
        return -1;
    *rate = d;
    return 0;
}

static int parse_ports(struct probe_config *c, const char *list)
{
    c->n_ports = 0;
    char buf[512];
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long long v;
        if (c->n_ports == PROBE_MAX_PORTS || parse_uint(tok, 65535, &v) || v == 0)
            return -1;
        c->ports[c->n_ports++] = (uint16_t)v;
    }
    return c->n_ports ? 0 : -1;
}

/* "1.0,1.2": each version once, probed in ascending order whatever the list's. */
static int parse_tls(struct probe_opts *o, const char *list)
{
    static const char *const names[PROBE_MAX_VERSIONS] = {"1.0", "1.1", "1.2", "1.3"};
    bool want[PROBE_MAX_VERSIONS] = {false};
    char buf[64];
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < PROBE_MAX_VERSIONS && strcmp(tok, names[i]) != 0)
            i++;
        if (i == PROBE_MAX_VERSIONS)
            return -1;
        want[i] = true;
    }
    o->n_versions = 0;
    for (size_t i = 0; i < PROBE_MAX_VERSIONS; i++)
        if (want[i])
            o->versions[o->n_versions++] = (uint16_t)(0x0301 + i);
    return o->n_versions ? 0 : -1;
}

static int parse_shard(struct probe_config *c, const char *s)
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

static int parse_format(struct probe_config *c, const char *s)
{
    c->doc = PROBE_DOC_NONE;
    if (strcmp(s, "text") == 0)
        c->format = REPORT_TEXT;
    else if (strcmp(s, "oneline") == 0)
        c->format = REPORT_ONELINE;
    else if (strcmp(s, "jsonl") == 0)
        c->format = REPORT_JSONL;
    else if (strcmp(s, "jsonl-compact") == 0)
        c->format = REPORT_JSONL_COMPACT;
    else if (strcmp(s, "sarif") == 0)
        c->doc = PROBE_DOC_SARIF;
    else if (strcmp(s, "junit") == 0)
        c->doc = PROBE_DOC_JUNIT;
    else if (strcmp(s, "openmetrics") == 0)
        c->doc = PROBE_DOC_OPENMETRICS;
    else
        return -1;
    return 0;
}

/* Append s to a growing list (-i, --expect-ca). */
static int push(const char ***list, size_t *n, const char *s)
{
    const char **l = realloc(*list, (*n + 1) * sizeof(*l));
    if (l == NULL)
        return PROBE_EXIT_USAGE;
    *list = l;
    l[(*n)++] = s;
    return 0;
}

static int add_resolve(struct probe_config *c, const char *arg, FILE *err)
{
    struct probe_resolve *r = realloc(c->resolves, (c->n_resolves + 1) * sizeof(*r));
    if (r == NULL)
        return PROBE_EXIT_USAGE;
    c->resolves = r;
    const char *why;
    if (probe_resolve_parse(arg, &r[c->n_resolves], &why))
        return usage_error(err, "--resolve '%s': %s", arg, why);
    c->n_resolves++;
    return 0;
}

/* --dns-server ADDR[:PORT]: a literal address in any form of a TARGET (port 53 by default);
 * appended to the list c-ares reads ("A:P,[B]:P"). */
static int add_dns_server(struct probe_config *c, const char *arg, FILE *err)
{
    struct probe_target_spec t;
    const char *why;
    if (probe_target_parse(arg, 53, &t, &why) != 0 || t.family == AF_UNSPEC) {
        char shown[256];
        return usage_error(err,
                           "--dns-server: expected an IP address with an optional port (ADDR, "
                           "ADDR:PORT, [IPV6]:PORT), got '%s'",
                           tls_escape_term(shown, sizeof(shown), arg, 0));
    }
    if (c->n_dns_servers == DNS_SERVERS_MAX)
        return usage_error(err, "--dns-server: at most %d servers", DNS_SERVERS_MAX);
    size_t have = c->dns_servers ? strlen(c->dns_servers) : 0, add = strlen(t.spec) + 2;
    char *l = realloc(c->dns_servers, have + add);
    if (l == NULL)
        return usage_error(err, "%s", "--dns-server: out of memory");
    snprintf(l + have, add, "%s%s", have ? "," : "", t.spec); /* "a.b.c.d:p", "[v6]:p" */
    c->dns_servers = l;
    c->n_dns_servers++;
    c->scan.dns_servers = l;
    return 0;
}

/* The value of an option that takes one with a range or a syntax: 0, or -1 when it does not fit
 * (told by the caller, naming the option). */
static int parse_value(struct probe_config *c, int opt, const char *arg)
{
    struct probe_opts *o = &c->scan;
    const struct option_value *ov = option_value(opt);
    unsigned long long v = 0;
    if (ov->max && (parse_uint(arg, ov->max, &v) || v < ov->min))
        return -1; /* an integer option (the table gives its range) */
    switch (opt) {
    case 'p':
        return parse_ports(c, arg);
    case OPT_TLS:
        return parse_tls(o, arg);
    case OPT_CLIENT_HELLO:
        if (strcmp(arg, "caprobe") != 0 && strcmp(arg, "mbedtls") != 0)
            return -1;
        o->mbedtls_hello = strcmp(arg, "mbedtls") == 0;
        return 0;
    case OPT_FORMAT:
        return parse_format(c, arg);
    case OPT_NAMES:
        if (strcmp(arg, "all") == 0)
            c->names = REPORT_NAMES_ALL;
        else if (parse_uint(arg, 1000000, &v) == 0)
            c->names = (size_t)v;
        else
            return -1;
        return 0;
    case 'c':
        o->concurrency = (unsigned)v;
        c->concurrency_set = true;
        return 0;
    case OPT_PER_ADDRESS:
        o->per_address = (unsigned)v;
        return 0;
    case OPT_RATE:
        return parse_rate(arg, &o->rate);
    case OPT_TIMEOUT:
        return parse_seconds(arg, &o->timeout_ms);
    case OPT_CONNECT_TIMEOUT:
        return parse_seconds(arg, &o->connect_timeout_ms);
    case OPT_HANDSHAKE_TIMEOUT:
        return parse_seconds(arg, &o->handshake_timeout_ms);
    case OPT_RETRIES:
        o->retries = (unsigned)v;
        return 0;
    case OPT_SHARD:
        return parse_shard(c, arg);
    case OPT_MAX_CIDR:
        c->cidr_max = v;
        return 0;
    case OPT_CAPTURE_LIMIT:
        o->capture_limit = (size_t)v;
        return 0;
    case OPT_FAIL_ON:
        return report_severity_parse(arg, &c->fail_on) ? -1 : 0;
    case OPT_DNS_TIMEOUT:
        return parse_seconds(arg, &o->dns_timeout_ms);
    case OPT_DNS_CONCURRENCY:
        o->dns_concurrency = (unsigned)v;
        return 0;
    case OPT_STARTTLS:
        c->starttls = TLS_STARTTLS_NONE;
        c->starttls_ports = strcmp(arg, "auto") == 0;
        if (c->starttls_ports || strcmp(arg, "none") == 0)
            return 0;
        return tls_starttls_by_name(arg, &c->starttls);
    default:
        return -1;
    }
}

/* One option into c: 0, or the exit status of a usage error (told on err). */
static int config_option(struct probe_config *c, int opt, const char *arg, FILE *err)
{
    const char *why;
    if (option_value(opt))
        return parse_value(c, opt, arg) ? bad_value(err, opt, arg) : 0;
    switch (opt) {
    case 'i':
        return push(&c->files, &c->n_files, arg);
    case OPT_RESOLVE:
        return add_resolve(c, arg, err);
    case OPT_DNS_SERVER:
        return add_dns_server(c, arg, err);
    case '4':
        c->scan.ipv4 = true;
        return 0;
    case '6':
        c->scan.ipv6 = true;
        return 0;
    case OPT_SNI: {
        struct probe_target_spec t;
        if (probe_target_parse(arg, 443, &t, &why) || t.family != AF_UNSPEC || strchr(arg, ':'))
            return usage_error(err, "--sni: '%s' is not a host name", arg);
        c->scan.extra_sni = arg;
        return 0;
    }
    case OPT_REQUEST:
        if ((why = probe_request_path_check(arg)))
            return usage_error(err, "--request '%s': %s", arg, why);
        c->scan.request_path = arg;
        return 0;
    case 'o':
        c->output = arg;
        return 0;
    case 'q':
        c->quiet = true;
        return 0;
    case OPT_COLOR: /* --color alone: always, as in GNU ls */
        if (arg == NULL || strcmp(arg, "always") == 0)
            c->color = 1;
        else if (strcmp(arg, "never") == 0)
            c->color = 0;
        else if (strcmp(arg, "auto") == 0)
            c->color = -1;
        else {
            char shown[128];
            return usage_error(err, "--color: expected auto, always or never, got '%s'",
                               tls_escape_term(shown, sizeof(shown), arg, 0));
        }
        return 0;
    case OPT_PROGRESS:
    case OPT_NO_PROGRESS:
        c->progress = opt == OPT_PROGRESS;
        return 0;
    case OPT_FAIL_ON_ERROR:
        c->fail_on_error = true;
        return 0;
    case OPT_EXPECT_CA:
        return push(&c->expect_files, &c->n_expect, arg);
    case OPT_POLICY:
        c->policy_file = arg;
        return 0;
    case OPT_BASELINE:
        c->baseline_file = arg;
        return 0;
    case OPT_NETSH:
        c->netsh_file = arg;
        return 0;
    case OPT_CLIENT_CERT:
        c->client_cert = arg;
        return 0;
    case OPT_CLIENT_KEY:
        c->client_key = arg;
        return 0;
    case OPT_CLIENT_KEY_PASSWORD_FILE:
        c->client_key_password = arg;
        return 0;
    case OPT_PUBLIC_ROOTS:
        c->public_roots = arg;
        return 0;
    default:
        fprintf(err, "Try 'caprobe --help'.\n");
        return PROBE_EXIT_USAGE;
    }
}

/* Command-line targets are checked before anything is scanned: a typo there is a usage error. */
static int check_arg_target(const struct probe_config *c, const char *text, FILE *err)
{
    const char *why;
    struct probe_entry e;
    if (probe_entry_parse(text, c->cidr_max, NULL, &e, &why)) {
        char shown[512];
        fprintf(err, "caprobe: target '%s': %s\n", probe_entry_shown(shown, sizeof(shown), text),
                why);
        return PROBE_EXIT_USAGE;
    }
    return 0;
}

void probe_config_init(struct probe_config *c)
{
    memset(c, 0, sizeof(*c));
    c->action = PROBE_ACTION_SCAN;
    c->scan.versions[0] = 0x0303;
    c->scan.versions[1] = 0x0304;
    c->scan.n_versions = 2;
    c->scan.concurrency = DEFAULT_CONCURRENCY;
    c->scan.per_address = DEFAULT_PER_ADDRESS;
    c->scan.timeout_ms = DEFAULT_TIMEOUT_MS;
    c->scan.capture_limit = DEFAULT_CAPTURE_LIMIT;
    c->scan.dns_timeout_ms = DEFAULT_DNS_TIMEOUT_MS;
    c->scan.dns_concurrency = DEFAULT_DNS_CONCURRENCY;
    c->ports[0] = 443;
    c->n_ports = 1;
    c->cidr_max = DEFAULT_MAX_CIDR;
    c->starttls_ports = true;
    c->progress = -1;
    c->color = -1;
    c->names = DEFAULT_NAMES;
    c->format = REPORT_TEXT;
    c->fail_on = REPORT_SEV_HIGH;
}

void probe_config_free(struct probe_config *c)
{
    if (c == NULL)
        return;
    free(c->expect_files);
    free(c->files);
    free(c->resolves);
    free(c->dns_servers);
    c->dns_servers = NULL;
    c->expect_files = c->files = NULL;
    c->resolves = NULL;
}

/* An option getopt_long did not take: unknown (with the closest one, when one is close), or
 * missing its value. Returns the exit status of a usage error. */
static int bad_option(int opt, char **argv, FILE *err)
{
    char shown[128];
    const char *arg = argv[optind - 1];
    if (opt == ':')
        return usage_error(err, "option '%s' needs a value",
                           tls_escape_term(shown, sizeof(shown), arg, 0));
    if (optopt != 0 && strncmp(arg, "--", 2) != 0)
        return usage_error(err, "unknown option '-%c'",
                           optopt > ' ' && optopt < 127 ? optopt : '?');
    char word[TLS_SIMILAR_MAX + 1];
    size_t n = strcspn(arg, "=");
    if (n >= sizeof(word))
        n = sizeof(word) - 1;
    memcpy(word, arg, n);
    word[n] = 0;
    const char *names[sizeof(long_opts) / sizeof(long_opts[0])];
    char spelled[sizeof(long_opts) / sizeof(long_opts[0])][40];
    size_t k = 0;
    for (const struct option *o = long_opts; o->name; o++, k++) {
        snprintf(spelled[k], sizeof(spelled[k]), "--%s", o->name);
        names[k] = spelled[k];
    }
    long near = tls_closest(word, names, k);
    if (near >= 0)
        return usage_error(err, "unknown option '%s'; did you mean '%s'?",
                           tls_escape_term(shown, sizeof(shown), word, 0), names[near]);
    return usage_error(err, "unknown or ambiguous option '%s'",
                       tls_escape_term(shown, sizeof(shown), word, 0));
}

int probe_config_parse(struct probe_config *c, int argc, char **argv, FILE *err)
{
    int opt, rc;
    opterr = 0; /* told by bad_option, with a suggestion */
    while ((opt = getopt_long(argc, argv, ":i:p:o:qc:hV46", long_opts, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return bad_option(opt, argv, err);
        /* --help, --version and --explain act at once: later arguments are not read */
        if (opt == 'h' || opt == 'V' || opt == OPT_EXPLAIN) {
            c->action = opt == 'h'   ? PROBE_ACTION_HELP
                        : opt == 'V' ? PROBE_ACTION_VERSION
                                     : PROBE_ACTION_EXPLAIN;
            c->explain = opt == OPT_EXPLAIN ? optarg : NULL;
            return 0;
        }
        if ((rc = config_option(c, opt, optarg, err)))
            return rc;
    }
    for (int i = optind; i < argc; i++)
        if ((rc = check_arg_target(c, argv[i], err)))
            return rc;
    if (c->client_key && !c->client_cert)
        return usage_error(err, "%s",
                           "--client-key needs --client-cert: the certificate (chain) the key "
                           "belongs to");
    if (c->client_key_password && !c->client_key)
        return usage_error(err, "%s", "--client-key-password-file needs --client-key");
    if (optind == argc && c->n_files == 0)
        return usage_error(err, "%s", "no targets given (TARGET arguments or -i FILE)");
    c->targets = (const char *const *)argv + optind;
    c->n_targets = (size_t)(argc - optind);
    if (c->scan.connect_timeout_ms == 0)
        c->scan.connect_timeout_ms = c->scan.timeout_ms;
    if (c->scan.handshake_timeout_ms == 0)
        c->scan.handshake_timeout_ms = c->scan.timeout_ms;
    c->scan.resolves = c->resolves;
    c->scan.n_resolves = c->n_resolves;
    return 0;
}

/* ---- caprobe report ---------------------------------------------------------------------- */

static const char report_usage[] =
    "Usage: caprobe report SCAN.jsonl [--baseline OLD.jsonl] [--format FORMAT] [-o FILE]\n"
    "A report of a JSON Lines scan (full or compact, shards concatenated; '-': standard\n"
    "input) for people: a summary first (targets scanned, probed, not probed; findings by\n"
    "rule and severity; the worst targets), the sizes of the CA lists across the fleet and\n"
    "the names advertised most often, then every target, worst first, with its verdict, its\n"
    "findings and their fixes, and its variants (those with the same answer on one line)\n"
    "with their lists.\n"
    "\n"
    "      --baseline FILE      an earlier scan: each finding new, changed (another severity\n"
    "                           or message) or unchanged, the resolved ones too, and the\n"
    "                           targets added and removed (as caprobe diff counts them)\n"
    "      --format FORMAT      text (default), markdown (GitHub-flavoured, for a ticket or a\n"
    "                           chat message), csv (one row per finding, RFC 4180; a field\n"
    "                           that starts with = + - @ gets a leading ') or html (one\n"
    "                           self-contained file that fetches nothing: charts in SVG, every\n"
    "                           list once, a filter by rule, severity and text that needs no\n"
    "                           server; readable without JavaScript)\n"
    "      --names N|all        names shown per list in text and markdown (default 5; html\n"
    "                           shows every name, once per list)\n"
    "      --targets N|all|none targets with a section of their own, worst first (default\n"
    "                           all; text, markdown, html); the summary counts every target.\n"
    "                           GitHub's limits ('--targets 10 --names 0' for a comment):\n"
    "                           report.md in caprobe's documentation\n"
    "  -o, --output FILE        write to FILE, replaced once the report is complete\n"
    "  -h, --help               this text\n"
    "\n"
    "A line of SCAN that is not a caprobe/1 record (cut short, another schema version, not\n"
    "JSON) is told as FILE:LINE on standard error and in the report, and the rest is used.\n"
    "The lines of the scan's target list that were no target are listed in every format:\n"
    "where (FILE:LINE), the line and why.\n"
    "The baseline is read whole or not at all.\n"
    "Exit status: 0 the report was written (findings do not change it: gate with the scan's\n"
    "--fail-on); 2 usage error, an unreadable file or baseline, a SCAN or baseline with no\n"
    "record (nothing to report: no report is written), a failed write, or lines of SCAN left\n"
    "out (the report is written all the same); 141 the reader of the output went away\n"
    "(| head). Details: man caprobe, and report.md in caprobe's documentation (FILES in\n"
    "man caprobe says where it is installed).\n";

/* The report to fd (standard output, or -o FILE's temporary file). 0, or an errno. */
static int report_to(int fd, const struct report_fleet *f, const struct report_fleet_opts *o)
{
    int copy = dup(fd);
    FILE *out = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (out == NULL) {
        int err = errno;
        if (copy >= 0)
            close(copy);
        return err;
    }
    errno = 0;
    int rc = o->format == REPORT_FLEET_CSV    ? report_fleet_csv_write(out, f)
             : o->format == REPORT_FLEET_HTML ? report_fleet_html_write(out, f, o)
                                              : report_fleet_doc_write(out, f, o);
    int err = rc == TLS_E_NOMEM ? ENOMEM : rc ? (errno ? errno : EIO) : 0;
    if (fclose(out) != 0 && err == 0)
        err = errno ? errno : EIO;
    return err;
}

/* caprobe report SCAN [--baseline OLD] [--format text|markdown|csv|html] [--names N|all]
 * [--targets N|all|none] [-o FILE] (argv[0] is "report"). Returns the exit status. */
int probe_report_main(int argc, char **argv)
{
    enum { OPT_R_BASELINE = 256, OPT_R_FORMAT, OPT_R_NAMES, OPT_R_TARGETS };
    static const struct option opts[] = {
        {"baseline", required_argument, NULL, OPT_R_BASELINE},
        {"format", required_argument, NULL, OPT_R_FORMAT},
        {"names", required_argument, NULL, OPT_R_NAMES},
        {"targets", required_argument, NULL, OPT_R_TARGETS},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct report_fleet_opts ro = {
        .format = REPORT_FLEET_TEXT, .names = DEFAULT_NAMES, .targets = REPORT_FLEET_TARGETS_ALL};
    const char *baseline = NULL, *output = NULL;
    unsigned long long v;
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_R_BASELINE:
            baseline = optarg;
            break;
        case OPT_R_FORMAT:
            if (strcmp(optarg, "text") == 0)
                ro.format = REPORT_FLEET_TEXT;
            else if (strcmp(optarg, "markdown") == 0)
                ro.format = REPORT_FLEET_MARKDOWN;
            else if (strcmp(optarg, "csv") == 0)
                ro.format = REPORT_FLEET_CSV;
            else if (strcmp(optarg, "html") == 0)
                ro.format = REPORT_FLEET_HTML;
            else
                return report_usage_error(
                    stderr, "report", "--format: expected text, markdown, csv or html, got '%s'",
                    optarg);
            break;
        case OPT_R_NAMES:
            if (strcmp(optarg, "all") == 0)
                ro.names = REPORT_NAMES_ALL;
            else if (parse_uint(optarg, 1000000, &v) == 0)
                ro.names = (size_t)v;
            else
                return report_usage_error(stderr, "report",
                                          "--names: expected a number or all, got '%s'", optarg);
            break;
        case OPT_R_TARGETS:
            if (strcmp(optarg, "all") == 0)
                ro.targets = REPORT_FLEET_TARGETS_ALL;
            else if (strcmp(optarg, "none") == 0)
                ro.targets = 0;
            else if (parse_uint(optarg, 100000000, &v) == 0)
                ro.targets = (size_t)v;
            else
                return report_usage_error(stderr, "report",
                                          "--targets: expected a number, all or none, got '%s'",
                                          optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(report_usage, stdout);
            return 0;
        default: /* ':' or an unknown option */
            return report_usage_getopt(stderr, "report", opt, argv);
        }
    }
    if (argc == optind)
        return report_usage_error(stderr, "report", "expected one scan file, got none");
    if (argc - optind > 1)
        return report_usage_error(stderr, "report", "expected one scan file, got %d",
                                  argc - optind);

    struct report_fleet *f = NULL;
    char why[640];
    if (report_fleet_load(&f, argv[optind], baseline, why, sizeof(why)) != 0) {
        fprintf(stderr, "caprobe report: %s\n", why);
        return PROBE_EXIT_USAGE;
    }
    size_t bad = report_baseline_bad_count(f->scan);
    for (size_t i = 0; report_baseline_bad_at(f->scan, i); i++)
        fprintf(stderr, "caprobe report: %s\n", report_baseline_bad_at(f->scan, i));
    if (bad > REPORT_BASELINE_BAD_KEPT) {
        size_t more = bad - REPORT_BASELINE_BAD_KEPT;
        char name[1024];
        tls_escape_term(name, sizeof(name), report_baseline_name(f->scan), 0);
        fprintf(stderr, "caprobe report: %s: and %zu more %s\n", name, more,
                more == 1 ? "line that is not a caprobe/1 record"
                          : "lines that are not caprobe/1 records");
    }
    if (report_baseline_empty(f->scan, "nothing to report", why, sizeof(why))) {
        fprintf(stderr, "caprobe report: %s\n", why); /* no report: FILE is left as it was */
        report_fleet_free(f);
        return PROBE_EXIT_USAGE;
    }

    struct probe_outfile of;
    probe_outfile_init(&of);
    int status = PROBE_EXIT_USAGE, err = output ? probe_outfile_open(&of, output) : 0;
    if (err) {
        fprintf(stderr, "caprobe report: cannot write %s: %s\n", output, strerror(err));
        goto out;
    }
    err = report_to(output ? of.fd : STDOUT_FILENO, f, &ro);
    if (err == EPIPE) { /* nobody reads any more (| head) */
        status = PROBE_EXIT_READER_GONE;
        goto out;
    }
    if (err == 0 && output)
        err = probe_outfile_commit(&of, NULL);
    if (err) {
        fprintf(stderr, "caprobe report: cannot write %s: %s\n",
                output ? output : "the standard output", strerror(err));
        goto out;
    }
    status = bad ? PROBE_EXIT_USAGE : 0;
out:
    probe_outfile_abort(&of);
    report_fleet_free(f);
    return status;
}

void probe_usage(FILE *out)
{
    fputs(usage_text, out);
}
