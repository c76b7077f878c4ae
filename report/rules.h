/* The rule engine: all observations of one target (plus what the user expects) in, findings
 * out. One table of rules, each entry with its texts and its function. Pure: no I/O, no clock,
 * no mbedTLS; the certificates it compares against arrive as DER views loaded elsewhere. */
#ifndef REPORT_RULES_H
#define REPORT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/wire/arena.h"
#include "tls/wire/observation.h"

enum report_severity {
    REPORT_SEV_INFO,
    REPORT_SEV_LOW,
    REPORT_SEV_MEDIUM,
    REPORT_SEV_HIGH,
    REPORT_SEV_CRITICAL,
};

const char *report_severity_name(enum report_severity s);
/* 0 and *out for "info" .. "critical", -1 otherwise. */
int report_severity_parse(const char *s, enum report_severity *out);

/* Stable rule ids (DESIGN.md); the order is the order of the table. */
#define REPORT_RULES(X)                                                                            \
    X(NO_CERTIFICATE_REQUEST, "no-certificate-request")                                            \
    X(EMPTY_CA_LIST, "empty-ca-list")                                                              \
    X(ROOT_STORE_DUMP, "root-store-dump")                                                          \
    X(OVERSIZED_CA_LIST, "oversized-ca-list")                                                      \
    X(SNI_MISMATCH, "sni-mismatch")                                                                \
    X(VERSION_MISMATCH, "version-mismatch")                                                        \
    X(ADDRESS_MISMATCH, "address-mismatch")                                                        \
    X(RENEGOTIATION_MISMATCH, "renegotiation-mismatch")                                            \
    X(EXPECTED_CA_MISSING, "expected-ca-missing")                                                  \
    X(UNEXPECTED_CA, "unexpected-ca")                                                              \
    X(CLIENT_CERT_NOT_OFFERED, "client-cert-not-offered")                                          \
    X(PUBLIC_CA_ACCEPTED, "public-ca-accepted")                                                    \
    X(DUPLICATE_CA, "duplicate-ca")                                                                \
    X(MALFORMED_CA, "malformed-ca")                                                                \
    X(POST_REQUEST_CLIENT_AUTH, "post-request-client-auth")                                        \
    X(BASELINE_DRIFT, "baseline-drift")                                                            \
    X(PROBE_FAILED, "probe-failed")                                                                \
    X(LEGACY_TLS_VERSION, "legacy-tls-version")                                                    \
    X(CLIENT_CERT_REJECTED, "client-cert-rejected")                                                \
    X(CLIENT_CERT_ACCEPTED_UNADVERTISED, "client-cert-accepted-unadvertised")

enum report_rule_id {
#define REPORT_RULE_ENUM(name, id) REPORT_RULE_##name,
    REPORT_RULES(REPORT_RULE_ENUM)
#undef REPORT_RULE_ENUM
        REPORT_RULE_COUNT
};

struct report_rule;
struct report_rule_run; /* one run of the engine over one target, private to rules.c */
/* A rule's check: adds the findings of rule over the run's target. */
typedef void report_rule_fn(struct report_rule_run *run, const struct report_rule *rule);

struct report_rule {
    enum report_rule_id id;
    const char *name;              /* the stable id, e.g. "sni-mismatch" */
    enum report_severity severity; /* default */
    const char *title;             /* one line */
    const char *help;              /* what it means and why it matters (for --explain, SARIF) */
    const char *remedy;            /* how to fix its causes */
    report_rule_fn *check;         /* report_rules_run calls it when the rule is enabled */
    /* One finding per variant it finds (each cites that variant alone), where the others make
     * one finding per target (client-cert-not-offered one per situation, two at most): a
     * finding is known by its target, its rule and, here, the variant it cites (caprobe diff,
     * caprobe report --baseline). */
    bool per_variant;
};

const struct report_rule *report_rule_get(enum report_rule_id id);
const struct report_rule *report_rule_find(const char *name); /* NULL when unknown */

/* A certificate the rules compare against (expected CA, client chain, public root): views into
 * its DER, owned by whoever loaded it. */
struct report_cert {
    const uint8_t *subject;
    size_t subject_len;
    uint8_t subject_sha256[32]; /* SHA-256 of subject: compared with advertised names' */
    const uint8_t *issuer;
    size_t issuer_len;
    const char *subject_text; /* RFC 4514 */
    const char *issuer_text;
    const char *where; /* "FILE:LINE" of its PEM block */
};

struct report_certs {
    const struct report_cert *v;
    size_t n;
    const char *source; /* file name(s), for messages */
};

/* Public roots: SHA-256 of each root's subject DER, sorted, for lookups by name. */
struct report_roots {
    const uint8_t (*subject_sha256)[32];
    size_t n;
    const char *source;
};

