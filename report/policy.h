/* Policies (--policy FILE, docs/policy.md): per-target expectations and rule settings read from
 * YAML. A policy has defaults and an ordered list of target entries; the first entry whose
 * pattern matches a target applies on top of the defaults. This module only reads and matches:
 * the certificate files a policy names are loaded by the probe module (tls/certfile.h), since
 * report/ never sees mbedTLS. */
#ifndef REPORT_POLICY_H
#define REPORT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "tls/wire/addr.h"
#include "tls/wire/arena.h"

/* Policy files larger than this are refused: a policy is a few kilobytes. */
#define REPORT_POLICY_MAX_BYTES (4u * 1024 * 1024)
/* Room for any message of report_policy_load (the longest lists every rule name). */
#define REPORT_POLICY_ERR_CAP 2048

enum report_client_auth {
    REPORT_CLIENT_AUTH_UNSET,    /* the policy does not say: the context keeps its value */
    REPORT_CLIENT_AUTH_REQUIRED, /* the server must ask: no-certificate-request fires if not */
    REPORT_CLIENT_AUTH_OPTIONAL, /* it may ask or not: no-certificate-request never fires */
    REPORT_CLIENT_AUTH_NONE,     /* it is not expected to ask: same for the rules today */
};

const char *report_client_auth_name(enum report_client_auth a);

/* A file named in the policy. */
struct report_policy_file {
    const char *path;  /* resolved against the policy file's folder (kept as is when absolute) */
    const char *where; /* "POLICY:LINE:COLUMN" of the value, for messages about the file */
};

struct report_policy;
struct report_policy_entry;

/* Read and check the policy at path. Returns 0 with *out (free with report_policy_free), or
 * TLS_E_IO (unreadable), TLS_E_INVALID (not a valid policy: YAML syntax, schema, not UTF-8,
 * larger than REPORT_POLICY_MAX_BYTES) or TLS_E_NOMEM, with *out NULL and a one-line message in
 * err: "PATH:LINE:COLUMN: what is wrong and what was expected" (REPORT_POLICY_ERR_CAP bytes hold
 * any message; shorter buffers get it truncated). Certificate files are not opened here. */
int report_policy_load(struct report_policy **out, const char *path, char *err, size_t err_cap);

/* The same from memory: name is used in messages and its folder for relative paths (the file
 * need not exist). For tests and fuzzing. */
int report_policy_parse(struct report_policy **out, const char *name, const uint8_t *text,
                        size_t len, char *err, size_t err_cap);

void report_policy_free(struct report_policy *p); /* NULL is a no-op */

/* The policy's target entries, in file order; an entry's index is its position. */
size_t report_policy_count(const struct report_policy *p);
const struct report_policy_entry *report_policy_entry_at(const struct report_policy *p, size_t i);
/* e's position, or report_policy_count(p) for NULL (the defaults alone): an index for arrays of
 * count + 1 per-entry things (such as loaded certificates). */
size_t report_policy_entry_index(const struct report_policy *p,
                                 const struct report_policy_entry *e);
/* "POLICY:LINE:COLUMN" of the entry, and its first pattern as written, for messages. */
const char *report_policy_entry_where(const struct report_policy_entry *e);
const char *report_policy_entry_pattern(const struct report_policy_entry *e);

/* The first entry (in file order) matching the target, or NULL (then the defaults alone
 * apply): see struct report_target_pattern. target_spec ("host:port" as normalised, or NULL)
 * and "host:port" built from host and port are matched against glob patterns (fnmatch,
 * case-insensitive), and so is host alone. */
const struct report_policy_entry *report_policy_match(const struct report_policy *p,
                                                      const char *target_spec, const char *host,
                                                      uint16_t port);

/* ---- target patterns: a policy's 'match', the exporter's 'allow' ---------------------------- */

#define REPORT_TARGET_PATTERN_MAX 512 /* bytes of one pattern as written */

