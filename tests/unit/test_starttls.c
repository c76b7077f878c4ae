/* The STARTTLS dialogues (tls/wire/starttls.c): what caprobe sends for each protocol, the replies
 * it accepts whole or byte by byte, and every way a server's reply can be refused, nonsense, TLS,
 * too long, endless, or followed by bytes out of turn. Canned bytes, as servers send them (the
 * integration tests talk to the real ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/wire/starttls.h"

static struct tls_starttls *new_st(enum tls_starttls_proto p)
{
    struct tls_starttls *st = malloc(sizeof(*st));
    assert_non_null(st);
    tls_starttls_init(st, p, "mx.example", 0);
    return st;
}

/* Feed n bytes in pieces of chunk bytes (0: all at once). */
static void feed_n(struct tls_starttls *st, const void *p, size_t n, size_t chunk)
{
    const uint8_t *b = p;
    while (n) {
        size_t k = chunk && chunk < n ? chunk : n;
        tls_starttls_input(st, b, k);
        b += k;
        n -= k;
    }
}

static void feed(struct tls_starttls *st, const char *s, size_t chunk)
{
    feed_n(st, s, strlen(s), chunk);
}

/* The output is exactly want (n bytes); it is taken. */
static void expect_out_n(struct tls_starttls *st, const void *want, size_t n)
{
    size_t len;
    const uint8_t *p = tls_starttls_output(st, &len);
    assert_int_equal(len, n);
    assert_memory_equal(p, want, n);
    tls_starttls_output_consume(st, len);
}

static void expect_out(struct tls_starttls *st, const char *want)
{
    expect_out_n(st, want, strlen(want));
}

static void expect_running(struct tls_starttls *st)
{
    assert_int_equal(st->status, TLS_STARTTLS_RUNNING);
}

static void expect_done(struct tls_starttls *st)
{
    assert_int_equal(st->status, TLS_STARTTLS_DONE);
    assert_int_equal(st->fail, TLS_STARTTLS_FAIL_NONE);
    size_t len;
    tls_starttls_output(st, &len);
    assert_int_equal(len, 0);
}

/* Failed with why, and the message is want (NULL: not checked) or holds part. */
static void expect_fail(struct tls_starttls *st, enum tls_starttls_fail why, const char *want,
                        const char *part)
{
    char msg[512];
    tls_starttls_describe(st, msg, sizeof(msg));
    if (st->status != TLS_STARTTLS_FAILED || st->fail != why)
        fail_msg("status %d fail %d (want %d): %s", st->status, st->fail, why, msg);
    if (want)
        assert_string_equal(msg, want);
    if (part && strstr(msg, part) == NULL)
        fail_msg("'%s' not in '%s'", part, msg);
}

/* A fresh dialogue of proto fed input whole: it fails with why (want, part: expect_fail's). */
static void expect_input_fails(enum tls_starttls_proto proto, const char *input,
                               enum tls_starttls_fail why, const char *want, const char *part)
{
    struct tls_starttls *st = new_st(proto);
    feed(st, input, 0);
    expect_fail(st, why, want, part);
    free(st);
}

static void test_names(void **state)
{
    (void)state;
    enum tls_starttls_proto p;
    assert_null(tls_starttls_name(TLS_STARTTLS_NONE));
    assert_string_equal(tls_starttls_name(TLS_STARTTLS_POSTGRES), "postgres");
    assert_int_equal(tls_starttls_by_name("postgresql", &p), 0);
    assert_int_equal(p, TLS_STARTTLS_POSTGRES);
    assert_int_equal(tls_starttls_by_name("SMTP", &p), 0);
    assert_int_equal(p, TLS_STARTTLS_SMTP);
    assert_int_equal(tls_starttls_by_name("smtps", &p), -1);
    assert_int_equal(tls_starttls_by_name("none", &p), -1);
    for (int i = TLS_STARTTLS_SMTP; i <= TLS_STARTTLS_PROTO_LAST; i++) {
        assert_int_equal(tls_starttls_by_name(tls_starttls_name(i), &p), 0);
        assert_int_equal(p, i);
    }
    static const struct {
        uint16_t port;
        enum tls_starttls_proto p;
    } ports[] = {
        {21, TLS_STARTTLS_FTP},     {24, TLS_STARTTLS_LMTP},   {25, TLS_STARTTLS_SMTP},
        {587, TLS_STARTTLS_SMTP},   {110, TLS_STARTTLS_POP3},  {119, TLS_STARTTLS_NNTP},
        {143, TLS_STARTTLS_IMAP},   {389, TLS_STARTTLS_LDAP},  {3306, TLS_STARTTLS_MYSQL},
        {4190, TLS_STARTTLS_SIEVE}, {5222, TLS_STARTTLS_XMPP}, {5432, TLS_STARTTLS_POSTGRES},
        {443, TLS_STARTTLS_NONE},   {465, TLS_STARTTLS_NONE},  {993, TLS_STARTTLS_NONE},
        {636, TLS_STARTTLS_NONE},   {0, TLS_STARTTLS_NONE},    {5223, TLS_STARTTLS_NONE},
    };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        assert_int_equal(tls_starttls_for_port(ports[i].port), ports[i].p);
}

