/* A scan from a configuration (probe_run): what the rules compare against is loaded, the output
 * opened, the scheduler run, and each target's record evaluated by the rules and written as it
 * comes, through the output sink, so that a slow reader never stalls the loop. The only place
 * that decides the exit status of a scan; it never reads argv. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "outfile.h"
#include "resolver.h"
#include "report/baseline.h"
#include "report/netsh.h"
#include "report/writer.h"
#include "sink.h"
#include "tls/wire/error.h"

#define JSONL_CACHE_BYTES (8 * 1024 * 1024) /* rendered CA names reused across records */
#define FD_RESERVE 64 /* descriptors kept for output, input files, resolver, libuv */
/* Output queued for a slow reader above which no new probe starts (probes in flight finish and
 * are queued too). Large enough that a reader's pause or a disk's hiccup does not hold a scan
 * going at full speed (thousands of records of a few KiB), small next to what the probes in
 * flight may hold. */
#define OUTPUT_HIGH_WATER (8 * 1024 * 1024)

struct run {
    const struct probe_config *cfg;
    struct probe_opts opts; /* the configuration's, with what only the run can decide */
    struct report_opts report;
    struct probe_sink *sink; /* writes the output from a thread of its own */
    FILE *out;               /* the sink's stream */
    struct report_sarif *sarif;
    struct report_junit *junit;
    struct report_metrics *metrics;
    /* -o FILE: a temporary file until the report is complete */
    struct probe_outfile outfile;
    int write_error; /* errno of the first failed write */
    struct probe_expect expect;
    struct probe_policy *policy;
    struct report_baseline *baseline;
    struct report_netsh *netsh; /* --netsh */
    struct report_context rules;
    int max_severity;   /* of all findings, -1 when none */
    bool fix_hint_told; /* the text report said where the whole fixes are */
    /* For the summary: targets by verdict (enum report_verdict; a bad target line is counted
     * by the scan's statistics only), and their findings by severity */
    uint64_t verdicts[REPORT_VERDICT_NOT_PROBED + 1];
    uint64_t findings[REPORT_VERDICT_NOT_PROBED + 1][REPORT_SEV_CRITICAL + 1];
};

/* After the loop, the scan's signal handles are gone while the report is finished (a document's
 * end, the queue written out to a slow reader): a signal then lets the writing finish, so the
 * report is whole; a second one quits at once without the rest. */
static volatile sig_atomic_t drain_signal;
static const char *volatile drain_temp; /* -o's temporary file, removed when quitting */

static void drain_on_signal(int sig)
{
    static const char msg[] =
        "\ncaprobe: finishing the report (a second signal quits without the rest)\n";
    if (drain_signal) {
        if (drain_temp)
            unlink(drain_temp); /* no report: FILE stays as it was */
        _exit(128 + sig);
    }
    drain_signal = sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
}

static void drain_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? drain_on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Raise the open-file limit as far as allowed; shrink the concurrency to fit under it. */
static void fit_open_files(struct run *r)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    /* resolv.conf names 3 servers at most (MAXNS) */
    size_t dns = probe_resolver_fds(r->opts.dns_concurrency,
                                    r->cfg->n_dns_servers ? r->cfg->n_dns_servers : 3);
    rlim_t reserve = FD_RESERVE + (rlim_t)dns;
    rlim_t want = (rlim_t)r->opts.concurrency + reserve;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        unsigned fit = rl.rlim_cur > reserve + 1 ? (unsigned)(rl.rlim_cur - reserve) : 1;
        if (r->cfg->concurrency_set || !r->cfg->quiet)
            fprintf(stderr,
                    "caprobe: concurrency %u lowered to %u: the open-file limit is %llu "
                    "(raise it with 'ulimit -n')\n",
                    r->opts.concurrency, fit, (unsigned long long)rl.rlim_cur);
        r->opts.concurrency = fit;
    }
}

/* One target's record: the rules (the policy's entry and the baseline's record for it), then
 * the renderer. Called by the scheduler as each target completes. */
