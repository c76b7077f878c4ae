/* Unit tests for probe/target.c and probe/input.c: every target form and every malformed one,
 * URL targets and the schemes refused, CIDR expansion and its cap, port lists, duplicates,
 * comments, file and line numbers of bad lines, and the shard partition (union is the whole
 * list, no overlap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "probe/internal.h"
#include "probe/request.h"
#include "tls/wire/error.h"

static void expect_target(const char *text, uint16_t def, const char *host, uint16_t port,
                          int family, const char *spec)
{
    struct probe_target_spec t;
    const char *why = NULL;
    int rc = probe_target_parse(text, def, &t, &why);
    if (rc)
        fail_msg("'%s' rejected: %s", text, why);
    assert_string_equal(t.host, host);
    assert_int_equal(t.port, port);
    assert_int_equal(t.family, family);
    if (spec)
        assert_string_equal(t.spec, spec);
}

static void expect_bad(const char *text, const char *why_part)
{
    struct probe_target_spec t;
    const char *why = NULL;
    if (probe_target_parse(text, 443, &t, &why) == 0)
        fail_msg("'%s' accepted", text);
    assert_non_null(why);
    if (strstr(why, why_part) == NULL)
        fail_msg("'%s': reason '%s' does not say '%s'", text, why, why_part);
}

static void test_target_forms(void **state)
{
    (void)state;
    expect_target("example.com", 443, "example.com", 443, AF_UNSPEC, "example.com:443");
    expect_target("Example.COM.:8443", 443, "example.com", 8443, AF_UNSPEC, "example.com:8443");
    expect_target("10.1.2.3", 443, "10.1.2.3", 443, AF_INET, "10.1.2.3:443");
    expect_target("10.1.2.3:1", 443, "10.1.2.3", 1, AF_INET, NULL);
    expect_target("[2001:db8::1]:443", 80, "2001:db8::1", 443, AF_INET6, "[2001:db8::1]:443");
    expect_target("[::1]", 443, "::1", 443, AF_INET6, "[::1]:443");
    expect_target("2001:db8::5", 443, "2001:db8::5", 443, AF_INET6, "[2001:db8::5]:443");
    expect_target("int_host-1.corp", 0, "int_host-1.corp", 0, AF_UNSPEC, NULL);
    expect_target("a:65535", 443, "a", 65535, AF_UNSPEC, NULL);
    expect_target("a:053677", 443, "a", 53677, AF_UNSPEC, "a:53677");
}

static void test_target_malformed(void **state)
{
    (void)state;
    expect_bad("", "empty");
    expect_bad(":443", "missing host");
    expect_bad("host:", "port");
    expect_bad("host:0", "port");
    expect_bad("host:65536", "port");
    expect_bad("host:44x", "port");
    expect_bad("host:123456", "port");
    expect_bad("300.1.1.1", "IPv4");
    expect_bad("1.2.3", "IPv4");
    expect_bad("[2001:db8::1", "']'");
    expect_bad("[2001:db8::1]x", "after ']'");
    expect_bad("[zz::1]:443", "IPv6");
    expect_bad("2001:db8:::1", "IPv6");
    expect_bad("bad..name", "host name");
    expect_bad("-bad.name", "host name");
    expect_bad("bad-.name", "host name");
    expect_bad("sp ace", "host name");
    expect_bad("a/b", "CIDR");
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    expect_bad(longname, "too long");
    char label[80];
    memset(label, 'b', 64);
    strcpy(label + 64, ".com");
    expect_bad(label, "host name");
}

static void test_cidr(void **state)
{
    (void)state;
    struct probe_cidr c;
    const char *why;
    assert_int_equal(probe_cidr_parse("10.0.0.7/30", &c, 65536, NULL, &why), 0);
    assert_int_equal(c.count, 4);
    assert_int_equal(c.port, 0);
    struct probe_target_spec t;
    probe_cidr_address(&c, 0, 443, &t);
    assert_string_equal(t.spec, "10.0.0.4:443");
    probe_cidr_address(&c, 3, 443, &t);
    assert_string_equal(t.spec, "10.0.0.7:443");

    assert_int_equal(probe_cidr_parse("10.0.255.0/23:8443", &c, 65536, NULL, &why), 0);
    assert_int_equal(c.count, 512);
    assert_int_equal(c.port, 8443);
    probe_cidr_address(&c, 256, c.port, &t);
    assert_string_equal(t.spec, "10.0.255.0:8443"); /* carries across the octet */
    probe_cidr_address(&c, 0, c.port, &t);
    assert_string_equal(t.spec, "10.0.254.0:8443");

    assert_int_equal(probe_cidr_parse("[2001:db8::ff00/120]:443", &c, 65536, NULL, &why), 0);
    assert_int_equal(c.count, 256);
    probe_cidr_address(&c, 255, c.port, &t);
    assert_string_equal(t.spec, "[2001:db8::ffff]:443");
    assert_int_equal(probe_cidr_parse("2001:db8::/127", &c, 65536, NULL, &why), 0);
    assert_int_equal(c.count, 2);
    assert_int_equal(probe_cidr_parse("192.0.2.1/32", &c, 1, NULL, &why), 0);
    assert_int_equal(c.count, 1);

    static const char *const bad[] = {
        "10.0.0.0/33",  "10.0.0.0/",     "10.0.0.0/x",        "10.0.0/24",
        "10.0.0.0/8",   "10.0.0.0/24:0", "10.0.0.0/24:70000", "[2001:db8::/64]:443",
        "[10.0.0.0/24", "/24",           "2001:db8::/129",    "10.0.0.0/24:44a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (probe_cidr_parse(bad[i], &c, 65536, NULL, &why) == 0)
            fail_msg("CIDR '%s' accepted", bad[i]);
    assert_int_equal(probe_cidr_parse("10.0.0.0/16", &c, 65535, NULL, &why), TLS_E_TARGET);
    assert_non_null(strstr(why, "--max-cidr"));
}

