/* SARIF 2.1.0 renderer (writer.h), streamed result by result. The run's keys come in a fixed
 * order (tool, results, invocations) so results go straight to the output; the notifications of
 * the invocation arrive meanwhile and are spooled to a tmpfile(). Every string goes through
 * jsonw's escaping (server and input text may hold anything); nothing of a target is kept past
 * its call, and no clock or host detail makes the output differ between runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"
#include "tls/wire/names.h"
#include "writer.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define SARIF_INFO_URI "https://github.com/caprobe/caprobe"
/* Targets are endpoints, not files; GitHub code scanning still rejects a result without
 * physicalLocation.artifactLocation.uri (and an absolute URI of another scheme than file:), so
 * each target also gets a relative pseudo-path under this folder. */
#define SARIF_URI_PREFIX "caprobe/"

/* driver.notifications, referred to by index from toolExecutionNotifications */
enum note_kind {
    NOTE_INPUT_ERROR,
    NOTE_PROBE_ERROR,
    NOTE_INTERRUPTED,
};

static const struct {
    const char *id, *name, *level, *text, *full, *help;
} note_kinds[] = {
    [NOTE_INPUT_ERROR] = {"input-error", "InputError", "error",
                          "A target could not be parsed; it was not probed.",
                          "A line of the target list or a target argument is not host[:port], "
                          "ipv4[:port], [ipv6]:port or a CIDR range; caprobe skipped it and ends "
                          "with exit status 2.",
                          "Fix the target line named in the message."},
    [NOTE_PROBE_ERROR] = {"probe-error", "ProbeError", "warning",
                          "A probe of a target failed (DNS, connection, timeout or TLS error).",
                          "caprobe could not learn what this variant of the target advertises: "
                          "the name did not resolve, the connection was refused or reset, the "
                          "deadline passed, or the TLS handshake failed before the server's "
                          "first flight was complete.",
                          "Check that the target is reachable from the scanning host and speaks "
                          "TLS on that port; --timeout and --retries help with slow servers."},
    [NOTE_INTERRUPTED] = {"interrupted", "Interrupted", "error",
                          "The scan was interrupted; this report is incomplete.",
                          "caprobe was stopped by a signal (SIGINT, SIGTERM) and finished the "
                          "report with what it had: targets not yet probed are missing, probes "
                          "cut short are failed probes of kind interrupted.",
                          "Run the scan again to its end before relying on what is missing."},
};

struct report_sarif {
    FILE *f;
    FILE *notes;                /* spooled notifications; NULL until the first */
    struct report_buf out, tmp; /* one target's JSON; a string being assembled */
    struct report_buf note;     /* one target's notifications */
    size_t n_results, n_notes, n_input_errors;
    int err;          /* first error, returned again by end */
    bool interrupted; /* the scan was stopped: the document says it is incomplete */
    char signal[16];  /* the signal's name, "" when not known */
};

static const char *level_of(enum report_severity s)
{
    switch (s) {
    case REPORT_SEV_CRITICAL:
    case REPORT_SEV_HIGH:
        return "error";
    case REPORT_SEV_MEDIUM:
        return "warning";
    case REPORT_SEV_LOW:
    case REPORT_SEV_INFO:
        return "note";
    }
    return "note";
}

/* GitHub code scanning's security-severity scale: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9
 * medium, 0.1-3.9 low. */
static const char *security_severity_of(enum report_severity s)
{
    switch (s) {
    case REPORT_SEV_CRITICAL:
        return "9.5";
    case REPORT_SEV_HIGH:
        return "8.0";
    case REPORT_SEV_MEDIUM:
        return "5.5";
    case REPORT_SEV_LOW:
        return "3.0";
    case REPORT_SEV_INFO:
        return "0.0";
    }
    return "0.0";
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* The text assembled in s->tmp, as a JSON string into b. */
static void put_tmp(struct report_sarif *s, struct report_buf *b)
{
    report_buf_put(&s->tmp, "", 1); /* NUL */
    report_buf_json_str(b, s->tmp.failed ? "" : s->tmp.p);
    if (s->tmp.failed)
        b->failed = true;
    s->tmp.len = 0;
}

/* "sni-mismatch" -> "SniMismatch": SARIF's reportingDescriptor.name is an identifier. */
static void put_pascal(struct report_buf *b, const char *id)
{
    report_buf_put(b, "\"", 1);
    for (bool up = true; *id; id++) {
        if (*id == '-') {
            up = true;
            continue;
        }
        char c = up && *id >= 'a' && *id <= 'z' ? (char)(*id - 'a' + 'A') : *id;
        report_buf_put(b, &c, 1);
        up = false;
    }
    report_buf_put(b, "\"", 1);
}

static const char *tls_text(const struct tls_observation *o, char *buf, size_t cap)
{
    return tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, buf, cap);
}

