/* The reader of saved netsh http show sslcert output (tls/wire/netsh.c) on the fixtures of
 * fixtures/netsh (written from Microsoft's documented format) and on hostile bytes; and the
 * report side (report/netsh.c): the binding a variant reaches, the update line, the audit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/netsh.h"
#include "testutil.h"
#include "tls/wire/error.h"
#include "tls/wire/netsh.h"

#define IIS "{4dc3e181-e14b-4a21-b022-59fc669b0914}"
#define H1 "286e7f384d6870afd41a2f645e858814434eb3c3"

struct parsed {
    struct tls_arena arena;
    struct tls_netsh n;
    struct tls_netsh_error err;
    int rc;
};

static void parse_bytes(struct parsed *p, const void *data, size_t len)
{
    tls_arena_init(&p->arena, 0);
    p->rc = tls_netsh_parse(&p->n, data, len, &p->arena, &p->err);
}

static void parse_str(struct parsed *p, const char *s)
{
    parse_bytes(p, s, strlen(s));
}

static void done(struct parsed *p)
{
    tls_arena_free(&p->arena);
}

/* The first binding of server2022.txt, field by field as the fixture writes them. */
static void check_first(const struct tls_netsh_binding *b)
{
    assert_int_equal(b->kind, TLS_NETSH_IPPORT);
    assert_string_equal(b->key, "ipport=0.0.0.0:443");
    assert_string_equal(b->endpoint, "0.0.0.0:443");
    assert_string_equal(b->host, "0.0.0.0");
    assert_int_equal(b->port, 443);
    assert_int_equal(b->line, 5);
    assert_string_equal(b->known[TLS_NETSH_F_CERT_HASH], H1);
    assert_string_equal(b->known[TLS_NETSH_F_APP_ID], IIS);
    assert_string_equal(b->known[TLS_NETSH_F_CERT_STORE], "My");
    assert_string_equal(b->known[TLS_NETSH_F_CTL_STORE], "(null)");
    assert_null(tls_netsh_get(b, TLS_NETSH_F_CTL_STORE));
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_NEGOTIATE), 1);
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_DISABLE_HTTP2), 0);
    assert_null(tls_netsh_get(b, TLS_NETSH_F_DISABLE_HTTP2)); /* Not Set */
    assert_null(b->known[TLS_NETSH_F_CACHING_HELLO]);         /* Server 2022 has none */
    /* 22 fields, 2 sections, 5 extended properties */
    assert_int_equal(b->n_fields, 29);
    assert_int_equal(b->n_groups, 2);
    struct tls_netsh_iter it = {0, 0};
    struct tls_netsh_field f;
    size_t n = 0, own = 0, sections = 0;
    const char *last_name = NULL;
    size_t last_len = 0;
    while (tls_netsh_field_next(b, &it, &f)) {
        n++;
        own += f.group == 0;
        sections += f.value == NULL;
        last_name = f.name;
        last_len = f.name_len;
        if (n == 1) {
            assert_int_equal(f.name_len, strlen("Certificate Hash"));
            assert_memory_equal(f.name, "Certificate Hash", f.name_len);
            assert_int_equal(f.value_len, 40);
            assert_memory_equal(f.value, H1, 40);
        }
        if (f.value == NULL)
            assert_memory_equal(f.name, "Extended Properties", f.name_len);
    }
    assert_int_equal(n, 29);
    assert_int_equal(own, 22);
    assert_int_equal(sections, 2);
    assert_int_equal(last_len, strlen("Max Settings Per Minute"));
    assert_memory_equal(last_name, "Max Settings Per Minute", last_len);
}

static void test_server2022(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = testutil_fixture("netsh/server2022.txt", &len);
    struct parsed p;
    parse_bytes(&p, data, len);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n.encoding, TLS_NETSH_UTF8);
    assert_true(p.n.header);
    assert_int_equal(p.n.n, 6);
    check_first(&p.n.v[0]);
    static const char *const keys[] = {"ipport=0.0.0.0:443",
                                       "ipport=[::]:443",
                                       "hostnameport=app.example.com:443",
                                       "hostnameport=portal.example.com:443",
                                       "ipport=10.0.0.5:8443",
                                       "ccs=443"};
    static const size_t lines[] = {5, 36, 67, 98, 129, 160};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(p.n.v[i].key, keys[i]);
        assert_int_equal(p.n.v[i].line, lines[i]);
    }
    assert_string_equal(p.n.v[1].host, "::");
    assert_int_equal(p.n.v[1].addr.b[15], 0);
    assert_string_equal(p.n.v[2].host, "app.example.com");
    assert_null(p.n.v[5].host);
    assert_int_equal(p.n.v[5].port, 443);
    assert_null(tls_netsh_get(&p.n.v[5], TLS_NETSH_F_CERT_HASH));
    assert_string_equal(tls_netsh_get(&p.n.v[4], TLS_NETSH_F_CERT_STORE), "WebHosting");
    assert_int_equal(tls_netsh_flag(&p.n.v[4], TLS_NETSH_F_DISABLE_HTTP2), 1);
    assert_int_equal(tls_netsh_flag(&p.n.v[4], TLS_NETSH_F_VERIFY_REVOCATION), 0);
    done(&p);
    free(data);
}

