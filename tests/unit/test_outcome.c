/* Unit tests for probe/outcome.c: how a finished connection becomes what users read. Each test
 * builds a connection result (captures fed with canned records, no network) and checks the
 * error kind against docs/output.md's table and the message users see (README's examples where
 * it gives them), the retry decision, and the http object of --request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/ssl.h>

#include "probe/outcome.h"
#include "testutil.h"
#include "tls/capture.h"
#include "tls/wire/error.h"
#include "tls/wire/http.h"
#include "tls/wire/str.h"

/* A TLS 1.2 flight: ServerHello (ECDHE-RSA-AES256-GCM-SHA384), a CertificateRequest naming
 * "CN=B", ServerHelloDone. */
static const uint8_t hello[] = {
    0x02, 0x00, 0x00, 0x26, 0x03, 0x03, /* ServerHello, legacy_version */
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
    0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
    0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, /* random */
    0x00, 0xc0, 0x30, 0x00, /* no session id, suite, no compression */
};
static const uint8_t certreq[] = {
    0x0d, 0x00, 0x00, 0x18, 0x01, 0x40,                   /* ecdsa_sign */
    0x00, 0x02, 0x04, 0x03,                               /* ecdsa_secp256r1_sha256 */
    0x00, 0x10, 0x00, 0x0e, 0x30, 0x0c, 0x31, 0x0a, 0x30, /* one name: CN=B */
    0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x42,
};
static const uint8_t hello_done[] = {0x0e, 0x00, 0x00, 0x00};

#define LIMIT (256 * 1024)

/* One connection's result with its captures and the observations it is turned into. */
struct probe {
    struct tls_capture cap, renego;
    struct probe_conn_result r;
    struct tls_observation hs, reneg;
};

static void probe_init(struct probe *p, enum probe_conn_end end, enum probe_conn_phase phase)
{
    memset(p, 0, sizeof(*p));
    tls_capture_init(&p->cap, LIMIT);
    tls_capture_init(&p->renego, LIMIT);
    tls_observation_init(&p->hs);
    tls_observation_init(&p->reneg);
    p->hs.address = "192.0.2.10";
    p->hs.sni = "app.example.com";
    p->hs.tls_max = 0x0303;
    p->r.end = end;
    p->r.phase = phase;
    p->r.capture = phase == PROBE_CONN_CONNECTING ? NULL : &p->cap; /* no session before */
    p->r.capture_limit = LIMIT;
    p->r.timeout_ms = 10000;
    p->r.elapsed_ms = 42;
}

static void probe_free(struct probe *p)
{
    tls_capture_free(&p->cap);
    tls_capture_free(&p->renego);
    tls_observation_free(&p->hs);
    tls_observation_free(&p->reneg);
}

/* --request PATH: the handshake completed and the request went out. */
static void probe_request(struct probe *p)
{
    p->r.request_path = "/secure/";
    p->r.exchange.handshake_done = true;
    p->r.exchange.sent = true;
    p->r.handshake_ms = 7;
}

static bool fill(struct probe *p, unsigned attempts)
{
    return probe_outcome_fill(&p->r, attempts, &p->hs, p->r.request_path ? &p->reneg : NULL);
}

/* Bytes to a capture, counted as received by the connection. */
static void feed(struct probe *p, struct tls_capture *c, const uint8_t *bytes, size_t n)
{
    tls_capture_feed(c, bytes, n);
    if (c == &p->cap)
        p->r.received += n;
}

static void feed_record(struct probe *p, struct tls_capture *c, uint8_t type, const uint8_t *body,
                        size_t n)
{
    uint8_t rec[8192];
    assert_true(n + 5 <= sizeof(rec));
    feed(p, c, rec, testutil_record(rec, type, body, n));
}

static void feed_flight(struct probe *p, struct tls_capture *c, bool with_request)
{
    feed_record(p, c, 22, hello, sizeof(hello));
    if (with_request)
        feed_record(p, c, 22, certreq, sizeof(certreq));
    feed_record(p, c, 22, hello_done, sizeof(hello_done));
    assert_int_equal(c->status, TLS_CAPTURE_DONE);
}

static void feed_alert(struct probe *p, uint8_t level, uint8_t desc)
{
    const uint8_t alert[] = {level, desc};
    feed_record(p, &p->cap, 21, alert, sizeof(alert));
}

/* --request with the first flight captured (with or without a CertificateRequest): the
 * exchange's turn. */
static void probe_exchange(struct probe *p, enum probe_conn_end end, bool with_request)
{
    probe_init(p, end, PROBE_CONN_EXCHANGE);
    probe_request(p);
    feed_flight(p, &p->cap, with_request);
}

/* The server renegotiated; its second flight is p->renego. */
static void renegotiate(struct probe *p)
{
    p->r.exchange.renegotiation = true;
    p->r.exchange.renego = &p->renego;
}

/* An alert outside any second flight. */
static void renego_alert(struct probe *p, uint8_t level, uint8_t desc)
{
    p->r.exchange.renego_alert = true;
    p->r.exchange.renego_alert_level = level;
    p->r.exchange.renego_alert_desc = desc;
}

static void assert_error(const struct tls_observation *o, const char *kind, const char *message)
{
    assert_int_equal(o->outcome, TLS_OUTCOME_ERROR);
    assert_string_equal(tls_error_kind_name(o->error_kind), kind);
    assert_non_null(o->error_message);
    assert_string_equal(o->error_message, message);
}

static void assert_error_prefix(const struct tls_observation *o, const char *kind,
                                const char *prefix)
{
    assert_int_equal(o->outcome, TLS_OUTCOME_ERROR);
    assert_string_equal(tls_error_kind_name(o->error_kind), kind);
    assert_non_null(o->error_message);
    assert_memory_equal(o->error_message, prefix, strlen(prefix));
}

static void assert_http_error(const struct tls_observation *o, const char *kind,
                              const char *message)
{
    assert_string_equal(o->http.path, "/secure/");
    assert_true(o->http.failed);
    assert_int_equal(o->http.status, 0);
    assert_string_equal(tls_error_kind_name(o->http.error_kind), kind);
    assert_string_equal(o->http.error, message);
}

/* ---- no connection ------------------------------------------------------------------------ */

/* Failures the connection met on its own, before the server sent a byte: the kind
 * docs/output.md gives them, the message, and whether another attempt is made. */