/* A command without --max-cidr passes its own reason for a range over its limit (the exporter:
 * no range at all, limit 0); a malformed range keeps the parser's reason. */
static void test_cidr_limit_context(void **state)
{
    (void)state;
    static const char over[] = "a range is many targets; one target a request";
    static const char *const ranges[] = {"127.0.0.1/30:443", "192.0.2.1/32", "[::/0]:443",
                                         "0.0.0.0/0", "smtp://10.0.0.0/30"};
    struct probe_entry e;
    const char *why;
    for (size_t i = 0; i < 4; i++) {
        why = NULL;
        assert_int_equal(probe_entry_parse(ranges[i], 0, over, &e, &why), TLS_E_TARGET);
        assert_string_equal(why, over);
        assert_int_equal(probe_entry_parse(ranges[i], 0, NULL, &e, &why), TLS_E_TARGET);
        assert_string_equal(why, "CIDR range larger than --max-cidr addresses");
    }
    /* a URL with a path is no range: its own reason */
    assert_int_equal(probe_entry_parse(ranges[4], 0, over, &e, &why), TLS_E_TARGET);
    assert_ptr_not_equal(why, over);
    assert_int_equal(probe_entry_parse("10.0.0.0/33", 0, over, &e, &why), TLS_E_TARGET);
    assert_string_equal(why, "invalid prefix length");
    struct probe_cidr c;
    assert_int_equal(probe_cidr_parse("10.0.0.0/30", &c, 2, over, &why), TLS_E_TARGET);
    assert_string_equal(why, over);
    assert_int_equal(probe_cidr_parse("10.0.0.0/31", &c, 2, over, &why), 0);
}

/* The reasons of a bad range, of --resolve and of a target's address: the messages users see,
 * from the one address parser (tls/wire/addr.h) behind them. */
static void test_address_messages(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cidrs[] = {
        {"10.0.0.0/33", "invalid prefix length"},
        {"10.0.0.0/", "invalid prefix length"},
        {"2001:db8::/64:443", "invalid prefix length"},
        {"10.0.0/24", "invalid address in CIDR range"},
        {"10.0.0.01/24", "invalid address in CIDR range"},
        {"10.0.0.0", "missing '/' in CIDR range"},
        {"[2001:db8::]:443", "missing '/' in CIDR range"},
        {"[2001:db8::/64", "expected [IPv6/prefix]:port"},
        {"[2001:db8::/64]x", "expected [IPv6/prefix]:port"},
        {"10.0.0.0/24:0", "port must be a number from 1 to 65535"},
        {"[2001:db8::/120]:", "port must be a number from 1 to 65535"},
        {"10.0.0.0/8", "CIDR range larger than --max-cidr addresses"},
    };
    for (size_t i = 0; i < sizeof(cidrs) / sizeof(*cidrs); i++) {
        struct probe_cidr c;
        const char *why = NULL;
        if (probe_cidr_parse(cidrs[i].text, &c, 65536, NULL, &why) != TLS_E_TARGET)
            fail_msg("CIDR '%s' accepted", cidrs[i].text);
        assert_string_equal(why, cidrs[i].why);
    }
    struct probe_cidr c;
    const char *why = NULL;
    assert_int_equal(probe_cidr_parse("10.0.0.0/024:00443", &c, 256, NULL, &why), 0);
    assert_int_equal(c.count, 256);
    assert_int_equal(c.port, 443);

    struct probe_resolve r;
    assert_int_equal(probe_resolve_parse("a.example:443:[2001:db8::7]", &r, &why), 0);
    assert_int_equal(r.addr.ss_family, AF_INET6);
    assert_int_equal(probe_resolve_parse("a.example:443:192.0.2.7", &r, &why), 0);
    assert_int_equal(r.addr.ss_family, AF_INET);
    assert_int_equal(probe_resolve_parse("a.example:443:192.0.2.077", &r, &why), TLS_E_TARGET);
    assert_string_equal(why, "invalid address");
    assert_int_equal(probe_resolve_parse("a.example:0:192.0.2.7", &r, &why), TLS_E_TARGET);
    assert_string_equal(why, "port must be a number from 1 to 65535");
    expect_bad("[1.2.3.4]:443", "invalid IPv6 address");
    expect_bad("1.2.3.4.5", "invalid IPv4 address");
}

