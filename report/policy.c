/* Policy files (policy.h, docs/policy.md): YAML read with libyaml's event API, checked against
 * the schema as it streams, so memory stays bounded by what is kept (no document tree) and
 * every error names FILE:LINE:COLUMN and what was expected. Never opens the certificate files
 * a policy names (report/ has no mbedTLS), never follows aliases. */
#include "policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "tls/wire/addr.h"
#include "tls/wire/arena.h"
#include "tls/wire/error.h"
#include "tls/wire/utf8.h"

#define POLICY_ARENA_CAP (64u * 1024 * 1024) /* strings, entries and patterns of one policy */
#define POLICY_PATH_MAX 4096                 /* a resolved file name, with its NUL */
#define POLICY_PATTERN_MAX 512

/* What defaults and a target entry may say; -1 / UNSET: nothing. */
struct section {
    int8_t severity[REPORT_RULE_COUNT]; /* enum report_severity */
    int8_t enabled[REPORT_RULE_COUNT];  /* 0 disable, 1 enable */
    enum report_client_auth client_auth;
    bool has_expect_ca, has_client_cert;
    struct report_policy_file *expect_ca;
    size_t n_expect_ca, cap_expect_ca;
    struct report_policy_file client_cert; /* path NULL: 'client_cert: null' */
};

struct pattern {
    const char *text;      /* as written */
    const char *glob;      /* lower case; NULL for an address pattern */
    struct tls_cidr range; /* address patterns: one address is a range of one */
    uint16_t port;         /* 0: any */
};

struct report_policy_entry {
    size_t index;
    const char *where;
    struct pattern *patterns;
    size_t n_patterns, cap_patterns;
    struct section s;
};

struct report_policy {
    struct tls_arena arena;
    const char *dir; /* of the policy file, NULL: the current folder */
    struct section defaults;
    struct report_policy_entry *entries;
    size_t n, cap;
};

static const char *const client_auth_names[] = {
    [REPORT_CLIENT_AUTH_UNSET] = "unset",
    [REPORT_CLIENT_AUTH_REQUIRED] = "required",
    [REPORT_CLIENT_AUTH_OPTIONAL] = "optional",
    [REPORT_CLIENT_AUTH_NONE] = "none",
};

const char *report_client_auth_name(enum report_client_auth a)
{
    return (unsigned)a <= REPORT_CLIENT_AUTH_NONE ? client_auth_names[a] : "unset";
}

static void section_init(struct section *s)
{
    memset(s, 0, sizeof(*s));
    memset(s->severity, -1, sizeof(s->severity));
    memset(s->enabled, -1, sizeof(s->enabled));
    s->client_auth = REPORT_CLIENT_AUTH_UNSET;
}

/* ---- the loader: one event of lookahead, the first error ends the load ---------------------- */

struct loader {
    yaml_parser_t yp;
    yaml_event_t ev; /* the current event */
    bool has_ev;
    const char *name; /* the policy as the user named it, for messages */
    const uint8_t *text;
    size_t len;
    char *err;
    size_t err_cap;
    struct report_policy *p;
};

enum section_kind {
    SEC_TOP,
    SEC_DEFAULTS,
    SEC_ENTRY,
};

static const char *const top_keys[] = {"version", "defaults", "targets"};

enum entry_key {
    K_MATCH,
    K_CLIENT_AUTH,
    K_SEVERITIES,
    K_ENABLE,
    K_DISABLE,
    K_EXPECT_CA,
    K_CLIENT_CERT,
    K_COUNT_,
};
static const char *const entry_keys[K_COUNT_] = {
    [K_MATCH] = "match",
    [K_CLIENT_AUTH] = "client_auth",
    [K_SEVERITIES] = "severities",
    [K_ENABLE] = "enable",
    [K_DISABLE] = "disable",
    [K_EXPECT_CA] = "expect_ca",
    [K_CLIENT_CERT] = "client_cert",
};
static const char *const default_keys[] = {"client_auth", "severities", "disable", "expect_ca",
                                           "client_cert"};

