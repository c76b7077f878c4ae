/* caprobe exporter (docs/exporter.md): the configuration (exportcfg.c) and the HTTP side
 * (exporter.c). A module is a named set of caprobe options with the targets it may probe; a
 * /probe request names a module and one target, which must match the module's allow list. */
#ifndef PROBE_EXPORTER_H
#define PROBE_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "report/policy.h"
#include "tls/wire/arena.h"

#define EXPORTER_MODULE_NAME_MAX 64

struct probe_exporter_module {
    const char *name;
    const char *where;          /* "CONFIG:LINE:COLUMN" of the module, for messages */
    struct probe_config cfg;    /* its options, as caprobe's command line reads them */
    struct probe_expect expect; /* what its rules compare against */
    struct probe_policy *policy;
    struct report_context rules; /* the context its expectations make; the policy on top */
    struct report_target_pattern *allow;
    size_t n_allow;
    bool allow_paths; /* a URL target may bring a path, query or fragment (--request's path) */
    bool allow_any;   /* an 'allow' pattern may name no target ("*"): it probes anything */
};

struct probe_exporter_config {
    struct tls_arena arena; /* strings, option lists, patterns */
    struct probe_exporter_module *modules;
    size_t n_modules;
    unsigned concurrency;     /* /probe requests probing at once */
    unsigned queue;           /* requests waiting for a slot at most */
    unsigned connections;     /* open HTTP connections at most */
    uint64_t margin_ms;       /* taken off Prometheus's scrape timeout */
    uint64_t read_timeout_ms; /* for a request's head to come whole */
    uint64_t min_probe_ms;    /* limits.min_probe_time: time left a scan starts with at least */
};

/* Read and check the configuration and load every file its modules name. Returns 0, or the exit
 * status of a usage error once it was told on stderr ("caprobe: CONFIG:LINE:COLUMN: ..."). */
int probe_exporter_config_load(struct probe_exporter_config *c, const char *path);
void probe_exporter_config_free(struct probe_exporter_config *c);
/* What a reader of the configuration at path should know and is no error (exporter --check,
 * and on standard error at start): each allow pattern that names no target in a module with
 * allow_any, which probes anything; each allow pattern that looks like an address, which allows
 * address literals only. */
void probe_exporter_config_notes(const struct probe_exporter_config *c, const char *path, FILE *f);
/* The least time before its deadline with which a request of module m starts scanning:
 * limits.min_probe_time, or less when the module's own deadlines say a probe of it takes less
 * (its connect and handshake timeouts together, its timeout). */
uint64_t probe_exporter_min_left(const struct probe_exporter_config *c,
                                 const struct probe_exporter_module *m);
/* The module named name, or NULL. */
const struct probe_exporter_module *
probe_exporter_module_find(const struct probe_exporter_config *c, const char *name);
/* Whether the module may probe the target (its host as written, its port). */
bool probe_exporter_allowed(const struct probe_exporter_module *m,
                            const struct probe_target_spec *t);

/* caprobe exporter ARGS (argv[0] is "exporter"): the exit status. */
int probe_exporter_main(int argc, char **argv);

#endif