/* Every item of an input over a file with text, as spec strings ("!" + where for errors, " [smtp]"
 * after a target that speaks STARTTLS), with --starttls as starttls and starttls_ports say. */
static char **collect_opts(const char *text, const uint16_t *ports, size_t n_ports, unsigned k,
                           unsigned n, enum tls_starttls_proto starttls, bool starttls_ports,
                           size_t *count)
{
    char path[] = "/tmp/caprobe-test-input-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    const char *files[] = {path};
    struct probe_input_opts o = {
        .files = files,
        .n_files = 1,
        .ports = ports,
        .n_ports = n_ports,
        .shard_k = k,
        .shard_n = n,
        .cidr_max = 65536,
        .starttls = starttls,
        .starttls_ports = starttls_ports,
    };
    struct probe_input *in;
    assert_int_equal(probe_input_new(&in, &o), 0);
    char **out = NULL;
    size_t len = 0;
    struct probe_input_item item;
    int rc;
    while ((rc = probe_input_next(in, &item)) == 1) {
        out = realloc(out, (len + 1) * sizeof(*out));
        char buf[PROBE_PATH_MAX + 700];
        if (item.error[0]) {
            const char *line = strrchr(item.where, ':');
            snprintf(buf, sizeof(buf), "!%s %s", line ? line + 1 : item.where, item.text);
        } else {
            const char *proto = tls_starttls_name(item.starttls);
            snprintf(buf, sizeof(buf), "%s%s%s%s%s%s", item.spec.spec, item.path ? " " : "",
                     item.path ? item.path : "", proto ? " [" : "", proto ? proto : "",
                     proto ? "]" : "");
        }
        out[len++] = strdup(buf);
    }
    assert_int_equal(rc, 0);
    assert_true(probe_input_ended(in));
    assert_int_equal(probe_input_count(in), len);
    probe_input_free(in);
    remove(path);
    *count = len;
    return out;
}

static char **collect(const char *text, const uint16_t *ports, size_t n_ports, unsigned k,
                      unsigned n, size_t *count)
{
    return collect_opts(text, ports, n_ports, k, n, TLS_STARTTLS_NONE, false, count);
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void test_input_file(void **state)
{
    (void)state;
    static const char text[] = "# fleet\n"
                               "\n"
                               "a.example   # comment after\n"
                               "  b.example:8443\r\n"
                               "a.example\n"     /* duplicate */
                               "a.example:443\n" /* duplicate after expansion */
                               "300.1.1.1\n"     /* bad: line 7 */
                               "10.9.9.0/31\n"   /* two addresses x two ports */
                               "[::1]:9\n"
                               "10.0.0.0/8\n"; /* bad: over the cap, line 10 */
    static const uint16_t ports[] = {443, 8443};
    size_t n;
    char **l = collect(text, ports, 2, 0, 0, &n);
    static const char *const want[] = {
        "a.example:443", "a.example:8443", "b.example:8443", "!7 300.1.1.1", "10.9.9.0:443",
        "10.9.9.0:8443", "10.9.9.1:443",   "10.9.9.1:8443",  "[::1]:9",      "!10 10.0.0.0/8",
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l[i], want[i]);
    free_list(l, n);
}

static void test_shards_partition(void **state)
{
    (void)state;
    /* 600 targets and one bad line: the three shards split them without overlap or loss */
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(text + len, cap - len, "host%d.example\n", i);
    len += (size_t)snprintf(text + len, cap - len, "bad..line\n10.1.1.0/25:7\n");
    static const uint16_t port[] = {443};
    size_t n_all;
    char **all = collect(text, port, 1, 0, 0, &n_all);
    assert_int_equal(n_all, 500 + 1 + 128);
    size_t total = 0;
    int *owner = calloc(n_all, sizeof(*owner));
    for (unsigned k = 1; k <= 3; k++) {
        size_t n;
        char **part = collect(text, port, 1, k, 3, &n);
        assert_true(n > n_all / 6); /* roughly even: each well above a sixth */
        total += n;
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < n_all && strcmp(all[j], part[i]) != 0)
                j++;
            if (j == n_all)
                fail_msg("shard %u/3 holds '%s', which is not in the list", k, part[i]);
            if (owner[j])
                fail_msg("'%s' is in shards %d and %u", part[i], owner[j], k);
            owner[j] = (int)k;
        }
        /* the same shard again: the same targets in the same order */
        size_t n2;
        char **again = collect(text, port, 1, k, 3, &n2);
        assert_int_equal(n2, n);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(again[i], part[i]);
        free_list(again, n2);
        free_list(part, n);
    }
    assert_int_equal(total, n_all);
    free(owner);
    free_list(all, n_all);
    free(text);
}

