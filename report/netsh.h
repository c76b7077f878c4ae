/* http.sys bindings from a saved `netsh http show sslcert` (tls/wire/netsh.h), indexed: the
 * binding a probe's variant reached (--netsh during a scan), the exact `netsh http update
 * sslcert` line that fixes one, and the audit of `caprobe netsh FILE [--previous OLD]`: a
 * binding that negotiates client certificates without a Ctl Store Name, SNI and IP bindings of
 * one port that differ, a certificate hash that changed. Everything but report_netsh_load and
 * report_netsh_main is pure. */
#ifndef REPORT_NETSH_H
#define REPORT_NETSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rules.h"
#include "tls/wire/netsh.h"

struct report_netsh;

/* The bytes p/n of a file named name (for messages) read and indexed. Returns 0, or the code of
 * tls_netsh_parse (TLS_E_LIMIT, TLS_E_INVALID, TLS_E_NOMEM) and TLS_E_INVALID for a binding
 * that appears twice, with "NAME:LINE: why" (or "NAME: why") in err, text escaped for a
 * terminal; *out is NULL then. */
int report_netsh_parse(struct report_netsh **out, const char *name, const uint8_t *p, size_t n,
                       char *err, size_t cap);
/* The same for the file at path ("-": standard input); TLS_E_IO when it cannot be read, and
 * TLS_E_LIMIT when it is larger than TLS_NETSH_MAX_BYTES (not read to its end). */
int report_netsh_load(struct report_netsh **out, const char *path, char *err, size_t cap);
void report_netsh_free(struct report_netsh *n);

const char *report_netsh_name(const struct report_netsh *n); /* as given, not escaped */

/* The unknown fields of n's bindings whose name is close to a known one (tls/wire/similar.h),
 * which is most likely a typo: "NAME:LINE: unknown field 'Ctl Store Nmae': did you mean 'Ctl
 * Store Name'? (...)" on err after lead, one a line, at most REPORT_NETSH_TYPOS_MAX of them and
 * then how many more; the file's text escaped for a terminal. Unknown fields are kept (netsh's
 * fields vary by Windows version); this only tells. Returns how many there were. */
#define REPORT_NETSH_TYPOS_MAX 10
size_t report_netsh_warn_typos(const struct report_netsh *n, FILE *err, const char *lead);
const struct tls_netsh *report_netsh_file(const struct report_netsh *n);

/* The binding of kind with the endpoint of b (ipport: its address and port; hostnameport: its
 * name in any case and port; ccs: its port), or NULL. */
const struct tls_netsh_binding *report_netsh_find(const struct report_netsh *n,
                                                  const struct tls_netsh_binding *b);

/* How report_netsh_join found a variant's binding, in the order http.sys looks them up. */
enum report_netsh_via {
    REPORT_NETSH_VIA_NONE,     /* the file has no binding the variant can reach */
    REPORT_NETSH_VIA_HOSTNAME, /* hostnameport=SNI:PORT */
    REPORT_NETSH_VIA_CCS,      /* ccs=PORT: an SNI name without a hostnameport binding */
    REPORT_NETSH_VIA_IP,       /* ipport=ADDRESS:PORT */
    REPORT_NETSH_VIA_WILDCARD, /* ipport=0.0.0.0:PORT or [::]:PORT, the address's family */
};

/* The binding http.sys serves a connection to address (numeric text; an IPv4-mapped IPv6
 * address counts as its IPv4 one) and port with the SNI name sni (NULL: none) from: with SNI
 * the hostnameport binding of the name, else the Central Certificate Store binding of the port;
 * then (without SNI, or with a name that has neither) the ipport binding of the address, else
 * the wildcard of its family. NULL (*via NONE) when the file has none of them. */
const struct tls_netsh_binding *report_netsh_join(const struct report_netsh *n, const char *sni,
                                                  const char *address, unsigned port,
                                                  enum report_netsh_via *via);

/* "netsh http update sslcert KEY certhash=HASH appid={GUID} certstorename=STORE EXTRA ..." for
 * binding b: its own hash, appid and store (certhash only for ipport and hostnameport), then
 * extra (NULL: none; "name=value" words, which replace the binding's value of the same
 * parameter), then each setting of the binding that differs from netsh http add sslcert's
 * default, so that the update keeps it. A value the file lacks or that no command line could
 * carry as it is is a placeholder in angle brackets ("<thumbprint>", "{APP-GUID}", "<store>",
 * "hostnameport=<name>:443" for a name with a shell's operator or a hidden character). Never cut
 * (a command pasted in part would do another thing): false and "" when it does not fit in cap,
 * which REPORT_NETSH_LINE_MAX always does. */
