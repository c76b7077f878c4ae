/* Text renderers for people. The report (report_text_write), per target: its verdict first (OK,
 * its findings by severity, or could not be probed), each finding with the variants it cites and
 * its fix, then a header line per answer (variants that got the same answer share one) with at
 * most opts->names of its names (a list the same as an earlier one's is told as "same N names
 * as"). One line (report_oneline_write): a line per target, for fleets. On a terminal
 * (opts->width) no line is wider than it. Every byte from a server or an input file goes through
 * tls_escape_step first: nothing raw from outside ever reaches the terminal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"
#include "rules.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/names.h"
#include "tls/wire/str.h"
#include "tls/wire/utf8.h"

struct style {
    const char *bold, *red, *green, *yellow, *dim, *reset;
};

static const struct style plain = {"", "", "", "", "", ""};
static const struct style ansi = {"\033[1m",  "\033[31m", "\033[32m",
                                  "\033[33m", "\033[2m",  "\033[0m"};

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026: one column says a line was cut */
#define FINDING_INDENT 11       /* "  critical ": where a finding's further lines start */
/* Columns that must be left on a finding's first line for its message to start there. */
#define MESSAGE_MIN 24

/* One record being written: whole lines into a buffer, each cut to the width. */
struct text {
    struct report_buf b;
    const struct style *st;
    unsigned width; /* 0: lines are not cut */
    unsigned col;   /* columns on the current line */
    size_t mark;    /* where the line is cut back to, to make room for the ellipsis */
    unsigned mark_col;
    bool cut;     /* the current line was cut: the rest of it is dropped */
    bool fix_cut; /* a fix was cut */
};

static void text_init(struct text *x, const struct report_opts *opts)
{
    memset(x, 0, sizeof(*x));
    x->st = opts->color ? &ansi : &plain;
    x->width = opts->width;
    if (opts->erase_progress)
        report_buf_puts(&x->b, "\r\033[K");
    x->mark = x->b.len;
}

/* Columns of one escaped step (a character, or a \xNN). */
static unsigned unit_cols(const char *u, size_t len)
{
    unsigned cols = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = '?';
        size_t k = tls_utf8_decode((const uint8_t *)u + i, len - i, &cp);
        cols += tls_utf8_width(cp);
        i += k ? k : 1;
    }
    return cols;
}

/* Columns the n bytes at s take once escaped. */
static unsigned cols_of_n(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    unsigned cols = 0;
    while (n) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, 0, unit, &len);
        cols += unit_cols(unit, len);
        p += used;
        n -= used;
    }
    return cols;
}

unsigned report_text_cols(const char *s)
{
    return cols_of_n(s, strlen(s));
}

/* The n bytes at s onto the current line, escaped (tls/wire/escape.h). On a terminal, what does
 * not fit is dropped and an ellipsis takes the last column. */
static void put_n(struct text *x, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    while (n && !x->cut) {
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t len, used = tls_escape_step(p, n, 0, unit, &len);
        unsigned cols = unit_cols(unit, len);
        if (x->width && x->col + cols > x->width) {
            if (!x->b.failed)
                x->b.len = x->mark;
            x->col = x->mark_col + 1;
            report_buf_puts(&x->b, ELLIPSIS);
            x->cut = true;
            return;
        }
        report_buf_put(&x->b, unit, len);
        x->col += cols;
        if (x->col < x->width) { /* the ellipsis would still fit after it */
            x->mark = x->b.len;
            x->mark_col = x->col;
        }
        p += used;
        n -= used;
    }
}

static void put(struct text *x, const char *s)
{
    put_n(x, s ? s : "", s ? strlen(s) : 0);
}

static void putf(struct text *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct text *x, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    put(x, buf);
}

/* A colour: no column. A line that was cut gets its reset at the end. */
static void style(struct text *x, const char *code)
{
    if (!x->cut)
        report_buf_puts(&x->b, code);
}

static void indent(struct text *x, unsigned n)
{
    while (n--)
        put(x, " ");
}

static void newline(struct text *x)
{
    if (x->cut)
        report_buf_puts(&x->b, x->st->reset);
    report_buf_put(&x->b, "\n", 1);
    x->col = x->mark_col = 0;
    x->mark = x->b.len;
    x->cut = false;
}

/* The words of s (split at spaces) in colour code, from the current column on, and on at most
 * rows - 1 further lines, each indented by ind: a line is broken between two words, and what
 * does not fit on the last one is cut. Not on a terminal, all of s on the current line. */