/* A glob over "host:port" and host alone (fnmatch, case-insensitive: "*.example.com" matches
 * every port, "*.example.com:443" one), or an address or CIDR range with an optional port
 * ("10.0.0.0/8", "10.0.0.5:443", "[2001:db8::/32]:443"), which matches only targets whose host is
 * an address literal: never a name, whatever it resolves to. An address literal is compared as
 * the address it reaches: parsed, an IPv4-mapped IPv6 address as its IPv4 address, and a glob
 * sees its canonical text (inet_ntop's: [0:0::1] is ::1). A glob that looks like an address
 * (addr_glob: the text before its first wildcard is digits, dots and colons, or hex digits with
 * two colons or more, as in "10.0.0.*" or "2001:db8::*") matches only address literals too, so
 * that "127.0.0.*" never admits the name 127.0.0.evil.example. A host that ends in a number
 * (tls_host_ends_in_number: 2130706433, 0x7f.1) matches no pattern at all. */
struct report_target_pattern {
    const char *text;      /* as written */
    const char *glob;      /* lower case; NULL for an address pattern */
    bool addr_glob;        /* a glob that looks like an address: address literals only */
    struct tls_cidr range; /* address patterns: one address is a range of one */
    uint16_t port;         /* address patterns: 0 any */
};

/* text into *pt, its strings in arena: 0, TLS_E_INVALID with *why (an address or range written
 * as one but malformed), or TLS_E_NOMEM. */
int report_target_pattern_parse(struct report_target_pattern *pt, const char *text,
                                struct tls_arena *arena, const char **why);

/* A target as patterns see it, made once for any number of patterns. */
struct report_target_subject {
    char host[512], hostport[540], spec[540]; /* lower case; an address's canonical text */
    bool has_spec, literal;
    bool numeric;         /* a host that ends in a number: matches nothing */
    struct tls_addr addr; /* when literal, unmapped */
    uint16_t port;
};
/* target_spec ("host:port" as normalised, or NULL), host and port; false when host is NULL or
 * too long to match anything. */
bool report_target_subject_init(struct report_target_subject *s, const char *target_spec,
                                const char *host, uint16_t port);
bool report_target_pattern_match(const struct report_target_pattern *pt,
                                 const struct report_target_subject *s);

/* Whether the pattern names no target: a range of every address (0.0.0.0/0, [::/0]:443), or a
 * glob whose host part (before a final ":PORT" of digits and wildcards) holds no letter or digit
 * outside its wildcards and bracket expressions: "*", "*:443", "*.*", "[a-z]*", "*-*". Such a
 * pattern admits hosts nobody listed (every host, every host on a port, every dotted name). It
 * is no judgement of breadth: "*.com" and 0.0.0.0/1 name something. */
bool report_target_pattern_open(const struct report_target_pattern *pt);

/* A YAML value that is one pattern or a list of them (report/yamldoc.h), as the value of key
 * ('match', 'allow'): 0 with *out and *n (may be 0), TLS_E_INVALID with the message in y
 * ("'KEY' pattern 'P': why"), or TLS_E_NOMEM with none (the caller says what ran out). */
struct report_yaml;
struct yaml_node_s;
int report_yaml_patterns(struct report_yaml *y, const struct yaml_node_s *v, const char *key,
                         const char *expects, struct tls_arena *arena,
                         struct report_target_pattern **out, size_t *n);

/* Set in ctx what the defaults and then e (NULL: defaults alone) say: severities, enabled rules
 * (defaults' 'disable', then the entry's 'enable' and 'disable') and client_auth (required: 1;
 * optional and none: 0; unset: unchanged). What the policy does not mention is left as it is,
 * so apply to a copy of the context built from the command line, once per target. Certificate
 * views (expected_cas, client_chain) are the caller's: see the functions below. p NULL: no-op. */
void report_policy_apply(const struct report_policy *p, const struct report_policy_entry *e,
                         struct report_context *ctx);

/* What is in effect for e (NULL: defaults alone): the entry's own setting, else the defaults'. */
enum report_client_auth report_policy_client_auth(const struct report_policy *p,
                                                  const struct report_policy_entry *e);
/* false when neither says anything about expected CAs (keep --expect-ca); true with the files
 * otherwise, *n may be 0 ('expect_ca: []': no expectation for this target). */
bool report_policy_expect_ca(const struct report_policy *p, const struct report_policy_entry *e,
                             const struct report_policy_file **files, size_t *n);
/* false when neither names a client certificate (keep --client-cert); true with *file otherwise,
 * NULL for 'client_cert: null' (no chain to check for this target). */
bool report_policy_client_cert(const struct report_policy *p, const struct report_policy_entry *e,
                               const struct report_policy_file **file);

#endif