static void test_own_failures(void **state)
{
    (void)state;
    static const struct {
        enum probe_conn_end end;
        enum probe_conn_phase phase;
        int uv_err;
        const char *kind, *message;
        bool retry;
    } cases[] = {
        /* README: "connect failed: connection refused"; a refusal is an answer, not transient */
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_ECONNREFUSED, "refused",
         "connect failed: connection refused", false},
        /* refused is also "network or host unreachable"; those may pass: retried */
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_EHOSTUNREACH, "refused",
         "connect failed: host is unreachable", true},
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_ENETUNREACH, "refused",
         "connect failed: network is unreachable", true},
        /* the kernel's own connect timeout */
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_ETIMEDOUT, "timeout",
         "connect failed: connection timed out", true},
        /* local: "no file descriptors, no local port, no memory, not permitted" */
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_EMFILE, "local",
         "connect failed: too many open files", false},
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_EADDRNOTAVAIL, "local",
         "connect failed: address not available", true},
        {PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING, UV_EACCES, "local",
         "connect failed: permission denied", false},
        {PROBE_CONN_END_NO_MEMORY, PROBE_CONN_HANDSHAKE, 0, "local", "out of memory", false},
        {PROBE_CONN_END_START_FAILED, PROBE_CONN_HANDSHAKE, UV_ENOMEM, "local",
         "cannot start the handshake: not enough memory", false},
        {PROBE_CONN_END_REQUEST_TOO_LONG, PROBE_CONN_HANDSHAKE, 0, "local",
         "the request does not fit in 4096 bytes", false},
        /* an overloaded listener resets before it says anything: retried */
        {PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE, UV_ECONNRESET, "reset",
         "connection reset by the server after 0 bytes", true},
        {PROBE_CONN_END_WRITE_FAILED, PROBE_CONN_HANDSHAKE, UV_ECONNRESET, "reset",
         "write failed: connection reset by peer", true},
        {PROBE_CONN_END_WRITE_FAILED, PROBE_CONN_HANDSHAKE, UV_EPIPE, "reset",
         "write failed: broken pipe", false},
        /* unreachable after the connection was made (an ICMP error mid-stream): the connection
         * broke; docs/output.md: refused means no connection was made */
        {PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE, UV_EHOSTUNREACH, "reset",
         "connection broken (host is unreachable) after 0 bytes", false},
        {PROBE_CONN_END_WRITE_FAILED, PROBE_CONN_HANDSHAKE, UV_ENETUNREACH, "reset",
         "write failed: network is unreachable", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe p;
        probe_init(&p, cases[i].end, cases[i].phase);
        p.r.uv_err = cases[i].uv_err;
        assert_int_equal(probe_outcome_retryable(&p.r), cases[i].retry);
        assert_false(fill(&p, 1));
        assert_error(&p.hs, cases[i].kind, cases[i].message);
        assert_int_equal(p.hs.error_raw, cases[i].uv_err);
        assert_int_equal(p.hs.elapsed_ms, 42);
        assert_null(p.hs.http.path);
        probe_free(&p);
    }
}

static void test_start_failed(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_START_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.err = TLS_E_NOMEM;
    fill(&p, 1);
    assert_error(&p.hs, "local", "cannot start the handshake: out of memory");
    assert_int_equal(p.hs.error_code, TLS_E_NOMEM);
    probe_free(&p);
    /* an mbedTLS failure keeps its raw code and mbedTLS's words beside ours (STYLE.md) */
    probe_init(&p, PROBE_CONN_END_START_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.err = TLS_E_MBEDTLS;
    p.r.ssl_err = MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    fill(&p, 1);
    assert_int_equal(p.hs.error_code, TLS_E_MBEDTLS);
    assert_int_equal(p.hs.error_raw, MBEDTLS_ERR_SSL_BAD_INPUT_DATA);
    assert_non_null(strstr(p.hs.error_message, "cannot start the handshake: mbedTLS error ("));
    probe_free(&p);
}

/* ---- deadlines, one per phase --------------------------------------------------------------- */

static void test_timeout_connect(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_DEADLINE, PROBE_CONN_CONNECTING);
    p.r.loop_ms = 3001;
    assert_true(probe_outcome_retryable(&p.r)); /* no answer in time: another attempt may pass */
    fill(&p, 1);
    assert_error(&p.hs, "timeout", "no connection within 3001 ms");
    probe_free(&p);
}

static void test_timeout_handshake(void **state)
{
    (void)state;
    struct probe p;
    /* README: "handshake incomplete after 3001 ms (total deadline): 0 bytes received, the
     * server never answered" */
    probe_init(&p, PROBE_CONN_END_DEADLINE, PROBE_CONN_HANDSHAKE);
    p.r.timeout_ms = 3000;
    p.r.loop_ms = 3001;
    assert_false(probe_outcome_retryable(&p.r));
    fill(&p, 1);
    assert_error(&p.hs, "timeout",
                 "handshake incomplete after 3001 ms (total deadline): 0 bytes received, the "
                 "server never answered");
    probe_free(&p);

    /* --handshake-timeout passed first; a record header came, no ServerHello */
    probe_init(&p, PROBE_CONN_END_DEADLINE, PROBE_CONN_HANDSHAKE);
    p.r.loop_ms = 2000;
    feed(&p, &p.cap, (const uint8_t[]){0x16, 0x03, 0x03, 0x00, 0x2a}, 5);
    fill(&p, 1);
    assert_error(&p.hs, "timeout",
                 "handshake incomplete after 2000 ms (handshake deadline): 5 bytes received, no "
                 "ServerHello yet");
    probe_free(&p);

    /* the ServerHello came, the rest of the flight did not */
    probe_init(&p, PROBE_CONN_END_DEADLINE, PROBE_CONN_HANDSHAKE);
    p.r.loop_ms = 2000;
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    fill(&p, 1);
    assert_error(&p.hs, "timeout",
                 "handshake incomplete after 2000 ms (handshake deadline): 47 bytes received, the "
                 "flight never ended");
    assert_int_equal(p.hs.version, 0x0303); /* what the ServerHello said is kept */
    assert_int_equal(p.hs.cipher_suite, 0xc030);
    probe_free(&p);
}

static void test_timeout_exchange(void **state)
{
    (void)state;
    struct probe p;
    probe_exchange(&p, PROBE_CONN_END_DEADLINE, false);
    p.r.received_at_exchange = p.r.received;
    p.r.received += 100;
    p.r.loop_ms = 10000;
    assert_false(fill(&p, 1));
    /* the deadline belongs to the exchange: the handshake's observation stands */
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
    assert_int_equal(p.hs.elapsed_ms, 7); /* the handshake's own time */
    assert_true(p.hs.http.sent);
    assert_http_error(&p.hs, "timeout",
                      "no response within the 10000 ms total deadline: 100 bytes after the "
                      "handshake flight");
    probe_free(&p);
}

/* ---- STARTTLS ---------------------------------------------------------------------------- */

/* The plaintext exchange: its failure is kind starttls with the dialogue's words, its EOF a
 * reset, its deadline a timeout naming the reply awaited; bytes counted in TLS messages are the
 * TLS ones only. */