/* The same output saved by Windows PowerShell's '>' (UTF-16LE with its mark) reads the same. */
static void test_utf16_fixture(void **state)
{
    (void)state;
    size_t l8, l16;
    uint8_t *d8 = testutil_fixture("netsh/server2022.txt", &l8);
    uint8_t *d16 = testutil_fixture("netsh/server2022-utf16.txt", &l16);
    assert_int_equal(l16, 2 + 2 * l8);
    struct parsed a, b;
    parse_bytes(&a, d8, l8);
    parse_bytes(&b, d16, l16);
    assert_int_equal(b.rc, 0);
    assert_int_equal(b.n.encoding, TLS_NETSH_UTF16LE);
    assert_int_equal(a.n.n, b.n.n);
    assert_int_equal(a.n.lines, b.n.lines);
    for (size_t i = 0; i < a.n.n; i++) {
        assert_string_equal(a.n.v[i].key, b.n.v[i].key);
        assert_int_equal(a.n.v[i].line, b.n.v[i].line);
        assert_int_equal(a.n.v[i].n_fields, b.n.v[i].n_fields);
        for (int k = 0; k < TLS_NETSH_F_COUNT; k++) {
            if (a.n.v[i].known[k] == NULL)
                assert_null(b.n.v[i].known[k]);
            else
                assert_string_equal(a.n.v[i].known[k], b.n.v[i].known[k]);
        }
    }
    check_first(&b.n.v[0]);
    done(&a);
    done(&b);
    free(d8);
    free(d16);
}

/* UTF-16 of ASCII text s (little or big endian), with a mark or without. */
static uint8_t *utf16(const char *s, bool be, bool mark, size_t *len)
{
    size_t n = strlen(s);
    uint8_t *out = malloc(2 * n + 2), *o = out;
    assert_non_null(out);
    if (mark) {
        *o++ = be ? 0xfe : 0xff;
        *o++ = be ? 0xff : 0xfe;
    }
    for (size_t i = 0; i < n; i++) {
        *o++ = be ? 0 : (uint8_t)s[i];
        *o++ = be ? (uint8_t)s[i] : 0;
    }
    *len = (size_t)(o - out);
    return out;
}

#define ONE                                                                                        \
    "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n"                           \
    "    Hostname:port                : App.Example.com:8443\r\n"                                  \
    "    Certificate Hash             : " H1 "\r\n"                                                \
    "    Application ID               : " IIS "\r\n"                                               \
    "    Ctl Store Name               : ClientAuthIssuer\r\n"                                      \
    "    Negotiate Client Certificate : Enabled\r\n\r\n"

static void check_one(const struct parsed *p)
{
    assert_int_equal(p->rc, 0);
    assert_int_equal(p->n.n, 1);
    assert_string_equal(p->n.v[0].key, "hostnameport=App.Example.com:8443");
    assert_int_equal(p->n.v[0].port, 8443);
    assert_int_equal(p->n.v[0].line, 5);
    assert_string_equal(tls_netsh_get(&p->n.v[0], TLS_NETSH_F_CTL_STORE), "ClientAuthIssuer");
    assert_int_equal(tls_netsh_flag(&p->n.v[0], TLS_NETSH_F_NEGOTIATE), 1);
}

