/* The target list as a stream: command-line targets, then each -i file line by line, each line
 * expanded over the port list and CIDR ranges one target at a time, so that a list of any length
 * is never held in memory. Only a set of 64-bit hashes (for duplicates) grows with the list. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"

/* One source line being expanded: a host or a range, times the ports (a URL has its port). */
struct expansion {
    bool active;
    struct probe_entry e; /* e.one.port 0: take the port list */
    uint64_t next_addr;
    size_t next_port;
    char text[PROBE_HOST_MAX + 64];
    char where[320];
};

#define INPUT_BUF (64 * 1024)
#define INPUT_LINE_MAX 4096 /* longer lines are bad lines, not a reason to allocate */

struct probe_input {
    struct probe_input_opts opts;
    size_t next_arg, next_file;
    int fd;          /* the file being read, -1 between files */
    bool fd_is_file; /* a regular file: reads never wait */
    const char *path;
    unsigned long lineno;
    char buf[INPUT_BUF]; /* buf[off .. len) not yet consumed */
    size_t off, len;
    bool eof;
    bool skipping; /* inside a line longer than INPUT_LINE_MAX */
    char line[INPUT_LINE_MAX + 1];
    struct expansion ex;
    bool ended;
    uint64_t count;
    struct tls_hashset seen; /* hashes of the targets handed out */
};

uint64_t probe_hash(const char *s, uint64_t seed)
{
    /* mixed, so that shards by h % n are even */
    return tls_hash_mix(tls_fnv1a_str(s, TLS_FNV1A_OFFSET ^ seed));
}

#define SHARD_SEED 0x73686172640aULL /* "shard" */
#define DEDUP_SEED 0x64656475700aULL /* "dedup" */

int probe_input_new(struct probe_input **out, const struct probe_input_opts *opts)
{
    struct probe_input *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return TLS_E_NOMEM;
    in->opts = *opts;
    in->fd = -1;
    tls_hashset_init(&in->seen);
    *out = in;
    return 0;
}

void probe_input_free(struct probe_input *in)
{
    if (in == NULL)
        return;
    if (in->fd > 0)
        close(in->fd);
    tls_hashset_free(&in->seen);
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
    ex->active = false;
    ex->next_addr = 0;
    ex->next_port = 0;
    probe_entry_shown(ex->text, sizeof(ex->text), text);
    tls_escape_term(ex->where, sizeof(ex->where), where, TLS_ESCAPE_ASCII);
    const char *why = NULL;
    int rc = probe_entry_parse(text, in->opts.cidr_max, NULL, &ex->e, &why);
    /* a target or a range fits in text[]; a URL's path need not (it is not shown) */
    if (strlen(text) >= sizeof(ex->text) && rc == 0 && !ex->e.is_url) {
        rc = TLS_E_TARGET;
        why = "line too long";
    }
    if (rc) {
        if (!in_shard(in, text))
            return 0;
        memset(item, 0, sizeof(*item));
        snprintf(item->error, sizeof(item->error), "%s",
                 strcmp(text, "(line too long)") == 0 ? "line longer than 4096 bytes" : why);
        snprintf(item->text, sizeof(item->text), "%s", ex->text);
        snprintf(item->where, sizeof(item->where), "%s", ex->where);
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
    bool is_cidr = ex->e.is_cidr;
    uint16_t fixed = is_cidr ? ex->e.cidr.port : ex->e.one.port;
    size_t n_ports = fixed ? 1 : in->opts.n_ports;
    uint64_t n_addrs = is_cidr ? ex->e.cidr.count : 1;
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
        if (is_cidr) {
            probe_cidr_address(&ex->e.cidr, ex->next_addr, port, &item->spec);
        } else {
            item->spec = ex->e.one;
            item->spec.port = port;
            probe_target_spec_name(&item->spec);
        }
        if (!in_shard(in, item->spec.spec))
            continue;
        item->starttls = ex->e.is_url                             ? ex->e.starttls
                         : in->opts.starttls != TLS_STARTTLS_NONE ? in->opts.starttls
                         : in->opts.starttls_ports                ? tls_starttls_for_port(port)
                                                                  : TLS_STARTTLS_NONE;
        item->by_port =
            !ex->e.is_url && in->opts.starttls == TLS_STARTTLS_NONE && in->opts.starttls_ports;
        /* smtp://h:25 and https://h:25 are two targets; h:25 twice is one */
        int fresh =
            tls_hashset_add(&in->seen, probe_hash(item->spec.spec, DEDUP_SEED + item->starttls));
        if (fresh < 0)
            return fresh;
        if (fresh == 0)
            continue; /* the same target twice: probed once */
        snprintf(item->text, sizeof(item->text), "%s", ex->text);
        snprintf(item->where, sizeof(item->where), "%s", ex->where);
        item->path = ex->e.path[0] ? ex->e.path : NULL;
        item->ignored = ex->e.ignored;
        in->count++;
        return 1;
    }
    return 0;
}