static void test_starttls(void **state)
{
    (void)state;
    struct tls_starttls *st = malloc(sizeof(*st));
    assert_non_null(st);
    struct probe p;
    static const char refusal[] = "220 mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n";
    tls_starttls_init(st, TLS_STARTTLS_SMTP, "mx.example", 0);
    tls_starttls_input(st, (const uint8_t *)refusal, strlen(refusal));
    probe_init(&p, PROBE_CONN_END_STARTTLS_FAILED, PROBE_CONN_STARTTLS);
    p.r.capture = NULL;
    p.r.starttls = st;
    p.r.received = p.r.starttls_bytes = st->received;
    assert_false(probe_outcome_retryable(&p.r));
    fill(&p, 1);
    assert_error(&p.hs, "starttls",
                 "SMTP: the server refused STARTTLS: \"454 4.7.0 TLS not available\"");
    probe_free(&p);

    tls_starttls_init(st, TLS_STARTTLS_IMAP, "mx.example", 0);
    tls_starttls_input(st, (const uint8_t *)"* OK", 4);
    tls_starttls_eof(st);
    probe_init(&p, PROBE_CONN_END_STARTTLS_FAILED, PROBE_CONN_STARTTLS);
    p.r.capture = NULL;
    p.r.starttls = st;
    fill(&p, 1);
    assert_error(&p.hs, "reset",
                 "IMAP: the server closed the connection while caprobe waited for its greeting (4 "
                 "bytes received): \"* OK\"");
    probe_free(&p);

    /* a silent server: most likely one that speaks TLS at once */
    tls_starttls_init(st, TLS_STARTTLS_SMTP, "mx.example", 0);
    probe_init(&p, PROBE_CONN_END_DEADLINE, PROBE_CONN_STARTTLS);
    p.r.capture = NULL;
    p.r.starttls = st;
    p.r.loop_ms = 2000;
    fill(&p, 1);
    assert_error(&p.hs, "timeout",
                 "STARTTLS smtp: no complete greeting after 2000 ms (handshake deadline): 0 bytes "
                 "received, the server never answered (TLS from the first byte? probe HOST:PORT "
                 "with --starttls none)");
    probe_free(&p);

    /* agreed, then the TLS server closed: the count is of TLS bytes */
    static const char agreed[] = "220 mx\r\n250 STARTTLS\r\n220 go\r\n";
    tls_starttls_init(st, TLS_STARTTLS_SMTP, "mx.example", 0);
    tls_starttls_input(st, (const uint8_t *)agreed, strlen(agreed));
    assert_int_equal(st->status, TLS_STARTTLS_DONE);
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    p.r.starttls = st;
    p.r.received = p.r.starttls_bytes = st->received;
    feed(&p, &p.cap, (const uint8_t[]){0x16, 0x03, 0x03}, 3);
    tls_capture_eof(&p.cap);
    fill(&p, 1);
    assert_error(&p.hs, "reset",
                 "the server closed the connection after 3 bytes, before a ServerHello");
    probe_free(&p);
    free(st);
}

/* ---- resets and EOF ----------------------------------------------------------------------- */

static void test_closed_before_hello(void **state)
{
    (void)state;
    /* docs (test_scan): a server that reads the ClientHello and closes gives reset */
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    tls_capture_eof(&p.cap);
    assert_false(probe_outcome_retryable(&p.r));
    fill(&p, 1);
    assert_error(&p.hs, "reset",
                 "the server closed the connection after 0 bytes, before a "
                 "ServerHello");
    assert_int_equal(p.hs.error_code, TLS_E_TRUNCATED);
    probe_free(&p);
}

/* A close or reset without a byte on a port the STARTTLS table does not name, spoken to without
 * --starttls (by_port), is what PostgreSQL and slapd do with a ClientHello: the message says what
 * to try, unless another variant of the target got TLS (an IIS binding that resets without
 * SNI) or the protocol was chosen. */