/* What the previous scan saw for one variant of the target (--baseline). */
struct report_baseline_variant {
    const char *key;          /* "address|sni|tls_max|phase" */
    int state;                /* see report_list_state() */
    const uint8_t (*cas)[32]; /* sorted SHA-256 of the advertised names */
    size_t n_cas;
    bool has_cert;
    uint8_t cert_sha256[32];
};

struct report_netsh;

struct report_baseline_target {
    const struct report_baseline_variant *v; /* sorted by key (strcmp), keys unique */
    size_t n;
};

/* --client-key: the chain caprobe presents when a server asks, and whether its certificate was
 * outside its validity when the scan started (the rules have no clock: the prober says). */
struct report_presented {
    const struct report_certs *chain; /* v[0]: the certificate presented */
    const char *invalid; /* NULL, or why it was not valid: "it expired on 2020-12-31T23:59:59Z" */
};

/* Everything besides the observations that rules need for one target. */
struct report_context {
    const struct report_roots *public_roots;       /* NULL: none loaded */
    const struct report_certs *expected_cas;       /* NULL: no expectation */
    const struct report_certs *client_chain;       /* NULL: none given */
    const struct report_presented *presented;      /* NULL: no certificate presented */
    int client_auth;                               /* 1 required, 0 not, -1 unknown */
    const struct report_baseline_target *baseline; /* NULL: no baseline for this target */
    const struct report_netsh *netsh; /* --netsh: the server's http.sys bindings (netsh.h), which
                                       * the netsh remedies name; NULL: none */
    enum report_severity severity[REPORT_RULE_COUNT]; /* effective severities */
    /* The user chose severity[id] (a policy): findings get exactly it. Otherwise a rule may
     * grade its default by the evidence (oversized-ca-list by size, client-cert-not-offered
     * down for a canonical match, baseline-drift up with a renewed certificate); a severity
     * other than the default counts as chosen too. */
    bool pinned[REPORT_RULE_COUNT];
    bool enabled[REPORT_RULE_COUNT];
};

/* Defaults: every rule on at its default severity, nothing expected. */
void report_context_init(struct report_context *ctx);

/* A finding cites at most this many observations; one about more says in its message how many
 * it leaves out. */
#define REPORT_FINDING_MAX_OBS 1024
/* What the findings of one target may hold (structs, messages, citations). Past it a rule's
 * further findings are not kept: its last kept finding says how many there were. Each rule's
 * first finding and these notes come on top, bounded by the message size (2 KiB) and
 * REPORT_FINDING_MAX_OBS each, so a hostile target costs a bounded amount and never ends the
 * scan. */
#define REPORT_FINDINGS_MAX_BYTES (4u * 1024 * 1024)

struct report_finding {
    const struct report_rule *rule;
    enum report_severity severity;
    const char *message; /* names the evidence: variant, counts, names */
    const char *remedy;  /* the rule's remedy, filled in where the target says more */
    const size_t *obs;   /* indexes of the observations it rests on, in the findings' arena */
    size_t n_obs;
    size_t seq; /* the order the engine found it in: ties of severity and rule keep it */
};

struct report_findings {
    struct report_finding *v;
    size_t n, cap;
    size_t max_bytes;       /* REPORT_FINDINGS_MAX_BYTES after init; tests may lower it */
    struct tls_arena arena; /* messages and citations: no cap of its own, max_bytes bounds it */
};

void report_findings_init(struct report_findings *f);
void report_findings_free(struct report_findings *f);

struct report_target;
/* Run every enabled rule over the target's observations; findings come sorted by severity
 * (highest first), then rule order. Returns 0, or TLS_E_NOMEM when malloc fails: a limit of the
 * engine (max_bytes, REPORT_FINDING_MAX_OBS) trims evidence with a note and is no error. */
int report_rules_run(const struct report_target *t, const struct report_context *ctx,
                     struct report_findings *out);

/* Highest severity among the findings; -1 when there are none. */
int report_findings_max(const struct report_findings *f);

/* The state of one observation's list, for comparisons: LIST_NONE (no request), LIST_NAMES
 * (a request; empty or not), LIST_UNKNOWN (an error: nothing to compare). */
enum report_list_state {
    REPORT_LIST_UNKNOWN,
    REPORT_LIST_NONE,
    REPORT_LIST_NAMES,
};
enum report_list_state report_list_state(const struct tls_observation *o);

/* "address|sni|tls_max|phase": how an observation is matched with the same variant elsewhere
 * (baseline, diff). */
void report_variant_key(const struct tls_observation *o, char *buf, size_t cap);

#endif