static void test_hash_stable(void **state)
{
    (void)state;
    /* shard membership must not change between versions or machines: pin the function */
    assert_true(probe_hash("", 0) == probe_hash("", 0));
    assert_true(probe_hash("a.example:443", 1) != probe_hash("a.example:443", 2));
    assert_true(probe_hash("a.example:443", 7) == probe_hash("a.example:443", 7));
    char buf[32];
    snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)probe_hash("example.com:443", 0));
    assert_string_equal(buf, "952835d93f832ad9");
}

/* URL targets: SCHEME://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] gives host:port and, for https,
 * the path and query that --request sends instead of its own. */
/* text is a URL target (the test fails with the reason otherwise). */
static void parse_url(const char *text, struct probe_entry *e)
{
    const char *why = NULL;
    if (probe_entry_parse(text, 65536, NULL, e, &why))
        fail_msg("'%s' rejected: %s", text, why);
    assert_true(e->is_url);
}

static void test_url_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text, *spec, *host;
        uint16_t port;
        int family;
        const char *path;
    } ok[] = {
        {"https://example.com", "example.com:443", "example.com", 443, AF_UNSPEC, ""},
        {"https://example.com/", "example.com:443", "example.com", 443, AF_UNSPEC, ""},
        {"https://Example.COM.:8443/a/b?x=1&y=%20#frag", "example.com:8443", "example.com", 8443,
         AF_UNSPEC, "/a/b?x=1&y=%20"},
        {"HTTPS://[::1]:8443/secret/path?q=1", "[::1]:8443", "::1", 8443, AF_INET6,
         "/secret/path?q=1"},
        {"hTTpS://[2001:db8::1]", "[2001:db8::1]:443", "2001:db8::1", 443, AF_INET6, ""},
        {"https://192.0.2.1:/x", "192.0.2.1:443", "192.0.2.1", 443, AF_INET, "/x"},
        {"https://h?q=1", "h:443", "h", 443, AF_UNSPEC, "/?q=1"},
        {"https://h#only-a-fragment", "h:443", "h", 443, AF_UNSPEC, ""},
        {"https://h/#frag", "h:443", "h", 443, AF_UNSPEC, ""},
        {"https://h//", "h:443", "h", 443, AF_UNSPEC, "//"},
        {"https://h/~user/%7E?a=b/c:d@e", "h:443", "h", 443, AF_UNSPEC, "/~user/%7E?a=b/c:d@e"},
        {"https://h:00443/p", "h:443", "h", 443, AF_UNSPEC, "/p"},
        /* implicit TLS: the scheme's port; the path is not HTTP's */
        {"ldaps://DC1.corp.example/dc=corp?cn", "dc1.corp.example:636", "dc1.corp.example", 636,
         AF_UNSPEC, ""},
        {"smtps://mx.example", "mx.example:465", "mx.example", 465, AF_UNSPEC, ""},
        {"imaps://10.0.0.1:1993", "10.0.0.1:1993", "10.0.0.1", 1993, AF_INET, ""},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct probe_entry e;
        parse_url(ok[i].text, &e);
        assert_false(e.is_cidr);
        assert_string_equal(e.one.spec, ok[i].spec);
        assert_string_equal(e.one.host, ok[i].host);
        assert_int_equal(e.one.port, ok[i].port);
        assert_int_equal(e.one.family, ok[i].family);
        assert_string_equal(e.path, ok[i].path);
    }
    /* the longest path --request takes, and one byte more */
    char url[2100] = "https://h";
    memset(url + 9, 'a', 2048);
    url[9] = '/';
    url[9 + 2048] = 0;
    struct probe_entry e;
    const char *why;
    assert_int_equal(probe_entry_parse(url, 65536, NULL, &e, &why), 0);
    assert_int_equal(strlen(e.path), 2048);
    strcpy(url + 9 + 2048, "a");
    assert_int_equal(probe_entry_parse(url, 65536, NULL, &e, &why), TLS_E_TARGET);
    assert_string_equal(why, "the path is longer than 2048 bytes");
    /* the other forms are what they were */
    assert_int_equal(probe_entry_parse("10.0.0.0/30:8443", 65536, NULL, &e, &why), 0);
    assert_true(e.is_cidr && !e.is_url);
    assert_int_equal(e.cidr.count, 4);
    assert_int_equal(e.cidr.port, 8443);
    assert_int_equal(probe_entry_parse("a.example", 65536, NULL, &e, &why), 0);
    assert_true(!e.is_cidr && !e.is_url);
    assert_int_equal(e.one.port, 0); /* -p applies */
    assert_string_equal(e.path, "");
}