/* Postfix's dialogue, whole and in one-byte writes. */
static void smtp_ok(size_t chunk)
{
    struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
    expect_out(st, "");
    assert_string_equal(tls_starttls_waiting(st), "greeting");
    feed(st, "220-mx.example ESMTP\r\n220 Postfix (Debian/GNU)\r\n", chunk);
    expect_out(st, "EHLO caprobe.invalid\r\n");
    assert_string_equal(tls_starttls_waiting(st), "reply to EHLO");
    feed(st,
         "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
         "250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n",
         chunk);
    assert_true(st->offered);
    expect_out(st, "STARTTLS\r\n");
    assert_string_equal(tls_starttls_waiting(st), "reply to STARTTLS");
    feed(st, "220 2.0.0 Ready to start TLS\r\n", chunk);
    expect_done(st);
    assert_int_equal(st->received, 48 + 104 + 30);
    free(st);
}

static void test_smtp(void **state)
{
    (void)state;
    smtp_ok(0);
    smtp_ok(1);
    smtp_ok(7);
    /* bare LF line ends, a one-line banner, LMTP's LHLO */
    struct tls_starttls *st = new_st(TLS_STARTTLS_LMTP);
    feed(st, "220 lmtp\n", 0);
    expect_out(st, "LHLO caprobe.invalid\r\n");
    feed(st, "250 STARTTLS\n", 0);
    expect_out(st, "STARTTLS\r\n");
    feed(st, "220 go\n", 0);
    expect_done(st);
    free(st);
}

static void test_smtp_refused(void **state)
{
    (void)state;
    struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
    feed(st, "220 mx\r\n250-mx\r\n250 8BITMIME\r\n", 0); /* EHLO's reply comes early: read */
    expect_out(st, "EHLO caprobe.invalid\r\nSTARTTLS\r\n");
    assert_false(st->offered);
    feed(st, "454 4.7.0 TLS not available due to local problem\r\n", 1);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                "SMTP: the server refused STARTTLS (its EHLO reply does not list STARTTLS): "
                "\"454 4.7.0 TLS not available due to local problem\"",
                NULL);
    free(st);

    expect_input_fails(TLS_STARTTLS_SMTP, "554-mx.example no SMTP service here\r\n554 go away\r\n",
                       TLS_STARTTLS_FAIL_REFUSED,
                       "SMTP: the server refused the session (greeting): \"554-mx.example no "
                       "SMTP service here\"",
                       NULL);
    expect_input_fails(TLS_STARTTLS_SMTP, "220 mx\r\n502 5.5.2 Error: command not recognized\r\n",
                       TLS_STARTTLS_FAIL_REFUSED, NULL, "refused EHLO: \"502 5.5.2");
}

/* Replies that are not SMTP, or change protocol on the way. */
static void test_smtp_nonsense(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 400 Bad Request\r\n",
        "220-ok\r\n250 other code\r\n", /* RFC 5321 4.2.1: one code per reply */
        "2200 x\r\n",
        "22\r\n",
        "+OK POP3 ready\r\n",
        "* OK IMAP4rev1\r\n",
        "\xff\xfe\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_input_fails(TLS_STARTTLS_SMTP, bad[i], TLS_STARTTLS_FAIL_UNEXPECTED, NULL,
                           "SMTP: the greeting is not a valid reply: \"");
    /* an IMAP greeting to SMTP, escaped in the message */
    expect_input_fails(TLS_STARTTLS_SMTP, "220 mx\r\n* OK \x1b[31mred\r\n",
                       TLS_STARTTLS_FAIL_UNEXPECTED,
                       "SMTP: the reply to EHLO is not a valid reply: \"* OK \\x1b[31mred\"", NULL);
    /* a 2xx that is not 220 where the greeting is expected */
    expect_input_fails(TLS_STARTTLS_SMTP, "250 hello\r\n", TLS_STARTTLS_FAIL_UNEXPECTED, NULL,
                       "\"250 hello\"");
}

