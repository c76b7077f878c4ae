/* Unit tests for tls/wire/addr.h: addresses against inet_pton(3) as the oracle (the examples of
 * RFC 4291 2.2, edge forms, every address inet_ntop writes, and a deterministic stream of
 * generated strings), CIDR ranges with the examples of RFC 4291 2.3 and the block sizes of the
 * table in RFC 4632 3.1, containment, the n-th address of a range, and ports; IPv4-mapped
 * addresses unmapped, and hosts that end in a number against inet_aton(3), which reads them as
 * addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "tls/wire/addr.h"
#include "tls/wire/error.h"

/* tls_addr_parse must agree with inet_pton on s/n: same verdict, same family, same bytes. */
static void agree(const char *s, size_t n)
{
    char z[128];
    assert_true(n < sizeof(z));
    memcpy(z, s, n);
    z[n] = 0;
    uint8_t want[16] = {0};
    int family = 0;
    if (strlen(z) == n && inet_pton(AF_INET, z, want) == 1)
        family = AF_INET;
    else if (strlen(z) == n && inet_pton(AF_INET6, z, want) == 1)
        family = AF_INET6;
    struct tls_addr a;
    int rc = tls_addr_parse(&a, s, n);
    if (family == 0 && rc != TLS_E_INVALID)
        fail_msg("'%s': accepted, inet_pton refuses it", z);
    if (family != 0 && rc != 0)
        fail_msg("'%s': refused, inet_pton accepts it", z);
    if (family != 0 && (a.family != family || memcmp(a.b, want, family == AF_INET ? 4 : 16) != 0))
        fail_msg("'%s': other bytes than inet_pton's", z);
}

static void agree_str(const char *s)
{
    agree(s, strlen(s));
}

static void test_addr_forms(void **state)
{
    (void)state;
    static const char *const texts[] = {
        /* RFC 4291 2.2, the three conventional forms */
        "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
        "2001:DB8:0:0:8:800:200C:417A",
        "2001:DB8::8:800:200C:417A",
        "FF01:0:0:0:0:0:0:101",
        "FF01::101",
        "0:0:0:0:0:0:0:1",
        "::1",
        "0:0:0:0:0:0:0:0",
        "::",
        "0:0:0:0:0:0:13.1.68.3",
        "0:0:0:0:0:FFFF:129.144.52.38",
        "::13.1.68.3",
        "::FFFF:129.144.52.38",
        /* "::" at either end, standing for one group, and where it may not stand */
        "1::",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "1:2:3:4::5:6:7:8",
        "1::2::3",
        ":::",
        "::::",
        ":1::",
        "1:::2",
        /* groups: too many, too few, too long, leading zeros, not hex */
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "12345::",
        "0001:02:003::",
        "00000::",
        "g::",
        "1:",
        ":1",
        "1::2:",
        ":",
        "",
        "1:2:3:4:5:6:7:8:",
        "abcd:EF01::",
        "::-1",
        "::+1",
        /* IPv4 tails */
        "::1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "1:2:3:4:5::1.2.3.4",
        "1:2:3:4:5:6::1.2.3.4",
        "::1.2.3",
        "::1.2.3.4.5",
        "::01.2.3.4",
        "::1.2.3.256",
        "::1.2.3.4:5",
        "1.2.3.4::",
        "::a.2.3.4",
        "::1.2.3.4/",
        "::ffff:255.255.255.255",
        /* IPv4 */
        "0.0.0.0",
        "255.255.255.255",
        "192.0.2.1",
        "10.20.30.40",
        "1.2.3.04",
        "01.2.3.4",
        "1.2.3.256",
        "1.2.3",
        "1.2.3.4.",
        ".1.2.3.4",
        "1..2.3",
        "1.2.3.4.5",
        "1.2.3.-4",
        "1.2.3.0x4",
        "1.2.3.4 ",
        " 1.2.3.4",
        "1.2.3.999",
        "1.2.3.1000",
        "1",
        "10.0.0.0/8",
        "0x7f.1",
        "127.1",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++)
        agree_str(texts[i]);

    /* exact bytes of RFC 4291's examples, and the family */
    struct tls_addr a;
    assert_int_equal(tls_addr_parse(&a, "::FFFF:129.144.52.38", 20), 0);
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 129, 144, 52, 38};
    assert_int_equal(a.family, AF_INET6);
    assert_memory_equal(a.b, mapped, 16);
    assert_int_equal(tls_addr_parse(&a, "192.0.2.1", 9), 0);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(tls_addr_bits(a.family), 32);
    assert_int_equal(tls_addr_bits(AF_INET6), 128);

    /* the text need not be terminated: only s/n is read */
    agree("192.0.2.1234", 9);
    agree("2001:db8::1:2", 11);
    agree("::1\0:2", 5); /* a NUL inside: refused, as C strings cannot say it */
}