#define UNKNOWN_SCHEME                                                                             \
    "unknown URL scheme: caprobe takes https://HOST[:PORT][/PATH], a STARTTLS or implicit-TLS "    \
    "scheme (smtp://, ldaps://, ...: docs/scanning.md) or HOST[:PORT]"

/* STARTTLS schemes: the protocol and the scheme's port; implicit-TLS ones speak none. */
static void test_url_starttls(void **state)
{
    (void)state;
    static const struct {
        const char *text, *spec;
        enum tls_starttls_proto proto;
    } ok[] = {
        {"smtp://mx.example", "mx.example:25", TLS_STARTTLS_SMTP},
        {"SUBMISSION://mx.example", "mx.example:587", TLS_STARTTLS_SMTP},
        {"smtp://mx.example:2525/", "mx.example:2525", TLS_STARTTLS_SMTP},
        {"lmtp://[::1]", "[::1]:24", TLS_STARTTLS_LMTP},
        {"imap://h", "h:143", TLS_STARTTLS_IMAP},
        {"pop3://h", "h:110", TLS_STARTTLS_POP3},
        {"ftp://h", "h:21", TLS_STARTTLS_FTP},
        {"LDAP://dc1/dc=corp", "dc1:389", TLS_STARTTLS_LDAP},
        {"postgres://db/app", "db:5432", TLS_STARTTLS_POSTGRES},
        {"postgresql://db:6432", "db:6432", TLS_STARTTLS_POSTGRES},
        {"mysql://10.0.0.1", "10.0.0.1:3306", TLS_STARTTLS_MYSQL},
        {"xmpp://chat.example", "chat.example:5222", TLS_STARTTLS_XMPP},
        {"nntp://news", "news:119", TLS_STARTTLS_NNTP},
        {"sieve://mail", "mail:4190", TLS_STARTTLS_SIEVE},
        {"smtps://mx.example", "mx.example:465", TLS_STARTTLS_NONE},
        {"https://mx.example:25/", "mx.example:25", TLS_STARTTLS_NONE},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct probe_entry e;
        parse_url(ok[i].text, &e);
        assert_string_equal(e.one.spec, ok[i].spec);
        assert_int_equal(e.starttls, ok[i].proto);
        assert_string_equal(e.path, "");
        const char *slash = strchr(strstr(ok[i].text, "://") + 3, '/'); /* a path, not "/" */
        assert_int_equal(e.ignored != NULL, slash && slash[1]);
    }
    /* an LDAP URL's DN (RFC 4516) and a database (libpq's connection URI, MySQL's), with what
     * may follow them, are taken and not used */
    static const struct {
        const char *text, *ignored;
    } named[] = {
        {"ldap://dc1/dc=corp,dc=example", "the DN of an LDAP URL"},
        {"ldaps://dc1:636/cn=Users,dc=corp?cn,mail?sub?(objectClass=*)", "the DN of an LDAP URL"},
        {"ldap://dc1/?cn", "the DN of an LDAP URL"},
        {"ldap://dc1/dc%3Dcorp", "the DN of an LDAP URL"},
        {"postgresql://db.example:6432/app?sslmode=require",
         "the database name of a PostgreSQL URL"},
        {"mysql://db/shop", "the database name of a MySQL URL"},
    };
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        struct probe_entry e;
        parse_url(named[i].text, &e);
        assert_non_null(e.ignored);
        assert_string_equal(e.ignored, named[i].ignored);
        assert_string_equal(e.path, "");
    }
}

/* The protocol of every target: a URL's scheme, else --starttls PROTO, else the port table
 * (--starttls auto), else none (--starttls none); the same host and port with two protocols
 * are two targets. */
/* The list is want, then freed. */
static void expect_list(char **l, size_t n, const char *const *want, size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l[i], want[i]);
    free_list(l, n);
}