/* ,"starttls":"smtp" for a target spoken to with STARTTLS, as in its JSON Lines record */
static void put_starttls(struct report_buf *b, const struct report_target *t)
{
    if (report_target_starttls(t)) {
        report_buf_puts(b, ",\"starttls\":");
        report_buf_json_str(b, report_target_starttls(t));
    }
}

/* {"address":..,"sni":..,"tls":"1.2","phase":..} */
static void put_observation(struct report_buf *b, const struct tls_observation *o)
{
    char v[8];
    report_buf_puts(b, "{\"address\":");
    report_buf_json_str(b, o->address);
    report_buf_puts(b, ",\"sni\":");
    report_buf_json_str(b, o->sni);
    report_buf_puts(b, ",\"tls\":");
    report_buf_json_str(b, tls_text(o, v, sizeof(v)));
    report_buf_puts(b, ",\"phase\":");
    report_buf_json_str(b, o->phase);
    report_buf_put(b, "}", 1);
}

/* The relative URI SARIF_URI_PREFIX + target, percent-encoded (RFC 3986 2.1) so that any
 * target text, even invalid UTF-8, makes one valid path segment; "/PROTO" after it for a target
 * spoken to with STARTTLS (smtp://mx:25 and mx:25 are two locations). */
static void put_uri(struct report_sarif *s, struct report_buf *b, const char *target,
                    const char *starttls)
{
    const unsigned char *p = (const unsigned char *)str_or_empty(target);
    bool dots = *p && strspn((const char *)p, ".") == strlen((const char *)p);
    report_buf_puts(&s->tmp, SARIF_URI_PREFIX);
    for (; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '~' || *p == ':' ||
                     *p == '@' || (*p == '.' && !dots); /* no "." or ".." */
        if (plain) {
            report_buf_put(&s->tmp, (const char *)p, 1);
        } else {
            char esc[3] = {'%', tls_hex_upper[*p >> 4], tls_hex_upper[*p & 15]};
            report_buf_put(&s->tmp, esc, 3);
        }
    }
    if (starttls) { /* a name from the protocol table: letters only */
        report_buf_put(&s->tmp, "/", 1);
        report_buf_puts(&s->tmp, starttls);
    }
    put_tmp(s, b);
}

/* [{"physicalLocation":..,"logicalLocations":[..]}] for the target, at observation o (NULL:
 * the target as a whole). */