/* TLS where plaintext was expected: an implicit-TLS port, or a server that switches. */
static void test_tls_bytes(void **state)
{
    (void)state;
    static const uint8_t hello[] = {0x16, 0x03, 0x03, 0x00, 0x31, 0x02, 0x00};
    static const uint8_t alert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28};
    for (int p = TLS_STARTTLS_SMTP; p <= TLS_STARTTLS_PROTO_LAST; p++) {
        for (int which = 0; which < 2; which++) {
            struct tls_starttls *st = new_st(p);
            feed_n(st, which ? alert : hello, sizeof(hello), 0);
            expect_fail(st, TLS_STARTTLS_FAIL_TLS, NULL, "where its ");
            expect_fail(st, TLS_STARTTLS_FAIL_TLS, NULL, "--starttls none");
            free(st);
        }
    }
    /* after a plaintext greeting: a STARTTLS service that switched before it was asked, not a
     * port that speaks TLS at once (no --starttls none), in one read or two */
    for (int split = 0; split < 2; split++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
        uint8_t both[8 + sizeof(hello)];
        memcpy(both, "220 mx\r\n", 8);
        memcpy(both + 8, hello, sizeof(hello));
        if (split) {
            feed(st, "220 mx\r\n", 0);
            feed_n(st, hello, sizeof(hello), 1);
        } else {
            feed_n(st, both, sizeof(both), 0);
        }
        expect_fail(st, TLS_STARTTLS_FAIL_TLS, NULL,
                    "SMTP: the server switched to TLS before STARTTLS: a TLS record where its "
                    "reply to EHLO was expected, after 8 bytes of plaintext: \"\\x16");
        assert_int_equal(st->tls_at, 8);
        free(st);
    }
    /* IMAP's greeting, then TLS: the same */
    struct tls_starttls *st = new_st(TLS_STARTTLS_IMAP);
    feed(st, "* OK ready\r\n", 1);
    feed_n(st, alert, sizeof(alert), 1);
    expect_fail(st, TLS_STARTTLS_FAIL_TLS, NULL, "switched to TLS before STARTTLS");
    assert_int_equal(st->tls_at, 12);
    free(st);
}

/* A banner that never ends: bounded by max_bytes; a line without an end: by the buffer. */
static void test_bounds(void **state)
{
    (void)state;
    struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
    size_t sent = 0;
    for (int i = 0; i < 100000 && st->status == TLS_STARTTLS_RUNNING; i++) {
        feed(st, "220-still greeting you\r\n", 5);
        sent += 24;
    }
    expect_fail(st, TLS_STARTTLS_FAIL_LIMIT,
                "SMTP: the server sent more than 65536 bytes of plaintext and its greeting never "
                "ended: \"220-still greeting you\"",
                NULL);
    assert_int_equal(st->received, TLS_STARTTLS_MAX);
    assert_true(sent < TLS_STARTTLS_MAX + 100);
    free(st);

    st = malloc(sizeof(*st));
    tls_starttls_init(st, TLS_STARTTLS_POP3, "h", 4096); /* --capture-limit below 64 KiB */
    for (int i = 0; i < 5000 && st->status == TLS_STARTTLS_RUNNING; i++)
        feed(st, "+", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_LIMIT, NULL, "more than 4096 bytes");
    assert_int_equal(st->received, 4096);
    free(st);

    st = malloc(sizeof(*st));
    tls_starttls_init(st, TLS_STARTTLS_IMAP, "h", 1000);
    for (int i = 0; i < 2000 && st->status == TLS_STARTTLS_RUNNING; i++)
        feed(st, "* OK\r\n* ", 3);
    expect_fail(st, TLS_STARTTLS_FAIL_LIMIT, NULL, "more than 1000 bytes");
    assert_int_equal(st->received, 1000);
    free(st);

    /* a line just under the buffer is fine */
    st = new_st(TLS_STARTTLS_SMTP);
    char *line = malloc(TLS_STARTTLS_BUF);
    memset(line, 'x', TLS_STARTTLS_BUF);
    memcpy(line, "220 ", 4);
    memcpy(line + TLS_STARTTLS_BUF - 2, "\r\n", 2);
    feed_n(st, line, TLS_STARTTLS_BUF, 1000);
    expect_out(st, "EHLO caprobe.invalid\r\n");
    line[TLS_STARTTLS_BUF - 1] = 'x';
    feed_n(st, line, TLS_STARTTLS_BUF, 1000);
    expect_fail(st, TLS_STARTTLS_FAIL_TOO_LONG, NULL, "longer than 16384 bytes: \"220 xxx");
    free(line);
    free(st);
}