static void test_input_starttls(void **state)
{
    (void)state;
    static const char text[] = "mx.example\n"
                               "smtps://mx.example:25\n"
                               "ldap://dc1:10389\n"
                               "10.0.0.0/31:5432\n";
    static const uint16_t ports[] = {25, 443, 587, 3306};
    size_t n;
    char **l = collect_opts(text, ports, 4, 0, 0, TLS_STARTTLS_NONE, true, &n);
    static const char *const by_port[] = {
        "mx.example:25 [smtp]",
        "mx.example:443",
        "mx.example:587 [smtp]",
        "mx.example:3306 [mysql]",
        "mx.example:25",
        "dc1:10389 [ldap]",
        "10.0.0.0:5432 [postgres]",
        "10.0.0.1:5432 [postgres]",
    };
    expect_list(l, n, by_port, sizeof(by_port) / sizeof(by_port[0]));
    l = collect_opts(text, ports, 4, 0, 0, TLS_STARTTLS_NONE, false, &n);
    static const char *const none[] = {
        "mx.example:25",    "mx.example:443", "mx.example:587", "mx.example:3306",
        "dc1:10389 [ldap]", "10.0.0.0:5432",  "10.0.0.1:5432",
    };
    expect_list(l, n, none, sizeof(none) / sizeof(none[0]));
    l = collect_opts(text, ports, 4, 0, 0, TLS_STARTTLS_IMAP, false, &n);
    static const char *const forced[] = {
        "mx.example:25 [imap]",   "mx.example:443 [imap]", "mx.example:587 [imap]",
        "mx.example:3306 [imap]", "mx.example:25",         "dc1:10389 [ldap]",
        "10.0.0.0:5432 [imap]",   "10.0.0.1:5432 [imap]",
    };
    expect_list(l, n, forced, sizeof(forced) / sizeof(forced[0]));
}

