/* Policy files (policy.h, docs/policy.md): the YAML is loaded as a libyaml document and its node
 * tree is checked against the schema; every error names FILE:LINE:COLUMN (a node's start mark)
 * and what was expected. A first pass over libyaml's events bounds the tree before it is built:
 * one document, no aliases (so no node is reached twice: nothing to expand), at most
 * POLICY_NODES_MAX nodes nested at most POLICY_DEPTH_MAX deep. Never opens the certificate files
 * a policy names (report/ has no mbedTLS). */
#include "policy.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamldoc.h"

#include "tls/wire/addr.h"
#include "tls/wire/arena.h"
#include "tls/wire/error.h"

#define POLICY_ARENA_CAP (64u * 1024 * 1024) /* strings, entries and patterns of one policy */
#define POLICY_PATH_MAX 4096                 /* a resolved file name, with its NUL */
/* YAML nodes (scalars, lists, mappings) of one policy: libyaml holds ~170 bytes a node, so at most
 * ~90 MiB; a 4 MiB policy of one-pattern entries has 370,000. */
#define POLICY_NODES_MAX (512u * 1024)
#define POLICY_DEPTH_MAX 32 /* lists and mappings inside each other; a policy needs 4 */

/* What defaults and a target entry may say; -1 / UNSET: nothing. */
struct section {
    int8_t severity[REPORT_RULE_COUNT]; /* enum report_severity */
    int8_t enabled[REPORT_RULE_COUNT];  /* 0 disable, 1 enable */
    enum report_client_auth client_auth;
    bool has_expect_ca, has_client_cert;
    struct report_policy_file *expect_ca;
    size_t n_expect_ca;
    struct report_policy_file client_cert; /* path NULL: 'client_cert: null' */
};

struct report_policy_entry {
    size_t index;
    const char *where;
    struct report_target_pattern *patterns;
    size_t n_patterns;
    struct section s;
};