static int run_emit(void *ctx, const struct report_target *t)
{
    struct run *r = ctx;
    int sink_error = probe_sink_error(r->sink);
    if (sink_error) { /* the output failed: the scan stops rather than probe for nothing */
        if (!r->write_error)
            r->write_error = sink_error;
        return TLS_E_IO;
    }
    if (t->input_error && !r->cfg->quiet)
        fprintf(stderr, "%scaprobe: %s: target '%s' skipped\n", r->opts.progress ? "\r\033[K" : "",
                t->input_error, t->target);
    struct report_findings findings;
    report_findings_init(&findings);
    struct report_target with = *t;
    if (!t->input_error) {
        struct report_context rules = r->rules;
        probe_policy_apply(r->policy, t, &rules);
        rules.baseline = report_baseline_find(r->baseline, t->target, report_target_starttls(t));
        if (report_rules_run(t, &rules, &findings) != 0) {
            report_findings_free(&findings);
            return TLS_E_NOMEM;
        }
        with.findings = &findings;
        int max = report_findings_max(&findings);
        if (max > r->max_severity)
            r->max_severity = max;
        enum report_verdict v = report_target_verdict(&with);
        r->verdicts[v]++;
        for (size_t i = 0; i < findings.n; i++)
            if ((unsigned)findings.v[i].severity <= REPORT_SEV_CRITICAL)
                r->findings[v][findings.v[i].severity]++;
    }
    errno = 0;
    int rc = r->sarif     ? report_sarif_target(r->sarif, &with)
             : r->junit   ? report_junit_target(r->junit, &with)
             : r->metrics ? report_metrics_target(r->metrics, &with)
                          : report_target_write(r->out, &r->report, &with);
    report_findings_free(&findings);
    if (rc && !r->write_error) {
        sink_error = probe_sink_error(r->sink);
        r->write_error = sink_error ? sink_error : errno ? errno : EIO;
    }
    return rc;
}

/* The scheduler's back-pressure: no new probe while the output is queued above the high water. */
static bool run_hold(void *ctx)
{
    struct run *r = ctx;
    return probe_sink_full(r->sink);
}

/* The output, and what depends on where it goes and on this machine: color, progress, the
 * open-file limit. */
static int run_open(struct run *r)
{
    const struct probe_config *c = r->cfg;
    int fd = STDOUT_FILENO;
    if (c->output) {
        int err = probe_outfile_open(&r->outfile, c->output);
        if (err) {
            fprintf(stderr, "caprobe: cannot write %s: %s\n", c->output, strerror(err));
            return PROBE_EXIT_USAGE;
        }
        fd = r->outfile.fd;
        drain_temp = r->outfile.temp;
    }
    int rc = probe_sink_open(&r->sink, fd, OUTPUT_HIGH_WATER);
    if (rc) {
        fprintf(stderr, "caprobe: cannot start the output writer: %s\n", tls_err_str(rc));
        return PROBE_EXIT_USAGE;
    }
    r->out = probe_sink_file(r->sink);
    r->report.format = c->format;
    r->report.names = c->names;
    r->report.fix_hint_told = &r->fix_hint_told;
    /* --color=always and never are the user's word for this run; auto: a terminal, unless
     * NO_COLOR (no-color.org) is set and not empty. On a terminal, lines fit its width. */
    bool text = c->format == REPORT_TEXT || c->format == REPORT_ONELINE;
    bool tty = text && c->output == NULL && isatty(STDOUT_FILENO);
    if (text && c->color >= 0) {
        r->report.color = c->color == 1;
    } else if (tty) {
        const char *nc = getenv("NO_COLOR");
        r->report.color = nc == NULL || *nc == 0;
    }
    struct winsize ws;
    if (tty)
        r->report.width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
    r->opts = c->scan;
    r->opts.identity = r->expect.identity;
    r->opts.progress = c->progress < 0 ? !c->quiet && isatty(STDERR_FILENO) : c->progress;
    r->report.erase_progress = tty && r->opts.progress;
    r->opts.quiet = c->quiet;
    r->opts.emit = run_emit;
    r->opts.emit_ctx = r;
    r->opts.hold = run_hold;
    r->opts.hold_ctx = r;
    fit_open_files(r);
    return 0;
}

