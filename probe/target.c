/* Target syntax: host[:port], ipv4[:port], [ipv6][:port], bare ipv6. Untrusted text from
 * files and arguments: every field is length-checked; nothing is resolved here. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "tls/wire/addr.h"
#include "tls/wire/error.h"

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

int probe_cidr_parse(const char *s, struct probe_cidr *out, uint64_t max, const char **why)
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
        *why = "CIDR range larger than --max-cidr addresses";
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
