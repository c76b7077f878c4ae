/* A scan as an index (--baseline, caprobe diff, caprobe report): a caprobe/1 JSON Lines file read
 * into one arena, target -> the variants it had, each with its list state, the sorted SHA-256 of
 * its names and its server certificate, and on request what a fleet report shows (the names'
 * text, the findings, sizes, errors, certificates). Lines are checked against the schema
 * (docs/output.md) for the fields read here; the first line that does not fit is an error naming
 * FILE:LINE, or, in a tolerant load (caprobe report), counted and told as FILE:LINE while the rest
 * is read. Full and compact records (--format jsonl-compact, no "der") are read alike, mixed in
 * one file too. The one reader of scans. */
#ifndef REPORT_BASELINE_H
#define REPORT_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"

/* Longest line accepted. An observation with the most names a list can hold (21,845) is about
 * 2.2 MB of JSON, so a target with dozens of such variants still fits. */
#define REPORT_BASELINE_MAX_LINE ((size_t)64 * 1024 * 1024)

/* Most memory one line's JSON tree may take, estimated from the line's tokens before jansson
 * builds it (baseline.c, line_cost): a line of 15 MiB of "{}," would take 1.2 GB, 80 times its
 * size, where a caprobe/1 record takes 4 to 7 times its size (measured with jansson 2.14: 3.7
 * for full records of 140 KB, 5 for compact ones, 7.3 for small error records). 8 times the
 * longest line: every record caprobe writes that fits REPORT_BASELINE_MAX_LINE fits this too,
 * and no line, whatever it holds, makes the reader take more. */
#define REPORT_BASELINE_MAX_TREE (8 * REPORT_BASELINE_MAX_LINE)

struct report_baseline;

/* Lines of a tolerant load whose "FILE:LINE: why" is kept; more are counted. */
#define REPORT_BASELINE_BAD_KEPT 100

struct report_baseline_opts {
    bool keep_names;    /* keep the names' RFC 4514 text (report_baseline_detail.dns), each
                         * distinct name once */
    bool keep_findings; /* keep each record's findings (report_baseline_record.findings) */
    bool keep_detail;   /* keep what a fleet report shows of each variant (the fields of
                         * report_baseline_detail marked keep_detail) */
    bool tolerant;      /* a line that is not a caprobe/1 record, or is too long or too dense
                         * (REPORT_BASELINE_MAX_TREE), is skipped,
                         * counted and told (report_baseline_bad_at) and the rest is read;
                         * without it such a line fails the load. A read error or no memory
                         * fails it either way. */
    size_t max_line;    /* 0: REPORT_BASELINE_MAX_LINE */
    size_t max_tree;    /* 0: REPORT_BASELINE_MAX_TREE */
};

/* What the rules do not need but diff and the fleet report show, parallel to
 * report_baseline_target.v. */
struct report_baseline_detail {
    const char *outcome;    /* "certificate_request", "no_certificate_request" or "error" */
    const char *error_kind; /* with outcome "error" (e.g. "timeout"), else NULL */
    const char *const *dns; /* text of cas[i]; NULL unless keep_names */
    /* The identity of the set of names (tls_digest_list_id: FNV-1a 64 over the distinct sorted
     * SHA-256, "list_id" as 16 hex digits) with outcome certificate_request, else 0. Always. */
    uint64_t list_id;
    /* keep_detail, else NULL / 0: */
    const char *address, *sni; /* NULL: null in the record (no address, no SNI) */
    const char *tls_max, *phase;
    const char *tls_version;   /* "tls.version", the version the server chose; NULL: none */
    const char *error_message; /* with outcome "error" */
    /* certificate_request.list_bytes (the field on the wire), or for records written before it
     * existed ca_bytes + 2 per name; 0 without a request */
    size_t list_bytes;
    const char *cert_subject, *cert_not_after; /* server_certificate's; NULL: none or undecoded */
    /* With --client-key, client_cert's (has_client_cert); cc_result NULL: the server did not
     * ask in this phase; cc_http_status 0 when absent. */
    bool has_client_cert, cc_presented;
    const char *cc_result, *cc_alert, *cc_error;
    long long cc_http_status;
    /* With --request, http's (http_path NULL: none); http_status 0 when no status came. */
    const char *http_path, *http_status_line, *http_server, *http_error_kind, *http_error_message;
    long long http_status;
    bool http_renegotiation;
};

/* One finding of a record (keep_findings), as it was written. */
struct report_baseline_finding {
    const char *rule; /* the id as written: a later version's rule is kept too */
    enum report_severity severity;
    const char *message;
    const char *remedy;     /* NULL when the record has none */
    const size_t *variants; /* the variants its "observations" cite: indexes into the record's
                             * t.v and detail, ascending, each once */
    size_t n_variants;
};

/* One target's record. Variants are sorted by key (strcmp) and keys are unique: when one record
 * repeats a variant, its later observation wins. */
struct report_baseline_record {
    const char *target;
    const char *starttls; /* the protocol spoken before the TLS bytes ("smtp"), NULL: none */
    size_t line;          /* where it was read */
    struct report_baseline_target t;
    const struct report_baseline_detail *detail;    /* t.n entries */
    const struct report_baseline_finding *findings; /* keep_findings: in the record's order */
    size_t n_findings;
};

