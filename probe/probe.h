/* The probe module: command line, targets, and the libuv scheduler that runs one TLS probe per
 * variant (address x SNI x TLS version) of every target. Only this module sees uv.h. */
#ifndef PROBE_PROBE_H
#define PROBE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "report/report.h"
#include "tls/wire/addr.h"
#include "tls/wire/starttls.h"

#define PROBE_HOST_MAX 253   /* RFC 1035 2.3.4, without the trailing dot */
#define PROBE_PATH_MAX 2048  /* --request PATH and a URL's path and query, in bytes */
#define PROBE_MAX_VERSIONS 4 /* --tls: TLS 1.0, 1.1, 1.2 and 1.3 */

struct probe_target_spec {
    char spec[PROBE_HOST_MAX + 16]; /* host:port as normalised for output */
    char host[PROBE_HOST_MAX + 1];  /* name or numeric address, no brackets */
    uint16_t port;
    int family; /* AF_INET or AF_INET6 for a literal address, AF_UNSPEC for a name */
};

/* Parse one TARGET: host[:port] | ipv4[:port] | [ipv6][:port] | ipv6. default_port is used
 * when none is given (0: port stays 0 for the caller's port list). Returns 0 or TLS_E_TARGET
 * with *why set to a static reason. */
int probe_target_parse(const char *s, uint16_t default_port, struct probe_target_spec *out,
                       const char **why);
/* Fill t->spec ("host:port", "[v6]:port") from its other fields. */
void probe_target_spec_name(struct probe_target_spec *t);

/* A CIDR range: a.b.c.d/n[:port], [v6/n]:port or v6/n. */
struct probe_cidr {
    struct tls_cidr range; /* host bits cleared */
    uint64_t count;        /* addresses in the range */
    uint16_t port;         /* 0: none given */
};
/* TLS_E_TARGET with *why for a malformed range or one of more than max addresses: then *why is
 * over, the caller's reason (the exporter's: it takes no range), or for NULL the scan's, which
 * names --max-cidr. */
int probe_cidr_parse(const char *s, struct probe_cidr *out, uint64_t max, const char *over,
                     const char **why);
/* The index-th address of the range as a target on port. */
void probe_cidr_address(const struct probe_cidr *c, uint64_t index, uint16_t port,
                        struct probe_target_spec *out);

/* One entry of the target list as written (a TARGET argument or a -i line): a target, a CIDR
 * range, or a URL SCHEME://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] whose scheme gives the port
 * when none is written (https: 443, whatever -p says) and the STARTTLS protocol (smtp://: SMTP,
 * https://: none, whatever --starttls says), and whose path, for https, is the GET path of
 * --request. */
struct probe_entry {
    bool is_url;
    bool is_cidr;
    bool url_rest; /* a URL with a path, query or fragment after HOST[:PORT] (not "/" alone) */
    const char *ignored; /* a URL's path taken and not used ("the DN of an LDAP URL"), or NULL */
    enum tls_starttls_proto starttls; /* a URL's; other entries take --starttls or the ports' */
    struct probe_target_spec one;     /* port 0: none given, the caller's port list applies */
    struct probe_cidr cidr;           /* when is_cidr */
    char path[PROBE_PATH_MAX + 1];    /* an https URL's path and query; "" for none or "/" */
    char why[PROBE_HOST_MAX + 160];   /* a reason that names what to write instead */
};
/* 0, or TLS_E_TARGET with *why set to the reason: a static string, or out->why (valid while out
 * is), escaped. A refused URL scheme says why (http is not TLS); an unknown or mistyped one gets
 * a "did you mean" (smtp:/h: "did you mean smtp://h?"); a path, query or fragment in a URL
 * other than https:// is refused naming what to write (SCHEME://ADDR/NN: the CIDR range without
 * a scheme), but for an LDAP URL's DN and a PostgreSQL or MySQL URL's database, accepted and not
 * used (ignored says which). A CIDR range of more than cidr_max addresses is refused with
 * cidr_over as the reason (probe_cidr_parse; NULL: the scan's, naming --max-cidr). */