static void put_locations(struct report_sarif *s, struct report_buf *b,
                          const struct report_target *t, const struct tls_observation *o)
{
    report_buf_puts(b, "[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
    const char *starttls = report_target_starttls(t);
    put_uri(s, b, t->target, starttls);
    report_buf_puts(b, "}},\"logicalLocations\":[{\"name\":");
    report_buf_label(&s->tmp, t->target, starttls);
    put_tmp(s, b);
    report_buf_puts(b, ",\"fullyQualifiedName\":");
    report_buf_label(&s->tmp, t->target, starttls);
    if (o) {
        char v[8];
        report_buf_put(&s->tmp, "/", 1);
        report_buf_puts(&s->tmp, o->address ? o->address : "-");
        report_buf_put(&s->tmp, "/", 1);
        report_buf_puts(&s->tmp, o->sni ? o->sni : "-");
        report_buf_put(&s->tmp, "/", 1);
        report_buf_puts(&s->tmp, tls_text(o, v, sizeof(v)));
    }
    put_tmp(s, b);
    report_buf_puts(b, ",\"kind\":\"resource\"}]}]");
}

/* FNV-1a, 64 bits, over the rule, the target and the message, each with its NUL: stable
 * across runs and machines; only used to tell results apart ("caprobe/v1" names this recipe). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    return tls_fnv1a(s, strlen(s) + 1, h);
}

static void put_result(struct report_sarif *s, const struct report_target *t,
                       const struct report_finding *f)
{
    struct report_buf *b = &s->out;
    const char *target = str_or_empty(t->target), *msg = str_or_empty(f->message);
    const struct tls_observation *first = NULL;
    for (size_t k = 0; k < f->n_obs && !first; k++)
        if (f->obs[k] < t->n_obs)
            first = t->obs[f->obs[k]];

    report_buf_puts(b, s->n_results ? ",\n{\"ruleId\":" : "\n{\"ruleId\":");
    report_buf_json_str(b, f->rule->name);
    report_buf_puts(b, ",\"ruleIndex\":");
    report_buf_json_u64(b, (uint64_t)f->rule->id);
    report_buf_puts(b, ",\"level\":\"");
    report_buf_puts(b, level_of(f->severity));
    report_buf_puts(b, "\",\"message\":{\"text\":");
    size_t n = strlen(msg);
    report_buf_puts(&s->tmp, msg);
    if (f->remedy && *f->remedy) {
        report_buf_puts(&s->tmp, n && msg[n - 1] == '.' ? " Fix: " : ". Fix: ");
        report_buf_puts(&s->tmp, f->remedy);
    }
    put_tmp(s, b);
    report_buf_puts(b, "},\"locations\":");
    put_locations(s, b, t, first);
    char fp[17];
    uint64_t h = fnv1a(fnv1a(TLS_FNV1A_OFFSET, f->rule->name), target);
    if (report_target_starttls(t)) /* smtp://mx:25 and mx:25: two results */
        h = fnv1a(h, report_target_starttls(t));
    h = fnv1a(h, msg);
    snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)h);
    report_buf_puts(b, ",\"partialFingerprints\":{\"caprobe/v1\":\"");
    report_buf_puts(b, fp);
    report_buf_puts(b, "\"},\"properties\":{\"severity\":");
    report_buf_json_str(b, report_severity_name(f->severity));
    report_buf_puts(b, ",\"target\":");
    report_buf_json_str(b, target);
    put_starttls(b, t);
    report_buf_puts(b, ",\"observations\":[");
    bool any = false;
    for (size_t k = 0; k < f->n_obs; k++) {
        if (f->obs[k] >= t->n_obs)
            continue; /* a hand-made finding may point past the observations */
        if (any)
            report_buf_put(b, ",", 1);
        put_observation(b, t->obs[f->obs[k]]);
        any = true;
    }
    report_buf_puts(b, "]}}");
    s->n_results++;
}

/* The start of a notification of kind, its text assembled in s->tmp: {"level":..,"message":..,
 * "descriptor":{..} and no closing brace. */
/* level: the kind's own, or another (NULL: the kind's). */
static void put_note_start(struct report_sarif *s, struct report_buf *b, enum note_kind kind,
                           const char *level)
{
    report_buf_puts(b, s->n_notes ? ",\n{\"level\":\"" : "\n{\"level\":\"");
    report_buf_puts(b, level ? level : note_kinds[kind].level);
    report_buf_puts(b, "\",\"message\":{\"text\":");
    put_tmp(s, b);
    report_buf_puts(b, "},\"descriptor\":{\"id\":");
    report_buf_json_str(b, note_kinds[kind].id);
    report_buf_puts(b, ",\"index\":");
    report_buf_json_u64(b, (uint64_t)kind);
    report_buf_put(b, "}", 1);
}