/* Bytes after the final reply, before the ClientHello: never taken for TLS. */
static void test_extra(void **state)
{
    (void)state;
    struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
    feed(st, "220 mx\r\n250 STARTTLS\r\n220 go ahead\r\n\x16\x03\x03", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_EXTRA,
                "SMTP: the server sent 3 bytes after its reply to STARTTLS, before the TLS "
                "handshake began: \"\\x16\\x03\\x03\"",
                NULL);
    free(st);
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed(st, "S", 0);
    expect_out_n(st, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
    expect_done(st);
    feed(st, "XY", 0);
    feed(st, "Z", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_EXTRA, NULL, "sent 3 bytes after its answer to SSLRequest");
    free(st);
}

static void test_eof(void **state)
{
    (void)state;
    struct tls_starttls *st = new_st(TLS_STARTTLS_SMTP);
    feed(st, "220 mx\r\n250-mx\r\n250-PIPEL", 0);
    tls_starttls_eof(st);
    expect_fail(st, TLS_STARTTLS_FAIL_CLOSED,
                "SMTP: the server closed the connection while caprobe waited for its reply to "
                "EHLO (25 bytes received): \"250-PIPEL\"",
                NULL);
    free(st);
    st = new_st(TLS_STARTTLS_IMAP);
    tls_starttls_eof(st);
    expect_fail(st, TLS_STARTTLS_FAIL_CLOSED,
                "IMAP: the server closed the connection while caprobe waited for its greeting (0 "
                "bytes received)",
                NULL);
    free(st);
}

static void test_imap(void **state)
{
    (void)state;
    for (size_t chunk = 0; chunk < 3; chunk++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_IMAP);
        feed(st,
             "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
             "STARTTLS LOGINDISABLED] Dovecot (Debian) ready.\r\n",
             chunk);
        assert_true(st->offered);
        expect_out(st, "a001 STARTTLS\r\n");
        feed(st, "* CAPABILITY IMAP4rev1\r\na001 OK Begin TLS negotiation now.\r\n", chunk);
        expect_done(st);
        free(st);
    }
    static const struct {
        const char *greeting, *reply;
        enum tls_starttls_fail fail;
        const char *part;
    } bad[] = {
        {"* OK ready\r\n", "a001 NO [UNAVAILABLE] TLS not configured\r\n",
         TLS_STARTTLS_FAIL_REFUSED, "IMAP: the server refused STARTTLS: \"a001 NO [UNAVAILABLE]"},
        {"* OK ready\r\n", "a001 BAD unknown command\r\n", TLS_STARTTLS_FAIL_REFUSED, "a001 BAD"},
        {"* OK ready\r\n", "* BYE shutting down\r\n", TLS_STARTTLS_FAIL_REFUSED, "* BYE"},
        {"* OK ready\r\n", "a002 OK what\r\n", TLS_STARTTLS_FAIL_UNEXPECTED, "a002 OK"},
        {"* OK ready\r\n", "a001 MAYBE\r\n", TLS_STARTTLS_FAIL_UNEXPECTED, "a001 MAYBE"},
        {"* OK ready\r\n", "+ go ahead\r\n", TLS_STARTTLS_FAIL_UNEXPECTED, "+ go ahead"},
        {"* PREAUTH logged in\r\n", "", TLS_STARTTLS_FAIL_REFUSED,
         "refused the session (greeting): \"* PREAUTH"},
        {"* BYE too many\r\n", "", TLS_STARTTLS_FAIL_REFUSED, "* BYE too many"},
        {"220 smtp\r\n", "", TLS_STARTTLS_FAIL_UNEXPECTED, "the greeting is not a valid reply"},
        {"* HELLO\r\n", "", TLS_STARTTLS_FAIL_UNEXPECTED, "* HELLO"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_IMAP);
        feed(st, bad[i].greeting, 0);
        feed(st, bad[i].reply, 1);
        expect_fail(st, bad[i].fail, NULL, bad[i].part);
        free(st);
    }
}

/* One greeting, our command, one reply: the agreements and refusals of the text protocols
 * (Dovecot's POP3 and ManageSieve, vsftpd, INN). */
