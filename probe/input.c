/* The target list as a stream: command-line targets, then each -i file line by line, each line
 * expanded over the port list and CIDR ranges one target at a time, so that a list of any length
 * is never held in memory. Only a set of 64-bit hashes (for duplicates) grows with the list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "tls/error.h"

/* One source line being expanded: a host or a range, times the ports. */
struct expansion {
    bool active;
    bool is_cidr;
    struct probe_target_spec one; /* port 0: take the port list */
    struct probe_cidr cidr;
    uint64_t next_addr;
    size_t next_port;
    char text[PROBE_HOST_MAX + 64];
    char where[320];
};

struct probe_input {
    struct probe_input_opts opts;
    size_t next_arg, next_file;
    FILE *f;
    const char *path;
    unsigned long lineno;
    char *line;
    size_t line_cap;
    struct expansion ex;
    bool ended;
    uint64_t count;
    /* open-addressing set of target hashes; 0 marks an empty slot */
    uint64_t *seen;
    size_t seen_cap, seen_len;
};

uint64_t probe_hash(const char *s, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    /* final avalanche (splitmix64) so that shards by h % n are even */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

#define SHARD_SEED 0x73686172640aULL /* "shard" */
#define DEDUP_SEED 0x64656475700aULL /* "dedup" */

int probe_input_new(struct probe_input **out, const struct probe_input_opts *opts)
{
    struct probe_input *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return TLS_E_NOMEM;
    in->opts = *opts;
    *out = in;
    return 0;
}

void probe_input_free(struct probe_input *in)
{
    if (in == NULL)
        return;
    if (in->f && in->f != stdin)
        fclose(in->f);
    free(in->line);
    free(in->seen);
    free(in);
}

uint64_t probe_input_count(const struct probe_input *in)
{
    return in->count;
}

bool probe_input_ended(const struct probe_input *in)
{
    return in->ended;
}

/* Insert h; 1 when it was new, 0 when seen before, <0 out of memory. */
static int seen_add(struct probe_input *in, uint64_t h)
{
    if (h == 0)
        h = 1;
    if (2 * (in->seen_len + 1) > in->seen_cap) {
        size_t cap = in->seen_cap ? 2 * in->seen_cap : 1024;
        uint64_t *t = calloc(cap, sizeof(*t));
        if (t == NULL)
            return TLS_E_NOMEM;
        for (size_t i = 0; i < in->seen_cap; i++) {
            if (in->seen[i] == 0)
                continue;
            size_t j = in->seen[i] & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = in->seen[i];
        }
        free(in->seen);
        in->seen = t;
        in->seen_cap = cap;
    }
    size_t j = h & (in->seen_cap - 1);
    while (in->seen[j]) {
        if (in->seen[j] == h)
            return 0;
        j = (j + 1) & (in->seen_cap - 1);
    }
    in->seen[j] = h;
    in->seen_len++;
    return 1;
}

static bool in_shard(const struct probe_input *in, const char *key)
{
    if (in->opts.shard_n == 0)
        return true;
    return probe_hash(key, SHARD_SEED) % in->opts.shard_n == in->opts.shard_k - 1;
}

/* Start expanding text; a bad one becomes an error item right away (returns 1). */
static int expansion_start(struct probe_input *in, const char *text, const char *where,
                           struct probe_input_item *item)
{
    struct expansion *ex = &in->ex;
    memset(ex, 0, sizeof(*ex));
    snprintf(ex->text, sizeof(ex->text), "%s", text);
    snprintf(ex->where, sizeof(ex->where), "%s", where);
    const char *why = NULL;
    int rc;
    if (strchr(text, '/')) {
        ex->is_cidr = true;
        rc = probe_cidr_parse(text, &ex->cidr, in->opts.cidr_max, &why);
    } else {
        rc = probe_target_parse(text, 0, &ex->one, &why);
    }
    if (strlen(text) >= sizeof(ex->text) && rc == 0) {
        rc = TLS_E_TARGET;
        why = "line too long";
    }
    if (rc) {
        if (!in_shard(in, text))
            return 0;
        memset(item, 0, sizeof(*item));
        item->error = why;
        snprintf(item->text, sizeof(item->text), "%s", text);
        snprintf(item->where, sizeof(item->where), "%s", where);
        in->count++;
        return 1;
    }
    ex->active = true;
    return 0;
}

/* The next target of the current expansion: 1 with *item, 0 when it is exhausted. */
static int expansion_next(struct probe_input *in, struct probe_input_item *item)
{
    struct expansion *ex = &in->ex;
    uint16_t fixed = ex->is_cidr ? ex->cidr.port : ex->one.port;
    size_t n_ports = fixed ? 1 : in->opts.n_ports;
    uint64_t n_addrs = ex->is_cidr ? ex->cidr.count : 1;
    while (ex->active) {
        if (ex->next_port == n_ports) {
            ex->next_port = 0;
            ex->next_addr++;
        }
        if (ex->next_addr == n_addrs) {
            ex->active = false;
            break;
        }
        uint16_t port = fixed ? fixed : in->opts.ports[ex->next_port];
        ex->next_port++;
        memset(item, 0, sizeof(*item));
        if (ex->is_cidr) {
            probe_cidr_address(&ex->cidr, ex->next_addr, port, &item->spec);
        } else {
            item->spec = ex->one;
            item->spec.port = port;
            probe_target_spec_name(&item->spec);
        }
        if (!in_shard(in, item->spec.spec))
            continue;
        int fresh = seen_add(in, probe_hash(item->spec.spec, DEDUP_SEED));
        if (fresh < 0)
            return fresh;
        if (fresh == 0)
            continue; /* the same target twice: probed once */
        snprintf(item->text, sizeof(item->text), "%s", ex->text);
        snprintf(item->where, sizeof(item->where), "%s", ex->where);
        in->count++;
        return 1;
    }
    return 0;
}

/* The next non-empty line of the input files, comments and blanks removed. */
static int next_line(struct probe_input *in, const char **text, char *where, size_t where_cap)
{
    for (;;) {
        if (in->f == NULL) {
            if (in->next_file == in->opts.n_files)
                return 0;
            in->path = in->opts.files[in->next_file++];
            in->f = strcmp(in->path, "-") == 0 ? stdin : fopen(in->path, "r");
            in->lineno = 0;
            if (in->f == NULL) {
                fprintf(stderr, "caprobe: cannot open %s: %s\n", in->path, strerror(errno));
                return TLS_E_IO;
            }
        }
        errno = 0;
        ssize_t n = getline(&in->line, &in->line_cap, in->f);
        if (n < 0) {
            int failed = ferror(in->f);
            int err = errno;
            if (in->f != stdin)
                fclose(in->f);
            in->f = NULL;
            if (failed) {
                fprintf(stderr, "caprobe: reading %s: %s\n", in->path, strerror(err));
                return TLS_E_IO;
            }
            continue;
        }
        in->lineno++;
        char *s = in->line;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (*s == 0)
            continue;
        snprintf(where, where_cap, "%s:%lu", strcmp(in->path, "-") == 0 ? "<stdin>" : in->path,
                 in->lineno);
        *text = s;
        return 1;
    }
}

int probe_input_next(struct probe_input *in, struct probe_input_item *item)
{
    for (;;) {
        int rc = expansion_next(in, item);
        if (rc)
            return rc;
        const char *text;
        char where[320];
        if (in->next_arg < in->opts.n_args) {
            text = in->opts.args[in->next_arg];
            snprintf(where, sizeof(where), "argument %zu", in->next_arg + 1);
            in->next_arg++;
        } else {
            rc = next_line(in, &text, where, sizeof(where));
            if (rc <= 0) {
                in->ended = rc == 0;
                return rc;
            }
        }
        if (expansion_start(in, text, where, item))
            return 1;
    }
}