static void put_note(struct report_sarif *s, const struct report_target *t, enum note_kind kind,
                     const struct tls_observation *o)
{
    struct report_buf *b = &s->note;
    const char *target = str_or_empty(t->target);
    report_buf_label(&s->tmp, target, report_target_starttls(t));
    if (o) {
        char v[8];
        report_buf_puts(&s->tmp, " [");
        report_buf_puts(&s->tmp, o->address ? o->address : "-");
        report_buf_puts(&s->tmp, o->sni ? ", SNI " : ", no SNI");
        report_buf_puts(&s->tmp, o->sni ? o->sni : "");
        report_buf_puts(&s->tmp, ", TLS ");
        report_buf_puts(&s->tmp, tls_text(o, v, sizeof(v)));
        if (o->phase && strcmp(o->phase, "handshake") != 0) {
            report_buf_puts(&s->tmp, ", ");
            report_buf_puts(&s->tmp, o->phase);
        }
        report_buf_puts(&s->tmp, "]: ");
        report_buf_puts(&s->tmp, tls_error_kind_name(o->error_kind));
        report_buf_puts(&s->tmp, ": ");
        report_buf_puts(&s->tmp, str_or_empty(o->error_message));
    } else {
        report_buf_puts(&s->tmp, ": ");
        report_buf_puts(&s->tmp, str_or_empty(t->input_error));
    }
    /* a TLS version the server declines is a fact about it, not a failed probe: a note */
    put_note_start(s, b, kind, o && o->error_kind == TLS_ERROR_VERSION_NOT_OFFERED ? "note" : NULL);
    report_buf_puts(b, ",\"locations\":");
    put_locations(s, b, t, o);
    report_buf_puts(b, ",\"properties\":{\"target\":");
    report_buf_json_str(b, target);
    put_starttls(b, t);
    if (o) {
        report_buf_puts(b, ",\"kind\":");
        report_buf_json_str(b, tls_error_kind_name(o->error_kind));
        report_buf_puts(b, ",\"observations\":[");
        put_observation(b, o);
        report_buf_put(b, "]", 1);
    } else {
        report_buf_puts(b, ",\"kind\":\"input\"");
    }
    report_buf_puts(b, "}}");
    s->n_notes++;
}

static void put_rule(struct report_buf *b, const struct report_rule *r)
{
    report_buf_puts(b, r->id ? ",\n{\"id\":" : "\n{\"id\":");
    report_buf_json_str(b, r->name);
    report_buf_puts(b, ",\"name\":");
    put_pascal(b, r->name);
    report_buf_puts(b, ",\"shortDescription\":{\"text\":");
    report_buf_json_str(b, str_or_empty(r->title));
    report_buf_puts(b, "},\"fullDescription\":{\"text\":");
    report_buf_json_str(b, str_or_empty(r->help));
    report_buf_puts(b, "},\"help\":{\"text\":");
    report_buf_json_str(b, str_or_empty(r->remedy));
    report_buf_puts(b, "},\"defaultConfiguration\":{\"level\":\"");
    report_buf_puts(b, level_of(r->severity));
    report_buf_puts(b, "\"},\"properties\":{\"severity\":");
    report_buf_json_str(b, report_severity_name(r->severity));
    report_buf_puts(b, ",\"security-severity\":\"");
    report_buf_puts(b, security_severity_of(r->severity));
    report_buf_puts(b, "\",\"tags\":[\"security\",\"tls\"]}}");
}

static void sarif_free(struct report_sarif *s)
{
    if (s->notes)
        fclose(s->notes);
    report_buf_free(&s->out);
    report_buf_free(&s->tmp);
    report_buf_free(&s->note);
    free(s);
}

