/* What a finished connection means to users (outcome.h): the one place that turns how a probe
 * ended into observations, error kinds and messages (docs/output.md), and the one place libuv
 * codes become error kinds. Pure: it reads the result and writes the observations, nothing else;
 * it never sees the loop, a socket or the clock. */
#include "outcome.h"

#include <stdio.h>
#include <string.h>

#include "request.h"
#include "tls/mbedtls_err.h"
#include "tls/observe.h"
#include "tls/wire/error.h"
#include "tls/wire/http.h"
#include "tls/wire/names.h"
#include "tls/wire/str.h"

/* How the connection failed, when it did not end by itself. */
struct failure {
    bool have;
    enum tls_error_kind kind;
    int code; /* TLS_E_* or 0 */
    int raw;  /* the foreign code (libuv, or mbedTLS for a handshake that cannot start), or 0 */
    char msg[384];
};

/* A libuv code as an error kind. connected: the code came after the connection was made, so an
 * unlisted one (an ICMP unreachable mid-connection) means the connection broke: reset. */
static enum tls_error_kind kind_of_uv(int err, bool connected)
{
    switch (err) {
    case UV_ECONNREFUSED:
        return TLS_ERROR_REFUSED;
    case UV_ETIMEDOUT:
        return TLS_ERROR_TIMEOUT;
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_ECONNABORTED:
    case UV_EOF:
        return TLS_ERROR_RESET;
    case UV_EMFILE:
    case UV_ENFILE:
    case UV_ENOBUFS:
    case UV_ENOMEM:
    case UV_EACCES:
    case UV_EPERM:
    case UV_EADDRNOTAVAIL:
    case UV_EAGAIN:
        return TLS_ERROR_LOCAL; /* the failure is here, not at the target */
    default:
        /* before: unreachable network or host, no connection was made */
        return connected ? TLS_ERROR_RESET : TLS_ERROR_REFUSED;
    }
}

/* A connect failure that another attempt may not meet: no answer in time, no route or no local
 * port for now. */
static bool transient(int uv_err)
{
    switch (uv_err) {
    case UV_ETIMEDOUT:
    case UV_EADDRNOTAVAIL:
    case UV_EAGAIN:
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_ECONNRESET:
        return true;
    default:
        return false;
    }
}

bool probe_outcome_retryable(const struct probe_conn_result *r)
{
    if (r->received)
        return false; /* the server answered: another attempt would probe another answer */
    switch (r->end) {
    case PROBE_CONN_END_CONNECT_FAILED:
        return transient(r->uv_err);
    case PROBE_CONN_END_WRITE_FAILED:
    case PROBE_CONN_END_READ_FAILED:
        return r->uv_err == UV_ECONNRESET; /* an overloaded listener */
    case PROBE_CONN_END_DEADLINE:
        return r->phase == PROBE_CONN_CONNECTING;
    case PROBE_CONN_END_FINISHED:
    case PROBE_CONN_END_INTERRUPTED:
    case PROBE_CONN_END_NO_MEMORY:
    case PROBE_CONN_END_START_FAILED:
    case PROBE_CONN_END_REQUEST_TOO_LONG:
    case PROBE_CONN_END_STARTTLS_FAILED:
        return false;
    }
    return false;
}

/* Bytes of the TLS handshake: what came after the STARTTLS exchange's plaintext. */
static size_t tls_received(const struct probe_conn_result *r)
{
    return r->received - r->starttls_bytes;
}