static void test_pop3_ftp_nntp_sieve(void **state)
{
    (void)state;
    static const struct {
        enum tls_starttls_proto proto;
        const char *greeting, *command, *reply;
        size_t chunk;
        enum tls_starttls_fail fail; /* NONE: the reply agrees */
        const char *part;
    } cases[] = {
        {TLS_STARTTLS_POP3, "+OK Dovecot (Debian) ready.\r\n", "STLS\r\n",
         "+OK Begin TLS negotiation now.\r\n", 1, TLS_STARTTLS_FAIL_NONE, NULL},
        {TLS_STARTTLS_POP3, "+OK ready\r\n", "STLS\r\n", "-ERR TLS support isn't enabled.\r\n", 0,
         TLS_STARTTLS_FAIL_REFUSED,
         "POP3: the server refused STLS: \"-ERR TLS support isn't enabled.\""},
        /* FTP: free text between the lines of a multi-line reply; 120 before 220 */
        {TLS_STARTTLS_FTP,
         "120 ready in 1 minute\r\n220-Welcome\r\n  rules: none\r\n220-x\r\n220 ready\r\n",
         "AUTH TLS\r\n", "234 Proceed with negotiation.\r\n", 1, TLS_STARTTLS_FAIL_NONE, NULL},
        {TLS_STARTTLS_FTP, "220 ftp\r\n", "AUTH TLS\r\n",
         "530 Please login with USER and PASS.\r\n", 0, TLS_STARTTLS_FAIL_REFUSED,
         "FTP: the server refused AUTH TLS: \"530"},
        {TLS_STARTTLS_NNTP, "200 news.example InterNetNews server ready\r\n", "STARTTLS\r\n",
         "382 Continue with TLS negotiation\r\n", 3, TLS_STARTTLS_FAIL_NONE, NULL},
        {TLS_STARTTLS_NNTP, "201 no posting\r\n", "STARTTLS\r\n",
         "580 Can not initiate TLS negotiation\r\n", 0, TLS_STARTTLS_FAIL_REFUSED, "\"580 Can not"},
        {TLS_STARTTLS_SIEVE,
         "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SIEVE\" \"fileinto reject\"\r\n"
         "\"NOTIFY\" \"mailto\"\r\n\"SASL\" \"\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n"
         "OK \"Dovecot (Debian) ready.\"\r\n",
         "STARTTLS\r\n", "OK \"Begin TLS negotiation now.\"\r\n", 2, TLS_STARTTLS_FAIL_NONE, NULL},
        {TLS_STARTTLS_SIEVE, "\"IMPLEMENTATION\" \"x\"\r\nOK\r\n", "STARTTLS\r\n",
         "NO (TRYLATER) \"later\"\r\n", 0, TLS_STARTTLS_FAIL_REFUSED,
         "\"NO (TRYLATER) \"later\"\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tls_starttls *st = new_st(cases[i].proto);
        feed(st, cases[i].greeting, cases[i].chunk);
        expect_out(st, cases[i].command);
        feed(st, cases[i].reply, cases[i].chunk);
        if (cases[i].fail == TLS_STARTTLS_FAIL_NONE)
            expect_done(st);
        else
            expect_fail(st, cases[i].fail, NULL, cases[i].part);
        if (cases[i].proto == TLS_STARTTLS_SIEVE)
            assert_int_equal(st->offered, cases[i].fail == TLS_STARTTLS_FAIL_NONE);
        free(st);
    }
}

/* RFC 4511 4.14: the request, and responses as OpenLDAP and others send them. */
static void test_ldap(void **state)
{
    (void)state;
    static const uint8_t request[] = {
        0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
        '.',  '4',  '.',  '1',  '.',  '1',  '4',  '6',  '6',  '.', '2', '0', '0', '3', '7'};
    /* slapd: success with the responseName */
    static const uint8_t ok[] = {0x30, 0x24, 0x02, 0x01, 0x01, 0x78, 0x1f, 0x0a, 0x01, 0x00,
                                 0x04, 0x00, 0x04, 0x00, 0x8a, 0x16, '1',  '.',  '3',  '.',
                                 '6',  '.',  '1',  '.',  '4',  '.',  '1',  '.',  '1',  '4',
                                 '6',  '6',  '.',  '2',  '0',  '0',  '3',  '7'};
    for (size_t chunk = 0; chunk < 2; chunk++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_LDAP);
        expect_out_n(st, request, sizeof(request));
        assert_string_equal(tls_starttls_waiting(st), "StartTLS response");
        feed_n(st, ok, sizeof(ok), chunk);
        expect_done(st);
        free(st);
    }
    /* long-form lengths, no responseName, a control after the operation */
    static const uint8_t long_form[] = {0x30, 0x84, 0x00, 0x00, 0x00, 0x11, 0x02, 0x01,
                                        0x01, 0x78, 0x81, 0x07, 0x0a, 0x01, 0x00, 0x04,
                                        0x00, 0x04, 0x00, 0xa0, 0x02, 0x30, 0x00};
    struct tls_starttls *st = new_st(TLS_STARTTLS_LDAP);
    feed_n(st, long_form, sizeof(long_form) - 1, 1);
    expect_running(st); /* one byte short */
    feed_n(st, long_form + sizeof(long_form) - 1, 1, 0);
    expect_out_n(st, request, sizeof(request));
    expect_done(st);
    free(st);

    /* protocolError with a diagnostic (a server without StartTLS) */
    static const uint8_t refused[] = {0x30, 0x25, 0x02, 0x01, 0x01, 0x78, 0x20, 0x0a, 0x01, 0x02,
                                      0x04, 0x00, 0x04, 0x19, 'u',  'n',  's',  'u',  'p',  'p',
                                      'o',  'r',  't',  'e',  'd',  ' ',  'e',  'x',  't',  'e',
                                      'n',  'd',  'e',  'd',  ' ',  'o',  'p',  '\n', 0x00};
    st = new_st(TLS_STARTTLS_LDAP);
    feed_n(st, refused, sizeof(refused), 0);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                "LDAP: the server refused the StartTLS extended request: resultCode 2 "
                "protocolError: \"unsupported extended op\\x0a\\x00\"",
                NULL);
    free(st);
    /* an unsolicited notice of disconnection (message 0) */
    static const uint8_t notice[] = {0x30, 0x0c, 0x02, 0x01, 0x00, 0x78, 0x07,
                                     0x0a, 0x01, 0x34, 0x04, 0x00, 0x04, 0x00};
    st = new_st(TLS_STARTTLS_LDAP);
    feed_n(st, notice, sizeof(notice), 0);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL,
                "notice of disconnection, resultCode 52 unavailable");
    free(st);
    static const struct {
        uint8_t b[16];
        size_t n;
        const char *part;
    } bad[] = {
        {{0x30, 0x80, 0x02, 0x01, 0x01}, 5, "not an LDAPMessage"},   /* indefinite */
        {{0x30, 0x85, 0, 0, 0, 0, 1}, 7, "not an LDAPMessage"},      /* 5 length bytes */
        {{0x30, 0x05, 0x02, 0x01, 0x01, 0x61, 0x00}, 7, "tag 0x61"}, /* not extended */
        {{0x30, 0x05, 0x02, 0x01, 0x01, 0x78, 0x00}, 7, "tag 0x78"}, /* empty result */
        {{0x30, 0x03, 0x02, 0x01, 0x81}, 5, "not an LDAPMessage"},   /* negative id */
        {{0x30, 0x0c, 0x02, 0x01, 0x02, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00},
         14,
         "an answer to message 2"},
        {{'2', '2', '0', ' '}, 4, "\"220 \""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = new_st(TLS_STARTTLS_LDAP);
        feed_n(st, bad[i].b, bad[i].n, 0);
        expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, bad[i].part);
        free(st);
    }
    /* a message longer than the buffer */
    st = new_st(TLS_STARTTLS_LDAP);
    static const uint8_t huge[] = {0x30, 0x83, 0x01, 0x00, 0x00};
    feed_n(st, huge, sizeof(huge), 0);
    expect_running(st);
    uint8_t zeros[4096] = {0};
    for (int i = 0; i < 8 && st->status == TLS_STARTTLS_RUNNING; i++)
        feed_n(st, zeros, sizeof(zeros), 0);
    expect_fail(st, TLS_STARTTLS_FAIL_TOO_LONG, NULL, NULL);
    free(st);
}