static int open_next_file(struct probe_input *in)
{
    in->path = in->opts.files[in->next_file++];
    in->lineno = 0;
    in->off = in->len = 0;
    in->eof = false;
    in->skipping = false;
    if (strcmp(in->path, "-") == 0) {
        in->fd = STDIN_FILENO;
    } else if ((in->fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "caprobe: cannot open %s: %s\n", in->path, strerror(errno));
        return TLS_E_IO;
    }
    struct stat st;
    in->fd_is_file = fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
    return 0;
}

static void close_file(struct probe_input *in)
{
    if (in->fd > 0)
        close(in->fd);
    in->fd = -1;
}

/* More bytes into buf: 1 when some came, 0 at the end of the file, 2 when a pipe or terminal
 * has nothing yet (the scan goes on and asks again), TLS_E_IO on a read error. */
static int fill(struct probe_input *in)
{
    if (in->off) {
        memmove(in->buf, in->buf + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    if (!in->fd_is_file) {
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
        int r = poll(&pfd, 1, 0);
        if (r == 0)
            return 2;
        if (r < 0 && errno != EINTR)
            return TLS_E_IO;
        if (r < 0)
            return 2;
    }
    ssize_t n;
    do
        n = read(in->fd, in->buf + in->len, sizeof(in->buf) - in->len);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 2;
        fprintf(stderr, "caprobe: reading %s: %s\n", in->path, strerror(errno));
        return TLS_E_IO;
    }
    if (n == 0)
        return 0;
    in->len += (size_t)n;
    return 1;
}

/* The next non-empty line of the input files, comments and blanks removed: 1 with *text, 0 at
 * the end of all files, 2 when input is not there yet, TLS_E_IO. A line longer than
 * INPUT_LINE_MAX comes back as the text "(line too long)" so that it becomes an error record. */
static int next_line(struct probe_input *in, const char **text, char *where, size_t where_cap)
{
    for (;;) {
        if (in->fd < 0) {
            if (in->next_file == in->opts.n_files)
                return 0;
            int rc = open_next_file(in);
            if (rc)
                return rc;
        }
        char *start = in->buf + in->off;
        char *nl = memchr(start, '\n', in->len - in->off);
        size_t line_len;
        if (nl) {
            line_len = (size_t)(nl - start);
        } else if (in->eof) {
            if (in->off == in->len) {
                close_file(in);
                continue;
            }
            line_len = in->len - in->off; /* a last line without a newline */
        } else {
            if (in->len - in->off > INPUT_LINE_MAX) {
                in->skipping = true; /* drop the rest of this line as it comes */
                in->off = in->len;
            }
            int rc = fill(in);
            if (rc == 0)
                in->eof = true;
            if (rc == 2 || rc < 0)
                return rc;
            continue;
        }
        in->off += line_len + (nl ? 1 : 0);
        in->lineno++;
        snprintf(where, where_cap, "%s:%lu", strcmp(in->path, "-") == 0 ? "<stdin>" : in->path,
                 in->lineno);
        if (in->skipping || line_len > INPUT_LINE_MAX) {
            in->skipping = false;
            *text = "(line too long)";
            return 1;
        }
        memcpy(in->line, start, line_len);
        in->line[line_len] = 0;
        char *s = in->line;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = 0;
        if (*s == 0)
            continue;
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
            if (rc != 1) {
                in->ended = rc == 0;
                return rc;
            }
        }
        if (expansion_start(in, text, where, item))
            return 1;
    }
}