static void deadline(const struct probe_conn_result *r, struct failure *f)
{
    unsigned long long ms = (unsigned long long)r->loop_ms;
    const struct tls_capture *cap = r->capture;
    switch (r->phase) {
    case PROBE_CONN_CONNECTING:
        snprintf(f->msg, sizeof(f->msg), "no connection within %llu ms", ms);
        return;
    case PROBE_CONN_STARTTLS:
        /* a greeting that never comes: most likely a port that speaks TLS at once */
        snprintf(f->msg, sizeof(f->msg),
                 "STARTTLS %s: no complete %s after %llu ms (%s deadline): %zu bytes "
                 "received%s",
                 tls_starttls_name(r->starttls->proto), tls_starttls_waiting(r->starttls), ms,
                 r->loop_ms >= r->timeout_ms ? "total" : "handshake", r->received,
                 r->received == 0 ? ", the server never answered (TLS from the first byte? "
                                    "probe HOST:PORT with --starttls none)"
                                  : "");
        return;
    case PROBE_CONN_HANDSHAKE:
        snprintf(f->msg, sizeof(f->msg),
                 "handshake incomplete after %llu ms (%s deadline): %zu bytes received%s", ms,
                 r->loop_ms >= r->timeout_ms ? "total" : "handshake", tls_received(r),
                 tls_received(r) == 0        ? ", the server never answered"
                 : !(cap && cap->have_hello) ? ", no ServerHello yet"
                                             : ", the flight never ended");
        return;
    case PROBE_CONN_EXCHANGE:
        snprintf(f->msg, sizeof(f->msg),
                 "no response within the %llu ms total deadline: %zu bytes after the handshake "
                 "flight",
                 ms, r->received - r->received_at_exchange);
        return;
    }
}

/* The failure of ours (deadline, socket error, interruption) that ended r, if any. */
static void describe(const struct probe_conn_result *r, struct failure *f)
{
    memset(f, 0, sizeof(*f));
    f->have = true;
    f->raw = r->uv_err;
    f->kind = TLS_ERROR_LOCAL;
    switch (r->end) {
    case PROBE_CONN_END_FINISHED:
        f->have = false;
        return;
    case PROBE_CONN_END_CONNECT_FAILED:
        f->kind = kind_of_uv(r->uv_err, false);
        snprintf(f->msg, sizeof(f->msg), "connect failed: %s", uv_strerror(r->uv_err));
        return;
    case PROBE_CONN_END_WRITE_FAILED:
        f->kind = kind_of_uv(r->uv_err, true);
        snprintf(f->msg, sizeof(f->msg), "write failed: %s", uv_strerror(r->uv_err));
        return;
    case PROBE_CONN_END_READ_FAILED:
        f->kind = kind_of_uv(r->uv_err, true);
        snprintf(f->msg, sizeof(f->msg), "connection %s%s%s after %zu bytes%s",
                 r->uv_err == UV_ECONNRESET ? "reset by the server" : "broken (",
                 r->uv_err == UV_ECONNRESET ? "" : uv_strerror(r->uv_err),
                 r->uv_err == UV_ECONNRESET ? "" : ")", r->received,
                 r->phase == PROBE_CONN_EXCHANGE   ? " (after the handshake flight)"
                 : r->phase == PROBE_CONN_STARTTLS ? " (during the STARTTLS exchange)"
                                                   : "");
        return;
    case PROBE_CONN_END_DEADLINE:
        f->kind = TLS_ERROR_TIMEOUT;
        deadline(r, f);
        return;
    case PROBE_CONN_END_INTERRUPTED:
        if (r->signal == 0) { /* probe_scan_stop: the exporter's deadline, a timeout to users */
            f->kind = TLS_ERROR_TIMEOUT;
            snprintf(f->msg, sizeof(f->msg), "the deadline passed after %zu bytes", r->received);
            return;
        }
        f->kind = TLS_ERROR_INTERRUPTED;
        snprintf(f->msg, sizeof(f->msg), "the scan was interrupted (signal %d) after %zu bytes",
                 r->signal, r->received);
        return;
    case PROBE_CONN_END_NO_MEMORY:
        snprintf(f->msg, sizeof(f->msg), "out of memory");
        return;
    case PROBE_CONN_END_START_FAILED:
        f->code = r->err;
        if (r->err == TLS_E_MBEDTLS && r->ssl_err) { /* the raw code beside ours (STYLE.md) */
            char text[200];
            tls_mbedtls_strerror(r->ssl_err, text, sizeof(text));
            f->raw = r->ssl_err;
            snprintf(f->msg, sizeof(f->msg), "cannot start the handshake: %s (%s)",
                     tls_err_str(r->err), text);
            return;
        }
        snprintf(f->msg, sizeof(f->msg), "cannot start the handshake: %s",
                 r->err ? tls_err_str(r->err) : uv_strerror(r->uv_err));
        return;
    case PROBE_CONN_END_REQUEST_TOO_LONG:
        snprintf(f->msg, sizeof(f->msg), "the request does not fit in %d bytes", PROBE_REQUEST_MAX);
        return;
    case PROBE_CONN_END_STARTTLS_FAILED:
        /* the server's close is a reset as in the handshake; the rest is the dialogue's own */
        f->kind =
            r->starttls->fail == TLS_STARTTLS_FAIL_CLOSED ? TLS_ERROR_RESET : TLS_ERROR_STARTTLS;
        tls_starttls_describe(r->starttls, f->msg, sizeof(f->msg));
        return;
    }
}