static void put_wrapped(struct text *x, const char *s, const char *code, unsigned ind,
                        unsigned rows)
{
    style(x, code);
    bool first = true; /* no word on this line yet */
    if (x->width == 0)
        put(x, s);
    for (unsigned row = 1; x->width && *s && !x->cut;) {
        size_t n = strcspn(s, " ");
        unsigned need = (first ? 0 : 1) + cols_of_n(s, n);
        if (!first && x->col + need > x->width && row < rows) {
            style(x, x->st->reset);
            newline(x);
            indent(x, ind);
            style(x, code);
            row++;
            first = true;
        }
        put(x, first ? "" : " ");
        put_n(x, s, n);
        first = false;
        s += n + (s[n] == ' ');
    }
    style(x, x->st->reset);
}

/* The record to out, at once. */
static int text_flush(struct text *x, FILE *out)
{
    bool failed = x->b.failed;
    if (!failed && x->b.len)
        fwrite(x->b.p, 1, x->b.len, out);
    report_buf_free(&x->b);
    if (failed)
        return TLS_E_NOMEM;
    if (fflush(out) != 0 || ferror(out))
        return TLS_E_IO;
    return 0;
}

/* ---- verdict ------------------------------------------------------------------------------- */

bool report_target_unprobed(const struct report_target *t)
{
    if (t->input_error)
        return true;
    for (size_t i = 0; i < t->n_obs; i++)
        if (t->obs[i]->outcome != TLS_OUTCOME_ERROR)
            return false;
    return true;
}

enum report_verdict report_target_verdict(const struct report_target *t)
{
    if (report_target_unprobed(t))
        return REPORT_VERDICT_NOT_PROBED;
    return t->findings && t->findings->n ? REPORT_VERDICT_FINDINGS : REPORT_VERDICT_OK;
}

static const char *severity_colour(const struct style *st, enum report_severity s)
{
    switch (s) {
    case REPORT_SEV_CRITICAL:
    case REPORT_SEV_HIGH:
        return st->red;
    case REPORT_SEV_MEDIUM:
        return st->yellow;
    case REPORT_SEV_LOW:
    case REPORT_SEV_INFO:
        return st->dim;
    }
    return st->dim;
}

/* "6 findings: 1 high, 3 medium, 2 low", each severity in its colour. */
static void put_counts(struct text *x, const struct report_findings *f)
{
    size_t count[REPORT_SEV_CRITICAL + 1] = {0};
    for (size_t i = 0; i < f->n; i++)
        if ((unsigned)f->v[i].severity <= REPORT_SEV_CRITICAL)
            count[f->v[i].severity]++;
    putf(x, "%zu finding%s: ", f->n, f->n == 1 ? "" : "s");
    const char *sep = "";
    for (int s = REPORT_SEV_CRITICAL; s >= REPORT_SEV_INFO; s--) {
        if (count[s] == 0)
            continue;
        put(x, sep);
        style(x, severity_colour(x->st, (enum report_severity)s));
        putf(x, "%zu %s", count[s], report_severity_name((enum report_severity)s));
        style(x, x->st->reset);
        sep = ", ";
    }
}

/* "OK", "6 findings: 1 high, 3 medium, 2 low", "could not be probed", and for a target whose
 * every probe failed what that is: "could not be probed (probe-failed, medium)" or "could not be
 * probed (2 findings: 1 high, 1 medium)". */
static void put_verdict(struct text *x, const struct report_target *t)
{
    const struct report_findings *f = t->findings;
    size_t n = f ? f->n : 0;
    if (report_target_unprobed(t)) {
        style(x, x->st->red);
        put(x, "could not be probed");
        style(x, x->st->reset);
        if (n == 1) {
            put(x, " (");
            put(x, f->v[0].rule->name);
            put(x, ", ");
            style(x, severity_colour(x->st, f->v[0].severity));
            put(x, report_severity_name(f->v[0].severity));
            style(x, x->st->reset);
            put(x, ")");
        } else if (n) {
            put(x, " (");
            put_counts(x, f);
            put(x, ")");
        }
    } else if (n) {
        put_counts(x, f);
    } else {
        style(x, x->st->green);
        put(x, "OK");
        style(x, x->st->reset);
    }
}

/* ---- variants ------------------------------------------------------------------------------ */

/* What a variant is made of; a label names some of them, in this order. */
enum dim {
    DIM_ADDRESS,
    DIM_SNI,
    DIM_TLS,
    DIM_PHASE,
};
#define DIM_BIT(d) (1u << (d))
#define DIMS_FULL (DIM_BIT(DIM_ADDRESS) | DIM_BIT(DIM_SNI) | DIM_BIT(DIM_TLS))
#define DIM_NAME_MAX 320 /* "SNI " and a host name */

static bool dim_equal(const struct tls_observation *a, const struct tls_observation *b, enum dim d)
{
    switch (d) {
    case DIM_ADDRESS:
        return tls_str_same(a->address, b->address);
    case DIM_SNI:
        return tls_str_same(a->sni, b->sni);
    case DIM_TLS:
        return a->tls_max == b->tls_max;
    case DIM_PHASE:
        return tls_str_same(a->phase, b->phase);
    }
    return false;
}