/* What the rules compare against; a failure is told naming the file. */
static int run_load(struct run *r)
{
    const struct probe_config *c = r->cfg;
    if (probe_expect_load(&r->expect, c->expect_files, c->n_expect, c->client_cert,
                          c->public_roots) != 0)
        return PROBE_EXIT_USAGE;
    if (c->client_key && probe_expect_load_key(&r->expect, c->client_key, c->client_key_password,
                                               (int64_t)time(NULL)) != 0)
        return PROBE_EXIT_USAGE;
    probe_expect_apply(&r->expect, &r->rules);
    if (c->policy_file && probe_policy_load(&r->policy, c->policy_file) != 0)
        return PROBE_EXIT_USAGE;
    if (c->baseline_file) {
        char why[1024];
        if (report_baseline_load(&r->baseline, c->baseline_file, why, sizeof(why)) != 0) {
            fprintf(stderr, "caprobe: --baseline %s\n", why);
            return PROBE_EXIT_USAGE;
        }
    }
    for (size_t i = 0; c->netsh_file && strcmp(c->netsh_file, "-") == 0 && i < c->n_files; i++)
        if (strcmp(c->files[i], "-") == 0) {
            fprintf(stderr, "caprobe: --netsh - and -i - cannot both be standard input\n");
            return PROBE_EXIT_USAGE;
        }
    if (c->netsh_file) {
        char why[1024];
        if (report_netsh_load(&r->netsh, c->netsh_file, why, sizeof(why)) != 0) {
            fprintf(stderr, "caprobe: --netsh %s\n", why);
            return PROBE_EXIT_USAGE;
        }
        report_netsh_warn_typos(r->netsh, stderr, "caprobe: warning: --netsh ");
        r->rules.netsh = r->netsh;
    }
    return 0;
}

/* The scan itself, into the open output; 0 or the scan's own failure (TLS_E_*). The document
 * formats are closed also after a failed or interrupted scan: what they hold stays valid. */
static int run_scan(struct run *r, struct probe_stats *st)
{
    const struct probe_config *c = r->cfg;
    struct probe_input_opts io = {
        .args = c->targets,
        .n_args = c->n_targets,
        .files = c->files,
        .n_files = c->n_files,
        .ports = c->ports,
        .n_ports = c->n_ports,
        .shard_k = c->shard_k,
        .shard_n = c->shard_n,
        .cidr_max = c->cidr_max,
        .starttls = c->starttls,
        .starttls_ports = c->starttls_ports,
    };
    struct probe_input *in = NULL;
    int rc = report_jsonl_cache_new(&r->report.jsonl_cache, JSONL_CACHE_BYTES);
    if (rc == 0 && c->doc == PROBE_DOC_SARIF)
        rc = report_sarif_begin(&r->sarif, r->out, CAPROBE_VERSION);
    if (rc == 0 && c->doc == PROBE_DOC_JUNIT)
        rc = report_junit_begin(&r->junit, r->out, CAPROBE_VERSION, c->fail_on);
    if (rc == 0 && c->doc == PROBE_DOC_OPENMETRICS)
        rc = report_metrics_begin(&r->metrics, r->out);
    if (rc == 0)
        rc = probe_input_new(&in, &io);
    if (rc == 0)
        rc = probe_scan_run(&r->opts, in, st);
    drain_signals(true); /* until run_close_output has written everything */
    probe_input_free(in);
    /* The loop has ended: from here the output may wait for its reader, and a document's end
     * (JUnit writes all its test cases now) takes no more memory than the high water. */
    probe_sink_set_blocking(r->sink);
    if (st->signal) { /* the document says it is incomplete */
        const char *sig = st->signal == SIGINT    ? "SIGINT"
                          : st->signal == SIGTERM ? "SIGTERM"
                          : st->signal == SIGHUP  ? "SIGHUP"
                                                  : "";
        if (r->sarif)
            report_sarif_interrupted(r->sarif, sig);
        if (r->junit)
            report_junit_interrupted(r->junit, sig);
    }
    int doc_rc = r->sarif   ? report_sarif_end(r->sarif)
                 : r->junit ? report_junit_end(r->junit)
                            : report_metrics_end(r->metrics);
    r->sarif = NULL;
    r->junit = NULL;
    r->metrics = NULL;
    if (doc_rc && !r->write_error)
        r->write_error = doc_rc == TLS_E_NOMEM ? ENOMEM : EIO;
    report_jsonl_cache_free(r->report.jsonl_cache);
    r->report.jsonl_cache = NULL;
    return rc;
}

