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
    REPORT_TEXT,          /* for people: verdict, findings, one header per answer, names */
    REPORT_JSONL,         /* docs/output.md */
    REPORT_JSONL_COMPACT, /* JSON Lines without each name's "der" (docs/output.md) */
    REPORT_ONELINE,       /* for people with fleets: one line per target, no names */
};

struct report_jsonl_cache;

/* CA names shown per list in the text report: every one. */
#define REPORT_NAMES_ALL SIZE_MAX

struct report_opts {
    enum report_format format;
    bool color;
    /* Text and one line: the columns of the terminal the report goes to; a longer line is cut
     * with an ellipsis. 0: not a terminal, nothing is cut. */
    unsigned width;
    /* Text and one line: each record starts by erasing the line it starts on ("\r\033[K"), where
     * the progress line of standard error stands when both go to one terminal. */
    bool erase_progress;
    size_t names; /* text: CA names shown per list (REPORT_NAMES_ALL: every one) */
    /* Text: set once the line that says where the whole fixes are was written (once a scan,
     * when a fix was cut to the width). NULL: written with every target that needs it. */
    bool *fix_hint_told;
    struct report_jsonl_cache *jsonl_cache; /* optional: rendered CA names reused */
};

/* Rendered CA names kept across records, up to max_bytes. */
int report_jsonl_cache_new(struct report_jsonl_cache **out, size_t max_bytes);
void report_jsonl_cache_free(struct report_jsonl_cache *c);

/* Write one target's record. JSON Lines: one line, flushed. Returns 0 or TLS_E_IO/TLS_E_NOMEM. */
int report_target_write(FILE *out, const struct report_opts *opts, const struct report_target *t);
int report_jsonl_write(FILE *out, const struct report_opts *opts, const struct report_target *t);
int report_text_write(FILE *out, const struct report_opts *opts, const struct report_target *t);
int report_oneline_write(FILE *out, const struct report_opts *opts, const struct report_target *t);

/* Columns s takes on a terminal once escaped (tls/wire/escape.h; East Asian wide characters
 * take two). */
unsigned report_text_cols(const char *s);

/* What a target comes to, first in the text report and counted by the scan's summary. */
enum report_verdict {
    REPORT_VERDICT_OK,         /* probed, no finding */
    REPORT_VERDICT_FINDINGS,   /* probed, at least one finding */
    REPORT_VERDICT_NOT_PROBED, /* an input error, or every probe failed (findings or not: such
                                * a target has probe-failed unless a policy turned it off) */
};
enum report_verdict report_target_verdict(const struct report_target *t);
/* An input error, or no probe of the target got an answer (every observation an error). */
bool report_target_unprobed(const struct report_target *t);
/* The protocol spoken before the TLS bytes ("smtp"; the same on every observation), or NULL for
 * TLS from the first byte. With "target" it names a record: smtp://mx:25 and mx:25 are two. */
static inline const char *report_target_starttls(const struct report_target *t)
{
    return t->n_obs ? t->obs[0]->starttls : NULL;
}

/* Base64 (RFC 4648 4) of p/n into out, which must hold 4 * ((n + 2) / 3) + 1 bytes. */
void report_base64(const uint8_t *p, size_t n, char *out);

#endif