/* "192.0.2.1", "SNI app.example.com" / "no SNI", "TLS 1.3", "renegotiation" (not escaped) */
static const char *dim_text(const struct tls_observation *o, enum dim d, char *buf, size_t cap)
{
    char v[8];
    switch (d) {
    case DIM_ADDRESS:
        snprintf(buf, cap, "%s", o->address ? o->address : "-");
        break;
    case DIM_SNI:
        snprintf(buf, cap, "%s%s", o->sni ? "SNI " : "no SNI", o->sni ? o->sni : "");
        break;
    case DIM_TLS:
        snprintf(buf, cap, "TLS %s",
                 tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, v, sizeof(v)));
        break;
    case DIM_PHASE:
        snprintf(buf, cap, "%s", o->phase ? o->phase : "-");
        break;
    }
    return buf;
}

/* The dimensions in dims, joined by sep: "127.0.0.1 SNI app.example.com TLS 1.2" with " ", the
 * form of the rules' messages with ", ". */
static void label_sep(const struct tls_observation *o, unsigned dims, const char *sep, char *buf,
                      size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (enum dim d = DIM_ADDRESS; d <= DIM_PHASE && n < cap; d++) {
        char v[DIM_NAME_MAX];
        if (dims & DIM_BIT(d))
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? sep : "",
                                  dim_text(o, d, v, sizeof(v)));
    }
}

static void label(const struct tls_observation *o, unsigned dims, char *buf, size_t cap)
{
    label_sep(o, dims, " ", buf, cap);
}

/* A variant as its header names it: address, SNI, TLS version, and the phase when it is not
 * the handshake. */
static unsigned full_dims(const struct tls_observation *o)
{
    return DIMS_FULL | (tls_str_same(o->phase, "handshake") ? 0 : DIM_BIT(DIM_PHASE));
}

/* The dimensions in which the target's variants differ: enough to tell one from another. */
static unsigned varying_dims(const struct report_target *t)
{
    unsigned m = 0;
    for (size_t i = 1; i < t->n_obs; i++)
        for (enum dim d = DIM_ADDRESS; d <= DIM_PHASE; d++)
            if (!dim_equal(t->obs[0], t->obs[i], d))
                m |= DIM_BIT(d);
    return m;
}

/* The same list: both a request with names, the same names in the same order (by SHA-256). */
static bool same_list(const struct tls_observation *a, const struct tls_observation *b)
{
    if (a->outcome != TLS_OUTCOME_CERTIFICATE_REQUEST ||
        b->outcome != TLS_OUTCOME_CERTIFICATE_REQUEST || a->ca_count != b->ca_count ||
        a->ca_count == 0)
        return false;
    for (size_t i = 0; i < a->ca_count; i++)
        if (memcmp(a->cas[i].sha256, b->cas[i].sha256, 32) != 0)
            return false;
    return true;
}

/* ---- citations ----------------------------------------------------------------------------- */

/* Words for a set of variants: n pieces that are never broken ("atoms"), each the separator
 * that goes before it ("", " ", " + ", "; ") and its text, NUL-terminated, in b. */
struct citation {
    struct report_buf b;
    size_t n;
    enum {
        CITE_NONE,   /* nothing to tell */
        CITE_ALL,    /* "all 4 variants" */
        CITE_VALUES, /* the values that single them out: "TLS 1.2" */
        CITE_EACH,   /* each one: "SNI a TLS 1.2; no SNI TLS 1.3" */
    } form;
};

static void atom_add(struct citation *c, const char *sep, const char *s)
{
    report_buf_put(&c->b, sep, strlen(sep) + 1);
    report_buf_put(&c->b, s, strlen(s) + 1);
    c->n++;
}

/* Whether variant v's value in dimension d is one of the cited variants' (in[], n of them);
 * before: only among the first `before` variants. */
static bool value_cited(const struct report_target *t, const bool *in, size_t before, size_t v,
                        enum dim d)
{
    for (size_t i = 0; i < before; i++)
        if (in[i] && dim_equal(t->obs[i], t->obs[v], d))
            return true;
    return false;
}

/* The variants in[] (one flag per variant of t) in as few words as tell them apart within
 * their target: "all 4 variants"; the values that single them out when they are every variant
 * with those values ("TLS 1.2", "no SNI TLS 1.3", "192.0.2.1 + 192.0.2.2"); else each one by
 * the dimensions in which the target's variants differ ("SNI a TLS 1.2; no SNI TLS 1.3").
 * Nothing when the target has one variant and it is in the set, or the set is empty. */
