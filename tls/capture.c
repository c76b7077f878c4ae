/* Capture state machine over the server's first flight. It never sends anything and never
 * trusts a length it has not checked; it stops at the first message that completes the capture.
 *
 *   WAIT_HELLO --ServerHello(1.0 to 1.2)--> FLIGHT12 --ServerHelloDone--> DONE
 *   WAIT_HELLO --HelloRetryRequest--> WAIT_HELLO (once)
 *   WAIT_HELLO --ServerHello(1.3)--> FLIGHT13 --Certificate | CertificateVerify | Finished--> DONE
 *   WAIT_HELLO --ServerHello or HelloRetryRequest of a version not offered--> FAILED
 *     (below TLS 1.0, above the highest offered, or below 1.3 when only 1.3 was offered)
 *   any --fatal alert | close_notify | malformed | EOF--> FAILED
 *
 * WAIT_HELLO: have_hello is false, nothing captured. FLIGHT12/13: have_hello, version fixed;
 * in FLIGHT12 every record carries that version (the reader is locked to it); in FLIGHT13
 * protected records wait in the reader until the secret arrives: from tls_capture_set_secret
 * (mbedTLS's), or from the on_hello hook, which sees every ServerHello and HelloRetryRequest
 * before the capture moves on (caprobe's own ClientHello: keyex13.c). */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "crypt13.h"
#include "wire/error.h"
#include "wire/handshake.h"

void tls_capture_init(struct tls_capture *c, size_t limit)
{
    memset(c, 0, sizeof(*c));
    tls_reader_init(&c->rd, limit);
    c->status = TLS_CAPTURE_RUNNING;
    c->offered_min = 0x0301;
    c->offered_max = 0x0304;
}

void tls_capture_offer(struct tls_capture *c, uint16_t min, uint16_t max)
{
    c->offered_min = min;
    c->offered_max = max;
}

void tls_capture_free(struct tls_capture *c)
{
    if (c == NULL)
        return;
    tls_reader_free(&c->rd);
    tls_crypt13_free(c->crypt);
    free(c->certreq);
    free(c->cert);
    mbedtls_platform_zeroize(c->secret, sizeof(c->secret)); /* not optimised away */
    c->crypt = NULL;
    c->certreq = c->cert = NULL;
}

void tls_capture_fail(struct tls_capture *c, int err)
{
    if (c->status == TLS_CAPTURE_RUNNING) {
        c->status = TLS_CAPTURE_FAILED;
        c->err = err;
    }
}

static int keep(uint8_t **dst, size_t *dst_len, const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q == NULL)
        return TLS_E_NOMEM;
    if (n)
        memcpy(q, p, n);
    free(*dst);
    *dst = q;
    *dst_len = n;
    return 0;
}

static int on_server_hello(struct tls_capture *c, const uint8_t *p, size_t n)
{
    struct tls_server_hello sh;
    int rc = tls_server_hello_parse(&sh, p, n);
    if (rc)
        return rc;
    if (sh.version < 0x0301 || sh.version > c->offered_max ||
        (c->offered_min == 0x0304 && sh.version < 0x0304)) {
        /* RFC 5246 E.1, RFC 8446 4.2.1: above what the client offered (a TLS 1.3 answer to a
         * ClientHello of 1.2 and earlier), SSL 3.0 and older, which caprobe never reads, or an
         * older version to a ClientHello of TLS 1.3 only, whose suites no older version has
         * (RFC 8446 4.1.3: the client aborts; a server that ignores supported_versions).
         * What it chose is kept for the report. */
        c->have_hello = true;
        c->version = sh.version;
        c->cipher_suite = sh.cipher_suite;
        return TLS_E_VERSION;
    }
    if (sh.hello_retry && ++c->hello_retries > 1)
        return TLS_E_UNEXPECTED; /* RFC 8446 4.1.4: at most one HelloRetryRequest */
    if (c->on_hello) {
        size_t secret_len = 0;
        rc = c->on_hello(c->on_hello_ctx, &sh, p, n, c->secret, sizeof(c->secret), &secret_len);
        if (rc)
            return rc;
        if (secret_len)
            c->secret_len = secret_len;
    }
    if (sh.hello_retry)
        return 0;
    if (sh.version < 0x0301 || sh.version > 0x0304)
        return TLS_E_UNSUPPORTED;
    c->have_hello = true;
    c->version = sh.version;
    c->cipher_suite = sh.cipher_suite;
    c->encrypt_then_mac = sh.encrypt_then_mac;
    /* RFC 5246 6.2.1 and E.1: from here on, records carry the negotiated version (TLS 1.3
     * records say 1.2 whatever was negotiated: RFC 8446 5.1) */
    if (sh.version <= 0x0303)
        tls_reader_lock_version(&c->rd, sh.version);
    return 0;
}