static void test_postgres(void **state)
{
    (void)state;
    struct tls_starttls *st = new_st(TLS_STARTTLS_POSTGRES);
    expect_out_n(st, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
    feed(st, "N", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                "PostgreSQL: the server refused SSLRequest: it answered 'N' (SSL is off)", NULL);
    free(st);
    /* an ErrorResponse: severity, code, message fields */
    static const char err[] = "E\x00\x00\x00\x2eSFATAL\x00"
                              "C08P01\x00"
                              "Mno pg_hba.conf entry\x00"
                              "Fx.c\x00\x00";
    for (size_t chunk = 0; chunk < 2; chunk++) {
        st = new_st(TLS_STARTTLS_POSTGRES);
        feed_n(st, err, sizeof(err) - 1, chunk);
        expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                    "PostgreSQL: the server refused SSLRequest: it answered SSLRequest with an "
                    "ErrorResponse: \"no pg_hba.conf entry\"",
                    NULL);
        free(st);
    }
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed_n(st, "E\x00\x00\x00\x02", 5, 0);
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, NULL);
    free(st);
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed_n(st, "E\x7f\x00\x00\x00", 5, 0); /* no length of protocol 3, no text of 2 */
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, NULL);
    free(st);
    /* the answer is read when its fields end, before its length says (a server that counts
     * wrong) and before the close, in any split */
    static const char short_count[] = "E\x00\x00\x00\x20SFATAL\x00Mbad proto\x00\x00";
    for (size_t chunk = 0; chunk < 2; chunk++) {
        st = new_st(TLS_STARTTLS_POSTGRES);
        feed_n(st, short_count, sizeof(short_count) - 1, chunk);
        expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                    "PostgreSQL: the server refused SSLRequest: it answered SSLRequest with an "
                    "ErrorResponse: \"bad proto\"",
                    NULL);
        free(st);
    }
    /* protocol 2, from a server older than SSL support (or one that cannot fork): 'E' and a
     * C string; its line end is not quoted */
    static const char v2[] = "EFATAL:  unsupported frontend protocol 1234.5679: server supports "
                             "1.0 to 2.0\n";
    for (size_t chunk = 0; chunk < 2; chunk++) {
        st = new_st(TLS_STARTTLS_POSTGRES);
        feed_n(st, v2, sizeof(v2), chunk); /* with its NUL */
        expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                    "PostgreSQL: the server refused SSLRequest: it answered SSLRequest with an "
                    "ErrorResponse (protocol 2): \"FATAL:  unsupported frontend protocol "
                    "1234.5679: server supports 1.0 to 2.0\"",
                    NULL);
        free(st);
    }
    /* the close ends one that never said it was whole: a refusal all the same, not a reset */
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed_n(st, "E\x00\x00\x00\x40SFATAL\x00Mtoo many", 21, 0);
    expect_running(st);
    tls_starttls_eof(st);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL, "ErrorResponse: \"too many\"");
    free(st);
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed(st, "Ecould not fork", 0);
    expect_running(st);
    tls_starttls_eof(st);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL, "(protocol 2): \"could not fork\"");
    free(st);
    st = new_st(TLS_STARTTLS_POSTGRES);
    feed(st, "HTTP/1.0 400\r\n", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED,
                "PostgreSQL: the answer to SSLRequest is not a valid reply: \"HTTP/1.0 "
                "400\\x0d\\x0a\"",
                NULL);
    free(st);
}

