/* Numeric IP addresses, CIDR ranges and port numbers in text: the one parser of them, for target
 * lists (probe/target.c) and policy patterns (report/policy.c). Text in, network-order bytes out;
 * no allocation, no name resolution. Addresses are exactly the forms inet_pton(3) accepts. */
#ifndef TLS_WIRE_ADDR_H
#define TLS_WIRE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_addr {
    int family;    /* AF_INET or AF_INET6 */
    uint8_t b[16]; /* network byte order; an IPv4 address in the first 4 */
};

/* RFC 4632 3.1 (IPv4), RFC 4291 2.3 (IPv6): a network and the length of its prefix. */
struct tls_cidr {
    struct tls_addr net; /* host bits cleared: 10.0.0.7/24 is 10.0.0.0/24 */
    unsigned prefix;     /* 0 to 32, or 0 to 128 */
};

/* Bits of an address of the family: 32 (AF_INET) or 128. */
unsigned tls_addr_bits(int family);

/* s/n as one address: IPv4 as four decimal parts 0-255 without leading zeros, IPv6 as in RFC
 * 4291 2.2 (1-4 hex digits a group, one "::" for one or more zero groups, an IPv4 tail). The
 * family is IPv6 when s holds a ':'. Returns 0 or TLS_E_INVALID. */
int tls_addr_parse(struct tls_addr *out, const char *s, size_t n);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2), which a connection reaches as
 * the IPv4 address a.b.c.d, made that IPv4 address in place: true when a was one. */
bool tls_addr_unmap(struct tls_addr *a);

/* Whether the host s/n ends in a number (the WHATWG URL Standard's "ends in a number" checker):
 * its last label, a trailing dot aside, is decimal digits, or "0x" and hex digits (any case).
 * Such a host is no DNS name (RFC 3696 2: a top-level label is never all-numeric) but an IPv4
 * address in one of the forms inet_aton(3) and browsers read besides four decimal parts:
 * 2130706433, 0x7f000001, 0177.0.0.1, 127.1 are all 127.0.0.1. */
bool tls_host_ends_in_number(const char *s, size_t n);

/* s/n as ADDRESS/PREFIX, or as ADDRESS alone (a range of one: the full prefix). Returns 0,
 * TLS_E_INVALID (the address), or TLS_E_RANGE (the prefix is not 0 to the family's bits, in
 * decimal; out->net.family then says which family the address was). */
int tls_cidr_parse(struct tls_cidr *out, const char *s, size_t n);

/* Whether a is in c (same family, same first prefix bits). */
bool tls_cidr_contains(const struct tls_cidr *c, const struct tls_addr *a);

/* The index-th address of c, counting from its network address; index must be below
 * 2^(bits - prefix) (the caller bounds it). */
void tls_cidr_nth(const struct tls_cidr *c, uint64_t index, struct tls_addr *out);

/* s/n as a port: decimal digits (leading zeros allowed), 1 to 65535. Returns 0 or
 * TLS_E_RANGE. */
int tls_port_parse(const char *s, size_t n, uint16_t *port);

#endif
