/* Renderers and (later) the rule engine. The input is one target's observations; this module
 * sees neither sockets nor mbedTLS, only the types of tls/observation.h. */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tls/wire/observation.h"

#define REPORT_SCHEMA "caprobe/1"

/* Everything known about one target after all its variants ran. */
struct report_target {
    const char *target; /* as the user wrote it */
    const char *host;   /* name or address, without brackets */
    uint16_t port;
    const char *input_error; /* the target could not be parsed: no observations */
    struct tls_observation *const *obs;
    size_t n_obs;
    const struct report_findings *findings; /* NULL: none computed */
};

struct report_findings;

enum report_format {
    REPORT_TEXT,
    REPORT_JSONL,
    REPORT_JSONL_COMPACT, /* JSON Lines without each name's "der" (docs/output.md) */
};

struct report_jsonl_cache;

struct report_opts {
    enum report_format format;
    bool color;
    struct report_jsonl_cache *jsonl_cache; /* optional: rendered CA names reused */
};

/* Rendered CA names kept across records, up to max_bytes. */
int report_jsonl_cache_new(struct report_jsonl_cache **out, size_t max_bytes);
void report_jsonl_cache_free(struct report_jsonl_cache *c);

/* Write one target's record. JSON Lines: one line, flushed. Returns 0 or TLS_E_IO/TLS_E_NOMEM. */
int report_target_write(FILE *out, const struct report_opts *opts, const struct report_target *t);
int report_jsonl_write(FILE *out, const struct report_opts *opts, const struct report_target *t);
int report_text_write(FILE *out, const struct report_opts *opts, const struct report_target *t);

/* Base64 (RFC 4648 4) of p/n into out, which must hold 4 * ((n + 2) / 3) + 1 bytes. */
void report_base64(const uint8_t *p, size_t n, char *out);

#endif