/* The server's versions disagree with what was offered, or with each other (RFC 5246 E.1). */
static void version_error(struct tls_observation *o, const struct tls_capture *cap)
{
    char chose[24], lo[24];
    tls_name_version_words(cap->version, chose, sizeof(chose));
    if (cap->err == TLS_E_VERSION) {
        bool one = cap->offered_min == cap->offered_max;
        const char *hi = one ? "" : tls_name_version(cap->offered_max);
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, TLS_E_VERSION, 0,
                                  "the server chose %s, which this probe did not offer (it "
                                  "offered %s%s%s)",
                                  chose, tls_name_version_words(cap->offered_min, lo, sizeof(lo)),
                                  one ? " only" : " to ", hi ? hi : "?");
        return;
    }
    size_t n;
    const uint8_t *h = tls_reader_unread(&cap->rd, &n);
    uint16_t rv = h && n >= 3 ? (uint16_t)(h[1] << 8 | h[2]) : 0;
    tls_observation_set_error(o, TLS_ERROR_PROTOCOL, TLS_E_RECORD_VERSION, 0,
                              "a record of %s after a ServerHello of %s: the records of one "
                              "connection carry the version the server chose (RFC 5246 E.1)",
                              tls_name_version_words(rv, lo, sizeof(lo)), chose);
}

/* What a server that answered a ClientHello with plaintext looks like it speaks, by its first
 * bytes: the STARTTLS protocol whose greeting it sent, or NULL. */
static const char *greeting_protocol(const struct probe_conn_result *r)
{
    static const struct {
        const char *start, *proto;
    } greetings[] = {
        {"220 ", "smtp"}, {"220-", "smtp"}, {"* OK", "imap"},  {"+OK", "pop3"},
        {"200 ", "nntp"}, {"201 ", "nntp"}, {"<?xml", "xmpp"}, {"\"IMPLEMENTATION\"", "sieve"},
    };
    for (size_t i = 0; i < sizeof(greetings) / sizeof(greetings[0]); i++) {
        size_t n = strlen(greetings[i].start);
        if (r->head_len >= n && memcmp(r->head, greetings[i].start, n) == 0)
            return greetings[i].proto;
    }
    /* MySQL and MariaDB: a first packet (3-byte length, sequence 0) of protocol version 10 */
    if (r->head_len >= 5 && r->head[3] == 0 && r->head[4] == 0x0a)
        return "mysql";
    return NULL;
}

/* "server_hello (type 2)", or "of type 0x67 (none TLS defines)". */
static const char *handshake_type(uint8_t type, char *buf, size_t cap)
{
    const char *name = tls_name_handshake(type);
    if (name)
        snprintf(buf, cap, "%s (type %u)", name, type);
    else
        snprintf(buf, cap, "of type 0x%02x (none TLS defines)", type);
    return buf;
}

/* The capture limit was reached: by a message that announced more than the limit (said before
 * any more of it came), or by the bytes that came. */
static void limit_error(const struct probe_conn_result *r, struct tls_observation *o,
                        const struct tls_capture *cap)
{
    uint8_t type;
    size_t announced, have;
    char t[48];
    if (tls_reader_partial(&cap->rd, &type, &announced, &have) && announced > cap->rd.limit) {
        tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, TLS_E_LIMIT, 0,
                                  "a handshake message %s announced %zu bytes, more than the "
                                  "capture limit of %zu bytes (--capture-limit); %zu bytes "
                                  "received",
                                  handshake_type(type, t, sizeof(t)), announced, cap->rd.limit,
                                  tls_received(r));
        return;
    }
    tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, TLS_E_LIMIT, 0,
                              "the server sent more than %zu bytes before its flight was "
                              "complete (--capture-limit)",
                              r->capture_limit);
}

/* The server closed the connection before the flight was complete; in the middle of a
 * handshake message, the message says how much of it came. */