/* Every address inet_ntop writes parses back to its bytes; the fully written form too. */
static void test_addr_round_trip(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        uint8_t b[16];
        for (int k = 0; k < 16; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* runs of zero groups, so that "::" lands everywhere */
            b[k] = (x >> 8 & 3) == 0 ? 0 : (uint8_t)x;
        }
        size_t at = (x >> 20) % 16, run = (x >> 24) % 8;
        if (i % 3 == 0)
            memset(b + at, 0, run < 16 - at ? run : 16 - at);
        char text[INET6_ADDRSTRLEN], full[64];
        int family = i % 4 == 0 ? AF_INET : AF_INET6;
        assert_non_null(inet_ntop(family, b, text, sizeof(text)));
        agree_str(text);
        struct tls_addr a;
        assert_int_equal(tls_addr_parse(&a, text, strlen(text)), 0);
        assert_memory_equal(a.b, b, family == AF_INET ? 4 : 16);
        if (family == AF_INET6) {
            snprintf(full, sizeof(full), "%x:%X:%x:%X:%04x:%x:%x:%x", b[0] << 8 | b[1],
                     b[2] << 8 | b[3], b[4] << 8 | b[5], b[6] << 8 | b[7], b[8] << 8 | b[9],
                     b[10] << 8 | b[11], b[12] << 8 | b[13], b[14] << 8 | b[15]);
            agree_str(full);
        }
    }
}

/* The next string of 1 to max_pieces pieces (a deterministic xorshift64 stream in *x) into s,
 * NUL-terminated, shorter than 80 bytes: its length. */
#define GENERATED_MAX 100
static size_t generate(uint64_t *x, const char *const *pieces, size_t np, unsigned max_pieces,
                       char s[GENERATED_MAX])
{
    size_t n = 0;
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    unsigned count = 1 + (unsigned)(*x % max_pieces);
    for (unsigned k = 0; k < count; k++) {
        const char *p = pieces[(*x >> (5 * (k % 12))) % np];
        size_t l = strlen(p);
        if (n + l >= 80)
            break;
        memcpy(s + n, p, l);
        n += l;
    }
    s[n] = 0;
    return n;
}

/* Strings made of address-like pieces: the parser and inet_pton judge every one alike. */
static void test_addr_generated(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "0",  "1", "00", "01", "255", "256", "ffff", "FfFf", "abcd", "12345", "g", ":",
        "::", ":", ".",  ".",  "1.2", "3.4", "0.0",  "1",    "a",    "f",     "",  "%",
    };
    size_t np = sizeof(pieces) / sizeof(*pieces);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 300000; i++) {
        char s[GENERATED_MAX];
        agree(s, generate(&x, pieces, np, 12, s));
    }
}

static void cidr(const char *s, int rc, const char *net, unsigned prefix)
{
    struct tls_cidr c;
    int got = tls_cidr_parse(&c, s, strlen(s));
    if (got != rc)
        fail_msg("'%s': rc %d, want %d", s, got, rc);
    if (rc)
        return;
    char text[INET6_ADDRSTRLEN];
    inet_ntop(c.net.family, c.net.b, text, sizeof(text));
    if (strcmp(text, net) != 0 || c.prefix != prefix)
        fail_msg("'%s': %s/%u, want %s/%u", s, text, c.prefix, net, prefix);
}