static void test_silent_close_hint(void **state)
{
    (void)state;
    static const char *const hint =
        " (a STARTTLS service such as PostgreSQL or LDAP closes so: try --starttls postgres or "
        "--starttls ldap)";
    for (int by_port = 0; by_port < 2; by_port++)
        for (int other_tls = 0; other_tls < 2; other_tls++) {
            struct probe closed, reset, other;
            probe_init(&closed, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
            tls_capture_eof(&closed.cap);
            fill(&closed, 1);
            probe_init(&reset, PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE);
            reset.r.uv_err = UV_ECONNRESET;
            fill(&reset, 1);
            probe_init(&other, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
            if (other_tls)
                feed_flight(&other, &other.cap, true);
            else
                tls_capture_eof(&other.cap);
            fill(&other, 1);
            assert_true(closed.hs.silent_close && reset.hs.silent_close);
            struct tls_observation *obs[] = {&closed.hs, &reset.hs, &other.hs};
            probe_outcome_settle(obs, 3, by_port);
            char want[512];
            snprintf(want, sizeof(want),
                     "the server closed the connection after 0 bytes, before a ServerHello%s",
                     by_port && !other_tls ? hint : "");
            assert_error(&closed.hs, "reset", want);
            snprintf(want, sizeof(want), "connection reset by the server after 0 bytes%s",
                     by_port && !other_tls ? hint : "");
            assert_error(&reset.hs, "reset", want);
            probe_free(&closed);
            probe_free(&reset);
            probe_free(&other);
        }
    /* a close after bytes is no silent close */
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    tls_capture_eof(&p.cap);
    fill(&p, 1);
    assert_false(p.hs.silent_close);
    struct tls_observation *one[] = {&p.hs};
    probe_outcome_settle(one, 1, true);
    assert_null(strstr(p.hs.error_message, "--starttls"));
    probe_free(&p);
}

static void test_reset_after_bytes(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.uv_err = UV_ECONNRESET;
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    assert_false(probe_outcome_retryable(&p.r)); /* the server answered: not transient */
    fill(&p, 1);
    assert_error(&p.hs, "reset", "connection reset by the server after 47 bytes");
    assert_int_equal(p.hs.error_raw, UV_ECONNRESET);
    probe_free(&p);

    /* after the handshake flight (--request): the exchange's failure, not the handshake's */
    probe_exchange(&p, PROBE_CONN_END_READ_FAILED, true);
    p.r.uv_err = UV_ECONNRESET;
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_http_error(&p.hs, "reset",
                      "connection reset by the server after 89 bytes (after the handshake "
                      "flight)");
    probe_free(&p);
}

static void test_read_failed(void **state)
{
    (void)state;
    struct probe p;
    /* another read error than a reset: libuv's text, its kind */
    probe_init(&p, PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.uv_err = UV_ETIMEDOUT;
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    fill(&p, 1);
    assert_error(&p.hs, "timeout", "connection broken (connection timed out) after 47 bytes");
    probe_free(&p);

    probe_init(&p, PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.uv_err = UV_ENOBUFS;
    fill(&p, 1);
    assert_error(&p.hs, "local", "connection broken (no buffer space available) after 0 bytes");
    probe_free(&p);
}

static void test_eof_mid_record(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    /* a record header for 100 bytes, then 10 of them, then EOF */
    uint8_t part[15] = {0x16, 0x03, 0x03, 0x00, 0x64, 0x0b};
    feed(&p, &p.cap, part, sizeof(part));
    tls_capture_eof(&p.cap);
    fill(&p, 1);
    assert_error(&p.hs, "reset",
                 "the server closed the connection after 62 bytes, before its flight was complete");
    probe_free(&p);
}

/* ---- what the server said ----------------------------------------------------------------- */

static void test_alert(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_alert(&p, 2, 40);
    fill(&p, 1);
    /* README: "server sent fatal alert handshake_failure (40)" */
    assert_error(&p.hs, "tls_alert", "server sent fatal alert handshake_failure (40)");
    assert_int_equal(p.hs.alert, 40);
    probe_free(&p);
}

/* A server without TLS 1.3 declines the 1.3 probe with an alert: tls_alert, named, until the
 * target's variants are settled. Then protocol_version is "TLS 1.3 not offered" by itself;
 * handshake_failure only when another version of the same address got a ServerHello of a
 * version this probe did not offer (it may also mean no common suite), never from a probe of
 * another address. */
static void test_version_declined(void **state)
{
    (void)state;
    static const struct {
        uint8_t desc;
        const char *message;
        /* kind after settling: alone, beside a TLS 1.2 probe that worked on the same variant,
         * on another address, with another SNI (a server that fails without SNI in every
         * version: no version declined), and a TLS 1.1 probe beside a TLS 1.2 one where the
         * server chose TLS 1.0, which the 1.1 probe offered too (not the version, then) */
        const char *want[5];
    } cases[] = {
        {70,
         "server sent fatal alert protocol_version (70)",
         {"version_not_offered", "version_not_offered", "version_not_offered",
          "version_not_offered", "version_not_offered"}},
        {40,
         "server sent fatal alert handshake_failure (40)",
         {"tls_alert", "version_not_offered", "tls_alert", "tls_alert", "tls_alert"}},
        {80,
         "server sent fatal alert internal_error (80)",
         {"tls_alert", "tls_alert", "tls_alert", "tls_alert", "tls_alert"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int with = 0; with < 5; with++) {
            struct probe p, ok;
            probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
            p.hs.tls_max = 0x0304;
            feed_alert(&p, 2, cases[i].desc);
            fill(&p, 1);
            assert_error(&p.hs, "tls_alert", cases[i].message);
            assert_int_equal(p.hs.alert, cases[i].desc);
            assert_int_equal(p.hs.tls_max, 0x0304);
            assert_int_equal(p.hs.version, 0); /* no ServerHello */
            if (with == 4)
                p.hs.tls_max = 0x0302;
            /* the TLS 1.2 probe of the same target: a whole flight, same or another address */
            probe_init(&ok, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
            if (with == 2)
                ok.hs.address = "192.0.2.11";
            if (with == 3)
                p.hs.sni = NULL; /* the failed probe sent no SNI, the one that worked did */
            feed_flight(&ok, &ok.cap, true);
            fill(&ok, 1);
            assert_int_equal(ok.hs.version, 0x0303);
            if (with == 4)
                ok.hs.version = 0x0301; /* caprobe's 1.2 ClientHello offers 1.0 to 1.2 */
            struct tls_observation *obs[] = {&ok.hs, &p.hs};
            probe_outcome_settle(with ? obs : obs + 1, with ? 2 : 1, false);
            const char *want = cases[i].want[with];
            assert_string_equal(tls_error_kind_name(p.hs.error_kind), want);
            if (strcmp(want, "version_not_offered") == 0) {
                char m[200];
                snprintf(m, sizeof(m), "TLS %s not offered: %s", with == 4 ? "1.1" : "1.3",
                         cases[i].message);
                assert_string_equal(p.hs.error_message, m);
            } else {
                assert_string_equal(p.hs.error_message, cases[i].message);
            }
            assert_int_equal(ok.hs.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST); /* untouched */
            probe_free(&ok);
            probe_free(&p);
        }
    }
    /* OpenSSL 3 (s_server at its default security level) answers a ClientHello of TLS 1.0 or
     * 1.1 with internal_error: declined when another version worked, else the server's error */
    for (int with = 0; with < 2; with++) {
        struct probe p, ok;
        probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
        p.hs.tls_max = 0x0301;
        feed_alert(&p, 2, 80);
        fill(&p, 1);
        probe_init(&ok, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
        feed_flight(&ok, &ok.cap, true);
        fill(&ok, 1);
        struct tls_observation *obs[] = {&ok.hs, &p.hs};
        probe_outcome_settle(with ? obs : obs + 1, with ? 2 : 1, false);
        if (with)
            assert_error(&p.hs, "version_not_offered",
                         "TLS 1.0 not offered: server sent fatal alert internal_error (80)");
        else
            assert_error(&p.hs, "tls_alert", "server sent fatal alert internal_error (80)");
        probe_free(&ok);
        probe_free(&p);
    }
}

/* A ServerHello above the versions offered is a protocol error naming both; one below TLS 1.0
 * (SSL 3.0), or one below TLS 1.3 to a probe of 1.3 only, is the server declining them; records
 * whose version disagrees with the ServerHello are a protocol error quoting the record's. */
static void test_version_errors(void **state)
{
    (void)state;
    static const struct {
        uint16_t min, max, chosen, record;
        const char *kind, *message;
    } cases[] = {
        {0x0301, 0x0301, 0x0303, 0x0303, "protocol",
         "the server chose TLS 1.2, which this probe did not offer (it offered TLS 1.0 only)"},
        {0x0301, 0x0303, 0x0300, 0x0300, "version_not_offered",
         "TLS 1.2 not offered: the server chose SSL 3.0, which this probe did not offer (it "
         "offered TLS 1.0 to 1.2)"},
        {0x0304, 0x0304, 0x0301, 0x0301, "version_not_offered",
         "TLS 1.3 not offered: the server chose TLS 1.0, which this probe did not offer (it "
         "offered TLS 1.3 only)"},
        {0x0301, 0x0303, 0x0301, 0x0303, "protocol",
         "a record of TLS 1.2 after a ServerHello of TLS 1.0: the records of one connection "
         "carry the version the server chose (RFC 5246 E.1)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe p;
        probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
        p.hs.tls_max = cases[i].max;
        tls_capture_offer(&p.cap, cases[i].min, cases[i].max);
        uint8_t sh[sizeof(hello)], rec[256];
        memcpy(sh, hello, sizeof(sh));
        sh[4] = (uint8_t)(cases[i].chosen >> 8);
        sh[5] = (uint8_t)cases[i].chosen;
        size_t n = testutil_record(rec, 22, sh, sizeof(sh));
        rec[2] = 1; /* the ServerHello's record: 3.1, as any */
        feed(&p, &p.cap, rec, n);
        n = testutil_record(rec, 22, certreq, sizeof(certreq));
        rec[1] = (uint8_t)(cases[i].record >> 8);
        rec[2] = (uint8_t)cases[i].record;
        feed(&p, &p.cap, rec, n);
        fill(&p, 1);
        struct tls_observation *obs[] = {&p.hs};
        probe_outcome_settle(obs, 1, false);
        assert_error(&p.hs, cases[i].kind, cases[i].message);
        assert_int_equal(p.hs.version, cases[i].chosen); /* the tls object shows the choice */
        probe_free(&p);
    }
}

static void test_capture_limit(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    tls_capture_free(&p.cap);
    tls_capture_init(&p.cap, 4096);
    p.r.capture_limit = 4096;
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    /* a Certificate message of 8,000 bytes: past the limit before the flight ends */
    static uint8_t cert[8004] = {0x0b, 0x00, 0x1f, 0x40};
    feed_record(&p, &p.cap, 22, cert, sizeof(cert));
    fill(&p, 1);
    assert_error(&p.hs, "capture_limit",
                 "the server sent more than 4096 bytes before its flight was complete "
                 "(--capture-limit)");
    probe_free(&p);
}

/* A header that announces more than the limit is reported as what it is: bytes announced, not
 * bytes sent (a ServerHello of 0xFFFFFF bytes in a 43-byte record). */
static void test_capture_limit_announced(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    uint8_t big[38] = {0x02, 0xff, 0xff, 0xff, 0x03, 0x03};
    feed_record(&p, &p.cap, 22, big, sizeof(big));
    fill(&p, 1);
    assert_error(&p.hs, "capture_limit",
                 "a handshake message server_hello (type 2) announced 16777215 bytes, more than "
                 "the capture limit of 262144 bytes (--capture-limit); 43 bytes received");
    assert_int_equal(p.hs.error_code, TLS_E_LIMIT);
    probe_free(&p);

    /* under a limit that lets it in: the server closed before it was whole, and says so */
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    tls_capture_free(&p.cap);
    tls_capture_init(&p.cap, 16u << 20);
    feed_record(&p, &p.cap, 22, big, sizeof(big));
    tls_capture_eof(&p.cap);
    fill(&p, 1);
    assert_error(&p.hs, "reset",
                 "the server closed the connection after 43 bytes, before a ServerHello, in a "
                 "handshake message server_hello (type 2) that announced 16777215 bytes (34 "
                 "came)");
    probe_free(&p);
}

/* A record whose handshake header is not a message a server sends first ("garba": type 0x67,
 * "length" 6,386,274) is not TLS: kind protocol at once, whatever the capture limit. */
static void test_garbled_reply(void **state)
{
    (void)state;
    uint8_t wire[380];
    for (size_t i = 0; i + 19 <= sizeof(wire); i += 19)
        memcpy(wire + i, "\x16\x03\x01\x00\x05garbagegarbage", 19);
    static const size_t limits[] = {LIMIT, 16u << 20};
    for (size_t i = 0; i < 2; i++) {
        struct probe p;
        probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
        tls_capture_free(&p.cap);
        tls_capture_init(&p.cap, limits[i]);
        feed(&p, &p.cap, wire, sizeof(wire));
        assert_int_equal(p.cap.status, TLS_CAPTURE_FAILED);
        fill(&p, 1);
        assert_error(&p.hs, "protocol",
                     "unexpected handshake message of type 0x67 (none TLS defines) after 380 "
                     "bytes, where a ServerHello was expected (not TLS?)");
        assert_int_equal(p.hs.error_code, TLS_E_UNEXPECTED);
        probe_free(&p);
    }
    /* a message TLS defines, out of turn: named */
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    static const uint8_t cert[] = {0x0b, 0x00, 0x10, 0x00, 0x00};
    feed_record(&p, &p.cap, 22, cert, sizeof(cert));
    fill(&p, 1);
    assert_error(&p.hs, "protocol",
                 "unexpected handshake message certificate (type 11) after 10 bytes, where a "
                 "ServerHello was expected (not TLS?)");
    probe_free(&p);
}

static void test_not_tls(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    const char *http = "HTTP/1.1 400 Bad Request\r\n\r\n";
    feed(&p, &p.cap, (const uint8_t *)http, strlen(http));
    assert_int_equal(p.cap.status, TLS_CAPTURE_FAILED);
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_ERROR);
    assert_string_equal(tls_error_kind_name(p.hs.error_kind), "protocol");
    const char *m = p.hs.error_message;
    assert_non_null(strstr(m, " after 28 bytes (not TLS?)"));
    assert_memory_equal(m, tls_err_str(p.hs.error_code), strlen(tls_err_str(p.hs.error_code)));
    probe_free(&p);
}

static void test_mbedtls_failed(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    tls_capture_fail(&p.cap, TLS_E_MBEDTLS); /* TLS 1.3: no secret will come */
    p.r.ssl_err = -0x7780;
    fill(&p, 1);
    assert_error_prefix(&p.hs, "protocol", "handshake failed before the capture was complete: ");
    assert_int_equal(p.hs.error_code, TLS_E_MBEDTLS);
    assert_int_equal(p.hs.error_raw, -0x7780);
    probe_free(&p);
}

static void test_outcomes(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_flight(&p, &p.cap, false);
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
    assert_null(p.hs.error_message);
    assert_int_equal(p.hs.elapsed_ms, 42);
    probe_free(&p);

    /* docs: a CertificateRequest that arrived whole counts even when the connection failed
     * afterwards */
    probe_init(&p, PROBE_CONN_END_READ_FAILED, PROBE_CONN_HANDSHAKE);
    p.r.uv_err = UV_ECONNRESET;
    feed_record(&p, &p.cap, 22, hello, sizeof(hello));
    feed_record(&p, &p.cap, 22, certreq, sizeof(certreq));
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_int_equal(p.hs.ca_count, 1);
    assert_string_equal(p.hs.cas[0].dn, "CN=B");
    probe_free(&p);
}

/* An observation whose arena is spent: the limit is said, not a crash or a cut list. */
static void test_observation_full(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_flight(&p, &p.cap, true);
    p.hs.arena.cap = 1;
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_ERROR);
    assert_string_equal(tls_error_kind_name(p.hs.error_kind), "capture_limit");
    assert_int_equal(p.hs.error_code, TLS_E_NOMEM);
    probe_free(&p);
}

static void test_interrupted(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_INTERRUPTED, PROBE_CONN_HANDSHAKE);
    p.r.signal = 15;
    feed(&p, &p.cap, (const uint8_t[]){0x16, 0x03}, 2);
    assert_false(probe_outcome_retryable(&p.r));
    fill(&p, 1);
    assert_error(&p.hs, "interrupted", "the scan was interrupted (signal 15) after 2 bytes");
    probe_free(&p);

    /* interrupted while connecting: no session, the same kind */
    probe_init(&p, PROBE_CONN_END_INTERRUPTED, PROBE_CONN_CONNECTING);
    p.r.signal = 2;
    fill(&p, 1);
    assert_error(&p.hs, "interrupted", "the scan was interrupted (signal 2) after 0 bytes");
    probe_free(&p);
}

static void test_attempts(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p, PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING);
    p.r.uv_err = UV_EHOSTUNREACH;
    fill(&p, 3);
    assert_error(&p.hs, "refused", "connect failed: host is unreachable (after 3 attempts)");
    probe_free(&p);
    /* a result that is no error is not marked */
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    feed_flight(&p, &p.cap, false);
    fill(&p, 2);
    assert_null(p.hs.error_message);
    probe_free(&p);
}

/* ---- --request ------------------------------------------------------------------------------ */

static void set_response(struct probe *p, const char *text)
{
    p->r.exchange.response = (const uint8_t *)text;
    p->r.exchange.response_len = strlen(text);
}

static void test_request_response(void **state)
{
    (void)state;
    struct probe p;
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    set_response(&p, "HTTP/1.1 403 Forbidden\r\nServer: Microsoft-IIS/10.0\r\n\r\n");
    assert_false(fill(&p, 1));
    const struct tls_http_result *h = &p.hs.http;
    assert_string_equal(h->path, "/secure/");
    assert_true(h->sent);
    assert_false(h->failed);
    assert_int_equal(h->status, 403);
    assert_string_equal(h->status_line, "HTTP/1.1 403 Forbidden");
    assert_string_equal(h->server, "Microsoft-IIS/10.0");
    assert_false(h->head_cut);
    assert_false(h->renegotiation);
    assert_int_equal(p.hs.elapsed_ms, 7);
    probe_free(&p);
}

static void test_request_no_response(void **state)
{
    (void)state;
    struct probe p;
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    p.r.exchange.closed = true;
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
    assert_http_error(&p.hs, "reset",
                      "the server closed the connection after the request without a response");
    probe_free(&p);

    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    p.r.exchange.sent = false;
    p.r.exchange.closed = true;
    fill(&p, 1);
    assert_false(p.hs.http.sent);
    assert_http_error(&p.hs, "reset",
                      "the server closed the connection before the request without a response");
    probe_free(&p);

    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    fill(&p, 1);
    assert_http_error(&p.hs, "protocol", "no response");
    probe_free(&p);

    /* not HTTP: what it began with is shown, controls as '?' */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    set_response(&p, "SSH-2.0-OpenSSH_9.6\r\n");
    fill(&p, 1);
    assert_http_error(&p.hs, "protocol",
                      "not an HTTP response (21 bytes); it began \"SSH-2.0-OpenSSH_9.6??\"");
    probe_free(&p);
}

static void test_request_head_cut(void **state)
{
    (void)state;
    static char head[TLS_HTTP_HEAD_MAX + 1];
    memset(head, 'a', TLS_HTTP_HEAD_MAX);
    const char *start = "HTTP/1.1 200 OK\r\nX-Long: ";
    memcpy(head, start, strlen(start));
    struct probe p;
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    set_response(&p, head);
    fill(&p, 1);
    assert_false(p.hs.http.failed);
    assert_int_equal(p.hs.http.status, 200);
    assert_true(p.hs.http.head_cut); /* docs: the head went on past 16 KiB */
    probe_free(&p);
}

static void test_request_failures(void **state)
{
    (void)state;
    struct probe p;
    /* the server's alert ends the probe before the handshake completed: no http object */
    probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
    probe_request(&p);
    p.r.exchange.handshake_done = false;
    p.r.exchange.sent = false;
    feed_alert(&p, 2, 40);
    assert_false(fill(&p, 1));
    assert_error(&p.hs, "tls_alert", "server sent fatal alert handshake_failure (40)");
    assert_null(p.hs.http.path);
    probe_free(&p);

    /* no connection: no http object either */
    probe_init(&p, PROBE_CONN_END_CONNECT_FAILED, PROBE_CONN_CONNECTING);
    p.r.uv_err = UV_ECONNREFUSED;
    probe_request(&p);
    assert_false(fill(&p, 1));
    assert_error(&p.hs, "refused", "connect failed: connection refused");
    assert_null(p.hs.http.path);
    probe_free(&p);

    /* an alert after the request */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    p.r.exchange.ssl_err = -0x7780;
    p.r.exchange.peer_alert = true;
    fill(&p, 1);
    assert_string_equal(tls_error_kind_name(p.hs.http.error_kind), "tls_alert");
    assert_memory_equal(p.hs.http.error, "the connection failed after the request: ", 41);
    probe_free(&p);

    /* mbedTLS could not complete a handshake whose flight was captured */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, true);
    p.r.exchange.handshake_done = false;
    p.r.exchange.sent = false;
    p.r.exchange.ssl_err = -0x7080;
    fill(&p, 1);
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_false(p.hs.http.sent);
    assert_string_equal(tls_error_kind_name(p.hs.http.error_kind), "protocol");
    const char *want = "the handshake did not complete, no request was sent: ";
    assert_memory_equal(p.hs.http.error, want, strlen(want));
    probe_free(&p);

    /* a server that chose TLS 1.0 for mbedTLS's ClientHello of 1.2: its flight is read, and no
     * request is possible (mbedTLS 3.6 has no TLS 1.0), said in words, not in mbedTLS's */
    static const uint16_t old[] = {0x0301, 0x0302};
    for (size_t i = 0; i < 2; i++) {
        probe_init(&p, PROBE_CONN_END_FINISHED, PROBE_CONN_HANDSHAKE);
        probe_request(&p);
        tls_capture_offer(&p.cap, 0x0303, 0x0303);
        uint8_t sh[sizeof(hello)];
        memcpy(sh, hello, sizeof(sh));
        sh[5] = (uint8_t)old[i];
        feed_record(&p, &p.cap, 22, sh, sizeof(sh));
        uint8_t rec[16];
        size_t n = testutil_record(rec, 22, hello_done, sizeof(hello_done));
        rec[2] = (uint8_t)old[i];
        feed(&p, &p.cap, rec, n);
        assert_int_equal(p.cap.status, TLS_CAPTURE_DONE);
        p.r.exchange.handshake_done = false;
        p.r.exchange.sent = false;
        p.r.exchange.ssl_err = -0x6E80; /* MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION */
        fill(&p, 1);
        assert_int_equal(p.hs.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "no request was sent: the server chose TLS 1.%d, which mbedTLS (needed to "
                 "complete the handshake for a request) does not speak",
                 (int)i);
        assert_http_error(&p.hs, "protocol", msg);
        assert_false(p.hs.http.sent);
        probe_free(&p);
    }

    /* more than --capture-limit after the request */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    p.r.exchange.over_limit = true;
    p.r.exchange.ssl_err = -0x7f00;
    fill(&p, 1);
    assert_http_error(&p.hs, "capture_limit",
                      "more than --capture-limit bytes came after the request before mbedTLS "
                      "could read them");
    probe_free(&p);

    probe_exchange(&p, PROBE_CONN_END_FINISHED, true);
    p.r.exchange.handshake_done = false;
    p.r.exchange.sent = false;
    p.r.exchange.over_limit = true;
    p.r.exchange.ssl_err = -0x7f00;
    fill(&p, 1);
    assert_http_error(&p.hs, "capture_limit",
                      "more than --capture-limit bytes came during the handshake before mbedTLS "
                      "could read them");
    probe_free(&p);

    /* a warning alert is no reason; an alert without a name is called unknown */
    for (int level = 1; level <= 2; level++) {
        probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
        renego_alert(&p, (uint8_t)level, 200);
        p.r.exchange.closed = true;
        fill(&p, 1);
        if (level == 1)
            assert_http_error(&p.hs, "reset",
                              "the server closed the connection after the request without a "
                              "response");
        else
            assert_http_error(&p.hs, "tls_alert",
                              "the server sent alert unknown (200) after the request");
        probe_free(&p);
    }
}

static void test_renegotiation(void **state)
{
    (void)state;
    struct probe p;
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    set_response(&p, "HTTP/1.1 200 OK\r\n\r\n");
    assert_true(fill(&p, 1));
    assert_int_equal(p.hs.outcome, TLS_OUTCOME_NO_CERTIFICATE_REQUEST);
    assert_true(p.hs.http.renegotiation);
    assert_int_equal(p.hs.http.status, 200);
    /* docs: it follows its handshake observation with the same address, sni and tls_max */
    assert_string_equal(p.reneg.phase, "renegotiation");
    assert_string_equal(p.reneg.address, "192.0.2.10");
    assert_string_equal(p.reneg.sni, "app.example.com");
    assert_int_equal(p.reneg.tls_max, 0x0303);
    assert_int_equal(p.reneg.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    assert_string_equal(p.reneg.cas[0].dn, "CN=B");
    assert_int_equal(p.reneg.elapsed_ms, 42); /* to the end of the probe */
    probe_free(&p);

    /* docs: Apache ends a renegotiation without a client certificate with handshake_failure:
     * http.error.kind is tls_alert and the renegotiation observation holds the list */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    renego_alert(&p, 2, 40);
    p.r.exchange.closed = true;
    assert_true(fill(&p, 1));
    assert_http_error(&p.hs, "tls_alert",
                      "the server sent alert handshake_failure (40) at the end of the "
                      "renegotiation (no client certificate was sent)");
    assert_int_equal(p.reneg.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    probe_free(&p);
}

/* The second flight ended badly, or mbedTLS could not go on with it. */
/* ---- --client-key ------------------------------------------------------------------------ */

/* A probe with a certificate to present whose first flight was captured (TLS 1.2's, with or
 * without a CertificateRequest); version: what the capture says the server chose (a TLS 1.3
 * handshake's answer is read after it, so only the version matters here). */
static void probe_present(struct probe *p, enum probe_conn_end end, bool asked, uint16_t version)
{
    probe_init(p, end, PROBE_CONN_EXCHANGE);
    p->r.present = true;
    p->r.exchange.alert = -1;
    feed_flight(p, &p->cap, asked);
    p->cap.version = version;
    p->hs.tls_max = version >= 0x0303 ? version : 0x0303;
}

static void assert_cert(const struct tls_observation *o, bool presented, const char *result,
                        int alert, int status, const char *error)
{
    const struct tls_client_cert *cc = &o->client_cert;
    assert_true(cc->tried);
    if (cc->presented != presented)
        fail_msg("presented %d, want %d (%s)", cc->presented, presented,
                 cc->error ? cc->error : "");
    const char *got = tls_client_cert_result_name(cc->result);
    if (!tls_str_same(got, result))
        fail_msg("result %s, want %s (%s)", got ? got : "none", result ? result : "none",
                 cc->error ? cc->error : "");
    if (alert >= 0)
        assert_int_equal(cc->alert, alert);
    assert_int_equal(cc->http_status, status);
    if (error == NULL)
        assert_null(cc->error);
    else if (cc->error == NULL || strstr(cc->error, error) == NULL)
        fail_msg("error '%s' lacks '%s'", cc->error ? cc->error : "(none)", error);
}

/* What became of the certificate in the first handshake, without a request: docs/output.md's
 * table of results, from how mbedTLS and the server ended. */
static void test_client_cert_handshake(void **state)
{
    (void)state;
    struct probe p;
    /* TLS 1.2: the server's Finished came after the certificate */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    p.r.exchange.handshake_done = true;
    fill(&p, 1);
    assert_cert(&p.hs, true, "accepted", -1, 0, NULL);
    probe_free(&p);
    /* TLS 1.3: no alert after our Finished and close_notify, but the server's close */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0304);
    p.r.exchange.handshake_done = true;
    p.r.exchange.answered = true;
    fill(&p, 1);
    assert_cert(&p.hs, true, "accepted", -1, 0, NULL);
    probe_free(&p);
    /* TLS 1.3: an alert after our Finished */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0304);
    p.r.exchange.handshake_done = true;
    p.r.exchange.peer_alert = true;
    p.r.exchange.alert = 42;
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
    fill(&p, 1);
    assert_cert(&p.hs, true, "alert", 42, 0, NULL);
    probe_free(&p);
    /* TLS 1.3: nothing before the deadline */
    probe_present(&p, PROBE_CONN_END_DEADLINE, true, 0x0304);
    p.r.exchange.handshake_done = true;
    fill(&p, 1);
    assert_cert(&p.hs, true, "no_answer", -1, 0, NULL);
    probe_free(&p);
    /* TLS 1.3: an answer mbedTLS could not read (an mbedTLS server's alert under its handshake
     * keys) */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0304);
    p.r.exchange.handshake_done = true;
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_INVALID_MAC;
    fill(&p, 1);
    assert_cert(&p.hs, true, "error", -1, 0,
                "(the server's answer could not be opened: an mbedTLS 3.6 server sends the "
                "alert that refuses a certificate under its handshake keys)");
    probe_free(&p);
    /* TLS 1.2: the server's alert ended the handshake */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    p.r.exchange.peer_alert = true;
    p.r.exchange.alert = 48;
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
    fill(&p, 1);
    assert_cert(&p.hs, true, "alert", 48, 0, NULL);
    probe_free(&p);
    /* the server closed (or reset) the connection after it */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    p.r.exchange.eof = true;
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_CONN_EOF;
    fill(&p, 1);
    assert_cert(&p.hs, true, "closed", -1, 0, NULL);
    probe_free(&p);
    probe_present(&p, PROBE_CONN_END_READ_FAILED, true, 0x0303);
    p.r.uv_err = UV_ECONNRESET;
    fill(&p, 1);
    assert_cert(&p.hs, true, "closed", -1, 0, NULL);
    probe_free(&p);
    /* mbedTLS failed before sending it: not presented, the reason in words */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE;
    fill(&p, 1);
    assert_cert(&p.hs, false, "error", -1, 0, "the handshake did not complete: ");
    probe_free(&p);
    /* the server chose TLS 1.0: mbedTLS does not speak it */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0301);
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION;
    fill(&p, 1);
    assert_cert(&p.hs, false, "error", -1, 0, "the server chose TLS 1.0, which mbedTLS");
    probe_free(&p);
    /* a probe of TLS 1.1 is never completed */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0302);
    p.hs.tls_max = 0x0302;
    fill(&p, 1);
    assert_cert(&p.hs, false, "error", -1, 0, "a probe of TLS 1.0 or 1.1");
    probe_free(&p);
    /* the server did not ask: nothing to tell */
    probe_present(&p, PROBE_CONN_END_FINISHED, false, 0x0303);
    fill(&p, 1);
    assert_cert(&p.hs, false, NULL, -1, 0, NULL);
    probe_free(&p);
    /* without --client-key: no client_cert */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    p.r.present = false;
    fill(&p, 1);
    assert_false(p.hs.client_cert.tried);
    probe_free(&p);
}

