/* Target syntax: host[:port], ipv4[:port], [ipv6][:port], bare ipv6. Untrusted text from
 * files and arguments: every field is length-checked; nothing is resolved here. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "tls/wire/error.h"

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    if (n == 0)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > 65535)
            return -1; /* also stops overflow; leading zeros are fine */
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

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
        if (parse_port(port, port_len, &out->port)) {
            *why = "port must be a number from 1 to 65535";
            return TLS_E_TARGET;
        }
    } else {
        out->port = default_port; /* 0: the caller applies its port list */
    }

    unsigned char addr[16];
    if (out->family == AF_INET6) {
        if (inet_pton(AF_INET6, out->host, addr) != 1) {
            *why = "invalid IPv6 address";
            return TLS_E_TARGET;
        }
        probe_target_spec_name(out);
        return 0;
    }
    if (inet_pton(AF_INET, out->host, addr) == 1) {
        out->family = AF_INET;
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
    char buf[128];
    size_t len = strlen(s);
    if (len >= sizeof(buf)) {
        *why = "CIDR range too long";
        return TLS_E_TARGET;
    }
    memcpy(buf, s, len + 1);
    char *text = buf, *port = NULL;
    if (buf[0] == '[') {
        /* [v6/prefix]:port */
        char *end = strchr(buf, ']');
        if (end == NULL || (end[1] != 0 && end[1] != ':')) {
            *why = "expected [IPv6/prefix]:port";
            return TLS_E_TARGET;
        }
        *end = 0;
        text = buf + 1;
        if (end[1] == ':')
            port = end + 2;
    } else {
        char *slash = strchr(buf, '/');
        char *colon = slash ? strchr(slash, ':') : NULL;
        if (colon && memchr(buf, ':', (size_t)(slash - buf)) == NULL) {
            *colon = 0; /* a.b.c.d/n:port */
            port = colon + 1;
        }
    }
    char *slash = strchr(text, '/');
    if (slash == NULL) {
        *why = "missing '/' in CIDR range";
        return TLS_E_TARGET;
    }
    *slash = 0;
    if (inet_pton(AF_INET, text, out->base) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, text, out->base) == 1)
        out->family = AF_INET6;
    else {
        *why = "invalid address in CIDR range";
        return TLS_E_TARGET;
    }
    unsigned bits = out->family == AF_INET ? 32 : 128;
    unsigned long long prefix;
    char *end;
    if (slash[1] < '0' || slash[1] > '9' || (prefix = strtoull(slash + 1, &end, 10), *end) ||
        prefix > bits) {
        *why = "invalid prefix length";
        return TLS_E_TARGET;
    }
    out->prefix = (unsigned)prefix;
    unsigned host_bits = bits - out->prefix;
    if (host_bits >= 63 || (1ULL << host_bits) > max) {
        *why = "CIDR range larger than --max-cidr addresses";
        return TLS_E_TARGET;
    }
    out->count = 1ULL << host_bits;
    /* Clear the host bits: 10.0.0.7/24 is 10.0.0.0/24. */
    unsigned nbytes = bits / 8;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned first = i * 8;
        if (first >= out->prefix)
            out->base[i] = 0;
        else if (out->prefix - first < 8)
            out->base[i] &= (uint8_t)(0xff << (8 - (out->prefix - first)));
    }
    if (port) {
        unsigned long long p;
        if (*port < '0' || *port > '9' || (p = strtoull(port, &end, 10), *end) || p == 0 ||
            p > 65535) {
            *why = "port must be a number from 1 to 65535";
            return TLS_E_TARGET;
        }
        out->port = (uint16_t)p;
    }
    return 0;
}

void probe_cidr_address(const struct probe_cidr *c, uint64_t index, uint16_t port,
                        struct probe_target_spec *out)
{
    memset(out, 0, sizeof(*out));
    uint8_t a[16];
    unsigned nbytes = c->family == AF_INET ? 4 : 16;
    memcpy(a, c->base, nbytes);
    /* add index to the low host bits (index < count, so no carry into the prefix) */
    for (unsigned i = nbytes; i-- > 0 && index;) {
        unsigned sum = a[i] + (unsigned)(index & 0xff);
        a[i] = (uint8_t)sum;
        index = (index >> 8) + (sum >> 8);
    }
    inet_ntop(c->family, a, out->host, sizeof(out->host));
    out->family = c->family;
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
    if (parse_port(c1 + 1, (size_t)(c2 - c1 - 1), &out->port)) {
        *why = "port must be a number from 1 to 65535";
        return TLS_E_TARGET;
    }
    char addr[64];
    const char *a = c2 + 1;
    size_t al = strlen(a);
    if (al >= 2 && a[0] == '[' && a[al - 1] == ']') {
        a++;
        al -= 2;
    }
    if (al == 0 || al >= sizeof(addr)) {
        *why = "invalid address";
        return TLS_E_TARGET;
    }
    memcpy(addr, a, al);
    addr[al] = 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(out->port);
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(out->port);
    } else {
        *why = "invalid address";
        return TLS_E_TARGET;
    }
    return 0;
}