static void test_encodings(void **state)
{
    (void)state;
    struct parsed p;
    size_t len;
    uint8_t *d;
    /* UTF-16LE and BE with their marks, LE without one */
    d = utf16(ONE, false, true, &len);
    parse_bytes(&p, d, len);
    check_one(&p);
    assert_int_equal(p.n.encoding, TLS_NETSH_UTF16LE);
    done(&p);
    free(d);
    d = utf16(ONE, true, true, &len);
    parse_bytes(&p, d, len);
    check_one(&p);
    assert_int_equal(p.n.encoding, TLS_NETSH_UTF16BE);
    done(&p);
    free(d);
    d = utf16(ONE + 2, false, false, &len); /* "SSL..." first: a NUL as the second byte */
    parse_bytes(&p, d, len);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n.encoding, TLS_NETSH_UTF16LE);
    assert_int_equal(p.n.v[0].line, 4);
    done(&p);
    free(d);
    /* UTF-8 with its mark; LF only; CR CR LF (a CRLF file converted once more) */
    parse_str(&p, "\xef\xbb\xbf" ONE);
    check_one(&p);
    assert_int_equal(p.n.encoding, TLS_NETSH_UTF8_BOM);
    done(&p);
    char lf[sizeof(ONE)], crcrlf[2 * sizeof(ONE)];
    size_t a = 0, c = 0;
    for (const char *s = ONE; *s; s++) {
        if (*s != '\r')
            lf[a++] = *s;
        if (*s == '\r')
            crcrlf[c++] = '\r';
        crcrlf[c++] = *s;
    }
    lf[a] = crcrlf[c] = 0;
    parse_str(&p, lf);
    check_one(&p);
    done(&p);
    parse_str(&p, crcrlf);
    check_one(&p);
    done(&p);
    /* two outputs appended, the second with its own mark (U+FEFF at a line's start) */
    parse_str(&p, ONE "\xef\xbb\xbf"
                      "SSL Certificate bindings:\n---\n\n"
                      "    IP:port : 192.0.2.1:443\n    Ctl Store Name : (null)\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n.n, 2);
    assert_string_equal(p.n.v[1].key, "ipport=192.0.2.1:443");
    done(&p);
    /* the last line without its line end; no header: a binding is enough */
    parse_str(&p, "IP:port : 192.0.2.1:443\nCertificate Hash : " H1);
    assert_int_equal(p.rc, 0);
    assert_false(p.n.header);
    assert_string_equal(p.n.v[0].known[TLS_NETSH_F_CERT_HASH], H1);
    done(&p);
    /* a server without bindings: the header alone */
    parse_str(&p, "\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n.n, 0);
    assert_true(p.n.header);
    done(&p);
}

/* Unknown fields and sections are kept; blank lines inside a binding neither end nor break it;
 * a field typed "Name: value" is read too. */
static void test_lenient(void **state)
{
    (void)state;
    struct parsed p;
    parse_str(&p, "IP:port : 192.0.2.1:443\n"
                  "    Some Future Setting   : 42\n"
                  "\n"
                  "Ctl Store Name: My Store\n"
                  " Extended Properties:\n"
                  "    Ctl Store Name : ignored in a section\n"
                  "    PropertyId : 3\n");
    assert_int_equal(p.rc, 0);
    const struct tls_netsh_binding *b = &p.n.v[0];
    assert_string_equal(b->known[TLS_NETSH_F_CTL_STORE], "My Store");
    assert_int_equal(b->n_fields, 5);
    assert_int_equal(b->n_groups, 1);
    struct tls_netsh_iter it = {0, 0};
    struct tls_netsh_field f;
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 1);
    assert_int_equal(f.name_len, strlen("Some Future Setting"));
    assert_memory_equal(f.value, "42", 2);
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 1);
    assert_int_equal(f.group, 0);
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 1);
    assert_null(f.value);
    assert_int_equal(f.group, 1);
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 1);
    assert_int_equal(f.group, 1);
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 1);
    assert_int_equal(tls_netsh_field_next(b, &it, &f), 0);
    done(&p);
    /* values: (null), empty, Not Set and words of any case */
    parse_str(&p, "IP:port : 192.0.2.1:443\nCtl Store Name :\nCtl Identifier : (NULL)\n"
                  "Negotiate Client Certificate : enabled\nDS Mapper Usage : maybe\n"
                  "Disable QUIC : set\n");
    assert_int_equal(p.rc, 0);
    b = &p.n.v[0];
    assert_string_equal(b->known[TLS_NETSH_F_CTL_STORE], "");
    assert_null(tls_netsh_get(b, TLS_NETSH_F_CTL_STORE));
    assert_null(tls_netsh_get(b, TLS_NETSH_F_CTL_ID));
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_NEGOTIATE), 1);
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_DS_MAPPER), -1);
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_DISABLE_QUIC), 1);
    assert_int_equal(tls_netsh_flag(b, TLS_NETSH_F_USAGE_CHECK), -1);
    done(&p);
}

struct bad {
    const char *in;
    size_t len; /* 0: strlen */
    int rc;
    size_t line;
    const char *says;
};

