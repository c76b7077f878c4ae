/* Target syntax: host[:port], ipv4[:port], [ipv6][:port], bare ipv6, CIDR ranges, and URLs
 * (https://HOST[:PORT][/PATH]). Untrusted text from files and arguments: every field is
 * length-checked; nothing is resolved here, and a password in a URL is never shown. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "request.h"
#include "tls/wire/addr.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/similar.h"

/* RFC 1123 2.1 host names; '_' is accepted because internal names use it. */
static int valid_hostname(const char *h, size_t n)
{
    if (n == 0 || n > PROBE_HOST_MAX)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch == '.') {
            if (label == 0 || h[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!(isalnum(ch) || ch == '-' || ch == '_'))
            return 0;
        if (label == 0 && ch == '-')
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 || n > 1; /* a trailing dot is fine, a lone dot is not */
}

static int all_digits_and_dots(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)h[i]) || h[i] == '.'))
            return 0;
    return 1;
}

int probe_target_parse(const char *s, uint16_t default_port, struct probe_target_spec *out,
                       const char **why)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(s);
    const char *host = s, *port = NULL;
    size_t host_len = len, port_len = 0;
    *why = NULL;

    if (len == 0) {
        *why = "empty target";
        return TLS_E_TARGET;
    }
    if (strchr(s, '/')) {
        *why = "a CIDR range where one target is expected";
        return TLS_E_TARGET;
    }
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL) {
            *why = "missing ']' after IPv6 address";
            return TLS_E_TARGET;
        }
        host = s + 1;
        host_len = (size_t)(end - host);
        if (end[1] == ':') {
            port = end + 2;
            port_len = strlen(port);
        } else if (end[1] != 0) {
            *why = "unexpected text after ']'";
            return TLS_E_TARGET;
        }
        out->family = AF_INET6;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            out->family = AF_INET6; /* bare IPv6 address, no port */
        } else if (colon) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
            port_len = strlen(port);
        }
    }
    if (host_len == 0 || host_len > PROBE_HOST_MAX) {
        *why = host_len ? "host name too long" : "missing host";
        return TLS_E_TARGET;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = 0;

    if (port) {
        if (tls_port_parse(port, port_len, &out->port)) {
            *why = "port must be a number from 1 to 65535";
            return TLS_E_TARGET;
        }
    } else {
        out->port = default_port; /* 0: the caller applies its port list */
    }

    struct tls_addr addr;
    int bad = tls_addr_parse(&addr, out->host, host_len);
    if (out->family == AF_INET6) {
        if (bad || addr.family != AF_INET6) {
            *why = "invalid IPv6 address";
            return TLS_E_TARGET;
        }
        probe_target_spec_name(out);
        return 0;
    }
    if (!bad) {
        out->family = AF_INET; /* no ':' in it, so not IPv6 */
    } else if (all_digits_and_dots(out->host, host_len)) {
        *why = "invalid IPv4 address";
        return TLS_E_TARGET;
    } else if (!valid_hostname(out->host, host_len)) {
        *why = "invalid host name";
        return TLS_E_TARGET;
    } else {
        out->family = AF_UNSPEC;
        if (out->host[host_len - 1] == '.')
            out->host[host_len - 1] = 0;
        for (char *p = out->host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    probe_target_spec_name(out);
    return 0;
}

void probe_target_spec_name(struct probe_target_spec *t)
{
    snprintf(t->spec, sizeof(t->spec), t->family == AF_INET6 ? "[%s]:%u" : "%s:%u", t->host,
             t->port);
}

int probe_cidr_parse(const char *s, struct probe_cidr *out, uint64_t max, const char *over,
                     const char **why)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(s);
    const char *text = s, *end = s + len, *port = NULL;
    if (len >= 128) {
        *why = "CIDR range too long";
        return TLS_E_TARGET;
    }
    if (s[0] == '[') {
        /* [v6/prefix]:port */
        const char *close = strchr(s, ']');
        if (close == NULL || (close[1] != 0 && close[1] != ':')) {
            *why = "expected [IPv6/prefix]:port";
            return TLS_E_TARGET;
        }
        text = s + 1;
        end = close;
        if (close[1] == ':')
            port = close + 2;
    } else {
        const char *slash = strchr(s, '/');
        const char *colon = slash ? strchr(slash, ':') : NULL;
        if (colon && memchr(s, ':', (size_t)(slash - s)) == NULL) {
            end = colon; /* a.b.c.d/n:port */
            port = colon + 1;
        }
    }
    if (memchr(text, '/', (size_t)(end - text)) == NULL) {
        *why = "missing '/' in CIDR range";
        return TLS_E_TARGET;
    }
    int rc = tls_cidr_parse(&out->range, text, (size_t)(end - text));
    if (rc) {
        *why = rc == TLS_E_RANGE ? "invalid prefix length" : "invalid address in CIDR range";
        return TLS_E_TARGET;
    }
    unsigned host_bits = tls_addr_bits(out->range.net.family) - out->range.prefix;
    if (host_bits >= 63 || (1ULL << host_bits) > max) {
        *why = over ? over : "CIDR range larger than --max-cidr addresses";
        return TLS_E_TARGET;
    }
    out->count = 1ULL << host_bits;
    if (port && tls_port_parse(port, strlen(port), &out->port)) {
        *why = "port must be a number from 1 to 65535";
        return TLS_E_TARGET;
    }
    return 0;
}

void probe_cidr_address(const struct probe_cidr *c, uint64_t index, uint16_t port,
                        struct probe_target_spec *out)
{
    memset(out, 0, sizeof(*out));
    struct tls_addr a;
    tls_cidr_nth(&c->range, index, &a);
    inet_ntop(a.family, a.b, out->host, sizeof(out->host));
    out->family = a.family;
    out->port = port;
    probe_target_spec_name(out);
}

/* URL schemes (RFC 3986 3.1, compared without case) and what a target written with each means:
 * the port when the URL has none (as curl does: -p does not apply), the STARTTLS protocol
 * spoken before the TLS bytes, whether the path is an HTTP path for --request, or why the
 * scheme is refused. */
struct url_scheme {
    const char *name;
    uint16_t port; /* 0: refused */
    enum tls_starttls_proto starttls;
    bool http;        /* the path and query are the request-target of GET */
    const char *why;  /* when refused */
    const char *near; /* "did you mean" for a mistyped scheme */
    /* What the path and query of such a URL name on the server, taken and not used: what
     * configurations hold (an LDAP URL's DN and its ?attributes?scope?filter, RFC 4516 2; a
     * PostgreSQL or MySQL connection URI's database and parameters); NULL: none is taken */
    const char *ignored;
};

#define SCHEME(n, p, st)                                                                           \
    {                                                                                              \
        .name = n, .port = p, .starttls = st, .near = "unknown URL scheme; did you mean " n "://?" \
    }
#define SCHEME_PATH(n, p, st, what)                                                                \
    {                                                                                              \
        .name = n, .port = p, .starttls = st,                                                      \
        .near = "unknown URL scheme; did you mean " n "://?", .ignored = what                      \
    }
#define LDAP_DN "the DN of an LDAP URL"
#define DB_NAME(d) "the database name of a " d " URL"

static const struct url_scheme url_schemes[] = {
    {.name = "https",
     .port = 443,
     .http = true,
     .near = "unknown URL scheme; did you mean https://?"},
    /* implicit TLS: the server speaks TLS from the first byte, as a HOST:PORT target */
    SCHEME_PATH("ldaps", 636, TLS_STARTTLS_NONE, LDAP_DN),
    SCHEME("smtps", 465, TLS_STARTTLS_NONE),
    SCHEME("imaps", 993, TLS_STARTTLS_NONE),
    SCHEME("pop3s", 995, TLS_STARTTLS_NONE),
    SCHEME("ftps", 990, TLS_STARTTLS_NONE),
    SCHEME("nntps", 563, TLS_STARTTLS_NONE),
    {.name = "http",
     .why = "http:// is plain HTTP and caprobe probes TLS: use https:// or HOST:PORT"},
    /* STARTTLS: a plaintext exchange comes first (tls/wire/starttls.h) */
    SCHEME("smtp", 25, TLS_STARTTLS_SMTP),
    SCHEME("submission", 587, TLS_STARTTLS_SMTP),
    SCHEME("lmtp", 24, TLS_STARTTLS_LMTP),
    SCHEME("imap", 143, TLS_STARTTLS_IMAP),
    SCHEME("pop3", 110, TLS_STARTTLS_POP3),
    SCHEME("ftp", 21, TLS_STARTTLS_FTP),
    SCHEME_PATH("ldap", 389, TLS_STARTTLS_LDAP, LDAP_DN),
    SCHEME_PATH("postgres", 5432, TLS_STARTTLS_POSTGRES, DB_NAME("PostgreSQL")),
    SCHEME_PATH("postgresql", 5432, TLS_STARTTLS_POSTGRES, DB_NAME("PostgreSQL")),
    SCHEME_PATH("mysql", 3306, TLS_STARTTLS_MYSQL, DB_NAME("MySQL")),
    SCHEME("xmpp", 5222, TLS_STARTTLS_XMPP),
    SCHEME("nntp", 119, TLS_STARTTLS_NNTP),
    SCHEME("sieve", 4190, TLS_STARTTLS_SIEVE),
};
#define N_SCHEMES (sizeof(url_schemes) / sizeof(url_schemes[0]))

#define SCHEME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."

/* The length of the scheme when s is written as a URL (SCHEME://...), else -1. */
static long url_scheme_len(const char *s)
{
    size_t n = strspn(s, SCHEME_CHARS);
    return strncmp(s + n, "://", 3) == 0 ? (long)n : -1;
}

/* The entry of the scheme s[0..n) (compared without case), *exact; else the scheme caprobe takes
 * that it is a letter or two from, !*exact; NULL when there is neither. */
static const struct url_scheme *url_scheme_near(const char *s, size_t n, bool *exact)
{
    char name[TLS_SIMILAR_MAX + 1];
    *exact = false;
    if (n == 0 || n >= sizeof(name) || !isalpha((unsigned char)s[0]))
        return NULL; /* RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)s[i]);
    name[n] = 0;
    const char *taken[N_SCHEMES];
    size_t k = 0;
    for (size_t i = 0; i < N_SCHEMES; i++) {
        if (strcmp(name, url_schemes[i].name) == 0) {
            *exact = true;
            return &url_schemes[i];
        }
        if (url_schemes[i].port)
            taken[k++] = url_schemes[i].name;
    }
    long near = tls_closest(name, taken, k);
    for (size_t i = 0; near >= 0 && i < N_SCHEMES; i++)
        if (url_schemes[i].name == taken[near])
            return &url_schemes[i];
    return NULL;
}

/* The entry of the scheme s[0..n) (SCHEME_CHARS only), or NULL with *why for one caprobe does
 * not know ("did you mean" when it is one letter or two from one it takes). */
static const struct url_scheme *url_scheme_find(const char *s, size_t n, const char **why)
{
    bool exact;
    const struct url_scheme *scheme = url_scheme_near(s, n, &exact);
    if (exact)
        return scheme;
    *why = scheme ? scheme->near
                  : "unknown URL scheme: caprobe takes https://HOST[:PORT][/PATH], a STARTTLS or "
                    "implicit-TLS scheme (smtp://, ldaps://, ...: docs/scanning.md) or "
                    "HOST[:PORT]";
    return NULL;
}

/* "smtp:/h", "smtp:///h", "smtp ://h", "smtp: //h", "smtp:\\h", "https:h" (h no port): a URL
 * whose "://" is mistyped, when the word before the ':' is a scheme caprobe takes or a letter or
 * two from one. The reason (in e->why: "did you mean smtp://h?"), or NULL when s is no such
 * thing (a host:port, an IPv6 address, a CIDR range). */
static const char *url_typo(const char *s, struct probe_entry *e)
{
    size_t n = strspn(s, SCHEME_CHARS), sp = strspn(s + n, " \t");
    if (n == 0 || s[n + sp] != ':')
        return NULL;
    const char *t = s + n + sp + 1;
    size_t sp2 = strspn(t, " \t");
    size_t slashes = strspn(t + sp2, "/\\");
    const char *rest = t + sp2 + slashes;
    size_t digits = strspn(rest, "0123456789");
    if (sp + sp2 + slashes == 0 && (rest[0] == ':' || (digits && digits == strcspn(rest, "/"))))
        return NULL; /* HOST:PORT[/...] (a bad port is told as such), or an IPv6 address */
    bool exact;
    const struct url_scheme *scheme = url_scheme_near(s, n, &exact);
    if (scheme == NULL)
        return NULL;
    if (scheme->why)
        return scheme->why; /* http: refused however it is written */
    char shown[128];
    if (strlen(rest) >= sizeof(shown) / 4) {
        snprintf(e->why, sizeof(e->why), "malformed URL: write %s://HOST[:PORT]", scheme->name);
        return e->why;
    }
    snprintf(e->why, sizeof(e->why), "malformed URL: did you mean %s://%s?", scheme->name,
             tls_escape_term(shown, sizeof(shown), rest, TLS_ESCAPE_ASCII));
    return e->why;
}

/* The authority of a URL or a target: where a user name and password would be (RFC 3986 3.2:
 * after "SCHEME://", up to the first '/', '?' or '#'); *at is its last '@', or NULL. */
static const char *authority(const char *s, size_t *len, const char **at)
{
    long scheme = url_scheme_len(s);
    const char *a = scheme >= 0 ? s + scheme + 3 : s;
    *len = strcspn(a, "/?#");
    *at = NULL;
    for (size_t i = 0; i < *len; i++)
        if (a[i] == '@')
            *at = a + i;
    return a;
}

/* Whether the path p/n of an LDAP URL is a DN (RFC 4516 2: dn is RFC 4514's string form, its
 * '=' written as is or percent-encoded) or empty. */
static bool ldap_dn(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '=' ||
            (p[i] == '%' && i + 2 < n && p[i + 1] == '3' && (p[i + 2] == 'd' || p[i + 2] == 'D')))
            return true;
    return n == 0;
}

/* What follows HOST[:PORT] in a URL other than https:// (rest): nothing, or "/" alone (an empty
 * path). The path and query of a scheme whose URLs name something on the server there (an LDAP
 * URL's DN, a database) are accepted and not used (out->ignored says what); an LDAP URL's path
 * must be a DN. Anything else is refused, naming what to write instead: SCHEME://ADDR/NN is a
 * CIDR range, which takes no scheme. */
static int url_rest_check(const struct url_scheme *scheme, const char *rest,
                          struct probe_entry *out, const char **why)
{
    const struct probe_target_spec *t = &out->one;
    if (rest[0] == 0 || strcmp(rest, "/") == 0)
        return 0;
    *why = out->why;
    size_t digits = strspn(rest + 1, "0123456789");
    if (rest[0] == '/' && t->family != AF_UNSPEC && digits && digits <= 3 && !rest[1 + digits]) {
        char range[PROBE_HOST_MAX + 16];
        snprintf(range, sizeof(range), t->family == AF_INET6 ? "'[%s%s]:%u'" : "%s%s:%u", t->host,
                 rest, t->port);
        const char *proto = tls_starttls_name(scheme->starttls);
        if (proto == NULL && tls_starttls_for_port(t->port) != TLS_STARTTLS_NONE)
            proto = "none"; /* TLS at once on a port of the STARTTLS table */
        snprintf(out->why, sizeof(out->why), "a CIDR range is written without a scheme: %s%s%s%s",
                 proto ? "--starttls " : "", proto ? proto : "", proto ? " " : "", range);
        return TLS_E_TARGET;
    }
    size_t path = strcspn(rest, "?#");
    bool named = scheme->ignored && rest[0] == '/' && !strchr(rest, '#');
    if (named && strcmp(scheme->ignored, LDAP_DN) == 0 && !ldap_dn(rest + 1, path - 1)) {
        snprintf(out->why, sizeof(out->why),
                 "the path of an %s:// URL is a DN (RFC 4516: %s://HOST/dc=example,dc=com), which "
                 "caprobe does not use: write %s://HOST[:PORT]",
                 scheme->name, scheme->name, scheme->name);
        return TLS_E_TARGET;
    }
    if (named) {
        out->ignored = scheme->ignored;
        return 0;
    }
    /* the first part that may not be there: "/?q" is a query; a DN or database and its query
     * may be */
    char c = scheme->ignored && rest[0] == '/' ? '#'
             : rest[0] == '/' && path == 1     ? rest[1]
                                               : rest[0];
    const char *part = c == '/'   ? "a path (/...)"
                       : c == '?' ? "a query (?...)"
                                  : "a fragment (#...)";
    snprintf(out->why, sizeof(out->why),
             "%s:// URLs take no %s: write %s://HOST[:PORT] (only an https:// URL's path is "
             "used, by --request)",
             scheme->name, part + 2, scheme->name);
    return TLS_E_TARGET;
}

/* SCHEME://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]: the target HOST:PORT and, for https, the path
 * and query (RFC 9112 3.2.1: an empty path is sent as "/"); the fragment is never sent. */
static int url_parse(const char *s, size_t scheme_len, struct probe_entry *out, const char **why)
{
    const struct url_scheme *scheme = url_scheme_find(s, scheme_len, why);
    if (scheme == NULL)
        return TLS_E_TARGET;
    if (scheme->why) {
        *why = scheme->why;
        return TLS_E_TARGET;
    }
    out->is_url = true;
    out->starttls = scheme->starttls;
    size_t len;
    const char *at;
    const char *auth = authority(s, &len, &at);
    if (memchr(auth, '%', len)) {
        *why = "a percent-encoded host (%XX): write the host name or address as it is";
        return TLS_E_TARGET;
    }
    const char *colon = memchr(auth, ':', len);
    if (auth[0] != '[' && colon && memchr(colon + 1, ':', len - (size_t)(colon - auth) - 1)) {
        *why = "an IPv6 address in a URL goes in brackets: https://[2001:db8::1]:443/";
        return TLS_E_TARGET;
    }
    char hostport[PROBE_HOST_MAX + 16];
    if (len >= sizeof(hostport)) {
        *why = "host name too long";
        return TLS_E_TARGET;
    }
    memcpy(hostport, auth, len);
    if (len && hostport[len - 1] == ':')
        len--; /* RFC 3986 3.2.3: an empty port is the scheme's */
    hostport[len] = 0;
    if (len == 0 || hostport[0] == ':') {
        *why = "missing host after ://";
        return TLS_E_TARGET;
    }
    int rc = probe_target_parse(hostport, scheme->port, &out->one, why);
    const char *rest = auth + strcspn(auth, "/?#");
    out->url_rest = rest[0] && strcmp(rest, "/") != 0;
    if (rc || !scheme->http)
        return rc ? rc : url_rest_check(scheme, rest, out, why);
    size_t n = strcspn(rest, "#");
    if (n == 0 || (n == 1 && rest[0] == '/'))
        return 0;                  /* no path of its own: --request's applies */
    size_t slash = rest[0] == '?'; /* "?q" alone: the path is empty, sent as "/?q" */
    if (n + slash > PROBE_PATH_MAX) {
        *why = "the path is longer than 2048 bytes";
        return TLS_E_TARGET;
    }
    out->path[0] = '/';
    memcpy(out->path + slash, rest, n);
    out->path[n + slash] = 0;
    if ((*why = probe_request_path_check(out->path)))
        return TLS_E_TARGET;
    return 0;
}

/* "example.com/x" or "10.0.0.1:8443/x": a target and a path, not a CIDR range. */
static bool host_with_path(const char *s)
{
    size_t n = strcspn(s, "/");
    char head[PROBE_HOST_MAX + 16];
    if (n >= sizeof(head))
        return false;
    memcpy(head, s, n);
    head[n] = 0;
    struct probe_target_spec t;
    const char *why;
    return probe_target_parse(head, 0, &t, &why) == 0 && (t.family == AF_UNSPEC || t.port != 0);
}

int probe_entry_parse(const char *s, uint64_t cidr_max, const char *cidr_over,
                      struct probe_entry *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    size_t len;
    const char *at;
    authority(s, &len, &at);
    if (at) {
        *why = "a user name or password (user:pass@): caprobe sends neither, remove it";
        return TLS_E_TARGET;
    }
    long scheme = url_scheme_len(s);
    if (scheme >= 0)
        return url_parse(s, (size_t)scheme, out, why);
    if ((*why = url_typo(s, out)))
        return TLS_E_TARGET;
    if (strchr(s, '/') == NULL)
        return probe_target_parse(s, 0, &out->one, why);
    out->is_cidr = true;
    int rc = probe_cidr_parse(s, &out->cidr, cidr_max, cidr_over, why);
    if (rc && host_with_path(s))
        *why = "a host with a path: write it as a URL, https://HOST[:PORT]/PATH";
    return rc;
}

char *probe_entry_shown(char *dst, size_t cap, const char *s)
{
    size_t len;
    const char *at;
    const char *auth = authority(s, &len, &at);
    if (at == NULL)
        return tls_escape_term(dst, cap, s, TLS_ESCAPE_ASCII);
    if (cap < 8)
        return tls_escape_term(dst, cap, "", 0);
    /* the scheme, "***", then from the '@' on: the user name goes with the password */
    char head[32];
    size_t n = (size_t)(auth - s) < sizeof(head) - 1 ? (size_t)(auth - s) : sizeof(head) - 1;
    memcpy(head, s, n);
    head[n] = 0;
    tls_escape_term(dst, cap - 4, head, TLS_ESCAPE_ASCII);
    size_t used = strlen(dst);
    memcpy(dst + used, "***", 4);
    used += 3;
    tls_escape_term(dst + used, cap - used, at, TLS_ESCAPE_ASCII);
    return dst;
}

int probe_resolve_parse(const char *s, struct probe_resolve *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    /* HOST:PORT:ADDR, ADDR may be an IPv6 address in brackets or bare. */
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c1 == NULL || c2 == NULL) {
        *why = "expected HOST:PORT:ADDRESS";
        return TLS_E_TARGET;
    }
    size_t hl = (size_t)(c1 - s);
    if (!valid_hostname(s, hl) || hl > PROBE_HOST_MAX) {
        *why = "invalid host name";
        return TLS_E_TARGET;
    }
    memcpy(out->host, s, hl);
    out->host[hl] = 0;
    for (char *p = out->host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (tls_port_parse(c1 + 1, (size_t)(c2 - c1 - 1), &out->port)) {
        *why = "port must be a number from 1 to 65535";
        return TLS_E_TARGET;
    }
    const char *a = c2 + 1;
    size_t al = strlen(a);
    if (al >= 2 && a[0] == '[' && a[al - 1] == ']') {
        a++;
        al -= 2;
    }
    struct tls_addr addr;
    if (tls_addr_parse(&addr, a, al)) {
        *why = "invalid address";
        return TLS_E_TARGET;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
    if (addr.family == AF_INET) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(out->port);
        memcpy(&v4->sin_addr, addr.b, 4);
    } else {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(out->port);
        memcpy(&v6->sin6_addr, addr.b, 16);
    }
    return 0;
}