static void cite_set(struct citation *c, const struct report_target *t, const bool *in)
{
    memset(c, 0, sizeof(*c));
    size_t n = t->n_obs, k = 0;
    for (size_t i = 0; i < n; i++)
        k += in[i];
    char buf[4 * DIM_NAME_MAX];
    unsigned vary = varying_dims(t);
    if (vary == 0) /* variants alike in every dimension: told apart by nothing shorter */
        vary = DIMS_FULL | DIM_BIT(DIM_PHASE);
    if (k == 0 || (k == n && n == 1))
        return;
    if (k == n) {
        snprintf(buf, sizeof(buf), "all %zu variants", n);
        atom_add(c, "", buf);
        c->form = CITE_ALL;
        return;
    }
    /* every variant whose values, in each varying dimension, are among the cited ones'? */
    unsigned narrowed = 0;
    bool product = true;
    for (size_t v = 0; v < n && product; v++) {
        bool inside = true;
        for (enum dim d = DIM_ADDRESS; d <= DIM_PHASE; d++)
            if ((vary & DIM_BIT(d)) && !value_cited(t, in, n, v, d)) {
                inside = false;
                narrowed |= DIM_BIT(d);
            }
        product = inside == in[v];
    }
    c->form = product ? CITE_VALUES : CITE_EACH;
    const char *sep = "";
    for (enum dim d = DIM_ADDRESS; product && d <= DIM_PHASE; d++) {
        if (!(narrowed & DIM_BIT(d)))
            continue;
        for (size_t i = 0; i < n; i++)
            if (in[i] && !value_cited(t, in, i, i, d)) { /* each value once */
                atom_add(c, sep, dim_text(t->obs[i], d, buf, sizeof(buf)));
                sep = " + ";
            }
        sep = " ";
    }
    for (size_t i = 0; !product && i < n; i++)
        if (in[i]) {
            label(t->obs[i], vary, buf, sizeof(buf));
            atom_add(c, c->n ? "; " : "", buf);
        }
}

/* The atoms after what is on the line, between open and close, a line broken between two atoms
 * (the next line indented by ind) rather than cut: every variant is named, whatever the width. */
static void put_atoms(struct text *x, const struct citation *c, const char *open, const char *close,
                      unsigned ind)
{
    const char *a = c->b.p;
    for (size_t i = 0; i < c->n; i++) {
        const char *sep = a, *text = a + strlen(a) + 1;
        a = text + strlen(text) + 1;
        const char *pre = i ? sep : open;
        unsigned need = report_text_cols(pre) + report_text_cols(text) +
                        (i + 1 == c->n ? report_text_cols(close) : 0);
        if (x->width && x->col > ind && x->col + need > x->width) {
            if (i) { /* the separator without its trailing space ends the line */
                char end[8];
                size_t len = strlen(sep);
                snprintf(end, sizeof(end), "%.*s", (int)len, sep);
                while (len && end[len - 1] == ' ')
                    end[--len] = 0;
                put(x, end);
            }
            newline(x);
            indent(x, ind);
            pre = i ? "" : open + strspn(open, " ");
        }
        put(x, pre);
        put(x, text);
    }
    if (c->n)
        put(x, close);
}

/* ---- findings ------------------------------------------------------------------------------ */

static bool same_remedy(const struct report_finding *a, const struct report_finding *b)
{
    return a->remedy && b->remedy && strcmp(a->remedy, b->remedy) == 0;
}

/* The message of f as the text report shows it: without its leading "[VARIANT] " when that
 * names the one variant f cites (in the rules' words: "[127.0.0.1, SNI a.example, TLS 1.2] "),
 * which the citation before it names already. The finding's message itself is unchanged. */
static const char *own_message(const struct report_target *t, const struct report_finding *f)
{
    const char *m = f->message ? f->message : "";
    size_t one = SIZE_MAX;
    for (size_t i = 0; i < f->n_obs; i++) {
        if (f->obs[i] >= t->n_obs)
            continue;
        if (one != SIZE_MAX && one != f->obs[i])
            return m;
        one = f->obs[i];
    }
    if (one == SIZE_MAX || m[0] != '[')
        return m;
    char name[4 * DIM_NAME_MAX];
    label_sep(t->obs[one], full_dims(t->obs[one]), ", ", name, sizeof(name));
    size_t n = strlen(name);
    return strncmp(m + 1, name, n) == 0 && strncmp(m + 1 + n, "] ", 2) == 0 ? m + n + 3 : m;
}

/* Findings a and b are told as one: the same rule, severity and fix, and the same words once
 * each one's variant is left to the citation (one finding per variant, as duplicate-ca makes). */
static bool same_finding(const struct report_target *t, const struct report_finding *a,
                         const struct report_finding *b)
{
    const char *ma = own_message(t, a), *mb = own_message(t, b);
    return a->rule == b->rule && a->severity == b->severity && tls_str_same(a->remedy, b->remedy) &&
           ma != a->message && mb != b->message && strcmp(ma, mb) == 0;
}

/* A finding's fix is its own (the rules filled in the target's host, port, bindings or
 * certificate), not the rule's words that `caprobe --explain RULE` shows. */