static void truncated_error(const struct probe_conn_result *r, struct tls_observation *o,
                            const struct tls_capture *cap)
{
    uint8_t type;
    size_t announced, have;
    char t[48], in[160] = "";
    if (tls_reader_partial(&cap->rd, &type, &announced, &have))
        snprintf(in, sizeof(in), ", in a handshake message %s that announced %zu bytes (%zu came)",
                 handshake_type(type, t, sizeof(t)), announced, have);
    tls_observation_set_error(
        o, TLS_ERROR_RESET, TLS_E_TRUNCATED, 0,
        "the server closed the connection after %zu bytes%s%s", tls_received(r),
        cap->have_hello ? ", before its flight was complete" : ", before a ServerHello", in);
}

/* The observation o from what capture cap saw, or from our failure f (NULL: none that belongs
 * to this capture) when the capture did not end by itself. */
static void observe_capture(const struct probe_conn_result *r, struct tls_observation *o,
                            const struct tls_capture *cap, const struct failure *f)
{
    o->elapsed_ms = r->elapsed_ms;
    int rc = cap ? tls_observation_from_capture(o, cap) : 0;
    if (rc) {
        tls_observation_set_error(o, TLS_ERROR_CAPTURE_LIMIT, rc, 0,
                                  "out of memory for this observation (limit %zu bytes)",
                                  (size_t)TLS_OBSERVATION_ARENA_CAP);
        return;
    }
    if (cap && (cap->status == TLS_CAPTURE_DONE || cap->has_certreq))
        return; /* a CertificateRequest that came whole counts whatever happened next */
    char text[256];
    if (f) {
        tls_observation_set_error(o, f->kind, f->code, f->raw, "%s", f->msg);
    } else if (cap == NULL || cap->status == TLS_CAPTURE_RUNNING) {
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, 0, 0,
                                  "the probe ended before the flight was complete (%zu bytes "
                                  "received)",
                                  r->received);
    } else if (cap->err == TLS_E_MBEDTLS) {
        tls_mbedtls_strerror(r->ssl_err, text, sizeof(text));
        tls_observation_set_error(o, TLS_ERROR_PROTOCOL, TLS_E_MBEDTLS, r->ssl_err,
                                  "handshake failed before the capture was complete: %s", text);
    } else if (cap->err == TLS_E_TRUNCATED) {
        truncated_error(r, o, cap);
    } else if (cap->err == TLS_E_LIMIT) {
        limit_error(r, o, cap);
    } else if (cap->err == TLS_E_VERSION || cap->err == TLS_E_RECORD_VERSION) {
        version_error(o, cap);
    } else if (cap->err != TLS_E_ALERT) {
        const char *proto = !cap->have_hello ? greeting_protocol(r) : NULL;
        if (proto) /* FTP greets with 220 too: SMTP is the likelier on an unknown port */
            tls_observation_set_error(o, TLS_ERROR_PROTOCOL, cap->err, 0,
                                      "%s after %zu bytes: not TLS, the server greets as %s does "
                                      "(probe it with --starttls %s, or as %s://HOST:PORT)",
                                      tls_err_str(cap->err), tls_received(r), proto, proto, proto);
        else if (cap->err == TLS_E_UNEXPECTED && cap->refused_msg)
            tls_observation_set_error(
                o, TLS_ERROR_PROTOCOL, cap->err, 0, "%s %s after %zu bytes%s",
                tls_err_str(cap->err), handshake_type(cap->out_of_turn, text, sizeof(text)),
                tls_received(r),
                cap->have_hello ? "" : ", where a ServerHello was expected (not TLS?)");
        else
            tls_observation_set_error(o, TLS_ERROR_PROTOCOL, cap->err, 0, "%s after %zu bytes%s",
                                      tls_err_str(cap->err), tls_received(r),
                                      tls_received(r) && !cap->have_hello ? " (not TLS?)" : "");
    }
    /* an alert: tls_observation_from_capture named it */
}

/* Printable copy of n received bytes (at most 256): controls and NUL become '?'; invalid UTF-8
 * is left to the renderers, which escape it. */