/* With --request: the response to the request follows the last handshake that asked; a server
 * that asks only in the renegotiation gets the certificate there. */
static void test_client_cert_request(void **state)
{
    (void)state;
    struct probe p;
    /* asked in the handshake: the response's status is the answer */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    probe_request(&p);
    set_response(&p, "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n");
    fill(&p, 1);
    assert_cert(&p.hs, true, "http", -1, 400, NULL);
    probe_free(&p);
    /* asked in the renegotiation only: the handshake presented nothing, the renegotiation did */
    probe_present(&p, PROBE_CONN_END_FINISHED, false, 0x0303);
    probe_request(&p);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    set_response(&p, "HTTP/1.1 200 OK\r\n\r\n");
    assert_true(fill(&p, 1));
    assert_cert(&p.hs, false, NULL, -1, 0, NULL);
    assert_string_equal(p.reneg.phase, "renegotiation");
    assert_cert(&p.reneg, true, "http", -1, 200, NULL);
    probe_free(&p);
    /* asked in both: the handshake's completed, the response is the renegotiation's */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0303);
    probe_request(&p);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    set_response(&p, "HTTP/1.1 403 Forbidden\r\n\r\n");
    assert_true(fill(&p, 1));
    assert_cert(&p.hs, true, "accepted", -1, 0, NULL);
    assert_cert(&p.reneg, true, "http", -1, 403, NULL);
    probe_free(&p);
    /* the renegotiation refused it with an alert after its flight (Apache: unknown_ca); the
     * http error no longer says no certificate was sent */
    probe_present(&p, PROBE_CONN_END_FINISHED, false, 0x0303);
    probe_request(&p);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    renego_alert(&p, 2, 48);
    p.r.exchange.closed = true;
    assert_true(fill(&p, 1));
    assert_cert(&p.reneg, true, "alert", 48, 0, NULL);
    assert_http_error(&p.hs, "tls_alert",
                      "the server sent alert unknown_ca (48) at the end of the renegotiation "
                      "(after the client certificate)");
    probe_free(&p);
    /* TLS 1.3: the alert after our Finished comes when the request is read */
    probe_present(&p, PROBE_CONN_END_FINISHED, true, 0x0304);
    probe_request(&p);
    p.r.exchange.peer_alert = true;
    p.r.exchange.alert = 116; /* certificate_required */
    p.r.exchange.ssl_err = MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
    fill(&p, 1);
    assert_cert(&p.hs, true, "alert", 116, 0, NULL);
    probe_free(&p);
}