static bool own_remedy(const struct report_finding *f)
{
    return f->remedy && !tls_str_same(f->remedy, f->rule->remedy);
}

/* Rows a finding's own fix takes at most on a terminal: enough for a netsh command's binding
 * and certhash after the fix's first words (80 columns); the rule's own fix takes one
 * (--explain has it). Its further rows start under "fix:". */
#define FIX_ROWS 4

/* "  high     root-store-dump [TLS 1.2]: MESSAGE", then "fix: REMEDY" after the last of
 * findings in a row with the same remedy. Findings in a row that differ only in the variant
 * they are about are one line citing all of their variants. */
static int write_findings(struct text *x, const struct report_target *t)
{
    const struct report_findings *fs = t->findings;
    if (fs == NULL || fs->n == 0)
        return 0;
    bool *in = calloc(t->n_obs ? t->n_obs : 1, sizeof(*in));
    if (in == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < fs->n; i++) {
        const struct report_finding *f = &fs->v[i];
        memset(in, 0, (t->n_obs ? t->n_obs : 1) * sizeof(*in));
        for (size_t k = 0; k < f->n_obs; k++)
            if (f->obs[k] < t->n_obs)
                in[f->obs[k]] = true;
        for (; i + 1 < fs->n && same_finding(t, f, &fs->v[i + 1]); i++)
            for (size_t k = 0; k < fs->v[i + 1].n_obs; k++)
                if (fs->v[i + 1].obs[k] < t->n_obs)
                    in[fs->v[i + 1].obs[k]] = true;
        struct citation c;
        cite_set(&c, t, in);
        if (c.b.failed) {
            report_buf_free(&c.b);
            free(in);
            return TLS_E_NOMEM;
        }
        const struct style *st = x->st;
        put(x, "  ");
        style(x, severity_colour(st, f->severity));
        style(x, st->bold);
        putf(x, "%-8s", report_severity_name(f->severity));
        style(x, st->reset);
        put(x, " ");
        style(x, st->bold);
        put(x, f->rule->name);
        style(x, st->reset);
        put_atoms(x, &c, " [", "]", FINDING_INDENT);
        report_buf_free(&c.b);
        if (x->width && x->col + 2 + MESSAGE_MIN > x->width) {
            put(x, ":");
            newline(x);
            indent(x, FINDING_INDENT);
        } else {
            put(x, ": ");
        }
        put(x, own_message(t, f));
        newline(x);
        f = &fs->v[i]; /* the last of those told as one */
        if (f->remedy && (i + 1 == fs->n || !same_remedy(f, &fs->v[i + 1]))) {
            indent(x, FINDING_INDENT);
            style(x, st->dim);
            put(x, "fix: ");
            style(x, st->reset);
            put_wrapped(x, f->remedy, st->dim, FINDING_INDENT, own_remedy(f) ? FIX_ROWS : 1);
            x->fix_cut |= x->cut;
            newline(x);
        }
    }
    free(in);
    return 0;
}

/* ---- the variants' answers ----------------------------------------------------------------- */

static void put_cert(struct text *x, const struct tls_server_cert *sc)
{
    style(x, x->st->dim);
    put(x, "server certificate: ");
    if (sc->error) {
        put(x, sc->error);
    } else {
        put(x, sc->subject);
        put(x, " (issuer ");
        put(x, sc->issuer);
        put(x, ", valid until ");
        put(x, sc->not_after);
        put(x, ")");
    }
    style(x, x->st->reset);
    newline(x);
}

/* The one server certificate of all variants that have one, or NULL (none, or they differ). */
static const struct tls_server_cert *one_cert(const struct report_target *t)
{
    const struct tls_server_cert *one = NULL;
    for (size_t i = 0; i < t->n_obs; i++) {
        const struct tls_server_cert *sc = &t->obs[i]->server_cert;
        if (!sc->present)
            continue;
        if (one && memcmp(one->sha256, sc->sha256, 32) != 0)
            return NULL;
        one = sc;
    }
    return one;
}

static void put_http(struct text *x, const struct tls_http_result *h)
{
    put(x, "    GET ");
    put(x, h->path);
    put(x, ": ");
    if (h->failed) {
        style(x, x->st->red);
        putf(x, "no response (%s)", tls_error_kind_name(h->error_kind));
        style(x, x->st->reset);
        put(x, ": ");
        put(x, h->error);
    } else {
        put(x, h->status_line);
    }
    if (!h->failed && h->server) {
        put(x, " (Server: ");
        put(x, h->server);
        put(x, ")");
    }
    put(x, h->renegotiation ? "; the server renegotiated after the request" : "");
    newline(x);
}

/* --client-key: "    client certificate: presented, the server answered alert unknown_ca".
 * Nothing when the server did not ask in this phase. */