/* Write what is still queued and close the output; its failure becomes write_error (the sink's
 * errno rather than a renderer's generic EIO). This is the one place that waits for the reader
 * of the output: at the end of the scan, when no probe is left to time out. -o FILE's temporary
 * file is then renamed by run_commit or removed by probe_outfile_abort. */
static void run_close_output(struct run *r)
{
    int err = probe_sink_close(r->sink);
    r->sink = NULL;
    r->out = NULL;
    if (err && (!r->write_error || r->write_error == EIO))
        r->write_error = err;
}

/* Whether paths a and b name the same file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The report is complete (a scan stopped by a signal too: it says so): -o FILE is replaced by
 * it. An interrupted scan whose FILE is also the --baseline keeps the baseline whole (records
 * of the targets it did not reach would be lost from it) and is put beside it as
 * FILE.interrupted. 0, or TLS_E_IO once the failure was told naming the file (the temporary
 * file is gone and FILE is as it was). */
static int run_commit(struct run *r, const struct probe_stats *st)
{
    const struct probe_config *c = r->cfg;
    bool aside = st->signal && c->output && c->baseline_file && r->outfile.temp &&
                 same_file(c->output, c->baseline_file);
    drain_temp = NULL; /* from here the temporary file is the commit's to remove */
    int err = probe_outfile_commit(&r->outfile, aside ? ".interrupted" : NULL);
    if (err == 0) {
        if (aside && !c->quiet)
            fprintf(stderr,
                    "caprobe: the scan was interrupted: %s stays the baseline it was; this "
                    "run's records are in %s.interrupted\n",
                    c->output, c->output);
        return 0;
    }
    fprintf(stderr, "caprobe: cannot write %s%s: %s\n", c->output, aside ? ".interrupted" : "",
            strerror(err));
    return TLS_E_IO;
}

/* The summary on standard error, written at once so that it does not interleave with a report
 * piped to the same terminal: targets by verdict with the findings by severity, then the probes,
 * then the name lookups and the output's hold when there were any. Each line fits 80 columns
 * for a scan of a few targets. */
struct summary {
    char text[1024];
    size_t n;
};

static void say(struct summary *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct summary *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->n < sizeof(m->text))
        m->n += (size_t)vsnprintf(m->text + m->n, sizeof(m->text) - m->n, fmt, ap);
    va_end(ap);
}

/* " (1 high, 3 medium)": the findings of the targets of one verdict, when there are any. */
static void say_findings(struct summary *m, const uint64_t *count)
{
    const char *in = " (";
    for (int s = REPORT_SEV_CRITICAL; s >= REPORT_SEV_INFO; s--)
        if (count[s]) {
            say(m, "%s%llu %s", in, (unsigned long long)count[s],
                report_severity_name((enum report_severity)s));
            in = ", ";
        }
    say(m, "%s", *in == ',' ? ")" : "");
}

/* ", PART" of the line that starts at m->text + *line; on a terminal, a part that would pass
 * column 80 opens a line of its own, "caprobe:" and indented (every summary line starts so). */