static void test_renegotiation_failed(void **state)
{
    (void)state;
    struct probe p;
    /* the server's fatal alert inside the second flight */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    feed_record(&p, &p.renego, 22, hello, sizeof(hello));
    feed_record(&p, &p.renego, 21, (const uint8_t[]){2, 40}, 2);
    renegotiate(&p);
    assert_true(fill(&p, 1));
    assert_http_error(&p.hs, "tls_alert",
                      "the server ended the renegotiation with alert handshake_failure (40)");
    assert_error(&p.reneg, "tls_alert", "server sent fatal alert handshake_failure (40)");
    probe_free(&p);

    /* the probe ended while the second flight was still coming */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    feed_record(&p, &p.renego, 22, hello, sizeof(hello));
    renegotiate(&p);
    p.r.exchange.ssl_err = -0x7200;
    assert_true(fill(&p, 1));
    assert_string_equal(tls_error_kind_name(p.hs.http.error_kind), "protocol");
    const char *follow = "mbedTLS could not follow the renegotiation: ";
    assert_memory_equal(p.hs.http.error, follow, strlen(follow));
    assert_error(&p.reneg, "protocol",
                 "the probe ended before the flight was complete (56 bytes received)");
    probe_free(&p);

    /* the second flight was captured; mbedTLS failed after it (a list over 16 KiB) */
    probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
    feed_flight(&p, &p.renego, true);
    renegotiate(&p);
    p.r.exchange.ssl_err = -0x7200;
    assert_true(fill(&p, 1));
    const char *complete = "mbedTLS could not complete the renegotiation: ";
    assert_memory_equal(p.hs.http.error, complete, strlen(complete));
    assert_int_equal(p.reneg.outcome, TLS_OUTCOME_CERTIFICATE_REQUEST);
    probe_free(&p);

    /* a fatal alert outside any second flight: after the request, or before it went out */
    for (int sent = 0; sent < 2; sent++) {
        probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
        p.r.exchange.sent = sent;
        p.r.exchange.renegotiation = true; /* a HelloRequest, no second ServerHello */
        renego_alert(&p, 2, 40);
        assert_true(fill(&p, 1));
        assert_http_error(&p.hs, "tls_alert",
                          sent ? "the server sent alert handshake_failure (40) after the request"
                               : "the server sent alert handshake_failure (40) after the "
                                 "handshake");
        probe_free(&p);
    }
}