static void put_client_cert(struct text *x, const struct tls_observation *o)
{
    const struct tls_client_cert *cc = &o->client_cert;
    const struct style *st = x->st;
    char tmp[8];
    if (!cc->tried || (!cc->presented && cc->result == TLS_CLIENT_CERT_NONE))
        return;
    put(x, "    client certificate: ");
    put(x, cc->presented ? "presented, " : "");
    const char *alert = cc->alert < 0 ? NULL
                                      : tls_name_or_hex(tls_name_alert((uint8_t)cc->alert),
                                                        (unsigned)cc->alert, 2, tmp, sizeof(tmp));
    char phrase[2048]; /* an error in words can be long; ours stay under 1 KiB */
    tls_client_cert_phrase(cc->result, strcmp(o->phase, "handshake") != 0, alert, cc->http_status,
                           cc->error, phrase, sizeof(phrase));
    /* green: taken; red: refused; yellow: nothing to judge */
    const char *colour =
        cc->result == TLS_CLIENT_CERT_ACCEPTED                                        ? st->green
        : cc->result == TLS_CLIENT_CERT_ALERT || cc->result == TLS_CLIENT_CERT_CLOSED ? st->red
        : cc->result == TLS_CLIENT_CERT_HTTP ? (cc->http_status < 400 ? st->green : st->red)
        : cc->result == TLS_CLIENT_CERT_NONE ? NULL
                                             : st->yellow;
    if (colour)
        style(x, colour);
    put(x, phrase);
    if (colour)
        style(x, st->reset);
    newline(x);
}

/* Whether two variants' client certificates got the same answer (a row tells one). */
static bool same_client_cert(const struct tls_client_cert *a, const struct tls_client_cert *b)
{
    return a->tried == b->tried && a->presented == b->presented && a->result == b->result &&
           a->alert == b->alert && a->http_status == b->http_status &&
           tls_str_same(a->error, b->error);
}

/* At most max names of o's list, with their malformed marks, and how many more there are. */
static void put_names(struct text *x, const struct tls_observation *o, size_t max)
{
    size_t shown = o->ca_count < max ? o->ca_count : max;
    for (size_t i = 0; i < shown; i++) {
        const struct tls_ca_name *ca = &o->cas[i];
        put(x, "    ");
        put(x, !ca->malformed     ? ""
               : ca->der_len == 0 ? "(malformed: zero length)"
                                  : "(malformed) ");
        put(x, ca->dn);
        newline(x);
    }
    if (shown < o->ca_count) { /* --names 0 too: how many there are, and how to see them */
        put(x, "    ");
        style(x, x->st->dim);
        putf(x, ELLIPSIS " and %zu more (--names all)", o->ca_count - shown);
        style(x, x->st->reset);
        newline(x);
    }
}

/* A probe the server declined for its TLS version (error kind version_not_offered): a fact
 * about the server, told as "TLS 1.3 not offered", not as a failure. */
static bool not_offered(const struct tls_observation *o)
{
    return o->outcome == TLS_OUTCOME_ERROR && o->error_kind == TLS_ERROR_VERSION_NOT_OFFERED;
}

/* "TLS 1.3 not offered" (not escaped) */
static const char *not_offered_text(const struct tls_observation *o, char *buf, size_t cap)
{
    char v[8];
    snprintf(buf, cap, "TLS %s not offered",
             tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, v, sizeof(v)));
    return buf;
}

/* Two variants whose answers one header line tells: the same answer, and nothing that is shown
 * under the line differs (a request's exchange is each variant's own; with cert_each, each
 * variant's server certificate is shown, so it must be the same). A renegotiation stays on a
 * row of its own, after its handshake's. */
static bool same_row(const struct tls_observation *a, const struct tls_observation *b,
                     bool cert_each)
{
    /* a server that chose a lower version than offered is told in the row's header: a row
     * holds only variants where it did, or only variants where it did not */
    bool chose_a = a->version && a->version != a->tls_max;
    bool chose_b = b->version && b->version != b->tls_max;
    if (chose_a != chose_b)
        return false;
    if (a->outcome != b->outcome || a->version != b->version || a->http.path || b->http.path ||
        !tls_str_same(a->phase, "handshake") || !tls_str_same(b->phase, "handshake"))
        return false;
    if (!same_client_cert(&a->client_cert, &b->client_cert))
        return false;
    const struct tls_server_cert *ca = &a->server_cert, *cb = &b->server_cert;
    if (cert_each &&
        (ca->present != cb->present || (ca->present && memcmp(ca->sha256, cb->sha256, 32) != 0)))
        return false;
    switch (a->outcome) {
    case TLS_OUTCOME_ERROR:
        return a->error_kind == b->error_kind && tls_str_same(a->error_message, b->error_message);
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        return true;
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        return a->ca_count ? same_list(a, b) : b->ca_count == 0 && a->has_cas == b->has_cas;
    }
    return false;
}