struct report_policy {
    struct tls_arena arena;
    const char *dir; /* of the policy file, NULL: the current folder */
    struct section defaults;
    struct report_policy_entry *entries;
    size_t n;
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

/* ---- the loader: the first error ends the load ----------------------------------------------- */

struct loader {
    struct report_yaml y; /* the document, its name and the message buffer */
    struct report_policy *p;
};

static const struct report_yaml_kind policy_kind = {
    .noun = "policy",
    .size_note = "policies are a few kilobytes",
    .empty = "empty policy: expected a mapping with 'defaults' and/or 'targets'",
    .star_quote = "match: \"*.example.com:443\"",
    .nodes_max = POLICY_NODES_MAX,
    .depth_max = POLICY_DEPTH_MAX,
    .depth_needed = 4,
    .bytes_max = REPORT_POLICY_MAX_BYTES,
};

/* Where a key may stand (bits), and every key of a policy, in the order messages list them. */
enum where {
    AT_TOP = 1,
    IN_DEFAULTS = 2,
    IN_ENTRY = 4,
};
enum key {
    K_VERSION,
    K_DEFAULTS,
    K_TARGETS,
    K_MATCH,
    K_CLIENT_AUTH,
    K_SEVERITIES,
    K_ENABLE,
    K_DISABLE,
    K_EXPECT_CA,
    K_CLIENT_CERT,
    K_COUNT_,
};
static const struct {
    const char *name;
    unsigned where;
} keys[K_COUNT_] = {
    [K_VERSION] = {"version", AT_TOP},
    [K_DEFAULTS] = {"defaults", AT_TOP},
    [K_TARGETS] = {"targets", AT_TOP},
    [K_MATCH] = {"match", IN_ENTRY},
    [K_CLIENT_AUTH] = {"client_auth", IN_DEFAULTS | IN_ENTRY},
    [K_SEVERITIES] = {"severities", IN_DEFAULTS | IN_ENTRY},
    [K_ENABLE] = {"enable", IN_ENTRY},
    [K_DISABLE] = {"disable", IN_DEFAULTS | IN_ENTRY},
    [K_EXPECT_CA] = {"expect_ca", IN_DEFAULTS | IN_ENTRY},
    [K_CLIENT_CERT] = {"client_cert", IN_DEFAULTS | IN_ENTRY},
};

/* n: the node being read when memory ran out, or NULL. */
static int nomem(struct loader *l, const yaml_node_t *n)
{
    return report_yaml_fail(
        &l->y, TLS_E_NOMEM, n ? n->start_mark.line + 1 : 0, n ? n->start_mark.column + 1 : 0,
        "out of memory (a policy may hold %u MiB at most)", POLICY_ARENA_CAP >> 20);
}

/* ---- nodes ----------------------------------------------------------------------------------- */

/* key is not one of w's: perhaps one that belongs elsewhere, else a typo. */
static int unknown_key(struct loader *l, const yaml_node_t *k, const char *key, enum where w)
{
    static const char *const where_text[] = {
        [AT_TOP] = "at the top level",
        [IN_DEFAULTS] = "in 'defaults'",
        [IN_ENTRY] = "in a target entry",
    };
    const char *names[K_COUNT_];
    size_t n = 0;
    for (int i = 0; i < K_COUNT_; i++) {
        if (keys[i].where & w)
            names[n++] = keys[i].name;
        else if ((keys[i].where & IN_ENTRY) && strcmp(key, keys[i].name) == 0 && w == IN_DEFAULTS)
            return REPORT_YAML_FAIL_AT(&l->y, k->start_mark,
                                       "'%s' belongs in a target entry, not in 'defaults'%s", key,
                                       i == K_ENABLE ? " (every rule is on unless disabled)" : "");
        else if ((keys[i].where & IN_ENTRY) && strcmp(key, keys[i].name) == 0)
            return REPORT_YAML_FAIL_AT(
                &l->y, k->start_mark,
                "'%s' goes under 'defaults' or in an entry of 'targets', not at the "
                "top level",
                key);
    }
    return report_yaml_unknown(&l->y, k, "key", where_text[w], names, n);
}

static int rule_lookup(struct loader *l, const yaml_node_t *n, const char *key,
                       enum report_rule_id *out)
{
    const char *name = NULL;
    int rc = report_yaml_str(&l->y, n, &name);
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
    char where[64];
    snprintf(where, sizeof(where), "in '%s'", key);
    return report_yaml_unknown(&l->y, n, "rule", where, names, REPORT_RULE_COUNT);
}

static const char *where_str(struct loader *l, const yaml_node_t *n)
{
    return tls_arena_printf(&l->p->arena, "%s:%zu:%zu", l->y.name, n->start_mark.line + 1,
                            n->start_mark.column + 1);
}

/* ---- values ---------------------------------------------------------------------------------- */

/* Room in the arena for the items of such a value (at least one, so NULL is out of memory). */
static void *list_alloc(struct loader *l, const yaml_node_t *v, size_t size)
{
    size_t n = v->type == YAML_SEQUENCE_NODE
                   ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                   : 1;
    return tls_arena_alloc(&l->p->arena, (n ? n : 1) * size);
}

static int parse_severities(struct loader *l, const yaml_node_t *v, struct section *s)
{
    if (v->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, v,
                               "'severities' expects a mapping of rule names to "
                               "info|low|medium|high|critical");
    for (const yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = report_yaml_node(&l->y, pr->key),
                          *val = report_yaml_node(&l->y, pr->value);
        if (k->type != YAML_SCALAR_NODE)
            return report_yaml_got(&l->y, k, "'severities' expects rule names as keys");
        enum report_rule_id id;
        int rc = rule_lookup(l, k, "severities", &id);
        if (rc)
            return rc;
        const char *rule = report_rule_get(id)->name;
        if (s->severity[id] >= 0)
            return REPORT_YAML_FAIL_AT(&l->y, k->start_mark,
                                       "rule '%s' is given twice in 'severities'", rule);
        enum report_severity sev;
        if (report_yaml_plain(val) == NULL ||
            report_severity_parse(report_yaml_plain(val), &sev) != 0)
            return report_yaml_got(
                &l->y, val, "'%s' in 'severities' expects info|low|medium|high|critical", rule);
        s->severity[id] = (int8_t)sev;
    }
    return 0;
}

static int parse_rule_list(struct loader *l, const yaml_node_t *v, struct section *s,
                           const char *key, int8_t on)
{
    const yaml_node_t *item;
    size_t i = 0;
    int rc;
    while ((rc = report_yaml_list_next(&l->y, v, key, "a list of rule names", &i, &item)) == 1) {
        enum report_rule_id id;
        if ((rc = rule_lookup(l, item, key, &id)))
            return rc;
        if (s->enabled[id] >= 0 && s->enabled[id] != on)
            return REPORT_YAML_FAIL_AT(&l->y, item->start_mark,
                                       "rule '%s' is in both 'enable' and 'disable'",
                                       report_rule_get(id)->name);
        s->enabled[id] = on;
    }
    return rc;
}

static int resolve_file(struct loader *l, const yaml_node_t *n, const char *key,
                        struct report_policy_file *out)
{
    const char *path = NULL;
    int rc = report_yaml_str(&l->y, n, &path);
    if (rc)
        return rc;
    if (*path == 0)
        return REPORT_YAML_FAIL_AT(&l->y, n->start_mark, "'%s' expects a file name, got ''", key);
    const char *dir = path[0] == '/' ? NULL : l->p->dir;
    if (strlen(path) + (dir ? strlen(dir) + 1 : 0) >= POLICY_PATH_MAX)
        return REPORT_YAML_FAIL_AT(&l->y, n->start_mark,
                                   "'%s': the file name is longer than %d bytes", key,
                                   POLICY_PATH_MAX - 1);
    out->path = tls_arena_printf(&l->p->arena, "%s%s%s", dir ? dir : "",
                                 dir && dir[strlen(dir) - 1] != '/' ? "/" : "", path);
    out->where = where_str(l, n);
    return out->path && out->where ? 0 : nomem(l, n);
}

static int parse_expect_ca(struct loader *l, const yaml_node_t *v, struct section *s)
{
    static const char expects[] = "a list of certificate files (PEM or DER; [] for none)";
    s->has_expect_ca = true;
    if ((s->expect_ca = list_alloc(l, v, sizeof(*s->expect_ca))) == NULL)
        return nomem(l, v);
    const yaml_node_t *item;
    size_t i = 0;
    int rc;
    while ((rc = report_yaml_list_next(&l->y, v, "expect_ca", expects, &i, &item)) == 1)
        if ((rc = resolve_file(l, item, "expect_ca", &s->expect_ca[s->n_expect_ca++])))
            return rc;
    return rc;
}

static int parse_client_cert(struct loader *l, const yaml_node_t *v, struct section *s)
{
    s->has_client_cert = true;
    if (report_yaml_is_null(v)) {
        s->client_cert.path = NULL;
        s->client_cert.where = where_str(l, v);
        return s->client_cert.where ? 0 : nomem(l, v);
    }
    if (v->type != YAML_SCALAR_NODE)
        return report_yaml_got(
            &l->y, v, "'client_cert' expects a certificate chain file (PEM), or null for none");
    return resolve_file(l, v, "client_cert", &s->client_cert);
}

/* 1: an address or CIDR pattern in *pt; 0: not one (then it is a glob); -1 with *why: written
 * as one (a '/', or brackets around an IPv6 address) but malformed. */
static int addr_pattern(const char *s, struct report_target_pattern *pt, const char **why)
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
        if (colon == NULL || !colon[1] || colon[1 + strspn(colon + 1, "0123456789")] ||
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

/* Whether glob g (lower case) looks like an address: the text before its first wildcard is
 * digits, dots and colons ("10.0.0.*", "10.0.0.1:*"), or hex digits, dots and colons with two
 * colons or more ("2001:db8::*"; one colon is a port: "cafe:*" is the host cafe). */
static bool address_glob(const char *g)
{
    size_t n = strcspn(g, "*?["), colons = 0;
    bool decimal = true;
    for (size_t i = 0; i < n; i++) {
        if (g[i] == ':')
            colons++;
        else if (g[i] >= 'a' && g[i] <= 'f')
            decimal = false;
        else if ((g[i] < '0' || g[i] > '9') && g[i] != '.')
            return false;
    }
    return n > 0 && (decimal || colons >= 2);
}

int report_target_pattern_parse(struct report_target_pattern *pt, const char *text,
                                struct tls_arena *arena, const char **why)
{
    memset(pt, 0, sizeof(*pt));
    int kind = addr_pattern(text, pt, why);
    if (kind < 0)
        return TLS_E_INVALID;
    if ((pt->text = tls_arena_strdup(arena, text)) == NULL)
        return TLS_E_NOMEM;
    if (kind == 0) {
        char *g = tls_arena_strdup(arena, text);
        if (g == NULL)
            return TLS_E_NOMEM;
        for (char *c = g; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        pt->glob = g;
        pt->addr_glob = address_glob(g);
    }
    return 0;
}

int report_yaml_patterns(struct report_yaml *y, const yaml_node_t *v, const char *key,
                         const char *expects, struct tls_arena *arena,
                         struct report_target_pattern **out, size_t *n)
{
    size_t cap = v->type == YAML_SEQUENCE_NODE
                     ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                     : 1;
    *n = 0;
    if ((*out = tls_arena_alloc(arena, (cap ? cap : 1) * sizeof(**out))) == NULL)
        return TLS_E_NOMEM;
    const yaml_node_t *item;
    size_t i = 0;
    int rc;
    while ((rc = report_yaml_list_next(y, v, key, expects, &i, &item)) == 1) {
        const char *text = NULL, *why = NULL;
        if ((rc = report_yaml_str(y, item, &text)))
            return rc;
        if (*text == 0 || strlen(text) > REPORT_TARGET_PATTERN_MAX)
            return REPORT_YAML_FAIL_AT(y, item->start_mark,
                                       "'%s' expects a pattern of 1 to %d bytes", key,
                                       REPORT_TARGET_PATTERN_MAX);
        rc = report_target_pattern_parse(&(*out)[*n], text, arena, &why);
        if (rc == TLS_E_NOMEM)
            return rc;
        if (rc)
            return REPORT_YAML_FAIL_AT(y, item->start_mark, "'%s' pattern '%s': %s", key, text,
                                       why);
        (*n)++;
    }
    return rc;
}

static int parse_match(struct loader *l, const yaml_node_t *v, struct report_policy_entry *e)
{
    static const char expects[] = "a host:port glob, an address or a CIDR range, or a list of them";
    int rc = report_yaml_patterns(&l->y, v, "match", expects, &l->p->arena, &e->patterns,
                                  &e->n_patterns);
    if (rc == TLS_E_NOMEM)
        return nomem(l, v);
    if (rc == 0 && e->n_patterns == 0)
        return REPORT_YAML_FAIL_AT(&l->y, v->start_mark, "'match' expects at least one pattern");
    return rc;
}

/* ---- the tree -------------------------------------------------------------------------------- */

static int walk_mapping(struct loader *l, const yaml_node_t *m, enum where w,
                        struct report_policy_entry *e);

static int walk_targets(struct loader *l, const yaml_node_t *v)
{
    struct report_policy *p = l->p;
    if (v->type != YAML_SEQUENCE_NODE)
        return report_yaml_got(
            &l->y, v, "'targets' expects a list of target entries (mappings with 'match')");
    if ((p->entries = list_alloc(l, v, sizeof(*p->entries))) == NULL)
        return nomem(l, v);
    for (const yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        const yaml_node_t *m = report_yaml_node(&l->y, *it);
        if (m->type != YAML_MAPPING_NODE)
            return report_yaml_got(
                &l->y, m, "each entry of 'targets' expects a mapping with 'match' and settings");
        struct report_policy_entry *e = &p->entries[p->n];
        memset(e, 0, sizeof(*e));
        section_init(&e->s);
        e->index = p->n;
        if ((e->where = where_str(l, m)) == NULL)
            return nomem(l, m);
        int rc = walk_mapping(l, m, IN_ENTRY, e);
        if (rc)
            return rc;
        if (e->n_patterns == 0)
            return REPORT_YAML_FAIL_AT(
                &l->y, m->start_mark,
                "target entry has no 'match' (a host:port glob, an address or a CIDR "
                "range)");
        p->n++;
    }
    return 0;
}

/* The value v of key k, in the mapping of e (NULL: the top level or the defaults). */
static int walk_key(struct loader *l, enum key k, const yaml_node_t *v,
                    struct report_policy_entry *e)
{
    struct section *s = e ? &e->s : &l->p->defaults;
    switch (k) {
    case K_VERSION:
        if (report_yaml_plain(v) == NULL || strcmp(report_yaml_plain(v), "1") != 0)
            return report_yaml_got(&l->y, v, "'version' expects 1 (the only policy format so far)");
        return 0;
    case K_DEFAULTS:
        if (v->type != YAML_MAPPING_NODE)
            return report_yaml_got(&l->y, v, "'defaults' expects a mapping of settings");
        return walk_mapping(l, v, IN_DEFAULTS, NULL);
    case K_TARGETS:
        return walk_targets(l, v);
    case K_MATCH:
        return parse_match(l, v, e);
    case K_CLIENT_AUTH:
        for (int a = REPORT_CLIENT_AUTH_REQUIRED; a <= REPORT_CLIENT_AUTH_NONE; a++)
            if (report_yaml_plain(v) && strcmp(report_yaml_plain(v), client_auth_names[a]) == 0) {
                s->client_auth = (enum report_client_auth)a;
                return 0;
            }
        return report_yaml_got(&l->y, v, "'client_auth' expects required, optional or none");
    case K_SEVERITIES:
        return parse_severities(l, v, s);
    case K_ENABLE:
        return parse_rule_list(l, v, s, "enable", 1);
    case K_DISABLE:
        return parse_rule_list(l, v, s, "disable", 0);
    case K_EXPECT_CA:
        return parse_expect_ca(l, v, s);
    case K_CLIENT_CERT:
        return parse_client_cert(l, v, s);
    case K_COUNT_:
        break;
    }
    return TLS_E_INVALID; /* not reached: walk_mapping passes known keys only */
}

/* The keys of a mapping at w, each given to walk_key (report_yaml_keys). */
struct walk {
    struct loader *l;
    enum where w;
    struct report_policy_entry *e;
    enum key ids[K_COUNT_]; /* the key of each name the mapping may hold */
};

static int walk_unknown(void *ctx, const yaml_node_t *k, const char *key)
{
    struct walk *wk = ctx;
    return unknown_key(wk->l, k, key, wk->w);
}

static int walk_visit(void *ctx, size_t i, const yaml_node_t *v)
{
    struct walk *wk = ctx;
    return walk_key(wk->l, wk->ids[i], v, wk->e);
}

/* The keys of m: each one that may stand at w, and only once. */
static int walk_mapping(struct loader *l, const yaml_node_t *m, enum where w,
                        struct report_policy_entry *e)
{
    struct walk wk = {.l = l, .w = w, .e = e};
    const char *names[K_COUNT_];
    size_t n = 0;
    for (int i = 0; i < K_COUNT_; i++)
        if (keys[i].where & w) {
            wk.ids[n] = (enum key)i;
            names[n++] = keys[i].name;
        }
    struct report_yaml_keys k = {
        .names = names, .n = n, .unknown = walk_unknown, .visit = walk_visit, .ctx = &wk};
    return report_yaml_keys(&l->y, m, &k, NULL);
}

/* ---- loading --------------------------------------------------------------------------------- */

int report_policy_parse(struct report_policy **out, const char *name, const uint8_t *text,
                        size_t len, char *err, size_t err_cap)
{
    *out = NULL;
    if (err && err_cap)
        err[0] = 0;
    struct loader l = {.y = {.kind = &policy_kind,
                             .name = name,
                             .text = text,
                             .len = len,
                             .err = err,
                             .err_cap = err_cap}};
    struct report_policy *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return nomem(&l, NULL);
    tls_arena_init(&p->arena, POLICY_ARENA_CAP);
    section_init(&p->defaults);
    l.p = p;
    const char *slash = strrchr(name, '/');
    if (slash)
        p->dir = tls_arena_printf(&p->arena, "%.*s", slash == name ? 1 : (int)(slash - name), name);
    int rc = slash && p->dir == NULL ? nomem(&l, NULL) : report_yaml_open(&l.y);
    if (rc == 0) {
        const yaml_node_t *root = report_yaml_root(&l.y);
        rc = root->type == YAML_MAPPING_NODE
                 ? walk_mapping(&l, root, AT_TOP, NULL)
                 : report_yaml_got(&l.y, root,
                                   "the top level expects a mapping with 'defaults' and/or "
                                   "'targets'");
        report_yaml_close(&l.y);
    }
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
    struct report_yaml y = {.kind = &policy_kind, .name = path, .err = err, .err_cap = err_cap};
    uint8_t *buf;
    size_t n;
    int rc = report_yaml_read(&y, &buf, &n);
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

/* ---- queries --------------------------------------------------------------------------------- */

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

bool report_target_subject_init(struct report_target_subject *s, const char *target_spec,
                                const char *host, uint16_t port)
{
    if (host == NULL || !lower_copy(s->host, sizeof(s->host), host))
        return false;
    s->port = port;
    s->literal = host_address(host, &s->addr);
    s->numeric = !s->literal && tls_host_ends_in_number(s->host, strlen(s->host));
    if (s->literal) { /* what a connection reaches, in one spelling */
        tls_addr_unmap(&s->addr);
        inet_ntop(s->addr.family, s->addr.b, s->host, sizeof(s->host));
    }
    bool v6 = strchr(s->host, ':') && s->host[0] != '[';
    snprintf(s->hostport, sizeof(s->hostport), v6 ? "[%s]:%u" : "%s:%u", s->host, (unsigned)port);
    s->has_spec = !s->literal && target_spec && lower_copy(s->spec, sizeof(s->spec), target_spec) &&
                  strcmp(s->spec, s->hostport) != 0 && strcmp(s->spec, s->host) != 0;
    return true;
}

bool report_target_pattern_match(const struct report_target_pattern *pt,
                                 const struct report_target_subject *s)
{
    if (s->numeric)
        return false;
    if (pt->glob == NULL)
        return s->literal && (pt->port == 0 || pt->port == s->port) &&
               tls_cidr_contains(&pt->range, &s->addr);
    if (pt->addr_glob && !s->literal)
        return false;
    return fnmatch(pt->glob, s->hostport, 0) == 0 || fnmatch(pt->glob, s->host, 0) == 0 ||
           (s->has_spec && fnmatch(pt->glob, s->spec, 0) == 0);
}

/* Whether the characters g[0..n) name something: a letter or digit outside a bracket
 * expression (a "\\" makes the next character a literal). */
static bool glob_names(const char *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (g[i] == '[') { /* [...], [!...], []...]: a set, which names no one host */
            size_t j = i + 1 + (i + 1 < n && g[i + 1] == '!');
            j += j < n && g[j] == ']';
            while (j < n && g[j] != ']')
                j++;
            if (j < n) {
                i = j;
                continue;
            }
        }
        if (g[i] == '\\' && i + 1 < n)
            i++;
        if ((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= 'A' && g[i] <= 'Z') ||
            (g[i] >= '0' && g[i] <= '9'))
            return true;
    }
    return false;
}

bool report_target_pattern_open(const struct report_target_pattern *pt)
{
    if (pt->glob == NULL)
        return pt->range.prefix == 0;
    /* the host part: before a final ":PORT" of digits and wildcards ("*:443", "*:*") */
    size_t n = strlen(pt->glob);
    const char *colon = strrchr(pt->glob, ':');
    if (colon && colon[1] && colon[1 + strspn(colon + 1, "0123456789*?[]!-")] == 0)
        n = (size_t)(colon - pt->glob);
    return !glob_names(pt->glob, n);
}

const struct report_policy_entry *report_policy_match(const struct report_policy *p,
                                                      const char *target_spec, const char *host,
                                                      uint16_t port)
{
    struct report_target_subject subject;
    if (p == NULL || !report_target_subject_init(&subject, target_spec, host, port))
        return NULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct report_policy_entry *e = &p->entries[i];
        for (size_t j = 0; j < e->n_patterns; j++)
            if (report_target_pattern_match(&e->patterns[j], &subject))
                return e;
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