int probe_entry_parse(const char *s, uint64_t cidr_max, const char *cidr_over,
                      struct probe_entry *out, const char **why);
/* An entry as it may be shown in a message or an error record: escaped (tls_escape_term, ASCII)
 * and with any user name and password (user:pass@) replaced by "***@". Returns dst. */
char *probe_entry_shown(char *dst, size_t cap, const char *s);

/* --resolve HOST:PORT:ADDR (curl's convention) */
struct probe_resolve {
    char host[PROBE_HOST_MAX + 1];
    uint16_t port;
    struct sockaddr_storage addr;
};
int probe_resolve_parse(const char *s, struct probe_resolve *out, const char **why);

/* One record is ready: called once per target, in completion order. */
typedef int probe_emit_fn(void *ctx, const struct report_target *t);

struct probe_input;
struct tls_identity;

struct probe_opts {
    uint16_t versions[PROBE_MAX_VERSIONS]; /* 0x0301 to 0x0304, ascending, probed separately */
    size_t n_versions;
    bool mbedtls_hello; /* --client-hello mbedtls: TLS 1.2 probes open with mbedTLS's ClientHello */
    const char *extra_sni; /* --sni: one more variant with this server name */
    const struct probe_resolve *resolves;
    size_t n_resolves;
    unsigned concurrency;          /* probes in flight at most */
    unsigned per_address;          /* probes in flight to one address at most; 0: no cap */
    double rate;                   /* new connections per second at most; 0: no cap */
    uint64_t connect_timeout_ms;   /* TCP connect */
    uint64_t handshake_timeout_ms; /* connected to capture complete */
    uint64_t timeout_ms;           /* one probe, connect to capture */
    unsigned retries;              /* extra attempts after a transient connect failure */
    size_t capture_limit;          /* bytes captured per probe at most */
    const char *request_path;      /* --request: GET this path after the handshake, or NULL */
    /* --client-key: the certificate mbedTLS presents when a server asks (TLS 1.2 and 1.3 probes
     * then complete the handshake, tls/identity.h); NULL: none, and none is ever sent */
    struct tls_identity *identity;
    /* The resolver stage (resolver.h) */
    const char *dns_servers;  /* c-ares's server list from --dns-server, or NULL: resolv.conf */
    uint64_t dns_timeout_ms;  /* per name */
    unsigned dns_concurrency; /* names in flight at most */
    bool ipv4, ipv6;          /* families looked up for names (literal addresses are kept) */
    bool progress;            /* a progress line on stderr */
    bool quiet;               /* no notes on stderr */
    probe_emit_fn *emit;
    void *emit_ctx;
    /* Back-pressure from the output: while hold returns true no probe starts and no target is
     * opened (asked again every few ms); probes in flight go on and are emitted. NULL: none. */
    bool (*hold)(void *ctx);
    void *hold_ctx;
};

struct probe_stats {
    uint64_t targets, probes;
    uint64_t with_request, without_request, errors;
    uint64_t not_offered;  /* probes of a TLS version the server declines: not errors */
    uint64_t input_errors; /* lines that were not targets */
    uint64_t retries;
    unsigned peak_in_flight;
    uint64_t dns_lookups, dns_shared, dns_failures; /* names asked, answers shared, no address */
    uint64_t output_hold_ms; /* time the hold kept new probes from starting */
    int signal;              /* the signal that stopped the scan, 0 when it ran to the end */
};

/* Probe every target of the input; returns 0, or a negative code when the scan itself could
 * not run (not when targets fail: that is data). */
int probe_scan_run(const struct probe_opts *opts, struct probe_input *input,
                   struct probe_stats *stats);

/* Command line entry point (cli.c). */
int probe_main(int argc, char **argv);

#endif