/* The answer of variant i, after its header: "144 CA names (14552 bytes)", "same 144 names as
 * SNI app.example.com TLS 1.2" (a list an earlier row showed), "no certificate request",
 * "TLS 1.3 not offered: ...", "error (refused): ...". Returns whether its names are to follow. */
static bool put_row_answer(struct text *x, const struct report_target *t, size_t i, const bool *in)
{
    const struct style *st = x->st;
    const struct tls_observation *o = t->obs[i];
    char buf[4 * DIM_NAME_MAX];
    const struct tls_observation *same = NULL;
    switch (o->outcome) {
    case TLS_OUTCOME_ERROR:
        if (not_offered(o)) { /* its message says it: "TLS 1.3 not offered: ..." */
            style(x, st->yellow);
            put(x, o->error_message ? o->error_message : not_offered_text(o, buf, sizeof(buf)));
            style(x, st->reset);
            return false;
        }
        style(x, st->red);
        putf(x, "error (%s)", tls_error_kind_name(o->error_kind));
        style(x, st->reset);
        put(x, ": ");
        put(x, o->error_message);
        return false;
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        style(x, st->yellow);
        put(x, "no certificate request");
        style(x, st->reset);
        return false;
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        for (size_t j = 0; j < i && same == NULL; j++)
            if (!in[j] && same_list(t->obs[j], o))
                same = t->obs[j];
        if (same) {
            unsigned vary = varying_dims(t);
            label(same, vary ? vary : full_dims(same), buf, sizeof(buf));
            putf(x, "same %zu name%s as ", o->ca_count, o->ca_count == 1 ? "" : "s");
            put(x, buf);
            return false;
        }
        style(x, o->ca_count ? st->green : st->yellow);
        putf(x, "%zu CA name%s", o->ca_count, o->ca_count == 1 ? "" : "s");
        style(x, st->reset);
        if (o->ca_count)
            putf(x, " (%zu bytes)", tls_observation_list_bytes(o));
        else
            put(x, o->version == 0x0304 && !o->has_cas ? " (no certificate_authorities)"
                                                       : " (empty list)");
        return true;
    }
    return false;
}

/* One row: the variants in[] (k of them, i the first) that got the same answer. A single
 * variant is named whole ("127.0.0.1 SNI app.example.com TLS 1.2"), several as a citation
 * names them ("TLS 1.2 (4 variants)", "all 4 variants"); then the answer, the names, the
 * server certificate when the variants' differ, the HTTP exchange. */
static int write_row(struct text *x, const struct report_opts *opts, const struct report_target *t,
                     size_t i, const bool *in, size_t k, bool cert_each)
{
    const struct style *st = x->st;
    const struct tls_observation *o = t->obs[i];
    char v[8];
    put(x, "  ");
    style(x, st->bold);
    if (k == 1) {
        char buf[4 * DIM_NAME_MAX];
        label(o, full_dims(o), buf, sizeof(buf));
        put(x, buf);
    } else {
        struct citation c;
        cite_set(&c, t, in);
        if (c.b.failed) {
            report_buf_free(&c.b);
            return TLS_E_NOMEM;
        }
        put_atoms(x, &c, "", "", 4);
        if (c.form != CITE_ALL)
            putf(x, " (%zu variants)", k);
        report_buf_free(&c.b);
    }
    style(x, st->reset);
    if (o->version && o->version != o->tls_max && !not_offered(o)) {
        style(x, st->yellow);
        putf(x, " (server chose TLS %s)",
             tls_name_or_hex(tls_name_version(o->version), o->version, 4, v, sizeof(v)));
        style(x, st->reset);
    }
    put(x, ": ");
    bool names = put_row_answer(x, t, i, in);
    newline(x);
    if (names)
        put_names(x, o, opts->names);
    if (cert_each && o->server_cert.present) {
        put(x, "    ");
        put_cert(x, &o->server_cert);
    }
    if (o->http.path)
        put_http(x, &o->http);
    put_client_cert(x, o);
    return 0;
}

/* The rows of t's variants, in observation order, variants with the same answer on the row of
 * the first of them. */
static int write_rows(struct text *x, const struct report_opts *opts, const struct report_target *t,
                      bool cert_each)
{
    size_t n = t->n_obs;
    bool *told = calloc(n ? 2 * n : 1, sizeof(*told)), *in = told + n;
    if (told == NULL)
        return TLS_E_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (told[i])
            continue;
        memset(in, 0, n * sizeof(*in));
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!told[j] && (j == i || same_row(t->obs[i], t->obs[j], cert_each))) {
                in[j] = told[j] = true;
                k++;
            }
        rc = write_row(x, opts, t, i, in, k, cert_each);
    }
    free(told);
    return rc;
}

/* "TARGET  " in bold, with the STARTTLS protocol its probes spoke first: "host:25 (STARTTLS
 * smtp)  " (every variant of a target speaks the same). */