/* docs: when the server asked to renegotiate but its second ServerHello never came, the
 * renegotiation observation has outcome error with the reason */
static void test_renegotiation_unread(void **state)
{
    (void)state;
    static const struct {
        int renego_err;
        const char *kind, *message;
    } cases[] = {
        {TLS_E_DECRYPT, "protocol",
         "the server renegotiated, but its second ServerHello was not read: record decryption "
         "failed"},
        {TLS_E_UNSUPPORTED, "protocol",
         "the server renegotiated, but its second ServerHello was not read: unsupported cipher "
         "suite or version"},
        {TLS_E_LIMIT, "capture_limit",
         "the server renegotiated, but its second ServerHello was not read: capture limit "
         "reached"},
        {0, "reset",
         "the server renegotiated, but its second ServerHello was not read: the server closed "
         "the connection after the request without a response"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe p;
        probe_exchange(&p, PROBE_CONN_END_FINISHED, false);
        p.r.exchange.renegotiation = true;
        p.r.exchange.renego_err = cases[i].renego_err;
        p.r.exchange.closed = true;
        assert_true(fill(&p, 1));
        assert_true(p.hs.http.renegotiation);
        assert_string_equal(p.reneg.phase, "renegotiation");
        assert_error(&p.reneg, cases[i].kind, cases[i].message);
        assert_int_equal(p.reneg.error_code, cases[i].renego_err);
        probe_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_failures),
        cmocka_unit_test(test_version_errors),
        cmocka_unit_test(test_start_failed),
        cmocka_unit_test(test_timeout_connect),
        cmocka_unit_test(test_timeout_handshake),
        cmocka_unit_test(test_timeout_exchange),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_closed_before_hello),
        cmocka_unit_test(test_reset_after_bytes),
        cmocka_unit_test(test_silent_close_hint),
        cmocka_unit_test(test_read_failed),
        cmocka_unit_test(test_eof_mid_record),
        cmocka_unit_test(test_alert),
        cmocka_unit_test(test_version_declined),
        cmocka_unit_test(test_capture_limit),
        cmocka_unit_test(test_capture_limit_announced),
        cmocka_unit_test(test_garbled_reply),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_mbedtls_failed),
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_observation_full),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_attempts),
        cmocka_unit_test(test_request_response),
        cmocka_unit_test(test_request_no_response),
        cmocka_unit_test(test_request_head_cut),
        cmocka_unit_test(test_request_failures),
        cmocka_unit_test(test_renegotiation),
        cmocka_unit_test(test_renegotiation_failed),
        cmocka_unit_test(test_client_cert_handshake),
        cmocka_unit_test(test_client_cert_request),
        cmocka_unit_test(test_renegotiation_unread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