/* A MariaDB 10.11 greeting (HandshakeV10) with or without CLIENT_SSL. */
static size_t mysql_greeting(uint8_t *b, bool ssl, uint8_t seq)
{
    static const char version[] = "5.5.5-10.11.6-MariaDB-0+deb12u1";
    size_t n = 4;
    b[n++] = 0x0a;
    memcpy(b + n, version, sizeof(version)); /* with its NUL */
    n += sizeof(version);
    memcpy(b + n, "\x07\x00\x00\x00", 4); /* thread id */
    n += 4;
    memcpy(b + n, "abcdefgh", 8);
    n += 8;
    b[n++] = 0;
    uint16_t lo = ssl ? 0xfffe : 0xf7fe; /* CLIENT_SSL is 0x0800 */
    b[n++] = (uint8_t)lo;
    b[n++] = (uint8_t)(lo >> 8);
    b[n++] = 0x2d;                /* charset */
    b[n++] = 0x02, b[n++] = 0x00; /* status */
    b[n++] = 0xff, b[n++] = 0x81; /* capabilities, high */
    b[n++] = 21;                  /* auth data length */
    memset(b + n, 0, 10);         /* reserved */
    n += 10;
    memcpy(b + n, "ijklmnopqrst\0mysql_native_password\0", 35);
    n += 35;
    b[0] = (uint8_t)(n - 4);
    b[1] = b[2] = 0;
    b[3] = seq;
    return n;
}