static void put_pos(struct loader *l, size_t line, size_t col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void put_pos(struct loader *l, size_t line, size_t col, const char *fmt, va_list ap)
{
    if (l->err == NULL || l->err_cap == 0)
        return;
    int n = line ? snprintf(l->err, l->err_cap, "%s:%zu:%zu: ", l->name, line, col)
                 : snprintf(l->err, l->err_cap, "%s: ", l->name);
    if (n >= 0 && (size_t)n < l->err_cap)
        vsnprintf(l->err + n, l->err_cap - (size_t)n, fmt, ap);
}

static int fail_pos(struct loader *l, size_t line, size_t col, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_pos(struct loader *l, size_t line, size_t col, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_pos(l, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

/* libyaml marks count from 0; messages from 1, as editors do. */
static int fail_at(struct loader *l, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_pos(l, m.line + 1, m.column + 1, fmt, ap);
    va_end(ap);
    return TLS_E_INVALID;
}

static int fail_nomem(struct loader *l)
{
    yaml_mark_t m = l->has_ev ? l->ev.start_mark : (yaml_mark_t){0, 0, 0};
    fail_pos(l, m.line + 1, m.column + 1, TLS_E_NOMEM,
             "out of memory (a policy may hold %u MiB at most)", POLICY_ARENA_CAP >> 20);
    return TLS_E_NOMEM;
}

/* Line and column (1-based, in characters, as libyaml counts) of a byte offset. */
static void offset_pos(const uint8_t *s, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if ((s[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(struct loader *l)
{
    const yaml_parser_t *y = &l->yp;
    const char *problem = y->problem ? y->problem : "malformed YAML";
    switch (y->error) {
    case YAML_MEMORY_ERROR:
        return fail_nomem(l);
    case YAML_READER_ERROR: {
        size_t line, col;
        offset_pos(l->text, l->len, y->problem_offset, &line, &col);
        if (y->problem_value >= 0)
            return fail_pos(l, line, col, TLS_E_INVALID, "YAML syntax error: %s (U+%04X)", problem,
                            (unsigned)y->problem_value);
        return fail_pos(l, line, col, TLS_E_INVALID, "YAML syntax error: %s", problem);
    }
    default: {
        size_t at = y->problem_mark.index;
        const char *hint = "";
        if (at < l->len && l->text[at] == '\t')
            hint = "; YAML indents with spaces, not tabs";
        else if (y->context && strstr(y->context, "alias"))
            hint = "; quote a value that starts with '*', e.g. match: \"*.example.com:443\"";
        if (y->context)
            return fail_at(l, y->problem_mark, "YAML syntax error: %s (%s at %zu:%zu)%s", problem,
                           y->context, y->context_mark.line + 1, y->context_mark.column + 1, hint);
        return fail_at(l, y->problem_mark, "YAML syntax error: %s%s", problem, hint);
    }
    }
}

static int next(struct loader *l)
{
    if (l->has_ev)
        yaml_event_delete(&l->ev);
    l->has_ev = false;
    if (!yaml_parser_parse(&l->yp, &l->ev))
        return syntax_error(l);
    l->has_ev = true;
    if (l->ev.type == YAML_ALIAS_EVENT)
        return fail_at(l, l->ev.start_mark,
                       "aliases (*%s) are not supported in a policy: write the value out, or "
                       "quote it if it is a pattern (\"*%s\")",
                       (const char *)l->ev.data.alias.anchor,
                       (const char *)l->ev.data.alias.anchor);
    return 0;
}

static bool is_null(const yaml_event_t *e)
{
    if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)e->data.scalar.value;
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* "a mapping", "a sequence", "an empty value" or the scalar quoted (cut, control characters
 * replaced), for "got ..." in messages. */
static const char *describe(const yaml_event_t *e, char *buf, size_t cap)
{
    switch (e->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_SCALAR_EVENT: {
        if (is_null(e))
            return "an empty value";
        const uint8_t *v = e->data.scalar.value;
        size_t n = e->data.scalar.length, max = cap > 8 ? cap - 8 : 0;
        bool cut = n > max;
        if (cut)
            for (n = max; n > 0 && (v[n] & 0xc0) == 0x80; n--)
                ;
        size_t o = 0;
        buf[o++] = '\'';
        for (size_t i = 0; i < n; i++)
            buf[o++] = v[i] < 0x20 || v[i] == 0x7f ? '?' : (char)v[i];
        if (cut)
            o += (size_t)snprintf(buf + o, cap - o, "...");
        buf[o++] = '\'';
        buf[o] = 0;
        return buf;
    }
    default:
        return "nothing";
    }
}

#define GOT(l, buf) describe(&(l)->ev, buf, sizeof(buf))

static int type_error(struct loader *l, const char *key, const char *expects)
{
    char got[80];
    return fail_at(l, l->ev.start_mark, "'%s' expects %s, got %s", key, expects, GOT(l, got));
}

/* The current scalar as a C string (valid until next()); a NUL inside is refused. */
/* The scalar's text when it holds no NUL, else NULL: values compared with strcmp must not be
 * cut short by a "\0" escape ("required\0junk" is not "required"). */
static const char *scalar_plain(const struct loader *l)
{
    const char *v = (const char *)l->ev.data.scalar.value;
    return strlen(v) == l->ev.data.scalar.length ? v : NULL;
}

static int scalar_str(struct loader *l, const char **out)
{
    const char *v = (const char *)l->ev.data.scalar.value;
    if (strlen(v) != l->ev.data.scalar.length)
        return fail_at(l, l->ev.start_mark, "a NUL character is not allowed here");
    *out = v;
    return 0;
}

/* Levenshtein distance of short strings, for "did you mean"; large for long ones. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *closest(const char *s, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 2 + strlen(s) / 3; /* beyond this a suggestion is a guess */
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

static void join(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static int unknown_key(struct loader *l, const char *key, enum section_kind kind)
{
    static const char *const where[] = {
        [SEC_TOP] = "at the top level",
        [SEC_DEFAULTS] = "in 'defaults'",
        [SEC_ENTRY] = "in a target entry",
    };
    const char *const *keys = kind == SEC_TOP        ? top_keys
                              : kind == SEC_DEFAULTS ? default_keys
                                                     : entry_keys;
    size_t n = kind == SEC_TOP        ? sizeof(top_keys) / sizeof(*top_keys)
               : kind == SEC_DEFAULTS ? sizeof(default_keys) / sizeof(*default_keys)
                                      : K_COUNT_;
    for (size_t i = 0; i < K_COUNT_; i++) {
        if (strcmp(key, entry_keys[i]) != 0)
            continue;
        if (kind == SEC_DEFAULTS)
            return fail_at(l, l->ev.start_mark,
                           "'%s' belongs in a target entry, not in 'defaults'%s", key,
                           i == K_ENABLE ? " (every rule is on unless disabled)" : "");
        if (kind == SEC_TOP)
            return fail_at(l, l->ev.start_mark,
                           "'%s' goes under 'defaults' or in an entry of 'targets', not at the "
                           "top level",
                           key);
    }
    char list[256];
    join(list, sizeof(list), keys, n);
    const char *near = closest(key, keys, n);
    char got[80];
    if (near)
        return fail_at(l, l->ev.start_mark,
                       "unknown key %s %s; did you mean '%s'? Expected one of: %s", GOT(l, got),
                       where[kind], near, list);
    return fail_at(l, l->ev.start_mark, "unknown key %s %s; expected one of: %s", GOT(l, got),
                   where[kind], list);
}

static int rule_lookup(struct loader *l, const char *key, enum report_rule_id *out)
{
    const char *name = NULL;
    int rc = scalar_str(l, &name);
    if (rc)
        return rc;
    const struct report_rule *r = report_rule_find(name);
    if (r) {
        *out = r->id;
        return 0;
    }
    const char *names[REPORT_RULE_COUNT];
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++)
        names[i] = report_rule_get((enum report_rule_id)i)->name;
    char list[REPORT_RULE_COUNT * 32];
    join(list, sizeof(list), names, REPORT_RULE_COUNT);
    const char *near = closest(name, names, REPORT_RULE_COUNT);
    char got[80];
    if (near)
        return fail_at(l, l->ev.start_mark,
                       "unknown rule %s in '%s'; did you mean '%s'? The rules are: %s", GOT(l, got),
                       key, near, list);
    return fail_at(l, l->ev.start_mark, "unknown rule %s in '%s'; the rules are: %s", GOT(l, got),
                   key, list);
}

/* Grow an arena array to hold n + 1 items (arena memory is not freed one by one: doubling
 * bounds the waste to the final size). */
static void *grow(struct tls_arena *a, void *v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = tls_arena_alloc(a, nc * size);
    if (nv == NULL)
        return NULL;
    if (n)
        memcpy(nv, v, n * size);
    *cap = nc;
    return nv;
}

static const char *where_str(struct loader *l, yaml_mark_t m)
{
    return tls_arena_printf(&l->p->arena, "%s:%zu:%zu", l->name, m.line + 1, m.column + 1);
}

/* ---- values ---------------------------------------------------------------------------------- */

/* A value that is one scalar or a sequence of scalars. Call with the value's first event
 * current: returns 1 with an item current, 0 after the last (the sequence's end current) or an
 * error. */
struct list_it {
    bool started, seq;
    size_t count;
};

static int list_next(struct loader *l, struct list_it *it, const char *key, const char *expects)
{
    if (!it->started) {
        it->started = true;
        if (l->ev.type == YAML_SCALAR_EVENT && !is_null(&l->ev)) {
            it->count++;
            return 1;
        }
        if (l->ev.type != YAML_SEQUENCE_START_EVENT)
            return type_error(l, key, expects);
        it->seq = true;
    } else if (!it->seq) {
        return 0;
    }
    int rc = next(l);
    if (rc)
        return rc;
    if (l->ev.type == YAML_SEQUENCE_END_EVENT)
        return 0;
    if (l->ev.type != YAML_SCALAR_EVENT || is_null(&l->ev)) {
        char got[80];
        return fail_at(l, l->ev.start_mark, "each item of '%s' expects %s, got %s", key, expects,
                       GOT(l, got));
    }
    it->count++;
    return 1;
}

static int parse_client_auth(struct loader *l, struct section *s)
{
    static const char expects[] = "required, optional or none";
    if (l->ev.type != YAML_SCALAR_EVENT)
        return type_error(l, "client_auth", expects);
    const char *v = scalar_plain(l);
    for (int a = REPORT_CLIENT_AUTH_REQUIRED; v && a <= REPORT_CLIENT_AUTH_NONE; a++)
        if (strcmp(v, client_auth_names[a]) == 0) {
            s->client_auth = (enum report_client_auth)a;
            return 0;
        }
    return type_error(l, "client_auth", expects);
}

static int parse_severities(struct loader *l, struct section *s)
{
    if (l->ev.type != YAML_MAPPING_START_EVENT)
        return type_error(l, "severities",
                          "a mapping of rule names to info|low|medium|high|critical");
    for (;;) {
        int rc = next(l);
        if (rc)
            return rc;
        if (l->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        char got[80];
        if (l->ev.type != YAML_SCALAR_EVENT)
            return fail_at(l, l->ev.start_mark, "'severities' expects rule names as keys, got %s",
                           GOT(l, got));
        enum report_rule_id id;
        if ((rc = rule_lookup(l, "severities", &id)))
            return rc;
        const char *rule = report_rule_get(id)->name;
        if (s->severity[id] >= 0)
            return fail_at(l, l->ev.start_mark, "rule '%s' is given twice in 'severities'", rule);
        if ((rc = next(l)))
            return rc;
        enum report_severity sev;
        if (l->ev.type != YAML_SCALAR_EVENT || scalar_plain(l) == NULL ||
            report_severity_parse(scalar_plain(l), &sev) != 0)
            return fail_at(l, l->ev.start_mark,
                           "'%s' in 'severities' expects info|low|medium|high|critical, got %s",
                           rule, GOT(l, got));
        s->severity[id] = (int8_t)sev;
    }
}

static int parse_rule_list(struct loader *l, struct section *s, const char *key, int8_t on)
{
    struct list_it it = {0};
    int rc;
    while ((rc = list_next(l, &it, key, "a list of rule names")) == 1) {
        enum report_rule_id id;
        if ((rc = rule_lookup(l, key, &id)))
            return rc;
        if (s->enabled[id] >= 0 && s->enabled[id] != on)
            return fail_at(l, l->ev.start_mark, "rule '%s' is in both 'enable' and 'disable'",
                           report_rule_get(id)->name);
        s->enabled[id] = on;
    }
    return rc;
}

static int resolve_file(struct loader *l, const char *key, struct report_policy_file *out)
{
    const char *path = NULL;
    int rc = scalar_str(l, &path);
    if (rc)
        return rc;
    if (*path == 0)
        return fail_at(l, l->ev.start_mark, "'%s' expects a file name, got ''", key);
    const char *dir = l->p->dir;
    bool rel = path[0] != '/' && dir != NULL;
    size_t len = strlen(path) + (rel ? strlen(dir) + 1 : 0);
    if (len >= POLICY_PATH_MAX)
        return fail_at(l, l->ev.start_mark, "'%s': the file name is longer than %d bytes", key,
                       POLICY_PATH_MAX - 1);
    out->path = rel ? tls_arena_printf(&l->p->arena, "%s%s%s", dir,
                                       dir[strlen(dir) - 1] == '/' ? "" : "/", path)
                    : tls_arena_strdup(&l->p->arena, path);
    out->where = where_str(l, l->ev.start_mark);
    return out->path && out->where ? 0 : fail_nomem(l);
}

static int parse_expect_ca(struct loader *l, struct section *s)
{
    static const char expects[] = "a list of certificate files (PEM or DER; [] for none)";
    s->has_expect_ca = true;
    s->n_expect_ca = 0;
    struct list_it it = {0};
    int rc;
    while ((rc = list_next(l, &it, "expect_ca", expects)) == 1) {
        s->expect_ca = grow(&l->p->arena, s->expect_ca, s->n_expect_ca, &s->cap_expect_ca,
                            sizeof(*s->expect_ca));
        if (s->expect_ca == NULL)
            return fail_nomem(l);
        if ((rc = resolve_file(l, "expect_ca", &s->expect_ca[s->n_expect_ca])))
            return rc;
        s->n_expect_ca++;
    }
    return rc;
}

static int parse_client_cert(struct loader *l, struct section *s)
{
    s->has_client_cert = true;
    if (is_null(&l->ev)) {
        s->client_cert.path = NULL;
        s->client_cert.where = where_str(l, l->ev.start_mark);
        return s->client_cert.where ? 0 : fail_nomem(l);
    }
    if (l->ev.type != YAML_SCALAR_EVENT)
        return type_error(l, "client_cert", "a certificate chain file (PEM), or null for none");
    return resolve_file(l, "client_cert", &s->client_cert);
}

static bool all_digits(const char *s)
{
    if (*s == 0)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* 1: an address or CIDR pattern in *pt; 0: not one (then it is a glob); -1 with *why: written
 * as one (a '/', or brackets around an IPv6 address) but malformed. */
static int addr_pattern(const char *s, struct pattern *pt, const char **why)
{
    const char *end = s + strlen(s), *port = NULL;
    struct tls_addr a;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || memchr(s, ':', (size_t)(close - s)) == NULL)
            return 0; /* a bracket expression of a glob */
        if (close[1] != 0 && close[1] != ':') {
            *why = "expected [IPv6]:PORT or [IPv6/PREFIX]:PORT";
            return -1;
        }
        port = close[1] ? close + 2 : NULL;
        s++;
        end = close;
    } else if (strchr(s, '/')) {
        const char *slash = strchr(s, '/'), *colon = strchr(slash, ':');
        if (colon && memchr(s, ':', (size_t)(slash - s)) == NULL) {
            port = colon + 1; /* a.b.c.d/N:PORT */
            end = colon;
        }
    } else if (tls_addr_parse(&a, s, (size_t)(end - s)) != 0) {
        const char *colon = strchr(s, ':');
        if (colon == NULL || !all_digits(colon + 1) ||
            tls_addr_parse(&a, s, (size_t)(colon - s)) != 0)
            return 0; /* a glob: a host name, "10.0.0.1:*" */
        port = colon + 1;
        end = colon;
    }
    bool v6 = memchr(s, ':', (size_t)(end - s)) != NULL;
    switch (tls_cidr_parse(&pt->range, s, (size_t)(end - s))) {
    case 0:
        break;
    case TLS_E_RANGE:
        *why = v6 ? "the prefix length of an IPv6 range is 0 to 128"
                  : "the prefix length of an IPv4 range is 0 to 32";
        return -1;
    default:
        *why = v6 ? "not an IPv6 address"
                  : "not an IPv4 address (a '/' makes a CIDR range: a.b.c.d/N[:PORT], IPv6/N or "
                    "[IPv6/N]:PORT)";
        return -1;
    }
    pt->port = 0;
    if (port && tls_port_parse(port, strlen(port), &pt->port)) {
        *why = "the port is 1 to 65535";
        return -1;
    }
    return 1;
}

static int parse_match(struct loader *l, struct report_policy_entry *e)
{
    static const char expects[] = "a host:port glob, an address or a CIDR range, or a list of them";
    yaml_mark_t start = l->ev.start_mark;
    struct list_it it = {0};
    int rc;
    while ((rc = list_next(l, &it, "match", expects)) == 1) {
        const char *text = NULL;
        if ((rc = scalar_str(l, &text)))
            return rc;
        if (*text == 0 || strlen(text) > POLICY_PATTERN_MAX)
            return fail_at(l, l->ev.start_mark, "'match' expects a pattern of 1 to %d bytes",
                           POLICY_PATTERN_MAX);
        e->patterns =
            grow(&l->p->arena, e->patterns, e->n_patterns, &e->cap_patterns, sizeof(*e->patterns));
        if (e->patterns == NULL)
            return fail_nomem(l);
        struct pattern *pt = &e->patterns[e->n_patterns];
        memset(pt, 0, sizeof(*pt));
        const char *why = NULL;
        int kind = addr_pattern(text, pt, &why);
        if (kind < 0)
            return fail_at(l, l->ev.start_mark, "'match' pattern '%s': %s", text, why);
        if ((pt->text = tls_arena_strdup(&l->p->arena, text)) == NULL)
            return fail_nomem(l);
        if (kind == 0) {
            char *g = tls_arena_strdup(&l->p->arena, text);
            if (g == NULL)
                return fail_nomem(l);
            for (char *c = g; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            pt->glob = g;
        }
        e->n_patterns++;
    }
    if (rc == 0 && it.count == 0)
        return fail_at(l, start, "'match' expects at least one pattern");
    return rc;
}

/* ---- mappings -------------------------------------------------------------------------------- */

/* Read the keys of the mapping that starts at the current event, with the value's first event
 * current when calling fn (which leaves the value's last event current). Unknown and repeated
 * keys are errors. */
typedef int key_fn(struct loader *l, int key, void *arg);

static int parse_mapping(struct loader *l, enum section_kind kind, key_fn *fn, void *arg)
{
    const char *const *keys = kind == SEC_TOP        ? top_keys
                              : kind == SEC_DEFAULTS ? default_keys
                                                     : entry_keys;
    size_t n = kind == SEC_TOP        ? sizeof(top_keys) / sizeof(*top_keys)
               : kind == SEC_DEFAULTS ? sizeof(default_keys) / sizeof(*default_keys)
                                      : K_COUNT_;
    yaml_mark_t seen[K_COUNT_];
    bool has[K_COUNT_] = {false};
    for (;;) {
        int rc = next(l);
        if (rc)
            return rc;
        if (l->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        char got[80];
        if (l->ev.type != YAML_SCALAR_EVENT)
            return fail_at(l, l->ev.start_mark, "expected a key (a name), got %s", GOT(l, got));
        const char *key = NULL;
        if ((rc = scalar_str(l, &key)))
            return rc;
        size_t k = 0;
        while (k < n && strcmp(key, keys[k]) != 0)
            k++;
        if (k == n)
            return unknown_key(l, key, kind);
        if (has[k])
            return fail_at(l, l->ev.start_mark, "'%s' is given twice (first at %zu:%zu)", key,
                           seen[k].line + 1, seen[k].column + 1);
        has[k] = true;
        seen[k] = l->ev.start_mark;
        if ((rc = next(l)) || (rc = fn(l, (int)k, arg)))
            return rc;
    }
}

static int section_key(struct loader *l, struct section *s, enum entry_key key)
{
    switch (key) {
    case K_CLIENT_AUTH:
        return parse_client_auth(l, s);
    case K_SEVERITIES:
        return parse_severities(l, s);
    case K_ENABLE:
        return parse_rule_list(l, s, "enable", 1);
    case K_DISABLE:
        return parse_rule_list(l, s, "disable", 0);
    case K_EXPECT_CA:
        return parse_expect_ca(l, s);
    case K_CLIENT_CERT:
        return parse_client_cert(l, s);
    case K_MATCH:
    case K_COUNT_:
        break;
    }
    return TLS_E_INVALID; /* not reached: the callers only pass section keys */
}

static int defaults_key(struct loader *l, int key, void *arg)
{
    (void)arg;
    const char *name = default_keys[key];
    enum entry_key k = 0;
    while (strcmp(entry_keys[k], name) != 0)
        k++;
    return section_key(l, &l->p->defaults, k);
}

static int entry_key(struct loader *l, int key, void *arg)
{
    struct report_policy_entry *e = arg;
    if (key == K_MATCH)
        return parse_match(l, e);
    return section_key(l, &e->s, (enum entry_key)key);
}

static int parse_targets(struct loader *l)
{
    struct report_policy *p = l->p;
    if (l->ev.type != YAML_SEQUENCE_START_EVENT)
        return type_error(l, "targets", "a list of target entries (mappings with 'match')");
    for (;;) {
        int rc = next(l);
        if (rc)
            return rc;
        if (l->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        char got[80];
        if (l->ev.type != YAML_MAPPING_START_EVENT)
            return fail_at(l, l->ev.start_mark,
                           "each entry of 'targets' expects a mapping with 'match' and "
                           "settings, got %s",
                           GOT(l, got));
        p->entries = grow(&p->arena, p->entries, p->n, &p->cap, sizeof(*p->entries));
        if (p->entries == NULL)
            return fail_nomem(l);
        struct report_policy_entry *e = &p->entries[p->n];
        memset(e, 0, sizeof(*e));
        section_init(&e->s);
        e->index = p->n;
        yaml_mark_t start = l->ev.start_mark;
        if ((e->where = where_str(l, start)) == NULL)
            return fail_nomem(l);
        if ((rc = parse_mapping(l, SEC_ENTRY, entry_key, e)))
            return rc;
        if (e->n_patterns == 0)
            return fail_at(l, start,
                           "target entry has no 'match' (a host:port glob, an address or a CIDR "
                           "range)");
        p->n++;
    }
}

static int top_key(struct loader *l, int key, void *arg)
{
    (void)arg;
    switch (key) {
    case 0: /* version */
        if (l->ev.type != YAML_SCALAR_EVENT || scalar_plain(l) == NULL ||
            strcmp(scalar_plain(l), "1") != 0)
            return type_error(l, "version", "1 (the only policy format so far)");
        return 0;
    case 1: /* defaults */
        if (l->ev.type != YAML_MAPPING_START_EVENT)
            return type_error(l, "defaults", "a mapping of settings");
        return parse_mapping(l, SEC_DEFAULTS, defaults_key, NULL);
    default: /* targets */
        return parse_targets(l);
    }
}

static int parse_stream(struct loader *l)
{
    int rc;
    if ((rc = next(l)) || (rc = next(l))) /* stream start, then a document or the end */
        return rc;
    if (l->ev.type == YAML_STREAM_END_EVENT)
        return fail_at(l, l->ev.start_mark,
                       "empty policy: expected a mapping with 'defaults' and/or 'targets'");
    if ((rc = next(l)))
        return rc;
    if (l->ev.type != YAML_MAPPING_START_EVENT) {
        char got[80];
        return fail_at(l, l->ev.start_mark,
                       "the top level expects a mapping with 'defaults' and/or 'targets', got %s",
                       GOT(l, got));
    }
    if ((rc = parse_mapping(l, SEC_TOP, top_key, NULL)) || (rc = next(l)) || (rc = next(l)))
        return rc; /* the mapping, the document's end, then the stream's end */
    if (l->ev.type == YAML_DOCUMENT_START_EVENT)
        return fail_at(l, l->ev.start_mark,
                       "a policy is one YAML document, but a second one starts here");
    return 0;
}

/* ---- loading ----------------------------------------------------------------------------------
 */

int report_policy_parse(struct report_policy **out, const char *name, const uint8_t *text,
                        size_t len, char *err, size_t err_cap)
{
    *out = NULL;
    if (err && err_cap)
        err[0] = 0;
    struct loader l = {.name = name, .text = text, .len = len, .err = err, .err_cap = err_cap};
    if (len > REPORT_POLICY_MAX_BYTES)
        return fail_pos(&l, 0, 0, TLS_E_INVALID,
                        "larger than %u MiB: is this a policy? (policies are a few kilobytes)",
                        REPORT_POLICY_MAX_BYTES >> 20);
    size_t bad = tls_utf8_valid_prefix(text, len);
    if (bad < len) {
        size_t line, col;
        offset_pos(text, len, bad, &line, &col);
        return fail_pos(&l, line, col, TLS_E_INVALID,
                        "not UTF-8 (byte 0x%02x): save the policy as UTF-8 text", text[bad]);
    }
    struct report_policy *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return fail_nomem(&l);
    tls_arena_init(&p->arena, POLICY_ARENA_CAP);
    section_init(&p->defaults);
    l.p = p;
    int rc = 0;
    const char *slash = strrchr(name, '/');
    if (slash) {
        size_t dl = slash == name ? 1 : (size_t)(slash - name);
        char *dir = tls_arena_alloc(&p->arena, dl + 1);
        if (dir == NULL) {
            rc = fail_nomem(&l);
            goto out;
        }
        memcpy(dir, name, dl);
        dir[dl] = 0;
        p->dir = dir;
    }
    if (!yaml_parser_initialize(&l.yp)) {
        rc = fail_nomem(&l);
        goto out;
    }
    yaml_parser_set_input_string(&l.yp, text, len);
    yaml_parser_set_encoding(&l.yp, YAML_UTF8_ENCODING);
    rc = parse_stream(&l);
    if (l.has_ev)
        yaml_event_delete(&l.ev);
    yaml_parser_delete(&l.yp);
out:
    if (rc) {
        report_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int report_policy_load(struct report_policy **out, const char *path, char *err, size_t err_cap)
{
    *out = NULL;
    struct loader l = {.name = path, .err = err, .err_cap = err_cap};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail_pos(&l, 0, 0, TLS_E_IO, "cannot read: %s", strerror(errno));
    size_t cap = 16 * 1024, n = 0;
    uint8_t *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap > REPORT_POLICY_MAX_BYTES)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf == NULL) {
        rc = fail_pos(&l, 0, 0, TLS_E_NOMEM, "out of memory");
    } else if (ferror(f)) {
        rc = fail_pos(&l, 0, 0, TLS_E_IO, "cannot read: %s", strerror(errno ? errno : EIO));
    }
    fclose(f);
    if (rc == 0)
        rc = report_policy_parse(out, path, buf, n, err, err_cap);
    free(buf);
    return rc;
}

void report_policy_free(struct report_policy *p)
{
    if (p == NULL)
        return;
    tls_arena_free(&p->arena);
    free(p);
}

/* ---- queries ----------------------------------------------------------------------------------
 */

size_t report_policy_count(const struct report_policy *p)
{
    return p ? p->n : 0;
}

const struct report_policy_entry *report_policy_entry_at(const struct report_policy *p, size_t i)
{
    return p && i < p->n ? &p->entries[i] : NULL;
}

size_t report_policy_entry_index(const struct report_policy *p, const struct report_policy_entry *e)
{
    return e ? e->index : report_policy_count(p);
}

const char *report_policy_entry_where(const struct report_policy_entry *e)
{
    return e->where;
}

const char *report_policy_entry_pattern(const struct report_policy_entry *e)
{
    return e->patterns[0].text;
}

/* The address of a host that is an address literal ("[v6]" and "%zone" allowed); false for a
 * host name. */
static bool host_address(const char *host, struct tls_addr *a)
{
    size_t n = strlen(host);
    if (*host == '[') {
        const char *close = strchr(++host, ']');
        n = close ? (size_t)(close - host) : n - 1;
    }
    const char *zone = memchr(host, '%', n);
    return tls_addr_parse(a, host, zone ? (size_t)(zone - host) : n) == 0;
}

static bool lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i]; i++) {
        if (i + 1 >= cap)
            return false;
        char c = src[i];
        dst[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    dst[i] = 0;
    return true;
}

const struct report_policy_entry *report_policy_match(const struct report_policy *p,
                                                      const char *target_spec, const char *host,
                                                      uint16_t port)
{
    if (p == NULL || host == NULL)
        return NULL;
    char lhost[512], hostport[540], spec[540];
    if (!lower_copy(lhost, sizeof(lhost), host))
        return NULL;
    bool v6 = strchr(lhost, ':') && lhost[0] != '[';
    snprintf(hostport, sizeof(hostport), v6 ? "[%s]:%u" : "%s:%u", lhost, (unsigned)port);
    bool has_spec = target_spec && lower_copy(spec, sizeof(spec), target_spec) &&
                    strcmp(spec, hostport) != 0 && strcmp(spec, lhost) != 0;
    struct tls_addr addr;
    bool literal = host_address(host, &addr);
    for (size_t i = 0; i < p->n; i++) {
        const struct report_policy_entry *e = &p->entries[i];
        for (size_t j = 0; j < e->n_patterns; j++) {
            const struct pattern *pt = &e->patterns[j];
            if (pt->glob == NULL) {
                if (literal && (pt->port == 0 || pt->port == port) &&
                    tls_cidr_contains(&pt->range, &addr))
                    return e;
            } else if (fnmatch(pt->glob, hostport, 0) == 0 || fnmatch(pt->glob, lhost, 0) == 0 ||
                       (has_spec && fnmatch(pt->glob, spec, 0) == 0)) {
                return e;
            }
        }
    }
    return NULL;
}

static void apply_section(const struct section *s, struct report_context *ctx)
{
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++) {
        if (s->severity[i] >= 0) {
            ctx->severity[i] = (enum report_severity)s->severity[i];
            ctx->pinned[i] = true;
        }
        if (s->enabled[i] >= 0)
            ctx->enabled[i] = s->enabled[i] != 0;
    }
    switch (s->client_auth) {
    case REPORT_CLIENT_AUTH_UNSET:
        break;
    case REPORT_CLIENT_AUTH_REQUIRED:
        ctx->client_auth = 1;
        break;
    case REPORT_CLIENT_AUTH_OPTIONAL:
    case REPORT_CLIENT_AUTH_NONE:
        ctx->client_auth = 0;
        break;
    }
}

void report_policy_apply(const struct report_policy *p, const struct report_policy_entry *e,
                         struct report_context *ctx)
{
    if (p == NULL)
        return;
    apply_section(&p->defaults, ctx);
    if (e)
        apply_section(&e->s, ctx);
}

enum report_client_auth report_policy_client_auth(const struct report_policy *p,
                                                  const struct report_policy_entry *e)
{
    if (e && e->s.client_auth != REPORT_CLIENT_AUTH_UNSET)
        return e->s.client_auth;
    return p ? p->defaults.client_auth : REPORT_CLIENT_AUTH_UNSET;
}

bool report_policy_expect_ca(const struct report_policy *p, const struct report_policy_entry *e,
                             const struct report_policy_file **files, size_t *n)
{
    const struct section *s = e && e->s.has_expect_ca          ? &e->s
                              : p && p->defaults.has_expect_ca ? &p->defaults
                                                               : NULL;
    *files = s ? s->expect_ca : NULL;
    *n = s ? s->n_expect_ca : 0;
    return s != NULL;
}

bool report_policy_client_cert(const struct report_policy *p, const struct report_policy_entry *e,
                               const struct report_policy_file **file)
{
    const struct section *s = e && e->s.has_client_cert          ? &e->s
                              : p && p->defaults.has_client_cert ? &p->defaults
                                                                 : NULL;
    *file = s && s->client_cert.path ? &s->client_cert : NULL;
    return s != NULL;
}