static int on_certificate(struct tls_capture *c, const uint8_t *p, size_t n)
{
    const uint8_t *der;
    size_t der_len;
    int rc = tls_certificate_first(c->version, p, n, &der, &der_len, &c->cert_count);
    if (rc)
        return rc;
    return der ? keep(&c->cert, &c->cert_len, der, der_len) : 0;
}

/* Whether a handshake message of this type may come now (RFC 8446 4, RFC 5246 7.4): before
 * the ServerHello only it (or a HelloRequest), after it the messages of the server's first flight
 * of the version chosen, a CertificateRequest once. Its header tells, so a message that has no
 * place here is refused before its body is awaited: a garbled reply whose "length" announces
 * megabytes is not TLS, not a message over the capture limit. */
static bool expected(const struct tls_capture *c, uint8_t type)
{
    if (!c->have_hello)
        return type == TLS_HS_HELLO_REQUEST || type == TLS_HS_SERVER_HELLO;
    switch (type) {
    case TLS_HS_CERTIFICATE_REQUEST:
        return !c->has_certreq;
    case TLS_HS_SERVER_HELLO_DONE:
        return c->version <= 0x0303;
    case TLS_HS_CERTIFICATE_VERIFY:
    case TLS_HS_FINISHED:
        return c->version == 0x0304;
    case TLS_HS_CERTIFICATE:
    case TLS_HS_ENCRYPTED_EXTENSIONS:
    case TLS_HS_SERVER_KEY_EXCHANGE:
    case TLS_HS_CERTIFICATE_STATUS:
        return true;
    default:
        return false;
    }
}

/* Fail the capture for a message of a type that may not come now. */
static int out_of_turn(struct tls_capture *c, uint8_t type)
{
    c->refused_msg = true;
    c->out_of_turn = type;
    return TLS_E_UNEXPECTED;
}

/* One whole handshake message. Returns 1 when it completes the capture, 0 to go on. */
static int on_message(struct tls_capture *c, uint8_t type, const uint8_t *p, size_t n)
{
    c->last_msg = type;
    if (!expected(c, type))
        return out_of_turn(c, type);
    if (!c->have_hello)
        return type == TLS_HS_SERVER_HELLO ? on_server_hello(c, p, n) : 0;
    int rc = 0;
    switch (type) {
    case TLS_HS_CERTIFICATE_REQUEST:
        c->has_certreq = true;
        return keep(&c->certreq, &c->certreq_len, p, n);
    case TLS_HS_CERTIFICATE:
        if ((rc = on_certificate(c, p, n)))
            return rc;
        /* RFC 8446 4.4: in 1.3 the CertificateRequest comes before the Certificate */
        return c->version == 0x0304 ? 1 : 0;
    case TLS_HS_SERVER_HELLO_DONE:
    case TLS_HS_CERTIFICATE_VERIFY:
    case TLS_HS_FINISHED:
        return 1;
    default:
        return 0; /* EncryptedExtensions, ServerKeyExchange, CertificateStatus */
    }
}

/* The reader needs more bytes for a message, refused one as longer than the limit, or found a
 * malformed record after it (rc): a message whose header came first and shows it may not come
 * now fails the capture as out of turn instead, the first thing wrong in the stream. */
static int judge_partial(struct tls_capture *c, int rc)
{
    uint8_t type;
    size_t announced, have;
    if (tls_reader_partial(&c->rd, &type, &announced, &have) && !expected(c, type))
        return out_of_turn(c, type);
    return rc;
}