/* Read path ("-": standard input). Records with "error":{"kind":"input"} (a bad line of a
 * target file) are skipped and counted (report_baseline_input_errors), blank lines too. When a
 * target appears twice in one protocol (concatenated shards, a rerun appended) the later line wins.
 * Returns 0, TLS_E_IO (unreadable), TLS_E_LIMIT (a line longer than the maximum, or one whose JSON
 * tree would take more than max_tree), TLS_E_INVALID (a line that is not a caprobe/1 record) or
 * TLS_E_NOMEM; on failure *out is NULL and err holds
 * "FILE[:LINE]: what was wrong". */
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
/* A tolerant load's skipped lines: how many, and "FILE:LINE: why" (escaped for a terminal) of
 * the first REPORT_BASELINE_BAD_KEPT of them, in file order (NULL past them). */
size_t report_baseline_bad_count(const struct report_baseline *b);
const char *report_baseline_bad_at(const struct report_baseline *b, size_t i);
/* Input-error records skipped: lines of the scan's target file that were no target. */
size_t report_baseline_input_errors(const struct report_baseline *b);

/* An input-error record ("error": {"kind": "input"}, docs/output.md): a line of the scan's
 * target file that was no target. Kept with keep_detail, every one, as written (not escaped). */
struct report_baseline_input {
    const char *text;  /* the line ("target": as the scan wrote it, \xNN for what it escaped) */
    const char *where; /* "FILE:LINE" of the target file, from the message "FILE:LINE: why"; when
                        * the message does not start so, the record's own "SCAN:LINE" */
    const char *why;   /* the message after "FILE:LINE: ", or all of it */
    size_t line;       /* the record's line in the scan */
    const struct report_baseline_input *next; /* the next in file order, NULL after the last */
};
/* The first input-error record (keep_detail), NULL when there is none. */
const struct report_baseline_input *report_baseline_inputs(const struct report_baseline *b);
/* Whether b holds no record at all (no target's, no input error's: an empty file, blank lines,
 * or in a tolerant load only bad lines); then "FILE: what: why" in buf, escaped for a terminal,
 * why one of "the file is empty", "its 2 lines are blank", "none of its 3 lines is a caprobe/1
 * record" (what: "nothing to report", say). */
bool report_baseline_empty(const struct report_baseline *b, const char *what, char *buf,
                           size_t cap);
/* The file as the load named it in messages ("<stdin>" for "-"). */
const char *report_baseline_name(const struct report_baseline *b);

/* ---- findings of two scans (findiff.c) ----------------------------------------------------- */

/* How a finding of one scan stands against the other scan's findings of the same record. */
enum report_finding_change {
    REPORT_FINDING_NEW,      /* only in the later scan */
    REPORT_FINDING_CHANGED,  /* the same finding with another severity or message */
    REPORT_FINDING_RESOLVED, /* only in the earlier scan */
    REPORT_FINDING_SAME,     /* the same finding, severity and message */
};

const char *report_finding_change_name(enum report_finding_change c); /* "new", ... */

struct report_finding_pair {
    enum report_finding_change change;
    const struct report_baseline_finding *old, *now; /* NULL on the side without it */
};

/* The findings of one record in two scans (o earlier, n later; either may be NULL: a target only
 * in one of them; both loaded with keep_findings), paired by identity: the record (target and
 * starttls), the rule, and for a rule that reports each variant apart (report_rule.per_variant)
 * the keys of the variants it cites (report_variant_key). Findings with the same identity in
 * one record (a rule of a later version, unknown here, that fires twice) pair in their order.
 * Pairs come sorted by change (new, changed, resolved, same), then severity (highest first; a
 * resolved finding's is its old one), rule and cited variants. *out is malloc'd (NULL when
 * *count is 0). Returns 0 or TLS_E_NOMEM. */
int report_findings_pair(const struct report_baseline_record *o,
                         const struct report_baseline_record *n, struct report_finding_pair **out,
                         size_t *count);

/* caprobe diff OLD NEW: per target, what changed between two scans, findings first. Text: the
 * counts of findings new, resolved and changed (per rule and severity) and of targets, then
 * each target with a difference and its findings that differ, and with REPORT_DIFF_NAMES its
 * variants' names, certificates and outcomes that differ; or (REPORT_DIFF_JSON) one JSON object
 * per target with a difference (docs/output.md). Unchanged targets are not printed; targets
 * come sorted. Returns the exit status: 0 no differences, 1 differences (findings or names), 2
 * an input or output error (told on err), 141 the reader of out went away. */
enum report_diff_flags {
    REPORT_DIFF_JSON = 1,
    REPORT_DIFF_NAMES = 2,
};
int report_diff_run(const char *old_path, const char *new_path, unsigned flags, FILE *out,
                    FILE *err);
/* caprobe diff [--format text|jsonl] [--names] [-h] OLD NEW: the subcommand's own options and
 * usage text (argv[0] is "diff"), then report_diff_run. Returns the exit status; usage errors go
 * to err. */
int report_diff_main(int argc, char **argv, FILE *out, FILE *err);
/* A subcommand's usage error on err, "caprobe CMD: MESSAGE" and "Try 'caprobe CMD --help'."
 * (cmd "diff", "report"). Returns 2, the exit status of a usage error. */
int report_usage_error(FILE *err, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The usage error of what getopt_long returned for argv[optind - 1] with opterr 0 and ':' first in
 * its short options: ':' "OPTION needs a value", anything else "unknown option 'OPTION'".
 * Returns 2. */
int report_usage_getopt(FILE *err, const char *cmd, int opt, char **argv);

#endif