static void put_target(struct text *x, const struct report_target *t)
{
    style(x, x->st->bold);
    put(x, t->target);
    style(x, x->st->reset);
    if (report_target_starttls(t))
        putf(x, " (STARTTLS %s)", report_target_starttls(t));
    put(x, "  ");
}

int report_text_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    struct text x;
    text_init(&x, opts);
    const struct style *st = x.st;
    put_target(&x, t);
    put_verdict(&x, t);
    newline(&x);
    if (t->input_error) {
        put(&x, "  ");
        style(&x, st->red);
        put(&x, "error (input)");
        style(&x, st->reset);
        put(&x, ": ");
        put(&x, t->input_error);
        newline(&x);
    }
    int rc = write_findings(&x, t);
    if (rc == 0 && x.fix_cut && (opts->fix_hint_told == NULL || !*opts->fix_hint_told)) {
        indent(&x, FINDING_INDENT);
        style(&x, st->dim);
        put(&x, "(whole fixes: run it | less, or --format jsonl)");
        style(&x, st->reset);
        newline(&x);
        if (opts->fix_hint_told)
            *opts->fix_hint_told = true;
    }
    const struct tls_server_cert *cert = one_cert(t);
    if (rc == 0)
        rc = write_rows(&x, opts, t, cert == NULL);
    if (rc) {
        report_buf_free(&x.b);
        return rc;
    }
    if (cert) {
        put(&x, "  ");
        put_cert(&x, cert);
    }
    return text_flush(&x, out);
}

/* ---- one line per target ------------------------------------------------------------------- */

/* Two variants whose answers one line does not tell apart. */
static bool same_answer(const struct tls_observation *a, const struct tls_observation *b)
{
    if (a->outcome != b->outcome)
        return false;
    switch (a->outcome) {
    case TLS_OUTCOME_ERROR:
        return a->error_kind == b->error_kind && a->dns_error == b->dns_error;
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        return true;
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        return a->ca_count == b->ca_count && (a->ca_count == 0 || same_list(a, b));
    }
    return false;
}

/* "144 names (14552 bytes)", "0 names", "no request", "TLS 1.3 not offered", "error
 * (refused)", "error (dns, no_such_name)" */
static void put_answer(struct text *x, const struct tls_observation *o)
{
    const char *dns = tls_dns_error_name(o->dns_error);
    char buf[32];
    switch (o->outcome) {
    case TLS_OUTCOME_ERROR:
        if (not_offered(o)) {
            put(x, not_offered_text(o, buf, sizeof(buf)));
            return;
        }
        style(x, x->st->red);
        putf(x, "error (%s%s%s)", tls_error_kind_name(o->error_kind), dns ? ", " : "",
             dns ? dns : "");
        style(x, x->st->reset);
        return;
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        put(x, "no request");
        return;
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        putf(x, "%zu name%s", o->ca_count, o->ca_count == 1 ? "" : "s");
        if (o->ca_count)
            putf(x, " (%zu bytes)", tls_observation_list_bytes(o));
        return;
    }
}

/* "TARGET  VERDICT  WORST-RULE +N  4 variants: 144 names (14552 bytes) x2, 0 names x2" */
int report_oneline_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    struct text x;
    text_init(&x, opts);
    put_target(&x, t);
    put_verdict(&x, t);
    const struct report_findings *f = t->findings;
    /* the verdict of a target that could not be probed names its one finding already */
    if (f && f->n && !(f->n == 1 && report_target_unprobed(t))) {
        bool seen[REPORT_RULE_COUNT] = {false};
        size_t rules = 0;
        for (size_t i = 0; i < f->n; i++)
            if ((unsigned)f->v[i].rule->id < REPORT_RULE_COUNT && !seen[f->v[i].rule->id]) {
                seen[f->v[i].rule->id] = true;
                rules++;
            }
        put(&x, "  ");
        put(&x, f->v[0].rule->name);
        if (rules > 1)
            putf(&x, " +%zu", rules - 1);
    }
    put(&x, "  ");
    if (t->input_error) {
        style(&x, x.st->red);
        put(&x, "error (input)");
        style(&x, x.st->reset);
        put(&x, ": ");
        put(&x, t->input_error);
    } else {
        putf(&x, "%zu variant%s", t->n_obs, t->n_obs == 1 ? "" : "s");
        const char *sep = ": ";
        for (size_t i = 0; i < t->n_obs; i++) {
            size_t k = 0;
            for (size_t j = 0; j < t->n_obs && k != SIZE_MAX; j++)
                if (same_answer(t->obs[j], t->obs[i]))
                    k = j < i ? SIZE_MAX : k + 1; /* SIZE_MAX: told with an earlier one */
            if (k == SIZE_MAX)
                continue;
            put(&x, sep);
            put_answer(&x, t->obs[i]);
            if (k > 1)
                putf(&x, " x%zu", k);
            sep = ", ";
        }
    }
    newline(&x);
    return text_flush(&x, out);
}