static void test_mysql(void **state)
{
    (void)state;
    uint8_t g[256];
    size_t n = mysql_greeting(g, true, 0);
    for (size_t chunk = 0; chunk < 2; chunk++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_MYSQL);
        assert_string_equal(tls_starttls_waiting(st), "server handshake packet");
        feed_n(st, g, n, chunk);
        assert_int_equal(st->status, TLS_STARTTLS_DONE);
        /* SSLRequest: 32 bytes, sequence 1; our capabilities that the server has, and SSL */
        static const uint8_t want[36] = {32,   0, 0, 1, 0x04, 0xaa, 0x08,
                                         0x00, 0, 0, 0, 0x01, 0x21, 0};
        expect_out_n(st, want, sizeof(want));
        free(st);
    }
    n = mysql_greeting(g, false, 0);
    struct tls_starttls *st = new_st(TLS_STARTTLS_MYSQL);
    feed_n(st, g, n, 0);
    expect_fail(st, TLS_STARTTLS_FAIL_NOT_OFFERED,
                "MySQL: the server does not offer SSL (no CLIENT_SSL in its capabilities): server "
                "version \"5.5.5-10.11.6-MariaDB-0+deb12u1\"",
                NULL);
    free(st);
    /* ERR_Packet: host not allowed (no SQL state in this one) */
    static const char errp[] = "\x2c\x00\x00\x00\xff\x6a\x04Host '10.0.0.9' is not allowed to "
                               "connect";
    st = new_st(TLS_STARTTLS_MYSQL);
    feed_n(st, errp, sizeof(errp) - 1, 1);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED,
                "MySQL: the server refused the connection: error 1130: \"Host '10.0.0.9' is not "
                "allowed to connect\"",
                NULL);
    free(st);
    static const char errs[] = "\x11\x00\x00\x00\xff\x10\x04#08004Too many";
    st = new_st(TLS_STARTTLS_MYSQL);
    feed_n(st, errs, sizeof(errs) - 1, 0);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL, "error 1040: \"Too many\"");
    free(st);
    /* truncated greeting, wrong protocol, a greeting followed by more bytes */
    uint8_t t[8] = {4, 0, 0, 0, 0x0a, 'v', 0, 1};
    st = new_st(TLS_STARTTLS_MYSQL);
    feed_n(st, t, sizeof(t), 0);
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, "a truncated handshake packet");
    free(st);
    st = new_st(TLS_STARTTLS_MYSQL);
    feed(st, "220 smtp ready\r\n", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, "not a handshake packet (protocol 115)");
    free(st);
    n = mysql_greeting(g, true, 0);
    g[n++] = 'x';
    st = new_st(TLS_STARTTLS_MYSQL);
    feed_n(st, g, n, 0);
    expect_fail(st, TLS_STARTTLS_FAIL_EXTRA, NULL, "1 bytes after its server handshake packet");
    free(st);
}

static void test_xmpp(void **state)
{
    (void)state;
    static const char header[] =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='mx.example' version='1.0'>";
    static const char features[] =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' id='x' from='mx.example' "
        "version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
        "<required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        "<mechanism>PLAIN</mechanism></mechanisms></stream:features>";
    for (size_t chunk = 0; chunk < 2; chunk++) {
        struct tls_starttls *st = new_st(TLS_STARTTLS_XMPP);
        expect_out(st, header);
        feed(st, features, chunk);
        expect_out(st, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        feed(st, "<proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>", chunk);
        expect_done(st);
        free(st);
    }
    struct tls_starttls *st = new_st(TLS_STARTTLS_XMPP);
    feed(st, "<stream:stream><stream:features><proceed></proceed></stream:features>", 0);
    expect_out(st, header);
    expect_fail(st, TLS_STARTTLS_FAIL_NOT_OFFERED,
                "XMPP: the server does not offer STARTTLS in its stream features: "
                "\"<stream:features><proceed></proceed></stream:features>\"",
                NULL);
    free(st);
    st = new_st(TLS_STARTTLS_XMPP);
    feed(st, "<stream:stream><stream:features><starttls/></stream:features>", 0);
    feed(st, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL,
                "XMPP: the server refused <starttls/>: \"<failure");
    free(st);
    st = new_st(TLS_STARTTLS_XMPP);
    feed(st, "<stream:stream><stream:error><host-unknown/></stream:error>", 1);
    expect_fail(st, TLS_STARTTLS_FAIL_REFUSED, NULL, "<stream:error><host-unknown/>");
    free(st);
    st = new_st(TLS_STARTTLS_XMPP);
    feed(st, "220 smtp\r\n", 0);
    expect_fail(st, TLS_STARTTLS_FAIL_UNEXPECTED, NULL, "the stream features is not");
    free(st);
    /* the host is never XML-active in the header */
    st = malloc(sizeof(*st));
    tls_starttls_init(st, TLS_STARTTLS_XMPP, "a'><x", 0);
    size_t len;
    const uint8_t *out = tls_starttls_output(st, &len);
    char text[TLS_STARTTLS_OUT + 1];
    memcpy(text, out, len);
    text[len] = 0;
    assert_non_null(strstr(text, " to='a___x' "));
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),        cmocka_unit_test(test_smtp),
        cmocka_unit_test(test_smtp_refused), cmocka_unit_test(test_smtp_nonsense),
        cmocka_unit_test(test_tls_bytes),    cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_extra),        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_imap),         cmocka_unit_test(test_pop3_ftp_nntp_sieve),
        cmocka_unit_test(test_ldap),         cmocka_unit_test(test_postgres),
        cmocka_unit_test(test_mysql),        cmocka_unit_test(test_xmpp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
