/* The exporter's configuration (docs/exporter.md): YAML read through report/yamldoc.h, errors as
 * CONFIG:LINE:COLUMN. A module's options are caprobe's own long options written without their
 * dashes; each is handed to the command-line parser (probe_config_parse) so that it means and
 * checks exactly what it does on the command line, and a value it refuses is told at its place
 * in the file. Certificate files, public roots and policies are loaded here, before the exporter
 * listens: a request never reads a file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"
#include "report/yamldoc.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/minmax.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_ARENA_CAP (16u * 1024 * 1024)
#define OPTION_ARGS_MAX 256 /* arguments one module's options make at most */
#define DEFAULT_CONCURRENCY 4
#define DEFAULT_QUEUE 16
#define DEFAULT_CONNECTIONS 64
#define DEFAULT_MARGIN_MS 500
#define DEFAULT_READ_TIMEOUT_MS 10000
/* Two round trips of 250 ms, a long path's: the TCP connect, then ClientHello to the end of the
 * server's first flight, which is where a probe without --request stops. */
#define DEFAULT_MIN_PROBE_MS 500

static const struct report_yaml_kind config_kind = {
    .noun = "configuration",
    .size_note = "an exporter's configuration is a few kilobytes",
    .empty = "empty configuration: expected a mapping with 'modules'",
    .star_quote = "allow: \"*.example.com:443\"",
    .nodes_max = 64 * 1024,
    .depth_max = 16,
    .depth_needed = 4,
    .bytes_max = CONFIG_MAX_BYTES,
};

/* The options a module may set: caprobe's long options that shape one target's probes and
 * rules. Output, input, scan-wide limits and --baseline are the exporter's own business. */
enum opt_kind {
    OPT_VALUE, /* --NAME=VALUE; a list is joined with commas (tls: [1.2, 1.3]) */
    OPT_EACH,  /* --NAME=ITEM per item */
    OPT_FLAG,  /* true: --NAME; false: nothing */
    OPT_FILE,  /* --NAME=FILE, relative to the configuration's folder */
    OPT_FILES, /* --NAME=FILE per item */
};

static const struct {
    const char *name;
    enum opt_kind kind;
} module_options[] = {
    {"tls", OPT_VALUE},         {"client-hello", OPT_VALUE},    {"sni", OPT_VALUE},
    {"request", OPT_VALUE},     {"starttls", OPT_VALUE},        {"ports", OPT_VALUE},
    {"timeout", OPT_VALUE},     {"connect-timeout", OPT_VALUE}, {"handshake-timeout", OPT_VALUE},
    {"retries", OPT_VALUE},     {"capture-limit", OPT_VALUE},   {"resolve", OPT_EACH},
    {"dns-server", OPT_EACH},   {"dns-timeout", OPT_VALUE},     {"ipv4", OPT_FLAG},
    {"ipv6", OPT_FLAG},         {"expect-ca", OPT_FILES},       {"client-cert", OPT_FILE},
    {"public-roots", OPT_FILE}, {"policy", OPT_FILE},
};
#define N_MODULE_OPTIONS (sizeof(module_options) / sizeof(module_options[0]))
_Static_assert(N_MODULE_OPTIONS <= REPORT_YAML_KEYS_MAX, "a mapping has 32 keys at most");

struct loader {
    struct report_yaml y;
    struct probe_exporter_config *c;
    const char *dir; /* of the configuration, NULL: the current folder */
};

static int nomem(struct loader *l)
{
    return report_yaml_fail(&l->y, TLS_E_NOMEM, 0, 0, "out of memory");
}

/* The keys of mapping m, each one of names and at most once: seen[i] the value node of names[i]
 * (NULL when absent). */
static int read_keys(struct loader *l, const yaml_node_t *m, const char *where,
                     const char *const *names, size_t n, const yaml_node_t **seen)
{
    struct report_yaml_keys keys = {.names = names, .n = n, .where = where};
    return report_yaml_keys(&l->y, m, &keys, seen);
}

static int read_uint(struct loader *l, const yaml_node_t *v, const char *key, unsigned min,
                     unsigned max, unsigned *out)
{
    const char *s = report_yaml_plain(v);
    char *end;
    errno = 0;
    unsigned long long n = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
    if (s == NULL || *s < '0' || *s > '9' || errno || *end || n < min || n > max)
        return report_yaml_got(&l->y, v, "'%s' expects a number from %u to %u", key, min, max);
    *out = (unsigned)n;
    return 0;
}