static int start_decryption(struct tls_capture *c)
{
    if (c->crypt || c->secret_len == 0 || !c->have_hello || c->version != 0x0304)
        return 0;
    /* RFC 8446 5.1: a handshake message must not span a key change */
    if (c->rd.hs_off != c->rd.hs_len)
        return TLS_E_UNEXPECTED;
    int rc = tls_crypt13_new(&c->crypt, c->cipher_suite, c->secret, c->secret_len);
    if (rc)
        return rc;
    tls_reader_set_opener(&c->rd, tls_crypt13_open_cb, c->crypt, false);
    return 0;
}

static enum tls_capture_status run(struct tls_capture *c)
{
    while (c->status == TLS_CAPTURE_RUNNING) {
        struct tls_event ev;
        int rc = start_decryption(c);
        if (rc == 0)
            rc = tls_reader_next(&c->rd, &ev);
        if (rc == TLS_E_LIMIT || rc == TLS_E_RECORD || (rc == 0 && ev.kind == TLS_EV_NEED_MORE))
            rc = judge_partial(c, rc);
        if (rc) {
            tls_capture_fail(c, rc);
            break;
        }
        switch (ev.kind) {
        case TLS_EV_NEED_MORE:
        case TLS_EV_NEED_KEYS:
            return c->status;
        case TLS_EV_HANDSHAKE:
            /* RFC 8446 2: after the ServerHello every handshake message is encrypted; a
             * plaintext one was not sent by the server that holds the keys */
            if (c->have_hello && c->version == 0x0304 && !ev.protected_) {
                tls_capture_fail(c, TLS_E_UNEXPECTED);
                break;
            }
            rc = on_message(c, ev.msg_type, ev.body, ev.len);
            if (rc < 0)
                tls_capture_fail(c, rc);
            else if (rc > 0)
                c->status = TLS_CAPTURE_DONE;
            break;
        case TLS_EV_ALERT:
            c->has_alert = true;
            c->alert_level = ev.alert_level;
            c->alert_desc = ev.alert_desc;
            /* RFC 5246 7.2: warning alerts other than close_notify do not end the handshake
             * (servers send unrecognized_name as a warning). */
            if (ev.alert_level != 1 || ev.alert_desc == 0)
                tls_capture_fail(c, TLS_E_ALERT);
            break;
        case TLS_EV_CCS:
            break; /* RFC 8446 D.4 middlebox compatibility; 1.2 never gets here first */
        case TLS_EV_APPDATA:
            tls_capture_fail(c, TLS_E_UNEXPECTED);
            break;
        }
    }
    return c->status;
}

enum tls_capture_status tls_capture_feed(struct tls_capture *c, const uint8_t *p, size_t n)
{
    if (c->status != TLS_CAPTURE_RUNNING)
        return c->status;
    size_t room = c->rd.limit - c->rd.fed;
    if (n > room) {
        /* Read what the limit lets in first: a flight complete within it still counts. */
        if (room)
            tls_reader_feed(&c->rd, p, room);
        run(c);
        tls_capture_fail(c, TLS_E_LIMIT);
        return c->status;
    }
    int rc = tls_reader_feed(&c->rd, p, n);
    if (rc) {
        tls_capture_fail(c, rc);
        return c->status;
    }
    return run(c);
}

enum tls_capture_status tls_capture_set_secret(struct tls_capture *c, const uint8_t *secret,
                                               size_t len)
{
    if (len > sizeof(c->secret)) {
        tls_capture_fail(c, TLS_E_UNSUPPORTED);
        return c->status;
    }
    memcpy(c->secret, secret, len);
    c->secret_len = len;
    return c->status == TLS_CAPTURE_RUNNING ? run(c) : c->status;
}

bool tls_capture_waiting_keys(const struct tls_capture *c)
{
    return c->status == TLS_CAPTURE_RUNNING && c->have_hello && c->version == 0x0304 &&
           c->crypt == NULL;
}

enum tls_capture_status tls_capture_eof(struct tls_capture *c)
{
    tls_capture_fail(c, TLS_E_TRUNCATED);
    return c->status;
}
