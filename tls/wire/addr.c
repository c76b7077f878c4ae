/* Addresses, CIDR ranges and ports in text (addr.h). Pure: reads only s/n, which need not be
 * NUL-terminated, and never writes outside out. The forms follow inet_pton(3) exactly, which the
 * unit tests use as their oracle. */
#include "addr.h"

#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "hex.h"

unsigned tls_addr_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

/* Decimal digits of s/n as a number no larger than max; false for none, another character or
 * more than max. */
static bool decimal(const char *s, size_t n, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max)
            return false; /* also stops overflow */
    }
    *out = v;
    return n > 0;
}

/* RFC 791 dotted quad as inet_pton takes it: four parts 0-255, no leading zeros. */
static bool parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && (i >= n || s[i++] != '.'))
            return false;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            i++;
        unsigned long v;
        if (!decimal(s + start, i - start, 255, &v) || (s[start] == '0' && i - start > 1))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

/* RFC 4291 2.2: groups of 1-4 hex digits separated by ':', at most one "::" standing for one or
 * more zero groups, and the last 32 bits optionally as an IPv4 dotted quad. */
static bool parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint8_t b[16] = {0};
    size_t len = 0, i = 0; /* bytes written, characters read */
    long gap = -1;         /* where "::" stands, in bytes */
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < n) {
        size_t start = i;
        unsigned v = 0;
        for (; i < n && i - start < 5 && tls_hex_value(s[i]) >= 0; i++)
            v = v << 4 | (unsigned)tls_hex_value(s[i]);
        if (i < n && s[i] == '.') { /* the IPv4 tail: the rest of the text */
            if (len > 12 || !parse_v4(s + start, n - start, b + len))
                return false;
            len += 4;
            break;
        }
        if (i == start || i - start > 4 || len == 16)
            return false;
        b[len++] = (uint8_t)(v >> 8);
        b[len++] = (uint8_t)v;
        if (i == n)
            break;
        if (s[i++] != ':' || i == n)
            return false; /* a trailing single ':' */
        if (s[i] == ':') {
            if (gap >= 0)
                return false;
            gap = (long)len;
            i++;
        }
    }
    if (gap < 0 ? len != 16 : len == 16)
        return false; /* too few groups, or a "::" that stands for none */
    if (gap >= 0) {
        size_t tail = len - (size_t)gap;
        memmove(b + 16 - tail, b + gap, tail);
        memset(b + gap, 0, 16 - len);
    }
    memcpy(out, b, 16);
    return true;
}

int tls_addr_parse(struct tls_addr *out, const char *s, size_t n)
{
    memset(out, 0, sizeof(*out));
    bool v6 = memchr(s, ':', n) != NULL;
    if (v6 ? !parse_v6(s, n, out->b) : !parse_v4(s, n, out->b))
        return TLS_E_INVALID;
    out->family = v6 ? AF_INET6 : AF_INET;
    return 0;
}

bool tls_addr_unmap(struct tls_addr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->family != AF_INET6 || memcmp(a->b, mapped, sizeof(mapped)) != 0)
        return false;
    memmove(a->b, a->b + 12, 4);
    memset(a->b + 4, 0, 12);
    a->family = AF_INET;
    return true;
}

bool tls_host_ends_in_number(const char *s, size_t n)
{
    if (n && s[n - 1] == '.')
        n--;
    size_t start = n;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *label = s + start;
    size_t len = n - start, i = 0;
    if (len == 0)
        return false;
    bool hex = len >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X');
    for (i = hex ? 2 : 0; i < len; i++)
        if (hex ? tls_hex_value(label[i]) < 0 : label[i] < '0' || label[i] > '9')
            return false;
    return true;
}

int tls_cidr_parse(struct tls_cidr *out, const char *s, size_t n)
{
    memset(out, 0, sizeof(*out));
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    int rc = tls_addr_parse(&out->net, s, alen);
    if (rc)
        return rc;
    unsigned bits = tls_addr_bits(out->net.family);
    unsigned long prefix = bits;
    if (slash && !decimal(slash + 1, n - alen - 1, bits, &prefix))
        return TLS_E_RANGE;
    out->prefix = (unsigned)prefix;
    for (unsigned i = 0; i < bits / 8; i++) {
        unsigned keep = out->prefix > 8 * i ? out->prefix - 8 * i : 0;
        out->net.b[i] &= (uint8_t)(keep >= 8 ? 0xff : 0xff00u >> keep);
    }
    return 0;
}

bool tls_cidr_contains(const struct tls_cidr *c, const struct tls_addr *a)
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (a->family != c->net.family || memcmp(c->net.b, a->b, full) != 0)
        return false;
    return rest == 0 || ((a->b[full] ^ c->net.b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

void tls_cidr_nth(const struct tls_cidr *c, uint64_t index, struct tls_addr *out)
{
    *out = c->net;
    /* add index to the low host bits (index < the range's size, so no carry into the prefix) */
    for (unsigned i = tls_addr_bits(c->net.family) / 8; i-- > 0 && index;) {
        unsigned sum = out->b[i] + (unsigned)(index & 0xff);
        out->b[i] = (uint8_t)sum;
        index = (index >> 8) + (sum >> 8);
    }
}

int tls_port_parse(const char *s, size_t n, uint16_t *port)
{
    unsigned long v;
    if (!decimal(s, n, 65535, &v) || v == 0)
        return TLS_E_RANGE;
    *port = (uint16_t)v;
    return 0;
}