int report_sarif_begin(struct report_sarif **out, FILE *f, const char *tool_version)
{
    *out = NULL;
    struct report_sarif *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TLS_E_NOMEM;
    s->f = f;
    struct report_buf *b = &s->out;
    report_buf_puts(b, "{\"$schema\":\"" SARIF_SCHEMA "\",\"version\":\"2.1.0\",\"runs\":[{"
                       "\"tool\":{\"driver\":{\"name\":\"caprobe\"");
    if (tool_version) {
        report_buf_puts(b, ",\"version\":");
        report_buf_json_str(b, tool_version);
    }
    report_buf_puts(b, ",\"informationUri\":\"" SARIF_INFO_URI "\",\"rules\":[");
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++)
        put_rule(b, report_rule_get((enum report_rule_id)i));
    report_buf_puts(b, "\n],\"notifications\":[");
    for (size_t i = 0; i < sizeof(note_kinds) / sizeof(note_kinds[0]); i++) {
        report_buf_puts(b, i ? ",\n{\"id\":" : "\n{\"id\":");
        report_buf_json_str(b, note_kinds[i].id);
        report_buf_puts(b, ",\"name\":");
        report_buf_json_str(b, note_kinds[i].name);
        report_buf_puts(b, ",\"shortDescription\":{\"text\":");
        report_buf_json_str(b, note_kinds[i].text);
        report_buf_puts(b, "},\"fullDescription\":{\"text\":");
        report_buf_json_str(b, note_kinds[i].full);
        report_buf_puts(b, "},\"help\":{\"text\":");
        report_buf_json_str(b, note_kinds[i].help);
        report_buf_puts(b, "},\"defaultConfiguration\":{\"level\":\"");
        report_buf_puts(b, note_kinds[i].level);
        report_buf_puts(b, "\"}}");
    }
    report_buf_puts(b, "\n]}},\"results\":[");
    int rc = report_buf_flush(b, f);
    if (rc) {
        sarif_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int report_sarif_target(struct report_sarif *s, const struct report_target *t)
{
    if (s->err)
        return s->err;
    size_t n_results = s->n_results, n_notes = s->n_notes, n_input = s->n_input_errors;
    if (t->input_error) {
        put_note(s, t, NOTE_INPUT_ERROR, NULL);
        s->n_input_errors++;
    }
    for (size_t i = 0; t->findings && i < t->findings->n; i++)
        put_result(s, t, &t->findings->v[i]);
    for (size_t i = 0; i < t->n_obs; i++)
        if (t->obs[i]->outcome == TLS_OUTCOME_ERROR)
            put_note(s, t, NOTE_PROBE_ERROR, t->obs[i]);
    if (s->out.failed || s->note.failed || s->tmp.failed) {
        /* nothing of this target was written: the document stays whole */
        s->n_results = n_results;
        s->n_notes = n_notes;
        s->n_input_errors = n_input;
        report_buf_free(&s->out);
        report_buf_free(&s->note);
        report_buf_free(&s->tmp);
        return s->err = TLS_E_NOMEM;
    }
    if (s->note.len && s->notes == NULL && (s->notes = tmpfile()) == NULL) {
        s->note.len = 0;
        s->n_notes = n_notes;
        s->n_input_errors = n_input;
        s->err = TLS_E_IO; /* the results may still be written: the error is kept for end */
    }
    int rc = report_buf_flush(&s->out, s->f);
    if (s->notes) {
        int nrc = report_buf_flush(&s->note, s->notes);
        rc = rc ? rc : nrc;
    }
    if (rc && !s->err)
        s->err = rc;
    return s->err;
}

void report_sarif_interrupted(struct report_sarif *s, const char *signal_name)
{
    s->interrupted = true;
    snprintf(s->signal, sizeof(s->signal), "%s", signal_name ? signal_name : "");
}

/* The notification of an interrupted scan: about the run, so no location. */
static void put_interrupted(struct report_sarif *s, struct report_buf *b)
{
    report_buf_puts(&s->tmp, "The scan was interrupted");
    if (*s->signal) {
        report_buf_puts(&s->tmp, " by ");
        report_buf_puts(&s->tmp, s->signal);
    }
    report_buf_puts(&s->tmp, ": targets not yet probed are missing from this report.");
    put_note_start(s, b, NOTE_INTERRUPTED, NULL);
    report_buf_puts(b, ",\"properties\":{\"signal\":");
    report_buf_json_str(b, s->signal);
    report_buf_puts(b, "}}");
}

int report_sarif_end(struct report_sarif *s)
{
    if (s == NULL)
        return 0;
    struct report_buf *b = &s->out;
    b->len = 0;
    report_buf_puts(b, s->n_results ? "\n],\"invocations\":[{\"executionSuccessful\":"
                                    : "],\"invocations\":[{\"executionSuccessful\":");
    report_buf_puts(b, s->n_input_errors || s->interrupted ? "false" : "true");
    if (s->n_notes || s->interrupted)
        report_buf_puts(b, ",\"toolExecutionNotifications\":[");
    int rc = report_buf_flush(b, s->f);
    if (s->n_notes && rc == 0) {
        char chunk[65536];
        size_t got;
        if (fflush(s->notes) != 0 || fseek(s->notes, 0, SEEK_SET) != 0)
            rc = TLS_E_IO;
        while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), s->notes)) > 0)
            if (fwrite(chunk, 1, got, s->f) != got)
                rc = TLS_E_IO;
        if (rc == 0 && ferror(s->notes))
            rc = TLS_E_IO;
    }
    if (s->interrupted)
        put_interrupted(s, b);
    if (s->n_notes || s->interrupted)
        report_buf_puts(b, "\n]");
    report_buf_puts(b, "}]}]}\n");
    if (rc == 0)
        rc = report_buf_flush(b, s->f);
    if (fflush(s->f) != 0 && rc == 0)
        rc = TLS_E_IO;
    if (s->err)
        rc = s->err;
    sarif_free(s);
    return rc;
}