static void test_url_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"http://h/", "http:// is plain HTTP and caprobe probes TLS: use https:// or HOST:PORT"},
        {"HTTP://h:8443",
         "http:// is plain HTTP and caprobe probes TLS: use https:// or HOST:PORT"},
        {"gopher://h/", UNKNOWN_SCHEME},
        {"://h/", UNKNOWN_SCHEME},
        {"1https://h/", UNKNOWN_SCHEME},
        {"smpt://h/", "unknown URL scheme; did you mean smtp://?"},
        {"postgress://h/", "unknown URL scheme; did you mean postgres://?"},
        {"htps://h/", "unknown URL scheme; did you mean https://?"},
        {"HTTSP://h/", "unknown URL scheme; did you mean https://?"},
        {"ldasp://h/", "unknown URL scheme; did you mean ldaps://?"},
        {"https://user:secret@h/x", "a user name or password (user:pass@): caprobe sends neither, "
                                    "remove it"},
        {"https://user@h",
         "a user name or password (user:pass@): caprobe sends neither, remove it"},
        {"user:secret@h:443", "a user name or password (user:pass@): caprobe sends neither, "
                              "remove it"},
        {"https://", "missing host after ://"},
        {"https:///x", "missing host after ://"},
        {"https://:8443/x", "missing host after ://"},
        {"https://h:0/", "port must be a number from 1 to 65535"},
        {"https://h:65536/", "port must be a number from 1 to 65535"},
        {"https://h:44x", "port must be a number from 1 to 65535"},
        {"https://%65xample.com/", "a percent-encoded host (%XX): write the host name or address "
                                   "as it is"},
        {"https://[fe80::1%25eth0]:443/", "a percent-encoded host (%XX): write the host name or "
                                          "address as it is"},
        {"https://::1/", "an IPv6 address in a URL goes in brackets: https://[2001:db8::1]:443/"},
        {"https://[::1/", "missing ']' after IPv6 address"},
        {"https://bad..name/", "invalid host name"},
        {"https://h/a b", "the path holds a space, a control or a non-ASCII byte (percent-encode "
                          "it)"},
        {"https://h/\xc3\xa9", "the path holds a space, a control or a non-ASCII byte "
                               "(percent-encode it)"},
        {"https://h?\x7f", "the path holds a space, a control or a non-ASCII byte (percent-encode "
                           "it)"},
        /* a URL other than https:// takes no path, query or fragment; SCHEME://ADDR/NN is a
         * CIDR range, written without a scheme */
        {"smtp://127.0.0.0/30",
         "a CIDR range is written without a scheme: --starttls smtp 127.0.0.0/30:25"},
        {"SMTP://127.0.0.1:2525/32",
         "a CIDR range is written without a scheme: --starttls smtp 127.0.0.1/32:2525"},
        {"ldap://[2001:db8::]/120",
         "a CIDR range is written without a scheme: --starttls ldap '[2001:db8::/120]:389'"},
        {"smtps://10.0.0.0:25/30",
         "a CIDR range is written without a scheme: --starttls none 10.0.0.0/30:25"},
        {"ldaps://10.0.0.0/30", "a CIDR range is written without a scheme: 10.0.0.0/30:636"},
        {"smtp://mx:25/path", "smtp:// URLs take no path (/...): write smtp://HOST[:PORT] (only "
                              "an https:// URL's path is used, by --request)"},
        {"imap://mx/INBOX", "imap:// URLs take no path (/...): write imap://HOST[:PORT] (only "
                            "an https:// URL's path is used, by --request)"},
        {"smtp://mx?x", "smtp:// URLs take no query (?...): write smtp://HOST[:PORT] (only an "
                        "https:// URL's path is used, by --request)"},
        {"smtp://mx/?x", "smtp:// URLs take no query (?...): write smtp://HOST[:PORT] (only an "
                         "https:// URL's path is used, by --request)"},
        {"smtps://mx#frag", "smtps:// URLs take no fragment (#...): write smtps://HOST[:PORT] "
                            "(only an https:// URL's path is used, by --request)"},
        {"postgres://db/app#x", "postgres:// URLs take no fragment (#...): write "
                                "postgres://HOST[:PORT] (only an https:// URL's path is used, by "
                                "--request)"},
        {"mysql://10.0.0.0/24",
         "a CIDR range is written without a scheme: --starttls mysql 10.0.0.0/24:3306"},
        {"smtp://mx.example/30", "smtp:// URLs take no path (/...): write smtp://HOST[:PORT] "
                                 "(only an https:// URL's path is used, by --request)"},
        {"ldap://dc1/dc=corp#x", "ldap:// URLs take no fragment (#...): write ldap://HOST[:PORT] "
                                 "(only an https:// URL's path is used, by --request)"},
        {"ldap://dc1?cn", "ldap:// URLs take no query (?...): write ldap://HOST[:PORT] (only an "
                          "https:// URL's path is used, by --request)"},
        {"ldap://dc1/users", "the path of an ldap:// URL is a DN (RFC 4516: "
                             "ldap://HOST/dc=example,dc=com), which caprobe does not use: write "
                             "ldap://HOST[:PORT]"},
        /* a mistyped "://" after a scheme caprobe takes, or one a letter or two from it */
        {"smtp:/127.0.0.1", "malformed URL: did you mean smtp://127.0.0.1?"},
        {"https:/example.com", "malformed URL: did you mean https://example.com?"},
        {"smtp ://127.0.0.1", "malformed URL: did you mean smtp://127.0.0.1?"},
        {"smtp: //127.0.0.1:25", "malformed URL: did you mean smtp://127.0.0.1:25?"},
        {"LDAP:\\\\dc1", "malformed URL: did you mean ldap://dc1?"},
        {"https:example.com/x", "malformed URL: did you mean https://example.com/x?"},
        {"htps:/example.com", "malformed URL: did you mean https://example.com?"},
        {"smtp:/\x1b[31m", "malformed URL: did you mean smtp://\\x1b[31m?"},
        {"http:/h", "http:// is plain HTTP and caprobe probes TLS: use https:// or HOST:PORT"},
        /* a path without a scheme is not a CIDR range */
        {"example.com/login", "a host with a path: write it as a URL, https://HOST[:PORT]/PATH"},
        {"10.0.0.1:8443/x", "a host with a path: write it as a URL, https://HOST[:PORT]/PATH"},
        {"10.0.0.1/x", "invalid prefix length"},
        {"smtp:0", "port must be a number from 1 to 65535"}, /* the host smtp */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct probe_entry e;
        const char *why = NULL;
        if (probe_entry_parse(bad[i].text, 65536, NULL, &e, &why) != TLS_E_TARGET)
            fail_msg("'%s' accepted", bad[i].text);
        if (why == NULL || strcmp(why, bad[i].why) != 0)
            fail_msg("'%s': reason '%s', want '%s'", bad[i].text, why ? why : "(none)", bad[i].why);
    }
}

