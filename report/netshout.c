/* caprobe netsh FILE [--previous OLD] [--format text|jsonl]: the bindings of a saved netsh http
 * show sslcert output and the audit's flags (netsh.h), for a terminal or as JSON Lines
 * (docs/output.md). Everything from the file goes out through the terminal or the JSON encoding
 * of report/jsonw.h, never raw. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "jsonw.h"
#include "netsh.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"

struct out {
    const struct report_netsh *now, *prev;
    const struct report_netsh_audit *audit;
    bool json;
    FILE *f;
    struct report_buf b;
};

/* The flags of binding i: v[*first .. *end) of the audit (sorted by binding). */
static void flags_of(const struct report_netsh_audit *a, size_t i, size_t *first, size_t *end)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->v[mid].binding < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    for (*end = lo; *end < a->n && a->v[*end].binding == i; (*end)++)
        ;
}

static const char *change_name(enum report_netsh_change c)
{
    switch (c) {
    case REPORT_NETSH_SAME:
        return "same";
    case REPORT_NETSH_CHANGED:
        return "changed";
    case REPORT_NETSH_ADDED:
        return "added";
    }
    return "?";
}

/* ---- JSON Lines ---------------------------------------------------------------------------- */

/* A view as a JSON string (a line is at most TLS_NETSH_LINE_MAX bytes). */
static void json_view(struct report_buf *b, const char *s, size_t n)
{
    char tmp[TLS_NETSH_LINE_MAX + 1];
    if (n > TLS_NETSH_LINE_MAX)
        n = TLS_NETSH_LINE_MAX;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    report_buf_json_str(b, tmp);
}

/* A binding's lines after its first, read once (at most TLS_NETSH_FIELDS_MAX: the parse saw to
 * it). */
struct field_list {
    struct tls_netsh_field v[TLS_NETSH_FIELDS_MAX];
    size_t n;
};

static void field_list_read(struct field_list *l, const struct tls_netsh_binding *bd)
{
    struct tls_netsh_iter it = {0, 0};
    l->n = 0;
    while (l->n < TLS_NETSH_FIELDS_MAX && tls_netsh_field_next(bd, &it, &l->v[l->n]))
        l->n++;
}

/* The fields of group g (its lines follow each other) as one object, a name given twice kept
 * the first time. */
static void json_group(struct report_buf *b, const struct field_list *l, unsigned g)
{
    size_t from = 0;
    while (from < l->n && l->v[from].group != g)
        from++;
    bool first = true;
    report_buf_puts(b, "{");
    for (size_t i = from; i < l->n && l->v[i].group == g; i++) {
        const struct tls_netsh_field *f = &l->v[i];
        bool dup = f->value == NULL; /* the section's own line */
        for (size_t k = from; k < i && !dup; k++)
            dup = l->v[k].value && l->v[k].name_len == f->name_len &&
                  memcmp(l->v[k].name, f->name, f->name_len) == 0;
        if (dup)
            continue;
        report_buf_puts(b, first ? "" : ",");
        first = false;
        json_view(b, f->name, f->name_len);
        report_buf_puts(b, ":");
        json_view(b, f->value, f->value_len);
    }
    report_buf_puts(b, "}");
}

/* The binding's certificate hash in lower case (40 hex digits: the parse checked them), or
 * null. */
static void json_hash(struct report_buf *b, const struct tls_netsh_binding *bd)
{
    const char *hash = tls_netsh_get(bd, TLS_NETSH_F_CERT_HASH);
    char lower[41] = "";
    for (size_t i = 0; hash && i < 40; i++)
        lower[i] = (char)(hash[i] >= 'A' && hash[i] <= 'F' ? hash[i] - 'A' + 'a' : hash[i]);
    report_buf_json_str(b, hash ? lower : NULL);
}

/* The keys every record of a binding has: file, line, binding, kind, endpoint, host, port, the
 * client-certificate settings, fields, extended_properties. */
