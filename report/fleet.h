/* caprobe report: a scan (and an earlier one) read as a fleet: a model that every format renders
 * from (text, markdown, CSV, HTML), built once, no I/O but the reader's.
 * Targets come worst first; every count a summary shows is computed here, so that all formats
 * tell the same numbers. Strings are the reader's (baseline.h): as the scan wrote them, never
 * escaped; each renderer escapes what it shows for its format. */
#ifndef REPORT_FLEET_H
#define REPORT_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "baseline.h"
#include "report.h"
#include "rules.h"

/* Worst targets in the summary; names advertised most often. */
#define REPORT_FLEET_WORST 10
#define REPORT_FLEET_TOP_NAMES 10

#define REPORT_FLEET_SEVERITIES (REPORT_SEV_CRITICAL + 1)

/* Variants of a target that got the same answer (the same list by list id, both no request, or
 * the same error kind and message; and the same server certificate): told once. */
struct report_fleet_group {
    const size_t *variants; /* indexes into the record's t.v and detail, ascending */
    size_t n;
    const char *const *names; /* the first variant's names, sorted by text (keep_names) */
    size_t n_names;
};

/* A finding as the report shows it: the scan's (now), and with a baseline what it was (old):
 * change says which (without a baseline: REPORT_FINDING_NEW, and renderers say nothing of it). */
struct report_fleet_finding {
    enum report_finding_change change;
    const struct report_baseline_finding *old, *now; /* now NULL: resolved */
    const struct report_baseline_record *rec;        /* whose variants it cites */
};

struct report_fleet_target {
    const struct report_baseline_record *rec;    /* the scan's record; for a target only in the
                                                  * baseline (removed), the baseline's */
    bool removed;                                /* only in the baseline */
    bool added;                                  /* with a baseline: not in it */
    enum report_verdict verdict;                 /* of the scan (a removed target: NOT_PROBED) */
    int worst;                                   /* highest severity of the scan's findings, -1 */
    size_t by_severity[REPORT_FLEET_SEVERITIES]; /* the scan's findings */
    size_t n_current;                            /* the scan's findings (all but resolved) */
    struct report_fleet_finding *findings;       /* new, changed, unchanged, then resolved; each by
                                                  * severity (highest first), rule, variants */
    size_t n_findings;
    struct report_fleet_group *groups; /* in the order of their first variant */
    size_t n_groups;
    size_t largest_names, largest_bytes; /* its largest list (by names), 0 when none */
    bool asks;                           /* some variant got a CertificateRequest */
};

/* One rule at one severity across the fleet. */
struct report_fleet_rule {
    const char *rule;
    enum report_severity severity;
    size_t findings, targets;      /* the scan's */
    size_t new, changed, resolved; /* with a baseline */
};

/* Targets by the size of their largest list (names), probed targets only. */
enum report_fleet_bucket {
    REPORT_FLEET_NO_REQUEST, /* no variant asked */
    REPORT_FLEET_EMPTY,      /* asked with no name */
    REPORT_FLEET_1,
    REPORT_FLEET_2_4,
    REPORT_FLEET_5_19,
    REPORT_FLEET_20_99,
    REPORT_FLEET_100_499,
    REPORT_FLEET_500_UP,
};
#define REPORT_FLEET_BUCKETS (REPORT_FLEET_500_UP + 1)

const char *report_fleet_bucket_label(enum report_fleet_bucket b); /* "1", "2-4", "no request" */

struct report_fleet_name {
    const char *dn;
    size_t targets; /* targets that advertise it in some variant */
};

struct report_fleet {
    struct report_baseline *scan, *base; /* owned */
    const char *scan_name, *base_name;   /* as the reader names them */
    struct report_fleet_target *t; /* the scan's targets worst first (worst severity, findings,
                                    * then target), then with a baseline the removed ones */
    size_t n;                      /* the scan's targets */
    size_t n_removed;              /* removed targets, t[n .. n + n_removed) */
    size_t probed, unprobed;       /* unprobed: no variant got an answer */
    size_t ok, with_findings;      /* probed targets without / with findings */
    size_t findings, by_severity[REPORT_FLEET_SEVERITIES]; /* the scan's findings */
    size_t input_errors;                                   /* bad target lines of the scan */
    size_t distinct_lists;                                 /* distinct list ids among the
                                                            * probed targets' requests */
    struct report_fleet_rule *rules; /* highest severity first, then findings, then rule */
    size_t n_rules;
    size_t worst[REPORT_FLEET_WORST]; /* indexes into t of the worst targets with findings */
    size_t n_worst;
    size_t buckets[REPORT_FLEET_BUCKETS], bucket_bytes[REPORT_FLEET_BUCKETS]; /* targets, and
                                                                               * the largest
                                                                               * list's bytes */
    size_t over_16k, over_32k; /* targets whose largest list passes 16 KiB / 32 KiB */
    struct report_fleet_name top[REPORT_FLEET_TOP_NAMES]; /* most targets first, then text */
    size_t n_top;
    /* with a baseline */
    size_t new, changed, resolved; /* findings (of added and removed targets too) */
    size_t added, removed;         /* targets */
};