static bool contains(const char *range, const char *addr)
{
    struct tls_cidr c;
    struct tls_addr a;
    assert_int_equal(tls_cidr_parse(&c, range, strlen(range)), 0);
    assert_int_equal(tls_addr_parse(&a, addr, strlen(addr)), 0);
    return tls_cidr_contains(&c, &a);
}

static void test_cidr_rfc4291(void **state)
{
    (void)state;
    /* RFC 4291 2.3: three legal ways to write the prefix 2001:db8:0:cd30::/60 */
    cidr("2001:0DB8:0000:CD30:0000:0000:0000:0000/60", 0, "2001:db8:0:cd30::", 60);
    cidr("2001:0DB8::CD30:0:0:0:0/60", 0, "2001:db8:0:cd30::", 60);
    cidr("2001:0DB8:0:CD30::/60", 0, "2001:db8:0:cd30::", 60);
    /* and its not legal ones: trailing zeros dropped, or "::" in the wrong place (that one is
     * valid text for another address, whose first 60 bits make another network) */
    cidr("2001:0DB8:0:CD3/60", TLS_E_INVALID, NULL, 0);
    cidr("2001:0DB8::CD30/60", 0, "2001:db8::", 60);
    cidr("2001:0DB8::CD3/60", 0, "2001:db8::", 60);
    /* a node address and its prefix in one: the host bits are cleared */
    cidr("2001:0DB8:0:CD30:123:4567:89AB:CDEF/60", 0, "2001:db8:0:cd30::", 60);
    assert_true(contains("2001:0DB8:0:CD30::/60", "2001:0DB8:0:CD30:123:4567:89AB:CDEF"));
    assert_true(contains("2001:0DB8:0:CD30::/60", "2001:db8:0:cd3f:ffff:ffff:ffff:ffff"));
    assert_false(contains("2001:0DB8:0:CD30::/60", "2001:db8:0:cd40::"));
    assert_false(contains("2001:0DB8:0:CD30::/60", "2001:db8:0:cd2f:ffff:ffff:ffff:ffff"));
    cidr("::/0", 0, "::", 0);
    assert_true(contains("::/0", "ffff::1"));
    assert_false(contains("::/0", "10.0.0.1")); /* never across families */
    assert_false(contains("::ffff:10.0.0.0/104", "10.0.0.1"));
    cidr("::1/128", 0, "::1", 128);
    cidr("2001:db8::1", 0, "2001:db8::1", 128); /* an address alone is a range of one */
    assert_true(contains("2001:db8::1", "2001:0db8:0::1"));
    cidr("2001:db8::/129", TLS_E_RANGE, NULL, 0);
    cidr("2001:db8::/-1", TLS_E_RANGE, NULL, 0);
}

/* RFC 4632 3.1: the prefix length sets the block's size, 2^(32 - length) addresses, from the
 * host route (/32, one address) to the default route (/0, all of them). */