static void say_part(struct summary *m, size_t *line, bool wrap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say_part(struct summary *m, size_t *line, bool wrap, const char *fmt, ...)
{
    char part[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(part, sizeof(part), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (wrap && m->n < sizeof(m->text) && m->n - *line + 2 + (size_t)n > 80) {
        say(m, ",\n");
        *line = m->n;
        say(m, "caprobe:   %s", part);
        return;
    }
    say(m, ", %s", part);
}

static void run_summary(const struct run *r, const struct probe_stats *st, size_t output_peak)
{
    struct summary m = {.n = 0};
    say(&m, "caprobe: %llu target%s:", (unsigned long long)st->targets,
        st->targets == 1 ? "" : "s");
    /* "1 OK, 1 with findings (1 high, 3 medium), 1 not probed (1 medium), 1 bad target line":
     * a target whose every probe failed is not probed, its probe-failed finding counted with
     * it; a bad target line is one only */
    static const char *const words[] = {
        [REPORT_VERDICT_OK] = "OK",
        [REPORT_VERDICT_FINDINGS] = "with findings",
        [REPORT_VERDICT_NOT_PROBED] = "not probed",
    };
    const char *sep = " ";
    for (int v = REPORT_VERDICT_OK; v <= REPORT_VERDICT_NOT_PROBED; v++) {
        if (r->verdicts[v] == 0)
            continue;
        say(&m, "%s%llu %s", sep, (unsigned long long)r->verdicts[v], words[v]);
        say_findings(&m, r->findings[v]);
        sep = ", ";
    }
    if (st->input_errors)
        say(&m, "%s%llu bad target line%s", sep, (unsigned long long)st->input_errors,
            st->input_errors == 1 ? "" : "s");
    say(&m, "%s\n", st->signal ? " (interrupted)" : "");
    size_t line = m.n;
    bool wrap = isatty(STDERR_FILENO);
    say(&m, "caprobe: %llu probe%s: %llu with a certificate request, %llu without, %llu error%s",
        (unsigned long long)st->probes, st->probes == 1 ? "" : "s",
        (unsigned long long)st->with_request, (unsigned long long)st->without_request,
        (unsigned long long)st->errors, st->errors == 1 ? "" : "s");
    if (st->not_offered)
        say_part(&m, &line, wrap, "%llu with a TLS version not offered",
                 (unsigned long long)st->not_offered);
    if (st->retries)
        say_part(&m, &line, wrap, "%llu retr%s", (unsigned long long)st->retries,
                 st->retries == 1 ? "y" : "ies");
    say(&m, "\n");
    if (st->dns_lookups)
        say(&m, "caprobe: %llu name%s looked up, %llu without an address\n",
            (unsigned long long)st->dns_lookups, st->dns_lookups == 1 ? "" : "s",
            (unsigned long long)st->dns_failures);
    if (st->output_hold_ms)
        say(&m, "caprobe: output held new probes for %.1f s (up to %.1f MiB queued)\n",
            (double)st->output_hold_ms / 1000.0, (double)output_peak / (1024.0 * 1024.0));
    if (m.n >= sizeof(m.text)) /* cannot be: the figures are bounded; no line is left open */
        m.text[sizeof(m.text) - 2] = '\n';
    fputs(m.text, stderr);
}

int probe_run(const struct probe_config *c)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.cfg = c;
    probe_outfile_init(&r.outfile);
    r.max_severity = -1;
    probe_expect_init(&r.expect);
    report_context_init(&r.rules);
    struct probe_stats st;
    memset(&st, 0, sizeof(st));
    int status = run_load(&r); /* every input before the output: -o may name one of them */
    if (status == 0)
        status = run_open(&r);
    if (status)
        goto out;
    int rc = run_scan(&r, &st);
    size_t queued, output_peak;
    probe_sink_counts(r.sink, &queued, &output_peak);
    run_close_output(&r);
    if (rc == 0 && r.write_error == 0)
        rc = run_commit(&r, &st);
    drain_signals(false);
    status = PROBE_EXIT_USAGE;
    if (r.write_error == EPIPE) { /* nobody reads any more: nothing to tell */
        status = PROBE_EXIT_READER_GONE;
        goto out;
    }
    if (r.write_error) {
        fprintf(stderr, "caprobe: writing the report failed: %s\n", strerror(r.write_error));
        goto out;
    }
    if (rc) {
        if (rc != TLS_E_IO) /* unreadable input was reported where it happened */
            fprintf(stderr, "caprobe: scan failed: %s\n", tls_err_str(rc));
        goto out;
    }
    if (!c->quiet)
        run_summary(&r, &st, output_peak);
    /* One status tells the most pressing thing (README, "Exit status"): a finding first, as it
     * is what the gate is for, then an interruption, bad target lines, failed probes. */
    if (r.max_severity >= (int)c->fail_on)
        status = PROBE_EXIT_FINDINGS;
    else if (st.signal)
        status = 128 + st.signal;
    else if (st.input_errors)
        status = PROBE_EXIT_USAGE;
    else if (st.errors && c->fail_on_error)
        status = PROBE_EXIT_TARGET_ERRORS;
    else
        status = 0;
out:
    run_close_output(&r);
    drain_temp = NULL;
    probe_outfile_abort(&r.outfile); /* no report: FILE is left as it was */
    report_baseline_free(r.baseline);
    report_netsh_free(r.netsh);
    probe_policy_free(r.policy);
    probe_expect_free(&r.expect);
    return status;
}