/* Read scan (and base, may be NULL; "-" for standard input, not both) and build the model. The
 * scan is read tolerantly: a bad line is counted and told (report_baseline_bad_at on
 * f->scan), the rest used; a scan with no record is the caller's to refuse
 * (report_baseline_empty). The baseline is read strictly, as --baseline reads it, and must hold
 * a record (TLS_E_INVALID, "FILE: nothing to compare with: why"). Returns 0,
 * or TLS_E_IO / TLS_E_INVALID / TLS_E_LIMIT / TLS_E_NOMEM with "FILE[:LINE]: why" in err. */
int report_fleet_load(struct report_fleet **out, const char *scan, const char *base, char *err,
                      size_t cap);
void report_fleet_free(struct report_fleet *f);

/* "192.0.2.1, SNI app.example.com, TLS 1.2" (", renegotiation" when not the handshake), as the
 * rules' messages name a variant; not escaped. */
void report_fleet_variant_label(const struct report_baseline_detail *d, char *buf, size_t cap);
/* The answer of a group, not escaped: "144 names (14840 bytes)", "0 names (empty list)", "no
 * certificate request", "error (timeout): MESSAGE", or a declined version's message; then
 * " (server chose TLS 1.0)" when it chose a lower version than offered. */
void report_fleet_answer(const struct report_baseline_record *rec,
                         const struct report_fleet_group *g, char *buf, size_t cap);

/* --client-key: what the server made of the certificate in d's phase, not escaped, as the scan's
 * text report says it: "presented, refused with alert unknown_ca", "presented, the request got
 * HTTP 403"; "" when the variant has no client_cert or the server did not ask in its phase. */
void report_fleet_client_cert(const struct report_baseline_detail *d, char *buf, size_t cap);
/* --request: "GET /secure: HTTP/1.1 403 Forbidden (Server: Microsoft-IIS/10.0)", "GET /: no
 * response (timeout): MESSAGE", then "; the server renegotiated after the request" when it did;
 * not escaped; "" when the variant has no http. */
void report_fleet_http(const struct report_baseline_detail *d, char *buf, size_t cap);

/* "3 findings: 1 high, 2 medium" of counts by severity (by[REPORT_FLEET_SEVERITIES]). */
void report_fleet_counts_text(const size_t *by, size_t total, char *buf, size_t cap);
/* A target's verdict in a word, as CSV's verdict column and HTML's data-v say it: "ok",
 * "findings", "not probed" or "removed" (only in the baseline). */
const char *report_fleet_verdict_word(const struct report_fleet_target *t);
/* A target's verdict: "OK", "3 findings: 1 high, 2 medium", "could not be probed", each with
 * ", added" when the baseline has no such target; "removed (only in the baseline)". */
void report_fleet_verdict_text(const struct report_fleet_target *t, char *buf, size_t cap);

/* The first of the scan's findings of t at its highest severity (the "worst rule" of the worst
 * targets), NULL when it has none. */
const struct report_baseline_finding *
report_fleet_worst_finding(const struct report_fleet_target *t);

enum report_fleet_format {
    REPORT_FLEET_TEXT,
    REPORT_FLEET_MARKDOWN,
    REPORT_FLEET_CSV,
    REPORT_FLEET_HTML,
};

/* --targets all: every target has a section of its own. */
#define REPORT_FLEET_TARGETS_ALL SIZE_MAX

struct report_fleet_opts {
    enum report_fleet_format format;
    size_t names;   /* text, markdown: names shown per list (REPORT_NAMES_ALL: every one) */
    size_t targets; /* text, markdown, HTML: targets with a section of their own, the first of
                     * f->t (worst first); REPORT_FLEET_TARGETS_ALL: every one. The summary's
                     * counts are of them all */
};

/* The targets that get a section of their own: the first n of f->t (at most f->n +
 * f->n_removed). */
size_t report_fleet_shown(const struct report_fleet *f, const struct report_fleet_opts *o);
/* The targets past the first shown, in words: "2980 more targets not shown (10 with findings,
 * 2962 OK, 8 not probed)" ("3000 targets not shown (...)" when shown is 0; "removed" counted
 * apart). Empty when every target is shown. */
void report_fleet_rest_text(const struct report_fleet *f, size_t shown, char *buf, size_t cap);

/* Write the report to out: text or markdown (o->format), or CSV. Returns 0, TLS_E_NOMEM or
 * TLS_E_IO. */
int report_fleet_doc_write(FILE *out, const struct report_fleet *f,
                           const struct report_fleet_opts *o);
int report_fleet_csv_write(FILE *out, const struct report_fleet *f);
/* One self-contained HTML document (fleet_html.c, docs/report.md): no fetch, a Content-Security-
 * Policy that allows only its own style and script, every byte from a scan file escaped. */
int report_fleet_html_write(FILE *out, const struct report_fleet *f,
                            const struct report_fleet_opts *o);

#endif