static void json_binding(struct report_buf *b, const struct report_netsh *n,
                         const struct tls_netsh_binding *bd)
{
    report_buf_puts(b, "{\"schema\":\"caprobe-netsh/1\",\"file\":");
    report_buf_json_str(b, report_netsh_name(n));
    report_buf_printf(b, ",\"line\":%zu,\"binding\":", bd->line);
    report_buf_json_str(b, bd->key);
    report_buf_printf(b, ",\"kind\":\"%s\",\"endpoint\":", tls_netsh_kind_name(bd->kind));
    report_buf_json_str(b, bd->endpoint);
    report_buf_puts(b, ",\"host\":");
    report_buf_json_str(b, bd->host);
    report_buf_printf(b, ",\"port\":%u,\"certificate_hash\":", bd->port);
    json_hash(b, bd);
    static const struct {
        const char *key;
        enum tls_netsh_field_id id;
    } names[] = {
        {"application_id", TLS_NETSH_F_APP_ID},
        {"certificate_store_name", TLS_NETSH_F_CERT_STORE},
        {"ctl_identifier", TLS_NETSH_F_CTL_ID},
        {"ctl_store_name", TLS_NETSH_F_CTL_STORE},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        report_buf_printf(b, ",\"%s\":", names[i].key);
        report_buf_json_str(b, tls_netsh_get(bd, names[i].id));
    }
    int neg = tls_netsh_flag(bd, TLS_NETSH_F_NEGOTIATE);
    report_buf_printf(b, ",\"negotiate_client_certificate\":%s,\"fields\":",
                      neg < 0 ? "null"
                      : neg   ? "true"
                              : "false");
    struct field_list l; /* 10 KiB */
    field_list_read(&l, bd);
    json_group(b, &l, 0);
    report_buf_puts(b, ",\"extended_properties\":[");
    for (unsigned g = 1; g <= bd->n_groups; g++) {
        report_buf_puts(b, g > 1 ? "," : "");
        json_group(b, &l, g);
    }
    report_buf_puts(b, "]");
}

static void json_previous(struct report_buf *b, const struct report_netsh *prev,
                          const struct tls_netsh_binding *old)
{
    report_buf_puts(b, ",\"previous\":{\"file\":");
    report_buf_json_str(b, report_netsh_name(prev));
    report_buf_printf(b, ",\"line\":%zu,\"certificate_hash\":", old->line);
    json_hash(b, old);
    report_buf_puts(b, ",\"ctl_store_name\":");
    report_buf_json_str(b, tls_netsh_get(old, TLS_NETSH_F_CTL_STORE));
    int neg = tls_netsh_flag(old, TLS_NETSH_F_NEGOTIATE);
    report_buf_printf(b, ",\"negotiate_client_certificate\":%s}",
                      neg < 0 ? "null"
                      : neg   ? "true"
                              : "false");
}

static void json_flags(struct report_buf *b, const struct report_netsh_audit *a, size_t first,
                       size_t end)
{
    report_buf_puts(b, ",\"findings\":[");
    for (size_t k = first; k < end; k++) {
        const struct report_netsh_flag *f = &a->v[k];
        report_buf_printf(
            b, "%s{\"check\":\"%s\",\"severity\":\"%s\",\"message\":", k > first ? "," : "",
            report_netsh_check_name(f->check), report_severity_name(f->severity));
        report_buf_json_str(b, f->message);
        report_buf_puts(b, ",\"related\":");
        report_buf_json_str(b, f->related ? f->related->key : NULL);
        if (f->remedy) {
            report_buf_puts(b, ",\"remedy\":");
            report_buf_json_str(b, f->remedy);
        }
        report_buf_puts(b, "}");
    }
    report_buf_puts(b, "]}\n");
}

/* ---- text ---------------------------------------------------------------------------------- */

static void text_value(struct report_buf *b, const char *label, const char *v)
{
    report_buf_printf(b, "%s ", label);
    report_buf_term(b, report_netsh_shown(v));
}

/* "3 flags: 2 high, 1 low" for the flags v[first .. end) */
static void text_counts(struct report_buf *b, const struct report_netsh_audit *a, size_t first,
                        size_t end)
{
    size_t sev[REPORT_SEV_CRITICAL + 1] = {0};
    for (size_t i = first; i < end; i++)
        sev[a->v[i].severity]++;
    report_buf_printf(b, "%zu flag%s:", end - first, end - first == 1 ? "" : "s");
    const char *sep = " ";
    for (int s = REPORT_SEV_CRITICAL; s >= 0; s--)
        if (sev[s]) {
            report_buf_printf(b, "%s%zu %s", sep, sev[s],
                              report_severity_name((enum report_severity)s));
            sep = ", ";
        }
}

static void text_head(struct out *o)
{
    const struct tls_netsh *f = report_netsh_file(o->now);
    size_t kinds[3] = {0, 0, 0};
    for (size_t i = 0; i < f->n; i++)
        kinds[f->v[i].kind]++;
    report_buf_term(&o->b, report_netsh_name(o->now));
    report_buf_printf(&o->b, " (%s): %zu binding%s (%zu ipport, %zu hostnameport, %zu ccs): ",
                      tls_netsh_encoding_name(f->encoding, f->bom), f->n, f->n == 1 ? "" : "s",
                      kinds[0], kinds[1], kinds[2]);
    if (o->audit->n == 0)
        report_buf_puts(&o->b, "nothing flagged");
    else
        text_counts(&o->b, o->audit, 0, o->audit->n);
    if (o->prev) {
        size_t ch[3] = {0, 0, 0};
        for (size_t i = 0; i < f->n; i++)
            ch[o->audit->change[i]]++;
        report_buf_puts(&o->b, "\n  against ");
        report_buf_term(&o->b, report_netsh_name(o->prev));
        report_buf_printf(&o->b,
                          ": %zu with another certificate hash, %zu the same, %zu new, %zu gone",
                          ch[REPORT_NETSH_CHANGED], ch[REPORT_NETSH_SAME], ch[REPORT_NETSH_ADDED],
                          o->audit->n_removed);
    }
    report_buf_puts(&o->b, "\n");
}

