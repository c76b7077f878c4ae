/* An earlier scan as an index (--baseline, caprobe diff): a caprobe/1 JSON Lines file read into
 * one arena, target -> the variants it had, each with its list state, the sorted SHA-256 of its
 * names and its server certificate. Lines are checked against the schema (docs/output.md) for
 * the fields read here; the first line that does not fit is an error naming FILE:LINE. Full and
 * compact records (--format jsonl-compact, no "der") are read alike, mixed in one file too. */
#ifndef REPORT_BASELINE_H
#define REPORT_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rules.h"

/* Longest line accepted. An observation with the most names a list can hold (21,845) is about
 * 2.2 MB of JSON, so a target with dozens of such variants still fits. */
#define REPORT_BASELINE_MAX_LINE ((size_t)64 * 1024 * 1024)

struct report_baseline;

struct report_baseline_opts {
    bool keep_names; /* keep the names' RFC 4514 text (report_baseline_detail.dns), each
                      * distinct name once */
    size_t max_line; /* 0: REPORT_BASELINE_MAX_LINE */
};

/* What the rules do not need but diff prints, parallel to report_baseline_target.v. */
struct report_baseline_detail {
    const char *outcome;    /* "certificate_request", "no_certificate_request" or "error" */
    const char *error_kind; /* with outcome "error" (e.g. "timeout"), else NULL */
    const char *const *dns; /* text of cas[i]; NULL unless keep_names */
};

/* One target's record. Variants are sorted by key (strcmp) and keys are unique: when one record
 * repeats a variant, its later observation wins. */
struct report_baseline_record {
    const char *target;
    const char *starttls; /* the protocol spoken before the TLS bytes ("smtp"), NULL: none */
    size_t line;          /* where it was read */
    struct report_baseline_target t;
    const struct report_baseline_detail *detail; /* t.n entries */
};

/* Read path ("-": standard input). Records with "error":{"kind":"input"} (a bad line of a
 * target file) are skipped, blank lines too. When a target appears twice in one protocol
 * (concatenated shards, a rerun appended) the later line wins. Returns 0, TLS_E_IO (unreadable),
 * TLS_E_LIMIT (a line longer than the maximum), TLS_E_INVALID (a line that is not a caprobe/1
 * record) or TLS_E_NOMEM; on failure *out is NULL and err holds "FILE[:LINE]: what was wrong". */
int report_baseline_load(struct report_baseline **out, const char *path, char *err, size_t cap);
int report_baseline_load_opts(struct report_baseline **out, const char *path,
                              const struct report_baseline_opts *opts, char *err, size_t cap);
void report_baseline_free(struct report_baseline *b);

/* NULL when b is NULL or has no record of target (the "target" field, as written) spoken to
 * with starttls (the observations' "starttls"; NULL: TLS from the first byte). The same
 * HOST:PORT probed in two protocols (smtp://mx:25 and mx:25) is two records. */
const struct report_baseline_target *report_baseline_find(const struct report_baseline *b,
                                                          const char *target, const char *starttls);
const struct report_baseline_record *
report_baseline_lookup(const struct report_baseline *b, const char *target, const char *starttls);
/* Orders records by target, then STARTTLS protocol (none first); 0: the same record key. */
int report_baseline_record_cmp(const struct report_baseline_record *a,
                               const struct report_baseline_record *b);
/* The records, one per target, in the order of their first line. */
size_t report_baseline_count(const struct report_baseline *b);
const struct report_baseline_record *report_baseline_at(const struct report_baseline *b, size_t i);

/* caprobe diff OLD NEW: per target, what changed between two scans. Text grouped by target with
 * a summary line, or (json) one JSON object per changed target. Unchanged targets are not
 * printed; targets come sorted. Returns the exit status: 0 no differences, 1 differences, 2 an
 * input or output error (told on err). */
int report_diff_run(const char *old_path, const char *new_path, int json, FILE *out, FILE *err);
/* caprobe diff [--format text|jsonl] [-h] OLD NEW: the subcommand's own options and usage text
 * (argv[0] is "diff"), then report_diff_run. Returns the exit status; usage errors go to err. */
int report_diff_main(int argc, char **argv, FILE *out, FILE *err);

#endif