static int read_bool(struct loader *l, const yaml_node_t *v, const char *key, bool *out)
{
    const char *s = report_yaml_plain(v);
    if (s == NULL || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
        return report_yaml_got(&l->y, v, "'%s' expects true or false", key);
    *out = strcmp(s, "true") == 0;
    return 0;
}

/* Seconds from 0 to max as milliseconds. */
static int read_seconds(struct loader *l, const yaml_node_t *v, const char *key, double min,
                        double max, uint64_t *ms)
{
    const char *s = report_yaml_plain(v);
    char *end;
    double d = s ? strtod(s, &end) : -1;
    if (s == NULL || end == s || *end || !(d >= min && d <= max))
        return report_yaml_got(&l->y, v, "'%s' expects seconds from %g to %g", key, min, max);
    *ms = (uint64_t)(d * 1000 + 0.5);
    return 0;
}

static int read_limits(struct loader *l, const yaml_node_t *v)
{
    static const char *const names[] = {"concurrency",    "queue",        "connections",
                                        "timeout_margin", "read_timeout", "min_probe_time"};
    const yaml_node_t *seen[6];
    if (v->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, v, "'limits' expects a mapping");
    int rc = read_keys(l, v, "in 'limits'", names, 6, seen);
    if (rc == 0 && seen[0])
        rc = read_uint(l, seen[0], "concurrency", 1, 1024, &l->c->concurrency);
    if (rc == 0 && seen[1])
        rc = read_uint(l, seen[1], "queue", 0, 65536, &l->c->queue);
    if (rc == 0 && seen[2])
        rc = read_uint(l, seen[2], "connections", 1, 65536, &l->c->connections);
    if (rc == 0 && seen[3])
        rc = read_seconds(l, seen[3], "timeout_margin", 0, 60, &l->c->margin_ms);
    if (rc == 0 && seen[4])
        rc = read_seconds(l, seen[4], "read_timeout", 0.1, 300, &l->c->read_timeout_ms);
    if (rc == 0 && seen[5])
        rc = read_seconds(l, seen[5], "min_probe_time", 0, 60, &l->c->min_probe_ms);
    return rc;
}

/* A file named in the configuration, relative to its folder. */
static const char *config_path(struct loader *l, const char *path)
{
    if (path[0] == '/' || l->dir == NULL)
        return tls_arena_strdup(&l->c->arena, path);
    return tls_arena_printf(&l->c->arena, "%s/%s", l->dir, path);
}

/* The arguments one option makes, appended to args (from *n on). */
static int option_args(struct loader *l, const yaml_node_t *v, size_t k, const char **args,
                       size_t *n)
{
    const char *name = module_options[k].name;
    enum opt_kind kind = module_options[k].kind;
    if (kind == OPT_FLAG) {
        bool on;
        int rc = read_bool(l, v, name, &on);
        if (rc || !on)
            return rc;
        args[(*n)++] = tls_arena_printf(&l->c->arena, "--%s", name);
        return args[*n - 1] == NULL ? nomem(l) : 0;
    }
    if (kind == OPT_FILE && v->type != YAML_SCALAR_NODE)
        return report_yaml_got(&l->y, v, "'%s' expects a file name", name);
    char joined[4096];
    size_t used = 0, i = 0;
    const yaml_node_t *item;
    int rc;
    while ((rc = report_yaml_list_next(&l->y, v, name, "a value or a list of values", &i, &item)) ==
           1) {
        const char *s;
        if ((rc = report_yaml_str(&l->y, item, &s)))
            return rc;
        if (kind == OPT_VALUE) { /* joined below */
            int w = snprintf(joined + used, sizeof(joined) - used, "%s%s", used ? "," : "", s);
            if (w < 0 || (size_t)w >= sizeof(joined) - used)
                return report_yaml_got(&l->y, v, "'%s' expects a shorter value", name);
            used += (size_t)w;
            continue;
        }
        if (*n + 1 >= OPTION_ARGS_MAX)
            return REPORT_YAML_FAIL_AT(&l->y, item->start_mark,
                                       "a module takes at most %d option values",
                                       OPTION_ARGS_MAX - 2);
        const char *val = kind == OPT_EACH ? s : config_path(l, s);
        if (val == NULL ||
            (args[*n] = tls_arena_printf(&l->c->arena, "--%s=%s", name, val)) == NULL)
            return nomem(l);
        (*n)++;
    }
    if (rc)
        return rc;
    if (kind == OPT_VALUE) {
        if (used == 0)
            return report_yaml_got(&l->y, v, "'%s' expects a value", name);
        if ((args[*n] = tls_arena_printf(&l->c->arena, "--%s=%s", name, joined)) == NULL)
            return nomem(l);
        (*n)++;
    }
    return 0;
}

/* The command-line parser over args (argv[0] and a placeholder target added), into cfg; its
 * complaint, without the "caprobe: " and the hint to --help, in why. */
static int parse_args(struct probe_config *cfg, const char **args, size_t n, char *why,
                      size_t why_cap)
{
    char *argv[OPTION_ARGS_MAX + 2];
    argv[0] = (char *)"caprobe";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = (char *)"127.0.0.1"; /* the parser wants a target; a request brings its own */
    argv[n + 2] = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    if (err == NULL)
        return TLS_E_NOMEM;
    optind = 0; /* getopt_long starts over */
    int rc = probe_config_parse(cfg, (int)n + 2, argv, err);
    fclose(err);
    cfg->targets = NULL; /* they were this argv's, gone on return; a request brings its own */
    cfg->n_targets = 0;
    const char *msg = text ? text : "";
    if (strncmp(msg, "caprobe: ", 9) == 0)
        msg += 9;
    snprintf(why, why_cap, "%.*s", (int)strcspn(msg, "\n"), msg);
    free(text);
    return rc;
}

static int read_options(struct loader *l, const yaml_node_t *v, struct probe_exporter_module *m)
{
    const char *names[N_MODULE_OPTIONS];
    const yaml_node_t *seen[N_MODULE_OPTIONS];
    for (size_t i = 0; i < N_MODULE_OPTIONS; i++)
        names[i] = module_options[i].name;
    if (v->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, v,
                               "'options' expects a mapping of caprobe options (without their "
                               "dashes) to values");
    int rc = read_keys(l, v, "in 'options' (caprobe's options a module may set)", names,
                       N_MODULE_OPTIONS, seen);
    const char **args = tls_arena_alloc(&l->c->arena, OPTION_ARGS_MAX * sizeof(*args));
    if (rc == 0 && args == NULL)
        return nomem(l);
    size_t n = 0;
    char why[512];
    /* each option alone first, so that a refused value is told where it stands */
    for (size_t k = 0; rc == 0 && k < N_MODULE_OPTIONS; k++) {
        if (seen[k] == NULL)
            continue;
        size_t first = n;
        if ((rc = option_args(l, seen[k], k, args, &n)) || n == first)
            continue;
        struct probe_config scratch;
        probe_config_init(&scratch);
        if (parse_args(&scratch, args + first, n - first, why, sizeof(why)))
            rc = REPORT_YAML_FAIL_AT(&l->y, seen[k]->start_mark, "module '%s': %s", m->name, why);
        probe_config_free(&scratch);
    }
    if (rc == 0 && parse_args(&m->cfg, args, n, why, sizeof(why)))
        rc = REPORT_YAML_FAIL_AT(&l->y, v->start_mark, "module '%s': %s", m->name, why);
    return rc;
}

static int read_allow(struct loader *l, const yaml_node_t *v, struct probe_exporter_module *m)
{
    static const char expects[] =
        "a list of targets it may probe: host:port globs, addresses or CIDR ranges";
    int rc = report_yaml_patterns(&l->y, v, "allow", expects, &l->c->arena, &m->allow, &m->n_allow);
    if (rc == TLS_E_NOMEM)
        return nomem(l);
    if (rc == 0 && m->n_allow == 0)
        return report_yaml_got(&l->y, v,
                               "'allow' expects at least one pattern (a module that may probe "
                               "nothing serves no purpose)");
    /* a pattern that names no target turns an exporter anyone reaches into their scanner: only
     * where the module says so in so many words (docs/exporter.md) */
    for (size_t i = 0; rc == 0 && !m->allow_any && i < m->n_allow; i++) {
        if (!report_target_pattern_open(&m->allow[i]))
            continue;
        const yaml_node_t *at = v->type == YAML_SEQUENCE_NODE
                                    ? report_yaml_node(&l->y, v->data.sequence.items.start[i])
                                    : v;
        char shown[REPORT_TARGET_PATTERN_MAX * 4 + 1];
        return REPORT_YAML_FAIL_AT(
            &l->y, at->start_mark,
            "module '%s': 'allow' pattern '%s' names no target (%s), so anyone who reaches the "
            "exporter could have it probe any host; list the hosts, domains or ranges it may "
            "probe, or write 'allow_any: true' in the module to let it probe any target on purpose",
            m->name, tls_escape_term(shown, sizeof(shown), m->allow[i].text, 0),
            m->allow[i].glob ? "its host part is wildcards alone" : "a range of every address");
    }
    return rc;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > EXPORTER_MODULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
            return false;
    return true;
}

static int read_module(struct loader *l, const yaml_node_t *k, const yaml_node_t *v,
                       struct probe_exporter_module *m)
{
    static const char *const names[] = {"options", "allow", "allow_paths", "allow_any"};
    const yaml_node_t *seen[4];
    const char *name;
    int rc = report_yaml_str(&l->y, k, &name);
    if (rc)
        return rc;
    if (!name_ok(name))
        return report_yaml_got(&l->y, k,
                               "a module's name is 1 to %d letters, digits, '_', '.' or '-'",
                               EXPORTER_MODULE_NAME_MAX);
    m->name = name; /* in the document while it is loaded; copied below */
    if (v->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, v, "module '%s' expects a mapping with 'allow' and 'options'",
                               name);
    if ((rc = read_keys(l, v, "in a module", names, 4, seen)))
        return rc;
    if (seen[2] && (rc = read_bool(l, seen[2], "allow_paths", &m->allow_paths)))
        return rc;
    if (seen[3] && (rc = read_bool(l, seen[3], "allow_any", &m->allow_any)))
        return rc;
    if (seen[1] == NULL)
        return REPORT_YAML_FAIL_AT(&l->y, v->start_mark,
                                   "module '%s' has no 'allow': the targets it may probe must be "
                                   "listed",
                                   name);
    m->name = tls_arena_strdup(&l->c->arena, name);
    m->where = tls_arena_printf(&l->c->arena, "%s:%zu:%zu", l->y.name, k->start_mark.line + 1,
                                k->start_mark.column + 1);
    if (m->name == NULL || m->where == NULL)
        return nomem(l);
    if (seen[0] && (rc = read_options(l, seen[0], m)))
        return rc;
    if (seen[0] == NULL) { /* the defaults of the command line */
        char why[512];
        if (parse_args(&m->cfg, NULL, 0, why, sizeof(why)))
            return REPORT_YAML_FAIL_AT(&l->y, v->start_mark, "module '%s': %s", name, why);
    }
    return read_allow(l, seen[1], m);
}

static int read_modules(struct loader *l, const yaml_node_t *v)
{
    struct probe_exporter_config *c = l->c;
    if (report_yaml_is_null(v) ||
        (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top == v->data.mapping.pairs.start))
        return REPORT_YAML_FAIL_AT(
            &l->y, v->start_mark,
            "'modules' defines no module, and every /probe request names one: the options it "
            "probes with and the targets it may probe. Define at least one, e.g. "
            "modules: {default: {allow: [\"app.example.com:443\"]}} (docs/exporter.md)");
    if (v->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, v, "'modules' expects a mapping of module names to modules");
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if ((c->modules = calloc(n, sizeof(*c->modules))) == NULL)
        return nomem(l);
    for (const yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = report_yaml_node(&l->y, pr->key);
        struct probe_exporter_module *m = &c->modules[c->n_modules];
        if (k->type != YAML_SCALAR_NODE)
            return report_yaml_got(&l->y, k, "expected a module's name");
        for (size_t i = 0; i < c->n_modules; i++)
            if (strcmp(c->modules[i].name, (const char *)k->data.scalar.value) == 0)
                return REPORT_YAML_FAIL_AT(&l->y, k->start_mark,
                                           "module '%s' is given twice (first at %s)",
                                           c->modules[i].name, c->modules[i].where);
        probe_config_init(&m->cfg);
        probe_expect_init(&m->expect);
        report_context_init(&m->rules);
        c->n_modules++;
        int rc = read_module(l, k, report_yaml_node(&l->y, pr->value), m);
        if (rc)
            return rc;
    }
    return 0;
}

static int read_config(struct loader *l)
{
    static const char *const names[] = {"modules", "limits"};
    const yaml_node_t *seen[2], *root = report_yaml_root(&l->y);
    if (root->type != YAML_MAPPING_NODE)
        return report_yaml_got(&l->y, root, "the top level expects a mapping with 'modules'");
    int rc = read_keys(l, root, "at the top level", names, 2, seen);
    if (rc == 0 && seen[0] == NULL)
        rc = REPORT_YAML_FAIL_AT(&l->y, root->start_mark,
                                 "no 'modules': the exporter probes with the options of a module");
    if (rc == 0 && seen[1])
        rc = read_limits(l, seen[1]);
    if (rc == 0)
        rc = read_modules(l, seen[0]);
    return rc;
}

/* What each module's rules compare against: its certificate files and policy. */
static int load_files(struct probe_exporter_config *c)
{
    for (size_t i = 0; i < c->n_modules; i++) {
        struct probe_exporter_module *m = &c->modules[i];
        const struct probe_config *o = &m->cfg;
        if (probe_expect_load(&m->expect, o->expect_files, o->n_expect, o->client_cert,
                              o->public_roots) != 0 ||
            (o->policy_file && probe_policy_load(&m->policy, o->policy_file) != 0)) {
            fprintf(stderr, "caprobe: %s: module '%s': a file it names cannot be used (above)\n",
                    m->where, m->name);
            return PROBE_EXIT_USAGE;
        }
        probe_expect_apply(&m->expect, &m->rules);
    }
    return 0;
}

int probe_exporter_config_load(struct probe_exporter_config *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    tls_arena_init(&c->arena, CONFIG_ARENA_CAP);
    c->concurrency = DEFAULT_CONCURRENCY;
    c->queue = DEFAULT_QUEUE;
    c->connections = DEFAULT_CONNECTIONS;
    c->margin_ms = DEFAULT_MARGIN_MS;
    c->read_timeout_ms = DEFAULT_READ_TIMEOUT_MS;
    c->min_probe_ms = DEFAULT_MIN_PROBE_MS;
    char err[2048];
    err[0] = 0;
    struct loader l = {
        .y = {.kind = &config_kind, .name = path, .err = err, .err_cap = sizeof(err)}, .c = c};
    const char *slash = strrchr(path, '/');
    if (slash)
        l.dir = tls_arena_printf(&c->arena, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = slash && l.dir == NULL ? nomem(&l) : report_yaml_read(&l.y, &buf, &n);
    l.y.text = buf;
    l.y.len = n;
    if (rc == 0 && (rc = report_yaml_open(&l.y)) == 0) {
        rc = read_config(&l);
        report_yaml_close(&l.y);
    }
    free(buf);
    if (rc) {
        fprintf(stderr, "caprobe: %s\n", err);
        return PROBE_EXIT_USAGE;
    }
    return load_files(c);
}

void probe_exporter_config_free(struct probe_exporter_config *c)
{
    for (size_t i = 0; i < c->n_modules; i++) {
        probe_policy_free(c->modules[i].policy);
        probe_expect_free(&c->modules[i].expect);
        probe_config_free(&c->modules[i].cfg);
    }
    free(c->modules);
    tls_arena_free(&c->arena);
    memset(c, 0, sizeof(*c));
}

void probe_exporter_config_notes(const struct probe_exporter_config *c, const char *path, FILE *f)
{
    char shown[REPORT_TARGET_PATTERN_MAX * 4 + 1];
    for (size_t i = 0; i < c->n_modules; i++) {
        const struct probe_exporter_module *m = &c->modules[i];
        for (size_t j = 0; j < m->n_allow; j++)
            if (m->allow_any && report_target_pattern_open(&m->allow[j]))
                fprintf(f,
                        "%s: module '%s': warning: 'allow' pattern '%s' names no target and "
                        "'allow_any' is true: the module probes any target it is asked for, so "
                        "only Prometheus may reach the exporter\n",
                        m->where, m->name,
                        tls_escape_term(shown, sizeof(shown), m->allow[j].text, 0));
    }
    for (size_t i = 0; i < c->n_modules; i++)
        for (size_t j = 0; j < c->modules[i].n_allow; j++)
            if (c->modules[i].allow[j].addr_glob)
                fprintf(f,
                        "%s: module '%s': note: 'allow' pattern '%s' looks like an address, so "
                        "it allows targets written as addresses only, never a host name that "
                        "starts alike (127.0.0.evil.example); a CIDR range says the same exactly "
                        "(10.0.0.0/24, 10.0.0.0/24:443)\n",
                        path, c->modules[i].name,
                        tls_escape_term(shown, sizeof(shown), c->modules[i].allow[j].text, 0));
}

uint64_t probe_exporter_min_left(const struct probe_exporter_config *c,
                                 const struct probe_exporter_module *m)
{
    const struct probe_opts *o = &m->cfg.scan;
    uint64_t need = tls_min_u64(o->connect_timeout_ms + o->handshake_timeout_ms, o->timeout_ms);
    return tls_min_u64(c->min_probe_ms, need);
}

const struct probe_exporter_module *
probe_exporter_module_find(const struct probe_exporter_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_modules; i++)
        if (strcmp(c->modules[i].name, name) == 0)
            return &c->modules[i];
    return NULL;
}

bool probe_exporter_allowed(const struct probe_exporter_module *m,
                            const struct probe_target_spec *t)
{
    struct report_target_subject s;
    if (!report_target_subject_init(&s, t->spec, t->host, t->port))
        return false;
    for (size_t i = 0; i < m->n_allow; i++)
        if (report_target_pattern_match(&m->allow[i], &s))
            return true;
    return false;
}