static void test_cidr_rfc4632(void **state)
{
    (void)state;
    static const struct {
        const char *range, *first, *last, *after;
    } blocks[] = {
        {"192.0.2.7/32", "192.0.2.7", "192.0.2.7", "192.0.2.8"},
        {"192.0.2.7/31", "192.0.2.6", "192.0.2.7", "192.0.2.8"},
        {"192.0.2.7/30", "192.0.2.4", "192.0.2.7", "192.0.2.8"},
        {"192.0.2.77/24", "192.0.2.0", "192.0.2.255", "192.0.3.0"},     /* legacy "Class C" */
        {"10.20.30.40/20", "10.20.16.0", "10.20.31.255", "10.20.32.0"}, /* 4096 addresses */
        {"172.16.0.0/12", "172.16.0.0", "172.31.255.255", "172.32.0.0"},
        {"128.8.1.2/16", "128.8.0.0", "128.8.255.255", "128.9.0.0"}, /* legacy "Class B" */
        {"10.1.2.3/8", "10.0.0.0", "10.255.255.255", "11.0.0.0"},    /* legacy "Class A" */
        {"10.1.2.3/1", "0.0.0.0", "127.255.255.255", "128.0.0.0"},
    };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(*blocks); i++) {
        struct tls_cidr c;
        const char *r = blocks[i].range;
        assert_int_equal(tls_cidr_parse(&c, r, strlen(r)), 0);
        uint64_t size = 1ULL << (32 - c.prefix);
        struct tls_addr a;
        char text[INET_ADDRSTRLEN];
        tls_cidr_nth(&c, 0, &a);
        assert_string_equal(inet_ntop(AF_INET, a.b, text, sizeof(text)), blocks[i].first);
        tls_cidr_nth(&c, size - 1, &a);
        assert_string_equal(inet_ntop(AF_INET, a.b, text, sizeof(text)), blocks[i].last);
        assert_true(contains(r, blocks[i].first));
        assert_true(contains(r, blocks[i].last));
        assert_false(contains(r, blocks[i].after));
    }
    cidr("0.0.0.0/0", 0, "0.0.0.0", 0);
    assert_true(contains("0.0.0.0/0", "255.255.255.255"));
    cidr("10.0.0.0/008", 0, "10.0.0.0", 8); /* leading zeros in the length are read as decimal */
    static const struct {
        const char *text;
        int rc;
    } bad[] = {
        {"10.0.0.0/33", TLS_E_RANGE},       {"10.0.0.0/", TLS_E_RANGE},
        {"10.0.0.0/x", TLS_E_RANGE},        {"10.0.0.0/8/8", TLS_E_RANGE},
        {"10.0.0.0/ 8", TLS_E_RANGE},       {"10.0.0.0/99999999999999999999", TLS_E_RANGE},
        {"10.0.0/24", TLS_E_INVALID},       {"/24", TLS_E_INVALID},
        {"10.0.0.300/8", TLS_E_INVALID},    {"host.example/8", TLS_E_INVALID},
        {"[2001:db8::]/64", TLS_E_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cidr(bad[i].text, bad[i].rc, NULL, 0);
    /* the family is known when only the prefix is wrong, for messages that name it */
    struct tls_cidr c;
    assert_int_equal(tls_cidr_parse(&c, "2001:db8::/200", 14), TLS_E_RANGE);
    assert_int_equal(c.net.family, AF_INET6);
    /* the n-th address carries across bytes */
    assert_int_equal(tls_cidr_parse(&c, "10.0.254.0/23", 13), 0);
    struct tls_addr a;
    tls_cidr_nth(&c, 256, &a);
    static const uint8_t want[4] = {10, 0, 255, 0};
    assert_memory_equal(a.b, want, 4);
    assert_int_equal(tls_cidr_parse(&c, "2001:db8::ff00/120", 18), 0);
    tls_cidr_nth(&c, 255, &a);
    assert_int_equal(a.b[15], 0xff);
    assert_int_equal(a.b[14], 0xff);
}

static void test_port(void **state)
{
    (void)state;
    uint16_t p = 7;
    assert_int_equal(tls_port_parse("443", 3, &p), 0);
    assert_int_equal(p, 443);
    assert_int_equal(tls_port_parse("65535", 5, &p), 0);
    assert_int_equal(p, 65535);
    assert_int_equal(tls_port_parse("00000001", 8, &p), 0);
    assert_int_equal(p, 1);
    assert_int_equal(tls_port_parse("4431", 3, &p), 0); /* only s/n is read */
    assert_int_equal(p, 443);
    static const char *const bad[] = {
        "", "0", "000", "65536", "99999999999999999999999", "-1", "+1", " 1", "1 ", "0x10", "44a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        p = 7;
        if (tls_port_parse(bad[i], strlen(bad[i]), &p) != TLS_E_RANGE || p != 7)
            fail_msg("port '%s' accepted", bad[i]);
    }
}

/* ::ffff:a.b.c.d is a.b.c.d (the oracle: inet_pton of each); other IPv6 and IPv4 stay. */
static void test_addr_unmap(void **state)
{
    (void)state;
    static const struct {
        const char *v6, *v4; /* v4 NULL: not mapped */
    } cases[] = {
        {"::ffff:127.0.0.1", "127.0.0.1"},
        {"::FFFF:7f00:1", "127.0.0.1"},
        {"0:0:0:0:0:ffff:a00:1", "10.0.0.1"},
        {"::ffff:0.0.0.0", "0.0.0.0"},
        {"::127.0.0.1", NULL}, /* IPv4-compatible, deprecated (RFC 4291 2.5.5.1): not mapped */
        {"::fffe:7f00:1", NULL},
        {"64:ff9b::7f00:1", NULL},
        {"::1", NULL},
        {"1::ffff:7f00:1", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct tls_addr a, before;
        assert_int_equal(tls_addr_parse(&a, cases[i].v6, strlen(cases[i].v6)), 0);
        before = a;
        bool mapped = tls_addr_unmap(&a);
        if (mapped != (cases[i].v4 != NULL))
            fail_msg("'%s': unmapped %d", cases[i].v6, mapped);
        if (!mapped) {
            assert_memory_equal(&a, &before, sizeof(a));
            continue;
        }
        uint8_t want[4];
        assert_int_equal(inet_pton(AF_INET, cases[i].v4, want), 1);
        assert_int_equal(a.family, AF_INET);
        assert_memory_equal(a.b, want, 4);
    }
    struct tls_addr v4;
    assert_int_equal(tls_addr_parse(&v4, "127.0.0.1", 9), 0);
    assert_false(tls_addr_unmap(&v4));
    assert_int_equal(v4.family, AF_INET);
}

/* Every host inet_aton(3) reads as an IPv4 address ends in a number (so a pattern never takes it
 * for a name): generated strings of numeric pieces, and names that are no numbers. */
static void test_host_ends_in_number(void **state)
{
    (void)state;
    static const char *const numbers[] = {
        "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "127.1", "127.0.1",
        "0x7f.1",     "127.0.0.1",  "127.0.0.1.", "1.2.3.4.5",  "0x",    "example.123",
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(*numbers); i++)
        if (!tls_host_ends_in_number(numbers[i], strlen(numbers[i])))
            fail_msg("'%s' does not end in a number", numbers[i]);
    static const char *const names[] = {
        "127.0.0.1.nip.io",
        "127.0.0.evil.example",
        "0x7f.example",
        "1e100.net",
        "0xg",
        "localhost",
        "a.b.",
        "",
        ".",
        "x1",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (tls_host_ends_in_number(names[i], strlen(names[i])))
            fail_msg("'%s' ends in a number", names[i]);
    static const char *const pieces[] = {"0",   "1",  "00", "07", "08", "255",
                                         "256", "0x", "0X", "ff", "7f", "4294967295",
                                         ".",   ".",  ".",  "a",  "g"};
    size_t np = sizeof(pieces) / sizeof(*pieces), accepted = 0;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        char s[GENERATED_MAX];
        size_t n = generate(&x, pieces, np, 8, s);
        struct in_addr in;
        if (inet_aton(s, &in) == 0)
            continue;
        accepted++;
        if (!tls_host_ends_in_number(s, n))
            fail_msg("'%s': inet_aton reads an address, but it does not end in a number", s);
    }
    assert_true(accepted > 1000); /* the generator reaches the forms it is meant to */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_forms),     cmocka_unit_test(test_addr_round_trip),
        cmocka_unit_test(test_addr_generated), cmocka_unit_test(test_cidr_rfc4291),
        cmocka_unit_test(test_cidr_rfc4632),   cmocka_unit_test(test_port),
        cmocka_unit_test(test_addr_unmap),     cmocka_unit_test(test_host_ends_in_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