static void text_binding(struct out *o, size_t i, size_t first, size_t end)
{
    const struct tls_netsh_binding *bd = &report_netsh_file(o->now)->v[i];
    struct report_buf *b = &o->b;
    report_buf_term(b, bd->key);
    report_buf_printf(b, "  line %zu  ", bd->line);
    if (end == first)
        report_buf_puts(b, "OK");
    else
        text_counts(b, o->audit, first, end);
    if (o->prev && o->audit->change[i] == REPORT_NETSH_CHANGED)
        report_buf_puts(b, "  (another certificate hash than before)");
    else if (o->prev && o->audit->change[i] == REPORT_NETSH_ADDED)
        report_buf_puts(b, "  (new)");
    report_buf_puts(b, "\n  ");
    text_value(b, "Certificate Hash", bd->known[TLS_NETSH_F_CERT_HASH]);
    report_buf_puts(b, ", ");
    text_value(b, "Application ID", bd->known[TLS_NETSH_F_APP_ID]);
    report_buf_puts(b, ", ");
    text_value(b, "Certificate Store Name", bd->known[TLS_NETSH_F_CERT_STORE]);
    report_buf_puts(b, "\n  ");
    text_value(b, "Ctl Store Name", bd->known[TLS_NETSH_F_CTL_STORE]);
    report_buf_puts(b, ", ");
    text_value(b, "Negotiate Client Certificate", bd->known[TLS_NETSH_F_NEGOTIATE]);
    report_buf_puts(b, "\n");
    for (size_t k = first; k < end; k++) {
        const struct report_netsh_flag *f = &o->audit->v[k];
        report_buf_printf(b, "  %-8s %s: ", report_severity_name(f->severity),
                          report_netsh_check_name(f->check));
        report_buf_term(b, f->message);
        report_buf_puts(b, "\n");
        /* findings in a row with the same fix show it once, after the last of them */
        if (f->remedy && (k + 1 == end || !o->audit->v[k + 1].remedy ||
                          strcmp(f->remedy, o->audit->v[k + 1].remedy) != 0)) {
            report_buf_puts(b, "           fix: ");
            report_buf_term(b, f->remedy);
            report_buf_puts(b, "\n");
        }
    }
}

/* ---- the command --------------------------------------------------------------------------- */

static int write_all(struct out *o)
{
    const struct tls_netsh *f = report_netsh_file(o->now);
    int rc = 0;
    if (!o->json) {
        text_head(o);
        rc = report_buf_flush(&o->b, o->f);
    }
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        size_t first, end;
        flags_of(o->audit, i, &first, &end);
        if (o->json) {
            json_binding(&o->b, o->now, &f->v[i]);
            if (o->prev) {
                report_buf_printf(&o->b, ",\"change\":\"%s\"", change_name(o->audit->change[i]));
                if (o->audit->previous[i])
                    json_previous(&o->b, o->prev, o->audit->previous[i]);
            }
            json_flags(&o->b, o->audit, first, end);
        } else {
            text_binding(o, i, first, end);
        }
        rc = report_buf_flush(&o->b, o->f);
    }
    for (size_t i = 0; i < o->audit->n_removed && rc == 0; i++) {
        const struct tls_netsh_binding *old = o->audit->removed[i];
        if (o->json) {
            json_binding(&o->b, o->prev, old);
            report_buf_puts(&o->b, ",\"change\":\"removed\"");
            json_flags(&o->b, o->audit, 0, 0);
        } else {
            report_buf_term(&o->b, old->key);
            report_buf_printf(&o->b, "  gone: only in ");
            report_buf_term(&o->b, report_netsh_name(o->prev));
            report_buf_printf(&o->b, " (line %zu)\n", old->line);
        }
        rc = report_buf_flush(&o->b, o->f);
    }
    if (rc == 0 && fflush(o->f) != 0)
        rc = TLS_E_IO;
    return rc;
}