static const char *received_text(struct tls_arena *a, const uint8_t *p, size_t n)
{
    char buf[257];
    n = n < 256 ? n : 256;
    for (size_t i = 0; i < n; i++)
        buf[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
    buf[n] = '\0';
    return tls_arena_strdup(a, buf);
}

static const char *alert_name(uint8_t desc)
{
    const char *n = tls_name_alert(desc);
    return n ? n : "unknown";
}

/* The mbedTLS error that stopped x, in words (hs: the handshake's capture). mbedTLS's client
 * checks the server's signature whatever caprobe asks (tls/session.c), and its TLS 1.3 text for
 * a CertificateVerify that fails is only "The handshake negotiation failed": that one is named. */
static void ssl_err_text(const struct tls_exchange_result *x, const struct tls_capture *hs,
                         char *text, size_t cap)
{
    char raw[120]; /* mbedTLS's longest text is under 100 bytes */
    tls_mbedtls_strerror(x->ssl_err, raw, sizeof(raw));
    if (!x->bad_signature) {
        snprintf(text, cap, "%s", raw);
        return;
    }
    snprintf(text, cap,
             "the server's signature (its %s) does not verify with its certificate's key; "
             "mbedTLS, which completes the handshake, always checks it (mbedTLS: %s)",
             hs && hs->version == 0x0304 ? "CertificateVerify" : "ServerKeyExchange", raw);
}

/* Why the exchange after the handshake gave no response head; hs is the handshake's capture,
 * present whether --client-key gave a certificate to answer a request for one. */
static enum tls_error_kind exchange_failure(const struct tls_exchange_result *x,
                                            const struct tls_capture *hs, const struct failure *f,
                                            bool present, char *why, size_t cap)
{
    const struct tls_capture *rc = x->renego;
    char text[320];
    if (rc && rc->has_alert && rc->alert_level == 2) {
        snprintf(why, cap, "the server ended the renegotiation with alert %s (%u)",
                 alert_name(rc->alert_desc), rc->alert_desc);
        return TLS_ERROR_TLS_ALERT;
    }
    if (x->renego_alert && x->renego_alert_level == 2) {
        snprintf(why, cap, "the server sent alert %s (%u) %s", alert_name(x->renego_alert_desc),
                 x->renego_alert_desc,
                 rc && present ? "at the end of the renegotiation (after the client certificate)"
                 : rc          ? "at the end of the renegotiation (no client certificate was sent)"
                 : x->sent     ? "after the request"
                               : "after the handshake");
        return TLS_ERROR_TLS_ALERT;
    }
    if (f->have) {
        snprintf(why, cap, "%s", f->msg);
        return f->kind;
    }
    if (x->over_limit) {
        snprintf(why, cap, "more than --capture-limit bytes came %s before mbedTLS could read them",
                 x->handshake_done ? "after the request" : "during the handshake");
        return TLS_ERROR_CAPTURE_LIMIT;
    }
    if (x->ssl_err && !x->handshake_done && hs && hs->have_hello && hs->version < 0x0303) {
        /* a server that chose TLS 1.0 or 1.1 for a ClientHello of 1.2: its flight is read, but
         * mbedTLS 3.6 has neither version, so no handshake completes and no request is sent */
        char v[24];
        snprintf(why, cap,
                 "no request was sent: the server chose %s, which mbedTLS (needed to complete the "
                 "handshake for a request) does not speak",
                 tls_name_version_words(hs->version, v, sizeof(v)));
        return TLS_ERROR_PROTOCOL;
    }
    if (x->ssl_err) {
        ssl_err_text(x, hs, text, sizeof(text));
        snprintf(why, cap, "%s: %s",
                 !x->handshake_done ? "the handshake did not complete, no request was sent"
                 : rc && rc->status == TLS_CAPTURE_DONE
                     ? "mbedTLS could not complete the renegotiation"
                 : rc ? "mbedTLS could not follow the renegotiation"
                      : "the connection failed after the request",
                 text);
        return x->peer_alert ? TLS_ERROR_TLS_ALERT : TLS_ERROR_PROTOCOL;
    }
    if (x->closed) {
        snprintf(why, cap, "the server closed the connection %s without a response",
                 x->sent ? "after the request" : "before the request");
        return TLS_ERROR_RESET;
    }
    if (x->response_len)
        snprintf(why, cap, "not an HTTP response (%zu bytes)", x->response_len);
    else
        snprintf(why, cap, "no response");
    return TLS_ERROR_PROTOCOL;
}

/* --request: the HTTP result on the handshake observation o, and the renegotiation's own
 * observation when the server started one; returns whether it did. */
static bool observe_exchange(const struct probe_conn_result *r, const struct failure *f,
                             struct tls_observation *o, struct tls_observation *reneg)
{
    const struct tls_exchange_result *x = &r->exchange;
    if (r->capture == NULL)
        return false;
    /* a handshake that failed before completing has no exchange to report */
    if (o->outcome == TLS_OUTCOME_ERROR && !x->handshake_done)
        return false;
    if (r->handshake_ms)
        o->elapsed_ms = r->handshake_ms;
    struct tls_http_result *h = &o->http;
    h->path = r->request_path;
    h->sent = x->sent;
    struct tls_http_head head = {0};
    char why[384];
    if (x->response_len && tls_http_head_parse(&head, x->response, x->response_len) == 0 &&
        head.have_status) {
        h->status = head.status;
        h->status_line = received_text(&o->arena, head.line, head.line_len);
        if (head.server)
            h->server = received_text(&o->arena, head.server, head.server_len);
        h->head_cut = !head.complete && x->response_len >= TLS_HTTP_HEAD_MAX;
    } else {
        h->failed = true;
        h->error_kind = exchange_failure(x, r->capture, f, r->present, why, sizeof(why));
        if (x->response_len && !head.have_status) {
            size_t n = x->response_len < 40 ? x->response_len : 40;
            const char *began = received_text(&o->arena, x->response, n);
            size_t l = strlen(why);
            snprintf(why + l, sizeof(why) - l, "; it began \"%s\"", began ? began : "");
        }
        h->error = tls_arena_strdup(&o->arena, why);
    }
    if (!x->renegotiation)
        return false;
    h->renegotiation = true;
    reneg->address = o->address;
    reneg->sni = o->sni;
    reneg->tls_max = o->tls_max;
    reneg->starttls = o->starttls;
    reneg->phase = "renegotiation";
    if (x->renego) {
        observe_capture(r, reneg, x->renego, f->have ? f : NULL);
        return true;
    }
    reneg->elapsed_ms = r->elapsed_ms;
    enum tls_error_kind k = exchange_failure(x, r->capture, f, r->present, why, sizeof(why));
    if (x->renego_err == TLS_E_UNSUPPORTED || x->renego_err == TLS_E_DECRYPT)
        k = TLS_ERROR_PROTOCOL;
    else if (x->renego_err == TLS_E_LIMIT)
        k = TLS_ERROR_CAPTURE_LIMIT;
    tls_observation_set_error(reneg, k, x->renego_err, f->raw,
                              "the server renegotiated, but its second ServerHello was not read: "
                              "%s",
                              x->renego_err ? tls_err_str(x->renego_err) : why);
    return true;
}

/* --client-key: the server's word on the certificate, where nothing readable came after it
 * but an end: an alert (by name when mbedTLS read it, else the one the renegotiation follower
 * saw), the server's close, the deadline, or mbedTLS's own failure. */
static void cert_failure(const struct probe_conn_result *r, struct tls_observation *o,
                         const char *after)
{
    const struct tls_exchange_result *x = &r->exchange;
    struct tls_client_cert *cc = &o->client_cert;
    const struct tls_capture *rc = x->renego;
    char text[320];
    if (x->peer_alert || (rc && rc->has_alert && rc->alert_level == 2) ||
        (x->renego_alert && x->renego_alert_level == 2)) {
        cc->result = TLS_CLIENT_CERT_ALERT;
        cc->alert = x->peer_alert && x->alert >= 0                ? x->alert
                    : rc && rc->has_alert && rc->alert_level == 2 ? rc->alert_desc
                    : x->renego_alert                             ? x->renego_alert_desc
                                                                  : -1;
    } else if (x->eof || x->closed || r->end == PROBE_CONN_END_READ_FAILED) {
        cc->result = TLS_CLIENT_CERT_CLOSED;
    } else if (r->end == PROBE_CONN_END_DEADLINE) {
        cc->result = TLS_CLIENT_CERT_NO_ANSWER;
    } else {
        cc->result = TLS_CLIENT_CERT_ERROR;
        if (x->ssl_err)
            ssl_err_text(x, r->capture, text, sizeof(text));
        else
            snprintf(text, sizeof(text), "the probe ended (%s)",
                     r->end == PROBE_CONN_END_INTERRUPTED ? "interrupted" : "locally");
        /* mbedTLS 3.6's own TLS 1.3 server answers a certificate it refuses with an alert under
         * its handshake keys, after a client has moved to the application keys */
        bool mac13 = x->handshake_done && tls_err_from_mbedtls(x->ssl_err) == TLS_E_DECRYPT &&
                     r->capture && r->capture->version == 0x0304;
        cc->error = tls_arena_printf(&o->arena, "%s: %s%s", after, text,
                                     mac13 ? " (the server's answer could not be opened: an "
                                             "mbedTLS 3.6 server sends the alert that refuses a "
                                             "certificate under its handshake keys)"
                                           : "");
    }
}

/* --client-key: what became of the certificate in the first handshake (hs) and in the
 * renegotiation (reneg, when renegotiated). mbedTLS presents it whenever a CertificateRequest
 * comes in a handshake it runs; the answer is the handshake's end, and with --request the
 * response that follows the last handshake that asked. */
static void observe_client_cert(const struct probe_conn_result *r, struct tls_observation *hs,
                                struct tls_observation *reneg, bool renegotiated)
{
    const struct tls_capture *cap = r->capture;
    const struct tls_exchange_result *x = &r->exchange;
    bool asked = cap && cap->has_certreq;
    bool reneg_asked = renegotiated && x->renego && x->renego->has_certreq;
    struct tls_client_cert *cc = &hs->client_cert;
    cc->tried = true;
    if (renegotiated)
        reneg->client_cert.tried = true;
    if (asked && hs->tls_max < 0x0303) {
        cc->result = TLS_CLIENT_CERT_ERROR;
        cc->error = "not presented: a probe of TLS 1.0 or 1.1 opens with caprobe's own "
                    "ClientHello and is never completed (mbedTLS 3.6 has neither version)";
    } else if (asked && !x->handshake_done && cap->have_hello && cap->version < 0x0303) {
        char v[24];
        cc->result = TLS_CLIENT_CERT_ERROR;
        cc->error = tls_arena_printf(&hs->arena,
                                     "not presented: the server chose %s, which mbedTLS (that "
                                     "presents the certificate) does not speak",
                                     tls_name_version_words(cap->version, v, sizeof(v)));
    } else if (asked && !x->handshake_done) {
        /* the client's certificate goes out right after the server's flight: a local failure
         * (say, no signature algorithm in common with the key) is before it, an alert after */
        cert_failure(r, hs, "the handshake did not complete");
        cc->presented = cc->result != TLS_CLIENT_CERT_ERROR;
    } else if (asked) {
        cc->presented = true;
        if (reneg_asked || (!r->request_path && cap->version == 0x0303) ||
            (!r->request_path && x->answered))
            cc->result = TLS_CLIENT_CERT_ACCEPTED; /* a renegotiation's answer is its own */
        else if (r->request_path && !hs->http.failed) {
            cc->result = TLS_CLIENT_CERT_HTTP;
            cc->http_status = hs->http.status;
        } else
            cert_failure(r, hs, "after the handshake");
    }
    if (!reneg_asked)
        return;
    cc = &reneg->client_cert;
    cc->presented = true;
    if (!hs->http.failed) {
        cc->result = TLS_CLIENT_CERT_HTTP;
        cc->http_status = hs->http.status;
    } else {
        cert_failure(r, reneg, "in the renegotiation");
    }
}

bool probe_outcome_fill(const struct probe_conn_result *r, unsigned attempts,
                        struct tls_observation *hs, struct tls_observation *reneg)
{
    struct failure f;
    describe(r, &f);
    /* a failure after the handshake flight belongs to the exchange, not to the handshake */
    bool of_handshake = f.have && r->phase != PROBE_CONN_EXCHANGE;
    observe_capture(r, hs, r->capture, of_handshake ? &f : NULL);
    hs->silent_close = hs->outcome == TLS_OUTCOME_ERROR && hs->error_kind == TLS_ERROR_RESET &&
                       r->phase == PROBE_CONN_HANDSHAKE && r->received == 0;
    bool renegotiated = r->request_path && reneg && observe_exchange(r, &f, hs, reneg);
    if (r->present)
        observe_client_cert(r, hs, reneg, renegotiated);
    if (attempts > 1 && hs->outcome == TLS_OUTCOME_ERROR) {
        const char *m = hs->error_message;
        hs->error_message =
            tls_arena_printf(&hs->arena, "%s (after %u attempts)", m ? m : "", attempts);
    }
    return renegotiated;
}

/* The same address, SNI and phase: only the version differs. A server that fails the handshake
 * without SNI (a missing ipport binding) fails it in every version: that is no version declined. */
static bool same_variant(const struct tls_observation *a, const struct tls_observation *b)
{
    return a->address && tls_str_same(a->address, b->address) && tls_str_same(a->sni, b->sni) &&
           tls_str_same(a->phase, b->phase);
}

/* A handshake observation the server answered before any ServerHello of the versions offered:
 * sure, or (handshake_failure, internal_error) only if another version worked. */
static bool declined(const struct tls_observation *o, bool *sure)
{
    *sure = false;
    if (o->outcome != TLS_OUTCOME_ERROR || strcmp(o->phase, "handshake") != 0)
        return false;
    if (o->version && o->version < o->tls_max && o->error_code == TLS_E_VERSION) {
        *sure = true; /* the server chose a version below those offered (SSL 3.0) */
        return true;
    }
    if (o->version || o->error_kind != TLS_ERROR_TLS_ALERT)
        return false;
    *sure = o->alert == 70; /* protocol_version */
    /* handshake_failure; internal_error is how OpenSSL 3 declines TLS 1.0 and 1.1 where its
     * security level excludes them (no protocols available) */
    return *sure || o->alert == 40 || (o->alert == 80 && o->tls_max <= 0x0302);
}

/* True when the server's choice v is one the probe of observation o did not offer: a probe of
 * TLS 1.3 offers 1.3 only, one of 1.2 and lower (caprobe's ClientHello) every version up to its
 * own. */
static bool not_offered(const struct tls_observation *o, uint16_t v)
{
    return o->tls_max == 0x0304 ? v != 0x0304 : v > o->tls_max;
}

/* A server that closes a connection on a ClientHello without a byte, on a port the STARTTLS
 * table does not name: what PostgreSQL (an absurd startup packet length) and slapd (no BER
 * message) do. Said beside the greeting hint of observe_capture, for the services that do not
 * greet first. */
#define STARTTLS_CLOSE_HINT                                                                        \
    " (a STARTTLS service such as PostgreSQL or LDAP closes so: try --starttls postgres or "       \
    "--starttls ldap)"

/* The hint on each silent close of a target none of whose variants got TLS. */
static void hint_starttls(struct tls_observation *const *obs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (obs[i]->outcome != TLS_OUTCOME_ERROR || obs[i]->version || obs[i]->alert >= 0 ||
            obs[i]->starttls)
            return; /* it speaks TLS (or was spoken to in a STARTTLS protocol) */
    for (size_t i = 0; i < n; i++) {
        struct tls_observation *o = obs[i];
        const char *m = o->error_message;
        if (!o->silent_close || m == NULL)
            continue;
        const char *hinted = tls_arena_printf(&o->arena, "%s%s", m, STARTTLS_CLOSE_HINT);
        if (hinted)
            o->error_message = hinted;
    }
}

void probe_outcome_settle(struct tls_observation *const *obs, size_t n, bool by_port)
{
    if (by_port)
        hint_starttls(obs, n);
    for (size_t i = 0; i < n; i++) {
        struct tls_observation *o = obs[i];
        bool sure;
        if (!declined(o, &sure))
            continue;
        /* another probe of this variant got a version this one did not offer: a server that
         * chose TLS 1.0 for the 1.2 probe and failed the 1.1 one, which offered 1.0 too, failed
         * it for another reason */
        for (size_t k = 0; k < n && !sure; k++)
            sure = obs[k]->tls_max != o->tls_max && obs[k]->version &&
                   not_offered(o, obs[k]->version) && same_variant(obs[k], o);
        if (!sure)
            continue;
        char v[8];
        const char *m = o->error_message;
        o->error_kind = TLS_ERROR_VERSION_NOT_OFFERED;
        o->error_message = tls_arena_printf(
            &o->arena, "TLS %s not offered: %s",
            tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, v, sizeof(v)),
            m ? m : "the server declined it");
        if (o->error_message == NULL)
            o->error_message = m;
    }
}