static void test_refused(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {"IP:port : 1.2.3.4:443\nA\0B : c\n", 24, TLS_E_INVALID, 2, "a NUL byte"},
        {"IP:port : 1.2.3.4:443\nName : \xc3\x28\n", 0, TLS_E_INVALID, 2, "0xc3 is not UTF-8"},
        {"IP:port : 1.2.3.4:443\nName : \xed\xa0\x80\n", 0, TLS_E_INVALID, 2, "not UTF-8"},
        {"\xff\xfe\x41", 3, TLS_E_INVALID, 0, "odd number of bytes"},
        {"\xff\xfe\n\0\0\xd8\x41\0", 8, TLS_E_INVALID, 2, "high surrogate U+D800 without"},
        {"\xff\xfe\0\xdc", 4, TLS_E_INVALID, 1, "low surrogate U+DC00"},
        {"\xff\xfe\0\xd8", 4, TLS_E_INVALID, 1, "high surrogate"},
        {"\xff\xfe\x41\0\0\0", 6, TLS_E_INVALID, 1, "a NUL character"},
        {"\xff\xfe\0\0I\0\0\0", 8, TLS_E_INVALID, 0, "UTF-32"},
        {"\xef\xbb\xbf\xff\xfeI\0", 7, TLS_E_INVALID, 1, "0xff is not UTF-8"},
        {"Certificate Hash : " H1 "\n", 0, TLS_E_INVALID, 1, "English output"},
        {"SSL Certificate bindings:\n\nCertificate Hash : " H1 "\n", 0, TLS_E_INVALID, 3,
         "outside a binding"},
        {"SSL-Zertifikatbindungen:\n", 0, TLS_E_INVALID, 1, "English words"},
        {"The system cannot find the file specified.\n", 0, TLS_E_INVALID, 1, "English"},
        {"\n\n  \n", 0, TLS_E_INVALID, 0, "no SSL certificate binding"},
        {"", 0, TLS_E_INVALID, 0, "no SSL certificate binding"},
        {"IP:port : 1.2.3.4:443\nthis is not a field\n", 0, TLS_E_INVALID, 2, "not a line"},
        {"IP:port : 1.2.3.4:443\nCtl Store Name : a\nCtl Store Name : b\n", 0, TLS_E_INVALID, 3,
         "Ctl Store Name appears twice in the binding of line 1"},
        {"IP:port : 1.2.3.4:443\nCertificate Hash : 286e7f38\n", 0, TLS_E_INVALID, 2,
         "expected 40 hex digits or (null), got '286e7f38'"},
        {"IP:port : 1.2.3.4:443\nCertificate Hash : " H1 "0\n", 0, TLS_E_INVALID, 2, "40 hex"},
        {"IP:port : 1.2.3.4:443\nCertificate Hash : 286e7f384d6870afd41a2f645e858814434eb3cz\n", 0,
         TLS_E_INVALID, 2, "40 hex"},
        {"IP:port : 1.2.3.4:443\nApplication ID : 4dc3e181-e14b-4a21-b022-59fc669b0914\n", 0,
         TLS_E_INVALID, 2, "a GUID in braces"},
        {"IP:port : 1.2.3.4:443\nApplication ID : {4dc3e181-e14b-4a21-b022_59fc669b0914}\n", 0,
         TLS_E_INVALID, 2, "a GUID"},
        {"IP:port : 1.2.3.4\n", 0, TLS_E_INVALID, 1, "IP:port: expected ADDRESS:PORT"},
        {"IP:port : 1.2.3.4:0\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : 1.2.3.4:65536\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : 1.2.3:443\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : ::1:443\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : [1.2.3.4]:443\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : [::1]443\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"IP:port : app.example.com:443\n", 0, TLS_E_INVALID, 1, "ADDRESS:PORT"},
        {"Hostname:port : :443\n", 0, TLS_E_INVALID, 1, "Hostname:port: expected NAME:PORT"},
        {"Hostname:port : a\"b:443\n", 0, TLS_E_INVALID, 1, "NAME:PORT"},
        {"Hostname:port : a\x1b[2Jb:443\n", 0, TLS_E_INVALID, 1, "got 'a\\x1b[2Jb:443'"},
        {"Hostname:port : app.example.com\n", 0, TLS_E_INVALID, 1, "NAME:PORT"},
        {"Central Certificate Store : x443\n", 0, TLS_E_INVALID, 1, "expected a port"},
        {"IP:port : 1.2.3.4:443\n Extended Properties:\nPropertyId : 0\nSSL Certificate "
         "bindings:\n Extended Properties:\n",
         0, TLS_E_INVALID, 5, "English"},
        /* the last line without its line end: a file cut short, said so */
        {"IP:port : 1.2.3.4:443\nNegotiat", 0, TLS_E_INVALID, 2,
         "'Negotiat'; the file looks cut short (its last line has no line end)"},
        {"IP:port : 1.2.3.4:443\r\nCertificate Hash : 286e7f38", 0, TLS_E_INVALID, 2,
         "got '286e7f38'; the file looks cut short"},
        {"\xff\xfeI\0P\0:\0p\0o\0r\0t\0 \0:\0 \0"
         "1\0.\0"
         "2\0.\0"
         "3\0.\0"
         "4\0:\0"
         "1\0\n\0N\0e\0g\0",
         48, TLS_E_INVALID, 2, "'Neg'; the file looks cut short"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad *c = &cases[i];
        struct parsed p;
        parse_bytes(&p, c->in, c->len ? c->len : strlen(c->in));
        if (p.rc != c->rc || p.err.line != c->line || strstr(p.err.message, c->says) == NULL)
            fail_msg("case %zu: rc %d line %zu '%s', expected %d line %zu '%s'", i, p.rc,
                     p.err.line, p.err.message, c->rc, c->line, c->says);
        assert_int_equal(p.n.n, 0);
        assert_null(strchr(p.err.message, 0x1b)); /* the file's text escaped */
        /* a file whose last line ends is never "cut short", nor an error of another line */
        size_t len = c->len ? c->len : strlen(c->in);
        if (strstr(p.err.message, "cut short") &&
            (len == 0 || c->in[len - (c->in[0] == '\xff' ? 2 : 1)] == '\n'))
            fail_msg("case %zu: '%s' of a file whose last line ends", i, p.err.message);
        done(&p);
    }
}

/* Every limit of netsh.h is a clear error, found before the memory it guards is taken. */
static void test_limits(void **state)
{
    (void)state;
    struct parsed p;
    /* a line over TLS_NETSH_LINE_MAX */
    size_t n = TLS_NETSH_LINE_MAX + 200;
    char *s = malloc(n + 64);
    assert_non_null(s);
    strcpy(s, "IP:port : 1.2.3.4:443\nCtl Store Name : ");
    size_t k = strlen(s);
    memset(s + k, 'x', n - k);
    s[n] = 0;
    parse_str(&p, s);
    assert_int_equal(p.rc, TLS_E_LIMIT);
    assert_int_equal(p.err.line, 2);
    assert_non_null(strstr(p.err.message, "more than 4096"));
    done(&p);
    /* one line of 1 MiB without a line end */
    char *big = malloc(1 << 20);
    assert_non_null(big);
    memset(big, 'A', 1 << 20);
    parse_bytes(&p, big, 1 << 20);
    assert_int_equal(p.rc, TLS_E_LIMIT);
    assert_int_equal(p.err.line, 1);
    done(&p);
    free(big);
    /* more than TLS_NETSH_FIELDS_MAX lines in one binding */
    size_t cap = 64 + (TLS_NETSH_FIELDS_MAX + 1) * 16;
    char *fields = malloc(cap);
    assert_non_null(fields);
    k = (size_t)snprintf(fields, cap, "IP:port : 1.2.3.4:443\n");
    for (int i = 0; i <= TLS_NETSH_FIELDS_MAX; i++)
        k += (size_t)snprintf(fields + k, cap - k, "F%d : %d\n", i, i);
    parse_str(&p, fields);
    assert_int_equal(p.rc, TLS_E_LIMIT);
    assert_int_equal(p.err.line, 2 + TLS_NETSH_FIELDS_MAX);
    assert_non_null(strstr(p.err.message, "more than 256 fields in the binding of line 1"));
    done(&p);
    free(fields);
    /* more than TLS_NETSH_BINDINGS_MAX bindings */
    const char *one = "IP:port : 1.2.3.4:9\n";
    size_t m = TLS_NETSH_BINDINGS_MAX + 1, ol = strlen(one);
    char *many = malloc(m * ol + 1);
    assert_non_null(many);
    for (size_t i = 0; i < m; i++)
        memcpy(many + i * ol, one, ol);
    parse_bytes(&p, many, m * ol);
    assert_int_equal(p.rc, TLS_E_LIMIT);
    assert_int_equal(p.err.line, m);
    done(&p);
    free(many);
    /* a file over TLS_NETSH_MAX_BYTES: refused before anything is decoded */
    uint8_t *huge = calloc(1, TLS_NETSH_MAX_BYTES + 1);
    assert_non_null(huge);
    tls_arena_init(&p.arena, 1024); /* nothing may be allocated */
    p.rc = tls_netsh_parse(&p.n, huge, TLS_NETSH_MAX_BYTES + 1, &p.arena, &p.err);
    assert_int_equal(p.rc, TLS_E_LIMIT);
    assert_int_equal(p.err.line, 0);
    done(&p);
    free(huge);
    /* an arena too small: no memory, told, nothing kept */
    tls_arena_init(&p.arena, 64);
    p.rc = tls_netsh_parse(&p.n, (const uint8_t *)ONE, strlen(ONE), &p.arena, &p.err);
    assert_int_equal(p.rc, TLS_E_NOMEM);
    assert_int_equal(p.n.n, 0);
    done(&p);
    free(s);
}

/* Thousands of bindings: each kept, in order, memory within the documented bound. */
static void test_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = (size_t)N * 200;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k = (size_t)snprintf(s, cap, "SSL Certificate bindings:\n---\n\n");
    for (int i = 0; i < N; i++)
        k += (size_t)snprintf(s + k, cap - k,
                              "    Hostname:port : h%d.example.com:443\n"
                              "    Certificate Hash : " H1 "\n    Ctl Store Name : (null)\n\n",
                              i);
    struct parsed p;
    parse_bytes(&p, s, k);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n.n, N);
    assert_string_equal(p.n.v[N - 1].key, "hostnameport=h4999.example.com:443");
    assert_true(p.arena.used < 2 * k + (size_t)N * 400);
    done(&p);
    free(s);
}