static const char netsh_usage[] =
    "Usage: caprobe netsh FILE [--previous OLD] [--format text|jsonl]\n"
    "Read the output of 'netsh http show sslcert' saved on a Windows server (English;\n"
    "UTF-8, or UTF-16 with a byte-order mark as PowerShell's '>' writes it; '-': standard\n"
    "input), list its http.sys bindings (ipport, hostnameport, ccs) and flag:\n"
    "  ctl-store-missing  Negotiate Client Certificate Enabled without a Ctl Store Name:\n"
    "                     Schannel names the whole Trusted Root store (high)\n"
    "  sni-ip-mismatch    a hostnameport and an ipport binding of one port that differ in\n"
    "                     Ctl Store Name or Negotiate Client Certificate (high), or in the\n"
    "                     certificate hash alone (low)\n"
    "  certhash-changed   a binding whose certificate hash is not the one of OLD (medium;\n"
    "                     high when its Ctl Store Name was lost with it)\n"
    "each with the netsh http update sslcert line that fixes it, the binding's own values\n"
    "filled in.\n"
    "      --previous OLD   an earlier output of the same server, for certhash-changed\n"
    "      --format FORMAT  text (default) or jsonl: one JSON object per binding\n"
    "                       (docs/output.md)\n"
    "A scan takes the same file with --netsh FILE: its netsh remedies then name the binding\n"
    "each variant reached, with its hash, appid and store (docs/netsh.md).\n"
    "Exit status: 0 nothing flagged, 1 something flagged, 2 usage or input error (FILE or\n"
    "OLD unreadable or not netsh's output: FILE:LINE says why), 141 the reader of the output\n"
    "went away (| head).\n";

int report_netsh_main(int argc, char **argv, FILE *out, FILE *err)
{
    enum { OPT_PREVIOUS = 256, OPT_FORMAT };
    static const struct option netsh_opts[] = {
        {"previous", required_argument, NULL, OPT_PREVIOUS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *previous = NULL;
    bool json = false;
    int opt;
    opterr = 0; /* our words, "caprobe netsh: ...", not getopt's */
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", netsh_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_PREVIOUS:
            previous = optarg;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0 || strcmp(optarg, "jsonl") == 0)
                json = strcmp(optarg, "jsonl") == 0;
            else
                return report_usage_error(err, "netsh",
                                          "--format: expected text or jsonl, got '%s'", optarg);
            break;
        case 'h':
            fputs(netsh_usage, out);
            return 0;
        default: /* ':' or an unknown option */
            return report_usage_getopt(err, "netsh", opt, argv);
        }
    }
    if (argc - optind != 1)
        return report_usage_error(err, "netsh", "expected one file, got %d", argc - optind);
    const char *path = argv[optind];
    if (previous && strcmp(previous, "-") == 0 && strcmp(path, "-") == 0)
        return report_usage_error(err, "netsh", "FILE and OLD cannot both be standard input");
    struct report_netsh *now = NULL, *prev = NULL;
    struct report_netsh_audit audit;
    memset(&audit, 0, sizeof(audit));
    char why[1024];
    int status = 2;
    if (report_netsh_load(&now, path, why, sizeof(why)) != 0 ||
        (previous && report_netsh_load(&prev, previous, why, sizeof(why)) != 0)) {
        fprintf(err, "caprobe netsh: %s%s\n", previous && now ? "--previous " : "", why);
        goto out;
    }
    report_netsh_warn_typos(now, err, "caprobe netsh: warning: ");
    if (prev)
        report_netsh_warn_typos(prev, err, "caprobe netsh: warning: --previous ");
    if (report_netsh_audit(now, prev, &audit) != 0) {
        fprintf(err, "caprobe netsh: out of memory\n");
        goto out;
    }
    if (audit.pairs_skipped) {
        char name[512];
        fprintf(err,
                "caprobe netsh: %s: %zu pairs of hostnameport and ipport bindings of one port "
                "not compared (more than %zu): sni-ip-mismatch is incomplete\n",
                tls_escape_term(name, sizeof(name), report_netsh_name(now), 0), audit.pairs_skipped,
                REPORT_NETSH_PAIRS_MAX);
    }
    struct out o = {now, prev, &audit, json, out, {0}};
    errno = 0;
    int rc = write_all(&o);
    report_buf_free(&o.b);
    if (rc == TLS_E_IO && errno == EPIPE) { /* nobody reads any more (| head) */
        status = 128 + 13;
        goto out;
    }
    if (rc) {
        fprintf(err, "caprobe netsh: cannot write the output: %s\n",
                rc == TLS_E_IO && errno ? strerror(errno) : tls_err_str(rc));
        goto out;
    }
    status = audit.n ? 1 : 0;
out:
    report_netsh_audit_free(&audit);
    report_netsh_free(now);
    report_netsh_free(prev);
    return status;
}