bool report_netsh_update_line(const struct tls_netsh_binding *b, const char *extra, char *buf,
                              size_t cap);

/* Room for the longest update line: the endpoint (300 bytes escaped), hash, appid, three names
 * of 128 bytes at most (longer ones are placeholders), extra (one such name and a switch), and
 * every switch and number of TLS_NETSH_FIELDS: under 2.5 KiB. */
#define REPORT_NETSH_LINE_MAX 4096

/* "Ctl Store Name (null), Negotiate Client Certificate Enabled": what the binding says of the
 * client-certificate list, its values escaped for a terminal. */
void report_netsh_describe(const struct tls_netsh_binding *b, char *buf, size_t cap);

/* A binding's value v (b->known[...]) as every message and listing shows it, before escaping: v
 * as the file has it ("(null)" included), "(not shown)" when the binding lacks the field, and
 * "(empty)" when its value is empty. */
const char *report_netsh_shown(const char *v);

/* ---- the audit (caprobe netsh) ------------------------------------------------------------- */

/* Stable ids of the audit's checks (docs/netsh.md). */
#define REPORT_NETSH_CHECKS(X)                                                                     \
    X(CTL_STORE_MISSING, "ctl-store-missing")                                                      \
    X(SNI_IP_MISMATCH, "sni-ip-mismatch")                                                          \
    X(CERTHASH_CHANGED, "certhash-changed")

enum report_netsh_check {
#define REPORT_NETSH_CHECK_ENUM(name, id) REPORT_NETSH_##name,
    REPORT_NETSH_CHECKS(REPORT_NETSH_CHECK_ENUM)
#undef REPORT_NETSH_CHECK_ENUM
        REPORT_NETSH_CHECK_COUNT
};
const char *report_netsh_check_name(enum report_netsh_check c);

struct report_netsh_flag {
    enum report_netsh_check check;
    enum report_severity severity;
    size_t binding;                          /* the binding flagged, an index of the file */
    const struct tls_netsh_binding *related; /* the binding it differs from (sni-ip-mismatch:
                                              * the first in file order, the one whose list
                                              * settings differ if any; certhash-changed: the
                                              * previous file's), or NULL */
    const char *message;                     /* caprobe's words, file values escaped */
    const char *remedy;                      /* a netsh line, or NULL */
};

/* A binding against the previous file (--previous). */
enum report_netsh_change {
    REPORT_NETSH_SAME,    /* in both, the same certificate hash */
    REPORT_NETSH_CHANGED, /* in both, another certificate hash */
    REPORT_NETSH_ADDED,   /* only in the file */
};

struct report_netsh_audit {
    struct report_netsh_flag *v; /* by binding (file order): ctl-store-missing,
                                  * sni-ip-mismatch, certhash-changed */
    size_t n;
    /* With a previous file: change[i] of binding i, previous[i] its binding there (NULL when
     * added); removed: the previous file's bindings the file lacks, in their order. */
    enum report_netsh_change *change;
    const struct tls_netsh_binding **previous;
    const struct tls_netsh_binding **removed;
    size_t n_removed;
    /* hostnameport/ipport pairs of one port not compared: past REPORT_NETSH_PAIRS_MAX */
    size_t pairs_skipped;
    struct tls_arena arena;
};

/* Pairs of a hostnameport and an ipport binding of one port that sni-ip-mismatch compares at
 * most: a few per port on a real server; a file of 50,000 of each on one port would be 2.5
 * billion. About a second's work. */
#define REPORT_NETSH_PAIRS_MAX ((size_t)20 * 1000 * 1000)

/* The audit of now, against prev (NULL: none). 0 or TLS_E_NOMEM; free with
 * report_netsh_audit_free whatever it returned. */
int report_netsh_audit(const struct report_netsh *now, const struct report_netsh *prev,
                       struct report_netsh_audit *out);
void report_netsh_audit_free(struct report_netsh_audit *a);

/* caprobe netsh FILE [--previous OLD] [--format text|jsonl] (argv[0] is "netsh"): the bindings
 * and the audit's flags. Returns the exit status: 0 nothing flagged, 1 flagged, 2 usage or input
 * error, 141 the reader of out went away. */
int report_netsh_main(int argc, char **argv, FILE *out, FILE *err);

#endif