/* ---- report/netsh.c ----------------------------------------------------------------------- */

static struct report_netsh *load_str(const char *name, const char *s)
{
    struct report_netsh *n = NULL;
    char err[512];
    int rc = report_netsh_parse(&n, name, (const uint8_t *)s, strlen(s), err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    return n;
}

#define B(first, ep, rest) first " : " ep "\n" rest "\n"

static void test_join(void **state)
{
    (void)state;
    struct report_netsh *n = load_str(
        "join.txt",
        B("Hostname:port", "App.Example.com:443", "") B("Central Certificate Store", "443", "")
            B("IP:port", "10.0.0.1:443", "") B("IP:port", "0.0.0.0:443", "")
                B("IP:port", "[::]:443", "") B("IP:port", "[2001:db8::1]:443", ""));
    struct report_netsh *noccs =
        load_str("noccs.txt", B("IP:port", "10.0.0.1:443", "") B("IP:port", "0.0.0.0:8443", ""));
    enum report_netsh_via via;
    const struct tls_netsh_binding *b;
    b = report_netsh_join(n, "app.example.com", "10.0.0.1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_HOSTNAME);
    assert_string_equal(b->key, "hostnameport=App.Example.com:443");
    b = report_netsh_join(n, "other.example.com", "10.0.0.1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_CCS);
    assert_string_equal(b->key, "ccs=443");
    b = report_netsh_join(n, NULL, "10.0.0.1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_IP);
    assert_string_equal(b->key, "ipport=10.0.0.1:443");
    b = report_netsh_join(n, NULL, "::ffff:10.0.0.1", 443, &via); /* IPv4-mapped */
    assert_int_equal(via, REPORT_NETSH_VIA_IP);
    b = report_netsh_join(n, NULL, "10.0.0.2", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_WILDCARD);
    assert_string_equal(b->key, "ipport=0.0.0.0:443");
    b = report_netsh_join(n, NULL, "2001:db8:0:0::1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_IP);
    assert_string_equal(b->key, "ipport=[2001:db8::1]:443");
    b = report_netsh_join(n, NULL, "::1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_WILDCARD);
    assert_string_equal(b->key, "ipport=[::]:443");
    assert_null(report_netsh_join(n, NULL, "10.0.0.1", 8443, &via));
    assert_int_equal(via, REPORT_NETSH_VIA_NONE);
    assert_null(report_netsh_join(n, NULL, NULL, 443, &via));
    /* an SNI name with neither a hostnameport nor a ccs binding falls back to the address */
    b = report_netsh_join(noccs, "app.example.com", "10.0.0.1", 443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_IP);
    b = report_netsh_join(noccs, "app.example.com", "10.0.0.9", 8443, &via);
    assert_int_equal(via, REPORT_NETSH_VIA_WILDCARD);
    assert_null(report_netsh_join(noccs, NULL, "::1", 8443, &via)); /* no [::]:8443 */
    assert_null(report_netsh_join(NULL, NULL, "10.0.0.1", 443, &via));
    report_netsh_free(n);
    report_netsh_free(noccs);
    /* one endpoint twice, written otherwise: FILE:LINE of the second */
    struct report_netsh *d = NULL;
    char err[512];
    const char *twice =
        B("Hostname:port", "a.example:443", "") B("Hostname:port", "A.EXAMPLE:443", "");
    assert_int_equal(report_netsh_parse(&d, "tw\x1bice.txt", (const uint8_t *)twice, strlen(twice),
                                        err, sizeof(err)),
                     TLS_E_INVALID);
    assert_null(d);
    assert_string_equal(err, "tw\\x1bice.txt:3: hostnameport=A.EXAMPLE:443 appears twice (first on "
                             "line 1)");
}

static void test_update_line(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = testutil_fixture("netsh/server2022.txt", &len);
    struct report_netsh *n = NULL;
    char err[512], line[1024];
    assert_int_equal(report_netsh_parse(&n, "server2022.txt", data, len, err, sizeof(err)), 0);
    const struct tls_netsh *f = report_netsh_file(n);
    /* the binding's own values, and its settings that differ from add sslcert's defaults */
    report_netsh_update_line(&f->v[4], "sslctlstorename=Other", line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert ipport=10.0.0.5:8443 "
                              "certhash=d4a17e3b57e48c1166f18394a819edf770459ac8 appid=" IIS
                              " certstorename=WebHosting sslctlstorename=Other "
                              "verifyclientcertrevocation=disable revocationfreshnesstime=3600 "
                              "dsmapperusage=enable disablehttp2=enable");
    report_netsh_update_line(&f->v[0], "sslctlstorename=ClientAuthIssuer", line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert ipport=0.0.0.0:443 certhash=" H1
                              " appid=" IIS " certstorename=My sslctlstorename=ClientAuthIssuer "
                              "clientcertnegotiation=enable");
    /* a ccs binding takes no certhash and no store */
    report_netsh_update_line(&f->v[5], NULL, line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert ccs=443 appid=" IIS);
    /* never cut: a line that does not fit is none */
    assert_false(report_netsh_update_line(&f->v[0], NULL, line, 20));
    assert_string_equal(line, "");
    assert_true(report_netsh_update_line(&f->v[0], NULL, line, sizeof(line)));
    report_netsh_free(n);
    free(data);
    /* what the file lacks, or no command line could carry, is a placeholder */
    n = load_str("p.txt", B("IP:port", "[::]:443",
                            "Certificate Store Name : (null)\nCtl Identifier : a\"b\n"
                            "Revocation Freshness Time : -1\nCtl Store Name : My Store"));
    report_netsh_update_line(&report_netsh_file(n)->v[0], NULL, line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert ipport=[::]:443 certhash=<thumbprint> "
                              "appid={APP-GUID} certstorename=MY sslctlstorename=\"My Store\"");
    report_netsh_describe(&report_netsh_file(n)->v[0], line, sizeof(line));
    assert_string_equal(line, "Ctl Store Name My Store, Negotiate Client Certificate (not shown)");
    report_netsh_free(n);
    n = load_str("e.txt", B("IP:port", "[::]:443",
                            "Certificate Store Name : M\xe2\x80\xaeY\nCtl Store Name : \x1b[31m"));
    report_netsh_update_line(&report_netsh_file(n)->v[0], NULL, line, sizeof(line));
    assert_non_null(strstr(line, "certstorename=<store>"));
    assert_null(strstr(line, "sslctlstorename"));
    report_netsh_describe(&report_netsh_file(n)->v[0], line, sizeof(line));
    assert_non_null(strstr(line, "Ctl Store Name \\x1b[31m,"));
    report_netsh_free(n);
    /* a host name the parse takes but no command line carries as it is: cmd's operators, a
     * character the terminal would show escaped, one too long to show whole (85 zero-width
     * spaces, 255 bytes, 510 escaped) */
    static const char *const hosts[] = {
        "a&calc.exe:443",
        "a|b:443",
        "a%PATH%:443",
        "a$(x):443",
        "a\xe2\x80\x8b"
        "b:443",
    };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "Hostname:port : %s\nCertificate Hash : " H1 "\n", hosts[i]);
        n = load_str("h.txt", text);
        assert_true(
            report_netsh_update_line(&report_netsh_file(n)->v[0], NULL, line, sizeof(line)));
        assert_string_equal(line, "netsh http update sslcert hostnameport=<name>:443 certhash=" H1
                                  " appid={APP-GUID} certstorename=MY");
        report_netsh_free(n);
    }
    char longname[300] = "";
    for (int i = 0; i < 85; i++)
        strcat(longname, "\xe2\x80\x8b");
    char text[512];
    snprintf(text, sizeof(text), "Hostname:port : %s:443\n", longname);
    n = load_str("long.txt", text);
    assert_true(report_netsh_update_line(&report_netsh_file(n)->v[0], NULL, line, sizeof(line)));
    assert_string_equal(line, "netsh http update sslcert hostnameport=<name>:443 "
                              "certhash=<thumbprint> appid={APP-GUID} certstorename=MY");
    report_netsh_free(n);
    /* a DNS name, a wildcard and an IDN stay as they are */
    n = load_str("ok.txt", B("Hostname:port", "*.Example-1_a.com:443", "") B("Hostname:port",
                                                                             "b\xc3\xbc"
                                                                             "cher.example:443",
                                                                             ""));
    report_netsh_update_line(&report_netsh_file(n)->v[0], NULL, line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert hostnameport=*.Example-1_a.com:443 "
                              "certhash=<thumbprint> appid={APP-GUID} certstorename=MY");
    report_netsh_update_line(&report_netsh_file(n)->v[1], NULL, line, sizeof(line));
    assert_string_equal(line, "netsh http update sslcert hostnameport=b\xc3\xbc"
                              "cher.example:443 "
                              "certhash=<thumbprint> appid={APP-GUID} certstorename=MY");
    report_netsh_free(n);
}

static void test_audit(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = testutil_fixture("netsh/server2022.txt", &len);
    struct report_netsh *n = NULL, *before = NULL, *after = NULL;
    char err[512];
    assert_int_equal(report_netsh_parse(&n, "server2022.txt", data, len, err, sizeof(err)), 0);
    free(data);
    struct report_netsh_audit a;
    assert_int_equal(report_netsh_audit(n, NULL, &a), 0);
    const struct tls_netsh *f = report_netsh_file(n);
    /* 0.0.0.0:443 has no Ctl Store Name and negotiates; the SNI bindings of 443 have one; the
     * portal's certificate is not [::]'s */
    static const struct {
        size_t binding;
        enum report_netsh_check check;
        enum report_severity sev;
        int related; /* -1: none */
    } want[] = {
        {0, REPORT_NETSH_CTL_STORE_MISSING, REPORT_SEV_HIGH, -1},
        {0, REPORT_NETSH_SNI_IP_MISMATCH, REPORT_SEV_HIGH, 2}, /* and from 3 */
        {3, REPORT_NETSH_SNI_IP_MISMATCH, REPORT_SEV_LOW, 1},
    };
    assert_int_equal(a.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.v[i].binding, want[i].binding);
        assert_int_equal(a.v[i].check, want[i].check);
        assert_int_equal(a.v[i].severity, want[i].sev);
        if (want[i].related < 0)
            assert_null(a.v[i].related);
        else
            assert_ptr_equal(a.v[i].related, &f->v[want[i].related]);
    }
    assert_non_null(strstr(a.v[0].remedy, "ipport=0.0.0.0:443 certhash=" H1));
    assert_non_null(strstr(a.v[0].remedy, "sslctlstorename=ClientAuthIssuer"));
    assert_non_null(strstr(a.v[1].message, "differs from hostnameport=app.example.com:443 (line "
                                           "67) of the same port, and from 1 more hostnameport "
                                           "binding of it: Ctl Store Name (null) vs "
                                           "ClientAuthIssuer: "));
    assert_null(a.v[2].remedy); /* a certificate alone: two sites may share a port */
    assert_int_equal(a.pairs_skipped, 0);
    assert_null(a.change);
    report_netsh_audit_free(&a);
    report_netsh_free(n);
    /* the renewal: before (Server 2012, LF) and after (UTF-8 with its mark, CRLF) */
    data = testutil_fixture("netsh/renewal-before.txt", &len);
    assert_int_equal(report_netsh_parse(&before, "before.txt", data, len, err, sizeof(err)), 0);
    free(data);
    data = testutil_fixture("netsh/renewal-after.txt", &len);
    assert_int_equal(report_netsh_parse(&after, "after.txt", data, len, err, sizeof(err)), 0);
    free(data);
    assert_int_equal(report_netsh_audit(after, before, &a), 0);
    assert_int_equal(a.change[0], REPORT_NETSH_CHANGED);
    assert_int_equal(a.change[1], REPORT_NETSH_CHANGED);
    assert_int_equal(a.change[2], REPORT_NETSH_ADDED);
    assert_null(a.previous[2]);
    assert_int_equal(a.previous[0]->line, 5);
    assert_int_equal(a.n_removed, 1);
    assert_string_equal(a.removed[0]->key, "ipport=10.0.0.7:443");
    size_t lost = 0, renewed = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].check != REPORT_NETSH_CERTHASH_CHANGED)
            continue;
        if (a.v[i].binding == 0) {
            lost++;
            assert_int_equal(a.v[i].severity, REPORT_SEV_HIGH);
            assert_non_null(strstr(a.v[i].message, "the renewal lost it"));
            assert_non_null(strstr(a.v[i].remedy,
                                   "certhash=7f3e9c1a5b2d4e6f8a0c2e4b6d8f0a1c3e5b7d9f appid=" IIS
                                   " certstorename=My sslctlstorename=ClientAuthIssuer"));
        } else {
            renewed++;
            assert_int_equal(a.v[i].binding, 1);
            assert_int_equal(a.v[i].severity, REPORT_SEV_MEDIUM);
            assert_null(a.v[i].remedy);
        }
    }
    assert_int_equal(lost, 1);
    assert_int_equal(renewed, 1);
    report_netsh_audit_free(&a);
    report_netsh_free(before);
    report_netsh_free(after);
}

/* A value the file has empty, or a field it lacks, is told as such in every message: a message
 * that said "(null)" would quote a word the file does not hold. */
static void test_shown_values(void **state)
{
    (void)state;
    static const char file[] = /* an empty Ctl Store Name, then a binding without one */
        B("Hostname:port", "app.example.com:443",
          "Certificate Hash : " H1 "\nCtl Store Name : ClientAuthIssuer\n"
          "Negotiate Client Certificate : Enabled")
            B("IP:port", "0.0.0.0:443",
              "Certificate Hash : " H1 "\nCtl Store Name :\n"
              "Negotiate Client Certificate : Enabled")
                B("IP:port", "10.0.0.1:8443", "Certificate Hash : " H1);
    struct report_netsh *n = load_str("v.txt", file);
    struct report_netsh_audit a;
    assert_int_equal(report_netsh_audit(n, NULL, &a), 0);
    const char *empty_missing = NULL, *pair = NULL;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].check == REPORT_NETSH_CTL_STORE_MISSING && a.v[i].binding == 1)
            empty_missing = a.v[i].message;
        if (a.v[i].check == REPORT_NETSH_SNI_IP_MISMATCH && a.v[i].binding == 1)
            pair = a.v[i].message;
    }
    assert_non_null(empty_missing);
    assert_non_null(strstr(empty_missing, "and Ctl Store Name is (empty): Schannel"));
    assert_non_null(pair);
    assert_non_null(strstr(pair, ": Ctl Store Name (empty) vs ClientAuthIssuer: "));
    report_netsh_audit_free(&a);
    assert_string_equal(report_netsh_shown(NULL), "(not shown)");
    assert_string_equal(report_netsh_shown(""), "(empty)");
    assert_string_equal(report_netsh_shown("(null)"), "(null)");
    /* the renewal lost a Ctl Store Name the new file does not show at all */
    static const char old[] = B("IP:port", "0.0.0.0:443",
                                "Certificate Hash : " H1 "\nCtl Store Name : ClientAuthIssuer\n"
                                "Negotiate Client Certificate : Enabled");
    static const char now[] = B("IP:port", "0.0.0.0:443",
                                "Certificate Hash : 7f3e9c1a5b2d4e6f8a0c2e4b6d8f0a1c3e5b7d9f\n"
                                "Negotiate Client Certificate : Enabled");
    struct report_netsh *before = load_str("before.txt", old), *after = load_str("after.txt", now);
    assert_int_equal(report_netsh_audit(after, before, &a), 0);
    const char *changed = NULL, *missing = NULL;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].check == REPORT_NETSH_CERTHASH_CHANGED)
            changed = a.v[i].message;
        if (a.v[i].check == REPORT_NETSH_CTL_STORE_MISSING)
            missing = a.v[i].message;
    }
    assert_non_null(changed);
    assert_non_null(strstr(changed, "the Ctl Store Name was ClientAuthIssuer and is (not shown) "
                                    "now: the renewal lost it"));
    assert_non_null(missing);
    assert_non_null(strstr(missing, "and Ctl Store Name is (not shown): Schannel"));
    report_netsh_audit_free(&a);
    report_netsh_free(before);
    report_netsh_free(after);
    report_netsh_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server2022),   cmocka_unit_test(test_utf16_fixture),
        cmocka_unit_test(test_encodings),    cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_limits),
        cmocka_unit_test(test_many),         cmocka_unit_test(test_join),
        cmocka_unit_test(test_update_line),  cmocka_unit_test(test_audit),
        cmocka_unit_test(test_shown_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