/* A user name and password are never shown, in any message or record. */
static void test_entry_shown(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://user:secret@h/x", "https://***@h/x"},
        {"HTTPS://a@b:c@h:8443", "HTTPS://***@h:8443"},
        {"user:secret@h:443", "***@h:443"},
        {"https://h/a@b", "https://h/a@b"}, /* in the path: not a user name */
        {"https://h/\x1b[31m", "https://h/\\x1b[31m"},
        {"smtp://u:p@mx\xc3\xa9", "smtp://***@mx\\xc3\\xa9"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(probe_entry_shown(out, sizeof(out), cases[i][0]), cases[i][1]);
    char tiny[6];
    assert_string_equal(probe_entry_shown(tiny, sizeof(tiny), "https://user:secret@h/"), "");
    char small[12];
    probe_entry_shown(small, sizeof(small), "https://user:secret@h/");
    assert_null(strstr(small, "secret"));
    assert_null(strstr(small, "user"));
}

/* URL lines of a -i file: the URL's port (never -p's), its path with the target, and the lines
 * refused with their line numbers, a password never in the record. */
/* A -i line's reason that names what to write (the URL as meant, the range without a scheme)
 * is the item's own: it outlives the lines read after it. An LDAP URL's DN is marked. */
static void test_input_url_reasons(void **state)
{
    (void)state;
    char path[] = "/tmp/caprobe-test-input-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "smtp:/127.0.0.1\n"
                               "smtp://127.0.0.0/30\n"
                               "ldap://dc1/dc=corp,dc=example\n"
                               "smtp://mx:26/x\n";
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    const char *files[] = {path};
    static const uint16_t ports[] = {443};
    struct probe_input_opts o = {
        .files = files, .n_files = 1, .ports = ports, .n_ports = 1, .cidr_max = 65536};
    struct probe_input *in;
    assert_int_equal(probe_input_new(&in, &o), 0);
    struct probe_input_item *items = calloc(4, sizeof(*items));
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(probe_input_next(in, &items[i]), 1);
    assert_string_equal(items[0].error, "malformed URL: did you mean smtp://127.0.0.1?");
    assert_string_equal(items[1].error, "a CIDR range is written without a scheme: --starttls "
                                        "smtp 127.0.0.0/30:25");
    assert_string_equal(items[2].error, "");
    assert_string_equal(items[2].spec.spec, "dc1:389");
    assert_string_equal(items[2].ignored, "the DN of an LDAP URL");
    assert_string_equal(items[3].error, "smtp:// URLs take no path (/...): write "
                                        "smtp://HOST[:PORT] (only an https:// URL's path is "
                                        "used, by --request)");
    assert_null(items[3].ignored);
    free(items);
    probe_input_free(in);
    remove(path);
}

static void test_input_urls(void **state)
{
    (void)state;
    static const char text[] = "https://u.example/x?y=1#frag\n"
                               "https://u.example:8443\n"
                               "u.example\n" /* both ports seen already */
                               "http://u.example/\n"
                               "https://bob:hunter2@u.example/\n"
                               "smtp://mx.example\n"
                               "HTTPS://[::1]:9/a b\n"
                               "https://[::1]:9/ok # comment\n"
                               "https://v.example/\n";
    static const uint16_t ports[] = {443, 8443};
    size_t n;
    char **l = collect(text, ports, 2, 0, 0, &n);
    static const char *const want[] = {
        "u.example:443 /x?y=1", "u.example:8443",
        "!4 http://u.example/", "!5 https://***@u.example/",
        "mx.example:25 [smtp]", "!7 HTTPS://[::1]:9/a b",
        "[::1]:9 /ok",          "v.example:443",
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l[i], want[i]);
    free_list(l, n);
}

/* --request: the request line and Host header (RFC 9112 3.2, RFC 9110 7.2), and the paths
 * refused before anything is sent. */
static void test_request_format(void **state)
{
    (void)state;
    char buf[PROBE_REQUEST_MAX];
    int n = probe_request_format(buf, sizeof(buf), "/secure/", "app.example.com", 443);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_non_null(strstr(buf, "GET /secure/ HTTP/1.1\r\nHost: app.example.com\r\n"));
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n\r\n"));
    assert_true(probe_request_format(buf, sizeof(buf), "/", "::1", 8443) > 0);
    assert_non_null(strstr(buf, "\r\nHost: [::1]:8443\r\n"));
    assert_true(probe_request_format(buf, sizeof(buf), "/", "192.0.2.1", 443) > 0);
    assert_non_null(strstr(buf, "\r\nHost: 192.0.2.1\r\n"));
    assert_int_equal(probe_request_format(buf, 40, "/", "app.example.com", 443), -1);

    assert_null(probe_request_path_check("/"));
    assert_null(probe_request_path_check("/a%20b?x=1&y=%C3%A9"));
    static const char *const bad[] = {"",      "secure",   "/a b", "/a\r\nHost: evil",
                                      "/\x7f", "/\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(probe_request_path_check(bad[i]));
    char longpath[2100];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_non_null(probe_request_path_check(longpath));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_format),     cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_target_malformed),   cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_cidr_limit_context), cmocka_unit_test(test_address_messages),
        cmocka_unit_test(test_input_file),         cmocka_unit_test(test_shards_partition),
        cmocka_unit_test(test_hash_stable),        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_malformed),      cmocka_unit_test(test_entry_shown),
        cmocka_unit_test(test_input_urls),         cmocka_unit_test(test_input_url_reasons),
        cmocka_unit_test(test_url_starttls),       cmocka_unit_test(test_input_starttls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
